"""Checksums of the files each stage writes, checked by the stages that read them.

After a notebook ran, the runner records the SHA-256 of every file its ``out_*`` parameters name, in
``<folder>/.manifest/<stage>.json`` beside the files (one manifest per stage, so stages running side
by side never write the same file). Before a notebook runs, every file its other parameters name is
checked against the manifest that lists it: a file changed since its stage wrote it — edited by hand,
half-copied, or replaced — stops the run, naming the file and the stage that wrote it.

Replacing a file on purpose (weights computed by a survey institute, see ARCHITECTURE.md) is one
command: ``make accept FILE=data/processed/resident_weights.parquet`` records its new checksum,
with the date, in ``.manifest/accepted.json``; the stages downstream then use it as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Mapping

from . import paths
from .errors import InputError
from .io import write_text

FOLDER = ".manifest"
ACCEPTED = "accepted"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(params: Mapping[str, Any], outputs: bool) -> list[Path]:
    found = []
    for name, value in params.items():
        if name.startswith("out_") != outputs or not isinstance(value, str) or "/" not in value:
            continue
        p = paths.resolve(value)
        if p.is_file():
            found.append(p)
    return found


def _manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def record(stage: str, params: Mapping[str, Any]) -> list[Path]:
    """Write the checksums of the files the stage's ``out_*`` parameters name (one manifest per folder)."""
    by_folder: dict[Path, dict[str, str]] = {}
    for f in _files(params, outputs=True):
        by_folder.setdefault(f.parent, {})[f.name] = sha256(f)
    written = []
    for folder, files in sorted(by_folder.items()):
        target = folder / FOLDER / f"{stage}.json"
        target.parent.mkdir(exist_ok=True)
        body = json.dumps({"stage": stage, "files": dict(sorted(files.items()))}, indent=1, ensure_ascii=False)
        written.append(write_text(target, body + "\n"))
        accepted = folder / FOLDER / f"{ACCEPTED}.json"
        if accepted.exists():                        # the stage's new files replace what was accepted before
            entries = {k: v for k, v in _manifest(accepted)["files"].items() if k not in files}
            write_text(accepted, json.dumps({"stage": ACCEPTED, "files": entries}, indent=1) + "\n")
    return written


def expected(file: Path) -> tuple[str, str] | None:
    """(stage, checksum) recorded for ``file``, an accepted replacement first; None if no stage recorded it."""
    folder = file.parent / FOLDER
    if not folder.is_dir():
        return None
    accepted = folder / f"{ACCEPTED}.json"
    if accepted.exists():
        entry = _manifest(accepted)["files"].get(file.name)
        if entry is not None:
            return ACCEPTED, entry["sha256"]
    for m in sorted(folder.glob("*.json")):
        if m.stem != ACCEPTED:
            files = _manifest(m)["files"]
            if file.name in files:
                return m.stem, files[file.name]
    return None


def verify(stage: str, params: Mapping[str, Any]) -> None:
    """Stop when a file the stage reads differs from what the stage that wrote it recorded."""
    for f in _files(params, outputs=False):
        rec = expected(f)
        if rec is None or sha256(f) == rec[1]:
            continue
        by = "was accepted" if rec[0] == ACCEPTED else f"was written by stage {rec[0]}"
        rerun = "" if rec[0] == ACCEPTED else (
            f"delete it and run `make` to rebuild it with {rec[0]}; if notebook {rec[0]} wrote it, run outside make "
            "(JupyterLab, papermill) with other parameters, put them in config/ and run `make` instead (accepting "
            f"it would leave report {rec[0]} and the index with the old ones); or, ")
        raise InputError(f"changed since it {by} (its checksum differs), so {stage} will not read it: {rerun}if you "
                         f"replaced it on purpose with a file made elsewhere (e.g. a survey institute's weights), "
                         f"accept it with `make accept FILE={paths.relative(f)}`", file=paths.relative(f))


def accept(file: str | Path) -> Path:
    """Record the current checksum of a replaced file, so that the stages downstream read it."""
    import datetime

    f = paths.resolve(file)
    if not f.is_file():
        raise InputError("no such file to accept", file=paths.relative(f))
    if expected(f) is None:
        raise InputError("no stage recorded this file: there is nothing to accept (it is read as it is)",
                         file=paths.relative(f))
    target = f.parent / FOLDER / f"{ACCEPTED}.json"
    entries = _manifest(target)["files"] if target.exists() else {}
    entries[f.name] = {"sha256": sha256(f), "accepted": datetime.date.today().isoformat()}
    write_text(target, json.dumps({"stage": ACCEPTED, "files": dict(sorted(entries.items()))}, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.manifest", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("accept", help="accept a file replaced on purpose").add_argument("file")
    args = parser.parse_args(argv)
    try:
        target = accept(args.file)
    except InputError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    print(f"✓ {args.file} accepted ({paths.relative(target)}); the stages that read it will use it as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
