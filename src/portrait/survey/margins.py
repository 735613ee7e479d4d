"""Calibration margins: the population totals of categorical variables (:class:`Margin`, one variable or a
crossing of several) and of numeric ones (:class:`NumericTotal`), as R ``survey`` gives them to ``calibrate``
(``population=``) and ``rake`` (``population.margins=``); :func:`margins_from_long` reads them from a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import CalibrationError, ParameterError, numeric_values, real_number
from .labels import level_name, level_text, r_number

#: How the variables of a joint margin, and its levels, are joined in names and messages.
JOINT = " × "


@dataclass(frozen=True)
class Margin:
    """Hold the population totals of one categorical variable, or of a crossing of several (joint margin).

    ``totals`` maps each level (a tuple of levels for a joint margin) to its population total. Build one
    with :meth:`Margin.of`, which accepts plain levels and a ``pandas.Series``, or read a table of margins
    with :func:`margins_from_long`. Levels are compared with the data as strings, numbers as R writes a
    factor's levels (``1.0`` and ``1`` are both « 1 »).

    Attributes
    ----------
    variables : tuple of str
        The calibration variable, or the crossed variables of a joint margin.
    totals : mapping
        Population total (finite, positive) of each level, keyed by a tuple of level strings with one
        entry per variable.
    name : str
        The variables joined by ``" × "`` (a property), as margins are named in messages and tables.
    grand_total : float
        Sum of the totals (a property); every categorical margin of a calibration must have the same.

    Raises
    ------
    CalibrationError
        If a total is not a number (text, such as ``"520"``, or a bool: the margin and the level are named), not
        finite and positive (a level with no population cannot be a target), or, in :meth:`Margin.of`, if a level
        does not name one level of each variable or is given twice.

    See Also
    --------
    calibrate : Calibrate a design's weights to margins.
    margins_from_long : Read margins from a long table.

    Examples
    --------
    >>> Margin.of("sex", {"F": 520, "M": 480})  # doctest: +SKIP
    >>> Margin.of(["sex", "age"], {("F", "15-29"): 120, ("F", "30+"): 400,
    ...                            ("M", "15-29"): 110, ("M", "30+"): 370})  # doctest: +SKIP
    """

    variables: tuple[str, ...]
    totals: Mapping[Any, float]

    @classmethod
    def of(cls, variables: str | Sequence[str], totals: Mapping[Any, float] | pd.Series) -> "Margin":
        v = (variables,) if isinstance(variables, str) else tuple(variables)
        norm = {}
        for k, val in totals.items():      # a Series may repeat an index value: every pair is read
            key = tuple(level_name(x) for x in k) if isinstance(k, tuple) else (level_name(k),)
            if len(key) != len(v):
                raise CalibrationError(f"margin {JOINT.join(v)}: level {k!r} does not name one level "
                                       f"of each of {len(v)} variables")
            if key in norm:
                raise CalibrationError(f"margin {JOINT.join(v)}: level {JOINT.join(key)!r} is given twice (levels "
                                       "are compared as text, a number as R writes it: 1, 1.0 and '1' are one level)")
            norm[key] = val
        return cls(variables=v, totals=norm)

    def __post_init__(self) -> None:
        for k, v in self.totals.items():
            if real_number(v) is None:
                raise CalibrationError(_not_a_number(f"margin {self.name!r}: the population total of level "
                                                     f"{JOINT.join(map(str, k)) if isinstance(k, tuple) else k!r}", v))
        object.__setattr__(self, "totals", {k: float(v) for k, v in self.totals.items()})
        bad = {k: v for k, v in self.totals.items() if not (math.isfinite(v) and v > 0)}
        if bad:
            shown = ", ".join(f"{JOINT.join(map(str, k)) if isinstance(k, tuple) else k} = {v!r}"
                              for k, v in list(bad.items())[:5])
            zero = any(v == 0 for v in bad.values())
            raise CalibrationError(
                f"margin {JOINT.join(self.variables)}: every population total must be finite and positive; "
                f"{len(bad)} level(s) are not ({shown})"
                + ("; a level with no population cannot be a calibration target: remove it from the margin and "
                   "exclude, and report, the respondents it holds, or merge it with a neighbouring level" if zero else ""))

    @property
    def name(self) -> str:
        return JOINT.join(self.variables)

    @property
    def grand_total(self) -> float:
        return float(sum(self.totals.values()))


@dataclass(frozen=True)
class NumericTotal:
    """Hold the population total of a numeric auxiliary variable (e.g. ``api99``).

    Calibrating on it makes the weighted total of the variable equal to ``total``; with numeric totals
    only, the weights' sum is left free, as in R ``calibrate(~0 + x)``.

    Attributes
    ----------
    variable : str
        Name of the numeric column of the survey data.
    total : float
        Its population total (finite).
    name : str
        The variable's name (a property), as margins are named in messages and tables.

    Raises
    ------
    CalibrationError
        If ``total`` is not a finite number (text, such as ``"3914069"``, and bools are refused).
    """

    variable: str
    total: float

    def __post_init__(self) -> None:
        total = real_number(self.total)
        if total is None:
            raise CalibrationError(_not_a_number(f"numeric margin {self.variable!r}: its population total",
                                                 self.total))
        if not math.isfinite(total):
            raise CalibrationError(f"total of {self.variable!r} must be a finite number, got {self.total!r}")
        object.__setattr__(self, "total", total)

    @property
    def name(self) -> str:
        return self.variable


def _not_a_number(what: str, value: object) -> str:
    """The message for a total that is not a number: what it is (its type, not its text) and how to give it."""
    kind = "a bool" if isinstance(value, (bool, np.bool_)) else f"{type(value).__name__}, not a number"
    return (f"{what} is {kind}: give population totals as numbers (an int or a float, e.g. 520, not the text "
            "'520'); convert a column of totals read as text with pd.to_numeric")


def margin_list(margins: object) -> list[Margin | NumericTotal]:
    """``calibrate``'s and ``trim``'s ``margins`` as a list: a single :class:`Margin` or :class:`NumericTotal` is one
    margin; anything other than a list of them (an R population vector, a dict, a string) is a ParameterError
    saying how margins are written."""
    if isinstance(margins, (Margin, NumericTotal)):
        return [margins]
    how = ("margins are a list of Margin and NumericTotal, e.g. [Margin.of(variable, {level: total, …}), "
           "NumericTotal(variable, total)]; R's population vector c('(Intercept)' = …, stypeH = …) becomes "
           "[Margin.of('stype', {'E': …, 'H': …, 'M': …})]")
    if isinstance(margins, (str, bytes, Mapping)) or not isinstance(margins, Iterable):
        raise ParameterError(f"{how}; got a {type(margins).__name__}")
    out = list(margins)
    wrong = [i for i, m in enumerate(out) if not isinstance(m, (Margin, NumericTotal))]
    if wrong:
        raise ParameterError(f"{how}; margins[{wrong[0]}] is a {type(out[wrong[0]]).__name__}")
    return out


def _as_number(text: str) -> str | None:
    """A level written as a number (« 1.0 ») as R writes it (« 1 »), or None."""
    try:
        return r_number(float(text))
    except ValueError:
        return None


def no_unit_error(m: Margin, level: tuple[str, ...], data: Mapping[str, pd.Series]) -> CalibrationError:
    """The error for a level of ``m`` that no unit being weighted holds, ``data`` holding the margin's variables over
    the whole sample. A level that no unit of the sample holds at all (a misspelling, another case) is told with the
    sample's levels of that variable (calibration categories, not respondents' text; at most 12) and a match but for
    case; a level held only by units of weight 0, or a cell of a joint margin whose levels never meet, is to be
    merged with a neighbouring level."""
    head = (f"margin {m.name!r}: level {JOINT.join(level)!r} has a population total of {m.totals[level]:,.0f} but no "
            "unit in the sample")
    held = np.ones(len(data[m.variables[0]]), dtype=bool)
    for v, lv in zip(m.variables, level):
        text = level_text(data[v]).astype(object).where(data[v].notna().to_numpy())   # as calibration reads them
        levels = sorted(set(text.dropna()))
        if lv not in levels:
            shown = ", ".join(map(repr, levels[:12])) + (", …" if len(levels) > 12 else "")
            near = [x for x in levels if x.strip().casefold() == lv.strip().casefold() or x == _as_number(lv)]
            return CalibrationError(
                f"{head}: no unit of the sample has {v!r} equal to {lv!r} at all (its levels of {v!r}: {shown})"
                + (f"; did you mean {near[0]!r}?" if near else ".") + " Levels are compared as text, case included: "
                "correct a misspelt level; if the sample truly holds none, merge it with a neighbouring level")
        held &= (text == lv).to_numpy()
    if held.any():
        return CalibrationError(f"{head} with a positive weight (its {int(held.sum())} unit(s) all have weight 0, "
                                "e.g. non-respondents); merge it with a neighbouring level")
    return CalibrationError(f"{head} (each of its levels occurs, but never together); merge it with a neighbouring "
                            "level")


def margins_from_long(df: pd.DataFrame) -> list[Margin]:
    """Read calibration margins from a long table with columns ``margin``, ``level`` and ``total``.

    A joint margin is written ``sex × age`` with levels ``F × 15-29``; rows of one margin need not be
    consecutive, and margins keep the order of their first row.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per margin level, with at least the columns ``margin`` (name, variables joined by
        ``×``), ``level`` (level, joined by ``×`` for a joint margin) and ``total`` (population total).

    Returns
    -------
    list of Margin
        One :class:`Margin` per distinct ``margin`` value.

    Raises
    ------
    CalibrationError
        If a column is missing, the ``total`` column holds text (its rows that are not numbers counted and the first
        located), or a total is not finite and positive.
    """
    need = {"margin", "level", "total"}
    if not need <= set(df.columns):
        raise CalibrationError(f"margins table needs columns {sorted(need)}, has {list(df.columns)}")
    df = df.reset_index(drop=True).assign(total=numeric_values(df["total"], "margins table column 'total'", "total",
                                                               CalibrationError))
    out = []
    for name, d in df.groupby("margin", sort=False):
        variables = tuple(v.strip() for v in str(name).split("×"))
        totals = {tuple(x.strip() for x in str(level).split("×")): float(t)
                  for level, t in zip(d["level"], d["total"])}
        out.append(Margin(variables=variables, totals=totals))
    return out
