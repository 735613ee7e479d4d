"""Design-based tests and models: differences of means, Rao–Scott tests, rank tests, survey-weighted
linear regression and proportional-odds regression, with linearised or replicate-weight variances.

Every function takes a :class:`~portrait.design.Design` (the two surveys stacked by
:func:`stack` when groups come from independent samples) and returns plain numbers or small
tables, checked against R ``survey`` (``svycontrast``, ``svyttest``, ``svychisq``,
``svyranktest``, ``svyglm``, ``regTermTest``, ``svyolr``) in ``tests/test_models_r.py``.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
cell proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
Lumley, T. and Scott, A. J. (2013). Two-sample rank tests under complex sampling. *Biometrika*
100, 831–842.
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
*International Statistical Review* 51, 279–292.
McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42, 109–142.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .design import Design, Step
from .errors import ParameterError
from .variance import linearised_variance, replicate_variance, residualise


# ============================================================================ helpers


def model_matrix(data: pd.DataFrame, terms: Sequence[str], intercept: bool = True) -> pd.DataFrame:
    """Treatment-coded model matrix (reference = first level), column names as R writes them."""
    cols = {}
    if intercept:
        cols["(Intercept)"] = np.ones(len(data))
    for t in terms:
        s = data[t]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype) \
                and not pd.api.types.is_bool_dtype(s):
            cols[t] = s.to_numpy(dtype=float)
        else:
            levels = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.dropna().unique())
            for lv in levels[1:]:
                cols[f"{t}{lv}"] = (s == lv).to_numpy(dtype=float)
    return pd.DataFrame(cols, index=data.index)


def _vcov(design: Design, U: np.ndarray) -> np.ndarray:
    """Linearised covariance of totals of the influence values ``w U`` (with calibration residuals)."""
    return linearised_variance(design, residualise(design, U))


def stack(designs: Mapping[str, Design], group: str = "groupe") -> Design:
    """Stack independent surveys into one design, each survey's strata kept apart.

    The result has the data of all surveys with a ``group`` column; strata and PSUs are
    renumbered so that no two surveys share one; calibration steps are kept per survey (their
    auxiliaries padded with zeros elsewhere), so linearised variances of anything computed on the
    stack are the sums of the surveys' variances, as independence requires.
    """
    names = list(designs)
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
                   replicate_mse=any(d.replicate_mse for d in designs.values()))
    return Design(data=data, weights=weights, strata=np.concatenate(st), psu=np.concatenate(cl),
                  fpc=np.concatenate(f), steps=tuple(steps), base_weights=None,
                  strata_labels=np.array(labels), replicate_method="replicates", **rep)


def subset(design: Design, mask: np.ndarray) -> Design:
    """Keep only the units in ``mask`` (a new design, like R ``subset`` followed by re-indexing)."""
    mask = np.asarray(mask, dtype=bool)
    steps = tuple(replace(s, X=s.X[mask] if s.X is not None else None,
                          d=s.d[mask] if s.d is not None else None) for s in design.steps)
    return replace(design, data=design.data.loc[mask].reset_index(drop=True), weights=design.weights[mask],
                   strata=design.strata[mask], psu=design.psu[mask], fpc=design.fpc[mask], steps=steps,
                   base_weights=None if design.base_weights is None else design.base_weights[mask],
                   replicate_factors=None if design.replicate_factors is None else design.replicate_factors[mask])


def domain_degf(design: Design, mask: np.ndarray | None = None) -> int:
    """Degrees of freedom counted on the units in ``mask`` with a positive weight (PSUs − strata)."""
    m = design.weights > 0 if mask is None else (np.asarray(mask) & (design.weights > 0))
    return int(len(np.unique(design.psu[m])) - len(np.unique(design.strata[m])))


# ============================================================================ differences


@dataclass(frozen=True)
class Difference:
    """A difference between two domain means (``a − b``) with its design-based inference."""

    estimate_a: float
    estimate_b: float
    difference: float
    se: float
    t: float
    df: int
    p: float
    ci_low: float
    ci_high: float


def mean_difference(design: Design, y: str | np.ndarray, group: str, a: str, b: str,
                    level: float = 0.95, variance: str = "linearisation") -> Difference:
    """Difference of the means of ``y`` between domains ``group == a`` and ``group == b``.

    Linearised: the influence values of the two domain means are subtracted, so their covariance
    is taken into account (zero between independent surveys stacked by :func:`stack`); replicate:
    the difference is recomputed on every replicate.
    """
    yv = design.column(y).to_numpy(dtype=float) if isinstance(y, str) else np.asarray(y, dtype=float)
    g = design.column(group).astype(str).to_numpy()
    w = design.weights
    ok = ~np.isnan(yv) & (w > 0)
    ma, mb = ok & (g == str(a)), ok & (g == str(b))
    if not ma.any() or not mb.any():
        raise ParameterError(f"group {a if not ma.any() else b!r} has no respondent with a value of {y!r}")
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
    se = np.sqrt(v)
    df = domain_degf(design, ma | mb) - 1
    t = (ta - tb) / se if se > 0 else np.nan
    p = float(2 * stats.t.sf(abs(t), df)) if se > 0 else np.nan
    q = stats.t.ppf(0.5 + level / 2, df)
    return Difference(ta, tb, ta - tb, se, t, df, p, ta - tb - q * se, ta - tb + q * se)


# ============================================================================ Rao–Scott


@dataclass(frozen=True)
class RaoScott:
    """Pearson X² of a two-way table with the Rao–Scott first- and second-order corrections."""

    X2: float
    F: float
    ndf: float
    ddf: float
    p_F: float
    p_chisq: float
    levels_dropped: tuple[str, ...] = ()


def rao_scott(design: Design, row: str, col: str) -> RaoScott:
    """Rao–Scott test of independence of ``row`` and ``col`` (R ``svychisq``, ``"F"`` and ``"Chisq"``).

    Levels with no respondent are dropped first (R returns ``F = NaN`` otherwise). Missing values
    are left out as a domain.
    """
    data = design.data
    r = data[row].astype("string")
    c = data[col].astype("string")
    valid = (~r.isna() & ~c.isna()).to_numpy() & (design.weights > 0)
    rl = sorted(r[valid].unique())
    cl = sorted(c[valid].unique())
    all_r = sorted(r.dropna().unique())
    all_c = sorted(c.dropna().unique())
    dropped = tuple(f"{row}={x}" for x in all_r if x not in rl) + tuple(f"{col}={x}" for x in all_c if x not in cl)
    nr, nc = len(rl), len(cl)
    if nr < 2 or nc < 2:
        raise ParameterError(f"{row} × {col}: a test of independence needs at least two levels on each side")
    # cells in R's interaction order: rows vary fastest
    rv, cv = r.fillna("\x00").to_numpy(dtype=object), c.fillna("\x00").to_numpy(dtype=object)
    M = np.zeros((len(data), nr * nc))
    for j, cc in enumerate(cl):
        for i, rr in enumerate(rl):
            M[:, j * nr + i] = valid & (rv == rr) & (cv == cc)
    w = design.weights
    W = (w * valid).sum()
    mean = (w[:, None] * M).sum(0) / W
    U = (M - mean) * valid[:, None] / W
    V = _vcov(design, U)
    N = int(valid.sum())
    table = (mean * N).reshape(nc, nr).T
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    X2 = float(((table - expected) ** 2 / expected).sum())
    rows_f = np.repeat(np.arange(nr)[None, :], nc, 0).T.ravel(order="F")
    cols_f = np.repeat(np.arange(nc)[None, :], nr, 0).ravel(order="F")
    X1 = np.column_stack([np.ones(nr * nc)] + [(rows_f == i).astype(float) for i in range(1, nr)] +
                         [(cols_f == j).astype(float) for j in range(1, nc)])
    inter = np.column_stack([((rows_f == i) & (cols_f == j)).astype(float)
                             for j in range(1, nc) for i in range(1, nr)])
    Q, _ = np.linalg.qr(X1)
    C = inter - Q @ (Q.T @ inter)
    iD = np.diag(np.where(mean == 0, 0.0, 1.0 / np.where(mean == 0, 1.0, mean)))
    denom = C.T @ (iD / N) @ C
    numer = C.T @ iD @ V @ iD @ C
    Delta = np.linalg.solve(denom, numer)
    tr = np.trace(Delta)
    d0 = tr ** 2 / np.trace(Delta @ Delta)
    nu = design.degf   # R: PSUs minus strata of the whole design
    F = X2 / tr
    p_F = float(stats.f.sf(F, d0, d0 * nu))
    p_chisq = float(stats.chi2.sf(X2 / np.mean(np.diag(Delta)), (nr - 1) * (nc - 1)))
    return RaoScott(X2=X2, F=F, ndf=d0, ddf=d0 * nu, p_F=p_F, p_chisq=p_chisq, levels_dropped=dropped)


# ============================================================================ rank test


@dataclass(frozen=True)
class RankTest:
    """Design-based two-sample rank test (Lumley & Scott 2013)."""

    estimate: float
    t: float
    df: int
    p: float
    test: str


def rank_test(design: Design, y: str, group: str, test: str = "wilcoxon") -> RankTest:
    """Two-sample rank test of ``y`` between the two levels of ``group`` (R ``svyranktest``).

    Ranks are estimated population mid-ranks from the weighted ECDF; the test is the t statistic
    of the group coefficient in a weighted regression of the rank scores, with a design-based SE.
    """
    yv = design.column(y).to_numpy(dtype=float)
    g = design.column(group).astype("string")
    keep = ~np.isnan(yv) & ~g.isna().to_numpy() & (design.weights > 0)
    # units left out keep their place in the design with weight 0 (R's subset of a design)
    d = design.with_weights(np.where(keep, design.weights, 0.0))
    levels = sorted(pd.unique(g[keep].astype(str)))
    if len(levels) != 2:
        raise ParameterError(f"rank_test compares two groups; {group!r} has {len(levels)}: {levels}")
    gg = (g.fillna("").astype(str).to_numpy() == levels[1]).astype(float)
    w = d.weights
    N = w.sum()
    yk = np.where(keep, yv, np.inf)
    order = np.argsort(yk, kind="mergesort")
    order = order[keep[order]]
    cum = np.cumsum(w[order]) - w[order] / 2
    rank = np.zeros_like(yv)
    ys = yv[order]
    # average the mid-ranks over ties, as R's ave() does
    _, start, counts = np.unique(ys, return_index=True, return_counts=True)
    tie_mean = np.add.reduceat(cum, start) / counts
    rank[order] = np.repeat(tie_mean, counts)
    score = {"wilcoxon": lambda r: r / N, "vanderWaerden": lambda r: stats.norm.ppf(r / N),
             "median": lambda r: (r > N / 2).astype(float)}
    if test not in score:
        raise ParameterError(f"test must be one of {list(score)}")
    s = np.where(keep, score[test](np.where(keep, rank, N / 2)), 0.0)
    X = np.column_stack([np.ones_like(gg), gg]) * keep[:, None]
    XtW = X.T * w
    A = np.linalg.inv(XtW @ X)
    beta = A @ (XtW @ s)
    resid = (s - X @ beta) * keep
    inf = (X * resid[:, None]) @ A
    V = _vcov(d, inf)
    se = np.sqrt(V[1, 1])
    t = beta[1] / se
    df = domain_degf(d, keep) - 1
    return RankTest(estimate=float(beta[1]), t=float(t), df=df, p=float(2 * stats.t.sf(abs(t), df)), test=test)


# ============================================================================ regression


@dataclass(frozen=True)
class Fit:
    """Coefficients of a survey-weighted model with their covariance and residual df."""

    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    df: int
    variance: str

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def table(self, level: float = 0.95) -> pd.DataFrame:
        t = self.coef / self.se
        q = stats.t.ppf(0.5 + level / 2, self.df)
        return pd.DataFrame({"term": self.names, "estimate": self.coef, "se": self.se, "t": t,
                             "p": 2 * stats.t.sf(np.abs(t), self.df),
                             "ci_low": self.coef - q * self.se, "ci_high": self.coef + q * self.se})

    def wald(self, prefix: str) -> tuple[float, int, int, float]:
        """Wald F test that every coefficient whose name starts with ``prefix`` is 0 (R ``regTermTest``)."""
        idx = [i for i, n in enumerate(self.names) if n.startswith(prefix)]
        if not idx:
            raise ParameterError(f"no coefficient named {prefix}…")
        b = self.coef[idx]
        Vs = self.vcov[np.ix_(idx, idx)]
        q = len(idx)
        F = float(b @ np.linalg.solve(Vs, b) / q)
        return F, q, self.df, float(stats.f.sf(F, q, self.df))


def _complete(design: Design, cols: Sequence[str]) -> np.ndarray:
    ok = design.weights > 0
    for c in cols:
        ok &= ~design.data[c].isna().to_numpy()
    return ok


def svyglm(design: Design, y: str, terms: Sequence[str], variance: str = "linearisation") -> Fit:
    """Survey-weighted linear regression of ``y`` on ``terms`` (R ``svyglm``, gaussian).

    Rows with a missing value are dropped as a domain (their influence is zero).
    """
    ok = _complete(design, [y, *terms])
    X = model_matrix(design.data, terms).to_numpy()
    yv = design.data[y].to_numpy(dtype=float)
    X0, y0 = np.where(ok[:, None], X, 0.0), np.where(ok, yv, 0.0)

    def fit(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wx = X0.T * (w * ok)
        A = np.linalg.inv(wx @ X0)
        return A @ (wx @ y0), A

    beta, A = fit(design.weights)
    names = list(model_matrix(design.data, terms).columns)
    p = len(beta)
    if variance == "linearisation":
        resid = (y0 - X0 @ beta) * ok
        V = _vcov(design, (X0 * resid[:, None]) @ A)
        df = domain_degf(design, ok) + 1 - p
    else:
        R = design.replicate_weights()
        th = np.array([fit(R[:, r])[0] for r in range(R.shape[1])])
        V = replicate_variance(beta, th, design.replicate_scale, design.replicate_rscales, design.replicate_mse, design.replicate_blocks)
        df = domain_degf(design, ok) + 1 - p
    return Fit(names=names, coef=beta, vcov=V, df=df, variance=variance)


def svyolr(design: Design, y: str, terms: Sequence[str], variance: str = "linearisation",
           levels: Sequence | None = None) -> Fit:
    """Proportional-odds (cumulative logit) model: ``logit P(Y ≤ k) = ζ_k − x'β`` (R ``svyolr``).

    Fitted by maximising the weighted log-likelihood (pseudo-likelihood); linearised variance from
    the per-unit scores and the Hessian (Binder 1983), or by refitting on every replicate.
    Coefficients are named like R's (terms, then ``a|b`` thresholds).
    """
    ok = _complete(design, [y, *terms])
    col = design.data[y]
    if levels is None:
        levels = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.dropna().unique())
    code = pd.Categorical(col, categories=levels).codes.astype(int)   # 0..K-1, -1 missing
    ok &= code >= 0
    K = len(levels)
    if K < 3:
        raise ParameterError(f"{y!r} needs at least 3 ordered levels for a proportional-odds model")
    Xdf = model_matrix(design.data, terms, intercept=False)
    # work on the units that enter the likelihood only (weights of the others are zero in every
    # replicate too); influence values are put back in place for the variance
    sel = np.flatnonzero(ok)
    n_all = len(ok)
    X = Xdf.to_numpy()[sel]
    yk = code[sel]
    ok = np.ones(len(sel), dtype=bool)
    p, q = X.shape[1], K - 1

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
        """Per-unit gradient of −log-likelihood with respect to (β, ζ), unweighted."""
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
    # d(cut − η)/d(β, ζ) for the upper (A) and lower (B) cut of each unit: constant, built once
    A = np.zeros((len(yk), p + q))
    B = np.zeros((len(yk), p + q))
    A[:, :p] = -X
    B[:, :p] = -X
    A[rows[in_a], p + yk[in_a]] = 1.0
    B[rows[in_b], p + yk[in_b] - 1] = 1.0

    def derivs(est, w):
        """Weighted log-likelihood, gradient and Hessian in (β, ζ), analytically."""
        beta, zeta = est[:p], est[p:]
        eta = X @ beta
        z = cuts(zeta)
        a, b = z[yk + 1] - eta, z[yk] - eta
        Fa, Fb = special.expit(a), special.expit(b)
        pr = np.where(ok, Fa - Fb, 1.0)
        if np.any(pr <= 0):
            return -np.inf, None, None
        fa, fb = Fa * (1 - Fa), Fb * (1 - Fb)
        dfa, dfb = fa * (1 - 2 * Fa), fb * (1 - 2 * Fb)
        ga, gb = fa / pr, -fb / pr                                  # d log pr / da, / db
        haa = dfa / pr - ga ** 2
        hbb = -dfb / pr - gb ** 2
        hab = fa * fb / pr ** 2
        wa, wb = w * ok * in_a, w * ok * in_b
        ll = float(np.sum(w * ok * np.log(pr)))
        g = A.T @ (wa * ga) + B.T @ (wb * gb)
        H = (A.T * (wa * haa)) @ A + (B.T * (wb * hbb)) @ B + (A.T * (w * ok * in_a * in_b * hab)) @ B
        H = H + (B.T * (w * ok * in_a * in_b * hab)) @ A
        return ll, g, H

    def newton(w, est, tol=1e-10, maxit=50):
        ll, g, H = derivs(est, w)
        for _ in range(maxit):
            step = np.linalg.solve(H, g)
            t = 1.0
            while True:
                new = est - t * step
                ok_order = np.all(np.diff(new[p:]) > 0)
                ll_new = derivs(new, w)[0] if ok_order else -np.inf
                if ll_new >= ll - 1e-12 * abs(ll) or t < 1e-8:
                    break
                t /= 2
            est = new
            ll, g, H = derivs(est, w)
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

    est, H_full = fit(design.weights[sel])
    names = list(Xdf.columns) + [f"{levels[k]}|{levels[k + 1]}" for k in range(q)]
    if variance == "linearisation":
        S = np.zeros((n_all, p + q))
        S[sel] = unit_scores(est[:p], est[p:])
        V = _vcov(design, S @ np.linalg.inv(-H_full))
    else:
        R = design.replicate_weights()[sel]
        th = np.array([fit(R[:, r], start=est)[0] for r in range(R.shape[1])])
        V = replicate_variance(est, th, design.replicate_scale, design.replicate_rscales,
                               design.replicate_mse, design.replicate_blocks)
    return Fit(names=names, coef=est, vcov=V, df=domain_degf(design, np.isin(np.arange(n_all), sel)) - p,
               variance=variance)
