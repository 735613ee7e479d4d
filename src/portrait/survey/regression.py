"""Survey-weighted regression: generalised linear models (``svyglm``) and proportional-odds models (``svyolr``).

Coefficients solve the weighted estimating equations; their variance is the sandwich with the
design's linearised variance of the scores (Binder 1983) or the replicate variance of the refitted
coefficients. Checked against R ``survey::svyglm``, ``regTermTest`` and ``svyolr`` in
``tests/test_models_r.py``.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
*International Statistical Review* 51, 279–292.
McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42, 109–142.
Lumley, T. (2010). *Complex Surveys*, chapters 5 and 6.
"""


import html
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats

from .design import Design
from .errors import ConvergenceError, ParameterError, check_finite, check_variance
from .expressions import with_expressions
from .inference import _vcov, domain_degf, update
from .linearisation import standard_errors
from .replicates import replicate_variance
from .terms import expand_terms, formula, model_matrix, normalised_term


# ============================================================================ regression


@dataclass(frozen=True)
class Fit:
    """Hold the coefficients of a survey-weighted model with their covariance and residual df.

    Returned by :func:`svyglm` and :func:`svyolr`. ``table(level)`` gives the coefficient table
    (estimate, se, t, p, confidence interval); ``wald(term)`` the Wald F test that every coefficient
    of a term is 0 (R ``regTermTest``). Printed (or shown in a notebook), a fit gives what R's ``summary(fit)`` gives:
    the family and link, the variance, the residual df and the coefficients with their SE, t and p.

    Attributes
    ----------
    names : list of str
        Coefficient names, as R writes them (``(Intercept)``, ``<term><level>``, ``a|b`` thresholds).
    coef : numpy.ndarray
        The coefficients.
    vcov : numpy.ndarray
        Their covariance matrix (sandwich or replicate).
    df : int
        Residual degrees of freedom used for t and F tests.
    variance : str
        ``"linearisation"`` or ``"replicates"``.
    terms : dict
        Each term of the model (``"stype"``, ``"stype:ell"``) → the names of its coefficients, which
        :meth:`wald` tests together.
    model : dict
        For ``predict``: ``family``, and ``levels`` of each categorical term (reference first); empty for svyolr.
    formula : str
        The model as R writes it (``"api00 ~ ell + stype"``), which a printed fit shows.
    se : numpy.ndarray
        Standard errors, the square roots of the diagonal of ``vcov`` (a property).
    """

    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    df: int
    variance: str
    terms: dict = field(default_factory=dict)      # term → its coefficients' names (model_matrix's)
    model: dict = field(default_factory=dict)
    formula: str = ""

    @property
    def se(self) -> np.ndarray:
        return standard_errors(np.diag(self.vcov))

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """The coefficient table (R ``summary(fit)`` with ``confint``): ``term``, ``estimate``, ``se``, ``t``, ``p``
        (two-sided, Student's t on ``df``) and the ``level`` interval ``ci_low``, ``ci_high``."""
        t = self.coef / self.se
        q = stats.t.ppf(0.5 + level / 2, self.df)
        return pd.DataFrame({"term": self.names, "estimate": self.coef, "se": self.se, "t": t,
                             "p": 2 * stats.t.sf(np.abs(t), self.df),
                             "ci_low": self.coef - q * self.se, "ci_high": self.coef + q * self.se})

    def __repr__(self) -> str:                 # R's summary(fit): what was fitted, then the coefficients
        family = self.model.get("family")
        link = {"gaussian": "identity", "binomial": "logit", "quasibinomial": "logit"}.get(family, "log")
        head = (f"Survey-weighted GLM ({family}, {link} link)" if family
                else "Survey-weighted proportional-odds model (svyolr)")
        table = self.table().set_index("term")[["estimate", "se", "t", "p"]]
        table.columns = ["Estimate", "Std. Error", "t value", "Pr(>|t|)"]
        table.index.name = None
        return (f"{head}{': ' + self.formula if self.formula else ''}; {self.variance} variance, {self.df} residual "
                f"degrees of freedom\n"
                f"{table.to_string(float_format=lambda x: f'{x:.6g}')}")

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self).splitlines()[0])}</p>" + self.table().to_html(index=False)

    def wald(self, prefix: str) -> "WaldTest":
        """Wald F test that every coefficient of the term ``prefix`` (``"stype"``, ``"stype:ell"``) is 0 (R
        ``regTermTest``): a :class:`WaldTest` ``(F, ndf, ddf, p)``. A name that is not a term tests the
        coefficients whose names start with it (``"stypeH"``)."""
        prefix = normalised_term(prefix)
        term = self.terms.get(prefix)
        idx = [i for i, n in enumerate(self.names) if (n in term if term else n.startswith(prefix))]
        if not idx:
            raise ParameterError(f"no term or coefficient named {prefix!r}: the model's terms are {list(self.terms)}")
        b = self.coef[idx]
        Vs = self.vcov[np.ix_(idx, idx)]
        q = len(idx)
        F = float(b @ np.linalg.solve(Vs, b) / q)
        return WaldTest(F, q, self.df, float(stats.f.sf(F, q, self.df)))


class WaldTest(NamedTuple):
    """Hold a Wald F test of model coefficients (R ``regTermTest``'s ``Ftest``, ``df``, ``ddf``, ``p``).

    It unpacks as a tuple: ``F, ndf, ddf, p = fit.wald("stype")``.

    Attributes
    ----------
    F : float
        The Wald statistic divided by the number of coefficients tested.
    ndf : int
        Numerator degrees of freedom: the number of coefficients tested.
    ddf : int
        Denominator degrees of freedom: the model's residual df.
    p : float
        Upper-tail probability of ``F`` on ``(ndf, ddf)``.
    """

    F: float
    ndf: int
    ddf: int
    p: float


def _with_expressions(design: Design, y: str, terms: Sequence[str]) -> Design:
    """The design with a column for each expression term of the model (``I(ell^2)``: :mod:`.expressions`)."""
    extra = with_expressions(design.data, [y, *expand_terms(terms)[0]], response=y)
    return update(design, extra) if extra else design


def _complete(design: Design, cols: Sequence[str]) -> np.ndarray:
    absent = [c for c in cols if c not in design.data.columns]
    if absent:       # R users write formulas: a term « a+b » is one missing column here
        raise ParameterError(f"no column {', '.join(map(repr, absent))} in the survey data; terms are column names "
                             "(['a', 'b'], 'a:b' or 'a*b'), or the model is one formula 'y ~ a + b' in place of y")
    ok = design.weights > 0
    for c in cols:
        ok &= ~design.data[c].isna().to_numpy()
    return ok


#: family → (inverse link μ(η), variance function dμ/dη for the canonical link); quasi-families have the
#: same estimating equations and, in a survey, the same sandwich variance (the dispersion is not used)
FAMILIES = {
    "gaussian": (lambda eta: eta, lambda mu: np.ones_like(mu)),
    "binomial": (special.expit, lambda mu: mu * (1 - mu)),
    "quasibinomial": (special.expit, lambda mu: mu * (1 - mu)),
    "poisson": (np.exp, lambda mu: mu),
    "quasipoisson": (np.exp, lambda mu: mu),
}


def _full_rank(X: np.ndarray, names: Sequence[str], used: np.ndarray) -> None:
    """Raise, naming them, when columns of the model matrix are linear combinations of earlier ones on the units
    the model uses (collinear terms): the fit would otherwise be singular or, worse, arbitrary."""
    aliased = _aliased(X[used], names)
    if not aliased:
        return
    raise ParameterError(f"the model's columns {aliased} are linear combinations of the others on the units it "
                         "uses (collinear terms, or a level every unit of the model holds): leave one out")


def _glm_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, start: np.ndarray | None = None,
             tol: float = 1e-12, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``Σ w x (y − μ) = 0`` by Newton's method (canonical links); returns β and (X'WVX)⁻¹."""
    inv_link, var = FAMILIES[family]
    if family == "gaussian":
        wx = X.T * w
        A = np.linalg.inv(wx @ X)
        return A @ (wx @ y), A
    beta = np.zeros(X.shape[1]) if start is None else start.copy()
    if start is None:
        ybar = float(np.sum(w * y) / np.sum(w))
        j = np.flatnonzero(np.all(X == 1, axis=0))
        if len(j):
            beta[j[0]] = special.logit(ybar) if family.endswith("binomial") else np.log(ybar)
    for _ in range(max_iter):
        mu = inv_link(X @ beta)
        info = (X.T * (w * var(mu))) @ X
        try:
            step = np.linalg.solve(info, X.T @ (w * (y - mu)))
        except np.linalg.LinAlgError:      # μ at 0 or 1 everywhere: the information vanishes
            raise ConvergenceError(f"the {family} model cannot be fitted: a term separates the response perfectly "
                                   "(or a level has no event), so the coefficients run to infinity") from None
        beta = beta + step
        if np.max(np.abs(step)) <= tol * (1 + np.max(np.abs(beta))):
            break
    else:
        raise ConvergenceError(f"the {family} model did not converge in {max_iter} Newton steps "
                               "(separation, or a level without any event?)")
    mu = inv_link(X @ beta)
    return beta, np.linalg.inv((X.T * (w * var(mu))) @ X)


def _aliased(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """The columns of ``X`` that are linear combinations of earlier ones (none when it has full rank)."""
    if len(X) and np.linalg.matrix_rank(X) == X.shape[1]:
        return []
    out, rank = [], 0
    for j in range(X.shape[1]):
        r = np.linalg.matrix_rank(X[:, : j + 1]) if len(X) else 0
        if r == rank:
            out.append(names[j])
        rank = r
    return out


def _identified(rows: np.ndarray, cell_w: np.ndarray, names: Sequence[str]) -> None:
    """Raise when a replicate leaves the model rank-deficient: its distinct rows of X (``rows``) of positive weight
    (``cell_w``, rows × replicates) do not span the columns (R drops such replicates with a warning; none here)."""
    seen: set[bytes] = set()
    for r in range(cell_w.shape[1]):
        positive = np.asarray(cell_w[:, r]).ravel() > 0
        if positive.tobytes() in seen:
            continue
        seen.add(positive.tobytes())
        aliased = _aliased(rows[positive], names)
        if aliased:
            raise ConvergenceError(
                f"replicate {r + 1} (the full sample fits) gives no weight to a level or a combination of levels of "
                f"the model: its columns {aliased} are combinations of the others there, so the model cannot be "
                "refitted; a replicate of few PSUs can empty what the sample does not: use linearisation, more PSUs "
                "per replicate (JKn, BRR), or merge the levels involved")


def _replicate_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, start: np.ndarray, r: int) -> np.ndarray:
    """The model refitted on replicate ``r``'s weights; a fit that fails names its replicate (trial Y: the full
    sample fitted, one half sample separated the response)."""
    try:
        return _glm_fit(X, y, w, family, start=start)[0]
    except ConvergenceError as e:
        raise ConvergenceError(f"replicate {r + 1} (the full sample fits): {e}; a replicate of few PSUs can separate "
                               "what the sample does not: use linearisation, or merge the levels involved") from None


def svyglm(design: Design, y: str, terms: str | Sequence[str] | None = None, variance: str | None = None,
           family: str = "gaussian") -> Fit:
    """Fit a survey-weighted generalised linear model of ``y`` on ``terms`` (R ``svyglm``).

    Coefficients solve ``Σ w x (y − μ) = 0`` by Newton's method (canonical links). Rows with a missing
    value are dropped as a domain (their influence is zero). Residual degrees of freedom: the design's
    (of the rows used) + 1 − number of coefficients, as R's ``df.residual``.

    Parameters
    ----------
    design : Design
        The design.
    y : str
        Response column, or the whole model as R writes it (``"api00 ~ ell + meals + stype"``, ``terms`` then
        omitted; column names, ``a:b``, ``a*b`` and R's expression terms ``I(ell^2)``, ``I(meals > 50)``,
        ``log(enroll)``: :mod:`~portrait.survey.expressions`; an ``I(…)`` response too).
    terms : str or sequence of str, optional
        Explanatory column(s), treatment-coded by :func:`model_matrix`, with an intercept. A numeric
        column enters as one slope: give a coded answer (sex, age group) as a categorical column
        (``astype("category")``) to get one coefficient per level. Two-way interactions as in R:
        ``"a*b"`` (``a``, ``b`` and ``a:b``), or ``"a:b"`` beside both main effects.
    variance : {"linearisation", "replicates"}, optional
        ``linearisation`` (sandwich: ``A⁻¹ V(Σ w x (y − μ)) A⁻¹``, Binder 1983) or ``replicates``
        (the model refitted on every replicate's weights). Default: the replicates for a design of ready-made
        replicate weights without PSUs or strata (:attr:`Design.replicates_only`), linearisation otherwise, even for
        a design given replicates by :func:`with_replicates`: pass ``variance="replicates"`` for them.
    family : {"gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson"}, default "gaussian"
        ``gaussian`` (identity link), ``binomial`` or ``quasibinomial`` (logit link; ``y`` is 0/1
        or a proportion), ``poisson`` or ``quasipoisson`` (log link). A quasi-family gives the same
        coefficients and, in a survey, the same sandwich covariance as its family (R likewise).

    Returns
    -------
    Fit
        Coefficients, covariance, residual df and variance method.

    Raises
    ------
    ParameterError
        If ``family`` is unknown, ``y`` is out of range for it, ``y`` or a term has infinite values, an
        interaction is not two-way or lacks a main effect, or a formula holds terms other than columns.
    ConvergenceError
        If the Newton iterations of a non-gaussian family do not converge (separation, or a level
        without any event).

    References
    ----------
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
    *International Statistical Review* 51, 279–292.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (chapters 5 and 6)

    Examples
    --------
    >>> fit = svyglm(d, "voted", ["age", "sex"], family="quasibinomial")  # doctest: +SKIP
    >>> fit.table()  # doctest: +SKIP
    """
    variance = check_variance(variance, design=design)
    if family not in FAMILIES:
        raise ParameterError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    y, terms = formula(y, terms)
    design = _with_expressions(design, y, terms)
    ok = _complete(design, [y, *expand_terms(terms)[0]])
    used = ok & (design.weights > 0)
    Xdf = model_matrix(design.data, terms, rows=used)
    X = Xdf.to_numpy()
    if not pd.api.types.is_numeric_dtype(design.data[y]) and not pd.api.types.is_bool_dtype(design.data[y]):
        raise ParameterError(f"the response {y!r} is not numeric ({design.data[y].dtype}): give a number, or for a "
                             "logistic model a 0/1 column, e.g. survey.update(d, yes=(d.data[column] == level)"
                             ".astype(float))")
    yv = design.data[y].to_numpy(dtype=float)
    for name, values in ((y, yv), *((c, X[:, j]) for j, c in enumerate(Xdf.columns))):
        check_finite(np.where(ok, values, 0.0), name)
    _full_rank(np.where(ok[:, None], X, 0.0), list(Xdf.columns), used)
    X0, y0 = np.where(ok[:, None], X, 0.0), np.where(ok, yv, 0.0)
    if family.endswith("binomial") and ((y0[ok] < 0) | (y0[ok] > 1)).any():
        raise ParameterError(f"{y!r} must be 0/1 or a proportion for a {family} model")
    if family.endswith("poisson") and (y0[ok] < 0).any():
        raise ParameterError(f"{y!r} must be a non-negative count for a {family} model")
    beta, A = _glm_fit(X0, y0, design.weights * ok, family)
    names = list(Xdf.columns)
    p = len(beta)
    df = domain_degf(design, ok) + 1 - p
    if variance == "linearisation":
        resid = (y0 - FAMILIES[family][0](X0 @ beta)) * ok
        V = _vcov(design, (X0 * resid[:, None]) @ A)
    else:
        R = design.replicate_weights() * ok[:, None]
        # the distinct rows of X with their summed weights in each replicate
        rows, cell_of = np.unique(X0, axis=0, return_inverse=True)
        to_cells = sparse.csr_matrix((np.ones(len(X0)), (cell_of.ravel(), np.arange(len(X0)))),
                                     shape=(len(rows), len(X0)))
        cell_w = to_cells @ R
        _identified(rows, cell_w, names)
        if family == "gaussian":           # every replicate's normal equations from matrix products
            outer = np.einsum("ni,nj->nij", rows, rows).reshape(len(rows), p * p)
            XtWX = (outer.T @ cell_w).T.reshape(-1, p, p)
            th = np.linalg.solve(XtWX, ((X0 * y0[:, None]).T @ R).T[:, :, None])[:, :, 0]
        else:
            th = np.array([_replicate_fit(X0, y0, R[:, r], family, beta, r) for r in range(R.shape[1])])
        V = replicate_variance(beta, th, design.replicate_scale, design.replicate_rscales, design.replicate_mse,
                               design.replicate_blocks)
    return Fit(names=names, coef=beta, vcov=V, df=df, variance=variance, terms=Xdf.attrs["terms"],
               model={"family": family, "levels": Xdf.attrs["levels"]}, formula=f"{y} ~ {' + '.join(terms)}")


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


def svyolr(design: Design, y: str, terms: str | Sequence[str] | None = None, variance: str | None = None,
           levels: Sequence | None = None) -> Fit:
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
        Ordered response column, or the whole model as R writes it (``"y ~ a + b"``, ``terms`` then omitted).
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

    Returns
    -------
    Fit
        Slopes then thresholds, covariance, df (PSUs − strata of the rows used − number of slopes)
        and variance method.

    Raises
    ------
    ParameterError
        If the response has fewer than 3 levels, a term has infinite values, an interaction is not two-way
        or lacks a main effect, or a formula holds terms other than columns.

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. *Journal of the Royal Statistical
    Society B* 42, 109–142.
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
    *International Statistical Review* 51, 279–292.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyolr``)
    """
    variance = check_variance(variance, design=design)
    # Long on purpose: one fit whose likelihood, scores, start values, Hessian and Newton solve share the units' data.
    y, terms = formula(y, terms)
    design = _with_expressions(design, y, terms)
    ok = _complete(design, [y, *expand_terms(terms)[0]])
    col = design.data[y]
    if levels is None:
        levels = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.dropna().unique())
    code = pd.Categorical(col, categories=levels).codes.astype(int)   # 0..K-1, -1 missing
    ok &= code >= 0
    K = len(levels)
    if K < 3:
        raise ParameterError(f"{y!r} needs at least 3 ordered levels for a proportional-odds model")
    used = ok & (design.weights > 0)
    Xdf = model_matrix(design.data, terms, intercept=False, rows=used)
    for name in Xdf.columns:
        check_finite(np.where(ok, Xdf[name].to_numpy(dtype=float), 0.0), name)
    _full_rank(np.column_stack([np.ones(len(ok)), Xdf.to_numpy(dtype=float)]), ["(thresholds)", *Xdf.columns], used)
    # work on the units that enter the likelihood only (weights of the others are zero in every
    # replicate too); influence values are put back in place for the variance
    sel = np.flatnonzero(ok)
    n_all = len(ok)
    p, q = Xdf.shape[1], K - 1
    # the likelihood depends on a unit only through its (covariates, response) pattern: the fits run
    # on the distinct patterns with summed weights — exact, and a few dozen rows instead of thousands
    patterns, cell_of = np.unique(np.column_stack([Xdf.to_numpy(dtype=float)[sel], code[sel]]), axis=0,
                                  return_inverse=True)
    cell_of = cell_of.ravel()
    X = np.ascontiguousarray(patterns[:, :p])
    yk = patterns[:, p].astype(int)
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
        eta = X @ beta
        z = cuts(zeta)
        up, lo = z[yk + 1] - eta, z[yk] - eta
        pr = special.expit(up) - special.expit(lo)
        pr = np.where(ok, pr, 1.0)
        if np.any(pr <= 0):          # a step too far for the line search: reject it, as R does
            return np.inf, np.zeros_like(par)
        f1, f2 = stats.logistic.pdf(up), stats.logistic.pdf(lo)
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
        eta = X @ beta
        z = cuts(zeta)
        up, lo = z[yk + 1] - eta, z[yk] - eta
        pr = np.where(ok, special.expit(up) - special.expit(lo), 1.0)
        f1, f2 = stats.logistic.pdf(up), stats.logistic.pdf(lo)
        S = np.zeros((len(yk), p + q))
        S[:, :p] = X * ((f1 - f2) / pr)[:, None]
        rows = np.arange(len(yk))
        m1 = yk < q
        S[rows[m1], p + yk[m1]] -= f1[m1] / pr[m1]
        m2 = yk > 0
        S[rows[m2], p + yk[m2] - 1] += f2[m2] / pr[m2]
        return S * ok[:, None]

    def start_values(w):
        # as R: a logistic regression of (Y above the middle) on X gives the slopes' start
        mid = K // 2
        yy = (yk >= mid).astype(float)
        Xi = np.column_stack([np.ones(len(yk)), X])
        b = np.zeros(p + 1)
        for _ in range(50):
            mu = special.expit(Xi @ b)
            H = (Xi.T * (w * ok * mu * (1 - mu))) @ Xi
            step = np.linalg.solve(H + 1e-10 * np.eye(p + 1), Xi.T @ (w * ok * (yy - mu)))
            b += step
            if np.max(np.abs(step)) < 1e-10:
                break
        spacing = np.log((np.arange(1, q + 1) / (q + 1)) / (1 - np.arange(1, q + 1) / (q + 1)))
        gam = -b[0] + spacing - spacing[mid - 1]
        return np.concatenate([b[1:], [gam[0]], np.log(np.diff(gam))])

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
        eta = E[:, :p] @ X.T
        z = np.concatenate([np.full((r, 1), -np.inf), E[:, p:], np.full((r, 1), np.inf)], axis=1)
        a, b = z[:, yk + 1] - eta, z[:, yk] - eta
        Fa, Fb = special.expit(a), special.expit(b)
        pr = Fa - Fb
        bad = np.any(pr <= 0, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
            ga, gb = fa / pr, -fb / pr
            wa, wb = W * in_a, W * in_b
            haa = wa * (fa * (1 - 2 * Fa) / pr - ga ** 2)
            hbb = wb * (-fb * (1 - 2 * Fb) / pr - gb ** 2)
            hab = W * in_ab * (fa * fb / pr ** 2)
            ll = np.einsum("rm,rm->r", W, np.log(pr))
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
            est = new
            ll, g, H = cand if cand[1] is not None else derivs(est, w)
            if np.max(np.abs(t * step)) < tol * (1 + np.max(np.abs(est))):
                break
        return est, H

    def fit(w, start=None):
        if start is None:
            x0 = start_values(w)
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
        th, unsure = _newton_batch(derivs_batch, W, est, p)
        for r in np.flatnonzero(unsure):       # a replicate whose steps left the parameter space: one by one
            th[r] = fit(np.ascontiguousarray(W[r]), start=est)[0]
        V = replicate_variance(est, th, design.replicate_scale, design.replicate_rscales,
                               design.replicate_mse, design.replicate_blocks)
    return Fit(names=names, coef=est, vcov=V, df=domain_degf(design, np.isin(np.arange(n_all), sel)) - p,
               variance=variance, terms=Xdf.attrs["terms"], formula=f"{y} ~ {' + '.join(terms)}")
