"""The residents' two-stage variance (Brewer, then SRSWOR): the design it builds, a limit it must reach, its text.

Oracles: (1) as every commune's π → 0 (certainty communes kept at 1), Brewer's two-stage estimator becomes the
chain's with-replacement one — the first stage's ``1 − π`` → 1 and the second stage's weight ``π`` → 0 — while a
certainty commune's term is the chain's own (its slots by SRSWOR with fpc ``take/pop15``); (2) with the communes'
real π, the engine's two-stage design agrees with R (``tests/test_pps_r.py``), so this file checks the mapping of
the study's columns onto it and the report's sentence.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline.errors import ParameterError
from portrait.reporting import weighting_text
from portrait.study import first_stage, recipes


def _resident_sample(scale: float = 1.0, seed: int = 4):
    """Slots of 3 strata × 5 communes drawn πps (π scaled by ``scale``) and 2 certainty communes, 4 slots each, as
    the ingest gives them to :func:`recipes.resident_design`, with a commune effect in the answer ``y``."""
    rng = np.random.default_rng(seed)
    rows, communes = [], []
    for h in range(3):
        for c in range(5):
            code = f"{h}{c:02d}"
            pop15 = int(rng.integers(800, 5000))
            communes.append({"code": code, "pop15": pop15})
            pi = scale * pop15 / 20000
            effect = rng.normal(0, 1)
            for k in range(4):
                rows.append({"code": code, "slot_id": f"{code}-{k}", "stratum": f"S{h}", "pi": pi,
                             "pi_overall": pi * 4 / pop15, "y": effect + rng.normal(0, 1)})
    for c in range(2):
        code, pop15 = f"C{c}", int(rng.integers(20, 60))     # small: their fpc take/pop15 counts
        communes.append({"code": code, "pop15": pop15})
        for k in range(4):
            rows.append({"code": code, "slot_id": f"{code}-{k}", "stratum": "S0", "pi": 1.0,
                         "pi_overall": 4 / pop15, "y": rng.normal(0, 1)})
    responses = pd.DataFrame(rows).assign(status="respondent")
    responses.loc[responses.index % 7 == 3, "status"] = "nonrespondent"
    return recipes.resident_design(responses, pd.DataFrame(communes))


def test_two_stage_tends_to_the_chains_estimator_as_pi_vanishes():
    chain = _resident_sample(scale=1e-9)
    chain = survey.subset(chain, chain.data["respondent"].to_numpy())
    two = first_stage.two_stage_design(chain)
    assert two.pps.method == "brewer" and two.later_stages is not None
    a = survey.mean(chain, "y")
    b = survey.mean(two, "y")
    assert_allclose(b["estimate"], a["estimate"], rtol=1e-14)
    assert_allclose(b["se"], a["se"], rtol=1e-6)
    t = survey.total(chain, "y")["se"].iloc[0], survey.total(two, "y")["se"].iloc[0]
    assert_allclose(t[1], t[0], rtol=1e-6)
    certain = chain.data["pi"].to_numpy() >= 1        # their own strata: the same formula exactly, any π
    for d in (chain, _resident_sample(scale=1.0)):
        d = survey.subset(d, (d.data["pi"] >= 1).to_numpy() & d.data["respondent"].to_numpy())
        assert_allclose(survey.total(first_stage.two_stage_design(d), "y")["se"], survey.total(d, "y")["se"],
                        rtol=1e-12)
    assert certain.sum() == 8


def test_two_stage_keeps_weights_and_steps_and_moves_the_se():
    d = _resident_sample(scale=1.0)
    d = survey.subset(d, d.data["respondent"].to_numpy())
    two = first_stage.two_stage_design(d)
    np.testing.assert_array_equal(two.weights, d.weights)
    assert two.steps == d.steps and two.replicate_factors is None
    a, b = survey.mean(d, "y")["se"].iloc[0], survey.mean(two, "y")["se"].iloc[0]
    assert b != pytest.approx(a, rel=1e-3)        # communes of π up to 0.25: the first stage's 1 − π shows
    # another weighting stage of the same sample takes the structure built once (the validation's estimators)
    other = d.with_weights(d.weights * np.linspace(0.5, 1.5, len(d.weights)))
    reused = first_stage.two_stage_design(other, like=two)
    assert_allclose(survey.mean(reused, "y")["se"], survey.mean(first_stage.two_stage_design(other), "y")["se"],
                    rtol=1e-14)
    with pytest.raises(ParameterError, match="must be another weighting stage of the same sample"):
        first_stage.two_stage_design(survey.subset(d, np.arange(len(d.weights)) < 10, drop=True), like=two)


def test_two_stage_structure_is_the_engines_of_the_columns_as_python_texts():
    """The design built from the text columns as they are held (Arrow texts, pandas' « string » type, another index)
    is the engine's two-stage design of the same columns given as Python objects, the mapping R checked
    (tests/test_pps_r.py): the same strata, PSUs, fpc, labels and later stage, code for code."""
    d = _resident_sample(scale=1.0)
    d = survey.subset(d, d.data["respondent"].to_numpy())
    data = d.data.assign(slot_id=d.data["slot_id"].astype("string")).set_axis(np.arange(len(d.data))[::-1] * 3 + 7)
    d = replace(d, data=data)
    pi1 = np.minimum(data["pi"].to_numpy(float), 1.0)
    frame = pd.DataFrame({"stratum": np.asarray(data["var_stratum"].astype(str), dtype=object),
                          "commune": np.asarray(data["code"].astype(str), dtype=object),
                          "slot": np.asarray(data["slot_id"].astype(str), dtype=object), "pi1": pi1,
                          "f2": data["pi_overall"].to_numpy(float) / pi1}, dtype=object).astype(
        {"pi1": float, "f2": float})
    b = survey.Design.from_frame(frame, prob=data["pi_overall"].to_numpy(float), strata=["stratum", None],
                                 psu=["commune", "slot"], fpc=["pi1", "f2"], pps="brewer", lonely_psu=d.lonely_psu)
    two = first_stage.two_stage_design(d)
    for name in ("strata", "psu", "fpc"):
        np.testing.assert_array_equal(getattr(two, name), getattr(b, name))
    assert list(two.strata_labels) == list(b.strata_labels)
    for mine, theirs in zip(two.later_stages, b.later_stages, strict=True):
        for name in mine._fields:
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
    for name in two.pps._fields:
        np.testing.assert_array_equal(getattr(two.pps, name), getattr(b.pps, name))
    assert two.data is data


def _check(ratios):
    r = np.asarray(ratios, dtype=float)
    return pd.DataFrame({"item": "x", "statistic": "mean", "level": "", "question": [f"q{i}" for i in range(len(r))],
                         "se": 1.0, "se_two_stage": r, "ratio": r})


def test_first_stage_finding_says_the_direction_and_the_size():
    """The sentence counts: the range and median, how many SEs the approximation makes larger or smaller (agreeing
    in number), and the gaps of 5 % or more. The statistics share one sample: it calls the approximation prudent
    nowhere, and says the count describes this sample (trial T: « le plus souvent prudente » read as a tendency that
    the validation's replications do not show)."""
    mixed = weighting_text.first_stage_finding(_check([0.976, 0.99, 0.995, 1.014]))
    assert "de −2,4\u00a0% à +1,4\u00a0% (médiane −0,8\u00a0%)" in mixed
    assert "3 erreurs types sur 4 un peu plus grandes et 1 un peu plus petite" in mixed
    assert "Aucun écart n'atteint 5\u00a0%" in mixed and "ne montre pas de tendance" in mixed
    few = weighting_text.first_stage_finding(_check([0.99, 1.01, 1.02]))
    assert "1 erreur type sur 3 un peu plus grande et 2 un peu plus petites" in few
    below = weighting_text.first_stage_finding(_check([0.9, 0.97]))
    assert "chaque erreur type un peu plus grande" in below and "1 écart atteint 5\u00a0%" in below
    above = weighting_text.first_stage_finding(_check([1.01, 1.07, 1.2]))
    assert "chaque erreur type un peu plus petite" in above and "2 écarts atteignent" in above
    assert not any("prudent" in t for t in (mixed, few, below, above))
    table = weighting_text.first_stage_table(_check([0.98]).assign(statistic="nps_score"))
    assert table.iloc[0, 1] == 100 and table.iloc[0, 3] == pytest.approx(-2)
