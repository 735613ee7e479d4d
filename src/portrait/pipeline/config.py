"""Parameters: study-wide settings and one YAML file per notebook, all under ``config/``.

``config/study.yaml`` holds what every stage shares (the seed, the departments, the data source).
``config/<notebook stem>.yaml`` holds one notebook's parameters and overrides the study file.
The runner passes a notebook only the keys its ``parameters`` cell declares.
"""

from __future__ import annotations

import re
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import yaml

from . import paths
from .errors import ParameterError

STUDY_FILE = "study.yaml"
#: a date parameter written as text: year-month-day only (:func:`date`)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_NOTED: ContextVar[list[str] | None] = ContextVar("portrait_parameter_problems", default=None)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a clear error if the file is missing or is not a mapping."""
    path = paths.resolve(path)
    if not path.exists():
        raise ParameterError(f"parameter file {paths.relative(path)} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameter file {paths.relative(path)} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {paths.relative(path)} must hold a mapping of "
                             f"name: value, not a {type(data).__name__}")
    return data


def study() -> dict[str, Any]:
    """Study-wide settings from ``config/study.yaml``."""
    return read_yaml(paths.CONFIG / STUDY_FILE)


def notebook_parameters(notebook: str | Path) -> dict[str, Any]:
    """Parameters for ``notebook``: study-wide settings overridden by ``config/<stem>.yaml``."""
    params = study()
    own = paths.CONFIG / f"{Path(notebook).stem}.yaml"
    if own.exists():
        params.update(read_yaml(own))
    return params


def rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random generator for one named stream of the study.

    The same ``seed`` and ``stream`` always give the same generator; different streams (e.g.
    ``"resident-frame"`` and ``"visitor-frame"``) are statistically independent even with the same
    seed, so adding a stage never changes the draws of another.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    key = zlib.crc32(stream.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(key,))))


@contextmanager
def every_problem() -> Iterator[None]:
    """Check a set of parameters and report every problem at once (also a decorator).

    Within it, :func:`require` and :func:`problem` note a problem and carry on (``require`` then
    returns ``None``) instead of raising; on leaving, one ``ParameterError`` lists every problem
    noted. An exception raised after a problem was noted is taken for its consequence (a value found
    wrong and used all the same) and is not reported. Nested uses report once, at the outermost.
    """
    if _NOTED.get() is not None:
        yield
        return
    token = _NOTED.set([])
    try:
        try:
            yield
        except Exception:
            if not _NOTED.get():
                raise
        noted = _NOTED.get()
    finally:
        _NOTED.reset(token)
    if len(noted) == 1:
        raise ParameterError(noted[0]) from None
    if noted:
        raise ParameterError(f"{len(noted)} problems in the parameters:\n"
                             + "\n".join(f"  - {m}" for m in noted)) from None


def problem(message: str) -> None:
    """A parameter is wrong: a ``ParameterError`` now, or noted within :func:`every_problem`."""
    noted = _NOTED.get()
    if noted is None:
        raise ParameterError(message)
    noted.append(message)


def require(params: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *,
            minimum: float | None = None, maximum: float | None = None, where: str = "",
            choices: Sequence[str] | None = None) -> Any:
    """Return ``params[name]`` after checking its type, range and, given ``choices``, that it is one of them (naming
    the close one, :func:`did_you_mean`); a ``ParameterError`` naming it otherwise (within :func:`every_problem`: the
    problem noted, and ``None``)."""
    label = f"parameter {name!r}" + (f" ({where})" if where else "")
    if name not in params:
        return problem(f"{label} is missing")
    value = params[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok and float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        hint = "; in YAML write floats as 0.001, not 1e-3" if float in kinds and isinstance(value, str) else ""
        return problem(f"{label} must be {names}, got {value!r} ({type(value).__name__}){hint}")
    if minimum is not None and value < minimum:
        return problem(f"{label} must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        return problem(f"{label} must be at most {maximum}, got {value!r}")
    if choices is not None and value not in choices:
        return problem(f"{label} must be one of {', '.join(choices)}, got {value!r}" + did_you_mean([value], choices))
    return value


def date(value: Any, name: str):
    """Parameter ``name`` read as a date (``pandas.Timestamp``); a ``ParameterError`` naming it otherwise.

    Only a date (YAML's unquoted ``2017-03-01``) or a text written year-month-day is read: pandas reads
    « 01/03/2017 » month first, as 3 January, where a French user means 1 March, and a number as nanoseconds
    since 1970; both would move the survey's scope without a word."""
    import datetime as dt

    import pandas as pd

    rule = f"parameter {name!r} must be a date written year-month-day, such as 2017-03-01, got {value!r}"
    if isinstance(value, str) and not ISO_DATE.fullmatch(value.strip()):
        raise ParameterError(rule + (" (day and month order is ambiguous)" if "/" in value or "." in value else ""))
    if not isinstance(value, (str, dt.date)):
        raise ParameterError(f"{rule} ({type(value).__name__})")
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(rule) from exc


def did_you_mean(names, candidates) -> str:
    """« — did you mean 'label'? » for the names close to a candidate (a typo), else nothing."""
    import difflib

    hints = [repr(m[0]) for n in names if (m := difflib.get_close_matches(n, sorted(candidates), n=1, cutoff=0.75))]
    return f" — did you mean {' or '.join(hints)}?" if hints else ""
