"""One partner file read as its layout declares it, and its records in the study's codes.

Step 1 of :mod:`portrait.study.visitors`: :func:`read_partner_file` reads only the columns the study
needs (names are never loaded, values never echoed in messages), then the consent, last visit, zone
and purpose become codes, countries ISO codes (:func:`normalise_countries`) and postcodes a French
department of residence (:func:`residence_department`).
"""

from __future__ import annotations

import codecs

import csv
import difflib
import io as _io
import re
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..pipeline import paths
from ..pipeline.errors import InputError
from .exports import merged_ranges, worksheets_hold
from .partner_layouts import PartnerFile


# Country spellings partners use → ISO 3166-1 alpha-2 (compared without accents, case, punctuation).
_COUNTRIES = {
    "FR": ("france", "fr", "fra", "f", "republique francaise"),
    "BE": ("belgique", "belgium", "belgie", "belgien", "be", "bel", "b"),
    "GB": ("royaume uni", "royaumeuni", "united kingdom", "uk", "gb", "gbr", "grande bretagne",
           "great britain", "angleterre", "england", "ecosse", "scotland", "pays de galles",
           "wales", "irlande du nord", "northern ireland"),
    "NL": ("pays bas", "paysbas", "netherlands", "the netherlands", "nederland", "holland",
           "hollande", "nl", "nld"),
    "DE": ("allemagne", "germany", "deutschland", "de", "deu", "d"),
    "LU": ("luxembourg", "lu", "lux", "l"),
    "CH": ("suisse", "switzerland", "schweiz", "ch", "che"),
    "IT": ("italie", "italy", "italia", "it", "ita"),
    "ES": ("espagne", "spain", "espana", "es", "esp"),
    "US": ("etats unis", "usa", "us", "united states", "united states of america"),
    "IE": ("irlande", "ireland", "ie"),
    "DK": ("danemark", "denmark", "dk"),
    "SE": ("suede", "sweden", "se"),
    "PL": ("pologne", "poland", "pl"),
    "CN": ("chine", "china", "cn"),
    "JP": ("japon", "japan", "jp"),
    "CA": ("canada", "ca"),
}
COUNTRY_SYNONYMS = {name: iso for iso, names in _COUNTRIES.items() for name in names}
UNKNOWN_COUNTRY = "ZZ"
#: Unicode format characters, unseen in a cell: soft hyphen, zero-width spaces and joiners, direction marks, embeddings
#: and isolates, byte-order mark (left by copy and paste; removed from every cell a partner file is read for)
INVISIBLE = "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"

# Department of residence → region (2016 regions). Postcodes give the department of the post
# office, which is the commune's department except for a few border communes: good enough
# for a region of residence.
_REGIONS = {
    "Auvergne-Rhône-Alpes": "01 03 07 15 26 38 42 43 63 69 73 74",
    "Bourgogne-Franche-Comté": "21 25 39 58 70 71 89 90",
    "Bretagne": "22 29 35 56",
    "Centre-Val de Loire": "18 28 36 37 41 45",
    "Corse": "20",
    "Grand Est": "08 10 51 52 54 55 57 67 68 88",
    "Hauts-de-France": "02 59 60 62 80",
    "Île-de-France": "75 77 78 91 92 93 94 95",
    "Normandie": "14 27 50 61 76",
    "Nouvelle-Aquitaine": "16 17 19 23 24 33 40 47 64 79 86 87",
    "Occitanie": "09 11 12 30 31 32 34 46 48 65 66 81 82",
    "Pays de la Loire": "44 49 53 72 85",
    "Provence-Alpes-Côte d'Azur": "04 05 06 13 83 84",
    "Outre-mer": "971 972 973 974 975 976 977 978 984 986 987 988",
}
DEPARTMENT_REGION = {d: region for region, ds in _REGIONS.items() for d in ds.split()}
ABROAD = "Étranger"
UNKNOWN_REGION = "Inconnue"


# ------------------------------------------------------------------------------ reading


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(raw: bytes, encoding: str, where: str) -> str:
    """Decode a CSV file strictly; an error naming the line when the declared encoding is wrong."""
    enc = encoding.lower().replace("_", "-")
    try:
        if enc in ("utf-8", "utf8"):
            return raw.decode("utf-8-sig")
        text = raw.decode(encoding)
    except LookupError as exc:
        raise InputError(f"unknown encoding {encoding!r} declared in the layouts mapping",
                         file=where) from exc
    except UnicodeDecodeError as exc:
        # utf-8-sig counts its positions from after the byte-order mark
        at = exc.start + (len(codecs.BOM_UTF8) if enc in ("utf-8", "utf8") and raw.startswith(codecs.BOM_UTF8) else 0)
        raise InputError(f"unreadable encoding: byte {at} cannot be decoded as {encoding}; "
                         "declare the file's real encoding (e.g. utf-8 or cp1252) in the layouts "
                         "mapping", file=where, row=raw.count(b"\n", 0, at) + 1) from exc
    high = re.search(rb"[\x80-\xff]", raw)
    if high is not None and _is_utf8(raw):
        raise InputError(f"unreadable encoding: the file is UTF-8 but the layouts mapping declares "
                         f"{encoding}; declare encoding: utf-8", file=where,
                         row=raw.count(b"\n", 0, high.start()) + 1)
    return text


def read_partner_file(folder: str | Path, pf: PartnerFile) -> pd.DataFrame:
    """Read the columns the study needs from one partner file, as strings.

    Returns a frame with one column per read role present in the layout (``email``,
    ``consent``, ``last_visit``, ``zone``, ``purpose``, ``country``, ``postcode``) and ``row``,
    the row number in the file (header = row 1). Direct identifiers are not read.

    Raises
    ------
    InputError
        Naming the file (and row or column) when the file is empty, cannot be decoded or parsed,
        or lacks a column the mapping declares (the e-mail column first).
    """
    path = Path(folder) / pf.file
    where = paths.relative(path)
    wanted = {h.strip(): role for role, h in pf.columns.items()}
    read = {h.strip() for role, h in pf.columns.items()
            if role in ("email", "consent", "last_visit", "zone", "purpose", "country", "postcode")}
    seen: dict[str, None] = {}
    twice: list[str] = []

    def pick(col: object) -> bool:
        name = str(col).strip()
        base = re.fullmatch(r"(.*)\.[0-9]+", name)        # pandas renames a repeated header « X.1 »
        if base and base.group(1) in read and base.group(1) in seen:
            twice.append(base.group(1))
        seen[name] = None
        return name in read

    if pf.format == "csv":
        raw = path.read_bytes()
        if not raw.strip():
            raise InputError("the file is empty (no header, no record)", file=where)
        text = _decode(raw, pf.encoding, where)
        try:
            df = pd.read_csv(_io.StringIO(text), sep=pf.separator, dtype=str, keep_default_na=False,
                             na_filter=False, skip_blank_lines=False, usecols=pick)
        except pd.errors.ParserError as exc:
            hint = ("; a quote left open (an unbalanced \") runs to the end of the file"
                    if "EOF inside string" in str(exc) else "")
            raise InputError(f"cannot be parsed as CSV with separator {pf.separator!r}: "
                             f"{str(exc).splitlines()[-1]}{hint}", file=where) from exc
    else:
        if not zipfile.is_zipfile(path):
            raise InputError("is not a readable XLSX workbook (declare format: csv if it is a "
                             "CSV file)", file=where)
        try:
            df = _read_sheet(path, pf.sheet, pick)
        except ValueError as exc:
            if "not found" in str(exc):
                raise InputError(f"the workbook has no sheet {pf.sheet!r}; declare the right "
                                 "'sheet' in the layouts mapping", file=where) from exc
            raise InputError("is not a readable XLSX workbook", file=where) from exc
        except (zipfile.BadZipFile, OSError, KeyError) as exc:
            raise InputError("is not a readable XLSX workbook (declare format: csv if it is a "
                             "CSV file)", file=where) from exc
        except Exception as exc:  # a damaged sheet inside a valid zip: XML errors, bad CRC, …
            raise InputError(f"the workbook opens but a sheet cannot be read ({type(exc).__name__}); the file is "
                             "damaged: export it again from the partner's software", file=where) from exc
        _refuse_merged_cells(path, pf.sheet, where)
        if not seen:
            raise InputError("the file is empty (no header, no record)", file=where)
    if twice:
        raise InputError(f"the column {twice[0]!r}, which the layouts mapping reads "
                         f"({wanted.get(twice[0], '?')}), appears twice in the header: which one holds the data is "
                         "ambiguous; rename or remove the other", file=where, column=twice[0])
    df.columns = [str(c).strip() for c in df.columns]
    headers = list(seen)
    order = sorted(pf.columns.items(), key=lambda kv: (kv[0] != "email", kv[0]))
    for role, header in order:
        if header.strip() not in seen:
            hint = _missing_hint(path, pf, header.strip(), headers, text if pf.format == "csv" else "")
            what = "no e-mail column" if role == "email" else f"mapped column ({role}) absent"
            raise InputError(f"{what}: the file has no column {header!r} that the layouts mapping "
                             f"declares for layout {pf.layout!r} ({len(headers)} columns found){hint}",
                             file=where, column=header)
    if len(df) == 0:
        raise InputError("the file has a header but no record: remove it from the partner folder if the partner has "
                         "no client to give (report 02 then lists it as declared but absent)", file=where)
    if pf.format == "csv" and '"' in text:
        _check_swallowed_records(text, pf.separator, where)
    # invisible characters (copy and paste) leave every cell read here, once: consent, codes, dates, countries
    unseen = pf.format != "csv" or re.search(INVISIBLE, text) is not None       # a CSV without any: no cell scanned
    out = pd.DataFrame({wanted[c]: (df[c].str.replace(INVISIBLE, "", regex=True) if unseen else df[c]).to_numpy()
                        for c in df.columns if c in wanted})
    out["row"] = np.arange(len(df)) + 2
    return out


def blank_rows(records: pd.DataFrame) -> np.ndarray:
    """The rows of :func:`read_partner_file` whose every column read is blank: not records (rows emptied in a
    spreadsheet, left at the end), counted apart in report 02."""
    cells = records.drop(columns="row")
    return np.logical_and.reduce([cells[c].str.strip().eq("").to_numpy() for c in cells.columns]) if len(
        cells.columns) else np.zeros(len(records), dtype=bool)


def _read_sheet(path: Path, sheet: str | int, usecols) -> pd.DataFrame:
    """One sheet of a workbook, every cell as a string ("" when empty).

    calamine (Rust) reads the cells the way openpyxl does — integral numbers as integers, dates as
    ``datetime`` — about nine times faster on the partner files, except error cells (``#N/A``): calamine
    reads them as "", openpyxl as missing values; a workbook holding any is read by openpyxl, as before.
    """
    engine = "openpyxl" if worksheets_hold(path, ERROR_CELL) else "calamine"
    return pd.read_excel(path, sheet_name=sheet, dtype=str, engine=engine, keep_default_na=False,
                         na_filter=False, usecols=usecols)


ERROR_CELL = rb'<(?:\w+:)?c\b[^>]*\bt="e"'     # a worksheet cell of type error


def _missing_hint(path: Path, pf: PartnerFile, header: str, headers: list[str], text: str) -> str:
    """What to say of a declared column the header lacks: the row the header is on when it is lower (a partner
    trial: a title row, or Excel's « sep=; » line, above it), a separator that split nothing, a column of the same
    name in other case or a close one."""
    below = _header_below(path, pf, header, text)
    if below:
        return f"; the header looks to be on row {below}: delete the row(s) above it (a title, « sep=… »)"
    if len(headers) == 1 and pf.format == "csv":
        return f"; the header was read as a single column: check separator {pf.separator!r}"
    folded = {h.casefold(): h for h in headers}.get(header.casefold())
    close = [folded] if folded else difflib.get_close_matches(header, headers, n=1, cutoff=0.75)
    return f"; the file has a column {close[0]!r}: correct the layouts mapping" if close else ""


def _header_below(path: Path, pf: PartnerFile, header: str, text: str, rows: int = 10) -> int | None:
    """The row (2 to ``rows``) holding ``header`` as a cell when row 1 does not, else None."""
    if pf.format == "csv":
        lines = list(csv.reader(_io.StringIO("\n".join(text.splitlines()[:rows])), delimiter=pf.separator))
    else:
        lines = _read_sheet(path, pf.sheet, None).head(rows - 1).values.tolist()
        lines.insert(0, [])
    return next((k + 1 for k, line in enumerate(lines) if k and header in (str(c).strip() for c in line)), None)


def _refuse_merged_cells(path: Path, sheet: str | int, where: str) -> None:
    """Stop on the first merged range of the sheet read: a workbook keeps the first cell's value only, so the
    records under a merged cell would lose their e-mail, country or date without a word."""
    ranges = merged_ranges(path, sheet)
    if ranges:
        row, _, ref, header = ranges[0]
        raise InputError(f"cells {ref} are merged ({len(ranges)} merged range(s) in the sheet): a workbook keeps the "
                         "first cell's value only, so the records below would lose theirs; unmerge them and fill "
                         "each cell", file=where, row=row, column=str(header).strip() if header is not None else None)


def _check_swallowed_records(text: str, sep: str, where: str) -> None:
    """Stop on a cell that runs over a line break and holds separators: records swallowed by a stray quote.

    (A quoted text with a line break alone, such as a postal address, is valid CSV and passes.)
    """
    import csv

    for k, rec in enumerate(csv.reader(_io.StringIO(text, newline=""), delimiter=sep)):
        for j, cell in enumerate(rec):
            if ("\n" in cell or "\r" in cell) and sep in cell:
                header = next(csv.reader(_io.StringIO(text.split("\n", 1)[0]), delimiter=sep))
                raise InputError("a quote left open: this cell runs over line breaks and swallows the next "
                                 "record(s) (an unbalanced \" in the file); fix the quote or export again",
                                 file=where, row=k + 1, column=header[j].strip() if j < len(header) else None)


def _codes(values: pd.Series, mapping: dict[str, str], default: str | None, pf: PartnerFile,
           role: str, rows: np.ndarray, where: str) -> pd.Series:
    """Partner values → codes; blank → file default; an undeclared value stops the ingest."""
    folded = values.str.strip().str.casefold()
    blank = folded == ""
    coded = folded.map(mapping)
    bad = ~blank & coded.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{int(bad.sum())} value(s) not declared under {role}_values of layout "
                         f"{pf.layout!r} (declared: {', '.join(sorted(mapping))}); add them to the "
                         "layouts mapping (values are not echoed here, they could be personal data)",
                         file=where, row=int(rows[i]), column=pf.columns[role])
    return coded.where(~blank, default)


def _standardise(pf: PartnerFile, df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Consent, last visit, zone and purpose of one file's records in the study's codes."""
    n = len(df)
    rows = df["row"].to_numpy()
    out = pd.DataFrame({"row": rows})
    folded = df["consent"].str.strip().str.casefold()
    listed = folded.isin(pf.consent_values).to_numpy()
    # a trial: an opt-out file writing its refusals « 1 » read every one of them as consent; undeclared, no value
    # is read as either answer
    bad = ~listed & (folded != "").to_numpy() & ~folded.isin(pf.consent_others).to_numpy()
    if bad.any():
        means = "agrees" if pf.consent_meaning == "opt_in" else "refused"
        raise InputError(f"{int(bad.sum())} consent value(s) of layout {pf.layout!r} are declared neither under "
                         f"values (means {means}: {', '.join(pf.consent_values)}) nor under others (the opposite: "
                         f"{', '.join(pf.consent_others) or 'blank only'}); declare each under the answer it gives, "
                         "or someone who refused could be invited (values are not echoed here)",
                         file=where, row=int(rows[int(np.flatnonzero(bad)[0])]), column=pf.columns["consent"])
    out["consent"] = listed if pf.consent_meaning == "opt_in" else ~listed
    raw = df["last_visit"].str.strip()
    if pf.date_format == "excel":
        # a date cell reads « 2016-03-12 00:00:00 »; a number cell « 2016 » would parse as 1 January (a trial)
        date = pd.to_datetime(raw.where(raw.str.match(r"\d{4}-\d{2}-\d{2}")), format="ISO8601", errors="coerce")
    else:
        date = pd.to_datetime(raw, format=pf.date_format, errors="coerce")
        _check_day_month(pf, raw, date, rows, where)
    out["last_visit"] = date.to_numpy()
    out["date_state"] = np.where(raw == "", "missing", np.where(date.isna(), "unreadable", "ok"))
    if "zone" in df:
        out["zone"] = _codes(df["zone"], dict(pf.zone_values), pf.zone, pf, "zone", rows, where).to_numpy()
    else:
        out["zone"] = pf.zone
    if "purpose" in df:
        out["purpose"] = _codes(df["purpose"], dict(pf.purpose_values), pf.purpose, pf, "purpose",
                                rows, where).to_numpy()
    else:
        out["purpose"] = pf.purpose
    for role in ("email", "country", "postcode"):
        out[role] = df[role].to_numpy() if role in df else np.full(n, "", dtype=object)
    return out


def _check_day_month(pf: PartnerFile, raw: pd.Series, date: pd.Series, rows: np.ndarray, where: str) -> None:
    """Stop when the dates are written month first although the layout declares day first (or the reverse).

    Dates such as 03/25/2016 do not parse; those with a day of 12 or less would parse with day and month
    exchanged, silently. When some dates fail with the declared format and every date parses with the
    two exchanged, the file is read with the wrong format.
    """
    fmt = pf.date_format
    if "%d" not in fmt or "%m" not in fmt:
        return
    filled = raw != ""
    failed = filled & date.isna()
    if not failed.any():
        return
    swapped_fmt = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    swapped = pd.to_datetime(raw.where(filled), format=swapped_fmt, errors="coerce")
    if swapped[filled].notna().all():
        i = int(np.flatnonzero(failed.to_numpy())[0])
        raise InputError(f"the dates are written {swapped_fmt!r}, not {fmt!r} as layout {pf.layout!r} declares "
                         f"({int(failed.sum())} do not read with {fmt!r}, all read with the day and month exchanged, "
                         "and those with a day of 12 or less would be read wrong): correct date_format",
                         file=where, row=int(rows[i]), column=pf.columns["last_visit"])


def normalise_countries(raw: pd.Series) -> pd.Series:
    """ISO 3166-1 alpha-2 codes from partners' spellings; blank → missing, unknown → ``ZZ``. A qualifier in
    parentheses is left out when it names the same country or is :data:`QUALIFIERS` (« Belgique (BE) »,
    « FRANCE (METROPOLE) »: a trial); any other keeps the spelling unknown (« Irlande (Nord) » is not Ireland)."""
    s = pd.Series(raw, dtype="str")
    uniq = pd.unique(s.dropna())
    folded = {}
    for v in uniq:
        ascii_ = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().casefold()
        key, bare = _words(ascii_), _words(re.sub(r"\([^)]*\)", " ", ascii_))
        said = [_words(q) for q in re.findall(r"\(([^)]*)\)", ascii_)]
        same = bare in COUNTRY_SYNONYMS and all(q in QUALIFIERS or COUNTRY_SYNONYMS.get(q) == COUNTRY_SYNONYMS[bare]
                                                for q in said)
        folded[v] = None if key == "" else COUNTRY_SYNONYMS.get(key, COUNTRY_SYNONYMS[bare] if said and same
                                                                 else UNKNOWN_COUNTRY)
    return s.map(folded)


def _words(text: str) -> str:
    return re.sub(r"[^a-z]+", " ", text).strip()


#: Qualifiers in parentheses that leave the country as it is (folded).
QUALIFIERS = ("metropole", "metropolitaine", "france metropolitaine", "continentale", "hors dom", "hors dom tom")


def residence_counts(files: list[dict], rec: pd.DataFrame, postcode: pd.Series) -> list[dict]:
    """Each file's entry with its records whose country no known spelling gives (``country_unknown``) or is blank
    (``country_blank``) and its French records whose postcode gives no department (``postcode_unreadable``): report 02
    names them (a trial: 1,342 persons became « inconnu » in a calibration margin without a word)."""
    unknown = rec["country"].eq(UNKNOWN_COUNTRY).fillna(False).to_numpy(dtype=bool)
    blank = rec["country"].isna().to_numpy(dtype=bool)
    french = rec["country"].eq("FR").fillna(False).to_numpy(dtype=bool)
    unread = french & postcode.str.strip().ne("").fillna(False).to_numpy(dtype=bool) \
        & rec["residence_department"].isna().to_numpy()
    counted = {"country_unknown": unknown, "country_blank": blank, "postcode_unreadable": unread}
    counts = pd.DataFrame(counted).groupby(rec["file_id"].to_numpy()).sum().astype(int)
    return [{**f, **(counts.loc[f["file_id"]].to_dict() if f["file_id"] in counts.index else dict.fromkeys(counted, 0))}
            for f in files]


def residence_department(postcode: pd.Series, country: pd.Series) -> pd.Series:
    """French department of residence from the postcode (French residents only), else missing.

    Spreadsheets drop the leading zero of postcodes such as 02100: four digits are padded for
    French residents. Overseas postcodes (97x, 98x) give three-digit departments; 20xxx gives
    ``20`` (Corsica). The postcode itself is not kept.
    """
    # « F-59000 », « FR-59000 », « 59000.0 » (a number read back), « 59000 LILLE », « 59 000 », « 974 00 » (trials):
    # the code is the digits; only a bare number lost its leading zero (« 5900 LILLE » is no 05900)
    text = pd.Series(postcode, dtype="str").str.strip().str.replace(r"^[Ff][Rr]?\s*-?\s*(?=\d)", "", regex=True)
    spaced = text.str.fullmatch(r"\d(?:\s\d){3,4}").fillna(False).astype(bool)          # « 5 9 0 0 0 »
    text = text.where(~spaced, text.str.replace(r"\s", "", regex=True))
    pc = text.str.extract(r"^(\d{2}\s?\d{3}|\d{3}\s\d{2}|\d{4}(?=(?:\.0+)?$))(?:\.0+)?(?:$|[\s,;/-]+\D)",
                          expand=False).str.replace(r"\s+", "", regex=True)
    fr = (country == "FR").to_numpy()
    pc = pc.where(~pc.str.fullmatch(r"[0-9]{4}").fillna(False).astype(bool), "0" + pc)
    ok = pc.str.fullmatch(r"[0-9]{5}").fillna(False).astype(bool).to_numpy() & fr
    dept = pc.str[:2].where(~pc.str[:2].isin(["97", "98"]), pc.str[:3])
    dept = dept.where(ok & dept.isin(DEPARTMENT_REGION).to_numpy())
    return dept


def read_identities(folder: str | Path, pf: PartnerFile, rows: np.ndarray) -> pd.DataFrame:
    """E-mail and name columns of the records at ``rows`` (header = row 1) of one partner file, as strings.

    Used only to write the invitation files (:mod:`portrait.study.invitations`), never by the frame:
    columns ``row``, ``email``, ``first_name``, ``last_name``, ``full_name`` ("" where the layout has
    no such column).
    """
    path = Path(folder) / pf.file
    roles = {h.strip(): role for role, h in pf.columns.items() if role in ("email",) + IDENTITY_ROLES}
    if pf.format == "csv":
        text = _decode(path.read_bytes(), pf.encoding, paths.relative(path))
        df = pd.read_csv(_io.StringIO(text), sep=pf.separator, dtype=str, keep_default_na=False, na_filter=False,
                         skip_blank_lines=False, usecols=lambda c: str(c).strip() in roles)
    else:
        df = _read_sheet(path, pf.sheet, lambda c: str(c).strip() in roles)
    df.columns = [roles[str(c).strip()] for c in df.columns]
    idx = np.asarray(rows, dtype=int) - 2
    if len(idx) and (idx.min() < 0 or idx.max() >= len(df)):
        raise InputError("the file has fewer rows than when the visitor frame was built: it changed since; "
                         "run the chain again before writing invitations", file=paths.relative(path))
    out = pd.DataFrame({"row": np.asarray(rows, dtype=int)})
    for role in ("email",) + IDENTITY_ROLES:
        out[role] = df[role].iloc[idx].str.strip().to_numpy() if role in df else ""
    return out


IDENTITY_ROLES = ("first_name", "last_name", "full_name")
