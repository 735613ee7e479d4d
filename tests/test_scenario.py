"""Scenarios: « what if » runs into scenarios/NAME/ that reuse the study's unchanged stages and never
write the study's files.

The expected plans are derived by hand from the stage table of ARCHITECTURE.md (which stage reads
which file), not from the planner; the end-to-end test runs `make scenario` twice in a copy of a
built (reduced) study and compares every study file, byte for byte, before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait.pipeline import io, paths, scenario
from portrait.pipeline.errors import ParameterError, PortraitError
from portrait.reporting import scenarios as report
from portrait.study import compare

CHAIN = ["01_resident_frame", "02_visitor_frame", "03_fieldwork", "04_resident_weighting",
         "05_visitor_weighting", "06_comparison", "07_synthesis"]


def _rerun(scn):
    return [s.stem for s in scenario.plan(scn) if s.rerun]


# ------------------------------------------------------------------------------------------ settings
def test_settings_read_stage_name_and_yaml_value():
    assert scenario.parse_set("04_resident_weighting.calibration_bounds=[0.5, 2.0]") == \
        ("04_resident_weighting", "calibration_bounds", [0.5, 2.0])
    assert scenario.parse_set("seed=7") == ("study", "seed", 7)
    with pytest.raises(ParameterError, match="NN_stage.name=value"):
        scenario.parse_set("calibration_method")


def test_a_value_with_spaces_stays_one_setting():
    """``SET="05_visitor_weighting.trimming=[0.5, 2.5]"``, as config/ writes a list, was cut at the space and refused as
    invalid YAML; a piece that does not start ``name=`` now continues the value before it."""
    assert scenario.split_settings("05_visitor_weighting.trimming=[0.5, 2.5] seed=7") == \
        ["05_visitor_weighting.trimming=[0.5, 2.5]", "seed=7"]
    assert scenario.split_settings("'04_resident_weighting.calibration_method=logit'") == \
        ["04_resident_weighting.calibration_method=logit"]
    assert scenario.split_settings("") == []


def test_the_redo_command_and_the_origin_of_a_setting_name_what_the_user_typed():
    """The index offered `make scenario NAME=x` to redo a scenario made with SET=, which fails (no setting); a parameter
    a scenario set and a stage refused was said to come from « the command line (-p) », which the user never typed."""
    from portrait.pipeline import run

    sets = ["05_visitor_weighting.trimming=[0.5, 2.5]", "seed=7"]
    scn = scenario.load("essai", sets)
    assert scn.command() == 'make scenario NAME=essai SET="05_visitor_weighting.trimming=[0.5, 2.5] seed=7"'
    assert scenario.split_settings(scn.command().split("SET=", 1)[1].strip('"')) == sets
    assert scenario.load("tourisme").command() == "make scenario NAME=tourisme"
    # a scenario made by SET alone has no title or description of its own: its report and the index say how it came
    assert scn.title == "essai" and "définie en ligne de commande (SET)" in scn.description
    assert "ligne de commande" not in scenario.load("tourisme").description
    assert scn.origin("05_visitor_weighting", "trimming").startswith("SET (`make scenario NAME=essai")
    assert scn.origin("03_fieldwork", "seed").startswith("SET")          # study-wide: every stage
    assert scenario.load("tourisme").origin("05_visitor_weighting", "calibration_target") == \
        "config/scenarios/tourisme.yaml"
    origins = {"trimming": scn.origin("05_visitor_weighting", "trimming")}
    assert run._set_in("trimming", "05_visitor_weighting", {"trimming": [3, 2]}, origins) == origins["trimming"]
    assert "command line" in run._set_in("trimming", "05_visitor_weighting", {"trimming": [3, 2]})
    item = report.index_items([{"name": "essai", "title": "Essai", "command": scn.command(), "stages": []}])
    assert "<code>make scenario NAME=essai SET=&quot;05_visitor_weighting.trimming=[0.5, 2.5] seed=7&quot;</code>" in item


@pytest.mark.parametrize("name, sets, message", [
    ("Bad Name", ["seed=1"], "lower-case letters"),
    ("x", [], r"no scenario 'x' in config/scenarios/ and no SET; a scenario changes parameters: .* \(shipped "
              r"scenarios: .*pop2019"),
    ("pop2018", [], r"no scenario 'pop2018' in config/scenarios/ and no SET — did you mean 'pop2019'\?; "),
    ("x", ["09_nothing.seed=1"], "is not a stage of a scenario"),
    ("x", ["05_visitor_weightin.trimming=[0.5, 2.5]"], "is not a stage of a scenario — did you mean '05_visitor_weighting'"),
    ("x", ["08_validation.replications=3"], "is not a stage of a scenario"),
    ("x", ["04_resident_weighting.calibration_methd=logit"],
     "declares no parameter 'calibration_methd' — did you mean 'calibration_method'"),
    ("x", ["no_such_parameter=1"], "no stage declares a parameter 'no_such_parameter'"),
    ("x", ["04_resident_weighting.out_weights=elsewhere.parquet"], "is an output path"),
])
def test_a_bad_scenario_is_refused_with_the_setting_named(name, sets, message):
    with pytest.raises(ParameterError, match=message):
        scenario.load(name, sets)


def test_shipped_scenarios_load():
    shipped = sorted(p.stem for p in scenario.DEFINITIONS.glob("*.yaml"))
    assert shipped == ["pop2019", "tourisme"]
    for name in shipped:
        scn = scenario.load(name)
        assert scn.title and scn.description


# ------------------------------------------------------------------------------------------ the plan
@pytest.mark.parametrize("name, sets, expected", [
    # 04 reads the population year; 06 reads resident_weights; 07 reads 06's files and the weights
    ("pop2019", [], ["04_resident_weighting", "06_comparison", "07_synthesis"]),
    ("tourisme", [], ["05_visitor_weighting", "06_comparison", "07_synthesis"]),
    ("x", ["07_synthesis.small_cell_threshold=5"], ["07_synthesis"]),
    ("x", ["06_comparison.adjust=bonferroni"], ["06_comparison", "07_synthesis"]),
    # the seed is study-wide: every stage that declares it, and all that read their files
    ("x", ["seed=1"], CHAIN),
    # setting a parameter to the study's own value changes nothing
    ("x", ["04_resident_weighting.calibration_method=raking"], []),
])
def test_the_plan_reruns_changed_stages_and_those_reading_their_files(name, sets, expected):
    assert _rerun(scenario.load(name, sets)) == expected


def test_rerun_stages_write_into_the_scenario_and_read_unchanged_files_from_the_study():
    stages = {s.stem: s for s in scenario.plan(scenario.load("pop2019"))}
    w = stages["04_resident_weighting"].params
    assert w["population_year"] == 2019
    assert w["out_weights"] == "scenarios/pop2019/data/processed/resident_weights.parquet"
    assert w["responses"] == "data/processed/resident_responses.parquet"          # the study's answers
    c = stages["06_comparison"].params
    assert c["resident_weights"] == "scenarios/pop2019/data/processed/resident_weights.parquet"
    assert c["visitor_weights"] == "data/processed/visitor_weights.parquet"
    assert stages["06_comparison"].remade_inputs == ["resident_weights"]
    assert stages["01_resident_frame"].params == {}
    for stage in stages.values():                # nothing a scenario runs writes outside its folder
        assert all(v.startswith("scenarios/pop2019/") for k, v in stage.params.items() if k.startswith("out_"))


def test_a_scenario_needs_the_built_study(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "EXECUTED", tmp_path / "none")
    with pytest.raises(ParameterError, match="run `make` first"):
        scenario.run(scenario.load("pop2019"), say=lambda s: None)


# ------------------------------------------------------------------------------------------ the report
def _battery(shift: float = 0.0, p_scenario: float = 0.01) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = pd.DataFrame({
        "item": ["a", "b", "c"], "statistic": ["mean", "share", "nps_score"], "level": ["", "1", ""],
        "display": ["A", "B", "C"], "label": ["moyenne", "option 1", "NPS"],
        "estimate_residents": [3.0, 0.30, -0.20], "estimate_visitors": [3.5, 0.25, -0.10],
        "estimate": [0.5, -0.05, 0.10], "se": [0.1, 0.02, 0.04], "p_adj": [0.001, 0.03, 0.02],
        "in_battery": [True, True, True]})
    other = base.assign(estimate=base["estimate"] + shift, p_adj=[0.001, p_scenario, 0.02])
    extra = base.iloc[:1].assign(item="z", in_battery=False)        # not in the battery: ignored
    return pd.concat([base, extra]), other


def test_side_by_side_measures_shifts_in_study_standard_errors():
    study, scen = _battery(shift=0.01, p_scenario=0.2)
    m = report.side_by_side(study, scen)
    assert list(m["item"]) == ["a", "b", "c"]
    assert m["shift_se"].tolist() == pytest.approx([0.1, 0.5, 0.25])
    assert m["significant_study"].tolist() == [True, True, True]
    assert m["significant_scenario"].tolist() == [True, False, True]
    sentence = report.changes_sentence(m)
    assert "1 change de conclusion" in sentence and "n’est plus significatif" in sentence
    assert "0,50 fois son erreur type" in sentence and "B : option 1" in sentence


def test_a_scenario_equal_to_the_study_says_nothing_changes():
    study, scen = _battery()
    assert report.changes_sentence(report.side_by_side(study, scen)).startswith("Le scénario ne change aucune des 3")


def test_a_scenario_that_moves_only_the_p_values_lists_the_conclusions_it_changes():
    """A scenario of the multiple-test correction (« adjust=holm ») moves no gap, only the adjusted p-values: its
    page said « ne change aucune des 51 comparaisons » above a table where two lost their star. It now lists them."""
    study, scen = _battery(shift=0.0, p_scenario=0.2)
    sentence = report.changes_sentence(report.side_by_side(study, scen))
    assert "ne change aucune" not in sentence and "1 change de conclusion" in sentence
    assert "B : option 1 (n’est plus significatif)" in sentence and "seules les valeurs p corrigées changent" in sentence


def test_batteries_with_different_rows_are_an_error():
    study, scen = _battery()
    with pytest.raises(ValueError, match="must be the same rows"):
        report.side_by_side(study, scen.iloc[:2])


# ------------------------------------------------------------------------------------------ end to end
def test_scenarios_run_beside_the_study_and_never_touch_it(scenario_runs):
    """In a copy of a built study: two scenarios side by side; every study file byte-identical and not
    rewritten (same mtime); the reused stages not run; a second run of a scenario runs nothing.

    The three `make scenario` runs go on in the background while the other chain tests run
    (:class:`tests.chainrun.Scenarios`); this test reads what they printed and the digests taken after each."""
    root, before = scenario_runs.root, scenario_runs.before
    r, r2, again = (scenario_runs.runs[k] for k in ("tourisme", "seuil5", "again"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "build/executed" not in r.stdout.split("scenario tourisme")[0], "make rebuilt the study first"
    for stem in ("01_resident_frame", "02_visitor_frame", "03_fieldwork", "04_resident_weighting"):
        assert f"= {stem}: reused" in r.stdout
    assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-3000:]
    assert scenario_runs.after["tourisme"] == before and scenario_runs.after["seuil5"] == before

    tour, seuil = root / "scenarios" / "tourisme", root / "scenarios" / "seuil5"
    assert sorted(p.name for p in (tour / "build" / "executed").iterdir()) == \
        ["05_visitor_weighting.ipynb", "06_comparison.ipynb", "07_synthesis.ipynb", "scenario.ipynb"]
    assert sorted(p.name for p in (seuil / "build" / "executed").iterdir()) == ["07_synthesis.ipynb", "scenario.ipynb"]
    assert not (seuil / "data").exists()
    manifest = json.loads((tour / "scenario.json").read_text(encoding="utf-8"))
    assert [s["stage"] for s in manifest["stages"] if s["rerun"]] == \
        ["05_visitor_weighting", "06_comparison", "07_synthesis"]

    # the scenario computed something else: the visitors' final weights moved, the residents' are the study's
    w_study = pd.read_parquet(root / "data/processed/visitor_weights.parquet", columns=["w_final"])
    w_scen = pd.read_parquet(tour / "data/processed/visitor_weights.parquet", columns=["w_final"])
    assert len(w_study) == len(w_scen) and not (w_study["w_final"].to_numpy() == w_scen["w_final"].to_numpy()).all()

    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="../scenarios/tourisme/reports/index.html"' in index
    assert 'href="../scenarios/seuil5/reports/index.html"' in index
    page = (tour / "reports" / "index.html").read_text(encoding="utf-8").replace("\u00a0", " ")  # spacing is test_typography's
    assert "Clients calés sur les chiffres du tourisme" in page and "Scénario « tourisme »" in page
    assert "<title>Scénario « tourisme » — une variante" in page             # not « — Scénario : une variante »
    assert "Scénario «\u00a0tourisme\u00a0»" in (tour / "reports" / "05_visitor_weighting.html").read_text(encoding="utf-8")

    assert again.returncode == 0
    assert "▶" not in again.stdout and again.stdout.count(": up to date") == 3
    assert scenario_runs.after["again"] == before


def test_the_confidence_level_of_the_comparison_is_the_one_every_interval_of_06_and_07_says(scenario_runs):
    """A trial set ``confidence_level: 0.90``: the intervals shrank but every label of reports 06 and 07 still said
    « 95 % », and 07's own intervals (pride, regions, return, mosaic) stayed at 95 %. In a scenario at 0.90: no
    « 95 % » left in either report's text (07's own intervals read the level from 06's files), the method says
    « 90 fois sur 100 », the files carry the level, and the differences keep their estimates while their intervals
    narrow by the ratio of Student's quantiles on each row's degrees of freedom."""
    import html as _html
    import re

    run = scenario_runs.runs["niveau90"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    root = scenario_runs.root
    scen = root / "scenarios" / "niveau90"

    def text(path):
        t = re.sub(r"<style.*?</style>|<script.*?</script>", "", path.read_text(encoding="utf-8"), flags=re.S)
        return re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", " ", t)).replace("\u00a0", " "))

    for stem in ("06_comparison", "07_synthesis"):
        shown = text(scen / "reports" / f"{stem}.html")
        assert "95 %" not in shown and "IC à 90 %" in shown, stem
        assert "95 %" in text(root / "reports" / f"{stem}.html")       # the study's own, beside it, untouched
    assert "90 fois sur 100" in text(scen / "reports" / "07_synthesis.html")
    diff = io.read_csv(scen / "data/processed/comparison_differences.csv", french=True, text=["level"])
    assert compare.confidence_level(diff) == 0.9
    study = io.read_csv(root / "data/processed/comparison_differences.csv", french=True, text=["level"])
    assert compare.confidence_level(study) == 0.95
    # the same estimates, narrower intervals: half-widths in the ratio of t quantiles on each row's df
    key = ["item", "statistic", "level"]
    a, b = study.set_index(key), diff.set_index(key).loc[study.set_index(key).index]
    ratio = (b["ci_high"] - b["ci_low"]) / (a["ci_high"] - a["ci_low"])
    expected = stats.t.ppf(0.95, a["df"]) / stats.t.ppf(0.975, a["df"])
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-12)
    np.testing.assert_allclose(ratio.dropna(), expected[ratio.notna()], rtol=1e-9)


def test_a_stage_no_longer_rerun_leaves_nothing_stale(monkeypatch, tmp_path):
    """Re-running a scenario with other settings: what it had written for a stage now reused from the study
    (executed notebook, report, stamp, data files) is removed, so that no old result is shown or read."""
    monkeypatch.setattr(scenario, "ROOT", tmp_path)
    base = tmp_path / "essai"
    left = [base / "build/executed/04_resident_weighting.ipynb", base / "reports/04_resident_weighting.html",
            base / "build/stamps/04_resident_weighting.sha256", base / "data/processed/resident_weights.parquet"]
    kept = [base / "reports/07_synthesis.html", base / "data/processed/comparison_estimates.csv"]
    for p in left + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("old")
    scenario._forget("essai", "04_resident_weighting")
    assert [p.exists() for p in left] == [False] * 4 and all(p.exists() for p in kept)


def test_a_failed_scenario_withdraws_its_old_reports(monkeypatch, tmp_path):
    """A stage failing in a scenario: the reports an earlier run left for it and the stages after it, the
    scenario's report and its manifest (which the index reads) are removed; the stages done before stay."""
    monkeypatch.setattr(scenario, "ROOT", tmp_path)
    base = tmp_path / "essai"
    names = ["04_resident_weighting", "06_comparison", "07_synthesis"]
    old = {n: base / "reports" / f"{n}.html" for n in [*names, "index"]} | {"manifest": base / "scenario.json"}
    for p in old.values():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("old")
    stages = [scenario.Stage("01_resident_frame", False)] + [scenario.Stage(n, True) for n in names]
    monkeypatch.setattr(scenario, "_study_built", lambda: None)
    monkeypatch.setattr(scenario, "plan", lambda scn: stages)
    monkeypatch.setattr(scenario, "_forget", lambda name, stem: None)

    def run_stage(stage, base, label, why, no_input, html_name, say, quiet_if_current=False, origins=None):
        if stage.stem == "06_comparison":
            raise PortraitError("06 failed")
        (base / "reports" / html_name).write_text("new")

    monkeypatch.setattr(scenario, "_run_stage", run_stage)
    said = []
    scn = scenario.Scenario(name="essai", title="Essai", description="", settings={})
    with pytest.raises(PortraitError, match="06 failed"):
        scenario.run(scn, say=said.append)
    assert old["04_resident_weighting"].read_text() == "new"
    assert not any(old[k].exists() for k in ("06_comparison", "07_synthesis", "index", "manifest"))
    assert "withdrawn" in said[-1]


def test_every_target_that_runs_the_project_python_creates_the_environment_first(tmp_path):
    """On a fresh clone, `make scenario` (or any target running `$(PYTHON)`) before any `make` must create
    .venv instead of failing on a missing interpreter: `make -n` on an empty copy prints the venv's creation."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).parents[1]
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(root / name, tmp_path / name)
    for target in ("scenario", "check-survey", "params", "accept", "bench", "test"):
        plan = subprocess.run(["make", "-n", "-j1", target], cwd=tmp_path, capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin"})
        assert "-m venv .venv" in plan.stdout, (target, plan.stdout[-500:], plan.stderr[-500:])


def test_the_runner_writes_changed_values_as_yaml_not_python():
    """A trial read « trimming None → [0.5, 2.5] » where config/ and SET= write null: the runner's change lines
    use YAML, which reads back to the same value."""
    import yaml

    from portrait.pipeline import scenario

    for value, text in ((None, "null"), ([0.5, 2.5], "[0.5, 2.5]"), ("logit", "logit"), (True, "true"),
                        ({"nights_year": 2017}, "{nights_year: 2017}")):
        assert scenario.as_yaml(value) == text and yaml.safe_load(text) == value


def _scenario_tree(tmp_path, monkeypatch) -> tuple[Path, dict]:
    """A scenario « essai » under tmp_path (its folder and the study's executed notebooks' folder, both empty) and
    its manifest: 01 and 03 reused from the study, 04 and 06 re-run."""
    monkeypatch.setattr(scenario, "ROOT", tmp_path / "scenarios")
    monkeypatch.setattr(paths, "EXECUTED", tmp_path / "build" / "executed")
    base = tmp_path / "scenarios" / "essai"
    (base / "build" / "stamps").mkdir(parents=True)
    paths.EXECUTED.mkdir(parents=True)
    return base, {"name": "essai", "title": "Essai", "command": "make scenario NAME=essai",
                  "stages": [{"stage": s, "rerun": s >= "04", "changes": {}} for s in
                             ("01_resident_frame", "03_fieldwork", "04_resident_weighting", "06_comparison")]}


def test_a_scenario_is_marked_out_of_date_when_a_study_stage_it_reuses_runs_again(tmp_path, monkeypatch):
    """Trial D ran a scenario, then changed the study's seed: the index kept listing the scenario, whose 04–07 came
    from the old seed while its links led to the study's new 01–05. A reused study stage upstream of a re-run one
    that ran after the scenario's last build now marks it « périmé »; a later stage (08) does not."""
    import os

    base, mf = _scenario_tree(tmp_path, monkeypatch)
    (base / "scenario.json").write_text(json.dumps(mf), encoding="utf-8")
    (base / "build" / "stamps" / "06_comparison.sha256").write_text("x\n", encoding="utf-8")
    for stem, age in (("01_resident_frame", 100), ("03_fieldwork", 100), ("08_validation", -100)):
        p = paths.EXECUTED / f"{stem}.ipynb"
        p.write_text("{}", encoding="utf-8")
        os.utime(p, (p.stat().st_mtime - age, p.stat().st_mtime - age))
    for p in [base / "scenario.json", base / "build" / "stamps" / "06_comparison.sha256"]:
        os.utime(p, (p.stat().st_mtime - 50, p.stat().st_mtime - 50))
    assert not report.outdated(mf)                        # 08 ran since: not an input of the scenario
    os.utime(paths.EXECUTED / "03_fieldwork.ipynb")       # the study's 03 ran again
    assert report.outdated(mf)
    assert "périmé : l’étude a changé depuis" in fmt_typeset(report.index_items([mf]))


def fmt_typeset(text: str) -> str:
    from portrait.reporting import formatting as fmt

    return fmt.typeset_html(text).replace("\u00a0", " ")


# ------------------------------------------------------------------------------------------ mutation audit, trial L
def _spaced(text: str) -> str:
    """French formatting's no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_shifts_are_in_the_study_standard_errors_when_the_scenario_has_other_ones():
    """Oracle (hand): a scenario moving every gap by 0.01 with twice the study's standard errors still reports
    shift / se_study = 0.01 / (0.1, 0.02, 0.04) = (0.1, 0.5, 0.25), not / se_scenario (0.05, 0.25, 0.125).
    Trial L, S1."""
    study, scen = _battery(shift=0.01)
    scen = scen.assign(se=scen["se"] * 2)
    m = report.side_by_side(study, scen)
    assert m["se_scenario"].tolist() == pytest.approx([0.2, 0.04, 0.08], abs=1e-12)
    assert m["shift_se"].tolist() == pytest.approx([0.1, 0.5, 0.25], abs=1e-9)


def test_the_largest_shift_named_may_be_a_negative_one():
    """Oracle (hand): shifts −0.08 on « A » (se 0.1) and +0.01 on « B » (se 0.02) and « C » (se 0.04), i.e.
    −0.80, +0.50 and +0.25 study standard errors: the largest in size is A's, « 0,80 fois », not B's +0.50.
    Trial L, S2."""
    study, scen = _battery()
    scen = scen.assign(estimate=scen["estimate"] + [-0.08, 0.01, 0.01])
    m = report.side_by_side(study, scen)
    assert m["shift_se"].tolist() == pytest.approx([-0.8, 0.5, 0.25], abs=1e-9)
    sentence = _spaced(report.changes_sentence(m))
    assert "Le plus grand déplacement d'un écart vaut 0,80 fois son erreur type dans l'étude (A : moyenne)" in sentence
    assert "B : option 1" not in sentence
    assert "moins de 0,50 fois leur erreur type" in sentence          # median of (0.80, 0.50, 0.25)


def test_an_old_stamp_beside_a_newer_manifest_does_not_mark_the_scenario_out_of_date(tmp_path, monkeypatch):
    """Oracle (hand): the scenario was last built at t (its manifest); one of its stage stamps is much older
    (t − 1000 s, a stage that stayed up to date); a reused study stage ran at t − 100 s, before the last build.
    The scenario is up to date (the reused stage is older than the newest build file); it becomes out of date
    only once that stage runs after t. Trial L, S3."""
    import os
    import time

    base, mf = _scenario_tree(tmp_path, monkeypatch)
    t = time.time() - 10_000
    for path, when in ((base / "scenario.json", t), (base / "build" / "stamps" / "04_resident_weighting.sha256", t - 1000),
                       (base / "build" / "stamps" / "06_comparison.sha256", t),
                       (paths.EXECUTED / "01_resident_frame.ipynb", t - 2000),
                       (paths.EXECUTED / "03_fieldwork.ipynb", t - 100)):
        path.write_text(json.dumps(mf) if path.name == "scenario.json" else "x\n", encoding="utf-8")
        os.utime(path, (when, when))
    assert not report.outdated(mf)
    os.utime(paths.EXECUTED / "03_fieldwork.ipynb", (t + 100, t + 100))      # the study's 03 ran again
    assert report.outdated(mf)


def test_the_stamp_of_a_stage_changes_when_the_package_code_changes(tmp_path, monkeypatch):
    """Oracle (docstring of ``stamp``: it depends on the package): in a tmp tree (notebook, config, one module under
    src/portrait), changing one byte of the module changes the stamp, and restoring it gives the first stamp
    back; a stamp taken twice on the same tree is the same. Trial L, S4."""
    for name in ("ROOT", "NOTEBOOKS", "CONFIG"):
        monkeypatch.setattr(paths, name, tmp_path / {"ROOT": "", "NOTEBOOKS": "notebooks", "CONFIG": "config"}[name])
    module = tmp_path / "src" / "portrait" / "module.py"
    for path, text in ((tmp_path / "notebooks" / "06_comparison.ipynb", "{}"),
                       (tmp_path / "config" / "study.yaml", "seed: 1\n"), (module, "X = 1\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stage = scenario.Stage("06_comparison", True, params={"adjust": "holm"})
    first = scenario.stamp(stage)
    assert scenario.stamp(stage) == first
    module.write_text("X = 2\n", encoding="utf-8")
    assert scenario.stamp(stage) != first
    module.write_text("X = 1\n", encoding="utf-8")
    assert scenario.stamp(stage) == first


def test_the_key_table_writes_shares_as_percentages():
    """Oracle (hand, from ``_battery``): the share « B » (residents 0.30, visitors 0.25) is written « 30,0 % » and
    « 25,0 % »; the mean « A » (3.0, 3.5) with two decimals and no « % ». Trial L, S6."""
    study, scen = _battery()
    table = report.key_table(report.side_by_side(study, scen)).map(_spaced)
    b = table.set_index("Indicateur").loc["B : option 1"]
    assert (b["Habitants : étude"], b["Habitants : scénario"], b["Clients : étude"], b["Clients : scénario"]) == \
        ("30,0 %", "30,0 %", "25,0 %", "25,0 %")
    a = table.set_index("Indicateur").loc["A : moyenne"]
    assert (a["Habitants : étude"], a["Clients : étude"]) == ("3,00", "3,50")


def test_the_stage_list_says_why_a_stage_was_rerun():
    """Oracle (hand): a stage re-run with no changed parameter (it only reads files the scenario remade, as the plan
    records it: ``changes`` empty) « lit des fichiers refaits par le scénario »; one with a real change, beside a
    redirected path, has « paramètres modifiés »; a redirected path alone is not a parameter change. Trial L, S7."""
    redirect = ["data/processed/resident_weights.parquet", "scenarios/essai/data/processed/resident_weights.parquet"]
    mf = {"stages": [{"stage": "04_resident_weighting", "rerun": True,
                      "changes": {"population_year": [2021, 2019], "resident_weights": redirect}},
                     {"stage": "06_comparison", "rerun": True, "changes": {}},
                     {"stage": "07_synthesis", "rerun": True, "changes": {"resident_weights": redirect}}]}
    lines = _spaced(report.stages_markdown(mf)).splitlines()
    assert lines[0].startswith("- **04 — pondération des habitants : refaite** (paramètres modifiés)")
    assert lines[1].startswith("- **06 — comparaison habitants / clients du territoire : refaite** "
                               "(lit des fichiers refaits par le scénario)")
    assert lines[2].startswith("- **07 — synthèse : refaite** (lit des fichiers refaits par le scénario)")


def test_the_listing_names_scenarios_run_with_set_only_and_those_that_failed(tmp_path, monkeypatch, capsys):
    """An analyst's trial: `make scenario` listed the shipped scenarios only; one run with SET= and one whose stage
    failed (a folder without its scenario.json) were in no listing. Both are listed now, with their state."""
    (tmp_path / "ecretage").mkdir()
    (tmp_path / "ecretage" / "scenario.json").write_text("{}", encoding="utf-8")
    (tmp_path / "serre").mkdir()
    monkeypatch.setattr(scenario, "ROOT", tmp_path)
    assert scenario.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "ecretage\t(settings given with SET=)\t(built)" in out
    assert "serre\t(settings given with SET=)\t(not built: its last run failed or stopped)" in out
    assert "tourisme\t" in out
