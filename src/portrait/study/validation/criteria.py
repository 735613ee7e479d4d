"""The validation's acceptance criteria, one by one, with their verdicts, for report 08.

Each criterion is judged on the calibrated estimators (raking and bounded logit), for each target and variance
method, as stated: coverage of every key statistic's 95 % interval in [94 %, 96 %]; |bias| below 0.1 standard
deviation; mean SE over empirical SD in [0.95, 1.05]; no replication or replicate excluded; the size of the
difference tests on the items without a planted difference, and of the multiple-response test between random
halves, in [4 %, 6 %].

A per-statistic criterion is only *assessable* when the replications can tell a statistic inside the band from one
outside: the Monte Carlo error of one statistic's coverage (or of its SD) must be no wider than the band's own
half-width (:func:`assessable`). The bootstrap's 200 replications cannot judge one coverage (± 3 points): that
criterion is then judged on the pooled value only, and the verdict says so. Its SE ratio can be judged: the estimates
do not depend on the variance method, so the bootstrap's mean SE is divided by the SD of the estimates over every
replication (trial AF). A test's size is its rate of rejecting the true difference of the target, that is 100 %
minus the coverage of the difference's interval: for the fixed finite population, whose « null » differences are
only nearly 0, too. :func:`criteria` gives the numbers and verdict codes, :func:`acceptance_table_fr` the French
table and :func:`acceptance_note_fr` what it rests on.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ...pipeline.errors import ParameterError
from ...reporting import formatting as fmt
from .coverage import _pct, widened_replicates
from .profiles import profile_acceptance, profile_summary
from .setup import (CALIBRATED, DIFFERENCE_NAME, SURVEY_LABELS, TARGET_LABELS, TARGETS,
                    VARIANCE_LABELS, target_rows)
from .monte_carlo import (BIAS_LIMIT, COVERAGE_BAND, SE_RATIO_BAND, SIZE_BAND, band_half_width, pooled_interval,
                          sd_half_width, se_ratio_error)

#: The columns that name one statistic in a validation summary.
STATISTIC = ["survey", "item", "statistic", "level"]
#: Verdict codes and their French words in the table.
VERDICTS = {"met": "tenu", "not_met": "non tenu",
            "pooled": "tenu en moyenne ; non évaluable statistique par statistique",
            "pooled_not_met": "non tenu en moyenne ; non évaluable statistique par statistique",
            "not_assessable": "non évaluable (trop peu de réplications)"}
#: Statistics outside a band are named in the table up to this many.
NAMED_AT_MOST = 2


def assessable(replications: int, criterion: str) -> bool:
    """Whether one statistic's ``coverage``, test ``size``, ``se_ratio`` or ``bias`` from ``replications`` replications
    is known to within the half-width of its band (1 point of coverage or size, 5 % of SE ratio, 0.1 SD of bias), so
    that in- and outside can be told apart."""
    if criterion in ("coverage", "size"):       # a test's size is a rate near 5 % as a coverage is near 95 %
        return band_half_width(replications) <= (COVERAGE_BAND[1] - COVERAGE_BAND[0]) / 2 + 1e-12
    if criterion == "bias":                     # a bias in SDs is known to ± 1.96/√R SD
        return 1.96 / np.sqrt(max(int(replications), 1)) <= BIAS_LIMIT
    if criterion == "se_ratio":
        return sd_half_width(replications) <= (SE_RATIO_BAND[1] - SE_RATIO_BAND[0]) / 2 + 1e-12
    raise ParameterError(f"unknown criterion {criterion!r}; use 'coverage', 'size', 'bias' or 'se_ratio'")


def replications_needed(criterion: str, statistics: int = 1, level: float = 0.95) -> int:
    """The fewest replications for which :func:`assessable` holds (``coverage`` or ``se_ratio``); with ``statistics``
    > 1, for which that many statistics, each exactly calibrated and independent, all fall inside their band with
    probability ``level`` (each misses it with probability ``1 − level^(1/statistics)``)."""
    z = float(stats.norm.isf((1 - level ** (1 / max(int(statistics), 1))) / 2))
    if criterion == "coverage":
        half = (COVERAGE_BAND[1] - COVERAGE_BAND[0]) / 2
        return int(np.ceil(z ** 2 * 0.95 * 0.05 / half ** 2))
    half = (SE_RATIO_BAND[1] - SE_RATIO_BAND[0]) / 2
    return int(np.ceil((z / half) ** 2 / 2 + 1))


def expected_share_outside(replications: int, nominal: float = 0.95) -> float:
    """The probability that one statistic's observed coverage falls outside :data:`COVERAGE_BAND` when its true
    coverage is ``nominal`` (binomial, exact)."""
    k = np.arange(replications + 1)
    out = (k < COVERAGE_BAND[0] * replications - 1e-9) | (k > COVERAGE_BAND[1] * replications + 1e-9)
    return float(stats.binom.pmf(k, replications, nominal)[out].sum())


def _inside(x: float, band: tuple[float, float]) -> bool:
    return bool(band[0] <= x <= band[1])


def _verdict(outside: int, pooled: float, band: tuple[float, float], judged_alone: bool,
             interval: tuple[float, float] | None = None) -> str:
    """``met`` / ``not_met`` on every statistic when each is judged alone; otherwise on the pooled value, unless its
    Monte Carlo ``interval`` is wider than the band's half-width (trial AF: 40 replications gave « non tenu en
    moyenne » to a pooled rate whose interval held the band)."""
    if judged_alone:
        return "met" if outside == 0 else "not_met"
    if interval is not None and (interval[1] - interval[0]) / 2 > (band[1] - band[0]) / 2 + 1e-12:
        return "not_assessable"
    return "pooled" if _inside(pooled, band) else "pooled_not_met"


def _pooled_interval(results: pd.DataFrame | None, truth: pd.DataFrame | None, variance: str,
                     null_only: bool = False) -> tuple[float, float] | None:
    """:func:`~portrait.study.validation.monte_carlo.pooled_interval` of the calibrated estimators' coverage (or of the
    null differences' only), None without a truth or a row."""
    if results is None or truth is None:
        return None
    low, high = pooled_interval(results, truth, variance, CALIBRATED, null_only=null_only)
    return None if np.isnan(low) else (low, high)


def _band_criterion(v: pd.DataFrame, values: pd.Series, band: tuple[float, float], judged_alone: bool,
                    pooled: float, interval: tuple[float, float] | None = None) -> dict[str, Any]:
    """One per-statistic band criterion over the rows ``v`` of one target and variance (``values``, row for row): a
    statistic is outside when either calibrated estimator's value is."""
    off = v.assign(_off=((values < band[0]) | (values > band[1])).to_numpy()).groupby(
        STATISTIC, sort=False, dropna=False)["_off"].any()
    named = [tuple(k) for k in off.index[off.to_numpy()]]
    return {"low": float(values.min()), "high": float(values.max()), "pooled": pooled, "outside": len(named),
            "named": named, "statistics": int(len(off)), "replications": int(v["replications"].max()),
            "interval": interval, "verdict": _verdict(len(named), pooled, band, judged_alone, interval)}


def _weighted_coverage(v: pd.DataFrame) -> float:
    return float((v["coverage"] * v["replications"]).sum() / v["replications"].sum())


def _bootstrap_se_ratio(boot: pd.DataFrame, lin: pd.DataFrame, results: pd.DataFrame,
                        target: str) -> dict[str, Any]:
    """The bootstrap's SE ratio per statistic and estimator (the summary divides its mean SE by the SD of every
    replication's estimates, the linearised rows'); judged alone when the Monte Carlo error of that ratio,
    :func:`~portrait.study.validation.monte_carlo.se_ratio_error` (SD over ``R`` replications, mean of ``B`` bootstrap
    SEs), is within 5 %."""
    r = target_rows(results, target) if "target" in results.columns else results
    basis = int(lin["replications"].max())
    half = se_ratio_error(r, basis, int(boot["replications"].max()), "bootstrap", CALIBRATED)["ratio"]
    judged = bool(half <= (SE_RATIO_BAND[1] - SE_RATIO_BAND[0]) / 2)
    out = _band_criterion(boot, boot["se_ratio"], SE_RATIO_BAND, judged, float(boot["se_ratio"].mean()))
    return {**out, "basis": basis, "half_width": float(half),
            "verdict": out["verdict"] if judged else "not_assessable"}


def _size(v: pd.DataFrame, coverage_interval: tuple[float, float] | None = None) -> dict[str, Any] | None:
    """The size of the difference tests on the items without a planted difference: 100 % minus the coverage of their
    intervals (a test rejects the true difference exactly when the interval misses it), per item (its estimators'
    mean), pooled over items and estimators."""
    null = v.loc[(v["survey"] == DIFFERENCE_NAME) & ~v["planted"].astype(bool)]
    if null.empty:
        return None
    size = 1 - null["coverage"]
    per_item = null.assign(_size=size).groupby(STATISTIC, sort=False, dropna=False)["_size"].mean()
    off = per_item.loc[(per_item < SIZE_BAND[0]) | (per_item > SIZE_BAND[1])]
    pooled = 1 - _weighted_coverage(null)
    r = int(null["replications"].max())
    interval = None if coverage_interval is None else (1 - coverage_interval[1], 1 - coverage_interval[0])
    return {"pooled": pooled, "low": float(per_item.min()), "high": float(per_item.max()), "outside": len(off),
            "named": [tuple(k) for k in off.index], "items": len(per_item), "replications": r, "interval": interval,
            "verdict": _verdict(len(off), pooled, SIZE_BAND, assessable(r, "size"), interval)}


def _target_criteria(target: str, summ: pd.DataFrame, results: pd.DataFrame, replicates: int | None,
                     profiles: pd.DataFrame, truth: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """:func:`criteria` for one target."""
    own = target_rows(results, target) if "target" in results.columns else results
    cal = summ.loc[summ["estimator"].isin(CALIBRATED) & (summ["replications"] > 0)]
    lin, boot = (cal.loc[cal["variance"] == v] for v in ("linearisation", "bootstrap"))
    out: dict[str, dict[str, Any]] = {}
    for variance, v in (("linearisation", lin), ("bootstrap", boot)):
        if len(v):
            r = int(v["replications"].max())
            out[f"coverage/{variance}"] = _band_criterion(v, v["coverage"], COVERAGE_BAND, assessable(r, "coverage"),
                                                          _weighted_coverage(v), _pooled_interval(own, truth, variance))
            if (size := _size(v, _pooled_interval(own, truth, variance, null_only=True))) is not None:
                out[f"size/{variance}"] = size
    if len(lin):
        judged = assessable(int(lin["replications"].max()), "se_ratio")
        out["se_ratio/linearisation"] = _band_criterion(lin, lin["se_ratio"], SE_RATIO_BAND, judged,
                                                        float(lin["se_ratio"].mean()))
        if not judged:    # the pooled mean of correlated ratios is hardly surer than one of them
            out["se_ratio/linearisation"]["verdict"] = "not_assessable"
        worst, r = float(lin["bias_sd"].abs().max()), int(lin["replications"].max())
        out["bias"] = {"worst": worst, "replications": r,
                       "verdict": ("met" if worst < BIAS_LIMIT else "not_met") if assessable(r, "bias") else
                       "not_assessable"}
    if len(boot) and len(lin):
        out["se_ratio/bootstrap"] = _bootstrap_se_ratio(boot, lin, results, target)
    failures = int(cal["failures"].sum())
    excluded = {"failures": failures, "widened": 0, "replicates": 0, "verdict": "met" if failures == 0 else "not_met"}
    if replicates and "target" in results.columns:
        w = widened_replicates(target_rows(results, target))
        w = w.loc[w["estimator"] == "logit"]
        excluded.update(widened=int(w["widened"].sum()), replicates=int(w["replications"].sum()) * int(replicates))
    out["excluded"] = excluded
    p = profiles.loc[profiles["target"] == target] if "target" in profiles.columns else profiles
    if len(p.loc[~p["planted"]]):
        a = profile_acceptance(p)
        out["profile_size"] = {"pooled": a["size"], "low": a["size_low"], "high": a["size_high"], "tests": a["tests"],
                               "verdict": _verdict(0, a["size"], SIZE_BAND, False, (a["size_low"], a["size_high"]))
                               .replace("pooled_not_met", "not_met").replace("pooled", "met")}
    return out


def criteria(summaries: Mapping[str, pd.DataFrame], results: pd.DataFrame, replicates: int | None = None,
             truths: Mapping[str, pd.DataFrame] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Each acceptance criterion's numbers and verdict, per target: ``{target: {criterion: {...}}}``.

    Criteria: ``coverage/<variance>``, ``size/<variance>`` and ``se_ratio/<variance>`` (range over the calibrated
    estimators' key statistics — for ``size``, the items without a planted difference, the estimators averaged —
    pooled value, how many statistics outside the band and which (``named``: (survey, item, statistic, level)),
    verdict ``met``, ``not_met``, or ``pooled`` / ``pooled_not_met`` when one statistic's value is not
    :func:`assessable`); ``bias`` (worst |bias| in SDs, linearised rows: the bias does not depend on the variance);
    ``excluded`` (replications whose estimate failed, bounded-logit replicates widened out of those computed);
    ``profile_size`` (multiple-response test between random halves, raking, linearised, with its Wilson interval).

    ``summaries`` maps each target to its :func:`portrait.study.validation.summary`; ``results`` are the
    replications of every target (``target`` column); ``replicates`` the bootstrap replicates per survey; ``truths``
    each target's truth, which gives the pooled coverages and sizes their Monte Carlo intervals: a pooled value whose
    interval is wider than its band (few replications) is ``not_assessable``, as is a linearised SE ratio that cannot
    be judged per statistic, and the profile test's size whose Wilson interval is.
    """
    unknown = sorted(set(summaries) - set(TARGETS))
    if unknown:
        raise ParameterError(f"parameter 'summaries' has unknown target(s) {unknown}; targets are {list(TARGETS)}")
    profiles = profile_summary(results)
    return {t: _target_criteria(t, summaries[t], results, replicates, profiles, (truths or {}).get(t))
            for t in TARGETS if t in summaries}


def _share(x: float, band: tuple[float, float]) -> str:
    """A rate with one decimal, or two when one would put it on an edge of ``band`` (94,008 % as « 94,01 % »)."""
    return _pct(x, 2 if any(fmt.rounded(x * 100, 1) == fmt.rounded(e * 100, 1) for e in band) else 1)


def _outside(c: dict[str, Any], labels: Mapping | None, what: str = "statistique") -> str:
    """« ; 1 statistique sur 33 hors de la plage : « Image globale (0 à 10) : moyenne », différence … »."""
    total = c["statistics"] if what == "statistique" else c["items"]
    text = f" ; {fmt.count(c['outside'], what)} sur {total} hors de la plage"
    if labels is not None and c["outside"] <= NAMED_AT_MOST:
        text += " : " + fmt.enumeration([f"« {labels.get((i, st, lv), i)} », {SURVEY_LABELS[sv].lower()}"
                                         for sv, i, st, lv in c["named"]])
    return text


def _interval(c: dict[str, Any]) -> str:
    """« (intervalle Monte-Carlo 93,1 % à 94,8 %) » of a pooled value whose verdict rests on it, else nothing."""
    if c.get("interval") is None or c.get("verdict") in ("met", "not_met"):
        return ""
    return f" (intervalle Monte-Carlo {_pct(c['interval'][0])} à {_pct(c['interval'][1])})"


def _observed(name: str, c: dict[str, Any], labels: Mapping | None = None) -> str:
    """A criterion's observed values, in French."""
    # statistics judged only pooled: their own values are noise, neither counted nor named (a short run's « 33
    # statistiques sur 33 hors de la plage » beside « non évaluable » read as a failure)
    outside = bool(c.get("outside")) and c.get("verdict") in ("met", "not_met")
    if name.startswith("coverage/"):
        return (f"{_pct(c['low'])} à {_pct(c['high'])} ; ensemble {_share(c['pooled'], COVERAGE_BAND)}"
                + _interval(c) + (_outside(c, labels) if outside else ""))
    if name.startswith("se_ratio/"):
        basis = (f" (écart type sur les {fmt.number(c['basis'])} réplications)" if "basis" in c else "")
        return (f"{fmt.number(c['low'], 3)} à {fmt.number(c['high'], 3)} ; moyenne {fmt.number(c['pooled'], 3)}"
                + basis + (_outside(c, labels) if outside else ""))
    if name == "bias":
        return f"au plus {fmt.number(c['worst'], 2)} écart type"
    if name == "excluded":
        text = "aucune réplication en échec" if c["failures"] == 0 else \
            f"{fmt.count(c['failures'], 'réplication')} en échec"
        if c["replicates"]:
            text += (f" ; aucune réplique bootstrap exclue, {fmt.number(c['widened'])} sur "
                     f"{fmt.number(c['replicates'])} aux bornes élargies")
        return text
    if name.startswith("size/"):
        return (f"ensemble {_share(c['pooled'], SIZE_BAND)}{_interval(c)} ; par item {_pct(c['low'])} à "
                f"{_pct(c['high'])}"
                + (_outside({**c, "statistics": c["items"]}, labels, "item") if outside else ""))
    if name == "profile_size":
        return f"{_share(c['pooled'], SIZE_BAND)} (intervalle Monte-Carlo {_pct(c['low'])} à {_pct(c['high'])})"
    raise ParameterError(f"unknown criterion {name!r}")


def _criterion_label(name: str) -> tuple[str, str]:
    """(criterion, variance) of a row, in French."""
    if "/" in name:
        what, variance = name.split("/")
        label = {"coverage": "Couverture à 95 % de chaque statistique dans [94 % ; 96 %]",
                 "se_ratio": "Erreur type moyenne / écart type de chaque statistique dans [0,95 ; 1,05]",
                 "size": "Taille des tests de différence (items sans écart introduit) dans [4 % ; 6 %]"}[what]
        return label, VARIANCE_LABELS[variance]
    return {"bias": ("Biais de chaque statistique inférieur à 0,1 écart type", "—"),
            "excluded": ("Aucune réplication ni réplique exclue", "—"),
            "profile_size": ("Taille du test des profils (moitiés tirées au hasard ; raking ratio) dans [4 % ; 6 %]",
                             "linéarisation")}[name]


#: The variance methods in a sentence (« Pour la variance bootstrap, … »).
WEAK_NAMES = {"linearisation": "la variance linéarisée", "bootstrap": "la variance bootstrap"}
ORDER = ("coverage/linearisation", "coverage/bootstrap", "bias", "se_ratio/linearisation", "se_ratio/bootstrap",
         "excluded", "size/linearisation", "size/bootstrap", "profile_size")


def acceptance_table_fr(crit: Mapping[str, Mapping[str, dict[str, Any]]], labels: Mapping | None = None) -> pd.DataFrame:
    """The criteria of :func:`criteria` as a French table: one row per criterion and variance method, for each
    target its observed values and its verdict; ``labels`` ((item, statistic, level) → label) names the statistics
    outside a band when there are few."""
    targets = [t for t in TARGETS if t in crit]
    names = [n for n in ORDER if any(n in crit[t] for t in targets)]
    out = pd.DataFrame(index=pd.MultiIndex.from_tuples([_criterion_label(n) for n in names],
                                                       names=["Critère", "Variance"]))
    for t in targets:
        out[(TARGET_LABELS[t], "observé")] = [_observed(n, crit[t][n], labels) if n in crit[t] else "—"
                                              for n in names]
        out[(TARGET_LABELS[t], "verdict")] = [VERDICTS[crit[t][n]["verdict"]] if n in crit[t] else "—"
                                               for n in names]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def acceptance_note_fr(crit: Mapping[str, Mapping[str, dict[str, Any]]]) -> str:
    """What the table's verdicts rest on, in French: the rule, how a test's size is measured, how the bootstrap's SE
    ratio is judged, and what « non évaluable » means with how many replications it would take."""
    nbsp = "\u00a0"
    parts = ["Critères jugés sur les deux estimateurs calés (raking ratio et logit borné ; le test des profils, sur le "
             "raking ratio), pour chaque statistique clé des deux enquêtes et leurs différences ; « tenu » veut dire : "
             "toutes les valeurs dans la plage, sans tolérance pour le hasard des réplications.",
             "La taille d'un test de différence est la part des réplications où il rejette la vraie différence de la "
             "cible, soit 100 % moins la couverture de son intervalle ; dans la population finie fixée, les différences "
             "sans écart introduit ne sont nulles qu'à peu près, et c'est à leur vraie valeur que le test est jugé."]
    boot_se = {t: c["se_ratio/bootstrap"] for t, c in crit.items() if "se_ratio/bootstrap" in c}
    if boot_se:
        b = next(iter(boot_se.values()))
        # each target's own ± (review: the first target's was said of both, and the conclusion gives each its own)
        known = [f"à ±{nbsp}{fmt.number(x['half_width'], 3)} près" for x in boot_se.values()]
        known = known[0] if len(set(known)) == 1 else ", ".join(
            f"{k} avec pour cible la {TARGET_LABELS[t].lower()}" for k, t in zip(known, boot_se))
        parts.append(f"Les estimations ne dépendent pas de la variance : l'erreur type bootstrap moyenne est donc "
                     f"rapportée à l'écart type des estimations sur les {fmt.number(b['basis'])} réplications "
                     f"(rapport connu {known}).")
    weak = {v: c[f"coverage/{v}"] for c in crit.values() for v in ("linearisation", "bootstrap")
            if f"coverage/{v}" in c and c[f"coverage/{v}"]["verdict"] in ("pooled", "pooled_not_met", "not_assessable")}
    if weak:
        r = max(w["replications"] for w in weak.values())
        n_stat = max(w["statistics"] for w in weak.values())
        fewer = " ou moins" if len({w["replications"] for w in weak.values()}) > 1 else ""
        which = fmt.enumeration([WEAK_NAMES[v] for v in ("linearisation", "bootstrap") if v in weak])
        parts.append(
            f"Avec {fmt.number(r)} réplications{fewer}, la couverture d'une statistique n'est connue qu'à "
            f"±{nbsp}{fmt.number(band_half_width(r) * 100, 1)} points près, plus que la demi-largeur de la plage "
            f"(1 point) : même si chaque couverture valait exactement 95 %, en moyenne "
            f"{_pct(expected_share_outside(r), 0)} d'entre elles tomberaient hors de la plage. Pour {which}, la "
            "couverture et la taille des tests ne sont donc jugées que sur l'ensemble des statistiques. Il faudrait "
            f"{fmt.number(replications_needed('coverage'))} réplications pour connaître une couverture à ±{nbsp}1 point "
            f"près, et environ {fmt.number(round(replications_needed('coverage', n_stat), -2))} pour que {n_stat} statistiques "
            "exactement calibrées restent toutes dans la plage 95 fois sur 100.")
    unjudged = {n for c in crit.values() for n, x in c.items() if x["verdict"] == "not_assessable"}
    if unjudged:
        parts.append("« Non évaluable » : "
                     + fmt.enumeration([t for t in (
                         "même le résultat d'ensemble n'y est connu que dans un intervalle Monte-Carlo plus large que "
                         "la plage" if unjudged - {"bias"} else "",
                         "le biais n'y est connu qu'à plus de 0,1 écart type près" if "bias" in unjudged else "") if t])
                     + " : il faudrait plus de réplications pour juger.")
    return " ".join(parts)
