"""Calibration (linear, raking, bounded logit, truncated linear) to categorical and numeric margins.

Calibration solves Deville & Särndal's (1992) equations ``Σ d_k F(x_k'λ) x_k = T`` for the
Lagrange multipliers λ by Newton's method, with ``g_k = w_k / d_k = F(x_k'λ)``:

============  ==================================================  ===================
method        F(u)                                                g range
============  ==================================================  ===================
linear        1 + u                                               unbounded
raking        exp(u)                                              (0, ∞)
raking [L,U]  min(max(exp(u), L), U)                              [L, U]
logit         (L(U−1) + U(1−L)e^{Au}) / (U−1 + (1−L)e^{Au}),      (L, U)
              A = (U−L) / ((1−L)(U−1))
truncated     min(max(1 + u, L), U)                               [L, U]
============  ==================================================  ===================

With categorical margins only, ``x_k`` and therefore ``g_k`` depend only on the unit's cell, so
the solve works on the table of cells (one aggregation pass, the Newton iterations on the
cells, one pass to map back): the cost of an iteration is the number of cells, not of units.

Before solving, margins are checked (equal grand totals, levels present on both sides, no missing
values, no redundant or contradictory constraints) and a :class:`~portrait.survey.errors.CalibrationError`
names the margin and level at fault; after solving, the achieved margins are always verified.
When bounds make the problem infeasible, a linear program names the margin that cannot be
reached and gives the tightest feasible bounds. In a replicate (the step re-run on replicate
weights), bounds that cannot hold are widened by a stated rule rather than the replicate dropped:
the narrowest bounds containing ``[L, U]`` that a linear program finds feasible, each side that
moved pushed a further 10 % of its distance to 1; :meth:`Design.replicate_adjustments` lists the
replicates where this happened.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87,
376–382.
Deville, J.-C., Särndal, C.-E. and Sautory, O. (1993). Generalized raking procedures in survey
sampling. *JASA* 88, 1013–1020.
Lumley, T. R package ``survey``: ``calibrate``, ``grake``, ``cal.logit``, ``trimWeights``.
Kish, L. (1965). *Survey Sampling*. Wiley. (design effect due to weighting, effective sample size)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from . import labels as _labels
from .design import Deferred, Deferring, Design, Step
from .labels import arrow_chunks, _missing_count
from .errors import CalibrationError, ParameterError, calibration_bounds, numeric_values
from .feasibility import diagnose_infeasible, empty_levels, negative_weights, widened_bounds
from .margins import JOINT, Margin, NumericTotal, margin_list, no_unit_error
from .newton import METHODS, _newton, _newton_rows, _products


# ============================================================================ result


@dataclass(frozen=True)
class CalibrationResult(Deferring):
    """Record what a calibration did: method, convergence, multipliers, achieved margins, g range.

    Kept as the ``info`` of the calibration :class:`Step`. ``achieved`` (target and achieved total of
    every margin level) is built when first read.

    Attributes
    ----------
    method : str
        The distance used, one of :data:`CALIBRATION_METHODS`.
    bounds : tuple of float or None
        The bounds ``(L, U)`` on ``g = w/d`` of a ``logit``, ``truncated`` or bounded ``raking`` calibration,
        ``None`` otherwise.
    converged : bool
        Always ``True`` (a calibration that does not converge raises :class:`CalibrationError`).
    iterations : int
        Newton iterations used.
    max_rel_misfit : float
        Largest relative misfit ``|T − Σ w x| / (1 + |T|)`` over every level of every margin.
    lambdas : numpy.ndarray
        Lagrange multipliers λ, one per constraint solved (the first level of every margin but the
        first is implied by the equal grand totals).
    g_min : float
        Smallest calibration factor ``g = w/d`` among the units weighted.
    g_max : float
        Largest calibration factor ``g = w/d`` among the units weighted.
    achieved : pandas.DataFrame
        One row per margin level with ``margin``, ``level``, ``target``, ``achieved`` and ``rel_diff``
        (``(achieved − target) / max(|target|, 1)``).
    """

    method: str
    bounds: tuple[float, float] | None
    converged: bool
    iterations: int
    max_rel_misfit: float
    lambdas: np.ndarray = field(repr=False)
    g_min: float
    g_max: float
    achieved: pd.DataFrame = field(repr=False)


# ============================================================================ model matrix


@dataclass(frozen=True)
class _Problem:
    names: list[tuple[str, str]]      # (margin, level) per column
    X: np.ndarray                     # cells × p (or units × p)
    T: np.ndarray
    cell_of: np.ndarray               # unit -> cell (only for active units)
    active: np.ndarray                # indices of units with positive weight
    margin_of_col: list[str]
    X_all: np.ndarray                 # every level of every margin, to verify the achieved totals
    T_all: np.ndarray
    names_all: list[tuple[str, str]]


def _map(fn, items: list, parallel: bool) -> list:
    """``[fn(x) for x in items]``, in two threads when ``parallel`` (and there are two cores).

    The threads live only for the call: no pool survives it (a process forked later, such as a
    simulation's worker, inherits none).
    """
    if not parallel or len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


def _arrow_level_codes(values: pd.Series, levels: list[str]) -> np.ndarray | None:
    """Each value's index in ``levels``, for a text column stored by pyarrow (pandas' default
    strings) whose every value is one of the margin's levels or missing (-1: none among the units
    weighted, which :func:`_check_inputs` makes sure of); ``None`` otherwise.

    One look-up per unit in the small table of the levels (``pyarrow.compute.index_in``) costs about
    half of hashing the units into a table of their own (``pd.factorize``); categorical columns give
    their codes, and any other case (other dtypes, a missing value, a value without a level) goes
    through ``pd.factorize``. The codes are kept for the next call on the same Arrow array and levels
    (read-only: shared by those calls).
    """
    if arrow_chunks(values) is None:
        return None
    return _labels.kept_for_arrow(values, ("level codes", tuple(levels)), lambda v: _level_codes(v, levels))


def _level_codes(values: pd.Series, levels: list[str]) -> np.ndarray | None:
    """:func:`_arrow_level_codes` of an Arrow text column, computed (read-only)."""
    kept = _labels.kept_text_codes(values)     # the sorted codes the non-response model made: a look-up per text
    if kept is not None:
        position = {lv: i for i, lv in enumerate(levels)}
        of_text = np.array([position.get(t, -1) for t in kept[0]], dtype=np.int64)
        codes = None if (of_text < 0).any() else of_text[kept[1]]       # every text is some unit's value
    else:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = arrow_chunks(values)
        idx = pc.index_in(arr, value_set=pa.array(levels, type=arr.type))      # a missing value finds none
        codes = None if idx.null_count > arr.null_count else pc.fill_null(idx, -1).to_numpy().astype(np.int64)
    if codes is not None:
        codes.flags.writeable = False
    return codes


def _check_inputs(design: Design, margins: Sequence[Margin | NumericTotal]
                  ) -> tuple[np.ndarray, list[Margin], list[NumericTotal], dict[str, pd.Series], bool]:
    """Margins present, variables in the data without missing values among the units weighted, equal
    grand totals. Returns the units weighted, the categorical and numeric margins, the variables' data
    and whether every unit is weighted."""
    if not margins:
        raise CalibrationError("no margin to calibrate on")
    active = np.flatnonzero(design.weights > 0)
    if len(active) == 0:
        raise CalibrationError("no unit has a positive weight")
    cats = [m for m in margins if isinstance(m, Margin)]
    nums = [m for m in margins if isinstance(m, NumericTotal)]
    needed = list(dict.fromkeys(v for m in margins for v in
                                (m.variables if isinstance(m, Margin) else (m.variable,))))
    absent = [v for v in needed if v not in design.data.columns]
    if absent:
        raise CalibrationError(f"calibration variable {absent[0]!r} is not in the survey data")
    every = len(active) == len(design.weights)
    data = {v: design.data[v] for v in needed}
    for m in margins:
        for v in (m.variables if isinstance(m, Margin) else (m.variable,)):
            k = _missing_count(data[v])
            if k and not every:
                k = int(np.count_nonzero(data[v].isna().to_numpy()[active]))
            if k:
                raise CalibrationError(f"calibration variable {v!r} has {k} missing value(s) among the "
                                       f"{len(active)} units being weighted; impute or drop them first")
    if cats:
        gts = {m.name: m.grand_total for m in cats}
        ref = next(iter(gts.values()))
        if any(abs(t - ref) > 1e-9 * max(1.0, abs(ref)) for t in gts.values()):
            listed = ", ".join(f"{k!r} {v:,.0f}" for k, v in gts.items())
            raise CalibrationError(f"margins have different grand totals: {listed}; they must describe "
                                   "the same population")
    return active, cats, nums, data, every


def _variable_codes(cats: list[Margin], data: dict[str, pd.Series], active: np.ndarray, every: bool
                    ) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Each categorical variable's codes over the units weighted and the levels they index.

    Each variable is read once, over all units, then restricted to the units weighted; only the
    distinct values become strings. On large samples the variables are coded side by side (the
    look-ups run in pyarrow, outside Python's lock).
    """
    def code(v: str) -> tuple[np.ndarray, list[str]]:
        levels_v = sorted({lv[j] for m in cats for j, var in enumerate(m.variables) if var == v for lv in m.totals})
        codes = _arrow_level_codes(data[v], levels_v)
        if codes is not None:
            uniq = levels_v
        elif isinstance(data[v].dtype, pd.CategoricalDtype):
            # the categories' codes (-1 for missing values, excluded above among the units weighted)
            codes = data[v].cat.codes.to_numpy().astype(np.int64)
            uniq = [str(c) for c in data[v].cat.categories]
        else:
            codes, uniq_values = pd.factorize(data[v], sort=False)
            as_r = pd.api.types.is_float_dtype(data[v].dtype)     # a code read with missing values: « 1 », as R
            uniq = [_labels.r_number(float(u)) if as_r else str(u) for u in uniq_values]
        return (codes if every else codes[active], uniq)

    cat_vars = list(dict.fromkeys(v for m in cats for v in m.variables))
    return dict(zip(cat_vars, _map(code, cat_vars, parallel=len(active) >= _labels.PARALLEL_UNITS)))


def _check_present(m: Margin, level_of: np.ndarray, data: dict[str, pd.Series]) -> None:
    """Every level of a margin has units (``level_of``: level index of units or of cells)."""
    levels = sorted(m.totals)
    counts = np.bincount(level_of, minlength=len(levels))
    missing = [lv for lv, c in zip(levels, counts) if c == 0]
    if missing:
        raise no_unit_error(m, missing[0], data)


def _joint_level_index(m: Margin, factorized: dict[str, tuple[np.ndarray, list[str]]], n: int,
                       data: dict[str, pd.Series]) -> np.ndarray:
    """Each unit's level in a margin whose codes do not index its levels directly (a joint margin, or
    levels other than the values met): variables' codes combined, decoded once per distinct code."""
    levels = sorted(m.totals)
    combined = np.zeros(n, dtype=np.int64)
    uniques_per_var = []
    for v in m.variables:
        codes, uniq = factorized[v]
        combined = combined * (len(uniq) + 1) + codes
        uniques_per_var.append(uniq)
    ucodes, inverse, _ = _labels.unique_codes(combined)
    sizes = [len(u) + 1 for u in uniques_per_var]
    tuples = []
    for c in ucodes:
        parts = []
        for size, uniq in zip(reversed(sizes), reversed(uniques_per_var)):
            parts.append(uniq[c % size])
            c //= size
        tuples.append(tuple(reversed(parts)))
    position = {lv: i for i, lv in enumerate(levels)}
    lookup = np.array([position.get(t, -1) for t in tuples])
    present = set(tuples)
    missing = [lv for lv in levels if lv not in present]
    if missing:
        raise no_unit_error(m, missing[0], data)
    if (lookup < 0).any():
        i = int(np.flatnonzero(lookup < 0)[0])
        cnt = int(np.count_nonzero(inverse == i))
        raise CalibrationError(f"margin {m.name!r}: level {JOINT.join(tuples[i])!r} occurs in the sample "
                               f"({cnt} units) but has no population total in the margin")
    return lookup[inverse]


def _check_rank(X: np.ndarray, T: list[float], margin_of_col: list[str]) -> None:
    """Redundant or contradictory constraints: name the margins implied by the others."""
    rank = np.linalg.matrix_rank(X)
    if rank == X.shape[1]:
        return
    culprits = []
    for name in dict.fromkeys(margin_of_col):
        keep = [c for c, mm in enumerate(margin_of_col) if mm != name]
        if keep and np.linalg.matrix_rank(X[:, keep]) + sum(mm == name for mm in margin_of_col) > rank:
            culprits.append(name)
    sol, *_ = np.linalg.lstsq(X.T, np.asarray(T), rcond=None)
    consistent = np.allclose(X.T @ sol, T, rtol=1e-9, atol=1e-6)
    what = "redundant" if consistent else "contradictory"
    raise CalibrationError(
        f"calibration constraints are {what}: margin(s) {culprits} are implied by the others"
        + ("" if consistent else " with different totals")
        + "; calibrate on the joint margin alone (or on the one-way margins alone)")


def _build(design: Design, margins: Sequence[Margin | NumericTotal]) -> _Problem:
    """:func:`_built`, kept for the next calibration of the same units weighted to the same margins on the same
    columns (a simulation study that calibrates the same stage by raking, then by logit): when every calibration
    variable is an Arrow text column (immutable, so its identity fixes its values; :func:`~portrait.survey.labels.
    kept_for_arrays`), with the margins' variables and totals in the key and the units weighted compared."""
    margins = margin_list(margins)
    if not all(isinstance(m, Margin) for m in margins) or not margins:
        return _built(design, margins)
    needed = list(dict.fromkeys(v for m in margins for v in m.variables))
    chunks = [arrow_chunks(design.data[v]) if v in design.data.columns else None for v in needed]
    if any(c is None for c in chunks):
        return _built(design, margins)
    active = np.flatnonzero(design.weights > 0)
    key = ("calibration problem", tuple(needed), len(design.weights),
           tuple((m.variables, tuple(sorted(m.totals.items()))) for m in margins))
    kept_active, problem = _labels.kept_for_arrays(chunks, key, lambda: (active, _read_only(_built(design, margins))))
    return problem if np.array_equal(kept_active, active) else _built(design, margins)


def _read_only(problem: _Problem) -> _Problem:
    for a in (problem.X, problem.T, problem.cell_of, problem.active, problem.X_all, problem.T_all):
        a.flags.writeable = False
    return problem


def _built(design: Design, margins: Sequence[Margin | NumericTotal]) -> _Problem:
    """Check margins against the sample and build the (cell-aggregated) auxiliary matrix (read-only: it may be
    shared by the calibrations :func:`_build` keeps it for)."""
    active, cats, nums, data, every = _check_inputs(design, margin_list(margins))
    factorized = _variable_codes(cats, data, active, every)

    # a one-way margin whose codes already index its sorted levels needs no decoding; when every
    # margin is such, their levels' presence is checked on the cells, not on the units
    direct = [len(m.variables) == 1 and factorized[m.variables[0]][1] == [lv[0] for lv in sorted(m.totals)]
              for m in cats]
    on_cells = not nums and all(direct)
    level_idx = []
    for m, is_direct in zip(cats, direct):
        if is_direct:
            idx = factorized[m.variables[0]][0]
            if not on_cells:
                _check_present(m, idx, data)
        else:
            idx = _joint_level_index(m, factorized, len(active), data)
        level_idx.append((idx, len(m.totals)))

    # cells: unique combinations of the margins' levels (every unit its own cell with numeric totals)
    if nums:
        cell_of = np.arange(len(active))
        cell_levels = [idx for idx, _ in level_idx]
    else:
        key = np.zeros(len(active), dtype=np.int64)
        for idx, size in level_idx:
            key *= size
            key += idx
        ucells, cell_of, _ = _labels.unique_codes(key)
        # each cell's level in every margin, decoded from its key (no pass over the units)
        cell_levels = []
        rest = np.asarray(ucells, dtype=np.int64)
        for _, size in reversed(level_idx):
            cell_levels.append(rest % size)
            rest = rest // size
        cell_levels.reverse()
        if on_cells:
            for m, cell_level in zip(cats, cell_levels):
                _check_present(m, cell_level, data)

    # one column per level (the first level of every margin but the first is implied by the equal
    # grand totals), then the numeric totals; with numeric totals only, the weights' sum is left free,
    # as in R calibrate(~0 + x)
    cols, T, names, margin_of_col = [], [], [], []
    all_cols, all_T, all_names = [], [], []
    for j, (m, cell_level) in enumerate(zip(cats, cell_levels)):
        for i, lv in enumerate(sorted(m.totals)):
            col = (cell_level == i).astype(float)
            all_cols.append(col)
            all_T.append(m.totals[lv])
            all_names.append((m.name, JOINT.join(lv)))
            if j > 0 and i == 0:
                continue
            cols.append(col)
            T.append(m.totals[lv])
            names.append((m.name, JOINT.join(lv)))
            margin_of_col.append(m.name)
    for m in nums:
        x = numeric_values(data[m.variable], f"calibration variable {m.variable!r}", m.variable, CalibrationError)
        x = x if every else x[active]
        cols.append(x)
        T.append(m.total)
        names.append((m.name, "total"))
        margin_of_col.append(m.name)
        all_cols.append(x)
        all_T.append(m.total)
        all_names.append((m.name, "total"))
    X = np.column_stack(cols)
    _check_rank(X, T, margin_of_col)
    return _Problem(names=names, X=X, T=np.asarray(T, dtype=float), cell_of=cell_of, active=active,
                    margin_of_col=margin_of_col, X_all=np.column_stack(all_cols),
                    T_all=np.asarray(all_T, dtype=float), names_all=all_names)


def calibrate(design: Design, margins: Sequence[Margin | NumericTotal], *, method: str = "raking",
              bounds: tuple[float, float] | None = None, maxit: int = 100, tol: float = 1e-10,
              label: str | None = None, allow_negative: bool = False) -> Design:
    """Calibrate the design's weights to population margins; return a new design.

    Solves Deville & Särndal's (1992) calibration equations ``Σ d_k F(x_k'λ) x_k = T`` by Newton's
    method, ``d`` being the design's current weights, and records the step so that replicate weights
    re-run it and linearised variances use the residuals on its auxiliaries. Units of weight 0 keep
    weight 0. Mirrors R ``survey::calibrate`` (``calfun = "linear"``, ``"raking"``, ``"logit"``; ``"raking"``
    with ``bounds``, ``exp(u)`` clipped to them); ``truncated`` is the linear distance with ``g`` clipped to its
    bounds (R's ``calfun = "linear"`` with ``bounds``). Raking on several margins gives R ``rake``'s weights (once
    converged: ``rake`` stops at a looser tolerance by default, ``epsilon = 1``), but the variance follows
    ``calibrate(calfun = "raking")``, not ``rake``, whose SE is built by iterated post-stratification (slightly other).

    Parameters
    ----------
    design : Design
        The design whose current weights are the calibration's starting weights ``d``.
    margins : sequence of Margin or NumericTotal
        A list of categorical :class:`Margin` (one-way or joint) and :class:`NumericTotal` (a single one is a list
        of one); categorical margins must share one grand total.
    method : {"raking", "linear", "logit", "truncated"}, default "raking"
        Calibration distance (:data:`CALIBRATION_METHODS`); ``logit`` and ``truncated`` need
        ``bounds``, ``raking`` may take them, ``linear`` takes none. The default differs from R's
        ``calibrate``, whose ``calfun`` is ``"linear"``: pass ``method="linear"`` for R's default weights.
    bounds : tuple of float, optional
        ``(L, U)`` bounds on ``g = w/d``, two numbers (not text) with ``L < 1 < U``.
    maxit : int, default 100
        Largest number of Newton iterations.
    tol : float, default 1e-10
        Stopping rule on the largest relative misfit ``|T − Σ w x| / (1 + |T|)``; the achieved
        margins must be within ``10 * tol`` after solving.
    label : str, optional
        Label of the step in the design's history (default ``"calage (<method>)"``).
    allow_negative : bool, default False
        Linear calibration can give negative weights (R ``survey`` allows them); here that is an
        error naming the cells, unless this is True. Replicates are not checked.

    Returns
    -------
    Design
        A new design with the calibrated weights and one more :class:`Step` (kind ``"calibration"``,
        ``info`` a :class:`CalibrationResult`).

    Raises
    ------
    ParameterError
        If ``method`` is unknown, ``margins`` is not a list of margins (a dict, an R population vector), or
        ``bounds`` are missing, misplaced, not two numbers or not ``L < 1 < U``.
    CalibrationError
        Bad margins (named), non-convergence, negative weights, or infeasible bounds (with the
        unreachable margin and the tightest feasible bounds).

    See Also
    --------
    trim : Cap the weights themselves and re-calibrate.
    Design.replicate_adjustments : Replicates whose bounds were widened.

    Notes
    -----
    Replicates re-run this step. With bounds, a replicate that cannot be
    calibrated within ``(L, U)`` uses the narrowest feasible bounds containing them, each moved side
    pushed a further ``WIDEN_MARGIN`` (10 %) of its distance to 1 (a bounded-logit ``g`` stays strictly
    inside its bounds); :meth:`~portrait.survey.Design.replicate_adjustments` lists those replicates.
    A replicate that no bounds can calibrate (a margin level left without units) raises.

    References
    ----------
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *Journal of
    the American Statistical Association* 87, 376–382.
    Deville, J.-C., Särndal, C.-E. and Sautory, O. (1993). Generalized raking procedures in survey
    sampling. *Journal of the American Statistical Association* 88, 1013–1020.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (chapter 7, ``calibrate``)

    Examples
    --------
    >>> m = [Margin.of("sex", {"F": 520, "M": 480}), Margin.of("age", {"15-29": 230, "30+": 770})]
    >>> d2 = calibrate(d, m, method="logit", bounds=(0.5, 2.0))  # doctest: +SKIP
    >>> d2.steps[-1].info.g_max <= 2.0  # doctest: +SKIP
    True
    """
    # Long on purpose: solve, units_x and replicate close over one built problem, which the step keeps to re-run
    # the calibration on replicate weights.
    if method not in METHODS:
        raise ParameterError(f"calibration method must be one of {METHODS}, got {method!r}")
    if method in ("logit", "truncated") and bounds is None:
        raise ParameterError(f"method {method!r} needs bounds=(L, U) on g = w/d")
    if method == "linear" and bounds is not None:
        raise ParameterError("method 'linear' takes no bounds; use 'truncated' (the linear distance with g clipped "
                             "to its bounds), 'logit' or 'raking'")
    L, U = calibration_bounds(bounds)
    bounded = bounds is not None
    margins = tuple(margin_list(margins))
    problem = _build(design, margins)

    def solve(d_all: np.ndarray, report: bool = True, L: float = L, U: float = U
              ) -> tuple[np.ndarray, CalibrationResult | None]:
        every = len(problem.active) == len(d_all)
        d_act = d_all if every else d_all[problem.active]
        dc = np.bincount(problem.cell_of, weights=d_act, minlength=problem.X.shape[0])
        g_c, lam, it, rel = _newton(problem.X, dc, problem.T, method, L, U, maxit, tol,
                                    problem.X_all, problem.T_all)
        if bounded and method == "raking" and not rel < tol:     # stalled with a level's units all clipped
            g_c, lam, it, _ = _newton(problem.X, dc, problem.T, method, L, U, maxit, tol,
                                      problem.X_all, problem.T_all, limit=True)
        # verify every level of every margin, including those implied by the grand total
        achieved = problem.X_all.T @ (dc * g_c)
        rel = float(np.max(np.abs(achieved - problem.T_all) / (1 + np.abs(problem.T_all))))
        if not rel < 10 * tol or not np.all(np.isfinite(g_c)):
            if bounded:
                raise CalibrationError("calibration is infeasible within the bounds: "
                                       + diagnose_infeasible(problem, dc, L, U))
            if why := empty_levels(problem, dc):
                raise CalibrationError(why)
            raise CalibrationError(f"calibration ({method}) did not converge in {maxit} iterations: "
                                   f"largest relative misfit {rel:.3g}")
        if report and not allow_negative and np.any(g_c < 0):
            raise CalibrationError(negative_weights(problem, g_c))
        if every:
            w = d_act * g_c[problem.cell_of]
        else:
            w = np.zeros_like(d_all)
            w[problem.active] = d_act * g_c[problem.cell_of]
        if not report:
            return w, None

        def table() -> pd.DataFrame:
            return pd.DataFrame({"margin": [m for m, _ in problem.names_all],
                                 "level": [lv for _, lv in problem.names_all],
                                 "target": problem.T_all, "achieved": achieved,
                                 "rel_diff": (achieved - problem.T_all) / np.maximum(np.abs(problem.T_all), 1)})

        # every cell holds at least one unit being weighted: the cells' g range is the units'
        res = CalibrationResult(method=method, bounds=(L, U) if bounds else None, converged=True,
                                iterations=it, max_rel_misfit=rel, lambdas=lam,
                                g_min=float(g_c.min()), g_max=float(g_c.max()), achieved=Deferred(table))
        return w, res

    w, res = solve(design.weights)
    n = len(design.weights)

    def units_x() -> np.ndarray:
        """The auxiliaries of every unit (units × constraints; zero for units of weight 0)."""
        if len(problem.active) == n:
            return problem.X[problem.cell_of]
        X_units = np.zeros((n, problem.X.shape[1]))
        X_units[problem.active] = problem.X[problem.cell_of]
        return X_units

    def replicate(des: Design) -> tuple[np.ndarray, dict | None]:
        """The step re-run on a replicate; bounds that this replicate cannot hold are widened by the
        documented rule (:func:`~portrait.survey.feasibility.widened_bounds`) and reported, never a replicate dropped."""
        try:
            return solve(des.weights, report=False)
        except CalibrationError:
            if not bounded:
                raise
            d_act = des.weights if len(problem.active) == len(des.weights) else des.weights[problem.active]
            dc = np.bincount(problem.cell_of, weights=d_act, minlength=problem.X.shape[0])
            wider = widened_bounds(problem, dc, L, U)
            if wider is None:
                raise CalibrationError(f"a replicate cannot be calibrated within any bounds ({method}): "
                                       + diagnose_infeasible(problem, dc, L, U)) from None
            return solve(des.weights, report=False, L=wider[0], U=wider[1])[0], {"widened_bounds": wider}

    def replicate_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The step re-run on every replicate at once (a row of ``rows`` each): the weights :func:`replicate` gives
        each row it calibrates at the first attempt, and the rows left to it (widened bounds, a step limit, an error)."""
        every = len(problem.active) == rows.shape[1]
        d_act = rows if every else rows[:, problem.active]
        dc = np.array([np.bincount(problem.cell_of, weights=d, minlength=problem.X.shape[0]) for d in d_act])
        g_c, _, _, rel = _newton_rows(problem.X, dc, problem.T, method, L, U, maxit, tol, problem.X_all,
                                      problem.T_all)
        achieved = _products(problem.X_all.T, dc * g_c)
        done = ((np.max(np.abs(achieved - problem.T_all) / (1 + np.abs(problem.T_all)), axis=1) < 10 * tol)
                & np.all(np.isfinite(g_c), axis=1) & ((rel < tol) | (not bounded) | (method != "raking")))
        if every:
            return d_act * g_c[:, problem.cell_of], np.flatnonzero(~done)
        w = np.zeros_like(rows)
        w[:, problem.active] = d_act * g_c[:, problem.cell_of]
        return w, np.flatnonzero(~done)

    step = Step(kind="calibration", label=label or f"calage ({method})", apply=replicate, info=res,
                X=Deferred(units_x), d=design.weights.copy(), apply_rows=replicate_rows)
    return design.with_weights(w, step)
