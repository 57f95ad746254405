"""Merge one GPU-suite run into benchmarks/results/gpu_suite.json: one entry per notebook, each with the card, GPU
count, commit, date and library versions of the run that last ran it. A run of some notebooks leaves the others'
entries as they were, so the file says for every notebook which commit it last ran at on which card.

    python3 tests/gpu/suite_results.py RECORDS.jsonl RESULTS.json CARD GPUS COMMIT [VERSIONS.json]
    python3 tests/gpu/suite_results.py --merge RESULTS.json LANE.json [LANE.json ...]

The second form folds the results files of runs made side by side (tests/gpu/run_lanes.sh: one per GPU) into
RESULTS.json, each notebook's entry as its run recorded it.

RECORDS.jsonl: one {"notebook", "passed", "seconds"} per line (tests/gpu/run_suite.sh writes it), with any other
keys kept (e.g. "parameters": values a run set on the command line instead of the notebook's defaults). VERSIONS.json:
{package: version}; read from this interpreter when not given.
"""

import json
import sys
import time
from importlib import metadata
from pathlib import Path

SUITE = "every notebook in smoke mode on CUDA (tests/gpu/run_suite.sh)"
PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "deepspeed",
            "liger-kernel", "unsloth", "pandas", "matplotlib")


def installed() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def merge(records: list[dict], results: dict, run: dict) -> dict:
    notebooks = dict(results.get("notebooks", {}))
    for r in records:
        extra = {k: v for k, v in r.items() if k not in ("notebook", "passed", "seconds")}  # e.g. "parameters"
        notebooks[r["notebook"]] = {"passed": r["passed"], "seconds": r["seconds"], **extra, **run}
    return {"suite": SUITE, "notebooks": dict(sorted(notebooks.items()))}


def merge_runs(results: dict, runs: list[dict]) -> dict:
    notebooks = dict(results.get("notebooks", {}))
    for run in runs:
        notebooks.update(run.get("notebooks", {}))
    return {"suite": SUITE, "notebooks": dict(sorted(notebooks.items()))}


def main() -> int:
    if sys.argv[1] == "--merge":
        path, *lanes = map(Path, sys.argv[2:])
        results = json.loads(path.read_text()) if path.exists() else {}
        runs = [json.loads(p.read_text()) for p in lanes if p.exists()]
        path.write_text(json.dumps(merge_runs(results, runs), indent=1) + "\n")
        print(f"{path}: merged {sum(len(r.get('notebooks', {})) for r in runs)} entries from {len(runs)} runs")
        return 0
    records_path, results_path, card, gpus, commit, *rest = sys.argv[1:]
    versions = json.loads(Path(rest[0]).read_text()) if rest else installed()
    records = [json.loads(line) for line in Path(records_path).read_text().splitlines() if line.strip()]
    path = Path(results_path)
    results = json.loads(path.read_text()) if path.exists() else {}
    run = {"card": card, "gpus": int(gpus), "commit": commit, "date": time.strftime("%Y-%m-%d"), "versions": versions}
    path.write_text(json.dumps(merge(records, results, run), indent=1) + "\n")
    print(f"{results_path}: {sum(bool(r['passed']) for r in records)}/{len(records)} passed in this run; "
          f"{len(merge(records, results, run)['notebooks'])} notebooks recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
