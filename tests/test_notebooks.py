"""Notebooks: hygiene (stripped, one parameters cell, no definitions) and regression runs.

The regression test reads each notebook as ``make`` executed it in a clean checkout with small
parameters (``tests/notebooks/<stem>.yaml`` merged into ``config/``: the reduced run that the
determinism test also uses) and compares its text outputs (tables, generated sentences, warnings,
errors) with the stored ones (``tests/notebooks/<stem>.outputs.json``).

The stored outputs are **golden outputs: change detectors, not an oracle**. They record what the
notebooks printed when they were last regenerated; they say nothing about whether those numbers
are right (the R fixtures and the other tests do). A difference means "something changed: look".
After a deliberate change, regenerate them and review the diff:

    PORTRAIT_REGEN_NOTEBOOKS=1 .venv/bin/python -m pytest tests/test_notebooks.py -k regression

Comparison: images, timings, execution counts and metadata are ignored; text is compared after
masking the checkout's folder and file checksums (which depend on the machine's pseudonymisation
key); every number is compared with a tolerance — relative 1e-6, or one unit of the last digit
printed, whichever is larger — because floating-point results differ in their last bits between
CPUs and BLAS builds, and a value on a rounding boundary may print one digit apart. The words
around the numbers must match exactly.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys

import nbformat
import papermill
import pytest

from portrait.pipeline import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
ALL = sorted(paths.NOTEBOOKS.glob("*.ipynb"))            # the chain and the scenario report
EXPECTED = paths.TESTS / "notebooks"


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@functools.lru_cache(maxsize=1)
def _all_stripped() -> bool:
    return subprocess.run([sys.executable, "-m", "nbstripout", "--verify", *map(str, ALL)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
class TestHygiene:
    def test_committed_without_outputs(self, path):
        """nbstripout would not change the notebook: no outputs, no execution counts."""
        if _all_stripped():      # one nbstripout run for every notebook; a notebook's own run only on failure
            return
        r = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    def test_one_parameters_cell_of_plain_assignments(self, path):
        """Exactly one cell is tagged 'parameters', it holds only assignments, and the kernel is the project's."""
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        tree = ast.parse(tagged[0].source)
        assert all(isinstance(n, ast.Assign) for n in tree.body)
        assert nb.metadata.kernelspec.name == "portrait"     # the kernel `make lab` installs
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")

    def test_no_function_or_class_definitions(self, path):
        """Notebooks call the package; they define no function or class."""
        nb = nbformat.read(path, as_version=4)
        for cell in code_cells(nb):
            for node in ast.walk(ast.parse(cell.source)):
                assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), \
                    f"definition in cell: {cell.source[:80]!r}"


#: What a notebook's fixed prose said of a parameter's default, stale once config/ changes it (a trial with other
#: parameters: report 02 still read « tire 18 000 invitations » and « plus de 24 mois » with 12,000 and 18 months,
#: report 01 « proportionnel à la population, au moins deux communes » with allocation: sqrt, min_psu_per_stratum: 3).
STALE_PROSE = {"01_resident_frame": {"allocation": ["proportionnel à la population", "allocation proportionnelle"],
                                     "min_psu_per_stratum": ["au moins deux communes"]},
               "02_visitor_frame": {"scope_months": ["24 mois"],
                                    # a review: the default order, written by hand, stayed under another order
                                    "source_priority": ["congrès et salons, puis"]}}


def _blanks(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_does_not_restate_a_parameter_value(path):
    """A parameter's value is written by code, from the parameter: a markdown cell's number or phrase that restates
    it (a count of 100 or more of config/NN_name.yaml written the French way, or a phrase of :data:`STALE_PROSE`)
    stays when the analyst changes config/, and the report then contradicts its own parameters."""
    import yaml

    from portrait.reporting import formatting as fmt

    nb = nbformat.read(path, as_version=4)
    prose = _blanks(" ".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    own = paths.CONFIG / f"{path.stem}.yaml"
    params = (yaml.safe_load(own.read_text(encoding="utf-8")) or {}) if own.exists() else {}
    stale = [f"{k}: {fmt.number(v)!r}" for k, v in params.items()
             if isinstance(v, int) and not isinstance(v, bool) and v >= 100
             and re.search(rf"(?<![\d,]){re.escape(_blanks(fmt.number(v)))}(?![\d,])", prose)]
    stale += [f"{k}: {p!r}" for k, phrases in STALE_PROSE.get(path.stem, {}).items() for p in phrases if p in prose]
    assert not stale, f"{path.stem}: markdown restates parameter values: {stale}"


#: Acronyms and symbols of reports 01 to 05, and what their first use must stand beside to be understood (a review:
#: « PPS » came in a column heading of 01, « π » in a sentence of 01 and « AAPOR » in 03, none of them defined).
DEFINED_AT_FIRST_USE = {"PPS": "probability proportional to size", "π": r"probabilité[^.]{0,40}π|π[^.]{0,12}probabilité",
                        "AAPOR": "American Association for Public Opinion Research", "RR1": r"RR1\W*=",
                        "RR2": r"RR2\W*=|RR2[^:]{0,120}:\s*répondants", "CV": "coefficient de variation"}


def _reading_order(path) -> list[tuple[str, str]]:
    """What a reader of the report reads, in order: each markdown cell, then each output of each code cell as the
    regression run stored it (tests/notebooks/<stem>.outputs.json), tags removed; with where it comes from."""
    import html

    nb = nbformat.read(path, as_version=4)
    stored = json.loads((EXPECTED / f"{path.stem}.outputs.json").read_text(encoding="utf-8"))
    pieces = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            pieces.append((f"markdown cell {cell.id}", cell.source))
        for o in stored.get(cell.id, []) if cell.cell_type == "code" else []:
            data = o.get("data", {})
            text = data.get("text/markdown") or data.get("text/html") or ""
            text = "".join(text) if isinstance(text, list) else text
            pieces.append((f"output of cell {cell.id}", html.unescape(re.sub(r"<[^>]+>", " ", text))))
    return pieces


REVIEWED = NOTEBOOKS


@pytest.mark.parametrize("path", REVIEWED, ids=[p.stem for p in REVIEWED])
def test_acronyms_and_symbols_are_defined_where_first_used(path):
    """The paragraph, caption or table where a report first uses an acronym or symbol of :data:`DEFINED_AT_FIRST_USE`
    also defines it (every report: a reviewer found PPS, π and AAPOR undefined in 01, 03 and 08)."""
    undefined = []
    for symbol, definition in DEFINED_AT_FIRST_USE.items():
        used = re.compile(rf"(?<![A-Za-z0-9]){re.escape(symbol)}(?![A-Za-z0-9])")     # « CV² » is a use
        first = next(((where, text) for where, text in _reading_order(path) if used.search(text)), None)
        if first is not None and not re.search(definition, first[1]):
            undefined.append(f"{symbol} ({first[0]})")
    assert not undefined, f"{path.stem}: used before being defined: {undefined}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
class TestMakeGraph:
    def test_outputs_are_make_targets(self, path):
        """Every out_* path a notebook declares is a target of its Makefile rule, so Make knows the graph."""
        declared = papermill.inspect_notebook(str(path))
        outs = {v["default"].strip("\"'") for k, v in declared.items() if k.startswith("out_")}
        makefile = (paths.ROOT / "Makefile").read_text()
        rule = re.search(rf"^\$\(EXEC\)/{path.stem}\.ipynb(.*?)&:", makefile, re.M | re.S)
        assert rule, f"no rule for {path.stem} in the Makefile"
        targets = set(rule.group(1).replace("$(P)", "data/processed").replace("\\", " ").split())
        assert outs == targets


def _makefile_rules() -> list[tuple[set[str], set[str]]]:
    """(targets, prerequisites) of every rule of the Makefile, ``$(P)`` and ``$(EXEC)`` expanded."""
    def files(words: str) -> set[str]:
        return set(words.replace("$(P)", "data/processed").replace("$(EXEC)", "build/executed").split())

    text = (paths.ROOT / "Makefile").read_text().replace("\\\n", " ")
    return [(files(m.group(1)), files(m.group(2))) for m in re.finditer(r"^([^\s#][^=\n]*?)\s*&?:(?!=)(.*)$", text, re.M)]


def test_every_module_of_the_package_makes_the_stages_out_of_date():
    """Make's list of the package's files (``PKG``, a prerequisite of every stage) holds every module, at any
    depth: a change to the fieldwork simulator (three folders down) re-runs the chain."""
    db = subprocess.run(["make", "-pnq", "help", f"PYTHON={sys.executable}"], cwd=paths.ROOT, capture_output=True,
                        text=True, env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")})
    line = next(x for x in db.stdout.splitlines() if x.startswith("PKG :="))
    listed = set(line.removeprefix("PKG :=").split())
    modules = {p.relative_to(paths.ROOT).as_posix() for p in (paths.ROOT / "src" / "portrait").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert "src/portrait/study/fieldwork/simulation.py" in modules
    assert modules <= listed and "pyproject.toml" in listed
    rule = next(pre for targets, pre in _makefile_rules() if "build/executed/03_fieldwork.ipynb" in targets)
    assert "$(PKG)" in rule


def test_stages_after_a_stage_are_those_make_rebuilds():
    """The stages after a stage, read from the notebooks' path parameters (what the index marks out of date
    when a stage fails), are those the Makefile's hand-written prerequisites rebuild when its files change."""
    from portrait.pipeline import parameters
    from portrait.pipeline.errors import ParameterError

    rules = _makefile_rules()
    stages = [p.stem for p in parameters.chain()]
    for stem in stages:
        reached = frontier = next(t for t, _ in rules if f"build/executed/{stem}.ipynb" in t)
        while frontier:
            frontier = set().union(*(t for t, pre in rules if pre & frontier)) - reached
            reached = reached | frontier
        expected = [s for s in stages if f"build/executed/{s}.ipynb" in reached]
        assert parameters.downstream([stem]) == expected, stem
    assert parameters.downstream(["04_resident_weighting"]) == [
        "04_resident_weighting", "06_comparison", "07_synthesis", "08_validation"]
    with pytest.raises(ParameterError, match="not a stage"):
        parameters.downstream(["09_nothing"])


NUMBER = re.compile(r"[-\u2212]?\d+(?:[\u202f\u00a0]\d{3})*(?:[.,]\d+)?(?:[eE][-+]?\d+)?")
MASKS = ((re.compile(r"\b[0-9a-f]{16}\b"), "<SHA256>"),)
REL_TOL = 1e-6


def _texts(output: dict, tmp: str) -> list[tuple[str, str]]:
    """The text representations of one output, as (kind, text), the temporary folder masked."""
    if output["output_type"] == "stream":
        items = [(f"stream:{output['name']}", output["text"])]
    elif output["output_type"] == "error":
        items = [("error", f"{output['ename']}: {output['evalue']}")]
    else:
        items = [(k, v if isinstance(v, str) else "".join(v)) for k, v in sorted(output.get("data", {}).items())
                 if k.startswith("text/")]
    out = []
    for kind, text in items:
        text = "".join(text) if isinstance(text, list) else text
        text = text.replace(tmp, "<TMP>")
        for pattern, repl in MASKS:
            text = pattern.sub(repl, text)
        out.append((kind, text))
    return out


def _number(token: str) -> tuple[float, float]:
    """A printed number and one unit of its last printed digit."""
    t = token.replace("\u2212", "-").replace("\u202f", "").replace("\u00a0", "")
    mantissa, _, exp = t.lower().partition("e")
    decimals = len(mantissa.replace(",", ".").partition(".")[2])
    value = float(mantissa.replace(",", ".")) * (10.0 ** int(exp) if exp else 1.0)
    return value, 10.0 ** (-decimals) * (10.0 ** int(exp) if exp else 1.0)


def compare_text(expected: str, got: str) -> str | None:
    """None if the texts agree (same words, numbers within tolerance), else what differs."""
    e_words, g_words = NUMBER.split(expected), NUMBER.split(got)
    if e_words != g_words:
        for i, (a, b) in enumerate(zip(e_words, g_words)):
            if a != b:
                return f"text differs: expected {a[:120]!r}, got {b[:120]!r}"
        return f"{len(e_words)} text pieces expected, {len(g_words)} found"
    for a, b in zip(NUMBER.findall(expected), NUMBER.findall(got)):
        (x, ux), (y, uy) = _number(a), _number(b)
        if abs(x - y) > max(REL_TOL * max(abs(x), abs(y)), max(ux, uy) * (1 + 1e-9)):
            return f"number differs: expected {a}, got {b}"
    return None


def compare_outputs(expected: dict, executed, tmp: str) -> list[str]:
    """Every difference between stored outputs (cell id → outputs) and an executed notebook's."""
    problems = []
    for cell in code_cells(executed):
        want = [t for o in expected.get(cell.id, []) for t in _texts(o, tmp)]
        got = [t for o in cell.outputs for t in _texts(o, tmp)]
        if [k for k, _ in want] != [k for k, _ in got]:
            problems.append(f"cell {cell.id}: outputs {[k for k, _ in want]} expected, {[k for k, _ in got]} found")
            continue
        for (kind, a), (_, b) in zip(want, got):
            diff = compare_text(a, b)
            if diff:
                problems.append(f"cell {cell.id} {kind}: {diff}")
    return problems


def test_comparison_tolerates_last_digits_but_not_changes():
    """The comparison accepts what differs between machines and flags what a change would alter."""
    assert compare_text("écart 0,00 % ; n = 1\u202f234", "écart 0,00 % ; n = 1\u202f234") is None
    assert compare_text("<td>-0.0</td>", "<td>0.0</td>") is None                 # a signed zero from the last bits
    assert compare_text("0.1235", "0.1234") is None                               # a rounding boundary
    assert compare_text("0.1236", "0.1234") is not None
    assert compare_text("6,84 (IC : 6,71 ; 6,97)", "6,84 (IC : 6,71 ; 6,98)") is None
    assert compare_text("6,84", "6,94") is not None
    assert compare_text("1.5e-08", "1.8e-08") is not None
    assert compare_text("habitants 12", "visiteurs 12") is not None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_regression(path, reduced_runs):
    """The notebook as make ran it with small parameters: its text outputs match the stored ones (change detector)."""
    root = reduced_runs[0]
    executed = nbformat.read(root / "build" / "executed" / path.name, as_version=4)
    tmp = str(root)
    expected_file = EXPECTED / f"{path.stem}.outputs.json"
    # a warning printed in a report is a fault, never a golden output (one was once regenerated into 08's)
    warned = [cell.id for cell in code_cells(executed) for o in cell.outputs if o.get("name") == "stderr"]
    assert warned == [], f"{path.stem}: error or warning output in cells {warned}"
    if os.environ.get("PORTRAIT_REGEN_NOTEBOOKS") == "1":
        outputs = {}
        for cell in code_cells(executed):
            kept = []
            for o in cell.outputs:
                o = json.loads(json.dumps(o).replace(tmp, "<TMP>"))
                o.pop("execution_count", None)
                if "data" in o and "image/png" in o["data"]:
                    o["data"]["image/png"] = ""
                kept.append(o)
            outputs[cell.id] = kept
        expected_file.write_text(json.dumps(outputs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip(f"regenerated {expected_file.name}")
    stored = json.loads(expected_file.read_text(encoding="utf-8"))
    problems = compare_outputs(stored, executed, tmp)
    assert problems == [], f"{path.stem} differs from its golden outputs (regenerate if intended):\n" + \
        "\n".join(problems[:20])


def test_each_stage_depends_on_its_share_of_the_study_settings(tmp_path, monkeypatch):
    """A trial board switched `source: real` after the invitations had gone out and watched make draw both samples
    again. Each stage's rule now depends on its share of config/study.yaml (``build/params/<stem>.study.json``,
    rewritten only when that share changes), not on the whole file: changing ``source`` rewrites the shares of
    the stages that declare it and leaves those of 01 and 02 untouched."""
    import json

    from portrait.pipeline import parameters

    for targets, pre in _makefile_rules():
        stage = next((t.removeprefix("build/executed/").removesuffix(".ipynb") for t in targets
                      if t.startswith("build/executed/0")), None)
        if stage:
            assert "$(STUDY)" not in pre and f"$(STAMP)/{stage}.study.json" in pre, stage
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    study = (paths.CONFIG / "study.yaml").read_text(encoding="utf-8")
    (config_dir / "study.yaml").write_text(study, encoding="utf-8")
    monkeypatch.setattr(paths, "CONFIG", config_dir)
    monkeypatch.setattr(paths, "BUILD", tmp_path / "build")
    assert parameters.write_study_stamps() == []                      # first written: nothing « changed »
    before = {nb.stem: parameters.study_stamp(nb).read_text(encoding="utf-8") for nb in parameters.chain()}
    assert json.loads(before["01_resident_frame"]).keys() == {"seed", "departments", "population_year"}
    (config_dir / "study.yaml").write_text(study.replace("source: simulated", "source: real"), encoding="utf-8")
    changed = parameters.write_study_stamps()
    declaring = [nb.stem for nb in parameters.chain() if "source" in parameters.cell_defaults(nb)]
    assert changed == declaring and "01_resident_frame" not in changed and "02_visitor_frame" not in changed
    assert parameters.study_stamp("01_resident_frame").read_text(encoding="utf-8") == before["01_resident_frame"]
    assert json.loads(parameters.study_stamp("03_fieldwork").read_text(encoding="utf-8"))["source"] == "real"
    assert parameters.write_study_stamps() == []                      # unchanged: nothing rewritten
