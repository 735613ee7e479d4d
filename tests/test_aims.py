"""The study's aims in the synthesis: indicators, estimates and homogeneity tests.

Oracles: indicator bases written out by hand; weighted shares in closed form (Σ w x / Σ w over the
base); the two-department Wald F equals the square of the t of the difference of domain means, which
the engine computes by another path (``mean_difference``, influence values of the two domain means).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.study import aims, codebook


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


def test_two_domain_homogeneity_f_is_the_squared_t_of_the_difference(cb):
    d = aims.indicators(_residents(), cb)
    two = survey.subset(d, d.data["departement"].isin(["59", "80"]).to_numpy())
    F, ndf, _, _ = aims.homogeneity(two, "fierte__oui", "departement")
    t = survey.mean_difference(two, "fierte__oui", "departement", "59", "80").t
    assert ndf == 1 and F == pytest.approx(t ** 2, rel=1e-9)


def test_mosaic_reading_follows_its_rule(cb):
    m = aims.mosaic(_residents(), cb, 10)
    t = m.drop_duplicates("item")
    for r in t.itertuples():
        low = m.loc[m["item"] == r.item, "estimate"].min()
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
    assert "30 % des clients du territoire" in text
    assert "— chez les clients, « Innovante » (13 %) et « C » (11 %) —" in text and "chez les habitants" not in text
