"""Agreement with R survey 4.1 on the api data (fixtures written by tests/reference/make_fixtures.R).

Weights after calibration: rtol 1e-8. Estimates and linearised or replicate SEs: rtol 1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design
from portrait.survey import Margin, NumericTotal

FIX = paths.TESTS / "reference" / "fixtures"
EST = pd.read_csv(FIX / "survey_estimates.csv", keep_default_na=False)
WTS = pd.read_csv(FIX / "survey_weights.csv")

STYPE = Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
SCHWIDE = Margin.of("sch.wide", {"No": 1072, "Yes": 5122})
API99 = NumericTotal("api99", 3914069)
APIPOP_CELLS = {("E", "No"): 472, ("E", "Yes"): 3949, ("H", "No"): 334, ("H", "Yes"): 421,
                ("M", "No"): 266, ("M", "Yes"): 752}


def _r(fixture, statistic, variable, domain=""):
    row = EST.loc[(EST.fixture == fixture) & (EST.statistic == statistic) & (EST.variable == variable)
                  & (EST.domain == domain)]
    assert len(row) == 1, (fixture, statistic, variable, domain)
    se = row["se"].iloc[0]
    return float(row["estimate"].iloc[0]), (float(se) if se not in ("NA", "") else np.nan)


@pytest.fixture(scope="module")
def dclus1():
    d = pd.read_csv(FIX / "apiclus1.csv")
    return Design.from_frame(d, weights="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat():
    d = pd.read_csv(FIX / "apistrat.csv")
    return Design.from_frame(d, weights="pw", strata="stype", fpc="fpc")


CALIBRATIONS = {
    "none": lambda d: d,
    "linear_stype": lambda d: survey.calibrate(d, [STYPE], method="linear"),
    "linear_stype_api99": lambda d: survey.calibrate(d, [STYPE, API99], method="linear"),
    "raking_stype_schwide": lambda d: survey.calibrate(d, [STYPE, SCHWIDE], method="raking"),
    "raking_stype_api99": lambda d: survey.calibrate(d, [STYPE, API99], method="raking"),
    "logit_stype_api99": lambda d: survey.calibrate(d, [STYPE, API99], method="logit", bounds=(0.7, 1.7)),
    "truncated_stype_api99": lambda d: survey.calibrate(d, [STYPE, API99], method="truncated",
                                                           bounds=(0.6, 1.6)),
    "joint_stype_schwide": lambda d: survey.calibrate(d, [Margin.of(("stype", "sch.wide"), APIPOP_CELLS)],
                                                         method="linear"),
}


@pytest.mark.parametrize("name", list(CALIBRATIONS))
class TestCalibrationMatchesR:
    def test_weights(self, dclus1, name):
        """Calibrated weights equal R calibrate()'s, unit by unit (rtol 1e-8)."""
        cal = CALIBRATIONS[name](dclus1)
        ref = WTS.loc[WTS.fixture == name].set_index("snum")["weight"]
        ours = pd.Series(cal.weights, index=cal.data["snum"]).loc[ref.index]
        assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-8)

    def test_mean_total_proportion_and_linearised_se(self, dclus1, name):
        """Mean, total, proportion and their calibration-aware linearised SEs equal R's (rtol 1e-6)."""
        cal = CALIBRATIONS[name](dclus1)
        m = survey.mean(cal, "api00").iloc[0]
        t = survey.total(cal, "enroll").iloc[0]
        p = survey.proportion(cal, "sch.wide").set_index("level").loc["Yes"]
        for got, (est, se) in ((m, _r(name, "mean", "api00")), (t, _r(name, "total", "enroll")),
                               (p, _r(name, "mean", "sch.wide", "Yes"))):
            assert_allclose([got["estimate"], got["se"]], [est, se], rtol=1e-6, atol=1e-9)  # SE 0 on a margin
        assert_allclose(m["deff"], _r(name, "deff", "api00")[0], rtol=1e-6)

    def test_domain_estimates(self, dclus1, name):
        """svyby domain means and totals (and SEs) equal R's (rtol 1e-6)."""
        cal = CALIBRATIONS[name](dclus1)
        for row in survey.mean(cal, "api00", by="stype").itertuples():
            est, se = _r(name, "mean", "api00", row.domain)
            assert_allclose([row.estimate, row.se], [est, se], rtol=1e-6)
        for row in survey.total(cal, "enroll", by="comp.imp").itertuples():
            est, se = _r(name, "total", "enroll", row.domain)
            assert_allclose([row.estimate, row.se], [est, se], rtol=1e-6)


def test_stratified_design_matches_r(dstrat):
    """Stratified SRS with fpc: mean, total, deff and domain means equal R's svydesign (rtol 1e-6)."""
    m = survey.mean(dstrat, "api00").iloc[0]
    assert_allclose([m.estimate, m.se], _r("dstrat", "mean", "api00"), rtol=1e-6)
    assert_allclose(m.deff, _r("dstrat", "deff", "api00")[0], rtol=1e-6)
    t = survey.total(dstrat, "enroll").iloc[0]
    assert_allclose([t.estimate, t.se], _r("dstrat", "total", "enroll"), rtol=1e-6)
    for row in survey.mean(dstrat, "api00", by="comp.imp").itertuples():
        assert_allclose([row.estimate, row.se], _r("dstrat", "mean", "api00", row.domain), rtol=1e-6)


def test_published_values(dstrat, dclus1):
    """Published R survey values (tests/api.Rout.save): 662.29 (9.4089) and 644.17 (23.542)."""
    m = survey.mean(dstrat, "api00").iloc[0]
    assert (round(m.estimate, 2), round(m.se, 4)) == (662.29, 9.4089)
    c = survey.mean(dclus1, "api00").iloc[0]
    assert (round(c.estimate, 2), round(c.se, 3)) == (644.17, 23.542)


class TestReplicatesMatchR:
    def _rep(self, design, file, scale):
        w = pd.read_csv(FIX / file).set_index("snum").loc[design.data["snum"]].to_numpy()
        return survey.with_replicates(design, factors=w / design.weights[:, None], scale=scale)

    def test_jk1_factors_are_rs(self, dclus1):
        """Our JK1 factors reproduce R's as.svrepdesign(type='JK1') replicate weights and scale."""
        ours = survey.with_replicates(dclus1, "jk1")
        w = pd.read_csv(FIX / "apiclus1_jk1_repweights.csv").set_index("snum").loc[dclus1.data["snum"]]
        ours_w = dclus1.weights[:, None] * ours.replicate_factors
        # same set of replicates (R orders PSUs by first appearance, we by code): compare sorted columns
        key = lambda m: sorted(map(tuple, np.round(m.T, 8)))
        assert key(ours_w) == key(w.to_numpy())
        assert_allclose(ours.replicate_scale, _r("jk1_none", "scale", "")[0], rtol=1e-12)

    @pytest.mark.parametrize("name,recipe", [
        ("jk1_none", lambda d: d),
        ("jk1_linear_stype", lambda d: survey.calibrate(d, [STYPE], method="linear")),
        ("jk1_raking_stype_schwide", lambda d: survey.calibrate(d, [STYPE, SCHWIDE], method="raking")),
    ])
    def test_jk1_recalibrated_se(self, dclus1, name, recipe):
        """JK1 SEs with calibration re-run in every replicate equal R's (rtol 1e-6)."""
        d = recipe(survey.with_replicates(dclus1, "jk1"))
        m = survey.mean(d, "api00", variance="replicates").iloc[0]
        t = survey.total(d, "enroll", variance="replicates").iloc[0]
        assert_allclose([m.estimate, m.se], _r(name, "mean", "api00"), rtol=1e-6)
        assert_allclose([t.estimate, t.se], _r(name, "total", "enroll"), rtol=1e-6)

    @pytest.mark.parametrize("name,recipe", [
        ("subboot_none", lambda d: d),
        ("subboot_raking_stype_schwide", lambda d: survey.calibrate(d, [STYPE, SCHWIDE], method="raking")),
    ])
    def test_bootstrap_with_r_factors(self, dstrat, name, recipe):
        """With R's subbootstrap replicate factors, our recalibrated bootstrap SEs equal R's (rtol 1e-6)."""
        base = self._rep(dstrat, "apistrat_subboot_repweights.csv", _r(name, "scale", "")[0])
        d = recipe(base)
        m = survey.mean(d, "api00", variance="replicates").iloc[0]
        t = survey.total(d, "enroll", variance="replicates").iloc[0]
        assert_allclose([m.estimate, m.se], _r(name, "mean", "api00"), rtol=1e-6)
        assert_allclose([t.estimate, t.se], _r(name, "total", "enroll"), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Our own simulated survey (« données simulées »): resident respondents calibrated with R

SIM_EST = pd.read_csv(FIX / "simulated_estimates.csv", keep_default_na=False)
SIM_WTS = pd.read_csv(FIX / "simulated_weights.csv", dtype={"id": str})


@pytest.fixture(scope="module")
def simulated():
    d = pd.read_csv(FIX / "simulated_residents.csv", dtype={"id": str, "psu": str, "stratum": str, "cell": str,
                                                            "departement": str, "size_class": str, "age": str})
    d["w"] = np.where(d["respondent"], d["w_nr"], 0.0)
    design = Design.from_frame(d, weights="w", strata="stratum", psu="psu", fpc="fpc")
    m = pd.read_csv(FIX / "simulated_residents_margins.csv", dtype={"level": str})
    margins = [Margin.of(v, dict(zip(g["level"], g["total"]))) for v, g in m.groupby("margin", sort=False)]
    return design, margins


@pytest.mark.parametrize("method,bounds", [("linear", None), ("raking", None), ("logit", (0.3, 3.0))])
def test_simulated_survey_matches_r(simulated, method, bounds):
    """On the simulated resident survey, calibrated weights (rtol 1e-8), means, totals, domain means and their
    linearised SEs (rtol 1e-6) equal R survey's, the non-respondents staying in the design as R's subset keeps them."""
    design, margins = simulated
    cal = survey.calibrate(design, margins, method=method, bounds=bounds)
    name = f"sim_{method}"
    ref = SIM_WTS.loc[SIM_WTS.fixture == name].set_index("id")["weight"]
    ours = pd.Series(cal.weights, index=cal.data["id"]).loc[ref.index]
    assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-8)
    rows = SIM_EST.loc[SIM_EST.fixture == name]
    for r in rows.itertuples():
        fn = survey.mean if r.statistic == "mean" else survey.total
        got = fn(cal, r.variable, by="age" if r.domain else None)
        got = got.loc[got["domain"] == r.domain].iloc[0]
        assert_allclose([got["estimate"], got["se"]], [float(r.estimate), float(r.se)], rtol=1e-6,
                        err_msg=f"{name} {r.statistic} {r.variable} {r.domain}")
