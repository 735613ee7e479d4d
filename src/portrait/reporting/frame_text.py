"""French text of the visitor frame's report (02) beside its tables: why records are out of scope.

A partner trial: dates written in another format than the layout declares, in a fifth of one file, made 556
persons « hors champ » with nothing but the ledger file to say why, where an old visit and an unreadable date look
alike. The reasons are given, and the files where one points to a reading problem named.
"""

from __future__ import annotations

import pandas as pd

from . import formatting as fmt
from .parameter_labels import VALUE_TEXTS
from ..study.visitors import SOURCE_PRIORITY

#: Out-of-scope reasons that say the file was misread or incomplete rather than the visit too old.
READING = {"last_visit_unreadable": "date de dernière visite illisible au format déclaré pour le fichier",
           "last_visit_missing": "date de dernière visite absente",
           "zone_unknown": "zone visitée inconnue"}


def _reason(detail: str) -> str:
    if detail.startswith("last_visit_before_"):
        return f"dernière visite avant le {fmt.date(detail.removeprefix('last_visit_before_'))}"
    if detail == "last_visit_after_reference":
        return "dernière visite après la date de référence"
    return READING.get(detail, detail)


def out_of_scope_fr(ledger: pd.DataFrame) -> str:
    """The ledger's out-of-scope records by reason, then, for each reason of :data:`READING`, the files concerned
    with their counts (a reason that the layout may be wrong for that file, to check before drawing)."""
    out = ledger.loc[ledger["status"] == "out_of_scope"]
    if out.empty:
        return "Aucun enregistrement hors champ."
    counts = out["detail"].value_counts().sort_index()
    text = "**Hors champ, par motif** : " + " ; ".join(
        f"{_reason(d)} : {fmt.count(int(n), 'enregistrement', 'enregistrements')}" for d, n in counts.items()) + "."
    flagged = []
    for detail, label in READING.items():
        per_file = out.loc[out["detail"] == detail, "file_id"].value_counts().sort_index()
        if len(per_file):
            flagged.append(f"{label} : " + ", ".join(f"{f} ({fmt.number(int(n))})" for f, n in per_file.items()))
    if flagged:
        text += ("\n\n**À vérifier avant le tirage** (ces enregistrements sont exclus ; si la description d'un "
                 "fichier dans `config/partner_layouts.yaml` ne lui correspond pas, ils l'ont été à tort) : "
                 + " ; ".join(flagged)
                 + ".")
    return text


def residence_fr(files: pd.DataFrame) -> str:
    """What the reading of each file left aside or could not read, in records read (kept or not): blank rows
    (``blank_rows``, not records), records whose country no known spelling gives (``country_unknown``: « inconnu » in
    the country margin of the visitors' calibration, report 05) and French records whose postcode gives no department
    (``postcode_unreadable``: still France, without a region), from
    :func:`portrait.study.partner_records.residence_counts`."""
    items = (("blank_rows", "lignes vides (aucune colonne lue n'est remplie), écartées sans compter comme "
                            "enregistrements"),
             ("country_unknown", "pays écrit d'une façon que l'import ne reconnaît pas (ces personnes comptent comme "
                                 "« pays inconnu » dans la marge de calage des clients, rapport 05)"),
             ("postcode_unreadable", "code postal illisible d'un résident en France (la personne reste en France, "
                                     "sans région)"))
    parts = []
    for column, label in items:
        mine = files.loc[files[column] > 0] if column in files else files.iloc[:0]
        if len(mine):
            parts.append(f"{label} : " + ", ".join(f"{f} ({fmt.number(int(n))})"
                                                    for f, n in zip(mine["file_id"], mine[column])))
    blank = _blank_countries(files)
    if not parts:
        return "Toutes les lignes des fichiers, et tous les pays et codes postaux renseignés, ont été lus." + blank
    return ("**Lecture des fichiers**, en enregistrements lus (retenus ou non) : " + " ; ".join(parts)
            + ". Corrigez le fichier, ou signalez l'écriture à ajouter." + blank)


def _blank_countries(files: pd.DataFrame) -> str:
    """A sentence on the records without a country (``country_blank``), with the smallest and largest share of a
    file: a file whose country column is empty, or declared on the wrong column, stands out (its persons are
    « pays inconnu » in the calibration margin, as a partner that did not record the country); empty when none."""
    if "country_blank" not in files or not files["country_blank"].sum():
        return ""
    share = files["country_blank"] / files["records"].where(files["records"] > 0)
    top = files.loc[share.idxmax(), "file_id"]
    spread = (f", de {fmt.percent(share.min())} à {fmt.percent(share.max())} selon le fichier (le plus : {top})"
              if len(files) > 1 else "")
    return (f" Pays non renseigné : {fmt.number(int(files['country_blank'].sum()))} enregistrements lus "
            f"({fmt.percent(files['country_blank'].sum() / files['records'].sum())}){spread} ; ces personnes comptent "
            "comme « pays inconnu » dans la marge de calage des clients (rapport 05), sauf quand un autre de leurs "
            "enregistrements donne leur pays.")


def priority_fr(source_priority) -> str:
    """The partner types in the order that classes a person found in files of several types (the parameter
    ``source_priority``: the first type wins), and, for the default order, why it runs so.

    A review: report 02 wrote the default order by hand, « du fichier le plus spécifique (et le plus petit) au plus
    large », while congresses and fairs (9,738 records, 4,804 persons kept) come before senior groups (4,402, 2,220):
    the rule is the most specific type first, not the smallest file; and another order in config/ left the text
    stale."""
    def label(t: str) -> str:
        return VALUE_TEXTS["source_priority"].get(t, t)

    names = [label(t) for t in source_priority]
    order = names[0] + (", puis " + ", ".join(names[1:]) if len(names) > 1 else "")
    why = ("qui va du type de partenaire le plus spécifique au plus général (l'ordre par défaut) : une personne "
           "inscrite à un congrès et présente dans le fichier d'un office de tourisme compte comme cliente d'un congrès"
           if tuple(source_priority) == SOURCE_PRIORITY else
           "fixé par les paramètres de l'étude (l'ordre par défaut va du type le plus spécifique, "
           f"{label(SOURCE_PRIORITY[0])}, au plus général, {label(SOURCE_PRIORITY[-1])})")
    return (f"**Ordre de priorité des types de partenaires** : {order}. Une personne présente dans des fichiers de "
            f"plusieurs types est classée dans le premier de cet ordre, {why}.")
