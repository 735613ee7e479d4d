"""Invitation files: every sampled unit once, re-linked to its partner record, written only under private/.

Oracle: the synthetic partner generator's truth (which simulated person each record belongs to),
independent of the pseudonyms the re-linking recomputes.
"""

from __future__ import annotations

import csv
import io as _io
import shutil
import stat
import subprocess

import pandas as pd
import pytest

from portrait.pipeline import paths
from portrait.pipeline.errors import InputError
from portrait.study import codebook, invitations, partners, survey_tools, visitors

KEY = b"a" * 64
DOTLESS = ["gmail.com", "googlemail.com", "example.com"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return partners.generate_partner_files(tmp_path_factory.mktemp("partners") / "p", n_records=2000, seed=7)


@pytest.fixture(scope="module")
def frame(generated):
    return visitors.ingest_partner_files(generated.folder, key=KEY, reference_date="2017-03-01",
                                         dot_insensitive_domains=DOTLESS).frame


def _invite(folder, frame, n=300, lay=None):
    sample = frame.iloc[::2].head(n)[["person_id", "zone"]]
    return sample, invitations.visitor_invitations(sample, frame, folder, KEY, lay, dot_insensitive_domains=DOTLESS)


def test_each_sampled_visitor_is_invited_once_at_an_address_of_theirs(generated, frame):
    lay = survey_tools.layout("limesurvey", codebook.load())
    sample, inv = _invite(generated.folder, frame, lay=lay)
    assert len(inv) == len(sample)
    assert list(inv["token"]) == list(survey_tools.tokens(sample["person_id"], "visitors", KEY))
    truth = generated.truth.set_index(["file_id", "row"])["person"]
    first = sample.merge(frame[["person_id", "first_file_id", "first_row"]], on="person_id")
    people = [truth[(f, r)] for f, r in zip(first["first_file_id"], first["first_row"])]
    assert len(set(people)) == len(sample)                       # one invitation per simulated person
    assert (inv["email"].str.contains("@")).all()
    # the address is read from one of that person's own records (not from somebody else's)
    by_file = {}
    for i, (f, r) in enumerate(zip(first["first_file_id"], first["first_row"])):
        by_file.setdefault(f, []).append((r, inv["email"].iloc[i]))
    # oracle: the cell as the partner file holds it (read with csv), without the spaces around it
    mapping = {pf.id: pf for pf in partners.read_layouts()}
    checked = 0
    for f, rows in by_file.items():
        pf = mapping[f]
        if pf.format != "csv":
            continue
        table = list(csv.reader(_io.StringIO((generated.folder / pf.file).read_bytes().decode(pf.encoding), newline=""),
                                delimiter=pf.separator))
        j = table[0].index(pf.columns["email"])
        assert [e for _, e in rows] == [table[r - 1][j].strip(" \u00a0") for r, _ in rows], pf.file
        checked += len(rows)
    assert checked > 100


def test_an_invitation_is_written_to_the_address_cleaned_not_the_cell_as_written(generated, frame, tmp_path):
    """A partner trial: cells « mailto:… » and addresses after a zero-width space reached the invitation files as
    written (225 and 271 of them), which no mail server delivers. The address written is the cell without its
    invisible characters, surrounding spaces and « mailto: », its case kept; the pseudonym is unchanged."""
    folder = shutil.copytree(generated.folder, tmp_path / "p")
    layouts = {p.id: p for p in partners.read_layouts()}
    utf8 = [p.id for p in layouts.values() if p.format == "csv" and p.encoding.startswith("utf")]
    target = frame.loc[frame["first_file_id"].isin(utf8)].head(5)        # a zero-width space needs Unicode
    sample, k = target[["person_id", "zone"]], 0
    before = invitations.visitor_invitations(sample, frame, folder, KEY, None, dot_insensitive_domains=DOTLESS)
    pf, r = layouts[target["first_file_id"].iloc[k]], int(target["first_row"].iloc[k]) - 1
    path = folder / pf.file
    rows = list(csv.reader(_io.StringIO(path.read_bytes().decode(pf.encoding), newline=""), delimiter=pf.separator))
    j = rows[0].index(pf.columns["email"])
    address = rows[r][j].strip()
    rows[r][j] = f" MAILTO:\u200b{address}\u00a0"
    buf = _io.StringIO()
    csv.writer(buf, delimiter=pf.separator, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(pf.encoding))
    after = invitations.visitor_invitations(sample, frame, folder, KEY, None, dot_insensitive_domains=DOTLESS)
    assert after["email"].iloc[k] == address == before["email"].iloc[k]
    assert not after["email"].str.contains("mailto|\u200b|^\\s|\\s$", case=False, regex=True).any()


def test_a_partner_file_changed_since_the_draw_stops_the_writing(generated, frame, tmp_path):
    folder = shutil.copytree(generated.folder, tmp_path / "p")
    sample, _ = _invite(folder, frame, n=50)
    target = frame.set_index("person_id").loc[sample["person_id"].iloc[0]]
    pf = {p.id: p for p in partners.read_layouts()}[target["first_file_id"]]
    path = folder / pf.file
    if pf.format != "csv":
        pytest.skip("first sampled person's file is a workbook")
    text = path.read_bytes().decode(pf.encoding)
    rows = list(csv.reader(_io.StringIO(text, newline=""), delimiter=pf.separator))
    r = int(target["first_row"]) - 1
    rows[r], rows[r + 1] = rows[r + 1], rows[r]
    buf = _io.StringIO()
    csv.writer(buf, delimiter=pf.separator, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(pf.encoding))
    with pytest.raises(InputError, match="no longer match"):
        invitations.visitor_invitations(sample, frame, folder, KEY, None, dot_insensitive_domains=DOTLESS)


@pytest.mark.parametrize("tool", ["native", "limesurvey", "qualtrics"])
def test_files_are_private_and_in_the_tools_import_format(tool, tmp_path):
    lay = survey_tools.layout(tool, codebook.load())
    slots = pd.DataFrame({"slot_id": ["02049-0001", "02049-0002"], "code": "02049", "nom": "Barisis-aux-Bois"})
    path = invitations.write_invitations(invitations.resident_invitations(slots, KEY, lay), "residents", lay,
                                         tmp_path / "private" / "invitations")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    table = pd.read_csv(path, sep=";" if lay is None else lay.delimiter, dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    assert len(table) == 2
    header = {"native": "token", "limesurvey": "token", "qualtrics": "ExternalDataReference"}[tool]
    expected = list(slots["slot_id"]) if lay is None else list(survey_tools.tokens(slots["slot_id"], "residents", KEY))
    assert list(table[header]) == expected
    assert set(table.iloc[:, -1]) == {"02049 Barisis-aux-Bois"}


@pytest.mark.parametrize("probe", ["private/invitations/limesurvey_visitors.csv", ".portrait-key",
                                   "data/raw/partners/hotel_lille.csv", "data/raw/survey/residents.csv",
                                   "data/synthetic/partners/office_tourisme.xlsx",
                                   "data/processed/visitor_frame.parquet", "reports/02_visitor_frame.html",
                                   "build/executed/02_visitor_frame.ipynb"])
def test_personal_data_and_the_key_are_ignored_by_git(probe):
    """Every place the chain puts partner files, survey exports, invitation lists, the pseudonymisation key, or what
    is built from them: git itself (``git check-ignore``) says it would not commit a file there."""
    done = subprocess.run(["git", "check-ignore", "-q", "--no-index", probe], cwd=paths.ROOT)
    assert done.returncode == 0, f"{probe} would be committed: it must stay in .gitignore"


def test_make_invitations_without_the_key_says_so_in_one_line(monkeypatch, capsys):
    """A new user's trial: `make invitations` without the key printed a traceback through runpy; `make check-survey`
    said it in one line. Now so does this, and it writes nothing."""
    from portrait.pipeline.errors import ParameterError
    from portrait.study import invitations as inv, visitors as vis

    def no_key(*a, **k):
        raise ParameterError("no key: neither PORTRAIT_PSEUDO_KEY nor .portrait-key is there")

    monkeypatch.setattr(vis, "pseudonymisation_key", no_key)
    assert inv.main(["--out", "/nonexistent/never-written"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("✗ no invitation file written: no key:") and "Traceback" not in err
