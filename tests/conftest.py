"""Shared fixtures: the real resident frame (from data/raw) and small helpers."""

from __future__ import annotations

import pytest

from portrait import frames

from . import chainrun

DEFAULT = dict(population_year=2017, departments=["02", "59", "60", "62", "80"],
               size_breaks=[1000, 5000, 20000, 100000], invitations=5000, take_per_commune=20,
               allocation="proportional", min_psu_per_stratum=2)


@pytest.fixture(scope="session")
def resident_frame():
    """The resident frame built from the committed raw files with the default parameters."""
    return frames.resident_frame_from_params(DEFAULT)


def pytest_terminal_summary(terminalreporter):
    """One closing line when the browser tests were skipped, with the command that installs chromium."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("chromium" in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_line("browser tests skipped: chromium is not installed; install it with "
                                    "`sudo apt-get install chromium` and run `make test` again", yellow=True)


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """The whole chain with the study's parameters, built by make from a clean checkout (once per session)."""
    root = chainrun.checkout(tmp_path_factory.mktemp("full"))
    r = chainrun.make(root, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return root


@pytest.fixture(scope="session")
def reduced_runs(tmp_path_factory):
    """Two clean checkouts with the reduced parameters, each built by make (once per session)."""
    runs = []
    for name in ("reduced-a", "reduced-b"):
        root = chainrun.reduce(chainrun.checkout(tmp_path_factory.mktemp(name)))
        r = chainrun.make(root, check=False)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        runs.append(root)
    return runs
