"""The partner layouts mapping (``config/partner_layouts.yaml``): which partner file has which layout.

:func:`read_layouts` reads and checks it into one :class:`PartnerFile` per declared file (column
names by role, encoding, separator or sheet, consent and value codes, file-level defaults); the
ingest (:mod:`portrait.study.visitors`) and the synthetic generator
(:mod:`portrait.study.synthetic_partners`) both follow it, so no layout detail lives in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

from ..pipeline import paths
from ..pipeline.config import read_yaml
from ..pipeline.errors import InputError, ParameterError


SOURCE_TYPES = ("office_tourisme", "hebergement", "site_culturel_loisir", "congres_salon",
                "groupe_senior")
ZONES = ("npdc", "picardie", "both")
PURPOSES = ("leisure", "business", "both")
FORMATS = ("csv", "xlsx")
#: roles the ingest reads
READ_ROLES = ("email", "consent", "last_visit", "zone", "purpose", "country", "postcode")
#: direct identifiers: their presence is checked, their content is never read by the ingest
IDENTIFIER_ROLES = ("last_name", "first_name", "full_name")
#: other partner columns, never read
OTHER_ROLES = ("client_id",)
ROLES = READ_ROLES + IDENTIFIER_ROLES + OTHER_ROLES
REQUIRED_ROLES = ("email", "consent", "last_visit")
COUNTRY_CODINGS = ("name_fr", "name_en", "iso2")
DEFAULT_LAYOUTS = "config/partner_layouts.yaml"
SYNTHETIC_DIR = "data/synthetic/partners"
REAL_DIR = "data/raw/partners"


# ------------------------------------------------------------------------------ layouts


@dataclass(frozen=True)
class PartnerFile:
    """One partner file as declared in the layouts mapping.

    Attributes
    ----------
    id : short file id used in outputs (``P01`` …).
    file : file name in the partner folder.
    source_type : one of :data:`SOURCE_TYPES`.
    format : ``csv`` or ``xlsx``; ``encoding`` and ``separator`` for CSV, ``sheet`` for XLSX.
    layout : name of the layout in the mapping.
    columns : role → column header (roles in :data:`ROLES`).
    consent_meaning, consent_values : ``opt_in`` (listed values = agrees) or ``opt_out``
        (listed values = refused), values casefolded; ``consent_others`` the values that mean the opposite (blank
        always does); any other value stops the ingest.
    date_format : strftime format of ``last_visit`` or ``"excel"`` (date cells).
    zone_values, purpose_values : casefolded partner value → code.
    zone, purpose : file-level defaults (used when there is no column or the cell is blank).
    country_coding : how the partner writes countries (used by the generator).
    synthetic_size : relative size for the generator.
    order : position in the mapping (breaks ties between records of different files).
    """

    id: str
    file: str
    source_type: str
    format: str
    layout: str
    columns: Mapping[str, str]
    consent_meaning: str
    consent_values: tuple[str, ...]
    date_format: str
    consent_others: tuple[str, ...] = ()
    zone_values: Mapping[str, str] = field(default_factory=dict)
    purpose_values: Mapping[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    separator: str = ";"
    sheet: str | int = 0
    zone: str | None = None
    purpose: str | None = None
    country_coding: str = "name_fr"
    synthetic_size: float = 1.0
    order: int = 0


def _fold(value: str) -> str:
    """Trimmed, casefolded form used to compare partner codes."""
    return str(value).strip().casefold()


def read_layouts(path: str | Path = DEFAULT_LAYOUTS) -> tuple[PartnerFile, ...]:
    """Read and check the partner layouts mapping; return the files in mapping order.

    Raises
    ------
    InputError
        Naming the mapping file and the entry, when a file entry or a layout is incomplete or
        inconsistent (unknown role, source type, format or code; no e-mail column; no zone).
    """
    path = paths.resolve(path)
    where = paths.relative(path)
    try:
        data = read_yaml(path)
    except ParameterError as exc:
        raise InputError(str(exc), file=where) from exc
    layouts = data.get("layouts")
    entries = data.get("files")
    if not isinstance(layouts, dict) or not isinstance(entries, list) or not entries:
        raise InputError("the mapping needs a 'layouts' mapping and a non-empty 'files' list",
                         file=where)

    def bad(msg: str, entry: str) -> InputError:
        return InputError(f"{entry}: {msg}", file=where)

    out: list[PartnerFile] = []
    seen_ids: set[str] = set()
    seen_files: set[str] = set()
    for i, e in enumerate(entries):
        label = f"files[{i}]"
        if not isinstance(e, dict):
            raise bad("each file entry must be a mapping", label)
        for key in ("id", "file", "source_type", "format", "layout"):
            if key not in e:
                raise bad(f"'{key}' is missing", label)
        label = f"file {e['file']!r} (id {e['id']})"
        fid, fname = str(e["id"]), str(e["file"])
        if fid in seen_ids:
            raise bad("id is used twice", label)
        if fname in seen_files:
            raise bad("file is declared twice", label)
        seen_ids.add(fid)
        seen_files.add(fname)
        out.append(_partner_file(e, i, layouts, partial(bad, entry=label)))
    return tuple(out)


def _partner_file(e: Mapping[str, Any], i: int, layouts: Mapping[str, Any],
                  bad: Callable[[str], InputError]) -> PartnerFile:
    """One file entry of the mapping (``i``-th, with its layout) checked into a :class:`PartnerFile`."""
    if e["source_type"] not in SOURCE_TYPES:
        raise bad(f"source_type must be one of {', '.join(SOURCE_TYPES)}")
    if e["format"] not in FORMATS:
        raise bad(f"format must be one of {', '.join(FORMATS)}")
    lay = layouts.get(e["layout"])
    if not isinstance(lay, dict):
        raise bad(f"layout {e['layout']!r} is not defined under 'layouts'")
    columns = dict(lay.get("columns") or {})
    columns.update(e.get("columns") or {})
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise bad(f"unknown column role(s) {unknown}; roles are {', '.join(ROLES)}")
    if "email" not in columns:
        raise bad("no e-mail column is declared (role 'email'); the ingest needs one")
    for role in REQUIRED_ROLES:
        if role not in columns:
            raise bad(f"no column is declared for the required role {role!r}")
    consent = lay.get("consent") or {}
    if consent.get("meaning") not in ("opt_in", "opt_out") or not consent.get("values"):
        raise bad("layout needs consent: {meaning: opt_in|opt_out, values: [...], others: [...]}")
    if not all(isinstance(x, (str, int)) and not isinstance(x, bool)
               for x in [*consent["values"], *(consent.get("others") or ())]):   # YAML reads no, yes, oui? unquoted
        raise bad("write consent values in quotes (\"no\", \"yes\"): YAML reads some words unquoted as true/false")
    if set(map(_fold, consent["values"])) & set(map(_fold, consent.get("others") or ())):
        raise bad("a consent value is listed under both values and others")
    zone_values = {_fold(k): v for k, v in (lay.get("zone_values") or {}).items()}
    purpose_values = {_fold(k): v for k, v in (lay.get("purpose_values") or {}).items()}
    if any(v not in ZONES for v in zone_values.values()):
        raise bad(f"zone_values must map to {', '.join(ZONES)}")
    if any(v not in PURPOSES for v in purpose_values.values()):
        raise bad(f"purpose_values must map to {', '.join(PURPOSES)}")
    if "zone" in columns and not zone_values:
        raise bad("a zone column needs zone_values in its layout")
    if "purpose" in columns and not purpose_values:
        raise bad("a purpose column needs purpose_values in its layout")
    zone = e.get("zone")
    if zone is not None and zone not in ZONES:
        raise bad(f"zone must be one of {', '.join(ZONES)}")
    if zone is None and "zone" not in columns:
        raise bad("neither a zone column nor a file-level zone is declared")
    purpose = e.get("purpose")
    if purpose is not None and purpose not in PURPOSES:
        raise bad(f"purpose must be one of {', '.join(PURPOSES)}")
    coding = lay.get("country_coding", "name_fr")
    if coding not in COUNTRY_CODINGS:
        raise bad(f"country_coding must be one of {', '.join(COUNTRY_CODINGS)}")
    date_format = lay.get("date_format")
    if not isinstance(date_format, str):
        raise bad("layout needs a date_format (strftime format or 'excel')")
    if e["format"] == "csv" and date_format == "excel":
        raise bad("date_format 'excel' is only possible for xlsx files")
    return PartnerFile(
        id=str(e["id"]), file=str(e["file"]), source_type=e["source_type"], format=e["format"],
        layout=str(e["layout"]), columns=columns, consent_meaning=consent["meaning"],
        consent_values=tuple(_fold(v) for v in consent["values"]), date_format=date_format,
        consent_others=tuple(_fold(v) for v in consent.get("others") or ()),
        zone_values=zone_values, purpose_values=purpose_values,
        encoding=str(e.get("encoding", "utf-8")), separator=str(e.get("separator", ";")),
        sheet=e.get("sheet", 0), zone=zone, purpose=purpose, country_coding=coding,
        synthetic_size=float(e.get("synthetic_size", 1.0)), order=i)
