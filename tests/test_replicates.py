"""Replicate-weight generators, each against an independent oracle.

- JKn is deterministic: its replicate weights, scale and rscales equal R ``as.svrepdesign(type = "JKn")``
  on the stratified api design with its fpc (fixtures by tests/reference/make_fixtures.R).
- The Rao–Wu rescaled bootstrap is random: per stratum, its factors have mean 1 and satisfy the
  Rao–Wu variance identity (closed form); by Monte Carlo, the bootstrap variance of a linear
  statistic approaches its linearised variance (stated tolerance).
- The replicates computed all at once equal each replicate re-run alone (``Design.replay``) bit for bit: both paths
  run here, in one process, and make the same operations in the same order, so no tolerance is stated; this is a
  same-machine comparison, as a propensity class cut one unit apart would be a large difference, not a rounding.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait.pipeline import config, paths
from portrait import survey
from portrait.survey import Design
from portrait.survey.errors import ParameterError

FIX = paths.TESTS / "reference" / "fixtures"


@pytest.fixture(scope="module")
def dstrat():
    return Design.from_frame(pd.read_csv(FIX / "apistrat.csv"), weights="pw", strata="stype", fpc="fpc")


def test_jkn_replicate_weights_equal_r(dstrat):
    """JKn replicate weights equal R as.svrepdesign(dstrat, type='JKn') (rtol 1e-12), replicate by replicate
    (matched by the deleted unit), with the same rscales (n_h − 1)/n_h (1 − f_h) and scale 1."""
    ours = survey.with_replicates(dstrat, "jkn")
    W = ours.replicate_weights()
    ref = pd.read_csv(FIX / "apistrat_jkn_repweights.csv").set_index("snum").loc[dstrat.data["snum"]].to_numpy()
    rsc = pd.read_csv(FIX / "apistrat_jkn_rscales.csv")["rscale"].to_numpy(float)
    assert W.shape == ref.shape
    deleted_ours = np.argmin(W, axis=0)
    deleted_ref = np.argmin(ref, axis=0)
    assert (W[deleted_ours, np.arange(W.shape[1])] == 0).all() and (ref[deleted_ref, np.arange(ref.shape[1])] == 0).all()
    order = np.argsort(deleted_ours)
    ref_order = np.argsort(deleted_ref)
    assert_allclose(W[:, order], ref[:, ref_order], rtol=1e-12)
    assert_allclose(ours.replicate_rscales[order], rsc[ref_order], rtol=1e-12)
    est = pd.read_csv(FIX / "apistrat_jkn_estimates.csv").set_index("statistic")["value"]
    assert ours.replicate_scale == pytest.approx(est["scale"], rel=1e-12)
    m = survey.mean(ours, "api00", variance="replicates").iloc[0]
    assert_allclose([m["estimate"], m["se"]], [est["mean"], est["se"]], rtol=1e-10)


def _stratified(seed: int, sizes=(2, 3, 7, 20), fpc=(0.0, 0.1, 0.0, 0.3)) -> Design:
    rng = np.random.default_rng(seed)
    rows = []
    for h, (n, f) in enumerate(zip(sizes, fpc)):
        rows.append(pd.DataFrame({"h": f"s{h}", "psu": [f"s{h}-{i}" for i in range(n)], "f": f,
                                  "w": rng.uniform(5, 15, n), "y": rng.normal(10 + h, 1 + h, n)}))
    return Design.from_frame(pd.concat(rows, ignore_index=True), weights="w", strata="h", psu="psu", fpc="f")


def test_rao_wu_factors_have_mean_one_and_the_rao_wu_variance():
    """Per stratum, the Rao–Wu factors sum to n_h in every replicate (so their mean is 1) and have variance
    1 − f_h, in closed form: with m = n − 1 PSUs drawn with replacement, factor = 1 − λ + λ (n/m) r,
    r ~ Binomial(m, 1/n), so E = 1 and Var = λ² (n − 1)/m = 1 − f with λ² = m (1 − f)/(n − 1).
    Monte Carlo over 20,000 replicates: variance within 5 % of 1 − f (about 7 MC SEs in the smallest stratum)."""
    d = _stratified(1)
    F, scale, rscales = survey.replicate_factors(d, "bootstrap", 20_000, config.rng(7, "rao-wu"))
    assert scale == pytest.approx(1 / 19_999) and (rscales == 1).all()
    for h, f in zip(("s0", "s1", "s2", "s3"), (0.0, 0.1, 0.0, 0.3)):
        sel = (d.data["h"] == h).to_numpy()
        x = F[sel]
        var_theory = 1 - f
        assert x.var() == pytest.approx(var_theory, rel=0.05), h
        assert_allclose(x.sum(axis=0), sel.sum(), rtol=1e-12)


def test_rao_wu_bootstrap_variance_of_a_total_approaches_the_linearised_variance():
    """For the total of y (linear), E[bootstrap variance] equals the ultimate-cluster variance with the fpc
    (Rao, Wu & Yue 1992). Monte Carlo: 4,000 replicates, each a new draw of the same design's factors;
    tolerance 6 %, about 4 Monte Carlo SEs (relative SE of a variance from R replicates ≈ sqrt(2/R) ≈ 2.2 %,
    inflated by the kurtosis of the small strata)."""
    d = _stratified(2)
    lin = survey.total(d, "y").iloc[0]["se"] ** 2
    rep = survey.with_replicates(d, "bootstrap", 4000, config.rng(11, "rao-wu-mc"))
    boot = survey.total(rep, "y", variance="replicates").iloc[0]["se"] ** 2
    assert boot == pytest.approx(lin, rel=0.06)


def test_a_group_without_respondents_in_a_replicate_hands_its_weight_to_a_neighbour():
    """Non-response groups: a group whose only responding PSU is out of a jackknife replicate used to get the
    factor 0, so the replicate lost the group's weight. Now every replicate keeps the sample's weight total
    (Σ respondents' adjusted weights = Σ sample design weights, the adjustment's defining property)."""
    rng = np.random.default_rng(3)
    n = 60
    df = pd.DataFrame({"psu": np.repeat(np.arange(12), 5), "w": rng.uniform(5, 15, n),
                       "g": np.repeat(["a", "b", "c"], 20)})
    df["r"] = rng.random(n) < 0.6
    df.loc[df["g"] == "c", "r"] = False
    df.loc[df.index[(df["g"] == "c") & (df["psu"] == 10)], "r"] = True      # group c answers in PSU 10 only
    d = survey.with_replicates(survey.Design.from_frame(df, weights="w", psu="psu"), "jk1")
    adj = survey.adjust_nonresponse(d, "r", groups=["g"], min_respondents=1, collapse=False)
    R = adj.replicate_weights()
    base = d.replicate_weights()
    np.testing.assert_allclose(R.sum(axis=0), base.sum(axis=0), rtol=1e-12)
    dropped = int(d.psu[(df["psu"] == 10).to_numpy()][0])        # JK1: replicate k leaves out PSU code k
    assert R[(df["g"] == "c").to_numpy(), dropped].sum() == 0


def test_each_replicate_refits_the_propensity_model_and_cuts_its_classes_again():
    """Oracle, for each bootstrap replicate: statsmodels' weighted logistic GLM fitted on the replicate's
    weights, its scores cut where equal classes of the replicate's units begin (equal scores together), each
    respondent's weight divided by its class's weighted response rate. The engine (its own IRLS started
    from the full-sample fit) must give the same replicate weights; a replicate of all ones gives the
    full-sample weights."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame({"psu": np.repeat(np.arange(40), 10), "w": rng.uniform(5, 15, n),
                       "dep": rng.choice(list("ABCD"), n), "size": rng.choice(list("123"), n)})
    eta = -0.4 + 0.5 * (df["dep"] == "B") - 0.6 * (df["size"] == "3") + rng.normal(0, 0.3, 40)[df["psu"]]
    df["r"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    d = survey.with_replicates(survey.Design.from_frame(df, weights="w", psu="psu"), "bootstrap", 8,
                               np.random.default_rng(5))
    adj = survey.adjust_nonresponse(d, "r", propensity=["dep", "size"], n_classes=4, min_respondents=5)
    R = adj.replicate_weights()
    X = sm.add_constant(pd.get_dummies(df[["dep", "size"]].astype(str), drop_first=True, dtype=float))
    resp = df["r"].to_numpy()
    for r in range(R.shape[1]):
        w = d.weights * d.replicate_factors[:, r]
        on = w > 0
        fit = sm.GLM(resp[on].astype(float), X[on], family=sm.families.Binomial(), var_weights=w[on] / w[on].mean()).fit()
        score = np.asarray(fit.predict(X[on]))
        cuts = np.sort(score)[[int(np.ceil(c * on.sum() / 4)) for c in (1, 2, 3)]]
        cls = np.searchsorted(cuts, score, side="right")     # R cut(score, c(-Inf, cuts, Inf), right = FALSE)
        counts = np.bincount(cls, weights=resp[on].astype(float), minlength=4)
        assert counts[np.bincount(cls, minlength=4) > 0].min() >= 5     # no merging here: the oracle stays simple
        tot = np.bincount(cls, weights=w[on], minlength=4)
        rsp = np.bincount(cls, weights=w[on] * resp[on], minlength=4)
        expected = np.where(resp[on], w[on] * (tot / rsp)[cls], 0.0)
        assert_allclose(R[on, r], expected, rtol=1e-9)
        assert (R[~on, r] == 0).all()
    assert_allclose(adj.replay(d.weights), adj.weights, rtol=1e-10)      # a replicate of all ones: the sample


def test_designs_sharing_the_first_steps_give_the_replicates_of_a_full_replay():
    """Oracle: every replicate re-run from its starting weights through all the steps (Design.replay). The
    calibrated designs reuse the non-response step's replicate output kept from the design they extend,
    and must give exactly those weights, whatever the order the designs are asked in."""
    rng = np.random.default_rng(3)
    n = 300
    df = pd.DataFrame({"psu": np.repeat(np.arange(30), 10), "w": rng.uniform(5, 15, n),
                       "g": rng.choice(list("ab"), n), "x": rng.choice(list("uvw"), n)})
    df["r"] = rng.random(n) < 0.6
    d = survey.with_replicates(survey.Design.from_frame(df, weights="w", psu="psu"), "bootstrap", 6,
                               np.random.default_rng(8))
    nr = survey.adjust_nonresponse(d, "r", groups=["g"], min_respondents=5)
    margins = [survey.Margin.of("x", {"u": 1000.0, "v": 1200.0, "w": 900.0})]
    rake = survey.calibrate(nr, margins, method="raking")
    logit = survey.calibrate(nr, margins, method="logit", bounds=(0.2, 5.0))
    other = replace(rake, replicate_factors=d.replicate_factors[:, ::-1].copy())     # same steps, other replicates
    for design in (nr, rake, logit, rake, other):
        expected = np.column_stack([design.replay(d.weights * design.replicate_factors[:, r]) for r in range(6)])
        np.testing.assert_array_equal(design.replicate_weights(), expected)


def test_replicate_weights_handed_out_are_read_only_so_a_caller_cannot_change_the_kept_ones():
    """The replicate weights a design hands out are the ones it keeps (and, for a recipe, the ones its steps keep
    for the designs extending it): a caller's write into them changed every later estimate. Oracle: the weights
    re-run from scratch (Design.replay) after the attempted write."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"psu": np.repeat(np.arange(20), 5), "w": rng.uniform(5, 15, 100),
                       "g": rng.choice(list("ab"), 100), "r": rng.random(100) < 0.7})
    d = survey.with_replicates(survey.Design.from_frame(df, weights="w", psu="psu"), "bootstrap", 4,
                               np.random.default_rng(2))
    nr = survey.adjust_nonresponse(d, "r", groups=["g"], min_respondents=5)
    for design in (d, nr):
        W = design.replicate_weights()
        with pytest.raises(ValueError, match="read-only"):
            W[0, 0] = -1.0
        mine = W.copy()
        mine[0, 0] = -1.0                   # a copy is the caller's own
        expected = np.column_stack([design.replay(d.weights * design.replicate_factors[:, r]) for r in range(4)])
        np.testing.assert_array_equal(design.replicate_weights(), expected)


def test_replicate_variance_centres_on_the_replicates_that_count():
    """R ``svrVar`` centres on the replicates with a positive rscale; a replicate with rscale 0 (a user's, or a
    stratum left out) neither counts nor moves the centre: thetas 1, 2, 100 with rscales 1, 1, 0 give
    (1 − 1.5)² + (2 − 1.5)² = 0.5 (by hand); centring on all three would give about 2 157."""
    v = survey.replicate_variance(np.array([0.0]), np.array([[1.0], [2.0], [100.0]]), 1.0, np.array([1.0, 1.0, 0.0]))
    assert v[0, 0] == pytest.approx(0.5, rel=1e-12)


def test_replicates_that_need_strata_are_refused_for_an_unstratified_design(tmp_path):
    """R refuses JKn, BRR and Fay for a design without strata (« Must use JK1 or bootstrap for an unstratified
    design »); the engine paired consecutive PSUs for BRR (an arbitrary pairing) and gave JK1 under JKn's name.
    The design's strata given as one constant column are strata for R (BRR pairs them), and for the engine; the
    refusal survives a weighted-design file."""
    clus = pd.read_csv(FIX / "apiclus1.csv")
    d = Design.from_frame(clus, weights="pw", psu="dnum")
    for method, extra in (("jkn", {}), ("brr", {}), ("fay", {"fay_rho": 0.5})):
        with pytest.raises(ParameterError, match=rf"replicate method '{method}' needs strata .* use 'jk1' or 'bootstrap'"):
            survey.with_replicates(d, method, **extra)
    assert survey.with_replicates(d, "jk1").replicate_weights().shape == (len(clus), 15)
    path = survey.write_design(d, tmp_path / "d.parquet")
    with pytest.raises(ParameterError, match="needs strata"):
        survey.with_replicates(survey.read_design(path), "jkn")
    one = clus.loc[clus["dnum"] != clus["dnum"].iloc[0]].assign(all_="x")        # 14 PSUs: 7 pairs, as R splits them
    b = survey.with_replicates(Design.from_frame(one, weights="pw", psu="dnum", strata="all_"), "brr")
    assert b.replicate_weights().shape[0] == len(one)


def test_jkn_average_is_not_inflated_by_a_stratum_sampled_with_certainty():
    """R's jknweights drops a certainty stratum's replicates and, under « average », scales the rest by P / kept
    even where no stratum is lonely (apistrat with stratum H complete: R's JKn SE 10.66 against its own
    linearised 9.23, an audit). A certainty stratum has no variance to average: the engine keeps scale 1 there, and
    JKn's variance of a total is then the linearised one exactly (closed form for a linear statistic)."""
    st = pd.read_csv(FIX / "apistrat.csv")
    st["N"] = np.where(st["stype"] == "H", (st["stype"] == "H").sum(), st["fpc"])
    d = Design.from_frame(st, weights="pw", strata="stype", fpc="N", lonely_psu="average")
    j = survey.with_replicates(d, "jkn")
    assert j.replicate_scale == 1.0
    assert_allclose(survey.total(j, "api00", variance="replicates")["se"],
                    survey.total(d, "api00")["se"], rtol=1e-12)


def _class_codes_unit_by_unit(score, active, resp, n_classes, min_respondents):
    """The propensity classes by their definition, one unit at a time: cut-points at ranks ⌈c n / K⌉ of the sorted
    active scores, a unit's class the number of cut-points at or below its score, then the class with fewest
    active respondents below the minimum merged into its neighbour (among classes holding an active unit) with fewer
    respondents, until none is left; the classes holding a unit renumbered 0, 1, … in order."""
    s = np.sort(score[active])
    n = len(s)
    cuts = [s[min((c * n + n_classes - 1) // n_classes, n - 1)] for c in range(1, n_classes)]
    cls = [sum(cut <= x for cut in cuts) for x in score]
    merges = 0
    while True:
        present = sorted({c for c, a in zip(cls, active) if a})
        counts = {c: sum(1 for k, a, r in zip(cls, active, resp) if k == c and a and r) for c in present}
        small = [c for c in present if counts[c] < min_respondents]
        if not small or len(present) == 1:
            break
        c = min(small, key=lambda x: counts[x])
        i = present.index(c)
        target = min([present[j] for j in (i - 1, i + 1) if 0 <= j < len(present)], key=lambda x: counts[x])
        cls = [target if k == c else k for k in cls]
        merges += 1
    order = sorted(set(cls))
    return np.array([order.index(k) for k in cls]), merges


def test_propensity_classes_are_cut_and_merged_as_unit_by_unit():
    """Oracle: the classes computed one unit at a time from their definition (brute force), on scores with many ties
    (few covariate patterns), inactive units (replicate weight 0, some alone in the lowest class) and minimums that
    force merges; the engine cuts and merges them on the distinct scores instead."""
    from portrait.survey.nonresponse import _class_codes

    rng = np.random.default_rng(21)
    merged = 0
    for trial in range(60):
        n = int(rng.integers(20, 200))
        score = rng.choice(rng.random(int(rng.integers(1, 12))), n)
        active = rng.random(n) < 0.8
        active[0] = True
        resp = rng.random(n) < rng.uniform(0.2, 0.9)
        if trial % 2:       # inactive units scored below every active one: a class of inactive units only
            score[~active & (rng.random(n) < 0.5)] = -1.0
        k, m = int(rng.integers(2, 7)), int(rng.integers(1, 12))
        code, labels = _class_codes(score, active, resp, k, m)
        expected, merges = _class_codes_unit_by_unit(score, active, resp, k, m)
        assert code.dtype == np.int64 and np.array_equal(code, expected), trial
        assert len(labels) == expected.max() + 1
        merged += merges > 0
    assert merged > 10      # the merging rule was exercised


def test_bootstrap_factors_follow_the_units_whatever_the_order_of_their_psu_codes():
    """Each unit its own PSU: the factors drawn for the PSUs in the order of their codes go to the units that hold
    them, whether the units come in that order (the factors as drawn) or in the reverse one (the same factors,
    reversed); the same random draws in both."""
    n = 60
    df = pd.DataFrame({"w": np.linspace(1, 3, n), "s": np.repeat(["a", "b"], n // 2),
                       "id": [f"u{i:03d}" for i in range(n)]})
    own = Design.from_frame(df, weights="w", strata="s")
    same = Design.from_frame(df, weights="w", strata="s", psu="id")
    rev = Design.from_frame(df.iloc[::-1].reset_index(drop=True), weights="w", strata="s", psu="id")
    F = survey.replicate_factors(own, "bootstrap", 7, np.random.default_rng(4))[0]
    assert np.array_equal(survey.replicate_factors(same, "bootstrap", 7, np.random.default_rng(4))[0], F)
    assert np.array_equal(survey.replicate_factors(rev, "bootstrap", 7, np.random.default_rng(4))[0], F[::-1])
    assert F.shape == (n, 7) and len(np.unique(F[:, 0])) > 1


def test_propensity_model_refitted_on_all_replicates_at_once_gives_each_its_own_fit():
    """The non-response step refits its response model on every replicate at once (_logistic_newton_rows). Oracle:
    the one-replicate fit from the same start, compared bit for bit, on replicates that drop units (weight 0), with
    covariate patterns of very unequal sizes (the rows do not converge together)."""
    from portrait.survey.nonresponse import _design_patterns, _logistic_newton, _logistic_newton_rows

    rng = np.random.default_rng(9)
    n = 600
    df = pd.DataFrame({"a": rng.choice(list("pqrs"), n, p=[0.6, 0.3, 0.08, 0.02]), "b": rng.choice(list("xyz"), n)})
    resp = rng.random(n) < np.where(df["a"] == "p", 0.7, 0.4)
    X, of, _ = _design_patterns(df, ["a", "b"])
    rows = rng.uniform(1, 5, n) * rng.poisson(1.0, (15, n))
    start = np.array([0.4] + [0.0] * (X.shape[1] - 1))
    B = _logistic_newton_rows(X, of, rows, resp, start)
    for r, w in enumerate(rows):
        assert np.array_equal(B[r], _logistic_newton(X, of, w, resp, start.copy())), r


def test_replicate_factors_do_not_depend_on_the_values_of_the_psu_codes(dstrat):
    """PSU codes 0, 1, …, P − 1 are ranked by counting, others by sorting (np.unique): the same PSUs coded with gaps
    and an offset (the same order) give the same factors for every method, the same random draws for the bootstrap."""
    clus = Design.from_frame(pd.read_csv(FIX / "apiclus1.csv"), weights="pw", psu="dnum")
    for d, methods in ((dstrat, ("bootstrap", "jkn")), (clus, ("bootstrap", "jk1"))):
        gaps = replace(d, psu=d.psu * 3 + 7)
        for method in methods:
            dense = survey.replicate_factors(d, method, 5, np.random.default_rng(2))
            other = survey.replicate_factors(gaps, method, 5, np.random.default_rng(2))
            assert all(np.array_equal(a, b) for a, b in zip(dense, other)), method


def test_propensity_covariates_are_coded_as_pandas_factorizes_their_texts():
    """Oracle: pandas' factorize of the column read as text, sorted (what the model's indicators were built from),
    for pyarrow text columns (accents and capitals, whose order is the code points', several chunks), with a missing
    value, and for integer and categorical columns."""
    import pyarrow as pa
    from portrait.survey.nonresponse import _sorted_codes

    rng = np.random.default_rng(6)
    words = ["été", "Été", "ete", "Zoo", "zoo", "a b", "Ä", "b"]
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([rng.choice(words, 40).tolist(),
                                                                      rng.choice(words, 25).tolist()])))
    gap = pd.Series(rng.choice(words, 50), dtype="str").where(rng.random(50) < 0.9)
    for values in (pd.Series(rng.choice(words, 300), dtype="str"), chunked, gap, pd.Series(rng.integers(5, 12, 90)),
                   pd.Series(pd.Categorical(rng.choice(words[:4], 60)))):
        codes, texts = _sorted_codes(values)
        expected_codes, expected_texts = pd.factorize(values.astype(str), sort=True)
        assert np.array_equal(codes, expected_codes) and list(texts) == list(expected_texts), values.dtype
    assert (_sorted_codes(gap)[0] == -1).any()


def test_propensity_replicates_at_once_are_the_replicates_one_by_one():
    """Oracle: each replicate re-run alone through the step (Design.replay: the model refitted, the classes cut and
    merged unit by unit), bit for bit, on replicates that drop units and classes that must be merged."""
    rng = np.random.default_rng(31)
    n = 500
    df = pd.DataFrame({"psu": np.repeat(np.arange(100), 5), "w": rng.uniform(5, 15, n),
                       "dep": rng.choice(list("ABCDE"), n), "size": rng.choice(list("123"), n, p=[0.7, 0.2, 0.1])})
    df["r"] = rng.random(n) < np.where(df["dep"] < "C", 0.3, 0.7)
    d = survey.with_replicates(survey.Design.from_frame(df, weights="w", psu="psu"), "bootstrap", 30,
                               np.random.default_rng(2))
    for classes, least in ((5, 5), (8, 25)):
        adj = survey.adjust_nonresponse(d, "r", propensity=["dep", "size"], n_classes=classes, min_respondents=least)
        expected = np.column_stack([adj.replay(d.weights * d.replicate_factors[:, r]) for r in range(30)])
        np.testing.assert_array_equal(adj.replicate_weights(), expected)


@pytest.mark.parametrize("codes", [[], [3], [2, 0, 2, 5, 0, 0, 5, 2], [-4, 7, -4, 7, 7, 100, -4], list(range(9))[::-1]])
def test_the_psus_of_each_stratum_are_found_as_one_comparison_per_stratum_would(codes):
    """Each stratum's PSUs (from one stable sort) are np.flatnonzero(psu_stratum == h) for each h of np.unique, with
    negative, gapped, repeated and reversed codes."""
    from portrait.survey.replicates import _strata_members
    psu_stratum = np.array(codes, dtype=int)
    strata, members = _strata_members(psu_stratum)
    assert np.array_equal(strata, np.unique(psu_stratum))
    assert len(members) == len(strata)
    for h, idx in zip(strata, members):
        assert np.array_equal(idx, np.flatnonzero(psu_stratum == h))


def test_rao_wu_factors_are_drawn_stratum_by_stratum_in_the_order_of_the_strata():
    """The bootstrap's factors by hand: strata in their codes' order, in each one all replicates' draws of m = n − 1
    PSUs with replacement (rows in the order of the PSUs' codes), each replicate's counted, 1 − λ + λ n/m r with λ from
    the stratum's fraction; a stratum of one PSU sampled with certainty (fpc 1) drawn nothing. (The draws' order: a
    change detector; the tests above are the oracles of their distribution.)"""
    df = pd.DataFrame({"s": ["b", "a", "c", "b", "a", "c", "b", "a", "d"], "p": list("qrstuvwxy"),
                       "f": [0.5, 0.0, 0.2, 0.5, 0.0, 0.2, 0.5, 0.0, 1.0], "w": np.arange(1.0, 10.0)})
    d = Design.from_frame(df, weights="w", strata="s", psu="p", fpc="f", lonely_psu="certainty")
    F = survey.replicate_factors(d, "bootstrap", 6, np.random.default_rng(11))[0]
    rng, want = np.random.default_rng(11), np.ones((len(df), 6))
    for h in sorted(set(df["s"])):
        rows = np.flatnonzero(df["s"] == h)
        rows = rows[np.argsort(df["p"].to_numpy()[rows])]
        n = len(rows)
        if n < 2:
            continue
        lam = np.sqrt((n - 1) * (1 - df["f"].iloc[rows[0]]) / (n - 1))
        drawn = rng.integers(0, n, size=(6, n - 1))
        counts = np.array([[np.sum(d == i) for d in drawn] for i in range(n)])
        want[rows] = 1 - lam + lam * n / (n - 1) * counts
    assert np.array_equal(F, want)
