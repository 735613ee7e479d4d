"""The profile-likelihood interval of a proportion (``interval="likelihood"``) against R
``svyciprop(method = "likelihood")``.

R values: tests/reference/make_fixtures_likelihood.R on R's api data, the cases of the other svyciprop fixtures
(whole sample, a rare category, 90 %, a calibrated design, a stratified one) and by domain as ``svyby`` runs them
(on each domain's subset, with its degrees of freedom), a calibrated design's domains included. Bounds at rtol 1e-9;
a calibrated design's at 1e-7 (R's calibration and glm stop at their tolerances); a share with a design effect of 23
at 95 % and 99 % (scipy's F quantile was infinite there); missing values, whole sample and by domain (R scales its
dispersion by the mean weights of the answered and of all rows, see ``likelihood.py``). With replicate weights R's
bounds are NA: the engine refuses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, ParameterError
from portrait.survey.likelihood import glm_intercept, spline

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "ciprop_likelihood.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}


@pytest.fixture(scope="module")
def designs():
    clus1, strat = pd.read_csv(FIX / "apiclus1.csv"), pd.read_csv(FIX / "apistrat.csv")
    for d in (clus1, strat):
        d["schwide_yes"] = (d["sch.wide"] == "Yes").astype(float)
        d["H"] = (d["stype"] == "H").astype(float)
        d["compimp_yes"] = (d["comp.imp"] == "Yes").astype(float)
        d["awards_yes"] = (d["awards"] == "Yes").astype(float)
        d["awards_na"] = np.where(d["api99"] < 600, np.nan, d["awards_yes"])
        d["even"] = (d["dnum"] % 2 == 0).astype(float)      # constant within clusters: a design effect of 23
        d["ell_hi"] = np.where(d["ell"] > 20, "hi", "lo")
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {"dclus1": dclus1, "dstrat": Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
            "dcal": survey.calibrate(dclus1, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                              Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking"),
            "rclus1": survey.with_replicates(dclus1, "jk1")}


@pytest.mark.parametrize("fixture,design,variable,level,rtol", [
    ("clus1_schwide", "dclus1", "schwide_yes", 0.95, 1e-9), ("clus1_H", "dclus1", "H", 0.95, 1e-9),
    ("clus1_H_90", "dclus1", "H", 0.90, 1e-9), ("cal_compimp", "dcal", "compimp_yes", 0.95, 1e-7),
    ("strat_awards", "dstrat", "awards_yes", 0.95, 1e-9), ("strat_awards_na", "dstrat", "awards_na", 0.95, 1e-9),
    ("clus1_even", "dclus1", "even", 0.95, 1e-9), ("clus1_even_99", "dclus1", "even", 0.99, 1e-9)])
def test_likelihood_interval_equals_svyciprop(designs, fixture, design, variable, level, rtol):
    e = survey.mean(designs[design], variable, level=level, interval="likelihood").iloc[0]
    assert_allclose([e.estimate, e.ci_low, e.ci_high], [R[(fixture, q)] for q in ("estimate", "low", "high")],
                    rtol=rtol)


@pytest.mark.parametrize("fixture,design,variable,by,rtol", [
    ("strat_awards_by_", "dstrat", "awards_yes", "stype", 1e-9),
    ("clus1_schwide_by_", "dclus1", "schwide_yes", "stype", 1e-9),
    ("cal_compimp_by_", "dcal", "compimp_yes", "stype", 1e-7),
    ("strat_awards_na_by_", "dstrat", "awards_na", "ell_hi", 1e-9)])
def test_likelihood_interval_by_domain_equals_svyby(designs, fixture, design, variable, by, rtol):
    e = survey.mean(designs[design], variable, by=by, interval="likelihood")
    for row in e.itertuples():
        fx = fixture + row.domain.split("=")[1]
        assert_allclose([row.estimate, row.ci_low, row.ci_high], [R[(fx, q)] for q in ("estimate", "low", "high")],
                        rtol=rtol)


def test_proportion_of_a_level_takes_it_too(designs):
    a = survey.proportion(designs["dclus1"], "stype", levels=["H"], interval="likelihood").iloc[0]
    assert_allclose([a.ci_low, a.ci_high], [R[("clus1_H", "low")], R[("clus1_H", "high")]], rtol=1e-9)


def test_replicates_are_refused_where_r_gives_na(designs):
    assert np.isnan(R[("jk1_H", "low")]) and np.isnan(R[("jk1_schwide_by_E", "high")])
    with pytest.raises(ParameterError, match="linearised"):
        survey.mean(designs["rclus1"], "H", variance="replicates", interval="likelihood")
    with pytest.raises(ParameterError, match="units"):
        survey.proportion_interval([0.3], [0.05], 20, 100, method="likelihood")


def test_the_pieces_against_closed_forms():
    """glm's iterations end at the weighted mean's logit; the spline reproduces a cubic exactly (its end conditions
    are the cubic's own third derivative) and passes through its knots."""
    rng = np.random.default_rng(3)
    y, w = rng.integers(0, 2, 50).astype(float), rng.uniform(0.5, 2.0, 50)
    beta, naive, _ = glm_intercept(y, w)
    p = np.sum(w * y) / np.sum(w)
    assert beta == pytest.approx(special.logit(p), rel=1e-7)
    assert naive == pytest.approx(1 / (np.sum(w) * p * (1 - p)), rel=1e-4)
    x = np.sort(rng.uniform(-2, 3, 9))
    cubic = np.poly1d([0.7, -1.2, 0.3, 2.0])
    u, v = spline(x, cubic(x))
    assert_allclose(v, cubic(u), rtol=1e-10, atol=1e-10)
    assert u[0] == x[0] and u[-1] == x[-1] and len(u) == 27


def test_edges_give_the_estimate(designs):
    """A share of 0 or 1 (no variance): the estimate itself, as the logit interval gives."""
    d = survey.update(designs["dclus1"], none=np.zeros(len(designs["dclus1"].weights)))
    e = survey.mean(d, "none", interval="likelihood").iloc[0]
    assert e.ci_low == e.ci_high == 0.0


def test_a_calibration_variable_share_keeps_its_estimate_inside(designs):
    """Trial W: the share of a calibration level has no variance (~1e-30 after rounding); the profile's bounds,
    around glm's estimate (the weighted mean to 1e-8), excluded the weighted mean reported. R stops with an error."""
    d = survey.update(designs["dcal"], sw=(designs["dcal"].data["sch.wide"] == "Yes").astype(float).to_numpy())
    e = survey.mean(d, "sw", interval="likelihood").iloc[0]
    assert e.estimate == pytest.approx(5122 / 6194, rel=1e-12)
    assert e.ci_low <= e.estimate <= e.ci_high and e.ci_high - e.ci_low < 1e-8
