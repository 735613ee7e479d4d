"""Independence in a two-way table: the table's cells as R ``svychisq`` builds them, and its design-based Wald tests.

:func:`~portrait.survey.rao_scott` corrects Pearson's X² for the design (R ``svychisq``'s ``"F"``, ``"Chisq"``
and ``"saddlepoint"``). :func:`wald_independence` is R's other family, ``statistic = "Wald"`` and ``"adjWald"``
(Koch, Freeman and Freeman 1975): the estimated cell totals minus the products of their margins over the total,
``Y_ij = T_ij − R_i C_j / N``, whose (r − 1)(c − 1) free cells (the first row and column left out) are tested
against 0 with their covariance by the delta method. ``"adjWald"`` scales the statistic for the design's degrees
of freedom ν (Fellegi 1980): ``F = W (ν − k + 1) / (k ν)`` on ``(k, ν − k + 1)`` degrees of freedom, ``k`` =
(r − 1)(c − 1), where the plain Wald ``F = W / k`` on ``(k, ν)`` is liberal with few PSUs.

References
----------
Koch, G. G., Freeman, D. H. and Freeman, J. L. (1975). Strategies in the multivariate analysis of data from complex
surveys. *International Statistical Review* 43, 59–78.
Fellegi, I. P. (1980). Approximate tests of independence and goodness of fit based on stratified multistage
samples. *Journal of the American Statistical Association* 75, 261–268.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svychisq``)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .design import Design
from .errors import ParameterError, check_variance
from .labels import level_order, level_text
from .linearisation import linearised_variance, residualise
from .replicates import replicate_variance


@dataclass(frozen=True)
class Cells:
    """The cells of a two-way table: each unit's cell indicator (``r × c`` columns, rows varying fastest, as R's
    ``interaction()``), the units with both values (and a positive weight), the levels and those dropped."""

    rows: list[str]
    cols: list[str]
    valid: np.ndarray
    M: np.ndarray
    dropped: tuple[str, ...]


def table_cells(design: Design, row: str, col: str) -> Cells:
    """The cells of ``row × col`` among the units with both values; levels without any such unit are dropped (R
    returns NaN otherwise), and a variable with fewer than two levels left is refused (:class:`ParameterError`)."""
    for v in (row, col):
        if v not in design.data.columns:
            raise ParameterError(f"column {v!r} is not in the survey data")
    r, c = level_text(design.column(row)), level_text(design.column(col))
    valid = (~r.isna() & ~c.isna()).to_numpy() & (design.weights > 0)
    rl = level_order(design.column(row), r[valid].unique())
    cl = level_order(design.column(col), c[valid].unique())
    all_r = level_order(design.column(row), r.dropna().unique())
    all_c = level_order(design.column(col), c.dropna().unique())
    dropped = tuple(f"{row}={x}" for x in all_r if x not in rl) + tuple(f"{col}={x}" for x in all_c if x not in cl)
    if len(rl) < 2 or len(cl) < 2:
        raise ParameterError(f"{row} × {col}: a test of independence needs at least two levels on each side")
    rv, cv = r.fillna("\x00").to_numpy(dtype=object), c.fillna("\x00").to_numpy(dtype=object)
    M = np.zeros((len(valid), len(rl) * len(cl)))
    for j, cc in enumerate(cl):
        for i, rr in enumerate(rl):
            M[:, j * len(rl) + i] = valid & (rv == rr) & (cv == cc)
    return Cells(rl, cl, valid, M, dropped)


@dataclass(frozen=True)
class WaldIndependence:
    """Hold a design-based Wald test of independence (R ``svychisq``'s ``"Wald"`` or ``"adjWald"``).

    Attributes
    ----------
    F : float
        The statistic, ``W / k`` or, adjusted, ``W (ν − k + 1) / (k ν)``.
    ndf : float
        Numerator degrees of freedom, ``k = (r − 1)(c − 1)``.
    ddf : float
        Denominator degrees of freedom: ν (the design's PSUs − strata), or ``ν − k + 1`` adjusted.
    p : float
        p-value of ``F``.
    adjusted : bool
        Whether the statistic is Fellegi's adjusted one.
    levels_dropped : tuple of str
        Levels without any respondent, dropped before the test (``"var=level"``).
    """

    F: float
    ndf: float
    ddf: float
    p: float
    adjusted: bool
    levels_dropped: tuple[str, ...] = ()


def wald_independence(design: Design, row: str, col: str, variance: str | None = None,
                      adjusted: bool = False) -> WaldIndependence:
    """Test the independence of ``row`` and ``col`` by the design-based Wald test (R ``svychisq``, ``"Wald"``).

    With ``adjusted=True``, Fellegi's adjusted statistic (R ``"adjWald"``).

    Parameters
    ----------
    design : Design
        The design.
    row : str
        Row variable (compared as strings).
    col : str
        Column variable (compared as strings).
    variance : {"linearisation", "replicates"}, optional
        The covariance of the cell totals: linearised (with calibration residuals) or from the replicate weights.
        Default as :func:`~portrait.survey.rao_scott`'s.
    adjusted : bool, default False
        Fellegi's adjustment for the design's degrees of freedom (R ``"adjWald"``).

    Returns
    -------
    WaldIndependence
        The statistic, its degrees of freedom and p-value.

    Raises
    ------
    ParameterError
        If a column is not in the data, either variable has fewer than two levels with respondents, or the design
        has no more degrees of freedom than the table's ``k`` (adjusted: ``ν − k + 1 < 1``).
    """
    variance = check_variance(variance, design=design)
    cells = table_cells(design, row, col)
    nr, nc = len(cells.rows), len(cells.cols)
    rows = cells.M.reshape(len(cells.valid), nc, nr).sum(axis=1)          # unit × row level
    cols = cells.M.reshape(len(cells.valid), nc, nr).sum(axis=2)          # unit × column level
    U = np.column_stack([cells.M, rows, cols, cells.valid.astype(float)])
    w = design.weights
    totals = w @ U
    if variance == "linearisation":
        S = linearised_variance(design, residualise(design, U))
    else:
        R = design.replicate_weights()
        S = replicate_variance(totals, R.T @ U, design.replicate_scale, design.replicate_rscales,
                               design.replicate_mse, design.replicate_blocks)
    k = nr * nc
    R_i, C_j, N = totals[k:k + nr], totals[k + nr:k + nr + nc], totals[-1]
    ri, cj = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)      # each cell's row and column
    Y = totals[:k] - R_i[ri] * C_j[cj] / N
    J = np.zeros((k, U.shape[1]))                                           # ∂Y / ∂(cells, rows, columns, N)
    J[:, :k] = np.eye(k)
    J[np.arange(k), k + ri] = -C_j[cj] / N
    J[np.arange(k), k + nr + cj] = -R_i[ri] / N
    J[:, -1] = R_i[ri] * C_j[cj] / N ** 2
    V = J @ S @ J.T
    use = (ri > 0) & (cj > 0)
    W = float(Y[use] @ np.linalg.solve(V[np.ix_(use, use)], Y[use]))
    ndf, nu = (nr - 1) * (nc - 1), float(design.degf)
    ddf = nu - ndf + 1 if adjusted else nu
    if not ddf >= 1:
        raise ParameterError(f"{row} × {col}: the design has {nu:g} degrees of freedom, too few for a Wald test of "
                             f"{ndf} cells{' (adjusted)' if adjusted else ''}; use rao_scott")
    F = W * ddf / (ndf * nu) if adjusted else W / ndf
    return WaldIndependence(F=F, ndf=float(ndf), ddf=ddf, p=float(stats.f.sf(F, ndf, ddf)), adjusted=adjusted,
                            levels_dropped=cells.dropped)
