"""The engine's errors: each message names the parameter, stratum, margin or level at fault."""

from __future__ import annotations

import numbers

import numpy as np


class SurveyError(ValueError):
    """Base class of the survey engine's errors.

    Every error the engine raises on purpose derives from it, and it derives from ``ValueError``: a
    caller can catch all of them with ``except SurveyError`` (or ``except ValueError``). The message
    names the parameter, stratum, margin or level at fault.
    """


class ParameterError(SurveyError):
    """An argument is missing, mistyped or inconsistent with the data.

    Raised, for instance, by :meth:`Design.from_frame` (weights not finite, a weights, prob or fpc column of
    text, a stratum or PSU variable with missing values, an fpc that varies within a stratum), by the
    estimators when a variable is not in the data or not numeric, when ``variance="replicates"`` is asked of a
    design without replicate weights, when a stratum has a single PSU and ``lonely_psu="fail"``, by
    :func:`calibrate` when ``margins`` is not a list of margins or ``bounds`` not two numbers, by
    :func:`quantile` for a probability that is not a number in [0, 1], and by the weighted-design file
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
    :func:`margins_from_long`: a population total that is not a number, or not finite and positive, margins with
    different grand totals, a level present on one side only (a level no unit holds is told with the sample's
    levels), missing values or text in a calibration variable, redundant or contradictory constraints, negative
    weights from linear calibration, non-convergence, or bounds that cannot be met (with the unreachable margin
    and the tightest feasible bounds).
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


def real_number(value: object) -> float | None:
    """``value`` as a float when it is a real number (a Python or NumPy integer or float, not a bool and not text),
    else ``None``, for the caller to say what it expected: ``float("3914069")`` would accept a number read as text,
    and ``float(True)`` a flag."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _first(positions: np.ndarray) -> str:
    """Where the first of some rows is (never what it holds)."""
    return f"(the first at position {positions[0]}, counting from 0)"


def missing_labels(values, what: str, column: str) -> ParameterError:
    """The error for a design variable (``values``, a pandas Series: stratum, PSU, group) with missing values: the
    column, how many, where the first is and the rule."""
    gaps = np.flatnonzero(values.isna().to_numpy(dtype=bool))
    return ParameterError(f"{what} variable {column!r} has {gaps.size} missing value(s) {_first(gaps)}: "
                          f"every unit needs one (drop those units, or give them a {what} of their own)")


def numeric_values(values, what: str, column: str | None = None, error: type = ParameterError) -> np.ndarray:
    """The numbers of ``values`` (a column, or values given as an argument) as floats, missing values as NaN.

    A column of text is refused even when its text reads as numbers (a column read as text is usually a file read
    wrong: a decimal comma, a stray header or note): the ``error`` names ``what`` (« weights column 'pw' »), how many
    rows are not numbers and the first one's position, never a value, and says how to convert it (``column``: the
    column's name, for the example).
    """
    import pandas as pd

    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
        return np.asarray(s, dtype=float)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    kind = "boolean" if pd.api.types.is_bool_dtype(s.dtype) else pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):     # numbers held as objects
        return pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
    ref = f"df[{column!r}]" if column else "the values"
    if kind == "boolean":
        raise error(f"{what} holds True/False values, not numbers: give it as numbers")
    held = "categories" if kind == "categorical" else "text"
    filled = s.notna().to_numpy()
    text = s.astype(object).where(filled, "").astype(str)
    bad = np.flatnonzero(filled & pd.to_numeric(text, errors="coerce").isna().to_numpy())
    if bad.size == 0:
        raise error(f"{what} holds {held}, not numbers: every filled row reads as a number, but a column read as text "
                    f"usually means the file was read wrong (check it); convert it first with pd.to_numeric({ref})")
    comma = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").isna().to_numpy()
    fix = (f"they are numbers written with a decimal comma: convert them first with "
           f"pd.to_numeric({ref}.str.replace(',', '.')), or read the file with decimal=','"
           if not (filled & comma).any() else
           f"correct or remove those rows, then convert it with pd.to_numeric({ref})")
    raise error(f"{what} holds {held}, not numbers: {bad.size} of its {len(s)} rows do not read as a number "
                f"{_first(bad)}; {fix}")


def check_rows(bad: np.ndarray, rule: str, what: str, said: str, fix: str) -> None:
    """A :class:`ParameterError` when some units break ``rule``: ``bad`` (a mask over the units) counts them and
    gives the first one's position, never its value; ``what`` names the column or argument, ``said`` what its
    values are (« missing or infinite »), ``fix`` what to do."""
    positions = np.flatnonzero(bad)
    if positions.size:
        raise ParameterError(f"{rule}: {positions.size} row(s) of {what} are {said} {_first(positions)}; {fix}")


def aligned(values, index, what: str):
    """``values`` as given, or, for a pandas Series on another order of ``index`` (the data's rows), its values in
    the data's order (an array): a Series is matched to the rows by its index, as pandas does, not by position (an
    audit: weights given as a shuffled Series were used position by position, mean 644.9 for 662.3). A Series whose
    index does not hold the data's rows is refused."""
    import pandas as pd

    if not isinstance(values, pd.Series) or values.index.equals(index):
        return values
    if len(values) == len(index) and values.index.is_unique and values.index.isin(index).all():
        return values.reindex(index).array
    raise ParameterError(f"{what} is a Series whose index is not the data's rows: give it on the data's index, or "
                         "plain values (a list, an array) in the data's order")


def design_values(data, given, role: str) -> np.ndarray:
    """The values of :meth:`Design.from_frame`'s ``weights``, ``prob`` or ``fpc`` (``role``), given as a column name
    of ``data`` or as values: numbers (:func:`numeric_values`), one per unit, and finite and within the argument's
    range (weights non-negative, probabilities in (0, 1]); a unit that breaks the rule is counted and located, never
    shown."""
    what = f"{role} column {given!r}" if isinstance(given, str) else f"{role} (the values given)"
    v = numeric_values(data[given] if isinstance(given, str) else given, what,
                       given if isinstance(given, str) else None)
    n = len(data)
    if len(v) != n:
        raise ParameterError(f"{role} must be one per unit: {what} has {len(v)} values for {n} rows of data")
    if role == "prob":
        check_rows(~((v > 0) & (v <= 1)), "inclusion probabilities must lie in (0, 1]", what,
                   "missing or outside (0, 1]", "give every unit its probability (1 for a unit sampled with certainty)")
    elif role == "fpc":
        check_rows(~np.isfinite(v), "the fpc must be given for every unit", what, "missing or infinite",
                   "give each stratum's population number of PSUs (or its sampling fraction) on all its units")
    else:
        rule = "weights must be finite, non-negative and one per unit"
        check_rows(~np.isfinite(v), rule, what, "missing or infinite", "give every unit a finite weight (0 for a "
                   "unit kept out of the estimates, such as a non-respondent), or drop the units without one")
        check_rows(v < 0, rule, what, "negative", "a weight is 1/π or a number of units represented: check how "
                   "the column was computed")
    return v


def calibration_bounds(bounds: object) -> tuple[float, float]:
    """:func:`calibrate`'s ``bounds`` as ``(L, U)``: two real numbers with ``L < 1 < U`` (``(-inf, inf)`` for
    ``None``); text such as ``("0.5", "2")`` is refused, not converted."""
    if bounds is None:
        return -np.inf, np.inf
    pair = list(bounds) if isinstance(bounds, (tuple, list, np.ndarray)) else []
    L, U = (real_number(b) for b in pair) if len(pair) == 2 else (None, None)
    if L is None or U is None:
        raise ParameterError("bounds must be two numbers (L, U) on g = w/d with L < 1 < U, e.g. bounds=(0.5, 2.0); got "
                             + (", ".join(type(b).__name__ for b in pair) if len(pair) == 2 else type(bounds).__name__))
    if not L < 1 < U:
        raise ParameterError(f"bounds must satisfy L < 1 < U, got {bounds}")
    return L, U
