"""The derived variables of the opinion items, against a row-by-row computation from the codebook's definitions.

Oracle: each unit's value computed in plain Python from its answers — a mean without « don't know », a share of a
code, a grouping's share (top-2 box, NPS groups), the NPS score (promoters − detractors), the share of « don't
know » among the answers, and a « pick any » option's share among the units that picked at least one option
(NaN for the others) — on a table of nullable integer answers with gaps, « don't know » codes and units that
answered no option.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from portrait.study import codebook, items


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def _table(cb, survey: str, n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for v in cb.variables_for(survey):
        if v.role != "opinion" or not v.common_core or v.type not in ("likert_1_5", "score_0_10", "multi", "single"):
            continue
        if v.type == "multi":
            for c in v.columns:
                x = rng.choice([0, 1], size=n, p=[0.8, 0.2]).astype(float)
                x[rng.random(n) < 0.15] = np.nan
                cols[c] = pd.array(np.where(np.isnan(x), None, x).tolist(), dtype="Int16")
        else:
            codes = list(v.code_values) + ([cb.dont_know_code] if v.dont_know else [])
            x = rng.choice(codes, size=n).astype(float)
            x[rng.random(n) < 0.2] = np.nan
            cols[v.name] = pd.array(np.where(np.isnan(x), None, x).tolist(), dtype="Int16")
    return pd.DataFrame(cols)


def _by_hand(cb, v, table: pd.DataFrame, statistic: str, level: str) -> list[float]:
    dk = cb.dont_know_code
    if v.type == "multi":
        rows = [[table[c].iloc[i] for c in v.columns] for i in range(len(table))]
        j = [str(c) for c in v.code_values].index(level)
        return [float(r[j] is not pd.NA and r[j] == 1) if sum(0 if x is pd.NA else int(x) for x in r) > 0 else math.nan
                for r in rows]
    out = []
    groups = {g.name: g for g in cb.groupings_for(v.name)}
    for x in table[v.name]:
        if x is pd.NA:
            out.append(math.nan)
        elif statistic == "share_dk":
            out.append(float(x == dk))
        elif x == dk:
            out.append(math.nan)
        elif statistic == "mean":
            out.append(float(x))
        elif statistic == "share":
            out.append(float(str(x) == level))
        elif statistic in groups:
            out.append(float(x in dict((k, c) for k, _, c in groups[statistic].groups)[level]))
        else:                                   # a grouping's difference (the NPS score)
            g = next(g for g in groups.values() if g.difference and g.difference[0] == statistic)
            codes = {k: c for k, _, c in g.groups}
            out.append(float(x in codes[g.difference[2]]) - float(x in codes[g.difference[3]]))
    return out


@pytest.mark.parametrize("survey", ["visitors", "residents"])
def test_every_derived_variable_equals_its_row_by_row_value(cb, survey):
    table = _table(cb, survey)
    values, spec = items.derived(table, cb, survey, words=False)
    kinds = set()
    assert len(spec) > 20
    for _, s in spec.iterrows():
        v = cb.variable(s["item"])
        expected = np.array(_by_hand(cb, v, table, s["statistic"], s["level"]))
        np.testing.assert_array_equal(values[s["column"]].to_numpy(), expected, err_msg=s["column"])
        kinds.add((v.type, s["statistic"]))
    assert {("multi", "share"), ("score_0_10", "mean")} <= kinds
    assert any(k[1] == "share_dk" for k in kinds) and any(k[1] not in ("mean", "share", "share_dk") for k in kinds)


def test_intervals_are_the_shares_logit_intervals():
    """items.intervals names the columns whose statistic is a share (pandas' ``isin`` of SHARES, the plain reading),
    with a missing statistic and look-alike names not taken."""
    spec = pd.DataFrame({"column": [f"c{i}" for i in range(7)],
                         "statistic": ["mean", "share", "accord", None, "nps_score", "share_dk", "nps"]})
    plain = {c: items.SHARE_INTERVAL
             for c, s in zip(spec["column"], spec["statistic"].isin(items.SHARES).to_numpy()) if s}
    assert items.intervals(spec) == plain == {c: "logit" for c in ("c1", "c2", "c5", "c6")}
    assert np.array_equal(list(items.intervals(spec)), ["c1", "c2", "c5", "c6"])


@pytest.mark.parametrize("survey", ["residents", "visitors"])
def test_derived_from_float_columns_as_from_nullable_integers(cb, survey):
    """The multiple-response options read as floats (the general path) give the derived variables of the same
    options as nullable integers (their data and masks summed as integers)."""
    table = _table(cb, survey)
    floats = table.astype({c: float for c in table.columns})
    assert all(isinstance(table[c].array, pd.arrays.IntegerArray) for c in table.columns)
    (a, spec_a), (b, spec_b) = items.derived(table, cb, survey, words=False), items.derived(floats, cb, survey,
                                                                                            words=False)
    assert spec_a.equals(spec_b) and (spec_a["item"].isin(["forces", "faiblesses"])).any()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("survey", ["residents", "visitors"])
def test_derived_arrays_are_the_frames_numbers(cb, survey):
    """derived_arrays gives derived's columns and specification without the frames (its lists by column); no
    statistic wanted gives the empty specification derived gave."""
    table = _table(cb, survey)
    values, spec = items.derived(table, cb, survey, words=False)
    cols, lists = items.derived_arrays(table, cb, survey, words=False)
    assert list(cols) == list(values.columns) == lists["column"] and list(lists) == items.SPEC_COLUMNS
    for c, x in cols.items():
        np.testing.assert_array_equal(x, values[c].to_numpy())
    assert pd.DataFrame(lists).equals(spec)
    assert items.intervals(lists) == items.intervals(spec)
    none, empty = items.derived(table, cb, survey, words=False, statistics=[])
    assert none.shape == (len(table), 0) and list(empty.columns) == items.SPEC_COLUMNS and len(empty) == 0
    assert (empty.dtypes == object).all()
