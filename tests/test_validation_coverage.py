"""The validation conclusion says, survey by survey, what the non-response correction does to the coverage."""

from __future__ import annotations

import os
import re

import pandas as pd
import pytest

from portrait.study import validation

DIFF = "visitors - residents"
NBSP = "\u00a0"


def _summary(coverage: dict[tuple[str, str], tuple[float, float]]) -> pd.DataFrame:
    """Two key statistics per survey and estimator: coverage of the first over 40 replications, of the second over
    20 (so the pooled coverage is (40 a + 20 b) / 60), plus a bootstrap row that the linearised coverage ignores."""
    rows = [{"target": "superpopulation", "survey": survey, "item": item, "estimator": estimator,
             "variance": "linearisation", "replications": reps, "coverage": c}
            for (survey, estimator), pair in coverage.items()
            for item, reps, c in zip(("a", "b"), (40, 20), pair)]
    rows.append({"target": "superpopulation", "survey": "residents", "item": "a", "estimator": "design",
                 "variance": "bootstrap", "replications": 10, "coverage": 0.10})
    return pd.DataFrame(rows)


# hand-computed pooled coverages: residents design (32 + 14) / 60 = 76.7 %, non-response (32 + 15) / 60 = 78.3 %,
# raking (38 + 18) / 60 = 93.3 %; visitors 85 %, (38 + 18) / 60 = 93.3 %, 95 %; differences 90 %,
# (34 + 16) / 60 = 83.3 %, (38 + 18) / 60 = 93.3 %
MIXED = {("residents", "design"): (0.80, 0.70), ("residents", "nonresponse"): (0.80, 0.75),
         ("residents", "raking"): (0.95, 0.90),
         ("visitors", "design"): (0.85, 0.85), ("visitors", "nonresponse"): (0.95, 0.90),
         ("visitors", "raking"): (0.95, 0.95),
         (DIFF, "design"): (0.90, 0.90), (DIFF, "nonresponse"): (0.85, 0.80), (DIFF, "raking"): (0.95, 0.90)}


def test_coverage_is_pooled_per_survey_weighted_by_replications_on_linearised_intervals_only():
    """Residents with design weights: (0.80 × 40 + 0.70 × 20) / 60, the bootstrap row left out."""
    cover = validation.coverage.coverage_by_survey(_summary(MIXED))
    assert list(cover.index) == ["residents", "visitors", DIFF]
    assert cover.loc["residents", "design"] == pytest.approx(46 / 60)
    assert cover.loc["visitors", "nonresponse"] == pytest.approx(56 / 60)
    assert cover.loc[DIFF, "nonresponse"] == pytest.approx(50 / 60)


def test_the_step_effect_reads_whole_percentages_and_a_one_point_change_is_none():
    assert validation.coverage.step_effect(0.7667, 0.7833) == 0          # 77 % then 78 %
    assert validation.coverage.step_effect(0.85, 0.9333) == 1            # 85 % then 93 %
    assert validation.coverage.step_effect(0.90, 0.8833) == -1           # 90 % then 88 %


def test_the_sentence_says_where_the_nonresponse_correction_helps_and_where_it_does_not():
    """The hand-computed coverages above, in French: no gain for residents, a gain for visitors, a loss for differences."""
    assert validation.coverage.nonresponse_sentence(_summary(MIXED)) == (
        "Enquête par enquête, sur les statistiques clés (intervalles linéarisés ; entre parenthèses, la part des "
        "intervalles qui contiennent la vraie valeur avec les seuls poids de sondage, puis après la correction), la "
        f"correction de la non-réponse change peu la couverture chez les habitants (76,7{NBSP}% puis 78,3{NBSP}%), "
        f"l'améliore chez les clients du territoire (85,0{NBSP}% puis 93,3{NBSP}%) et la dégrade pour les différences "
        f"clients − habitants (90,0{NBSP}% puis 83,3{NBSP}%) ; après calage par raking ratio, la couverture est de 93,3{NBSP}%, "
        f"95,0{NBSP}% et 93,3{NBSP}% respectivement.")


def test_surveys_with_the_same_effect_share_one_verb():
    """Residents and visitors both gain (70 → 80 %, 85 → 93 %), the differences lose: one verb for the two gains."""
    both = {**MIXED, ("residents", "design"): (0.70, 0.70), ("residents", "nonresponse"): (0.80, 0.80)}
    sentence = validation.coverage.nonresponse_sentence(_summary(both))
    assert (f"la correction de la non-réponse améliore la couverture chez les habitants (70,0{NBSP}% puis 80,0{NBSP}%) et "
            f"chez les clients du territoire (85,0{NBSP}% puis 93,3{NBSP}%), et la dégrade pour les différences") in sentence
    # the two losses last: no comma needed before the « et » between the verbs
    last = {**MIXED, ("visitors", "nonresponse"): (0.80, 0.80)}
    assert (f"change peu la couverture chez les habitants (76,7{NBSP}% puis 78,3{NBSP}%) et la dégrade chez les clients "
            f"du territoire (85,0{NBSP}% puis 80,0{NBSP}%) et pour les différences") in validation.coverage.nonresponse_sentence(
                _summary(last))


# hand-computed unweighted coverages: residents (0.80 × 40 + 0.65 × 20) / 60 = 45 / 60 = 75 %, visitors
# (0.90 × 40 + 0.84 × 20) / 60 = 52.8 / 60 = 88 %, differences (0.95 × 40 + 0.80 × 20) / 60 = 54 / 60 = 90 %
UNWEIGHTED = {("residents", "unweighted"): (0.80, 0.65), ("visitors", "unweighted"): (0.90, 0.84),
              (DIFF, "unweighted"): (0.95, 0.80)}


def test_the_unweighted_coverage_is_said_survey_by_survey_not_pooled():
    """The hand-computed coverages above, one per survey and for the differences, each pooled over its own key
    statistics only (both surveys pooled would be (45 + 52.8) / 120 = 81.5 %)."""
    assert validation.coverage.unweighted_coverage(_summary({**MIXED, **UNWEIGHTED})) == (
        f"une couverture de 75,0{NBSP}% chez les habitants, 88,0{NBSP}% chez les clients du territoire et 90,0{NBSP}% "
        "pour les différences clients − habitants")


def test_the_unweighted_coverage_names_only_the_surveys_the_summary_has():
    """Without the differences' rows, two surveys; without an unweighted estimator, nothing to say."""
    two = {k: v for k, v in UNWEIGHTED.items() if k[0] != DIFF}
    assert validation.coverage.unweighted_coverage(_summary(two)) == (
        f"une couverture de 75,0{NBSP}% chez les habitants et 88,0{NBSP}% chez les clients du territoire")
    assert validation.coverage.unweighted_coverage(_summary(MIXED)) == ""


def test_the_study_conclusion_reads_survey_by_survey(full_run):
    """In report 08 as make executed it with the study's parameters, the conclusion judges the uncalibrated
    estimators survey by survey, not on both surveys pooled."""
    import nbformat

    nb = nbformat.read(full_run / "build" / "executed" / "08_validation.ipynb", as_version=4)
    text = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if "validation.conclusion_fr" in c.source)
    assert "Enquête par enquête" in text and "seulement corrigées de la non-réponse (" not in text
    assert "Sans pondération" in text and "chez les habitants, " in text and "(habitants et clients, " not in text
    # « dans la tolérance » is a rule's verdict: the sentence gives what chance gives and the count the rule tolerates
    assert re.search(r"Le hasard seul en mettrait en cause \d+,\d+ en moyenne ; la règle en tolère jusqu'à \d+ \(le "
                     r"95ᵉ centile", text)
    # the pooled coverage has its Monte Carlo interval, replications as clusters (trial Z)
    assert re.search(r"du temps \(intervalle Monte-Carlo de \d+,\d+\s%\sà \d+,\d+\s%, toutes statistiques ensemble", text)


def test_each_variance_is_drawn_against_the_band_of_its_own_number_of_replications():
    """The coverage figure's grey bands are 95 % ± 1.96 √(0.95 × 0.05 / R): R = 40 for the linearised rows, 10 for
    the bootstrap's (wider; both capped at 100 %), each at its variance's height; one band on all rows would judge the
    bootstrap's points, ten replications here, by the forty's narrower band."""
    import matplotlib.pyplot as plt
    import numpy as np

    from portrait.reporting import validation_plots

    summ = _summary(MIXED).assign(statistic="mean", level="")
    fig = validation_plots.coverage(summ, "t")
    ax = fig.axes[0]
    spans = set()
    for poly in ax.collections:
        if type(poly).__name__ in ("PolyCollection", "FillBetweenPolyCollection"):
            x = poly.get_paths()[0].vertices[:, 0]
            spans.add((round(x.min(), 6), round(x.max(), 6)))
    plt.close(fig)
    half = lambda r: 196 * np.sqrt(0.95 * 0.05 / r)        # noqa: E731
    assert spans == {(round(95 - half(40), 6), 100.0), (round(95 - half(10), 6), 100.0)}


def _error_segments(fig) -> list[list[tuple[float, float]]]:
    """Per Axes, the (x_low, x_high) of every horizontal error-bar segment."""
    from matplotlib.container import ErrorbarContainer

    return [[tuple(sorted((float(s[0][0]), float(s[1][0])))) for c in ax.containers
             if isinstance(c, ErrorbarContainer) for s in c.lines[2][0].get_segments()] for ax in fig.axes]


def test_the_pooled_coverage_bar_spans_the_wilson_interval_the_right_way_round():
    """Oracle (hand, Wilson score formula with z = scipy.stats.norm.ppf(0.975)): 38 of 40 intervals covering gives a
    point at 95 % and a bar from 100 × lo ≈ 83.5 to 100 × hi ≈ 98.6, asymmetric, so lower and upper halves swapped
    would draw [2 × 95 − hi, 2 × 95 − lo] instead. Trial L, P7: the two halves of the error bar swapped."""
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.stats import norm

    from portrait.reporting import validation_plots

    summ = pd.DataFrame([{"target": "superpopulation", "survey": "residents", "item": "a", "statistic": "mean",
                          "level": "", "estimator": "design", "variance": "linearisation", "replications": 40,
                          "coverage": 38 / 40}])
    z, n, p = norm.ppf(0.975), 40, 38 / 40
    centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    fig = validation_plots.coverage(summ, "t")
    segments = _error_segments(fig)
    plt.close(fig)
    assert segments[0] == [pytest.approx((100 * (centre - half), 100 * (centre + half)), abs=1e-9)]
    assert 100 * (centre + half) - 95 < 95 - 100 * (centre - half)      # the oracle is asymmetric


def test_rejection_rate_bars_end_at_the_given_interval_in_percent():
    """Oracle (hand): each test's bar spans [100 × rejection_low, 100 × rejection_high] around 100 × rejection, in
    both panels (no planted difference: size; planted: power) and for each estimator.
    Trial L, P8: the upper end missing its × 100 (the upper half of the bar collapsed to nothing)."""
    import matplotlib.pyplot as plt

    from portrait.reporting import validation_plots

    rows = [("a", False, "design", 0.06, 0.03, 0.12), ("a", False, "raking", 0.05, 0.02, 0.11),
            ("b", True, "design", 0.80, 0.70, 0.87), ("b", True, "raking", 0.85, 0.76, 0.91)]
    summ = pd.DataFrame([{"survey": DIFF, "variance": "linearisation", "item": item, "statistic": "mean", "level": "",
                          "planted": planted, "estimator": est, "rejection": r, "rejection_low": lo,
                          "rejection_high": hi} for item, planted, est, r, lo, hi in rows])
    fig = validation_plots.tests(summ, {}, "t")
    segments = _error_segments(fig)
    plt.close(fig)
    assert segments == [[pytest.approx((3.0, 12.0), abs=1e-9), pytest.approx((2.0, 11.0), abs=1e-9)],
                        [pytest.approx((70.0, 87.0), abs=1e-9), pytest.approx((76.0, 91.0), abs=1e-9)]]


def test_a_range_never_rounds_a_statistic_into_the_band_it_leaves():
    """Trial Z: the published run's lowest coverage, 93.98 %, was written « 94,0 % », inside the 94–96 % band the
    same sentence said one statistic left. The oracle is the band itself: a bound outside it must read outside."""
    from portrait.study.validation.coverage import _pct_range
    from portrait.study.validation.monte_carlo import COVERAGE_BAND
    assert _pct_range(0.9398, 0.9518, COVERAGE_BAND) == "de 93,98 % à 95,2 %"
    assert _pct_range(0.9430, 0.9604, COVERAGE_BAND) == "de 94,3 % à 96,04 %"
    assert _pct_range(0.9430, 0.9568, COVERAGE_BAND) == "de 94,3 % à 95,7 %"
    assert _pct_range(0.8950, 0.9850, COVERAGE_BAND) == "de 89,5 % à 98,5 %"


def test_the_report_made_again_from_stored_replications_is_the_report_of_the_run(full_run, tmp_path):
    """`make validate-report` (notebook 08 with ``reuse_results``) re-renders a run's report from its stored
    replications in seconds, for a change to the report's text after a `make validate` of 20 minutes or more. Oracle:
    on the short run make executed, the re-rendered notebook's texts and tables, and the summary it writes, are those
    of the run itself; only the note saying it was re-rendered is added. Stored replications of other sizes are
    refused."""
    import shutil
    import subprocess
    import sys

    import nbformat

    from portrait.reporting import tables

    stored = tmp_path / "validation_results.parquet"
    shutil.copy(full_run / "data" / "processed" / "validation_results.parquet", stored)
    # as the Makefile runs it: the built study's root and sources (CI's first run: the checkout itself has no data)
    env = {**os.environ, "PORTRAIT_ROOT": str(full_run), "PYTHONPATH": str(full_run / "src"), "PYTHONHASHSEED": "0",
           "MPLBACKEND": "Agg"}

    def rerender(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "portrait.pipeline.run", "notebooks/08_validation.ipynb",
                               "-o", str(tmp_path / "08.ipynb"), "-p", "reuse_results", "True",
                               "-p", "out_results", str(stored), "-p", "out_summary", str(tmp_path / "summary.csv"),
                               *extra], cwd=full_run, env=env, capture_output=True, text=True, timeout=600)

    done = rerender()
    assert done.returncode == 0, done.stderr[-2000:]

    def texts(path) -> list[str]:
        nb = nbformat.read(path, as_version=4)
        return [o["data"].get("text/markdown", o["data"].get("text/html", "")) for c in nb.cells if c.cell_type == "code"
                for o in c.get("outputs", []) if "data" in o and "image/png" not in o["data"]
                and o.get("metadata", {}) != tables.ANALYST_ONLY]       # the files' list: written elsewhere here

    original, again = texts(full_run / "build" / "executed" / "08_validation.ipynb"), texts(tmp_path / "08.ipynb")
    note = [t for t in again if t.startswith("*Rapport refait sur les réplications déjà calculées")]
    again = [t for t in again if t not in note]
    assert len(note) == 1 and again == original       # the last: « 20 500 lignes de résultats, … »
    assert (tmp_path / "summary.csv").read_bytes() == \
        (full_run / "data" / "processed" / "validation_summary.csv").read_bytes()
    refused = rerender("-p", "replications", "5000")
    assert refused.returncode == 1 and "holds 40 replications of target 'superpopulation'" in refused.stderr
    assert "the parameters ask for 5000" in refused.stderr and "make validate" in refused.stderr
    other = rerender("-p", "bootstrap_replicates", "49")
    assert other.returncode == 1 and "made with other inputs: parameter 'bootstrap_replicates': 50" in other.stderr


def test_stored_replications_are_refused_when_a_parameter_or_an_input_file_differs_from_their_run(tmp_path):
    """Oracle (hand-made run): the record written with the replications is read back from the Parquet file; a
    changed seed, an input file whose bytes changed since the run, a new input and a file written without a record
    are each refused, naming what differs; the same parameters and bytes are accepted."""
    from portrait.pipeline import io
    from portrait.pipeline.errors import ParameterError
    from portrait.study.validation.targets import run_record, stored_results

    weights, frame = tmp_path / "weights.parquet", tmp_path / "frame.parquet"
    weights.write_bytes(b"weights of the run")
    frame.write_bytes(b"frame")
    results = pd.DataFrame({"target": ["superpopulation"] * 3, "replication": [0, 0, 1],
                            "variance": ["linearisation", "bootstrap", "linearisation"]})
    params = {"seed": 7, "logit_bounds": [0.3, 3.0], "design_overrides": {}}
    results.attrs["run"] = run_record(params, [weights, frame])
    io.write_parquet(results, tmp_path / "results.parquet")
    path = str(tmp_path / "results.parquet")

    def read(p=params, files=(weights, frame)):
        return stored_results(path, ["superpopulation"], 2, 1, run_record(p, list(files)))

    assert len(read()) == 3
    with pytest.raises(ParameterError, match=r"parameter 'seed': 7 in the run, 8 now"):
        read({**params, "seed": 8})
    weights.write_bytes(b"weights of a chain re-run since")
    with pytest.raises(ParameterError, match=r"weights\.parquet changed since the run"):
        read()
    weights.write_bytes(b"weights of the run")
    extra = tmp_path / "truth.parquet"
    extra.write_bytes(b"truth")
    with pytest.raises(ParameterError, match=r"truth\.parquet was not an input of the run"):
        read(files=(weights, frame, extra))
    bare = pd.read_parquet(path)
    bare.attrs.clear()
    io.write_parquet(bare, path)
    with pytest.raises(ParameterError, match="does not record the parameters and input files of its run"):
        read()
    assert len(stored_results(path, ["superpopulation"], 2, 1)) == 3     # without a record asked: sizes only


def test_per_statistic_coverage_figure_draws_each_interval_and_reds_only_those_in_question():
    """Oracle (hand): each statistic's bar spans [100 × coverage_low, 100 × coverage_high], in its target's column and
    its survey's row of panels; the red bars are the statistics in question (outside [94 %, 96 %] with an interval
    that excludes 95 %): 93,5 % [93,0 ; 94,0] is, 94,5 % [94,1 ; 94,9] is not; the logit rows are not drawn."""
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt
    from matplotlib.container import ErrorbarContainer

    from portrait.reporting import validation_plots

    def rows(cov):
        return pd.DataFrame([{"survey": s, "item": i, "statistic": "mean", "level": "", "estimator": e,
                              "variance": "linearisation", "replications": 5000, "coverage": c, "coverage_low": lo,
                              "coverage_high": hi} for s, i, e, c, lo, hi in cov])

    sup = rows([("residents", "a", "raking", 0.935, 0.930, 0.940), ("residents", "b", "raking", 0.945, 0.941, 0.949),
                ("residents", "a", "logit", 0.80, 0.79, 0.81), (DIFF, "a", "raking", 0.951, 0.945, 0.957)])
    fin = rows([("residents", "a", "raking", 0.95, 0.944, 0.956), ("residents", "b", "raking", 0.96, 0.955, 0.965),
                (DIFF, "a", "raking", 0.949, 0.943, 0.955)])
    fig = validation_plots.coverage_by_statistic({"superpopulation": sup, "finite": fin}, {}, "t")
    drawn = []
    for ax in fig.axes:
        bars = []
        for c in (c for c in ax.containers if isinstance(c, ErrorbarContainer)):
            red = mcolors.to_hex(c.lines[2][0].get_color()[0]) == "#b3261e"
            bars += [(tuple(round(float(v), 9) for v in sorted((s[0][0], s[1][0]))), red)
                     for s in c.lines[2][0].get_segments()]
        drawn.append(sorted(bars))
    plt.close(fig)
    # panels in row-major order: residents (super-population, finite), then the difference (super-population, finite)
    assert drawn == [[((93.0, 94.0), True), ((94.1, 94.9), False)], [((94.4, 95.6), False), ((95.5, 96.5), False)],
                     [((94.5, 95.7), False)], [((94.3, 95.5), False)]]
