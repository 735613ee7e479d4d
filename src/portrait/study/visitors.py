"""Visitor frame and sample from partner client files (STUDY §3): ingest, pseudonymise, de-duplicate, draw.

The workflow, in the order the functions run:

1. **Read** every file of the partner folder as the layouts mapping declares it
   (:func:`read_partner_file`, in :mod:`portrait.study.partner_records`); a file without a mapping
   entry, an unreadable encoding, a missing e-mail (or other mapped) column, an empty file: an
   :class:`~portrait.pipeline.errors.InputError` naming the file, and the row or column where
   relevant. Only the columns the study needs are read: name columns are checked for presence but
   never loaded. Values read from partner files are never echoed in messages (a mis-declared
   column could hold personal data).
2. **Normalise** e-mails (:func:`normalise_emails`), **validate** them, **pseudonymise** them with
   a keyed hash (:func:`pseudonymise`) and drop them at once: from there on a person is a
   pseudonym. Countries become ISO codes; postcodes are reduced to the French department (and
   region) of residence and dropped, foreign postcodes are dropped.
3. **Account** for every record in a ledger: kept, or excluded with the first reason that applies,
   in this order: ``missing_email``, ``invalid_email``, ``no_consent``, ``out_of_scope`` (last
   visit more than ``scope_months`` before the reference date, after it, missing or unreadable;
   zone visited unknown), ``duplicate_within_file``, ``duplicate_across_files``. Record checks
   come first and de-duplication last, so a duplicate is always a duplicate of an eligible
   record; per file, records in = kept + excluded.
4. **Frame**: one row per person holding at least one eligible record, with the person's
   multiplicity (number of files with an eligible record of theirs) and the file × file overlap.
5. **Stratify** by zone visited × source type, **allocate** the invitations proportionally with a
   minimum per stratum, **draw** a stratified simple random sample without replacement,
   π = n_h / N_h.

E-mail normalisation
--------------------
Leading and trailing whitespace (non-breaking spaces included), invisible format characters anywhere
(zero-width spaces and joiners, soft hyphens, direction marks, byte-order marks: left by copy and paste)
and a ``mailto:`` prefix are removed and the address is lower-cased. The local part is case-sensitive in RFC 5321, but no
mainstream provider treats it so and partners' files are full of case variants: treating
``Jean.Dupont@`` and ``jean.dupont@`` as one mailbox is the accepted practice. Dots and a
``+tag`` in the local part are removed **only** for the domains of ``dot_insensitive_domains``,
providers that document those forms as the same mailbox (Gmail: ``gmail.com``, with
``googlemail.com`` as an alias); elsewhere ``jean.dupont@`` and ``jeandupont@`` may be two
people and stay two. The synthetic partner files use ``example.com`` as a simulated Gmail-like
webmail, hence its place in the study's ``dot_insensitive_domains`` parameter. Internationalised
addresses are valid (RFC 6531): a domain such as ``café.fr`` is written in its ASCII form
(``xn--caf-dma.fr``, IDNA), so that both spellings are one mailbox; a local part may hold accents.

Pseudonymisation key
--------------------
A person's pseudonym is ``HMAC-SHA256(key, normalised e-mail)``, as 32 hexadecimal digits
(128 bits). The key comes from the environment variable ``PORTRAIT_PSEUDO_KEY`` when it is
set (at least 16 characters; use a random one such as the 64 hex digits of
``python -c "import secrets; print(secrets.token_hex(32))"``), otherwise from the file
``.portrait-key`` at the repository root, which is created on first run with 32 random bytes
from :mod:`secrets` (64 hex digits, mode 600) and is git-ignored. Keep the key outside git and with the raw partner files: it is what links a
pseudonym back to an address when invitations are sent, and what makes the pseudonyms of two
runs comparable. Another key gives other pseudonyms, and exactly the same frame, strata and
selected records: the frame is ordered by each person's first record (file order, then row),
not by pseudonym, before the draw.

Stratum of a person found in several files
------------------------------------------
Zone visited: the union of the zones of the person's eligible records — ``npdc`` (Nord-Pas de
Calais), ``picardie``, or ``both`` when records show both (or a record says both). Source type:
fixed priority order ``source_priority``, by default congres_salon > groupe_senior >
hebergement > site_culturel_loisir > office_tourisme, from the most specific partner type to the
broadest (whatever the files' sizes): a person on a congress list and in a tourist-office newsletter
file is a congress visitor. The record of the priority source type is the one kept (ties: file order,
then row); the person's other eligible records are ``duplicate_across_files``. Country and
department of residence are taken from the first record giving them in that same order;
purpose is the union of the purposes recorded (leisure, business, or both); last visit the most
recent.

References
----------
Krawczyk, H., Bellare, M. and Canetti, R. (1997). HMAC: Keyed-Hashing for Message
Authentication. RFC 2104.
Mecatti, F. (2007). A single frame multiplicity estimator for multiple frame surveys. *Survey
Methodology* 33(2), 151–157. (multiplicity, kept for the analysis)
Lohr, S. L. (2011). Alternative survey sample designs: sampling with multiple overlapping
frames. *Survey Methodology* 37(2), 197–213.
"""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.config import date as config_date, require
from ..pipeline.errors import InputError, ParameterError, SamplingError
from ..reporting import formatting as fmt
from ..survey import allocate
from . import visitor_draw
from .partner_layouts import DEFAULT_LAYOUTS, SOURCE_TYPES, ZONES, PartnerFile, read_layouts
from .partner_records import (ABROAD, COUNTRY_SYNONYMS, DEPARTMENT_REGION, INVISIBLE, UNKNOWN_COUNTRY, UNKNOWN_REGION,
                              _standardise, blank_rows, normalise_countries, read_partner_file, residence_counts,
                              residence_department)

__all__ = ["KEY_ENV", "KEY_FILE", "KEY_MIN_CHARS", "PSEUDONYM_HEX", "SOURCE_PRIORITY", "DOT_INSENSITIVE_DOMAINS",
           "DOMAIN_ALIASES", "REASONS", "STATUSES", "ZONE_LABELS", "SOURCE_LABELS", "STATUS_LABELS", "EMAIL_PATTERN",
           "COUNTRY_SYNONYMS", "UNKNOWN_COUNTRY", "DEPARTMENT_REGION", "ABROAD", "UNKNOWN_REGION",
           "normalise_emails", "pseudonymise", "pseudonymisation_key", "read_partner_file", "normalise_countries",
           "residence_department", "VisitorIngest", "ingest_partner_files", "ledger_summary", "multiplicity_table",
           "VisitorDesign", "allocate_invitations", "draw_visitor_sample", "ledger_table_fr", "strata_table_fr"]

KEY_ENV = "PORTRAIT_PSEUDO_KEY"
KEY_FILE = ".portrait-key"
KEY_MIN_CHARS = 16
PSEUDONYM_HEX = 32
SOURCE_PRIORITY = ("congres_salon", "groupe_senior", "hebergement", "site_culturel_loisir",
                   "office_tourisme")
DOT_INSENSITIVE_DOMAINS = ("gmail.com", "googlemail.com")
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
REASONS = ("missing_email", "invalid_email", "no_consent", "out_of_scope",
           "duplicate_within_file", "duplicate_across_files")
STATUSES = ("kept",) + REASONS

ZONE_LABELS = {"npdc": "Nord-Pas de Calais", "picardie": "Picardie", "both": "Les deux"}
SOURCE_LABELS = {"office_tourisme": "Offices de tourisme", "hebergement": "Hébergement",
                 "site_culturel_loisir": "Sites culturels et de loisirs",
                 "congres_salon": "Congrès et salons", "groupe_senior": "Groupes seniors"}


def stratum_label(stratum: str) -> str:
    """« Nord-Pas de Calais × Hébergement » for the visitor stratum ``npdc|hebergement`` (other labels unchanged)."""
    zone, _, source = str(stratum).partition("|")
    if not source:
        return str(stratum)
    return f"{ZONE_LABELS.get(zone, zone)} × {SOURCE_LABELS.get(source, source)}"
STATUS_LABELS = {"kept": "retenus", "missing_email": "sans courriel",
                 "invalid_email": "courriel invalide", "no_consent": "sans consentement",
                 "out_of_scope": "hors champ", "duplicate_within_file": "doublon dans le fichier",
                 "duplicate_across_files": "doublon entre fichiers"}

_ATOM = r"(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f])+"      # non-ASCII: internationalised local parts (RFC 6531)
EMAIL_PATTERN = (rf"{_ATOM}(?:\.{_ATOM})*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+"
                 r"[a-z]{2,63}")


# ------------------------------------------------------------------------------ e-mails, key


def normalise_emails(raw: pd.Series, dot_insensitive_domains: Sequence[str] = DOT_INSENSITIVE_DOMAINS
                     ) -> tuple[pd.Series, pd.Series]:
    """Normalised e-mails and their validity.

    Returns ``(canonical, state)``: ``canonical`` is the mailbox identity used for the
    pseudonym (missing where the address is missing or invalid); ``state`` is ``ok``,
    ``missing`` or ``invalid``. See the module docstring for the rule.
    """
    s = clean_email(raw).str.lower()
    s = s.map(_ascii_domain, na_action="ignore")
    missing = s.isna() | (s == "")
    valid = ~missing & s.str.fullmatch(EMAIL_PATTERN).fillna(False).astype(bool) & (s.str.len() <= 254)
    state = pd.Series(np.where(missing, "missing", np.where(valid, "ok", "invalid")), index=s.index)
    s = s.where(valid)
    parts = s.str.rsplit("@", n=1)
    local, domain = parts.str[0], parts.str[1].replace(DOMAIN_ALIASES)
    insensitive = domain.isin([d.lower() for d in dot_insensitive_domains])
    squeezed = local.str.replace(r"\+.*$", "", regex=True).str.replace(".", "", regex=False)
    canonical = (local.where(~insensitive, squeezed) + "@" + domain).where(valid)
    return canonical, state


def clean_email(raw: pd.Series) -> pd.Series:
    """Addresses as a mail can be sent to them: invisible format characters, surrounding spaces and a ``mailto:``
    prefix removed, case kept (the first steps of :func:`normalise_emails`; the invitations write these)."""
    s = pd.Series(raw, dtype="str").str.replace(INVISIBLE, "", regex=True).str.strip()
    return s.str.replace(r"^mailto:", "", regex=True, case=False)


def _ascii_domain(address: str) -> str:
    """An internationalised domain (``café.fr``) in its ASCII form (``xn--caf-dma.fr``), so that both
    spellings of one mailbox are one person; an address whose domain cannot be encoded is left as it is
    (and found invalid)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def pseudonymise(canonical: pd.Series, key: bytes) -> pd.Series:
    """``HMAC-SHA256(key, address)`` as 32 hex digits per normalised address (missing stays missing)."""
    if not isinstance(key, (bytes, bytearray)) or len(key) < KEY_MIN_CHARS:
        raise ParameterError(f"the pseudonymisation key must be at least {KEY_MIN_CHARS} bytes")
    codes, uniques = pd.factorize(canonical)
    ids = np.array([hmac.digest(key, u.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX]
                    for u in uniques] + [None], dtype=object)
    return pd.Series(ids[codes], index=canonical.index, dtype="str")


def pseudonymisation_key(key_file: str | Path = KEY_FILE, *, create: bool = True) -> bytes:
    """The pseudonymisation key: ``$PORTRAIT_PSEUDO_KEY``, else ``key_file`` (created if absent).

    With ``create=False`` (reading tokens or re-linking invitations: the key must be the one the
    samples were drawn with) a missing key file is an error instead of a new key.

    The key file (repo-relative by default: ``.portrait-key`` at the root, git-ignored) is
    created on first use with ``secrets.token_hex(32)``, readable by its owner only, and
    written completely before it appears under its name. A key shorter than 16 characters is
    refused.
    """
    env = os.environ.get(KEY_ENV)
    if env is not None and env.strip():
        key = env.strip()
        if len(key) < KEY_MIN_CHARS:
            raise ParameterError(f"environment variable {KEY_ENV} must hold at least "
                                 f"{KEY_MIN_CHARS} characters; make one with "
                                 "python -c 'import secrets; print(secrets.token_hex(32))'")
        return key.encode("utf-8")
    path = paths.resolve(key_file)
    if not path.exists() and not create:
        raise ParameterError(f"no key: neither {KEY_ENV} nor {paths.relative(path)} is there, so the tokens and "
                             "pseudonyms of this study cannot be recomputed; restore the key the samples were drawn "
                             "with (a new key would match no token)")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # never overwrites a key another run created meanwhile
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < KEY_MIN_CHARS:
        raise ParameterError(f"the key file {paths.relative(path)} must hold at least "
                             f"{KEY_MIN_CHARS} characters; delete it to have a new one created "
                             "(pseudonyms will change) or restore the study's key")
    return key.encode("utf-8")


# ------------------------------------------------------------------------------ ingest


@dataclass(frozen=True)
class VisitorIngest:
    """Result of :func:`ingest_partner_files` (pseudonymised: no e-mail, no name, no postcode).

    Attributes
    ----------
    frame : one row per person (see :func:`ingest_partner_files`).
    ledger : one row per input record: ``file_id, row`` (row in the file, header = 1),
        ``status`` (``kept`` or the exclusion reason), ``detail`` (for ``out_of_scope``), and
        ``person_id`` for the records of frame members only (kept and duplicates): people
        excluded for consent, scope or address leave a count, not a pseudonym.
    overlap : persons in both files, file × file (``file_id`` column, then one column per file;
        the diagonal is the number of persons in the file).
    files : the files read: ``file_id, file, source_type, format, records``.
    missing_files : files of the mapping absent from the folder (ids).
    """

    frame: pd.DataFrame
    ledger: pd.DataFrame
    overlap: pd.DataFrame
    files: pd.DataFrame
    missing_files: tuple[str, ...]


def _check_priority(source_priority: Sequence[str]) -> tuple[str, ...]:
    prio = tuple(source_priority)
    if sorted(prio) != sorted(SOURCE_TYPES):
        raise ParameterError(f"parameter 'source_priority' must list each source type once: "
                             f"{', '.join(SOURCE_TYPES)}; got {list(prio)}")
    return prio


def ingest_partner_files(folder: str | Path, *, layouts: str | Path = DEFAULT_LAYOUTS,
                         key: bytes | None = None, reference_date: str = "2017-03-01",
                         scope_months: int = 24,
                         source_priority: Sequence[str] = SOURCE_PRIORITY,
                         dot_insensitive_domains: Sequence[str] = DOT_INSENSITIVE_DOMAINS,
                         accept_fully_excluded: Sequence[str] = (),
                         ) -> VisitorIngest:
    """Read, pseudonymise and de-duplicate the partner files of ``folder`` into a visitor frame.

    Parameters
    ----------
    folder : the partner folder; every non-hidden file in it must be declared in ``layouts``.
    layouts : the partner layouts mapping.
    key : pseudonymisation key (default: :func:`pseudonymisation_key`).
    reference_date : the survey's date; a last visit must fall in the ``scope_months`` before it.
    source_priority : order of source types for people in several files (first wins).
    dot_insensitive_domains : domains whose local part ignores dots and ``+tags``.
    accept_fully_excluded : ids of files allowed to contribute no record at all. Any other file
        whose every record is excluded stops the ingest: that is almost always a misread file (a
        consent written « Yes »/« No », dates in another format, the wrong e-mail column).

    Returns
    -------
    VisitorIngest
        ``frame`` columns: ``person_id, stratum, zone, source_type, multiplicity, files``
        (``;``-joined file ids), ``country`` (ISO alpha-2, ``ZZ`` unknown),
        ``residence_department`` (French residents), ``residence_region`` (French region,
        « Étranger » or « Inconnue »), ``purpose`` (leisure, business, both, unknown),
        ``last_visit`` (``YYYY-MM``), ``first_file_id, first_row`` (the person's first record);
        rows in first-record order, which does not depend on the key.
    """
    scope_months = require({"scope_months": scope_months}, "scope_months", int, minimum=1)
    prio = _check_priority(source_priority)
    reference = config_date(reference_date, "reference_date")
    folder = paths.resolve(folder)
    todo, missing_files = _files_to_read(folder, layouts)
    declared = sorted(pf.id for pf in read_layouts(layouts))
    unknown = sorted(set(accept_fully_excluded) - set(declared))
    if unknown:
        raise ParameterError(f"parameter 'accept_fully_excluded' names {unknown}, which no partner layout declares "
                             f"(ids in {paths.relative(paths.resolve(layouts))}: {', '.join(declared)})")
    rec, file_rows = _read_records(folder, todo)

    # pseudonymise at once and drop the addresses and postcodes
    canonical, email_state = normalise_emails(rec.pop("email"), dot_insensitive_domains)
    rec["person_id"] = pseudonymise(canonical, key if key is not None else pseudonymisation_key())
    del canonical
    rec["country"] = normalise_countries(rec["country"])
    postcode = rec.pop("postcode")
    rec["residence_department"] = residence_department(postcode, rec["country"])
    file_rows = residence_counts(file_rows, rec, postcode)
    del postcode

    status, detail, eligible, first_per_file = _record_status(rec, email_state, reference, scope_months, prio)
    # data minimisation: only records of frame members keep a pseudonym (to audit duplicates)
    member = np.isin(status, ("kept", "duplicate_within_file", "duplicate_across_files"))
    _check_files_contribute(folder, todo, rec["file_id"].to_numpy(), status, detail, member, accept_fully_excluded)
    ledger = pd.DataFrame({"file_id": rec["file_id"], "row": rec["row"].astype("int64"),
                           "status": status, "detail": detail,
                           "person_id": rec["person_id"].where(member)})

    frame = _person_frame(rec.loc[eligible], rec.loc[first_per_file])
    overlap = _overlap(rec.loc[first_per_file], [pf.id for pf in todo])
    return VisitorIngest(frame=frame, ledger=ledger, overlap=overlap,
                         files=pd.DataFrame(file_rows), missing_files=missing_files)


HINTS = {"no_consent": "are the consent column's values those the layout declares (consent: values)?",
         "missing_email": "is the e-mail column the one the layout names?",
         "invalid_email": "is the e-mail column the one the layout names, and its encoding right?",
         "last_visit_unreadable": "are the dates written in the format the layout declares (date_format)?",
         "zone_unknown": "are the zone values those the layout maps?"}


def _check_files_contribute(folder: Path, todo: list[PartnerFile], file_id: np.ndarray, status: np.ndarray,
                            detail: np.ndarray, member: np.ndarray, accepted: Sequence[str]) -> None:
    """Stop when a file's records are all excluded, unless the file is in ``accepted`` (say why and what to check)."""
    reasons = np.where(status == "out_of_scope", detail, status)
    bad = []
    for pf in todo:
        mine = file_id == pf.id
        if mine.any() and not member[mine].any() and pf.id not in accepted:
            counts = pd.Series(reasons[mine]).value_counts()
            top = str(counts.index[0])
            bad.append((pf, int(mine.sum()), top, int(counts.iloc[0])))
    if bad:
        lines = [f"{pf.file} ({pf.id}): all {n} records excluded, {k} for {reason}"
                 + (f" — {HINTS[reason]}" if reason in HINTS else "") for pf, n, reason, k in bad]
        raise InputError(f"{len(bad)} partner file(s) contribute no record to the frame: " + "; ".join(lines)
                         + ". Fix the file or its layout (config/partner_layouts.yaml); if the file really holds "
                           "no eligible record, add its id to accept_fully_excluded in config/02_visitor_frame.yaml",
                         file=paths.relative(folder / bad[0][0].file))


def _files_to_read(folder: Path, layouts: str | Path) -> tuple[list[PartnerFile], tuple[str, ...]]:
    """The mapped files present in ``folder`` (an error for an unmapped one), and the ids of those absent."""
    if not folder.is_dir():
        raise InputError("the partner folder does not exist", file=paths.relative(folder))
    mapping = read_layouts(layouts)
    by_name = {pf.file: pf for pf in mapping}
    present = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    unmapped = [name for name in present if name not in by_name]
    if unmapped:
        raise InputError(f"unmapped layout: {len(unmapped)} file(s) of the partner folder have no "
                         f"entry in {paths.relative(paths.resolve(layouts))} "
                         f"({', '.join(unmapped)}); declare each file's layout there",
                         file=paths.relative(folder / unmapped[0]))
    todo = [pf for pf in mapping if pf.file in present]
    if not todo:
        raise InputError("no partner file declared in the layouts mapping is in the folder",
                         file=paths.relative(folder))
    missing_files = tuple(pf.id for pf in mapping if pf.file not in present)
    return todo, missing_files


def _read_records(folder: Path, todo: list[PartnerFile]) -> tuple[pd.DataFrame, list[dict]]:
    """Every record of the files, standardised, with its file (id, order, source type); one row per file read."""
    parts, file_rows = [], []
    for pf in todo:
        where = paths.relative(folder / pf.file)
        records = read_partner_file(folder, pf)
        blank = blank_rows(records)     # a trial: 300 rows emptied in Excel counted as 300 records without e-mail
        if len(records) and blank.all():
            raise InputError("the file has a header but no record (its rows are blank in every column read)", file=where)
        std = _standardise(pf, records.loc[~blank].reset_index(drop=True), where)
        std.insert(0, "file_id", pf.id)
        std.insert(1, "file_order", pf.order)
        std["source_type"] = pf.source_type
        parts.append(std)
        file_rows.append({"file_id": pf.id, "file": pf.file, "source_type": pf.source_type,
                          "format": pf.format, "records": len(std), "blank_rows": int(blank.sum())})
    return pd.concat(parts, ignore_index=True), file_rows


def _record_status(rec: pd.DataFrame, email_state: pd.Series, reference: pd.Timestamp, scope_months: int,
                   prio: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each record's ledger status (first reason that applies) and detail; masks of the eligible records and of
    the first eligible record of each person in each file. Adds the source type's priority ``rank`` to ``rec``."""
    cutoff = reference - pd.DateOffset(months=scope_months)
    lv = rec["last_visit"]
    detail = np.select(
        [rec["date_state"] == "missing", rec["date_state"] == "unreadable", lv < cutoff,
         lv > reference, rec["zone"].isna()],
        ["last_visit_missing", "last_visit_unreadable", f"last_visit_before_{cutoff.date()}",
         "last_visit_after_reference", "zone_unknown"], default="")
    status = np.select([email_state == "missing", email_state == "invalid", ~rec["consent"],
                        detail != ""],
                       ["missing_email", "invalid_email", "no_consent", "out_of_scope"],
                       default="").astype(object)
    detail = np.where(status == "out_of_scope", detail, "")
    eligible = status == ""
    within = np.zeros(len(rec), dtype=bool)
    within[eligible] = rec.loc[eligible].duplicated(["file_id", "person_id"]).to_numpy()
    status[within] = "duplicate_within_file"
    rank = rec["source_type"].map({s: i for i, s in enumerate(prio)}).to_numpy()
    rec["rank"] = rank
    first_per_file = eligible & ~within
    cand = rec.loc[first_per_file].sort_values(["rank", "file_order", "row"], kind="stable")
    kept = np.zeros(len(rec), dtype=bool)
    kept[cand.drop_duplicates("person_id").index.to_numpy()] = True
    status[first_per_file & ~kept] = "duplicate_across_files"
    status[kept] = "kept"
    return status, detail, eligible, first_per_file


def _person_frame(elig: pd.DataFrame, per_file: pd.DataFrame) -> pd.DataFrame:
    """One row per person from their eligible records (see the module docstring for the rules)."""
    e = elig.sort_values(["rank", "file_order", "row"], kind="stable")
    e = e.assign(country=e["country"].where(e["country"] != UNKNOWN_COUNTRY))  # a known one first
    g = e.groupby("person_id", sort=True)
    zone = e["zone"]
    purpose = e["purpose"]
    flags = pd.DataFrame({
        "person_id": e["person_id"],
        "npdc": zone.isin(["npdc", "both"]), "picardie": zone.isin(["picardie", "both"]),
        "leisure": purpose.isin(["leisure", "both"]), "business": purpose.isin(["business", "both"]),
    }).groupby("person_id", sort=True).any()
    first = g.agg(source_type=("source_type", "first"), country=("country", "first"),
                  residence_department=("residence_department", "first"),
                  last_visit=("last_visit", "max"))
    order = (elig.sort_values(["file_order", "row"], kind="stable")
             .drop_duplicates("person_id").set_index("person_id")
             [["file_id", "file_order", "row"]]
             .rename(columns={"file_id": "first_file_id", "row": "first_row"}))
    files = _files_of_each_person(per_file)
    f = first.join(flags).join(files).join(order)
    f["zone"] = np.select([f["npdc"] & f["picardie"], f["npdc"]], ["both", "npdc"], default="picardie")
    f["purpose"] = np.select([f["leisure"] & f["business"], f["leisure"], f["business"]],
                             ["both", "leisure", "business"], default="unknown")
    f["country"] = f["country"].fillna(UNKNOWN_COUNTRY)
    region = f["residence_department"].map(DEPARTMENT_REGION)
    f["residence_region"] = np.where(f["country"] == "FR", region.fillna(UNKNOWN_REGION),
                                     np.where(f["country"] == UNKNOWN_COUNTRY, UNKNOWN_REGION, ABROAD))
    f["stratum"] = f["zone"] + "|" + f["source_type"]
    f["last_visit"] = f["last_visit"].dt.strftime("%Y-%m")
    f = f.reset_index().sort_values(["file_order", "first_row"], kind="stable")
    cols = ["person_id", "stratum", "zone", "source_type", "multiplicity", "files", "country",
            "residence_department", "residence_region", "purpose", "last_visit", "first_file_id",
            "first_row"]
    f = f[cols].reset_index(drop=True)
    f["multiplicity"] = f["multiplicity"].astype("int64")
    f["first_row"] = f["first_row"].astype("int64")
    return f


def _files_of_each_person(per_file: pd.DataFrame) -> pd.DataFrame:
    """Per person (sorted ids): how many files hold them, and those files' ids in file order joined by « ; »."""
    pf = per_file.sort_values(["person_id", "file_order"], kind="stable")
    ids = pf["person_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], dtype=int)
    names = pf["file_id"].to_numpy(dtype=object) + ";"
    joined = np.add.reduceat(names, starts) if len(starts) else names
    return pd.DataFrame({"multiplicity": np.diff(np.r_[starts, len(ids)]),
                         "files": [s[:-1] for s in joined]},
                        index=pd.Index(ids[starts], name="person_id"))


def _overlap(per_file: pd.DataFrame, file_ids: list[str]) -> pd.DataFrame:
    """Number of persons in both files, for every pair of files (diagonal: persons in the file)."""
    from scipy import sparse

    pcode, _ = pd.factorize(per_file["person_id"])
    fcode = pd.Categorical(per_file["file_id"], categories=file_ids).codes
    m = sparse.csr_matrix((np.ones(len(per_file), dtype=np.int64), (pcode, fcode)),
                          shape=(int(pcode.max()) + 1 if len(pcode) else 0, len(file_ids)))
    counts = (m.T @ m).toarray().astype("int64")
    out = pd.DataFrame(counts, columns=file_ids)
    out.insert(0, "file_id", file_ids)
    return out


def ledger_summary(ledger: pd.DataFrame, files: pd.DataFrame) -> pd.DataFrame:
    """Records per file and status, with records in (read from the file), kept, excluded, balance.

    ``balanced`` is true when records in = kept + excluded; the last row holds the totals.
    """
    counts = pd.crosstab(ledger["file_id"], ledger["status"]).reindex(columns=list(STATUSES),
                                                                       fill_value=0)
    t = files.set_index("file_id")[["source_type", "records"]].join(counts).fillna(0)
    for c in STATUSES:
        t[c] = t[c].astype("int64")
    t["excluded"] = t[list(REASONS)].sum(axis=1)
    t["balanced"] = t["records"] == t["kept"] + t["excluded"]
    t = t.reset_index(names="file_id")
    total = t.drop(columns=["file_id", "source_type", "balanced"]).sum().to_frame().T
    total.insert(0, "file_id", "total")
    total.insert(1, "source_type", "total")
    total["balanced"] = bool(t["balanced"].all())
    return pd.concat([t, total[t.columns]], ignore_index=True)


def multiplicity_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Number and share of persons by number of files holding them."""
    t = frame["multiplicity"].value_counts().sort_index().rename("persons").to_frame()
    t["share"] = t["persons"] / t["persons"].sum()
    return t.reset_index()


# ------------------------------------------------------------------------------ design


@dataclass(frozen=True)
class VisitorDesign:
    """The visitor design: ``invitations`` shared proportionally over the strata, at least
    ``min_per_stratum`` per stratum (all of it where the stratum is smaller)."""

    invitations: int = 18_000
    min_per_stratum: int = 150

    def __post_init__(self) -> None:
        require({"invitations": self.invitations}, "invitations", int, minimum=1)
        require({"min_per_stratum": self.min_per_stratum}, "min_per_stratum", int, minimum=1)


def allocate_invitations(frame: pd.DataFrame, design: VisitorDesign) -> pd.DataFrame:
    """Strata (zone × source type) with their size ``N_h``, allocation ``n_h``, π and weight.

    Proportional to ``N_h`` with at least ``min(min_per_stratum, N_h)`` per stratum and at
    most ``N_h`` (:func:`portrait.survey.allocate`, largest remainder): Σ n_h = invitations.
    """
    zone_rank = {z: i for i, z in enumerate(ZONES)}
    src_rank = {s: i for i, s in enumerate(SOURCE_TYPES)}
    st = (frame.groupby("stratum", sort=True)
          .agg(zone=("zone", "first"), source_type=("source_type", "first"), N_h=("person_id", "size"))
          .reset_index())
    st = st.assign(_z=st["zone"].map(zone_rank), _s=st["source_type"].map(src_rank))
    st = st.sort_values(["_z", "_s"]).drop(columns=["_z", "_s"]).reset_index(drop=True)
    size = st["N_h"].to_numpy()
    if design.invitations > size.sum():
        raise SamplingError(f"{design.invitations} invitations requested but the visitor frame "
                            f"holds only {int(size.sum())} persons; lower 'invitations'")
    st["n_h"] = allocate(size.astype(float), design.invitations,
                         minimum=np.minimum(design.min_per_stratum, size), capacity=size)
    st["pi"] = st["n_h"] / st["N_h"]
    st["design_weight"] = st["N_h"] / st["n_h"]
    return st


def draw_visitor_sample(frame: pd.DataFrame, strata: pd.DataFrame,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Stratified SRSWOR of ``n_h`` persons per stratum, in frame order (key-independent).

    Returns the selected persons with ``person_id, stratum, zone, source_type, multiplicity,
    country, residence_region, purpose, pi, design_weight, N_h, n_h``, in frame order.
    """
    return visitor_draw.sample_at(frame, strata, visitor_draw.sample_rows(frame, strata, rng))


# ------------------------------------------------------------------------------ tables and figures (French)


def ledger_table_fr(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`ledger_summary` with French headers, for the reports."""
    t = summary.copy()
    last = t.index == t.index[-1]
    t["source_type"] = t["source_type"].map(SOURCE_LABELS).fillna("")
    t.loc[last, "file_id"] = "Total"
    t["balanced"] = np.where(t["balanced"].astype(bool), "oui", "NON")
    names = {"file_id": "Fichier", "source_type": "Type de partenaire", "records": "Enregistrements",
             **{k: v.capitalize() for k, v in STATUS_LABELS.items()}, "excluded": "Exclus",
             "balanced": "Entrées = retenus + exclus"}
    return t.rename(columns=names)[list(names.values())]


def strata_table_fr(strata: pd.DataFrame) -> pd.DataFrame:
    """Strata with their size, allocation, inclusion probability and weight, French headers."""
    t = pd.DataFrame({"Zone visitée": strata["zone"].map(ZONE_LABELS),
                      "Type de partenaire": strata["source_type"].map(SOURCE_LABELS),
                      "Personnes (N)": strata["N_h"], "Invitations (n)": strata["n_h"],
                      "Probabilité π": fmt.round(strata["pi"], 4),
                      "Poids 1/π": fmt.round(strata["design_weight"], 3)})
    total = {"Zone visitée": "Total", "Type de partenaire": "", "Personnes (N)": strata["N_h"].sum(),
             "Invitations (n)": strata["n_h"].sum(),
             "Probabilité π": fmt.round(strata["n_h"].sum() / strata["N_h"].sum(), 4), "Poids 1/π": np.nan}
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)
