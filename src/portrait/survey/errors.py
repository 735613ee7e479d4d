"""The engine's errors: each message names the parameter, stratum, margin or level at fault."""

from __future__ import annotations


class SurveyError(ValueError):
    """Base class of the survey engine's errors."""


class ParameterError(SurveyError):
    """An argument is missing, mistyped or inconsistent with the data."""


class SamplingError(SurveyError):
    """A sample cannot be drawn as specified (e.g. more units requested than the stratum holds)."""


class CalibrationError(SurveyError):
    """Calibration cannot be done as asked; the message names the margin and level at fault."""


class ConvergenceError(SurveyError):
    """An iterative fit did not converge; the message says which model and what usually causes it."""
