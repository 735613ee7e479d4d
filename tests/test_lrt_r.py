"""Working (Rao–Scott) likelihood-ratio tests of survey GLM terms agree with R ``regTermTest(…, method = "LRT")``.

Fixtures by tests/reference/make_fixtures_lrt.R (R survey 4.1.1): the statistic, every misspecification eigenvalue
and the p-value, saddlepoint and Satterthwaite, F (residual df) and chi-square (``df = Inf``) versions, for gaussian,
(quasi)binomial and quasipoisson models on the stratified and one-stage cluster api samples, an interaction, and JK1
replicates, at rtol 1e-6 (largest differences: chisq 5e-14, eigenvalues 6e-8, p 6e-7; R's ``naive.cov`` is taken
at the last-but-one IRLS iterate, up to 8e-6 from the information at the final coefficients, which is used here);
R's ``pchisqsum`` and ``pFsum`` alone, from the centre (where R falls back from the saddlepoint to Satterthwaite) to
far in the tail, at rtol 1e-6 (R's ``uniroot`` stops at tol 1e-8: the largest difference seen is 2e-7).

Independent oracles:

* a simple random sample with equal weights ``c`` and a gaussian model: the weights rescaled to mean 1 are all 1, so
  the statistic is the classical ``RSS₀ − RSS₁`` of numpy's least squares, whatever ``c``; the eigenvalues are those
  of ``V₀⁻¹V`` with ``V₀ = (X'X)⁻¹`` and ``V`` the with-replacement sandwich ``(X'X)⁻¹ (n/(n−1)) Σ e²xx' (X'X)⁻¹``,
  both from numpy, restricted to the tested coefficients; with homoscedastic errors they are close to the residual
  variance ``σ̂² = RSS₁/(n − p)`` (within 15% at n = 2000, about five times their sampling SD ``√(2/n)``), and
  ``chisq / (q σ̂²)`` is the classical nested-model F statistic;
* the tail of ``Σ λᵢ χ²₁`` and of ``Σ λᵢ χ²₁ / (χ²₃₀/30)`` by Monte Carlo (10⁶ seeded draws): the saddlepoint is within
  ``4·SE + 10%`` of the simulated tail, ``SE = √(p̂(1 − p̂)/N)`` the binomial SE and 10% the saddlepoint's own
  relative error (against Imhof's exact integral, it grows to 9% at ``p = 10⁻⁴`` for ``λ = (3, 1, 0.5)``, as for a
  single χ²₁), while Satterthwaite's is not, far in the tail;
* one ``λ``: Satterthwaite is exact (``λ χ²₁``, ``F(1, d)``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, ParameterError
from portrait.survey.lrt import pchisqsum, pfsum
from tests import helpers

FIX = paths.TESTS / "reference" / "fixtures"
TABLE = pd.read_csv(FIX / "lrt.csv")
r = partial(helpers.r_value, TABLE)

# R's models in make_fixtures_lrt.R → (design, response, terms, family)
MODELS = {"gauss_strat": ("dstrat", "api00", ["ell", "meals", "stype"], "gaussian"),
          "logit_strat": ("dstrat", "schwide_yes", ["ell", "meals", "stype"], "quasibinomial"),
          "binomial_strat": ("dstrat", "schwide_yes", ["ell", "meals", "stype"], "binomial"),
          "gauss_clus1": ("dclus1", "api00", ["ell", "meals", "stype"], "gaussian"),
          "logit_clus1": ("dclus1", "compimp_yes", ["api99", "stype"], "quasibinomial"),
          "poisson_strat": ("dstrat", "enroll", ["stype", "meals"], "quasipoisson"),
          "poisson_offset": ("dstrat", "I(ell * enroll / 100)", ["stype", "meals", "offset(log(enroll))"],
                             "quasipoisson"),
          "inter_clus1": ("dclus1", "api00", ["stype*ell", "meals"], "gaussian"),
          "gauss_sub": ("dsub", "api00", ["ell", "meals", "stype"], "gaussian"),
          "gauss_jk1": ("rclus1", "api00", ["ell", "meals", "stype"], "gaussian"),
          "logit_jk1": ("rclus1", "schwide_yes", ["ell", "stype"], "quasibinomial")}
TESTS = sorted(TABLE.loc[TABLE.quantity == "chisq", "fixture"])


@pytest.fixture(scope="module")
def designs():
    clus1, strat = pd.read_csv(FIX / "apiclus1.csv"), pd.read_csv(FIX / "apistrat.csv")
    for d in (clus1, strat):
        d["schwide_yes"] = (d["sch.wide"] == "Yes").astype(float)
        d["compimp_yes"] = (d["comp.imp"] == "Yes").astype(float)
    dclus1 = Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    dstrat = Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc")
    # an audit: chisq and λ divided by the mean weight of every unit, the subset's zeros included (×200/99)
    return {"dstrat": dstrat, "dclus1": dclus1, "rclus1": survey.with_replicates(dclus1, "jk1"),
            "dsub": survey.subset(dstrat, (strat["meals"] > 40).to_numpy())}


def test_every_model_of_the_script_is_tested():
    assert len(TESTS) == 24 and {"_".join(f.split("_")[:2]) for f in TESTS} == set(MODELS)


@pytest.mark.parametrize("fixture", TESTS)
def test_working_lrt_equals_regtermtest(designs, fixture):
    """chisq, each eigenvalue (largest first), df, ddf and p equal R's regTermTest(…, method = 'LRT')."""
    model, test, ddf, approximation = fixture[: fixture.index("_", fixture.index("_") + 1)], *fixture.split("_")[2:]
    d, y, terms, family = MODELS[model]
    if test == "stype:ell":
        test = "ell:stype"                              # either order names the interaction
    got = survey.working_lrt(designs[d], y, terms, test=test.split("+"), family=family,
                             variance="replicates" if d == "rclus1" else None, approximation=approximation,
                             df=None if ddf == "resid" else np.inf)
    lambdas = TABLE.loc[(TABLE.fixture == fixture) & TABLE.quantity.str.startswith("lambda_"), "value"].to_numpy()
    assert_allclose(got.chisq, r(fixture, "chisq"), rtol=1e-6)
    assert_allclose(got.chisq, r(fixture, "deviance_reduced") - r(fixture, "deviance_full"), rtol=1e-6)
    assert_allclose(got.lambdas, lambdas, rtol=1e-6)
    assert got.df == r(fixture, "df") and got.ddf == r(fixture, "ddf")
    assert_allclose(got.p, r(fixture, "p"), rtol=1e-6)
    assert got.approximation == approximation and got.two_log_lr == pytest.approx(got.chisq / np.mean(lambdas))


@pytest.mark.parametrize("fixture", sorted(TABLE.loc[TABLE.quantity == "pchisqsum", "fixture"]))
def test_distribution_functions_equal_pchisqsum_and_pfsum(fixture):
    """Upper tails of Σ aᵢ χ²₁ and of its ratio to χ²₃₀/30 equal R's pchisqsum and pFsum (x = m Σ a; at m = 1 the
    saddlepoint is 0 and R, as here, falls back to Satterthwaite)."""
    name, m, approximation = fixture.split("_")
    a = {"a1": [3, 1, 0.5], "a2": [5, 0.2], "a3": [1.2, 0.9, 0.8, 0.4, 0.1], "a4": [2]}[name]
    x = float(m) * sum(a)
    assert_allclose(pchisqsum(x, a, approximation), r(fixture, "pchisqsum"), rtol=1e-6)
    assert_allclose(pfsum(x, a, 30, approximation), r(fixture, "pFsum_30"), rtol=1e-6)
    if m == "1":
        assert pchisqsum(x, a) == pchisqsum(x, a, "satterthwaite")
        assert pfsum(x, a, 30) == pfsum(x, a, 30, "satterthwaite")


def test_formula_and_r_style_test_give_the_same_test(designs):
    d = designs["dstrat"]
    by_list = survey.working_lrt(d, "api00", ["ell", "meals", "stype"], test=["stype"])
    by_formula = survey.working_lrt(d, "api00 ~ ell + meals + stype", test="~ stype")
    assert (by_formula.terms, by_formula.chisq, by_formula.p) == (by_list.terms, by_list.chisq, by_list.p)
    assert_allclose(by_formula.lambdas, by_list.lambdas, rtol=1e-12)


@pytest.mark.parametrize("c", [1.0, 3.7])
def test_equal_weights_gaussian_is_the_classical_nested_test(c):
    """On a simple random sample with equal weights c, the statistic is RSS₀ − RSS₁ (numpy), the eigenvalues those of
    V₀⁻¹V from numpy's sandwich, close to σ̂², and chisq/(q σ̂²) the classical F."""
    rng = np.random.default_rng(7)
    n = 2000
    df = pd.DataFrame({"x1": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    df["y"] = 1 + 0.5 * df.x1 + 0.15 * (df.g == "b") + rng.normal(scale=2.0, size=n)
    df["w"] = c
    got = survey.working_lrt(Design.from_frame(df, weights="w"), "y", ["x1", "g"], test="g")
    X = np.column_stack([np.ones(n), df.x1, df.g == "b", df.g == "c"]).astype(float)
    X0, y = X[:, :2], df.y.to_numpy()
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    rss1, rss0 = e @ e, np.sum((y - X0 @ np.linalg.lstsq(X0, y, rcond=None)[0]) ** 2)
    assert_allclose(got.chisq, rss0 - rss1, rtol=1e-9)
    bread = np.linalg.inv(X.T @ X)
    V = bread @ ((X.T * e ** 2) @ X * n / (n - 1)) @ bread
    tested = [2, 3]
    expected = np.linalg.eigvals(np.linalg.solve(bread[np.ix_(tested, tested)], V[np.ix_(tested, tested)]))
    assert_allclose(got.lambdas, np.sort(expected.real)[::-1], rtol=1e-8)
    sigma2 = rss1 / (n - X.shape[1])
    assert np.all(np.abs(got.lambdas / sigma2 - 1) < 0.15)
    F = (rss0 - rss1) / 2 / sigma2
    assert_allclose(got.chisq / (2 * sigma2), F, rtol=1e-12)
    assert got.ddf == n - X.shape[1] and got.p == pytest.approx(stats.f.sf(F, 2, n - 4), rel=0.1)


LAMBDAS = [(3, 1, 0.5), (1.2, 0.9, 0.8, 0.4, 0.1), (10, 1, 1, 1)]


@pytest.mark.parametrize("k", range(len(LAMBDAS)))
def test_saddlepoint_tails_agree_with_monte_carlo(k):
    """At x = m Σλ, m = 2 … 8 (tails from 0.1 to 10⁻⁵), the saddlepoint is within 4 binomial SEs + 10% of the
    simulated tail (10⁶ draws); Satterthwaite's chi-square is not at m = 6 (p near 10⁻³ to 10⁻⁴)."""
    lam, N = np.array(LAMBDAS[k], dtype=float), 1_000_000
    rng = np.random.default_rng(100 + k)
    q = (rng.standard_normal((N, len(lam))) ** 2) @ lam
    den = rng.chisquare(30, N) / 30
    for m in (2, 4, 6, 8):
        x = m * lam.sum()
        for kind, tail, p_sad, p_sat in (
                ("chisq", q > x, pchisqsum(x, lam), pchisqsum(x, lam, "satterthwaite")),
                ("F", q / den > x, pfsum(x, lam, 30), pfsum(x, lam, 30, "satterthwaite"))):
            p = tail.mean()
            tolerance = 4 * np.sqrt(p * (1 - p) / N) + 0.10 * p
            assert abs(p_sad - p) <= tolerance, (kind, lam, m, p, p_sad)
            if kind == "chisq" and m == 6:
                assert abs(p_sat - p) > tolerance, (lam, p, p_sat)        # the check would catch Satterthwaite


@pytest.mark.parametrize("x", [0.5, 3.0, 12.0, 40.0])
def test_one_lambda_satterthwaite_is_exact(x):
    assert pchisqsum(x, [2.5], "satterthwaite") == pytest.approx(stats.chi2.sf(x / 2.5, 1), rel=1e-12)
    assert pfsum(x, [2.5], 17, "satterthwaite") == pytest.approx(stats.f.sf(x / 2.5, 1, 17), rel=1e-12)


def test_refusals_name_what_is_wrong(designs):
    d = designs["dstrat"]
    with pytest.raises(ParameterError, match=r"\['awards'\] not in the model.*\['ell', 'meals', 'stype'\]"):
        survey.working_lrt(d, "api00", ["ell", "meals", "stype"], test="awards")
    with pytest.raises(ParameterError, match="saddlepoint, satterthwaite, got 'chisq'"):
        survey.working_lrt(d, "api00", ["ell", "stype"], test="stype", approximation="chisq")
    with pytest.raises(ParameterError, match=r"keeps the interaction\(s\) \['stype:ell'\]"):
        survey.working_lrt(designs["dclus1"], "api00", ["stype*ell"], test="ell")
    holes = d.data.copy()
    holes.loc[holes.index[:5], "meals"] = np.nan
    gappy = Design.from_frame(holes, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ParameterError, match=r"\['meals'\] have missing values"):
        survey.working_lrt(gappy, "api00", ["ell", "meals", "stype"], test="meals")
    with pytest.raises(ParameterError, match="at least 1"):
        pfsum(3.0, [1.0, 2.0], 0.5)
    few = pd.DataFrame({"psu": np.repeat([1, 2, 3], 20), "x": np.arange(60.0) % 7, "g": np.tile(list("abcd"), 15)})
    few["y"] = few.x + np.sin(np.arange(60.0))
    with pytest.raises(ParameterError, match="covariance of the 3 tested coefficients is singular"):
        survey.working_lrt(Design.from_frame(few.assign(w=1.0), weights="w", psu="psu"), "y", ["x", "g"], test="g")


def test_a_statistic_far_in_the_tail_gives_a_p_value_of_zero_not_a_root_finding_error():
    """An audit: pchisqsum(2e5, [1]) raised scipy's « f(a) and f(b) must have different signs » (R errors too: its
    bracket stops 1e-5 short of the pole), and so did working_lrt(df=inf) on a strong effect. The bracket now nears
    the pole; beyond what a double holds the tail is 0, the chi-square's own (scipy: 0 beyond x ≈ 1,500)."""
    from scipy import stats

    for x in (2e3, 9e4, 2e5, 1e7, 1e16):          # 1e16: no bracket holds the saddlepoint, the tail is 0 outright
        assert survey.pchisqsum(x, [1.0]) == stats.chi2.sf(x, 1) == 0.0
    assert survey.pchisqsum(2e5, [2.0, 0.5]) == 0.0
    assert 0 < survey.pchisqsum(300.0, [1.0]) < 1e-60          # still the saddlepoint's value where it has one
