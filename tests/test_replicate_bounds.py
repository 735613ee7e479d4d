"""Bounded calibration in a replicate that cannot hold its bounds: the documented widening rule.

Oracle: a one-margin design where each cell's g is forced by its margin (closed form): a replicate
that keeps one unit of weight 20 in a level whose target is 100 needs g = 5 there, whatever the
method; the rule must give the narrowest bounds containing [L, U] that allow it (upper 5), pushed
10 % of the way further from 1 (5.4), reproduce the margins exactly, and report that replicate,
in memory and through a weighted-design file. No replicate is dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.survey.errors import CalibrationError

L, U = 0.5, 3.0


def _design(b_factors):
    df = pd.DataFrame({"x": ["A"] * 10 + ["B"] * 10, "y": np.arange(20.0)})
    d = survey.Design.from_frame(df, weights=np.full(20, 10.0))
    factors = np.ones((20, 3))
    factors[10:, 1] = b_factors                       # replicate 2 changes level B only
    factors[:, 2] = 0.9                               # replicate 3: feasible (g = 1/0.9 in both levels)
    return replace(d, replicate_factors=factors, replicate_scale=0.5, replicate_rscales=np.ones(3),
                   replicate_method="bootstrap")


MARGIN = [survey.Margin.of("x", {"A": 100.0, "B": 100.0})]


@pytest.mark.parametrize("method", ["logit", "truncated", "raking"])
def test_an_infeasible_replicate_widens_its_bounds_by_the_rule(method):
    d = survey.calibrate(_design(np.r_[2.0, np.zeros(9)]), MARGIN, method=method, bounds=(L, U))
    R = d.replicate_weights()
    assert R.shape == (20, 3) and np.all(np.isfinite(R))                      # nothing dropped
    for r in range(3):                                                         # every replicate calibrated
        np.testing.assert_allclose([R[:10, r].sum(), R[10:, r].sum()], [100, 100], rtol=1e-9)
    np.testing.assert_allclose(R[10, 1], 100.0, rtol=1e-9)                    # g = 5 on the one unit left
    np.testing.assert_allclose(R[:, 2], 10.0, rtol=1e-9)                      # feasible: g·0.9 = 1
    adj = d.replicate_adjustments()
    assert adj["replicate"].tolist() == [2]
    np.testing.assert_allclose(adj[["lower", "upper"]].to_numpy(), [[L, 5 + 0.1 * (5 - 1)]], rtol=1e-7)


def test_the_lower_bound_moves_when_a_level_has_too_much_weight():
    """Level B keeps all its units with factor 4: g = 0.25 < L there; the rule lowers L to 0.25 − 0.1 × 0.75."""
    d = survey.calibrate(_design(np.full(10, 4.0)), MARGIN, method="logit", bounds=(L, U))
    adj = d.replicate_adjustments()
    np.testing.assert_allclose(adj[["lower", "upper"]].to_numpy(), [[0.25 - 0.1 * 0.75, U]], rtol=1e-7)
    np.testing.assert_allclose(d.replicate_weights()[10:, 1], 10 * 4 * 0.25, rtol=1e-9)


def test_a_replicate_without_units_in_a_level_is_an_error_not_a_drop():
    d = survey.calibrate(_design(np.zeros(10)), MARGIN, method="logit", bounds=(L, U))
    with pytest.raises(CalibrationError, match="cannot be calibrated within any bounds"):
        d.replicate_weights()


@pytest.mark.parametrize("method", ["linear", "raking"])
def test_an_unbounded_replicate_without_units_in_a_level_names_it(method):
    """An audit against R: a JK1 replicate that emptied a post-stratum said « calibration (linear) did not converge
    in 100 iterations », naming neither the replicate nor the level. It now names both (R fails in qr() there)."""
    d = survey.calibrate(_design(np.zeros(10)), MARGIN, method=method)
    with pytest.raises(CalibrationError, match=r"^replicate 2, step « calage \(.*\) »: no unit of positive weight "
                       r"holds level 'B' of 'x', whose population total is not 0"):
        d.replicate_weights()


def test_unbounded_methods_never_adjust():
    d = survey.calibrate(_design(np.r_[2.0, np.zeros(9)]), MARGIN, method="raking")
    assert d.replicate_adjustments().empty
    np.testing.assert_allclose(d.replicate_weights()[10, 1], 100.0, rtol=1e-9)


def test_adjustments_travel_with_the_weighted_file(tmp_path):
    d = survey.calibrate(_design(np.r_[2.0, np.zeros(9)]), MARGIN, method="logit", bounds=(L, U))
    path = survey.write_design(d, tmp_path / "w.parquet")
    back = survey.read_design(path)
    pd.testing.assert_frame_equal(back.replicate_adjustments(), d.replicate_adjustments())
    assert survey.first_replicates(back, 2).replicate_adjustments()["replicate"].tolist() == [2]
    assert survey.first_replicates(survey.read_design(path), 2).replicate_weights().shape == (20, 2)
