"""Survey-tool layouts (``config/survey_tools.yaml``): LimeSurvey and Qualtrics exports to and from the codebook.

A tool writes its own column names (``IMG[SQ003]``, ``Q13_3``), its own answer codes (``A3``), its
own completion flag (``submitdate``, ``Finished``), technical columns and personal data (IP
address, recipient's e-mail and name, location). :func:`from_tool` turns an export read as text
(:class:`~portrait.study.export_readers.RawTable`) into the codebook's native layout, so that the
checks of :mod:`portrait.study.export_checks` and everything after them are the same for every tool;
:func:`to_tool` does the reverse for the simulator.

- **Personal columns are dropped at read time**: their cells are never kept, and only their names
  and the number of rows are reported (:class:`ReadNote`).
- **Tokens**: a sampled unit is invited with a token, ``HMAC-SHA256(key, "<survey>:<unit id>")`` in
  base32 (15 characters, as LimeSurvey's default token length), with the study's pseudonymisation key
  (:func:`portrait.study.visitors.pseudonymisation_key`). The token comes back in the export and is
  mapped to its unit by recomputing the tokens of the sample: no table linking tokens to units
  needs to be stored.
- **Rows set aside**: previews, tests and spam (Qualtrics ``Status``) are counted and never read.
- Problems are reported with the tool's column names, as the file shows them.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.config import did_you_mean, read_yaml
from ..pipeline.errors import ParameterError
from .codebook import Codebook, Variable
from .export_checks import CONTROL, MISSING_CODE, MISSING_CODE_RE, as_written, code_runs, completed
from .export_readers import Problem, RawTable, records_of, with_records
from .exports import DISPOSITION_COLUMN

NATIVE = "native"
DEFAULT_FILE = "config/survey_tools.yaml"
TOKEN_CHARS = 15
CODED_TYPES = ("single", "likert_1_5", "score_0_10")
_KEYS = {"label", "sources", "formats", "csv", "id", "record_id", "complete", "keep_rows", "codes", "multi", "questions",
         "technical", "personal", "dispositions", "invitations", "column_pattern"}


@dataclass(frozen=True)
class Dispositions:
    """A tool's contact-status export (participants or distribution history)."""

    file: str
    id: str
    read: tuple[str, ...]
    optional: tuple[str, ...]
    personal: tuple[str, ...]
    technical: tuple[str, ...]
    values: dict[str, tuple[str, ...]]
    rules: tuple[tuple[str, str, int], ...]
    # (column, "when" | "unless", values): the participants the tool records as having finished the survey
    answered: tuple[str, str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class ToolLayout:
    """One survey tool's export layout (see the header of ``config/survey_tools.yaml``)."""

    name: str
    label: str
    sources: dict[str, str]
    formats: tuple[str, ...]
    delimiter: str
    header_rows: int
    encoding: str
    id: str
    complete_column: str
    complete_values: tuple[str, ...] | None      # None: any non-blank value
    keep_rows: tuple[str, tuple[str, ...]] | None
    set_aside: tuple[str, ...]                   # keep_rows values of previews, tests and spam
    codes: str
    chosen: str
    not_chosen: str
    questions: dict[str, str]
    technical: tuple[str, ...]
    personal: tuple[str, ...]
    dispositions: Dispositions
    invitation_columns: dict[str, str]
    record_id: str | None = None                 # the tool's response id, named in problem messages
    column_pattern: str | None = None            # what a question column the tool can export looks like (a regex)

    def looks_like_response(self, header: list[str], record: list[str]) -> bool:
        """Whether a row of a CSV export is a response (its ``keep_rows`` column holds a response status),
        not one of the tool's header rows (Qualtrics: question texts, import ids)."""
        if self.keep_rows is None or self.keep_rows[0] not in header:
            return False
        j, values = header.index(self.keep_rows[0]), (*self.keep_rows[1], *self.set_aside)
        return j < len(record) and as_written(pd.Series([record[j]]), values).iloc[0] in values

    # ---- codes

    def code(self, value: int | str) -> str:
        """How the tool writes the codebook code ``value``."""
        return self.codes.format(code=value)

    def code_map(self, v: Variable, codebook: Codebook) -> dict[str, str]:
        """Tool answer code → codebook code, for a coded question. Numeric recode values lose leading
        zeros (Qualtrics, SPSS), so "2" reads as the department "02" too."""
        back = {self.code(c): str(c) for c in codebook.codes(v.name, dont_know=v.dont_know)}
        back.update({str(int(t)): n for t, n in list(back.items()) if t.isdigit() and str(int(t)) not in back})
        return back

    def columns(self, v: Variable) -> dict[str, str]:
        """Native column → tool column, for every column of variable ``v``."""
        pattern = self.questions[v.name]
        if v.type == "multi":
            return {c: pattern.format(code=int(code)) for c, code in zip(v.columns, v.code_values)}
        if v.type == "open_words":
            return {c: pattern.format(n=k + 1) for k, c in enumerate(v.columns)}
        return {v.name: pattern}

    def column_map(self, codebook: Codebook, survey: str) -> dict[str, str]:
        """Native column → tool column for every column of ``survey`` (identifier and ``complet`` too)."""
        out = {codebook.id_column(survey): self.id, "complet": self.complete_column}
        for v in codebook.variables_for(survey):
            if v.name in self.questions:
                out.update(self.columns(v))
        return out


def load(path: str | Path = DEFAULT_FILE) -> dict[str, ToolLayout]:
    """Read and check the layouts file; tool name → :class:`ToolLayout`."""
    raw = read_yaml(path)
    where = paths.relative(paths.resolve(path))
    return {name: _parse(name, spec, where) for name, spec in raw.items()}


def layout(name: str, codebook: Codebook, path: str | Path = DEFAULT_FILE) -> ToolLayout | None:
    """The layout of tool ``name`` checked against ``codebook`` (``None`` for the native layout)."""
    if name == NATIVE:
        return None
    tools = load(path)
    if name not in tools:
        raise ParameterError(f"parameter 'survey_tool' must be one of {', '.join([NATIVE, *tools])}, got {name!r}{did_you_mean([name], [NATIVE, *tools])}")
    lay = tools[name]
    missing = [v.name for v in codebook.variables if v.type != "id" and v.name != "complet"
               and v.name not in lay.questions]
    unknown = [q for q in lay.questions if q not in {v.name for v in codebook.variables}]
    if missing or unknown:
        raise ParameterError(f"{paths.relative(paths.resolve(path))}: tool {name!r} "
                             + (f"maps no column for the codebook variables {missing}" if missing else "")
                             + ("; " if missing and unknown else "")
                             + (f"maps variables that are not in the codebook: {unknown}" if unknown else ""))
    check_columns(lay, codebook, paths.relative(paths.resolve(path)))
    return lay


def check_columns(lay: ToolLayout, codebook: Codebook, where: str) -> None:
    """Each question column written once, and in a form the tool can export (``column_pattern``): a copied line
    (two items on ``IMG[SQ012]``) or a name the tool refuses (``IMG[SQ-13]``) would pass a rehearsal on simulated
    exports and fail only on the real ones (trial H)."""
    for survey in codebook.surveys:
        owner: dict[str, str] = {}
        cvars = codebook.column_variables(survey)
        for native, col in lay.column_map(codebook, survey).items():
            if native in (codebook.id_column(survey), "complet"):
                continue
            var = cvars[native].name
            if col in owner and owner[col] != var:
                raise ParameterError(f"{where}: tool {lay.name!r}: column {col!r} is mapped to both {owner[col]!r} "
                                     f"and {var!r}: each question needs its own column")
            owner[col] = var
            if lay.column_pattern and not re.fullmatch(lay.column_pattern, col):
                raise ParameterError(f"{where}: tool {lay.name!r}: column {col!r} of {var!r} is not one {lay.label} "
                                     f"can export (column_pattern: {lay.column_pattern})")


def _answered(spec: Any, name: str, where: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``{column: completed, unless: [N]}`` or ``{column: Status, when: [Survey Finished]}``."""
    if spec is None:
        return None
    how = [k for k in ("when", "unless") if k in spec] if isinstance(spec, dict) else []
    if len(how) != 1 or "column" not in spec:
        raise ParameterError(f"{where}: tool {name!r}: dispositions.answered needs a column and one of when, unless")
    return str(spec["column"]), how[0], tuple(str(x) for x in spec[how[0]])


def _parse(name: str, spec: Any, where: str) -> ToolLayout:
    def need(d: Mapping, key: str, what: str) -> Any:
        if key not in d:
            raise ParameterError(f"{where}: tool {name!r} needs {what} ({key!r})")
        return d[key]

    if not isinstance(spec, dict):
        raise ParameterError(f"{where}: tool {name!r} must be a mapping")
    extra = sorted(set(spec) - _KEYS)
    if extra:
        raise ParameterError(f"{where}: tool {name!r} has unknown keys {extra} (allowed: {sorted(_KEYS)})")
    csv_spec = need(spec, "csv", "its CSV dialect")
    complete = need(spec, "complete", "its completion column")
    values = complete.get("values")
    keep = spec.get("keep_rows")
    multi = need(spec, "multi", "its multi-select encoding")
    d = need(spec, "dispositions", "its contact-status export")
    rules = tuple((str(r["column"]), str(r["equals"]), int(r["code"])) for r in need(d, "rules", "rules"))
    formats = tuple(spec.get("formats", ("csv",)))
    if not set(formats) <= {"csv", "sav"}:
        raise ParameterError(f"{where}: tool {name!r}: formats must be among csv, sav")
    return ToolLayout(
        name=name, label=str(spec.get("label", name)), sources=dict(spec.get("sources", {})), formats=formats,
        delimiter=str(need(csv_spec, "delimiter", "a CSV delimiter")), header_rows=int(csv_spec.get("header_rows", 1)),
        encoding=str(csv_spec.get("encoding", "utf-8")), id=str(need(spec, "id", "its token column")),
        complete_column=str(complete["column"]),
        complete_values=None if values == "not_empty" else tuple(str(x) for x in values),
        keep_rows=(str(keep["column"]), tuple(str(x) for x in keep["values"])) if keep else None,
        set_aside=tuple(str(x) for x in keep.get("set_aside", ())) if keep else (),
        codes=str(spec.get("codes", "{code}")), chosen=str(multi["chosen"]), not_chosen=str(multi["not_chosen"]),
        questions={str(k): str(v) for k, v in need(spec, "questions", "its question map").items()},
        technical=tuple(map(str, spec.get("technical", ()))), personal=tuple(map(str, spec.get("personal", ()))),
        dispositions=Dispositions(
            file=str(need(d, "file", "a file name")), id=str(need(d, "id", "a token column")),
            read=tuple(map(str, d.get("read", ()))), optional=tuple(map(str, d.get("optional", ()))),
            personal=tuple(map(str, d.get("personal", ()))), technical=tuple(map(str, d.get("technical", ()))),
            values={str(k): tuple("" if x is None else str(x) for x in v) for k, v in d.get("values", {}).items()},
            rules=rules, answered=_answered(d.get("answered"), name, where)),
        invitation_columns={str(k): str(v) for k, v in spec.get("invitations", {}).get("columns", {}).items()},
        record_id=str(spec["record_id"]) if spec.get("record_id") else None,
        column_pattern=str(spec["column_pattern"]) if spec.get("column_pattern") else None)


# ============================================================================ tokens


def tokens(ids: Iterable[str], survey: str, key: bytes) -> np.ndarray:
    """The invitation token of each unit: base32 of ``HMAC-SHA256(key, "<survey>:<id>")``, 15 characters."""
    return np.array([base64.b32encode(hmac.digest(key, f"{survey}:{i}".encode("utf-8"), "sha256"))
                     .decode("ascii")[:TOKEN_CHARS] for i in ids], dtype=object)


def token_map(ids: Iterable[str], survey: str, key: bytes) -> dict[str, str]:
    """Token → unit id for a sample."""
    ids = [str(i) for i in ids]
    return dict(zip(tokens(ids, survey, key), ids))


# ============================================================================ reading


@dataclass
class ReadNote:
    """What the translation of one tool file did: rows read and set aside, columns dropped."""

    file: str
    tool: str
    rows: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)
    personal: list[str] = field(default_factory=list)
    technical: list[str] = field(default_factory=list)
    unfinished: int | None = None          # responses the tool marks as not completed (None: not a response file)
    null_dates: int = 0                    # of which a completion date written as a database's empty one
    records: dict[int, str] = field(default_factory=dict, repr=False)   # row → the tool's response id


def _text(raw: RawTable, j: int) -> pd.Series:
    return raw.cells[j].astype(str).reset_index(drop=True)


def from_tool(raw: RawTable, survey: str, codebook: Codebook, lay: ToolLayout, tokens_to_ids: Mapping[str, str],
              problems: list[Problem]) -> tuple[RawTable, ReadNote]:
    """A tool export as the native layout; returns the table and what was done.

    Cells of personal and technical columns are not copied. A code the tool does not write for the question is an
    ``unknown_code`` problem (named by the tool column); the cell then reads as blank so that the native checks do
    not report it again. Other columns keep their name: the native checks report them as ``extra_column``.
    """
    note = ReadNote(raw.file, lay.name)
    start = len(problems)
    cmap = lay.column_map(codebook, survey)
    to_native = {t: n for n, t in cmap.items()}
    pos = {}
    for j, h in enumerate(raw.header):
        pos.setdefault(h, j)
    keep = np.ones(len(raw.cells), dtype=bool)
    if lay.keep_rows is not None and lay.keep_rows[0] in pos:
        # « spam », « Survey preview », « 8.0 » (a spreadsheet) are the tool's « Spam », « Survey Preview », « 8 »
        status = as_written(_text(raw, pos[lay.keep_rows[0]]).str.strip(), lay.keep_rows[1] + lay.set_aside)
        genuine = status.isin(lay.keep_rows[1]).to_numpy()
        aside = status.isin(lay.set_aside).to_numpy()
        for value, n in status[aside].value_counts().sort_index().items():
            note.set_aside[f"{lay.keep_rows[0]} = {value}"] = int(n)
        known = ", ".join(lay.keep_rows[1] + lay.set_aside)
        for i in np.flatnonzero(~genuine & ~aside):       # never set aside as a test: it may be a response
            problems.append(Problem(raw.file, int(raw.rows[i]), lay.keep_rows[0], status.iloc[i], "unknown_status",
                                    f"not a {lay.label} response status ({known})"))
        keep = genuine
    rows = raw.rows[keep]
    cells = raw.cells.loc[keep].reset_index(drop=True)
    records = records_of(raw, pos.get(lay.record_id or ""), lay.label, keep, problems, pos.get(lay.id))
    note.rows = int(keep.sum())
    cvars = codebook.column_variables(survey)
    # a column named as the layout's or the codebook's but for case (« Sexe », « RECOMMANDATION ») is read, reported
    fold = {k.casefold(): t for t, n in to_native.items() for k in (n, t) if t not in (lay.id, lay.complete_column)}
    case_only: list[tuple[str, str]] = []
    header, columns = [], []
    for j, h in enumerate(raw.header):
        if h in lay.personal or h in lay.dispositions.personal:
            note.personal.append(h)
            continue
        s = cells[j].astype(str)
        if h == lay.id:
            header.append(codebook.id_column(survey))
            columns.append(_ids_of_tokens(s, tokens_to_ids, rows, raw.file, lay.id, problems))
            continue
        if h == lay.complete_column:
            done, null = completed(s, lay.complete_values, raw.file, rows, h, lay.label, problems)
            note.unfinished, note.null_dates = int((~done).sum()), int(null.sum())
            header.append("complet")
            columns.append(pd.Series(np.where(done, "1", "0"), dtype=object))
            continue
        if h in lay.technical or (lay.keep_rows is not None and h == lay.keep_rows[0]):
            note.technical.append(h)
            continue
        native = to_native.get(h)
        if native is None and h.casefold() in fold and fold[h.casefold()] not in raw.header:
            case_only.append((h, fold[h.casefold()]))
            h = fold[h.casefold()]
            native = to_native[h]
        if native is None:
            header.append(h)
            columns.append(s)
            continue
        v = cvars[native]
        header.append(native)
        columns.append(_translate(v, native, h, s, rows, raw.file, codebook, lay, problems))
    if case_only:
        problems.append(Problem(raw.file, 1, None, None, "column_case",
                                f"{len(case_only)} column(s) bear a {lay.label} column's name in other case, or the "
                                f"codebook's name for it (e.g. {case_only[0][0]!r} for {case_only[0][1]!r}): rename "
                                f"them as {lay.label} writes them (config/survey_tools.yaml)"))
    for v in codebook.variables_for(survey):
        if v.type == "multi":
            _multi_blank(v, header, columns)
    table = pd.DataFrame({k: c.to_numpy(dtype=object) for k, c in enumerate(columns)}, dtype=object) \
        if columns else pd.DataFrame(dtype=object)
    labels = {}
    for h, codes in raw.value_labels.items():
        native = to_native.get(h)
        if native in cvars and cvars[native].type in CODED_TYPES:
            back = lay.code_map(cvars[native], codebook)
            labels[native] = {back[k]: lab for k, lab in codes.items() if k in back}
    with_records(problems, start, raw.file, records)
    note.records = records
    return RawTable(raw.file, raw.fmt, header, table, rows, labels, records), note


def _ids_of_tokens(tokens: pd.Series, tokens_to_ids: Mapping[str, str], rows: np.ndarray, file: str,
                   column: str, problems: list[Problem]) -> pd.Series:
    """Each token's sampled unit (an unknown token is kept, for the ``not_in_sample`` check). A token that is a
    sampled unit's only once stripped and in upper case was changed by a spreadsheet: that is reported here, with
    the reason, and the unit is matched so that the check does not report it a second time."""
    ids = tokens.map(lambda t: tokens_to_ids.get(t, t))
    fixed = tokens.str.strip().str.upper()
    altered = ~tokens.isin(tokens_to_ids.keys()) & fixed.isin(tokens_to_ids.keys())
    for i in np.flatnonzero(altered.to_numpy()):
        problems.append(Problem(file, int(rows[i]), column, tokens.iloc[i], "not_in_sample",
                                "not a sampled unit's token as written, but it is one in capitals without spaces: "
                                "a spreadsheet changed it (tokens are case-sensitive); export the file again"))
    ids = ids.where(~altered, fixed.map(tokens_to_ids))
    given = int((tokens != "").sum())
    if given and not ids.isin(set(tokens_to_ids.values())).any():
        problems.append(Problem(file, None, column, None, "no_token_matches",
                                f"none of its {given} tokens is a sampled unit's: the tokens were computed with another "
                                "key than the one the samples were drawn with (PORTRAIT_PSEUDO_KEY or .portrait-key), "
                                "or the file is another survey's; its rows are not checked one by one"))
    return ids


def no_token_matches(problems: list[Problem], file: str) -> bool:
    """Whether :func:`_ids_of_tokens` found that no token of ``file`` is a sampled unit's (its rows go unchecked)."""
    return any(p.rule == "no_token_matches" and p.file == file for p in problems)


#: Added to an ``unknown_code`` whose value is the answer's label: the export was made with the answers' texts.
LABEL_NOT_CODE = ("; the cell holds the answer's label, not its code: export the responses again with the answer "
                  "codes (LimeSurvey: « Answer codes », not « Full answers »; Qualtrics: « Use numeric values »)")

#: Added to a multiple-choice ``unknown_code`` of 1 or 0 where the tool writes « Y »: an export option converted it.
Y_CONVERTED = ("; LimeSurvey writes 1 for a chosen option when its export option « Convert Y to 1 » is ticked: "
               "export the responses again without it")


def _translate(v: Variable, native: str, tool_col: str, s: pd.Series, rows: np.ndarray, file: str,
               codebook: Codebook, lay: ToolLayout, problems: list[Problem]) -> pd.Series:
    if v.type in CODED_TYPES:
        back = lay.code_map(v, codebook)
        what = f"the tool's codes for this question are {code_runs(list(back))}"
    elif v.type == "multi":
        back = {lay.chosen: "1", lay.not_chosen: "0"}
        what = f"a multiple-choice option is {lay.chosen!r} when chosen" + (
            ", empty otherwise" if lay.not_chosen == "" else f", {lay.not_chosen!r} otherwise")
    elif v.type == "integer":      # a numerical input: LimeSurvey may write 54 as « 54.0000000000 »
        return s.str.replace(r"^(-?[0-9]+)\.0+$", r"\1", regex=True)
    else:
        return s
    # a control character (« A1␀ ») is left as it is, for the codebook checks' control_character (trial F)
    control = s.str.contains(CONTROL)
    bad = (s != "") & ~s.isin(list(back)) & ~control
    labels = {str(t).strip().casefold() for t in codebook.labels(v.name, dont_know=v.dont_know).values()} \
        if v.type in CODED_TYPES else set()
    for i in np.flatnonzero(bad.to_numpy()):
        text = str(s.iloc[i]).strip()
        # trials: « Homme », « Oui » (« Full answers »), « 1 » (« Convert Y to 1 »), « 3 » for « A3 », « -99 » (a recode)
        bare = v.type in CODED_TYPES and lay.code(text) in back
        label = not bare and (text.casefold() in labels or (sum(c.isalpha() for c in text) >= 3 and not text.isupper()))
        converted = v.type == "multi" and lay.chosen == "Y" and text in ("0", "1")
        problems.append(Problem(file, int(rows[i]), tool_col, s.iloc[i], "unknown_code",
                                f"not a code of {v.name!r} in the {lay.label} layout ({what})"
                                + (LABEL_NOT_CODE if label else "") + (Y_CONVERTED if converted else "")
                                + (f"; it is {MISSING_CODE}" if MISSING_CODE_RE.fullmatch(text) else "")
                                + (f"; {lay.label} writes this answer {lay.code(text)!r}: the cell lacks the code's "
                                   "prefix (an export edited, or made with another tool's settings?)" if bare else "")))
    out = s.map(back).where(~bad, "").where(~control, s)
    return out.where(s != "", "") if v.type != "multi" else out.fillna("")


def _multi_blank(v: Variable, header: list[str], columns: list[pd.Series]) -> None:
    """A multi-select item with no option chosen is blank (item non-response), as in the native layout."""
    idx = [header.index(c) for c in v.columns if c in header]
    if not idx:
        return
    chosen = np.zeros(len(columns[idx[0]]), dtype=bool)
    for k in idx:
        chosen |= (columns[k] == "1").to_numpy()
    for k in idx:
        columns[k] = columns[k].where(chosen, "")


# ============================================================================ writing (simulator)


def to_tool(table: pd.DataFrame, survey: str, codebook: Codebook, lay: ToolLayout, key: bytes,
            seed: int) -> pd.DataFrame:
    """A native export table (codebook columns) as the tool would export it: text cells, tool columns.

    Technical and personal columns are filled with plausible simulated values (documentation IP
    range 192.0.2.0/24, e-mail addresses at ``example.org``), so that tests can check that none of
    them goes further than the read.
    """
    rng = np.random.default_rng([seed, 0x700C5])
    n = len(table)
    id_col = codebook.id_column(survey)
    tok = tokens(table[id_col].astype(str), survey, key)
    done = (table["complet"].astype("Int64") == 1).fillna(False).to_numpy(dtype=bool)
    start = pd.Timestamp("2017-03-06 08:00:00") + pd.to_timedelta(rng.integers(0, 50 * 86400, n), unit="s")
    seconds = rng.integers(240, 1500, n)
    end = start + pd.to_timedelta(seconds, unit="s")
    fmt_dt = (lambda ts: ts.strftime("%Y-%m-%d %H:%M:%S"))
    out: dict[str, list | np.ndarray] = {}
    if lay.name == "limesurvey":
        out.update({"id": [str(k + 1) for k in range(n)], "submitdate": np.where(done, end.map(fmt_dt), ""),
                    "lastpage": np.where(done, "6", rng.integers(1, 6, n).astype(str)),
                    "startlanguage": ["fr"] * n, "seed": rng.integers(10**8, 10**9, n).astype(str),
                    "token": tok, "startdate": start.map(fmt_dt), "datestamp": end.map(fmt_dt),
                    "ipaddr": [f"192.0.2.{1 + k % 254}" for k in range(n)]})
    else:
        out.update({"StartDate": start.map(fmt_dt), "EndDate": end.map(fmt_dt), "Status": ["0"] * n,
                    "IPAddress": [f"192.0.2.{1 + k % 254}" for k in range(n)],
                    "Progress": np.where(done, "100", rng.integers(10, 95, n).astype(str)),
                    "Duration (in seconds)": seconds.astype(str), "Finished": np.where(done, "1", "0"),
                    "RecordedDate": end.map(fmt_dt), "ResponseId": [f"R_{t[:15].lower()}" for t in tok],
                    **dict(zip(("RecipientLastName", "RecipientFirstName", "RecipientEmail"),
                               _contacts(tok, survey))), "ExternalReference": tok,
                    "LocationLatitude": [f"{50.1 + 0.9 * x:.6f}" for x in rng.random(n)],
                    "LocationLongitude": [f"{1.6 + 2.3 * x:.6f}" for x in rng.random(n)],
                    "DistributionChannel": ["email"] * n, "UserLanguage": ["FR"] * n})
    for v in codebook.variables_for(survey):
        if v.type == "id" or v.name == "complet":
            continue
        for native, col in lay.columns(v).items():
            values = table[native].astype(object).to_numpy()
            if v.type in CODED_TYPES:
                out[col] = ["" if _missing(x) else lay.code(x) for x in values]
            elif v.type == "multi":
                out[col] = ["" if _missing(x) else lay.chosen if int(x) == 1 else lay.not_chosen for x in values]
            else:
                out[col] = ["" if _missing(x) else str(int(x)) if isinstance(x, (int, np.integer)) else str(x)
                            for x in values]
    return pd.DataFrame(out, dtype=object)


def _contacts(tok: Sequence[str], survey: str) -> tuple[list[str], list[str], list[str]]:
    """Simulated last names, first names and e-mail addresses of the participants; none for the residents, who are
    invited by letter (their invitation files hold a token and a commune only, :mod:`portrait.study.invitations`)."""
    if survey == "residents":
        blank = [""] * len(tok)
        return blank, blank, blank
    return [f"Nom{t[:6]}" for t in tok], [f"Prenom{t[6:12]}" for t in tok], [f"{t.lower()}@example.org" for t in tok]


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def dispositions_to_tool(sample_ids: Iterable[str], dispositions: pd.DataFrame, answers: pd.DataFrame, survey: str,
                         codebook: Codebook, lay: ToolLayout, key: bytes) -> pd.DataFrame:
    """Every invited unit's row of the tool's participants / distribution export (simulated)."""
    id_col = codebook.id_column(survey)
    ids = pd.Series([str(i) for i in sample_ids], dtype=object)
    tok = tokens(ids, survey, key)
    code = ids.map(dict(zip(dispositions[id_col].astype(str), dispositions[DISPOSITION_COLUMN].astype(int))))
    started = ids.isin(set(answers[id_col].astype(str)))
    complete = ids.map(dict(zip(answers[id_col].astype(str), answers["complet"].astype("Int64") == 1))).fillna(False)
    if lay.name == "limesurvey":      # the columns and order of LimeSurvey's participants export
        status = np.select([code == 1, code == 2], ["bounced", "OptOut"], "OK")
        last, first, email = _contacts(tok, survey)
        return pd.DataFrame({
            "tid": [str(k + 1) for k in range(len(ids))], "firstname": first, "lastname": last, "email": email,
            "emailstatus": status, "token": tok, "language": "fr", "validfrom": "", "validuntil": "",
            "invited": np.where(code == 1, "N", "2017-03-06 09:00"), "reminded": "N", "remindercount": "0",
            "completed": np.where(complete, "2017-04-15 10:00", "N"), "usesleft": np.where(complete, "0", "1"),
            "attribute_1 <statut terrain>": np.where(code == 3, "hors_champ", ""),
            "attribute_2 <lieu>": ""}, dtype=object)
    status = np.select([code == 1, code == 2, complete.to_numpy(dtype=bool), started.to_numpy()],
                       ["Email Hard Bounce", "Email Opted Out", "Survey Finished", "Survey Partially Finished"],
                       "Email Sent")
    last, first, email = _contacts(tok, survey)
    return pd.DataFrame({
        "Last Name": last, "First Name": first, "Email": email, "External Data Reference": tok, "Status": status,
        "hors_champ": np.where(code == 3, "1", ""), "Response Id": "", "Link": ""}, dtype=object)


def write_tool_csv(table: pd.DataFrame, path: str | Path, lay: ToolLayout, codebook: Codebook | None = None,
                   survey: str | None = None) -> Path:
    """Write a tool table as that tool's CSV (delimiter, all fields quoted, header rows, UTF-8 with BOM)."""
    import csv
    import io as _io

    from ..pipeline.io import atomic_path

    buf = _io.StringIO()
    w = csv.writer(buf, delimiter=lay.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    w.writerow(list(table.columns))
    if lay.header_rows == 3 and codebook is not None and survey is not None:
        labels = _tool_labels(table.columns, codebook, survey, lay)
        w.writerow([labels.get(c, c) for c in table.columns])
        w.writerow([json.dumps({"ImportId": _import_id(c)}) for c in table.columns])
    cols = [table[c].to_numpy(dtype=object) for c in table.columns]
    for i in range(len(table)):
        w.writerow([col[i] for col in cols])
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return Path(path)


def _import_id(column: str) -> str:
    if column[:1] == "Q" and column[1:2].isdigit():
        return "QID" + column[1:]
    return column[:1].lower() + column[1:].replace(" ", "")


def _tool_labels(columns: Iterable[str], codebook: Codebook, survey: str, lay: ToolLayout) -> dict[str, str]:
    native = {t: n for n, t in lay.column_map(codebook, survey).items()}
    labels = codebook.column_labels(survey)
    return {c: labels.get(native.get(c, ""), c) for c in columns}


def write_tool_sav(table: pd.DataFrame, path: str | Path, lay: ToolLayout, codebook: Codebook, survey: str) -> Path:
    """Write a tool table as the tool's SPSS export (numbers where every value is a number), with the value labels a
    tool's SPSS export carries: each coded question's answer codes, as the tool writes them, labelled in the
    codebook's words."""
    import pyreadstat

    from ..pipeline.io import atomic_path
    from .exports import FIXED_TIME

    df = pd.DataFrame(index=range(len(table)))
    for c in table.columns:
        name = c.replace(" ", "_").replace("(", "_").replace(")", "_")
        s = table[c].astype(str)
        num = pd.to_numeric(s.where(s != ""), errors="coerce")
        df[name] = num.to_numpy(dtype=float) if bool((num.notna() | (s == "")).all()) and c != lay.id else s.to_numpy()
    labels = _tool_labels(table.columns, codebook, survey, lay)
    native = codebook.value_labels(survey)          # the native SPSS export's labels, at the tool's codes
    to_native = {t: k for k, t in lay.column_map(codebook, survey).items()}
    cvars = codebook.column_variables(survey)
    value_labels = {n: {(float(lay.code(k)) if df[n].dtype == float else lay.code(k)): lab
                        for k, lab in native[to_native[c]].items()}
                    for n, c in zip(df.columns, table.columns)
                    if to_native.get(c) in native and cvars[to_native[c]].type in CODED_TYPES}
    with atomic_path(path) as tmp:
        pyreadstat.write_sav(df, str(tmp), column_labels={n: labels.get(c, c)[:250] for n, c in
                                                          zip(df.columns, table.columns)},
                             variable_value_labels=value_labels)
        data = bytearray(tmp.read_bytes())
        if data[:4] == b"$FL2":
            data[92:109] = FIXED_TIME.strftime("%d %b %y").encode("ascii") + FIXED_TIME.strftime("%H:%M:%S").encode()
        tmp.write_bytes(bytes(data))
    return Path(path)


def write_tool_folder(exports: Mapping[str, pd.DataFrame], dispositions: Mapping[str, pd.DataFrame],
                      sample_ids: Mapping[str, Iterable[str]], directory: str | Path, codebook: Codebook,
                      lay: ToolLayout, key: bytes, seed: int, formats: Iterable[str] = ("csv", "sav")) -> list[Path]:
    """Write every survey's answers as ``lay``'s exports (the formats the tool has), and its contact statuses."""
    from .exports import export_path

    directory = Path(directory)
    out = []
    for survey in sorted(exports):
        table = to_tool(exports[survey], survey, codebook, lay, key, seed)
        for fmt in [f for f in formats if f in lay.formats]:
            path = export_path(directory, survey, fmt)
            out.append(write_tool_csv(table, path, lay, codebook, survey) if fmt == "csv"
                       else write_tool_sav(table, path, lay, codebook, survey))
        part = dispositions_to_tool(sample_ids[survey], dispositions[survey], exports[survey], survey, codebook, lay, key)
        one_header = dataclasses.replace(lay, header_rows=1)
        out.append(write_tool_csv(part, directory / lay.dispositions.file.format(survey=survey), one_header))
    return out
