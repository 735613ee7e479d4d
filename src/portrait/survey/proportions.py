"""Confidence intervals of proportions that stay within [0, 1], like R ``svyciprop``: the interval methods that
:func:`~portrait.survey.mean` and :func:`~portrait.survey.proportion` take (``interval=``)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

from .errors import ParameterError, check_variance


INTERVALS = ("wald", "logit", "xlogit", "asin", "beta", "likelihood")


def _check_interval(interval: object) -> None:
    if interval not in INTERVALS:
        raise ParameterError(f"interval={interval!r} is not one of {', '.join(map(repr, INTERVALS))}")



@lru_cache(maxsize=256)
def _t_quantile(level: float, df: float) -> float:
    """Student's quantile of a two-sided interval of confidence ``level`` (NaN without degrees of freedom): the value
    ``stats.t.ppf``'s array call gives each element, cached (the estimators ask for the same few again and again)."""
    return float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else np.nan


def proportion_interval(estimate, se, df, n, level: float = 0.95, method: str = "logit",
                        logit_se=None) -> tuple[np.ndarray, np.ndarray]:
    """Confidence intervals of proportions that stay within [0, 1], like R ``svyciprop``.

    ``"logit"`` (R's default) is the Wald interval of the logit: ``expit(logit(p) ± t·se / (p(1 − p)))``,
    what R computes from ``svyglm(y ~ 1, family = quasibinomial)``. ``"xlogit"`` is the same interval with the
    delta method's ``se / (p(1 − p))`` always (R ``svycontrast`` of ``log(p/(1 − p))``): with replicate weights it
    differs from ``"logit"``, whose SE :func:`mean` takes from the replicates' ``logit(p_r)``. ``"asin"`` is the
    Wald interval of ``asin(√p)`` (delta-method SE ``se / (2√(p(1 − p)))``) mapped back by ``sin²``, as R does
    (a bound beyond 0 or π/2 folds back). ``"beta"`` is Korn and Graubard's
    Clopper–Pearson interval with the effective sample size ``p(1 − p) / se²``, times
    ``(t(n − 1) / t(df))²``. ``"wald"`` is ``p ± t·se``. Student's t has ``df`` degrees of freedom.

    When ``se`` is 0 and ``p`` is strictly between 0 and 1 (no sampling variability, e.g. the share of a
    calibration variable), every method gives the estimate itself. At ``p`` = 0 or 1 (no unit, or every
    unit, in the category: linearised ``se`` is then 0) the beta interval takes the effective sample size
    ``n``, as Korn and Graubard advise, and is Clopper–Pearson's ``[0, 1 − (α/2)^(1/n)]`` at 0; the logit and
    asin intervals are the estimate (R returns ``NaN`` or diverges there).

    Parameters
    ----------
    estimate, se : array_like
        Estimated proportions and their standard errors.
    df : array_like
        Degrees of freedom (the design's).
    n : array_like
        Units used by each estimate (the beta interval's ``n``). R's ``svyciprop(method = "beta")`` takes
        ``nrow(design)``, which also counts the units whose variable is missing: with missing values its bounds
        differ (by 2e-4 on R's ``nhanes``); with ``n`` = the rows without them, R's formula gives these. In a
        domain of a calibrated design R's ``nrow`` is the whole sample (its ``subset`` keeps every row, with weight
        0): 183 for a domain of 14 units of ``apiclus1`` (an audit), a narrower interval; :func:`mean` passes the
        domain's units, the ``n`` of Korn and Graubard's ``t(n − 1)``.
    level : float, default 0.95
        Confidence level.
    method : {"logit", "xlogit", "asin", "beta", "wald"}, default "logit"
        The interval (R ``svyciprop``'s ``method``; ``"wald"`` is its ``"mean"`` with these ``df``).
    logit_se : array_like, optional
        The standard error of ``logit(p)`` when it is known directly: with replicate weights R refits
        the logit in each replicate, and :func:`mean` passes the replicate SE of ``logit(p_r)``. Default
        ``se / (p(1 − p))``, the linearised one.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds (``NaN`` where the estimate, its SE or ``df`` is missing).

    Raises
    ------
    ParameterError
        If ``method`` is unknown or ``"likelihood"`` (which needs the units: :func:`mean`), ``level`` is not
        strictly between 0 and 1, or an estimate lies outside [0, 1].

    See Also
    --------
    mean, proportion

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small expected
    number of positive counts estimated from survey data. *Survey Methodology* 24, 193–201.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyciprop``)

    Examples
    --------
    >>> low, high = proportion_interval([0.02, 0.5], [0.01, 0.03], df=40, n=[300, 300])
    >>> bool(low[0] > 0)
    True
    """
    _check_interval(method)
    if method == "likelihood":
        raise ParameterError("the likelihood interval profiles the units' deviance: ask mean() or proportion() for "
                             "interval='likelihood'")
    check_variance("linearisation", level)
    p, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    p, se, df, n = np.broadcast_arrays(p, se, np.asarray(df, dtype=float), np.asarray(n, dtype=float))
    if ((p < 0) | (p > 1)).any():
        raise ParameterError(f"method={method!r} is for proportions in [0, 1]")
    ok = ~(np.isnan(p) | np.isnan(se) | np.isnan(df)) & (df > 0)
    low, high = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    dfs = np.where(ok, df, 1.0)
    if dfs.size and (dfs == dfs.flat[0]).all():      # one df (the design's): its quantile, computed once per df
        t = np.where(ok, _t_quantile(level, float(dfs.flat[0])), np.nan)
    else:
        t = np.where(ok, stats.t.ppf(0.5 + level / 2, dfs), np.nan)
    edge = (p == 0) | (p == 1)
    fixed = ok & (((se == 0) & ~(edge & (method == "beta"))) | (edge & (method in ("logit", "xlogit", "asin"))))
    low[fixed], high[fixed] = p[fixed], p[fixed]
    go = ok & ~fixed
    if method == "wald":
        low[go], high[go] = p[go] - t[go] * se[go], p[go] + t[go] * se[go]
    elif method in ("logit", "xlogit"):
        lse = se[go] / (p[go] * (1 - p[go])) if logit_se is None or method == "xlogit" \
            else np.broadcast_to(np.asarray(logit_se, dtype=float), p.shape)[go]
        half = t[go] * lse
        logit = np.log(p[go] / (1 - p[go]))
        low[go], high[go] = special.expit(logit - half), special.expit(logit + half)
    elif method == "asin":
        x, half = np.arcsin(np.sqrt(p[go])), t[go] * se[go] / (2 * np.sqrt(p[go] * (1 - p[go])))
        low[go], high[go] = np.sin(x - half) ** 2, np.sin(x + half) ** 2
    else:
        a = 1 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(edge, n, p * (1 - p) / se ** 2 * (stats.t.ppf(a / 2, n - 1)
                                                                 / stats.t.ppf(a / 2, np.where(ok, df, 1.0))) ** 2)
        go &= n_eff > 0
        x = n_eff[go] * p[go]
        low[go] = np.where(p[go] == 0, 0.0, stats.beta.ppf(a / 2, x, n_eff[go] - x + 1))
        high[go] = np.where(p[go] == 1, 1.0, stats.beta.ppf(1 - a / 2, x + 1, n_eff[go] - x))
    return low, high
