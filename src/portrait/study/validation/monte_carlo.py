"""Monte Carlo summary of the validation study's replications, and the French tables and conclusion.

:func:`summary` gives, per statistic × estimator × variance method, the bias, RMSE, coverage (with
its Wilson interval) and rejection rates of the replications :func:`portrait.study.validation.run`
produced; :func:`acceptance` the numbers a reviewer's conclusion
(:func:`~portrait.study.validation.conclusion.conclusion_fr`) rests on.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ...pipeline.errors import ParameterError
from ...reporting import formatting as fmt
from .. import compare
from ..codebook import Codebook
from .coverage import on_band_edge
from .setup import (CALIBRATED, DIFFERENCE_NAME, ESTIMATOR_LABELS, ESTIMATORS, KEY_STATISTICS,
                    SURVEY_LABELS, SURVEYS, TARGET_LABELS, VARIANCE_LABELS, VARIANCES, _ordered)


# ============================================================================ summary


def wilson(successes: np.ndarray | float, n: np.ndarray | float, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``successes / n`` (the Monte Carlo interval of a rate)."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    return centre - half, centre + half


SUMMARY_KEYS = ["survey", "item", "statistic", "level", "estimator", "variance"]
#: Statistics on a signed scale, whose true value can be 0 or close to it, as a difference's can: their bias is
#: judged in standard deviations, never relative to the true value (the visitors' net promoter score, true value
#: −7.3 points, made a bias of 2.7 points read « 37 % »).
SIGNED_STATISTICS = ("nps_score",)


def _against_truth(results: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The results with their truth, and per row: an estimate (``_ok``), its squared error, whether its
    interval covers the truth (``_cov``) and whether its test rejects at ``alpha`` (``_rej``)."""
    t = truth.assign(level=truth["level"].fillna("").astype(str))
    on = ["survey", "item", "statistic", "level"]
    if "target" in results.columns and "target" in t.columns:
        on = ["target"] + on              # several targets, each with its own truth
    elif "target" in results.columns and results["target"].nunique() > 1:
        raise ParameterError("the results hold several targets: the truth needs a 'target' column giving each "
                             "target's values (pd.concat of each setup's truth with target=setup.target)")
    r = results.merge(t[on + ["value", "planted"]].rename(columns={"value": "truth"}), on=on, how="inner")
    ok = r["estimate"].notna()
    return r.assign(_ok=ok, _err2=(r["estimate"] - r["truth"]) ** 2,
                    _cov=((r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"])).where(ok).astype(float),
                    _rej=(r["p"] < alpha).where(r["p"].notna()).astype(float))


POOLED_KEYS = ["survey", "estimator", "variance"]


def replication_coverage(results: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per replication and survey × estimator × variance: intervals computed (``intervals``) and those
    covering the truth (``covered``), over the key statistics. The replications are independent, the
    statistics of one replication are not: this is what :func:`by_estimator` needs for an honest
    Monte Carlo interval of a pooled coverage."""
    r = _against_truth(results, truth)
    keys = (["target"] if "target" in r.columns else []) + POOLED_KEYS + ["replication"]
    return r.groupby(keys, sort=True).agg(covered=("_cov", "sum"), intervals=("_cov", "count")).reset_index()


def pooled_interval(results: pd.DataFrame, truth: pd.DataFrame, variance: str = "linearisation",
                    estimators: Sequence[str] = CALIBRATED, rate: str = "coverage",
                    level: float = 0.95, null_only: bool = False) -> tuple[float, float]:
    """Monte Carlo interval of a rate pooled over every key statistic of ``estimators`` (the differences' included),
    the replications as clusters (:func:`clustered_wilson`): the ``coverage`` of ``variance``'s intervals, or the
    ``rejection`` rate of the difference tests where the true difference is 0 (the tests' size); ``null_only``
    restricts a coverage to those differences too. ``results`` hold one target; NaN bounds when no row qualifies."""
    if rate not in ("coverage", "rejection"):
        raise ParameterError(f"rate must be 'coverage' or 'rejection', got {rate!r}")
    r = _against_truth(results.loc[results["estimator"].isin(estimators) & (results["variance"] == variance)], truth)
    if rate == "rejection" or null_only:
        r = r.loc[(r["survey"] == compare.DIFFERENCE) & ~r["planted"].astype(bool)]
    per = r.groupby("replication")["_cov" if rate == "coverage" else "_rej"].agg(covered="sum", intervals="count")
    per = per.loc[per["intervals"] > 0].reset_index()
    if per.empty:
        return np.nan, np.nan
    c = clustered_wilson(per.assign(pooled=0)[["pooled", "replication", "covered", "intervals"]], level)
    return float(c["coverage_low"].iloc[0]), float(c["coverage_high"].iloc[0])


def clustered_wilson(per_replication: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Wilson interval of a coverage pooled over statistics, with replications as independent clusters.

    The pooled coverage ĉ = Σ covered / Σ intervals is a ratio over replications; its variance
    v = R/(R−1) Σ_r (covered_r − ĉ intervals_r)² / (Σ intervals)² gives the design effect
    d = v / (ĉ(1−ĉ)/Σ intervals), taken at least 1, and the Wilson interval is computed on the effective
    number of intervals Σ intervals / d, scaled by (z / t_{R−1})² for the R − 1 degrees of freedom of v
    (Korn and Graubard 1998's effective sample size).
    """
    keys = [k for k in per_replication.columns if k not in ("replication", "covered", "intervals")]
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for key, g in per_replication.groupby(keys, sort=False):
        k, n = g["covered"].to_numpy(float), g["intervals"].to_numpy(float)
        total, reps = n.sum(), len(g)
        c = k.sum() / total if total else np.nan
        v = reps / (reps - 1) * np.sum((k - c * n) ** 2) / total ** 2 if reps > 1 and total else np.nan
        deff = v / (c * (1 - c) / total) if np.isfinite(v) and 0 < c < 1 else 1.0
        n_eff = total / max(deff, 1.0) * (z / stats.t.ppf(0.5 + level / 2, max(reps - 1, 1))) ** 2
        lo, hi = wilson(c * n_eff, n_eff, level)
        rows.append(dict(zip(keys, key if isinstance(key, tuple) else (key,)), coverage_low=float(lo),
                         coverage_high=float(hi), deff=max(deff, 1.0)))
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05, level: float = 0.95) -> pd.DataFrame:
    """Monte Carlo performance of every statistic × estimator × variance method.

    Columns: ``replications`` (with an estimate), ``failures``, ``truth``, ``mean``, ``bias``
    (mean − truth) with its Monte Carlo SE ``bias_mcse`` (SD/√R), ``rel_bias`` (bias / |truth|;
    NaN when the truth is 0 and for :data:`SIGNED_STATISTICS`), ``bias_sd`` (bias / empirical SD),
    ``rmse``, ``sd`` (empirical SD of the estimates), ``mean_se``, ``se_ratio`` (mean SE / SD; for a variance
    method computed on fewer replications than the linearisation, the SD of the linearised rows, the estimates
    being the same), ``coverage``
    of the intervals with its Wilson interval ``coverage_low``, ``coverage_high``, and for the differences
    ``rejection`` (share of p < ``alpha``) with its Wilson interval; ``planted`` tells whether the
    true difference is non-zero (rejection = power) or zero (rejection = size of the test).
    Results with a ``target`` column are summarised per target (the first column), each against its
    own truth when ``truth`` has a ``target`` column too.
    """
    keys = (["target"] if "target" in results.columns else []) + SUMMARY_KEYS
    r = _against_truth(results, truth, alpha)
    g = r.groupby(keys, sort=False)
    out = g.agg(replications=("_ok", "sum"), rows=("_ok", "size"), truth=("truth", "first"),
                planted=("planted", "first"), mean=("estimate", "mean"), sd=("estimate", "std"),
                mse=("_err2", "mean"), mean_se=("se", "mean"), covered=("_cov", "sum"),
                rejected=("_rej", "sum"), tested=("_rej", "count")).reset_index()
    out["failures"] = (out["rows"] - out["replications"]).astype(int)
    out["replications"] = out["replications"].astype(int)
    out["bias"] = out["mean"] - out["truth"]
    out["bias_mcse"] = out["sd"] / np.sqrt(out["replications"])
    relative = (out["truth"].abs() > 1e-9) & ~out["statistic"].isin(SIGNED_STATISTICS)
    out["rel_bias"] = np.where(relative, out["bias"] / out["truth"].abs(), np.nan)
    out["bias_sd"] = out["bias"] / out["sd"]
    out["rmse"] = np.sqrt(out["mse"])
    # trial AG: the estimates do not depend on the variance method, so a method run on fewer replications (the
    # bootstrap's 200) is judged against the SD over all of them (the linearised rows'), not its own ± 10 %
    same = [k for k in keys if k != "variance"]
    lin = out.loc[out["variance"] == "linearisation", same + ["sd", "replications"]]
    m = out[same + ["variance", "replications"]].merge(lin, on=same, how="left", suffixes=("", "_all"))
    wider = ((m["variance"] != "linearisation") & (m["replications_all"] > m["replications"])).to_numpy()
    out["se_ratio"] = out["mean_se"] / np.where(wider, m["sd"].to_numpy(), out["sd"].to_numpy())
    out["coverage"] = out["covered"] / out["replications"]
    out["coverage_low"], out["coverage_high"] = wilson(out["covered"], out["replications"], level)
    is_diff = out["survey"] == compare.DIFFERENCE
    out["rejection"] = np.where(is_diff & (out["tested"] > 0), out["rejected"] / out["tested"].where(out["tested"] > 0),
                                np.nan)
    lo, hi = wilson(out["rejected"], out["tested"], level)
    out["rejection_low"] = np.where(is_diff, lo, np.nan)
    out["rejection_high"] = np.where(is_diff, hi, np.nan)
    out["planted"] = out["planted"].astype(bool)
    cols = keys + ["planted", "replications", "failures", "truth", "mean", "bias", "bias_mcse", "rel_bias",
                           "bias_sd", "sd", "rmse", "mean_se", "se_ratio", "coverage", "coverage_low",
                           "coverage_high", "rejection", "rejection_low", "rejection_high"]
    return _ordered(out.assign(replication=0))[cols]


def by_estimator(summ: pd.DataFrame, level: float = 0.95, per_replication: pd.DataFrame | None = None) -> pd.DataFrame:
    """Performance pooled over the key statistics, per survey × estimator × variance method.

    Coverage is the share of all intervals (statistics × replications) that contain the truth. Its
    Monte Carlo interval is :func:`clustered_wilson` when ``per_replication``
    (:func:`replication_coverage`) is given: the replications are the independent units. Without it, a
    Wilson interval that treats every interval as independent, too narrow since the statistics of a
    replication are correlated.
    ``max_abs_rel_bias`` and ``max_abs_bias_sd`` are the worst statistic's; ``rejection`` pools
    the differences without a planted difference, ``power`` those with one. Per target when the
    summary has a ``target`` column.
    """
    s = summ.assign(_cov=summ["coverage"] * summ["replications"],
                    _rej0=np.where(~summ["planted"], summ["rejection"] * summ["replications"], np.nan),
                    _n0=np.where(~summ["planted"] & summ["rejection"].notna(), summ["replications"], np.nan),
                    _rej1=np.where(summ["planted"], summ["rejection"] * summ["replications"], np.nan),
                    _n1=np.where(summ["planted"] & summ["rejection"].notna(), summ["replications"], np.nan),
                    _arb=summ["rel_bias"].abs(), _abs=summ["bias_sd"].abs())
    g = s.groupby((["target"] if "target" in s.columns else []) + ["survey", "estimator", "variance"], sort=False)
    out = g.agg(statistics=("item", "size"), replications=("replications", "max"), covered=("_cov", "sum"),
                intervals=("replications", "sum"), max_abs_rel_bias=("_arb", "max"),
                mean_abs_rel_bias=("_arb", "mean"), max_abs_bias_sd=("_abs", "max"),
                mean_se_ratio=("se_ratio", "mean"), rej0=("_rej0", "sum"), n0=("_n0", "sum"),
                rej1=("_rej1", "sum"), n1=("_n1", "sum")).reset_index()
    out["coverage"] = out["covered"] / out["intervals"]
    out["coverage_low"], out["coverage_high"] = wilson(out["covered"], out["intervals"], level)
    if per_replication is not None:
        keys = [k for k in per_replication.columns if k not in ("replication", "covered", "intervals")]
        clustered = clustered_wilson(per_replication, level).set_index(keys)
        at = pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out[keys[0]])
        out["coverage_low"] = clustered["coverage_low"].reindex(at).to_numpy()
        out["coverage_high"] = clustered["coverage_high"].reindex(at).to_numpy()
    is_diff = out["survey"] == compare.DIFFERENCE
    out["rejection"] = np.where(is_diff & (out["n0"] > 0), out["rej0"] / out["n0"].where(out["n0"] > 0), np.nan)
    out["power"] = np.where(is_diff & (out["n1"] > 0), out["rej1"] / out["n1"].where(out["n1"] > 0), np.nan)
    return out.drop(columns=["covered", "rej0", "n0", "rej1", "n1"])


# ============================================================================ French tables and sentence


def statistic_labels(cb: Codebook, statistics: pd.DataFrame = KEY_STATISTICS) -> dict[tuple[str, str, str], str]:
    """(item, statistic, level) → a short French label, e.g. « Accueillante : part d'accord (4 ou 5) »."""
    out = {}
    for r in statistics.itertuples():
        item = compare.short_label(cb.variable(r.item).label)
        if r.statistic == "mean":
            text = f"{item} : moyenne"
        elif r.statistic == "nps_score":
            text = f"{item} : score net de recommandation (points)"
        elif r.statistic == "accord" and r.level == "top2":
            text = f"{item} : part d'accord (4 ou 5)"
        elif r.statistic == "share" and cb.variable(r.item).type == "multi":
            option = cb.labels(r.item, dont_know=False).get(int(r.level), r.level)
            text = f"{'Force' if r.item == 'forces' else item} citée : {option}"
        else:
            text = f"{item} : {compare.STATISTIC_LABELS.get(r.statistic, r.statistic)} {r.level}".strip()
        out[(r.item, r.statistic, r.level)] = text
    return out


def overview_table_fr(pooled: pd.DataFrame) -> pd.DataFrame:
    """:func:`by_estimator` with French headers, percentages, one row per survey × estimator × variance.

    The bias is the estimator's, whatever the variance: it is shown once, on the linearisation's row,
    which holds every replication (the bootstrap's rows hold only the first ones). The relative bias of a
    difference clients − habitants is not shown: its true value can be close to 0 (a gap of 1.7 points made
    a bias of 0.25 standard deviation read 26 %); its bias in standard deviations is.
    """
    t = pooled
    lin = t["variance"] == "linearisation"
    relative = lin & (t["survey"] != DIFFERENCE_NAME)
    return pd.DataFrame({
        "Enquête ou différence": t["survey"].map(SURVEY_LABELS), "Estimateur": t["estimator"].map(ESTIMATOR_LABELS),
        "Variance": t["variance"].map(VARIANCE_LABELS), "Réplications": t["replications"],
        "Biais relatif moyen, en valeur absolue (%)": fmt.round((t["mean_abs_rel_bias"] * 100).where(relative), 2),
        "Biais relatif maximal, en valeur absolue (%)": fmt.round((t["max_abs_rel_bias"] * 100).where(relative), 2),
        "Biais maximal, en valeur absolue (écarts types)": fmt.round(t["max_abs_bias_sd"].where(lin), 2),
        "Erreur type moyenne / écart type": fmt.round(t["mean_se_ratio"], 3),
        "Couverture à 95 % (%)": fmt.round(t["coverage"] * 100, 1),
        "Intervalle Monte-Carlo (%)": [fmt.interval(lo, hi, 1, scale=100)
                                       for lo, hi in zip(t["coverage_low"], t["coverage_high"])],
        "Rejet à tort, test à 5 % (%)": fmt.round(t["rejection"] * 100, 1),
        "Puissance (%)": fmt.round(t["power"] * 100, 1),
    })


def points_label(label: str, statistic: str, difference: bool = False) -> str:
    """A statistic's label with its unit once :func:`portrait.study.compare.shares_in_percent` has scaled it
    (« (%) » for a share, « (points) » for a difference of shares; the NPS label already says points)."""
    if statistic not in compare.SHARES:
        return label
    return f"{label} (points)" if difference else f"{label} (%)"


def _truth_block(truth: pd.DataFrame, labels: Mapping[tuple, str]) -> pd.DataFrame:
    """One target's true values: a column per survey and their difference (signed), one row per statistic."""
    key = compare.shares_in_percent(truth, ["value"])
    key = key.assign(statistique=[points_label(labels[(i, s, lv)], s)
                                  for i, s, lv in zip(key["item"], key["statistic"], key["level"])])
    shown = key.pivot_table(index="statistique", columns="survey", values="value", sort=False)[list(SURVEYS)]
    shown = fmt.round(shown.rename(columns=SURVEY_LABELS), 2).rename_axis(index="Statistique", columns=None)
    gap = SURVEY_LABELS[DIFFERENCE_NAME]
    shown[gap] = shown[gap].map(lambda v: fmt.signed(v, 2))
    return shown.rename(columns={gap: f"{gap} (en points pour les parts)"})


def truth_table_fr(truth: pd.DataFrame, labels: Mapping[tuple, str], finite: pd.DataFrame | None = None) -> pd.DataFrame:
    """The true values of the key statistics per survey and their difference (shares in %, NPS in points),
    with whether a difference was planted; the difference clients − habitants is written with its sign
    (« +9,74 »), as the reports write every such gap.

    With ``finite`` (the fixed finite population's truth, same rows), both targets side by side under their names
    (trial AE: the finite population's values were shown nowhere, and its « null » differences are not exactly 0);
    whether the difference is non-zero is the model's (a shift planted on the item, or one it gets from the others:
    trial AF, a cited strength whose gap comes from the shifts of the other options).
    """
    planted = truth.assign(statistique=[points_label(labels[(i, s, lv)], s) for i, s, lv in zip(
        truth["item"], truth["statistic"], truth["level"])]).drop_duplicates("statistique").set_index(
        "statistique")["planted"].map({True: "oui", False: "non"})
    shown = _truth_block(truth, labels)
    if finite is None:
        shown["Vraie différence non nulle"] = planted
        return shown
    both = pd.concat({TARGET_LABELS["superpopulation"]: shown,
                      TARGET_LABELS["finite"]: _truth_block(finite, labels).reindex(shown.index)}, axis=1)
    both[("Modèle", "Vraie différence non nulle")] = planted.reindex(shown.index).to_numpy()
    return both


def detail_table_fr(summ: pd.DataFrame, cb: Codebook, variance: str = "linearisation",
                    differences: bool = False) -> pd.DataFrame:
    """Per statistic: true value, then bias, bias in standard deviations, RMSE and coverage (%) of each estimator.

    ``differences=False``: both surveys' statistics, the bias relative to the true value (« biais relatif (%) »).
    ``differences=True``: the differences clients − habitants, whose true value can be 0 or close to it (a true gap
    of −1.65 points made a bias of 0.2 standard deviation read 26 %): their bias is given in points instead
    (« biais (points) »: points of percentage for a share, of the score for a mean or the net promoter score), as
    :func:`overview_table_fr` gives none relative. Their true value is written with its sign (« +0,54 »), as
    :func:`truth_table_fr` writes it.
    """
    labels = statistic_labels(cb)
    rows = summ.loc[(summ["variance"] == variance) & ((summ["survey"] == DIFFERENCE_NAME) == differences)]
    s = compare.shares_in_percent(rows, ["truth", "rmse", "bias"])
    s["Statistique"] = [points_label(labels.get((i, st, lv), i), st, differences)
                        for i, st, lv in zip(s["item"], s["statistic"], s["level"])]
    group = "Comparaison" if differences else "Enquête"     # trial AE: « Enquête » over the differences
    s[group] = s["survey"].map(SURVEY_LABELS)
    s["Estimateur"] = s["estimator"].map(ESTIMATOR_LABELS)
    bias = "biais (points)" if differences else "biais relatif (%)"
    s[bias] = fmt.round(s["bias"], 2) if differences else fmt.round(s["rel_bias"] * 100, 2)
    s["biais (écarts types)"] = fmt.round(s["bias_sd"], 2)
    rmse = "REQM (points)"        # points of percentage for a share, of the score for a mean
    s[rmse] = fmt.round(s["rmse"], 2)
    # trial Z: 93,98 % shown « 94,0 », inside the band the conclusion said it left
    edge = any(on_band_edge(x, COVERAGE_BAND) for x in s["coverage"])
    s["couverture (%)"] = fmt.round(s["coverage"] * 100, 2 if edge else 1)
    metrics = [bias, "biais (écarts types)", rmse, "couverture (%)"]
    wide = s.pivot_table(index=[group, "Statistique"], columns="Estimateur", sort=False, values=metrics)
    wide = wide.swaplevel(0, 1, axis=1)
    order = [ESTIMATOR_LABELS[e] for e in ESTIMATORS if ESTIMATOR_LABELS[e] in wide.columns.get_level_values(0)]
    wide = wide.reindex(columns=pd.MultiIndex.from_product([order, metrics]))
    truth = s.drop_duplicates([group, "Statistique"]).set_index([group, "Statistique"])["truth"]
    wide.insert(0, ("", "valeur vraie"), [(fmt.signed if differences else fmt.number)(v, 2)
                                          for v in truth.reindex(wide.index)])
    return wide


#: Issue 15's acceptance: the coverage of every key statistic's 95 % intervals lies in this band. With thousands of
#: replications, the Monte Carlo interval of a coverage excludes 95 % for shortfalls of half a point (standard errors
#: 2 % small), which no reader would act on; :func:`acceptance` puts a statistic in question only when its coverage
#: is also outside the band.
COVERAGE_BAND = (0.94, 0.96)
#: The largest |bias|, in standard deviations of the estimator, that the acceptance criteria allow.
BIAS_LIMIT = 0.1
#: The band of a test's size (share of 5 % tests that reject a true null) in the acceptance criteria.
SIZE_BAND = (0.04, 0.06)
#: The mean SE / empirical SD band of the acceptance criteria.
SE_RATIO_BAND = (0.95, 1.05)


def band_half_width(replications: int, nominal: float = 0.95) -> float:
    """Where one statistic's observed coverage falls 95 times in 100 when its true coverage is ``nominal``: ``nominal``
    ± this half-width, ``1.96 √(nominal (1 − nominal) / R)`` (normal approximation), as a proportion."""
    return float(1.96 * np.sqrt(nominal * (1 - nominal) / max(int(replications), 1)))


def sd_half_width(replications: int) -> float:
    """Relative half-width of the 95 % Monte Carlo interval of an SD estimated from ``replications`` replications
    of a normal estimator: ``1.96 / √(2 (R − 1))`` (the SD's relative standard error is ``1/√(2(R − 1))``)."""
    return float(1.96 / np.sqrt(2 * max(int(replications) - 1, 1)))


def se_ratio_error(results: pd.DataFrame, basis: int, replications: int, variance: str = "bootstrap",
                   estimators: Sequence[str] = CALIBRATED) -> dict[str, float]:
    """Relative half-widths of the 95 % Monte Carlo interval of one statistic's mean SE / SD when the mean SE of
    ``variance`` is taken over ``replications`` replications and the SD of the estimates over ``basis`` of them (the
    estimates do not depend on the variance method, so :func:`summary` divides by the SD over every replication):
    ``sd``, the SD's part (:func:`sd_half_width` of ``basis``); ``se``, the mean SE's, ``1.96 cv / √replications``
    with ``cv`` the largest coefficient of variation of the SEs over the replications (statistic × estimator of
    ``results``, one target's); ``ratio``, both, ``1.96 √(1/(2(basis − 1)) + cv²/replications)`` (the acceptance
    table's « rapport connu à ± … près »), with ``basis`` and ``replications``."""
    r = results.loc[(results["variance"] == variance) & results["estimator"].isin(estimators)]
    g = r.groupby(["survey", "item", "statistic", "level", "estimator"], dropna=False)["se"]
    cv = float((g.std() / g.mean()).max()) if len(r) else np.inf
    sd, se = sd_half_width(basis), float(1.96 * cv / np.sqrt(max(int(replications), 1)))
    return {"sd": sd, "se": se, "ratio": float(np.hypot(sd, se)), "basis": int(basis), "replications": int(replications)}


def expected_outside(replications: int, level: float = 0.95, nominal: float = 0.95,
                     band: tuple[float, float] | None = None) -> float:
    """Probability that the Wilson interval of a coverage estimated from ``replications`` replications
    excludes ``nominal`` although the true coverage is ``nominal`` (binomial, exact); with ``band``, that
    the estimated coverage is also outside ``band``."""
    k = np.arange(replications + 1)
    lo, hi = wilson(k, replications, level)
    outside = (lo > nominal) | (hi < nominal)
    if band is not None:
        outside &= (k / replications < band[0]) | (k / replications > band[1])
    return float(stats.binom.pmf(k, replications, nominal)[outside].sum())


def bias_tolerance(replications: int) -> float:
    """The largest bias, in standard deviations of the estimator, that :func:`acceptance` lets pass with
    ``replications`` replications: 0.1 plus 3/√R, the Monte Carlo error of the worst of many standardised biases."""
    return float(BIAS_LIMIT + 3 / np.sqrt(max(replications, 1)))


def acceptance(summ: pd.DataFrame, estimators: Sequence[str] = CALIBRATED,
               results: pd.DataFrame | None = None, truth: pd.DataFrame | None = None) -> dict[str, Any]:
    """The numbers behind the conclusion, for the calibrated estimators.

    Bias: ``max_abs_rel_bias`` is the worst relative bias over both surveys' statistics (the
    differences, some of whose true values are 0 or close to it, are judged by their bias in
    standard deviations); ``max_abs_bias_sd`` the worst bias in SDs over every statistic, differences
    included; it passes below ``bias_tolerance`` = 0.1 SD + 3/√R (3/√R: the Monte Carlo error of the
    worst of many standardised biases).

    Coverage, per variance method and per calibrated estimator: a key statistic is in question when its
    Monte Carlo (Wilson) interval excludes 95 % and its coverage is outside :data:`COVERAGE_BAND`; the
    number in question passes if it is at most the 95th percentile of its distribution when every true
    coverage is 95 % (binomial, :func:`expected_outside`) plus one for the correlation between statistics
    of a replication. ``excluding`` counts the intervals that exclude 95 %, in the band or not; ``in_question`` lists
    the statistics in question. With ``results`` and ``truth`` (one target's), the pooled coverages and the tests'
    size get their Monte Carlo intervals (:func:`pooled_interval`), and the bootstrap is
    also compared with the linearisation on the same replications (pooled coverage and mean ratio of
    the standard errors), which separates what the method does from the luck of the replications drawn.

    Then the size and power of the difference tests, and the unweighted estimator's bias and coverage.
    """
    cal = summ.loc[summ["estimator"].isin(estimators)]
    lin = cal.loc[cal["variance"] == "linearisation"]
    r = int(lin["replications"].max()) if len(lin) else 0
    surveys = lin.loc[lin["survey"] != compare.DIFFERENCE]
    out: dict[str, Any] = {
        "replications": r,
        "max_abs_rel_bias": float(surveys["rel_bias"].abs().max()),
        "max_abs_bias_sd": float(lin["bias_sd"].abs().max()),
        "bias_tolerance": bias_tolerance(r),
        "failures": int(cal["failures"].sum()),
    }
    out["bias_ok"] = bool(out["max_abs_bias_sd"] <= out["bias_tolerance"])
    for variance in VARIANCES:
        v = cal.loc[(cal["variance"] == variance) & (cal["replications"] > 0)]
        if len(v):
            out[variance] = _coverage(v)
    if results is not None and truth is not None:
        for variance in VARIANCES:
            if variance in out:
                out[variance]["coverage_low"], out[variance]["coverage_high"] = pooled_interval(
                    results, truth, variance, estimators)
        if "bootstrap" in out:
            _bootstrap_against_linearised(out["bootstrap"], results, truth, estimators)
            if "linearisation" in out:
                out["bootstrap"]["all_linearised_coverage"] = out["linearisation"]["coverage"]
                out["bootstrap"]["se_ratio_error"] = se_ratio_error(   # the acceptance table's, the same function
                    results, out["linearisation"]["replications"], out["bootstrap"]["replications"], "bootstrap",
                    estimators)
    out.update(_difference_tests(lin.loc[lin["survey"] == compare.DIFFERENCE]))
    if results is not None and truth is not None and np.isfinite(out["rejection"]):
        out["rejection_low"], out["rejection_high"] = pooled_interval(results, truth, estimators=estimators,
                                                                      rate="rejection")
    out.update(_unweighted_performance(summ))
    return out


def in_question(summ: pd.DataFrame) -> pd.Series:
    """Whether each row's coverage is in question under :func:`acceptance`'s rule: its Monte Carlo interval
    excludes 95 % and the coverage is outside :data:`COVERAGE_BAND`."""
    excluding = (summ["coverage_low"] > 0.95) | (summ["coverage_high"] < 0.95)
    return excluding & ((summ["coverage"] < COVERAGE_BAND[0]) | (summ["coverage"] > COVERAGE_BAND[1]))


def _coverage(v: pd.DataFrame) -> dict[str, Any]:
    """Coverage of one variance method's intervals, pooled and per calibrated estimator, with the acceptance test."""
    per = {}
    for est, e in v.groupby("estimator", sort=False):
        excluding = (e["coverage_low"] > 0.95) | (e["coverage_high"] < 0.95)
        questioned = in_question(e)
        outside = int(questioned.sum())
        p_out = float(np.mean([expected_outside(int(n), band=COVERAGE_BAND) for n in e["replications"]]))
        limit = int(stats.binom.ppf(0.95, len(e), p_out)) + 1
        flagged = e.loc[questioned]
        per[est] = {"excluding": int(excluding.sum()), "outside": outside, "expected": p_out * len(e),
                    "limit": limit, "ok": outside <= limit,
                    "in_question": flagged[["survey", "item", "statistic", "level", "coverage", "coverage_low",
                                            "coverage_high", "se_ratio", "planted", "rejection"]].to_dict("records")}
    return {"replications": int(v["replications"].max()),
            "coverage": float((v["coverage"] * v["replications"]).sum() / v["replications"].sum()),
            "coverage_min": float(v["coverage"].min()), "coverage_max": float(v["coverage"].max()),
            "statistics": int(v.groupby("estimator").size().max()), "per_estimator": per,
            "ok": all(x["ok"] for x in per.values()), "se_ratio": float(v["se_ratio"].mean())}


def bootstrap_se_ratio(results: pd.DataFrame) -> float:
    """The mean ratio of the bootstrap SE to the linearised SE over the rows (replication × survey × statistic ×
    estimator) that have both; other variance methods (the residents' two-stage one) take no part (trial U: a
    pivot on every method dropped the visitors' rows, which have no two-stage SE)."""
    key = ["replication", "survey", "item", "statistic", "level", "estimator"]
    both = results.loc[results["variance"].isin(("bootstrap", "linearisation"))]
    se = both.pivot_table(index=key, columns="variance", values="se").dropna()
    return float((se["bootstrap"] / se["linearisation"]).mean())


def _bootstrap_against_linearised(boot: dict[str, Any], results: pd.DataFrame, truth: pd.DataFrame,
                                  estimators: Sequence[str]) -> None:
    """Add to ``boot`` the linearised coverage and the SE ratio on the replications that have bootstrap SEs."""
    cal_rows = results.loc[results["estimator"].isin(estimators)]
    reps = set(cal_rows.loc[cal_rows["variance"] == "bootstrap", "replication"])
    same = cal_rows.loc[cal_rows["replication"].isin(reps)]
    paired = summary(same, truth)
    pl = paired.loc[paired["variance"] == "linearisation"]
    boot["paired_coverage"] = {tuple(k): float(v) for k, v in zip(
        pl[["survey", "item", "statistic", "level", "estimator"]].itertuples(index=False), pl["coverage"])}
    boot["paired_linearised_coverage"] = float(
        (pl["coverage"] * pl["replications"]).sum() / pl["replications"].sum())
    boot["se_ratio_to_linearised"] = bootstrap_se_ratio(same)
    # trial AF: the Monte Carlo error of each part of the bootstrap's gap to the linearised coverage of every replication
    lin = _against_truth(cal_rows.loc[cal_rows["variance"].isin(("linearisation", "bootstrap"))], truth)
    per = lin.groupby(["variance", "replication"])["_cov"].mean().unstack("variance")
    paired = per.loc[per.index.isin(reps)].dropna()
    if len(paired) > 1 and per["linearisation"].notna().sum() > len(paired):
        boot["own_gap_half"] = float(1.96 * (paired["bootstrap"] - paired["linearisation"]).std(ddof=1)
                                     / np.sqrt(len(paired)))
        boot["drawn_gap_half"] = float(1.96 * per["linearisation"].std(ddof=1)
                                       * np.sqrt(1 / len(paired) - 1 / per["linearisation"].notna().sum()))
    boot["same_as_linearised"] = bool(
        abs(boot["paired_linearised_coverage"] - boot["coverage"]) < 0.01
        and abs(boot["se_ratio_to_linearised"] - 1) < 0.03)


def _difference_tests(d: pd.DataFrame) -> dict[str, Any]:
    """Size (no planted difference) and power (planted ones) of the visitors − residents tests; per statistic
    (its estimators' mean), the range of the sizes, the largest with its Wilson interval, and how many planted
    differences are detected at least 99.5 % of the time."""
    out: dict[str, Any] = {}
    null, alt = d.loc[~d["planted"]], d.loc[d["planted"]]
    out["rejection"] = float((null["rejection"] * null["replications"]).sum() / null["replications"].sum()) \
        if len(null) else np.nan
    # the rate of rejecting the target's true difference: a fixed finite population's « null » ones are nearly 0
    out["size_true"] = float(1 - (null["coverage"] * null["replications"]).sum() / null["replications"].sum()) \
        if len(null) else np.nan
    key = ["item", "statistic", "level"]
    if len(null):
        sizes = null.groupby(key, sort=False)[["rejection", "rejection_low", "rejection_high"]].mean()
        top = sizes["rejection"].idxmax()
        out.update(rejection_min=float(sizes["rejection"].min()), rejection_max=float(sizes.loc[top, "rejection"]),
                   rejection_max_statistic=top, rejection_max_low=float(sizes.loc[top, "rejection_low"]),
                   rejection_max_high=float(sizes.loc[top, "rejection_high"]))
    if len(alt):
        powers = alt.groupby(key, sort=False)["rejection"].mean()
        out["power_full"], out["planted"] = int((powers >= 0.995).sum()), len(powers)
        out["power_every"] = int((powers == 1).sum())      # rejected in every replication (all, in a short run)
    out["power"] = float((alt["rejection"] * alt["replications"]).sum() / alt["replications"].sum()) \
        if len(alt) else np.nan
    out["power_min"] = float(alt["rejection"].min()) if len(alt) else np.nan
    if len(alt):
        weakest = alt.loc[alt["rejection"].idxmin()]
        out["power_min_statistic"] = (weakest["item"], weakest["statistic"], weakest["level"])
        out["power_min_truth"] = float(weakest["truth"])
    return out


def _unweighted_performance(summ: pd.DataFrame) -> dict[str, Any]:
    """The unweighted estimator's worst bias, absolute and relative (linearised, both surveys; its coverage is
    said survey by survey, :func:`portrait.study.validation.coverage.unweighted_coverage`)."""
    out: dict[str, Any] = {}
    un = summ.loc[(summ["estimator"] == "unweighted") & (summ["variance"] == "linearisation")
                  & (summ["survey"] != compare.DIFFERENCE)]
    worst = un.loc[un["bias_sd"].abs().idxmax()] if len(un) else None
    out["unweighted_max_abs_bias_sd"] = float(worst["bias_sd"]) if worst is not None else np.nan
    out["unweighted_max_abs_rel_bias"] = float(un["rel_bias"].abs().max()) if len(un) else np.nan
    rel = un.loc[un["rel_bias"].abs().idxmax()] if len(un) and un["rel_bias"].notna().any() else None
    out["unweighted_rel_worst"] = (rel["survey"], rel["item"], rel["statistic"], rel["level"]) \
        if rel is not None else None
    out["unweighted_worst"] = (worst["survey"], worst["item"], worst["statistic"], worst["level"]) \
        if worst is not None else None
    weighted = summ.loc[summ["estimator"].isin(("design", "nonresponse")) & (summ["variance"] == "linearisation")]
    heavier = weighted.loc[weighted["bias_sd"].abs() > abs(out["unweighted_max_abs_bias_sd"])]
    out["uncalibrated_worse"] = None if heavier.empty else \
        heavier.loc[heavier["bias_sd"].abs().idxmax(), ["estimator", "survey", "bias_sd"]].to_dict()
    surveys = weighted.loc[weighted["survey"] != compare.DIFFERENCE]
    out["worst_bias_sd"] = surveys.assign(_abs=surveys["bias_sd"].abs()).groupby(
        ["estimator", "survey"], sort=False)["_abs"].max().to_dict()      # (estimator, survey) → worst |bias| in SD
    return out
