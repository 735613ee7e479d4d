"""The weighted-design file: a design written to Parquet so that a later stage, or another tool, can
rebuild it exactly — weights, strata, PSUs, fpc, replicate weights and what linearisation needs.

One row per sampled unit of the design (units with weight 0, such as non-respondents after a
non-response adjustment, stay: they hold their PSU's place in the variance). Columns:

==================  ==========================================================================
``<data>``          the design's data (survey answers and auxiliary variables), as they were
``w_final``         the weights
``var_stratum``     stratum label (text)
``var_psu``         PSU code (integer, unique across strata)
``var_fpc``         first-stage sampling fraction of the unit's stratum (0: with replacement)
``rw_001`` …        replicate weights (the whole weighting recipe re-run in each replicate)
``cal<k>_d``        input weights of block ``k`` (the weights its step started from)
``cal<k>_x<j>``     auxiliary variables of calibration block ``k`` (one column per constraint; a
                    :func:`subset` or :func:`trim_weights` step has its input weights only)
``w_<variant>``     weights of named variants of the weighting (other stages, other methods)
==================  ==========================================================================

The Parquet schema carries a JSON description under the key ``portrait.survey.design``: which
column plays which role, the replicate method with its ``scale`` and ``rscales`` (variance
``scale Σ_r rscale_r (θ_r − θ̄)²``, as R ``svrepdesign``) and the replicates in which a bounded
calibration widened its bounds (``adjusted``), the steps linearisation reads — calibrations, and the
subsets and R-style trimmings after them — of the weights and of each variant (pointing to blocks, stored once
when several share them), and free
attributes (``attrs``) of the producer. Linearised variances use the residuals of the influence
values on each calibration block's auxiliaries weighted by its input weights (Deville & Särndal
1992), so a design read back gives the same estimates and standard errors as the one written.

A file without that description (weights from a survey institute, say) can be read by naming the
columns, as R's ``svydesign``/``svrepdesign`` do: ``read_design(path, weights="poids",
strata="strate", psu="up", replicates="^rw_", replicate_method="bootstrap", scale=1 / 499)``.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svrepdesign``)
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87, 376–382.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .design import Design, Step
from .labels import _string_codes
from .errors import ParameterError

FORMAT = "portrait.survey weighted design"
VERSION = 2      # 2: steps other than calibrations (subset, trim_weights, nonresponse); version 1 files still read
META_KEY = b"portrait.survey.design"
ROLE_COLUMNS = ("w_final", "var_stratum", "var_psu", "var_fpc")
_DERIVED = re.compile(r"^(w_\w+|rw_\d+|cal\d+_(d|x\d+))$")


def _not_rerunnable(design: Design):
    raise ParameterError("this design was read from a weighted-design file: its weighting steps cannot be re-run "
                         "on other weights; its replicate weights already hold them")


def _step_refs(d: Design, blocks: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    """The steps linearisation reads (:func:`~portrait.survey.linearisation.residualise`), as references to
    ``blocks`` (added there, each once): calibrations with their auxiliaries, and subsets and trimmings with their
    input weights (an audit: a subset or a trimming of a calibrated design read back gave other standard errors than
    R's and the design written)."""
    refs = []
    for step in d.steps:
        calibration = step.kind == "calibration" and step.X is not None
        if step.kind == "nonresponse":       # no block: what it marks is that the design is calibrated (lonely PSUs)
            refs.append({"label": step.label, "kind": "nonresponse"})
            continue
        if not calibration and not (step.kind in ("subset", "trim_weights") and step.d is not None):
            continue
        if calibration:
            X = np.asarray(step.X, dtype=float)
        elif step.kind == "subset" and step.info is not None:      # its units kept, as one 0/1 column
            X = np.asarray(step.info, dtype=float)[:, None]
        else:
            X = np.empty((len(d.weights), 0))
        dw = np.asarray(step.d, dtype=float)
        k = next((i for i, (bx, bd) in enumerate(blocks) if bx.shape == X.shape and np.array_equal(bx, X)
                  and np.array_equal(bd, dw)), None)
        if k is None:
            blocks.append((X, dw))
            k = len(blocks) - 1
        refs.append({"label": step.label, "block": k + 1} | ({} if calibration else {"kind": step.kind}))
    return refs


def design_table(design: Design, *, variants: Mapping[str, Design] | None = None,
                 keep: Sequence[str] | None = None, attrs: Mapping[str, Any] | None = None):
    """Build the weighted-design file's table (a ``pyarrow.Table`` with its description in the schema).

    The columns and the JSON description (under the schema key ``portrait.survey.design``) are those
    described in the module docstring; replicate weights are computed (the recipe re-run) if the
    design has replicates.

    Parameters
    ----------
    design : Design
        The weighted design.
    variants : mapping of str to Design, optional
        Other weightings of the same units (same rows, e.g. the design weights, another
        calibration method), written as ``w_<name>`` with their calibration steps; names use
        letters, digits and ``_``.
    keep : sequence of str, optional
        Data columns to write (default: all; a column named like a role column is an error).
    attrs : mapping, optional
        JSON-serialisable attributes of the producer (recipe parameters, sources…).

    Returns
    -------
    pyarrow.Table
        One row per unit of the design: its data, ``w_final``, ``var_stratum``, ``var_psu``,
        ``var_fpc``, the variants' weights, calibration blocks ``cal<k>_d``/``cal<k>_x<j>`` and
        replicate weights ``rw_<r>``.

    Raises
    ------
    ParameterError
        If a variant name is not made of letters, digits and ``_``, a variant has another number of
        units, a data column is absent or has a name reserved for the design's roles, or the design has
        later stages (a multistage design: the file holds one stage) or ``pps``.
    """
    import pyarrow as pa

    if design.later_stages is not None:
        raise ParameterError("a multistage design cannot be written: the file holds the first stage only "
                             "(build the design with its first stage alone for the ultimate-cluster variance)")
    if design.pps is not None:
        raise ParameterError("a PPS design without replacement (pps=) cannot be written: the file holds the "
                             "ultimate-cluster design only")
    variants = dict(variants or {})
    n = len(design.weights)
    for name, v in variants.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ParameterError(f"variant name {name!r}: use letters, digits and '_'")
        if len(v.weights) != n:
            raise ParameterError(f"variant {name!r} has {len(v.weights)} units, the design {n}")
    cols = list(design.data.columns) if keep is None else list(keep)
    clash = [c for c in cols if c in ROLE_COLUMNS or _DERIVED.match(str(c))]
    if clash:
        raise ParameterError(f"data columns {clash} have names the file reserves for the design's roles "
                             "(w_*, var_stratum, var_psu, var_fpc, rw_*, cal*_d, cal*_x*): rename them, or leave "
                             "them out with keep=")
    missing = [c for c in cols if c not in design.data.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the design's data")
    data = design.data[cols].reset_index(drop=True)          # dtypes kept (nullable, categorical)
    out: dict[str, Any] = {}
    labels = design.strata_labels if design.strata_labels is not None else np.unique(design.strata).astype(str)
    out.update({"w_final": design.weights, "var_stratum": np.asarray(labels).astype(str)[design.strata],
                "var_psu": design.psu.astype(np.int64), "var_fpc": design.fpc})
    blocks: list[tuple[np.ndarray, np.ndarray]] = []

    def steps_of(d: Design) -> list[dict]:
        return _step_refs(d, blocks)

    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "units": n, "weights": "w_final",
                            "strata": "var_stratum", "psu": "var_psu", "fpc": "var_fpc",
                            "calibration": steps_of(design), "variants": {}, "replicates": None,
                            "data": cols, "attrs": dict(attrs or {}), "lonely_psu": design.lonely_psu}
    if not design.stratified:
        meta["stratified"] = False
    for name, v in variants.items():
        col = "w_final" if np.array_equal(v.weights, design.weights) else f"w_{name}"
        if col != "w_final":
            out[col] = np.asarray(v.weights, dtype=float)
        meta["variants"][name] = {"weights": col, "calibration": steps_of(v)}
    block_meta = []
    for k, (X, dw) in enumerate(blocks, start=1):
        out[f"cal{k}_d"] = dw
        xs = [f"cal{k}_x{j:02d}" for j in range(1, X.shape[1] + 1)]
        out.update(dict(zip(xs, X.T)))
        block_meta.append({"d": f"cal{k}_d", "x": xs})
    meta["blocks"] = block_meta
    if design.has_replicates:
        R = design.replicate_weights()
        rcols = [f"rw_{r:03d}" for r in range(1, R.shape[1] + 1)]
        out.update(dict(zip(rcols, R.T)))
        rs = design.replicate_rscales
        meta["replicates"] = {"columns": rcols, "method": design.replicate_method or "replicates",
                              "scale": float(design.replicate_scale),
                              "rscales": None if rs is None else [float(x) for x in rs],
                              "mse": bool(design.replicate_mse),
                              "adjusted": [[int(r), str(step), float(lo), float(hi)]
                                           for r, step, lo, hi in design.replicate_adjustments().itertuples(index=False)]}
    frame = pd.concat([data, pd.DataFrame(out)], axis=1)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[META_KEY] = json.dumps(meta, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return table.replace_schema_metadata(schema_meta)


def write_design(design: Design, path: str | os.PathLike, *, variants: Mapping[str, Design] | None = None,
                 keep: Sequence[str] | None = None, attrs: Mapping[str, Any] | None = None) -> Path:
    """Write a weighted-design file (see the module docstring) atomically and byte-identically.

    The same input gives the same bytes, and the file appears complete or not at all (written to a
    temporary file in the same directory, then renamed). Parquet, uncompressed; parent
    directories are created.

    Parameters
    ----------
    design : Design
        The weighted design.
    path : str or os.PathLike
        Destination file.
    variants : mapping of str to Design, optional
        Other weightings of the same units (same rows, e.g. the design weights, another
        calibration method), written as ``w_<name>`` with their calibration steps; names use
        letters, digits and ``_``.
    keep : sequence of str, optional
        Data columns to write (default: all; a column named like a role column is an error).
    attrs : mapping, optional
        JSON-serialisable attributes of the producer (recipe parameters, sources…).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        As :func:`design_table`.

    See Also
    --------
    read_design : Rebuild the design from the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = design_table(design, variants=variants, keep=keep, attrs=attrs)
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)
    try:
        # numbers neither compressed nor dictionary-encoded: the replicate weights are most of the file, random
        # enough that lz4 saved a third of its size, and a later stage reads a memory-mapped uncompressed file
        # in half the time; text columns keep their dictionaries
        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or pa.types.is_dictionary(f.type)]
        pq.write_table(table, tmp, compression="none", use_dictionary=text, write_statistics=False, store_schema=True)
        mask = os.umask(0)          # the mode a new file of the user gets, not mkstemp's 0600
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def read_metadata(path: str | os.PathLike) -> dict | None:
    """Read the description of a weighted-design file (``None`` if the file has none).

    Parameters
    ----------
    path : str or os.PathLike
        A Parquet file.

    Returns
    -------
    dict or None
        The JSON description written by :func:`write_design`, or ``None`` for a Parquet file
        without one (e.g. weights from another producer).

    Raises
    ------
    ParameterError
        If the file is not readable Parquet, its description is not valid JSON, or it is of another
        format or version.
    """
    import pyarrow.parquet as pq

    return _description(path, _opened(path, pq.read_schema).metadata)


def _opened(path, opener):
    import pyarrow as pa

    try:
        return opener(path)
    except (pa.ArrowException, OSError) as exc:
        raise ParameterError(f"{path}: not a readable Parquet file ({type(exc).__name__}); "
                             "was it cut short or written by another program? Re-run the stage that writes it") from None


def _description(path, schema_metadata: dict | None) -> dict | None:
    raw = (schema_metadata or {}).get(META_KEY)
    if raw is None:
        return None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ParameterError(f"{path}: its weighted-design description is not valid JSON") from None
    if meta.get("format") != FORMAT or meta.get("version") not in (1, VERSION):
        raise ParameterError(f"{path}: weighted-design format {meta.get('format')!r} version {meta.get('version')!r} "
                             f"is not {FORMAT!r} version {VERSION}")
    return meta


PARALLEL_COPY = 2_000_000     # from this many numbers, a matrix is read out of the file in two threads
BATCH = 25                    # replicate columns decoded at a time: their Arrow buffers stay small and are reused


def _read_matrix(path: Path, columns: list[str], n: int, check: bool) -> np.ndarray:
    """The ``n × len(columns)`` matrix (Fortran order) of the file's columns, ``check``: each finite and
    non-negative (replicate weights).

    Decoded ``BATCH`` columns at a time, each batch copied into the matrix and dropped: the whole table is never
    held in Arrow beside the matrix (80 MB each for 20,000 × 500), so fewer fresh pages are touched. Large
    matrices take two threads, each with its own reader (a Parquet reader is not shared between threads)."""
    import pyarrow.parquet as pq

    out = np.empty((n, len(columns)), order="F")
    starts = list(range(0, len(columns), BATCH))

    def fill(batches: list[int]) -> None:
        pf = _opened(path, lambda p: pq.ParquetFile(p, memory_map=True))
        for start in batches:
            table = pf.read(columns=columns[start:start + BATCH], use_threads=False)
            for k in range(table.num_columns):
                col = out[:, start + k]
                col[:] = table.column(k).to_numpy()
                if check and n and not (col.min() >= 0 and np.isfinite(col.max())):
                    raise ParameterError(f"{path}: replicate weights column {columns[start + k]!r} is not finite "
                                         "and non-negative")

    if out.size < PARALLEL_COPY:
        fill(starts)
    else:           # Arrow decodes and numpy copies without the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(fill, starts[0::2]), pool.submit(fill, starts[1::2])]:
                f.result()
    return out


def read_design(path: str | os.PathLike, variant: str | None = None, *, weights: str | None = None,
                strata: str | None = None, psu: str | None = None, fpc: str | None = None,
                replicates: str | Sequence[str] | None = None, replicate_method: str = "bootstrap",
                scale: float | None = None, rscales: Sequence[float] | None = None, mse: bool = False) -> Design:
    """Rebuild a design from a weighted-design file (R ``svydesign``/``svrepdesign`` on a file).

    With the file's description (written by :func:`write_design`), nothing else is needed:
    ``variant`` picks one of its named variants (which has no replicate weights). Without it, name
    the columns as in R ``svydesign``/``svrepdesign``: ``weights``, optional ``strata``, ``psu``,
    ``fpc``, and ``replicates`` (a list of columns or a regular expression) with the variance
    ``scale`` and optional ``rscales``. A design read from a file cannot re-run its weighting steps;
    its calibration blocks still serve linearised variances, so estimates and standard errors equal
    those of the design written.

    Parameters
    ----------
    path : str or os.PathLike
        The weighted-design file (Parquet).
    variant : str, optional
        A named variant of a described file (default: the final weights, with replicates).
    weights : str, optional
        Undescribed files: the weights column (required for them).
    strata : str, optional
        Undescribed files: the stratum column.
    psu : str, optional
        Undescribed files: the PSU column.
    fpc : str, optional
        Undescribed files: the fpc column (population PSUs or sampling fraction).
    replicates : str or sequence of str, optional
        Undescribed files: the replicate-weight columns, or a regular expression matching them.
    replicate_method : str, default "bootstrap"
        Undescribed files: the replicates' method name.
    scale : float, optional
        Undescribed files: the replicate variance scale (required with ``replicates``), e.g.
        ``1/(R − 1)`` for a bootstrap, ``(R − 1)/R`` for JK1.
    rscales : sequence of float, optional
        Undescribed files: per-replicate scales (default 1).
    mse : bool, default False
        Undescribed files: centre replicate deviations on the full-sample estimate.

    Returns
    -------
    Design
        The design, with its calibration steps (not re-runnable) and replicate weights.

    Raises
    ------
    ParameterError
        If the file does not exist or is unreadable, a described file is given column names, the
        variant is unknown, the row count differs from the description, or an undescribed file lacks
        ``weights``, matching replicate columns or ``scale``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svrepdesign``)
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise ParameterError(f"weighted-design file {path} does not exist")
    # one opening, memory-mapped: the description and then only the columns this design needs
    with _opened(path, lambda p: pq.ParquetFile(p, memory_map=True)) as pf:
        meta = _description(path, pf.schema_arrow.metadata)
        if meta is None:
            return _design_from_columns(path, pd.read_parquet(path), weights, strata, psu, fpc, replicates,
                                        replicate_method, scale, rscales, mse)
        if any(a is not None for a in (weights, strata, psu, fpc, replicates, scale, rscales)):
            raise ParameterError(f"{path} describes its own columns; give only the variant")
        if variant is None:
            w, refs, rep = meta["weights"], meta["calibration"], meta["replicates"]
        elif variant in meta["variants"]:
            w, refs, rep = meta["variants"][variant]["weights"], meta["variants"][variant]["calibration"], None
        else:
            raise ParameterError(f"{path} has no variant {variant!r}; it has {sorted(meta['variants'])}")
        blocks = meta["blocks"]
        wanted = [*meta["data"], w, meta["strata"], meta["psu"], meta["fpc"],
                  *(c for r in refs if "block" in r for c in (blocks[r["block"] - 1]["d"], *blocks[r["block"] - 1]["x"]))]
        # the names once: schema_arrow is rebuilt at every access (once per column, 0.3 s of a 0.38 s read)
        held = set(pf.schema_arrow.names)
        absent = [c for c in dict.fromkeys([*wanted, *((rep or {}).get("columns") or [])]) if c not in held]
        if absent:           # pyarrow would skip them without a word, and the matrix would keep garbage
            raise ParameterError(f"{path}: its description names columns the file does not have: "
                                 f"{absent[:5]}{' …' if len(absent) > 5 else ''}; write the design again")
        table = pf.read(columns=list(dict.fromkeys(wanted)))      # only what this design needs; replicates below
    if table.num_rows != meta["units"]:
        raise ParameterError(f"{path}: {table.num_rows} rows, its description says {meta['units']}")

    def numbers(columns: list[str]) -> np.ndarray:
        out = np.empty((table.num_rows, len(columns)), order="F")   # no pandas frame for a calibration block
        for j, name in enumerate(columns):
            out[:, j] = table.column(name).to_numpy()
        return out

    def column(name: str) -> np.ndarray:
        return table.column(name).to_numpy()

    def steps(refs: list[dict]) -> tuple[Step, ...]:
        out = []
        for r in refs:
            kind = r.get("kind", "calibration")
            if kind == "nonresponse":
                out.append(Step(kind=kind, label=r["label"], apply=_not_rerunnable))
                continue
            b = blocks[r["block"] - 1]
            X = numbers(b["x"])
            out.append(Step(kind=kind, label=r["label"], apply=_not_rerunnable,
                            X=X if kind == "calibration" else None, d=column(b["d"]).astype(float),
                            info=X[:, 0] > 0 if kind == "subset" and X.shape[1] else None))
        return tuple(out)

    labels, st = _string_codes(table.column(meta["strata"]).to_pandas())
    data = table.select(meta["data"]).to_pandas()
    wv = column(w).astype(float)
    bad = np.flatnonzero(~np.isfinite(wv))       # negative ones are allowed: calibrate(allow_negative=True)
    if bad.size:
        raise ParameterError(f"{path}: weights column {w!r} has {bad.size} value(s) that are missing or infinite "
                             f"(the first at position {bad[0]}, counting from 0); weights must be finite")
    d = Design(data=data, weights=wv, strata=st.astype(int),
               psu=column(meta["psu"]).astype(np.int64).astype(int), fpc=column(meta["fpc"]).astype(float),
               steps=steps(refs), strata_labels=labels, lonely_psu=meta.get("lonely_psu", "fail"),
               stratified=bool(meta.get("stratified", True)))
    if rep is not None:
        replicates = _read_matrix(path, rep["columns"], table.num_rows, check=True)
        d = _attach_replicate_weights(d, replicates, scale=rep["scale"], rscales=rep["rscales"], mse=rep["mse"],
                                      method=rep["method"])
        d = replace(d, replicate_notes=tuple(tuple(a) for a in rep.get("adjusted", [])))
    return d


def _design_from_columns(path, df, weights, strata, psu, fpc, replicates, method, scale, rscales, mse) -> Design:
    if weights is None:
        raise ParameterError(f"{path} has no weighted-design description: name its weights column (weights=…) "
                             "and, if any, its strata, psu, fpc and replicate weight columns")
    d = Design.from_frame(df, weights=weights, strata=strata, psu=psu, fpc=fpc)
    if replicates is None:
        return d
    cols = ([c for c in df.columns if re.search(replicates, str(c))] if isinstance(replicates, str)
            else list(replicates))
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise ParameterError(f"{path}: no replicate weights column {absent} (its columns: "
                             f"{', '.join(map(str, list(df.columns)[:12]))}{' …' if len(df.columns) > 12 else ''})")
    if not cols:
        raise ParameterError(f"{path}: no column matches the replicate weights {replicates!r}")
    if scale is None:
        raise ParameterError("give the variance scale of the replicate weights (scale=…), e.g. 1/(R−1) for a "
                             "bootstrap with R replicates, (R−1)/R for JK1")
    return with_replicate_weights(d, df[cols], scale=scale, rscales=rscales, mse=mse,
                                  method=method)


def with_replicate_weights(design: Design, replicate_weights: np.ndarray, *, scale: float,
                           rscales: Sequence[float] | None = None, mse: bool = False,
                           method: str = "replicates") -> Design:
    """Attach ready-made replicate weights (``n × R``), as R ``svrepdesign(repweights=, scale=, rscales=)``.

    Unlike :func:`~portrait.survey.with_replicates`, nothing is re-run: the weights are used as given.
    The replicate variance is ``scale Σ_r rscale_r (θ_r − θ̄)²`` (or around θ with ``mse``).

    Parameters
    ----------
    design : Design
        The design the replicate weights belong to.
    replicate_weights : array_like
        ``n × R`` matrix, finite and non-negative, one row per unit.
    scale : float
        Overall variance multiplier.
    rscales : sequence of float, optional
        Per-replicate multipliers (default 1).
    mse : bool, default False
        Centre deviations on the full-sample estimate instead of the replicates' mean.
    method : str, default "replicates"
        Name of the method, shown in the estimators' ``variance`` column.

    Returns
    -------
    Design
        The design with ``replicate_matrix`` set (and any replicate factors removed).

    Raises
    ------
    ParameterError
        If the matrix has the wrong shape, values that are negative or not finite, or ``rscales`` of
        the wrong length, or values that are not numbers (text, even of numbers written as text, as
        :meth:`~portrait.survey.Design.from_frame`'s weights).
    """
    _refuse_text(replicate_weights)
    R = np.asarray(replicate_weights, dtype=float)
    if R.ndim != 2 or R.shape[0] != len(design.weights):
        raise ParameterError(f"replicate weights must be a matrix with one row per unit ({len(design.weights)}), "
                             f"got shape {R.shape}")
    if R.size and not (R.min() >= 0 and np.isfinite(R.max())):      # a NaN fails the first test
        raise ParameterError("replicate weights must be finite and non-negative")
    return _attach_replicate_weights(design, R, scale=scale, rscales=rscales, mse=mse, method=method)


def _refuse_text(values) -> None:
    """Refuse replicate weights that are not numbers: numpy would read « 1,5 » as an error but « 1.5 » as 1.5."""
    if isinstance(values, pd.DataFrame):
        kinds = {str(c): values[c].dtype.kind for c in values.columns}
    else:
        kinds = {"": np.asarray(values).dtype.kind}
    for name, kind in kinds.items():
        if kind not in "biuf":
            where = f"column {name!r} of the " if name else ""
            what = "text" if kind in "OSU" else repr(kind)
            raise ParameterError(f"{where}replicate weights must be numbers, got values of type {what}")


def _attach_replicate_weights(design: Design, R: np.ndarray, *, scale: float, rscales: Sequence[float] | None,
                              mse: bool, method: str) -> Design:
    """:func:`with_replicate_weights` for a matrix already checked (finite, non-negative, one row per unit)."""
    rs = np.ones(R.shape[1]) if rscales is None else np.asarray(rscales, dtype=float)
    if rs.shape != (R.shape[1],):
        raise ParameterError(f"rscales needs one value per replicate ({R.shape[1]}), got {rs.shape[0]}")
    return replace(design, replicate_matrix=R, replicate_factors=None, replicate_scale=float(scale),
                   replicate_rscales=rs, replicate_mse=bool(mse), replicate_method=method, replicate_notes=())


def first_replicates(design: Design, count: int) -> Design:
    """Keep only the design's first ``count`` bootstrap replicates (a bootstrap with fewer replicates).

    Bootstrap replicates are independent draws, so any ``count`` of them form a bootstrap whose
    variance scale is ``1/(count − 1)`` in place of ``1/(R − 1)``. Jackknife replicates are not
    exchangeable: for them this raises.

    Parameters
    ----------
    design : Design
        A design with bootstrap replicates.
    count : int
        Number of replicates kept, in ``[2, R]``.

    Returns
    -------
    Design
        The design with ``count`` replicate weights (as a ready-made matrix) and the rescaled scale;
        the widened-bounds notes of the replicates kept are kept.

    Raises
    ------
    ParameterError
        If the design has no replicates, they are not bootstrap replicates, or ``count`` is out of range.
    """
    if not design.has_replicates:
        raise ParameterError("the design has no replicate weights")
    if design.replicate_method != "bootstrap":
        raise ParameterError(f"only bootstrap replicates can be thinned, not {design.replicate_method!r}")
    R = design.replicate_weights()
    if not 2 <= count <= R.shape[1]:
        raise ParameterError(f"count must lie in [2, {R.shape[1]}], got {count}")
    scale = design.replicate_scale * (R.shape[1] - 1) / (count - 1)
    rs = None if design.replicate_rscales is None else design.replicate_rscales[:count]
    notes = design.replicate_adjustments()
    kept = tuple(tuple(a) for a in notes.loc[notes["replicate"] <= count].itertuples(index=False))
    return replace(with_replicate_weights(design, R[:, :count], scale=scale, rscales=rs, mse=design.replicate_mse,
                                          method="bootstrap"), replicate_notes=kept)
