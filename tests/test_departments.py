"""Report 06's departments: the residents' scores, strengths and weaknesses in each department, and how they are written.

Oracles: weighted means and shares over their base by hand (a strength's base: residents who cited at least one);
the counts of residents citing each option by hand; Benjamini–Hochberg within each family by hand; the
sentences and tables against a hand-made table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.reporting import department_text
from portrait.reporting.synthesis import SUPPRESSED
from portrait.study import codebook, departments


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


def _residents(cb, n=500, seed=8):
    rng = np.random.default_rng(seed)
    dep = rng.choice(["02", "59", "60", "62", "80"], n)
    df = pd.DataFrame({"departement": dep, "strate": dep, "w": rng.uniform(0.5, 2.0, n),
                       "image_globale": pd.array(rng.integers(0, 11, n), dtype="Int16"),
                       "recommandation": pd.array(np.where(rng.uniform(size=n) < .1, 99, rng.integers(0, 11, n)),
                                                  dtype="Int16")})
    for item in departments.CHOICES:
        cols = list(cb.variable(item).columns)
        picks = np.zeros((n, len(cols)))
        for i in range(n):
            k = rng.integers(0, 4)                                         # 0 to 3 options; 0: outside the base
            picks[i, rng.choice(len(cols), k, replace=False)] = 1
        if item == "forces":                                               # the coast: cited far more in the Somme
            picks[:, 4] = np.where((dep == "80") & (picks.sum(axis=1) > 0), 1, picks[:, 4])
        df = pd.concat([df, pd.DataFrame(picks, columns=cols).astype("Int16")], axis=1)
    return survey.Design.from_frame(df, weights="w", strata="strate")


def _bh(p):
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    out = np.empty_like(p)
    out[order] = np.minimum(1, np.minimum.accumulate(ranked[::-1])[::-1])
    return out


def test_each_department_by_hand(cb):
    d = _residents(cb)
    t = departments.by_department(d, cb)
    data, w = d.data, d.weights
    for dep in ("02", "80"):
        here = (data["departement"] == dep).to_numpy()
        row = t.loc[(t["item"] == "recommandation") & (t["departement"] == dep)].iloc[0]
        x = data["recommandation"].to_numpy(dtype=float)
        ok = here & (x != 99)
        assert row["estimate"] == pytest.approx(np.sum(w[ok] * x[ok]) / w[ok].sum(), rel=1e-12)
        assert row["n"] == ok.sum()
        cols = list(cb.variable("forces").columns)
        picks = data[cols].to_numpy(dtype=float)
        base = here & (picks.sum(axis=1) > 0)
        row = t.loc[(t["item"] == cols[4]) & (t["departement"] == dep)].iloc[0]
        assert row["estimate"] == pytest.approx(np.sum(w[base] * picks[base, 4]) / w[base].sum(), rel=1e-12)
        assert (row["n"], row["cited"]) == (base.sum(), int(picks[base, 4].sum()))
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    assert t.loc[t["departement"] == "80", "département"].eq("Somme").all()


def test_tests_are_adjusted_within_each_family(cb):
    t = departments.by_department(_residents(cb), cb).drop_duplicates("item")
    assert t["family"].value_counts().to_dict() == {"scores": 2, "forces": 12, "faiblesses": 12}
    for _, g in t.groupby("family"):
        np.testing.assert_allclose(g["p_adj"], _bh(g["p"]), rtol=1e-12)
    coast = t.loc[t["item"] == cb.variable("forces").columns[4]].iloc[0]
    assert coast["p_adj"] < 1e-6                                 # cited by every Somme resident in the base


def test_a_choice_is_tested_by_rao_scott_on_cited_by_department(cb):
    """Wiring: a strength's test is the engine's Rao–Scott F (R svychisq, checked against R elsewhere) of cited ×
    department over the base, a score's the Wald F of the regression on the department factor."""
    d = _residents(cb)
    t = departments.by_department(d, cb).drop_duplicates("item").set_index("item")
    col = cb.variable("faiblesses").columns[2]
    picks = d.data[list(cb.variable("faiblesses").columns)].to_numpy(dtype=float)
    x = np.where(picks.sum(axis=1) > 0, picks[:, 2], np.nan)
    cited = pd.array([None if np.isnan(v) else str(int(v)) for v in x], dtype="string")
    rs = survey.rao_scott(survey.update(d, _c=cited), "_c", "departement")
    assert (t.loc[col, "F"], t.loc[col, "p"]) == pytest.approx((rs.F, rs.p_F), rel=1e-12)
    y = pd.to_numeric(d.data["image_globale"]).astype(float)
    wald = survey.svyglm(survey.update(d, _y=y.to_numpy(), _dep=pd.Categorical(d.data["departement"])), "_y",
                         ["_dep"]).wald("_dep")
    assert t.loc["image_globale", "p"] == pytest.approx(wald[3], rel=1e-10)


def _hand() -> pd.DataFrame:
    rows = []
    for fam, item, label, values, p in (("scores", "image_globale", "Image", [6.4, 7.1, 6.8], 0.01),
                                        ("scores", "recommandation", "Recommandation", [6.5, 6.6, 6.7], 0.5),
                                        ("forces", "forces_05", "Le littoral", [.14, .39, .26], 1e-6),
                                        ("forces", "forces_12", "Coût de la vie", [.05, .11, .14], 0.7)):
        for (dep, name), v in zip((("60", "Oise"), ("80", "Somme"), ("59", "Nord")), values):
            cited = 4 if (item == "forces_12" and dep == "60") else 50
            rows.append({"family": fam, "item": item, "label": label, "departement": dep, "département": name,
                         "estimate": v, "ci_low": v - .02, "ci_high": v + .02, "n": 100 + len(dep), "cited": cited,
                         "p": p, "p_adj": p})
    return pd.DataFrame(rows)


def test_sentences_name_the_ends_of_what_varies():
    text = department_text.sentences(_hand(), threshold=10).replace("\u00a0", " ")
    assert ("**Les notes de 0 à 10.** Les départements diffèrent pour « Image » (p ajusté = 0,0100) : de 6,40 dans "
            "l'Oise à 7,10 dans la Somme. Pas d'écart établi pour « Recommandation ».") in text
    assert ("« Le littoral » (p ajusté < 0,0001) : de 14 % dans l'Oise à 39 % dans la Somme. Pas d'écart établi pour "
            "« Coût de la vie ».") in text
    assert "**Les faiblesses citées.**" not in text


def test_the_table_suppresses_a_rare_choice_and_counts_the_respondents():
    """A share cited by fewer than the threshold is suppressed, and so is a complementary one of the same statistic: the
    regional share is published and the departments' weights are the census's, so a share suppressed alone was
    recovered by a reviewer (about 7 to 8 % for a cell of 9 citers) from the others. Here the Oise's 4 citers of « Coût
    de la vie » take one of the two departments of 50 with them; the other statistic, all cells large, is whole."""
    table = department_text.department_table(_hand(), "forces", threshold=10)
    assert list(table.columns) == ["", "Oise", "Somme", "Nord", "p ajusté (homogénéité)"]
    cost = table.set_index("").loc["Coût de la vie", ["Oise", "Somme", "Nord"]]
    assert cost["Oise"] == SUPPRESSED and (cost == SUPPRESSED).sum() == 2
    assert (table.set_index("").loc["Le littoral", ["Oise", "Somme", "Nord"]] != SUPPRESSED).all()
    assert table.iloc[-1].tolist() == ["répondants", "102", "102", "102", ""]
    scores = department_text.department_table(_hand(), "scores", threshold=10)
    assert scores.set_index("").loc["Image", "Oise"].replace("\u00a0", " ") == "6,40 [6,38 ; 6,42]"


def test_the_synthesis_gives_what_varies_in_one_sentence():
    """Report 07 lacked the department differences report 06 establishes (a new user's trial); it gives them in one
    sentence, from report 06's file, with the same ends and adjusted p."""
    text = department_text.brief(_hand(), threshold=10).replace("\u00a0", " ")
    assert text == ("Selon le département, un écart est établi pour « Image » (p ajusté = "
                    "0,0100) : de 6,40 dans l'Oise à 7,10 dans la Somme ; « Le littoral » (p ajusté < 0,0001) : de 14 % "
                    "dans l'Oise à 39 % dans la Somme ; pas d'écart établi pour les autres (rapport 06).")
    none = _hand().assign(p_adj=0.5)
    assert "aucun écart établi" in department_text.brief(none, threshold=10)
