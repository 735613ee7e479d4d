"""Runs of the whole chain with Make in clean checkouts, shared by the tests that read them.

Test helpers only (not part of the package). ``full`` uses the study's parameters; ``reduced``
merges the small parameters of ``tests/notebooks/*.yaml`` into ``config/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from portrait.pipeline import paths


def checkout(dest: Path) -> Path:
    """Copy the files git would hold (tracked and untracked-but-not-ignored) into ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=paths.ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for f in filter(None, files):
        src = paths.ROOT / f.decode()
        if src.is_file():
            (dest / f.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f.decode())
    return dest


def reduce(root: Path) -> Path:
    """Give a checkout the reduced parameters of the notebook regression test (merged into config/)."""
    for small in sorted((root / "tests" / "notebooks").glob("*.yaml")):
        cfg = root / "config" / small.name
        params = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
        params.update(yaml.safe_load(small.read_text(encoding="utf-8")) or {})
        cfg.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def make(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["make", f"PYTHON={sys.executable}", *args], cwd=root, env=_env(),
                          capture_output=True, text=True, check=check, timeout=1800)


def outputs(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for d in ("data/processed", "reports", "build/executed")
                  for p in (root / d).rglob("*") if p.is_file() and p.name != ".gitkeep")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORTRAIT_ROOT", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PORTRAIT_PSEUDO_KEY"] = "test-key-for-determinism"
    return env


class Build:
    """A make run started in the background in a fresh checkout; :meth:`wait` returns its folder."""

    def __init__(self, root: Path, reduced: bool, jobs: int):
        self.root = reduce(checkout(root)) if reduced else checkout(root)
        self.log = root.parent / f"{root.name}.make.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["make", f"-j{jobs}", f"PYTHON={sys.executable}"], cwd=self.root,
                                         env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)      # its own process group: stop() ends it all

    def wait(self) -> Path:
        code = self.proc.wait(timeout=1800)
        if code != 0:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"make failed in {self.root} (exit {code}):\n{tail}")
        return self.root


def stop(build: Build) -> None:
    """End a build still running (an interrupted session) and reap its process."""
    if build.proc.poll() is None:
        os.killpg(build.proc.pid, signal.SIGKILL)
    build.proc.wait()


def digests(root: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime of every file under data/, build/ and reports/ (the index aside, which links scenarios)."""
    out = {}
    for d in ("data", "build", "reports"):
        for p in sorted((root / d).rglob("*")):
            if p.is_file() and p.relative_to(root).as_posix() != "reports/index.html":
                out[p.relative_to(root).as_posix()] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


SCENARIO_RUNS = {"tourisme": ("NAME=tourisme",),
                 "seuil5": ("NAME=seuil5", "SET=07_synthesis.small_cell_threshold=5"),
                 "again": ("NAME=tourisme",),
                 "niveau90": ("NAME=niveau90", "SET=06_comparison.confidence_level=0.9")}


class Scenarios:
    """`make scenario` four times in a copy of a built reduced study, in a thread, with the study's digests
    before and after each run (read by tests/test_scenario.py).

    The copy is made at once (the tests after it may re-run stages of the study it copies); the runs go on
    beside the other tests that read the chain runs, which execute one notebook at a time: the second
    core is free for them.
    """

    def __init__(self, study: Path, dest: Path):
        shutil.copytree(study, dest, symlinks=True)        # copy2: mtimes kept, make sees it up to date
        self.root = dest
        self.before = digests(dest)
        self.runs: dict[str, subprocess.CompletedProcess] = {}
        self.after: dict[str, dict] = {}
        self.error: BaseException | None = None
        self.proc: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            for name, args in SCENARIO_RUNS.items():
                self.proc = subprocess.Popen(["make", f"PYTHON={sys.executable}", "scenario", *args], cwd=self.root,
                                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                             start_new_session=True)
                out, err = self.proc.communicate(timeout=1200)
                self.runs[name] = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)
                self.after[name] = digests(self.root)
        except BaseException as exc:                       # re-raised in the test that waits
            self.error = exc

    def wait(self) -> "Scenarios":
        self.thread.join(timeout=3600)
        if self.error is not None:
            raise self.error
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
