"""Survey-tool layouts: hand-made LimeSurvey and Qualtrics exports, simulated round trips, privacy.

Oracles: the hand-made exports of ``tests/fixtures/survey_tools/`` (written from the tools' public
documentation, not by the project's writer) and their expected ingest (``expected.csv``); the
native layout's ingest of the same simulated fieldwork.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portrait.pipeline import paths
from portrait.pipeline.errors import ParameterError, SurveyValidationError
from portrait.study import codebook, exports, ingest, survey_tools, tool_messages
from portrait.study.export_readers import FILE_RULES
from tests import helpers

FIXTURES = Path(__file__).parent / "fixtures" / "survey_tools"
KEY = b"fixture-key-not-secret-0123456789"
SLOTS = [f"02049-{k:04d}" for k in range(1, 7)]
TOOLS = {"limesurvey": "csv", "qualtrics": "csv"}
SEED = 20170301


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def _sample() -> pd.DataFrame:
    return pd.DataFrame({"slot_id": SLOTS, "stratum": "02-1", "code": "02049"})


def _personal_values(shortest: int = 4) -> list[str]:
    """Every value of ``shortest`` characters or more of a personal column in the hand-made files (what must never
    go further; shorter ones, such as « Eva », are sought as whole cells, not inside text)."""
    values = []
    for tool in TOOLS:
        lay = survey_tools.layout(tool, codebook.load())
        for name in ("residents.csv", lay.dispositions.file.format(survey="residents")):
            path = FIXTURES / tool / name
            skip = 1 if name != "residents.csv" else lay.header_rows
            head = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=0).columns
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None,
                                skiprows=skip, names=head)
            for c in table.columns:
                if c in lay.personal or c in lay.dispositions.personal:
                    values += [v for v in table[c] if len(v) >= shortest]
    return sorted(set(values))


def _tool_folder(tool: str, tmp_path: Path) -> Path:
    folder = tmp_path / tool
    shutil.copytree(FIXTURES / tool, folder)
    return folder


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_hand_made_export_ingests_to_its_expected_table(tool, cb, tmp_path):
    result = ingest.ingest(_tool_folder(tool, tmp_path), {"residents": _sample()}, cb, fmt=TOOLS[tool],
                           tool=tool, key=KEY)
    expected = pd.read_csv(FIXTURES / "expected.csv", sep=";", dtype=str, keep_default_na=False)
    got = result.surveys["residents"].responses[expected.columns].astype(object)
    got = got.where(got.notna(), "").astype(str)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    notes = {Path(n.file).name: n for n in result.notes}
    if tool == "qualtrics":
        assert notes["residents.csv"].set_aside == {"Status = 1": 1}      # the survey preview
        assert notes["residents.csv"].rows == 2
    assert notes["residents.csv"].unfinished == (expected["complet"] == "0").sum() == 1
    assert notes[survey_tools.layout(tool, cb).dispositions.file.format(survey="residents")].unfinished is None


@pytest.mark.parametrize("empty", ["NULL", "0000-00-00 00:00:00", "\\N", "None", "nUll"])
def test_a_completion_date_written_as_a_databases_empty_one_is_unfinished_and_counted(empty, cb, tmp_path):
    """A board's trial: a LimeSurvey export from a database dump wrote « NULL » (or MySQL's zero date) where the
    export leaves the completion date empty, and the ingest counted 21 break-offs as respondents. Such a date now
    reads as empty, and the read note counts the questionnaires it made unfinished."""
    from portrait.reporting import fieldwork_text

    folder = _tool_folder("limesurvey", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    j = rows[0].index("submitdate")
    finished = [r for r in rows[1:] if r[j]]
    for r in finished:
        r[j] = empty
    _write_csv(folder / "residents.csv", rows)
    result = ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    note = next(n for n in result.notes if Path(n.file).name == "residents.csv")
    assert len(finished) == 1 and note.null_dates == 1 and note.unfinished == len(rows) - 1
    assert result.surveys["residents"].responses["complet"].dropna().tolist() == [0] * (len(rows) - 1)
    assert f"({len(finished)} dont la date de fin est une date vide de base de données, « NULL », « \\N », " \
        "0000-00-00…, lue comme vide)" in \
        fieldwork_text.read_notes([note]).replace("\u00a0", " ")


@pytest.mark.parametrize("finished,unfinished", [("TRUE", "FALSE"), ("true", "false"), ("1.0", "0.0"), ("Y", "0")])
def test_a_completion_flag_rewritten_by_a_spreadsheet_still_reads(finished, unfinished, cb, tmp_path):
    """A Qualtrics trial: « Finished » written TRUE/FALSE or 1.0/0.0 by a spreadsheet round trip made every
    questionnaire unfinished (1,342 complete → 0), the check passing. Flags are compared case-insensitively and
    without a number's « .0 »; a value that is no completion flag at all (« Y ») is an unknown_status at its row."""
    folder = _tool_folder("qualtrics", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    j = rows[0].index("Finished")
    for r in rows[3:]:
        r[j] = finished if r[j] in ("1", "True") else unfinished if r[j] in ("0", "False") else r[j]
    _write_csv(folder / "residents.csv", rows)
    if finished == "Y":
        found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).problems
        assert {(p.rule, p.column) for p in found} == {("unknown_status", "Finished")}
        assert len(found) >= 1 and all(p.row and p.value == "Y" for p in found)   # the set-aside preview is not read
        return
    result = ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    expected = pd.read_csv(FIXTURES / "expected.csv", sep=";", dtype=str, keep_default_na=False)
    assert result.surveys["residents"].responses["complet"].dropna().astype(str).tolist() == \
        expected.loc[expected["complet"] != "", "complet"].tolist() == ["1", "0"]


def test_an_open_answer_of_minus_99_is_the_export_option_not_a_word(cb, tmp_path):
    """A Qualtrics trial: with « Recode seen but unanswered questions as -99 », closed questions forced, -99 became
    a word of 1,979 answers and moved report 03's item non-response. It is refused, with the option to untick;
    « 99 ans » or « -9 » stay words."""
    folder = _tool_folder("qualtrics", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    j = rows[0].index("Q16_1")
    answered = [k for k, r in enumerate(rows[3:], start=3) if r[rows[0].index("Status")] == "0"]
    rows[answered[0]][j], rows[answered[0]][j + 1] = "-99", "99 ans"
    _write_csv(folder / "residents.csv", rows)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).problems
    assert [(p.rule, p.column, p.row) for p in found] == [("unknown_code", "Q16_1", answered[0] + 1)]
    assert "« Recode seen but unanswered questions as -99 » is ticked" in found[0].message


def test_minus_99_in_a_coded_or_scored_answer_is_said_to_be_the_export_option(cb, tmp_path):
    """The same Qualtrics option writes -99 in closed questions too: there it was a bare « not a code » or « outside the
    range », which sent the analyst to the codebook. A -99 in a Likert item and in a 0–10 score is said to be the
    tool's missing-value code, with the option to untick; another wrong value keeps its own message."""
    from portrait.study.export_checks import MISSING_CODE

    folder = _tool_folder("qualtrics", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    likert, score = rows[0].index("Q13_1"), rows[0].index("Q12")
    answered = [k for k, r in enumerate(rows[3:], start=3) if r[rows[0].index("Status")] == "0"]
    rows[answered[0]][likert], rows[answered[0]][score] = "-99", "-99"
    rows[answered[1]][likert] = "7"
    _write_csv(folder / "residents.csv", rows)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).problems
    said = {(p.column, p.row): (p.rule, p.message) for p in found}
    for column in ("Q13_1", "Q12"):                    # the tool's codes are checked first: both are unknown codes
        rule, message = said[(column, answered[0] + 1)]
        assert rule == "unknown_code" and message.endswith("; it is " + MISSING_CODE)
    assert said[("Q13_1", answered[1] + 1)][0] == "unknown_code" and "-99" not in said[("Q13_1", answered[1] + 1)][1]
    # the native export's checks say the same of a code, a score and a count (an SPSS file's user-missing -99)
    from portrait.study import export_checks

    for name in ("img_accueillante", "recommandation"):
        problems = []
        export_checks._column_checks(cb.variable(name), name, pd.Series(["-99", "3", "-999", "77"]),
                                     np.array([2, 3, 4, 5]), "f.csv", cb, problems)
        assert sorted((p.row, p.message == MISSING_CODE) for p in problems) == [(2, True), (4, True), (5, False)]


def test_contact_statuses_in_another_case_read_as_the_tools(cb, tmp_path):
    """A Qualtrics trial: the distribution history's statuses in lower case (« survey finished ») were 5,004
    unknown_disposition problems, their value hidden. Case and surrounding spaces do not count: the statuses read as
    the tool's, with the same contact-status codes and the same check of finished participants."""
    folder = _tool_folder("qualtrics", tmp_path)
    before = ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    path = folder / "residents_distribution.csv"
    rows = _csv_rows(path)
    j = rows[0].index("Status")
    for r in rows[1:]:
        r[j] = f" {r[j].lower()} "
    _write_csv(path, rows)
    after = ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    pd.testing.assert_frame_equal(after.surveys["residents"].responses, before.surveys["residents"].responses)
    (folder / "residents.csv").write_text("".join((folder / "residents.csv").read_text(encoding="utf-8-sig")
                                                  .splitlines(keepends=True)[:4]), encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).problems
    assert "missing_response" in {p.rule for p in found}          # a finished participant without its response


def test_an_export_without_unfinished_questionnaires_is_questioned():
    """A response file of 100 rows or more with no unfinished questionnaire was probably exported with completed
    responses only (break-offs would then count as silence): the read notes ask; fewer rows, or some unfinished,
    are just counted."""
    from portrait.reporting import fieldwork_text
    from portrait.study.tool_statuses import UNFINISHED_EXPECTED

    def text(rows, unfinished):
        return fieldwork_text.read_notes([survey_tools.ReadNote("residents.csv", "limesurvey", rows=rows,
                                                                unfinished=unfinished)])

    assert "toutes les réponses" in text(UNFINISHED_EXPECTED, 0)
    assert "toutes les réponses" not in text(UNFINISHED_EXPECTED - 1, 0)
    assert "dont 3 questionnaires non terminés" in text(500, 3)
    assert "non terminé" not in text(500, None)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_personal_columns_are_dropped_unread(tool, cb, tmp_path):
    result = ingest.ingest(_tool_folder(tool, tmp_path), {"residents": _sample()}, cb, fmt=TOOLS[tool],
                           tool=tool, key=KEY)
    lay = survey_tools.layout(tool, cb)
    dropped = {c for n in result.notes for c in n.personal}
    assert dropped == {c for c in lay.personal if c != "refurl"} | set(lay.dispositions.personal)
    out = tmp_path / "out"
    ingest.write_outputs(result, {"residents": out / "r.parquet"}, out / "ledger.csv")
    personal = _personal_values()
    assert len(personal) >= 12
    table = pd.read_parquet(out / "r.parquet")
    ledger = pd.read_csv(out / "ledger.csv", sep=None, engine="python", dtype=str, keep_default_na=False)
    text = table.astype(str).to_csv() + (out / "ledger.csv").read_text(encoding="utf-8")
    assert not [v for v in personal if v in text]
    cells = {str(v).strip() for t in (table, ledger) for v in t.to_numpy().ravel()}
    short = [v for v in _personal_values(shortest=1) if len(v) < 4]
    assert short and not [v for v in short if v.strip() in cells]


def test_a_code_without_the_tools_prefix_is_told_so_not_that_it_is_a_label(cb, tmp_path):
    """A board's trial: a score typed « 3 » where LimeSurvey writes « A3 » was told the cell held the answer's label
    (a score's labels are its numbers) and to export « Answer codes », which it had. It is told the prefix is
    missing; « Homme » is still told it is a label."""
    folder = _tool_folder("limesurvey", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    j, k = rows[0].index("IMAGE"), rows[0].index("SEXE")
    assert rows[1][j].startswith("A")
    rows[1][j], rows[1][k] = rows[1][j][1:], "Homme"
    _write_csv(folder / "residents.csv", rows)
    found = {p.column: p.message for p in ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey",
                                                       key=KEY).problems if p.rule == "unknown_code"}
    assert f"LimeSurvey writes this answer 'A{rows[1][j]}': the cell lacks the code's prefix" in found["IMAGE"]
    assert "label" not in found["IMAGE"] and "prefix" not in found["SEXE"] and "label, not its code" in found["SEXE"]


def test_problems_name_the_tools_columns_and_never_repeat_personal_data(cb, tmp_path):
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace('"A2","A3","A4","A02","02049","12"', '"A7","A3","A4","A02","02049","212"', 1)
    text = text.replace('"A1","A5","A2"', '"camille.fixture@example.org","A5","A2"', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    found = {(p.row, p.column, p.rule) for p in exc.value.problems}
    assert (2, "SEXE", "unknown_code") in found
    assert (2, "ANNEES", "out_of_range") in found            # a native rule, named by the tool's column
    assert (3, "SEXE", "unknown_code") in found
    assert "example.org" not in str(exc.value)


def test_an_export_of_the_answers_labels_is_told_to_export_codes(cb, tmp_path):
    """A trial board exported LimeSurvey's « Full answers »: every cell of the coded questions was an unknown code,
    2,829 lines without the cause. A cell holding the question's own label now says to export the answer codes; a
    wrong code does not (its message would mislead); the label itself is never part of the message."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    label = cb.labels("sexe")[2]
    text = path.read_text(encoding="utf-8")
    text = text.replace('"A2","A3","A4","A02","02049","12"', f'"{label.upper()} ","A3","A4","A02","02049","12"', 1)
    text = text.replace('"A1","A5","A2"', '"A7","A5","A2"', 1)
    path.write_text(text, encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    sexe = {p.row: p for p in found.problems if p.column == "SEXE"}
    assert sexe[2].rule == sexe[3].rule == "unknown_code"
    assert "export the responses again with the answer codes" in sexe[2].message and label not in sexe[2].message
    assert "answer codes" not in sexe[3].message


def test_full_answers_and_converted_options_are_told_their_export_option(cb, tmp_path):
    """A trial: « Homme » (a word of the label, not all of it) and « 1 » in a multiple-choice column (LimeSurvey's
    « Convert Y to 1 ») were unknown codes with no remedy. The message now names the export option; a wrong code
    (« A7 ») still gets neither remedy."""
    import csv as _csv

    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    rows = list(_csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    h = rows[0]
    multi = next(j for j, c in enumerate(h) if "[" in c and any(r[j] == "Y" for r in rows[1:]))
    chosen = next(i for i, r in enumerate(rows[1:], 1) if r[multi] == "Y")
    rows[1][h.index("SEXE")], rows[2][h.index("SEXE")], rows[chosen][multi] = "Homme", "A7", "1"
    buf = io.StringIO()
    _csv.writer(buf, quoting=_csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    at = {(p.row, p.column): p for p in found.problems if p.rule == "unknown_code"}
    assert "export the responses again with the answer codes" in at[(2, "SEXE")].message
    assert "answer codes" not in at[(3, "SEXE")].message and "Convert Y to 1" not in at[(3, "SEXE")].message
    assert "« Convert Y to 1 » is ticked: export the responses again without it" in at[(chosen + 1, h[multi])].message


def test_exports_under_the_tools_own_names_are_pointed_out(cb, tmp_path):
    """A trial board left LimeSurvey's own file names and read only « the export file does not exist ». The missing
    file's problem now names the export files of the folder that the check does not read."""
    folder = _tool_folder("limesurvey", tmp_path)
    (folder / "residents.csv").rename(folder / "results-survey482913.csv")
    (folder / "notes.txt").write_text("not an export", encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    (missing,) = [p for p in found.problems if p.rule == "missing_file"]
    assert missing.file.endswith("residents.csv")
    # « Ce qui a été lu » said nothing of a file it could not read
    assert "Non lus\u00a0: <code>residents.csv</code> (fichier d’export absent)" in html.unescape(_check_html(found, tmp_path))
    assert "files the check does not read: results-survey482913.csv (" in missing.message
    assert "notes.txt" not in missing.message and "residents_participants.csv" not in missing.message


def test_a_tool_export_with_an_extra_column_is_told_where_to_declare_it(cb, tmp_path):
    """« add it to config/codebook.yaml » is the native layout's advice; a column a tool writes itself is declared
    in config/survey_tools.yaml (personal or technical)."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ',"COMMENTAIRE"'] + [line + ',""' for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    (extra,) = [p for p in found.problems if p.rule == "extra_column"]
    assert extra.column == "COMMENTAIRE" and "config/survey_tools.yaml, under personal:" in extra.message
    assert "add it to config/codebook.yaml" not in extra.message


def test_a_token_not_in_the_sample_is_reported(cb, tmp_path):
    folder = _tool_folder("qualtrics", tmp_path)
    path = folder / "residents.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("ZX3MFNKABIMGZT3", "ZZZZZZZZZZZZZZZ"),
                    encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    rules = {(p.column, p.rule) for p in exc.value.problems}
    assert rules == {("ExternalReference", "not_in_sample")}


def _qualtrics_lines(folder: Path) -> tuple[Path, list[str]]:
    path = folder / "residents.csv"
    return path, path.read_text(encoding="utf-8-sig").splitlines(keepends=True)


@pytest.mark.parametrize("deleted", [[1, 2], [2]])
def test_a_deleted_qualtrics_header_row_is_reported_and_no_response_skipped(deleted, cb, tmp_path):
    """Qualtrics writes three header rows (names, question texts, import ids). An analyst who deletes the second and
    third in a spreadsheet made the reader skip the first two responses unread; now the response standing where a
    header row should be is reported (spreadsheet row, rule) and read, never skipped."""
    folder = _tool_folder("qualtrics", tmp_path)
    path, lines = _qualtrics_lines(folder)
    path.write_text("".join(x for i, x in enumerate(lines) if i not in deleted), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    problems = [(p.row, p.rule) for p in exc.value.problems]
    assert problems == [(4 - len(deleted), "header_rows")]
    assert "a header row was deleted" in str(exc.value)


def test_a_qualtrics_header_row_copied_below_the_header_is_named_as_such(cb, tmp_path):
    """A Qualtrics trial: its question-text row twice was an unknown_status at row 4, its value hidden. A row
    equal to any header row is a repeated_header naming that row, and nothing else is reported."""
    folder = _tool_folder("qualtrics", tmp_path)
    path, lines = _qualtrics_lines(folder)
    path.write_text("".join(lines[:3] + [lines[1]] + lines[3:]), encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).problems
    assert [(p.row, p.rule) for p in found] == [(4, "repeated_header")]
    assert "row 4 repeats header row 2" in found[0].message


def test_an_unknown_qualtrics_status_is_an_error_not_a_test_set_aside(cb, tmp_path):
    """A response whose Status is blank or unknown was set aside as a preview or test, silently; it is now an
    ``unknown_status`` problem naming its row and column. Known previews (Status 1) are still set aside."""
    folder = _tool_folder("qualtrics", tmp_path)
    path, lines = _qualtrics_lines(folder)
    rows = list(csv.reader(io.StringIO("".join(lines))))
    j = rows[0].index("Status")
    genuine = [k for k in range(3, len(rows)) if rows[k][j] == "0"]
    rows[genuine[0]][j] = "9x"
    rows[genuine[1]][j] = ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    unknown = [(p.row, p.column) for p in exc.value.problems if p.rule == "unknown_status"]
    assert unknown == [(genuine[0] + 1, "Status"), (genuine[1] + 1, "Status")]


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_a_participant_listed_twice_is_reported(tool, cb, tmp_path):
    """A participant row copied at the end of the contact-status export (another status): the last row won,
    silently; it is now a duplicate_id naming both rows."""
    folder = _tool_folder(tool, tmp_path)
    part = folder / survey_tools.layout(tool, cb).dispositions.file.format(survey="residents")
    lines = part.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    part.write_text("".join(lines) + lines[2], encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool=tool, key=KEY)
    dup = [p for p in exc.value.problems if p.rule == "duplicate_id"]
    assert [p.row for p in dup] == [len(lines) + 1] and "already appears at row 3" in str(dup[0])


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_problems_on_the_token_show_no_identifier_the_file_does_not_hold(tool, cb, tmp_path):
    """A board's trial: a response copied twice, and a respondent whose invitation is recorded as bounced, were
    reported with the sampled unit's own identifier (a slot id the tool's file does not hold). Their rows and the
    token column are named, and no value."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    path = folder / "residents.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    path.write_text("".join(lines) + lines[-1], encoding="utf-8-sig")     # the last response, copied
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool=tool, key=KEY)
    # trial F: the copy is said to be one (same response id and token), not a second response of the token
    assert "duplicate_id" not in [p.rule for p in exc.value.problems]
    dup = [p for p in exc.value.problems if p.rule == "duplicate_record"]
    assert len(dup) == 1 and dup[0].value is None and dup[0].length is None
    assert dup[0].row == len(lines) + 1 and dup[0].column == lay.record_id
    assert f"row {len(lines)} again (the same {lay.label} response id and token)" in dup[0].message
    sample_ids = set(_sample()["slot_id"].astype(str))
    assert not any(str(p.value) in sample_ids for p in exc.value.problems)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_an_export_without_the_token_column_says_why_it_matters(tool, cb, tmp_path):
    """A board's trial: an anonymised LimeSurvey survey writes no token column, and the check said only « required
    column is missing ». It now says that no response can be matched, and names the anonymised-responses setting."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    j = rows[0].index(lay.id)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([r[:j] + r[j + 1:] for r in rows])
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool=tool, key=KEY)
    missing = [p for p in exc.value.problems if p.rule == "missing_column"]
    assert [p.column for p in missing] == [lay.id]
    assert "no response can be matched with its sampled unit" in missing[0].message
    assert "Anonymized responses" in missing[0].message


def test_headings_written_as_question_texts_are_told_apart_from_a_missing_token(cb, tmp_path):
    """Trial F: a LimeSurvey export with « Question text » headings began with « the token is missing … a survey run with
    anonymised responses … cannot be weighted », although the token was there under another heading. When most
    columns are renamed at once, the first message says the headings look like question texts and which option to
    change; a token left out alone keeps the anonymised-responses message (test above)."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows[0] = [f"Question {k + 1}. {h.lower()} ?" for k, h in enumerate(rows[0])]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    first = next(p for p in exc.value.problems if p.rule == "missing_column")
    assert "the headings look like question texts" in first.message and "« Question code »" in first.message
    assert "nonymi" not in first.message
    assert sum("question texts" in p.message for p in exc.value.problems) == 1


def test_a_token_changed_by_a_spreadsheet_is_told_apart_from_a_stranger(cb, tmp_path):
    """A board's trial: a token put in lower case (a spreadsheet's LOWER, or an autocorrect) was « not_in_sample »
    like a token of another study. It is still refused, once, with the reason."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    j = rows[0].index("token")
    rows[1][j] = rows[1][j].lower()
    rows[2][j] = rows[2][j].capitalize()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    got = [(p.rule, p.row, p.column) for p in exc.value.problems]
    assert got == [("not_in_sample", 2, "token"), ("not_in_sample", 3, "token")]
    assert all("in capitals without spaces: a spreadsheet changed it" in p.message for p in exc.value.problems)


def test_a_bounced_respondent_is_named_by_its_row_not_by_an_identifier_the_file_does_not_hold(cb, tmp_path):
    """The same trial: a respondent whose invitation is recorded as bounced (a disposition conflict) was reported
    with the sampled unit's slot id, which the participants export does not hold."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents_participants.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    h = rows[0]
    k = next(i for i in range(1, len(rows)) if rows[i][h.index("completed")] not in ("N", ""))
    rows[k][h.index("emailstatus")] = "bounced"
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    got = [(p.rule, p.row, p.column, p.value) for p in exc.value.problems]
    assert got == [("disposition_conflict", k + 1, "token", None)]


def test_a_respondent_without_age_is_named_by_the_tools_column(cb, tmp_path):
    """The calibration needs every resident respondent's sex and age: a blank AGE in a LimeSurvey export is reported
    on its row and under the tool's column name."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    j = rows[0].index("AGE")
    k = next(i for i in range(1, len(rows)) if rows[i][rows[0].index("submitdate")])
    rows[k][j] = ""
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    assert [(p.row, p.column, p.rule) for p in exc.value.problems] == [(k + 1, "AGE", "missing_for_weighting")]
    assert f"row {k + 1} (response {rows[k][rows[0].index('id')]}), column 'AGE'" in str(exc.value)  # trial F


def test_a_limesurvey_question_of_several_columns_is_named_as_its_columns(cb, tmp_path):
    """Trial F: four strengths chosen were reported under the codebook's « 'forces' », a name the tool's file does
    not hold, with the chosen options as « a text of 10 characters »; now under « FORCES[SQ…] », naming the four
    columns that hold « Y »."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    for sq in ("SQ002", "SQ003", "SQ004"):       # the first response already chose SQ001
        rows[1][rows[0].index(f"FORCES[{sq}]")] = "Y"
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    (p,) = exc.value.problems
    assert (p.rule, p.row, p.column, p.value, p.length) == ("too_many_choices", 2, "FORCES[SQ…]", None, None)
    assert ("4 options chosen in 'FORCES[SQ…]' ('FORCES[SQ001]', 'FORCES[SQ002]', 'FORCES[SQ003]', 'FORCES[SQ004]'), "
            "which allows 3 at most") in p.message


def test_a_response_set_aside_by_its_contact_status_counts_as_a_non_response(cb, tmp_path):
    """A board's trial: a respondent who skipped AGE and cannot be recontacted had no supported way out (the remedy
    said « see the analyst »). Writing « ecartee » in the participant's « statut terrain » sets the response aside:
    the check passes, the unit is a non-respondent with reason ``ecartee`` (never an imputed age), counted with the
    row of the status that did it, and said in French; AAPOR counts it as a break-off (R)."""
    from portrait.reporting import fieldwork_text

    folder = _tool_folder("limesurvey", tmp_path)
    answers = _csv_rows(folder / "residents.csv")
    h = answers[0]
    k = next(i for i in range(1, len(answers)) if answers[i][h.index("submitdate")])
    answers[k][h.index("AGE")] = ""
    _write_csv(folder / "residents.csv", answers)
    missing = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).problems
    assert [p.rule for p in missing] == ["missing_for_weighting"]
    assert ("the participant whose 'token' is this row's 'token' gets attribute_1 = ecartee, then export "
            "residents_participants.csv again") in missing[0].message          # where to set it aside, for this tool
    part = folder / "residents_participants.csv"
    rows = _csv_rows(part)
    j, t = rows[0].index("attribute_1 <statut terrain>"), rows[0].index("token")
    r = next(i for i in range(1, len(rows)) if rows[i][t] == answers[k][h.index("token")])
    rows[r][j] = "ecartee"
    _write_csv(part, rows, encoding="utf-8-sig")
    result = ingest.ingest(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).surveys["residents"]
    unit = result.responses.loc[result.responses["source_row"] == k + 1].iloc[0]
    assert (unit["status"], unit["reason"]) == ("non_respondent", "ecartee") and pd.isna(unit["age"])
    assert (result.set_aside, result.set_aside_rows) == (1, (r + 1,))
    assert result.ledger.set_index("reason")["n"]["ecartee"] == 1
    assert ingest.aapor_rates(result.responses, "stratum")["R"].sum() >= 1
    text = fieldwork_text.status_sentences({"residents": result})
    assert "1 réponse marquée « écartée »" in text
    assert f"(habitants : 1, ligne {r + 1} de `residents_participants.csv`)" in text
    assert "compte comme une non-réponse" in text

    rows[r][j] = ""
    other = next(i for i in range(1, len(rows)) if rows[i][t] not in {a[h.index("token")] for a in answers[1:]})
    rows[other][j] = "ecartee"                                 # on a participant who never answered
    _write_csv(part, rows, encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).problems
    # both at once: the respondent without AGE is still not set aside, which points at the status to move
    assert [(p.rule, p.row, p.column) for p in found] == [("set_aside_no_response", other + 1, "token"),
                                                          ("missing_for_weighting", k + 1, "AGE")]
    assert rows[other][t] not in str(found[0])             # a token is named by its row, never repeated


def test_qualtrics_sets_a_response_aside_with_its_embedded_data_field(cb, tmp_path):
    """Qualtrics: the optional embedded data field ``ecartee`` = 1 in the distribution history sets a response
    aside, as « statut terrain » does in LimeSurvey."""
    folder = _tool_folder("qualtrics", tmp_path)
    dist = folder / "residents_distribution.csv"
    rows = _csv_rows(dist)
    ref = rows[0].index("External Data Reference")
    answers = _csv_rows(folder / "residents.csv")
    answered = {a[answers[0].index("ExternalReference")] for a in answers[3:]}
    r = next(i for i in range(1, len(rows)) if rows[i][ref] in answered)
    rows = [row + [v] for row, v in zip(rows, ["ecartee"] + ["1" if i == r else "" for i in range(1, len(rows))])]
    _write_csv(dist, rows, encoding="utf-8-sig")
    result = ingest.ingest(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY).surveys["residents"]
    assert (result.set_aside, result.set_aside_rows) == (1, (r + 1,))
    assert (result.responses["reason"] == "ecartee").sum() == 1


def test_a_column_named_twice_is_listed_before_the_cells_it_spoils(cb, tmp_path):
    """A board renamed RECO to FIERTE (which exists): the unknown codes of the second FIERTE filled the first lines
    shown, the duplicated column only in the counts. File and column problems now come first, then the cells' in
    row order."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("\n", 1)
    path.write_text(head.replace('"RECO"', '"FIERTE"') + "\n" + rest, encoding="utf-8")
    problems = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).problems   # make check-survey
    with pytest.raises(SurveyValidationError) as exc:                                                  # a notebook's ingest
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    for found in (problems, exc.value.problems):
        rules = [p.rule for p in found]
        first_cell = next(k for k, r in enumerate(rules) if r not in FILE_RULES)
        assert {"duplicate_column", "missing_column"} <= set(rules[:first_cell]) and "unknown_code" in rules
        assert all(r not in FILE_RULES for r in rules[first_cell:])
        cells = [p.row for p in found[first_cell:]]
        assert cells == sorted(cells)


def test_another_key_matches_no_token(cb, tmp_path):
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(_tool_folder("limesurvey", tmp_path), {"residents": _sample()}, cb, fmt="csv",
                      tool="limesurvey", key=b"another-key-0123456789abcdef")
    assert {p.rule for p in exc.value.problems} == {"no_token_matches"}      # one per file, not one per row


def test_unknown_disposition_value_and_wrong_separator(cb, tmp_path):
    folder = _tool_folder("limesurvey", tmp_path)
    part = folder / "residents_participants.csv"
    part.write_text(part.read_text(encoding="utf-8").replace('"bounced"', '"rebond"'), encoding="utf-8")
    answers = folder / "residents.csv"
    answers.write_text(answers.read_text(encoding="utf-8").replace('","', '";"'), encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    rules = {(p.column, p.rule) for p in exc.value.problems}
    assert ("emailstatus", "unknown_disposition") in rules
    assert (None, "separator") in rules


def test_bad_tool_parameters_are_named(cb, tmp_path):
    with pytest.raises(ParameterError, match="survey_tool"):
        ingest.ingest(tmp_path, {"residents": _sample()}, cb, tool="surveymonkey", key=KEY)
    with pytest.raises(ParameterError, match="xlsx"):
        ingest.ingest(tmp_path, {"residents": _sample()}, cb, fmt="xlsx", tool="limesurvey", key=KEY)
    with pytest.raises(ParameterError, match="key"):
        ingest.ingest(tmp_path, {"residents": _sample()}, cb, tool="qualtrics")


def test_tokens_are_keyed_and_distinct():
    ids = [f"02049-{k:04d}" for k in range(2000)]
    a = survey_tools.tokens(ids, "residents", KEY)
    assert len(set(a)) == len(ids) and all(len(t) == 15 and t.isalnum() for t in a)
    assert not set(a) & set(survey_tools.tokens(ids, "residents", b"another-key-0123456789abcdef"))
    assert not set(a) & set(survey_tools.tokens(ids, "visitors", KEY))


# ----------------------------------------------------------------------------- simulated round trips


@pytest.fixture(scope="module")
def simulated(resident_frame, cb, tmp_path_factory):
    sim, samples = helpers.small_fieldwork(resident_frame, cb, frame_size=2000, visitors=500, visitor_seed=5, seed=SEED)
    native = tmp_path_factory.mktemp("native")
    exports.write_survey_folder(sim.exports, sim.dispositions, native, cb, formats=("csv",))
    return sim, samples, ingest.ingest(native, samples, cb)


@pytest.mark.parametrize("tool,fmt", [("limesurvey", "csv"), ("qualtrics", "csv"), ("qualtrics", "sav")])
def test_each_layout_gives_the_native_tables(tool, fmt, simulated, cb, tmp_path):
    """The simulator writes the tool's layout; its ingest equals the native one (row numbers aside)."""
    sim, samples, native = simulated
    lay = survey_tools.layout(tool, cb)
    ids = {s: samples[s][cb.id_column(s)].astype(str) for s in samples}
    written = survey_tools.write_tool_folder(sim.exports, sim.dispositions, ids, tmp_path, cb, lay, KEY, SEED,
                                             formats=(fmt,))
    assert {p.name for p in written} == {f"residents.{fmt}", f"visitors.{fmt}",
                                         lay.dispositions.file.format(survey="residents"),
                                         lay.dispositions.file.format(survey="visitors")}
    got = ingest.ingest(tmp_path, samples, cb, fmt=fmt, tool=tool, key=KEY)
    for s in samples:
        pd.testing.assert_frame_equal(got.surveys[s].responses.drop(columns="source_row"),
                                      native.surveys[s].responses.drop(columns="source_row"))
        pd.testing.assert_frame_equal(got.surveys[s].ledger, native.surveys[s].ledger)
    header = (tmp_path / f"residents.{fmt}").read_bytes()[:4000]
    assert (b"IMG[SQ001]" if tool == "limesurvey" else b"Q13_1") in header
    # the planted personal data (e-mails, names, IP addresses, coordinates) reach none of the outputs
    out = tmp_path / "out"
    ingest.write_outputs(got, {s: out / f"{s}.parquet" for s in samples}, out / "ledger.csv")
    planted = {v for s in samples for v in _planted(tmp_path, s, lay)}
    assert len(planted) > 1000
    for path in out.iterdir():
        text = (pd.read_parquet(path).astype(str).to_csv() if path.suffix == ".parquet"
                else path.read_text(encoding="utf-8"))
        assert "@" not in text and "192.0.2." not in text
        assert not [v for v in planted if v in text]


def test_a_filtered_question_answered_shows_the_answer_as_the_tool_wrote_it(simulated, cb, tmp_path):
    """Trial F: a LimeSurvey REGION answered by a visitor from abroad was shown as « value '11' », a code the file
    does not hold (it holds « A11 »)."""
    sim, samples, _ = simulated
    lay = survey_tools.layout("limesurvey", cb)
    ids = {s: samples[s][cb.id_column(s)].astype(str) for s in samples}
    survey_tools.write_tool_folder(sim.exports, sim.dispositions, ids, tmp_path, cb, lay, KEY, SEED, formats=("csv",))
    path = tmp_path / "visitors.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    h = rows[0]
    k = next(i for i in range(1, len(rows)) if rows[i][h.index("PAYS")] not in ("", lay.code(1)))
    rows[k][h.index("REGION")] = lay.code(11)
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(tmp_path, samples, cb, fmt="csv", tool="limesurvey", key=KEY)
    (p,) = exc.value.problems
    assert (p.rule, p.row, p.column, p.value) == ("filter", k + 1, "REGION", "A11")
    assert "only asked when 'PAYS' is « France »" in p.message


def test_a_tools_spss_export_carries_value_labels_that_the_check_reads(simulated, cb, tmp_path):
    """A Qualtrics SPSS export labels its choices: the practice files do too, so that a rehearsal meets the label
    check; labels reversed in the file are refused."""
    import pyreadstat

    sim, samples, _ = simulated
    lay = survey_tools.layout("qualtrics", cb)
    ids = {s: samples[s][cb.id_column(s)].astype(str) for s in samples}
    survey_tools.write_tool_folder(sim.exports, sim.dispositions, ids, tmp_path, cb, lay, KEY, SEED, formats=("sav",))
    df, meta = pyreadstat.read_sav(str(tmp_path / "residents.sav"), user_missing=True)
    column = lay.column_map(cb, "residents")["img_accueillante"]
    expected = {float(lay.code(k)): lab for k, lab in cb.labels("img_accueillante").items()}
    assert meta.variable_value_labels[column] == expected and len(expected) == 6        # 1 to 5 and 99
    assert ingest.check(tmp_path, samples, cb, fmt="sav", tool="qualtrics", key=KEY).problems == []
    labels = dict(meta.variable_value_labels)
    labels[column] = {k: expected[6.0 - k] if k <= 5 else lab for k, lab in expected.items()}
    pyreadstat.write_sav(df, str(tmp_path / "residents.sav"), column_labels=meta.column_names_to_labels,
                         variable_value_labels=labels)
    found = ingest.check(tmp_path, samples, cb, fmt="sav", tool="qualtrics", key=KEY).problems
    assert {(p.column, p.value, p.rule) for p in found} == {(column, c, "value_labels") for c in ("1", "2", "4", "5")}


def _planted(folder: Path, survey: str, lay) -> set[str]:
    """Values of the personal columns the simulator wrote in a tool's CSV files."""
    values = set()
    for name, rows in ((f"{survey}.csv", lay.header_rows), (lay.dispositions.file.format(survey=survey), 1)):
        path = folder / name
        if not path.exists():
            continue
        head = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=0).columns
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None,
                            skiprows=rows, names=head)
        for c in table.columns:
            if c in lay.personal or c in lay.dispositions.personal:
                values |= {v for v in table[c] if len(v) > 3}
    return values


def test_aapor_rates_match_their_definition(cb, tmp_path):
    result = ingest.ingest(_tool_folder("limesurvey", tmp_path), {"residents": _sample()}, cb, fmt="csv",
                           tool="limesurvey", key=KEY)
    r = ingest.aapor_rates(result.surveys["residents"].responses, "stratum").iloc[0]
    # 1 complete, 1 partial, 1 refusal, 2 of unknown eligibility (bounced, no answer), 1 out of scope
    assert (r["I"], r["P"], r["R"], r["UO"], r["NE"]) == (1, 1, 1, 2, 1)
    assert r["RR1"] == pytest.approx(1 / 5) and r["RR2"] == pytest.approx(2 / 5)
    rate = ingest.response_rates(result.surveys["residents"].responses, "stratum")["rate"].iloc[0]
    assert rate == pytest.approx(r["RR2"])


# ----------------------------------------------------------------------------- make check-survey


def _check_html(found, tmp_path, source="real", study_source="real"):
    import nbformat

    from portrait.reporting import check_survey, render

    nb = check_survey.notebook(found, {"source": source, "study_source": study_source, "folder": "data/raw/survey",
                                       "tool": "LimeSurvey", "format": "csv"})
    path = tmp_path / "check.ipynb"
    nbformat.write(nb, path)
    return render.render(path, tmp_path / "check.html", exclude_input=True).read_text(encoding="utf-8")


def test_check_report_lists_problems_in_french_without_personal_data(cb, tmp_path):
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    path.write_text(path.read_text(encoding="utf-8").replace('"A2","A3","A4"', '"camille.fixture@example.org","A3","A9"', 1),
                    encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert found.result is None and len(found.problems) == 2
    page = _check_html(found, tmp_path)
    assert '<html lang="fr"' in page
    assert "2 problèmes" in page and "code de réponse inconnu" in page
    assert "texte de 27 caractères" in page and ">A9<" in page and "DIPLOME" in page
    assert not [v for v in _personal_values() if v in page]
    assert "ipaddr" in page and "firstname" in page        # the names of the columns dropped, not their content
    assert "Réponse dans l’outil" in page and ">1<" in page   # LimeSurvey's response id, to find the response
    # what to do, in French, beside each rule (a board read its remedies only in the English technical detail)
    from portrait.reporting import formatting as fmt
    from portrait.reporting.check_survey import REMEDIES_FR, layout_remedies_fr, remedy_text
    assert "Que faire" in page and fmt.typeset(remedy_text(REMEDIES_FR["unknown_code"])) in html.unescape(page)
    shown = re.sub(r"<style.*?</style>", "", page, flags=re.S)             # the text, not the page's style sheet
    assert fmt.typeset("« config/survey_tools.yaml »") in html.unescape(page) and "`" not in shown  # not markdown
    # a tool's own encoding and separator, not the native layout's parameter csv_encoding; its columns in its mapping
    lime = layout_remedies_fr(survey_tools.layout("limesurvey", cb))
    assert lime["encoding"].startswith("exporter de nouveau depuis LimeSurvey (encodage utf-8, séparateur « , »)")
    assert "csv_encoding" in REMEDIES_FR["encoding"] and "csv_encoding" not in lime["encoding"]
    assert "sous `personal`" in lime["extra_column"] and layout_remedies_fr(None) == {}


def test_every_rule_of_the_ingest_has_a_french_meaning_and_remedy():
    import re

    from portrait.reporting import check_survey

    documented = set(re.findall(r"(?m)^``([a-z_]+)`` {2,}", ingest.__doc__))   # the rules table
    assert len(documented) > 30
    assert documented <= set(check_survey.RULES_FR) and set(check_survey.REMEDIES_FR) == set(check_survey.RULES_FR)


def test_check_report_of_clean_exports_shows_the_ledger(cb, tmp_path):
    found = ingest.check(_tool_folder("qualtrics", tmp_path), {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert not found.problems and found.result is not None
    page = _check_html(found, tmp_path)
    assert "Aucun problème" in page and "Hors champ" in page and "Status =\u00a01" in html.unescape(page)
    # the ledger's labels state the break-off rule with its parameter, as report 03 does (a review)
    assert "interrompu, réponse à au moins 8 des 17 questions" in html.unescape(page)
    # trial F: the rates of each stratum, where reminders are needed, before the chain runs. By hand from the
    # fixture: 2 of the 6 units responded, 1 is out of scope: RR2 = 2 / 5
    rates = page[page.index("Taux de réponse par strate"):]
    assert "RR2 (%)" in rates and ">40,0<" in rates and "Ensemble" in rates
    assert "aucune adresse électronique à effacer" in html.unescape(page)       # what the ingest cleaned
    assert not [v for v in _personal_values() if v in page]
    # real exports checked while the chain still reads the simulator's: the verdict says what to switch, and the
    # run information gives the chain's source (a board read « exports réels » and ran make on simulated answers)
    assert "source: real" not in page
    waiting = html.unescape(_check_html(found, tmp_path, study_source="simulated"))
    assert "<code>source: real</code>" in waiting and "config/study.yaml" in waiting
    assert "données simulées (simulateur documenté" in waiting
    # … under its own name: « source des réponses : données simulées » read as the source of the exports checked
    assert "réponses que lit la chaîne (source, config/study.yaml)" in waiting and "source des réponses" not in waiting
    # … but the banner « Données simulées : les réponses de ce rapport viennent du simulateur » would be false: the
    # answers read are the real exports'; the simulator's exports checked (--simulated) do get it
    banner = "les réponses de ce rapport viennent du simulateur"
    assert banner not in waiting
    assert banner in html.unescape(_check_html(found, tmp_path, source="simulated", study_source="simulated"))


def test_check_survey_exit_status(monkeypatch, capsys, cb, tmp_path):
    """0 for clean exports, 1 otherwise, with the first problems on the terminal (file, row, column, rule: what
    ``make`` shows) and the report listing them all. Clean exports of 100 responses or more without one unfinished
    questionnaire get the reports' question on the terminal too."""
    from portrait.reporting import check_survey

    folder = _tool_folder("limesurvey", tmp_path)
    settings = {"source": "real", "folder": "x", "tool": "LimeSurvey", "format": "csv"}
    clean = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (clean, settings))
    assert check_survey.main(["--out", str(tmp_path / "ok.html")]) == 0
    assert "does the export hold all responses" not in capsys.readouterr().out     # a small file: nothing to ask
    notes = [replace(n, rows=500, unfinished=0) if n.unfinished is not None else n for n in clean.notes]
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (replace(clean, notes=notes), settings))
    assert check_survey.main(["--out", str(tmp_path / "ok.html")]) == 0
    assert "  to check — residents.csv: 500 responses and not one unfinished questionnaire" in capsys.readouterr().out
    (folder / "residents.csv").write_text("", encoding="utf-8")
    broken = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (broken, settings))
    assert check_survey.main(["--out", str(tmp_path / "bad.html")]) == 1
    assert "fichier vide" in (tmp_path / "bad.html").read_text(encoding="utf-8")
    assert "residents.csv: [empty_file]" in capsys.readouterr().err
    answers = folder / "residents.csv"
    shutil.copy(FIXTURES / "limesurvey" / "residents.csv", answers)
    lines = answers.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    answers.write_text(lines[0] + "".join(lines[1:]) * 8, encoding="utf-8")     # every response eight times
    many = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert len(many.problems) > check_survey.SHOWN
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (many, settings))
    assert check_survey.main(["--out", str(tmp_path / "many.html")]) == 1
    err = capsys.readouterr().err
    assert err.count("[duplicate_record]") == check_survey.SHOWN
    # trial F: a second batch beside the first failed the check with 646 problems and did not name the file
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (
        replace(many, ignored=("residents_vague2.csv",)), settings))
    assert check_survey.main(["--out", str(tmp_path / "many.html")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[1].startswith("  note — the folder also holds file(s) the check does not read: residents_vague2.csv")
    assert "export every response again, in one file, from the tool" in lines[1]
    (tmp_path / "stale.html").write_text("an earlier check", encoding="utf-8")

    def refused(folder=None, simulated=False):
        return ingest.check(folder, {"residents": _sample()}, cb, fmt="xlsx", tool="limesurvey", key=KEY)

    monkeypatch.setattr(check_survey, "run", refused)
    assert check_survey.main(["--out", str(tmp_path / "stale.html")]) == 1       # a message, not a traceback
    assert "cannot be checked: LimeSurvey exports are read as csv" in capsys.readouterr().err
    assert not (tmp_path / "stale.html").exists()
    assert f"the other {len(many.problems) - check_survey.SHOWN} and what each rule means" in err


def test_make_runs_the_check_before_stage_03_only_with_real_exports(monkeypatch, tmp_path):
    """`--if-real` (what the Makefile runs before stage 03) does nothing when the answers are simulated."""
    from portrait.reporting import check_survey

    monkeypatch.setattr(check_survey.config, "notebook_parameters", lambda nb: {"source": "simulated"})
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: pytest.fail("the check ran"))
    assert check_survey.main(["--if-real", "--out", str(tmp_path / "c.html")]) == 0
    assert not (tmp_path / "c.html").exists()
    makefile = (Path(__file__).parents[1] / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(EXEC)/03_fieldwork.ipynb data/synthetic/survey", 1)[1].split("\n\n", 1)[0]
    assert "$(CHECK_SURVEY) --if-real" in recipe
    for target in ("check-survey", "invitations"):      # they read the samples drawn; they never rebuild them
        rule = next(line for line in makefile.splitlines() if line.startswith(f"{target}:"))
        assert rule.split("##")[0].split(":", 1)[1].split() == ["$(ENV)"], rule


def test_a_missing_contact_status_export_is_a_problem_with_a_tool(cb, tmp_path):
    """Without it, bounces, opt-outs and out-of-scope units would silently count as invited without answer."""
    folder = _tool_folder("qualtrics", tmp_path)
    (folder / "residents_distribution.csv").unlink()
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert [(Path(p.file).name, p.rule) for p in found.problems] == [("residents_distribution.csv", "missing_file")]


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_a_participants_export_without_every_sampled_unit_is_a_problem(tool, cb, tmp_path):
    """A filtered contact-status export (one participant's row deleted) would make that unit's bounce or refusal
    a silent non-response: the check names the file, the identifier column and the count, never the tokens."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    path = folder / lay.dispositions.file.format(survey="residents")
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY)
    assert [(Path(p.file).name, p.column, p.rule) for p in found.problems] == [
        (path.name, lay.dispositions.id, "missing_participant")]
    assert "1 of the 6 sampled units has no row" in found.problems[0].message
    token = survey_tools.tokens([SLOTS[-1]], "residents", KEY)[0]
    assert token not in str(found.problems[0])


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", **writer) -> None:
    """Write ``rows`` as a survey tool would (LimeSurvey quotes every field), or as ``writer`` says."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", **(writer or {"quoting": csv.QUOTE_ALL})).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def test_an_encoding_problem_names_the_column_without_the_quotes_of_the_file(cb, tmp_path):
    """A board's trial: a LimeSurvey export (UTF-8, headers quoted) with one cp1252 byte named the column « "SEXE" »,
    quotes included. The header is read as CSV, so the column is SEXE as the tool names it."""
    folder = _tool_folder("limesurvey", tmp_path)
    answers = folder / "residents.csv"
    rows = _csv_rows(answers)
    rows[1][3] = "a, b"          # a separator inside a quoted field before it: fields are counted as CSV
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    data = buf.getvalue().encode("utf-8")
    end = data.index(b"\r\n", data.index(b"\r\n") + 2) - 1               # the closing quote of row 2's last field
    answers.write_bytes(data[:end] + b"\xe9" + data[end:])              # « é » in cp1252: not UTF-8
    j = len(rows[0]) - 1
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    p = next(p for p in found.problems if p.rule == "encoding")
    assert p.row == 2 and p.column == rows[0][j]


def test_an_export_saved_again_by_excel_gets_the_tools_remedy(cb, tmp_path):
    """LimeSurvey's CSV opened and saved by French Excel (cp1252, ';'): the remedy is the tool's own file, not a
    parameter (csv_encoding does not apply to a tool's layout), and no column is named from a header that the
    tool's separator does not split. An XLSX beside a missing CSV is pointed at."""
    folder = _tool_folder("limesurvey", tmp_path)
    answers = folder / "residents.csv"
    rows = _csv_rows(answers)
    rows[1][-1] = "Très accueillante"
    _write_csv(answers, rows, "cp1252", delimiter=";")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    p = next(p for p in found.problems if p.rule == "encoding")
    assert p.column is None and p.row == 2
    assert "export it again from LimeSurvey (UTF-8, ',') and do not open and save it in Excel" in p.message
    assert "separated by ';'" in p.message and "csv_encoding" not in p.message
    answers.rename(folder / "residents.xlsx")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert [p.message.split("; ")[-1] for p in found.problems if p.rule == "missing_file"] == [
        "residents.xlsx is there, but LimeSurvey exports are read as csv"]


def test_an_export_saved_with_a_second_byte_order_mark_gets_the_tools_remedy(cb, tmp_path):
    """Trial H: an export read without its BOM and saved with one again starts with two; the second was read as
    part of the first column's name, an ``extra_column '\\ufeff"id"'`` beside a missing identifier."""
    folder = _tool_folder("limesurvey", tmp_path)
    answers = folder / "residents.csv"
    answers.write_bytes(2 * b"\xef\xbb\xbf" + answers.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert [(Path(p.file).name, p.row, p.rule) for p in found.problems] == [("residents.csv", 1, "encoding")]
    assert "two byte-order marks" in found.problems[0].message
    assert "export it again from LimeSurvey" in found.problems[0].message


def test_a_whole_number_with_limesurveys_zero_decimals_is_that_number(cb, tmp_path):
    """LimeSurvey stores numerical input as decimals and some versions export 12 as « 12.0000000000 » (its issue
    #10208): read as 12; a true fraction is still a whole-number problem, worded for a count."""
    folder = _tool_folder("limesurvey", tmp_path)
    answers = folder / "residents.csv"
    rows = _csv_rows(answers)
    j = rows[0].index("ANNEES")
    rows[1][j] += ".0000000000"
    _write_csv(answers, rows)
    result = ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    expected = pd.read_csv(FIXTURES / "expected.csv", sep=";", dtype=str, keep_default_na=False)
    got = result.surveys["residents"].responses["annees_residence"].astype(object)
    assert got.where(got.notna(), "").astype(str).tolist() == expected["annees_residence"].tolist()
    rows[1][j] = "12.5"
    _write_csv(answers, rows)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert [(p.column, p.rule, p.message) for p in found.problems] == [
        ("ANNEES", "not_integer", "not a whole number (this column holds counts)")]


def test_a_renamed_tool_column_is_pointed_at_the_missing_one(cb, tmp_path):
    """« IMG[SQ003] » exported as « IMG_SQ003 »: the unknown column's problem names the missing column."""
    folder = _tool_folder("limesurvey", tmp_path)
    answers = folder / "residents.csv"
    answers.write_text(answers.read_text(encoding="utf-8-sig").replace('"IMG[SQ003]"', '"IMG_SQ003"', 1),
                       encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    got = {p.column: p for p in found.problems}
    assert set(got) == {"IMG[SQ003]", "IMG_SQ003"}
    assert got["IMG[SQ003]"].rule == "missing_column"
    assert got["IMG_SQ003"].rule == "extra_column" and got["IMG_SQ003"].message.endswith("did you mean 'IMG[SQ003]'?")


@pytest.mark.parametrize("tool_name,renamed", [("SEXE", "sexe"), ("SEXE", "Sexe"), ("RECO", "RECOMMANDATION"),
                                               ("RECO", "recommandation")])
def test_a_tool_column_in_another_case_is_named_as_the_tool_writes_it(tool_name, renamed, cb, tmp_path):
    """A board's trial: « SEXE » renamed « sexe » (the codebook's own name) gave a not_integer problem per row with
    no word of the header; « Sexe » was told to become « sexe », the codebook's name, wrong for LimeSurvey. One
    column_case problem now says to write « SEXE », and the column is read as SEXE (nothing else reported). A later
    trial: « RECO » renamed « RECOMMANDATION » (the codebook's name in capitals) was told it matched « RECO » when
    case is ignored, and to take the codebook's name; it is read and named as the others are."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    head, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(head.replace(f'"{tool_name}"', f'"{renamed}"') + "\n" + rest, encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).problems
    assert [(p.row, p.rule) for p in found] == [(1, "column_case")]
    assert f"{renamed!r} for {tool_name!r}" in found[0].message
    assert "rename them as LimeSurvey writes them" in found[0].message and "codebook writes" not in found[0].message


@pytest.mark.parametrize("tool,column,file", [("limesurvey", "attribute_1 <statut terrain>", "residents_participants.csv"),
                                              ("qualtrics", "hors_champ", "residents_distribution.csv")])
def test_a_participants_export_without_the_out_of_scope_attribute_is_refused(tool, column, file, cb, tmp_path):
    """A board's trial: without the « attribute_1 <statut terrain> » column, every contact out of scope became an
    ordinary non-respondent (79 → 0) and the check passed; the column is now required, and its absence named. A
    Qualtrics trial: the same with the distribution history's « hors_champ » field, which was optional; and the
    problem was put on row 3, the responses export's header, where this file's is row 1."""
    folder = _tool_folder(tool, tmp_path)
    part = folder / file
    rows = list(csv.reader(io.StringIO(part.read_text(encoding="utf-8-sig"))))
    j = rows[0].index(column)
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([r[:j] + r[j + 1:] for r in rows])
    part.write_text(buf.getvalue(), encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY).problems
    assert [(p.rule, p.column, p.row) for p in found] == [("missing_column", column.split(" <")[0], 1)]
    assert "would silently count as none" in found[0].message


def test_messages_name_questions_as_the_tools_file_does():
    """A board's trial: a filter problem in a LimeSurvey export said « 'region_residence' is only asked when
    'pays' is … », names the file does not hold. Quoted native names in the messages of a tool file become the
    tool's; another file's problems are left alone."""
    from portrait.study.export_readers import Problem

    msg = "answered although 'region_residence' is only asked when 'pays' is « France » (here « Belgique »)"
    problems = [Problem("a.csv", 2, "region_residence", None, "filter", msg),
                Problem("b.csv", 2, "region_residence", None, "filter", msg)]
    tool_messages.tool_problems(problems, 0, "a.csv", {"region_residence": "REGION", "pays": "PAYS"})
    assert problems[0].column == "REGION"
    assert problems[0].message == "answered although 'REGION' is only asked when 'PAYS' is « France » (here « Belgique »)"
    assert problems[1].message == msg and problems[1].column == "region_residence"


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_a_finished_participant_without_a_response_row_is_a_filtered_export(tool, cb, tmp_path):
    """A board's trial: responses exported with a filter lost finished participants, who then counted as silent
    invitees (response rates, non-response correction) while the check said « no problem ». The contact-status
    export says who finished (LimeSurvey ``completed``, Qualtrics ``Survey Finished``): each one without a response
    row is a ``missing_response`` problem at its row of that export. The untouched fixtures have none."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    assert ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY).problems == []
    answers = folder / "residents.csv"
    rows = _csv_rows(answers)
    h = rows[0]
    done = next(k for k in range(lay.header_rows, len(rows))
                if (rows[k][h.index(lay.complete_column)] != "" if lay.complete_values is None
                    else rows[k][h.index(lay.complete_column)] in lay.complete_values)
                and (lay.keep_rows is None or rows[k][h.index(lay.keep_rows[0])] in lay.keep_rows[1]))
    token = rows[done][h.index(lay.id)]
    _write_csv(answers, rows[:done] + rows[done + 1:], "utf-8-sig", **({} if tool == "limesurvey" else
                                                                         {"quoting": csv.QUOTE_MINIMAL}))
    statuses = _csv_rows(folder / lay.dispositions.file.format(survey="residents"))
    row = next(k for k, r in enumerate(statuses) if token in r) + 1
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY)
    assert [(p.rule, p.row, p.column) for p in found.problems] == [("missing_response", row, lay.dispositions.id)]
    assert "export every response, with no date or identifier filter" in found.problems[0].message


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_a_test_participant_outside_the_sample_is_named_whatever_its_status(tool, cb, tmp_path):
    """A board's trial: a test participant added in the tool, outside the sample, was told « finished without a
    response row » when marked completed, and dropped without a word when not. Both are now a ``not_in_sample``
    problem at their row of the contact-status export (no ``missing_response``); an empty token is a
    ``missing_id``."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    path = folder / lay.dispositions.file.format(survey="residents")
    rows = _csv_rows(path)
    j = rows[0].index(lay.dispositions.id)
    added = []
    for k, token in ((1, "TESTPARTICIPANT1"), (2, "TESTPARTICIPANT2"), (2, "")):   # finished, unfinished, no token
        added.append(rows[k][:j] + [token] + rows[k][j + 1:])
    _write_csv(path, rows + added, "utf-8-sig", **({} if tool == "limesurvey" else {"quoting": csv.QUOTE_MINIMAL}))
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY).problems
    n = len(rows)
    assert [(p.rule, p.row, p.column) for p in found] == [
        ("not_in_sample", n + 1, lay.dispositions.id), ("not_in_sample", n + 2, lay.dispositions.id),
        ("missing_id", n + 3, lay.dispositions.id)]
    assert "a test participant" in found[0].message and found[0].length == len("TESTPARTICIPANT1")


def test_the_remedy_for_a_missing_age_names_where_this_tool_sets_a_response_aside(cb):
    """A board's trial with Qualtrics: « Que faire » listed the three layouts and never named the distribution
    history nor how to find the participant. It now names this layout's field, file and linking columns."""
    from portrait.reporting.check_survey import REMEDIES_FR, missing_for_weighting_fr

    q = missing_for_weighting_fr(cb, survey_tools.layout("qualtrics", cb))
    assert ("donner `ecartee` = `1` au participant dont `External Data Reference` est le `ExternalReference` de la "
            "ligne signalée, puis exporter de nouveau `residents_distribution.csv`") in q and "LimeSurvey" not in q
    lime = missing_for_weighting_fr(cb, survey_tools.layout("limesurvey", cb))
    assert "`attribute_1` = `ecartee`" in lime and "`residents_participants.csv`" in lime
    assert "« identifiant ;4 »" in missing_for_weighting_fr(cb, None)
    assert "`1` ou vide pour `ecartee`" in REMEDIES_FR["unknown_disposition"]    # correct the value, not the mapping


def test_files_of_the_folder_that_are_not_read_are_named(cb, tmp_path):
    """A second batch saved beside the first (« residents_vague2.csv ») is not read: the check says so instead of
    passing in silence (its report; the terminal says it too)."""
    folder = _tool_folder("limesurvey", tmp_path)
    shutil.copy(folder / "residents.csv", folder / "residents_vague2.csv")
    (folder / ".hidden").write_text("x", encoding="utf-8")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY)
    assert not found.problems and found.ignored == ("residents_vague2.csv",)
    page = _check_html(found, tmp_path)
    assert "non lus" in page and "residents_vague2.csv" in page
    clean = ingest.check(_tool_folder("limesurvey", tmp_path / "again"), {"residents": _sample()}, cb,
                         tool="limesurvey", key=KEY)
    assert clean.ignored == () and "non lus" not in _check_html(clean, tmp_path / "again")


def _rewrite_qualtrics(folder: Path, edit) -> None:
    path, lines = _qualtrics_lines(folder)
    rows = list(csv.reader(io.StringIO("".join(lines))))
    edit(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")


def test_problems_give_the_tools_response_id_and_a_repeated_one_is_refused(cb, tmp_path):
    """A Qualtrics trial: messages gave the spreadsheet row only, and a ResponseId met twice (under two tokens: rows
    of two exports merged) passed. Each message now names the response as the tool does, and a repeated one is a
    ``duplicate_record`` at its second row; a « response id » that does not look like one is not repeated."""
    folder = _tool_folder("qualtrics", tmp_path)

    def edit(rows):
        h = rows[0]
        rows[4][h.index("Q1")] = "7"                                   # row 5: an unknown code
        rows[5][h.index("ResponseId")] = rows[4][h.index("ResponseId")]  # row 6: the same response id as row 5

    _rewrite_qualtrics(folder, edit)
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    by_rule = {p.rule: p for p in exc.value.problems}
    assert set(by_rule) == {"unknown_code", "duplicate_record"}
    assert str(by_rule["unknown_code"]).startswith(
        f"{by_rule['unknown_code'].file}, row 5 (response R_3kTz9QwLp0aB1cD), column 'Q1', value '7'")
    dup = by_rule["duplicate_record"]
    assert (dup.row, dup.column) == (6, "ResponseId") and "same Qualtrics response id as row 5" in dup.message

    folder = _tool_folder("qualtrics", tmp_path / "typed")
    _rewrite_qualtrics(folder, lambda rows: (rows[4].__setitem__(rows[0].index("Q1"), "7"),
                                             rows[4].__setitem__(rows[0].index("ResponseId"), "camille fixture")))
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="qualtrics", key=KEY)
    assert "row 5, column 'Q1'" in str(exc.value) and "camille" not in str(exc.value)


def test_two_exports_joined_end_to_end_are_said_to_be_so(cb, tmp_path):
    """Trial F: a LimeSurvey export joined to itself with ``cat`` gave ten ``unknown_code`` lines on the repeated
    column names (« not a code of 'sexe' ») and the duplicates, the real problem, came after them. The names row is
    now one ``repeated_header`` problem, listed first, and not read as a response; every response is a duplicate."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    raw = path.read_bytes()
    n = len([x for x in raw.decode("utf-8-sig").splitlines() if x.strip()]) - 1
    path.write_bytes(raw + raw.removeprefix(b"\xef\xbb\xbf"))
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    problems = exc.value.problems
    assert problems[0].rule == "repeated_header" and problems[0].row == n + 2
    assert "two exports joined" in str(problems[0])
    rules = [p.rule for p in problems]
    assert "unknown_code" not in rules and rules.count("duplicate_record") == n and "duplicate_id" not in rules
    assert "the same LimeSurvey response id and token" in problems[1].message


def _limesurvey_sexe_refused(cb, tmp_path: Path, value: str) -> SurveyValidationError:
    """The ingest's error on the LimeSurvey fixture whose first response has ``value`` as its SEXE cell."""
    folder = _tool_folder("limesurvey", tmp_path)
    path = folder / "residents.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"A2","A3","A4","A02","02049","12"', f'"{value}","A3","A4","A02","02049","12"', 1),
                    encoding="utf-8")
    with pytest.raises(SurveyValidationError) as exc:
        ingest.ingest(folder, {"residents": _sample()}, cb, fmt="csv", tool="limesurvey", key=KEY)
    return exc.value


def test_limesurvey_problems_give_its_response_number(cb, tmp_path):
    assert "row 2 (response 1), column 'SEXE'" in str(_limesurvey_sexe_refused(cb, tmp_path, "A7"))


def test_a_control_character_in_a_tools_code_is_named_as_such(cb, tmp_path):
    """Trial F: « A2 » followed by a NUL in LimeSurvey's SEXE was an ``unknown_code`` (« a text of 3 characters »), not
    the documented ``control_character`` (the file is damaged: export it again)."""
    problems = _limesurvey_sexe_refused(cb, tmp_path, "A2\x00").problems
    assert [(p.rule, p.row, p.column) for p in problems] == [("control_character", 2, "SEXE")]


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_an_export_filtered_to_completed_responses_stops_real_exports(tool, cb, tmp_path, monkeypatch):
    """Trial F: an export of completed responses only passed with a « to check » line, and 55 partial respondents and
    32 break-offs became silent invitees. For real exports it is now a ``completed_only`` problem (from 100 responses
    without one unfinished; here from 1, the fixture's unfinished response removed), and not for the simulator's
    exports or a survey declared to save no partial answers (``unfinished_in_exports: false``)."""
    from portrait.study import tool_statuses

    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    monkeypatch.setattr(tool_statuses, "UNFINISHED_EXPECTED", 1)
    assert "completed_only" not in [p.rule for p in ingest.check(
        folder, {"residents": _sample()}, cb, tool=tool, key=KEY, unfinished_expected=True).problems]
    path = folder / "residents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    j = rows[0].index(lay.complete_column)
    done = [r for r in rows[lay.header_rows:] if (r[j].strip() in lay.complete_values if lay.complete_values
                                                  else r[j].strip() != "")]
    assert 0 < len(done) < len(rows) - lay.header_rows         # the fixture has an unfinished response: removed
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows[:lay.header_rows] + done)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY, unfinished_expected=True)
    assert [p.rule for p in found.problems] == ["completed_only"]
    note = next(n for n in found.notes if n.unfinished is not None)       # rows read (previews set aside)
    assert f"{note.rows} responses and not one unfinished questionnaire" in str(found.problems[0])
    assert "« All responses »" in str(found.problems[0]) and "unfinished_in_exports: false" in str(found.problems[0])
    assert not ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=KEY).problems
    monkeypatch.setattr(tool_statuses, "UNFINISHED_EXPECTED", 100)
    problems: list = []
    tool_statuses.completed_only([replace(note, rows=99, unfinished=0), replace(note, rows=100, unfinished=0),
                                  replace(note, rows=500, unfinished=1)], problems)
    assert len(problems) == 1 and problems[0].message.startswith("100 responses")


@pytest.mark.parametrize("column,message", [
    ("IMG[SQ011]", r"column 'IMG\[SQ011\]' is mapped to both 'img_cadre_vie' and 'img_culture'"),
    ("IMG[SQ-12]", r"column 'IMG\[SQ-12\]' of 'img_culture' is not one LimeSurvey can export"),
    ("1IMG[SQ012]", r"column '1IMG\[SQ012\]' of 'img_culture' is not one LimeSurvey can export")])
def test_a_layout_the_tool_could_not_export_is_refused_when_read(column, message, cb, tmp_path):
    """Trial H: a line copied (two items on one column) or a column name LimeSurvey refuses passed the rehearsal on
    simulated exports: the first failed in 03 as a « missing » column that was there, the second never. Both stop
    when the layout is read, naming the column and the variables."""
    text = paths.resolve(survey_tools.DEFAULT_FILE).read_text(encoding="utf-8")
    assert '    img_culture: "IMG[SQ012]"\n' in text
    path = tmp_path / "survey_tools.yaml"
    path.write_text(text.replace('    img_culture: "IMG[SQ012]"\n', f'    img_culture: "{column}"\n'), encoding="utf-8")
    with pytest.raises(ParameterError, match=message):
        survey_tools.layout("limesurvey", cb, path)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_exports_whose_tokens_come_from_another_key_say_so_once(tool, cb, tmp_path):
    """A new user's trial: with another pseudonymisation key, the check listed 26,986 ``not_in_sample`` rows, each
    « no sampled unit has this identifier », and never named the key. When no token of a file is a sampled unit's,
    one ``no_token_matches`` problem per file names the key (and the other survey as the other cause), and the
    rows are not checked one by one."""
    folder = _tool_folder(tool, tmp_path)
    lay = survey_tools.layout(tool, cb)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool=tool, key=b"another-key-not-the-samples-one").problems
    assert [(p.rule, Path(p.file).name, p.row) for p in found] == [
        ("no_token_matches", "residents.csv", None),
        ("no_token_matches", lay.dispositions.file.format(survey="residents"), None)]
    assert "another key than the one the samples were drawn with (PORTRAIT_PSEUDO_KEY" in found[0].message


# ------------------------------------------------------------------------------ responses Qualtrics flagged

CAMILLE, DOMINIQUE = 4, 5          # rows (from 0) of the Qualtrics fixture's finished and unfinished responses


def _flag(row: int, status: str):
    """An edit for :func:`_rewrite_qualtrics`: the response of fixture row ``row`` gets the Qualtrics ``status``."""
    return lambda rows: rows[row].__setitem__(rows[0].index("Status"), status)


@pytest.mark.parametrize("row,status", [(CAMILLE, "Spam"), (DOMINIQUE, "Survey Preview"), (DOMINIQUE, "Survey Test"),
                                        (CAMILLE, "spam"), (DOMINIQUE, "Survey preview"), (CAMILLE, "8.0"),
                                        (DOMINIQUE, " 1 ")])
def test_a_sampled_units_response_flagged_by_qualtrics_is_a_non_response_said_as_such(row, status, cb, tmp_path):
    """A response whose Qualtrics ``Status`` is a preview, a test or spam is set aside unread. The sampled unit it
    came from was then silent (« sans réponse ») in the ledger, or, its distribution history saying « Survey
    Finished », a ``missing_response`` problem that told a filtered export. It is now a non-respondent with its own
    reason ``ecartee_outil`` (AAPOR R), counted with its row by report 03, without the response's text or id; the
    type is read whatever its case or a spreadsheet's « .0 », as contact statuses and completion flags are."""
    from portrait.reporting import fieldwork_text

    folder = _tool_folder("qualtrics", tmp_path)
    _rewrite_qualtrics(folder, _flag(row, status))
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert found.problems == []
    result = found.result.surveys["residents"]
    unit = result.responses.loc[result.responses["slot_id"] == SLOTS[row - CAMILLE]].iloc[0]
    assert (unit["status"], unit["reason"]) == ("non_respondent", "ecartee_outil") and pd.isna(unit["source_row"])
    ledger = result.ledger.set_index("reason")
    assert ledger.loc["ecartee_outil", ["status", "n"]].tolist() == ["non_respondent", 1]
    assert ledger.loc["ecartee_outil", "reason_label"] == "Réponse écartée par l'outil d'enquête (aperçu, test ou spam)"
    assert ledger.loc["sans_reponse", "n"] == 1                             # the fixture's one silent invitee
    assert (result.tool_flagged, result.tool_flagged_rows) == (1, (row + 1,))
    assert ingest.aapor_rates(result.responses, "stratum")[["R", "UO"]].iloc[0].tolist() == [2, 2]
    text = fieldwork_text.status_sentences({"residents": result}).replace("\u00a0", " ")
    assert "**Réponses écartées par l'outil d'enquête.** Pour 1 unité tirée" in text
    assert f"(habitants : 1, ligne {row + 1} de l'export des réponses)" in text
    assert "compte comme une non-réponse" in text
    answers = _csv_rows(folder / "residents.csv")
    status_at = answers[0].index("Status")      # nothing else of the response is repeated (its id, token, answers)
    assert [c for j, c in enumerate(answers[row]) if j != status_at and len(c) > 3 and c in text] == []


def test_a_unit_with_a_flagged_and_a_normal_response_answers_with_the_normal_one(cb, tmp_path):
    """The same unit's response twice, one flagged as spam: the normal one is read, the unit a respondent; nothing
    is said of the flagged one but its count among the rows set aside."""
    folder = _tool_folder("qualtrics", tmp_path)

    def edit(rows):
        copy = list(rows[CAMILLE])
        copy[rows[0].index("ResponseId")] = "R_spamCopy000001"
        copy[rows[0].index("Status")] = "Spam"
        rows.append(copy)

    _rewrite_qualtrics(folder, edit)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert found.problems == []
    result = found.result.surveys["residents"]
    assert result.responses.set_index("slot_id").loc[SLOTS[0], ["reason", "source_row"]].tolist() == ["complet", 5]
    assert result.tool_flagged == 0 and (result.responses["reason"] == "ecartee_outil").sum() == 0
    assert next(n for n in found.notes if n.file.endswith("residents.csv")).set_aside == {"Status = 1": 1,
                                                                                         "Status = Spam": 1}


NOA = "XIDANOSDLDJZCER"            # the token of the fixture's silent invitee
# each case: the responses planted, (fixture row, Qualtrics Status, where: the row itself rewritten (None), or a copy
# appended, of the same unit (True) or given another unit's token; spreadsheet rows 7 on are the copies), the rows to
# be listed and the units left without a normal response
SEVERAL_FLAGGED = {
    "one unit, three flagged responses; the other answered, and a flagged copy of it is no non-response": (
        [(CAMILLE, "Spam", None), (CAMILLE, "Survey Test", True), (DOMINIQUE, "Survey Preview", True),
         (CAMILLE, "8.0", True)], (5, 7, 9), 1),
    "two units, three and two flagged responses, interleaved with a third unit's answer": (
        [(CAMILLE, "Spam", None), (DOMINIQUE, "Survey Test", None), (CAMILLE, "Survey Preview", True),
         (CAMILLE, "0", NOA), (DOMINIQUE, "spam", True), (CAMILLE, "1", True)], (5, 6, 7, 9, 10), 2),
}


@pytest.mark.parametrize("case", sorted(SEVERAL_FLAGGED))
def test_every_flagged_response_of_a_unit_set_aside_by_qualtrics_is_listed(case, cb, tmp_path, capsys,
                                                                            monkeypatch):
    """A unit tested or previewed more than once has several flagged responses: only its first row was listed (by
    report 03, the check report and the terminal), and the others were nowhere. Every flagged row of each unit left
    without a normal response is listed now, by its spreadsheet row as planted; the units are counted once; the row
    of a flagged copy of an answered unit's response is not listed (that unit is a respondent); nothing the
    respondent wrote is repeated."""
    from portrait.reporting import check_survey, fieldwork_text

    planted, rows_expected, units = SEVERAL_FLAGGED[case]
    folder = _tool_folder("qualtrics", tmp_path)

    def edit(rows):
        for k, (row, status, where) in enumerate(planted):
            copy = rows[row] if where is None else list(rows[row])
            if where is not None:
                copy[rows[0].index("ResponseId")] = f"R_plantedCopy{k:04d}"
                if where is not True:
                    copy[rows[0].index("ExternalReference")] = where
                rows.append(copy)
            copy[rows[0].index("Status")] = status

    _rewrite_qualtrics(folder, edit)
    written = _csv_rows(folder / "residents.csv")
    status_at = written[0].index("Status")
    flagged_at = [k + 1 for k, r in enumerate(written) if k >= CAMILLE - 1 and r[status_at] != "0"]
    # as planted: row 4 is the fixture's own preview, of no sampled unit (never listed)
    assert len(written) == 3 + 3 + sum(w is not None for *_, w in planted)
    assert len(flagged_at) == 1 + sum(s != "0" for _, s, _ in planted)
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert found.problems == []
    result = found.result.surveys["residents"]
    assert (result.tool_flagged, result.tool_flagged_rows) == (units, rows_expected)
    assert (result.responses["reason"] == "ecartee_outil").sum() == units
    text = fieldwork_text.status_sentences({"residents": result}).replace("\u00a0", " ")
    lines = ", ".join(map(str, rows_expected[:-1])) + f" et {rows_expected[-1]}"
    assert f"(habitants : {units}, lignes {lines} de l'export des réponses)" in text
    assert "que des réponses marquées par l'outil comme aperçus, tests ou spams" in text
    assert "ces réponses ne sont pas lues, et " + ("l'unité compte comme une non-réponse" if units == 1 else
                                                  "ces unités comptent comme des non-réponses") in text
    settings = {"source": "real", "folder": "x", "tool": "Qualtrics", "format": "csv"}
    monkeypatch.setattr(check_survey, "run", lambda folder=None, simulated=False: (found, settings))
    assert check_survey.main(["--out", str(tmp_path / "check.html")]) == 0
    said = capsys.readouterr().out
    assert (f"residents: {units} sampled unit(s) whose every response the tool flagged as a preview, test or spam "
            f"(rows {', '.join(map(str, rows_expected))} of the responses export)") in said
    page = html.unescape((tmp_path / "check.html").read_text(encoding="utf-8"))
    assert f"lignes {lines} de l’export des réponses" in page.replace("\u00a0", " ")
    # nothing else of the responses is repeated (ids, tokens, answers)
    shown = [c for k in flagged_at[1:] for j, c in enumerate(written[k - 1]) if j != status_at and len(c) > 3
             and (c in text or c in said)]
    assert shown == []


def test_the_analyst_setting_aside_a_response_qualtrics_flagged_is_not_told_it_has_none(cb, tmp_path):
    """``ecartee`` on a unit whose only response Qualtrics flagged as spam: the response exists, so no
    ``set_aside_no_response`` (« a status put on the wrong participant? »); the unit keeps the tool's reason."""
    folder = _tool_folder("qualtrics", tmp_path)
    _rewrite_qualtrics(folder, _flag(CAMILLE, "Spam"))
    dist = folder / "residents_distribution.csv"
    rows = _csv_rows(dist)
    rows = [r + [v] for r, v in zip(rows, ["ecartee", "1"] + [""] * (len(rows) - 2))]      # row 2: Camille
    _write_csv(dist, rows, encoding="utf-8-sig")
    found = ingest.check(folder, {"residents": _sample()}, cb, tool="qualtrics", key=KEY)
    assert found.problems == []
    assert found.result.surveys["residents"].responses.set_index("slot_id").loc[SLOTS[0], "reason"] == "ecartee_outil"


@pytest.mark.parametrize("status", ["0.0", " spam ", "SURVEY PREVIEW"])
def test_a_response_type_rewritten_by_a_spreadsheet_still_marks_a_response_among_the_header_rows(status, cb):
    """A row where Qualtrics writes a header row is a response when its ``Status`` is a response type, read as the
    rows below it are (case, « .0 »)."""
    lay = survey_tools.layout("qualtrics", cb)
    assert lay.looks_like_response(["Status", "Q1"], [status, "1"])
    assert not lay.looks_like_response(["Status", "Q1"], ["Response Type", "1"])


def test_an_unknown_code_is_told_with_every_code_of_the_question(cb, tmp_path):
    """A newcomer's trial: « A11 » in a 0–10 score was told « codes … are A0, A1, A2, A3, A4, A5 … », hiding the top of
    the scale. Runs of three or more consecutive codes are written as a run (by hand: « A0–A10 »)."""
    from portrait.study.export_checks import code_runs

    assert code_runs([f"A{k}" for k in range(11)] + ["A99"]) == "A0–A10, A99"
    assert code_runs(["A1", "A2", "A99"]) == "A1, A2, A99" and code_runs(["oui", "non"]) == "oui, non"
    assert code_runs(["A02", "A59", "A60", "A62", "A80"]) == "A02, A59, A60, A62, A80"
    folder = _tool_folder("limesurvey", tmp_path)
    rows = _csv_rows(folder / "residents.csv")
    j = rows[0].index("RECO")
    k = next(k for k, r in enumerate(rows[1:], start=1) if r[j] != "")
    rows[k][j] = "A11"
    _write_csv(folder / "residents.csv", rows)
    found = [p for p in ingest.check(folder, {"residents": _sample()}, cb, tool="limesurvey", key=KEY).problems
             if p.rule == "unknown_code"]
    assert [(p.column, p.row) for p in found] == [("RECO", k + 1)] and "A0–A10" in found[0].message
