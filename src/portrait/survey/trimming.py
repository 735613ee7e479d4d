"""Trimming: weights capped at bounds, then re-calibrated, alternately, until both hold.

Prefer bounded calibration (:func:`portrait.survey.calibrate` with ``method='logit'``), which satisfies
bounds on ``g`` and the margins at once; trimming is for fixed bounds on the weights themselves
(R ``survey::trimWeights`` caps without re-calibrating).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .calibration import Margin, NumericTotal, _build, _newton
from .design import Design, Step
from .errors import CalibrationError, ParameterError


def trim(design: Design, margins: Sequence[Margin | NumericTotal], *, lower: float | None = None,
         upper: float | None = None, method: str = "linear", max_cycles: int = 50,
         tol: float = 1e-8, label: str | None = None) -> Design:
    """Trim weights to ``[lower, upper]`` and re-calibrate, alternately, until both hold.

    Each cycle caps the weights at the bounds, then re-calibrates the units strictly inside the
    bounds (the capped ones are held fixed) so that the margins hold again. Prefer bounded
    calibration (``method='logit'``), which satisfies bounds and margins at once; this routine is
    for fixed bounds on the weights themselves.

    Raises ``CalibrationError`` if bounds and margins cannot both hold after ``max_cycles``.
    """
    if lower is None and upper is None:
        raise ParameterError("give lower= and/or upper= bounds on the weights")
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    problem = _build(design, margins)

    def solve(des: Design) -> tuple[np.ndarray, dict]:
        w = des.weights.copy()
        act = problem.active
        Xu = problem.X[problem.cell_of]
        for cycle in range(1, max_cycles + 1):
            wa = np.clip(w[act], lo, hi)
            fixed = (wa <= lo) | (wa >= hi)
            target = problem.T - Xu[fixed].T @ wa[fixed]
            free = ~fixed
            if not free.any():
                break
            g, _, _, rel = _newton(Xu[free], wa[free], target, method, -np.inf, np.inf, 100, tol)
            wa[free] = wa[free] * g
            w[act] = wa
            ok_bounds = np.all((wa >= lo - 1e-9 * abs(lo)) & (wa <= hi + 1e-9 * abs(hi)))
            if ok_bounds and rel < tol * 10:
                return w, {"cycles": cycle, "trimmed": int(fixed.sum())}
        raise CalibrationError(f"trimming to [{lower}, {upper}] and re-calibration did not both hold after "
                               f"{max_cycles} cycles; widen the bounds or use bounded calibration "
                               "(method='logit')")

    w, info = solve(design)
    step = Step(kind="trimming", label=label or "écrêtage et recalage", apply=solve, info=info)
    return design.with_weights(w, step)
