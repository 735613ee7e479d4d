"""Trimming: weights capped at bounds, then re-calibrated (:func:`trim`) or shared out as R does (:func:`trim_weights`).

:func:`trim` caps the weights and re-calibrates the others, alternately, until bounds and margins both
hold. :func:`trim_weights` is R ``survey::trimWeights``: the weights outside the bounds are set to them
and the net trimmed weight is shared equally among the others, margins left as they fall. Prefer bounded
calibration (:func:`portrait.survey.calibrate` with ``method='logit'``), which satisfies bounds on ``g``
and the margins at once; trimming is for fixed bounds on the weights themselves.
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
        If neither ``lower`` nor ``upper`` is given, or a bound is not a finite number.
    CalibrationError
        If bounds and margins cannot both hold after ``max_cycles``, or the margins are bad.

    See Also
    --------
    calibrate : Bounded calibration (``logit``) bounds ``g = w/d`` and meets the margins at once.
    trim_weights : R ``trimWeights``: cap and share the cut weight equally, without re-calibrating.

    References
    ----------
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proceedings of the Section on Survey Research Methods*, American Statistical Association, 225–230.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting
    Survey Samples*, 2nd ed. Springer. (weight trimming)
    """
    if lower is None and upper is None:
        raise ParameterError("give lower= and/or upper= bounds on the weights")
    lo = -np.inf if lower is None else _bound(lower, "lower")
    hi = np.inf if upper is None else _bound(upper, "upper")
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


#: Most passes of ``trim_weights(strict=True)``, which repeats R's pass until no weight is outside the bounds
#: (the excess shrinks geometrically: 60 passes on the api data)
STRICT_PASSES = 10_000


def _bound(value: object, name: str) -> float:
    """A bound as a finite float, or a ParameterError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number (a weight), got {value!r}")
    if not np.isfinite(float(value)):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return float(value)


def _bounds_text(lo: float, hi: float) -> str:
    return " and ".join(f"{name} {x:.6g}" for name, x in (("lower", lo), ("upper", hi)) if np.isfinite(x))


def _trim_pass(w: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, int]:
    """One pass of R ``trimWeights.survey.design2`` on the weights ``w``: (new weights, number outside).

    The weights outside ``[lo, hi]`` are set to the bound they cross; the sum of what was cut (less what was
    added at the lower bound) is added in equal shares to every weight that was inside, bounds included.
    """
    outside = (w < lo) | (w > hi)
    k = int(np.count_nonzero(outside))
    if k == 0 or k == len(w):
        return w, k
    new = np.minimum(np.maximum(w, lo), hi)
    new[~outside] += float(np.sum(w[outside] - new[outside])) / (len(w) - k)
    return new, k


def _trim_rule(weights: np.ndarray, lo: float, hi: float, strict: bool, where: str) -> tuple[np.ndarray, dict]:
    """R's trimWeights (one pass, or passes until none is outside) on the positive ``weights``; the step's info."""
    out = np.array(weights, dtype=float)
    pos = out > 0
    w = out[pos]
    m, total = len(w), float(w.sum())
    if strict and m and not m * lo <= total <= m * hi:
        bound = hi if total > m * hi else lo
        raise ParameterError(
            f"trim_weights(strict=True){where}: the {m} weights total {total:.6g}, "
            f"{'more' if bound == hi else 'less'} than {m} × {bound:.6g} = {m * bound:.6g}, so no redistribution can "
            f"bring every weight within {_bounds_text(lo, hi)} (R's trimWeights recurses without end); "
            "widen the bound or use strict=False")
    passes, trimmed = 0, None
    while True:
        new, k = _trim_pass(w, lo, hi)
        trimmed = k if trimmed is None else trimmed
        if k == 0:
            break
        if k == m:
            raise ParameterError(f"trim_weights{where}: all {m} weights lie outside {_bounds_text(lo, hi)}, so there "
                                 "is no weight inside to take the trimmed weight (R's trimWeights would set them all "
                                 "to the bounds and change their total); widen the bounds")
        w, passes = new, passes + 1
        if not strict:
            break
        if passes == STRICT_PASSES:
            raise ParameterError(f"trim_weights(strict=True){where}: weights still outside {_bounds_text(lo, hi)} "
                                 f"after {STRICT_PASSES} passes; widen the bounds or use strict=False")
    out[pos] = w
    return out, {"lower": lo if np.isfinite(lo) else None, "upper": hi if np.isfinite(hi) else None,
                 "strict": strict, "trimmed": trimmed, "passes": passes}


def trim_weights(design: Design, *, lower: float | None = None, upper: float | None = None,
                 strict: bool = False, label: str | None = None) -> Design:
    """Trim weights to ``[lower, upper]`` and share the trimmed weight among the others, as R ``trimWeights``.

    R ``survey::trimWeights`` (survey 4.1), exactly: every weight below ``lower`` or above ``upper`` is set
    to that bound, and the net weight cut (what the upper bound removed less what the lower bound added)
    is added in equal shares, the same amount to each, to every weight that was inside the bounds; the
    total weight is unchanged. No re-calibration: margins are left as they fall (see :func:`trim`). Shares
    can push a weight past a bound; ``strict=True`` repeats the pass until none is outside (R recurses;
    a weight already at a bound is inside and takes its share, so this converges geometrically).

    Variance, as R's: the trimmed weights are treated as fixed (R sets the design's ``prob``). A
    calibration before the trimming is kept (R keeps its ``postStrata``): the linearised variance takes
    the calibration's residuals of the trimmed influence values with the calibration's own weights, as
    ``svyrecvar`` does with the ``g·d`` it stored. The step is recorded (kind ``"trim_weights"``, ``d`` its
    input weights), so replicate weights re-run it: each replicate's weights are trimmed by the same rule
    with the same bounds, as R's ``trimWeights.svyrep.design`` means to trim each replicate's column;
    ready-made replicate weights (:func:`with_replicate_weights`) are trimmed column by column here. That
    R method itself (survey 4.1.1) leaves the full-sample weights untrimmed (it sets ``prob``, which a
    replicate design does not use) and misplaces the shares (a vector recycled over the matrix), so the
    engine follows the rule it means, which R's own ``trimWeights`` gives column by column. Units of
    weight 0 (non-respondents; in a replicate, units of a dropped PSU) take no part. A weighted-design
    file (:func:`write_design`) keeps calibration steps only: read back, a design calibrated then trimmed
    scales its calibration residuals by the trimmed weights, no longer exactly R's linearised variance.

    Parameters
    ----------
    design : Design
        The design whose current weights are trimmed (calibrated or not).
    lower : float, optional
        Smallest weight allowed (a weight, finite and non-negative); default: none.
    upper : float, optional
        Largest weight allowed (a weight, finite, above ``lower``); default: none. At least one bound.
    strict : bool, default False
        Repeat the pass until every weight lies within the bounds (R ``strict=TRUE``); the bounds must then
        be reachable (``n × lower ≤ total ≤ n × upper``).
    label : str, optional
        Label of the step in the design's history (default ``"écrêtage (trimWeights)"``).

    Returns
    -------
    Design
        A new design with the trimmed weights and one more :class:`Step` (kind ``"trim_weights"``, ``info``
        a dict with the bounds, ``strict``, the number of weights ``trimmed`` by the first pass and the
        number of ``passes``).

    Raises
    ------
    ParameterError
        If no bound is given, a bound is not a finite number, ``lower`` is negative or not below ``upper``,
        ``strict`` is not a bool, the design is a subset (R would share the trimmed weight with the units
        outside it: trim first), every weight lies outside the bounds (nothing to share with), or, with
        ``strict=True``, the total cannot fit within ``n`` bounded weights (R recurses without end).

    See Also
    --------
    trim : Cap and re-calibrate, so that the margins still hold.
    calibrate : Bounded calibration (``logit``) bounds ``g = w/d`` and meets the margins at once.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
    R package survey, ``trimWeights`` (T. Lumley), version 4.1.
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proceedings of the Section on Survey Research Methods*, American Statistical Association, 225–230.
    """
    if lower is None and upper is None:
        raise ParameterError("give lower= and/or upper= bounds on the weights")
    lo = -np.inf if lower is None else _bound(lower, "lower")
    hi = np.inf if upper is None else _bound(upper, "upper")
    if lower is not None and lo < 0:
        raise ParameterError(f"lower must be non-negative (a weight), got {lower!r}")
    if hi <= 0:
        raise ParameterError(f"upper must be positive (a weight), got {upper!r}")
    if lo >= hi:
        raise ParameterError(f"lower ({lower!r}) must be below upper ({upper!r})")
    if not isinstance(strict, (bool, np.bool_)):
        raise ParameterError(f"strict must be True or False, got {strict!r}")
    strict = bool(strict)
    if any(s.kind == "subset" for s in design.steps):
        raise ParameterError("trim_weights on a subset: R's trimWeights would share the trimmed weight with the "
                             "units outside it (weight 0); trim the whole sample, then take the subset")

    def solve(des: Design) -> tuple[np.ndarray, dict]:
        return _trim_rule(des.weights, lo, hi, strict, " in a replicate (the recipe re-run on its weights)")

    w, info = _trim_rule(design.weights, lo, hi, strict, "")
    step = Step(kind="trim_weights", label=label or "écrêtage (trimWeights)", apply=solve, info=info,
                d=design.weights.copy())
    return design.with_weights(w, step)
