"""Notebooks: hygiene (stripped, one parameters cell, no definitions) and regression runs.

The regression test executes each notebook of the chain with small parameters
(``tests/notebooks/<stem>.yaml``) through pytest-notebook and compares its text outputs with the
stored ones (``tests/notebooks/<stem>.outputs.json``). Images, timings, execution counts and
metadata are ignored; tables, generated sentences, warnings and errors are compared. After a
deliberate change, regenerate with ``PORTRAIT_REGEN_NOTEBOOKS=1 make test``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import nbformat
import papermill
import pytest
import yaml

from portrait import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
EXPECTED = paths.TESTS / "notebooks"


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
class TestHygiene:
    def test_committed_without_outputs(self, path):
        """nbstripout would not change the notebook: no outputs, no execution counts."""
        r = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    def test_one_parameters_cell_of_plain_assignments(self, path):
        """Exactly one cell is tagged 'parameters', it holds only assignments, and the kernel is python3."""
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        tree = ast.parse(tagged[0].source)
        assert all(isinstance(n, ast.Assign) for n in tree.body)
        assert nb.metadata.kernelspec.name == "python3"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")

    def test_no_function_or_class_definitions(self, path):
        """Notebooks call the package; they define no function or class."""
        nb = nbformat.read(path, as_version=4)
        for cell in code_cells(nb):
            for node in ast.walk(ast.parse(cell.source)):
                assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), \
                    f"definition in cell: {cell.source[:80]!r}"

    def test_outputs_are_make_targets(self, path):
        """Every out_* path a notebook declares is a target of its Makefile rule, so Make knows the graph."""
        declared = papermill.inspect_notebook(str(path))
        outs = {v["default"].strip("\"'") for k, v in declared.items() if k.startswith("out_")}
        makefile = (paths.ROOT / "Makefile").read_text()
        rule = re.search(rf"^\$\(EXEC\)/{path.stem}\.ipynb(.*?)&:", makefile, re.M | re.S)
        assert rule, f"no rule for {path.stem} in the Makefile"
        targets = set(rule.group(1).replace("$(P)", "data/processed").replace("\\", " ").split())
        assert outs == targets


GENERATED = ("data/processed/", "data/synthetic/")


@pytest.fixture(scope="session")
def chain_dir(tmp_path_factory):
    """One temporary folder for the whole small chain: each notebook reads what the previous wrote."""
    return {"dir": tmp_path_factory.mktemp("small-chain"), "done": set()}


def _parameters(path, where):
    """Small parameters of a notebook, every generated path (data/processed, data/synthetic) moved to ``where``."""
    params = yaml.safe_load((EXPECTED / f"{path.stem}.yaml").read_text()) or {}
    for name, spec in papermill.inspect_notebook(str(path)).items():
        default = spec["default"].strip("\"'")
        if name not in params and default.startswith(GENERATED):
            params[name] = str(where / default.split("/", 2)[2])
    return params


def _run_upstream(path, chain):
    """Execute the notebooks before ``path`` (small parameters) unless this session already did."""
    for up in NOTEBOOKS:
        if up == path:
            break
        if up.stem not in chain["done"]:
            papermill.execute_notebook(str(up), str(chain["dir"] / f"upstream-{up.name}"),
                                       parameters=_parameters(up, chain["dir"]), kernel_name="python3",
                                       progress_bar=False, cwd=str(paths.ROOT))
            chain["done"].add(up.stem)


def _prepared(path, chain, tmp_path):
    """The notebook with small parameters injected, reading and writing in the chain folder."""
    out = tmp_path / path.name
    nb = papermill.execute_notebook(str(path), str(out), parameters=_parameters(path, chain["dir"]),
                                    prepare_only=True, progress_bar=False, kernel_name="python3")
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    return nb, out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_regression(path, tmp_path, chain_dir):
    """The notebook runs with small parameters and its text outputs match the stored ones."""
    from pytest_notebook.nb_regression import NBRegressionFixture

    _run_upstream(path, chain_dir)
    nb, prepared = _prepared(path, chain_dir, tmp_path)
    expected_file = EXPECTED / f"{path.stem}.outputs.json"
    regen = os.environ.get("PORTRAIT_REGEN_NOTEBOOKS") == "1"
    if expected_file.exists() and not regen:
        stored = json.loads(expected_file.read_text(encoding="utf-8"))
        for cell in code_cells(nb):
            cell.outputs = [nbformat.from_dict(o) for o in stored.get(cell.id, [])]
    nbformat.write(nb, prepared)
    fixture = NBRegressionFixture(
        exec_timeout=300, exec_cwd=str(paths.ROOT), force_regen=regen,
        exec_env={"PORTRAIT_ROOT": str(paths.ROOT), "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"},
        diff_ignore=("/metadata", "/cells/*/metadata", "/cells/*/execution_count",
                     "/cells/*/outputs/*/execution_count", "/cells/*/outputs/*/data/image/png",
                     "/cells/*/outputs/*/traceback"),
        # file checksums depend on the pseudonymisation key of the machine (visitor files): masked
        diff_replace=(("/cells/*/outputs", re.escape(str(chain_dir["dir"])), "<TMP>"),
                      ("/cells/*/outputs", r"\b[0-9a-f]{16}\b", "<SHA256>")),
        diff_use_color=False)
    result = fixture.check(str(prepared), raise_errors=not regen)
    chain_dir["done"].add(path.stem)
    if regen:
        if result.process_resources is not None:
            pass
        executed = result.nb_final
        outputs = {}
        for cell in code_cells(executed):
            kept = []
            for o in cell.outputs:
                o = json.loads(json.dumps(o).replace(str(chain_dir["dir"]), "<TMP>"))
                o.pop("execution_count", None)
                if "data" in o and "image/png" in o["data"]:
                    o["data"]["image/png"] = ""
                kept.append(o)
            outputs[cell.id] = kept
        expected_file.write_text(json.dumps(outputs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip(f"regenerated {expected_file.name}")
