"""Ingest of survey exports: lossless round trips, a matrix of bad inputs, status and ledger."""

from __future__ import annotations

import csv
import io as _io
import shutil

import numpy as np
import pandas as pd
import pytest

from portrait.study import codebook, exports, ingest, unit_table
from portrait.pipeline import io
from tests import helpers
from portrait.pipeline.errors import ParameterError, SurveyValidationError

SEED = 20170301


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def sim_data(resident_frame, cb):
    """A small simulated fieldwork (500 resident invitations, 600 visitors) and its samples."""
    return helpers.small_fieldwork(resident_frame, cb, frame_size=2500, visitors=600, visitor_seed=4, seed=SEED)


@pytest.fixture(scope="module")
def clean(sim_data, cb, tmp_path_factory):
    """A survey folder with every format (CSV in cp1252)."""
    folder = tmp_path_factory.mktemp("survey")
    exports.write_survey_folder(sim_data[0].exports, sim_data[0].dispositions, folder, cb)
    return folder


def _rows(path, encoding="cp1252"):
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(_io.StringIO(text, newline=""), delimiter=";"))


def _write(path, rows, encoding="cp1252", sep=";"):
    buf = _io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _copy(clean, tmp_path):
    folder = tmp_path / "survey"
    shutil.copytree(clean, folder)
    return folder


def _problems(folder, samples, cb, **kw):
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, samples, cb, **kw)
    return exc.value


def _answers_only(result, survey, cb):
    r = result.surveys[survey].responses
    got = r.loc[r["source_row"].notna(), cb.columns(survey)]
    return got.sort_values(cb.id_column(survey)).reset_index(drop=True)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_round_trip_is_lossless(fmt, clean, sim_data, cb):
    """Export → ingest gives back exactly the simulated answers (codes, blanks, 99, texts) in every format."""
    sim, samples = sim_data
    result = ingest.ingest(clean, samples, cb, fmt=fmt)
    for survey in ("residents", "visitors"):
        pd.testing.assert_frame_equal(_answers_only(result, survey, cb), sim.exports[survey].reset_index(drop=True))


def test_round_trip_utf8_with_bom(sim_data, cb, tmp_path):
    """A CSV written in UTF-8 with a byte-order mark is read back losslessly with the default settings."""
    sim, samples = sim_data
    exports.write_survey_folder(sim.exports, sim.dispositions, tmp_path, cb, formats=["csv"], encoding="utf-8-sig")
    assert (tmp_path / "residents.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    result = ingest.ingest(tmp_path, samples, cb)
    for survey in ("residents", "visitors"):
        pd.testing.assert_frame_equal(_answers_only(result, survey, cb), sim.exports[survey].reset_index(drop=True))


def test_every_sampled_unit_has_a_status_and_the_ledger_matches_the_simulator(clean, sim_data, cb):
    """One row per sampled unit; the ledger read from the exports counts, reason by reason, what the simulator
    decided for each unit (its own record, which the exports do not carry): completes, out of scope,
    undelivered, refusals and silent units one for one, break-offs split between « partiel » and « abandon »."""
    sim, samples = sim_data
    result = ingest.ingest(clean, samples, cb)
    for survey, sample in samples.items():
        table = result.surveys[survey].responses
        assert len(table) == len(sample)
        assert table[cb.id_column(survey)].tolist() == sample[cb.id_column(survey)].astype(str).tolist()
        led = result.surveys[survey].ledger.set_index("reason")["n"]
        outcome = sim.persons[survey].set_index("id")["outcome"]
        truth = outcome.value_counts()
        for reason in ("complet", "hors_champ", "non_distribuee", "refus", "sans_reponse"):
            assert led[reason] == truth.get(reason, 0), (survey, reason)
        assert led["partiel"] + led["abandon"] == truth.get("interrompu", 0)
        reason = table.set_index(cb.id_column(survey))["reason"]
        assert (reason.reindex(outcome.index)[outcome == "complet"] == "complet").all()
        assert set(reason.reindex(outcome.index)[outcome == "interrompu"]) <= {"partiel", "abandon"}
        answered = table.loc[table["status"] != "respondent", "image_globale"].notna().sum()
        assert answered <= (outcome == "interrompu").sum()          # only break-offs hold answers


def test_break_off_rule_counts_common_core_answers(clean, sim_data, cb, tmp_path):
    """An unfinished questionnaire is a response with ≥ min_core_answered core items, a break-off below."""
    samples = sim_data[1]
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    core = [c for v in cb.common_core("opinion") for c in v.columns]
    for k, keep in ((1, 8), (2, 7)):
        rows[k][h.index("complet")] = "0"
        kept = 0
        for v in cb.common_core("opinion"):
            for c in v.columns:
                if c in core and kept >= keep:
                    rows[k][h.index(c)] = ""
            kept += 1
    _write(folder / "residents.csv", rows)
    table = ingest.ingest(folder, samples, cb, min_core_answered=8).surveys["residents"].responses
    reasons = table.set_index("slot_id")["reason"]
    assert reasons[rows[1][0]] == "partiel"
    assert reasons[rows[2][0]] == "abandon"


def test_ledger_labels_state_the_break_off_rule_of_the_parameter(clean, sim_data, cb):
    """A review: Tableau 4 of report 03 labelled a respondent « interrompu après le tronc commun » and a non-respondent
    « abandonné avant la fin du tronc commun », while the rule counts answered items (8 of the 17 make a response: a
    questionnaire stopped after the 13 image items is one). The labels now state the rule with the parameter's
    number, and the units counted under each label meet it (counted again from their answers)."""
    core = sum(1 for v in cb.variables if v.common_core and v.role == "opinion")
    seen = set()
    for n in (5, 8):
        result = ingest.ingest(clean, sim_data[1], cb, min_core_answered=n)
        label = result.ledger.set_index(["survey", "reason"])["reason_label"]
        for survey in ("residents", "visitors"):
            assert label[survey, "partiel"] == (f"Questionnaire interrompu, réponse à au moins {n} des {core} questions "
                                                "d'opinion du tronc commun")
            assert label[survey, "abandon"] == (f"Questionnaire interrompu, réponse à moins de {n} des {core} questions "
                                                "d'opinion du tronc commun")
            table = result.surveys[survey].responses
            answered = ingest.answered_core(table, cb)
            assert (answered[table["reason"] == "partiel"] >= n).all()
            assert (answered[table["reason"] == "abandon"] < n).all()
            seen.update(table["reason"])
        assert not result.ledger["reason_label"].str.contains("{", regex=False).any()
    assert {"partiel", "abandon"} <= seen                  # the rule was checked on units of both kinds


def test_leading_zeros_and_emails(clean, sim_data, cb, tmp_path):
    """Department and commune codes that lost their leading zero are restored; e-mails in texts are removed."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    k = next(i for i, r in enumerate(rows) if r[h.index("dep_residence")] == "02")
    rows[k][h.index("dep_residence")] = "2"
    rows[k][h.index("commune_residence")] = rows[k][h.index("commune_residence")].lstrip("0")
    rows[1][h.index("mots_1")] = "écrivez-moi à jean.dupont@example.org"
    _write(folder / "residents.csv", rows)
    r = ingest.ingest(folder, sim_data[1], cb).surveys["residents"]
    t = r.responses.set_index("slot_id")
    assert t.loc[rows[k][0], "dep_residence"] == "02"
    assert len(t.loc[rows[k][0], "commune_residence"]) == 5
    assert t.loc[rows[1][0], "mots_1"] == "écrivez-moi à [courriel supprimé]"
    assert r.emails_removed == 1
    assert r.codes_padded == {"dep_residence": 1, "commune_residence": 1}     # the two cells edited above
    from portrait.reporting.fieldwork_text import cleaning_sentence
    assert "2 codes dont le zéro initial s'était perdu (2100 pour 02100" in cleaning_sentence({"residents": r})
    assert "`commune_residence` : 1" in cleaning_sentence({"residents": r})
    assert ingest.ingest(clean, sim_data[1], cb).surveys["residents"].codes_padded == {}
    assert "zéro initial" not in cleaning_sentence(ingest.ingest(clean, sim_data[1], cb).surveys)


def test_ipv6_and_mac_addresses_without_three_digits_close_together_are_removed(clean, sim_data, cb, tmp_path):
    """The ingest looks in a column only when a cheap hint says something may be there (three digits close together
    for a phone number): « fe80::abcd » and « aa:bb:cc:dd:ee:ff » have none, and would have stayed. Planted in a
    column of plain words of a copy of the simulated folder (an IPv4 address in another), each is removed and
    counted, IPv4 and IPv6 together."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    words = [c for c in h if c.startswith("mots_")]
    planted = {(1, words[0]): ("box fe80::abcd", "box [adresse IP supprimée]"),
               (3, words[0]): ("carte aa:bb:cc:dd:ee:ff", "carte [adresse MAC supprimée]"),
               (2, words[1]): ("IP 10.0.0.1", "IP [adresse IP supprimée]")}
    for row in rows[1:]:
        row[h.index(words[0])] = "plage"
    for (k, col), (text, _) in planted.items():
        rows[k][h.index(col)] = text
    _write(folder / "residents.csv", rows)
    r = ingest.ingest(folder, sim_data[1], cb).surveys["residents"]
    t = r.responses.set_index("slot_id")
    assert {at: t.loc[rows[at[0]][0], at[1]] for at in planted} == {at: after for at, (_, after) in planted.items()}
    assert (r.ips_removed, r.macs_removed) == (2, 1)


# ----------------------------------------------------------------------------- the bad-input matrix


def _set(survey, row, column, value):
    def f(rows):
        rows[row - 1][rows[0].index(column)] = value
    return survey, f


def _forces_four(rows):
    h = rows[0]
    for i in range(1, 13):
        rows[1][h.index(f"forces_{i:02d}")] = "1" if i <= 4 else "0"


def _duplicate(rows):
    rows[2][0] = rows[1][0]


def _drop_column(rows):
    j = rows[0].index("img_acces")
    for r in rows:
        del r[j]


def _extra_column(rows):
    rows[0].append("commentaire")
    for r in rows[1:]:
        r.append("RAS")


def _extra_field(rows):
    rows[2].append("en trop")


def _incomplete_multi(rows):
    h = rows[0]
    for i in range(1, 13):
        rows[1][h.index(f"forces_{i:02d}")] = "0"
    rows[1][h.index("forces_01")] = "1"
    rows[1][h.index("forces_05")] = ""


def _filtered_region(rows):
    h = rows[0]
    rows[1][h.index("pays")] = "2"
    rows[1][h.index("region_residence")] = "11"


ROW_EDITS = {
    "decimal_comma": (*_set("residents", 2, "image_globale", "7,5"), "decimal_comma", 2, "image_globale"),
    "unknown_code": (*_set("residents", 3, "img_sure", "6"), "unknown_code", 3, "img_sure"),
    "out_of_range": (*_set("residents", 4, "image_globale", "11"), "out_of_range", 4, "image_globale"),
    "not_integer": (*_set("residents", 2, "recommandation", "dix"), "not_integer", 2, "recommandation"),
    "four_choices": ("residents", _forces_four, "too_many_choices", 2, "forces"),
    "duplicate_id": ("residents", _duplicate, "duplicate_id", 3, "slot_id"),
    "not_in_sample": (*_set("residents", 5, "slot_id", "99999-9999"), "not_in_sample", 5, "slot_id"),
    "missing_column": ("residents", _drop_column, "missing_column", 1, "img_acces"),
    "extra_column": ("residents", _extra_column, "extra_column", 1, "commentaire"),
    "extra_field": ("residents", _extra_field, "field_count", 3, None),
    "incomplete_multiselect": ("residents", _incomplete_multi, "incomplete_multiselect", 2, "forces"),
    "missing_value": (*_set("visitors", 2, "complet", ""), "missing_value", 2, "complet"),
    "filter": ("visitors", _filtered_region, "filter", 2, "region_residence"),
    "bad_format": (*_set("residents", 2, "commune_residence", "5935A"), "bad_format", 2, "commune_residence"),
    "upper_case_names": ("residents", lambda rows: rows.__setitem__(0, [h.upper() for h in rows[0]]),
                         "column_case", 1, None),
    "paris": (*_set("residents", 3, "commune_residence", "75056"), "unknown_commune", 3, "commune_residence"),
    "no_such_commune": (*_set("residents", 4, "commune_residence", "99999"), "unknown_commune", 4,
                        "commune_residence"),
    "aisne_code_not_current": (*_set("residents", 2, "commune_residence", "02077"), "unknown_commune", 2,
                       "commune_residence"),
}


@pytest.mark.parametrize("case", sorted(ROW_EDITS))
def test_bad_cell_gives_its_rule_row_and_column(case, clean, sim_data, cb, tmp_path):
    """Each defective cell or row is reported with its own rule, spreadsheet row and column, and nothing else."""
    survey, edit, rule, row, column = ROW_EDITS[case]
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / f"{survey}.csv")
    edit(rows)
    _write(folder / f"{survey}.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    assert [(p.rule, p.row, p.column) for p in err.problems] == [(rule, row, column)]
    p = err.problems[0]
    assert f"[{rule}]" in str(err) and f"{survey}.csv" in p.file
    assert str(p) in str(err)
    if case == "filter":       # the filter's answers by their questionnaire labels, which every tool shares
        assert "only asked when 'pays' is « France » (here « Belgique »)" in p.message


def test_a_question_whose_filter_was_left_blank_is_not_a_filter_problem(clean, sim_data, cb, tmp_path):
    """Trial K (a mutation survived): a region answered by a visitor who left the country blank is not « answered
    although not asked » — the filter's answer is unknown, not another country."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "visitors.csv")
    h = rows[0]
    k = next(i for i, r in enumerate(rows[1:], 1) if r[h.index("region_residence")] != "")
    rows[k][h.index("pays")] = ""
    _write(folder / "visitors.csv", rows)
    found = ingest.check(folder, sim_data[1], cb)
    assert "filter" not in [p.rule for p in found.problems]
    rows[k][h.index("pays")] = "2"                          # Belgique: then it is one
    _write(folder / "visitors.csv", rows)
    assert [(p.rule, p.row) for p in ingest.check(folder, sim_data[1], cb).problems if p.rule == "filter"] == [
        ("filter", k + 1)]


def _cut_mid_row(data: bytes) -> bytes:
    body = data.rstrip(b"\r\n")
    return body[:body.rfind(b";", 0, len(body) - 20)]


def _with_accent(data: bytes) -> bytes:
    """The file with « fière » as first word of the first respondent (so that it holds an accent)."""
    rows = list(csv.reader(_io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))
    rows[1][rows[0].index("mots_1")] = "fière"
    buf = _io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("cp1252")


def _utf8(data: bytes) -> bytes:
    return _with_accent(data).decode("cp1252").encode("utf-8")


def _comma(data: bytes) -> bytes:
    rows = list(csv.reader(_io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))
    buf = _io.StringIO()
    csv.writer(buf, delimiter=",", lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("cp1252")


def _open_quote(data: bytes) -> bytes:
    return data.rstrip(b"\r\n") + b'\r\n"unterminated;text'


BYTE_EDITS = {
    "empty_file": (lambda d: b"", {}, "empty_file", None),
    "header_only": (lambda d: d.split(b"\r\n")[0] + b"\r\n", {}, "empty_file", None),
    "truncated": (_cut_mid_row, {}, "truncated", "last"),
    "open_quote": (_open_quote, {}, "truncated", "last+1"),
    "comma_separator": (_comma, {}, "separator", 1),
    "utf8_without_bom": (_utf8, {}, "encoding", 2),
    "cp1252_read_as_utf8": (_with_accent, {"encoding": "utf-8"}, "encoding", 2),
    "utf16": (lambda d: d.decode("cp1252").encode("utf-16"), {}, "encoding", None),
    "utf16_without_bom": (lambda d: d.decode("cp1252").encode("utf-16-le"), {}, "encoding", None),
}


@pytest.mark.parametrize("case", sorted(BYTE_EDITS))
def test_bad_file_gives_its_rule(case, clean, sim_data, cb, tmp_path):
    """Empty, truncated, comma-separated and wrongly encoded files are each reported with their rule (and row)."""
    edit, kw, rule, row = BYTE_EDITS[case]
    folder = _copy(clean, tmp_path)
    path = folder / "residents.csv"
    data = path.read_bytes()
    n_lines = data.rstrip(b"\r\n").count(b"\r\n") + 1
    path.write_bytes(edit(data))
    err = _problems(folder, sim_data[1], cb, **kw)
    mine = [p for p in err.problems if p.file.endswith("residents.csv")]
    assert [p.rule for p in mine] == [rule]
    expected_row = {"last": n_lines, "last+1": n_lines + 1}.get(row, row)
    assert mine[0].row == expected_row
    if case == "cp1252_read_as_utf8":
        assert mine[0].column == "mots_1"
    if case == "open_quote":        # a board's trial: a quote left open read as « the export was cut » only
        assert f"opened at row {expected_row}: a quote left open in that row" in str(err)
    assert f"[{rule}]" in str(err)


def test_unreadable_workbook_and_spss_file(clean, sim_data, cb, tmp_path):
    """A truncated XLSX or SPSS file is reported as unreadable, not as a Python traceback."""
    folder = _copy(clean, tmp_path)
    for fmt in ("xlsx", "sav"):
        path = folder / f"residents.{fmt}"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        err = _problems(folder, sim_data[1], cb, fmt=fmt)
        assert [(p.rule, p.file.endswith(f"residents.{fmt}")) for p in err.problems] == [("unreadable", True)]


def test_contact_status_problems(clean, sim_data, cb, tmp_path):
    """An unknown contact-status code and a not-delivered unit that answered are both reported."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents_dispositions.csv")
    answered = _rows(folder / "residents.csv")[1][0]
    rows[1][1] = "7"
    rows.append([answered, "1"])
    _write(folder / "residents_dispositions.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    got = {(p.rule, p.row, p.column) for p in err.problems}
    assert got == {("unknown_disposition", 2, "statut_contact"), ("disposition_conflict", len(rows), "slot_id")}


def test_a_commune_written_as_a_decimal_number_is_read_as_its_code(clean, sim_data, cb, tmp_path):
    """A trial: a survey tool's numeric question wrote the commune « 2049.0000000000 », refused as « not an INSEE
    code ». It is the code 02049, read as such (as the leading zero a spreadsheet drops)."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    k = next(i for i, r in enumerate(rows[1:], 1) if r[h.index("commune_residence")])
    code = rows[k][h.index("commune_residence")]
    rows[k][h.index("commune_residence")] = f"{int(code)}.0000000000"
    _write(folder / "residents.csv", rows)
    got = ingest.ingest(folder, sim_data[1], cb).surveys["residents"].responses
    assert got.set_index("slot_id").loc[rows[k][0], "commune_residence"] == code


def test_columns_a_spreadsheet_leaves_empty_after_the_last_are_ignored(clean, sim_data, cb, tmp_path):
    """A trial: Excel's trailing empty columns (« ;; » at the end of each line) gave « column '': [duplicate_column] »
    and « [extra_column] ». Columns with neither a name nor a value hold nothing: the export is read as without
    them; an empty-named column that holds a value is still an extra column."""
    folder = _copy(clean, tmp_path)
    want = ingest.ingest(folder, sim_data[1], cb).surveys["residents"].responses
    rows = _rows(folder / "residents.csv")
    _write(folder / "residents.csv", [r + ["", ""] for r in rows])
    got = ingest.ingest(folder, sim_data[1], cb).surveys["residents"].responses
    pd.testing.assert_frame_equal(got, want)
    rows = [r + ["", ""] for r in rows]
    rows[2][-1] = "5"
    _write(folder / "residents.csv", rows)
    assert "extra_column" in {p.rule for p in _problems(folder, sim_data[1], cb).problems}


def test_a_refusal_that_answered_is_counted_and_said(clean, sim_data, cb, tmp_path):
    """A trial: 30 completers whose contact status says refused counted as responses with no word (the refusal count
    stayed 113). The answer still wins, but the units are counted with their status rows and said."""
    from portrait.reporting.fieldwork_text import status_sentences

    folder = _copy(clean, tmp_path)
    before = ingest.ingest(folder, sim_data[1], cb).surveys
    assert before["residents"].refused_answered == 0 and "Refus qui ont répondu" not in status_sentences(before)
    answers = _rows(folder / "residents.csv")
    h = answers[0]
    done = [r[0] for r in answers[1:] if r[h.index("complet")] == "1"][:3]
    refus = next(c for c, spec in cb.dispositions.items() if spec["reason"] == "refus")
    # a review: a refusal whose questionnaire was abandoned is no answer, and is not counted as one
    abandoned = before["residents"].responses.loc[lambda t: t["reason"] == "abandon", "slot_id"].iloc[0]
    rows = _rows(folder / "residents_dispositions.csv")
    rows += [[token, str(refus)] for token in done] + [[abandoned, str(refus)]]
    _write(folder / "residents_dispositions.csv", rows)
    after = ingest.ingest(folder, sim_data[1], cb).surveys
    r = after["residents"]
    assert r.refused_answered == 3 and r.refused_answered_rows == tuple(range(len(rows) - 3, len(rows)))
    assert set(r.responses.set_index("slot_id").loc[done, "reason"]) == {"complet"}        # the answer wins
    assert ("**Refus qui ont répondu.** 3 unités marquées « refus » dans les statuts de contact ont pourtant répondu "
            "(habitants : 3, lignes") in status_sentences(after).replace("\u00a0", " ")


def test_a_missing_native_contact_status_file_is_said(clean, sim_data, cb, tmp_path):
    """A trial: in the native layout, where the contact-status file is optional, removing it turned 134 bounces, 113
    refusals and 79 out-of-scope residents into silent invitees with no word anywhere. The reports now say which
    survey's statuses were not read, and what that does to its response rate."""
    from portrait.reporting.fieldwork_text import cleaning_sentence

    folder = _copy(clean, tmp_path)
    before = ingest.ingest(folder, sim_data[1], cb).surveys
    assert all(r.status_read for r in before.values()) and "Aucun fichier de statuts" not in cleaning_sentence(before)
    (folder / "residents_dispositions.csv").unlink()
    after = ingest.ingest(folder, sim_data[1], cb).surveys
    assert not after["residents"].status_read and after["visitors"].status_read
    text = cleaning_sentence(after)
    assert text.startswith("**Aucun fichier de statuts de contact pour les habitants** (`residents_dispositions.csv`) : "
                           "les invitations non distribuées, les refus et les personnes hors champ ne s'y distinguent pas")
    assert "clients" not in text.split("\n\n")[0]


def test_a_respondent_marked_out_of_scope_is_counted_and_said(clean, sim_data, cb, tmp_path):
    """A board's trial: a complete respondent whose contact status says out of scope (code 3) left the respondents
    with no word in any report. The status still wins (an out-of-scope unit is not in the population), but the
    units set aside this way are counted per survey and named in the sentence the fieldwork and check reports show."""
    from portrait.reporting.fieldwork_text import out_of_scope_sentence

    folder = _copy(clean, tmp_path)
    before = ingest.ingest(folder, sim_data[1], cb).surveys
    assert before["residents"].answered_out_of_scope == 0 and out_of_scope_sentence(before) == ""
    answers = _rows(folder / "residents.csv")
    h = answers[0]
    done = [r[0] for r in answers[1:] if r[h.index("complet")] == "1"][:2]
    rows = _rows(folder / "residents_dispositions.csv")
    rows += [[token, "3"] for token in done]
    _write(folder / "residents_dispositions.csv", rows)
    after = ingest.ingest(folder, sim_data[1], cb).surveys
    r = after["residents"]
    assert r.answered_out_of_scope == 2 and after["visitors"].answered_out_of_scope == 0
    led = r.ledger.set_index("reason")["n"]
    assert led["complet"] == before["residents"].ledger.set_index("reason")["n"]["complet"] - 2
    assert set(r.responses.set_index("slot_id").loc[done, "reason"]) == {"hors_champ"}
    assert r.out_of_scope_rows == (len(rows) - 1, len(rows))         # where to find them: the rows added above
    text = out_of_scope_sentence(after)
    assert "2 unités marquées hors champ" in text and "clients" not in text
    assert f"habitants : 2, lignes {len(rows) - 1} et {len(rows)} de `residents_dispositions.csv`" in text


def test_a_respondent_without_sex_or_age_is_refused_at_the_check(clean, sim_data, cb, tmp_path):
    """A board's trial: a respondent who skipped AGE passed the export check, then stage 04 stopped on a count
    (« 1 resident respondents lack sex or age », no row, two cells counted as one). The ingest now names each cell,
    for residents only (the visitors are calibrated on the partner files, not on sex and age)."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    done = [k for k in range(1, len(rows)) if rows[k][h.index("complet")] == "1"]
    rows[done[0]][h.index("age")] = ""
    rows[done[1]][h.index("sexe")] = ""
    _write(folder / "residents.csv", rows)
    vrows = _rows(folder / "visitors.csv")
    vrows[1][vrows[0].index("age")] = ""
    _write(folder / "visitors.csv", vrows)
    err = _problems(folder, sim_data[1], cb)
    assert sorted((p.rule, p.row, p.column) for p in err.problems) == [
        ("missing_for_weighting", done[0] + 1, "age"), ("missing_for_weighting", done[1] + 1, "sexe")]
    assert "residents.csv" in err.problems[0].file


def test_a_respondent_without_sex_is_named_beside_other_problems(clean, sim_data, cb, tmp_path):
    """A new user's trial: a respondent without sex was reported alone, but once an answer out of range was added
    anywhere (in the visitors' file too) the check listed that one problem, and the missing sex came only after it was
    fixed. Every problem is now listed at once; an answer not among its codes is not reported again as missing, and a file
    whose identifiers are in doubt (a duplicate) gets no such row, since who responded is not known."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    done = [k for k in range(1, len(rows)) if rows[k][h.index("complet")] == "1"]
    rows[done[0]][h.index("sexe")] = ""
    rows[done[1]][h.index("age")] = "9"                 # not one of its codes: read as missing, reported once
    _write(folder / "residents.csv", rows)
    vrows = _rows(folder / "visitors.csv")
    vrows[1][vrows[0].index("image_globale")] = "11"
    _write(folder / "visitors.csv", vrows)
    found = sorted((p.file.rsplit("/", 1)[-1], p.rule, p.row, p.column)
                   for p in _problems(folder, sim_data[1], cb).problems)
    assert found == sorted([("residents.csv", "missing_for_weighting", done[0] + 1, "sexe"),
                            ("residents.csv", "unknown_code", done[1] + 1, "age"),
                            ("visitors.csv", "out_of_range", 2, "image_globale")])
    rows.append(rows[done[2]])                          # the same identifier twice: who responded is in doubt
    _write(folder / "residents.csv", rows)
    rules = {p.rule for p in _problems(folder, sim_data[1], cb).problems}
    assert "duplicate_id" in rules and "missing_for_weighting" not in rules


def test_code_4_sets_a_native_response_aside(clean, sim_data, cb, tmp_path):
    """In the native layout the analyst sets a response aside with contact status 4 (``ecartee``): the respondent
    without age then counts as a non-respondent, and the check passes; the other units keep their reasons."""
    folder = _copy(clean, tmp_path)
    before = ingest.ingest(folder, sim_data[1], cb).surveys["residents"].responses.set_index("slot_id")["reason"]
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    k = next(i for i in range(1, len(rows)) if rows[i][h.index("complet")] == "1")
    rows[k][h.index("age")] = ""
    _write(folder / "residents.csv", rows)
    disp = _rows(folder / "residents_dispositions.csv")
    _write(folder / "residents_dispositions.csv", disp + [[rows[k][0], "4"]])
    r = ingest.ingest(folder, sim_data[1], cb).surveys["residents"]
    after = r.responses.set_index("slot_id")["reason"]
    assert after[rows[k][0]] == "ecartee" and before[rows[k][0]] == "complet"
    assert (after != before).sum() == 1
    assert (r.set_aside, r.set_aside_rows) == (1, (len(disp) + 1,))


def test_contact_status_duplicate_names_the_first_row(clean, sim_data, cb, tmp_path):
    """A unit listed twice in the contact-status file: the second row is reported, with the row of the first."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents_dispositions.csv")
    rows.append(list(rows[2]))
    _write(folder / "residents_dispositions.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    dup = [p for p in err.problems if p.rule == "duplicate_id"]
    assert [(p.row, p.column) for p in dup] == [(len(rows), "slot_id")]
    assert "already appears at row 3 of the contact-status file" in str(dup[0])


def test_missing_real_export_is_reported(sim_data, cb, tmp_path):
    """With the real source and no export in the folder, the missing files are reported by name."""
    err = _problems(tmp_path, sim_data[1], cb)
    assert sorted((p.rule, p.file.split("/")[-1]) for p in err.problems) == [
        ("missing_file", "residents.csv"), ("missing_file", "visitors.csv")]



def test_an_export_named_with_another_case_is_pointed_at(clean, sim_data, cb, tmp_path):
    """A board's trial: « Residents.csv » saved by a Windows user gave « the export file does not exist » with no
    word of the file beside it (names are case-sensitive on Linux). The message now names it."""
    folder = _copy(clean, tmp_path)
    (folder / "residents.csv").rename(folder / "Residents.csv")
    err = _problems(folder, sim_data[1], cb)
    assert [(p.rule, p.file.split("/")[-1]) for p in err.problems] == [("missing_file", "residents.csv")]
    assert "Residents.csv is there: rename it residents.csv (file names are case-sensitive)" in str(err)


# ----------------------------------------------------------------------------- all problems, nothing written


def test_several_defects_are_all_listed_and_nothing_is_written(clean, sim_data, cb, tmp_path):
    """Defects in both files are listed together, and no output file is written."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    rows[1][h.index("image_globale")] = "7,5"
    rows[2][h.index("img_sure")] = "6"
    rows[3][0] = rows[2][0]
    _write(folder / "residents.csv", rows)
    vrows = _rows(folder / "visitors.csv")
    _drop = vrows[0].index("motif")
    for r in vrows:
        del r[_drop]
    _write(folder / "visitors.csv", vrows)
    out = tmp_path / "out"
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest_to_files(folder, sim_data[1], cb, out_ledger=out / "ledger.csv",
                               out_responses={"residents": out / "r.parquet", "visitors": out / "v.parquet"})
    got = sorted((p.rule, p.row, p.column) for p in exc.value.problems)
    assert got == [("decimal_comma", 2, "image_globale"), ("duplicate_id", 4, "slot_id"),
                   ("missing_column", 1, "motif"), ("unknown_code", 3, "img_sure")]
    assert str(exc.value).startswith("4 problem(s)")
    assert "nothing was written" in str(exc.value)
    assert not out.exists()


def test_long_lists_are_capped_with_a_count(clean, sim_data, cb, tmp_path):
    """More than 50 problems: the message lists 50 and counts the others; all are kept on the exception."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    for k in range(1, 31):
        rows[k][h.index("img_sure")] = "8"
        rows[k][h.index("img_acces")] = "0"
    _write(folder / "residents.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    assert len(err.problems) == 60
    assert "… and 10 more problem(s)" in str(err)
    assert str(err).count("\n  - ") == 50
    assert len(ingest.problems_table(err.problems)) == 60


def test_outputs_are_written_after_a_clean_ingest(clean, sim_data, cb, tmp_path):
    """A clean ingest writes both Parquet tables and the ledger, which balances per survey."""
    out = {"residents": tmp_path / "r.parquet", "visitors": tmp_path / "v.parquet"}
    ingest.ingest_to_files(clean, sim_data[1], cb, out_responses=out, out_ledger=tmp_path / "ledger.csv")
    led = io.read_csv(tmp_path / "ledger.csv", french=True)
    for survey, sample in sim_data[1].items():
        assert led.loc[led["survey"] == survey, "n"].sum() == len(sample)
        back = pd.read_parquet(out[survey])
        assert len(back) == len(sample)
        assert str(back["img_sure" if survey == "residents" else "intention_retour"].dtype) == "Int16"


def test_bad_parameters_are_named(clean, sim_data, cb):
    """An unknown encoding or an impossible break-off threshold raises a ParameterError naming it."""
    with pytest.raises(ParameterError, match="csv_encoding"):
        ingest.ingest(clean, sim_data[1], cb, encoding="latin-9")
    with pytest.raises(ParameterError, match="min_core_answered"):
        ingest.ingest(clean, sim_data[1], cb, min_core_answered=40)


def test_item_nonresponse_and_response_rates(clean, sim_data, cb):
    """Item non-response follows the questionnaire's filter and counts what is changed: blanking 3 answered
    « région de résidence » adds exactly 3 blanks, moving 2 respondents abroad removes 2 from those asked.
    Response rates by stratum equal, stratum by stratum, a count by hand on the simulator's outcomes."""
    sim, samples = sim_data
    result = ingest.ingest(clean, samples, cb)
    v = result.surveys["visitors"].responses
    inr = ingest.item_nonresponse(v, cb, "visitors").set_index("variable")
    resp = v["status"] == "respondent"
    assert inr.loc["region_residence", "asked"] == int((resp & (v["pays"] == 1)).sum())
    # a question without « Ne sait pas » has no such share; one with it has the share counted
    assert np.isnan(inr.loc["forces", "dont_know_rate"]) and np.isnan(inr.loc["mots", "dont_know_rate"])
    assert inr.loc["img_dynamique", "dont_know_rate"] > 0 and inr.loc["img_dynamique", "dont_know_rate"] == pytest.approx(
        (v.loc[resp, "img_dynamique"] == cb.dont_know_code).sum() / resp.sum())
    answered = v.index[resp & (v["pays"] == 1) & v["region_residence"].notna()]
    w = v.copy()
    w.loc[answered[:3], "region_residence"] = np.nan
    abroad = v.index[resp & (v["pays"] == 1) & v["region_residence"].isna()]
    w.loc[abroad[:2], "pays"] = 2
    after = ingest.item_nonresponse(w, cb, "visitors").set_index("variable")
    assert after.loc["region_residence", "blank"] == inr.loc["region_residence", "blank"] + 3 - min(2, len(abroad))
    assert after.loc["region_residence", "asked"] == inr.loc["region_residence", "asked"] - min(2, len(abroad))
    assert after.loc["image_globale", "blank"] == inr.loc["image_globale", "blank"]
    rates = ingest.response_rates(v, "stratum").set_index("stratum")
    persons = sim.persons["visitors"].assign(id=lambda d: d["id"].astype(str)).set_index("id")
    reason = v.set_index(cb.id_column("visitors"))["reason"]
    stratum = v.set_index(cb.id_column("visitors"))["stratum"]
    for h, ids in stratum.groupby(stratum).groups.items():
        out = persons.loc[ids, "outcome"]
        in_scope = int((out != "hors_champ").sum())
        responded = int((out == "complet").sum() + (reason.loc[ids] == "partiel").sum())
        assert rates.loc[h, "in_scope"] == in_scope and rates.loc[h, "respondents"] == responded
        assert rates.loc[h, "rate"] == pytest.approx(responded / in_scope, rel=1e-12)


# ----------------------------------------------------------------------------- digits and privacy
OTHER_DIGITS = {
    "fullwidth_score": ("residents", "image_globale", "\uff17"),                 # ７
    "arabic_indic_score": ("residents", "recommandation", "\u0661\u0660"),       # ١٠
    "fullwidth_required": ("visitors", "complet", "\uff11"),                     # １ in a required column
    "devanagari_code": ("residents", "img_sure", "\u0969"),                      # ३
}


@pytest.mark.parametrize("case", sorted(OTHER_DIGITS))
def test_digits_of_other_scripts_are_refused_not_read_as_missing(case, sim_data, cb, tmp_path):
    """Python's \\d matches ７ or ١٠, which pandas cannot convert: such a cell used to become a missing
    answer without a word. Now it is its own rule, at its row and column (UTF-8 file: cp1252 cannot hold it)."""
    survey, column, value = OTHER_DIGITS[case]
    sim, samples = sim_data
    exports.write_survey_folder(sim.exports, sim.dispositions, tmp_path, cb, formats=["csv"], encoding="utf-8-sig")
    path = tmp_path / f"{survey}.csv"
    rows = list(csv.reader(_io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))
    rows[2][rows[0].index(column)] = value
    buf = _io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))
    err = _problems(tmp_path, samples, cb)
    assert [(p.rule, p.row, p.column) for p in err.problems] == [("non_ascii_digit", 3, column)]


def test_messages_never_repeat_what_a_respondent_wrote(clean, sim_data, cb, tmp_path):
    """An over-long open answer holding a name and a phone number: the error gives file, row, column, rule
    and length, and neither the name nor the number (in the message, the problems table or str())."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    secret = "Je suis Jeanne Martin-Dufresne, appelez-moi au 06 12 34 56 78, j'adore la baie de Somme " * 2
    rows[3][rows[0].index("mots_1")] = secret
    rows[4][rows[0].index("img_sure")] = "Martin"                    # a name typed in a code column
    _write(folder / "residents.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    assert sorted((p.rule, p.row, p.column) for p in err.problems) == \
        [("not_integer", 5, "img_sure"), ("too_long", 4, "mots_1")]
    shown = str(err) + err.problems[0].__repr__() + err.problems[1].__repr__() + \
        ingest_table(err).to_csv()
    for leaked in ("Jeanne", "Martin", "06 12 34 56 78", "Somme"):
        assert leaked not in shown
    assert f"a text of {len(secret.strip())} characters" in str(err), [str(p) for p in err.problems]
    # the board's trial: the limit's place is named, so that a longer tool limit can be declared
    assert "(`max_length` of « mots » in config/codebook.yaml" in str(err)


def ingest_table(err):
    from portrait.study.export_readers import problems_table

    return problems_table(err.problems)


def test_an_export_without_any_respondent_stops_the_ingest(clean, sim_data, cb, tmp_path):
    """Every row a break-off: the ingest used to pass and notebook 05 failed later on its non-response
    classes. Now the ingest names the file and the rule."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "visitors.csv")
    h = rows[0]
    core = [c for v in cb.common_core("opinion") for c in v.columns if c in h]
    for r in rows[1:]:
        r[h.index("complet")] = "0"
        for c in core:
            r[h.index(c)] = ""
    _write(folder / "visitors.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    assert [(p.rule, p.file.endswith("visitors.csv")) for p in err.problems] == [("no_respondent", True)]
    assert f"{len(rows) - 1} row(s) read" in str(err)


def test_title_rows_above_the_header_of_a_workbook(clean, sim_data, cb, tmp_path):
    """Two title rows above the column names (as a person formats a sheet) used to read as « no data row »;
    now the rows are named and the fix is said."""
    from openpyxl import load_workbook

    folder = _copy(clean, tmp_path)
    path = folder / "residents.xlsx"
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.insert_rows(1, 3)
    ws["A1"] = "Enquête acteurs-habitants 2017"
    ws["A2"] = "Export du 15 mars"
    wb.save(path)
    err = _problems(folder, sim_data[1], cb, fmt="xlsx")
    assert [(p.rule, p.row) for p in err.problems] == [("title_rows", 1)]
    assert "rows 1–2 above the header" in str(err)


@pytest.mark.parametrize("first", ["notes", "summary"])
def test_a_sheet_put_before_the_answers_is_named(first, clean, sim_data, cb, tmp_path):
    """Board trials: a « Notes » sheet put first gave « header but no data row », a summary sheet with a title
    « title rows », neither a word of the sheets. A first sheet no more than half as wide as another is now a
    ``wrong_sheet`` problem naming the wide one by its position (its title is the author's free text, never quoted),
    and nothing else is reported; a narrow sheet after the answers changes nothing."""
    from openpyxl import load_workbook

    folder = _copy(clean, tmp_path)
    path = folder / "residents.xlsx"
    wb = load_workbook(path)
    answers = wb.worksheets[0].title
    width = sum(c.value is not None for c in wb.worksheets[0][1])
    extra = wb.create_sheet("Notes", 0)
    if first == "notes":
        extra["A1"], extra["B1"] = "Commentaire", "Auteur"
    else:
        extra["A1"], extra["A3"], extra["B3"], extra["A4"], extra["B4"] = "Synthèse", "Réponses", 812, "Taux", 0.31
    wb.save(path)
    err = _problems(folder, sim_data[1], cb, fmt="xlsx")
    assert [(p.rule, p.row) for p in err.problems] == [("wrong_sheet", None)]
    assert f"sheet 2 (of 2, counting from the left) has a row of {width}: the answers look to be on that sheet; " \
           "put it first" in str(err)
    assert answers not in str(err)
    wb = load_workbook(path)
    wb.move_sheet("Notes", offset=1)
    wb.save(path)
    assert ingest.check(folder, sim_data[1], cb, fmt="xlsx").problems == []


def test_a_row_of_group_titles_above_the_header_stops_the_reading(clean, sim_data, cb, tmp_path):
    """A board's trial: group titles merged above the column names (« Profil » over A1:E1…) made them the header,
    and the check listed 1,492 problems, the merged cells not among the first ten. The merged ranges of the header
    row are now the only problems, first, and say to delete that row."""
    from openpyxl import load_workbook

    folder = _copy(clean, tmp_path)
    path = folder / "residents.xlsx"
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.insert_rows(1)
    ws["A1"], ws["F1"] = "Profil", "Image"
    ws.merge_cells("A1:E1")
    ws.merge_cells("F1:P1")
    wb.save(path)
    err = _problems(folder, sim_data[1], cb, fmt="xlsx")
    assert [(p.rule, p.row) for p in err.problems] == [("merged_cells", 1), ("merged_cells", 1)]
    assert "group titles above the column names" in err.problems[0].message and "cells A1:E1" in str(err)


def test_formula_without_a_cached_value_is_not_read_as_empty(clean, sim_data, cb, tmp_path):
    """A formula written by a program that does not compute it has no value in the file: it used to read as a
    blank answer; now its row and column are named."""
    from openpyxl import load_workbook

    folder = _copy(clean, tmp_path)
    path = folder / "residents.xlsx"
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    ws.cell(row=4, column=header.index("image_globale") + 1, value="=3+4")
    wb.save(path)
    err = _problems(folder, sim_data[1], cb, fmt="xlsx")
    assert [(p.rule, p.row, p.column) for p in err.problems] == [("formula_without_value", 4, "image_globale")]


def test_merged_cells_are_named_not_read_as_blank_answers(clean, sim_data, cb, tmp_path):
    """A board's trial: merging two cells of a column (as people do to « group » equal answers) blanked the second
    one silently. Each merged range is now a problem at its first row and column; nothing else is reported."""
    from openpyxl import load_workbook

    folder = _copy(clean, tmp_path)
    path = folder / "residents.xlsx"
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    col = [c.value for c in ws[1]].index("image_globale") + 1
    ws.merge_cells(start_row=5, start_column=col, end_row=6, end_column=col)
    wb.save(path)
    err = _problems(folder, sim_data[1], cb, fmt="xlsx")
    letter = ws.cell(row=5, column=col).column_letter
    assert [(p.rule, p.row, p.column) for p in err.problems] == [("merged_cells", 5, "image_globale")]
    assert f"cells {letter}5:{letter}6 are merged" in err.problems[0].message


def test_rows_are_numbered_as_a_spreadsheet_shows_them_after_a_line_break_in_a_text(clean, sim_data, cb, tmp_path):
    """An open answer with a line break (quoted, legal CSV) spans two physical lines; the bad code two
    records later is reported at the row a spreadsheet shows (4), not at its physical line (5)."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    rows[1][rows[0].index("mots_1")] = "mer\nciel"
    rows[3][rows[0].index("img_sure")] = "6"
    _write(folder / "residents.csv", rows)
    err = _problems(folder, sim_data[1], cb)
    assert [(p.rule, p.row, p.column) for p in err.problems] == [("unknown_code", 4, "img_sure")]


def test_an_open_quote_that_swallows_the_file_is_named(clean, sim_data, cb, tmp_path):
    """A quote left open makes the rest of the file one field, beyond the CSV reader's size limit: that used
    to be reported as a cut file. Now the rule says what it is, at the row where the quote opens."""
    folder = _copy(clean, tmp_path)
    path = folder / "residents.csv"
    lines = path.read_bytes().decode("cp1252").split("\r\n")
    lines[2] = lines[2].replace(";", ';"', 1)
    filler = ["sans guillemets " * 8] * 1200
    path.write_bytes("\r\n".join(lines[:3] + filler).encode("cp1252"))
    err = _problems(folder, sim_data[1], cb)
    mine = [p for p in err.problems if p.file.endswith("residents.csv")]
    assert [(p.rule, p.row) for p in mine] == [("field_too_long", 3)]


def test_commune_outside_the_declared_department(clean, sim_data, cb, tmp_path):
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    i = next(k for k, r in enumerate(rows[1:], start=1) if r[h.index("commune_residence")] and r[h.index("dep_residence")] == "59")
    rows[i][h.index("commune_residence")] = "80021"                     # Amiens, in the Somme
    _write(folder / "residents.csv", rows)
    found = {(p.row, p.column, p.rule) for p in _problems(folder, sim_data[1], cb).problems}
    assert found == {(i + 1, "commune_residence", "department_mismatch")}


def test_control_characters_are_refused_in_codes_and_removed_from_open_answers(clean, sim_data, cb, tmp_path):
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "visitors.csv")
    rows[3][rows[0].index("mots_1")] = "mer\x00"
    rows[4][rows[0].index("mots_2")] = "\x1bplage"
    _write(folder / "visitors.csv", rows)
    result = ingest.ingest(folder, sim_data[1], cb)
    vis = result.surveys["visitors"]
    assert vis.controls_removed == 2
    got = vis.responses.set_index("person_id").loc[[rows[3][0], rows[4][0]], ["mots_1", "mots_2"]]
    assert got.iloc[0, 0] == "mer" and got.iloc[1, 1] == "plage"
    rows[5][rows[0].index("sexe")] = "1\x00"
    _write(folder / "visitors.csv", rows)
    found = {(p.row, p.column, p.rule) for p in _problems(folder, sim_data[1], cb).problems}
    assert found == {(6, "sexe", "control_character")}


def test_spss_labels_that_reverse_a_scale_are_refused(clean, sim_data, cb, tmp_path):
    import pyreadstat

    folder = _copy(clean, tmp_path)
    df, meta = pyreadstat.read_sav(str(folder / "visitors.sav"), user_missing=True)
    labels = dict(meta.variable_value_labels)
    accord = labels["img_accueillante"]
    labels["img_accueillante"] = {k: accord[6 - k] if 1 <= k <= 5 else lab for k, lab in accord.items()}
    pyreadstat.write_sav(df, str(folder / "visitors.sav"), column_labels=meta.column_names_to_labels,
                         variable_value_labels=labels)
    found = {(p.column, p.value, p.rule) for p in _problems(folder, sim_data[1], cb, fmt="sav").problems}
    assert found == {("img_accueillante", c, "value_labels") for c in ("1", "2", "4", "5")}
    # the same reversal typed with typographic apostrophes (« Tout à fait d’accord »), as a tool or Word writes them
    assert any("'" in lab for lab in accord.values())
    labels["img_accueillante"] = {k: accord[6 - k].replace("'", "\u2019") if 1 <= k <= 5 else lab
                                  for k, lab in accord.items()}
    pyreadstat.write_sav(df, str(folder / "visitors.sav"), column_labels=meta.column_names_to_labels,
                         variable_value_labels=labels)
    problems = _problems(folder, sim_data[1], cb, fmt="sav").problems
    assert {(p.column, p.value, p.rule) for p in problems} == found
    assert all(p.row is None and "row" not in str(p) for p in problems)     # a label is not a response
    # other wording, same meaning: accepted
    labels["img_accueillante"] = {k: f"Réponse {int(k)}" for k in accord}
    pyreadstat.write_sav(df, str(folder / "visitors.sav"), column_labels=meta.column_names_to_labels,
                         variable_value_labels=labels)
    ingest.ingest(folder, sim_data[1], cb, fmt="sav")
    # a trial: the reversal in other words (an agency's questionnaire) passed; the ends' polarity gives it away,
    # in French or in English, and the same polarity in other words still passes
    for low, high in [("Très d'accord", "Pas d'accord du tout"), ("Strongly agree", "Strongly disagree"),
                      ("Strongly agree", "Don't agree at all")]:
        labels["img_accueillante"] = {**{k: f"Réponse {int(k)}" for k in accord}, 1.0: low, 5.0: high}
        pyreadstat.write_sav(df, str(folder / "visitors.sav"), column_labels=meta.column_names_to_labels,
                             variable_value_labels=labels)
        problems = _problems(folder, sim_data[1], cb, fmt="sav").problems
        assert [(p.column, p.value, p.rule) for p in problems] == [("img_accueillante", "1", "value_labels")]
        assert "where the codebook's scale runs from \"Pas du tout d'accord\" (1) to \"Tout à fait d'accord\" (5)" \
            in problems[0].message and low not in problems[0].message
    # a review: words that also mark a positive end (« sans aucune réserve ») must not make it negative
    for low, high in [("Pas d'accord du tout", "Très d'accord"), ("Plutôt contre", "D'accord, sans aucune réserve")]:
        labels["img_accueillante"] = {**{k: f"Réponse {int(k)}" for k in accord}, 1.0: low, 5.0: high}
        pyreadstat.write_sav(df, str(folder / "visitors.sav"), column_labels=meta.column_names_to_labels,
                             variable_value_labels=labels)
        ingest.ingest(folder, sim_data[1], cb, fmt="sav")


@pytest.mark.parametrize("case", ["utf8_seen_as_cp1252", "mac_roman"])
def test_garbled_accents_are_an_encoding_problem(case, clean, sim_data, cb, tmp_path):
    """Text that decodes without error but whose accents are visibly wrong is refused, with its cell."""
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "visitors.csv")
    col = rows[0].index("mots_1")
    if case == "utf8_seen_as_cp1252":
        rows[5][col] = "dorée".encode("utf-8").decode("cp1252")              # « dorÃ©e »
        _write(folder / "visitors.csv", rows)
    else:
        rows[5][col] = "dorée"
        text = "\r\n".join(";".join(r) for r in rows) + "\r\n"
        (folder / "visitors.csv").write_bytes(text.encode("mac_roman"))      # read as cp1252: « dorŽe »
    err = _problems(folder, sim_data[1], cb)
    (p,) = err.problems                          # the first garbled cell (Mac Roman: every accent is)
    assert p.rule == "encoding" and p.column.startswith("mots_") and p.row <= 6
    assert (p.row, p.column) == (6, "mots_1") or case == "mac_roman"
    assert "dor" not in str(err)


def test_derived_statistics_chosen_are_the_full_derivations_columns(clean, sim_data, cb):
    """``items.derived(statistics=…)`` (what a validation replication computes) gives exactly the columns and
    rows of the specification that the full derivation gives for those statistics, in its order."""
    from portrait.study import items

    sim, samples = sim_data
    table = ingest.ingest(clean, samples, cb).surveys["visitors"].responses
    full_values, full_spec = items.derived(table, cb, "visitors", words=False)
    wanted = [("image_globale", "mean", ""), ("forces", "share", "3"), ("img_sure", "accord", "top2"),
              ("recommandation", "nps_score", "")]
    assert set(wanted) <= set(full_spec[["item", "statistic", "level"]].itertuples(index=False, name=None))
    values, spec = items.derived(table, cb, "visitors", words=False, statistics=wanted)
    expected = full_spec.loc[[k in set(wanted) for k in full_spec[["item", "statistic", "level"]].itertuples(
        index=False, name=None)]].reset_index(drop=True)
    pd.testing.assert_frame_equal(spec, expected)
    pd.testing.assert_frame_equal(values, full_values[expected["column"]])


def test_the_aapor_table_ends_each_survey_with_its_overall_rates():
    from portrait.reporting.fieldwork_text import aapor_table

    # residents: stratum a = 2 complete, 1 refusal, 1 unknown; b = 1 partial, 3 unknown, 1 out of scope
    reasons = {"a": ["complet", "complet", "refus", "sans_reponse"],
               "b": ["partiel", "sans_reponse", "sans_reponse", "non_distribuee", "hors_champ"]}
    res = pd.DataFrame([(s, r) for s, rs in reasons.items() for r in rs], columns=["stratum", "reason"])
    unknown = set(res["reason"]) - set(ingest.AAPOR_GROUPS)
    assert not unknown, unknown
    vis = pd.DataFrame({"stratum": ["npdc|hebergement"] * 3, "reason": ["complet", "sans_reponse", "hors_champ"]})
    rates = pd.concat([ingest.aapor_rates(res, "stratum").assign(survey="residents"),
                       ingest.aapor_rates(vis, "stratum").assign(survey="visitors")], ignore_index=True)
    t = aapor_table(rates, "stratum", "Strate", str)
    assert t["Strate"].tolist() == ["a", "b", "Ensemble", "npdc|hebergement", "Ensemble"]
    overall = t.iloc[2]
    # by hand: I = 2, P = 1, R = 1, UO = 4, NE = 1; RR1 = 2 / 8, RR2 = 3 / 8
    assert [overall[c] for c in ("Complets (I)", "Partiels (P)", "Refus et abandons (R)",
                                 "Éligibilité inconnue (UO)", "Hors champ (NE)")] == ["2", "1", "1", "4", "1"]
    assert (overall["RR1 (%)"], overall["RR2 (%)"]) == ("25,0", "37,5")
    assert (t.iloc[4]["RR1 (%)"], t.iloc[4]["RR2 (%)"]) == ("50,0", "50,0")


def test_a_commune_declared_elsewhere_than_the_invitation_is_counted(clean, sim_data, cb, tmp_path):
    """A board's trial: a postal code typed for the INSEE code (59100, Roubaix's postal code, is Bousignies' INSEE
    code) passed every check, since it is a commune of the department. The commune a resident declares is now
    compared with the one their invitation went to: each one that differs is counted with its row, and report 03
    says so; the simulated answers, all at home, give none."""
    from portrait.reporting.fieldwork_text import status_sentences

    assert ingest.ingest(clean, sim_data[1], cb).surveys["residents"].other_commune == 0
    folder = _copy(clean, tmp_path)
    rows = _rows(folder / "residents.csv")
    h = rows[0]
    k = next(i for i, r in enumerate(rows) if r[h.index("dep_residence")] == "59" and r[h.index("commune_residence")]
             and r[h.index("commune_residence")] != "59100")
    rows[k][h.index("commune_residence")] = "59100"
    _write(folder / "residents.csv", rows)
    r = ingest.ingest(folder, sim_data[1], cb).surveys["residents"]
    assert (r.other_commune, r.other_commune_rows) == (1, (k + 1,))
    said = status_sentences({"residents": r}).replace("\u00a0", " ")
    assert "1 habitant a déclaré une autre commune que celle où son invitation a été envoyée (ligne " in said
    assert "code postal saisi au lieu du code Insee" in said


def test_answered_core_items_are_counted_as_pandas_reads_each_column(cb):
    """The count of answered common-core items, read from the nullable columns' data and masks, against pandas' own
    reading of each column (missing values 0 for a multi-select, any answer for a question), with a column of
    floats read as pandas reads it (a file typed otherwise) and values hidden under the masks."""
    rng = np.random.default_rng(3)
    n, table = 60, {}
    for v in cb.common_core("opinion"):
        for c in v.columns:
            data, mask = (rng.random(n) < 0.2 if v.type == "multi" else rng.integers(0, 6, n)), rng.random(n) < 0.4
            table[c] = pd.arrays.IntegerArray(np.where(mask, 1, data).astype(np.int16), mask)      # 1 under the mask
    first = cb.common_core("opinion")[0].columns[0]
    table[first] = np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 3, n).astype(float))
    table = pd.DataFrame(table, index=np.arange(100, 100 + n))
    want = np.zeros(n, dtype=np.int64)
    for v in cb.common_core("opinion"):
        if v.type == "multi":
            want += sum(table[c].to_numpy(dtype=np.int64, na_value=0) for c in v.columns) > 0
        else:
            want += np.logical_or.reduce([table[c].notna().to_numpy() for c in v.columns])
    got = ingest.answered_core(table, cb)
    assert got.index.equals(table.index) and np.array_equal(got.to_numpy(), want)
    assert 0 < got.min() < got.max()
    held = dict(table.items())      # the columns as the ingest reads them once: the same count
    assert np.array_equal(ingest.answered_core(table, cb, held).to_numpy(), want)


@pytest.mark.parametrize("sample_extra, answered_names", [({}, ["q1", "q2"]), ({"status": ["a", "b", "c"]}, ["q1"]),
                                                          ({}, ["q1", "pi"])])
def test_the_unit_table_is_the_sample_joined_to_its_answers(sample_extra, answered_names):
    """The one frame of the sample's columns, the added ones and the answers, against the sample's frame with its
    columns set, joined to the answers' frame (the path kept when a name repeats: a sample column ``status``, an
    answer named as a sample column)."""
    sample = pd.DataFrame({"slot_id": [3, 1, 2], "pi": [0.5, 0.25, 1.0], **sample_extra}, index=[7, 8, 9])
    ids = pd.array(["3", "1", "2"], dtype="string")
    added = {"status": np.array(["x", "y", "z"], dtype=object), "reason": pd.array(["r", None, "s"], dtype="str")}
    answered = {c: pd.array([1, None, i], dtype="Int16") for i, c in enumerate(answered_names)}
    table = sample.reset_index(drop=True).copy()
    table["slot_id"] = ids
    for c, values in added.items():
        table[c] = values
    want = pd.concat([table, pd.DataFrame(answered)], axis=1)
    got, slots, rows = unit_table.joined(sample, "slot_id", ids, added, answered)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(slots["pi"]) == [0.5, 0.25, 1.0] and list(rows[answered_names[0]].isna()) == [False, True, False]
    sample.loc[7, "pi"] = 9.0       # the table holds the sample's columns without sharing a write
    assert got.iloc[0, 1] == 0.5


@pytest.mark.parametrize("dtype", ["Int8", "Int16", "Int64", "float64", "boolean", "Float64"])
def test_completion_flags_read_as_pandas_compares_them(dtype):
    """A completion flag equal to 1 (missing: not complete) read from a nullable integer column's data and mask, as
    pandas' ``(values == 1).fillna(False)``: a 1 hidden under a missing value is not complete."""
    raw = [1, 0, None, 1, None, 2, 0, 1]
    if dtype == "boolean":
        raw = [True, False, None, True, None, False, False, True]
    values = pd.Series(pd.array(raw, dtype=dtype)) if dtype != "float64" else pd.Series(raw, dtype=float)
    if dtype.startswith("Int"):
        values.array._data[2] = 1            # what lies under a missing value is not read
    got, want = unit_table.equals_one(values), (values == 1).fillna(False).to_numpy(dtype=bool)
    assert got.dtype == want.dtype == bool
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("min_core_answered", [8, 3])
def test_a_ledger_is_its_rows_built_one_by_one_and_stays_its_own(cb, min_core_answered):
    """The ledger (its texts built once per survey, statuses and rule, then shared) against its rows built one by one,
    twice (the second from the shared texts), for both surveys; a ledger written to leaves the next one as it was."""
    rng = np.random.default_rng(min_core_answered)
    core_items = len(cb.common_core("opinion"))
    for survey in ("residents", "visitors"):
        reason = rng.integers(0, len(ingest._REASONS), 50).astype(np.int8)
        counts = np.bincount(reason, minlength=len(ingest._REASONS))
        rows = [(survey, st, spec["label"], r, ingest._reason_label(label, core_items, min_core_answered),
                 int(counts[ingest._REASONS.index(r)]) if r in ingest._REASONS else 0)
                for st, spec in cb.status.items() for r, label in spec["reasons"].items()]
        want = pd.DataFrame(rows, columns=["survey", "status", "status_label", "reason", "reason_label", "n"])
        for _ in range(2):
            got = ingest._ledger(survey, reason, cb, min_core_answered)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            got.loc[0, "status"], got.loc[0, "n"] = "changed", -1
        assert got["n"].sum() == 50 - 1 - int(want.loc[0, "n"])
