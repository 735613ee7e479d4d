"""Linear combinations of estimates (``contrast``, R ``svycontrast``) and the estimators' covariance (R ``vcov``,
``svyby(…, covmat = TRUE)``), against R on the api data (fixtures by tests/reference/make_fixtures_models.R, rtol
1e-8) and against closed forms: domains' totals add up to the whole sample's total, estimate and SE alike.
"""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from portrait import survey
from portrait.pipeline import paths
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
r = partial(helpers.r_value, pd.read_csv(FIX / "contrasts.csv"))


def _pair(c: pd.DataFrame, fixture: str) -> None:
    assert_allclose(c[["estimate", "se"]].to_numpy().ravel(), [r(fixture, "estimate"), r(fixture, "se")], rtol=1e-8)


def test_contrast_of_two_means_and_their_covariance_equal_r(dclus1):
    m = survey.mean(dclus1, ["api00", "api99"], covariance=True)
    _pair(survey.contrast(m, {"api00": 1, "api99": -1}), "contrast_means")
    v = survey.vcov(m)
    assert_allclose([v.loc["api00", "api00"], v.loc["api00", "api99"], v.loc["api99", "api99"]],
                    [r("vcov_means", q) for q in ("api00_api00", "api00_api99", "api99_api99")], rtol=1e-8)
    assert_allclose(np.sqrt(np.diag(v)), m["se"], rtol=1e-12)         # the diagonal is the table's SEs squared


def test_contrasts_of_domain_means_equal_r_svyby_covmat(dclus1):
    by = survey.mean(dclus1, "api00", by="stype", covariance=True)
    c = survey.contrast(by, {"EmH": {"E": 1, "H": -1}, "avg": [1 / 3] * 3})
    assert list(c["contrast"]) == ["EmH", "avg"]
    assert_allclose(c["estimate"], [r("contrast_by_EmH", "estimate"), r("contrast_by_avg", "estimate")], rtol=1e-8)
    assert_allclose(c["se"], [r("contrast_by_EmH", "se"), r("contrast_by_avg", "se")], rtol=1e-8)
    v = survey.vcov(by)
    names = {s: f"api00 | stype={s}" for s in "EHM"}
    assert_allclose([v.loc[names[a], names[b]] for a, b in ("EH", "EM", "HM")],
                    [r("vcov_by", f"{a}_{b}") for a, b in ("EH", "EM", "HM")], rtol=1e-8)
    # the interval: Student's t on the design's df (PSUs − strata = 14), by hand
    t = stats.t.ppf(0.975, 14)
    assert c["df"].tolist() == [14.0, 14.0]
    assert_allclose(c["ci_high"] - c["estimate"], t * c["se"], rtol=1e-12)


def test_contrast_of_shares_totals_replicates_and_calibration_equal_r(dclus1):
    p = survey.proportion(dclus1, "sch.wide", by="stype", covariance=True)
    _pair(survey.contrast(p, {"sch.wide=Yes | stype=E": 1, "sch.wide=Yes | stype=H": -1}), "contrast_share")
    _pair(survey.contrast(survey.total(dclus1, "enroll", by="stype", covariance=True), [1, 1, 1]), "contrast_totals")
    jk = survey.mean(survey.with_replicates(dclus1, "jk1"), "api00", by="stype", variance="replicates",
                     covariance=True)
    c = survey.contrast(jk, {"E": 1, "H": -1})
    _pair(c, "contrast_jk1")
    assert c["variance"].iloc[0] == "jk1"
    cal = survey.calibrate(dclus1, [survey.Margin.of("stype", {"E": 4421, "H": 755, "M": 1018}),
                                   survey.Margin.of("sch.wide", {"No": 1072, "Yes": 5122})], method="raking")
    _pair(survey.contrast(survey.mean(cal, ["api00", "api99"], covariance=True), [1, -1]), "contrast_cal")


def test_domain_totals_add_up_to_the_total(dclus1):
    """Closed form: the domains partition the sample, so their totals' sum is the total and its influence values are
    the total's; the contrast's SE is the total's SE."""
    whole = survey.total(dclus1, "enroll").iloc[0]
    c = survey.contrast(survey.total(dclus1, "enroll", by="stype", covariance=True), [1, 1, 1]).iloc[0]
    assert c.estimate == pytest.approx(whole.estimate, rel=1e-12)
    assert c.se == pytest.approx(whole.se, rel=1e-10)


def test_rows_may_be_filtered_or_reordered_but_not_joined(dclus1):
    by = survey.mean(dclus1, "api00", by="stype", covariance=True)
    full = survey.contrast(by, {"E": 1, "H": -1})
    two = by.loc[by["domain"] != "stype=M"].iloc[::-1]
    assert_allclose(survey.contrast(two, {"E": 1, "H": -1})[["estimate", "se"]],
                    full[["estimate", "se"]], rtol=1e-12)
    assert_allclose(survey.contrast(two, [-1, 1])["estimate"], full["estimate"], rtol=1e-12)   # H first now
    assert_allclose(survey.contrast(copy.deepcopy(by), {"E": 1, "H": -1})["se"], full["se"], rtol=1e-12)
    joined = pd.concat([by, survey.mean(dclus1, "api99", by="stype", covariance=True)], ignore_index=True)
    with pytest.raises(survey.ParameterError, match="covariance=True"):
        survey.contrast(joined, [1, 0, 0, -1, 0, 0])
    with pytest.raises(survey.ParameterError, match="covariance=True"):
        survey.contrast(survey.mean(dclus1, "api00", by="stype"), [1, -1, 0])


def test_unclear_coefficients_are_refused_with_the_row_names(dclus1):
    p = survey.proportion(dclus1, "sch.wide", by="stype", covariance=True)
    with pytest.raises(survey.ParameterError, match=r"'E' names 2 rows .*'sch.wide=No \| stype=E'"):
        survey.contrast(p, {"E": 1})
    with pytest.raises(survey.ParameterError, match="'Z' names no row"):
        survey.contrast(p, {"Z": 1})
    with pytest.raises(survey.ParameterError, match="2 coefficients for 6 estimates"):
        survey.contrast(p, [1, -1])
    with pytest.raises(survey.ParameterError, match="must be a finite number"):
        survey.contrast(p, {"sch.wide=Yes | stype=E": np.nan})


def test_a_normal_interval_when_df_is_infinite(dclus1):
    m = survey.mean(dclus1, ["api00", "api99"], df=np.inf, covariance=True)
    c = survey.contrast(m, [1, -1]).iloc[0]
    assert c.df == np.inf
    assert c.ci_high - c.estimate == pytest.approx(stats.norm.ppf(0.975) * c.se, rel=1e-12)


def test_contrast_of_model_coefficients_equals_r():
    """R ``svycontrast(svyglm(…), c(stypeH = 1, stypeM = -1))``: the two school types' log-odds ratios compared."""
    strat = pd.read_csv(FIX / "apistrat.csv").assign(_y=lambda s: (s["sch.wide"] == "Yes").astype(float))
    d = survey.Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    fit = survey.svyglm(d, "_y", ["ell", "meals", "stype"], family="quasibinomial")
    c = survey.contrast(fit, {"stypeH": 1, "stypeM": -1})
    assert_allclose(c[["estimate", "se"]].to_numpy().ravel(), [r("contrast_glm", "estimate"), r("contrast_glm", "se")],
                    rtol=1e-6)                # svyglm's iterated fit, as tests/test_models_r.py
    assert c["df"].iloc[0] == fit.df


def test_estimates_with_their_covariance_can_be_written_and_read_back(dclus1, tmp_path):
    """The covariance is kept as plain lists in ``attrs``: the table still writes to Parquet, which keeps it (pandas
    stores ``attrs`` in the file's metadata), so a contrast can be taken after reading it back."""
    by = survey.mean(dclus1, "api00", by="stype", covariance=True)
    by.to_parquet(tmp_path / "by.parquet")
    back = pd.read_parquet(tmp_path / "by.parquet")
    assert_allclose(survey.contrast(back, {"E": 1, "H": -1})[["estimate", "se"]],
                    survey.contrast(by, {"E": 1, "H": -1})[["estimate", "se"]], rtol=1e-15)
    assert_allclose(survey.vcov(back), survey.vcov(by), rtol=1e-15)
    by.to_csv(tmp_path / "by.csv")


def test_nonlinear_contrasts_equal_r(dclus1):
    """Functions of estimates by the delta method, as R ``svycontrast(…, quote(…))`` with its symbolic derivatives:
    a ratio of two means, its log and a difference written as an expression in one call (the last equals the linear
    contrast); domains' means through exp, sqrt and a power; JK1 replicates; a model's odds ratio (rtol 1e-8, the
    model's 1e-6 as tests/test_models_r.py)."""
    m = survey.mean(dclus1, ["api00", "api99"], covariance=True)
    c = survey.contrast(m, {"ratio": "api00 / api99", "logratio": "log(api00) - log(api99)",
                            "diff": "api00 - api99", "linear": {"api00": 1, "api99": -1}})
    for name in ("ratio", "logratio", "diff"):
        _pair(c.loc[c["contrast"] == name], f"nonlinear_{name}")
    assert_allclose(c.iloc[2][["estimate", "se"]].astype(float), c.iloc[3][["estimate", "se"]].astype(float),
                    rtol=1e-12)
    by = survey.mean(dclus1, "api00", by="stype", covariance=True)
    _pair(survey.contrast(by, "exp(E / 1000) - sqrt(M) + (H / 600)^2"), "nonlinear_by")
    jk = survey.mean(survey.with_replicates(dclus1, "jk1"), ["api00", "api99"], variance="replicates",
                     covariance=True)
    _pair(survey.contrast(jk, "api00/api99"), "nonlinear_jk1")
    strat = pd.read_csv(FIX / "apistrat.csv").assign(_y=lambda s: (s["sch.wide"] == "Yes").astype(float))
    fit = survey.svyglm(survey.Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"), "_y",
                        ["ell", "meals", "stype"], family="quasibinomial")
    got = survey.contrast(fit, {"odds ratio": "exp(stypeH - stypeM)"})
    assert_allclose(got[["estimate", "se"]].to_numpy().ravel(),
                    [r("nonlinear_glm", "estimate"), r("nonlinear_glm", "se")], rtol=1e-6)


def test_a_nonlinear_contrast_is_the_delta_method_by_hand(dclus1):
    """Closed form: the SE of a / b is √(g' V g) with g = (1/b, −a/b²), V the two means' covariance (R's vcov); an
    expression naming no row, or two, or computing what a contrast does not, is refused with the names it can use."""
    m = survey.mean(dclus1, ["api00", "api99"], covariance=True)
    a, b = m["estimate"]
    V = survey.vcov(m).to_numpy()
    g = np.array([1 / b, -a / b ** 2])
    got = survey.contrast(m, "api00 / api99").iloc[0]
    assert got.estimate == pytest.approx(a / b, rel=1e-14) and got.se == pytest.approx(np.sqrt(g @ V @ g), rel=1e-12)
    with pytest.raises(survey.ParameterError, match=r"'api01' names no row.*'api00', 'api99'"):
        survey.contrast(m, "api01 / api99")
    with pytest.raises(survey.ParameterError, match="does not compute"):
        survey.contrast(m, "api00 > api99")


def test_an_expression_at_a_pole_gives_infinity_and_text_coefficients_stay_refused(dclus1):
    """A review: a ratio or log of an estimate of 0 raised ZeroDivisionError from Python floats; it now gives ±∞ (and
    a NaN SE), as numpy does. And a mapping of coefficients read as text (« 1 », « -1 » from a file) became two
    constant contrasts with SE 0 once strings meant expressions; numbers written as text are refused again."""
    m = survey.mean(dclus1, ["api00", "api99"], covariance=True)
    assert survey.contrast(m, "api00 / (api00 - api00)")["estimate"].item() == np.inf
    assert survey.contrast(m, "log(api00 - api00)")["estimate"].item() == -np.inf
    assert np.isnan(survey.contrast(m, "(-api00)^0.5")["estimate"].item())
    with pytest.raises(survey.ParameterError, match="must be a finite number, not '1'"):
        survey.contrast(m, {"api00": "1", "api99": "-1"})
