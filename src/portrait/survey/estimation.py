"""Estimators used everywhere: totals, means, proportions, by domain, with SE, CI and design effect.

Each function returns a tidy ``DataFrame`` (one row per estimate: statistic, variable, domain,
level, estimate, se, ci_low, ci_high, df, deff, n, variance method). Many estimates are computed
together: one pass for the influence values, one residualisation on the calibration auxiliaries,
one ultimate-cluster sum — or one product with the replicate weights.

Domains are handled as R ``survey`` does after subsetting a design: units outside the domain (or
with a missing value) keep their place in the design with a zero influence value, so the
variance reflects the random size of the domain. Confidence intervals use Student's t with the
design degrees of freedom (PSUs − strata); R's ``confint`` uses the normal quantile by default.

References
----------
Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
Kish, L. (1965). *Survey Sampling*. (design effect)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .design import Design
from .labels import level_order, level_text
from .errors import ParameterError, check_finite, check_variance
from .inference import domain_degf
from .contrasts import KEY, covariance_attrs
from .linearisation import estimator_variance, standard_errors
from .likelihood import likelihood_interval
from .proportions import INTERVALS, _check_interval, _t_quantile, proportion_interval
from .replicates import replicate_variance

COLUMNS = ["statistic", "variable", "domain", "level", "estimate", "se", "ci_low", "ci_high", "df",
           "deff", "n", "variance"]


@dataclass(frozen=True)
class _Spec:
    statistic: str            # "total", "mean" (proportions are means of indicators) or "ratio"
    variable: str
    y: np.ndarray             # values (NaN = missing)
    domain: str
    mask: np.ndarray          # domain membership
    level: str = ""
    x: np.ndarray | None = None   # a ratio's denominator (NaN = missing)
    replicate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None   # (weights n × R, units used) → R



def _domains(design: Design, by: str | Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    """The domains of ``by`` (one column or several), in R ``svyby``'s order: a column's levels as R's ``factor()``
    orders them (a categorical column's categories, numbers by value, text as text) and, for several columns,
    ``interaction()``'s order, the first column varying fastest. A unit missing any of them is in no domain."""
    n = len(design.weights)
    if by is None:
        return [("", np.ones(n, dtype=bool))]
    cols = [by] if isinstance(by, str) else list(by)
    texts = [level_text(design.column(c)) for c in cols]
    ranks = [_level_ranks(design.column(c), t) for c, t in zip(cols, texts)]
    filled = [t.fillna("<NA>") for t in texts]
    key = filled[0] if len(cols) == 1 else \
        filled[0].str.cat(filled[1:], sep=" × ").mask(design.data[cols].isna().any(axis=1), "<NA>")
    codes, levels = pd.factorize(key)
    present = [j for j, lv in enumerate(levels) if lv != "<NA>"]
    at = np.zeros(len(levels), dtype=np.intp)
    at[codes[::-1]] = np.arange(n)[::-1]           # a unit of each combination, to read its levels' ranks
    present.sort(key=lambda j: tuple(r[at[j]] for r in reversed(ranks)))
    name = " × ".join(cols)
    return [(f"{name}={levels[j]}", codes == j) for j in present]


def _level_ranks(values: pd.Series, text: pd.Series) -> np.ndarray:
    """Each unit's level's position among the column's levels in R's order (-1 for a missing value)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    present = [str(v) for v in text.dropna().unique()]
    order = {lv: i for i, lv in enumerate(level_order(values, present))}
    return text.map(order).fillna(-1).to_numpy(dtype=np.intp)


def _numeric(design: Design, variable: str) -> np.ndarray:
    col = design.column(variable)
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        if pd.api.types.is_bool_dtype(col):
            return col.astype(float).to_numpy()
        raise ParameterError(f"variable {variable!r} is not numeric; use proportion() for categories")
    values = col.to_numpy(dtype=float, na_value=np.nan)
    check_finite(values, variable)
    return values


def _matrices(specs: list[_Spec], w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Each spec's values ``Y`` (0 where unused), units used ``M``, denominators ``D`` (``M`` itself for means,
    ``x`` for ratios) and the columns that are ratios."""
    n_units, q = len(w), len(specs)
    Y = np.zeros((n_units, q), order="F")              # filled column by column
    M = np.zeros((n_units, q), dtype=bool, order="F")
    ratios = [j for j, s in enumerate(specs) if s.x is not None]
    for j, s in enumerate(specs):
        ok = s.mask & ~np.isnan(s.y) & (w > 0) & (~np.isnan(s.x) if s.x is not None else True)
        M[:, j] = ok
        Y[:, j] = np.where(ok, s.y, 0.0)
    D = M                                              # a mean's denominator: the units used
    if ratios:
        D = M.astype(float)
        for j in ratios:
            D[:, j] = np.where(M[:, j], specs[j].x, 0.0)
    return Y, M, D, ratios


class _Estimates(NamedTuple):
    """The numbers of :func:`_compute`'s table, before the table is built."""
    theta: np.ndarray
    se: np.ndarray
    low: np.ndarray
    high: np.ndarray
    dfs: np.ndarray
    deff: np.ndarray
    n_used: np.ndarray
    C: np.ndarray
    df: float
    variance: str


def _compute(design: Design, specs: list[_Spec], variance: str, level: float,
             deff: bool = True, interval: str | Mapping[str, str] = "wald", df_given: float | None = None,
             covariance: bool = False) -> pd.DataFrame:
    e = _estimate(design, specs, variance, level, deff, interval, df_given, covariance)
    out = pd.DataFrame({
        "statistic": ["proportion" if s.level != "" and s.statistic == "mean" else s.statistic for s in specs],
        "variable": [s.variable for s in specs], "domain": [s.domain for s in specs],
        "level": [s.level for s in specs], "estimate": e.theta, "se": e.se,
        "ci_low": e.low, "ci_high": e.high, "df": e.dfs, "deff": e.deff, "n": e.n_used, "variance": e.variance},
        columns=COLUMNS)
    if covariance:
        out.attrs["covariance"] = covariance_attrs(list(out[KEY].itertuples(index=False)), e.C, float(e.df),
                                                   str(out["variance"].iloc[0]) if len(specs)
                                                   else check_variance(variance, level, design))
    return out


def _estimate(design: Design, specs: list[_Spec], variance: str, level: float,
              deff: bool = True, interval: str | Mapping[str, str] = "wald", df_given: float | None = None,
              covariance: bool = False, matrices: tuple | None = None, checked: bool = False,
              degf: int | None = None, rows: tuple | None = None, kinds: np.ndarray | None = None) -> _Estimates:
    """The estimates of ``specs`` on ``design`` as arrays (``matrices``: :func:`_matrices` of these specs on these
    weights, computed before; ``checked``: their values already found within [0, 1] where an interval needs it;
    ``degf``: ``design.degf``, counted before; ``rows``: the positions of the units of positive weight, which hold
    every unit used, with their rows of ``Y`` and ``D`` and ``M``'s column sums; ``kinds``: :func:`_kinds`, if
    at hand)."""
    variance = check_variance(variance, level, design)
    kinds = _kinds(specs, interval) if kinds is None else kinds
    if variance != "linearisation" and (kinds == "likelihood").any():
        raise ParameterError("interval='likelihood' needs the linearised variance (R's svyciprop gives NA bounds "
                             "with replicate weights); use 'logit' with replicates")
    w = design.weights
    q = len(specs)
    Y, M, D, ratios = _matrices(specs, w) if matrices is None else matrices
    bounded = kinds != "wald"
    outside = bounded & (((Y < 0) | (Y > 1)) & M).any(axis=0) if bounded.any() and not checked else np.zeros_like(bounded)
    if outside.any():
        j = int(np.argmax(outside))
        raise ParameterError(f"interval={kinds[j]!r} is for proportions, but {specs[j].variable!r} "
                             "has values outside [0, 1]; use interval='wald'")
    is_mean = np.array([s.statistic in ("mean", "ratio", "variance") for s in specs])
    if rows is None:                   # the units of positive weight: they hold every unit used
        kept = np.flatnonzero(w > 0)
        rows = (kept, Y[kept], D[kept], M.sum(axis=0))
    wr = w[rows[0]][:, None]           # the weighted sums over those units only (the others' terms are 0)
    Wd = np.multiply(wr, rows[2], order="F").sum(axis=0)   # column by column: numpy's pairwise sums
    tot = np.multiply(wr, rows[1], order="F").sum(axis=0)
    n_used = rows[3].copy()
    theta = np.where(is_mean, np.divide(tot, Wd, out=np.full(q, np.nan), where=Wd > 0), tot)

    logit_se = None
    if variance == "linearisation":
        # C-ordered as residualise's copy was, and written over by it (the sums below read it in that order)
        C = estimator_variance(design, Y, M, D, theta, Wd, is_mean, covariance, rows)
        V = np.diag(C).copy() if covariance else C
        df = design.degf if degf is None else degf
    else:
        if not design.has_replicates:
            raise ParameterError("variance='replicates' needs a design with replicate weights "
                                 "(portrait.survey.with_replicates)")
        R = design.replicate_weights()
        totals_r, Wd_r = np.hsplit(R.T @ np.hstack([Y, D]), [q])      # R × q each, in one product
        thetas = np.where(is_mean, np.divide(totals_r, Wd_r, out=np.full_like(totals_r, np.nan),
                                             where=Wd_r > 0), totals_r)
        for j in (j for j, s in enumerate(specs) if s.replicate is not None):
            thetas[:, j] = specs[j].replicate(R, M[:, j])       # a statistic recomputed whole in each replicate
        C = replicate_variance(theta, thetas, design.replicate_scale, design.replicate_rscales,
                               design.replicate_mse, design.replicate_blocks)
        V = np.diag(C).copy()
        df = design.degf if degf is None else degf
        if (kinds == "logit").any():          # R refits the logit in every replicate: no delta method
            logit_se = _replicate_logit_se(design, theta, thetas)
    se = standard_errors(V)
    if df_given is not None:
        df = float(df_given)
    t = _t_quantile(level, df)
    low, high = theta - t * se, theta + t * se
    dfs = np.full(q, float(df))
    if bounded.any() and df_given is None:       # R svyby(…, svyciprop) runs on each domain's subset: the domain's df
        per_domain = {s.domain: s.mask for s in np.asarray(specs)[bounded] if s.domain}
        per_domain = {name: domain_degf(design, mask) for name, mask in per_domain.items()}
        dfs[bounded] = [per_domain.get(s.domain, df) for s in np.asarray(specs)[bounded]]
    for method in INTERVALS[1:]:
        rows = kinds == method
        if rows.any() and method == "likelihood":
            low[rows], high[rows] = _likelihood_bounds(design, [s for s, k in zip(specs, rows) if k], theta[rows],
                                                       V[rows], dfs[rows], level)
        elif rows.any():
            low[rows], high[rows] = proportion_interval(theta[rows], se[rows], dfs[rows], n_used[rows], level=level,
                                                        method=method,
                                                        logit_se=None if logit_se is None else logit_se[rows])
    design_effect = _design_effects(w, Y, M, tot, Wd, V, is_mean, ratios) if deff else np.full(q, np.nan)
    method = variance if variance == "linearisation" else design.replicate_method or "replicates"
    return _Estimates(theta, se, low, high, dfs, design_effect, n_used, C, df, method)


def _replicate_logit_se(design: Design, theta: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """The replicate SE of ``logit(θ)``, as R refits the logit in every replicate. A replicate (of positive
    rscale) whose share is 0 or 1 has an infinite logit: the SE is infinite and the interval [0, 1], where R's
    refit in that replicate diverges (an audit: the centring on the replicates' mean gave inf − inf, NaN bounds)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logits = special.logit(thetas)
        se = np.sqrt(np.diag(replicate_variance(special.logit(theta), logits, design.replicate_scale,
                                                design.replicate_rscales, design.replicate_mse,
                                                design.replicate_blocks)))
    counted = (np.ones(len(logits)) if design.replicate_rscales is None
               else np.asarray(design.replicate_rscales, dtype=float)) > 0
    se[np.isinf(logits[counted]).any(axis=0) & np.isfinite(special.logit(theta))] = np.inf
    return se


def _design_effects(w: np.ndarray, Y: np.ndarray, M: np.ndarray, tot: np.ndarray, Wd: np.ndarray, V: np.ndarray,
                    is_mean: np.ndarray, ratios: list[int]) -> np.ndarray:
    """R survey's ``deff = V / V_srs``, ``V_srs(mean) = s²_w (N̂ − n)/(N̂ n)``, ``s²_w`` with divisor ``n − 1`` (a
    total's times ``N̂²``; none for ratios)."""
    q, n_used = len(V), M.sum(axis=0)
    centre = np.divide(tot, Wd, out=np.zeros(q), where=Wd > 0)
    ss = np.einsum("i,ij->j", w, M * (Y - centre) ** 2)
    ok = (n_used > 1) & (Wd > 0)
    var_w = np.divide(ss * n_used, Wd * (n_used - 1), out=np.full(q, np.nan), where=ok)
    vsrs = var_w * (Wd - n_used) / (Wd * n_used)
    vsrs = np.where(is_mean, vsrs, vsrs * Wd ** 2)
    design_effect = np.full(q, np.nan)
    np.divide(V, vsrs, out=design_effect, where=vsrs > 0)
    design_effect[ratios] = np.nan
    return design_effect


def _likelihood_bounds(design: Design, specs: list[_Spec], theta: np.ndarray, V: np.ndarray, dfs: np.ndarray,
                       level: float) -> tuple[np.ndarray, np.ndarray]:
    """Profile-likelihood bounds (:mod:`~portrait.survey.likelihood`), each proportion on the rows of R's
    ``svyciprop`` (a domain's as ``svyby`` runs it, on the domain's subset): those units alone for a design without
    weighting steps (R drops the other rows), every row of a weighted design (R keeps them, with weight 0)."""
    w = design.weights
    weighted = any(step.kind != "subset" for step in design.steps)
    low, high = np.full(len(specs), np.nan), np.full(len(specs), np.nan)
    for j, s in enumerate(specs):
        if np.isnan(theta[j]):
            continue
        answered = ~np.isnan(s.y)
        used = s.mask & answered & (w > 0)
        rows = np.ones_like(used) if weighted else s.mask & (w > 0)
        kept = rows & answered if not weighted else rows      # R's design once glm has dropped the missing rows
        low[j], high[j] = likelihood_interval(s.y[used], w[used], V[j], dfs[j], int((rows & answered).sum()),
                                              float(np.sum(w * s.mask * rows) / rows.sum()), level,
                                              answered_mean=float(np.sum(w[used]) / kept.sum()))
    return low, high


def _check_intervals(interval: str | Mapping[str, str], variables: Sequence[str]) -> None:
    """Refuse an unknown interval, or a mapping that names a variable not estimated (a typo)."""
    if not isinstance(interval, Mapping):
        _check_interval(interval)
        return
    unknown = [v for v in interval if v not in variables]
    if unknown:
        raise ParameterError(f"interval names {unknown!r}, which are not among the variables estimated")
    for v in interval.values():
        _check_interval(v)


def _kinds(specs: list[_Spec], interval: str | Mapping[str, str]) -> np.ndarray:
    """Each spec's interval (:func:`_interval_of`), as an array of texts."""
    return np.array([_interval_of(interval, s.variable) for s in specs], dtype=object)


def _interval_of(interval: str | Mapping[str, str], variable: str) -> str:
    """The interval of ``variable``: ``interval`` itself, or its entry in a mapping (``"wald"`` when absent); the
    callers checked it (:func:`_check_intervals`)."""
    return interval.get(variable, "wald") if isinstance(interval, Mapping) else interval


def total(design: Design, variables: str | Sequence[str], by: str | Sequence[str] | None = None,
          variance: str | None = None, level: float = 0.95, df: float | None = None,
          covariance: bool = False) -> pd.DataFrame:
    """Estimate weighted totals of numeric variables (by domain), like R ``svytotal``.

    Missing values count as zero-contributions (the unit stays in the design; R ``na.rm = TRUE``), variable by
    variable: R's ``svytotal(~a + b, na.rm = TRUE)`` drops a unit missing either from both totals, as one call per
    variable here would not; to reproduce it, give each variable the rows complete in all (``subset``). Boolean
    columns are read as 0/1. A categorical or text column gives the estimated count of each level (R
    ``svytotal`` of a factor; column ``level``).

    Parameters
    ----------
    design : Design
        The design (linearised variances use its calibration steps and PSUs; replicate variances its
        replicate weights).
    variables : str or sequence of str
        One or several column names.
    by : str or sequence of str, optional
        Domain variable(s); several are crossed (``a × b``), in R ``svyby``'s order (the first varying fastest).
        Units with a missing domain value belong to no domain. Default: the whole sample.
    variance : {"linearisation", "replicates"}, optional
        Taylor linearisation with calibration residuals and the ultimate-cluster estimator, or the replicate weights
        (the whole recipe re-run). Default: the replicates for a design of ready-made replicate weights without PSUs
        or strata (:attr:`Design.replicates_only`, R ``svrepdesign``: from :func:`with_replicate_weights` or
        :func:`read_design`), linearisation otherwise, even for a design given replicates by
        :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    level : float, default 0.95
        Confidence level of the intervals.
    df : float, optional
        Degrees of freedom of every interval, as R ``confint(…, df =)``: ``numpy.inf`` gives R's default normal
        interval. Default: the design's (a domain's for the intervals of proportions — logit, xlogit, asin, beta, likelihood —, see Returns).
    covariance : bool, default False
        Keep the covariance matrix of the estimates in the table's ``attrs["covariance"]``, for
        :func:`~portrait.survey.contrast` and :func:`~portrait.survey.vcov` (R ``svyby(…, covmat = TRUE)``).

    Returns
    -------
    pandas.DataFrame
        One row per variable and domain, with columns ``statistic``, ``variable``, ``domain``
        (``""`` or ``"var=level"``), ``level``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (Student's
        t with ``df``), ``df`` (design degrees of freedom), ``deff`` (R ``survey``'s design effect
        against simple random sampling), ``n`` (units used) and ``variance`` (method).

    Raises
    ------
    ParameterError
        If a variable is not in the data, not numeric or has infinite values, or ``variance="replicates"`` is
        asked of a design without replicate weights.

    See Also
    --------
    mean, proportion

    References
    ----------
    Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
    Kish, L. (1965). *Survey Sampling*. Wiley. (design effect)
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.

    Examples
    --------
    >>> total(d, "income", by="region")  # doctest: +SKIP
    """
    vs = [variables] if isinstance(variables, str) else list(variables)
    specs = []
    for v in vs:
        col = design.column(v)
        if _categorical(col):             # R svytotal of a factor: the estimated count of each level
            specs += [_Spec("total", v, y, dom, mask, level=lv) for lv, y in _indicators(col)
                      for dom, mask in _domains(design, by)]
        else:
            specs += [_Spec("total", v, _numeric(design, v), dom, mask) for dom, mask in _domains(design, by)]
    return _compute(design, specs, variance, level, df_given=df, covariance=covariance)


def ratio(design: Design, numerators: str | Sequence[str], denominators: str | Sequence[str],
          by: str | Sequence[str] | None = None, variance: str | None = None, level: float = 0.95,
          df: float | None = None, covariance: bool = False) -> pd.DataFrame:
    """Estimate ratios of two totals ``Ŷ / X̂`` (by domain), like R ``svyratio``.

    Each numerator is divided by each denominator. The influence values are ``(y − R̂ x) / X̂`` on the units used
    (calibration residuals included); with replicates, the ratio is recomputed in every replicate. A unit missing
    either value is left out, as R ``svyratio(…, na.rm = TRUE)``.

    Parameters
    ----------
    design : Design
        The design.
    numerators : str or sequence of str
        Numeric column(s) of the numerator totals.
    denominators : str or sequence of str
        Numeric column(s) of the denominator totals.
    by : str or sequence of str, optional
        Domain variable(s), as :func:`mean`'s (R ``svyby(…, denominator =, FUN = svyratio)``).
    variance : {"linearisation", "replicates"}, optional
        Taylor linearisation, or the replicate weights. Default: the replicates for a design of ready-made replicate
        weights without PSUs or strata (:attr:`Design.replicates_only`, R ``svrepdesign``: from
        :func:`with_replicate_weights` or :func:`read_design`), linearisation otherwise, even for a design given
        replicates by :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    level : float, default 0.95
        Confidence level of the intervals.
    df : float, optional
        Degrees of freedom of the intervals (default: the design's; ``numpy.inf``: normal, as R ``confint``).
    covariance : bool, default False
        Keep the covariance matrix of the estimates in the table's ``attrs["covariance"]``, for
        :func:`~portrait.survey.contrast` and :func:`~portrait.survey.vcov` (R ``svyby(…, covmat = TRUE)``).

    Returns
    -------
    pandas.DataFrame
        One row per numerator, denominator and domain, with :func:`mean`'s columns; ``statistic`` is ``"ratio"``,
        ``variable`` ``"<numerator>/<denominator>"`` and ``deff`` NaN.

    Raises
    ------
    ParameterError
        If a variable is not in the data, not numeric or has infinite values, or ``variance="replicates"`` is
        asked of a design without replicate weights.

    References
    ----------
    Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer. (section 5.6)
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svyratio``)

    Examples
    --------
    >>> ratio(d, "nights", "stays", by="region")  # doctest: +SKIP
    """
    nums = [numerators] if isinstance(numerators, str) else list(numerators)
    dens = [denominators] if isinstance(denominators, str) else list(denominators)
    specs = [_Spec("ratio", f"{n}/{x}", _numeric(design, n), dom, mask, x=_numeric(design, x))
             for n in nums for x in dens for dom, mask in _domains(design, by)]
    return _compute(design, specs, variance, level, df_given=df, covariance=covariance)


def _categorical(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.CategoricalDtype) or not (pd.api.types.is_numeric_dtype(col)
                                                              or pd.api.types.is_bool_dtype(col))


def _indicators(col: pd.Series, levels: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """Each level (a categorical column's categories, otherwise the sorted distinct values, as strings; or
    ``levels``) with its indicator, NaN where the value is missing."""
    if levels is not None:
        lvls = [str(x) for x in level_text(pd.Series(list(levels)))]
    elif isinstance(col.dtype, pd.CategoricalDtype):
        lvls = [str(c) for c in col.cat.categories]
    else:
        lvls = None
    s = level_text(col)
    if lvls is None:
        lvls = level_order(col, [str(x) for x in s.dropna().unique()])
    missing = s.isna().to_numpy()
    return [(lv, np.where(missing, np.nan, (s == lv).fillna(False).to_numpy(dtype=float))) for lv in lvls]


def mean(design: Design, variables: str | Sequence[str], by: str | Sequence[str] | None = None,
         variance: str | None = None, level: float = 0.95,
         interval: str | Mapping[str, str] = "wald", df: float | None = None,
         covariance: bool = False) -> pd.DataFrame:
    """Estimate weighted means of numeric variables (by domain), like R ``svymean``; missing values are left out.

    Missing values are left out variable by variable (R's ``na.rm = TRUE`` with several variables drops a unit
    missing any of them: see :func:`total`).

    A mean is the ratio of two totals; its influence values are ``(y − ȳ) / N̂`` on the units used,
    and units outside the domain keep their place in the design with zero influence (the domain's
    random size is reflected, as R's ``subset`` of a design). Boolean columns are read as 0/1.

    Parameters
    ----------
    design : Design
        The design (linearised variances use its calibration steps and PSUs; replicate variances its
        replicate weights).
    variables : str or sequence of str
        One or several column names.
    by : str or sequence of str, optional
        Domain variable(s); several are crossed (``a × b``), in R ``svyby``'s order (the first varying fastest).
        Units with a missing domain value belong to no domain. Default: the whole sample.
    variance : {"linearisation", "replicates"}, optional
        Taylor linearisation with calibration residuals and the ultimate-cluster estimator, or the replicate weights
        (the whole recipe re-run). Default: the replicates for a design of ready-made replicate weights without PSUs
        or strata (:attr:`Design.replicates_only`, R ``svrepdesign``: from :func:`with_replicate_weights` or
        :func:`read_design`), linearisation otherwise, even for a design given replicates by
        :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    level : float, default 0.95
        Confidence level of the intervals.
    interval : {"wald", "logit", "xlogit", "asin", "beta", "likelihood"} or mapping, default "wald"
        The confidence interval: ``estimate ± t·se``, or, for proportions (variables in [0, 1]),
        an interval within [0, 1] as R ``svyciprop`` (:func:`proportion_interval`; ``"likelihood"``, linearised
        only, in :mod:`~portrait.survey.likelihood`). A mapping gives
        each variable its own (``{"agree": "logit"}``; ``"wald"`` for the variables it does not name),
        so shares and means are estimated in one call.
    df : float, optional
        Degrees of freedom of every interval, as R ``confint(…, df =)``: ``numpy.inf`` gives R's default normal
        interval. Default: the design's (a domain's for the intervals of proportions — logit, xlogit, asin, beta, likelihood —, see Returns).
    covariance : bool, default False
        Keep the covariance matrix of the estimates in the table's ``attrs["covariance"]``, for
        :func:`~portrait.survey.contrast` and :func:`~portrait.survey.vcov` (R ``svyby(…, covmat = TRUE)``).

    Returns
    -------
    pandas.DataFrame
        One row per variable and domain, with columns ``statistic``, ``variable``, ``domain``
        (``""`` or ``"var=level"``), ``level``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (Student's
        t with ``df``), ``df`` (the whole design's degrees of freedom, for a domain
        too, as R ``confint(svyby(…, svymean), df = degf(design))``; but an interval of a proportion (logit, xlogit,
        asin, beta, likelihood) by domain takes the domain's PSUs − strata, as R ``svyby(…, svyciprop)`` on each
        domain's ``subset``, and so
        does :func:`quantile` by domain), ``deff`` (R ``survey``'s design effect
        against simple random sampling), ``n`` (units used) and ``variance`` (method).

    Raises
    ------
    ParameterError
        If a variable is not in the data, not numeric or has infinite values, ``variance="replicates"`` is
        asked of a design without replicate weights, ``interval`` is unknown or names a variable not
        estimated, a variable whose interval is ``"logit"`` or ``"beta"`` has values outside [0, 1], or
        ``"likelihood"`` is asked with replicate weights.

    See Also
    --------
    total, proportion, quantile, proportion_interval

    References
    ----------
    Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
    Kish, L. (1965). *Survey Sampling*. Wiley. (design effect)
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.

    Examples
    --------
    >>> mean(d, ["age", "income"], by="sex", variance="replicates")  # doctest: +SKIP
    """
    vs = [variables] if isinstance(variables, str) else list(variables)
    _check_intervals(interval, vs)
    specs = [_Spec("mean", v, _numeric(design, v), dom, mask) for v in vs for dom, mask in _domains(design, by)]
    return _compute(design, specs, variance, level, interval=interval, df_given=df, covariance=covariance)


def proportion(design: Design, variables: str | Sequence[str], by: str | Sequence[str] | None = None,
               variance: str | None = None, level: float = 0.95,
               levels: Sequence[str] | None = None, interval: str | Mapping[str, str] = "wald",
               df: float | None = None, covariance: bool = False) -> pd.DataFrame:
    """Estimate weighted shares of each level of categorical variables (by domain); missing values are left out.

    A share is the mean of the level's indicator (R ``svymean`` of a factor); the levels are a
    categorical column's categories, otherwise the sorted distinct values, compared as strings.

    Parameters
    ----------
    design : Design
        The design (linearised variances use its calibration steps and PSUs; replicate variances its
        replicate weights).
    variables : str or sequence of str
        One or several column names.
    by : str or sequence of str, optional
        Domain variable(s); several are crossed (``a × b``), in R ``svyby``'s order (the first varying fastest).
        Units with a missing domain value belong to no domain. Default: the whole sample.
    variance : {"linearisation", "replicates"}, optional
        Taylor linearisation with calibration residuals and the ultimate-cluster estimator, or the replicate weights
        (the whole recipe re-run). Default: the replicates for a design of ready-made replicate weights without PSUs
        or strata (:attr:`Design.replicates_only`, R ``svrepdesign``: from :func:`with_replicate_weights` or
        :func:`read_design`), linearisation otherwise, even for a design given replicates by
        :func:`with_replicates`: pass ``variance="replicates"`` to use them.
    level : float, default 0.95
        Confidence level of the intervals.
    levels : sequence of str, optional
        The levels to estimate (default: every level of each variable).
    interval : {"wald", "logit", "xlogit", "asin", "beta", "likelihood"} or mapping, default "wald"
        The confidence interval: ``estimate ± t·se``, or one within [0, 1] as R ``svyciprop``
        (:func:`proportion_interval`; ``"likelihood"``, linearised only, in :mod:`~portrait.survey.likelihood`); a
        mapping gives each variable its own (``"wald"`` for the others).
    df : float, optional
        Degrees of freedom of every interval, as R ``confint(…, df =)``: ``numpy.inf`` gives R's default normal
        interval. Default: the design's (a domain's for the intervals of proportions — logit, xlogit, asin, beta, likelihood —, see Returns).
    covariance : bool, default False
        Keep the covariance matrix of the estimates in the table's ``attrs["covariance"]``, for
        :func:`~portrait.survey.contrast` and :func:`~portrait.survey.vcov` (R ``svyby(…, covmat = TRUE)``).

    Returns
    -------
    pandas.DataFrame
        One row per variable, level and domain, with columns ``statistic``, ``variable``, ``domain``
        (``""`` or ``"var=level"``), ``level``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (Student's
        t with ``df``), ``df`` (design degrees of freedom), ``deff`` (R ``survey``'s design effect
        against simple random sampling), ``n`` (units used) and ``variance`` (method).

    Raises
    ------
    ParameterError
        If a variable is not in the data, ``variance="replicates"`` is asked of a design
        without replicate weights, ``interval`` is unknown or names a variable not estimated, or
        ``"likelihood"`` is asked with replicate weights.

    See Also
    --------
    mean, rao_scott, proportion_interval

    References
    ----------
    Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
    Kish, L. (1965). *Survey Sampling*. Wiley. (design effect)
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
    """
    vs = [variables] if isinstance(variables, str) else list(variables)
    _check_intervals(interval, vs)
    specs = [_Spec("mean", v, y, dom, mask, level=lv) for v in vs for lv, y in _indicators(design.column(v), levels)
             for dom, mask in _domains(design, by)]
    return _compute(design, specs, variance, level, interval=interval, df_given=df, covariance=covariance)
