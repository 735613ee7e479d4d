"""The reviewers' synthesis: sentences generated from the results, and statistical disclosure control.

Everything a reviewer reads is computed here from the chain's outputs; nothing is typed by hand.
Statistical disclosure control: any cell computed on fewer respondents than a threshold (a
parameter, 10 by default) is suppressed — its value replaced by :data:`SUPPRESSED` and its
count by « moins de N » — in tables and figures.

References
----------
Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley. (threshold rule)
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..study import compare
from .. import survey
from . import formatting as fmt
from ..survey import Design

SUPPRESSED = "secret (effectif < seuil)"
SIMULATED = "*Données simulées : les réponses viennent du simulateur du projet, pas d'une enquête réelle.*"


def section_label(source: str) -> str:
    """The « données simulées » line that opens every section of the synthesis when answers are simulated."""
    return SIMULATED if source == "simulated" else ""


def suppress(table: pd.DataFrame, n_column: str, value_columns: Sequence[str], threshold: int,
             decimals: int = 2) -> pd.DataFrame:
    """A display copy of ``table`` with small cells suppressed and numbers written the French way.

    Rows whose ``n_column`` is below ``threshold`` show :data:`SUPPRESSED` instead of their values
    and « moins de <threshold> » instead of their count.
    """
    out = table.copy()
    small = out[n_column].to_numpy() < threshold
    for c in value_columns:
        out[c] = [SUPPRESSED if s else fmt.number(v, decimals) for v, s in zip(out[c], small)]
    out[n_column] = [f"moins de {threshold}" if s else fmt.number(v) for v, s in zip(table[n_column], small)]
    return out


def ci_text(estimate: float, low: float, high: float, scale: float = 1.0, decimals: int = 1, unit: str = "") -> str:
    """« 6,8 [6,7 ; 6,9] » with a unit (points, %)."""
    u = f" {unit}" if unit else ""
    return (f"{fmt.number(estimate * scale, decimals)}{u} (IC à 95 % : {fmt.number(low * scale, decimals)} ; "
            f"{fmt.number(high * scale, decimals)})")


def method_sentences(counts: Mapping[str, int], ledger: pd.DataFrame, diag: Mapping[str, pd.Series]) -> str:
    """The method in plain French, with the chain's own numbers.

    ``counts``: communes, residents aged 15+, frame persons, invitations of each survey;
    ``ledger``: the fieldwork ledger; ``diag``: weight diagnostics of each survey.
    """
    led = ledger.groupby(["survey", "status"])["n"].sum()

    def rate(survey: str) -> str:
        resp = led.get((survey, "respondent"), np.nan)
        excl = led.get((survey, "excluded"), 0)
        total = led.loc[survey].sum()
        return fmt.number(resp / (total - excl) * 100, 1) + " %"

    return "\n\n".join([
        f"**Deux enquêtes indépendantes.** Les habitants de 15 ans ou plus ont été tirés en deux degrés : "
        f"{fmt.number(counts['communes_drawn'])} communes parmi les {fmt.number(counts['communes'])} de la région, tirées avec "
        f"une probabilité proportionnelle à leur population dans chaque département et classe de taille, puis "
        f"{fmt.number(counts['resident_invitations'])} invitations. Les clients du territoire ont été tirés au hasard, par "
        f"zone visitée et type de partenaire, parmi les {fmt.number(counts['frame_persons'])} personnes des fichiers de "
        f"partenaires (une fois dédoublonnés, et seulement celles qui acceptent d'être recontactées) : "
        f"{fmt.number(counts['visitor_invitations'])} invitations.",
        f"**Réponse.** Taux de réponse : {rate('residents')} chez les habitants, {rate('visitors')} chez les clients. "
        "Ceux qui répondent ne ressemblent pas exactement à ceux qui ne répondent pas (par exemple les plus âgés "
        "répondent davantage) : la pondération corrige ces écarts.",
        f"**Pondération.** Chaque répondant reçoit un poids : l'inverse de sa probabilité d'être invité, corrigé de la "
        f"non-réponse, puis calé pour que l'échantillon reproduise exactement des effectifs connus — pour les habitants, "
        f"la population de l'Insee par sexe et âge, département et taille de commune ; pour les clients, les totaux "
        f"des fichiers de partenaires. Effet de plan dû aux poids (Kish) : {fmt.number(diag['residents']['deff de Kish'], 2)} "
        f"chez les habitants, {fmt.number(diag['visitors']['deff de Kish'], 2)} chez les clients.",
        "**Ce que veut dire un intervalle de confiance.** Chaque chiffre est une estimation tirée d'un échantillon. "
        "L'intervalle de confiance à 95 % donne la fourchette de valeurs compatibles avec les réponses recueillies : "
        "avec cette méthode, 95 fois sur 100 la fourchette contient la vraie valeur de la population. Une différence "
        "entre habitants et clients n'est dite « établie » que si elle reste significative une fois corrigée pour le "
        "grand nombre de questions comparées (méthode de Benjamini-Hochberg).",
    ])


def findings(diff: pd.DataFrame, limit: int = 8) -> list[str]:
    """Key findings as French sentences with their figures and CIs; only differences significant after
    the multiple-testing adjustment are called differences."""
    d = diff.loc[diff["in_battery"]].copy()
    d["display"] = d["item_label"].map(compare.short_label)
    out = []
    agree = d.loc[(d["statistic"] == "accord") & (d["level"] == "top2")]
    sig = agree.loc[agree["p_adj"] < 0.05].sort_values("estimate", key=abs, ascending=False)
    for r in sig.head(limit).itertuples():
        who, other = ("les clients du territoire", "les habitants") if r.estimate > 0 else \
            ("les habitants", "les clients du territoire")
        out.append(f"« {r.display} » : {who} sont plus nombreux que {other} à être d'accord, "
                   f"{fmt.number(max(r.estimate_visitors, r.estimate_residents) * 100, 0)} % contre "
                   f"{fmt.number(min(r.estimate_visitors, r.estimate_residents) * 100, 0)} %, soit un écart de "
                   f"{ci_text(abs(r.estimate), *sorted((abs(r.ci_low), abs(r.ci_high))), scale=100, unit='points')}.")
    for r in d.loc[d["statistic"].isin(["mean"]) & d["type"].eq("score_0_10")].itertuples():
        if r.p_adj < 0.05:
            out.append(f"{r.display} : note moyenne de {fmt.number(r.estimate_visitors, 2)} chez les clients contre "
                       f"{fmt.number(r.estimate_residents, 2)} chez les habitants, écart "
                       f"{ci_text(r.estimate, r.ci_low, r.ci_high, decimals=2)} sur 10.")
        else:
            out.append(f"{r.display} : pas de différence établie entre clients ({fmt.number(r.estimate_visitors, 2)}) et "
                       f"habitants ({fmt.number(r.estimate_residents, 2)}) ; écart "
                       f"{ci_text(r.estimate, r.ci_low, r.ci_high, decimals=2)} sur 10.")
    same = agree.loc[agree["p_adj"] >= 0.05, "display"].tolist()
    if same:
        out.append("Pas de différence établie sur : " + ", ".join(f"« {s} »" for s in same) + ".")
    return out


def domain_table(designs: Mapping[str, Design], cb, item: str, by: Mapping[str, str],
                 labels: Mapping[str, Mapping[str, str]], threshold: int) -> pd.DataFrame:
    """Mean of a score by a profile variable in each group, with CI and count, small cells suppressed."""
    rows = []
    for group, col in by.items():
        d, spec = compare.with_items(designs[group], cb, group)
        column = spec.loc[(spec["item"] == item) & (spec["statistic"] == "mean"), "column"].iloc[0]
        e = survey.mean(d, column, by=col)
        for r in e.itertuples():
            level = r.domain.split("=", 1)[1]
            rows.append({"groupe": compare.GROUP_LABELS[group],
                         "profil": labels.get(group, {}).get(level, level), "moyenne": r.estimate,
                         "IC bas": r.ci_low, "IC haut": r.ci_high, "répondants": int(r.n)})
    t = pd.DataFrame(rows)
    return suppress(t, "répondants", ["moyenne", "IC bas", "IC haut"], threshold)


def limits(source: str, margin_sources: Iterable[pd.DataFrame]) -> str:
    """The limits of the results, in French: simulated answers, assumptions of the margins, coverage.

    ``margin_sources``: each survey's table of calibration margins (columns ``marge``, ``source``,
    ``hypothèse``), as the weighted files' attributes hold them.
    """
    parts = []
    if source == "simulated":
        parts.append("**Données simulées.** Les réponses de 2017 ne sont pas publiques : ce rapport est produit sur "
                     "des réponses simulées par un modèle documenté (étape 03), avec de vraies bases de sondage et de "
                     "vrais chiffres de l'Insee. Les résultats illustrent la méthode ; ils ne décrivent pas l'opinion "
                     "réelle des habitants et des clients. Avec les exports réels de l'outil d'enquête, la même chaîne "
                     "produit le même rapport.")
    assumed = [r for t in margin_sources for r in t.itertuples()
               if not str(r.hypothèse).startswith("aucune")]
    if assumed:
        parts.append("**Hypothèses des marges de calage.** " + " ".join(
            f"{r.marge} : {r.hypothèse}." for r in assumed))
    parts.append("**Champ des clients.** L'enquête auprès des clients représente les personnes des fichiers de "
                 "partenaires qui acceptent d'être recontactées, pas l'ensemble des visiteurs de la région ; le calage "
                 "sur les chiffres du tourisme (tableau de sensibilité) montre ce que changerait une autre cible, au "
                 "prix d'hypothèses.")
    parts.append("**Non-réponse.** La pondération corrige les écarts de réponse liés aux variables connues pour tous "
                 "(âge et lieu pour les habitants, informations des fichiers pour les clients) ; elle ne corrige pas "
                 "une non-réponse liée à l'opinion elle-même.")
    return "\n\n".join(parts)


def checksums(files: Sequence[str]) -> pd.DataFrame:
    """SHA-256 (first 16 hex digits) of the files the synthesis reads, for the run information."""
    from ..pipeline import paths
    from ..pipeline.io import sha256

    return pd.DataFrame({"fichier": list(files), "empreinte SHA-256": [sha256(paths.resolve(f))[:16] for f in files]})


def table(df: pd.DataFrame, caption: str | None = None):
    """A table for reviewers: no row numbers, French numbers already formatted by the caller."""
    from IPython.display import HTML

    html = df.to_html(index=False, border=0, classes="dataframe portrait-table", na_rep="—", escape=True)
    if caption:
        html = html.replace("<thead>", f"<caption>{caption}</caption>\n  <thead>", 1)
    return HTML(html)
