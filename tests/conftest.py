"""Shared fixtures: the real resident frame (from data/raw) and small helpers."""

from __future__ import annotations

import pytest

from portrait import frames

DEFAULT = dict(population_year=2017, departments=["02", "59", "60", "62", "80"],
               size_breaks=[1000, 5000, 20000, 100000], invitations=5000, take_per_commune=20,
               allocation="proportional", min_psu_per_stratum=2)


@pytest.fixture(scope="session")
def resident_frame():
    """The resident frame built from the committed raw files with the default parameters."""
    return frames.resident_frame_from_params(DEFAULT)
