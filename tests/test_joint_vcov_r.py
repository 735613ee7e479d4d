"""The joint covariance of several survey GLMs on one design agrees with R.

Fixtures by tests/reference/make_fixtures_joint.R (R survey 4.1.1): logistic models of ``api00`` above two or three
cuts, and a gaussian model beside a logistic one, on the one-stage cluster sample (linearisation and JK1 replicates)
and the stratified sample with fpc. R has no function for it: the script stacks each fit's influence through
``svyrecvar`` and each fit's replicate coefficients through ``svrVar``, and stops unless each diagonal block is that
fit's own ``vcov()``. Every entry is compared at rtol 1e-6 (entries near zero: atol 1e-9 of the largest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError

FIX = paths.TESTS / "reference" / "fixtures"
TABLE = pd.read_csv(FIX / "joint_vcov.csv")

# R's cases in make_fixtures_joint.R → design and the fits (model, family)
CASES = {"cuts_clus1": ("dclus1", [(f"I(api00 > {c}) ~ stype + ell", "quasibinomial") for c in (600, 700)]),
         "cuts_strat": ("dstrat", [(f"I(api00 > {c}) ~ ell + meals", "quasibinomial") for c in (600, 700, 800)]),
         "cuts_jk1": ("rclus1", [(f"I(api00 > {c}) ~ stype + ell", "quasibinomial") for c in (600, 700)]),
         "mixed_strat": ("dstrat", [("api00 ~ ell + stype", "gaussian"), ("I(api00 > 700) ~ ell + stype", "quasibinomial")])}


@pytest.fixture(scope="module")
def designs():
    clus1, strat = pd.read_csv(FIX / "apiclus1.csv"), pd.read_csv(FIX / "apistrat.csv")
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {"dclus1": dclus1, "dstrat": Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
            "rclus1": survey.with_replicates(dclus1, "jk1")}


def _fits(designs, case):
    name, models = CASES[case]
    d = designs[name]
    variance = "replicates" if name == "rclus1" else "linearisation"
    return d, [survey.svyglm(d, model, family=family, variance=variance) for model, family in models]


def test_every_case_of_the_script_is_tested():
    assert set(TABLE["fixture"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_joint_vcov_equals_r(designs, case):
    d, fits = _fits(designs, case)
    got = survey.joint_vcov(d, fits)
    t = TABLE.loc[TABLE["fixture"] == case]
    want = np.zeros((t["i"].max(), t["j"].max()))
    want[t["i"] - 1, t["j"] - 1] = t["value"].to_numpy(dtype=float)
    assert got.shape == want.shape
    assert_allclose(got, want, rtol=1e-6, atol=1e-9 * np.abs(want).max())
    at = 0
    for f in fits:                                   # each fit's own block is its covariance
        k = slice(at, at + len(f.coef))
        assert_allclose(got[k, k], f.vcov, rtol=1e-12)
        at += len(f.coef)


def test_joint_vcov_refuses_what_it_cannot_combine(designs):
    d, fits = _fits(designs, "cuts_clus1")
    r, rfits = _fits(designs, "cuts_jk1")
    with pytest.raises(ParameterError, match="mix variance methods"):
        survey.joint_vcov(d, [fits[0], rfits[0]])
    with pytest.raises(ParameterError, match="at least one fit"):
        survey.joint_vcov(d, [])
    with pytest.raises(ParameterError, match="units where the design has"):
        survey.joint_vcov(designs["dstrat"], fits)
    strat = designs["dstrat"]
    olr = survey.svyolr(survey.update(strat, band=pd.cut(strat.data["api00"], [0, 600, 700, 1000])), "band",
                        ["ell"])
    with pytest.raises(ParameterError, match="neither influences nor replicate"):
        survey.joint_vcov(strat, [olr])


def test_joint_vcov_keeps_the_units_a_subset_leaves_out(designs):
    """A subset's design keeps its other units at weight 0 (R's domain): the fits' influences have a row for each,
    and each fit's own block is still its covariance (a first version compared them with the positive weights)."""
    strat = designs["dstrat"]
    sub = survey.subset(strat, (strat.data["meals"] > 40).to_numpy())
    fits = [survey.svyglm(sub, f"I(api00 > {c}) ~ ell", family="quasibinomial") for c in (600, 700)]
    V = survey.joint_vcov(sub, fits)
    assert sub.n < len(sub.weights) and V.shape == (4, 4)
    assert_allclose(V[:2, :2], fits[0].vcov, rtol=1e-12) and assert_allclose(V[2:, 2:], fits[1].vcov, rtol=1e-12)
