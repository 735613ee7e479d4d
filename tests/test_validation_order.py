"""The validation's order of result rows (validation.setup._ordered) against a sort by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.study.validation import setup as vs


def _by_hand(results: pd.DataFrame) -> pd.DataFrame:
    """Python's stable sort of the rows on the documented keys: a name outside its list, or missing, last and tied
    with the others; texts in their order, a missing one last."""
    key = {(r.item, r.statistic, r.level): i for i, r in enumerate(vs.KEY_STATISTICS.itertuples())}

    def missing(x) -> bool:
        return x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA

    def rank(x, order) -> int:
        return len(order) if missing(x) or x not in order else list(order).index(x)

    def text(x) -> tuple:
        return (1, "") if missing(x) else (0, x)

    rows = results.to_dict("records")
    def sort_key(i: int) -> tuple:
        r = rows[i]
        k = key.get((r["item"], r["statistic"], r["level"]), len(key)) if not any(
            missing(r[c]) for c in ("item", "statistic", "level")) else len(key)
        return ((rank(r["target"], vs.TARGETS),) if "target" in r else ()) + (
            text(r["replication"]), rank(r["survey"], vs.SURVEYS), k, text(r["item"]), text(r["statistic"]),
            text(r["level"]), rank(r["estimator"], vs.ESTIMATORS), rank(r["variance"], vs.VARIANCES))
    order = sorted(range(len(rows)), key=sort_key)
    return results.iloc[order].reset_index(drop=True)


@pytest.mark.parametrize("seed", range(40))
def test_rows_are_ordered_as_a_stable_sort_by_hand(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 80))
    ks = vs.KEY_STATISTICS

    def pick(values: list, gaps: bool = True) -> np.ndarray:
        v = np.array(values + ([None] if gaps and seed % 3 else []), dtype=object)
        return v[rng.integers(0, len(v), n)]

    frame = pd.DataFrame({
        "survey": pick([*vs.SURVEYS, "other"]), "item": pick([*ks["item"].unique(), "a", "zz"]),
        "statistic": pick([*ks["statistic"].unique(), "x"]), "level": pick([*ks["level"].unique(), "b", "é"]),
        "estimator": pick([*vs.ESTIMATORS, "e"]), "variance": pick([*vs.VARIANCES, vs.TWO_STAGE]),
        "replication": rng.integers(0, 4, n), "value": np.arange(n, dtype=float)})  # value: tells tied rows apart
    if seed % 2:
        frame.insert(0, "target", pick([*vs.TARGETS, "t"]))
    if seed % 4 == 1:
        frame = frame.astype({c: "str" for c in frame.columns if frame[c].dtype == object})
    if seed % 5 == 0:
        frame.index = rng.permutation(n) + 100
    out = vs._ordered(frame)
    pd.testing.assert_frame_equal(out, _by_hand(frame), check_exact=True)
    assert list(out.columns) == list(frame.columns)


@pytest.mark.parametrize("targets", [["superpopulation"] * 3 + ["finite"] * 2, ["finite", "superpopulation", "finite"],
                                     ["superpopulation"] * 2, [], ["finite", None, "finite"]])
def test_a_targets_rows_are_those_pandas_selects(targets):
    """target_rows gives pandas' selection of the rows of the target, with their index, whether they are consecutive
    (a slice) or not (a selection), none, or with a missing target between them."""
    frame = pd.DataFrame({"target": pd.array(targets, dtype="str"), "estimate": np.arange(len(targets), dtype=float)},
                         index=np.arange(len(targets)) * 10 + 3)
    for target in ("superpopulation", "finite"):
        pd.testing.assert_frame_equal(vs.target_rows(frame, target), frame.loc[frame["target"] == target])
