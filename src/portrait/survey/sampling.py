"""Sample selection: allocation, inclusion probabilities, systematic PPS and stratified SRSWOR.

The algorithms are generic (arrays in, arrays out) and know nothing of a study: a caller applies them to its own
frame (for instance: units drawn with probability proportional to size within strata, then a fixed take of persons
per selected unit).

References
----------
Tillé, Y. (2006). *Sampling Algorithms*. Springer. (inclusion probabilities, systematic PPS)
Kish, L. (1965). *Survey Sampling*, §7.5: self-representing (certainty) units in PPS designs.
Tillé, Y. and Matei, A. R package ``sampling``: ``inclusionprobabilities``, ``UPsystematic``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import SamplingError
from .labels import kept_for_arrow

ALLOCATION_RULES = ("proportional", "sqrt", "equal")


def inclusion_probabilities(size: Sequence[float] | np.ndarray, n: float) -> np.ndarray:
    """Compute first-order inclusion probabilities proportional to ``size`` for a sample of ``n`` units.

    Units whose probability would exceed 1 are taken with certainty (π = 1) and the remaining
    ``n - #certain`` are spread over the other units in proportion to size, repeatedly, until
    every π ≤ 1. Units of size 0 get π = 0.

    Parameters
    ----------
    size : array_like
        One-dimensional, non-negative measures of size.
    n : float
        Expected sample size, ``0 <= n <= number of units with positive size``.

    Returns
    -------
    numpy.ndarray
        The inclusion probabilities π, one per unit, summing to ``n``.

    Raises
    ------
    ValueError
        If ``size`` is not one-dimensional.
    SamplingError
        If a size is negative or not finite, or ``n`` is out of range.

    Notes
    -----
    Same algorithm and results as R ``sampling::inclusionprobabilities(a, n)`` (checked against
    a fixture in ``tests/reference/``), except that negative sizes raise instead of being
    shifted to zero.

    References
    ----------
    Tillé, Y. (2006). *Sampling Algorithms*. Springer.

    Examples
    --------
    >>> inclusion_probabilities([1, 1, 8], 2).tolist()
    [0.5, 0.5, 1.0]
    """
    a = np.asarray(size, dtype=float)
    if a.ndim != 1:
        raise ValueError("size must be one-dimensional")
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        bad = int(np.flatnonzero(~np.isfinite(a) | (a < 0))[0])
        raise SamplingError(f"measure of size must be finite and non-negative; unit {bad} (counting from 0) has "
                            f"{float(a[bad])}")
    positive = a > 0
    if n < 0 or n > positive.sum():
        raise SamplingError(f"cannot select {n} units among {int(positive.sum())} with a positive size")
    pik = np.zeros_like(a)
    if n == 0:
        return pik
    pik[positive] = n * a[positive] / a[positive].sum()
    certain = pik >= 1
    while True:
        rest = positive & ~certain
        pik[certain] = 1.0
        if rest.any():
            pik[rest] = (n - certain.sum()) * a[rest] / a[rest].sum()
        newly = rest & (pik >= 1)
        if not newly.any():
            break
        certain |= newly
    return pik


def allocate(weight: Sequence[float] | np.ndarray, total: int, *, minimum: int | Sequence[int] = 0,
             capacity: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Allocate ``total`` integer units proportionally to ``weight``, within [minimum, capacity].

    The shares are ``clip(λ·weight, minimum, capacity)`` with λ such that they sum to ``total`` (strata below
    their minimum or above their capacity held there, the others shared proportionally); they are then rounded
    by largest remainder among the strata with room (ties broken by order), so the result sums exactly to
    ``total`` and stays within its bounds. A capacity is read as whole units (7.5 holds 7).

    Parameters
    ----------
    weight : array_like
        Non-negative allocation weight of each stratum (its size, or square root of size…).
    total : int
        Units to allocate.
    minimum : int or sequence of int, default 0
        Smallest allocation of each stratum (capped by its capacity).
    capacity : array_like, optional
        Largest allocation of each stratum (default: unbounded).

    Returns
    -------
    numpy.ndarray
        Integer allocation per stratum, summing to ``total``.

    Raises
    ------
    SamplingError
        If weights are negative or not finite, the minimums exceed ``total`` or the capacities cannot
        absorb it.

    Examples
    --------
    >>> allocate([1, 1, 2], 8).tolist()
    [2, 2, 4]
    """
    w = np.asarray(weight, dtype=float)
    k = len(w)
    lo = np.broadcast_to(np.asarray(minimum, dtype=float), (k,)).copy()
    hi = np.full(k, np.inf) if capacity is None else np.floor(np.asarray(capacity, dtype=float) + 1e-9)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise SamplingError("allocation weights must be finite and non-negative")
    if np.any(np.isnan(hi)) or np.any(np.isnan(lo)):
        raise SamplingError("the minimums and capacities must be numbers")
    lo = np.minimum(lo, hi)
    if lo.sum() > total:
        raise SamplingError(f"the minimum per stratum needs {int(lo.sum())} units in all, more than "
                            f"the {total} to allocate")
    if hi.sum() < total:
        raise SamplingError(f"only {hi.sum():g} units can be allocated in all strata together, "
                            f"fewer than the {total} requested")
    share = _bounded_shares(w if w.sum() > 0 else np.ones(k), float(total), lo, hi)
    out = np.floor(share + 1e-9).astype(int)
    short = int(round(total - out.sum()))
    if short > 0:        # largest remainders among the strata with room; the shares sum to total, so there are enough
        room = out + 1 <= hi + 1e-9
        rema = np.where(room, share - out, -np.inf)
        order = np.lexsort((np.arange(k), -rema))
        out[order[:short]] += 1
    return out


def _bounded_shares(w: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The shares ``clip(λ w, lo, hi)`` that sum to ``total`` (Σ lo ≤ total ≤ Σ hi), λ found by bisection and the
    strata left free then given ``(total − fixed) w / Σ w`` exactly. An audit found the former loop, which fixed the
    strata below their minimum and above their capacity in one pass and never released them, breaking both bounds
    and the total ([7, 17, 4] for 36 units where [6, 16, 14] is the allocation)."""
    positive = w > 0
    if hi[positive].sum() + lo[~positive].sum() < total:    # strata of weight 0 must take what the others cannot
        share = np.where(positive, hi, lo)
        zero = ~positive
        share[zero] = _bounded_shares(np.ones(int(zero.sum())), total - hi[positive].sum(), lo[zero], hi[zero])
        return share

    def f(lam: float) -> float:
        return float(np.clip(lam * w, lo, hi).sum())

    top = 1.0
    while f(top) < total:
        top *= 2.0
    low = 0.0
    for _ in range(200):
        mid = (low + top) / 2
        if f(mid) < total:
            low = mid
        else:
            top = mid
    lam = top
    at_lo = lam * w <= lo * (1 + 1e-12)
    at_hi = ~at_lo & (lam * w >= hi * (1 - 1e-12))
    free = ~at_lo & ~at_hi
    share = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
    if free.any():
        share[free] = (total - share[~free].sum()) * w[free] / w[free].sum()
    return share


def systematic_pps(pik: Sequence[float] | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Select units by systematic πps sampling in the given order; return a boolean mask.

    One uniform start ``u`` in [0, 1); unit ``i`` is selected when an integer lies in the interval
    ``(C_{i-1} - u, C_i - u]`` of the cumulated probabilities. Every unit is selected with
    probability exactly π_i; units with π = 1 always are. The sample size is ``sum(pik)`` when that
    sum is an integer. Sorting the list beforehand (by a geographic code, say) adds implicit
    stratification. Same design as R ``sampling::UPsystematic``.

    Parameters
    ----------
    pik : array_like
        Inclusion probabilities in [0, 1], in the order of the list.
    rng : numpy.random.Generator
        Random generator (one uniform draw).

    Returns
    -------
    numpy.ndarray
        Boolean mask of the selected units.

    Raises
    ------
    SamplingError
        If a probability lies outside [0, 1].

    References
    ----------
    Tillé, Y. (2006). *Sampling Algorithms*. Springer.
    """
    p = np.asarray(pik, dtype=float)
    bad = np.flatnonzero(~((p >= 0) & (p <= 1 + 1e-12)))      # NaN included (an audit: it hid every later unit)
    if bad.size:
        raise SamplingError(f"inclusion probabilities must lie in [0, 1]; {bad.size} do not (missing or outside), the "
                            f"first at position {int(bad[0])} (counting from 0)")
    u = rng.uniform()
    cum = np.concatenate([[0.0], np.cumsum(p)])
    hits = np.floor(cum[1:] - u + 1e-12) - np.floor(cum[:-1] - u + 1e-12)
    return hits >= 1


def _stratum_units(s: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """The units of each stratum in frame order (``order[bounds[k]:bounds[k + 1]]`` for stratum ``k``) and each
    stratum's ``k``; kept for a text column held by pyarrow (:func:`portrait.survey.labels.kept_for_arrow`): a
    validation draws a sample from the same frame's strata in every replication (factorising its 54,000 texts took
    2 ms)."""
    return kept_for_arrow(s, "strata", _units_of_strata)


def _units_of_strata(s: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    codes, found = pd.factorize(s)                 # the units of each stratum, in frame order, found once
    small = np.int16 if len(found) < 1 << 15 else np.int64      # a stable sort of small integers is a radix sort
    order = np.argsort(codes.astype(small), kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(found) + 1))
    order.flags.writeable = bounds.flags.writeable = False
    return order, bounds, {h: k for k, h in enumerate(found)}


def stratified_srswor(strata: Sequence[Any] | np.ndarray, sizes: Mapping[Any, int],
                      rng: np.random.Generator) -> np.ndarray:
    """Draw a stratified simple random sample without replacement; return a boolean mask.

    ``sizes`` maps each stratum to its sample size; strata are processed in sorted order so the
    draw depends only on the data, the sizes and the generator. Strata absent from ``sizes`` are not
    sampled.

    Parameters
    ----------
    strata : array_like
        Stratum of each unit of the frame.
    sizes : mapping
        Sample size of each stratum.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the selected units.

    Raises
    ------
    SamplingError
        If a size is negative or larger than its stratum.
    """
    s = strata if isinstance(strata, pd.Series) else np.asarray(strata)   # a Series: no copy to Python objects
    mask = np.zeros(len(s), dtype=bool)
    order, bounds, where = _stratum_units(s)
    try:
        labels = sorted(sizes)
    except TypeError:
        raise SamplingError("the strata of sizes must be labels of one kind (all text or all numbers), to be drawn in "
                            f"a fixed order; got {sorted({type(h).__name__ for h in sizes})}") from None
    for h in labels:
        k = where.get(h)
        idx = order[bounds[k]:bounds[k + 1]] if k is not None else np.zeros(0, dtype=np.intp)
        n_h = int(sizes[h])
        if n_h > len(idx):
            raise SamplingError(f"stratum {h!r}: cannot draw {n_h} units from {len(idx)}")
        if n_h < 0:
            raise SamplingError(f"stratum {h!r}: sample size {n_h} is negative")
        mask[rng.choice(idx, size=n_h, replace=False)] = True
    return mask


