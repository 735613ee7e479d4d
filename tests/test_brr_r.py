"""Balanced repeated replication and Fay's variant (``with_replicates(d, "brr")``, ``"fay"``) against R
``as.svrepdesign(type = "BRR")`` and ``type = "Fay"``.

R values: tests/reference/make_fixtures_brr.R on R's ``scd`` (3 strata of 2 ambulances) and on a sample it draws
(13 strata of 2 PSUs, numbered so that their text order differs from their numeric one; a stratum of 4 PSUs; a
single stratum): every replicate weight at
rtol 1e-14, the number of replicates and the scale exactly, means, totals, ratios and a post-stratified design's
estimates with their SEs at rtol 1e-10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError
from portrait.survey.replicates import sylvester

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "brr.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}
WEIGHTS = pd.read_csv(FIX / "brr_repweights.csv")
SCD = pd.DataFrame({"ESA": [1, 1, 2, 2, 3, 3], "ambulance": [1, 2, 1, 2, 1, 2], "arrests": [120.0, 78, 185, 228, 670, 530],
                    "alive": [25.0, 24, 30, 49, 80, 70], "w": 1.0})        # R's data(scd), printed
SAMPLES = {k: g.drop(columns="set").reset_index(drop=True)
           for k, g in pd.read_csv(FIX / "brr_sample.csv", dtype={"stratum": str}).groupby("set")}
SAMPLE = SAMPLES["s2"]


def _design(name: str) -> Design:
    if name.startswith("scd"):
        d = Design.from_frame(SCD, weights="w", strata="ESA", psu="ambulance")
    else:
        d = Design.from_frame(SAMPLES[name[:2]], weights="w", strata="stratum", psu="psu")
    method, rho = ("fay", 0.3 if name.startswith("scd") else 0.5) if "fay" in name else ("brr", None)
    d = survey.with_replicates(d, method, fay_rho=0.3 if name.endswith("rho") else rho)
    if name.endswith("post"):
        d = survey.post_stratify(d, "sex", {"F": 2700, "M": 2500})
    return d


@pytest.mark.parametrize("name", ["scd_brr", "scd_fay", "s2_brr", "s2_fay", "s2_brr_rho", "s3_brr", "s4_brr"])
def test_replicate_weights_are_rs(name):
    """s2_brr_rho: R's BRR with fay.rho is Fay's; s3: a stratum of 4 PSUs, split into pairs numbered first; s4: a
    single stratum, R's smallest matrix (order 4)."""
    d = _design(name)
    r = WEIGHTS.loc[WEIGHTS["fixture"] == name]
    want = np.zeros((r["unit"].max(), r["replicate"].max()))
    want[r["unit"] - 1, r["replicate"] - 1] = r["weight"].astype(float)
    assert d.replicate_weights().shape == want.shape
    assert_allclose(d.replicate_weights(), want, rtol=1e-14)
    assert d.replicate_scale == pytest.approx(R[(name, "scale")], rel=1e-15)


@pytest.mark.parametrize("name", ["scd_brr", "scd_fay", "s2_brr", "s2_fay", "s2_brr_post", "s2_brr_rho", "s3_brr",
                                  "s4_brr"])
def test_estimates_and_ses_are_rs(name):
    d = _design(name)
    y, x = ("alive", "arrests") if name.startswith("scd") else ("y", "x")
    m = survey.mean(d, y, variance="replicates").iloc[0]
    t = survey.total(d, y, variance="replicates").iloc[0]
    q = survey.ratio(d, y, x, variance="replicates").iloc[0]
    assert_allclose([m.estimate, m.se, t.se, q.estimate, q.se],
                    [R[(name, k)] for k in ("mean", "se_mean", "se_total", "ratio", "se_ratio")], rtol=1e-10)
    assert d.replicate_weights().shape[1] == R[(name, "replicates")]


def test_a_linear_statistic_has_the_textbook_variance_whatever_the_matrix():
    """Closed form: for a total with two PSUs per stratum, BRR gives Σ_h (t_h1 − t_h2)², the ultimate-cluster
    (linearised) variance without fpc, whichever Hadamard matrix is used (here R's order 16, and Sylvester's with its
    rows shuffled, the all-ones row kept first)."""
    d0 = Design.from_frame(SAMPLE, weights="w", strata="stratum", psu="psu")
    t = (SAMPLE["w"] * SAMPLE["y"]).groupby([SAMPLE["stratum"], SAMPLE["psu"]]).sum()
    textbook = float(sum((g.iloc[0] - g.iloc[1]) ** 2 for _, g in t.groupby(level="stratum")))
    assert survey.total(d0, "y").iloc[0].se ** 2 == pytest.approx(textbook, rel=1e-12)
    rows = np.random.default_rng(5).permutation(np.arange(1, 16))
    for h in (None, sylvester(16)[np.r_[0, rows]]):
        d = survey.with_replicates(d0, "brr", hadamard=h)
        assert survey.total(d, "y", variance="replicates").iloc[0].se ** 2 == pytest.approx(textbook, rel=1e-12)


def test_brr_needs_two_psus_per_stratum():
    d = Design.from_frame(SAMPLE.loc[SAMPLE["psu"] != 26], weights="w", strata="stratum", psu="psu")
    with pytest.raises(ParameterError, match="stratum '13' has 1"):
        survey.with_replicates(d, "brr")
    with pytest.raises(ParameterError, match="rho"):
        survey.with_replicates(_design("scd_brr"), "fay", fay_rho=1.0)
    with pytest.raises(ParameterError, match="needs fay_rho"):
        survey.with_replicates(Design.from_frame(SCD, weights="w", strata="ESA", psu="ambulance"), "fay")
    with pytest.raises(ParameterError, match="square"):          # trial Y: a 4 × 3 slice was taken for one
        survey.with_replicates(Design.from_frame(SCD, weights="w", strata="ESA", psu="ambulance"), "brr",
                               hadamard=sylvester(4)[:, :3])
    with pytest.raises(ParameterError, match="not a Hadamard"):
        survey.with_replicates(Design.from_frame(SCD, weights="w", strata="ESA", psu="ambulance"), "brr",
                               hadamard=np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, 1, 1, -1]]))


def test_a_replicate_that_separates_is_named():
    """Trial Y: the full sample fitted, one BRR half sample separated the response, and the error did not say that a
    replicate was the cause (R fits it with huge SEs and warnings)."""
    df = pd.DataFrame({"stratum": [1] * 8 + [2] * 8, "psu": np.repeat([1, 2, 3, 4], 4), "w": 1.0,
                       "x": [1, 1, 0, 0, 1, 1, 0, 0] + [0] * 8,
                       "y": [1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0]})
    d = survey.with_replicates(Design.from_frame(df, weights="w", strata="stratum", psu="psu"), "brr")
    assert np.isfinite(survey.svyglm(d, "y ~ x", family="quasibinomial").coef).all()
    with pytest.raises(survey.ConvergenceError, match="replicate"):
        survey.svyglm(d, "y ~ x", family="quasibinomial", variance="replicates")


def test_replicates_that_give_a_domain_no_weight_are_discarded_as_r_discards_them():
    """A domain of two PSUs is empty in the half-samples that drop both: its mean is undefined there, and the SE was
    NaN; R's svrVar discards those replicates (4 of 16, a warning) and takes the variance of the others, the
    scale unchanged. So does the engine, for a subset and for a domain of ``by=`` (the same in R: svyby subsets)."""
    d = _design("s2_brr")
    dom = SAMPLE["psu"].isin([1, 4]).to_numpy()
    with pytest.warns(UserWarning, match="4 of 16 replicates gave no value for an estimate"):
        m = survey.mean(survey.subset(d, dom), "y", variance="replicates").iloc[0]
    with pytest.warns(UserWarning, match="4 of 16 replicates"):
        q = survey.ratio(survey.subset(d, dom), "y", "x", variance="replicates").iloc[0]
    assert_allclose([m.estimate, m.se, q.se], [R[("s2_brr_domain", k)] for k in ("mean", "se_mean", "se_ratio")],
                    rtol=1e-10)
    assert (d.replicate_weights()[dom].sum(axis=0) == 0).sum() == R[("s2_brr_domain", "discarded")]
    with pytest.warns(UserWarning, match="replicates gave no value"):
        by = survey.mean(survey.update(d, dom=np.where(dom, "in", "out")), "y", by="dom", variance="replicates")
    assert_allclose(by.set_index("domain").loc["dom=in", "se"], R[("s2_brr_domain", "se_mean")], rtol=1e-10)
