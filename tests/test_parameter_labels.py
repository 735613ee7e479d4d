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
