"""The reports name parameters and write their values in French, and no parameter or code of config/ can appear
there untranslated."""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_markdown_cell, new_notebook

from portrait.pipeline import paths
from portrait.reporting import parameter_labels, report

#: Parameters whose strings a reader reads as written: names (department codes, web domains, partner file ids, a
#: scheduler's address), a cited source, a date. Every other string of config/ is a code with a French text.
AS_WRITTEN = frozenset({"departments", "dot_insensitive_domains", "accept_fully_excluded", "scheduler",
                        "foreign_share_source", "reference_date"})


def _parameter_files():
    """config/study.yaml and each notebook's own config/<stem>.yaml (the other YAML files are data, not parameters)."""
    stems = {p.stem for p in paths.NOTEBOOKS.glob("*.ipynb")}
    return [paths.CONFIG / "study.yaml", *sorted(p for p in paths.CONFIG.glob("*.yaml") if p.stem in stems)]


def test_every_parameter_of_config_has_a_french_label():
    """A parameter added to config/*.yaml without a French label would be shown raw in the index: it fails here."""
    files = _parameter_files()
    assert len(files) >= 9                       # the study file and the eight stages'
    missing = [f"{f.name}: {k}" for f in files for k in yaml.safe_load(f.read_text(encoding="utf-8")) or {}
               if k not in parameter_labels.LABELS]
    assert missing == []


def test_every_parameter_a_scenario_sets_has_a_french_label():
    """The scenarios' lines of the index name the parameters they change in French as well."""
    missing = [f"{f.name}: {k}" for f, k, _ in _scenario_settings() if k not in parameter_labels.LABELS]
    assert missing == []


def _scenario_settings():
    """(file, parameter, value) of every parameter a scenario of config/scenarios/ sets."""
    return [(f, k, v) for f in sorted((paths.CONFIG / "scenarios").glob("*.yaml"))
            for stage in yaml.safe_load(f.read_text(encoding="utf-8")).get("set", {}).values()
            for k, v in stage.items()]


def _strings(name, value):
    """(parameter, string) of every string a value holds: a list's items, a mapping's entries under their own names."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(name, v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, v)


def test_every_code_of_config_and_of_the_scenarios_has_a_french_text():
    """A code written in config/*.yaml or set by a scenario (``fdr_bh``, ``superpopulation``, ``tourism``) without a
    French text would be shown raw to readers: it fails here. Paths are not shown; names and dates are read as
    written (:data:`AS_WRITTEN`)."""
    settings = [(f, k, v) for f in _parameter_files()
                for k, v in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).items()] + _scenario_settings()
    codes = [(f.name, name, s) for f, k, v in settings if parameter_labels.shown(k, v)
             for name, s in _strings(k, v) if name not in AS_WRITTEN]
    assert ("06_comparison.yaml", "adjust", "fdr_bh") in codes
    assert ("tourisme.yaml", "calibration_target", "tourism") in codes            # the scenarios' codes are read too
    assert [c for c in codes if c[2] not in parameter_labels.VALUE_TEXTS.get(c[1], {})] == []


def test_every_code_the_chain_accepts_has_a_french_text():
    """The values the stages validate (calibration methods, allocation rules, survey tools, formats, encodings,
    targets, adjustments, partner types) all have a French text, not only those config/ uses today."""
    from portrait import survey
    from portrait.study import compare, export_readers, exports, recipes, survey_tools, validation, visitors

    accepted = {"calibration_method": survey.CALIBRATION_METHODS, "sensitivity_methods": survey.CALIBRATION_METHODS,
                "allocation": survey.ALLOCATION_RULES, "replicate_method": ("bootstrap", "jk1", "jkn"),
                "calibration_target": recipes.TARGETS, "targets": validation.setup.TARGETS,
                "adjust": tuple(compare.ADJUST_LABELS), "source": ("simulated", "real"),
                "partners_source": ("synthetic", "real"), "source_priority": tuple(visitors.SOURCE_LABELS),
                "survey_tool": (survey_tools.NATIVE, *survey_tools.load(paths.CONFIG / "survey_tools.yaml")),
                "export_formats": exports.FORMATS, "ingest_format": exports.FORMATS,
                "export_encoding": exports.CSV_ENCODINGS, "csv_encoding": export_readers.ENCODINGS}
    missing = [(k, v) for k, values in accepted.items() for v in values
               if v not in parameter_labels.VALUE_TEXTS.get(k, {})]
    assert missing == []


def test_numbers_shares_dates_lists_and_flags_are_written_the_french_way():
    """Expected texts written by hand (they are the specification): decimal comma, thousands separated by a
    narrow no-break space but not in a seed or a year, « 95 % », « 1ᵉʳ mars 2017 », « a, b et c », « aucun »,
    « oui »."""
    v = parameter_labels.value_text
    assert v("invitations", 18000) == "18\u202f000"
    assert v("seed", 20170301) == "20170301" and v("population_year", 2017) == "2017"
    assert v("logit_bounds", [0.3, 3.0]) == "[0,3\u00a0; 3]"
    # a new user's trial: « gmail.com, googlemail.com et example.com » presented a reserved domain as a real webmail
    assert v("dot_insensitive_domains", ["gmail.com", "example.com"]) == \
        "gmail.com et example.com (messagerie fictive des fichiers simulés)"
    assert v("some_float", 0.125) == "0,125" and v("some_float", -1.5) == "\u22121,5"
    assert v("confidence_level", 0.95) == "95\u00a0%" and v("confidence_level", 0.975) == "97,5\u00a0%"
    assert v("reference_date", "2017-03-01") == "1ᵉʳ mars 2017"
    assert v("reference_date", "2016-09-15") == "15 septembre 2016"
    assert v("reference_date", "2017-13-45") == "2017-13-45"                  # not a date: as written
    assert v("departments", ["02", "59", "60"]) == "02, 59 et 60" and v("departments", ["59"]) == "59"
    assert v("size_breaks", [1000, 5000]) == "1\u202f000 et 5\u202f000"
    assert v("accept_fully_excluded", []) == "aucun"
    assert v("check", True) == "oui" and v("check", False) == "non" and v("none", None) == "aucun"
    assert v("tourism_margins", {"nights_year": 2017, "foreign_share": 0.25}) == \
        "nuitées Insee d'avril à septembre 2017 et part des visiteurs étrangers 25\u00a0%"


def test_codes_are_translated_and_unknown_codes_fall_back_to_the_raw_value():
    """fdr_bh reads « Benjamini–Hochberg », a list of codes « linéaire, raking ratio et logit borné », the partner
    types' order « a > b »; a code without a text (a new method) is shown as config/ writes it, never an error."""
    v = parameter_labels.value_text
    assert v("adjust", "fdr_bh") == "Benjamini–Hochberg" and v("adjust", "holm") == "Holm"
    assert v("sensitivity_methods", ["linear", "raking", "logit"]) == \
        "linéaire, raking ratio et logit borné"
    assert v("targets", ["superpopulation", "finite"]) == "super-population (espérance du modèle) et population finie fixée"
    assert v("replicate_method", "bootstrap") == "bootstrap de Rao–Wu"
    assert v("source_priority", ["hebergement", "congres_salon"]) == "hébergement > congrès et salons"
    assert v("calibration_method", "brand_new") == "brand_new" and v("brand_new_knob", "x") == "x"
    assert v("adjust", ["fdr_bh", "mystery"]) == "Benjamini–Hochberg et mystery"


def test_the_raw_value_stays_in_a_tooltip_or_in_parentheses():
    """HTML: the value as config/ writes it in a tooltip when the French text differs (nothing to add for « 10 »);
    plain text (a scenario's table): in parentheses."""
    assert parameter_labels.html_value("adjust", "fdr_bh") == '<span title="fdr_bh">Benjamini–Hochberg</span>'
    assert parameter_labels.html_value("targets", ["finite"]) == '<span title="[finite]">population finie fixée</span>'
    assert parameter_labels.html_value("small_cell_threshold", 10) == "10"
    assert parameter_labels.text_value("calibration_target", "tourism") == "chiffres du tourisme (tourism)"
    assert parameter_labels.text_value("population_year", 2019) == "2019"


def test_the_index_shows_french_labels_hides_the_key_file_and_paths_and_falls_back_to_the_raw_name(tmp_path):
    """Labels written by hand: « messageries dont … » for dot_insensitive_domains; the key file and a path are not
    shown; a parameter unknown to the mapping keeps its own name; the raw name and value stay in tooltips."""
    params = {"dot_insensitive_domains": ["gmail.com"], "pseudo_key_file": ".portrait-key",
              "codebook_file": "config/codebook.yaml", "brand_new_knob": 3, "small_cell_threshold": 10}
    nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")],
                      metadata={"papermill": {"parameters": params}})
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    page = report.index_html([path]).replace("\u00a0", " ")  # spacing is test_typography's
    line = page[page.index('<span class="params">'):]
    line = line[:line.index("</li>")]
    assert ('<span title="dot_insensitive_domains">messageries dont les adresses ignorent les points et les '
            '« +étiquettes »</span> : <span title="[gmail.com]">gmail.com</span>') in line
    assert '<span title="small_cell_threshold">seuil de confidentialité (répondants)</span> : 10' in line
    assert '<span title="brand_new_knob">brand_new_knob</span> : 3' in line
    assert ".portrait-key" not in page and "pseudo_key_file" not in page
    assert "codebook" not in line


def test_no_dask_scheduler_reads_as_local_processes_and_other_values_as_written():
    """« ordonnanceur Dask : '' » said nothing to a reader: the empty scheduler is « aucun (processus locaux) »; a
    scheduler address stays as config/ writes it, another parameter's empty string is « aucun »."""
    assert parameter_labels.value_text("scheduler", "") == "aucun (processus locaux)"
    assert parameter_labels.value_text("scheduler", "tcp://host:8786") == "tcp://host:8786"
    assert parameter_labels.value_text("csv_encoding", "") == "aucun"


def test_a_scenario_table_names_a_parameter_in_french_with_its_raw_name_in_parentheses():
    """The scenario page's « Paramètre » column: « méthode de calage (calibration_method) », the raw name being what
    ``make scenario SET=…`` takes; a parameter without a label keeps its own name."""
    from portrait.reporting import scenarios

    manifest = {"stages": [{"stage": "04_resident_weighting", "rerun": True,
                            "changes": {"calibration_method": ["raking", "logit"], "brand_new_knob": [1, 2],
                                        "resident_frame": ["data/processed/x.parquet",
                                                           "scenarios/s/data/processed/x.parquet"]}}]}
    table = scenarios.settings_table(manifest)
    assert table["Paramètre"].tolist() == ["méthode de calage (calibration_method)", "brand_new_knob"]
    assert table["Étape"].tolist() == ["04 — pondération des habitants"] * 2
    assert table["Étude"].tolist() == ["raking ratio (raking)", "1"]
    assert table["Scénario"].tolist() == ["logit borné (logit)", "2"]


def test_the_scenarios_lines_of_the_index_give_french_values_with_the_raw_ones_on_hover():
    """« cible de calage des clients = chiffres du tourisme (étude : totaux des fichiers de partenaires) », each
    value's code (what ``SET=`` takes) in its tooltip."""
    from portrait.reporting import scenarios

    manifest = {"name": "tourisme", "title": "Clients calés sur les chiffres du tourisme",
                "stages": [{"stage": "05_visitor_weighting", "rerun": True,
                            "changes": {"calibration_target": ["frame", "tourism"]}}]}
    assert ('05 <span title="calibration_target">cible de calage des clients</span> = '
            '<span title="tourism">chiffres du tourisme</span> (étude : '
            '<span title="frame">totaux des fichiers de partenaires</span>) ; étapes refaites : 05'
            in scenarios.index_items([manifest]))


def test_the_index_shows_no_scheduler_as_local_processes(tmp_path):
    """The index read « ordonnanceur Dask : '' » when no scheduler was set."""
    nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")],
                      metadata={"papermill": {"parameters": {"scheduler": "", "workers": 2}}})
    nbformat.write(nb, tmp_path / "08_probe.ipynb")
    page = report.index_html([tmp_path / "08_probe.ipynb"]).replace("\u00a0", " ")  # spacing is test_typography's
    assert ('<span title="scheduler">ordonnanceur Dask</span> : <span title="&#x27;&#x27;">aucun (processus locaux)'
            '</span>') in page
    assert "ordonnanceur Dask</span> : &#x27;&#x27;" not in page and "Dask</span> : ''" not in page


def test_the_index_badges_say_what_each_reports_numbers_rest_on(tmp_path):
    """With real answers: the validation is simulated by design, and reports involving visitors drawn from simulated
    partner files (a rehearsal) are not « données réelles » — nor « données simulées », which a board read as « our
    answers were not used » — whatever their place in the index (07 comes first); the residents' own reports are
    not concerned, and the resident frame rests on public data."""
    import re

    def probe(stem: str, **params) -> Path:
        nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")],
                          metadata={"papermill": {"parameters": params}})
        nbformat.write(nb, tmp_path / f"{stem}.ipynb")
        return tmp_path / f"{stem}.ipynb"

    def badges(partners: str) -> list[str]:
        page = report.index_html([probe("07_synthesis", source="real"), probe("01_resident_frame"),
                                  probe("02_visitor_frame", partners_source=partners),
                                  probe("04_resident_weighting", source="real"), probe("06_comparison", source="real"),
                                  probe("08_validation", source="real")])
        return re.findall(r'<li><a href="0[^"]*">[^<]*</a> <span class="source">([^<]*)</span>', page)

    public, simulated, real = "données publiques (Insee, Etalab)", "données simulées", "données réelles"
    rehearsal = "réponses réelles, fichiers de partenaires simulés"
    assert badges("synthetic") == [rehearsal, public, simulated, real, rehearsal, simulated]
    assert badges("real") == [real, public, real, real, real, simulated]


def test_no_run_information_block_shows_a_raw_name_or_a_path():
    """A scenario's page listed « manifest : scenarios/pop2019/scenario.json », « name : pop2019 » … and its re-run
    stages « out_weights : scenarios/pop2019/… » under the run information: for every notebook (the chain's and the
    scenario page), with every parameter of its parameters cell, each row of the block has a French label, and no
    file path nor hidden parameter is listed (an analyst finds them in the parameters cell)."""
    from nbformat.v4 import new_notebook as notebook

    from portrait.pipeline.parameters import cell_defaults
    from portrait.reporting import render

    checked = set()
    for path in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        params = {**cell_defaults(path), "pseudo_key_file": ".portrait-key"}
        rows = render.run_information(notebook(metadata={"papermill": {"parameters": params}}))
        assert [(path.stem, name) for _, name, _, _ in rows if name and name not in parameter_labels.LABELS] == []
        listed = {name: params[name] for _, name, _, _ in rows if name}
        assert [(path.stem, k) for k, v in listed.items() if isinstance(v, str) and ("/" in v or "portrait-key" in v)] == []
        checked |= set(listed)
    assert {"name", "alpha", "replications", "calibration_method"} <= checked


def test_tourism_margins_read_as_prose_with_the_raw_mapping_on_hover():
    """The index read « marges du tourisme (variante) : [part des clients étrangers : 25 % ; source de cette part :
    … ; millésime des nuitées Insee : 2017] »: now French prose, no bracket around it, the source's own
    parentheses as brackets inside ours; the mapping as config/ writes it stays in the tooltip."""
    margins = yaml.safe_load((paths.CONFIG / "05_visitor_weighting.yaml").read_text(encoding="utf-8"))["tourism_margins"]
    text = parameter_labels.value_text("tourism_margins", margins)
    assert text.startswith("nuitées Insee d'avril à septembre 2017 et part des visiteurs étrangers 25\u00a0% (source : CRT Hauts-de-France")
    assert text.endswith("fiabilité jugée moyenne])") and " : 25" not in text and "millésime" not in text
    html_value = parameter_labels.html_value("tourism_margins", margins)
    assert html_value.startswith('<span title="{foreign_share: 0.25,') and ">nuitées Insee d&#x27;avril à septembre 2017 et" in html_value


def test_replicates_and_replications_are_never_confused():
    """« répliques » are replicate weights (one set per replicate, 04–06 and 08's bootstrap), « réplications » the
    validation's repetitions of the whole chain (08): every label with the first says « poids de réplication »,
    every label with the second says « chaîne » and never « poids »."""
    for name, text in parameter_labels.LABELS.items():
        if "réplique" in text:
            assert "poids de réplication" in text, name
        if "réplication" in text.replace("poids de réplication", ""):
            assert "chaîne" in text and "poids" not in text, name
    assert parameter_labels.label("bootstrap_replicates").startswith("répliques bootstrap (poids de réplication)")
    assert parameter_labels.label("model_replicates").startswith("répliques bootstrap (poids de réplication)")


def test_methods_and_targets_read_as_the_reports_name_them():
    """The validation's targets are named as report 08 names them (« Super-population (espérance du modèle) »,
    « Population finie fixée »); raking as the reports write it, with its French gloss; Benjamini–Hochberg and
    Rao–Wu with an en dash between the two names, as « Rao–Scott » and « Bilder–Loughin »."""
    from portrait.study.validation.setup import TARGET_LABELS

    for code, text in parameter_labels.VALUE_TEXTS["targets"].items():
        assert text == TARGET_LABELS[code][0].lower() + TARGET_LABELS[code][1:]
    assert parameter_labels.value_text("calibration_method", "raking") == "raking ratio"    # as the reports' text
    assert parameter_labels.value_text("adjust", "fdr_bh") == "Benjamini\u2013Hochberg"
    assert parameter_labels.value_text("replicate_method", "bootstrap") == "bootstrap de Rao\u2013Wu"
    for name, text in parameter_labels.LABELS.items():
        assert " au moins " not in f" {text} ", name           # « nombre minimal de … », not « … au moins »


def test_the_native_layouts_encoding_is_not_shown_for_a_survey_tools_exports():
    """A LimeSurvey run's information read « encodage des CSV lus : Windows-1252 », a parameter it never reads."""
    native = dict(parameter_labels.by_label({"survey_tool": "native", "csv_encoding": "cp1252", "ingest_format": "csv"}))
    tool = dict(parameter_labels.by_label({"survey_tool": "limesurvey", "csv_encoding": "cp1252", "ingest_format": "csv"}))
    assert "csv_encoding" in native and "csv_encoding" not in tool and tool["ingest_format"] == "csv"


def test_the_index_links_the_last_check_of_the_survey_exports_when_there_is_one(tmp_path, monkeypatch):
    """A newcomer's trial: the index said it links every report, but not `make check-survey`'s. Oracle: the file's
    presence; without it, no line."""
    from portrait.pipeline import paths
    from portrait.reporting import check_survey

    nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")], metadata={"papermill": {"parameters": {}}})
    nbformat.write(nb, tmp_path / "03_probe.ipynb")
    monkeypatch.setattr(check_survey, "OUT", str(tmp_path / "check_survey.html"))
    assert "check_survey.html" not in report.index_html([tmp_path / "03_probe.ipynb"])
    (tmp_path / "check_survey.html").write_text("<html></html>", encoding="utf-8")
    page = report.index_html([tmp_path / "03_probe.ipynb"]).replace("\u00a0", " ").replace("\u2019", "'")
    assert 'exports de l\'enquête (dernier <code>make check-survey</code>) : <a href="check_survey.html">' in page
    assert paths.resolve(check_survey.OUT).exists()
