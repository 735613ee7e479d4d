"""Two-way interactions in survey-weighted GLMs agree with R ``svyglm`` and ``regTermTest`` (fixtures by
tests/reference/make_fixtures_models.R): coefficients, SEs, the interaction's Wald F, its df and p at rtol 1e-6.
The logistic fit (both sides iterated to 1e-13 or beyond) has coefficients equal to 1e-11 but two SEs only to
8e-7, near a stratum with little information (R takes its covariance from glm's last iteration); its F, a
quadratic form in them, agrees to 4e-6 and is compared at rtol 1e-5."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
IA = pd.read_csv(FIX / "interactions.csv")
r = partial(helpers.r_value, IA)


@pytest.fixture(scope="module")
def designs():
    clus1, strat = pd.read_csv(FIX / "apiclus1.csv"), pd.read_csv(FIX / "apistrat.csv")
    for d in (clus1, strat):
        d["stype"] = pd.Categorical(d["stype"], categories=["E", "H", "M"])
        d["awards"] = pd.Categorical(d["awards"], categories=["No", "Yes"])
        d["schwide_yes"] = (d["sch.wide"] == "Yes").astype(float)
        d["mealcat"] = pd.cut(d["meals"], [-1, 33, 66, 101], labels=["low", "mid", "high"])
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {"dclus1": dclus1, "dstrat": Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
            "rclus1": survey.with_replicates(dclus1, "jk1")}


CASES = [("gauss_num_fac", "dclus1", "api00", ["stype*ell", "meals"], "gaussian", "stype:ell"),
         ("gauss_fac_fac", "dstrat", "api00", ["stype*awards"], "gaussian", "stype:awards"),
         ("logit_num_fac", "dstrat", "schwide_yes", ["meals*stype"], "quasibinomial", "meals:stype"),
         ("fac3_fac3", "dstrat", "api00", ["stype*mealcat"], "gaussian", "stype:mealcat"),
         ("jk1_num_num", "rclus1", "api00", ["ell*meals"], "gaussian", "ell:meals")]


@pytest.mark.parametrize("fixture,design,y,terms,family,term", CASES)
def test_interactions_equal_svyglm_and_regtermtest(designs, fixture, design, y, terms, family, term):
    """Column names and order as R's model.matrix, coefficients and SEs, and the interaction's Wald test. A logit's F
    and p are compared at 1e-5: R's sandwich takes the working weights of its last IRLS iterate but one, and glm's
    deviance criterion leaves that iterate about √ε from the optimum (SEs 8e-7 apart, F 1.5e-6, here)."""
    fit = survey.svyglm(designs[design], y, terms, family=family,
                        variance="replicates" if design == "rclus1" else "linearisation")
    expected = [q[len("coef_"):] for q in IA.loc[IA.fixture == fixture, "quantity"] if q.startswith("coef_")]
    assert fit.names == expected
    assert_allclose(fit.coef, [r(fixture, f"coef_{n}") for n in expected], rtol=1e-6)
    assert_allclose(fit.se, [r(fixture, f"se_{n}") for n in expected], rtol=1e-6)
    F, ndf, ddf, p = fit.wald(term)
    assert (ndf, ddf) == (r(fixture, "wald_df"), r(fixture, "wald_ddf"))
    assert_allclose([F, p], [r(fixture, "wald_F"), r(fixture, "wald_p")],
                    rtol=1e-5 if family == "quasibinomial" else 1e-6)


def test_a_main_effects_test_leaves_the_interaction_out(designs):
    """wald('stype') tests stype's two main-effect coefficients only, not the stype:ell ones that share its prefix
    (closed form: the Wald F of those two coefficients)."""
    fit = survey.svyglm(designs["dclus1"], "api00", ["stype*ell", "meals"])
    F, ndf, _, _ = fit.wald("stype")
    idx = [fit.names.index("stypeH"), fit.names.index("stypeM")]
    b = fit.coef[idx]
    assert ndf == 2 and F == pytest.approx(b @ np.linalg.solve(fit.vcov[np.ix_(idx, idx)], b) / 2, rel=1e-12)


@pytest.mark.parametrize("terms,message", [(["stype:ell"], "needs its main effects"),
                                           (["stype", "ell", "meals", "stype:ell:meals"], "only two-way")])
def test_interactions_r_would_code_otherwise_are_refused(designs, terms, message):
    with pytest.raises(ParameterError, match=message):
        survey.svyglm(designs["dclus1"], "api00", terms)


def test_proportional_odds_with_an_interaction_equals_svyolr():
    """svyolr(mealcat ~ mobility * stype): names, coefficients and SEs. With optim's default reltol (1e-8) R stopped
    3 % short of the optimum on this badly scaled model (same deviance to 7 digits); the fixture runs optim to 1e-14,
    and the coefficients then agree at 2.5e-8 (rtol 1e-6). SEs come from R's numerical Hessian: rtol 1e-3, as every
    svyolr comparison."""
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    cat = pd.cut(clus1["meals"], [0, 25, 50, 75, 100])
    labels = {iv: f"({int(iv.left)},{int(iv.right)}]" for iv in cat.cat.categories}
    clus1["mealcat"] = pd.Categorical(cat.map(labels), categories=list(labels.values()), ordered=True)
    fit = survey.svyolr(Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "mealcat", ["mobility*stype"])
    expected = [q[len("coef_"):] for q in IA.loc[IA.fixture == "olr_num_fac", "quantity"] if q.startswith("coef_")]
    assert fit.names == expected
    assert_allclose(fit.coef, [r("olr_num_fac", f"coef_{n}") for n in expected], rtol=1e-6)
    assert_allclose(fit.se, [r("olr_num_fac", f"se_{n}") for n in expected], rtol=1e-3)


def test_the_model_as_r_writes_it(designs):
    """``"api00 ~ stype*ell + meals"`` is R's formula of fixture gauss_num_fac: the same fit as the terms given
    apart, equal to R; what a formula may hold beyond columns is refused by name."""
    fit = survey.svyglm(designs["dclus1"], "api00 ~ stype*ell + meals")
    assert fit.names == survey.svyglm(designs["dclus1"], "api00", ["stype*ell", "meals"]).names
    assert_allclose(fit.coef, [r("gauss_num_fac", f"coef_{n}") for n in fit.names], rtol=1e-6)
    olr = survey.svyolr(designs["dstrat"], "mealcat ~ stype + ell")
    assert olr.names[:3] == ["stypeH", "stypeM", "ell"]
    for bad in ("api00 ~ ell^2", "api00 ~ ell - 1", "api00 ~ .", "api00 ~ 1", "api00 ~ ell + "):
        with pytest.raises(ParameterError, match="are not read"):
            survey.svyglm(designs["dclus1"], bad)
    with pytest.raises(ParameterError, match="no terms"):
        survey.svyglm(designs["dclus1"], "api00")
    with pytest.raises(ParameterError, match="'ell\\+meals'.*formula 'y ~ a \\+ b' in place of y"):
        survey.svyglm(designs["dclus1"], "api00", "ell+meals")
