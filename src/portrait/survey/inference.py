"""Design-based tests: differences of means, stacking independent surveys, subsets and degrees of freedom, with
linearised or replicate-weight variances (tests of independence: :mod:`.independence`; rank tests: :mod:`.ranks`;
models: :mod:`.regression`).

Every function takes a :class:`~portrait.survey.Design` (the two surveys stacked by
:func:`stack` when groups come from independent samples) and returns plain numbers or small
tables, checked against R ``survey`` (``svycontrast``, ``svyttest``) in ``tests/test_models_r.py``.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
*International Statistical Review* 51, 279–292.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .design import Design, Step
from .labels import _distinct
from .errors import ParameterError, check_variance
from .linearisation import linearised_variance, residualise, standard_errors
from .multistage import subset_stages
from .pps import subset_pps
from .replicates import replicate_variance


# ============================================================================ helpers


def _vcov(design: Design, U: np.ndarray) -> np.ndarray:
    """Linearised covariance of totals of the influence values ``w U`` (with calibration residuals)."""
    return linearised_variance(design, residualise(design, U))


def stack(designs: Mapping[str, Design], group: str = "groupe") -> Design:
    """Stack independent surveys into one design, each survey's strata kept apart.

    The result has the data of all surveys with a ``group`` column; strata and PSUs are
    renumbered so that no two surveys share one; calibration steps are kept per survey (their
    auxiliaries padded with zeros elsewhere), so linearised variances of anything computed on the
    stack are the sums of the surveys' variances, as independence requires. When every survey has
    replicate weights, survey ``k``'s replicates are written with the other surveys at their
    full-sample weights, one block per survey, each centred on its own mean.

    Parameters
    ----------
    designs : mapping of str to Design
        The surveys, by name (the names become the values of ``group``).
    group : str, default "groupe"
        Name of the column identifying each unit's survey.

    Returns
    -------
    Design
        The stacked design (strata labelled ``<name>:<stratum>``); its weighting steps cannot be
        re-run and it has no base weights. It keeps the surveys' treatment of lonely PSUs
        (``lonely_psu``; with ``"average"`` the factor counts the strata of the whole stack, as R
        does on one design) and their ``replicate_mse``.

    Raises
    ------
    ParameterError
        If the surveys differ in ``lonely_psu`` or, when all have replicate weights, in
        ``replicate_mse`` (one stacked design cannot treat its surveys differently), or one has later stages
        or ``pps``.
    """
    names = list(designs)
    if any(d.later_stages is not None for d in designs.values()):
        raise ParameterError("multistage designs cannot be stacked: build each survey with its first stage alone")
    if any(d.pps is not None for d in designs.values()):
        raise ParameterError("PPS designs without replacement (pps=) cannot be stacked: their variance "
                             "approximations are per survey; compare them with mean_difference on each design")
    for attr, needed in (("lonely_psu", True),
                         ("replicate_mse", all(d.has_replicates for d in designs.values()))):
        values = {name: getattr(d, attr) for name, d in designs.items()}
        if needed and len(set(values.values())) > 1:
            raise ParameterError(f"the surveys to stack differ in {attr} ({values}): give them the same one")
    parts, w, st, cl, f, labels, steps = [], [], [], [], [], [], []
    s_off = c_off = 0
    n_total = sum(len(d.weights) for d in designs.values())
    start = 0
    for name in names:
        d = designs[name]
        n = len(d.weights)
        parts.append(d.data.assign(**{group: name}))
        w.append(d.weights)
        st.append(d.strata + s_off)
        cl.append(d.psu + c_off)
        f.append(d.fpc)
        lab = d.strata_labels if d.strata_labels is not None else np.unique(d.strata).astype(str)
        labels.extend(f"{name}:{x}" for x in lab)
        s_off += int(d.strata.max()) + 1
        c_off += int(d.psu.max()) + 1
        for step in d.steps:
            if step.kind == "calibration" and step.X is not None:
                X = np.zeros((n_total, step.X.shape[1]))
                X[start:start + n] = step.X
                dd = np.zeros(n_total)
                dd[start:start + n] = step.d
                steps.append(Step(kind="calibration", label=f"{name}: {step.label}", apply=step.apply,
                                  info=step.info, X=X, d=dd))
        start += n
    data = pd.concat(parts, ignore_index=True)
    weights = np.concatenate(w)
    rep = dict(replicate_matrix=None, replicate_blocks=None, replicate_rscales=None, replicate_scale=1.0)
    if all(d.has_replicates for d in designs.values()):
        # survey k's replicates with the other surveys at their full-sample weights; each block is
        # centred on its own mean, so replicate variances add up like the surveys' variances
        cols, rscales, blocks = [], [], []
        start = 0
        for k, name in enumerate(names):
            d = designs[name]
            R = d.replicate_weights()
            n = len(d.weights)
            block = np.repeat(weights[:, None], R.shape[1], axis=1)
            block[start:start + n] = R
            cols.append(block)
            rs = d.replicate_rscales if d.replicate_rscales is not None else np.ones(R.shape[1])
            rscales.append(d.replicate_scale * rs)
            blocks.append(np.full(R.shape[1], k))
            start += n
        rep = dict(replicate_matrix=np.hstack(cols), replicate_rscales=np.concatenate(rscales),
                   replicate_blocks=np.concatenate(blocks), replicate_scale=1.0,
                   replicate_mse=designs[names[0]].replicate_mse)
    return Design(data=data, weights=weights, strata=np.concatenate(st), psu=np.concatenate(cl),
                  fpc=np.concatenate(f), steps=tuple(steps), base_weights=None,
                  strata_labels=np.array(labels), replicate_method="replicates",
                  lonely_psu=designs[names[0]].lonely_psu, stacked=(group, tuple(names)), **rep)


def _kept(mask: Any) -> np.ndarray:
    """A subset mask as booleans, read as R's ``subset`` reads its condition: missing → left out, a number → kept
    unless 0; text or other objects are refused (their position and type are named, not their value)."""
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        return mask
    values = mask.array if isinstance(mask, pd.Series) else mask
    if not isinstance(values, pd.api.extensions.ExtensionArray):
        values = np.asarray(values)
    s = pd.Series(values.ravel() if isinstance(values, np.ndarray) else values, copy=False)
    if s.dtype == object:
        known = s.map(lambda v: v is None or isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)))
        if not known.all():
            first = int(np.flatnonzero(~known.to_numpy())[0])
            raise ParameterError(f"the mask holds {int((~known).sum())} value(s) that are neither booleans nor numbers "
                                 f"(the first at position {first}, counting from 0, is a {type(s.iloc[first]).__name__}): "
                                 "give True for the units kept, False for the others")
    elif not (pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype)):
        raise ParameterError(f"the mask is of type {s.dtype}, neither booleans nor numbers: give True for the units "
                             "kept, False for the others")
    missing = s.isna().to_numpy(dtype=bool)
    out = np.zeros(len(s), dtype=bool)
    out[~missing] = s.to_numpy(dtype=object if s.dtype == object else None)[~missing].astype(float) != 0
    return out.reshape(np.shape(values)) if isinstance(values, np.ndarray) else out


def subset(design: Design, mask: np.ndarray, drop: bool = False) -> Design:
    """Restrict a design to the units in ``mask``, like R ``subset(design, …)``.

    By default, as R, the units left out stay in the design with weight 0: estimates are the domain's and their
    variances keep every PSU and stratum of the sample (the domain's random size counts), as :func:`mean`'s
    ``by=`` gives them; degrees of freedom count the PSUs and strata that hold units of the domain. With
    ``drop=True`` they are removed, PSUs and strata included: for a sub-population that is a design of its own. A
    calibrated design's residuals are then those of its margins among the units kept, levels the subset empties
    left out (R cannot drop the rows of a calibrated design: its ``subset`` keeps them, as ``drop=False`` does).

    Parameters
    ----------
    design : Design
        The design.
    mask : array_like of bool
        One value per unit; ``True`` keeps the unit. As R's ``subset``, a missing value (``NaN``, ``pd.NA``,
        ``None``) leaves the unit out, and a number keeps it when it is not 0. A Series is read in its order, the
        order of the rows the design was built from (the design numbers its rows 0, 1, … whatever the frame's
        index was).
    drop : bool, default False
        Remove the other units instead of giving them weight 0.

    Returns
    -------
    Design
        The design restricted to the units kept (data, weights, structure, calibration steps and
        replicate factors or weights).

    Raises
    ------
    ParameterError
        If ``mask`` does not hold one value per unit, or holds text or other values that are neither
        booleans nor numbers (« False » as text would otherwise keep its unit).
    """
    mask = _kept(mask)
    if mask.shape != design.weights.shape:
        raise ParameterError(f"the mask has {mask.size} values for {design.weights.size} units: one per unit")
    if drop and not mask.any():
        raise ParameterError("the mask keeps no unit: drop=True would leave an empty design")
    if not drop:      # a step: replicates re-run it, and the linearisation keeps the weights it zeroed (as R)
        return design.with_weights(np.where(mask, design.weights, 0.0),
                                   Step(kind="subset", label="sous-population", d=design.weights.copy(),
                                        info=mask.copy(), apply=lambda d: (np.where(mask, d.weights, 0.0), None)))
    steps = tuple(replace(s, X=s.X[mask] if s.X is not None else None,
                          d=s.d[mask] if s.d is not None else None) for s in design.steps)
    return replace(design, data=design.data.loc[mask].reset_index(drop=True), weights=design.weights[mask],
                   strata=design.strata[mask], psu=design.psu[mask], fpc=design.fpc[mask], steps=steps,
                   base_weights=None if design.base_weights is None else design.base_weights[mask],
                   replicate_factors=None if design.replicate_factors is None else design.replicate_factors[mask],
                   replicate_matrix=None if design.replicate_matrix is None else design.replicate_matrix[mask],
                   later_stages=subset_stages(design.later_stages, mask), pps=subset_pps(design.pps, mask))


def update(design: Design, columns: Mapping[str, Any] | pd.DataFrame | None = None, **named: Any) -> Design:
    """Add or replace variables of the survey data (a new design, like R ``update(design, …)``).

    Use it for derived variables (a recoded answer, an indicator) rather than writing into
    ``design.data``: the design returned shares the weights, structure, calibration steps and replicates,
    and the design given is left as it was.

    Parameters
    ----------
    design : Design
        The design.
    columns : mapping of str to array_like, or pandas.DataFrame, optional
        New columns by name (names that are not Python identifiers, such as ``"img|mean|"``, go here); a single
        value is every unit's (R recycles it).
    **named : array_like
        More new columns, by keyword.

    Returns
    -------
    Design
        The design with the new columns (one value per unit, in the design's order).

    Raises
    ------
    ParameterError
        If a column does not have one value per unit of the design.

    Examples
    --------
    >>> d2 = update(d, agree=(d.data["q1"] >= 4).astype(float))  # doctest: +SKIP
    """
    new = {**(dict(columns.items()) if columns is not None else {}), **named}
    n = len(design.data)
    new = {k: [v] * n if np.ndim(v) == 0 else v for k, v in new.items()}     # a single value: every unit's, as R
    for name, values in new.items():
        if np.ndim(values) != 1 or len(values) != n:
            raise ParameterError(f"column {name!r} must have one value per unit of the design ({n}), "
                                 f"got shape {np.shape(values)}")
    added = pd.DataFrame({k: v.array if isinstance(v, (pd.Series, pd.Index)) else v for k, v in new.items()},
                         index=design.data.index)
    kept = design.data.drop(columns=[c for c in new if c in design.data.columns])
    return replace(design, data=pd.concat([kept, added], axis=1))


def domain_degf(design: Design, mask: np.ndarray | None = None) -> int:
    """Count degrees of freedom on the units in ``mask`` with a positive weight (PSUs − strata).

    Parameters
    ----------
    design : Design
        The design.
    mask : array_like of bool, optional
        The domain (default: every unit).

    Returns
    -------
    int
        Number of PSUs minus number of strata among those units (R ``degf`` of the subset design); for a
        design of ready-made replicate weights only (:attr:`Design.replicates_only`, R ``svrepdesign``), the
        rank of those units' replicate weights minus one (R: QR with tolerance 1e-5).
    """
    m = design.weights > 0 if mask is None else (np.asarray(mask) & (design.weights > 0))
    if design.replicates_only:
        cached = getattr(design, "_rank_degf", None)
        if mask is None and cached is not None and cached[0] is design.weights:
            return cached[1]
        sub = design.replicate_matrix[m]
        r = np.abs(np.diag(linalg.qr(sub, mode="r", pivoting=True)[0])) if sub.size else np.zeros(1)
        degf = int(np.count_nonzero(r > 1e-5 * r[0])) - 1 if r[0] > 0 else -1
        if mask is None:
            object.__setattr__(design, "_rank_degf", (design.weights, degf))
        return degf
    return _distinct(design.psu[m]) - _distinct(design.strata[m])


# ============================================================================ differences


def _survey_parts(design: Design, group: str, a: str, b: str) -> list[np.ndarray] | None:
    """Units of surveys ``a`` and ``b`` when ``group`` is the survey column of a :func:`stack`, else None."""
    if design.stacked is None or design.stacked[0] != group:
        return None
    names = design.stacked[1]
    if str(a) not in names or str(b) not in names:
        return None
    g = design.column(group).astype(str).to_numpy()
    return [g == str(a), g == str(b)]


def _stacked_df(design: Design, parts: list[np.ndarray], z: np.ndarray | None = None,
                thetas: np.ndarray | None = None, theta: float = 0.0, on: Design | None = None) -> float:
    """Welch–Satterthwaite df of a difference between two stacked independent surveys (:func:`welch_df`).

    Each survey's share of the variance — of the influence values ``z`` restricted to its units
    (linearised; its calibration steps act on its units only) or of its block of replicates
    ``thetas`` — on its own design degrees of freedom (its PSUs − strata, as :func:`mean` gives),
    the rule :func:`portrait.survey.welch_df` applies to two separately weighted surveys. ``on``: the
    design whose weights the influence values are for (default ``design``).
    """
    if z is not None:
        variances = np.diag(_vcov(on or design, np.column_stack([z * m for m in parts])))
    else:
        names = design.stacked[1]
        rs = design.replicate_rscales if design.replicate_rscales is not None else np.ones(len(thetas))
        g = design.column(design.stacked[0]).astype(str).to_numpy()
        variances = []
        for m in parts:
            sel = design.replicate_blocks == names.index(str(g[np.flatnonzero(m)[0]]))
            variances.append(float(replicate_variance(theta, thetas[sel], design.replicate_scale, rs[sel],
                                                      design.replicate_mse)[0, 0]))
    return float(welch_df(variances, [domain_degf(design, m) for m in parts]))


def welch_df(variances: Sequence[np.ndarray | float], dfs: Sequence[np.ndarray | float]) -> np.ndarray:
    """Compute Welch–Satterthwaite degrees of freedom of a sum of independent variance estimates.

    ``ν = (Σ V_i)² / Σ (V_i² / ν_i)``, each ``V_i`` estimated on ``ν_i`` degrees of freedom
    (Satterthwaite 1946; Welch 1947). For the difference of the means of two simple random samples
    it is the df of R ``t.test(var.equal = FALSE)``. It lies between the smaller ``ν_i`` and their
    sum, and leans to the survey whose variance dominates; NaN when every variance is zero.

    Parameters
    ----------
    variances : sequence of array_like or float
        The variance estimates ``V_i`` (arrays broadcast together).
    dfs : sequence of array_like or float
        Their degrees of freedom ``ν_i``. A zero variance adds nothing whatever its ``ν_i``; a positive
        variance on ``ν_i ≤ 0`` degrees of freedom carries no information on its own precision and
        makes the result NaN (no t quantile).

    Returns
    -------
    numpy.ndarray
        The degrees of freedom (a 0-d array for scalars).

    References
    ----------
    Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
    *Biometrics Bulletin* 2, 110–114.
    Welch, B. L. (1947). The generalization of "Student's" problem when several different population
    variances are involved. *Biometrika* 34, 28–35.

    Examples
    --------
    >>> float(welch_df([1.0, 1.0], [10, 10]))
    20.0
    """
    V = [np.asarray(v, dtype=float) for v in variances]
    nu = [np.asarray(d, dtype=float) for d in dfs]
    num = sum(V) ** 2
    den = sum(np.where(v == 0, 0.0, np.divide(v ** 2, d, out=np.full(np.broadcast(v, d).shape, np.nan), where=d > 0))
              for v, d in zip(V, nu))
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)


@dataclass(frozen=True)
class Difference:
    """Hold a difference between two domain means (``a − b``) with its design-based inference.

    Attributes
    ----------
    estimate_a : float
        Mean of domain ``a``.
    estimate_b : float
        Mean of domain ``b``.
    difference : float
        ``estimate_a − estimate_b``.
    se : float
        Its standard error.
    t : float
        ``difference / se`` (NaN when ``se`` is 0).
    df : float
        Degrees of freedom: PSUs − strata of the two domains' units, minus 1 (R ``svyttest``); between two
        surveys of a :func:`stack`, Welch–Satterthwaite on their two variances (:func:`welch_df`).
    p : float
        Two-sided p-value from Student's t with ``df``.
    ci_low : float
        Lower confidence bound of the difference.
    ci_high : float
        Upper confidence bound of the difference.
    """

    estimate_a: float
    estimate_b: float
    difference: float
    se: float
    t: float
    df: float
    p: float
    ci_low: float
    ci_high: float


def mean_difference(design: Design, y: str | np.ndarray, group: str, a: str, b: str,
                    level: float = 0.95, variance: str | None = None) -> Difference:
    """Estimate the difference of the means of ``y`` between domains ``group == a`` and ``group == b``.

    Linearised: the influence values of the two domain means are subtracted, so their covariance
    is taken into account (zero between independent surveys stacked by :func:`stack`); replicate:
    the difference is recomputed on every replicate. The t test is R ``svyttest``'s (``svycontrast``
    of two ``svyby`` means) — except its degrees of freedom between two independent surveys of a
    :func:`stack` (``group`` its survey column): Welch–Satterthwaite, the rule every difference between
    the surveys follows (:func:`welch_df`). Units with a missing ``y`` are left out as a domain.

    Parameters
    ----------
    design : Design
        One design holding both domains (for independent surveys, :func:`stack`).
    y : str or array_like
        The variable's column name, or its values (one per unit).
    group : str
        Column defining the domains (compared as strings).
    a : str
        Level of ``group`` of the first domain.
    b : str
        Level of ``group`` of the second domain.
    level : float, default 0.95
        Confidence level.
    variance : {"linearisation", "replicates"}, optional
        Linearisation or the replicate weights. Default: the replicates for a design of ready-made replicate weights
        without PSUs or strata (:attr:`Design.replicates_only`), linearisation otherwise, even for a design given
        replicates by :func:`with_replicates`: pass ``variance="replicates"`` for them.

    Returns
    -------
    Difference
        Means, difference ``a − b``, standard error, t, df, p and confidence interval.

    Raises
    ------
    ParameterError
        If a column is not in the data, ``group`` has no level ``a`` or ``b`` (its levels are listed: they are
        categories, not free text), or a domain has no respondent with a value of ``y``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyttest``)
    """
    variance = check_variance(variance, level, design)
    yv = design.column(y).to_numpy(dtype=float) if isinstance(y, str) else np.asarray(y, dtype=float)
    g = design.column(group).astype(str).to_numpy()
    w = design.weights
    ok = ~np.isnan(yv) & (w > 0)
    ma, mb = ok & (g == str(a)), ok & (g == str(b))
    if not ma.any() or not mb.any():
        missing = a if not ma.any() else b
        if not (g == str(missing)).any():
            held = sorted(set(g[~design.column(group).isna().to_numpy()]))
            raise ParameterError(f"{group!r} has no level {str(missing)!r}; its levels are "
                                 f"{', '.join(map(repr, held[:12]))}{', …' if len(held) > 12 else ''}")
        raise ParameterError(f"group {missing!r} has no respondent with a value of {y!r}")
    y0 = np.where(ok, yv, 0.0)
    Wa, Wb = w[ma].sum(), w[mb].sum()
    ta, tb = (w * y0 * ma).sum() / Wa, (w * y0 * mb).sum() / Wb
    if variance == "linearisation":
        u = ma * (y0 - ta) / Wa - mb * (y0 - tb) / Wb
        v = float(_vcov(design, u)[0, 0])
    else:
        R = design.replicate_weights()
        th = (R * (y0 * ma)[:, None]).sum(0) / (R * ma[:, None]).sum(0) - \
            (R * (y0 * mb)[:, None]).sum(0) / (R * mb[:, None]).sum(0)
        v = float(replicate_variance(ta - tb, th, design.replicate_scale, design.replicate_rscales,
                                     design.replicate_mse, design.replicate_blocks)[0, 0])
    se = standard_errors(v)
    parts = _survey_parts(design, group, a, b)
    if parts is None:
        df = domain_degf(design, ma | mb) - 1
    elif variance == "linearisation":
        df = _stacked_df(design, parts, z=u)
    else:
        df = _stacked_df(design, parts, thetas=th, theta=ta - tb)
    t = (ta - tb) / se if se > 0 else np.nan
    p = float(2 * stats.t.sf(abs(t), df)) if se > 0 else np.nan
    q = stats.t.ppf(0.5 + level / 2, df)
    return Difference(ta, tb, ta - tb, se, t, df, p, ta - tb - q * se, ta - tb + q * se)
