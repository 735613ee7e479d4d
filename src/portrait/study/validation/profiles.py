"""Multiple-response profiles in the validation study: the size and power of the whole-profile test.

Every replication (:func:`portrait.study.validation.replicate`) tests, for each item of
:data:`PROFILE_ITEMS`, whether two groups choose its options alike, with
:func:`portrait.survey.multiple_response_test` (Bilder & Loughin 2004, Rao–Scott second-order
correction; raking weights, linearised variance with the calibration residuals):

- visitors against residents, two independent surveys (statistic ``profile``; each on its own design, the
  numbers of their stacked design up to rounding): the fieldwork model shifts the weights of several options for
  visitors, so the rejection rate is the test's power;
- in each survey, two halves of the sampled units split by a fair coin (``profile_halves``): both
  halves share one profile by construction, so the rejection rate is the test's size. The halves
  are domains of one design (respondents of a commune fall in both), which the test must and does
  account for.

The second-order χ² holds its size at the study's sample sizes (published run: 5.0 % of 4,000 tests per
target, ``BENCHMARKS.md``); with 95 to 135 respondents per half and 12 options, as in the tests' small
setup, it rejected about 7 % of the time in 200 replications (``benchmarks/validation_small_halves.py``): liberal in
small samples.

:func:`profile_summary` gives the rejection rates with their Monte Carlo (Wilson) intervals,
:func:`profile_table_fr` and :func:`profile_finding` the French table and sentence of report 08.

References
----------
Bilder, C. R. and Loughin, T. M. (2004). Testing for marginal independence between two categorical
variables with multiple responses. *Biometrics* 60, 241–248.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import survey
from ...reporting import formatting as fmt
from ...survey import Design
from .. import compare, fieldwork
from ..codebook import Codebook
from .setup import PROFILE, PROFILE_HALVES, PROFILE_ITEMS, PROFILE_STATISTICS, SURVEY_LABELS, TARGET_LABELS
from .monte_carlo import SIZE_BAND, band_half_width, expected_outside, wilson

COMPARISON_LABELS = {
    ("residents", PROFILE_HALVES): "Deux moitiés des habitants tirées au hasard (même profil)",
    ("visitors", PROFILE_HALVES): "Deux moitiés des clients tirées au hasard (même profil)",
    (compare.DIFFERENCE, PROFILE): "Clients et habitants (profils différents dans le modèle)",
}


def profile_tests(codebook: Codebook, final: Mapping[str, Design | Exception],
                  coins: Mapping[str, np.random.Generator]) -> pd.DataFrame:
    """The multiple-response tests of one replication, on the raking weights with linearised variance.

    For each item of :data:`PROFILE_ITEMS`: visitors against residents, two independent surveys (survey
    ``visitors - residents``, statistic ``profile``; :func:`portrait.survey.independent_indicator_test`,
    the numbers of their stacked design up to rounding) and, in each survey of ``final`` (its calibrated
    design, or the exception its weighting raised), two halves of its sampled units split by a fair coin
    from ``coins[survey]`` (statistic ``profile_halves``). ``estimate`` is ``X²_S``, ``df`` the
    second-order degrees of freedom ν, ``p`` the second-order p-value, ``n`` the respondents to the
    question; a survey whose weighting failed gives NaN rows carrying its error. Each survey's options are read
    once (:func:`portrait.survey.option_indicators`) for its halves and the comparison of the surveys, and its
    halves tested by :func:`portrait.survey.indicator_test`: the numbers of
    :func:`portrait.survey.multiple_response_test`.
    """
    return pd.DataFrame(_profile_rows(codebook, final, coins))


def profile_test_columns(codebook: Codebook, final: Mapping[str, Design | Exception],
                         coins: Mapping[str, np.random.Generator]) -> dict[str, np.ndarray]:
    """:func:`profile_tests`' columns by name, without its table (a replication hands them to its result rows): texts
    as arrays of Python objects, numbers as floats."""
    rows = _profile_rows(codebook, final, coins)
    return {k: np.array([r[k] for r in rows], dtype=object if isinstance(v, str) else float)
            for k, v in rows[0].items()}


def _profile_rows(codebook: Codebook, final: Mapping[str, Design | Exception],
                  coins: Mapping[str, np.random.Generator]) -> list[dict[str, Any]]:
    """:func:`profile_tests`' rows, each a mapping of its columns to its values."""
    options = {item: list(codebook.variable(item).columns) for item in PROFILE_ITEMS}
    halves: dict[str, np.ndarray] = {}
    read: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}    # (survey, item) → indicators, respondents
    for group, d in final.items():
        if isinstance(d, Design):    # the coin is tossed for every sampled unit, whatever the items
            halves[group] = coins[group].integers(1, 3, size=len(d.weights))
            for item, columns in options.items():     # the indicators, and who answered with a positive weight
                Y0, answered = survey.option_indicators(d.data, columns)
                read[group, item] = (Y0, answered & (d.weights > 0))
    failed = "; ".join(f"{g}: {str(e).splitlines()[0]}" for g, e in final.items() if not isinstance(e, Design))
    rows = []
    for item, columns in options.items():
        for name, statistic in [*((g, PROFILE_HALVES) for g in fieldwork.GROUPS), (compare.DIFFERENCE, PROFILE)]:
            row = {"survey": name, "item": item, "statistic": statistic, "level": "", "estimator": "raking",
                   "variance": "linearisation", "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}
            if (bool(failed) if statistic == PROFILE else not isinstance(final[name], Design)):
                rows.append({**row, "estimate": np.nan, "df": np.nan, "n": np.nan, "p": np.nan,
                             "adjusted": np.nan, "error": failed})
                continue
            if statistic == PROFILE_HALVES:
                Y0, kept = read[name, item]
                t = survey.indicator_test(final[name], Y0, kept & (halves[name] == 1), kept & (halves[name] == 2),
                                          options=columns, groups=("1", "2"))
            else:       # the surveys are independent: each its own design, as on their stack (survey.stack)
                t = survey.independent_indicator_test(
                    [final[g] for g in fieldwork.GROUPS], [read[g, item][0] for g in fieldwork.GROUPS],
                    *(read[g, item][1] for g in fieldwork.GROUPS), options=columns,
                    groups=fieldwork.GROUPS)
            rows.append({**row, "estimate": t.X2, "df": t.df_chisq, "n": float(t.n_a + t.n_b), "p": t.p_chisq,
                         "adjusted": 0.0, "error": ""})
    return rows


def profile_summary(results: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Rejection rates of the multiple-response tests, per target (when given), comparison and item.

    Columns: ``survey``, ``item``, ``statistic``, ``replications`` (tests with a p-value), ``failures``,
    ``rejection`` (share of p < ``alpha``) with its Wilson interval ``rejection_low``, ``rejection_high``,
    ``mean_df`` (mean ν) and ``planted`` (``profile``: the model's profiles differ, the rate is the power;
    ``profile_halves``: they do not, the rate is the size).
    """
    r = results.loc[results["statistic"].isin(PROFILE_STATISTICS)]
    keys = (["target"] if "target" in r.columns else []) + ["survey", "item", "statistic"]
    r = r.assign(_rej=(r["p"] < alpha).where(r["p"].notna()).astype(float))
    g = r.groupby(keys, sort=False)
    out = g.agg(replications=("_rej", "count"), rows=("_rej", "size"), rejected=("_rej", "sum"),
                mean_df=("df", "mean")).reset_index()
    out["failures"] = out.pop("rows") - out["replications"]
    out["rejection"] = out["rejected"] / out["replications"].where(out["replications"] > 0)
    out["rejection_low"], out["rejection_high"] = wilson(out["rejected"], out["replications"])
    out["planted"] = out["statistic"] == PROFILE
    return out.drop(columns="rejected")


def profile_acceptance(psumm: pd.DataFrame) -> dict[str, Any]:
    """Pooled size (every ``profile_halves`` test) with its Wilson interval, and the smallest power."""
    null, alt = psumm.loc[~psumm["planted"]], psumm.loc[psumm["planted"]]
    n = int(null["replications"].sum())
    k = float((null["rejection"] * null["replications"]).sum())
    low, high = wilson(k, n)
    return {"tests": n, "size": k / n if n else np.nan, "size_low": float(low), "size_high": float(high),
            "size_ok": bool(n and 0.04 <= k / n <= 0.06),
            "power_min": float(alt["rejection"].min()) if len(alt) else np.nan}


def profile_table_fr(psumm: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """French table: per target, comparison and question, the share of tests at 5 % that conclude."""
    t = psumm
    out = pd.DataFrame({
        **({"Cible": t["target"].map(TARGET_LABELS)} if "target" in t.columns and t["target"].nunique() > 1 else {}),
        "Comparaison": [COMPARISON_LABELS[(s, st)] for s, st in zip(t["survey"], t["statistic"])],
        "Question": [compare.short_label(cb.variable(i).label) for i in t["item"]],
        "Réplications": t["replications"].map(fmt.number),
        "Tests concluant à une différence, au seuil de 5 % (%)": fmt.round(t["rejection"] * 100, 1),
        "Intervalle Monte-Carlo (%)": [fmt.interval(lo, hi, 1, scale=100)
                                   for lo, hi in zip(t["rejection_low"], t["rejection_high"])],
        "Degrés de liberté (ν) moyens": t["mean_df"].map(lambda x: fmt.number(x, 1)),
    })
    return out.reset_index(drop=True)


def _off_groups(psumm: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The groups of tests between halves (``profile_halves`` rows with tests), those whose Monte Carlo interval
    excludes 5 %, and the probability that chance alone puts as many or more outside (each group's exact binomial
    probability, :func:`~portrait.study.validation.monte_carlo.expected_outside`, convolved: a Poisson-binomial)."""
    null = psumm.loc[~psumm["planted"] & (psumm["replications"] > 0)]
    off = null.loc[(null["rejection_low"] > 0.05) | (null["rejection_high"] < 0.05)]
    count = np.array([1.0])
    for n in null["replications"]:
        q = expected_outside(int(n), 0.95, 0.05)
        count = np.convolve(count, [1 - q, q])
    return null, off, float(count[len(off):].sum())


def _group_fr(row: Any, several_targets: bool = False) -> str:
    """« pour les faiblesses, entre deux moitiés des habitants » (and the target, when several are named)."""
    aim = f", avec pour cible la {TARGET_LABELS[row.target].lower()}" if several_targets else ""
    return f"pour les {row.item}, entre deux moitiés des {SURVEY_LABELS[row.survey].lower()}{aim}"


def _named_off(off: pd.DataFrame, several_targets: bool = False, subject: str = "il") -> str:
    """Each group of tests whose Monte Carlo interval excludes 5 %, named with its rate and interval (review: « ce qui
    est compatible » was read of every group, when one was at 17,5 %, its interval 8,7 % to 31,9 %)."""
    return fmt.enumeration([
        f"{_group_fr(r, several_targets)}, {subject} conclut à tort {fmt.percent(r.rejection)} du temps "
        f"({fmt.count(r.replications, 'test')}, intervalle Monte-Carlo de {fmt.percent(r.rejection_low)} à "
        f"{fmt.percent(r.rejection_high)}, qui exclut 5 %)" for r in off.itertuples()])


def profile_finding(psumm: pd.DataFrame) -> str:
    """One French sentence: the pooled size against 5 %, each group of tests between halves whose Monte Carlo
    interval excludes 5 % (named: the pooled rate's compatibility is not theirs), and the power."""
    a = profile_acceptance(psumm)
    if not a["tests"]:
        return "aucun test de profil"
    null, off, chance = _off_groups(psumm)
    several = len(off) > 0 and len(null) > 1
    verdict = ("compatible" if a["size_low"] <= 0.05 <= a["size_high"]
               else "nettement plus" if a["size_low"] > 0.05 else "nettement moins")
    size = (f"entre deux moitiés tirées au hasard, le test des profils conclut à tort {fmt.percent(a['size'])} "
            f"du temps ({'toutes enquêtes et questions ensemble, ' if several else ''}{fmt.count(a['tests'], 'test')}, "
            f"intervalle Monte-Carlo de {fmt.percent(a['size_low'])} à {fmt.percent(a['size_high'])} ; 5 % attendus, "
            + ("ce qui est compatible" if verdict == "compatible" and not several else
               "ce total est compatible avec 5 %" if verdict == "compatible" else verdict) + ")")
    if several:
        size += (f" ; {'mais ' if verdict == 'compatible' else ''}{_named_off(off)} ; "
                 f"pris un par un, {len(off)} des {len(null)} groupes de tests entre moitiés (par enquête et "
                 "question" + (" et cible" if "target" in null.columns and null["target"].nunique() > 1 else "")
                 + (") a" if len(off) == 1 else ") ont") + " un intervalle Monte-Carlo qui exclut 5 %, quand le hasard "
                 "seul en ferait sortir " + fmt.number(sum(expected_outside(int(n), 0.95, 0.05)
                                                           for n in null["replications"]), 1)
                 + (" : plus que le hasard n'en ferait sortir (probabilité sous 5 %), à vérifier sur la version publiée"
                    if chance < 0.05 else f" : un tel nombre arrive par hasard {fmt.percent(chance, 0)} du temps"))
    alt = psumm.loc[psumm["planted"] & (psumm["replications"] > 0)]
    if len(alt):
        powers = alt.groupby("item", sort=False)["rejection"].first()
        size += (" ; le test détecte la différence de profil entre habitants et clients "
                 + ("à chaque réplication" if (powers == 1).all() else
                    fmt.enumeration([f"{fmt.percent(p)} du temps pour les {item}" for item, p in powers.items()])))
    return size


#: The tests' small setup, where the split-half test is liberal: the fewest and most respondents per half (visitors,
#: residents; means over the replications), and the share of its 5 % tests that rejected in that many replications,
#: both items and surveys (59 of 800 tests, Wilson 95 %: 5.8–9.4 %). Measured by ``benchmarks/validation_small_halves.py``
#: (seed 2017); ``BENCHMARKS.md`` quotes its output.
SMALL_HALVES = {"respondents": (95, 135), "replications": 200, "rejection": 0.074}


def _outside_fr(psumm: pd.DataFrame, several: bool, groups: str) -> str:
    """``groups``: « 8 groupes de tests … » or « le seul groupe … ». « 1 des 8 groupes … a ainsi un intervalle Monte-Carlo qui exclut 5 %, un nombre que le hasard seul atteint ou
    dépasse 33 % du temps », counted within each target when there are several, as the conclusion judges each target
    alone (a review read 33 % here, over both targets' 8 groups, and 18 % in the conclusion, over one target's 4)."""
    parts = []
    for target, part in (psumm.groupby("target", sort=False) if several else [(None, psumm)]):
        null, off, chance = _off_groups(part)
        if off.empty:
            continue
        parts.append((f"avec pour cible la {TARGET_LABELS[target].lower()}, " if several else "")
                     + (f"{len(off)} des {fmt.count(len(null), 'groupe')} de tests entre moitiés" if several
                        else groups if groups.startswith("le seul") else f"{len(off)} des {groups}")
                     + (" a" if len(off) == 1 else " ont") + " ainsi un intervalle Monte-Carlo qui exclut 5 %"
                     + (", plus que le hasard seul n'en ferait sortir (probabilité sous 5 %)" if chance < 0.05 else
                        f", un nombre que le hasard seul atteint ou dépasse {fmt.percent(chance, 0)} du temps"))
    return " ; ".join(parts)


def profile_halves_fr(psumm: pd.DataFrame, results: pd.DataFrame) -> str:
    """What the split-half tests of this run say about the test's size at its sample sizes, in French: the test's
    liberality in the tests' small setup (:data:`SMALL_HALVES`), the mean number of respondents per half in each
    survey (``results``' ``n``, both halves, of the ``profile_halves`` rows) against it, then either no group of tests
    whose Monte Carlo interval excludes 5 %, or each such group named (review: « Ici les moitiés sont bien plus
    grandes » implied a test that holds its size, beside a table where one group rejected 17,5 % of the time, its
    interval excluding 5 %; and the reduced run's halves are not larger)."""
    small = SMALL_HALVES
    fewest, most = small["respondents"]
    text = (f"Le test est un peu libéral sur de petits échantillons : avec {fewest} à {most} répondants "
            f"par moitié ({fmt.number(small['replications'])} réplications, dans les tests du projet), il conclut à tort "
            f"environ {fmt.percent(small['rejection'], 0)} du temps au lieu de 5 %.")
    halves = results.loc[(results["statistic"] == PROFILE_HALVES) & results["n"].notna()]
    null, off, chance = _off_groups(psumm)
    if halves.empty or null.empty:
        return text
    per_half = halves.groupby("survey", sort=False)["n"].mean() / 2
    larger = [SURVEY_LABELS[s].lower() for s, n in per_half.items() if n > most]
    sizes = fmt.enumeration([f"{fmt.number(round(n, -1 if n >= 100 else 0))}{' répondants à la question' if i == 0 else ''}"
                             f" chez les {SURVEY_LABELS[s].lower()}" for i, (s, n) in enumerate(per_half.items())])
    text += (f" Ici, une moitié compte en moyenne environ {sizes} : "
             + ("plus que dans ces tests" if len(larger) == len(per_half) else "pas plus que dans ces tests"
                if not larger else f"plus que dans ces tests chez les {fmt.enumeration(larger)} seulement") + ". ")
    groups = f"{fmt.count(len(null), 'groupe')} de tests entre moitiés (tableau ci-dessous)"
    one = "le seul groupe de tests entre moitiés (tableau ci-dessous)"       # not « aucun des 1 groupe » (a review)
    if off.empty:
        subject = f"{one} n'a pas" if len(null) == 1 else f"aucun des {groups} n'a"
        text += (f"Dans cette exécution, {subject} d'intervalle Monte-Carlo qui exclut 5 % : rien n'y contredit un test "
                 "qui tient sa taille à ces effectifs")
    else:
        several = "target" in off.columns and psumm["target"].nunique() > 1
        text += (("Ces moitiés plus grandes ne garantissent pourtant pas un test exact : " if len(larger) == len(per_half)
                  else "Dans cette exécution, ")
                 + f"{_named_off(off, several, 'le test')} ; "
                 + _outside_fr(psumm, several, one if len(null) == 1 else groups))
    r = int(null["replications"].max())
    if band_half_width(r, 0.05) > SIZE_BAND[1] - 0.05:      # a rate of 5 % known to more than the band's ± 1 point
        text += (f" ; avec {fmt.count(r, 'test')} par groupe, une part de 5 % n'y est connue qu'à "
                 f"± {fmt.number(100 * band_half_width(r, 0.05), 1)} points près")
    return text + "."
