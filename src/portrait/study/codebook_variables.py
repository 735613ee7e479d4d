"""The variables (questions) of the codebook: codes, export columns, and the checks of their entries.

A :class:`Variable` and its :class:`Code` are built from one entry of ``variables`` in
``config/codebook.yaml`` by :func:`_variable`, which adds every problem it finds to the list that
:func:`portrait.study.codebook.parse` reports at once. Names are re-exported by
:mod:`portrait.study.codebook`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable


TYPES = ("id", "single", "likert_1_5", "score_0_10", "integer", "multi", "open_words", "geo_code")
ROLES = ("technical", "profile", "opinion", "context")
CODED_TYPES = ("single", "likert_1_5", "multi")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ----------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Code:
    """One code of a variable: its value, French label and optional machine key."""

    value: int | str
    label: str
    key: str | None = None


@dataclass(frozen=True)
class Variable:
    """One question of the codebook (see the header of ``config/codebook.yaml``)."""

    name: str
    label: str
    type: str
    surveys: tuple[str, ...]
    role: str = "opinion"
    common_core: bool = False
    codes: tuple[Code, ...] = ()
    dont_know: bool = False
    ordered: bool = False
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_choices: int | None = None
    n_words: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    anchors: tuple[tuple[int, str], ...] = ()
    asked_if: tuple[str, tuple[int | str, ...]] | None = None

    # ---- codes and labels

    @property
    def code_values(self) -> list[int | str]:
        """The substantive codes (without 99 « Ne sait pas »); 0..10 for a score."""
        if self.type == "score_0_10":
            return list(range(11))
        return [c.value for c in self.codes]

    @property
    def text_codes(self) -> bool:
        """True when the codes are text (e.g. department codes ``"02"``), not integers."""
        return bool(self.codes) and isinstance(self.codes[0].value, str)

    def keys(self) -> dict[str, int | str]:
        """Machine key → code (only codes that declare a key)."""
        return {c.key: c.value for c in self.codes if c.key is not None}

    def key_of(self) -> dict[int | str, str]:
        """Code → machine key (only codes that declare a key)."""
        return {c.value: c.key for c in self.codes if c.key is not None}

    # ---- columns in the exports

    @property
    def columns(self) -> list[str]:
        """Export columns of this variable, in order."""
        if self.type == "multi":
            return [option_column(self.name, c.value) for c in self.codes]
        if self.type == "open_words":
            return [f"{self.name}_{i}" for i in range(1, int(self.n_words) + 1)]
        return [self.name]


def option_column(name: str, code: int | str) -> str:
    """Column of one option of a multi-select item: ``forces`` and 4 give ``forces_04``."""
    return f"{name}_{int(code):02d}"


# ----------------------------------------------------------------------------- checks of a variable's entry


def _is_label(x: Any) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _codes(name: str, raw: Any, value_sets: dict, problems: list[str]) -> tuple[Code, ...]:
    where = f"variable {name!r}"
    if isinstance(raw, str):
        if raw not in value_sets:
            problems.append(f"variable {name!r}: value set {raw!r} is not defined under value_sets")
            return ()
        where = f"value_sets.{raw}"       # named once, not once per variable sharing it
        raw = value_sets[raw]
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: codes must be a non-empty mapping code: label")
        return ()
    out = []
    kinds = {type(k) for k in raw}
    if not (kinds <= {int} or kinds <= {str}):
        problems.append(f"{where}: codes mix integers and text {sorted(map(str, raw))}")
    keys: set[str] = set()
    for code, spec in raw.items():
        if isinstance(code, bool) or not isinstance(code, (int, str)):
            problems.append(f"{where}: code {code!r} must be an integer or a quoted text")
            continue
        label, key = (spec.get("label"), spec.get("key")) if isinstance(spec, dict) else (spec, None)
        if not _is_label(label):
            problems.append(f"{where}: code {code!r} has no label")
            continue
        if key is not None:
            key = str(key)
            if key in keys:
                problems.append(f"{where}: key {key!r} is used by two codes")
            keys.add(key)
        out.append(Code(code, label.strip(), key))
    labels = [c.label for c in out]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        problems.append(f"{where}: label(s) {dup} used by two codes")
    return tuple(out)


def _variable(spec: Any, i: int, value_sets: dict, surveys: dict, dk_code: int,
              problems: list[str]) -> Variable | None:
    if not isinstance(spec, dict):
        problems.append(f"variables[{i}] must be a mapping")
        return None
    name = spec.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"variables[{i}]: name {name!r} must be lower-case letters, digits and _")
        return None
    known = {"name", "label", "type", "surveys", "role", "common_core", "codes", "dont_know", "ordered",
             "required", "min", "max", "max_choices", "n_words", "max_length", "pattern", "anchors",
             "asked_if"}
    unknown = sorted(set(spec) - known)
    if unknown:
        problems.append(f"variable {name!r}: unknown field(s) {unknown}")
    if not _is_label(spec.get("label")):
        problems.append(f"variable {name!r} has no label")
    vtype = spec.get("type")
    if vtype not in TYPES:
        problems.append(f"variable {name!r}: unknown type {vtype!r}; types are {', '.join(TYPES)}")
        return None
    svs = spec.get("surveys") or []
    bad = sorted(set(svs) - set(surveys))
    if not svs or bad:
        problems.append(f"variable {name!r}: surveys {svs} must be a non-empty list among {sorted(surveys)}")
    role = spec.get("role", "opinion")
    if role not in ROLES:
        problems.append(f"variable {name!r}: unknown role {role!r}; roles are {', '.join(ROLES)}")
    common = bool(spec.get("common_core", False))
    if common and sorted(set(svs)) != sorted(surveys):
        problems.append(f"variable {name!r} is in the common core but is not asked in every survey "
                        f"(asked in {svs})")
    codes = _variable_codes(spec, name, vtype, value_sets, dk_code, problems)
    dont_know = bool(spec.get("dont_know", False))
    if dont_know and vtype not in ("single", "likert_1_5", "score_0_10", "integer"):
        problems.append(f"variable {name!r}: « Ne sait pas » is not possible for a {vtype} variable")
    return Variable(
        name=name, label=str(spec.get("label", "")).strip(), type=vtype, surveys=tuple(svs), role=role,
        common_core=common, codes=codes, dont_know=dont_know, ordered=bool(spec.get("ordered", False)),
        required=bool(spec.get("required", False)) or vtype == "id",
        **_type_fields(spec, name, vtype, codes, dont_know, dk_code, problems),
        asked_if=_asked_if(spec, name, problems))


def _variable_codes(spec: dict, name: str, vtype: str, value_sets: dict, dk_code: int,
                    problems: list[str]) -> tuple[Code, ...]:
    """The codes of a coded variable (none for the other types), checked against its type."""
    codes: tuple[Code, ...] = ()
    if vtype in CODED_TYPES:
        codes = _codes(name, spec.get("codes"), value_sets, problems)
        values = [c.value for c in codes]
        if vtype == "likert_1_5" and values != [1, 2, 3, 4, 5]:
            problems.append(f"variable {name!r}: a likert_1_5 item needs exactly the codes 1..5, got {values}")
        if vtype == "multi" and not all(isinstance(x, int) and 1 <= x <= 98 for x in values):
            problems.append(f"variable {name!r}: multi-select options need integer codes 1..98")
        if dk_code in values:
            problems.append(f"variable {name!r}: code {dk_code} is reserved for « Ne sait pas »")
    elif "codes" in spec:
        problems.append(f"variable {name!r}: a {vtype} variable takes no codes")
    return codes


def _type_fields(spec: dict, name: str, vtype: str, codes: tuple[Code, ...], dont_know: bool, dk_code: int,
                 problems: list[str]) -> dict[str, Any]:
    """The fields of one type only (score anchors, integer range, options, words, INSEE code pattern), checked."""
    anchors: tuple[tuple[int, str], ...] = ()
    if vtype == "score_0_10":
        a = spec.get("anchors") or {}
        if not a or not all(isinstance(k, int) and 0 <= k <= 10 and _is_label(t) for k, t in a.items()):
            problems.append(f"variable {name!r}: a score needs anchors {{0: label, 10: label}}")
        anchors = tuple(sorted((int(k), str(t)) for k, t in a.items() if isinstance(k, int)))
    lo, hi = spec.get("min"), spec.get("max")
    if vtype == "integer" and not (isinstance(lo, int) and isinstance(hi, int) and lo < hi):
        problems.append(f"variable {name!r}: an integer variable needs integer min < max")
    if vtype == "integer" and dont_know and isinstance(hi, int) and hi >= dk_code:
        problems.append(f"variable {name!r}: max {hi} overlaps the « Ne sait pas » code {dk_code}")
    max_choices = spec.get("max_choices")
    if vtype == "multi" and not (isinstance(max_choices, int) and 1 <= max_choices <= max(len(codes), 1)):
        problems.append(f"variable {name!r}: max_choices must be an integer between 1 and the number of options")
    n_words = spec.get("n_words")
    if vtype == "open_words" and not (isinstance(n_words, int) and n_words >= 1):
        problems.append(f"variable {name!r}: n_words must be a positive integer")
    pattern = spec.get("pattern")
    if vtype == "geo_code":
        try:
            re.compile(pattern or "")
        except re.error as exc:
            problems.append(f"variable {name!r}: pattern {pattern!r} is not a regular expression ({exc})")
        if not pattern:
            problems.append(f"variable {name!r}: a geo_code needs a pattern")
    return dict(minimum=lo if vtype == "integer" else None, maximum=hi if vtype == "integer" else None,
                max_choices=max_choices if vtype == "multi" else None,
                n_words=n_words if vtype == "open_words" else None,
                max_length=spec.get("max_length") if vtype == "open_words" else None,
                pattern=pattern if vtype == "geo_code" else None, anchors=anchors)


def _asked_if(spec: dict, name: str, problems: list[str]) -> tuple[str, tuple[int | str, ...]] | None:
    """The filter of a question: the variable and the codes of it for which the question is asked."""
    if spec.get("asked_if") is None:
        return None
    f = spec["asked_if"]
    if not isinstance(f, dict) or "variable" not in f or not f.get("codes"):
        problems.append(f"variable {name!r}: asked_if needs a variable and a list of codes")
        return None
    return (str(f["variable"]), tuple(f["codes"]))


def _check_filters(variables: Iterable[Variable], problems: list[str]) -> None:
    before: dict[str, Variable] = {}
    for v in variables:
        if v.asked_if is not None:
            ref, codes = v.asked_if
            if ref not in before:
                problems.append(f"variable {v.name!r}: filter variable {ref!r} must come earlier "
                                "in the questionnaire")
            else:
                r = before[ref]
                if r.type != "single":
                    problems.append(f"variable {v.name!r}: filter variable {ref!r} must be a single-choice item")
                missing = sorted(set(codes) - set(r.code_values), key=str)
                if missing:
                    problems.append(f"variable {v.name!r}: filter codes {missing} are not codes of {ref!r}")
                if not set(v.surveys) <= set(r.surveys):
                    problems.append(f"variable {v.name!r}: filter variable {ref!r} is not asked in {list(v.surveys)}")
        before[v.name] = v
