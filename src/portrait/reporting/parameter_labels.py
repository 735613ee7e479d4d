"""French names of the parameters of ``config/*.yaml``, for the reports' index (reviewers read French).

The parameter files keep their English names (they are what ``make scenario SET=…`` and the notebooks
take); readers see :data:`LABELS`. A parameter without a label is shown by its own name, and
``tests/test_run.py`` checks that every parameter of the study's files has one, so a new parameter
cannot appear raw unnoticed. :data:`HIDDEN` parameters are not shown at all.
"""

from __future__ import annotations

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


def shown(name: str, value) -> bool:
    """Whether the index shows a parameter: not a hidden one, not a path (a value holding « / »)."""
    return name not in HIDDEN and not (isinstance(value, str) and "/" in value)
