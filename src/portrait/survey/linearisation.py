"""Linearised variance: influence values, calibration residuals and the ultimate-cluster estimator.

Linearisation. An estimator's influence values ``z_k = w_k u_k`` are replaced, for each
calibration step of the design's history, by ``w_k e_k`` where ``e_k`` is the residual of ``u_k``
on that step's auxiliaries ``x_k`` in a regression weighted by the step's input weights ``d_k``
(Deville & Särndal 1992; R ``survey::svyrecvar``). Then the ultimate-cluster estimator:

    V = Σ_h (1 − f_h) n_h / (n_h − 1) Σ_i (Z_hi − Z̄_h)²,   Z_hi = Σ_{k ∈ PSU i} z_k.

Non-response adjustments are treated as fixed by linearisation; replicate weights, which re-run
the whole recipe in every replicate, account for them.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87,
376–382.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer. (ultimate clusters)
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyrecvar``)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .design import LONELY, Design
from .errors import ParameterError
from .labels import column_sums, flat_layout, kept_for_arrays, stable_order, unique_codes


#: the square roots of variances: a negative one (the HT form of a pps design, which has said so) gives NaN without
#: numpy's « invalid value » warning
standard_errors = np.errstate(invalid="ignore")(np.sqrt)


def residualise(design: Design, u: np.ndarray) -> np.ndarray:
    """Compute influence values ``w u`` with ``u`` replaced by its residuals on every calibration step.

    For each calibration step of the design's history, in order, the influence values divided by the weights
    that step left are replaced by their residuals in the regression on the step's auxiliaries ``X`` weighted by
    the step's input weights ``d`` (units with ``d > 0``), and multiplied by those weights again. With one
    calibration this is ``w (u − X β̂)``; with several (a calibrated design calibrated again), each one's
    residuals are taken on the previous one's, scaled by its own weights. Units outside a :func:`subset` keep
    their weights before it; a calibration followed by :func:`trim_weights` (R ``trimWeights``) scales its
    residuals by the calibrated weights, not the trimmed ones. This is what R ``survey::svyrecvar`` does with a
    calibrated design's ``postStrata``.

    Parameters
    ----------
    design : Design
        The design; only its calibration steps with an auxiliary matrix count.
    u : array_like
        Per-unit values (length ``n``) or ``n × q`` matrix of an estimator's linearised variable(s),
        such that the estimator's error is ``Σ w u``.

    Returns
    -------
    numpy.ndarray
        The ``n × q`` influence values (``q = 1`` for a vector ``u``).

    References
    ----------
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *Journal of
    the American Statistical Association* 87, 376–382.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyrecvar``)
    """
    u = np.asarray(u, dtype=float)
    return _residualise(design, (u[:, None] if u.ndim == 1 else u).copy())


def _residualise(design: Design, e: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """:func:`residualise` of an ``n × q`` C-ordered float array ``e`` that is the caller's own: it is written over
    and returned (the estimators' influence values, built for it: no copy).

    ``rows`` (sorted positions, from :func:`influence_rows`): ``e`` holds only these units' rows (``k × q``), every
    other unit's value being 0 and staying 0 (it is active in no calibration step); the same values on these rows.

    Raises
    ------
    ParameterError
        If ``rows`` leaves out a unit of some calibration step (whose residual is not 0)."""
    w = design.weights

    def at(a):                         # a unit-level array on e's rows
        return a if rows is None else a[rows]
    final = at(w)
    for step in design.steps:
        if step.kind == "subset":      # R: the residuals of units outside a subset keep their calibrated weight
            final = np.where(final == 0, at(step.d), final)
    # the weights each calibration left, with which svyrecvar scales its residuals: a unit's input weights in the
    # next step that keeps them — a calibration (stacked surveys: each its own) or R's trimWeights, which changes
    # prob and not the g·d a calibration stored — else the final weights
    keeping = [s for s in design.steps if s.d is not None and (s.kind == "trim_weights" or
                                                                (s.kind == "calibration" and s.X is not None))]
    left, a = {}, final
    for step in reversed(keeping):
        if step.kind == "calibration":
            left[id(step)] = a
        d = at(step.d)
        a = np.where(d > 0, d, a)
    steps = [s for s in keeping if s.kind == "calibration"]
    scale = at(w)                      # the influence values are scale × e throughout
    for step in steps:
        a = left[id(step)]
        active, Xa, XtD, XtDX = _projection(step)
        active = at(active)            # the same active units in the same order: influence_rows holds them all
        if rows is not None and np.count_nonzero(active) != len(Xa):
            raise ParameterError("rows must hold every unit of each calibration step (influence_rows)")
        # every row of e active (a survey's respondents, its calibration's units): e itself, without the copy of its
        # rows and their write back; the same products and differences
        every = len(Xa) == len(e)
        if a is not scale and not np.array_equal(scale[active], a[active]):
            ratio = np.divide(scale[active], a[active], out=np.zeros(int(active.sum())), where=a[active] > 0)
            if every:
                e *= ratio[:, None]
            else:
                e[active] = e[active] * ratio[:, None]
            scale = np.where(active, a, scale)
        # the p × p normal equations (p = number of calibration constraints, full rank on the sample calibrated)
        # instead of a QR of the n × p matrix: same residuals, a fraction of the time
        ea = e if every else e[active]
        try:
            beta = np.linalg.solve(XtDX, XtD @ ea)
        except np.linalg.LinAlgError:   # subset(drop=True) emptied margin levels: their empty columns project nothing
            beta = np.linalg.lstsq(XtDX, XtD @ ea, rcond=None)[0]
        if every:
            e -= Xa @ beta
        else:
            e[active] = ea - Xa @ beta
    e *= scale[:, None]
    return e


def influence_rows(design: Design, rows: np.ndarray) -> np.ndarray:
    """The units whose influence values may not be 0 when the linearised variables are 0 outside ``rows`` (sorted
    positions): ``rows`` and the active units of every calibration step, whose residuals are not 0 (sorted; ``rows``
    itself when it holds them all, as a survey's respondents hold its calibrations' units)."""
    extra = None
    for step in design.steps:
        if step.kind == "calibration" and step.X is not None and step.d is not None:
            active, Xa = _projection(step)[:2]         # kept with the step, as residualise reads it
            if np.count_nonzero(active[rows]) != len(Xa):
                extra = active.copy() if extra is None else extra | active
    if extra is None:
        return rows
    extra[rows] = True
    return np.flatnonzero(extra)


def _projection(step) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A calibration step's active units, auxiliaries ``X_a``, ``X_a' D`` and ``X_a' D X_a``, computed once per
    step (a step is shared by every design derived from the calibrated one)."""
    cache = getattr(step, "_projection", None)
    if cache is not None and cache[0] is step.X and cache[1] is step.d:
        return cache[2]
    active = step.d > 0
    Xa = step.X[active]
    XtD = Xa.T * step.d[active]
    out = (active, Xa, XtD, XtD @ Xa)
    object.__setattr__(step, "_projection", (step.X, step.d, out))
    return out


def psu_totals(design: Design, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``z`` (n × q) per PSU, with each PSU's stratum and sampling fraction.

    Parameters
    ----------
    design : Design
        The design (its ``psu``, ``strata`` and ``fpc`` codes).
    z : numpy.ndarray
        ``n × q`` per-unit values (a 2-D array).

    Returns
    -------
    Z : numpy.ndarray
        ``P × q`` PSU totals, PSUs in the order of their codes.
    psu_stratum : numpy.ndarray
        Stratum code of each PSU (length ``P``).
    psu_f : numpy.ndarray
        Sampling fraction of each PSU's stratum (length ``P``).
    """
    s = _structure(design)
    Z = _totals(s, z)
    return (z.copy(order="K") if Z is z else Z), s.psu_stratum, s.psu_f


def _totals(s: "_Structure", z: np.ndarray) -> np.ndarray:
    """:func:`psu_totals`' ``Z``; ``z`` itself (not a copy) when every unit is its own PSU, in the order of the
    codes."""
    psu_idx, P = s.psu_idx, len(s.psu_stratum)
    if P == len(psu_idx):
        if s.units_in_order:
            return z
        Z = np.empty_like(z)
        Z[psu_idx] = z
        return Z
    # each PSU's units in their order, from 0: the sums np.bincount gives column by column, in one sparse product
    return s.sums @ z


class _Structure(NamedTuple):
    psu_idx: np.ndarray        # unit -> PSU (PSUs in the order of their codes)
    psu_stratum: np.ndarray    # PSU -> stratum code
    psu_f: np.ndarray          # PSU -> sampling fraction
    strata: np.ndarray         # the strata codes present, sorted
    psu_h: np.ndarray          # PSU -> position in ``strata``
    n_h: np.ndarray            # PSUs per stratum
    f_h: np.ndarray            # sampling fraction of each stratum (its first PSU's)
    order: np.ndarray          # PSUs sorted by stratum (stable)
    starts: np.ndarray         # where each stratum starts in ``order``
    units_in_order: bool       # every unit is its own PSU, the i-th unit the i-th PSU
    sums: object               # P × n sparse (CSR) matrix of ones, each PSU's units in their order (None: P = n)
    factors: dict              # lonely → each PSU's factor c_i in the variance (computed once per treatment)
    kept: dict                 # the last rows' PSUs (_row_sums) and zero PSUs' factors per stratum (_sparse_sums)


def _structure(design: Design) -> _Structure:
    """The PSUs and strata of a design, computed once per set of ``psu``, ``strata`` and ``fpc`` arrays
    (estimators call the variance many times on the same design, and on designs derived from it by
    ``dataclasses.replace``: new weights, steps or data): kept on the design and in the engine's memo
    (:func:`~portrait.survey.labels.kept_for_arrays`)."""
    cache = getattr(design, "_psu_structure", None)
    if cache is not None and cache[0] is design.psu and cache[1] is design.strata and cache[2] is design.fpc:
        return cache[3]
    arrays = (design.psu, design.strata, design.fpc)
    s = kept_for_arrays(arrays, "psu structure", lambda: _new_structure(design))
    object.__setattr__(design, "_psu_structure", (*arrays, s))
    return s


def _new_structure(design: Design) -> _Structure:
    psu_codes, psu_idx, _ = unique_codes(design.psu)
    P = len(psu_codes)
    psu_stratum = np.zeros(P, dtype=int)
    psu_stratum[psu_idx] = design.strata
    psu_f = np.zeros(P)
    psu_f[psu_idx] = design.fpc
    strata, psu_h, n_h = unique_codes(psu_stratum)
    order = stable_order(psu_h, len(strata))
    starts = np.concatenate([[0], np.cumsum(n_h)[:-1]]).astype(np.intp)
    sums = None
    if P < len(psu_idx):
        from scipy import sparse

        units = stable_order(psu_idx, P)
        rows = np.concatenate([[0], np.cumsum(np.bincount(psu_idx, minlength=P))])
        sums = sparse.csr_matrix((np.ones(len(units)), units, rows), shape=(P, len(psu_idx)))
    s = _Structure(psu_idx, psu_stratum, psu_f, strata, psu_h, n_h, psu_f[order[starts]], order, starts,
                   P == len(psu_idx) and bool((psu_idx == np.arange(P)).all()), sums, {}, {})
    return s


def present_units(design: Design, used: np.ndarray | None, q: int) -> np.ndarray | None:
    """The units R would keep for each of ``q`` estimates (``n × q``), or None when every unit is kept.

    R's ``subset`` of a design without calibration drops the rows outside the domain (and ``na.rm`` the missing
    ones), so a stratum or cluster without a unit of the estimate is absent: it is not a lonely PSU for ``"fail"``
    and does not count for ``"average"``. A calibrated design keeps every row (weights set to 0), and so does this
    for a design with a calibration or non-response step (R's post-stratification) — except the rows a
    :func:`subset` taken before the first such step left out, which R dropped then. A trimming does not count as a
    calibration. ``used``: the units each estimate uses (``n`` or ``n × q``; default all)."""
    calibrated, dropped = False, None
    for step in design.steps:        # R drops a subset's other rows when it is taken before any calibration (a review)
        if step.kind in ("calibration", "nonresponse"):
            calibrated = True
        elif step.kind == "subset" and not calibrated and step.info is not None:
            dropped = ~np.asarray(step.info, dtype=bool) | (False if dropped is None else dropped)
    if calibrated:
        return None if dropped is None or not dropped.any() else np.broadcast_to(~dropped[:, None],
                                                                                  (len(dropped), q))
    keep = design.weights > 0
    out = keep[:, None] if used is None else keep[:, None] & np.asarray(used, dtype=bool).reshape(len(keep), -1)
    return None if out.all() else np.broadcast_to(out, (len(keep), q))


def present_groups(present: np.ndarray | None, unit_group: np.ndarray, groups: int) -> np.ndarray | None:
    """Whether each of ``groups`` groups (strata, clusters) holds a present unit of each estimate (``groups × q``)."""
    if present is None:
        return None
    return np.column_stack([np.bincount(unit_group, weights=present[:, j], minlength=groups) > 0
                            for j in range(present.shape[1])])


def _factors(s: _Structure, lonely: str) -> np.ndarray:
    """Each PSU's ``c_i`` in the variance, ``(1 − f_i) n_h / (n_h − 1)`` (``(1 − f_i)`` for a lonely PSU with
    « adjust », 0 otherwise and with certainty), once per structure and treatment of lonely PSUs (not written to)."""
    c = s.factors.get(lonely)
    if c is None:
        # each PSU's own 1 − f: the stratum's, or its 1 − π in Brewer's estimator (pps="brewer")
        n_i, f_i = s.n_h[s.psu_h], s.psu_f
        c = np.where(n_i > 1, (1 - f_i) * n_i / np.maximum(n_i - 1, 1), (1 - f_i) * (lonely == "adjust"))
        c[f_i >= 1] = 0.0
        c.flags.writeable = False
        s.factors[lonely] = c
    return c


def _centred_sums(s: _Structure, Z: np.ndarray, c: np.ndarray, diagonal: bool) -> np.ndarray:
    """``Σ_i c_i (Z_i − Z̄_h)(Z_i − Z̄_h)'`` over the PSUs (``Z̄_h = 0`` in a stratum of one PSU), or its diagonal.

    When most PSU totals are 0 (the nonrespondents and the units outside a domain of a survey's sampled units), the
    PSUs with a total are summed one by one and the others, whose deviation is ``−Z̄_h``, together:
    ``Σ_h (Σ_{i: Z_i = 0} c_i) Z̄_h Z̄_h'``. The same sum, added in another order (its last bits may differ)."""
    n_h, P = s.n_h, len(Z)
    # a row is non-zero where the sum of its absolute values is (NaN counts, as in any(); no cancellation): one
    # matrix-vector product, a third of the time of Z.any(axis=1) on the few columns of a tall Z
    nonzero = (np.abs(Z) @ np.ones(Z.shape[1])) != 0 if P >= 64 else None
    if nonzero is None or 2 * np.count_nonzero(nonzero) >= P:
        means = np.add.reduceat(Z[s.order], s.starts, axis=0) / n_h[:, None]
        means[n_h == 1] = 0.0
        D = Z - means[s.psu_h]
        return np.einsum("ij,ij,i->j", D, D, c) if diagonal else (D * c[:, None]).T @ D
    rows = np.flatnonzero(nonzero)
    return _sparse_sums(s, rows, Z[rows], nonzero, c, diagonal)


def _sparse_sums(s: _Structure, rows: np.ndarray, Zr: np.ndarray, nonzero: np.ndarray, c: np.ndarray,
                 diagonal: bool) -> np.ndarray:
    """:func:`_centred_sums` from the PSUs with a total only: their positions ``rows`` (sorted), their totals ``Zr``
    and the mask ``nonzero`` of them among all PSUs."""
    n_h = s.n_h
    H, q = len(n_h), Zr.shape[1]
    # every column's sums per stratum in one bincount of the rows laid out flat (stratum, column): each sum adds its
    # rows in their order, as a bincount per column does; the layout kept for the next call with the same PSUs and
    # columns (a survey's estimators)
    last = s.kept.get("flat")
    if last is not None and last[1] == q and np.array_equal(last[0], rows):
        h, flat = last[2], last[3]
    else:
        h = s.psu_h[rows]
        flat = flat_layout(h, q)
        h.flags.writeable = flat.flags.writeable = False
        s.kept["flat"] = (rows.copy(), q, h, flat)
    means = column_sums(flat, Zr, H)
    means /= n_h[:, None]
    means[n_h == 1] = 0.0
    D = Zr - means[h]
    # the zero PSUs' c_i per stratum: the others' weights set to 0 add nothing to the same sums in the same order;
    # kept for the next call with the same PSUs and factors (a survey's designs share their respondents' PSUs)
    last = s.kept.get("c0")
    if last is not None and last[0] is c and np.array_equal(last[1], rows):
        c0 = last[2]
    else:
        c0 = np.bincount(s.psu_h, weights=np.where(nonzero, 0.0, c), minlength=H)
        c0.flags.writeable = False
        s.kept["c0"] = (c, rows.copy(), c0)
    cr = c[rows]
    if diagonal:
        return np.einsum("ij,ij,i->j", D, D, cr) + np.einsum("ij,ij,i->j", means, means, c0)
    return (D * cr[:, None]).T @ D + (means * c0[:, None]).T @ means


def _row_sums(s: _Structure, z: np.ndarray, rows: np.ndarray, diagonal: bool, c: np.ndarray) -> np.ndarray | None:
    """:func:`_centred_sums` of the influence values ``z`` held on the units ``rows`` only (sorted; the others' are 0),
    without the totals of every PSU: the PSUs of those units and each one's total, summed over its units in their
    order as the full sums add them (a 0 added changes no sum). None when most PSUs have a total or there are few:
    the full totals are then needed."""
    P, q = len(s.psu_stratum), z.shape[1]
    if P < 64:
        return None
    if s.units_in_order:               # every unit its own PSU, in order: the rows are the PSUs
        psus, Zr = rows, z
    else:
        last = s.kept.get("rows")          # the PSUs of the same rows as the last call's (a survey's designs)
        if last is not None and last[2].shape == (len(rows) * q,) and np.array_equal(last[0], rows):
            psus, flat = last[1], last[2]
        else:
            psus, local = np.unique(s.psu_idx[rows], return_inverse=True)
            flat = flat_layout(local, q)
            s.kept["rows"] = (rows.copy(), psus, flat)
        Zr = column_sums(flat, z, len(psus))
    keep = (np.abs(Zr) @ np.ones(q)) != 0
    if 2 * np.count_nonzero(keep) >= P:
        return None
    nonzero = np.zeros(P, dtype=bool)
    if keep.all():             # every PSU of the rows has a total (the usual case): no copy of them
        nonzero[psus] = True
        return _sparse_sums(s, psus, Zr, nonzero, c, diagonal)
    nonzero[psus[keep]] = True
    return _sparse_sums(s, psus[keep], Zr[keep], nonzero, c, diagonal)


def linearised_variance(design: Design, z: np.ndarray, lonely: str | None = None,
                        diagonal: bool = False, used: np.ndarray | None = None,
                        rows: np.ndarray | None = None) -> np.ndarray:
    """Compute the ultimate-cluster variance (matrix, q × q) of the totals of influence values ``z`` (n × q).

    ``V = Σ_h (1 − f_h) n_h / (n_h − 1) Σ_i (Z_hi − Z̄_h)(Z_hi − Z̄_h)'`` with ``Z_hi`` the PSU totals,
    as R ``svyrecvar`` for a one-stage (ultimate-cluster) design; a multistage design's later stages add
    their variances (:func:`~portrait.survey.multistage.later_stage_variance`). ``lonely`` (default: the design's
    ``lonely_psu``) says what a stratum with one PSU contributes, as R's ``survey.lonely.psu`` option
    (:data:`LONELY`). Strata sampled with certainty (``f_h ≥ 1``) contribute nothing.

    Parameters
    ----------
    design : Design
        The design (PSUs, strata, fpc, ``lonely_psu``).
    z : array_like
        Influence values, length ``n`` or ``n × q`` (usually from :func:`residualise`).
    lonely : {"fail", "certainty", "remove", "adjust", "average"}, optional
        Treatment of single-PSU strata; default: ``design.lonely_psu``.
    diagonal : bool, default False
        Compute only the variances (a vector of length ``q``) instead of the matrix.
    used : array_like of bool, optional
        The units each estimate uses (its domain, its non-missing values: ``n`` or ``n × q``). In a design
        without calibration, as R's ``subset`` that drops the other rows, a stratum without a used unit (of
        positive weight) is no lonely PSU for ``"fail"`` and does not count for ``"average"`` (:func:`present_units`);
        R computes each domain of ``svyby`` on its own, and the covariance of two estimates takes the geometric
        mean of their ``"average"`` factors.
    rows : array_like of int, optional
        ``z`` holds only these units' rows (sorted positions; ``k × q``), every other unit's influence values
        being 0 (:func:`influence_rows`): the same variance, from the PSUs of these units (and, in closed form per
        stratum, the others').

    Returns
    -------
    numpy.ndarray
        The ``q × q`` covariance matrix, or its diagonal (length ``q``) when ``diagonal``.

    Raises
    ------
    ParameterError
        If ``lonely`` is unknown, or a stratum holding units of an estimate has a single PSU and ``lonely`` is
        ``"fail"``.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer. (ultimate clusters)
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyrecvar``)
    """
    lonely = design.lonely_psu if lonely is None else lonely
    if lonely not in LONELY:
        raise ParameterError(f"lonely_psu must be one of {LONELY}, got {lonely!r}")
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    s = _structure(design)
    if rows is not None and (design.later_stages is not None or (design.pps is not None
                                                                 and design.pps.method != "brewer")):
        z, rows = _padded(z, rows, len(design.weights)), None     # these need every unit's value
    Z = None if rows is not None else _totals(s, z)   # not written to: z itself when every unit is its own PSU
    if design.pps is not None and design.pps.method != "brewer":
        from .pps import ht_variance
        return ht_variance(design, Z, s.psu_idx, s.psu_stratum, diagonal)
    n_h, f_h = s.n_h, s.f_h
    lone = (n_h == 1) & (f_h < 1)          # strata sampled with certainty (f ≥ 1) contribute nothing
    present = present_units(design, used, z.shape[1]) if lone.any() else None
    here = present_groups(present, s.psu_h[s.psu_idx], len(n_h))
    here = np.ones((len(n_h), 1), dtype=bool) if here is None else here
    if lonely == "fail" and (lone[:, None] & here).any():
        h = s.strata[np.flatnonzero((lone[:, None] & here).any(axis=1))[0]]
        label = design.strata_labels[h] if design.strata_labels is not None else h
        raise ParameterError(f"stratum {label!r} has a single PSU: its variance cannot be estimated; "
                             "merge it with a similar stratum or choose lonely_psu "
                             "('certainty', 'remove', 'adjust' or 'average', as R survey.lonely.psu)")
    # every stratum at once: Σ_h c_h Σ_i (Z_hi − Z̄_h)(Z_hi − Z̄_h)', with c_h = (1 − f_h) n_h / (n_h − 1);
    # a lonely PSU is centred on 0 and counts (1 − f_h) with « adjust », nothing otherwise
    c = _factors(s, lonely)
    V = None if rows is None else _row_sums(s, z, np.asarray(rows), diagonal, c)
    if V is None:
        if Z is None:
            Z = _totals(s, _padded(z, rows, len(design.weights)))
        V = _centred_sums(s, Z, c, diagonal)
    if lonely == "average" and lone.any():
        strata, lonely_strata = here.sum(axis=0), (lone[:, None] & here).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):   # every stratum lonely: NaN, as R
            factor = np.where(lonely_strata > 0, strata / (strata - lonely_strata), 1.0)
            V = V * factor if diagonal else V * np.sqrt(np.outer(factor, factor))
    if design.later_stages is not None:
        from .multistage import later_stage_variance
        V = V + later_stage_variance(design, z, lonely, diagonal, used=used)
    return V


def _padded(z: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """The values ``z`` of the units ``rows`` laid out on all ``n`` units, 0 elsewhere."""
    full = np.zeros((n, z.shape[1]))
    full[rows] = z
    return full


def estimator_variance(design: Design, Y: np.ndarray, M: np.ndarray, D: np.ndarray, theta: np.ndarray,
                       Wd: np.ndarray, is_mean: np.ndarray, covariance: bool, rows: tuple) -> np.ndarray:
    """The linearised covariance matrix (``covariance``) or variances of the estimators' ``theta`` (means or ratios
    where ``is_mean``, else totals) of the values ``Y``, units used ``M`` and denominators ``D`` (``n × q``; ``Wd``
    the weighted denominators), from the units whose influence values may not be 0.

    A mean's influence value ``(y − θ d) / W`` and a total's ``y`` are 0 where the unit is not used (``y = d = 0``):
    the values are built on the units some estimate uses, with every calibration's active units
    (:func:`influence_rows`), and handed to :func:`linearised_variance` with their positions — the same numbers as on
    every unit (a survey's nonrespondents, most of its sampled units, keep their place in the design with values 0).
    A mean without a unit (``θ`` NaN) has the value NaN on every unit: every row is taken. ``rows``: the positions of
    the units of positive weight, which hold every unit used, with their rows of ``Y`` and ``D`` (kept by
    :class:`~portrait.survey.repeated.RepeatedMeans`)."""
    W = np.where(Wd > 0, Wd, 1.0)
    if not np.isfinite(theta[is_mean]).all():
        U = np.divide(Y - theta * D, W, order="C")
        U = U if is_mean.all() else np.ascontiguousarray(np.where(is_mean, U, Y))
        return linearised_variance(design, _residualise(design, U), diagonal=not covariance, used=M)
    r, Yr, Dr = rows[0], rows[1], rows[2]
    Ur = np.divide(Yr - theta * Dr, W, order="C")
    Ur = Ur if is_mean.all() else np.ascontiguousarray(np.where(is_mean, Ur, Yr))
    return sparse_influence_variance(design, r, Ur, diagonal=not covariance, used=M)


def sparse_influence_variance(design: Design, units: np.ndarray, u: np.ndarray, diagonal: bool = False,
                              used: np.ndarray | None = None) -> np.ndarray:
    """:func:`linearised_variance` of the residualised influence values ``u`` (``k × q``, the caller's own, C-ordered:
    written over) of the sorted ``units``, every other unit's being 0: from those units and every calibration's
    active units (:func:`influence_rows`), not from every unit — the same numbers."""
    sup = influence_rows(design, units)
    if sup is not units:                 # calibrated units outside ``units``: their residuals are not 0
        e = np.zeros((len(sup), u.shape[1]))
        e[np.searchsorted(sup, units)] = u
        u = e
    return linearised_variance(design, _residualise(design, u, rows=sup), diagonal=diagonal, used=used, rows=sup)
