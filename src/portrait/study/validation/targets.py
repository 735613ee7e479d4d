"""The two targets of the validation study side by side, and the variance estimator each calls for.

**Super-population target** (the model's expectation): the estimator's error combines the drawing of the
population by the model, the sample and the response. The with-replacement (ultimate-cluster) variance
estimator of the chain, without first-stage finite population correction, estimates the variance
around it without bias to first order: the model variance of the finite population values compensates
the fpc the estimator omits (Särndal, Swensson and Wretman 1992, §14.4).

**Finite-population target** (one fixed population): the population is fixed, and the variance is the
two-phase variance ``V = V_SAM + V_NR`` of Särndal and Lundström (2005, ch. 11): the sampling phase
with its finite population corrections (first stage ``1 − f₁ₕ`` on the communes; visitors' strata
``1 − nₕ/Nₕ``) plus the response phase (response given the sample, modelled as Poisson sampling with
the unit's propensity). The chain's with-replacement approximation omits the first-stage fpc: it is
conservative, and overstates the sampling-phase variance by at most the first-stage sampling fraction
``f₁`` (all variance between communes). Under the simulator, communes of a stratum differ only by chance
(no commune effect), so the between-commune part of the variance of a commune's respondents' total is
about ``take × φ / N̄ₕ`` of the within part (``φ`` the response rate, ``N̄ₕ`` the mean 15+ population of
the stratum's communes) and the expected overstatement is ``Σₕ Wₕ f₁ₕ · take φ / N̄ₕ``, about 0.02 % of the
residents' variance (:func:`sampling_fractions`). For the visitors (stratified SRSWOR, then response), the whole
two-phase variance is close to ``S²(1/m − 1/N)`` with ``m`` the respondents: the estimator without fpc, ``S²/m``, overstates it by
``m/N ÷ (1 − m/N)``.

:func:`sampling_fractions` computes these sizes from the designs; :func:`targets_table_fr` and
:func:`targets_text_fr` give the report's side-by-side table and its French explanation.

References
----------
Särndal, C.-E. and Lundström, S. (2005). *Estimation in Surveys with Nonresponse*. Wiley. (ch. 11:
variance of the calibration estimator under nonresponse, V_SAM + V_NR)
Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
(§4.6 with-replacement variance estimation of two-stage designs; §14.4 super-population variance)
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer. (§2.4.5: the
with-replacement approximation is conservative for without-replacement first stages)
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ...pipeline import config, io, manifest, paths, skip_iri_grammar
from ...pipeline import run as runner
from ...pipeline.errors import ParameterError, PortraitError, SurveyError
from ...reporting import formatting as fmt
from .. import frames
from . import published
from .coverage import _band_pct
from .monte_carlo import COVERAGE_BAND, band_half_width, in_question
from .setup import (CALIBRATED, DIFFERENCE_NAME, ESTIMATOR_LABELS, SURVEY_LABELS, SURVEYS, TARGET_LABELS,
                    TARGETS, TWO_STAGE, FINITE_COLUMNS, Validation, finite_population_truth, target_rows)


def sampling_fractions(setup: Validation) -> dict[str, float]:
    """Sampling fractions of both designs and the expected overstatement of the variance without fpc.

    The resident strata come from one draw of the design (their allocation does not depend on the
    draw). Response rates ``φ`` are the model's (target rate among delivered units in scope).

    Returns
    -------
    dict
        ``f1`` (first-stage fraction of the communes not taken with certainty, weighted by the
        strata's 15+ population), ``f1_max``, ``certainty_share`` (share of the 15+ population in
        self-representing communes), ``residents_invited`` and ``residents_respondents`` (fractions
        of persons), ``residents_overstatement`` (expected relative overstatement of the variance
        without fpc, see the module docstring); ``visitors_invited``, ``visitors_respondents``,
        ``visitors_overstatement``.
    """
    rng = config.rng(setup.seed, "validation/sampling-fractions")
    sample = frames.draw_resident_sample(setup.resident_frame, setup.resident_design, rng, plan=setup.resident_plan)
    c = sample.communes
    fw, prop = setup.model.params["fieldwork"], setup.model.params["propensity"]
    phi = {g: (1 - fw[g]["out_of_scope"]) * (1 - fw[g]["undeliverable"]) * float(prop[g]["target_rate"])
           for g in ("residents", "visitors")}
    rest = c.loc[~c["certainty"]]
    by = rest.groupby("stratum").agg(k=("pi", "sum"), communes=("pi", "size"), pop15=("pop15", "sum"),
                                     mean_pop=("pop15", "mean"), take=("take", "median"))
    by["f1"] = by["k"] / by["communes"]
    w = by["pop15"] / by["pop15"].sum()
    between = by["take"] * phi["residents"] / by["mean_pop"]
    n_pop = float(c["pop15"].sum())
    invited_r = float(sample.slots.shape[0]) / n_pop
    n_v = float(setup.visitor_strata["N_h"].sum())
    invited_v = float(setup.visitor_strata["n_h"].sum()) / n_v
    resp_v = invited_v * phi["visitors"]
    return {"f1": float((w * by["f1"]).sum()), "f1_max": float(by["f1"].max()),
            "certainty_share": float(c.loc[c["certainty"], "pop15"].sum() / n_pop),
            "residents_invited": invited_r, "residents_respondents": invited_r * phi["residents"],
            "residents_overstatement": float((w * by["f1"] * between / (1 + between)).sum()
                                             * (1 - c.loc[c["certainty"], "pop15"].sum() / n_pop)),
            "visitors_invited": invited_v, "visitors_respondents": resp_v,
            "visitors_overstatement": resp_v / (1 - resp_v)}


def targets_table_fr(summaries: Mapping[str, pd.DataFrame], variance: str = "linearisation") -> pd.DataFrame:
    """Coverage, SE / SD and |bias| / SD of the calibrated estimators, pooled over the key statistics,
    for each target side by side (French headers). The bias is the estimator's, whatever the variance: it is
    given with the linearisation only, over every replication (a ``bootstrap`` table has none).

    ``summaries`` maps each target (:data:`TARGETS`) to its :func:`portrait.study.validation.summary`.
    """
    unknown = sorted(set(summaries) - set(TARGETS))
    if unknown:
        raise ParameterError(f"parameter 'summaries' has unknown target(s) {unknown}; targets are {list(TARGETS)}")
    parts = []
    for target, summ in summaries.items():
        s = summ.loc[summ["estimator"].isin(CALIBRATED) & (summ["variance"] == variance)]
        s = s.assign(_cov=s["coverage"] * s["replications"], _abs=s["bias_sd"].abs())
        g = s.groupby(["survey", "estimator"], sort=False).agg(
            covered=("_cov", "sum"), intervals=("replications", "sum"), se_ratio=("se_ratio", "mean"),
            max_bias=("_abs", "max"), replications=("replications", "max")).reset_index()
        g["coverage"] = g["covered"] / g["intervals"]
        parts.append(g.assign(target=target))
    t = pd.concat(parts, ignore_index=True)
    t["_s"] = t["survey"].map({s: i for i, s in enumerate(SURVEYS)})
    t["_e"] = t["estimator"].map({e: i for i, e in enumerate(CALIBRATED)})
    t = t.sort_values(["_s", "_e"], kind="stable")
    wide = t.pivot_table(index=["survey", "estimator"], columns="target",
                         values=["coverage", "se_ratio", "max_bias"], sort=False, dropna=False)
    out = pd.DataFrame(index=wide.index)
    for target in [x for x in TARGETS if x in summaries]:
        label = TARGET_LABELS[target]
        out[(label, "couverture (%)")] = fmt.round(wide[("coverage", target)] * 100, 1)
        out[(label, "erreur type moyenne / écart type")] = fmt.round(wide[("se_ratio", target)], 3)
        if variance == "linearisation":
            out[(label, "pire biais, en valeur absolue (écarts types)")] = fmt.round(wide[("max_bias", target)], 2)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index = pd.MultiIndex.from_tuples([(SURVEY_LABELS[s], ESTIMATOR_LABELS[e]) for s, e in out.index],
                                          names=["Enquête ou différence", "Estimateur"])
    return out


def in_question_by_target_fr(summaries: Mapping[str, pd.DataFrame], labels: Mapping, estimator: str = "raking",
                             variance: str = "linearisation") -> str:
    """« « Image globale (0 à 10) : moyenne », différence clients − habitants (93,98 %) avec pour cible la … ; aucune
    avec pour cible la … »: per target, the statistics of ``estimator`` and ``variance`` that
    :func:`~portrait.study.validation.monte_carlo.in_question` puts in question, with their coverage (the red points of
    :func:`portrait.reporting.validation_plots.coverage_by_statistic`)."""
    parts = []
    for target in [t for t in TARGETS if t in summaries]:
        s = summaries[target]
        s = s.loc[(s["estimator"] == estimator) & (s["variance"] == variance)]
        flagged = s.loc[in_question(s)]
        named = [f"« {labels.get((r.item, r.statistic, r.level), r.item)} », {SURVEY_LABELS[r.survey].lower()} "
                 f"({_band_pct(r.coverage, COVERAGE_BAND)})" for r in flagged.itertuples()]
        parts.append((fmt.enumeration(named) if named else "aucune")
                     + f" avec pour cible la {TARGET_LABELS[target].lower()}")
    return " ; ".join(parts)


#: The parts of report 08 built from every target's results, in the report's order; every other table and figure
#: shows the first target's only. ``tests/test_validation_text.py`` checks each part against the notebook cell that
#: draws it (review: Figure 2, drawn for both targets, was missing from the introduction's hand-written list).
EVERY_TARGET = ("le tableau des valeurs vraies", "la section « Deux cibles »",
                "la seconde figure de couverture (calage par raking ratio, statistique par statistique)",
                "le tableau des questions à réponses multiples", "le tableau des critères d'acceptation")


def scope_fr(targets: Sequence[str], bootstrap: bool = True) -> str:
    """The introduction's sentence on what report 08 shows of each of ``targets`` (the run's, the first one's in
    every part but :data:`EVERY_TARGET`), and for which the bootstrap variance is computed (``bootstrap``)."""
    first = TARGET_LABELS[targets[0]].lower()
    if len(targets) == 1:
        return (f"Les tableaux et figures qui suivent portent sur la {first}, seule cible de cette exécution"
                + (" ; la variance bootstrap est calculée sur les premières réplications." if bootstrap else "."))
    n = {2: "deux"}.get(len(targets), fmt.number(len(targets)))
    return (f"Les tableaux et figures qui suivent portent sur la {first}, sauf {fmt.enumeration(list(EVERY_TARGET))}, "
            f"qui donnent les {n} cibles, et la conclusion, qui les juge toutes {n}"
            + (f" ; la variance bootstrap est calculée pour les {n} cibles, sur les premières réplications de chacune."
               if bootstrap else "."))


def targets_text_fr(fractions: Mapping[str, float]) -> str:
    """The French paragraph stating the variance estimator each target calls for, with the actual sizes."""
    f = fractions

    def pct(x: float, d: int = 1) -> str:
        return fmt.percent(x, d)

    x = f["residents_overstatement"]       # « environ 0,00 % » says nothing: a positive share below the last digit
    overstatement = (f"est inférieure à {pct(1e-4, 2)}" if x < 0.5e-4 else f"n'est que d'environ {pct(x, 2)}")

    return (
        "**Deux cibles, deux variances.** L'estimateur de variance de la chaîne traite les communes comme tirées "
        "avec remise, sans correction de population finie au premier degré. Ce qu'il vaut dépend de la cible :\n\n"
        "- *Super-population* : la valeur vraie est l'espérance du modèle ; l'erreur d'une estimation cumule le "
        "tirage de la population par le modèle, celui de l'échantillon et la non-réponse. En théorie, l'estimateur "
        "de la chaîne l'estime presque sans biais : la variance du modèle compense la correction omise (ce que "
        "l'étude mesure est dans la conclusion).\n"
        "- *Population finie* : la population est tirée une fois pour toutes (chaque personne garde son profil "
        "et ses réponses d'une réplication à l'autre). La théorie demande la variance à deux phases de Särndal "
        "et Lundström (2005, chap. 11) : la phase d'échantillonnage, avec sa correction de population finie au "
        "premier degré (1 − f₁, où f₁ est la part des communes de la strate qui sont tirées) et celle des strates "
        "de clients (1 − n/N, n invités parmi N clients), plus la phase de réponse. "
        "En omettant la correction du premier degré, la chaîne surestime cette variance, en théorie : de façon "
        "négligeable pour les habitants, davantage pour les clients (chiffres ci-dessous).\n"
        "- *De combien, pour les habitants ?* Hors communes retenues d'office, les communes tirées sont "
        f"{pct(f['f1'])} des communes de leur strate (moyenne pondérée par la population ; jusqu'à "
        f"{pct(f['f1_max'])}). C'est le plafond de la surestimation, atteint si toute la variance était entre "
        "communes. Dans le simulateur, les communes d'une strate ne diffèrent que par le hasard ; la surestimation "
        f"attendue {overstatement} de la variance. Deux raisons : "
        f"{pct(f['residents_invited'], 2)} seulement des habitants de 15 ans ou plus sont invités, et "
        f"{pct(f['certainty_share'])} de la population vit dans des communes retenues d'office, dont la variance "
        "utilise déjà la fraction de sondage des personnes.\n"
        f"- *Et pour les clients ?* {pct(f['visitors_invited'])} des personnes du fichier sont invitées ; au taux de "
        f"réponse attendu du modèle de terrain, environ {pct(f['visitors_respondents'])} du fichier répond (un peu "
        "plus ou un peu moins selon le tirage). Sans correction, la variance est surestimée d'environ "
        f"{pct(f['visitors_overstatement'])}, l'erreur type d'environ "
        f"{pct(np.sqrt(1 + f['visitors_overstatement']) - 1)} : assez pour qu'une étude de "
        f"{fmt.number(published.REPLICATIONS)} réplications le voie (tableau ci-dessous, population finie).")


def precision_note_fr(replications: int) -> str:
    """A run shorter than the published one says how imprecise its coverages are: the Monte Carlo half-width of one
    statistic's 95 % coverage, ``1.96 √(0.95 × 0.05 / R)``; "" for a run of the published size or more."""
    if replications >= published.REPLICATIONS:
        return ""

    def half(r: int) -> str:
        return fmt.number(100 * band_half_width(r), 1)

    return (f"*Version courte : {fmt.count(replications, 'réplication')} par cible. La couverture d'une statistique y a "
            f"une erreur Monte-Carlo d'environ ± {half(replications)} points (± {half(published.REPLICATIONS)} dans la "
            f"version publiée, à {fmt.number(published.REPLICATIONS)} réplications) : les écarts de quelques points "
            "entre lignes ou entre cibles ne disent rien ici.*")


def _with_quantile(lo: np.ndarray, est: np.ndarray, hi: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An interval ``[lo, hi]`` around ``est`` with its half-width multiplied by ``factor`` on the scale it was built on:
    symmetric (``est ± q·se``), or symmetric on the logit scale (a proportion's ``interval="logit"``)."""
    symmetric = np.abs((lo + hi) / 2 - est) <= 1e-9 * (1 + np.abs(est))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        centre, half = np.log(est / (1 - est)), (np.log(hi / (1 - hi)) - np.log(lo / (1 - lo))) / 2
        l_lo, l_hi = 1 / (1 + np.exp(-(centre - half * factor))), 1 / (1 + np.exp(-(centre + half * factor)))
    return (np.where(symmetric, est - (est - lo) * factor, l_lo), np.where(symmetric, est + (hi - est) * factor, l_hi))


def two_stage_pairs(results: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """The residents' two-stage intervals (:data:`TWO_STAGE`) against the chain's linearised ones, replication by
    replication, for the calibrated estimators of the residents and of the differences (one target's results).

    ``pairs`` compared; ``only_two_stage`` and ``only_chain``, the intervals covering the truth with one calculation
    alone; ``mean_ratio``, the ratio of the mean two-stage SE to the mean chain SE; ``df_two_stage`` and ``df_chain``,
    the residents' mean degrees of freedom, ``quantile_two_stage`` and ``quantile_chain`` their mean Student
    quantiles; ``gap``, the two-stage coverage minus the chain's, and ``same_quantile_gap``, the same with the
    two-stage intervals rebuilt on the chain's quantile (:func:`_with_quantile`). Trial Z: the report gave the net
    count of covering intervals (141) for ~480 that change verdict; trials AA and AB: the gap is neither a larger SE
    (the means are equal) nor a steadier one, but the two-stage design's fewer degrees of freedom (its first-stage
    units are the communes, not also the persons of the certainty communes).
    """
    from scipy import stats

    from .monte_carlo import _against_truth

    r = results.loc[results["estimator"].isin(CALIBRATED) & results["survey"].isin(("residents", DIFFERENCE_NAME))
                    & results["variance"].isin(("linearisation", TWO_STAGE))]
    r = _against_truth(r, truth)
    key = ["replication", "survey", "item", "statistic", "level", "estimator"]
    wide = r.pivot_table(index=key, columns="variance",
                         values=["_cov", "se", "df", "estimate", "ci_low", "ci_high", "truth"]).dropna()
    if wide.empty or TWO_STAGE not in wide["se"].columns:
        return {"pairs": 0}
    two, chain = wide[("_cov", TWO_STAGE)], wide[("_cov", "linearisation")]
    se, df = wide["se"], wide["df"]
    q = {v: stats.t.ppf(0.975, df[v].to_numpy()) for v in (TWO_STAGE, "linearisation")}
    lo, hi = _with_quantile(wide[("ci_low", TWO_STAGE)].to_numpy(), wide[("estimate", TWO_STAGE)].to_numpy(),
                            wide[("ci_high", TWO_STAGE)].to_numpy(), q["linearisation"] / q[TWO_STAGE])
    t = wide[("truth", TWO_STAGE)].to_numpy()
    residents = df.index.get_level_values("survey") == "residents"
    return {"pairs": len(wide), "only_two_stage": int(((two == 1) & (chain == 0)).sum()),
            "only_chain": int(((chain == 1) & (two == 0)).sum()),
            "mean_ratio": float(se[TWO_STAGE].mean() / se["linearisation"].mean()),
            "df_two_stage": float(df.loc[residents, TWO_STAGE].mean()),
            "df_chain": float(df.loc[residents, "linearisation"].mean()),
            "quantile_two_stage": float(q[TWO_STAGE][residents].mean()),
            "quantile_chain": float(q["linearisation"][residents].mean()),
            "gap": float(two.mean() - chain.mean()),
            "same_quantile_gap": float(((lo <= t) & (t <= hi)).mean() - chain.mean())}


def two_stage_finding_fr(summaries: Mapping[str, pd.DataFrame], overstatement: float | None = None,
                         runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> str:
    """What the residents' two-stage variance (:data:`TWO_STAGE`) changes, target by target, in French: the pooled
    coverage and mean SE / SD of the residents' calibrated estimators and of the differences, with the two-stage
    variance and with the chain's on the same rows; with ``runs`` (by target, its ``(results, truth)``), the
    intervals whose verdict changes, the mean SEs' ratio, how much the SEs differ replication by replication and how
    much each varies (:func:`two_stage_pairs`), set against ``overstatement`` (:func:`sampling_fractions`'
    ``residents_overstatement``), the gap the omitted fpc alone would make. "" when no summary holds two-stage
    rows."""
    parts, close, explained, gaps = [], True, [], []
    for target, summ in summaries.items():
        s = summ.loc[summ["estimator"].isin(CALIBRATED) & summ["survey"].isin(("residents", DIFFERENCE_NAME))
                     & (summ["replications"] > 0)]
        if not (s["variance"] == TWO_STAGE).any():
            continue
        g = s.assign(_cov=s["coverage"] * s["replications"]).groupby("variance")
        cover, ratio = g["_cov"].sum() / g["replications"].sum(), g["se_ratio"].mean()
        d = 2 if s["replications"].max() >= 1000 else 1
        text = (f"*{TARGET_LABELS[target].lower()}* : couverture de {fmt.percent(cover[TWO_STAGE], d)} avec la "
                f"linéarisation à deux degrés, contre {fmt.percent(cover['linearisation'], d)} avec celle de la chaîne "
                "(erreur type moyenne / écart type " + (
                    f"{fmt.number(ratio[TWO_STAGE], 3)} dans les deux cas)"
                    if fmt.number(ratio[TWO_STAGE], 3) == fmt.number(ratio["linearisation"], 3) else
                    f"{fmt.number(ratio[TWO_STAGE], 3)} et {fmt.number(ratio['linearisation'], 3)})"))
        gaps.append(abs(cover[TWO_STAGE] - cover["linearisation"]))
        if runs and target in runs:
            p = two_stage_pairs(*runs[target])
            if p["pairs"]:
                changed, two = p["only_two_stage"] + p["only_chain"], p["only_two_stage"]
                explained.append(abs(p["same_quantile_gap"]) < abs(p["gap"]) / 2)
                text += (f" ; {fmt.number(changed)} des {fmt.number(p['pairs'])} intervalles "
                         f"{'changent' if changed > 1 else 'change'} de verdict d'un calcul à l'autre : "
                         f"{fmt.number(two)} {'contiennent' if two > 1 else 'contient'} la valeur vraie avec la seule "
                         f"linéarisation à deux degrés, {fmt.number(p['only_chain'])} avec la seule linéarisation de la "
                         f"chaîne ; erreur type moyenne à deux degrés / de la chaîne {fmt.number(p['mean_ratio'], 4)} ; "
                         "degrés de liberté des habitants, en moyenne sur les réplications (chaque échantillon tiré "
                         "a les siens ; le rapport 06 donne ceux de l'échantillon de l'étude) : "
                         f"{fmt.number(p['df_two_stage'])} à deux degrés, "
                         f"{fmt.number(p['df_chain'])} pour la chaîne (quantile de Student "
                         f"{fmt.number(p['quantile_two_stage'], 3)} contre {fmt.number(p['quantile_chain'], 3)}) ; "
                         "à quantile égal (celui de la chaîne), l'écart de couverture serait de "
                         f"{fmt.signed(100 * p['same_quantile_gap'], 2)} point")
        parts.append(text)
        close &= bool(abs(cover[TWO_STAGE] - cover["linearisation"]) < 0.01
                      and abs(ratio[TWO_STAGE] - ratio["linearisation"]) < 0.02)
    if not parts:
        return ""
    text = ("**La linéarisation à deux degrés.** Pour les habitants, la chaîne a aussi calculé dans chaque réplication "
            "l'erreur type du plan à deux degrés, qui tient compte du tirage des communes sans remise (approximation "
            "de Brewer, puis tirage au sort des personnes dans chaque commune, comme le paquet survey de R ; rapport "
            "04) : une approximation usuelle de la variance à deux phases dont il est question ci-dessus, qui en "
            "retient la correction de population finie des communes. Mêmes poids, mêmes estimations. Estimateurs "
            "calés, habitants et différences clients − habitants ensemble (les clients gardent leur variance "
            "linéarisée).\n\n" + "".join(f"- {p}.\n" for p in parts))
    if not close:
        return text + ("\nLes deux calculs diffèrent de plus d'un point de couverture, ou de plus de 0,02 dans le "
                       "rapport de l'erreur type à l'écart type : bien plus que ne l'explique la correction omise ; "
                       "c'est à examiner.")
    text += "\n"
    if overstatement is not None:
        text += (f"La seule correction omise rendrait l'erreur type à deux degrés plus petite d'environ "
                 f"{fmt.percent(1 - np.sqrt(1 - overstatement), 2)} en moyenne (la variance, de "
                 f"{fmt.percent(overstatement, 2)}) : trop peu pour se voir. ")
    if explained and all(explained):
        text += ("Les erreurs types sont donc égales en moyenne ; l'écart de couverture vient des degrés de liberté. La "
                 "linéarisation à deux degrés a pour unités du premier degré les communes, celle de la chaîne aussi les "
                 "personnes des communes retenues d'office : moins de degrés de liberté, un quantile de Student plus "
                 "grand, des intervalles un peu plus larges ; avec le même quantile, les deux couvrent autant. ")
    return text + (f"Les deux calculs diffèrent d'au plus {fmt.number(100 * max(gaps), 2)} point de couverture : sans "
                   "conséquence pour la lecture des intervalles.")


def run_record(parameters: Mapping[str, object], files: Sequence[str]) -> dict:
    """What a validation run's replications depend on besides their counts: the ``parameters`` that shape them (seed,
    designs, bounds, bootstrap replicates) and the SHA-256 of each input file (frames, weighted files and their
    recipes, settings, finite population). Stored with the replications (``DataFrame.attrs["run"]``, kept in the
    Parquet file) so that :func:`stored_results` can refuse replications made from other inputs."""
    return {"parameters": {k: parameters[k] for k in sorted(parameters)},
            "inputs": {paths.relative(paths.resolve(f)): io.sha256(f) for f in files}}


def _record_differences(stored: Mapping, record: Mapping) -> list[str]:
    """Readers' list of what differs between the run the file holds and the one the parameters describe."""
    out = [f"parameter {k!r}: {stored['parameters'].get(k)!r} in the run, {v!r} now"
           for k, v in record["parameters"].items() if stored["parameters"].get(k) != v]
    out += [f"{f} changed since the run" if f in stored["inputs"] else f"{f} was not an input of the run"
            for f, digest in record["inputs"].items() if stored["inputs"].get(f) != digest]
    return out


def stored_results(path: str, targets: Sequence[str], replications: int, bootstrap_replications: int,
                   record: Mapping | None = None) -> pd.DataFrame:
    """The replications an earlier run wrote to ``path`` (``make validate``'s: ``validation_published.parquet``), for
    re-rendering its report without running them again (``make validate-report``, notebook 08's ``reuse_results``).

    The file must hold exactly the run the parameters describe: every target of ``targets``, and none other, with
    ``replications`` replications each, of which the first ``min(bootstrap_replications, replications)`` have
    bootstrap variances; and, given ``record`` (:func:`run_record`), the same parameters and input files, byte for
    byte: replications of a chain since re-run with other weights would report on weights no longer published.

    Raises
    ------
    ParameterError
        If the file is missing or holds another run, naming the file, the target and what differs.
    """
    file = paths.resolve(path)
    again = "run that validation first (`make validate` for the published one; `make` runs the short one)"
    if not file.exists():
        raise ParameterError(f"{paths.relative(file)}: no stored replications to report on; run them first "
                             "(`make validate` for the published run)")
    results = pd.read_parquet(file)
    boot = min(bootstrap_replications, replications)
    found = sorted(results["target"].unique())
    if found != sorted(targets):
        raise ParameterError(f"{paths.relative(file)} holds the target(s) {found}, the parameters ask for "
                             f"{sorted(targets)}: {again}")
    for target in targets:
        r = target_rows(results, target)
        held = (r["replication"].nunique(), r.loc[r["variance"] == "bootstrap", "replication"].nunique())
        if held != (replications, boot):
            raise ParameterError(
                f"{paths.relative(file)} holds {held[0]} replications of target {target!r}, {held[1]} of them with "
                f"bootstrap variances; the parameters ask for {replications} and {boot}: {again}")
    if record is not None:
        stored = results.attrs.get("run")
        if not isinstance(stored, Mapping) or not {"parameters", "inputs"} <= set(stored):
            raise ParameterError(f"{paths.relative(file)} does not record the parameters and input files of its run "
                                 f"(written before they were recorded): {again}")
        differs = _record_differences(stored, record)
        if differs:
            raise ParameterError(f"{paths.relative(file)} holds a run made with other inputs: "
                                 + "; ".join(differs) + f". {again}")
    return results


def summaries(results: pd.DataFrame, setups: Mapping[str, Validation]) -> dict[str, pd.DataFrame]:
    """:func:`portrait.study.validation.summary` of each target's results against that target's truth."""
    missing = sorted(set(results["target"].unique()) - set(setups))
    if missing:
        raise ParameterError(f"the results hold target(s) {missing} with no setup in parameter 'setups'")
    from .monte_carlo import summary

    return {t: summary(rows, s.truth) for t, s in setups.items() if len(rows := target_rows(results, t))}


def main(argv: list[str] | None = None) -> int:
    """``python -m portrait.study.validation.targets OUT``: write the finite population's truth for notebook 08.

    The inputs are notebook 08's own parameters, resolved as the runner resolves them (seed, population
    year, frames; codebook and model from its ``fieldwork_settings``): what fixes the population,
    nothing of the designs or the weighting, so `make` re-runs it only when one of those changes.
    """
    parser = argparse.ArgumentParser(
        prog="python -m portrait.study.validation.targets",
        description="Write the exact key statistics of the validation's fixed finite population (read by "
                    "notebooks/08_validation.ipynb).",
        epilog="`make` runs it (data/processed/finite_truth.parquet) after the frames of notebooks 01-02, with "
               "notebook 08's parameters (config/study.yaml, config/08_validation.yaml): seed, population year, "
               "frames, codebook and simulator model. About 10 s on 2 cores. Run `make` first: it writes the frames.")
    parser.add_argument("out", help="Parquet file to write, e.g. data/processed/finite_truth.parquet")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes streaming the residents (default: 2; the result does not depend on it)")
    args = parser.parse_args(argv)
    skip_iri_grammar()               # nbformat is imported to read the notebook's parameters
    try:
        notebook = paths.NOTEBOOKS / "08_validation.ipynb"
        p = runner.effective_parameters(notebook, runner.resolve_parameters(notebook))
        if "finite" not in (p.get("targets") or []):
            return _not_needed(args.out, p.get("targets"))
        fw = config.read_yaml(p["fieldwork_settings"])
        table = finite_population_truth(seed=p.get("seed"), codebook_file=fw["codebook_file"],
                                        model_file=fw["model_file"], resident_frame=p["resident_frame"],
                                        visitor_frame=p["visitor_frame"], population_year=p["population_year"],
                                        workers=args.workers)
    except (PortraitError, SurveyError, KeyError, FileNotFoundError) as exc:
        what = f"parameter {exc} is missing" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        where = "" if re.search(r"config/[\w./-]+\.yaml", what) else (
            f" (parameters: config/{config.STUDY_FILE}, config/08_validation.yaml and the fieldwork settings it names)")
        if isinstance(exc, FileNotFoundError):
            where += "; `make` writes the frames and settings it reads"
        print(f"✗ {args.out}: {what}{where}", file=sys.stderr)
        return 1
    io.write_parquet(table, args.out)
    manifest.record("finite_truth", {"out_finite_truth": args.out})
    print(f"✓ {paths.relative(paths.resolve(args.out))}: the validation's fixed finite population "
          f"(seed {int(table['seed'].iloc[0])}, {len(table)} values)")
    return 0


def _not_needed(out: str, targets) -> int:
    """No finite target: an empty table (make needs its file; notebook 08 does not read it)."""
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "seed" else "float64" if c == "value" else "string")
                          for c in FINITE_COLUMNS})
    io.write_parquet(empty, out)
    manifest.record("finite_truth", {"out_finite_truth": out})
    print(f"✓ {paths.relative(paths.resolve(out))}: not computed, notebook 08's targets ({', '.join(map(str, targets or []))}) "
          "have no finite population")
    return 0


if __name__ == "__main__":
    sys.exit(main())
