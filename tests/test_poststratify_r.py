"""Post-stratification (``survey.post_stratify``) against R ``postStratify``.

R values: tests/reference/make_fixtures_poststratify.R on R's api data: ``dclus1`` post-stratified on ``stype``
(linearised, and JK1 replicates post-stratified again in each), ``dstrat`` on ``stype × sch.wide`` (counts from
``apipop``), and with a population stratum absent from the sample (``partial = TRUE``). Weights at rtol 1e-12;
means, totals, domain means and their SEs at rtol 1e-10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import CalibrationError, ParameterError

from .helpers import api_design

REF = pd.read_csv(paths.TESTS / "reference" / "fixtures" / "poststratify.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}
STYPE = {"E": 4421, "H": 755, "M": 1018}
JOINT = pd.DataFrame([(s, w, R[("population", f"pop_{s}_{w}")]) for s in "EHM" for w in ("No", "Yes")],
                     columns=["stype", "sch.wide", "Freq"])          # R's form of a population table
CASES = {
    "clus1_stype": (lambda: survey.post_stratify(api_design("clus1"), "stype", STYPE), "linearisation"),
    "clus1_jk1_stype": (lambda: survey.post_stratify(survey.with_replicates(api_design("clus1"), "jk1"), "stype",
                                                     pd.Series(STYPE)), "replicates"),
    "strat_stype_schwide": (lambda: survey.post_stratify(api_design("strat"), ["stype", "sch.wide"], JOINT),
                            "linearisation"),
    "clus1_partial": (lambda: survey.post_stratify(api_design("clus1"), "stype", {**STYPE, "X": 500}, partial=True),
                      "linearisation"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_post_stratified_weights_and_estimates_are_rs(name):
    build, variance = CASES[name]
    d = build()
    n = len(d.weights)
    assert_allclose(d.weights, [R[(name, f"weight_{i + 1}")] for i in range(n)], rtol=1e-12)
    m = survey.mean(d, "api00", variance=variance).iloc[0]
    t = survey.total(d, "enroll", variance=variance).iloc[0]
    b = survey.mean(d, "api00", by="sch.wide", variance=variance)
    got = [m.estimate, m.se, t.estimate, t.se, *b["estimate"], *b["se"]]
    want = [R[(name, q)] for q in ("mean_api00", "se_mean_api00", "total_enroll", "se_total_enroll",
                                   "mean_api00_schwide_No", "mean_api00_schwide_Yes",
                                   "se_mean_api00_schwide_No", "se_mean_api00_schwide_Yes")]
    assert_allclose(got, want, rtol=1e-10)


def test_each_post_stratum_is_scaled_to_its_count():
    """The closed form: within post-stratum h every weight is multiplied by N_h / N̂_h."""
    d0 = api_design("clus1")
    d = survey.post_stratify(d0, "stype", STYPE)
    for level, count in STYPE.items():
        sel = (d0.data["stype"] == level).to_numpy()
        assert_allclose(d.weights[sel], d0.weights[sel] * count / d0.weights[sel].sum(), rtol=1e-13)


def test_a_population_table_must_be_rs_form():
    d = api_design("strat")
    with pytest.raises(ParameterError, match=r"no column \['Freq'\]"):
        survey.post_stratify(d, ["stype", "sch.wide"], JOINT.rename(columns={"Freq": "n"}))
    with pytest.raises(ParameterError, match="twice"):
        survey.post_stratify(d, "stype", pd.DataFrame({"stype": ["E", "E", "H", "M"], "Freq": [1.0, 2, 3, 4]}))
    with pytest.raises(CalibrationError):
        survey.post_stratify(d, "stype", {"E": 4421, "H": 755})        # the sample's « M » schools have no count
    assert np.isfinite(survey.post_stratify(d, "stype", STYPE).weights).all()


def test_a_post_stratum_given_twice_is_refused_in_every_form():
    """Trial W: a Series repeating an index value, or a dict with 1 and "1", let the last count win silently."""
    d = api_design("strat")
    with pytest.raises(CalibrationError, match="'E' is given twice"):
        survey.post_stratify(d, "stype", pd.Series([4421.0, 755, 1018, 9], index=["E", "H", "M", "E"]))
    coded = survey.update(d, code=d.data["stype"].map({"E": 1, "H": 2, "M": 3}).to_numpy())
    with pytest.raises(CalibrationError, match="'1' is given twice"):
        survey.post_stratify(coded, "code", {1: 4421, 2: 755, 3: 1018, "1": 9})


def test_numeric_codes_match_as_r_writes_them():
    """Trial W: a code read as float (« 1.0 » as text) refused the population's 1; R's factor levels read « 1 » for
    both, as by= and proportion() name them. The oracle: the text codes' post-stratification, to the bit."""
    d = api_design("strat")
    codes = d.data["stype"].map({"E": 1, "H": 2, "M": 3})
    by_text = survey.post_stratify(d, "stype", STYPE)
    for column, keys in ((codes.astype(float), {1: 4421, 2: 755, 3: 1018}),
                         (codes, {1.0: 4421, 2.0: 755, 3.0: 1018}),
                         (codes.astype(float), pd.Series({1.0: 4421, 2.0: 755, 3.0: 1018}))):
        got = survey.post_stratify(survey.update(d, code=column.to_numpy()), "code", keys)
        assert np.array_equal(got.weights, by_text.weights)


def test_a_population_stratum_without_sample_needs_partial():
    with pytest.raises(CalibrationError, match="'X'"):
        survey.post_stratify(api_design("clus1"), "stype", {**STYPE, "X": 500})


def test_messages_read_levels_as_the_weighting_does():
    """Trial X: with a float code, the text key « 1.0 » was said to have units « all of weight 0 » (compared as
    str()), the sample's levels were listed as '1.0', and R's hint, partial = TRUE, was missing."""
    d = api_design("strat")
    coded = survey.update(d, code=d.data["stype"].map({"E": 1, "H": 2, "M": 3}).astype(float).to_numpy())
    with pytest.raises(CalibrationError) as e:
        survey.post_stratify(coded, "code", {"1.0": 4421, 2: 755, 3: 1018})
    assert "did you mean '1'?" in str(e.value) and "'2'" in str(e.value) and "weight 0" not in str(e.value)
    with pytest.raises(CalibrationError, match="partial=True"):
        survey.post_stratify(coded, "code", {1: 4421, 2: 755, 3: 1018, 4: 9})
