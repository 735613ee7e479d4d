"""Synthetic partner client files, written as the layouts mapping declares them (see :mod:`portrait.study.partners`).

:func:`generate_partner_files` simulates people (country, postcode, names, e-mail on reserved domains,
profile), the partner files each holds, and the defects real exports have, then writes every file
with its own column names, codes, encoding and format, byte-identically for the same seed.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.config import date as config_date, require, rng as named_rng
from ..pipeline.io import atomic_path
from .exports import write_workbook
from .partner_layouts import DEFAULT_LAYOUTS, PartnerFile, PURPOSES, SYNTHETIC_DIR, ZONES, read_layouts


# ------------------------------------------------------------------------------ names


#: First names and surnames of the synthetic people, by country of residence. Single tokens
#: (``Desmet``, ``Vandenbossche``) so that a privacy scan can look for "first last" pairs.
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "FR": ("Jean", "Marie", "Michel", "Nathalie", "Philippe", "Isabelle", "Christophe",
           "Sandrine", "Stéphane", "Valérie", "Laurent", "Sophie", "Thierry", "Catherine",
           "Frédéric", "Véronique", "Nicolas", "Céline", "Julien", "Aurélie", "Sébastien",
           "Émilie", "Thomas", "Julie", "Maxime", "Camille", "Alexandre", "Pauline", "Antoine",
           "Manon", "Quentin", "Mathilde", "Bernard", "Monique", "Daniel", "Françoise", "Gérard",
           "Martine", "Alain", "Chantal", "Patrick", "Brigitte", "Sylvie", "Olivier",
           "Christine", "Guillaume", "Hélène", "Damien", "Élodie", "Jérémy", "Marion", "Romain",
           "Vincent", "Anne", "François", "Dominique", "Jacques", "Annie", "Didier", "Corinne",
           "Agnès", "Hugo", "Léa", "Lucas", "Chloé", "Benoît", "Virginie", "Arnaud", "Laetitia",
           "Cédric", "Audrey", "Fabrice", "Karine", "Ludovic", "Delphine", "Mohamed", "Karim",
           "Nadia", "Samira", "Rachid", "Yasmine", "Josiane", "Jean-Pierre", "Marie-Claude",
           "Jean-Luc", "Anne-Sophie"),
    "BE": ("Luc", "Marc", "Koen", "Pieter", "Wim", "Bart", "Katrien", "Sofie", "Lien", "Geert",
           "Dirk", "Griet", "Hilde", "Thibault", "Amélie", "Lotte", "Jens", "Wouter", "Annelies",
           "Joris", "Benoît", "Nathalie", "Maxime", "Sébastien", "Véronique", "Laurence",
           "Philippe", "Christophe"),
    "GB": ("James", "John", "David", "Michael", "Paul", "Andrew", "Richard", "Stephen", "Sarah",
           "Emma", "Helen", "Rachel", "Laura", "Rebecca", "Charlotte", "Emily", "Oliver", "Harry",
           "George", "Jack", "Lucy", "Hannah", "Susan", "Margaret", "Elizabeth", "Gareth", "Ian",
           "Fiona", "Alison", "Graham"),
    "NL": ("Daan", "Sem", "Lieke", "Anouk", "Sanne", "Bram", "Thijs", "Femke", "Joost",
           "Maarten", "Ingrid", "Marieke"),
    "DE": ("Lukas", "Jonas", "Felix", "Anna", "Lena", "Katrin", "Stefan", "Andreas", "Sabine",
           "Monika", "Jürgen", "Ursula"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "FR": ("Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Leroy", "Moreau", "Simon",
           "Lefèvre", "Leclercq", "Dupont", "Lambert", "Caron", "Lemaire", "Delattre", "Vasseur",
           "Deschamps", "Duhamel", "Delannoy", "Lecomte", "Mercier", "Poulain", "Carpentier",
           "Hennebelle", "Vandenbussche", "Vanhove", "Dumont", "Roussel", "Fournier", "Morel",
           "Garnier", "Gauthier", "Perrin", "Dufour", "Lemoine", "Duval", "Lebrun", "Hubert",
           "Dujardin", "Wattel", "Lesage", "Demarcq", "Bertin", "Delplanque", "Coquelle",
           "Vandamme", "Kowalski", "Nowak", "Lewandowski", "Wozniak", "Benali", "Haddad",
           "Mansouri", "Boucher", "Debruyne", "Flament", "Lagache", "Tison", "Dewailly",
           "Prévost", "Thuillier", "Vermersch", "Lenoir", "Ringot", "Cuvelier", "Beaumont",
           "Pruvost", "Delcroix", "Dhaussy", "Lhomme", "Bailleul", "Facon", "Maquet", "Sénéchal",
           "Boulogne", "Castelain", "Dupuis", "Gosselin", "Hochart", "Leleu"),
    "BE": ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
           "Wouters", "Desmet", "Vermeulen", "Vandenbossche", "Declercq", "Vandevelde", "Lemmens",
           "Hermans", "Michiels", "Dubois", "Lambert", "Dupont", "Lejeune", "Collard", "Dethier",
           "Lemaire", "Vandeputte", "Verhaeghe"),
    "GB": ("Smith", "Jones", "Taylor", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
           "Thompson", "Evans", "Walker", "Roberts", "Jackson", "Clarke", "Hughes", "Edwards",
           "Harris", "Cooper", "Morris", "Parker", "Bennett", "Campbell", "Murray", "Stewart",
           "Atkinson", "Fletcher", "Henderson", "Pritchard"),
    "NL": ("Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Dekker", "Brouwer",
           "Hendriks", "Dijkstra", "Vermeer", "Koster"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Hoffmann", "Schulz", "Zimmermann", "Krüger"),
}
#: name list used for each country of residence
NAME_ORIGIN = {"FR": "FR", "BE": "BE", "GB": "GB", "NL": "NL", "DE": "DE", "LU": "FR",
               "CH": "FR", "US": "GB", "IT": "FR", "ES": "FR"}

# Country of residence of the simulated visitors (France about three in four, then the
# neighbouring clienteles: STUDY §2 tourism figures put British then Belgian clients first).
COUNTRY_SHARES = {"FR": 0.72, "BE": 0.11, "GB": 0.08, "NL": 0.04, "DE": 0.02, "LU": 0.007,
                  "CH": 0.007, "US": 0.006, "IT": 0.005, "ES": 0.005}
COUNTRY_NAMES = {
    "name_fr": {"FR": "France", "BE": "Belgique", "GB": "Royaume-Uni", "NL": "Pays-Bas",
                "DE": "Allemagne", "LU": "Luxembourg", "CH": "Suisse", "US": "États-Unis",
                "IT": "Italie", "ES": "Espagne"},
    "name_en": {"FR": "France", "BE": "Belgium", "GB": "United Kingdom", "NL": "Netherlands",
                "DE": "Germany", "LU": "Luxembourg", "CH": "Switzerland", "US": "USA",
                "IT": "Italy", "ES": "Spain"},
}
# Department of residence of French visitors: the region itself, Paris area, rest of France.
_DEPT_HDF = {"59": 0.24, "62": 0.14, "80": 0.06, "60": 0.06, "02": 0.04}
_DEPT_IDF = {"75": 0.07, "92": 0.04, "93": 0.03, "94": 0.03, "78": 0.03, "91": 0.025,
             "95": 0.025, "77": 0.025}
_DEPT_OTHER = ("08", "10", "14", "21", "27", "31", "33", "35", "37", "44", "45", "49", "51",
               "54", "57", "67", "69", "76", "13", "06", "34", "38", "974")

# Simulated webmail (dot-insensitive, like Gmail) and the two other reserved domains.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
EMAIL_DOMAIN_SHARES = (0.40, 0.35, 0.25)
DOT_INSENSITIVE_SYNTHETIC = "example.com"


@dataclass(frozen=True)
class SyntheticPartners:
    """What :func:`generate_partner_files` wrote, with the simulation truth (no e-mail, no name).

    ``truth`` has one row per written record: ``file_id, row`` (row in the file, header = 1),
    ``person`` (integer identity of the simulated person), ``copy`` (0 for the first record of
    the person in the file), ``email_state`` (``ok``, ``missing``, ``invalid``), ``consent``,
    ``last_visit``, ``zone`` (code, or missing when blank without file default).
    """

    folder: Path
    files: tuple[Path, ...]
    truth: pd.DataFrame


# ------------------------------------------------------------------------------ generator


def _ascii(values: pd.Series) -> pd.Series:
    """Lower-case ASCII form of names for e-mail local parts (accents, spaces, quotes dropped)."""
    uniq = pd.unique(values)
    folded = {v: unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower()
              .replace(" ", "").replace("'", "") for v in uniq}
    return values.map(folded)


def _people(n: int, g: np.random.Generator) -> pd.DataFrame:
    """Simulated persons: country, department/postcode, names, e-mail, profile, home zone."""
    countries = np.array(list(COUNTRY_SHARES))
    shares = np.array(list(COUNTRY_SHARES.values()))
    country = countries[g.choice(len(countries), size=n, p=shares / shares.sum())]
    people = pd.DataFrame({"country": country})
    # names by origin
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    origin = people["country"].map(NAME_ORIGIN).to_numpy()
    for o in sorted(set(origin)):
        idx = np.flatnonzero(origin == o)
        fn, ln = FIRST_NAMES[o], LAST_NAMES[o]
        first[idx] = np.asarray(fn, dtype=object)[g.integers(0, len(fn), idx.size)]
        last[idx] = np.asarray(ln, dtype=object)[g.integers(0, len(ln), idx.size)]
    people["first_name"], people["last_name"] = first, last
    # postcode
    depts = {**_DEPT_HDF, **_DEPT_IDF}
    rest = 1.0 - sum(depts.values())
    depts.update({d: rest / len(_DEPT_OTHER) for d in _DEPT_OTHER})
    dcodes = np.array(list(depts))
    dp = np.array(list(depts.values()))
    dept = dcodes[g.choice(len(dcodes), size=n, p=dp / dp.sum())]
    tail = pd.Series(g.integers(0, 100, n) * 10).astype(str).str.zfill(3)
    dept_s = pd.Series(dept)
    # overseas departments have three-digit codes and two more digits
    fr_pc = dept_s + tail.where(dept_s.str.len() == 2, tail.str[1:])
    be_pc = pd.Series(g.integers(1000, 9999, n)).astype(str)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    gb_area = np.array(["CT", "ME", "TN", "BN", "SE", "SW", "N", "E", "M", "LS", "B", "OX", "CB"])
    gb_pc = (pd.Series(gb_area[g.integers(0, len(gb_area), n)])
             + pd.Series(g.integers(1, 20, n)).astype(str) + " "
             + pd.Series(g.integers(1, 10, n)).astype(str)
             + pd.Series(letters[g.integers(0, len(letters), n)])
             + pd.Series(letters[g.integers(0, len(letters), n)]))
    nl_pc = (pd.Series(g.integers(1000, 9999, n)).astype(str) + " "
             + pd.Series(letters[g.integers(0, len(letters), n)])
             + pd.Series(letters[g.integers(0, len(letters), n)]))
    other_pc = pd.Series(g.integers(10000, 99999, n)).astype(str)
    people["postcode"] = np.select(
        [country == "FR", country == "BE", country == "GB", country == "NL"],
        [fr_pc, be_pc, gb_pc, nl_pc], default=other_pc)
    # e-mail: a local part built from the names, unique on the canonical mailbox
    f, l_ = _ascii(people["first_name"]), _ascii(people["last_name"])
    pattern = g.choice(6, size=n, p=[0.38, 0.16, 0.14, 0.10, 0.10, 0.12])
    digits = pd.Series(g.integers(1, 99, n)).astype(str)
    year = pd.Series(g.integers(50, 100, n)).astype(str)
    local = np.select(
        [pattern == 0, pattern == 1, pattern == 2, pattern == 3, pattern == 4],
        [f + "." + l_, f.str[0] + l_, f + l_, f + "_" + l_, l_ + "." + f],
        default=f + "." + l_ + digits.where(g.random(n) < 0.5, year))
    domain = np.asarray(EMAIL_DOMAINS)[g.choice(3, size=n, p=EMAIL_DOMAIN_SHARES)]
    local = pd.Series(local).str.replace("-", "", regex=False)
    domain = pd.Series(domain)
    dot_free = domain == DOT_INSENSITIVE_SYNTHETIC
    while True:  # one mailbox per person: number the homonyms until all are distinct
        canon = local.where(~dot_free, local.str.replace(".", "", regex=False))
        key = canon + "@" + domain
        k = key.groupby(key).cumcount()
        if (k == 0).all():
            break
        local = local.where(k == 0, local + (k + 1).astype(str))
    people["email"] = local + "@" + domain
    people["dot_insensitive"] = dot_free.to_numpy()
    # profile: 0 leisure, 1 business, 2 senior; home zone: 0 npdc, 1 picardie
    people["profile"] = g.choice(3, size=n, p=[0.60, 0.20, 0.20])
    people["home_zone"] = np.where(g.random(n) < 0.6, 0, 1)
    return people


def _assign_files(people: pd.DataFrame, files: tuple[PartnerFile, ...],
                  g: np.random.Generator) -> pd.DataFrame:
    """Person × file memberships: each person's number of files, then the files drawn by affinity.

    Weighted sampling without replacement by the Gumbel-top-k trick: file sizes × affinities
    (zone of the partner and the person's home zone; congresses for business visitors, senior
    groups for seniors).
    """
    n, nf = len(people), len(files)
    mult_p = np.array([0.72, 0.18, 0.06, 0.025, 0.015])
    m = np.minimum(g.choice(len(mult_p), size=n, p=mult_p) + 1, nf)
    size = np.array([f.synthetic_size for f in files])
    fzone = np.array([{"npdc": 0, "picardie": 1}.get(f.zone, -1) for f in files])
    ftype = np.array([f.source_type for f in files])
    home = people["home_zone"].to_numpy()[:, None]
    prof = people["profile"].to_numpy()[:, None]
    w = np.broadcast_to(size, (n, nf)).astype(float)
    w = w * np.where(fzone < 0, 1.5, np.where(fzone == home, 3.0, 1.0))
    w = w * np.where(ftype == "congres_salon", np.where(prof == 1, 8.0, 0.08), 1.0)
    w = w * np.where(ftype == "groupe_senior", np.where(prof == 2, 6.0, 0.05), 1.0)
    w = w * np.where(ftype == "hebergement", np.where(prof == 1, 1.5, 1.0), 1.0)
    keys = np.log(w) - np.log(-np.log(g.random((n, nf))))
    top = min(int(m.max()), nf)
    part = np.argpartition(-keys, top - 1, axis=1)[:, :top] if top < nf else np.tile(np.arange(nf), (n, 1))
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(keys, part, axis=1), axis=1), axis=1)
    rank = np.arange(top)[None, :]
    take = rank < m[:, None]
    person = np.broadcast_to(np.arange(n)[:, None], take.shape)[take]
    return pd.DataFrame({"person": person, "file": order[take]})


def _render_email(base: pd.Series, dot_ok: np.ndarray, state: np.ndarray, dup: np.ndarray,
                  g: np.random.Generator) -> pd.Series:
    """Write e-mails as partners hold them: case, whitespace, dot variants; invalid ones."""
    n = len(base)
    e = base.reset_index(drop=True).copy()
    # each change is written on the addresses it concerns only (a few percent of them)

    def change(mask: np.ndarray, how: Callable[[pd.Series], pd.Series]) -> None:
        if mask.any():
            e[mask] = how(e[mask])

    # dot variants (only where the provider ignores dots): drop the dots, or add one
    dot = dot_ok & (g.random(n) < np.where(dup, 0.35, 0.06))
    change(dot, _dot_variant)
    # case
    u = g.random(n)
    case_p = np.where(dup, 0.45, 0.10)
    change(u < case_p * 0.6, lambda s: s.str.title())
    change((u >= case_p * 0.6) & (u < case_p), lambda s: s.str.upper())
    # whitespace
    u = g.random(n)
    ws_p = np.where(dup, 0.25, 0.05)
    change(u < ws_p * 0.4, lambda s: " " + s)
    change((u >= ws_p * 0.4) & (u < ws_p * 0.8), lambda s: s + " ")
    change((u >= ws_p * 0.8) & (u < ws_p), lambda s: s + "\u00a0")
    # invalid and missing
    kind = g.integers(0, 5, n)
    invalid = state == "invalid"
    change(invalid & (kind == 0), lambda s: s.str.replace("@", "", regex=False))
    change(invalid & (kind == 1), lambda s: s.str.replace("@", "@@", regex=False))
    change(invalid & (kind == 2), lambda s: s.str.split("@").str[0] + "@")
    change(invalid & (kind == 3), lambda s: s.str.replace(r"\.(com|org|net)\s*$", "", regex=True, case=False))
    change(invalid & (kind == 4), lambda s: s.str.replace(r"\.(?=[^@]*$)", ",", regex=True))
    e = e.astype(object)
    e[state == "missing"] = ""
    return e


def _dot_variant(e: pd.Series) -> pd.Series:
    """The addresses with the dots of their local part dropped, or one added after its first letter if it has none."""
    local, domain = e.str.split("@").str[0], e.str.split("@").str[1]
    changed = local.str.replace(".", "", regex=False).where(local.str.contains(".", regex=False),
                                                            local.str[:1] + "." + local.str[1:])
    return changed + "@" + domain


def _dates(files: tuple[PartnerFile, ...], file_idx: np.ndarray, reference: pd.Timestamp,
           g: np.random.Generator) -> tuple[pd.Series, np.ndarray]:
    """Date of last visit (about one in five older than 24 months) and event index per record.

    Congresses and senior trips happen on a few dates per file (``event`` 0–5); other partners'
    clients come any day.
    """
    n = len(file_idx)
    back = np.where(g.random(n) < 0.80, g.integers(1, 730, n), g.integers(731, 1100, n))
    day = reference - pd.to_timedelta(back, unit="D")
    event = g.integers(0, 6, n)
    ftype = np.array([f.source_type for f in files])[file_idx]
    eventful = np.isin(ftype, ("congres_salon", "groupe_senior"))
    # six event dates per file, spread over 34 months before the reference date
    ev_back = (np.arange(6)[None, :] * 170 + (np.arange(len(files))[:, None] * 37) % 160 + 20)
    ev_day = reference - pd.to_timedelta(ev_back[file_idx, event], unit="D")
    out = pd.Series(np.where(eventful, ev_day, day)).astype("datetime64[ns]")
    return out, event


def _zone_labels(pf: PartnerFile, wanted: np.ndarray, g: np.random.Generator) -> np.ndarray:
    """A partner label (as the layout spells it) for each wanted zone code."""
    labels = np.full(len(wanted), "", dtype=object)
    for code in ZONES:
        opts = sorted(k for k, v in pf.zone_values.items() if v == code)
        idx = np.flatnonzero(wanted == code)
        if opts and idx.size:
            labels[idx] = np.asarray(opts, dtype=object)[g.integers(0, len(opts), idx.size)]
    return labels


def _spell(labels: np.ndarray, g: np.random.Generator) -> np.ndarray:
    """Partner spellings: mostly capitalised, sometimes upper case."""
    s = pd.Series(labels, dtype=object)
    cap = s.str[:1].str.upper() + s.str[1:]
    return np.where(g.random(len(s)) < 0.15, s.str.upper(), cap)


def _file_table(pf: PartnerFile, rec: pd.DataFrame, people: pd.DataFrame,
                g: np.random.Generator) -> pd.DataFrame:
    """The records of one partner file laid out with its own column names and value codes."""
    n = len(rec)
    p = people.iloc[rec["person"].to_numpy()].reset_index(drop=True)
    out: dict[str, Any] = {}
    cols = pf.columns
    is_xlsx = pf.format == "xlsx"
    for role, header in cols.items():
        if role == "client_id":
            start = 1000 + pf.order * 17
            out[header] = [f"{pf.id[1:]}-{start + i:06d}" for i in g.permutation(n)]
        elif role == "last_name":
            ln = p["last_name"]  # upper-case surnames in upper-case columns, and here and there
            upper = np.full(n, header.isupper()) | (g.random(n) < 0.3)
            out[header] = np.where(upper, ln.str.upper(), ln)
        elif role == "first_name":
            fn = p["first_name"]
            out[header] = fn.str.upper().to_numpy() if header.isupper() else fn.to_numpy()
        elif role == "full_name":
            out[header] = (p["first_name"] + " " + p["last_name"].str.upper()).to_numpy()
        elif role == "email":
            out[header] = rec["email"].to_numpy()
        elif role == "postcode":
            pc = p["postcode"].where(g.random(n) >= 0.05, "")
            if is_xlsx:  # spreadsheets turn all-digit postcodes into numbers: 02100 -> 2100
                digits = pc.str.fullmatch(r"\d+")
                pc = pd.Series([int(v) if d else v for v, d in zip(pc, digits)], dtype=object)
            out[header] = pc.to_numpy()
        elif role == "country":
            if pf.country_coding == "iso2":
                c = p["country"]
            else:
                c = p["country"].map(COUNTRY_NAMES[pf.country_coding])
            c = c.str.upper().where(g.random(n) < 0.2, c)
            c = c.where(g.random(n) >= 0.04, "")
            out[header] = c.to_numpy()
        elif role == "consent":
            yes = rec["consent"].to_numpy()
            opts = list(pf.consent_values)
            if pf.consent_meaning == "opt_in":
                word = {"oui": ("Oui", "Non"), "o": ("O", "N"), "1": ("1", "0"),
                        "true": ("true", "false"), "x": ("X", "")}.get(opts[0], (opts[0], ""))
                out[header] = np.where(yes, word[0], np.where(g.random(n) < 0.7, word[1], ""))
            else:  # the column records refusals
                out[header] = np.where(yes, np.where(g.random(n) < 0.5, "Non", ""), "Oui")
        elif role == "last_visit":
            d = rec["last_visit"]
            if pf.date_format == "excel":
                out[header] = [t.to_pydatetime() for t in d]
            else:
                out[header] = d.dt.strftime(pf.date_format).to_numpy()
        elif role == "zone":
            out[header] = np.where(rec["zone_written"].to_numpy(), _spell(
                _zone_labels(pf, rec["zone_code"].to_numpy(), g), g), "")
        elif role == "purpose":
            codes = np.where(p["profile"].to_numpy() == 1, "business", "leisure")
            codes = np.where(g.random(n) < 0.05, "both", codes)
            labels = np.full(n, "", dtype=object)
            for code in PURPOSES:
                opts = sorted(k for k, v in pf.purpose_values.items() if v == code)
                idx = np.flatnonzero(codes == code)
                if opts and idx.size:
                    labels[idx] = np.asarray(opts, dtype=object)[g.integers(0, len(opts), idx.size)]
            labels = np.where(g.random(n) < 0.04, "", labels)
            out[header] = _spell(labels, g)
    return pd.DataFrame(out)


def _write_csv(df: pd.DataFrame, path: Path, pf: PartnerFile) -> None:
    """Write ``df`` as the partner exports it (its separator, its encoding, CRLF for cp1252)."""
    crlf = pf.encoding.lower().replace("-", "") in ("cp1252", "windows1252", "latin1", "iso88591")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep=pf.separator, index=False, encoding=pf.encoding,
                  lineterminator="\r\n" if crlf else "\n")


def generate_partner_files(folder: str | Path = SYNTHETIC_DIR, *,
                           layouts: str | Path = DEFAULT_LAYOUTS, n_records: int = 110_000,
                           n_files: int | None = None, seed: int = 2017,
                           reference_date: str = "2017-03-01") -> SyntheticPartners:
    """Write synthetic partner files into ``folder`` following the layouts mapping.

    Parameters
    ----------
    folder : output folder (repo-relative or absolute); git-ignored by default.
    layouts : the partner layouts mapping (``config/partner_layouts.yaml``).
    n_records : target number of records over all files (within-file duplicates included).
    n_files : number of files, the first ``n_files`` of the mapping (default: all).
    seed : study seed; the draws use the named stream ``"partners-synthetic"``.
    reference_date : date of the survey; last visits are drawn in the 36 months before it.

    Returns
    -------
    SyntheticPartners : the folder, the files written and the simulation truth.

    Notes
    -----
    The simulated world: persons resident in France (72 %, departments weighted towards the
    region and Paris), Belgium, the United Kingdom, the Netherlands and a few other countries;
    each holds 1 to 5 partner files (72 % one), chosen by file size and affinity (zone of the
    partner and the person's home zone, congresses for business visitors, senior groups for
    seniors). Per record: about 4 % are a second or third copy of the person in the same file,
    2.5 % have no e-mail, 1.5 % an invalid one, 6–25 % no consent (per file), about 20 % a last
    visit more than 24 months old, 1 % a blank zone where the file has a zone column.
    Files of the mapping beyond ``n_files`` that exist in ``folder`` from an earlier run are
    removed, so the folder always holds exactly what was generated; other files are left alone.
    """
    n_records = require({"n_records": n_records}, "n_records", int, minimum=100)
    all_files = read_layouts(layouts)
    if n_files is None:
        n_files = len(all_files)
    n_files = require({"n_files": n_files}, "n_files", int, minimum=1, maximum=len(all_files))
    files = all_files[:n_files]
    reference = config_date(reference_date, "reference_date")
    folder = paths.resolve(folder)
    g = named_rng(seed, "partners-synthetic")

    mean_m, dup_rate = 1.42, 0.045
    n_people = max(10, int(round(n_records / (1 + dup_rate) / mean_m)))
    people = _people(n_people, g)
    rec = _records(people, _assign_files(people, files, g), files, reference, g)
    written, truth = _write_files(folder, files, rec, people, g)
    for pf in all_files[n_files:]:
        stale = folder / pf.file
        if stale.exists():
            stale.unlink()
    return SyntheticPartners(folder=folder, files=written, truth=truth)


def _records(people: pd.DataFrame, pairs: pd.DataFrame, files: tuple[PartnerFile, ...], reference: pd.Timestamp,
             g: np.random.Generator) -> pd.DataFrame:
    """The records of the person × file ``pairs``: within-file copies, e-mail as written, consent, last visit, zone."""
    # within-file duplicates: a second copy for 4 %, a third for 0.5 %
    extra = np.where(g.random(len(pairs)) < 0.04, 1, 0) + np.where(g.random(len(pairs)) < 0.005, 1, 0)
    rec = pairs.loc[pairs.index.repeat(1 + extra)].reset_index(drop=True)
    rec["copy"] = rec.groupby(["person", "file"]).cumcount()
    n = len(rec)
    dup = rec["copy"].to_numpy() > 0
    u = g.random(n)
    state = np.where(u < 0.025, "missing", np.where(u < 0.04, "invalid", "ok"))
    rec["email_state"] = state
    rec["email"] = _render_email(people["email"].iloc[rec["person"]].reset_index(drop=True),
                                 people["dot_insensitive"].to_numpy()[rec["person"]], state, dup, g)
    consent_rate = 0.75 + 0.19 * g.random(len(files))
    first_consent = g.random(n) < consent_rate[rec["file"]]
    # copies mostly repeat the first record's consent
    base = pd.Series(first_consent).groupby([rec["person"], rec["file"]]).transform("first").to_numpy()
    rec["consent"] = np.where(dup & (g.random(n) < 0.15), ~base, base)
    rec["last_visit"], event = _dates(files, rec["file"].to_numpy(), reference, g)
    # zone of the visit where the file has a zone column: the event's venue / trip destination
    # for congresses and senior groups (event 5 is a region-wide circuit where one exists)
    fz = np.array([f.zone or "" for f in files])[rec["file"].to_numpy()]
    home = np.where(people["home_zone"].to_numpy()[rec["person"]] == 0, "npdc", "picardie")
    ev_zone = np.where(event % 2 == 0, "npdc", "picardie")
    ev_zone = np.where(event == 5, "both", ev_zone)
    has_both = np.array([any(v == "both" for v in f.zone_values.values()) for f in files])
    ev_zone = np.where((ev_zone == "both") & ~has_both[rec["file"]], home, ev_zone)
    zone_code = np.where(fz != "", np.where(g.random(n) < 0.75, fz, ev_zone), ev_zone)
    rec["zone_code"] = zone_code
    rec["zone_written"] = g.random(n) >= 0.01
    has_zone_col = np.array(["zone" in f.columns for f in files])[rec["file"].to_numpy()]
    rec["zone"] = np.where(has_zone_col & ~rec["zone_written"].to_numpy(),
                           np.where(fz != "", fz, None), np.where(has_zone_col, zone_code, fz))
    return rec


def _write_files(folder: Path, files: tuple[PartnerFile, ...], rec: pd.DataFrame, people: pd.DataFrame,
                 g: np.random.Generator) -> tuple[tuple[Path, ...], pd.DataFrame]:
    """Write every partner file (records in a random order) into ``folder``; the paths and the truth."""
    folder.mkdir(parents=True, exist_ok=True)
    written, truths = [], []
    for fi, pf in enumerate(files):
        r = rec.loc[rec["file"] == fi]
        r = r.iloc[g.permutation(len(r))].reset_index(drop=True)
        table = _file_table(pf, r, people, g)
        dest = folder / pf.file
        if pf.format == "csv":
            _write_csv(table, dest, pf)
        else:
            write_workbook(dest, list(table.columns), table.itertuples(index=False, name=None),
                           sheet=pf.sheet if isinstance(pf.sheet, str) else "Feuil1", created=dt.datetime(2017, 1, 1),
                           author="portrait synthetic partners")
        written.append(dest)
        truths.append(pd.DataFrame({
            "file_id": pf.id, "row": np.arange(len(r)) + 2, "person": r["person"].to_numpy(),
            "copy": r["copy"].to_numpy(), "email_state": r["email_state"].to_numpy(),
            "consent": r["consent"].to_numpy(), "last_visit": r["last_visit"].to_numpy(),
            "zone": r["zone"].to_numpy()}))
    return tuple(written), pd.concat(truths, ignore_index=True)
