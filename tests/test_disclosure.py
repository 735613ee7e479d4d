"""Disclosure control: complementary suppression checked by an intruder's linear programs, and those
programs checked by brute force.

Oracles: (1) for small tables, every integer table consistent with what is published is enumerated,
and the audit's bounds must equal the brute-force min and max; (2) on the tables the issue found
recoverable (clients aged 75+: 192 − (78 + 37 + 45 + 31) = 1), the audit of the protected table must
leave every suppressed cell with a range of at least the threshold that reaches it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from portrait.reporting import disclosure

THRESHOLD = 10


def _brute_bounds(counts, suppressed):
    """Min and max of each suppressed cell over every non-negative integer table with the same visible
    cells, row totals and column totals (small tables only)."""
    n = np.atleast_2d(counts)
    s = np.atleast_2d(suppressed)
    cells = list(zip(*np.nonzero(s)))
    rows, cols = n.sum(axis=1), n.sum(axis=0)
    cap = int(min(rows.max(), cols.max()))
    found = {c: [np.inf, -np.inf] for c in cells}
    for values in itertools.product(range(cap + 1), repeat=len(cells)):
        m = n.copy().astype(float)
        for c, v in zip(cells, values):
            m[c] = v
        if (n.shape[1] < 2 or np.array_equal(m.sum(axis=1), rows)) and \
                (n.shape[0] < 2 or np.array_equal(m.sum(axis=0), cols)):
            for c, v in zip(cells, values):
                found[c] = [min(found[c][0], v), max(found[c][1], v)]
    return found


@pytest.mark.parametrize("counts", [
    np.array([[1, 12, 4], [3, 2, 6]]),
    np.array([[0, 5, 2], [7, 1, 3]]),
    np.array([[2, 9, 4, 1]]),
])
def test_audit_bounds_equal_brute_force(counts):
    s = counts < 5
    got = disclosure.audit(counts, s)
    brute = _brute_bounds(counts, s)
    for r in got.itertuples():
        assert (r.low, r.high) == tuple(brute[(r.row, r.col)])


def test_single_suppression_is_recovered_by_the_audit():
    """The flaw the issue found, reproduced: one suppressed cell in a column with a public total."""
    counts = np.array([[78], [37], [45], [31], [1]]).T          # one age, five partner types
    s = counts < THRESHOLD
    a = disclosure.audit(counts, s)
    assert (a["low"] == 1).all() and (a["high"] == 1).all()      # recovered exactly
    assert len(disclosure.unprotected(counts, s, THRESHOLD)) == 1


@pytest.mark.parametrize("seed", range(20))
def test_protected_tables_resist_the_audit(seed):
    """Random partner type × age tables with small cells: after protection, no suppressed cell can be
    pinned down (range ≥ threshold) or shown to be small (range reaching the threshold)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.choice([2, 8, 30, 80], size=(5, 5)))
    s = disclosure.protect(counts, THRESHOLD)
    assert (s | (counts >= THRESHOLD)).all() and s[counts < THRESHOLD].all()
    bad = disclosure.unprotected(counts, s, THRESHOLD)
    assert bad.empty, bad


def test_issue_tables_are_protected():
    """Clients by partner type × age with the counts of the issue (Congrès × 75+ = 1, Groupes seniors ×
    30–44 = 3): protection hides more than the small cells, and the audit recovers nothing."""
    counts = np.array([[120, 180, 160, 150, 78],
                       [60, 90, 80, 70, 37],
                       [40, 60, 70, 55, 45],
                       [20, 3, 30, 40, 31],
                       [15, 25, 20, 18, 1]])
    s = disclosure.protect(counts, THRESHOLD)
    assert s.sum() > 2
    assert disclosure.unprotected(counts, s, THRESHOLD).empty
    one_way = np.array([150, 210, 12, 4])
    s1 = disclosure.protect(one_way, THRESHOLD)
    assert s1.sum() >= 2 and disclosure.unprotected(one_way, s1, THRESHOLD).empty
