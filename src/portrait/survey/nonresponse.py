"""Non-response adjustment: response homogeneity groups and propensity classes.

Respondents' weights are divided by the (weighted) response rate of their group; non-respondents
keep weight 0 and stay in the design for the variance. Groups too small are collapsed with their
nearest neighbour. As every weighting step, the adjustment is recorded on the design so that
replicate weights re-run it.

References
----------
Little, R. J. A. (1986). Survey nonresponse adjustments for estimates of means. *International
Statistical Review* 54, 139–157.
Haziza, D. and Beaumont, J.-F. (2017). Construction of weights in surveys: a review. *Statistical
Science* 32, 206–226.
Lumley, T. (2010). *Complex Surveys*, §7 (weight adjustments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .design import Design, Step
from .labels import _joined_text, kept_text_codes
from .margins import JOINT
from .errors import ParameterError, missing_labels
from .newton import lstsq_rows
# ============================================================================ non-response


@dataclass(frozen=True)
class NonresponseResult:
    """Record the response homogeneity groups (or propensity classes) with their response rates and factors.

    Kept as the ``info`` of the non-response :class:`Step`.

    Attributes
    ----------
    method : str
        The method, in French: ``"groupes de réponse homogène"`` or ``"score de propension (<k> classes)"``.
    groups : pandas.DataFrame
        One row per group: ``groupe``, ``échantillon`` (units), ``répondants``, ``taux de réponse
        pondéré`` (weighted response rate) and ``facteur`` (adjustment factor of its respondents).
    model : object, optional
        With ``propensity``, the full-sample response model (:class:`PropensityModel`: its coefficients,
        design matrix and, on demand, statsmodels' fit of the same model); ``None`` otherwise.
    """

    method: str
    groups: pd.DataFrame
    model: Any = None


def collapse_groups(keys: pd.DataFrame, responded: np.ndarray, min_respondents: int) -> np.ndarray:
    """Label groups, merging those with too few respondents with a neighbour.

    Working from the last classifying variable to the first, a group with fewer than
    ``min_respondents`` respondents joins the largest sufficient group that shares its levels of
    the preceding variables; if there is none, it loses the variable (shown as ``*``) and merges
    with the other small groups of the same prefix. Groups still too small at the end join the
    largest group.

    Parameters
    ----------
    keys : pandas.DataFrame
        The classifying variables, one column per variable, one row per unit (compared as strings).
    responded : array_like of bool
        Whether each unit responded.
    min_respondents : int
        Smallest number of respondents a group may hold.

    Returns
    -------
    numpy.ndarray
        One label per unit: the levels of its (merged) group joined by ``" × "``.

    Raises
    ------
    ParameterError
        If two groups would get the same label (levels that hold ``" × "``, or a level ``"*"``).
    """
    parts = keys.astype(str).to_numpy().astype(object)
    k = parts.shape[1]
    resp = np.asarray(responded, dtype=int)
    # groups are tuples of levels; labels are made once at the end (a level holding « × » once merged two groups)
    for depth in range(k, 0, -1):
        groups = [tuple(r) for r in parts]
        counts = _respondents_by(groups, resp)
        small = {g for g, c in counts.items() if c < min_respondents}
        if not small:
            break
        for g in sorted(small):
            rows = np.array([x == g for x in groups])
            siblings = [x for x in counts if x not in small and x[:depth - 1] == g[:depth - 1]]
            if siblings:
                target = max(siblings, key=lambda x: (counts[x], " × ".join(x)))    # ties: by label, as ever
                parts[rows] = np.array(target, dtype=object)
            else:
                parts[rows, depth - 1] = "*"
    groups = [tuple(r) for r in parts]
    counts = _respondents_by(groups, resp)
    if any(c < min_respondents for c in counts.values()) and len(counts) > 1:
        big = max(counts, key=lambda x: (counts[x], " × ".join(x)))
        groups = [big if counts[g] < min_respondents else g for g in groups]
    labels = {g: " × ".join(g) for g in dict.fromkeys(groups)}
    if len(set(labels.values())) < len(labels):
        raise _colliding(keys.columns)
    return np.array([labels[g] for g in groups])


def _colliding(columns) -> ParameterError:
    named = ", ".join(repr(str(c)) for c in columns)
    return ParameterError(f"the levels of {named} hold « × » (or a level « * »), which group labels use: two groups "
                          "would be read as one; rename those levels")


def _respondents_by(groups: list[tuple], resp: np.ndarray) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for g, r in zip(groups, resp):
        counts[g] = counts.get(g, 0) + int(r)
    return counts


def _responded(column: pd.Series, name: str) -> np.ndarray:
    """The response indicator as booleans: booleans, or the numbers 0 and 1, none missing. An audit found text
    (« 0 », « non ») and codes 1/2 all read as True, and a missing status as a response, without a word."""
    if pd.api.types.is_bool_dtype(column) and not column.isna().any():
        return column.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        v = column.to_numpy(dtype=float, na_value=np.nan)
        known, values = (v == 0) | (v == 1), v
    else:
        values = column.to_numpy(dtype=object)
        known = np.array([isinstance(x, (bool, np.bool_)) or (isinstance(x, (int, float, np.integer, np.floating))
                                                              and x in (0, 1)) for x in values], dtype=bool)
    if not known.all():
        first = int(np.flatnonzero(~known)[0])
        raise ParameterError(f"the response indicator {name!r} must hold True/False or 1/0 on every unit; "
                             f"{int((~known).sum())} value(s) do not (missing, text or other numbers), the first at "
                             f"position {first} (counting from 0)")
    return values.astype(bool)


def adjust_nonresponse(design: Design, responded: str, *, groups: Sequence[str] | None = None,
                       propensity: Sequence[str] | None = None, n_classes: int = 5,
                       min_respondents: int = 20, collapse: bool = True,
                       label: str | None = None) -> Design:
    """Adjust the weights for non-response by response homogeneity groups or by a propensity model.

    With ``groups``, respondents' weights are multiplied within each group by
    ``Σ_sample d / Σ_respondents d`` (the inverse weighted response rate); non-respondents get 0.
    Groups with fewer than ``min_respondents`` respondents are merged with their neighbours
    (:func:`collapse_groups`) when ``collapse`` is true, and refused otherwise.
    With ``propensity``, a logistic model of response on the frame variables (design-weighted maximum
    likelihood, the fit of statsmodels' binomial GLM with these weights) gives scores; units are grouped
    in ``n_classes`` classes by score, cut where classes of equal size would be but never between equal scores
    (:func:`_class_codes`), and the class adjustment above is applied (more stable than 1/p̂).

    In a replicate, the whole step is re-run on the replicate's weights: with ``propensity``, the
    logistic model is refitted (iteratively reweighted least squares started from the full-sample
    fit) and the classes are cut again at the new scores' values that make classes of equal size among the
    replicate's units (equal scores never split), with the same merging of small classes. Response
    homogeneity groups are fixed by their variables. A group can lose all its respondents in a replicate
    (their PSUs are out of it) while keeping non-respondents: its sample weight total then goes to the
    nearest group with respondents (:func:`_merge_empty_groups`), so that every replicate keeps the
    sample's weight total.

    Parameters
    ----------
    design : Design
        The design, respondents and non-respondents, with its current weights ``d``.
    responded : str
        Column telling whether each unit responded (read as booleans).
    groups : sequence of str, optional
        Variables defining response homogeneity groups (no missing value). Give exactly one of
        ``groups`` and ``propensity``.
    propensity : sequence of str, optional
        Variables of the response model (read as categories).
    n_classes : int, default 5
        Number of propensity classes.
    min_respondents : int, default 20
        Smallest number of respondents a group or class may hold.
    collapse : bool, default True
        Merge groups that are too small (otherwise they raise).
    label : str, optional
        Label of the step in the design's history.

    Returns
    -------
    Design
        A new design with adjusted weights (0 for non-respondents, who stay in it) and one more
        :class:`Step` (kind ``"nonresponse"``, ``info`` a :class:`NonresponseResult`).

    Raises
    ------
    ParameterError
        If not exactly one of ``groups`` and ``propensity`` is given, a group variable has missing
        values, or a group has fewer than ``min_respondents`` respondents.

    References
    ----------
    Little, R. J. A. (1986). Survey nonresponse adjustments for estimates of means. *International
    Statistical Review* 54, 139–157.
    Haziza, D. and Beaumont, J.-F. (2017). Construction of weights in surveys: a review. *Statistical
    Science* 32, 206–226.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting
    Survey Samples*, 2nd ed. Springer.
    """
    if (groups is None) == (propensity is None):
        raise ParameterError("give exactly one of groups= or propensity=")
    resp = _responded(design.column(responded), responded)
    model = None
    if groups is not None:
        key = _group_keys(design.data, groups, resp, collapse, min_respondents)
        method = "groupes de réponse homogène"
        labels, code = np.unique(key, return_inverse=True)
    else:       # every class holds a unit and the labels sort as the codes: what np.unique would give, without sorting
        (code, labels), model, k = _propensity_classes(design, propensity, resp, n_classes, min_respondents)
        method = f"score de propension ({k} classes)"
    full_code, full_labels = code, labels

    def replicate(d: np.ndarray, code: np.ndarray, labels: np.ndarray) -> np.ndarray:
        tot = np.bincount(code, weights=d, minlength=len(labels))
        rsp = np.bincount(code, weights=d * resp, minlength=len(labels))
        tot = _merge_empty_groups(tot, rsp)
        factor = np.divide(tot, rsp, out=np.zeros_like(tot), where=rsp > 0)
        return np.where(resp, d * factor[code], 0.0)

    def solve(des: Design) -> tuple[np.ndarray, NonresponseResult | None]:
        d = des.weights
        code, labels = full_code, full_labels
        if des is not design:            # a replicate: its weights only
            if model is not None:
                code, labels = _replicate_classes(model, d, resp, n_classes, min_respondents)
            return replicate(d, code, labels), None
        tot = np.bincount(code, weights=d, minlength=len(labels))
        rsp = np.bincount(code, weights=d * resp, minlength=len(labels))
        nresp = np.bincount(code, weights=resp.astype(float), minlength=len(labels))
        if np.any(nresp < min_respondents):
            i = int(np.argmin(nresp))
            raise ParameterError(f"non-response group {str(labels[i])!r} has {int(nresp[i])} respondents, fewer "
                                 f"than {min_respondents}; merge groups")
        factor = np.divide(tot, rsp, out=np.zeros_like(tot), where=rsp > 0)
        w = np.where(resp, d * factor[code], 0.0)
        table = pd.DataFrame({"groupe": labels, "échantillon": np.bincount(code, minlength=len(labels)),
                              "répondants": nresp.astype(int),
                              "taux de réponse pondéré": np.divide(rsp, tot, out=np.zeros_like(tot), where=tot > 0),
                              "facteur": factor})
        return w, NonresponseResult(method=method, groups=table, model=model)

    def solve_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The step re-run on every replicate (a row of ``rows`` each), the response model refitted on all at once:
        what ``solve`` gives each row."""
        betas = _logistic_newton_rows(model.patterns, model.pattern_of, rows, resp, model.coef)
        counts = _pattern_counts(model.pattern_of, len(model.patterns), rows > 0, resp)
        out = np.empty_like(rows)
        for r, (d, beta) in enumerate(zip(rows, betas)):      # _pattern_classes, counted on the patterns
            values, key = np.unique(_logistic(model.patterns, beta), return_inverse=True)
            key = key.ravel()
            cls = _value_classes(values, *(np.bincount(key, weights=c, minlength=len(values))
                                           for c in (counts[0][r], counts[1][r], counts[2])),
                                 int(counts[0][r].sum()), n_classes, min_respondents)
            out[r] = replicate(d, cls[key][model.pattern_of], _class_labels(int(cls.max()) + 1))
        return out, np.zeros(0, dtype=int)

    w, res = solve(design)
    step = Step(kind="nonresponse", label=label or f"non-réponse ({method})", apply=solve, info=res,
                apply_rows=solve_rows if model is not None else None)
    return design.with_weights(w, step)


def _merge_empty_groups(tot: np.ndarray, rsp: np.ndarray) -> np.ndarray:
    """Sample weight totals where a group without respondents (in a replicate) hands its total to the nearest
    group with respondents in label order (the next one on a tie): propensity classes are ordered by score,
    and groups sharing their first classifying variables sort side by side. The replicate then keeps the
    sample's weight total instead of losing the group's share."""
    empty = np.flatnonzero((rsp <= 0) & (tot > 0))
    if not len(empty):
        return tot
    have = np.flatnonzero(rsp > 0)
    if not len(have):
        raise ParameterError("a replicate has no respondent at all: the replicate weights cannot be computed")
    tot = tot.copy()
    for g in empty:
        n = have[np.argmin(2 * np.abs(have - g) - (have > g))]
        tot[n] += tot[g]
        tot[g] = 0.0
    return tot


def _group_keys(data: pd.DataFrame, groups: Sequence[str], resp: np.ndarray, collapse: bool,
                min_respondents: int) -> np.ndarray:
    """Each unit's response homogeneity group (groups too small merged when ``collapse``)."""
    for g in groups:
        if data[g].isna().any():
            raise missing_labels(data[g], "non-response group", g)
    if collapse:
        return collapse_groups(data[list(groups)], resp, min_respondents)
    labels = _joined_text(data, groups, JOINT, "", dtype=str).to_numpy(dtype=object)
    cells = data[list(groups)].astype(str).drop_duplicates()
    if len(cells) > len(set(labels)):        # a level holding « × » (a review: collapse=False merged them too)
        raise _colliding(groups)
    return labels


def _logistic(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The logistic model's response probability on each row of ``X`` at coefficients ``beta``: the one formula of
    the fit, its scores and its replicates' classes (the classes are cut on these exact values)."""
    return 1.0 / (1.0 + np.exp(-(X @ beta)))


@dataclass(frozen=True)
class PropensityModel:
    """The full-sample response model: its design matrix's distinct rows (``patterns``, each unit's row
    number in ``pattern_of``), its coefficients, the columns' names and the unit weights and responses it
    was fitted on. ``X`` (the unit rows), ``scores`` (each unit's estimated propensity) and ``fit`` (the same
    model fitted by statsmodels, with its standard errors and summary) are built when asked for."""

    patterns: np.ndarray                     # the distinct rows of X ...
    pattern_of: np.ndarray                   # ... and each unit's
    coef: np.ndarray
    names: tuple[str, ...]
    weights: np.ndarray
    responded: np.ndarray

    @property
    def X(self) -> np.ndarray:
        return self.patterns[self.pattern_of]

    @property
    def scores(self) -> np.ndarray:
        """Each unit's estimated response propensity at the full-sample fit, the score its class is cut on: one
        value per pattern of the covariates, so a model on few categorical variables gives few distinct scores."""
        return _logistic(self.patterns, self.coef)[self.pattern_of]

    @cached_property
    def fit(self) -> Any:
        import statsmodels.api as sm

        X = pd.DataFrame(self.X, columns=list(self.names))
        return sm.GLM(self.responded.astype(float), X, family=sm.families.Binomial(),
                      var_weights=self.weights / self.weights.mean()).fit()


def _design_patterns(data: pd.DataFrame, propensity: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The distinct rows of the model's design matrix (a constant, then each variable's indicators but
    its first level's, levels read as text in sorted order, as ``pandas.get_dummies(drop_first=True)``
    builds them), sorted as ``np.unique(axis=0)`` sorts them; each unit's row number; the columns' names.

    A unit's row is a function of its values: the distinct rows are built from the distinct combinations
    of values instead of from an n-row matrix."""
    codes, levels = [], []
    key, span = np.zeros(len(data), dtype=np.int64), 1      # each unit's combination so far, in mixed radix
    for c in propensity:
        col, uniq = _sorted_codes(data[c])       # a missing value: -1, no indicator
        codes.append(col)
        levels.append(uniq)
        if span * (len(uniq) + 1) >= 2 ** 62:       # renumbered below the number of units before it could overflow
            key = pd.factorize(key)[0].astype(np.int64)
            span = int(key.max()) + 1 if len(key) else 1
        key, span = key * (len(uniq) + 1) + col + 1, span * (len(uniq) + 1)
    if len(propensity):     # numbered by first appearance, as factorizing after each variable numbered them
        key = pd.factorize(key)[0].astype(np.int64)
    # the key numbers combinations in order of first appearance (0, 1, …): np.unique(key) would give each unit its key
    # and each combination the unit where the key first exceeds all before it, which is found without sorting
    unit_of = key
    first = np.flatnonzero(np.concatenate([[True], key[1:] > np.maximum.accumulate(key)[:-1]])) if len(key) else key
    blocks = [np.ones((len(first), 1))]
    names = ["const"]
    for c, col, uniq in zip(propensity, codes, levels):
        blocks.append((col[first][:, None] == np.arange(1, len(uniq))).astype(float))
        names += [f"{c}_{u}" for u in uniq[1:]]
    patterns, of_first = np.unique(np.hstack(blocks), axis=0, return_inverse=True)
    return patterns, of_first.ravel()[unit_of.ravel()], names


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, Sequence[str]]:
    """``pd.factorize(values.astype(str), sort=True)``: each value's rank among the distinct texts (-1 for a missing
    value) and those texts in order. A pyarrow text column without missing values is coded as a design's strata are
    (encoded in pyarrow, its few distinct texts sorted by code point, as pandas sorts them), instead of hashing a
    converted copy, and its codes kept (:func:`~portrait.survey.labels.kept_text_codes`)."""
    kept = kept_text_codes(values)      # kept for the level merging and calibration of the same columns
    if kept is None:
        return pd.factorize(values.astype(str), sort=True)
    texts, rank = kept
    return rank, list(texts)


def _logistic_newton(X: np.ndarray, of: np.ndarray, w: np.ndarray, resp: np.ndarray,
                     beta: np.ndarray) -> np.ndarray:
    """Maximum-likelihood coefficients of the weighted logistic model, by Newton's method (IRLS) from ``beta``.

    The likelihood depends on a unit through its row of the design matrix only: the iterations run on the
    distinct rows ``X``, with the weights (scaled to mean 1 over the units of positive weight, as the
    full-sample fit scales them) and weighted responses summed over each row's units (exact)."""
    ww = w / w[w > 0].mean()
    W = np.bincount(of, weights=ww, minlength=len(X))
    Wy = np.bincount(of, weights=ww * resp, minlength=len(X))
    for _ in range(50):
        mu = _logistic(X, beta)
        H = (X.T * (W * mu * (1 - mu))) @ X
        step = np.linalg.lstsq(H, X.T @ (Wy - W * mu), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(beta))):
            break
    return beta


def _logistic_newton_rows(X: np.ndarray, of: np.ndarray, w_rows: np.ndarray, resp: np.ndarray,
                          beta: np.ndarray) -> np.ndarray:
    """:func:`_logistic_newton` on each row of ``w_rows`` (a replicate's unit weights each), all from ``beta``: each
    row's coefficients, the very numbers :func:`_logistic_newton` gives it, the products of all rows made by stacked
    matmuls (the same BLAS call per row, on operands laid out as its own), one least-squares step per row (the same
    LAPACK call, :func:`~portrait.survey.newton.lstsq_rows`)."""
    W, Wy = np.empty((len(w_rows), len(X))), np.empty((len(w_rows), len(X)))
    for r, w in enumerate(w_rows):
        ww = w / w[w > 0].mean()
        W[r] = np.bincount(of, weights=ww, minlength=len(X))
        Wy[r] = np.bincount(of, weights=ww * resp, minlength=len(X))
    betas = np.repeat(beta[None, :], len(w_rows), axis=0)
    todo = np.arange(len(w_rows))       # the rows not converged
    for _ in range(50):
        b = betas[todo]
        mu = 1.0 / (1.0 + np.exp(-(np.matmul(X, b[:, :, None])[:, :, 0])))
        H = np.matmul((X[None] * (W[todo] * mu * (1 - mu))[:, :, None]).transpose(0, 2, 1), X)
        grad = np.matmul(X.T, (Wy[todo] - W[todo] * mu)[:, :, None])[:, :, 0]
        step = lstsq_rows(H, grad)
        betas[todo] = b = b + step
        todo = todo[~(np.max(np.abs(step), axis=1) < 1e-10 * (1 + np.max(np.abs(b), axis=1)))]
        if not len(todo):
            break
    return betas


def _propensity_classes(design: Design, propensity: Sequence[str], resp: np.ndarray, n_classes: int,
                        min_respondents: int):
    """Each unit's class of estimated response propensity (logistic GLM, design-weighted) and the classes' labels
    (:func:`_class_codes`), the model, the number of classes."""
    patterns, pattern_of, names = _design_patterns(design.data, propensity)
    w = design.weights
    coef = _logistic_newton(patterns, pattern_of, w, resp, np.zeros(patterns.shape[1]))
    model = PropensityModel(patterns=patterns, pattern_of=pattern_of, coef=coef, names=tuple(names),
                            weights=w, responded=resp)
    cls, labels = _pattern_classes(model, coef, w, resp, n_classes, min_respondents)
    return (cls, labels), model, len(labels)


def _replicate_classes(model: PropensityModel, w: np.ndarray, resp: np.ndarray, n_classes: int,
                       min_respondents: int) -> tuple[np.ndarray, np.ndarray]:
    """The classes of a replicate: the response model refitted on its weights (from the full-sample fit),
    the classes cut again (each unit's class code and the classes' labels)."""
    beta = _logistic_newton(model.patterns, model.pattern_of, w, resp, model.coef.copy())
    return _pattern_classes(model, beta, w, resp, n_classes, min_respondents)


def _pattern_counts(pattern_of: np.ndarray, n_patterns: int, active: np.ndarray, resp: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's count of active units and of active respondents in each pattern (``active``: rows × units), and
    each pattern's count of units (every pattern holds one)."""
    order = np.argsort(pattern_of, kind="stable")
    starts = np.flatnonzero(np.diff(pattern_of[order], prepend=-1))
    return (np.add.reduceat(active[:, order], starts, axis=1, dtype=np.int64),
            np.add.reduceat((active & resp)[:, order], starts, axis=1, dtype=np.int64),
            np.bincount(pattern_of, minlength=n_patterns))


def _pattern_classes(model: PropensityModel, beta: np.ndarray, w: np.ndarray, resp: np.ndarray, n_classes: int,
                     min_respondents: int) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's class code and the classes' labels, for the scores of coefficients ``beta``."""
    values, key = np.unique(_logistic(model.patterns, beta), return_inverse=True)
    unit_key = key.ravel()[model.pattern_of]
    return _class_codes(None, w > 0, resp, n_classes, min_respondents, levels=(values, unit_key))


def _class_codes(score: np.ndarray | None, active: np.ndarray, resp: np.ndarray, n_classes: int, min_respondents: int,
                 levels: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Classes by score, cut where classes of equal size among the ``active`` units would be cut, units with equal
    scores always in the same class (the others join by score); a class with too few active respondents is merged
    into its neighbour with fewer respondents. Returns each unit's class code (0, 1, …, in score order) and the
    classes' labels, whose sorted order is the codes'.

    The cut-points are scores: the ``c``-th is the score of the active unit at rank ``⌈c n / n_classes⌉`` (0-based)
    among the ``n`` active units sorted by score, and a unit's class is the number of cut-points at or below its
    score (R ``cut(score, c(-Inf, cuts, Inf), right = FALSE)``). Scores take few distinct values (one per pattern
    of the model's covariates): a group of equal scores across a cut goes whole to the upper class, so classes are
    unequal, and fewer when two cut-points fall on one score. Cutting by rank instead split such groups in file
    order, giving identical units different factors (in one survey tried, 421 of 1,397 respondents).

    ``levels``: the scores' distinct values, increasing, and each unit's number among them (what
    ``np.unique(score, return_inverse=True)`` gives), when the caller knows them (``score`` is then not read).
    """
    values, key = levels if levels is not None else np.unique(score, return_inverse=True)
    key = key.ravel()
    # every unit of a score value falls in the same class: the classes are cut and merged on the values, with
    # their counts of active units, active respondents and units (integers, so the sums are exact in any order)
    cls = _value_classes(values, np.bincount(key[active], minlength=len(values)),
                         np.bincount(key[resp & active], minlength=len(values)),
                         np.bincount(key, minlength=len(values)), int(active.sum()), n_classes, min_respondents)
    return cls[key].ravel(), _class_labels(int(cls.max()) + 1)


def _class_labels(k: int) -> np.ndarray:
    width = len(str(k))
    return np.array([f"classe {c + 1:0{width}d}" for c in range(k)])


def _value_classes(values: np.ndarray, active_of: np.ndarray, respondents_of: np.ndarray, units_of: np.ndarray,
                   n: int, n_classes: int, min_respondents: int) -> np.ndarray:
    """The class (0, 1, …) of each distinct score of :func:`_class_codes`, from each score's counts of active units,
    active respondents and units (``n`` active units in all)."""
    ends = np.cumsum(active_of)    # the sorted active scores, by value
    at = [min((c * n + n_classes - 1) // n_classes, n - 1) for c in range(1, n_classes)]
    cut = values[np.searchsorted(ends, at, side="right")]
    cls = np.searchsorted(cut, values, side="right").astype(np.int64)
    respondents_of, active_of = np.asarray(respondents_of, dtype=float), np.asarray(active_of, dtype=float)
    # merge a class with too few respondents into its neighbour with fewer respondents
    while True:
        counts = np.bincount(cls, weights=respondents_of)
        present = np.flatnonzero(np.bincount(cls, weights=active_of) > 0)
        small = [c for c in present if counts[c] < min_respondents]
        if not small or len(present) == 1:
            break
        c = min(small, key=lambda x: counts[x])
        i = int(np.flatnonzero(present == c)[0])
        neighbours = [present[j] for j in (i - 1, i + 1) if 0 <= j < len(present)]
        target = min(neighbours, key=lambda x: counts[x])
        cls[cls == c] = target
    # the classes left, numbered 0, 1, … in order
    present = np.flatnonzero(np.bincount(cls, weights=np.asarray(units_of, dtype=float)) > 0)
    renumber = np.zeros(present[-1] + 1, dtype=np.int64)
    renumber[present] = np.arange(len(present))
    return renumber[cls]
