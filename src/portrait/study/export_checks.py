"""The checks of a survey-tool export read as text against the codebook and the sample, and of the answers against
the contact statuses.

Each broken rule (the rules are listed in :mod:`portrait.study.ingest`) becomes a
:class:`~portrait.study.export_readers.Problem`; the checks return the typed table, with the invalid
cells as NA.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..pipeline import sources
from ..pipeline.paths import relative
from .codebook import Codebook, Variable
from .export_readers import Problem, RawTable, repeated
from .exports import DISPOSITION_COLUMN

#: What to do about a column the codebook does not know, in the native layout (a tool layout says otherwise).
NATIVE_EXTRA = "(remove it, or add it to config/codebook.yaml)"


# ============================================================================ validation


# ASCII digits only: Python's \d also matches fullwidth (３) and other scripts' digits (١), which
# pandas cannot convert, and a code typed with them would silently become a missing answer.
INT_RE = r"[+-]?[0-9]+"
DECIMAL_COMMA_RE = r"[+-]?[0-9]*,[0-9]+"
OTHER_DIGIT = r"(?![0-9])\d"
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"     # tab, line feed and carriage return are text
#: How a database dump or another tool writes an empty completion date: read as empty (the questionnaire unfinished)
#: and counted, not as a completion (a trial: « NULL » turned 21 break-offs into respondents).
NULL_DATES = ("null", "\\n", "none", "nat", "nan", "n/a", "0000-00-00", "0000-00-00 00:00:00", "0000-00-00t00:00:00")
#: How a completion flag says « not finished » (besides blank), compared case-insensitively.
UNFINISHED_FLAGS = ("0", "false", "faux", "no", "non", "n")


def folded(s: pd.Series) -> pd.Series:
    """A tool's flag or status as it is compared: stripped, case-folded, a whole number's « .0 » dropped (a
    spreadsheet writes back « TRUE » for True and « 1.0 » for 1)."""
    return s.str.strip().str.casefold().str.replace(r"^([0-9]+)\.0+$", r"\1", regex=True)


def as_written(s: pd.Series, values: Sequence[str]) -> pd.Series:
    """Each value of ``s`` that is one of ``values`` but for case, surrounding spaces or a number's « .0 »
    (:func:`folded`: « spam », « 8.0 »), as ``values`` writes it (« Spam », « 8 »); any other value as it was."""
    written = dict(zip(folded(pd.Series(list(values), dtype=object)), values))
    return folded(s).map(written).fillna(s)


def completed(s: pd.Series, values: tuple[str, ...] | None, file: str, rows: np.ndarray, column: str, tool: str,
              problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    """Which rows a tool's completion column marks finished, and which hold a database's empty date (NULL_DATES).

    ``values`` None: a completion date, finished when not blank. Otherwise a flag, compared case-insensitively and
    with a number's « .0 » dropped (a trial: « TRUE » and « 1.0 », written back by a spreadsheet, made every
    questionnaire unfinished); a value neither among ``values`` nor in :data:`UNFINISHED_FLAGS` is an
    ``unknown_status`` problem at its row."""
    text = s.str.strip()
    if values is None:
        null = text.str.casefold().isin(NULL_DATES).to_numpy()       # compared case-insensitively
        return (text != "").to_numpy() & ~null, null
    flag = folded(text)
    done = flag.isin([v.casefold() for v in values]).to_numpy()
    for i in np.flatnonzero(~done & ~flag.isin(UNFINISHED_FLAGS + ("",)).to_numpy()):
        problems.append(Problem(file, int(rows[i]), column, s.iloc[i], "unknown_status",
                                f"not a {tool} completion flag ({', '.join(values)} finished; 0, False or blank not)"))
    return done, np.zeros(len(s), dtype=bool)


@functools.lru_cache(maxsize=1)
def region_communes() -> frozenset[str]:
    """INSEE codes of the region's current communes (``data/raw/communes_hdf.csv``)."""
    return frozenset(sources.read_communes()["code"])


def code_runs(codes: Sequence[str]) -> str:
    """Codes as a message shows them, three or more consecutive numbers of one prefix as a run: « A0–A10, A99 »
    (a trial: « A0, A1, A2, A3, A4, A5 … » hid the top of a 0–10 scale)."""
    runs: list[list[tuple[str, int, str]]] = []
    for code in codes:
        m = re.fullmatch(r"(\D*)(\d+)", code)
        key = (m.group(1), int(m.group(2)), code) if m else (code, -2, code)
        if runs and m and runs[-1][-1][0] == key[0] and runs[-1][-1][1] == key[1] - 1:
            runs[-1].append(key)
        else:
            runs.append([key])
    return ", ".join(f"{r[0][2]}–{r[-1][2]}" if len(r) > 2 else ", ".join(k[2] for k in r) for r in runs)


def _code_text(v: Variable, cb: Codebook) -> str:
    labels = cb.labels(v.name)
    if v.type == "likert_1_5" or (v.codes and len(labels) > 8):
        shown = f"{min(v.code_values)}–{max(v.code_values)}"
    else:
        shown = ", ".join(f"{k} = {lab}" for k, lab in list(labels.items()) if k != cb.dont_know_code)
    if v.dont_know:
        shown += f", {cb.dont_know_code} = {cb.dont_know_label}"
    return shown


#: a cell holding only a tool's missing-value code: -99, -999…, or a spreadsheet's « -99.0 »
MISSING_CODE_RE = re.compile(r"-9{2,}(?:\.0+)?")
#: what a cell holding only -99 (or -999…) is told: a tool's code for a missing answer, not an answer (a Qualtrics trial)
MISSING_CODE = ("a missing-value code (Qualtrics writes -99 for a question seen but not answered when « Recode seen but "
                "unanswered questions as -99 » is ticked; an SPSS file may declare it user-missing): export again "
                "without it, or leave the cell empty")


def _column_checks(v: Variable, col: str, s: pd.Series, rows: np.ndarray, file: str, cb: Codebook,
                   problems: list[Problem], padded: dict[str, int] | None = None) -> pd.Series:
    """Check one column (text values, ``""`` = empty); return its typed values (NA where invalid).

    Codes a spreadsheet stored as numbers lose their leading zero (02100 → 2100, 02 → 2): they are
    restored, and ``padded[col]`` counts the valid cells so repaired."""
    empty = s == ""
    present = ~empty
    coded_missing = s.str.strip().str.fullmatch(MISSING_CODE_RE.pattern).fillna(False).to_numpy(dtype=bool)

    def report(mask: pd.Series | np.ndarray, rule: str, message: str) -> None:
        for i in np.flatnonzero(np.asarray(mask)):       # a -99 in a code or a number: said as the tool's missing code
            said = MISSING_CODE if coded_missing[i] and rule in ("unknown_code", "out_of_range") else message
            problems.append(Problem(file, int(rows[i]), col, s.iloc[i], rule, said))

    if v.required and v.type != "id":
        report(empty, "missing_value", "this column must be filled on every row")
    if v.type == "open_words":       # control characters in open answers are removed and counted by the ingest
        limit = v.max_length or 200
        report(present & (s.str.len() > limit), "too_long",
               f"open answers are at most {limit} characters (`max_length` of « {v.name} » in config/codebook.yaml"
               + ("" if v.max_length else ", 200 when absent")
               + "): raise the limit there if the survey tool allowed longer answers; otherwise shorten it in the "
               "survey tool and export again (a spreadsheet would damage the export)")
        # a Qualtrics trial: « Recode seen but unanswered questions as -99 » made -99 a word of 1,979 answers
        report(coded_missing, "unknown_code", "an open answer holding only " + MISSING_CODE)
        return s.mask(empty).astype("string")
    control = present & s.str.contains(CONTROL)
    report(control, "control_character", "a control character (NUL, escape…) inside a code, number or identifier: "
           "the file is damaged or was saved in a binary format; export it again")
    present = present & ~control
    other_digit = present & s.str.contains(OTHER_DIGIT)
    report(other_digit, "non_ascii_digit", "digits must be ASCII 0–9: this cell holds a fullwidth or another "
           "script's digit (as some keyboards and spreadsheets type them); retype it")
    present = present & ~other_digit
    if v.type == "id" or (v.type == "single" and v.text_codes) or v.type == "geo_code":
        if v.type == "geo_code":
            # a numeric question writes « 2049.0000000000 » (a trial), and Excel drops the leading zero
            s = s.str.replace(r"^([0-9]{4,5})\.0+$", r"\1", regex=True)
            fixed = s.where(~s.str.fullmatch(r"[0-9]{4}"), "0" + s)
            well_formed = fixed.str.fullmatch(v.pattern.strip("^$"))
            report(present & ~well_formed, "bad_format", f"not an INSEE code ({v.pattern})")
            known = fixed.isin(region_communes())
            report(present & well_formed & ~known, "unknown_commune",
                   f"not a current commune of the region ({sources.COMMUNES_FILE}); a postal code is not an "
                   "INSEE code (Lille: postal code 59000, INSEE code 59350): look the commune's INSEE code up; a "
                   "respondent living outside the region is out of scope: empty the cell and record why")
            _count_padded(padded, col, present & (fixed != s) & well_formed & known)
            return fixed.mask(empty).astype("string")
        if v.type == "single":
            width = max(len(str(c)) for c in v.code_values)
            fixed = s.where(~s.str.fullmatch(r"[0-9]+"), s.str.zfill(width))
            allowed = [str(c) for c in v.code_values]
            report(present & ~fixed.isin(allowed), "unknown_code",
                   f"not a code of {v.name!r} ({_code_text(v, cb)})")
            _count_padded(padded, col, present & (fixed != s) & fixed.isin(allowed))
            return fixed.mask(empty | ~fixed.isin(allowed)).astype("string")
        return s.mask(empty).astype("string")
    # whole-number columns
    is_int = s.str.fullmatch(INT_RE)
    comma = present & s.str.fullmatch(DECIMAL_COMMA_RE)
    holds = "counts" if v.type == "integer" else "codes"
    report(comma, "decimal_comma", f"decimal comma in a numeric column: this column holds whole numbers ({holds})")
    report(present & ~is_int & ~comma, "not_integer", f"not a whole number (this column holds {holds})")
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


def _count_padded(padded: dict[str, int] | None, col: str, repaired: pd.Series) -> None:
    n = int(repaired.fillna(False).astype(bool).sum())
    if padded is not None and n:
        padded[col] = padded.get(col, 0) + n


def validate_export(raw: RawTable, survey: str, codebook: Codebook, sample_ids: Iterable[str],
                    problems: list[Problem], padded: dict[str, int] | None = None) -> pd.DataFrame | None:
    """Validate an export against the codebook and the sample; return its typed table.

    Problems go to ``problems``; the typed table keeps invalid cells as NA (it is only used when
    there is no problem at all). Adds ``source_row`` (the row number of each record). Codes whose
    leading zero a spreadsheet dropped are restored and counted per column in ``padded``.
    """
    cb = codebook
    file = raw.file
    expected = cb.columns(survey)
    cvars = cb.column_variables(survey)
    seen = _header_checks(raw, survey, expected, cvars, problems)
    rows = raw.rows
    typed: dict[str, object] = {}
    for name in expected:
        if name not in seen:
            continue
        s = raw.cells[seen[name]].astype(str)
        typed[name] = _column_checks(cvars[name], name, s.reset_index(drop=True), rows, file, cb, problems, padded)
    table = pd.DataFrame(typed)
    id_col = cb.id_column(survey)
    if id_col in table.columns:
        _id_checks(table[id_col], id_col, rows, file, survey, sample_ids, problems)
    _department_checks(table, rows, file, problems)
    _label_checks(raw, cvars, cb, problems)
    for v in cb.variables_for(survey):
        if v.type == "multi" and all(c in table.columns for c in v.columns):
            _multi_checks(v, raw, seen, problems)
        if v.asked_if is not None and v.name in table.columns and v.asked_if[0] in table.columns:
            _filter_checks(v, table, raw, seen, problems, cvars[v.asked_if[0]])
    table["source_row"] = pd.array(rows, dtype="Int32")
    return table


def _department_checks(table: pd.DataFrame, rows: np.ndarray, file: str, problems: list[Problem]) -> None:
    """A commune of residence must lie in the department of residence the respondent declared."""
    if not {"commune_residence", "dep_residence"} <= set(table.columns):
        return
    commune, dep = table["commune_residence"], table["dep_residence"]
    known = commune.isin(region_communes())          # others are reported as bad_format or unknown_commune
    bad = (known & dep.notna() & (commune.str[:2] != dep)).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero(bad):
        problems.append(Problem(file, int(rows[i]), "commune_residence", commune.iloc[i], "department_mismatch",
                                f"the commune is not in the department declared in 'dep_residence' ({dep.iloc[i]})"))


def _folded(text: str) -> str:
    """A label reduced to its words: accents, case and punctuation dropped, every apostrophe (' or ’) a word break."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _label_checks(raw: RawTable, cvars: dict[str, Variable], cb: Codebook, problems: list[Problem]) -> None:
    """Value labels a file carries (SPSS) must not say that a code means what the codebook calls another code.

    Wording may differ (a tool's own phrasing is accepted); a label equal to the codebook's label of
    another code of the same question — codes shifted, a scale reversed — is an error.
    """
    for column, labels in raw.value_labels.items():
        v = cvars.get(column)
        if v is None or v.type not in ("single", "likert_1_5", "score_0_10"):
            continue
        book = {str(k): _folded(lab) for k, lab in cb.labels(v.name).items()}
        owner = {}
        for k, lab in book.items():
            owner.setdefault(lab, k)
        before = len(problems)
        for code, label in labels.items():
            code = str(code)
            other = owner.get(_folded(label))
            if other is not None and other != code and book.get(code) != _folded(label):
                problems.append(Problem(raw.file, None, column, code, "value_labels",
                                        f"the file's value labels label code {code} as the codebook labels code {other} "
                                        f"({cb.labels(v.name)[_code_key(v, other)]!r}): the codes of this export are "
                                        "not the codebook's (a scale reversed or shifted?); recode it"))
        if len(problems) == before:
            _reversed_ends(raw.file, column, v, {str(k): lab for k, lab in labels.items()}, cb, problems)


#: Words that make a scale's end label the negative one (« Pas du tout d'accord », « Très mauvaise image »,
#: « Très peu probable », « Strongly disagree », « Don't agree »), on labels folded by :func:`_folded`. Words that
#: also mark a positive end are left out (« Sans aucun doute », « Non, … » on yes/no-like scales).
NEGATIVE = re.compile(r"\b(pas|peu|jamais|desaccord|mauvais|mauvaise|insatisfait|insatisfaite|not|never|disagree|"
                      r"bad|poor|unlikely|dissatisfied|\w+n t)\b")


def _polarity(label: object) -> bool | None:
    """True for a negative label, False for a positive one, None for one without words (« 3 »)."""
    folded = _folded(label)
    return None if not re.search(r"[a-z]", folded) else bool(NEGATIVE.search(folded))


def _reversed_ends(file: str, column: str, v: Variable, labels: dict[str, object], cb: Codebook,
                   problems: list[Problem]) -> None:
    """A scale whose ends the file's value labels word otherwise but with their polarity swapped: a board's trial,
    1 « Très d'accord » … 5 « Pas d'accord du tout », passed the check of the codebook's own words."""
    if v.type not in ("likert_1_5", "score_0_10"):       # a nominal question's ends have no polarity
        return
    book = {str(k): lab for k, lab in cb.labels(v.name).items() if k != cb.dont_know_code}
    low, high = min(book, key=float), max(book, key=float)
    ends = (_polarity(book[low]), _polarity(book[high]))
    if None in ends or ends[0] == ends[1] or low not in labels or high not in labels:
        return
    if (_polarity(labels[low]), _polarity(labels[high])) == ends[::-1]:
        problems.append(Problem(file, None, column, low, "value_labels",
                                f"the file's value labels give code {low} the polarity of code {high} and the reverse, "
                                f"where the codebook's scale runs from {book[low]!r} ({low}) to {book[high]!r} "
                                f"({high}): a scale reversed? recode it"))


def _code_key(v: Variable, code: str) -> int | str:
    return code if v.text_codes else int(code)


def _header_checks(raw: RawTable, survey: str, expected: list[str], cvars: dict[str, Variable],
                   problems: list[Problem]) -> dict[str, int]:
    """Duplicate, missing and extra columns; returns column name → its first position."""
    file = raw.file
    seen: dict[str, int] = {}
    for j, name in enumerate(raw.header):
        if name in seen:
            problems.append(Problem(file, 1, name, None, "duplicate_column",
                                    f"column name appears twice (positions {seen[name] + 1} and {j + 1})"))
        else:
            seen[name] = j
    folded = {name.casefold(): name for name in raw.header if name not in cvars}
    case_only = {name: folded[name.casefold()] for name in expected
                 if name not in seen and name.casefold() in folded}
    if case_only:
        first = next(iter(case_only))
        problems.append(Problem(file, 1, None, None, "column_case",
                                f"{len(case_only)} column(s) match the codebook only when case is ignored "
                                f"(e.g. {case_only[first]!r} for {first!r}; SPSS and some tools write names in "
                                "upper case): rename them as the codebook writes them"))
    for name in expected:
        if name not in seen and name not in case_only:
            problems.append(Problem(file, 1, name, None, "missing_column",
                                    f"required column is missing from the {survey} export"))
    for name in raw.header:
        if name not in cvars and name not in case_only.values():
            problems.append(Problem(file, 1, name or "(empty)", None, "extra_column",
                                    f"column is not in the codebook of the {survey} survey {NATIVE_EXTRA}"))
    return seen


def _id_checks(ids: pd.Series, id_col: str, rows: np.ndarray, file: str, survey: str, sample_ids: Iterable[str],
               problems: list[Problem]) -> None:
    """Empty, duplicated and unsampled respondent identifiers."""
    for i in np.flatnonzero(ids.isna().to_numpy()):
        problems.append(Problem(file, int(rows[i]), id_col, "", "missing_id",
                                "the respondent identifier is empty"))
    for i, first in repeated(ids, rows):
        problems.append(Problem(file, int(rows[i]), id_col, ids.iloc[i], "duplicate_id",
                                f"the identifier already appears at row {first}"))
    known = set(map(str, sample_ids))
    outside = ids.notna() & ~ids.isin(known)
    for i in np.flatnonzero(outside.to_numpy()):
        problems.append(Problem(file, int(rows[i]), id_col, ids.iloc[i], "not_in_sample",
                                f"no sampled unit of the {survey} survey has this identifier"))


def _multi_checks(v: Variable, raw: RawTable, seen: dict[str, int], problems: list[Problem]) -> None:
    """A multi-select item: partly blank options, more options chosen than allowed."""
    file, rows = raw.file, raw.rows
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
        named = ", ".join(repr(col) for col in v.columns if m[col].iloc[i] == "1")
        problems.append(Problem(file, int(rows[i]), v.name, None, "too_many_choices",
                                f"{int(chosen.iloc[i])} options chosen in {v.name!r} ({named}), which allows "
                                f"{v.max_choices} at most"))


def _filter_checks(v: Variable, table: pd.DataFrame, raw: RawTable, seen: dict[str, int],
                   problems: list[Problem], filtered_on: Variable) -> None:
    """Answers to a question its filter does not ask (the filter's answers named by their questionnaire labels,
    which read the same whatever codes a survey tool writes)."""
    file, rows = raw.file, raw.rows
    ref, codes = v.asked_if
    label = {str(c.value): c.label for c in filtered_on.codes}
    refv = table[ref]
    not_asked = refv.notna() & ~refv.isin(list(codes))
    answered = table[v.name].notna() | (raw.cells[seen[v.name]].astype(str).reset_index(drop=True) != "")
    wanted = " or ".join(f"« {label.get(str(c), c)} »" for c in codes)
    for i in np.flatnonzero((not_asked & answered).to_numpy()):
        problems.append(Problem(file, int(rows[i]), v.name, raw.cells[seen[v.name]].iloc[i], "filter",
                                f"answered although {v.name!r} is only asked when {ref!r} is {wanted} "
                                f"(here « {label.get(str(refv.iloc[i]), refv.iloc[i])} »)"))


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
    for i, first in repeated(ids, raw.rows):
        problems.append(Problem(file, int(raw.rows[i]), id_col, ids.iloc[i], "duplicate_id",
                                f"the identifier already appears at row {first} of the contact-status file"))
    out = pd.DataFrame({id_col: ids,
                        DISPOSITION_COLUMN: pd.to_numeric(code.where(code.isin(known)), errors="coerce")})
    out["source_row"] = raw.rows
    return out.dropna().astype({DISPOSITION_COLUMN: int})


# ============================================================================ answers against contact statuses


def disposition_conflicts(answers: pd.DataFrame | None, disp: pd.DataFrame, codebook: Codebook, id_col: str,
                           dpath: Path, column: str, problems: list[Problem]) -> None:
    """Units that answered although their invitation is recorded as not delivered."""
    if answers is None or not len(disp) or id_col not in answers.columns:
        return
    undelivered = codebook.disposition_codes("non_distribuee")
    bad = disp.loc[disp[DISPOSITION_COLUMN].isin(undelivered) & disp[id_col].isin(answers[id_col])]
    for r in bad.itertuples():      # a tool's file holds tokens, not the unit's identifier: its row says where
        problems.append(Problem(relative(dpath), int(r.source_row), column,
                                getattr(r, id_col) if column == id_col else None,
                                "disposition_conflict",
                                "the invitation is recorded as not delivered but the unit answered"))


def set_aside_no_response(answers: pd.DataFrame | None, disp: pd.DataFrame, codebook: Codebook, id_col: str,
                           dpath: Path, column: str, problems: list[Problem],
                           flagged: Mapping[str, tuple[int, ...]] | None = None) -> None:
    """Units whose contact status sets their response aside (``ecartee``) although the export holds none (a response
    the tool flagged, ``flagged``, is one: it was set aside twice)."""
    if answers is None or not len(disp) or id_col not in answers.columns:
        return
    marked = codebook.disposition_codes("ecartee")
    held = disp[id_col].isin(answers[id_col]) | disp[id_col].astype(str).isin(set(flagged or ()))
    bad = disp.loc[disp[DISPOSITION_COLUMN].isin(marked) & ~held]
    for r in bad.itertuples():
        problems.append(Problem(relative(dpath), int(r.source_row), column,
                                getattr(r, id_col) if column == id_col else None,
                                "set_aside_no_response",
                                "the contact status sets this unit's response aside (ecartee), but the responses "
                                "export holds no response of it: a status put on the wrong participant?"))
