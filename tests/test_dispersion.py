"""The population variance with its SE (``var``, R ``svyvar``), against R on the api data (fixture by
tests/reference/make_fixtures_models.R, rtol 1e-8) and against closed forms: equal weights give the sample variance
(divisor n − 1)."""

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
r = partial(helpers.r_value, pd.read_csv(FIX / "variances.csv"))


def _pairs(table: pd.DataFrame, fixtures: list[str]) -> None:
    assert_allclose(table["estimate"], [r(f, "estimate") for f in fixtures], rtol=1e-8)
    assert_allclose(table["se"], [r(f, "se") for f in fixtures], rtol=1e-8)


def test_variance_of_stratified_and_clustered_samples_equals_r(dclus1):
    strat = helpers.api_design("strat")
    _pairs(survey.var(strat, "api00"), ["var_strat"])
    v = survey.var(dclus1, "api00")
    _pairs(v, ["var_clus1"])
    assert v["statistic"].iloc[0] == "variance" and np.isnan(v["deff"].iloc[0]) and v["n"].iloc[0] == 183


def test_variance_by_domain_equals_r_svyby(dclus1):
    _pairs(survey.var(dclus1, "api00", by="stype"), [f"var_by_{s}" for s in "EHM"])


def test_replicates_recompute_the_mean_in_each_replicate_as_r(dclus1):
    """R's replicate ``svyvar`` recomputes ȳ in every replicate; keeping the full sample's ȳ gives another SE."""
    jk = survey.with_replicates(dclus1, "jk1")
    whole = survey.var(jk, "api00", variance="replicates")
    _pairs(whole, ["var_jk1"])
    assert whole["variance"].iloc[0] == "jk1"
    _pairs(survey.var(jk, "api00", by="stype", variance="replicates"), [f"var_jk1_by_{s}" for s in "EHM"])


def test_variance_after_calibration_equals_r(dclus1):
    cal = survey.calibrate(dclus1, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                   survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
    _pairs(survey.var(cal, "api00"), ["var_cal"])


def test_equal_weights_give_the_sample_variance_and_missing_values_are_left_out():
    """Closed form: with equal weights the estimate is the sample variance with divisor n − 1, per domain too."""
    rng = np.random.default_rng(7)
    x = rng.normal(50, 12, 40)
    frame = pd.DataFrame({"x": x, "g": np.repeat(["a", "b"], 20), "w": 3.0})
    frame.loc[[3, 25], "x"] = np.nan
    d = survey.Design.from_frame(frame, weights="w")
    v = survey.var(d, "x", by="g")
    kept = frame.dropna()
    assert_allclose(v["estimate"], kept.groupby("g")["x"].var(ddof=1).to_numpy(), rtol=1e-12)
    assert v["n"].tolist() == [19, 19]
    one = survey.var(survey.Design.from_frame(frame.iloc[:2].assign(x=[1.0, np.nan]), weights="w"), "x")
    assert np.isnan(one["estimate"].iloc[0])          # a single unit has no variance


def test_a_text_column_is_refused(dclus1):
    with pytest.raises(survey.ParameterError, match="'stype' is not numeric"):
        survey.var(dclus1, "stype")
