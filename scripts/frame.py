#!/usr/bin/env python3
"""Write the frame every notebook shares from notebooks.toml: the Colab badge, the install cell, the kernel, and the
`parameters` tag on the parameters cell. The lesson between them is left alone.

    python3 scripts/frame.py            # rewrite the frames and the README's notebook table (`make frame`)
    python3 scripts/frame.py --check    # exit 1 and list the notebooks whose frame is not what this writes
    python3 scripts/frame.py --new 07_Reproducible_Finetuning_with_Axolotl --part Part_3_Advanced_Finetuning_with_Axolotl
                                        # a new notebook with the whole frame (add its notebooks.toml entry first)
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import manifest

BADGE = re.compile(r"^\[!\[Open In Colab\]\(.*$", re.M)

INSTALL = '''\
# Setup: installs the packages this notebook uses (pinned, tested together) and the cookbook's helper when they are
# missing, e.g. in Colab. In a checkout set up with `make setup` everything is there and this does nothing.
# Tested with {tested} ({lock}).{colab}
import importlib.metadata as md, importlib.util, os, re, subprocess, sys

REPO, RELEASE = "{url}", "{release}"
NEEDS = {needs}
KEEP_IF_PRESENT = {keep}  # installed only when missing: Colab's own versions stay
TORCH_TESTED = {torch}  # a torch already installed in this range is kept


def installed(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def release(version):
    return tuple(int(x) for x in re.findall(r"\\d+", version.split("+")[0])[:3])


todo, keep = [], []
for req in NEEDS:
    name, version = req.split("==")
    have = installed(name)
    if name == "torch" and have and release(TORCH_TESTED[0]) <= release(have) <= release(TORCH_TESTED[1]):
        keep = ["-c", "/tmp/cookbook-keep-torch.txt"]  # pip must not replace it while resolving the others
        open(keep[1], "w").write(f"torch=={{have}}\\n")
    elif have != version and not (have and name in KEEP_IF_PRESENT):
        todo.append(req)
repo = next((p for p in (".", "..", "llm-finetuning-cookbook") if os.path.isfile(f"{{p}}/scripts/cookbook/__init__.py")), None)
if todo or importlib.util.find_spec("cookbook") is None:
    if repo is None:
        repo = "llm-finetuning-cookbook"
        subprocess.run(["git", "clone", "--depth=1", "--branch", RELEASE, REPO, repo], check=True)
    if todo:
        print("installing:", " ".join(todo))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *todo, *keep], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", repo], check=True)
    sys.path.insert(0, os.path.abspath(f"{{repo}}/scripts"))
    reloaded = [r.split("==")[0] for r in todo if r.split("==")[0].replace("-", "_") in sys.modules]
    if reloaded:
        print(f"Restart the runtime (Colab: Runtime > Restart session) and run this cell again: {{reloaded}} were "
              "already imported in this session, and the new versions load only in a fresh one.")
'''

NEW_NOTEBOOK = [
    ("markdown", "# {number} · {title}\n\n{badge}\n\nOne paragraph: the objective.\n\n**What you will learn**\n- ...\n\n"
                 "**Prerequisites**: ...\n\n**Hardware (full mode)**: measured, `benchmarks/results/notebook_footprints.json`."),
    ("code", None),
    ("markdown", "## Parameters\nEverything that changes between smoke mode and full mode is in this one cell (tagged "
                 "`parameters`: `make run NB={number} P=\"NAME=value\"` overrides any of it)."),
    ("code", 'import cookbook\n\nrun = cookbook.start("{id}")\nSMOKE = run.smoke\n'),
    ("markdown", "## 1. First step\nWhy, in two to five sentences."),
    ("code", ""),
    ("markdown", "## Check\nThe claim, measured on held-out data and asserted."),
    ("code", "assert ..., \"...\"\nrun.finish(globals())\nprint(\"Check passed.\")"),
    ("markdown", "## What we learned\n- ...\n\n**Exercises**\n1. *(easy)* ...\n\n**Where next**: ..."),
]


def badge(path) -> str:
    m = manifest.load()["repository"]
    gh = m["url"].removeprefix("https://github.com/")
    rel = path.relative_to(manifest.ROOT).as_posix()
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{gh}/blob/main/{rel})")


def install_cell(notebook_id: str) -> str:
    m = manifest.load()
    entry = manifest.notebook(notebook_id)
    needs = manifest.requirements(notebook_id)
    pins = dict(r.split("==") for r in needs)
    lo, hi = m["torch"]["tested"]
    lessons = [n for n in ("transformers", "trl", "peft", "unsloth", "bitsandbytes", "deepspeed", "jsonschema",
                           "xgrammar", "liger-kernel") if n in pins]
    tested = ", ".join([f"torch {lo}-{hi}"] + [f"{n} {pins[n]}" for n in lessons])
    listed = "[\n" + "".join(f'    "{r}",\n' for r in needs) + "]"
    colab = m["environments"][entry["environment"]].get("colab", "")
    colab = "".join(f"\n# {line}" for line in colab.splitlines())
    return INSTALL.format(tested=tested, lock=m["environments"][entry["environment"]]["lock"], colab=colab,
                          url=m["repository"]["url"], release=m["repository"]["release"], needs=listed,
                          keep=repr([manifest.canonical(n) for n in m["keep_if_present"]["packages"]]),
                          torch=repr(tuple(m["torch"]["tested"])))


def framed(notebook_id: str, nb: dict, path) -> dict:
    """The notebook with its frame written from the manifest."""
    entry = manifest.notebook(notebook_id)
    env = manifest.load()["environments"][entry["environment"]]
    cells = nb["cells"]
    cells[0]["source"] = _lines(with_footprint(BADGE.sub(lambda _: badge(path), "".join(cells[0]["source"]), count=1),
                                               notebook_id))
    cells[1] = {**cells[1], "cell_type": "code", "execution_count": None, "outputs": [],
                "source": _lines(install_cell(notebook_id))}
    params = [c for c in cells if c["cell_type"] == "code" and "run = cookbook.start(" in "".join(c["source"])]
    if len(params) != 1:
        raise ValueError(f"{notebook_id}: expected one parameters cell calling cookbook.start(), found {len(params)}")
    tags = params[0].setdefault("metadata", {}).setdefault("tags", [])
    if "parameters" not in tags:
        tags.append("parameters")
    kernel = env["kernel"]
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3" if kernel == "python3" else f"Python ({kernel})",
                                    "language": "python", "name": kernel}
    return nb


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


README_START, README_END = "<!-- notebooks:start (scripts/frame.py writes this table) -->", "<!-- notebooks:end -->"
CARD_ORDER = ["T4 16 GB", "L4 24 GB", "A100 40 GB", "H100 80 GB"]


def hardware(notebook_id: str, footprints: dict) -> str:
    """The README's hardware cell: measured peak VRAM and the smallest card it fits (notebook_footprints.json)."""
    entry = manifest.notebook(notebook_id)
    if "hardware" in entry:
        return entry["hardware"]
    runs = [r for r in footprints.get("results", {}).values()
            if r.get("notebook") == notebook_id and r.get("peak_reserved_gib") and "error" not in r]
    if not runs:
        return "1 GPU (not measured)"
    default = runs[0]  # the notebook's own configuration comes first; others are settings that fit smaller cards
    fits = [c for c in CARD_ORDER if default.get("fits_on", {}).get(c)]
    cell = (f"{default['peak_reserved_gib']:.1f} GiB peak VRAM (reserved), {default['seconds_per_step']:.2f} s/step "
            f"({default.get('gpu', 'GPU').removeprefix('NVIDIA ')}); fits on: {', '.join(fits) or 'none of T4-H100'}")
    smaller = [r for r in runs[1:] if r.get("fits_on", {}).get("T4 16 GB")]
    if smaller and not default.get("fits_on", {}).get("T4 16 GB"):
        best = min(smaller, key=lambda r: r["peak_reserved_gib"])
        cell += f"; T4 with `{best['settings']['optim']}`, checkpointing, batch {best['settings']['batch']} ({best['peak_reserved_gib']:.1f} GiB)"
    return cell


def footprints() -> dict:
    path = manifest.ROOT / "benchmarks" / "results" / "notebook_footprints.json"
    return json.loads(path.read_text()) if path.exists() else {}


def with_footprint(text: str, notebook_id: str) -> str:
    """Cell 0 with one generated line after its hardware paragraph: the measured full-mode footprint."""
    lines = [line for line in text.split("\n") if not line.startswith("**Measured footprint")]
    start = next((i for i, line in enumerate(lines) if line.startswith("**Hardware")), None)
    if start is None or "hardware" in manifest.notebook(notebook_id):
        return "\n".join(lines)
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    line = (f"**Measured footprint** (`benchmarks/results/notebook_footprints.json`, full-mode settings on "
            f"architecture-true random weights): {hardware(notebook_id, footprints())}.")
    return "\n".join(lines[:end] + [line] + lines[end:])


def readme_table() -> str:
    m = manifest.load()
    measured = footprints()
    gh = m["repository"]["url"].removeprefix("https://github.com/")
    lines = ["| part | notebook | topic | status | open | full-mode hardware (measured) |", "|---|---|---|---|---|---|"]
    tail = []
    for notebook_id, nb_path in manifest.notebooks().items():
        entry = manifest.notebook(notebook_id)
        rel = nb_path.relative_to(manifest.ROOT).as_posix()
        appendix = rel.startswith("Appendix/")  # Appendix notebooks: part "A", no number, listed last
        part = "A" if appendix else rel.split("_")[1]
        number = "" if appendix else notebook_id.split("_")[0] + " "
        colab = (f"[![Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                 f"(https://colab.research.google.com/github/{gh}/blob/main/{rel})")
        (tail if appendix else lines).append(f"| {part} | [{number}{entry['title']}]({rel}) | {entry['topic']} | ✅ | "
                                             f"{colab} | {hardware(notebook_id, measured)} |")
    for planned in m.get("planned", []):
        lines.append(f"| {planned['part']} | {planned['number']} {planned['title']} | {planned['topic']} | planned | | |")
    lines.append("| A | [Debugging](Appendix/Debugging.md) | what broke while building this, and why | started | | |")
    return "\n".join(lines + tail)


SPEED_START, SPEED_END = "<!-- sft-speed:start (scripts/frame.py writes this table from sft_speed_fair.json) -->", \
    "<!-- sft-speed:end -->"


def speed_table() -> str:
    """The fair TRL-vs-Unsloth benchmark as a README table, straight from its results file."""
    path = manifest.ROOT / "benchmarks" / "results" / "sft_speed_fair.json"
    if not path.exists():
        return "(not measured yet: `benchmarks/sft_speed.py --suite fair-trl` and `--suite fair-unsloth` on a GPU)"
    results = json.loads(path.read_text())["results"].values()
    lines = ["| rows | base | framework | checkpointing | attention | tokens/s median (min-max) | peak VRAM | MFU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r["rows"], r["base"], r["framework"], -r["tokens_per_s"]["median"])):
        ckpt = r["checkpointing"]["policy"].replace("true", "all layers")
        ckpt += " (offloaded)" if r["checkpointing"]["offloaded_to_cpu"] else ""
        ckpt += " (selective)" if r["settings"].get("sac") else ""
        t = r["tokens_per_s"]
        lines.append(f"| {r['rows']} | {r['base']} | {r['framework']} {r['versions'].get('unsloth', '')}".rstrip()
                     + f" | {ckpt} | {r['attention']} | {t['median'] / 1e3:.1f}k ({t['min'] / 1e3:.1f}-{t['max'] / 1e3:.1f}k)"
                     f" | {r['peak_allocated_gib']:.2f} GiB | {r['mfu']:.1%} |")
    return "\n".join(lines)


GPU_START, GPU_END = "<!-- gpu-suite:start (scripts/frame.py writes this table from gpu_suite.json) -->", \
    "<!-- gpu-suite:end -->"


def gpu_suite_table() -> str:
    """Each notebook's last GPU-suite run, straight from its results file; a notebook never run there says so."""
    path = manifest.ROOT / "benchmarks" / "results" / "gpu_suite.json"
    runs = json.loads(path.read_text())["notebooks"] if path.exists() else {}
    lines = ["| notebook | on the GPU | card | commit | seconds | note |", "|---|---|---|---|---|---|"]
    for notebook_id in manifest.notebooks():
        r = runs.get(notebook_id)
        if r is None:
            skip = manifest.notebook(notebook_id).get("gpu_suite_skip")
            lines.append(f"| {notebook_id} | {'not run: ' + skip if skip else 'not run yet'} | | | | |")
            continue
        if r.get("skipped"):
            lines.append(f"| {notebook_id} | skipped | {r['gpus']}x {r['card']} | {r['commit'][:7]} | | {r['skipped']} |")
            continue
        note = r.get("note", "")
        if r.get("parameters"):
            note = f"with {', '.join(f'{k}={v}' for k, v in r['parameters'].items())}" + (f": {note}" if note else "")
        lines.append(f"| {notebook_id} | {'passed' if r['passed'] else '**failed**'} | {r['gpus']}x {r['card']} | "
                     f"{r['commit'][:7]} | {r['seconds']} | {note} |")
    return "\n".join(lines)


def _between(text: str, start: str, end: str, body: str) -> str:
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def readme_with_table(text: str) -> str:
    if SPEED_START in text:
        text = _between(text, SPEED_START, SPEED_END, speed_table())
    if GPU_START in text:
        text = _between(text, GPU_START, GPU_END, gpu_suite_table())
    if README_START not in text:
        start, end = text.index("| part | notebook |"), text.index("| A | [Debugging]")
        end = text.index("\n", end) + 1
        return text[:start] + README_START + "\n" + readme_table() + "\n" + README_END + "\n" + text[end:]
    return _between(text, README_START, README_END, readme_table())


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def new_notebook(notebook_id: str, part: str) -> None:
    path = manifest.ROOT / part / f"{notebook_id}.ipynb"
    if path.exists():
        raise SystemExit(f"{path} exists")
    number, _, rest = notebook_id.partition("_")
    fill = {"number": number, "title": rest.replace("_", " "), "badge": badge(path), "id": notebook_id}
    cells = [{"cell_type": kind, "id": f"cell-{i:03d}", "metadata": {}, "source": _lines((text or "").format(**fill)),
              **({"execution_count": None, "outputs": []} if kind == "code" else {})} for i, (kind, text) in enumerate(NEW_NOTEBOOK)]
    nb = {"cells": cells, "metadata": {"accelerator": "GPU", "colab": {"provenance": []}, "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(framed(notebook_id, nb, path)))
    print(f"wrote {path.relative_to(manifest.ROOT)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--new", metavar="NOTEBOOK_ID")
    ap.add_argument("--part", help="the Part_* folder of --new")
    args = ap.parse_args()
    if args.new:
        new_notebook(args.new, args.part or sys.exit("--new needs --part"))
        return 0
    stale = []
    for notebook_id, path in manifest.notebooks().items():
        text = path.read_text()
        new = dump(framed(notebook_id, json.loads(text), path))
        if new != text:
            stale.append(path.relative_to(manifest.ROOT).as_posix())
            if not args.check:
                path.write_text(new)
    readme = manifest.ROOT / "README.md"
    text = readme.read_text()
    if readme_with_table(text) != text:
        stale.append("README.md (notebook table)")
        if not args.check:
            readme.write_text(readme_with_table(text))
    for rel in stale:
        print(f"{'frame differs' if args.check else 'rewrote'}: {rel}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
