"""The population variance of a variable, estimated with its standard error (R ``svyvar``).

The estimate is the weighted mean of ``(y − ȳ)² · n / (n − 1)``, ``ȳ`` the weighted mean and ``n`` the units used,
so that with equal weights it is the sample variance (divisor ``n − 1``). Its linearised variance treats ``ȳ`` as
fixed, as R does: the derivative of the variance with respect to ``ȳ`` is zero at ``ȳ``, so nothing is lost to first
order. With replicate weights, ``ȳ`` is recomputed in every replicate (R ``svyvar`` of a replicate design).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyvar``)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .design import Design
from .estimation import _compute, _domains, _numeric, _Spec


def _replicated(x: np.ndarray, centre: float, factor: float):
    """The variance in each replicate, ``ȳ`` recomputed there; ``x`` is centred on the full sample's ``ȳ`` first,
    which leaves the variance unchanged and keeps the sums of squares small."""
    def replicate(weights: np.ndarray, used: np.ndarray) -> np.ndarray:
        xc = np.where(used, x - centre, 0.0)
        s0, s1, s2 = (weights.T @ np.column_stack([used.astype(float), xc, xc * xc])).T
        with np.errstate(divide="ignore", invalid="ignore"):
            return factor * (s2 / s0 - (s1 / s0) ** 2)
    return replicate


def _spec(design: Design, variable: str, x: np.ndarray, domain: str, mask: np.ndarray) -> _Spec:
    w = design.weights
    used = mask & ~np.isnan(x) & (w > 0)
    n = int(used.sum())
    if n < 2:                                   # no variance from fewer than two units (R: NaN)
        return _Spec("variance", variable, np.full(len(x), np.nan), domain, mask)
    centre = float(np.sum(w[used] * x[used]) / np.sum(w[used]))
    factor = n / (n - 1)
    y = np.where(used, (x - centre) ** 2 * factor, np.nan)
    return _Spec("variance", variable, y, domain, mask, replicate=_replicated(x, centre, factor))


def var(design: Design, variables: str | Sequence[str], by: str | Sequence[str] | None = None,
        variance: str | None = None, level: float = 0.95, df: float | None = None,
        covariance: bool = False) -> pd.DataFrame:
    """Estimate the population variance of numeric variables (by domain), like R ``svyvar``.

    Each variable gets its own variance (R's matrix of covariances between several variables is not computed).
    Missing values are left out; ``n`` counts the units used. R's linearised ``svyvar(…, na.rm = TRUE)`` counts
    units with a missing value in its ``n / (n − 1)``, its replicate version does not; with no missing value, the
    two agree with this function.

    Parameters
    ----------
    design : Design
        The design (linearised variances use its calibration steps and PSUs; replicate variances its
        replicate weights).
    variables : str or sequence of str
        One or several numeric column names.
    by : str or sequence of str, optional
        Domain variable(s), as :func:`~portrait.survey.mean`'s: each domain's variance around its own mean,
        with ``n`` the domain's units (R ``svyby(…, svyvar)``).
    variance : {"linearisation", "replicates"}, optional
        Taylor linearisation, or the replicate weights with the mean recomputed in each replicate. Default: the
        replicates for a design of ready-made replicate weights without PSUs or strata
        (:attr:`Design.replicates_only`, R ``svrepdesign``: from :func:`with_replicate_weights` or
        :func:`read_design`), linearisation otherwise, even for a design given replicates by
        :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    level : float, default 0.95
        Confidence level of the intervals.
    df : float, optional
        Degrees of freedom of the intervals (default: the design's; ``numpy.inf``: normal, as R ``confint``).
    covariance : bool, default False
        Keep the covariance matrix of the estimates in the table's ``attrs["covariance"]``, for
        :func:`~portrait.survey.contrast` and :func:`~portrait.survey.vcov`.

    Returns
    -------
    pandas.DataFrame
        One row per variable and domain, with :func:`~portrait.survey.mean`'s columns; ``statistic`` is
        ``"variance"``, ``deff`` NaN, and the estimate NaN for fewer than two units.

    Raises
    ------
    ParameterError
        If a variable is not in the data, not numeric or has infinite values, or ``variance="replicates"`` is
        asked of a design without replicate weights.

    See Also
    --------
    mean, quantile

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyvar``)

    Examples
    --------
    >>> var(d, "score", by="region")  # doctest: +SKIP
    """
    vs = [variables] if isinstance(variables, str) else list(variables)
    specs = []
    for v in vs:
        x = _numeric(design, v)
        specs += [_spec(design, v, x, dom, mask) for dom, mask in _domains(design, by)]
    return _compute(design, specs, variance, level, deff=False, df_given=df, covariance=covariance)
