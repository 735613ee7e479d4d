"""Residents versus visitors: each method on a case with a known answer, and the planted differences
of the simulator recovered by the whole chain (frames → fieldwork → ingest → weighting → comparison)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait.study import codebook, compare, fieldwork, frames, group_models, ingest, recipes
from portrait.pipeline import config, sources
from portrait import survey
from tests import helpers
from portrait.survey import Design



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
        p["wald"].append(survey.mean_difference(d, "y", "g", "b", "a").p)
        p["rao_scott"].append(survey.rao_scott(d.with_weights(d.weights), "y", "g").p_F)
        p["rank"].append(survey.rank_test(d, "y", "g").p)
    for name, values in p.items():
        values = np.array(values)
        assert stats.kstest(values, "uniform").pvalue > 0.01, name
        assert 0.015 <= (values < 0.05).mean() <= 0.10, name


def test_planted_difference_is_detected():
    """A shift of 0.3 SD between groups of 1,000 is detected by every test (p < 0.001)."""
    d = _two_samples(np.random.default_rng(7), 1000, shift=0.3)
    assert survey.mean_difference(d, "y", "g", "b", "a").p < 1e-3
    assert survey.rao_scott(d, "y", "g").p_F < 1e-3
    assert survey.rank_test(d, "y", "g").p < 1e-3


@pytest.mark.parametrize("method,expected", [
    # BH by hand: sorted p (0.005, 0.01, 0.03, 0.04), m = 4, p_(i) m / i = (0.02, 0.02, 0.04, 0.04), then the
    # running minimum from the top
    ("fdr_bh", [0.02, 0.04, 0.04, np.nan, 0.02]),
    # Holm by hand: (m − i + 1) p_(i) = (0.02, 0.03, 0.06, 0.04), then the running maximum from the bottom
    ("holm", [0.03, 0.06, 0.06, np.nan, 0.02]),
])
def test_benjamini_hochberg_and_holm_by_hand(method, expected):
    """Adjusted p-values of a family computed by hand (BH 1995, Holm 1979); a missing p-value stays missing
    and is not counted in the family."""
    got = compare.adjust_pvalues([0.01, 0.04, 0.03, np.nan, 0.005], method)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    capped = {"fdr_bh": [0.4, 0.4], "holm": [0.6, 0.6]}[method]
    np.testing.assert_allclose(compare.adjust_pvalues([0.3, 0.4], method), capped, rtol=1e-12)
    assert np.isnan(compare.adjust_pvalues([np.nan, np.nan], method)).all()


def test_correspondence_analysis_matches_r_corresp():
    """Principal coordinates and inertia shares equal R MASS::corresp's (standard scores × canonical
    correlations) on a 5 × 4 table, each dimension up to its sign (rtol 1e-10)."""
    ref = pd.read_csv(sources_fixture("corresp.csv"), keep_default_na=False)
    cells = ref.loc[ref["kind"] == "table"]
    table = cells.pivot(index="name", columns="dim", values="value").astype(float)
    cor = ref.loc[ref["kind"] == "cor", "value"].astype(float).to_numpy()
    rows, cols, inertia = compare.correspondence_analysis(table, dims=3)
    np.testing.assert_allclose(inertia[:3], cor ** 2 / np.sum(cor ** 2), rtol=1e-10)
    assert np.allclose(inertia[3:], 0, atol=1e-12)          # a 5 × 4 table has 3 non-trivial dimensions
    for kind, ours in (("rscore", rows), ("cscore", cols)):
        std = ref.loc[ref["kind"] == kind].pivot(index="name", columns="dim", values="value").astype(float)
        principal = std.loc[ours.index, ours.columns].to_numpy() * cor
        sign = np.sign(np.sum(principal * ours.to_numpy(), axis=0))
        np.testing.assert_allclose(ours.to_numpy(), principal * sign, rtol=1e-10, atol=1e-12)


def test_fisher_z_interval_is_r_cor_test():
    """With var(z) = 1/(n − 3), the Fisher-z interval equals R cor.test's for Pearson's r (rtol 1e-12)."""
    ref = pd.read_csv(sources_fixture("cor_test.csv"))
    for r in ref.itertuples():
        low, high = compare.fisher_z_interval(r.r, 1 / (r.n - 3), r.level)
        np.testing.assert_allclose([low, high], [r.low, r.high], rtol=1e-12, err_msg=r.case)


def sources_fixture(name: str):
    from portrait.pipeline import paths

    return paths.TESTS / "reference" / "fixtures" / name


@pytest.fixture(scope="module")
def mid_chain(resident_frame, tmp_path_factory):
    """A mid-size chain: 5,000 residents invited, 6,000 of a 12,000-person visitor frame, simulated
    fieldwork written as CSV, ingested, weighted (linearised SEs; 20 replicates)."""
    cb = codebook.load()
    model = fieldwork.FieldworkModel.load(cb)
    rs = frames.draw_resident_sample(resident_frame, frames.ResidentDesign(), config.rng(5, "resident-sample"))
    vframe = helpers.example_visitor_frame(12000, seed=3)
    vsample = helpers.example_visitor_sample(vframe, 6000, seed=4)
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
    not significant after Benjamini–Hochberg (the simulator's truth is known).

    One sample, so a smoke check of the chain's direction, not of its standard errors: SEs 25 % too small would
    still cover about 86 % of the true differences and pass. The SEs' oracle is the validation study's Monte Carlo
    (coverage and mean SE / empirical SD over thousands of samples, with their Monte Carlo intervals)."""
    cb, designs, est, diff, truth = mid_chain
    check = compare.recovery(diff, truth)
    battery = check.loc[check["in_battery"]]
    means = battery.loc[battery["statistic"] == "mean"]
    planted = means.loc[means["shifted"]]
    assert len(planted) >= 6 and planted["nonzero"].all()
    assert planted["detected"].mean() >= 0.8                  # the larger planted shifts are found
    null = battery.loc[~battery["nonzero"]]
    assert null["significant"].mean() <= 0.2                  # few false alarms
    assert check["covered"].mean() >= 0.85                    # most CIs contain the true difference


def test_group_estimates_match_the_stacked_difference(mid_chain):
    """A difference from the two groups' estimates equals mean_difference on the stacked design."""
    cb, designs, est, diff, _ = mid_chain
    stack = compare.stacked(designs, cb)
    row = diff.loc[(diff["item"] == "image_globale") & (diff["statistic"] == "mean")].iloc[0]
    d = survey.mean_difference(stack, "image_globale|mean|", "groupe", "visitors", "residents")
    assert d.difference == pytest.approx(row["estimate"], rel=1e-12)
    assert d.se == pytest.approx(row["se"], rel=1e-9)


def test_shares_take_logit_intervals_and_means_students(mid_chain):
    """Closed forms: a share's interval is expit(logit(p) ± t·se / (p(1 − p))) and stays within [0, 1]; a mean's
    and the net promoter score's is estimate ± t·se (t on the row's degrees of freedom)."""
    from scipy import special, stats
    _, _, est, _, _ = mid_chain
    t = stats.t.ppf(0.975, est["df"].to_numpy(dtype=float))
    share = est["statistic"].isin(compare.SHARES).to_numpy() & (est["se"] > 0).to_numpy()
    p, se = est["estimate"].to_numpy(), est["se"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        half = t * se / (p * (1 - p))
        low, high = special.expit(special.logit(p) - half), special.expit(special.logit(p) + half)
    np.testing.assert_allclose(est.loc[share, "ci_low"], low[share], rtol=1e-9)
    np.testing.assert_allclose(est.loc[share, "ci_high"], high[share], rtol=1e-9)
    assert share.sum() > 100 and (est.loc[share, "ci_low"] >= 0).all() and (est.loc[share, "ci_high"] <= 1).all()
    other = ~est["statistic"].isin(compare.SHARES).to_numpy()
    assert set(est.loc[other, "statistic"]) == {"mean", "nps_score"}
    np.testing.assert_allclose(est.loc[other, "ci_high"] - est.loc[other, "estimate"], (t * se)[other], rtol=1e-9)


def test_a_restricted_table_is_the_full_tables_rows(mid_chain):
    """The sensitivity table estimates only its statistics (words among them): the same rows as the full
    table's, to rounding (a narrower matrix product sums in another order)."""
    cb, designs, est, _, _ = mid_chain
    wanted = pd.concat([compare.SENSITIVITY_STATISTICS,
                        est.loc[est["type"] == "open_words", ["item", "statistic", "level"]].drop_duplicates().head(2)])
    part = compare.group_estimates(designs, cb, statistics=wanted)
    full = est.merge(wanted, on=["item", "statistic", "level"])
    assert len(part) == len(full) == 2 * len(wanted)
    pd.testing.assert_frame_equal(part, full, check_exact=False, rtol=1e-12, atol=0)


def test_adjusted_models_and_distribution_tests_run_on_the_stack(mid_chain):
    """Adjusted models (linearised here) and distribution tests give one row per ordinal item, with a
    significant group effect where a large difference was planted (img_dynamique) and adjusted p-values."""
    cb, designs, est, diff, _ = mid_chain
    stack = compare.stacked(designs, cb)
    adj = group_models.adjusted_models(stack, cb, variance="linearisation").set_index("item")
    dist = compare.distribution_tests(stack, cb).set_index("item")
    assert len(adj) == len(dist) == 14      # config/codebook.yaml: 12 image items (1–5), image_globale, recommandation
    assert adj.loc["img_dynamique", "estimate"] > 0 and adj.loc["img_dynamique", "p_adj"] < 0.01
    assert dist.loc["img_conviviale", "p_rao_scott_adj"] < 0.01
    assert dist["p_rao_scott_adj"].ge(dist["p_rao_scott"]).all()


def _holm_by_hand(p):
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    scaled = np.minimum(1.0, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    out = np.empty_like(p)
    out[order] = scaled
    return out


def test_every_family_of_tests_uses_the_runs_correction(mid_chain):
    """The run's correction (``adjust``) reaches every family, not the differences only: distribution tests
    and adjusted models take it, and the words' table uses the one recorded with the differences."""
    cb, designs, est, diff, _ = mid_chain
    stack = compare.stacked(designs, cb)
    dist = compare.distribution_tests(stack, cb, adjust="holm")
    np.testing.assert_allclose(dist["p_rank_adj"], _holm_by_hand(dist["p_rank"]), rtol=1e-12)
    adj = group_models.adjusted_models(stack, cb, variance="linearisation", adjust="holm")
    np.testing.assert_allclose(adj["p_adj"], _holm_by_hand(adj["p"]), rtol=1e-12)
    holm = compare.differences(est, adjust="holm")
    words = compare.word_table(est, holm)
    assert compare.adjustment_method(holm) == "holm" and len(words) > 3
    np.testing.assert_allclose(words["p_adj_words"], _holm_by_hand(words["p"]), rtol=1e-12)


def test_nps_is_shown_in_points_and_only_the_nps():
    df = pd.DataFrame({"statistic": ["mean", "nps_score"], "estimate": [6.8, -0.237], "se": [0.05, 0.02],
                       "deff": [1.2, 1.3]})
    out = compare.nps_in_points(df, ["estimate", "se", "ci_low"])
    assert out["estimate"].tolist() == pytest.approx([6.8, -23.7]) and out["se"].tolist() == pytest.approx([0.05, 2.0])
    assert out["deff"].tolist() == [1.2, 1.3] and df["estimate"].iloc[1] == -0.237      # input untouched


def test_shares_are_shown_in_percent_and_scores_as_they_are():
    df = pd.DataFrame({"statistic": ["accord", "mean", "nps_score", "share"], "estimate": [0.789, 6.8, -0.237, 0.1]})
    out = compare.shares_in_percent(df, ["estimate"])
    assert out["estimate"].tolist() == pytest.approx([78.9, 6.8, -23.7, 10.0])


def test_sensitivity_columns_put_the_retained_weighting_after_the_design_weights():
    names = ["non pondéré", "poids de sondage", "calage linéaire", "calage raking ratio", "calage logit borné",
             "clients calés sur le tourisme"]
    both = {g: {"recipe": {"calibration_method": "raking"}} for g in ("residents", "visitors")}
    order, headers = compare.sensitivity_columns(names, both)
    assert order == ["non pondéré", "poids de sondage", "calage raking ratio", "calage linéaire", "calage logit borné",
                     "clients calés sur le tourisme"]
    assert headers == {"calage raking ratio": "calage raking ratio (méthode retenue)"}
    assert compare.sensitivity_columns(names, {}) == (names, {})               # weights computed elsewhere
    logit = {g: {"recipe": {"calibration_method": "logit"}} for g in ("residents", "visitors")}
    assert compare.sensitivity_columns(names[:2], logit) == (names[:2], {})
    # residents in logit, visitors in raking (an analyst changed stage 04 only): no column is « the » method
    mixed = {"residents": {"recipe": {"calibration_method": "logit"}}, "visitors": both["visitors"]}
    order, headers = compare.sensitivity_columns(names, mixed)
    assert order[:4] == ["non pondéré", "poids de sondage", "calage logit borné", "calage raking ratio"]
    assert headers == {"calage logit borné": "calage logit borné (méthode retenue pour les habitants)",
                       "calage raking ratio": "calage raking ratio (méthode retenue pour les clients)"}


def test_question_labels_write_the_scale_of_a_one_to_five_mean():
    cb = codebook.load()
    df = pd.DataFrame({"item": ["img_accueillante", "img_accueillante", "image_globale", "recommandation"],
                       "statistic": ["mean", "accord", "mean", "nps_score"]})
    assert compare.question_labels(df, cb, nps="score net de recommandation").tolist() == [
        "Accueillante — moyenne (1 à 5)", "Accueillante — part d'accord", "Image globale (0 à 10) — moyenne",
        "Recommandation (0 à 10) — score net de recommandation"]


def test_rankings_rank_each_groups_shares_and_keep_their_intervals():
    """Ranks by hand on a three-option table (ties share the best rank, as R's rank(ties.method = "min")), and each
    share's interval beside it (a reviewer found the table of report 06 without intervals)."""
    from portrait.study import compare

    est = pd.DataFrame({"item": "forces", "statistic": "share", "level": [1, 2, 3] * 2, "label": ["a", "b", "c"] * 2,
                        "group": ["residents"] * 3 + ["visitors"] * 3,
                        "estimate": [0.5, 0.3, 0.2, 0.1, 0.4, 0.4]})
    est = est.assign(ci_low=est["estimate"] - 0.05, ci_high=est["estimate"] + 0.05)
    r = compare.rankings(pd.concat([est, est.assign(item="autre")]), "forces")
    assert list(r["label"]) == ["a", "b", "c"]
    assert list(r["rank_residents"]) == [1, 2, 3] and list(r["rank_visitors"]) == [3, 1, 1]
    assert r["ci_low_visitors"].tolist() == pytest.approx([0.05, 0.35, 0.35])
    assert r["ci_high_residents"].tolist() == pytest.approx([0.55, 0.35, 0.25])
    assert "ci_low_residents" not in compare.rankings(est.drop(columns=["ci_low", "ci_high"]), "forces")


# audit of the study's rules (a mutation audit found these unpinned): oracles by hand
def test_default_battery_is_the_documented_family():
    """Item means, top-2 boxes, the NPS score, strengths and weaknesses; nothing else (docstring)."""
    rows = [("mean", "", "likert_1_5", True), ("nps_score", "", "score_0_10", True), ("accord", "top2", "likert_1_5", True),
            ("accord", "bottom2", "likert_1_5", False), ("share", "3", "multi", True), ("share", "3", "single", False),
            ("share", "chat", "open_words", False), ("share_dk", "", "likert_1_5", False), ("nps", "promoteurs", "score_0_10", False)]
    diff = pd.DataFrame(rows, columns=["statistic", "level", "type", "expected"])
    assert compare.default_battery(diff).tolist() == diff["expected"].tolist()

def test_a_word_is_specific_only_when_its_adjusted_p_holds():
    """Raw p 0.011–0.041 on five words, BH by hand: every adjusted p is 0.05125, so no word is specific to a group."""
    p = [0.011, 0.021, 0.031, 0.041, 0.5]
    diff = pd.DataFrame({"item": "mots", "statistic": "share", "level": list("abcde"), "p": p,
                         "estimate": [0.1, -0.1, 0.1, -0.1, 0.0], "estimate_residents": [.2, .3, .2, .3, .1],
                         "estimate_visitors": [.3, .2, .3, .2, .1], "adjustment": "fdr_bh"})
    w = compare.word_table(None, diff)
    np.testing.assert_allclose(w.set_index("level").loc[list("abcde"), "p_adj_words"], helpers.bh(p))
    assert (w["specific_to"] == "").all()
    w2 = compare.word_table(None, diff.assign(p=[0.001, 0.002, 0.6, 0.7, 0.8]))
    assert dict(zip(w2["level"], w2["specific_to"])) == {"a": "visitors", "b": "residents", "c": "", "d": "", "e": ""}

def test_standardised_difference_by_hand():
    """smd = (mean_v − mean_r) / √((s_r² + s_v²)/2), s the weighted population SD, computed with numpy directly;
    shares get points (×100) and no smd."""
    cb = codebook.load()
    frames = {}
    for group, (n, seed) in (("residents", (50, 1)), ("visitors", (60, 2))):
        r = np.random.default_rng(seed)
        frames[group] = pd.DataFrame({"image_globale": pd.array(r.integers(0, 11, n), dtype="Int16"), "w": r.uniform(1, 3, n)})
    designs = {g: survey.Design.from_frame(f, weights="w") for g, f in frames.items()}
    diff = compare.differences(compare.group_estimates(designs, cb))
    out = compare.effect_sizes(designs, cb, diff)
    m, s = {}, {}
    for g, f in frames.items():
        x, w = f["image_globale"].to_numpy(float), f["w"].to_numpy()
        m[g] = np.sum(w * x) / np.sum(w)
        s[g] = np.sqrt(np.sum(w * (x - m[g]) ** 2) / np.sum(w))
    row = out.loc[(out["item"] == "image_globale") & (out["statistic"] == "mean")].iloc[0]
    assert row["smd"] == pytest.approx((m["visitors"] - m["residents"]) / np.sqrt((s["residents"] ** 2 + s["visitors"] ** 2) / 2),
                                       rel=1e-10)
    shares = out.loc[out["statistic"] == "share"]
    assert shares["smd"].isna().all() and np.allclose(shares["points"], shares["estimate"] * 100)

def test_rank_agreement_adds_the_two_surveys_variances():
    """Independent surveys: var(z) is the sum of each survey's replicate variance. With one survey's replicate factors
    all 1 its replicates equal the full sample, so each one-survey run isolates one term (read back from the width of
    its Fisher interval); the two-survey interval is fisher_z_interval at their sum."""
    from portrait.survey.replicates import with_replicates
    from scipy import stats

    cb = codebook.load()
    cols = cb.variable("forces").columns

    def design(n, seed, factors=None):
        r = np.random.default_rng(seed)
        p = np.linspace(0.1, 0.7, len(cols))[r.permutation(len(cols))]
        f = pd.DataFrame({c: pd.array((r.uniform(size=n) < pi).astype(int), dtype="Int16") for c, pi in zip(cols, p)})
        d = survey.Design.from_frame(f.assign(w=r.uniform(1, 2, n)), weights="w")
        if factors is None:
            return with_replicates(d, "bootstrap", 40, np.random.default_rng(seed + 10))
        return with_replicates(d, factors=factors, scale=1 / 39, rscales=np.ones(40))

    full = {"residents": design(80, 1), "visitors": design(90, 2)}
    flat = {"residents": design(80, 1, np.ones((80, 40))), "visitors": design(90, 2, np.ones((90, 40)))}
    q = stats.norm.ppf(0.975)

    def var_z(res):
        return ((np.arctanh(res["ci_high"]) - np.arctanh(res["ci_low"])) / (2 * q)) ** 2

    both = compare.rank_agreement(full, cb, "forces")
    v_r = var_z(compare.rank_agreement({"residents": full["residents"], "visitors": flat["visitors"]}, cb, "forces"))
    v_v = var_z(compare.rank_agreement({"residents": flat["residents"], "visitors": full["visitors"]}, cb, "forces"))
    assert v_r > 1e-4 and v_v > 1e-4          # 80 and 90 respondents: each survey adds a real share
    assert var_z(both) == pytest.approx(v_r + v_v, rel=1e-8)
    assert (both["ci_low"], both["ci_high"]) == pytest.approx(compare.fisher_z_interval(both["spearman"], v_r + v_v))


def test_differences_by_hand_welch_df_and_the_battery_adjusted_alone():
    """Trial J (mutations caught only by the chain's golden summary): the Welch–Satterthwaite df with unequal
    dfs, and the Benjamini–Hochberg adjustment over the battery's rows only, on a hand-made table.
    By hand: se_r = 1 (df 10), se_v = 2 (df 100) → df = (1 + 4)² / (1²/10 + 2⁴/100) = 25 / 0.26."""
    rows = []
    for i, (er, ev) in enumerate([(0.0, 3.0), (1.0, 1.5), (2.0, 8.0), (0.0, 9.0)]):
        for group, e, se, df in (("residents", er, 1.0, 10.0), ("visitors", ev, 2.0, 100.0)):
            rows.append({"group": group, "item": f"q{i}", "statistic": "mean", "level": "", "estimate": e, "se": se,
                         "df": df, "n": 50, "label": f"q{i}", "item_label": f"q{i}", "type": "likert_1_5"})
    out = compare.differences(pd.DataFrame(rows), battery=pd.Series([True, True, True, False]))
    df = 25 / 0.26
    assert out["df"].to_numpy() == pytest.approx([df] * 4, rel=1e-12)
    t = np.array([3.0, 0.5, 6.0, 9.0]) / np.sqrt(5)
    p = 2 * stats.t.sf(t, df)
    assert out["p"].to_numpy() == pytest.approx(p, rel=1e-10)
    # BH over the three battery rows: p_(i) · 3 / i, then the running minimum from the largest
    order = np.argsort(p[:3])
    raw = p[:3][order] * 3 / np.arange(1, 4)
    adj = np.empty(3)
    adj[order] = np.minimum.accumulate(raw[::-1])[::-1].clip(max=1)
    assert out["p_adj"].to_numpy()[:3] == pytest.approx(adj, rel=1e-12)
    assert np.isnan(out["p_adj"].iloc[3])
