"""The proportional-odds check of the adjusted models (:func:`portrait.study.group_models.proportional_odds_tests`).

Oracles:

* each cut's group coefficient, on a sample with equal weights, is statsmodels' ordinary logistic regression of
  « above the cut » on the same terms (an independent fit; the weights do not change the coefficients);
* Monte Carlo, on samples drawn from a latent logistic model: when the group shifts the latent variable (the
  proportional-odds model holds), the test at 5 % rejects about 5 % of the time (100 samples: 0 to 12 rejections,
  the binomial's 99.9 % range); when the group moves only the top answer, it rejects almost always (≥ 45 of 50).
The joint covariance behind the test is checked against R in ``tests/test_joint_vcov_r.py``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from portrait.survey import Design
from portrait.study import group_models

DK = 99
CB = SimpleNamespace(dont_know_code=DK,
                     common_core=lambda: [SimpleNamespace(name="img_x", label="Attribut x", type="likert_1_5")])


def _sample(rng: np.random.Generator, n: int = 1200, top_only: bool = False) -> Design:
    """Residents and visitors (half each), sex and three age groups, one 1–5 answer from a latent logistic variable
    with cuts −1.5, −0.3, 0.8, 2: visitors shift it by 0.5 (proportional odds), or with ``top_only`` only the
    top answer's odds move (by 1.5 on the logit scale); about 3 % « Ne sait pas »."""
    group = np.repeat(["residents", "visitors"], n // 2)
    sexe, age = rng.integers(1, 3, n), rng.integers(1, 4, n)
    eta = 0.3 * (sexe == 2) - 0.2 * (age == 3)
    latent = eta + rng.logistic(size=n)
    cuts = np.array([-1.5, -0.3, 0.8, 2.0])
    if top_only:
        y = 1 + (latent[:, None] > cuts).sum(axis=1)
        top = rng.random(n) < 1 / (1 + np.exp(-(eta - 2.0 + 1.5 * (group == "visitors"))))
        y = np.where(top, 5, np.minimum(y, 4))
    else:
        y = 1 + ((latent + 0.5 * (group == "visitors"))[:, None] > cuts).sum(axis=1)
    y = np.where(rng.random(n) < 0.03, DK, y)
    df = pd.DataFrame({"groupe": group, "sexe": sexe, "age": age, "img_x": y, "w": 1.0})
    return Design.from_frame(df, weights="w")


def test_each_cut_is_the_ordinary_logistic_regression_on_equal_weights():
    d = _sample(np.random.default_rng(7))
    got = group_models.proportional_odds_tests(d, CB, variance="linearisation").iloc[0]
    df = d.data.loc[d.data["img_x"] != DK]
    X = sm.add_constant(pd.get_dummies(df[["groupe", "sexe", "age"]].astype(str), drop_first=True).astype(float))
    assert got["cuts"] == 4 and got["ndf"] == 3
    for k in (1, 2, 3, 4):
        ref = sm.Logit((df["img_x"] > k).astype(float), X).fit(disp=0, tol=1e-12)
        assert got[f"beta_{k}"] == pytest.approx(ref.params["groupe_visitors"], rel=1e-7)


@pytest.mark.parametrize("top_only, lowest, highest", [(False, 0, 12), (True, 45, 50)])
def test_size_and_power_by_monte_carlo(top_only, lowest, highest):
    rng = np.random.default_rng(2017)
    runs = 100 if not top_only else 50
    p = [group_models.proportional_odds_tests(_sample(rng, top_only=top_only), CB, variance="linearisation")
         .iloc[0]["p"] for _ in range(runs)]
    assert lowest <= sum(x < 0.05 for x in p) <= highest


def _po(p_adj, left_out=("", "")):
    return pd.DataFrame({"item": ["img_a", "img_b"], "beta_1": [0.45, -1.2], "beta_2": [-0.08, -0.6],
                         "F": [1.41, 9.5], "p_adj": p_adj, "cuts_left_out": list(left_out)})


def test_the_report_says_which_attributes_reject_proportional_odds():
    from portrait.reporting import profile_text
    short = {"img_a": "accueillante", "img_b": "conviviale"}
    none = profile_text.proportional_odds_sentence(_po([0.65, 0.06]), short).replace("\u00a0", " ")
    assert none.startswith("L'hypothèse des cotes proportionnelles n'est rejetée pour aucun attribut (p ajusté le plus "
                           "petit 0,0600, pour « conviviale »)")
    one = profile_text.proportional_odds_sentence(_po([0.65, 0.001]), short).replace("\u00a0", " ")
    assert "est rejetée pour « conviviale » (p ajusté < 0,05) : pour cet attribut," in one
    assert one.endswith("Elle n'est rejetée pour aucun autre attribut.")
    both = profile_text.proportional_odds_sentence(_po([0.01, 0.001]), short).replace("\u00a0", " ")
    assert "pour « accueillante » et « conviviale »" in both and "ces attributs" in both and both.endswith("concentre.")
    adjusted = pd.DataFrame({"item": ["img_b", "img_a"], "estimate": [-0.616, 0.069]})
    table = profile_text.proportional_odds_table(_po([0.65, 0.06]), adjusted, short)
    assert list(table.columns) == ["question", "modèle (un seul coefficient)", "supérieure à 1", "supérieure à 2", "F",
                                   "p ajusté"]
    assert table.iloc[1].tolist() == ["conviviale", "\u22120,62", "\u22121,20", "\u22120,60", "9,50", "0,0600"]


def test_a_cut_that_separates_is_left_out_and_said():
    """The reduced chain's small samples had a cut with no answer below it in one age group: its logistic model
    separates (the maximum-likelihood coefficient is infinite). That cut is left out of the test and named; with
    fewer than two cuts, the item has no test, and the report says so."""
    from portrait.reporting import profile_text
    d = _sample(np.random.default_rng(11))
    y = d.data["img_x"]
    d = Design.from_frame(d.data.assign(img_x=np.where((d.data["age"] == 3) & (y == 1), 2, y)), weights="w")
    got = group_models.proportional_odds_tests(d, CB).iloc[0]
    assert got["cuts"] == 3 and got["cuts_left_out"] == "1" and "beta_1" not in got.index
    assert 0 < got["p"] < 1 and got["ndf"] == 2
    short = {"img_a": "accueillante", "img_b": "conviviale"}
    said = profile_text.proportional_odds_sentence(_po([0.65, np.nan], ("1", "1 4")), short).replace("\u00a0", " ")
    assert ("Les seuils « supérieure à 1 » pour « accueillante » et « supérieure à 1 » et « supérieure à 4 » pour "
            "« conviviale » sont écartés du test") in said
    assert said.endswith("« conviviale » n'a pas de test (moins de deux seuils).")
    same = profile_text.proportional_odds_sentence(_po([0.65, 0.3], ("1", "1")), short).replace("\u00a0", " ")
    assert "Le seuil « supérieure à 1 » pour « accueillante » et « conviviale » est écarté du test" in same
    assert "p ajusté le plus petit 0,6500, pour « accueillante »" in said
