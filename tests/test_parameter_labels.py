"""The reports' index names parameters in French, and no parameter of config/ can appear there unnamed."""

from __future__ import annotations

import nbformat
import yaml
from nbformat.v4 import new_markdown_cell, new_notebook

from portrait.pipeline import paths
from portrait.reporting import parameter_labels, report


def _parameter_files():
    """config/study.yaml and each notebook's own config/<stem>.yaml (the other YAML files are data, not parameters)."""
    stems = {p.stem for p in paths.NOTEBOOKS.glob("*.ipynb")}
    return [paths.CONFIG / "study.yaml", *sorted(p for p in paths.CONFIG.glob("*.yaml") if p.stem in stems)]


def test_every_parameter_of_config_has_a_french_label():
    """A parameter added to config/*.yaml without a French label would be shown raw in the index: it fails here."""
    files = _parameter_files()
    assert len(files) >= 9                       # the study file and the eight stages'
    missing = [f"{f.name}: {k}" for f in files for k in yaml.safe_load(f.read_text(encoding="utf-8"))
               if k not in parameter_labels.LABELS]
    assert missing == []


def test_every_parameter_a_scenario_sets_has_a_french_label():
    """The scenarios' lines of the index name the parameters they change in French as well."""
    missing = [f"{f.name}: {k}" for f in sorted((paths.CONFIG / "scenarios").glob("*.yaml"))
               for stage in yaml.safe_load(f.read_text(encoding="utf-8")).get("set", {}).values()
               for k in stage if k not in parameter_labels.LABELS]
    assert missing == []


def test_the_index_shows_french_labels_hides_the_key_file_and_paths_and_falls_back_to_the_raw_name(tmp_path):
    """Labels written by hand: « messageries dont … » for dot_insensitive_domains; the key file and a path are not
    shown; a parameter unknown to the mapping keeps its own name; the raw name stays in a tooltip."""
    params = {"dot_insensitive_domains": ["gmail.com"], "pseudo_key_file": ".portrait-key",
              "codebook_file": "config/codebook.yaml", "brand_new_knob": 3, "small_cell_threshold": 10}
    nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")],
                      metadata={"papermill": {"parameters": params}})
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    page = report.index_html([path])
    line = page[page.index('<span class="params">'):]
    line = line[:line.index("</li>")]
    assert ('<span title="dot_insensitive_domains">messageries dont les adresses ignorent les points et les '
            "« +étiquettes »</span> : [gmail.com]") in line
    assert '<span title="small_cell_threshold">seuil de confidentialité (répondants)</span> : 10' in line
    assert '<span title="brand_new_knob">brand_new_knob</span> : 3' in line
    assert ".portrait-key" not in page and "pseudo_key_file" not in page
    assert "codebook" not in line


def test_no_dask_scheduler_reads_as_local_processes_and_other_values_as_config_writes_them():
    """« ordonnanceur Dask : '' » said nothing to a reader: the empty scheduler is « aucun (processus locaux) »; a
    scheduler address and other parameters' empty strings stay as config/ writes them."""
    assert parameter_labels.value_text("scheduler", "") == "aucun (processus locaux)"
    assert parameter_labels.value_text("scheduler", "tcp://host:8786") == "tcp://host:8786"
    assert parameter_labels.value_text("csv_encoding", "") == "''"
    assert parameter_labels.value_text("calibration_bounds", [0.3, 3.0]) == "[0.3, 3.0]"


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


def test_the_index_shows_no_scheduler_as_local_processes(tmp_path):
    """The index read « ordonnanceur Dask : '' » when no scheduler was set."""
    nb = new_notebook(cells=[new_markdown_cell("# Sonde\n\nUn rapport de test.")],
                      metadata={"papermill": {"parameters": {"scheduler": "", "workers": 2}}})
    nbformat.write(nb, tmp_path / "08_probe.ipynb")
    page = report.index_html([tmp_path / "08_probe.ipynb"])
    assert '<span title="scheduler">ordonnanceur Dask</span> : aucun (processus locaux)' in page
    assert "ordonnanceur Dask</span> : &#x27;&#x27;" not in page and "Dask</span> : ''" not in page
