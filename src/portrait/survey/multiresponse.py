"""Multiple-response items: do two groups choose the options of a « pick any » question alike?

A multiple-response question (« citez jusqu'à trois forces ») gives each respondent a 0/1 indicator
per option, and the indicators of one respondent are dependent. The hypothesis that the group and
each option are independent — simultaneous pairwise marginal independence, SPMI — is tested with
Bilder & Loughin's (2004) statistic, the sum over options of the Pearson statistics of the
group × option 2 × 2 tables,

    X²_S = Σ_j d_j² / V0_j,   d_j = p̂_bj − p̂_aj,   V0_j = p̄_j (1 − p̄_j) (1/n_a + 1/n_b),

with ``p̄_j`` the proportion choosing option ``j`` among all ``n_a + n_b`` respondents (the SRS
statistic). Its design-based distribution under SPMI is ``Σ_k λ_k χ²_1``, the ``λ_k`` being the
eigenvalues of ``Δ = D0^{-1/2} Σ D0^{-1/2}`` (``Σ``: design covariance of ``d``, linearised or from
replicate weights; ``D0 = diag(V0_j)``). It is referred, as Bilder & Loughin do with their second-order
adjustment and as Rao & Scott (1984) do for tables, to ``c χ²_ν`` with the first two moments matched:
``c = tr(Δ²) / tr(Δ)``, ``ν = tr(Δ)² / tr(Δ²)``; the F form is ``X²_S / tr(Δ) ~ F(ν, ν·df)``, ``df`` the two
groups' design degrees of freedom (their PSUs less their strata), as R ``svychisq`` takes the denominator's.
With one option the test is the Wald test of ``d_1``: ``F`` is R ``svyttest``'s ``t²`` on the two groups (not
``svychisq``'s Rao–Scott ``F``, which estimates the 2 × 2 table's design effect from its joint cells and can
differ markedly on few PSUs), referred to ``F(1, df)`` where ``svyttest`` uses ``df − 1``.

``Σ`` is the design-based covariance of ``d`` estimated without the hypothesis (as Rao & Scott do for a complex
design), so ``tr(Δ)`` is estimated too. Bilder & Loughin's own second-order adjustment (MRCV's ``MMI.test``,
``type = "rs2"``), for a simple random sample, estimates ``Σ`` under the hypothesis, whose ``tr(Δ)`` is the number
of options ``c``: on such a sample the two differ slightly (an audit, 240 units, 4 options: 5.10 on 2.18 df here,
5.18 on 2.24 df there, p 0.092 both), and agree as the sample grows.

References
----------
Bilder, C. R. and Loughin, T. M. (2004). Testing for marginal independence between two categorical
variables with multiple responses. *Biometrics* 60, 241–248.
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell
proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .design import Deferred, Deferring, Design
from .errors import ParameterError, check_variance
from .inference import domain_degf
from .labels import float_values, masked_parts
from .linearisation import sparse_influence_variance
from .replicates import replicate_variance


def _in_levels(column: pd.Series, levels: Sequence[object]) -> list[np.ndarray]:
    """For each of ``levels``, which units' value, read as text (a missing value as ``""``), is ``str(level)``: the
    column is factorised once and its distinct values compared, not every unit's text."""
    code, uniques = pd.factorize(column)
    if uniques.dtype.kind in "iu" or isinstance(uniques.dtype, pd.StringDtype):
        texts = [str(u) for u in uniques]             # integers and text: str() is their text, no conversion
    else:
        texts = [str(u) for u in uniques.astype("string")]
    return [np.append(np.array([t == str(level) for t in texts], dtype=bool), str(level) == "")[code]
            for level in levels]


@dataclass(frozen=True)
class MultipleResponseTest(Deferring):
    """Hold a Bilder–Loughin SPMI test of a multiple-response item between two groups.

    Attributes
    ----------
    options : pandas.DataFrame
        Per option: ``option``, the two groups' proportions ``share_a`` and ``share_b``, their
        ``difference`` (``b − a``), its standard error ``se`` and the option's Pearson statistic ``X2``.
    X2 : float
        The statistic ``X²_S``, sum of the options' ``X2``.
    trace : float
        ``tr(Δ)``.
    trace_sq : float
        ``tr(Δ²)``.
    df_chisq : float
        ``ν = tr(Δ)² / tr(Δ²)``, degrees of freedom of the second-order χ².
    p_chisq : float
        Second-order p-value: ``X²_S / c`` against χ²(ν), ``c = tr(Δ²) / tr(Δ)``; the one to report.
    F : float
        ``X²_S / tr(Δ)``.
    ndf : float
        Numerator degrees of freedom of ``F`` (ν).
    ddf : float
        Denominator degrees of freedom of ``F`` (ν times the domain's PSUs − strata).
    p_F : float
        p-value of ``F``.
    n_a : int
        Respondents to the question in group ``a``.
    n_b : int
        Respondents to the question in group ``b``.
    """

    options: pd.DataFrame
    X2: float
    trace: float
    trace_sq: float
    df_chisq: float
    p_chisq: float
    F: float
    ndf: float
    ddf: float
    p_F: float
    n_a: int
    n_b: int

    def __getstate__(self) -> dict:
        """The fields, the options' table built (a table still to be built holds a function, not pickled)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def multiple_response_test(design: Design, items: Sequence[str], group: str, a: str, b: str,
                           variance: str | None = None) -> MultipleResponseTest:
    """Test that groups ``a`` and ``b`` of ``group`` choose the options ``items`` (0/1 columns) alike.

    The Bilder–Loughin statistic with its Rao–Scott second-order design-based correction (see the
    module docstring); with one option it is the Wald test of the difference (R ``svyttest``'s ``t²``).

    Parameters
    ----------
    design : Design
        One design holding both groups (for independent surveys, :func:`~portrait.survey.stack`).
    items : sequence of str
        The options' indicator columns (1 chosen, 0 not); a respondent with any of them missing
        did not answer the question and is left out, as a domain.
    group : str
        The grouping column (compared as strings).
    a : str
        The first group; differences are ``b − a``.
    b : str
        The second group.
    variance : {"linearisation", "replicates"}, optional
        Linearisation (with calibration residuals) or replicate weights. Default: the replicates for a design of
        ready-made replicate weights without PSUs or strata (:attr:`Design.replicates_only`), linearisation
        otherwise, even for a design given replicates by :func:`with_replicates`: pass ``variance="replicates"`` for
        them.

    Returns
    -------
    MultipleResponseTest
        Per-option table, statistic, traces, second-order χ² and F tests, group sizes.

    Raises
    ------
    ParameterError
        If no option is given, ``variance`` is unknown, a column is missing, an option holds values
        other than 0/1, a group has no respondent to the question, or no option varies (all chosen by every
        respondent of both groups, or by none).

    Notes
    -----
    The second-order p-value is the one to report (Bilder & Loughin 2004 found the first-order one
    liberal when options are correlated). An option nobody chose in either group contributes nothing
    and is left out of ``Δ``.

    References
    ----------
    Bilder, C. R. and Loughin, T. M. (2004). Testing for marginal independence between two categorical
    variables with multiple responses. *Biometrics* 60, 241–248.
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell
    proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
    """
    variance = check_variance(variance, design=design)
    if len(items) < 1:
        raise ParameterError("give at least one option column")
    data = design.data
    missing = [c for c in [*items, group] if c not in data.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the survey data")
    Y0, answered = option_indicators(data, items)
    level_a, level_b = _in_levels(data[group], (a, b))
    in_a = answered & level_a & (design.weights > 0)
    in_b = answered & level_b & (design.weights > 0)
    n_a, n_b = int(in_a.sum()), int(in_b.sum())
    if n_a == 0 or n_b == 0:
        raise ParameterError(f"group {a if n_a == 0 else b!r} of {group!r} has no respondent to the question")
    return _test(design, list(items), Y0, in_a, in_b, variance, f"in groups {a!r} and {b!r}")


def option_indicators(data: pd.DataFrame, items: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The options' 0/1 indicators of each unit (``n × c``, 0 for a unit that did not answer) and who answered.

    A unit answered the question when none of its options is missing. The indicators can then be tested on several
    designs of the same units (:func:`indicator_test`), or stacked for :func:`~portrait.survey.stack`'s design,
    without reading the columns again.

    Parameters
    ----------
    data : pandas.DataFrame
        The units' data.
    items : sequence of str
        The options' indicator columns (1 chosen, 0 not, missing: not answered).

    Returns
    -------
    indicators : numpy.ndarray
        ``n × c`` floats, 0 or 1 (0 in the rows of units that did not answer).
    answered : numpy.ndarray
        Whether each unit answered (bool, length ``n``).

    Raises
    ------
    ParameterError
        If a column is not in ``data``, or an option holds values other than 0/1.
    """
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the survey data")
    columns = [data[c] for c in items]
    held = [c.array for c in columns]
    if held and all(isinstance(a, pd.arrays.IntegerArray) for a in held):
        return _integer_indicators(held, items)
    if all(pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c) for c in columns):
        values = [float_values(c) for c in columns]
        Y = np.column_stack(values)
        coerced = False                       # a missing value is the only NaN
        missing = np.isnan(values[0])         # column by column: any(axis=1) is slow on a few columns
        for v in values[1:]:
            missing |= np.isnan(v)
        answered = ~missing
    else:
        raw = data[list(items)]
        Y = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        coerced = np.any(np.isnan(Y) & raw.notna().to_numpy())
        answered = ~np.isnan(Y).any(axis=1)
    given = Y[answered]
    if coerced or np.any((given != 0) & (given != 1)):
        raise ParameterError(f"option columns {list(items)} must hold 0 or 1 (or be missing)")
    return np.where(answered[:, None], Y, 0.0), answered


def _integer_indicators(held: list, items: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`option_indicators` of nullable integer columns (their arrays ``held``), from their data and masks: the
    same floats without a NaN put in and taken out (a survey's options, read in each replication of a simulation)."""
    parts = [masked_parts(a) for a in held]
    missing = parts[0][1].copy()
    for _, mask in parts[1:]:
        missing |= mask
    Y = np.column_stack([data for data, _ in parts])
    given = Y[~missing]
    if np.any((given != 0) & (given != 1)):
        raise ParameterError(f"option columns {list(items)} must hold 0 or 1 (or be missing)")
    out = Y.astype(np.float64)
    out[missing] = 0.0
    return out, ~missing


def indicator_test(design: Design, indicators: np.ndarray, in_a: np.ndarray, in_b: np.ndarray,
                   options: Sequence[str] | None = None, variance: str | None = None,
                   groups: tuple[object, object] = ("a", "b")) -> MultipleResponseTest:
    """:func:`multiple_response_test` on indicators already read, for groups given as the units of each.

    The same numbers as :func:`multiple_response_test` of the options whose :func:`option_indicators` are
    ``indicators``, for groups ``a`` and ``b`` whose respondents to the question (with a positive weight) are
    ``in_a`` and ``in_b``: a simulation study tests the same options of one sample on several designs or between
    several groupings of its units, and reads them once.

    Parameters
    ----------
    design : Design
        The design of the units (its ``data`` is not read).
    indicators : numpy.ndarray
        ``n × c`` indicators, 0 or 1, of :func:`option_indicators` (0 for a unit that did not answer).
    in_a, in_b : numpy.ndarray
        The units of each group that answered and have a positive weight (bool, length ``n``).
    options : sequence of str, optional
        The options' names in the table (default ``"1"``, ``"2"``, …).
    variance : {"linearisation", "replicates"}, optional
        As :func:`multiple_response_test`'s.
    groups : pair, default ("a", "b")
        The two groups' names, for the errors.

    Returns
    -------
    MultipleResponseTest
        As :func:`multiple_response_test`.

    Raises
    ------
    ParameterError
        If ``variance`` is unknown, the arrays do not have a row per unit, a group is empty, or no option varies.
    """
    variance = check_variance(variance, design=design)
    Y0 = np.asarray(indicators, dtype=float)
    n = len(design.weights)
    if Y0.ndim != 2 or Y0.shape[0] != n or np.shape(in_a) != (n,) or np.shape(in_b) != (n,):
        raise ParameterError(f"indicators ({np.shape(indicators)}) and groups ({np.shape(in_a)}, {np.shape(in_b)}) "
                             f"must have one row per unit of the design ({n})")
    a, b = groups
    if not (in_a.any() and in_b.any()):
        raise ParameterError(f"group {a if not in_a.any() else b!r} has no respondent to the question")
    names = [str(j + 1) for j in range(Y0.shape[1])] if options is None else list(options)
    return _test(design, names, Y0, in_a, in_b, variance, f"in groups {a!r} and {b!r}")


def independent_indicator_test(designs: Sequence[Design], indicators: Sequence[np.ndarray], in_a: np.ndarray,
                               in_b: np.ndarray, options: Sequence[str] | None = None,
                               groups: tuple[object, object] = ("a", "b")) -> MultipleResponseTest:
    """:func:`indicator_test` between two independent surveys, each on its own design (linearised variance).

    Group ``a`` is the respondents ``in_a`` of the first design, group ``b`` the respondents ``in_b`` of the second;
    ``indicators`` holds each survey's :func:`option_indicators`. The covariance of the differences is the sum of the
    surveys' linearised covariances, each computed on its own design (calibration residuals included), as independence
    requires; the test's degrees of freedom are the sum of the two groups'. These are the numbers of
    :func:`indicator_test` on the surveys' :func:`~portrait.survey.stack` (linearisation), without building it, up
    to rounding (the stack adds the two surveys' sums in one, in another order), for designs whose weighting steps
    the stack keeps (calibrations; a :func:`subset` or a trimming is not kept by the stack, and is here), with the
    same ``lonely_psu`` other than « average » (whose factor counts each survey's strata here, the stack's there).

    Parameters
    ----------
    designs : pair of Design
        The two surveys' designs (their ``data`` is not read).
    indicators : pair of numpy.ndarray
        Each survey's ``n × c`` indicators (the same ``c`` options), of :func:`option_indicators`.
    in_a, in_b : numpy.ndarray
        The respondents (with a positive weight) of group ``a`` among the first survey's units, of ``b`` among the
        second's (bool, one per unit of each design).
    options, groups : sequence of str and pair, optional
        The options' and the groups' names, as :func:`indicator_test`'s.

    Returns
    -------
    MultipleResponseTest
        The test, as :func:`multiple_response_test`'s.

    Raises
    ------
    ParameterError
        If two designs and two arrays of indicators are not given, the arrays do not have a row per unit of their
        design or the same options, a group is empty, or no option varies.
    """
    if len(designs) != 2 or len(indicators) != 2:
        raise ParameterError(f"give two designs and two arrays of indicators, got {len(designs)} and {len(indicators)}")
    (da, db), (Ya0, Yb0) = designs, [np.asarray(y, dtype=float) for y in indicators]
    for d, Y, m, g in ((da, Ya0, in_a, groups[0]), (db, Yb0, in_b, groups[1])):
        n = len(d.weights)
        if Y.ndim != 2 or Y.shape[0] != n or np.shape(m) != (n,):
            raise ParameterError(f"the indicators ({Y.shape}) and units ({np.shape(m)}) of group {g!r} must have "
                                 f"one row per unit of its design ({n})")
    if Ya0.shape[1] != Yb0.shape[1]:
        raise ParameterError(f"the two surveys' indicators have {Ya0.shape[1]} and {Yb0.shape[1]} options")
    if not (in_a.any() and in_b.any()):
        raise ParameterError(f"group {groups[0] if not in_a.any() else groups[1]!r} has no respondent to the question")
    names = [str(j + 1) for j in range(Ya0.shape[1])] if options is None else list(options)
    Ya, Yb = Ya0[in_a], Yb0[in_b]
    pa, Na = _shares(da.weights[in_a], Ya)
    pb, Nb = _shares(db.weights[in_b], Yb)
    S = (sparse_influence_variance(da, np.flatnonzero(in_a), -((Ya - pa) / Na))       # a unit outside its group:
         + sparse_influence_variance(db, np.flatnonzero(in_b), (Yb - pb) / Nb))        # no influence
    return _statistics(names, Ya, Yb, pa, pb, S, domain_degf(da, in_a) + domain_degf(db, in_b),
                       f"in groups {groups[0]!r} and {groups[1]!r}")


def _shares(w: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, float]:
    """The weighted shares of the options ``Y`` (a group's rows) and the group's total weight."""
    N = w.sum()
    return (w[:, None] * Y).sum(0) / N, N


def _test(design: Design, items: list[str], Y0: np.ndarray, in_a: np.ndarray, in_b: np.ndarray, variance: str,
          groups: str) -> MultipleResponseTest:
    """The test of indicators ``Y0`` (0 where unanswered) between the units ``in_a`` and ``in_b`` (``groups``: how
    the error names them)."""
    Ya, Yb = Y0[in_a], Y0[in_b]         # each group's indicators, gathered once

    def differences(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        (pa, Na), (pb, Nb) = _shares(w[in_a], Ya), _shares(w[in_b], Yb)
        return pa, pb, pb - pa, Na, Nb

    w = design.weights
    pa, pb, d, Na, Nb = differences(w)
    if variance == "linearisation":
        units = np.flatnonzero(in_a | in_b)     # a unit in neither group has no influence
        if (in_a & in_b).any():
            Yu = Y0[units]
            Z = in_b[units, None] * (Yu - pb) / Nb - in_a[units, None] * (Yu - pa) / Na
        else:                           # groups apart: each unit's one term, as the sum above gives it
            Z = np.empty((len(units), Y0.shape[1]))
            Z[in_a[units]] = -((Ya - pa) / Na)
            Z[in_b[units]] = (Yb - pb) / Nb
        S = sparse_influence_variance(design, units, Z)
    else:
        R = design.replicate_weights()
        th = np.array([differences(R[:, r])[2] for r in range(R.shape[1])])
        S = np.atleast_2d(replicate_variance(d, th, design.replicate_scale, design.replicate_rscales,
                                             design.replicate_mse, design.replicate_blocks))
    return _statistics(items, Ya, Yb, pa, pb, S, domain_degf(design, in_a | in_b), groups)


def _statistics(items: list[str], Ya: np.ndarray, Yb: np.ndarray, pa: np.ndarray, pb: np.ndarray, S: np.ndarray,
                df: int, groups: str) -> MultipleResponseTest:
    """The test of the groups' indicators ``Ya`` and ``Yb``, shares ``pa`` and ``pb``, covariance ``S`` of their
    differences and design degrees of freedom ``df``."""
    n_a, n_b = len(Ya), len(Yb)
    d = pb - pa
    pooled = (Ya.sum(0) + Yb.sum(0)) / (n_a + n_b)
    V0 = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    used = V0 > 0
    x2 = np.where(used, d ** 2 / np.where(used, V0, 1.0), 0.0)
    scale = 1 / np.sqrt(V0[used])
    Delta = S[np.ix_(used, used)] * np.outer(scale, scale)
    tr, tr2 = float(np.trace(Delta)), float(np.trace(Delta @ Delta))
    X2 = float(x2.sum())
    nu = tr ** 2 / tr2 if tr2 > 0 else np.nan
    c = tr2 / tr if tr > 0 else np.nan
    if not used.any():
        raise ParameterError(f"no option of {items} is chosen by some respondents and not others {groups}: "
                             "the profiles are the same, and there is nothing to test")
    F = X2 / tr if tr > 0 else np.nan
    # the options' table is built when it is read (a simulation reads the statistics only)
    options = Deferred(lambda: pd.DataFrame({"option": items, "share_a": pa, "share_b": pb, "difference": d,
                                             "se": np.sqrt(np.clip(np.diag(S), 0, None)), "X2": x2}))
    return MultipleResponseTest(options=options, X2=X2, trace=tr, trace_sq=tr2, df_chisq=float(nu),
                                p_chisq=_chi2_sf(X2 / c, nu), F=float(F), ndf=float(nu),
                                ddf=float(nu * df), p_F=_f_sf(F, nu, nu * df), n_a=n_a, n_b=n_b)


def _chi2_sf(x: float, df: float) -> float:
    """``scipy.stats.chi2.sf(x, df)``: the special function it calls (``chdtrc``), without the distribution's
    argument handling, where the two agree (finite ``df > 0``, ``x ≥ 0``); ``stats`` elsewhere."""
    if 0 < df < np.inf and x >= 0:
        return float(special.chdtrc(df, x))
    return float(stats.chi2.sf(x, df))


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    """``scipy.stats.f.sf(x, dfn, dfd)`` by the special function it calls (``fdtrc``) where the two agree (finite
    positive degrees of freedom, ``x ≥ 0``); ``stats`` elsewhere."""
    if 0 < dfn < np.inf and 0 < dfd < np.inf and x >= 0:
        return float(special.fdtrc(dfn, dfd, x))
    return float(stats.f.sf(x, dfn, dfd))
