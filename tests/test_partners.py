"""Partner layouts mapping and the synthetic partner-file generator."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from portrait.study import partners, visitors
from portrait.pipeline.errors import InputError

SMALL = 2000


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return partners.generate_partner_files(tmp_path_factory.mktemp("partners") / "p",
                                           n_records=SMALL, seed=11)


def test_mapping_declares_forty_files_of_the_five_source_types():
    """The committed mapping declares several dozen files covering the five source types and both formats."""
    files = partners.read_layouts()
    assert len(files) >= 36
    assert {f.source_type for f in files} == set(partners.SOURCE_TYPES)
    assert {f.format for f in files} == {"csv", "xlsx"}
    assert {f.encoding for f in files if f.format == "csv"} >= {"cp1252", "utf-8"}
    assert len({f.columns["email"] for f in files}) >= 5          # different e-mail headers
    assert len({f.id for f in files}) == len(files)


def test_generation_is_byte_identical_for_the_same_seed(small, tmp_path):
    """Same seed and parameters: every file, CSV and XLSX alike, is byte-identical; another seed differs."""
    again = partners.generate_partner_files(tmp_path / "again", n_records=SMALL, seed=11)
    assert _bytes(again.folder) == _bytes(small.folder)
    other = partners.generate_partner_files(tmp_path / "other", n_records=SMALL, seed=12)
    assert _bytes(other.folder) != _bytes(small.folder)


def test_xlsx_files_have_fixed_timestamps_and_a_dimension(small):
    """Workbooks carry fixed document dates and ZIP entry times, and a sheet dimension like Excel's."""
    path = next(p for p in small.files if p.suffix == ".xlsx")
    with zipfile.ZipFile(path) as z:
        stamps = {i.date_time for i in z.infolist()}
        assert len(stamps) == 1 and next(iter(stamps))[0] == 1980
        core = z.read("docProps/core.xml").decode()
    assert "2017-01-01T00:00:00Z" in core and re.search(r"20[2-9]\d-", core) is None
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert ws.max_row == 1 + (small.truth["file_id"] == next(
        f.id for f in partners.read_layouts() if f.file == path.name)).sum()


def test_workbook_cells_read_as_openpyxl_reads_them(tmp_path):
    """The partner-file reader (calamine) gives the strings pandas' openpyxl reader gives, cell type by cell type.

    The oracle is openpyxl, an independent XLSX parser: texts, integers, decimals, dates with and without a
    time, booleans, empty cells, a formula's cached value is not compared (openpyxl keeps none when it writes).
    """
    import datetime as dt

    from portrait.study import exports, partner_records

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["Courriel", "Code postal", "Montant", "Dernière visite", "Consentement", "Vide", "Note"])
    ws.append(["a@example.org", 59000, 12.5, dt.datetime(2016, 5, 3), True, None, "é à ç"])
    ws.append(["b@example.org", 2100, 3.0, dt.datetime(2016, 12, 31, 14, 30), False, None, ""])
    ws.append([None, "02100", -0.25, dt.date(2015, 1, 9), None, None, "  espaces  "])
    path = tmp_path / "typed.xlsx"
    wb.save(path)
    ws.append(["c@example.org", "#N/A", 1, None, None, None, "#DIV/0!"])    # error cells (calamine reads them as "")
    wb.save(tmp_path / "errors.xlsx")
    for file in ("typed.xlsx", "errors.xlsx"):
        ours = partner_records._read_sheet(tmp_path / file, "Contacts", lambda c: True)
        oracle = pd.read_excel(tmp_path / file, sheet_name="Contacts", dtype=str, engine="openpyxl",
                               keep_default_na=False, na_filter=False)
        pd.testing.assert_frame_equal(ours, oracle)
    assert ours.loc[0, "Code postal"] == "59000" and ours.loc[1, "Dernière visite"] == "2016-12-31 14:30:00"
    assert pd.isna(ours.loc[3, "Code postal"]) and not exports.worksheets_hold(path, partner_records.ERROR_CELL)


def test_files_follow_the_mapping_and_hold_the_declared_defects(small):
    """Every file has the columns of its layout; the records show the defects the ingest must handle."""
    truth = small.truth
    assert len(truth) == pytest.approx(SMALL, rel=0.1)
    assert set(truth["email_state"]) == {"ok", "missing", "invalid"}
    assert (~truth["consent"]).mean() > 0.03
    assert (truth["copy"] > 0).any()                                  # duplicates inside a file
    assert (truth.groupby("person")["file_id"].nunique() > 1).any()   # people in several files
    raw = []
    for pf in partners.read_layouts():
        df = visitors.read_partner_file(small.folder, pf)
        assert len(df) == (truth["file_id"] == pf.id).sum()
        raw.append(df["email"])
    emails = pd.concat(raw)
    assert (emails != emails.str.strip()).any()                       # whitespace variants
    assert (emails.str.contains("[A-Z]", regex=True)).any()           # case variants
    cp = (small.folder / "ot_lille_metropole_contacts.csv").read_bytes()
    assert b"\r\n" in cp and cp.decode("cp1252").startswith("N\u00b0 contact;Nom;Pr\u00e9nom")


def test_synthetic_addresses_use_reserved_domains_only(small):
    """Every domain written in an e-mail column is example.org, example.com or example.net."""
    domains = set()
    for pf in partners.read_layouts():
        e = visitors.read_partner_file(small.folder, pf)["email"].str.strip().str.lower()
        domains |= set(e.str.extract(r"@([a-z0-9.-]+\.[a-z]{2,})$")[0].dropna())
    assert domains == {"example.org", "example.com", "example.net"}


def test_fewer_files_removes_stale_generated_files(tmp_path):
    """With n_files, only the first files of the mapping remain in the folder; foreign files are left alone."""
    folder = tmp_path / "p"
    partners.generate_partner_files(folder, n_records=600, seed=1)
    (folder / "notes.txt").write_text("not ours")
    out = partners.generate_partner_files(folder, n_records=600, seed=1, n_files=5)
    names = {p.name for p in folder.iterdir()}
    assert names == {p.name for p in out.files} | {"notes.txt"} and len(out.files) == 5


def test_mapping_without_email_column_names_the_file(tmp_path):
    """A layout with no e-mail role is refused, naming the partner file entry."""
    text = partners.paths.resolve(partners.DEFAULT_LAYOUTS).read_text(encoding="utf-8")
    bad = text.replace('      email: "Courriel"\n', "", 1)
    assert bad != text
    (tmp_path / "layouts.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match=r"ot_valenciennes\.xlsx.*no e-mail column is declared"):
        partners.read_layouts(tmp_path / "layouts.yaml")


@pytest.mark.parametrize("old,new,rule", [
    ('values: ["oui", "yes"], others: ["non", "no"]', 'values: [oui, yes], others: [non, no]', "in quotes"),
    ('values: ["oui"], others: ["non"]', 'values: ["oui"], others: ["OUI"]', "under both values and others")])
def test_consent_values_unquoted_or_on_both_sides_are_refused(old, new, rule, tmp_path):
    """A review: YAML reads « no » and « yes » unquoted as false and true, so a layout's consent « no » would have
    matched the text « false »; and a value listed both ways has no meaning. Both are refused, naming the entry."""
    text = partners.paths.resolve(partners.DEFAULT_LAYOUTS).read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "layouts.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=rule):
        partners.read_layouts(tmp_path / "layouts.yaml")


def test_real_source_without_files_is_a_clear_error(tmp_path):
    """partners_source='real' with an empty folder says where to put the files."""
    (tmp_path / "real").mkdir()
    with pytest.raises(InputError, match="no partner file found"):
        partners.partner_folder("real", real_dir=tmp_path / "real")
