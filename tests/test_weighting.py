"""Weighting engine beyond the R oracle: properties, identities, and every error case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from portrait.pipeline import config
from portrait import survey
from portrait.survey import Design
from portrait.pipeline.errors import CalibrationError, ParameterError
from tests import helpers
from portrait.survey import Margin


def _sample(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "sex": rng.choice(["F", "H"], n, p=[0.55, 0.45]),
        "age": rng.choice(["15-29", "30-44", "45-59", "60+"], n, p=[0.15, 0.2, 0.3, 0.35]),
        "dep": rng.choice(["02", "59", "60"], n, p=[0.2, 0.5, 0.3]),
        "y": rng.normal(50, 10, n),
        "stratum": rng.choice(["a", "b"], n),
        "resp": rng.random(n) < 0.7,
    })
    df["w"] = rng.uniform(50, 150, n)
    return df


POP = {"sex": {"F": 26_000, "H": 24_000},
       "age": {"15-29": 11_000, "30-44": 12_000, "45-59": 13_000, "60+": 14_000},
       "dep": {"02": 10_000, "59": 25_000, "60": 15_000}}
MARGINS = [Margin.of(k, v) for k, v in POP.items()]


def _design(seed=0, n=400):
    return Design.from_frame(_sample(seed, n), weights="w", strata="stratum")


def _weighted_totals(design, margin):
    key = design.data[list(margin.variables)].astype(str).agg(" × ".join, axis=1)
    return {lv: design.weights[(key == " × ".join(lv)).to_numpy()].sum() for lv in margin.totals}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["linear", "raking", "logit", "truncated"]))
def test_calibrated_weights_reproduce_every_margin(seed, method):
    """Whatever the sample, calibrated weights reproduce every margin (relative error < 1e-8)."""
    bounds = (0.2, 5.0) if method in ("logit", "truncated") else None
    cal = survey.calibrate(_design(seed), MARGINS, method=method, bounds=bounds)
    for m in MARGINS:
        got = _weighted_totals(cal, m)
        for lv, target in m.totals.items():
            assert got[lv] == pytest.approx(target, rel=1e-8)


def _feasible(design, L: float, U: float) -> bool:
    """Whether some g in [L, U] gives weights ``d g`` that reproduce every margin of ``MARGINS``: a linear program
    on the units (scipy's HiGHS), which knows nothing of the calibration's Newton steps."""
    from scipy.optimize import linprog

    rows, targets = [], []
    for m in MARGINS:
        key = design.data[list(m.variables)].astype(str).agg(" × ".join, axis=1).to_numpy()
        for level, target in m.totals.items():
            rows.append((key == " × ".join(level)) * design.weights)
            targets.append(target)
    r = linprog(np.zeros(len(design.weights)), A_eq=np.array(rows), b_eq=np.array(targets),
                bounds=[(L, U)] * len(design.weights), method="highs")
    return r.status == 0


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), L=st.floats(0.3, 0.8), U=st.floats(1.3, 3.0))
def test_bounded_logit_keeps_g_within_bounds(seed, L, U):
    """Bounded logit keeps every g = w/d within [L, U] and reproduces every margin; or it raises a CalibrationError
    saying « infeasible », and then a linear program finds no g within the bounds moved 2 % of their distance to 1
    towards it (oracle: the LP; the margin leaves room for logit, whose g stays strictly inside, near the edge).
    The samples' 15–29 cells need g near 1.8, so both outcomes occur among the bounds drawn."""
    d = _design(seed)
    try:
        cal = survey.calibrate(d, MARGINS, method="logit", bounds=(L, U))
    except CalibrationError as exc:
        assert "infeasible" in str(exc)
        assert not _feasible(d, L + 0.02 * (1 - L), U - 0.02 * (U - 1)), "feasible within the bounds"
        return
    g = cal.weights / d.weights
    assert g.min() >= L - 1e-12 and g.max() <= U + 1e-12
    for m in MARGINS:
        got = _weighted_totals(cal, m)
        for lv, target in m.totals.items():
            assert got[lv] == pytest.approx(target, rel=1e-8)


def test_bounded_logit_outcomes_follow_feasibility():
    """The two outcomes of the property above, each on fixed bounds the linear program classes: calibrated within
    bounds that hold a solution with room to spare, refused within bounds that hold none."""
    d = _design(3)
    assert _feasible(d, 0.3, 3.0) and not _feasible(d, 0.8, 1.3)
    g = survey.calibrate(d, MARGINS, method="logit", bounds=(0.3, 3.0)).weights / d.weights
    assert 0.3 <= g.min() and g.max() <= 3.0
    with pytest.raises(CalibrationError, match="infeasible"):
        survey.calibrate(d, MARGINS, method="logit", bounds=(0.8, 1.3))


def test_raking_equals_iterated_post_stratification():
    """Newton raking gives the same weights as iterated proportional fitting (IPF) run to convergence."""
    d = _design(3)
    cal = survey.calibrate(d, MARGINS, method="raking")
    w = d.weights.copy()
    for _ in range(500):
        for m in MARGINS:
            key = d.data[m.variables[0]].astype(str).to_numpy()
            for (lv,), target in m.totals.items():
                sel = key == lv
                w[sel] *= target / w[sel].sum()
    assert_allclose(cal.weights, w, rtol=1e-9)


def test_joint_margin_is_post_stratification():
    """Calibrating on a joint sex × age margin gives every cell its population total (post-stratification)."""
    d = _design(5)
    cells = {(s, a): 5_000 + 100 * i for i, (s, a) in enumerate(
        [(s, a) for s in ("F", "H") for a in ("15-29", "30-44", "45-59", "60+")])}
    cal = survey.calibrate(d, [Margin.of(("sex", "age"), cells)], method="linear")
    m = Margin.of(("sex", "age"), cells)
    got = _weighted_totals(cal, m)
    for lv, t in m.totals.items():
        assert got[lv] == pytest.approx(t, rel=1e-10)
    g = cal.weights / d.weights
    key = d.data["sex"] + d.data["age"]
    assert (pd.Series(np.round(g, 10)).groupby(key.to_numpy()).nunique() == 1).all()


class TestCalibrationErrors:
    def test_different_grand_totals(self):
        """Margins with different grand totals are refused, with both totals named."""
        bad = [MARGINS[0], Margin.of("dep", {"02": 10_000, "59": 25_000, "60": 16_000})]
        with pytest.raises(CalibrationError, match=r"different grand totals: 'sex' 50,000, 'dep' 51,000"):
            survey.calibrate(_design(), bad)

    def test_margin_level_absent_from_sample(self):
        """A margin level with no unit in the sample is named with its total."""
        m = Margin.of("dep", {"02": 10_000, "59": 20_000, "60": 15_000, "80": 5_000})
        with pytest.raises(CalibrationError, match=r"margin 'dep': level '80' has a population total of 5,000 "
                                                   "but no unit"):
            survey.calibrate(_design(), [MARGINS[0], m])

    def test_sample_level_absent_from_margin(self):
        """A sample level missing from the margin is named with its count."""
        m = Margin.of("dep", {"02": 10_000, "59": 40_000})
        with pytest.raises(CalibrationError, match=r"level '60' occurs in the sample \(\d+ units\) but has no"):
            survey.calibrate(_design(), [MARGINS[0], m])

    def test_missing_values_are_counted(self):
        """Missing values in a calibration variable are counted, not silently recycled (R's pitfall)."""
        df = _sample(1)
        df.loc[[3, 7, 11], "age"] = None
        d = Design.from_frame(df, weights="w")
        with pytest.raises(CalibrationError, match=r"variable 'age' has 3 missing value\(s\)"):
            survey.calibrate(d, MARGINS)

    def test_redundant_and_contradictory_constraints(self):
        """A joint sex × age margin plus a one-way sex margin is redundant; with other totals, contradictory."""
        cells = {(s, a): 6_250 for s in ("F", "H") for a in ("15-29", "30-44", "45-59", "60+")}
        joint = Margin.of(("sex", "age"), cells)
        with pytest.raises(CalibrationError, match="redundant"):
            survey.calibrate(_design(), [joint, Margin.of("sex", {"F": 25_000, "H": 25_000})])
        with pytest.raises(CalibrationError, match="contradictory"):
            survey.calibrate(_design(), [joint, Margin.of("sex", {"F": 26_000, "H": 24_000})])

    def test_infeasible_bounds_name_margin_and_tightest_bounds(self):
        """Infeasible bounds name the unreachable margin and give the tightest feasible bounds (LP)."""
        d = _design(2)
        skewed = [Margin.of("sex", {"F": 45_000, "H": 5_000}), MARGINS[1]]
        with pytest.raises(CalibrationError) as exc:
            survey.calibrate(d, skewed, method="logit", bounds=(0.8, 1.25))
        msg = str(exc.value)
        assert "infeasible within the bounds" in msg and "margin 'sex'" in msg
        assert "upper bound must be at least" in msg and "lower bound must be at most" in msg
        lo, hi = map(float, msg.split("narrowest feasible bounds are [")[1].split("]")[0].split(", "))
        assert lo < 0.8
        ok = survey.calibrate(d, skewed, method="logit", bounds=(lo * 0.98, hi * 1.02))
        g = ok.weights / d.weights
        assert g.min() >= lo * 0.98 - 1e-9 and g.max() <= hi * 1.02 + 1e-9
        with pytest.raises(CalibrationError):
            survey.calibrate(d, skewed, method="logit", bounds=(lo * 1.05, hi * 0.95))

    def test_bad_method_and_bounds(self):
        """Unknown methods and bounds that do not bracket 1 are parameter errors."""
        with pytest.raises(ParameterError, match="must be one of"):
            survey.calibrate(_design(), MARGINS, method="ranking")
        with pytest.raises(ParameterError, match="L < 1 < U"):
            survey.calibrate(_design(), MARGINS, method="logit", bounds=(1.2, 3))


def test_nonresponse_groups_restore_the_sample_totals():
    """Response-group adjustment: respondents' weights sum, in each group, to the whole sample's."""
    d = _design(4)
    nr = survey.adjust_nonresponse(d, "resp", groups=["dep"])
    resp = d.data["resp"].to_numpy()
    assert (nr.weights[~resp] == 0).all()
    for dep in ("02", "59", "60"):
        sel = (d.data["dep"] == dep).to_numpy()
        assert nr.weights[sel].sum() == pytest.approx(d.weights[sel].sum())
    table = nr.steps[-1].info.groups
    assert set(table["groupe"]) == {"02", "59", "60"}


def test_propensity_classes_are_statsmodels_scores_cut_in_equal_classes():
    """Oracle: statsmodels' binomial GLM on the design matrix pandas builds (indicators but the first level,
    design weights as variance weights); its scores cut where classes of equal size begin (equal scores together), each
    respondent's weight divided by its class's weighted response rate. The engine fits the same model by its
    own Newton iterations on the matrix's distinct rows: same coefficients (rtol 1e-6: statsmodels stops at a
    deviance tolerance of 1e-8), same classes, same weights (rtol 1e-12). Levels are text and one variable has
    a missing value, read as the level « nan », as pandas reads it."""
    import statsmodels.api as sm

    df = _sample(9, 600)
    df["size"] = np.where(df["y"] > 55, "10", np.where(df["y"] > 45, "2", None))
    d = Design.from_frame(df, weights="w", strata="stratum")
    nr = survey.adjust_nonresponse(d, "resp", propensity=["dep", "size", "age"], n_classes=4, min_respondents=5)
    X = sm.add_constant(pd.get_dummies(df[["dep", "size", "age"]].astype(str), drop_first=True, dtype=float))
    resp = df["resp"].to_numpy()
    fit = sm.GLM(resp.astype(float), X, family=sm.families.Binomial(), var_weights=df["w"] / df["w"].mean()).fit()
    model = nr.steps[-1].info.model
    assert_allclose(model.coef, fit.params.to_numpy(), rtol=1e-6)
    assert list(model.names) == list(X.columns)
    assert_allclose(model.X, X.to_numpy())
    assert_allclose(model.fit.params.to_numpy(), fit.params.to_numpy(), rtol=1e-12)    # on demand, the same fit
    score = np.asarray(fit.predict(X))
    ordered = np.sort(score)
    cuts = ordered[[int(np.ceil(c * len(df) / 4)) for c in (1, 2, 3)]]     # the scores where 4 equal classes begin
    cls = np.searchsorted(cuts, score, side="right")       # R cut(score, c(-Inf, cuts, Inf), right = FALSE)
    assert len(np.unique(score)) < len(df)                 # equal rows, equal scores: the oracle keeps them together
    assert np.bincount(cls, weights=resp.astype(float)).min() >= 5      # no merging: the oracle stays simple
    w = df["w"].to_numpy()
    tot, rsp = np.bincount(cls, weights=w), np.bincount(cls, weights=w * resp)
    assert_allclose(nr.weights, np.where(resp, w * (tot / rsp)[cls], 0.0), rtol=1e-12)


def test_nonresponse_then_calibration_then_replicates_rerun_everything():
    """Replicate weights re-run non-response adjustment (by a variable the calibration does not use, so that
    calibration cannot absorb it) and calibration: each replicate meets the margins, and the
    replicate SE equals a brute-force bootstrap in which each replicate's design weights go through the whole
    recipe on their own (a plain design per replicate, no replicate machinery; rtol 1e-9)."""
    base = _design(6)
    d = survey.with_replicates(base, "bootstrap", 20, config.rng(1, "test"))
    nr = survey.adjust_nonresponse(d, "resp", groups=["stratum"])
    cal = survey.calibrate(nr, MARGINS, method="raking")
    R = cal.replicate_weights()
    key = cal.data["dep"].to_numpy()
    resp = cal.data["resp"].to_numpy()
    for r in range(R.shape[1]):
        assert R[key == "59", r].sum() == pytest.approx(25_000, rel=1e-8)
        assert (R[~resp, r] == 0).all()
    thetas = []
    for r in range(R.shape[1]):
        rep = Design.from_frame(base.data.assign(w=base.weights * d.replicate_factors[:, r]), weights="w",
                                strata="stratum")
        rep = survey.calibrate(survey.adjust_nonresponse(rep, "resp", groups=["stratum"]), MARGINS, method="raking")
        thetas.append(np.sum(rep.weights * rep.data["y"]) / np.sum(rep.weights))
    thetas = np.array(thetas)
    brute = np.sqrt(np.sum((thetas - thetas.mean()) ** 2) / (len(thetas) - 1))   # R svrVar, bootstrap, mse=FALSE
    se = survey.mean(cal, "y", variance="replicates")["se"].iloc[0]
    assert se == pytest.approx(brute, rel=1e-9)


def test_trimming_holds_bounds_and_margins():
    """Trim-and-recalibrate ends with every weight within the bounds and every margin met."""
    d = _design(8)
    cal = survey.calibrate(d, MARGINS, method="linear")
    lo, hi = np.quantile(cal.weights, [0.05, 0.95])
    tr = survey.trim(cal, MARGINS, lower=lo, upper=hi)
    assert tr.weights.min() >= lo - 1e-6 and tr.weights.max() <= hi + 1e-6
    for m in MARGINS:
        for lv, t in _weighted_totals(tr, m).items():
            assert t == pytest.approx(m.totals[lv], rel=1e-7)


def test_trimming_holds_every_capped_weight_at_its_bound_and_counts_them():
    """Cap, then re-calibrate the others with the capped ones held: a weight below the lower bound after calibration
    ends exactly at it (as one above the upper bound ends at it), and ``trimmed`` counts the weights that end on a
    bound. A version that held only the upper-capped weights still ended within the bounds and met the margins, but
    moved the lower-capped ones (and reported half as many trimmed)."""
    cal = survey.calibrate(_design(8), MARGINS, method="linear")
    lo, hi = np.quantile(cal.weights, [0.10, 0.90])
    tr = survey.trim(cal, MARGINS, lower=lo, upper=hi)
    below, above = cal.weights < lo, cal.weights > hi
    assert below.sum() > 10 and above.sum() > 10
    np.testing.assert_array_equal(tr.weights[below], lo)
    np.testing.assert_array_equal(tr.weights[above], hi)
    at_bound = int(np.sum((tr.weights == lo) | (tr.weights == hi)))
    assert tr.steps[-1].info["trimmed"] == at_bound >= below.sum() + above.sum()


def test_trimming_is_rerun_in_every_bootstrap_replicate_with_the_margins_met():
    """Bootstrap replicates re-run trim-and-recalibrate: every replicate meets every margin again (the replicate's
    totals against the margins' figures). With bounds fixed for all replicates, a unit the resampling draws twice
    would have to be cut to the sample's bound and the re-calibration would fail; each unit's bounds follow its
    replicate factor, and the sample's own trimming is unchanged (same weights as without replicates)."""
    d = survey.with_replicates(_design(8), "bootstrap", 20, config.rng(3, "test"))
    cal = survey.calibrate(d, MARGINS, method="linear")
    lo, hi = np.quantile(cal.weights, [0.05, 0.95])
    tr = survey.trim(cal, MARGINS, lower=lo, upper=hi)
    plain = survey.trim(survey.calibrate(_design(8), MARGINS, method="linear"), MARGINS, lower=lo, upper=hi)
    assert np.array_equal(tr.weights, plain.weights)
    R = tr.replicate_weights()
    for m in MARGINS:
        key = tr.data[list(m.variables)].astype(str).agg(" × ".join, axis=1).to_numpy()
        for lv, t in m.totals.items():
            assert np.allclose(R[key == " × ".join(lv)].sum(axis=0), t, rtol=1e-7)


def test_a_replicate_that_cannot_be_trimmed_widens_its_bounds_and_is_kept():
    """Bounds at the 10th and 90th percentiles hold in the sample but, even scaled by the replicate factors, not
    in every one of 50 bootstrap replicates: those widen their bounds step by step (never narrower than asked),
    are listed in the replicate adjustments, still meet every margin, and no replicate is dropped."""
    d = survey.with_replicates(_design(8), "bootstrap", 50, config.rng(3, "test"))
    cal = survey.calibrate(d, MARGINS, method="linear")
    lo, hi = np.quantile(cal.weights, [0.1, 0.9])
    tr = survey.trim(cal, MARGINS, lower=lo, upper=hi)
    R = tr.replicate_weights()
    adj = tr.replicate_adjustments()
    assert R.shape[1] == 50 and 0 < adj["replicate"].nunique() < 50
    assert (adj["lower"] < lo).all() and (adj["upper"] > hi).all()
    for m in MARGINS:
        key = tr.data[list(m.variables)].astype(str).agg(" × ".join, axis=1).to_numpy()
        for lv, t in m.totals.items():
            assert np.allclose(R[key == " × ".join(lv)].sum(axis=0), t, rtol=1e-7)


def test_trimming_impossible_fails_explicitly():
    """Bounds no weights can meet together with the margins give an explicit CalibrationError."""
    d = survey.calibrate(_design(8), MARGINS, method="linear")
    with pytest.raises(CalibrationError, match="found no weights within the bounds that meet every margin") as err:
        survey.trim(d, MARGINS, lower=120, upper=121, max_cycles=10)
    # the levels no weights within the bounds can bring to their target are named, with what they can reach
    n = int((d.data["sex"].astype(str) == "H").sum())
    assert f"margin sex, level H: target 24000, but its {n} unit(s) total at most {121 * n:.6g}" in str(err.value)


def test_diagnostics_kish():
    """Kish's deff equals 1 + CV² of the weights (population CV: Kish 1965, an identity independent of the
    n Σw²/(Σw)² the code uses), and the effective size of weights (1, 1, 2, 4) is 64/22 by hand."""
    rng = np.random.default_rng(0)
    for w in (np.ones(10), rng.uniform(1, 9, 50), rng.lognormal(0, 1, 500)):
        cv = np.std(w) / np.mean(w)
        assert survey.kish_deff(w) == pytest.approx(1 + cv ** 2, rel=1e-12)
    cal = survey.calibrate(_design(), MARGINS)
    diag = survey.weight_diagnostics(cal)
    w = cal.weights[cal.weights > 0]
    assert diag["n"] == len(w)
    assert diag["deff de Kish"] == pytest.approx(1 + (np.std(w) / np.mean(w)) ** 2, rel=1e-12)
    assert diag["taille effective"] == pytest.approx(w.sum() ** 2 / (w ** 2).sum(), rel=1e-12)
    four = survey.weight_diagnostics(Design.from_frame(pd.DataFrame({"w": [1.0, 1, 2, 4]}), weights="w"))
    assert four["taille effective"] == pytest.approx(64 / 22, rel=1e-12)


def test_calibration_lowers_se_of_a_correlated_variable():
    """Linearised SE after calibration on an auxiliary correlated with y is smaller than with weights fixed."""
    df = _sample(9, 800)
    df["y"] = np.where(df["age"] == "60+", 80, 20) + np.random.default_rng(0).normal(0, 5, len(df))
    d = Design.from_frame(df, weights="w")
    cal = survey.calibrate(d, MARGINS, method="raking")
    se_cal = survey.mean(cal, "y")["se"].iloc[0]
    fixed = Design.from_frame(df.assign(w=cal.weights), weights="w")
    se_fixed = survey.mean(fixed, "y")["se"].iloc[0]
    assert se_cal < 0.5 * se_fixed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=10**6), max_size=60))
def test_distinct_codes_counts_as_numpy_unique(values):
    from portrait.survey.labels import _distinct
    for dtype in (np.int64, np.float64):
        codes = np.asarray(values, dtype=dtype)
        assert _distinct(codes) == len(np.unique(codes))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=10**6), min_size=1, max_size=80), st.sampled_from([np.int64, np.int32]))
def test_psu_codes_counted_are_numpy_unique_and_a_stable_argsort(values, dtype):
    """The PSU structure's coding equals numpy's: np.unique's values, inverse and counts (the same dtypes), and the
    stable argsort of the codes, whether the codes are counted (small non-negative range) or sorted (any other)."""
    from portrait.survey.labels import stable_order as _stable_order, unique_codes as _unique_codes
    codes = np.asarray(values, dtype=dtype)
    for got, ref in zip(_unique_codes(codes), np.unique(codes, return_inverse=True, return_counts=True)):
        np.testing.assert_array_equal(got, ref)
        assert got.dtype == ref.dtype
    inverse = np.unique(codes, return_inverse=True)[1]
    np.testing.assert_array_equal(_stable_order(inverse, int(inverse.max()) + 1), np.argsort(inverse, kind="stable"))
    many = np.random.default_rng(len(values)).integers(0, 7, 3000)       # long runs of ties: only a stable sort keeps them
    np.testing.assert_array_equal(_stable_order(many, 7), np.argsort(many, kind="stable"))


def test_degrees_of_freedom_and_psu_structure_follow_the_arrays_of_derived_designs():
    """Designs derived with ``dataclasses.replace`` share the PSU structure of the arrays they keep and
    recompute it for new arrays; degrees of freedom count PSUs and strata with a positive weight."""
    from dataclasses import replace
    from portrait.survey.linearisation import _structure
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame({"h": rng.integers(0, 6, n), "y": rng.normal(size=n)})
    df["c"] = df["h"] * 100 + rng.integers(0, 8, n)
    d = Design.from_frame(df, weights=rng.uniform(1, 3, n), strata="h", psu="c")
    zero = np.where(df["h"].to_numpy() == 2, 0.0, d.weights)       # one stratum without weight
    d2 = replace(d, weights=zero)
    assert _structure(d2) is _structure(d)
    for design in (d, d2):
        pos = design.weights > 0
        assert design.degf == len(np.unique(design.psu[pos])) - len(np.unique(design.strata[pos]))
    moved = d.psu.copy()
    moved[df["h"].to_numpy() == 1] = moved.max() + 1               # stratum 1 becomes one PSU
    d3 = replace(d, psu=moved)
    assert _structure(d3) is not _structure(d)
    fresh = Design(data=d.data, weights=d.weights, strata=d.strata.copy(), psu=moved.copy(), fpc=d.fpc.copy(),
                   lonely_psu="remove")
    z = rng.normal(size=(n, 2))
    assert_allclose(survey.linearised_variance(replace(d3, lonely_psu="remove"), z),
                    survey.linearised_variance(fresh, z), rtol=1e-15)
    assert d3.degf == len(np.unique(moved)) - len(np.unique(d.strata))


def test_units_as_their_own_psus_give_the_ultimate_cluster_formula_and_psu_totals_a_copy():
    """Brute force: with every unit its own PSU (units in the order of their codes, or labelled out of order), the
    variance is Σ_h (1 − f_h) n_h/(n_h − 1) Σ_i (z_hi − z̄_h)(z_hi − z̄_h)', summed stratum by stratum in a loop, and
    psu_totals gives the units' values in a new array (z itself is read, never handed back)."""
    rng = np.random.default_rng(8)
    n = 300
    df = pd.DataFrame({"h": rng.integers(0, 4, n), "id": rng.permutation(n) * 3})
    df["N"] = df["h"].map({0: 500, 1: 90, 2: 1000, 3: 200})
    z = rng.normal(size=(n, 3))
    for psu in (None, "id"):
        d = Design.from_frame(df, weights=rng.uniform(1, 3, n), strata="h", psu=psu, fpc="N")
        order = np.argsort(d.psu)                       # the PSUs' order (their codes)
        ref = np.zeros((3, 3))
        for h in np.unique(d.strata):
            zh = z[d.strata == h]
            nh, f = len(zh), d.fpc[d.strata == h][0]
            ref += (1 - f) * nh / (nh - 1) * (zh - zh.mean(0)).T @ (zh - zh.mean(0))
        assert_allclose(survey.linearised_variance(d, z), ref, rtol=1e-12)
        Z, _, _ = survey.psu_totals(d, z)
        assert Z is not z
        assert_allclose(Z, z[order], rtol=0)
        Z[:] = 0.0
        assert np.abs(z).sum() > 0


def test_psu_totals_are_each_psus_units_summed_in_their_order():
    """Brute force: a PSU's total is 0 + z_1 + z_2 + … over its units in the data's order, to the last bit (the sums
    of np.bincount, which the linearised variances of the R-fixture tests were computed with)."""
    rng = np.random.default_rng(9)
    n = 500
    df = pd.DataFrame({"h": rng.integers(0, 3, n), "c": rng.integers(0, 40, n)})
    d = Design.from_frame(df, weights=rng.uniform(1, 3, n), strata="h", psu="c")
    z = rng.normal(size=(n, 4)) * 10.0 ** rng.integers(-8, 9, size=(n, 4))     # magnitudes that round differently
    Z, psu_stratum, _ = survey.psu_totals(d, z)
    codes, ref = np.unique(d.psu), np.zeros((len(psu_stratum), 4))
    for i in range(n):
        ref[np.searchsorted(codes, d.psu[i])] += z[i]
    np.testing.assert_array_equal(Z, ref)


def test_a_design_prints_as_a_summary_not_its_data():
    """``print(design)`` dumped the whole data frame and every array (a trial analyst's complaint); it now reads as
    R prints a design: counts, strata, PSUs and df (here by hand: 400 units in 2 strata, each unit its own PSU, so
    400 − 2 = 398 df), fpc, weights, steps, replicates — in a few lines, without any unit's values."""
    d = _design(8)
    cal = survey.with_replicates(survey.calibrate(d, MARGINS, method="raking", label="calage"), "bootstrap", 20,
                                 config.rng(3, "test"))
    text = repr(cal)
    assert text == str(cal) and len(text.splitlines()) <= 8
    assert text.startswith(f"Design: {len(d.data)} units, {d.n} with a positive weight")
    assert "2 strata, 400 units sampled directly, 398 degrees of freedom" in text
    assert "steps: calage" in text and "replicates: 20 (bootstrap)" in text
    assert len(text) < 600 and repr(float(d.data["y"].iloc[0])) not in text


def test_newton_stops_when_no_step_lowers_the_misfit():
    """A trial turned trimming on: `make` took 18 min instead of 2, as every replicate whose capped units left a margin
    out of reach ran 100 Newton iterations of 40 step halvings each, every one of which moved λ by 2⁻⁴⁰ of a step.
    With a level no unit holds (its total cannot move, and the largest misfit with it), Newton now stops at the first
    iteration whose halvings find no lower misfit, with the same misfit and weights the 100 iterations left."""
    from portrait.survey.calibration import _newton

    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])     # column 2: a level no unit holds
    d = np.array([1.0, 2.0, 3.0, 4.0])
    g, _, iterations, rel = _newton(X, d, np.array([14.0, 5.0]), "raking", -np.inf, np.inf, 100, 1e-10)
    assert iterations == 1 and rel == pytest.approx(5.0 / 6.0) and np.allclose(g, 1.0)   # |5 − 0| / (1 + 5)
    g, _, iterations, rel = _newton(X[:, :1], d, np.array([14.0]), "raking", -np.inf, np.inf, 100, 1e-10)
    assert rel < 1e-10 and (X[:, 0] * d * g).sum() == pytest.approx(14.0, rel=1e-12)      # reachable: solved


def test_newton_on_a_stack_of_replicates_gives_each_the_numbers_of_its_own_solve():
    """The replicates of a calibration are solved at once (newton._newton_rows). Oracle: the one-problem solver run
    on each row alone, compared bit for bit (g, λ, iterations, misfit; both run in this process: a same-machine
    comparison), for every distance, on rows whose cells include empty ones (a replicate drawing none of their
    units), rows that converge in different numbers of iterations, and rows whose bounds or margins cannot be met
    (they stall, or run out of iterations)."""
    from portrait.survey.newton import _newton, _newton_rows

    rng = np.random.default_rng(17)
    cells = 40
    a, b = rng.integers(0, 4, cells), rng.integers(0, 3, cells)
    X_all = np.column_stack([a == k for k in range(4)] + [b == k for k in range(3)]).astype(float)
    X = X_all[:, [0, 1, 2, 3, 5, 6]]
    T_all = np.array([30.0, 25.0, 20.0, 25.0, 45.0, 35.0, 20.0])
    D = rng.uniform(0.5, 4.0, (12, cells)) * (rng.random((12, cells)) < 0.85)
    D[3] *= 3.0                                          # far from the margins: beyond the bounds below
    for method, (L, U), maxit in (("raking", (-np.inf, np.inf), 100), ("linear", (-np.inf, np.inf), 100),
                                  ("logit", (0.5, 2.0), 100), ("truncated", (0.6, 1.8), 100),
                                  ("raking", (0.7, 1.4), 100), ("logit", (0.3, 3.0), 2)):
        G, LAM, IT, REL = _newton_rows(X, D, T_all[[0, 1, 2, 3, 5, 6]], method, L, U, maxit, 1e-10, X_all, T_all)
        for r, d in enumerate(D):
            g, lam, it, rel = _newton(X, d, T_all[[0, 1, 2, 3, 5, 6]], method, L, U, maxit, 1e-10, X_all, T_all)
            assert np.array_equal(G[r], g, equal_nan=True) and np.array_equal(LAM[r], lam), (method, r)
            assert IT[r] == it and (REL[r] == rel or np.isnan(rel) and np.isnan(REL[r])), (method, r)
        assert len(set(IT)) > 1 or maxit == 2 or method == "linear", method      # rows stopping at other iterations
    assert not (REL < 1e-10).all()       # some rows could not be calibrated within their bounds


def test_propensity_classes_never_split_equal_scores_and_ignore_row_order():
    """Trial AC: the residents' propensity model has few covariate patterns (department × size class), so classes of
    exactly equal size had to cut through groups of identical units, in file order: identical respondents got factors
    12 % apart, and the weights changed when the rows were shuffled. Oracles: units with the same covariates get the
    same factor, and a permutation of the rows permutes the weights and nothing else (to rounding)."""
    df = helpers.department_size_sample()
    nr = survey.adjust_nonresponse(Design.from_frame(df, weights="w", strata="stratum"), "resp",
                                   propensity=["dep", "size"], n_classes=5, min_respondents=5)
    factor = pd.Series(nr.weights / df["w"].to_numpy()).loc[df["resp"].to_numpy()]
    assert (factor.round(12).groupby([df["dep"], df["size"]]).nunique() == 1).all()      # w × f / w is f to 1e-15
    perm = np.random.default_rng(12).permutation(len(df))
    shuffled = survey.adjust_nonresponse(Design.from_frame(df.iloc[perm].reset_index(drop=True), weights="w",
                                                           strata="stratum"), "resp",
                                         propensity=["dep", "size"], n_classes=5, min_respondents=5)
    assert_allclose(shuffled.weights, nr.weights[perm], rtol=1e-12)      # sums in another order: the last bits


def test_propensity_scores_are_statsmodels_predictions_one_per_covariate_pattern():
    """The scores the classes are cut on, as the reports count them (« le modèle donne 22 probabilités distinctes »):
    statsmodels' predictions of the same weighted binomial GLM (rtol 1e-6), and, the model holding only categorical
    variables, as many distinct values as there are distinct combinations of their levels (counted by brute force)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    n = 700
    df = pd.DataFrame({"dep": rng.choice(["02", "59", "60"], n), "size": rng.choice(["a", "b", "c"], n),
                       "stratum": rng.choice(["s1", "s2"], n), "w": rng.uniform(1, 4, n)})
    df["resp"] = rng.random(n) < np.where(df["dep"] == "59", 0.35, 0.6) + np.where(df["size"] == "c", 0.2, 0.0)
    nr = survey.adjust_nonresponse(Design.from_frame(df, weights="w", strata="stratum"), "resp",
                                   propensity=["dep", "size"], n_classes=4, min_respondents=5)
    model = nr.steps[-1].info.model
    X = sm.add_constant(pd.get_dummies(df[["dep", "size"]], drop_first=True, dtype=float))
    fit = sm.GLM(df["resp"].astype(float), X, family=sm.families.Binomial(), var_weights=df["w"] / df["w"].mean()).fit()
    assert_allclose(model.scores, np.asarray(fit.predict(X)), rtol=1e-6)
    assert len(np.unique(model.scores)) == len(df[["dep", "size"]].drop_duplicates()) == 9


def test_groups_whose_labels_would_merge_are_refused():
    """An audit: group labels joined the levels with « × », so the cells (« a × b », « c ») and (« a », « b × c »)
    became one weighting class (respondent weights 13.33 for both, where the closed form gives 20 and 10), and a
    target level holding « × » crashed the collapsing. Groups are tuples now; labels that would collide are refused
    by name, and the ordinary labels are unchanged."""
    k = pd.DataFrame({"x": ["a × b"] * 20 + ["a"] * 20, "y": ["c"] * 20 + ["b × c"] * 20})
    with pytest.raises(ParameterError, match=r"the levels of 'x', 'y' hold « × »"):
        survey.collapse_groups(k, np.ones(40, bool), 5)
    ok = pd.DataFrame({"x": ["a"] * 30 + ["b"] * 12, "y": ["u"] * 20 + ["v"] * 10 + ["u"] * 10 + ["v"] * 2})
    lab = survey.collapse_groups(ok, np.ones(42, bool), 5)
    assert list(pd.Series(lab).value_counts().sort_index().items()) == [("a × u", 20), ("a × v", 10), ("b × u", 12)]


def test_collapsing_breaks_ties_by_label_and_collapse_false_refuses_colliding_labels():
    """A review of the tuple groups: ties on respondents were broken by tuple order, which differs from the labels'
    where a level is another plus a space (« a » and « a b »: the small group merged into the other sibling); and
    adjust_nonresponse(collapse=False) still merged (« a × b », « c ») and (« a », « b × c »). Ties go by label as
    before (the label order, by hand: « g × a × x » > « g × a b × x », « × » sorting after « b »), and the
    non-collapsed groups are refused as the collapsed ones."""
    k = pd.DataFrame({"a": ["g"] * 7, "b": ["a", "a", "a b", "a b", "c", "c", "c"], "c": ["x"] * 7})
    lab = survey.collapse_groups(k, np.array([1, 1, 1, 1, 0, 0, 1], bool), 2)
    assert list(lab[4:]) == ["g × a × x"] * 3 and "g × a × x" > "g × a b × x"
    df = pd.DataFrame({"x": ["a × b"] * 10 + ["a"] * 10, "y": ["c"] * 10 + ["b × c"] * 10, "w": 1.0,
                       "r": [True] * 5 + [False] * 5 + [True] * 6 + [False] * 4})
    d = Design.from_frame(df, weights="w")
    with pytest.raises(ParameterError, match="hold « × »"):
        survey.adjust_nonresponse(d, "r", groups=["x", "y"], min_respondents=1, collapse=False)


def test_propensity_design_patterns_are_the_distinct_rows_of_the_dummy_matrix_with_many_variables():
    """By brute force (the n-row matrix of indicators, first level dropped, then np.unique), with missing values and
    twelve variables of 63 levels: 64¹² combinations are more than an int64 numbers, so the units' key is renumbered on
    the way (without it, units told apart by the first variables only would share a key and a pattern)."""
    from portrait.survey import nonresponse

    rng = np.random.default_rng(12)
    n, levels = 200, [f"l{j:02d}" for j in range(63)]
    data = pd.DataFrame({"v0": rng.choice(levels + [None], n)})
    for i in range(1, 12):      # every level present, most units on the first
        data[f"v{i}"] = [levels[k] if k < len(levels) else levels[0] for k in range(n)]
    for variables in ([], ["v0", "v1"], list(data.columns)):
        blocks, names = [np.ones((n, 1))], ["const"]
        for v in variables:
            text = data[v].astype(str)
            found = sorted(set(text.dropna()))
            blocks.append(np.column_stack([(text == lv).to_numpy(dtype=float) for lv in found[1:]]))
            names += [f"{v}_{lv}" for lv in found[1:]]
        want, of = np.unique(np.hstack(blocks), axis=0, return_inverse=True)
        patterns, pattern_of, got_names = nonresponse._design_patterns(data, variables)
        assert np.array_equal(patterns, want) and np.array_equal(pattern_of, of.ravel()) and got_names == names


def test_least_squares_of_a_stack_are_numpy_lstsq_of_each_problem(monkeypatch):
    """The replicates' Newton steps are solved for the whole stack at once (newton.lstsq_rows). Oracle: numpy's lstsq
    on each problem alone, bit for bit (both in this process: a same-machine comparison), on square, tall and
    rank-deficient problems; the same without numpy's gufunc (the fallback); an SVD that fails raises lstsq's
    error."""
    from portrait.survey import newton

    rng = np.random.default_rng(4)
    for m, n in ((9, 9), (18, 18), (30, 11), (14, 14)):
        M = rng.normal(size=(25, m, n))
        M[::3, :, -1] = M[::3, :, 0]             # rank-deficient problems
        A = np.matmul(M.transpose(0, 2, 1), M) if m == n else M
        B = rng.normal(size=(25, A.shape[1]))
        expected = np.array([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(A, B)])
        assert np.array_equal(newton.lstsq_rows(A, B), expected), (m, n)
        with monkeypatch.context() as mp:
            mp.setattr(newton, "_umath_linalg", None)
            assert np.array_equal(newton.lstsq_rows(A, B), expected), (m, n)
    A[3, 0, 0] = np.nan
    with pytest.raises(np.linalg.LinAlgError, match="SVD did not converge"):
        np.linalg.lstsq(A[3], B[3], rcond=None)
    with pytest.raises(np.linalg.LinAlgError, match="SVD did not converge"):
        newton.lstsq_rows(A, B)
