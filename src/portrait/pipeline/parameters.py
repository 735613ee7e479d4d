"""The notebooks' ``parameters`` cells, kept equal to the configuration ``make`` injects.

An analyst who runs a notebook cell by cell in JupyterLab gets the defaults of its ``parameters``
cell; ``make`` injects ``config/study.yaml`` + ``config/<stem>.yaml`` (see :mod:`.run`). So that
both give the same numbers, every default that the configuration also sets is *generated* from it:

    python -m portrait.pipeline.parameters sync     # rewrite the cells from config/ (make params)
    python -m portrait.pipeline.parameters check    # exit 1 and list the drift (make test does it too)
    python -m portrait.pipeline.parameters stamps   # each stage's share of config/study.yaml, for Make

Defaults that no YAML file sets (the stage's input and output paths) belong to the notebook and are
left as written; ``make`` uses them too.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from . import paths
from .errors import ParameterError
from .io import write_text


def as_yaml(value) -> str:
    """A parameter as it is written in config/*.yaml (``raking``, ``[0.3, 3.0]``, ``null``), not as a Python repr."""
    import yaml

    plain = json.loads(json.dumps(value, default=str))   # notebook metadata nodes become plain dicts and lists
    text = yaml.safe_dump(plain, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("...").strip()


HEADER = ("# defaults = config/study.yaml + config/{stem}.yaml, written by `make params`: "
          "running this notebook in JupyterLab gives what `make` gives")


def chain() -> list[Path]:
    """The chain's notebooks, in order (``notebooks/NN_*.ipynb``)."""
    return sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _files(defaults: dict[str, Any]) -> tuple[set[Path], set[Path]]:
    """(files read, files written) named by a notebook's path parameters (``out_*`` are written)."""
    read, written = set(), set()
    for name, value in defaults.items():
        if isinstance(value, str) and "/" in value:
            (written if name.startswith("out_") else read).add(paths.resolve(value))
    return read, written


def stage_files() -> dict[str, tuple[set[Path], set[Path]]]:
    """Stage → (files it reads, files it writes), in chain order, from the path parameters of the
    notebooks' ``parameters`` cells (``out_*`` are written)."""
    return {nb.stem: _files(cell_defaults(nb)) for nb in chain()}


def downstream(stems: Iterable[str]) -> list[str]:
    """The stages ``stems`` and every stage that reads, directly or through other stages, a file
    one of them writes, in chain order."""
    files = stage_files()
    reached = set(stems)
    unknown = sorted(reached - set(files))
    if unknown:
        raise ParameterError(f"{unknown[0]!r} is not a stage of the chain (notebooks/NN_*.ipynb)")
    produced: set[Path] = set()
    for stem, (read, written) in files.items():       # chain order: a stage reads only what earlier ones wrote
        if stem in reached or read & produced:
            reached.add(stem)
            produced |= written
    return [s for s in files if s in reached]


def _cell(nb: dict) -> dict:
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ParameterError(f"a notebook needs exactly one cell tagged 'parameters', found {len(tagged)}")
    return tagged[0]


def cell_defaults(notebook: str | Path) -> dict[str, Any]:
    """The values assigned in the notebook's ``parameters`` cell (literals only).

    The notebook is read as plain JSON (no schema validation): this runs for every notebook each time
    the runner resolves parameters."""
    nb = json.loads(paths.resolve(notebook).read_text(encoding="utf-8"))
    source = _cell(nb)["source"]
    out = {}
    for node in ast.parse("".join(source) if isinstance(source, list) else source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ParameterError(f"{paths.relative(notebook)}: the parameters cell must hold only "
                                 f"'name = literal' lines (line {node.lineno})")
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def configured(notebook: str | Path) -> dict[str, Any]:
    """The values ``make`` injects that come from ``config/`` (not the notebook's own path defaults)."""
    from .run import resolve_parameters

    return resolve_parameters(paths.resolve(notebook))


def drift(notebook: str | Path) -> dict[str, tuple[Any, Any]]:
    """``{name: (notebook default, configured value)}`` for every default that differs from the configuration."""
    defaults, conf = cell_defaults(notebook), configured(notebook)
    return {k: (defaults.get(k), v) for k, v in conf.items() if k not in defaults or not _same(defaults[k], v)}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if not isinstance(a, (list, dict)) else \
        json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def literal(value: Any) -> str:
    """Python source for a YAML value (strings in double quotes, as the notebooks write them)."""
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise ParameterError(f"a parameter value must be a YAML scalar, list or mapping, got {type(value).__name__}")


def sync(notebook: str | Path) -> bool:
    """Rewrite the ``parameters`` cell from the configuration; return whether it changed."""
    import nbformat

    path = paths.resolve(notebook)
    nb = nbformat.read(path, as_version=4)
    cell = _cell(nb)
    conf = configured(path)
    defaults = cell_defaults(path)
    lines = [HEADER.format(stem=path.stem)]
    for name, value in defaults.items():
        lines.append(f"{name} = {literal(conf[name]) if name in conf else literal(value)}")
    lines += [f"{name} = {literal(value)}" for name, value in conf.items() if name not in defaults]
    source = "\n".join(lines)
    if source == cell.source:
        return False
    cell.source = source
    write_text(path, nbformat.writes(nb) + "\n")
    return True


def study_stamp(notebook: str | Path) -> Path:
    """``build/params/<stem>.study.json``: the share of ``config/study.yaml`` a notebook declares (Make's prerequisite)."""
    return paths.BUILD / "params" / f"{Path(notebook).stem}.study.json"


def write_study_stamps() -> list[str]:
    """Write each notebook's share of ``config/study.yaml`` (the study-wide settings its parameters cell declares)
    to :func:`study_stamp`, only where it changed; return the stages whose earlier share changed.

    A stage depends on its share, not on the whole file: switching ``source: real`` after the invitations went
    out re-runs the stages that read the answers, not those that draw the samples (which would draw the same ones,
    but a board watching its samples being drawn again cannot know that)."""
    from . import config

    study = config.study()
    written = []
    for nb in chain():
        declared = cell_defaults(nb)
        text = json.dumps({k: study[k] for k in sorted(study) if k in declared}, sort_keys=True, default=str,
                          ensure_ascii=False) + "\n"
        path = study_stamp(nb)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            if path.exists():
                written.append(nb.stem)
            write_text(path, text)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.parameters",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["check", "sync", "stamps"])
    parser.add_argument("notebooks", nargs="*", help="default: every notebook of the chain")
    args = parser.parse_args(argv)
    if args.command == "stamps":
        changed = write_study_stamps()
        if changed:
            print(f"config/study.yaml changed for {', '.join(changed)}: "
                  + ("they re-run" if len(changed) > 1 else "it re-runs"))
        return 0
    notebooks = [paths.resolve(n) for n in args.notebooks] or chain()
    status = 0
    for nb in notebooks:
        if args.command == "sync":
            print(f"{'✓ rewrote' if sync(nb) else '  unchanged'} {paths.relative(nb)}")
            continue
        for name, (default, value) in drift(nb).items():
            print(f"✗ {paths.relative(nb)}: {name} = {default!r} in the parameters cell, "
                  f"{value!r} in config/ (run `make params`)", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
