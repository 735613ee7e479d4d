"""`make lab`: a JupyterLab server that answers, on the project's kernel, as root too, outputs kept out of git."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import nbformat
import pytest

from portrait.pipeline import lab, parameters, paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, json.loads(r.read().decode("utf-8"))


def test_make_lab_serves_jupyterlab_with_the_project_kernel():
    """`make lab` (installing JupyterLab if needed) prints a URL; the server answers there and offers the
    kernel 'portrait', which runs this interpreter with the environment make sets."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(["make", "lab", f"PYTHON={sys.executable}", f"LAB_PORT={port}"], cwd=paths.ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline, url = time.monotonic() + 240, None
        pattern = re.compile(rf"(http://127\.0\.0\.1:{port}/)lab\?token=(\w+)")
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = [m for line in list(lines) if (m := pattern.search(line))]
            url = found[0] if found else None
            time.sleep(0.5)
        log = "".join(lines)
        assert url, f"no URL printed by make lab (exit {proc.poll()}):\n{log[-3000:]}"
        base, token = url.group(1), url.group(2)
        status, body = _get(f"{base}api/status?token={token}")
        assert status == 200 and "started" in body
        _, specs = _get(f"{base}api/kernelspecs?token={token}")
        assert lab.KERNEL in specs["kernelspecs"], sorted(specs["kernelspecs"])
        spec = specs["kernelspecs"][lab.KERNEL]["spec"]
        assert spec["display_name"] == lab.DISPLAY_NAME
        assert spec["argv"][0] == sys.executable
        assert spec["env"]["PORTRAIT_ROOT"] == str(paths.ROOT) and spec["env"]["PYTHONHASHSEED"] == "0"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            assert "--allow-root" in lab.lab_command(port, "127.0.0.1", False)
        if (paths.ROOT / ".git").exists():
            clean = subprocess.run(["git", "config", "--get", "filter.nbstripout.clean"], cwd=paths.ROOT,
                                   capture_output=True, text=True).stdout
            assert "nbstripout" in clean
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=10)
        proc.stdout.close()


@pytest.mark.parametrize("path", parameters.chain(), ids=[p.stem for p in parameters.chain()])
def test_notebooks_open_on_the_project_kernel(path):
    """Lab starts the notebooks on the kernel `make lab` installs (make's runner picks its own)."""
    assert nbformat.read(path, as_version=4).metadata.kernelspec.name == lab.KERNEL
