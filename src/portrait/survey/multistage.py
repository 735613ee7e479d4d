"""Multistage designs with a finite-population correction at each stage, as R ``svyrecvar`` computes their variance.

R ``svydesign(id = ~psu + ssu, fpc = ~fpc1 + fpc2)`` keeps every stage, and ``survey:::multistage`` adds to the
first stage's (ultimate-cluster) variance, within each first-stage unit ``i``, the second stage's variance of the
same influence values times the first stage's sampling fraction ``f₁ = n/N`` of ``i``'s stratum, recursively:

    V̂ = V̂₁ + Σ_i f₁ᵢ V̂₂ᵢ,   V̂₂ᵢ = Σ_g (1 − f₂g) m_g/(m_g − 1) Σ_j (Z_gj − Z̄_g)²,

``g`` the second-stage strata within ``i`` (``i`` itself when the stage is unstratified), ``Z_gj`` the totals of the
influence values of its sampled units ``j``. A third stage adds ``Σ f₁ f₂ V̂₃``, and so on. Calibration residuals
(R ``calibrate(…, stage = 0)``, the default) are taken before, on the whole sample (:func:`residualise`); a
domain's influence values are zero outside it. Without any fpc R keeps the first stage only (ultimate cluster),
and so does :meth:`Design.from_frame`; R's ``options(survey.ultimate.cluster = TRUE)`` is the design built with
its first stage alone. Replicate weights use the first stage only, as R ``as.svrepdesign`` does.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley. (section 11.2, two-stage sampling)
Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer. (section 4.3)
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svydesign``, ``svyrecvar``)
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from .errors import ParameterError, check_columns, design_values, missing_labels
from .labels import column_sums, flat_layout, kept_for_arrays, stratum_fractions

if TYPE_CHECKING:
    from .design import Design


class Stage(NamedTuple):
    """A stage after the first of a multistage design, one value per unit (an item of ``Design.later_stages``).

    Attributes
    ----------
    psu : numpy.ndarray
        Code of the unit's cluster at this stage (nested in the previous stage's cluster).
    strata : numpy.ndarray
        Code of the unit's stratum at this stage (nested in the previous stage's cluster).
    fpc : numpy.ndarray
        Sampling fraction of the unit's stratum at this stage.
    weight : numpy.ndarray
        Product of the earlier stages' sampling fractions: what this stage's variance is multiplied by.
    parent : numpy.ndarray
        Code of the unit's cluster at the previous stage.
    """

    psu: np.ndarray
    strata: np.ndarray
    fpc: np.ndarray
    weight: np.ndarray
    parent: np.ndarray


def _per_stage(value, stages: int, name: str) -> list:
    """One entry per stage: a list as given (its length checked), a single value or ``None`` repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != stages:
            raise ParameterError(f"{name}= lists {len(value)} stages and psu= {stages}: give one entry per stage"
                                 + (" (strata crossing two variables are one column: make it first, e.g. a + ':' + b)"
                                    if name == "strata" and stages == 1 else ""))
        return list(value)
    return [value] * stages


def multistage_design(cls: type, data: pd.DataFrame, weights, prob, strata, psu, fpc, lonely_psu: str,
                      pps: str | None = None) -> "Design":
    """Build a design of several stages, like R ``svydesign(id = ~psu + ssu, strata =, fpc = ~fpc1 + fpc2)``.

    Called by :meth:`Design.from_frame` when ``psu``, ``strata`` or ``fpc`` is a list (one entry per stage).

    Parameters
    ----------
    cls : type
        The :class:`Design` class.
    data : pandas.DataFrame
        One row per sampled unit.
    weights : str or sequence of float or None
        Design weights (as :meth:`Design.from_frame`).
    prob : str or sequence of float or None
        Inclusion probabilities (as :meth:`Design.from_frame`).
    strata : str or list of (str or None) or None
        Stratum column of each stage; a single column stratifies every stage, as R does with one
        ``strata`` variable (within the previous stage's units after the first).
    psu : str or list of str
        Cluster column of each stage, each read within the previous stage's cluster (R ``svydesign``).
    fpc : str or list of str or None
        Population size (> 1) or sampling fraction (≤ 1) of each stage's stratum; ``None``: the first
        stage only (ultimate cluster, as R without fpc).
    lonely_psu : str
        Treatment of strata with a single sampled unit, at every stage (R ``survey.lonely.psu``).
    pps : {"brewer"}, optional
        The first stage drawn with unequal probabilities without replacement: its ``fpc`` holds each PSU's
        inclusion probability ``π``, whose ``1 − π`` Brewer's estimator takes, and the second stage's variance is
        multiplied by ``π`` (R ``svydesign(id = ~psu + ssu, fpc = ~pi + f2, pps = "brewer")``).

    Returns
    -------
    Design
        The first stage's design with ``later_stages`` (:class:`Stage`) set when ``fpc`` is given.

    Raises
    ------
    ParameterError
        If the lists differ in length, an fpc is given for some stages only, a later stage's column is
        absent or has missing values, or its fpc varies within a stratum or is smaller than its sample.
    """
    psus = _per_stage(psu, len(psu) if isinstance(psu, (list, tuple)) else 1, "psu")
    S = len(psus)
    stratas = _per_stage(strata, S, "strata")
    if fpc is not None and not isinstance(fpc, (list, tuple)) and S > 1:
        raise ParameterError(f"fpc={fpc!r} gives one stage of {S}: give one fpc column per stage (or psu= the first "
                             "stage's column alone for R's ultimate-cluster variance)")
    fpcs = _per_stage(fpc, S, "fpc")
    if fpc is not None and any(f is None for f in fpcs):
        raise ParameterError(f"fpc={list(fpcs)!r}: give an fpc for every stage or for none (R needs all of them)")
    if pps is not None and fpc is None:
        raise ParameterError("pps='brewer' needs fpc=: each stage's, the first holding each PSU's inclusion probability")
    if pps is not None:
        fractions = [design_values(data.reset_index(drop=True), f, "fpc") for f in fpcs]
        if any(np.any(f > 1) for f in fractions):
            raise ParameterError("with pps='brewer' every stage's fpc is a sampling fraction (≤ 1), as R requires")
        if weights is None and prob is None:
            weights = 1.0 / np.prod(fractions, axis=0)
    first = cls.from_frame(data, weights=weights, prob=prob, strata=stratas[0], psu=psus[0], fpc=fpcs[0],
                           lonely_psu=lonely_psu, pps=pps)
    if S == 1 or fpc is None:
        return first
    check_columns(first.data, **{f"psu[{s}]": c for s, c in enumerate(psus)},
                  **{f"strata[{s}]": c for s, c in enumerate(stratas) if c is not None},
                  **{f"fpc[{s}]": c for s, c in enumerate(fpcs)})
    stages, parent, weight = [], first.psu, first.fpc
    for s in range(1, S):
        st = parent if stratas[s] is None else _nested(parent, _codes(first.data, stratas[s], "stratum"))
        cl = _nested(parent, _codes(first.data, psus[s], "cluster"))
        f = _fractions(design_values(first.data, fpcs[s], "fpc"), st, cl, fpcs[s], s + 1)
        stages.append(Stage(psu=cl, strata=st, fpc=f, weight=weight, parent=parent))
        parent, weight = cl, weight * f
    return replace(first, later_stages=tuple(stages))


def _codes(data: pd.DataFrame, column: str, what: str) -> np.ndarray:
    values = data[column]
    if values.isna().any():
        raise missing_labels(values, what, column)
    return pd.factorize(values, sort=False)[0].astype(np.int64)


def _nested(parent: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Codes of the pairs (previous stage's cluster, label): a label in two clusters is two units (R)."""
    return np.unique(parent.astype(np.int64) * (int(codes.max()) + 1) + codes, return_inverse=True)[1].ravel()


def _fractions(raw: np.ndarray, st: np.ndarray, cl: np.ndarray, column: str, stage: int) -> np.ndarray:
    """Each unit's sampling fraction at a stage: ``n/N`` for a population size ``N`` > 1, else the value. ``raw`` is
    finite (:func:`~portrait.survey.errors.design_values`); ``st`` and ``cl`` are codes (:func:`_nested`), counted
    rather than grouped by pandas."""
    frac, varies, outside, _, _ = stratum_fractions(raw, st, cl)
    if varies.any():
        raise ParameterError(f"fpc {column!r} varies within a stratum of stage {stage}: one value per stratum")
    if outside.any():
        raise ParameterError(f"fpc {column!r}: more units sampled at stage {stage} than its population holds")
    return frac[st]


def later_stage_variance(design: "Design", z: np.ndarray, lonely: str, diagonal: bool = False,
                         used: np.ndarray | None = None) -> np.ndarray:
    """Compute the later stages' part of R ``svyrecvar``'s variance of the totals of influence values ``z``.

    ``Σ_s Σ_g w_g c_g Σ_j (Z_gj − Z̄_g)(Z_gj − Z̄_g)'`` over the strata ``g`` of every stage after the first, with
    ``c_g = (1 − f_g) m_g/(m_g − 1)``, ``w_g`` the product of the earlier stages' sampling fractions and
    ``Z_gj`` the totals of ``z`` over its clusters; single-unit strata as at the first stage, R's ``average``
    factor taken within each previous-stage cluster (R ``onestage`` is called once per cluster).

    Parameters
    ----------
    design : Design
        A design with ``later_stages``.
    z : numpy.ndarray
        ``n × q`` influence values (after calibration residuals).
    lonely : {"fail", "certainty", "remove", "adjust", "average"}
        Treatment of strata with a single sampled unit (R ``survey.lonely.psu``).
    diagonal : bool, default False
        Compute only the variances (length ``q``).
    used : array_like of bool, optional
        The units each estimate uses: in a design without calibration, a stratum without one is absent
        (:func:`~portrait.survey.linearisation.present_units`), as at the first stage.

    Returns
    -------
    numpy.ndarray
        The ``q × q`` matrix to add to the first stage's, or its diagonal.

    Raises
    ------
    ParameterError
        If a later stage's stratum has a single sampled unit (not all of its population) and ``lonely`` is ``"fail"``.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyrecvar``)
    """
    from .linearisation import present_units

    present = present_units(design, used, z.shape[1]) if lonely in ("fail", "average") else None
    V = 0.0
    for number, stage in enumerate(design.later_stages, start=2):
        V = V + _stage_variance(stage, z, lonely, diagonal, number, present)
    return V


class _StageStructure(NamedTuple):
    """A stage's clusters and strata, which depend on its arrays only (not on the influence values)."""

    idx: np.ndarray            # each unit's cluster (0..P-1)
    P: int                     # number of clusters
    psu_h: np.ndarray          # each cluster's stratum (0..H-1)
    n_h: np.ndarray            # clusters per stratum
    unit_h: np.ndarray         # each unit's stratum (psu_h[idx])
    f_h: np.ndarray            # each stratum's sampling fraction
    w_h: np.ndarray            # each stratum's product of the earlier stages' fractions
    parent_h: np.ndarray       # each stratum's previous-stage cluster
    layouts: dict              # ("clusters" or "strata", columns) → :func:`_column_sums`' flat positions


def _stage_structure(stage: Stage) -> _StageStructure:
    """The clusters and strata of ``stage``, computed once per set of its arrays, which the designs derived by
    ``dataclasses.replace`` (new weights, steps) share: a survey's estimators ask for the same stages' variance many
    times (:func:`~portrait.survey.labels.kept_for_arrays`)."""
    return kept_for_arrays(tuple(stage), "stage structure", lambda: _new_stage_structure(stage))


def _new_stage_structure(stage: Stage) -> _StageStructure:
    _, idx = np.unique(stage.psu, return_inverse=True)
    P = int(idx.max()) + 1
    unit = np.zeros(P, dtype=np.int64)
    unit[idx] = np.arange(len(idx))                   # a unit of each cluster
    _, psu_h, n_h = np.unique(stage.strata[unit], return_inverse=True, return_counts=True)
    one = np.zeros(len(n_h), dtype=np.int64)
    one[psu_h] = unit
    s = _StageStructure(idx, P, psu_h, n_h, psu_h[idx], stage.fpc[one], stage.weight[one], stage.parent[one], {})
    for a in s:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return s


def _stage_variance(stage: Stage, z: np.ndarray, lonely: str, diagonal: bool, number: int,
                    present: np.ndarray | None = None) -> np.ndarray:
    from .linearisation import present_groups

    idx, P, psu_h, n_h, unit_h, f_h, w_h, parent_h, layouts = _stage_structure(stage)
    H = len(n_h)
    Z = _column_sums(idx, z, P, layouts, "clusters")
    lone = (n_h == 1) & (f_h < 1)
    here = present_groups(present, unit_h, H)
    here = np.ones((H, 1), dtype=bool) if here is None else here
    if lonely == "fail" and (lone[:, None] & here).any():
        raise ParameterError(f"a stratum of stage {number} has a single sampled unit: its variance cannot be "
                             "estimated; choose lonely_psu ('certainty', 'remove', 'adjust' or 'average')")
    means = _column_sums(psu_h, Z, H, layouts, "strata") / n_h[:, None]
    means[n_h == 1] = 0.0
    D = Z - means[psu_h]
    c_h = np.where(n_h > 1, (1 - f_h) * n_h / np.maximum(n_h - 1, 1), (1 - f_h) * (lonely == "adjust"))
    c_h[f_h >= 1] = 0.0
    c_h = c_h[:, None] * np.ones((1, here.shape[1]))
    if lonely == "average" and lone.any():        # per previous-stage cluster, over its strata present
        _, g = np.unique(parent_h, return_inverse=True)
        for j in range(here.shape[1]):
            strata = np.bincount(g, weights=here[:, j])
            ok = np.bincount(g, weights=here[:, j] & ~lone)
            with np.errstate(divide="ignore", invalid="ignore"):    # a cluster whose strata are all lonely: NaN
                factor = np.where(strata > ok, strata / ok, 1.0)
                c_h[:, j] = c_h[:, j] * factor[g]
    c = (c_h * w_h[:, None])[psu_h]
    if diagonal:
        return np.einsum("ij,ij,ij->j", D, D, np.broadcast_to(c, D.shape))
    if c.shape[1] == 1:                 # one factor for every estimate: the plain quadratic form
        return (D * c).T @ D
    Dc = D * np.sqrt(c)                 # one per estimate (« average » by domain): their geometric mean between two
    return Dc.T @ Dc


def _column_sums(codes: np.ndarray, values: np.ndarray, size: int, layouts: dict, name: str) -> np.ndarray:
    """:func:`~portrait.survey.labels.column_sums` of ``values`` (``m × q``) per code (``codes``: ``m`` codes below
    ``size``), ``size × q``; the layout kept in ``layouts`` under the codes' ``name`` for the next call with as many
    columns."""
    q = values.shape[1]
    flat = layouts.get((name, q))
    if flat is None:
        flat = layouts[name, q] = flat_layout(codes, q)
    return column_sums(flat, values, size)


def subset_stages(stages: tuple[Stage, ...] | None, mask: np.ndarray) -> tuple[Stage, ...] | None:
    """The later stages of the units in ``mask`` (:func:`subset` with ``drop=True``)."""
    return None if stages is None else tuple(Stage(*(a[mask] for a in s)) for s in stages)
