"""French names of the parameters of ``config/*.yaml``, for the reports (reviewers read French).

The parameter files keep their English names (they are what ``make scenario SET=…`` and the notebooks
take); readers see :data:`LABELS` — in the index, in each report's run-information block and in a scenario's
table of settings — with the raw name in a tooltip (:func:`html_name`). A parameter without a label is shown by
its own name, and ``tests/test_parameter_labels.py`` checks that every parameter of the study's files has one,
so a new parameter cannot appear raw unnoticed. :data:`HIDDEN` parameters are not shown in the index.
"""

from __future__ import annotations

import html
import json
from typing import Any, Mapping

#: Parameters never shown to readers: where the study's pseudonymisation key is kept says nothing about the
#: results and is not for readers' eyes (paths are not shown either, see :func:`shown`).
HIDDEN = frozenset({"pseudo_key_file"})

LABELS = {
    # config/study.yaml
    "seed": "graine aléatoire",
    "departments": "départements",
    "population_year": "millésime des populations Insee",
    "source": "source des réponses",
    "pseudo_key_file": "fichier de la clé de pseudonymisation",
    # 01 — resident frame and sample
    "size_breaks": "seuils des tailles de commune (habitants)",
    "invitations": "invitations",
    "take_per_commune": "invitations par commune tirée",
    "allocation": "répartition des communes tirées entre strates",
    "min_psu_per_stratum": "communes tirées au moins par strate",
    # 02 — visitor frame and sample
    "partners_source": "source des fichiers de partenaires",
    "partner_layouts": "formats des fichiers de partenaires",
    "real_partners_dir": "dossier des fichiers de partenaires réels",
    "out_synthetic_partners": "dossier des fichiers de partenaires simulés",
    "n_records": "enregistrements simulés",
    "n_files": "fichiers de partenaires simulés",
    "reference_date": "date de référence de l'enquête",
    "scope_months": "mois du champ (dernière visite avant la date de référence)",
    "source_priority": "ordre des types de partenaires (strate d'une personne présente dans plusieurs fichiers)",
    "dot_insensitive_domains": "messageries dont les adresses ignorent les points et les « +étiquettes »",
    "accept_fully_excluded": "fichiers admis sans aucun enregistrement retenu",
    "min_per_stratum": "invitations au moins par strate",
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
    "min_core_answered": "questions du tronc commun répondues au moins (questionnaire retenu)",
    # 04, 05 — weighting
    "calibration_method": "méthode de calage",
    "calibration_bounds": "bornes du rapport g = poids calé / poids initial",
    "min_respondents_per_level": "répondants au moins par modalité d'une marge",
    "nonresponse_classes": "classes de non-réponse",
    "replicate_method": "méthode des poids de réplication",
    "replicates": "poids de réplication",
    "sensitivity_methods": "méthodes de calage comparées (sensibilité)",
    "calibration_target": "cible de calage des clients",
    "tourism_margins": "marges du tourisme (variante)",
    # 06 — comparison
    "confidence_level": "niveau de confiance",
    "adjust": "correction pour tests multiples",
    "model_replicates": "poids de réplication des modèles ajustés",
    # 07 — synthesis
    "small_cell_threshold": "seuil de confidentialité (répondants)",
    # 08 — validation
    "replications": "réplications",
    "bootstrap_replications": "réplications avec variance bootstrap",
    "bootstrap_replicates": "répliques bootstrap par enquête",
    "workers": "processus en parallèle",
    "scheduler": "ordonnanceur Dask",
    "logit_bounds": "bornes du calage logit borné",
    "targets": "cibles de la validation",
    "design_overrides": "plans de sondage modifiés",
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


def by_label(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The parameters ordered by their French names, the order readers look them up in."""
    return sorted(params.items(), key=lambda kv: label(kv[0]))


#: Values that say nothing to a reader as config/ writes them, and what they mean (parameter → value → text).
VALUE_TEXTS = {"scheduler": {"": "aucun (processus locaux)"}}


def as_yaml(value) -> str:
    """A parameter as it is written in config/*.yaml (``raking``, ``[0.3, 3.0]``), not as a Python repr."""
    import yaml

    plain = json.loads(json.dumps(value))           # notebook metadata nodes become plain dicts and lists
    text = yaml.safe_dump(plain, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def value_text(name: str, value) -> str:
    """A parameter's value as readers see it: as config/*.yaml writes it, except the values of
    :data:`VALUE_TEXTS` (no Dask scheduler, ``''``, is « aucun (processus locaux) »)."""
    texts = VALUE_TEXTS.get(name, {})
    return texts[value] if isinstance(value, str) and value in texts else as_yaml(value)


def shown(name: str, value) -> bool:
    """Whether the index shows a parameter: not a hidden one, not a path (a value holding « / »)."""
    return name not in HIDDEN and not (isinstance(value, str) and "/" in value)
