"""Codes of the text labels of strata, PSUs and levels: the engine's coding of survey columns.

Strata are numbered in the sorted order of their labels' string forms and PSUs in the order of
(string of the stratum's number, string of the PSU's label): what ``np.unique`` of the strings gave
when every unit's label was converted and sorted. Bootstrap draws are assigned to PSUs in that
order, so it is kept exactly; but only the distinct labels are converted and sorted now (each unit
is read once, by a pyarrow look-up or ``pd.factorize``, or, for integer PSU labels, counted).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Hashable, Sequence

import numpy as np
import pandas as pd


_INT_DIGITS = 17    # integer PSU labels below 10**17 are ordered as strings without converting them
PARALLEL_UNITS = 50_000     # from this many units, columns are coded two at a time (two threads)


def _distinct(codes: np.ndarray) -> int:
    """``len(np.unique(codes))``; non-negative integer codes (strata, PSUs) are counted without sorting, also when
    they are a few of many (the PSUs of a domain: a table of up to 65,536 counts is cheaper than sorting them)."""
    if codes.dtype.kind in "iu" and len(codes) and codes.min() >= 0 and codes.max() < 4 * len(codes) + 65536:
        return int(np.count_nonzero(np.bincount(codes)))
    return len(np.unique(codes))


def unique_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True, return_counts=True)``; non-negative integer codes of a moderate range
    (PSUs, strata, calibration cells) are counted instead of sorted: the same three arrays."""
    codes = np.asarray(codes)
    if codes.dtype.kind in "iu" and codes.ndim == 1 and len(codes) and codes.min() >= 0 \
            and codes.max() < 4 * len(codes) + 65536:
        counts = np.bincount(codes)
        present = counts > 0
        rank = np.cumsum(present, dtype=np.intp) - 1
        return np.flatnonzero(present).astype(codes.dtype), rank[codes], counts[present]
    return np.unique(codes, return_inverse=True, return_counts=True)


def stable_order(codes: np.ndarray, groups: int) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` of codes 0 … ``groups`` − 1: as 16-bit integers when they fit, which numpy
    sorts by radix (a stable order is unique: the same positions)."""
    return np.argsort(codes.astype(np.uint16) if groups <= 65536 else codes, kind="stable")


def flat_layout(codes: np.ndarray, q: int) -> np.ndarray:
    """The position ``code × q + column`` of each value of an ``m × q`` array read row by row (``codes``: each row's):
    the layout of :func:`column_sums`, which a caller may keep for the next sums of the same rows and columns."""
    return (codes[:, None] * q + np.arange(q)).ravel()


def column_sums(flat: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Each column's sums of ``values`` (``m × q``) per code, ``size × q``, from their :func:`flat_layout`: one bincount
    for every column, each sum adding its rows in their order as a bincount per column does (the same floats)."""
    q = values.shape[1]
    return np.bincount(flat, weights=values.ravel(), minlength=size * q).reshape(size, q)


def arrow_chunks(values: pd.Series):
    """The ``pyarrow.ChunkedArray`` of a text column stored by pyarrow (pandas' default strings since
    pandas 3), or ``None`` for any other column: read through pandas' public ``__arrow_array__``, without a copy."""
    dtype = values.dtype
    if not ((isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")
            or (isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype) in ("string", "large_string"))):
        return None
    return values.array.__arrow_array__()


def masked_parts(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """The values and the missing mask held by a pandas nullable array (``IntegerArray``, ``FloatingArray``,
    ``BooleanArray``), without a copy: read where the public conversions cost too much (a simulation study reads
    every answer column in each of thousands of replications). The one place that reads pandas' private ``_data``
    and ``_mask`` (the pandas release is pinned in constraints.txt); the arrays must not be written to.

    Parameters
    ----------
    values : pandas.api.extensions.ExtensionArray
        A nullable (masked) pandas array.

    Returns
    -------
    data : numpy.ndarray
        The values (anything under the mask).
    mask : numpy.ndarray
        True where a value is missing.

    Raises
    ------
    TypeError
        If ``values`` is not a masked pandas array.
    """
    if not isinstance(values, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)):
        raise TypeError(f"a pandas nullable (masked) array is needed, got {type(values).__name__}")
    return values._data, values._mask


def float_values(values: pd.Series) -> np.ndarray:
    """``values.to_numpy(dtype=float, na_value=np.nan)``; a nullable integer or float column converted from its data
    and mask, without pandas' conversion (a third of its time, for a caller that reads every option column of its
    multiple-response items in each of thousands of replications)."""
    held = values.array
    if isinstance(held, (pd.arrays.IntegerArray, pd.arrays.FloatingArray)):
        data, mask = masked_parts(held)
        return np.where(mask, np.float64(np.nan), data)     # one pass; a float64 NaN makes the result float64
    return values.to_numpy(dtype=float, na_value=np.nan)


_KEPT: dict[tuple[Hashable, tuple[int, ...]], tuple[tuple[weakref.ref, ...], Any]] = {}
KEPT_MAX = 32


def kept_for_arrays(arrays: Sequence[Any], kind: Hashable, build: Callable[[], Any]) -> Any:
    """``build()``, kept for later calls with the same ``arrays`` (by identity, held weakly: arrays never written to,
    such as a design's PSU codes or a text column's Arrow array) and ``kind``: the engine's one memo of what is
    worked out from such arrays. It keeps the :data:`KEPT_MAX` most recently used entries; with an array that cannot
    be weakly referenced, ``build`` runs each time. What ``build`` returns is shared by those calls and must not be
    changed; if it holds the arrays, they stay in memory until pushed out."""
    key = (kind, tuple(id(a) for a in arrays))
    hit = _KEPT.pop(key, None)         # put back last: the least recently used entry is pushed out first
    if hit is None or any(r() is not a for r, a in zip(hit[0], arrays)):
        try:
            refs = tuple(weakref.ref(a) for a in arrays)
        except TypeError:
            return build()
        hit = (refs, build())          # build may keep entries of its own
        for old in [k for k, (rs, _) in _KEPT.items() if any(r() is None for r in rs)]:
            del _KEPT[old]
        while len(_KEPT) >= KEPT_MAX:
            del _KEPT[next(iter(_KEPT))]
    _KEPT[key] = hit
    return hit[1]


def kept_for_arrow(values: pd.Series | np.ndarray, kind: Hashable, build: Callable[[Any], Any]) -> Any:
    """``build(values)``, kept with the Arrow array of a text column (:func:`arrow_chunks`; :func:`kept_for_arrays`)
    for later calls on the same array and ``kind``: a validation looks up or stratifies the same frame's codes in
    every replication, and a survey's non-response model, level merging and calibrations code the same columns. Any
    other column is built each time. What ``build`` returns may hold the array (an index does), so give it codes, not
    free text."""
    chunks = arrow_chunks(values) if isinstance(values, pd.Series) else None
    if chunks is None:
        return build(values)
    return kept_for_arrays((chunks,), kind, lambda: build(values))


def stratum_fractions(raw: np.ndarray, st: np.ndarray, cl: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sampling fraction of each stratum code from the finite population corrections ``raw`` (one per unit: a
    fraction ≤ 1, else a population size) of units in strata ``st`` and clusters ``cl`` (codes), counted at once.

    Returns, per stratum code: the fraction (the fpc if ≤ 1, else the stratum's distinct clusters over it; 0 for
    a code no unit has), whether the fpc varies within the stratum, whether the fraction falls outside [0, 1], the
    distinct clusters and the lowest fpc (for the callers' messages)."""
    H, m = int(st.max()) + 1, int(cl.max()) + 1
    low, high = np.full(H, np.inf), np.full(H, -np.inf)
    np.minimum.at(low, st, raw)
    np.maximum.at(high, st, raw)
    present = np.bincount(st, minlength=H) > 0
    stratum_of = np.full(m, -1, dtype=np.int64)
    stratum_of[cl] = st
    if np.array_equal(stratum_of[cl], st):       # each cluster in one stratum (a design's PSUs): counted, not sorted
        n = np.bincount(stratum_of[stratum_of >= 0], minlength=H)
    else:
        n = np.bincount(np.unique(st.astype(np.int64) * m + cl) // m, minlength=H)
    with np.errstate(divide="ignore"):                # a fraction of 0 is taken as given, never divided by
        frac = np.where(low <= 1, low, n / low)       # an absent code: 0 clusters of ∞
    return frac, present & (low != high), present & ~((frac >= 0) & (frac <= 1)), n, low


def r_number(x: float) -> str:
    """A number as R's ``deparse`` writes it: at most 15 significant digits, fixed unless scientific is shorter
    (``100000`` → ``1e+05``, ``0.0001`` → ``1e-04``, ``0.001`` → ``0.001``)."""
    if not np.isfinite(x):
        return "Inf" if x > 0 else "-Inf" if x < 0 else "NaN"
    if x == 0:
        return "0"
    digits = next(d for d in range(1, 16) if float(f"{x:.{d - 1}e}") == float(f"{x:.14e}"))
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    sci = f"{mantissa}e{'-' if int(exponent) < 0 else '+'}{abs(int(exponent)):02d}"
    fixed = f"{x:.{max(0, digits - 1 - int(exponent))}f}"
    return fixed if len(fixed) <= len(sci) else sci


def level_name(value: object) -> str:
    """One level as text, a float as R writes a factor's level (``1.0`` → « 1 », :func:`r_number`), anything else
    as ``str``: what :func:`level_text` makes of a column, for one value."""
    return r_number(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def level_text(values: pd.Series) -> pd.Series:
    """A column's values as level names (pandas strings, missing kept missing), numbers written as R writes a
    factor's levels: a float column (a code read with missing values, hence as floats) gives « 1 », not « 1.0 »,
    and « 0.5 », « 1e+05 » as R's ``as.character`` (:func:`r_number`)."""
    if isinstance(values.dtype, pd.CategoricalDtype):     # by its categories: numbers with a missing one read « 1.0 »
        names = level_text(pd.Series(values.cat.categories)).to_numpy(dtype=object)
        return pd.Series(pd.array(np.append(names, None)[values.cat.codes.to_numpy()], dtype="string"),
                         index=values.index)
    if pd.api.types.is_float_dtype(values.dtype):
        codes, uniques = pd.factorize(values.to_numpy(dtype=float, na_value=np.nan))
        names = np.array([r_number(float(u)) for u in uniques] + [None], dtype=object)
        return pd.Series(pd.array(names[codes], dtype="string"), index=values.index)
    return values.astype("string")


def level_order(values: pd.Series, levels) -> list[str]:
    """The level names ``levels`` (from :func:`level_text`) of a column in R's order: by value for a numeric column
    (« 2 » before « 10 »), as text otherwise, by character code: R's order in the C locale (R in a UTF-8 locale
    collates capitals and accents otherwise; a pandas Categorical fixes an order of one's own)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return sorted(levels, key=float)
    return sorted(levels)


def _joined_text(data: pd.DataFrame, columns: Sequence[str], sep: str, na: str, dtype: str = "string") -> pd.Series:
    """Each row's values of ``columns`` as text joined by ``sep`` (a missing value written ``na``);
    ``data[columns].astype(dtype).agg(sep.join, axis=1)``, column-wise rather than row by row (with ``"string"``,
    numbers as :func:`level_text` writes them)."""
    cols = [level_text(data[c]) if dtype == "string" else data[c].astype(dtype) for c in columns]
    cols = [c.fillna(na) if dtype == "string" else c for c in cols]
    return cols[0].str.cat(cols[1:], sep=sep) if len(cols) > 1 else cols[0]


def _missing_count(values: pd.Series) -> int:
    """``values.isna().sum()``, read from the storage when it knows (pyarrow's null count, NumPy
    integers and booleans that cannot be missing)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "iub":
            return 0
        if dtype.kind == "f":
            return int(np.count_nonzero(np.isnan(values.to_numpy())))
    elif arrow_chunks(values) is not None:
        return int(values.array.__arrow_array__().null_count)
    return int(values.isna().sum())


def _text_factorize(arr) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize`` of a pyarrow text column without missing values, in about half the time.

    The distinct labels of ~1,000 rows spread over the column are looked up for every unit
    (``pyarrow.compute.index_in``: one probe per unit in a small table, where ``pd.factorize``
    inserts every unit into a table of its own); labels missed by the sample are added and looked
    up once more.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    labels = pc.unique(arr.take(pa.array(np.arange(0, n, max(1, n // 1024)))))
    idx = pc.index_in(arr, value_set=labels)
    if idx.null_count:
        rest = pc.unique(pc.filter(arr, pc.is_null(idx)))
        labels = pa.concat_arrays([labels, rest])
        idx = pc.index_in(arr, value_set=labels)
    return idx.to_numpy().astype(np.int64, copy=False), labels.to_pylist()


def _string_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values.astype(str).to_numpy(), return_inverse=True)`` (no missing values)."""
    arr = arrow_chunks(values)
    if arr is not None and len(arr):
        codes, uniques = _text_factorize(arr)
        strings = np.array(uniques, dtype=object)
    elif isinstance(values.dtype, pd.CategoricalDtype) and len(values):
        # the categories' codes, the categories met by some unit
        codes = values.cat.codes.to_numpy().astype(np.int64)
        met = np.flatnonzero(np.bincount(codes, minlength=len(values.cat.categories)))
        labels, rank = np.unique(pd.Series(values.cat.categories[met]).astype(str).to_numpy(), return_inverse=True)
        of_category = np.zeros(len(values.cat.categories), dtype=np.int64)
        of_category[met] = rank
        return labels, of_category[codes]
    else:
        codes, uniques = pd.factorize(values, sort=False)
        strings = pd.Series(uniques).astype(str).to_numpy()
    labels, rank = np.unique(strings, return_inverse=True)
    return labels, rank[codes]


def kept_text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_string_codes` of a text column held by pyarrow without missing values, kept for the next call on the
    same Arrow array (:func:`kept_for_arrow`; both arrays read-only: shared by those calls); ``None`` for any other
    column (or an empty one).

    Returns the distinct texts in sorted order (object array) and each unit's rank among them."""
    arr = arrow_chunks(values)
    if arr is None or arr.null_count or not len(arr):
        return None
    return kept_for_arrow(values, "sorted codes", _frozen_string_codes)


def keep_text_codes(values: pd.Series, codes: np.ndarray, texts: Sequence[str]) -> None:
    """Keep for ``values``, the texts ``texts[codes]`` (a code below 0: missing), what :func:`kept_text_codes` reads
    from them, worked out from the codes instead of the texts: for texts a caller made from codes (groups of a frame's
    attributes, made again in each replication of a simulation), then coded by a model. Nothing is kept for a column
    :func:`kept_text_codes` would not keep (not held by pyarrow, a missing value, empty).

    Parameters
    ----------
    values : pandas.Series
        The texts of ``texts`` at ``codes``.
    codes : numpy.ndarray
        Each value's position in ``texts``.
    texts : sequence of str
        The texts the codes index.
    """
    arr = arrow_chunks(values)
    if arr is None or arr.null_count or not len(arr):
        return

    def build(_: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        present = np.flatnonzero(np.bincount(codes, minlength=len(texts)))
        distinct, rank = np.unique(np.array([str(texts[i]) for i in present], dtype=object), return_inverse=True)
        of_code = np.zeros(len(texts), dtype=np.int64)
        of_code[present] = rank
        kept = (distinct, of_code[codes])
        for a in kept:
            a.flags.writeable = False
        return kept

    kept_for_arrow(values, "sorted codes", build)


def _frozen_string_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes = _string_codes(values)
    for a in codes:
        a.flags.writeable = False
    return codes


def _integer_labels(values: pd.Series) -> np.ndarray | None:
    """The labels as int64 when they are integers in [0, 10**17) (``None`` otherwise)."""
    dtype = values.dtype
    if not (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype)):
        return None
    v = values.to_numpy()
    if v.dtype.kind not in "iu":          # nullable integers (no missing value here)
        v = values.to_numpy(dtype=np.int64)
    if len(v) == 0 or int(v.min()) < 0 or int(v.max()) >= 10 ** _INT_DIGITS:
        return None
    return v.astype(np.int64, copy=False)


def _decimal_string_order(u: np.ndarray, ascending: bool = False) -> np.ndarray:
    """Argsort of distinct non-negative integers by their decimal strings (``"10" < "9"``).

    With ``D`` the digits of the largest, the strings' order is that of ``x`` padded with zeros on
    the right to ``D`` digits, ties (``1``, ``10``, ``100``) broken by length. Input in ascending
    order holds one ascending run per length, which the stable sort (timsort) merges in near-linear
    time.
    """
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    powers = 10 ** np.arange(1, _INT_DIGITS + 1, dtype=np.int64)
    if ascending:
        counts = np.diff(np.searchsorted(u, powers), prepend=0)
        counts = np.append(counts, len(u) - counts.sum())
        D = int(np.flatnonzero(counts)[-1]) + 1
        counts = counts[:D]
        digits = np.arange(1, D + 1, dtype=np.int64)
        key = u * np.repeat(10 ** (D - digits) * (D + 1), counts)
        key += np.repeat(digits, counts)
    else:
        length = 1 + np.searchsorted(powers, u, side="right")
        D = int(length.max())
        key = u * 10 ** (D - length) * (D + 1) + length
    return np.argsort(key, kind="stable")


def _stratum_order(st: np.ndarray) -> np.ndarray:
    """Each stratum code's rank among the codes' strings (``"10" < "2"``), as 16-bit integers."""
    H = int(st.max()) + 1 if len(st) else 1
    srank = np.empty(H, dtype=np.int16 if H < 2 ** 15 else np.int64)
    srank[np.argsort(np.arange(H).astype(str), kind="stable")] = np.arange(H)
    return srank


def _psu_labels(values: pd.Series) -> tuple:
    """The part of the PSU coding that does not depend on the strata.

    ``("units", by_label)`` when every unit is its own PSU with integer labels lo, lo + 1, …
    (``by_label``: the units in the order of their labels' strings); otherwise ``("labels", pcodes,
    rank, R)``: each unit's label index, each label's rank among the ``R`` distinct strings.
    """
    n = len(values)
    ints = _integer_labels(values)
    if ints is not None and int(ints.max()) - int(ints.min()) < 4 * n + 1024:
        # compact integer labels: counted, not hashed; uniques come out in ascending order
        lo = int(ints.min())
        offset = ints - lo
        present = np.zeros(int(ints.max()) - lo + 1, dtype=bool)
        present[offset] = True
        if len(present) == n and present.all():
            order = _decimal_string_order(np.arange(lo, lo + n, dtype=np.int64), ascending=True)
            if n < 2 or bool(np.all(offset[1:] > offset[:-1])):
                return ("units", order)                 # labels in the order of the rows
            unit = np.empty(n, dtype=np.int64)
            unit[offset] = np.arange(n)
            return ("units", unit[order])
        uniques = np.flatnonzero(present) + lo
        remap = np.zeros(len(present), dtype=np.int64)
        remap[uniques - lo] = np.arange(len(uniques))
        pcodes = remap[offset]
        order = _decimal_string_order(uniques, ascending=True)
    else:
        pcodes, uniques = pd.factorize(values, sort=False)
        order = _decimal_string_order(np.asarray(uniques, dtype=np.int64)) if ints is not None else None
    P = len(uniques)
    if order is not None:
        rank = np.empty(P, dtype=np.int64)
        rank[order] = np.arange(P)
        return ("labels", pcodes, rank, P)
    held = arrow_chunks(pd.Series(uniques, copy=False))
    if held is not None and not held.null_count:
        # distinct texts ranked in Arrow (by UTF-8 bytes: the order of code points, Python's), not as Python strings
        # sorted by np.unique (the PSU labels of a two-stage design, 0.6 ms for a few thousand)
        import pyarrow.compute as pc

        rank = np.asarray(pc.rank(held, sort_keys="ascending", tiebreaker="first")).astype(np.int64) - 1
        return ("labels", pcodes, rank, P)
    strings, rank = np.unique(pd.Series(uniques).astype(str).to_numpy(), return_inverse=True)
    return ("labels", pcodes, rank, len(strings))


def _psu_codes_in_strata(st: np.ndarray, labels: tuple) -> np.ndarray:
    """PSU codes from :func:`_psu_labels` and the strata codes (see :func:`_psu_codes`)."""
    n = len(st)
    srank = _stratum_order(st)
    if labels[0] == "units":
        # every unit its own PSU: the units in their labels' order, then stably by their strata's
        # ranks (a radix sort on 16-bit keys)
        by_label = labels[1]
        by_label = by_label[np.argsort(srank[st[by_label]], kind="stable")]
        cl = np.empty(n, dtype=np.int64)
        cl[by_label] = np.arange(n)
        return cl
    _, pcodes, rank, R = labels
    P = len(rank)
    pst = np.zeros(P, dtype=np.int64)
    pst[pcodes] = st
    if R == P and np.array_equal(pst[pcodes], st):
        # every PSU label in one stratum, distinct strings: sort the PSUs by string rank (a
        # permutation), then, stably, by the stratum's rank
        by_rank = np.empty(P, dtype=np.int64)
        by_rank[rank] = np.arange(P)
        by_stratum = by_rank[np.argsort(srank[pst[by_rank]], kind="stable")]
        code = np.empty(P, dtype=np.int64)
        code[by_stratum] = np.arange(P)
        return code[pcodes]
    key = srank[st].astype(np.int64) * R + rank[pcodes]
    if int(key.max()) < 4 * n + 1024:
        present = np.flatnonzero(np.bincount(key))
        remap = np.zeros(int(key.max()) + 1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return remap[key]
    return np.unique(key, return_inverse=True)[1]


def _psu_codes(st: np.ndarray, values: pd.Series) -> np.ndarray:
    """PSU codes in the order of ``np.unique`` of ``str(stratum code) + "\x1f" + str(psu)``."""
    return _psu_codes_in_strata(st, _psu_labels(values))
