"""Problems of a survey tool's export told in the tool's terms: its column names, its questions of several
columns, its answer codes and its response ids, so that a board finds the cell in the file it exported."""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping

from ..pipeline.config import did_you_mean
from .codebook import CODED_TYPES, Codebook
from .export_checks import NATIVE_EXTRA
from .export_readers import Problem, with_records
from .survey_tools import ToolLayout


def export_problems(problems: list[Problem], start: int, file: str, lay: ToolLayout, codebook: Codebook,
                    survey: str, records: Mapping[int, str]) -> None:
    """:func:`tool_problems` for the problems of a responses export read in layout ``lay``: its columns, its
    questions of several columns and its answer codes as the tool writes them."""
    names = {**question_stems(lay, codebook, survey), **lay.column_map(codebook, survey)}
    tool_problems(problems, start, file, names, codebook.id_column(survey), records, tool_codes(lay, codebook, survey))


def question_stems(lay: ToolLayout, codebook: Codebook, survey: str) -> dict[str, str]:
    """A question of several columns (multi-select, open words) → its columns as the tool names them, the part that
    varies elided (« FORCES[SQ…] »)."""
    return {v.name: re.sub(r"\{[^{}]*\}", "…", lay.questions[v.name]) for v in codebook.variables_for(survey)
            if v.type in ("multi", "open_words") and v.name in lay.questions}


def tool_codes(lay: ToolLayout, codebook: Codebook, survey: str) -> dict[str, dict[str, str]]:
    """A coded single-column question → codebook code → the tool's code (LimeSurvey writes « A11 » for 11)."""
    return {v.name: {str(c): lay.code(c) for c in codebook.codes(v.name, dont_know=v.dont_know)}
            for v in codebook.variables_for(survey) if v.type in CODED_TYPES and v.type != "multi"}


def tool_problems(problems: list[Problem], start: int, file: str, native_to_tool: Mapping[str, str],
                  id_column: str | None = None, records: Mapping[int, str] | None = None,
                  codes: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Rename, in the problems of ``file`` from index ``start``, native column names to the tool's and codebook
    codes to the tool's (``codes``: column → code → tool code); an unknown column close to a missing one
    (« IMG_SQ003 » for « IMG[SQ003] ») is told which. A duplicated ``id_column`` loses its value: that is the
    sampled unit's own identifier, which the tool's file does not hold (it holds a token, a text shown by its row
    only)."""
    codes = codes or {}
    for k in range(start, len(problems)):
        p = problems[k]
        if p.file == file and p.value is not None and str(p.value) in codes.get(p.column, {}):
            p = problems[k] = dataclasses.replace(p, value=codes[p.column][str(p.value)])
        if p.file == file and p.column in native_to_tool:
            clear = {"value": None, "length": None} if p.column == id_column and p.rule == "duplicate_id" else {}
            if p.column == id_column and p.rule == "missing_column":
                clear["message"] = (p.message + ": without the token no response can be matched with its sampled "
                                    "unit. A survey run with anonymised responses (LimeSurvey « Anonymized "
                                    "responses », Qualtrics « Anonymize responses ») writes none, and its answers "
                                    "cannot be weighted; otherwise export the token column too")
            problems[k] = dataclasses.replace(p, column=native_to_tool[p.column], **clear)
        if p.file == file:          # « 'pays' is … » in a message: the question as the tool's file names it
            message = problems[k].message
            for native, tool in native_to_tool.items():
                message = message.replace(repr(native), repr(tool))
            problems[k] = dataclasses.replace(problems[k], message=message)
    mine = [k for k in range(start, len(problems)) if problems[k].file == file]
    missing = {problems[k].column for k in mine if problems[k].rule == "missing_column"}
    n_extra = sum(problems[k].rule == "extra_column" for k in mine)
    if len(missing) >= max(3, len(set(native_to_tool.values())) // 2) and n_extra >= len(missing) // 2:
        # most columns renamed at once: headings written as question texts, not a token left out (trial F)
        first = next(k for k in mine if problems[k].rule == "missing_column")
        p = problems[first]
        problems[first] = dataclasses.replace(p, message=p.message.split(": without the token")[0] + (
            f": {len(missing)} of the columns the tool writes are missing and {n_extra} it does not write are there: "
            "the headings look like question texts, not question codes; export again with question codes as "
            "headings (LimeSurvey: « Question code » under Headings)"))
    for k in mine:
        p = problems[k]
        if p.rule == "extra_column":
            hint = did_you_mean([p.column], missing) if missing else ""
            problems[k] = dataclasses.replace(p, message=p.message.replace(NATIVE_EXTRA, TOOL_EXTRA) + hint)
    with_records(problems, start, file, records or {})
    copies = {p.row for p in problems if p.file == file and p.rule == "duplicate_record"}
    problems[start:] = [p for p in problems[start:]     # a row pasted twice: its token's duplicate says it again
                        if not (p.file == file and p.rule == "duplicate_id" and p.row in copies)]


#: A tool layout's advice on a column the codebook does not know (the native layout's is ``NATIVE_EXTRA``): a column
#: the tool writes itself is declared in config/survey_tools.yaml, not in the codebook.
TOOL_EXTRA = ("(remove it from the export; a column the tool writes itself goes in config/survey_tools.yaml, under "
              "personal: if it may hold personal data (dropped at read time), else under technical:; a question of "
              "the study goes in config/codebook.yaml)")
