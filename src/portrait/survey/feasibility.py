"""When calibration cannot give what was asked: bounds that no weights can hold, and negative weights.

``problem`` is the calibration's table of cells (:func:`portrait.survey.calibration._build`): the cells'
auxiliaries ``X`` and targets ``T`` (independent constraints), all constraints ``X_all``/``T_all`` with
their names, and each unit's cell. Linear programs (``scipy.optimize.linprog``, HiGHS) find what the
user needs to know: the margin that cannot be reached within the bounds and the tightest bounds that
would do (:func:`diagnose_infeasible`); for a replicate, the bounds it is calibrated with instead of being
dropped (:func:`widened_bounds`).
"""

from __future__ import annotations

import numpy as np


def _bounds_lp(A: np.ndarray, T: np.ndarray, objective, l_range=(0, None), u_range=(0, None)
               ) -> tuple[float, float] | None:
    """Bounds ``(l, u)`` minimising ``objective · (l, u)`` over the ``g ≥ 0`` with ``l ≤ g ≤ u`` and ``A g = T``
    (a linear program; ``l`` and ``u`` kept within ``l_range`` and ``u_range``); ``None`` if none exists."""
    from scipy.optimize import linprog

    p, k = A.shape
    c = np.concatenate([np.zeros(k), objective])
    A_ub = np.vstack([np.hstack([np.eye(k), np.zeros((k, 1)), -np.ones((k, 1))]),   # g − u ≤ 0
                      np.hstack([-np.eye(k), np.ones((k, 1)), np.zeros((k, 1))])])  # l − g ≤ 0
    r = linprog(c, A_ub=A_ub, b_ub=np.zeros(2 * k), A_eq=np.hstack([A, np.zeros((p, 2))]), b_eq=T,
                bounds=[(0, None)] * k + [l_range, u_range], method="highs")
    return (float(r.x[-2]), float(r.x[-1])) if r.status == 0 else None


def diagnose_infeasible(problem, dc: np.ndarray, L: float, U: float) -> str:
    """Name the unreachable margin(s) and the tightest feasible bounds (linear programs)."""
    from scipy.optimize import linprog

    A = (problem.X * dc[:, None]).T
    T = problem.T
    p, k = A.shape
    lo = L if np.isfinite(L) else 0.0
    hi = U if np.isfinite(U) else None
    w = 1.0 / (1.0 + np.abs(T))
    # phase 1: least weighted absolute misfit within the bounds
    c = np.concatenate([np.zeros(k), w, w])
    A_eq = np.hstack([A, np.eye(p), -np.eye(p)])
    res = linprog(c, A_eq=A_eq, b_eq=T, bounds=[(lo, hi)] * k + [(0, None)] * (2 * p), method="highs")
    parts = []
    if res.status == 0:
        s = res.x[k:k + p] - res.x[k + p:]
        bad = np.flatnonzero(np.abs(s) > 1e-7 * (1 + np.abs(T)))
        for i in bad[:5]:
            margin, level = problem.names[i]
            reach = T[i] - s[i]
            parts.append(f"margin {margin!r} level {level!r}: target {T[i]:,.1f}, at best {reach:,.1f} "
                         f"within g in [{L:g}, {U:g}]")
    u_min = _bounds_lp(A, T, [0.0, 1.0])
    l_max = _bounds_lp(A, T, [-1.0, 0.0])
    width = _bounds_lp(A, T, [-1.0, 1.0])
    if width is None:
        return (("; ".join(parts) + ". ") if parts else "") + \
            "No bounds make it feasible: a margin level needs units the sample lacks"
    tight = [f"the upper bound must be at least {u_min[1]:.4g}" if u_min else "",
             f"the lower bound must be at most {l_max[0]:.4g}" if l_max else "",
             f"the narrowest feasible bounds are [{width[0] + 0.0:.4g}, {width[1]:.4g}] (widen them slightly for "
             "logit, whose g stays strictly inside)"]
    return ("; ".join(parts) or "no g within the bounds reproduces every margin") + \
        ". Tightest feasible bounds: " + "; ".join(t for t in tight if t)


WIDEN_MARGIN = 0.1


def widened_bounds(problem, dc: np.ndarray, L: float, U: float) -> tuple[float, float] | None:
    """Bounds for a replicate that cannot be calibrated within ``[L, U]``: the narrowest ``[l, u] ⊇ [L, U]``
    (``l ≥ 0``) within which some ``g`` reproduces every margin (a linear program), each side that had
    to move pushed a further ``WIDEN_MARGIN`` of its distance to 1, so that a bounded-logit ``g``, which
    stays strictly inside its bounds, can reach it. ``None`` when no bounds do (a margin level without
    units in the replicate)."""
    found = _bounds_lp((problem.X * dc[:, None]).T, problem.T, [-1.0, 1.0], l_range=(0, max(L, 0.0)),
                       u_range=(U, None))
    if found is None:
        return None
    lo, hi = found
    lo = L if lo >= L - 1e-9 else max(0.0, lo - WIDEN_MARGIN * (1 - lo))
    hi = U if hi <= U + 1e-9 else hi + WIDEN_MARGIN * (hi - 1)
    return lo, hi


def negative_weights(problem, g: np.ndarray) -> str:
    """Which cells linear calibration gave negative weights, named by their margin levels."""
    cells = np.flatnonzero(g < 0)
    units = int(np.bincount(problem.cell_of, minlength=len(g))[cells].sum())
    named = []
    for c in cells[np.argsort(g[cells])][:5]:
        levels = [f"{m}={lv}" for (m, lv), x in zip(problem.names_all, problem.X_all[c]) if x == 1]
        named.append(f"{' × '.join(levels) or f'cell {c}'} (g = {g[c]:.3g})")
    return (f"linear calibration gives negative weights to {units} unit(s) in {len(cells)} cell(s): "
            + "; ".join(named) + ("; …" if len(cells) > 5 else "")
            + ". Use raking, or bounded calibration (method='logit', 'truncated' or 'raking' with bounds=(L, U)), "
              "or collapse the sparse levels; allow_negative=True keeps them, as R's survey does")


def empty_levels(problem, dc: np.ndarray) -> str:
    """Why an unbounded calibration cannot converge when no unit of positive weight holds a level whose population
    total is not 0 (a replicate without the only PSU of a post-stratum): the levels named; ``""`` otherwise."""
    held = problem.X_all.T @ dc
    empty = [f"{lv!r} of {m!r}" for (m, lv), h, t in zip(problem.names_all, held, problem.T_all) if h == 0 and t != 0]
    return (f"no unit of positive weight holds level {', '.join(empty)}, whose population total is not 0: no weights "
            "can reach it; merge that level with a neighbour") if empty else ""
