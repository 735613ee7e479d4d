"""Common-core statistics as numeric variables, so every estimate is a weighted mean.

Each statistic of the comparison is the mean of a derived variable over the respondents for whom
it is defined (NaN elsewhere), which puts all of them — means, shares, top-2-box, NPS, « Ne sait
pas » — through the same estimator, variance and domain machinery:

========================  ===================================================  ==================
statistic, level          derived variable                                     defined for
========================  ===================================================  ==================
``mean``                  the score or agreement (1–5, 0–10)                   substantive answers
``share``, code           1 if the answer is that code, else 0                 substantive answers
``accord``, top2/bottom2  1 if the answer is in the grouping's codes           substantive answers
``nps``, group            1 if the score is in the NPS group                   substantive answers
``nps_score``             +1 promoter, −1 detractor, 0 passive                 substantive answers
``share_dk``, 99          1 if « Ne sait pas »                                 item respondents
``share``, option         1 if the option (strength, weakness) is cited        who answered it
``share``, word           1 if the canonical word is among the three           who answered it
========================  ===================================================  ==================

Names and levels are those of the simulator's truth file, so estimates and truths merge directly.
Shares (:data:`SHARES`) get the logit interval of R ``svyciprop``, which stays within [0, 1]; means and
the net promoter score get Student's ``estimate ± t·se`` (:func:`means`).
"""

from __future__ import annotations

from typing import Collection, Mapping

import numpy as np
import pandas as pd

from .. import survey
from ..survey.labels import float_values, masked_parts
from .codebook import Codebook, normalise_text, word_lookup

SPEC_COLUMNS = ["column", "item", "statistic", "level", "label", "item_label", "type"]
#: the statistics that are proportions: their intervals are logit intervals
SHARES = ("accord", "share", "share_dk", "nps")
SHARE_INTERVAL = "logit"


def means(design, spec: pd.DataFrame, variance: str = "linearisation", level: float = 0.95) -> pd.DataFrame:
    """``portrait.survey.mean`` of every column of ``spec`` (in its order): shares with the logit interval,
    the other statistics with Student's."""
    return survey.mean(design, list(spec["column"]), variance=variance, level=level, interval=intervals(spec))


def intervals(spec: pd.DataFrame | Mapping[str, list]) -> dict[str, str]:
    """The interval of each column of ``spec`` (a frame, or :func:`derived_arrays`' lists by column) that is a share
    (:data:`SHARES`), for ``portrait.survey.mean``."""
    columns, statistics = (spec[c].tolist() if isinstance(spec[c], pd.Series) else spec[c]
                           for c in ("column", "statistic"))
    return {c: SHARE_INTERVAL for c, s in zip(columns, statistics) if s in SHARES}


def derived(table: pd.DataFrame, cb: Codebook, survey: str, *, common_core: bool = True,
            words: bool = True, only: Collection[str] | None = None,
            statistics: Collection[tuple[str, str, str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Derived numeric variables of the (common-core) opinion items and their specification.

    Returns ``(values, spec)``: ``values`` has one column per statistic (NaN where undefined), in
    the row order of ``table``; ``spec`` describes each column (item, statistic, level, labels).
    ``only`` restricts them to these items, ``statistics`` to these ``(item, statistic, level)``
    (``level`` as text, ``""`` for none).
    """
    cols, spec = derived_arrays(table, cb, survey, common_core=common_core, words=words, only=only,
                                statistics=statistics)
    return pd.DataFrame(cols, index=table.index), pd.DataFrame(list(zip(*spec.values())), columns=SPEC_COLUMNS)


def derived_arrays(table: pd.DataFrame, cb: Codebook, survey: str, *, common_core: bool = True,
                   words: bool = True, only: Collection[str] | None = None,
                   statistics: Collection[tuple[str, str, str]] | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, list]]:
    """:func:`derived`'s numbers without its frames: each column's values (an array in the row order of ``table``)
    by name, and the specification's :data:`SPEC_COLUMNS` as lists (a validation replication estimates them on
    each design and builds no frame of them)."""
    dk = cb.dont_know_code
    cols: dict[str, np.ndarray] = {}
    spec = []
    if statistics is not None:
        statistics = {(i, s, str(lv)) for i, s, lv in statistics}
        wanted = {i for i, _, _ in statistics}
        only = wanted if only is None else wanted & set(only)

    def add(item, statistic, level, label, item_label, vtype, values):
        if statistics is not None and (item, statistic, str(level)) not in statistics:
            return
        name = f"{item}|{statistic}|{level}"
        cols[name] = values() if callable(values) else values
        spec.append((name, item, statistic, str(level), label, item_label, vtype))

    for v in cb.variables_for(survey):
        if v.role != "opinion" or (common_core and not v.common_core) or (only is not None and v.name not in only):
            continue
        if not all(c in table.columns for c in v.columns):
            continue
        if v.type in ("likert_1_5", "score_0_10") or (v.type == "single" and v.ordered):
            x = float_values(table[v.name])
            answered = ~np.isnan(x)
            valid = answered & (x != dk)
            labels = cb.labels(v.name, dont_know=False)
            add(v.name, "mean", "", "moyenne", v.label, v.type, lambda: np.where(valid, x, np.nan))
            for c in v.code_values:
                add(v.name, "share", c, labels.get(c, str(c)), v.label, v.type,
                    lambda: np.where(valid, (x == c).astype(float), np.nan))
            for g in cb.groupings_for(v.name):
                for key, glabel, gcodes in g.groups:
                    add(v.name, g.name, key, glabel, v.label, v.type,
                        lambda: np.where(valid, np.isin(x, gcodes).astype(float), np.nan))
                if g.difference:
                    dname, dlabel, plus, minus = g.difference
                    codes = {key: gcodes for key, _, gcodes in g.groups}
                    add(v.name, dname, "", dlabel, v.label, v.type,
                        lambda: np.where(valid, np.isin(x, codes[plus]).astype(float)
                                         - np.isin(x, codes[minus]).astype(float), np.nan))
            if v.dont_know:
                add(v.name, "share_dk", dk, "Ne sait pas", v.label, v.type,
                    lambda: np.where(answered, (x == dk).astype(float), np.nan))
        elif v.type == "multi":
            held = [table[c] for c in v.columns]
            answered = _any_cited(held, len(table))
            labels = cb.labels(v.name, dont_know=False)
            for j, c in enumerate(v.code_values):      # an option's column read only for a share wanted
                add(v.name, "share", c, labels.get(c, str(c)), v.label, v.type,
                    lambda: np.where(answered, (float_values(held[j]) == 1).astype(float), np.nan))
        elif v.type == "open_words" and words:
            lookup = word_lookup(cb.vocabulary(v.name))
            canon = np.column_stack([np.array([lookup.get(normalise_text(t), "") if isinstance(t, str) else ""
                                               for t in table[c].astype(object)], dtype=object)
                                     for c in v.columns])
            answered = table[v.columns[0]].notna().to_numpy()
            for word in cb.vocabulary(v.name):
                cited = (canon == word).any(axis=1)
                add(v.name, "share", word, word, v.label, v.type,
                    lambda: np.where(answered, cited.astype(float), np.nan))
    return cols, {c: [s[j] for s in spec] for j, c in enumerate(SPEC_COLUMNS)}


def _any_cited(columns: list[pd.Series], n: int) -> np.ndarray:
    """Whether each unit's codes of a multiple-response item, missing ones as 0, sum to more than 0 (np.nansum's over
    the row), column by column (a frame of nullable integers converts to one float matrix slowly); nullable integer
    columns summed as integers from their data and masks, exactly as their floats sum (the key statistics read the
    options of every sampled unit in each validation replication)."""
    arrays = [c.array for c in columns]
    if all(isinstance(a, pd.arrays.IntegerArray) for a in arrays):
        total = np.zeros(n, dtype=np.int64)
        for a in arrays:
            data, mask = masked_parts(a)
            total += np.where(mask, 0, data)
        return total > 0
    total = np.zeros(n)
    for c in columns:
        col = float_values(c)
        total += np.where(np.isnan(col), 0.0, col)
    return total > 0


def word_coverage(table: pd.DataFrame, cb: Codebook, name: str) -> tuple[int, int]:
    """``(given, matched)``: the words of the open-word item ``name`` given in ``table`` (non-empty cells of its
    columns), and how many of them the vocabulary recognises — the others count for no word's share."""
    v = cb.variable(name)
    lookup = word_lookup(cb.vocabulary(name))
    words = [t for c in v.columns for t in table[c].astype(object) if isinstance(t, str) and t.strip()]
    return len(words), sum(normalise_text(t) in lookup for t in words)
