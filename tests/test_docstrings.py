"""Every public name of the survey engine (``portrait.survey.__all__``) has a complete numpydoc docstring.

The oracle is ``numpydoc.validate.validate`` (numpydoc's own checks, by error code) plus two rules it
does not have, read from the objects and their source:

* functions (and :meth:`Design.from_frame`, the way designs are built) must pass the codes in
  ``FUNCTION_CODES``: a one-line summary that starts with a capital letter and an infinitive verb and
  ends with a period; every signature parameter documented, none unknown, in order, each with a type
  and a capitalised description ending with a period; a ``Returns`` section (type on its own line,
  then a capitalised description ending with a period) for every function that returns a value;
  sections known and in numpydoc's order; no tabs, no double blank lines, closing quotes alone;
* classes must pass ``CLASS_CODES`` (the same minus the parameter and return codes: a result class is
  not called by users) and document every dataclass field in an ``Attributes`` section, with a type
  and a description; error classes (``SurveyError`` and its subclasses) need an extended summary
  saying when they are raised (``ES01``);
* a function that raises one of the engine's errors (``raise ParameterError(…)`` and so on, in its
  own body or in a function nested in it) names that error in its ``Raises`` section.

Constants (``CALIBRATION_METHODS``, ``LONELY``, ``ALLOCATION_RULES``) are tuples, which carry no
docstring of their own; they are documented by the ``#:`` comments and docstrings around them.
``SA01`` (See Also), ``EX01`` (Examples) and ``ES01`` (extended summary, except for errors) are not
required: examples are given where they are cheap and correct, not everywhere.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap

from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import validate

import portrait.survey as survey
from portrait.survey import errors

GENERAL_CODES = {"GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL10",
                 "SS01", "SS02", "SS03", "SS04", "SS05", "SS06"}
FUNCTION_CODES = GENERAL_CODES | {"PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09",
                                  "PR10", "RT01", "RT02", "RT03", "RT04", "RT05", "YD01"}
CLASS_CODES = GENERAL_CODES
ERROR_CODES = GENERAL_CODES | {"ES01"}
ENGINE_ERRORS = {name for name, obj in vars(errors).items()
                 if inspect.isclass(obj) and issubclass(obj, errors.SurveyError)}
# methods held to the function rules: the documented way to build the object
METHODS = ("Design.from_frame",)


def _raised_engine_errors(func) -> set[str]:
    """Engine errors named in a ``raise`` statement of ``func``'s source (nested functions included)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in ENGINE_ERRORS:
                found.add(exc.id)
    return found


def _documented_raises(doc: NumpyDocString) -> set[str]:
    """Error names in the Raises section (numpydoc reads a lone ``CalibrationError`` line as a type)."""
    return {(p.type or p.name).strip() for p in doc["Raises"]}


def _problems(name: str) -> list[str]:
    """What the docstring of ``portrait.survey.<name>`` lacks, as ``"<name>: <code> <message>"`` lines."""
    obj = functools.reduce(getattr, name.split("."), survey)          # "Design.from_frame" is a method
    if inspect.isclass(obj):
        codes = ERROR_CODES if issubclass(obj, errors.SurveyError) else CLASS_CODES
    else:
        codes = FUNCTION_CODES
    out = [f"{name}: {code} {message}" for code, message in validate(f"portrait.survey.{name}")["errors"]
           if code in codes]
    doc = NumpyDocString(inspect.getdoc(obj) or "")
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        documented = {p.name.strip(): p for p in doc["Attributes"]}
        for f in dataclasses.fields(obj):
            entry = documented.get(f.name)
            if entry is None:
                out.append(f"{name}: attribute {f.name!r} is not in the Attributes section")
            elif not entry.type.strip() or not "".join(entry.desc).strip():
                out.append(f"{name}: attribute {f.name!r} needs a type and a description")
        out += [f"{name}: Attributes documents {a!r}, which is not a field"
                for a in documented if a not in {f.name for f in dataclasses.fields(obj)}
                and not isinstance(getattr(obj, a, None), property)]
    if not inspect.isclass(obj):
        missing = _raised_engine_errors(obj) - _documented_raises(doc)
        out += [f"{name}: raises {e} but its Raises section does not say so" for e in sorted(missing)]
    return out


def test_every_public_name_of_the_engine_has_a_numpydoc_docstring():
    names = [n for n in survey.__all__ if callable(getattr(survey, n))] + list(METHODS)
    assert len(names) >= 56, names          # 59 public names, of which 3 constants
    problems = [p for n in names for p in _problems(n)]
    assert not problems, f"{len(problems)} docstring problem(s):\n" + "\n".join(problems)

