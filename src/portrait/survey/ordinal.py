"""Survey-weighted proportional-odds models (R ``svyolr``), split from :mod:`~portrait.survey.regression`.

The cumulative-logit model of an ordered response, fitted by weighted maximum likelihood on the distinct
(covariates, response) patterns; its variance is the sandwich with the design's linearised variance of the scores
(Binder 1983) or the replicate variance of the refitted coefficients. Checked against R ``survey::svyolr`` in
``tests/test_models_r.py``.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
*International Statistical Review* 51, 279–292.
McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42, 109–142.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats

from .design import Design
from .errors import ConvergenceError, ParameterError, check_finite, check_variance
from .inference import _vcov, domain_degf
from .regression import Fit, _full_rank, _identified, _model_rows
from .replicates import replicate_variance
from .terms import model_matrix


def _newton_batch(derivs_batch, W: np.ndarray, start: np.ndarray, p: int, tol: float = 1e-10,
                  maxit: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """The Newton iteration of :func:`svyolr` (step halving until the likelihood does not fall), run
    for every row of ``W`` at once from ``start``; returns the solutions and which rows met a point
    outside the parameter space (those are better refitted one by one, as the single-fit path does)."""
    E = np.tile(start, (len(W), 1))
    ll, g, H, unsure = derivs_batch(E, W)
    active = ~unsure
    for _ in range(maxit):
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        step = np.linalg.solve(H[rows], g[rows][:, :, None])[:, :, 0]
        t = np.ones(len(rows))
        base, floor = E[rows], ll[rows] - 1e-12 * np.abs(ll[rows])
        pending = np.arange(len(rows))
        while len(pending):
            new = base[pending] - t[pending, None] * step[pending]
            c_ll, c_g, c_H, c_bad = derivs_batch(new, W[rows[pending]])
            valid = ~c_bad & np.all(np.diff(new[:, p:], axis=1) > 0, axis=1)
            c_ll = np.where(valid, c_ll, -np.inf)
            done = (c_ll >= floor[pending]) | (t[pending] < 1e-8)
            at = rows[pending[done]]
            E[at], ll[at], g[at], H[at] = new[done], c_ll[done], c_g[done], c_H[done]
            unsure[at[~valid[done]]] = True
            t[pending[~done]] /= 2
            pending = pending[~done]
        moved = np.max(np.abs(t[:, None] * step), axis=1)
        active[rows[moved < tol * (1 + np.max(np.abs(E[rows]), axis=1))]] = False
        active &= ~unsure
    return E, unsure


#: ``svyolr``'s links: each distribution function F, its survival 1 − F (accurate in the upper tail), density f and
#: the density's derivative f', as functions of finite arguments (R's « cloglog » is survey's ``pgumbel``,
#: ``exp(−exp(−x))``)
LINKS = {
    "logistic": (special.expit, lambda x: special.expit(-x), stats.logistic.pdf,
                 lambda x: stats.logistic.pdf(x) * (1 - 2 * special.expit(x))),
    "probit": (special.ndtr, lambda x: special.ndtr(-x), stats.norm.pdf, lambda x: -x * stats.norm.pdf(x)),
    "cloglog": (lambda x: np.exp(-np.exp(-x)), lambda x: -np.expm1(-np.exp(-x)), lambda x: np.exp(-x - np.exp(-x)),
                # 0 × ∞ far in the lower tail (x below about −709, a review): the density is 0 there, and so is f'
                lambda x: np.where(x < -700, 0.0, np.exp(-x - np.exp(-x)) * np.expm1(-np.maximum(x, -700)))),
    "cauchit": (lambda x: 0.5 + np.arctan(x) / np.pi, lambda x: 0.5 - np.arctan(x) / np.pi,
                lambda x: 1 / (np.pi * (1 + x ** 2)), lambda x: -2 * x / (np.pi * (1 + x ** 2) ** 2)),
}


def _link(method: str):
    """The link's ``(P(b < Y* ≤ a), f(a), f(b), f'(a), f'(b))`` for cuts ``a > b`` that may be ±∞ (the open ends of
    the first and last levels, where f and f' are 0); the probability is a difference of survivals above the median,
    so that a level far in the upper tail keeps its small probability (a probit refit found 1 − Φ(18) = 0 exactly)."""
    F, S, f, df = LINKS[method]

    def parts(x: np.ndarray, fun) -> np.ndarray:
        finite = np.isfinite(x)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return np.where(finite, fun(np.where(finite, x, 0.0)), 0.0)

    def at(a: np.ndarray, b: np.ndarray):
        upper = b > 0
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            low = np.where(np.isinf(a), (a > 0).astype(float), parts(a, F)) - np.where(np.isinf(b), (b > 0), parts(b, F))
            high = np.where(np.isinf(b), (b < 0).astype(float), parts(b, S)) - np.where(np.isinf(a), (a < 0), parts(a, S))
        return np.where(upper, high, low), parts(a, f), parts(b, f), parts(a, df), parts(b, df)
    return at


def _olr_inputs(design: Design, y: str, terms: str | Sequence[str] | None, offset: str | Sequence[str] | None,
                levels: Sequence | None):
    """The model's inputs, checked: the design with its expression terms, the response, terms and offsets (R's
    ``offset(…)`` terms and ``offset``, read as :func:`~portrait.survey.svyglm` reads them), the rows it uses
    (complete, a response among ``levels``), each unit's response code (0..K−1), the levels, the model matrix of the
    terms, and each unit's summed offset (0 without any, and on the rows left out)."""
    design, y, terms, offsets, ok, off = _model_rows(design, y, terms, offset)
    col = design.data[y]
    if levels is None:
        levels = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.dropna().unique())
    code = pd.Categorical(col, categories=levels).codes.astype(int)   # 0..K-1, -1 missing
    ok &= code >= 0
    if len(levels) < 3:
        raise ParameterError(f"{y!r} needs at least 3 ordered levels for a proportional-odds model")
    used = ok & (design.weights > 0)
    Xdf = model_matrix(design.data, terms, intercept=False, rows=used)
    for name in Xdf.columns:
        check_finite(np.where(ok, Xdf[name].to_numpy(dtype=float), 0.0), name)
    _full_rank(np.column_stack([np.ones(len(ok)), Xdf.to_numpy(dtype=float)]), ["(thresholds)", *Xdf.columns], used)
    return design, y, terms, offsets, ok, code, list(levels), Xdf, np.where(ok, 0.0 if off is None else off, 0.0)


def _start_values(X: np.ndarray, o: np.ndarray, yk: np.ndarray, w: np.ndarray, K: int) -> np.ndarray:
    """R's start for :func:`svyolr`: a weighted logistic regression of (Y above the middle level) on ``X``, with the
    offsets ``o``, gives the slopes, and its intercept thresholds evenly spaced on the logit scale."""
    p, q, mid = X.shape[1], K - 1, K // 2
    yy = (yk >= mid).astype(float)
    Xi = np.column_stack([np.ones(len(yk)), X])
    b = np.zeros(p + 1)
    for _ in range(50):
        mu = special.expit(Xi @ b + o)
        H = (Xi.T * (w * mu * (1 - mu))) @ Xi
        step = np.linalg.solve(H + 1e-10 * np.eye(p + 1), Xi.T @ (w * (yy - mu)))
        b += step
        if np.max(np.abs(step)) < 1e-10:
            break
    spacing = np.log((np.arange(1, q + 1) / (q + 1)) / (1 - np.arange(1, q + 1) / (q + 1)))
    gam = -b[0] + spacing - spacing[mid - 1]
    return np.concatenate([b[1:], [gam[0]], np.log(np.diff(gam))])


def svyolr(design: Design, y: str, terms: str | Sequence[str] | None = None, variance: str | None = None,
           levels: Sequence | None = None, method: str = "logistic",
           offset: str | Sequence[str] | None = None) -> Fit:
    """Fit a proportional-odds (cumulative logit) model ``logit P(Y ≤ k) = ζ_k − x'β`` (R ``svyolr``).

    Fitted by maximising the weighted log-likelihood (pseudo-likelihood); linearised variance from
    the per-unit scores and the Hessian (Binder 1983), or by refitting on every replicate.
    Coefficients are named like R's (terms, then ``a|b`` thresholds). Rows with a missing value, or a
    response outside ``levels``, are left out as a domain.

    Parameters
    ----------
    design : Design
        The design.
    y : str
        Ordered response column, or the whole model as R writes it (``"y ~ a + b"``, ``terms`` then omitted), with
        offsets as R's ``offset(…)`` terms if any (``"y ~ a + offset(0.02 * ell)"``).
    terms : str or sequence of str, optional
        Explanatory column(s), treatment-coded by :func:`model_matrix`, without intercept (a numeric
        column enters as one slope, a categorical one as one coefficient per level).
    variance : {"linearisation", "replicates"}, optional
        Linearisation or the replicate weights (every replicate refitted). Default: the replicates for a design of
        ready-made replicate weights without PSUs or strata (:attr:`Design.replicates_only`), linearisation
        otherwise, even for a design given replicates by :func:`with_replicates`: pass ``variance="replicates"`` for
        them.
    levels : sequence, optional
        The response levels in order (default: a categorical column's categories, otherwise the sorted
        distinct values); at least 3.
    method : {"logistic", "probit", "cloglog", "cauchit"}, default "logistic"
        The link, as R's ``method``: ``F⁻¹ P(Y ≤ k) = ζ_k − x'β`` with ``F`` the logistic, normal, Gumbel (R's
        « cloglog » is survey's ``pgumbel``, ``F(x) = exp(−exp(−x))``, the complementary log-log of ``P(Y > k)``) or
        Cauchy distribution function.
    offset : str or sequence of str, optional
        Terms added to the linear predictor with coefficient 1, ``F⁻¹ P(Y ≤ k) = ζ_k − x'β − offset`` (R's ``polr``
        and ``svyolr``: ``η = x'β + offset``): a column or an expression, or several, added up, as
        :func:`~portrait.survey.svyglm`'s. R's
        ``svyolr`` takes them only as ``offset(…)`` terms of the formula (an ``offset=`` argument goes on to ``optim``,
        which refuses it); both are read the same way here. A unit with a missing offset is left out, as one with a
        missing term; replicate refits keep the offsets, as R's (its ``polr`` refits read the formula's).

    Returns
    -------
    Fit
        Slopes then thresholds, covariance, df (PSUs − strata of the rows used − number of slopes)
        and variance method.

    Raises
    ------
    ParameterError
        If the response has fewer than 3 levels, a term or the offset has infinite values, an offset is neither a
        column nor an expression of columns or is not numeric, an interaction is not two-way
        or lacks a main effect, a formula holds terms other than columns, or ``method`` is not a link of R's.
    ConvergenceError
        If no Newton step keeps every level's probability positive before the fit reaches its maximum (a level
        almost empty, or a covariate that separates the levels), in the sample or in a replicate.

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. *Journal of the Royal Statistical
    Society B* 42, 109–142.
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
    *International Statistical Review* 51, 279–292.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyolr``)
    """
    variance = check_variance(variance, design=design)
    if method not in LINKS:
        raise ParameterError(f"method must be one of {', '.join(LINKS)} (R svyolr's links), got {method!r}")
    link = _link(method)
    # Long on purpose: one fit whose likelihood, scores, Hessian and Newton solve share the units' data.
    design, y, terms, offsets, ok, code, levels, Xdf, off = _olr_inputs(design, y, terms, offset, levels)
    K = len(levels)
    # work on the units that enter the likelihood only (weights of the others are zero in every
    # replicate too); influence values are put back in place for the variance
    sel = np.flatnonzero(ok)
    n_all = len(ok)
    p, q = Xdf.shape[1], K - 1
    # the likelihood depends on a unit only through its (covariates, offset, response) pattern: the fits run
    # on the distinct patterns with summed weights — exact, and a few dozen rows instead of thousands
    patterns, cell_of = np.unique(np.column_stack([Xdf.to_numpy(dtype=float)[sel], off[sel], code[sel]]), axis=0,
                                  return_inverse=True)
    cell_of = cell_of.ravel()
    X, o = np.ascontiguousarray(patterns[:, :p]), patterns[:, p]
    yk = patterns[:, p + 1].astype(int)
    ok = np.ones(len(X), dtype=bool)
    to_cells = sparse.csr_matrix((np.ones(len(sel)), (cell_of, np.arange(len(sel)))), shape=(len(X), len(sel)))

    def unpack(par):
        beta, theta = par[:p], par[p:]
        zeta = np.cumsum(np.concatenate([[theta[0]], np.exp(theta[1:])]))
        return beta, zeta

    def cuts(zeta):
        return np.concatenate([[-np.inf], zeta, [np.inf]])

    def negll(par, w):
        beta, zeta = unpack(par)
        eta = X @ beta + o
        z = cuts(zeta)
        up, lo = z[yk + 1] - eta, z[yk] - eta
        pr, f1, f2, _, _ = link(up, lo)
        pr = np.where(ok, pr, 1.0)
        if np.any(pr <= 0):          # a step too far for the line search: reject it, as R does
            return np.inf, np.zeros_like(par)
        g_beta = X.T @ (w * ok * (f1 - f2) / pr)
        # gradient with respect to zeta, then chain rule to theta
        g_zeta = np.zeros(q)
        a = w * ok / pr
        np.add.at(g_zeta, np.clip(yk, 0, q - 1), -(a * f1) * (yk < q))
        np.add.at(g_zeta, np.clip(yk - 1, 0, q - 1), (a * f2) * (yk > 0))
        J = np.zeros((q, q))
        J[:, 0] = 1.0
        for i in range(1, q):
            J[i:, i] = np.exp(par[p + i])
        return -np.sum(w * ok * np.log(pr)), np.concatenate([g_beta, J.T @ g_zeta])

    def unit_scores(beta, zeta):
        """Per-pattern gradient of −log-likelihood with respect to (β, ζ), unweighted."""
        eta = X @ beta + o
        z = cuts(zeta)
        up, lo = z[yk + 1] - eta, z[yk] - eta
        pr, f1, f2, _, _ = link(up, lo)
        pr = np.where(ok, pr, 1.0)
        S = np.zeros((len(yk), p + q))
        S[:, :p] = X * ((f1 - f2) / pr)[:, None]
        rows = np.arange(len(yk))
        m1 = yk < q
        S[rows[m1], p + yk[m1]] -= f1[m1] / pr[m1]
        m2 = yk > 0
        S[rows[m2], p + yk[m2] - 1] += f2[m2] / pr[m2]
        return S * ok[:, None]

    rows = np.arange(len(yk))
    in_a = ok & (yk < q)           # the upper cut ζ_y exists
    in_b = ok & (yk > 0)           # the lower cut ζ_{y-1} exists
    in_ab = in_a & in_b
    # d(cut − η)/d(β, ζ) for the upper (A) and lower (B) cut of each unit: constant, built once
    A = np.zeros((len(yk), p + q))
    B = np.zeros((len(yk), p + q))
    A[:, :p] = -X
    B[:, :p] = -X
    A[rows[in_a], p + yk[in_a]] = 1.0
    B[rows[in_b], p + yk[in_b] - 1] = 1.0
    At, Bt = np.ascontiguousarray(A.T), np.ascontiguousarray(B.T)      # row-major transposes: faster products

    def derivs_batch(E, W):
        """Weighted log-likelihood, gradient and Hessian in (β, ζ), analytically, for many weight vectors (rows
        of ``W``) at once, each at its own point (rows of ``E``); also which rows left the parameter space (some
        unit's probability not positive)."""
        r = len(E)
        eta = E[:, :p] @ X.T + o
        z = np.concatenate([np.full((r, 1), -np.inf), E[:, p:], np.full((r, 1), np.inf)], axis=1)
        a, b = z[:, yk + 1] - eta, z[:, yk] - eta
        pr, fa, fb, dfa, dfb = link(a, b)
        bad = np.any(pr <= 0, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga, gb = fa / pr, -fb / pr
            wa, wb = W * in_a, W * in_b
            haa = wa * (dfa / pr - ga ** 2)
            hbb = wb * (-dfb / pr - gb ** 2)
            hab = W * in_ab * (fa * fb / pr ** 2)
            ll = np.einsum("rm,rm->r", W, np.log(pr))
            # a trial point outside the parameter space (some unit's probability 0: the normal's thin tails reach it
            # within a line search) gives NaN derivatives; its row is marked bad and not used
            g = (wa * ga) @ A + (wb * gb) @ B
            H = (At * haa[:, None, :]) @ A + (Bt * hbb[:, None, :]) @ B
            cross = (At * hab[:, None, :]) @ B
        return np.where(bad, -np.inf, ll), g, H + cross + cross.transpose(0, 2, 1), bad

    def derivs(est, w):
        """Weighted log-likelihood, gradient and Hessian in (β, ζ) at one point (:func:`derivs_batch` of one row);
        (−∞, None, None) outside the parameter space."""
        ll, g, H, bad = derivs_batch(est[None, :], w[None, :])
        return (-np.inf, None, None) if bad[0] else (float(ll[0]), g[0], H[0])

    def newton(w, est, tol=1e-10, maxit=50):
        ll, g, H = derivs(est, w)
        for _ in range(maxit):
            step = np.linalg.solve(H, g)
            t = 1.0
            while True:                                             # halve the step until the likelihood does not fall
                new = est - t * step
                cand = derivs(new, w) if np.all(np.diff(new[p:]) > 0) else (-np.inf, None, None)
                if cand[0] >= ll - 1e-12 * abs(ll) or t < 1e-8:
                    break
                t /= 2
            if cand[1] is None:      # no step along Newton's keeps every unit's probability positive
                if np.max(np.abs(g)) <= 1e-6 * max(1.0, float(np.sum(w))):
                    break            # at the maximum already, to the BFGS's own tolerance
                raise ConvergenceError(f"the proportional-odds model ({method} link) cannot be fitted: no Newton step "
                                       "keeps every response level's probability positive (a level almost empty, or "
                                       "a covariate that separates the levels); merge sparse levels or terms")
            est = new
            ll, g, H = cand
            if np.max(np.abs(t * step)) < tol * (1 + np.max(np.abs(est))):
                break
        return est, H

    def fit(w, start=None):
        if start is None:
            x0 = _start_values(X, o, yk, w, K)
            for _ in range(60):      # a logistic start too wide for a thinner-tailed link (a probability 0): shrink it
                if np.isfinite(negll(x0, w)[0]):
                    break
                x0 = x0 / 2
            res = optimize.minimize(negll, x0, args=(w,), jac=True, method="BFGS",
                                    options={"gtol": 1e-6 * max(1.0, w[ok].sum()), "maxiter": 1000})
            b0, z0 = unpack(res.x)
            start = np.concatenate([b0, z0])
        return newton(w, start)

    est, H_full = fit(to_cells @ design.weights[sel])
    names = list(Xdf.columns) + [f"{levels[k]}|{levels[k + 1]}" for k in range(q)]
    if variance == "linearisation":
        S = np.zeros((n_all, p + q))
        S[sel] = unit_scores(est[:p], est[p:])[cell_of]
        V = _vcov(design, S @ np.linalg.inv(-H_full))
    else:
        W = np.ascontiguousarray((to_cells @ design.replicate_weights()[sel]).T)
        # an outcome level or a covariate level a replicate empties (an audit: numpy's bare « Singular matrix »)
        _identified(np.column_stack([np.ones(len(X)), X]), W.T, ["(thresholds)", *names[:p]],
                    missing=lambda positive: [str(levels[k]) for k in range(len(levels))
                                              if not (positive & (yk == k)).any()])
        th, unsure = _newton_batch(derivs_batch, W, est, p)
        for r in np.flatnonzero(unsure):       # a replicate whose steps left the parameter space: one by one
            try:
                th[r] = fit(np.ascontiguousarray(W[r]), start=est)[0]
            except ConvergenceError as exc:
                raise ConvergenceError(f"replicate {r + 1} (the full sample fits): {exc}") from None
        V = replicate_variance(est, th, design.replicate_scale, design.replicate_rscales,
                               design.replicate_mse, design.replicate_blocks)
    return Fit(names=names, coef=est, vcov=V, df=domain_degf(design, np.isin(np.arange(n_all), sel)) - p,
               variance=variance, terms=Xdf.attrs["terms"],
               formula=f"{y} ~ {' + '.join([*terms, *(f'offset({v})' for v in offsets)])}"
               + ("" if method == "logistic" else f" ({method} link)"))
