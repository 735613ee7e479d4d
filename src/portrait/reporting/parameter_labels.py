"""French names and values of the parameters of ``config/*.yaml``, for the reports (reviewers read French).

The parameter files keep their English names and values (they are what ``make scenario SET=…`` and the notebooks
take); readers see :data:`LABELS` — in the index, in each report's run-information block and in a scenario's
table of settings — with the raw name in a tooltip (:func:`html_name`). A parameter without a label is shown by
its own name, and ``tests/test_parameter_labels.py`` checks that every parameter of the study's files has one,
so a new parameter cannot appear raw unnoticed. :data:`HIDDEN` parameters and file paths are shown neither in the
index nor in the run-information blocks (:func:`shown`).

Values are written the French way as well (:func:`value_text`): numbers, percentages and dates by
:mod:`portrait.reporting.formatting`, lists as « a, b et c », « oui » / « non », and the codes of
:data:`VALUE_TEXTS` (``fdr_bh`` is « Benjamini–Hochberg »), the value as config/ writes it kept in a tooltip
(:func:`html_value`) or in parentheses (:func:`text_value`). The tests check that every code used in config/
and config/scenarios/ has a French text.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any, Mapping

from ..pipeline.config import ISO_DATE
from ..pipeline.parameters import as_yaml  # noqa: F401 - used here and by render
from . import formatting as fmt

#: Parameters never shown to readers: where the study's pseudonymisation key is kept says nothing about the
#: results and is not for readers' eyes (paths are not shown either, see :func:`shown`).
HIDDEN = frozenset({"pseudo_key_file"})
#: Parameters shown only when they leave this value: the usual case needs no line (a closed round).
QUIET = {"fieldwork_status": "closed", "unfinished_in_exports": True}

LABELS = {
    # config/study.yaml
    "seed": "graine aléatoire",
    "departments": "départements",
    "population_year": "millésime des populations Insee",
    "source": "source des réponses",
    "chain_source": "réponses que lit la chaîne (source, config/study.yaml)",
    "fieldwork_status": "terrain",
    "pseudo_key_file": "fichier de la clé de pseudonymisation",
    # 01 — resident frame and sample
    "size_breaks": "seuils des tailles de commune (habitants)",
    "invitations": "invitations",
    "take_per_commune": "invitations par commune tirée",
    "allocation": "répartition des communes tirées entre strates",
    "min_psu_per_stratum": "nombre minimal de communes tirées par strate",
    # 02 — visitor frame and sample
    "partners_source": "source des fichiers de partenaires",
    "partner_layouts": "formats des fichiers de partenaires",
    "real_partners_dir": "dossier des fichiers de partenaires réels",
    "out_synthetic_partners": "dossier des fichiers de partenaires simulés",
    "n_records": "enregistrements simulés (nombre visé)",
    "n_files": "fichiers de partenaires simulés",
    "reference_date": "date de référence de l'enquête",
    "scope_months": "mois du champ (dernière visite avant la date de référence)",
    "source_priority": "ordre des types de partenaires (strate d'une personne présente dans plusieurs fichiers)",
    "dot_insensitive_domains": "messageries dont les adresses ignorent les points et les « +étiquettes »",
    "accept_fully_excluded": "fichiers admis sans aucun enregistrement retenu",
    "min_per_stratum": "nombre minimal d'invitations par strate",
    # 03 — questionnaires and fieldwork
    "codebook_file": "dictionnaire des variables",
    "model_file": "modèle du simulateur",
    "resident_slots": "invitations des habitants",
    "resident_frame": "base de sondage des habitants",
    "visitor_sample": "échantillon des clients",
    "visitor_frame": "base de sondage des clients",
    "out_simulated_survey": "dossier des exports simulés",
    "real_survey_dir": "dossier des exports réels",
    "survey_tool": "outil d'enquête",
    "tools_file": "formats des outils d'enquête",
    "export_formats": "formats des exports simulés",
    "export_encoding": "encodage des CSV simulés",
    "ingest_format": "format lu à l'import",
    "csv_encoding": "encodage des CSV lus",
    "unfinished_in_exports": "les exports réels contiennent les questionnaires non terminés (un export sans aucun est refusé)",
    "min_core_answered": "nombre minimal de questions d'opinion du tronc commun répondues (questionnaire retenu, sans compter sexe et âge)",
    # 04, 05 — weighting
    "calibration_method": "méthode de calage",
    "calibration_bounds": "bornes du rapport g = poids calé / poids initial (calage logit borné)",
    "min_respondents_per_level": "nombre minimal de répondants par modalité d'une marge",
    "nonresponse_classes": "classes de non-réponse",
    "replicate_method": "méthode des poids de réplication",
    "replicates": "répliques (jeux de poids de réplication)",
    "sensitivity_methods": "méthodes de calage comparées (sensibilité)",
    "trimming": "écrêtage des poids calés, puis recalage",
    "calibration_target": "cible de calage des clients",
    "tourism_margins": "marges du tourisme (variante)",
    # 06 — comparison
    "confidence_level": "niveau de confiance",
    "adjust": "correction pour tests multiples",
    "model_replicates": "répliques bootstrap (poids de réplication) par enquête, pour les modèles ajustés",
    # 07 — synthesis
    "small_cell_threshold": "seuil de confidentialité (répondants)",
    # 08 — validation
    "replications": "réplications Monte-Carlo de toute la chaîne",
    "bootstrap_replications": "réplications de la chaîne avec aussi la variance bootstrap",
    "bootstrap_replicates": "répliques bootstrap (poids de réplication) par enquête",
    "workers": "processus en parallèle",
    "scheduler": "ordonnanceur Dask",
    "logit_bounds": "bornes du calage logit borné",
    "targets": "cibles de la validation",
    "design_overrides": "plans de sondage modifiés",
    "reuse_results": "rapport refait sur les réplications de la chaîne déjà calculées",
    # the scenario's page (notebooks/scenario.ipynb, parameters given by portrait.pipeline.scenario)
    "name": "nom du scénario",
    "alpha": "seuil de signification des écarts",
    # entries of 05's tourism_margins
    "nights_year": "millésime des nuitées Insee (avril à septembre)",
    "foreign_share": "part des visiteurs étrangers",
    "foreign_share_source": "source de cette part",
}


def label(name: str) -> str:
    """The French name of parameter ``name`` (« seuil de confidentialité (répondants) »), or ``name`` itself
    when it has none."""
    return LABELS.get(name, name)


def html_name(name: str) -> str:
    """The French name of a parameter in HTML, its raw name (the one config/ and ``-p`` take) in a tooltip:
    ``<span title="seed">graine aléatoire</span>``."""
    return f'<span title="{html.escape(name)}">{html.escape(label(name))}</span>'


def text_name(name: str) -> str:
    """The French name of a parameter in plain text, its raw name in parentheses (for tables, where no tooltip
    fits): « méthode de calage (calibration_method) »; a parameter without a label keeps its own name only."""
    return f"{label(name)} ({name})" if name in LABELS else name


#: Parameters read by the native export layout only: a survey tool's CSV has the tool's encoding.
NATIVE_LAYOUT_ONLY = {"csv_encoding"}


def by_label(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The parameters ordered by their French names, the order readers look them up in; without those the run did
    not read (the native layout's encoding, when the exports are a survey tool's)."""
    tool = params.get("survey_tool", "native") not in ("native", "", None)
    return sorted(((k, v) for k, v in params.items() if not (tool and k in NATIVE_LAYOUT_ONLY)),
                  key=lambda kv: label(kv[0]))


# codes shared by several parameters
# as the reports' text names them (:data:`portrait.study.recipes.METHOD_LABELS`, not imported: the index reads these
# without the data libraries)
METHODS = {"linear": "linéaire", "raking": "raking ratio", "logit": "logit borné", "truncated": "linéaire tronqué"}
FORMATS = {"csv": "CSV", "xlsx": "Excel (.xlsx)", "sav": "SPSS (.sav)"}
ENCODINGS = {"cp1252": "Windows-1252", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 avec BOM"}

#: The codes config/ writes and what they mean to a reader (parameter → code → text), for every value the code
#: accepts; a list parameter's codes are its items'. A value without a text is shown as config/ writes it.
VALUE_TEXTS = {
    "fieldwork_status": {"closed": "clos", "in_progress": "en cours (résultats provisoires)"},
    "source": {"simulated": "données simulées (simulateur documenté, vérité connue)",
               "real": "exports réels de l'outil d'enquête"},
    "partners_source": {"synthetic": "fichiers simulés (générateur documenté)", "real": "fichiers réels des partenaires"},
    "allocation": {"proportional": "proportionnelle à la population", "equal": "égale",
                   "sqrt": "proportionnelle à la racine carrée de la population"},
    "source_priority": {"congres_salon": "congrès et salons", "groupe_senior": "groupes seniors",
                        "hebergement": "hébergement", "site_culturel_loisir": "sites culturels et de loisirs",
                        "office_tourisme": "offices de tourisme"},
    "survey_tool": {"native": "format du projet (dictionnaire des variables)", "limesurvey": "LimeSurvey",
                    "qualtrics": "Qualtrics"},
    "export_formats": FORMATS,
    "ingest_format": FORMATS,
    "export_encoding": ENCODINGS,
    "csv_encoding": ENCODINGS,
    "calibration_method": METHODS,
    "sensitivity_methods": METHODS,
    "replicate_method": {"bootstrap": "bootstrap de Rao–Wu", "jk1": "jackknife JK1", "jkn": "jackknife JKn (stratifié)"},
    "calibration_target": {"frame": "totaux des fichiers de partenaires", "tourism": "chiffres du tourisme"},
    "adjust": {"fdr_bh": "Benjamini–Hochberg", "holm": "Holm"},
    "targets": {"superpopulation": "super-population (espérance du modèle)", "finite": "population finie fixée"},
    "scheduler": {"": "aucun (processus locaux)"},
    # a domain reserved for examples (RFC 2606): the simulated partner files' webmail, not a real one
    "dot_insensitive_domains": {"example.com": "example.com (messagerie fictive des fichiers simulés)"},
}
VALUE_TEXTS["chain_source"] = VALUE_TEXTS["source"]     # the export check's name for the chain's source

#: Shares written as percentages (0.95 is « 95 % »).
SHARES = frozenset({"confidence_level", "foreign_share"})
#: Pairs [L, U] written as bounds, « [0,3 ; 3] ».
BOUNDS = frozenset({"calibration_bounds", "logit_bounds"})
#: Lists whose order is the setting (the first partner type wins): « a > b > c ».
ORDERED = frozenset({"source_priority"})
NONE = "aucun"


def value_text(name: str, value) -> str:
    """A parameter's value as readers see it, in French: the text of a code (:data:`VALUE_TEXTS`: ``fdr_bh`` is
    « Benjamini–Hochberg »), « oui » / « non », numbers with a decimal comma (a seed or a year without a
    thousands separator), a share as « 95 % », a date as « 1ᵉʳ mars 2017 », a list as « a, b et c » (« aucun »
    when empty), a mapping as prose (:func:`_mapping_text`). What it does not know it shows as config/ writes it."""
    if isinstance(value, str) and value in VALUE_TEXTS.get(name, {}):
        return VALUE_TEXTS[name][value]
    if value is None or (isinstance(value, (str, list, tuple, dict)) and not value):
        return NONE
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int) and (name == "seed" or name.endswith("year")):
        return str(value)                               # a name, not a count: « 2017 », not « 2 017 »
    if isinstance(value, (int, float)):
        return fmt.percent(value, None) if name in SHARES else fmt.exact(value)
    if isinstance(value, dt.date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        try:
            return fmt.date(value)
        except ValueError:                              # « 2017-13-45 »: not a date, shown as written
            return value
    if name == "trimming" and isinstance(value, (list, tuple)) and len(value) == 2:
        sides = [f"{side} {fmt.exact(v)} fois la médiane" for side, v in zip(("au moins", "au plus"), value)
                 if _is_number(v)]
        return fmt.enumeration(sides) if sides else NONE
    if isinstance(value, (list, tuple)) and name in BOUNDS and len(value) == 2 and all(_is_number(v) for v in value):
        return fmt.bounds(*value)
    if isinstance(value, (list, tuple)):
        items = [value_text(name, v) for v in value]
        return " > ".join(items) if name in ORDERED else fmt.enumeration(items)
    if isinstance(value, dict):
        return _mapping_text(name, value)
    return value if isinstance(value, str) else as_yaml(value)


def _mapping_text(name: str, value: Mapping) -> str:
    """A mapping as French prose, not as « [nom : valeur ; …] »: 05's tourism margins read « nuitées Insee d'avril à septembre 2017 et
    part des clients étrangers 25 % (source : CRT …, éditorial … [fichier, confiance]) » (the source's own
    parentheses become brackets inside ours); any other mapping, and entries the tourism margins do not know,
    « nom : valeur », as a list « a, b et c » (the index separates parameters by « ; »)."""
    rest = dict(value)
    parts = []
    if name == "tourism_margins":
        if "nights_year" in rest:
            parts.append(f"nuitées Insee d'avril à septembre {value_text('nights_year', rest.pop('nights_year'))}")
        if "foreign_share" in rest:
            share = f"part des visiteurs étrangers {value_text('foreign_share', rest.pop('foreign_share'))}"
            source = rest.pop("foreign_share_source", None)
            if source:
                share += " (source : " + value_text("foreign_share_source", source).translate(NESTED) + ")"
            parts.append(share)
    parts += [f"{label(str(k))} : {value_text(str(k), v)}" for k, v in rest.items()]
    return fmt.enumeration(parts)


#: Parentheses inside parentheses are written as brackets (French typography).
NESTED = str.maketrans("()", "[]")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def html_value(name: str, value) -> str:
    """A parameter's value in HTML, in French (:func:`value_text`), as config/ writes it in a tooltip when that
    differs: ``<span title="fdr_bh">Benjamini–Hochberg</span>``, ``10``."""
    text, raw = value_text(name, value), as_yaml(value)
    return html.escape(text) if text == raw else f'<span title="{html.escape(raw)}">{html.escape(text)}</span>'


def text_value(name: str, value) -> str:
    """A parameter's value in plain text, in French, as config/ writes it in parentheses when that differs
    (tables, where no tooltip fits): « chiffres du tourisme (tourism) », « 2019 »."""
    text, raw = value_text(name, value), as_yaml(value)
    return text if text == raw else f"{text} ({raw})"


#: The simulator's own export settings: they describe files written only with simulated answers in the codebook's
#: native layout (a survey tool's layout has its own format and encoding).
SIMULATED_EXPORTS = ("export_formats", "export_encoding")


def shown(name: str, value, params: Mapping | None = None) -> bool:
    """Whether readers see a parameter (the index, the run-information blocks): not a hidden one, not a path (a
    value holding « / »), not a :data:`QUIET` one at its usual value, not one of :data:`SIMULATED_EXPORTS` when
    ``params`` (the run's) say no native simulated export was written."""
    simulated_exports = params is None or (params.get("source", "simulated") == "simulated"
                                           and params.get("survey_tool", "native") == "native")
    return (name not in HIDDEN and not (isinstance(value, str) and "/" in value)
            and not (name in QUIET and value == QUIET[name])
            and (simulated_exports or name not in SIMULATED_EXPORTS))
