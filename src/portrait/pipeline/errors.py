"""Typed errors whose messages a survey analyst can act on.

Each message names what is wrong (file, row, column, value, parameter, stratum, margin) and,
where possible, what to do. The runner prints these messages as they are. The engine's errors
(:mod:`portrait.survey.errors`: ``ParameterError``, ``SamplingError``, ``CalibrationError``) are
re-exported here for the study's code.
"""

from __future__ import annotations

from ..survey.errors import CalibrationError, ParameterError, SamplingError, SurveyError

__all__ = ["PortraitError", "InputError", "CodebookError", "SurveyValidationError", "ParameterError",
           "SamplingError", "CalibrationError", "SurveyError"]


class PortraitError(Exception):
    """Base class of the project's errors."""


class InputError(PortraitError, ValueError):
    """An input file is unreadable or breaks a rule; the message names file, row, column and value."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, value: object = None):
        parts = []
        if file is not None:
            parts.append(f"file {file}")
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        if value is not None:
            parts.append(f"value {value!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.column, self.value = file, row, column, value


class CodebookError(PortraitError, ValueError):
    """The codebook (``config/codebook.yaml``) is inconsistent: duplicate codes, missing labels…"""


class SurveyValidationError(InputError):
    """A survey export breaks the codebook's rules; ``problems`` lists every one of them.

    Raised by :mod:`portrait.study.ingest` after checking every file, so the message lists all the
    problems at once (the first 50, then a count); nothing is written when it is raised.
    """

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])
