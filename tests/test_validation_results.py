"""One replication's result rows (validation._results) against pandas' concatenation of its parts, then _ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.study import validation
from portrait.study import validation_setup as vs


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
    got = validation._results(target, seed, parts)
    want = _by_pandas(target, seed, parts)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.columns) == vs.RESULT_COLUMNS


def test_a_part_missing_a_column_other_than_p_is_an_error():
    rng = np.random.default_rng(1)
    parts = [_part(rng, 5, False), _part(rng, 5, True).drop(columns="se"), _part(rng, 5, True)]
    with pytest.raises(KeyError):
        validation._results("finite", 0, parts)
