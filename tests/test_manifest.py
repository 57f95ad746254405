"""notebooks.toml: one entry per notebook, packages from the one lock, and each notebook imports only its group."""

import ast
import json
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import manifest  # noqa: E402

NOTEBOOKS = manifest.notebooks()
STDLIB = set(sys.stdlib_module_names)
# Modules a notebook imports from source it fetches itself, not from an installed distribution: llama.cpp's gguf-py,
# which notebook 09 takes from the llama-cpp-python source archive with the converter it belongs to.
VENDORED = {"gguf"}


def test_every_notebook_has_an_entry_and_every_entry_a_notebook():
    entries = set(manifest.load()["notebooks"])
    assert entries == set(NOTEBOOKS), (sorted(entries - set(NOTEBOOKS)), sorted(set(NOTEBOOKS) - entries))


def test_groups_come_from_the_lock():
    m = manifest.load()
    pins = manifest.lock_pins(m["repository"]["lock"])
    for group, names in m["groups"].items():
        for name in names:
            assert manifest.canonical(name) in pins, f"group {group}: {name} is not in {m['repository']['lock']}"
    for notebook_id in NOTEBOOKS:
        manifest.requirements(notebook_id)  # raises when a package is missing from the environment's lock


def _imports(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"][2:]  # the install cell imports only the standard library
    found = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - STDLIB - VENDORED - {"cookbook"}


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` install, with everything they require (read from this environment's metadata)."""
    todo, seen = [manifest.canonical(n) for n in names], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" in req:
                continue
            todo.append(manifest.canonical(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0]))
    return seen


@pytest.mark.parametrize("notebook_id", sorted(n for n in NOTEBOOKS if manifest.notebook(n)["environment"] == "core"))
def test_notebook_imports_nothing_outside_its_group(notebook_id):
    provided = _closure(manifest.packages(notebook_id))
    owners = metadata.packages_distributions()
    outside = {}
    for module in _imports(NOTEBOOKS[notebook_id]):
        dists = {manifest.canonical(d) for d in owners.get(module, [])}
        assert dists, f"{notebook_id} imports {module}, which no installed distribution provides"
        if not dists & provided:
            outside[module] = sorted(dists)
    assert not outside, f"{notebook_id} imports {outside}, outside its groups {manifest.notebook(notebook_id)['groups']}"


def test_this_environment_satisfies_every_core_install_cell():
    """CI's notebooks must never pip-install: every core notebook's pins are what this environment has."""
    for notebook_id in NOTEBOOKS:
        if manifest.notebook(notebook_id)["environment"] != "core":
            continue
        for req in manifest.requirements(notebook_id):
            name, version = req.split("==")
            assert metadata.version(name).split("+")[0] == version, f"{notebook_id}: {name} is not {version}"


@pytest.mark.parametrize("notebook_id", sorted(NOTEBOOKS))
def test_upstream_artifacts_are_declared(notebook_id):
    """Every run.require(...) in a notebook is listed in its manifest entry (setup and the GPU suite order by it)."""
    code = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOKS[notebook_id].read_text())["cells"]
                     if c["cell_type"] == "code")
    required = {f"{nb}/{part}" for nb, part in re.findall(r'run\.require\("([^"]+)", "([^"]+)"\)', code)}
    declared = set(manifest.notebook(notebook_id)["upstream"])
    assert required == declared, (sorted(required - declared), sorted(declared - required))


def test_gpu_only_cells_are_listed_where_a_notebook_branches_on_cuda():
    for notebook_id, path in NOTEBOOKS.items():
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        if re.search(r'run\.device == "cuda"|run\.flex_attention', code):
            assert manifest.notebook(notebook_id)["gpu_only"], f"{notebook_id} has GPU-only branches; list them"


def test_install_cells_leave_jupyter_to_the_runtime():
    """A notebook runs inside a kernel that already has Jupyter's packages (Colab's, a local kernel, or none at all
    on the GPU machines, which run notebooks as scripts): no install cell may try to install them."""
    jupyter = {"ipykernel", "jupyter", "notebook", "jupyterlab", "nbmake", "papermill"}
    for notebook_id in manifest.notebooks():
        assert not jupyter & set(manifest.packages(notebook_id)), notebook_id


def test_every_notebook_finder_uses_the_manifests_folders():
    """The notebook folders are listed once (manifest.NOTEBOOK_FOLDERS); the helper, the runner and the Makefile agree."""
    import subprocess

    from cookbook.run import notebook_path

    found = manifest.notebooks()
    assert {stem: notebook_path(stem) for stem in found} == found
    sys.path.insert(0, str(ROOT / "scripts"))
    import run_notebook

    assert {stem: run_notebook.find(stem) for stem in found} == found
    make = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "print-notebooks"],
                          input="print-notebooks:\n\t@echo $(NOTEBOOKS)\n", capture_output=True, text=True, cwd=ROOT)
    assert make.stdout.split() == [str(p.relative_to(ROOT)) for p in found.values()], make.stderr
