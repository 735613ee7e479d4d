"""Progress bars where someone is watching, never in a notebook's saved outputs.

- ``make`` (the runner, :mod:`.run`): the terminal shows each notebook's cells as they run, and a
  long loop inside a notebook (e.g. the validation's replications) draws its bar on the terminal
  (``/dev/tty``), not into the executed notebook, whose outputs must be identical between runs;
- JupyterLab: the bar is drawn in the notebook (``tqdm.auto``: a widget when ipywidgets is installed);
- elsewhere (CI logs, a script whose standard error is a file): no bar.

The runner tells the kernel where to draw through ``PORTRAIT_PROGRESS`` (a file such as
``/dev/tty``, or ``off``).
"""

from __future__ import annotations

import os
import sys

ENV = "PORTRAIT_PROGRESS"


def terminal() -> str:
    """What the runner passes to its kernels: ``/dev/tty`` when a person watches the terminal, else ``off``."""
    if not sys.stderr.isatty():
        return "off"
    try:
        with open("/dev/tty", "w"):
            return "/dev/tty"
    except OSError:
        return "off"


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def bar(total: int, desc: str, unit: str = "it"):
    """A ``tqdm`` bar of ``total`` steps drawn where it can be seen (see the module's docstring), or a
    disabled one; use it as a context manager and call ``update()``."""
    from tqdm import tqdm

    target = os.environ.get(ENV, "")
    if target == "off":
        return tqdm(total=total, disable=True)
    if target:
        try:
            return _Closing(tqdm(total=total, desc=desc, unit=unit, file=open(target, "w"), leave=False))
        except OSError:
            return tqdm(total=total, disable=True)
    if _in_notebook():
        from tqdm.auto import tqdm as auto

        return auto(total=total, desc=desc, unit=unit)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)


class _Closing:
    """A tqdm bar that also closes the file it draws on."""

    def __init__(self, inner):
        self.inner = inner

    def update(self, n: int = 1) -> None:
        self.inner.update(n)

    def close(self) -> None:
        fh = self.inner.fp
        self.inner.close()
        fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
