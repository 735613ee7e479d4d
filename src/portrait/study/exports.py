"""Survey-tool exports: what an online survey tool writes, in three formats, one file per survey.

- CSV: ``;`` separator, codes (not labels), empty cell for item non-response, Windows line ends,
  ``cp1252`` by default (what French Excel expects) or ``utf-8-sig`` (UTF-8 with a byte-order
  mark);
- XLSX (XlsxWriter): one sheet ``reponses``, header row, codes as numbers, texts as text;
- SPSS ``.sav`` (pyreadstat): variable labels, value labels from the codebook, 99 « Ne sait pas »
  declared user-missing, system-missing for item non-response.

File names in a survey folder (simulated: ``data/synthetic/survey/``; real exports:
``data/raw/survey/``; both git-ignored): ``<survey>.<csv|xlsx|sav>`` for the answers and
``<survey>_dispositions.csv`` for the contact statuses (identifier ; statut_contact), where
``<survey>`` is ``residents`` or ``visitors``.

Every file is written through :func:`portrait.pipeline.io.atomic_path` and is byte-identical for identical
data (XLSX: fixed document dates and zip timestamps; SPSS: fixed creation date in the header).
"""

from __future__ import annotations

import csv
import datetime
import io as _io
import re
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .codebook import Codebook
from ..pipeline.errors import InputError, ParameterError
from ..pipeline.io import atomic_path

FORMATS = ("csv", "xlsx", "sav")
CSV_ENCODINGS = ("cp1252", "utf-8-sig")
SHEET = "reponses"
FIXED_TIME = datetime.datetime(2017, 4, 30, 0, 0, 0)     # end of fieldwork: the date stamped in files
DISPOSITION_COLUMN = "statut_contact"


def export_path(directory: str | Path, survey: str, fmt: str) -> Path:
    """Path of the answers of ``survey`` in format ``fmt`` inside a survey folder."""
    if fmt not in FORMATS:
        raise ParameterError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return Path(directory) / f"{survey}.{fmt}"


def dispositions_path(directory: str | Path, survey: str) -> Path:
    """Path of the contact-status file of ``survey`` inside a survey folder."""
    return Path(directory) / f"{survey}_dispositions.csv"


def _cell_text(x: object) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return str(x)


def _csv_bytes(table: pd.DataFrame, encoding: str, file: str) -> bytes:
    if encoding not in CSV_ENCODINGS:
        raise ParameterError(f"CSV encoding must be one of {', '.join(CSV_ENCODINGS)}, got {encoding!r}")
    buf = _io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(list(table.columns))
    cols = [table[c].astype(object).to_numpy() for c in table.columns]
    for i in range(len(table)):
        w.writerow([_cell_text(col[i]) for col in cols])
    text = buf.getvalue()
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        line = text[:exc.start].count("\n") + 1
        col_i = text[:exc.start].split("\n")[-1].count(";")
        raise InputError(f"character {text[exc.start]!r} cannot be written in {encoding}; "
                         "write the export in utf-8-sig", file=file, row=line,
                         column=str(table.columns[col_i]) if col_i < len(table.columns) else None) from None


def write_csv(table: pd.DataFrame, path: str | Path, *, encoding: str = "cp1252") -> Path:
    """Write ``table`` as a survey-tool CSV (``;``, codes, CRLF) in ``encoding``."""
    data = _csv_bytes(table, encoding, Path(path).name)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_xlsx(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` as an XLSX workbook (one sheet, header row, codes as numbers, texts as texts) with
    :func:`write_workbook`, dated :data:`FIXED_TIME`: an open answer « =1+1 » stays a text."""
    cols = []
    for c in table.columns:
        s = table[c]
        if pd.api.types.is_integer_dtype(s.dtype):
            cols.append([None if x is pd.NA else int(x) for x in s.astype(object)])
        else:
            cols.append([None if (x is pd.NA or x is None or x == "") else str(x) for x in s.astype(object)])
    return write_workbook(path, list(table.columns), zip(*cols), sheet=SHEET, created=FIXED_TIME, author="portrait")


def write_workbook(path: str | Path, header: list, rows: Iterable[Sequence], *, sheet: str,
                   created: datetime.datetime, author: str) -> Path:
    """Write a header and rows as a one-sheet XLSX workbook (XlsxWriter), atomically and byte-identically.

    XlsxWriter stamps the ZIP entries with one fixed date; the document's dates are ``created``. Cells
    keep their Python type: texts stay texts (no number, formula or link is inferred from them), dates
    are date cells, ``None`` and "" empty cells.
    """
    import xlsxwriter

    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False,
                                            "default_date_format": "yyyy-mm-dd hh:mm:ss"})
        wb.set_properties({"created": created, "author": author})
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row)
        wb.close()
    return Path(path)


def merged_ranges(path: str | Path, sheet: str | int = 0) -> list[tuple[int, int, str, object]]:
    """The merged ranges of a workbook's sheet, by position: (first row, first column index from 0, range such
    as ``B3:B4``, the header cell of that column). A workbook keeps a merged range's value in its first cell
    only, so the others read as empty. It is read a second time, fully, only when its XML holds a merge
    (rare in exports and partner files)."""
    from openpyxl import load_workbook

    if not worksheets_hold(path, rb"<(?:\w+:)?mergeCell[ >/]"):
        return []
    wb = load_workbook(path, data_only=True)
    try:
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet]
        ranges = sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
        return [(r.min_row, r.min_col - 1, r.coord, ws.cell(row=1, column=r.min_col).value) for r in ranges]
    finally:
        wb.close()


def worksheets_hold(path: str | Path, pattern: bytes) -> bool:
    """Whether the XML of any worksheet of the workbook matches ``pattern``, read without parsing it
    (to find the rare workbooks a fast reader would misread: formulas, error cells)."""
    found = re.compile(pattern)
    with zipfile.ZipFile(path) as z:
        return any(found.search(z.read(name)) for name in z.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def write_sav(table: pd.DataFrame, path: str | Path, codebook: Codebook, survey: str) -> Path:
    """Write ``table`` as an SPSS file with the codebook's variable and value labels.

    « Ne sait pas » (99) is declared user-missing on the items that allow it; item non-response
    is system-missing (numbers) or an empty text.
    """
    import pyreadstat

    df = pd.DataFrame(index=range(len(table)))
    measure = {}
    cvars = codebook.column_variables(survey)
    for c in table.columns:
        s = table[c]
        if pd.api.types.is_integer_dtype(s.dtype):
            df[c] = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            v = cvars.get(c)
            measure[c] = "scale" if v is not None and v.type in ("integer", "score_0_10") else (
                "ordinal" if v is not None and (v.ordered or v.type == "likert_1_5") else "nominal")
        else:
            df[c] = s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
            measure[c] = "nominal"
    labels = {c: lab for c, lab in codebook.column_labels(survey).items() if c in df.columns}
    value_labels = {c: {k: v for k, v in vl.items()}
                    for c, vl in codebook.value_labels(survey).items() if c in df.columns}
    value_labels = {c: ({float(k): v for k, v in vl.items()} if df[c].dtype == float else vl)
                    for c, vl in value_labels.items()}
    missing = {v.name: [float(codebook.dont_know_code)] for v in codebook.variables_for(survey)
               if v.dont_know and v.name in df.columns and df[v.name].dtype == float}
    with atomic_path(path) as tmp:
        pyreadstat.write_sav(df, str(tmp), row_compress=True, file_label=codebook.surveys[survey]["label"][:64],
                             column_labels=labels, variable_value_labels=value_labels,
                             missing_ranges=missing, variable_measure=measure)
        data = bytearray(tmp.read_bytes())
        # header record: creation date (9 bytes) at offset 92 and time (8 bytes) at 101
        if data[:4] == b"$FL2":
            stamp = FIXED_TIME.strftime("%d %b %y").encode("ascii") + FIXED_TIME.strftime("%H:%M:%S").encode("ascii")
            data[92:109] = stamp
        tmp.write_bytes(bytes(data))
    return Path(path)


def write_export(table: pd.DataFrame, directory: str | Path, survey: str, fmt: str, codebook: Codebook, *,
                 encoding: str = "cp1252") -> Path:
    """Write the answers of ``survey`` in format ``fmt`` into a survey folder; return the path."""
    path = export_path(directory, survey, fmt)
    missing = [c for c in codebook.columns(survey) if c not in table.columns]
    if missing:
        raise ParameterError(f"the {survey} table lacks the codebook columns {missing}")
    table = table[codebook.columns(survey)]
    if fmt == "csv":
        return write_csv(table, path, encoding=encoding)
    if fmt == "xlsx":
        return write_xlsx(table, path)
    return write_sav(table, path, codebook, survey)


def write_dispositions(table: pd.DataFrame, directory: str | Path, survey: str, *,
                       encoding: str = "cp1252") -> Path:
    """Write the contact statuses of ``survey`` (identifier ; statut_contact) as CSV."""
    return write_csv(table, dispositions_path(directory, survey), encoding=encoding)


def write_survey_folder(exports: dict[str, pd.DataFrame], dispositions: dict[str, pd.DataFrame],
                        directory: str | Path, codebook: Codebook, *, formats: list[str] | tuple[str, ...] = FORMATS,
                        encoding: str = "cp1252") -> list[Path]:
    """Write every survey's answers in every format, and its contact statuses; return the paths."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ParameterError(f"export formats must be among {', '.join(FORMATS)}, got {list(formats)}")
    out = []
    for survey in sorted(exports):
        for fmt in formats:
            out.append(write_export(exports[survey], directory, survey, fmt, codebook, encoding=encoding))
        out.append(write_dispositions(dispositions[survey], directory, survey, encoding=encoding))
    return out
