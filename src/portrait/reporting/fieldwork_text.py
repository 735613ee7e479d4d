"""French text of the fieldwork report (notebook 03) and of the survey check: what was read from the
survey tool's files, and the AAPOR response rates."""

from __future__ import annotations

from pathlib import PurePath
from typing import Iterable

import pandas as pd

from . import formatting as fmt
from ..study.survey_tools import ReadNote

SURVEYS = {"residents": "Habitants", "visitors": "Clients du territoire"}
AAPOR_DEFINITION = (
    "Taux de réponse au sens de l'AAPOR (*Standard Definitions*, 9ᵉ éd., 2016) : "
    "**RR1** = questionnaires complets / unités éligibles ou d'éligibilité inconnue ; "
    "**RR2** = questionnaires complets et partiels / même dénominateur. Les invitations restées sans "
    "réponse ou non distribuées, d'éligibilité inconnue (UO), sont comptées au dénominateur comme si elles "
    "étaient éligibles (e = 1 : les taux les plus prudents) ; les unités hors champ (NE) en sont retirées. "
    "RR2 est le taux de réponse utilisé pour la correction de non-réponse.")


def read_notes(notes: Iterable[ReadNote]) -> str:
    """What was read from each survey-tool file: rows, rows set aside, columns dropped (names only)."""
    notes = list(notes)
    if not notes:
        return ("Exports au format natif du dictionnaire des variables : pas de colonne d'outil d'enquête à écarter "
                "(aucune donnée personnelle attendue).")
    lines = []
    for n in notes:
        parts = [f"{fmt.number(n.rows)} ligne(s) lue(s)"]
        if n.set_aside:
            parts.append(" ; ".join(f"{fmt.number(k)} ligne(s) écartée(s) ({rule} : aperçu, test ou spam de l'outil)"
                                    for rule, k in n.set_aside.items()))
        if n.personal:
            parts.append(f"{len(n.personal)} colonne(s) de données personnelles supprimée(s) sans être lue(s) : "
                         + ", ".join(f"`{c}`" for c in n.personal))
        if n.technical:
            parts.append(f"{len(n.technical)} colonne(s) technique(s) ignorée(s)")
        lines.append(f"- `{PurePath(n.file).name}` : " + " ; ".join(parts) + ".")
    return "Fichiers de l'outil d'enquête :\n\n" + "\n".join(lines)


def cleaning_sentence(surveys) -> str:
    """What the ingest removed from open answers: e-mail addresses and control characters, counted."""
    emails = sum(r.emails_removed for r in surveys.values())
    controls = sum(r.controls_removed for r in surveys.values())

    def count(n: int, none: str, some: str) -> str:
        return none if n == 0 else f"{fmt.number(n)} {some}"

    return ("Réponses ouvertes : " + count(emails, "aucune adresse électronique à effacer",
                                           "adresse(s) électronique(s) remplacée(s) par « [courriel supprimé] »")
            + " ; " + count(controls, "aucun caractère de contrôle (NUL…) à retirer",
                            "réponse(s) débarrassée(s) de caractères de contrôle (NUL…)") + ".")


def aapor_table(rates: pd.DataFrame, by: str, by_label: str) -> pd.DataFrame:
    """AAPOR counts and rates (:func:`portrait.study.ingest.aapor_rates`) for reviewers, in French."""
    t = rates.copy()
    return pd.DataFrame({
        "Enquête": t["survey"].map(SURVEYS), by_label: t[by].astype(str),
        "Complets (I)": t["I"].map(fmt.number), "Partiels (P)": t["P"].map(fmt.number),
        "Refus et abandons (R)": t["R"].map(fmt.number), "Éligibilité inconnue (UO)": t["UO"].map(fmt.number),
        "Hors champ (NE)": t["NE"].map(fmt.number),
        "RR1 (%)": (t["RR1"] * 100).map(lambda x: fmt.number(x, 1)),
        "RR2 (%)": (t["RR2"] * 100).map(lambda x: fmt.number(x, 1))})
