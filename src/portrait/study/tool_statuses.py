"""A survey tool's contact-status export (LimeSurvey participants, Qualtrics distribution history) read as
the native contact statuses, and the check that every participant the tool says has finished has a response.

A board's trial: a responses export filtered by date left hundreds of finished participants without their
answers, and they counted as silent invitees — in the response rates and the non-response correction. The
participants export says who finished (LimeSurvey ``completed``, Qualtrics ``Survey Finished``): each of them
without a response row is a ``missing_response`` problem.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .codebook import Codebook
from .export_checks import as_written
from .export_readers import Problem, RawTable, repeated
from .exports import DISPOSITION_COLUMN
from .survey_tools import ReadNote, ToolLayout, _ids_of_tokens, _text, no_token_matches

__all__ = ["UNFINISHED_EXPECTED", "completed_only", "completed_only_notes", "dispositions_from_tool",
           "flagged_units", "missing_responses"]

#: Responses from which an export holding no unfinished questionnaire is suspect: in a real round some respondents
#: always stop part-way (trial F: 55 partial answers and 32 break-offs vanished with « Completed responses only »).
UNFINISHED_EXPECTED = 100


def dispositions_from_tool(raw: RawTable, survey: str, codebook: Codebook, lay: ToolLayout,
                           tokens_to_ids: Mapping[str, str], problems: list[Problem]
                           ) -> tuple[RawTable, ReadNote, dict[str, int]]:
    """A tool's participants / distribution export as the native contact-status table (id ; statut_contact).

    Only the token, the ``read`` columns and the layout's ``answered`` column are looked at; personal
    columns are dropped unread. A participant matched by no rule was invited normally and gets no row; a
    participant whose token is no sampled unit's (a test participant) is a ``not_in_sample`` problem, an empty
    token a ``missing_id``, whatever their status.
    Also returns the participants the tool records as having finished the survey (unit id → row), for
    :func:`missing_responses`.
    """
    d = lay.dispositions
    note = ReadNote(raw.file, lay.name, rows=len(raw.cells))
    # LimeSurvey writes attribute columns as « attribute_1 <description> »: the description is not the name
    raw = dataclasses.replace(raw, header=[re.sub(r"\s*<[^<>]*>\s*$", "", h) for h in raw.header])
    pos = {h: j for j, h in reversed(list(enumerate(raw.header)))}
    note.personal = [h for h in raw.header if h in d.personal or h in lay.personal]
    note.technical = [h for h in raw.header if h in d.technical]
    id_col = codebook.id_column(survey)
    for need in (d.id, *d.read):
        if need not in pos and need not in d.optional:
            problems.append(Problem(raw.file, 1, need, None, "missing_column",
                                    f"the {lay.label} contact-status export needs the columns {[d.id, *d.read]}: "
                                    "without one, the statuses it records would silently count as none (create "
                                    "the participant attributes as docs/real_data.md says, even "
                                    "left blank)"))
    known = set(d.read) | set(d.personal) | set(d.technical) | {d.id} | set(lay.personal) | \
        ({d.answered[0]} if d.answered else set())
    for h in raw.header:
        if h not in known:
            problems.append(Problem(raw.file, 1, h or "(empty)", None, "extra_column",
                                    f"column is not part of the {lay.label} contact-status layout "
                                    "(config/survey_tools.yaml)"))
    if d.id not in pos:
        return RawTable(raw.file, raw.fmt, [id_col, DISPOSITION_COLUMN], pd.DataFrame(columns=[0, 1]),
                        np.zeros(0, dtype=int)), note, {}
    read = {c: _text(raw, pos[c]) for c in d.read if c in pos}
    for c, s in list(read.items()):
        allowed = d.values.get(c)
        if allowed is None:
            continue
        # a Qualtrics trial: « survey finished » (another case) was an unknown status on 5,004 rows
        read[c] = s = as_written(s, allowed)
        for i in np.flatnonzero((~s.isin(allowed)).to_numpy()):
            problems.append(Problem(raw.file, int(raw.rows[i]), c, s.iloc[i], "unknown_disposition",
                                    f"not a value of {c!r} in the {lay.label} layout "
                                    f"({', '.join(repr(x) for x in allowed)})"))
    code = pd.Series("", index=range(len(raw.cells)), dtype=object)
    for column, equals, c in reversed(d.rules):          # first matching rule wins
        if column in read:
            code[(read[column] == equals).to_numpy()] = str(c)
    tokens = _text(raw, pos[d.id])
    for i, first in repeated(tokens, raw.rows):    # a participant listed twice: which row's status holds is a guess
        problems.append(Problem(raw.file, int(raw.rows[i]), d.id, tokens.iloc[i], "duplicate_id",
                                f"the token already appears at row {first} of the {lay.label} contact-status export"))
    ids = _ids_of_tokens(tokens, tokens_to_ids, raw.rows, raw.file, d.id, problems)
    if no_token_matches(problems, raw.file):
        return RawTable(raw.file, raw.fmt, [id_col, DISPOSITION_COLUMN], pd.DataFrame(columns=[0, 1]),
                        np.zeros(0, dtype=int)), note, {}
    sampled = ids.isin(set(tokens_to_ids.values())).to_numpy()
    for i in np.flatnonzero(~sampled):      # with or without a status: never dropped unsaid
        if tokens.iloc[i] == "":
            problems.append(Problem(raw.file, int(raw.rows[i]), d.id, "", "missing_id", "the token is empty"))
        else:
            problems.append(Problem(raw.file, int(raw.rows[i]), d.id, tokens.iloc[i], "not_in_sample",
                                    f"no sampled unit of the {survey} survey has this token: a test participant, or "
                                    f"one added by hand? Delete it from the survey's participants in {lay.label} and "
                                    "export again (a participant outside the sample cannot be weighted)"))
    absent = len(set(tokens_to_ids.values()) - set(ids))
    if absent:      # a unit without its row would count as invited normally, and silent
        problems.append(Problem(raw.file, None, d.id, None, "missing_participant",
                                f"{absent} of the {len(tokens_to_ids)} sampled units {'has' if absent == 1 else 'have'} no row: export every "
                                f"participant of the survey from {lay.label}, with no filter (a unit without its "
                                "row would count as invited normally and silent, its bounce or refusal lost)"))
    has = (code != "").to_numpy() & sampled
    cells = pd.DataFrame({0: ids[has].to_numpy(dtype=object), 1: code[has].to_numpy(dtype=object)}, dtype=object)
    finished = {}
    if d.answered is not None and d.answered[0] in pos:
        column, how, values = d.answered
        text = read[column] if column in read else _text(raw, pos[column]).str.strip()     # statuses made canonical
        said = text.isin(values).to_numpy()
        for i in np.flatnonzero((said if how == "when" else ~said) & sampled):
            finished.setdefault(ids.iloc[i], int(raw.rows[i]))
    return RawTable(raw.file, raw.fmt, [id_col, DISPOSITION_COLUMN], cells, raw.rows[has]), note, finished


def flagged_units(raw: RawTable, lay: ToolLayout, tokens_to_ids: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
    """The sampled units with a response the tool flagged (Qualtrics ``Status``: a preview, a test, spam; the
    layout's ``set_aside``), unit id → every such row of the responses export, in order (the first alone was listed
    before: a unit whose three responses were tests showed one row of three).

    :func:`~portrait.study.survey_tools.from_tool` sets these rows aside unread; a unit with no other response is
    then no respondent, but neither silent nor a filtered export's ``missing_response`` (reason ``ecartee_outil``).
    The token is matched stripped, and in capitals if it is not as written (a spreadsheet), as for a response."""
    pos = {h: j for j, h in reversed(list(enumerate(raw.header)))}
    if lay.keep_rows is None or lay.keep_rows[0] not in pos or lay.id not in pos:
        return {}
    status = as_written(_text(raw, pos[lay.keep_rows[0]]).str.strip(), lay.keep_rows[1] + lay.set_aside)
    tokens = _text(raw, pos[lay.id]).str.strip()
    ids = tokens.map(tokens_to_ids).fillna(tokens.str.upper().map(tokens_to_ids))
    out: dict[str, tuple[int, ...]] = {}
    for i in np.flatnonzero((status.isin(lay.set_aside) & ids.notna()).to_numpy()):
        out[str(ids.iloc[i])] = out.get(str(ids.iloc[i]), ()) + (int(raw.rows[i]),)
    return out


def missing_responses(finished: Mapping[str, int], answers: pd.DataFrame | None, id_col: str, file: str,
                      lay: ToolLayout, problems: list[Problem],
                      flagged: Mapping[str, tuple[int, ...]] | None = None) -> None:
    """A participant the contact-status export records as having finished, with no row in the responses export:
    the responses were exported with a filter (a date or identifier range), and the unit would count as silent.
    A unit whose response the tool flagged (``flagged``, :func:`flagged_units`) has its row: it is not one."""
    if not finished or answers is None or id_col not in answers.columns:
        return
    have = set(answers[id_col].dropna().astype(str)) | set(flagged or {})
    for unit, row in sorted(finished.items(), key=lambda x: x[1]):
        if unit not in have:
            problems.append(Problem(file, row, lay.dispositions.id, None, "missing_response",
                                    f"{lay.label} records this participant as having finished the survey, but the "
                                    "responses export has no row for them: export every response, with no date or "
                                    "identifier filter (they would count as silent invitees)"))


def completed_only_notes(notes: Iterable[ReadNote]) -> list[ReadNote]:
    """The responses exports of :data:`UNFINISHED_EXPECTED` rows or more holding no unfinished questionnaire:
    exported with completed responses only, perhaps (break-offs would then count as silence)."""
    return [n for n in notes if n.unfinished == 0 and n.rows >= UNFINISHED_EXPECTED]


def completed_only(notes: Iterable[ReadNote], problems: list[Problem]) -> None:
    """A ``completed_only`` problem for each export of :func:`completed_only_notes` (real exports): an export
    filtered to completed responses counts its partial respondents and break-offs as silent invitees, and the
    contact-status export cannot tell (LimeSurvey's ``completed`` is ``N`` for both)."""
    for n in completed_only_notes(notes):
        problems.append(Problem(n.file, None, None, None, "completed_only",
                                f"{n.rows} responses and not one unfinished questionnaire: the export looks "
                                "filtered to completed responses, and its partial answers and break-offs would "
                                "count as silence; export every response (LimeSurvey: completion state « All "
                                "responses »), or set unfinished_in_exports: false in config/03_fieldwork.yaml "
                                "if the survey saves no partial answers"))
