"""Sampling frames and the resident draw.

Residents (STUDY §3): the current communes of the five departments with their legal population,
classified by size and stratified by department × size class. The population aged 15+ of each
commune, which the commune file does not give, is estimated with its department's 15+ share from
the INSEE estimates of the study year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..pipeline import sources
from ..pipeline.config import require
from ..pipeline.errors import ParameterError, SamplingError
from ..survey import ALLOCATION_RULES, allocate, inclusion_probabilities, systematic_pps
from ..survey.labels import arrow_chunks


def size_class_labels(breaks: Sequence[int]) -> list[str]:
    """French labels of the size classes defined by increasing ``breaks`` (e.g. « 1 000 à 4 999 »)."""
    def fmt(x: int) -> str:
        return f"{x:,}".replace(",", "\u202f")

    labels = [f"moins de {fmt(breaks[0])}"]
    labels += [f"{fmt(a)} à {fmt(b - 1)}" for a, b in zip(breaks[:-1], breaks[1:])]
    labels.append(f"{fmt(breaks[-1])} et plus")
    return labels


def resident_frame(communes: pd.DataFrame, *, departments: Sequence[str], size_breaks: Sequence[int],
                   pop15_share: Mapping[str, float]) -> pd.DataFrame:
    """The resident frame: one row per commune, with size class, stratum and estimated 15+ population.

    Parameters
    ----------
    communes : output of :func:`portrait.pipeline.sources.read_communes`.
    departments : department codes in scope; an unknown code raises ``ParameterError``.
    size_breaks : increasing class breaks (default 1,000, 5,000, 20,000, 100,000).
    pop15_share : share of residents aged 15+ per department.
    """
    departments = [str(d) for d in departments]
    unknown = sorted(set(departments) - set(communes["departement"]))
    if unknown:
        raise ParameterError(f"parameter 'departments' holds unknown department code(s) {unknown}; "
                             f"the commune file has {sorted(communes['departement'].unique())}")
    breaks = [int(b) for b in size_breaks]
    if not breaks or any(b <= 0 for b in breaks) or breaks != sorted(set(breaks)):
        raise ParameterError(f"parameter 'size_breaks' must be strictly increasing positive "
                             f"integers, got {list(size_breaks)}")
    missing = sorted(set(departments) - set(pop15_share))
    if missing:
        raise ParameterError(f"no 15+ population share for department(s) {missing}")
    frame = communes.loc[communes["departement"].isin(departments)].copy()
    labels = size_class_labels(breaks)
    idx = np.searchsorted(np.asarray(breaks), frame["population"].to_numpy(), side="right")
    frame["size_class"] = pd.Categorical.from_codes(idx, categories=labels, ordered=True)
    frame["size_class_rank"] = idx + 1
    frame["stratum"] = frame["departement"] + "-" + frame["size_class_rank"].astype(str)
    share = frame["departement"].map(dict(pop15_share)).to_numpy(float)
    frame["pop15"] = np.floor(frame["population"].to_numpy(float) * share + 0.5).astype(int)
    return frame.sort_values(["stratum", "code"]).reset_index(drop=True)


def resident_frame_from_params(params: Mapping[str, Any]) -> pd.DataFrame:
    """Build the resident frame from ``data/raw`` with the notebook's parameters (every wrong one reported)."""
    from ..pipeline.config import every_problem

    with every_problem():
        year = require(params, "population_year", int)
        departments = require(params, "departments", list)
        breaks = require(params, "size_breaks", list)
    return resident_frame(sources.read_communes(), departments=departments, size_breaks=breaks,
                          pop15_share=sources.pop15_share(year).to_dict())


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
        from ..pipeline.config import every_problem, problem, require

        with every_problem():
            d = cls(
                invitations=require(params, "invitations", int, minimum=1),
                take=require(params, "take_per_commune", int, minimum=1),
                allocation=require(params, "allocation", str, choices=ALLOCATION_RULES),
                min_psu=require(params, "min_psu_per_stratum", int, minimum=1),
            )
            if d.invitations is not None and d.take is not None and d.invitations % d.take:
                problem(f"parameter 'invitations' ({d.invitations}) must be a multiple of "
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


@dataclass(frozen=True)
class ResidentPlan:
    """What the resident draw fixes before any random number: the strata with their allocated hits,
    and every commune (stratum by stratum, in commune-code order) with π, certainty and take.
    ``bounds[h]:bounds[h + 1]`` are the rows of stratum ``h`` in ``communes``."""

    strata: pd.DataFrame
    communes: pd.DataFrame
    bounds: np.ndarray


def resident_plan(frame: pd.DataFrame, design: ResidentDesign) -> ResidentPlan:
    """The deterministic part of :func:`draw_resident_sample` (allocation, π, takes), to reuse across draws."""
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
        parts.append(c)
    bounds = np.concatenate([[0], np.cumsum([len(c) for c in parts])])
    return ResidentPlan(st, pd.concat(parts, ignore_index=True), bounds)


def draw_resident_sample(frame: pd.DataFrame, design: ResidentDesign,
                         rng: np.random.Generator, plan: ResidentPlan | None = None) -> ResidentSample:
    """Draw the resident sample from a commune frame (see :func:`portrait.study.frames.resident_frame`).

    Stage 1: PSU hits are allocated to strata (rule ``design.allocation``, at least
    ``design.min_psu`` per stratum), communes are drawn by systematic πps in commune-code order
    within each stratum, self-representing communes being found iteratively.
    Stage 2: ``design.take`` invitation slots per selected commune (``take * e_i`` for
    self-representing ones), capped at the commune's estimated population aged 15+.
    ``plan`` is :func:`resident_plan` of the same frame and design, when already computed (repeated
    draws); the draw is the same with or without it.
    """
    if plan is None:
        plan = resident_plan(frame, design)
    selected = _selected_communes(plan, rng)
    pi = plan.communes["pi"].to_numpy(float)
    allc = plan.communes.assign(selected=selected)
    take = allc["take"].to_numpy()
    st = plan.strata.merge(allc.assign(invitations=np.where(selected, take, 0)).groupby("stratum").agg(
        certainty_communes=("certainty", "sum"),
        psu_drawn=("psu_drawn", "first"),
        pi_sum=("pi", "sum"),
        selected_communes=("selected", "sum"),
        invitations=("invitations", "sum"),
    ).reset_index(), on="stratum")
    st["expected_invitations"] = allc.assign(x=pi * take).groupby("stratum")["x"].sum().to_numpy()
    st["sampling_rate"] = st["invitations"] / st["pop15"]
    communes = allc.drop(columns=["psu_drawn"]).reset_index(drop=True)
    return ResidentSample(strata=st, communes=communes, slots=_slots(allc.loc[selected]), design=design)


def draw_resident_slots(frame: pd.DataFrame, design: ResidentDesign, rng: np.random.Generator,
                        plan: ResidentPlan | None = None) -> pd.DataFrame:
    """The invitation slots of :func:`draw_resident_sample` (the same draw), without its strata and communes
    tables: what a validation replication needs."""
    if plan is None:
        plan = resident_plan(frame, design)
    return _slots(plan.communes, np.flatnonzero(_selected_communes(plan, rng)))


def _selected_communes(plan: ResidentPlan, rng: np.random.Generator) -> np.ndarray:
    """Stage 1: which communes of the plan are drawn (systematic πps within each stratum)."""
    pi = plan.communes["pi"].to_numpy(float)
    selected = np.zeros(len(pi), dtype=bool)
    for a, b in zip(plan.bounds[:-1], plan.bounds[1:]):
        selected[a:b] = systematic_pps(pi[a:b], rng)
    return selected


def _slots(communes: pd.DataFrame, at: np.ndarray | None = None) -> pd.DataFrame:
    """Stage 2: ``take`` invitation slots per selected commune (the rows ``at`` of ``communes``, all when None), with
    their inclusion probabilities; the table is made once from its columns, taken from the communes' arrays (a frame
    taken, then grown a column at a time, cost 2 ms in every validation replication)."""
    at = np.arange(len(communes)) if at is None else at
    take = communes["take"].to_numpy()[at]
    pi = communes["pi"].to_numpy()[at]
    with np.errstate(divide="ignore", invalid="ignore"):      # as pandas: a commune without a slot gives NaN
        pi_within = take / communes["pop15"].to_numpy()[at]
        pi_overall = pi * pi_within
        design_weight = 1.0 / pi_overall
    rows = np.repeat(np.arange(len(at)), take)
    slots = {c: communes[c].array.take(at[rows]) for c in ("code", "nom", "departement", "size_class", "stratum")}
    # 1, 2, … within each commune (same codes as objects): the communes' codes factorised, then repeated (the same
    # groups in the same order as the slots' codes factorised)
    slot = _count_within(pd.factorize(communes["code"].array.take(at))[0][rows]) + 1
    return pd.DataFrame({"slot_id": _slot_ids(pd.Series(slots["code"], copy=False), slot), **slots,
                         "pi": pi[rows], "pi_within": pi_within[rows], "pi_overall": pi_overall[rows],
                         "design_weight": design_weight[rows]}, copy=False)


def _slot_ids(code: pd.Series, slot: np.ndarray):
    """``f"{code}-{slot:04d}"`` of each row: joined in Arrow for a text column stored by pyarrow without a gap (the
    same texts, 4 ms fewer in each validation replication), row by row for any other column."""
    chunks = arrow_chunks(code)
    if chunks is None or chunks.null_count or not pa.types.is_large_string(chunks.type):
        return [f"{c}-{k:04d}" for c, k in zip(code.to_numpy(), slot.tolist())]
    number = pc.utf8_lpad(pa.array(slot).cast(pa.large_string()), 4, "0")      # {k:04d} for k ≥ 0: never cut
    return pd.array(pc.binary_join_element_wise(chunks, number, pa.scalar("-", pa.large_string())), dtype="str")


def _count_within(group: np.ndarray) -> np.ndarray:
    """``groupby(group).cumcount()``: each row's rank (0, 1, …) among the earlier rows of its group."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    out = np.empty(len(g), dtype=np.int64)
    out[order] = rank
    return out


STRATA_LABELS_FR = {
    "stratum": "Strate", "departement": "Département", "size_class": "Taille de commune",
    "communes": "Communes", "population": "Population légale", "pop15": "Population 15 ans ou plus (est.)",
    "hits": "Tirages alloués", "certainty_communes": "Communes retenues d'office", "psu_drawn": "Communes tirées PPS",
    "selected_communes": "Communes retenues", "invitations": "Invitations",
    "sampling_rate": "Taux de sondage (‰)",
}


def department_names(codes: pd.Series) -> pd.Series:
    """Departments as readers name them, with their code: « Aisne (02) » (an unknown code stays as it is)."""
    return codes.astype(str).map(lambda d: f"{sources.DEPARTMENTS[d]} ({d})" if d in sources.DEPARTMENTS else d)


def strata_table_fr(strata: pd.DataFrame) -> pd.DataFrame:
    """The strata table of a resident sample with French column names and departments by name (« Aisne (02) »),
    for the reports."""
    from ..reporting import formatting as fmt

    t = strata[list(STRATA_LABELS_FR)].copy()
    t["departement"] = department_names(t["departement"])
    t["sampling_rate"] = fmt.round(t["sampling_rate"] * 1000, 3)
    return t.rename(columns=STRATA_LABELS_FR)


def declared_elsewhere(slots: pd.DataFrame, answers: pd.DataFrame) -> np.ndarray:
    """Which sampled residents (``slots``, with the commune ``code`` of each invitation) declared another commune of
    residence in their ``answers`` (row for row): moved, or a postal code typed for the INSEE code (59100 is
    Roubaix's postal code and Bousignies' INSEE code, and passes the commune check). No weight depends on it;
    report 03 counts them. All False for a table without either column (the visitors)."""
    if "code" not in slots.columns or "commune_residence" not in answers.columns:
        return np.zeros(len(answers), dtype=bool)
    declared = answers["commune_residence"]
    held, invited = arrow_chunks(declared), arrow_chunks(slots["code"])
    if held is not None and invited is not None:     # texts in Arrow: compared there, no text column converted
        return pc.and_(pc.is_valid(held), pc.fill_null(pc.not_equal(held, invited), True)).to_numpy()
    # any other columns: their texts compared as pandas holds them, not against a copy of the invited communes as
    # Python objects (1 ms of the ingest's table, in every validation replication)
    differs = declared.astype(str).array != slots["code"].astype(str).array
    if isinstance(differs, pd.api.extensions.ExtensionArray):    # pragma: no cover - a comparison holding missing values
        differs = differs.to_numpy(dtype=bool, na_value=True)
    return declared.notna().to_numpy(dtype=bool) & np.asarray(differs, dtype=bool)
