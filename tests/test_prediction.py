"""Predictions of survey-weighted GLMs (``survey.predict``) agree with R ``predict.svyglm`` and ``predict.svrepglm``
(fixtures by tests/reference/make_fixtures_models.R, R survey 4.1.1): estimates and SEs on the link and the response
scale, and the covariance of the predictions (R's ``vcov = TRUE``), linearised and JK1, at rtol 1e-6.

Closed forms as second oracles: on a simple random sample with equal weights, a gaussian prediction is ``x'β`` of
numpy's least squares and its SE ``√(x'Vx)`` with ``V`` the sandwich ``(X'X)⁻¹ (n/(n−1)) Σ e²xx' (X'X)⁻¹``; on the
response scale, the SE is ``μ(1 − μ)`` (logit) or ``μ`` (log) times the link's, and the interval the link's
interval through the inverse link. New data holding a level the fit does not have, or lacking a term's column, is
refused with a message that names the column (and the count of rows, never the values).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
r = partial(helpers.r_value, pd.read_csv(FIX / "predictions.csv"))
# R's `nd` in make_fixtures_models.R
NEW = pd.DataFrame({"ell": [5, 25, 45, 60], "meals": [10, 40, 70, 90], "stype": ["E", "H", "M", "E"],
                    "enroll": [250, 600, 900, 1500]})


@pytest.fixture(scope="module")
def designs():
    clus1, strat = pd.read_csv(FIX / "apiclus1.csv"), pd.read_csv(FIX / "apistrat.csv")
    for d in (clus1, strat):
        d["schwide_yes"] = (d["sch.wide"] == "Yes").astype(float)
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {"dstrat": Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
            "rclus1": survey.with_replicates(dclus1, "jk1")}


# fixture → (design, response, terms, family, R's types, the type R gave the covariance of)
CASES = {"pred_gauss_strat": ("dstrat", "api00", ["ell", "meals", "stype"], "gaussian", ("link",), "link"),
         "pred_logit_strat": ("dstrat", "schwide_yes", ["ell", "meals", "stype"], "quasibinomial",
                              ("link", "response"), "response"),
         "pred_poisson_strat": ("dstrat", "enroll", ["stype", "meals"], "quasipoisson", ("link", "response"), None),
         "pred_gauss_jk1": ("rclus1", "api00", ["ell", "meals", "stype"], "gaussian", ("link",), None),
         "pred_logit_jk1": ("rclus1", "schwide_yes", ["ell", "stype"], "quasibinomial", ("link", "response"),
                            "response"),
         # a rate: English learners per student enrolled, the exposure log(enroll) an offset read from the new rows
         "pred_poisson_offset": ("dstrat", "I(ell * enroll / 100)", ["stype", "meals", "offset(log(enroll))"],
                                 "quasipoisson", ("link", "response"), "response")}


def expected(fixture: str, type: str, quantity: str, i: int, j: int | None = None) -> float:
    """R's prediction; for the offset model, R's ``predict.svyglm`` (which leaves the offset out, unlike R's
    ``predict.glm``) with the offset ``log(enroll)`` of the new row added by hand: ``+ log(enroll)`` to the link,
    ``× enroll`` to the response, its SE and (for rows ``i``, ``j``) covariance; the link's SE is unchanged."""
    value = r(fixture, f"{type}_{quantity}_{i}" if j is None else f"{type}_{quantity}_{i}_{j}")
    if fixture != "pred_poisson_offset":
        return value
    exposure = NEW["enroll"].to_numpy(dtype=float)
    if type == "link":
        return value + np.log(exposure[i - 1]) if quantity == "estimate" else value
    return value * exposure[i - 1] * (1.0 if j is None else exposure[j - 1])


@pytest.fixture(scope="module")
def fits(designs):
    return {name: survey.svyglm(designs[d], y, terms, family=family,
                                variance="replicates" if d == "rclus1" else "linearisation")
            for name, (d, y, terms, family, _, _) in CASES.items()}


@pytest.mark.parametrize("fixture,type", [(f, t) for f, case in CASES.items() for t in case[4]])
def test_predictions_equal_r(fits, fixture, type):
    """Estimates and SEs equal R's predict(fit, nd, type) at each of the four new rows (each school type)."""
    got = survey.predict(fits[fixture], NEW, type=type)
    rows = range(1, len(NEW) + 1)
    assert_allclose(got["estimate"], [expected(fixture, type, "estimate", i) for i in rows], rtol=1e-6)
    assert_allclose(got["se"], [expected(fixture, type, "se", i) for i in rows], rtol=1e-6)
    assert (got["df"] == fits[fixture].df).all() and list(got.index) == list(NEW.index)
    if CASES[fixture][3] == "gaussian":          # identity link: the response is the link
        assert_allclose(survey.predict(fits[fixture], NEW, type="response")[["estimate", "se"]],
                        got[["estimate", "se"]], rtol=1e-12)


@pytest.mark.parametrize("fixture", [f for f, case in CASES.items() if case[5]])
def test_covariance_of_predictions_equals_r_vcov(fits, fixture):
    """The covariance kept with covariance=True equals R's vcov(predict(…, vcov = TRUE)); a contrast of two
    predictions takes it (the difference's SE from R's matrix)."""
    type = CASES[fixture][5]
    got = survey.predict(fits[fixture], NEW, type=type, covariance=True)
    n = len(NEW)
    want = np.array([[expected(fixture, type, "vcov", i, j) for j in range(1, n + 1)] for i in range(1, n + 1)])
    assert_allclose(survey.vcov(got).to_numpy(), want, rtol=1e-6)
    diff = survey.contrast(got, {"0": 1, "1": -1})
    assert_allclose(diff["se"].item(), np.sqrt(want[0, 0] + want[1, 1] - 2 * want[0, 1]), rtol=1e-6)


@pytest.mark.parametrize("fixture", ["pred_logit_strat", "pred_gauss_jk1"])
def test_a_row_alone_is_coded_with_the_fits_levels(fits, fixture):
    """One new row (school type H alone) is coded with the fit's levels, not the levels newdata happens to hold:
    its prediction is R's for that row (R's predict.svrepglm, which builds its model frame without the fit's levels,
    fails on such a row)."""
    got = survey.predict(fits[fixture], NEW.iloc[[1]], type="link")
    assert_allclose(got[["estimate", "se"]].to_numpy()[0],
                    [r(fixture, "link_estimate_2"), r(fixture, "link_se_2")], rtol=1e-6)


def test_gaussian_prediction_on_equal_weights_is_least_squares():
    """Closed form: equal weights on a simple random sample (no strata, no fpc). The prediction is x'β with β from
    numpy's least squares on a hand-built design matrix; its SE is √(x'Vx) with V the sandwich whose middle is
    n/(n−1) Σ e_i² x_i x_i'; the interval is x'β ± t SE on the residual df n − p (the design's n − 1, + 1 − p)."""
    rng = np.random.default_rng(20240611)
    n = 60
    g = rng.choice(["a", "b", "c"], n)
    x = rng.normal(size=n)
    y = 1 + 2 * x + (g == "b") - 0.5 * (g == "c") + rng.normal(size=n)
    fit = survey.svyglm(Design.from_frame(pd.DataFrame({"y": y, "x": x, "g": g, "w": 3.0}), weights="w"),
                        "y", ["x", "g"])
    X = np.column_stack([np.ones(n), x, g == "b", g == "c"]).astype(float)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    e = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    V = bread @ ((X.T * e ** 2) @ X * n / (n - 1)) @ bread
    new = pd.DataFrame({"x": [-1.0, 0.0, 2.5], "g": ["c", "a", "b"]})
    Xn = np.array([[1, -1.0, 0, 1], [1, 0.0, 0, 0], [1, 2.5, 1, 0]])
    got = survey.predict(fit, new, level=0.9)
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, V, Xn))
    assert_allclose(got["estimate"], Xn @ beta, rtol=1e-10)
    assert_allclose(got["se"], se, rtol=1e-10)
    t = stats.t.ppf(0.95, n - X.shape[1])
    assert fit.df == n - X.shape[1]
    assert_allclose(got[["ci_low", "ci_high"]].to_numpy(), np.column_stack([Xn @ beta - t * se, Xn @ beta + t * se]),
                    rtol=1e-10)


@pytest.mark.parametrize("fixture,derivative", [("pred_logit_strat", lambda mu: mu * (1 - mu)),
                                                ("pred_logit_jk1", lambda mu: mu * (1 - mu)),
                                                ("pred_poisson_strat", lambda mu: mu)])
def test_response_scale_is_the_delta_method(fits, fixture, derivative):
    """μ = g⁻¹(η); SE(μ) = |dμ/dη| SE(η) (μ(1 − μ) for the logit, μ for the log link); the interval is the link's
    through g⁻¹ (inside (0, 1) for the logit); the covariance is D (X V X') D."""
    link = survey.predict(fits[fixture], NEW, type="link", level=0.9, covariance=True)
    resp = survey.predict(fits[fixture], NEW, type="response", level=0.9, covariance=True)
    inv = special.expit if "logit" in fixture else np.exp
    mu = inv(link["estimate"].to_numpy())
    assert_allclose(resp["estimate"], mu, rtol=1e-12)
    assert_allclose(resp["se"], derivative(mu) * link["se"], rtol=1e-12)
    assert_allclose(resp[["ci_low", "ci_high"]], inv(link[["ci_low", "ci_high"]].to_numpy()), rtol=1e-12)
    d = derivative(mu)
    assert_allclose(survey.vcov(resp).to_numpy(), d[:, None] * survey.vcov(link).to_numpy() * d[None, :], rtol=1e-12)


@pytest.mark.parametrize("value,count", [("Z", 1), ("A", 2)])
def test_an_unseen_level_is_refused_by_column_and_count(designs, value, count):
    """A level the fit never saw (« Z »), or one no unit of the model held (« A », a category of the data the fit
    dropped), is refused: the message names the column and counts the rows, without the value."""
    d = designs["dstrat"]
    d = survey.update(d, stypec=pd.Categorical(d.data["stype"], categories=["A", "E", "H", "M"]))
    fit = survey.svyglm(d, "api00", ["ell", "stypec"])
    new = pd.DataFrame({"ell": [10, 20, 30], "stypec": ["E", value, value if count == 2 else "H"]})
    with pytest.raises(ParameterError, match=rf"column 'stypec': {count} row\(s\)") as err:
        survey.predict(fit, new)
    assert f"'{value}'" not in str(err.value) and f"{value}," not in str(err.value)


def test_a_missing_column_or_a_text_slope_is_refused_by_name(fits):
    with pytest.raises(ParameterError, match="no column 'meals'"):
        survey.predict(fits["pred_gauss_strat"], NEW.drop(columns="meals"))
    with pytest.raises(ParameterError, match="column 'ell' is a numeric term"):
        survey.predict(fits["pred_gauss_strat"], NEW.assign(ell=NEW["ell"].astype(str)))
    with pytest.raises(ParameterError, match="type must be"):
        survey.predict(fits["pred_gauss_strat"], NEW, type="terms")
    with pytest.raises(ParameterError, match="level must be"):
        survey.predict(fits["pred_gauss_strat"], NEW, level=95)


def test_a_proportional_odds_fit_is_refused(designs):
    d = designs["dstrat"]
    fit = survey.svyolr(survey.update(d, band=pd.cut(d.data["api00"], 3, labels=False)), "band", ["ell"])
    with pytest.raises(ParameterError, match="svyolr"):
        survey.predict(fit, NEW)


def test_a_row_with_a_missing_value_gets_nan_and_leaves_the_others_alone(fits):
    new = NEW.assign(stype=NEW["stype"].where(NEW.index != 1), meals=NEW["meals"].where(NEW.index != 2))
    got = survey.predict(fits["pred_logit_strat"], new, type="response", covariance=True)
    assert got.loc[[1, 2], ["estimate", "se", "ci_low", "ci_high"]].isna().all().all()
    full = survey.predict(fits["pred_logit_strat"], NEW, type="response")
    assert_allclose(got.loc[[0, 3], ["estimate", "se"]], full.loc[[0, 3], ["estimate", "se"]], rtol=1e-12)


def test_an_offset_is_read_from_the_new_rows_and_a_missing_one_gives_nan(fits):
    """R adds the offset computed on the new data: doubling a row's exposure adds log 2 to its linear predictor and
    leaves its SE (the offset has no coefficient); a missing exposure gives NaN, and new data without the offset's
    column is refused, naming it."""
    fit = fits["pred_poisson_offset"]
    base = survey.predict(fit, NEW)
    more = survey.predict(fit, NEW.assign(enroll=NEW["enroll"] * 2))
    assert_allclose(more["estimate"] - base["estimate"], np.log(2), rtol=1e-12)
    assert_allclose(more["se"], base["se"], rtol=1e-12)
    gap = survey.predict(fit, NEW.assign(enroll=[250, np.nan, 900, 1500]))
    assert gap[["estimate", "se"]].iloc[1].isna().all() and gap["estimate"].drop(1).notna().all()
    with pytest.raises(ParameterError, match="enroll"):
        survey.predict(fit, NEW.drop(columns="enroll"))
