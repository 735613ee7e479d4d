"""Working (Rao–Scott) likelihood-ratio tests of terms of survey-weighted GLMs (R ``regTermTest(…, method = "LRT")``).

The statistic is the difference of the pseudo-deviances of the model without and with the tested terms, the
weights rescaled to mean 1 as R's ``svyglm`` rescales them. Under the null hypothesis it is distributed as
``Σ λᵢ χ²₁`` (Rao and Scott 1984; Lumley and Scott 2014), the ``λᵢ`` being the eigenvalues of ``V₀⁻¹ V``:
``V`` the design-based (sandwich or replicate) covariance of the tested coefficients, ``V₀`` their model-based
covariance ``(X'WX)⁻¹`` under the rescaled weights, without any dispersion (R's ``naive.cov``). The tail
probability is a saddlepoint approximation (Kuonen 1999) or a Satterthwaite one, of ``Σ λᵢ χ²₁`` or, with the
design's residual degrees of freedom ``d``, of ``Σ λᵢ χ²₁ / (χ²_d / d)`` (R's ``pchisqsum`` and ``pFsum``).
Checked against R ``survey`` in ``tests/test_lrt_r.py``.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell
proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
Lumley, T. and Scott, A. J. (2014). Tests for regression models fitted to survey data. *Australian & New
Zealand Journal of Statistics* 56, 1–14.
Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic forms in normal variables.
*Biometrika* 86, 929–935.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import linalg, optimize, special, stats

from .design import Design
from .errors import ParameterError
from .expressions import split_outside
from .terms import normalised_term
from .linearisation import present_units
from .regression import FAMILIES, _glm_fit, _model_rows, expand_terms, model_matrix, svyglm

#: the tail approximations R's ``regTermTest`` offers without the CompQuadForm package
APPROXIMATIONS = ("saddlepoint", "satterthwaite")


@dataclass(frozen=True)
class LRTResult:
    """Hold a working likelihood-ratio test of terms of a survey GLM (R's ``regTermTestLRT`` object).

    Attributes
    ----------
    terms : list of str
        The tested terms, as the model names them (R ``test.terms``).
    chisq : float
        The deviance of the model without the terms minus that of the full model, weights rescaled to mean 1
        (R ``chisq``).
    lambdas : numpy.ndarray
        Eigenvalues of ``V₀⁻¹ V`` for the tested coefficients, largest first (R ``lambda``): the null
        distribution of ``chisq`` is ``Σ λᵢ χ²₁``.
    df : int
        Number of tested coefficients (R ``df``).
    ddf : float
        Denominator degrees of freedom: the model's residual df (``inf`` for the chi-square version; R ``ddf``).
    p : float
        Upper-tail probability of ``chisq`` (R ``p``).
    approximation : str
        ``"saddlepoint"`` or ``"satterthwaite"`` (R ``lrt.approximation``).
    two_log_lr : float
        ``chisq / mean(lambdas)``, what R prints as « Working 2logLR » (a property).
    """

    terms: list[str]
    chisq: float
    lambdas: np.ndarray
    df: int
    ddf: float
    p: float
    approximation: str

    @property
    def two_log_lr(self) -> float:
        return float(self.chisq / np.mean(self.lambdas))


# ============================================================================ distributions


def _satterthwaite(a: np.ndarray) -> tuple[float, float]:
    """Scale and df of the chi-square with the first two moments of ``Σ aᵢ χ²₁`` (R's ``satterthwaite``)."""
    tr = np.mean(a)
    tr2 = np.mean(a ** 2) / tr ** 2
    return float(tr * tr2), float(len(a) / tr2)


def _saddle(x: float, lam: np.ndarray, counts: np.ndarray) -> float:
    """R's ``saddle(x, rep(lam, counts))``: Lugannani–Rice's upper tail of ``Σ λᵢ χ²₁`` at ``x`` (Kuonen 1999);
    NaN where R gives NA or NaN (saddlepoint ``|ζ̂| < 1e-4``, i.e. ``x`` near the mean), for a fallback."""
    d = np.max(lam)
    lam, x = lam / d, x / d

    def k0(z):
        return -np.sum(counts * np.log(1 - 2 * z * lam)) / 2

    def kprime(z):
        return np.sum(counts * lam / (1 - 2 * z * lam))

    if np.any(lam < 0):
        lmin = np.max(1 / (2 * lam[lam < 0])) * 0.99999
    elif x > np.sum(counts * lam):
        lmin = -0.01
    else:
        lmin = -np.sum(counts) / (2 * x)
    pole = np.min(1 / (2 * lam[lam > 0]))
    lmax = pole * 0.99999
    for gap in (1e-8, 1e-11, 1e-14):     # a statistic far in the tail: its saddlepoint nears the pole (R: an error)
        if kprime(lmax) >= x:
            break
        lmax = pole * (1 - gap)
    if kprime(lmax) < x:
        return 0.0                       # x / max λ beyond about 1e14: p far below what a double holds
    z = optimize.brentq(lambda z: kprime(z) - x, lmin, lmax, xtol=1e-14, rtol=4 * np.finfo(float).eps)
    w2 = 2 * (z * x - k0(z))
    if abs(z) < 1e-4 or not w2 > 0:
        return float("nan")
    w = np.sign(z) * np.sqrt(w2)
    v = z * np.sqrt(2 * np.sum(counts * lam ** 2 / (1 - 2 * z * lam) ** 2))
    return float(stats.norm.sf(w + np.log(v / w) / w))


def _check_approximation(approximation: str) -> None:
    if approximation not in APPROXIMATIONS:
        raise ParameterError(f"approximation must be one of {', '.join(APPROXIMATIONS)}, got {approximation!r} "
                             "(R's 'integration' needs the CompQuadForm package and is not implemented)")


def pchisqsum(x: float, a: Sequence[float], approximation: str = "saddlepoint") -> float:
    """Compute the upper tail ``P(Σ aᵢ χ²₁ > x)`` of a linear combination of independent χ²₁ variables.

    R's ``pchisqsum(x, rep(1, length(a)), a, lower.tail = FALSE, method = approximation)``. The Satterthwaite
    approximation is the chi-square with the first two moments; the saddlepoint one is Kuonen's (1999)
    Lugannani–Rice formula, replaced by Satterthwaite's, as R does, where the saddlepoint is within 1e-4 of 0
    (``x`` near the mean, where the formula loses its accuracy).

    Parameters
    ----------
    x : float
        The quantile.
    a : sequence of float
        The positive coefficients ``aᵢ``.
    approximation : {"saddlepoint", "satterthwaite"}, default "saddlepoint"
        Tail approximation (regTermTest's default; R's ``pchisqsum`` alone defaults to Satterthwaite).

    Returns
    -------
    float
        The upper-tail probability (1 for ``x ≤ 0``, where R stops with an error).

    Raises
    ------
    ParameterError
        If ``approximation`` is not one of :data:`APPROXIMATIONS` or a coefficient is not positive.

    References
    ----------
    Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic forms in normal variables.
    *Biometrika* 86, 929–935.
    """
    _check_approximation(approximation)
    a = np.atleast_1d(np.asarray(a, dtype=float))
    if not len(a) or not np.all(a > 0):
        raise ParameterError(f"the coefficients of Σ aᵢ χ²₁ must be positive, got {a.tolist()}")
    if x <= 0:
        return 1.0
    scale, ndf = _satterthwaite(a)
    guess = float(stats.chi2.sf(x / scale, ndf))
    if approximation == "satterthwaite":
        return guess
    s = _saddle(x, a, np.ones(len(a)))
    return guess if np.isnan(s) else s


def pfsum(x: float, a: Sequence[float], ddf: float, approximation: str = "saddlepoint") -> float:
    """Compute the upper tail ``P(Σ aᵢ χ²₁ / (χ²_ddf / ddf) > x)``, the F analogue of :func:`pchisqsum`.

    R's ``pFsum(x, rep(1, length(a)), a, ddf, lower.tail = FALSE, method = approximation)``. Satterthwaite:
    ``F(ndf, ddf)`` at ``x / (ndf · scale)`` with the moments of ``Σ aᵢ χ²₁``; saddlepoint: the probability that
    ``Σ aᵢ χ²₁ − (x / ddf) χ²_ddf`` is positive, with ``χ²_ddf`` written as ``ddf`` χ²₁ terms (``ddf`` truncated
    to an integer, as R's ``rep``), by Kuonen's formula, Satterthwaite's F where the saddlepoint is within 1e-4
    of 0. ``ddf = inf`` is :func:`pchisqsum`.

    Parameters
    ----------
    x : float
        The quantile.
    a : sequence of float
        The positive coefficients ``aᵢ``.
    ddf : float
        Denominator degrees of freedom, at least 1 (``inf``: no denominator).
    approximation : {"saddlepoint", "satterthwaite"}, default "saddlepoint"
        Tail approximation.

    Returns
    -------
    float
        The upper-tail probability (1 for ``x ≤ 0``).

    Raises
    ------
    ParameterError
        If ``approximation`` is unknown, a coefficient is not positive or ``ddf`` is below 1.

    References
    ----------
    Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic forms in normal variables.
    *Biometrika* 86, 929–935.
    """
    if np.isinf(ddf):
        return pchisqsum(x, a, approximation)
    _check_approximation(approximation)
    a = np.atleast_1d(np.asarray(a, dtype=float))
    if not len(a) or not np.all(a > 0):
        raise ParameterError(f"the coefficients of Σ aᵢ χ²₁ must be positive, got {a.tolist()}")
    if not ddf >= 1:
        raise ParameterError(f"the denominator degrees of freedom must be at least 1, got {ddf!r}")
    if x <= 0:
        return 1.0
    scale, ndf = _satterthwaite(a)
    rval = float(stats.f.sf(x / ndf / scale, ndf, ddf))
    if approximation == "satterthwaite":
        return rval
    s = _saddle(0.0, np.append(a, -x / ddf), np.append(np.ones(len(a)), np.floor(ddf)))
    return rval if np.isnan(s) else s


# ============================================================================ the test


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray, family: str) -> float:
    """R's ``sum(family$dev.resids(y, mu, w))`` (quasi-families: their family's)."""
    if family == "gaussian":
        return float(np.sum(w * (y - mu) ** 2))
    if family.endswith("binomial"):
        return float(2 * np.sum(w * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))))
    return float(2 * np.sum(w * (special.xlogy(y, y / mu) - (y - mu))))


def _tested(test: str | Sequence[str], model_terms: Sequence[str]) -> list[str]:
    """The model's terms named by ``test`` (``"stype"``, ``["ell", "stype"]``, R's ``"~ell + stype"``, ``"a*b"``;
    an interaction's two sides in either order), or a ParameterError naming the terms that are not in it."""
    if isinstance(test, str):
        test = split_outside(test.strip().removeprefix("~"), "+")
    wanted = []
    for t in (s.strip() for s in test):
        parts = [normalised_term(p) for p in split_outside(t, ":*")]
        wanted += parts + [":".join(parts)] if len(split_outside(t, "*")) > 1 else [":".join(parts)]
    key = lambda term: ":".join(sorted(split_outside(term, ":")))  # noqa: E731 - an interaction in either order
    canonical = {key(m): m for m in model_terms}
    absent = [t for t in wanted if key(t) not in canonical]
    if absent or not wanted:
        raise ParameterError(f"tested term(s) {absent or wanted} not in the model, whose terms are "
                             f"{list(model_terms)} (the intercept cannot be tested)")
    return list(dict.fromkeys(canonical[key(t)] for t in wanted))


def working_lrt(design: Design, y: str, terms: str | Sequence[str] | None = None, *, test: str | Sequence[str],
                family: str = "gaussian", variance: str | None = None, approximation: str = "saddlepoint",
                df: float | None = None, offset: str | Sequence[str] | None = None) -> LRTResult:
    """Test terms of a survey GLM by the working (Rao–Scott) likelihood ratio (R ``regTermTest``, ``method = "LRT"``).

    ``working_lrt(d, "api00", ["ell", "meals", "stype"], test="stype")`` is R's
    ``regTermTest(svyglm(api00 ~ ell + meals + stype, d), ~stype, method = "LRT")``. The model of
    :func:`~portrait.survey.svyglm` is fitted, then refitted without the tested terms (R's ``update(model,
    . ~ . - stype)``); the statistic is the difference of their deviances under the weights divided by their
    mean (R's ``svyglm`` rescaling), referred to ``Σ λᵢ χ²₁ / (χ²_d / d)``, ``d`` the model's residual df, or
    to ``Σ λᵢ χ²₁`` with ``df=inf``. The ``λᵢ`` are the eigenvalues of ``V₀⁻¹ V``: ``V`` the covariance of the
    tested coefficients (linearised sandwich or replicates, as :func:`~portrait.survey.svyglm` gives it),
    ``V₀`` the same block of ``(X'WX)⁻¹`` at the full fit, ``W`` the rescaled weights times the variance
    function, no dispersion (R's ``naive.cov``). For a gaussian model the ``λᵢ`` are therefore on the scale of
    the residual variance; ``two_log_lr`` divides by their mean, as R's print does. Unlike the Wald test
    (:meth:`~portrait.survey.Fit.wald`), the statistic does not change when a coefficient is reparametrised.

    Parameters
    ----------
    design : Design
        The design (linearised or with replicate weights).
    y : str
        Response column, or the whole model as R writes it (``"api00 ~ ell + meals + stype"``, ``terms`` then
        omitted).
    terms : str or sequence of str, optional
        Explanatory terms, as for :func:`~portrait.survey.svyglm`.
    test : str or sequence of str
        The term(s) tested together: ``"stype"``, ``["ell", "stype"]``, ``"~ell + stype"``, an interaction
        ``"stype:ell"`` (either order).
    family : {"gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson"}, default "gaussian"
        Model family; a quasi-family gives the same test as its family (R likewise).
    variance : {"linearisation", "replicates"}, optional
        Variance of the coefficients (default: the design's, as :func:`~portrait.survey.svyglm`).
    approximation : {"saddlepoint", "satterthwaite"}, default "saddlepoint"
        Tail approximation (R ``lrt.approximation``; its ``"integration"`` needs CompQuadForm and is not here).
    df : float, optional
        Denominator df (R ``df``): by default the model's residual df; ``inf`` for the chi-square version (R's
        ``anova(…, test = "Chisq")``).
    offset : str or sequence of str, optional
        Offsets of the model, kept in both fits, as for :func:`~portrait.survey.svyglm` (or ``offset(…)`` in the
        formula).

    Returns
    -------
    LRTResult
        ``chisq``, ``lambdas``, ``df``, ``ddf`` and ``p``, as R's ``regTermTestLRT`` object.

    Raises
    ------
    ParameterError
        If a tested term is not in the model, a main effect is tested without the interactions that hold it,
        the tested terms have missing values on units the model otherwise uses (the two fits would not share
        their units), the design-based covariance of the tested coefficients is singular (too few PSUs or
        replicates), or the approximation is unknown; and as :func:`~portrait.survey.svyglm`.

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell
    proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
    Lumley, T. and Scott, A. J. (2014). Tests for regression models fitted to survey data. *Australian & New
    Zealand Journal of Statistics* 56, 1–14.
    Kuonen, D. (1999). Saddlepoint approximations for distributions of quadratic forms in normal variables.
    *Biometrika* 86, 929–935.

    Examples
    --------
    >>> working_lrt(d, "api00 ~ ell + meals + stype", test="stype").p  # doctest: +SKIP
    """
    _check_approximation(approximation)
    design, y, terms, offsets, ok, off = _model_rows(design, y, terms, offset)
    mains, pairs = expand_terms(terms)
    all_terms = mains + [f"{a}:{b}" for a, b in pairs]
    fit = svyglm(design, y, all_terms, variance=variance, family=family, offset=offsets)
    tested = _tested(test, list(fit.terms))
    kept = [t for t in all_terms if t not in tested]
    held = [t for t in kept if ":" in t and set(t.split(":")) & set(tested)]
    if held:
        raise ParameterError(f"cannot test {tested} while the model keeps the interaction(s) {held}: test them "
                             "together (R would recode the interaction without its main effect)")
    off = 0.0 if off is None else off
    if not np.array_equal(ok, _model_rows(design, y, kept, offsets)[4]):
        raise ParameterError(f"the tested term(s) {tested} have missing values on units the model without them "
                             "would use: select the complete units first (survey.subset) so both fits share them")
    # R rescales by the mean weight of the rows it keeps: a subset of a design without calibration drops the others
    kept_rows = present_units(design, None, 1)
    w = design.weights * ok / np.mean(design.weights if kept_rows is None else design.weights[kept_rows[:, 0]])
    y0 = np.where(ok, design.data[y].to_numpy(dtype=float), 0.0)
    inv_link, var = FAMILIES[family]
    X = np.where(ok[:, None], model_matrix(design.data, all_terms, rows=ok).to_numpy(dtype=float), 0.0)
    mu = inv_link(X @ fit.coef + off)
    X0 = np.where(ok[:, None], model_matrix(design.data, kept, rows=ok).to_numpy(dtype=float), 0.0)
    mu0 = inv_link(X0 @ _glm_fit(X0, y0, w, family, offset=None if offsets == () else off)[0] + off)
    chisq = _deviance(y0[ok], mu0[ok], w[ok], family) - _deviance(y0[ok], mu[ok], w[ok], family)
    idx = [fit.names.index(n) for t in tested for n in fit.terms[t]]
    naive = np.linalg.inv((X.T * (w * var(mu))) @ X)
    lambdas = linalg.eigh(fit.vcov[np.ix_(idx, idx)], naive[np.ix_(idx, idx)], eigvals_only=True)[::-1]
    if not lambdas[-1] > 1e-10 * lambdas[0]:
        raise ParameterError(f"the design-based covariance of the {len(idx)} tested coefficients is singular "
                             f"(eigenvalues {lambdas.tolist()} of V₀⁻¹V): too few PSUs or replicates to test them")
    ddf = float(fit.df if df is None else df)
    p = pfsum(chisq, lambdas, ddf, approximation)
    return LRTResult(terms=tested, chisq=chisq, lambdas=lambdas, df=len(idx), ddf=ddf, p=p,
                     approximation=approximation)
