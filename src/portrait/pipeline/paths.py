"""Every directory of the repository, resolved once.

No code in the project depends on the current working directory: papermill, JupyterLab and
pytest-notebook all start kernels in different directories. ``PORTRAIT_ROOT`` overrides the
root (the Makefile exports it), otherwise the root is the checkout that holds this package.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("PORTRAIT_ROOT", Path(__file__).resolve().parents[3])).resolve()

CONFIG = ROOT / "config"
DATA = ROOT / "data"
RAW = DATA / "raw"
PROCESSED = DATA / "processed"
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build"
EXECUTED = BUILD / "executed"
REPORTS = ROOT / "reports"
TESTS = ROOT / "tests"


def resolve(path: str | os.PathLike) -> Path:
    """Return ``path`` as an absolute path, relative paths being taken from the repository root."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def relative(path: str | os.PathLike) -> str:
    """Return ``path`` relative to the repository root when it lies inside it (for messages and reports)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(ROOT).as_posix()
    except ValueError:
        return p.as_posix()
