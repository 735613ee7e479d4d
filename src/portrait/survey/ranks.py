"""Design-based rank tests (R ``svyranktest``): Wilcoxon, van der Waerden and median scores.

The scores of the pooled sample's estimated population ranks are regressed on the group; between two groups the
slope's t test has the design's variance of the coefficients' influence total (Lumley & Scott 2013), linearised or
from the replicate weights as R's ``svytotal`` of it; between more the group coefficients are tested together by a
Wald F (Kruskal–Wallis with Wilcoxon scores). Checked against R in ``tests/test_models_r.py`` and
``tests/test_rank_groups.py``.

References
----------
Lumley, T. and Scott, A. J. (2013). Two-sample rank tests under complex sampling. *Biometrika*
100, 831–842.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .design import Design
from .errors import ParameterError, check_variance
from .inference import _stacked_df, _survey_parts, _vcov, domain_degf
from .labels import level_order, level_text
from .replicates import replicate_variance


@dataclass(frozen=True)
class RankTest:
    """Hold a design-based two-sample rank test (Lumley & Scott 2013).

    Attributes
    ----------
    estimate : float
        Difference in mean rank score between the second and first group (sorted levels).
    t : float
        Its t statistic.
    df : float
        Degrees of freedom: PSUs − strata of the units used, minus 1; between two surveys of a
        :func:`stack`, Welch–Satterthwaite on their two variances (:func:`welch_df`).
    p : float
        Two-sided p-value.
    test : str
        The score used (``wilcoxon``, ``vanderWaerden`` or ``median``).
    """

    estimate: float
    t: float
    df: float
    p: float
    test: str


@dataclass(frozen=True)
class MultiRankTest:
    """Hold a design-based rank test between more than two groups (R ``svyranktest`` of a factor of k levels).

    Attributes
    ----------
    chisq : float
        Wald statistic of the k − 1 group coefficients of the rank scores' regression.
    f : float
        ``chisq / ndf``.
    ndf : int
        Numerator degrees of freedom, k − 1.
    ddf : float
        Denominator degrees of freedom: PSUs − strata of the units used, minus ``ndf``.
    p : float
        p-value of ``f`` on F(ndf, ddf).
    test : str
        The score used (``wilcoxon`` scores give the design-based Kruskal–Wallis test).
    levels : tuple of str
        The groups compared, sorted.
    """

    chisq: float
    f: float
    ndf: int
    ddf: float
    p: float
    test: str
    levels: tuple[str, ...]


def _scores(yv: np.ndarray, keep: np.ndarray, w: np.ndarray, test: str) -> np.ndarray:
    """Each unit's score of its estimated population mid-rank (0 for the units left out)."""
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
    # a mid-rank at N/2 exactly scores 0: summed in another order it came 6 ulps above (an audit: R's χ² 23.97 read
    # 23.58); distinct mid-ranks differ by half a weight at least, far above this margin
    score = {"wilcoxon": lambda r: r / N, "vanderWaerden": lambda r: stats.norm.ppf(r / N),
             "median": lambda r: (r > N / 2 + 1e-12 * N).astype(float)}
    return np.where(keep, score[test](np.where(keep, rank, N / 2)), 0.0)


def rank_test(design: Design, y: str, group: str, test: str = "wilcoxon",
              variance: str | None = None) -> RankTest | MultiRankTest:
    """Test ``y`` between the levels of ``group`` by a design-based rank test (R ``svyranktest``).

    Ranks are estimated population mid-ranks from the weighted ECDF; the rank scores are regressed on the group
    by weighted least squares, with a design-based covariance of the coefficients: the variance of the total of
    their influence values, linearised, or from the replicate weights (R ``svytotal`` on a replicate design; ranks
    and scores are not recomputed in each replicate, as in R). Between two groups
    the test is the t statistic of the group coefficient; between more, as R, the Wald F of the k − 1 group
    coefficients together (with Wilcoxon scores, a design-based Kruskal–Wallis test). Units with a missing ``y``
    or ``group`` keep their place with weight 0. Ties are averaged among units of positive weight only: R averages
    over every row, so in its subset of a calibrated design a value outside the domain tied with one inside moves
    the domain's mid-ranks (a deliberate difference; R agrees once no tie crosses the domain's border).

    Parameters
    ----------
    design : Design
        The design.
    y : str
        Numeric variable.
    group : str
        Grouping variable with at least two levels among the units used, compared as text and sorted:
        between two, the estimate is the second level's mean rank score minus the first's (``group`` = ``"a"`` /
        ``"b"``: ``b − a``; R likewise takes the factor's second level against its first).
    test : {"wilcoxon", "vanderWaerden", "median"}, default "wilcoxon"
        Rank score: ``r/N``, ``Φ⁻¹(r/N)`` or ``1{r > N/2}``. R's other name of Wilcoxon's, ``"KruskalWallis"``, is
        read as ``"wilcoxon"``.
    variance : {"linearisation", "replicates"}, optional
        Default: the replicates for a design of ready-made replicate weights without PSUs or strata
        (:attr:`Design.replicates_only`, R ``svrepdesign``), linearisation otherwise, even for a design given
        replicates by :func:`with_replicates`: pass ``variance="replicates"`` for them. Between more than two groups
        R 4.2's ``svyranktest`` fails on a replicate design; here the replicates are used as between two.

    Returns
    -------
    RankTest or MultiRankTest
        Between two groups, estimate, t, df, p and the score used; between more, the Wald F with its degrees of
        freedom and p.

    Raises
    ------
    ParameterError
        If ``group`` has fewer than two levels, ``test`` or ``variance`` is unknown, or ``variance="replicates"`` is
        asked of a design without replicate weights.

    References
    ----------
    Lumley, T. and Scott, A. J. (2013). Two-sample rank tests under complex sampling. *Biometrika*
    100, 831–842.
    """
    test = "wilcoxon" if test == "KruskalWallis" else test
    if test not in ("wilcoxon", "vanderWaerden", "median"):
        raise ParameterError("test must be one of ['wilcoxon', 'vanderWaerden', 'median'] (or 'KruskalWallis')")
    variance = check_variance(variance, design=design)
    yv = design.column(y).to_numpy(dtype=float)
    g = level_text(design.column(group))
    keep = ~np.isnan(yv) & ~g.isna().to_numpy() & (design.weights > 0)
    # units left out keep their place in the design with weight 0 (R's subset of a design)
    d = design.with_weights(np.where(keep, design.weights, 0.0))
    levels = level_order(design.column(group), pd.unique(g[keep].astype(str)))
    if len(levels) < 2:
        raise ParameterError(f"rank_test compares groups; {group!r} has {len(levels)}: {levels}")
    w = d.weights
    s = _scores(yv, keep, w, test)
    gs = g.fillna("").astype(str).to_numpy()
    X = np.column_stack([np.ones(len(gs))] + [(gs == lv).astype(float) for lv in levels[1:]]) * keep[:, None]
    XtW = X.T * w
    A = np.linalg.inv(XtW @ X)
    beta = A @ (XtW @ s)
    resid = (s - X @ beta) * keep
    inf = (X * resid[:, None]) @ A
    if variance == "linearisation":
        V = _vcov(d, inf)
    else:
        R = design.replicate_weights()
        V = np.atleast_2d(replicate_variance(design.weights @ inf, R.T @ inf, design.replicate_scale,
                                             design.replicate_rscales, design.replicate_mse, design.replicate_blocks))
    if len(levels) > 2:
        ndf = len(levels) - 1
        chisq = float(beta[1:] @ np.linalg.solve(V[1:, 1:], beta[1:]))
        ddf = domain_degf(d, keep) - ndf
        return MultiRankTest(chisq=chisq, f=chisq / ndf, ndf=ndf, ddf=ddf,
                             p=float(stats.f.sf(chisq / ndf, ndf, ddf)), test=test, levels=tuple(levels))
    se = np.sqrt(V[1, 1])
    t = beta[1] / se
    parts = _survey_parts(design, group, *levels)
    df = domain_degf(d, keep) - 1 if parts is None else _stacked_df(design, parts, z=inf[:, 1], on=d)
    return RankTest(estimate=float(beta[1]), t=float(t), df=df, p=float(2 * stats.t.sf(abs(t), df)), test=test)
