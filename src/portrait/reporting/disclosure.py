"""Statistical disclosure control of tables of counts: primary and complementary suppression, and an audit.

A cell computed on fewer respondents than a threshold is *sensitive* and suppressed (primary
suppression). Suppressing it alone is not enough when the table's totals are public: in a line
(row or column) with a single suppressed cell, that cell is the line's total minus the visible
cells. Complementary suppression therefore hides more cells until, in every line that holds a
suppressed cell, at least two are suppressed and the suppressed cells together hold at least
``threshold`` respondents — so that nothing says which of them is small. Cells are added
smallest first, the usual heuristic (Hundepool et al. 2012, §5.2); every table is then checked by
:func:`audit`, which solves the linear programs an intruder would: for each suppressed cell, the
smallest and largest counts compatible with the visible cells and every row and column total.

The whole grid is always shown (a combination with no respondent is a suppressed cell, not an
absent row, which would reveal a zero).

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer, K.
and de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. (§4.2 threshold rule; §5.2
secondary cell suppression; §5.3 audit by linear programming)
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def protect(counts: pd.DataFrame | np.ndarray, threshold: int) -> np.ndarray:
    """Cells to suppress (boolean array, same shape) in a table of counts whose totals are public.

    Primary: counts below ``threshold`` (zero included). Complementary, repeated until stable: in
    a row or column holding suppressed cells, while fewer than two are suppressed or they hold
    fewer than ``threshold`` respondents, the smallest visible cell of that line is suppressed too.
    A 1-row table is a single line whose total is public.
    """
    n = np.atleast_2d(np.asarray(counts, dtype=float))
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
    return s.reshape(np.shape(counts)) if np.ndim(counts) == 1 else s


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


def suppression(counts: pd.DataFrame | np.ndarray, threshold: int) -> np.ndarray:
    """The cells to suppress for publication: :func:`protect`, then, should the audit still find a cell
    it can pin down or tell small, the whole row and column of that cell too, until the audit passes."""
    s = np.atleast_2d(protect(counts, threshold))
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    while True:
        bad = unprotected(n, s, threshold)
        if bad.empty or s.all():
            break
        for r in bad.itertuples():
            s[r.row, :] = True
            if n.shape[0] > 1:
                s[:, r.col] = True
    return s.reshape(np.shape(counts))
