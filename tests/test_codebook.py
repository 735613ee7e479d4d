"""The codebook: one consistent definition of both questionnaires."""

from __future__ import annotations

import copy

import pytest
import yaml

from portrait.study import codebook
from portrait.pipeline import paths
from portrait.pipeline.errors import CodebookError

IMAGE_ITEMS = ["img_accueillante", "img_conviviale", "img_patrimoine", "img_nature", "img_littoral",
               "img_gastronomie", "img_dynamique", "img_innovante", "img_acces", "img_sure",
               "img_cadre_vie", "img_culture"]


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((paths.CONFIG / codebook.CODEBOOK_FILE).read_text(encoding="utf-8"))


def _parse(raw):
    return codebook.parse(copy.deepcopy(raw), "test-codebook.yaml")


def test_common_core_is_the_study_list_and_asked_in_both_surveys(cb):
    """The common core is STUDY §4's list (image, recommendation, 12 image items, strengths,
    weaknesses, words, sex, age, education) and every item of it is asked in both surveys."""
    core = [v.name for v in cb.common_core()]
    assert sorted(core) == sorted(["image_globale", "recommandation", *IMAGE_ITEMS, "forces", "faiblesses",
                                   "mots", "sexe", "age", "diplome"])
    for v in cb.common_core():
        assert set(v.surveys) == {"residents", "visitors"}
    assert [v.name for v in cb.common_core("profile")] == ["sexe", "age", "diplome"]


def test_every_code_has_a_label_and_codes_are_unique(cb):
    """Every coded variable has unique codes, each with a non-empty French label."""
    for v in cb.variables:
        if v.type in ("single", "likert_1_5", "multi", "score_0_10"):
            labels = cb.labels(v.name)
            assert len(labels) == len(set(labels)) == len(cb.codes(v.name))
            assert all(isinstance(t, str) and t.strip() for t in labels.values())
            assert cb.dont_know_code not in v.code_values


def test_types_of_the_study_items(cb):
    """Scores are 0-10, image items are 1-5 with « Ne sait pas », multi-selects allow 3 choices."""
    assert cb.variable("image_globale").type == "score_0_10"
    assert cb.codes("recommandation") == list(range(11))
    for name in IMAGE_ITEMS:
        assert cb.codes(name) == [1, 2, 3, 4, 5, 99]
        assert cb.labels(name)[99] == "Ne sait pas"
    for name in ("forces", "faiblesses"):
        v = cb.variable(name)
        assert v.max_choices == 3 and len(v.codes) >= 10
    assert cb.variable("mots").n_words == 3


def test_survey_specific_items(cb):
    """Residents-only and visitors-only items are asked in their survey only (STUDY §4)."""
    res = {v.name for v in cb.variables_for("residents")} - {v.name for v in cb.variables_for("visitors")}
    vis = {v.name for v in cb.variables_for("visitors")} - {v.name for v in cb.variables_for("residents")}
    assert res == {"slot_id", "dep_residence", "commune_residence", "annees_residence", "fierte",
                   "attachement", "ambassadeur"}
    assert vis == {"person_id", "pays", "region_residence", "motif", "zone_visitee", "nb_sejours",
                   "intention_retour"}
    assert len(cb.labels("attachement", dont_know=False)) == 6


def test_export_columns_expand_multi_select_and_words(cb):
    """Multi-select items give one 0/1 column per option, open words one column per word; no duplicates."""
    cols = cb.columns("visitors")
    assert cols[0] == "person_id"
    assert [c for c in cols if c.startswith("forces_")] == [f"forces_{i:02d}" for i in range(1, 13)]
    assert [c for c in cols if c.startswith("mots_")] == ["mots_1", "mots_2", "mots_3"]
    assert len(cols) == len(set(cols))
    assert cb.value_labels("visitors")["forces_01"] == {0: "Non cité", 1: "Cité"}


def test_groupings_and_reasons(cb):
    """Top-2 box and NPS groups come from the codebook, and each ledger reason has one status."""
    nps = cb.groupings_for("recommandation")[0]
    assert nps.difference[0] == "nps_score"
    assert {k for k, _, _ in nps.groups} == {"detracteurs", "passifs", "promoteurs"}
    assert cb.groupings_for("img_sure")[0].name == "accord"
    assert cb.groupings_for("image_globale") == []
    assert cb.reason_status("abandon") == "non_respondent"
    assert cb.reason_status("hors_champ") == "excluded"
    assert {d["reason"] for d in cb.dispositions.values()} <= {r for s in cb.status.values() for r in s["reasons"]}


def test_canonical_words_ignore_case_and_accents(cb):
    """Open answers map to their canonical word whatever the case, accents or listed variant."""
    assert cb.canonical_word("mots", "ACCUEIL") == "accueillante"
    assert cb.canonical_word("mots", "Généreux") == "généreuse"
    assert cb.canonical_word("mots", "chomage") == "chômage"
    assert cb.canonical_word("mots", "xyz") is None


def test_word_coverage_counts_the_words_given_and_those_the_vocabulary_recognises(cb):
    """Report 07 says how much of what respondents wrote its word shares count, by hand: an empty or blank cell is no
    word; « ACCUEIL » and « chomage » are recognised variants; « xyz » and « grisaille du nord » are not."""
    import pandas as pd

    from portrait.reporting import sections
    from portrait.study import items

    cols = cb.variable("mots").columns
    table = pd.DataFrame([["ACCUEIL", "xyz", None], ["chomage", "  ", "grisaille du nord"], [None, None, None]],
                         columns=cols)
    assert items.word_coverage(table, cb, "mots") == (4, 2)
    words = pd.DataFrame({"p_adj_words": [0.5]})
    text = sections.words_sentence(words, {"residents": (4, 2), "visitors": (0, 0)})
    assert text.endswith("Ici, 50,0\u00a0% des 4 mots donnés par les habitants se rattachent à un mot de la liste.")
    # trial M: on simulated answers the full coverage is the simulator's doing, and the sentence says so
    simulated = sections.words_sentence(words, {"residents": (4, 4), "visitors": (0, 0)}, simulated=True)
    assert simulated.replace("\u00a0", " ").endswith(
        "se rattachent à un mot de la liste (le simulateur n'écrit que des mots de la liste : ce taux ne dit rien de "
        "la liste elle-même).")


def test_duplicate_code_is_refused(tmp_path):
    """A code written twice in the YAML file is an error naming both lines (PyYAML would keep the last)."""
    text = (paths.CONFIG / codebook.CODEBOOK_FILE).read_text(encoding="utf-8")
    text = text.replace('      2: {label: "Une femme", key: femmes}',
                        '      2: {label: "Une femme", key: femmes}\n      2: {label: "Autre", key: autre}')
    f = tmp_path / "codebook.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError, match=r"duplicate key 2 at line \d+ \(first at line \d+\)"):
        codebook.load(f)


def test_several_inconsistencies_are_listed_together(raw):
    """A missing label, an unknown type and a common-core item asked in one survey are all reported at once."""
    bad = copy.deepcopy(raw)
    by_name = {v["name"]: v for v in bad["variables"]}
    by_name["img_sure"]["label"] = ""
    by_name["nb_sejours"]["type"] = "number"
    by_name["img_acces"]["surveys"] = ["residents"]
    with pytest.raises(CodebookError) as exc:
        _parse(bad)
    msg = str(exc.value)
    assert "3 problem(s)" in msg
    assert "variable 'img_sure' has no label" in msg
    assert "unknown type 'number'" in msg
    assert "'img_acces' is in the common core but is not asked in every survey" in msg


def test_code_without_label_and_reserved_code(raw):
    """A code without a label, and a substantive code 99, are refused with the variable's name."""
    bad = copy.deepcopy(raw)
    by_name = {v["name"]: v for v in bad["variables"]}
    by_name["motif"]["codes"][2] = {"label": "", "key": "affaires"}
    by_name["pays"]["codes"][99] = {"label": "Autre", "key": "XX"}
    with pytest.raises(CodebookError) as exc:
        _parse(bad)
    assert "variable 'motif': code 2 has no label" in str(exc.value)
    assert "variable 'pays': code 99 is reserved for « Ne sait pas »" in str(exc.value)


def test_a_fault_in_a_shared_value_set_is_named_once_at_the_set(raw):
    """Trial H: a label used twice in ``accord_5`` was reported once per variable sharing the set (15 times)."""
    bad = copy.deepcopy(raw)
    codes = bad["value_sets"]["accord_5"]
    first, second = list(codes)[:2]
    codes[second] = codes[first]
    with pytest.raises(CodebookError) as exc:
        _parse(bad)
    msg = str(exc.value)
    assert "1 problem(s)" in msg
    assert msg.count("value_sets.accord_5: label(s)") == 1
    assert "variable '" not in msg


def test_broken_filter_and_vocabulary_are_refused(raw):
    """A filter on a code its variable lacks, and a spelling shared by two words, are refused."""
    bad = copy.deepcopy(raw)
    by_name = {v["name"]: v for v in bad["variables"]}
    by_name["region_residence"]["asked_if"] = {"variable": "pays", "codes": [42]}
    bad["vocabularies"]["mots"]["grise"].append("Accueil")
    with pytest.raises(CodebookError) as exc:
        _parse(bad)
    msg = str(exc.value)
    assert "filter codes [42] are not codes of 'pays'" in msg
    assert "'Accueil' belongs to both 'accueillante' and 'grise'" in msg


def test_unknown_variable_is_named(cb):
    """Asking for a variable that does not exist names it and lists the variables."""
    with pytest.raises(CodebookError, match="has no variable 'img_plage'"):
        cb.variable("img_plage")
