"""Rules of the input readers, the partner files and the outputs that a third mutation audit found unpinned
(ingest, survey-tool exports, e-mails and scope, small cells, atomic writes): each test has an independent oracle
(a value written by hand, a brute-force check or an explicit expected message) and fails with the mutation it was
written against."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.study import visitors
from portrait.study.export_readers import Problem, read_export

KEY = b"k" * 64
DOTLESS = ["gmail.com", "googlemail.com", "example.com"]


# ------------------------------------------------------------------------------ messages repeat no personal text


@pytest.mark.parametrize("text, shown", [("Ana", False), ("ANA", True), ("A12", True), ("Jean", False),
                                          ("Paul", False), ("ABCD", False)])
def test_only_codes_of_at_most_three_characters_are_repeated(text, shown):
    """A text of four letters (a first name: « Jean », « Paul ») is given by its length, never repeated; codes of
    one to three characters in one case are (module docstring of export_readers). A capitalised three-letter word
    (« Ana », « Eva »: a trial typed names in status cells) is a name, not a code."""
    p = Problem("f.csv", 2, "sexe", text, "unknown_code", "m")
    if shown:
        assert p.value == text and p.length is None and repr(text) in str(p)
    else:
        assert p.value is None and p.length == len(text) and text not in str(p)
        assert f"a text of {len(text)} characters" in str(p)


# ------------------------------------------------------------------------------ encodings of the survey exports


@pytest.mark.parametrize("word", ["Michał", "日本", "Jiří"])
def test_utf8_without_bom_is_refused_even_when_the_garbling_is_not_visible(word, tmp_path):
    """UTF-8 without BOM read as cp1252 must be refused by its bytes, not only by the visible « Ã© » pattern: « ł »,
    CJK and « ř » garble into text that no mojibake pattern recognises (« MichaÅ‚ », « æ—¥æœ¬ »)."""
    path = tmp_path / "residents.csv"
    path.write_bytes(f"slot_id;mots_1\r\n1;{word}\r\n".encode("utf-8"))
    problems: list[Problem] = []
    assert read_export(path, encoding="cp1252", problems=problems) is None
    assert [(p.rule, p.row) for p in problems] == [("encoding", 2)]
    assert "UTF-8 without BOM" in problems[0].message


# ------------------------------------------------------------------------------ visitors: e-mails and scope


def test_a_mailto_prefix_in_capitals_is_removed_too():
    """« MAILTO:Jean@… » (a hyperlink pasted from a mail client) is the mailbox jean@…, not an invalid address."""
    canonical, state = visitors.normalise_emails(pd.Series(["MAILTO:Jean@example.org", "Mailto:jean@example.org",
                                                            "jean@example.org"]), DOTLESS)
    assert state.tolist() == ["ok"] * 3
    assert canonical.tolist() == ["jean@example.org"] * 3


def test_invisible_characters_left_by_copy_and_paste_do_not_make_a_second_person():
    """A trial: « \u200bjean.dupont@… » (a zero-width space before it, common after copy and paste) was a valid
    address of another person. Zero-width spaces and joiners, soft hyphens, direction marks and byte-order marks
    are removed wherever they are; a visible character still makes an address of its own."""
    raw = ["\u200bjean.dupont@example.org", "jean.dupont@example.org\ufeff", "jean.du\u00adpont@example.org",
           "\u200ejean.dupont@exa\u200dmple.org", "jean.dupont@example.org", "jean.dupond@example.org"]
    canonical, state = visitors.normalise_emails(pd.Series(raw), DOTLESS)
    assert state.tolist() == ["ok"] * 6
    assert canonical.tolist() == ["jean.dupont@example.org"] * 5 + ["jean.dupond@example.org"]


def test_an_address_longer_than_254_characters_is_invalid():
    """RFC 5321 §4.5.3.1.3: a path holds at most 256 octets with its angle brackets, so an address at most 254."""
    domain = "@" + ".".join(["a" * 63] * 3) + ".org"            # 197 characters with the « @ »
    ok = "x" * (254 - len(domain)) + domain
    too_long = "x" + ok
    assert (len(ok), len(too_long)) == (254, 255)
    _, state = visitors.normalise_emails(pd.Series([ok, too_long]), DOTLESS)
    assert state.tolist() == ["ok", "invalid"]


def _records(last_visits: list[str]) -> pd.DataFrame:
    n = len(last_visits)
    return pd.DataFrame({"file_id": "P01", "file_order": 0, "row": np.arange(2, n + 2),
                         "consent": True, "last_visit": pd.to_datetime(last_visits),
                         "date_state": "ok", "zone": "npdc", "source_type": "hebergement",
                         "person_id": [f"p{k}" for k in range(n)]})


def test_a_last_visit_on_the_reference_date_is_in_scope():
    """Scope: the last visit falls in the ``scope_months`` before the reference date, both ends included; only a
    visit after it (or before the cutoff) is out of scope. Hand-made records around both ends."""
    visits = ["2015-02-28", "2015-03-01", "2017-03-01", "2017-03-02"]
    status, detail, _, _ = visitors._record_status(_records(visits), pd.Series(["ok"] * 4),
                                                   pd.Timestamp("2017-03-01"), 24, visitors.SOURCE_PRIORITY)
    assert list(status) == ["out_of_scope", "kept", "kept", "out_of_scope"]
    assert list(detail) == ["last_visit_before_2015-03-01", "", "", "last_visit_after_reference"]


def test_overseas_postcodes_of_98x_give_their_three_digit_collectivity():
    """French Polynesia (987xx) and New Caledonia (988xx) are Outre-mer, like 97x departments."""
    d = visitors.residence_department(pd.Series(["98714", "98800", "97411"]), pd.Series(["FR"] * 3))
    assert d.tolist() == ["987", "988", "974"]
    assert {visitors.DEPARTMENT_REGION[x] for x in d} == {"Outre-mer"}


def test_a_record_saying_both_zones_puts_the_person_in_both():
    """Zone visited: the union of the person's records, a record saying « both » counting for each zone. By hand:
    p0 one record « both »; p1 « npdc » in one file and « picardie » in another; p2 « npdc » only;
    p3 « picardie » and « both »."""
    recs = pd.DataFrame({
        "person_id": ["p0", "p1", "p1", "p2", "p3", "p3"],
        "file_id": ["P01", "P01", "P02", "P01", "P01", "P02"], "file_order": [0, 0, 1, 0, 0, 1],
        "row": [2, 3, 2, 4, 5, 3], "zone": ["both", "npdc", "picardie", "npdc", "picardie", "both"],
        "purpose": "leisure", "source_type": "hebergement", "rank": 2, "country": "FR",
        "residence_department": "59", "last_visit": pd.to_datetime(["2016-06-01"] * 6)})
    frame = visitors._person_frame(recs, recs)
    assert dict(zip(frame["person_id"], frame["zone"])) == {"p0": "both", "p1": "both", "p2": "npdc", "p3": "both"}
    assert dict(zip(frame["person_id"], frame["multiplicity"])) == {"p0": 1, "p1": 2, "p2": 1, "p3": 2}


# ------------------------------------------------------------------------------ partner files: rows in errors


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no_bom", "bom"])
def test_a_cp1252_byte_in_a_utf8_partner_file_is_named_by_its_row_with_or_without_bom(bom, tmp_path):
    """The byte « é » (0xE9, cp1252) opens row 3 of a file declared UTF-8: row 3 and its byte offset in the file are
    named whether or not the file starts with a byte-order mark (counted by hand: 0xE9 is byte 39 after the BOM)."""
    from portrait.pipeline.errors import InputError
    from portrait.study.partner_layouts import PartnerFile
    from portrait.study.partner_records import read_partner_file

    pf = PartnerFile(id="P01", file="f.csv", source_type="hebergement", format="csv", layout="L",
                     columns={"email": "mail", "consent": "ok", "last_visit": "date"}, consent_meaning="opt_in",
                     consent_values=("oui",), date_format="%d/%m/%Y", zone="npdc", encoding="utf-8")
    data = bom + b"mail;ok;date\r\na@x.test;oui;01/01/2016\r\n\xe9b@x.test;oui;01/01/2016\r\n"
    (tmp_path / "f.csv").write_bytes(data)
    with pytest.raises(InputError) as exc:
        read_partner_file(tmp_path, pf)
    assert "row 3" in str(exc.value)
    assert f"byte {39 + len(bom)} " in str(exc.value) and data[39 + len(bom)] == 0xE9


def test_a_partner_file_with_two_byte_order_marks_is_read_as_with_one(tmp_path):
    """A partner file opened and saved again with a BOM by a program that kept the first one as text: the second
    mark is not taken into the first column's name (« \\ufeffmail » would be a missing e-mail column). Partner files
    pass through partners' spreadsheets; survey-tool exports, which should not, are refused (test_survey_tools)."""
    from portrait.study.partner_layouts import PartnerFile
    from portrait.study.partner_records import read_partner_file

    pf = PartnerFile(id="P01", file="f.csv", source_type="hebergement", format="csv", layout="L",
                     columns={"email": "mail", "consent": "ok", "last_visit": "date"}, consent_meaning="opt_in",
                     consent_values=("oui",), date_format="%d/%m/%Y", zone="npdc", encoding="utf-8")
    (tmp_path / "f.csv").write_bytes(2 * b"\xef\xbb\xbf" + b"mail;ok;date\r\na@x.test;oui;01/01/2016\r\n")
    got = read_partner_file(tmp_path, pf)
    assert got[["email", "consent", "last_visit", "row"]].values.tolist() == [["a@x.test", "oui", "01/01/2016", 2]]


def test_a_key_of_fifteen_characters_is_refused_and_one_of_sixteen_accepted(tmp_path, monkeypatch):
    """KEY_MIN_CHARS is the limit for the environment variable as for the key file (boundary written by hand)."""
    from portrait.pipeline.errors import ParameterError

    assert visitors.KEY_MIN_CHARS == 16
    monkeypatch.setenv(visitors.KEY_ENV, "k" * 15)
    with pytest.raises(ParameterError, match="at least 16 characters"):
        visitors.pseudonymisation_key(tmp_path / "key")
    monkeypatch.setenv(visitors.KEY_ENV, "k" * 16)
    assert visitors.pseudonymisation_key(tmp_path / "key") == b"k" * 16
    monkeypatch.delenv(visitors.KEY_ENV)
    (tmp_path / "short").write_text("k" * 15 + "\n", encoding="ascii")
    with pytest.raises(ParameterError, match="at least 16 characters"):
        visitors.pseudonymisation_key(tmp_path / "short")


# ------------------------------------------------------------------------------ survey tools


@pytest.mark.parametrize("deleted", [[1, 2], [2]])
def test_a_response_standing_in_a_deleted_header_row_is_read(deleted, tmp_path):
    """The response where a deleted Qualtrics header row should be is reported and read, never skipped: the check
    reads as many responses, and sets aside as many previews, as from the intact fixture (the oracle; the fixture's
    first row is a preview, so a skipped row shows in the count set aside)."""
    import shutil

    from portrait.study import codebook, ingest
    from tests.test_survey_tools import FIXTURES, KEY, _sample

    cb = codebook.load()

    def rows_read(folder):
        found = ingest.check(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
        return [(n.rows, n.set_aside) for n in found.notes if n.file.endswith("residents.csv")], found.problems

    intact = shutil.copytree(FIXTURES / "qualtrics", tmp_path / "intact")
    damaged = shutil.copytree(FIXTURES / "qualtrics", tmp_path / "damaged")
    lines = (damaged / "residents.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)
    (damaged / "residents.csv").write_text("".join(x for i, x in enumerate(lines) if i not in deleted),
                                           encoding="utf-8-sig")
    want, none = rows_read(intact)
    got, problems = rows_read(damaged)
    assert none == [] and got == want
    assert [p.rule for p in problems] == ["header_rows"]


# ------------------------------------------------------------------------------ disclosure audit


def _bounds_by_enumeration(counts: np.ndarray, suppressed: np.ndarray) -> dict[tuple[int, int], tuple[int, int]]:
    """Smallest and largest value of each suppressed cell over every table of non-negative integers with the same
    row and column totals and visible cells (2 × 2 tables: one free value)."""
    r, c = counts.sum(axis=1), counts.sum(axis=0)
    seen: dict[tuple[int, int], list[int]] = {}
    for x00 in range(int(counts.sum()) + 1):
        t = np.array([[x00, r[0] - x00], [c[0] - x00, r[1] - c[0] + x00]])
        if (t < 0).any() or (t[~suppressed] != counts[~suppressed]).any():
            continue
        for cell in zip(*np.nonzero(suppressed)):
            seen.setdefault(cell, []).append(int(t[cell]))
    return {cell: (min(v), max(v)) for cell, v in seen.items()}


def test_a_cell_pinned_to_a_range_narrower_than_the_threshold_is_unprotected():
    """Rows 9 and 4, columns 9 and 4, every cell suppressed, threshold 5: by enumeration the top-left cell lies in
    [5, 9], a range of 4 < 5 although its row and column total 9 ≥ 5, so the audit must refuse the pattern for it;
    the other cells range over their whole line (total 4 < 5), the most any suppression can hide."""
    from portrait.reporting import disclosure

    counts = np.array([[7, 2], [2, 2]])
    suppressed = np.ones((2, 2), dtype=bool)
    bounds = _bounds_by_enumeration(counts, suppressed)
    assert bounds == {(0, 0): (5, 9), (0, 1): (0, 4), (1, 0): (0, 4), (1, 1): (0, 4)}
    a = disclosure.audit(counts, suppressed)
    assert {(r.row, r.col): (r.low, r.high) for r in a.itertuples()} == bounds
    bad = disclosure.unprotected(counts, suppressed, 5)
    assert list(zip(bad["row"], bad["col"])) == [(0, 0)]


@pytest.mark.parametrize("tail, rule", [(b"\r\n", "field_count"), (b"", "truncated")])
def test_a_short_last_row_is_cut_only_when_the_file_does_not_end_with_a_line_break(tail, rule, tmp_path):
    """A last row with a field too few that ends with a line break is a missing ';' (field_count), not an export cut
    short (truncated, « export it again »): only a file ending inside the row was cut."""
    path = tmp_path / "residents.csv"
    path.write_bytes(b"a;b;c\r\n1;2;3\r\n4;5" + tail)
    problems: list[Problem] = []
    read_export(path, encoding="cp1252", problems=problems)
    assert [(p.rule, p.row) for p in problems] == [(rule, 3)]


def test_the_greedy_fallback_stops_once_two_cells_hold_the_threshold():
    """Smallest-first fallback, by hand on one row [1, 4, 10, 10] with threshold 5: 1 is primary, 4 joins it
    (1 + 4 = 5 ≥ 5 with two cells), and nothing more is hidden."""
    from portrait.reporting import disclosure

    s = disclosure._greedy(np.array([[1.0, 4.0, 10.0, 10.0]]), 5)
    assert s.tolist() == [[True, True, False, False]]


# ------------------------------------------------------------------------------ cell checks of the exports


def _check_column(name: str, column: str, values: list[str]):
    from portrait.study import codebook, export_checks

    cb = codebook.load()
    v = next(x for x in cb.variables if x.name == name)
    problems: list[Problem] = []
    rows = np.arange(2, len(values) + 2)
    typed = export_checks._column_checks(v, column, pd.Series(values, dtype=object), rows, "residents.csv", cb,
                                         problems)
    return v, typed, [(p.rule, p.row) for p in problems]


def test_the_dont_know_code_is_out_of_range_on_a_score_without_that_option():
    """« image_globale » (0–10) has no « Ne sait pas » option: its code 99 is out of range, never a score of 99."""
    v, typed, problems = _check_column("image_globale", "image_globale", ["0", "10", "99", "11"])
    assert not v.dont_know
    assert problems == [("out_of_range", 4), ("out_of_range", 5)]
    assert typed[:2].tolist() == [0, 10] and typed[2:].isna().all()


def test_an_open_answer_of_exactly_max_length_characters_is_accepted():
    """« mots » allows 60 characters (config/codebook.yaml): 60 pass, 61 are too long."""
    v, _, problems = _check_column("mots", "mots_1", ["x" * 60, "x" * 61])
    assert v.max_length == 60
    assert problems == [("too_long", 3)]


def test_an_invalid_byte_after_a_bom_is_named_by_its_own_row_and_column(tmp_path):
    """UTF-8 with BOM, the cp1252 byte 0xE9 opening row 3: row 3, column 'a' (the BOM's 3 bytes not counted twice)."""
    path = tmp_path / "residents.csv"
    path.write_bytes(b"\xef\xbb\xbfa;b\r\n1;2\r\n\xe9;3\r\n")
    problems: list[Problem] = []
    read_export(path, encoding="cp1252", problems=problems)
    assert [(p.rule, p.row, p.column) for p in problems] == [("encoding", 3, "a")]
    assert "byte 0xE9 is not valid utf-8" in problems[0].message


def test_a_response_set_aside_is_an_aapor_refusal_and_break_off():
    """AAPOR 2.12: ``ecartee`` counts in R, not in UO, and so does ``ecartee_outil`` (a response the survey tool
    flagged as a preview, test or spam); by hand on one unit of each reason."""
    from portrait.study import ingest

    reasons = ["complet", "partiel", "refus", "abandon", "ecartee", "ecartee_outil", "non_distribuee", "sans_reponse",
               "hors_champ"]
    out = ingest.aapor_rates(pd.DataFrame({"g": "x", "reason": reasons}), "g").iloc[0]
    assert (out["I"], out["P"], out["R"], out["UO"], out["NE"]) == (1, 1, 4, 2, 1)
    assert out["RR1"] == pytest.approx(1 / 8) and out["RR2"] == pytest.approx(2 / 8)


# ------------------------------------------------------------------------------ atomic outputs


def test_a_failed_write_leaves_the_previous_file_and_no_partial_one(tmp_path):
    """The block fails after writing half a file: the destination keeps its former bytes, and nothing else is left."""
    from portrait.pipeline import io

    dest = tmp_path / "out.csv"
    dest.write_text("former\n")
    with pytest.raises(RuntimeError):
        with io.atomic_path(dest) as tmp:
            assert tmp != dest and tmp.parent == dest.parent
            tmp.write_text("half")
            assert dest.read_text() == "former\n"        # not replaced before the block succeeds
            raise RuntimeError("disk full")
    assert dest.read_text() == "former\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_outputs_are_readable_as_ordinary_files_and_french_csv_has_a_bom(tmp_path):
    """mkstemp creates 0600 files: outputs get the mode the umask gives any file the user writes (0644 under 022,
    0600 under 077, never wider); the French CSV starts with the UTF-8 byte-order mark Excel needs, uses ';' and
    the decimal comma."""
    import os
    import stat

    from portrait.pipeline import io

    for mask, mode in ((0o022, 0o644), (0o077, 0o600)):
        former = os.umask(mask)
        try:
            path = io.write_csv(pd.DataFrame({"région": ["Hauts-de-France"], "x": [1.5]}), tmp_path / "t.csv",
                                french=True)
        finally:
            os.umask(former)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert path.read_bytes() == "\ufeffrégion;x\nHauts-de-France;1,5\n".encode("utf-8")


def test_a_column_named_twice_gives_both_positions_counted_from_one():
    """Header « slot_id;sexe;sexe »: the name appears at positions 2 and 3, as a spreadsheet user counts columns."""
    from portrait.study import codebook, export_checks
    from portrait.study.export_readers import RawTable

    cb = codebook.load()
    raw = RawTable("residents.csv", "csv", ["slot_id", "sexe", "sexe"], pd.DataFrame([["1", "1", "1"]]),
                   np.array([2]))
    problems: list[Problem] = []
    export_checks._header_checks(raw, "residents", cb.columns("residents"), cb.column_variables("residents"),
                                 problems)
    dup = [p for p in problems if p.rule == "duplicate_column"]
    assert [(p.row, p.column) for p in dup] == [(1, "sexe")]
    assert "(positions 2 and 3)" in dup[0].message


# ------------------------------------------------------------------------------ found in the unmutated code


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78", "0612345678"])
def test_a_phone_number_typed_in_a_numeric_cell_is_not_repeated(phone):
    """A respondent's phone number typed in « nb_sejours » (not_integer) is personal data: given by its length."""
    p = Problem("visitors.csv", 5, "nb_sejours", phone, "not_integer", "not a whole number")
    assert p.value is None and phone not in str(p)


# ------------------------------------------------------------------------------ partner layouts and the frame


_LAYOUT = """
layouts:
  l:
    columns: {email: "Mail", consent: "Ok", last_visit: "Date"}
    consent: {meaning: opt_in, values: ["oui"]}
    date_format: "%d/%m/%Y"
files:
  - {id: P01, file: a.csv, source_type: hebergement, format: csv, layout: l, zone: npdc}
  - {id: P01, file: b.csv, source_type: hebergement, format: csv, layout: l, zone: npdc}
"""


def test_a_file_id_declared_twice_in_the_mapping_is_refused(tmp_path):
    """Two files under one id would share their ledger rows, their overlap column and their within-file duplicates."""
    from portrait.pipeline.errors import InputError
    from portrait.study.partner_layouts import read_layouts

    (tmp_path / "layouts.yaml").write_text(_LAYOUT, encoding="utf-8")
    with pytest.raises(InputError, match="id is used twice"):
        read_layouts(tmp_path / "layouts.yaml")
    (tmp_path / "ok.yaml").write_text(_LAYOUT.replace("id: P01, file: b.csv", "id: P02, file: b.csv"),
                                      encoding="utf-8")
    assert [pf.id for pf in read_layouts(tmp_path / "ok.yaml")] == ["P01", "P02"]


def test_a_known_country_wins_over_an_unknown_one_of_a_higher_priority_record():
    """Country of residence: from the first record *giving* one (priority order); ``ZZ`` gives none. By hand: p0's
    priority record says ZZ, its other record FR → FR (and a French region); p1 has only ZZ → ZZ, region unknown."""
    recs = pd.DataFrame({
        "person_id": ["p0", "p0", "p1"], "file_id": ["P01", "P02", "P01"], "file_order": [0, 1, 0],
        "row": [2, 2, 3], "zone": "npdc", "purpose": "leisure", "source_type": ["congres_salon", "hebergement",
                                                                                 "congres_salon"],
        "rank": [0, 2, 0], "country": ["ZZ", "FR", "ZZ"], "residence_department": [np.nan, "59", np.nan],
        "last_visit": pd.to_datetime(["2016-06-01"] * 3)})
    frame = visitors._person_frame(recs, recs).set_index("person_id")
    assert frame.loc["p0", ["country", "source_type", "residence_region"]].tolist() == \
        ["FR", "congres_salon", "Hauts-de-France"]
    assert frame.loc["p1", ["country", "residence_region"]].tolist() == ["ZZ", "Inconnue"]


def test_purpose_and_last_visit_of_a_person_in_several_files():
    """Purpose: the union of the records' purposes, « both » counting for each; last visit: the most recent. By hand:
    p0 « both » alone → both; p1 « leisure » then « business » → both; p2 « business » only; p3 visits 2015-05 and
    2016-09 → 2016-09."""
    recs = pd.DataFrame({
        "person_id": ["p0", "p1", "p1", "p2", "p3", "p3"], "file_id": ["P01", "P01", "P02", "P01", "P01", "P02"],
        "file_order": [0, 0, 1, 0, 0, 1], "row": [2, 3, 2, 4, 5, 3], "zone": "npdc",
        "purpose": ["both", "leisure", "business", "business", "leisure", "leisure"],
        "source_type": "hebergement", "rank": 2, "country": "FR", "residence_department": "59",
        "last_visit": pd.to_datetime(["2016-06-01"] * 4 + ["2015-05-10", "2016-09-30"])})
    frame = visitors._person_frame(recs, recs).set_index("person_id")
    assert frame["purpose"].to_dict() == {"p0": "both", "p1": "both", "p2": "business", "p3": "leisure"}
    assert frame.loc["p3", "last_visit"] == "2016-09"


def test_a_contact_status_for_an_unsampled_identifier_is_refused():
    """A contact-status row whose identifier is no sampled unit (a typo, another survey's file) is not_in_sample."""
    from portrait.study import codebook, export_checks
    from portrait.study.export_readers import RawTable

    cb = codebook.load()
    raw = RawTable("residents_dispositions.csv", "csv", ["slot_id", "statut_contact"],
                   pd.DataFrame([["02049-0001", "1"], ["02049-9999", "2"]]), np.array([2, 3]))
    problems: list[Problem] = []
    out = export_checks.validate_dispositions(raw, "residents", cb, ["02049-0001", "02049-0002"], problems)
    assert [(p.rule, p.row, p.column) for p in problems] == [("not_in_sample", 3, "slot_id")]
    assert len(out) == 2


def test_participant_columns_in_a_limesurvey_responses_export_are_dropped_unread(tmp_path):
    """LimeSurvey can export the participants' first name, last name and e-mail with the responses: those columns
    (personal in its contact-status layout) are dropped at read time, not refused as unknown or read."""
    import csv
    import io as _io
    import shutil

    from portrait.study import codebook, ingest
    from tests.test_survey_tools import FIXTURES, KEY, _sample

    folder = shutil.copytree(FIXTURES / "limesurvey", tmp_path / "lime")
    path = folder / "residents.csv"
    rows = list(csv.reader(_io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    for k, r in enumerate(rows):
        r += ["firstname", "lastname", "email"] if k == 0 else ["Camille", "Fixture", "camille@example.org"]
    buf = _io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    result = ingest.ingest(folder, {"residents": _sample()}, codebook.load(), fmt="csv", tool="limesurvey", key=KEY)
    note = next(n for n in result.notes if n.file.endswith("residents.csv"))
    assert {"firstname", "lastname", "email"} <= set(note.personal)
    responses = result.surveys["residents"].responses
    assert not {"firstname", "lastname", "email"} & set(responses.columns)
    assert not responses.astype(str).apply(lambda c: c.str.contains("camille@example.org")).any().any()


def test_blank_rows_are_skipped_and_still_counted_in_the_row_numbers(tmp_path):
    """An empty line and a line of separators only (a blank spreadsheet row) are no respondents: skipped without a
    problem, and the next row keeps the number a spreadsheet shows (5 here, counted by hand)."""
    path = tmp_path / "residents.csv"
    path.write_bytes(b"a;b\r\n1;2\r\n\r\n;\r\n3;4\r\n")
    problems: list[Problem] = []
    raw = read_export(path, encoding="cp1252", problems=problems)
    assert problems == []
    assert raw.rows.tolist() == [2, 5] and raw.cells.values.tolist() == [["1", "2"], ["3", "4"]]


def test_a_two_column_file_separated_by_a_comma_is_a_separator_problem(tmp_path):
    """The contact-status file has two columns, so a comma-separated one holds a single comma per line: that is
    enough to name the separator (not « missing column 'slot_id' »)."""
    path = tmp_path / "residents_dispositions.csv"
    path.write_bytes(b"slot_id,statut_contact\r\n02049-0001,1\r\n")
    problems: list[Problem] = []
    assert read_export(path, encoding="cp1252", problems=problems) is None
    assert [(p.rule, p.row) for p in problems] == [("separator", 1)]
    assert "separated by ','" in problems[0].message


def test_spss_rows_are_case_numbers_from_one(tmp_path):
    """In an SPSS file the row named in problems is the case number, the first case being 1 (ROW_CONVENTION)."""
    import pyreadstat

    path = tmp_path / "residents.sav"
    pyreadstat.write_sav(pd.DataFrame({"slot_id": ["a", "b", "c"], "sexe": [1.0, 2.0, 1.0]}), str(path))
    raw = read_export(path, problems=[])
    assert raw.rows.tolist() == [1, 2, 3]
