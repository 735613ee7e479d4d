"""Linear and nonlinear combinations of estimates with their covariance, like R ``svycontrast``.

An estimator called with ``covariance=True`` (:func:`~portrait.survey.mean`, :func:`~portrait.survey.total`,
:func:`~portrait.survey.proportion`, :func:`~portrait.survey.ratio`) keeps the covariance matrix of its estimates
in the table's ``attrs["covariance"]`` (keyed by each row's statistic, variable, domain and level, so that rows may
be filtered or reordered before :func:`contrast`; :func:`vcov` gives it as a named matrix). Domains keep their
covariance, as R ``svyby(…, covmat = TRUE)``: a domain's influence values are zero outside it, in the same design.
A nonlinear contrast (``"api00 / api99"``, ``"log(E) - log(H)"``) gets its variance by the delta method, with the
exact derivatives of the expression (forward differentiation of the parsed expression, as R's symbolic ``deriv``).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svycontrast``)
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ParameterError
from .expressions import FUNCTIONS, NAME, Node, parse

KEY = ["statistic", "variable", "domain", "level"]


def covariance_attrs(keys: Sequence[Sequence[str]], matrix: np.ndarray, df: float, variance: str) -> dict[str, Any]:
    """The entry an estimator keeps in its table's ``attrs["covariance"]``: plain lists, numbers and text, so that the
    table can still be written to Parquet (which keeps it) and compared or joined by pandas.

    Parameters
    ----------
    keys : sequence of sequence of str
        Each row's ``statistic``, ``variable``, ``domain`` and ``level``, in the matrix's order.
    matrix : numpy.ndarray
        The covariance matrix of the rows' estimates.
    df : float
        Degrees of freedom of the estimates' intervals.
    variance : str
        The variance method (``linearisation`` or the replicates' method).

    Returns
    -------
    dict
        ``keys``, ``matrix`` (a list of rows), ``df`` and ``variance``.
    """
    return {"keys": [list(map(str, k)) for k in keys], "matrix": np.asarray(matrix, dtype=float).tolist(),
            "df": float(df), "variance": str(variance)}


def row_names(estimates: pd.DataFrame) -> list[str]:
    """Each row's full name: ``variable``, ``variable=level`` for a share or a category's count, then ``| domain``."""
    out = []
    for var, dom, lv in zip(estimates["variable"], estimates["domain"], estimates["level"]):
        name = f"{var}={lv}" if lv != "" else str(var)
        out.append(f"{name} | {dom}" if dom != "" else name)
    return out


def _aliases(estimates: pd.DataFrame) -> dict[str, set[int]]:
    """Every name a row answers to: its full name, its variable, its domain (``stype=E``) and the domain's value
    (``E``), its level and ``variable=level``; a name may belong to several rows (then it cannot be used)."""
    found: dict[str, set[int]] = {}
    for i, (full, var, dom, lv) in enumerate(zip(row_names(estimates), estimates["variable"],
                                                 estimates["domain"], estimates["level"])):
        names = {full, str(var)}
        if dom != "":
            names |= {str(dom), str(dom).split("=", 1)[1]}
        if lv != "":
            names |= {str(lv), f"{var}={lv}"}
        for name in names:
            found.setdefault(name, set()).add(i)
    return found


def _coefficients(estimates: pd.DataFrame, spec: Any, name: str) -> np.ndarray:
    """One contrast's coefficients, one per row of ``estimates`` (a sequence in row order, or names → numbers)."""
    q = len(estimates)
    if isinstance(spec, Mapping):
        aliases = _aliases(estimates)
        c = np.zeros(q)
        for key, value in spec.items():
            rows = aliases.get(str(key), set())
            if len(rows) != 1:
                what = "no row" if not rows else f"{len(rows)} rows"
                raise ParameterError(f"contrast {name!r}: {key!r} names {what} of the estimates; name each row once, "
                                     f"e.g. by its full name: {row_names(estimates)}")
            c[next(iter(rows))] += _number(value, name, key)
        return c
    values = [_number(v, name, i) for i, v in enumerate(spec)]
    if len(values) != q:
        raise ParameterError(f"contrast {name!r}: {len(values)} coefficients for {q} estimates "
                             f"({row_names(estimates)})")
    return np.asarray(values, dtype=float)


#: each function's derivative at ``v``
_DERIVATIVES = {"log": lambda v: 1 / v, "log10": lambda v: 1 / (v * np.log(10)), "log2": lambda v: 1 / (v * np.log(2)),
                "exp": np.exp, "sqrt": lambda v: 0.5 / np.sqrt(v), "abs": np.sign}


def _nonlinear(estimates: pd.DataFrame, expression: str, name: str) -> tuple[float, np.ndarray]:
    """The value of ``expression`` at the estimates and its gradient (one per row), the rows named as in a
    mapping of coefficients (names that are identifiers: ``api00``, ``E``, ``stypeH``)."""
    try:
        node = parse(expression)
    except ParameterError as exc:
        raise ParameterError(f"contrast {name!r}: {exc}") from None
    theta = estimates["estimate"].to_numpy(dtype=float)
    aliases, zero = _aliases(estimates), np.zeros(len(theta))

    def value(n: Node) -> tuple[float, np.ndarray]:
        kind, op, args = n
        if kind == "num":           # numpy scalars: a division by 0 or a log of 0 gives ±∞ or NaN, not a traceback
            return np.float64(op), zero
        if kind == "name":
            rows = aliases.get(op, set())
            if len(rows) != 1:
                raise ParameterError(f"contrast {name!r}: {op!r} names {f'{len(rows)} rows' if rows else 'no row'} of "
                                     f"the estimates; the names an expression can use: {sorted(_names(aliases))}")
            i = next(iter(rows))
            return np.float64(theta[i]), np.eye(len(theta))[i]
        if kind == "paren" or (kind == "call" and op == "I"):
            return value(args[0])
        if kind == "unary":
            v, g = value(args[0])
            return (-v, -g) if op == "-" else (v, g)
        if kind == "call" and op in _DERIVATIVES:
            v, g = value(args[0])
            with np.errstate(all="ignore"):
                return FUNCTIONS[op](v), _DERIVATIVES[op](v) * g
        if kind == "binary" and op in "+-*/^":
            (a, ga), (b, gb) = value(args[0]), value(args[1])
            with np.errstate(all="ignore"):
                if op in "+-":
                    return (a + b, ga + gb) if op == "+" else (a - b, ga - gb)
                if op == "*":
                    return a * b, b * ga + a * gb
                if op == "/":
                    return a / b, ga / b - a * gb / b ** 2
                return a ** b, b * a ** (b - 1) * ga + (a ** b * np.log(a) * gb if gb.any() else 0.0)
        raise ParameterError(f"contrast {name!r}: {expression!r} holds what a contrast does not compute (numbers, the "
                             f"estimates' names, + - * / ^ and the functions {', '.join(_DERIVATIVES)})")

    return value(node)


def _expression(spec: Any) -> bool:
    """Whether a contrast is an expression: text that is not a number (« 1 », « -0.5 » read from a file are
    coefficients, refused as text as before, not constant contrasts: a review)."""
    if not isinstance(spec, str):
        return False
    try:
        float(spec)
    except ValueError:
        return True
    return False


def _names(aliases: dict[str, set[int]]) -> list[str]:
    return [k for k, rows in aliases.items() if len(rows) == 1 and NAME.fullmatch(k)]


def _number(value: Any, name: str, where: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ParameterError(f"contrast {name!r}: coefficient {where!r} must be a finite number, not {value!r}")
    return float(value)


def _stored(estimates: pd.DataFrame) -> dict[str, Any]:
    cov = estimates.attrs.get("covariance")
    if not isinstance(cov, Mapping) or not {"keys", "matrix", "df", "variance"} <= set(cov):
        raise ParameterError("the estimates carry no covariance: estimate them with covariance=True "
                             "(mean, total, proportion, ratio; tables joined from several calls lose it)")
    return cov


def _covariance_of(estimates: pd.DataFrame) -> np.ndarray:
    """The covariance of the table's rows, in their order, from what the estimator stored."""
    cov = _stored(estimates)
    where = {tuple(k): i for i, k in enumerate(cov["keys"])}
    pos = [where.get(tuple(map(str, k))) for k in estimates[KEY].itertuples(index=False)]
    if any(p is None for p in pos):
        raise ParameterError("some rows of the estimates are not those the covariance was computed for")
    return np.asarray(cov["matrix"], dtype=float).reshape(len(cov["keys"]), len(cov["keys"]))[np.ix_(pos, pos)]


def vcov(estimates: pd.DataFrame) -> pd.DataFrame:
    """The covariance matrix of a table's estimates, its rows' names on both axes, as R ``vcov``.

    Parameters
    ----------
    estimates : pandas.DataFrame
        A table from an estimator called with ``covariance=True`` (rows may be filtered or reordered).

    Returns
    -------
    pandas.DataFrame
        The ``q × q`` matrix, rows and columns named as :func:`row_names` names the table's rows.

    Raises
    ------
    ParameterError
        If the table carries no covariance, or holds rows it was not computed for.
    """
    names = row_names(estimates)
    return pd.DataFrame(_covariance_of(estimates), index=names, columns=names)


def _coefficient_table(fit: Any) -> pd.DataFrame:
    """A model's coefficients as an estimator's table, with their covariance."""
    names = [str(n) for n in fit.names]
    table = pd.DataFrame({"statistic": "coefficient", "variable": names, "domain": "", "level": "",
                          "estimate": np.asarray(fit.coef, dtype=float)})
    table.attrs["covariance"] = covariance_attrs([("coefficient", n, "", "") for n in names], fit.vcov,
                                                 float(fit.df), str(fit.variance))
    return table


def contrast(estimates: pd.DataFrame | Any, coefficients: Sequence[float] | Mapping[str, Any] | str,
             level: float = 0.95) -> pd.DataFrame:
    """Combine estimates linearly (``Σ c_i θ_i``) or by a function, with standard errors, like R ``svycontrast``.

    The variance is ``c' V c`` with ``V`` the estimates' covariance (linearised or from the replicates, as they
    were estimated); for a function ``f(θ)`` (an expression), ``∇f' V ∇f`` at the estimates (the delta method,
    with the exact derivatives, as R's ``svycontrast(…, quote(…))``). The interval is Student's t on the
    estimates' degrees of freedom.

    Parameters
    ----------
    estimates : pandas.DataFrame or Fit
        A table from :func:`~portrait.survey.mean`, :func:`~portrait.survey.total`,
        :func:`~portrait.survey.proportion` or :func:`~portrait.survey.ratio` called with ``covariance=True``
        (its rows may be filtered or reordered), or a model's :class:`~portrait.survey.Fit` (its coefficients,
        named as R names them: ``stypeH``; the interval on the model's residual df).
    coefficients : sequence of float or mapping
        One contrast: a coefficient per row (in row order), or a mapping from row names to coefficients (rows
        not named get 0). A row is named by its full name (``api00 | stype=E``, ``sch.wide=Yes | stype=E``) or,
        when it names that row alone, its variable, domain (``stype=E``), domain value (``E``) or level.
        Or an expression of the rows, as R's ``quote(api00 / api99)``: ``"api00 / api99"``, ``"log(E) - log(H)"``,
        ``"exp(stypeH)"`` (rows named by a name above that is an identifier; numbers, ``+ - * / ^`` and the functions
        ``log``, ``log10``, ``log2``, ``exp``, ``sqrt``, ``abs``).
        Several contrasts: a mapping from contrast names to such sequences, mappings or expressions.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per contrast: ``contrast`` (its name; ``"contrast"`` for a single unnamed one), ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``df`` and ``variance`` (method).

    Raises
    ------
    ParameterError
        If the estimates carry no covariance, a name matches no row or several, the number of coefficients is
        not the number of rows, a coefficient is not a finite number, or an expression holds anything but numbers,
        row names, arithmetic and those functions.

    See Also
    --------
    mean, total, proportion, ratio

    Examples
    --------
    >>> by = mean(d, "api00", by="stype", covariance=True)  # doctest: +SKIP
    >>> contrast(by, {"E - H": {"E": 1, "H": -1}, "average": [1 / 3] * 3})  # doctest: +SKIP
    >>> contrast(svyglm(d, "agree", ["stype", "ell"], family="binomial"), {"stypeH": 1, "stypeM": -1})  # doctest: +SKIP
    >>> contrast(mean(d, ["api00", "api99"], covariance=True), {"ratio": "api00 / api99"})  # doctest: +SKIP
    """
    if not 0 < level < 1:
        raise ParameterError(f"level must be in (0, 1), got {level!r}")
    if not isinstance(estimates, pd.DataFrame) and all(hasattr(estimates, a) for a in ("names", "coef", "vcov")):
        estimates = _coefficient_table(estimates)
    V = _covariance_of(estimates)
    cov = _stored(estimates)
    several = isinstance(coefficients, Mapping) and coefficients and all(
        _expression(v) or (isinstance(v, (Mapping, Sequence)) and not isinstance(v, str)) for v in coefficients.values())
    specs = dict(coefficients) if several else {"contrast": coefficients}
    theta = estimates["estimate"].to_numpy(dtype=float)
    est, C = np.zeros(len(specs)), np.zeros((len(specs), len(theta)))
    for k, (name, spec) in enumerate(specs.items()):
        if _expression(spec):
            est[k], C[k] = _nonlinear(estimates, spec, str(name))
        else:
            C[k] = _coefficients(estimates, spec, str(name))
    linear = np.array([not _expression(spec) for spec in specs.values()])
    est[linear] = C[linear] @ theta
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", C, V, C), 0.0))
    t = stats.t.ppf(0.5 + level / 2, cov["df"]) if np.isfinite(cov["df"]) else stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame({"contrast": [str(k) for k in specs], "estimate": est, "se": se,
                         "ci_low": est - t * se, "ci_high": est + t * se, "df": float(cov["df"]),
                         "variance": cov["variance"]})
