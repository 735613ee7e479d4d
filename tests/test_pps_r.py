"""PPS designs sampled without replacement: agreement with R survey 4.1 and closed-form and brute-force oracles.

R values: tests/reference/make_fixtures_pps.R on R's ``election_pps`` (40 counties drawn with probability
proportional to votes) with its joint probabilities ``election_jointprob``, and on a stratified sample drawn there
(``pps_strata.csv``): ``svydesign(id = ~1, fpc = ~p, pps = "brewer" | "overton" | HR() | ppsmat(),
variance = "HT" | "YG")``. Estimates, variances and SEs at rtol 1e-10 (the joint-probability matrix at 1e-9: R
takes it through sparse matrices).
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, NumericTotal
from portrait.survey.errors import ParameterError

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "pps.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}
EL = pd.read_csv(FIX / "pps_election.csv")
JOINT = pd.read_csv(FIX / "pps_jointprob.csv").to_numpy()
ST = pd.read_csv(FIX / "pps_strata.csv")
N_COUNTIES, PRECINCTS = R[("population", "counties")], R[("population", "TotPrecincts")]   # calibration totals


def _design(name: str) -> Design:
    data, strata, fpc = (ST, "stratum", "pi") if name.startswith("strat") else (EL, None, "p")
    if name == "wr":
        return Design.from_frame(EL, prob="p")
    kind = name.removeprefix("strat_").removesuffix("_yg").removesuffix("_psum")
    pps = {"brewer": "brewer", "overton": "overton", "hr": survey.hartley_rao(), "joint": None}[kind]
    if kind == "joint":
        pps = survey.joint_probabilities(JOINT)
    if name == "hr_psum":
        pps = survey.hartley_rao(R[("hr_psum", "psum")])
    return Design.from_frame(data, strata=strata, fpc=fpc, pps=pps,
                             pps_variance="YG" if name.endswith("_yg") else "HT")


DESIGNS = ["brewer", "overton", "overton_yg", "hr", "hr_psum", "hr_yg", "joint", "joint_yg", "wr",
           "strat_brewer", "strat_overton", "strat_hr", "strat_hr_yg"]


def _rtol(name: str) -> float:
    return 1e-9 if name.startswith("joint") else 1e-10


@pytest.mark.parametrize("name", DESIGNS)
def test_totals_means_ratios_as_r(name):
    d = _design(name)
    rtol = _rtol(name)
    t = survey.total(d, ["Bush", "Kerry"], covariance=True)
    assert_allclose(t["estimate"], [R[(name, "total_Bush")], R[(name, "total_Kerry")]], rtol=1e-12)
    V = survey.vcov(t).to_numpy()
    assert_allclose([V[0, 0], V[1, 1], V[0, 1]],
                    [R[(name, "total_Bush_var")], R[(name, "total_Kerry_var")], R[(name, "total_cov")]], rtol=rtol)
    m = survey.mean(d, "kerry_share")
    assert_allclose(m["estimate"].iloc[0], R[(name, "mean_kerry_share")], rtol=1e-12)
    assert_allclose(m["se"].iloc[0], R[(name, "mean_kerry_share_se")], rtol=rtol)
    r = survey.ratio(d, "Kerry", "votes")
    assert_allclose(r["estimate"].iloc[0], R[(name, "ratio_kerry_votes")], rtol=1e-12)
    assert_allclose(r["se"].iloc[0], R[(name, "ratio_kerry_votes_se")], rtol=rtol)
    assert d.degf == R[(name, "degf")]


@pytest.mark.parametrize("name", [n for n in DESIGNS if not n.startswith("strat")])
def test_domains_calibration_and_models_as_r(name):
    d = _design(name)
    rtol = _rtol(name)
    by = survey.total(d, "Kerry", by="big")
    for level in ("non", "oui"):
        row = by.loc[by["domain"] == f"big={level}"]
        assert_allclose(row["estimate"].iloc[0], R[(name, f"total_Kerry_big_{level}")], rtol=1e-12)
        assert_allclose(row["se"].iloc[0], R[(name, f"total_Kerry_big_{level}_se")], rtol=rtol)
    cal = survey.calibrate(survey.update(d, all="x"), [Margin.of("all", {"x": N_COUNTIES}),
                                                      NumericTotal("TotPrecincts", PRECINCTS)], method="linear")
    tc = survey.total(cal, "Kerry")
    assert_allclose(tc["estimate"].iloc[0], R[(name, "cal_total_Kerry")], rtol=1e-10)
    assert_allclose(tc["se"].iloc[0], R[(name, "cal_total_Kerry_se")], rtol=rtol)
    fit = survey.svyglm(d, "kerry_share", ["TotPrecincts"])
    assert_allclose(fit.coef[1], R[(name, "glm_slope")], rtol=1e-9)
    assert_allclose(np.sqrt(fit.vcov[1, 1]), R[(name, "glm_slope_se")], rtol=1e-8)


def test_hartley_rao_estimated_yg_is_brewer_in_r_and_here():
    """R's fixtures give HR() in the YG form equal to Brewer's estimator (an identity of the two formulas)."""
    assert_allclose(R[("hr_yg", "total_Kerry_var")], R[("brewer", "total_Kerry_var")], rtol=1e-12)
    a = survey.total(_design("hr_yg"), "Kerry")["se"].iloc[0]
    b = survey.total(_design("brewer"), "Kerry")["se"].iloc[0]
    assert_allclose(a, b, rtol=1e-12)


TWO = pd.read_csv(FIX / "pps_twostage.csv")


@pytest.mark.parametrize("name", ["twostage_brewer", "twostage_wr"])
def test_two_stages_with_brewer_first_as_r(name):
    """R ``svydesign(id = ~dnum + snum, fpc = ~pi1 + f2, pps = "brewer")``: each district's 1 − π in the first
    stage, and the second stage's variance multiplied by π; against R's ultimate cluster without fpc beside it.
    The fixture is sorted by district: survey 4.1.1 pairs Brewer's per-PSU 1 − π with the PSU totals in sorted
    order, so in another order R's SE is wrong (33.78 for 28.01 here); the engine's does not depend on the order."""
    if name == "twostage_brewer":
        d = Design.from_frame(TWO, psu=["dnum", "snum"], fpc=["pi1", "f2"], pps="brewer")
        assert d.later_stages is not None and d.pps.method == "brewer"
    else:
        d = Design.from_frame(TWO, weights="pw", psu=["dnum", "snum"])
    m = survey.mean(d, "api00")
    assert_allclose(m["estimate"].iloc[0], R[(name, "mean_api00")], rtol=1e-12)
    assert_allclose(m["se"].iloc[0], R[(name, "mean_api00_se")], rtol=1e-10)
    t = survey.total(d, "api99")
    assert_allclose(t["estimate"].iloc[0], R[(name, "total_api99")], rtol=1e-12)
    assert_allclose(t["se"].iloc[0], R[(name, "total_api99_se")], rtol=1e-10)
    by = survey.mean(d, "api00", by="stype")
    for level in ("E", "H", "M"):
        row = by.loc[by["domain"] == f"stype={level}"]
        assert_allclose(row["estimate"].iloc[0], R[(name, f"mean_api00_{level}")], rtol=1e-12)
        assert_allclose(row["se"].iloc[0], R[(name, f"mean_api00_{level}_se")], rtol=1e-10)
    shuffled = TWO.sample(frac=1, random_state=3)
    args = ({"psu": ["dnum", "snum"], "fpc": ["pi1", "f2"], "pps": "brewer"} if name == "twostage_brewer"
            else {"weights": "pw", "psu": ["dnum", "snum"]})
    assert_allclose(survey.mean(Design.from_frame(shuffled, **args), "api00")["se"].iloc[0], m["se"].iloc[0],
                    rtol=1e-12)


def test_two_stage_refusals():
    with pytest.raises(ParameterError, match="only Brewer's approximation has several stages"):
        Design.from_frame(TWO, psu=["dnum", "snum"], fpc=["pi1", "f2"], pps="overton")
    with pytest.raises(ParameterError, match="sampling fraction"):
        Design.from_frame(TWO.assign(N2=3 / TWO["f2"]), psu=["dnum", "snum"], fpc=["pi1", "N2"], pps="brewer")
    with pytest.raises(ParameterError, match="needs fpc="):
        Design.from_frame(TWO, weights="pw", psu=["dnum", "snum"], pps="brewer")


# ------------------------------------------------------------------------------------------------ oracles

def _population(N=7, seed=5):
    rng = np.random.default_rng(seed)
    size = rng.uniform(1, 10, N)
    y = 3 * size + rng.normal(0, 4, N)
    return size, y


def _fixed_size_design(size, n):
    """A fixed-size design with known sample probabilities (conditional Poisson: p(s) ∝ Π_{k∈s} size_k) and its
    exact first- and second-order inclusion probabilities, by enumerating every sample."""
    N = len(size)
    samples = list(itertools.combinations(range(N), n))
    p = np.array([np.prod(size[list(s)]) for s in samples])
    p /= p.sum()
    pij = np.zeros((N, N))
    for s, ps in zip(samples, p):
        idx = np.array(s)
        pij[np.ix_(idx, idx)] += ps
    return samples, p, pij


@pytest.mark.parametrize("form", ["HT", "YG"])
def test_joint_probabilities_variance_is_unbiased_by_enumeration(form):
    """Brute force: over every sample of a fixed-size design with exact π_ij, E[V̂] equals Var(Ŷ_HT) exactly."""
    size, y = _population()
    samples, p, pij = _fixed_size_design(size, 3)
    pi = np.diag(pij)
    estimates, variances = [], []
    for s in samples:
        idx = list(s)
        df = pd.DataFrame({"y": y[idx], "pi": pi[idx]})
        d = Design.from_frame(df, fpc="pi", pps=survey.joint_probabilities(pij[np.ix_(idx, idx)], tolerance=0),
                              pps_variance=form)
        with warnings.catch_warnings():             # the HT form can be negative in a sample: its SE is NaN
            warnings.simplefilter("ignore", UserWarning)
            t = survey.total(d, "y", covariance=True)
        estimates.append(t["estimate"].iloc[0])
        variances.append(survey.vcov(t).to_numpy()[0, 0])
    estimates, variances = np.array(estimates), np.array(variances)
    assert_allclose(p @ estimates, y.sum(), rtol=1e-12)                       # HT is unbiased
    truth = p @ (estimates - y.sum()) ** 2
    assert_allclose(p @ variances, truth, rtol=1e-10)


def test_a_negative_ht_variance_is_said_and_gives_a_nan_se():
    """Overton's HT form of a total dominated by a certainty-like unit is negative: the user is told why, the
    SE is NaN as in R, and no numpy warning leaks."""
    df = EL.copy()
    df.loc[0, "p"] = 1.0
    df.loc[0, "Kerry"] = 10 * df.loc[0, "Kerry"]
    d = Design.from_frame(df, fpc="p", pps="overton")
    with pytest.warns(UserWarning, match="HT form of this PPS design's variance is negative for 1 of 1") as caught:
        se = survey.total(d, "Kerry")["se"].iloc[0]
    assert np.isnan(se) and all(w.category is UserWarning for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert survey.total(Design.from_frame(df, fpc="p", pps="overton", pps_variance="YG"), "Kerry")["se"].iloc[0] > 0


def test_srswor_joint_probabilities_give_the_fpc_variance():
    """Closed form: SRSWOR's π_ij = n(n−1)/(N(N−1)) make both HT and YG forms N²(1 − f)s²/n, the fpc design's."""
    N, n = 50, 8
    y = np.array([3.0, 7.5, 1.0, 4.0, 9.0, 2.5, 6.0, 5.5])
    pi, pij = n / N, n * (n - 1) / (N * (N - 1))
    J = np.full((n, n), pij)
    np.fill_diagonal(J, pi)
    df = pd.DataFrame({"y": y, "pi": pi, "N": float(N)})
    closed = N ** 2 * (1 - n / N) * y.var(ddof=1) / n
    for form in ("HT", "YG"):
        d = Design.from_frame(df, fpc="pi", pps=survey.joint_probabilities(J, tolerance=0), pps_variance=form)
        assert_allclose(survey.total(d, "y")["se"].iloc[0] ** 2, closed, rtol=1e-12)
    srs = Design.from_frame(df, prob="pi", fpc="N")
    assert_allclose(survey.total(srs, "y")["se"].iloc[0] ** 2, closed, rtol=1e-12)


def test_brewer_with_equal_probabilities_is_the_fpc_design():
    """Brewer's 1 − π_i with every π_i = n/N is the stratum's 1 − f: the with-fpc ultimate-cluster estimator."""
    df = ST.assign(pi=ST.groupby("stratum")["pi"].transform("mean"))
    brewer = Design.from_frame(df, strata="stratum", fpc="pi", pps="brewer")
    fpc = Design.from_frame(df, strata="stratum", prob="pi", fpc="pi")
    for f in (survey.total, survey.mean):
        assert_allclose(f(brewer, "Kerry")["se"], f(fpc, "Kerry")["se"], rtol=1e-12)


def test_a_certainty_unit_contributes_nothing_with_exact_joint_probabilities():
    """Closed form: a unit taken with certainty beside an SRSWOR of the others has π_0j = π_j, so its row of Ď is
    0 and the HT variance is the SRSWOR one of the others (N²(1 − f)s²/n), whatever its value."""
    N, n = 30, 6
    y = np.array([4.0, 8.0, 1.5, 6.0, 3.0, 9.5])
    pi, pij = n / N, n * (n - 1) / (N * (N - 1))
    J = np.full((n + 1, n + 1), pij)
    np.fill_diagonal(J, pi)
    J[0, :], J[:, 0] = pi, pi
    J[0, 0] = 1.0
    closed = N ** 2 * (1 - n / N) * y.var(ddof=1) / n
    for certain in (0.0, 1e6):
        df = pd.DataFrame({"y": np.r_[certain, y], "pi": np.r_[1.0, np.full(n, pi)]})
        d = Design.from_frame(df, fpc="pi", pps=survey.joint_probabilities(J, tolerance=0))
        assert_allclose(survey.total(d, "y")["se"].iloc[0] ** 2, closed, rtol=1e-12)


def test_subsets_that_drop_rows_keep_the_variance(monkeypatch):
    """A domain by zero weights, or by dropping the other rows: the same HT variance (Ď and n kept from the
    design; the YG form and Brewer's count the pairs with the units left out, so they need the zeros, as every
    ultimate-cluster design does); and Ď formed a few rows at a time gives the same numbers."""
    mask = (EL["big"] == "oui").to_numpy()
    for name in ("overton", "hr", "joint"):
        d = _design(name)
        kept = survey.subset(d, mask)
        dropped = survey.subset(d, mask, drop=True)
        assert_allclose(survey.total(kept, "Kerry")["se"], survey.total(dropped, "Kerry")["se"], rtol=1e-12)
    import portrait.survey.pps as pps_module
    full = survey.total(_design("strat_hr"), ["Bush", "Kerry"], covariance=True)
    monkeypatch.setattr(pps_module, "_CHUNK", 3)
    chunked = survey.total(_design("strat_hr"), ["Bush", "Kerry"], covariance=True)
    assert_allclose(survey.vcov(chunked).to_numpy(), survey.vcov(full).to_numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("kwargs, message", [
    ({"fpc": "p", "pps": "sampford"}, "pps must be one of"),
    ({"fpc": "p", "pps": 3}, "got a int"),
    ({"prob": "p", "pps": "brewer"}, "needs fpc="),
    ({"fpc": "p", "pps": "brewer", "pps_variance": "YG"}, "HT form only"),
    ({"fpc": "p", "pps": "overton", "pps_variance": "SYG"}, "pps_variance must be one of"),
    ({"fpc": "TotPrecincts", "prob": "p", "pps": "brewer"}, "inclusion probability, in (0, 1]"),
    ({"fpc": "p", "pps": "overton", "psu": ["big", "TotPrecincts"]}, "only Brewer's approximation"),
    ({"fpc": "p", "pps": "overton", "psu": "big"}, "varies within a PSU"),
    ({"fpc": "p", "pps": "hartley_rao", "strata": "big", "psu": None}, None),
    # what an R user writes (trial Q): population sizes as fpc, weights beside fpc, R's names
    ({"fpc": "TotPrecincts", "pps": "brewer"}, "not population sizes or percentages"),
    ({"fpc": "p", "weights": "wt2", "pps": "overton"}, "the weights must be 1/fpc: 40 units' are not (the first at position 0, counting from 0)"),
    ({"fpc": "p", "pps": "HR"}, "R's HR() is survey.hartley_rao()"),
    ({"fpc": "p", "pps": "ppsmat"}, "survey.joint_probabilities(m)"),
    ({"fpc": "p", "pps": True}, "R's pps=TRUE is an error too"),
    ({"prob": "p", "pps_variance": "YG"}, "is the variance form of a PPS design: give pps= too"),
])
def test_pps_refusals(kwargs, message):
    data = EL.assign(wt2=2 / EL["p"])
    if message is None:
        Design.from_frame(data, **kwargs)
        return
    with pytest.raises(ParameterError, match=re.escape(message)):
        Design.from_frame(data, **kwargs)


def test_brewer_takes_weights_beside_fpc_as_r():
    """R's survey.design2 (Brewer) weights by weights= and reads 1 − π from fpc=: so does the engine; the HT methods
    are refused above, R dropping their weights= without a word."""
    d = Design.from_frame(EL.assign(wt2=2 / EL["p"]), weights="wt2", fpc="p", pps="brewer")
    base = _design("brewer")
    assert_allclose(survey.total(d, "Kerry")["estimate"], 2 * survey.total(base, "Kerry")["estimate"], rtol=1e-12)
    assert_allclose(survey.total(d, "Kerry")["se"], 2 * survey.total(base, "Kerry")["se"], rtol=1e-12)


def test_joint_probability_and_psum_refusals():
    with pytest.raises(ParameterError, match="square"):
        survey.joint_probabilities(np.ones((3, 4)))
    with pytest.raises(ParameterError, match="symmetric"):
        survey.joint_probabilities(np.array([[0.5, 0.2], [0.1, 0.5]]))
    zero = JOINT.copy()
    zero[0, 1] = zero[1, 0] = 0.0
    with pytest.raises(ParameterError, match="row 1, column 2"):
        survey.joint_probabilities(zero)
    with pytest.raises(ParameterError, match="40 units"):
        Design.from_frame(EL, fpc="p", pps=survey.joint_probabilities(JOINT[:5, :5]))
    with pytest.raises(ParameterError, match="no psu="):
        Design.from_frame(EL.assign(u=np.arange(40)), fpc="p", psu="u", pps=survey.joint_probabilities(JOINT))
    with pytest.raises(ParameterError, match="diagonal"):
        Design.from_frame(EL.assign(p=EL["p"] * 0.9), fpc="p", pps=survey.joint_probabilities(JOINT))
    nan = JOINT.copy()
    nan[2, 3] = np.nan
    with pytest.raises(ParameterError, match="must be numbers: 1 entry is missing or infinite, the first at row 3"):
        survey.joint_probabilities(nan)
    for bad in (5, -1, np.nan, "0.1", {1: 2.0}):
        with pytest.raises(ParameterError, match=r"lies in \(0, 1\]"):
            survey.hartley_rao(bad)
    with pytest.raises(ParameterError, match="one value per stratum"):
        Design.from_frame(ST, strata="stratum", fpc="pi", pps=survey.hartley_rao(0.01))
    with pytest.raises(ParameterError, match=r"no value for strata \['3'\]"):
        Design.from_frame(ST, strata="stratum", fpc="pi", pps=survey.hartley_rao({1: 0.01, 2: 0.01}))
    given = Design.from_frame(ST, strata="stratum", fpc="pi", pps=survey.hartley_rao({1: 0.01, 2: 0.02, "3": 0.03}))
    assert sorted(set(given.pps.p2bar)) == [0.01, 0.02, 0.03]


def test_pps_designs_are_not_stacked_written_or_replicated(tmp_path):
    d = _design("overton")
    with pytest.raises(ParameterError, match="cannot be stacked"):
        survey.stack({"a": d, "b": d})
    with pytest.raises(ParameterError, match="cannot be written"):
        survey.write_design(d, tmp_path / "d.parquet")
    with pytest.raises(ParameterError, match="replicate weights of a PPS design"):
        survey.with_replicates(d, "jk1")
    assert "PPS without replacement (overton, HT)" in repr(d)
