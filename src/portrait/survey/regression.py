"""Survey-weighted regression: generalised linear models (``svyglm``); proportional-odds models in
:mod:`~portrait.survey.ordinal`.

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
import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, special, stats

from .design import Design
from .errors import ConvergenceError, ParameterError, check_finite, check_variance
from .expressions import evaluate, is_expression, split_outside, with_expressions
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
    influence : numpy.ndarray or None
        :func:`svyglm` with linearisation: each unit's influence on the coefficients (units × coefficients, 0 on the
        rows left out), whose design variance is ``vcov`` (what R's ``svyglm(influence = TRUE)`` returns).
    replicates : numpy.ndarray or None
        :func:`svyglm` with replicates: the coefficients refitted on each replicate (replicates × coefficients, R's
        ``svyglm(return.replicates = TRUE)``). Either one lets :func:`joint_vcov` combine fits.
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
    influence: np.ndarray | None = field(default=None, repr=False)
    replicates: np.ndarray | None = field(default=None, repr=False)

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

    def wald(self, prefix: str | Sequence[str]) -> "WaldTest":
        """Wald F test that every coefficient of the term ``prefix`` (``"stype"``, ``"stype:ell"``) is 0 (R
        ``regTermTest``): a :class:`WaldTest` ``(F, ndf, ddf, p)``. A name that is not a term tests the
        coefficients whose names start with it (``"stypeH"``). Several terms tested together, as R's
        ``regTermTest(fit, ~ell + stype)``: a list (``["ell", "stype"]``) or R's ``"~ell + stype"``."""
        if not isinstance(prefix, str) or "+" in prefix or prefix.strip().startswith("~"):
            from .lrt import _tested
            names = set(n for t in _tested(prefix, list(self.terms)) for n in self.terms[t])
            idx = [i for i, n in enumerate(self.names) if n in names]
        else:
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


_OFFSET = re.compile(r"^\s*offset\s*\((.*)\)\s*$", re.S)


def split_offsets(y: str, terms: str | Sequence[str] | None, offset: str | Sequence[str] | None = None
                  ) -> tuple[str, str | list[str] | None, tuple[str, ...]]:
    """A model's offsets taken out of it: R's ``offset(…)`` terms of the formula ``y`` (or of ``terms``), then those
    of ``offset`` (a column or an expression, or several: R adds them all up)."""
    found: list[str] = []

    def keep(items: Sequence[str]) -> list[str]:
        out = []
        for t in items:
            m = _OFFSET.match(t)
            (found.append(m.group(1).strip()) if m else out.append(t))
        return out

    if terms is None and "~" in y and len(sides := split_outside(y, "~")) == 2:
        kept = keep(split_outside(sides[1], "+"))
        y, terms = (f"{sides[0].strip()} ~ {' + '.join(t.strip() for t in kept)}", None) if kept \
            else (sides[0].strip(), [])
    elif terms is not None:
        terms = keep([terms] if isinstance(terms, str) else list(terms))
    given = [] if offset is None else [offset] if isinstance(offset, str) else list(offset)
    return y, terms, tuple(found + [str(o).strip() for o in given])


def offset_values(data: pd.DataFrame, offsets: Sequence[str]) -> np.ndarray | None:
    """The sum of the ``offsets`` on every row of ``data``, NaN where one is missing; None without offsets. An offset
    is a column, an expression term such as ``log(enroll)`` or ``I(pop / 1000)``, or a bare expression such as
    ``0.02 * ell``, read as R reads ``offset(0.02 * ell)``: as if in ``I(…)``. A comparison (``ell > 20``) or a
    boolean column adds as 0/1, as R's ``model.offset`` adds a logical."""
    if not offsets:
        return None
    total = np.zeros(len(data))
    for o in offsets:
        if is_expression(o):
            v = evaluate(data, o, response=True)          # a comparison as 0/1, not R's FALSE/TRUE factor
        elif o in data.columns:
            v = data[o]
        else:
            try:                              # the parser reads a bare expression as the inside of I(…)
                v = evaluate(data, o, response=True)
            except ParameterError as exc:     # its reason, said of the offset
                raise ParameterError(str(exc).replace(f"term {o!r}", f"the offset {o!r}", 1)) from None
        if not (pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v)):
            raise ParameterError(f"the offset {o!r} is not numeric ({v.dtype})")
        total = total + v.to_numpy(dtype=float, na_value=np.nan)
    return total


#: said when a model with an offset cannot be fitted (a review: an exposure given without its log overflowed)
_OFFSET_HINT = "; or the offset is not on the link's scale: a count's exposure enters as its log, offset(log(days))"


def _glm_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, start: np.ndarray | None = None,
             tol: float = 1e-12, max_iter: int = 100, offset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``Σ w x (y − μ) = 0``, ``μ`` the inverse link of ``X β + offset``, by Newton's method (canonical links);
    returns β and (X'WVX)⁻¹."""
    inv_link, var = FAMILIES[family]
    off = 0.0 if offset is None else offset
    if family == "gaussian":
        wx = X.T * w
        A = np.linalg.inv(wx @ X)
        return A @ (wx @ (y - off)), A
    beta = np.zeros(X.shape[1]) if start is None else start.copy()
    if start is None:
        ybar = float(np.sum(w * y) / np.sum(w))
        j = np.flatnonzero(np.all(X[w > 0] == 1, axis=0))    # rows of weight 0 are zeroed (model_matrix's rows=)
        if len(j) and offset is None:
            beta[j[0]] = special.logit(ybar) if family.endswith("binomial") else np.log(ybar)
        elif len(j):       # the intercept that fits the mean with the offsets
            mean_off = float(np.sum(w * offset) / np.sum(w))
            # log Σwy − log Σw·e^offset, the latter in log space: an exposure given without its log does not overflow
            beta[j[0]] = special.logit(ybar) - mean_off if family.endswith("binomial") \
                else np.log(np.sum(w * y)) - special.logsumexp(offset, b=w)
    for _ in range(max_iter):
        mu = inv_link(X @ beta + off)
        info = (X.T * (w * var(mu))) @ X
        try:
            step = np.linalg.solve(info, X.T @ (w * (y - mu)))
        except np.linalg.LinAlgError:      # μ at 0 or 1 everywhere: the information vanishes
            raise ConvergenceError(f"the {family} model cannot be fitted: a term separates the response perfectly "
                                   "(or a level has no event), so the coefficients run to infinity"
                                   + _OFFSET_HINT * (offset is not None)) from None
        beta = beta + step
        if np.max(np.abs(step)) <= tol * (1 + np.max(np.abs(beta))):
            break
    else:
        raise ConvergenceError(f"the {family} model did not converge in {max_iter} Newton steps "
                               "(separation, or a level without any event?)" + _OFFSET_HINT * (offset is not None))
    mu = inv_link(X @ beta + off)
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


def _identified(rows: np.ndarray, cell_w: np.ndarray, names: Sequence[str],
                missing: Callable[[np.ndarray], list[str]] | None = None) -> None:
    """Raise when a replicate cannot refit the model: its distinct rows of X (``rows``) of positive weight
    (``cell_w``, rows × replicates) do not span the columns, or ``missing`` (of those rows) names levels of the
    response it leaves without weight (:func:`~portrait.survey.ordinal.svyolr`). R drops such replicates with a
    warning, or keeps meaningless numbers; the engine drops none. Each distinct pattern is checked once."""
    seen: set[bytes] = set()
    for r in range(cell_w.shape[1]):
        positive = np.asarray(cell_w[:, r]).ravel() > 0
        if positive.tobytes() in seen:
            continue
        seen.add(positive.tobytes())
        empty = missing(positive) if missing is not None else []
        aliased = [] if empty else _aliased(rows[positive], names)
        if empty or aliased:
            what = (f"no weight to the outcome level(s) {empty}" if empty else
                    f"no weight to a level or a combination of levels of the model: its columns {aliased} are "
                    "combinations of the others there")
            raise ConvergenceError(f"replicate {r + 1} (the full sample fits) gives {what}, so the model cannot be "
                                   "refitted; a replicate of few PSUs can empty what the sample does not: use "
                                   "linearisation, more PSUs per replicate (JKn, BRR), or merge the levels involved")


def _replicate_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, family: str, start: np.ndarray, r: int,
                   offset: np.ndarray | None = None) -> np.ndarray:
    """The model refitted on replicate ``r``'s weights; a fit that fails names its replicate (trial Y: the full
    sample fitted, one half sample separated the response)."""
    try:
        return _glm_fit(X, y, w, family, start=start, offset=offset)[0]
    except ConvergenceError as e:
        raise ConvergenceError(f"replicate {r + 1} (the full sample fits): {e}; a replicate of few PSUs can separate "
                               "what the sample does not: use linearisation, or merge the levels involved") from None


def _model_rows(design: Design, y: str, terms: str | Sequence[str] | None, offset: str | Sequence[str] | None):
    """A model as R reads it, for :func:`svyglm` and :func:`~portrait.survey.ordinal.svyolr`: the design with its
    expression terms, the response, the terms, the offsets (R's ``offset(…)`` terms of the formula, then
    ``offset``), the rows complete on the response, the terms and the offsets, and each unit's summed offset (0 on
    the rows left out; None without offsets)."""
    y, terms, offsets = split_offsets(y, terms, offset)
    y, terms = formula(y, terms)
    design = _with_expressions(design, y, terms)
    ok = _complete(design, [y, *expand_terms(terms)[0]])
    off = offset_values(design.data, offsets)
    if off is not None:          # a unit without its offset is left out, as one without a term
        ok &= ~np.isnan(off)
        off = np.where(ok, off, 0.0)
        check_finite(off, "the offset")
    return design, y, terms, offsets, ok, off


def _replicate_coefs(X: np.ndarray, y: np.ndarray, R: np.ndarray, family: str, beta: np.ndarray,
                     offset: np.ndarray | None, names: Sequence[str]) -> np.ndarray:
    """The model refitted on every replicate's weights (the columns of ``R``, 0 on the rows left out), one row of
    coefficients per replicate, from ``beta``; a replicate that cannot identify the model is named first."""
    # the distinct rows of X with their summed weights in each replicate
    rows, cell_of = np.unique(X, axis=0, return_inverse=True)
    to_cells = sparse.csr_matrix((np.ones(len(X)), (cell_of.ravel(), np.arange(len(X)))), shape=(len(rows), len(X)))
    cell_w = to_cells @ R
    _identified(rows, cell_w, names)
    if family != "gaussian":
        return np.array([_replicate_fit(X, y, R[:, r], family, beta, r, offset) for r in range(R.shape[1])])
    p = len(beta)                  # every replicate's normal equations from matrix products
    outer = np.einsum("ni,nj->nij", rows, rows).reshape(len(rows), p * p)
    XtWX = (outer.T @ cell_w).T.reshape(-1, p, p)
    target = y if offset is None else y - offset
    return np.linalg.solve(XtWX, ((X * target[:, None]).T @ R).T[:, :, None])[:, :, 0]


def svyglm(design: Design, y: str, terms: str | Sequence[str] | None = None, variance: str | None = None,
           family: str = "gaussian", offset: str | Sequence[str] | None = None) -> Fit:
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
    offset : str or sequence of str, optional
        A term added to the linear predictor with coefficient 1 (R ``offset =``): a column or an expression, e.g. the
        log of an exposure for a Poisson model of a rate (``"log(enroll)"``); a bare expression (``"0.02 * ell"``) is
        read as R reads it, as if in ``I(…)``. A formula may hold it as R writes it
        (``"api.stu ~ stype + offset(log(enroll))"``); several are added up. A unit with a missing offset is left out,
        as one with a missing term; :func:`~portrait.survey.predict` adds the offsets computed on its new data.

    Returns
    -------
    Fit
        Coefficients, covariance, residual df and variance method.

    Raises
    ------
    ParameterError
        If ``family`` is unknown, ``y`` is out of range for it, ``y``, a term or the offset has infinite values, an
        offset is neither a column nor an expression of columns or is not numeric, an interaction is not two-way or
        lacks a main effect, or a formula holds terms other than columns.
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
    >>> svyglm(d, "visits ~ age + offset(log(days))", family="quasipoisson")  # doctest: +SKIP
    """
    variance = check_variance(variance, design=design)
    if family not in FAMILIES:
        raise ParameterError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    design, y, terms, offsets, ok, off = _model_rows(design, y, terms, offset)
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
    beta, A = _glm_fit(X0, y0, design.weights * ok, family, offset=off)
    names = list(Xdf.columns)
    df = domain_degf(design, ok) + 1 - len(beta)
    infl = th = None
    if variance == "linearisation":
        resid = (y0 - FAMILIES[family][0](X0 @ beta + (0.0 if off is None else off))) * ok
        infl = (X0 * resid[:, None]) @ A
        V = _vcov(design, infl)
    else:
        th = _replicate_coefs(X0, y0, design.replicate_weights() * ok[:, None], family, beta, off, names)
        V = _replicate_vcov(design, beta, th)
    return Fit(names=names, coef=beta, vcov=V, df=df, variance=variance, terms=Xdf.attrs["terms"],
               model={"family": family, "levels": Xdf.attrs["levels"], "offset": offsets},
               formula=f"{y} ~ {' + '.join([*terms, *(f'offset({o})' for o in offsets)]) or '1'}",
               influence=infl, replicates=th)


def _replicate_vcov(design: Design, theta: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    return replicate_variance(theta, thetas, design.replicate_scale, design.replicate_rscales, design.replicate_mse,
                              design.replicate_blocks)


def joint_vcov(design: Design, fits: Sequence[Fit]) -> np.ndarray:
    """Estimate the covariance of several :func:`svyglm` fits' coefficients on one design, side by side.

    The coefficients come in the order of ``fits``: each fit's own block is its ``vcov``, the others the covariances
    between fits, needed to test that coefficients of different models are equal (e.g. a group's effect at each cut
    of an ordinal answer, Brant's test of proportional odds). R has no function for it; it is what R's users compute
    with ``svyrecvar`` on the fits' influences side by side (linearisation) or ``svrVar`` on their replicate
    coefficients (replicates).

    Parameters
    ----------
    design : Design
        The design every fit was fitted on (same units, weights and replicates; a fit leaves out its own rows).
    fits : sequence of Fit
        :func:`svyglm` fits, all with the same ``variance``.

    Returns
    -------
    numpy.ndarray
        Square, of side the fits' numbers of coefficients added up.

    Raises
    ------
    ParameterError
        If ``fits`` is empty, mixes variance methods, holds a fit without influences or replicates (a
        :func:`~portrait.survey.ordinal.svyolr` fit), or a fit whose units or replicates are not the design's.
    """
    if not fits:
        raise ParameterError("joint_vcov needs at least one fit")
    methods = {f.variance for f in fits}
    if len(methods) > 1:
        raise ParameterError(f"the fits mix variance methods ({', '.join(sorted(methods))}): fit them all with one")
    linear = methods == {"linearisation"}
    parts = [f.influence if linear else f.replicates for f in fits]
    size = len(design.weights) if linear else (design.replicate_weights().shape[1] if design.has_replicates else 0)
    for i, part in enumerate(parts):
        if part is None:
            raise ParameterError(f"fit {i + 1} holds neither influences nor replicate coefficients: joint_vcov takes "
                                 "svyglm fits")
        if part.shape[0] != size:
            raise ParameterError(f"fit {i + 1} has {part.shape[0]} {'units' if linear else 'replicates'} where the "
                                 f"design has {size}: fit it on this design")
    if linear:
        return _vcov(design, np.hstack(parts))
    return _replicate_vcov(design, np.concatenate([f.coef for f in fits]), np.hstack(parts))
