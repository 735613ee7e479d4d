"""The same means estimated on many designs of one sample: a simulation study's inner loop.

A Monte Carlo study estimates the same statistics of one simulated sample with several weightings (unweighted,
design weights, non-response adjustment, calibrations) and variance methods. :func:`~portrait.survey.mean` on each
of them reads and checks every variable again and builds a table; :class:`RepeatedMeans` reads the variables once,
keeps the units each estimate uses for every design of the same respondents, and gives the numbers only. They are
:func:`~portrait.survey.mean`'s, computed by the same code in the same order: equal to the last bit.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .design import Design
from .errors import ParameterError, check_finite
from .estimation import _check_intervals, _estimate, _kinds, _matrices, _numeric, _Spec

#: what :meth:`RepeatedMeans.estimate` gives, as :func:`~portrait.survey.mean`'s columns of the same name
VALUES = ("estimate", "se", "ci_low", "ci_high", "df", "n")


class RepeatedMeans:
    """Weighted means of numeric ``variables`` of a design's data, to estimate on many designs of that data.

    Parameters
    ----------
    design : Design
        A design of the data (only its ``data`` is read here).
    variables : sequence of str
        Numeric column names, as :func:`~portrait.survey.mean`'s (whole sample, no domain).
    interval : str or mapping, default "wald"
        :func:`~portrait.survey.mean`'s ``interval``.
    values : mapping of str to array, optional
        Each variable's values (floats, one per unit), given rather than read from the data: the numbers of the
        means of a design whose data has these columns (a simulation derives them for its designs, and needs no
        table of them); the designs estimated on still have ``design``'s data.

    Raises
    ------
    ParameterError
        As :func:`~portrait.survey.mean`: a variable not in the data (or in ``values``), not numeric or with infinite
        values, values not one per unit, an unknown interval or one naming a variable not estimated.
    """

    def __init__(self, design: Design, variables: Sequence[str], interval: str | Mapping[str, str] = "wald",
                 values: Mapping[str, np.ndarray] | None = None):
        vs = list(variables)
        _check_intervals(interval, vs)
        self.data = design.data
        n = len(design.weights)
        everyone = np.ones(n, dtype=bool)
        read = [_numeric(design, v) for v in vs] if values is None else [_given(values, v, n) for v in vs]
        self._specs = [_Spec("mean", v, y, "", everyone) for v, y in zip(vs, read)]
        self._interval = interval
        self._kinds = _kinds(self._specs, interval)
        self._kept: tuple[np.ndarray, tuple, tuple] | None = None     # the respondents, their _matrices, rows
        self._checked = False     # the respondents' values found within [0, 1] where the interval needs it
        self._degf: list[tuple[Design, int]] = []     # designs of the respondents with their degrees of freedom

    def estimate(self, design: Design, variance: str | None = None, level: float = 0.95) -> dict[str, np.ndarray]:
        """The columns :data:`VALUES` of ``mean(design, variables, variance=, level=, interval=)``, as arrays.

        Raises
        ------
        ParameterError
            If ``design`` is not a design of this data (the very same table), or as :func:`~portrait.survey.mean`.
        """
        if design.data is not self.data:
            raise ParameterError("RepeatedMeans estimates on designs of the data it read: this design has other data")
        present = design.weights > 0
        if self._kept is None or not np.array_equal(self._kept[0], present):
            Y, M, D, ratios = _matrices(self._specs, design.weights)
            rows = np.flatnonzero(present)     # the respondents' rows, the only ones of influence values not 0
            kept = (rows, Y[rows], D[rows], M.sum(axis=0))      # and the units each mean uses, counted once
            self._kept, self._checked, self._degf = (present, (Y, M, D, ratios), kept), False, []
        e = _estimate(design, self._specs, variance, level, deff=False, interval=self._interval,
                      matrices=self._kept[1], checked=self._checked, degf=self._degrees(design), rows=self._kept[2],
                      kinds=self._kinds)
        self._checked = True
        return dict(zip(VALUES, (e.theta, e.se, e.low, e.high, e.dfs, e.n_used)))

    def _degrees(self, design: Design) -> int:
        """``design.degf``, counted once for the respondents kept and each set of PSUs and strata (the designs of
        one weighting share them; a two-stage design has its own)."""
        for d, degf in self._degf:
            if d.psu is design.psu and d.strata is design.strata and d.replicate_matrix is design.replicate_matrix:
                return degf
        self._degf.append((design, design.degf))
        return self._degf[-1][1]


def _given(values: Mapping[str, np.ndarray], variable: str, n: int) -> np.ndarray:
    """The values of ``variable`` given to :class:`RepeatedMeans`, checked as :func:`_numeric` checks a column."""
    if variable not in values:
        raise ParameterError(f"variable {variable!r} is not in the values given")
    y = np.asarray(values[variable])
    if y.shape != (n,) or y.dtype.kind not in "fiu":
        raise ParameterError(f"the values of {variable!r} must be {n} numbers, one per unit (got {y.dtype} {y.shape})")
    y = y.astype(float, copy=False)
    check_finite(y, variable)
    return y
