"""Design-based tests and models: differences of means, Rao–Scott tests, rank tests, survey-weighted
linear regression and proportional-odds regression, with linearised or replicate-weight variances.

Every function takes a :class:`~portrait.survey.Design` (the two surveys stacked by
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
from scipy import stats

from .design import Design, Step
from .errors import ParameterError
from .linearisation import linearised_variance, residualise
from .replicates import replicate_variance


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
                   replicate_factors=None if design.replicate_factors is None else design.replicate_factors[mask],
                   replicate_matrix=None if design.replicate_matrix is None else design.replicate_matrix[mask])


def domain_degf(design: Design, mask: np.ndarray | None = None) -> int:
    """Degrees of freedom counted on the units in ``mask`` with a positive weight (PSUs − strata)."""
    m = design.weights > 0 if mask is None else (np.asarray(mask) & (design.weights > 0))
    return int(len(np.unique(design.psu[m])) - len(np.unique(design.strata[m])))


# ============================================================================ differences


def welch_df(variances: Sequence[np.ndarray | float], dfs: Sequence[np.ndarray | float]) -> np.ndarray:
    """Welch–Satterthwaite degrees of freedom of a sum of independent variance estimates.

    ``ν = (Σ V_i)² / Σ (V_i² / ν_i)``, each ``V_i`` estimated on ``ν_i`` degrees of freedom
    (Satterthwaite 1946; Welch 1947). For the difference of the means of two simple random samples
    it is the df of R ``t.test(var.equal = FALSE)``. It lies between the smaller ``ν_i`` and their
    sum, and leans to the survey whose variance dominates; NaN when every variance is zero.
    """
    V = [np.asarray(v, dtype=float) for v in variances]
    nu = [np.asarray(d, dtype=float) for d in dfs]
    num = sum(V) ** 2
    den = sum(np.divide(v ** 2, d, out=np.full(np.broadcast(v, d).shape, np.inf), where=d > 0) for v, d in zip(V, nu))
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)


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


