"""What each weighting step does to the coverage, survey by survey, for the validation's conclusion (report 08).

Pooling both surveys would hide what each step does: in the simulated fieldwork, the non-response
correction improves the visitors' intervals but not the residents', and it worsens the differences'
(their biases partly cancelled before). :func:`nonresponse_sentence` says it survey by survey, from the
validation summary (``validation_summary.csv``), and :func:`unweighted_coverage` gives the coverage without
weights the same way; :func:`portrait.study.validation.conclusion_fr` uses both.

:func:`coverage_finding`, :func:`bias_finding` and :func:`tests_finding` state what report 08's figures
show. :func:`widening_sentence_fr` says how often the bounded calibration of the bootstrap replicates needed its
widening rule (:func:`widened_replicates`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ...reporting import formatting as fmt
from .setup import CALIBRATED, DIFFERENCE_NAME, ESTIMATOR_LABELS, SURVEY_LABELS, SURVEYS

#: The weighting steps the sentence follows, in the order of the recipes.
STEPS = ("design", "nonresponse", "raking")


WHERE = {"residents": "chez les habitants", "visitors": "chez les clients du territoire",
         DIFFERENCE_NAME: "pour les différences clients − habitants"}
#: What the non-response step does to the coverage, said first with its noun, then with a pronoun.
VERBS = {1: ("améliore la couverture", "l'améliore"), 0: ("change peu la couverture", "la change peu"),
         -1: ("dégrade la couverture", "la dégrade")}


def _int(n: int) -> str:
    return fmt.number(int(n))


def _pct(x: float, decimals: int = 1) -> str:
    return fmt.number(x * 100, decimals) + " %"


def on_band_edge(x: float, band: tuple[float, float]) -> bool:
    """Whether coverage ``x``, outside ``band``, would read as on its edge with one decimal (93,98 % as « 94,0 »)."""
    shown = fmt.rounded(x * 100, 1)
    return bool((x < band[0] and shown >= band[0] * 100) or (x > band[1] and shown <= band[1] * 100))


def _band_pct(x: float, band: tuple[float, float]) -> str:
    """A coverage with one decimal, or two when one would put it on the edge of ``band`` it lies outside (trial Z:
    93,98 % read « 94,0 % », inside the band a statistic was said to leave)."""
    return _pct(x, 2 if on_band_edge(x, band) else 1)


def _pct_range(low: float, high: float, band: tuple[float, float]) -> str:
    """« de 94,0 % à 95,2 % », each bound as :func:`_band_pct` writes it."""
    return f"de {_band_pct(low, band)} à {_band_pct(high, band)}"


def _sds(x: float, decimals: int) -> str:
    """« 1,99 écart type », « 2,2 écarts types »."""
    return fmt.quantity(x, decimals, "écart type", "écarts types")


def coverage_by_survey(summary: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the linearised intervals of the key statistics, per survey (rows, difference last) and
    estimator (columns): each statistic's coverage weighted by its number of replications, as the study's
    pooled coverage is. ``summary`` has one target (the rows of one ``target`` of ``validation_summary.csv``)."""
    if "target" in summary.columns and summary["target"].nunique() > 1:
        raise ValueError("the summary holds several targets: pass the rows of one")
    lin = summary.loc[summary["variance"] == "linearisation"]
    sums = (lin.assign(_covered=lin["coverage"] * lin["replications"])
            .groupby(["survey", "estimator"])[["_covered", "replications"]].sum())
    cover = (sums["_covered"] / sums["replications"]).unstack("estimator")
    return cover.reindex(index=[s for s in SURVEYS if s in cover.index])


def unweighted_coverage(summary: pd.DataFrame) -> str:
    """The coverage of the unweighted estimator, survey by survey (:func:`coverage_by_survey`), in French:
    « une couverture de 78,4 % chez les habitants, 86,1 % chez les clients du territoire et 89,1 % pour les
    différences clients − habitants »; "" when the summary has no unweighted estimator."""
    if "unweighted" not in (cover := coverage_by_survey(summary)).columns:
        return ""
    shown = cover["unweighted"].dropna()
    return ("une couverture de " + fmt.enumeration([f"{fmt.percent(shown[s], 1)} {WHERE[s]}" for s in shown.index])
            if len(shown) else "")


def step_effect(before: float, after: float) -> int:
    """+1 if a weighting step improves a coverage, −1 if it worsens it, 0 if not, read on the whole percentages
    shown: a change of at most one point is no change.

    Notes
    -----
    One point is more than the Monte Carlo error of a coverage pooled over the key statistics at the published
    5,000 replications (at most 1.96 × √(0.95 × 0.05 / 5000) ≈ 0.6 points, the replications being the independent
    units); a short run is far less precise, which its conclusion says.
    """
    change = fmt.rounded(after * 100) - fmt.rounded(before * 100)
    return 0 if abs(change) <= 1 else (1 if change > 0 else -1)


def nonresponse_sentence(summary: pd.DataFrame) -> str:
    """Survey by survey, what the non-response correction does to the coverage (with the design weights only,
    then after it), and the coverage after raking, in French."""
    cover = coverage_by_survey(summary)
    surveys = [s for s in cover.index if cover.loc[s, list(STEPS)].notna().all()]
    if not surveys:
        return ""
    effects = {s: step_effect(cover.loc[s, "design"], cover.loc[s, "nonresponse"]) for s in surveys}
    groups = {e: [s for s in surveys if effects[s] == e] for e in dict.fromkeys(effects.values())}
    clauses = [f"{VERBS[e][i > 0]} " + fmt.enumeration(
        [f"{WHERE[s]} ({fmt.percent(cover.loc[s, 'design'], 1)} puis {fmt.percent(cover.loc[s, 'nonresponse'], 1)})"
         for s in group]) for i, (e, group) in enumerate(groups.items())]
    # « a et b, et c » when a clause already holds « et »: the comma shows where the verb changes
    said = (", ".join(clauses[:-1]) + ", et " + clauses[-1]
            if any(len(group) > 1 for group in list(groups.values())[:-1]) else fmt.enumeration(clauses))
    after = fmt.enumeration([fmt.percent(cover.loc[s, "raking"], 1) for s in surveys])
    return ("Enquête par enquête, sur les statistiques clés (intervalles linéarisés ; entre parenthèses, la part des "
            "intervalles qui contiennent la vraie valeur avec les seuls poids de sondage, puis après la correction), "
            f"la correction de la non-réponse {said} ; après calage par raking ratio, la couverture est de "
            + (f"{after} respectivement." if len(surveys) > 1 else f"{after}."))


def widened_replicates(results: pd.DataFrame) -> pd.DataFrame:
    """For each calibrated estimator and survey (and target, when the results hold a ``target`` column: the
    targets share their replication numbers), the bootstrap replications computed and the replicates in which
    the bounded calibration widened its bounds (:func:`portrait.survey.calibrate`, replicate rule):
    ``[target,] estimator, survey, replications, widened``."""
    boot = results.loc[(results["variance"] == "bootstrap") & results["survey"].isin(("residents", "visitors"))
                       & (results["error"] == "")]
    keys = (["target"] if "target" in boot.columns else []) + ["estimator", "survey"]
    per = boot.groupby(keys + ["replication"], sort=True)["adjusted"].first().reset_index()
    return per.groupby(keys, sort=True).agg(replications=("replication", "nunique"),
                                            widened=("adjusted", "sum")).reset_index()


def widening_sentence_fr(results: pd.DataFrame, replicates: int, bounds: Sequence[float]) -> str:
    """How often the bounded-logit estimator's replicates needed the widening rule, in French (every target of
    ``results`` together)."""
    w = widened_replicates(results)
    w = w.loc[w["estimator"] == "logit"]
    if w.empty:
        return ""
    total = int(w["replications"].sum()) * replicates
    widened = int(w["widened"].sum())
    span = fmt.bounds(*bounds)
    n_rep = int(w["replications"].max())
    targets = int(w["target"].nunique()) if "target" in w.columns else 1
    size = ((f"{targets} cibles × " if targets > 1 else "") + f"{_int(n_rep)} réplication{'s' if n_rep > 1 else ''} "
            f"× {_int(replicates)} répliques × {w['survey'].nunique()} enquêtes")
    if targets * n_rep * replicates * w["survey"].nunique() != total:   # a weighting failed in some replications
        size = (f"{_int(total // replicates)} {'combinaisons cible × réplication × enquête' if targets > 1 else 'couples réplication × enquête'}"
                f" dont la pondération a abouti × {_int(replicates)} répliques")
    if widened == 0:
        return (f"Calage logit borné dans les répliques bootstrap ({size}) : les bornes {span} ont été tenues dans "
                f"chacune des {_int(total)} répliques ; aucune réplique n'est exclue.")
    by_survey = w.groupby("survey", sort=True)["widened"].sum()
    per = " ; ".join(f"{SURVEY_LABELS[s].lower()} : {_int(int(x))}" for s, x in by_survey.items())
    which = "celle-ci, elles ont été élargies" if widened == 1 else "celles-ci, elles ont été élargies"
    return (f"Calage logit borné dans les répliques bootstrap ({size}) : les bornes {span} n'ont pas pu être tenues "
            f"dans **{_int(widened)} des {_int(total)} répliques** ({per}) ; dans {which} par la règle documentée "
            "(les bornes faisables les plus étroites qui les contiennent, repoussées de 10 % de leur écart à 1). "
            "Aucune réplique n'est exclue.")


# ============================================================================ what the figures show


def _estimator_short(estimator: str) -> str:
    """An estimator's label in lower case without its own parenthesis (« poids de sondage », not « poids de sondage
    (1/π) »), to sit inside a parenthesis of a sentence."""
    label = ESTIMATOR_LABELS[estimator]
    return (label.replace(" (", " par ", 1).rstrip(")") if label.startswith("Calage") else label.split(" (")[0]).lower()


def _lin(pooled: pd.DataFrame) -> pd.DataFrame:
    return pooled.loc[pooled["variance"] == "linearisation"]


def coverage_finding(pooled: pd.DataFrame) -> str:
    """The pooled coverage of the calibrated estimators (range over the surveys and the difference), and the
    lowest coverage of an estimator without calibration, with where it occurs (:func:`by_estimator`)."""
    lin = _lin(pooled)
    cal, other = lin.loc[lin["estimator"].isin(CALIBRATED)], lin.loc[~lin["estimator"].isin(CALIBRATED)]
    text = (f"en variance linéarisée, les estimateurs calés couvrent de {_pct(cal['coverage'].min())} à "
            f"{_pct(cal['coverage'].max())} du temps selon l'enquête ou la différence entre les deux")
    if len(other):
        w = other.loc[other["coverage"].idxmin()]
        text += (f" ; sans calage (toujours en variance linéarisée), la couverture d'ensemble d'une enquête descend jusqu'à "
                 f"{_pct(w['coverage'])} "
                 f"({_estimator_short(w['estimator'])}, {SURVEY_LABELS[w['survey']].lower()})")
    return text


def bias_finding(pooled: pd.DataFrame) -> str:
    """The worst bias (in standard deviations of the estimator) of the calibrated estimators and of the others."""
    lin = _lin(pooled)
    cal, other = lin.loc[lin["estimator"].isin(CALIBRATED)], lin.loc[~lin["estimator"].isin(CALIBRATED)]
    text = f"le pire biais d'un estimateur calé est de {_sds(cal['max_abs_bias_sd'].max(), 2)}"
    if len(other):
        w = other.loc[other["max_abs_bias_sd"].idxmax()]
        text += (f" ; sans calage, il atteint {_sds(w['max_abs_bias_sd'], 2)} "
                 f"({_estimator_short(w['estimator'])}, {SURVEY_LABELS[w['survey']].lower()})")
    return text


def tests_finding(pooled: pd.DataFrame, estimator: str = "raking",
                  size_interval: tuple[float, float] | None = None) -> str:
    """Size and power of the visitors − residents test for one estimator (linearised variance), with the size's Monte
    Carlo interval when ``size_interval`` gives it (:func:`~portrait.study.validation.monte_carlo.pooled_interval` of
    this estimator's ``rejection``)."""
    r = _lin(pooled).loc[lambda t: (t["survey"] == DIFFERENCE_NAME) & (t["estimator"] == estimator)]
    if r.empty:
        return "aucun test de différence"
    r = r.iloc[0]
    low, high = size_interval if size_interval is not None else (np.nan, np.nan)
    interval = f", intervalle Monte-Carlo de {_pct(low)} à {_pct(high)}" if np.isfinite(low) and np.isfinite(high) else ""
    return (f"avec le {ESTIMATOR_LABELS[estimator].lower()}, le test conclut à tort {_pct(r['rejection'])} du temps "
            f"là où la vraie différence est nulle (5 % attendus{interval}) et détecte les vraies différences non nulles "
            f"{_pct(r['power'])} du temps")
