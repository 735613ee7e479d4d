"""After the benchmarks: medians of ours and the peers (svy, weightipy) per case, the ratios, the targets.

The table is printed at the end of the run and written, with the machine and the date, to
``build/bench/summary.md`` (the figures of ``BENCHMARKS.md`` come from there).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata

import pytest

from portrait.pipeline import io, paths

SUMMARY = paths.BUILD / "bench" / "summary.md"
_failed: set[str] = set()
_load_start = os.getloadavg()


def pytest_runtest_logreport(report):
    """Remember the benchmarks whose check failed, to flag them in the table."""
    if report.failed:
        _failed.add(report.nodeid)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1000:,.1f}"


PEERS = ("svy", "weightipy")
TITLES = {"engine": "Engine calls (from a `Design`)",
          "user path": "User path (from the DataFrame and the margins dict to the weight vector)"}


def summary_table(benchmarks) -> list[str]:
    """Markdown tables, one per group of cases (``extra_info["table"]``, default « engine »): case,
    ours, each peer present, ours/peer, target, met (one row per case, in run order)."""
    tables: dict[str, dict[str, dict]] = {}
    for b in benchmarks:
        info = b.extra_info
        if "case" not in info or b.stats is None:
            continue
        row = tables.setdefault(info.get("table", "engine"), {}).setdefault(info["case"], {})
        row[info["impl"]] = b.stats.median
        row[info["impl"] + "_failed"] = b.fullname in _failed
        if info.get("target_ms") is not None:
            row["target_ms"] = info["target_ms"]
        if "max_rel_diff_vs_ours" in info:
            row[info["impl"] + "_diff"] = info["max_rel_diff_vs_ours"]
        if "sweeps" in info:
            row[info["impl"] + "_sweeps"] = (info["sweeps"], info.get("sweeps_own_rule"))
    lines: list[str] = []
    for table, cases in tables.items():
        peers = [p for p in PEERS if any(p in row for row in cases.values())]
        if lines:
            lines.append("")
        lines += [f"**{TITLES.get(table, table)}**", "",
                  "| case | ours median (ms) | " + "".join(f"{p} median (ms) | " for p in peers)
                  + "".join(f"ours/{p} | " for p in peers) + "target (ms) | target met |",
                  "|---|---:|" + "---:|" * (2 * len(peers)) + "---:|:---|"]
        for case, row in cases.items():
            ours = row.get("ours")
            target = row.get("target_ms")
            if row.get("ours_failed"):
                met = "**check failed**"
            elif target is None or ours is None:
                met = "—"
            else:
                met = "yes" if ours * 1000 <= target else "**NO**"
            peer_cells = [_ms(row.get(p)) + (" (check failed)" if row.get(p + "_failed") else "") for p in peers]
            ratios = [f"{ours / row[p]:.2f}" if ours is not None and row.get(p) is not None else "—"
                      for p in peers]
            lines.append(f"| {case} | {_ms(ours)} | " + "".join(c + " | " for c in peer_cells)
                         + "".join(r + " | " for r in ratios)
                         + f"{'—' if target is None else f'≤ {target:,}'} | {met} |")
        for p in peers:
            diffs = [(case, row[p + "_diff"]) for case, row in cases.items() if p + "_diff" in row]
            if diffs:
                lines.append("")
                lines.append(f"{p}'s weights against ours, largest relative difference: "
                             + "; ".join(f"{case} {d:.1e}" for case, d in diffs) + ".")
            sweeps = [(case, row[p + "_sweeps"]) for case, row in cases.items() if p + "_sweeps" in row]
            if sweeps:
                lines.append("")
                lines.append(f"{p}'s sweeps (fewest reaching 1e-9 on every margin level; its own stopping rule): "
                             + "; ".join(f"{case} {k} ({own})" for case, (k, own) in sweeps) + ".")
    return lines


def machine() -> list[str]:
    """Markdown lines: date, cores, CPU, load, and the versions that matter."""
    load_end = os.getloadavg()
    return [
        f"- date (UTC): {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M}",
        f"- machine: {os.cpu_count()} cores ({_cpu()}), {platform.system()} {platform.release()}",
        f"- load average (1 min) at start / end of the run: {_load_start[0]:.2f} / {load_end[0]:.2f}",
        f"- Python {platform.python_version()}; numpy {_version('numpy')}, scipy {_version('scipy')}, "
        f"pandas {_version('pandas')}, pytest-benchmark {_version('pytest-benchmark')}; "
        f"svy {_version('svy')} (polars {_version('polars')}, svy-rs {_version('svy-rs')}), "
        f"weightipy {_version('weightipy')}, pyarrow {_version('pyarrow')}",
    ]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    """Print the comparison table and write it to build/bench/summary.md."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    rows = summary_table(session.benchmarks)
    if not rows:
        return
    text = "\n".join(["Medians of the weighting benchmarks (`make bench`)", ""] + machine() + [""] + rows) + "\n"
    terminalreporter.write_sep("=", "weighting benchmarks: ours vs svy and weightipy, and the targets")
    terminalreporter.write_line(text)
    io.write_text(SUMMARY, text)
    terminalreporter.write_line(f"written to {paths.relative(SUMMARY)}")
