"""Calibration margins: the population totals of categorical variables (:class:`Margin`, one variable or a
crossing of several) and of numeric ones (:class:`NumericTotal`), as R ``survey`` gives them to ``calibrate``
(``population=``) and ``rake`` (``population.margins=``); :func:`margins_from_long` reads them from a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from .errors import CalibrationError

#: How the variables of a joint margin, and its levels, are joined in names and messages.
JOINT = " × "


@dataclass(frozen=True)
class Margin:
    """Hold the population totals of one categorical variable, or of a crossing of several (joint margin).

    ``totals`` maps each level (a tuple of levels for a joint margin) to its population total. Build one
    with :meth:`Margin.of`, which accepts plain levels and a ``pandas.Series``, or read a table of margins
    with :func:`margins_from_long`. Levels are compared with the data as strings.

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
        If a total is not finite and positive (a level with no population cannot be a target), or, in
        :meth:`Margin.of`, if a level does not name one level of each variable.

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
        t = dict(totals.items()) if isinstance(totals, pd.Series) else dict(totals)
        norm = {}
        for k, val in t.items():
            key = tuple(str(x) for x in k) if isinstance(k, tuple) else (str(k),)
            if len(key) != len(v):
                raise CalibrationError(f"margin {JOINT.join(v)}: level {k!r} does not name one level "
                                       f"of each of {len(v)} variables")
            norm[key] = float(val)
        return cls(variables=v, totals=norm)

    def __post_init__(self) -> None:
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
        If ``total`` is not a finite number.
    """

    variable: str
    total: float

    def __post_init__(self) -> None:
        if not math.isfinite(float(self.total)):
            raise CalibrationError(f"total of {self.variable!r} must be a finite number, got {self.total!r}")

    @property
    def name(self) -> str:
        return self.variable


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
        If a column is missing, or a total is not finite and positive.
    """
    need = {"margin", "level", "total"}
    if not need <= set(df.columns):
        raise CalibrationError(f"margins table needs columns {sorted(need)}, has {list(df.columns)}")
    out = []
    for name, d in df.groupby("margin", sort=False):
        variables = tuple(v.strip() for v in str(name).split("×"))
        totals = {tuple(x.strip() for x in str(level).split("×")): float(t)
                  for level, t in zip(d["level"], d["total"])}
        out.append(Margin(variables=variables, totals=totals))
    return out
