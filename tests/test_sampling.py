"""Sampling: inclusion probabilities (against R), allocation, systematic πps, SRSWOR, resident design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait.pipeline import config, paths
from portrait import survey
from portrait.study import frames
from portrait.pipeline.errors import ParameterError, SamplingError

from .conftest import DEFAULT

FIXTURES = paths.TESTS / "reference" / "fixtures"


class TestInclusionProbabilities:
    def test_matches_r_sampling_on_the_real_frame(self):
        """inclusion_probabilities matches R sampling::inclusionprobabilities on every stratum of the real frame."""
        ref = pd.read_csv(FIXTURES / "inclusionprobabilities.csv", dtype={"code": str})
        assert ref["case"].nunique() > 60
        for case, d in ref.groupby("case", sort=False):
            ours = survey.inclusion_probabilities(d["population"].to_numpy(), int(d["n"].iloc[0]))
            assert_allclose(ours, d["pik"].to_numpy(), rtol=1e-12, atol=1e-15, err_msg=case)

    def test_sum_to_n_and_capping(self):
        """π sum to n, lie in [0, 1], and the non-certain units stay proportional to size."""
        rng = np.random.default_rng(1)
        size = np.concatenate([rng.lognormal(6, 1.5, 200), [1e6, 5e5]])
        pik = survey.inclusion_probabilities(size, 30)
        assert pik.sum() == pytest.approx(30)
        assert np.all((pik >= 0) & (pik <= 1))
        certain = pik >= 1
        assert certain[-2:].all()
        ratio = pik[~certain] / size[~certain]
        assert_allclose(ratio, ratio[0], rtol=1e-12)
        # a capped unit would have exceeded 1 under the proportional rule of the rest
        assert np.all(size[certain] * ratio[0] >= 1 - 1e-12)

    def test_refuses_impossible_sizes(self):
        """Asking more units than have a positive size, or a negative size, raises SamplingError."""
        with pytest.raises(SamplingError, match="cannot select 4 units among 3"):
            survey.inclusion_probabilities([1, 2, 3, 0], 4)
        with pytest.raises(SamplingError, match="non-negative"):
            survey.inclusion_probabilities([1, -2, 3], 1)


class TestAllocate:
    def test_exact_total_and_proportional(self):
        """Allocation sums to the total and stays within one unit of the exact proportional share."""
        w = np.array([10.0, 20, 30, 40, 7])
        out = survey.allocate(w, 101)
        assert out.sum() == 101
        assert np.all(np.abs(out - 101 * w / w.sum()) < 1)

    def test_minimum_and_capacity_bind(self):
        """Strata below the minimum are raised to it, strata above capacity are capped, the rest share what is left."""
        out = survey.allocate([1.0, 1, 1000, 1000], 100, minimum=5, capacity=[50, 50, 40, 1000])
        assert out.tolist() == [5, 5, 40, 50]

    def test_largest_remainders_by_hand(self):
        """Hamilton's rule (trial K: giving the remainder to the smallest shares was caught only through the resident
        design): 10 over three equal weights is 4, 3, 3; 7 over 0.5, 0.3, 0.2 is 3.5, 2.1, 1.4 → 4, 2, 1."""
        assert survey.allocate([1.0, 1, 1], 10).tolist() == [4, 3, 3]
        assert survey.allocate([0.5, 0.3, 0.2], 7).tolist() == [4, 2, 1]

    def test_bounds_and_total_hold_against_the_closed_form(self):
        """An audit found 254 of 2,999 random cases not summing to the total and 262 breaking a bound ([7, 17, 4] for 36
        units with capacities 6 and 16). Oracle: the shares clip(λw, minimum, capacity) with λ solved by scipy's
        brentq; the allocation must sum to the total, hold every bound and stay within one unit of those shares."""
        from scipy import optimize

        assert survey.allocate([5.435, 4.722, 0.119], 36, minimum=[2, 6, 3], capacity=[6, 16, 53]).tolist() == [6, 16, 14]
        assert survey.allocate([1, 1, 10], 60, minimum=[10, 0, 0], capacity=[np.inf, np.inf, 20]).tolist() == [20, 20, 20]
        rng = np.random.default_rng(11)
        checked = 0
        for _ in range(1500):
            k = int(rng.integers(2, 8))
            w = rng.gamma(0.7, size=k)
            lo = rng.integers(0, 6, size=k).astype(float)
            hi = lo + rng.integers(0, 40, size=k)
            total = int(rng.integers(int(lo.sum()), int(hi.sum()) + 1))
            out = survey.allocate(w, total, minimum=lo.astype(int), capacity=hi)
            assert out.sum() == total and np.all(out >= lo) and np.all(out <= hi), (w, lo, hi, total, out)
            f = lambda lam: np.clip(lam * w, lo, hi).sum() - total                      # noqa: E731
            if f(0) < 0 < f(1e9):
                lam = optimize.brentq(f, 0, 1e9, xtol=1e-13, rtol=1e-15)
                assert np.all(np.abs(out - np.clip(lam * w, lo, hi)) < 1 + 1e-7)
                checked += 1
        assert checked > 1000

    def test_impossible_bounds_raise(self):
        """Minimums above the total, or capacities below it, raise SamplingError with the numbers."""
        with pytest.raises(SamplingError, match="needs 15 units"):
            survey.allocate([1, 1, 1], 10, minimum=5)
        with pytest.raises(SamplingError, match="fewer than the 10 requested"):
            survey.allocate([1, 1], 10, capacity=[3, 3])


class TestSystematicPPS:
    def test_realises_its_inclusion_probabilities(self):
        """Over 20,000 seeded draws every unit's selection frequency is within 4.5 binomial SE of its π."""
        size = np.array([5, 80, 12, 300, 45, 7, 150, 2000, 60, 33, 90, 14, 500, 25, 70.0])
        pik = survey.inclusion_probabilities(size, 6)
        rng = np.random.default_rng(20170301)
        reps = 20_000
        counts = np.zeros(len(size))
        for _ in range(reps):
            sel = survey.systematic_pps(pik, rng)
            assert sel.sum() == 6
            counts += sel
        freq = counts / reps
        se = np.sqrt(pik * (1 - pik) / reps)
        assert np.all(np.abs(freq - pik) <= 4.5 * se + 1e-12)
        assert freq[pik == 1].min() == 1.0

    def test_stratified_srswor_realises_n_over_N(self):
        """Stratified SRSWOR draws exactly n_h per stratum and every unit with frequency n_h/N_h (4.5 SE)."""
        strata = np.repeat(["a", "b", "c"], [10, 25, 5])
        sizes = {"a": 3, "b": 5, "c": 5}
        rng = np.random.default_rng(7)
        reps = 10_000
        counts = np.zeros(len(strata))
        for _ in range(reps):
            m = survey.stratified_srswor(strata, sizes, rng)
            assert [m[strata == h].sum() for h in "abc"] == [3, 5, 5]
            counts += m
        pi = np.array([sizes[h] / (strata == h).sum() for h in strata])
        se = np.sqrt(pi * (1 - pi) / reps)
        assert np.all(np.abs(counts / reps - pi) <= 4.5 * se + 1e-12)

    def test_stratified_srswor_from_an_arrow_column_again_equals_the_draw_from_its_objects(self):
        """Drawing again from the same pyarrow text column (its strata's units are kept) gives the draw from the
        column's values as Python objects, for every seed; another column gets its own strata, not the kept ones."""
        rng = np.random.default_rng(2)
        sizes = {"a": 5, "b": 7, "c": 0, "d": 2}
        for strata in (pd.Series(rng.choice(list("cabd"), 3000), dtype="str"),
                       pd.Series(rng.choice(list("dcba"), 500), dtype="str")):
            for seed in (1, 2, 1):
                kept = survey.stratified_srswor(strata, sizes, np.random.default_rng(seed))
                objects = survey.stratified_srswor(strata.to_numpy(object), sizes, np.random.default_rng(seed))
                assert np.array_equal(kept, objects)
                assert [int(kept[(strata == h).to_numpy()].sum()) for h in "abcd"] == [5, 7, 0, 2]


@pytest.fixture(scope="module")
def sample(resident_frame):
    """The default resident sample drawn with the study seed."""
    return frames.draw_resident_sample(resident_frame, frames.ResidentDesign(),
                                         config.rng(20170301, "resident-sample"))


class TestResidentDesign:
    def test_pi_sum_to_allocated_psus_per_stratum(self, sample):
        """Within each stratum the π of non-certain communes sum to the number of communes drawn PPS."""
        c = sample.communes
        for h, d in c.groupby("stratum"):
            st = sample.strata.set_index("stratum").loc[h]
            assert d.loc[~d["certainty"], "pi"].sum() == pytest.approx(st["psu_drawn"], abs=1e-9)
            assert d["selected"].sum() == st["psu_drawn"] + st["certainty_communes"]
            assert (d.loc[d["certainty"], "selected"]).all()

    def test_hits_allocated_proportionally_with_minimum(self, sample):
        """Commune draws sum to invitations/take and every stratum gets at least min(2, its communes)."""
        st = sample.strata
        assert st["hits"].sum() == 5000 // 20
        assert (st["hits"] >= np.minimum(2, st["communes"])).all()
        share = st["population"] / st["population"].sum() * 250
        assert (np.abs(st["hits"] - share) < 1 + (st["hits"] == 2)).all()

    @pytest.mark.parametrize("rule", ["sqrt", "equal"])
    def test_the_other_allocation_rules(self, resident_frame, rule):
        """Trial K (a mutation survived: « sqrt » silently proportional): the strata's commune draws follow √population
        or are equal, within one draw of the exact share where the minimum of 2 does not bind (by hand)."""
        from dataclasses import replace

        st = frames.resident_plan(resident_frame, replace(frames.ResidentDesign(), allocation=rule)).strata
        assert st["hits"].sum() == 5000 // 20
        w = np.sqrt(st["population"].to_numpy(float)) if rule == "sqrt" else np.ones(len(st))
        share = w / w.sum() * 250
        free = st["hits"].to_numpy() > np.minimum(2, st["communes"].to_numpy())
        assert free.sum() > len(st) // 2
        assert (np.abs(st["hits"].to_numpy() - share)[free] < 1).all()
        proportional = st["population"] / st["population"].sum() * 250
        assert np.abs(st["hits"] - proportional).max() > 5            # not the proportional rule

    def test_at_least_two_communes_in_non_certainty_strata(self, sample):
        """Every stratum that is not wholly certain has at least two communes drawn, so variance is estimable."""
        st = sample.strata
        partial = st["certainty_communes"] < st["communes"]
        assert (st.loc[partial, "psu_drawn"] >= 2).all()

    def test_self_weighting_and_invitation_count(self, sample):
        """Design weights are near-constant within each stratum and the total stays close to the 5,000 requested."""
        s = sample.slots
        assert abs(len(s) - 5000) <= 2 * len(sample.strata)
        ratio = s.groupby("stratum")["design_weight"].agg(lambda w: w.max() / w.min())
        assert ratio.max() < 1.1
        assert len(s) == sample.strata["invitations"].sum()
        assert s["slot_id"].is_unique

    def test_slots_are_numbered_within_their_commune_with_its_probabilities(self, sample):
        """Each selected commune has ``take`` slots « code-0001 » … in order, each with π_within = take / pop15,
        π_overall = π · π_within and the weight 1 / π_overall of its commune (closed forms, commune by commune)."""
        s, c = sample.slots, sample.communes.loc[sample.communes["selected"]].reset_index(drop=True)
        assert list(s["code"]) == [code for code, t in zip(c["code"], c["take"]) for _ in range(t)]
        assert list(s["slot_id"]) == [f"{code}-{k:04d}" for code, t in zip(c["code"], c["take"])
                                      for k in range(1, t + 1)]
        for col in ("nom", "departement", "size_class", "stratum", "pi"):
            assert list(s[col]) == [x for x, t in zip(c[col], c["take"]) for _ in range(t)], col
        by = dict(zip(c["code"], zip(c["pi"], c["take"], c["pop15"])))
        for row in s.itertuples():
            pi, take, pop15 = by[row.code]
            assert (row.pi_within, row.pi_overall, row.design_weight) == (
                take / pop15, pi * (take / pop15), 1.0 / (pi * (take / pop15)))

    @pytest.mark.parametrize("dtype", ["str", object])
    def test_slot_ids_are_the_row_by_row_texts(self, dtype):
        """``frames._slot_ids`` gives « code-0001 » as the f-string does row by row, numbers beyond 9999 uncut, for a
        pyarrow text column and an object one, and the column type a list of texts gets."""
        code = pd.Series(["02073", "59350", "02073", "2A004", "59350"], dtype=dtype)
        slot = np.array([1, 1, 2, 10000, 123])
        expected = pd.DataFrame({"slot_id": [f"{c}-{k:04d}" for c, k in zip(code, slot.tolist())]})
        got = pd.DataFrame({"x": np.zeros(5)})
        got.insert(0, "slot_id", frames._slot_ids(code, slot))
        pd.testing.assert_frame_equal(got[["slot_id"]], expected, check_exact=True)
        assert got["slot_id"].tolist() == ["02073-0001", "59350-0001", "02073-0002", "2A004-10000", "59350-0123"]

    def test_count_within_groups_is_a_brute_force_count(self):
        """``frames._count_within`` gives each row the number of earlier rows of its group (interleaved groups)."""
        g = np.random.default_rng(3).integers(0, 7, size=500)
        assert frames._count_within(g).tolist() == [int((g[:i] == g[i]).sum()) for i in range(len(g))]
        assert frames._count_within(np.zeros(0, dtype=np.int64)).tolist() == []

    def test_same_seed_same_sample_other_seed_other_sample(self, resident_frame):
        """The same seed gives the same communes; another seed gives another selection."""
        d = frames.ResidentDesign()
        a = frames.draw_resident_sample(resident_frame, d, config.rng(1, "resident-sample"))
        b = frames.draw_resident_sample(resident_frame, d, config.rng(1, "resident-sample"))
        c = frames.draw_resident_sample(resident_frame, d, config.rng(2, "resident-sample"))
        pd.testing.assert_frame_equal(a.slots, b.slots)
        assert set(a.slots["code"]) != set(c.slots["code"])

    def test_a_plan_computed_once_gives_the_same_draws(self, resident_frame):
        """Repeated draws from one :func:`frames.resident_plan` equal draws that compute it each time."""
        d = frames.ResidentDesign()
        plan = frames.resident_plan(resident_frame, d)
        for seed in (1, 2):
            a = frames.draw_resident_sample(resident_frame, d, config.rng(seed, "resident-sample"))
            b = frames.draw_resident_sample(resident_frame, d, config.rng(seed, "resident-sample"), plan=plan)
            for x, y in ((a.slots, b.slots), (a.communes, b.communes), (a.strata, b.strata)):
                pd.testing.assert_frame_equal(x, y, check_exact=True)
            slots = frames.draw_resident_slots(resident_frame, d, config.rng(seed, "resident-sample"), plan=plan)
            pd.testing.assert_frame_equal(slots, a.slots, check_exact=True)      # the validation's draw: the same

    def test_too_many_psus_for_a_stratum_is_named(self, resident_frame):
        """A minimum of communes per stratum larger than a stratum holds raises an error naming that stratum."""
        d = frames.ResidentDesign(min_psu=10)
        with pytest.raises(SamplingError, match=r"stratum 0[0-9]-\d: \d communes left .*min_psu_per_stratum=10"):
            frames.draw_resident_sample(resident_frame, d, config.rng(1, "x"))

    def test_sample_larger_than_frame(self, resident_frame):
        """More invitations than residents aged 15+ in the frame is refused."""
        small = resident_frame.loc[resident_frame["stratum"].isin(["80-4"])]
        with pytest.raises(SamplingError, match="invitations requested but the frame holds only"):
            frames.draw_resident_sample(small, frames.ResidentDesign(invitations=100_000),
                                          config.rng(1, "x"))

    def test_bad_parameters_are_named(self):
        """An unknown allocation rule or invitations not a multiple of the take raise ParameterError naming the parameter."""
        with pytest.raises(ParameterError, match="'allocation' must be one of"):
            frames.ResidentDesign.from_params({**DEFAULT, "allocation": "neyman"})
        with pytest.raises(ParameterError, match="multiple of 'take_per_commune'"):
            frames.ResidentDesign.from_params({**DEFAULT, "invitations": 5001})
        with pytest.raises(ParameterError, match="'take_per_commune' must be int"):
            frames.ResidentDesign.from_params({**DEFAULT, "take_per_commune": "20"})
