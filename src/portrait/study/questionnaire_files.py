"""The two questionnaires as LimeSurvey structure files, to import rather than build by hand.

``make questionnaire`` writes ``reports/questionnaire/limesurvey_<survey>.txt``: LimeSurvey's tab-separated
survey structure (« Create survey » → « Import », a ``.txt`` file), one per survey, from the codebook
(``config/codebook.yaml``: wording, codes, filters, limits) and the LimeSurvey layout of
``config/survey_tools.yaml`` (question codes, answer codes ``A<code>``, subquestion codes). A survey
built from it exports exactly the columns and codes the check reads (``make check-survey``):

- a single choice or a 1–5 agreement is a list (``L``) with answers ``A<code>``, « Ne sait pas » ``A99``
  only where the codebook allows it; a 0–10 score a list ``A0``…``A10``;
- the agreement items the layout writes as ``IMG[SQ001]``… are one array (``F``) of subquestions;
- a multi-select item is a multiple choice (``M``) with « Maximum answers » set to the codebook's limit and
  no « Other »; the open words a multiple short text (``Q``) with « Maximum characters »;
- a whole number is a numerical input (``N``, integers, the codebook's bounds); an INSEE code a short text
  (``S``) validated by the codebook's pattern;
- a filtered question gets its relevance equation (``REGION`` only when ``PAYS`` is France);
- the questions the weighting needs are mandatory (residents: sex and age);
- survey settings: French, responses not anonymised (the token links a response to its sampled unit), no
  timings, no IP address or referrer URL saved (personal data the study does not need).

The format is the one LimeSurvey's ``TSVImportSurvey`` reads (columns ``class``, ``type/scale``, ``name``,
``relevance``, ``text``…, then one column per question attribute). The files hold no personal data.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

from ..pipeline import paths
from ..pipeline.errors import ParameterError, PortraitError, SurveyError
from ..pipeline.io import atomic_path
from .codebook import Codebook, Variable
from .ingest import NEEDED_BY_WEIGHTING
from .survey_tools import DEFAULT_FILE, ToolLayout, check_columns

#: The columns of the file: LimeSurvey's fixed ones, then the question attributes used here.
COLUMNS = ["class", "type/scale", "name", "relevance", "text", "help", "language", "validation", "mandatory",
           "other", "default", "same_default", "max_answers", "maximum_chars", "min_num_value_n",
           "max_num_value_n", "num_value_int_only"]
LANGUAGE = "fr"
#: Survey settings (class ``S``): see the module docstring.
SETTINGS = {"language": LANGUAGE, "anonymized": "N", "format": "G", "savetimings": "N", "datestamp": "Y",
            "ipaddr": "N", "refurl": "N"}
GROUPS = {"profile": "Vous", "context": "Votre lien avec les Hauts-de-France",
          "opinion": "Votre image des Hauts-de-France"}
ARRAY_TEXT = "Êtes-vous d'accord avec chacune des affirmations suivantes ?"
OUT_DIR = Path("reports") / "questionnaire"
#: LimeSurvey's limit on answer codes (5 letters or digits); its question codes are the layout's ``column_pattern``.
ANSWER_CODE = re.compile(r"[A-Za-z0-9]{1,5}")
BRACKETED = re.compile(r"([^\[\]]+)\[([^\[\]]+)\]")


def limesurvey_rows(codebook: Codebook, lay: ToolLayout, survey: str) -> list[dict[str, str]]:
    """The rows of ``survey``'s structure file (one dict per row, keys among :data:`COLUMNS`)."""
    rows = [{"class": "S", "name": k, "text": v} for k, v in SETTINGS.items()]
    rows.append({"class": "SL", "name": "surveyls_title", "text": codebook.surveys[survey]["label"],
                 "language": LANGUAGE})
    variables = [v for v in codebook.variables_for(survey) if v.role != "technical"]
    missing = [v.name for v in variables if v.name not in lay.questions]
    if missing:
        raise ParameterError(f"{DEFAULT_FILE}: the {lay.label} layout names no column for {', '.join(missing)}")
    role, k = None, 0
    while k < len(variables):
        v = variables[k]
        if v.role != role:
            role = v.role
            rows.append({"class": "G", "name": GROUPS.get(role, role), "relevance": "1", "language": LANGUAGE})
        array = _array_members(variables, k, lay)
        mandatory = "Y" if v.name in NEEDED_BY_WEIGHTING.get(survey, ()) else "N"
        if len(array) > 1:
            rows += _array(array, codebook, lay)
            k += len(array)
            continue
        rows += _question(v, codebook, lay, variables, mandatory)
        k += 1
    return rows


def _split(column: str, v: Variable) -> tuple[str, str]:
    """``IMG[SQ001]`` → (``IMG``, ``SQ001``): a question of several columns is QUESTION[SUBQUESTION] in LimeSurvey."""
    m = BRACKETED.fullmatch(column)
    if not m:
        raise ParameterError(f"{DEFAULT_FILE}: LimeSurvey column {column!r} of {v.name!r} is not QUESTION[SUBQUESTION]")
    return m[1], m[2]


def _array_members(variables: list[Variable], k: int, lay: ToolLayout) -> list[Variable]:
    """The run of single-column coded items from ``k`` that the layout writes as subquestions of one question."""
    def stem(v: Variable) -> str | None:
        m = BRACKETED.fullmatch(lay.questions[v.name])
        return m[1] if m and v.type in ("single", "likert_1_5") else None

    first = stem(variables[k])
    if first is None:
        return [variables[k]]
    run = [variables[k]]
    while k + len(run) < len(variables) and stem(variables[k + len(run)]) == first:
        run.append(variables[k + len(run)])
    return run


def _answers(v: Variable, codebook: Codebook, lay: ToolLayout) -> list[dict[str, str]]:
    out = []
    for code, label in codebook.labels(v.name, dont_know=v.dont_know).items():
        name = lay.code(code)
        if not ANSWER_CODE.fullmatch(name):
            raise ParameterError(f"{DEFAULT_FILE}: LimeSurvey answer code {name!r} of {v.name!r} must be 1 to 5 "
                                 "letters or digits")
        out.append({"class": "A", "type/scale": "0", "name": name, "text": label, "language": LANGUAGE})
    return out


def _array(members: list[Variable], codebook: Codebook, lay: ToolLayout) -> list[dict[str, str]]:
    answers = [_answers(v, codebook, lay) for v in members]
    if any(a != answers[0] for a in answers):
        raise ParameterError(f"{DEFAULT_FILE}: {', '.join(v.name for v in members)} share a LimeSurvey array but "
                             "not the same answers in the codebook")
    title = _split(lay.questions[members[0].name], members[0])[0]
    rows = [{"class": "Q", "type/scale": "F", "name": title, "relevance": "1", "text": ARRAY_TEXT,
             "language": LANGUAGE, "mandatory": "N", "other": "N"}]
    rows += [{"class": "SQ", "type/scale": "0", "name": _split(lay.questions[v.name], v)[1], "relevance": "1",
              "text": v.label, "language": LANGUAGE} for v in members]
    return rows + answers[0]


def _question(v: Variable, codebook: Codebook, lay: ToolLayout, variables: list[Variable],
              mandatory: str) -> list[dict[str, str]]:
    q = {"class": "Q", "text": v.label, "language": LANGUAGE, "mandatory": mandatory, "other": "N",
         "relevance": _relevance(v, codebook, lay)}
    if v.type in ("multi", "open_words"):
        cols = list(lay.columns(v).values())
        q["name"] = _split(cols[0], v)[0]
        subs = [_split(c, v)[1] for c in cols]
        if v.type == "multi":
            q.update({"type/scale": "M", "max_answers": str(v.max_choices)})
            texts = [c.label for c in v.codes]
        else:
            q.update({"type/scale": "Q", "maximum_chars": str(v.max_length) if v.max_length else "",
                      "help": f"Jusqu'à {v.n_words} mots ou expressions."})
            texts = [f"Mot ou expression {n}" for n in range(1, len(cols) + 1)]
        return [q] + [{"class": "SQ", "type/scale": "0", "name": s, "relevance": "1", "text": t, "language": LANGUAGE}
                      for s, t in zip(subs, texts)]
    q["name"] = lay.questions[v.name]
    if v.type in ("single", "likert_1_5", "score_0_10"):
        return [{**q, "type/scale": "L"}] + _answers(v, codebook, lay)
    if v.type == "integer":
        return [{**q, "type/scale": "N", "num_value_int_only": "1",
                 "min_num_value_n": "" if v.minimum is None else str(v.minimum),
                 "max_num_value_n": "" if v.maximum is None else str(v.maximum)}]
    if v.type == "geo_code":
        return [{**q, "type/scale": "S", "validation": f"/{v.pattern}/" if v.pattern else "",
                 "help": "Le code INSEE de votre commune, en cinq caractères (par exemple 59350 pour Lille)."}]
    raise ParameterError(f"config/codebook.yaml: no LimeSurvey question type for {v.name!r} ({v.type})")


def _relevance(v: Variable, codebook: Codebook, lay: ToolLayout) -> str:
    """LimeSurvey's relevance equation of a filtered question (« 1 »: always asked)."""
    if v.asked_if is None:
        return "1"
    ref, codes = v.asked_if
    column = lay.questions[ref]
    return " or ".join(f'{column}.NAOK == "{lay.code(c)}"' for c in codes)


def to_tsv(rows: list[dict[str, str]]) -> str:
    """The rows as LimeSurvey's tab-separated file (header first, cells quoted only where needed)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, delimiter="\t", quotechar='"', lineterminator="\n", restval="")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write(codebook: Codebook, lay: ToolLayout, out_dir: Path) -> list[Path]:
    """Write ``limesurvey_<survey>.txt`` for each survey of the codebook; return the paths."""
    check_columns(lay, codebook, DEFAULT_FILE)        # codes LimeSurvey would rename on import stop here
    texts = {out_dir / f"limesurvey_{survey}.txt": to_tsv(limesurvey_rows(codebook, lay, survey))
             for survey in codebook.surveys}         # both built before either is written
    for path, text in texts.items():
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return list(texts)


def main(argv: list[str] | None = None) -> int:
    from . import codebook as codebook_module
    from .survey_tools import layout

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", default=str(OUT_DIR), help=f"folder to write into (default {OUT_DIR})")
    args = parser.parse_args(argv)
    try:
        cb = codebook_module.load()
        lay = layout("limesurvey", cb)
        for path in write(cb, lay, paths.resolve(args.out)):
            print(f"✓ {paths.relative(path)}: import it in LimeSurvey (« Create survey » → « Import », .txt file)")
    except (PortraitError, SurveyError) as e:
        print(f"✗ {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
