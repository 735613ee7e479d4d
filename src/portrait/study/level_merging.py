"""Calibration margins whose levels too few respondents hold: merged before calibrating (STUDY §6).

A level held by few respondents makes calibration fragile, and impossible when it holds none (a partial,
mid-fieldwork export; a replicate that drops them all). Its respondents and population total go to another
level, and a French note says which:

- a one-way margin's level goes to the margin's largest level (levels have no order in general);
- a cell of a two-way margin (sex × age) goes to a **neighbouring level of its second variable within the same
  level of the first** (men 15–29 with men 30–44), the neighbour holding fewer respondents — the usual collapse
  of adjacent age groups within sex. Levels of the second variable are in their codes' order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd

from ..reporting import formatting as fmt
from ..survey import Design, Margin
from ..survey.labels import arrow_chunks, kept_text_codes

__all__ = ["merge_sparse_levels"]

#: pandas 3 copies a column on write (a shallow copy's writes never reach the original); pandas 2 may not
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def merge_sparse_levels(design: Design, margins: list[Margin], min_respondents: int,
                        labels: Mapping[str, Mapping[str, str]] | None = None,
                        names: Mapping[str, str] | None = None
                        ) -> tuple[Design, list[Margin], list[str], dict[str, dict[tuple, str]]]:
    """Merge the margin levels held by fewer than ``min_respondents`` respondents (see the module).

    ``labels`` (variable → code → label) and ``names`` (variable → name) make the notes readable
    (« sexe × âge : Hommes × 15 à 29 ans (aucun répondant) rejoint Hommes × 30 à 44 ans »); codes otherwise.
    Returns the design with the recoded variables, the merged margins, one French note per merge, and the
    labels of the levels that received others (margin name → level → « Hommes × 15 à 29 ans + 30 à 44 ans »),
    in the form :func:`portrait.survey.margin_table` reads.
    """
    labels, names = labels or {}, names or {}
    data = design.data.copy(deep=not _COPY_ON_WRITE)     # a merged level's column is the only one copied
    resp = (design.weights > 0)
    out, notes, merged = [], [], {}
    for m in margins:
        if len(m.variables) == 1:
            m, said, shown = _merge_one_way(data, resp, m, min_respondents, labels, names)
        elif len(m.variables) == 2:
            m, said, shown = _merge_within(data, resp, m, min_respondents, labels, names)
        else:
            said, shown = [], {}
        out.append(m)
        notes += said
        if shown:
            merged[m.name] = shown
    return replace(design, data=data), out, notes, merged


def _held(n: int) -> str:
    return "aucun répondant" if n == 0 else fmt.count(n, "répondant")


def _label(labels: Mapping[str, Mapping[str, str]], v: str, level: str) -> str:
    return str(labels.get(v, {}).get(level, level))


def _merge_one_way(data: pd.DataFrame, resp, m: Margin, min_respondents: int, labels, names
                   ) -> tuple[Margin, list[str], dict[tuple, str]]:
    v = m.variables[0]
    counts = _respondent_counts(data[v], resp)
    totals = {k[0]: t for k, t in m.totals.items()}
    small = sorted(lv for lv in totals if counts.get(lv, 0) < min_respondents)
    if not small or len(small) == len(totals):
        return m, [], {}
    big = max((lv for lv in totals if lv not in small), key=lambda lv: (counts.get(lv, 0), lv))
    merged = {lv: t for lv, t in totals.items() if lv not in small}
    merged[big] += sum(totals[lv] for lv in small)
    data[v] = data[v].astype(str).where(~data[v].astype(str).isin(small), big)
    shown = ", ".join(f"{_label(labels, v, lv)} ({_held(int(counts.get(lv, 0)))})" for lv in small)
    return (Margin.of(v, merged), [f"{names.get(v, v)} : {shown} {'rejoint' if len(small) == 1 else 'rejoignent'} "
                                   f"{_label(labels, v, big)}"],
            {(big,): " + ".join(_label(labels, v, lv) for lv in [big, *small])})


def _respondent_counts(values: pd.Series, resp: np.ndarray) -> Mapping[str, int]:
    """Respondents (``resp``) per value as text, missing values left out: ``value_counts`` of the respondents' values,
    counted in Arrow when pandas holds the texts there (a quarter of the time; every validation replication), or on
    the column's sorted codes when they are kept (:func:`~portrait.survey.labels.kept_text_codes`: the non-response
    model coded them)."""
    kept = kept_text_codes(values)
    if kept is not None:
        texts, rank = kept
        counts = np.bincount(rank[np.asarray(resp, dtype=bool)], minlength=len(texts))
        return {str(t): int(c) for t, c in zip(texts, counts) if c}
    text = values.astype(str)
    held = arrow_chunks(text)
    if held is None:
        return text[resp].value_counts()
    import pyarrow as pa
    import pyarrow.compute as pc

    counted = pc.value_counts(pc.filter(held, pa.array(np.asarray(resp, dtype=bool))))
    return {v: n for v, n in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())
            if v is not None}


def _order(levels) -> list[str]:
    """Levels in their codes' order: numerically when every code is a whole number (« 2 » before « 10 »)."""
    levels = list(levels)
    return sorted(levels, key=int) if all(str(x).isdigit() for x in levels) else sorted(levels)


def _merge_within(data: pd.DataFrame, resp, m: Margin, min_respondents: int, labels, names
                  ) -> tuple[Margin, list[str], dict[tuple, str]]:
    a, b = m.variables
    av, bv = data[a].astype("string"), data[b].astype("string")
    # respondents per pair of levels, as value_counts (pairs with a missing value left out) in a quarter of its time,
    # then a dict's look-ups rather than a MultiIndex's (this runs in every validation replication)
    held = resp & av.notna().to_numpy(dtype=bool) & bv.notna().to_numpy(dtype=bool)
    counts = Counter(zip(av.array[held].tolist(), bv.array[held].tolist()))     # only those held made objects
    totals, notes, shown = dict(m.totals), [], {}
    for x in _order({k[0] for k in totals}):
        groups = [[y] for y in _order(k[1] for k in totals if k[0] == x)]      # each group: the levels it holds
        n = [int(counts.get((x, y), 0)) for [y] in groups]
        while len(groups) > 1 and min(n) < min_respondents:
            i = min(range(len(groups)), key=lambda j: (n[j], j))
            k = min((j for j in (i - 1, i + 1) if 0 <= j < len(groups)), key=lambda j: (n[j], j))
            into, gone = groups[k][0], groups[i]
            totals[(x, into)] += totals.pop((x, gone[0]))          # a group's total is under its first level
            data.loc[(av == x).fillna(False).to_numpy() & bv.isin(gone).fillna(False).to_numpy(), b] = into
            notes.append(f"{names.get(a, a)} × {names.get(b, b)} : {_label(labels, a, x)} × "
                         f"{' + '.join(_label(labels, b, y) for y in _order(gone))} ({_held(n[i])}) rejoint "
                         f"{_label(labels, a, x)} × {_label(labels, b, into)}")
            groups[k] += gone
            n[k] += n[i]
            del groups[i], n[i]
        for g in groups:
            if len(g) > 1:
                shown[(x, g[0])] = (f"{_label(labels, a, x)} × "
                                    + " + ".join(_label(labels, b, y) for y in _order(g)))
    return (Margin.of((a, b), totals) if notes else m), notes, shown
