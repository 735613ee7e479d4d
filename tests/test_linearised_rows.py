"""The linearised variance from the units whose influence values are not 0 (``rows=``) is the variance of every unit.

Oracles: the ultimate-cluster formula written stratum by stratum (``test_models_r._ultimate_cluster_by_hand``), and
the variance of the zero-padded values on every unit, which must be equal to the last bit (the same sums in the same
order: a 0 added changes no sum). The designs are those a survey's respondents meet: most units with values 0
(nonrespondents), in clusters or each its own PSU, lonely strata, strata taken with certainty, and a calibration
whose active units lie outside the rows given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from portrait import survey
from portrait.survey import Design, Margin
from portrait.survey.errors import ParameterError
from portrait.survey.linearisation import _residualise, influence_rows

from .test_models_r import _ultimate_cluster_by_hand


def _design(rng, clusters: bool, lonely: str) -> tuple[Design, np.ndarray, np.ndarray, np.ndarray]:
    """300 strata of 1 to 5 PSUs (some lonely, some taken with certainty), 1 to 3 units per PSU (or 1)."""
    n_psu = rng.integers(1, 6, size=300)
    f = np.where(rng.random(300) < 0.1, 1.0, rng.uniform(0, 0.5, size=300))
    psu_stratum = np.repeat(np.arange(300), n_psu)
    units = rng.integers(1, 4, size=len(psu_stratum)) if clusters else np.ones(len(psu_stratum), dtype=int)
    unit_psu = np.repeat(np.arange(len(psu_stratum)), units)
    strata = psu_stratum[unit_psu]
    df = pd.DataFrame({"st": strata, "up": unit_psu, "f": f[strata], "w": rng.uniform(1, 5, size=len(strata)),
                       "g": rng.choice(["a", "b", "c"], size=len(strata))})
    d = Design.from_frame(df, weights="w", strata="st", psu="up", fpc="f", lonely_psu=lonely)
    return d, strata, unit_psu, f[strata]


@pytest.mark.parametrize("clusters", [True, False])
@pytest.mark.parametrize("lonely", ["certainty", "remove", "adjust", "average"])
def test_rows_give_the_variance_of_every_unit(clusters, lonely):
    rng = np.random.default_rng(11)
    d, strata, unit_psu, f = _design(rng, clusters, lonely)
    n = len(d.weights)
    for share in (0.08, 0.3, 0.9):       # few units with a value (the closed form per stratum), and most of them
        rows = np.flatnonzero(rng.random(n) < share)
        z = np.zeros((n, 3))
        z[rows] = rng.normal(size=(len(rows), 3))
        z[rows[::7]] = 0.0               # units given whose values are 0 all the same
        expected = _ultimate_cluster_by_hand(strata, unit_psu, f, z, lonely)
        for diagonal in (False, True):
            full = survey.linearised_variance(d, z, diagonal=diagonal)
            given = survey.linearised_variance(d, z[rows], diagonal=diagonal, rows=rows)
            assert_array_equal(given, full)
            assert_allclose(given, np.diag(expected) if diagonal else expected, rtol=1e-12, atol=0)


def test_cancelling_units_make_a_psu_of_total_zero():
    """Two units of one PSU whose values cancel: the PSU counts as one without a total, as on every unit."""
    rng = np.random.default_rng(3)
    d, strata, unit_psu, f = _design(rng, True, "adjust")
    n = len(d.weights)
    big = np.flatnonzero(np.bincount(unit_psu) >= 2)[:5]
    rows = np.sort(np.concatenate([np.flatnonzero(np.isin(unit_psu, big)), np.flatnonzero(rng.random(n) < 0.05)]))
    rows = np.unique(rows)
    z = np.zeros((n, 2))
    z[rows] = rng.normal(size=(len(rows), 2))
    for p in big:                        # each of these PSUs' units sum to 0
        u = np.flatnonzero(unit_psu == p)
        z[u] = 0.0
        z[u[0]], z[u[1]] = [1.5, -2.0], [-1.5, 2.0]
    expected = _ultimate_cluster_by_hand(strata, unit_psu, f, z, "adjust")
    assert_array_equal(survey.linearised_variance(d, z[rows], rows=rows), survey.linearised_variance(d, z))
    assert_allclose(survey.linearised_variance(d, z[rows], rows=rows), expected, rtol=1e-12, atol=1e-12)


def test_a_calibration_beyond_the_rows_adds_its_units():
    """A calibration's active units outside the rows have residuals that are not 0: influence_rows adds them, and
    the residualised values on them equal those of every unit's (the others' stay 0)."""
    rng = np.random.default_rng(5)
    d, *_ = _design(rng, True, "adjust")
    n = len(d.weights)
    totals = {g: float(d.weights[(d.data["g"] == g).to_numpy()].sum()) * 1.05 for g in ("a", "b", "c")}
    cal = survey.calibrate(d, [Margin.of("g", totals)], method="raking")
    rows = np.flatnonzero(rng.random(n) < 0.1)
    assert_array_equal(influence_rows(d, rows), rows)          # no calibration: the rows themselves
    sup = influence_rows(cal, rows)
    assert_array_equal(sup, np.arange(n))                      # every unit is active in the calibration
    z = np.zeros((n, 2))
    z[rows] = rng.normal(size=(len(rows), 2))
    full = _residualise(cal, z.copy())
    assert_array_equal(_residualise(cal, z[sup].copy(), rows=sup), full[sup])
    assert_array_equal(survey.linearised_variance(cal, full[sup], rows=sup), survey.linearised_variance(cal, full))
    # respondents only: a non-response step's zero weights, the calibration on the respondents
    resp = rng.random(n) < 0.4
    nr = survey.adjust_nonresponse(Design.from_frame(d.data.assign(r=resp), weights="w", strata="st", psu="up",
                                                     fpc="f", lonely_psu="adjust"), "r", groups=["g"])
    cal = survey.calibrate(nr, [Margin.of("g", totals)], method="linear")
    resp_rows = np.flatnonzero(resp)
    assert influence_rows(cal, resp_rows) is resp_rows         # the respondents hold the calibration's units
    sub = resp_rows[::3]
    sup = influence_rows(cal, sub)
    assert_array_equal(sup, resp_rows)
    z = np.zeros((n, 2))
    z[sub] = rng.normal(size=(len(sub), 2))
    full = _residualise(cal, z.copy())
    assert full[resp_rows[1::3]].any()          # respondents without a value of their own have residuals
    assert_array_equal(_residualise(cal, z[sup].copy(), rows=sup), full[sup])
    assert not full[~resp].any()
    # rows beyond the calibration's units too (nonrespondents with a value): the union, every time it is asked
    mixed = np.union1d(sub, np.flatnonzero(~resp)[:5])
    for _ in range(2):
        sup = influence_rows(cal, mixed)
        assert_array_equal(sup, np.union1d(resp_rows, mixed))
        z = np.zeros((n, 2))
        z[mixed] = rng.normal(size=(len(mixed), 2))
        full = _residualise(cal, z.copy())
        assert_array_equal(_residualise(cal, z[sup].copy(), rows=sup), full[sup])
        assert not np.delete(full, sup, axis=0).any()
    # rows that leave out a calibrated unit would give it a residual of 0: refused
    with pytest.raises(ParameterError, match="every unit of each calibration"):
        _residualise(cal, z[sub].copy(), rows=sub)


def test_means_on_a_domain_equal_the_padded_influence_values():
    """survey.mean (which hands the variance its used units only) against the variance of the influence values
    built on every unit, for a domain and a calibrated design."""
    rng = np.random.default_rng(2)
    d, *_ = _design(rng, True, "adjust")
    data = d.data.assign(y=rng.normal(size=len(d.weights)))
    d = Design.from_frame(data, weights="w", strata="st", psu="up", fpc="f", lonely_psu="adjust")
    m = survey.mean(d, "y", by="g")
    for _, row in m.iterrows():
        inside = (data["g"] == row["domain"].split("=")[1]).to_numpy()
        W = d.weights[inside].sum()
        u = np.where(inside, (data["y"].to_numpy() - row["estimate"]) / W, 0.0)
        v = survey.linearised_variance(d, d.weights * u)
        assert row["se"] == pytest.approx(float(np.sqrt(v[0, 0])), rel=1e-12)


def test_the_kept_psus_follow_the_rows_the_columns_and_the_treatment():
    """Calls in a row on one design (as a survey's estimators make them) reuse the last rows' PSUs and the zero PSUs'
    factors: rows as many but another unit in, another number of columns, another treatment of lonely PSUs, values that
    leave a PSU without a total — each is the variance of every unit's values."""
    rng = np.random.default_rng(8)
    d, strata, unit_psu, f = _design(rng, True, "adjust")
    n = len(d.weights)
    rows = np.flatnonzero(rng.random(n) < 0.1)
    moved = np.append(rows[1:], np.setdiff1d(np.arange(n), rows)[-1])     # as many rows, each shifted by one
    for r, q, lonely in [(rows, 3, "adjust"), (rows, 3, "adjust"), (rows, 2, "adjust"), (moved, 2, "adjust"),
                         (moved, 2, "remove"), (rows, 3, "remove"), (rows, 3, "adjust")]:
        z = np.zeros((n, q))
        z[r] = rng.normal(size=(len(r), q))
        z[r[::5]] = 0.0                  # other PSUs without a total at each call
        for diagonal in (True, False):
            assert_array_equal(survey.linearised_variance(d, z[r], lonely=lonely, diagonal=diagonal, rows=r),
                               survey.linearised_variance(d, z, lonely=lonely, diagonal=diagonal))
        assert_allclose(survey.linearised_variance(d, z[r], lonely=lonely, rows=r),
                        _ultimate_cluster_by_hand(strata, unit_psu, f, z, lonely), rtol=1e-12, atol=0)


def test_rows_all_in_the_calibration_residualise_as_every_unit():
    """Rows that are exactly a calibration's units (a survey's respondents) are residualised in place, without taking
    their rows out and back: the same values to the last bit as every unit's, also when a trimming after the
    calibration rescales them (the weights the calibration left differ from the final ones) and when a second
    calibration follows."""
    rng = np.random.default_rng(8)
    d, *_ = _design(rng, True, "adjust")
    n = len(d.weights)
    resp = rng.random(n) < 0.4
    nr = survey.adjust_nonresponse(Design.from_frame(d.data.assign(r=resp), weights="w", strata="st", psu="up",
                                                     fpc="f", lonely_psu="adjust"), "r", groups=["g"])
    totals = {g: float(nr.weights[(nr.data["g"] == g).to_numpy()].sum()) * 1.1 for g in ("a", "b", "c")}
    cal = survey.calibrate(nr, [Margin.of("g", totals)], method="raking")
    w = cal.weights[cal.weights > 0]
    trimmed = survey.trim_weights(cal, upper=float(np.quantile(w, 0.8)))
    again = survey.calibrate(cal, [Margin.of("g", {g: t * 0.97 for g, t in totals.items()})], method="linear")
    resp_rows = np.flatnonzero(resp)
    for design in (cal, trimmed, again):
        assert influence_rows(design, resp_rows) is resp_rows
        z = np.zeros((n, 3))
        z[resp_rows] = rng.normal(size=(len(resp_rows), 3))
        full = _residualise(design, z.copy())
        assert full[resp_rows].any() and not full[~resp].any()
        assert_array_equal(_residualise(design, z[resp_rows].copy(), rows=resp_rows), full[resp_rows])


@pytest.mark.parametrize("clusters", [True, False])
def test_the_kept_layout_follows_the_rows_and_the_columns(clusters):
    """The rows' layout by stratum and column kept from the last call, and the rows' totals used as they are when every
    PSU has one: calls in a row with the same rows, another number of columns, as many rows but another unit in,
    with and without PSUs of total 0 — each the variance of every unit's values."""
    rng = np.random.default_rng(21)
    d, *_ = _design(rng, clusters, "adjust")
    n = len(d.weights)
    rows = np.flatnonzero(rng.random(n) < 0.1)
    moved = np.append(rows[1:], np.setdiff1d(np.arange(n), rows)[-1])
    for r, q, zeros in [(rows, 3, False), (rows, 3, False), (rows, 3, True), (rows, 2, False), (moved, 2, False),
                        (moved, 2, True), (rows, 2, False), (rows, 3, False)]:
        z = np.zeros((n, q))
        z[r] = rng.normal(size=(len(r), q))
        if zeros:
            z[r[::4]] = 0.0
        for diagonal in (True, False):
            assert_array_equal(survey.linearised_variance(d, z[r], diagonal=diagonal, rows=r),
                               survey.linearised_variance(d, z, diagonal=diagonal))
