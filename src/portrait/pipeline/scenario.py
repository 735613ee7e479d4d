"""Named scenarios: « what if » runs of the chain that never overwrite the study.

    make scenario NAME=pop2019                                  # config/scenarios/pop2019.yaml
    make scenario NAME=logit SET="04_resident_weighting.calibration_method=logit"

A scenario is the study's configuration with a few parameters changed: ``NN_stage.name=value``
for one notebook, ``name=value`` for every notebook that declares ``name`` (a study-wide setting
such as ``seed``), values read as YAML. ``config/scenarios/NAME.yaml`` holds a shipped scenario
(``title``, ``description`` and ``set: {NN_stage: {name: value}}``); ``SET`` adds to it.

The runner walks the chain (01–07) in order. A stage is **re-run** when one of its parameters
differs from the study's or when it reads a file that the scenario re-made; its outputs go to
``scenarios/NAME/`` (``data/…``, ``build/executed/``, ``reports/``). Every other stage is **reused**:
the scenario reads the study's files, which it never writes. The study must be built first
(``make scenario`` runs ``make`` before). A stage already run with the same parameters and inputs is
not run again (a stamp in ``scenarios/NAME/build/stamps/``). Then the scenario's report
(``scenarios/NAME/reports/index.html``) sets its key estimates beside the study's.

The validation study (08) is not part of a scenario: it measures the method, not the results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from . import config, paths, skip_iri_grammar
from .parameters import as_yaml
from .errors import ParameterError, PortraitError, SurveyError
from .io import write_text

ROOT = paths.ROOT / "scenarios"
DEFINITIONS = paths.CONFIG / "scenarios"
NOT_IN_SCENARIOS = ("08_validation",)
REVIEWER_REPORTS = ("07_synthesis",)          # rendered without code, as the Makefile does
REPORT_NOTEBOOK = paths.NOTEBOOKS / "scenario.ipynb"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
STUDY_WIDE = "study"


@dataclass(frozen=True)
class Scenario:
    """A named set of parameter changes; ``settings[stem][name] = value`` (``stem`` may be ``study``)."""

    name: str
    title: str
    description: str
    settings: dict[str, dict[str, Any]]
    sources: dict[tuple[str, str], str] = field(default_factory=dict)   # (stem, name) → file or "SET" that set it

    def origin(self, stem: str, name: str) -> str | None:
        """Where the user set parameter ``name`` of stage ``stem`` (directly or study-wide), for error messages."""
        src = self.sources.get((stem, name)) or self.sources.get((STUDY_WIDE, name))
        if src is None:
            return None
        return f"SET (`make scenario NAME={self.name} SET=\"…\"`)" if src == "SET" else src

    def command(self) -> str:
        """The command that re-makes this scenario: ``make scenario NAME=…``, with the settings given by ``SET``
        (not in ``config/scenarios/NAME.yaml``) written back as ``SET="stage.name=value …"``."""
        sets = [(f"{stem}.{key}" if stem != STUDY_WIDE else key) + "=" + as_yaml(self.settings[stem][key])
                for (stem, key), src in self.sources.items() if src == "SET"]
        text = " ".join(sets)
        for c in '\\"$`':
            text = text.replace(c, "\\" + c)
        return f"make scenario NAME={self.name}" + (f' SET="{text}"' if sets else "")


@dataclass
class Stage:
    """One stage of a scenario: re-run (with these parameters) or reused from the study."""

    stem: str
    rerun: bool
    changes: dict[str, list[Any]] = field(default_factory=dict)     # name → [study value, scenario value]
    remade_inputs: list[str] = field(default_factory=list)          # parameter names of inputs the scenario re-made
    params: dict[str, Any] = field(default_factory=dict)


def stages() -> list[Path]:
    """The notebooks a scenario walks through, in chain order."""
    from .parameters import chain

    return [p for p in chain() if p.stem not in NOT_IN_SCENARIOS]


def folder(name: str) -> Path:
    return ROOT / name


def _is_output(key: str) -> bool:
    return key.startswith("out_")


def parse_set(item: str) -> tuple[str, str, Any]:
    """``"04_stage.name=value"`` → ``("04_stage", "name", value)``; ``"name=value"`` → ``("study", …)``."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ParameterError(f"scenario setting {item!r} must read NN_stage.name=value or name=value")
    stem, dot, name = key.strip().rpartition(".")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"scenario setting {key}: the value is not valid YAML ({exc})") from None
    return (stem if dot else STUDY_WIDE), name, value


_SETTING_START = re.compile(r"^[A-Za-z0-9_.]+=")


def split_settings(text: str) -> list[str]:
    """``SET`` as typed → its settings: split on spaces as the shell would (quotes kept together), and a piece
    that does not start ``name=`` continues the value before it, so ``trimming=[0.5, 2.5]`` is one setting."""
    out: list[str] = []
    for piece in shlex.split(text):
        if out and not _SETTING_START.match(piece):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def load(name: str, sets: list[str] | tuple[str, ...] = ()) -> Scenario:
    """The scenario ``name``: ``config/scenarios/NAME.yaml`` if it exists, then the ``sets``."""
    if not NAME.match(name or ""):
        raise ParameterError(f"scenario name {name!r}: use lower-case letters, digits, - and _ "
                             "(it names the folder scenarios/NAME/)")
    title, description, settings, sources = name, "", {}, {}
    file = DEFINITIONS / f"{name}.yaml"
    if file.exists():
        spec = config.read_yaml(file)
        unknown = sorted(set(spec) - {"title", "description", "set"})
        if unknown:
            raise ParameterError(f"{paths.relative(file)}: unknown keys {unknown} (allowed: title, description, set)")
        title, description = str(spec.get("title", name)), str(spec.get("description", "")).strip()
        for stem, values in (spec.get("set") or {}).items():
            if not isinstance(values, dict):
                raise ParameterError(f"{paths.relative(file)}: set.{stem} must map parameter names to values")
            settings.setdefault(str(stem), {}).update(values)
            sources.update({(str(stem), str(k)): paths.relative(file) for k in values})
    if not file.exists():        # the report and the index would show the bare name and nothing else
        description = (f"Variante définie en ligne de commande (SET), sans fichier config/scenarios/{name}.yaml : "
                       "ses paramètres sont ci-dessous.")
    for item in sets:
        stem, key, value = parse_set(item)
        settings.setdefault(stem, {})[key] = value
        sources[(stem, key)] = "SET"
    scn = Scenario(name, title, description, settings, sources)
    _check(scn, file if file.exists() else None)
    return scn


def _check(scn: Scenario, file: Path | None) -> None:
    """Every setting names a stage of the scenario and a parameter it declares, and changes something."""
    from .parameters import cell_defaults

    where = paths.relative(file) if file else "SET"
    if not any(scn.settings.values()):
        shipped = sorted(p.stem for p in DEFINITIONS.glob("*.yaml"))
        remedy = (f"give SET=\"NN_stage.name=value\" or write config/scenarios/{scn.name}.yaml (shipped scenarios: "
                  f"{', '.join(shipped) or 'none'})")
        if file is None:        # a name typed wrong is the likelier mistake: said first, with a guess
            raise ParameterError(f"no scenario {scn.name!r} in config/scenarios/ and no SET"
                                 f"{config.did_you_mean([scn.name], shipped)}; a scenario changes parameters: {remedy}")
        raise ParameterError(f"scenario {scn.name!r} changes no parameter: {remedy}")
    declared = {p.stem: set(cell_defaults(p)) for p in stages()}
    for stem, values in scn.settings.items():
        if stem != STUDY_WIDE and stem not in declared:
            raise ParameterError(f"{where}: {stem!r} is not a stage of a scenario{config.did_you_mean([stem], declared)} "
                                 f"(stages: {sorted(declared)})")
        for key in values:
            if _is_output(key):
                raise ParameterError(f"{where}: {stem}.{key} is an output path; a scenario's outputs go to "
                                     f"scenarios/{scn.name}/ by themselves")
            owners = [s for s, names in declared.items() if key in names] if stem == STUDY_WIDE else \
                ([stem] if key in declared[stem] else [])
            if not owners:
                hint = config.did_you_mean([key], set().union(*declared.values()) if stem == STUDY_WIDE
                                           else declared[stem])
                raise ParameterError((f"{where}: no stage declares a parameter {key!r}" if stem == STUDY_WIDE
                                      else f"{where}: {stem} declares no parameter {key!r}") + hint)


def plan(scn: Scenario) -> list[Stage]:
    """Which stages the scenario re-runs, with which parameters, and which it reuses from the study."""
    from .parameters import cell_defaults
    from .run import resolve_parameters

    remade: set[str] = set()           # study-relative paths the scenario writes anew
    out = []
    for nb in stages():
        defaults = cell_defaults(nb)
        study = {**defaults, **resolve_parameters(nb)}
        own = {k: v for k, v in scn.settings.get(STUDY_WIDE, {}).items() if k in defaults}
        own.update(scn.settings.get(nb.stem, {}))
        scenario = {**study, **own}
        changes = {k: [study[k], v] for k, v in scenario.items()
                   if json.dumps(study[k], default=str) != json.dumps(v, default=str)}
        inputs = [k for k, v in scenario.items() if not _is_output(k) and isinstance(v, str) and _key(v) in remade]
        stage = Stage(nb.stem, bool(changes or inputs), changes, inputs)
        if stage.rerun:
            for k, v in scenario.items():
                if isinstance(v, str) and (_is_output(k) or k in inputs):
                    scenario[k] = f"scenarios/{scn.name}/{v}"
                    if _is_output(k):
                        remade.add(_key(v))
            stage.params = scenario
        out.append(stage)
    return out


def _key(path: str) -> str:
    """A path as the repository-relative name that two spellings of it share."""
    return paths.relative(paths.resolve(path))


def _digest(path: Path, h) -> None:
    if path.is_file():
        h.update(path.relative_to(paths.ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    elif path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                _digest(p, h)


def stamp(stage: Stage) -> str:
    """What a re-run stage depends on: its parameters, its notebook, the package, config/ and its input files."""
    h = hashlib.sha256(json.dumps(stage.params, sort_keys=True, default=str).encode())
    for p in [paths.NOTEBOOKS / f"{stage.stem}.ipynb", paths.ROOT / "src" / "portrait"]:
        _digest(p, h)
    for p in sorted(paths.CONFIG.glob("*.yaml")):
        _digest(p, h)
    for k, v in sorted(stage.params.items()):
        if not _is_output(k) and isinstance(v, str) and ("/" in v or v.startswith(".")):
            candidate = paths.resolve(v)
            if candidate.exists() and candidate.is_relative_to(paths.ROOT):
                _digest(candidate, h)
    return h.hexdigest()


def _render(executed: Path, html: Path, no_input: bool) -> None:
    cmd = [sys.executable, "-m", "portrait.reporting.render", str(executed), str(html)]
    r = subprocess.run(cmd + (["--no-input"] if no_input else []), capture_output=True, text=True)
    if r.returncode != 0:
        raise PortraitError(f"rendering {paths.relative(html)} failed:\n{r.stderr[-2000:]}")


def _study_built() -> None:
    missing = [paths.relative(paths.EXECUTED / f"{nb.stem}.ipynb") for nb in stages()
               if not (paths.EXECUTED / f"{nb.stem}.ipynb").exists()]
    if missing:
        raise ParameterError(f"the study is not built ({', '.join(missing)} missing): run `make` first; "
                             "a scenario reuses the study's outputs")


def run(scn: Scenario, say: Callable[[str], None] = print) -> Path:
    """Run the scenario into ``scenarios/NAME/``; return the path of its report."""
    _study_built()
    base = folder(scn.name)
    stage_list = plan(scn)
    say(f"scenario {scn.name}: {scn.title}")
    pending = [s.stem for s in stage_list if s.rerun]
    try:
        for stage in stage_list:
            if not stage.rerun:
                _forget(scn.name, stage.stem)
                say(f"  = {stage.stem}: reused from the study (same parameters and inputs)")
                continue
            why = ", ".join(f"{k} {as_yaml(a)} → {as_yaml(b)}" for k, (a, b) in stage.changes.items()) or \
                "reads " + ", ".join(stage.remade_inputs) + " re-made by the scenario"
            origins = {k: o for k in stage.changes if (o := scn.origin(stage.stem, k))}
            _run_stage(stage, base, stage.stem, why, stage.stem in REVIEWER_REPORTS,
                       f"{stage.stem}.html", say, origins=origins)
            pending.remove(stage.stem)
        manifest = write_manifest(scn, stage_list)
        report = Stage(REPORT_NOTEBOOK.stem, True, params=report_parameters(scn, stage_list))
        html = _run_stage(report, base, "the scenario's report", "", True, "index.html", say, quiet_if_current=True)
    except Exception:
        _withdraw(scn.name, pending, say)
        raise
    say(f"✓ {paths.relative(html)} (manifest {paths.relative(manifest)})")
    return html


def _run_stage(stage: Stage, base: Path, label: str, why: str, no_input: bool, html_name: str,
               say: Callable[[str], None], quiet_if_current: bool = False,
               origins: dict[str, str] | None = None) -> Path:
    """Execute and render one notebook into the scenario's folder, unless its stamp says it is up to date."""
    from . import run as runner

    nb = paths.NOTEBOOKS / f"{stage.stem}.ipynb"
    out, html = base / "build" / "executed" / nb.name, base / "reports" / html_name
    stamp_file = base / "build" / "stamps" / f"{stage.stem}.sha256"
    key = stamp(stage)
    detail = f" ({why})" if why else ""
    if out.exists() and html.exists() and stamp_file.exists() and stamp_file.read_text().strip() == key:
        if not quiet_if_current:
            say(f"  ✓ {label}: up to date{detail}")
        return html
    say(f"  ▶ {label}: re-run{detail}")
    stamp_file.unlink(missing_ok=True)
    runner.run(nb, out, stage.params, origins=origins)
    _render(out, html, no_input)
    write_text(stamp_file, key + "\n")
    return html


def _withdraw(name: str, stems: list[str], say: Callable[[str], None]) -> None:
    """After a failure: remove the reports an earlier run of the scenario left for the stages not re-made
    (``stems``), its report and its manifest, so that neither its folder nor the index shows an old result."""
    base = folder(name)
    gone = [p for p in [base / "reports" / f"{s}.html" for s in stems] + [base / "reports" / "index.html",
                                                                          base / "scenario.json"] if p.exists()]
    for p in gone:
        p.unlink()
    if gone:
        say(f"  reports of the scenario withdrawn until it runs again: {', '.join(paths.relative(p) for p in gone)}")


def _forget(name: str, stem: str) -> None:
    """Remove what an earlier run of this scenario (with other settings) left for a stage now reused:
    its executed notebook, report, stamp and output files, so that nothing stale is read or shown."""
    from .parameters import cell_defaults

    base = folder(name)
    for p in (base / "build" / "executed" / f"{stem}.ipynb", base / "reports" / f"{stem}.html",
              base / "build" / "stamps" / f"{stem}.sha256"):
        p.unlink(missing_ok=True)
    for key, value in cell_defaults(paths.NOTEBOOKS / f"{stem}.ipynb").items():
        if _is_output(key) and isinstance(value, str):
            target = base / value
            if not target.resolve().is_relative_to(base.resolve()):
                continue
            if target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)


def write_manifest(scn: Scenario, stage_list: list[Stage]) -> Path:
    """``scenarios/NAME/scenario.json``: what the scenario changed, and which stages it re-ran."""
    doc = {"name": scn.name, "title": scn.title, "description": scn.description, "command": scn.command(),
           "settings": scn.settings,
           "stages": [{"stage": s.stem, "rerun": s.rerun, "changes": s.changes, "remade_inputs": s.remade_inputs}
                      for s in stage_list]}
    path, text = folder(scn.name) / "scenario.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return path                     # unchanged: make does not rebuild the index
    return write_text(path, text)


def report_parameters(scn: Scenario, stage_list: list[Stage]) -> dict[str, Any]:
    """Parameters of the scenario report: the study's and the scenario's comparison files."""
    by = {s.stem: s for s in stage_list}
    comparison = by.get("06_comparison")
    from .parameters import cell_defaults

    study = cell_defaults(paths.NOTEBOOKS / "06_comparison.ipynb")
    scen = comparison.params if comparison and comparison.rerun else study
    return {"name": scn.name, "manifest": f"scenarios/{scn.name}/scenario.json",
            "study_differences": study["out_differences"], "scenario_differences": scen["out_differences"]}


def manifests() -> list[dict[str, Any]]:
    """The manifests of the scenarios built so far, by name."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(ROOT.glob("*/scenario.json"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.scenario", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario into scenarios/NAME/")
    r.add_argument("name")
    r.add_argument("--set", default="", help='"NN_stage.name=value name=value …" (values read as YAML)')
    sub.add_parser("list", help="the shipped and the built scenarios")
    args = parser.parse_args(argv)
    skip_iri_grammar()                  # the scenario runs its stages' notebooks in this process
    try:
        if args.cmd == "list":
            for p in sorted(DEFINITIONS.glob("*.yaml")):
                built = "built" if (folder(p.stem) / "scenario.json").exists() else "not built"
                print(f"{p.stem}\t{config.read_yaml(p).get('title', '')}\t({built})")
            # run with SET= only, or stopped by a failure: an analyst's trial found them in no listing
            shipped = {p.stem for p in DEFINITIONS.glob("*.yaml")}
            for d in sorted(p for p in ROOT.glob("*") if p.is_dir() and p.name not in shipped):
                state = "built" if (d / "scenario.json").exists() else "not built: its last run failed or stopped"
                print(f"{d.name}\t(settings given with SET=)\t({state})")
            return 0
        run(load(args.name, split_settings(args.set)))
    except (PortraitError, SurveyError) as exc:
        print(f"✗ scenario {args.name}: {str(exc).removeprefix('✗ ')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
