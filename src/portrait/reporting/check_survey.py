"""``make check-survey``: check the survey exports before the chain runs, and say what was found, in French.

Reads the real exports (``data/raw/survey/``, whatever ``source`` says: they are checked before the
study is switched to them; ``--simulated`` checks the simulator's) with the configured layout (``config/study.yaml`` and
``config/03_fieldwork.yaml``: ``source``, ``survey_tool``, ``ingest_format`` …) against the codebook and
the samples of stages 01 and 02, writes ``reports/check_survey.html`` and nothing else, and exits
with status 1 when there is a problem. The report lists what was read (rows, rows set aside,
personal columns dropped unread: names only), the count of each rule broken and every problem with
its file, row, column, rule and value when the value is a code (never a text a respondent wrote).
``--if-real`` does nothing when ``source`` is ``simulated`` (``make`` runs the check before stage 03).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..pipeline import config, paths, skip_iri_grammar
from ..pipeline.errors import PortraitError, SurveyError

if TYPE_CHECKING:
    import nbformat
    import pandas as pd

    from ..study import ingest

# `make` runs this before stage 03 with --if-real, and it returns at once when the answers are simulated:
# the libraries of the check itself (pandas, nbformat, the study's readers) are imported only where they serve.

NOTEBOOK = "notebooks/03_fieldwork.ipynb"
OUT = "reports/check_survey.html"
LISTED = 500

RULES_FR = {
    "missing_file": "fichier d'export absent",
    "unreadable": "fichier illisible (corrompu ou coupé)",
    "empty_file": "fichier vide, ou en-tête sans ligne de données",
    "title_rows": "lignes de titre au-dessus de l'en-tête d'un classeur",
    "formula_without_value": "formule de classeur sans valeur calculée",
    "merged_cells": "cellules fusionnées dans le classeur (seule la première garde sa valeur)",
    "wrong_sheet": "réponses sur une autre feuille que la première, seule lue",
    "no_token_matches": "aucun jeton du fichier n'est celui d'une unité tirée (autre clé, ou autre enquête)",
    "missing_response": "participant qui a terminé selon l'outil, sans ligne dans l'export des réponses (export filtré)",
    "encoding": "encodage inattendu (UTF-16, UTF-8 sans BOM, cp1252…)",
    "separator": "séparateur de colonnes inattendu",
    "truncated": "fichier coupé au milieu d'une ligne",
    "field_too_long": "champ démesuré (guillemet resté ouvert)",
    "field_count": "nombre de champs différent de l'en-tête",
    "missing_column": "colonne attendue absente",
    "extra_column": "colonne inconnue du dictionnaire ou de la correspondance de l'outil",
    "duplicate_column": "nom de colonne en double",
    "column_case": "noms de colonnes en majuscules ou minuscules différentes",
    "missing_id": "identifiant (jeton) vide",
    "duplicate_id": "identifiant (jeton) en double",
    "duplicate_record": "identifiant de réponse de l'outil en double (ligne copiée, ou lignes de deux exports fusionnées)",
    "not_in_sample": "identifiant (jeton) qui n'est pas une unité tirée",
    "missing_value": "cellule obligatoire vide",
    "decimal_comma": "virgule décimale dans une colonne numérique",
    "not_integer": "valeur non entière dans une colonne numérique",
    "non_ascii_digit": "chiffre d'une autre écriture (pleine chasse, arabe…)",
    "unknown_code": "code de réponse inconnu",
    "out_of_range": "valeur hors des bornes",
    "bad_format": "code Insee mal formé",
    "unknown_commune": "commune inconnue de la région",
    "too_long": "réponse ouverte trop longue",
    "department_mismatch": "commune hors du département déclaré",
    "control_character": "caractère de contrôle (NUL…) dans une cellule",
    "value_labels": "étiquettes SPSS qui inversent ou décalent les codes",
    "no_respondent": "aucun répondant dans l'export",
    "too_many_choices": "trop d'options cochées",
    "incomplete_multiselect": "question à choix multiple remplie en partie",
    "filter": "réponse à une question que le filtre ne pose pas",
    "unknown_disposition": "statut de contact inconnu",
    "disposition_conflict": "invitation non distribuée mais réponse reçue",
    "missing_participant": "unités tirées absentes de l'export des participants",
    "unknown_status": "statut de réponse de l'outil inconnu (ni réponse, ni aperçu, test ou indésirable)",
    "header_rows": "ligne d'en-tête de l'outil supprimée (une réponse à sa place)",
    "completed_only": "export limité aux questionnaires terminés (aucun non terminé)",
    "repeated_header": "noms de colonnes répétés plus bas (deux exports mis bout à bout)",
    "missing_for_weighting": "répondant sans sexe ou âge, nécessaires au calage des habitants",
    "set_aside_no_response": "réponse écartée par le statut de contact, mais absente de l'export des réponses",
}

#: What to do about each rule, said once per rule in the report (the listing's technical detail, in English, adds
#: the specifics of each problem). Answers are corrected in the survey tool and exported again, never by hand in a
#: spreadsheet, which changes tokens, codes and encodings.
REMEDIES_FR = {
    "missing_file": "déposer le fichier sous le nom attendu, en minuscules ; le détail technique donne ce nom et les "
                    "fichiers du dossier qui ne sont pas lus (un export porte d'abord le nom que lui donne l'outil)",
    "unreadable": "exporter de nouveau depuis l'outil, sans ouvrir ni réenregistrer le fichier",
    "empty_file": "exporter de nouveau en incluant toutes les réponses",
    "title_rows": "supprimer les lignes de titre : l'en-tête doit être la première ligne",
    "formula_without_value": "exporter depuis l'outil plutôt que d'enregistrer un classeur calculé",
    "merged_cells": "défusionner les cellules, ou mieux, exporter de nouveau depuis l'outil ; sur la première ligne, "
                    "supprimer la ligne des titres de groupe pour que les noms de colonnes soient en première ligne",
    "wrong_sheet": "placer la feuille des réponses en premier dans le classeur, ou exporter de nouveau depuis l'outil",
    "no_token_matches": "remettre la clé de pseudonymisation avec laquelle les échantillons ont été tirés "
                        "(PORTRAIT_PSEUDO_KEY ou .portrait-key) et refaire `make invitations` si les jetons importés "
                        "dans l'outil venaient d'une autre clé ; sinon, vérifier que l'export est celui de cette enquête",
    "missing_response": "exporter toutes les réponses (LimeSurvey : « Toutes les réponses », sans filtre)",
    "encoding": "exporter de nouveau avec l'encodage configuré (`csv_encoding`), sans passer par un tableur",
    "separator": "exporter avec le séparateur configuré pour l'outil, sans passer par un tableur",
    "truncated": "exporter de nouveau : le fichier a été coupé pendant la copie",
    "field_too_long": "exporter de nouveau : un guillemet ouvert avale les lignes suivantes",
    "field_count": "exporter de nouveau, sans modifier le fichier à la main",
    "missing_column": "ajouter la question à l'export, ou corriger son nom dans `config/survey_tools.yaml`",
    "extra_column": "retirer la colonne de l'export, ou déclarer la question dans le dictionnaire des variables "
                    "(`config/codebook.yaml`)",
    "duplicate_column": "renommer l'une des deux colonnes dans l'outil",
    "column_case": "reprendre les noms de colonnes de l'outil tels quels (majuscules comprises)",
    "missing_id": "supprimer dans l'outil une réponse de test ou d'aperçu (elle n'a pas de jeton) ; si beaucoup de "
                  "réponses en manquent, exporter avec la colonne des jetons remplie (réponses non anonymisées)",
    "duplicate_id": "garder une seule réponse par jeton dans l'outil, puis exporter de nouveau",
    "duplicate_record": "exporter de nouveau les réponses, en un seul fichier, sans en coller d'autres à la main",
    "not_in_sample": "vérifier que l'export est celui de cette enquête et que les jetons viennent des échantillons "
                     "tirés (étapes 01 et 02)",
    "missing_value": "compléter la cellule dans l'outil, ou exporter de nouveau",
    "decimal_comma": "exporter les nombres avec un point décimal (ou des codes entiers)",
    "not_integer": "exporter les codes des réponses, pas leurs libellés",
    "non_ascii_digit": "corriger la réponse dans l'outil avec des chiffres 0 à 9",
    "unknown_code": "corriger la réponse dans l'outil ; si la liste des réponses de la question y diffère du "
                    "dictionnaire des variables, corriger la liste ou la correspondance `config/survey_tools.yaml` "
                    "(codes admis : détail technique) ; un export des libellés des réponses au lieu de leurs codes se "
                    "refait avec les codes (LimeSurvey : « Codes de réponse » ; Qualtrics : « Utiliser les valeurs "
                    "numériques »)",
    "out_of_range": "vérifier les bornes de la question dans l'outil contre le dictionnaire des variables",
    "bad_format": "saisir le code Insee à 5 caractères (zéro initial compris), pas le code postal",
    "unknown_commune": "vérifier le code Insee : commune hors des Hauts-de-France ou code périmé",
    "too_long": "raccourcir la réponse dans l'outil (longueur maximale `max_length` du dictionnaire)",
    "department_mismatch": "vérifier la commune et le département déclarés par le répondant",
    "control_character": "exporter de nouveau depuis l'outil ; si le caractère reste, corriger la réponse dans l'outil",
    "value_labels": "exporter les codes de l'outil dans l'ordre du dictionnaire des variables",
    "no_respondent": "vérifier que l'export contient les réponses et non le seul en-tête",
    "too_many_choices": "limiter le nombre d'options cochées dans l'outil, comme le questionnaire",
    "incomplete_multiselect": "exporter chaque option d'une question répondue avec 0 (non cochée) ou 1 (cochée), "
                              "jamais vide",
    "filter": "vérifier la condition de filtre de la question dans l'outil",
    "unknown_disposition": "corriger la valeur dans l'outil, puis exporter de nouveau : les valeurs admises sont "
                           "dans le détail technique (`1` ou vide pour `ecartee` et `hors_champ`) ; seul un statut que "
                           "l'outil écrit lui-même et que la correspondance ignore se déclare dans "
                           "`config/survey_tools.yaml`",
    "disposition_conflict": "corriger le statut de contact dans l'outil : une personne qui a répondu a été jointe",
    "missing_participant": "exporter tous les participants de l'outil, sans filtre",
    "unknown_status": "déclarer ce statut de l'outil dans `config/survey_tools.yaml`",
    "header_rows": "exporter de nouveau : une ligne d'en-tête de l'outil a été supprimée",
    "completed_only": "exporter toutes les réponses, y compris les questionnaires non terminés (LimeSurvey : « All "
                      "responses ») ; si le questionnaire n'enregistre aucune réponse partielle, le déclarer "
                      "(unfinished_in_exports: false dans config/03_fieldwork.yaml)",
    "repeated_header": "exporter de nouveau toutes les réponses en un seul fichier depuis l'outil, plutôt que de "
                       "joindre deux exports",
    "missing_for_weighting": "compléter la réponse dans l'outil si le répondant peut être recontacté, sans jamais "
                             "la deviner ; sinon, écarter la réponse : statut de contact « ecartee » (LimeSurvey : "
                             "attribut « statut terrain » du participant ; Qualtrics : donnée intégrée `ecartee` = 1 ; "
                             "format natif : code 4), elle compte alors comme une non-réponse ; rendre la question "
                             "obligatoire au prochain terrain",
    "set_aside_no_response": "retirer le statut « ecartee » de ce participant, ou le mettre sur celui dont la réponse "
                             "est à écarter",
}


def run(folder: str | Path | None = None, simulated: bool = False) -> tuple[ingest.CheckResult, dict]:
    """Check a survey folder with the parameters of stage 03; returns the check and the settings used.

    The folder is the real exports' (``real_survey_dir``) whatever ``source`` says, so that exports can
    be checked before switching the study to them; ``simulated=True`` checks the simulator's instead.
    """
    import pandas as pd

    from ..study import codebook as codebook_mod
    from ..study import ingest, survey_tools
    from ..study.visitors import pseudonymisation_key

    p = config.notebook_parameters(NOTEBOOK)
    source = "simulated" if simulated else "real"
    folder = paths.resolve(folder or (p["out_simulated_survey"] if simulated else p["real_survey_dir"]))
    cb = codebook_mod.load(p.get("codebook_file", "config/codebook.yaml"))
    tool = p.get("survey_tool", survey_tools.NATIVE)
    lay = survey_tools.layout(tool, cb, p.get("tools_file", survey_tools.DEFAULT_FILE))
    samples = {}
    for survey, name in (("residents", "resident_slots"), ("visitors", "visitor_sample")):
        path = paths.resolve(p[name])
        if not path.exists():
            raise PortraitError(f"{paths.relative(path)} does not exist: run `make` up to the sampling stages "
                                "(01 and 02) first; the check needs the samples to recognise the tokens")
        samples[survey] = pd.read_parquet(path)
    key = pseudonymisation_key(p.get("pseudo_key_file", ".portrait-key"), create=False) if lay is not None else None
    found = ingest.check(folder, samples, cb, fmt=p.get("ingest_format", "csv"), encoding=p.get("csv_encoding", "cp1252"),
                         min_core_answered=p.get("min_core_answered", 8), tool=tool,
                         tools_file=p.get("tools_file", survey_tools.DEFAULT_FILE), key=key,
                         unfinished_expected=not simulated and p.get("unfinished_in_exports", True) is not False)
    settings = {"source": source, "study_source": p.get("source", "simulated"), "folder": paths.relative(folder),
                "survey_tool": tool,
                "tool": lay.label if lay else "format natif du dictionnaire des variables",
                "format": p.get("ingest_format", "csv"), "no_partial_answers": p.get("unfinished_in_exports") is False,
                "remedies": {"missing_for_weighting": missing_for_weighting_fr(cb, lay), **layout_remedies_fr(lay)}}
    return found, settings


def unread_files_fr(found) -> str:
    """The files a file-level problem stopped before they could be read (absent, unreadable, wrong encoding …), and the
    files of the folder the check does not read at all (another batch, another format), which « Ce qui a été lu »
    would otherwise leave out without a word; empty when there is none."""
    from ..study.export_readers import FILE_RULES

    read = {Path(str(n.file)).name for n in found.notes}
    stopped: dict[str, str] = {}
    for p in found.problems:
        name = Path(str(p.file)).name
        if p.rule in FILE_RULES and name not in read:
            stopped.setdefault(name, p.rule)
    out = ""
    if stopped:
        out = ("\n\nNon lus : " + " ; ".join(f"`{f}` ({RULES_FR.get(r, r)})" for f, r in sorted(stopped.items()))
               + " — voir les problèmes ci-dessous.")
    others = [f for f in getattr(found, "ignored", ()) if f not in stopped]
    if others:
        out += ("\n\nAussi dans le dossier, et **non lus** : " + ", ".join(f"`{f}`" for f in others)
                + ". Seuls les fichiers ci-dessus, au format choisi, sont lus : une seconde vague d'exports se fusionne "
                  "avec la première dans un seul fichier.")
    return out


def layout_remedies_fr(lay) -> dict[str, str]:
    """« Que faire » where a survey tool's layout calls for other advice than the native layout's: its own encoding
    and separator (``csv_encoding`` is the native layout's), and its own columns declared in its mapping."""
    if lay is None:
        return {}
    again = (f"exporter de nouveau depuis {lay.label} (encodage {lay.encoding}, séparateur « {lay.delimiter} »), sans "
             "ouvrir ni réenregistrer le fichier dans un tableur")
    return {"encoding": again, "separator": again,
            "extra_column": f"retirer la colonne de l'export ; une colonne que {lay.label} écrit lui-même se déclare "
                            "dans `config/survey_tools.yaml`, sous `personal` si elle peut contenir des données "
                            "personnelles (elle est alors écartée à la lecture), sinon sous `technical` ; une question "
                            "de l'étude, dans le dictionnaire des variables (`config/codebook.yaml`)"}


def remedy_text(text: str) -> str:
    """A remedy as a table cell shows it: a `name` in backticks (a parameter, a file) between guillemets, the cell
    being plain text, not markdown."""
    return re.sub(r"`([^`]+)`", r"« \1 »", text)


def missing_for_weighting_fr(cb, lay) -> str:
    """« Que faire » for a respondent without sex or age, naming where this layout sets a response aside."""
    from ..study.ingest import set_aside_marks, status_file

    pairs = set_aside_marks(cb, lay)
    marks = " ou ".join(f"`{column}` = `{value}`" for column, value in pairs)
    file = status_file(Path("."), "residents", lay).name
    if lay is None:
        where = (f"ajouter la ligne « identifiant ;{pairs[0][1]} » (colonne `{pairs[0][0]}`) à `{file}`, "
                 "l'identifiant étant celui de la ligne signalée")
    else:
        where = (f"dans {lay.label}, donner {marks} au participant dont `{lay.dispositions.id}` est le `{lay.id}` de "
                 f"la ligne signalée, puis exporter de nouveau `{file}`")
    return ("compléter la réponse dans l'outil si le répondant peut être recontacté, sans jamais la deviner ; sinon, "
            f"écarter la réponse : {where} ; elle compte alors comme une non-réponse ; rendre la question obligatoire "
            "au prochain terrain")


def _md(text: str) -> nbformat.NotebookNode:
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def _table(df: pd.DataFrame) -> nbformat.NotebookNode:
    import nbformat

    from . import tables

    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": tables.french_html(df)})]
    return cell


def notebook(found: ingest.CheckResult, settings: dict) -> nbformat.NotebookNode:
    """The check as a notebook of Markdown and tables, rendered like every report."""
    import nbformat
    import pandas as pd

    from ..study.export_readers import problems_table
    from . import fieldwork_text
    from . import formatting as fmt

    n = len(found.problems)
    cells = [_md("# Contrôle des exports de l'enquête\n\n"
                 "Ce contrôle lit les exports de l'outil d'enquête avec la correspondance configurée, les vérifie "
                 "contre le dictionnaire des variables et les échantillons tirés, et n'écrit rien d'autre que ce "
                 "rapport. Les valeurs ne sont citées que lorsqu'elles sont des codes, des nombres ou des dates : "
                 "un texte écrit par un répondant ou un partenaire n'est donné que par sa longueur."),
             _md(f"- Dossier lu : `{settings['folder']}` ("
                 + ("exports réels" if settings["source"] == "real" else "exports du simulateur, données simulées") + ")\n"
                 f"- Format des exports : {settings['tool']}, fichiers `{settings['format']}`")]
    if n == 0:
        switch = (" La chaîne lit encore les réponses simulées : mettez `source: real` dans `config/study.yaml` pour "
                  "qu'elle lise ces exports." if settings["source"] == "real"
                  and settings.get("study_source", "real") != "real" else "")
        cells.append(_md("## Verdict\n\n**Aucun problème** : la chaîne peut tourner sur ces exports (`make`)." + switch))
    else:
        cells.append(_md(f"## Verdict\n\n**{fmt.count(n, 'problème')}** : corrigez les exports (ou la correspondance "
                         "`config/survey_tools.yaml`) avant de lancer `make`, qui s'arrêtera sinon au même endroit. "
                         "Les lignes sont numérotées comme dans un tableur (en-tête = ligne 1 ; exports Qualtrics : "
                         "première réponse en ligne 4) ; fichiers SPSS : numéro d'observation."))
    cells.append(_md("## Ce qui a été lu\n\n" + fieldwork_text.read_notes(found.notes) + unread_files_fr(found)))
    if found.result is not None:
        led = found.result.ledger
        t = led.pivot_table(index=["status_label", "reason_label"], columns="survey", values="n", sort=False,
                            aggfunc="sum").reset_index()
        t.columns.name = None
        total = {"status_label": "Total", "reason_label": "Unités tirées",
                 **{sv: int(t[sv].sum()) for sv in fieldwork_text.SURVEYS if sv in t.columns}}
        t = pd.concat([t, pd.DataFrame([total])], ignore_index=True)
        t = t.rename(columns={"status_label": "Statut", "reason_label": "Motif", **fieldwork_text.SURVEYS})
        for c in fieldwork_text.SURVEYS.values():
            if c in t.columns:
                t[c] = t[c].map(fmt.number)
        cells += [_md("Bilan provisoire du terrain (chaque unité tirée a un statut) :"), _table(t),
                  _md(fieldwork_text.cleaning_sentence(found.result.surveys))]
        set_aside = fieldwork_text.status_sentences(found.result.surveys)
        if set_aside:
            cells.append(_md(set_aside))
        cells += _stratum_rates(found.result.surveys)
    if n:
        pt = problems_table(found.problems)
        counts = pt["rule"].value_counts().rename_axis("rule").reset_index(name="n").sort_values(["n", "rule"],
                                                                                                ascending=[False, True]).reset_index(drop=True)
        cells += [_md("## Problèmes par règle"),
                  _table(pd.DataFrame({"Règle": counts["rule"], "Signification": counts["rule"].map(RULES_FR).fillna(""),
                                       "Que faire": counts["rule"].map({**REMEDIES_FR, **settings.get("remedies", {})})
                                                    .fillna("").map(remedy_text),
                                       "Nombre": counts["n"].map(fmt.number)}))]
        shown = pt.head(LISTED)
        listing = pd.DataFrame({
            "Fichier": shown["file"].map(lambda f: Path(str(f)).name),
            "Ligne": shown["row"].map(lambda r: "" if pd.isna(r) else fmt.number(r)),
            **({"Réponse dans l'outil": shown["record"].fillna("")} if shown["record"].notna().any() else {}),
            "Colonne": shown["column"].fillna(""),
            "Valeur": [("" if pd.isna(v) or v == "" else str(v)) if pd.isna(ln) else f"texte de {int(ln)} caractères"
                       for v, ln in zip(shown["value"], shown["length"])],
            "Règle": shown["rule"], "Signification": shown["rule"].map(RULES_FR).fillna(""),
            "Détail technique (message du contrôle, en anglais)": shown["message"]})
        more = f" (les {fmt.number(LISTED)} premiers sur {fmt.number(n)})" if n > LISTED else ""
        cells += [_md(f"## Liste des problèmes{more}"), _table(listing)]
    nb = nbformat.v4.new_notebook(cells=cells)
    # the chain's source (config/study.yaml) under its own name: « source des réponses : données simulées » under
    # a check of real exports read as if the exports checked were simulated; the folder read is said above
    nb.metadata["papermill"] = {"parameters": {"chain_source": settings.get("study_source", settings["source"]),
                                               "survey_folder": settings["folder"],
                                               "survey_tool": settings.get("survey_tool", settings["tool"]),
                                               "ingest_format": settings["format"]}}
    nb.metadata["portrait"] = {"answers": settings["source"]}     # the banner says what was read: real exports
    return nb


def _stratum_rates(surveys: dict) -> list[nbformat.NotebookNode]:
    """The AAPOR rates of each sampling stratum, as report 03 gives them: during fieldwork, where reminders are
    needed (trial F: a board saw them only after the whole chain had run)."""
    import pandas as pd

    from ..study.rates import aapor_rates
    from . import fieldwork_text

    names = [s for s in fieldwork_text.SURVEYS if s in surveys]
    tables = [surveys[s].responses for s in names]
    if not names or not all("stratum" in t.columns for t in tables):
        return []
    rates = pd.concat([aapor_rates(t, "stratum").assign(survey=s) for s, t in zip(names, tables)], ignore_index=True)
    return [_md("## Taux de réponse par strate\n\nPendant le terrain, une strate dont le taux reste en retard sur les "
                "autres est celle où une relance sert le plus. " + fieldwork_text.AAPOR_DEFINITION),
            _table(fieldwork_text.aapor_table(rates, "stratum", "Strate", fieldwork_text.stratum_names(*tables)))]


#: Problems printed on the terminal (file, row, column, rule), the report listing them all.
SHOWN = 10


def _status_rows(rows: tuple[int, ...], file: str = "") -> str:
    """« (row 4 of residents_participants.csv) », « (rows 4, 9 of …) », or nothing without rows."""
    if not rows:
        return ""
    return f" ({'row' if len(rows) == 1 else 'rows'} {', '.join(map(str, rows))} of {file or 'the contact-status export'})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.reporting.check_survey", description=__doc__.split("\n")[0])
    parser.add_argument("--folder", help="survey folder to check (default: from the parameters of stage 03)")
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--if-real", action="store_true", help="do nothing unless source is real")
    parser.add_argument("--simulated", action="store_true", help="check the simulator's exports instead of the real ones")
    args = parser.parse_args(argv)
    if args.if_real and config.notebook_parameters(NOTEBOOK).get("source", "simulated") != "real":
        return 0
    skip_iri_grammar()
    import nbformat
    import pandas as pd

    from ..study.tool_statuses import completed_only_notes
    from .render import render

    try:
        found, settings = run(args.folder, simulated=args.simulated)
    except (PortraitError, SurveyError) as exc:      # a setting that cannot read the folder: no report to write
        out = paths.resolve(args.out)
        if out.exists():
            out.unlink()                             # an earlier check's report would pass for this one's
        print(f"✗ the survey exports cannot be checked: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch) / "check_survey.ipynb"
        nbformat.write(notebook(found, settings), tmp)
        out = render(tmp, paths.resolve(args.out), exclude_input=True)
    rules = pd.Series([p.rule for p in found.problems]).value_counts().sort_index()
    shown = ", ".join(found.ignored[:5]) + (f" and {len(found.ignored) - 5} more" if len(found.ignored) > 5 else "")
    unread = (f"the folder also holds file(s) the check does not read: {shown} (only the files named above, in the "
              "chosen format, are read; for a second batch, export every response again, in one file, from the tool)")
    if found.problems:
        print(f"✗ {len(found.problems)} problem(s) in the survey exports of {settings['folder']} ("
              + ", ".join(f"{r}: {k}" for r, k in rules.items()) + "):", file=sys.stderr)
        if found.ignored:       # often the cause (a second batch beside the first): said before the problems
            print(f"  note — {unread}", file=sys.stderr)
        for p in found.problems[:SHOWN]:
            print(f"  {p}", file=sys.stderr)
        more = f"the other {len(found.problems) - SHOWN} and " if len(found.problems) > SHOWN else ""
        print(f"  {more}what each rule means: {paths.relative(out)}", file=sys.stderr)
        return 1
    print(f"✓ survey exports of {settings['folder']} ({settings['tool']}): no problem; {paths.relative(out)}")
    for survey, r in (found.result.surveys.items() if found.result is not None else ()):
        if r.answered_out_of_scope:
            rows = _status_rows(r.out_of_scope_rows, r.status_file)
            print(f"  to check — {survey}: {r.answered_out_of_scope} unit(s) marked out of scope in the contact statuses "
                  f"answered all the same{rows}; their answers are not used (fix the status in the tool if it is wrong)")
        if r.set_aside:
            rows = _status_rows(r.set_aside_rows, r.status_file)
            print(f"  to check — {survey}: {r.set_aside} response(s) set aside as unusable in the contact statuses{rows}; "
                  "they count as non-responses")
        if getattr(r, "tool_flagged", 0):
            rows = _status_rows(r.tool_flagged_rows, "the responses export")
            print(f"  to check — {survey}: {r.tool_flagged} sampled unit(s) whose every response the tool flagged as a "
                  f"preview, test or spam{rows}; they count as non-responses (reason ecartee_outil)")
    if found.ignored:
        print(f"  to check — {unread}")
    for n in completed_only_notes(found.notes) if not settings.get("no_partial_answers") else ():
        print(f"  to check — {Path(n.file).name}: {n.rows} responses and not one unfinished questionnaire: does the export "
              "hold all responses (LimeSurvey: « All responses »)? Otherwise the break-offs count as silence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
