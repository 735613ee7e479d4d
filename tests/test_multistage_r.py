"""Multistage designs with an fpc at each stage: agreement with R survey 4.1 and a closed-form oracle.

R values: tests/reference/make_fixtures_multistage.R on R's two-stage sample ``apiclus2`` (districts, then
schools), ``svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2)``; estimates and SEs at rtol 1e-8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin
from portrait.survey.errors import ParameterError

FIX = paths.TESTS / "reference" / "fixtures"
EST = pd.read_csv(FIX / "multistage.csv", keep_default_na=False)
API = pd.read_csv(FIX / "apiclus2.csv")
STYPE = Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
RTOL = 1e-8


def _r(fixture, statistic, variable, domain=""):
    row = EST.loc[(EST.fixture == fixture) & (EST.statistic == statistic) & (EST.variable == variable)
                  & (EST.domain == domain)]
    assert len(row) == 1, (fixture, statistic, variable, domain)
    return float(row["estimate"].iloc[0]), float(row["se"].iloc[0])


def _check(table, fixture, statistic, variable, domain=""):
    est, se = _r(fixture, statistic, variable, domain)
    row = table.loc[table.domain == domain] if "domain" in table else table
    assert_allclose(row["estimate"].iloc[0], est, rtol=RTOL)
    assert_allclose(row["se"].iloc[0], se, rtol=RTOL)


@pytest.fixture(scope="module")
def d2():
    return Design.from_frame(API, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])


def test_two_stage_mean_total_ratio(d2):
    _check(survey.mean(d2, "api00"), "twostage", "mean", "api00")
    _check(survey.total(d2, "enroll"), "twostage", "total", "enroll")          # 6 missing: R na.rm=TRUE
    _check(survey.ratio(d2, "api.stu", "enroll"), "twostage", "ratio", "api.stu/enroll")


def test_two_stage_domains(d2):
    by = survey.mean(d2, "api00", by="stype")
    for s in ("E", "H", "M"):
        _check(by, "twostage", "mean", "api00", f"stype={s}")
    sub = survey.mean(survey.subset(d2, (API.stype == "E").to_numpy()), "api00")
    _check(sub.assign(domain="stype=E"), "subset", "mean", "api00", "stype=E")


def test_single_school_strata_average_by_domain_as_r():
    """Two districts keep only their first school: with « average », R's svyby drops the rows outside each domain, so
    a district without a school of the domain is absent (the audit found NaN here where R gives 46.8 for stype M);
    where a single school of the domain is present the variance is NaN in R and here alike."""
    many = sorted(API["dnum"].value_counts().loc[lambda c: c >= 2].index)[:2]
    first = API.groupby("dnum").head(1).index
    kept = API.loc[~API["dnum"].isin(many) | API.index.isin(first)].reset_index(drop=True)
    d = Design.from_frame(kept, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="average")   # weights from the fpcs
    by = survey.mean(d, "api00", by="stype")
    for s in ("E", "H", "M"):
        _check(by, "twostage_lonely_average", "mean", "api00", f"stype={s}")
    assert np.isnan(by["se"].iloc[0]) and np.isfinite(by["se"].iloc[1:]).all()


def test_without_weights_they_come_from_the_fpcs_as_in_r():
    """Trial S: R's ``svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2)`` has no weights (the fixture's design): R takes
    the inverse of the product of the stages' sampling fractions. The engine asked for weights=. Without them it now
    gives R's estimates and SEs, and the weights R's data set ships (``pw``); one stage too (``apistrat``)."""
    d = Design.from_frame(API, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert_allclose(d.weights, API["pw"], rtol=1e-12)
    _check(survey.mean(d, "api00"), "twostage", "mean", "api00")
    _check(survey.total(d, "enroll"), "twostage", "total", "enroll")
    strat = pd.read_csv(FIX / "apistrat.csv")
    # apistrat's pw is stored in single precision (44.2099990844727 for 4421/100)
    assert_allclose(Design.from_frame(strat, strata="stype", fpc="fpc").weights, strat["pw"], rtol=1e-7)
    with pytest.raises(ParameterError, match="sampling fraction of 0 to 50 unit"):
        Design.from_frame(strat.assign(f=np.where(strat["stype"] == "H", 0.0, 0.5)), strata="stype", fpc="f")
    with pytest.raises(ParameterError, match="or neither, with fpc="):
        Design.from_frame(strat, strata="stype")


def test_calibrated_two_stage(d2):
    cal = survey.calibrate(d2, [STYPE], method="linear")
    _check(survey.mean(cal, "api00"), "calibrated", "mean", "api00")
    _check(survey.total(cal, "enroll"), "calibrated", "total", "enroll")


def test_without_fpc_the_first_stage_only(d2):
    """R without fpc: the ultimate-cluster variance, later stages ignored (larger SE here than with the fpcs)."""
    u = Design.from_frame(API, weights="pw", psu=["dnum", "snum"])
    assert u.later_stages is None
    _check(survey.mean(u, "api00"), "nofpc", "mean", "api00")
    _check(survey.total(u, "enroll"), "nofpc", "total", "enroll")
    assert _r("nofpc", "mean", "api00")[1] > _r("twostage", "mean", "api00")[1]
    # R's options(survey.ultimate.cluster = TRUE) is the design built with its first stage alone
    first = Design.from_frame(API, weights="pw", psu="dnum", fpc="fpc1")
    _check(survey.mean(first, "api00"), "ultimate", "mean", "api00")


def test_replicates_use_the_first_stage_as_r(d2):
    with pytest.warns(UserWarning, match="first stage only"):
        r = survey.with_replicates(d2, "jk1")
    _check(survey.mean(r, "api00", variance="replicates"), "jk1", "mean", "api00")


def test_three_stages_stratified():
    """R ``strata = ~h + g`` with three stages stratifies stage 3 by ``g`` within each SSU: here ``g`` is constant
    within SSUs, so stage 3 is unstratified within them."""
    sim = pd.read_csv(FIX / "multistage_three_stages.csv")
    d3 = Design.from_frame(sim, weights="w", psu=["psu", "ssu", "tsu"], strata=["h", "g", None],
                           fpc=["N1", "N2", "N3"], lonely_psu="adjust")
    _check(survey.total(d3, "y"), "threestage", "total", "y")
    _check(survey.mean(d3, "y"), "threestage", "mean", "y")


def test_single_stage_lists_are_the_single_stage_design():
    a = Design.from_frame(API, weights="pw", psu="dnum", fpc="fpc1")
    b = Design.from_frame(API, weights="pw", psu=["dnum"], fpc=["fpc1"])
    assert b.later_stages is None
    assert survey.mean(a, "api00").equals(survey.mean(b, "api00"))


# ---------------------------------------------------------------------------------------- closed-form oracle
TOY = pd.DataFrame({"psu": ["A", "A", "B", "B", "B", "C", "C"], "ssu": [1, 2, 1, 2, 3, 1, 2],
                    "y": [3.0, 7.0, 2.0, 5.0, 11.0, 4.0, 9.0],
                    "N": 5, "M": [4, 4, 6, 6, 6, 2, 2]})          # C: both of its 2 SSUs sampled


def test_two_stage_total_matches_cochran():
    """Cochran (1977, eq. 11.24) / Särndal et al. (1992, result 4.3.1) with the first stage's n/N factor R uses.

    n = 3 PSUs drawn from N = 5, m_i SSUs from M_i in PSU i; weights (N/n)(M_i/m_i); Ŷ_i = (M_i/m_i) Σ_j y_ij.
    svyrecvar's first stage is the ultimate-cluster term on PSU totals Z_i = (N/n) Ŷ_i,
    (1 − n/N) n/(n − 1) Σ_i (Z_i − Z̄)² = N² (1 − f₁) s²_b / n with s²_b the variance of the Ŷ_i; its second is,
    per PSU, f₁ = n/N times (1 − m_i/M_i) m_i/(m_i − 1) Σ_j (z_ij − z̄_i)² with z_ij = w_ij y_ij, which is
    (N/n) M_i² (1 − f₂ᵢ) s²_wi / m_i summed over i: exactly the unbiased two-stage estimator
    V̂ = N² (1 − f₁) s²_b / n + (N/n) Σ_i M_i² (1 − f₂ᵢ) s²_wi / m_i.
    """
    N, n = 5, 3
    groups = [TOY.loc[TOY.psu == p] for p in ("A", "B", "C")]
    m = np.array([len(g) for g in groups])
    M = np.array([g.M.iloc[0] for g in groups])
    Yi = np.array([M_i / m_i * g.y.sum() for g, M_i, m_i in zip(groups, M, m)])
    s2b = Yi.var(ddof=1)
    s2w = np.array([g.y.var(ddof=1) for g in groups])
    expected = N ** 2 * (1 - n / N) * s2b / n + N / n * np.sum(M ** 2 * (1 - m / M) * s2w / m)
    w = (N / n) * TOY.M / TOY.groupby("psu").y.transform("size")
    d = Design.from_frame(TOY.assign(w=w), weights="w", psu=["psu", "ssu"], fpc=["N", "M"])
    t = survey.total(d, "y")
    assert_allclose(t["estimate"].iloc[0], N / n * Yi.sum(), rtol=1e-12)
    assert_allclose(t["se"].iloc[0] ** 2, expected, rtol=1e-12)
    # the second stage adds to the ultimate-cluster variance, weighted by f₁ = n/N
    first = Design.from_frame(TOY.assign(w=w), weights="w", psu="psu", fpc="N")
    assert_allclose(t["se"].iloc[0] ** 2 - survey.total(first, "y")["se"].iloc[0] ** 2,
                    N / n * np.sum(M ** 2 * (1 - m / M) * s2w / m), rtol=1e-12)


def test_lonely_second_stage_unit():
    """One SSU sampled of several in a PSU: R fails by default; ``certainty``/``remove`` count it as nothing."""
    toy = TOY.iloc[[0, 2, 3, 4, 5, 6]].assign(w=1.0)             # PSU A: 1 SSU of 4
    with pytest.raises(ParameterError, match="stage 2 has a single sampled unit"):
        survey.total(Design.from_frame(toy, weights="w", psu=["psu", "ssu"], fpc=["N", "M"]), "y")
    def second_stage(data, **kw):
        two = Design.from_frame(data, weights="w", psu=["psu", "ssu"], fpc=["N", "M"], **kw)
        one = Design.from_frame(data, weights="w", psu="psu", fpc="N", **kw)
        return survey.total(two, "y")["se"].iloc[0] ** 2 - survey.total(one, "y")["se"].iloc[0] ** 2

    extra, extra_rest = second_stage(toy, lonely_psu="remove"), second_stage(toy.iloc[1:])
    # B's second-stage term is the same with A present (A's lonely stratum adds nothing), scaled by f₁ = 3/5 vs 2/5
    assert_allclose(extra, extra_rest * 3 / 2, rtol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(psu=["psu", "ssu"], fpc="N"), "one stage of 2"),
    (dict(psu=["psu", "ssu"], fpc=["N", None]), "for every stage or for none"),
    (dict(psu=["psu", "ssu"], fpc=["N"]), "fpc= lists 1 stages and psu= 2"),
    (dict(psu=["psu", "ssu"], fpc=["N", "M"], strata=["psu", None, None]), "strata= lists 3 stages"),
    (dict(psu=["psu", "nope"], fpc=["N", "M"]), "no column"),
])
def test_refusals(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        Design.from_frame(TOY.assign(w=1.0), weights="w", **kwargs)


def test_multistage_cannot_be_written_or_stacked(d2, tmp_path):
    with pytest.raises(ParameterError, match="multistage"):
        survey.write_design(d2, tmp_path / "d.parquet")
    with pytest.raises(ParameterError, match="multistage"):
        survey.stack({"a": d2, "b": d2})


def test_later_stage_fractions_are_each_strata_clusters_over_its_population_counted_by_hand():
    """A later stage's sampling fractions against a count by hand (a dict of each stratum's distinct clusters):
    n/N where N > 1, the value itself where it is a fraction; codes with gaps; an fpc varying within a stratum and
    more clusters than the population are refused, naming the column and the stage."""
    from portrait.survey.multistage import _fractions

    rng = np.random.default_rng(3)
    st = rng.choice([0, 2, 3, 7], size=300)                           # stratum 1 and 4–6 absent
    cl = rng.integers(0, 40, size=300)
    size = {0: 80.0, 2: 0.25, 3: 1.0, 7: 55.0}
    raw = np.array([size[h] for h in st])
    clusters = {h: len(set(cl[st == h])) for h in size}
    want = [size[h] if size[h] <= 1 else clusters[h] / size[h] for h in st]
    assert _fractions(raw, st, cl, "N2", 2).tolist() == pytest.approx(want, rel=1e-15)
    varying = raw.copy()
    varying[np.flatnonzero(st == 7)[1]] = 56.0
    with pytest.raises(ParameterError, match="fpc 'N2' varies within a stratum of stage 2"):
        _fractions(varying, st, cl, "N2", 2)
    small = np.where(st == 0, 3.0, raw)                               # 3 persons, more clusters drawn
    with pytest.raises(ParameterError, match="fpc 'N2': more units sampled at stage 2"):
        _fractions(small, st, cl, "N2", 2)


def test_a_stage_structure_is_kept_for_its_own_arrays_only():
    """The clusters and strata of a stage are kept between calls by the identity of all five of its arrays: a stage
    sharing four of them with one seen before (another stratification, fpc, weight or parent), or a new stage of
    equal values, gets the variance computed from scratch (the cache emptied before each), bit for bit."""
    from portrait.survey import labels, multistage

    rng = np.random.default_rng(11)
    parent = np.repeat(np.arange(4), 10)
    psu = np.arange(40) // 2                                     # 20 clusters, 5 in each parent
    strata = np.where((psu % 5 == 4) & (parent < 2), 2 * parent + 1, 2 * parent)  # a lonely cluster in 0 and 1
    base = multistage.Stage(psu=psu, strata=strata, fpc=np.full(40, 0.25), weight=np.full(40, 0.5), parent=parent)
    others = [base._replace(strata=parent.copy()), base._replace(fpc=np.where(parent == 1, 0.5, 0.25)),
              base._replace(weight=np.where(parent == 2, 0.9, 0.5)), base._replace(parent=np.where(parent == 1, 2, parent)),
              base._replace(psu=np.arange(40) // 4), multistage.Stage(*(a.copy() for a in base))]
    z = rng.normal(size=(40, 3))

    def fresh(stage, lonely):
        labels._KEPT.clear()
        return multistage._stage_variance(stage, z, lonely, False, 2)

    for lonely in ("adjust", "average"):
        expected = [fresh(s, lonely) for s in [base, *others]]
        for s, e in zip([base, *others, base], [*expected, expected[0]]):
            np.testing.assert_array_equal(multistage._stage_variance(s, z, lonely, False, 2), e)
    # with « average », each variant moves the variance, so a structure reused across them would be seen
    assert all(not np.allclose(e, expected[0]) for e in expected[1:6])


def test_column_sums_equal_a_bincount_per_column_bit_for_bit():
    """A stage's sums per cluster and per stratum, every column in one bincount (its flat layout kept for the next
    call with as many columns), are each column's own bincount to the last bit: empty codes, a code of one row,
    NaN, infinite and signed-zero values, one row, one column; the layout of another number of columns not reused."""
    from portrait.survey.multistage import _column_sums

    rng = np.random.default_rng(5)
    codes = np.array([3, 0, 3, 3, 5, 0, 1, 3, 5, 5, 3])          # codes 2, 4 and 6 empty; 1 holds one row
    values = rng.normal(size=(len(codes), 4)) * 10.0 ** rng.integers(-8, 9, size=(len(codes), 4))
    values[2, 1], values[4, 2], values[6, 3], values[7, 0] = np.nan, np.inf, -0.0, 0.0
    layouts: dict = {}
    for v in (values, values[:, :1], values, np.asfortranarray(values), values[:, 1:3]):
        expected = np.column_stack([np.bincount(codes, weights=v[:, j], minlength=7) for j in range(v.shape[1])])
        np.testing.assert_array_equal(_column_sums(codes, v, 7, layouts, "clusters"), expected)
        assert _column_sums(codes, v, 7, layouts, "clusters").tobytes() == expected.tobytes()
    one = np.array([2])
    np.testing.assert_array_equal(_column_sums(one, values[:1], 3, {}, "strata"),
                                  np.column_stack([np.bincount(one, weights=values[0, [j]], minlength=3)
                                                   for j in range(4)]))
    assert set(layouts) == {("clusters", 4), ("clusters", 1), ("clusters", 2)}
