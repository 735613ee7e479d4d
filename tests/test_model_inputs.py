"""What an R user writes to the engine's models and tests, read as R reads it or refused by name (trial P).

Oracles: the same model given as a formula and as a list of terms (the list form is checked against R in
``test_models_r.py``); messages checked for the column, level or term they name, and for the data value they must
not repeat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError

FIX = paths.TESTS / "reference" / "fixtures"


@pytest.fixture(scope="module")
def dstrat():
    return Design.from_frame(pd.read_csv(FIX / "apistrat.csv"), weights="pw", strata="stype", fpc="fpc")


def test_a_formula_reads_column_names_with_dots_as_r_does(dstrat):
    """``avg.ed`` is a column of R's api data: the formula is the list form's model; ``.`` alone stays refused."""
    by_formula = survey.svyglm(dstrat, "api00 ~ avg.ed + stype")
    by_terms = survey.svyglm(dstrat, "api00", ["avg.ed", "stype"])
    assert by_formula.names == by_terms.names == ["(Intercept)", "avg.ed", "stypeH", "stypeM"]
    assert_allclose(by_formula.coef, by_terms.coef, rtol=0)
    with pytest.raises(ParameterError, match=r"\['\.'\] are not read"):
        survey.svyglm(dstrat, "api00 ~ .")


def test_a_response_written_as_an_expression_is_read_and_text_is_refused_with_the_fix(dstrat):
    """R's ``I(sch.wide == "Yes")`` is the 0/1 column made by hand (tests/test_formulas_r.py checks it against R); a
    text response is a ParameterError saying to make a 0/1 column, which does not repeat the data's values."""
    assert survey.svyglm(dstrat, 'I(sch.wide == "Yes") ~ ell', family="quasibinomial").names == ["(Intercept)", "ell"]
    with pytest.raises(ParameterError, match="'sch.wide' is not numeric") as err:
        survey.svyglm(dstrat, "sch.wide ~ ell", family="quasibinomial")
    assert "Yes" not in str(err.value) and "No'" not in str(err.value)
    yes = survey.update(dstrat, yes=(dstrat.data["sch.wide"] == "Yes").astype(float))
    assert survey.svyglm(yes, "yes ~ ell", family="quasibinomial").names == ["(Intercept)", "ell"]


def test_a_wald_test_has_named_fields_and_an_unknown_term_lists_the_models(dstrat):
    fit = survey.svyglm(dstrat, "api00 ~ ell + stype")
    t = fit.wald("stype")
    F, ndf, ddf, p = t                                   # unpacks as before
    assert (t.F, t.ndf, t.ddf, t.p) == (F, ndf, ddf, p) and ndf == 2 and ddf == fit.df
    with pytest.raises(ParameterError, match=r"'stpye'.*terms are \['ell', 'stype'\]"):
        fit.wald("stpye")


def test_a_misspelt_column_in_a_chi_squared_test_is_named(dstrat):
    with pytest.raises(ParameterError, match="'schwide' is not in the survey data"):
        survey.rao_scott(dstrat, "schwide", "stype")


def test_a_group_level_that_does_not_exist_is_told_apart_from_an_empty_one(dstrat):
    """« yes » for « Yes »: the levels are listed (categories, not free text); a level that exists but whose units
    have no value keeps its own message."""
    with pytest.raises(ParameterError, match=r"'sch.wide' has no level 'yes'; its levels are 'No', 'Yes'"):
        survey.mean_difference(dstrat, "api00", "sch.wide", "yes", "No")
    y = np.where(dstrat.data["sch.wide"] == "No", np.nan, dstrat.data["api00"])
    with pytest.raises(ParameterError, match="group 'No' has no respondent with a value"):
        survey.mean_difference(survey.update(dstrat, y=y), "y", "sch.wide", "Yes", "No")


def test_a_fit_prints_as_r_summary_prints_it(dstrat):
    """An R user types the fit's name and expects ``summary(fit)``: the family and link, the variance, the residual
    df, then Estimate / Std. Error / t value / Pr(>|t|) per coefficient — the numbers of ``table()``."""
    fit = survey.svyglm(dstrat, "api00 ~ ell + stype")
    text = repr(fit)
    assert text.startswith("Survey-weighted GLM (gaussian, identity link): api00 ~ ell + stype; linearisation "
                           f"variance, {fit.df} residual degrees of freedom")
    assert "Estimate  Std. Error  t value" in text and "Pr(>|t|)" in text and "stypeH" in text
    row = next(line for line in text.splitlines() if line.startswith("ell"))
    assert_allclose([float(v) for v in row.split()[1:]], fit.table().set_index("term").loc["ell", ["estimate", "se", "t", "p"]],
                    rtol=1e-5)
    assert "<table" in fit._repr_html_()
    logistic = survey.svyglm(survey.update(dstrat, hi=(dstrat.data["api00"] > 700).astype(float)), "hi ~ ell",
                             family="quasibinomial")
    assert "(quasibinomial, logit link)" in repr(logistic)
