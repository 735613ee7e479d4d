"""Survey-tool exports read as text (CSV, XLSX, SPSS), and the problems found in them.

A file-level problem (missing, unreadable, empty, wrong encoding or separator, a row cut or with the
wrong number of fields) becomes a :class:`Problem`; every problem of every file is collected before
:func:`raise_if_problems` stops the ingest (:mod:`portrait.study.ingest`). The checks of the cells
against the codebook and the sample are in :mod:`portrait.study.export_checks`.
"""

from __future__ import annotations

import csv
import itertools
import io as _io
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.errors import ParameterError, SurveyValidationError
from .exports import FORMATS, merged_ranges, worksheets_hold


MAX_LISTED = 50
ENCODINGS = ("cp1252", "utf-8")
BOM = b"\xef\xbb\xbf"
# what a message may repeat: a number of at most 8 digits, a date or time, a resident slot id (« 02049-0001 ») or a
# code of at most 3 characters in one case — never a phone number (10 digits, or digits in groups), a name or an address
SHOWN_VALUE = re.compile(r"[+-]?\d{1,8}(?:[.,]\d{1,6})?"
                         r"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
                         r"|\d{5}-\d{4}|[A-Z0-9]{1,3}|[a-z0-9]{1,3}")     # a trial: « Eva », « Tom » are names, not codes
# what a message may give as a survey tool's response id (Qualtrics « R_… », LimeSurvey's number); anything else is
# left out, as it may be something a person typed
SHOWN_RECORD = re.compile(r"R_[A-Za-z0-9]{6,24}|\d{1,9}")
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
    length: int | None = None
    record: str | None = None        # the survey tool's response id of the row (its ``record_id``)

    def __post_init__(self) -> None:
        # A value is shown only when it cannot be something a person wrote (SHOWN_VALUE); any other text — an
        # open answer, a name, an address, a phone number — is replaced by its length, so that no message, log or
        # notebook output repeats it.
        if isinstance(self.value, str) and self.value and not SHOWN_VALUE.fullmatch(self.value):
            object.__setattr__(self, "length", len(self.value))
            object.__setattr__(self, "value", None)
        if self.record is not None and not SHOWN_RECORD.fullmatch(str(self.record)):
            object.__setattr__(self, "record", None)

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (response {self.record})" if self.record else ""))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None and self.value != "":
            where.append(f"value {self.value!r}")
        elif self.length is not None:
            where.append(f"a text of {self.length} characters (not repeated here)")
        return f"{', '.join(where)}: [{self.rule}] {self.message}"


def problems_table(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a table (file, row, the tool's response id, column, value or length of a text not shown, rule,
    message)."""
    return pd.DataFrame([p.__dict__ for p in problems],
                        columns=["file", "row", "record", "column", "value", "length", "rule", "message"])


def repeated(ids: pd.Series, rows: np.ndarray) -> list[tuple[int, int]]:
    """The positions of identifiers already met higher in a file (blank ones left to the ``missing_id`` rule), each
    with the spreadsheet row where its identifier first appears."""
    s = ids.astype("string")
    present = (s.notna() & (s.str.strip() != "")).to_numpy(dtype=bool)
    first: dict[str, int] = {}
    out = []
    for i in np.flatnonzero(present):
        if s.iloc[i] in first:
            out.append((int(i), first[s.iloc[i]]))
        else:
            first[s.iloc[i]] = int(rows[i])
    return out


def records_of(raw: RawTable, j: int | None, tool: str, keep: np.ndarray, problems: list[Problem],
               token: int | None = None) -> dict[int, str]:
    """Spreadsheet row → the survey tool's response id (its ``record_id``, column ``j`` of ``raw``), and a
    ``duplicate_record`` problem for an id met twice among the responses kept: under another ``token`` (rows of two
    exports merged), or under the same one (a row pasted twice, which the tool holds once: the token's
    ``duplicate_id`` is then not reported, see :func:`portrait.study.tool_messages.tool_problems`)."""
    if j is None:
        return {}
    ids = raw.cells[j].astype(str).str.strip().reset_index(drop=True)
    tokens = dict(zip(raw.rows.tolist(), raw.cells[token].astype(str).str.strip())) if token is not None else {}
    for i, first in repeated(ids[keep].reset_index(drop=True), raw.rows[keep]):
        copy = bool(tokens) and tokens[int(raw.rows[keep][i])] == tokens[first]
        problems.append(Problem(raw.file, int(raw.rows[keep][i]), raw.header[j], None, "duplicate_record",
                                f"row {first} again (the same {tool} response id and token): the tool holds this "
                                "response once; export the responses again, in one file, rather than join exports"
                                if copy else f"the same {tool} response id as row {first} under another token: rows "
                                "of two exports merged? Export the responses once, in one file"))
    return {int(r): v for r, v in zip(raw.rows, ids) if v}


def with_records(problems: list[Problem], start: int, file: str, records: dict[int, str]) -> None:
    """Give the problems of ``file`` from index ``start`` the survey tool's response id of their row (shown in
    messages when it looks like one: :data:`SHOWN_RECORD`)."""
    for k in range(start, len(problems)):
        p = problems[k]
        if records and p.file == file and p.row in records and p.record is None:
            problems[k] = replace(p, record=records[p.row])


#: Rules about a whole file or its columns: listed before the cells' problems they often explain (a column named
#: twice makes every cell of the second one « unknown_code »).
FILE_RULES = ("missing_file", "unreadable", "empty_file", "encoding", "separator", "truncated", "field_too_long",
              "wrong_sheet", "title_rows", "merged_cells", "header_rows", "repeated_header", "missing_column", "extra_column", "duplicate_column", "column_case",
              "missing_participant", "no_respondent", "no_token_matches")


def in_reading_order(problems: list[Problem]) -> list[Problem]:
    """Problems file by file (in the order the files were read), each file's own and its columns' first, then its
    cells' by spreadsheet row (the terminal shows the first few)."""
    files = {p.file: k for k, p in reversed(list(enumerate(problems)))}
    return sorted(problems, key=lambda p: (files[p.file], p.rule not in FILE_RULES, p.row if p.row is not None else 0))


def raise_if_problems(problems: list[Problem]) -> None:
    """Raise one ``SurveyValidationError`` listing ``problems`` (:func:`in_reading_order`: the first 50 and a count),
    if any."""
    if not problems:
        return
    problems = in_reading_order(problems)
    files = list(dict.fromkeys(p.file for p in problems))
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
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)   # SPSS: column → code → label
    records: dict[int, str] = field(default_factory=dict)   # row → the survey tool's response id (record_id)


def _line_of(data: bytes, pos: int) -> int:
    return data[:pos].count(b"\n") + 1


def _decode(data: bytes, encoding: str, file: str, problems: list[Problem], sep: str = ";",
            tool: str | None = None) -> str | None:
    # a survey tool's export is UTF-8 with its separator: the remedy is the tool's file, untouched by Excel
    again = (f"export it again from {tool} (UTF-8, {sep!r}) and do not open and save it in Excel" if tool else
             "export it as CSV with ';' in cp1252 (Windows-1252) or UTF-8 with BOM")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(file, None, None, None, "encoding",
                                f"the file is UTF-16 (Excel « Texte Unicode »); {again}"))
        return None
    head = data[:4000]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        problems.append(Problem(file, None, None, None, "encoding",
                                f"the file looks like UTF-16 without a byte-order mark (one byte in two is zero): {again}"))
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
                problems.append(Problem(file, _line_of(data, i), _column_at(data, i, "utf-8", sep), None, "encoding",
                                        "the file is UTF-8 without BOM but cp1252 (Windows-1252) was expected; "
                                        "accents would be garbled: export it in cp1252 or UTF-8 with BOM, "
                                        "or set the parameter csv_encoding to 'utf-8'"))
                return None
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(BOM) if codec == "utf-8" and data.startswith(BOM) else 0)
        line = _line_of(data, offset)
        hint = ((f"the file looks like cp1252 (Windows-1252), as Excel saves a CSV; {again}" if tool else
                 "the file looks like cp1252 (Windows-1252): set the parameter csv_encoding to 'cp1252'")
                if codec == "utf-8" else "the file is not cp1252: export it in cp1252 or UTF-8 with BOM")
        header = data.split(b"\n", 1)[0]
        if tool and sep.encode() not in header and b";" in header:
            hint += f"; its columns are separated by ';', not {sep!r}"
        problems.append(Problem(file, line, _column_at(data, offset, codec, sep), None,
                                "encoding", f"byte 0x{data[offset]:02X} is not valid {codec}; {hint}"))
        return None
    if text.startswith("\ufeff"):       # a program read the file without its BOM and saved it with one again
        problems.append(Problem(file, 1, None, None, "encoding",
                                "the file starts with two byte-order marks (it was opened and saved again by a "
                                f"program that kept the first one as text); {again}"))
        return None
    return _garbled(text, codec, file, problems, sep)


# UTF-8 read as cp1252 and saved again (« Ã© » for « é », « â€™ » for « ’ »), and letters of another 8-bit
# code page read as cp1252 (Mac Roman « é » → « Ž », « à » → « ˆ »): both decode without error
MOJIBAKE = re.compile("[ÃÂ][\u00a0-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                      "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|â€")
OTHER_PAGE = re.compile("[A-Za-z][ŽˆƒŠ‹šžŸ‚„†‡‰›¦¨´¸¤]|[ŽˆƒŠ‹šžŸ‚„†‡‰›¦¨´¸¤][a-z]")


def _garbled(text: str, codec: str, file: str, problems: list[Problem], sep: str) -> str | None:
    """The decoded text, or None with an ``encoding`` problem when its accents are visibly garbled."""
    for pattern, what in ((MOJIBAKE, "accents garbled by an earlier conversion (« Ã© » for « é »: UTF-8 text "
                           "opened as Windows-1252 and saved again); export the file again from the survey tool"),
                          (OTHER_PAGE, f"letters that {codec} reads as symbols (« Ž » for « é »): the file is in "
                           "another code page (Mac Roman, DOS); export it in cp1252 or UTF-8 with BOM")):
        m = pattern.search(text)
        if m:
            line = text[:m.start()].count("\n") + 1
            start = text.rfind("\n", 0, m.start()) + 1
            header = text.split("\n", 1)[0].lstrip("\ufeff").split(sep)
            k = text[start:m.start()].count(sep)
            column = header[k].strip() if line > 1 and k < len(header) else None
            problems.append(Problem(file, line, column, None, "encoding", what))
            return None
    return text


def _column_at(data: bytes, offset: int, codec: str, sep: str = ";") -> str | None:
    """The header name of the field holding byte ``offset`` (``field N`` on the header line itself; None when the
    header is not split by ``sep``)."""
    start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[start:offset].decode(codec, "replace")           # fields before it, quoted separators kept
    column_index = len(next(csv.reader([prefix], delimiter=sep), [""])) - 1 if prefix else 0
    header = data.split(b"\n", 1)[0].lstrip(BOM).decode(codec, "replace").strip()
    first_line = next(csv.reader([header], delimiter=sep), [])     # « "SEXE" », quoted as tools write it: SEXE
    if len(first_line) == 1 and start > 0:
        return None                       # the header is not separated by ``sep``: no column can be named
    on_header = start == 0
    return first_line[column_index] if not on_header and column_index < len(first_line) else f"field {column_index + 1}"


def read_csv_export(path: Path, encoding: str, problems: list[Problem], file: str, *, delimiter: str = ";",
                    header_rows: int = 1, tool: str | None = None,
                    is_response: Callable[[list[str], list[str]], bool] | None = None) -> RawTable | None:
    """Read a CSV export as text; file-level problems go to ``problems`` (None if unusable).

    ``delimiter`` separates the fields (``;`` in the native layout, ``,`` in LimeSurvey and Qualtrics
    exports); ``header_rows`` rows come before the first respondent (Qualtrics writes three: names,
    question texts, import ids), of which the first holds the column names. ``tool`` names the survey
    tool whose layout is read (its remedies differ from the native layout's). ``is_response(header, row)``
    tells a response from a header row: a response where a header row should be is a ``header_rows``
    problem (a header row was deleted, e.g. in a spreadsheet), and is read as a response, never skipped.
    """
    data = path.read_bytes()
    if not data.strip().strip(BOM).strip():
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    text = _decode(data, encoding, file, problems, delimiter, tool)
    if text is None:
        return None
    first = text.split("\n", 1)[0]
    if delimiter not in first and _wrong_separator(first.strip(), delimiter, file, problems):
        return None
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    # rows are numbered as a spreadsheet shows them: one per record, even when a quoted text holds a
    # line break (the physical line number would then run ahead)
    try:
        for rec in reader:
            records.append((len(records) + 1, rec))
    except csv.Error as exc:
        if "field limit" in str(exc):
            problems.append(Problem(file, len(records) + 1, None, None, "field_too_long",
                                    f"a field is longer than {csv.field_size_limit():,} characters: a quote is "
                                    "probably left open, so the rest of the file reads as one text"))
        else:
            problems.append(Problem(file, len(records) + 1, None, None, "truncated",
                                    f"the file ends inside a quoted text ({exc}) opened at row {len(records) + 1}: a "
                                    "quote left open in that row (an edited cell), or an export cut short; correct "
                                    "the row, or export the file again"))
        return None
    if not records:
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    header = [h.strip() for h in records[0][1]]
    if len(header) == 1 and _wrong_separator(header[0], delimiter, file, problems):
        return None
    start = header_rows
    for k in range(1, min(header_rows, len(records))):
        if is_response is not None and is_response(header, records[k][1]):
            problems.append(Problem(file, records[k][0], None, None, "header_rows",
                                    f"row {records[k][0]} is a response, not one of the {header_rows} header rows "
                                    f"{tool or 'the tool'} writes above the first response (column names, question "
                                    "texts, import ids): a header row was deleted; export the file again"))
            start = k
            break
    body = [(ln, rec) for ln, rec in records[start:] if any(x.strip() for x in rec)]
    if not body:
        problems.append(Problem(file, None, None, None, "empty_file",
                                "the file has a header but no data row: the export is empty or was cut"))
        return None
    ends_with_newline = text.endswith(("\n", "\r"))
    keep, rows = [], []
    heads = {tuple(x.strip() for x in rec): ln for ln, rec in records[:max(start, 1)]}
    for k, (ln, rec) in enumerate(body):
        row, key = ln, tuple(x.strip() for x in rec)    # the row as a spreadsheet shows it; the header is row 1
        if len(rec) == len(header) and key in heads:      # a header row again (a trial: Qualtrics' question texts)
            problems.append(Problem(file, row, None, None, "repeated_header", f"row {row} repeats header row "
                                    f"{heads[key]}: two exports joined, or a header row copied? Export every response "
                                    "once, in one file, from the tool"))
            continue
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


def _wrong_separator(header: str, delimiter: str, file: str, problems: list[Problem]) -> bool:
    """A header line separated by another character than ``delimiter``: one problem, and True."""
    for sep, name in ((";", "';'"), (",", "','"), ("\t", "tabs")):
        if sep != delimiter and header.count(sep) >= 1:
            hint = ("export the CSV with ';' as separator (French Excel's « CSV (séparateur : point-virgule) »)"
                    if delimiter == ";" else f"export the CSV with {delimiter!r} as separator, as the survey "
                    "tool does by default, or choose the survey_tool parameter that matches the file")
            problems.append(Problem(file, 1, None, header[:60] + ("…" if len(header) > 60 else ""), "separator",
                                    f"the header is separated by {name}, not {delimiter!r}: {hint}"))
            return True
    return False


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


#: Added to a ``merged_cells`` problem on the first row: group titles above the column names, read as the header.
HEADER_MERGED = ("; on the header row, merged cells are group titles above the column names (« Profil », « Image »): "
                 "delete that row so that the column names are on the first row; nothing else of the sheet is read")


def _width(values: Iterable[Iterable]) -> int:
    return max((sum(bool(_xlsx_text(x)) for x in r) for r in values), default=0)


def _widest_other_sheet(wb, first: int, rows: int = 20) -> tuple[int, int] | None:
    """The position (from 1; a title is free text) and width of the sheet whose first ``rows`` rows hold the widest
    row, when at least twice the first sheet's and 5 cells more: the answers, put on a sheet that is not read."""
    position, width = max(((k + 1, _width(itertools.islice(ws.iter_rows(values_only=True), rows)))
                           for k, ws in enumerate(wb.worksheets) if k), key=lambda x: x[1])
    return (position, width) if width >= max(2 * first, first + 5) else None


def _only_first(sheets: int) -> str:
    return (f" (the workbook has {sheets} sheets and only the first is read: put the answers' sheet first)"
            if sheets > 1 else "")


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
            sheets = len(wb.worksheets)
            values = [list(r) for r in ws.iter_rows(values_only=True)]
            elsewhere = _widest_other_sheet(wb, _width(values)) if sheets > 1 else None
            wb.close()
            formulas = _formulas_without_value(path, values)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        problems.append(Problem(file, None, None, None, "unreadable",
                                f"the workbook cannot be opened ({type(exc).__name__}: {exc}); the file is "
                                "corrupt or was cut: export it again"))
        return None
    if elsewhere is not None:
        position, width = elsewhere
        problems.append(Problem(file, None, None, None, "wrong_sheet",
                                f"only the workbook's first sheet is read, and its rows hold {_width(values)} cells "
                                f"at most where sheet {position} (of {sheets}, counting from the left) has a row of "
                                f"{width}: the answers look to be on that sheet; put it first, or export them again"))
        return None
    numbered = [(i + 1, r) for i, r in enumerate(values) if any(_xlsx_text(x) for x in r)]
    if not numbered:
        problems.append(Problem(file, None, None, None, "empty_file", "the workbook's first sheet is empty"
                                + _only_first(sheets)))
        return None
    filled = [sum(bool(_xlsx_text(x)) for x in r) for _, r in numbered]
    titles = 0
    while titles < min(len(numbered) - 1, 10) and filled[titles] == 1 and max(filled[titles + 1:]) > 1:
        titles += 1
    if titles:
        first, last = numbered[0][0], numbered[titles - 1][0]
        problems.append(Problem(file, first, None, None, "title_rows",
                                (f"row {first} above the header holds a single cell (a title?): " if first == last
                                 else f"rows {first}–{last} above the header hold a single cell each (titles?): ")
                                + "delete them so that the column names are on the first row"))
        return None
    hrow, hvals = numbered[0]
    while hvals and _xlsx_text(hvals[-1]) == "":
        hvals = hvals[:-1]
    header = [_xlsx_text(x) for x in hvals]
    width = len(header)
    merged = merged_ranges(path)
    for rn, j, ref, _ in merged:
        problems.append(Problem(file, rn, header[j] if j < width else f"column {j + 1}", None, "merged_cells",
                                f"cells {ref} are merged: a workbook keeps the value of the first cell only and the "
                                "others read as empty; unmerge them and fill each cell, or export the file again"
                                + (HEADER_MERGED if rn == hrow else "")))
    if any(rn == hrow for rn, *_ in merged):    # the names are not on this row: every column would be misread
        return None
    for rn, j in formulas:
        problems.append(Problem(file, rn, header[j] if j < width else f"column {j + 1}", None,
                                "formula_without_value",
                                "a formula whose result the file does not hold (written by a program that does not "
                                "compute formulas): open and save it in a spreadsheet, or export values only"))
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
                                "the workbook's first sheet has a header but no data row" + _only_first(sheets)))
        return None
    return RawTable(file, "xlsx", header, pd.DataFrame(keep, columns=range(width), dtype=object),
                    np.asarray(rows, dtype=int))


def _formulas_without_value(path: Path, values: list[list]) -> list[tuple[int, int]]:
    """(row, column index) of the cells that hold a formula but no cached result (read as empty otherwise)."""
    from openpyxl import load_workbook

    empty = {(i, j) for i, r in enumerate(values) for j, x in enumerate(r) if x is None}
    if not empty or not _has_formulas(path):
        return []
    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        return [(i + 1, j) for i, r in enumerate(wb.worksheets[0].iter_rows(values_only=True))
                for j, x in enumerate(r) if (i, j) in empty and isinstance(x, str) and x.startswith("=")]
    finally:
        wb.close()


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula element (``<f>``), read from its XML without
    parsing it: most exports hold none, and then the workbook need not be read a second time."""
    return worksheets_hold(path, rb"<(?:\w+:)?f[ >/]")


def read_sav_export(path: Path, problems: list[Problem], file: str) -> RawTable | None:
    """Read an SPSS export as text (99 kept: user-missing values are read as values)."""
    import pyreadstat

    if path.stat().st_size == 0:
        problems.append(Problem(file, None, None, None, "empty_file", "the file is empty"))
        return None
    try:
        df, meta = pyreadstat.read_sav(str(path), user_missing=True)
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
    labels = {str(c): {_xlsx_text(k): str(lab) for k, lab in vl.items()}
              for c, vl in (meta.variable_value_labels or {}).items()}
    return RawTable(file, "sav", [str(c) for c in df.columns], cells, np.arange(1, len(df) + 1), labels)


def read_export(path: str | Path, *, encoding: str = "cp1252", problems: list[Problem] | None = None,
                delimiter: str = ";", header_rows: int = 1, tool: str | None = None,
                is_response: Callable[[list[str], list[str]], bool] | None = None) -> RawTable | None:
    """Read one export (format from the suffix) as text; problems are appended to ``problems``; ``tool``: the
    survey tool whose layout is read, if any (for the remedies the problems suggest); ``is_response``: see
    :func:`read_csv_export`.

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
        others = sorted(p.name for p in path.parent.glob(path.stem + ".*") if p.suffix.lstrip(".").lower() in FORMATS)
        beside = (f"; {', '.join(others)} is there, but " + (f"{tool} exports are read as {fmt}" if tool else
                  f"the parameter ingest_format is {fmt!r}") if others else "")
        folded = sorted(p.name for p in path.parent.glob("*") if p.name.casefold() == path.name.casefold()
                        and p.name != path.name) if path.parent.is_dir() else []
        if folded:      # « Residents.csv »: names are case-sensitive here, whatever the machine that wrote them
            beside += f"; {folded[0]} is there: rename it {path.name} (file names are case-sensitive)"
        problems.append(Problem(file, None, None, None, "missing_file",
                                "the export file does not exist; put the survey tool's export there under this "
                                f"name (without real exports yet, keep source: simulated){beside}"))
        table = None
    elif fmt == "csv":
        table = read_csv_export(path, encoding, problems, file, delimiter=delimiter, header_rows=header_rows,
                                tool=tool, is_response=is_response)
    elif fmt == "xlsx":
        table = read_xlsx_export(path, problems, file)
    else:
        table = read_sav_export(path, problems, file)
    if own:
        raise_if_problems(problems)
    return _without_blank_columns(table)


def _without_blank_columns(table: RawTable | None) -> RawTable | None:
    """The table without its columns that have neither a name nor a value: what a spreadsheet leaves after the last
    column (« ;;; » at the end of each line). A trial got « column '': [duplicate_column] » and « [extra_column] »
    for them; they hold nothing, so nothing is dropped."""
    if table is None or not table.header:
        return table
    blank = [j for j, name in enumerate(table.header) if not str(name).strip()
             and (table.cells[table.cells.columns[j]].astype(str).str.strip() == "").all()]
    if not blank:
        return table
    keep = [j for j in range(len(table.header)) if j not in set(blank)]
    cells = table.cells.iloc[:, keep]
    cells.columns = range(len(keep))
    return replace(table, header=[table.header[j] for j in keep], cells=cells)


def unread_files_hint(folder: Path, expected: Iterable[str], problems: list[Problem]) -> None:
    """Add to every ``missing_file`` problem the export files of ``folder`` that the check does not read: an export
    saved under the tool's own name (LimeSurvey's ``results-survey482913.csv``) is otherwise only « missing »."""
    if not folder.is_dir() or not any(p.rule == "missing_file" for p in problems):
        return
    wanted = set(expected)
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in wanted
                    and p.suffix.lstrip(".").lower() in FORMATS)
    if not others:
        return
    for k, p in enumerate(problems):
        names = [n for n in others if n not in p.message]      # « residents.xlsx is there » was said already
        if p.rule == "missing_file" and names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            problems[k] = replace(p, message=p.message + f"; the folder holds export files the check does not read: "
                                  f"{shown} (a tool names its exports itself, e.g. LimeSurvey's results-survey<id>.csv "
                                  "and tokens_<id>.csv: rename each as the check expects)")
