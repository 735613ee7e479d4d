"""Trimming: weights capped at bounds, then re-calibrated, alternately, until both hold.

Prefer bounded calibration (:func:`portrait.survey.calibrate` with ``method='logit'``), which satisfies
bounds on ``g`` and the margins at once; trimming is for fixed bounds on the weights themselves
(R ``survey::trimWeights`` caps without re-calibrating).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .calibration import _build, _newton
from .margins import Margin, NumericTotal
from .design import Design, Step
from .errors import CalibrationError, ParameterError


#: A replicate that cannot be trimmed within the sample's bounds (scaled by its replicate factors) is never
#: dropped: its bounds are widened by this factor (lower divided, upper multiplied) until both hold,
#: at most ``WIDEN_TRIES`` times, and the replicate's adjustments say so.
WIDEN_STEP = 1.25
WIDEN_TRIES = 20


def _unreachable(problem, Xu: np.ndarray, lo_u: np.ndarray, hi_u: np.ndarray) -> list[str]:
    """The levels (0/1 columns) whose target lies outside what their units can total within their bounds."""
    out = []
    for j, (margin, level) in enumerate(problem.names):
        x = Xu[:, j]
        if not np.isin(x, (0.0, 1.0)).all():
            continue
        inside = x == 1
        low, high = float(lo_u[inside].sum()), float(hi_u[inside].sum())
        if not low <= problem.T[j] <= high:
            reach = f"at most {high:.6g}" if problem.T[j] > high else f"at least {low:.6g}"
            out.append(f"margin {margin}, level {level}: target {problem.T[j]:.6g}, but its {int(inside.sum())} "
                       f"unit(s) total {reach} within the bounds")
    return out


def trim(design: Design, margins: Sequence[Margin | NumericTotal], *, lower: float | None = None,
         upper: float | None = None, method: str = "linear", max_cycles: int = 50,
         tol: float = 1e-8, label: str | None = None) -> Design:
    """Trim weights to ``[lower, upper]`` and re-calibrate, alternately, until both hold.

    Each cycle caps the weights at the bounds, then re-calibrates the units strictly inside the
    bounds (the capped ones are held fixed) so that the margins hold again. Prefer bounded
    calibration (``method='logit'``), which satisfies bounds and margins at once; this routine is
    for fixed bounds on the weights themselves. R ``survey::trimWeights`` caps and redistributes
    without re-calibrating. The step is recorded, so replicate weights re-run it: in a replicate, each
    unit's bounds are multiplied by its weight's ratio to the sample's (its replicate factor through
    the recipe: a unit drawn twice by the bootstrap may weigh twice the bound), so the replicates cap
    the units the sample caps instead of every unit the resampling doubled, which fixed bounds would
    make infeasible. A replicate that still cannot hold both has its bounds widened step by step
    (``WIDEN_STEP``) rather than being dropped; :meth:`Design.replicate_adjustments` lists it.

    Parameters
    ----------
    design : Design
        The design whose current weights are trimmed (usually already calibrated on ``margins``).
    margins : sequence of Margin or NumericTotal
        The margins that must still hold after trimming.
    lower : float, optional
        Smallest weight allowed (not a factor: a weight). At least one of ``lower`` and ``upper``.
    upper : float, optional
        Largest weight allowed.
    method : {"linear", "raking"}, default "linear"
        Distance of the re-calibration of the units inside the bounds (unbounded distances).
    max_cycles : int, default 50
        Largest number of cap-then-re-calibrate cycles.
    tol : float, default 1e-8
        Stopping rule on the re-calibration's largest relative misfit.
    label : str, optional
        Label of the step in the design's history (default ``"écrêtage et recalage"``).

    Returns
    -------
    Design
        A new design with the trimmed weights and one more :class:`Step` (kind ``"trimming"``, ``info``
        a dict with the ``cycles`` used and the number of units ``trimmed``).

    Raises
    ------
    ParameterError
        If neither ``lower`` nor ``upper`` is given.
    CalibrationError
        If bounds and margins cannot both hold after ``max_cycles``, or the margins are bad.

    See Also
    --------
    calibrate : Bounded calibration (``logit``) bounds ``g = w/d`` and meets the margins at once.

    References
    ----------
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proceedings of the Section on Survey Research Methods*, American Statistical Association, 225–230.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting
    Survey Samples*, 2nd ed. Springer. (weight trimming)
    """
    if lower is None and upper is None:
        raise ParameterError("give lower= and/or upper= bounds on the weights")
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    problem = _build(design, margins)

    full = design.weights[problem.active]
    act = problem.active
    Xu = problem.X[problem.cell_of]

    def cycles(w: np.ndarray, lo_u: np.ndarray, hi_u: np.ndarray, pos: np.ndarray) -> tuple[int, int] | None:
        """Cap and re-calibrate ``w`` in place until both hold: (cycles, units capped), or None."""
        for cycle in range(1, max_cycles + 1):
            wa = np.clip(w[act], lo_u, hi_u)
            fixed = ((wa <= lo_u) | (wa >= hi_u)) & pos
            target = problem.T - Xu[fixed].T @ wa[fixed]
            free = ~fixed
            if not free.any():
                return None
            g, _, _, rel = _newton(Xu[free], wa[free], target, method, -np.inf, np.inf, 100, tol)
            wa[free] = wa[free] * g
            w[act] = wa
            if np.all((wa >= lo_u - 1e-9 * np.abs(lo_u)) & (wa <= hi_u + 1e-9 * np.abs(hi_u))) and rel < tol * 10:
                return cycle, int(fixed.sum())
        return None

    def solve(des: Design) -> tuple[np.ndarray, dict]:
        # a replicate's unit bounded at its replicate factor times the bounds (1 for the sample itself)
        scale = np.divide(des.weights[act], full, out=np.zeros(len(full)), where=full > 0)
        pos = scale > 0
        replicate = bool(np.any(scale[pos] != 1))
        lo_u, hi_u = np.zeros(len(full)), np.zeros(len(full))          # a unit out of the replicate stays at 0
        for attempt in range(WIDEN_TRIES + 1 if replicate else 1):
            widen = WIDEN_STEP ** attempt
            lo_u[pos], hi_u[pos] = lo * scale[pos] / widen, hi * scale[pos] * widen
            w = des.weights.copy()
            done = cycles(w, lo_u, hi_u, pos)
            if done is not None:
                info = {"cycles": done[0], "trimmed": done[1]}
                if attempt:
                    info["widened_bounds"] = (lo / widen, hi * widen)
                return w, info
        lo_u[pos], hi_u[pos] = lo * scale[pos], hi * scale[pos]
        where = " in a replicate, even with its bounds widened" if replicate else ""
        raise CalibrationError(f"trimming to [{lo:.6g}, {hi:.6g}]{where}: capping and re-calibrating "
                               f"({max_cycles} cycles) found no weights within the bounds that meet every margin"
                               + "".join(f"\n  {m}" for m in _unreachable(problem, Xu, lo_u, hi_u))
                               + "\n  widen the bounds, or use bounded calibration (method='logit')")

    w, info = solve(design)
    step = Step(kind="trimming", label=label or "écrêtage et recalage", apply=solve, info=info)
    return design.with_weights(w, step)
