"""Calibration refuses margins and results that would silently give wrong weights.

Oracle for the negative weights: the closed form of linear calibration (GREG), g = 1 + x'λ with
λ = (Σ d x x')⁻¹ (T − Σ d x), computed here with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.survey.errors import CalibrationError


@pytest.mark.parametrize("total, words", [(0.0, "no population"), (-5.0, "finite and positive"),
                                          (math.nan, "finite and positive"), (math.inf, "finite and positive")])
def test_a_margin_total_must_be_finite_and_positive(total, words):
    with pytest.raises(CalibrationError, match=words) as exc:
        survey.Margin.of("sexe", {"F": 100.0, "H": total})
    assert "margin sexe" in str(exc.value) and "H = " in str(exc.value)


def test_a_numeric_total_must_be_finite():
    with pytest.raises(CalibrationError, match="finite"):
        survey.NumericTotal("revenu", math.nan)


def _skewed():
    """A 2 × 2 table whose sample puts 10 units in A×X and B×Y, one in A×Y and B×X, while the margins want
    almost no Y: linear calibration must take weight away from A×Y below zero."""
    df = pd.DataFrame({"a": ["A"] * 11 + ["B"] * 11, "b": ["X"] * 10 + ["Y", "X"] + ["Y"] * 10, "w": 1.0})
    margins = [survey.Margin.of("a", {"A": 10.0, "B": 10.0}), survey.Margin.of("b", {"X": 19.0, "Y": 1.0})]
    return df, margins


def test_linear_calibration_with_negative_weights_names_the_cells():
    df, margins = _skewed()
    # the oracle: closed-form linear calibration
    X = np.column_stack([np.ones(len(df)), (df["a"] == "B").to_numpy(float), (df["b"] == "Y").to_numpy(float)])
    d = df["w"].to_numpy()
    T = np.array([20.0, 10.0, 1.0])
    lam = np.linalg.solve(X.T @ (d[:, None] * X), T - X.T @ d)
    g = 1 + X @ lam
    assert g.min() < 0                              # the case is one where linear calibration goes negative
    design = survey.Design.from_frame(df, weights="w")
    with pytest.raises(CalibrationError, match="negative weights to 1 unit") as exc:
        survey.calibrate(design, margins, method="linear")
    negative = df.loc[g < 0, ["a", "b"]].drop_duplicates().iloc[0]
    assert f"a={negative['a']} × b={negative['b']}" in str(exc.value)
    kept = survey.calibrate(design, margins, method="linear", allow_negative=True)
    np.testing.assert_allclose(kept.weights, d * g, rtol=1e-10)
    raked = survey.calibrate(design, margins, method="raking")
    assert raked.weights.min() > 0
