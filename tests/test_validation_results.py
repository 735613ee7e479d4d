"""One replication's result rows (``_results``) against pandas' concatenation of its parts, then _ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.study import validation
from portrait.study.validation import replications, setup as vs


def _by_pandas(target, index, parts):
    """What replicate did: the parts concatenated in RESULT_COLUMNS (NaN p where a part has none), the target and
    replication inserted, df, n and adjusted made floats, the rows put in order."""
    cols = vs.RESULT_COLUMNS[2:]
    out = pd.concat([(p if "p" in p.columns else p.assign(p=np.nan))[cols] for p in parts], ignore_index=True)
    out.insert(0, "replication", index)
    out.insert(0, "target", target)
    out[["df", "n", "adjusted"]] = out[["df", "n", "adjusted"]].astype(float)
    return vs._ordered(out)


def _part(rng, n, with_p, text="str", extra=True):
    ks = vs.KEY_STATISTICS

    def pick(values):
        v = np.array(values + [None], dtype=object)
        return v[rng.integers(0, len(v), n)]

    frame = pd.DataFrame({
        "survey": pick([*vs.SURVEYS, "other"]), "item": pick([*ks["item"].unique(), "zz"]),
        "statistic": pick([*ks["statistic"].unique(), "x"]), "level": pick([*ks["level"].unique(), "é"]),
        "estimator": pick([*vs.ESTIMATORS, "e"]), "variance": pick([*vs.VARIANCES, vs.TWO_STAGE]),
        "estimate": rng.normal(size=n), "se": rng.random(n), "ci_low": rng.normal(size=n),
        "ci_high": rng.normal(size=n), "df": rng.integers(1, 500, n), "n": rng.integers(0, 900, n),
        "adjusted": rng.random(n), "error": pick(["", "residents: failed"])})
    texts = ["survey", "item", "statistic", "level", "estimator", "variance", "error"]
    frame = frame.astype({c: text for c in texts})
    if with_p:
        frame["p"] = rng.random(n)
    if extra:                       # a column the results do not keep
        frame["label"] = "x"
    return frame.sample(frac=1.0, random_state=int(rng.integers(1000))).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(24))
def test_results_are_the_parts_concatenated_then_ordered(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(0, 60)) for _ in range(3)]
    text = "str" if seed % 3 else object
    parts = [_part(rng, sizes[0], False, text), _part(rng, sizes[1], True, text, extra=False),
             _part(rng, sizes[2], True, text)]
    if seed % 4 == 1:
        parts[2]["df"] = parts[2]["df"].astype(float)          # int and float parts
    if seed % 6 == 5:
        parts[1]["n"] = parts[1]["n"].astype("Int64")         # a nullable column: pandas' concatenation
    if seed % 8 == 7:
        parts[0]["error"] = parts[0]["error"].astype(object)   # texts of two types: pandas' concatenation
    target = ["superpopulation", "finite", "other"][seed % 3]
    got = replications._results(target, seed, parts)
    want = _by_pandas(target, seed, parts)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.columns) == vs.RESULT_COLUMNS


def test_a_part_missing_a_column_other_than_p_is_an_error():
    rng = np.random.default_rng(1)
    parts = [_part(rng, 5, False), _part(rng, 5, True).drop(columns="se"), _part(rng, 5, True)]
    with pytest.raises(KeyError):
        replications._results("finite", 0, parts)


def _columns(frame: pd.DataFrame) -> dict:
    """A part as replicate hands it over: its columns by name, texts as arrays of Python objects (None missing)."""
    return {c: (v.to_numpy(dtype=object) if v.dtype == object or isinstance(v.dtype, pd.StringDtype)
                else v.to_numpy()) for c, v in frame.items()}


@pytest.mark.parametrize("seed", range(12))
def test_parts_given_as_columns_are_the_tables_pandas_makes_of_them(seed):
    """Parts given as their columns (arrays by name, as replicate's estimates and differences) give the rows of the
    tables pandas makes of those columns: texts as pandas' text type, an array of other objects or an empty text
    column as objects, mixed with tables; a missing text as None or NaN."""
    rng = np.random.default_rng(100 + seed)
    sizes = [int(rng.integers(0 if seed % 4 else 1, 40)) for _ in range(3)]
    frames = [_part(rng, sizes[0], False, object), _part(rng, sizes[1], True, object, extra=False),
              _part(rng, sizes[2], True, "str")]
    parts = [_columns(frames[0]), _columns(frames[1]), frames[2]]
    if seed % 3 == 1:
        parts[1]["error"] = np.where(pd.isna(parts[1]["error"]), np.nan, parts[1]["error"]).astype(object)
    if seed % 3 == 2:
        parts[0]["level"] = np.array([3] * sizes[0], dtype=object)           # objects that are not texts
    if seed % 4 == 3:
        parts[2] = _columns(frames[2])
    want = _by_pandas("finite", seed, [pd.DataFrame(p) if isinstance(p, dict) else p for p in parts])
    got = replications._results("finite", seed, parts)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_survey_parts_are_joined_as_pandas_concatenates_their_tables():
    """replicate's estimates of the two surveys: their arrays joined when both have the same columns, pandas'
    concatenation's columns when one is a failed survey's table of other columns; differences of either are those
    of the table."""
    rng = np.random.default_rng(3)
    a, b = (_columns(_part(rng, n, True, object)) for n in (7, 5))
    for parts in ([a, b], [a, pd.DataFrame(b).drop(columns="label").assign(extra="x")]):
        want = pd.concat([pd.DataFrame(p) if isinstance(p, dict) else p for p in parts], ignore_index=True)
        got = pd.DataFrame(replications._joined(parts))
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_differences_of_columns_are_those_of_their_table():
    """The differences of the estimates' columns (replicate's) are the table differences gives, bit for bit: a
    residents' row without its visitors' one (NaN), an error on either side, the two-stage variance paired."""
    est = pd.DataFrame({
        "item": ["a", "b", "c", "a", "a", "b"], "statistic": "mean", "level": "",
        "group": ["residents"] * 4 + ["visitors"] * 2,
        "estimator": "raking", "variance": ["linearisation"] * 3 + [vs.TWO_STAGE] + ["linearisation"] * 2,
        "estimate": [1.0, 2.0, 0.5, 1.0, 1.5, 1.0], "se": [0.1, 0.2, 0.3, 0.15, 0.3, 0.1],
        "df": [40.0, 40.0, 40.0, 12.0, 100.0, 100.0], "n": [50, 60, 5, 50, 70, 80], "adjusted": 0.0,
        "error": ["", "residents: x", "", "", "", "visitors: y"]})
    want = validation.differences(est, 0.9)
    got = pd.DataFrame(replications._difference_columns(_columns(est), 0.9))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert np.isnan(want.loc[want["item"] == "c", "estimate"]).all()
