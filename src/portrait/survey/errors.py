"""The engine's errors: each message names the parameter, stratum, margin or level at fault."""

from __future__ import annotations

import numpy as np


class SurveyError(ValueError):
    """Base class of the survey engine's errors.

    Every error the engine raises on purpose derives from it, and it derives from ``ValueError``: a
    caller can catch all of them with ``except SurveyError`` (or ``except ValueError``). The message
    names the parameter, stratum, margin or level at fault.
    """


class ParameterError(SurveyError):
    """An argument is missing, mistyped or inconsistent with the data.

    Raised, for instance, by :meth:`Design.from_frame` (weights not finite, a stratum or PSU variable
    with missing values, an fpc that varies within a stratum), by the estimators when a variable is not
    in the data or not numeric, when ``variance="replicates"`` is asked of a design without replicate
    weights, when a stratum has a single PSU and ``lonely_psu="fail"``, and by the weighted-design file
    functions when a file or its description is unreadable.
    """


class SamplingError(SurveyError):
    """A sample cannot be drawn as specified (e.g. more units requested than the stratum holds).

    Raised by :func:`inclusion_probabilities`, :func:`allocate`, :func:`systematic_pps` and
    :func:`stratified_srswor` for negative or non-finite sizes, probabilities outside [0, 1], sample
    sizes larger than the frame or stratum, or minimums and capacities that cannot hold the total.
    """


class CalibrationError(SurveyError):
    """Calibration cannot be done as asked; the message names the margin and level at fault.

    Raised by :func:`calibrate`, :func:`trim`, :class:`Margin`, :class:`NumericTotal` and
    :func:`margins_from_long`: a population total that is not finite and positive, margins with different
    grand totals, a level present on one side only, missing values in a calibration variable, redundant or
    contradictory constraints, negative weights from linear calibration, non-convergence, or bounds that
    cannot be met (with the unreachable margin and the tightest feasible bounds).
    """


class ConvergenceError(SurveyError):
    """An iterative fit did not converge; the message says which model and what usually causes it.

    Raised by :func:`svyglm` when the Newton iterations of a binomial or Poisson model (or their
    quasi-families) do not converge, typically because of complete separation or a level without any
    event.
    """


VARIANCES = ("linearisation", "replicates")


def check_variance(variance: object, level: object = None, design: object = None) -> str:
    """The variance method to use: ``variance``, which must be one of :data:`VARIANCES` (a misspelt one,
    « linearization », would otherwise mean replicates), or by default (``None``) the design's: its replicates
    for ready-made replicate weights without PSUs or strata (R ``svrepdesign``, which has no other variance;
    :attr:`Design.replicates_only`), linearisation otherwise. ``level``, when given, must be a confidence level
    strictly between 0 and 1 (0.95, not 95)."""
    if variance is None:
        variance = "replicates" if getattr(design, "replicates_only", False) else "linearisation"
    if variance not in VARIANCES:
        raise ParameterError(f"variance must be 'linearisation' or 'replicates', got {variance!r}")
    if level is not None and not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ParameterError(f"level must be a confidence level between 0 and 1 (e.g. 0.95), got {level!r}")
    return variance


def check_columns(data, **named: object) -> None:
    """Each argument given as a column name (``weights="poids"``) must name a column of ``data``: a clear error,
    not pandas' bare ``KeyError``."""
    for k, v in named.items():
        if isinstance(v, (list, tuple)) and k in ("strata", "psu"):       # R's strata=~a+b, id=~psu1+psu2
            raise ParameterError(f"{k} takes one column, got {list(v)!r}: cross several into one column for strata "
                                 "(e.g. a + ':' + b); for a multistage design give the first-stage PSU only (the "
                                 "ultimate-cluster variance)")
    absent = [f"{k}={v!r}" for k, v in named.items() if isinstance(v, str) and v not in data.columns]
    if absent:
        shown = ", ".join(map(str, list(data.columns)[:12])) + (" …" if len(data.columns) > 12 else "")
        raise ParameterError(f"no column {', '.join(absent)} in the data (its columns: {shown})")


def check_finite(values, name: str) -> None:
    """``values`` (a numeric variable) must hold no ±inf: an infinite value would give an infinite estimate and a
    NaN standard error without a word. Missing values (NaN) are allowed; they are left out as a domain."""
    bad = np.flatnonzero(np.isinf(np.asarray(values, dtype=float)))
    if bad.size:
        raise ParameterError(f"variable {name!r} has {bad.size} infinite value(s) (first at position {bad[0]}): "
                             "estimates need finite values; set them to NaN to leave those units out")
