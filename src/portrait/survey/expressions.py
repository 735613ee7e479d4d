"""Expression terms of a model as R writes them in a formula: ``I(ell^2)``, ``I(meals > 50)``, ``log(enroll)``.

An expression term is ``I(…)`` or one of :data:`FUNCTIONS` applied to an expression of columns, numbers, quoted
text, arithmetic and at most one comparison, read with R's precedence (highest first: ``^`` (right to left), unary
``-`` and ``+``, ``%%``, ``*`` and ``/``, ``+`` and ``-``, then ``== != < <= > >=``; ``**`` is R's ``^``). It is
parsed here and computed with NumPy — nothing is handed to Python's ``eval`` — and named as R's ``model.matrix``
names it (R's ``deparse``: spaces around ``+ - *`` and comparisons, none around ``/ ^ %%``, numbers to 15 significant
digits in R's fixed or scientific form). Its column is a number, or for a comparison R's logical coded
``FALSE``/``TRUE`` (one indicator ``I(meals > 50)TRUE``; 0/1 as a response). Numbers compared with text are
compared as R's text (``ell == "5"``); text enters no arithmetic. A unit missing any column the expression reads gets
a missing value, as in R; division by zero gives ±∞ (then refused as an infinite value by the model).
``factor(column)`` is a whole term: the column as a categorical with R's levels (numbers by value, « 2 » not « 2.0 »;
indicators ``factor(column)2``). ``&``, ``|``
and ``!`` are refused — make such a column first with :func:`~portrait.survey.update` — as are names that are
neither columns nor functions.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError
from .labels import level_order, level_text, r_number

#: functions an expression term may call, as R names them
FUNCTIONS = {"log": np.log, "log10": np.log10, "log2": np.log2, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
MAX_TOKENS = 400                # a formula term longer than this is refused (nobody writes one; it bounds the work)
#: a name an expression reads (a column, a function; for :func:`~portrait.survey.contrast`, an estimate), as R's
NAME = re.compile(r"[A-Za-z.][A-Za-z0-9._]*")
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<str>\"[^\"\\\\]*\"|'[^'\\\\]*')"
                    rf"|(?P<name>{NAME.pattern})|(?P<op>\*\*|==|!=|<=|>=|%%|[-+*/^<>(),&|!~]))")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_OPERATORS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power, "%%": np.mod,
              "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
              ">=": np.greater_equal}
_CALL = re.compile(r"^\s*(I|factor|" + "|".join(FUNCTIONS) + r")\s*\(.*\)\s*$", re.S)


class Node(NamedTuple):
    """A parsed expression: ``kind`` (num, str, name, call, paren, unary, binary), its ``value`` (the number, text,
    name, function or operator) and its ``args``."""

    kind: str
    value: Any
    args: tuple = ()


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


def is_expression(term: str) -> bool:
    """Whether ``term`` is one expression term (``I(…)`` or a function of :data:`FUNCTIONS` applied to something),
    its first parenthesis closed by its last character (``I(a):log(b)`` is an interaction of two)."""
    text = term.strip()
    return bool(_CALL.match(text)) and next(
        (i == len(text) - 1 for i, ch, depth in _scan(text) if ch == ")" and depth == 1), False)


def _tokens(term: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, term.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ParameterError(f"term {term!r}: character {pos + 1} is not read in a model expression (columns, "
                                 "numbers, quoted text without backslashes, + - * / ^ %%, one comparison, and the "
                                 f"functions {', '.join(FUNCTIONS)})")
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, "^" if value == "**" else value))
        pos = m.end()
    if len(out) > MAX_TOKENS:
        raise ParameterError(f"term {term[:40]!r}…: {len(out)} tokens, more than a model expression reads "
                             f"({MAX_TOKENS}); make the column first (survey.update)")
    if {"&", "|", "!", "~"} & {v for k, v in out if k == "op"}:
        raise ParameterError(f"term {term!r}: &, | and ! are not read in a model expression; make the column first "
                             "(survey.update), e.g. both=((d.data['a'] > 1) & (d.data['b'] < 2)).astype(float)")
    return out


class _Parser:
    """Recursive descent over the tokens with R's precedence (module docstring)."""

    def __init__(self, term: str):
        self.term, self.tokens, self.i, self.depth = term, _tokens(term), 0, 0

    def fail(self, what: str) -> ParameterError:
        return ParameterError(f"term {self.term!r} is not a complete model expression: {what} (check its operators "
                              "and parentheses)")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok != ("op", value)):
            raise self.fail(f"{value!r} expected" if value else "it ends too soon")
        self.i += 1
        return tok

    def whole(self) -> Node:
        node = self.comparison()
        if self.peek() is not None:
            raise self.fail(f"{self.peek()[1]!r} unexpected at token {self.i + 1}")
        return node

    def comparison(self) -> Node:
        left = self.binary(0)
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in _COMPARISONS:
            self.i += 1
            node = Node("binary", tok[1], (left, self.binary(0)))
            nxt = self.peek()
            if nxt and nxt[0] == "op" and nxt[1] in _COMPARISONS:
                raise ParameterError(f"term {self.term!r}: one comparison at most in a model expression")
            return node
        return left

    _LEVELS = (("+", "-"), ("*", "/"), ("%%",))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in self._LEVELS[level]:
            self.i += 1
            node = Node("binary", tok[1], (node, self.binary(level + 1)))
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("-", "+"):
            self.i += 1
            return Node("unary", tok[1], (self.nested(self.unary),))
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.peek() == ("op", "^"):
            self.i += 1
            return Node("binary", "^", (base, self.nested(self.unary)))      # right to left, as R: 2^-1, a^b^c
        return base

    def nested(self, parse):
        self.depth += 1
        if self.depth > 60:
            raise ParameterError(f"term {self.term[:40]!r}…: nested too deep for a model expression")
        try:
            return parse()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Node("num", float(value))
        if kind == "str":
            return Node("str", value[1:-1])
        if kind == "name":
            if self.peek() == ("op", "("):
                if value not in ("I", "factor") and value not in FUNCTIONS:
                    raise ParameterError(f"term {self.term!r}: {value!r} is not a function a model expression calls "
                                         f"(those are I, factor and {', '.join(FUNCTIONS)})")
                self.take("(")
                arg = self.nested(self.comparison)
                if self.peek() == ("op", ","):
                    raise ParameterError(f"term {self.term!r}: {value}() takes one argument in a model expression")
                self.take(")")
                return Node("call", value, (arg,))
            return Node("name", value)
        if (kind, value) == ("op", "("):
            inner = self.nested(self.comparison)
            self.take(")")
            return Node("paren", None, (inner,))
        raise self.fail(f"{value!r} unexpected at token {self.i}")


def parse(term: str) -> Node:
    """The expression term ``term`` parsed (:class:`Node`), with R's precedence."""
    return _Parser(term).whole()


def deparse(node: Node) -> str:
    """The expression as R's ``deparse`` writes it (the name R's ``model.matrix`` gives its column)."""
    kind, value, args = node
    if kind == "num":
        return r_number(value)
    if kind == "str":
        return f'"{value}"'
    if kind == "name":
        return value
    if kind == "call":
        return f"{value}({deparse(args[0])})"
    if kind == "paren":
        return f"({deparse(args[0])})"
    if kind == "unary":
        return value + deparse(args[0])
    sep = value if value in ("/", "^", "%%") else f" {value} "
    return deparse(args[0]) + sep + deparse(args[1])


def r_name(term: str) -> str:
    """The name R gives an expression term: ``"I(meals>50)"`` → ``"I(meals > 50)"``, ``"I(x/ 1e5)"`` →
    ``"I(x/1e+05)"``."""
    return deparse(parse(term))


def _as_text(values: np.ndarray) -> np.ndarray:
    """Numbers as R's ``as.character`` writes them (15 significant digits), for a comparison with text."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return np.array([r_number(float(u)) for u in uniques], dtype=object)[inverse.reshape(values.shape)]


def _compute(node: Node, data: pd.DataFrame, term: str, missing: np.ndarray):
    """The value of ``node``: a float or bool array (or number), or text (a str, or an object array of a column)."""
    kind, value, args = node
    if kind == "num":
        return np.float64(value)
    if kind == "str":
        return value
    if kind == "name":
        if value in ("TRUE", "FALSE") and value not in data.columns:
            return np.bool_(value == "TRUE")
        if value not in data.columns:
            raise ParameterError(f"term {term!r}: no column {value!r} in the data (an expression reads columns, "
                                 f"numbers and the functions {', '.join(FUNCTIONS)})")
        s = data[value]
        missing |= s.isna().to_numpy()
        if pd.api.types.is_bool_dtype(s):
            return s.to_numpy(dtype=bool, na_value=False)
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
        return s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
    if kind == "call" and value == "factor":
        raise ParameterError(f"term {term!r}: factor() is a whole term of its own (factor(column)), not part of an "
                             "expression")
    parts = [_compute(a, data, term, missing) for a in args]
    text = [isinstance(p, str) or (isinstance(p, np.ndarray) and p.dtype == object) for p in parts]
    if kind == "paren" or (kind == "call" and value == "I"):
        return parts[0]                    # a comparison stays R's logical
    if kind == "binary" and value in ("==", "!=") and any(text):
        a, b = (p if t else _as_text(np.asarray(p, dtype=float)) for p, t in zip(parts, text))
        return (np.asarray(a == b) if value == "==" else np.asarray(a != b)).astype(bool)
    if any(text):
        raise ParameterError(f"term {term!r}: text enters no arithmetic or ordering in a model expression; compare "
                             "text with == or != only")
    x = [np.asarray(p, dtype=float) for p in parts]       # R's logicals count 0/1 in arithmetic
    with np.errstate(all="ignore"):
        if kind == "call":
            return FUNCTIONS[value](x[0])
        if kind == "unary":
            return -x[0] if value == "-" else +x[0]
        return _OPERATORS[value](x[0], x[1])


def _logical(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    """Booleans as R's logical factor: levels ``FALSE``, ``TRUE``, missing where ``missing``."""
    codes = np.where(missing, -1, values.astype(np.int8))
    return pd.Series(pd.Categorical.from_codes(codes, categories=["FALSE", "TRUE"]), index=index)


def _factor(data: pd.DataFrame, term: str, arg: Node) -> pd.Series:
    """R's ``factor(column)``: the column as a categorical whose levels are its distinct values, numbers sorted by
    value and written as R writes them (« 2 », not « 2.0 »), text sorted as text; a categorical column keeps its own
    levels."""
    if arg.kind != "name" or arg.value not in data.columns:
        raise ParameterError(f"term {term!r}: factor() takes a column of the data (factor(column))")
    s = data[arg.value]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.rename(None)
    if pd.api.types.is_bool_dtype(s.dtype):      # R's logical levels
        return _logical(s.to_numpy(dtype=bool, na_value=False), s.isna().to_numpy(), data.index)
    text = level_text(s)
    levels = level_order(s, list(pd.unique(text.dropna())))
    return pd.Series(pd.Categorical(text.to_numpy(dtype=object, na_value=None), categories=levels), index=data.index)


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
        If the term is not a complete expression, holds a name that is neither a column of ``data`` nor a function
        of :data:`FUNCTIONS`, puts text in arithmetic, or holds what a model expression does not read.
    """
    node = parse(term)
    if node.kind == "call" and node.value == "factor":
        return _factor(data, term, node.args[0])
    missing = np.zeros(len(data), dtype=bool)
    out = _compute(node, data, term, missing)
    if isinstance(out, str) or (isinstance(out, np.ndarray) and out.dtype == object):
        raise ParameterError(f"term {term!r} gives text, not numbers: compare text with == or != only")
    out = np.broadcast_to(np.asarray(out), (len(data),))
    if out.dtype == bool and not response:
        return _logical(out, missing, data.index)
    return pd.Series(np.where(missing, np.nan, out.astype(float)), index=data.index)


def with_expressions(data: pd.DataFrame, names: Sequence[str], response: str | None = None) -> dict[str, pd.Series]:
    """The columns of the expression terms among ``names``, computed from ``data`` even where a column of that name
    exists already, as R recomputes them (``response``: the model's response, a comparison then giving 0/1)."""
    return {t: evaluate(data, t, response=t == response) for t in dict.fromkeys(names) if is_expression(t)}
