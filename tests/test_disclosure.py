"""Disclosure control: complementary suppression checked by an intruder's linear programs, and those
programs checked by brute force.

Oracles: (1) for small tables, every integer table consistent with what is published is enumerated,
and the audit's bounds must equal the brute-force min and max; (2) on the tables the issue found
recoverable (clients aged 75+: 192 − (78 + 37 + 45 + 31) = 1), the audit of the protected table must
leave every suppressed cell with a range of at least the threshold that reaches it; (3) on small tables,
every pattern of suppressed cells is enumerated: the one published hides the fewest respondents the rule
and the audit allow.
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
    assert {(r.row, r.col) for r in got.itertuples()} == set(brute) and len(brute) > 1   # every suppressed cell
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
    """Random partner type × age tables with small cells: as published, no suppressed cell can be
    pinned down (range ≥ threshold) or shown to be small (range reaching the threshold)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.choice([2, 8, 30, 80], size=(5, 5)))
    s = disclosure.suppression(counts, THRESHOLD)
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
    s = disclosure.suppression(counts, THRESHOLD)
    assert s.sum() > 2
    assert disclosure.unprotected(counts, s, THRESHOLD).empty
    one_way = np.array([150, 210, 12, 4])
    s1 = disclosure.suppression(one_way, THRESHOLD)
    assert s1.sum() >= 2 and disclosure.unprotected(one_way, s1, THRESHOLD).empty


def _rule_holds(n, s, threshold):
    """The protection rule, written out: every row and column (of two cells or more) holding a suppressed
    cell holds two, counting ``threshold`` respondents or the whole line."""
    lines = [(n[i], s[i]) for i in range(n.shape[0])] * (n.shape[1] > 1) + \
            [(n[:, j], s[:, j]) for j in range(n.shape[1])] * (n.shape[0] > 1)
    return all(not sup.any() or (sup.sum() >= 2 and cnt[sup].sum() >= min(threshold, cnt.sum()))
               for cnt, sup in lines)


def _brute_best(n, threshold, audited):
    """(respondents hidden, cells hidden) of the best pattern over every superset of the small cells that
    meets the rule (and, if ``audited``, passes the intruder's audit)."""
    primary = n < threshold
    free = list(zip(*np.nonzero(~primary)))
    candidates = []
    for pick in itertools.product((False, True), repeat=len(free)):
        s = primary.copy()
        for cell, on in zip(free, pick):
            s[cell] = on
        if _rule_holds(n, s, threshold):
            candidates.append(((n[s].sum(), s.sum()), s))
    candidates.sort(key=lambda c: c[0])          # cheapest first: the first the audit passes is the best
    return next((cost for cost, s in candidates
                 if not audited or disclosure.unprotected(n, s, threshold).empty), None)


@pytest.mark.parametrize("seed", range(12))
def test_suppression_hides_the_fewest_respondents(seed):
    """Oracle: brute force over every pattern of a small table. ``protect`` hides the fewest respondents (then
    the fewest cells) the rule allows; ``suppression`` the fewest among the patterns that also pass the audit."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(rng.choice([3, 12, 40], size=(3, 3))).astype(float)
    if not (n < THRESHOLD).any():
        n[0, 0] = 2
    p = disclosure.protect(n, THRESHOLD)
    assert _rule_holds(n, p, THRESHOLD)
    assert (n[p].sum(), p.sum()) == _brute_best(n, THRESHOLD, audited=False)
    s = disclosure.suppression(n, THRESHOLD)
    best = _brute_best(n, THRESHOLD, audited=True)
    if best is not None:
        assert (n[s].sum(), s.sum()) == best
    assert disclosure.unprotected(n, s, THRESHOLD).empty or s.all()


def test_a_pattern_the_audit_refuses_is_replaced_by_the_next_best():
    """A table (found by search) whose cheapest pattern under the rule leaves a cell the audit can tell small:
    ``suppression`` moves to another pattern that passes the audit, still cheaper than hiding rows and columns."""
    n = np.array([[91, 81, 1], [3, 1, 3], [41, 9, 11], [3, 79, 21]], dtype=float)
    p = disclosure.protect(n, THRESHOLD)
    assert not disclosure.unprotected(n, p, THRESHOLD).empty
    s = disclosure.suppression(n, THRESHOLD)
    assert disclosure.unprotected(n, s, THRESHOLD).empty and _rule_holds(n, s, THRESHOLD)
    assert not s.all() and (s != p).any()


def test_synthesis_partner_by_age_table_keeps_the_cells_greedy_hid():
    """Report 07's clients by partner type × age (simulated run, 2026-12): smallest-first greedy suppression hid
    the whole « Congrès et salons » row, 10 cells and 270 respondents; the optimal pattern hides 6 cells and
    136 respondents and passes the audit. (A change detector for this table; the oracle is the brute force above.)"""
    n = np.array([[95, 214, 237, 141, 45], [101, 210, 208, 115, 37], [127, 245, 207, 107, 32],
                  [14, 42, 46, 11, 1], [0, 3, 14, 109, 76]], dtype=float)
    greedy = disclosure._greedy(n, THRESHOLD)
    assert greedy[3].all() and n[greedy].sum() == 270
    s = disclosure.suppression(n, THRESHOLD)
    assert disclosure.unprotected(n, s, THRESHOLD).empty and _rule_holds(n, s, THRESHOLD)
    assert n[s].sum() == 136 and s.sum() == 6 and not s[3].all()


def test_equally_costly_patterns_are_chosen_by_a_fixed_rule():
    """Two complementary cells of 20 protect the small one equally well: the first in reading order is
    suppressed, whatever the solver's path (rows and columns alike), so the reports do not depend on the machine."""
    assert disclosure.suppression(np.array([5, 20, 20]), THRESHOLD).tolist() == [True, True, False]
    assert disclosure.suppression(np.array([20, 20, 5]), THRESHOLD).tolist() == [True, False, True]
    n = np.array([[5, 20, 20], [20, 40, 40], [20, 40, 40]], dtype=float)
    s = disclosure.suppression(n, THRESHOLD)
    assert s.tolist() == [[True, True, False], [True, True, False], [False, False, False]]
