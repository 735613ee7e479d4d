"""The simulator's draws from its uniforms: categories by inverse cumulative sums, the top choices of each row,
categories of drawn indices, and the streams that draw for every unit but keep the respondents' rows."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ...pipeline.errors import ParameterError


def _categorical_draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from each row of ``probs`` with the uniforms ``u`` (inverse CDF)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (u[:, None] > cum).sum(axis=1)


def _categorical_draw_by(table: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``_categorical_draw(table[row], u)`` with the cumulative sums taken once per row of ``table`` (a few distinct
    distributions) instead of once per unit: the same sums, as each row's are added in the same order. The comparisons
    are counted one category at a time (the same comparisons, whatever the sums hold), without the units × categories
    matrices of the sums taken at each unit and of the comparisons (about 1 ms of each validation replication)."""
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = 1.0
    out = np.zeros(len(u), dtype=np.int64)
    for j in range(cum.shape[1]):
        out += u > cum[:, j][row]
    return out


def _top_stable(scores: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-scores, axis=1, kind="stable")[:, :k]`` without sorting whole rows: the ``k`` best
    columns of each row, best first, ties in column order — each the first largest (``argmax``) of the columns
    not taken yet; rows where a column taken is not above -inf (a NaN, or fewer than ``k`` possible options) are
    sorted in full."""
    if scores.shape[1] <= k:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    left = scores.copy()
    at = np.arange(len(scores))
    top = np.empty((len(scores), k), dtype=np.intp)
    fine = np.ones(len(scores), dtype=bool)
    for r in range(k):
        top[:, r] = left.argmax(axis=1)
        fine &= left[at, top[:, r]] > -np.inf
        left[at, top[:, r]] = -np.inf
    odd = ~fine
    if odd.any():
        top[odd] = np.argsort(-scores[odd], axis=1, kind="stable")[:, :k]
    return top


def _drawn_categories(keys: Sequence[str], idx: np.ndarray) -> pd.Categorical:
    """``pd.Categorical`` of ``keys[idx]`` built from the drawn indices: the categories are the keys drawn,
    sorted, as pandas infers them from the values (without writing one string per person)."""
    keys = np.asarray(keys, dtype=object)
    present = np.flatnonzero(np.bincount(idx, minlength=len(keys)))     # np.unique(idx), counted
    order = present[np.argsort(keys[present], kind="stable")]
    code = np.zeros(len(keys), dtype=np.int64)
    code[order] = np.arange(len(order))
    return pd.Categorical.from_codes(code[idx], categories=pd.Index(keys[order], dtype=object))


class _Rows:
    """A stream that draws for all ``n`` persons, as a simulation of all of them would, and returns the
    draws of ``rows`` only: ``random(m)``, with ``m = len(rows)``, draws ``n`` values and keeps the rows'."""

    def __init__(self, stream: Any, n: int, rows: np.ndarray):
        self.stream, self.n, self.rows = stream, n, rows

    def _all(self, size) -> tuple[int, ...]:
        shape = (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)
        if shape[0] != len(self.rows):     # pragma: no cover - the simulator draws one row per person
            raise ParameterError(f"a draw for {len(self.rows)} persons got size {size!r}")
        return (self.n, *shape[1:])

    def random(self, size) -> np.ndarray:
        return self.stream.random(self._all(size))[self.rows]

    def standard_normal(self, size) -> np.ndarray:
        return self.stream.standard_normal(self._all(size))[self.rows]

    def gumbel(self, loc: float = 0.0, scale: float = 1.0, size=None) -> np.ndarray:
        # numpy's Gumbel is loc − scale·log(−log(1 − U)) of one uniform U per value (redrawn when U = 0):
        # the same uniforms, transformed for the rows only. numpy's vectorised log can differ from the C
        # library's in the last bit (~0.4 % of keys); the options chosen differ only on a tie within 1 ulp
        state = self.stream.bit_generator.state
        u = self.stream.random(self._all(size))
        if not u.all():                    # pragma: no cover - a uniform exactly 0 (2⁻⁵³): numpy redraws it
            self.stream.bit_generator.state = state
            return self.stream.gumbel(loc, scale, size=self._all(size))[self.rows]
        return loc - scale * np.log(-np.log(1.0 - u[self.rows]))
