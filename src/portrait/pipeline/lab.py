"""``make lab``: JupyterLab on the project's kernel, with outputs kept out of git.

1. installs the kernel ``portrait`` (« Python (portrait) ») into this environment: this interpreter,
   with ``PORTRAIT_ROOT`` and ``PYTHONHASHSEED=0`` as ``make`` sets them, so that a notebook run in
   Lab computes what ``make`` computes;
2. installs the nbstripout git filter in the repository, so that ``git add`` never stages outputs;
3. starts JupyterLab in the repository and prints the URL to open; it opens a browser only when a
   display is available (``DISPLAY`` or ``WAYLAND_DISPLAY``, or ``--browser``), and runs as root too
   (``--allow-root``: containers usually run as root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import paths

KERNEL = "portrait"
DISPLAY_NAME = "Python (portrait)"


def install_kernel(prefix: str | os.PathLike = sys.prefix) -> Path:
    """Write the ``portrait`` kernelspec under ``prefix``/share/jupyter/kernels; return its folder."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": DISPLAY_NAME, "language": "python",
            "env": {"PORTRAIT_ROOT": str(paths.ROOT), "PYTHONHASHSEED": "0",
                    "PYTHONPATH": str(paths.ROOT / "src")},
            "metadata": {"debugger": True}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return folder


def install_output_filter() -> str:
    """Install nbstripout as the repository's git filter for notebooks; a sentence saying what was done."""
    if shutil.which("git") is None or not (paths.ROOT / ".git").exists():
        return "not a git checkout: the nbstripout filter is not installed (make test still checks notebooks)"
    r = subprocess.run([sys.executable, "-m", "nbstripout", "--install"], cwd=paths.ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"nbstripout --install failed ({r.stderr.strip()[:200]}); notebooks are still checked by make test"
    return "git filter nbstripout installed: outputs are stripped from notebooks when they are staged"


def lab_command(port: int, ip: str, browser: bool) -> list[str]:
    """The ``jupyter lab`` command line."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={paths.ROOT}", f"--ServerApp.ip={ip}",
           f"--ServerApp.port={port}", f"--MappingKernelManager.default_kernel_name={KERNEL}"]
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.lab", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--ip", default="127.0.0.1", help="0.0.0.0 to reach it from outside a container")
    parser.add_argument("--browser", action="store_true",
                        help="open a browser (default: only when a display is available)")
    args = parser.parse_args(argv)
    folder = install_kernel()
    print(f"kernel {KERNEL!r} ({DISPLAY_NAME}) installed in {folder}", flush=True)
    print(install_output_filter(), flush=True)
    browser = args.browser or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    print("starting JupyterLab; open the URL it prints (with its token). The loop: edit a notebook in Lab, "
          "then `make` to rebuild what depends on it, then read reports/index.html. Stop with Ctrl-C.",
          flush=True)
    cmd = lab_command(args.port, args.ip, browser)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
