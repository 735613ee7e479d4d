"""The ingest table's array helpers against the plain pandas operations they replace (value by value, masks and
Arrow types included): one column's take, pandas' own inference of a column of texts, a look-up by brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.pipeline.errors import ParameterError
from portrait.study import unit_table


def _columns(n: int, rng: np.random.Generator) -> dict[str, pd.Series]:
    """Nullable integer columns of two types with missing values, one lone Int32, a text and a float column."""
    def ints(dtype: str) -> pd.Series:
        return pd.Series(pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(-3, 9, n)), dtype=dtype))
    return {"a": ints("Int16"), "b": ints("Int16"), "c": ints("Int16"), "row": ints("Int32"),
            "d": ints("Int64"), "e": ints("Int64"),
            "t": pd.Series(pd.array(rng.choice(["x", "yy", None], n), dtype="string")),
            "s": pd.Series(pd.array(rng.choice(["x", "é", None], n), dtype="str")),
            "w": pd.Series(pd.array(rng.choice(["x", "yy"], n), dtype="string")),
            "f": pd.Series(rng.normal(size=n))}


@pytest.mark.parametrize("n, every_unit", [(0, False), (1, False), (40, False), (40, True)])
def test_every_column_is_taken_as_its_own_take_would(n, every_unit):
    rng = np.random.default_rng(n)
    cols = _columns(n, rng)
    pos = rng.integers(-1, n, 60) if n else np.full(7, -1)
    if every_unit:
        pos = rng.permutation(n)
    got = unit_table.at_all(cols, pos)
    assert list(got) == list(cols)
    for c, values in cols.items():
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
            want = values.array.take(pos, allow_fill=True)
        else:
            want = values.reindex(pos).reset_index(drop=True)
        pd.testing.assert_series_equal(pd.Series(got[c]), pd.Series(want), check_exact=True)
        assert type(got[c]) is type(want), c
        if isinstance(values.dtype, pd.StringDtype):      # the same Arrow type, nulls where the take has them
            held, wanted = got[c].__arrow_array__(), want.__arrow_array__()
            assert held.type == wanted.type and held.null_count == wanted.null_count, c
        if isinstance(want, pd.arrays.IntegerArray):     # the values under the mask too: a take writes 1 there
            assert np.array_equal(got[c]._data, want._data) and np.array_equal(got[c]._mask, want._mask), c


def test_texts_are_the_column_pandas_infers():
    labels = ("sans_reponse", "complet", "hors_champ", "")
    codes = np.array([2, 0, 0, 1, 3, 2], dtype=np.int8)
    frame = pd.DataFrame({"x": range(len(codes))})
    want = frame.assign(reason=np.asarray(labels, dtype=object)[codes])
    got = frame.assign(reason=unit_table.texts(codes, labels))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["reason"].dtype == want["reason"].dtype


def test_positions_find_each_identifier_or_none():
    keys = pd.Series(["b7", "a1", "zz", "c3"], dtype="string")
    ids = np.array(["a1", "q", "c3", "b7", "b7", "z"], dtype=object)
    want = [next((i for i, k in enumerate(keys) if k == u), -1) for u in ids]    # brute force
    assert unit_table.positions(keys, ids).tolist() == want
    assert unit_table.positions(keys, unit_table.arrow_text(pd.Series(ids, dtype="str"))).tolist() == want
    assert unit_table.positions(pd.Series([3, 10]), np.array(["10", "3", "4"], dtype=object)).tolist() == [1, 0, -1]


def test_texts_chosen_by_a_condition_are_the_column_np_where_gives():
    """Missing values, a categorical column, numbers and a prefix, against the plain construction."""
    rng = np.random.default_rng(5)
    n = 25
    yes = pd.Series(rng.choice(["59350", "62041", None], n), dtype="str")
    no = pd.Series(pd.Categorical(rng.choice(["59-1", "80-2"], n)))
    cond = rng.random(n) < 0.5
    for a, b, prefix in ((yes, no, "AR-"), (no, yes, ""), (pd.Series(rng.integers(0, 9, n)), yes, "P")):
        frame = pd.DataFrame({"x": range(n)})
        want = frame.assign(v=np.where(cond, prefix + a.astype(str), b.astype(str)))
        got = frame.assign(v=unit_table.where_texts(cond, a, b, prefix=prefix))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got["v"].array._pa_array.type == want["v"].array._pa_array.type


def test_a_missing_identifier_is_refused_not_matched_to_nothing():
    """A review: a missing key was counted as one more distinct key, and a missing id matched nothing (-1) without a
    word; either is now refused, with how many are missing."""
    with pytest.raises(ParameterError, match="1 identifier"):
        unit_table.positions(pd.Series(["a", None]), np.array(["a"], dtype=object))
    with pytest.raises(ParameterError, match="1 identifier"):
        unit_table.positions(pd.Series(["a", "b"]), np.array(["a", None], dtype=object))


def test_the_text_type_is_pandas_inference_and_labels_that_are_not_texts_are_inferred_each_time():
    """The text type read once per state of pandas' option is the one a new column of texts gets; numbers as labels
    are not texts: they keep the object column that pandas infers for them, a missing code NaN."""
    assert unit_table.text_dtype() == pd.Series(np.array(["a"], dtype=object)).dtype
    got = unit_table.texts(np.array([1, 0, -1]), (3, 4))
    assert pd.Series(got).dtype == pd.Series(np.array([3, 4], dtype=object)).dtype
    assert got[0] == 4 and got[1] == 3 and pd.isna(got[2])


def test_a_held_index_is_pandas_index_of_the_column_and_follows_its_changes():
    """The index kept for a text column held in Arrow finds what ``pd.Index`` of the column finds; a column whose
    values change (a new Arrow array) gets a new index, not the one kept for the old values."""
    frame = pd.DataFrame({"code": ["59350", "62041", "80021"], "n": [1, 2, 3]})
    wanted = pd.Series(["80021", "00000", "59350"])
    first = unit_table.held_index(frame["code"])
    assert first.equals(pd.Index(frame["code"])) and unit_table.held_index(frame["code"]) is first
    assert first.get_indexer(wanted).tolist() == [2, -1, 0]
    frame.loc[0, "code"] = "00000"
    assert unit_table.held_index(frame["code"]).get_indexer(wanted).tolist() == [2, 0, -1]
    numbers = pd.Series([5, 7])
    assert unit_table.held_index(numbers).equals(pd.Index(numbers))


@pytest.mark.parametrize("values", [
    pd.Series(pd.Categorical(["b", "a", "b"], categories=["b", "a", "z"]), index=[5, 6, 7], name="size"),
    pd.Series(pd.Categorical(["b", None, "b"])), pd.Series(pd.Categorical([1, 2])),
    pd.Series(pd.Categorical([], categories=["a"])), pd.Series(["x", None])])
def test_category_texts_are_astype_str(values):
    pd.testing.assert_series_equal(unit_table.category_text(values), values.astype(str), check_exact=True)
