"""The codebook of both questionnaires (``config/codebook.yaml``), loaded and checked once.

Every stage reads variable names, types, codes and French labels from here: the simulator
(:mod:`portrait.study.fieldwork`), the survey-tool exports (:mod:`portrait.study.exports`), the ingest
(:mod:`portrait.study.ingest`) and the analysis. Nothing restates a label in code.

A variable is a *question* (:mod:`portrait.study.codebook_variables`); some questions are written as
several columns in the exports:

- ``multi`` (up to ``max_choices`` options): one 0/1 column per option, ``<name>_<code:02d>``;
- ``open_words`` (``n_words`` words): ``<name>_1`` … ``<name>_<n>``.

Missing values follow one convention in every format: « Ne sait pas » is the code 99 (a real
answer, declared user-missing in SPSS files) and item non-response is an empty cell (CSV, XLSX),
system-missing (SPSS) or NA (Parquet).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..pipeline import paths
from ..pipeline.errors import CodebookError
from .codebook_variables import (CODED_TYPES, NAME, ROLES, TYPES, Code, Variable, _check_filters, _is_label,
                                 _variable, option_column)

__all__ = ["CODEBOOK_FILE", "TYPES", "ROLES", "STATUSES", "CODED_TYPES", "NAME", "Code", "Variable", "option_column",
           "Grouping", "Codebook", "normalise_text", "word_lookup", "load", "parse"]

CODEBOOK_FILE = "codebook.yaml"
STATUSES = ("respondent", "non_respondent", "excluded")


# ----------------------------------------------------------------------------- the codebook


@dataclass(frozen=True)
class Grouping:
    """Groups of codes reported beside the codes (e.g. top-2 box, NPS groups)."""

    name: str
    applies_to: tuple[str, ...]
    groups: tuple[tuple[str, str, tuple[int, ...]], ...]     # (key, label, codes)
    difference: tuple[str, str, str, str] | None = None     # (name, label, plus, minus)

    def applies(self, variable: Variable) -> bool:
        """True if the grouping applies to ``variable`` (listed by name or by type)."""
        return variable.name in self.applies_to or variable.type in self.applies_to


@dataclass(frozen=True)
class Codebook:
    """The loaded, validated codebook. Build it with :func:`load`."""

    path: Path
    variables: tuple[Variable, ...]
    surveys: dict[str, dict[str, str]]
    dont_know_code: int
    dont_know_label: str
    dispositions: dict[int, dict[str, str]]
    status: dict[str, dict[str, Any]]
    option_labels: dict[int, str] = field(default_factory=dict)
    groupings: tuple[Grouping, ...] = ()
    type_labels: dict[str, str] = field(default_factory=dict)
    vocabularies: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    # ---- variables

    def variable(self, name: str) -> Variable:
        """The variable ``name``; a ``CodebookError`` listing the names if it does not exist."""
        for v in self.variables:
            if v.name == name:
                return v
        raise CodebookError(f"{paths.relative(self.path)} has no variable {name!r}; "
                            f"variables: {', '.join(v.name for v in self.variables)}")

    def variables_for(self, survey: str) -> list[Variable]:
        """Variables asked in ``survey`` (``residents`` or ``visitors``), in questionnaire order."""
        self._check_survey(survey)
        return [v for v in self.variables if survey in v.surveys]

    def common_core(self, role: str | None = None) -> list[Variable]:
        """The common-core variables (asked in both surveys), optionally of one ``role``."""
        return [v for v in self.variables if v.common_core and (role is None or v.role == role)]

    def image_battery(self) -> list[Variable]:
        """The image attributes: the common-core agreement items (``likert_1_5``), whatever their names — the
        battery of the mosaic, the perceptual map and the synthesis's « atouts »."""
        return [v for v in self.variables if v.common_core and v.type == "likert_1_5"]

    def id_column(self, survey: str) -> str:
        """Name of the identifier column of ``survey`` (the sample's unit identifier)."""
        self._check_survey(survey)
        return self.surveys[survey]["id"]

    def columns(self, survey: str) -> list[str]:
        """Columns of the ``survey`` export, in order."""
        return [c for v in self.variables_for(survey) for c in v.columns]

    def column_variables(self, survey: str) -> dict[str, Variable]:
        """Export column → its variable, for ``survey``."""
        return {c: v for v in self.variables_for(survey) for c in v.columns}

    # ---- labels

    def labels(self, name: str, *, dont_know: bool = True) -> dict[int | str, str]:
        """Code → French label of variable ``name`` (with 99 « Ne sait pas » if it allows it)."""
        v = self.variable(name)
        if v.type == "score_0_10":
            anchors = dict(v.anchors)
            out: dict[int | str, str] = {k: f"{k} – {anchors[k]}" if k in anchors else str(k)
                                         for k in range(11)}
        elif v.codes:
            out = {c.value: c.label for c in v.codes}
        else:
            raise CodebookError(f"variable {name!r} ({v.type}) has no codes")
        if dont_know and v.dont_know:
            out[self.dont_know_code] = self.dont_know_label
        return out

    def codes(self, name: str, *, dont_know: bool = True) -> list[int | str]:
        """Allowed codes of variable ``name`` (with 99 if it allows « Ne sait pas »)."""
        v = self.variable(name)
        out = list(v.code_values)
        if dont_know and v.dont_know:
            out.append(self.dont_know_code)
        return out

    def value_labels(self, survey: str) -> dict[str, dict[int | str, str]]:
        """SPSS value labels of every coded column of ``survey`` (score items: their anchors only)."""
        out: dict[str, dict[int | str, str]] = {}
        for v in self.variables_for(survey):
            if v.type in ("single", "likert_1_5"):
                out[v.name] = self.labels(v.name)
            elif v.type == "score_0_10":
                labels = dict(v.anchors)
                if v.dont_know:
                    labels[self.dont_know_code] = self.dont_know_label
                out[v.name] = labels
            elif v.type == "multi":
                for col in v.columns:
                    out[col] = dict(self.option_labels)
        return out

    def column_labels(self, survey: str) -> dict[str, str]:
        """French label of every export column (options and words get their own suffix)."""
        out = {}
        for v in self.variables_for(survey):
            if v.type == "multi":
                for c in v.codes:
                    out[option_column(v.name, c.value)] = f"{v.label} — {c.label}"
            elif v.type == "open_words":
                for i, col in enumerate(v.columns, start=1):
                    out[col] = f"{v.label} — mot {i}"
            else:
                out[v.name] = v.label
        return out

    def groupings_for(self, name: str) -> list[Grouping]:
        """The groupings (top-2 box, NPS groups…) that apply to variable ``name``."""
        v = self.variable(name)
        return [g for g in self.groupings if g.applies(v)]

    # ---- response status

    def disposition_codes(self, reason: str) -> list[int]:
        """The contact-status codes that give a unit this ledger reason (``ecartee`` → ``[4]``)."""
        return [code for code, spec in self.dispositions.items() if spec["reason"] == reason]

    def reason_status(self, reason: str) -> str:
        """The response status (respondent, non_respondent, excluded) a ledger reason belongs to."""
        for status, spec in self.status.items():
            if reason in spec["reasons"]:
                return status
        raise CodebookError(f"unknown response-status reason {reason!r}")

    def status_label(self, status: str) -> str:
        """French label of a response status."""
        return self.status[status]["label"]

    # ---- vocabularies

    def vocabulary(self, name: str) -> dict[str, tuple[str, ...]]:
        """Canonical word → spelling variants, for the open-word item ``name``."""
        if name not in self.vocabularies:
            raise CodebookError(f"{paths.relative(self.path)} has no vocabulary {name!r}")
        return self.vocabularies[name]

    def canonical_word(self, name: str, text: str) -> str | None:
        """The canonical word an answer stands for (case and accents ignored), or None if unknown."""
        lookup = word_lookup(self.vocabulary(name))
        return lookup.get(normalise_text(text))

    def overview(self) -> pd.DataFrame:
        """One row per variable: name, French label, French type, surveys, common core, columns."""
        rows = []
        for v in self.variables:
            kind = self.type_labels[v.type]
            if v.type == "multi":
                kind += f" ({v.max_choices} au plus parmi {len(v.codes)})"
            elif v.type == "open_words":
                kind += f" ({v.n_words})"
            if v.dont_know:
                kind += f" + {self.dont_know_code} « {self.dont_know_label} »"
            rows.append({"name": v.name, "label": v.label, "type": kind,
                         "residents": "residents" in v.surveys, "visitors": "visitors" in v.surveys,
                         "common_core": v.common_core, "columns": len(v.columns)})
        return pd.DataFrame(rows)

    def _check_survey(self, survey: str) -> None:
        if survey not in self.surveys:
            raise CodebookError(f"unknown survey {survey!r}; the codebook defines {sorted(self.surveys)}")


def normalise_text(text: str) -> str:
    """Lower case, no accents, single spaces: the form used to match answers and frame labels."""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.replace("’", "'").lower()
    s = re.sub(r"[^a-z0-9']+", " ", s)
    return " ".join(s.split())


def word_lookup(vocab: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Normalised spelling → canonical word, for every word and variant of a vocabulary."""
    out = {}
    for word, variants in vocab.items():
        out[normalise_text(word)] = word
        for v in variants:
            out[normalise_text(v)] = word
    return out


# ----------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise CodebookError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                                f"(first at line {seen[key]}); every code and name must be unique")
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(path: str | Path | None = None) -> Codebook:
    """Read and validate the codebook (default ``config/codebook.yaml``).

    Raises
    ------
    CodebookError
        Listing every inconsistency found (duplicate names or codes, missing labels, unknown
        types, common-core items not asked in both surveys, broken filters…).
    """
    path = paths.resolve(path or paths.CONFIG / CODEBOOK_FILE)
    if not path.exists():
        raise CodebookError(f"codebook {paths.relative(path)} does not exist")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise CodebookError(f"codebook {paths.relative(path)} is not valid YAML: {exc}") from exc
    except CodebookError as exc:
        raise CodebookError(f"codebook {paths.relative(path)}: {exc}") from None
    return parse(raw, path)


def parse(raw: Any, path: str | Path = "<codebook>") -> Codebook:
    """Build a :class:`Codebook` from the parsed YAML mapping, collecting every problem."""
    path = Path(path)
    where = paths.relative(path) if path.is_absolute() else str(path)
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise CodebookError(f"codebook {where} must be a mapping")
    for key in ("missing", "multi_option_codes", "surveys", "variables", "response_status"):
        if key not in raw:
            problems.append(f"top-level section {key!r} is missing")
    if problems:
        raise CodebookError(_format(where, problems))

    dk_code, dk_label, option_labels, surveys = _header(raw, problems)
    variables = _variables(raw, surveys, dk_code, problems)
    status, reasons = _response_status(raw, problems)
    dispositions = _dispositions(raw, reasons, problems)
    vocabularies = _vocabularies(raw, variables, problems)
    type_labels = raw.get("type_labels") or {}
    unlabelled = sorted({v.type for v in variables} - {t for t, lab in type_labels.items() if _is_label(lab)})
    if unlabelled:
        problems.append(f"type_labels must give a French label to the type(s) {unlabelled}")
    groupings = _groupings(raw, variables, problems)

    if problems:
        raise CodebookError(_format(where, problems))
    return Codebook(path=path, variables=tuple(variables), surveys=surveys, dont_know_code=dk_code,
                    dont_know_label=dk_label, dispositions=dispositions, status=status,
                    option_labels=dict(option_labels), groupings=tuple(groupings), type_labels=dict(type_labels),
                    vocabularies=vocabularies)


def _header(raw: dict, problems: list[str]) -> tuple[int, str, dict, dict]:
    """The « Ne sait pas » code and label, the labels of the option codes 0 and 1, and the surveys."""
    dk = raw["missing"].get("dont_know", {}) if isinstance(raw["missing"], dict) else {}
    dk_code, dk_label = dk.get("code"), dk.get("label")
    if not isinstance(dk_code, int) or not isinstance(dk_label, str) or not dk_label.strip():
        problems.append("missing.dont_know needs an integer code and a label")
        dk_code, dk_label = 99, "Ne sait pas"

    option_labels = raw["multi_option_codes"]
    if not isinstance(option_labels, dict) or sorted(option_labels) != [0, 1] \
            or not all(_is_label(x) for x in option_labels.values()):
        problems.append("multi_option_codes must label the codes 0 (not chosen) and 1 (chosen)")
        option_labels = {0: "0", 1: "1"}
    surveys = raw["surveys"] if isinstance(raw["surveys"], dict) else {}
    for s, spec in surveys.items():
        if not isinstance(spec, dict) or not spec.get("id") or not spec.get("label"):
            problems.append(f"survey {s!r} needs a label and an id column")
    return dk_code, dk_label, option_labels, surveys


def _variables(raw: dict, surveys: dict, dk_code: int, problems: list[str]) -> list[Variable]:
    """The variables in questionnaire order, their filters, and each survey's identifier and columns."""
    value_sets = raw.get("value_sets") or {}
    variables: list[Variable] = []
    names: set[str] = set()
    for i, spec in enumerate(raw["variables"] or []):
        v = _variable(spec, i, value_sets, surveys, dk_code, problems)
        if v is None:
            continue
        if v.name in names:
            problems.append(f"variable {v.name!r} is defined twice")
        names.add(v.name)
        variables.append(v)

    _check_filters(variables, problems)
    for s, spec in surveys.items():
        ids = [v.name for v in variables if v.type == "id" and s in v.surveys]
        if ids != [spec.get("id")]:
            problems.append(f"survey {s!r} must have exactly one id variable named {spec.get('id')!r}, "
                            f"found {ids}")
        cols = [c for v in variables if s in v.surveys for c in v.columns]
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            problems.append(f"survey {s!r}: export column(s) {dup} appear twice")
    return variables


def _response_status(raw: dict, problems: list[str]) -> tuple[dict, dict[str, str]]:
    """The response statuses, and reason → status."""
    status = raw["response_status"] or {}
    reasons: dict[str, str] = {}
    if sorted(status) != sorted(STATUSES):
        problems.append(f"response_status must define exactly {list(STATUSES)}, got {sorted(status)}")
    for st, spec in status.items():
        if not isinstance(spec, dict) or not _is_label(spec.get("label")) or not spec.get("reasons"):
            problems.append(f"response_status {st!r} needs a label and reasons")
            continue
        for r, lab in spec["reasons"].items():
            if not _is_label(lab):
                problems.append(f"reason {r!r} of {st!r} has no label")
            if r in reasons:
                problems.append(f"reason {r!r} is listed under two statuses")
            reasons[r] = st
    return status, reasons


def _dispositions(raw: dict, reasons: dict[str, str], problems: list[str]) -> dict[int, dict[str, str]]:
    """Contact-status code → label and the response-status reason it records."""
    dispositions = {}
    for code, spec in (raw.get("dispositions") or {}).items():
        if not isinstance(code, int) or not isinstance(spec, dict) or not _is_label(spec.get("label")):
            problems.append(f"disposition {code!r} needs an integer code and a label")
            continue
        if spec.get("reason") not in reasons:
            problems.append(f"disposition {code}: reason {spec.get('reason')!r} is not a response_status reason")
        dispositions[code] = {"label": spec["label"], "reason": spec.get("reason")}
    return dispositions


def _vocabularies(raw: dict, variables: list[Variable], problems: list[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Open-word item → canonical word → spelling variants (no spelling may belong to two words)."""
    names = {v.name for v in variables}
    vocabularies = {}
    for name, vocab in (raw.get("vocabularies") or {}).items():
        if name not in names or next(v for v in variables if v.name == name).type != "open_words":
            problems.append(f"vocabulary {name!r} does not belong to an open_words variable")
        seen: dict[str, str] = {}
        clean = {}
        for word, variants in (vocab or {}).items():
            variants = tuple(variants or ())
            for form in (word, *variants):
                norm = normalise_text(form)
                if norm in seen and seen[norm] != word:
                    problems.append(f"vocabulary {name!r}: {form!r} belongs to both {seen[norm]!r} and {word!r}")
                seen[norm] = word
            clean[str(word)] = tuple(str(x) for x in variants)
        vocabularies[name] = clean
    return vocabularies


def _groupings(raw: dict, variables: list[Variable], problems: list[str]) -> list[Grouping]:
    """Groups of codes (top-2 box, NPS groups…), checked against the variables they apply to."""
    groupings = []
    for gname, spec in (raw.get("groupings") or {}).items():
        if not isinstance(spec, dict) or not spec.get("applies_to") or not spec.get("groups"):
            problems.append(f"grouping {gname!r} needs applies_to and groups")
            continue
        targets = [v for v in variables if v.name in spec["applies_to"] or v.type in spec["applies_to"]]
        unknown = sorted(set(spec["applies_to"]) - {v.name for v in variables} - set(TYPES))
        if unknown:
            problems.append(f"grouping {gname!r}: applies_to names unknown variable(s) or type(s) {unknown}")
        groups = []
        for key, g in spec["groups"].items():
            if not isinstance(g, dict) or not _is_label(g.get("label")) or not g.get("codes"):
                problems.append(f"grouping {gname!r}: group {key!r} needs a label and codes")
                continue
            for v in targets:
                bad = sorted(set(g["codes"]) - set(v.code_values), key=str)
                if bad:
                    problems.append(f"grouping {gname!r}: group {key!r} has codes {bad} that "
                                    f"{v.name!r} does not have")
            groups.append((str(key), g["label"], tuple(g["codes"])))
        diff = spec.get("difference")
        if diff is not None:
            keys = {k for k, _, _ in groups}
            if not isinstance(diff, dict) or diff.get("plus") not in keys or diff.get("minus") not in keys \
                    or not _is_label(diff.get("label")) or not diff.get("name"):
                problems.append(f"grouping {gname!r}: difference needs name, label, plus and minus groups")
                diff = None
            else:
                diff = (diff["name"], diff["label"], diff["plus"], diff["minus"])
        groupings.append(Grouping(str(gname), tuple(spec["applies_to"]), tuple(groups), diff))
    return groupings


def _format(where: str, problems: list[str]) -> str:
    problems = list(dict.fromkeys(problems))
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"codebook {where} has {len(problems)} problem(s); fix them in the YAML file:\n{lines}"


