"""The validation's acceptance criteria, one by one, with their verdicts, for report 08.

Each criterion is judged on the calibrated estimators (raking and bounded logit), for each target and variance
method, as stated: coverage of every key statistic's 95 % interval in [94 %, 96 %]; |bias| below 0.1 standard
deviation; mean SE over empirical SD in [0.95, 1.05]; no replication or replicate excluded; the size of the
difference tests on the items without a planted difference, and of the multiple-response test between random
halves, in [4 %, 6 %].

A per-statistic criterion is only *assessable* when the replications can tell a statistic inside the band from one
outside: the Monte Carlo error of one statistic's coverage (or of its SD) must be no wider than the band's own
half-width (:func:`assessable`). The bootstrap's 200 replications cannot (± 3 points on a coverage, ± 10 % on an
SD): the criterion is then judged on the pooled value only, and the verdict says so. :func:`criteria` gives the
numbers and verdict codes, :func:`acceptance_table_fr` the French table.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..pipeline.errors import ParameterError
from ..reporting import formatting as fmt
from .validation_coverage import _pct, widened_replicates
from .validation_profiles import profile_acceptance, profile_summary
from .validation_setup import CALIBRATED, DIFFERENCE_NAME, TARGET_LABELS, TARGETS, VARIANCE_LABELS
from .validation_summary import BIAS_LIMIT, COVERAGE_BAND, SIZE_BAND, band_half_width

#: The mean SE / empirical SD band of the acceptance criteria.
SE_RATIO_BAND = (0.95, 1.05)
#: The columns that name one statistic in a validation summary.
STATISTIC = ["survey", "item", "statistic", "level"]
#: Verdict codes and their French words in the table.
VERDICTS = {"met": "tenu", "not_met": "non tenu",
            "pooled": "tenu en moyenne ; non évaluable statistique par statistique",
            "pooled_not_met": "non tenu en moyenne ; non évaluable statistique par statistique",
            "not_applicable": "sans objet", "not_assessable": "non évaluable (trop peu de réplications)"}


def sd_half_width(replications: int) -> float:
    """Relative half-width of the 95 % Monte Carlo interval of an SD estimated from ``replications`` replications
    of a normal estimator: ``1.96 / √(2 (R − 1))`` (the SD's relative standard error is ``1/√(2(R − 1))``)."""
    return float(1.96 / np.sqrt(2 * max(int(replications) - 1, 1)))


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


def replications_needed(criterion: str) -> int:
    """The fewest replications for which :func:`assessable` holds (``coverage`` or ``se_ratio``)."""
    if criterion == "coverage":
        half = (COVERAGE_BAND[1] - COVERAGE_BAND[0]) / 2
        return int(np.ceil(1.96 ** 2 * 0.95 * 0.05 / half ** 2))
    half = (SE_RATIO_BAND[1] - SE_RATIO_BAND[0]) / 2
    return int(np.ceil((1.96 / half) ** 2 / 2 + 1))


def expected_share_outside(replications: int, nominal: float = 0.95) -> float:
    """The probability that one statistic's observed coverage falls outside :data:`COVERAGE_BAND` when its true
    coverage is ``nominal`` (binomial, exact)."""
    k = np.arange(replications + 1)
    out = (k < COVERAGE_BAND[0] * replications - 1e-9) | (k > COVERAGE_BAND[1] * replications + 1e-9)
    return float(stats.binom.pmf(k, replications, nominal)[out].sum())


def _inside(x: float, band: tuple[float, float]) -> bool:
    return bool(band[0] <= x <= band[1])


def _band_criterion(v: pd.DataFrame, column: str, band: tuple[float, float], criterion: str) -> dict[str, Any]:
    """One per-statistic band criterion (``coverage`` or ``se_ratio``) over the rows of one target and variance: a
    statistic is outside when either calibrated estimator's value is; the pooled coverage weighs by replications,
    the pooled SE ratio is the mean."""
    values, weights = v[column], v["replications"]
    r = int(weights.max())
    pooled = float((values * weights).sum() / weights.sum()) if criterion == "coverage" else float(values.mean())
    off = v.assign(_off=(values < band[0]) | (values > band[1])).groupby(STATISTIC, sort=False, dropna=False)["_off"]
    outside = int(off.any().sum())
    if assessable(r, criterion):
        verdict = "met" if outside == 0 else "not_met"
    else:
        verdict = "pooled" if _inside(pooled, band) else "pooled_not_met"
    return {"low": float(values.min()), "high": float(values.max()), "pooled": pooled, "outside": outside,
            "statistics": int(off.ngroups), "replications": r, "verdict": verdict}


def _target_criteria(target: str, summ: pd.DataFrame, results: pd.DataFrame, replicates: int | None,
                     profiles: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """:func:`criteria` for one target."""
    cal = summ.loc[summ["estimator"].isin(CALIBRATED) & (summ["replications"] > 0)]
    out: dict[str, dict[str, Any]] = {}
    for variance in ("linearisation", "bootstrap"):
        v = cal.loc[cal["variance"] == variance]
        if len(v):
            out[f"coverage/{variance}"] = _band_criterion(v, "coverage", COVERAGE_BAND, "coverage")
            out[f"se_ratio/{variance}"] = _band_criterion(v, "se_ratio", SE_RATIO_BAND, "se_ratio")
    lin = cal.loc[cal["variance"] == "linearisation"]
    worst = float(lin["bias_sd"].abs().max())
    r = int(lin["replications"].max())
    out["bias"] = {"worst": worst, "replications": r,
                   "verdict": ("met" if worst < BIAS_LIMIT else "not_met") if assessable(r, "bias") else
                   "not_assessable"}
    failures = int(cal["failures"].sum())
    excluded = {"failures": failures, "widened": 0, "replicates": 0, "verdict": "met" if failures == 0 else "not_met"}
    if replicates and "target" in results.columns:
        w = widened_replicates(results.loc[results["target"] == target])
        w = w.loc[w["estimator"] == "logit"]
        excluded.update(widened=int(w["widened"].sum()), replicates=int(w["replications"].sum()) * int(replicates))
    out["excluded"] = excluded
    null = lin.loc[(lin["survey"] == DIFFERENCE_NAME) & ~lin["planted"]]
    if len(null):
        per_item = null.groupby(["item", "statistic", "level"], sort=False, dropna=False)["rejection"].mean()
        pooled = float((null["rejection"] * null["replications"]).sum() / null["replications"].sum())
        outside = int(((per_item < SIZE_BAND[0]) | (per_item > SIZE_BAND[1])).sum())
        if target != "superpopulation":
            verdict = "not_applicable"
        elif assessable(int(null["replications"].max()), "size"):
            verdict = "met" if outside == 0 else "not_met"
        else:
            verdict = "pooled" if _inside(pooled, SIZE_BAND) else "pooled_not_met"
        out["size"] = {"pooled": pooled, "low": float(per_item.min()), "high": float(per_item.max()),
                       "outside": outside, "items": len(per_item), "verdict": verdict}
    p = profiles.loc[profiles["target"] == target] if "target" in profiles.columns else profiles
    if len(p.loc[~p["planted"]]):
        a = profile_acceptance(p)
        out["profile_size"] = {"pooled": a["size"], "low": a["size_low"], "high": a["size_high"], "tests": a["tests"],
                               "verdict": "met" if a["size_ok"] else "not_met"}
    return out


def criteria(summaries: Mapping[str, pd.DataFrame], results: pd.DataFrame,
             replicates: int | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Each acceptance criterion's numbers and verdict, per target: ``{target: {criterion: {...}}}``.

    Criteria: ``coverage/<variance>`` and ``se_ratio/<variance>`` (range over the calibrated estimators' key
    statistics, pooled value, how many outside the band, verdict ``met``, ``not_met``, or ``pooled`` /
    ``pooled_not_met`` when one statistic's value is not :func:`assessable`); ``bias`` (worst |bias| in SDs,
    linearised rows: the bias does not depend on the variance); ``excluded`` (replications whose estimate failed,
    bounded-logit replicates widened out of those computed); ``size`` (tests of the differences on the items
    without a planted difference: pooled, per-item range; ``not_applicable`` for a finite population, where those
    differences are only nearly 0); ``profile_size`` (multiple-response test between random halves, with its
    Wilson interval).

    ``summaries`` maps each target to its :func:`portrait.study.validation.summary`; ``results`` are the
    replications of every target (``target`` column); ``replicates`` the bootstrap replicates per survey.
    """
    unknown = sorted(set(summaries) - set(TARGETS))
    if unknown:
        raise ParameterError(f"parameter 'summaries' has unknown target(s) {unknown}; targets are {list(TARGETS)}")
    profiles = profile_summary(results)
    return {t: _target_criteria(t, summaries[t], results, replicates, profiles) for t in TARGETS if t in summaries}


def _outside(c: dict[str, Any]) -> str:
    """« ; 1 statistique sur 33 hors de la plage »."""
    return f" ; {fmt.count(c['outside'], 'statistique')} sur {c['statistics']} hors de la plage"


def _observed(name: str, c: dict[str, Any]) -> str:
    """A criterion's observed values, in French."""
    if name.startswith("coverage/"):
        text = f"{_pct(c['low'])} à {_pct(c['high'])} ; ensemble {_pct(c['pooled'])}"
        return text + (_outside(c) if c["outside"] else "")
    if name.startswith("se_ratio/"):
        text = f"{fmt.number(c['low'], 3)} à {fmt.number(c['high'], 3)} ; moyenne {fmt.number(c['pooled'], 3)}"
        return text + (_outside(c) if c["outside"] else "")
    if name == "bias":
        return f"au plus {fmt.number(c['worst'], 2)} écart type"
    if name == "excluded":
        text = f"{c['failures']} réplication en échec" if c["failures"] <= 1 else \
            f"{c['failures']} réplications en échec"
        if c["replicates"]:
            text += (f" ; répliques bootstrap : aucune exclue, {fmt.number(c['widened'])} sur "
                     f"{fmt.number(c['replicates'])} aux bornes élargies")
        return text
    if name == "size":
        text = f"ensemble {_pct(c['pooled'])} ; par item {_pct(c['low'])} à {_pct(c['high'])}"
        return text + (f" ; {c['outside']} item{'s' if c['outside'] > 1 else ''} sur {c['items']} hors de la plage"
                       if c["outside"] else "")
    if name == "profile_size":
        return f"{_pct(c['pooled'])} (intervalle Monte-Carlo {_pct(c['low'])} à {_pct(c['high'])})"
    raise ParameterError(f"unknown criterion {name!r}")


def _criterion_label(name: str) -> tuple[str, str]:
    """(criterion, variance) of a row, in French."""
    if "/" in name:
        what, variance = name.split("/")
        label = ("Couverture à 95 % de chaque statistique dans [94 % ; 96 %]" if what == "coverage" else
                 "Erreur type moyenne / écart type de chaque statistique dans [0,95 ; 1,05]")
        return label, VARIANCE_LABELS[variance]
    return {"bias": ("Biais de chaque statistique inférieur à 0,1 écart type", "—"),
            "excluded": ("Aucune réplication ni réplique exclue", "—"),
            "size": ("Taille des tests de différence (items sans écart introduit) dans [4 % ; 6 %]", "linéarisation"),
            "profile_size": ("Taille du test des profils (moitiés tirées au hasard) dans [4 % ; 6 %]",
                             "linéarisation")}[name]


#: The variance methods in a sentence (« Pour la variance bootstrap, … »).
WEAK_NAMES = {"linearisation": "la variance linéarisée", "bootstrap": "la variance bootstrap"}
ORDER = ("coverage/linearisation", "coverage/bootstrap", "bias", "se_ratio/linearisation", "se_ratio/bootstrap",
         "excluded", "size", "profile_size")


def acceptance_table_fr(crit: Mapping[str, Mapping[str, dict[str, Any]]]) -> pd.DataFrame:
    """The criteria of :func:`criteria` as a French table: one row per criterion and variance method, for each
    target its observed values and its verdict."""
    targets = [t for t in TARGETS if t in crit]
    names = [n for n in ORDER if any(n in crit[t] for t in targets)]
    out = pd.DataFrame(index=pd.MultiIndex.from_tuples([_criterion_label(n) for n in names],
                                                       names=["Critère", "Variance"]))
    for t in targets:
        out[(TARGET_LABELS[t], "observé")] = [_observed(n, crit[t][n]) if n in crit[t] else "—" for n in names]
        out[(TARGET_LABELS[t], "verdict")] = [VERDICTS[crit[t][n]["verdict"]] if n in crit[t] else "—"
                                               for n in names]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def acceptance_note_fr(crit: Mapping[str, Mapping[str, dict[str, Any]]]) -> str:
    """What the table's verdicts rest on, in French: what « non évaluable » means and how many replications it
    would take, and why the size of the tests has no verdict for a finite population."""
    parts = ["Critères jugés sur les deux estimateurs calés (raking ratio et logit borné), pour chaque statistique "
             "clé des deux enquêtes et leurs différences ; « tenu » veut dire : toutes les valeurs dans la plage, "
             "sans tolérance pour le hasard des réplications."]
    weak = {v: c[f"coverage/{v}"] for c in crit.values() for v in ("linearisation", "bootstrap")
            if f"coverage/{v}" in c and not assessable(c[f"coverage/{v}"]["replications"], "coverage")}
    if weak:
        r = max(w["replications"] for w in weak.values())
        fewer = " ou moins" if len({w["replications"] for w in weak.values()}) > 1 else ""
        which = fmt.enumeration([WEAK_NAMES[v] for v in ("linearisation", "bootstrap") if v in weak])
        parts.append(
            f"Avec {fmt.number(r)} réplications{fewer}, la couverture d'une statistique n'est connue qu'à "
            f"± {fmt.number(band_half_width(r) * 100, 1)} points près, et son écart type empirique à "
            f"± {fmt.number(sd_half_width(r) * 100, 0)} % près : plus que la demi-largeur de la plage (1 point, 5 %). "
            f"Même si chaque couverture valait exactement 95 %, {_pct(expected_share_outside(r), 0)} d'entre elles "
            f"tomberaient hors de la plage. Pour {which}, les critères par statistique ne sont donc jugés que sur "
            "l'ensemble des statistiques ; les juger statistique par statistique demanderait au moins "
            f"{fmt.number(replications_needed('coverage'))} réplications "
            f"({fmt.number(replications_needed('se_ratio'))} pour l'écart type).")
    if any(c.get("size", {}).get("verdict") == "not_applicable" for c in crit.values()):
        parts.append("Dans la population finie fixée, les différences « nulles » ne le sont qu'à peu près : le taux de "
                     "rejet y mêle taille et puissance, d'où « sans objet ».")
    return " ".join(parts)
