"""The four parts of the package import only what ARCHITECTURE.md allows.

The oracle is the rule table below, read from the source with ``ast`` (no import is executed): a new
``from ..study import …`` in the engine fails here, whatever it would do at run time.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "portrait"
PARTS = ("survey", "pipeline", "study", "reporting")
# what each part may import from portrait (besides itself and the top-level ``portrait.__version__``)
ALLOWED = {
    "survey": set(),
    "pipeline": {"survey.errors"},
    "study": {"survey", "pipeline", "reporting.formatting"},
    "reporting": {"survey", "pipeline", "study"},
}


def _imports(path: Path, src: Path = SRC) -> list[tuple[int, str]]:
    """Dotted names below ``portrait`` that a module imports, with their line.

    ``from ..survey import Design`` gives ``survey.Design``; ``from ..pipeline.errors import X`` gives
    ``pipeline.errors``; ``from . import design`` (in the engine) gives ``survey.design``.
    """
    package = ["portrait", *path.relative_to(src).parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if mod.count(".") <= 1:          # portrait or a part: the names are submodules or API names
                out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(line, t.removeprefix("portrait.")) for line, t in out if t.startswith("portrait.")]


def _rule_allows(part: str, target: str) -> bool:
    if target == "__version__" or target.split(".")[0] == part:
        return True
    return any(target == a or target.startswith(a + ".") for a in ALLOWED[part])


@pytest.mark.parametrize("part", PARTS)
def test_each_part_imports_only_what_it_may(part):
    bad = [f"{p.relative_to(SRC)}:{line} imports portrait.{t}"
           for p in sorted((SRC / part).rglob("*.py")) for line, t in _imports(p) if not _rule_allows(part, t)]
    assert not bad, "\n".join(bad)


def test_rule_checker_catches_a_forbidden_import(tmp_path):
    """The checker itself: an engine module that imports the study or the pipeline is flagged."""
    probe = tmp_path / "portrait" / "survey" / "_probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..study import recipes\nfrom . import design\nfrom ..pipeline.errors import InputError\n"
                     "import portrait.reporting.plots\n", encoding="utf-8")
    found = [t for _, t in _imports(probe, tmp_path / "portrait")]
    assert found == ["study.recipes", "survey.design", "pipeline.errors", "reporting.plots"]
    assert [t for t in found if not _rule_allows("survey", t)] == ["study.recipes", "pipeline.errors", "reporting.plots"]


def _loaded(setup: str, wanted: str) -> str:
    """In a fresh interpreter, run ``setup`` and print which modules of the expression ``wanted`` got loaded."""
    code = f"import sys\n{setup}\nprint(','.join(sorted(m for m in {wanted} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC.parent), "PATH": ""})
    return out.stdout.strip()


def test_engine_imports_alone():
    """``import portrait.survey`` loads no module of the study, the pipeline or the reports."""
    assert _loaded("import portrait.survey",
                   "[m for m in list(sys.modules) if m.startswith('portrait.') and not m.startswith('portrait.survey')]") == ""


def test_engine_text_names_nothing_of_the_other_parts():
    """The engine's docstrings and comments point to no module of the study, the pipeline or the reports: a reader of
    the engine alone (the R ``survey`` of Python) meets only the engine's names."""
    pattern = re.compile(r"portrait\.(study|pipeline|reporting)\b|\b(study|pipeline|reporting)/\w+\.py")
    bad = [f"{p.relative_to(SRC)}:{i}" for p in sorted((SRC / "survey").rglob("*.py"))
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not bad, "the engine names another part of the package at " + ", ".join(bad)


def test_runner_and_renderer_start_without_the_data_libraries():
    """The processes every stage starts twice (``portrait.pipeline.run``, ``portrait.reporting.render``) do not
    import pandas or scipy: half a second each, for nothing, in every stage (a speed guard, not a proof)."""
    assert _loaded("from portrait.pipeline import skip_iri_grammar\nskip_iri_grammar()\n"
                   "import portrait.pipeline.run, portrait.reporting.render, papermill, nbconvert",
                   "('pandas', 'scipy', 'matplotlib')") == ""


def test_index_and_survey_check_start_without_the_data_libraries():
    """``make`` ends with the index and runs the survey check (``--if-real``: nothing to do on simulated answers)
    before stage 03: neither module loads pandas, scipy, matplotlib or nbformat at import (2–3 s each, before;
    a speed guard, not a proof)."""
    assert _loaded("import portrait.reporting.report, portrait.reporting.check_survey",
                   "('pandas', 'scipy', 'matplotlib', 'nbformat')") == ""


# ------------------------------------------------------------------------------- sizes a reader can take in

MODULE_LINES = 620          # « no module over ~600 lines »
FUNCTION_LINES = 80         # « no function over ~80 lines without a reason stated in it »
REASON = "Long on purpose"


def _long_functions(path: Path) -> list[str]:
    """Functions whose body (docstring left out) is longer than FUNCTION_LINES and states no reason."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) and len(node.body) > 1 else node.body
            start = body[0].lineno
            while start > 1 and lines[start - 2].lstrip().startswith("#"):     # comments above the first line
                start -= 1
            said = any(REASON in line for line in lines[start - 1:node.end_lineno])
            if node.end_lineno - start + 1 > FUNCTION_LINES and not said:
                where = path.relative_to(SRC) if path.is_relative_to(SRC) else path.name
                out.append(f"{where}:{node.lineno} {node.name} ({node.end_lineno - start + 1} lines)")
    return out


def test_modules_and_functions_stay_short_enough_to_read():
    """No module of the package is over ~600 lines, and no function's body over 80 lines unless it says why
    (« Long on purpose: … »). Checked on a function written for the purpose (it fails, then passes once it says why)."""
    files = sorted(SRC.rglob("*.py"))
    assert [f"{p.relative_to(SRC)} ({n} lines)" for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_LINES] == []
    assert [f for p in files for f in _long_functions(p)] == []


def test_the_length_check_finds_a_long_function_without_a_reason(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES + 1))
    probe = tmp_path / "probe.py"
    probe.write_text(f'def f():\n    """Doc."""\n{body}\n', encoding="utf-8")
    assert [s.split(" ")[1] for s in _long_functions(probe)] == ["f"]
    probe.write_text(f'def f():\n    """Doc."""\n    # {REASON}: a probe.\n{body}\n', encoding="utf-8")
    assert _long_functions(probe) == []
    probe.write_text(f'def f():\n    """Doc."""\n{body[:-len(body.splitlines()[-1]) - 1]}\n', encoding="utf-8")
    assert _long_functions(probe) == []                             # exactly FUNCTION_LINES: allowed


ROOT = SRC.parents[1]
DOTTED = re.compile(r"\bportrait(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
NOT_CODE = {"portrait.answers"}          # a notebook metadata key (``metadata.portrait.answers``), not a module


def _resolves(ref: str) -> bool:
    """Whether ``portrait.a.b.c`` names an importable module or an attribute of one."""
    parts = ref.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        try:
            for name in parts[k:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_every_dotted_name_in_the_docs_and_code_names_something_that_exists():
    """A newcomer follows :mod:`portrait.exports` or « python -m portrait.render »: after the move to four parts
    such names pointed nowhere. Every ``portrait.…`` written in the sources, notebooks, configuration and docs
    must import (oracle: the import system itself)."""
    files = [*SRC.rglob("*.py"), *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "config").glob("*.yaml"),
             *(ROOT / n for n in ("README.md", "ARCHITECTURE.md", "BENCHMARKS.md", "Makefile")), *(ROOT / "docs").glob("*.md")]
    dangling = sorted({(m.group(0), f.relative_to(ROOT).as_posix()) for f in files
                       for m in DOTTED.finditer(f.read_text(encoding="utf-8"))
                       if m.group(0) not in NOT_CODE and not _resolves(m.group(0))})
    assert dangling == []


def _flakes(*paths: Path) -> str:
    """What pyflakes reports on ``paths`` (files or folders): unused imports, undefined names, shadowed loop
    variables, f-strings without a field."""
    import io

    from pyflakes.api import checkRecursive
    from pyflakes.reporter import Reporter

    out = io.StringIO()
    checkRecursive([str(p) for p in paths], Reporter(out, out))
    return out.getvalue()


def test_pyflakes_finds_nothing_in_the_package_benchmarks_and_tests():
    """An unused import is a dependency kept by mistake (a re-export says so in ``__all__``), an undefined name a
    crash waiting in a branch no test takes. The oracle is pyflakes; a probe with an unused import shows it reports."""
    assert _flakes(SRC, ROOT / "benchmarks", ROOT / "tests") == ""


def test_the_flakes_check_reports_an_unused_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n", encoding="utf-8")
    assert "'os' imported but unused" in _flakes(probe)
    probe.write_text("import os\n__all__ = ['os']\n", encoding="utf-8")     # a re-export named in __all__
    assert _flakes(probe) == ""


def test_every_module_is_named_in_its_part_of_architecture_md():
    """A new user's trial found ten modules of ``study`` and ``reporting`` that ARCHITECTURE.md, the map a newcomer
    reads first, did not name. Each module of ``pipeline``, ``study`` (with ``fieldwork/``) and ``reporting`` must be
    named, in backquotes, in its part's row of the table (the engine's row says what it holds, and its public API has
    its own section)."""
    rows = {part: next(line for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines()
                       if line.startswith(f"| `portrait.{part}` |")) for part in PARTS if part != "survey"}
    unnamed = sorted(f"{part}: {p.relative_to(SRC / part).with_suffix('').as_posix()}"
                     for part, row in rows.items() for p in (SRC / part).rglob("*.py")
                     if p.stem != "__init__" and f"`{p.stem}`" not in row)
    assert unnamed == []
