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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SIMULATED_LABEL = "données simulées"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def test_reports_in_a_real_browser(two_runs, browser):
    """Every report opens from the file system in headless Chromium with no console error, every image displays
    and has alternative text, no error or warning output is shown, and simulated reports say so."""
    a, _ = two_runs
    problems = []
    for html in sorted((a / "reports").glob("*.html")):
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("Array.from(document.images).map(i => [i.naturalWidth, i.getAttribute('alt') || ''])")
        stderr = page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count()
        text = page.inner_text("body")
        name = html.name
        problems += [f"{name}: console error {e}" for e in errors]
        problems += [f"{name}: image {i} does not display" for i, (w, _) in enumerate(images) if w == 0]
        problems += [f"{name}: image {i} has no alternative text" for i, (_, alt) in enumerate(images) if not alt.strip()]
        if stderr:
            problems.append(f"{name}: {stderr} error or warning output(s) shown")
        if "Traceback" in text:
            problems.append(f"{name}: a traceback is shown")
        if name != "index.html" and page.locator(".portrait-banner").count() and SIMULATED_LABEL not in text.lower():
            problems.append(f"{name}: simulated data not labelled")
        page.close()
    assert problems == []


def test_synthesis_reads_as_reviewers_need(two_runs, browser):
    """The synthesis has no code, labels every section « données simulées », shows no small cell, has a table
    of contents, and a screenshot is saved for a person to look at."""
    a, _ = two_runs
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((a / "reports" / "07_synthesis.html").as_uri())
    assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0, "code is shown to reviewers"
    sections = page.evaluate("""() => {
        const out = []; let cur = null;
        for (const el of document.querySelectorAll('main *')) {
            if (el.tagName === 'H2') { cur = {title: el.innerText, text: ''}; out.push(cur); }
            else if (cur && el.children.length === 0) cur.text += ' ' + el.innerText;
        }
        return out; }""")
    assert len(sections) >= 8
    unlabelled = [s["title"] for s in sections if SIMULATED_LABEL not in s["text"].lower()]
    assert unlabelled == []
    assert page.locator("nav.portrait-toc a").count() == len(sections)
    threshold = 10
    shown_small = page.evaluate("""(t) => {
        const bad = [];
        for (const table of document.querySelectorAll('table')) {
            const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.innerText.trim());
            const col = heads.findIndex(h => h.startsWith('répondants'));
            if (col < 0) continue;
            for (const row of table.querySelectorAll('tbody tr')) {
                const cells = Array.from(row.children).map(c => c.innerText.trim());
                const data = Array.from(row.children).filter(c => c.tagName === 'TD').map(c => c.innerText.trim());
                const n = parseInt(cells[col].replace(/\\s/g, ''), 10);
                if (!isNaN(n) && n < t) bad.push(cells.join(' | '));
                if (cells[col].startsWith('moins de') && data.some(c => /^[\\d−-]/.test(c))) bad.push(cells.join(' | '));
            }
        }
        return bad; }""", threshold)
    assert shown_small == []
    assert page.locator("text=secret (effectif < seuil)").count() > 0      # the rule did suppress something
    shot = paths.BUILD / "synthesis.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    page.close()
