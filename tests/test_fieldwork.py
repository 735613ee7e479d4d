"""Simulated fieldwork: the model's exact truth, planted differences, non-response bias, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait.study import codebook, exports, fieldwork, frames
from portrait.pipeline import config, io, sources
from tests import helpers
from portrait.pipeline.errors import InputError, ParameterError

SEED = 20170301


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def model(cb):
    return fieldwork.FieldworkModel.load(cb)


@pytest.fixture(scope="module")
def population():
    return sources.read_population(2017)


@pytest.fixture(scope="module")
def visitor_frame():
    return helpers.example_visitor_frame(3000, seed=2)


@pytest.fixture(scope="module")
def small(resident_frame, visitor_frame, population, model):
    """A small fieldwork: 600 resident invitations and 800 visitors."""
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    visitors = helpers.example_visitor_sample(visitor_frame, 800, seed=2)
    sim = fieldwork.simulate(model, resident_slots=slots, resident_frame=resident_frame, population=population,
                             visitor_sample=visitors, visitor_frame=visitor_frame, seed=SEED)
    return slots, visitors, sim


def _census_slots(frame: pd.DataFrame, per: int) -> pd.DataFrame:
    """One invitation per ``per`` residents aged 15+ in every commune, with its design weight."""
    take = np.maximum(1, np.round(frame["pop15"] / per)).astype(int)
    slots = frame.loc[frame.index.repeat(take), ["code", "departement"]].reset_index(drop=True)
    slots["slot_id"] = slots["code"] + "-" + (slots.groupby("code").cumcount() + 1).astype(str).str.zfill(4)
    slots["design_weight"] = np.repeat((frame["pop15"] / take).to_numpy(), take)
    return slots


@pytest.fixture(scope="module")
def large(resident_frame, population, model):
    """About 16,000 residents (one per 300 aged 15+ in every commune) and a 10,000-person visitor census."""
    slots = _census_slots(resident_frame, 300)
    vframe = helpers.example_visitor_frame(10000, seed=7)
    vsample = vframe.assign(design_weight=1.0)
    kw = dict(resident_slots=slots, resident_frame=resident_frame, population=population,
              visitor_sample=vsample, visitor_frame=vframe, seed=11)
    return slots, vsample, fieldwork.simulate(model.complete_response(), **kw), fieldwork.simulate(model, **kw)


def _weighted(sim, samples, cb, survey, weight="design_weight"):
    id_col = cb.id_column(survey)
    table = sim.exports[survey].merge(samples[survey][[id_col, weight]].astype({id_col: "string"}), on=id_col)
    return fieldwork.point_estimates(table, cb, survey, weight=weight)


# ----------------------------------------------------------------------------- the truth


def test_null_items_have_the_same_population_distribution_in_both_groups(small, model):
    """Items with group_shift 0 have exactly equal resident and visitor truths (every share and the mean)."""
    t = small[2].truth
    planted = model.planted()
    nulls = planted.loc[(planted["level"] == "") & (planted["group_shift"] == 0), "item"].tolist()
    assert len(nulls) >= 5
    diff = t.loc[(t["survey"] == "visitors - residents") & t["item"].isin(nulls)
                 & t["statistic"].isin(["share", "mean", "accord", "nps", "nps_score"])]
    assert len(diff) > 50
    assert diff["value"].abs().max() < 1e-9


def test_planted_differences_go_the_declared_way(small, model):
    """Each planted ordinal difference moves the visitors' mean in the direction of its group_shift."""
    t = small[2].truth
    means = t.loc[(t["survey"] == "visitors - residents") & (t["statistic"] == "mean")].set_index("item")["value"]
    planted = model.planted()
    shifted = planted.loc[(planted["level"] == "") & (planted["group_shift"] != 0)]
    assert len(shifted) >= 5
    for r in shifted.itertuples():
        assert np.sign(means[r.item]) == np.sign(r.group_shift)
        assert abs(means[r.item]) > 0.1


def test_truth_shares_are_distributions(small, cb, model):
    """Code shares sum to 1 per item; option shares sum to the expected number of choices."""
    t = small[2].truth
    t = t.loc[t["survey"] != "visitors - residents"]
    single = t.loc[(t["statistic"] == "share") & t["item"].isin(
        [v.name for v in cb.variables if v.type in ("single", "likert_1_5", "score_0_10")])]
    sums = single.groupby(["survey", "item"])["value"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9)
    for survey in ("residents", "visitors"):
        n = np.asarray(model.params["multi_items"]["forces"]["n_choices"][survey])
        got = t.loc[(t["survey"] == survey) & (t["item"] == "forces") & (t["statistic"] == "share"), "value"].sum()
        assert got == pytest.approx(float(n @ [1, 2, 3]), abs=1e-9)


def test_pick_probabilities_match_full_enumeration():
    """Plackett–Luce pick probabilities equal the brute-force sum over ordered picks."""
    rng = np.random.default_rng(0)
    p = rng.random(6)
    p /= p.sum()
    brute = np.zeros((3, 6))
    for i in range(6):
        for j in range(6):
            for k in range(6):
                if len({i, j, k}) < 3:
                    continue
                prob = p[i] * p[j] / (1 - p[i]) * p[k] / (1 - p[i] - p[j])
                brute[0, i] += prob
                brute[1, j] += prob
                brute[2, k] += prob
    np.testing.assert_allclose(fieldwork.pick_probabilities(p), brute / [[1], [1], [1]], rtol=1e-12)


def test_large_complete_sample_recovers_the_truth(large, cb):
    """With full response, design-weighted estimates from ~16,000 residents and 10,000 visitors are within
    about four standard errors of the saved truth: shares ± 0.02, means ± 0.05 (1-5) and ± 0.10 (0-10); and every
    statistic of the truth (the simulator's own list) is estimated, so none is dropped by the derived variables."""
    slots, vsample, complete, _ = large
    samples = {"residents": slots, "visitors": vsample}
    for survey in ("residents", "visitors"):
        c = fieldwork.compare_with_truth(_weighted(complete, samples, cb, survey), complete.truth)
        assert len(c) > 150
        t = complete.truth.loc[complete.truth["survey"] == survey]
        keys = ["item", "statistic", "level"]                # every statistic the simulator knows is estimated
        assert set(map(tuple, c[keys].astype(str).to_numpy())) == set(map(tuple, t[keys].astype(str).to_numpy()))
        score = c["item"].isin(["image_globale", "recommandation"]) & (c["statistic"] == "mean")
        other_mean = (c["statistic"] == "mean") & ~score
        shares = c["statistic"] != "mean"
        assert c.loc[score, "bias"].abs().max() < 0.10
        assert c.loc[other_mean, "bias"].abs().max() < 0.05
        assert c.loc[shares & (c["statistic"] != "nps_score"), "bias"].abs().max() < 0.02
        assert c.loc[c["statistic"] == "nps_score", "bias"].abs().max() < 0.03


def test_unweighted_respondents_are_biased(large, cb, model):
    """Under the response model the respondents' expected make-up is biased: residents over-represent older
    people (response depends on age), visitors the partner types and repeat customers that answer more (response
    depends on frame variables only); a large sample shows the residents' age imbalance."""
    slots, vsample, _, sim = large
    expected = fieldwork.truth(model, fieldwork.expected_respondents(model, sim.population, sim.calibration),
                               sim.calibration)
    bias = fieldwork.compare_with_truth(expected, sim.truth).set_index(["survey", "item", "statistic", "level"])["bias"]
    assert bias[("residents", "image_globale", "mean", "")] > 0.05      # older people rate the region higher
    assert bias[("residents", "recommandation", "mean", "")] > 0.05
    assert bias[("residents", "age", "share", "1")] < -0.04               # 15-29 year-olds answer less
    assert bias[("residents", "img_innovante", "mean", "")] < 0           # …and the young find it more innovative
    assert bias[("visitors", "recommandation", "mean", "")] > 0.05       # repeat customers answer more, recommend more
    assert bias[("visitors", "image_globale", "mean", "")] > 0.02
    assert abs(bias[("visitors", "age", "share", "1")]) < 0.01            # no direct age effect for visitors
    samples = {"residents": slots, "visitors": vsample}
    c = fieldwork.compare_with_truth(_weighted(sim, samples, cb, "residents"), sim.truth).set_index(
        ["item", "statistic", "level"])
    assert c.loc[("age", "share", "1"), "bias"] < -0.03           # about 6 standard errors
    assert c.loc[("age", "share", "4"), "bias"] > 0.03


def test_visitor_response_reads_the_frame_not_the_drawn_attributes(large, model):
    """Visitors answer according to what the partner files record: a purpose or a country drawn because
    the partner did not record it plays no part in the response (then weighting on the frame can remove
    the non-response bias). Exact on the population cells: among the expected respondents whose purpose
    was not recorded, each partner type keeps the model's shares of drawn purposes (config), and the
    persons whose country was not recorded keep its share of French residents; Monte Carlo on the
    10,000 simulated persons, within a partner type: with a drawn business purpose, their mean propensity
    is that of a drawn leisure purpose within 4 % (about 3 Monte Carlo standard errors), while a recorded
    business purpose lowers it by more than 10 % (the effect, -0.20 on the logit, is about 15 %)."""
    _, _, _, sim = large
    spec = model.params["visitors"]["attributes"]
    cells = fieldwork.expected_respondents(model, sim.population, sim.calibration).visitors
    unrec = cells.loc[~cells["purpose_recorded"].astype(bool)]
    for source, g in unrec.groupby("source_type", observed=True):
        shares = g.groupby("purpose", observed=True)["n"].sum() / g["n"].sum()
        want = spec["purpose"]["unknown"].get(source, spec["purpose"]["unknown"]["default"])
        for purpose, share in want.items():
            assert shares.get(purpose, 0.0) == pytest.approx(share, abs=1e-9), (source, purpose)
    nocountry = cells.loc[~cells["country_recorded"].astype(bool)]
    fr = nocountry.loc[nocountry["country"] == "FR", "n"].sum() / nocountry["n"].sum()
    assert fr == pytest.approx(spec["country"]["unknown"]["default"]["FR"], abs=1e-9)
    persons = sim.persons["visitors"]
    drawn = persons.loc[~persons["purpose_recorded"].astype(bool)]
    assert len(drawn) > 3000
    recorded = persons.loc[persons["purpose_recorded"].astype(bool)]
    p, q = (d.groupby(["source_type", "purpose"], observed=True)["propensity"].mean() for d in (drawn, recorded))
    for source in ("hebergement", "office_tourisme", "site_culturel_loisir"):    # 280+ persons per purpose
        assert p[(source, "affaires")] / p[(source, "loisirs")] == pytest.approx(1.0, abs=0.04), source
        assert q[(source, "affaires")] / q[(source, "loisirs")] < 0.9, source


def test_visitor_propensity_is_the_effects_of_the_recorded_attributes(small, model):
    """The visitors' response logit is, to the last bit, the effect sum over :func:`as_recorded` (the drawn
    attributes made « unknown » again, ``foreign`` 0), the documented rule, added row by row here: on the simulated
    persons (categorical covariates) and on the same persons with plain text columns."""
    from portrait.study.fieldwork.true_values import _propensity_linear
    spec = model.params["propensity"]["visitors"]["effects"]
    persons = small[2].persons["visitors"]
    assert not persons["purpose_recorded"].all() and not persons["country_recorded"].all()
    for data in (persons, persons.astype({c: object for c in ("purpose", "country", "zone", "source_type")})):
        rec = fieldwork.as_recorded(data)
        want = np.zeros(len(data))
        for cov, eff in spec.items():
            if cov in rec.columns:
                want += ([float(eff.get(x, 0.0)) for x in rec[cov]] if isinstance(eff, dict)
                         else float(eff) * rec[cov].to_numpy(float))
        got = _propensity_linear(model, "visitors", data)
        assert np.array_equal(got, want)


# ----------------------------------------------------------------------------- the simulated answers


def test_fieldwork_outcomes_match_exports_and_dispositions(small, cb):
    """Every sampled unit is either in the export, in the contact-status file, or silent; never two."""
    slots, visitors, sim = small
    for survey, sample in (("residents", slots), ("visitors", visitors)):
        id_col = cb.id_column(survey)
        exported = set(sim.exports[survey][id_col])
        disp = set(sim.dispositions[survey][id_col])
        assert not exported & disp
        assert exported | disp <= set(sample[id_col].astype(str))
        p = sim.persons[survey]
        assert set(p.loc[p["outcome"].isin(["complet", "interrompu"]), "id"]) == exported
        assert (sim.exports[survey]["complet"] == 0).sum() == (p["outcome"] == "interrompu").sum()


def test_contact_statuses_are_the_outcomes_codes(small, cb):
    """Each contact status is the codebook's code of the unit's outcome, looked up person by person, in the order of
    the identifiers (the simulator looks each outcome's code up once)."""
    slots, visitors, sim = small
    code = {spec["reason"]: c for c, spec in cb.dispositions.items()}
    for survey in ("residents", "visitors"):
        disp, p = sim.dispositions[survey], sim.persons[survey].set_index("id")
        want = [code[o] for o in p.loc[disp[cb.id_column(survey)], "outcome"]]
        assert disp["statut_contact"].tolist() == want and len(set(want)) > 1
        assert disp[cb.id_column(survey)].is_monotonic_increasing
        assert len(disp) == p["outcome"].isin(["hors_champ", "non_distribuee", "refus"]).sum()


def test_answers_respect_the_codebook(small, cb):
    """Simulated answers use codebook codes, ≤ 3 options, 3 distinct words, and the region filter."""
    sim = small[2]
    for survey in ("residents", "visitors"):
        e = sim.exports[survey]
        assert list(e.columns) == cb.columns(survey)
        for v in cb.variables_for(survey):
            if v.type in ("single", "likert_1_5", "score_0_10") and not v.text_codes:
                assert set(e[v.name].dropna().astype(int)) <= set(cb.codes(v.name))
        for name in ("forces", "faiblesses"):
            chosen = e[cb.variable(name).columns].sum(axis=1)
            assert chosen.max() <= 3
        words = e[["mots_1", "mots_2", "mots_3"]]
        canon = words.map(lambda w: cb.canonical_word("mots", w) if isinstance(w, str) else None)
        full = canon.dropna()
        assert (full.nunique(axis=1) == 3).all()
        assert (canon.notna() | words.isna()).all().all()         # every word written maps to its canonical word
        assert words["mots_3"].isna()[words["mots_2"].isna()].all()      # no third word without a second
        assert (words["mots_1"].notna() & words["mots_2"].isna()).any() and (words["mots_3"].notna()).any()
        assert (words.stack() != canon.stack()).any()                    # capitalised and variant forms are written
        assert e["img_sure"].isna().any() and (e["img_dynamique"] == 99).any()
    v = sim.exports["visitors"]
    assert v.loc[v["pays"] != 1, "region_residence"].isna().all()
    assert v.loc[v["pays"] == 1, "region_residence"].notna().mean() > 0.8


def test_same_seed_gives_byte_identical_files(resident_frame, visitor_frame, population, model, cb, tmp_path):
    """Two runs with the same parameters write byte-identical exports (CSV, XLSX, SPSS) and truth."""
    design = frames.ResidentDesign(invitations=250, take=5)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    visitors = helpers.example_visitor_sample(visitor_frame, 300, seed=3)
    digests = []
    for run in ("a", "b"):
        sim = fieldwork.simulate(model, resident_slots=slots, resident_frame=resident_frame,
                                 population=population, visitor_sample=visitors, visitor_frame=visitor_frame,
                                 seed=SEED)
        files = exports.write_survey_folder(sim.exports, sim.dispositions, tmp_path / run, cb)
        files.append(io.write_csv(fieldwork.truth_table(sim), tmp_path / run / "truth.csv"))
        digests.append({f.name: io.sha256(f) for f in files})
    assert len(digests[0]) == 9
    assert digests[0] == digests[1]


def test_another_seed_gives_other_answers(resident_frame, visitor_frame, population, model, small):
    """A different seed changes the answers but not the truth."""
    slots, visitors, sim = small
    other = fieldwork.simulate(model, resident_slots=slots, resident_frame=resident_frame, population=population,
                               visitor_sample=visitors, visitor_frame=visitor_frame, seed=SEED + 1)
    assert not sim.exports["residents"]["slot_id"].equals(other.exports["residents"]["slot_id"])
    pd.testing.assert_frame_equal(sim.truth, other.truth)


# ----------------------------------------------------------------------------- parameters and inputs


def test_model_problems_are_listed_together(model, cb):
    """A bad model file lists every problem: unknown covariate, shares not summing to 1, unmodelled item."""
    params = {k: v for k, v in model.params.items()}
    params["propensity"] = {**params["propensity"], "residents": {
        "target_rate": 0.3, "effects": {"agee": {"75+": 1.0}}}}
    params["multi_items"] = {**params["multi_items"],
                             "forces": {**params["multi_items"]["forces"],
                                        "n_choices": {"residents": [0.5, 0.5, 0.5], "visitors": [0.2, 0.3, 0.5]}}}
    params["ordinal_items"] = {k: v for k, v in params["ordinal_items"].items() if k != "img_sure"}
    with pytest.raises(ParameterError) as exc:
        fieldwork.FieldworkModel.from_params(params, cb)
    msg = str(exc.value)
    assert "unknown covariate 'agee'" in msg
    assert "multi_items.forces.n_choices.residents must be 3 probabilities summing to 1" in msg
    assert "codebook variable 'img_sure' has no simulation rule in the model: add one under ordinal_items" in msg
    assert "config/fieldwork_model.yaml" in msg                 # trial H: the message named other files


def test_a_misspelt_level_of_an_effect_is_refused_not_dropped(model, cb):
    """Trial H: a level not listed has effect 0, so « 63 » for a department or « 15-30 » for an age made a planted
    effect vanish without a word. Each is named once, with the levels the covariate takes."""
    import copy

    params = copy.deepcopy(model.params)
    item = next(k for k, v in params["ordinal_items"].items() if "departement" in v.get("effects", {}))
    params["ordinal_items"][item]["effects"]["departement"]["63"] = 0.1
    params["ordinal_items"][item]["effects"]["age"] = {"15-30": 0.1}
    params["propensity"]["visitors"]["effects"]["country"] = {"BEL": 0.2}
    with pytest.raises(ParameterError) as exc:
        fieldwork.FieldworkModel.from_params(params, cb)
    msg = str(exc.value)
    assert f"ordinal_items.{item}.effects.departement: no level ['63'] (levels: 02, 59, 60, 62, 80)" in msg
    assert f"ordinal_items.{item}.effects.age: no level ['15-30'] (levels: 15-29, 30-44, 45-59, 60-74, 75+)" in msg
    assert "propensity.visitors.effects.country: no level ['BEL']" in msg
    assert msg.count("no level ['63']") == 1


def test_an_item_without_location_or_planted_shift_is_refused(model, cb):
    """Trial H: a new item without ``location`` had latent mean 0, and a common-core item without ``group_shift``
    no planted difference, both without a word; each is now asked for (0 or {} when meant)."""
    import copy

    params = copy.deepcopy(model.params)
    del params["ordinal_items"]["img_culture"]["location"]
    del params["ordinal_items"]["img_culture"]["group_shift"]
    del params["multi_items"]["forces"]["group_shift"]
    del params["ordinal_items"]["fierte"]["location"]
    with pytest.raises(ParameterError) as exc:
        fieldwork.FieldworkModel.from_params(params, cb)
    msg = str(exc.value)
    assert "ordinal_items.img_culture: no location" in msg
    assert "ordinal_items.img_culture: no group_shift" in msg
    assert "multi_items.forces: no group_shift" in msg
    assert "ordinal_items.fierte: no location" in msg
    assert "fierte: no group_shift" not in msg          # a resident-only item has no planted difference
    params = copy.deepcopy(model.params)
    params["ordinal_items"]["img_culture"].update(location=0, group_shift=0)
    params["multi_items"]["forces"]["group_shift"] = {}
    fieldwork.FieldworkModel.from_params(params, cb)


def test_with_changes_validates_and_copies(model):
    """Changing a section gives a new validated model and leaves the original untouched."""
    other = model.with_changes(propensity={**model.params["propensity"], "nmar_loading": 0.5})
    assert other.params["propensity"]["nmar_loading"] == 0.5
    assert model.params["propensity"]["nmar_loading"] == 0.0
    with pytest.raises(ParameterError, match="target_rate"):
        model.with_changes(propensity={**model.params["propensity"],
                                       "visitors": {"target_rate": 1.5, "effects": {}}})


def test_frame_labels_are_mapped_and_unknown_ones_reported(model):
    """Frame labels map to the model's keys; unrecorded values are drawn, unmatched ones reported."""
    units = pd.DataFrame({"person_id": ["a", "b", "c"], "zone": ["npdc", "Picardie", "both"],
                          "source_type": ["groupe_senior", "congres_salon", "hebergement"],
                          "multiplicity": [1, 2, 7], "country": ["FR", "ZZ", "Mars"],
                          "residence_region": ["Île-de-France", "Inconnue", "Étranger"],
                          "purpose": ["leisure", "unknown", "business"]})
    cov, report = fieldwork.map_visitor_attributes(model, units)
    assert cov["zone"].tolist() == ["npdc", "picardie", "les_deux"]
    assert cov["multiplicity"].tolist() == [0.0, 1.0, 3.0]
    assert cov["purpose"].tolist() == ["loisirs", "unknown", "affaires"]
    assert cov["country"].tolist() == ["FR", "unknown", "MONDE"]
    assert report.loc[report["frame_value"] == "Mars", "matched"].item() is False
    resolved = fieldwork.resolve_unknown(model, cov, np.random.default_rng(0))
    assert resolved["purpose"].iloc[1] in {"loisirs", "affaires", "les_deux"}
    assert resolved["region"].iloc[0] == "11" and pd.isna(resolved["region"].iloc[2])


def test_missing_frame_column_is_named(model):
    """A visitor sample without a column the model needs raises InputError naming it."""
    units = pd.DataFrame({"person_id": ["a"], "zone": ["npdc"]})
    with pytest.raises(InputError, match="column 'source_type'"):
        fieldwork.map_visitor_attributes(model, units)


def test_source_label():
    """The label « données simulées » marks simulated results; an unknown source is refused."""
    assert fieldwork.source_label("simulated") == "données simulées"
    assert fieldwork.source_label("real") == ""
    with pytest.raises(ParameterError, match="'simulated' or 'real'"):
        fieldwork.source_label("fake")


def test_top_choices_equal_a_full_stable_sort():
    """The simulator's top-k of each row (multi-select options, cited words) equals a full stable sort,
    ties, impossible options (-inf), NaN and +inf included: brute force on random small tables."""
    from portrait.study.fieldwork.simulation import _top_stable

    rng = np.random.default_rng(7)
    for trial in range(400):
        n, m, k = int(rng.integers(1, 40)), int(rng.integers(1, 12)), int(rng.integers(1, 5))
        x = rng.random((n, m)) if trial % 2 else rng.integers(0, 3, size=(n, m)).astype(float)
        x[rng.random((n, m)) < 0.2] = -np.inf
        if trial % 5 == 0:
            x[rng.random((n, m)) < 0.1] = np.nan if trial % 10 else np.inf
        np.testing.assert_array_equal(_top_stable(x, k), np.argsort(-x, axis=1, kind="stable")[:, :k])


def test_a_department_without_insee_figures_is_named(resident_frame, population, model, visitor_frame):
    """Residents of a department the INSEE table lacks: the error names the department, not a KeyError."""
    slots = frames.draw_resident_sample(resident_frame, frames.ResidentDesign(invitations=600, take=10),
                                        config.rng(SEED, "resident-sample")).slots
    with pytest.raises(InputError, match=r"no INSEE sex × age figures for department\(s\) \['59'\]"):
        fieldwork.simulate(model, resident_slots=slots, resident_frame=resident_frame,
                           population=population.loc[population["departement"] != "59"],
                           visitor_sample=helpers.example_visitor_sample(visitor_frame, 100, seed=2),
                           visitor_frame=visitor_frame, seed=SEED)


@pytest.mark.parametrize("levels", [4, 3000])     # 3000: too many combinations to count, sorted instead
def test_effects_over_coded_covariates_equal_the_row_by_row_sums(levels):
    """The same additions in the same order per distinct combination: equal to the last bit."""
    from portrait.study.fieldwork.model import Covariates, effects
    rng = np.random.default_rng(3)
    n = 5000
    cats = {"a": [f"a{i}" for i in range(levels)], "b": ["x", "y", "z"], "c": [f"c{i}" for i in range(levels)]}
    data = pd.DataFrame({k: pd.Categorical(rng.choice(v + [None], n), categories=v) for k, v in cats.items()})
    data["num"] = rng.normal(size=n)
    data["count"] = rng.integers(0, 4, n)
    data["text"] = rng.choice(["x", "y"], n).astype(object)
    spec = {k: {lv: float(rng.normal()) for lv in v[: max(2, len(v) - 1)]} for k, v in cats.items()}
    cov = Covariates(data)
    for s in (spec, {"b": spec["b"], "a": spec["a"]}, {"c": spec["c"], "absent": {"q": 1.0}},
              {**spec, "num": 0.3}, {"num": 0.3, **spec}, {"count": -0.7, "num": 0.3},
              {"a": spec["a"], "num": 0.3, "b": spec["b"], "count": 1.1, "c": spec["c"]},   # slopes between levels
              {"b": spec["b"], "text": {"y": 0.2}, "num": 0.3}):      # levels of a text column: the row path
        assert np.array_equal(effects(s, data, cov), effects(s, data))
    for k in range(20):        # a new mapping each time (one freed may leave its address to the next): its own values
        s = {"b": {"x": float(k), "z": -1.0}}
        assert np.array_equal(effects(s, data, cov), effects(s, data))
    before = effects({"d": {"u": 1.5}, "b": spec["b"]}, data, cov)          # no column d yet: b's effects only
    assert np.array_equal(before, effects({"b": spec["b"]}, data))
    data["d"] = pd.Categorical(["u"] * n)       # a column added later is seen (the coding of the others is kept)
    assert np.array_equal(effects({"d": {"u": 1.5}, "b": spec["b"]}, data, cov), before + 1.5)


def test_option_effects_over_coded_covariates_equal_those_of_the_values():
    """Options' effects read from the categories' codes (missing values, categories no row has, a level spelt as
    a number, a column not categorical) equal those of the values factorised: to the last bit."""
    from portrait.study.fieldwork.model import Covariates, option_effects
    rng = np.random.default_rng(5)
    n = 3000
    data = pd.DataFrame({"a": pd.Categorical(rng.choice(["p", "q", None], n), categories=["p", "q", "r"]),
                         "k": pd.Categorical(rng.integers(1, 4, n)), "t": rng.choice(["u", "v"], n).astype(object)})
    spec = {"a": {"p": {1: 0.3, 2: -0.2}, "r": {3: 1.0}}, "k": {2: {1: 0.7}, 3: {2: 0.1, 3: -0.4}},
            "t": {"v": {1: 0.25}}, "absent": {"x": {1: 9.0}}, "a2": {}}
    data["a2"] = data["a"]
    for s in (spec, dict(reversed(list(spec.items())))):
        assert np.array_equal(option_effects(s, data, [1, 2, 3], Covariates(data)), option_effects(s, data, [1, 2, 3]))


def test_as_categories_equals_categoricals_of_the_values_as_objects():
    from portrait.study.fieldwork.model import CATEGORICAL_COVARIATES, as_categories
    values = ["Hauts-de-France", "Île-de-France", None, "Aisne", "zone b", "Épinal", "aisne", "Aisne"]
    c1, c2 = CATEGORICAL_COVARIATES[:2]
    data = pd.DataFrame({c1: pd.array(values, dtype="str"), c2: pd.Series(values[::-1], dtype=object)})
    got = as_categories(data)
    for c in (c1, c2):
        expected = pd.Categorical(data[c].astype(object))
        pd.testing.assert_index_equal(got[c].cat.categories, expected.categories, exact=True)
        np.testing.assert_array_equal(got[c].cat.codes.to_numpy(), expected.codes)


def test_a_change_of_survey_tool_leaves_no_export_of_the_old_layout(resident_frame, tmp_path):
    """A board's trial: switching ``survey_tool`` from native to LimeSurvey left the native exports and contact
    statuses beside the new files in the simulated folder, where they passed for files of this run. Only the
    files of the current layout remain; a file of the user's own in the folder is left alone."""
    cb = codebook.load()
    model = fieldwork.FieldworkModel.load(cb)
    rs = frames.draw_resident_sample(resident_frame, frames.ResidentDesign(), config.rng(5, "resident-sample"))
    vframe = helpers.example_visitor_frame(3000, seed=3)
    vsample = helpers.example_visitor_sample(vframe, 1500, seed=4)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    common = dict(simulated_dir=tmp_path, real_dir="unused", model=model, resident_slots=rs.slots,
                  resident_frame=resident_frame, population=sources.read_population(2017), visitor_sample=vsample,
                  visitor_frame=vframe, seed=5)
    fieldwork.prepare_survey_folder("simulated", formats=["csv", "xlsx"], **common)
    assert {p.name for p in tmp_path.iterdir()} == {
        "notes.txt", "residents.csv", "residents.xlsx", "residents_dispositions.csv",
        "visitors.csv", "visitors.xlsx", "visitors_dispositions.csv"}
    fieldwork.prepare_survey_folder("simulated", formats=["csv"], tool="limesurvey", key=b"k" * 32, **common)
    assert {p.name for p in tmp_path.iterdir()} == {
        "notes.txt", "residents.csv", "residents_participants.csv", "visitors.csv", "visitors_participants.csv"}


def test_dont_know_probability_is_the_configured_rate_of_each_group(model):
    """By hand from config/fieldwork_model.yaml (trial L, F11: visitors answering « Ne sait pas » at the residents'
    rate changed nothing but hashes and goldens, because the truth and the draws share this function): for
    « img_littoral » (rates 0.03 residents, 0.07 visitors; the default effect of age, +0.60 at 75+), a person aged
    30-44 answers « Ne sait pas » at the rate of their group, one aged 75+ at expit(logit(rate) + 0.60)."""
    from scipy.special import expit, logit

    from portrait.study.fieldwork import true_values

    params = model.params
    rates = params["ordinal_items"]["img_littoral"]["dont_know"]["rate"]
    older = params["ordinal_defaults"]["dont_know"]["effects"]["age"]["75+"]
    assert rates == {"residents": 0.03, "visitors": 0.07} and older == 0.60
    people = pd.DataFrame({"age": ["30-44", "75+"]})
    for group, rate in rates.items():
        got = true_values._dont_know_prob(model, "img_littoral", group, people)
        np.testing.assert_allclose(got, [rate, expit(logit(rate) + older)], rtol=1e-12)


def test_dont_know_probabilities_kept_by_rate_and_effects_are_each_items_own(model, small):
    """« Ne sait pas » probabilities kept across items (``kept``, as the simulator passes for one survey's respondents)
    equal each item's computed alone, bit for bit, for every item of both surveys; items of one rate and effects share
    an entry, and an item given its own effects at another item's rate gets its own."""
    from portrait.study.fieldwork import true_values
    from portrait.study.fieldwork.model import Covariates
    items = {**model.params["ordinal_items"]}
    items["img_littoral"] = {**items["img_littoral"], "dont_know": {
        "rate": {"residents": 0.03, "visitors": 0.07}, "effects": {"age": {"75+": 2.0}}}}
    own = model.with_changes(ordinal_items=items)
    for group in fieldwork.GROUPS:
        persons = small[2].persons[group]
        names = [v.name for v in own.codebook.variables_for(group) if v.dont_know and (
            v.name in own.params["ordinal_items"] or v.name in own.params.get("categorical_items", {}))]
        kept: dict = {}
        cov = Covariates(persons)
        for name in names:
            got = true_values._dont_know_prob(own, name, group, persons, cov, kept=kept)
            assert got.tolist() == true_values._dont_know_prob(own, name, group, persons).tolist(), (group, name)
        assert 1 < len(kept) < len(names)
        assert true_values._effects_key(0.1, {"age": {"75+": {"nested": 1}}}) is None


def test_true_response_rates_leave_excluded_units_out_of_the_denominator():
    """By hand (trial L, F12: excluded units counted in the denominator changed only report 03's golden): four
    sampled persons aged 30-44 — respondent, non-respondent, excluded, respondent — give 3 in scope, 2 respondents,
    a rate of 2/3; the other survey, one respondent of 4, gives 1/1."""
    from types import SimpleNamespace

    from portrait.study.fieldwork import stage

    persons = {"residents": pd.DataFrame({"id": ["a", "b", "c", "d"], "age": "30-44"}),
               "visitors": pd.DataFrame({"id": ["e", "f"], "age": ["30-44", "45-59"]})}
    sim = SimpleNamespace(exports={g: pd.DataFrame({"token": []}) for g in persons}, persons=persons)
    responses = {"residents": pd.DataFrame({"token": ["a", "b", "c", "d"],
                                            "status": ["respondent", "nonrespondent", "excluded", "respondent"]}),
                 "visitors": pd.DataFrame({"token": ["e", "f"], "status": ["respondent", "excluded"]})}
    t = stage.true_response_rates(sim, responses, "age").set_index(["survey", "age"])
    assert t.loc[("residents", "30-44"), ["in_scope", "respondents"]].tolist() == [3, 2]
    assert t.loc[("residents", "30-44"), "rate"] == pytest.approx(2 / 3, rel=1e-15)
    assert t.loc[("visitors", "30-44"), "rate"] == 1.0
    assert t.loc[("visitors", "45-59"), "in_scope"] == 0


def test_simulated_participant_exports_give_residents_no_name_nor_address():
    """A new user's trial: the simulated LimeSurvey participants export gave each resident an e-mail address
    (« …@example.org ») where the README says residents are invited by letter and `make invitations` gives them
    none. Residents' contacts are blank now, in both tools' files; the visitors keep theirs."""
    from portrait.study import codebook, survey_tools

    cb = codebook.load()
    for tool in ("limesurvey", "qualtrics"):
        lay = survey_tools.layout(tool, cb)
        for survey, blank in (("residents", True), ("visitors", False)):
            ids = [f"u{k}" for k in range(4)]
            disp = pd.DataFrame({cb.id_column(survey): ids[:1], "statut_contact": [1]})
            answers = pd.DataFrame({cb.id_column(survey): ids[1:2], "complet": [1]})
            t = survey_tools.dispositions_to_tool(ids, disp, answers, survey, cb, lay, b"k" * 32)
            email = t["email" if tool == "limesurvey" else "Email"]
            assert (email == "").all() == blank and (email != "").all() != blank, (tool, survey)


def test_filtered_questions_and_break_offs_are_blank_in_the_export(resident_frame, visitor_frame, population,
                                                                   model, cb):
    """A question filtered out by a skipped filter answer is blank; a break-off blanks the last opinion question.

    With 40 % of visitors skipping « pays », French visitors who skipped it must have no region either (the
    filter, not the country, blanks it); every interrupted questionnaire has its last opinion question blank."""
    rates = {**model.params["item_nonresponse"]["rates"], "pays": 0.4}
    skipping = model.with_changes(item_nonresponse={**model.params["item_nonresponse"], "rates": rates})
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    sim = fieldwork.simulate(skipping, resident_slots=slots, resident_frame=resident_frame, population=population,
                             visitor_sample=helpers.example_visitor_sample(visitor_frame, 800, seed=2),
                             visitor_frame=visitor_frame, seed=SEED)
    e, p = sim.exports["visitors"], sim.persons["visitors"]
    french = e[cb.id_column("visitors")].isin(p.loc[p["country"] == "FR", "id"]).to_numpy()
    skipped = e["pays"].isna().to_numpy()
    assert (french & skipped).sum() > 20 and (french & ~skipped & e["region_residence"].notna().to_numpy()).any()
    assert e.loc[french & skipped, "region_residence"].isna().all()
    for survey in ("residents", "visitors"):
        e = sim.exports[survey]
        last = [v for v in cb.variables_for(survey) if v.role == "opinion"][-1]
        off = (e["complet"] == 0).to_numpy()
        assert off.sum() > 5 and e.loc[off, last.columns].isna().all().all()
        assert e.loc[~off, last.columns].notna().any().any()


def test_coded_answers_equal_the_row_by_row_mapping():
    """Profile and context answers are each value's code, looked up per distinct value: the same Int16 column as
    mapping every row (missing where the value is missing or has no code), for text and categorical columns."""
    from portrait.study.fieldwork.simulation import _coded
    codes = {"a": 1, "b": 2, "c": 99}
    values = ["b", None, "a", "zz", "b", "c", None, "a"]
    for col in (pd.Series(values, dtype="str"), pd.Series(values, dtype=object).astype("category"),
                pd.Series(["a", "b"], dtype="str"), pd.Series([], dtype="str")):
        want = pd.array(col.map(codes).to_numpy(), dtype="Int16")
        got = _coded(col, codes)
        assert got.dtype == want.dtype and got.isna().tolist() == want.isna().tolist()
        assert got.fillna(-1).tolist() == want.fillna(-1).tolist()


def test_resident_units_take_the_size_rank_of_their_commune_and_name_a_stranger(resident_frame):
    """Each slot gets its commune's size rank from the frame (a look-up per slot, here); a slot whose commune is not
    in the frame raises InputError naming its row and the code column."""
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    units = fieldwork.resident_units(slots, resident_frame)
    rank = dict(zip(resident_frame["code"], resident_frame["size_class_rank"]))
    assert units["size_rank"].dtype == np.int64
    assert units["size_rank"].tolist() == [rank[c] for c in slots["code"]]
    bad = slots.copy()
    bad.loc[7, "code"] = "99999"
    with pytest.raises(InputError, match="not in the resident frame") as err:
        fieldwork.resident_units(bad, resident_frame)
    assert (err.value.row, err.value.column) == (8, "code")


def test_identifier_order_and_texts_equal_the_python_objects_sort():
    """The export's identifiers are taken and sorted as Python strings would be (a stable sort of the objects):
    Arrow texts of one length or several (accents, shared prefixes, ties kept in row order, a sliced Arrow array)
    sorted in Arrow, and ids in an object column by the objects themselves."""
    import pyarrow as pa
    from portrait.study.fieldwork.simulation import _text_order, _texts
    rng = np.random.default_rng(5)
    alphabet = list("aAzZ09-é€")
    same = ["".join(rng.choice(alphabet, size=3)) for _ in range(400)]
    same = [x for x in same if len(x.encode()) == len(same[0].encode())]      # one length in bytes
    mixed = ["b", "ab", "a", "é", "e", "ba", "a", "", "ż", "b"]
    arrow = pa.chunked_array([pa.array(["zz", "ab", "ab", "aa", "ba"], pa.large_string()).slice(1)])
    sliced = pd.Series(pd.array(arrow, dtype="str"))
    for ids in (pd.Series(same + same[:7], dtype="str"), pd.Series(mixed, dtype="str"), pd.Series(same, dtype=object),
                sliced):
        objects = ids.to_numpy(dtype=object)
        for rows in (np.arange(len(ids)), np.sort(rng.choice(len(ids), size=len(ids) // 2, replace=False))):
            order = _text_order(ids, rows)
            assert order.tolist() == np.argsort(objects[rows], kind="stable").tolist()
            assert order.tolist() == sorted(range(len(rows)), key=lambda i: objects[rows][i])
            want = pd.array(objects[rows], dtype="string")
            got = _texts(ids, rows)
            assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_texts_blanked_in_arrow_equal_the_texts_taken_and_set_missing():
    """A text column (pyarrow) taken in order with its blank rows missing in one Arrow take (``_blanked``) equals the
    column taken, then set missing where blank: missing texts kept, blanks or none, chunked or not, no row at all."""
    import pyarrow as pa
    from portrait.study.fieldwork.simulation import _blanked
    rng = np.random.default_rng(11)
    for m in (50, 0):
        values = np.where(rng.random(m) < 0.3, None, "é" + pd.Series(range(m)).astype(str)).astype(object)
        plain = pd.array(values, dtype="string")
        chunked = type(plain)(pa.chunked_array([values[: m // 2], values[m // 2:]], type=plain.__arrow_array__().type))
        assert isinstance(plain, pd.arrays.ArrowStringArray)
        order = rng.permutation(m)
        for answer in (plain, chunked):
            for blank in (rng.random(m) < 0.4, np.zeros(m, dtype=bool), None):
                want = answer.take(order)
                if blank is not None and blank.any():
                    want = want.copy()
                    want[blank[order]] = pd.NA
                got = _blanked(answer, blank, order)
                assert type(got) is type(want) and got.dtype == want.dtype
                assert got.__arrow_array__().type == want.__arrow_array__().type
                pd.testing.assert_extension_array_equal(got, want)


def test_stay_means_by_category_equal_the_column_mapped():
    """The visitors' mean stays looked up per category (``_stay_means``) equal the column mapped row by row: a
    missing country, a category no row has and one without its own mean (the default) included; text too."""
    from portrait.study.fieldwork.simulation import _stay_means
    means = {"FR": 2.0, "BE": 1.5, "default": 0.6, "DE": 3}
    values = ["FR", None, "IT", "BE", "FR", "DE", None]
    for col in (pd.Series(pd.Categorical(values, categories=["BE", "DE", "FR", "IT", "NL"])),
                pd.Series(values, dtype="str"), pd.Series(values[:0], dtype="category")):
        want = col.map(lambda c: means.get(c, means["default"])).to_numpy(float)
        got = _stay_means(col, means)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_the_export_taken_at_once_equals_each_column_blanked_and_ordered():
    """The export's Int16 answers stacked and taken in order at once (``_export``) equal each column blanked and taken
    by ``_blanked``, beside columns of other types (Int32, text with a gap, a float), blanks or none, missing answers
    kept, and the rows' numbers in the file (2, 3, …) last when asked; no row at all too."""
    from portrait.study.fieldwork.simulation import _blanked, _export
    rng = np.random.default_rng(4)
    for m in (40, 0):
        order = rng.permutation(m)
        a16 = pd.array(np.where(rng.random(m) < 0.2, None, rng.integers(0, 9, m)), dtype="Int16")
        answers = {"a": a16, "b": pd.array(rng.integers(0, 5, m), dtype="Int16"),
                   "c": pd.array(rng.integers(0, 70000, m), dtype="Int32"),
                   "t": pd.array(np.where(rng.random(m) < 0.3, None, "x" + pd.Series(range(m)).astype(str)),
                                 dtype="string"),
                   "d": pd.array(rng.integers(1, 3, m), dtype="Int16"), "f": pd.array(rng.random(m))}
        blank = {"a": rng.random(m) < 0.3, "c": rng.random(m) < 0.5, "t": rng.random(m) < 0.5, "d": None}
        columns = ["b", "t", "a", "c", "d", "f"]
        want = pd.DataFrame({c: _blanked(answers[c], blank.get(c), order) for c in columns})
        pd.testing.assert_frame_equal(_export(answers, blank, order, columns), want, check_exact=True)
        numbered = _export(answers, blank, order, columns, source_row=True)
        pd.testing.assert_frame_equal(numbered, want.assign(source_row=pd.array(np.arange(2, m + 2), dtype="Int32")),
                                      check_exact=True)
        if m:
            assert want["a"].isna().sum() > want["b"].isna().sum() == 0


def test_a_variable_without_item_nonresponse_draws_nothing_from_its_stream(model):
    """A variable whose item non-response rate is 0 blanks nobody and leaves its stream untouched; one with a rate
    draws one uniform per person (a rate near 1 blanks almost everyone)."""
    from portrait.study.fieldwork.simulation import _skip, _skip_rate
    persons = pd.DataFrame({"age": pd.Categorical(["18-24"] * 50)})
    sexe = model.codebook.variable("sexe")
    assert _skip_rate(model, sexe) == 0
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert not _skip(model, sexe, persons, rng).any() and rng.bit_generator.state == state
    rates = {**model.params["item_nonresponse"]["rates"], "sexe": 0.999999}
    skipping = model.with_changes(item_nonresponse={**model.params["item_nonresponse"], "rates": rates})
    mask = _skip(skipping, sexe, persons, rng)
    assert mask.sum() >= 49 and rng.bit_generator.state != state
    assert rng.random() == np.random.default_rng(1).random(51)[-1]


def test_skip_probabilities_kept_per_rate_are_each_variables_own(model):
    """Item non-response masks with each rate's probabilities kept across variables (``kept``, as the simulator
    passes for one survey's persons) equal the masks computed variable by variable: two variables of one rate share
    an entry, a variable of another rate gets its own (brute force: the same uniforms below expit(logit(rate) + the
    age effects), by hand)."""
    from scipy.special import expit, logit
    from portrait.study.fieldwork.model import Covariates
    from portrait.study.fieldwork.simulation import _skip, _skip_rate
    ages = ["18-24", "60-74", "75+", "25-39"]
    persons = pd.DataFrame({"age": pd.Categorical([ages[i % 4] for i in range(4000)])})
    names = ["diplome", "img_sure", "img_nature", "annees_residence"]
    rates = {**model.params["item_nonresponse"]["rates"], "diplome": 0.3, "annees_residence": 0.6}
    skipping = model.with_changes(item_nonresponse={**model.params["item_nonresponse"], "rates": rates})
    variables = [skipping.codebook.variable(v) for v in names]
    assert _skip_rate(skipping, variables[1]) == _skip_rate(skipping, variables[2]) > 0
    kept: dict = {}
    cov = Covariates(persons)
    age_effect = skipping.params["item_nonresponse"]["effects"]["age"]
    for j, v in enumerate(variables):
        got = _skip(skipping, v, persons, np.random.default_rng(j), cov, kept)
        alone = _skip(skipping, v, persons, np.random.default_rng(j))
        u = np.random.default_rng(j).random(len(persons))
        by_hand = u < expit(logit(_skip_rate(skipping, v)) + persons["age"].map(
            lambda a: age_effect.get(a, 0.0)).to_numpy(float))
        assert got.tolist() == alone.tolist() == by_hand.tolist(), v.name
    assert sorted(k[0] for k in kept) == sorted({0.3, 0.6, _skip_rate(skipping, variables[1])})   # by rate (same effects)


def test_coded_visitor_covariates_equal_the_object_arrays(model, visitor_frame):
    """Visitor units' covariates worked out on codes (:func:`population.resolved_categories`) equal those of
    the object arrays (``_mapped_attributes`` → ``_resolved`` → ``categories``): the same draws from the same
    stream, values, categories, column order and stream state after, with unrecorded countries and purposes of every
    source type, gaps in the frame columns, values no pattern matches, one unit and no unit at all; the regions
    (texts with gaps, made from their keys) as a table holds them, also without any region column."""
    from portrait.study.fieldwork.model import CATEGORICAL_COVARIATES, categories
    from portrait.study.fieldwork.population import _mapped_attributes, _resolved, resolved_categories
    rng = np.random.default_rng(11)
    units = visitor_frame.sample(800, random_state=4).reset_index(drop=True)
    for col, share in (("country", 0.3), ("purpose", 0.4)):
        units[col] = units[col].astype(object).where(rng.random(len(units)) > share, "unknown")
    units.loc[[3, 9], "purpose"] = None
    units.loc[5, "residence_region"] = None
    units.loc[7, "zone"] = "Atlantide"
    for data in (units, units.iloc[:0], units.iloc[4:5], units.astype({"country": "str", "purpose": "str"}),
                 units.drop(columns="residence_region")):
        want_rng, got_rng = np.random.default_rng(8), np.random.default_rng(8)
        cols, _ = _mapped_attributes(model, data, "visitor sample")
        want = {c: categories(a) if c in CATEGORICAL_COVARIATES else a
                for c, a in _resolved(model, cols, want_rng).items()}
        got = resolved_categories(model, data, got_rng)
        assert list(got) == list(want)
        for c in want:
            if isinstance(want[c], pd.Categorical):
                pd.testing.assert_series_equal(pd.Series(got[c]), pd.Series(want[c]), check_exact=True)
                pd.testing.assert_index_equal(got[c].categories, want[c].categories, exact=True)
            else:
                pd.testing.assert_series_equal(pd.Series(got[c]), pd.Series(want[c]), check_exact=True)
        assert got_rng.bit_generator.state == want_rng.bit_generator.state
    assert (~got["country_recorded"]).sum() > 100 and (~got["purpose_recorded"]).sum() > 100


def test_visitor_units_from_the_frame_coded_once_equal_the_samples_own(model, visitor_frame):
    """Visitor units read at the sample's rows of the frame coded once (:func:`population.coded_frame`, as the
    validation does) equal those mapped from the sample itself: the same draws, values, categories and column order,
    for samples whose first values come in another order than the frame's (reversed rows), with unrecorded
    attributes, a region missing, a value no pattern matches, and no unit; the finite population's fixed attributes
    too. A frame that fails the mapping's check is not coded (the sample then names its own row)."""
    from portrait.study.fieldwork.population import coded_frame
    rng = np.random.default_rng(5)
    frame = visitor_frame.copy()
    for col, share in (("country", 0.3), ("purpose", 0.4)):
        frame[col] = frame[col].astype(object).where(rng.random(len(frame)) > share, "unknown").astype("str")
    frame.loc[5, "residence_region"] = None
    frame.loc[7, "zone"] = "Atlantide"
    coded = coded_frame(model, frame)
    assert coded is not None and coded.unique_ids
    for rows in (np.sort(rng.choice(len(frame), 700, replace=False))[::-1], np.array([7, 5, 3]),
                 np.zeros(0, dtype=np.int64)):
        sample = frame.iloc[rows].reset_index(drop=True)
        want = fieldwork.visitor_units(model, sample, np.random.default_rng(8))
        got = fieldwork.visitor_units(model, sample, np.random.default_rng(8), frame=coded, rows=rows)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        for c in want.columns:
            if isinstance(want[c].dtype, pd.CategoricalDtype):
                pd.testing.assert_index_equal(got[c].cat.categories, want[c].cat.categories, exact=True)
        keys = np.arange(len(rows)) + 10
        pd.testing.assert_frame_equal(
            fieldwork.finite.fixed_visitor_units(model, sample, 3, keys, frame=coded, rows=rows),
            fieldwork.finite.fixed_visitor_units(model, sample, 3, keys), check_exact=True)
    bad = frame.copy()
    bad.loc[11, "multiplicity"] = 0
    assert coded_frame(model, bad) is None and coded_frame(model, frame.drop(columns="person_id")) is None
    twice = frame.copy()
    twice.loc[20, "person_id"] = twice.loc[8, "person_id"]
    coded = coded_frame(model, twice)
    assert not coded.unique_ids
    with pytest.raises(InputError, match="person_id appears twice") as err:
        fieldwork.visitor_units(model, twice.iloc[[3, 8, 20]], np.random.default_rng(0), frame=coded,
                                rows=np.array([3, 8, 20]))
    assert (err.value.row, err.value.column) == (3, "person_id")


def test_an_identifier_twice_in_a_sample_is_named_at_its_second_row(resident_frame, model, visitor_frame):
    """A slot or person identifier that appears twice raises InputError at the row of its second appearance."""
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    bad = slots.copy()
    bad.loc[12, "slot_id"] = bad.loc[4, "slot_id"]
    with pytest.raises(InputError, match="slot_id appears twice") as err:
        fieldwork.resident_units(bad, resident_frame)
    assert (err.value.row, err.value.column) == (13, "slot_id")
    sample = visitor_frame.head(50).reset_index(drop=True)
    sample.loc[[20, 31], "person_id"] = sample.loc[8, "person_id"]
    with pytest.raises(InputError, match="person_id appears twice") as err:
        fieldwork.visitor_units(model, sample, np.random.default_rng(0))
    assert (err.value.row, err.value.column) == (21, "person_id")


def test_categorical_draws_by_distribution_equal_the_draws_per_unit():
    """Drawing from a few distinct distributions (``_categorical_draw_by``) gives each unit the index the unit's own
    row of probabilities gives (``_categorical_draw``), uniforms on a cumulative sum and zero probabilities included."""
    from portrait.study.fieldwork.simulation import _categorical_draw, _categorical_draw_by
    rng = np.random.default_rng(9)
    table = rng.dirichlet(np.ones(7), size=5)
    table[2, [1, 4]] = 0.0
    table[2] /= table[2].sum()
    row = rng.integers(0, 5, size=4000)
    u = rng.random(4000)
    u[:50] = np.cumsum(table, axis=1)[row[:50], 2]       # exactly on a cumulative sum
    assert np.array_equal(_categorical_draw_by(table, row, u), _categorical_draw(table[row], u))
    assert np.array_equal(_categorical_draw_by(table[:1], np.zeros(10, dtype=int), u[:10]),
                          _categorical_draw(np.tile(table[0], (10, 1)), u[:10]))
    odd = table.copy()     # sums that do not rise (a negative or missing probability): the same comparisons
    odd[1, 3], odd[4, 2] = -0.5, np.nan
    assert np.array_equal(_categorical_draw_by(odd, row, u), _categorical_draw(odd[row], u))
    assert _categorical_draw_by(table, row[:0], u[:0]).shape == (0,)


def test_resident_units_look_communes_up_in_the_frame_they_are_given(resident_frame):
    """The frame's index of commune codes is kept for the column it was made of: units looked up in a frame, then in
    the same frame reordered (a new column), take each frame's size ranks (a look-up per slot, here)."""
    from portrait.study.unit_table import held_index as frame_index
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    shuffled = resident_frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["size_class_rank"] = shuffled["size_class_rank"].to_numpy()[::-1]     # other ranks, to be seen
    for frame in (resident_frame, shuffled, resident_frame):
        rank = dict(zip(frame["code"], frame["size_class_rank"]))
        assert fieldwork.resident_units(slots, frame)["size_rank"].tolist() == [rank[c] for c in slots["code"]]
    assert frame_index(resident_frame["code"]) is frame_index(resident_frame["code"])
    assert frame_index(shuffled["code"]).equals(pd.Index(shuffled["code"]))


def test_drawn_profiles_keep_the_units_as_categories(resident_frame, population, model):
    """The persons' table is the units (their index and columns first, the categorical covariates as
    ``as_categories`` makes them, the others unchanged) followed by the drawn sex, age, education and age in years."""
    from portrait.study.fieldwork.model import as_categories
    from portrait.study.fieldwork.simulation import _draw_profile
    design = frames.ResidentDesign(invitations=600, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(SEED, "resident-sample")).slots
    units = fieldwork.resident_units(slots, resident_frame)
    units.index = units.index * 3 + 7
    got = _draw_profile(model, "residents", units, population, np.random.default_rng(4))
    assert list(got.columns) == list(units.columns) + ["sexe", "age", "diplome", "age_years"]
    pd.testing.assert_frame_equal(got[list(units.columns)], as_categories(units), check_exact=True)
    assert isinstance(got["departement"].dtype, pd.CategoricalDtype) and got["id"].dtype == units["id"].dtype
    assert got["age_years"].between(15, 120).all() and not got[["sexe", "age", "diplome"]].isna().any().any()


def test_resident_profiles_draw_from_each_units_own_department(resident_frame, population, model):
    """A resident's sex × age is drawn from the INSEE row of the unit's own department (brute force: the row looked
    up unit by unit), whether the departments are texts, categories in another order or with unused ones."""
    from portrait.study.fieldwork.model import AGE_KEYS, SEX_KEYS
    from portrait.study.fieldwork.simulation import _categorical_draw, _draw_profile, _sex_age_table
    slots = frames.draw_resident_sample(resident_frame, frames.ResidentDesign(invitations=600, take=10),
                                        config.rng(SEED, "resident-sample")).slots
    units = fieldwork.resident_units(slots, resident_frame).iloc[::-1].reset_index(drop=True)
    departments, table = _sex_age_table(population)
    assert units["departement"].nunique() > 1
    u = np.random.default_rng(4).random((len(units), 3))[:, 0]
    expected = _categorical_draw(np.stack([table[list(departments).index(d)] for d in units["departement"]]), u)
    cats = sorted(set(units["departement"]) | {"zz"}, reverse=True)
    for deps in (units["departement"], pd.Categorical(units["departement"].astype(object), categories=cats)):
        got = _draw_profile(model, "residents", units.assign(departement=deps), population, np.random.default_rng(4))
        combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
        assert list(zip(got["sexe"].astype(object), got["age"].astype(object))) == [combos[i] for i in expected]


def test_visitor_sex_age_rows_are_each_units_own_probabilities(model):
    """Each visitor's row of the sex × age table (one row per distinct source × purpose pair present, in sorted
    order of the pairs' codes) holds P(sex | source) × P(age | source, purpose) computed for that unit alone (brute
    force from the model's parameters): texts, categories, a missing source, an unknown one, pairs in any order."""
    from portrait.study.fieldwork.model import AGE_KEYS, SEX_KEYS
    from portrait.study.fieldwork.population import _visitor_sex_age_table
    vp = model.params["visitors"]
    sources = [s for s in vp["female_share"] if s != "default"][:3] + [np.nan, "inconnue"]
    rng = np.random.default_rng(5)
    base = pd.DataFrame({"source_type": rng.choice(np.asarray(sources, dtype=object), 300),
                         "purpose": rng.choice(["affaires", "loisirs", "les_deux"], 300)})

    def own(source, purpose):
        def share(table, a=None):
            entry = table.get(source) if isinstance(source, str) else None
            entry = entry if entry is not None else table["default"]
            return float(entry if a is None else entry[a])
        fem = share(vp["female_share"])
        return [(fem if s == "femmes" else 1 - fem)
                * (float(vp["age_business"][a]) if purpose == "affaires" else share(vp["age_by_source"], a))
                for s in SEX_KEYS for a in AGE_KEYS]

    for b in (base, base.astype("category"), base.iloc[:0]):
        table, row = _visitor_sex_age_table(model, b)
        assert len(row) == len(b) and len(table) == len(set(zip(b["source_type"].astype(str), b["purpose"])))
        expected = np.asarray([own(s, p) for s, p in zip(b["source_type"], b["purpose"])], dtype=float)
        np.testing.assert_allclose(table[row].reshape(expected.shape), expected, rtol=0, atol=1e-15)
