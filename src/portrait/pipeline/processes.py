"""Worker processes of the long computations (the validation's replications, the finite population's truth).

``fork`` shares what the parent holds without copying it and starts a worker in milliseconds, but from Python 3.12
on, forking a process that runs threads (numpy's OpenBLAS starts some at import) raises a DeprecationWarning —
an error under ``make test`` — and may deadlock the child; Python 3.14 makes ``forkserver`` the default on Linux.
So ``fork`` is used up to Python 3.11, ``forkserver`` after (the setup is then pickled to each worker once: 15 MB,
a few hundredths of a second), and ``spawn`` where neither exists (Windows). Results do not depend on the method.
"""

from __future__ import annotations

import multiprocessing
import sys


def start_method(version: tuple[int, int] | None = None, available: list[str] | None = None) -> str:
    """The start method for worker processes on this Python (``version``) and platform (``available`` methods)."""
    version = tuple(sys.version_info[:2]) if version is None else version
    available = multiprocessing.get_all_start_methods() if available is None else available
    preferred = ("fork", "forkserver", "spawn") if version < (3, 12) else ("forkserver", "spawn")
    return next(m for m in preferred if m in available)


def worker_context(method: str | None = None):
    """The multiprocessing context of :func:`start_method` (or of ``method``)."""
    return multiprocessing.get_context(method or start_method())
