"""Arrays of the ingest's table of every sampled unit (:func:`portrait.study.ingest.assemble`): identifiers matched
with the sample in Arrow, texts built once per distinct value, answers taken at each unit's row. That table is built
again in every replication of the validation study (:mod:`portrait.study.validation`), so these take whole columns
(or all the columns of one type) at once rather than value by value.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..pipeline.errors import ParameterError
from ..survey.labels import arrow_chunks, kept_for_arrow, masked_parts

__all__ = ["arrow_text", "positions", "texts", "text_dtype", "held_index", "category_text", "at_all", "where_texts",
           "joined", "with_zeros", "equals_one", "given"]


def arrow_text(values: pd.Series):
    """``values`` as text (``astype(str)``), as one Arrow array of large strings: taken as it is when pandas holds
    the texts in Arrow already (its default string type), rather than through one Python object per value."""
    text = values.astype(str)
    held = arrow_chunks(text)
    if held is not None:
        return held.combine_chunks().cast(pa.large_string())
    return pa.array(text.to_numpy(dtype=object), type=pa.large_string())


def positions(keys: pd.Series, ids) -> np.ndarray:
    """Row of ``keys`` (unique) holding each of ``ids`` (texts: an array, or an Arrow array from :func:`arrow_text`),
    -1 where none does (a hash look-up in Arrow).

    Raises
    ------
    ParameterError
        Two equal keys, or a missing key or id (a review: a missing key was counted as unique, a missing id matched
        nothing).
    """
    k = arrow_text(keys)
    wanted = ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.large_string())
    if k.null_count or wanted.null_count:    # pragma: no cover - validated exports and the chain's sample have every id
        raise ParameterError(f"{k.null_count + wanted.null_count} identifier(s) missing: every unit needs one to be "
                             "matched with the sample")
    if pc.count_distinct(k).as_py() != len(k):    # pragma: no cover - validated exports and dispositions are unique
        raise ParameterError("identifiers must be unique to be matched with the sample")
    found = pc.index_in(wanted, value_set=k)
    return pc.fill_null(found, -1).to_numpy().astype(np.intp)


def texts(codes: np.ndarray, labels) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """``labels[codes]`` (a negative code: missing) as the column pandas infers from those texts (its default string
    type), each text converted once rather than once per row (a table of every sampled unit is built, and the
    visitors' groups are found, in each validation replication)."""
    each = np.asarray(labels, dtype=object)
    dtype = text_dtype() if len(each) and all(isinstance(x, str) for x in each) else pd.Series(each).dtype
    missing = codes < 0
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        out = each[codes]
        out[missing] = np.nan
        return out
    held = pc.take(pa.array(list(labels), type=pa.large_string()),         # a missing code takes a null
                   pa.array(codes, mask=missing if missing.any() else None))
    return pd.array(held, dtype=dtype)


def category_text(values: pd.Series) -> pd.Series:
    """``values.astype(str)``; a categorical column of texts without a missing value as its categories taken at each
    row's code (the resident size class, in every validation replication: a fifth of ``astype``'s time)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and all(isinstance(c, str) for c in dtype.categories):
        codes = values.cat.codes.to_numpy()
        if len(codes) and codes.min() >= 0:
            return pd.Series(texts(codes, list(dtype.categories)), index=values.index, name=values.name)
    return values.astype(str)


def held_index(values: pd.Series) -> pd.Index:
    """``pd.Index(values)``, kept for texts held in Arrow (:func:`portrait.survey.labels.kept_for_arrow`): the index's
    hash table of a frame's 3,800 commune codes took about 2 ms to build in each validation replication."""
    return kept_for_arrow(values, "index", pd.Index)


_TEXT_DTYPES: dict[bool, object] = {}


def text_dtype():
    """The type pandas infers for a column of texts (its default string type, or object), inferred once for each
    state of pandas' option of text inference rather than from a new Series at each call (100 µs; each validation
    replication builds a dozen text columns)."""
    try:
        from pandas._config import using_string_dtype
        key = bool(using_string_dtype())
    except ImportError:     # pragma: no cover - pandas without the option: inferred each time
        return pd.Series(np.array([""], dtype=object)).dtype
    if key not in _TEXT_DTYPES:
        _TEXT_DTYPES[key] = pd.Series(np.array([""], dtype=object)).dtype
    return _TEXT_DTYPES[key]


def _at(values: pd.Series, pos: np.ndarray) -> pd.api.extensions.ExtensionArray | pd.Series:
    """The values at positions ``pos`` (-1: missing), of the same type (validated exports hold nullable types)."""
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        return values.array.take(pos, allow_fill=True)
    out = values.reset_index(drop=True).reindex(pos).reset_index(drop=True)
    return out if out.dtype == values.dtype else out.astype(values.dtype)


def at_all(columns: Mapping[str, pd.Series], pos: np.ndarray) -> dict[str, pd.api.extensions.ExtensionArray | pd.Series]:
    """:func:`_at` of every column (``pos``: -1 for a missing unit): the nullable integer columns of one type taken
    together, as one 2-D array, and the texts held in Arrow with one array of positions (the same values, missing-value
    masks and types as each column's own take, for a fiftieth of the calls: this runs in every validation replication;
    indexing the 2-D arrays is several times faster than ``take`` on them)."""
    arrays = {c: values.array for c, values in columns.items()}
    out: dict[str, pd.api.extensions.ExtensionArray | pd.Series] = {}
    stacks: dict[type, list[str]] = {}
    for c, held in arrays.items():
        if isinstance(held, pd.arrays.IntegerArray):
            stacks.setdefault(type(held.dtype), []).append(c)
    for names in stacks.values():
        if len(names) >= 2:
            out.update(zip(names, _stacked_take([arrays[c] for c in names], pos)))
    wanted = None
    for c, values in columns.items():
        chunks = None if c in out else arrow_chunks(values)
        if chunks is not None:
            if wanted is None:
                wanted = pa.array(pos, mask=pos < 0)
            out[c] = pd.array(pc.take(chunks, wanted), dtype=values.dtype)
    return {c: out[c] if c in out else _at(values, pos) for c, values in columns.items()}


def _stacked_take(arrays: list[pd.arrays.IntegerArray], pos: np.ndarray) -> list[pd.arrays.IntegerArray]:
    """``take(pos, allow_fill=True)`` of nullable integer arrays of one type, as one 2-D array."""
    dtype = arrays[0].dtype
    # a missing unit (position -1) holds what a take with allow_fill writes; only the units found are gathered
    # (the nonrespondents, most of a validation's sample, have none)
    found = np.flatnonzero(pos >= 0)
    at = pos[found]
    data = np.full((len(arrays), len(pos)), dtype._internal_fill_value, dtype=dtype.numpy_dtype)
    mask = np.ones((len(arrays), len(pos)), dtype=bool)
    parts = [masked_parts(a) for a in arrays]
    data[:, found] = np.stack([d for d, _ in parts])[:, at]
    mask[:, found] = np.stack([m for _, m in parts])[:, at]
    return [pd.arrays.IntegerArray(data[i], mask[i]) for i in range(len(arrays))]


def where_texts(cond: np.ndarray, yes: pd.Series, no: pd.Series, prefix: str = ""
                ) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """The column pandas infers from ``np.where(cond, prefix + yes.astype(str), no.astype(str))`` (missing values
    stay missing), chosen in Arrow rather than through one Python object per value (the resident design's strata and
    PSUs, in every validation replication: 3 ms of the resident recipe's 25)."""
    dtype = text_dtype()
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return np.where(cond, prefix + yes.astype(str), no.astype(str))
    chosen = arrow_text(yes)
    if prefix:
        chosen = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), chosen,
                                             pa.scalar("", pa.large_string()))
    return pd.array(pc.if_else(pa.array(np.asarray(cond, dtype=bool)), chosen, arrow_text(no)), dtype=dtype)


def joined(sample: pd.DataFrame, id_col: str, ids, added: Mapping[str, object], answered: Mapping[str, object]
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The table of every sampled unit: the sample's columns (``ids``, the identifiers as text, in ``id_col``), the
    ``added`` columns, then the ``answered`` ones; and the frames of the sample's part and of the answers' part.
    Built as one frame when no name repeats (a frame of the answers joined to the sample's took 1 ms of each table,
    in every validation replication), else as the sample's frame, its columns set, joined to the answers'."""
    table = sample.reset_index(drop=True)
    names = list(table.columns) + [c for c in added if c not in table.columns]
    if len(set(names)) == len(names) and not set(answered) & set(names):
        # on the sample's own index: its columns are then not aligned to a new one (half the frame's time)
        out = pd.DataFrame({**dict(table.items()), id_col: ids, **added, **answered}, index=table.index, copy=False)
        return out, out, out
    table = table.copy()
    table[id_col] = ids
    for c, values in added.items():
        table[c] = values
    rows = pd.DataFrame(answered, copy=False)       # arrays of its own: copying them took 2 ms
    return pd.concat([table, rows], axis=1), table, rows


def with_zeros(values: pd.Series) -> np.ndarray:
    """``values.to_numpy(dtype=np.int64, na_value=0)``, read from a nullable integer column's data and mask without
    pandas' conversion (the validation study counts every unit's answered items in each replication)."""
    held = values.array
    if isinstance(held, pd.arrays.IntegerArray):
        data, mask = masked_parts(held)
        return np.where(mask, 0, data.astype(np.int64))
    return values.to_numpy(dtype=np.int64, na_value=0)


def equals_one(values: pd.Series) -> np.ndarray:
    """``(values == 1).fillna(False)`` as booleans; a nullable integer column's from its data and mask."""
    held = values.array
    if isinstance(held, pd.arrays.IntegerArray):
        data, mask = masked_parts(held)
        return ~mask & (data == 1)
    return (values == 1).fillna(False).to_numpy(dtype=bool)


def given(values: pd.Series) -> np.ndarray:
    """Which of ``values`` are not missing (read from the column's array, without a Series)."""
    return ~np.asarray(values.array.isna(), dtype=bool)
