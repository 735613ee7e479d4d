"""Ingest of the survey exports: read any format, validate against the codebook, type, account.

One path for simulated and real data: the folder (``data/synthetic/survey/`` or
``data/raw/survey/``, see :mod:`portrait.study.exports` for the file names) holds, per survey, the
answers (``.csv``, ``.xlsx`` or ``.sav``) and optionally the contact statuses
(``<survey>_dispositions.csv``). The files are read as text by :mod:`portrait.study.export_readers`,
checked and typed by :mod:`portrait.study.export_checks`; this module accounts for every sampled unit.

Validation (vectorised checks, equivalent to a pandera schema but with the messages below)
collects **every** problem of every file before stopping, each with its file, row, column, value
(only numbers, dates and short codes are repeated; any other text is given by its length, so that no
message repeats what a respondent wrote) and rule, then raises one :class:`~portrait.pipeline.errors.SurveyValidationError` listing them (the first
50, then a count) and writes nothing. Rows are numbered as a spreadsheet shows them: the header
is row 1 and the first respondent row 2 (CSV and XLSX); in SPSS files the row is the case number
(first case = 1).

Rules (the ``rule`` field of each problem):

============================  ====================================================================
``missing_file``              the export file does not exist
``unreadable``                the file cannot be opened (corrupt or truncated XLSX/SPSS file)
``empty_file``                the file is empty, or has a header but no data row
``title_rows``                rows of a single cell above a workbook's header (titles): delete them
``formula_without_value``     a workbook cell holding a formula but no computed result (it would read
                              as a blank answer)
``merged_cells``              merged cells in a workbook (all but the first would read as blank answers; on the
                              header row, group titles above the column names: nothing more is read)
``wrong_sheet``               a workbook's answers on a sheet other than the first, the only one read
``no_token_matches``          no token of a survey tool's file is a sampled unit's: another key, or another
                              survey's file (its rows are not checked one by one)
``encoding``                  bytes that are not valid in the expected encoding (e.g. a UTF-8 file
                              without BOM read as cp1252, or cp1252 accents read as UTF-8), UTF-16
                              with or without a byte-order mark, or accents visibly garbled although
                              the bytes decode (« Ã© »: UTF-8 once opened as cp1252; « Ž »: Mac Roman)
``separator``                 the header is not separated by ``;`` (e.g. ``,`` or tabs)
``truncated``                 the file ends inside a row (fewer fields, or an open quote)
``field_too_long``            a field beyond the CSV reader's limit: a quote left open swallows the file
``field_count``               a row has more or fewer fields than the header
``missing_column``            a codebook column is absent
``extra_column``              a column is not in the codebook of this survey
``duplicate_column``          a column name appears twice
``column_case``               columns that match the codebook (a tool's layout: the tool's name, or the
                              codebook's for it) only when case is ignored: one problem for them all
``missing_id``                empty respondent identifier
``duplicate_id``              the same identifier on two rows
``not_in_sample``             an identifier that is not a sampled unit of this survey
``missing_value``             empty cell in a required column (``complet``)
``decimal_comma``             a decimal comma in a numeric column (``7,5``)
``not_integer``               not a whole number in a numeric column
``non_ascii_digit``           a digit of another script (fullwidth ``７``, Arabic-Indic ``١``) in a code,
                              number or identifier column (open answers may hold them)
``unknown_code``              a code that the codebook does not define for the variable
``out_of_range``              a score or number outside its range (e.g. 11 on a 0-10 scale)
``bad_format``                an INSEE code that does not match its pattern
``unknown_commune``           a well-formed INSEE code that is not a current commune of the region
                              (``75056``, ``99999``)
``department_mismatch``       a commune of residence outside the department of residence declared
``control_character``         a control character (NUL, escape…) in a code, number or identifier: a
                              damaged or binary file (in open answers they are removed and counted)
``value_labels``              an SPSS value label saying a code means what the codebook calls another
                              code (a scale reversed or shifted), or, in other words, ends of opposite polarity
``too_long``                  an open answer longer than the codebook allows
``no_respondent``             a survey whose export holds no respondent at all (header only is
                              ``empty_file``; rows that are all break-offs are this rule)
``too_many_choices``          more options chosen than the item allows (e.g. 4 of « 3 au plus »)
``incomplete_multiselect``    some options of a multi-select item blank and others filled
``filter``                    an answer to a question that the filter does not ask
``unknown_disposition``       an unknown contact-status code
``disposition_conflict``      answers from a unit whose invitation was not delivered
``missing_response``          a participant the survey tool records as having finished, with no row in
                              the responses export (a filtered export)
``missing_participant``       a survey tool's contact-status export without a row for every sampled
                              unit (a filtered or partial export)
``duplicate_record``          a survey tool's response id (``record_id``: Qualtrics ``ResponseId``) on two
                              rows: rows of two exports merged, or one row pasted twice
``unknown_status``            a survey tool's response status (Qualtrics ``Status``) that is neither a
                              response nor a preview, test or spam, or a completion flag of neither kind
``missing_for_weighting``     a respondent without an answer the weighting needs (residents: sex and
                              age, the calibration margins): the chain could not weight them. Complete
                              the answer, or set the response aside (contact status ``ecartee``)
``set_aside_no_response``     a contact status that sets a response aside (``ecartee``) on a unit
                              whose export holds no response
``completed_only``            a tool's responses export of 100 rows or more without one unfinished
                              questionnaire: filtered to completed responses (real exports; parameter
                              ``unfinished_in_exports: false`` for a survey that saves no partial answers)
``header_rows``               a response where the tool writes a header row (Qualtrics: three; one
                              deleted in a spreadsheet): reported, and the row read as a response
``repeated_header``           a header row again below the header (two exports joined, or a header
                              row copied): reported, and the row not read as a response
============================  ====================================================================

Output: one typed table per survey with **every sampled unit** (sample columns, ``status``,
``reason``, ``source_row`` and the answer columns: codes as nullable integers, texts as strings),
and a ledger: sampled = respondents + non-respondents + excluded, with reasons. A unit whose contact
status says out of scope is excluded even when it answered (it is not in the population studied); such
units are counted (``SurveyResult.answered_out_of_scope``) and the fieldwork and check reports say how many.
A response whose contact status says ``ecartee`` (set aside by the analyst as unusable, e.g. without the
sex or age the calibration needs; never guessed) is a non-response: it is counted
(``SurveyResult.set_aside``), said by the same reports, and the non-response adjustment carries its weight.
A sampled unit whose every response the survey tool flagged as a preview, a test or spam (Qualtrics ``Status``, read
whatever its case or a number's « .0 »; rows set aside unread) is a non-respondent too, with its own reason
``ecartee_outil`` (:data:`TOOL_FLAGGED`), neither ``sans_reponse`` nor a ``missing_response`` problem: counted
(``SurveyResult.tool_flagged``, with every flagged row) and said by the fieldwork report. A unit with a response of the tool's
normal type as well is a respondent with that response; an out-of-scope contact status still excludes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Collection, Mapping

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.errors import InputError, ParameterError
from ..pipeline.io import write_csv, write_parquet
from . import frames, open_answers
from .unit_table import arrow_text, at_all, equals_one, given, joined, positions, texts, with_zeros
from .codebook import Codebook
from .export_checks import disposition_conflicts, set_aside_no_response, validate_dispositions, validate_export
from .export_readers import (FILE_RULES, Problem, RawTable, in_reading_order, problems_table,
                             raise_if_problems, read_csv_export, read_export, read_sav_export, read_xlsx_export,
                             unread_files_hint, with_records)
from .exports import DISPOSITION_COLUMN, dispositions_path, export_path
from . import survey_tools, tool_messages, tool_statuses
from .rates import AAPOR_GROUPS, aapor_rates, item_nonresponse, response_rates  # re-exported
from .survey_tools import DEFAULT_FILE as TOOLS_FILE, NATIVE, ReadNote

__all__ = ["Problem", "problems_table", "raise_if_problems", "RawTable", "read_export", "read_csv_export",
           "read_xlsx_export", "read_sav_export", "validate_export", "validate_dispositions", "answered_core",
           "SurveyResult", "IngestResult", "CheckResult", "assemble", "ingest", "check", "aapor_rates",
           "AAPOR_GROUPS", "response_rates", "item_nonresponse", "ingest_to_files", "write_outputs"]


# ============================================================================ status and ledger

#: The reason of a sampled unit whose every response the survey tool flagged as a preview, a test or spam (Qualtrics
#: ``Status``): the rows were set aside unread, so the unit is a non-respondent, but it did not stay silent.
TOOL_FLAGGED = "ecartee_outil"


def answered_core(table: pd.DataFrame, codebook: Codebook, columns: Mapping[str, pd.Series] | None = None):
    """Number of common-core opinion items answered (« Ne sait pas » counts; all-0 multi-select does not), a Series;
    ``columns``: ``dict(table.items())``, if at hand (the ingest's table reads them once, in every replication)."""
    held = dict(table.items()) if columns is None else columns
    n = np.zeros(len(table), dtype=np.int64)
    for v in codebook.common_core("opinion"):
        cols = [c for c in v.columns if c in held]
        if not cols:
            continue
        if v.type == "multi":
            n += sum(with_zeros(held[c]) for c in cols) > 0
        else:
            n += np.logical_or.reduce([given(held[c]) for c in cols])
    return pd.Series(n, index=table.index)


@dataclass(frozen=True)
class SurveyResult:
    """One survey's ingest: the table of every sampled unit and the ledger."""

    survey: str
    responses: pd.DataFrame
    ledger: pd.DataFrame
    emails_removed: int = 0
    controls_removed: int = 0
    codes_padded: dict[str, int] = field(default_factory=dict)   # column → codes whose leading zero was restored
    answered_out_of_scope: int = 0       # units with answers whose contact status says out of scope: not used
    out_of_scope_rows: tuple[int, ...] = ()     # their rows in the contact-status export
    set_aside: int = 0                   # responses the analyst set aside as unusable (reason ``ecartee``)
    set_aside_rows: tuple[int, ...] = ()        # their rows in the contact-status export
    status_file: str = ""                # that export's file name, when the rows above come from one
    phones_removed: int = 0              # open answers whose phone numbers were replaced by a placeholder
    ips_removed: int = 0                 # open answers whose IP addresses (v4, v6) were replaced by a placeholder
    macs_removed: int = 0                # open answers whose MAC addresses were replaced by a placeholder
    status_read: bool = True             # False: the native layout's optional contact-status file was absent
    refused_answered: int = 0            # units that answered although their contact status says refused: answers kept
    refused_answered_rows: tuple[int, ...] = ()     # their rows in the contact-status export
    other_commune: int = 0               # residents declaring another commune than the one their invitation went to
    other_commune_rows: tuple[int, ...] = ()        # their rows in the responses export
    tool_flagged: int = 0                # units whose only responses the tool flagged (preview, test, spam): not used
    tool_flagged_rows: tuple[int, ...] = ()         # their rows in the responses export, every one


@dataclass(frozen=True)
class IngestResult:
    """Both surveys' ingest (see :func:`ingest`); ``notes``: what was read from each survey tool's file."""

    surveys: dict[str, SurveyResult] = field(default_factory=dict)
    notes: list[ReadNote] = field(default_factory=list)

    @property
    def ledger(self) -> pd.DataFrame:
        return pd.concat([r.ledger for r in self.surveys.values()], ignore_index=True)


#: Every reason :func:`_status` can give, in the order of its codes (small integers until the end: masked writes and
#: counts are cheap, and the texts are built once per table).
_REASONS = ("sans_reponse", "non_distribuee", "refus", TOOL_FLAGGED, "complet", "partiel", "abandon", "ecartee",
            "hors_champ")


def _status(survey: str, ids: np.ndarray, answers: pd.DataFrame | None, disp: pd.DataFrame,
            codebook: Codebook, min_core_answered: int, answer_rows: np.ndarray, flagged: np.ndarray | None = None,
            ids_arrow=None, columns=None, disp_rows: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reason of every sampled unit (identifiers ``ids``, as text) as codes into :data:`_REASONS`, the status of each
    of those reasons (text; empty for a reason no unit has), and whether the unit's contact status says refused;
    ``answer_rows``: each unit's row in ``answers`` (-1: none); ``flagged``: whether the tool flagged a response of the
    unit (a preview, test or spam, set aside unread); ``ids_arrow``: ``ids`` as :func:`~portrait.study.unit_table.arrow_text` gives them, if at
    hand; ``columns``: ``dict(answers.items())``, if at hand; ``disp_rows``: each unit's row in ``disp`` (-1: none), if
    known (its identifiers then unique).

    Raises
    ------
    CodebookError
        A reason given to a unit that the codebook's response statuses do not list.
    """
    cb = codebook
    id_col = cb.id_column(survey)
    code = {r: np.int8(i) for i, r in enumerate(_REASONS)}
    reason = np.zeros(len(ids), dtype=np.int8)      # sans_reponse
    by_reason = {spec["reason"]: c for c, spec in cb.dispositions.items()}
    dcode = np.full(len(ids), np.nan)
    if len(disp):
        if disp_rows is None:
            d = disp if disp[id_col].is_unique else disp.drop_duplicates(id_col, keep="last")
            pos = positions(d[id_col], ids_arrow if ids_arrow is not None else ids)
        else:
            d, pos = disp, disp_rows
        dcode[pos >= 0] = d[DISPOSITION_COLUMN].to_numpy(dtype=float, na_value=np.nan)[pos[pos >= 0]]
    for r in ("non_distribuee", "refus"):
        if r in by_reason:
            reason[dcode == by_reason[r]] = code[r]
    if flagged is not None:     # a response came back, as an answer would (an answer of the unit still wins)
        reason[flagged] = code[TOOL_FLAGGED]
    if answers is not None and len(answers):
        pos = answer_rows
        has = pos >= 0
        n_core = answered_core(answers, cb, columns).to_numpy()[pos[has]]
        complete = equals_one(answers["complet"])[pos[has]]
        reason[np.flatnonzero(has)] = np.where(complete, code["complet"],
                                               np.where(n_core >= min_core_answered, code["partiel"], code["abandon"]))
        if "ecartee" in by_reason:
            reason[has & (dcode == by_reason["ecartee"])] = code["ecartee"]
    if "hors_champ" in by_reason:
        reason[dcode == by_reason["hors_champ"]] = code["hors_champ"]
    given = np.bincount(reason, minlength=len(_REASONS)) > 0
    status_of = np.array([cb.reason_status(r) if g else "" for r, g in zip(_REASONS, given)], dtype=object)
    return reason, status_of, dcode == by_reason.get("refus", np.nan)


def _reason_label(label: str, core_items: int, min_core_answered: int) -> str:
    """A ledger reason's label with the break-off rule filled in: ``{min_core_answered}`` (the parameter) and
    ``{core_items}`` (the codebook's common-core opinion items). A review: the labels « interrompu après le tronc
    commun » and « abandonné avant la fin du tronc commun » contradicted the rule (8 items of 17 make a response), and
    a fixed number in config/codebook.yaml would contradict it again once the parameter changes."""
    return label.replace("{min_core_answered}", str(min_core_answered)).replace("{core_items}", str(core_items))


def _ledger(survey: str, reason: np.ndarray, codebook: Codebook, min_core_answered: int) -> pd.DataFrame:
    """The ledger of one survey from each unit's reason (codes into :data:`_REASONS`)."""
    counts = dict(zip(_REASONS, np.bincount(reason, minlength=len(_REASONS)).tolist()))
    statuses = tuple((st, spec["label"], tuple(spec["reasons"].items())) for st, spec in codebook.status.items())
    n = [int(counts.get(r, 0)) for _, _, reasons in statuses for r, _ in reasons]
    if sum(n) != len(reason):  # pragma: no cover - every unit gets exactly one reason
        raise AssertionError("ledger does not balance")
    # the texts of the ledger built once (every replication builds two ledgers: their texts took 0.3 ms each)
    return _ledger_texts(survey, statuses, len(codebook.common_core("opinion")), min_core_answered).assign(n=n)


@lru_cache(maxsize=16)
def _ledger_texts(survey: str, statuses: tuple, core_items: int, min_core_answered: int) -> pd.DataFrame:
    """A ledger's columns but the counts, one row per ``(status, label, ((reason, label), …))`` of ``statuses``;
    shared by the calls with the same arguments (a ledger is a copy on write of it)."""
    led: dict[str, list] = {c: [] for c in ("survey", "status", "status_label", "reason", "reason_label")}
    for st, label, reasons in statuses:
        for r, text in reasons:
            for c, x in zip(led, (survey, st, label, r, _reason_label(text, core_items, min_core_answered))):
                led[c].append(x)
    return pd.DataFrame(led)


def assemble(survey: str, sample: pd.DataFrame, answers: pd.DataFrame, disp: pd.DataFrame, codebook: Codebook,
             min_core_answered: int = 8, flagged: Mapping[str, tuple[int, ...]] | None = None,
             answer_rows: np.ndarray | None = None, disp_rows: np.ndarray | None = None,
             columns: Collection[str] | None = None) -> SurveyResult:
    """One survey's table of every sampled unit (status, reason, typed answers) and its ledger.

    ``answers`` is the validated export (identifier, ``source_row`` and the codebook columns, typed),
    ``disp`` the validated contact statuses (identifier and ``statut_contact``), ``flagged`` the units with a response
    the tool flagged as a preview, test or spam → their rows of the responses export (unit without another response:
    reason ``ecartee_outil``; :func:`portrait.study.tool_statuses.flagged_units`). This is the last
    step of :func:`ingest`, separate so that the validation study
    (:mod:`portrait.study.validation`) can build the same table from simulated answers held in memory.
    ``answer_rows``, ``disp_rows``: each sampled unit's row in ``answers``, in ``disp`` (-1: none), where the caller
    knows them (the validation's simulator made both, with unique identifiers); looked up by identifier when None (a
    real export's identifiers must then be unique and given, a contact status given twice keeps its last).
    ``columns``: the export's columns the table keeps (all when None); every column still counts in each unit's
    status (the common-core items answered).
    """
    id_col = codebook.id_column(survey)
    id_text = sample[id_col].astype(str)        # once: Python objects only for the few units a count names

    def ids(marked: np.ndarray) -> np.ndarray:
        """The identifiers (text) of the ``marked`` units."""
        return id_text[marked].to_numpy(dtype=object)

    ids_arrow = arrow_text(id_text)
    pos = positions(answers[id_col], ids_arrow) if answer_rows is None else answer_rows
    flagged = flagged or {}
    held = dict(answers.items())        # a fifth faster than a look-up of each column
    codes, status_of, refusal = _status(survey, ids_arrow, answers, disp, codebook, min_core_answered, answer_rows=pos,
                                        flagged=np.isin(id_text.to_numpy(dtype=object), list(flagged)) if flagged
                                        else None, ids_arrow=ids_arrow, columns=held, disp_rows=disp_rows)
    reason = {r: codes == i for i, r in enumerate(_REASONS)}.get     # each reason's units
    ans = {c: held[c] for c in ["source_row"] + [c for c in codebook.columns(survey) if c != id_col]
           if columns is None or c in columns}
    emails, phones, controls, ips, macs = open_answers.clean(ans, codebook, survey)
    out, table, rows = joined(sample, id_col, id_text.astype("string").array,
                               {"status": texts(codes, status_of), "reason": texts(codes, _REASONS)}, at_all(ans, pos))

    def status_rows(marked: np.ndarray) -> tuple[int, ...]:
        """The rows of the contact-status export that gave the ``marked`` units their reason."""
        if not marked.any() or "source_row" not in disp.columns:
            return ()
        return tuple(sorted(int(r) for r in disp.loc[disp[id_col].astype(str).isin(ids(marked)), "source_row"]))

    out_of_scope = (pos >= 0) & reason("hors_champ")
    set_aside, moved = reason("ecartee"), frames.declared_elsewhere(table, rows)
    by_tool = sorted(r for u in ids(reason(TOOL_FLAGGED)) for r in flagged[u])     # every flagged row of each
    # a respondent (complete or partial) whose status says refused; an abandoned questionnaire is no answer (a review)
    refused = refusal & (status_of == "respondent")[codes]
    return SurveyResult(survey, out, _ledger(survey, codes, codebook, min_core_answered),
                        emails, controls,
                        answered_out_of_scope=int(out_of_scope.sum()), out_of_scope_rows=status_rows(out_of_scope),
                        set_aside=int(set_aside.sum()), set_aside_rows=status_rows(set_aside), phones_removed=phones,
                        ips_removed=ips, macs_removed=macs,
                        refused_answered=int(refused.sum()), refused_answered_rows=status_rows(refused),
                        other_commune=int(moved.sum()), other_commune_rows=tuple(int(r) for r in rows["source_row"][moved]),
                        tool_flagged=int(reason(TOOL_FLAGGED).sum()), tool_flagged_rows=tuple(by_tool))


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found: every problem, what was read from each tool file, and the ingest when clean."""

    problems: list[Problem]
    notes: list[ReadNote]
    result: IngestResult | None
    ignored: tuple[str, ...] = ()      # files of the folder that the check does not read (another batch, a copy…)


def ingest(folder: str | Path, samples: Mapping[str, pd.DataFrame], codebook: Codebook, *,
           fmt: str = "csv", encoding: str = "cp1252", min_core_answered: int = 8, tool: str = NATIVE,
           tools_file: str | Path = TOOLS_FILE, key: bytes | None = None, unfinished_expected: bool = False
           ) -> IngestResult:
    """Read, validate and type both surveys' exports from ``folder``; account for every sampled unit.

    Parameters
    ----------
    folder : survey folder (file names in :mod:`portrait.study.exports`).
    samples : survey → sample table (``slot_id`` for residents, ``person_id`` for visitors, plus
        any design columns, which are kept).
    fmt : format of the answers to read (``csv``, ``xlsx`` or ``sav``).
    encoding : CSV encoding, ``cp1252`` or ``utf-8`` (a file with a UTF-8 byte-order mark is always read as UTF-8).
    min_core_answered : a questionnaire not validated to the end (``complet = 0``) counts as a response if at
        least this many common-core opinion items are answered, else as a break-off (non-respondent).
    tool : layout of the exports: ``native`` (the codebook's) or a survey tool of ``tools_file`` (``limesurvey``,
        ``qualtrics``; :mod:`portrait.study.survey_tools`), whose CSV dialect then replaces ``encoding``.
    key : the study's key, to recompute the invitation tokens of a tool's export (unless ``tool`` is native).
    unfinished_expected : a tool's responses export of 100 rows or more without one unfinished questionnaire is a
        ``completed_only`` problem (for real exports: :func:`portrait.study.tool_statuses.completed_only`).

    Raises
    ------
    SurveyValidationError
        Listing every problem of every file (nothing is written by this function in any case).
    """
    found = check(folder, samples, codebook, fmt=fmt, encoding=encoding, min_core_answered=min_core_answered,
                  tool=tool, tools_file=tools_file, key=key, unfinished_expected=unfinished_expected)
    raise_if_problems(found.problems)
    assert found.result is not None
    return found.result


def check(folder: str | Path, samples: Mapping[str, pd.DataFrame], codebook: Codebook, *,
          fmt: str = "csv", encoding: str = "cp1252", min_core_answered: int = 8, tool: str = NATIVE,
          tools_file: str | Path = TOOLS_FILE, key: bytes | None = None, unfinished_expected: bool = False
          ) -> CheckResult:
    """:func:`ingest` without raising: every problem found, the notes of each tool file, and the result
    when there is no problem (``make check-survey`` reports them; parameter errors still raise)."""
    if not isinstance(min_core_answered, int) or min_core_answered < 1:
        raise ParameterError(f"parameter 'min_core_answered' must be a positive integer, got {min_core_answered!r}")
    n_core = len(codebook.common_core("opinion"))
    if min_core_answered > n_core:
        raise ParameterError(f"parameter 'min_core_answered' ({min_core_answered}) exceeds the "
                             f"{n_core} common-core opinion items")
    lay = survey_tools.layout(tool, codebook, tools_file)
    if lay is not None:
        if fmt not in lay.formats:
            raise ParameterError(f"{lay.label} exports are read as {' or '.join(lay.formats)}, not {fmt!r} "
                                 "(parameter ingest_format)")
        if key is None:
            raise ParameterError(f"reading {lay.label} exports needs the study's key (tokens)")
    problems: list[Problem] = []
    notes: list[ReadNote] = []
    parsed = {}
    padded: dict[str, dict[str, int]] = {}
    folder_path = paths.resolve(folder)
    for survey in sorted(samples):
        sample = samples[survey]
        id_col = codebook.id_column(survey)
        if id_col not in sample.columns:
            raise InputError(f"the {survey} sample has no column {id_col!r}", column=id_col)
        ids = sample[id_col].astype(str)
        if ids.duplicated().any():
            raise InputError(f"the {survey} sample holds an identifier twice", column=id_col,
                             value=ids[ids.duplicated()].iloc[0])
        padded[survey] = {}
        answers, disp, flagged = _read_survey(folder_path, survey, sample, codebook, fmt, encoding, lay, key,
                                              problems, notes, padded[survey])
        parsed[survey] = (sample, answers, disp, flagged)
    expected = [p.name for survey in samples for p in
                (export_path(folder_path, survey, fmt), status_file(folder_path, survey, lay))]
    unread_files_hint(folder_path, expected, problems)
    if unfinished_expected:
        tool_statuses.completed_only(notes, problems)
    ignored = tuple(sorted(p.name for p in folder_path.iterdir() if p.is_file() and p.name not in expected
                           and not p.name.startswith("."))) if folder_path.is_dir() else ()
    if problems:
        _missing_among_parsed(parsed, codebook, min_core_answered, folder_path, fmt, lay, notes, problems)
        return CheckResult(in_reading_order(problems), notes, None, ignored)

    files = {survey: status_file(folder_path, survey, lay) for survey in parsed}
    results = {survey: replace(assemble(survey, sample, answers, disp, codebook, min_core_answered, flagged),
                               codes_padded=padded[survey], status_file=files[survey].name,
                               status_read=files[survey].exists())
               for survey, (sample, answers, disp, flagged) in parsed.items()}
    for survey, r in sorted(results.items()):
        file, start = paths.relative(export_path(folder_path, survey, fmt)), len(problems)
        _missing_for_weighting(r.responses, survey, file, lay, set_aside_hint(survey, codebook, lay), problems)
        with_records(problems, start, file, next((n.records for n in notes if n.file == file), {}))
        if not (r.responses["status"] == "respondent").any():
            rows = int(r.responses["source_row"].notna().sum())
            problems.append(Problem(file, None, None, None, "no_respondent",
                                    f"no respondent: {rows} row(s) read, none a complete or sufficiently answered "
                                    f"questionnaire (at least {min_core_answered} common-core items); nothing can be "
                                    "weighted — is this the right export (e.g. a test or partial download)?"))
    return CheckResult(in_reading_order(problems), notes, None if problems else IngestResult(results, notes), ignored)


#: Answers each respondent of a survey must give for the weighting to run: the residents are calibrated on
#: INSEE sex × age margins (:func:`portrait.study.recipes.weight_residents`).
NEEDED_BY_WEIGHTING = {"residents": ("sexe", "age")}


def set_aside_marks(codebook: Codebook, lay: survey_tools.ToolLayout | None) -> list[tuple[str, str]]:
    """The (column, value) of the contact-status export that set a response aside (reason ``ecartee``) in this
    layout: ``statut_contact`` = 4 natively, the tool's rules otherwise (LimeSurvey ``attribute_1`` = ``ecartee``)."""
    codes = codebook.disposition_codes("ecartee")
    if lay is None:
        return [(DISPOSITION_COLUMN, str(c)) for c in codes]
    return [(column, equals) for column, equals, c in lay.dispositions.rules if c in codes]


def set_aside_hint(survey: str, codebook: Codebook, lay: survey_tools.ToolLayout | None) -> str:
    """Where and how a response is set aside (contact status ``ecartee``) in this layout, in a few English words."""
    marks = " or ".join(f"{column} = {value}" for column, value in set_aside_marks(codebook, lay))
    file = status_file(Path("."), survey, lay).name
    if lay is None:
        return f"a row with {codebook.id_column(survey)} and {marks} in {file}"
    return (f"in {lay.label}, the participant whose {lay.dispositions.id!r} is this row's {lay.id!r} gets {marks}, "
            f"then export {file} again")


def _missing_for_weighting(responses: pd.DataFrame, survey: str, file: str, lay, hint: str,
                           problems: list[Problem]) -> None:
    """Respondents without an answer the weighting needs (:data:`NEEDED_BY_WEIGHTING`), one problem per cell;
    ``hint``: how to set a response aside (:func:`set_aside_hint`)."""
    resp = responses.loc[responses["status"] == "respondent"]
    for var in NEEDED_BY_WEIGHTING.get(survey, ()):
        column = lay.questions.get(var, var) if lay is not None else var
        for row in resp.loc[resp[var].isna(), "source_row"]:
            problems.append(Problem(file, int(row), column, None, "missing_for_weighting",
                                    f"a respondent without {var}: the {survey} are calibrated on INSEE sex × age, so "
                                    "every respondent needs both; complete the answer, or set the response aside "
                                    f"as unusable ({hint}); make the question mandatory in the survey tool for the "
                                    "next round"))


def _missing_among_parsed(parsed: Mapping[str, tuple], codebook: Codebook, min_core_answered: int, folder: Path,
                          fmt: str, lay: survey_tools.ToolLayout | None, notes: list[ReadNote],
                          problems: list[Problem]) -> None:
    """:func:`_missing_for_weighting` when other problems stop the ingest, on the answers that were read: a trial's
    check named a respondent without sex only once an out-of-range answer in another file was corrected, so the
    list the board worked from was not whole. A survey is left out when who responded is in doubt: a problem with
    a whole file or column of its answers or contact statuses (:data:`FILE_RULES`), an identifier missing or not in
    the sample, or one given twice (a response copied too). A cell already reported (a value not among its codes is
    read as missing) is not reported again."""
    in_doubt = {*FILE_RULES, "missing_id", "not_in_sample"}
    for survey, (sample, answers, disp, flagged) in sorted(parsed.items()):
        file = paths.relative(export_path(folder, survey, fmt))
        mine = [p for p in problems if p.file == file]
        statuses = paths.relative(status_file(folder, survey, lay))
        id_col = codebook.id_column(survey)
        if (answers is None or not NEEDED_BY_WEIGHTING.get(survey) or id_col not in answers
                or not answers[id_col].is_unique or not disp[id_col].is_unique
                or any(p.rule in in_doubt for p in problems if p.file in (file, statuses))):
            continue
        reported = {(p.row, p.column) for p in mine}
        r = assemble(survey, sample, answers, disp, codebook, min_core_answered, flagged)
        found: list[Problem] = []
        _missing_for_weighting(r.responses, survey, file, lay, set_aside_hint(survey, codebook, lay), found)
        start = len(problems)
        problems.extend(p for p in found if (p.row, p.column) not in reported)
        with_records(problems, start, file, next((n.records for n in notes if n.file == file), {}))


def status_file(folder: Path, survey: str, lay: survey_tools.ToolLayout | None) -> Path:
    """The contact-status export of ``survey`` in this layout."""
    return dispositions_path(folder, survey) if lay is None else folder / lay.dispositions.file.format(survey=survey)


def _read_survey(folder: Path, survey: str, sample: pd.DataFrame, codebook: Codebook, fmt: str, encoding: str,
                 lay: survey_tools.ToolLayout | None, key: bytes | None, problems: list[Problem],
                 notes: list[ReadNote], padded: dict[str, int]
                 ) -> tuple[pd.DataFrame | None, pd.DataFrame, dict[str, tuple[int, ...]]]:
    """One survey's answers and contact statuses, read in the native or a tool's layout and checked (codes whose
    leading zero was restored are counted in ``padded``), and the units whose response the tool flagged as a preview,
    test or spam (:func:`portrait.study.tool_statuses.flagged_units`)."""
    id_col = codebook.id_column(survey)
    ids = sample[id_col].astype(str)
    disp = pd.DataFrame(columns=[id_col, DISPOSITION_COLUMN, "source_row"])
    if lay is None:
        raw = read_export(export_path(folder, survey, fmt), encoding=encoding, problems=problems)
        answers = validate_export(raw, survey, codebook, ids, problems, padded) if raw is not None else None
        dpath = dispositions_path(folder, survey)
        if dpath.exists():
            draw = read_export(dpath, encoding=encoding, problems=problems)
            if draw is not None:
                disp = validate_dispositions(draw, survey, codebook, ids, problems)
        disposition_conflicts(answers, disp, codebook, id_col, dpath, id_col, problems)
        set_aside_no_response(answers, disp, codebook, id_col, dpath, id_col, problems)
        return answers, disp, {}
    back = survey_tools.token_map(ids, survey, key)
    raw = read_export(export_path(folder, survey, fmt), encoding=lay.encoding, problems=problems,
                      delimiter=lay.delimiter, header_rows=lay.header_rows, tool=lay.label,
                      is_response=lay.looks_like_response)
    answers, flagged = None, {}
    if raw is not None:
        native, note = survey_tools.from_tool(raw, survey, codebook, lay, back, problems)
        flagged = tool_statuses.flagged_units(raw, lay, back)
        notes.append(note)
        if not survey_tools.no_token_matches(problems, raw.file):      # else every row would be « not_in_sample »
            start = len(problems)
            answers = validate_export(native, survey, codebook, ids, problems, padded)
            tool_messages.export_problems(problems, start, raw.file, lay, codebook, survey, native.records)
    dpath = status_file(folder, survey, lay)
    if not dpath.exists():       # without it, bounces, opt-outs and out-of-scope units would pass for silence
        problems.append(Problem(paths.relative(dpath), None, None, None, "missing_file",
                                f"the {lay.label} contact-status export is missing: export it from the tool and "
                                f"save it under this name (see docs/real_data.md, « A real survey round »)"))
    else:
        draw = read_export(dpath, encoding=lay.encoding, problems=problems, delimiter=lay.delimiter, tool=lay.label)
        if draw is not None:
            native, note, finished = tool_statuses.dispositions_from_tool(draw, survey, codebook, lay, back, problems)
            notes.append(note)
            start = len(problems)
            disp = validate_dispositions(native, survey, codebook, ids, problems)
            tool_messages.tool_problems(problems, start, draw.file, {id_col: lay.dispositions.id}, id_col)
            tool_statuses.missing_responses(finished, answers, id_col, draw.file, lay, problems, flagged)
    disposition_conflicts(answers, disp, codebook, id_col, dpath, lay.dispositions.id, problems)
    set_aside_no_response(answers, disp, codebook, id_col, dpath, lay.dispositions.id, problems, flagged)
    return answers, disp, flagged


def ingest_to_files(folder: str | Path, samples: Mapping[str, pd.DataFrame], codebook: Codebook, *,
                    out_responses: Mapping[str, str | Path], out_ledger: str | Path, fmt: str = "csv",
                    encoding: str = "cp1252", min_core_answered: int = 8, tool: str = NATIVE,
                    tools_file: str | Path = TOOLS_FILE, key: bytes | None = None,
                    unfinished_expected: bool = False) -> IngestResult:
    """:func:`ingest`, then :func:`write_outputs`: the outputs are written only if no problem was found."""
    result = ingest(folder, samples, codebook, fmt=fmt, encoding=encoding, min_core_answered=min_core_answered,
                    tool=tool, tools_file=tools_file, key=key, unfinished_expected=unfinished_expected)
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
    written.append(write_csv(result.ledger, paths.resolve(out_ledger), french=True))
    return written
