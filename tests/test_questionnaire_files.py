"""The questionnaires as LimeSurvey structure files (``make questionnaire``).

Oracles, independent of the writer:
- LimeSurvey's export naming (manual « Question object types »): a list, a numerical input or a short text is one
  column named by its question code; an array, a multiple choice or a multiple short text one column per
  subquestion, ``QCODE[SQCODE]``; applied to the file as LimeSurvey's TSV importer reads it (tab-separated,
  double quotes);
- the hand-made LimeSurvey export of ``tests/fixtures/survey_tools/`` (written from the tool's documentation):
  a survey built from the residents' file exports its question columns, in its order;
- the limits of LimeSurvey's database on codes (question codes a letter then letters or digits, 20 at most;
  answer codes 5 at most);
- the codebook, for every answer code, limit, filter and bound.
No LimeSurvey server runs here: the import itself is not exercised.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import pytest

from portrait.pipeline.errors import ParameterError
from portrait.study import codebook, questionnaire_files, survey_tools
from portrait.study.ingest import NEEDED_BY_WEIGHTING

FIXTURE = Path(__file__).parent / "fixtures" / "survey_tools" / "limesurvey" / "residents.csv"
SINGLE_COLUMN = {"L", "N", "S"}          # list (radio), numerical input, short free text
PER_SUBQUESTION = {"F", "M", "Q"}        # array, multiple choice, multiple short text


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def lay(cb):
    return survey_tools.layout("limesurvey", cb)


@pytest.fixture(scope="module", params=["residents", "visitors"])
def structure(request, cb, lay, tmp_path_factory):
    out = tmp_path_factory.mktemp("questionnaire")
    paths = questionnaire_files.write(cb, lay, out)
    path = out / f"limesurvey_{request.param}.txt"
    assert path in paths
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t", quotechar='"'))
    return request.param, rows


def _questions(rows: list[dict]) -> list[dict]:
    """Each question with its subquestions and answers, as the importer nests them (a row belongs to the last Q)."""
    out: list[dict] = []
    for r in rows:
        if r["class"] == "Q":
            out.append({**r, "sq": [], "a": []})
        elif r["class"] == "SQ":
            out[-1]["sq"].append(r)
        elif r["class"] == "A":
            out[-1]["a"].append(r["name"])
    return out


def _export_columns(rows: list[dict]) -> dict[str, list[str]]:
    """The columns of a LimeSurvey response export of this structure → the answer codes each may hold."""
    cols: dict[str, list[str]] = {}
    for q in _questions(rows):
        if q["type/scale"] in SINGLE_COLUMN:
            assert not q["sq"], q["name"]
            cols[q["name"]] = q["a"]
        else:
            assert q["type/scale"] in PER_SUBQUESTION and q["sq"], q["name"]
            for sq in q["sq"]:
                cols[f"{q['name']}[{sq['name']}]"] = q["a"]
    return cols


def test_a_survey_built_from_the_file_exports_the_columns_and_codes_the_check_reads(structure, cb, lay):
    survey, rows = structure
    cols = _export_columns(rows)
    mapped = lay.column_map(cb, survey)
    expected = {t for n, t in mapped.items() if n not in (cb.id_column(survey), "complet")}
    assert set(cols) == expected
    native = {t: n for n, t in mapped.items()}
    variables = cb.column_variables(survey)
    for column, answers in cols.items():
        v = variables[native[column]]
        if v.type in ("single", "likert_1_5", "score_0_10"):
            assert answers == [lay.code(c) for c in cb.codes(v.name, dont_know=v.dont_know)], column
            assert ("A99" in answers) == v.dont_know
        else:
            assert answers == [], column


def test_the_residents_file_gives_the_columns_of_a_real_limesurvey_export_in_order(cb, lay, tmp_path):
    questionnaire_files.write(cb, lay, tmp_path)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "limesurvey_residents.txt").read_text(encoding="utf-8")),
                               delimiter="\t"))
    header = next(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8-sig"))))
    questions = [h for h in header if h not in (*lay.technical, *lay.personal, lay.id)]
    assert list(_export_columns(rows)) == questions


def test_limits_filters_and_settings_follow_the_codebook(structure, cb, lay):
    survey, rows = structure
    settings = {r["name"]: r["text"] for r in rows if r["class"] == "S"}
    assert settings["anonymized"] == "N" and settings["savetimings"] == "N" and settings["ipaddr"] == "N"
    assert settings["language"] == "fr"
    by_code = {q["name"]: q for q in _questions(rows)}
    for v in cb.variables_for(survey):
        if v.role == "technical":
            continue
        column = lay.questions[v.name]
        q = by_code.get(column) or by_code[column.split("[")[0]]
        assert (q["mandatory"] == "Y") == (v.name in NEEDED_BY_WEIGHTING.get(survey, ()))
        assert q["other"] == "N"
        if v.type == "multi":
            assert int(q["max_answers"]) == v.max_choices and [s["text"] for s in q["sq"]] == [c.label for c in v.codes]
        if v.type == "open_words":
            assert int(q["maximum_chars"]) == v.max_length and len(q["sq"]) == v.n_words
        if v.type == "integer":
            assert (int(q["min_num_value_n"]), int(q["max_num_value_n"]), q["num_value_int_only"]) == \
                (v.minimum, v.maximum, "1")
        if v.type == "geo_code":
            pattern = re.fullmatch(r"/(.*)/", q["validation"])[1]          # PHP's delimiters
            assert re.fullmatch(pattern, "59350") and not re.fullmatch(pattern, "5935A")
        if v.asked_if is None:
            assert q["relevance"] == "1"
        else:
            ref, codes = v.asked_if
            assert re.findall(r'(\w+)\.NAOK == "(\w+)"', q["relevance"]) == \
                [(lay.questions[ref], lay.code(c)) for c in codes]
    if survey == "visitors":
        assert by_code["REGION"]["relevance"] == 'PAYS.NAOK == "A1"'     # France, the codebook's code 1


def test_codes_fit_limesurveys_limits_and_the_file_holds_only_questionnaire_text(structure):
    _, rows = structure
    for r in rows:
        if r["class"] in ("Q", "SQ"):
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,19}" if r["class"] == "Q" else r"[A-Za-z0-9]{1,20}", r["name"]), r
        if r["class"] == "A":
            assert re.fullmatch(r"[A-Za-z0-9]{1,5}", r["name"]), r
    text = "\n".join("\t".join(r.values()) for r in rows)
    assert "@" not in text


def test_a_layout_limesurvey_would_rename_is_refused_before_any_file_is_written(cb, lay, tmp_path):
    """LimeSurvey silently renames a question code it refuses (« Question code … was updated to … »): its exports
    would then miss the column the check expects. Such a layout stops the writing, naming the question."""
    bad = dataclasses.replace(lay, questions={**lay.questions, "sexe": "Q-SEXE"})
    with pytest.raises(ParameterError, match=r"'Q-SEXE' of 'sexe'"):
        questionnaire_files.write(cb, bad, tmp_path)
    long_codes = dataclasses.replace(lay, codes="REPON{code}")
    with pytest.raises(ParameterError, match=r"answer code 'REPON1' of 'sexe' must be 1 to 5 letters or digits"):
        questionnaire_files.write(cb, long_codes, tmp_path)
    assert not list(tmp_path.iterdir())


def test_make_questionnaire_writes_both_files(tmp_path, capsys):
    assert questionnaire_files.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["limesurvey_residents.txt", "limesurvey_visitors.txt"]
    assert "Import" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ mutation audit, trial L
def test_the_survey_settings_save_no_personal_data_the_study_does_not_need(structure):
    """Oracle (the module docstring): French, responses not anonymised (the token links them to the sample), no
    timings, no IP address and no referrer URL saved; each setting written once. Trial L, Q1."""
    _, rows = structure
    settings = [(r["name"], r["text"]) for r in rows if r["class"] == "S"]
    assert len(settings) == len(dict(settings))
    privacy = {k: v for k, v in settings if k in ("language", "anonymized", "savetimings", "ipaddr", "refurl")}
    assert privacy == {"language": "fr", "anonymized": "N", "savetimings": "N", "ipaddr": "N", "refurl": "N"}


def test_a_filter_on_two_codes_is_asked_if_either_code_was_answered():
    """Oracle (hand, LimeSurvey's expression syntax): with ``region_residence`` asked if ``pays`` is 1 or 2 (a copy
    of the codebook), the relevance of ``REGION`` is exactly ``PAYS.NAOK == "A1" or PAYS.NAOK == "A2"``.
    Trial L, Q2."""
    import yaml

    from portrait.pipeline import paths

    raw = yaml.safe_load((paths.CONFIG / codebook.CODEBOOK_FILE).read_text(encoding="utf-8"))
    by_name = {v["name"]: v for v in raw["variables"]}
    assert by_name["region_residence"]["asked_if"] == {"variable": "pays", "codes": [1]}
    by_name["region_residence"]["asked_if"] = {"variable": "pays", "codes": [1, 2]}
    cb2 = codebook.parse(raw, "test-codebook.yaml")
    lay2 = survey_tools.layout("limesurvey", cb2)
    rows = questionnaire_files.limesurvey_rows(cb2, lay2, "visitors")
    region = [r for r in rows if r["class"] == "Q" and r["name"] == "REGION"]
    assert [r["relevance"] for r in region] == ['PAYS.NAOK == "A1" or PAYS.NAOK == "A2"']
