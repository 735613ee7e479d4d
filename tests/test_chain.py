"""The whole chain with Make.

- One full run from a clean checkout (the study's own parameters), shared by every test that reads
  its outputs: index, no-op make, browser, privacy scan, signed zeros, cross-machine summary.
- Determinism on the same machine: two clean checkouts with the reduced parameters of the notebook
  regression test (``tests/notebooks/*.yaml``) give byte-identical processed data, executed
  notebooks and HTML. Byte identity is a same-machine promise only.
- On another machine, the full run's processed numbers equal a committed summary
  (``tests/golden/processed_summary.json``) within a relative tolerance of 1e-9. That summary is a
  change detector, not an oracle; after a deliberate change regenerate it with
  ``PORTRAIT_REGEN_SUMMARY=1 .venv/bin/python -m pytest -rs tests/test_chain.py -k summary`` (it prints what moved, file by file).
"""

from __future__ import annotations

import filecmp
import html as _html
import json
import os
import re
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portrait.study import partners
from portrait.pipeline import paths

from . import chainrun
from .test_privacy import EMAIL, TAG, WORD

LOCAL = re.compile(r"[\w.+-]{8,}")
CLIENT = re.compile(r"[\w-]{6,}")

pytestmark = pytest.mark.slow

SUMMARY = paths.TESTS / "golden" / "processed_summary.json"
SUMMARY_RTOL = 1e-9


def test_two_clean_runs_give_byte_identical_outputs(reduced_runs):
    """Processed data, executed notebooks and HTML reports are byte-identical across two clean checkouts
    (same machine, same parameters and seed)."""
    a, b = reduced_runs
    files = chainrun.outputs(a)
    assert "reports/index.html" in files and "data/processed/resident_slots.parquet" in files
    assert files == chainrun.outputs(b)
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []


def test_no_executed_notebook_writes_to_stderr(reduced_runs):
    """A warning in a report is noise for its reader, and it carries the checkout's path: a matplotlib warning
    (a merged level's long label squeezed a figure's axes to nothing) made two clean runs differ. None may remain."""
    import json

    noisy = {}
    for nb in sorted((reduced_runs[0] / "build" / "executed").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        said = [o["text"] for c in cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
        if said:
            noisy[nb.name] = "".join(said[0])[:200]
    assert noisy == {}


def test_parameter_change_reruns_only_its_dependants(reduced_runs):
    """Touching the resident-weighting parameters re-runs it and what reads its outputs or its parameters
    (comparison, synthesis, validation), not the frames, the fieldwork or the visitor weighting.

    ``make -t`` decides what to remake as ``make`` does, then touches those targets instead of running
    their recipes: the parameters' content did not change, so the outputs stay right and the study stays
    up to date. The re-runs themselves are exercised by the next tests (a hand-changed weight re-runs 06
    to 08 here, the scenarios re-run stages in a copy)."""
    a = reduced_runs[1]
    os.utime(a / "config" / "04_resident_weighting.yaml")
    touched = [line.removeprefix("touch ") for line in chainrun.make(a, "-t").stdout.splitlines()]
    assert touched[0] == "build/executed/04_resident_weighting.ipynb" and touched[-1] == "reports/index.html"
    executed = {p.split("/")[-1].removesuffix(".ipynb") for p in touched if p.startswith("build/executed/")}
    assert executed == {"04_resident_weighting", "06_comparison", "07_synthesis", "08_validation"}
    reports = {p.split("/")[-1].removesuffix(".html") for p in touched if p.startswith("reports/")}
    assert reports == executed | {"index"}
    assert not [p for p in touched if p.startswith("data/processed/") and p.split("/")[-1].startswith(
        ("resident_frame", "resident_slots", "visitor_", "finite_truth", "truth", "resident_responses"))]
    assert "portrait.pipeline.run" not in chainrun.make(a, "-n").stdout       # up to date again


def test_a_file_dropped_in_the_survey_folder_concerns_only_the_fieldwork_and_after(reduced_runs):
    """data/raw/survey/ is read by 03 only: a file dropped there makes `make` plan 03 and what follows, not
    the frames (the raw-data check used to depend on the folder, so every stage from 01 re-ran)."""
    a = reduced_runs[1]
    chainrun.make(a)                                     # up to date, whatever ran before
    dropped = a / "data" / "raw" / "survey" / "lisez-moi.txt"
    dropped.parent.mkdir(parents=True, exist_ok=True)
    dropped.write_text("exports à venir\n", encoding="utf-8")
    try:
        planned = chainrun.make(a, "-n").stdout
        assert "notebooks/03_fieldwork.ipynb" in planned
        assert "notebooks/01_resident_frame.ipynb" not in planned and "notebooks/02_visitor_frame.ipynb" not in planned
        assert "portrait.pipeline.sources verify" not in planned
    finally:
        dropped.unlink()
    assert "portrait.pipeline.run" not in chainrun.make(a, "-n").stdout      # removed again: nothing to do


def test_a_weight_changed_by_hand_reaches_the_comparison(reduced_runs):
    """Stages talk through their files: doubling one resident's weight in resident_weights.parquet (as a user
    who plugs in weights computed elsewhere) is refused until `make accept` records it; then `make` re-runs the
    comparison, not the weighting, and moves the residents' estimates while the visitors' stay as they were."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    a = reduced_runs[1]
    chainrun.make(a)                                     # up to date, whatever ran before
    wfile = a / "data" / "processed" / "resident_weights.parquet"
    est_file = a / "data" / "processed" / "comparison_estimates.csv"
    before = pd.read_csv(est_file, sep=";", decimal=",", encoding="utf-8-sig")
    table = pq.read_table(wfile)
    w = table.column("w_final").to_numpy().copy()
    w[int(np.flatnonzero(w > 0)[0])] *= 2
    table = table.set_column(table.schema.get_field_index("w_final"), "w_final", pa.array(w))
    pq.write_table(table, wfile)                         # the schema keeps the file's description
    refused = chainrun.make(a, check=False)              # a changed file is not read unless accepted
    assert refused.returncode != 0
    assert "resident_weights.parquet: changed since it was written by stage 04_resident_weighting" in refused.stderr
    # the reports left from before say they are out of date, and so does the index
    said = re.search(r"reports now out of date \(« périmé » in reports/index.html\): (.*)", refused.stderr)
    assert said, refused.stderr
    assert {"06_comparison", "07_synthesis"} <= set(said.group(1).split(", ")), refused.stderr
    assert said.group(1).split(", ") == sorted(said.group(1).split(", ")), "not in chain order: " + said.group(1)
    assert not {"03_fieldwork", "04_resident_weighting", "05_visitor_weighting"} & set(said.group(1).split(", "))
    banners = {p.stem for p in (a / "reports").glob("*.html") if 'class="portrait-banner portrait-stale"' in p.read_text()}
    assert {"06_comparison", "07_synthesis"} <= banners and not banners & {"04_resident_weighting", "05_visitor_weighting"}
    reviewed = {p.stem for p in (a / "reports" / "relecture").glob("*.html")
                if 'class="portrait-banner portrait-stale"' in p.read_text()}
    assert reviewed == banners - {"07_synthesis"}          # the reviewers' versions say so too
    index = (a / "reports" / "index.html").read_text()
    assert "Le dernier <code>make</code> a échoué à l\u2019étape" in index and index.count("périmé\u00a0: antérieur") >= 2
    chainrun.make(a, "accept", "FILE=data/processed/resident_weights.parquet")
    done = chainrun.make(a).stdout.splitlines()
    assert not [p.stem for p in (a / "reports").glob("**/*.html") if "portrait-stale" in p.read_text()]
    assert "périmé" not in (a / "reports" / "index.html").read_text()
    executed = {line.split("/")[-1].removesuffix(".ipynb") for line in done if "build/executed/" in line}
    assert "04_resident_weighting" not in executed and {"06_comparison", "07_synthesis"} <= executed
    after = pd.read_csv(est_file, sep=";", decimal=",", encoding="utf-8-sig")
    res = before["group"].eq("residents").to_numpy()
    assert not np.allclose(after.loc[res, "estimate"], before.loc[res, "estimate"], rtol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(after.loc[~res, "estimate"], before.loc[~res, "estimate"])


def test_index_links_every_report(full_run):
    """reports/index.html links the rendered report of every notebook of the chain, and shows each stage's
    parameters in French, name and value, with the value config/*.yaml writes (``simulated``, not a Python
    repr) on hover."""
    index = (full_run / "reports" / "index.html").read_text(encoding="utf-8").replace("\u00a0", " ")  # spacing is test_typography's
    for nb in sorted((full_run / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f'href="{nb.stem}.html"' in index
        assert (full_run / "reports" / f"{nb.stem}.html").exists()
        # every report but the synthesis (which has no code) has its reviewers' version without code, linked
        reviewed = full_run / "reports" / "relecture" / f"{nb.stem}.html"
        assert (f'href="relecture/{nb.stem}.html"' in index) == reviewed.exists() == (nb.stem != "07_synthesis")
        if reviewed.exists():
            assert 'href="../index.html"' in reviewed.read_text(encoding="utf-8")
    assert ('<span title="source">source des réponses</span> : <span title="simulated">données simulées'
            in index)
    assert "source=&#x27;" not in index and "source='" not in index and "pseudo_key_file" not in index


def test_second_make_does_nothing(full_run):
    """Re-running make with nothing changed rebuilds nothing."""
    r = chainrun.make(full_run)
    assert "Nothing to be done" in r.stdout, r.stdout
    assert chainrun.make(full_run, "-q", check=False).returncode == 0


def test_the_exports_folder_is_tracked_by_content_not_by_date(full_run, tmp_path):
    """Trial F: Make tracked data/raw/survey/ by file dates, so an export removed, or put back with a date older than
    the last run (cp -p, unzip), ran nothing and left the reports as they were. In a copy of the built study (dates
    kept): an export dated 1970 makes stage 03 out of date; removed again, the folder is as stage 03 last read it,
    and nothing is out of date (the fingerprint of that run is restored with its date); an empty folder changes
    nothing."""
    root = tmp_path / "study"
    shutil.copytree(full_run, root, symlinks=True)
    assert not (root / "data" / "raw" / "survey").exists()          # the simulated study has no export
    assert chainrun.make(root, "-q", check=False).returncode == 0
    export = root / "data" / "raw" / "survey" / "residents.csv"
    export.parent.mkdir(parents=True)
    export.write_text("token\n", encoding="utf-8")
    os.utime(export, (0, 0))
    assert "03_fieldwork" in chainrun.make(root, "-n", check=False).stdout
    assert (root / "build" / "fingerprints" / "survey.sha256").read_text().endswith("data/raw/survey/residents.csv\n")
    export.unlink()
    assert chainrun.make(root, "-q", check=False).returncode == 0

    again = tmp_path / "again"
    shutil.copytree(full_run, again, symlinks=True)
    (again / "data" / "raw" / "survey").mkdir(parents=True)      # an empty folder: nothing to read, nothing changed
    assert chainrun.make(again, "-q", check=False).returncode == 0


# ------------------------------------------------------------------------------- signed zeros

SIGNED_ZERO = re.compile(r"(?<![\w.,\-\u2212])[-\u2212]0(?:[.,]0+)?(?![.,]?\d)")


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page (no script, style or image data)."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<img\b[^>]*>", " ", page)
    return _html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def signed_zeros(page: str) -> list[str]:
    text = visible_text(page)
    return [text[max(0, m.start() - 40):m.end() + 10].strip() for m in SIGNED_ZERO.finditer(text)]


def test_the_signed_zero_scan_finds_what_it_looks_for():
    """-0.0, « −0,0 » and « −0,000 » are found in cells and sentences; −0,05, 10-0 and -00 are not."""
    assert len(signed_zeros("<td>-0.0</td><p>écart −0,000 %</p><td>\u22120,0</td><td>-0</td>")) == 4
    assert signed_zeros("<td>-0.05</td><p>−0,001 ; score 10-0 ; 2017-01-01</p><td>5</td>") == []


def test_no_report_prints_a_signed_zero(full_run):
    """No rendered report shows -0.0, « −0,0 » or « −0,000 »: numbers are rounded before their sign is written."""
    found = {p.name: signed_zeros(p.read_text(encoding="utf-8")) for p in sorted((full_run / "reports").glob("*.html"))}
    assert {k: v[:3] for k, v in found.items() if v} == {}


def prose(page: str) -> str:
    """What a reader reads as prose in a page: its visible text without code (``pre``, ``code``)."""
    return visible_text(re.sub(r"(?is)<(pre|code|svg|textarea)\b.*?</\1>", " ", page))


def test_every_report_and_the_index_keep_french_spacing(full_run):
    """No rendered page lets a line break before « : ; ? ! » » or a « % », after « « » or inside a number: the
    render sets every markdown cell and output by French typography, not only the sentences 06 and 07 build."""
    from .test_typography import breakable_spaces

    found = {p.name: breakable_spaces(prose(p.read_text(encoding="utf-8")))
             for p in sorted((full_run / "reports").glob("*.html"))}
    assert len(found) == 9 and {k: v[:3] for k, v in found.items() if v} == {}


# ------------------------------------------------------------------------------- privacy



def _fold(text: str) -> str:
    """``text`` without its accents (« hélène » → « helene »), as a name typed without them is written."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _local_forms(cell: str) -> set[str]:
    """The distinctive forms of an e-mail cell's part before the « @ » (the whole cell when it has none, as in the
    malformed addresses the generator writes): as written, without its dots and without a « +tag » (the forms the
    ingest's cleaning makes); only parts of 8 characters or more with a dot, a digit or an underscore, which no
    French word of a report is."""
    local = cell.strip().casefold().removeprefix("mailto:").split("@")[0].strip()
    if len(local) < 8 or not re.search(r"[._\d]", local):
        return set()
    bare = local.split("+")[0]
    return {local, bare, bare.replace(".", "")}


def planted_identifiers(folder: Path) -> dict[str, set[str]]:
    """Every e-mail, full name (both orders, with and without accents), postcode, distinctive e-mail local part
    (:func:`_local_forms`) and partner's client number written in the synthetic partner files."""
    out: dict[str, set[str]] = {"email": set(), "name": set(), "postcode": set(), "local": set(), "client_id": set()}
    for pf in partners.read_layouts(folder.parents[2] / "config" / "partner_layouts.yaml"):
        if not (folder / pf.file).exists():
            continue
        if pf.format == "csv":
            df = pd.read_csv(folder / pf.file, sep=pf.separator, encoding=pf.encoding, dtype="string",
                             keep_default_na=False)
        else:
            df = pd.read_excel(folder / pf.file, sheet_name=pf.sheet, dtype="string", keep_default_na=False,
                               engine="openpyxl")
        df.columns = [str(c).strip() for c in df.columns]
        cols = {role: h.strip() for role, h in pf.columns.items()}
        if "email" in cols:
            out["email"] |= {e.strip().casefold() for e in df[cols["email"]].dropna() if "@" in e}
            out["local"] |= {form for e in df[cols["email"]].dropna() for form in _local_forms(e)}
        if "first_name" in cols and "last_name" in cols:
            for f, l in zip(df[cols["first_name"]].fillna(""), df[cols["last_name"]].fillna("")):
                if f.strip() and l.strip():
                    out["name"] |= {f"{f} {l}".casefold(), f"{l} {f}".casefold()}
        if "full_name" in cols:
            out["name"] |= {n.casefold() for n in df[cols["full_name"]].dropna() if " " in n.strip()}
        if "postcode" in cols:
            out["postcode"] |= {p.strip().zfill(5) for p in df[cols["postcode"]].dropna() if p.strip().isdigit()}
        if "client_id" in cols:                  # a column the ingest never reads
            out["client_id"] |= {c.strip().casefold() for c in df[cols["client_id"]].dropna() if len(c.strip()) >= 6}
    out["name"] |= {_fold(n) for n in out["name"]}
    return out


def _texts_of(path: Path) -> list[tuple[str, list[str], bool]]:
    """(where, text values, whether a string column) of an output file: Parquet column by column (decoded),
    text files whole."""
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        return [(f"{path.name}:{c}", [str(v) for v in df[c].dropna().unique()],
                 pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object) for c in df.columns] + \
            [(f"{path.name} column names", [" ".join(map(str, df.columns))], False)]
    if path.suffix in (".csv", ".html", ".ipynb", ".json", ".log", ".txt", ".md"):
        return [(path.name, [path.read_text(encoding="utf-8", errors="replace")], False)]
    return [(path.name, [path.read_bytes().decode("latin-1")], False)]


def test_chain_outputs_hold_no_planted_identifier(full_run):
    """Nothing the chain builds — processed data (Parquet decoded), CSV, executed notebooks, HTML reports,
    logs — holds an e-mail address (any: the chain writes none, so a planted one cleaned by the ingest or an
    address of a column nobody planted is caught too), a distinctive local part of the partner files' e-mails
    (as written, without dots or « +tag », or from a malformed address), a full name of those files (with or
    without accents), a partner's client number (a column the ingest never reads), nor a visitor-side column of
    their postcodes."""
    planted = planted_identifiers(full_run / "data" / "synthetic" / "partners")
    assert len(planted["email"]) > 10_000 and len(planted["name"]) > 1_000 and len(planted["postcode"]) > 1_000
    assert len(planted["local"]) > 5_000 and len(planted["client_id"]) > 5_000
    names = planted["name"]
    found = []
    outputs = [p for d in ("data/processed", "reports", "build") for p in (full_run / d).rglob("*")
               if p.is_file() and p.name != ".gitkeep"]
    assert len(outputs) > 20
    for path in outputs:
        for where, values, is_string in _texts_of(path):
            for v in values:
                low = TAG.sub(" ", v.casefold())      # HTML cells side by side are words side by side
                if EMAIL.search(v):
                    found.append(f"{where}: an e-mail address")
                if any(t in planted["local"] for t in LOCAL.findall(low)):
                    found.append(f"{where}: a planted e-mail's local part")
                if any(t in planted["client_id"] for t in CLIENT.findall(low)):
                    found.append(f"{where}: a partner's client number")
                words = WORD.findall(_fold(low))
                if any(f"{a} {b}" in names for a, b in zip(words, words[1:])):
                    found.append(f"{where}: planted full name")
            # postcodes: a string column of a visitor-side file made mostly of planted postcodes (resident files
            # hold public INSEE commune codes by design, which share the postcodes' five digits)
            if is_string and not path.name.startswith("resident_"):
                codes = {v.strip().zfill(5) for v in values if v.strip().isdigit() and len(v.strip()) in (4, 5)}
                if len(codes) >= 20 and len(codes & planted["postcode"]) > 0.5 * len(codes):
                    found.append(f"{where}: a column of planted postcodes")
    assert sorted(set(found)) == [], "\n".join(sorted(set(found)))


# ------------------------------------------------------------------------------- cross-machine summary


def summarise(folder: Path) -> dict:
    """Per processed file and numeric column: count, missing, sum, sum of |x|, sum of x², min, max."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".csv":
            df = pd.read_csv(path, sep=None, engine="python", decimal="," if _french(path) else ".")
        else:
            continue
        cols = {}
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
                continue
            x = s.to_numpy(dtype=float, na_value=np.nan)
            ok = x[np.isfinite(x)]
            cols[str(c)] = {"n": int(len(x)), "missing": int(len(x) - len(ok)), "sum": float(ok.sum()),
                            "sum_abs": float(np.abs(ok).sum()), "sum_sq": float((ok ** 2).sum()),
                            "min": float(ok.min()) if len(ok) else None, "max": float(ok.max()) if len(ok) else None}
        out[path.name] = {"rows": int(len(df)), "columns": cols}
    return out


def _french(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.readline()
    return head.count(";") > head.count(",")


def compare_summaries(expected: dict, got: dict, rtol: float = SUMMARY_RTOL) -> list[str]:
    """Differences beyond ``rtol``: sums against the column's Σ|x| (a sum near 0 has no relative scale),
    sums of squares relatively, extremes against the column's largest |x|; absolute ``rtol`` below 1."""
    problems = []
    if sorted(expected) != sorted(got):
        problems.append(f"files differ: {sorted(set(expected) ^ set(got))}")
    for name in sorted(set(expected) & set(got)):
        e, g = expected[name], got[name]
        if e["rows"] != g["rows"] or sorted(e["columns"]) != sorted(g["columns"]):
            problems.append(f"{name}: rows or numeric columns differ")
            continue
        for c, ec in e["columns"].items():
            gc = g["columns"][c]
            if (ec["n"], ec["missing"]) != (gc["n"], gc["missing"]):
                problems.append(f"{name}:{c}: {gc['missing']} missing of {gc['n']}, expected {ec['missing']} of {ec['n']}")
                continue
            scale = max(abs(ec["min"] or 0), abs(ec["max"] or 0))
            checks = [("sum", ec["sum_abs"]), ("sum_abs", ec["sum_abs"]), ("sum_sq", ec["sum_sq"]),
                      ("min", scale), ("max", scale)]
            for key, ref in checks:
                if ec[key] is None:
                    continue
                # relative above 1, absolute below: a column of numerical zeros (a margin reproduced to
                # 1e-13 %) has no relative scale, and its last bits are all that differ between BLAS builds
                if abs(ec[key] - gc[key]) > rtol * max(ref, 1.0):
                    problems.append(f"{name}:{c} {key}: {gc[key]!r}, expected {ec[key]!r}")
    return problems


def summary_digest(expected: dict, got: dict, rtol: float = SUMMARY_RTOL) -> str:
    """What changed beyond ``rtol``, one line per file: its row count, how many numeric columns moved and the largest
    relative move (trial H: a new question gave an 8,820-line diff of the summary, too long to review)."""
    lines = [f"  {name}: {'new' if name in got else 'gone'}" for name in sorted(set(expected) ^ set(got))]
    for name in sorted(set(expected) & set(got)):
        e, g = expected[name], got[name]
        moved = {}
        for c in sorted(set(e["columns"]) & set(g["columns"])):
            ec, gc = e["columns"][c], g["columns"][c]
            rel = [abs(ec[k] - gc[k]) / max(abs(ec[k]), 1e-300) for k in ("sum", "sum_sq", "min", "max")
                   if ec.get(k) is not None and gc.get(k) is not None and abs(ec[k] - gc[k]) > rtol * max(abs(ec[k]), 1.0)]
            if rel or (ec["n"], ec["missing"]) != (gc["n"], gc["missing"]):
                moved[c] = max(rel, default=0.0)
        added, gone = sorted(set(g["columns"]) - set(e["columns"])), sorted(set(e["columns"]) - set(g["columns"]))
        if moved or added or gone or e["rows"] != g["rows"]:
            top = max(moved, key=moved.get) if moved else None
            lines.append(f"  {name}: rows {e['rows']} → {g['rows']}; {len(moved)} of {len(g['columns'])} columns moved"
                         + (f", most {moved[top]:.2g} ({top})" if top else "")
                         + (f"; new columns {added}" if added else "") + (f"; columns gone {gone}" if gone else ""))
    return "\n".join(lines) or "  nothing beyond the tolerance"


def test_summary_digest_says_what_moved_file_by_file():
    """Closed form: one column moved by 1 %, one file added."""
    e = {"f.parquet": {"rows": 2, "columns": {"w": {"n": 2, "missing": 0, "sum": 3.0, "sum_abs": 3.0, "sum_sq": 5.0,
                                                    "min": 1.0, "max": 2.0}}}}
    g = json.loads(json.dumps(e))
    g["f.parquet"]["columns"]["w"]["sum"] = 3.03
    g["g.csv"] = {"rows": 1, "columns": {}}
    assert summary_digest(e, g) == ("  g.csv: new\n"
                                    "  f.parquet: rows 2 → 2; 1 of 1 columns moved, most 0.01 (w)")
    assert summary_digest(e, e) == "  nothing beyond the tolerance"


def test_summary_comparison_flags_a_changed_number():
    """The comparison accepts last-bit differences and flags a change of one part in 10⁸."""
    e = {"f.parquet": {"rows": 2, "columns": {"w": {"n": 2, "missing": 0, "sum": 3.0, "sum_abs": 3.0, "sum_sq": 5.0,
                                                    "min": 1.0, "max": 2.0}}}}
    g = json.loads(json.dumps(e))
    g["f.parquet"]["columns"]["w"]["sum"] = 3.0 * (1 + 4e-16)
    assert compare_summaries(e, g) == []
    g["f.parquet"]["columns"]["w"]["sum_sq"] = 5.0 * (1 + 1e-8)
    assert len(compare_summaries(e, g)) == 1


def test_processed_numbers_equal_the_committed_summary(full_run):
    """Every number in data/processed/ equals the committed summary within rtol 1e-9 (weights, estimates,
    validation results): the same study on another CPU or BLAS gives the same numbers, up to the last bits."""
    got = summarise(full_run / "data" / "processed")
    if os.environ.get("PORTRAIT_REGEN_SUMMARY") == "1":
        digest = summary_digest(json.loads(SUMMARY.read_text(encoding="utf-8")), got) if SUMMARY.exists() else ""
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"regenerated {paths.relative(SUMMARY)}; what changed, file by file:\n{digest}")
    expected = json.loads(SUMMARY.read_text(encoding="utf-8"))
    problems = compare_summaries(expected, got)
    assert problems == [], "\n".join(problems[:30])


def test_every_table_and_figure_of_every_report_is_numbered(full_run):
    """In each numbered report, every data table has a « Tableau N — … » caption and every figure a
    « Figure N — … » caption, numbered 1, 2, 3… in order."""
    from bs4 import BeautifulSoup

    problems = {}
    for html in sorted((full_run / "reports").glob("0*.html")):
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        tables = soup.find_all("table")
        heads = [t.caption.get_text(" ", strip=True) if t.caption else "" for t in tables]
        numbers = [int(m.group(1)) if (m := re.match(r"Tableau (\d+) — \S", h)) else None for h in heads]
        figures = [int(n) for n in re.findall(r"<em>Figure (\d+) — ", str(soup))]
        images = len(soup.find_all("img"))
        if numbers != list(range(1, len(tables) + 1)) or figures != list(range(1, len(figures) + 1)) \
                or len(figures) != images:
            problems[html.name] = (heads, figures, images)
    assert problems == {}


def test_every_captioned_figure_is_in_its_report(full_run):
    """A « Figure N — … » caption follows its image: each report has at least as many images as figure
    captions (a figure displayed in a cell that goes on would otherwise vanish from the report)."""
    missing = {}
    for html in sorted((full_run / "reports").glob("*.html")):
        text = html.read_text(encoding="utf-8")
        captions = len(re.findall(r"<em>Figure \d+ — ", text))
        images = text.count("data:image/png;base64")
        if images < captions:
            missing[html.name] = (captions, images)
    assert missing == {}
    assert (full_run / "reports" / "07_synthesis.html").read_text(encoding="utf-8").count("data:image/png;base64") >= 3


def test_synthesis_suppressed_cells_cannot_be_recovered(full_run):
    """The partner type × age table of the synthesis, as rendered: the intruder's linear programs (visible
    cells, every row and column total) pin down no suppressed cell and cannot tell one is small; a
    combination with no respondent is shown (suppressed), not left out."""
    from portrait.reporting import disclosure, synthesis
    from portrait.study import codebook, recipes, visitors

    from bs4 import BeautifulSoup

    soup = BeautifulSoup((full_run / "reports" / "07_synthesis.html").read_text(encoding="utf-8"), "html.parser")
    table = next(t for t in soup.find_all("table") if "type de partenaire" in t.thead.get_text().lower())
    grid = [[td.get_text(strip=True) for td in tr.find_all(["td", "th"])] for tr in table.tbody.find_all("tr")]
    types = list(visitors.SOURCE_LABELS.values())
    assert [r[0] for r in grid] == types and all(len(r) == 7 for r in grid)    # the whole grid, no row left out
    mask = np.array([[cell == synthesis.SUPPRESSED for cell in r[1:6]] for r in grid])
    design, _ = recipes.read_weights(str(full_run / "data" / "processed" / "visitor_weights.parquet"))
    cb = codebook.load(full_run / "config" / "codebook.yaml")
    truth = synthesis.cross_table(design, cb, "visitors", "image_globale", ("source_type", visitors.SOURCE_LABELS),
                                  ("age", {str(c.value): c.label for c in cb.variable("age").codes}), 0, ci_level=0.95)
    counts = truth["répondants"].str.replace("\u202f", "").astype(int).to_numpy().reshape(mask.shape)
    assert mask[counts < 10].all() and mask.sum() > (counts < 10).sum()
    # each row's respondents, public, are shown last: a masked row is not an empty one
    assert [int(r[6].replace("\u202f", "")) for r in grid] == counts.sum(axis=1).tolist()
    assert disclosure.unprotected(counts, mask, 10).empty


# Tables whose small counts are not a disclosure risk, with the reason: they count sampled units by
# design stratum and fieldwork outcome, and show no answer of anyone.
OPERATIONAL_TABLES = {
    "Statuts finaux (codes AAPOR) et taux de réponse RR1 et RR2 par strate, puis pour l\u2019ensemble de chaque enquête":
        "issues de terrain par strate de tirage",
    "Statut final des unités tirées, par enquête": "issues de terrain",
}
COUNT_HEADER = re.compile(r"répondant|personnes|effectif|complets", re.I)


def test_no_report_shows_a_small_cell_of_respondents(full_run):
    """Every table of every report (analysts' and reviewers'): a count of respondents or persons below the
    small-cell threshold is shown only as suppressed, except in the operational tables listed above
    (sample units by stratum and fieldwork outcome, no answer shown). Suppression that holds against
    subtraction is checked on the synthesis by the intruder's linear programs (test above)."""
    import yaml
    from bs4 import BeautifulSoup

    read = [yaml.safe_load((full_run / "config" / f).read_text(encoding="utf-8")) or {}
            for f in ("study.yaml", "06_comparison.yaml", "07_synthesis.yaml")]
    threshold = max(c["small_cell_threshold"] for c in read if "small_cell_threshold" in c)   # study-wide, or a stage's own
    found = []
    reports = full_run / "reports"
    pages = sorted([*reports.glob("0*.html"), *(reports / "relecture").glob("0*.html")])
    assert len(pages) == 15                  # 01–08, and the reviewers' 01–06 and 08 (07 has no code already)
    for html in pages:
        soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
        for table in soup.find_all("table"):
            caption = re.sub(r"^Tableau \d+ — ", "", table.caption.get_text(" ", strip=True)) if table.caption else ""
            if caption in OPERATIONAL_TABLES or table.thead is None:
                continue
            heads = [th.get_text(" ", strip=True) for th in table.thead.find_all("th")]
            counted = [i for i, h in enumerate(heads) if COUNT_HEADER.search(h)]
            for tr in table.tbody.find_all("tr"):
                cells = [c.get_text(strip=True) for c in tr.find_all(["td", "th"])]
                for i in counted:
                    value = cells[i].replace("\u202f", "").replace("\u00a0", "") if i < len(cells) else ""
                    if value.isdigit() and 0 < int(value) < threshold:
                        found.append((html.relative_to(reports).as_posix(), caption, heads[i], cells[0], value))
    assert found == []


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SIMULATED_LABEL = "données simulées"
AIMS = ("Les principaux résultats", "Identité ressentie et image perçue", "Fierté, attachement, ambassadeurs",
        "La mosaïque des départements", "Nord-Pas de Calais et Picardie", "Les mots", "Forces et faiblesses",
        "Ce qu\u2019il faut retenir")     # titles as typeset: the typographic apostrophe


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


def test_reports_in_a_real_browser(full_run, browser):
    """Every report opens from the file system in headless Chromium with no console error, every image displays
    and has alternative text, no error or warning output is shown, and simulated reports say so; the reviewers'
    versions (reports/relecture/) show no code and no list of the files a stage wrote."""
    a = full_run
    problems = []
    for html in sorted((a / "reports").glob("*.html")) + sorted((a / "reports" / "relecture").glob("*.html")):
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("Array.from(document.images).map(i => [i.naturalWidth, i.getAttribute('alt') || ''])")
        stderr = page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count()
        text = page.inner_text("body")
        name = html.relative_to(a / "reports").as_posix()
        problems += [f"{name}: console error {e}" for e in errors]
        problems += [f"{name}: image {i} does not display" for i, (w, _) in enumerate(images) if w == 0]
        problems += [f"{name}: image {i} has no alternative text" for i, (_, alt) in enumerate(images) if not alt.strip()]
        if stderr:
            problems.append(f"{name}: {stderr} error or warning output(s) shown")
        if "Traceback" in text:
            problems.append(f"{name}: a traceback is shown")
        if name != "index.html" and page.locator(".portrait-banner").count() and SIMULATED_LABEL not in text.lower():
            problems.append(f"{name}: simulated data not labelled")
        if html.parent.name == "relecture" and page.locator(".jp-CodeCell .jp-InputArea").count():
            problems.append(f"{name}: code is shown to reviewers")
        if html.parent.name == "relecture" and "data/processed/" in text:
            problems.append(f"{name}: the files a stage wrote are listed to reviewers")
        page.close()
    assert problems == []


def test_synthesis_reads_as_reviewers_need(full_run, browser):
    """The synthesis has no code, a section for each aim of the study, says « données simulées » once at the
    top, shows no small cell, has a table of contents, and a screenshot is saved for a person to look at."""
    a = full_run
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((a / "reports" / "07_synthesis.html").as_uri())
    assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0, "code is shown to reviewers"
    assert page.evaluate("document.documentElement.lang") == "fr"
    sections = page.evaluate("""() => {
        const out = []; let cur = null;
        for (const el of document.querySelectorAll('main *')) {
            if (el.tagName === 'H2') { cur = {title: el.innerText, text: ''}; out.push(cur); }
            else if (cur && el.children.length === 0) cur.text += ' ' + el.innerText;
        }
        return out; }""")
    assert len(sections) >= 8
    titles = [s["title"] for s in sections]
    for aim in AIMS:                      # each aim of the study (../shared/seed/) has its section
        assert any(t.startswith(aim) for t in titles), (aim, titles)
    banner = page.locator(".portrait-banner")
    assert banner.count() == 1 and SIMULATED_LABEL in banner.inner_text().lower()   # said once, at the top
    assert page.locator("text=les réponses viennent du simulateur du projet, pas d'une enquête").count() == 0
    assert page.locator("nav.portrait-toc a").count() == len(sections)
    threshold = 10
    shown_small = page.evaluate("""(t) => {
        const bad = [];
        let checked = 0;
        for (const table of document.querySelectorAll('table')) {
            const heads = Array.from(table.querySelectorAll('thead th')).map(th => th.innerText.trim().toLowerCase());
            const col = heads.findIndex(h => h.startsWith('répondants'));
            if (col < 0) continue;
            checked += 1;
            for (const row of table.querySelectorAll('tbody tr')) {
                const cells = Array.from(row.children).map(c => c.innerText.trim());
                const data = Array.from(row.children).filter(c => c.tagName === 'TD').map(c => c.innerText.trim());
                const n = parseInt(cells[col].replace(/\\s/g, ''), 10);
                if (!isNaN(n) && n < t) bad.push(cells.join(' | '));
                if ((cells[col].startsWith('masqué') || cells[col].startsWith('moins de')) && data.some(c => /^[\\d−-]/.test(c))) bad.push(cells.join(' | '));
            }
        }
        return [checked, bad]; }""", threshold)
    assert shown_small[0] >= 2 and shown_small[1] == []       # the tables with a respondents column were read
    assert page.locator("text=masqué (confidentialité)").count() > 0      # the rule did suppress something
    shot = paths.BUILD / "synthesis.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    page.close()


def test_reports_fit_a_phone_and_the_synthesis_prints_on_ten_pages(full_run, browser):
    """At 390 px no report scrolls sideways (wide tables scroll in their own box); printed on A4, the
    synthesis takes at most 10 pages and no table is wider than the printable width."""
    overflow = {}
    for html in sorted((full_run / "reports").glob("*.html")):
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(html.as_uri())
        sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if sw > cw:
            overflow[html.name] = (sw, cw)
        page.close()
    assert overflow == {}
    # the synthesis' first table, scrolled to its last column, still shows what each row is
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto((full_run / "reports" / "07_synthesis.html").as_uri())
    first, last = page.evaluate("""() => { const t = document.querySelector('table'); t.scrollLeft = t.scrollWidth;
        const row = t.querySelector('tbody tr'); const r = el => el.getBoundingClientRect();
        return [[r(row.cells[0]).left, r(row.cells[0]).right], [r(row.cells[row.cells.length - 1]).left,
                r(row.cells[row.cells.length - 1]).right]]; }""")
    assert 0 <= first[0] and first[1] <= 390 and last[1] <= 390 + 1, (first, last)
    page.close()
    page = browser.new_page(viewport={"width": 703, "height": 1000})       # A4 minus the margins, at 96 dpi
    page.goto((full_run / "reports" / "07_synthesis.html").as_uri())
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 10, pages
    page.emulate_media(media="print")
    clipped = page.evaluate("""() => Array.from(document.querySelectorAll('table'))
        .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.innerText.slice(0, 60))""")
    assert clipped == []
    page.close()



def test_the_architecture_example_on_the_weights_file_gives_report_06s_mean(full_run, monkeypatch):
    """The weighted-design file's section of ARCHITECTURE.md shows an analyst how to get the study's variables
    (« Ne sait pas » left out) from the weights file: its code, run as written in a built study, gives the
    residents' mean that stage 06 wrote to comparison_estimates.csv (the oracle: the chain's own estimate)."""
    from portrait import survey

    text = (paths.ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "items.derived" in b)
    monkeypatch.chdir(full_run)
    scope: dict = {}
    exec(compile(block, "ARCHITECTURE.md", "exec"), scope)       # noqa: S102 - the project's own documentation
    got = survey.mean(scope["d"], "img_accueillante|mean|")["estimate"].item()
    est = pd.read_csv(full_run / "data" / "processed" / "comparison_estimates.csv", sep=";", decimal=",",
                      encoding="utf-8-sig")
    row = est.loc[(est["item"] == "img_accueillante") & (est["statistic"] == "mean") & (est["group"] == "residents")]
    assert got == pytest.approx(row["estimate"].item(), rel=1e-12)
    assert survey.mean(scope["d"], "img_accueillante")["estimate"].item() > got    # the raw codes count the 99s
