"""The report figures draw the numbers they are given: values read back from the matplotlib artists and compared
with values computed by hand (the oracles of mutation audit trial L, rows P1–P5)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba_array
from matplotlib.container import BarContainer, ErrorbarContainer

from portrait.reporting import plots

TOL = 1e-9


@pytest.fixture(autouse=True)
def _agg_and_close():
    matplotlib.use("Agg")
    yield
    plt.close("all")


def _points_by_fill(ax) -> dict[str, set[float]]:
    """The y positions of the scatter points, split into filled and hollow (white or transparent face)."""
    out = {"filled": set(), "hollow": set()}
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets())
        if type(coll).__name__ != "PathCollection" or not len(offsets):
            continue
        face = to_rgba_array(coll.get_facecolor())
        hollow = all(c[3] == 0 or np.allclose(c[:3], 1.0) for c in face)
        out["hollow" if hollow else "filled"].update(round(float(y), 9) for y in offsets[:, 1])
    return out


def test_only_differences_significant_after_adjustment_are_drawn_filled():
    """Oracle (hand): a point is filled (« écart établi ») iff p_adj < 0.05. Sorted by estimate, row 0
    (p = 0.01, p_adj = 0.08) must be hollow, row 1 (p_adj = 0.01) filled, row 2 (p = 0.30) hollow.
    Trial L, P1: filled points chosen on the unadjusted p."""
    diff = pd.DataFrame({"display": ["A", "B", "C"], "estimate": [-0.20, 0.10, 0.30],
                         "ci_low": [-0.40, 0.05, -0.10], "ci_high": [0.0, 0.15, 0.70],
                         "p": [0.01, 0.001, 0.30], "p_adj": [0.08, 0.01, 0.45]})
    fig = plots.differences_plot(diff, "t", "x")
    assert _points_by_fill(fig.axes[0]) == {"filled": {1.0}, "hollow": {0.0, 2.0}}


def _bar_centres(ax) -> dict[float, float]:
    """Each horizontal bar's width (its value), keyed by the y of its centre."""
    return {round(b.get_y() + b.get_height() / 2, 9): b.get_width()
            for c in ax.containers if isinstance(c, BarContainer) for b in c}


def _error_segments(ax) -> list[tuple[float, float, float]]:
    """(y, x_low, x_high) of every horizontal error-bar segment."""
    out = []
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            for seg in c.lines[2][0].get_segments():
                (x0, y0), (x1, _) = seg
                out.append((round(float(y0), 9), min(x0, x1), max(x0, x1)))
    return out


def test_each_error_bar_is_drawn_on_its_own_groups_bar():
    """Oracle (hand): residents listed first, so the two groups are not in alphabetical order (« Clients … » <
    « Habitants »). Each segment must lie on a bar whose value it contains: residents 40 in [35, 45] and 20 in
    [16, 24], visitors 10 in [7, 13] and 5 in [3, 7] (%); the four segments are exactly these intervals.
    Trial L, P2: groupby(sort=True) paired one group's intervals with the other group's bars."""
    est = pd.DataFrame({"item_label": ["Forces"] * 4, "label": ["plage", "musée", "plage", "musée"],
                        "group": ["residents", "residents", "visitors", "visitors"],
                        "estimate": [0.40, 0.20, 0.10, 0.05], "ci_low": [0.35, 0.16, 0.07, 0.03],
                        "ci_high": [0.45, 0.24, 0.13, 0.07], "confidence_level": 0.95})
    ax = plots.strengths_weaknesses(est, "t").axes[0]
    bars, segments = _bar_centres(ax), _error_segments(ax)
    assert len(segments) == 4
    for y, lo, hi in segments:
        assert y in bars and lo - TOL <= bars[y] <= hi + TOL
    expected = {(40.0, 35.0, 45.0), (20.0, 16.0, 24.0), (10.0, 7.0, 13.0), (5.0, 3.0, 7.0)}
    drawn = {(round(bars[y], 6), round(lo, 6), round(hi, 6)) for y, lo, hi in segments}
    assert drawn == expected


def test_diverging_bars_are_centred_on_the_neutral_answer():
    """Oracle (hand, in %): shares (.10, .20, .20, .30, .20) start at −(10 + 20 + 20 / 2) = −40, so the bars
    span [−40, −30], [−30, −10], [−10, 10], [10, 40], [40, 60]; a second row (.05, .05, .40, .30, .20) has its
    neutral bar on [−20, 20]. Trial L, P3: the whole neutral share put left of zero."""
    shares = pd.DataFrame({"item_label": "Accueil", "group": ["Habitants"] * 5 + ["Clients du territoire"] * 5,
                           "level": list("12345") * 2,
                           "estimate": [.10, .20, .20, .30, .20, .05, .05, .40, .30, .20]})
    ax = plots.likert_diverging(shares, {}, "t").axes[0]
    spans = [(b.get_x(), b.get_x() + b.get_width()) for b in ax.patches]
    np.testing.assert_allclose(spans[:5], [(-40, -30), (-30, -10), (-10, 10), (10, 40), (40, 60)], atol=1e-9)
    np.testing.assert_allclose(spans[7], (-20, 20), atol=1e-9)


def test_an_axis_offset_uses_the_decimal_comma():
    """Oracle: y from 123456.7891 to 123456.7892 makes matplotlib write an offset « +1.23456789e5 »; after
    french_ticks it must read with a comma and no « . ». Trial L, P4: get_offset kept the decimal point."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [123456.7891, 123456.7892])
    plots.french_ticks(fig)
    fig.canvas.draw()
    offset = ax.yaxis.get_offset_text().get_text()
    assert offset and "." not in offset and "," in offset


def test_profile_bars_are_shares_in_percent():
    """Oracle (hand): bar heights are share × 100, per panel (survey), hue (in order of appearance) and category:
    residents respondents 12, 30 and population 25, 35; visitors 41, 18 and 22, 27. Trial L, P5: shares drawn
    unscaled on the « Part (%) » axis."""
    table = pd.DataFrame({"survey": ["residents"] * 4 + ["visitors"] * 4, "category": ["15-29", "30-44"] * 4,
                          "group": (["Répondants"] * 2 + ["Population"] * 2) * 2,
                          "share": [0.12, 0.30, 0.25, 0.35, 0.41, 0.18, 0.22, 0.27]})
    fig = plots.profile_comparison(table)
    drawn = [[[b.get_height() for b in c] for c in ax.containers if isinstance(c, BarContainer)] for ax in fig.axes]
    np.testing.assert_allclose(drawn, [[[12, 30], [25, 35]], [[41, 18], [22, 27]]], atol=1e-9)
