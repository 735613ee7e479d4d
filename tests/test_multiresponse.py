"""The Bilder–Loughin test for multiple-response items (portrait.survey.multiple_response_test).

Oracles: (1) with one option the test is the design-based Wald test of the difference, so its F
equals the square of the t of :func:`~portrait.survey.mean_difference` (checked against R ``survey``
elsewhere), by linearisation and by replicate weights; (2) by Monte Carlo on a clustered design with correlated options, the
second-order test holds its size (5 %, within 3 Monte Carlo standard errors) where the uncorrected
sum of Pearson statistics referred to χ²_J does not, and has power against a shift in one option.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait import survey

OPTIONS = [f"o{j}" for j in range(1, 7)]
ALPHA = np.array([-0.3, -0.8, -1.2, -1.6, 0.2, -2.0])


def _sample(rng, shift=0.0, clusters=30, size=10):
    """Two independent clustered samples (each its own stratum), options correlated within a person
    (a shared latent trait) and within a cluster; ``shift`` raises option 1 in group b only."""
    parts = []
    for g in ("a", "b"):
        cl = np.repeat(np.arange(clusters), size)
        u = rng.normal(0, 0.8, clusters)[cl]
        e = rng.normal(0, 1.0, len(cl))
        eta = ALPHA + u[:, None] + 0.9 * e[:, None] + rng.logistic(size=(len(cl), len(OPTIONS)))
        if g == "b":
            eta[:, 0] += shift
        parts.append(pd.DataFrame((eta > 0).astype(float), columns=OPTIONS).assign(
            g=g, cl=[f"{g}{c}" for c in cl], w=rng.uniform(1, 3, len(cl))))
    df = pd.concat(parts, ignore_index=True)
    return survey.Design.from_frame(df, weights="w", strata="g", psu="cl")


def test_one_option_is_the_wald_test_of_the_difference():
    d = _sample(np.random.default_rng(1), shift=0.4)
    mr = survey.multiple_response_test(d, ["o1"], "g", "a", "b")
    diff = survey.mean_difference(d, "o1", "g", "b", "a")
    np.testing.assert_allclose(mr.options["difference"].iloc[0], diff.difference, rtol=1e-12)
    np.testing.assert_allclose(mr.F, diff.t ** 2, rtol=1e-10)
    np.testing.assert_allclose(mr.options["se"].iloc[0], diff.se, rtol=1e-10)
    assert mr.df_chisq == pytest.approx(1.0) and mr.p_chisq == pytest.approx(stats.chi2.sf(diff.t ** 2, 1), rel=1e-10)


def test_one_option_with_replicate_weights_is_the_replicate_wald_test():
    d = survey.with_replicates(_sample(np.random.default_rng(2), shift=0.4), "bootstrap", 60, np.random.default_rng(3))
    mr = survey.multiple_response_test(d, ["o1"], "g", "a", "b", variance="replicates")
    diff = survey.mean_difference(d, "o1", "g", "b", "a", variance="replicates")
    np.testing.assert_allclose(mr.F, diff.t ** 2, rtol=1e-10)


def test_size_and_power_by_monte_carlo():
    """400 samples under SPMI: the second-order test rejects 5 % ± 3 MC standard errors (± 3.3 points)
    of the time; the uncorrected sum of Pearson statistics (χ² with 6 df) rejects far more often. With
    option 1 shifted by 1.5 on the logit scale in group b, the test rejects in at least 80 % of 100 samples."""
    rng = np.random.default_rng(20170301)
    p2, naive = [], []
    for _ in range(400):
        t = survey.multiple_response_test(_sample(rng), OPTIONS, "g", "a", "b")
        p2.append(t.p_chisq)
        naive.append(stats.chi2.sf(t.X2, len(OPTIONS)))
    size = np.mean(np.array(p2) < 0.05)
    mc_se = np.sqrt(0.05 * 0.95 / 400)
    assert abs(size - 0.05) < 3 * mc_se, size
    assert np.mean(np.array(naive) < 0.05) > 0.15
    power = np.mean([survey.multiple_response_test(_sample(rng, shift=1.5), OPTIONS, "g", "a", "b").p_chisq < 0.05
                     for _ in range(100)])
    assert power >= 0.8, power


def test_bad_columns_are_named():
    d = _sample(np.random.default_rng(4))
    with pytest.raises(survey.ParameterError, match="0 or 1"):
        survey.multiple_response_test(survey.Design.from_frame(d.data.assign(o1=2.0), weights="w"), OPTIONS, "g", "a", "b")
    with pytest.raises(survey.ParameterError, match="0 or 1"):         # text is not read as « not answered »
        survey.multiple_response_test(survey.Design.from_frame(d.data.assign(o1="oui"), weights="w"), OPTIONS, "g", "a", "b")
    with pytest.raises(survey.ParameterError, match="no respondent"):
        survey.multiple_response_test(d, OPTIONS, "g", "a", "c")


def test_groups_are_compared_as_text_whatever_the_column_type():
    """The groups are the units whose value, read as text, is the group asked for: a column of integers
    (with a missing value, in no group) gives the test of the same column written as text, integers asked
    for as numbers or text alike; units outside both groups take no part."""
    d = _sample(np.random.default_rng(6))
    code = np.where(d.data["g"] == "a", 1, 2).astype(float)
    code[[0, 5, 400]] = [np.nan, 3, np.nan]
    text = pd.Series(code).map({1.0: "1", 2.0: "2", 3.0: "3"})                 # NaN stays missing
    as_int = survey.Design.from_frame(d.data.assign(k=pd.array(code, dtype="Int16"), w=d.weights), weights="w",
                                      strata="g", psu="cl")
    as_text = survey.Design.from_frame(d.data.assign(k=text, w=d.weights), weights="w", strata="g", psu="cl")
    ref = survey.multiple_response_test(as_text, OPTIONS, "k", "1", "2")
    assert (ref.n_a, ref.n_b) == (int((code == 1).sum()), int((code == 2).sum()))
    for got in (survey.multiple_response_test(as_int, OPTIONS, "k", 1, 2),
                survey.multiple_response_test(as_int, OPTIONS, "k", "1", "2")):
        assert (got.n_a, got.n_b) == (ref.n_a, ref.n_b)
        assert got.X2 == pytest.approx(ref.X2, rel=1e-12)
        assert got.p_chisq == pytest.approx(ref.p_chisq, rel=1e-12)


def test_group_text_read_from_distinct_values_is_every_units_text():
    """Brute force: for columns of every kind (numpy and nullable integers, text, floats, booleans, a categorical,
    with missing values), the units found in a group are those whose own value, converted to pandas text one by
    one (a missing value as ""), is the group's text: whether the distinct values are read by str() or converted."""
    from portrait.survey.multiresponse import _in_levels

    columns = [pd.Series(np.array([2, 1, 2, 3])), pd.Series(pd.array([1, None, 2, 1], dtype="Int16")),
               pd.Series(["b", None, "a", "b"]), pd.Series(pd.array(["x", "y", None, "x"], dtype="string")),
               pd.Series([1.0, 2.5, np.nan, 1.0]), pd.Series([True, False, True, True]),
               pd.Series(pd.Categorical(["u", "v", None, "v"])), pd.Series(np.array([7, 8, 7, 7], dtype=np.uint8))]
    for column in columns:
        text = column.astype("string").fillna("").to_numpy(dtype=object)
        levels = [*pd.unique(text), "1", 1, "nothing", ""]
        for level, got in zip(levels, _in_levels(column, levels)):
            np.testing.assert_array_equal(got, text == str(level), err_msg=f"{column.dtype}: {level!r}")


def _by_hand(df: pd.DataFrame, options: list[str]) -> dict[str, float]:
    """The second-order test of the module docstring's formulas, written out on a stratified cluster sample drawn
    with replacement (strata ``g``, clusters ``cl``, weights ``w``): each group's weighted shares, the units'
    influence on the differences, their cluster totals, the with-replacement covariance stratum by stratum
    (``n_h / (n_h − 1)`` times the centred totals' cross-products), ``V0`` from the unweighted pooled shares, and
    ``Δ``'s traces from its eigenvalues."""
    Y, w, in_b = df[options].to_numpy(float), df["w"].to_numpy(float), (df["g"] == "b").to_numpy()
    Z = np.zeros_like(Y)
    shares = {}
    for sign, m in ((-1.0, ~in_b), (1.0, in_b)):
        p = (w[m, None] * Y[m]).sum(0) / w[m].sum()
        Z[m] = sign * w[m, None] * (Y[m] - p) / w[m].sum()
        shares[sign] = p
    S = np.zeros((len(options), len(options)))
    for _, rows in df.groupby("g").groups.items():
        totals = pd.DataFrame(Z[df.index.get_indexer(rows)]).groupby(df.loc[rows, "cl"].to_numpy()).sum().to_numpy()
        centred = totals - totals.mean(0)
        S += len(totals) / (len(totals) - 1) * centred.T @ centred
    n_a, n_b = int((~in_b).sum()), int(in_b.sum())
    pooled = Y.mean(0)
    V0 = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    d = shares[1.0] - shares[-1.0]
    eig = np.linalg.eigvalsh(S / np.sqrt(np.outer(V0, V0)))
    X2, tr, tr2 = float((d ** 2 / V0).sum()), float(eig.sum()), float((eig ** 2).sum())
    df_design = df["cl"].nunique() - df["g"].nunique()
    nu, c = tr ** 2 / tr2, tr2 / tr
    return {"X2": X2, "trace": tr, "trace_sq": tr2, "df_chisq": nu, "p_chisq": stats.chi2.sf(X2 / c, nu),
            "F": X2 / tr, "ddf": nu * df_design, "p_F": stats.f.sf(X2 / tr, nu, nu * df_design)}


@pytest.mark.parametrize("shift", [0.0, 0.6])
def test_second_order_correction_on_several_options_by_hand(shift):
    """With six correlated options, ``Δ`` has off-diagonal terms and ``ν`` is not the number of options: every
    statistic of the test (X², tr Δ, tr Δ², ν, the χ² and F p-values, the F's degrees of freedom) equals the
    module docstring's formulas written out by hand in :func:`_by_hand`, which shares no code with the engine
    (oracle: the closed form). A Δ built from the diagonal alone, or a first-order correction, moves ν and the
    p-values far beyond the tolerance."""
    d = _sample(np.random.default_rng(11), shift=shift)
    mr = survey.multiple_response_test(d, OPTIONS, "g", "a", "b")
    want = _by_hand(d.data.reset_index(drop=True), OPTIONS)
    assert 1.5 < want["df_chisq"] < len(OPTIONS) - 0.5          # the options are correlated: ν is far from 6
    for name, value in want.items():
        assert getattr(mr, name) == pytest.approx(value, rel=1e-9), name


def test_the_statistic_is_the_sum_of_the_options_pearson_chi_squares_with_equal_weights():
    """With weight 1 for everyone the statistic is what Bilder & Loughin sum: each option's Pearson X² of its
    option × group 2 × 2 table (scipy, no continuity correction), and ``X2`` their total. A V0 rescaled by a
    common factor left every p-value unchanged (Δ and X² scale together) but printed wrong statistics."""
    d = _sample(np.random.default_rng(4), shift=0.5)
    d = survey.Design.from_frame(d.data.assign(w=1.0), weights="w", strata="g", psu="cl")
    mr = survey.multiple_response_test(d, OPTIONS, "g", "a", "b")
    for option, x2 in zip(mr.options["option"], mr.options["X2"]):
        table = pd.crosstab(d.data["g"], d.data[option]).to_numpy()
        assert x2 == pytest.approx(stats.chi2_contingency(table, correction=False)[0], rel=1e-10), option
    assert mr.X2 == pytest.approx(mr.options["X2"].sum(), rel=1e-12)


def test_a_question_whose_options_never_vary_is_refused_not_a_nan():
    """An audit: options chosen by nobody (or by everybody) in both groups gave X² = 0, trace 0 and p = NaN without a
    word. There is nothing to test: the error says so; an option that does vary is still tested."""
    df = pd.DataFrame({"o1": [0.0] * 8, "o2": [0.0] * 8, "grp": list("aaaabbbb"), "w": 1.0})
    d = survey.Design.from_frame(df, weights="w")
    with pytest.raises(survey.ParameterError, match="nothing to test"):
        survey.multiple_response_test(d, ["o1", "o2"], "grp", "a", "b")
    every = survey.Design.from_frame(df.assign(o1=1.0), weights="w")
    with pytest.raises(survey.ParameterError, match="the profiles are the same"):
        survey.multiple_response_test(every, ["o1", "o2"], "grp", "a", "b")
    some = survey.Design.from_frame(df.assign(o1=[1.0, 0, 1, 0, 1, 1, 1, 0]), weights="w")
    assert np.isfinite(survey.multiple_response_test(some, ["o1", "o2"], "grp", "a", "b").p_F)


def _compare(got, want):
    """Every number of two tests, exactly, and their option tables."""
    for field in ("X2", "trace", "trace_sq", "df_chisq", "p_chisq", "F", "ndf", "ddf", "p_F", "n_a", "n_b"):
        assert getattr(got, field) == getattr(want, field), field
    pd.testing.assert_frame_equal(got.options, want.options, check_exact=True)


@pytest.mark.parametrize("variance", ["linearisation", "replicates"])
def test_indicators_read_once_give_the_test_of_the_columns(variance):
    """indicator_test on option_indicators is multiple_response_test of the columns, number for number: between two
    groups of a column (units that skipped the question, of weight 0 or in neither group left out) and between the
    surveys of a stack, whose rows are the first survey's then the second's."""
    rng = np.random.default_rng(11)
    d = _sample(rng, shift=0.6)
    data = d.data.copy()
    data.loc[rng.choice(len(data), 40, replace=False), "o3"] = np.nan       # did not answer the question
    data = data.assign(k=rng.integers(1, 4, len(data)), w=np.where(rng.random(len(data)) < 0.05, 0.0, d.weights))
    d = survey.Design.from_frame(data, weights="w", strata="g", psu="cl")
    if variance == "replicates":
        d = survey.with_replicates(d, "bootstrap", 40, np.random.default_rng(12))
    Y0, answered = survey.option_indicators(d.data, OPTIONS)
    assert np.array_equal(answered, d.data[OPTIONS].notna().all(axis=1).to_numpy())
    assert np.array_equal(Y0, d.data[OPTIONS].fillna(0).to_numpy(dtype=float) * answered[:, None])   # 0: unanswered
    kept = answered & (d.weights > 0)
    k = d.data["k"].to_numpy()
    _compare(survey.indicator_test(d, Y0, kept & (k == 1), kept & (k == 3), options=OPTIONS, variance=variance),
             survey.multiple_response_test(d, OPTIONS, "k", 1, 3, variance=variance))
    e = survey.Design.from_frame(_sample(np.random.default_rng(13)).data, weights="w", strata="g", psu="cl")
    if variance == "replicates":
        e = survey.with_replicates(e, "bootstrap", 40, np.random.default_rng(15))
    s = survey.stack({"x": d, "y": e})
    Ye, answered_e = survey.option_indicators(e.data, OPTIONS)
    first = np.arange(len(s.weights)) < len(d.weights)
    both = np.concatenate([answered, answered_e]) & (s.weights > 0)
    _compare(survey.indicator_test(s, np.vstack([Y0, Ye]), both & first, both & ~first, options=OPTIONS,
                                   variance=variance),
             survey.multiple_response_test(s, OPTIONS, "groupe", "x", "y", variance=variance))


def test_indicator_test_names_what_it_cannot_test():
    d = _sample(np.random.default_rng(14))
    Y0, answered = survey.option_indicators(d.data, OPTIONS)
    a = answered & (d.data["g"] == "a").to_numpy()
    with pytest.raises(survey.ParameterError, match=r"one row per unit of the design \(600\)"):
        survey.indicator_test(d, Y0[1:], a[1:], ~a[1:])
    with pytest.raises(survey.ParameterError, match="group 'visitors' has no respondent"):
        survey.indicator_test(d, Y0, a, np.zeros_like(a), groups=("residents", "visitors"))
    with pytest.raises(survey.ParameterError, match=r"in groups 'a' and 'b': the profiles are the same"):
        survey.indicator_test(d, np.zeros_like(Y0), a, ~a)
    with pytest.raises(survey.ParameterError, match="0 or 1"):
        survey.option_indicators(d.data.assign(o2=2.0), OPTIONS)
    with pytest.raises(survey.ParameterError, match=r"\['o9'\] are not in the survey data"):
        survey.option_indicators(d.data, [*OPTIONS, "o9"])


@pytest.mark.parametrize("overlap", [True, False])
def test_groups_of_units_sum_each_units_terms(overlap):
    """Groups given as units (indicator_test), drawn within the same clusters, apart or sharing units: a unit's
    influence is its term in b minus its term in a, and the options' standard errors are those of the
    ultimate-cluster variance of these influence values, computed here by hand."""
    d = _sample(np.random.default_rng(16), shift=0.3)
    Y0, answered = survey.option_indicators(d.data, OPTIONS)
    rng = np.random.default_rng(17)
    u = rng.random(len(Y0))
    in_a = answered & (u < 0.6)
    in_b = answered & ((rng.random(len(Y0)) < 0.6) if overlap else (u >= 0.6))
    assert (in_a & in_b).any() == overlap
    t = survey.indicator_test(d, Y0, in_a, in_b, options=OPTIONS)
    w = d.weights
    pa = (w[in_a, None] * Y0[in_a]).sum(0) / w[in_a].sum()
    pb = (w[in_b, None] * Y0[in_b]).sum(0) / w[in_b].sum()
    Z = in_b[:, None] * (Y0 - pb) / w[in_b].sum() - in_a[:, None] * (Y0 - pa) / w[in_a].sum()
    np.testing.assert_allclose(t.options["share_b"] - t.options["share_a"], pb - pa, rtol=1e-12)
    np.testing.assert_allclose(t.options["se"], np.sqrt(survey.linearised_variance(d, w[:, None] * Z, diagonal=True)),
                               rtol=1e-10)


def test_a_test_is_pickled_with_its_options_table():
    """The options' table is built when read: a test not read yet is pickled (sent to another process) whole."""
    import pickle

    d = _sample(np.random.default_rng(18), shift=0.3)
    Y0, answered = survey.option_indicators(d.data, OPTIONS)
    a = answered & (d.data["g"] == "a").to_numpy()
    got = pickle.loads(pickle.dumps(survey.indicator_test(d, Y0, a, answered & ~a, options=OPTIONS)))
    _compare(got, survey.multiple_response_test(d, OPTIONS, "g", "a", "b"))


def test_p_values_are_scipys_distributions():
    """The p-values by the special functions (chdtrc, fdtrc) are scipy.stats' chi2.sf and f.sf, edges included
    (x = 0, x < 0, infinite x, NaN, degrees of freedom 0, infinite or NaN)."""
    from portrait.survey.multiresponse import _chi2_sf, _f_sf
    xs = [0.0, -1.0, 1e-300, 0.3, 3.2, 40.0, np.inf, np.nan]
    dfs = [0.0, 1e-10, 0.7, 2.0, 5.5, 300.0, np.inf, np.nan]
    for x in xs:
        for a in dfs:
            assert _chi2_sf(x, a) == stats.chi2.sf(x, a) or (np.isnan(_chi2_sf(x, a)) and np.isnan(stats.chi2.sf(x, a)))
            for b in dfs:
                want = stats.f.sf(x, a, b)
                assert _f_sf(x, a, b) == want or (np.isnan(_f_sf(x, a, b)) and np.isnan(want)), (x, a, b)


def test_independent_surveys_give_the_test_of_their_stack():
    """independent_indicator_test of two calibrated surveys, each on its own design, is indicator_test on their stack:
    the same shares, statistic, group sizes and degrees of freedom, the covariance (a sum over both surveys' PSUs,
    added in another order there) within rounding; and it names what it cannot test."""
    from portrait.survey.multiresponse import independent_indicator_test

    def survey_of(seed):
        rng = np.random.default_rng(seed)
        d = _sample(rng, shift=0.5)
        data = d.data.copy()
        data.loc[rng.choice(len(data), 30, replace=False), "o2"] = np.nan        # did not answer
        data = data.assign(w=np.where(rng.random(len(data)) < 0.1, 0.0, d.weights), x=rng.integers(0, 2, len(data)))
        d = survey.Design.from_frame(data, weights="w", strata="g", psu="cl")
        return survey.calibrate(d, [survey.Margin.of("x", {0: 500.0, 1: 700.0})]) if seed % 2 else d

    x, y = survey_of(21), survey_of(22)
    assert any(s.kind == "calibration" for s in x.steps)
    (Yx, ax), (Yy, ay) = survey.option_indicators(x.data, OPTIONS), survey.option_indicators(y.data, OPTIONS)
    in_x, in_y = ax & (x.weights > 0), ay & (y.weights > 0)
    got = independent_indicator_test([x, y], [Yx, Yy], in_x, in_y, options=OPTIONS, groups=("x", "y"))
    s = survey.stack({"x": x, "y": y})
    first = np.arange(len(s.weights)) < len(x.weights)
    want = survey.indicator_test(s, np.vstack([Yx, Yy]), np.concatenate([in_x, np.zeros_like(in_y)]),
                                 np.concatenate([np.zeros_like(in_x), in_y]), options=OPTIONS, variance="linearisation")
    assert first.sum() == len(Yx)
    for field in ("X2", "n_a", "n_b"):
        assert getattr(got, field) == getattr(want, field), field
    for field in ("trace", "trace_sq", "df_chisq", "p_chisq", "F", "ndf", "ddf", "p_F"):
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-12, abs=0), field
    assert got.ddf / got.ndf == pytest.approx(want.ddf / want.ndf, rel=1e-14)       # the same integer df
    pd.testing.assert_frame_equal(got.options.drop(columns="se"), want.options.drop(columns="se"), check_exact=True)
    np.testing.assert_allclose(got.options["se"], want.options["se"], rtol=1e-12)
    with pytest.raises(survey.ParameterError, match="two designs and two arrays"):
        independent_indicator_test([x], [Yx], in_x, in_y)
    with pytest.raises(survey.ParameterError, match=r"units \(\(599,\)\) of group 'y' must have one row per unit"):
        independent_indicator_test([x, y], [Yx, Yy], in_x, in_y[1:], groups=("x", "y"))
    with pytest.raises(survey.ParameterError, match="have 6 and 5 options"):
        independent_indicator_test([x, y], [Yx, Yy[:, 1:]], in_x, in_y)
    with pytest.raises(survey.ParameterError, match="group 'x' has no respondent"):
        independent_indicator_test([x, y], [Yx, Yy], np.zeros_like(in_x), in_y, groups=("x", "y"))
    with pytest.raises(survey.ParameterError, match="in groups 'a' and 'b': the profiles are the same"):
        independent_indicator_test([x, y], [np.zeros_like(Yx), np.zeros_like(Yy)], in_x, in_y)


@pytest.mark.parametrize("dtype", ["Int16", "Int64", "UInt8", "Float32", "Float64", "float64", "int64", "boolean"])
def test_float_values_is_pandas_conversion(dtype):
    """The data-and-mask fast path gives pandas' own ``to_numpy(dtype=float, na_value=nan)``, missing values
    included, for every nullable type it takes (and plain columns go through pandas)."""
    from portrait.survey.labels import float_values
    raw = [1, 0, None, 3, None, 2] if dtype not in ("float64", "int64", "boolean") else [1, 0, 3, 1, 0, 2]
    if dtype == "boolean":
        raw = [True, None, False, True, None, False]
    s = pd.Series(pd.array(raw, dtype=dtype) if dtype[0].isupper() or dtype == "boolean" else raw, dtype=dtype)
    if dtype == "Float32":
        s = pd.Series(pd.array([1.1, None, 2.5e-8, -3.0, None, 7.0], dtype=dtype))
    got, want = float_values(s), s.to_numpy(dtype=float, na_value=np.nan)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got).sum() == s.isna().sum()


def test_option_indicators_of_nullable_integers_as_of_floats():
    """Nullable integer options are read from their data and masks: the same indicators and respondents as the
    same columns read as floats (the general path), whatever the data hidden under a missing value; a 2 is refused."""
    rng = np.random.default_rng(5)
    n = 300
    data = rng.integers(0, 2, (n, 4)).astype(np.int16)
    mask = rng.random((n, 4)) < 0.2
    mask[:40] = True                     # units that answered nothing
    data[mask] = 7                       # what lies under a missing value is not read
    ints = pd.DataFrame({f"o{j}": pd.arrays.IntegerArray(data[:, j].copy(), mask[:, j].copy()) for j in range(4)})
    floats = pd.DataFrame({c: ints[c].to_numpy(dtype=float, na_value=np.nan) for c in ints.columns})
    (Yi, ai), (Yf, af) = survey.option_indicators(ints, list(ints)), survey.option_indicators(floats, list(floats))
    assert Yi.dtype == Yf.dtype == np.float64 and Yi.flags.c_contiguous == Yf.flags.c_contiguous
    np.testing.assert_array_equal(Yi, Yf)
    np.testing.assert_array_equal(ai, af)
    assert ai.sum() == (~mask.any(axis=1)).sum() > 0
    bad = ints.copy()
    bad.loc[int(np.flatnonzero(ai)[0]), "o1"] = 2       # on a unit that answered
    with pytest.raises(survey.ParameterError, match="must hold 0 or 1"):
        survey.option_indicators(bad, list(bad))
