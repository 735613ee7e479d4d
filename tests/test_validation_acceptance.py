"""Report 08's acceptance table: each criterion's verdict on summaries whose values are set by hand, and the Monte
Carlo precisions that decide whether a criterion can be judged one statistic at a time (closed forms, a binomial sum,
a simulation)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from portrait.study import validation_acceptance as acc
from portrait.study.validation_setup import DIFFERENCE_NAME, PROFILE_HALVES


def test_replications_needed_is_the_first_assessable_count():
    # ±1 point on a 95 % coverage: 1.96² · 0.95 · 0.05 / 0.01² = 1824.76
    assert acc.replications_needed("coverage") == 1825
    assert acc.assessable(1825, "coverage") and not acc.assessable(1824, "coverage")
    # ±5 % on an SD: 1.96 / √(2 (R − 1)) ≤ 0.05 from R − 1 = 768.32
    assert acc.replications_needed("se_ratio") == 770
    assert acc.assessable(770, "se_ratio") and not acc.assessable(769, "se_ratio")
    assert acc.assessable(385, "bias") and not acc.assessable(384, "bias")     # 1.96/√R ≤ 0.1 from R = 384.16
    with pytest.raises(Exception, match="unknown criterion"):
        acc.assessable(100, "power")


def test_sd_half_width_against_simulation():
    """The SD of a sample SD from R = 200 normal draws, relative to σ, is 1/√(2 (R − 1)) = 0.0501; 4,000 samples
    estimate it to about 1.1 % (relative), so 5 % is a loose bound."""
    rng = np.random.default_rng(20170301)
    sds = rng.standard_normal((4000, 200)).std(axis=1, ddof=1)
    assert sds.std(ddof=1) == pytest.approx(acc.sd_half_width(200) / 1.96, rel=0.05)


def test_expected_share_outside_is_the_binomial_tail():
    # 200 replications, band [94 %, 96 %] = [188, 192] covered intervals
    tail = stats.binom.cdf(187, 200, 0.95) + stats.binom.sf(192, 200, 0.95)
    assert acc.expected_share_outside(200) == pytest.approx(tail, rel=1e-12)
    assert 0.40 < acc.expected_share_outside(200) < 0.45


def _summary(coverage_lin, coverage_boot=(0.95, 0.95), se_ratio=(1.0, 1.0), bias_sd=(0.02, -0.03),
             sizes=(0.05, 0.05), failures=0):
    """Two statistics (one of each survey… here residents, and the difference with no planted gap), two calibrated
    estimators, linearised (5,000 replications) and bootstrap (200); the values per statistic, same for both
    estimators."""
    rows = []
    stats_ = [("residents", "image_globale", "mean", ""), (DIFFERENCE_NAME, "image_globale", "mean", "")]
    for (survey, item, statistic, level), cov_l, cov_b, ratio, bias, size in zip(
            stats_, coverage_lin, coverage_boot, se_ratio, bias_sd, sizes):
        for est in ("raking", "logit"):
            base = dict(survey=survey, item=item, statistic=statistic, level=level, estimator=est, planted=False,
                        failures=failures, bias_sd=bias,
                        rejection=size if survey == DIFFERENCE_NAME else np.nan)
            rows.append({**base, "variance": "linearisation", "replications": 5000, "coverage": cov_l,
                         "se_ratio": ratio})
            rows.append({**base, "variance": "bootstrap", "replications": 200, "coverage": cov_b, "se_ratio": 1.0})
    return pd.DataFrame(rows)


def _results(target="superpopulation", halves_rejected=5, tests=100, widened=3):
    """Replications holding only what the table reads besides the summary: the profile tests between random halves
    (``halves_rejected`` of ``tests`` with p < 0.05) and the bootstrap rows of the bounded logit (``widened``
    replicates widened in the first replication)."""
    p = np.where(np.arange(tests) < halves_rejected, 0.01, 0.5)
    prof = pd.DataFrame({"target": target, "replication": np.arange(tests), "survey": "residents",
                         "item": "forces", "statistic": PROFILE_HALVES, "level": "", "estimator": "raking",
                         "variance": "linearisation", "p": p, "df": 10.0, "adjusted": 0.0, "error": ""})
    boot = pd.DataFrame({"target": target, "replication": [0, 1], "survey": "residents", "item": "image_globale",
                         "statistic": "mean", "level": "", "estimator": "logit", "variance": "bootstrap",
                         "p": np.nan, "df": 10.0, "adjusted": [float(widened), 0.0], "error": ""})
    return pd.concat([prof, boot], ignore_index=True)


def test_every_criterion_met():
    crit = acc.criteria({"superpopulation": _summary((0.95, 0.951))}, _results(), replicates=50)
    c = crit["superpopulation"]
    assert {k: v["verdict"] for k, v in c.items()} == {
        "coverage/linearisation": "met", "se_ratio/linearisation": "met", "coverage/bootstrap": "pooled",
        "se_ratio/bootstrap": "pooled", "bias": "met", "excluded": "met", "size": "met", "profile_size": "met"}
    assert c["excluded"]["widened"] == 3 and c["excluded"]["replicates"] == 2 * 50
    assert c["profile_size"]["pooled"] == pytest.approx(0.05)


def test_one_statistic_outside_is_not_met_and_counted_once_for_both_estimators():
    crit = acc.criteria({"superpopulation": _summary((0.95, 0.938))}, _results())
    cov = crit["superpopulation"]["coverage/linearisation"]
    assert cov["verdict"] == "not_met" and cov["outside"] == 1 and cov["statistics"] == 2
    assert cov["pooled"] == pytest.approx((0.95 + 0.938) / 2)
    table = acc.acceptance_table_fr(crit)
    row = table.loc[("Couverture à 95 % de chaque statistique dans [94 % ; 96 %]", "linéarisation")]
    assert row[("Super-population (espérance du modèle)", "verdict")] == "non tenu"
    assert "1 statistique sur 2 hors de la plage" in row[("Super-population (espérance du modèle)", "observé")]


@pytest.mark.parametrize("change, criterion, verdict", [
    (dict(bias_sd=(0.02, 0.12)), "bias", "not_met"),
    (dict(se_ratio=(1.0, 0.94)), "se_ratio/linearisation", "not_met"),
    (dict(sizes=(0.05, 0.062)), "size", "not_met"),
    (dict(coverage_boot=(0.93, 0.93)), "coverage/bootstrap", "pooled_not_met"),
    (dict(failures=1), "excluded", "not_met"),
])
def test_each_criterion_fails_on_its_own(change, criterion, verdict):
    crit = acc.criteria({"superpopulation": _summary((0.95, 0.95), **change)}, _results())
    verdicts = {k: v["verdict"] for k, v in crit["superpopulation"].items()}
    assert verdicts.pop(criterion) == verdict
    assert set(verdicts.values()) <= {"met", "pooled"}


def test_profile_size_outside_and_finite_target_size_has_no_verdict():
    crit = acc.criteria({"superpopulation": _summary((0.95, 0.95)), "finite": _summary((0.95, 0.95))},
                        pd.concat([_results(halves_rejected=9), _results("finite")], ignore_index=True))
    assert crit["superpopulation"]["profile_size"]["verdict"] == "not_met"
    assert crit["finite"]["profile_size"]["verdict"] == "met"
    assert crit["finite"]["size"]["verdict"] == "not_applicable"
    note = acc.acceptance_note_fr(crit)
    assert "sans objet" in note and "au moins 1\u202f825 réplications" in note and "200 réplications" in note
    assert "± 3,0 points" in note


def test_few_replications_are_judged_on_the_pooled_values_only():
    s = _summary((0.95, 0.93)).assign(replications=40)
    crit = acc.criteria({"superpopulation": s}, _results())
    c = crit["superpopulation"]
    assert c["coverage/linearisation"]["verdict"] == "pooled"       # 94 % pooled, one at 93 %: not judged alone
    assert c["bias"]["verdict"] == "not_assessable"
    assert "la variance linéarisée et la variance bootstrap" in acc.acceptance_note_fr(crit)


def test_unknown_target_is_refused():
    with pytest.raises(Exception, match="unknown target"):
        acc.criteria({"census": _summary((0.95, 0.95))}, _results())
