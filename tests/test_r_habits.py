"""What an R `survey` user does first, done as R does it (trial G: an R user's hunt on R's own api data; fixtures
by tests/reference/make_fixtures_models.R).

- A design of ready-made replicate weights only, as R ``svrepdesign`` (from the JK1 weights of ``dclus1``): such a
  design (``with_replicate_weights`` on a design without PSUs or strata) was linearised by default, every unit taken
  for a PSU (SE 7.8 where R gives 26.3); ``rao_scott`` could not use replicates; and degrees of freedom were n − 1
  (182) where R takes the rank of the replicate weights minus one (14).
- ``subset()`` keeps the design, as R's ``subset``.
- ``total()`` of a category gives each level's count, as R ``svytotal`` of a factor; ``ratio()`` is ``svyratio``.

R's values at rtol 1e-8 (svyglm: 1e-6, R's iterated fit; the median's interval: exactly, its bounds are data values).
"""

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
r = partial(helpers.r_value, pd.read_csv(FIX / "svrep.csv"))


@pytest.fixture(scope="module")
def designs():
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    clus1["stypec"] = clus1["stype"].astype("category")
    clus1["schwide_yes"] = (clus1["sch.wide"] == "Yes").astype(float)
    jk = pd.read_csv(FIX / "apiclus1_jk1_repweights.csv").set_index("snum").loc[clus1["snum"]].to_numpy(dtype=float)
    dclus1 = survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    rclus1 = survey.with_replicates(dclus1, "jk1")
    bare = survey.Design.from_frame(clus1, weights="pw")
    rd = survey.with_replicate_weights(bare, jk, scale=rclus1.replicate_scale, rscales=rclus1.replicate_rscales)
    return rd, bare


def test_a_design_of_replicate_weights_only_uses_them_by_default(designs):
    rd, bare = designs
    assert rd.replicates_only and not bare.replicates_only
    assert rd.degf == r("svrep", "degf") == 14
    m = survey.mean(rd, "api00").iloc[0]
    assert m.variance != "linearisation" and m.df == 14
    assert_allclose([m.estimate, m.se, m.ci_low, m.ci_high],
                    [r("svrep", q) for q in ("mean_api00", "se_api00", "ci_low_api00", "ci_high_api00")], rtol=1e-8)
    # linearisation stays available on request, on the units as PSUs
    lin = survey.mean(rd, "api00", variance="linearisation").iloc[0]
    assert lin.se == pytest.approx(survey.mean(bare, "api00").iloc[0].se, rel=1e-12)


def test_quantile_model_and_test_of_independence_follow_the_replicates(designs):
    rd, _ = designs
    q = survey.quantile(rd, "api00", 0.5).iloc[0]
    assert (q.ci_low, q.ci_high) == (r("svrep", "median_low"), r("svrep", "median_high"))
    fit = survey.svyglm(rd, "api00", ["ell", "stypec"])
    assert_allclose(fit.se, [r("svrep", f"glm_se_{n}") for n in ("(Intercept)", "ell", "stypeH", "stypeM")], rtol=1e-6)
    rs = survey.rao_scott(rd, "sch.wide", "stype")
    assert_allclose([rs.F, rs.ndf, rs.ddf, rs.p_F],
                    [r("svrep", f"chisq_{k}") for k in ("F", "ndf", "ddf", "p")], rtol=1e-8)


def test_rao_scott_takes_replicates_on_any_replicate_design(designs):
    """svychisq on as.svrepdesign(dclus1, "JK1") is the same test: the JK1 weights are those of ``rd``."""
    rd, _ = designs
    clus1 = rd.data
    rclus1 = survey.with_replicates(survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"), "JK1")
    rs = survey.rao_scott(rclus1, "sch.wide", "stype", variance="replicates")
    assert_allclose([rs.F, rs.ndf, rs.ddf, rs.p_F],
                    [r("svrep", f"chisq_{k}") for k in ("F", "ndf", "ddf", "p")], rtol=1e-8)
    assert survey.rao_scott(rclus1, "sch.wide", "stype").F != pytest.approx(rs.F)     # linearised by default


def test_rank_test_takes_the_replicates_as_r_does(designs):
    """svyranktest on replicate weights is svytotal of the influence values with them (R, rtol 1e-8): on ``rd`` by
    default (an audit found the replicates ignored: t 2.08 on the units as PSUs against R's 2.23), and on JK1
    replicates of a raking calibrated again in each; on a linear total a jackknife is exactly the linearisation."""
    rd, bare = designs
    for fixture, test in (("svrep_rank", "wilcoxon"), ("svrep_rank_median", "median")):
        k = survey.rank_test(rd, "api00", "sch.wide", test=test)
        assert_allclose([k.t, k.p, k.estimate], [r(fixture, q) for q in ("t", "p", "estimate")], rtol=1e-8)
        assert k.df == r(fixture, "df")
    assert survey.rank_test(rd, "api00", "sch.wide", variance="linearisation").t == pytest.approx(
        survey.rank_test(bare, "api00", "sch.wide").t, rel=1e-12)
    dclus1 = survey.Design.from_frame(rd.data, weights="pw", psu="dnum", fpc="fpc")
    raked = survey.calibrate(dclus1, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})], method="raking",
                             tol=1e-12)
    k = survey.rank_test(survey.with_replicates(raked, "jk1"), "api00", "sch.wide", variance="replicates")
    assert_allclose([k.t, k.p, k.estimate], [r("jk1_raking_rank", q) for q in ("t", "p", "estimate")], rtol=1e-8)
    jk = survey.with_replicates(dclus1, "jk1")
    for group in ("sch.wide", "stype"):          # two groups and three (where R's svyranktest fails on replicates)
        lin, rep = survey.rank_test(jk, "api00", group), survey.rank_test(jk, "api00", group, variance="replicates")
        assert getattr(rep, "t", getattr(rep, "chisq", None)) == pytest.approx(
            getattr(lin, "t", getattr(lin, "chisq", None)), rel=1e-10)
    with pytest.raises(survey.ParameterError, match="no replicate weights"):
        survey.rank_test(dclus1, "api00", "stype", variance="replicates")


def test_domain_degrees_of_freedom_are_the_rank_of_the_domains_replicate_weights(designs):
    rd, _ = designs
    e = survey.mean(rd, "schwide_yes", by="awards", interval="logit").set_index("domain")
    for level in ("No", "Yes"):
        row, fx = e.loc[f"awards={level}"], f"svrep_awards_{level}"
        assert row.df == r(fx, "degf")
        assert_allclose([row.ci_low, row.ci_high], [r(fx, "logit_low"), r(fx, "logit_high")], rtol=1e-6)
    assert survey.domain_degf(rd, (rd.data["awards"] == "No").to_numpy()) == 12


def test_the_rank_ignores_replicates_that_repeat_another(designs):
    """Brute force: a replicate written twice adds no degree of freedom."""
    rd, _ = designs
    twice = np.hstack([rd.replicate_matrix, rd.replicate_matrix[:, :3]])
    d = survey.with_replicate_weights(survey.Design.from_frame(rd.data, weights="pw"), twice, scale=1.0)
    assert d.degf == rd.degf


def test_subset_keeps_the_design_as_r_does():
    """Trial G: subset() dropped the other PSUs (SE 39.27 where R's subset gives 38.02). It now keeps them with weight
    0, as R; ``drop=True`` still gives a design of the units kept alone."""
    s = partial(helpers.r_value, pd.read_csv(FIX / "subset.csv"))
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    d = survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    h = (clus1["stype"] == "H").to_numpy()
    sub = survey.subset(d, h)
    m, t = survey.mean(sub, "api00").iloc[0], survey.total(sub, "enroll").iloc[0]
    assert_allclose([m.estimate, m.se, t.estimate, t.se],
                    [s("subset_H", q) for q in ("mean_api00", "se_api00", "total_enroll", "se_enroll")], rtol=1e-8)
    assert sub.degf == m.df == s("subset_H", "degf")
    assert m.se == pytest.approx(survey.mean(d, "api00", by="stype").set_index("domain").loc["stype=H", "se"], rel=1e-12)
    rj = survey.mean(survey.subset(survey.with_replicates(d, "jk1"), h), "api00", variance="replicates").iloc[0]
    assert rj.se == pytest.approx(s("subset_H_jk1", "se_api00"), rel=1e-8) and rj.df == s("subset_H_jk1", "degf")
    # after a calibration, units outside the subset keep their calibrated weight in the residuals, as R's
    # svyrecvar (the review of this change: they were weighted 0, SE 21.58 where R gives 21.50); JK1 re-runs it
    cal = survey.calibrate(d, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                               survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
    yes = (clus1["awards"] == "Yes").to_numpy()
    assert survey.mean(survey.subset(cal, yes), "api00").iloc[0].se == pytest.approx(
        s("subset_cal_awards", "se_api00"), rel=1e-8)
    rcal = survey.subset(survey.with_replicates(cal, "jk1"), yes)
    assert survey.mean(rcal, "api00", variance="replicates").iloc[0].se == pytest.approx(
        s("subset_cal_awards_jk1", "se_api00"), rel=1e-8)
    dropped = survey.subset(d, h, drop=True)
    assert len(dropped.weights) == h.sum() and survey.mean(dropped, "api00").iloc[0].se != pytest.approx(m.se)


def test_subset_reads_a_missing_mask_value_as_r_does_and_refuses_text():
    """Trial S: a NaN in a float mask kept its unit (``np.asarray(mask, bool)``), where R's ``subset`` reads NA as
    FALSE, and the text « False » kept its unit too. A mask that is H, 0 or missing now gives R's subset to H
    (fixture ``subset_H``), whatever its type; text is refused."""
    s = partial(helpers.r_value, pd.read_csv(FIX / "subset.csv"))
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    d = survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    h = (clus1["stype"] == "H").to_numpy()
    m_units = (clus1["stype"] == "M").to_numpy()
    as_float = np.where(h, 1.0, np.where(m_units, np.nan, 0.0))
    nullable = pd.array(np.where(m_units, None, h), dtype="boolean")
    with_none = np.where(m_units, None, h).astype(object)
    for mask in (as_float, pd.Series(as_float * 2), nullable, with_none):
        m = survey.mean(survey.subset(d, mask), "api00").iloc[0]
        assert_allclose([m.estimate, m.se], [s("subset_H", "mean_api00"), s("subset_H", "se_api00")], rtol=1e-8)
    with pytest.raises(survey.ParameterError, match="neither booleans nor numbers"):
        survey.subset(d, np.where(h, "True", "False"))
    with pytest.raises(survey.ParameterError, match="first at position 0, counting from 0, is a str"):
        survey.subset(d, np.array(["False"] + [True] * (len(h) - 1), dtype=object))


def test_total_of_a_category_is_the_count_of_each_level():
    """Trial G: R svytotal(~stype) gives each level's estimated count; total() refused a category."""
    f = partial(helpers.r_value, pd.read_csv(FIX / "factor_totals.csv"))
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    d = survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    for design, variance, fx in ((d, "linearisation", "factor_total"),
                                 (survey.with_replicates(d, "jk1"), "replicates", "factor_total_jk1")):
        t = survey.total(design, "stype", variance=variance).set_index("level")
        assert (t["statistic"] == "total").all() and list(t.index) == ["E", "H", "M"]
        assert_allclose(t["se"], [f(fx, f"se_stype{lv}") for lv in "EHM"], rtol=1e-8)
    t = survey.total(d, "stype").set_index("level")
    assert_allclose(t["estimate"], [f("factor_total", f"total_stype{lv}") for lv in "EHM"], rtol=1e-10)


def test_ratio_equals_svyratio():
    """Trial G: no svyratio. Whole sample, by domain, JK1 and after a raking calibration (calibration residuals)."""
    f = partial(helpers.r_value, pd.read_csv(FIX / "ratios.csv"))
    clus1 = pd.read_csv(FIX / "apiclus1.csv")
    d = survey.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    e = survey.ratio(d, "api00", "api99").iloc[0]
    assert (e.statistic, e.variable) == ("ratio", "api00/api99") and np.isnan(e.deff)
    assert_allclose([e.estimate, e.se], [f("ratio", "estimate"), f("ratio", "se")], rtol=1e-8)
    by = survey.ratio(d, "api00", "api99", by="stype").set_index("domain")
    assert_allclose(by[["estimate", "se"]].to_numpy(),
                    [[f(f"ratio_by_{s}", "estimate"), f(f"ratio_by_{s}", "se")] for s in "EHM"], rtol=1e-8)
    j = survey.ratio(survey.with_replicates(d, "jk1"), "api00", "api99", variance="replicates").iloc[0]
    assert j.se == pytest.approx(f("ratio_jk1", "se"), rel=1e-8)
    cal = survey.calibrate(d, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                               survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
    c = survey.ratio(cal, "api00", "api99").iloc[0]
    assert_allclose([c.estimate, c.se], [f("ratio_cal", "estimate"), f("ratio_cal", "se")], rtol=1e-8)
    # a mean is the ratio of y to 1 (closed form): the same estimate and SE
    one = survey.update(d, one=np.ones(len(clus1)))
    assert_allclose(survey.ratio(one, "api00", "one")[["estimate", "se"]].to_numpy(),
                    survey.mean(one, "api00")[["estimate", "se"]].to_numpy(), rtol=1e-12)


def test_a_design_calibrated_twice_equals_r():
    """Trial J (a mutation survived): no test had two calibrations in turn, and the engine residualised ``u`` on each
    while R's ``svyrecvar`` scales each calibration's residuals by the weights it left: SE 23.87 where R gives
    23.81. Now R's, estimate and SE of a mean and a total (rtol 1e-8)."""
    f = partial(helpers.r_value, pd.read_csv(FIX / "calibrated_twice.csv"))
    d = survey.Design.from_frame(pd.read_csv(FIX / "apiclus1.csv"), weights="pw", psu="dnum", fpc="fpc")
    once = survey.calibrate(d, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})], method="linear")
    twice = survey.calibrate(once, [survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="linear")
    m, t = survey.mean(twice, "api00").iloc[0], survey.total(twice, "enroll").iloc[0]
    assert_allclose([m.estimate, m.se], [f("twice_mean", "estimate"), f("twice_mean", "se")], rtol=1e-8)
    assert_allclose([t.estimate, t.se], [f("twice_total", "estimate"), f("twice_total", "se")], rtol=1e-8)


def test_numeric_levels_and_domains_read_as_r_factors():
    """Trial S: a code read with missing values is a float column; its levels came out « 1.0 », sorted as text
    (« 10 » before « 2 »), and a unit missing one of two domain variables made a domain « 10 × <NA> ». R's
    ``factor()`` writes « 1 » and sorts by value, and ``interaction()`` leaves such a unit in no domain. The
    oracle is those rules, with each domain's mean computed by hand."""
    df = pd.DataFrame({"w": [1.0, 2, 1, 3, 1, 2, 1], "y": [1.0, 0, np.nan, 1, 0, 1, 1],
                       "g": [1.0, 2, 10, np.nan, 2, 10, 10], "x": [1.0, 2, 3, 4, 5, 6, 7]})
    d = survey.Design.from_frame(df, weights="w")
    assert list(survey.proportion(d, "y")["level"]) == ["0", "1"]
    by_g = survey.mean(d, "x", by="g")
    assert list(by_g["domain"]) == ["g=1", "g=2", "g=10"]
    for g, row in zip((1.0, 2.0, 10.0), by_g.itertuples()):
        sel = df["g"] == g
        assert row.estimate == pytest.approx(np.average(df.loc[sel, "x"], weights=df.loc[sel, "w"]), rel=1e-14)
    both = survey.mean(d, "x", by=["g", "y"])
    assert set(both["domain"]) == {"g × y=1 × 1", "g × y=2 × 0", "g × y=10 × 1"}
    ten = both.set_index("domain").loc["g × y=10 × 1", "estimate"]
    assert ten == pytest.approx(np.average([6.0, 7.0], weights=[2.0, 1.0]), rel=1e-14)
    assert list(survey.total(d, "g")["estimate"]) == pytest.approx([np.nansum(df["g"] * df["w"])])
    assert list(survey.proportion(d, "g")["level"]) == ["1", "2", "10"]
    # trial V: a code that is not all whole numbers kept « 1.0 »; R's as.character writes 0.5, 1, 5 and 1e+05
    half = survey.update(d, c2=np.array([0.5, 1.0, 5.0, np.nan, 1e5, 1.0, 0.5]))
    assert list(survey.proportion(half, "c2")["level"]) == ["0.5", "1", "5", "1e+05"]
    assert survey.svyglm(half, "x ~ factor(c2)").names == ["(Intercept)", "factor(c2)1", "factor(c2)5", "factor(c2)1e+05"]


def test_weighting_a_design_of_ready_made_replicates_reweights_every_replicate(designs):
    """R's postStratify and calibrate of a svrepdesign calibrate every replicate again; the engine changed only the
    full-sample weights, and its SEs were the uncalibrated ones (an audit: 26.33 for R's 3.94 after ~stype + api99).
    Every replicate now goes through the step, and each replicate total meets the margin (closed form)."""
    rd, _ = designs
    pop = {"E": 4421, "H": 755, "M": 1018}
    post = survey.post_stratify(rd, "stype", pop)
    cal = survey.calibrate(rd, [survey.Margin.of("stype", pop), survey.NumericTotal("api99", 3914069)], method="linear")
    for name, d in (("svrep_post", post), ("svrep_cal", cal)):
        assert_allclose([survey.mean(d, "api00").iloc[0]["se"], survey.total(d, "enroll").iloc[0]["se"]],
                        [r(name, "se_api00"), r(name, "se_enroll")], rtol=1e-8)
    h = (rd.data["stype"] == "H").to_numpy()
    assert_allclose(post.replicate_weights()[h].sum(axis=0), 755, rtol=1e-12)
