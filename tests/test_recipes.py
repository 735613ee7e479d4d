"""The weighting recipes of the two surveys: design structure, margins met, replicates re-run, scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.study import codebook, recipes, frames
from portrait.pipeline import config, sources
from tests import helpers
from portrait.survey import Margin
from portrait.pipeline.errors import CalibrationError, ParameterError

RESIDENT = dict(population_year=2017, calibration_method="raking", calibration_bounds=[0.3, 3.0],
                min_respondents_per_level=20, nonresponse_classes=5, replicate_method="bootstrap", replicates=20)
VISITOR = dict(nonresponse_classes=5, calibration_target="frame", calibration_method="raking",
               calibration_bounds=[0.3, 3.0], min_respondents_per_level=20, replicate_method="bootstrap",
               replicates=20, tourism_margins={"nights_year": 2017, "foreign_share": 0.25,
                                               "foreign_share_source": "CRT (test)"})


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def resident_responses(resident_frame):
    """The real resident sample with simulated statuses, sex and age (about 30 % respond)."""
    s = frames.draw_resident_sample(resident_frame, frames.ResidentDesign(), config.rng(1, "test-sample"))
    rng = np.random.default_rng(3)
    r = s.slots.merge(s.communes[["code", "pi"]].drop_duplicates(), on=["code", "pi"])
    status = rng.choice(["respondent", "non_respondent", "excluded"], len(r), p=[0.3, 0.68, 0.02])
    resp = status == "respondent"
    return r.assign(status=status,
                    sexe=pd.array(np.where(resp, rng.integers(1, 3, len(r)), 0), dtype="Int16"),
                    age=pd.array(np.where(resp, rng.integers(1, 6, len(r)), 0), dtype="Int16")).replace(
        {"sexe": {0: pd.NA}, "age": {0: pd.NA}})


def _totals(design, variables):
    key = design.data[list(variables)].astype(str).agg(" × ".join, axis=1)
    return pd.Series(design.weights).groupby(key.to_numpy()).sum()


def test_resident_design_puts_self_representing_communes_in_their_own_strata(resident_responses, resident_frame):
    """A certain commune is a stratum whose PSUs are persons; other communes are PSUs of their stratum."""
    d = recipes.resident_design(resident_responses, resident_frame)
    data = d.data
    certain = data["pi"] >= 1
    assert data.loc[certain, "var_stratum"].str.startswith("AR-").all()
    assert (data.loc[certain, "var_psu"] == data.loc[certain, "slot_id"]).all()
    assert (data.loc[~certain, "var_psu"] == data.loc[~certain, "code"]).all()
    assert not data["status"].eq("excluded").any()
    assert d.degf > 100


def test_resident_fpc_is_each_certain_communes_take_over_its_population(resident_responses, resident_frame):
    """By brute force, commune by commune: a certain commune's units get its sampled slots (every status) over its
    population of 15 and over; the other units 0 (no fpc for the communes drawn PPS)."""
    d = recipes.resident_design(resident_responses, resident_frame).data
    pop15 = dict(zip(resident_frame["code"].astype(str), resident_frame["pop15"]))
    take = resident_responses["code"].astype(str).value_counts().to_dict()
    for code, fpc, pi in zip(d["code"].astype(str), d["var_fpc"], d["pi"]):
        assert fpc == (take[code] / pop15[code] if pi >= 1 - 1e-12 else 0.0)
    assert (d["pi"] >= 1 - 1e-12).any() and (d["var_fpc"] > 0).any()


def test_resident_respondents_without_sex_or_age_are_counted_once_each(resident_responses, resident_frame, cb):
    """Three respondents without sex, age or both make three (a non-respondent has neither and is not counted)."""
    r = resident_responses.copy()
    who = np.flatnonzero(r["status"].eq("respondent").to_numpy())[:3]
    r.loc[who[0], "sexe"] = pd.NA
    r.loc[who[1], "age"] = pd.NA
    r.loc[who[2], ["sexe", "age"]] = pd.NA
    with pytest.raises(ParameterError, match=r"^3 resident respondent\(s\) lack sex or age"):
        recipes.weight_residents(r, resident_frame, cb, RESIDENT, config.rng(1, "t"))


def test_resident_weights_meet_insee_margins_in_every_replicate(resident_responses, resident_frame, cb):
    """Calibrated weights (and each replicate's) reproduce the INSEE 15+ sex × age and department totals."""
    w = recipes.weight_residents(resident_responses, resident_frame, cb, RESIDENT, config.rng(1, "t"))
    pop = sources.read_population(2017)
    total = pop.loc[(pop["sex"] == "ensemble") & (pop["age_group"] == "15+"), "population"].sum()
    final = w.final
    assert final.weights.sum() == pytest.approx(total, rel=1e-9)
    assert (final.weights[~final.data["respondent"].to_numpy()] == 0).all()
    dep = pop.loc[(pop["sex"] == "ensemble") & (pop["age_group"] == "15+")].set_index("departement")["population"]
    got = _totals(final, ["departement"])
    for k, v in dep.items():
        assert got[k] == pytest.approx(v, rel=1e-9)
    R = final.replicate_weights()
    assert R.shape[1] == 20
    key = final.data["departement"].to_numpy()
    for r in range(R.shape[1]):
        assert R[key == "59", r].sum() == pytest.approx(dep["59"], rel=1e-8)
    assert (w.stages["design"].weights[final.weights > 0] > 0).all()


def test_weighted_file_rebuilds_the_recipe_design(resident_responses, resident_frame, cb, tmp_path):
    """What 04 writes and 06 reads: the same estimates and SEs (linearised with calibration residuals, and
    replicates) as the in-memory design, rtol 1e-12; the variants and the recipe come back."""
    from portrait import survey

    recipe = recipes.ResidentRecipe.from_params(RESIDENT)
    w = recipes.weight_residents(resident_responses, resident_frame, cb, recipe, config.rng(1, "t"))
    variants = recipes.calibration_variants(w, recipe)
    path = tmp_path / "resident_weights.parquet"
    other = w.margins_sources.head(1).assign(hypothèse="une hypothèse")
    recipes.write_weights(w, str(path), recipe, variants=variants, variant_sources={"target_other": other})
    d, attrs = recipes.read_weights(str(path))
    assert recipes.margin_sources(attrs, "target_other").equals(other.astype(str))
    pd.testing.assert_frame_equal(d.data, w.final.data.drop(columns=list(recipes.DESIGN_COLUMNS)))
    for variance in ("linearisation", "replicates"):
        a = survey.mean(w.final, ["sexe", "age"], by="departement", variance=variance)
        b = survey.mean(d, ["sexe", "age"], by="departement", variance=variance)
        for c in ("estimate", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(b[c], a[c], rtol=1e-12)
    logit = recipes.read_weights(str(path), "calibration_logit")[0]
    np.testing.assert_allclose(survey.mean(logit, "age")["se"], survey.mean(variants["calibration_logit"], "age")["se"],
                               rtol=1e-12)
    np.testing.assert_array_equal(recipes.read_weights(str(path), "design")[0].weights, w.stages["design"].weights)
    assert recipes.ResidentRecipe.from_params(attrs["recipe"]) == recipe
    assert recipes.read_recipe(str(path)) == attrs["recipe"]
    assert recipes.margin_sources(attrs).equals(w.margins_sources.astype(str))


def test_recipe_parameters_are_checked_once_with_named_errors():
    """Typed at the boundary: each wrong parameter is named before any weighting starts."""
    from portrait.pipeline.errors import ParameterError

    for bad, match in (({"calibration_method": "ridge"}, "calibration_method"),
                       ({"calibration_bounds": [2, 3]}, "calibration_bounds"),
                       ({"replicates": 1}, "replicates"),
                       ({"replicate_method": "jk1"}, "replicate_method"),
                       ({"sensitivity_methods": ["linear", "cubic"]}, "sensitivity_methods"),
                       ({"nonresponse_classes": "5"}, "nonresponse_classes"),
                       ({"trimming": [2, 0.5]}, "trimming"), ({"trimming": [None, None]}, "trimming"),
                       ({"trimming": 3}, "trimming")):
        with pytest.raises(ParameterError, match=match):
            recipes.ResidentRecipe.from_params({**RESIDENT, **bad})
    with pytest.raises(ParameterError, match="tourism_margins"):
        recipes.VisitorRecipe.from_params({**VISITOR, "calibration_target": "tourism", "tourism_margins": None})
    # a misspelt key inside tourism_margins was ignored (trial D)
    with pytest.raises(ParameterError, match=r"unknown keys \['foreign_share_sourse'\] — did you mean 'foreign_share_source'"):
        recipes.VisitorRecipe.from_params({**VISITOR, "tourism_margins": {**VISITOR["tourism_margins"],
                                                                          "foreign_share_sourse": "x"}})
    # an analyst wrote 3e0, which YAML 1.1 reads as text: the message says why it is refused
    with pytest.raises(ParameterError, match="read as text: in YAML write 3.0, not 3e0"):
        recipes.ResidentRecipe.from_params({**RESIDENT, "calibration_bounds": [0.3, "3e0"]})
    with pytest.raises(ParameterError) as every:             # all at once, each named
        recipes.ResidentRecipe.from_params({**RESIDENT, "calibration_method": "ridge", "replicates": 1,
                                            "replicate_method": "jk1", "nonresponse_classes": "5"})
    assert str(every.value).startswith("4 problems in the parameters:")
    assert all(f"parameter '{p}'" in str(every.value)
               for p in ("calibration_method", "replicates", "replicate_method", "nonresponse_classes"))
    r = recipes.VisitorRecipe.from_params(VISITOR)
    assert r.bounds is None and r.other_target == "tourism" and r.sensitivity_methods == ("linear", "raking", "logit")


def test_size_class_margin_is_frame_share_times_insee_total(resident_frame, cb):
    """The size-class margin applies the frame's 15+ shares to the INSEE total (the stated assumption)."""
    margins, src = recipes.resident_margins(resident_frame, cb, 2017)
    size = [m for m in margins if m.variables == ("size_class",)][0]
    sex_age = [m for m in margins if len(m.variables) == 2][0]
    assert size.grand_total == pytest.approx(sex_age.grand_total)
    share = resident_frame.groupby("size_class", observed=True)["pop15"].sum() / resident_frame["pop15"].sum()
    smallest = share.index[0]
    assert size.totals[(str(smallest),)] == pytest.approx(share[smallest] * sex_age.grand_total)
    assert "hypothèse" in src.columns and src["hypothèse"].str.contains("qui ne les publie pas").any()


@pytest.fixture(scope="module")
def visitor_inputs():
    frame = helpers.example_visitor_frame(6000, seed=4)
    sample = helpers.example_visitor_sample(frame, 3000, seed=5)
    rng = np.random.default_rng(8)
    status = rng.choice(["respondent", "non_respondent", "excluded"], len(sample), p=[0.25, 0.73, 0.02])
    return frame, sample.assign(status=status)


def _out_of_scope_by_level(frame, responses, variable):
    """The frame's out-of-scope persons of each level as the sample estimates them: N_h / n_h each."""
    N_h, n_h = frame.groupby("stratum").size(), responses.groupby("stratum").size()
    out = responses.loc[responses["status"] == "excluded"]
    return (out["stratum"].map(N_h / n_h)).groupby(out[variable].astype(str)).sum()


def test_visitor_frame_calibration_meets_frame_totals_less_the_out_of_scope(visitor_inputs):
    """Visitor weights reproduce the frame's totals of partner type (and the others) less the out-of-scope persons
    of each level, estimated by hand from the strata's sizes (a Horvitz–Thompson total): the frame also holds them."""
    frame, responses = visitor_inputs
    w = recipes.weight_visitors(responses, frame, VISITOR, config.rng(1, "t"))
    out = _out_of_scope_by_level(frame, responses, "source_type")
    assert 0 < out.sum() < 0.05 * len(frame)
    assert w.final.weights.sum() == pytest.approx(len(frame) - out.sum(), rel=1e-9)
    got = _totals(w.final, ["source_type"])
    for k, v in frame.groupby("source_type").size().items():
        assert got[k] == pytest.approx(v - out.get(k, 0.0), rel=1e-9)
    assert w.margins_sources["hypothèse"].str.contains("moins ses personnes hors champ").all()


def test_visitor_totals_are_unbiased_when_the_out_of_scope_persons_gather_in_one_level():
    """Monte Carlo: a frame whose out-of-scope persons are all hotel clients (a third of them). Over 60 samples, the
    calibrated hotel total averages the hotel clients in scope (within 4 Monte Carlo standard errors), where
    calibrating to the frame's totals gives all of them. The sample draws, not the code, decide who is out of scope."""
    frame = helpers.example_visitor_frame(3000, seed=11)
    hotel = frame["source_type"].eq("hebergement").to_numpy()
    out_of_scope = hotel & (np.random.default_rng(3).random(len(frame)) < 1 / 3)
    frame = frame.assign(out=out_of_scope)
    truth = int((hotel & ~out_of_scope).sum())
    got = []
    for seed in range(60):
        s = helpers.example_visitor_sample(frame, 1200, seed=100 + seed)
        rng = np.random.default_rng(seed)
        status = np.where(s["out"], "excluded", np.where(rng.random(len(s)) < 0.4, "respondent", "non_respondent"))
        w = recipes.weight_visitors(s.assign(status=status), frame.drop(columns="out"),
                                    {**VISITOR, "replicates": 2}, config.rng(seed, "t"))
        got.append(_totals(w.final, ["source_type"])["hebergement"])
    got = np.asarray(got)
    assert abs(got.mean() - truth) < 4 * got.std(ddof=1) / np.sqrt(len(got))
    assert abs(hotel.sum() - truth) > 10 * got.std(ddof=1) / np.sqrt(len(got))   # the old target was far off


def test_trimming_caps_the_calibrated_weights_and_keeps_the_margins_in_every_replicate(visitor_inputs):
    """With ``trimming: [0.75, 1.3]``, every final weight lies within 0.75 and 1.3 times the median of the untrimmed
    calibrated weights, the partner-type totals still equal the targets computed by hand, and so do those of every
    replicate, which re-runs the trimming; the step and the report's sentence say what it did."""
    from portrait.reporting import parameter_labels, weighting_text

    frame, responses = visitor_inputs
    plain = recipes.weight_visitors(responses, frame, VISITOR, config.rng(1, "t"))
    w = recipes.weight_visitors(responses, frame, {**VISITOR, "trimming": [0.75, 1.3]}, config.rng(1, "t"))
    med = np.median(plain.final.weights[plain.final.weights > 0])
    kept = w.final.weights[w.final.weights > 0]
    assert kept.min() >= 0.75 * med * (1 - 1e-9) and kept.max() <= 1.3 * med * (1 + 1e-9)
    assert plain.final.weights.max() > 1.3 * med                 # the bound bites
    target = frame.groupby("source_type").size() - _out_of_scope_by_level(frame, responses, "source_type")
    got = _totals(w.final, ["source_type"])
    assert np.allclose(got[target.index], target, rtol=1e-7)
    key = w.final.data["source_type"].astype(str).to_numpy()
    R = w.final.replicate_weights()
    for k, total in target.items():
        assert np.allclose(R[key == k].sum(axis=0), total, rtol=1e-6)
    assert [s.kind for s in w.final.steps][-2:] == ["calibration", "trimming"]
    assert w.stages["nonresponse"].steps == plain.stages["nonresponse"].steps or len(w.stages["nonresponse"].steps)
    assert "puis écrêtage (min. 0,75 fois la médiane ; max. 1,3 fois la médiane) et recalage" in \
        " ".join(recipes.steps_table(w)["étape"]).replace("\u00a0", " ")
    n = w.final.steps[-1].info["trimmed"]
    sentence = weighting_text.trimming_sentence(w.final).replace("\u202f", "")
    assert n > 0 and f"{n} poids ramenés à une borne" in sentence
    # the report's figures and tables say « après calage » of the final weights: the sentence says they are trimmed
    assert sentence.replace("\xa0", " ").endswith("« après calage » désigne ces poids calés, écrêtés puis recalés.")
    assert weighting_text.trimming_sentence(plain.final) == ""
    # the sensitivity variant of the recipe's own method is the study's weights (06/07 read both)
    recipe = recipes.VisitorRecipe.from_params({**VISITOR, "trimming": [0.75, 1.3]})
    assert np.allclose(recipes.calibration_variants(w, recipe)["calibration_raking"].weights, w.final.weights,
                       rtol=1e-12, atol=0)
    loose = recipes.weight_visitors(responses, frame, {**VISITOR, "trimming": [0.01, 100]}, config.rng(1, "t"))
    assert "Aucun poids calé n'atteint les bornes" in weighting_text.trimming_sentence(loose.final)
    assert np.allclose(loose.final.weights, plain.final.weights, rtol=1e-12)
    assert parameter_labels.value_text("trimming", [0.5, None]) == "au moins 0,5 fois la médiane"


def test_visitor_tourism_scenario_uses_the_nights_share(visitor_inputs):
    """The tourism scenario splits non-'both' visitors by the INSEE nights share and sets 25 % foreign, over the
    frame's persons in scope."""
    frame, responses = visitor_inputs
    w = recipes.weight_visitors(responses, frame, VISITOR, config.rng(1, "t"), target="tourism")
    share = sources.npdc_share_of_nights(2017)
    # INSEE, nights in all accommodation, April–September 2017, thousands (insee.fr/fr/statistiques/3202894, as
    # data/raw/insee_nuitees_saison_dep_type_hdf_2017_2019.csv holds it): Nord 2,534 and Pas-de-Calais 2,520 of the
    # five departments' 1,162 + 2,534 + 780 + 2,520 + 1,843 (Aisne, Nord, Oise, Pas-de-Calais, Somme)
    assert share == pytest.approx((2534 + 2520) / (1162 + 2534 + 780 + 2520 + 1843), rel=1e-12)
    zone = _totals(w.final, ["zone"])
    assert zone["npdc"] / (zone["npdc"] + zone["picardie"]) == pytest.approx(share, rel=1e-9)
    out = _out_of_scope_by_level(frame, responses, "zone")
    assert zone.sum() == pytest.approx(len(frame) - out.sum(), rel=1e-9)
    assert zone["both"] == pytest.approx((frame["zone"] == "both").sum() - out.get("both", 0.0), rel=1e-9)
    origin = _totals(w.final, ["country_group_t"])
    assert origin["étranger"] / origin.sum() == pytest.approx(0.25, rel=1e-9)
    assert w.margins_sources["hypothèse"].str.contains("part des nuitées sert de part des visiteurs").any()


def test_a_partial_fieldwork_with_an_empty_sex_by_age_cell_is_weighted_with_the_cell_merged(
        resident_responses, resident_frame, cb):
    """A board's trial: a mid-fieldwork export where no man aged 15–29 has answered yet stopped stage 04 on
    « level '1 × 1' … no unit in the sample ». The cell now joins its neighbour in age within sex (men 30–44), its
    population total with it, and the note says so in words. Oracle: the calibrated weights' totals equal the
    INSEE margins with the two cells summed."""
    r = resident_responses.copy()
    empty = (r["status"] == "respondent") & (r["sexe"] == 1) & (r["age"] == 1)
    r.loc[empty, "status"] = "non_respondent"
    r.loc[empty, ["sexe", "age"]] = pd.NA
    w = recipes.weight_residents(r, resident_frame, cb, RESIDENT, config.rng(1, "t"))
    assert w.notes == ("sexe × âge : Hommes × 15 à 29 ans (aucun répondant) rejoint Hommes × 30 à 44 ans",)
    insee = recipes.resident_margins(resident_frame, cb, 2017)[0][0].totals
    held = w.final.weights > 0
    cell = w.final.data.loc[held, ["cal_sexe", "cal_age"]].astype(str).agg(" × ".join, axis=1)
    got = pd.Series(w.final.weights[held]).groupby(cell.to_numpy()).sum()
    assert got["1 × 2"] == pytest.approx(insee[("1", "1")] + insee[("1", "2")], rel=1e-8)
    assert got["2 × 1"] == pytest.approx(insee[("2", "1")], rel=1e-8) and "1 × 1" not in got.index
    shown = survey.margin_table(w.final, w.margins, labels=w.labels, names=w.names)
    assert "Hommes × 15 à 29 ans + 30 à 44 ans" in shown["modalité"].tolist()


def test_a_sparse_cell_joins_its_neighbour_in_age_holding_fewer_respondents():
    """The collapse rule on a hand-made table (oracle: the rule applied by hand). Men: ages 1–5 hold 30, 5, 12, 40,
    3 respondents. Age 5 (3) can only join age 4; age 2 (5) joins age 3 (12 < 30); the group 2+3 (17) then joins
    age 1 (30 < 43). Women hold 25 everywhere: untouched."""
    held = {"1": [30, 5, 12, 40, 3], "2": [25] * 5}
    rows = [(sx, str(a + 1)) for sx, ns in held.items() for a, n in enumerate(ns) for _ in range(n)]
    data = pd.DataFrame(rows, columns=["s", "a"]).astype("string").assign(w=1.0)
    d = survey.Design.from_frame(data, weights="w")
    m = Margin.of(("s", "a"), {(sx, str(a)): 100.0 * a for sx in "12" for a in range(1, 6)})
    before = d.data.copy()
    d2, (m2,), notes, merged = recipes.merge_sparse_levels(d, [m], 20)
    pd.testing.assert_frame_equal(d.data, before)        # the design given is left as it was (a shallow copy merged)
    assert m2.totals == {("1", "1"): 600.0, ("1", "4"): 900.0, **{("2", str(a)): 100.0 * a for a in range(1, 6)}}
    assert d2.data[["s", "a"]].value_counts().to_dict() == {("1", "1"): 47, ("1", "4"): 43, **{("2", str(a)): 25 for a in range(1, 6)}}
    assert notes == ["s × a : 1 × 5 (3 répondants) rejoint 1 × 4",
                     "s × a : 1 × 2 (5 répondants) rejoint 1 × 3",
                     "s × a : 1 × 2 + 3 (17 répondants) rejoint 1 × 1"]
    assert merged == {"s × a": {("1", "1"): "1 × 1 + 2 + 3", ("1", "4"): "1 × 4 + 5"}}
    # the margins table shows what each merged level holds (the engine reads these labels first)
    shown = survey.margin_table(d2, [m2], labels=merged)["modalité"].tolist()
    assert shown[:2] == ["1 × 1 + 2 + 3", "1 × 4 + 5"] and shown[2:] == [f"2 × {a}" for a in range(1, 6)]


def test_sparse_margin_levels_are_merged(visitor_inputs):
    """A margin level held by too few respondents is merged into the largest level, totals summed."""
    frame, responses = visitor_inputs
    d = recipes.visitor_design(responses)
    d = d.with_weights(np.where(d.data["respondent"], d.weights, 0.0))
    m = Margin.of("source_type", frame.groupby("source_type").size().astype(float).to_dict())
    counts = d.data.loc[d.data["respondent"], "source_type"].value_counts()
    threshold = int(counts.min()) + 1
    d2, (m2,), notes, merged = recipes.merge_sparse_levels(d, [m], threshold)
    assert len(m2.totals) == len(m.totals) - 1
    assert m2.grand_total == pytest.approx(m.grand_total)
    assert notes and counts.idxmin() in notes[0]
    (big,), = merged["source_type"]
    assert merged["source_type"][(big,)] == f"{big} + {counts.idxmin()}"
    # the rule is « fewer than »: a level holding exactly the threshold stays (trial K: « <= » survived)
    d3, (m3,), notes3, _ = recipes.merge_sparse_levels(d, [m], int(counts.min()))
    assert m3.totals == m.totals and not notes3


def test_adjusted_models_take_the_replicates_each_file_has():
    """A trial set 04's replicates to 100 (06 then asked for 200 and stopped) and another chose JKn (which cannot be
    thinned): the models now take min(asked, held) bootstrap replicates, or every jackknife replicate, and say so."""
    from portrait.reporting import comparison_text

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"y": rng.normal(size=60), "s": np.repeat(["a", "b", "c"], 20), "psu": np.arange(60), "w": 2.0})
    base = survey.Design.from_frame(df, weights="w", strata="s", psu="psu")
    boot = {n: survey.with_replicates(base, "bootstrap", replicates=n, rng=np.random.default_rng(n)) for n in (50, 300)}
    jk = survey.with_replicates(base, "jkn")
    designs, used = recipes.model_designs({"residents": boot[50], "visitors": boot[300]}, 200)
    assert [d.replicate_weights().shape[1] for d in designs.values()] == [50, 200]
    assert used == {"residents": ("bootstrap", 50, 50), "visitors": ("bootstrap", 200, 300)}
    designs, used = recipes.model_designs({"residents": jk, "visitors": boot[300]}, 200)
    assert designs["residents"] is jk and used["residents"] == ("jkn", 60, 60)
    assert comparison_text.model_replicates_text(used) == (
        "habitants : 60 répliques jackknife JKn (stratifié) ; clients du territoire : les 200 premières des 300 "
        "répliques bootstrap de Rao–Wu")
    # a reviewer saw 200 replicates here and 500 in reports 04 and 05: the caption says they are the first ones
    assert comparison_text.model_replicates_text({g: ("bootstrap", 200, 500) for g in ("residents", "visitors")}) \
        == "les 200 premières des 500 répliques bootstrap de Rao–Wu par enquête"
    assert comparison_text.model_replicates_text({g: ("bootstrap", 50, 50) for g in ("residents", "visitors")}) \
        == "50 répliques bootstrap de Rao–Wu par enquête"


def test_an_infeasible_calibration_names_margins_and_levels_as_the_reports_do(resident_responses, resident_frame,
                                                                                cb):
    """An analyst's trial: bounds [0.9, 1.1] gave « margin 'cal_sexe × cal_age' level '1 × 1' », the calibration's
    columns and codes. The message now names them as the reports do, with the numbers unchanged."""
    tight = {**RESIDENT, "calibration_method": "logit", "calibration_bounds": [0.9, 1.1]}
    with pytest.raises(CalibrationError) as err:
        recipes.weight_residents(resident_responses, resident_frame, cb, tight, config.rng(1, "t"))
    text = str(err.value)
    assert "margin 'sexe × âge' level 'Hommes × " in text and "cal_sexe" not in text and "'1 × 1'" not in text


def test_respondents_per_level_are_counted_by_hand_missing_values_left_out():
    """The counts that decide which one-way margin levels merge, against a count by hand: texts with missing values,
    numbers (counted under their text) and a categorical column."""
    from portrait.study import level_merging

    rng = np.random.default_rng(8)
    n = 60
    resp = rng.random(n) < 0.6
    for values in (pd.Series(rng.choice(["59", "62", None], n), dtype="str"), pd.Series(rng.integers(1, 4, n)),
                   pd.Series(pd.Categorical(rng.choice(["a", "b"], n)))):
        want: dict[str, int] = {}
        for x, r in zip(values, resp):
            if r and not pd.isna(x):
                want[str(x)] = want.get(str(x), 0) + 1
        got = level_merging._respondent_counts(values, resp)
        assert {k: int(v) for k, v in dict(got).items()} == want


def test_a_recipe_without_a_replicate_method_gives_the_same_weights_without_replicates(
        resident_responses, resident_frame, cb, visitor_inputs):
    """replicate_method None (the validation's replications without bootstrap): every stage's weights are those of the
    recipe with replicates, bit for bit, no replicate factor is drawn and the generator is left untouched."""
    from dataclasses import replace
    frame, responses = visitor_inputs
    for weigh, recipe in ((lambda r, g: recipes.weight_residents(resident_responses, resident_frame, cb, r, g),
                           recipes.ResidentRecipe.from_params(RESIDENT)),
                          (lambda r, g: recipes.weight_visitors(responses, frame, r, g),
                           recipes.VisitorRecipe.from_params(VISITOR))):
        full = weigh(recipe, config.rng(1, "t"))
        rng = config.rng(1, "t")
        state = rng.bit_generator.state
        bare = weigh(replace(recipe, replicate_method=None), rng)
        assert rng.bit_generator.state == state
        assert full.final.has_replicates and not bare.final.has_replicates
        for stage in full.stages:
            assert np.array_equal(bare.stages[stage].weights, full.stages[stage].weights), stage
