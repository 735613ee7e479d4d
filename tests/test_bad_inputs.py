"""Every kind of bad input in the catalogue (``tests/bad_inputs.py``) gets its rule, and no message
repeats personal data.

Each kind damages a copy of a good input and runs the function the user's path calls (the survey
ingest, the partner-file ingest, the engine's calibration, the runner's parameter resolution and the
typed recipes, the processed-file checks). It must raise — nothing is accepted with wrong data — with
its rule: the ingest's rule name for exports, the words of the error elsewhere. Privacy: the exports'
open answers all hold a planted name and phone number, the partner files their synthetic names and
e-mail addresses; neither the message nor the problems table may contain any of them.
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from portrait.pipeline import paths
from portrait.pipeline.errors import PortraitError, SurveyValidationError
from portrait.study import codebook, exports, ingest, partners, visitors
from portrait.survey.errors import SurveyError

from . import bad_inputs, helpers
from .bad_inputs import PLANTED_NAME, PLANTED_PHONE
from .test_privacy import _scan_text

KINDS = bad_inputs.catalogue()
BY_ID = {f"{k.area}:{k.name}": k for k in KINDS}
ERRORS = (PortraitError, SurveyError)


def test_the_catalogue_covers_sixty_kinds_in_every_area():
    assert len(BY_ID) == len(KINDS) >= 60
    assert {k.area for k in KINDS} == set(bad_inputs.AREAS)
    assert all(k.rule for k in KINDS)


def test_the_readme_counts_the_catalogue_as_it_is():
    """The README said 90 kinds when the catalogue held 101: its counts are now read against the catalogue."""
    import collections
    import re

    from portrait.pipeline import paths

    text = " ".join((paths.ROOT / "docs" / "real_data.md").read_text(encoding="utf-8").split())
    said = re.search(r"\((\d+) kinds: (\d+) survey exports, (\d+) partner files, (\d+) margins, (\d+) configuration, "
                     r"(\d+) processed files\)", text)
    by_area = collections.Counter(k.area for k in KINDS)
    assert said and [int(x) for x in said.groups()] == [len(KINDS), by_area["export"], by_area["partner"],
                                                         by_area["margin"], by_area["config"], by_area["processed"]]


# ------------------------------------------------------------------------------------------ good inputs
@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def survey_inputs(resident_frame, cb, tmp_path_factory):
    """Clean CSV exports of a small simulated fieldwork, every open answer holding the planted name and phone."""
    sim, samples = helpers.small_fieldwork(resident_frame, cb, frame_size=2500, visitors=600, visitor_seed=4,
                                           seed=20170301)
    folder = tmp_path_factory.mktemp("survey")
    exports.write_survey_folder(sim.exports, sim.dispositions, folder, cb, formats=["csv"])
    assert bad_inputs.plant_open_answers(folder) > 100
    ingest.ingest(folder, samples, cb)                       # the planted folder itself is good
    return folder, samples


@pytest.fixture(scope="module")
def partner_folder(tmp_path_factory):
    return partners.generate_partner_files(tmp_path_factory.mktemp("partners") / "p", n_records=2000, seed=5).folder


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "config"
    d.mkdir()
    (d / "study.yaml").write_text("seed: 42\nsource: simulated\n", encoding="utf-8")
    monkeypatch.setattr(paths, "CONFIG", d)
    params = new_code_cell("seed = 1\nlabel = 'x'", metadata={"tags": ["parameters"]})
    nb = tmp_path / "99_probe.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Sonde"), params, new_code_cell("pass")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                         "language": "python"}}), nb)
    return d, nb


@pytest.fixture
def processed(tmp_path, monkeypatch):
    """A weighted-design file written and recorded by a stage, as 04 leaves it."""
    import pandas as pd

    from portrait import survey
    from portrait.pipeline import manifest

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    folder = tmp_path / "data" / "processed"
    folder.mkdir(parents=True)
    d = survey.Design.from_frame(pd.DataFrame({"x": ["A", "B"] * 5, "w": 2.0}), weights="w")
    survey.write_design(d, folder / "weights.parquet")
    manifest.record("04_weighting", {"out_weights": "data/processed/weights.parquet"})
    return folder


# ------------------------------------------------------------------------------------------ runners
def _message(exc: BaseException) -> str:
    shown = str(exc)
    if isinstance(exc, SurveyValidationError):
        from portrait.study.export_readers import problems_table

        shown += "\n" + problems_table(exc.problems).to_csv() + "\n".join(map(repr, exc.problems))
    return shown


def _raise(kind, request, tmp_path):
    if kind.area == "export":
        folder, samples = request.getfixturevalue("survey_inputs")
        work = shutil.copytree(folder, tmp_path / "survey")
        kw = kind.damage(work)
        with pytest.raises(SurveyValidationError) as exc:
            ingest.ingest(work, samples, request.getfixturevalue("cb"), **kw)
        return exc.value
    if kind.area == "partner":
        work = shutil.copytree(request.getfixturevalue("partner_folder"), tmp_path / "partners")
        kw = kind.damage(work)
        with pytest.raises(ERRORS) as exc:
            visitors.ingest_partner_files(kw.pop("_folder", work), key=b"k" * 64, reference_date="2017-03-01",
                                          dot_insensitive_domains=["gmail.com"], **kw)
        return exc.value
    if kind.area == "config":
        config, notebook = request.getfixturevalue("config_dir")
        with pytest.raises(ERRORS) as exc:
            kind.damage(config, notebook)
        return exc.value
    action = kind.damage(request.getfixturevalue("processed")) if kind.area == "processed" else kind.damage
    with pytest.raises(ERRORS) as exc:
        action()
    return exc.value


@pytest.mark.parametrize("kind_id", sorted(BY_ID))
def test_each_kind_gets_its_rule_and_no_personal_data(kind_id, request, tmp_path):
    kind = BY_ID[kind_id]
    exc = _raise(kind, request, tmp_path)
    shown = _message(exc)
    if kind.area == "export":
        rules = {p.rule for p in exc.problems}
        assert kind.rule in rules, (rules, str(exc)[:500])
        assert all(p.file for p in exc.problems if p.rule == kind.rule), "a problem names no file"
    else:
        assert kind.rule in str(exc), str(exc)[:500]
    if kind.area == "partner":                   # the partner file (or the folder) is named
        assert re.search(r"partners/\S*\w", shown), shown[:300]
    if kind.area == "processed":
        assert "data/processed/" in shown, shown[:300]
    for planted in (PLANTED_NAME, PLANTED_PHONE, "Martin", "06 12"):
        assert planted not in shown
    assert _scan_text(shown, kind_id) == []                  # no e-mail address, no synthetic first name + surname
