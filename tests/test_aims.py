"""The study's aims in the synthesis: indicators, estimates and homogeneity tests.

Oracles: indicator bases written out by hand; weighted shares in closed form (Σ w x / Σ w over the
base); the two-department Wald F of a score equals the square of the t of the difference of domain means, which
the engine computes by another path (``mean_difference``, influence values of the two domain means); a share's
test across domains is the engine's Rao–Scott (checked against R svychisq) on a table built by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait import survey
from portrait.pipeline.errors import ParameterError
from portrait.study import aims, codebook
from tests import helpers


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def _residents(n=600, seed=3):
    rng = np.random.default_rng(seed)
    dep = rng.choice(["59", "62", "80", "02", "60"], n)
    df = pd.DataFrame({
        "departement": dep, "age": pd.array(rng.integers(1, 6, n), dtype="Int16"),
        "fierte": pd.array(rng.choice([1, 2, 3, 4, 5, 99], n, p=[.05, .1, .2, .35, .25, .05]), dtype="Int16"),
        "ambassadeur": pd.array(rng.choice([1, 2, 3, 4, 99], n), dtype="Int16"),
        "attachement": pd.array(rng.choice([1, 2, 3, 4, 5, 6, 99], n), dtype="Int16"),
        "img_littoral": pd.array(rng.choice([1, 2, 3, 4, 5], n, p=[.1, .1, .2, .3, .3]), dtype="Int16"),
        "image_globale": pd.array(rng.integers(0, 11, n), dtype="Int16"),
        "recommandation": pd.array(rng.integers(0, 11, n), dtype="Int16"),
        "w": rng.uniform(50, 150, n), "strate": dep,
    })
    df.loc[rng.uniform(size=n) < 0.05, "fierte"] = pd.NA
    return survey.Design.from_frame(df, weights="w", strata="strate")


def test_indicators_exclude_dont_know_and_non_response(cb):
    d = survey.Design.from_frame(pd.DataFrame({
        "fierte": pd.array([5, 4, 3, 99, None], dtype="Int16"), "ambassadeur": pd.array([1, 2, 3, 4, 99], dtype="Int16"),
        "departement": ["59", "62", "02", "60", "80"], "w": 1.0}), weights="w")
    x = aims.indicators(d, cb).data
    np.testing.assert_array_equal(x["fierte__oui"], [1, 1, 0, np.nan, np.nan])
    np.testing.assert_array_equal(x["ambassadeur__oui"], [0, 0, 1, 1, np.nan])
    assert x["ancienne_region"].tolist() == ["Nord-Pas de Calais", "Nord-Pas de Calais", "Picardie", "Picardie",
                                             "Picardie"]


def test_pride_shares_are_weighted_means_over_their_base(cb):
    d = _residents()
    p = aims.pride(d, cb, {str(k): f"âge {k}" for k in range(1, 6)})
    f = d.data["fierte"].astype("Float64")
    base = f.notna() & (f != 99)
    w = d.weights[base.to_numpy()]
    by_hand = np.sum(w * f[base].isin([4, 5]).to_numpy()) / w.sum()
    got = p["overall"].set_index("variable").loc["fierte__oui", "estimate"]
    assert got == pytest.approx(by_hand, rel=1e-12)
    att = p["attachment"]
    assert att["estimate"].sum() == pytest.approx(1.0, rel=1e-12)      # shares of one question over one base
    assert att["estimate"].is_monotonic_decreasing
    # trial M: the region as the closest territory, by former region (Nord and Pas-de-Calais against the rest)
    a = d.data["attachement"].astype("Float64")
    north = d.data["departement"].isin(["59", "62"]).to_numpy()
    for region, side in (("Nord-Pas de Calais", north), ("Picardie", ~north)):
        ok = (a.notna() & (a != 99)).to_numpy() & side
        share = np.sum(d.weights[ok] * (a[ok] == aims.HAUTS_DE_FRANCE).to_numpy()) / d.weights[ok].sum()
        got = p["attachment_by_region"].set_index("domaine").loc[region, "estimate"]
        assert got == pytest.approx(share, rel=1e-12), region
    assert list(p["tests"]["selon"]) == ["département", "âge", "département", "âge", "ancienne région"]


def test_two_domain_homogeneity_f_is_the_squared_t_of_the_difference(cb):
    d = aims.indicators(_residents(), cb)
    two = survey.subset(d, d.data["departement"].isin(["59", "80"]).to_numpy(), drop=True)
    F, ndf, _, _ = aims.mean_homogeneity(two, "image_globale__score", "departement")
    t = survey.mean_difference(two, "image_globale__score", "departement", "59", "80").t
    assert ndf == 1 and F == pytest.approx(t ** 2, rel=1e-9)


def test_a_share_is_tested_across_domains_by_rao_scott_on_its_own_base(cb):
    """The share's test is R svychisq's second-order F (the engine's, checked against R) of the agree × department
    table built by hand from the raw answers: « Ne sait pas » and non-response are outside the table, not « non »;
    it is not the Wald F of the regression, which trial O found too ready to reject on small cells."""
    d = _residents()
    f = d.data["fierte"].astype("Float64")
    agree = pd.array(np.where(f.isna() | (f == 99), None, np.where(f.isin([4, 5]), "oui", "non")), dtype="string")
    by_hand = survey.rao_scott(survey.update(d, agree=agree), "agree", "departement")
    F, ndf, ddf, p = aims.share_homogeneity(aims.indicators(d, cb), "fierte__oui", "departement")
    assert (F, ndf, ddf, p) == pytest.approx((by_hand.F, by_hand.ndf, by_hand.ddf, by_hand.p_F), rel=1e-12)
    wald = aims.mean_homogeneity(aims.indicators(d, cb), "fierte__oui", "departement")
    assert wald[3] != pytest.approx(p, rel=1e-3)
    tests = aims.pride(d, cb, {str(k): f"âge {k}" for k in range(1, 6)})["tests"].set_index(["variable", "selon"])
    assert tests.loc[("fierte__oui", "département"), "p"] == pytest.approx(p, rel=1e-12)


def test_a_share_with_other_values_than_one_and_zero_is_refused(cb):
    d = aims.indicators(_residents(), cb)
    with pytest.raises(ParameterError, match="image_globale__score.*1, 0 or a missing value"):
        aims.share_homogeneity(d, "image_globale__score", "departement")


def test_mosaic_reading_follows_its_rule(cb):
    """Three attributes, one per reading: agreement of 92 % in every department (« partagé »), 90 % in the Nord
    and 20 % elsewhere (« local »), about 60 % everywhere (« ni l'un ni l'autre »); each reading follows the rule."""
    base = _residents()
    dep = base.data["departement"]
    rank = (dep.groupby(dep).cumcount() % 50).to_numpy()         # the same share agrees in every department
    agree = {"img_nature": rank < 46, "img_dynamique": rank < np.where(dep == "59", 45, 10)}
    data = base.data.assign(**{k: pd.array(np.where(a, 5, 2), dtype="Int16") for k, a in agree.items()})
    m = aims.mosaic(survey.Design.from_frame(data, weights="w", strata="strate"), cb, 10)
    t = m.drop_duplicates("item")
    assert dict(zip(t["item"], t["lecture"])) == {"img_nature": "partagé", "img_dynamique": "local",
                                                  "img_littoral": "ni l'un ni l'autre"}
    for r in t.itertuples():
        low = m.loc[m["item"] == r.item, "ci_low"].min()
        expected = "local" if r.p_adj < 0.05 else ("partagé" if low >= aims.SHARED_MIN else "ni l'un ni l'autre")
        assert r.lecture == expected
    assert set(m["département"]) == {"Aisne", "Nord", "Oise", "Pas-de-Calais", "Somme"}


def test_share_of_clients_living_in_the_region_by_hand():
    """Six clients: two live in Hauts-de-France (region 32), one elsewhere in France, one abroad, one French
    with no region and one with no country — the last two are left out: share = (w₁ + w₂) / (w₁ + … + w₄)."""
    from portrait.reporting import sections

    df = pd.DataFrame({"pays": pd.array([1, 1, 1, 2, 1, pd.NA], dtype="Int16"),
                       "region_residence": pd.array([32, 32, 11, pd.NA, pd.NA, pd.NA], dtype="Int16"),
                       "w": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    d = survey.Design.from_frame(df, weights="w")
    got = aims.visitors_living_here(d)
    assert got["estimate"] == pytest.approx(3 / 10, rel=1e-12) and got["n"] == 4
    est = pd.DataFrame({"statistic": ["share_dk", "share_dk", "share_dk", "mean"], "group": ["visitors"] * 3 + ["residents"],
                        "estimate": [0.13, 0.04, 0.11, 7.0],
                        "item_label": ["Les Hauts-de-France sont une région innovante", "b", "c", "d"]})
    text = sections.scope_sentence({"residents": 10, "visitors": 6}, got, est).replace("\u00a0", " ")
    assert "pondérées, 30 % (IC à 95 % : " in text and "des clients du territoire qui ont dit où ils habitent vivent eux-mêmes" in text
    assert "Les « Ne sait pas » dépassent 10 % des réponses pour quelques questions : chez les clients, « Innovante » " \
           "(13 %) et « C » (11 %)." in text
    assert "chez les habitants" not in text
    assert text.startswith("**Qui a répondu.**")
    assert sections.scope_sentence({"residents": 10, "visitors": 6}, got, est, simulated=True).startswith(
        "**Qui a répondu (réponses simulées).**")


def test_clients_coming_back_by_origin_and_purpose_by_hand(cb):
    """Intention to come back: « d'accord » (4, 5) over the substantive answers (« Ne sait pas » out), by origin
    (Hauts-de-France, another French region, abroad; unknown origin in no domain) and by purpose — each share
    Σ w x / Σ w written by hand; the sentence names the lowest and highest origins only when the test says they
    differ, and never a group under the threshold."""
    from portrait.reporting import sections

    n = 400
    rng = np.random.default_rng(11)
    pays = rng.choice([1, 1, 2], n)
    region = np.where(pays == 1, rng.choice([32, 11, -1], n), -1)      # -1: no answer (a French client of unknown region)
    retour = rng.choice([1, 2, 3, 4, 5, 99], n)
    df = pd.DataFrame({"pays": pd.array(pays, dtype="Int16"),
                       "region_residence": pd.array(np.where(region < 0, pd.NA, region), dtype="Int16"),
                       "motif": pd.array(rng.choice([1, 2, 3], n), dtype="Int16"),
                       "intention_retour": pd.array(retour, dtype="Int16"), "w": rng.uniform(1, 3, n)})
    df.loc[:4, "pays"] = pd.NA                                  # unknown origin: in no origin domain
    r = aims.return_intention(survey.Design.from_frame(df, weights="w"), cb)
    ok = retour != 99
    agree = np.isin(retour, (4, 5)).astype(float)
    share = lambda m: (df["w"][m & ok] * agree[m & ok]).sum() / df["w"][m & ok].sum()     # noqa: E731
    known = df["pays"].notna().to_numpy()
    origins = {"Hauts-de-France": known & (pays == 1) & (region == 32), "autre région de France":
               known & (pays == 1) & (region == 11), "étranger": known & (pays == 2)}
    got = r["by_origin"].set_index("domaine")
    for label, m in origins.items():
        assert got.loc[label, "estimate"] == pytest.approx(share(m), rel=1e-12)
        assert got.loc[label, "n"] == (m & ok).sum()
    o = r["overall"].iloc[0]
    assert o["estimate"] == pytest.approx(share(np.ones(n, dtype=bool)), rel=1e-12)
    # a share's interval is R svyciprop's logit one (as every share of the aims): on 400 units, 399 df
    half = stats.t.ppf(0.975, n - 1) * o["se"] / (o["estimate"] * (1 - o["estimate"]))
    logit = np.log(o["estimate"] / (1 - o["estimate"]))
    assert (o["ci_low"], o["ci_high"]) == pytest.approx(tuple(1 / (1 + np.exp(-(logit + s * half))) for s in (-1, 1)),
                                                        rel=1e-9)
    motif = r["by_motif"].set_index("domaine")
    assert motif.loc["Les deux", "estimate"] == pytest.approx(share(df["motif"].to_numpy() == 3), rel=1e-12)

    r["tests"]["p_adj"] = [0.001, 0.5]
    text = sections.return_sentences(r, 10).replace("\u00a0", " ")
    lo, hi = got["estimate"].idxmin(), got["estimate"].idxmax()
    assert f"cette part varie selon le lieu où ils habitent (test de Rao–Scott, p ajusté = 0,0010) : " \
           f"{fmt_pct(got.loc[lo, 'estimate'])} chez ceux qui habitent {sections.ORIGIN_PHRASES[lo]}" in text
    assert "pas d'écart établi selon le motif de leur dernier séjour (p ajusté = 0,5000)" in text
    assert sections.ORIGIN_PHRASES[hi] not in sections.return_sentences(r, 1000)   # every group under the threshold
    unknown = (ok & ~(origins["Hauts-de-France"] | origins["autre région de France"] | origins["étranger"])).sum()
    assert unknown > 0 and (f"{unknown} clients qui n'ont pas précisé leur pays ou, en France, leur région ne comptent "
                            "que dans l'ensemble") in text


def fmt_pct(x):
    from portrait.reporting import formatting as fmt

    return fmt.percent(x, 0).replace("\u00a0", " ")


def test_gaps_without_the_clients_living_here_by_hand(cb):
    """The agreement gaps with only the clients living outside the region: the clients' « d'accord » share
    Σ w x / Σ w over those living in another region or abroad (unknown origin and « Ne sait pas » out), minus the
    residents' share; the variance the sum of the two; Welch–Satterthwaite df; the p-values adjusted by
    Benjamini–Hochberg with the rest of the battery, written out by hand."""
    from scipy import stats

    n = 500
    rng = np.random.default_rng(5)
    pays = rng.choice([1, 1, 2], n)
    region = np.where(pays == 1, rng.choice([32, 11], n), -1)
    items = ["img_littoral", "img_nature"]
    answers = {i: rng.choice([1, 2, 3, 4, 5, 99], n) for i in items}
    df = pd.DataFrame({"pays": pd.array(pays, dtype="Int16"),
                       "region_residence": pd.array(np.where(region < 0, pd.NA, region), dtype="Int16"),
                       **{i: pd.array(a, dtype="Int16") for i, a in answers.items()}, "w": rng.uniform(1, 3, n)})
    df.loc[:9, "pays"] = pd.NA
    visitors = survey.Design.from_frame(df, weights="w")
    est = pd.DataFrame({"item": items, "statistic": "accord", "level": "top2", "group": "residents",
                        "estimate": [0.60, 0.55], "se": [0.02, 0.03], "df": [40.0, 40.0]})
    diff = pd.DataFrame({"item": [*items, "image_globale"], "statistic": ["accord", "accord", "mean"],
                         "level": ["top2", "top2", ""], "in_battery": True, "p": [0.5, 0.5, 0.001],
                         "adjustment": "fdr_bh"})
    g = aims.gaps_without_local_clients(visitors, cb, est, diff).set_index("item")

    outside = df["pays"].notna().to_numpy() & ((pays == 2) | (region == 11))
    w = df["w"].to_numpy()
    p_all = [None, None, 0.001]
    for k, i in enumerate(items):
        ok = outside & (answers[i] != 99)
        share = (w[ok] * np.isin(answers[i][ok], (4, 5))).sum() / w[ok].sum()
        r = g.loc[i]
        assert r["estimate_visitors"] == pytest.approx(share, rel=1e-12) and r["n_visitors"] == ok.sum()
        assert r["estimate"] == pytest.approx(share - est["estimate"][k], rel=1e-12)
        se_v2 = r["se"] ** 2 - est["se"][k] ** 2
        assert 0 < se_v2 < 0.01
        nu_v = visitors.degf
        welch = r["se"] ** 4 / (est["se"][k] ** 4 / 40 + se_v2 ** 2 / nu_v)
        assert r["df"] == pytest.approx(welch, rel=1e-10)
        assert r["p"] == pytest.approx(2 * stats.t.sf(abs(r["estimate"]) / r["se"], welch), rel=1e-10)
        p_all[k] = r["p"]
    order = np.argsort(p_all)
    bh = np.minimum.accumulate((np.array(p_all)[order] * 3 / np.arange(1, 4))[::-1])[::-1]
    expected = np.empty(3)
    expected[order] = np.minimum(bh, 1)
    assert list(g["p_adj"]) == pytest.approx(list(expected[:2]), rel=1e-12)


def test_the_local_clients_sentence_says_what_holds_and_what_changes():
    """Same established gaps in the same direction; then one lost and one gained; then a sign reversed."""
    from portrait.reporting import sections

    short = {"a": "A", "b": "B", "c": "C"}
    diff = pd.DataFrame({"item": ["a", "b", "c"], "statistic": "accord", "level": "top2", "in_battery": True,
                         "estimate": [0.10, -0.08, 0.01], "p_adj": [0.001, 0.01, 0.6]})
    gaps = pd.DataFrame({"item": ["a", "b", "c"], "estimate": [0.12, -0.05, 0.015], "p_adj": [0.001, 0.02, 0.7]})
    text = sections.local_clients_sentence(gaps, diff, short).replace("\u00a0", " ")
    assert "les mêmes 2 écarts d'accord sont établis, dans le même sens ; l'écart qui bouge le plus, « B », " \
           "passe de −8,0 points à −5,0 points, et reste établi." in text
    text = sections.local_clients_sentence(gaps.assign(p_adj=[0.001, 0.2, 0.01]), diff, short).replace("\u00a0", " ")
    assert "1 des 2 écarts d'accord établis le reste ; « B » n'est plus établi ; « C » (+1,5 point) le devient" in text
    text = sections.local_clients_sentence(gaps.assign(estimate=[-0.02, -0.05, 0.0]), diff, short)
    assert "1 des 2 écarts d'accord établis le reste ; « A » (−2,0 points) change de sens ;" in text.replace("\u00a0", " ")


def test_every_table_of_the_aims_carries_the_level_its_intervals_were_computed_at(cb):
    """A trial set the comparison's level to 0.90: report 07's own intervals stayed at 95 % under a 95 % label. Each
    table of the aims is computed at the ``level`` given and says so (``confidence_level``, which the reports' labels
    read); closed form: a share's interval is the logit one, whose half-width on the logit scale is Student's
    quantile at (1 + level) / 2 times SE / (p(1 − p)), on the design's degrees of freedom (n − H: 600 units in
    5 strata, one unit per PSU)."""
    from scipy import special, stats

    d = _residents()
    p90 = aims.pride(d, cb, {str(k): f"âge {k}" for k in range(1, 6)}, level=0.9)
    for name in ("overall", "by_department", "by_age", "attachment"):
        assert (p90[name]["confidence_level"] == 0.9).all(), name
    o = p90["overall"].set_index("variable").loc["fierte__oui"]
    q = stats.t.ppf(0.95, len(d.data) - 5)
    p, half = o["estimate"], q * o["se"] / (o["estimate"] * (1 - o["estimate"]))
    assert [o["ci_low"], o["ci_high"]] == pytest.approx(list(special.expit(special.logit(p) + np.array([-half, half]))),
                                                        rel=1e-9)
    m = aims.mosaic(d, cb, 10, level=0.9)
    assert (m["confidence_level"] == 0.9).all()
    zones = np.random.default_rng(5).choice(["npdc", "picardie", "both"], len(d.data))
    designs = {"residents": d, "visitors": survey.Design.from_frame(d.data.assign(zone=zones), weights="w")}
    wide, narrow = (aims.former_regions(designs, cb, level=lv) for lv in (0.95, 0.9))
    assert (narrow["confidence_level"] == 0.9).all() and (wide["confidence_level"] == 0.95).all()
    assert ((narrow["écart haut"] - narrow["écart bas"]) < (wide["écart haut"] - wide["écart bas"])).all()
    assert ((narrow["ci_high"] - narrow["ci_low"]) < (wide["ci_high"] - wide["ci_low"])).all()


# audit of the study's rules (a mutation audit found these unpinned): oracles by hand
def test_mosaic_reading_rule_on_hand_made_shares(monkeypatch):
    """Four attributes, forty equal-weight residents per department, agreement counts chosen by hand; the homogeneity
    p-values are fixed (0.03, 0.04, 0.5, 0.6: BH by hand 0.08, 0.08, 0.6, 0.6, none established). img_nature has
    16/40 agreeing in the Oise and 36/40 elsewhere: its minimum is 0.4 — « ni l'un ni l'autre ». img_culture has
    22/40 (55 %) in the Oise: a majority by the point estimate, but not an established one (the interval's lower
    bound, by hand below, is under 50 %) — « ni l'un ni l'autre » too, the synthesis's rule for its « atouts »."""
    cb = codebook.load()
    deps = ["59", "62", "80", "02", "60"]
    agree = {"img_conviviale": [32] * 5, "img_littoral": [8, 36, 36, 36, 36], "img_nature": [36, 36, 36, 36, 16],
             "img_culture": [32, 32, 32, 32, 22]}
    data = {"departement": np.repeat(deps, 40), "w": 1.0}
    for name, counts in agree.items():
        data[name] = pd.array(np.concatenate([[5] * k + [1] * (40 - k) for k in counts]), dtype="Int16")
    d = survey.Design.from_frame(pd.DataFrame(data), weights="w")
    pvals = {"img_conviviale__accord": 0.03, "img_littoral__accord": 0.04, "img_nature__accord": 0.5,
             "img_culture__accord": 0.6}
    monkeypatch.setattr(aims, "share_homogeneity", lambda design, y, by: (1.0, 4, 195, pvals[y]))
    m = aims.mosaic(d, cb, 5)
    # the Oise's 22/40 by hand: a domain mean's linearised SE of equal weights, with replacement, n = 200 units:
    # sqrt(n/(n−1) · Σ_domain (y − p)²) / n_domain, and the logit interval on the domain's 40 − 1 = 39 df (R
    # svyby(…, svyciprop) on the department's subset)
    p = 22 / 40
    se = np.sqrt(200 / 199 * (22 * (1 - p) ** 2 + 18 * p ** 2)) / 40
    lg = np.log(p / (1 - p)) - stats.t.ppf(0.975, 39) * se / (p * (1 - p))
    oise = m.loc[(m["item"] == "img_culture") & (m["departement"] == "60")].iloc[0]
    assert oise["ci_low"] == pytest.approx(1 / (1 + np.exp(-lg)), rel=1e-9) and oise["ci_low"] < 0.5 < oise["estimate"]
    m = m.drop_duplicates("item").set_index("item")
    np.testing.assert_allclose(m.loc[[k.split("__")[0] for k in pvals], "p_adj"], [0.08, 0.08, 0.6, 0.6])
    assert m["lecture"].to_dict() == {"img_conviviale": "partagé", "img_littoral": "ni l'un ni l'autre",
                                      "img_nature": "ni l'un ni l'autre", "img_culture": "ni l'un ni l'autre"}


def test_former_regions_gap_and_its_adjustment_by_hand():
    """Equal weights: the NPdC − Picardie gap is the difference of the plain means; p_adj is BH over the four tests."""
    cb = codebook.load()
    rng = np.random.default_rng(1)
    n = 200
    dep = rng.choice(["59", "62", "80", "02", "60"], n)
    base = np.where(np.isin(dep, ["59", "62"]), 7, 5)
    res = pd.DataFrame({"departement": dep, "w": 1.0, "strate": dep,
                        "image_globale": pd.array(np.clip(base + rng.integers(-2, 3, n), 0, 10), dtype="Int16"),
                        "recommandation": pd.array(rng.integers(0, 11, n), dtype="Int16")})
    zone = rng.choice(["npdc", "picardie", "both"], n)
    vis = pd.DataFrame({"zone": zone, "w": 1.0,
                        "image_globale": pd.array(rng.integers(0, 11, n), dtype="Int16"),
                        "recommandation": pd.array(np.where(zone == "picardie", 8, rng.integers(0, 8, n)), dtype="Int16")})
    designs = {"residents": survey.Design.from_frame(res, weights="w", strata="strate"),
               "visitors": survey.Design.from_frame(vis, weights="w")}
    f = aims.former_regions(designs, cb)
    tests = f.drop_duplicates(["groupe", "question"]).set_index(["groupe", "question"])
    hand = {("Habitants", "image_globale"): (res, "departement", ["59", "62"], ["80", "02", "60"]),
            ("Clients du territoire", "recommandation"): (vis, "zone", ["npdc"], ["picardie"])}
    for key, (df, col, npdc, pic) in hand.items():
        y = df[key[1]].astype(float)
        assert tests.loc[key, "écart NPdC − Picardie"] == pytest.approx(y[df[col].isin(npdc)].mean() - y[df[col].isin(pic)].mean())
    np.testing.assert_allclose(tests["p_adj"], helpers.bh(tests["p"]))
    assert (tests["p_adj"] > tests["p"]).any()


def test_the_image_battery_is_the_codebooks_common_core_agreement_items_whatever_their_names():
    """Trial H: the mosaic and the map kept variables named ``img_*``; an agreement item named otherwise was dropped
    from them without a word. The battery is now the common-core ``likert_1_5`` items of the codebook."""
    from dataclasses import replace

    cb = codebook.load()
    assert [v.name for v in cb.image_battery()] == [v.name for v in cb.variables
                                                    if v.common_core and v.type == "likert_1_5"]
    renamed = replace(cb, variables=tuple(replace(v, name="littoral") if v.name == "img_littoral" else v
                                          for v in cb.variables))
    d = _residents()
    d = survey.update(d, littoral=d.data["img_littoral"])
    assert "littoral__accord" in aims.indicators(d, renamed).data
    assert "littoral" in set(aims.mosaic(d, renamed, 5)["item"])


def test_a_group_of_clients_just_under_the_threshold_is_never_named():
    """Trial J (a mutation survived in the module's tests): the threshold is « fewer than ``threshold`` respondents
    are not named ». Written by hand: at threshold 10, the group of 10 is named, the one of 9 (the highest share) is
    not, whichever test says the shares differ."""
    from portrait.reporting import sections

    ci = {"ci_low": 0.4, "ci_high": 0.8, "df": 50.0, "confidence_level": 0.95}
    r = {"overall": pd.DataFrame([{"estimate": 0.6, "n": 69, **ci}]),
         "tests": pd.DataFrame({"selon": ["origine", "motif"], "p_adj": [0.001, 0.001]}),
         "by_origin": pd.DataFrame({"domaine": ["Hauts-de-France", "autre région de France", "étranger"],
                                    "estimate": [0.50, 0.90, 0.95], "n": [50, 10, 9], **ci}),
         "by_motif": pd.DataFrame({"domaine": ["Pour le travail", "Pour les loisirs", "Les deux"],
                                   "estimate": [0.40, 0.70, 0.99], "n": [30, 10, 9], **ci})}
    text = sections.return_sentences(r, 10).replace("\u00a0", " ")
    assert "chez ceux qui habitent les Hauts-de-France contre 90 % chez ceux qui habitent une autre région" in text
    assert "étranger" not in text and "95 % chez" not in text
    assert "40 % chez ceux venus pour le travail contre 70 % chez ceux venus pour les loisirs" in text
    assert "99 % chez" not in text and "l'un et l'autre" not in text


def test_options_cited_on_average_by_hand(cb):
    """Trial M: clients cite fewer strengths, which lowers their shares whatever their opinion. By hand, on two
    small samples: the weighted mean count of options over those who cite at least one (Σ w k / Σ w; a respondent
    who cites none, or did not answer, is out of the base, as in the shares), and the difference's SE from the two
    groups' SEs (independent samples, Welch–Satterthwaite on the designs' df, 4 and 3)."""
    def design(choices, w):
        cols = {f"forces_{j:02d}": pd.array([(c[j - 1] if j <= 3 else 0) if c is not None else pd.NA
                                             for c in choices], dtype="Int16") for j in range(1, 13)}
        return survey.Design.from_frame(pd.DataFrame({**cols, "forces_note": 9, "w": w}), weights="w")

    res = design([(1, 1, 1), (1, 0, 1), (0, 0, 1), None, (0, 0, 0)], [10.0, 20.0, 30.0, 40.0, 50.0])
    vis = design([(1, 1, 0), (0, 0, 1), (1, 1, 1), (1, 0, 0)], [5.0, 5.0, 10.0, 20.0])
    t = aims.choices_cited({"residents": res, "visitors": vis}, cb, items=("forces",)).iloc[0]
    assert t.residents_estimate == pytest.approx((10 * 3 + 20 * 2 + 30 * 1) / 60, rel=1e-12)
    assert t.visitors_estimate == pytest.approx((5 * 2 + 5 * 1 + 10 * 3 + 20 * 1) / 40, rel=1e-12)
    assert (t.residents_n, t.visitors_n) == (3, 4)
    se = {g: survey.mean(survey.update(d, k=d.data[[f"forces_0{j}" for j in (1, 2, 3)]].astype(float).sum(axis=1)
                                                   .where(lambda s: s > 0)), "k").iloc[0].se for g, d in
          (("r", res), ("v", vis))}
    half = t.ci_high - t.estimate
    assert t.estimate == pytest.approx(t.visitors_estimate - t.residents_estimate, rel=1e-12)
    assert half / stats.t.ppf(0.975, survey.welch_df([se["r"] ** 2, se["v"] ** 2], [4, 3])) == pytest.approx(
        np.hypot(se["r"], se["v"]), rel=1e-10)


def test_scores_and_choices_without_the_clients_living_here_by_hand(cb):
    """The same with the 0–10 image score and a strength (kinds ``score`` and ``choice``): the outside clients' mean
    Σ w y / Σ w and share of those citing the option, by hand, each minus the residents'; the p-values of all the
    statistics re-estimated replace their own in the battery before one Benjamini–Hochberg adjustment, by hand;
    statistics of other kinds are left out."""
    n = 400
    rng = np.random.default_rng(8)
    pays = rng.choice([1, 1, 2], n)
    region = np.where(pays == 1, rng.choice([32, 11], n), -1)
    image = rng.integers(0, 11, n)
    chose = rng.random((n, 2)) < 0.4
    cited = chose.any(axis=1)
    df = pd.DataFrame({"pays": pd.array(pays, dtype="Int16"),
                       "region_residence": pd.array(np.where(region < 0, pd.NA, region), dtype="Int16"),
                       "image_globale": pd.array(image, dtype="Int16"),
                       **{f"forces_{j:02d}": pd.array(np.where(cited, chose[:, j - 1], pd.NA), dtype="Int16")
                          for j in (1, 2)},
                       **{f"forces_{j:02d}": pd.array(np.where(cited, 0, pd.NA), dtype="Int16") for j in range(3, 13)},
                       "w": rng.uniform(1, 3, n)})
    visitors = survey.Design.from_frame(df, weights="w")
    est = pd.DataFrame({"item": ["image_globale", "forces", "img_nature"], "statistic": ["mean", "share", "accord"],
                        "level": ["", "1", "top2"], "group": "residents", "estimate": [6.9, 0.3, 0.5],
                        "se": [0.05, 0.02, 0.02], "df": [40.0, 40.0, 40.0]})
    diff = pd.DataFrame({"item": ["image_globale", "forces", "img_nature"], "statistic": ["mean", "share", "accord"],
                         "level": ["", "1", "top2"], "type": ["score_0_10", "multi", "likert_1_5"], "in_battery": True,
                         "p": [0.5, 0.5, 0.002], "adjustment": "fdr_bh"})
    g = aims.gaps_without_local_clients(visitors, cb, est, diff, kinds=("score", "choice"))
    assert list(g["item"]) == ["image_globale", "forces"]
    outside = (pays == 2) | (region == 11)
    w = df["w"].to_numpy()
    mean = (w[outside] * image[outside]).sum() / w[outside].sum()
    ok = outside & cited
    share = (w[ok] * chose[ok, 0]).sum() / w[ok].sum()
    assert list(g["estimate_visitors"]) == pytest.approx([mean, share], rel=1e-12)
    assert list(g["estimate"]) == pytest.approx([mean - 6.9, share - 0.3], rel=1e-12)
    p = np.array([*g["p"], 0.002])
    order = np.argsort(p)
    bh = np.minimum.accumulate((p[order] * 3 / np.arange(1, 4))[::-1])[::-1]
    expected = np.empty(3)
    expected[order] = np.minimum(bh, 1)
    assert list(g["p_adj"]) == pytest.approx(list(expected[:2]), rel=1e-12)
