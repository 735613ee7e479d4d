"""``trim_weights`` is R ``survey::trimWeights`` (fixtures by tests/reference/make_fixtures_trim.R, survey 4.1.1).

Weights after trimming, unit by unit: rtol 1e-8. Estimates and linearised or replicate SEs: rtol 1e-6. Closed-form
oracles on a five-unit design check the rule by hand: the weights outside the bounds set to them, the net trimmed
weight added in equal shares (not in proportion) to the weights inside, the total unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, NumericTotal, ParameterError
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
EST = pd.read_csv(FIX / "trim_weights.csv")
UNITS = pd.read_csv(FIX / "trim_weights_units.csv")
r = partial(helpers.r_value, EST)

STYPE = Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
API99 = NumericTotal("api99", 3914069)
SCHWIDE = Margin.of("sch.wide", {"No": 1072, "Yes": 5122})


@pytest.fixture(scope="module")
def dstrat():
    return helpers.api_design("strat")


@pytest.fixture(scope="module")
def dclus1():
    return helpers.api_design("clus1")


# R's call -> the engine's, one per fixture of make_fixtures_trim.R
LINEARISED = {
    "strat_u40": lambda s, c: survey.trim_weights(s, upper=40),
    "strat_u32": lambda s, c: survey.trim_weights(s, upper=32),
    "strat_u32_strict": lambda s, c: survey.trim_weights(s, upper=32, strict=True),
    "strat_l18_u40": lambda s, c: survey.trim_weights(s, lower=18, upper=40),
    "strat_l18_u32_strict": lambda s, c: survey.trim_weights(s, lower=18, upper=32, strict=True),
    "cal_strat_l15_u45": lambda s, c: survey.trim_weights(survey.calibrate(s, [STYPE, API99], method="linear"),
                                                          lower=15, upper=45),
    "ps_strat_l15.1_u44.3": lambda s, c: survey.trim_weights(survey.calibrate(s, [SCHWIDE], method="linear"),
                                                             lower=15.1, upper=44.3),
    "cal_clus1_u50_strict": lambda s, c: survey.trim_weights(survey.calibrate(c, [STYPE, API99], method="linear"),
                                                             upper=50, strict=True),
}


@pytest.mark.parametrize("case", sorted(LINEARISED))
def test_weights_unit_by_unit_equal_r(case, dstrat, dclus1):
    """Every unit's weight after trimming is R's ``weights(trimWeights(...))``, and their total and largest value."""
    d = LINEARISED[case](dstrat, dclus1)
    assert_allclose(d.weights, UNITS[case].dropna().to_numpy(), rtol=1e-8)
    assert_allclose([d.weights.sum(), d.weights.max()], [r(case, "weights_sum"), r(case, "weights_max")], rtol=1e-8)


@pytest.mark.parametrize("case", sorted(LINEARISED))
def test_estimates_and_linearised_ses_equal_r(case, dstrat, dclus1):
    """svymean(~api00) and svytotal(~enroll) of the trimmed design, estimates and SEs, as R computes them."""
    d = LINEARISED[case](dstrat, dclus1)
    m, t = survey.mean(d, "api00"), survey.total(d, "enroll")
    assert_allclose([m["estimate"].iloc[0], t["estimate"].iloc[0]],
                    [r(case, "mean_api00"), r(case, "total_enroll")], rtol=1e-8)
    assert_allclose([m["se"].iloc[0], t["se"].iloc[0]], [r(case, "mean_api00_se"), r(case, "total_enroll_se")],
                    rtol=1e-6)


@pytest.mark.parametrize("case", ["cal_strat_l15_u45", "ps_strat_l15.1_u44.3", "cal_clus1_u50_strict"])
def test_a_calibration_before_the_trimming_still_enters_the_variance_with_its_own_weights(case, dstrat, dclus1):
    """R keeps a calibrated design's postStrata through trimWeights (``poststrata`` is 1) and svyrecvar scales the
    residuals by the calibrated weights it stored; the engine keeps the calibration step before the trimming step,
    and dropping the trimming step from the history (residuals scaled by the trimmed weights) misses R's SE."""
    d = LINEARISED[case](dstrat, dclus1)
    assert r(case, "poststrata") == 1
    assert [s.kind for s in d.steps] == ["calibration", "trim_weights"]
    naive = replace(d, steps=d.steps[:-1])
    for stat, var, q in ((survey.mean, "api00", "mean_api00_se"), (survey.total, "enroll", "total_enroll_se")):
        assert_allclose(stat(d, var)["se"].iloc[0], r(case, q), rtol=1e-6)
        assert not np.isclose(stat(naive, var)["se"].iloc[0], r(case, q), rtol=1e-6, atol=0)


def test_strict_false_leaves_weights_past_the_bound_as_r_does(dstrat):
    """One pass, as R: the shares push the M schools (20.36 + 12.21) past upper = 32; strict=True brings them back."""
    once = survey.trim_weights(dstrat, upper=32)
    assert once.weights.max() == pytest.approx(r("strat_u32", "weights_max"), rel=1e-12) and once.weights.max() > 32
    assert survey.trim_weights(dstrat, upper=32, strict=True).weights.max() <= 32


# ------------------------------------------------------------------------------------------ replicate designs

def _by_dropped_psu(weights: np.ndarray, psu: np.ndarray) -> dict:
    """JK1 replicate weights keyed by the PSU each replicate drops (R and the engine order replicates differently)."""
    return {int(np.unique(psu[weights[:, j] == 0])[0]): weights[:, j] for j in range(weights.shape[1])}


@pytest.fixture(scope="module")
def jk1_calibrated(dclus1):
    return survey.calibrate(survey.with_replicates(dclus1, "jk1"), [STYPE, API99], method="linear")


REPLICATED = {
    "jk1_cal_u50": dict(upper=50),
    "jk1_cal_u50_strict": dict(upper=50, strict=True),
    "jk1_cal_l15_u50": dict(lower=15, upper=50),
}


@pytest.mark.parametrize("case", sorted(REPLICATED) + ["jkn_strat_u40"])
def test_replicate_ses_equal_r_with_each_replicate_trimmed_by_the_same_rule(case, jk1_calibrated, dstrat):
    """Replicates re-run the trimming on their own weights with the same bounds: R's trimWeights applied to the
    full-sample weights and to each replicate's column of analysis weights (svymean, svytotal with their SEs)."""
    if case == "jkn_strat_u40":
        d = survey.trim_weights(survey.with_replicates(dstrat, "jkn"), upper=40)
    else:
        d = survey.trim_weights(jk1_calibrated, **REPLICATED[case])
    m = survey.mean(d, "api00", variance="replicates")
    t = survey.total(d, "enroll", variance="replicates")
    assert_allclose([m["estimate"].iloc[0], t["estimate"].iloc[0]],
                    [r(case, "mean_api00"), r(case, "total_enroll")], rtol=1e-8)
    assert_allclose([m["se"].iloc[0], t["se"].iloc[0]], [r(case, "mean_api00_se"), r(case, "total_enroll_se")],
                    rtol=1e-6)


def test_replicate_weights_unit_by_unit_equal_r(jk1_calibrated, dclus1):
    """Each JK1 replicate's trimmed weights are R's, unit by unit; units of the dropped PSU stay at 0."""
    d = survey.trim_weights(jk1_calibrated, upper=50)
    ref = pd.read_csv(FIX / "trim_weights_jk1_repweights.csv").drop(columns="unit").to_numpy()
    ours, theirs = _by_dropped_psu(d.replicate_weights(), d.psu), _by_dropped_psu(ref, dclus1.psu)
    assert sorted(ours) == sorted(theirs) and len(ours) == 15
    for psu, w in theirs.items():
        assert_allclose(ours[psu], w, rtol=1e-8)
        assert np.all(ours[psu][d.psu == psu] == 0)


def test_ready_made_replicate_weights_are_trimmed_column_by_column(jk1_calibrated):
    """Ready-made replicate weights (R's svrepdesign) are trimmed column by column, as re-running the recipe does."""
    rerun = survey.trim_weights(jk1_calibrated, upper=50)
    d = jk1_calibrated
    ready = survey.with_replicate_weights(d, d.replicate_weights(), scale=d.replicate_scale,
                                          rscales=d.replicate_rscales)
    trimmed = survey.trim_weights(ready, upper=50)
    assert_allclose(trimmed.replicate_weights(), rerun.replicate_weights(), rtol=1e-12)
    se = survey.mean(trimmed, "api00", variance="replicates")["se"].iloc[0]
    assert_allclose(se, r("jk1_cal_u50", "mean_api00_se"), rtol=1e-6)


def test_r_svyrep_method_is_not_followed_where_it_does_not_trim():
    """survey 4.1.1's trimWeights.svyrep.design leaves the full-sample weights untrimmed (its estimate is the
    untrimmed one) and changes the replicates' totals; the engine trims both and keeps every replicate's total."""
    for case in ("jk1_cal_u50", "jkn_strat_u40"):
        assert r(case, "svyrep_method_mean_api00") == r(case, "untrimmed_mean_api00")
        assert r(case, "svyrep_method_mean_api00") != pytest.approx(r(case, "mean_api00"), rel=1e-6)
        assert r(case, "svyrep_method_repweights_colsum_1") != pytest.approx(r(case, "untrimmed_repweights_colsum_1"))


def test_replicate_totals_are_kept(jk1_calibrated):
    """The engine's rule keeps each replicate's total weight, as it keeps the sample's."""
    d = survey.trim_weights(jk1_calibrated, upper=50)
    assert_allclose(d.replicate_weights().sum(axis=0), jk1_calibrated.replicate_weights().sum(axis=0), rtol=1e-12)


# ------------------------------------------------------------------------------------------ closed forms, by hand

def _toy(weights) -> Design:
    w = np.asarray(weights, dtype=float)
    return Design.from_frame(pd.DataFrame({"w": w, "y": np.arange(len(w), dtype=float)}), weights="w")


def test_upper_bound_shares_the_excess_equally_by_hand():
    """[1, 2, 3, 4, 10], upper 5: 10 → 5 and the 5 cut is shared equally, 1.25 each: [2.25, 3.25, 4.25, 5.25, 5]
    (proportional shares would give 2, 3, 4 ... instead); the total 20 is unchanged."""
    d = survey.trim_weights(_toy([1, 2, 3, 4, 10]), upper=5)
    assert_allclose(d.weights, [2.25, 3.25, 4.25, 5.25, 5], rtol=1e-15)
    assert d.weights.sum() == pytest.approx(20, rel=1e-15)
    assert d.steps[-1].info == {"lower": None, "upper": 5.0, "strict": False, "trimmed": 1, "passes": 1}


def test_strict_repeats_until_no_weight_is_above_the_bound_by_hand():
    """strict=True: the limit puts 4 and 10 at 5 and shares the 10 left equally over 1, 2, 3 (+4/3 each)."""
    d = survey.trim_weights(_toy([1, 2, 3, 4, 10]), upper=5, strict=True)
    assert_allclose(d.weights, [7 / 3, 10 / 3, 13 / 3, 5, 5], rtol=1e-12)
    assert d.weights.max() <= 5
    assert d.weights.sum() == pytest.approx(20, rel=1e-14)
    assert d.steps[-1].info["passes"] > 2


def test_lower_and_upper_bounds_share_the_net_trimming_by_hand():
    """[1, 2, 3, 4, 10] within [2, 8]: 1 → 2 (adds 1), 10 → 8 (cuts 2): the net 1 goes to 2, 3, 4 in thirds."""
    d = survey.trim_weights(_toy([1, 2, 3, 4, 10]), lower=2, upper=8)
    assert_allclose(d.weights, [2, 2 + 1 / 3, 3 + 1 / 3, 4 + 1 / 3, 8], rtol=1e-15)
    assert d.weights.sum() == pytest.approx(20, rel=1e-15)


def test_units_of_weight_zero_take_no_part():
    """A unit of weight 0 (a non-respondent) is neither raised to the lower bound nor given a share."""
    d = survey.trim_weights(_toy([0, 1, 2, 3, 4, 10]), lower=2, upper=8)
    assert d.weights[0] == 0
    assert_allclose(d.weights[1:], [2, 2 + 1 / 3, 3 + 1 / 3, 4 + 1 / 3, 8], rtol=1e-15)


def test_the_step_is_recorded_and_replicates_rerun_it_with_the_same_bounds():
    """The history says what was done; a replicate (base weights × factors) is trimmed by the same rule, bounds
    unchanged: factors 2 on the first two units make [2, 4, 3, 4, 10] → 10 → 5, +1.25 to the others."""
    base = _toy([1, 2, 3, 4, 10])
    d = survey.trim_weights(base, upper=5, label="écrêtage à 5")
    step = d.steps[-1]
    assert (step.kind, step.label) == ("trim_weights", "écrêtage à 5")
    assert_allclose(step.d, base.weights)
    f = np.column_stack([np.ones(5), [2, 2, 1, 1, 1]])
    d = survey.with_replicates(d, factors=f, scale=1.0)
    assert_allclose(d.replicate_weights()[:, 0], [2.25, 3.25, 4.25, 5.25, 5], rtol=1e-15)
    assert_allclose(d.replicate_weights()[:, 1], [3.25, 5.25, 4.25, 5.25, 5], rtol=1e-15)
    assert_allclose(d.weights, [2.25, 3.25, 4.25, 5.25, 5], rtol=1e-15)


@pytest.mark.parametrize("kwargs,match", [
    ({}, "lower= and/or upper="),
    ({"lower": -1, "upper": 5}, "non-negative"),
    ({"lower": 5, "upper": 5}, "below upper"),
    ({"lower": 6, "upper": 5}, "below upper"),
    ({"upper": 0}, "positive"),
    ({"upper": np.inf}, "finite"),
    ({"upper": float("nan")}, "finite"),
    ({"upper": "5"}, "number"),
    ({"upper": True}, "number"),
    ({"upper": 5, "strict": "yes"}, "strict must be"),
    ({"upper": 3.9, "strict": True}, r"more than 5 × 3\.9"),
    ({"lower": 4.1, "strict": True}, r"less than 5 × 4\.1"),
    ({"upper": 0.5}, "all 5 weights lie outside"),
])
def test_bad_or_unreachable_bounds_are_clear_errors(kwargs, match):
    """Bounds are checked; a strict bound the total cannot meet (R recurses without end) and bounds that leave no
    weight inside (R would drop part of the total) are refused."""
    with pytest.raises(ParameterError, match=match):
        survey.trim_weights(_toy([1, 2, 3, 4, 10]), **kwargs)


def test_a_replicate_that_cannot_meet_a_strict_bound_is_a_clear_error():
    """A replicate (factors 2 on the last three units: total 37 for five units) cannot hold every weight within 6."""
    d = survey.trim_weights(_toy([1, 2, 3, 4, 10]), upper=6, strict=True)
    d = survey.with_replicates(d, factors=np.array([[1.0], [1.0], [2.0], [2.0], [2.0]]), scale=1.0)
    with pytest.raises(ParameterError, match="in a replicate"):
        d.replicate_weights()


def test_a_subset_is_refused():
    """R's trimWeights on a subset gives the units outside it a share of the trimmed weight: trim first."""
    toy = _toy([1, 2, 3, 4, 10])
    with pytest.raises(ParameterError, match="subset"):
        survey.trim_weights(survey.subset(toy, np.array([True, True, True, True, False])), upper=5)
