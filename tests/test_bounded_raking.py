"""Raking with bounds (R ``calibrate(…, calfun = "raking", bounds =)``: ``g = exp(x'λ)`` clipped to ``[L, U]``),
against R on the api data (fixture by tests/reference/make_fixtures_models.R, which converges R to 1e-13; rtol
1e-9), and against closed forms: bounds that do not bind give plain raking, and the bounds and margins hold."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from tests import helpers

r = partial(helpers.r_value, pd.read_csv(paths.TESTS / "reference" / "fixtures" / "bounded_raking.csv"))
TYPES = survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
NUMERIC = [TYPES, survey.NumericTotal("api99", 3914069)]


def test_bounds_binding_on_both_sides_equal_r(dclus1):
    d = survey.calibrate(dclus1, NUMERIC, method="raking", bounds=(0.7, 1.9))
    g = d.weights / dclus1.weights
    assert_allclose([g.min(), g.max()], [r("bounded_numeric", "g_min"), r("bounded_numeric", "g_max")], rtol=1e-12)
    assert [int(np.sum(np.isclose(g, 0.7, rtol=0, atol=1e-9))), int(np.sum(np.isclose(g, 1.9, rtol=0, atol=1e-9)))] \
        == [r("bounded_numeric", "at_lower"), r("bounded_numeric", "at_upper")]
    m, t = survey.mean(d, "api00").iloc[0], survey.total(d, "enroll").iloc[0]
    assert_allclose([m.estimate, m.se, t.estimate, t.se],
                    [r("bounded_numeric", q) for q in ("mean_api00", "se_mean_api00", "total_enroll",
                                                       "se_total_enroll")], rtol=1e-9)
    assert d.steps[-1].info.bounds == (0.7, 1.9)


def test_categorical_margins_and_jk1_replicates_equal_r(dclus1):
    cat = survey.calibrate(dclus1, [TYPES, survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})],
                           method="raking", bounds=(0.9, 1.9))
    g = cat.weights / dclus1.weights
    assert_allclose([g.min(), g.max()], [r("bounded_categorical", "g_min"), r("bounded_categorical", "g_max")],
                    rtol=1e-12)
    m = survey.mean(cat, "api00").iloc[0]
    assert_allclose([m.estimate, m.se], [r("bounded_categorical", "mean_api00"),
                                         r("bounded_categorical", "se_mean_api00")], rtol=1e-9)
    jk = survey.with_replicates(survey.calibrate(dclus1, NUMERIC, method="raking", bounds=(0.6, 2.5)), "jk1")
    mj = survey.mean(jk, "api00", variance="replicates").iloc[0]
    assert_allclose([mj.estimate, mj.se], [r("bounded_jk1", "mean_api00"), r("bounded_jk1", "se_mean_api00")],
                    rtol=1e-9)
    assert jk.replicate_adjustments().empty          # R calibrates every replicate within these bounds too


def test_bounds_that_do_not_bind_give_plain_raking(dclus1):
    plain = survey.calibrate(dclus1, NUMERIC, method="raking")
    g = plain.weights / dclus1.weights
    wide = survey.calibrate(dclus1, NUMERIC, method="raking", bounds=(g.min() / 2, g.max() * 2))
    assert_allclose(wide.weights, plain.weights, rtol=1e-10)


def test_bounds_hold_margins_are_met_and_infeasible_bounds_are_named(dclus1):
    d = survey.calibrate(dclus1, NUMERIC, method="raking", bounds=(0.7, 1.9))
    g = d.weights / dclus1.weights
    assert g.min() >= 0.7 - 1e-12 and g.max() <= 1.9 + 1e-12
    achieved = [d.weights[dclus1.data["stype"].to_numpy() == s].sum() for s in "EHM"]
    assert_allclose(achieved + [d.weights @ dclus1.data["api99"].to_numpy(float)], [4421, 755, 1018, 3914069],
                    rtol=1e-9)
    with pytest.raises(survey.CalibrationError, match="infeasible within the bounds"):
        survey.calibrate(dclus1, [TYPES], method="raking", bounds=(0.9, 1.2))     # H needs g = 755 / 473.9 = 1.59
    with pytest.raises(survey.ParameterError, match="'linear' takes no bounds; use 'truncated'"):
        survey.calibrate(dclus1, [TYPES], method="linear", bounds=(0.5, 2))
