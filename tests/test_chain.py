"""The whole chain with Make: byte-identical outputs from two clean checkouts, no-op re-runs, and
parameter changes that re-run only what depends on them."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portrait import paths

pytestmark = pytest.mark.slow


def _checkout(dest: Path) -> Path:
    """Copy the files git would hold (tracked and untracked-but-not-ignored) into ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=paths.ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for f in filter(None, files):
        src = paths.ROOT / f.decode()
        if src.is_file():
            (dest / f.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f.decode())
    return dest


def _make(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PORTRAIT_ROOT", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PORTRAIT_PSEUDO_KEY"] = "test-key-for-determinism"
    return subprocess.run(["make", f"PYTHON={sys.executable}", *args], cwd=root, env=env,
                          capture_output=True, text=True, check=check, timeout=1800)


def _outputs(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for d in ("data/processed", "reports", "build/executed")
                  for p in (root / d).rglob("*") if p.is_file() and p.name != ".gitkeep")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    a = _checkout(tmp_path_factory.mktemp("run-a"))
    b = _checkout(tmp_path_factory.mktemp("run-b"))
    for root in (a, b):
        r = _make(root, check=False)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return a, b


def test_two_clean_runs_give_byte_identical_outputs(two_runs):
    """Processed data, executed notebooks and HTML reports are byte-identical across two clean checkouts."""
    a, b = two_runs
    files = _outputs(a)
    assert "reports/index.html" in files and "data/processed/resident_slots.parquet" in files
    assert files == _outputs(b)
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []


def test_index_links_every_report(two_runs):
    """reports/index.html links the rendered report of every notebook of the chain."""
    a, _ = two_runs
    index = (a / "reports" / "index.html").read_text(encoding="utf-8")
    for nb in sorted((a / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f'href="{nb.stem}.html"' in index
        assert (a / "reports" / f"{nb.stem}.html").exists()


def test_second_make_does_nothing(two_runs):
    """Re-running make with nothing changed rebuilds nothing."""
    a, _ = two_runs
    r = _make(a)
    assert "Nothing to be done" in r.stdout, r.stdout
    assert _make(a, "-q", check=False).returncode == 0


def test_parameter_change_reruns_only_its_dependants(two_runs):
    """Touching the resident-frame parameters re-runs it and what reads its outputs, not the visitor frame."""
    a, _ = two_runs
    os.utime(a / "config" / "01_resident_frame.yaml")
    done = _make(a).stdout.splitlines()
    assert done[0] == "✓ build/executed/01_resident_frame.ipynb" and done[-1] == "✓ reports/index.html"
    assert "✓ build/executed/03_fieldwork.ipynb" in done                  # reads the resident sample
    assert "✓ build/executed/02_visitor_frame.ipynb" not in done           # does not
    assert "✓ reports/02_visitor_frame.html" not in done
    executed = {line.split("/")[-1].removesuffix(".ipynb") for line in done if "build/executed/" in line}
    reports = {line.split("/")[-1].removesuffix(".html") for line in done if line.startswith("✓ reports/")}
    assert reports == executed | {"index"}
