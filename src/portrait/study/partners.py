"""Partner client files: their declared layouts, and a generator of realistic synthetic ones.

The visitor frame (STUDY §3) comes from the client files of tourism partners. Real files are
personal data: they go in ``data/raw/partners/``, which git ignores. Which file has which layout
(column names, encoding, separator, value codes) is declared in ``config/partner_layouts.yaml``
and read by :func:`read_layouts`; the ingest (:mod:`portrait.study.visitors`) and the generator both
follow it, so no layout detail lives in code.

Until real files exist, :func:`generate_partner_files` writes synthetic ones (git-ignored
``data/synthetic/partners/``) with the defects real exports have: different column names,
``;``-separated cp1252 CSV beside UTF-8 CSV and XLSX workbooks, e-mail case, whitespace and dot
variants, duplicates inside a file, missing and invalid e-mails, missing consent, people present
in several files, country and postcode of residence (postcodes that lost their leading zero in
spreadsheets), zone visited, date of last visit and purpose.

Synthetic people get first names and surnames from the lists of the generator and e-mail
addresses only on the reserved domains ``example.org``, ``example.net`` and ``example.com``
(RFC 2606). In the simulated world ``example.com`` plays the part of a webmail provider that,
like Gmail, ignores dots in the local part: the generator writes dot variants only for those
addresses, and the study parameter ``dot_insensitive_domains`` lists it beside ``gmail.com``.

Output is byte-identical for the same seed and parameters (XLSX included: fixed document
properties and fixed ZIP entry timestamps).

The layouts are read in :mod:`portrait.study.partner_layouts` and the synthetic files written by
:mod:`portrait.study.synthetic_partners`; their names are re-exported here, beside
:func:`partner_folder`, which chooses between the two folders.
"""

from __future__ import annotations

from pathlib import Path

from ..pipeline import paths
from ..pipeline.errors import InputError, ParameterError
from .partner_layouts import (COUNTRY_CODINGS, DEFAULT_LAYOUTS, FORMATS, IDENTIFIER_ROLES, OTHER_ROLES, PURPOSES,
                              READ_ROLES, REAL_DIR, REQUIRED_ROLES, ROLES, SOURCE_TYPES, SYNTHETIC_DIR, ZONES,
                              PartnerFile, read_layouts)
from .synthetic_partners import (COUNTRY_NAMES, COUNTRY_SHARES, DOT_INSENSITIVE_SYNTHETIC, EMAIL_DOMAIN_SHARES,
                                 EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, NAME_ORIGIN, SyntheticPartners,
                                 generate_partner_files)

__all__ = ["SOURCE_TYPES", "ZONES", "PURPOSES", "FORMATS", "READ_ROLES", "IDENTIFIER_ROLES", "OTHER_ROLES", "ROLES",
           "REQUIRED_ROLES", "COUNTRY_CODINGS", "DEFAULT_LAYOUTS", "SYNTHETIC_DIR", "REAL_DIR", "PartnerFile",
           "read_layouts", "FIRST_NAMES", "LAST_NAMES", "NAME_ORIGIN", "COUNTRY_SHARES", "COUNTRY_NAMES",
           "EMAIL_DOMAINS", "EMAIL_DOMAIN_SHARES", "DOT_INSENSITIVE_SYNTHETIC", "SyntheticPartners",
           "generate_partner_files", "partner_folder"]


def partner_folder(source: str, *, synthetic_dir: str | Path = SYNTHETIC_DIR,
                   real_dir: str | Path = REAL_DIR, layouts: str | Path = DEFAULT_LAYOUTS,
                   n_records: int = 110_000, n_files: int | None = None, seed: int = 2017,
                   reference_date: str = "2017-03-01") -> Path:
    """The folder of partner files to ingest: generated now (``synthetic``) or the real one.

    ``source="synthetic"`` (re)generates the files into ``synthetic_dir``; ``source="real"``
    checks that ``real_dir`` exists and holds files (git-ignored ``data/raw/partners/``).
    """
    if source == "synthetic":
        return generate_partner_files(synthetic_dir, layouts=layouts, n_records=n_records,
                                      n_files=n_files, seed=seed,
                                      reference_date=reference_date).folder
    if source == "real":
        folder = paths.resolve(real_dir)
        if not folder.is_dir() or not any(p for p in folder.iterdir() if not p.name.startswith(".")):
            raise InputError("no partner file found; put the partners' client files there "
                             "(the folder is git-ignored) and declare each one in the layouts "
                             "mapping, or set partners_source to 'synthetic'",
                             file=paths.relative(folder))
        return folder
    raise ParameterError(f"parameter 'partners_source' must be 'synthetic' or 'real', got {source!r}")
