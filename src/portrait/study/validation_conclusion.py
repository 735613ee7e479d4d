"""The validation study's conclusion in French (report 08), from :func:`~portrait.study.validation_summary.acceptance`.

:func:`conclusion_fr` says, paragraph by paragraph, what a reviewer should conclude: the calibrated estimators' bias,
the coverage of their intervals under each target and variance method, the tests of the differences, what the
weighting steps do, and the verdict.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..reporting import formatting as fmt
from . import validation_published as published
from .codebook import Codebook
from .validation_coverage import _pct, _pct_range, _sds, nonresponse_sentence, unweighted_coverage
from .validation_setup import ESTIMATOR_LABELS, PROFILE_STATISTICS, SURVEY_LABELS, TARGET_LABELS
from .validation_summary import COVERAGE_BAND, acceptance, statistic_labels


def _int(n: int) -> str:
    return fmt.number(int(n))


def _outside_counts(c: dict[str, Any], key: str = "outside") -> str:
    """« 5 (raking ratio) et 5 (logit borné) »: per calibrated estimator, the statistics in question (``key``
    ``outside``) or those whose Monte Carlo interval of the coverage excludes 95 % (``excluding``), from
    :func:`acceptance`'s entry ``c``."""
    return fmt.enumeration([f"{x[key]} ({ESTIMATOR_LABELS[e].split('(')[-1].rstrip(')')})"
                            for e, x in c["per_estimator"].items()])


def _band() -> str:
    return f"de {_pct(COVERAGE_BAND[0], 0)} à {_pct(COVERAGE_BAND[1], 0)}"


def _in_question(c: dict[str, Any]) -> str:
    """« sur les 33 statistiques, … » : which statistics' coverage is in question under the rule of :func:`acceptance`."""
    head = f"sur les {c['statistics']} statistiques, "
    if all(x["excluding"] == x["outside"] for x in c["per_estimator"].values()):
        return (head + f"{_outside_counts(c)} ont une couverture hors de la plage de tolérance ({_band()}) et un "
                "intervalle Monte-Carlo qui exclut 95 %")
    return (head + f"l'intervalle Monte-Carlo de la couverture exclut 95 % pour {_outside_counts(c, 'excluding')} ; "
            f"parmi elles, {_outside_counts(c)} ont aussi une couverture hors de la plage de tolérance ({_band()}), "
            "seule à mettre une statistique en cause")


def _coverage_sentence(c: dict[str, Any], name: str, extra: str) -> str:
    """What the intervals of one variance method (:func:`acceptance`'s entry ``c``) cover, in French."""
    reps = f"{_int(c['replications'])} réplication{'s' if c['replications'] > 1 else ''}"
    expected = max(x["expected"] for x in c["per_estimator"].values())
    limit = max(x["limit"] for x in c["per_estimator"].values())
    text = (f"Leurs intervalles à 95 % ({name}, {reps}{extra}) contiennent la vraie valeur "
            f"**{_pct(c['coverage'])}** du temps ({_pct_range(c['coverage_min'], c['coverage_max'], COVERAGE_BAND)} "
            f"selon la statistique) ; {_in_question(c)}, alors que le hasard seul en produirait " + fmt.number(expected, 1)
            + f" en moyenne (la règle en tolère jusqu'à {limit}, le 95ᵉ centile de la loi binomiale plus un pour la "
            "corrélation entre statistiques d'une même réplication)")
    text += " : c'est compatible avec le hasard." if c["ok"] else " : c'est plus que le hasard seul n'en produirait."
    if "paired_linearised_coverage" in c:
        same = c["same_as_linearised"]
        text += ((" Mais" if same and not c["ok"] else "")
                 + f" {'s' if same and not c['ok'] else 'S'}ur ces mêmes réplications, les intervalles linéarisés "
                 f"couvrent {_pct(c['paired_linearised_coverage'])} du temps et les erreurs types bootstrap valent "
                 "en moyenne " + fmt.number(c['se_ratio_to_linearised'], 3) + " fois les linéarisées"
                 + ((" : le bootstrap donne les mêmes erreurs types que la linéarisation ; les sorties de 95 % tiennent aux "
                     "échantillons tirés dans ces réplications, pas à la méthode." if not c["ok"] else
                     " : le bootstrap donne les mêmes erreurs types que la linéarisation.") if same else "."))
        if 2 <= c["replications"] < 100:      # the empirical SD of so few replications is itself imprecise
            text += (f" Sur {reps}, l'écart type empirique des estimations est lui-même imprécis (à "
                     f"{fmt.percent(1 / np.sqrt(2 * (c['replications'] - 1)), 0)} près environ) : le rapport de l'erreur "
                     "type moyenne à cet écart type peut s'écarter de 1 sans mettre la méthode en cause.")
    return text


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
        step = {"design": "avec les seuls poids de sondage", "nonresponse": "après la correction de la non-réponse"}
        text += (" Sans calage, les poids de sondage et la correction de la non-réponse ne le retirent pas : "
                 f"{step[w['estimator']]}, le pire biais atteint {_sds(abs(w['bias_sd']), 2)} "
                 f"({SURVEY_LABELS[w['survey']].lower()}), davantage que sans pondération.")
    return text


def _target_sentence(target: str, summ: pd.DataFrame, results: pd.DataFrame | None = None,
                     truth: pd.DataFrame | None = None, replicates: int | None = None) -> tuple[str, bool]:
    """Bias and coverage of the calibrated estimators under another target, in French, and whether they pass the
    same rules as the first target's: linearised intervals, then bootstrap ones where ``summ`` has them (compared
    with the linearised on the same replications when ``results`` and ``truth``, this target's, are given)."""
    a = acceptance(summ, results=results, truth=truth)
    c = a.get("linearisation")
    text = (f"Avec pour cible la {TARGET_LABELS.get(target, target).lower()} "
            f"({fmt.count(a['replications'], 'réplication')}), le biais des estimateurs calés ne dépasse pas "
            f"**{_sds(a['max_abs_bias_sd'], 2)}** (seuil {_sds(a['bias_tolerance'], 2)})")
    if c is not None:
        text += (f" et leurs intervalles linéarisés contiennent la vraie valeur **{_pct(c['coverage'])}** du temps ("
                 f"{_pct_range(c['coverage_min'], c['coverage_max'], COVERAGE_BAND)} selon la statistique ; "
                 f"{_in_question(c)} ; "
                 f"la règle en tolère jusqu'à {max(x['limit'] for x in c['per_estimator'].values())} : "
                 + ("c'est compatible avec le hasard)" if c["ok"] else "c'est plus que le hasard seul n'en produirait)"))
    text += "."
    boot = a.get("bootstrap")
    if boot is not None:
        text += " " + _coverage_sentence(boot, "bootstrap", f", {replicates} répliques par enquête" if replicates else "")
    passed = a["bias_ok"] and (c is None or c["ok"]) and \
        (boot is None or boot["ok"] or boot.get("same_as_linearised", False))
    return text, bool(passed)


def conclusion_fr(summ: pd.DataFrame, cb: Codebook, replicates: int | None = None,
                  results: pd.DataFrame | None = None, truth: pd.DataFrame | None = None,
                  others: Mapping[str, pd.DataFrame] | None = None,
                  other_runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> str:
    """What a reviewer should conclude, in French, generated from the Monte Carlo results
    (:func:`acceptance`; ``results`` and ``truth`` add the bootstrap's comparison with the linearisation;
    ``others``: the summaries of the other targets, by target, whose bias and coverage the verdict also weighs;
    ``other_runs``: by target, its ``(results, truth)``, for the same comparison of its bootstrap)."""
    a = acceptance(summ, results=results, truth=truth)
    labels = statistic_labels(cb)
    first = results["target"].iloc[0] if results is not None and "target" in results.columns and len(results) else None
    aim = f", avec pour cible la {TARGET_LABELS[first].lower()}" if first in TARGET_LABELS else ""
    parts = [f"Sur **{_int(a['replications'])} réplications** de toute la chaîne (tirage des deux échantillons, terrain "
             f"simulé, pondération, estimation){aim}, les estimateurs calés (raking et logit borné) ont un biais relatif "
             f"observé d'au plus **{_pct(a['max_abs_rel_bias'], 2)}** de la valeur vraie sur chacune des statistiques des "
             "deux enquêtes (habitants et clients du territoire ; pour le score net de recommandation et pour une "
             "différence clients − habitants, dont la valeur vraie peut être proche de 0, un biais relatif n'a pas de "
             "sens) ; toutes statistiques et "
             "différences confondues, leur biais ne dépasse pas "
             f"**{_sds(a['max_abs_bias_sd'], 2)}** de l'estimateur"
             f" ; le seuil, {_sds(a['bias_tolerance'], 2)}, est 0,1 écart type plus trois erreurs "
             f"Monte-Carlo du biais (3/√{_int(a['replications'])})."]
    ok = bool(a["bias_ok"])
    for variance, name in (("linearisation", "linéarisés"), ("bootstrap", "bootstrap")):
        c = a.get(variance)
        if c is None:
            continue
        extra = f", {replicates} répliques par enquête" if variance == "bootstrap" and replicates else ""
        parts.append(_coverage_sentence(c, name, extra))
        ok &= bool(c["ok"] or (variance == "bootstrap" and c.get("same_as_linearised", False)))
    failed_targets = []
    for target, other in (others or {}).items():
        text, passed = _target_sentence(target, other, *(other_runs or {}).get(target, (None, None)), replicates)
        parts.append(text)
        if not passed:
            failed_targets.append(TARGET_LABELS.get(target, target).lower())
    main_ok, ok = ok, ok and not failed_targets
    paragraphs, parts = [parts], []                      # bias and coverage; then tests; unweighted; verdict
    if np.isfinite(a["rejection"]):
        parts.append(f"Là où la vraie différence est nulle, le test clients − habitants en déclare une à tort "
                     f"**{_pct(a['rejection'])}** du temps (5 % attendus, avant correction pour tests multiples) ; "
                     f"les vraies différences non nulles sont détectées **{_pct(a['power'])}** du temps en moyenne"
                     + (f" ; la plus petite (« {labels.get(a['power_min_statistic'], '')} », écart vrai "
                        + fmt.signed(a['power_min_truth'] * (100 if a['power_min_statistic'][1] != 'mean' else 1), 2)
                        + ((" points" if abs(a["power_min_truth"] * 100) >= 2 else " point")
                           if a["power_min_statistic"][1] != "mean" else "")
                        + f") ne l'est que {_pct(a['power_min'])} du temps." if a["power_min"] < 0.8 else "."))
    if results is not None and results["statistic"].isin(PROFILE_STATISTICS).any():
        from .validation_profiles import profile_finding, profile_summary   # that module builds on this one

        target = (f", avec pour cible la {TARGET_LABELS[results['target'].iloc[0]].lower()}"
                  if "target" in results.columns and results["target"].nunique() == 1 else "")
        parts.append(f"Pour les questions à réponses multiples (forces et faiblesses){target}, "
                     + profile_finding(profile_summary(results)) + ".")
    paragraphs, parts = paragraphs + [parts], []
    parts += [t for t in (_unweighted_sentence(a, summ, labels), nonresponse_sentence(summ)) if t]
    paragraphs, parts = paragraphs + [parts], []
    short = a["replications"] < 200
    if ok:
        parts.append(("**Cette version courte ne contredit pas la fiabilité des estimations calées et de leurs "
                      "intervalles de confiance**, sans suffire à l'établir." if short else
                      "**Un relecteur peut se fier aux estimations calées et à leurs intervalles de confiance**."))
    else:
        which = "" if not main_ok else " avec pour cible la " + fmt.enumeration(failed_targets)
        parts.append(f"**Les estimations calées ou leurs intervalles de confiance ne sont pas fiables{which}** "
                     "(biais au-delà du seuil ou couverture hors de 95 %) : voir le tableau détaillé pour les statistiques "
                     "en cause avant de publier.")
    if short:
        se = np.sqrt(0.95 * 0.05 / max(a["replications"], 1))
        parts.append(f"Avec {a['replications']} réplications seulement, une couverture de 95 % se lit à "
                     f"± {fmt.number(100 * 1.96 * se, 1)} points près (intervalle Monte-Carlo à 95 % ; erreur type "
                     f"{fmt.number(100 * se, 1)} points) ; "
                     f"seule la version publiée (`make validate`, {fmt.number(published.REPLICATIONS)} réplications) "
                     "permet de conclure.")
    return "\n\n".join(" ".join(p) for p in paragraphs + [parts] if p)
