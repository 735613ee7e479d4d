"""The weighting recipes' parameters read and checked (:class:`portrait.study.recipes.Recipe`): the calibration
method with its bounds, and the trimming bounds; each problem is reported (:func:`portrait.pipeline.config.problem`)."""

from __future__ import annotations

from typing import Any, Mapping

from .. import survey
from ..pipeline.config import problem, require


def method_and_bounds(params: Mapping[str, Any], name: str = "calibration_method"
                      ) -> tuple[str, tuple[float, float] | None]:
    """The calibration method named by ``params[name]`` and the ``calibration_bounds``, checked.

    Parameters
    ----------
    params : mapping
        The recipe's parameters.
    name : str, default "calibration_method"
        The parameter naming the method.

    Returns
    -------
    tuple
        The method and the bounds ``(L, U)`` as floats, or ``None`` when they are not given or not valid (a
        problem is then reported).
    """
    method = require(params, name, str, choices=survey.CALIBRATION_METHODS)
    bounds = params.get("calibration_bounds")
    if bounds is None:
        return method, None
    if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            and 0 <= bounds[0] < 1 < bounds[1]):
        text = isinstance(bounds, (list, tuple)) and any(isinstance(b, str) for b in bounds)
        problem(f"parameter 'calibration_bounds' must be [L, U] with 0 ≤ L < 1 < U, got {bounds!r}"
                + ("; a bound in quotes was read as text: in YAML write 3.0, not 3e0" if text else ""))
        return method, None
    return method, (float(bounds[0]), float(bounds[1]))


def trimming_bounds(params: Mapping[str, Any]) -> tuple[float | None, float | None] | None:
    """The ``trimming`` parameter, checked: multiples of the median calibrated weight.

    Parameters
    ----------
    params : mapping
        The recipe's parameters.

    Returns
    -------
    tuple or None
        ``(lower, upper)`` as floats (either may be ``None``); ``None`` when there is no trimming, or when the
        parameter is not valid (a problem is then reported).
    """
    t = params.get("trimming")
    if t is None:
        return None
    number = lambda b: isinstance(b, (int, float)) and not isinstance(b, bool)      # noqa: E731
    if not (isinstance(t, (list, tuple)) and len(t) == 2 and all(b is None or number(b) for b in t)
            and (t[0] is None or 0 < t[0] < 1) and (t[1] is None or t[1] > 1) and tuple(t) != (None, None)):
        problem("parameter 'trimming' must be null or [lower, upper], multiples of the median calibrated weight with "
                f"0 < lower < 1 < upper (one of them may be null), got {t!r}")
        return None
    return tuple(None if b is None else float(b) for b in t)
