"""The catalogue of bad inputs: one entry per kind, each with the rule it must trigger.

Five areas, each damaging a copy of a good input the way a user's file or edit would:

- ``export``: survey-tool exports dropped in ``data/raw/survey/`` (the kinds of the ingest's matrices
  in ``tests/test_ingest.py``, referenced here, and the others below); rule = the ingest's rule name;
- ``partner``: partner client files in ``data/raw/partners/``; rule = words of the error;
- ``margin``: calibration margins and settings given to the engine; rule = words of the error;
- ``config``: a stage's parameters (``config/*.yaml``, typed at the boundary); rule = words of the error;
- ``processed``: files of ``data/processed/`` edited, cut or replaced; rule = words of the error.

``tests/test_bad_inputs.py`` runs every kind through the function the user's path calls, checks
the rule, and scans the message for the personal data planted in every free-text field (a name
and a phone number in the open answers of the exports; the synthetic names and e-mail addresses
of the partner files). Each entry's ``damage`` takes the area's good input and returns what the
runner needs (keyword arguments for the ingest, or a callable that must raise).
"""

from __future__ import annotations

import csv
import io as _io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

PLANTED_NAME = "Jeanne Martin-Dufresne"
PLANTED_PHONE = "06 12 34 56 78"
PLANTED = f"{PLANTED_NAME} {PLANTED_PHONE}"
OPEN_TEXT = ("mots_1", "mots_2", "mots_3")
AREAS = ("export", "partner", "margin", "config", "processed")


@dataclass(frozen=True)
class Kind:
    area: str
    name: str
    rule: str
    damage: Callable


# ------------------------------------------------------------------------------------------ CSV helpers
def read_rows(path: Path, encoding: str = "cp1252") -> list[list[str]]:
    return list(csv.reader(_io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=";"))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "cp1252", sep: str = ";") -> None:
    buf = _io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def plant_open_answers(folder: Path) -> int:
    """Write the planted name and phone number in every non-empty open answer of both CSV exports."""
    planted = 0
    for survey in ("residents", "visitors"):
        rows = read_rows(folder / f"{survey}.csv")
        cols = [rows[0].index(c) for c in OPEN_TEXT]
        for r in rows[1:]:
            for j in cols:
                if r[j]:
                    r[j] = PLANTED
                    planted += 1
        write_rows(folder / f"{survey}.csv", rows)
    return planted


# ------------------------------------------------------------------------------------------ exports
def _export_kinds() -> list[Kind]:
    from .test_ingest import BYTE_EDITS, OTHER_DIGITS, ROW_EDITS

    def row_edit(survey, edit):
        def damage(folder):
            rows = read_rows(folder / f"{survey}.csv")
            edit(rows)
            write_rows(folder / f"{survey}.csv", rows)
            return {}
        return damage

    def byte_edit(edit, kw):
        def damage(folder):
            path = folder / "residents.csv"
            path.write_bytes(edit(path.read_bytes()))
            return dict(kw)
        return damage

    def other_digit(survey, column, value):
        def damage(folder):
            for s in ("residents", "visitors"):         # UTF-8 files: cp1252 cannot hold these digits
                rows = read_rows(folder / f"{s}.csv")
                if s == survey:
                    rows[2][rows[0].index(column)] = value
                write_rows(folder / f"{s}.csv", rows, encoding="utf-8-sig")
            return {"encoding": "utf-8"}
        return damage

    kinds = [Kind("export", f"cell:{k}", v[2], row_edit(v[0], v[1])) for k, v in sorted(ROW_EDITS.items())]
    kinds += [Kind("export", f"file:{k}", v[2], byte_edit(v[0], v[1])) for k, v in sorted(BYTE_EDITS.items())]
    kinds += [Kind("export", f"digits:{k}", "non_ascii_digit", other_digit(*v)) for k, v in sorted(OTHER_DIGITS.items())]

    def long_open_answer(rows):
        rows[3][rows[0].index("mots_1")] = (PLANTED + ", j'adore la baie de Somme ") * 2

    def name_in_a_code(rows):
        rows[4][rows[0].index("img_sure")] = PLANTED_NAME

    def nul_in_a_code(rows):
        rows[5][rows[0].index("sexe")] = "1\x00"

    def commune_of_another_department(rows):
        h = rows[0]
        i = next(k for k, r in enumerate(rows[1:], start=1)
                 if r[h.index("commune_residence")] and r[h.index("dep_residence")] == "59")
        rows[i][h.index("commune_residence")] = "80021"

    def nobody_answered(rows):
        from portrait.study import codebook

        h = rows[0]
        core = [h.index(c) for v in codebook.load().common_core("opinion") for c in v.columns if c in h]
        for r in rows[1:]:
            r[h.index("complet")] = "0"
            for j in core:
                r[j] = ""

    def set_aside_without_response(folder):
        path = folder / "residents_dispositions.csv"
        rows = read_rows(path)
        refusal = next(k for k, r in enumerate(rows[1:], start=1) if r[1] == "2")     # no answer, by construction
        rows[refusal][1] = "4"
        write_rows(path, rows)
        return {}

    kinds += [
        Kind("export", "set_aside_without_response", "set_aside_no_response", set_aside_without_response),
        Kind("export", "open_answer_too_long", "too_long", row_edit("residents", long_open_answer)),
        Kind("export", "name_typed_in_a_code", "not_integer", row_edit("residents", name_in_a_code)),
        Kind("export", "nul_in_a_code", "control_character", row_edit("visitors", nul_in_a_code)),
        Kind("export", "commune_of_another_department", "department_mismatch",
             row_edit("residents", commune_of_another_department)),
        Kind("export", "no_respondent", "no_respondent", row_edit("visitors", nobody_answered)),
    ]
    return kinds


# ------------------------------------------------------------------------------------------ partner files
def _rewrite_column(path: Path, column: str, fn) -> int:
    rows = read_rows(path)
    j = rows[0].index(column)
    for r in rows[1:]:
        r[j] = fn(r[j])
    write_rows(path, rows)
    return len(rows) - 1


def _replace_text(name: str, old: str, new: str, encoding: str = "cp1252"):
    def damage(folder):
        p = folder / name
        p.write_bytes(p.read_bytes().decode(encoding).replace(old, new, 1).encode(encoding))
        return {}
    return damage


def _bytes(name: str, fn):
    def damage(folder):
        p = folder / name
        p.write_bytes(fn(p.read_bytes()))
        return {}
    return damage


def _column(name: str, column: str, fn):
    def damage(folder):
        _rewrite_column(folder / name, column, fn)
        return {}
    return damage


def unmapped_file(folder):
    (folder / "nouveau_partenaire.csv").write_text("Mail;Nom\nx@example.org;X\n", encoding="utf-8")
    return {}


def empty_workbook(folder):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Contacts"
    wb.save(folder / "ot_laon.xlsx")
    return {}


def undeclared_zone(folder):
    p = folder / "voyages_seniors_nord.csv"
    lines = p.read_bytes().decode("cp1252").split("\r\n")
    cells = lines[3].split(";")
    cells[5] = "Atlantide"
    lines[3] = ";".join(cells)
    p.write_bytes("\r\n".join(lines).encode("cp1252"))
    return {}


def two_email_columns(folder):
    p = folder / "ot_dunkerque_contacts.csv"
    lines = p.read_bytes().decode("cp1252").split("\r\n")
    lines = [line + (";E-mail" if i == 0 else ";autre@example.org") if line else line for i, line in enumerate(lines)]
    p.write_bytes("\r\n".join(lines).encode("cp1252"))
    return {}


def stray_quotes(folder, rows=(5, 8)):
    p = folder / "ot_dunkerque_contacts.csv"
    lines = p.read_bytes().decode("cp1252").split("\r\n")
    for k in rows:
        cells = lines[k].split(";")
        cells[1] = cells[1] + '"' if k == 8 else '"' + cells[1]
        lines[k] = ";".join(cells)
    p.write_bytes("\r\n".join(lines).encode("cp1252"))
    return {}


def damaged_sheet(folder):
    path = folder / "ot_laon.xlsx"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/"))
    members[sheet] = members[sheet][: len(members[sheet]) // 2]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return {}


def merged_cells(folder):
    """A partner merges two records' equal cells, as people do to group them in a spreadsheet: the second record
    would lose its value without a word."""
    import openpyxl

    path = folder / "ot_laon.xlsx"
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0].merge_cells("B3:B4")
    wb.save(path)
    return {}


def _header_only(data: bytes) -> bytes:
    return data.split(b"\r\n")[0] + b"\r\n"


def _swap_day_month(v: str) -> str:
    return "/".join([v.split("/")[1], v.split("/")[0], v.split("/")[2]]) if v.count("/") == 2 else v


def _iso_date(v: str) -> str:
    return "-".join(reversed(v.split("/"))) if v.count("/") == 2 else v


PARTNER_KINDS = [
    Kind("partner", "unmapped_file", "unmapped layout", unmapped_file),
    Kind("partner", "utf8_declared_cp1252", "unreadable encoding",
         _bytes("ot_arras_contacts.csv", lambda d: d.decode("cp1252").encode("utf-8"))),
    Kind("partner", "cp1252_declared_utf8", "unreadable encoding",
         _bytes("residence_le_touquet_clients.csv", lambda d: d.decode("utf-8").encode("cp1252", errors="replace"))),
    Kind("partner", "email_column_renamed", "no e-mail column", _replace_text("hotel_amiens_clients.csv", ";Email;", ";Adresse;")),
    Kind("partner", "mapped_column_renamed", "mapped column (consent) absent",
         _replace_text("ot_dunkerque_contacts.csv", "Accepte newsletter", "Accepte newsletters")),
    Kind("partner", "other_separator", "check separator", _bytes("ot_boulogne_contacts.csv", lambda d: d.replace(b";", b"|"))),
    Kind("partner", "empty_file", "the file is empty", _bytes("hotel_calais_clients.csv", lambda d: b"")),
    Kind("partner", "blank_file", "the file is empty", _bytes("hotel_calais_clients.csv", lambda d: b"   \r\n")),
    Kind("partner", "header_only", "the file has a header but no record", _bytes("hotel_calais_clients.csv", _header_only)),
    Kind("partner", "empty_workbook", "the file is empty", empty_workbook),
    Kind("partner", "not_a_workbook", "is not a readable XLSX workbook", _bytes("ot_laon.xlsx", lambda d: b"NOM;Courriel\n")),
    Kind("partner", "undeclared_zone_value", "column 'Destination'", undeclared_zone),
    Kind("partner", "consent_in_english", "declared neither under values",
         _column("ot_dunkerque_contacts.csv", "Accepte newsletter",
                 lambda v: {"oui": "Yes", "non": "No"}.get(v.strip().lower(), v))),
    Kind("partner", "dates_in_iso_format", "for last_visit_unreadable",
         _column("ot_dunkerque_contacts.csv", "Date dernier contact", _iso_date)),
    Kind("partner", "dates_month_first", "not '%d/%m/%Y'",
         _column("ot_dunkerque_contacts.csv", "Date dernier contact", _swap_day_month)),
    Kind("partner", "two_email_columns", "appears twice", two_email_columns),
    Kind("partner", "stray_quotes", "quote left open", stray_quotes),
    Kind("partner", "open_quote_to_the_end", "runs to the end of the file", lambda f: stray_quotes(f, rows=(5,))),
    Kind("partner", "damaged_sheet", "a sheet cannot be read", damaged_sheet),
    Kind("partner", "merged_cells", "row 3, column 'Prénom': cells B3:B4 are merged", merged_cells),
    Kind("partner", "missing_folder", "does not exist", lambda f: {"_folder": f / "nowhere"}),
]


# ------------------------------------------------------------------------------------------ margins
def _margin_kinds() -> list[Kind]:
    from portrait import survey

    df = pd.DataFrame({"x": ["A"] * 5 + ["B"] * 5, "y": ["u", "v"] * 5, "w": 2.0})
    design = survey.Design.from_frame(df, weights="w")
    with_missing = survey.Design.from_frame(df.assign(x=[None] + list(df["x"][1:])), weights="w")
    skewed = pd.DataFrame({"a": ["A"] * 11 + ["B"] * 11, "b": ["X"] * 10 + ["Y", "X"] + ["Y"] * 10, "w": 1.0})
    both = {"A": 10.0, "B": 10.0}

    def cal(d=design, margins=None, **kw):
        return lambda: survey.calibrate(d, margins or [survey.Margin.of("x", both)], **kw)

    def margin(total):
        return lambda: survey.Margin.of("x", {"A": 10.0, "B": total})

    return [
        Kind("margin", "zero_total", "no population", margin(0.0)),
        Kind("margin", "negative_total", "finite and positive", margin(-5.0)),
        Kind("margin", "nan_total", "finite and positive", margin(math.nan)),
        Kind("margin", "infinite_total", "finite and positive", margin(math.inf)),
        Kind("margin", "nan_numeric_total", "finite", lambda: survey.NumericTotal("revenu", math.nan)),
        Kind("margin", "level_without_units", "no unit in the sample",
             cal(margins=[survey.Margin.of("x", {"A": 10.0, "C": 10.0})])),
        Kind("margin", "sample_level_without_total", "has no population total",
             cal(margins=[survey.Margin.of("x", {"A": 10.0})])),
        Kind("margin", "different_grand_totals", "different grand totals",
             cal(margins=[survey.Margin.of("x", both), survey.Margin.of("y", {"u": 10.0, "v": 12.0})])),
        Kind("margin", "missing_auxiliary", "missing value(s)", cal(d=with_missing)),
        Kind("margin", "unknown_variable", "is not in the survey data",
             cal(margins=[survey.Margin.of("z", both)])),
        Kind("margin", "bounds_not_around_one", "L < 1 < U", cal(method="logit", bounds=(1.2, 3.0))),
        Kind("margin", "logit_without_bounds", "needs bounds", cal(method="logit")),
        Kind("margin", "unknown_method", "calibration method must be one of", cal(method="ranking")),
        Kind("margin", "infeasible_bounds", "infeasible within the bounds",
             cal(margins=[survey.Margin.of("x", {"A": 1.0, "B": 19.0})], method="logit", bounds=(0.5, 2.0))),
        Kind("margin", "negative_linear_weights", "negative weights",
             lambda: survey.calibrate(survey.Design.from_frame(skewed, weights="w"),
                                      [survey.Margin.of("a", both), survey.Margin.of("b", {"X": 19.0, "Y": 1.0})],
                                      method="linear")),
        Kind("margin", "negative_design_weights", "weights must be finite, non-negative",
             lambda: survey.Design.from_frame(df, weights=np.r_[-1.0, np.ones(9)])),
    ]


# ------------------------------------------------------------------------------------------ configuration
RESIDENT_RECIPE = dict(population_year=2017, calibration_method="raking", calibration_bounds=[0.3, 3.0],
                       min_respondents_per_level=20, nonresponse_classes=5, replicate_method="bootstrap",
                       replicates=500, sensitivity_methods=["linear", "raking", "logit"])


def _config_kinds() -> list[Kind]:
    from portrait.study import recipes

    def recipe(**bad):
        return lambda config_dir, notebook: recipes.ResidentRecipe.from_params({**RESIDENT_RECIPE, **bad})

    def study_file(text):
        def damage(config_dir, notebook):
            from portrait.pipeline import run

            (config_dir / "study.yaml").write_text(text, encoding="utf-8")
            return run.resolve_parameters(notebook)
        return damage

    def stage_file(text):
        def damage(config_dir, notebook):
            from portrait.pipeline import run

            (config_dir / f"{notebook.stem}.yaml").write_text(text, encoding="utf-8")
            return run.resolve_parameters(notebook)
        return damage

    def stage(notebook_stem, build, **bad):
        """A stage's typed settings, built as its notebook builds them, from the notebook's defaults + ``bad``."""
        def damage(config_dir, notebook):
            from portrait.pipeline import parameters

            return build({**parameters.cell_defaults(f"notebooks/{notebook_stem}.ipynb"), **bad})
        return damage

    def fieldwork_settings(params):
        from portrait.study import codebook, fieldwork

        return fieldwork.FieldworkSettings.from_params(params, codebook.load("config/codebook.yaml"))

    def comparison_settings(params):
        from portrait.study import compare

        return compare.ComparisonSettings.from_params(params)

    def synthesis_settings(params):
        from portrait.reporting import synthesis

        return synthesis.SynthesisSettings.from_params(params)

    def scenario(name, *sets):
        def damage(config_dir, notebook):
            from portrait.pipeline import scenario as scn

            return scn.load(name, list(sets))
        return damage

    return [
        Kind("config", "typo_in_study_file", "which no notebook of the chain declares", study_file("seed: 42\nsourse: real\n")),
        Kind("config", "typo_in_stage_file", "does not declare", stage_file("lable: oops\n")),
        Kind("config", "stage_file_not_yaml", "config", stage_file("label: [unclosed\n")),
        # with the close one named (a trial typed « rakking » and got the list alone)
        Kind("config", "unknown_calibration_method", "got 'ranking' — did you mean 'raking'?",
             recipe(calibration_method="ranking")),
        Kind("config", "bounds_not_around_one", "'calibration_bounds' must be [L, U]", recipe(calibration_bounds=[1.2, 3])),
        Kind("config", "one_replicate", "'replicates' must be at least 2", recipe(replicates=1)),
        Kind("config", "unknown_replicate_method", "'replicate_method' must be", recipe(replicate_method="jackknife")),
        Kind("config", "no_nonresponse_class", "'nonresponse_classes' must be at least 1", recipe(nonresponse_classes=0)),
        Kind("config", "unknown_sensitivity_method", "holds unknown methods", recipe(sensitivity_methods=["magic"])),
        Kind("config", "unknown_export_format", "'export_formats' must list distinct formats",
             stage("03_fieldwork", fieldwork_settings, export_formats=["csv", "json"])),
        Kind("config", "ingest_format_not_written", "the simulator writes only those",
             stage("03_fieldwork", fieldwork_settings, export_formats=["csv"], ingest_format="sav")),
        Kind("config", "unknown_encoding", "'csv_encoding' must be a text encoding",
             stage("03_fieldwork", fieldwork_settings, csv_encoding="latin-42")),
        Kind("config", "break_off_rule_above_the_core", "'min_core_answered' must be at most",
             stage("03_fieldwork", fieldwork_settings, min_core_answered=40)),
        Kind("config", "confidence_level_as_percent", "'confidence_level' must be at most 0.999",
             stage("06_comparison", comparison_settings, confidence_level=95)),
        Kind("config", "unknown_adjustment", "'adjust' must be one of fdr_bh, holm",
             stage("06_comparison", comparison_settings, adjust="bonferroni")),
        Kind("config", "one_model_replicate", "'model_replicates' must be at least 2",
             stage("06_comparison", comparison_settings, model_replicates=1)),
        Kind("config", "no_small_cell_threshold_in_06", "'small_cell_threshold' must be at least 1",
             stage("06_comparison", comparison_settings, small_cell_threshold=0)),
        Kind("config", "no_small_cell_threshold", "'small_cell_threshold' must be at least 1",
             stage("07_synthesis", synthesis_settings, small_cell_threshold=0)),
        Kind("config", "unknown_source", "'source' must be 'simulated' or 'real'",
             stage("07_synthesis", synthesis_settings, source="simulation")),
        Kind("config", "scenario_bad_name", "lower-case letters", scenario("Bad Name", "seed=1")),
        Kind("config", "scenario_unknown_parameter", "declares no parameter",
             scenario("x", "04_resident_weighting.calibration_methd=logit")),
        Kind("config", "scenario_sets_an_output", "is an output path",
             scenario("x", "04_resident_weighting.out_weights=elsewhere.parquet")),
    ]


# ------------------------------------------------------------------------------------------ processed files
def _processed_kinds() -> list[Kind]:
    from portrait import survey
    from portrait.pipeline import manifest

    reads = {"weights": "data/processed/weights.parquet"}

    def edited(folder):
        (folder / "weights.parquet").write_bytes(folder.joinpath("weights.parquet").read_bytes() + b" ")
        return lambda: manifest.verify("06_comparison", reads)

    def edited_after_acceptance(folder):
        (folder / "weights.parquet").write_bytes(b"weights from a survey institute")
        manifest.accept("data/processed/weights.parquet")
        (folder / "weights.parquet").write_bytes(b"edited again")
        return lambda: manifest.verify("06_comparison", reads)

    def accept_unknown(folder):
        (folder / "other.csv").write_text("x", encoding="utf-8")
        return lambda: manifest.accept("data/processed/other.csv")

    def cut_short(folder):
        data = (folder / "weights.parquet").read_bytes()
        (folder / "weights.parquet").write_bytes(data[: len(data) // 2])
        return lambda: survey.read_design(folder / "weights.parquet")

    def other_version(folder):
        import json

        import pyarrow.parquet as pq

        table = pq.read_table(folder / "weights.parquet")
        meta = dict(table.schema.metadata)
        key = next(k for k in meta if k.decode() == "portrait.survey.design")
        desc = json.loads(meta[key])
        desc["version"] = 99
        meta[key] = json.dumps(desc).encode()
        pq.write_table(table.replace_schema_metadata(meta), folder / "weights.parquet")
        return lambda: survey.read_design(folder / "weights.parquet")

    def missing(folder):
        (folder / "weights.parquet").unlink()
        return lambda: survey.read_design(folder / "weights.parquet")

    return [
        Kind("processed", "edited_by_hand", "changed since it was written by stage", edited),
        Kind("processed", "edited_after_acceptance", "changed since it was accepted", edited_after_acceptance),
        Kind("processed", "accept_a_file_no_stage_wrote", "nothing to accept", accept_unknown),
        Kind("processed", "cut_short", "not a readable Parquet file", cut_short),
        Kind("processed", "other_format_version", "version 99", other_version),
        Kind("processed", "missing", "does not exist", missing),
    ]


def catalogue() -> list[Kind]:
    """Every kind of bad input, in area order."""
    return [*_export_kinds(), *PARTNER_KINDS, *_margin_kinds(), *_config_kinds(), *_processed_kinds()]
