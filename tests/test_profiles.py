"""Who answered (report 06's profile section): the groups' weighted profiles, their test, and how they are written.

Oracles: categories and counts written out by hand; weighted shares, means, medians and shares of a count in
closed form (Σ w x / Σ w over the base; the median as the smallest value whose weighted share reaches one half,
R's ``qrule = "math"``); the Rao–Scott test's size by Monte Carlo on two samples of one population (stated
tolerance); the sentences and tables against hand-made profiles; the figure's artists read back from matplotlib.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.reporting import profile_text
from portrait.reporting.synthesis import SUPPRESSED
from portrait.study import codebook, group_models, profiles


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def _design(df: pd.DataFrame, weights=None) -> survey.Design:
    return survey.Design.from_frame(df.assign(w=1.0 if weights is None else weights), weights="w")


def _group(n: int, rng, p_diploma, visitors: bool) -> survey.Design:
    df = pd.DataFrame({"sexe": pd.array(rng.integers(1, 3, n), dtype="Int16"),
                       "age": pd.array(rng.integers(1, 6, n), dtype="Int16"),
                       "diplome": pd.array(rng.choice([1, 2, 3, 4], n, p=p_diploma), dtype="Int16")})
    if visitors:
        df = df.assign(pays=pd.array(rng.choice([1, 2, 3], n), dtype="Int16"),
                       region_residence=pd.array(np.where(rng.uniform(size=n) < .5, 32, 11), dtype="Int16"),
                       motif=pd.array(rng.integers(1, 4, n), dtype="Int16"),
                       zone_visitee=pd.array(rng.integers(1, 4, n), dtype="Int16"),
                       nb_sejours=pd.array(rng.integers(1, 6, n), dtype="Int16"))
        df.loc[df["pays"] != 1, "region_residence"] = pd.NA
    else:
        df = df.assign(annees_residence=pd.array(rng.integers(0, 60, n), dtype="Int16"))
    return _design(df, rng.uniform(0.5, 2.0, n))


def test_residence_combines_country_and_region(cb):
    d = _design(pd.DataFrame({"pays": pd.array([1, 1, 1, 1, 2, 7, None, 1], dtype="Int16"),
                              "region_residence": pd.array([32, 11, 84, None, None, None, None, 1], dtype="Int16")}))
    keys, labels = profiles.categories(d, cb, "residence")
    assert keys.fillna("NA").tolist() == ["hdf", "idf", "france", "france_nr", "BE", "MONDE", "NA", "france"]
    assert list(labels)[:5] == ["hdf", "idf", "france", "france_nr", "BE"] and labels["BE"] == "Belgique"


def test_a_code_the_codebook_does_not_list_is_missing(cb):
    d = _design(pd.DataFrame({"sexe": pd.array([1, 2, 99, None], dtype="Int16")}))
    keys, labels = profiles.categories(d, cb, "sexe")
    assert keys.tolist() == ["hommes", "femmes", pd.NA, pd.NA] and labels == {"hommes": "Hommes", "femmes": "Femmes"}


def test_shares_are_weighted_over_those_who_answered(cb):
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 0.0])              # the last unit did not respond (weight 0)
    d = _design(pd.DataFrame({"diplome": pd.array([1, 4, 4, 2, None, 1], dtype="Int16")}), w)
    s = profiles.shares(d, cb, "diplome").set_index("key")
    base = 1 + 2 + 3 + 4
    np.testing.assert_allclose(s["estimate"], [1 / base, 4 / base, 0.0, 5 / base], rtol=1e-12)
    assert s["n"].tolist() == [1, 1, 0, 2] and (s["base"] == 4).all()
    assert np.isclose(s["estimate"].sum(), 1.0)


def test_count_summary_mean_median_and_share_by_hand(cb):
    x = np.array([1, 1, 2, 3, 3, 5, 8, np.nan])
    w = np.array([3.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    d = _design(pd.DataFrame({"nb_sejours": pd.array(x, dtype="Float64").astype("Int16")}), w)
    t = profiles.count_summary(d, "nb_sejours", lambda v: v == 1, "un seul séjour").set_index("statistic")
    ok = ~np.isnan(x)
    xs, ws = x[ok], w[ok]
    order = np.argsort(xs, kind="stable")
    cum = np.cumsum(ws[order]) / ws.sum()
    median = xs[order][np.argmax(cum >= 0.5 - 1e-12)]
    assert t.loc["moyenne", "estimate"] == pytest.approx(np.sum(ws * xs) / ws.sum(), rel=1e-12)
    assert t.loc["médiane", "estimate"] == median == 2
    assert t.loc["part : un seul séjour", "estimate"] == pytest.approx(4 / 10, rel=1e-12)
    assert t["base"].eq(7).all() and t.loc["part : un seul séjour", "n"] == 2


def test_profile_tables_and_their_long_file(cb):
    rng = np.random.default_rng(11)
    designs = {"residents": _group(400, rng, [.3, .3, .2, .2], False),
               "visitors": _group(500, rng, [.1, .2, .2, .5], True)}
    p = profiles.profile(designs, cb)
    assert set(p["shares"].loc[p["shares"]["group"] == "residents", "variable"]) == set(profiles.COMMON)
    assert set(p["shares"].loc[p["shares"]["group"] == "visitors", "variable"]) == {*profiles.COMMON, "residence",
                                                                                    "motif", "zone_visitee"}
    sums = p["shares"].groupby(["group", "variable"])["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    assert p["tests"]["variable"].tolist() == list(profiles.COMMON)
    diploma = p["tests"].set_index("variable").loc["diplome"]
    assert diploma["p_adj"] < 1e-6                            # 20 % against 50 % of graduates, 900 respondents
    long = profiles.long_table(p)
    assert len(long) == len(p["shares"]) + len(p["counts"])
    assert long.loc[long["variable"] == "motif", "p"].isna().all()
    assert long.loc[long["variable"] == "diplome", "p_adj"].eq(diploma["p_adj"]).all()


def test_rao_scott_between_the_groups_holds_its_size():
    """Two independent samples of one population: the diploma test rejects at 5 % about 5 % of the time.
    200 pairs: the rejection rate's Monte Carlo SD is 1.5 points; the bound (11 %) is four SDs above 5 %."""
    cb = codebook.load()
    rng = np.random.default_rng(2017)
    rejected = 0
    runs = 200
    for _ in range(runs):
        designs = {"residents": _group(150, rng, [.3, .3, .2, .2], False),
                   "visitors": _group(150, rng, [.3, .3, .2, .2], True)}
        p = profiles.difference_tests(designs, cb).set_index("variable").loc["diplome", "p"]
        rejected += p < 0.05
    assert 0.01 <= rejected / runs <= 0.11


def test_sex_and_age_calibrated_read_from_the_margins():
    attrs = {"margin_sources": {"columns": ["marge", "source", "hypothèse"],
                                "data": [["sexe × âge (15 ans ou plus)", "Insee", "aucune"]]}}
    assert profiles.sex_age_calibrated(attrs)
    assert not profiles.sex_age_calibrated({"margin_sources": {"columns": ["marge", "source", "hypothèse"],
                                                               "data": [["zone visitée", "base", "aucune"]]}})
    assert not profiles.sex_age_calibrated({})


def _hand_profile(p_diploma_adj=0.001, small=False) -> dict[str, pd.DataFrame]:
    rows = []
    for g, sup in (("residents", 0.25), ("visitors", 0.41)):
        for name, cats in (("sexe", [("hommes", "Hommes", .5), ("femmes", "Femmes", .5)]),
                           ("diplome", [("aucun_bepc", "Aucun", .3), ("superieur", "Supérieur", sup),
                                        ("bac", "Bac", .7 - sup)])):
            for k, lab, e in cats:
                rows.append({"group": g, "variable": name, "question": profiles.QUESTIONS[name], "key": k,
                             "modalite": lab, "estimate": e, "se": .01, "ci_low": e - .02, "ci_high": e + .02,
                             "confidence_level": .95, "n": 100, "base": 300})
    for k, lab, e, n in (("hdf", "Hauts-de-France", .38, 200), ("france_nr", "France, région non précisée", .02, 12),
                         ("BE", "Belgique", .58, 300), ("MONDE", "Pays hors d'Europe", .02, 3 if small else 30)):
        rows.append({"group": "visitors", "variable": "residence", "question": "Lieu de résidence", "key": k,
                     "modalite": lab, "estimate": e, "se": .01, "ci_low": e - .01, "ci_high": e + .01,
                     "confidence_level": .95, "n": n, "base": 545})
    rows.append({"group": "visitors", "variable": "motif", "question": "Motif", "key": "loisirs", "modalite": "Loisirs",
                 "estimate": .7, "se": .01, "ci_low": .68, "ci_high": .72, "confidence_level": .95, "n": 400, "base": 533})
    counts = []
    for g, stats_ in (("residents", [("moyenne", 37.72, 36.88, 38.56), ("médiane", 35, 34, 37),
                                     ("part : moins de 10 ans", .101, .085, .12)]),
                      ("visitors", [("moyenne", 2.876, 2.816, 2.937), ("médiane", 3, 3, 4),
                                    ("part : un seul séjour", .2, .183, .218)])):
        counts += [{"group": g, "statistic": s, "estimate": e, "ci_low": lo, "ci_high": hi, "confidence_level": .95,
                    "base": 300, "question": "Q"} for s, e, lo, hi in stats_]
    tests = pd.DataFrame({"variable": ["sexe", "diplome"], "question": ["Sexe", "Diplôme"],
                          "p": [.07, p_diploma_adj], "p_adj": [.074, p_diploma_adj]})
    return {"shares": pd.DataFrame(rows), "counts": pd.DataFrame(counts), "tests": tests}


def _plain(text: str) -> str:
    """The text with its no-break spaces as spaces (French typography is tested in test_typography)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_sentences_say_what_the_profile_says():
    text = _plain(profile_text.sentences(_hand_profile(), {"residents": True, "visitors": False}, threshold=10))
    assert "des habitants est calée sur les estimations de population de l'Insee" in text
    assert "sans intervalle de confiance (« marge de calage » dans les tableaux) ; celle des clients du territoire est estimée" in text
    assert "p ajustés entre les 2 tests" in text and "moins de 10 répondants serait masquée" in text
    assert "aucune ne l'est dans ces tableaux" in text
    assert "le sexe (pas d'écart établi, p ajusté = 0,0740)" in text
    assert "le diplôme (écart établi, p ajusté = 0,0010)" in text
    assert "Diplômés du supérieur : 25 % des habitants, 41 % des clients" in text
    assert "avec le diplôme en plus" in text
    assert "depuis 37,7 ans en moyenne (IC à 95 % [36,9 ; 38,6])" in text
    assert "la moitié depuis au moins 35 ans (IC à 95 % [34 ; 37])" in text
    assert "en moyenne 2,88 séjours (IC à 95 % [2,82 ; 2,94]) dans la région (médiane : 3 séjours, IC à 95 % [3 ; 4])" in text
    assert "20 % (IC à 95 % [18 ; 22]) n'en ont fait qu'un" in text and "10 % (IC à 95 % [9 ; 12]) depuis moins" in text
    # without the 2 % who gave no region, 0.38 / 0.98 = 38.8 %: report 07's base (trial T: 35 % and 38 % side by side)
    assert ("38 % vivent eux-mêmes dans les Hauts-de-France (2 % en France sans préciser leur région ; sans ces "
            "derniers, la part monte à 39 %, celle du rapport 07)") in text
    assert "Pour leur dernier séjour, 70 % sont venus" in text
    quiet = _plain(profile_text.sentences(_hand_profile(p_diploma_adj=0.2, small=True), {}, threshold=10))
    assert "aucune ne l'est dans ces tableaux" not in quiet and "Insee" not in quiet          # « Pays hors d'Europe » has 3 and "avec le diplôme en plus" not in quiet and "pas d'écart établi, p ajusté = 0,2000" in quiet


def test_tables_suppress_a_small_share_and_one_beside_it():
    shares = _hand_profile(small=True)["shares"]
    own = profile_text.own_table(shares, "visitors", ["residence", "motif"], threshold=10)
    cells = own.set_index("modalité")["part [IC]"].map(_plain)
    assert cells["Pays hors d'Europe"] == _plain(SUPPRESSED)
    assert (cells.iloc[:4] == _plain(SUPPRESSED)).sum() == 2 and cells["France, région non précisée"] == _plain(SUPPRESSED)
    assert cells["Loisirs"] == "70 % [68 ; 72]"
    hidden = profile_text.hidden(shares, 10)
    assert hidden.sum() == 2 and hidden[shares["key"] == "MONDE"].all()
    common = profile_text.common_table(shares, ["sexe", "diplome"], threshold=10)
    assert list(common.columns) == ["question", "modalité", "Habitants", "Clients du territoire"]
    assert common["question"].map(_plain).tolist() == ["Sexe (300 habitants, 300 clients du territoire)", "",
                                                       "Diplôme (300 habitants, 300 clients du territoire)", "", ""]
    assert own["question"].map(_plain).tolist() == ["Lieu de résidence (545 répondants)", "", "", "",
                                                    "Motif (533 répondants)"]
    row = common.set_index("modalité").loc["Supérieur"].map(_plain)
    assert (row["Habitants"], row["Clients du territoire"]) == ("25 % [23 ; 27]", "41 % [39 ; 43]")


def test_the_figure_draws_each_share_and_hides_a_suppressed_one():
    import matplotlib.pyplot as plt
    from portrait.reporting import plots

    shares = _hand_profile()["shares"]
    shares = shares.loc[shares["variable"].isin(["sexe", "diplome"])].copy()
    hide = (shares["group"] == "visitors") & (shares["key"] == "bac")
    shares.loc[hide, "estimate"] = np.nan
    fig = plots.group_profiles(shares, "titre")
    try:
        ax = fig.axes[1]
        assert ax.get_title() == "Diplôme"
        widths = [[b.get_width() for b in c] for c in ax.containers if hasattr(c, "patches")]
        np.testing.assert_allclose(widths[0], [30, 25, 45])            # residents, questionnaire order, in %
        ticks = {round(t): lab.get_text() for t, lab in zip(ax.get_yticks(), ax.get_yticklabels())}
        by_label = {ticks[round(b.get_y() + b.get_height() / 2)]: b.get_width() for b in ax.containers[0]}
        assert by_label == pytest.approx({"Aucun": 30, "Supérieur": 25, "Bac": 45})   # each bar beside its label
        assert [ticks[k] for k in sorted(ticks)] == ["Aucun", "Supérieur", "Bac"]
        assert ax.yaxis_inverted()                                                   # the first category on top
        assert widths[1][:2] == pytest.approx([30, 41]) and np.isnan(widths[1][2])
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Habitants", "Clients du territoire"]
    finally:
        plt.close(fig)


def test_the_figure_draws_no_interval_for_a_calibrated_share():
    """A new user's trial: the residents' sex shares, fixed by the calibration (the caption says they have no
    interval), carried error-bar caps of zero width. A share whose interval is the share itself gets no bar; the
    visitors' beside it keep theirs."""
    import matplotlib.pyplot as plt
    from matplotlib.container import ErrorbarContainer
    from portrait.reporting import plots

    shares = _hand_profile()["shares"]
    shares = shares.loc[shares["variable"] == "sexe"].copy()
    fixed = shares["group"] == "residents"
    shares.loc[fixed, "ci_low"] = shares.loc[fixed, "ci_high"] = shares.loc[fixed, "estimate"]
    fig = plots.group_profiles(shares, "titre")
    try:
        bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
        drawn = [len(c.lines[2][0].get_segments()) if c.lines[2] else 0 for c in bars]
        assert drawn == [0, int((~fixed).sum())]
    finally:
        plt.close(fig)


def test_adjusting_for_education_too_matches_least_squares_and_leaves_out_unknown_education(cb):
    """Equal weights, a gaussian model: the effect « client » of the linear model of a 0–10 score on group, sex, age
    and education is the least-squares coefficient (numpy), fitted on the respondents whose education is known."""
    rng = np.random.default_rng(5)
    parts, rows = {}, []
    for g, shift in (("residents", 0.0), ("visitors", 0.6)):
        n = 300
        df = pd.DataFrame({"sexe": rng.integers(1, 3, n), "age": rng.integers(1, 6, n),
                           "diplome": rng.integers(1, 5, n).astype(float)})
        df["image_globale"] = np.clip(np.round(5 + shift + 0.8 * (df["diplome"] == 4) + rng.normal(0, 2, n)), 0, 10)
        df.loc[rng.uniform(size=n) < 0.05, "diplome"] = np.nan
        parts[g] = survey.Design.from_frame(df.assign(w=1.0).astype({"diplome": "Float64"}), weights="w")
        rows.append(df.assign(visitors=float(g == "visitors")))
    stack = survey.stack(parts, group="groupe")
    got = group_models.adjusted_models(stack, cb, variance="linearisation", covariates=profiles.WITH_DIPLOMA)
    assert got["item"].tolist() == ["image_globale"]
    data = pd.concat(rows, ignore_index=True).dropna(subset=["diplome"])
    X = np.column_stack([np.ones(len(data)), data["visitors"],
                         *[(data["sexe"] == k) for k in (2,)], *[(data["age"] == k) for k in (2, 3, 4, 5)],
                         *[(data["diplome"] == k) for k in (2, 3, 4)]]).astype(float)
    beta = np.linalg.lstsq(X, data["image_globale"].to_numpy(float), rcond=None)[0]
    assert got["estimate"].iloc[0] == pytest.approx(beta[1], rel=1e-9)


def _adjusted_pair() -> pd.DataFrame:
    base = pd.DataFrame({"item": ["a", "b", "c", "d"], "estimate": [0.5, -0.6, 0.1, 0.02],
                         "ci_low": [0.3, -0.8, -0.1, -0.1], "ci_high": [0.7, -0.4, 0.3, 0.14],
                         "se": .1, "p": [1e-5, 1e-6, .3, .8], "p_adj": [2e-5, 4e-6, .4, .8], "df": 100,
                         "model": ["logit cumulatif (cotes proportionnelles)"] * 3 + ["régression linéaire"]})
    again = base.assign(estimate=[0.2, -0.55, 0.25, 0.1], ci_low=[-0.1, -0.75, 0.1, -0.1],
                        ci_high=[0.5, -0.35, 0.4, 0.14], p_adj=[0.2, 1e-5, 0.01, 0.8])
    return profiles.with_diploma(base, again)


def test_the_diploma_sentence_names_what_stays_what_goes_and_what_moves():
    short = {"a": "Dynamique", "b": "Conviviale", "c": "Sûre", "d": "Accueillante"}
    both = _adjusted_pair()
    assert both.loc[0, "estimate_diplome"] == 0.2 and both.loc[0, "estimate"] == 0.5
    text = _plain(profile_text.diploma_sentence(both, short))
    assert ("1 des 2 écarts clients − habitants établis le reste, dans le même sens ; « Dynamique » ne l'est plus ; « Sûre » le "
            "devient") in text
    assert ("Les coefficients changent d'au plus 0,08 point de note (notes 0 à 10) et 0,30 en logarithme du rapport "
            "des cotes (attributs).") in text
    flipped = both.assign(estimate_diplome=-both["estimate_diplome"], p_adj_diplome=1e-6)
    assert "0 des 2 écarts clients − habitants établis le restent" in _plain(profile_text.diploma_sentence(flipped, short))
    table = profile_text.diploma_table(both, short).map(_plain)
    assert table.iloc[0].tolist() == ["Dynamique", "+0,50 [+0,30 ; +0,70]", "< 0,0001", "+0,20 [−0,10 ; +0,50]", "0,2000"]
    assert [_plain(c) for c in table.columns] == ["question", "Sexe et âge : coefficient [IC]", "p ajusté (sexe et âge)",
                                   "Sexe, âge et diplôme : coefficient [IC]", "p ajusté (avec le diplôme)"]
    every = both.assign(p_adj_diplome=both["p_adj"])
    assert "les 2 écarts clients − habitants établis le restent tous, dans le même sens." in _plain(profile_text.diploma_sentence(every, short))


def test_the_synthesis_reads_education_from_the_files_of_stage_06():
    hand = _hand_profile()
    long = profiles.long_table({"shares": hand["shares"], "counts": hand["counts"].assign(variable="nb_sejours"),
                                "tests": hand["tests"]})
    both = _adjusted_pair()
    text = _plain(profile_text.synthesis_sentence(long, both))
    assert text == ("Les clients sont plus diplômés que les habitants (41 % de diplômés du supérieur, contre 25 %) : "
                    "avec le diplôme en plus, 1 des 2 écarts clients − habitants établis le reste, dans le même sens.")
    same = long.assign(p_adj=long["p_adj"].where(long["variable"] != "diplome", 0.3))
    assert _plain(profile_text.synthesis_sentence(same, both.assign(p_adj_diplome=both["p_adj"]))).startswith(
        "Le diplôme des clients ne se distingue pas de façon établie de celui des habitants : avec le diplôme en plus, "
        "les 2 écarts clients − habitants établis le restent tous, dans le même sens.")
    one = both.assign(p_adj=[1e-5, .5, .5, .5])
    assert "l'écart clients − habitants établi ne le reste pas" in _plain(profile_text.synthesis_sentence(long, one))


def test_a_count_nobody_answered_is_said_not_estimated(cb):
    d = _design(pd.DataFrame({"nb_sejours": pd.array([None] * 5, dtype="Int16")}))
    t = profiles.count_summary(d, "nb_sejours", lambda v: v == 1, "un seul séjour")
    assert t["estimate"].isna().all() and t["base"].eq(0).all()
    hand = _hand_profile()
    counts = hand["counts"].assign(base=np.where(hand["counts"]["group"] == "visitors", 0, 300),
                                   question=np.where(hand["counts"]["group"] == "visitors",
                                                     "Séjours dans la région en 24 mois", "Années"))
    text = _plain(profile_text.sentences({**hand, "counts": counts}, {}, threshold=10))
    assert "Aucun répondant n'a répondu à la question « Séjours dans la région en 24 mois ». Parmi ceux" in text
    assert "depuis 37,7 ans en moyenne" in text
