"""Statistical disclosure control of tables of counts: primary and complementary suppression, and an audit.

A cell computed on fewer respondents than a threshold is *sensitive* and suppressed (primary
suppression). Suppressing it alone is not enough when the table's totals are public: in a line
(row or column) with a single suppressed cell, that cell is the line's total minus the visible
cells. Complementary suppression therefore hides more cells so that, in every line that holds a
suppressed cell, at least two are suppressed and the suppressed cells together hold at least
``threshold`` respondents — so that nothing says which of them is small. Of the patterns that meet
this rule, the one hiding the fewest respondents is chosen, as a mixed-integer program (HiGHS,
through :func:`scipy.optimize.milp`; Hundepool et al. 2012, §5.2, where the smallest-first greedy
heuristic is the usual cheaper alternative). Every table is then checked by :func:`audit`, which
solves the linear programs an intruder would: for each suppressed cell, the smallest and largest
counts compatible with the visible cells and every row and column total; a pattern the audit
refuses is excluded and the next best one sought.

The whole grid is always shown (a combination with no respondent is a suppressed cell, not an
absent row, which would reveal a zero).

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer, K.
and de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. (§4.2 threshold rule; §5.2
secondary cell suppression; §5.3 audit by linear programming)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def _lines(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Every row and column of at least two cells (a line of one cell has no separate total)."""
    rows = [[(i, j) for j in range(shape[1])] for i in range(shape[0])]
    cols = [[(i, j) for i in range(shape[0])] for j in range(shape[1])]
    return [line for line in rows + cols if len(line) >= 2]


def protect(counts: pd.DataFrame | np.ndarray, threshold: int,
            exclude: Sequence[np.ndarray] = ()) -> np.ndarray | None:
    """Cells to suppress (boolean array, same shape) in a table of counts whose totals are public.

    Primary: counts below ``threshold`` (zero included). Complementary: the pattern that hides the
    fewest respondents (then the fewest cells) such that every row and column holding a suppressed
    cell holds at least two, together counting at least ``threshold`` respondents (or the whole
    line, when it counts fewer). A 1-row table is a single line whose total is public. ``exclude``:
    patterns not to return (see :func:`suppression`); None when no other pattern meets the rule.
    Solved exactly as a mixed-integer program; should the solver fail without ``exclude``, the
    smallest-first greedy heuristic is used instead.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = np.atleast_2d(np.asarray(counts, dtype=float))
    flat = n.ravel()
    size = flat.size
    index = np.arange(size).reshape(n.shape)
    rows, low = [], []
    for line in _lines(n.shape):
        cells = [index[c] for c in line]
        need = min(float(threshold), float(flat[cells].sum()))
        for c in cells:                     # s_c = 1 ⇒ at least two cells and ``need`` respondents in the line
            a = np.zeros(size)
            a[cells] = 1.0
            a[c] -= 2.0
            b = np.zeros(size)
            b[cells] = flat[cells]
            b[c] -= need
            rows += [a, b]
    for pattern in exclude:                 # at least one cell of the pattern flipped
        p = np.asarray(pattern, dtype=bool).ravel()
        rows.append(np.where(p, -1.0, 1.0))
        low.append(1.0 - p.sum())
    low = [0.0] * (len(rows) - len(low)) + low
    constraints = [LinearConstraint(np.array(rows), np.array(low), np.inf)] if rows else []
    primary = (flat < threshold).astype(float)
    result = milp(_costs(flat, primary > 0), integrality=np.ones(size), bounds=Bounds(primary, np.ones(size)),
                  constraints=constraints, options={"mip_rel_gap": 0.0})
    if result.status != 0 or result.x is None:
        if exclude:
            return None
        s = _greedy(n, threshold)
    else:
        s = (np.round(result.x) > 0).reshape(n.shape)
    return s.reshape(np.shape(counts)) if np.ndim(counts) == 1 else s


def _costs(flat: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Each cell's cost: its respondents, then one per cell; and, so that the solver's choice between
    equally costly patterns never depends on the machine, a tie-break making every pattern's cost
    distinct — the pattern whose complementary cells come first in reading order wins — in integers
    the solver compares exactly (tables too large for it, over 40 or so free cells, keep the ties)."""
    cost = flat * (flat.size + 1) + 1.0
    free = np.flatnonzero(~primary)
    if len(free) and cost.max() * flat.size * 2.0 ** len(free) < 2.0 ** 52:
        cost = cost * 2.0 ** len(free)
        cost[free] += 2.0 ** np.arange(len(free))
    return cost


def _greedy(n: np.ndarray, threshold: int) -> np.ndarray:
    """Smallest-first complementary suppression, repeated until stable: in a line holding suppressed
    cells, while fewer than two are suppressed or they hold fewer than ``threshold`` respondents, the
    smallest visible cell of that line is suppressed too."""
    s = n < threshold
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = n.shape[1] if axis == 0 else n.shape[0]
            for i in range(lines):
                cnt = n[:, i] if axis == 0 else n[i, :]
                sup = s[:, i] if axis == 0 else s[i, :]
                if len(cnt) < 2 or not sup.any():
                    continue
                if sup.sum() >= 2 and cnt[sup].sum() >= threshold:
                    continue
                visible = np.flatnonzero(~sup)
                if not len(visible):
                    continue
                j = visible[np.argmin(cnt[visible])]
                if axis == 0:
                    s[j, i] = True
                else:
                    s[i, j] = True
                changed = True
    return s


def audit(counts: pd.DataFrame | np.ndarray, suppressed: np.ndarray) -> pd.DataFrame:
    """What an intruder can derive about each suppressed cell from the visible cells and the totals.

    Solves, for each suppressed cell, min and max of its count subject to: every row total and
    every column total (taken as public), the visible cells, and counts ≥ 0. Returns one row per
    suppressed cell: its position (``row``, ``col``), ``true`` count, and the bounds ``low``,
    ``high``. (The constraint matrix is a transportation matrix, totally unimodular: the LP bounds
    are the integer bounds.)
    """
    from scipy.optimize import linprog

    n = np.atleast_2d(np.asarray(counts, dtype=float))
    s = np.atleast_2d(np.asarray(suppressed, dtype=bool))
    cells = list(zip(*np.nonzero(s)))
    if not cells:
        return pd.DataFrame(columns=["row", "col", "true", "low", "high"])
    idx = {c: k for k, c in enumerate(cells)}
    A, b = [], []
    for axis in (0, 1):
        for i in range(n.shape[1 - axis]):
            line = [(r, i) for r in range(n.shape[0])] if axis == 0 else [(i, c) for c in range(n.shape[1])]
            if len(line) < 2:        # a line of one cell: its total is the cell, not a separate figure
                continue
            row = np.zeros(len(cells))
            known = 0.0
            for cell in line:
                if cell in idx:
                    row[idx[cell]] = 1.0
                else:
                    known += n[cell]
            if row.any():
                A.append(row)
                b.append(sum(n[cell] for cell in line) - known)
    out = []
    for cell, k in idx.items():
        c = np.zeros(len(cells))
        c[k] = 1.0
        lo = linprog(c, A_eq=np.array(A), b_eq=np.array(b), bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=np.array(A), b_eq=np.array(b), bounds=(0, None), method="highs")
        out.append({"row": int(cell[0]), "col": int(cell[1]), "true": n[cell],
                    "low": float(lo.fun) if lo.status == 0 else np.nan,
                    "high": float(-hi.fun) if hi.status == 0 else np.inf})
    return pd.DataFrame(out)


def unprotected(counts: pd.DataFrame | np.ndarray, suppressed: np.ndarray, threshold: int) -> pd.DataFrame:
    """The suppressed cells an intruder could pin down or tell small: the audit's rows whose feasible
    range is narrower than the protection the table can give, or lies entirely below the threshold.

    The protection a cell can get is ``threshold``, or less when a public total of its row or column is
    itself smaller (a total of 3 tells every cell of its line is at most 3: no suppression in this table
    can hide that). Empty when the table is safe.
    """
    a = audit(counts, suppressed)
    if a.empty:
        return a
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    rows, cols = n.sum(axis=1), n.sum(axis=0)
    line = np.array([min(rows[r], cols[c]) if n.shape[0] > 1 else rows[r] for r, c in zip(a["row"], a["col"])])
    cap = np.minimum(threshold, line)
    return a.loc[(a["high"] - a["low"] < cap) | ((a["high"] < threshold) & (line >= threshold))]


def suppression(counts: pd.DataFrame | np.ndarray, threshold: int, attempts: int = 50) -> np.ndarray:
    """The cells to suppress for publication: :func:`protect`; should the audit find a cell it can pin
    down or tell small, that pattern is excluded and the next best sought (up to ``attempts`` patterns);
    failing that, the whole row and column of each such cell are suppressed too, until the audit passes."""
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    refused: list[np.ndarray] = []
    s = np.atleast_2d(protect(n, threshold))
    bad = unprotected(n, s, threshold)           # each pattern is audited once: its linear programs are the cost
    while not bad.empty and len(refused) < attempts:
        refused.append(s)
        found = protect(n, threshold, exclude=refused)
        s = refused[0] if found is None else np.atleast_2d(found)
        bad = unprotected(n, s, threshold)
        if found is None:
            break
    while not bad.empty and not s.all():
        s = s.copy()
        for r in bad.itertuples():
            s[r.row, :] = True
            if n.shape[0] > 1:
                s[:, r.col] = True
        bad = unprotected(n, s, threshold)
    return s.reshape(np.shape(counts))
