"""Model terms: a model written as R writes it (``"y ~ a + b*c"``), its terms in R's order, and the
treatment-coded model matrix with R's column names (R ``model.matrix``), for :func:`~portrait.survey.svyglm`,
:func:`~portrait.survey.svyolr`, :func:`~portrait.survey.predict` and :func:`~portrait.survey.working_lrt`.
"""

from typing import Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError
from .expressions import is_expression, r_name, split_outside


def model_matrix(data: pd.DataFrame, terms: str | Sequence[str], intercept: bool = True,
                 rows: np.ndarray | None = None) -> pd.DataFrame:
    """Build a treatment-coded model matrix (reference = first level), column names as R writes them.

    Numeric (non-boolean, non-categorical) terms enter as they are; other terms get one indicator per
    level but the first (a categorical column's categories, otherwise the sorted distinct values),
    named ``<term><level>`` as R's ``model.matrix``. A two-way interaction ``"a:b"`` is the products of
    ``a``'s and ``b``'s columns (``a``'s varying fastest, named ``<a column>:<b column>``); ``"a*b"`` is
    ``a``, ``b`` and ``a:b``. As in R's formulas, main effects come first, then interactions; an
    interaction needs its two main effects in the model (R codes it otherwise). The matrix's
    ``attrs["terms"]`` maps each term to its columns (for :meth:`Fit.wald`), ``attrs["levels"]`` each categorical
    term to its levels (for ``predict``). Missing values give zero indicators or NaN. With
    ``rows`` (a boolean mask: the units the model uses), a level no used unit holds is dropped first, as
    R's model frame drops unused levels: an unused first category does not stay the reference of a matrix
    whose indicators then sum to the intercept.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    terms : str or sequence of str
        Column name(s), in order, and two-way interactions (``"a:b"``, or ``"a*b"`` for both main
        effects and their interaction).
    intercept : bool, default True
        Put an ``(Intercept)`` column of ones first.
    rows : numpy.ndarray of bool, optional
        The units the model uses; levels held by none of them are dropped.

    Returns
    -------
    pandas.DataFrame
        The model matrix, with the index of ``data``.

    Raises
    ------
    ParameterError
        If an interaction is not two-way or lacks one of its main effects.
    """
    mains, pairs = expand_terms(terms)
    cols = {}
    if intercept:
        cols["(Intercept)"] = np.ones(len(data))
    of_term: dict[str, list[str]] = {}
    of_level: dict[str, list] = {}
    for t in mains:
        before = set(cols)
        s = data[t]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype) \
                and not pd.api.types.is_bool_dtype(s):
            cols[t] = s.to_numpy(dtype=float)
        else:
            levels = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.dropna().unique())
            if rows is not None:
                held = set(s[np.asarray(rows, dtype=bool)].dropna().unique())
                levels = [lv for lv in levels if lv in held]
            of_level[t] = levels
            for lv in levels[1:]:               # R writes a logical's levels FALSE, TRUE
                name = {True: "TRUE", False: "FALSE"}.get(lv, lv) if isinstance(lv, (bool, np.bool_)) else lv
                cols[f"{t}{name}"] = (s == lv).to_numpy(dtype=float)
        of_term[t] = [c for c in cols if c not in before]
    for a, b in pairs:
        of_term[f"{a}:{b}"] = []
        for cb in of_term[b]:
            for ca in of_term[a]:
                cols[f"{ca}:{cb}"] = cols[ca] * cols[cb]
                of_term[f"{a}:{b}"].append(f"{ca}:{cb}")
    out = pd.DataFrame(cols, index=data.index)
    out.attrs.update(terms=of_term, levels=of_level)
    return out


def _odd(term: str) -> bool:
    """A formula term that is neither columns (``a``, ``a:b``, ``a*b``) nor expressions (:mod:`.expressions`)."""
    parts = [p.strip() for p in split_outside(term, ":*")]
    return (not term.strip() or term.strip() in ("0", "1", "-1", ".")
            or any(not p or (not is_expression(p) and ("-" in p or any(c in p for c in "()^"))) for p in parts))


def formula(y: str, terms: str | Sequence[str] | None) -> tuple[str, list[str]]:
    """The response and terms of a model given as R writes it, ``"y ~ a + b + a:c"`` (``terms`` then ``None``), or
    as a response and terms. Column names may hold dots (``avg.ed``); expression terms (``I(ell^2)``,
    ``log(enroll)``, :mod:`.expressions`) are named as R names them; a formula's ``1``, ``.`` (every column), ``-``
    and a bare power (``ell^2``, R's interaction) are refused, with what to write instead."""
    if terms is None:
        if "~" not in y:
            raise ParameterError(f"no terms: give them, or the model as a formula 'y ~ a + b' (got {y!r})")
        sides = split_outside(y, "~")
        if len(sides) > 2:
            raise ParameterError(f"the formula {y!r} has {len(sides) - 1} '~' outside quotes: write 'y ~ a + b'")
        y, rhs = (part.strip() for part in sides)
        terms = [t.strip() for t in split_outside(rhs, "+")]
        odd = [t for t in terms if _odd(t)]
        if odd:
            raise ParameterError(f"formula terms {odd} are not read: terms are column names, 'a:b', 'a*b' or "
                                 "expressions I(…), log(…) (write I(ell^2) for a square; the intercept is always in)")
    if is_expression(y):
        y = r_name(y)
    elif any(c in y for c in "()=<>!^"):
        raise ParameterError(f"the response {y!r} is an expression: write it as R does inside I(…) (e.g. "
                             "I(x == \"Yes\") for a 0/1 response), or make the column first with survey.update")
    terms = [terms] if isinstance(terms, str) else list(terms)
    return y, [r_name(t) if isinstance(t, str) and is_expression(t) else t for t in terms]


def normalised_term(term: str) -> str:
    """A term as the model names it: each expression part as R writes it (``"I(ell ^ 2):stype"`` →
    ``"I(ell^2):stype"``)."""
    return ":".join(r_name(p) if is_expression(p) else p.strip() for p in split_outside(term, ":"))


def expand_terms(terms: str | Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """A model's terms as R orders them: the main effects (in order of appearance), then the two-way
    interactions, each with its two sides in their order of first appearance in the model (R's ``terms``: ``stype +
    ell + ell:stype`` has the interaction ``stype:ell``); ``"a*b"`` gives ``a``, ``b`` and ``a:b``. Raises a
    :class:`ParameterError` for an interaction of more than two terms or one without both its main effects."""
    mains: list[str] = []
    pairs: list[tuple[str, str]] = []
    terms = [terms] if isinstance(terms, str) else list(terms)
    split = [[r_name(p) if is_expression(p) else p for p in (q.strip() for q in split_outside(t, ":*"))] for t in terms]
    first = {p: i for i, p in reversed(list(enumerate(p for parts in split for p in parts)))}
    for t, parts in zip(terms, split):
        if len(parts) == 2:
            parts = sorted(parts, key=first.__getitem__)
        if len(parts) > 2:
            raise ParameterError(f"term {t!r}: only two-way interactions are supported")
        if len(parts) == 2 and len(split_outside(t, "*")) > 1:
            mains += [p for p in parts if p not in mains]
        if len(parts) == 1 and parts[0] not in mains:
            mains.append(parts[0])
        if len(parts) == 2 and tuple(parts) not in pairs:
            pairs.append((parts[0], parts[1]))
    for a, b in pairs:
        if a not in mains or b not in mains:
            raise ParameterError(f"interaction '{a}:{b}' needs its main effects {a!r} and {b!r} in the model "
                                 f"(write '{a}*{b}')")
    return mains, pairs
