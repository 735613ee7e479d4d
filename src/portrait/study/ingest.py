"""Ingest of the survey exports: read any format, validate against the codebook, type, account.

One path for simulated and real data: the folder (``data/synthetic/survey/`` or
``data/raw/survey/``, see :mod:`portrait.exports` for the file names) holds, per survey, the
answers (``.csv``, ``.xlsx`` or ``.sav``) and optionally the contact statuses
(``<survey>_dispositions.csv``).

Validation (vectorised checks, equivalent to a pandera schema but with the messages below)
collects **every** problem of every file before stopping, each with its file, row, column, value
and rule, then raises one :class:`~portrait.pipeline.errors.SurveyValidationError` listing them (the first
50, then a count) and writes nothing. Rows are numbered as a spreadsheet shows them: the header
is row 1 and the first respondent row 2 (CSV and XLSX); in SPSS files the row is the case number
(first case = 1).

Rules (the ``rule`` field of each problem):

============================  ====================================================================
``missing_file``              the export file does not exist
``unreadable``                the file cannot be opened (corrupt or truncated XLSX/SPSS file)
``empty_file``                the file is empty, or has a header but no data row
``encoding``                  bytes that are not valid in the expected encoding (e.g. a UTF-8 file
                              without BOM read as cp1252, or cp1252 accents read as UTF-8)
``separator``                 the header is not separated by ``;`` (e.g. ``,`` or tabs)
``truncated``                 the file ends inside a row (fewer fields, or an open quote)
``field_count``               a row has more or fewer fields than the header
``missing_column``            a codebook column is absent
``extra_column``              a column is not in the codebook of this survey
``duplicate_column``          a column name appears twice
``missing_id``                empty respondent identifier
``duplicate_id``              the same identifier on two rows
``not_in_sample``             an identifier that is not a sampled unit of this survey
``missing_value``             empty cell in a required column (``complet``)
``decimal_comma``             a decimal comma in a numeric column (``7,5``)
``not_integer``               not a whole number in a numeric column
``unknown_code``              a code that the codebook does not define for the variable
``out_of_range``              a score or number outside its range (e.g. 11 on a 0-10 scale)
``bad_format``                an INSEE code that does not match its pattern
``too_long``                  an open answer longer than the codebook allows
``too_many_choices``          more options chosen than the item allows (e.g. 4 of « 3 au plus »)
``incomplete_multiselect``    some options of a multi-select item blank and others filled
``filter``                    an answer to a question that the filter does not ask
``unknown_disposition``       an unknown contact-status code
``disposition_conflict``      answers from a unit whose invitation was not delivered
============================  ====================================================================

Output: one typed table per survey with **every sampled unit** (sample columns, ``status``,
``reason``, ``source_row`` and the answer columns: codes as nullable integers, texts as strings),
and a ledger: sampled = respondents + non-respondents + excluded, with reasons.
"""

from __future__ import annotations

import csv
import io as _io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..pipeline import paths
from .codebook import Codebook, Variable
from ..pipeline.errors import InputError, ParameterError, SurveyValidationError
from .exports import DISPOSITION_COLUMN, FORMATS, dispositions_path, export_path
from ..pipeline.io import write_csv, write_parquet

MAX_LISTED = 50
ENCODINGS = ("cp1252", "utf-8")
BOM = b"\xef\xbb\xbf"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
EMAIL_REPLACEMENT = "[courriel supprimé]"
ROW_CONVENTION = ("rows are numbered as in a spreadsheet (header = row 1, first respondent = row 2); "
                  "SPSS files: case number")


# ============================================================================ problems


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (file, row, column), what (value) and which rule."""

    file: str
    row: int | None
    column: str | None
    value: object
    rule: str
    message: str

    def __post_init__(self) -> None:
        # no e-mail address may reach a message or a log (open answers can hold one)
        if isinstance(self.value, str) and EMAIL.search(self.value):
            object.__setattr__(self, "value", EMAIL.sub(EMAIL_REPLACEMENT, self.value))

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None and self.value != "":
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: [{self.rule}] {self.message}"


def problems_table(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a table (file, row, column, value, rule, message)."""
    return pd.DataFrame([p.__dict__ for p in problems],
                        columns=["file", "row", "column", "value", "rule", "message"])


def raise_if_problems(problems: list[Problem]) -> None:
    """Raise one ``SurveyValidationError`` listing ``problems`` (first 50 and a count), if any."""
    if not problems:
        return
    first_seen = {}
    for p in problems:
        first_seen.setdefault(p.file, len(first_seen))
    problems = sorted(problems, key=lambda p: (first_seen[p.file], p.row if p.row is not None else 0))
    files = list(first_seen)
    lines = [f"  - {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  … and {len(problems) - MAX_LISTED} more problem(s) (see the exception's "
                     "`problems` attribute for the full list)")
    rules = pd.Series([p.rule for p in problems]).value_counts().sort_index()
    summary = ", ".join(f"{r}: {n}" for r, n in rules.items())
    raise SurveyValidationError(
        f"{len(problems)} problem(s) in the survey export(s) {', '.join(files)} ({summary}); "
        f"nothing was written. Fix the export (or the sample) and run again; {ROW_CONVENTION}.\n"
        + "\n".join(lines), problems)


# ============================================================================ reading


@dataclass
class RawTable:
    """An export read as text: header, cells (``""`` = empty) and the row number of each record."""

    file: str
    fmt: str
    header: list[str]
    cells: pd.DataFrame            # one column per header position, str values
    rows: np.ndarray               # user-visible row number of each record


def _line_of(data: bytes, pos: int) -> int:
    return data[:pos].count(b"\n") + 1


def _decode(data: bytes, encoding: str, file: str, problems: list[Problem]) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(file, None, None, None, "encoding",
                                "the file is UTF-16 (Excel « Texte Unicode »); export it as CSV with ';' "
                                "in cp1252 (Windows-1252) or UTF-8 with BOM"))
        return None
    if data.startswith(BOM):
        body, codec = data[len(BOM):], "utf-8"
    else:
        body, codec = data, encoding
        if encoding == "cp1252" and not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                i = next(i for i, b in enumerate(data) if b >= 0x80)
                snippet = data[max(0, i - 10):i + 10].decode("utf-8", "replace")
                problems.append(Problem(file, _line_of(data, i), None, snippet, "encoding",
                                        "the file is UTF-8 without BOM but cp1252 (Windows-1252) was expected; "
                                        "accents would be garbled: export it in cp1252 or UTF-8 with BOM, "
                                        "or set the parameter csv_encoding to 'utf-8'"))
                return None
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(BOM) if codec == "utf-8" and data.startswith(BOM) else 0)
        line = _line_of(data, offset)
        start = data.rfind(b"\n", 0, offset) + 1
        column_index = data[start:offset].count(b";")
        hint = ("the file looks like cp1252 (Windows-1252): set the parameter csv_encoding to 'cp1252'"
                if codec == "utf-8" else "the file is not cp1252: export it in cp1252 or UTF-8 with BOM")
        first_line = data.split(b"\n", 1)[0].lstrip(BOM).decode(codec, "replace").strip().split(";")
        column = first_line[column_index] if line > 1 and column_index < len(first_line) else f"field {column_index + 1}"
        problems.append(Problem(file, line, column, repr(body[exc.start:exc.start + 1]),
                                "encoding", f"byte {data[offset:offset + 1]!r} is not valid {codec}; {hint}"))
        return None


def read_csv_export(path: Path, encoding: str, problems: list[Problem], file: str) -> RawTable | None:
    """Read a ``;`` CSV export as text; file-level problems go to ``problems`` (None if unusable)."""
    data = path.read_bytes()
    if not data.strip().strip(BOM).strip():
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    text = _decode(data, encoding, file, problems)
    if text is None:
        return None
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        for rec in reader:
            records.append((reader.line_num, rec))
    except csv.Error as exc:
        problems.append(Problem(file, reader.line_num, None, None, "truncated",
                                f"the file ends inside a quoted text ({exc}); the export was cut: export it again"))
        return None
    if not records:
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    header = [h.strip() for h in records[0][1]]
    if len(header) == 1:
        raw = header[0]
        for sep, name in ((",", "','"), ("\t", "tabs")):
            if raw.count(sep) >= 1:
                problems.append(Problem(file, 1, None, raw[:60] + ("…" if len(raw) > 60 else ""), "separator",
                                        f"the header is separated by {name}, not ';': export the CSV with ';' "
                                        "as separator (French Excel's « CSV (séparateur : point-virgule) »)"))
                return None
    body = [(ln, rec) for ln, rec in records[1:] if any(x.strip() for x in rec)]
    if not body:
        problems.append(Problem(file, None, None, None, "empty_file",
                                "the file has a header but no data row: the export is empty or was cut"))
        return None
    ends_with_newline = text.endswith(("\n", "\r"))
    keep, rows = [], []
    for k, (ln, rec) in enumerate(body):
        row = ln  # csv line number of the record's last physical line; header is line 1
        if len(rec) == len(header):
            keep.append(rec)
            rows.append(row)
            continue
        last = k == len(body) - 1
        if len(rec) < len(header) and last and not ends_with_newline:
            problems.append(Problem(file, row, header[len(rec) - 1] if rec else None, None, "truncated",
                                    f"the file ends in the middle of row {row} ({len(rec)} of {len(header)} "
                                    "fields): the export was cut; export it again"))
        elif len(rec) < len(header):
            problems.append(Problem(file, row, None, None, "field_count",
                                    f"row has {len(rec)} fields but the header has {len(header)} "
                                    "(a broken line or a missing ';')"))
        else:
            problems.append(Problem(file, row, None, None, "field_count",
                                    f"row has {len(rec)} fields but the header has {len(header)} "
                                    "(a ';' inside an unquoted text?)"))
    cells = pd.DataFrame(keep, columns=range(len(header)), dtype=object) if keep else \
        pd.DataFrame(columns=range(len(header)), dtype=object)
    return RawTable(file, "csv", header, cells.map(str.strip) if len(cells) else cells, np.asarray(rows, dtype=int))


def _xlsx_text(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, float):
        if np.isnan(x):
            return ""
        return str(int(x)) if x.is_integer() else repr(x)
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return str(x).strip()


def read_xlsx_export(path: Path, problems: list[Problem], file: str) -> RawTable | None:
    """Read the first sheet of an XLSX export as text."""
    from openpyxl import load_workbook

    if path.stat().st_size == 0:
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    try:
        with warnings.catch_warnings():      # e.g. « Workbook contains no default style » from some tools
            warnings.simplefilter("ignore", UserWarning)
            wb = load_workbook(path, read_only=True, data_only=True)
            ws = wb.worksheets[0]
            values = [list(r) for r in ws.iter_rows(values_only=True)]
            wb.close()
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        problems.append(Problem(file, None, None, None, "unreadable",
                                f"the workbook cannot be opened ({type(exc).__name__}: {exc}); the file is "
                                "corrupt or was cut: export it again"))
        return None
    numbered = [(i + 1, r) for i, r in enumerate(values) if any(_xlsx_text(x) for x in r)]
    if not numbered:
        problems.append(Problem(file, None, None, None, "empty_file", "the workbook's first sheet is empty"))
        return None
    hrow, hvals = numbered[0]
    while hvals and _xlsx_text(hvals[-1]) == "":
        hvals = hvals[:-1]
    header = [_xlsx_text(x) for x in hvals]
    width = len(header)
    keep, rows = [], []
    for rn, r in numbered[1:]:
        cells = [_xlsx_text(x) for x in r]
        extra = [c for c in cells[width:] if c]
        if extra:
            problems.append(Problem(file, rn, None, extra[0], "field_count",
                                    "a value lies beyond the last column of the header"))
            continue
        keep.append((cells + [""] * width)[:width])
        rows.append(rn)
    if not keep:
        problems.append(Problem(file, None, None, None, "empty_file",
                                "the workbook has a header but no data row"))
        return None
    return RawTable(file, "xlsx", header, pd.DataFrame(keep, columns=range(width), dtype=object),
                    np.asarray(rows, dtype=int))


def read_sav_export(path: Path, problems: list[Problem], file: str) -> RawTable | None:
    """Read an SPSS export as text (99 kept: user-missing values are read as values)."""
    import pyreadstat

    if path.stat().st_size == 0:
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    try:
        df, _ = pyreadstat.read_sav(str(path), user_missing=True)
    except Exception as exc:
        problems.append(Problem(file, None, None, None, "unreadable",
                                f"the SPSS file cannot be read ({type(exc).__name__}: {exc}); it is corrupt or "
                                "was cut: export it again"))
        return None
    if len(df) == 0:
        problems.append(Problem(file, None, None, None, "empty_file", "the SPSS file has no case"))
        return None
    cells = pd.DataFrame({i: [_xlsx_text(x) for x in df[c].astype(object)] for i, c in enumerate(df.columns)},
                         dtype=object)
    return RawTable(file, "sav", [str(c) for c in df.columns], cells, np.arange(1, len(df) + 1))


def read_export(path: str | Path, *, encoding: str = "cp1252",
                problems: list[Problem] | None = None) -> RawTable | None:
    """Read one export (format from the suffix) as text; problems are appended to ``problems``.

    Raises ``SurveyValidationError`` if ``problems`` is not given and the file is unusable.
    """
    own = problems is None
    problems = [] if own else problems
    path = paths.resolve(path)
    file = paths.relative(path)
    if encoding not in ENCODINGS:
        raise ParameterError(f"parameter 'csv_encoding' must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ParameterError(f"{file}: export format must be one of {', '.join(FORMATS)}")
    if not path.exists():
        problems.append(Problem(file, None, None, None, "missing_file",
                                "the export file does not exist; put the survey tool's export there or "
                                "choose source: simulated"))
        table = None
    elif fmt == "csv":
        table = read_csv_export(path, encoding, problems, file)
    elif fmt == "xlsx":
        table = read_xlsx_export(path, problems, file)
    else:
        table = read_sav_export(path, problems, file)
    if own:
        raise_if_problems(problems)
    return table


# ============================================================================ validation


INT_RE = r"[+-]?\d+"
DECIMAL_COMMA_RE = r"[+-]?\d*,\d+"


def _code_text(v: Variable, cb: Codebook) -> str:
    labels = cb.labels(v.name)
    if v.type == "likert_1_5" or (v.codes and len(labels) > 8):
        shown = f"{min(v.code_values)}–{max(v.code_values)}"
    else:
        shown = ", ".join(f"{k} = {lab}" for k, lab in list(labels.items()) if k != cb.dont_know_code)
    if v.dont_know:
        shown += f", {cb.dont_know_code} = {cb.dont_know_label}"
    return shown


def _column_checks(v: Variable, col: str, s: pd.Series, rows: np.ndarray, file: str, cb: Codebook,
                   problems: list[Problem]) -> pd.Series:
    """Check one column (text values, ``""`` = empty); return its typed values (NA where invalid)."""
    empty = s == ""
    present = ~empty

    def report(mask: pd.Series | np.ndarray, rule: str, message: str) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            problems.append(Problem(file, int(rows[i]), col, s.iloc[i], rule, message))

    if v.required and v.type != "id":
        report(empty, "missing_value", "this column must be filled on every row")
    if v.type in ("id", "open_words") or (v.type == "single" and v.text_codes) or v.type == "geo_code":
        if v.type == "open_words":
            limit = v.max_length or 200
            report(present & (s.str.len() > limit), "too_long", f"open answers are at most {limit} characters")
            return s.mask(empty).astype("string")
        if v.type == "geo_code":
            fixed = s.where(~s.str.fullmatch(r"\d{4}"), "0" + s)         # Excel drops the leading zero
            report(present & ~fixed.str.fullmatch(v.pattern.strip("^$")), "bad_format",
                   f"not an INSEE code ({v.pattern})")
            return fixed.mask(empty).astype("string")
        if v.type == "single":
            width = max(len(str(c)) for c in v.code_values)
            fixed = s.where(~s.str.fullmatch(r"\d+"), s.str.zfill(width))
            allowed = [str(c) for c in v.code_values]
            report(present & ~fixed.isin(allowed), "unknown_code",
                   f"not a code of {v.name!r} ({_code_text(v, cb)})")
            return fixed.mask(empty | ~fixed.isin(allowed)).astype("string")
        return s.mask(empty).astype("string")
    # whole-number columns
    is_int = s.str.fullmatch(INT_RE)
    comma = present & s.str.fullmatch(DECIMAL_COMMA_RE)
    report(comma, "decimal_comma", "decimal comma in a numeric column: this column holds whole numbers (codes)")
    report(present & ~is_int & ~comma, "not_integer", "not a whole number (this column holds codes)")
    values = pd.to_numeric(s.where(is_int), errors="coerce")
    ok = values.notna()
    if v.type == "multi":
        allowed = set(cb.option_labels)
        report(ok & ~values.isin(list(allowed)), "unknown_code",
               "an option column holds 1 (chosen) or 0 (not chosen), or is empty")
    elif v.type in ("score_0_10", "integer"):
        lo, hi = (0, 10) if v.type == "score_0_10" else (v.minimum, v.maximum)
        inside = values.between(lo, hi) | (values == cb.dont_know_code if v.dont_know else False)
        report(ok & ~inside, "out_of_range", f"outside the range {lo}–{hi} of {v.name!r}"
               + (f" (or {cb.dont_know_code} = {cb.dont_know_label})" if v.dont_know else ""))
        allowed = None
    else:
        allowed = set(cb.codes(v.name))
        report(ok & ~values.isin(list(allowed)), "unknown_code", f"not a code of {v.name!r} ({_code_text(v, cb)})")
    valid = ok & (values.isin(list(allowed)) if allowed is not None else inside)
    return pd.array(values.where(valid).to_numpy(dtype=float), dtype="Float64").astype("Int16")


def validate_export(raw: RawTable, survey: str, codebook: Codebook, sample_ids: Iterable[str],
                    problems: list[Problem]) -> pd.DataFrame | None:
    """Validate an export against the codebook and the sample; return its typed table.

    Problems go to ``problems``; the typed table keeps invalid cells as NA (it is only used when
    there is no problem at all). Adds ``source_row`` (the row number of each record).
    """
    cb = codebook
    file = raw.file
    expected = cb.columns(survey)
    cvars = cb.column_variables(survey)
    seen: dict[str, int] = {}
    for j, name in enumerate(raw.header):
        if name in seen:
            problems.append(Problem(file, 1, name, None, "duplicate_column",
                                    f"column name appears twice (positions {seen[name] + 1} and {j + 1})"))
        else:
            seen[name] = j
    for name in expected:
        if name not in seen:
            problems.append(Problem(file, 1, name, None, "missing_column",
                                    f"required column is missing from the {survey} export"))
    for name in raw.header:
        if name not in cvars:
            problems.append(Problem(file, 1, name or "(empty)", None, "extra_column",
                                    f"column is not in the codebook of the {survey} survey "
                                    "(remove it, or add it to config/codebook.yaml)"))
    rows = raw.rows
    typed: dict[str, object] = {}
    for name in expected:
        if name not in seen:
            continue
        s = raw.cells[seen[name]].astype(str)
        typed[name] = _column_checks(cvars[name], name, s.reset_index(drop=True), rows, file, cb, problems)
    table = pd.DataFrame(typed)
    id_col = cb.id_column(survey)
    if id_col in table.columns:
        ids = table[id_col]
        for i in np.flatnonzero(ids.isna().to_numpy()):
            problems.append(Problem(file, int(rows[i]), id_col, "", "missing_id",
                                    "the respondent identifier is empty"))
        dup = ids.notna() & ids.duplicated(keep=False)
        if dup.any():
            first = {}
            for i in np.flatnonzero(dup.to_numpy()):
                key = ids.iloc[i]
                if key in first:
                    problems.append(Problem(file, int(rows[i]), id_col, key, "duplicate_id",
                                            f"the identifier already appears at row {first[key]}"))
                else:
                    first[key] = int(rows[i])
        known = set(map(str, sample_ids))
        outside = ids.notna() & ~ids.isin(known)
        for i in np.flatnonzero(outside.to_numpy()):
            problems.append(Problem(file, int(rows[i]), id_col, ids.iloc[i], "not_in_sample",
                                    f"no sampled unit of the {survey} survey has this identifier"))
    for v in cb.variables_for(survey):
        if v.type == "multi" and all(c in table.columns for c in v.columns):
            m = pd.DataFrame({c: raw.cells[seen[c]].astype(str).reset_index(drop=True) for c in v.columns})
            blank = (m == "").sum(axis=1)
            chosen = (m == "1").sum(axis=1)
            part = (blank > 0) & (blank < len(v.columns))
            for i in np.flatnonzero(part.to_numpy()):
                problems.append(Problem(file, int(rows[i]), v.name, None, "incomplete_multiselect",
                                        f"some option columns of {v.name!r} are empty and others are filled: "
                                        "an answered question has 0 or 1 in every option"))
            over = chosen > int(v.max_choices)
            for i in np.flatnonzero(over.to_numpy()):
                codes = [str(c) for c, col in zip(v.code_values, v.columns) if m[col].iloc[i] == "1"]
                problems.append(Problem(file, int(rows[i]), v.name, ", ".join(codes), "too_many_choices",
                                        f"{int(chosen.iloc[i])} options chosen in {v.name!r}, which allows "
                                        f"{v.max_choices} at most"))
        if v.asked_if is not None and v.name in table.columns and v.asked_if[0] in table.columns:
            ref, codes = v.asked_if
            refv = table[ref]
            not_asked = refv.notna() & ~refv.isin(list(codes))
            answered = table[v.name].notna() | (raw.cells[seen[v.name]].astype(str).reset_index(drop=True) != "")
            for i in np.flatnonzero((not_asked & answered).to_numpy()):
                problems.append(Problem(file, int(rows[i]), v.name, raw.cells[seen[v.name]].iloc[i], "filter",
                                        f"answered although {v.name!r} is only asked when {ref!r} is "
                                        f"{', '.join(map(str, codes))} (here {refv.iloc[i]})"))
    table["source_row"] = pd.array(rows, dtype="Int32")
    return table


def validate_dispositions(raw: RawTable, survey: str, codebook: Codebook, sample_ids: Iterable[str],
                          problems: list[Problem]) -> pd.DataFrame:
    """Validate a contact-status file; return identifier and ``statut_contact`` (valid rows)."""
    cb = codebook
    id_col = cb.id_column(survey)
    file = raw.file
    expected = [id_col, DISPOSITION_COLUMN]
    for name in expected:
        if name not in raw.header:
            problems.append(Problem(file, 1, name, None, "missing_column",
                                    f"the contact-status file needs the columns {expected}"))
    for name in raw.header:
        if name not in expected:
            problems.append(Problem(file, 1, name, None, "extra_column",
                                    f"the contact-status file holds only the columns {expected}"))
    if any(n not in raw.header for n in expected):
        return pd.DataFrame(columns=[id_col, DISPOSITION_COLUMN])
    ids = raw.cells[raw.header.index(id_col)].astype(str).reset_index(drop=True)
    code = raw.cells[raw.header.index(DISPOSITION_COLUMN)].astype(str).reset_index(drop=True)
    known = {str(c) for c in cb.dispositions}
    labels = "; ".join(f"{c} = {d['label']}" for c, d in cb.dispositions.items())
    sampled = set(map(str, sample_ids))
    for i in range(len(ids)):
        if ids.iloc[i] == "":
            problems.append(Problem(file, int(raw.rows[i]), id_col, "", "missing_id", "the identifier is empty"))
        elif ids.iloc[i] not in sampled:
            problems.append(Problem(file, int(raw.rows[i]), id_col, ids.iloc[i], "not_in_sample",
                                    f"no sampled unit of the {survey} survey has this identifier"))
        if code.iloc[i] not in known:
            problems.append(Problem(file, int(raw.rows[i]), DISPOSITION_COLUMN, code.iloc[i], "unknown_disposition",
                                    f"not a contact-status code ({labels})"))
    dup = (ids != "") & ids.duplicated(keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(file, int(raw.rows[i]), id_col, ids.iloc[i], "duplicate_id",
                                "the identifier appears twice in the contact-status file"))
    out = pd.DataFrame({id_col: ids,
                        DISPOSITION_COLUMN: pd.to_numeric(code.where(code.isin(known)), errors="coerce")})
    out["source_row"] = raw.rows
    return out.dropna().astype({DISPOSITION_COLUMN: int})


# ============================================================================ status and ledger


def answered_core(table: pd.DataFrame, codebook: Codebook) -> pd.Series:
    """Number of common-core opinion items answered (« Ne sait pas » counts; all-0 multi-select does not)."""
    n = pd.Series(0, index=table.index)
    for v in codebook.common_core("opinion"):
        cols = [c for c in v.columns if c in table.columns]
        if not cols:
            continue
        if v.type == "multi":
            n += (table[cols].fillna(0).astype(int).sum(axis=1) > 0).astype(int)
        else:
            n += table[cols].notna().any(axis=1).astype(int)
    return n


@dataclass(frozen=True)
class SurveyResult:
    """One survey's ingest: the table of every sampled unit and the ledger."""

    survey: str
    responses: pd.DataFrame
    ledger: pd.DataFrame
    emails_removed: int = 0


@dataclass(frozen=True)
class IngestResult:
    """Both surveys' ingest (see :func:`ingest`)."""

    surveys: dict[str, SurveyResult] = field(default_factory=dict)

    @property
    def ledger(self) -> pd.DataFrame:
        return pd.concat([r.ledger for r in self.surveys.values()], ignore_index=True)


def _status(survey: str, sample: pd.DataFrame, answers: pd.DataFrame | None, disp: pd.DataFrame,
            codebook: Codebook, min_core_answered: int) -> pd.DataFrame:
    cb = codebook
    id_col = cb.id_column(survey)
    ids = sample[id_col].astype(str)
    out = pd.DataFrame({id_col: ids.to_numpy()})
    reason = pd.Series("sans_reponse", index=out.index, dtype=object)
    by_reason = {spec["reason"]: code for code, spec in cb.dispositions.items()}
    dcode = (ids.map(dict(zip(disp[id_col], disp[DISPOSITION_COLUMN]))) if len(disp)
             else pd.Series(np.nan, index=ids.index))
    for r in ("non_distribuee", "refus"):
        if r in by_reason:
            reason[(dcode == by_reason[r]).to_numpy()] = r
    if answers is not None and len(answers):
        a = answers.set_index(id_col)
        has = ids.isin(a.index).to_numpy()
        sub = a.loc[ids[has]]
        n_core = answered_core(sub, cb).to_numpy()
        complete = (sub["complet"] == 1).fillna(False).to_numpy(dtype=bool)
        reason[np.flatnonzero(has)] = np.where(complete, "complet",
                                               np.where(n_core >= min_core_answered, "partiel", "abandon"))
    if "hors_champ" in by_reason:
        reason[(dcode == by_reason["hors_champ"]).to_numpy()] = "hors_champ"
    out["reason"] = reason.to_numpy()
    out["status"] = out["reason"].map({r: cb.reason_status(r) for r in pd.unique(out["reason"])})
    return out


def _ledger(survey: str, status: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    rows = []
    counts = status["reason"].value_counts()
    for st, spec in codebook.status.items():
        for r, label in spec["reasons"].items():
            rows.append({"survey": survey, "status": st, "status_label": spec["label"], "reason": r,
                         "reason_label": label, "n": int(counts.get(r, 0))})
    led = pd.DataFrame(rows)
    if led["n"].sum() != len(status):  # pragma: no cover - every unit gets exactly one reason
        raise AssertionError("ledger does not balance")
    return led


def assemble(survey: str, sample: pd.DataFrame, answers: pd.DataFrame, disp: pd.DataFrame, codebook: Codebook,
             min_core_answered: int = 8) -> SurveyResult:
    """One survey's table of every sampled unit (status, reason, typed answers) and its ledger.

    ``answers`` is the validated export (identifier, ``source_row`` and the codebook columns, typed),
    ``disp`` the validated contact statuses (identifier and ``statut_contact``). This is the last
    step of :func:`ingest`, separate so that the validation study
    (:mod:`portrait.validation`) can build the same table from simulated answers held in memory.
    """
    id_col = codebook.id_column(survey)
    st = _status(survey, sample, answers, disp, codebook, min_core_answered)
    table = sample.reset_index(drop=True).copy()
    table[id_col] = table[id_col].astype(str).astype("string")
    table["status"] = st["status"].to_numpy()
    table["reason"] = st["reason"].to_numpy()
    emails = 0
    cols = [c for c in codebook.columns(survey) if c != id_col]
    ans = answers.set_index(id_col)[["source_row"] + cols]
    for v in codebook.variables_for(survey):
        if v.type == "open_words":
            for c in v.columns:
                found = ans[c].str.contains(EMAIL, regex=True, na=False)
                emails += int(found.sum())
                ans[c] = ans[c].str.replace(EMAIL, EMAIL_REPLACEMENT, regex=True)
    merged = table.merge(ans, how="left", left_on=id_col, right_index=True, validate="one_to_one")
    for c in ["source_row"] + cols:
        merged[c] = merged[c].astype(ans[c].dtype)
    return SurveyResult(survey, merged, _ledger(survey, st, codebook), emails)


def ingest(folder: str | Path, samples: Mapping[str, pd.DataFrame], codebook: Codebook, *,
           fmt: str = "csv", encoding: str = "cp1252", min_core_answered: int = 8) -> IngestResult:
    """Read, validate and type both surveys' exports from ``folder``; account for every sampled unit.

    Parameters
    ----------
    folder : survey folder (file names in :mod:`portrait.exports`).
    samples : survey → sample table (``slot_id`` for residents, ``person_id`` for visitors, plus
        any design columns, which are kept).
    fmt : format of the answers to read (``csv``, ``xlsx`` or ``sav``).
    encoding : CSV encoding, ``cp1252`` or ``utf-8`` (a file with a UTF-8 byte-order mark is
        always read as UTF-8).
    min_core_answered : a questionnaire not validated to the end (``complet = 0``) counts as a
        response if at least this many common-core opinion items are answered, else as a
        break-off (non-respondent).

    Raises
    ------
    SurveyValidationError
        Listing every problem of every file (nothing is written by this function in any case).
    """
    if not isinstance(min_core_answered, int) or min_core_answered < 1:
        raise ParameterError(f"parameter 'min_core_answered' must be a positive integer, got {min_core_answered!r}")
    n_core = len(codebook.common_core("opinion"))
    if min_core_answered > n_core:
        raise ParameterError(f"parameter 'min_core_answered' ({min_core_answered}) exceeds the "
                             f"{n_core} common-core opinion items")
    problems: list[Problem] = []
    parsed = {}
    for survey in sorted(samples):
        sample = samples[survey]
        id_col = codebook.id_column(survey)
        if id_col not in sample.columns:
            raise InputError(f"the {survey} sample has no column {id_col!r}", column=id_col)
        ids = sample[id_col].astype(str)
        if ids.duplicated().any():
            raise InputError(f"the {survey} sample holds an identifier twice", column=id_col,
                             value=ids[ids.duplicated()].iloc[0])
        raw = read_export(export_path(paths.resolve(folder), survey, fmt), encoding=encoding, problems=problems)
        answers = validate_export(raw, survey, codebook, ids, problems) if raw is not None else None
        dpath = dispositions_path(paths.resolve(folder), survey)
        disp = pd.DataFrame(columns=[id_col, DISPOSITION_COLUMN, "source_row"])
        if dpath.exists():
            draw = read_export(dpath, encoding=encoding, problems=problems)
            if draw is not None:
                disp = validate_dispositions(draw, survey, codebook, ids, problems)
        if answers is not None and len(disp) and id_col in answers.columns:
            undelivered = [c for c, d in codebook.dispositions.items() if d["reason"] == "non_distribuee"]
            bad = disp.loc[disp[DISPOSITION_COLUMN].isin(undelivered) & disp[id_col].isin(answers[id_col])]
            for r in bad.itertuples():
                problems.append(Problem(paths.relative(dpath), int(r.source_row), id_col, getattr(r, id_col),
                                        "disposition_conflict",
                                        "the invitation is recorded as not delivered but the unit answered"))
        parsed[survey] = (sample, answers, disp)
    raise_if_problems(problems)

    results = {survey: assemble(survey, sample, answers, disp, codebook, min_core_answered)
               for survey, (sample, answers, disp) in parsed.items()}
    return IngestResult(results)


def response_rates(responses: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Response rate by groups of a table of every sampled unit: respondents / units not excluded.

    Columns: the ``by`` columns, ``sampled``, ``excluded``, ``in_scope``, ``respondents``, ``rate``.
    """
    by = [by] if isinstance(by, str) else list(by)
    d = responses[by].copy()
    d["sampled"] = 1
    d["excluded"] = (responses["status"] == "excluded").astype(int)
    d["respondents"] = (responses["status"] == "respondent").astype(int)
    g = d.groupby(by, sort=True, observed=True)[["sampled", "excluded", "respondents"]].sum().reset_index()
    g["in_scope"] = g["sampled"] - g["excluded"]
    g["rate"] = g["respondents"] / g["in_scope"]
    return g[by + ["sampled", "excluded", "in_scope", "respondents", "rate"]]


def item_nonresponse(responses: pd.DataFrame, codebook: Codebook, survey: str) -> pd.DataFrame:
    """Among respondents, the share of each question left blank and the share of « Ne sait pas ».

    A multi-select question is blank when no option is chosen; an open-word question when the
    first word is empty. Questions not asked because of a filter are not counted as blank.
    """
    r = responses.loc[responses["status"] == "respondent"]
    rows = []
    for v in codebook.variables_for(survey):
        if v.role == "technical":
            continue
        asked = pd.Series(True, index=r.index)
        if v.asked_if is not None:
            asked = r[v.asked_if[0]].isin(list(v.asked_if[1])).fillna(False).astype(bool)
        sub = r.loc[asked]
        if v.type == "multi":
            blank = sub[v.columns].fillna(0).astype(int).sum(axis=1) == 0
            dk = pd.Series(False, index=sub.index)
        elif v.type == "open_words":
            blank = sub[v.columns[0]].isna()
            dk = pd.Series(False, index=sub.index)
        else:
            blank = sub[v.name].isna()
            dk = (sub[v.name] == codebook.dont_know_code).fillna(False) if v.dont_know \
                else pd.Series(False, index=sub.index)
        n = len(sub)
        rows.append({"survey": survey, "variable": v.name, "label": v.label, "common_core": v.common_core,
                     "asked": n, "blank": int(blank.sum()), "dont_know": int(dk.sum()),
                     "blank_rate": float(blank.mean()) if n else np.nan,
                     "dont_know_rate": float(dk.mean()) if n else np.nan})
    return pd.DataFrame(rows)


def ingest_to_files(folder: str | Path, samples: Mapping[str, pd.DataFrame], codebook: Codebook, *,
                    out_responses: Mapping[str, str | Path], out_ledger: str | Path, fmt: str = "csv",
                    encoding: str = "cp1252", min_core_answered: int = 8) -> IngestResult:
    """:func:`ingest`, then :func:`write_outputs`: the outputs are written only if no problem was found."""
    result = ingest(folder, samples, codebook, fmt=fmt, encoding=encoding, min_core_answered=min_core_answered)
    write_outputs(result, out_responses, out_ledger)
    return result


def write_outputs(result: IngestResult, out_responses: Mapping[str, str | Path],
                  out_ledger: str | Path) -> list[Path]:
    """Write each survey's table (Parquet) and the ledger (CSV); only call after a successful ingest."""
    written = []
    for survey, r in sorted(result.surveys.items()):
        if survey not in out_responses:
            raise ParameterError(f"no output path for the {survey} responses")
        written.append(write_parquet(r.responses, paths.resolve(out_responses[survey])))
    written.append(write_csv(result.ledger, paths.resolve(out_ledger)))
    return written
