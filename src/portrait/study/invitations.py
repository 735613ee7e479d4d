"""Invitation files for the survey tool: who is invited, with which token, in the tool's import format.

- **Residents**: one row per invitation slot of the sample, with its token and commune (the letters
  are addressed by the fieldwork team: the sample holds no address).
- **Visitors**: one row per sampled person, re-linked to the e-mail address (and name, where the
  partner file has one) of the person's first record in the raw partner files. The pseudonym of that
  address is recomputed with the study's key and must equal the sampled ``person_id``: a partner file
  that changed since the frame was drawn stops the writing.

Tokens are :func:`portrait.study.survey_tools.tokens` of the unit ids (native layout: the unit id
itself). The files hold personal data: they are written only under ``private/invitations/``
(git-ignored, readable by their owner only), never into ``data/processed/`` or a report.
"""

from __future__ import annotations

import csv
import io as _io
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.errors import InputError, PortraitError, SurveyError
from ..pipeline.io import atomic_path
from .partner_layouts import read_layouts
from .partner_records import read_identities
from .survey_tools import ToolLayout, tokens
from .visitors import DOT_INSENSITIVE_DOMAINS, clean_email, normalise_emails, pseudonymise

PRIVATE_DIR = "private/invitations"
ROLES = ("first_name", "last_name", "email", "token", "language", "place")
ZONES_FR = {"npdc": "Nord-Pas de Calais", "picardie": "Picardie", "both": "Nord-Pas de Calais et Picardie"}


def resident_invitations(slots: pd.DataFrame, key: bytes, lay: ToolLayout | None) -> pd.DataFrame:
    """One row per resident invitation slot: token (roles of :data:`ROLES`), commune as the place."""
    ids = slots["slot_id"].astype(str)
    return pd.DataFrame({
        "first_name": "", "last_name": "", "email": "",
        "token": ids.to_numpy() if lay is None else tokens(ids, "residents", key),
        "language": "fr", "place": (slots["code"].astype(str) + " " + slots["nom"].astype(str)).to_numpy()})


def visitor_invitations(sample: pd.DataFrame, frame: pd.DataFrame, partner_folder: str | Path, key: bytes,
                        lay: ToolLayout | None, *, layouts: str | Path = "config/partner_layouts.yaml",
                        dot_insensitive_domains: Sequence[str] = DOT_INSENSITIVE_DOMAINS) -> pd.DataFrame:
    """One row per sampled visitor, re-linked to the e-mail and name of the person's first partner record."""
    first = sample[["person_id", "zone"]].merge(frame[["person_id", "first_file_id", "first_row"]], on="person_id",
                                                how="left", validate="one_to_one")
    if first["first_file_id"].isna().any():
        raise InputError("sampled persons are missing from the visitor frame: run the chain again",
                         file=paths.relative(paths.resolve("data/processed/visitor_frame.parquet")))
    folder = paths.resolve(partner_folder)
    found = []
    for pf in read_layouts(layouts):
        mine = first.loc[first["first_file_id"] == pf.id]
        if len(mine):
            ident = read_identities(folder, pf, mine["first_row"].to_numpy())
            ident.index = mine.index
            ident["file"] = pf.file
            found.append(ident)
    ident = pd.concat(found).loc[first.index]
    canonical, _ = normalise_emails(ident["email"], dot_insensitive_domains)
    again = pseudonymise(canonical, key).to_numpy()
    changed = np.flatnonzero(again != first["person_id"].to_numpy())
    if len(changed):
        i = changed[0]
        raise InputError(f"{len(changed)} sampled person(s) no longer match their partner record (the file changed "
                         "since the frame was drawn, or another key is in use): run the chain again before writing "
                         "invitations", file=paths.relative(folder / ident["file"].iloc[i]),
                         row=int(ident["row"].iloc[i]))
    full = ident["full_name"].fillna("")
    last = ident["last_name"].where(ident["last_name"] != "", full)
    ids = first["person_id"].astype(str)
    return pd.DataFrame({
        "first_name": ident["first_name"].to_numpy(), "last_name": last.to_numpy(),
        "email": clean_email(ident["email"]).to_numpy(),     # a trial: « mailto:… » and zero-width spaces were written
        "token": ids.to_numpy() if lay is None else tokens(ids, "visitors", key), "language": "fr",
        "place": first["zone"].map(ZONES_FR).fillna("").to_numpy()})


def write_invitations(table: pd.DataFrame, survey: str, lay: ToolLayout | None,
                      folder: str | Path = PRIVATE_DIR) -> Path:
    """Write one survey's invitations in the tool's participant-import format (native: ``;`` CSV)."""
    folder = paths.resolve(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if lay is None:
        names, delimiter, name = {r: r for r in ROLES}, ";", f"native_{survey}.csv"
    else:
        names, delimiter, name = lay.invitation_columns, lay.delimiter, f"{lay.name}_{survey}.csv"
    out = table[[r for r in ROLES if r in names]].rename(columns=names)
    buf = _io.StringIO()
    out.to_csv(buf, sep=delimiter, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    path = folder / name
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    os.chmod(path, 0o600)
    return path


def main(argv: list[str] | None = None) -> int:
    """``make invitations``: both surveys' invitation files for the configured survey tool."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m portrait.study.invitations", description=main.__doc__)
    parser.add_argument("--tool", help="survey tool (default: survey_tool of config/03_fieldwork.yaml)")
    parser.add_argument("--out", default=PRIVATE_DIR)
    args = parser.parse_args(argv)
    try:
        return _write_all(args.tool, args.out)
    except (PortraitError, SurveyError) as exc:      # a missing key or sample: one line, as `make check-survey`
        print(f"✗ no invitation file written: {exc}", file=sys.stderr)
        return 1


def _write_all(tool: str | None, out: str) -> int:
    from ..pipeline import config
    from . import codebook as codebook_mod
    from .survey_tools import layout
    from .visitors import pseudonymisation_key

    p2 = config.notebook_parameters("notebooks/02_visitor_frame.ipynb")
    key = pseudonymisation_key(p2.get("pseudo_key_file", ".portrait-key"), create=False)
    p3 = config.notebook_parameters("notebooks/03_fieldwork.ipynb")
    for f in ("resident_slots", "visitor_sample", "visitor_frame"):
        if not paths.resolve(p3[f]).exists():
            raise PortraitError(f"{p3[f]} does not exist: run `make` first (the invitations are those of the samples "
                                "it draws)")
    cb = codebook_mod.load(p3.get("codebook_file", "config/codebook.yaml"))
    lay = layout(tool or p3.get("survey_tool", "native"), cb, p3.get("tools_file", "config/survey_tools.yaml"))
    partners = p2["real_partners_dir"] if p2.get("partners_source") == "real" else p2["out_synthetic_partners"]
    slots = pd.read_parquet(paths.resolve(p3["resident_slots"]))
    sample = pd.read_parquet(paths.resolve(p3["visitor_sample"]))
    frame = pd.read_parquet(paths.resolve(p3["visitor_frame"]))
    written = [write_invitations(resident_invitations(slots, key, lay), "residents", lay, out),
               write_invitations(visitor_invitations(sample, frame, partners, key, lay,
                                                     layouts=p2.get("partner_layouts", "config/partner_layouts.yaml"),
                                                     dot_insensitive_domains=p2.get("dot_insensitive_domains",
                                                                                    DOT_INSENSITIVE_DOMAINS)),
                                 "visitors", lay, out)]
    for path, n in zip(written, (len(slots), len(sample))):
        print(f"✓ {paths.relative(path)}: {n:,} invitations (personal data: keep it out of git and of e-mails)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
