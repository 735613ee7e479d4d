"""Sample selection: allocation, inclusion probabilities, systematic PPS and stratified SRSWOR.

The algorithms are generic (arrays in, arrays out); ``draw_resident_sample`` applies them to the
resident frame (STUDY §3): communes drawn with probability proportional to size within
department × size-class strata, then a fixed take of invitations per selected commune.

References
----------
Tillé, Y. (2006). *Sampling Algorithms*. Springer. (inclusion probabilities, systematic PPS)
Kish, L. (1965). *Survey Sampling*, §7.5: self-representing (certainty) units in PPS designs.
Tillé, Y. and Matei, A. R package ``sampling``: ``inclusionprobabilities``, ``UPsystematic``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError, SamplingError

ALLOCATION_RULES = ("proportional", "sqrt", "equal")


def inclusion_probabilities(size: Sequence[float] | np.ndarray, n: float) -> np.ndarray:
    """First-order inclusion probabilities proportional to ``size`` for a sample of ``n`` units.

    Units whose probability would exceed 1 are taken with certainty (π = 1) and the remaining
    ``n - #certain`` are spread over the other units in proportion to size, repeatedly, until
    every π ≤ 1. Units of size 0 get π = 0.

    Parameters
    ----------
    size : array of non-negative measures of size.
    n : expected sample size, ``0 <= n <= number of units with positive size``.

    Returns
    -------
    numpy.ndarray of π, summing to ``n``.

    Notes
    -----
    Same algorithm and results as R ``sampling::inclusionprobabilities(a, n)`` (checked against
    a fixture in ``tests/reference/``), except that negative sizes raise instead of being
    shifted to zero.
    """
    a = np.asarray(size, dtype=float)
    if a.ndim != 1:
        raise ValueError("size must be one-dimensional")
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        bad = int(np.flatnonzero(~np.isfinite(a) | (a < 0))[0])
        raise SamplingError(f"measure of size must be finite and non-negative; unit {bad} has {a[bad]!r}")
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
    """Integer allocation of ``total`` proportional to ``weight``, within [minimum, capacity].

    Strata whose proportional share falls below their minimum (or above their capacity) are fixed
    there and the rest is shared again among the others, until all bounds hold; the shares are then
    rounded by largest remainder (ties broken by order), so the result sums exactly to ``total``.

    Raises
    ------
    SamplingError
        If the minimums exceed ``total`` or the capacities cannot absorb it.
    """
    w = np.asarray(weight, dtype=float)
    k = len(w)
    lo = np.broadcast_to(np.asarray(minimum, dtype=float), (k,)).copy()
    hi = np.full(k, np.inf) if capacity is None else np.asarray(capacity, dtype=float).copy()
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise SamplingError("allocation weights must be finite and non-negative")
    lo = np.minimum(lo, hi)
    if lo.sum() > total:
        raise SamplingError(f"the minimum per stratum needs {int(lo.sum())} units in all, more than "
                            f"the {total} to allocate")
    if hi.sum() < total:
        raise SamplingError(f"only {hi.sum():g} units can be allocated in all strata together, "
                            f"fewer than the {total} requested")
    fixed = np.zeros(k, dtype=bool)
    share = np.zeros(k)
    while True:
        free = ~fixed
        remaining = total - share[fixed].sum()
        wf = w[free]
        share[free] = remaining * wf / wf.sum() if wf.sum() > 0 else remaining / free.sum()
        below = free & (share < lo)
        above = free & (share > hi)
        if not below.any() and not above.any():
            break
        share[below] = lo[below]
        share[above] = hi[above]
        fixed |= below | above
    out = np.floor(share + 1e-9).astype(int)
    short = int(round(total - out.sum()))
    if short > 0:
        room = out + 1 <= hi + 1e-9
        rema = np.where(room, share - out, -np.inf)
        order = np.lexsort((np.arange(k), -rema))
        out[order[:short]] += 1
    return out


def systematic_pps(pik: Sequence[float] | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic πps selection in the given order; returns a boolean mask of selected units.

    One uniform start ``u`` in [0, 1); unit ``i`` is selected when an integer lies in the interval
    ``(C_{i-1} - u, C_i - u]`` of the cumulated probabilities. Every unit is selected with
    probability exactly π_i; units with π = 1 always are. The sample size is ``sum(pik)`` when that
    sum is an integer. Sorting the list beforehand (here by commune code) adds implicit
    geographic stratification.
    """
    p = np.asarray(pik, dtype=float)
    if np.any((p < 0) | (p > 1 + 1e-12)):
        raise SamplingError("inclusion probabilities must lie in [0, 1]")
    u = rng.uniform()
    cum = np.concatenate([[0.0], np.cumsum(p)])
    hits = np.floor(cum[1:] - u + 1e-12) - np.floor(cum[:-1] - u + 1e-12)
    return hits >= 1


def stratified_srswor(strata: Sequence[Any] | np.ndarray, sizes: Mapping[Any, int],
                      rng: np.random.Generator) -> np.ndarray:
    """Stratified simple random sampling without replacement; returns a boolean mask.

    ``sizes`` maps each stratum to its sample size; strata are processed in sorted order so the
    draw depends only on the data, the sizes and the generator.
    """
    s = np.asarray(strata)
    mask = np.zeros(len(s), dtype=bool)
    for h in sorted(sizes):
        idx = np.flatnonzero(s == h)
        n_h = int(sizes[h])
        if n_h > len(idx):
            raise SamplingError(f"stratum {h!r}: cannot draw {n_h} units from {len(idx)}")
        if n_h < 0:
            raise SamplingError(f"stratum {h!r}: sample size {n_h} is negative")
        mask[rng.choice(idx, size=n_h, replace=False)] = True
    return mask


# --------------------------------------------------------------------------------------------
# Resident design (STUDY §3)


@dataclass(frozen=True)
class ResidentDesign:
    """Parameters of the resident two-stage design.

    Attributes
    ----------
    invitations : total number of invitations (default 5,000).
    take : invitations per selected non-certainty commune (fixed take; self-weighting in stratum).
    allocation : rule sharing the PSUs among strata: ``proportional`` to population, ``sqrt``
        (to its square root) or ``equal``.
    min_psu : minimum number of communes drawn in a stratum that is not wholly taken with certainty.
    """

    invitations: int = 5000
    take: int = 20
    allocation: str = "proportional"
    min_psu: int = 2

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ResidentDesign":
        from .config import require

        d = cls(
            invitations=require(params, "invitations", int, minimum=1),
            take=require(params, "take_per_commune", int, minimum=1),
            allocation=require(params, "allocation", str),
            min_psu=require(params, "min_psu_per_stratum", int, minimum=1),
        )
        if d.allocation not in ALLOCATION_RULES:
            raise ParameterError(f"parameter 'allocation' must be one of {', '.join(ALLOCATION_RULES)}, "
                                 f"got {d.allocation!r}")
        if d.invitations % d.take:
            raise ParameterError(f"parameter 'invitations' ({d.invitations}) must be a multiple of "
                                 f"'take_per_commune' ({d.take}): the design allocates whole communes")
        return d


@dataclass(frozen=True)
class ResidentSample:
    """Result of the resident draw: strata table, communes with π, invitation slots with π."""

    strata: pd.DataFrame
    communes: pd.DataFrame
    slots: pd.DataFrame
    design: ResidentDesign
    notes: tuple[str, ...] = field(default_factory=tuple)


def _stratum_probabilities(size: np.ndarray, hits: int, take: int, min_psu: int,
                           label: str) -> tuple[np.ndarray, np.ndarray, int]:
    """π and take per commune in one stratum given its allocated ``hits`` (PSUs worth ``take``).

    A commune whose expected number of hits ``e_i = hits * N_i / N_h`` reaches 1 is
    self-representing (π = 1) and receives ``take * e_i`` invitations, i.e. the stratum rate.
    The remaining hits, rounded, are drawn PPS among the other communes with R-style iterative
    capping; any commune capped there also becomes self-representing, and the split is recomputed
    until no π reaches 1. Returns (π, take, PSUs drawn among non-certainty communes).
    """
    e = hits * size / size.sum()
    certain = e >= 1
    while True:
        rest = ~certain
        n_rest = int(rest.sum())
        k = int(np.floor(hits - e[certain].sum() + 0.5)) if n_rest else 0
        if n_rest == 1:
            certain |= rest
            continue
        if n_rest >= 2:
            if n_rest < min_psu:
                raise SamplingError(
                    f"stratum {label}: {n_rest} communes left after the self-representing ones, "
                    f"fewer than min_psu_per_stratum={min_psu}; lower min_psu_per_stratum or merge "
                    "this size class with its neighbour")
            k = min(max(k, min_psu), n_rest)
        pi = np.ones_like(size)
        if n_rest:
            pi[rest] = inclusion_probabilities(size[rest], k)
            newly = rest & (pi >= 1 - 1e-12)
            if newly.any() and k < n_rest:
                certain |= newly
                continue
        break
    takes = np.where(certain, np.maximum(1, np.floor(take * e + 0.5)), take).astype(int)
    return pi, takes, k if n_rest else 0


def draw_resident_sample(frame: pd.DataFrame, design: ResidentDesign,
                         rng: np.random.Generator) -> ResidentSample:
    """Draw the resident sample from a commune frame (see :func:`portrait.frames.resident_frame`).

    Stage 1: PSU hits are allocated to strata (rule ``design.allocation``, at least
    ``design.min_psu`` per stratum), communes are drawn by systematic πps in commune-code order
    within each stratum, self-representing communes being found iteratively.
    Stage 2: ``design.take`` invitation slots per selected commune (``take * e_i`` for
    self-representing ones), capped at the commune's estimated population aged 15+.
    """
    need = {"code", "nom", "departement", "population", "pop15", "size_class", "stratum"}
    missing = need - set(frame.columns)
    if missing:
        raise ParameterError(f"the frame lacks column(s) {sorted(missing)}")
    total_pop15 = int(frame["pop15"].sum())
    if design.invitations > total_pop15:
        raise SamplingError(f"{design.invitations} invitations requested but the frame holds only "
                            f"{total_pop15} residents aged 15+")
    hits_total = design.invitations // design.take
    grouped = frame.groupby("stratum", sort=True, observed=True)
    st = grouped.agg(departement=("departement", "first"), size_class=("size_class", "first"),
                     communes=("code", "size"), population=("population", "sum"),
                     pop15=("pop15", "sum")).reset_index()
    if hits_total < len(st):
        raise SamplingError(f"{design.invitations} invitations of {design.take} make {hits_total} "
                            f"commune draws, fewer than the {len(st)} strata")
    weight = {"proportional": st["population"].to_numpy(float),
              "sqrt": np.sqrt(st["population"].to_numpy(float)),
              "equal": np.ones(len(st))}[design.allocation]
    st["hits"] = allocate(weight, hits_total, minimum=np.minimum(design.min_psu, st["communes"]))

    parts = []
    for row in st.itertuples(index=False):
        c = frame.loc[frame["stratum"] == row.stratum].sort_values("code").copy()
        pi, takes, k = _stratum_probabilities(c["population"].to_numpy(float), int(row.hits),
                                              design.take, design.min_psu, str(row.stratum))
        c["pi"] = pi
        c["certainty"] = pi >= 1 - 1e-12
        c["take"] = np.minimum(takes, c["pop15"].to_numpy())
        c["psu_drawn"] = k
        c["selected"] = systematic_pps(pi, rng)
        parts.append(c)
    allc = pd.concat(parts, ignore_index=True)
    st = st.merge(allc.groupby("stratum").agg(
        certainty_communes=("certainty", "sum"),
        psu_drawn=("psu_drawn", "first"),
        pi_sum=("pi", "sum"),
        selected_communes=("selected", "sum"),
        invitations=("take", lambda t: int(t[allc.loc[t.index, "selected"]].sum())),
    ).reset_index(), on="stratum")
    st["expected_invitations"] = allc.assign(x=allc["pi"] * allc["take"]).groupby("stratum")["x"].sum().to_numpy()
    st["sampling_rate"] = st["invitations"] / st["pop15"]

    sel = allc.loc[allc["selected"]].copy()
    sel["pi_within"] = sel["take"] / sel["pop15"]
    sel["pi_overall"] = sel["pi"] * sel["pi_within"]
    sel["design_weight"] = 1.0 / sel["pi_overall"]
    sel = sel.drop(columns=["selected"]).reset_index(drop=True)
    slots = sel.loc[sel.index.repeat(sel["take"])].copy()
    slots["slot"] = slots.groupby("code").cumcount() + 1
    slots["slot_id"] = slots["code"] + "-" + slots["slot"].astype(str).str.zfill(4)
    slots = slots[["slot_id", "code", "nom", "departement", "size_class", "stratum", "pi",
                   "pi_within", "pi_overall", "design_weight"]].reset_index(drop=True)
    communes = allc.drop(columns=["psu_drawn"]).reset_index(drop=True)
    return ResidentSample(strata=st, communes=communes, slots=slots, design=design)


STRATA_LABELS_FR = {
    "stratum": "Strate", "departement": "Département", "size_class": "Taille de commune",
    "communes": "Communes", "population": "Population légale", "pop15": "Population 15 ans ou plus (est.)",
    "hits": "Tirages alloués", "certainty_communes": "Communes certaines", "psu_drawn": "Communes tirées PPS",
    "selected_communes": "Communes retenues", "invitations": "Invitations",
    "sampling_rate": "Taux de sondage (‰)",
}


def strata_table_fr(strata: pd.DataFrame) -> pd.DataFrame:
    """The strata table of a resident sample with French column names, for the reports."""
    t = strata[list(STRATA_LABELS_FR)].copy()
    t["sampling_rate"] = (t["sampling_rate"] * 1000).round(3)
    return t.rename(columns=STRATA_LABELS_FR)
