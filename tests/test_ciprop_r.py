"""Confidence intervals of proportions agree with R ``svyciprop`` (fixtures by
tests/reference/make_fixtures_models.R) and with closed forms at the edges.

R's logit interval comes from an iterated ``svyglm`` fit (glm's default convergence, 1e-8: its estimate
differs from the weighted mean by ~1e-11), so bounds are compared at rtol 1e-8; with JK1 replicates R
refits every replicate to the same convergence, and the logit bounds are compared at rtol 1e-6. SEs and
Korn–Graubard bounds: rtol 1e-8.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, ParameterError
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
CI = pd.read_csv(FIX / "ciprop.csv")
r = partial(helpers.r_value, CI, repeated=True)


@pytest.fixture(scope="module")
def data():
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    strat = pd.read_csv(FIX / "apistrat.csv")
    for d in (clus1, strat):
        d["schwide_yes"] = (d["sch.wide"] == "Yes").astype(float)
        d["H"] = (d["stype"] == "H").astype(float)
        d["compimp_yes"] = (d["comp.imp"] == "Yes").astype(float)
        d["awards_yes"] = (d["awards"] == "Yes").astype(float)
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {"dclus1": dclus1,
            "dstrat": Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
            "dcal": survey.calibrate(dclus1, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                              Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking"),
            "rclus1": survey.with_replicates(dclus1, "jk1")}


CASES = [("clus1_schwide", "dclus1", "schwide_yes", 0.95), ("clus1_H", "dclus1", "H", 0.95),
         ("clus1_H_90", "dclus1", "H", 0.90), ("cal_compimp", "dcal", "compimp_yes", 0.95),
         ("strat_awards", "dstrat", "awards_yes", 0.95), ("jk1_H", "rclus1", "H", 0.95)]


@pytest.mark.parametrize("method", ["logit", "beta", "xlogit", "asin"])
@pytest.mark.parametrize("fixture,design,variable,level", CASES)
def test_interval_equals_svyciprop(data, fixture, design, variable, level, method):
    """Estimate, SE and both bounds equal svyciprop's, linearised and with JK1 replicates (trial S: ``xlogit`` and
    ``asin`` were missing; with replicates ``xlogit``'s delta-method logit SE differs from ``logit``'s refit)."""
    d = data[design]
    variance = "replicates" if design == "rclus1" else "linearisation"
    e = survey.mean(d, variable, variance=variance, level=level, interval=method).iloc[0]
    assert e.df == r(fixture, "degf")
    assert_allclose([e.estimate, e.se, e.ci_low, e.ci_high],
                    [r(fixture, f"{method}_{q}") for q in ("estimate", "se", "low", "high")],
                    rtol=1e-6 if (design, method) == ("rclus1", "logit") else 1e-8)


@pytest.mark.parametrize("fixture,design,variable,by,method", [
    ("strat_awards_by_", "dstrat", "awards_yes", "stype", "logit"),
    ("clus1_schwide_by_", "dclus1", "schwide_yes", "stype", "logit"),
    ("clus1_schwide_by_", "dclus1", "schwide_yes", "stype", "beta"),
    ("jk1_schwide_by_", "rclus1", "schwide_yes", "awards", "logit")])
def test_interval_by_domain_equals_svyby_svyciprop(data, fixture, design, variable, by, method):
    """By domain, the logit and beta intervals equal svyby(…, svyciprop), which runs on each domain's subset with
    its own degrees of freedom (trial G: the whole design's were used, 14 where R takes 7 for one domain)."""
    variance = "replicates" if design == "rclus1" else "linearisation"
    e = survey.mean(data[design], variable, by=by, interval=method, variance=variance).set_index("domain")
    for domain, row in e.iterrows():
        fx = fixture + domain.split("=")[1]
        assert row.df == r(fx, "degf")
        assert_allclose([row.estimate, row.se, row.ci_low, row.ci_high],
                        [r(fx, f"{method}_{q}") for q in ("estimate", "se", "low", "high")],
                        rtol=1e-6 if variance == "replicates" else 1e-8)


def test_proportion_takes_the_interval_too(data):
    """proportion() of a category gives the same logit interval as mean() of its indicator."""
    a = survey.proportion(data["dclus1"], "stype", levels=["H"], interval="logit").iloc[0]
    b = survey.mean(data["dclus1"], "H", interval="logit").iloc[0]
    assert_allclose([a.ci_low, a.ci_high], [b.ci_low, b.ci_high], rtol=1e-12)


@pytest.mark.parametrize("design,fixture", [("dclus1", "clus1_H"), ("rclus1", "jk1_H")])
def test_one_call_gives_each_variable_its_interval(data, design, fixture):
    """A mapping of intervals: each row equals svyciprop (logit, beta) or estimate ± t·se (Wald), linearised
    and with JK1 replicates, as separate calls do (the reports estimate shares and means in one call)."""
    d = data[design]
    variance = "replicates" if design == "rclus1" else "linearisation"
    e = survey.mean(d, ["api00", "H", "schwide_yes"], variance=variance,
                    interval={"H": "logit", "schwide_yes": "beta"}).set_index("variable")
    assert_allclose(e.loc["H", ["estimate", "se", "ci_low", "ci_high"]].to_numpy(float),
                    [r(fixture, f"logit_{q}") for q in ("estimate", "se", "low", "high")],
                    rtol=1e-6 if design == "rclus1" else 1e-8)
    if design == "dclus1":
        assert_allclose(e.loc["schwide_yes", ["ci_low", "ci_high"]].to_numpy(float),
                        [r("clus1_schwide", f"beta_{q}") for q in ("low", "high")], rtol=1e-8)
    row, t = e.loc["api00"], stats.t.ppf(0.975, e.loc["api00", "df"])
    assert_allclose([row.ci_low, row.ci_high], [row.estimate - t * row.se, row.estimate + t * row.se], rtol=1e-12)
    alone = survey.mean(d, "schwide_yes", variance=variance, interval="beta").iloc[0]
    assert_allclose(e.loc["schwide_yes", ["ci_low", "ci_high"]].to_numpy(float), [alone.ci_low, alone.ci_high],
                    rtol=1e-12)


def test_bounds_stay_in_the_unit_interval_where_wald_does_not():
    """A rare proportion: the Wald interval crosses 0, logit and beta do not; Wald is p ± t·se (closed form)."""
    p, se, df, n = np.array([0.004]), np.array([0.003]), 30, 400
    t = stats.t.ppf(0.975, df)
    wl, wh = survey.proportion_interval(p, se, df, n, method="wald")
    assert_allclose([wl[0], wh[0]], [p[0] - t * se[0], p[0] + t * se[0]], rtol=1e-12)
    assert wl[0] < 0
    for method in ("logit", "beta"):
        lo, hi = survey.proportion_interval(p, se, df, n, method=method)
        assert 0 < lo[0] < p[0] < hi[0] < 1


def test_edges():
    """se = 0 inside (0, 1): the estimate. p = 0: Korn–Graubard's beta is Clopper–Pearson with n
    ([0, 1 − 0.025^(1/n)]), logit the estimate. NaN inputs give NaN bounds."""
    lo, hi = survey.proportion_interval([0.3, 0.3], [0.0, 0.0], 20, 100, method="beta")
    assert_allclose(np.r_[lo, hi], [0.3, 0.3, 0.3, 0.3])
    lo, hi = survey.proportion_interval([0.0, 1.0], [0.0, 0.0], 20, 50, method="beta")
    assert_allclose([lo[0], hi[0], lo[1], hi[1]], [0.0, 1 - 0.025 ** (1 / 50), 0.025 ** (1 / 50), 1.0], rtol=1e-12)
    lo, hi = survey.proportion_interval([0.0], [0.0], 20, 50, method="logit")
    assert lo[0] == hi[0] == 0.0
    lo, hi = survey.proportion_interval([np.nan, 0.5], [0.1, np.nan], 20, 50)
    assert np.isnan(np.r_[lo, hi]).all()


def test_misuse_is_refused(data):
    """An unknown interval, a level in percent, a non-proportion: a ParameterError that says so."""
    with pytest.raises(ParameterError, match="interval='logistic'"):
        survey.mean(data["dclus1"], "H", interval="logistic")
    with pytest.raises(ParameterError, match="outside \\[0, 1\\]"):
        survey.mean(data["dclus1"], "api00", interval="logit")
    with pytest.raises(ParameterError, match="outside \\[0, 1\\]"):
        survey.mean(data["dclus1"], ["H", "api00"], interval={"api00": "logit"})
    with pytest.raises(ParameterError, match="not among the variables"):
        survey.mean(data["dclus1"], ["H"], interval={"h": "logit"})
    with pytest.raises(ParameterError, match="interval='logistic'"):
        survey.proportion(data["dclus1"], "stype", interval={"stype": "logistic"})
    with pytest.raises(ParameterError, match="level"):
        survey.proportion_interval([0.5], [0.1], 20, 50, level=95)
    with pytest.raises(ParameterError, match="proportions"):
        survey.proportion_interval([1.5], [0.1], 20, 50)


@pytest.mark.parametrize("call", [
    lambda d: survey.mean(d, "y"), lambda d: survey.total(d, "y"), lambda d: survey.quantile(d, "y", 0.5),
    lambda d: survey.svyglm(d, "y", ["x"]), lambda d: survey.svyglm(d, "x", ["y"])])
def test_an_infinite_value_is_refused_by_name(call):
    """An analyst's trial: an ``inf`` in y gave « estimate inf, se NaN » and four RuntimeWarnings. Every estimator
    now names the variable, how many values and where the first is."""
    df = pd.DataFrame({"y": [1.0, 2.0, np.inf, 4.0, 5.0, 6.0], "x": [0.5, 1.0, 2.0, 1.5, 3.0, 2.5],
                       "w": 1.0, "s": ["a", "a", "a", "b", "b", "b"]})
    d = Design.from_frame(df, weights="w", strata="s")
    with pytest.raises(ParameterError, match=r"'y' has 1 infinite value\(s\) \(first at position 2\)"):
        call(d)


def test_df_gives_r_confints_default_normal_interval(data):
    """Trial G: R's confint() is normal unless df= is given; ``df=numpy.inf`` gives it (closed form: ± z·se), and a
    finite df is used by every row, a logit interval by domain included."""
    z = stats.norm.ppf(0.975)
    for call in (survey.mean, survey.total):
        e = call(data["dclus1"], "api00", df=np.inf).iloc[0]
        assert_allclose([e.ci_low, e.ci_high], [e.estimate - z * e.se, e.estimate + z * e.se], rtol=1e-12)
    by = survey.mean(data["dclus1"], "schwide_yes", by="stype", interval="logit", df=30)
    assert (by["df"] == 30).all()
    row = by.iloc[0]
    assert_allclose(row.ci_low, 1 / (1 + np.exp(-(np.log(row.estimate / (1 - row.estimate))
                                                   - stats.t.ppf(0.975, 30) * row.se / (row.estimate * (1 - row.estimate))))),
                    rtol=1e-10)


def test_replicate_logit_with_a_replicate_at_zero_as_r(data):
    """One school of apiclus1 has api00 > 880: the JK1 replicate that drops its district has a share of 0, an
    infinite logit. R's ``svyciprop(~I(api00 > 880), as.svrepdesign(dclus1, type = "JK1"))`` refits that replicate
    until glm gives up, so its logit SE is huge and its interval [1.09e-17, 1 − 3.6e-13]: [0, 1] to rounding (an
    audit: the engine gave NaN bounds, the replicates' logits centred on their mean, −inf − (−inf)). R values:
    ``make_fixtures_wald_terms.R`` (``wald_terms.csv``), with ``mse = FALSE`` and ``TRUE``."""
    t = pd.read_csv(FIX / "wald_terms.csv")
    update_hi = survey.update(data["rclus1"], hi=(data["rclus1"].data["api00"] > 880).astype(float))
    for mse in (False, True):
        d = survey.with_replicates(update_hi, "jk1", mse=mse)
        row = survey.mean(d, "hi", interval="logit", variance="replicates").iloc[0]
        r = partial(helpers.r_value, t, "ciprop_hi_jk1" + ("_mse" if mse else ""))
        assert_allclose(row["estimate"], r("estimate"), rtol=1e-10)
        assert_allclose([row["ci_low"], row["ci_high"]], [r("ci_low"), r("ci_high")], atol=1e-12)
    # a share that no replicate moves to 0 or 1 keeps its finite interval
    row = survey.mean(data["rclus1"], "H", interval="logit", variance="replicates").iloc[0]
    assert 0 < row["ci_low"] < row["ci_high"] < 0.5


def test_wald_and_logit_bounds_are_the_closed_forms_with_student_quantile_of_each_df():
    """Closed forms, to the last bit: p ± t·se and expit(logit(p) ± t·se/(p(1 − p))), t Student's quantile of each
    estimate's df (scipy's, element by element), whether the estimates share one df or not, with a missing df."""
    from scipy import special
    p, se = np.array([0.2, 0.5, 0.7, 0.35]), np.array([0.03, 0.04, 0.05, 0.02])
    for df in (np.full(4, 37.0), np.array([37.0, 12.0, 37.0, 400.0]), np.array([37.0, np.nan, 37.0, 37.0])):
        t = np.array([stats.t.ppf(0.95, d) if d > 0 else np.nan for d in df])
        low, high = survey.proportion_interval(p, se, df, n=np.full(4, 50), level=0.9, method="wald")
        np.testing.assert_array_equal(low, np.where(np.isnan(df), np.nan, p - t * se))
        np.testing.assert_array_equal(high, np.where(np.isnan(df), np.nan, p + t * se))
        low, high = survey.proportion_interval(p, se, df, n=np.full(4, 50), level=0.9, method="logit")
        half = t * (se / (p * (1 - p)))
        np.testing.assert_array_equal(low, special.expit(np.log(p / (1 - p)) - half))
        np.testing.assert_array_equal(high, special.expit(np.log(p / (1 - p)) + half))
