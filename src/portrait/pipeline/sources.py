"""Raw inputs in ``data/raw/``: readers, the checksum manifest and the optional refresh.

Raw files are immutable. ``data/raw/SHA256SUMS`` lists their checksums; ``verify()`` (run by
the tests and by ``make``) fails if any file changed. ``refresh_communes()`` rebuilds the commune
file from the pinned npm package ``@etalab/decoupage-administratif`` (needs ``npm``; only
``make refresh-raw`` calls it, ``make`` never does).
"""

from __future__ import annotations

import argparse
import io as _io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from . import paths
from .errors import InputError
from .io import sha256, write_text

COMMUNES_FILE = "communes_hdf.csv"
POPULATION_FILE = "insee_elp_dep_sexe_survey_age_groups_2017_2019_2022.csv"
MANIFEST = "SHA256SUMS"
ETALAB_PACKAGE = "@etalab/decoupage-administratif"
ETALAB_VERSION = "6.0.0"
COMMUNES_LIST_DATE = "2026-01-01"         # what that edition holds: the communes in force at this date,
COMMUNES_POPULATION_YEAR = 2023           # with the legal populations of this reference year (SOURCES.md)
REGION = "32"
DEPARTMENTS = {"02": "Aisne", "59": "Nord", "60": "Oise", "62": "Pas-de-Calais", "80": "Somme"}


def read_communes(path: str | Path | None = None) -> pd.DataFrame:
    """Communes of Hauts-de-France with their legal population (``;``-separated, UTF-8 with BOM)."""
    path = paths.resolve(path or paths.RAW / COMMUNES_FILE)
    if not path.exists():
        raise InputError("file not found; run `make refresh-raw` or restore it from git",
                         file=paths.relative(path))
    df = pd.read_csv(path, sep=";", dtype={"code": str, "departement": str, "nom": str},
                     encoding="utf-8-sig")
    for col in ("code", "nom", "departement", "population"):
        if col not in df.columns:
            raise InputError("required column is missing", file=paths.relative(path), column=col)
    pop = pd.to_numeric(df["population"], errors="coerce")
    bad = df.index[pop.isna() | (pop < 0) | (pop != pop.round())]
    if len(bad):
        i = int(bad[0])
        raise InputError("population must be a non-negative integer", file=paths.relative(path),
                         row=i + 2, column="population", value=df.loc[i, "population"])
    df["population"] = pop.astype("int64")
    dup = df.index[df["code"].duplicated()]
    if len(dup):
        i = int(dup[0])
        raise InputError("commune code appears twice", file=paths.relative(path), row=i + 2,
                         column="code", value=df.loc[i, "code"])
    return df


def read_population(year: int = 2017, path: str | Path | None = None) -> pd.DataFrame:
    """INSEE population estimates at 1 January by department × sex × survey age group.

    Returns the rows of ``year`` for the five departments (not the regional sums), with columns
    ``departement, sex, age_group, population``; ``sex`` is ``hommes``/``femmes``/``ensemble``.
    """
    path = paths.resolve(path or paths.RAW / POPULATION_FILE)
    if not path.exists():
        raise InputError("file not found", file=paths.relative(path))
    df = pd.read_csv(path, dtype={"geo_code": str})
    years = sorted(df["year"].unique())
    if year not in years:
        raise InputError(f"no figures for year {year}; available years: {years}",
                         file=paths.relative(path), column="year", value=year)
    df = df.loc[(df["year"] == year) & df["geo_code"].isin(DEPARTMENTS)]
    return (df.rename(columns={"geo_code": "departement"})
              [["departement", "sex", "age_group", "population"]].reset_index(drop=True))


NIGHTS_FILE = "insee_nuitees_saison_dep_type_hdf_2017_2019.csv"
NPDC = ("59", "62")


def npdc_share_of_nights(year: int = 2017, path: str | Path | None = None) -> float:
    """Share of the Nord-Pas de Calais departments in the region's April–September nights (INSEE)."""
    path = paths.resolve(path or paths.RAW / NIGHTS_FILE)
    if not path.exists():
        raise InputError("file not found", file=paths.relative(path))
    df = pd.read_csv(path, dtype={"geo_code": str})
    d = df.loc[(df["season_year"] == year) & (df["accommodation_type"] == "total") & df["geo_code"].isin(DEPARTMENTS)]
    if len(d) != len(DEPARTMENTS):
        raise InputError(f"no complete department totals for season {year}", file=paths.relative(path),
                         column="season_year", value=year)
    nights = d.set_index("geo_code")["nights_thousands"].astype(float)
    return float(nights[list(NPDC)].sum() / nights.sum())


def pop15_share(year: int = 2017) -> pd.Series:
    """Share of residents aged 15+ in each department's population (INSEE estimates of ``year``)."""
    p = read_population(year)
    p = p.loc[p["sex"] == "ensemble"].pivot(index="departement", columns="age_group",
                                             values="population")
    total = p["0-14"] + p["15+"]
    return (p["15+"] / total).rename("pop15_share")


# -------------------------------------------------------------------------- manifest


def _raw_files() -> list[Path]:
    return sorted(p for p in paths.RAW.rglob("*")
                  if p.is_file() and p.name not in (MANIFEST, ".gitkeep") and p.suffix != ".md"
                  and "partners" not in p.relative_to(paths.RAW).parts
                  and "survey" not in p.relative_to(paths.RAW).parts)


def manifest_text() -> str:
    """The checksum manifest for the current raw files (``sha256sum`` format)."""
    return "".join(f"{sha256(p)}  {p.relative_to(paths.RAW).as_posix()}\n" for p in _raw_files())


def verify() -> list[str]:
    """Compare raw files with ``data/raw/SHA256SUMS``; return the list of problems (empty if all hold)."""
    manifest = paths.RAW / MANIFEST
    if not manifest.exists():
        return [f"{paths.relative(manifest)} is missing"]
    expected = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        expected[name.strip()] = digest
    found = {p.relative_to(paths.RAW).as_posix(): p for p in _raw_files()}
    problems = [f"data/raw/{n}: listed in {MANIFEST} but missing" for n in sorted(set(expected) - set(found))]
    problems += [f"data/raw/{n}: not listed in {MANIFEST} (raw files are declared, with provenance "
                 "in SOURCES.md)" for n in sorted(set(found) - set(expected))]
    problems += [f"data/raw/{n}: checksum differs from {MANIFEST}; raw files are never edited"
                 for n in sorted(set(found) & set(expected)) if sha256(found[n]) != expected[n]]
    return problems


# -------------------------------------------------------------------------- refresh


def communes_from_package(tarball: bytes) -> pd.DataFrame:
    """Extract the region's current communes from the npm tarball of decoupage-administratif."""
    with tarfile.open(fileobj=_io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile("package/data/communes.json")
        if member is None:
            raise InputError("package/data/communes.json not found in the npm tarball")
        data = json.load(member)
    rows = [{"code": c["code"], "nom": c["nom"], "departement": c["departement"],
             "population": int(c["population"])}
            for c in data if c.get("region") == REGION and c.get("type") == "commune-actuelle"]
    return pd.DataFrame(rows).sort_values("code").reset_index(drop=True)


def refresh_communes(version: str = ETALAB_VERSION) -> Path:
    """Rebuild ``data/raw/communes_hdf.csv`` from the npm package (``npm pack``; needs npm)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", f"{ETALAB_PACKAGE}@{version}", "--silent"], cwd=tmp,
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        df = communes_from_package((Path(tmp) / out).read_bytes())
    text = df.to_csv(sep=";", index=False, lineterminator="\n")
    return write_text(paths.RAW / COMMUNES_FILE, "\ufeff" + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.sources", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("verify", help="check raw files against data/raw/SHA256SUMS")
    sub.add_parser("manifest", help="rewrite data/raw/SHA256SUMS from the current raw files")
    r = sub.add_parser("refresh-communes", help="rebuild the commune file with npm pack")
    r.add_argument("--version", default=ETALAB_VERSION)
    args = parser.parse_args(argv)
    if args.cmd == "verify":
        problems = verify()
        for p in problems:
            print(p, file=sys.stderr)
        if not problems:
            print(f"data/raw: {len(_raw_files())} files match {MANIFEST}")
        return 1 if problems else 0
    if args.cmd == "manifest":
        write_text(paths.RAW / MANIFEST, manifest_text())
        return 0
    print(f"wrote {paths.relative(refresh_communes(args.version))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
