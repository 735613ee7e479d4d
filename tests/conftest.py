"""Shared fixtures: the real resident frame (from data/raw) and small helpers."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from portrait.study import frames

from . import chainrun, helpers

DEFAULT = dict(population_year=2017, departments=["02", "59", "60", "62", "80"],
               size_breaks=[1000, 5000, 20000, 100000], invitations=5000, take_per_commune=20,
               allocation="proportional", min_psu_per_stratum=2)


@pytest.fixture(scope="session")
def resident_frame():
    """The resident frame built from the committed raw files with the default parameters."""
    return frames.resident_frame_from_params(DEFAULT)


BROWSER_HINT = ("browser tests skipped: chromium is not installed; install it with "
                "`sudo apt-get install chromium` and run `make test` again")


def pytest_unconfigure(config):
    """The very last line of the run, when the browser tests were skipped: the command that installs chromium."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if any("chromium" in str(getattr(r, "longrepr", "")) for r in skipped):
        reporter.write_line(BROWSER_HINT, yellow=True)


CHAIN_FIXTURES = {"full_run", "reduced_runs", "scenario_runs"}
_BUILDS: dict[str, chainrun.Build] = {}
_SCENARIOS: dict[str, object] = {}


@pytest.hookimpl(trylast=True)            # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items):
    """Tests that read a chain run go last, and the runs start now, in the background: the three makes
    (the full study, two reduced checkouts for the determinism test) overlap with the unit tests, which
    fill the cores while a make waits on a single notebook."""
    uses = [CHAIN_FIXTURES & set(getattr(i, "fixturenames", ())) for i in items]
    needed = set().union(*uses)
    if not needed or config.option.collectonly:
        return
    items[:] = [i for i, u in zip(items, uses) if not u] + [i for i, u in zip(items, uses) if u]
    base = Path(tempfile.mkdtemp(prefix="portrait-chain-"))
    config.add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))
    if "full_run" in needed:
        _BUILDS["full"] = chainrun.Build(base / "full", reduced=False, jobs=2)
    if needed & {"reduced_runs", "scenario_runs"}:
        _BUILDS["reduced-a"] = chainrun.Build(base / "reduced-a", reduced=True, jobs=1)
        _BUILDS["reduced-b"] = chainrun.Build(base / "reduced-b", reduced=True, jobs=1)
    if "scenario_runs" in needed:
        _SCENARIOS["folder"] = base / "scenario-study"
    config.add_cleanup(lambda: [chainrun.stop(b) for b in _BUILDS.values()])
    config.add_cleanup(lambda: [s.stop() for s in _SCENARIOS.values() if isinstance(s, chainrun.Scenarios)])


@pytest.fixture(scope="session")
def full_run():
    """The whole chain with the study's parameters, built by make from a clean checkout (once per session)."""
    return _BUILDS["full"].wait()


@pytest.fixture(scope="session")
def reduced_runs():
    """Two clean checkouts with the reduced parameters, each built by make (once per session).

    When the scenario test is selected, its runs start here, in a copy of the second checkout made
    before any test re-runs stages in it (see :class:`tests.chainrun.Scenarios`).
    """
    runs = [_BUILDS["reduced-a"].wait(), _BUILDS["reduced-b"].wait()]
    if "folder" in _SCENARIOS and "runs" not in _SCENARIOS:
        _SCENARIOS["runs"] = chainrun.Scenarios(runs[1], _SCENARIOS["folder"])
    return runs


@pytest.fixture(scope="session")
def scenario_runs(reduced_runs):
    """`make scenario` run four times in a copy of a built reduced study (started with :func:`reduced_runs`)."""
    return _SCENARIOS["runs"].wait()


@pytest.fixture(scope="session")
def dclus1():
    """R's ``dclus1``, the one-stage cluster sample of the api data, as the R fixture scripts build it."""
    return helpers.api_design("clus1")
