"""Comparison methods agree with R survey on the api data (fixtures by tests/reference/make_fixtures.R).

Closed-form quantities at rtol 1e-6. Proportional-odds fits are iterative: R's optim (BFGS) is run to
reltol 1e-14 in the fixtures, so coefficients agree at rtol 1e-6; R's SEs rest on optim's finite-difference
Hessian (ours on the analytic one), so they are compared at rtol 1e-3 (at 1e-4, one of the four fits fails).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design
from portrait.survey import Margin
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
CMP = pd.read_csv(FIX / "compare.csv")
r = partial(helpers.r_value, CMP)


@pytest.fixture(scope="module")
def strat():
    return pd.read_csv(FIX / "apistrat.csv")


@pytest.fixture(scope="module")
def clus1():
    return pd.read_csv(FIX / "apiclus1.csv")


@pytest.fixture(scope="module")
def dEH(strat):
    d = strat.loc[strat.stype.isin(["E", "H"])]
    return Design.from_frame(d, weights="pw", strata="stype", fpc="fpc")


def test_difference_of_two_independent_means(dEH):
    """E − H difference of mean api00, its SE and Welch-free t test equal svycontrast/svyttest."""
    d = survey.mean_difference(dEH, "api00", "stype", "E", "H")
    assert_allclose([d.difference, d.se], [r("EH", "diff_estimate"), r("EH", "diff_se")], rtol=1e-6)
    assert d.df == r("EH", "ttest_df")
    assert_allclose(-d.t, r("EH", "ttest_t"), rtol=1e-6)
    assert_allclose(d.p, r("EH", "ttest_p"), rtol=1e-6)


def test_difference_from_two_stacked_surveys(strat):
    """Stacking two separately built designs gives the same difference and SE (variances add)."""
    e = Design.from_frame(strat.loc[strat.stype == "E"], weights="pw", strata="stype", fpc="fpc")
    h = Design.from_frame(strat.loc[strat.stype == "H"], weights="pw", strata="stype", fpc="fpc")
    s = survey.stack({"E": e, "H": h}, group="survey")
    d = survey.mean_difference(s, "api00", "survey", "E", "H")
    assert_allclose([d.difference, d.se], [r("EH", "diff_estimate"), r("EH", "diff_se")], rtol=1e-6)


@pytest.mark.parametrize("test,quantity", [("wilcoxon", "rank_wilcoxon_t"), ("vanderWaerden", "rank_vdw_t")])
def test_rank_tests(dEH, test, quantity):
    """Design-based rank tests equal svyranktest (statistic, df, p, estimate)."""
    rt = survey.rank_test(dEH, "api00", "stype", test=test)
    assert_allclose(rt.t, r("EH", quantity), rtol=1e-6)
    if test == "wilcoxon":
        assert rt.df == r("EH", "rank_wilcoxon_df")
        assert_allclose([rt.p, rt.estimate], [r("EH", "rank_wilcoxon_p"), r("EH", "rank_wilcoxon_estimate")], rtol=1e-6)


def test_median_test(dEH):
    """The design-based median test's p-value equals svyranktest(test='median')."""
    assert_allclose(survey.rank_test(dEH, "api00", "stype", "median").p, r("EH", "rank_median_p"), rtol=1e-6)


@pytest.mark.parametrize("fixture", ["chisq_clus1", "chisq_strat", "chisq_clus1_cal", "chisq_EH_awards"])
def test_rao_scott(fixture, strat, clus1, dEH):
    """Rao–Scott second-order F (with ndf, ddf, p) and first-order chi-square equal svychisq."""
    if fixture == "chisq_clus1":
        res = survey.rao_scott(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "sch.wide", "stype")
    elif fixture == "chisq_strat":
        res = survey.rao_scott(Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"), "sch.wide", "stype")
    elif fixture == "chisq_clus1_cal":
        d = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
        d = survey.calibrate(d, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                    Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
        res = survey.rao_scott(d, "comp.imp", "stype")
    else:
        res = survey.rao_scott(dEH, "awards", "stype")
    assert_allclose([res.F, res.ndf, res.ddf, res.p_F], [r(fixture, "F"), r(fixture, "ndf"), r(fixture, "ddf"),
                                                         r(fixture, "p_F")], rtol=1e-6)
    assert_allclose([res.X2, res.p_chisq], [r(fixture, "X2"), r(fixture, "p_Chisq")], rtol=1e-6)


def test_rao_scott_drops_empty_levels(dEH):
    """A level of the grouping factor absent from the data is dropped (R would return F = NaN), and named in
    ``levels_dropped`` (an audit: a category in no row went unlisted, only levels of rows left out were named)."""
    d = dEH.data.assign(stype=pd.Categorical(dEH.data["stype"], categories=["E", "H", "M"]))
    design = Design.from_frame(d, weights="pw", strata="stype", fpc="fpc")
    res = survey.rao_scott(design, "awards", "stype")
    assert np.isfinite(res.F) and res.F == pytest.approx(r("chisq_EH_awards", "F"), rel=1e-6)
    assert res.levels_dropped == ("stype=M",) == survey.wald_independence(design, "awards", "stype").levels_dropped
    # a review: numeric categories with a missing value read « 1.0 », and every level present was listed as dropped
    codes = pd.Categorical(d["stype"].map({"E": 1, "H": 2}).where(np.arange(len(d)) != 0), categories=[1, 2, 3])
    coded = Design.from_frame(d.assign(code=codes), weights="pw", strata="stype", fpc="fpc")
    res = survey.rao_scott(coded, "awards", "code")
    assert res.levels_dropped == ("code=3",)


@pytest.mark.parametrize("fixture,terms", [("glm1", ["ell", "meals", "mobility"]), ("glm2", ["stype", "ell"])])
def test_svyglm_linearised(strat, fixture, terms):
    """Survey-weighted regression coefficients and linearised SEs equal svyglm's."""
    fit = survey.svyglm(Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"), "api00", terms)
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        assert_allclose([b, se], [r(fixture, f"coef_{name}"), r(fixture, f"se_{name}")], rtol=1e-6)
    if fixture == "glm2":
        F, q, ddf, p = fit.wald("stype")
        assert_allclose([F, q, ddf, p], [r("glm2", "wald_F"), r("glm2", "wald_df"), r("glm2", "wald_ddf"),
                                         r("glm2", "wald_p")], rtol=1e-6)


def test_svyglm_drops_a_level_no_unit_of_the_model_holds(strat):
    """An unused first category (« A ») must not stay the reference: its indicators would sum to the intercept and
    the fit came out arbitrary (coefficients of ±16, p ≈ 1e-290). Dropped, as R's model frame drops unused
    levels, the fit is R's glm2 with E as reference."""
    d = strat.assign(stype=pd.Categorical(strat["stype"], categories=["A", "E", "H", "M"]))
    fit = survey.svyglm(Design.from_frame(d, weights="pw", strata="stype", fpc="fpc"), "api00", ["stype", "ell"])
    assert fit.names == ["(Intercept)", "stypeH", "stypeM", "ell"]
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        assert_allclose([b, se], [r("glm2", f"coef_{name}"), r("glm2", f"se_{name}")], rtol=1e-6)


def test_collinear_terms_are_refused_by_name(strat):
    d = Design.from_frame(strat.assign(ell2=2 * strat["ell"] + 1), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(survey.ParameterError, match=r"\['ell2'\].*collinear"):
        survey.svyglm(d, "api00", ["ell", "ell2"])
    with pytest.raises(survey.ParameterError, match=r"\['ell2'\]"):
        survey.svyolr(survey.update(d, band=pd.cut(strat["api00"], 3, labels=False)), "band", ["ell", "ell2"])


@pytest.mark.parametrize("call", ["mean", "quantile", "svyglm", "mean_difference", "multiple_response_test"])
def test_a_misspelt_variance_or_a_level_in_percent_is_refused(strat, call):
    """« linearization » silently meant replicates, and level=95 gave NaN intervals."""
    d = Design.from_frame(strat.assign(e=(strat["stype"] == "E").astype(float)), weights="pw", strata="stype",
                          fpc="fpc")
    calls = {"mean": lambda **k: survey.mean(d, "api00", **k), "quantile": lambda **k: survey.quantile(d, "api00", **k),
             "svyglm": lambda **k: survey.svyglm(d, "api00", ["ell"], **{x: v for x, v in k.items() if x != "level"}),
             "mean_difference": lambda **k: survey.mean_difference(d, "api00", "stype", "E", "H", **k),
             "multiple_response_test": lambda **k: survey.multiple_response_test(
                 d, ["e"], "stype", "E", "H", **{x: v for x, v in k.items() if x != "level"})}
    with pytest.raises(survey.ParameterError, match="variance must be 'linearisation' or 'replicates'"):
        calls[call](variance="linearization")
    if call not in ("svyglm", "multiple_response_test"):
        with pytest.raises(survey.ParameterError, match="between 0 and 1"):
            calls[call](level=95)


def test_svyglm_takes_one_term_as_a_plain_name(strat):
    """An analyst wrote ``svyglm(d, y, "ell")`` as ``mean(d, "x")`` takes a name, and got ``KeyError 'e'`` (the
    name read letter by letter): one name is one term, the same fit as ``["ell"]``."""
    d = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    one, listed = survey.svyglm(d, "api00", "ell"), survey.svyglm(d, "api00", ["ell"])
    assert one.names == listed.names == ["(Intercept)", "ell"]
    assert_allclose(one.se, listed.se, rtol=0)


def test_svyglm_jk1(clus1):
    """With JK1 replicate weights, coefficients and replicate SEs equal svyglm on as.svrepdesign."""
    d = survey.with_replicates(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "jk1")
    fit = survey.svyglm(d, "api00", ["stype", "ell"], variance="replicates")
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        assert_allclose([b, se], [r("glm_jk1", f"coef_{name}"), r("glm_jk1", f"se_{name}")], rtol=1e-6)


@pytest.fixture(scope="module")
def mealcat(clus1):
    cat = pd.cut(clus1["meals"], [0, 25, 50, 75, 100])
    labels = {iv: f"({int(iv.left)},{int(iv.right)}]" for iv in cat.cat.categories}
    return clus1.assign(mealcat=pd.Categorical(cat.map(labels), categories=list(labels.values()), ordered=True))


@pytest.mark.parametrize("fixture,kind,terms", [
    ("olr", "linearisation", ["avg.ed", "mobility", "stype"]), ("olr_jk1", "replicates", ["avg.ed", "mobility", "stype"]),
    # categorical covariates only: 183 schools in at most 24 (covariates, response) patterns, which the fit aggregates
    ("olr_cat", "linearisation", ["stype", "awards"]), ("olr_cat_jk1", "replicates", ["stype", "awards"])])
def test_svyolr(mealcat, fixture, kind, terms):
    """Proportional-odds coefficients (rtol 1e-6) and SEs (1e-3: R's numerical Hessian) equal svyolr's, linearised and
    with JK1 refits."""
    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    if kind == "replicates":
        d = survey.with_replicates(d, "jk1")
    fit = survey.svyolr(d, "mealcat", terms, variance=kind)
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        assert_allclose(b, r(fixture, f"coef_{name}"), rtol=1e-6, err_msg=name)
        assert_allclose(se, r(fixture, f"se_{name}"), rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("method,coef_rtol", [("probit", 1e-6), ("cloglog", 2e-5)])
def test_svyolr_links_equal_r(mealcat, method, coef_rtol):
    """The probit and (R's) cloglog links: coefficients and SEs equal svyolr(…, method = …)'s (SEs at 1e-3: R's
    numerical Hessian). R's optim stops short on the flatter cloglog likelihood (restarted from its own answer, it
    creeps on towards the engine's, by ~1e-6 a time): its coefficients at 2e-5."""
    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    fit = survey.svyolr(d, "mealcat", ["avg.ed", "mobility", "stype"], method=method)
    assert fit.formula.endswith(f"({method} link)")
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        assert_allclose(b, rm(f"olr_{method}", f"coef_{name}"), rtol=coef_rtol, err_msg=name)
        assert_allclose(se, rm(f"olr_{method}", f"se_{name}"), rtol=2e-3, err_msg=name)


def test_svyolr_cauchit_reaches_the_maximum_r_stops_short_of(mealcat):
    """Cauchit: R's svyolr stops at a point whose weighted log-likelihood is 0.19 below the engine's (its BFGS
    reports convergence there, and a restart from it stays). The oracle is the likelihood itself, written here with
    scipy's Cauchy distribution: the engine's fit is higher than R's, and scipy's Nelder–Mead started from R's point
    climbs to the engine's coefficients."""
    from scipy import optimize, stats as st

    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    fit = survey.svyolr(d, "mealcat", ["avg.ed", "mobility", "stype"], method="cauchit")
    ok = mealcat[["avg.ed", "mobility"]].notna().all(axis=1).to_numpy() & mealcat["mealcat"].notna().to_numpy()
    X = np.column_stack([mealcat["avg.ed"], mealcat["mobility"], mealcat["stype"] == "H",
                         mealcat["stype"] == "M"]).astype(float)[ok]
    y, w = mealcat["mealcat"].cat.codes.to_numpy()[ok], mealcat["pw"].to_numpy()[ok]

    def loglik(par):
        z = np.r_[-np.inf, par[4:], np.inf]
        pr = st.cauchy.cdf(z[y + 1] - X @ par[:4]) - st.cauchy.cdf(z[y] - X @ par[:4])
        return np.sum(w * np.log(pr)) if np.all(pr > 0) else -np.inf

    r_point = np.array([rm("olr_cauchit", f"coef_{n}") for n in fit.names])
    assert loglik(fit.coef) - loglik(r_point) > 0.1
    climbed = optimize.minimize(lambda p: -loglik(p) / w.sum(), r_point, method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-15, "maxiter": 40000, "maxfev": 40000})
    assert_allclose(climbed.x, fit.coef, rtol=1e-4)
    assert loglik(climbed.x) <= loglik(fit.coef) + 1e-9


def test_svyolr_refuses_an_unknown_link(mealcat):
    with pytest.raises(survey.ParameterError, match="probit"):
        survey.svyolr(Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc"), "mealcat", ["stype"],
                      method="logit")


@pytest.mark.parametrize("method", ["logistic", "probit"])
@pytest.mark.parametrize("terms", [["avg.ed", "mobility", "stype"], ["stype", "awards"]])
def test_svyolr_replicate_refits_are_full_fits_of_each_replicate(mealcat, terms, method):
    """The replicate refits, run all at once, are each replicate's own proportional-odds fit: brute force,
    one whole svyolr (start values, BFGS, Newton) per replicate's weights, through the replicate variance."""
    from dataclasses import replace

    d = survey.with_replicates(Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc"), "bootstrap", 25,
                               np.random.default_rng(3))
    fit = survey.svyolr(d, "mealcat", terms, variance="replicates", method=method)
    R = d.replicate_weights()
    one_by_one = np.array([survey.svyolr(replace(d, weights=R[:, r]), "mealcat", terms, method=method).coef
                           for r in range(R.shape[1])])
    V = survey.replicate_variance(fit.coef, one_by_one, d.replicate_scale, d.replicate_rscales, d.replicate_mse,
                                  d.replicate_blocks)
    assert_allclose(fit.vcov, V, rtol=1e-7, atol=1e-12 * np.abs(V).max())


@pytest.mark.parametrize("family", ["gaussian", "poisson"])
def test_svyglm_replicate_refits_are_full_fits_of_each_replicate(clus1, family):
    """Replicate refits of a survey GLM (the gaussian ones from the replicates' normal equations at once)
    equal one whole svyglm per replicate's weights, through the replicate variance."""
    from dataclasses import replace

    d = survey.with_replicates(Design.from_frame(clus1.assign(api_k=clus1["api00"] // 100), weights="pw",
                                                 psu="dnum", fpc="fpc"), "bootstrap", 25, np.random.default_rng(4))
    y = "api00" if family == "gaussian" else "api_k"
    fit = survey.svyglm(d, y, ["stype", "ell"], family=family, variance="replicates")
    R = d.replicate_weights()
    one_by_one = np.array([survey.svyglm(replace(d, weights=R[:, r]), y, ["stype", "ell"], family=family).coef
                           for r in range(R.shape[1])])
    V = survey.replicate_variance(fit.coef, one_by_one, d.replicate_scale, d.replicate_rscales, d.replicate_mse,
                                  d.replicate_blocks)
    assert_allclose(fit.vcov, V, rtol=1e-9, atol=1e-12 * np.abs(V).max())


@pytest.mark.parametrize("fixture,kind,method,se_fixture", [
    ("olr_offset_logistic", "linearisation", "logistic", "olr_offset_logistic"),
    ("olr_offset_probit", "linearisation", "probit", "olr_offset_probit"),
    ("olr_offset_jk1", "replicates", "logistic", "olr_offset_jk1_tight")])
def test_svyolr_with_an_offset_equals_r(mealcat, fixture, kind, method, se_fixture):
    """An offset in a proportional-odds model, as R's svyolr takes it (an ``offset(…)`` term of the formula, shifting
    ``η = x'β + offset``): coefficients and SEs equal svyolr's at rtol 1e-6, linearised (logistic and probit) and
    with JK1 refits. The JK1 SEs are R's own replicate variance with its polr refits run to reltol 1e-14
    (``olr_offset_jk1_tight``): svyolr.svyrep.design leaves its refits at optim's default, 7e-6 away."""
    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    if kind == "replicates":
        d = survey.with_replicates(d, "jk1")
    fit = survey.svyolr(d, "mealcat ~ avg.ed + stype + offset(I(0.02 * ell))", variance=kind, method=method)
    assert fit.names == ["avg.ed", "stypeH", "stypeM", "(0,25]|(25,50]", "(25,50]|(50,75]", "(50,75]|(75,100]"]
    assert fit.formula.startswith("mealcat ~ avg.ed + stype + offset(I(0.02 * ell))")
    assert_allclose(fit.coef, [rm(fixture, f"coef_{n}") for n in fit.names], rtol=1e-6)
    assert_allclose(fit.se, [rm(se_fixture, f"se_{n}") for n in fit.names], rtol=1e-6)


def test_a_bare_expression_in_an_offset_is_read_as_r_reads_it(mealcat):
    """R evaluates ``offset(0.02 * ell)`` in the data as it does ``offset(I(0.02 * ell))`` (the engine refused the bare
    product): svyolr's and svyglm's coefficients and SEs equal R's on the bare forms (rtol 1e-6; R's svyolr gives
    the same numbers as with I(…), fixture olr_offset_logistic), each fit is the I(…) fit to the last digits, the
    ``offset=`` argument reads the same text, predictions add the bare offset, and a bare offset that reads no column
    is refused naming the offset."""
    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    bare = survey.svyolr(d, "mealcat ~ avg.ed + stype + offset(0.02 * ell)")
    assert_allclose(bare.coef, [rm("olr_offset_bare", f"coef_{n}") for n in bare.names], rtol=1e-6)
    assert_allclose(bare.se, [rm("olr_offset_bare", f"se_{n}") for n in bare.names], rtol=1e-6)
    assert [rm("olr_offset_bare", f"coef_{n}") for n in bare.names] == [rm("olr_offset_logistic", f"coef_{n}")
                                                                         for n in bare.names]
    wrapped = survey.svyolr(d, "mealcat ~ avg.ed + stype + offset(I(0.02 * ell))")
    given = survey.svyolr(d, "mealcat", ["avg.ed", "stype"], offset="0.02 * ell")
    for fit in (wrapped, given):
        assert_allclose(fit.coef, bare.coef, rtol=1e-12)
        assert_allclose(fit.se, bare.se, rtol=1e-12)
    g = survey.svyglm(d, "api00 ~ ell + meals + offset(0.9 * api99 - log(enroll))")
    names = ["(Intercept)", "ell", "meals"]
    assert _r_names(g) == names and g.df == rm("gauss_offset_bare", "df_residual")
    assert_allclose(g.coef, [rm("gauss_offset_bare", f"coef_{n}") for n in names], rtol=1e-6)
    assert_allclose(g.se, [rm("gauss_offset_bare", f"se_{n}") for n in names], rtol=1e-6)
    gw = survey.svyglm(d, "api00 ~ ell + meals + offset(I(0.9 * api99 - log(enroll)))")
    assert_allclose([*g.coef, *g.se], [*gw.coef, *gw.se], rtol=1e-12)
    new = mealcat.head(3)
    assert_allclose(survey.predict(g, new)["estimate"], survey.predict(gw, new)["estimate"], rtol=1e-12)
    with pytest.raises(survey.ParameterError, match=r"the offset '0.02 \* elll': no column 'elll'"):
        survey.svyolr(d, "mealcat ~ avg.ed + offset(0.02 * elll)")


def test_a_comparison_in_an_offset_adds_as_0_1_as_r(clus1):
    """R's ``model.offset`` adds a logical as 0/1; the engine refused ``offset(ell > 20)`` as « not numeric
    (category) ». R 4.1.1 is the oracle for ``svyglm(api00 ~ ell + offset(ell > 20), dclus1)`` (rtol 1e-6, fixture
    gauss_offset_logical); closed forms: it is the fit with ``offset(I(1.0 * (ell > 20)))`` and with a boolean column
    as offset (rtol 1e-12), a missing comparison leaves its unit out, and predictions add the 0/1."""
    d = Design.from_frame(clus1.assign(flag=clus1["ell"] > 20), weights="pw", psu="dnum", fpc="fpc")
    g = survey.svyglm(d, "api00 ~ ell + offset(ell > 20)")
    names = ["(Intercept)", "ell"]
    assert _r_names(g) == names
    assert_allclose(g.coef, [rm("gauss_offset_logical", f"coef_{n}") for n in names], rtol=1e-6)
    assert_allclose(g.se, [rm("gauss_offset_logical", f"se_{n}") for n in names], rtol=1e-6)
    for same in (survey.svyglm(d, "api00 ~ ell + offset(I(1.0 * (ell > 20)))"),
                 survey.svyglm(d, "api00 ~ ell", offset="flag"), survey.svyglm(d, "api00 ~ ell", offset="I(ell > 20)")):
        assert_allclose([*same.coef, *same.se], [*g.coef, *g.se], rtol=1e-12)
    new = clus1.head(4)
    assert_allclose(survey.predict(g, new)["estimate"],
                    g.coef[0] + g.coef[1] * new["ell"] + (new["ell"] > 20), rtol=1e-12)
    holed = Design.from_frame(clus1.assign(e=clus1["ell"].where(clus1.index != 5)), weights="pw", psu="dnum",
                              fpc="fpc")
    left = survey.svyglm(holed, "api00 ~ meals + offset(e > 20)")
    out = survey.svyglm(survey.subset(holed, holed.data.index != 5), "api00 ~ meals + offset(e > 20)")
    assert_allclose(left.coef, out.coef, rtol=1e-10)


@pytest.mark.parametrize("kind", ["linearisation", "replicates"])
def test_an_ordinal_offset_is_a_slope_fixed_at_its_coefficient(mealcat, kind):
    """Closed form: with ``ell`` also a term, ``offset(I(0.02 * ell))`` moves ``ell``'s slope by −0.02 and leaves every
    other coefficient and every SE as they are (the same likelihood, reparametrised); ``offset=`` equals the formula's
    term; a unit whose offset is missing is left out, as one whose term is."""
    d = Design.from_frame(mealcat.assign(e2=0.02 * mealcat["ell"]), weights="pw", psu="dnum", fpc="fpc")
    if kind == "replicates":
        d = survey.with_replicates(d, "jk1")
    free = survey.svyolr(d, "mealcat ~ avg.ed + ell + stype", variance=kind)
    shifted = survey.svyolr(d, "mealcat ~ avg.ed + ell + stype + offset(I(0.02 * ell))", variance=kind)
    assert_allclose(shifted.coef, free.coef - 0.02 * (np.array(free.names) == "ell"), rtol=1e-8, atol=1e-10)
    assert_allclose(shifted.se, free.se, rtol=1e-6)
    given = survey.svyolr(d, "mealcat", ["avg.ed", "ell", "stype"], variance=kind, offset="e2")
    assert_allclose(given.coef, shifted.coef, rtol=1e-10)
    gap = survey.update(d, e3=np.where(np.arange(len(mealcat)) % 7 == 0, np.nan, d.data["e2"]),
                        a3=np.where(np.arange(len(mealcat)) % 7 == 0, np.nan, d.data["avg.ed"]))
    left = survey.svyolr(gap, "mealcat ~ avg.ed + ell + stype + offset(e3)", variance=kind)
    out = survey.svyolr(gap, "mealcat ~ a3 + ell + stype + offset(e2)", variance=kind)
    assert_allclose(left.coef, out.coef, rtol=1e-10)
    assert_allclose(left.se, out.se, rtol=1e-8)


def test_a_replicate_that_empties_an_ordinal_level_is_named(mealcat):
    """An audit against R: a JK1 replicate without the only district of an outcome level, or of a covariate level,
    made svyolr fail with numpy's bare « 0-dimensional array » or « Singular matrix » (R returns numbers that mean
    nothing). The error now names the replicate and what it leaves without weight."""
    first = int(mealcat["dnum"].iloc[0])
    rare = mealcat.assign(y5=pd.Categorical(np.where(mealcat["dnum"] == first, "top", mealcat["mealcat"].astype(str)),
                                            categories=[*mealcat["mealcat"].cat.categories, "top"], ordered=True),
                          grp=np.where(mealcat["dnum"] == first, "Z", np.where(mealcat["api00"] > 650, "B", "A")))
    d = survey.with_replicates(Design.from_frame(rare, weights="pw", psu="dnum", fpc="fpc"), "jk1")
    k = int(np.flatnonzero(np.unique(rare["dnum"]) == first)[0]) + 1          # JK1 drops the PSUs in code order
    with pytest.raises(survey.ConvergenceError, match=rf"replicate {k} \(the full sample fits\) gives no weight to the "
                       r"outcome level\(s\) \['top'\], so the model cannot be refitted"):
        survey.svyolr(d, "y5", ["avg.ed", "stype"], variance="replicates")
    with pytest.raises(survey.ConvergenceError, match=rf"replicate {k} .* its columns \['grpZ'\] are combinations"):
        survey.svyolr(d, "mealcat", ["avg.ed", "grp"], variance="replicates")
    survey.svyolr(d, "mealcat", ["avg.ed", "stype"], variance="replicates")       # every replicate holds every level


@pytest.mark.parametrize("family", ["gaussian", "quasipoisson"])
def test_a_replicate_that_empties_a_cell_of_the_model_is_named(clus1, family):
    """An audit against R: a bootstrap replicate without any high school of sch.wide « No » made a quasi-Poisson refit
    report a failure to converge, and the gaussian one solved the singular normal equations anyway (SEs of 10¹⁹).
    R drops such replicates with a warning; the engine names the replicate and the aliased column, and drops none."""
    cell = ((clus1["stype"] == "H") & (clus1["sch.wide"] == "No")).to_numpy()
    R = np.tile(clus1["pw"].to_numpy()[:, None], (1, 4))
    R[cell, 2] = 0.0
    d = survey.with_replicate_weights(Design.from_frame(clus1, weights="pw"), R, scale=1 / 3)
    with pytest.raises(survey.ConvergenceError, match=r"replicate 3 \(the full sample fits\) gives no weight to a level "
                       r"or a combination of levels of the model: its columns \['stypeH:sch.wideYes'\]"):
        survey.svyglm(d, "enroll", ["stype*sch.wide"], family=family)
    R[cell, 2] = clus1["pw"].to_numpy()[cell] / 2       # a lighter cell is still a cell
    fit = survey.svyglm(survey.with_replicate_weights(Design.from_frame(clus1, weights="pw"), R, scale=1 / 3),
                        "enroll", ["stype*sch.wide"], family=family)
    assert np.isfinite(fit.vcov).all() and np.sqrt(np.diag(fit.vcov)).max() < 1e4


def test_stacked_replicates_add_the_surveys_variances(strat):
    """Stacking two surveys with their own replicate weights: the replicate SE of the difference is
    the square root of the sum of the two surveys' replicate variances."""
    from portrait.pipeline import config
    from portrait import survey

    e = survey.with_replicates(Design.from_frame(strat.loc[strat.stype == "E"], weights="pw", strata="stype",
                                                   fpc="fpc"), "bootstrap", 60, config.rng(1, "e"))
    h = survey.with_replicates(Design.from_frame(strat.loc[strat.stype == "H"], weights="pw", strata="stype",
                                                   fpc="fpc"), "bootstrap", 40, config.rng(1, "h"))
    s = survey.stack({"E": e, "H": h}, group="survey")
    d = survey.mean_difference(s, "api00", "survey", "E", "H", variance="replicates")
    se_e = survey.mean(e, "api00", variance="replicates")["se"].iloc[0]
    se_h = survey.mean(h, "api00", variance="replicates")["se"].iloc[0]
    assert d.se == pytest.approx(np.hypot(se_e, se_h), rel=1e-12)


@pytest.mark.parametrize("variance", ["linearisation", "replicates"])
def test_difference_between_stacked_surveys_takes_welch_df(strat, clus1, variance):
    """One df rule for differences between independent surveys: on a stack, mean_difference's and
    rank_test's df are Welch–Satterthwaite on the two surveys' own variances and design df (oracle:
    each survey estimated alone, combined by the formula by hand), not the stack's domain df."""
    from portrait.pipeline import config

    e = Design.from_frame(strat.loc[strat.stype == "E"], weights="pw", strata="stype", fpc="fpc")
    c = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")        # 15 PSUs: 14 df
    if variance == "replicates":
        e = survey.with_replicates(e, "bootstrap", 50, config.rng(2, "e"))
        c = survey.with_replicates(c, "bootstrap", 40, config.rng(2, "c"))
    s = survey.stack({"E": e, "C": c}, group="survey")
    d = survey.mean_difference(s, "api00", "survey", "E", "C", variance=variance)
    m = [survey.mean(x, "api00", variance=variance).iloc[0] for x in (e, c)]
    v = [r.se ** 2 for r in m]
    by_hand = sum(v) ** 2 / sum(vi ** 2 / r.df for vi, r in zip(v, m))
    assert [r.df for r in m] == [e.degf, 14]
    assert d.df == pytest.approx(by_hand, rel=1e-9)
    assert 14 < d.df < 14 + e.degf                      # not the stack's 14 + 99 − 1
    assert d.p == pytest.approx(2 * stats.t.sf(abs(d.t), by_hand), rel=1e-9)
    if variance == "linearisation":
        rt = survey.rank_test(s, "api00", "survey")
        assert 14 <= rt.df < 14 + e.degf


def test_stack_keeps_the_surveys_lonely_psu_treatment(strat):
    """Two surveys each with a single-PSU stratum, both « certainty »: the stack's variance is the sum of
    theirs (oracle: the surveys' own variances) instead of an error; surveys that disagree are refused."""
    from portrait.survey.errors import ParameterError

    def one(stype, lonely):
        d = strat.loc[strat.stype == stype].copy()
        d.loc[d.index[0], "stype"] = "alone"          # a stratum with one PSU
        return Design.from_frame(d, weights="pw", strata="stype", lonely_psu=lonely)

    e, h = one("E", "certainty"), one("H", "certainty")
    s = survey.stack({"E": e, "H": h}, group="survey")
    assert s.lonely_psu == "certainty"
    d = survey.mean_difference(s, "api00", "survey", "E", "H")
    se = [survey.mean(x, "api00")["se"].iloc[0] for x in (e, h)]
    assert d.se == pytest.approx(np.hypot(*se), rel=1e-12)
    with pytest.raises(ParameterError, match="differ in lonely_psu"):
        survey.stack({"E": e, "H": one("H", "remove")}, group="survey")


# ----------------------------------------------------------------------------- GLM families and quantiles
# fixtures by tests/reference/make_fixtures_models.R (R survey 4.1.1, glm epsilon 1e-13)

MODELS = pd.read_csv(FIX / "models.csv")


def rm(fixture, quantity):
    v = MODELS.loc[(MODELS.fixture == fixture) & (MODELS.quantity == quantity), "value"]
    assert len(v) == 1, (fixture, quantity)
    return float(v.iloc[0])


def _r_names(fit):
    return ["(Intercept)" if n == "Intercept" else n.replace("[", "").replace("]", "").replace("T.", "")
            for n in fit.names]


@pytest.mark.parametrize("fixture,data,outcome,terms,family", [
    ("logit_strat", "strat", ("sch.wide", "Yes"), ["ell", "meals", "stype"], "quasibinomial"),
    ("logit_binomial", "strat", ("sch.wide", "Yes"), ["ell", "meals", "stype"], "binomial"),
    ("logit_clus1", "clus1", ("comp.imp", "Yes"), ["api99", "stype"], "quasibinomial"),
    ("poisson_strat", "strat", ("enroll", None), ["stype", "meals"], "quasipoisson"),
    ("logit_jk1", "clus1", ("sch.wide", "Yes"), ["ell", "stype"], "quasibinomial"),
    ("poisson_zero", "strat", ("enroll", None), ["stype", "meals"], "quasipoisson"),
])
def test_svyglm_families(fixture, data, outcome, terms, family, strat, clus1):
    """Logistic and Poisson survey GLMs: coefficients, SEs and residual df equal R's svyglm (rtol 1e-6).

    ``poisson_zero`` gives two schools weight 0, as the study's files keep their non-respondents: an audit found any
    Poisson fit with a zero weight diverging (Newton's start looked for the intercept on every row, zeroed ones
    included, found none and started from μ = 1)."""
    df = (strat if data == "strat" else clus1).copy()
    if fixture == "poisson_zero":
        df.loc[[2, 49], "pw"] = 0.0
    y, level = outcome
    if level is not None:
        df["_y"] = (df[y] == level).astype(float)
        y = "_y"
    if data == "strat":
        d = Design.from_frame(df, weights="pw", strata="stype", fpc="fpc")
    else:
        d = Design.from_frame(df, weights="pw", psu="dnum", fpc="fpc")
    variance = "linearisation"
    if fixture == "logit_jk1":
        d = survey.with_replicates(d, "jk1")
        variance = "replicates"
    fit = survey.svyglm(d, y, terms, variance=variance, family=family)
    names = _r_names(fit)
    assert_allclose(fit.coef, [rm(fixture, f"coef_{n}") for n in names], rtol=1e-6)
    assert_allclose(fit.se, [rm(fixture, f"se_{n}") for n in names], rtol=1e-6)
    assert fit.df == rm(fixture, "df_residual")
    if fixture in ("logit_strat", "poisson_strat"):
        F, q, ddf, p = fit.wald("stype")
        assert_allclose([F, q, ddf, p], [rm(fixture, "wald_F"), rm(fixture, "wald_df"), rm(fixture, "wald_ddf"),
                                         rm(fixture, "wald_p")], rtol=1e-6)


@pytest.mark.parametrize("fixture", ["poisson_offset", "gauss_offset", "poisson_offset_jk1"])
def test_svyglm_with_an_offset_equals_r(fixture, strat, clus1):
    """Offsets as R takes them, in the formula (``offset(log(enroll))``) or as ``offset=``: a rate of English
    learners per student enrolled (Poisson, log exposure), linearised and JK1, and a gaussian model of the change
    since 1999; coefficients, SEs, residual df and the Wald test equal R's svyglm and regTermTest (rtol 1e-6)."""
    names = {"gauss_offset": ["(Intercept)", "ell", "meals"]}.get(fixture, ["(Intercept)", "stypeH", "stypeM", "meals"])
    if fixture == "poisson_offset":
        d = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
        fit = survey.svyglm(d, "I(ell * enroll / 100) ~ stype + meals + offset(log(enroll))", family="quasipoisson")
        F, q, ddf, p = fit.wald("stype")
        assert_allclose([F, q, ddf, p], [rm(fixture, "wald_F"), rm(fixture, "wald_df"), rm(fixture, "wald_ddf"),
                                         rm(fixture, "wald_p")], rtol=1e-6)
    elif fixture == "gauss_offset":
        d = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
        fit = survey.svyglm(d, "api00 ~ ell + meals + offset(api99)")
    else:
        d = survey.with_replicates(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "jk1")
        fit = survey.svyglm(d, "I(ell * enroll / 100)", ["stype", "meals"], variance="replicates",
                            family="quasipoisson", offset="log(enroll)")
    assert _r_names(fit) == names
    assert_allclose(fit.coef, [rm(fixture, f"coef_{n}") for n in names], rtol=1e-6)
    assert_allclose(fit.se, [rm(fixture, f"se_{n}") for n in names], rtol=1e-6)
    assert fit.df == rm(fixture, "df_residual")


def test_an_offset_shifts_the_linear_predictor_and_a_missing_one_leaves_the_unit_out(strat):
    """Closed forms: a constant offset moves only the intercept (by minus the constant), the slopes and SEs stay;
    an offset column equal to a term's values fixes that term's coefficient at 1 (the gaussian fit of y − x on the
    others). A unit whose offset is missing is left out, as one with a missing term; an offset that is no column nor
    expression, or is text, is refused, naming it."""
    d = Design.from_frame(strat.assign(c=2.5, lenroll=np.log(strat["enroll"])), weights="pw", strata="stype",
                          fpc="fpc")
    plain = survey.svyglm(d, "enroll", ["stype", "meals"], family="quasipoisson")
    shifted = survey.svyglm(d, "enroll", ["stype", "meals"], family="quasipoisson", offset="c")
    assert_allclose(shifted.coef, plain.coef - np.r_[2.5, 0, 0, 0], rtol=1e-9, atol=1e-12)
    assert_allclose(shifted.se, plain.se, rtol=1e-9)
    two = survey.svyglm(d, "api00 ~ ell + offset(meals)")
    by_hand = survey.svyglm(survey.update(d, gap=d.data["api00"] - d.data["meals"]), "gap", ["ell"])
    assert_allclose(two.coef, by_hand.coef, rtol=1e-10)
    assert_allclose(two.se, by_hand.se, rtol=1e-10)
    gap = Design.from_frame(strat.assign(e=strat["enroll"].where(strat.index != 5)), weights="pw", strata="stype",
                            fpc="fpc")
    left = survey.svyglm(gap, "I(ell * enroll / 100) ~ meals + offset(log(e))", family="quasipoisson")
    out = survey.svyglm(survey.subset(gap, gap.data.index != 5), "I(ell * enroll / 100) ~ meals + offset(log(e))",
                        family="quasipoisson")
    assert_allclose(left.coef, out.coef, rtol=1e-10)
    with pytest.raises(survey.ParameterError, match="'size'"):
        survey.svyglm(d, "enroll ~ meals", offset="size", family="quasipoisson")
    with pytest.raises(survey.ParameterError, match="offset 'stype' is not numeric"):
        survey.svyglm(d, "enroll ~ meals", offset="stype", family="quasipoisson")


def test_quantiles_by_domain_equal_svyquantile_on_each_subset(clus1):
    """An analyst could not get a median by department (``by`` raised TypeError). Each school type's quartile and
    median in the cluster sample, with its Woodruff bounds (NaN where R's are) on the domain's degrees of freedom,
    equal R's ``svyquantile`` on ``subset(dclus1, stype == …)``, which is what ``svyby`` computes."""
    d = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    got = survey.quantile(d, "api00", [0.25, 0.5], by="stype")
    assert got["domain"].unique().tolist() == ["stype=E", "stype=H", "stype=M"]
    assert got["df"].tolist() == [14, 14, 7, 7, 11, 11]      # R: degf(subset(dclus1, stype == …))
    below_first_step = (got["domain"] == "stype=H") & (got["p"] == 0.5)
    for row, odd in zip(got.itertuples(), below_first_step):
        fixture, p = f"q_clus1_{row.domain[-1]}", f"{row.p:g}"
        keys = ("quantile", "high") if odd else ("quantile", "low", "high", "se")
        assert_allclose([getattr(row, {"quantile": "estimate", "low": "ci_low", "high": "ci_high"}.get(k, k))
                         for k in keys], [rm(fixture, f"{k}_{p}") for k in keys], rtol=1e-6)
    assert got["ci_low"].isna().sum() == 2                  # the quartiles of H and M, as in R
    # H's median: F̂ − t·SE = 0.026 lies below the first step (1/14) of the 14 equally weighted schools; the
    # smallest value reaches it (443, the definition), where R's qrule_math takes the second smallest (478)
    h = np.sort(clus1.loc[clus1["stype"] == "H", "api00"].to_numpy(dtype=float))
    assert got.loc[below_first_step, "ci_low"].item() == h[0] and rm("q_clus1_H", "low_0.5") == h[1]


def test_svyglm_refuses_outcomes_outside_its_family(strat):
    d = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(survey.ParameterError, match="0/1"):
        survey.svyglm(d, "api00", ["ell"], family="binomial")
    with pytest.raises(survey.ParameterError, match="family"):
        survey.svyglm(d, "api00", ["ell"], family="gamma")


@pytest.mark.parametrize("fixture,data,variable,ps,qrule,level", [
    ("q_strat_math", "strat", "api00", [0.1, 0.25, 0.5, 0.75, 0.9], "math", 0.95),
    ("q_clus1_math", "clus1", "ell", [0.25, 0.5, 0.9], "math", 0.95),
    ("q_clus1_hf7", "clus1", "api00", [0.25, 0.5], "hf7", 0.95),
    ("q_strat_school", "strat", "meals", [0.5, 0.8], "school", 0.9),
    ("q_equal_math", "equal", "api00", [0.25, 0.5], "math", 0.95),
    ("q_equal_school", "equal", "api00", [0.25, 0.5], "school", 0.95),
    ("q_clus1_xlogit", "clus1", "api00", [0.25, 0.5, 0.9], "math", 0.95),
    ("q_clus1_asin", "clus1", "api00", [0.25, 0.5, 0.9], "math", 0.95),
    ("q_clus1_beta", "clus1", "api00", [0.25, 0.5, 0.9], "math", 0.95),
    ("q_strat_beta", "strat", "meals", [0.1, 0.5], "school", 0.95),
    ("q_jk1_quantile", "jk1", "api00", [0.25, 0.5], "math", 0.95),
    ("q_jk1_xlogit", "jk1", "api00", [0.25, 0.5], "math", 0.95),
])
def test_quantiles_with_woodruff_intervals(fixture, data, variable, ps, qrule, level, strat, clus1):
    """Quantiles, Woodruff confidence bounds and the SE R derives from them equal svyquantile's, with each
    ``interval.type`` (the fixture's suffix; ``quantile``: the replicates' own quantiles, JK1)."""
    if data == "equal":
        d = Design.from_frame(strat.head(40).assign(one=1.0), weights="one")
    elif data == "strat":
        d = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    else:
        d = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    interval = fixture.rsplit("_", 1)[1]
    # R's svyquantile on replicate weights drops interval.type (survey 4.1.1): its « xlogit » there is « mean »
    interval = interval if interval in ("xlogit", "asin", "beta", "quantile") and fixture != "q_jk1_xlogit" else "mean"
    variance = "linearisation"
    if data == "jk1":
        d, variance = survey.with_replicates(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "jk1"), \
            "replicates"
    got = survey.quantile(d, variable, ps, qrule=qrule, level=level, interval=interval, variance=variance)
    for row in got.itertuples():
        p = f"{row.p:g}"
        assert_allclose([row.estimate, row.ci_low, row.ci_high, row.se],
                        [rm(fixture, f"{k}_{p}") for k in ("quantile", "low", "high", "se")], rtol=1e-6)


def test_quantiles_of_a_domain_some_replicates_leave_empty(strat):
    """A domain two replicates leave without any unit (the schools replicates 1 and 2 of R's seeded subbootstrap both
    leave out, on a design of those replicate weights as R's svrepdesign): Woodruff's quantiles, bounds and SE equal
    svyquantile's on the domain (rtol 1e-6), both replicates left out of its share's variance with R's warning, and
    the other domain's too; the quantile recomputed in every replicate is an error naming the domain and what to
    do, where R fails (the fixture records that it does)."""
    bw = pd.read_csv(FIX / "apistrat_subboot_repweights.csv").set_index("snum").loc[strat["snum"]].to_numpy(dtype=float)
    out = (bw[:, 0] == 0) & (bw[:, 1] == 0)
    d = survey.with_replicate_weights(Design.from_frame(strat.assign(g=np.where(out, "out", "in")), weights="pw"), bw,
                                      scale=1 / 49)
    assert rm("q_subboot_out", "replicates_discarded") == 2 == np.count_nonzero(~(bw[out] > 0).any(axis=0))
    for qrule in ("math", "hf7"):
        with pytest.warns(UserWarning, match="2 of 50 replicates gave no value") as caught:
            got = survey.quantile(d, "api00", [0.25, 0.5, 0.9], by="g", qrule=qrule)
        assert len(caught) == 3          # the « out » domain's three shares alone, as R warns three times
        for row in got.itertuples():
            name, p = f"q_subboot_{row.domain.split('=')[1]}_{qrule}", f"{row.p:g}"
            assert_allclose([row.estimate, row.ci_low, row.ci_high, row.se],
                            [rm(name, f"{k}_{p}") for k in ("quantile", "low", "high", "se")], rtol=1e-6)
    assert rm("q_subboot_out", "quantile_interval_fails") == 1
    with pytest.raises(survey.ParameterError, match=r"replicate 1 holds no unit of the domain 'g=out' \(2 of the 50 "
                       r"replicates hold none\).*R's svyquantile fails too.*interval='mean'"):
        survey.quantile(d, "api00", 0.5, by="g", interval="quantile")


def test_a_quantile_interval_on_another_scale_is_the_shares_interval_carried_back(clus1):
    """Closed form, with replicate weights (where R ignores interval.type): the xlogit bounds are the quantiles at
    expit(logit F̂ ± t·SE/(F̂(1 − F̂))), F̂ and SE the replicate share at or below the median; « quantile » is the
    median ± t times the replicate SE of the replicates' medians (by hand); and it needs replicates."""
    from scipy import special
    from portrait.survey.quantiles import weighted_quantile

    d = survey.with_replicates(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "jk1")
    x = clus1["api00"].to_numpy(dtype=float)
    med = weighted_quantile(x, d.weights, 0.5)
    share = survey.mean(survey.update(d, le=(x <= med).astype(float)), "le", variance="replicates").iloc[0]
    t = stats.t.ppf(0.975, 14)
    half = t * share.se / (share.estimate * (1 - share.estimate))
    bounds = [weighted_quantile(x, d.weights, special.expit(special.logit(share.estimate) + s * half)) for s in (-1, 1)]
    got = survey.quantile(d, "api00", 0.5, variance="replicates", interval="xlogit").iloc[0]
    assert [got.ci_low, got.ci_high] == bounds
    R = d.replicate_weights()
    reps = np.array([weighted_quantile(x, R[:, r], 0.5) for r in range(R.shape[1])])
    se = np.sqrt(d.replicate_scale * np.sum((reps - med) ** 2))       # JK1: (n−1)/n Σ (θ_r − θ̂)², mse as R's default
    if not d.replicate_mse:
        se = np.sqrt(d.replicate_scale * np.sum((reps - reps.mean()) ** 2))
    got = survey.quantile(d, "api00", 0.5, variance="replicates", interval="quantile").iloc[0]
    assert_allclose([got.se, got.ci_low, got.ci_high], [se, med - t * se, med + t * se], rtol=1e-12)
    with pytest.raises(survey.ParameterError, match="variance='replicates'"):
        survey.quantile(d, "api00", 0.5, interval="quantile")
    with pytest.raises(survey.ParameterError, match="interval.type"):
        survey.quantile(d, "api00", 0.5, interval="wald")
    # R's svyquantile on replicate weights refuses « score » (match.arg): so does this, naming what to use
    with pytest.raises(survey.ParameterError, match="refuses it on replicate weights"):
        survey.quantile(d, "api00", 0.5, interval="score", variance="replicates")


# R's score interval (interval.type = "score"): fixtures qs_* by make_fixtures_models.R, one probability a call

def _r_api(frame):
    """The api data with R's own weights: ``apiclus1$pw`` and ``apistrat$pw`` are single-precision numbers
    (33.846996307373047), which the CSV's 15 digits round. With equal weights every score bound falls exactly on a
    step of the distribution function, where the last bit of the weights decides between two values (R's ``wlow == 0``)."""
    return frame.assign(pw=frame["pw"].astype(np.float32).astype(float), api00_10k=frame["api00"] / 10000)


@pytest.fixture(scope="module")
def score_designs(strat, clus1):
    sim = pd.read_csv(FIX / "simulated_residents.csv", dtype={"id": str, "psu": str, "stratum": str, "age": str})
    sim["w"] = np.where(sim["respondent"], sim["w_nr"], 0.0)      # R: subset(…, respondent), before any calibration
    dc = Design.from_frame(_r_api(clus1), weights="pw", psu="dnum", fpc="fpc")
    cal = survey.calibrate(dc, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                survey.NumericTotal("api99", 3914069)], method="linear")
    return {"clus1": dc, "strat": Design.from_frame(_r_api(strat), weights="pw", strata="stype", fpc="fpc"),
            "sim": Design.from_frame(sim, weights="w", strata="stratum", psu="psu", fpc="fpc"), "cal": cal}


#: bounds below the first step of the domain's distribution function: R 4.1.1's qrule_math gives the second smallest
#: value there, this the smallest (the module's one departure, see test_quantiles_by_domain_equal_svyquantile…)
SCORE_BELOW_FIRST_STEP = {("qs_cal_H", 0.1), ("qs_cal_M", 0.1)}


@pytest.mark.parametrize("fixture,data,variable,by,options", [
    ("qs_clus1", "clus1", "api00", None, {}), ("qs_strat", "strat", "api00", None, {}),
    ("qs_clus1_scaled", "clus1", "api00_10k", None, {}), ("qs_strat_scaled", "strat", "api00_10k", None, {}),
    ("qs_clus1_hf7", "clus1", "api00", None, {"qrule": "hf7", "level": 0.9}),
    ("qs_clus1_avged", "clus1", "avg.ed", None, {"na_rm": True}), ("qs_sim", "sim", "recommandation", None, {"na_rm": True}),
    ("qs_cal", "cal", "api00", None, {}), ("qs_cal_avged", "cal", "avg.ed", None, {"na_rm": True}),
    ("qs_clus1", "clus1", "api00", "stype", {}), ("qs_cal", "cal", "api00", "stype", {}),
    ("qs_sim", "sim", "recommandation", "age", {"na_rm": True})])
def test_quantile_score_interval_equals_r(score_designs, fixture, data, variable, by, options):
    """R's score interval (Francisco and Fuller's test inverted by uniroot, survey's ffullerCI): quantiles, bounds and
    the SE R derives from them equal svyquantile(…, interval.type = "score")'s at rtol 1e-6 for p = 0.1, 0.5, 0.9, on
    a cluster, a stratified, a stratified cluster (heavily tied 0–10 answers) and a calibrated design, whole sample and
    by domain (R's subset: a calibrated one keeps every row). On ``api00 / 10000`` the scores lie closer together than
    uniroot's tolerance: which of them the root passes is uniroot's own iteration (scipy's brentq misses 4 of the 12
    bounds). Where R's uniroot stops (the test does not change sign over the data's range) the bound is NaN; below the
    first step, the smallest value (SCORE_BELOW_FIRST_STEP)."""
    d = score_designs[data]
    got = survey.quantile(d, variable, [0.1, 0.5, 0.9], by=by, interval="score", **options)
    checked = 0
    for row in got.itertuples():
        name = fixture if by is None else f"{fixture}_{row.domain.split('=')[1]}"
        ours = [row.estimate, row.ci_low, row.ci_high, row.se]
        ref = [rm(name, f"{k}_{row.p:g}") for k in ("quantile", "low", "high", "se")]
        if np.isnan(ref[0]):                 # R stopped: « f() values at end points not of opposite sign »
            assert np.isnan(row.ci_low) or np.isnan(row.ci_high), (name, row.p)
            continue
        if (name, row.p) in SCORE_BELOW_FIRST_STEP:
            values = np.unique(d.column(variable)[(d.weights > 0) & (d.column(by) == row.domain.split("=")[1])])
            assert row.ci_low == values[0] and ref[1] == values[1], (name, row.p)
            ours, ref = ours[::2], ref[::2]          # the estimate and the upper bound
        assert_allclose(ours, ref, rtol=1e-6, err_msg=f"{name} p={row.p}")
        checked += 1
    assert checked >= 2


def test_zeroin_finds_roots_as_uniroot_does():
    """Closed forms: Brent's iteration reaches a smooth function's root within its tolerance, a root at an end of the
    bracket at once, and a step function's jump within the tolerance, on the side whose value is nearer zero (R's
    uniroot returns the best approximation b, |f(b)| ≤ |f(c)|)."""
    from portrait.survey.quantiles import _zeroin

    root = _zeroin(lambda x: x ** 3 - 2, 0.0, 3.0, -2.0, 25.0, 1e-10)
    assert abs(root - 2 ** (1 / 3)) < 1e-10
    assert _zeroin(lambda x: x - 1, 1.0, 3.0, 0.0, 2.0, 1e-3) == 1.0

    def step(x):
        return 0.3 if x < 1.7 else -0.1
    jump = _zeroin(step, 0.0, 5.0, 0.3, -0.1, 1e-6)
    assert 1.7 <= jump <= 1.7 + 1e-6


def test_weighted_median_by_brute_force():
    """With equal weights the math rule is the lower median; doubling a weight equals duplicating the unit."""
    from portrait.survey.quantiles import weighted_quantile

    x = np.array([5.0, 1.0, 3.0, 4.0, 2.0, 6.0])
    assert weighted_quantile(x, np.ones(6), 0.5) == 3.0
    assert weighted_quantile(x, np.ones(6), 0.5, "school") == 3.5
    assert weighted_quantile(x, np.array([1, 1, 1, 1, 1, 2.0]), 0.5) == weighted_quantile(
        np.append(x, 6.0), np.ones(7), 0.5) == 4.0


def test_math_rule_is_the_smallest_value_whose_distribution_function_reaches_p():
    """Oracle: the definition, evaluated value by value on random discrete 0–10 data with ties and weights,
    including p below the first step and p = 0, where the definition gives the first value (R 4.1.1's ``qrule_math``
    gives the second there: see the domain test below)."""
    from portrait.survey.quantiles import weighted_quantile

    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 12))
        x = rng.integers(0, 11, n).astype(float)
        w = rng.integers(1, 9, n).astype(float)
        values = np.unique(x)
        F = np.array([w[x <= v].sum() for v in values]) / w.sum()
        for p in [0.0, *rng.uniform(0, 1, 4), F[0] / 2]:
            assert weighted_quantile(x, w, p) == values[np.flatnonzero(F >= p)[0]], (x, w, p)
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.ones(3), 0.1) == 1.0
    # below the first step the school rule too gives x₁ (its definition and the docstring; R 4.1.1 gives x₂ = 2 there)
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.ones(3), 0.1, "school") == 1.0


def test_welch_satterthwaite_df_equals_r_t_test_on_simple_random_samples(strat, clus1):
    """Two independent equal-weight samples: the difference's df, t, p and CI equal R t.test(var.equal = FALSE)
    (R 4.2.2: t.test(apiclus1$api00, apistrat$api00[apistrat$stype == 'E']))."""
    from portrait.study import compare

    x = strat.loc[strat.stype == "E", "api00"].to_numpy(dtype=float)
    y = clus1["api00"].to_numpy(dtype=float)
    rows = []
    for group, values in (("residents", x), ("visitors", y)):
        d = Design.from_frame(pd.DataFrame({"v": values, "w": 1.0}), weights="w")
        m = survey.mean(d, "v").iloc[0]
        rows.append({"item": "v", "statistic": "mean", "level": "", "group": group, "estimate": m["estimate"],
                     "se": m["se"], "df": m["df"], "n": m["n"], "label": "", "item_label": "", "type": ""})
    d = compare.differences(pd.DataFrame(rows), battery=np.ones(1, dtype=bool)).iloc[0]
    assert_allclose([d["estimate"], d["t"], d["df"], d["p"], d["ci_low"], d["ci_high"]],
                    [rm("welch", "difference"), rm("welch", "t"), rm("welch", "df"), rm("welch", "p"),
                     rm("welch", "ci_low"), rm("welch", "ci_high")], rtol=1e-9)


def test_welch_df_lies_between_the_smaller_df_and_the_sum():
    nu = survey.welch_df([np.array([1.0, 4.0, 0.0]), np.array([1.0, 0.5, 2.0])], [np.array([10.0, 10, 10]), np.array([30.0, 30, 30])])
    assert ((nu >= 10) & (nu <= 40)).all() and nu[2] == 30
    assert_allclose(nu[0], 4 / (1 / 10 + 1 / 30))
    # no degrees of freedom behind a positive variance: undefined, never 0; a zero variance adds nothing
    nu = survey.welch_df([np.array([1.0, 0.0, 0.0]), np.array([1.0, 2.0, 0.0])], [np.array([0.0, 0, 5]), np.array([30.0, 30, 30])])
    assert np.isnan(nu[0]) and nu[1] == 30 and np.isnan(nu[2])


@pytest.fixture(scope="module")
def lonely_data(strat):
    d = strat.copy()
    d["st"] = d["stype"].astype(str)
    d.loc[d["snum"] == d["snum"].iloc[0], "st"] = "X"            # a stratum with a single PSU
    d["N"] = np.where(d["st"] == "X", 10, d["fpc"])
    return d


@pytest.mark.parametrize("option", ["certainty", "remove", "adjust", "average"])
def test_lonely_psu_options_match_r(option, lonely_data):
    """Each of R's survey.lonely.psu choices: linearised SEs of a mean and a total, and JKn replicate SEs."""
    d = Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N", lonely_psu=option)
    assert_allclose(survey.mean(d, "api00").iloc[0]["se"], rm(f"lonely_{option}", "mean_se"), rtol=1e-9)
    assert_allclose(survey.total(d, "enroll").iloc[0]["se"], rm(f"lonely_{option}", "total_se"), rtol=1e-9)
    j = survey.with_replicates(d, "jkn")
    assert_allclose(survey.mean(j, "api00", variance="replicates").iloc[0]["se"], rm(f"lonely_{option}", "jkn_mean_se"),
                    rtol=1e-9)


def test_lonely_psu_in_a_domain_follows_r(lonely_data):
    """An audit against R: R's subset of a design without calibration drops the rows outside the domain, so a domain
    without the lonely stratum's unit neither fails (« fail », R's default) nor counts that stratum (« average »:
    4/3 applied where R applies 1); by= domains alike. A calibrated design keeps every row in R: every stratum counts."""
    other = ({"No", "Yes"} - {lonely_data.loc[lonely_data["st"] == "X", "sch.wide"].iloc[0]}).pop()
    inside = (lonely_data["sch.wide"] == other).to_numpy()
    for option in ("fail", "average"):
        d = Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N", lonely_psu=option)
        assert_allclose(survey.mean(survey.subset(d, inside), "api00").iloc[0]["se"],
                        rm(f"lonely_domain_{option}", "mean_se"), rtol=1e-9)
    d = Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N", lonely_psu="average")
    by = survey.mean(d, "api00", by="sch.wide").set_index("domain")["se"]
    for level in ("No", "Yes"):
        assert_allclose(by[f"sch.wide={level}"], rm(f"lonely_by_average_{level}", "mean_se"), rtol=1e-9)
    both = survey.mean(d, "api00", by="sch.wide", covariance=True)
    assert_allclose(both["se"].to_numpy(), by.to_numpy(), rtol=1e-12)      # the matrix's diagonal is the SEs
    sizes = {lv: lonely_data.loc[lonely_data["stype"] == lv, "pw"].sum() for lv in ("E", "H", "M")}
    cal = survey.calibrate(d, [survey.Margin.of("stype", sizes)], method="linear")
    assert_allclose(survey.mean(survey.subset(cal, inside), "api00").iloc[0]["se"],
                    rm("lonely_calibrated_domain_average", "mean_se"), rtol=1e-9)
    with pytest.raises(survey.ParameterError, match="single PSU"):        # the domain holding the lonely unit
        survey.mean(survey.subset(Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N"), ~inside), "api00")


def test_lonely_psu_after_a_subset_then_a_calibration_and_through_a_file(lonely_data, tmp_path):
    """A review: R's subset of an uncalibrated design drops the other rows for good, so a calibration after it works
    on the rows kept and the lonely stratum it left out stays absent; the engine counted it again once calibrated
    (« fail » raised, « average » scaled by 4/3). R fixture, both options. And a design read back from its file keeps
    its lonely-PSU behaviour (its non-response and subset steps are in the file)."""
    other = ({"No", "Yes"} - {lonely_data.loc[lonely_data["st"] == "X", "sch.wide"].iloc[0]}).pop()
    inside = (lonely_data["sch.wide"] == other).to_numpy()
    for option in ("average", "fail"):
        d = survey.subset(Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N", lonely_psu=option), inside)
        sizes = {lv: float(d.weights[(d.data["stype"] == lv).to_numpy()].sum()) * 1.1 for lv in ("E", "H", "M")}
        m = survey.mean(survey.calibrate(d, [survey.Margin.of("stype", sizes)], method="linear"), "api00").iloc[0]
        assert_allclose([m["estimate"], m["se"]], [rm(f"lonely_subset_calibrated_{option}", q) for q in ("mean", "mean_se")],
                        rtol=1e-9)
    d = Design.from_frame(lonely_data.assign(r=(np.arange(len(lonely_data)) % 7 != 0)), weights="pw", strata="st",
                          fpc="N", lonely_psu="average")
    nr = survey.adjust_nonresponse(d, "r", groups=["stype"])
    survey.write_design(nr, tmp_path / "nr.parquet")
    back = survey.read_design(tmp_path / "nr.parquet")
    assert [s.kind for s in back.steps] == ["nonresponse"]
    for by in (None, "sch.wide"):
        assert_allclose(survey.mean(back, "api00", by=by)["se"], survey.mean(nr, "api00", by=by)["se"], rtol=1e-12)


def _ultimate_cluster_by_hand(strata, psu, f, z, lonely):
    """The ultimate-cluster variance written stratum by stratum from its formula (the oracle)."""
    V, labels, n_lonely = np.zeros((z.shape[1], z.shape[1])), np.unique(strata), 0
    for h in labels:
        ids = np.unique(psu[strata == h])
        Z = np.array([z[psu == i].sum(axis=0) for i in ids])
        fh = f[strata == h][0]
        if fh >= 1:
            continue
        if len(ids) == 1:
            n_lonely += 1
            if lonely == "adjust":
                V += (1 - fh) * np.outer(Z[0], Z[0])
            continue
        D = Z - Z.mean(axis=0)
        V += (1 - fh) * len(ids) / (len(ids) - 1) * D.T @ D
    return V * (len(labels) / (len(labels) - n_lonely) if lonely == "average" and n_lonely else 1)


@pytest.mark.parametrize("option", ["certainty", "remove", "adjust", "average"])
def test_many_strata_variance_equals_the_formula_stratum_by_stratum(option):
    """300 strata of 1 to 5 PSUs (some with one PSU, some taken with certainty), several units per PSU:
    the vectorised variance (matrix and diagonal) equals the formula computed stratum by stratum."""
    rng = np.random.default_rng(7)
    n_psu = rng.integers(1, 6, size=300)
    f = np.where(rng.random(300) < 0.1, 1.0, rng.uniform(0, 0.5, size=300))
    psu_stratum = np.repeat(np.arange(300), n_psu)
    units = rng.integers(1, 4, size=len(psu_stratum))
    unit_psu = np.repeat(np.arange(len(psu_stratum)), units)
    strata = psu_stratum[unit_psu]
    df = pd.DataFrame({"st": strata, "up": unit_psu, "f": f[strata], "w": rng.uniform(1, 5, size=len(strata))})
    d = Design.from_frame(df, weights="w", strata="st", psu="up", fpc="f", lonely_psu=option)
    z = rng.normal(size=(len(df), 3))
    expected = _ultimate_cluster_by_hand(strata, unit_psu, f[strata], z, option)
    assert_allclose(survey.linearised_variance(d, z), expected, rtol=1e-12, atol=0)
    assert_allclose(survey.linearised_variance(d, z, diagonal=True), np.diag(expected), rtol=1e-12, atol=0)
    assert ((n_psu == 1) & (f < 1)).sum() > 10 and ((n_psu > 1) & (f >= 1)).sum() > 5


def test_lonely_psu_fails_by_default_in_linearisation_and_replicates(lonely_data):
    d = Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N")
    with pytest.raises(survey.ParameterError, match="single PSU"):
        survey.mean(d, "api00")
    for method in ("jkn", "bootstrap"):
        with pytest.raises(survey.ParameterError, match="single PSU"):
            survey.with_replicates(d, method, 10, np.random.default_rng(1))
    with pytest.raises(survey.ParameterError, match="not defined for the bootstrap"):
        survey.with_replicates(Design.from_frame(lonely_data, weights="pw", strata="st", fpc="N", lonely_psu="adjust"),
                               "bootstrap", 10, np.random.default_rng(1))


def test_difference_of_two_domains_sharing_psus(clus1):
    """comp.imp No − Yes in apiclus1: both domains have schools in the same districts, so the covariance of their
    means enters the difference's variance (the E/H fixture has it zero by construction, and a difference whose
    influence values were added instead of subtracted passed there); svycontrast and svyttest on dclus1."""
    d = survey.mean_difference(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "api00", "comp.imp",
                               "No", "Yes")
    fx = "clus1_compimp"
    assert_allclose([d.difference, d.se], [r(fx, "diff_estimate"), r(fx, "diff_se")], rtol=1e-9)
    assert d.df == r(fx, "ttest_df")
    assert_allclose([-d.t, d.p], [r(fx, "ttest_t"), r(fx, "ttest_p")], rtol=1e-9)


@pytest.mark.parametrize("fixture,kind", [("olr", "linearisation"), ("olr_jk1", "replicates")])
def test_svyolr_residual_df_is_r_df_residual(mealcat, fixture, kind):
    """The proportional-odds fit's residual df (its table's p-values and intervals use them) is R's ``df.residual``:
    the design's df less the slopes (the cut-points are not counted)."""
    d = Design.from_frame(mealcat, weights="pw", psu="dnum", fpc="fpc")
    if kind == "replicates":
        d = survey.with_replicates(d, "jk1")
    fit = survey.svyolr(d, "mealcat", ["avg.ed", "mobility", "stype"], variance=kind)
    assert fit.df == r(fixture, "df_residual")
    t = fit.table()
    slope = t.loc[t["term"] == "avg.ed"].iloc[0]
    assert slope["p"] == pytest.approx(2 * stats.t.sf(abs(slope["estimate"] / slope["se"]), r(fixture, "df_residual")),
                                       rel=1e-12)


def test_one_option_multiple_response_test_is_svyttest_on_the_two_groups_psus(clus1):
    """Groups a and b of three, the third alone in two districts: with one option the Bilder–Loughin F is the Wald
    statistic, R ``svyttest``'s t² on the subset of the two groups, and its denominator df count the two groups'
    PSUs less strata (12, not the design's 14), as ``svychisq``'s do on that subset (``svyttest`` itself refers t to
    df − 1 = 11, its regression's residual df). ``svychisq``'s own Rao–Scott F (23.5 here) estimates the table's
    design effect from its joint cells: another statistic, which the module does not claim to be."""
    grp = np.where(clus1["dnum"].isin([716, 637]), "c", np.where(clus1["stype"] == "E", "a", "b"))
    data = clus1.assign(grp=grp, wide=(clus1["sch.wide"] == "Yes").astype(float))
    res = survey.multiple_response_test(Design.from_frame(data, weights="pw", psu="dnum", fpc="fpc"), ["wide"],
                                        "grp", "a", "b")
    assert_allclose(res.F, r("ttest_two_of_three", "t") ** 2, rtol=1e-9)
    assert res.ndf == pytest.approx(1.0, rel=1e-12)
    assert res.ddf == r("chisq_two_of_three", "ddf") == r("ttest_two_of_three", "df") + 1
    assert res.p_F == pytest.approx(stats.f.sf(res.F, 1, r("chisq_two_of_three", "ddf")), rel=1e-12)


def test_rao_scott_keeps_the_design_df_when_a_psu_has_no_answer(clus1):
    """District 637's answers to sch.wide missing: svychisq still refers F to the whole design's df (ndf × 14)."""
    data = clus1.assign(**{"sch.wide": clus1["sch.wide"].where(clus1["dnum"] != 637)})
    res = survey.rao_scott(Design.from_frame(data, weights="pw", psu="dnum", fpc="fpc"), "sch.wide", "stype")
    fx = "chisq_psu_missing"
    assert_allclose([res.F, res.ndf, res.ddf, res.p_F], [r(fx, "F"), r(fx, "ndf"), r(fx, "ddf"), r(fx, "p_F")],
                    rtol=1e-6)


def test_a_quantile_ignores_missing_values_of_units_with_weight_zero(clus1):
    """A weighted file keeps its non-respondents with weight 0 and no answers: ``quantile`` refused
    (« 3514 missing value(s): pass na_rm=True ») although they count for nothing. The median with such units
    added equals the median of dclus1 itself (R's, checked above); a missing value of a unit that counts is still an
    error, naming how many."""
    d = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    extra = clus1.iloc[:20].assign(api00=np.nan, pw=0.0)
    padded = Design.from_frame(pd.concat([clus1, extra], ignore_index=True), weights="pw", psu="dnum", fpc="fpc")
    a, b = survey.quantile(d, "api00", 0.5), survey.quantile(padded, "api00", 0.5)
    assert_allclose(b[["estimate", "ci_low", "ci_high", "se", "df"]].to_numpy(),
                    a[["estimate", "ci_low", "ci_high", "se", "df"]].to_numpy(), rtol=1e-12)
    holed = clus1.assign(api00=clus1["api00"].where(clus1.index >= 3))
    with pytest.raises(survey.ParameterError, match="3 missing value.s. among the units with a positive weight"):
        survey.quantile(Design.from_frame(holed, weights="pw", psu="dnum", fpc="fpc"), "api00", 0.5)


def test_the_interval_of_a_quantile_without_sampling_variability_is_the_estimate(strat):
    """Calibrated on school type, the share of schools at or below any type has no sampling variance: the Woodruff
    interval is the point itself (closed form). It used to step past the estimate when F̂(q̂) and the cumulated
    weights differed in their last bit (« estimate 3, interval [4 ; 4] »)."""
    d = Design.from_frame(strat.assign(kind=strat["stype"].map({"E": 1.0, "H": 2.0, "M": 3.0})), weights="pw",
                          strata="stype", fpc="fpc")
    d = survey.calibrate(d, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})])
    for rule in ("math", "hf7"):
        q = survey.quantile(d, "kind", [0.25, 0.5, 0.6, 0.75], qrule=rule)
        assert (q["ci_low"] == q["estimate"]).all() and (q["ci_high"] == q["estimate"]).all(), q
        assert (q["se"] == 0).all()


def test_a_quantile_below_the_first_step_is_the_smallest_value():
    """Closed form: 3 units of weight 1, 1 and 2; p = 0.1 lies under the smallest value's share (1/4): the quantile is
    that value (R 4.1's qs gives the second smallest there, the documented departure; trial G)."""
    d = Design.from_frame(pd.DataFrame({"y": [10.0, 20.0, 30.0], "w": [1.0, 1.0, 2.0]}), weights="w")
    assert survey.quantile(d, "y", [0.1, 0.25, 0.3])["estimate"].tolist() == [10.0, 10.0, 20.0]
    # the school rule too (an audit found the midpoint of the first two values, 15, there); on the step, the midpoint
    assert survey.quantile(d, "y", [0.1, 0.25, 0.3], qrule="school")["estimate"].tolist() == [10.0, 15.0, 20.0]


def test_a_domain_of_one_unit_has_no_interval():
    """An audit against R: a domain of one unit (df 0) got the interval [700, 700], as if known exactly; R gives NaN
    bounds. Its quantile is its value by every rule (R's qrule_hf7 fails there: IndexError here before)."""
    df = pd.DataFrame({"y": [700.0, 500.0, 600.0, 650.0], "g": ["a", "b", "b", "b"], "w": [3.0, 2.0, 2.0, 1.0]})
    d = Design.from_frame(df, weights="w")
    for rule in ("math", "school", "hf7"):
        q = survey.quantile(d, "y", 0.5, by="g", qrule=rule).set_index("domain")
        one = q.loc["g=a"]
        assert one["estimate"] == 700.0 and one["df"] == 0
        assert np.isnan([one["ci_low"], one["ci_high"], one["se"]]).all()
        assert np.isfinite(q.loc["g=b", "estimate"])


def test_a_domain_without_any_value_is_named_as_r_fails_there(clus1):
    """R is the oracle: with ``apiclus1$api00`` set to NA for every middle school, R 4.1.1's ``svyby(~api00, ~stype,
    dclus1, svyquantile, quantiles = 0.5, na.rm = TRUE, ci = TRUE)`` fails (« missing value where TRUE/FALSE
    needed »), with ``interval.type = "score"``, with ``ci = FALSE`` and on ``as.svrepdesign(dclus1)`` too. Here it
    raised a bare IndexError (« index -1 is out of bounds »): it is a ParameterError naming the domain, whatever the
    interval; the whole sample without a value is named too."""
    holed = clus1.assign(api00=clus1["api00"].where(clus1["stype"] != "M"))
    d = Design.from_frame(holed, weights="pw", psu="dnum", fpc="fpc")
    rd = survey.with_replicates(d, "jk1")
    for design, interval, variance in ((d, "mean", None), (d, "score", None), (d, "xlogit", None),
                                       (rd, "quantile", "replicates"), (rd, "mean", "replicates")):
        with pytest.raises(survey.ParameterError, match=r"'api00' has no value in the domain 'stype=M'.*R's "
                           "svyquantile fails too"):
            survey.quantile(design, "api00", 0.5, by="stype", na_rm=True, interval=interval, variance=variance)
    with pytest.raises(survey.ParameterError, match="'api00' has no value in the sample"):
        survey.quantile(survey.subset(d, (holed["stype"] == "M").to_numpy()), "api00", 0.5, na_rm=True)


def test_a_design_column_that_is_not_there_is_named(strat):
    """``weights="poids"`` on a frame without it raised pandas' bare ``KeyError: 'poids'``."""
    with pytest.raises(survey.ParameterError, match=r"no column weights='poids', psu='up' in the data \(its columns: "):
        Design.from_frame(strat, weights="poids", strata="stype", psu="up")


def test_misuses_of_subset_and_quantile_are_named(strat):
    d = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(survey.ParameterError, match="3 values for 200 units"):
        survey.subset(d, np.ones(3, bool))
    with pytest.raises(survey.ParameterError, match="'sch.wide' is not numeric"):
        survey.quantile(d, "sch.wide", 0.5, na_rm=True)


def test_wald_of_several_terms_together_as_r():
    """R ``regTermTest(fit, ~ell + stype)`` tests the terms together (one F on their 3 coefficients); ``Fit.wald``
    took one term or prefix only (an audit). R values (``make_fixtures_wald_terms.R``, ``wald_terms.csv``):
    ``svyglm(api00 ~ ell + meals + stype, dstrat)`` and, glm converged to 1e-14,
    ``svyglm(I(sch.wide == "Yes") ~ ell + meals + stype, dclus1, family = quasibinomial)`` tested on
    ``~meals + stype``."""
    t = pd.read_csv(FIX / "wald_terms.csv")
    r = partial(helpers.r_value, t)
    strat = pd.read_csv(paths.TESTS / "reference" / "fixtures" / "apistrat.csv")
    clus1 = pd.read_csv(paths.TESTS / "reference" / "fixtures" / "apiclus1.csv")
    clus1["yes"] = (clus1["sch.wide"] == "Yes").astype(float)
    g = survey.svyglm(Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"), "api00 ~ ell + meals + stype")
    for spec in (["ell", "stype"], "~ell + stype", "stype + ell"):
        F, ndf, ddf, p = g.wald(spec)
        assert (ndf, ddf) == (r("gauss_strat_ell_stype", "ndf"), r("gauss_strat_ell_stype", "ddf"))
        assert_allclose([F, p], [r("gauss_strat_ell_stype", "F"), r("gauss_strat_ell_stype", "p")], rtol=1e-8)
    lg = survey.svyglm(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "yes ~ ell + meals + stype",
                       family="binomial")
    F, ndf, ddf, p = lg.wald("~meals + stype")
    assert (ndf, ddf) == (r("logit_clus1_meals_stype", "ndf"), r("logit_clus1_meals_stype", "ddf"))
    assert_allclose([F, p], [r("logit_clus1_meals_stype", "F"), r("logit_clus1_meals_stype", "p")], rtol=1e-8)
    assert lg.wald("stype") == lg.wald(["stype"])          # one term either way


def test_review_edge_cases_of_the_new_models_give_numbers_or_clear_errors(strat, clus1):
    """A review of the day's engine changes, each case a counter-example it ran:
    - cloglog's f' was 0 × ∞ = NaN far in the lower tail, so a fit with one outlying unit had NaN SEs (closed form:
      f and f' are 0 there; the fit's SEs are finite, as the logistic's on the same data);
    - an offset on the wrong scale (an exposure without its log) failed as « a term separates the response »;
    - replicate quantiles of a domain a JK1 replicate empties raised an IndexError."""
    from portrait.survey.ordinal import _link

    p, fa, fb, dfa, dfb = _link("cloglog")(np.array([-800.0, 5.0]), np.array([-900.0, -np.inf]))
    assert np.isfinite([p, fa, fb, dfa, dfb]).all() and dfa[0] == 0.0 and fa[0] == 0.0
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    y = np.digitize(3 * x + rng.logistic(size=400), [-1, 0, 1])
    x[0], y[0] = x.max() * 250, 3
    d = Design.from_frame(pd.DataFrame({"y": pd.Categorical(y, categories=[0, 1, 2, 3], ordered=True), "x": x,
                                        "w": 1.0, "psu": np.arange(400)}), weights="w", psu="psu")
    assert np.isfinite(survey.svyolr(d, "y", "x", method="cloglog").se).all()
    ds = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(survey.ConvergenceError, match=r"offset\(log\(days\)\)"):
        survey.svyglm(ds, "I(ell * enroll / 100)", ["meals"], family="quasipoisson", offset="enroll")
    jk = survey.with_replicates(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "jk1")
    with pytest.raises(survey.ParameterError, match=r"replicate \d+ holds no unit of the domain.*interval='mean'"):
        survey.quantile(jk, "api00", 0.5, by="dnum", interval="quantile", variance="replicates")
