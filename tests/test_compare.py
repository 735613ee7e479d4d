"""Residents versus visitors: each method on a case with a known answer, and the planted differences
of the simulator recovered by the whole chain (frames → fieldwork → ingest → weighting → comparison)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait import codebook, compare, config, fieldwork, ingest, models, recipes, sampling, sources, testing
from portrait.design import Design

from .conftest import DEFAULT


def _two_samples(rng, n, shift=0.0, scale=1.0):
    """Two independent stratified samples of a 1-5 item, the second shifted on the latent scale."""
    rows = []
    for g, s in (("a", 0.0), ("b", shift)):
        latent = rng.normal(s, 1, n)
        y = np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1
        rows.append(pd.DataFrame({"g": g, "y": y.astype(float), "stratum": g + rng.choice(["1", "2"], n),
                                  "w": rng.uniform(1, 3, n) * scale}))
    return Design.from_frame(pd.concat(rows, ignore_index=True), weights="w", strata="stratum")


def test_no_difference_gives_uniform_p_values():
    """Identical groups: Wald, Rao–Scott and rank-test p-values are uniform (KS) and reject about 5 %."""
    rng = np.random.default_rng(2017)
    p = {"wald": [], "rao_scott": [], "rank": []}
    for _ in range(200):
        d = _two_samples(rng, 300)
        p["wald"].append(models.mean_difference(d, "y", "g", "b", "a").p)
        p["rao_scott"].append(models.rao_scott(d.with_weights(d.weights), "y", "g").p_F)
        p["rank"].append(models.rank_test(d, "y", "g").p)
    for name, values in p.items():
        values = np.array(values)
        assert stats.kstest(values, "uniform").pvalue > 0.01, name
        assert 0.015 <= (values < 0.05).mean() <= 0.10, name


def test_planted_difference_is_detected():
    """A shift of 0.3 SD between groups of 1,000 is detected by every test (p < 0.001)."""
    d = _two_samples(np.random.default_rng(7), 1000, shift=0.3)
    assert models.mean_difference(d, "y", "g", "b", "a").p < 1e-3
    assert models.rao_scott(d, "y", "g").p_F < 1e-3
    assert models.rank_test(d, "y", "g").p < 1e-3


def test_benjamini_hochberg_and_holm_are_statsmodels():
    """Adjusted p-values are statsmodels' multipletests (BH and Holm), missing p-values left missing."""
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.04, 0.03, np.nan, 0.5, 0.2])
    ok = ~np.isnan(p)
    for method in ("fdr_bh", "holm"):
        got = compare.adjust_pvalues(p, method)
        assert np.isnan(got[3])
        np.testing.assert_allclose(got[ok], multipletests(p[ok], method=method)[1])


def test_correspondence_analysis_inertia_is_chi_square_over_n():
    """Total inertia equals Pearson's X²/N, and a table with independent rows and columns has none."""
    table = pd.DataFrame([[30, 10, 5], [10, 30, 10], [5, 10, 40], [20, 20, 20]], index=list("abcd"),
                         columns=list("xyz"), dtype=float)
    rows, cols, inertia = compare.correspondence_analysis(table)
    chi2 = stats.chi2_contingency(table.to_numpy(), correction=False)[0]
    N = table.to_numpy().sum()
    P = table.to_numpy() / N
    r, c = P.sum(1), P.sum(0)
    total = np.sum((P - np.outer(r, c)) ** 2 / np.outer(r, c))
    assert total == pytest.approx(chi2 / N)
    assert inertia.sum() == pytest.approx(1)
    # row principal coordinates are the column-profile-weighted averages of standard column coordinates
    assert (rows.shape, cols.shape) == ((4, 2), (3, 2))
    independent = pd.DataFrame(np.outer([1, 2, 3], [4, 5, 6]), dtype=float)
    _, _, inert = compare.correspondence_analysis(independent)
    assert np.allclose(np.nan_to_num(inert[1:]), 0) or np.isnan(inert).all()


@pytest.fixture(scope="module")
def mid_chain(resident_frame, tmp_path_factory):
    """A mid-size chain: 5,000 residents invited, 6,000 of a 12,000-person visitor frame, simulated
    fieldwork written as CSV, ingested, weighted (linearised SEs; 20 replicates)."""
    cb = codebook.load()
    model = fieldwork.FieldworkModel.load(cb)
    rs = sampling.draw_resident_sample(resident_frame, sampling.ResidentDesign(), config.rng(5, "resident-sample"))
    vframe = testing.example_visitor_frame(12000, seed=3)
    vsample = testing.example_visitor_sample(vframe, 6000, seed=4)
    folder, sim = fieldwork.prepare_survey_folder(
        "simulated", simulated_dir=tmp_path_factory.mktemp("survey"), real_dir="unused", model=model,
        resident_slots=rs.slots, resident_frame=resident_frame, population=sources.read_population(2017),
        visitor_sample=vsample, visitor_frame=vframe, seed=5, formats=["csv"])
    result = ingest.ingest(folder, {"residents": rs.slots, "visitors": vsample}, cb)
    rp = dict(population_year=2017, calibration_method="raking", calibration_bounds=[0.3, 3.0],
              min_respondents_per_level=20, nonresponse_classes=5, replicate_method="bootstrap", replicates=20)
    vp = dict(nonresponse_classes=5, calibration_target="frame", calibration_method="raking",
              calibration_bounds=[0.3, 3.0], min_respondents_per_level=20, replicate_method="bootstrap", replicates=20)
    wr = recipes.weight_residents(result.surveys["residents"].responses, resident_frame, cb, rp, config.rng(5, "r"))
    wv = recipes.weight_visitors(result.surveys["visitors"].responses, vframe, vp, config.rng(5, "v"))
    designs = {"residents": wr.final, "visitors": wv.final}
    est = compare.group_estimates(designs, cb)
    diff = compare.differences(est)
    return cb, designs, est, diff, fieldwork.truth_table(sim)


def test_chain_recovers_the_planted_differences(mid_chain):
    """Planted differences are detected and estimated within their CI; items without one are mostly
    not significant after Benjamini–Hochberg (the simulator's truth is known)."""
    cb, designs, est, diff, truth = mid_chain
    check = compare.recovery(diff, truth)
    battery = check.loc[check["in_battery"]]
    means = battery.loc[battery["statistic"] == "mean"]
    planted = means.loc[means["planted"]]
    assert len(planted) >= 6
    assert planted["detected"].mean() >= 0.8                  # the larger planted shifts are found
    null = battery.loc[~battery["planted"]]
    assert null["significant"].mean() <= 0.2                  # few false alarms
    assert check["covered"].mean() >= 0.85                    # most CIs contain the true difference
    agreement = compare.rank_agreement(designs, cb, "forces")
    assert -1 <= agreement["ci_low"] <= agreement["spearman"] <= agreement["ci_high"] <= 1


def test_group_estimates_match_the_stacked_difference(mid_chain):
    """A difference from the two groups' estimates equals mean_difference on the stacked design."""
    cb, designs, est, diff, _ = mid_chain
    stack = compare.stacked(designs, cb)
    row = diff.loc[(diff["item"] == "image_globale") & (diff["statistic"] == "mean")].iloc[0]
    d = models.mean_difference(stack, "image_globale|mean|", "groupe", "visitors", "residents")
    assert d.difference == pytest.approx(row["estimate"], rel=1e-12)
    assert d.se == pytest.approx(row["se"], rel=1e-9)


def test_adjusted_models_and_distribution_tests_run_on_the_stack(mid_chain):
    """Adjusted models (linearised here) and distribution tests give one row per ordinal item, with a
    significant group effect where a large difference was planted (img_dynamique) and adjusted p-values."""
    cb, designs, est, diff, _ = mid_chain
    stack = compare.stacked(designs, cb)
    adj = compare.adjusted_models(stack, cb, variance="linearisation").set_index("item")
    dist = compare.distribution_tests(stack, cb).set_index("item")
    assert len(adj) == len(dist) == 14
    assert adj.loc["img_dynamique", "estimate"] > 0 and adj.loc["img_dynamique", "p_adj"] < 0.01
    assert dist.loc["img_conviviale", "p_rao_scott_adj"] < 0.01
    assert dist["p_rao_scott_adj"].ge(dist["p_rao_scott"]).all()
