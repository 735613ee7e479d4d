"""Expression terms in model formulas, as R writes them: agreement with R survey 4.1 and the column-made oracle.

R values: tests/reference/make_fixtures_formulas.R on R's api data (``I(ell^2)``, ``I(meals > 50)``, ``log(enroll)``
with an interaction, ``I(2 * ell)``, ``sqrt(meals)``, and ``I(…)`` responses): coefficient names as R's
``model.matrix`` writes them, coefficients and SEs at rtol 1e-8 (the logistic fit's at 1e-6, R's glm stopping at
1e-13), ``regTermTest`` (Wald and LRT) and ``predict``. The other oracle: the same model with the columns made by
hand (``survey.update``) gives the same numbers to the bit.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "formulas.csv")
R = {(f, q): float(v) for f, q, v in zip(REF.fixture, REF.quantity, REF.value)}
STRAT = Design.from_frame(pd.read_csv(FIX / "apistrat.csv"), weights="pw", strata="stype", fpc="fpc")
CLUS1 = Design.from_frame(pd.read_csv(FIX / "apiclus1.csv"), weights="pw", psu="dnum", fpc="fpc")

CASES = {
    "square_cut": (STRAT, "api00 ~ ell + I(ell^2) + I(meals>50)", "gaussian"),
    "logit_response": (STRAT, 'I(sch.wide == "Yes") ~ ell + I(ell^2)', "quasibinomial"),
    "log_interaction": (CLUS1, "api00 ~ log(enroll)*stype", "gaussian"),
    "scaled_response": (CLUS1, "I(api00/100) ~ I(2*ell) + sqrt(meals)", "gaussian"),
    "precedence": (STRAT, "api00 ~ I(2 * ell %% 7) + I(enroll / 100) + I(+meals) + I(meals > 1e5 - 99950) + "
                          "I(ell == '0')", "gaussian"),
    "order_logical": (survey.update(STRAT, flag=(STRAT.data["api99"] > 700).to_numpy()),
                      "api00 ~ stype + ell + ell:stype + flag", "gaussian"),
    # trial S: factor() was refused; a float code's levels sort by value and read « 2 », not « 2.0 »
    "factor_numeric": (survey.update(STRAT, mc=np.where(STRAT.data["meals"] > 50, 2.0,
                                                        np.where(STRAT.data["meals"] > 20, 10.0, 1.0))),
                       "api00 ~ factor(mc) + ell", "gaussian"),
    "factor_logit": (CLUS1, 'I(sch.wide == "Yes") ~ factor(stype) + ell', "quasibinomial"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_expression_terms_as_r(name):
    design, model, family = CASES[name]
    fit = survey.svyglm(design, model, family=family)
    names = [q.removeprefix("coef_") for f, q in R if f == name and q.startswith("coef_")]
    assert fit.names == names                                  # R's model.matrix names, spacing included
    rtol = 1e-6 if family != "gaussian" else 1e-8
    assert_allclose(fit.coef, [R[(name, f"coef_{n}")] for n in names], rtol=rtol)
    assert_allclose(fit.se, [R[(name, f"se_{n}")] for n in names], rtol=rtol)


def test_tests_and_predictions_on_expression_terms_as_r():
    fit = survey.svyglm(*CASES["square_cut"][:2])
    F, _, _, p = fit.wald("I(ell^2)")
    assert_allclose([F, p], [R[("square_cut", "wald_F")], R[("square_cut", "wald_p")]], rtol=1e-8)
    lrt = survey.working_lrt(STRAT, "api00 ~ ell + I(ell^2) + I(meals > 50)", test="I(ell^2)")
    assert_allclose([lrt.chisq, lrt.p], [R[("square_cut", "lrt_chisq")], R[("square_cut", "lrt_p")]], rtol=1e-6)
    logit = survey.svyglm(*CASES["logit_response"][:2], family="quasibinomial")
    pred = survey.predict(logit, pd.DataFrame({"ell": [5.0, 30.0]}), type="response")
    assert_allclose(pred["estimate"], [R[("logit_response", "predict_5")], R[("logit_response", "predict_30")]],
                    rtol=1e-6)
    assert_allclose(pred["se"], [R[("logit_response", "predict_se_5")], R[("logit_response", "predict_se_30")]],
                    rtol=1e-6)


def test_a_factor_term_is_tested_and_predicted_as_r():
    """regTermTest(~factor(mc)) and predict on new data holding two of the three codes (the model's levels, not the
    new data's, code them)."""
    fit = survey.svyglm(*CASES["factor_numeric"][:2])
    F, _, _, p = fit.wald("factor(mc)")
    assert_allclose([F, p], [R[("factor_numeric", "wald_F")], R[("factor_numeric", "wald_p")]], rtol=1e-8)
    pred = survey.predict(fit, pd.DataFrame({"mc": [10.0, 1.0], "ell": [5.0, 30.0]}))
    assert_allclose(pred["estimate"], [R[("factor_numeric", "predict_10_5")], R[("factor_numeric", "predict_1_30")]],
                    rtol=1e-8)
    assert_allclose(pred["se"], [R[("factor_numeric", "predict_se_10_5")], R[("factor_numeric", "predict_se_1_30")]],
                    rtol=1e-8)
    flagged = survey.update(STRAT, flag=(STRAT.data["api99"] > 700).to_numpy())     # R: factor(flag)TRUE
    as_factor, plain = survey.svyglm(flagged, "api00 ~ factor(flag)"), survey.svyglm(flagged, "api00 ~ flag")
    assert as_factor.names == ["(Intercept)", "factor(flag)TRUE"] and plain.names == ["(Intercept)", "flagTRUE"]
    assert_allclose(as_factor.coef, plain.coef, rtol=1e-12)
    with pytest.raises(ParameterError, match="factor\\(\\) takes a column"):
        survey.svyglm(STRAT, "api00 ~ factor(ell + 1)")
    with pytest.raises(ParameterError, match="whole term of its own"):
        survey.svyglm(STRAT, "api00 ~ I(factor(ell) + 1)")


def test_an_expression_is_the_column_made_by_hand():
    """Oracle independent of R: ``I(ell^2)`` and ``I(meals > 50)`` are the columns an analyst would add."""
    d = STRAT.data
    made = survey.update(STRAT, {"sq": d["ell"] ** 2, "cut": pd.Categorical(np.where(d["meals"] > 50, "TRUE", "FALSE"),
                                                                             categories=["FALSE", "TRUE"])})
    by_hand = survey.svyglm(made, "api00 ~ ell + sq + cut")
    fit = survey.svyglm(STRAT, "api00 ~ ell + I(ell^2) + I(meals > 50)")
    np.testing.assert_array_equal(fit.coef, by_hand.coef)
    np.testing.assert_array_equal(fit.vcov, by_hand.vcov)


def test_a_formula_cannot_run_code(tmp_path):
    """Trial R's exploit: a quoted text ending in a backslash made Python read the next tokens as code. Expressions
    are parsed and computed here, never given to eval: the same formula is refused and writes nothing."""
    target = tmp_path / "written"
    exploit = ('api00 ~ I("\\" + " + [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '
               f"'catch_warnings'][0]()._module.__builtins__['open']('{target}', 'w').write('x')) #\") + ell")
    with pytest.raises(ParameterError):
        survey.svyglm(STRAT, exploit)
    assert not target.exists()


def test_numbers_stay_numbers_however_large_or_undefined():
    """R's arithmetic: ``9^9^8`` is Inf at once (no big integers), ``1/0`` and ``5 %% 0`` are ±Inf/NaN and then refused
    as non-finite by the model, a negative number to a fractional power is NaN (not a complex number)."""
    from portrait.survey.expressions import evaluate
    d = STRAT.data
    assert np.isinf(evaluate(d, "I(9^9^8)")).all()
    assert np.isnan(evaluate(d, "I((-8)^(1/3))")).all()
    assert np.isnan(evaluate(d, "I(5 %% 0)")).all() and np.isinf(evaluate(d, "I(1/0 + ell)")).all()
    with pytest.raises(ParameterError, match="infinite value"):
        survey.svyglm(STRAT, "api00 ~ I(1/0 + ell)")


def test_tests_read_expression_terms_however_spelt():
    """``wald`` and ``working_lrt`` take a term spelt as the user likes, as R's regTermTest does, and an expression
    holding + or * is one term."""
    fit = survey.svyglm(STRAT, "api00 ~ ell + I(ell^2) + I(ell * meals)")
    assert fit.wald("I(ell ^ 2)") == fit.wald("I(ell^2)")
    a = survey.working_lrt(STRAT, "api00 ~ ell + I(ell^2) + I(ell * meals)", test="I(ell*meals)")
    b = survey.working_lrt(STRAT, "api00 ~ ell + I(ell^2) + I(ell * meals)", test="~ I(ell * meals)")
    assert a.terms == b.terms == ["I(ell * meals)"] and a.p == b.p


def test_an_expression_is_recomputed_where_a_column_has_its_name():
    """R recomputes I(ell^2) from ell, whatever column bears the name: so does predict."""
    fit = survey.svyglm(STRAT, "api00 ~ ell + I(ell^2)")
    new = pd.DataFrame({"ell": [10.0, 20.0]})
    stale = new.assign(**{"I(ell^2)": [0.0, 0.0]})
    assert_allclose(survey.predict(fit, stale)["estimate"], survey.predict(fit, new)["estimate"], rtol=0)


def test_a_missing_value_read_by_an_expression_leaves_the_unit_out_as_r():
    """R: NA > 50 is NA, so the unit leaves the model; numpy alone would say False and keep it."""
    data = STRAT.data.copy()
    data.loc[:4, "meals"] = np.nan
    d = Design.from_frame(data, weights="pw", strata="stype", fpc="fpc")
    fit = survey.svyglm(d, "api00 ~ ell + I(meals > 50)")
    kept = survey.svyglm(survey.subset(d, data["meals"].notna().to_numpy()), "api00 ~ ell + I(meals > 50)")
    assert_allclose(fit.coef, kept.coef, rtol=1e-12)


@pytest.mark.parametrize("model, message", [
    ("api00 ~ ell^2", "write I(ell^2) for a square"),
    ("api00 ~ I(ell > 1 & meals < 50)", "&, | and ! are not read"),
    ("api00 ~ I(1 < ell < 30)", "one comparison at most"),
    ("api00 ~ I(elll^2)", "no column 'elll'"),
    ("api00 ~ I(system('ls'))", "'system' is not a function"),
    ("api00 ~ I(ell; 2)", "is not read in a model expression"),
    ("api00 ~ I(ell(2))", "'ell' is not a function"),
    ("api00 ~ I(ell + )", "is not a complete model expression: ')' unexpected"),
    ("api00 ~ I(stype * 2)", "text enters no arithmetic"),
    ("api00 ~ I(ell ell)", "')' expected"),
    ("api00 ~ I(ell, meals)", "takes one argument"),
    ("api00 ~ I()", "')' unexpected"),
    ("api00 ~ I(" + "ell + " * 300 + "ell)", "more than a model expression reads"),
    ("api00 ~ I(" + "(" * 80 + "ell" + ")" * 80 + ")", "nested too deep"),
    ('api00 ~ I("\\" + ell)', "is not read in a model expression"),
    ("sch.wide == 'Yes' ~ ell", "write it as R does inside I("),
])
def test_what_an_expression_may_not_hold_is_refused_by_name(model, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        survey.svyglm(STRAT, model)
