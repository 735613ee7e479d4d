"""Expression terms of a model as R writes them in a formula: ``I(ell^2)``, ``I(meals > 50)``, ``log(enroll)``.

An expression term is ``I(…)`` or one of :data:`FUNCTIONS` applied to an expression of columns, numbers, quoted
text, arithmetic (``+ - * / ^ %%``) and at most one comparison (``== != < <= > >=``). It is named as R's
``model.matrix`` names it (R's ``deparse``: spaces around binary operators but ``^``), and its column is computed
before the model matrix: a number, or for a comparison R's logical, coded ``FALSE``/``TRUE`` (one indicator
``I(meals > 50)TRUE``; a 0/1 number as a response). A unit missing any column the expression reads gets a missing
value, as in R. ``&``, ``|`` and ``!`` are refused — Python and R order them differently around comparisons — as
is a name that is neither a column nor a function: make such a column first with :func:`~portrait.survey.update`.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError

#: functions an expression term may call, as R names them
FUNCTIONS = {"log": np.log, "log10": np.log10, "log2": np.log2, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<str>\"[^\"]*\"|'[^']*')"
                    r"|(?P<name>[A-Za-z.][A-Za-z0-9._]*)|(?P<op>==|!=|<=|>=|%%|[-+*/^<>(),&|!]))")
_BINARY = {"+", "-", "*", "/", "%%", "==", "!=", "<", "<=", ">", ">="}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_CALL = re.compile(r"^\s*(I|" + "|".join(FUNCTIONS) + r")\s*\(.*\)\s*$", re.S)


def is_expression(term: str) -> bool:
    """Whether ``term`` is one expression term (``I(…)`` or a function of :data:`FUNCTIONS` applied to something),
    its first parenthesis closed by its last character (``I(a):log(b)`` is an interaction of two)."""
    return bool(_CALL.match(term)) and _closes_at_end(term.strip())


def _scan(text: str):
    """Each character outside quotes with the depth of parentheses before it (an opening one counts after)."""
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
            continue
        if ch in "\"'":
            quote = ch
            continue
        yield i, ch, depth
        depth += (ch == "(") - (ch == ")")


def split_outside(text: str, separators: str) -> list[str]:
    """``text`` split at the ``separators`` characters that are outside parentheses and quotes."""
    cuts = [i for i, ch, depth in _scan(text) if depth == 0 and ch in separators]
    return [text[a + 1:b] for a, b in zip([-1, *cuts], [*cuts, len(text)])]


def _closes_at_end(text: str) -> bool:
    """Whether the first parenthesis of ``text`` is closed by its last character."""
    return next((i == len(text) - 1 for i, ch, depth in _scan(text) if ch == ")" and depth == 1), False)


def _tokens(term: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, term.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ParameterError(f"term {term!r}: character {pos + 1} is not read in a model expression (columns, "
                                 "numbers, quoted text, + - * / ^ %%, one comparison, and the functions "
                                 f"{', '.join(FUNCTIONS)})")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    ops = [v for k, v in out if k == "op"]
    if {"&", "|", "!"} & set(ops):
        raise ParameterError(f"term {term!r}: &, | and ! are not read in a model expression; make the column first "
                             "(survey.update), e.g. both=((d.data['a'] > 1) & (d.data['b'] < 2)).astype(float)")
    if sum(op in _COMPARISONS for op in ops) > 1:
        raise ParameterError(f"term {term!r}: one comparison at most in a model expression")
    return out


def _number(text: str) -> str:
    if not any(c in text for c in ".eE"):
        return text
    x = float(text)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def r_name(term: str) -> str:
    """The name R gives an expression term (its ``deparse``): ``"I(meals>50)"`` → ``"I(meals > 50)"``."""
    out, prev = "", None
    for kind, value in _tokens(term):
        if kind == "op" and value in _BINARY and not (value == "-" and (prev is None or prev[1] in "(,"
                                                                        or prev[1] in _BINARY or prev[1] == "^")):
            out += f" {value} "
        elif kind == "op" and value == ",":
            out += ", "
        elif kind == "num":
            out += _number(value)
        elif kind == "str":
            out += '"' + value[1:-1] + '"'
        else:
            out += value
        prev = (kind, value)
    return out


def evaluate(data: pd.DataFrame, term: str, response: bool = False) -> pd.Series:
    """The values of the expression term ``term`` on ``data``: numbers, or a comparison's ``FALSE``/``TRUE``
    (a 0/1 number when ``response``); missing where a column it reads is missing.

    Parameters
    ----------
    data : pandas.DataFrame
        The survey data (or new data to predict on).
    term : str
        An expression term (:func:`is_expression`).
    response : bool, default False
        The term is a model's response: a comparison gives 0/1, as R's logical response.

    Returns
    -------
    pandas.Series
        One value per row of ``data``, with its index.

    Raises
    ------
    ParameterError
        If the term holds a name that is neither a column of ``data`` nor a function of :data:`FUNCTIONS`, or
        what a model expression does not read.
    """
    code, arrays, missing = [], [], np.zeros(len(data), dtype=bool)
    tokens = _tokens(term)
    for i, (kind, value) in enumerate(tokens):
        called = i + 1 < len(tokens) and tokens[i + 1][1] == "("
        if kind == "name" and called and (value == "I" or value in FUNCTIONS):
            code.append("" if value == "I" else f"_f[{value!r}]")
        elif kind == "name" and value in ("TRUE", "FALSE") and value not in data.columns:
            code.append(str(value == "TRUE"))
        elif kind == "name":
            if called:
                raise ParameterError(f"term {term!r}: {value!r} is not a function a model expression calls (those are "
                                     f"I and {', '.join(FUNCTIONS)})")
            if value not in data.columns:
                raise ParameterError(f"term {term!r}: no column {value!r} in the data (an expression reads columns, "
                                     f"numbers and the functions {', '.join(FUNCTIONS)})")
            s = data[value]
            missing |= s.isna().to_numpy()
            numeric = pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
            arrays.append(s.to_numpy(dtype=float, na_value=np.nan) if numeric
                          else s.astype(object).where(s.notna(), None).to_numpy())
            code.append(f"_v[{len(arrays) - 1}]")
        elif kind == "op":
            code.append({"^": "**", "%%": "%"}.get(value, value))
        else:
            code.append(value)
    try:
        with np.errstate(all="ignore"):      # the code holds only the tokens read above: columns, numbers, text, ops
            out = np.asarray(eval(" ".join(code), {"__builtins__": {}}, {"_v": arrays, "_f": FUNCTIONS}))
    except (SyntaxError, TypeError, ValueError) as exc:
        raise ParameterError(f"term {term!r} is not a complete expression of numbers ({type(exc).__name__}): "
                             "check its operators and parentheses, and compare text only with == or !=") from None
    out = np.broadcast_to(out, (len(data),)) if out.ndim == 0 else out
    if out.dtype.kind not in "biuf":
        raise ParameterError(f"term {term!r} gives text, not numbers: compare text with == or != only")
    if out.dtype == bool and not response:
        codes = np.where(missing, -1, out.astype(np.int8))
        return pd.Series(pd.Categorical.from_codes(codes, categories=["FALSE", "TRUE"]), index=data.index)
    return pd.Series(np.where(missing, np.nan, out.astype(float)), index=data.index)


def with_expressions(data: pd.DataFrame, names: Sequence[str], response: str | None = None) -> dict[str, pd.Series]:
    """The columns of the expression terms among ``names`` that ``data`` does not hold yet (``response``: the
    model's response, a comparison then giving 0/1)."""
    return {t: evaluate(data, t, response=t == response) for t in dict.fromkeys(names)
            if is_expression(t) and t not in data.columns}
