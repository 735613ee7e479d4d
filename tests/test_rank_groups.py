"""Design-based rank tests between more than two groups (R ``svyranktest`` of a factor of k levels, its
``multiranktest``), against R on the api data (fixture by tests/reference/make_fixtures_models.R, rtol 1e-8): the
Wald F of the rank scores' group coefficients, its degrees of freedom and p-value, with missing values left out."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
r = partial(helpers.r_value, pd.read_csv(FIX / "rank_groups.csv"))


def _same(result: survey.MultiRankTest, fixture: str) -> None:
    assert_allclose([result.chisq, result.p], [r(fixture, "chisq"), r(fixture, "p")], rtol=1e-8)
    assert (result.ndf, result.ddf) == (r(fixture, "ndf"), r(fixture, "ddf"))
    assert result.f == pytest.approx(result.chisq / result.ndf, rel=1e-15)


def test_kruskal_wallis_of_a_cluster_sample_equals_r(dclus1):
    k = survey.rank_test(dclus1, "api00", "stype")
    _same(k, "kw_clus1")
    assert k.levels == ("E", "H", "M") and k.test == "wilcoxon"


def test_median_test_of_a_stratified_sample_equals_r():
    strat = helpers.api_design("strat")
    _same(survey.rank_test(strat, "api00", "stype", test="median"), "median_strat")


def test_missing_values_are_left_out_as_r(dclus1):
    """avg.ed is missing for 26 schools; R drops them (and their PSUs from the degrees of freedom)."""
    _same(survey.rank_test(dclus1, "avg.ed", "stype", test="vanderWaerden"), "vdw_na")


def test_two_groups_still_give_the_t_test_and_one_group_is_refused(dclus1):
    two = survey.rank_test(dclus1, "api00", "sch.wide")
    assert isinstance(two, survey.RankTest) and np.isfinite(two.t)
    with pytest.raises(survey.ParameterError, match="'one' has 1"):
        survey.rank_test(survey.update(dclus1, one=["x"] * 183), "api00", "one")


def test_a_mid_rank_at_half_the_population_scores_zero_in_the_median_test(dclus1):
    """An audit: with equal weights and an odd number of schools, one mid-rank is N/2 exactly; summed in another order
    it came 6 ulps above, scored 1, and the median test gave χ² 23.58 for R's 23.97. R's name of the Wilcoxon
    scores, « KruskalWallis », is accepted for them."""
    _same(survey.rank_test(dclus1, "enroll", "stype", test="median"), "median_tie")
    kw = survey.rank_test(dclus1, "api00", "stype", test="KruskalWallis")
    _same(kw, "kw_clus1")


def test_a_domain_of_a_calibrated_design_ranks_its_own_units_only(dclus1):
    """An audit: on ``subset`` of a raked ``dclus1`` (elementary schools), R's ``svyranktest`` gives t = 1.00802 and
    the engine 1.00774. R averages the mid-ranks over every row it holds, and its calibrated subset keeps the other
    schools at weight 0: twelve of their api00 values tie with the domain's and move its mid-ranks. Shifting those
    schools' values by 0.1, which changes nothing of the domain, moves R to the engine's value (R fixture
    ``domain_cal``). The test's oracles: that invariance, and R once no tie crosses the domain's border."""
    raked = survey.calibrate(dclus1, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                      survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
    elementary = (dclus1.data["stype"] == "E").to_numpy()
    shifted = survey.update(raked, api00=np.where(elementary, dclus1.data["api00"], dclus1.data["api00"] + 0.1))
    ties = np.isin(dclus1.data["api00"][~elementary], dclus1.data["api00"][elementary]).sum()
    assert ties == 12                                       # the ties R's mid-ranks pick up
    here = survey.rank_test(survey.subset(raked, elementary), "api00", "awards")
    there = survey.rank_test(survey.subset(shifted, elementary), "api00", "awards")
    assert_allclose([here.t, here.p], [there.t, there.p], rtol=1e-12)
    assert_allclose([there.t, there.df, there.p], [r("domain_cal", q) for q in ("t", "df", "p")], rtol=1e-8)
