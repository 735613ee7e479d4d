"""svychisq's other statistics: the design-based Wald tests (``survey.wald_independence``, R ``"Wald"`` and
``"adjWald"``) and the saddlepoint p-value of Pearson's X² (``RaoScott.p_saddlepoint``, R ``"saddlepoint"``).

R values: tests/reference/make_fixtures_chisq.R on R's api data (a cluster sample, a stratified one, a calibrated one,
a 3 × 3 table, JK1 replicates, a domain of the calibrated design); statistics, degrees of freedom and p-values at
rtol 1e-8 (the calibrated design's at 1e-6, R's calibration stopping at its tolerance; p-values near 1e-50 at 1e-6).
R's X² is scaled to every row of its design (a calibrated design's subset keeps them all), the engine's to the units
used: compared once rescaled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, ParameterError

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "chisq.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}


def _mealcat(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(mealcat=pd.Categorical(np.select([d["meals"] <= 30, d["meals"] <= 60], ["low", "mid"], "high"),
                                           categories=["low", "mid", "high"]))


CLUS1 = Design.from_frame(_mealcat(pd.read_csv(FIX / "apiclus1.csv")), weights="pw", psu="dnum", fpc="fpc")
STRAT = Design.from_frame(_mealcat(pd.read_csv(FIX / "apistrat.csv")), weights="pw", strata="stype", fpc="fpc")
CAL = survey.calibrate(CLUS1, [Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                               Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
CASES = {"clus1": (CLUS1, "sch.wide", "stype", "linearisation"), "strat": (STRAT, "awards", "comp.imp", "linearisation"),
         "cal": (CAL, "comp.imp", "stype", "linearisation"), "clus1_3x3": (CLUS1, "stype", "mealcat", "linearisation"),
         "jk1": (survey.with_replicates(CLUS1, "jk1"), "sch.wide", "stype", "replicates"),
         # trial X: R's subset of a calibrated design keeps every row, and svychisq counts all their PSUs (14 df,
         # where the domain has 9)
         "cal_domain": (survey.subset(CAL, (CAL.data["dnum"] > 400).to_numpy()), "comp.imp", "sch.wide",
                        "linearisation")}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("adjusted", [False, True])
def test_wald_tests_equal_svychisq(name, adjusted):
    design, row, col, variance = CASES[name]
    st = "adjWald" if adjusted else "Wald"
    t = survey.wald_independence(design, row, col, variance=variance, adjusted=adjusted)
    rtol = 1e-6 if name in ("cal", "strat", "cal_domain") else 1e-8
    assert_allclose([t.F, t.ndf, t.ddf, t.p], [R[(name, f"{st}_{q}")] for q in ("statistic", "ndf", "ddf", "p")],
                    rtol=rtol)


@pytest.mark.parametrize("name", list(CASES))
def test_saddlepoint_p_equals_svychisq(name):
    design, row, col, variance = CASES[name]
    rs = survey.rao_scott(design, row, col, variance=variance)
    rtol = 1e-6 if name in ("cal", "strat", "cal_domain") else 1e-8
    assert_allclose(rs.p_saddlepoint, R[(name, "saddlepoint_p")], rtol=rtol)
    used = (design.weights > 0) & design.data[[row, col]].notna().all(axis=1).to_numpy()
    assert_allclose(rs.X2 * len(used) / used.sum(), R[(name, "saddlepoint_statistic")], rtol=rtol)   # R: nrow scale
    assert_allclose([rs.F, rs.ndf, rs.ddf, rs.p_F], [R[(name, f"F_{q}")] for q in ("statistic", "ndf", "ddf", "p")],
                    rtol=rtol)


def test_a_two_by_two_wald_is_the_square_of_the_design_based_t():
    """Closed form: in a 2 × 2 table the Wald statistic is t² of the one free cell's Y = T₂₂ − R₂C₂/N, whose
    linearised variance is that of its influence values, computed here by hand."""
    d, row, col = STRAT, "awards", "comp.imp"
    a = (d.data[row] == "Yes").to_numpy(float)
    b = (d.data[col] == "Yes").to_numpy(float)
    w = d.weights
    N, Ra, Cb, T = w.sum(), w @ a, w @ b, w @ (a * b)
    z = a * b - a * Cb / N - b * Ra / N + Ra * Cb / N ** 2      # the influence of Y on each unit
    var = survey.linearised_variance(d, w * z)[0, 0]
    t = (T - Ra * Cb / N) / np.sqrt(var)
    assert survey.wald_independence(d, row, col).F == pytest.approx(t ** 2, rel=1e-10)


def test_too_few_degrees_of_freedom_are_refused():
    small = survey.subset(CLUS1, CLUS1.data["dnum"].isin(CLUS1.data["dnum"].unique()[:4]).to_numpy(), drop=True)
    with pytest.raises(ParameterError, match="too few"):
        survey.wald_independence(small, "stype", "mealcat", adjusted=True)
    # unadjusted, ν = 4 PSUs − 1 = 3 passes the df rule, but the covariance of the k = 4 cells estimated from 4 PSUs
    # has rank ≤ 3: it is refused as singular. R's solve() inverts it through its rounding errors (svychisq
    # "Wald": F = 1.2985 on 4 and 3 df, survey 4.1.1), a number the engine does not give.
    k = (small.data["stype"].nunique() - 1) * (small.data["mealcat"].nunique() - 1)
    assert k == 4 and small.data["dnum"].nunique() == 4
    with pytest.raises(ParameterError, match="singular"):
        survey.wald_independence(small, "stype", "mealcat")
