"""The profile-likelihood interval of a proportion, as R ``svyciprop(method = "likelihood")``.

R fits ``svyglm(y ~ 1, family = quasibinomial)`` and profiles its deviance (``confint(…, method = "likelihood")``,
after ``MASS::profile.glm``). The deviance is the naive one of the weighted fit, so the cut-off is scaled by the
design effect of the logit, ``λ = V_design / V_naive``: the interval holds the ``β`` whose signed root deviance,
divided by the dispersion, lies within ``± t_{df} √λ``. R evaluates the profile on a grid (steps of a fifth of the
largest root deviance it needs, in units of the design SE), passes a cubic spline through it (Forsythe, Malcolm
and Moler's end conditions, R ``spline``) and reads the cut-off off the spline by linear interpolation (R
``approx``). This module follows those steps, with glm's iterations reproduced (its naive covariance comes from the
weights of the last-but-one iterate), so the bounds are R's to rounding.

R normalises the prior weights by their mean over its design's rows and counts the rows in the F quantile that
sets the grid's extent; for a domain it runs on a subset, which keeps every row of a calibrated design (weight 0
outside the domain) and drops the other designs' rows. The engine counts the same rows: a wrong count moves the grid,
and the bounds by up to 4e-4 on R's calibrated ``apiclus1``. With missing values, R normalises glm's prior weights
over every row, the missing answers included, but its Pearson residuals (``residuals.svyglm``) over the answered
rows: its dispersion is multiplied by ``mean(w | answered) / mean(w | all rows)``, which widens the interval by an
amount set by the weights of the units that did not answer (5e-4 to 2e-3 of the bounds on R's ``nhanes``). The
engine does the same, so its bounds are R's ``svyciprop(~y, design, method = "likelihood")``; R's
``subset(design, !is.na(y))`` gives other bounds (no such factor, and fewer degrees of freedom). With missing values
on a design calibrated by R's ``calibrate``, R fails (``NA/NaN/Inf in foreign function call``), even after
``subset``; after ``postStratify`` it computes, and agrees with the engine (trial X, 1e-10). At design effects of a
few hundred R's ``pnorm`` underflows to 0 and R fails, where the engine still gives bounds; beyond, both have none.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyciprop``)
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell proportions
estimated from survey data. *Annals of Statistics* 12, 46–60.
Forsythe, G. E., Malcolm, M. A. and Moler, C. B. (1977). *Computer Methods for Mathematical Computations*.
Prentice-Hall. (the spline's end conditions)
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

GLM_EPSILON, GLM_MAXIT = 1e-8, 25      # R glm.control()'s defaults, which svyciprop's svyglm uses
PROFILE_STEPS = 10                     # MASS profile.glm's maxsteps: at most 9 points on each side


def _deviance(y: np.ndarray, w: np.ndarray, mu: np.ndarray | float) -> float:
    """The binomial deviance of ``y`` (values in [0, 1]) at means ``mu``, prior weights ``w`` (R ``dev.resids``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ones = np.where(y > 0, y * np.log(y / mu), 0.0)
        zeros = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(np.sum(2 * w * (ones + zeros)))


def glm_intercept(y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """R ``glm(y ~ 1, family = quasibinomial, weights = w)`` (``w`` > 0): the logit ``β`` where glm's iterations
    stop, the naive variance ``(X'WX)⁻¹`` from the working weights of the iteration that produced it, and the
    deviance at ``β``."""
    mu = (w * y + 0.5) / (w + 1)                      # the binomial family's starting values
    eta = np.log(mu / (1 - mu))
    old = _deviance(y, w, mu)
    for _ in range(GLM_MAXIT):
        slope = np.exp(eta) / (1 + np.exp(eta)) ** 2  # dμ/dη of the logit link
        working = w * slope ** 2 / (mu * (1 - mu))
        beta = float(np.sum(working * (eta + (y - mu) / slope)) / np.sum(working))
        eta = np.full_like(y, beta)
        mu = special.expit(eta)
        dev = _deviance(y, w, mu)
        if abs(dev - old) / (abs(dev) + 0.1) < GLM_EPSILON:
            break
        old = dev
    return beta, 1 / float(np.sum(working)), dev


def _third_difference(x: np.ndarray, y: np.ndarray) -> float:
    """The third divided difference of four points: the third derivative of the cubic through them, over 6."""
    d1 = np.diff(y) / np.diff(x)
    d2 = np.diff(d1) / (x[2:] - x[:-2])
    return float((d2[1] - d2[0]) / (x[3] - x[0]))


def spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R ``spline(x, y)`` (x increasing, at least 3 points): the cubic spline through the points, with the third
    derivative at each end that of the cubic through the four nearest points (zero with three points), evaluated
    at ``3 × len(x)`` equally spaced points from the first ``x`` to the last."""
    n, h = len(x), np.diff(x)
    A, r = np.zeros((n, n)), np.zeros(n)            # second derivatives M at the knots: A M = r
    for i in range(1, n - 1):
        A[i, i - 1:i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        r[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    A[0, :2], A[-1, -2:] = (-1 / h[0], 1 / h[0]), (-1 / h[-1], 1 / h[-1])   # the third derivative at each end
    r[0] = 6 * _third_difference(x[:4], y[:4]) if n > 3 else 0.0
    r[-1] = 6 * _third_difference(x[-4:], y[-4:]) if n > 3 else 0.0
    M = np.linalg.solve(A, r)
    u = np.linspace(x[0], x[-1], 3 * n)
    i = np.clip(np.searchsorted(x, u, side="right") - 1, 0, n - 2)
    a, b, hi = x[i + 1] - u, u - x[i], h[i]
    values = (M[i] * a ** 3 + M[i + 1] * b ** 3) / (6 * hi) + (y[i] / hi - M[i] * hi / 6) * a \
        + (y[i + 1] / hi - M[i + 1] * hi / 6) * b
    return u, values


def likelihood_interval(y: np.ndarray, w: np.ndarray, variance: float, df: float, rows: int, weight_mean: float,
                        level: float = 0.95, answered_mean: float | None = None) -> tuple[float, float]:
    """The profile-likelihood interval of the proportion of ``y`` (R ``svyciprop(method = "likelihood")``).

    Parameters
    ----------
    y, w : numpy.ndarray
        Values (in [0, 1]) and weights (> 0) of the units used.
    variance : float
        The design variance of the proportion (linearised).
    df : float
        Degrees of freedom of the cut-off's Student quantile.
    rows : int
        The rows of R's model frame (the grid's F quantile).
    weight_mean : float
        R's normalising mean of the weights over its design's rows (the units with a missing value included).
    level : float, default 0.95
        Confidence level.
    answered_mean : float, optional
        The same mean over the rows without a missing value, which R's Pearson residuals use: the dispersion is
        multiplied by ``answered_mean / weight_mean``. Default ``weight_mean``.

    Returns
    -------
    (float, float)
        The bounds; the estimate itself when its variance is 0 (or so small that the profile's steps vanish in
        floating point) or it is 0 or 1, NaN when the profile does not reach the cut-off (R: NA).
    """
    p = float(np.sum(w * y) / np.sum(w))
    if not variance > 0 or p in (0.0, 1.0):
        return p, p
    wt = w / weight_mean
    beta, naive, dev0 = glm_intercept(y, wt)
    mu = special.expit(beta)
    cov = variance / (mu * (1 - mu)) ** 2          # the logit's design variance (svyglm's, by the delta method)
    se, lam = np.sqrt(cov), cov / naive
    r = (y - mu) / np.sqrt(mu * (1 - mu))           # Pearson residuals; the dispersion is their svyvar
    rbar = np.sum(w * r) / np.sum(w)
    scale = 1.0 if answered_mean is None else answered_mean / weight_mean
    phi = scale * np.sum(w * (r - rbar) ** 2) / np.sum(w) * len(y) / (len(y) - 1)
    alpha = stats.norm.cdf(stats.t.ppf((1 - level) / 2, df) * np.sqrt(lam)) / 2
    zmax = stats.t.isf(alpha / 2, rows - 1)         # √ of R's qf(α, 1, rows − 1, lower = FALSE), without its
    # loss of accuracy in scipy's F quantile far in the tail (a design effect of 15 made it infinite)
    if not (alpha > 0 and np.isfinite(zmax)):      # a design effect in the thousands: R fails before this point
        return np.nan, np.nan
    betas, z = [beta], [0.0]
    for sign in (-1, 1):
        step, last = 0, 0.0
        while (step := step + 1) < PROFILE_STEPS and abs(last) < zmax:
            b = beta + sign * step * zmax / 5 * se
            last = sign * np.sqrt(max((_deviance(y, wt, special.expit(b)) - dev0) / phi, 0.0))
            betas.append(b)
            z.append(last)
    if len(set(betas)) < len(betas):     # steps below the float resolution of β: no variance to speak of
        return p, p
    order = np.argsort(betas, kind="stable")
    grid, profile = spline(np.asarray(betas)[order], np.asarray(z)[order])
    cut = stats.norm.ppf(2 * alpha)
    by_z = np.argsort(profile, kind="stable")
    low, high = special.expit(np.interp([cut, -cut], profile[by_z], grid[by_z], left=np.nan, right=np.nan))
    # glm's estimate is the weighted mean to its tolerance (1e-8); an interval narrower than that (a calibration
    # variable's share, of variance ~1e-30) still holds the estimate reported
    return float(min(low, p)), float(max(high, p))
