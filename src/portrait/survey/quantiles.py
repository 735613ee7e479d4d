"""Quantiles with design-based confidence intervals (R ``svyquantile``, survey ≥ 4.1).

The point estimate inverts the weighted distribution function by a quantile rule (``qrule``);
the interval is Woodruff's (1952): a confidence interval for the distribution function at the
estimated quantile, ``F̂(q̂) ± t·SE``, with the linearised (or replicate) standard error of the
share of units at or below ``q̂``, carried back through the same rule; or, linearised, R's score interval
(Francisco and Fuller 1991): the values of ``θ`` that a test of ``F(θ) = p`` does not reject, found as R's
``uniroot`` finds them (:func:`_zeroin`). The standard error reported is the interval's width over ``2t``, as R
does. Checked against R in ``tests/test_models_r.py``.

Quantile rules (R's names): ``math`` — the smallest value whose weighted distribution function
reaches ``p``; ``school`` — the same, but the midpoint of two values when ``p`` falls exactly on a
step; ``hf7`` — linear interpolation between order statistics, R's ``quantile(type = 7)`` weighted.

One deliberate difference from R (survey 4.1.1): when ``p`` lies below the first step of the
distribution function (``p < F(x₍₁₎)``), ``math`` and ``school`` give the smallest value, as their
definition says, where R's ``qrule_math`` and ``qrule_school`` give the second smallest. A small ``p`` in a
small sample or domain reaches that case, and so can a Woodruff or score bound; ``tests/test_models_r.py`` shows the
fixture where it does.

References
----------
Woodruff, R. S. (1952). Confidence intervals for medians and other position measures. *JASA* 47, 635–646.
Francisco, C. A. and Fuller, W. A. (1991). Quantile estimation with a complex survey design. *Ann. Statist.* 19,
454–469.
Lumley, T. (2010). *Complex Surveys*, section 2.4; Dorfman, A. and Valliant, R. (1993).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .design import Design
from .errors import ParameterError, check_finite, check_variance, real_number
from .estimation import _compute, _domains, _Spec
from .inference import domain_degf
from .linearisation import present_units
from .proportions import proportion_interval
from .replicates import replicate_variance

QRULES = ("math", "school", "hf7")
#: R ``svyquantile``'s ``interval.type``: Woodruff's interval with the share below the quantile's interval by the
#: Wald rule (``mean``), on the logit or arcsine scale or Korn and Graubard's beta; Francisco and Fuller's score test
#: inverted (``score``, linearised only); or, with replicate weights, the quantile recomputed in every replicate
#: (``quantile``)
INTERVALS = ("mean", "xlogit", "asin", "beta", "score", "quantile")


def _steps(x: np.ndarray, w: np.ndarray, p: float) -> tuple[float, float, float]:
    """Sorted-order statistics around ``p``: the values at and after the last step at or below ``p·Σw``, and
    the gap ``p − F`` at that step; when no step is (``p`` below the first), the first value, with a negative
    gap (R ``qs``)."""
    order = np.argsort(x, kind="stable")
    # R's cumsum() and sum() accumulate in long double (x86: 80 bits) before rounding to double: so does this, so
    # that p·Σw falls exactly on a step (equal weights) where R's does, and the rules pick the same value there
    acc = np.cumsum(np.asarray(w, dtype=np.longdouble)[order])
    xs, cw, total = x[order], acc.astype(float), float(acc[-1])
    below = np.flatnonzero(cw <= p * total)
    pos = below[-1] if len(below) else 0
    nxt = min(pos + 1, len(xs) - 1)
    return float(xs[pos]), float(xs[nxt]), p - cw[pos] / total


def weighted_quantile(x: np.ndarray, w: np.ndarray, p: float, qrule: str = "math") -> float:
    """The ``p`` quantile of ``x`` with weights ``w`` by rule ``qrule`` (units with zero weight ignored)."""
    keep = w != 0
    x, w = np.asarray(x, dtype=float)[keep], np.asarray(w, dtype=float)[keep]
    if qrule == "hf7":
        order = np.argsort(x, kind="stable")
        xs, cw = x[order], np.cumsum(w[order])
        if len(xs) == 1:       # one value: every quantile is it (R's qrule_hf7 fails there)
            return float(xs[0])
        pk = np.concatenate([[0.0], cw[:-1]]) / cw[-2]
        return float(np.interp(p, pk, xs))
    low, up, gap = _steps(x, w, p)
    if gap < 0:         # p below the first step: the smallest value, by either rule's definition
        return low
    if gap == 0:        # p on a step: its value, or the midpoint with the next
        return low if qrule == "math" else (low + up) / 2
    return up


_DBL_MAX = float(np.finfo(float).max)
_EPS = float(np.finfo(float).eps)


def _zeroin(f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float,
            maxit: int = 1000) -> float:
    """A zero of ``f`` between ``a`` and ``b`` (``fa``, ``fb`` its values there, of opposite signs) by Brent's method,
    step for step as R's ``uniroot`` takes it (Forsythe, Malcolm and Moler's ``zeroin``): the secant or inverse
    quadratic interpolation when it falls well inside the bracket, bisection otherwise, a step at least ``tol / 2``.
    The score interval's test is a step function of the bound: the same iterates put its root on the same side of
    a jump as R's. Inside the bracket a value of ``f`` that is not finite counts as ± the largest double, as
    ``uniroot`` counts it (NaN as +)."""
    if fa == 0 or fb == 0:
        return a if fa == 0 else b
    c, fc = a, fa
    for _ in range(maxit + 1):
        prev = b - a
        if abs(fc) < abs(fb):           # b, the best approximation so far; c, on the other side of the root
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        step = (c - b) / 2
        if abs(step) <= tol_act or fb == 0:
            return b
        if abs(prev) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:                  # two distinct points: the secant
                t1 = fb / fa
                num, den = cb * t1, 1.0 - t1
            else:                       # three: inverse quadratic interpolation
                qa, t1, t2 = fa / fc, fb / fc, fb / fa
                num = t2 * (cb * qa * (qa - t1) - (b - a) * (t1 - 1.0))
                den = (qa - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            num, den = (num, -den) if num > 0 else (-num, den)
            if num < 0.75 * cb * den - abs(tol_act * den) / 2 and num < abs(prev * den / 2):
                step = num / den
        if abs(step) < tol_act:
            step = tol_act if step > 0 else -tol_act
        a, fa = b, fb
        b += step
        fb = float(f(b))
        if not math.isfinite(fb):
            fb = -_DBL_MAX if fb == -np.inf else _DBL_MAX
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _r_iqr(v: np.ndarray) -> float:
    """R's ``IQR(v)``: the difference of the type-7 quartiles, with R's arithmetic."""
    v = np.sort(v)
    qs = []
    for prob in (0.25, 0.75):
        index = 1 + max(len(v) - 1, 0) * prob
        lo, hi = math.floor(index), math.ceil(index)
        q = float(v[lo - 1])
        if index > lo and v[hi - 1] != q:
            q = (1 - (index - lo)) * q + (index - lo) * float(v[hi - 1])
        qs.append(q)
    return qs[1] - qs[0]


def _score_bounds(design: Design, variable: str, x: np.ndarray, inside: np.ndarray, p: float, t: float,
                  level: float, qrule: str) -> tuple[float, float]:
    """R's score interval for the ``p`` quantile among the units ``inside`` (survey's ``ffullerCI``).

    Francisco and Fuller's test of ``F(θ) = p``, ``z(θ) = Ū(θ) / SE(Ū(θ))`` with ``U = 1{x > θ} − (1 − p)`` and
    ``Ū`` its linearised domain mean, is inverted by R's ``uniroot`` (:func:`_zeroin`) over ``[min + IQR/100,
    max − IQR/100]`` to ``1/(100 √n)``: the lower bound where ``z = t``, the upper where ``z = −t``. Each root ``r`` is
    then carried back through the quantile rule at the *unweighted* share of units at or below it, ``mean(x ≤ r)``,
    as R does. ``x``, ``n``, the range and that share are over the rows R's design holds (R ``nrow``): the domain's
    units with a value, except in a calibrated or PPS design, whose domain (R ``subset``) keeps every row, a missing
    value read as 0 (R's ``na.rm`` there). A bound is NaN where R's ``uniroot`` stops: the test does not change sign
    over the range (the bound lies beyond the data, as a Woodruff bound outside [0, 1]), or is not a number there."""
    held = present_units(design, None if design.pps is not None else inside, 1)
    filled = np.where(np.isnan(x), 0.0, x)
    xr = filled if held is None else filled[held[:, 0]]
    iqr = _r_iqr(xr)
    lower, upper = float(np.min(xr)) + iqr / 100, float(np.max(xr)) - iqr / 100
    tol = 1 / (100 * math.sqrt(len(xr)))
    w, xv = np.where(inside, design.weights, 0.0), np.where(inside, x, 0.0)

    def z(theta: float) -> float:
        u = np.where(inside, (x > theta) - (1 - p), np.nan)
        m = _compute(design, [_Spec("mean", variable, u, "", inside)], "linearisation", level, deff=False).iloc[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(m["estimate"]) / np.float64(m["se"]))

    if not lower < upper:           # R: « lower < upper is not fulfilled » (a domain of one value, or nearly)
        return np.nan, np.nan
    z_low, z_up = z(lower), z(upper)
    bounds = []
    for limit in (float(t), -float(t)):     # Python floats: inf / inf is NaN, silently, as in R's C
        fa, fb = z_low - limit, z_up - limit
        if np.isnan(fa) or np.isnan(fb) or np.sign(fa) * np.sign(fb) > 0:
            bounds.append(np.nan)
            continue
        root = _zeroin(lambda theta: z(theta) - limit, lower, upper, fa, fb, tol)
        # R's mean() of a logical: the count over n in long double, then rounded
        share = float(np.longdouble(np.count_nonzero(xr <= root)) / np.longdouble(len(xr)))
        bounds.append(weighted_quantile(xv, w, share, qrule))
    return bounds[0], bounds[1]


def _probabilities(quantiles: object) -> list[float]:
    """``quantile``'s ``quantiles`` as a list of floats: numbers (not text, not bools) in [0, 1]."""
    ps = list(quantiles) if isinstance(quantiles, Iterable) and not isinstance(quantiles, str) else [quantiles]
    values = [real_number(p) for p in ps]
    for i, (p, v) in enumerate(zip(ps, values)):
        if v is None or not 0 <= v <= 1:
            what = f"quantiles[{i}]" if len(ps) > 1 else "quantiles"
            got = f"{v:g}" if v is not None else f"a {type(p).__name__}, not a number"
            raise ParameterError(f"{what} must be a probability given as a number in [0, 1] (0.5 for the median, "
                                 f"0.25 for the first quartile), got {got}")
    return values


def quantile(design: Design, variable: str, quantiles: float | Sequence[float] = 0.5, *,
             by: str | Sequence[str] | None = None, level: float = 0.95, qrule: str = "math",
             variance: str | None = None, df: float | None = None, na_rm: bool = False,
             interval: str = "mean") -> pd.DataFrame:
    """Estimate quantiles of ``variable`` with Woodruff confidence intervals (R ``svyquantile(…, ci = TRUE)``).

    The point estimate inverts the weighted distribution function by ``qrule``; the interval is
    Woodruff's: ``F̂(q̂) ± t·SE`` for the share of units at or below ``q̂``, carried back through the
    same rule (or that share's interval on another scale, ``interval``).

    Parameters
    ----------
    design : Design
        The design.
    variable : str
        Numeric column (values that are not numbers count as missing).
    quantiles : float or sequence of float, default 0.5
        One or several probabilities, numbers (not text) in [0, 1].
    by : str or sequence of str, optional
        Domain variable(s), as :func:`mean`'s (R ``svyby(…, svyquantile)``): each domain's quantiles
        and intervals, with the domain's degrees of freedom (its PSUs − strata). Default: the whole sample.
    level : float, default 0.95
        Confidence level (R: ``1 - alpha``).
    qrule : {"math", "school", "hf7"}, default "math"
        Quantile rule, with R's names (``math`` is R's default). One departure: for ``p`` below the smallest
        value's share of the weight, ``math`` and ``school`` give the smallest value, where R 4.1's ``survey:::qs``
        gives the second smallest (``last()`` of an empty set is 1): a small ``p`` or a Woodruff lower bound in a
        small domain can differ.
    variance : {"linearisation", "replicates"}, optional
        Variance method for the share below the quantile. Default: the replicates for a design of ready-made
        replicate weights without PSUs or strata (:attr:`Design.replicates_only`, R ``svrepdesign``: from
        :func:`with_replicate_weights` or :func:`read_design`), linearisation otherwise, even for a design given
        replicates by :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    df : float, optional
        Degrees of freedom of the t quantile (default: the design's, R ``degf``; ``inf``: normal).
    na_rm : bool, default False
        Leave out units with a missing value (as a domain); otherwise a missing value of a unit with a positive
        weight is an error (units of weight 0, such as non-respondents kept in a weighted file, count for nothing).
    interval : {"mean", "xlogit", "asin", "beta", "score", "quantile"}, default "mean"
        R's ``interval.type``. ``"mean"``: Woodruff's, the share's Wald interval; ``"xlogit"``, ``"asin"``,
        ``"beta"``: the share's interval on the logit or arcsine scale, or Korn and Graubard's beta (as
        :func:`proportion_interval`, with the units used as the beta's ``n``), carried back the same way;
        ``"score"`` (linearised only, as R, whose replicate method refuses it): Francisco and Fuller's test of
        ``F(θ) = p`` inverted, as R's ``ffullerCI`` does it — the bounds are where the test statistic
        ``Ū(θ)/SE(Ū(θ))``, ``U = 1{x > θ} − (1 − p)``, crosses ``±t``, found by R's ``uniroot`` (Brent's method, the
        same iterates) between ``min + IQR/100`` and ``max − IQR/100`` to ``1/(100 √n)``, then carried back through
        ``qrule`` at the *unweighted* share of units at or below the root. That share is R's choice (survey 4.1.1):
        with unequal weights the interval can miss the estimate (the median of ``apiclus1`` calibrated on ``stype``
        and ``api99``: 684 in [689, 711]). ``x``, ``n``, the range and the share are over the rows R's design holds:
        the domain's units with a value, or in a calibrated or PPS design (whose R ``subset`` keeps every row) all of
        them, a missing value read as 0 (R's ``na.rm`` there). A bound is NaN where R's ``uniroot`` stops (« f()
        values at end points not of opposite sign »: the test does not change sign within the range, the bound lies
        beyond the data — a small domain, an extreme ``p`` or heavy ties), where R fails the whole call. With equal
        weights each bound falls exactly on a step of the distribution function, where R's rule and this one turn on
        the last bit of the weights.
        ``"quantile"`` (replicate weights only): the quantile recomputed in every replicate, ``q̂ ± t·SE`` with their
        replicate SE (R warns that jackknife replicates may not give a valid one for a quantile). A replicate that
        leaves a small domain without any unit has no quantile: that is an error, as in R (whose quantile rules fail
        on weights that are all 0). Woodruff's intervals with ``variance="replicates"`` take such a domain: the
        replicates without its units are left out of the variance of its share, with a warning, as R's ``svrVar``
        discards them.

    Returns
    -------
    pandas.DataFrame
        One row per domain and probability: ``variable``, ``domain`` (``""`` without ``by``), ``p``,
        ``estimate``, ``ci_low``, ``ci_high``, ``se`` (width / 2t) and ``df``. A bound is NaN when the
        interval for the distribution function leaves [0, 1], and both are when ``df`` is 0 (a domain of one PSU).

    Raises
    ------
    ParameterError
        If ``qrule`` or ``interval`` is unknown, ``interval="quantile"`` is asked with linearisation or
        ``interval="score"`` with replicates, a probability is
        not a number or outside [0, 1], or ``variable`` has missing values among the units with a positive weight and
        ``na_rm`` is false, or holds text or infinite values, or has no value in a domain (or the whole sample: R's
        ``svyquantile`` fails there too); or, with ``interval="quantile"``, a replicate holds no unit of a domain.

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other position measures. *Journal of
    the American Statistical Association* 47, 635–646.
    Francisco, C. A. and Fuller, W. A. (1991). Quantile estimation with a complex survey design. *Annals of
    Statistics* 19, 454–469.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (section 2.4)

    Examples
    --------
    >>> quantile(d, "income", [0.25, 0.5, 0.75], na_rm=True)  # doctest: +SKIP
    >>> quantile(d, "score", 0.5, by="region")  # doctest: +SKIP
    """
    variance = check_variance(variance, level, design)
    if qrule not in QRULES:
        raise ParameterError(f"qrule must be one of {', '.join(QRULES)}, got {qrule!r}")
    if interval not in INTERVALS:
        raise ParameterError(f"interval must be one of {', '.join(INTERVALS)} (R's interval.type), got {interval!r}")
    if interval == "quantile" and variance != "replicates":
        raise ParameterError("interval='quantile' recomputes the quantile in every replicate: it needs "
                             "variance='replicates' (and a design with replicate weights)")
    if interval == "score" and variance == "replicates":
        raise ParameterError("interval='score' inverts a linearised test (R's svyquantile refuses it on replicate "
                             "weights): use variance='linearisation', or interval='mean' or 'quantile' with replicates")
    ps = _probabilities(quantiles)
    col = design.column(variable)
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(x)
    if (col.notna().to_numpy() & ~ok).any():
        raise ParameterError(f"{variable!r} is not numeric: a quantile needs numbers (a text value is not a missing one)")
    check_finite(x, variable)
    missing = int(np.count_nonzero(~ok & (design.weights > 0)))   # a unit of weight 0 counts for nothing anyway
    if missing and not na_rm:
        raise ParameterError(f"{variable!r} has {missing} missing value(s) among the units with a positive weight: "
                             "pass na_rm=True to leave them out (as a domain)")
    rows = []
    for name, mask in _domains(design, by):
        inside = ok & mask
        if not (inside & (design.weights > 0)).any():     # R's svyby(…, svyquantile, na.rm = TRUE) fails there too
            where = f"the domain {name!r}" if name else "the sample"
            raise ParameterError(f"{variable!r} has no value in {where} (every unit of positive weight misses it): "
                                 "it has no quantile, and R's svyquantile fails too; leave the domain out first "
                                 "(survey.subset)")
        nu = (domain_degf(design, inside) if na_rm or by is not None else design.degf) if df is None else df
        rows += [{"variable": variable, "domain": name, **r}
                 for r in _woodruff(design, variable, x, inside, ps, nu, level, qrule, variance, interval, name)]
    return pd.DataFrame(rows, columns=["variable", "domain", "p", "estimate", "ci_low", "ci_high", "se", "df"])


def _replicate_se(design: Design, xv: np.ndarray, inside: np.ndarray, q: float, p: float, qrule: str,
                  domain: str) -> float:
    """The replicate SE of the quantile ``q`` (at ``p``) of the units ``inside``, recomputed in every replicate
    (R's ``repCI``); a replicate without any unit of the domain is an error, as in R."""
    R = np.where(inside[:, None], design.replicate_weights(), 0.0)
    empty = np.flatnonzero(~(R != 0).any(axis=0))
    if len(empty):         # a small domain a replicate leaves without any unit: R's qrule fails there too
        where = f"the domain {domain!r}" if domain else "the sample"
        raise ParameterError(
            f"replicate {int(empty[0]) + 1} holds no unit of {where} ({len(empty)} of the {R.shape[1]} "
            "replicates hold none): its quantile cannot be recomputed there, and R's svyquantile fails too. "
            "Use interval='mean' (Woodruff's interval from the replicates' shares, which leaves such "
            "replicates out as R does), or merge the domain with another so that every replicate keeps one "
            "of its units")
    reps = np.array([weighted_quantile(xv, R[:, r], p, qrule) for r in range(R.shape[1])])
    return float(np.sqrt(replicate_variance(np.array([q]), reps[:, None], design.replicate_scale,
                                            design.replicate_rscales, design.replicate_mse,
                                            design.replicate_blocks)[0, 0]))


def _woodruff(design: Design, variable: str, x: np.ndarray, inside: np.ndarray, ps: list[float], nu: float,
              level: float, qrule: str, variance: str, interval: str = "mean", domain: str = "") -> list[dict]:
    """Each probability's quantile among the units ``inside`` (the domain named ``domain``) and its Woodruff interval
    on ``nu`` df (or, with ``interval="quantile"``, the replicates' interval; with ``interval="score"``, Francisco and
    Fuller's score interval, :func:`_score_bounds`)."""
    t = stats.norm.ppf(0.5 + level / 2) if nu == np.inf else stats.t.ppf(0.5 + level / 2, nu)
    w = np.where(inside, design.weights, 0.0)
    xv = np.where(inside, x, 0.0)
    rows = []
    for p in ps:
        q = weighted_quantile(xv, w, p, qrule)
        if interval == "quantile":
            se = _replicate_se(design, xv, inside, q, p, qrule, domain)
            rows.append({"p": p, "estimate": q, "ci_low": q - t * se, "ci_high": q + t * se, "se": se, "df": nu})
            continue
        if interval == "score":
            lo, hi = _score_bounds(design, variable, x, inside, p, t, level, qrule) if np.isfinite(t) else (np.nan,) * 2
            rows.append({"p": p, "estimate": q, "ci_low": lo, "ci_high": hi, "se": (hi - lo) / (2 * t), "df": nu})
            continue
        share = _compute(design, [_Spec("mean", variable, np.where(inside, (x <= q).astype(float), np.nan), "",
                                        inside)], variance, level, deff=False).iloc[0]
        lo_p, hi_p = share["estimate"] - t * share["se"], share["estimate"] + t * share["se"]
        if interval != "mean" and np.isfinite(t):
            lo_p, hi_p = (float(b[0]) for b in proportion_interval(
                [share["estimate"]], [share["se"]], [nu], [share["n"]], level=level, method=interval))
        if not np.isfinite(t):      # no degrees of freedom (a domain of one PSU): no interval, as R
            lo = hi = np.nan
        elif share["se"] <= 1e-12:
            # no sampling variability (a calibration variable): the interval is the estimate itself. Inverting F̂
            # at F̂(q̂) would step past q̂ whenever the two sums behind them differ in their last bit
            lo = hi = q
        else:
            lo = np.nan if np.isnan(lo_p) or lo_p < 0 else weighted_quantile(xv, w, lo_p, qrule)
            hi = np.nan if np.isnan(hi_p) or hi_p > 1 else weighted_quantile(xv, w, hi_p, qrule)
        rows.append({"p": p, "estimate": q, "ci_low": lo, "ci_high": hi, "se": (hi - lo) / (2 * t), "df": nu})
    return rows
