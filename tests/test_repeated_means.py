"""RepeatedMeans gives survey.mean's numbers, to the last bit, on every design of one data.

Oracle: :func:`portrait.survey.mean` itself (checked against R ``svymean``/``svyciprop`` in the R-fixture tests),
called on each design afresh; the designs cover what a simulation's loop meets: design weights, a calibration,
respondents dropped (weights set to 0), a calibration after them, replicate weights, the logit interval of shares
and Student's interval of a mean with missing values.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.survey import Margin, NumericTotal, repeated
from portrait.survey.errors import ParameterError

STYPE = Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
API99 = NumericTotal("api99", 3914069)


@pytest.fixture(scope="module")
def designs(dclus1):
    """dclus1 with derived variables (a share, a mean with missing values), then several weightings of it."""
    rng = np.random.default_rng(5)
    data = dclus1.data.assign(high=(dclus1.data["api00"] > 700).astype(float),
                              ell_na=np.where(rng.random(len(dclus1.data)) < 0.2, np.nan, dclus1.data["ell"] * 1.0))
    base = replace(dclus1, data=data)
    dropped = base.with_weights(np.where(rng.random(len(data)) < 0.15, 0.0, base.weights))
    return {"design": base, "calibrated": survey.calibrate(base, [STYPE, API99], method="raking"),
            "dropped": dropped, "dropped, calibrated": survey.calibrate(dropped, [STYPE], method="linear"),
            "bootstrap": survey.with_replicates(survey.calibrate(base, [STYPE]), "bootstrap", 30,
                                                np.random.default_rng(7))}


def test_the_numbers_of_mean_on_every_design(designs):
    """Each design in turn, the respondents changing and coming back: estimate, se, interval, df and n equal
    survey.mean's exactly (linearised, and with the replicates for the design that has them)."""
    variables, interval = ["high", "ell_na", "api99"], {"high": "logit"}
    first = next(iter(designs.values()))
    means = repeated.RepeatedMeans(first, variables, interval=interval)
    order = ["design", "dropped", "calibrated", "dropped, calibrated", "design", "bootstrap"]
    for name in order:
        d = designs[name]
        for variance in ("linearisation", "replicates") if d.has_replicates else ("linearisation",):
            ours = means.estimate(d, variance=variance, level=0.9)
            ref = survey.mean(d, variables, variance=variance, level=0.9, interval=interval)
            for c in repeated.VALUES:
                np.testing.assert_array_equal(ours[c], ref[c].to_numpy(), err_msg=f"{name}, {variance}: {c}")


def test_a_design_of_other_data_is_refused(designs):
    """The variables were read from one table: a design of another table (even equal) is refused."""
    d = designs["design"]
    means = repeated.RepeatedMeans(d, ["api00"])
    with pytest.raises(ParameterError, match="other data"):
        means.estimate(replace(d, data=d.data.copy()))


def test_variables_are_checked_as_mean_checks_them(designs):
    """A text column, an interval of an unknown variable: refused when read, as survey.mean refuses them."""
    d = designs["design"]
    with pytest.raises(ParameterError, match="not numeric"):
        repeated.RepeatedMeans(d, ["stype"])
    with pytest.raises(ParameterError, match="not among the variables"):
        repeated.RepeatedMeans(d, ["api00"], interval={"api99": "logit"})


def test_designs_of_other_psus_have_their_own_degrees_of_freedom(designs):
    """The degrees of freedom are counted once per respondents and set of PSUs and strata: a design of the same
    data and respondents with other PSUs (every unit its own, the 15 clusters' df being 14) gets its own, as
    survey.mean counts them; back on the clusters, theirs again."""
    d = designs["calibrated"]
    own = replace(d, psu=np.arange(len(d.weights)), strata=np.zeros(len(d.weights), dtype=int))
    assert own.degf != d.degf
    means = repeated.RepeatedMeans(d, ["high", "api99"], interval={"high": "logit"})
    for x in (d, own, d):
        ours, ref = means.estimate(x), survey.mean(x, ["high", "api99"], interval={"high": "logit"})
        for c in repeated.VALUES:
            np.testing.assert_array_equal(ours[c], ref[c].to_numpy(), err_msg=c)


def test_a_share_outside_zero_one_is_refused_when_its_unit_comes_back(designs):
    """The [0, 1] check of a logit interval is made once per set of respondents: a value 2 on a unit of weight 0 in
    one design passes there, and is refused on the design where that unit counts, as survey.mean refuses it."""
    base, dropped = designs["design"], designs["dropped"]
    out = int(np.flatnonzero(dropped.weights == 0)[0])
    high = base.data["high"].to_numpy(copy=True)
    high[out] = 2.0
    data = base.data.assign(high=high)
    means = repeated.RepeatedMeans(replace(base, data=data), ["high"], interval="logit")
    means.estimate(replace(dropped, data=data))
    means.estimate(replace(dropped, data=data))
    with pytest.raises(ParameterError, match="outside"):
        survey.mean(replace(base, data=data), ["high"], interval="logit")
    with pytest.raises(ParameterError, match="outside"):
        means.estimate(replace(base, data=data))


def test_residualise_leaves_the_values_it_is_given(designs):
    """residualise works on its own copy: a vector or a matrix given to it is unchanged (its residuals are written
    over a copy, in place)."""
    d = designs["calibrated"]
    u = d.data["api00"].to_numpy(dtype=float)
    kept, U = u.copy(), np.column_stack([u, u ** 2])
    keptU = U.copy()
    z = survey.residualise(d, u)
    Z = survey.residualise(d, U)
    assert np.array_equal(u, kept) and np.array_equal(U, keptU)
    assert np.array_equal(z, survey.residualise(d, u)) and np.array_equal(Z, survey.residualise(d, U))


def test_each_treatment_of_lonely_psus_keeps_its_own_factors():
    """The PSUs' factors c_h are kept per structure and treatment of lonely PSUs: alternating « adjust » and
    « certainty » on one design gives each the brute-force ultimate-cluster sum (a lonely PSU centred on 0 and
    counted once with « adjust », not at all with « certainty »)."""
    rng = np.random.default_rng(3)
    strata = np.repeat([0, 0, 0, 1, 1, 2], 4)                # PSUs 0-2 in stratum 0, 3-4 in 1, 5 alone in 2
    psu = np.repeat(np.arange(6), 4)
    data = pd.DataFrame({"h": strata, "c": psu, "w": rng.uniform(1, 3, len(psu))})
    d = survey.Design.from_frame(data, weights="w", strata="h", psu="c")
    z = rng.normal(size=(len(psu), 2))

    def brute(lonely):
        V = np.zeros((2, 2))
        for h in range(3):
            Z = np.array([z[psu == i].sum(axis=0) for i in np.unique(psu[strata == h])])
            n = len(Z)
            if n == 1:
                V += np.outer(Z[0], Z[0]) * (lonely == "adjust")
            else:
                D = Z - Z.mean(axis=0)
                V += n / (n - 1) * D.T @ D
        return V

    for lonely in ("adjust", "certainty", "adjust", "certainty"):
        np.testing.assert_allclose(survey.linearised_variance(d, z, lonely=lonely), brute(lonely), rtol=1e-12)


@pytest.mark.parametrize("lonely", ["adjust", "certainty", "average"])
def test_psus_without_a_total_are_summed_together(lonely):
    """Most PSU totals 0 (nonrespondents of a sampled design): they are summed in one term per stratum, and the
    variance is the brute-force ultimate-cluster sum (with a sampling fraction, a lonely PSU without a total and one
    with), matrix and diagonal alike."""
    rng = np.random.default_rng(8)
    strata = np.repeat(np.arange(6), [60, 40, 30, 1, 1, 68])
    psu = np.arange(len(strata))
    f = np.where(strata == 1, 0.3, 0.0)
    z = np.zeros((len(psu), 3))
    answered = rng.random(len(psu)) < 0.2
    answered[strata == 3] = False                   # a lonely PSU without a total; the one of stratum 4 has one
    answered[strata == 4] = True
    z[answered] = rng.normal(size=(answered.sum(), 3))
    data = pd.DataFrame({"h": strata, "c": psu, "f": f, "w": 1.0})
    d = survey.Design.from_frame(data, weights="w", strata="h", psu="c", fpc="f")

    def brute():
        V, lonely_strata = np.zeros((3, 3)), 0
        for h in range(6):
            Z = z[strata == h]
            n, fh = len(Z), f[strata == h][0]
            if n == 1:
                lonely_strata += 1
                V += np.outer(Z[0], Z[0]) * (1 - fh) * (lonely == "adjust")
            else:
                D = Z - Z.mean(axis=0)
                V += (1 - fh) * n / (n - 1) * D.T @ D
        return V * (6 / (6 - lonely_strata) if lonely == "average" else 1)

    np.testing.assert_allclose(survey.linearised_variance(d, z, lonely=lonely), brute(), rtol=1e-12)
    np.testing.assert_allclose(survey.linearised_variance(d, z, lonely=lonely, diagonal=True), np.diag(brute()),
                               rtol=1e-12)


def test_a_psu_whose_values_cancel_or_are_missing_has_a_total():
    """A PSU total with values of opposite signs (a residual and its negative: they sum to 0 across columns) or a
    NaN is not a zero total: summed on its own, the variance is the brute-force ultimate-cluster sum (NaN where R
    gives NA)."""
    strata = np.repeat(np.arange(2), [50, 50])
    z = np.zeros((100, 2))
    z[[3, 60]] = [[1.5, -1.5], [-2.0, 2.0]]
    z[[10, 70]] = [[0.5, 0.0], [0.0, -0.25]]
    data = pd.DataFrame({"h": strata, "c": np.arange(100), "w": 1.0})
    d = survey.Design.from_frame(data, weights="w", strata="h", psu="c")
    V = np.zeros((2, 2))
    for h in range(2):
        D = z[strata == h] - z[strata == h].mean(axis=0)
        V += 50 / 49 * D.T @ D
    np.testing.assert_allclose(survey.linearised_variance(d, z), V, rtol=1e-12)
    np.testing.assert_allclose(survey.linearised_variance(d, z, diagonal=True), np.diag(V), rtol=1e-12)
    z[20, 1] = np.nan
    assert np.isnan(survey.linearised_variance(d, z, diagonal=True)[1])


def test_a_variable_no_respondent_answered_gives_means_numbers():
    """A variable missing for every respondent (its mean NaN) beside others: every number equals survey.mean's
    exactly, the others' too (their influence values summed as mean sums them), on a design with nonrespondents
    and a large share of zero rows."""
    rng = np.random.default_rng(9)
    n = 400
    strata = np.repeat(np.arange(4), n // 4)
    data = pd.DataFrame({"h": strata, "c": np.arange(n), "w": rng.uniform(1, 3, n), "y": rng.normal(size=n),
                         "x": (rng.random(n) < 0.4).astype(float)})
    answered = rng.random(n) < 0.3
    data["none"] = np.where(answered, np.nan, 1.0)
    d = survey.Design.from_frame(data, weights="w", strata="h", psu="c")
    d = d.with_weights(np.where(answered, d.weights, 0.0))
    variables = ["y", "none", "x"]
    ours = repeated.RepeatedMeans(d, variables).estimate(d)
    ref = survey.mean(d, variables)
    assert np.isnan(ours["estimate"][1])
    for c in repeated.VALUES:
        np.testing.assert_array_equal(ours[c], ref[c].to_numpy(), err_msg=c)


def test_weighted_sums_are_the_column_by_column_pairwise_sums(designs):
    """The means' weighted totals and denominators, summed from products laid out column by column as they are made
    (``order="F"``), are the pairwise sums of each column of the products copied to that layout: the same bits, on
    more units than a pairwise block, with missing values and respondents dropped."""
    d = designs["dropped, calibrated"]
    rng = np.random.default_rng(12)
    n = len(d.weights)
    y = np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(size=n) * 1e3 + rng.random(n) * 1e-7)
    data = d.data.assign(**{f"y{j}": np.roll(y, 17 * j) for j in range(5)})
    dd = replace(d, data=data)
    cols = [f"y{j}" for j in range(5)]
    got = repeated.RepeatedMeans(dd, cols).estimate(dd)["estimate"]
    w = dd.weights
    Y = data[cols].to_numpy()
    used = ~np.isnan(Y) & (w > 0)[:, None]
    kept = np.flatnonzero(w > 0)
    wr = w[kept][:, None]
    tot = np.asfortranarray(wr * np.where(used, Y, 0.0)[kept]).sum(axis=0)
    Wd = np.asfortranarray(wr * used[kept]).sum(axis=0)
    assert len(kept) > 128
    np.testing.assert_array_equal(got, tot / Wd)


def test_values_given_are_the_means_of_those_columns(designs):
    """Values given as arrays (not columns of the data) give the numbers of the data with those columns, on every
    design, to the last bit; the designs estimated on keep their own data; values missing, of another length, not
    numbers or infinite are refused."""
    rng = np.random.default_rng(9)
    first = next(iter(designs.values()))
    n = len(first.weights)
    values = {"share": np.where(rng.random(n) < 0.1, np.nan, (rng.random(n) < 0.4).astype(float)),
              "score": np.where(rng.random(n) < 0.3, np.nan, rng.normal(50, 10, n)),
              "count": rng.integers(0, 9, n)}
    variables, interval = list(values), {"share": "logit"}
    given = repeated.RepeatedMeans(first, variables, interval=interval, values=values)
    for name in ["design", "dropped", "calibrated", "dropped, calibrated", "design", "bootstrap"]:
        d = designs[name]
        read = replace(d, data=d.data.assign(**values))
        ref = repeated.RepeatedMeans(read, variables, interval=interval)
        for variance in ("linearisation", "replicates") if d.has_replicates else ("linearisation",):
            ours, theirs = given.estimate(d, variance=variance), ref.estimate(read, variance=variance)
            for c in repeated.VALUES:
                np.testing.assert_array_equal(ours[c], theirs[c], err_msg=f"{name}, {variance}: {c}")
    for bad, message in [({"share": values["share"]}, "not in the values"), ({**values, "score": values["score"][1:]},
                         "one per unit"), ({**values, "score": np.array(["a"] * n)}, "one per unit"),
                         ({**values, "score": np.where(np.arange(n) == 3, np.inf, 1.0)}, "infinite")]:
        with pytest.raises(ParameterError, match=message):
            repeated.RepeatedMeans(first, variables, interval=interval, values=bad)
