"""French text of the fieldwork report (notebook 03) and of the survey check: what was read from the
survey tool's files, and the AAPOR response rates."""

from __future__ import annotations

from pathlib import PurePath
from typing import Callable, Iterable

import pandas as pd

from . import formatting as fmt
from ..study.survey_tools import ReadNote
from ..study.tool_statuses import completed_only_notes
from ..study.synthetic_partners import COUNTRY_NAMES
from ..study.visitors import SOURCE_LABELS, ZONE_LABELS

SURVEYS = {"residents": "Habitants", "visitors": "Clients du territoire"}
AAPOR_DEFINITION = (
    "Taux de réponse au sens de l'AAPOR (American Association for Public Opinion Research, *Standard Definitions*, "
    "9ᵉ éd., 2016) : "
    "**RR1** = questionnaires complets / unités éligibles ou d'éligibilité inconnue ; "
    "**RR2** = questionnaires complets et partiels / même dénominateur. Les invitations restées sans "
    "réponse ou non distribuées, d'éligibilité inconnue (UO), sont comptées au dénominateur comme si elles "
    "étaient éligibles (e = 1 : les taux les plus prudents) ; les unités hors champ (NE) en sont retirées. "
    "La correction de non-réponse (rapports 04 et 05) ne repondère pas par ce taux global, mais dans chaque classe de "
    "propension par le taux de réponse pondéré de la classe, où répondre veut dire, comme au RR2, un questionnaire "
    "complet ou partiel.")


def read_notes(notes: Iterable[ReadNote]) -> str:
    """What was read from each survey-tool file: rows, rows set aside, columns dropped (names only)."""
    notes = list(notes)
    if not notes:
        return ("Exports au format natif du dictionnaire des variables : pas de colonne d'outil d'enquête à écarter "
                "(aucune donnée personnelle attendue).")
    lines = []
    for n in notes:
        parts = [f"{fmt.count(n.rows, 'ligne lue', 'lignes lues')}"]
        if n.set_aside:
            parts.append(" ; ".join(f"{fmt.count(k, 'ligne écartée', 'lignes écartées')} ({rule} : aperçu, test ou spam de l'outil)"
                                    for rule, k in n.set_aside.items()))
        if n.personal:
            parts.append(f"{fmt.count(len(n.personal), 'colonne', 'colonnes')} de données personnelles "
                         f"{'supprimées sans être lues' if len(n.personal) > 1 else 'supprimée sans être lue'} : "
                         + ", ".join(f"`{c}`" for c in n.personal))
        if n.technical:
            parts.append(fmt.count(len(n.technical), "colonne technique ignorée", "colonnes techniques ignorées"))
        if n.unfinished:
            parts.append(f"dont {fmt.count(n.unfinished, 'questionnaire non terminé', 'questionnaires non terminés')}"
                         + (f" ({fmt.number(n.null_dates)} dont la date de fin est une date vide de base de données, "
                            "« NULL », « \\N », 0000-00-00…, lue comme vide)" if n.null_dates else ""))
        elif completed_only_notes([n]):
            parts.append("**aucun questionnaire non terminé** : l'export contient-il bien toutes les réponses "
                         "(« All responses » dans LimeSurvey) ? Sinon les questionnaires interrompus compteraient "
                         "comme des silences")
        lines.append(f"- `{PurePath(n.file).name}` : " + " ; ".join(parts) + ".")
    return "Fichiers de l'outil d'enquête :\n\n" + "\n".join(lines)


_WHO = {"residents": "les habitants", "visitors": "les clients du territoire"}


def cleaning_sentence(surveys) -> str:
    """What the ingest changed in the answers, counted: e-mail addresses, phone numbers, IP addresses (v4 and v6) and
    MAC addresses (these two said only when some were) and control characters removed from open answers, codes whose
    leading zero was restored; first, a survey whose contact statuses were not read (the native layout's optional file
    absent)."""
    emails = sum(r.emails_removed for r in surveys.values())
    phones = sum(getattr(r, "phones_removed", 0) for r in surveys.values())
    ips = sum(getattr(r, "ips_removed", 0) for r in surveys.values())
    macs = sum(getattr(r, "macs_removed", 0) for r in surveys.values())
    controls = sum(r.controls_removed for r in surveys.values())

    def count(n: int, none: str, some: str) -> str:
        return none if n == 0 else f"{fmt.number(n)} {some}"

    padded: dict[str, int] = {}
    for r in surveys.values():
        for column, n in r.codes_padded.items():
            padded[column] = padded.get(column, 0) + n
    total = sum(padded.values())
    codes = ("" if not total else
             " Codes : " + fmt.count(total, "code") + " dont le zéro initial s'était perdu (2100 pour 02100, comme "
             "l'écrit un tableur ou un export numérique) " + ("a été complété" if total < 2 else "ont été complétés")
             + " ("
             + ", ".join(f"`{c}` : {fmt.number(n)}" for c, n in sorted(padded.items())) + ").")
    unread = [r for r in surveys.values() if not getattr(r, "status_read", True)]
    statuses = "".join(      # a trial: without it, every bounce, refusal and out-of-scope unit passed for silence
        f"**Aucun fichier de statuts de contact pour {_WHO.get(r.survey, r.survey)}** (`{r.status_file}`) : "
        "les invitations non distribuées, les refus et les personnes hors champ ne s'y distinguent pas des silences ; "
        "tous comptent comme « aucune réponse », et le taux de réponse en est sous-estimé. Déposez ce fichier s'il "
        "existe.\n\n"
        for r in unread)
    def answers(n: int, what: str, none: str) -> str:
        return none if n == 0 else f"{fmt.count(n, 'réponse', 'réponses')} dont {what}"

    return (statuses + "Réponses ouvertes : "
            + answers(emails, "l'adresse électronique a été remplacée par « [courriel supprimé] »",
                      "aucune adresse électronique à effacer")
            + " ; " + answers(phones, "le numéro de téléphone a été remplacé par « [téléphone supprimé] »",
                              "aucun numéro de téléphone à effacer")
            + ("" if not ips else " ; " + answers(ips, "l'adresse IP a été remplacée par « [adresse IP supprimée] »", ""))
            + ("" if not macs else " ; " + answers(macs, "l'adresse MAC (d'une carte réseau) a été remplacée par "
                                                  "« [adresse MAC supprimée] »", ""))
            + " ; " + count(controls, "aucun caractère de contrôle (NUL…) à retirer",
                            "réponse(s) débarrassée(s) de caractères de contrôle (NUL…)") + "." + codes)


def _by_status(surveys, count: str, rows: str, sentence: Callable[[int, str, bool], str],
               source: str | None = None) -> str:
    """The ``sentence`` of the units a contact status took from the respondents (attribute ``count`` of each
    survey's result), given their total, where they are by survey with the rows of the status export (attribute
    ``rows``: « habitants : 2, lignes 4 et 9 … »; rows of another file: ``source``, its name in French) and whether
    there is one; empty text when there are none."""
    n = {s: r for s, r in surveys.items() if getattr(r, count)}

    def where(r) -> str:
        shown = [fmt.number(x) for x in getattr(r, rows)]
        source_ = source or (f"`{r.status_file}`" if r.status_file else "l'export des statuts de contact")
        return f", {'ligne' if len(shown) == 1 else 'lignes'} {fmt.enumeration(shown)} de {source_}" if shown else ""

    total = sum(getattr(r, count) for r in n.values())
    if not total:
        return ""
    return sentence(total, " ; ".join(f"{SURVEYS.get(s, s).lower()} : {fmt.number(getattr(r, count))}{where(r)}"
                                      for s, r in n.items()), total == 1)


def out_of_scope_sentence(surveys) -> str:
    """The units that answered although their contact status says out of scope, by survey: their answers are
    set aside by the status (empty text when there are none)."""
    return _by_status(surveys, "answered_out_of_scope", "out_of_scope_rows", lambda total, where, one: (
            f"**Réponses écartées par le statut.** {fmt.count(total, 'unité marquée', 'unités marquées')} hors "
            f"champ dans les statuts de contact {'avait' if one else 'avaient'} pourtant répondu ({where}) ; "
            f"{'ses' if one else 'leurs'} réponses ne sont pas utilisées, car une unité hors champ n'appartient pas "
            "à la population étudiée. Si ce statut est une erreur, corrigez-le dans l'outil d'enquête."))


def refused_answered_sentence(surveys) -> str:
    """The units that answered although their contact status says refused, by survey: their answers are used (empty
    text when there are none)."""
    return _by_status(surveys, "refused_answered", "refused_answered_rows", lambda total, where, one: (
            f"**Refus qui ont répondu.** {fmt.count(total, 'unité marquée', 'unités marquées')} « refus » dans les "
            f"statuts de contact {'a' if one else 'ont'} pourtant répondu ({where}) ; "
            f"{'sa réponse est utilisée' if one else 'leurs réponses sont utilisées'} : une réponse donnée l'emporte "
            "sur un statut. Si ce statut désigne en fait une autre personne, corrigez-le dans l'outil d'enquête."))


def set_aside_sentence(surveys) -> str:
    """The responses the analyst set aside as unusable (contact status ``ecartee``), by survey: they count as
    non-responses (empty text when there are none)."""
    return _by_status(surveys, "set_aside", "set_aside_rows", lambda total, where, one: (
            f"**Réponses écartées par l'analyste.** {fmt.count(total, 'réponse marquée', 'réponses marquées')} "
            f"« écartée » dans les statuts de contact ({where}) {'compte' if one else 'comptent'} comme "
            f"{'une non-réponse' if one else 'des non-réponses'} : {'elle' if one else 'elles'} n'entre"
            f"{'' if one else 'nt'} dans aucune estimation, et le redressement de la non-réponse reporte "
            f"{'son' if one else 'leur'} poids sur les répondants de la même classe. On écarte ainsi une réponse "
            "inexploitable, par exemple sans le sexe ou l'âge nécessaires au calage, plutôt que de deviner ce qui "
            "manque."))


def tool_flagged_sentence(surveys) -> str:
    """The sampled units whose every response the survey tool flagged as a preview, a test or spam (reason
    ``ecartee_outil``), by survey with all those responses' rows in the responses export: non-responses, not
    silences (empty text when there are none). One unit may have several flagged responses: the units are counted,
    every row is listed."""
    rows = sum(len(getattr(r, "tool_flagged_rows", ())) for r in surveys.values())     # responses, not units
    return _by_status(surveys, "tool_flagged", "tool_flagged_rows", lambda total, where, one: (
            f"**Réponses écartées par l'outil d'enquête.** Pour {fmt.count(total, 'unité tirée', 'unités tirées')}, "
            "l'export des réponses ne contient "
            + ("qu'une réponse marquée par l'outil comme aperçu, test ou spam" if one and rows <= 1 else
               "que des réponses marquées par l'outil comme aperçus, tests ou spams") + f" ({where}) : "
            + ("cette réponse n'est pas lue" if one and rows <= 1 else "ces réponses ne sont pas lues")
            + (", et l'unité compte comme une non-réponse" if one else
               ", et ces unités comptent comme des non-réponses")
            + " au motif « Réponse écartée par l'outil d'enquête », non comme "
            + ("une invitation restée" if one else "des invitations restées") + " sans réponse ; le redressement de "
            f"la non-réponse reporte {'son' if one else 'leur'} poids sur les répondants de la même classe. Si une "
            "réponse marquée est authentique, retirez-lui ce marquage dans l'outil d'enquête et exportez de nouveau "
            "les réponses."), source="l'export des réponses")


def other_commune_sentence(surveys, shown: int = 10) -> str:
    """The residents who declared another commune than the one their invitation was sent to, with their first rows
    in the responses export (empty text when there are none)."""
    r = surveys.get("residents")
    if r is None or not getattr(r, "other_commune", 0):
        return ""
    n, rows = r.other_commune, [fmt.number(x) for x in r.other_commune_rows]
    listed = fmt.enumeration(rows[:shown]) + (" …" if len(rows) > shown else "")
    one = n == 1
    return (f"**Commune déclarée.** {fmt.count(n, 'habitant', 'habitants')} {'a' if one else 'ont'} déclaré une "
            f"autre commune que celle où {'son' if one else 'leur'} invitation a été envoyée "
            f"({'ligne' if len(rows) == 1 else 'lignes'} {listed} de l'export des réponses) : un déménagement, ou un "
            "code postal saisi au lieu du code Insee (59100, code postal de Roubaix, est le code Insee de "
            "Bousignies). Le poids reste celui de la commune tirée ; la commune déclarée n'entre dans aucune "
            "estimation.")


def status_sentences(surveys) -> str:
    """What the contact statuses did to units that answered: out of scope, refused, or set aside; the units whose
    responses the survey tool flagged (preview, test, spam); and the residents who declared another commune (empty
    text if nothing)."""
    return "\n\n".join(t for t in (out_of_scope_sentence(surveys), refused_answered_sentence(surveys),
                                    set_aside_sentence(surveys), tool_flagged_sentence(surveys),
                                    other_commune_sentence(surveys)) if t)


def allocation_finding(strata: pd.DataFrame, allocation: str = "proportional") -> str:
    """How far the strata's shares of the invitations are from their shares of the population aged 15+ (the
    diagonal of proportional allocation): invitations go by whole communes, so under the ``allocation`` rule
    ``proportional`` equality holds to rounding; under another rule (``sqrt``, ``equal``) the strata leave the
    diagonal by design, and the sentence says so instead of calling the gap rounding."""
    from .parameter_labels import value_text

    pop = strata["pop15"] / strata["pop15"].sum()
    inv = strata["invitations"] / strata["invitations"].sum()
    gap = fmt.quantity((inv - pop).abs().max() * 100, 1, "point")
    if allocation == "proportional":
        return (f"les strates sont sur la diagonale de l'allocation proportionnelle à l'arrondi près (les invitations "
                f"vont par commune tirée), à {gap} au plus")
    return (f"répartition des tirages {value_text('allocation', allocation)}, et non proportionnelle à la population : "
            f"les strates s'écartent de la diagonale de {gap} au plus")


def allocation_rule(allocation: str, min_psu_per_stratum: int) -> str:
    """The allocation of the commune draws to the strata, as the parameters set it (report 01, under the strata
    table): « Tirages répartis entre strates de façon proportionnelle à la population, au moins 2 communes tirées
    dans chaque strate … »."""
    from .parameter_labels import value_text

    return (f"Tirages répartis entre strates de façon {value_text('allocation', allocation)}, au moins "
            f"{fmt.count(min_psu_per_stratum, 'commune tirée', 'communes tirées')} dans chaque strate dont les "
            "communes ne sont pas toutes retenues d'office.")


NEAR_SELF_WEIGHTING = 1.25     # largest stratum sampling rate within 25 % of the smallest: « quasi autopondéré »


def sampling_rate_finding(strata: pd.DataFrame) -> str:
    """The range of the strata's sampling rates (‰), and whether the design is close to self-weighting: said only
    when the largest rate is within :data:`NEAR_SELF_WEIGHTING` of the smallest, since the allocation (a parameter)
    may be anything but proportional."""
    lo, hi = strata["sampling_rate"].min(), strata["sampling_rate"].max()
    text = f"le taux de sondage va de {fmt.number(lo * 1000, 3)} ‰ à {fmt.number(hi * 1000, 3)} ‰ selon la strate"
    return text + (" : des taux voisins, le plan est quasi autopondéré" if hi <= NEAR_SELF_WEIGHTING * lo
                   else " : les poids de sondage varient d'une strate à l'autre")


def size_name(size_class: object) -> str:
    """A commune size class with its unit: « 20 000 à 99 999 hab. », « 100 000 hab. et plus »."""
    c = str(size_class)
    return f"{c[:-len(' et plus')]} hab. et plus" if c.endswith(" et plus") else f"{c} hab."


def stratum_names(*tables: pd.DataFrame) -> Callable[[object], str]:
    """Readers' name of a sampling stratum: « Oise, 20 000 à 99 999 hab. » for the residents' ``60-4`` (from the
    ``departement`` and ``size_class`` columns of ``tables`` holding them), « Picardie × Hébergement » for a visitor
    stratum, the code itself otherwise."""
    from ..pipeline.sources import DEPARTMENTS
    from ..study.visitors import stratum_label

    names: dict[str, str] = {}
    for t in tables:
        if {"stratum", "departement", "size_class"} <= set(t.columns):
            for s, d, c in t[["stratum", "departement", "size_class"]].drop_duplicates().itertuples(index=False):
                names[str(s)] = f"{DEPARTMENTS.get(str(d), d)}, {size_name(c)}"
    return lambda s: names.get(str(s)) or stratum_label(str(s))


def aapor_table(rates: pd.DataFrame, by: str, by_label: str,
                name: Callable[[object], str] | None = None) -> pd.DataFrame:
    """AAPOR counts and rates (:func:`portrait.study.rates.aapor_rates`) for reviewers, in French (strata by
    ``name``, :func:`stratum_names`; visitor strata by name by default: « Picardie × Hébergement »), each survey's
    groups followed by its « Ensemble » row: the counts summed and the rates recomputed from them."""
    from ..study.visitors import stratum_label

    name = name or stratum_label
    counts = ["I", "P", "R", "UO", "NE"]
    parts = []
    for survey, g in rates.groupby("survey", sort=False):
        total = g[counts].sum().to_frame().T.assign(survey=survey)
        eligible = total[["I", "P", "R", "UO"]].sum(axis=1)
        total["RR1"], total["RR2"] = total["I"] / eligible, (total["I"] + total["P"]) / eligible
        g = g.assign(**{by: g[by].astype(str).map(name)})
        parts += [g, total.assign(**{by: "Ensemble"})]
    t = pd.concat(parts, ignore_index=True)
    return pd.DataFrame({
        "Enquête": t["survey"].map(SURVEYS), by_label: t[by],
        "Complets (I)": t["I"].map(fmt.number), "Partiels (P)": t["P"].map(fmt.number),
        "Refus et abandons (R)": t["R"].map(fmt.number), "Éligibilité inconnue (UO)": t["UO"].map(fmt.number),
        "Hors champ (NE)": t["NE"].map(fmt.number),
        "RR1 (%)": (t["RR1"] * 100).map(lambda x: fmt.number(x, 1)),
        "RR2 (%)": (t["RR2"] * 100).map(lambda x: fmt.number(x, 1))})


ATTRIBUTES = {"zone": "Zone visitée", "source_type": "Type de partenaire", "purpose": "Motif du séjour",
              "country": "Pays de résidence", "residence_region": "Région de résidence (France)"}


# readers' names of the codes the frame and the simulator's model use: the study's own labels of zones, partner
# types and countries (ISO 3166 codes of the frame), and the model's categories that have none
CODE_NAMES = {**ZONE_LABELS, **SOURCE_LABELS, **COUNTRY_NAMES["name_fr"],
              "les_deux": ZONE_LABELS["both"], "leisure": "loisirs", "business": "affaires", "unknown": "non renseigné",
              "ZZ": "non renseigné", "EUROPE": "autre pays d'Europe", "MONDE": "reste du monde", "DOM": "outre-mer"}


def _named(code: str, names: dict | None = None) -> str:
    """« BE (Belgique) »: a code with its readers' name, when it has one that differs from it."""
    name = (names or {}).get(code, CODE_NAMES.get(code))
    return f"{code} ({name})" if name and name != code else code


def attribute_mapping(mapping: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The simulator's reading of the visitor frame's attributes (:func:`portrait.study.fieldwork.map_visitor_attributes`),
    for readers: each value of the base, the model category it counts as, and how it got there.

    A value that matches none of the model's patterns is counted as the attribute's default category
    (« MONDE » for a country the model does not name): « catégorie par défaut » says so, instead of a bare
    « non » beside a category that looks recognised. A value the partner did not record is drawn from the
    model's shares. ``names`` adds readers' names of model categories, e.g. the INSEE region codes' names
    from the codebook (« 84 (Auvergne-Rhône-Alpes) »).
    """
    def how(r) -> str:
        if r.key == "unknown":
            return "non renseignée par le partenaire"
        if r.matched:
            return "reconnue"
        if r.key is None or pd.isna(r.key):
            return "hors de France ou non renseignée : sans région" if r.attribute == "residence_region" \
                else "sans catégorie"
        return "autre valeur : catégorie par défaut du modèle"

    from ..study.codebook import normalise_text

    # values in alphabetical order within each attribute, accents ignored (« Île-de-France » among the I)
    first = {a: i for i, a in enumerate(pd.unique(mapping["attribute"]))}
    mapping = (mapping.assign(_a=mapping["attribute"].map(first), _v=mapping["frame_value"].astype(str).map(normalise_text))
               .sort_values(["_a", "_v"], kind="stable").reset_index(drop=True))
    key = mapping["key"].map(lambda k: "—" if k is None or pd.isna(k) else
                             "tirée selon les parts du modèle" if k == "unknown" else
                             _named(str(k), names))
    return pd.DataFrame({"Attribut": mapping["attribute"].map(ATTRIBUTES).fillna(mapping["attribute"]),
                         "Code dans la base (libellé)": mapping["frame_value"].astype(str).map(_named),
                         "Catégorie du modèle": key,
                         "Lecture": [how(r) for r in mapping.itertuples()],
                         "Personnes": mapping["n"].astype(int)})
