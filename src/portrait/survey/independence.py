"""Tests of independence in a two-way table, as R ``svychisq``: Rao–Scott's and the design-based Wald tests.

:func:`rao_scott` corrects Pearson's X² for the design (R ``svychisq``'s ``"F"``, ``"Chisq"`` and
``"saddlepoint"``; Rao and Scott 1984). :func:`wald_independence` is R's other family, ``statistic = "Wald"`` and ``"adjWald"``
(Koch, Freeman and Freeman 1975): the estimated cell totals minus the products of their margins over the total,
``Y_ij = T_ij − R_i C_j / N``, whose (r − 1)(c − 1) free cells (the first row and column left out) are tested
against 0 with their covariance by the delta method. ``"adjWald"`` scales the statistic for the design's degrees
of freedom ν (Fellegi 1980): ``F = W (ν − k + 1) / (k ν)`` on ``(k, ν − k + 1)`` degrees of freedom, ``k`` =
(r − 1)(c − 1), where the plain Wald ``F = W / k`` on ``(k, ν)`` is liberal with few PSUs.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell proportions
estimated from survey data. *Annals of Statistics* 12, 46–60.
Koch, G. G., Freeman, D. H. and Freeman, J. L. (1975). Strategies in the multivariate analysis of data from complex
surveys. *International Statistical Review* 43, 59–78.
Fellegi, I. P. (1980). Approximate tests of independence and goodness of fit based on stratified multistage
samples. *Journal of the American Statistical Association* 75, 261–268.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svychisq``)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .design import Design
from .errors import ParameterError, check_variance
from .labels import _distinct, level_order, level_text
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


def _known_levels(column: pd.Series, text: pd.Series) -> list[str]:
    """The levels a column holds, with a Categorical's unused categories (an audit: « X », in no row, went unlisted)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        text = pd.concat([text, level_text(pd.Series(column.cat.categories))])
    return level_order(column, text.dropna().unique())


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
    all_r, all_c = _known_levels(design.column(row), r), _known_levels(design.column(col), c)
    dropped = tuple(f"{row}={x}" for x in all_r if x not in rl) + tuple(f"{col}={x}" for x in all_c if x not in cl)
    if len(rl) < 2 or len(cl) < 2:
        raise ParameterError(f"{row} × {col}: a test of independence needs at least two levels on each side")
    rv, cv = r.fillna("\x00").to_numpy(dtype=object), c.fillna("\x00").to_numpy(dtype=object)
    M = np.zeros((len(valid), len(rl) * len(cl)))
    for j, cc in enumerate(cl):
        for i, rr in enumerate(rl):
            M[:, j * len(rl) + i] = valid & (rv == rr) & (cv == cc)
    return Cells(rl, cl, valid, M, dropped)


def chisq_degf(design: Design, variance: str) -> float:
    """R ``svychisq``'s ν: PSUs − strata of the design's rows, or with replicates the design's degrees of freedom.

    R counts every row it holds. Its subset of a weighted (calibrated) design keeps every row, with weight 0, where
    the subset of another design drops them: a domain (:func:`~portrait.survey.subset`) of a design weighted before
    it counts the PSUs and strata of the rows the design held before that subset; otherwise those of positive
    weight (:attr:`Design.degf`), as R does for a design built without zero weights. A deliberate difference: rows
    given weight 0 when the design is built (the study's files keep non-respondents so) are not counted, where
    R's ``svychisq`` counts them although its own ``degf`` does not (an audit: 197 there, 193 here and in R's
    ``degf``, on ``apistrat`` with four weights set to 0).
    """
    if variance == "linearisation":
        weighted = False
        for step in design.steps:
            if step.kind == "subset" and weighted and step.d is not None:
                held = step.d > 0
                return float(_distinct(design.psu[held]) - _distinct(design.strata[held]))
            weighted = weighted or step.kind != "subset"
    return float(design.degf)


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
        Denominator degrees of freedom: ν (the design's PSUs − strata, counted as R does: :func:`chisq_degf`), or
        ``ν − k + 1`` adjusted.
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


def _solve(V: np.ndarray, y: np.ndarray, row: str, col: str) -> np.ndarray:
    """``V⁻¹ y``, refused as R's ``solve`` refuses it: reciprocal condition number below the machine epsilon."""
    try:
        rcond = 1 / np.linalg.cond(V, 1) if np.isfinite(V).all() else 0.0
    except np.linalg.LinAlgError:       # exactly singular
        rcond = 0.0
    if not rcond >= np.finfo(float).eps:
        raise ParameterError(f"{row} × {col}: the covariance of the table's cells is singular (reciprocal condition "
                             f"number {rcond:.1e}): a cell, row or column without variation between PSUs; the Wald "
                             "test cannot be computed, rao_scott can")
    return np.linalg.solve(V, y)


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
        has no more degrees of freedom than the table's ``k`` (adjusted: ``ν − k + 1 < 1``), or the covariance of
        the cells is singular (R: « system is computationally singular »).
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
    ndf, nu = (nr - 1) * (nc - 1), chisq_degf(design, variance)
    ddf = nu - ndf + 1 if adjusted else nu
    if not ddf >= 1:
        raise ParameterError(f"{row} × {col}: the design has {nu:g} degrees of freedom, too few for a Wald test of "
                             f"{ndf} cells{' (adjusted)' if adjusted else ''}; use rao_scott")
    W = float(Y[use] @ _solve(V[np.ix_(use, use)], Y[use], row, col))
    F = W * ddf / (ndf * nu) if adjusted else W / ndf
    return WaldIndependence(F=F, ndf=float(ndf), ddf=ddf, p=float(stats.f.sf(F, ndf, ddf)), adjusted=adjusted,
                            levels_dropped=cells.dropped)


@dataclass(frozen=True)
class RaoScott:
    """Hold Pearson's X² of a two-way table with the Rao–Scott first- and second-order corrections.

    Attributes
    ----------
    X2 : float
        Pearson's statistic of the estimated table (scaled to the number of units used). R's ``svychisq`` prints
        the same statistic scaled to ``nrow(design)``, which also counts units with a missing value in either
        variable: 18.58 where this is 16.97 on R's ``nhanes``; the p-values do not depend on that scale.
    F : float
        Second-order corrected statistic ``X2 / tr(Δ)``, referred to ``F(ndf, ddf)`` (R ``"F"``).
    ndf : float
        Numerator degrees of freedom ``tr(Δ)² / tr(Δ²)``.
    ddf : float
        Denominator degrees of freedom ``ndf × ν`` (the design's PSUs − strata, as R counts them:
        :func:`~portrait.survey.independence.chisq_degf`).
    p_F : float
        p-value of ``F``.
    p_chisq : float
        p-value of the first-order correction ``X2 / mean(eigenvalues of Δ)`` against χ² with
        ``(r − 1)(c − 1)`` df (R ``"Chisq"``).
    levels_dropped : tuple of str
        Levels without any respondent, dropped before the test (``"var=level"``).
    eigenvalues : tuple of float
        The eigenvalues of Δ, the generalised design effects (largest first).
    p_saddlepoint : float
        p-value of ``X2`` against ``Σ δᵢ χ²₁ / (χ²_ddf / ddf)``, by Kuonen's saddlepoint (R ``"saddlepoint"``; a
        property, computed when read). With replicate weights against ``Σ δᵢ χ²₁``, as R's method for them does.
        R solves the saddlepoint equation to 1e-8: its p-values are this one to about 1e-7.
    replicates : bool
        Whether Δ comes from replicate weights.
    """

    X2: float
    F: float
    ndf: float
    ddf: float
    p_F: float
    p_chisq: float
    levels_dropped: tuple[str, ...] = ()
    eigenvalues: tuple[float, ...] = ()
    replicates: bool = False

    @property
    def p_saddlepoint(self) -> float:
        from .lrt import pchisqsum, pfsum
        a = [e for e in self.eigenvalues if e > 1e-12 * max(self.eigenvalues, default=0.0)]   # a null one adds nothing
        if not a:
            return float("nan")
        return pchisqsum(self.X2, a, "saddlepoint") if self.replicates else pfsum(self.X2, a, self.ddf, "saddlepoint")


def rao_scott(design: Design, row: str, col: str, variance: str | None = None) -> RaoScott:
    """Test the independence of ``row`` and ``col`` by Rao–Scott (R ``svychisq``'s F, Chisq and saddlepoint).

    R's ``"Wald"`` and ``"adjWald"`` are :func:`~portrait.survey.wald_independence`.

    Missing values are left out as a domain, and levels without a unit holding both values are dropped first: R's
    result on ``subset(design, !is.na(row) & !is.na(col))``. R's own call keeps a level held only by units missing
    the other variable (a level with no unit at all gives ``F = NaN``, one held that way another F, and its Wald test
    fails as singular). The design effect matrix Δ uses the covariance of the cell proportions: linearised (with
    calibration residuals) or from the replicate weights, as R does on a replicate design.

    Parameters
    ----------
    design : Design
        The design.
    row : str
        Row variable (compared as strings).
    col : str
        Column variable (compared as strings).
    variance : {"linearisation", "replicates"}, optional
        Linearisation or the replicate weights. Default: the replicates for a design of ready-made replicate weights
        without PSUs or strata (:attr:`Design.replicates_only`), linearisation otherwise, even for a design given
        replicates by :func:`with_replicates`: pass ``variance="replicates"`` for them.

    Returns
    -------
    RaoScott
        The statistic, its corrections and p-values.

    Raises
    ------
    ParameterError
        If a column is not in the data, or either variable has fewer than two levels with respondents.

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
    cell proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svychisq``)
    """
    variance = check_variance(variance, design=design)
    cells = table_cells(design, row, col)         # in R's interaction order: rows vary fastest
    M, valid, dropped = cells.M, cells.valid, cells.dropped
    nr, nc = len(cells.rows), len(cells.cols)
    w = design.weights
    W = (w * valid).sum()
    mean = (w[:, None] * M).sum(0) / W
    if variance == "linearisation":
        V = linearised_variance(design, residualise(design, (M - mean) * valid[:, None] / W))
    else:
        R = design.replicate_weights()
        V = replicate_variance(mean, (R.T @ M) / (R.T @ valid)[:, None], design.replicate_scale,
                               design.replicate_rscales, design.replicate_mse, design.replicate_blocks)
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
    nu = chisq_degf(design, variance)
    F = X2 / tr
    p_F = float(stats.f.sf(F, d0, d0 * nu))
    p_chisq = float(stats.chi2.sf(X2 / np.mean(np.diag(Delta)), (nr - 1) * (nc - 1)))
    return RaoScott(X2=X2, F=F, ndf=d0, ddf=d0 * nu, p_F=p_F, p_chisq=p_chisq, levels_dropped=dropped,
                    eigenvalues=tuple(float(e) for e in np.sort(np.linalg.eigvals(Delta).real)[::-1]),
                    replicates=variance != "linearisation")
