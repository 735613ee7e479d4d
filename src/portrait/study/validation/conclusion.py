"""The validation study's conclusion in French (report 08), from :func:`~.monte_carlo.acceptance`.

:func:`conclusion_fr` says, paragraph by paragraph, what a reviewer should conclude: the calibrated estimators' bias,
the coverage of their intervals under each target and variance method, the tests of the differences, what the
weighting steps do, and the verdict.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...reporting import formatting as fmt
from . import published
from ..codebook import Codebook
from .coverage import WHERE, _band_pct, _pct, _pct_range, _sds, nonresponse_sentence, unweighted_coverage
from .setup import ESTIMATOR_LABELS, PROFILE_STATISTICS, SURVEY_LABELS, TARGET_LABELS
from .monte_carlo import (BIAS_LIMIT, COVERAGE_BAND, SE_RATIO_BAND, SIZE_BAND, acceptance, band_half_width,
                          sd_half_width, statistic_labels)


def _int(n: int) -> str:
    return fmt.number(int(n))


def _outside_counts(c: dict[str, Any], key: str = "outside") -> str:
    """« 5 (raking ratio) et 5 (logit borné) »: per calibrated estimator, the statistics in question (``key``
    ``outside``) or those whose Monte Carlo interval of the coverage excludes 95 % (``excluding``), from
    :func:`acceptance`'s entry ``c``; « aucune » when every count is 0."""
    if all(x[key] == 0 for x in c["per_estimator"].values()):
        return "aucune"
    return fmt.enumeration([f"{x[key]} ({ESTIMATOR_LABELS[e].split('(')[-1].rstrip(')')})"
                            for e, x in c["per_estimator"].items()])


def _band() -> str:
    return f"de {_pct(COVERAGE_BAND[0], 0)} à {_pct(COVERAGE_BAND[1], 0)}"


def _statistics_in_question(c: dict[str, Any] | None) -> dict[tuple, list]:
    """The statistics in question under one variance method (:func:`acceptance`'s entry ``c``), keyed by (survey,
    item, statistic, level), each with its ``(estimator, row)`` pairs, in the order first found."""
    found: dict[tuple, list] = {}
    for est, x in (c or {}).get("per_estimator", {}).items():
        for row in x["in_question"]:
            found.setdefault((row["survey"], row["item"], row["statistic"], row["level"]), []).append((est, row))
    return found


def _named(c: dict[str, Any], labels: Mapping) -> str:
    """The statistics in question (:func:`acceptance`'s ``in_question``), each named once with its coverage and Monte
    Carlo interval (per estimator when they differ), its mean SE / SD and, for a difference without a true
    difference, the size of its test: trial Z could not find in the report the statistic the conclusion said was
    outside the band."""
    found = _statistics_in_question(c)

    def spread(values: list[float], write) -> str:
        return " à ".join(dict.fromkeys(write(v) for v in sorted(values)))

    named = []
    for (survey, item, statistic, level), rows in found.items():
        covers = [f"{_band_pct(r['coverage'], COVERAGE_BAND)}, intervalle Monte-Carlo de {_pct(r['coverage_low'])} à "
                  f"{_pct(r['coverage_high'])}" for _, r in rows]
        said = covers[0] if len(set(covers)) == 1 else " ; ".join(
            f"{ESTIMATOR_LABELS[e].lower()} : {t}" for (e, _), t in zip(rows, covers))
        if "paired_coverage" not in c:     # trial AF: a bootstrap SD over 200 replications is ± 10 %; the table has its own
            said += " ; erreur type moyenne / écart type " + spread([r["se_ratio"] for _, r in rows],
                                                                    lambda v: fmt.number(v, 3))
        paired = [c["paired_coverage"].get((survey, item, statistic, level, e)) for e, _ in rows] \
            if "paired_coverage" in c else []
        if paired and None not in paired:     # trial AA: the bootstrap's flags were the replications', not its own
            said += f" ; intervalles linéarisés sur les mêmes réplications : {spread(paired, _pct)}"
        sizes = [r["rejection"] for _, r in rows if not r["planted"] and np.isfinite(r["rejection"])]
        if sizes:
            said += f" ; le test de cette différence conclut à tort {spread(sizes, _pct)} du temps"
        named.append(f"« {labels.get((item, statistic, level), item)} », {SURVEY_LABELS[survey].lower()} ({said})")
    return fmt.enumeration(named)


def _in_question(c: dict[str, Any], labels: Mapping, explain: bool = True) -> str:
    """« Statistique par statistique (sur 33), … » : which statistics' coverage is in question under the rule of
    :func:`acceptance`, named, with what chance alone would give and what the rule tolerates."""
    expected = max(x["expected"] for x in c["per_estimator"].values())
    limit = max(x["limit"] for x in c["per_estimator"].values())
    outside = _outside_counts(c)
    have = "n'a" if outside == "aucune" else "ont"
    text = f"Statistique par statistique (sur {c['statistics']}), "
    if all(x["excluding"] == x["outside"] for x in c["per_estimator"].values()):
        text += (f"{outside} {have} une couverture hors de la plage de tolérance ({_band()}) et un intervalle "
                 "Monte-Carlo qui exclut 95 %")
    else:
        text += (f"l'intervalle Monte-Carlo de la couverture exclut 95 % pour {_outside_counts(c, 'excluding')} ; "
                 + ("" if outside == "aucune" else "parmi elles, ")
                 + f"{outside} {have} aussi une couverture hors de la plage de tolérance ({_band()}), seul critère "
                 "qui met une statistique en cause")
    if outside != "aucune":
        text += " : " + _named(c, labels)
    text += (f". Le hasard seul en mettrait en cause {fmt.number(expected, 2 if expected < 0.1 else 1)} en moyenne ; "
             f"la règle en tolère jusqu'à {limit}" + (" (le 95ᵉ centile de la loi binomiale, plus un pour la corrélation "
                                                     "entre statistiques d'une même réplication)" if explain else ""))
    return text + (" : c'est dans la tolérance de la règle." if c["ok"] else
                   " : c'est plus que le hasard seul n'en produirait.")


def _pooled(c: dict[str, Any]) -> str:
    """« 94,7 % du temps (intervalle Monte-Carlo …) », and whether the pooled coverage is off 95 % beyond the Monte
    Carlo error, with the mean SE / SD that says by how much the standard errors miss (trial Z: the published run's
    94,7 % [94,55 ; 94,84] went without its interval)."""
    text = f"**{_pct(c['coverage'])}** du temps ("
    low, high = c.get("coverage_low", np.nan), c.get("coverage_high", np.nan)
    if np.isfinite(low):
        d = 2 if c["replications"] >= 1000 else 1
        text += f"intervalle Monte-Carlo de {_pct(low, d)} à {_pct(high, d)}, toutes statistiques ensemble ; "
    text += f"{_pct_range(c['coverage_min'], c['coverage_max'], COVERAGE_BAND)} selon la statistique)"
    if np.isfinite(low) and (high < 0.95 or low > 0.95):
        gap = abs(1 - c["se_ratio"])
        text += (f" : {'un peu ' if abs(c['coverage'] - 0.95) < 0.01 else ''}{'moins' if high < 0.95 else 'plus'} "
                 "que 95 %, au-delà de l'erreur Monte-Carlo")
        # beyond the ratio's own imprecision, a 95 % half-width for both methods (a final review: one SE for the
        # linearised, 1.96 for the bootstrap): for the bootstrap, the ± of its caveat and of the acceptance table (its
        # mean SE over its replications, the SD over all of them), so that the two sentences agree; otherwise the SD's
        noise = c["se_ratio_error"]["ratio"] if "se_ratio_error" in c else sd_half_width(c["replications"])
        if gap > noise:
            text += (f" ; les erreurs types annoncées sont en moyenne trop "
                     f"{'petites' if c['se_ratio'] < 1 else 'grandes'} d'environ {fmt.percent(gap, 1 if gap < 0.01 else 0)}"
                     f" (erreur type moyenne / écart type {fmt.number(c['se_ratio'], 3)})")
    return text


def _split_gap(c: dict[str, Any]) -> str:
    """« ; l'écart à la couverture linéarisée de toutes les réplications (94,7 %) tient pour −0,26 point au bootstrap
    lui-même (sur les mêmes réplications) et pour −0,40 point au tirage de ces 200 réplications » (trial AE: « pas au
    bootstrap » hid the bootstrap's own 0,26 point)."""
    if "all_linearised_coverage" not in c:
        return ""
    own = 100 * (c["coverage"] - c["paired_linearised_coverage"])
    drawn = 100 * (c["paired_linearised_coverage"] - c["all_linearised_coverage"])

    def pts(x: float, half: str) -> str:
        error = f" (intervalle Monte-Carlo ± {fmt.number(100 * c[half], 2)})" if half in c else ""
        return fmt.signed(x, 2) + (" point" if abs(round(x, 2)) < 2 else " points") + error
    chance = ("own_gap_half" in c and "drawn_gap_half" in c and abs(own) <= 100 * c["own_gap_half"]
              and abs(drawn) <= 100 * c["drawn_gap_half"])
    return (f" ; l'écart à la couverture linéarisée de toutes les réplications ({_pct(c['all_linearised_coverage'])}) "
            f"tient pour {pts(own, 'own_gap_half')} au bootstrap lui-même (sur les mêmes réplications) et pour "
            f"{pts(drawn, 'drawn_gap_half')} au tirage de ces {_int(c['replications'])} réplications"
            + (" ; ni l'une ni l'autre part ne se distingue du hasard" if chance else ""))


def _coverage_sentence(c: dict[str, Any], name: str, extra: str, labels: Mapping, target: str = "",
                       explain: bool = True) -> str:
    """What the intervals of one variance method (:func:`acceptance`'s entry ``c``) cover under ``target`` (its
    French label), in French."""
    reps = f"{_int(c['replications'])} réplication{'s' if c['replications'] > 1 else ''}"
    lead = f"*{fmt.capitalised(target)}, intervalles {name}.* " if target else ""
    judged = "paired_linearised_coverage" not in c or band_half_width(c["replications"]) <= \
        (COVERAGE_BAND[1] - COVERAGE_BAND[0]) / 2          # trial AG: 200 bootstrap replications judge no statistic
    text = (f"{lead}Les intervalles à 95 % des estimateurs calés ({name}, {reps}{extra}) contiennent la vraie valeur "
            f"{_pooled(c)}. " + (_in_question(c, labels, explain) if judged else
                                 f"Statistique par statistique, {reps} ne permettent pas de juger : une couverture n'y "
                                 f"est connue qu'à ± {fmt.number(100 * band_half_width(c['replications']), 1)} points "
                                 "près (tableau des critères d'acceptation)."))
    if "paired_linearised_coverage" in c:
        same = c["same_as_linearised"]
        ratio = c["se_ratio_to_linearised"]
        close = (f" : des erreurs types très proches des linéarisées ({fmt.percent(abs(ratio - 1), 1)} plus "
                 f"{'grandes' if ratio >= 1 else 'petites'} en moyenne)")
        text += ((" Mais" if same and not c["ok"] else "")
                 + f" {'s' if same and not c['ok'] else 'S'}ur ces mêmes réplications, les intervalles linéarisés "
                 f"couvrent {_pct(c['paired_linearised_coverage'])} du temps et les erreurs types bootstrap valent "
                 "en moyenne " + fmt.number(ratio, 3) + " fois les linéarisées"
                 + (close + _split_gap(c) + "." if same else "."))
        text += _se_ratio_caveat(c)
    return text


def _se_ratio_caveat(c: dict[str, Any]) -> str:
    """« Le rapport de l'erreur type moyenne à l'écart type … n'est donc connu qu'à ± 0,239 près … » when that ratio
    cannot be judged one statistic at a time (:data:`SE_RATIO_BAND`), with both of its parts: the mean SE over the
    bootstrap's replications, the SD over every replication (:func:`~.monte_carlo.se_ratio_error`,
    as the acceptance table's ± ; review: « Sur 10 réplications, l'écart type empirique … » named the SD over the
    bootstrap's replications, which the ratio does not use)."""
    err = c.get("se_ratio_error")
    if not err or not err["ratio"] > (SE_RATIO_BAND[1] - SE_RATIO_BAND[0]) / 2:
        return ""

    def share(x: float) -> str:
        return fmt.percent(x, 0 if x >= 0.1 else 1)
    boot, basis = err["replications"], err["basis"]
    over = ("sur une seule réplication" if boot == 1 else f"sur {fmt.count(boot, 'réplication')} seulement"
            if basis > boot else f"sur les {fmt.count(boot, 'réplication')}")
    mean_se = (f"n'est connue qu'à ± {share(err['se'])} près au plus (elle varie d'une réplication à l'autre)"
               if err["se"] >= 0.0005 else "ne varie pas d'une réplication à l'autre")
    return (" Le rapport de l'erreur type moyenne à l'écart type des estimations a deux parts incertaines : l'erreur "
            f"type bootstrap moyenne, {over}, {mean_se}, et l'écart type des estimations, sur "
            + (f"les {fmt.count(basis, 'réplication')}" if basis > boot else "ces mêmes réplications")
            + f", à ± {share(err['sd'])} près ; ce rapport n'est donc connu qu'à ± {fmt.number(err['ratio'], 3)} près "
            "(tableau des critères d'acceptation) et peut s'écarter de 1 d'autant sans mettre la méthode en cause.")


def _unweighted_sentence(a: dict[str, Any], summ: pd.DataFrame, labels: Mapping) -> str:
    """The bias and coverage of the estimator without weights, and of those weighted without calibration when
    their bias is larger, in French (empty without an unweighted estimator)."""
    if a["unweighted_worst"] is None:
        return ""
    survey, item, statistic, level = a["unweighted_worst"]
    rel = a.get("unweighted_rel_worst")
    text = (f"Sans pondération, le biais voulu par la non-réponse simulée apparaît : jusqu'à "
            f"**{_sds(abs(a['unweighted_max_abs_bias_sd']), 2)}** (« {labels.get((item, statistic, level), item)} », "
            f"{SURVEY_LABELS[survey].lower()}), un biais relatif jusqu'à {_pct(a['unweighted_max_abs_rel_bias'], 2)}"
            + (f" (« {labels.get(rel[1:], rel[1])} », {SURVEY_LABELS[rel[0]].lower()})" if rel else "")
            + (f" et {coverage} (intervalles linéarisés à 95 %, toutes statistiques clés)"
               if (coverage := unweighted_coverage(summ)) else "") + ".")
    w = a.get("uncalibrated_worse")
    if w:
        subject, after, lowers = {
            "design": ("les seuls poids de sondage ne retirent pas", "avec eux", "ils le ramènent"),
            "nonresponse": ("la correction de la non-réponse ne retire pas", "après elle", "elle le ramène")}[
            w["estimator"]]
        text += (f" Sans calage, {subject} ce biais {WHERE[w['survey']]} : {after}, le pire biais y atteint "
                 f"{_sds(abs(w['bias_sd']), 2)}, davantage que sans pondération.")
        removed = [(survey, bias) for (est, survey), bias in a.get("worst_bias_sd", {}).items()
                   if est == w["estimator"] and survey != w["survey"] and bias <= a["bias_tolerance"]]
        for survey, bias in removed:     # trial Z: « ne le retirent pas » read as said of both surveys
            text += (f" {fmt.capitalised(WHERE[survey])}, {lowers} à {_sds(bias, 2)}"
                     + (f", sous le seuil de {_sds(BIAS_LIMIT, 1)}." if bias < BIAS_LIMIT else   # trials AE, AF
                        # within the tolerance the calibrated estimators are judged by (a review read « au-dessus du
                        # seuil de 0,1 » as a bar they meet, when they have the same bias)
                        f" : moins qu'avant, et dans la tolérance de {_sds(a['bias_tolerance'], 2)} que cette série "
                        f"applique aux estimateurs calés (le seuil de {_sds(BIAS_LIMIT, 1)} plus trois erreurs "
                        "Monte-Carlo)."))
    return text


def _target_paragraphs(target: str, summ: pd.DataFrame, labels: Mapping, results: pd.DataFrame | None = None,
                       truth: pd.DataFrame | None = None, replicates: int | None = None,
                       first: bool = True) -> tuple[list[str], bool, dict[str, Any]]:
    """The paragraphs on the calibrated estimators under ``target``, in French — bias, then the coverage of the
    linearised intervals, then of the bootstrap ones where ``summ`` has them (compared with the linearised on the
    same replications when ``results`` and ``truth``, this target's, are given) — and whether they pass
    :func:`acceptance`'s rules (a bootstrap whose SEs are the linearised ones' passes with them), and
    :func:`acceptance`'s numbers. After the ``first`` target, what it said is not explained again (trial AA: the
    conclusion repeated itself word for word)."""
    a = acceptance(summ, results=results, truth=truth)
    name = TARGET_LABELS.get(target, target).lower()
    lead = f"*{fmt.capitalised(name)}.* " if name else ""
    paragraphs = [lead + (
        f"Sur **{_int(a['replications'])} réplications**, les estimateurs calés ont un biais relatif d'au plus "
        f"**{_pct(a['max_abs_rel_bias'], 2)}** et un biais d'au plus **{_sds(a['max_abs_bias_sd'], 2)}** (seuil "
        f"{_sds(a['bias_tolerance'], 2)})." if not first else f"Sur **{_int(a['replications'])} réplications** de toute la chaîne "
                  "(tirage des deux échantillons, terrain simulé, pondération, estimation), les estimateurs calés "
                  f"(calage par raking ratio et logit borné) ont un biais relatif observé d'au plus "
                  f"**{_pct(a['max_abs_rel_bias'], 2)}** de la valeur vraie sur chacune des statistiques des deux "
                  "enquêtes (pour le score net de recommandation et pour une différence clients − habitants, dont la "
                  "valeur vraie peut être proche de 0, un biais relatif n'a pas de sens) ; toutes statistiques et "
                  f"différences confondues, leur biais ne dépasse pas **{_sds(a['max_abs_bias_sd'], 2)}** de "
                  f"l'estimateur (seuil {_sds(a['bias_tolerance'], 2)} : 0,1 écart type plus trois erreurs Monte-Carlo "
                  f"du biais, 3/√{_int(a['replications'])}).")]
    passed = bool(a["bias_ok"])
    for variance, label in (("linearisation", "linéarisés"), ("bootstrap", "bootstrap")):
        c = a.get(variance)
        if c is None:
            continue
        extra = f", {replicates} répliques par enquête" if variance == "bootstrap" and replicates else ""
        paragraphs.append(_coverage_sentence(c, label, extra, labels, name,
                                             explain=first and variance == "linearisation"))
        passed &= bool(c["ok"] or (variance == "bootstrap" and c.get("same_as_linearised", False)))
    return paragraphs, passed, a


def _size_verdict(a: dict[str, Any]) -> str:
    """« : le test est un peu libéral » when the Monte Carlo interval of the tests' size excludes 5 %."""
    low, high = a.get("rejection_low", np.nan), a.get("rejection_high", np.nan)
    if np.isfinite(low) and (low > 0.05 or high < 0.05):
        return f" : le test est un peu {'libéral' if low > 0.05 else 'conservateur'}"
    return ""


def _tests_paragraph(a: dict[str, Any], labels: Mapping, target: str = "",
                     others: Mapping[str, dict[str, Any]] | None = None) -> str:
    """The size and power of the visitors − residents tests under ``target``, in French, with the size's Monte Carlo
    interval and its range over the statistics (trial Z: 5,5 % [5,2 ; 5,8] read as if it were 5 %), then the size
    under the ``others`` targets (:func:`acceptance`'s numbers of each; trial AA: « libéral » held for one target)."""
    low, high = a.get("rejection_low", np.nan), a.get("rejection_high", np.nan)
    aim = f"Avec pour cible la {TARGET_LABELS[target].lower()}, l" if target in TARGET_LABELS else "L"
    text = (f"{aim}à où la vraie différence est nulle, le test clients − habitants en déclare une à tort "
            f"**{_pct(a['rejection'])}** du temps (les deux estimateurs calés ensemble ; "   # trial AE: Figure 4 has one
            + (f"intervalle Monte-Carlo de {_pct(low)} à {_pct(high)} ; " if np.isfinite(low) else "")
            + (f"de {_pct(a['rejection_min'])} à {_pct(a['rejection_max'])} selon la statistique ; "
               if "rejection_min" in a and a["rejection_min"] != a["rejection_max"] else "")
            + "5 % attendus, avant correction pour tests multiples)")
    text += _size_verdict(a)
    if np.isfinite(low) and low > 0.05 and a["rejection_max_low"] > 0.05:
        text += (f", surtout pour « {labels.get(a['rejection_max_statistic'], '')} » "
                 f"({_pct(a['rejection_max'])}, intervalle Monte-Carlo de {_pct(a['rejection_max_low'])} à "
                 f"{_pct(a['rejection_max_high'])})")
    text += f". Les vraies différences non nulles sont détectées **{_pct(a['power'])}** du temps en moyenne"
    if a.get("planted") and a["power_min"] < 0.8:
        if a["power_full"] and a.get("power_every") == a["power_full"]:
            text += f" : {a['power_full']} des {a['planted']} à chaque réplication"
        elif a["power_full"]:
            text += (f" : {a['power_full']} des {a['planted']} à chaque réplication ou presque (au moins 99,5 % du "
                     "temps)")
        statistic = a["power_min_statistic"]
        share = statistic[1] != "mean"
        text += (f" ; la plus petite (« {labels.get(statistic, '')} », écart vrai "
                 + fmt.signed(a["power_min_truth"] * (100 if share else 1), 2)
                 + ((" points" if abs(a["power_min_truth"] * 100) >= 2 else " point") if share else "")
                 + f") ne l'est que {_pct(a['power_min'])} du temps")
    text += "."
    for other, b in (others or {}).items():
        if np.isfinite(b.get("rejection", np.nan)):
            # trial AE: a fixed finite population differs a little from the model, so its « null » differences are
            # nearly, not exactly, 0 and part of the rate is power
            what = ("sur ces mêmes statistiques, dont la différence n'y est nulle qu'à peu près, il en déclare une"
                    if other == "finite" else "il en déclare une à tort")
            text += (f" Avec pour cible la {TARGET_LABELS.get(other, other).lower()}, {what} "
                     f"{_pct(b['rejection'])} du temps" + (f" (intervalle Monte-Carlo de {_pct(b['rejection_low'])} à "
                                                           f"{_pct(b['rejection_high'])})" if "rejection_low" in b else "")
                     + _size_verdict(b)
                     # trial AG: Table 9 judges the test of the true difference, 100 % minus the coverage
                     + (f" ; contre sa vraie valeur dans cette population, il conclut à tort {_pct(b['size_true'])} "
                        "du temps (la taille que juge le tableau des critères)"
                        if other == "finite" and np.isfinite(b.get("size_true", np.nan)) else "") + ".")
    return text


def _reserve(linearised: Mapping[str, dict[str, Any] | None], labels: Mapping, named: str = "") -> str:
    """« Une réserve : … » naming, right after a favourable verdict, each statistic whose linearised coverage is in
    question under some target although the rule tolerates it (trial AE: « peut se fier » read as every statistic
    inside its band, as issue 15's acceptance asks). ``named``: the target the sentence before named, said again as
    « cette même cible »."""
    said, count, tests = [], 0, []
    for target, c in linearised.items():
        rows = _statistics_in_question(c)
        if rows:
            aim = ("sous cette même cible, " if named and target == named and not said else
                   f"avec pour cible la {TARGET_LABELS[target].lower()}, " if target in TARGET_LABELS else "")
            said.append(aim + fmt.enumeration([f"« {labels.get((i, st, lv), i)} », {SURVEY_LABELS[sv].lower()}"
                                               for sv, i, st, lv in rows]))
            count += len(rows)
            tests += [r["rejection"] for found in rows.values() for _, r in found
                      if not r["planted"] and np.isfinite(r["rejection"])]
    if not said:
        return ""
    # trial AF: for a difference that is truly 0, the test rejects exactly when the interval misses 0
    test = (f" Pour une différence vraiment nulle, le test conclut à tort à une différence exactement quand l'intervalle "
            "exclut 0 : "
            f"{'ce test se trompe' if count == 1 else 'ces tests se trompent'} ainsi "
            f"{' à '.join(dict.fromkeys(_pct(x) for x in sorted(tests)))} du temps, ce qui met aussi "
            f"{'sa' if count == 1 else 'leur'} taille hors de la plage de {_pct(SIZE_BAND[0], 0)} à "
            f"{_pct(SIZE_BAND[1], 0)}."
            if tests and not SIZE_BAND[0] <= max(tests) <= SIZE_BAND[1] else "")
    return (f" Une réserve : {' ; '.join(said)}, {'sort' if count == 1 else 'sortent'} de la plage de tolérance des "
            f"intervalles linéarisés ({_band()} ; détail ci-dessous).{test} La règle de cette étude attribue un tel "
            "écart au hasard ; le critère strict, chaque statistique dans la plage, n'est pas tenu.")


def conclusion_fr(summ: pd.DataFrame, cb: Codebook, replicates: int | None = None,
                  results: pd.DataFrame | None = None, truth: pd.DataFrame | None = None,
                  others: Mapping[str, pd.DataFrame] | None = None,
                  other_runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> str:
    """What a reviewer should conclude, in French, generated from the Monte Carlo results
    (:func:`acceptance`; ``results`` and ``truth``, the first target's, add the Monte Carlo intervals of the pooled
    rates and the bootstrap's comparison with the linearisation; ``others``: the summaries of the other targets, by
    target, whose bias and coverage the verdict also weighs; ``other_runs``: by target, its ``(results, truth)``,
    for the same intervals and comparison). The verdict, then one paragraph per target and variance method, the
    tests and the weighting steps."""
    labels = statistic_labels(cb)
    first = results["target"].iloc[0] if results is not None and "target" in results.columns and len(results) else ""
    paragraphs, main_ok, a = _target_paragraphs(first, summ, labels, results, truth, replicates)
    short_of = {first: a.get("linearisation")}
    failed_targets, other_numbers = [], {}
    for target, other in (others or {}).items():
        text, passed, other_a = _target_paragraphs(target, other, labels, *(other_runs or {}).get(target, (None, None)),
                                                   replicates, first=False)
        paragraphs += text
        short_of[target], other_numbers[target] = other_a.get("linearisation"), other_a
        if not passed:
            failed_targets.append(TARGET_LABELS.get(target, target).lower())
    ok = main_ok and not failed_targets
    parts = [_tests_paragraph(a, labels, first, other_numbers)] if np.isfinite(a["rejection"]) else []
    runs = {first: results, **{t: r for t, (r, _) in (other_runs or {}).items()}} if results is not None else {}
    profiles = []
    for target, r in runs.items():
        if r is not None and r["statistic"].isin(PROFILE_STATISTICS).any():
            from .profiles import profile_finding, profile_summary   # that module builds on this one

            aim = f"avec pour cible la {TARGET_LABELS[target].lower()}, " if target in TARGET_LABELS else ""
            profiles.append(aim + profile_finding(profile_summary(r)))
    if profiles:
        parts.append("Pour les questions à réponses multiples (forces et faiblesses), " + " ; ".join(profiles) + ".")
    paragraphs += [" ".join(parts)] if parts else []
    paragraphs += [" ".join(t for t in (_unweighted_sentence(a, summ, labels), nonresponse_sentence(summ)) if t)]
    short = a["replications"] < 200
    if ok:
        verdict, named = "", ""
        for target, c in short_of.items():     # trial Z: the verdict should say what the pooled interval showed
            if c and target in TARGET_LABELS and c.get("coverage_high", 1.0) < 0.95:
                verdict += (f" Avec pour cible la {TARGET_LABELS[target].lower()}, leurs intervalles linéarisés à "
                            f"95 % contiennent la vraie valeur {_pct(c['coverage'])} du temps (ci-dessous).")
                named = target
        reserve = "" if short else _reserve(short_of, labels, named)
        verdict = ("**Cette version courte ne contredit pas la fiabilité des estimations calées et de leurs "
                   "intervalles de confiance**, sans suffire à l'établir." if short else
                   "**Un relecteur peut se fier aux estimations calées et à leurs intervalles de confiance"
                   + (", à une réserve près**." if reserve else "**.")) + verdict + reserve
    else:
        which = "" if not main_ok else " avec pour cible la " + fmt.enumeration(failed_targets)
        verdict = (f"**Les estimations calées ou leurs intervalles de confiance ne sont pas fiables{which}** "
                   "(biais au-delà du seuil ou couverture hors de 95 %) : voir le tableau détaillé pour les statistiques "
                   "en cause avant de publier.")
    if short:
        se = np.sqrt(0.95 * 0.05 / max(a["replications"], 1))
        verdict += (f" Avec {a['replications']} réplications seulement, une couverture de 95 % se lit à "
                    f"± {fmt.number(100 * 1.96 * se, 1)} points près (intervalle Monte-Carlo à 95 % ; erreur type "
                    f"{fmt.number(100 * se, 1)} points) ; "
                    f"seule la version publiée, à {fmt.number(published.REPLICATIONS)} réplications par cible, "
                    "permet de conclure.")
    # a new user's trial: the criteria's table (strict) and these paragraphs (Monte Carlo tolerance) read as two rules
    verdict += (" Le tableau des critères ci-dessus applique chaque critère tel qu'il est énoncé ; les paragraphes "
                "suivants lisent les mêmes réplications en tenant compte de leur hasard (seuils élargis de l'erreur "
                "Monte-Carlo), pour dire si un écart au critère peut tenir au seul nombre de réplications.")
    return "\n\n".join(p for p in [verdict] + paragraphs if p)       # the verdict first (trial AA)
