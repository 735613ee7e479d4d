"""Domains of several variables (``by=[a, b]``), as R ``svyby(…, ~a + b, …)`` orders and estimates them.

R values: tests/reference/make_fixtures_domains.R on R's api data. The rows come in R's ``interaction()`` order (the
first variable varying fastest, each variable's levels as ``factor()`` sorts them: a numeric code by value, 1, 2, 10),
a school whose code is missing is in no domain; estimates and SEs at rtol 1e-10 (a domain of one PSU has SE 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design

FIX = paths.TESTS / "reference" / "fixtures"
REF = pd.read_csv(FIX / "domains.csv")


def _coded(frame: pd.DataFrame) -> pd.DataFrame:
    meals = frame["meals"]
    mc = np.where(meals > 90, np.nan, np.where(meals > 50, 2.0, np.where(meals > 20, 10.0, 1.0)))
    return frame.assign(mc=mc)


STRAT = Design.from_frame(_coded(pd.read_csv(FIX / "apistrat.csv")), weights="pw", strata="stype", fpc="fpc")
CLUS1 = Design.from_frame(_coded(pd.read_csv(FIX / "apiclus1.csv")), weights="pw", psu="dnum", fpc="fpc")
CASES = {
    "strat_stype_awards": (survey.mean, STRAT, "api00", ["stype", "awards"]),
    "strat_awards_stype": (survey.mean, STRAT, "api00", ["awards", "stype"]),
    "clus1_mc_schwide": (survey.mean, CLUS1, "api00", ["mc", "sch.wide"]),
    "clus1_total_three": (survey.total, CLUS1, "enroll", ["sch.wide", "stype", "mc"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_domains_of_several_variables_come_in_r_order_with_r_numbers(name):
    estimator, design, variable, by = CASES[name]
    r = REF.loc[REF["fixture"] == name].sort_values("position")
    got = estimator(design, variable, by=by)
    assert list(got["domain"]) == [f"{' × '.join(by)}={lv}" for lv in r["levels"]]
    assert_allclose(got["estimate"], r["estimate"], rtol=1e-10)
    assert_allclose(got["se"], r["se"], rtol=1e-10, atol=1e-9 * r["estimate"].abs().max())


def test_a_categorical_domain_variable_keeps_its_categories_order():
    """The oracle is R's factor(): a categorical column's categories give its levels' order, not the text."""
    data = STRAT.data.assign(stype=pd.Categorical(STRAT.data["stype"], categories=["M", "H", "E"]))
    d = survey.update(STRAT, stype=data["stype"])
    got = survey.mean(d, "api00", by=["awards", "stype"])
    assert list(got["domain"]) == [f"awards × stype={a} × {s}" for s in "MHE" for a in ("No", "Yes")]
