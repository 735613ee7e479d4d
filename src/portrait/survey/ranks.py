"""Design-based two-sample rank tests (R ``svyranktest``): Wilcoxon, van der Waerden and median scores.

The scores of the pooled sample's estimated population ranks are regressed on the group; the
slope's t test has the design's linearised variance (Lumley & Scott 2013). Checked against R in
``tests/test_models_r.py``.

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
from .errors import ParameterError
from .inference import _stacked_df, _survey_parts, _vcov, domain_degf


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


def rank_test(design: Design, y: str, group: str, test: str = "wilcoxon") -> RankTest:
    """Test ``y`` between the two levels of ``group`` by a design-based rank test (R ``svyranktest``).

    Ranks are estimated population mid-ranks from the weighted ECDF; the test is the t statistic
    of the group coefficient in a weighted regression of the rank scores, with a design-based SE
    (linearised). Units with a missing ``y`` or ``group`` keep their place with weight 0.

    Parameters
    ----------
    design : Design
        The design.
    y : str
        Numeric variable.
    group : str
        Grouping variable with exactly two levels among the units used, compared as text and sorted:
        the estimate is the second level's mean rank score minus the first's (``group`` = ``"a"`` /
        ``"b"``: ``b − a``; R likewise takes the factor's second level against its first).
    test : {"wilcoxon", "vanderWaerden", "median"}, default "wilcoxon"
        Rank score: ``r/N``, ``Φ⁻¹(r/N)`` or ``1{r > N/2}``.

    Returns
    -------
    RankTest
        Estimate, t, df, p and the score used.

    Raises
    ------
    ParameterError
        If ``group`` has not exactly two levels, or ``test`` is unknown.

    References
    ----------
    Lumley, T. and Scott, A. J. (2013). Two-sample rank tests under complex sampling. *Biometrika*
    100, 831–842.
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
    parts = _survey_parts(design, group, *levels)
    df = domain_degf(d, keep) - 1 if parts is None else _stacked_df(design, parts, z=inf[:, 1], on=d)
    return RankTest(estimate=float(beta[1]), t=float(t), df=df, p=float(2 * stats.t.sf(abs(t), df)), test=test)


