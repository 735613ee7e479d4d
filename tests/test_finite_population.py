"""The fixed finite population of the validation study: keyed draws, exact truth, design unbiasedness."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait.pipeline import config, sources
from portrait.pipeline.errors import ParameterError
from portrait.study import codebook, fieldwork, frames, visitors
from portrait.study.fieldwork import finite
from portrait.study.fieldwork.simulation import _answers, _persons
from portrait.study.fieldwork.stage import point_estimates
from portrait.study.validation.setup import KEY_STATISTICS
from tests import helpers

SEED = 2017
ITEMS = set(KEY_STATISTICS["item"])


@pytest.fixture(scope="module")
def model():
    cb = codebook.load("config/codebook.yaml")
    return fieldwork.FieldworkModel.load(cb, "config/fieldwork_model.yaml")


@pytest.fixture(scope="module")
def insee():
    return sources.read_population(2017)


@pytest.fixture(scope="module")
def small(resident_frame, model, insee):
    """A small finite population: three small communes of two departments (some 130 persons), 60 visitors."""
    frame = resident_frame.loc[resident_frame["pop15"].between(30, 60)]
    frame = pd.concat([frame.loc[frame["departement"] == "02"].head(2),
                       frame.loc[frame["departement"] == "59"].head(1)], ignore_index=True)
    vframe = helpers.example_visitor_frame(60, seed=9)
    pop = fieldwork.Population(fieldwork.resident_population(model, resident_frame, insee),
                               *fieldwork.visitor_population(model, helpers.example_visitor_frame(6000, seed=4)))
    return frame, vframe, fieldwork.calibrate(model, pop)


# ------------------------------------------------------------------------------- (a) the keyed generator


def test_unit_draws_are_deterministic_keyed_and_independent_of_the_batch():
    """A unit's draws depend on (seed, purpose, unit, call) only: not on the other units drawn with it."""
    keys = finite.string_keys([f"unit-{i}" for i in range(1000)])
    a = finite.UnitStream(SEED, "p", keys)
    first, second = a.random((1000, 3)), a.standard_normal(1000)
    b = finite.UnitStream(SEED, "p", keys)
    np.testing.assert_array_equal(first, b.random((1000, 3)))
    np.testing.assert_array_equal(second, b.standard_normal(1000))
    sub = np.arange(999, -1, -7)                       # another batch: a subset, in another order
    c = finite.UnitStream(SEED, "p", keys[sub])
    np.testing.assert_array_equal(first[sub], c.random((len(sub), 3)))
    np.testing.assert_array_equal(second[sub], c.standard_normal(len(sub)))
    for other in (finite.UnitStream(SEED, "q", keys), finite.UnitStream(SEED + 1, "p", keys)):
        assert (other.random((1000, 3)) != first).all()
    assert finite.string_keys(["x"])[0] == finite.string_keys(["x"])[0] != finite.string_keys(["y"])[0]
    with pytest.raises(ParameterError, match="one row per unit"):
        finite.UnitStream(SEED, "p", keys).random(10)
    with pytest.raises(ParameterError, match="'seed'"):
        finite.UnitStream(-1, "p", keys)


def test_unit_draws_are_uniform_and_uncorrelated():
    """On 1e5 consecutive resident keys: KS p-values > 0.001 for the uniforms, normals and Gumbels; the
    correlation between neighbouring units and between successive calls within |r| < 4/√n."""
    n = 100_000
    keys = finite.resident_keys(np.repeat(["59350", "02001"], n // 2), np.tile(np.arange(n // 2), 2))
    s = finite.UnitStream(SEED, "fieldwork/residents/favourability", keys)
    u, z, g = s.random((n, 2)), s.standard_normal(n), s.gumbel(size=n)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3
    assert stats.kstest(u[:, 1], "uniform").pvalue > 1e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert stats.kstest(g, "gumbel_r").pvalue > 1e-3
    bound = 4 / np.sqrt(n)
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < bound       # unit k and unit k + 1
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < bound          # two columns of one call
    assert abs(np.corrcoef(u[:, 0], z)[0, 1]) < bound                # two calls
    lam = np.full(n, 2.5)
    x = s.poisson(lam)
    assert abs(x.mean() - 2.5) < 4 * np.sqrt(2.5 / n) and abs(x.var() - 2.5) < 0.05


@pytest.mark.parametrize("fixed", [False, True], ids=["super-population draws", "finite-population draws"])
def test_answers_not_drawn_stand_in_with_the_blanks_and_types_of_the_drawn_ones(model, small, resident_frame, insee,
                                                                               fixed):
    """``_simulate_group(drawn=…)``, as the validation calls it: the drawn items' columns are the full simulation's;
    every other common-core item has its columns, of their types, answered by the same persons (all the break-off
    rule reads of them); the items outside the core have none; the contact statuses are the same. The oracle is the
    simulation that draws every answer."""
    frame, _, cal = small
    codes = np.repeat(frame["code"].to_numpy(), 40)
    k = np.tile(np.arange(40), len(frame))
    slots = pd.DataFrame({"slot_id": [f"{c}-{i}" for c, i in zip(codes, k)], "code": codes,
                          "departement": np.repeat(frame["departement"].to_numpy(), 40)})
    units = fieldwork.resident_units(slots, resident_frame)
    draws = finite.unit_draws(SEED, finite.resident_keys(codes, k)) if fixed else None
    drawn = {"image_globale", "img_nature", "forces"}
    full, short = (fieldwork._simulate_group(model, cal, "residents", units, insee, 5, unit_draws=draws, drawn=d)
                   for d in (None, drawn))
    pd.testing.assert_frame_equal(full[2], short[2])
    a, b = full[1], short[1]
    cb = model.codebook
    outside = [c for v in cb.variables_for("residents") if v.role == "opinion" and not v.common_core
               and v.name not in drawn for c in v.columns]
    assert {"attachement", "fierte"} <= set(outside) and not set(outside) & set(b.columns)
    a = a.drop(columns=outside)
    assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all()
    read = [c for v in cb.variables_for("residents") if v.role != "opinion" or v.name in drawn for c in v.columns]
    pd.testing.assert_frame_equal(a[read], b[read])
    stand_ins = [c for c in a.columns if c not in read and c != "source_row"]
    assert {"mots_1", "img_culture", cb.variable("faiblesses").columns[0]} <= set(stand_ins)
    seen_blank = False
    for v in cb.variables_for("residents"):
        if v.role == "opinion" and v.common_core and v.name not in drawn:   # answered: a cell given (options: one chosen)
            given = [(t[v.columns] == 1) if v.type == "multi" else t[v.columns].notna() for t in (a, b)]
            x, y = (g.fillna(False).to_numpy(dtype=bool).any(axis=1) for g in given)
            assert (x == y).all(), v.name
            seen_blank |= not x.all()
    assert seen_blank


def test_a_sampled_unit_answers_the_same_in_every_replication(model, small, resident_frame, insee):
    """The same persons, in two replications (other seeds) and two different samples: same profile and
    answers; the response phase alone changes with the replication's seed."""
    frame, vframe, cal = small
    codes = np.repeat(frame["code"].to_numpy(), 30)
    k = np.tile(np.arange(0, 90, 3), len(frame))
    slots = pd.DataFrame({"slot_id": [f"{c}-{i}" for c, i in zip(codes, k)], "code": codes,
                          "departement": np.repeat(frame["departement"].to_numpy(), 30)})
    units = fieldwork.resident_units(slots, resident_frame)
    keys = finite.resident_keys(codes, k)
    full = model.complete_response()
    rows_a, rows_b = np.arange(len(units)), np.arange(len(units))[::-2]      # two samples sharing persons
    a, b = (fieldwork._simulate_group(full, cal, "residents", units.iloc[rows].reset_index(drop=True), insee, seed,
                                      unit_draws=finite.unit_draws(SEED, keys[rows]))[1].set_index("slot_id")
            for rows, seed in ((rows_a, 1), (rows_b, 2)))
    assert len(b) == len(rows_b)
    pd.testing.assert_frame_equal(a.loc[b.index], b)
    # with non-response, the respondents change with the replication's seed, not their answers
    part = [fieldwork._simulate_group(model, cal, "residents", units, insee, seed,
                                      unit_draws=finite.unit_draws(SEED, keys))[1].set_index("slot_id")
            for seed in (1, 2)]
    assert set(part[0].index) != set(part[1].index)
    both = part[0].index.intersection(part[1].index)
    opinions = ["image_globale", "recommandation", "img_nature"]
    x, y = part[0].loc[both, opinions], part[1].loc[both, opinions]
    answered = x.notna() & y.notna()
    assert answered.to_numpy().sum() > 10 and (x[answered] == y[answered]).to_numpy()[answered.to_numpy()].all()


# ------------------------------------------------------------------------------- (b) the exact truth


def _brute_force(model, cal, frame, vframe, insee) -> pd.DataFrame:
    """Every person generated alone (one unit per call), then the statistics of portrait's point_estimates."""
    tables = {"residents": [], "visitors": []}
    for row in frame.itertuples():
        for k in range(int(row.pop15)):
            unit = pd.DataFrame({"departement": [row.departement], "size_rank": [int(row.size_class_rank)]})
            draws = finite.unit_draws(SEED, finite.resident_keys([row.code], np.array([k])))
            p = _persons(model, cal, "residents", unit, insee, draws)
            tables["residents"].append(pd.DataFrame(_answers(model, cal, "residents", p, draws, only=ITEMS)))
    for i in range(len(vframe)):
        one = vframe.iloc[[i]].reset_index(drop=True)
        draws = finite.unit_draws(SEED, finite.visitor_keys(one))
        p = _persons(model, cal, "visitors", finite.fixed_visitor_units(model, one, SEED), None, draws)
        tables["visitors"].append(pd.DataFrame(_answers(model, cal, "visitors", p, draws, only=ITEMS)))
    est = pd.concat([point_estimates(pd.concat(t, ignore_index=True), model.codebook, g)
                     for g, t in tables.items()], ignore_index=True)
    return est.merge(KEY_STATISTICS, on=["item", "statistic", "level"])


def test_finite_truth_equals_a_brute_force_count(model, small, insee):
    """finite_truth (chunks of 40 persons, vectorised) equals the statistics of the population generated unit
    by unit and counted by point_estimates, to rounding; the differences are visitors − residents.

    The brute force generates each person with the simulator's own functions (``_persons``, ``_answers``): it checks
    that chunking, vectorising and forking change nothing, not that the simulator's answers follow its model; the
    simulator is checked against its model's truth on a large sample in ``tests/test_fieldwork.py``."""
    frame, vframe, cal = small
    truth = finite.finite_truth(model, cal, resident_frame=frame, population=insee, visitor_frame=vframe,
                                seed=SEED, statistics=KEY_STATISTICS, chunk_size=40)
    brute = _brute_force(model, cal, frame, vframe, insee)
    both = truth.merge(brute, on=["survey", "item", "statistic", "level"], suffixes=("", "_brute"))
    assert len(both) == 2 * len(KEY_STATISTICS)
    np.testing.assert_allclose(both["value"], both["value_brute"], rtol=0, atol=1e-12)
    wide = truth.pivot_table(index=["item", "statistic", "level"], columns="survey", values="value")
    np.testing.assert_allclose(wide["visitors - residents"], wide["visitors"] - wide["residents"], atol=1e-15)
    again = finite.finite_truth(model, cal, resident_frame=frame, population=insee, visitor_frame=vframe,
                                seed=SEED, statistics=KEY_STATISTICS, chunk_size=10_000)
    np.testing.assert_allclose(again["value"], truth["value"], rtol=0, atol=1e-12)
    forked = finite.finite_truth(model, cal, resident_frame=frame, population=insee, visitor_frame=vframe,
                                 seed=SEED, statistics=KEY_STATISTICS, chunk_size=40, workers=2)
    np.testing.assert_array_equal(forked["value"], truth["value"])          # same chunks, same order of the sums
    with pytest.raises(ParameterError, match="'chunk_size'"):
        finite.finite_truth(model, cal, resident_frame=frame, population=insee, visitor_frame=vframe,
                            seed=SEED, statistics=KEY_STATISTICS, chunk_size=0)


def test_person_indices_are_a_srswor_within_each_commune(resident_frame):
    """The slots of a commune get distinct persons; each person is drawn with probability take / pop15."""
    frame = resident_frame.loc[resident_frame["pop15"].between(40, 60)].head(2)
    slots = pd.DataFrame({"code": np.repeat(frame["code"].to_numpy(), 10)})
    rng = np.random.default_rng(3)
    counts = np.zeros((2, 60))
    for _ in range(2000):
        k = finite.person_indices(slots, frame, rng)
        for j in range(2):
            kk = k[j * 10:(j + 1) * 10]
            assert len(set(kk)) == 10 and kk.max() < frame["pop15"].iloc[j]
            counts[j, kk] += 1
    for j in range(2):
        n_c = int(frame["pop15"].iloc[j])
        p = counts[j, :n_c] / 2000
        assert np.abs(p - 10 / n_c).max() < 4 * np.sqrt(10 / n_c / 2000)     # 4 binomial SEs
    with pytest.raises(ParameterError, match="slots for"):
        finite.person_indices(pd.DataFrame({"code": [frame["code"].iloc[0]] * 100}), frame, rng)



def test_person_indices_follow_the_documented_draw_order_with_interleaved_slots(resident_frame):
    """Communes are drawn in order of first appearance, each commune's slots in slot order, even when the slots of
    communes interleave (replayed with the same generator); a commune absent from the frame has no person."""
    frame = resident_frame.loc[resident_frame["pop15"].between(40, 60)].head(3)
    codes = np.tile(frame["code"].to_numpy(), 4)[::-1]
    got = finite.person_indices(pd.DataFrame({"code": codes}), frame, np.random.default_rng(5))
    rng, want = np.random.default_rng(5), np.empty(len(codes), dtype=np.int64)
    for code in dict.fromkeys(codes):
        rows = [i for i, c in enumerate(codes) if c == code]
        want[rows] = rng.choice(int(frame.loc[frame["code"] == code, "pop15"].iloc[0]), size=len(rows), replace=False)
    assert got.tolist() == want.tolist()
    with pytest.raises(ParameterError, match="commune 99999: 1 slots for 0 persons"):
        finite.person_indices(pd.DataFrame({"code": [codes[0], "99999"]}), frame, np.random.default_rng(5))
    keys = finite.resident_slot_keys(pd.DataFrame({"code": codes}), frame, np.random.default_rng(5))
    assert keys.tolist() == finite.resident_keys(list(codes), want).tolist()     # each slot keyed by its own code
    with pytest.raises(ParameterError, match="commune 99999: 1 slots for 0 persons"):
        finite.resident_slot_keys(pd.DataFrame({"code": [codes[0], "99999"]}), frame, np.random.default_rng(5))


# ------------------------------------------------------------------------------- (c) design unbiasedness


def test_ht_estimates_average_to_the_finite_truth_over_repeated_samples(model, small, insee, resident_frame):
    """Full response, 200 repeated samples of the small population (two-stage resident design drawing 40 of
    its some 130 persons, stratified SRSWOR of 24 of the 60 visitors): the mean of the Hájek estimates of
    « image globale » lies within 4 Monte Carlo SEs of the finite truth (its bias O(1/n) is far smaller).

    Every person's answer is generated once, through the simulator with the persons' keys (a unit answers
    the same in every sample: test above); each replication draws the samples, the persons behind the
    resident slots (:func:`finite.resident_slot_keys`) and reads their answers by key."""
    frame, vframe, cal = small
    full = model.complete_response()
    truth = finite.finite_truth(model, cal, resident_frame=frame, population=insee, visitor_frame=vframe,
                                seed=SEED, statistics=KEY_STATISTICS.iloc[:1])
    codes = np.repeat(frame["code"].to_numpy(), frame["pop15"].astype(int))
    k = np.concatenate([np.arange(int(n)) for n in frame["pop15"]])
    everyone = pd.DataFrame({"slot_id": [f"{c}-{i}" for c, i in zip(codes, k)], "code": codes,
                             "departement": np.repeat(frame["departement"].to_numpy(), frame["pop15"].astype(int))})
    keys = finite.resident_keys(codes, k)
    _, export, _ = fieldwork._simulate_group(full, cal, "residents", fieldwork.resident_units(everyone, frame), insee,
                                             0, unit_draws=finite.unit_draws(SEED, keys))
    y_res = pd.Series(export.set_index("slot_id").loc[everyone["slot_id"], "image_globale"].to_numpy(float), index=keys)
    _, export, _ = fieldwork._simulate_group(full, cal, "visitors", finite.fixed_visitor_units(full, vframe, SEED),
                                             None, 0, unit_draws=finite.unit_draws(SEED, finite.visitor_keys(vframe)))
    y_vis = export.set_index("person_id")["image_globale"].astype(float)
    design = frames.ResidentDesign(invitations=40, take=20, allocation="proportional", min_psu=1)
    vstrata = visitors.allocate_invitations(vframe, visitors.VisitorDesign(invitations=24, min_per_stratum=2))
    sub = frame.assign(nom=frame["code"], stratum="s", size_class="x")
    rng = np.random.default_rng(5)
    est = {"residents": [], "visitors": []}

    def hajek(y: np.ndarray, w: np.ndarray) -> float:
        ok = ~np.isnan(y) & (y != 99)
        return float(np.sum(w[ok] * y[ok]) / np.sum(w[ok]))

    plan = frames.resident_plan(sub, design)       # the same draws as without it, computed once
    for _ in range(200):
        slots = frames.draw_resident_sample(sub, design, rng, plan=plan).slots
        y = y_res.reindex(finite.resident_slot_keys(slots, frame, rng)).to_numpy()
        est["residents"].append(hajek(y, slots["design_weight"].to_numpy(float)))
        vs = visitors.draw_visitor_sample(vframe, vstrata, rng)
        est["visitors"].append(hajek(y_vis.reindex(vs["person_id"].astype(str)).to_numpy(),
                                     vs["design_weight"].to_numpy(float)))
    for group, e in est.items():
        e = np.asarray(e)
        true = truth.loc[truth["survey"] == group, "value"].item()
        assert np.std(e) > 0 and not np.isnan(e).any()
        assert abs(e.mean() - true) < 4 * e.std(ddof=1) / np.sqrt(len(e)), (group, e.mean(), true)


# ------------------------------------------------------------------------------- (d) the super-population path


def test_the_super_population_simulation_is_unchanged(model, resident_frame, insee):
    """fieldwork.simulate gives byte-identical exports and statuses to the code before the finite population
    (fingerprints computed with commit 4f850ab on the same inputs; the canonical word « baie de Somme » has
    since gained its capital, undone here before hashing: the draws are the same). A change detector: the
    visitors' fingerprint was renewed when their response came to read the frame's recorded purpose and
    country instead of the drawn ones (``fieldwork.as_recorded``); the residents' is 4f850ab's."""
    frame = resident_frame
    codes = frame["code"].iloc[:40].to_numpy()
    slots = pd.DataFrame({"slot_id": [f"{c}-{i:04d}" for c in codes for i in range(1, 6)],
                          "code": np.repeat(codes, 5), "departement": np.repeat(frame["departement"].iloc[:40], 5)})
    vframe = helpers.example_visitor_frame(300, seed=4)
    sim = fieldwork.simulate(model, resident_slots=slots, resident_frame=frame, population=insee,
                             visitor_sample=vframe, visitor_frame=vframe, seed=11)
    expected = {"residents": "095a05ba7278a9ebee7c6b2ce4526572503778b8cc2f85d7bb01ab49f498d1ca",
                "visitors": "fb38eb03d7e0d0325dc3453eff6009e70e974168bb3d074fca95d0fa7de21c0d"}
    for g, digest in expected.items():
        text = sim.exports[g].to_csv(index=False).replace("aie de Somme", "aie de somme")
        h = hashlib.sha256(text.encode() + sim.dispositions[g].to_csv(index=False).encode())
        assert h.hexdigest() == digest, g
    assert config.rng(11, "x").random() == config.rng(11, "x").random()


def _mix13(z: int) -> int:
    """Stafford's Mix13 (the SplitMix64 finaliser) on Python integers, from its published constants."""
    mask = (1 << 64) - 1
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & mask
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & mask
    return z ^ (z >> 31)


def test_draws_follow_the_documented_counter_formula():
    """Closed form (trial L, F6): call ``c`` of a unit stream, column ``j``, is Mix13(base + (c·2³² + j + 1)·γ mod 2⁶⁴)
    with base = Mix13(key XOR digest(« seed/purpose »)), written here in plain integers. A counter that let wide
    calls overlap (``c << 3``: call c's columns 8 and up repeating call c + 1's) passed every other test; two
    successive calls of width 20 share no value."""
    keys = finite.resident_keys(np.array(["59350", "02001"]), np.array([0, 3]))
    s = finite.UnitStream(SEED, "p", keys)
    first = s._bits((2, 20))
    second = s._bits((2, 20))
    gamma, mask = 0x9E3779B97F4A7C15, (1 << 64) - 1
    for i, key in enumerate(keys.tolist()):
        base = _mix13(int(key) ^ finite._digest(f"{SEED}/p"))
        for c, drawn in ((0, first), (1, second)):
            expected = [_mix13((base + ((c << 32) + j + 1) * gamma) & mask) for j in range(20)]
            assert drawn[i].tolist() == expected, (i, c)
    assert not np.intersect1d(first, second).size
    # distinct (commune, person) pairs give distinct keys (trial L, F5: a key without its commune)
    codes, persons = np.repeat(["59350", "02001", "80021"], 50), np.tile(np.arange(50), 3)
    assert len(set(finite.resident_keys(codes, persons).tolist())) == 150


def test_poisson_counts_read_from_the_cumulative_probabilities_are_scipys():
    """The finite population's stays (``finite.poisson_ppf``) equal ``scipy.stats.poisson.ppf``: random uniforms,
    uniforms at and beside each cumulative probability (where scipy's inversion is asked), tails, and means that are
    small, large, zero or missing."""
    from scipy import special, stats
    from portrait.study.fieldwork.finite import poisson_ppf
    rng = np.random.default_rng(21)
    means = np.array([0.6, 1.2, 2.0, 2.6, 1e-3, 37.5, 0.0, np.nan])
    q = (rng.integers(0, 2**53, 60000) + 0.5) * 2.0**-53
    mu = rng.choice(means, len(q))
    edges = [special.pdtr(np.arange(12.0), m) for m in means[:4]]
    at = np.concatenate([e for e in edges])
    beside = np.concatenate([at, np.nextafter(at, 0), np.nextafter(at, 1), at * (1 + 1e-9), at * (1 - 1e-9)])
    beside_mu = np.tile(np.repeat(means[:4], 12), 5)
    tails = np.array([2.0**-53, 1 - 2.0**-53, 1e-300, 0.5])
    q = np.concatenate([q, beside, tails])
    mu = np.concatenate([mu, beside_mu, np.full(4, 2.0)])
    keep = (q > 0) & (q < 1)
    q, mu = q[keep], mu[keep]
    np.testing.assert_array_equal(poisson_ppf(q, mu), stats.poisson.ppf(q, mu))
