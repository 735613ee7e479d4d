"""The validation study: deterministic replications, scheduling-independent runs, Monte Carlo arithmetic."""

from __future__ import annotations

import builtins
import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait.study import compare, fieldwork, validation
from portrait.study.validation import monte_carlo as vs
from portrait.reporting import formatting as fmt
from portrait.pipeline import config
from portrait.pipeline.errors import CalibrationError, ParameterError
from tests import helpers

RESIDENT_DESIGN = dict(invitations=1000, take_per_commune=10, allocation="proportional", min_psu_per_stratum=2)
VISITOR_DESIGN = dict(invitations=1500, min_per_stratum=30)
RESIDENT_WEIGHTING = dict(calibration_method="raking", calibration_bounds=[0.3, 3.0], min_respondents_per_level=20,
                          nonresponse_classes=5, replicate_method="bootstrap", replicates=500)
VISITOR_WEIGHTING = dict(nonresponse_classes=5, calibration_target="frame", calibration_method="raking",
                         calibration_bounds=[0.3, 3.0], min_respondents_per_level=20, replicate_method="bootstrap",
                         replicates=500)


@pytest.fixture(scope="module")
def setup(resident_frame):
    return validation.Validation.build(
        seed=2017, codebook_file="config/codebook.yaml", model_file="config/fieldwork_model.yaml",
        resident_frame=resident_frame, visitor_frame=helpers.example_visitor_frame(6000, seed=4),
        population_year=2017, resident_design=RESIDENT_DESIGN, visitor_design=VISITOR_DESIGN,
        resident_weighting=RESIDENT_WEIGHTING, visitor_weighting=VISITOR_WEIGHTING)


@pytest.fixture(scope="module")
def seeds(setup):
    return np.random.SeedSequence(setup.seed).spawn(4)


@pytest.fixture(scope="module")
def first(setup, seeds):
    return validation.replicate(setup, seeds[0])


def test_replication_is_deterministic_given_its_seed(setup, seeds, first):
    """The same child seed gives the same table; another child gives other estimates."""
    again = validation.replicate(setup, np.random.SeedSequence(setup.seed).spawn(1)[0])
    pd.testing.assert_frame_equal(first, again)
    other = validation.replicate(setup, seeds[1])
    assert (other["replication"] == 1).all() and (first["replication"] == 0).all()
    ok = first["estimate"].notna() & other["estimate"].notna()
    assert (first.loc[ok, "estimate"].to_numpy() != other.loc[ok, "estimate"].to_numpy()).mean() > 0.9


def test_replication_covers_every_statistic_estimator_and_survey(setup, first):
    """One row per survey × key statistic × estimator (linearised), with CIs around the estimates."""
    n_stats = len(validation.KEY_STATISTICS)
    profiles = first["statistic"].isin(validation.PROFILE_STATISTICS)
    two = first["variance"] == validation.TWO_STAGE
    assert (~profiles & ~two).sum() == 3 * n_stats * len(validation.ESTIMATORS)
    assert two.sum() == 2 * n_stats * len(validation.CALIBRATED)
    assert set(first.loc[~two, "variance"]) == {"linearisation"}
    first = first.loc[~profiles]
    ok = first["estimate"].notna()
    assert ok.mean() > 0.9
    f = first.loc[ok]
    assert ((f["ci_low"] < f["estimate"]) & (f["estimate"] < f["ci_high"]) & (f["se"] > 0)).all()
    diff = f.loc[f["survey"] == compare.DIFFERENCE]
    assert diff["p"].between(0, 1).all() and f.loc[f["survey"] != compare.DIFFERENCE, "p"].isna().all()


def test_the_residents_two_stage_variance_is_first_stages_and_pairs_with_the_visitors_linearised_one(setup, first):
    """The residents' calibrated estimators also carry the variance of the two-stage design with the communes' fpc
    (``first_stage.two_stage_design``, checked against R's ``svydesign(pps = "brewer")`` in test_first_stage): same
    estimates as the chain's rows, their own SEs and df; each difference's variance is the residents' two-stage
    one plus the visitors' linearised one (independent samples: a closed form), and the visitors have no such row."""
    key = ["survey", "item", "statistic", "level", "estimator"]
    two = first.loc[first["variance"] == validation.TWO_STAGE].set_index(key)
    lin = first.loc[first["variance"] == "linearisation"].set_index(key)
    assert set(two.index.get_level_values("survey")) == {"residents", compare.DIFFERENCE}
    assert set(two.index.get_level_values("estimator")) == set(validation.CALIBRATED)
    res = two.xs("residents", level="survey")
    chain = lin.xs("residents", level="survey").loc[res.index]
    np.testing.assert_allclose(res["estimate"], chain["estimate"], rtol=1e-13)
    assert (res["se"] != chain["se"]).all() and np.allclose(res["se"], chain["se"], rtol=0.1)
    assert (res["df"] < chain["df"]).all()              # R's degf: first-stage PSUs (communes) less strata
    diff = two.xs(compare.DIFFERENCE, level="survey")
    vis = lin.xs("visitors", level="survey").loc[diff.index]
    np.testing.assert_allclose(diff["se"], np.hypot(res.loc[diff.index, "se"], vis["se"]), rtol=1e-12)
    np.testing.assert_allclose(diff["estimate"], vis["estimate"] - res.loc[diff.index, "estimate"], rtol=1e-12)


def test_differences_follow_compare_differences(setup, seeds):
    """The vectorised visitors − residents differences are the Welch test written out here (difference, √(V_r + V_v),
    Welch–Satterthwaite df, Student's quantile and two-sided p: the oracle), and equal
    portrait.study.compare.differences, the chain's path (one rule for both)."""
    est = pd.DataFrame({
        "item": ["a", "b", "a", "b"], "statistic": "mean", "level": "", "group": ["residents"] * 2 + ["visitors"] * 2,
        "estimate": [1.0, 2.0, 1.5, 1.0], "se": [0.1, 0.2, 0.3, 0.1], "df": [40.0, 40.0, 100.0, 100.0],
        "n": [50, 60, 70, 80], "label": "", "item_label": "", "type": "", "adjusted": 0.0, "error": ""})
    ours = validation.differences(est.assign(estimator="raking", variance="linearisation"))
    ref = compare.differences(est, battery=np.ones(2, dtype=bool))
    for col in ("estimate", "se", "ci_low", "ci_high", "df", "p"):
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12)
    (d1, d2), (s_r, s_v), (n_r, n_v) = np.array([0.5, -1.0]), np.array([[0.1, 0.2], [0.3, 0.1]]), (40.0, 100.0)
    se = np.sqrt(s_r ** 2 + s_v ** 2)
    df = se ** 4 / (s_r ** 4 / n_r + s_v ** 4 / n_v)
    q = stats.t.ppf(0.975, df)
    by_hand = {"estimate": [d1, d2], "se": se, "df": df, "ci_low": [d1, d2] - q * se, "ci_high": [d1, d2] + q * se,
               "p": 2 * stats.t.sf(np.abs([d1, d2]) / se, df)}
    for col, want in by_hand.items():
        np.testing.assert_allclose(ours[col].to_numpy(), want, rtol=1e-12, err_msg=col)


def test_same_results_with_one_or_two_workers_or_a_dask_cluster(setup):
    """Results do not depend on the number of processes nor on the executor (sorted by replication): one
    process, two local processes, and a dask.distributed LocalCluster of two worker processes reached
    by its scheduler's address, as a cluster would be."""
    from distributed import LocalCluster

    one = validation.run(setup, 3, workers=1, progress=False)
    two = validation.run(setup, 3, workers=2, progress=False)
    pd.testing.assert_frame_equal(one, two)
    assert list(pd.unique(one["replication"])) == [0, 1, 2]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = validation.run(setup, 3, progress=False, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(one, on_dask)


def test_dask_workers_with_several_threads_are_refused(setup):
    """A review: `dask worker` starts one thread per core by default, and replications in threads of one process
    share the BLAS thread limit and the warning filters each sets (neither is thread-safe). Such workers are refused
    before any task is sent, with the command that starts them right."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        with pytest.raises(ParameterError, match=r"1 of the Dask workers at .* run 2 threads: start them with one "
                                                 r"thread each.*--nthreads 1"):
            validation.run(setup, 2, progress=False, scheduler=cluster.scheduler_address)


def test_worker_processes_are_forked_only_up_to_python_3_11(setup, monkeypatch):
    """Python 3.12 warns when a process running threads forks (an error under make test) and 3.14 stops forking by
    default: fork up to 3.11, forkserver after, spawn without either. The forkserver path, forced on this Python,
    gives the same replications as one process (the setup pickled to the workers)."""
    from portrait.pipeline import processes

    assert processes.start_method((3, 11), ["fork", "spawn", "forkserver"]) == "fork"
    assert processes.start_method((3, 12), ["fork", "spawn", "forkserver"]) == "forkserver"
    assert processes.start_method((3, 14), ["spawn"]) == "spawn" == processes.start_method((3, 11), ["spawn"])
    one = validation.run(setup, 2, workers=1, progress=False)
    monkeypatch.setattr(processes, "start_method", lambda *a, **k: "forkserver")
    pd.testing.assert_frame_equal(one, validation.run(setup, 2, workers=2, progress=False))


def test_an_unreachable_scheduler_is_named(setup, monkeypatch):
    monkeypatch.setattr(validation.replications, "SCHEDULER_TIMEOUT", 2)
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler 'tcp://127.0.0.1:9'"):
        validation.run(setup, 2, progress=False, scheduler="tcp://127.0.0.1:9")


def test_bootstrap_rows_only_where_asked(setup):
    """bootstrap_replications=1 adds bootstrap variances to replication 0 only, with the same estimates."""
    r = validation.run(setup, 2, workers=1, bootstrap=True, bootstrap_replications=1, replicates=5, progress=False)
    boot = r.loc[r["variance"] == "bootstrap"]
    assert set(boot["replication"]) == {0}
    lin = r.loc[(r["variance"] == "linearisation") & (r["replication"] == 0)]
    key = ["survey", "item", "statistic", "level", "estimator"]
    both = lin.merge(boot, on=key, suffixes=("_l", "_b"))
    ok = both["estimate_b"].notna()
    np.testing.assert_allclose(both.loc[ok, "estimate_l"], both.loc[ok, "estimate_b"], rtol=1e-12)
    assert (both.loc[ok, "se_l"] != both.loc[ok, "se_b"]).all()
    # replicates whose bounded calibration widened its bounds are counted, never dropped
    assert (lin["adjusted"] == 0).all()
    counted = boot.loc[boot["error"] == "", "adjusted"]
    assert counted.notna().all() and counted.between(0, 2 * 5).all() and (counted % 1 == 0).all()
    assert not boot["error"].str.contains("bootstrap replicate").any()


def test_no_file_is_read_during_a_replication(setup, seeds, first, monkeypatch):
    """A replication reads nothing: pandas readers, YAML and open() raise if called."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"file read during a replication: {args[:1]}")

    for name in ("read_parquet", "read_csv", "read_excel", "read_spss"):
        monkeypatch.setattr(pd, name, refuse)
    monkeypatch.setattr(config, "read_yaml", refuse)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    out = validation.replicate(setup, seeds[2])
    assert len(out) == len(first)


def test_unweighted_residents_are_biased_the_way_nonresponse_was_built(setup, seeds, first):
    """Older residents answer more and like the region more: unweighted image means exceed calibrated ones."""
    nr = fieldwork.expected_respondents(setup.model, _population(setup), setup.calibration)
    limit = fieldwork.truth(setup.model, nr, setup.calibration)
    true = setup.truth
    sel = (limit["survey"] == "residents") & (limit["item"] == "image_globale") & (limit["statistic"] == "mean")
    planned = float(limit.loc[sel, "value"].iloc[0]) - float(true.loc[(true["survey"] == "residents")
                                                                      & (true["item"] == "image_globale")
                                                                      & (true["statistic"] == "mean"), "value"].iloc[0])
    assert planned > 0.05
    more = [validation.replicate(setup, s) for s in np.random.SeedSequence(setup.seed).spawn(10)[4:]]
    runs = pd.concat([first, validation.replicate(setup, seeds[3]), *more])
    img = runs.loc[(runs["survey"] == "residents") & (runs["item"] == "image_globale") & (runs["statistic"] == "mean")]
    gap = img.pivot_table(index="replication", columns="estimator", values="estimate")
    d = (gap["unweighted"] - gap["raking"]).to_numpy()
    assert len(d) == 8 and (d > 0).all()
    # Monte Carlo: the mean gap of 8 replications is within 4 of its standard errors of the planned bias
    assert abs(d.mean() - planned) < 4 * d.std(ddof=1) / np.sqrt(len(d))


def _population(setup):
    res = fieldwork.resident_population(setup.model, setup.resident_frame, setup.population)
    vis, mapping = fieldwork.visitor_population(setup.model, setup.visitor_frame)
    return fieldwork.Population(res, vis, mapping)


# ------------------------------------------------------------------------------- summary arithmetic


def _synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four replications of one statistic in one survey and of one difference, with known answers."""
    rows = []
    for i, (est, covered, p) in enumerate([(1.0, True, 0.01), (2.0, True, 0.2), (3.0, True, 0.03), (4.0, False, 0.5)]):
        half = 2.5 if covered else 0.5
        for survey in ("residents", compare.DIFFERENCE):
            rows.append({"replication": i, "survey": survey, "item": "x", "statistic": "mean", "level": "",
                         "estimator": "raking", "variance": "linearisation", "estimate": est, "se": 1.0,
                         "ci_low": est - half, "ci_high": est + half, "df": 100.0, "n": 10.0,
                         "p": p if survey == compare.DIFFERENCE else np.nan, "adjusted": 0.0, "error": ""})
    rows.append({**rows[0], "replication": 4, "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                 "error": "calibration failed"})
    truth = pd.DataFrame({"survey": ["residents", compare.DIFFERENCE], "item": "x", "statistic": "mean", "level": "",
                          "value": [2.0, 2.0], "planted": [True, True]})
    return pd.DataFrame(rows), truth


def test_summary_arithmetic_on_a_known_table():
    """Bias, RMSE, coverage with its Wilson interval, SE ratio, rejection and failures on hand-made numbers."""
    results, truth = _synthetic()
    s = validation.summary(results, truth).set_index("survey")
    r = s.loc["residents"]
    assert r["replications"] == 4 and r["failures"] == 1
    assert r["bias"] == pytest.approx(0.5)
    assert r["rel_bias"] == pytest.approx(0.25)
    assert r["rmse"] == pytest.approx(np.sqrt((1 + 0 + 1 + 4) / 4))
    sd = np.std([1, 2, 3, 4], ddof=1)
    assert r["sd"] == pytest.approx(sd) and r["se_ratio"] == pytest.approx(1 / sd)
    assert r["bias_sd"] == pytest.approx(0.5 / sd) and r["bias_mcse"] == pytest.approx(sd / 2)
    assert r["coverage"] == pytest.approx(0.75)
    z = 1.959963984540054
    centre = (0.75 + z ** 2 / 8) / (1 + z ** 2 / 4)
    half = z * np.sqrt(0.75 * 0.25 / 4 + z ** 2 / 64) / (1 + z ** 2 / 4)
    assert (r["coverage_low"], r["coverage_high"]) == pytest.approx((centre - half, centre + half))
    assert np.isnan(r["rejection"])
    d = s.loc[compare.DIFFERENCE]
    assert d["rejection"] == pytest.approx(0.5) and d["planted"]
    pooled = validation.by_estimator(validation.summary(results, truth)).set_index("survey")
    assert pooled.loc[compare.DIFFERENCE, "power"] == pytest.approx(0.5)
    assert np.isnan(pooled.loc[compare.DIFFERENCE, "rejection"])


def test_a_failed_difference_is_not_counted_as_a_test_that_did_not_reject():
    """Trial K (a mutation survived): a replication whose difference failed (estimate and p missing) is a failure,
    not a test that kept the null; the rejection rate stays 2 of the 4 tests made (by hand)."""
    results, truth = _synthetic()
    failed = results.loc[(results["survey"] == compare.DIFFERENCE) & (results["replication"] == 0)].assign(
        replication=5, estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, p=np.nan, error="calage impossible")
    d = validation.summary(pd.concat([results, failed], ignore_index=True), truth).set_index("survey").loc[
        compare.DIFFERENCE]
    assert d["failures"] == 1 and d["replications"] == 4
    assert d["rejection"] == pytest.approx(0.5)


def test_a_signed_score_has_no_relative_bias():
    """The net promoter score, like a difference, lives on a signed scale whose true value can be near 0: its bias is
    judged in standard deviations, and a bias relative to it is not given (the same bias as a mean's)."""
    results, truth = _synthetic()
    nps = validation.summary(results.assign(statistic="nps_score"), truth.assign(statistic="nps_score"))
    mean = validation.summary(results, truth)
    assert nps["rel_bias"].isna().all() and mean["rel_bias"].notna().all()
    assert nps["bias_sd"].to_numpy() == pytest.approx(mean["bias_sd"].to_numpy())


def test_the_conclusion_says_when_weighting_without_calibration_biases_more_than_none():
    """Report 08 gave the unweighted estimator's worst bias (2,0 standard deviations) in its conclusion and the
    uncalibrated estimators' worst (2,2, after the non-response correction) under figure 2, without a word on why they
    differ: the conclusion now says when the design weights or the non-response correction leave a larger bias than
    no weighting at all, with that bias (hand-made summary: unweighted shifted by 0.3, after non-response by 0.9, the
    SD of the estimates √(5/3)), and says nothing when they do not. Paragraphs: bias and coverage, tests,
    unweighted, verdict."""
    from portrait.study import codebook

    results, truth = _synthetic()
    cb = codebook.load("config/codebook.yaml")

    def conclusion(nonresponse_shift: float) -> str:
        shifts = {"unweighted": 0.3, "design": 0.0, "nonresponse": nonresponse_shift, "raking": 0.0, "logit": 0.0}
        parts = [results.assign(estimator=e, estimate=results["estimate"] + s, ci_low=results["ci_low"] + s,
                                ci_high=results["ci_high"] + s) for e, s in shifts.items()]
        return validation.conclusion_fr(validation.summary(pd.concat(parts), truth), cb)

    sd = np.std([1, 2, 3, 4], ddof=1)
    worse = conclusion(0.9)
    assert fmt.number((0.5 + 0.9) / sd, 2) == "1,08"       # to two decimals, as the tables of report 08
    assert ("la correction de la non-réponse ne retire pas ce biais chez les habitants : après elle, le pire biais y "
            "atteint 1,08 écart type, davantage que sans pondération") in worse
    assert f"jusqu'à **{fmt.number((0.5 + 0.3) / sd, 2)} écart type**" in worse
    assert "davantage que sans pondération" not in conclusion(0.1)
    # verdict; bias; coverage (linearised); unweighted (no differences here, so no paragraph on tests)
    assert worse.count("\n\n") == 3 and worse.split("\n\n")[0].startswith("**Cette version courte")


def test_a_quantity_agrees_with_its_number_as_written():
    """French: the unit is singular below 2, as the number is printed (1,99 → singular; 1,996 printed 2,00 → plural)."""
    assert fmt.quantity(1.99, 2, "écart type", "écarts types") == "1,99 écart type"
    assert fmt.quantity(1.996, 2, "écart type", "écarts types") == "2,00 écarts types"
    assert fmt.quantity(-2.2, 1, "point") == "\u22122,2 points"


def test_expected_outside_is_about_five_percent_for_many_replications():
    """With many replications, a true 95 % coverage leaves the Monte Carlo interval about 5 % of the time."""
    assert validation.expected_outside(1000) == pytest.approx(0.05, abs=0.015)
    assert 0 < validation.expected_outside(10) < 0.2


def test_with_the_band_a_true_coverage_is_put_in_question_as_often_as_the_normal_tails_say():
    """A statistic is in question when its coverage is outside [94 %, 96 %] as well: with 5,000 replications a true 95 %
    does that with probability 2 Φ(−0.01 / √(0.95 · 0.05 / 5000)) ≈ 0.12 % (normal approximation, closed form); with 40
    the band binds no more than the interval (every coverage whose interval excludes 95 % is outside the band)."""
    from scipy import stats

    closed = 2 * stats.norm.cdf(-0.01 / np.sqrt(0.95 * 0.05 / 5000))
    assert validation.expected_outside(5000, band=validation.COVERAGE_BAND) == pytest.approx(closed, rel=0.35)
    assert validation.expected_outside(40, band=validation.COVERAGE_BAND) == validation.expected_outside(40)


def test_a_shortfall_inside_the_band_is_not_a_verdict_but_one_beyond_it_is():
    """The 5,000-replication run of the twenty-fifth session found intervals on the image mean covering 94.0–94.3 %:
    significantly below 95 % (Monte Carlo intervals about ±0.6 points) but inside issue 15's acceptance band, and an
    independent run with another seed gave 94.7–95.3 %. Report 08 called the estimates « pas fiables » for it. Hand-made
    summaries of 11 statistics at 5,000 replications: 3 at 94.3 % are counted as excluding 95 % but not put in question;
    3 at 93.5 % are, beyond the rule's tolerance (binomial 95th percentile plus one: 1)."""
    from portrait.study import codebook

    cb = codebook.load("config/codebook.yaml")

    def summary(low: float) -> pd.DataFrame:
        rows = []
        for i in range(11):
            cov = low if i < 3 else 0.95
            lo, hi = validation.wilson(cov * 5000, 5000)
            for est in validation.ESTIMATORS:
                rows.append({"survey": "residents", "item": f"s{i}", "statistic": "mean", "level": "", "estimator": est,
                             "variance": "linearisation", "planted": False, "replications": 5000, "failures": 0,
                             "truth": 1.0, "mean": 1.0, "bias": 0.0, "bias_mcse": 0.01, "rel_bias": 0.0, "bias_sd": 0.0,
                             "sd": 0.1, "rmse": 0.1, "mean_se": 0.1, "se_ratio": 1.0, "coverage": cov,
                             "coverage_low": float(lo), "coverage_high": float(hi), "rejection": np.nan,
                             "rejection_low": np.nan, "rejection_high": np.nan})
        return pd.DataFrame(rows)

    inside, beyond = validation.acceptance(summary(0.943)), validation.acceptance(summary(0.935))
    for a, outside in ((inside, 0), (beyond, 3)):
        per = a["linearisation"]["per_estimator"]["raking"]
        assert per["excluding"] == 3 and per["outside"] == outside and per["limit"] == 1
    assert inside["linearisation"]["ok"] and not beyond["linearisation"]["ok"]
    # over-coverage counts as under-coverage does (trial K: a mutation counting only shortfalls survived)
    above, far_above = validation.acceptance(summary(0.957)), validation.acceptance(summary(0.965))
    for a, outside in ((above, 0), (far_above, 3)):
        per = a["linearisation"]["per_estimator"]["raking"]
        assert per["excluding"] == 3 and per["outside"] == outside
    assert above["linearisation"]["ok"] and not far_above["linearisation"]["ok"]
    text = validation.conclusion_fr(summary(0.943), cb)
    assert "exclut 95 % pour 3 (raking ratio) et 3 (logit borné) ; aucune n'a aussi une couverture hors de la plage " \
        "de tolérance (de 94 % à 96 %), seul critère qui met une statistique en cause." in text
    assert "ne sont pas fiables" not in text and "Un relecteur peut se fier" in text
    assert "Une réserve" not in text and "réserve près" not in text
    # trial AE: one statistic outside the band, tolerated by the rule, is named in the verdict itself
    one = summary(0.95)
    one.loc[one["item"] == "s0", ["coverage", "coverage_low", "coverage_high"]] = [0.938, 0.931, 0.944]
    tolerated = validation.conclusion_fr(one, cb)
    verdict = tolerated.split("\n\n")[0]
    assert "se fier aux estimations calées et à leurs intervalles de confiance, à une réserve près**." in verdict
    assert "Un relecteur peut se fier" in verdict and "Une réserve : « s0 », habitants, sort de la plage de tolérance " \
        "des intervalles linéarisés (de 94 % à 96 % ; détail ci-dessous)" in verdict and "n'est pas tenu" in verdict
    failed = validation.conclusion_fr(summary(0.935), cb)
    assert "ne sont pas fiables" in failed
    # trial Z: the statistics in question are named, each once, with their coverage (both estimators alike here)
    for i in range(3):
        assert failed.count(f"« s{i} », habitants (93,5 %, intervalle Monte-Carlo de 92,8 % à 94,2 % ;") == 1
    assert "« s3 »" not in failed


def test_the_reserve_does_not_name_again_the_target_the_verdict_just_named():
    """Trial AG: « Avec pour cible la super-population (…), leurs intervalles … Une réserve : avec pour cible la
    super-population (…), … » said the target twice in a row; the reserve now says « sous cette même cible »."""
    from portrait.study.validation.conclusion import _reserve

    row = {"survey": "residents", "item": "s0", "statistic": "mean", "level": "", "planted": True, "rejection": np.nan}
    c = {"superpopulation": {"per_estimator": {"raking": {"in_question": [row]}}}}
    again = _reserve(c, {}, named="superpopulation")
    assert again.startswith(" Une réserve : sous cette même cible, « s0 », habitants, sort de la plage")
    first = _reserve(c, {})
    assert first.startswith(" Une réserve : avec pour cible la super-population") and "même cible" not in first
    # a review: with both targets in the reserve, « même » must not follow the other target's statistics
    both = _reserve({"superpopulation": c["superpopulation"], "finite": c["superpopulation"]}, {}, named="finite")
    assert "même cible" not in both and both.count("avec pour cible la") == 2


def test_bad_parameters_are_named(setup):
    """Wrong numbers of replications or workers raise a ParameterError naming them."""
    from portrait.pipeline.errors import ParameterError

    with pytest.raises(ParameterError, match="n_replications"):
        validation.run(setup, 0)
    with pytest.raises(ParameterError, match="workers"):
        validation.run(setup, 1, workers=0)
    with pytest.raises(ParameterError, match="'target' must be one of superpopulation, finite"):
        setup.for_target("finite-population")


# ------------------------------------------------------------------------------- the finite-population target


@pytest.fixture(scope="module")
def finite_setup(setup):
    return setup.for_target("finite")


def test_the_finite_target_has_its_own_truth_and_keeps_the_planted_flags(setup, finite_setup):
    """The finite truth is the fixed population's: close to the model's (|gap| < 0.12 on every statistic, some
    few SDs of a population mean of 6,000 visitors) but not equal; planted differences are the model's."""
    assert setup.target == "superpopulation" and finite_setup.target == "finite"
    assert finite_setup.for_target("superpopulation").truth.equals(setup.truth)
    a, b = setup.truth, finite_setup.truth
    pd.testing.assert_frame_equal(a.drop(columns="value"), b.drop(columns="value"))
    gap = (b["value"] - a["value"]).abs()
    assert (gap < 0.12).all() and (gap > 0).all()


def test_the_finite_truth_computed_once_is_read_back_checked(setup, finite_setup):
    """08 reads the truth `make` wrote once (data/processed/finite_truth.parquet) instead of streaming the
    frames again: the same table gives the same setup; another seed or a missing statistic is refused, naming
    the file (the chain's full run checks the file's values through the committed processed summary)."""
    table = finite_setup.truth[["survey", "item", "statistic", "level", "value"]].assign(seed=setup.seed)
    table = table[validation.FINITE_COLUMNS]
    again = setup.for_target("finite", finite_values=table, source="data/processed/finite_truth.parquet")
    pd.testing.assert_frame_equal(again.truth, finite_setup.truth, check_exact=True)
    with pytest.raises(ParameterError, match=r"finite_truth.parquet: the finite population was fixed with seed \[5\], "
                                             r"the validation runs with seed 2017"):
        setup.for_target("finite", finite_values=table.assign(seed=5), source="data/processed/finite_truth.parquet")
    with pytest.raises(ParameterError, match=r"finite_truth.parquet: no finite-population value for 1 key statistic"):
        setup.for_target("finite", finite_values=table.iloc[1:], source="data/processed/finite_truth.parquet")


def test_the_finite_truth_command_names_what_is_missing_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """`python -m portrait.study.validation.targets OUT` without its configuration: exit 1, the missing file or
    parameter named, no output written."""
    from portrait.pipeline import paths
    from portrait.study import validation

    monkeypatch.setattr(paths, "CONFIG", tmp_path)
    out = tmp_path / "finite_truth.parquet"
    assert validation.targets.main([str(out)]) == 1
    assert "study.yaml does not exist" in capsys.readouterr().err and not out.exists()
    (tmp_path / "study.yaml").write_text("seed: 1\n", encoding="utf-8")
    (tmp_path / "08_validation.yaml").write_text("fieldwork_settings: config/nowhere.yaml\n", encoding="utf-8")
    assert validation.targets.main([str(out)]) == 1
    assert "config/nowhere.yaml does not exist" in capsys.readouterr().err and not out.exists()
    (tmp_path / "08_validation.yaml").write_text("fieldwork_settings: config/study.yaml\n", encoding="utf-8")
    assert validation.targets.main([str(out)]) == 1                    # a settings file without the codebook
    assert "parameter 'codebook_file' is missing" in capsys.readouterr().err and not out.exists()


def test_without_a_finite_target_the_finite_truth_is_not_computed(tmp_path, monkeypatch, capsys):
    """Notebook 08 run on the super-population target only: the 4.8 million residents are not streamed; make
    gets an empty table with the columns of the truth, and the message says why."""
    from portrait.pipeline import paths
    from portrait.study import validation

    monkeypatch.setattr(paths, "CONFIG", tmp_path)
    monkeypatch.setattr(validation.targets, "finite_population_truth",
                        lambda **kw: pytest.fail("the finite population was computed"))
    (tmp_path / "study.yaml").write_text("seed: 1\n", encoding="utf-8")
    (tmp_path / "08_validation.yaml").write_text("fieldwork_settings: config/nowhere.yaml\ntargets: [superpopulation]\n",
                                                 encoding="utf-8")
    out = tmp_path / "finite_truth.parquet"
    assert validation.targets.main([str(out)]) == 0
    assert "not computed, notebook 08's targets (superpopulation) have no finite population" in capsys.readouterr().out
    table = pd.read_parquet(out)
    assert table.empty and list(table.columns) == validation.targets.FINITE_COLUMNS


def test_a_finite_replication_reads_fixed_answers_and_redraws_the_samples(setup, finite_setup, seeds):
    """Finite-target replications are deterministic, carry their target, and differ from the super-population
    replication with the same seed only through the population (same samples, same response draws)."""
    f0 = validation.replicate(finite_setup, seeds[0])
    pd.testing.assert_frame_equal(f0, validation.replicate(finite_setup, seeds[0]))
    assert (f0["target"] == "finite").all()
    s0 = validation.replicate(setup, seeds[0])
    assert (s0["target"] == "superpopulation").all()
    pd.testing.assert_frame_equal(f0[["survey", "item", "estimator"]], s0[["survey", "item", "estimator"]])
    ok = f0["estimate"].notna() & s0["estimate"].notna()
    assert (f0.loc[ok, "estimate"] != s0.loc[ok, "estimate"]).mean() > 0.9
    both = pd.concat([f0, s0], ignore_index=True)
    truth = pd.concat([finite_setup.truth.assign(target="finite"), setup.truth.assign(target="superpopulation")])
    together = validation.summary(both, truth)
    assert list(pd.unique(together["target"])) == ["superpopulation", "finite"]
    alone = validation.summary(f0, finite_setup.truth)
    pd.testing.assert_frame_equal(together.loc[together["target"] == "finite"].reset_index(drop=True), alone)
    with pytest.raises(ParameterError, match="several targets"):
        validation.summary(both, setup.truth)


def test_the_visitor_frame_coded_once_gives_the_replications_of_each_samples_own_coding(setup, finite_setup, seeds):
    """A replication reading the visitor sample's attributes and finite-population keys at its rows of the frame
    (``visitor_codes``, made once by the setup) equals the replication that maps the sample's own texts and looks
    its keys up by ``person_id``, for both targets."""
    from dataclasses import replace
    assert setup.visitor_codes is not None and setup.visitor_codes.unique_ids
    for s in (setup, finite_setup):
        pd.testing.assert_frame_equal(validation.replicate(s, seeds[1]),
                                      validation.replicate(replace(s, visitor_codes=None), seeds[1]), check_exact=True)


def test_a_replication_draws_only_the_answers_it_reads_and_gives_the_full_simulations_numbers(setup, finite_setup,
                                                                                                 seeds, monkeypatch):
    """The items no result reads (open words, image items beyond the key statistics, attachment…) are not drawn: the
    replication equals, value for value, the one that draws every answer, for both targets, with bootstrap rows;
    the stand-ins keep who answered, which decides who responded."""
    read = setup.answers_read()
    assert set(setup.statistics["item"]) | {"forces", "faiblesses"} <= read and not {"mots", "img_culture"} & read
    every = frozenset(v.name for g in fieldwork.GROUPS for v in setup.codebook.variables_for(g))
    for s in (setup, finite_setup):
        short = validation.replicate(s, seeds[2], bootstrap=True, replicates=4)
        with monkeypatch.context() as m:
            m.setattr(validation.Validation, "answers_read", lambda self: every)
            full = validation.replicate(s, seeds[2], bootstrap=True, replicates=4)
        pd.testing.assert_frame_equal(short, full, check_exact=True)


def test_a_survey_that_cannot_be_calibrated_gives_nan_rows_with_its_error(setup, seeds, first, monkeypatch):
    """A CalibrationError in one survey's recipe leaves that survey and the differences NaN, named, and the rest."""
    from portrait.study import recipes
    from portrait.pipeline.errors import CalibrationError

    def infeasible(*args, **kwargs):
        raise CalibrationError("margin 'zone' level 'both': no respondent")

    monkeypatch.setattr(recipes, "weight_visitors", infeasible)
    out = validation.replicate(setup, seeds[0])
    assert len(out) == len(first)
    bad = out["survey"] != "residents"
    assert out.loc[~bad, "error"].eq("").all()
    assert out.loc[bad, "estimate"].isna().all() and out.loc[bad, "error"].str.contains("zone").all()
    pd.testing.assert_frame_equal(out.loc[~bad].reset_index(drop=True), first.loc[~bad].reset_index(drop=True))


def test_residents_that_cannot_be_calibrated_keep_their_two_stage_rows_as_failures(setup, seeds, first, monkeypatch):
    """A failed resident recipe gives the same rows as a successful one, two-stage variance included, all NaN and
    named: the summary counts them as failures instead of losing them."""
    from portrait.study import recipes
    from portrait.pipeline.errors import CalibrationError

    def infeasible(*args, **kwargs):
        raise CalibrationError("margin 'age' level '75+': no respondent")

    monkeypatch.setattr(recipes, "weight_residents", infeasible)
    out = validation.replicate(setup, seeds[0])
    key = ["survey", "item", "statistic", "level", "estimator", "variance"]
    assert sorted(map(tuple, out[key].astype(str).to_numpy())) == sorted(map(tuple, first[key].astype(str).to_numpy()))
    bad = (out["survey"] != "visitors") & ~out["statistic"].isin(validation.PROFILE_STATISTICS)
    assert out.loc[bad, "estimate"].isna().all() and out.loc[bad, "error"].str.contains("age").all()
    assert (out.loc[bad, "variance"] == validation.TWO_STAGE).sum() == 2 * len(validation.KEY_STATISTICS) * 2


@pytest.mark.parametrize("group, bootstrap", [("visitors", False), ("visitors", True), ("residents", False)])
def test_a_trimming_that_cannot_be_met_fails_the_calibrated_estimator_only(setup, seeds, first, group, bootstrap):
    """Trimming bounds no calibrated weights can meet (0.99–1.01 times the median) fail that survey's raking
    estimator, which they trim, and the tests on its weights; every other estimator, the other survey and the
    differences of the other estimators are those of the same replication without trimming, value for value (they
    lost every estimator before). With bootstrap variances too, the replicates re-running the stages before it; for
    the residents, their two-stage variance of the bounded-logit estimator too (a final review)."""
    key = f"{group[:-1] if group == 'visitors' else 'resident'}_weighting"
    trimmed = dataclasses.replace(setup, **{key: dataclasses.replace(getattr(setup, key), trimming=(0.99, 1.01))})
    kw = {"bootstrap": True, "replicates": 3} if bootstrap else {}
    out = validation.replicate(trimmed, seeds[0], **kw)
    ref = validation.replicate(setup, seeds[0], **kw) if bootstrap else first
    assert len(out) == len(ref)
    other = "residents" if group == "visitors" else "visitors"
    hit = (out["survey"] != other) & (out["estimator"].eq("raking")
                                      | out["statistic"].isin(validation.PROFILE_STATISTICS))
    assert out.loc[hit, "estimate"].isna().all() and out.loc[hit, "error"].str.contains("'trimming'").all()
    assert out.loc[~hit, "error"].eq("").all() and out.loc[~hit, "estimate"].notna().all()
    pd.testing.assert_frame_equal(out.loc[~hit].reset_index(drop=True), ref.loc[~hit].reset_index(drop=True))


def test_single_threaded_blas_limits_and_restores_the_blas_threads():
    """Inside the context every BLAS pool threadpoolctl sees runs one thread; the setting is restored after."""
    from threadpoolctl import threadpool_info

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    with validation.single_threaded_blas():
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_widening_is_counted_once_per_replicate_and_survey():
    """Counts by hand: two bootstrap replications; the logit estimator widened 3 replicates of the
    residents in the first, 1 of the visitors in the second; items repeat the count, differences are
    not counted again."""
    rows = []
    for rep, res, vis in ((0, 3, 0), (1, 0, 1)):
        for survey, k in (("residents", res), ("visitors", vis), (compare.DIFFERENCE, res + vis)):
            for item in ("a", "b"):
                rows.append({"replication": rep, "survey": survey, "item": item, "estimator": "logit",
                             "variance": "bootstrap", "adjusted": float(k), "error": ""})
    results = pd.DataFrame(rows)
    w = validation.widened_replicates(results)
    assert w["widened"].tolist() == [3, 1] and w["replications"].tolist() == [2, 2]
    text = validation.widening_sentence_fr(results, 50, (0.3, 3.0))
    assert "**4 des 200 répliques** (habitants : 3 ; clients du territoire : 1)" in text and "[0,3\u00a0; 3]" in text
    assert "n'ont pas pu être tenues dans **4 des 200" in text
    none = validation.widening_sentence_fr(results.assign(adjusted=0.0), 50, (0.3, 3.0))
    assert "tenues dans chacune des 200 répliques" in none
    assert "(2 réplications × 50 répliques × 2 enquêtes)" in none
    # a trial: a weighting failed in a replication, and the sentence said « 2 réplications × 50 répliques × 2
    # enquêtes » beside « 150 répliques »; the count is of the couples whose weighting succeeded
    failed = (results["replication"] == 1) & (results["survey"] == "visitors")
    some = validation.widening_sentence_fr(results.assign(adjusted=0.0, error=np.where(failed, "visitors: x", "")), 50,
                                           (0.3, 3.0))
    assert "(3 couples réplication × enquête dont la pondération a abouti × 50 répliques)" in some
    assert "chacune des 150 répliques" in some


def test_figure_findings_of_the_validation_by_hand():
    """The captions of the validation figures state the numbers of a small pooled table, read by hand."""
    pooled = pd.DataFrame({
        "survey": ["residents", "residents", "visitors", "visitors - residents", "residents"],
        "estimator": ["raking", "unweighted", "logit", "raking", "raking"],
        "variance": ["linearisation", "linearisation", "linearisation", "linearisation", "bootstrap"],
        "coverage": [0.94, 0.61, 0.952, 0.948, 0.10], "max_abs_bias_sd": [0.12, 2.31, 0.08, 0.05, 9.0],
        "rejection": [np.nan, np.nan, np.nan, 0.046, np.nan], "power": [np.nan, np.nan, np.nan, 0.871, np.nan]})
    assert validation.coverage_finding(pooled) == (
        "en variance linéarisée, les estimateurs calés couvrent de 94,0 % à 95,2 % du temps selon l'enquête ou la différence entre les deux ; sans "
        "calage (toujours en variance linéarisée), la couverture d'ensemble d'une enquête descend jusqu'à 61,0 % (non pondéré, "
        "habitants)")
    assert validation.bias_finding(pooled) == ("le pire biais d'un estimateur calé est de 0,12 écart type ; sans calage, "
                                               "il atteint 2,31 écarts types (non pondéré, habitants)")
    assert validation.tests_finding(pooled) == (
        "avec le calage (raking ratio), le test conclut à tort 4,6 % du temps là où la vraie différence est nulle "
        "(5 % attendus) et détecte les vraies différences non nulles 87,1 % du temps")
    # trial Z's reading of 5,5 % as 5 %: the caption gives the size's Monte Carlo interval when it has one
    assert "(5 % attendus, intervalle Monte-Carlo de 4,1 % à 5,2 %)" in validation.tests_finding(
        pooled, size_interval=(0.041, 0.052))


def test_profile_tests_of_a_replication(setup, first):
    """Each multiple-response item is tested three times per replication: between two random halves of each
    survey (every respondent to the question in one half or the other) and between the two surveys."""
    p = first.loc[first["statistic"].isin(validation.PROFILE_STATISTICS)]
    assert len(p) == 3 * len(validation.PROFILE_ITEMS) and (p["error"] == "").all()
    assert p["p"].between(0, 1).all() and (p["estimate"] > 0).all()
    # ν is at most the number of options and at least 1 (tr(Δ)² ≤ k tr(Δ²))
    assert (p["df"] >= 1).all() and (p["df"] <= 12).all()
    key = first.loc[first["statistic"] == "share"]
    for item in validation.PROFILE_ITEMS:
        q = p.loc[p["item"] == item].set_index("survey")
        assert q.loc["residents", "n"] + q.loc["visitors", "n"] == q.loc[compare.DIFFERENCE, "n"]
        assert q.loc[compare.DIFFERENCE, "statistic"] == "profile"
    # the respondents to "forces" in each survey are the n of its share estimates
    n_forces = key.loc[(key["item"] == "forces") & (key["estimator"] == "raking")].groupby("survey")["n"].first()
    halves = p.loc[(p["item"] == "forces") & (p["statistic"] == "profile_halves")].set_index("survey")["n"]
    assert halves["residents"] == n_forces["residents"] and halves["visitors"] == n_forces["visitors"]


def test_profile_tests_are_the_tests_of_the_option_columns(setup, seeds, monkeypatch):
    """The tests of a replication read each survey's options once (survey.indicator_test): the same numbers as
    survey.multiple_response_test of the option columns, between the halves of a column of the coin's values and
    between the surveys of the stacked designs with their data, as the replication tested them before (the surveys'
    comparison, each on its own design, within rounding of the stack's covariance)."""
    import copy
    from dataclasses import replace

    from portrait import survey

    real, seen = validation.profile_test_columns, {}

    def spy(codebook, final, coins):
        seen["args"] = (final, {g: copy.deepcopy(c) for g, c in coins.items()})
        return real(codebook, final, coins)

    monkeypatch.setattr(validation.replications, "profile_test_columns", spy)
    got = validation.replicate(setup, seeds[1])
    got = got.loc[got["statistic"].isin(validation.PROFILE_STATISTICS)].set_index(["item", "survey"])
    final, coins = seen["args"]
    designs = {g: replace(d, data=d.data.assign(_moitie=coins[g].integers(1, 3, size=len(d.weights))))
               for g, d in final.items()}
    stacked = survey.stack({g: replace(d, replicate_factors=None, replicate_matrix=None) for g, d in designs.items()})
    for item in validation.PROFILE_ITEMS:
        columns = list(setup.codebook.variable(item).columns)
        for name, d, by, a, b in [*((g, designs[g], "_moitie", "1", "2") for g in fieldwork.GROUPS),
                                  (compare.DIFFERENCE, stacked, "groupe", "residents", "visitors")]:
            t = survey.multiple_response_test(d, columns, by, a, b)
            row = got.loc[(item, name)]
            assert (row["estimate"], row["n"]) == (t.X2, t.n_a + t.n_b)
            if name == compare.DIFFERENCE:     # each survey on its own design: the stack's covariance, summed in
                assert row["df"] == pytest.approx(t.df_chisq, rel=1e-12, abs=0)    # another order
                assert row["p"] == pytest.approx(t.p_chisq, rel=1e-10, abs=0)
            else:
                assert (row["df"], row["p"]) == (t.df_chisq, t.p_chisq)


def test_profile_test_columns_are_the_columns_of_the_tests_table(setup, seeds, monkeypatch):
    """The columns a replication hands to its result rows (profile_test_columns) are those of profile_tests' table,
    dtype for dtype, for surveys weighted and for a survey whose weighting failed."""
    import copy

    real, seen = validation.profile_test_columns, {}

    def spy(codebook, final, coins):
        seen["args"] = (final, {g: copy.deepcopy(c) for g, c in coins.items()})
        return real(codebook, final, coins)

    monkeypatch.setattr(validation.replications, "profile_test_columns", spy)
    validation.replicate(setup, seeds[2])
    final, coins = seen["args"]
    for given in (final, {**final, "visitors": CalibrationError("no solution")}):
        table = validation.profile_tests(setup.codebook, given, copy.deepcopy(coins))
        columns = validation.profile_test_columns(setup.codebook, given, copy.deepcopy(coins))
        assert list(columns) == list(table.columns)
        pd.testing.assert_frame_equal(pd.DataFrame(columns), table, check_exact=True)
        assert all(v.dtype in (np.dtype(object), np.dtype(float)) for v in columns.values())


def test_profile_summary_arithmetic_on_a_known_table():
    """Rejection rates counted by hand, Wilson intervals from statsmodels, failures counted, planted flags."""
    from statsmodels.stats.proportion import proportion_confint

    results = pd.DataFrame({
        "target": "superpopulation",
        "survey": ["residents"] * 4 + ["visitors - residents"] * 4,
        "item": "forces", "statistic": ["profile_halves"] * 4 + ["profile"] * 4,
        "p": [0.01, 0.5, 0.049, np.nan, 1e-6, 0.2, 0.001, 0.03], "df": [10.0, 11.0, 12.0, np.nan, 9, 9, 9, 9]})
    s = validation.profile_summary(results).set_index("statistic")
    assert s.loc["profile_halves", "replications"] == 3 and s.loc["profile_halves", "failures"] == 1
    assert s.loc["profile_halves", "rejection"] == pytest.approx(2 / 3)
    assert s.loc["profile", "rejection"] == pytest.approx(3 / 4)
    assert s.loc["profile_halves", "mean_df"] == pytest.approx(11.0)
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert (s.loc["profile_halves", "rejection_low"], s.loc["profile_halves", "rejection_high"]) == \
        pytest.approx((low, high), rel=1e-12)
    assert not s.loc["profile_halves", "planted"] and s.loc["profile", "planted"]
    a = validation.profile_acceptance(s.reset_index())
    assert a["tests"] == 3 and a["size"] == pytest.approx(2 / 3) and not a["size_ok"] and a["power_min"] == 0.75
    assert validation.profile_finding(s.reset_index()).replace("\u00a0", " ") == (
        "entre deux moitiés tirées au hasard, le test des profils conclut à tort 66,7 % du temps (3 tests, intervalle "
        "Monte-Carlo de 20,8 % à 93,9 % ; 5 % attendus, nettement plus) ; le test détecte la différence de profil entre "
        "habitants et clients 75,0 % du temps pour les forces")


def test_profile_finding_names_the_groups_of_null_tests_whose_interval_excludes_five_percent():
    """Two groups of tests between halves: 40 tests with 2 rejections (compatible) and 40 with 12 (interval above
    5 %): the sentence says 1 of 2 and how many chance alone would put outside (binomial sum over the Wilson
    intervals of statsmodels, computed here)."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    rows = []
    for item, k in (("forces", 2), ("faiblesses", 12)):
        rows += [{"survey": "residents", "item": item, "statistic": "profile_halves", "p": 0.01 if i < k else 0.5,
                  "df": 9.0} for i in range(40)]
    s = validation.profile_summary(pd.DataFrame(rows))
    lo, hi = proportion_confint(np.arange(41), 40, alpha=0.05, method="wilson")
    chance = 2 * stats.binom.pmf(np.arange(41), 40, 0.05)[(lo > 0.05) | (hi < 0.05)].sum()
    text = validation.profile_finding(s).replace("\u00a0", " ")
    assert ("pris un par un, 1 des 2 groupes de tests entre moitiés (par enquête et question) a un intervalle "
            f"Monte-Carlo qui exclut 5 %, quand le hasard seul en ferait sortir {chance:.1f}".replace(".", ",")) in text
    # the verdict: one group or more outside by chance, each group independently with probability chance / 2
    # (trial U: a Poisson approximation read 17 % where the exact count gives 18 %)
    assert f" : un tel nombre arrive par hasard {100 * (1 - (1 - chance / 2) ** 2):.0f} % du temps" in text


def test_truth_table_shows_shares_in_percent_nps_in_points_and_means_as_they_are():
    """Hand-made truths: a share of 0.345 reads 34,50 with « (%) » in its label, an NPS of −0.2525 reads
    −25,25 (its label already says points), a mean of 6.84 stays 6,84; a positive difference reads « +1,50 »."""
    truth = pd.DataFrame({
        "survey": ["residents", "visitors", validation.DIFFERENCE_NAME] * 3,
        "item": ["forces"] * 3 + ["recommandation"] * 3 + ["image_globale"] * 3,
        "statistic": ["share"] * 3 + ["nps_score"] * 3 + ["mean"] * 3,
        "level": ["5"] * 3 + [""] * 6,
        "value": [0.345, 0.36, 0.015, -0.2525, -0.1, 0.1525, 6.84, 6.71, -0.13],
        "planted": [True] * 3 + [True] * 3 + [False] * 3})
    labels = {("forces", "share", "5"): "Force citée : la mer", ("recommandation", "nps_score", ""): "NPS (points)",
              ("image_globale", "mean", ""): "Image (0 à 10)"}
    t = validation.truth_table_fr(truth, labels)
    assert list(t.index) == ["Force citée : la mer (%)", "NPS (points)", "Image (0 à 10)"]
    np.testing.assert_allclose(t.iloc[:, :2].to_numpy(float), [[34.5, 36.0], [-25.25, -10.0], [6.84, 6.71]], rtol=1e-12)
    # the difference clients − habitants carries its sign, as every gap of the reports
    assert list(t.iloc[:, 2]) == ["+1,50", "+15,25", "\u22120,13"]
    assert t.columns[2] == "Différence clients − habitants (en points pour les parts)"    # a gap of shares is in points
    assert list(t["Vraie différence non nulle"]) == ["oui", "oui", "non"]
    # trial AE: the fixed finite population's values beside the model's, its « null » difference not exactly 0
    finite = truth.assign(value=[0.344, 0.362, 0.018, -0.25, -0.1, 0.15, 6.84, 6.85, 0.0108])
    both = validation.truth_table_fr(truth, labels, finite)
    assert list(both.columns.get_level_values(0).unique()) == [
        "Super-population (espérance du modèle)", "Population finie fixée", "Modèle"]
    fixed = both["Population finie fixée"]
    np.testing.assert_allclose(fixed.iloc[:, :2].to_numpy(float), [[34.4, 36.2], [-25.0, -10.0], [6.84, 6.85]],
                               rtol=1e-12)
    assert list(fixed.iloc[:, 2]) == ["+1,80", "+15,00", "+0,01"]
    assert list(both[("Modèle", "Vraie différence non nulle")]) == ["oui", "oui", "non"]


def test_the_detail_table_signs_the_true_differences_only():
    """Hand-made summary: the residents' true mean 6.757 reads 6,76, the true difference clients − habitants of the
    same score 0.54 reads « +0,54 » (as in the truth table), a zero difference « 0,00 »."""
    from portrait.study import codebook

    cb = codebook.load("config/codebook.yaml")
    rows = [("residents", "image_globale", "mean", "", 6.757), (validation.DIFFERENCE_NAME, "image_globale", "mean", "", 0.54),
            (validation.DIFFERENCE_NAME, "recommandation", "mean", "", 0.0),
            ("residents", "img_sure", "accord", "top2", 0.42), (validation.DIFFERENCE_NAME, "img_sure", "accord", "top2", 0.05)]
    summ = pd.DataFrame([{"survey": sv, "item": it, "statistic": st, "level": lv, "estimator": "raking",
                          "variance": "linearisation", "truth": t, "rmse": 0.1, "bias": 0.001, "rel_bias": 0.001, "bias_sd": 0.02,
                          "coverage": 0.95} for sv, it, st, lv, t in rows])
    t = validation.detail_table_fr(summ, cb)
    d = validation.detail_table_fr(summ, cb, differences=True)
    assert list(t[("", "valeur vraie")]) == ["6,76", "42,00"] and list(d[("", "valeur vraie")]) == ["+0,54", "0,00", "+5,00"]
    # a share is in %, the difference of two shares in points
    assert list(t.index)[1][1].endswith("(4 ou 5) (%)") and list(d.index)[2][1].endswith("(4 ou 5) (points)")


def test_the_detail_table_gives_the_bias_of_a_difference_in_points_never_relative():
    """A true gap of −1.65 points with a bias of −0.43 point made a « biais relatif » of 26 % in report 08, meaningless
    for a difference near 0: the differences' table has a « biais (points) » column (the bias of a difference of
    shares × 100, of a mean as it is) and no relative bias; the surveys' table keeps the relative bias, in %."""
    from portrait.study import codebook

    cb = codebook.load("config/codebook.yaml")
    rows = [("residents", "img_sure", "accord", "top2", 0.42, 0.0021, 0.005),
            (validation.DIFFERENCE_NAME, "img_sure", "accord", "top2", -0.0165, -0.0043, 0.2606),
            (validation.DIFFERENCE_NAME, "image_globale", "mean", "", 0.54, 0.012, 0.0222)]
    summ = pd.DataFrame([{"survey": sv, "item": it, "statistic": st, "level": lv, "estimator": "raking",
                          "variance": "linearisation", "truth": t, "bias": b, "rel_bias": r, "rmse": 0.1,
                          "bias_sd": 0.2, "coverage": 0.95} for sv, it, st, lv, t, b, r in rows])
    surveys, gaps = validation.detail_table_fr(summ, cb), validation.detail_table_fr(summ, cb, differences=True)
    metrics = set(gaps.columns.get_level_values(1))
    assert "biais (points)" in metrics and not any("relatif" in m for m in metrics)
    assert list(gaps[("Calage (raking ratio)", "biais (points)")]) == pytest.approx([-0.43, 0.01])
    assert list(surveys[("Calage (raking ratio)", "biais relatif (%)")]) == pytest.approx([0.5])
    assert set(surveys.index.get_level_values(0)) == {"Habitants"}


def test_pooled_coverage_interval_counts_replications_not_intervals():
    """The Monte Carlo interval of a coverage pooled over statistics treats the replications as the
    independent units. Closed form: when a replication covers all its statistics or none, the interval is
    Wilson's on R − 1 trials (shrunk by (z / t_{R−1})² for the degrees of freedom). Monte Carlo: with
    statistics correlated within replications (true coverage 95 %), the clustered interval covers 95 % in
    about 95 % of 1,000 simulated studies (tolerance ±2.5 points; Monte Carlo SE 0.7), where the naive
    interval (every interval independent) covers about 89 %."""
    from portrait.study.validation import monte_carlo as vs

    all_or_none = pd.DataFrame({"survey": "residents", "estimator": "raking", "variance": "linearisation",
                                "replication": range(40), "covered": [11] * 37 + [0] * 3, "intervals": 11})
    got = vs.clustered_wilson(all_or_none).iloc[0]
    from scipy import stats

    n_eff = 39 * (stats.norm.ppf(0.975) / stats.t.ppf(0.975, 39)) ** 2
    lo, hi = vs.wilson(37 / 40 * n_eff, n_eff)
    assert got["coverage_low"] == pytest.approx(lo, rel=1e-12) and got["coverage_high"] == pytest.approx(hi, rel=1e-12)

    # replications alike (each covers 10 of its 11 intervals): no spread between them, the design effect is floored
    # at 1 (trial K: without the floor the interval narrowed below the naive one), Wilson on all 440 intervals
    alike = all_or_none.assign(covered=10)
    got = vs.clustered_wilson(alike).iloc[0]
    n_eff = 440 * (stats.norm.ppf(0.975) / stats.t.ppf(0.975, 39)) ** 2
    lo, hi = vs.wilson(10 / 11 * n_eff, n_eff)
    assert got["deff"] == 1.0
    assert got["coverage_low"] == pytest.approx(lo, rel=1e-12) and got["coverage_high"] == pytest.approx(hi, rel=1e-12)

    rng = np.random.default_rng(7)
    studies, reps, stats_ = 1000, 60, 11
    # coverage indicators correlated within a replication: a shared normal draw shifts every statistic
    shared = rng.normal(size=(studies, reps, 1))
    own = rng.normal(size=(studies, reps, stats_))
    z = 0.4 * shared + np.sqrt(1 - 0.4 ** 2) * own
    covered = (z < 1.6448536269514722).sum(axis=2)          # P(z < 1.645) = 0.95 for every statistic
    per = pd.DataFrame({"survey": np.repeat(np.arange(studies), reps), "estimator": "raking",
                        "variance": "linearisation", "replication": np.tile(np.arange(reps), studies),
                        "covered": covered.ravel(), "intervals": stats_})
    ci = vs.clustered_wilson(per)
    hits = ((ci["coverage_low"] <= 0.95) & (0.95 <= ci["coverage_high"])).mean()
    naive_lo, naive_hi = vs.wilson(covered.sum(axis=1), reps * stats_)
    naive = ((naive_lo <= 0.95) & (0.95 <= naive_hi)).mean()
    assert abs(hits - 0.95) < 0.025 and naive < 0.91


def test_the_overview_gives_no_relative_bias_for_differences():
    """A difference clients − habitants can have a true value near 0, which makes its relative bias large and
    meaningless: its row shows the bias in standard deviations only; a survey's row shows both (the relative bias
    on the linearisation's row only, which holds every replication)."""
    rows = [(s, v) for s in ("residents", validation.DIFFERENCE_NAME) for v in ("linearisation", "bootstrap")]
    pooled = pd.DataFrame([{"survey": s, "estimator": "raking", "variance": v, "replications": 40,
                            "mean_abs_rel_bias": 0.01, "max_abs_rel_bias": 0.2614, "max_abs_bias_sd": 0.25,
                            "mean_se_ratio": 1.0, "coverage": 0.95, "coverage_low": 0.9, "coverage_high": 0.98,
                            "rejection": np.nan, "power": np.nan} for s, v in rows])
    t = validation.overview_table_fr(pooled)
    assert list(t["Biais relatif maximal, en valeur absolue (%)"].isna()) == [False, True, True, True]
    assert t["Biais relatif maximal, en valeur absolue (%)"].iloc[0] == pytest.approx(26.14)
    assert list(t["Biais maximal, en valeur absolue (écarts types)"].isna()) == [False, True, False, True]


def test_report_08_words_are_french_and_match_the_other_reports():
    """Report 08 said « communes certaines » (report 07: « retenues d'office »), « pire |biais| / écart type » and
    « |Biais relatif| moyen » (maths bars for words): the targets' paragraph, the targets' table and the overview's
    headers now use words, as the other reports do."""
    from portrait.study import validation

    f = {"f1": 0.213, "f1_max": 0.9, "residents_overstatement": 0.0002, "residents_invited": 0.001,
         "certainty_share": 0.262, "visitors_invited": 0.333, "visitors_respondents": 0.047,
         "visitors_overstatement": 0.049}
    text = validation.targets.targets_text_fr(f)
    assert "certaines" not in text and text.count("retenues d'office") == 2
    assert "n'est que d'environ 0,02\u00a0% de la variance" in text and "(1 − f₁, où f₁ est la part des communes" in text
    # the reduced run's overstatement rounds to 0,00 %: said as below the last digit, not « environ 0,00 % »
    tiny = validation.targets.targets_text_fr({**f, "residents_overstatement": 0.00002})
    assert "la surestimation attendue est inférieure à 0,01\u00a0% de la variance" in tiny and "0,00" not in tiny
    pooled = pd.DataFrame([{"survey": "residents", "estimator": "raking", "variance": "linearisation",
                            "replications": 40, "mean_abs_rel_bias": 0.01, "max_abs_rel_bias": 0.02,
                            "max_abs_bias_sd": 0.25, "mean_se_ratio": 1.0, "coverage": 0.95, "coverage_low": 0.9,
                            "coverage_high": 0.98, "rejection": np.nan, "power": np.nan}])
    headers = list(validation.overview_table_fr(pooled).columns)
    assert not any("|" in h for h in headers) and "Biais relatif moyen, en valeur absolue (%)" in headers


def test_make_validate_runs_the_published_sizes():
    """The Makefile's ``validate`` target passes notebook 08 the sizes that report 08 and the index call the
    published run's (``validation.published``); ``validate-report``, which re-renders that run's report from its
    stored replications, passes the same (else it would refuse them), and asks for the stored ones. Both name the
    published run's own files, not the short run's that ``make`` writes (a new user's trial: one ``make`` after
    ``make validate`` replaced twenty minutes of replications by the short run's)."""
    import re
    from pathlib import Path
    from portrait.study.validation import published

    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    for target in ("validate", "validate-report"):
        recipe = re.search(rf"^{target}:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
        passed = {k: int(v) for k, v in re.findall(r"-p (\w+) (\d+)", recipe)}
        assert passed == {"replications": published.REPLICATIONS,
                          "bootstrap_replications": published.BOOTSTRAP_REPLICATIONS,
                          "bootstrap_replicates": published.BOOTSTRAP_REPLICATES}, target
        assert ("-p reuse_results True" in recipe) == (target == "validate-report")
        files = dict(re.findall(r"-p (out_\w+) (\S+)", re.search(r"^PUBLISHED_FILES := (.*)$", makefile, re.M).group(1)))
        assert "$(PUBLISHED_FILES)" in recipe and set(files) == {"out_results", "out_summary"}, target
    short = re.search(r"^\$\(EXEC\)/08_validation\.ipynb (.*?) &:", makefile, re.M).group(1).split()
    assert not {f.replace("data/processed/", "$(P)/") for f in files.values()} & set(short)


def test_make_validate_report_without_a_published_run_says_so_before_running_anything(tmp_path):
    """A new user's trial: on a fresh clone, `make validate-report` read as a crash of notebook 08's code cell 4
    and left build/executed/08_validation.partial.ipynb, though the README says a refused run writes nothing. The
    Makefile now stops first, in one line that names the missing file and `make validate` (no Python is run: the
    interpreter given is ``false``)."""
    import shutil
    import subprocess
    from pathlib import Path

    shutil.copy(Path(__file__).parents[1] / "Makefile", tmp_path / "Makefile")
    done = subprocess.run(["make", "-s", "validate-report", "PYTHON=false"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode != 0
    assert ("no published validation run to report on (data/processed/validation_published.parquet is missing); "
            "`make validate` runs it") in done.stdout
    assert "nothing was written" in done.stdout
    assert not list(tmp_path.rglob("*.ipynb")) and not (tmp_path / "reports").exists()


def test_the_conclusion_weighs_every_target_and_names_the_first():
    """Report 08's conclusion gave the super-population's bias and coverage as if they were the study's, and never
    mentioned the finite population's (hand-made summaries: the same results, and the same shifted by 3 SDs)."""
    from portrait.study import codebook

    results, truth = _synthetic()
    cb = codebook.load("config/codebook.yaml")
    cal = pd.concat([results.assign(estimator=e) for e in validation.ESTIMATORS], ignore_index=True)
    good = validation.summary(cal, truth)
    shift = 3 * np.std([1, 2, 3, 4], ddof=1)
    bad = validation.summary(cal.assign(estimate=cal["estimate"] + shift, ci_low=cal["ci_low"] + shift,
                                        ci_high=cal["ci_high"] + shift), truth)
    main = cal.assign(target="superpopulation")
    alone = validation.conclusion_fr(good, cb, results=main)
    assert "\n\n*Super-population (espérance du modèle).* Sur **4 réplications**" in alone and "finie" not in alone
    assert "ne sont pas fiables" not in alone
    both = validation.conclusion_fr(good, cb, results=main, others={"finite": good})
    assert "\n\n*Population finie fixée.* Sur **4 réplications**" in both and "ne sont pas fiables" not in both
    # per estimator, as for the first target: 2 statistics each, none outside, and the rule's tolerance
    finite = both[both.index("*Population finie fixée, intervalles linéarisés.*"):]
    assert "Statistique par statistique (sur 2), aucune n'a une couverture hors de la plage de tolérance (de 94 % à " \
        "96 %) et un intervalle Monte-Carlo qui exclut 95 %. Le hasard seul en mettrait en cause" in finite
    # the rule explained once, for the first target (trial AA: the conclusion repeated itself word for word)
    assert "la règle en tolère jusqu'à 1 : c'est dans la tolérance de la règle." in finite
    assert both.count("le 95ᵉ centile de la loi binomiale") == 1
    worse = validation.conclusion_fr(good, cb, results=main, others={"finite": bad})
    assert "ne sont pas fiables avec pour cible la population finie fixée**" in worse     # the target at fault named
    worse_finite = worse[worse.index("*Population finie fixée.*"):]
    assert f"un biais d'au plus **{fmt.number((0.5 + shift) / np.std([1, 2, 3, 4], ddof=1), 2)} " \
        "écarts types**" in worse_finite
    assert "ne sont pas fiables**" in validation.conclusion_fr(bad, cb, results=main, others={"finite": good})


def test_the_second_targets_bootstrap_is_judged_too():
    """The finite target got no bootstrap variance, so the acceptance's « linearised and replicate variances under
    both targets » was half measured. Hand-made bootstrap rows for that target: intervals as good as the linearised
    ones pass and are said; intervals that never cover, with SEs twice the linearised, fail the verdict for it."""
    from portrait.study import codebook

    results, truth = _synthetic()
    cb = codebook.load("config/codebook.yaml")
    cal = pd.concat([results.assign(estimator=e) for e in validation.ESTIMATORS], ignore_index=True)
    good_boot = pd.concat([cal, cal.assign(variance="bootstrap")], ignore_index=True)
    far = 10.0
    bad_boot = pd.concat([cal, cal.assign(variance="bootstrap", se=2 * cal["se"], ci_low=cal["ci_low"] + far,
                                          ci_high=cal["ci_high"] + far)], ignore_index=True)
    main = cal.assign(target="superpopulation")
    good_summary = validation.summary(cal, truth)
    for boot, fine in ((good_boot, True), (bad_boot, False)):
        finite = boot.assign(target="finite")
        text = validation.conclusion_fr(good_summary, cb, 50, results=main,
                                        others={"finite": validation.summary(finite, truth)},
                                        other_runs={"finite": (finite, truth)})
        finite_part = text[text.index("*Population finie fixée.*"):].replace("\u00a0", " ")
        assert "Les intervalles à 95 % des estimateurs calés (bootstrap, 4 réplications, 50 répliques par enquête) " \
            f"contiennent la vraie valeur **{'75,0' if fine else '0,0'} %**" in finite_part
        assert f"les erreurs types bootstrap valent en moyenne {'1,000' if fine else '2,000'} fois" in finite_part
        # trial M: a ratio of 0,878 read as contradicting « the same SEs »; here the bootstrap ran on every replication,
        # so the ratio's SD is over the same 4 (± 1.96/√(2·3)) and its SEs do not vary (review: the caveat named the
        # SD of the bootstrap's replications when the ratio divides by the SD over all of them)
        assert "l'erreur type bootstrap moyenne, sur les 4 réplications, ne varie pas d'une réplication à l'autre, et " \
               "l'écart type des estimations, sur ces mêmes réplications, à ± 80 % près ; ce rapport n'est donc connu qu'à ± 0,800 près" in finite_part.replace("\u2019", "'")
        assert ("ne sont pas fiables avec pour cible la population finie fixée**" in text) is not fine
        # trial AG: so few bootstrap replications judge no statistic alone (report 08's acceptance table says so too)
        assert "Statistique par statistique, 4 réplications ne permettent pas de juger : une couverture n'y est " \
            "connue qu'à ± 21,4 points près" in finite_part.replace("\u2019", "'")
        assert "« x », habitants (0,0 %" not in finite_part
        assert ": moins que 95 %, au-delà de l'erreur Monte-Carlo" in finite_part or fine


def test_widening_is_counted_per_target():
    """Both targets use the same replication numbers: one target's widened replicates must not hide the other's."""
    rows = [{"target": t, "replication": 0, "survey": s, "item": "a", "estimator": "logit", "variance": "bootstrap",
             "adjusted": float(k), "error": ""}
            for t, ks in (("superpopulation", (2, 0)), ("finite", (1, 4))) for s, k in zip(("residents", "visitors"), ks)]
    results = pd.DataFrame(rows)
    assert validation.widened_replicates(results)["widened"].sum() == 7
    text = validation.widening_sentence_fr(results, 10, (0.3, 3.0))
    assert "(2 cibles × 1 réplication × 10 répliques × 2 enquêtes)" in text
    assert "**7 des 40 répliques** (habitants : 3 ; clients du territoire : 4)" in text


@pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL")
def test_a_worker_ends_when_its_parent_is_killed():
    """A kernel killed outright (the runner's timeout) left its two validation workers waiting for tasks forever,
    400 MB each, after the run had ended. A parent killed with SIGKILL here: its workers are gone within seconds."""
    script = ("import os, sys, time, multiprocessing\n"
              "from concurrent.futures import ProcessPoolExecutor\n"
              "from portrait.study import validation\n"
              "pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('fork'),\n"
              "                           initializer=validation.replications._init_worker, initargs=(None,))\n"
              "def pid():\n"
              "    time.sleep(0.3)\n"
              "    return os.getpid()\n"
              "pids = {f.result() for f in [pool.submit(pid) for _ in range(6)]}\n"
              "print(' '.join(map(str, sorted(pids))), flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert pids and proc.pid not in pids

    def alive(pid: int) -> bool:
        try:
            return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1][:4]
        except (FileNotFoundError, IndexError):
            return False

    assert all(alive(p) for p in pids)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids)


def test_targets_table_by_hand():
    """Report 08's side-by-side table of the targets, on hand-made summaries: coverage pooled over the statistics
    weighted by their replications, mean SE ratio, worst |bias|; the bootstrap table gives no bias (the bias is the
    estimator's, shown with the linearisation over every replication)."""
    from portrait.study import validation

    def summ(cov, se_ratio, bias):
        rows = []
        for variance, reps in (("linearisation", 100), ("bootstrap", 20)):
            for i, (c, r, b) in enumerate(zip(cov, se_ratio, bias)):
                rows.append({"survey": "residents", "item": f"x{i}", "statistic": "mean", "level": "",
                             "estimator": "raking", "variance": variance, "replications": reps if i == 0 else reps // 2,
                             "coverage": c, "se_ratio": r, "bias_sd": b})
        return pd.DataFrame(rows)

    s = {"superpopulation": summ([0.96, 0.90], [1.0, 0.9], [0.05, -0.2]),
         "finite": summ([0.94, 0.97], [1.1, 1.0], [0.0, 0.1])}
    lin = validation.targets.targets_table_fr(s)
    row = lin.loc[("Habitants", validation.ESTIMATOR_LABELS["raking"])]
    sup, fin = (validation.TARGET_LABELS[t] for t in ("superpopulation", "finite"))
    assert row[(sup, "couverture (%)")] == pytest.approx(100 * (0.96 * 100 + 0.90 * 50) / 150, abs=0.05)
    assert row[(fin, "couverture (%)")] == pytest.approx(100 * (0.94 * 100 + 0.97 * 50) / 150, abs=0.05)
    assert row[(sup, "erreur type moyenne / écart type")] == pytest.approx(0.95)
    assert row[(sup, "pire biais, en valeur absolue (écarts types)")] == pytest.approx(0.2)
    boot = validation.targets.targets_table_fr(s, "bootstrap")
    assert not any("biais" in c for _, c in boot.columns)
    assert boot.loc[("Habitants", validation.ESTIMATOR_LABELS["raking"]), (fin, "erreur type moyenne / écart type")] \
        == pytest.approx(1.05)


def test_bootstrap_se_ratio_pairs_every_survey_by_hand():
    """Trial U: the conclusion's bootstrap / linearised SE ratio left out the visitors, whose rows have no two-stage
    SE, once the two-stage rows were in the results (0.997 printed where every row gives 1.003). Oracle by hand:
    residents 1.1 / 1.0 and visitors 0.5 / 1.0 average 0.8, whatever the residents' two-stage SE."""
    rows = []
    for survey_, se in (("residents", {"linearisation": 1.0, "bootstrap": 1.1, validation.TWO_STAGE: 0.9}),
                        ("visitors", {"linearisation": 1.0, "bootstrap": 0.5})):
        rows += [{"replication": 0, "survey": survey_, "item": "a", "statistic": "mean", "level": "",
                  "estimator": "raking", "variance": v, "se": x} for v, x in se.items()]
    assert vs.bootstrap_se_ratio(pd.DataFrame(rows)) == pytest.approx(0.8, rel=1e-12)


def test_two_stage_finding_by_hand():
    """Report 08's sentence on the two-stage variance: coverage pooled over the statistics weighted by their
    replications and the mean SE ratio, residents and differences together, each variance on the same rows; it says
    the two agree only within one point of coverage and 0.02 of the ratio."""
    from portrait.study import validation

    def summ(cov_two, ratio_two):
        rows = []
        for survey_ in ("residents", "visitors", compare.DIFFERENCE):
            for variance, cov, ratio in (("linearisation", [0.95, 0.93], [1.0, 0.98]),
                                         (validation.TWO_STAGE, cov_two, ratio_two)):
                if survey_ == "visitors" and variance == validation.TWO_STAGE:
                    continue
                for i, (c, r) in enumerate(zip(cov, ratio)):
                    rows.append({"survey": survey_, "item": f"x{i}", "statistic": "mean", "level": "",
                                 "estimator": "raking", "variance": variance, "replications": 300 if i else 100,
                                 "coverage": 0.5 if survey_ == "visitors" else c, "se_ratio": r})
        return pd.DataFrame(rows)

    text = validation.targets.two_stage_finding_fr({"finite": summ([0.96, 0.92], [1.01, 0.97])}, 0.0002)
    text = text.replace("\u00a0", " ")
    assert fmt.percent((0.96 * 100 + 0.92 * 300) / 400, 1).replace("\u00a0", " ") in text     # 93,0 %
    assert fmt.percent((0.95 * 100 + 0.93 * 300) / 400, 1).replace("\u00a0", " ") in text     # 93,5 %
    # mean SE / SD 0,990 with both; coverage 93,0 % against 93,5 %: half a point apart
    assert "0,990 dans les deux cas" in text and "diffèrent d'au plus 0,50 point de couverture" in text
    # the omitted fpc alone: a variance 0,02 % smaller, an SE 1 − √(1 − 0,0002) ≈ 0,01 % smaller
    assert "plus petite d'environ 0,01 % en moyenne (la variance, de 0,02 %)" in text and "svydesign" not in text
    far = validation.targets.two_stage_finding_fr({"finite": summ([0.96, 0.90], [1.01, 0.97])})
    assert "diffèrent de plus d'un point" in far
    assert validation.targets.two_stage_finding_fr({"finite": summ([0.96, 0.92], [1.01, 0.97]).query(
        "variance == 'linearisation'")}) == ""


def test_two_stage_pairs_by_hand():
    """Trial Z: report 08 gave the net count of covering intervals (141) where about 480 changed verdict; trials AA and
    AB: the two-stage intervals cover a little more because its design has fewer degrees of freedom (a larger Student
    quantile), not because of its SEs. Hand-made results, truth 0: five replications of one residents' statistic
    (the chain's interval covers in replications 0–2, the two-stage one in 0, 1, 3 and 4; the visitors' rows take no
    part); then 200 replications where both SEs are 1 and only the df differ (10 against 100), and the same with the
    two-stage SE 1.1 and equal df: the text explains the gap by the df only in the first."""
    from scipy import stats

    from portrait.study import validation

    def frame(reps, chain, two):
        rows = []
        for rep in range(reps):
            for survey_, variance, (centre, se, df) in (("residents", "linearisation", chain(rep)),
                                                         ("residents", validation.TWO_STAGE, two(rep)),
                                                         ("visitors", "linearisation", (3.0, 5.0, 100))):
                half = stats.t.ppf(0.975, df) * se
                rows.append({"target": "finite", "replication": rep, "survey": survey_, "item": "x",
                             "statistic": "mean", "level": "", "estimator": "raking", "variance": variance,
                             "estimate": centre, "se": se, "df": float(df), "ci_low": centre - half,
                             "ci_high": centre + half, "p": np.nan})
        return pd.DataFrame(rows)

    truth = pd.DataFrame({"survey": ["residents", "visitors"], "item": "x", "statistic": "mean", "level": "",
                          "value": 0.0, "planted": False})
    results = frame(5, lambda r: (0.0 if r <= 2 else 3.0, 1.0, 100), lambda r: (0.0 if r != 2 else 3.0, 1.1, 100))
    p = validation.targets.two_stage_pairs(results, truth)
    assert {k: p[k] for k in ("pairs", "only_two_stage", "only_chain")} == {"pairs": 5, "only_two_stage": 2,
                                                                           "only_chain": 1}
    assert p["mean_ratio"] == pytest.approx(1.1) and p["gap"] == pytest.approx(0.2)
    summ = validation.summary(results, truth)
    text = validation.targets.two_stage_finding_fr({"finite": summ}, 0.0002,
                                                   runs={"finite": (results, truth)}).replace("\u00a0", " ")
    assert "3 des 5 intervalles changent de verdict d'un calcul à l'autre : 2 contiennent la valeur vraie avec la " \
        "seule linéarisation à deux degrés, 1 avec la seule linéarisation de la chaîne ; erreur type moyenne à deux " \
        "degrés / de la chaîne 1,1000 ; degrés de liberté des habitants, en moyenne sur les réplications (chaque " \
        "échantillon tiré a les siens ; le rapport 06 donne ceux de l'échantillon de l'étude) : 100 à deux degrés, " \
        "100 pour la chaîne" in text
    # the estimate 2.0 (between the quantiles 1.98 and 2.23 of 100 and 10 df) in the first replication only
    centre = lambda r: 2.0 if r == 0 else 0.5                           # noqa: E731
    by_df = frame(200, lambda r: (centre(r), 1.0, 100), lambda r: (centre(r), 1.0, 10))
    p = validation.targets.two_stage_pairs(by_df, truth)
    assert p["gap"] == pytest.approx(0.005) and p["same_quantile_gap"] == pytest.approx(0.0)
    assert p["quantile_two_stage"] == pytest.approx(stats.t.ppf(0.975, 10))
    by_se = frame(200, lambda r: (centre(r), 1.0, 100), lambda r: (centre(r), 1.1, 100))
    assert validation.targets.two_stage_pairs(by_se, truth)["same_quantile_gap"] == pytest.approx(0.005)
    for frame_, df_explains in ((by_df, True), (by_se, False)):
        said = validation.targets.two_stage_finding_fr({"finite": validation.summary(frame_, truth)}, 0.0002,
                                                       runs={"finite": (frame_, truth)})
        assert ("l'écart de couverture vient des degrés de liberté" in said) is df_explains, said

def _summ(diff_bias_sd: float) -> pd.DataFrame:
    rows = []
    for survey_, item in (("residents", "a"), ("visitors", "a"), (compare.DIFFERENCE, "a")):
        lo, hi = vs.wilson(0.95 * 400, 400)
        for est in ("raking", "logit"):
            rows.append({"survey": survey_, "item": item, "statistic": "mean", "level": "", "estimator": est,
                         "variance": "linearisation", "planted": False, "replications": 400, "failures": 0,
                         "truth": 1.0, "mean": 1.0, "bias": 0.0, "bias_mcse": 0.01, "rel_bias": 0.0,
                         "bias_sd": diff_bias_sd if survey_ == compare.DIFFERENCE else 0.0,
                         "sd": 0.1, "rmse": 0.1, "mean_se": 0.1, "se_ratio": 1.0, "coverage": 0.95,
                         "coverage_low": float(lo), "coverage_high": float(hi),
                         "rejection": 0.05 if survey_ == compare.DIFFERENCE else np.nan,
                         "rejection_low": np.nan, "rejection_high": np.nan})
    return pd.DataFrame(rows)


def test_bias_tolerance_is_a_tenth_plus_three_monte_carlo_errors():
    assert vs.bias_tolerance(400) == pytest.approx(0.1 + 3 / 20)
    assert vs.bias_tolerance(10_000) == pytest.approx(0.13)


def test_a_biased_difference_fails_the_bias_verdict():
    """A bias of 0.3 SD on the difference clients − habitants alone (tolerance 0.25 at 400 replications)."""
    a = vs.acceptance(_summ(0.3), estimators=("raking", "logit"))
    assert a["max_abs_bias_sd"] == pytest.approx(0.3) and not a["bias_ok"]
    assert vs.acceptance(_summ(0.2), estimators=("raking", "logit"))["bias_ok"]


def test_pooled_intervals_take_the_replications_as_clusters():
    """Trial Z: the pooled coverage (94,7 %) and the tests' size (5,5 %) went without their Monte Carlo intervals.
    Hand-made results (truth 2, four replications, the residents' and the difference's intervals covering in the
    first three): the pooled interval is the clustered Wilson interval of the per-replication counts written out by
    hand — 2 of 2 intervals covering in replications 0–2, 0 of 2 in replication 3 (the failed replication 4 has none)
    — and the size pools the null differences' p < 0.05 (replications 0 and 2), not the residents' rows."""
    results, truth = _synthetic()
    both = pd.concat([results, results.assign(estimator="logit")], ignore_index=True)
    low, high = vs.pooled_interval(both, truth)
    by_hand = pd.DataFrame({"pooled": 0, "replication": [0, 1, 2, 3], "covered": [4, 4, 4, 0],
                            "intervals": [4, 4, 4, 4]})
    expected = vs.clustered_wilson(by_hand)
    assert (low, high) == pytest.approx((expected["coverage_low"][0], expected["coverage_high"][0]), rel=1e-12)
    null = truth.assign(planted=False)
    # a p-value on a survey's own row (none has one today) must not count as a test of a difference
    size = vs.pooled_interval(both.assign(p=both["p"].fillna(0.001)), null, rate="rejection")
    sizes = vs.clustered_wilson(pd.DataFrame({"pooled": 0, "replication": [0, 1, 2, 3], "covered": [2, 0, 2, 0],
                                              "intervals": [2, 2, 2, 2]}))
    assert size == pytest.approx((sizes["coverage_low"][0], sizes["coverage_high"][0]), rel=1e-12)
    assert np.isnan(vs.pooled_interval(both, truth, variance="bootstrap")[0])
    with pytest.raises(ParameterError, match="rate must be"):
        vs.pooled_interval(both, truth, rate="power")


def test_the_tests_paragraph_says_a_liberal_test_and_names_its_worst_statistic():
    """Trial Z: « 5,5 % du temps (5 % attendus) » hid a size significantly above 5 %, mostly one statistic's. Hand-made
    acceptance numbers: the paragraph gives the interval, the range over the statistics, calls the test « un peu
    libéral » only when the interval excludes 5 %, names the worst statistic only when its own interval does, and
    counts the planted differences detected at least 99.5 % of the time."""
    from portrait.study.validation import conclusion as vc

    a = {"rejection": 0.055, "rejection_low": 0.052, "rejection_high": 0.058, "rejection_min": 0.049,
         "rejection_max": 0.0602, "rejection_max_statistic": ("image_globale", "mean", ""), "rejection_max_low": 0.054,
         "rejection_max_high": 0.067, "power": 0.883, "power_min": 0.179, "power_full": 6, "planted": 7,
         "power_min_statistic": ("forces", "share", "3"), "power_min_truth": -0.0165}
    labels = {("image_globale", "mean", ""): "Image globale", ("forces", "share", "3"): "Patrimoine"}
    text = vc._tests_paragraph(a, labels).replace("\u00a0", " ")
    assert "**5,5 %** du temps (les deux estimateurs calés ensemble ; intervalle Monte-Carlo de 5,2 % à 5,8 % ; " \
        "de 4,9 % à 6,0 % selon la statistique ; " \
        "5 % attendus, avant correction pour tests multiples) : le test est un peu libéral, surtout pour « Image " \
        "globale » (6,0 %, intervalle Monte-Carlo de 5,4 % à 6,7 %)" in text
    assert ": 6 des 7 à chaque réplication ou presque" in text and "(« Patrimoine », écart vrai −1,65 point)" in text
    # a new user's trial: « au moins 99,5 % du temps » of a short run where the six were rejected every time
    every = vc._tests_paragraph({**a, "power_every": 6}, labels)
    assert ": 6 des 7 à chaque réplication ;" in every and "99,5" not in every
    fine = vc._tests_paragraph({**a, "rejection_low": 0.047, "rejection_max_low": 0.049}, labels)
    assert "libéral" not in fine and "surtout" not in fine
    alone = vc._tests_paragraph({**a, "rejection_max_low": 0.049}, labels)
    assert "un peu libéral. Les vraies différences" in alone.replace("\u00a0", " ") and "surtout" not in alone


def test_the_step_that_leaves_a_bias_is_said_of_its_survey_only():
    """Trial Z: « les poids de sondage et la correction de la non-réponse ne le retirent pas » was false for the
    visitors, whose worst bias after the correction (0,11 SD) was under the threshold (0,14). Hand-made acceptance
    numbers: the sentence names the survey where the step leaves the bias, and says the other's removal."""
    from portrait.study.validation import conclusion as vc

    a = {"unweighted_worst": ("residents", "x", "mean", ""), "unweighted_max_abs_bias_sd": 2.06,
         "unweighted_max_abs_rel_bias": 0.0327, "unweighted_rel_worst": None, "bias_tolerance": 0.1424,
         "uncalibrated_worse": {"estimator": "nonresponse", "survey": "residents", "bias_sd": -2.19},
         "worst_bias_sd": {("nonresponse", "residents"): 2.19, ("nonresponse", "visitors"): 0.11,
                           ("design", "visitors"): 1.4}}
    text = vc._unweighted_sentence(a, pd.DataFrame(columns=["estimator", "variance", "survey", "coverage", "replications"]), {}).replace(
        "\u00a0", " ")
    assert "Sans calage, la correction de la non-réponse ne retire pas ce biais chez les habitants : après elle, le " \
        "pire biais y atteint 2,19 écarts types, davantage que sans pondération. Chez les clients du territoire, elle " \
        "le ramène à 0,11 écart type : moins qu'avant, et dans la tolérance de 0,14 écart type que cette série " \
        "applique aux estimateurs calés (le seuil de 0,1 écart type plus trois erreurs Monte-Carlo)." in text
    # a review: « au-dessus du seuil de 0,1 … que les critères fixent aux estimateurs calés » read as a bar the
    # calibrated estimators meet, when they are judged by the tolerance and may have the same bias
    assert "au-dessus du seuil" not in text
    below = vc._unweighted_sentence({**a, "worst_bias_sd": {("nonresponse", "visitors"): 0.04}},
                                    pd.DataFrame(columns=["estimator", "variance", "survey", "coverage", "replications"]),
                                    {}).replace("\u00a0", " ")
    assert "elle le ramène à 0,04 écart type, sous le seuil de 0,1 écart type." in below
    kept = vc._unweighted_sentence({**a, "worst_bias_sd": {("nonresponse", "visitors"): 0.5}},
                                   pd.DataFrame(columns=["estimator", "variance", "survey", "coverage", "replications"]), {})
    assert "le ramène" not in kept


def test_statistics_in_question_by_target_by_hand():
    """The red points of the per-statistic coverage figure and its caption follow the conclusion's rule: outside
    [94 %, 96 %] and a Monte Carlo interval that excludes 95 %. By hand: under the super-population, a coverage
    of 93,5 % [93,0 ; 94,0] and one of 96,5 % [96,1 ; 96,9] are in question, 94,5 % [94,1 ; 94,9] (in the band) and
    93,8 % [93,0 ; 95,1] (its interval holds 95 %) are not, nor is the logit estimator's 90 %; the finite target has
    none."""
    from portrait.study import validation

    def rows(cov):
        return pd.DataFrame([{"survey": "residents", "item": f"x{i}", "statistic": "mean", "level": "",
                              "estimator": e, "variance": "linearisation", "replications": 5000, "coverage": c,
                              "coverage_low": lo, "coverage_high": hi}
                             for i, (e, c, lo, hi) in enumerate(cov)])

    sup = rows([("raking", 0.935, 0.930, 0.940), ("raking", 0.965, 0.961, 0.969), ("raking", 0.945, 0.941, 0.949),
                ("raking", 0.938, 0.930, 0.951), ("logit", 0.90, 0.89, 0.91)])
    fin = rows([("raking", 0.95, 0.944, 0.956)])
    assert validation.in_question(sup).tolist() == [True, True, False, False, True]
    labels = {("x0", "mean", ""): "A", ("x1", "mean", ""): "B"}
    text = validation.targets.in_question_by_target_fr({"superpopulation": sup, "finite": fin}, labels)
    assert text == ("« A », habitants (93,5 %) et « B », habitants (96,5 %) avec pour cible la super-population "
                    "(espérance du modèle) ; aucune avec pour cible la population finie fixée")


def test_the_bootstrap_sentence_splits_its_gap_between_the_method_and_the_replications():
    """Trial AE: « ce qui distingue ces intervalles des linéarisés tient aux échantillons tirés…, pas au bootstrap »
    hid the bootstrap's own shortfall. Hand-made numbers: 94,01 % bootstrap, 94,27 % linearised on the same 200
    replications, 94,67 % linearised on all of them — −0,26 point for the method, −0,40 for the replications."""
    from portrait.study.validation import conclusion as vc

    c = {"replications": 200, "coverage": 0.9401, "coverage_min": 0.895, "coverage_max": 0.985, "statistics": 33,
         "per_estimator": {"raking": {"excluding": 0, "outside": 0, "expected": 1.08, "limit": 4, "ok": True,
                                      "in_question": []}}, "ok": True, "paired_linearised_coverage": 0.9427, "se_ratio_to_linearised": 1.004,
         "same_as_linearised": True, "all_linearised_coverage": 0.9467}
    text = vc._coverage_sentence(c, "bootstrap", "", {}).replace("\u00a0", " ")
    assert "tient pour −0,26 point au bootstrap lui-même (sur les mêmes réplications) et pour −0,40 point au " \
        "tirage de ces 200 réplications." in text
    assert "pas au bootstrap" not in text
    assert vc._split_gap({k: v for k, v in c.items() if k != "all_linearised_coverage"}) == ""
    # trial AF: each part with its Monte Carlo error when known (the replications' part was pure noise there)
    errors = vc._split_gap({**c, "own_gap_half": 0.0029, "drawn_gap_half": 0.0071}).replace("\u00a0", " ")
    assert "−0,26 point (intervalle Monte-Carlo ± 0,29) au bootstrap" in errors and "−0,40 point (intervalle " \
        "Monte-Carlo ± 0,71) au tirage de ces 200 réplications ; ni l'une ni l'autre part ne se distingue du hasard" \
        in errors


def test_the_reserve_says_when_the_same_statistic_also_fails_the_size_of_its_test():
    """Trial AF: report 08's acceptance table had two « non tenu » (coverage and test size) where the verdict named one
    statistic. For a difference that is truly 0 the test rejects exactly when the interval misses 0, so the reserve says
    the test's rate too (hand-made rows: 6,2 % and 6,1 %), and says nothing of a test whose rate is inside [4 %, 6 %]."""
    from portrait.study.validation import conclusion as vc

    def row(rejection):
        return {"survey": validation.DIFFERENCE_NAME, "item": "s0", "statistic": "mean", "level": "",
                "planted": False, "rejection": rejection, "coverage": 1 - rejection}

    c = {"superpopulation": {"per_estimator": {"raking": {"in_question": [row(0.062)]},
                                               "logit": {"in_question": [row(0.061)]}}}}
    text = vc._reserve(c, {("s0", "mean", ""): "Score"}).replace("\u00a0", " ")
    assert "« Score », différence clients − habitants, sort de la plage" in text
    assert "ce test se trompe ainsi 6,1 % à 6,2 % du temps, ce qui met aussi sa taille hors de la plage de 4 % à " \
        "6 %." in text
    inside = {"superpopulation": {"per_estimator": {"raking": {"in_question": [row(0.059)]}}}}
    assert "vraiment nulle" not in vc._reserve(inside, {})


def test_the_finite_targets_size_is_also_given_against_its_true_difference():
    """Trial AG: the conclusion gave 5,3 % (rejecting 0) where the acceptance table judged 5,1 % (rejecting the fixed
    population's own, nearly null, difference: 100 % minus the coverage). Hand-made numbers: both are said."""
    from portrait.study.validation import conclusion as vc

    a = {"rejection": 0.0557, "power": 0.88, "planted": 0}
    b = {"rejection": 0.0526, "size_true": 0.0513}
    text = vc._tests_paragraph(a, {}, "superpopulation", {"finite": b}).replace("\u00a0", " ")
    assert "il en déclare une 5,3 % du temps ; contre sa vraie valeur dans cette population, il conclut à tort 5,1 % " \
        "du temps (la taille que juge le tableau des critères)." in text
    summ = pd.DataFrame({"survey": validation.DIFFERENCE_NAME, "item": ["a", "b"], "statistic": "mean", "level": "",
                         "planted": False, "replications": [100, 300], "rejection": [0.05, 0.06],
                         "rejection_low": 0.04, "rejection_high": 0.07, "coverage": [0.94, 0.95]})
    from portrait.study.validation.monte_carlo import _difference_tests
    assert _difference_tests(summ)["size_true"] == pytest.approx(1 - (0.94 * 100 + 0.95 * 300) / 400)


def test_a_method_on_fewer_replications_is_judged_against_every_replications_sd():
    """Trial AG: the bootstrap ran on 200 of 5,000 replications, and its SE / SD divided by the SD of those 200 (± 10 %),
    although the estimates do not depend on the variance method. Hand-made estimates: 4 linearised replications
    (SD of 1, 2, 3, 4 = 1.291), the first 2 also bootstrap (SD 0.707); mean bootstrap SE 1.0 → ratio 1/1.291."""
    truth = pd.DataFrame({"survey": ["residents"], "item": ["x"], "statistic": ["mean"], "level": [""],
                          "value": [2.5], "planted": [False]})
    est = np.array([1.0, 2.0, 3.0, 4.0])
    base = dict(survey="residents", item="x", statistic="mean", level="", estimator="raking", p=np.nan, df=50.0,
                n=100.0, error="", adjusted=0.0)
    lin = pd.DataFrame({**base, "replication": range(4), "variance": "linearisation", "estimate": est, "se": 1.2,
                        "ci_low": est - 2.4, "ci_high": est + 2.4})
    boot = pd.DataFrame({**base, "replication": range(2), "variance": "bootstrap", "estimate": est[:2], "se": 1.0,
                         "ci_low": est[:2] - 2, "ci_high": est[:2] + 2})
    s = validation.summary(pd.concat([lin, boot], ignore_index=True), truth).set_index("variance")
    assert s.loc["bootstrap", "sd"] == pytest.approx(np.std([1, 2], ddof=1))          # its own SD is still reported
    assert s.loc["bootstrap", "se_ratio"] == pytest.approx(1.0 / np.std(est, ddof=1), rel=1e-12)
    assert s.loc["linearisation", "se_ratio"] == pytest.approx(1.2 / np.std(est, ddof=1), rel=1e-12)


def test_the_simulators_export_rows_are_the_rows_the_ingest_looks_up(setup, seeds, monkeypatch):
    """The validation hands the ingest each unit's row in the export and in the contact statuses as the simulator
    made them (answer_rows, disp_rows): the rows the ingest finds by identifier, and the same table of every unit as
    without them, in both surveys; the table keeps the columns of the items drawn (``columns``), each unit's status
    counting the others too: the table of every column of the export, those columns taken."""
    from portrait.study import ingest, unit_table
    orig, seen = ingest.assemble, []

    def checked(survey, sample, answers, disp, codebook, min_core, answer_rows=None, disp_rows=None, columns=None):
        id_col = codebook.id_column(survey)
        for given, export in ((answer_rows, answers), (disp_rows, disp)):
            looked = unit_table.positions(export[id_col], unit_table.arrow_text(sample[id_col].astype(str)))
            assert given is not None and np.array_equal(given, looked)
            assert 0 < (looked >= 0).sum() < len(sample)
        got = orig(survey, sample, answers, disp, codebook, min_core, answer_rows=answer_rows, disp_rows=disp_rows,
                   columns=columns)
        full = orig(survey, sample, answers, disp, codebook, min_core, columns=set(answers.columns)).responses
        assert "mots_1" in full and "mots_1" not in got.responses and "image_globale" in got.responses
        pd.testing.assert_frame_equal(got.responses, full[got.responses.columns])
        seen.append(survey)
        return got

    monkeypatch.setattr(validation.replications.ingest, "assemble", checked)
    validation.replicate(setup, seeds[2])
    assert seen == ["residents", "visitors"]


def test_the_package_gives_its_modules_and_their_public_names():
    """``validation.run``, ``validation.summary`` …: each name of the package's ``__all__`` is the object its module
    defines, loaded on first use, and so is each module (``validation.targets``); a name no module defines is an
    AttributeError, not None."""
    import importlib

    for name in validation.__all__:
        module = importlib.import_module(f"portrait.study.validation.{validation._SOURCE[name]}")
        assert getattr(validation, name) is getattr(module, name), name
    for name in validation._MODULES:
        assert getattr(validation, name) is importlib.import_module(f"portrait.study.validation.{name}")
    assert set(validation.__all__) <= set(dir(validation))
    with pytest.raises(AttributeError, match="no_such_name"):
        validation.no_such_name
