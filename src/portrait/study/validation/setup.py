"""What the validation study (:mod:`portrait.study.validation`) fixes before any replication.

The estimators, variance methods and key statistics it follows, with their French labels, and
:class:`Validation`: frames, codebook, fieldwork model, population cells and the quantities solved on
them, the truth of the key statistics and the calibration margins, computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ...pipeline import config, paths, sources
from ...pipeline.errors import ParameterError
from .. import codebook as codebook_mod
from .. import compare, fieldwork, frames, recipes, visitors
from ..fieldwork import finite
from ..fieldwork.population import CodedFrame, coded_frame
from ..codebook import Codebook


ESTIMATORS = ("unweighted", "design", "nonresponse", "raking", "logit")
ESTIMATOR_LABELS = {"unweighted": "Non pondéré", "design": "Poids de sondage (1/π)",
                    "nonresponse": "Après non-réponse", "raking": "Calage (raking ratio)",
                    "logit": "Calage (logit borné)"}
VARIANCES = ("linearisation", "bootstrap")
#: The residents' linearised variance under the two-stage design the sample was drawn from, with the first
#: stage's fpc (R ``svydesign(id = ~commune + slot, fpc = ~π + f₂, pps = "brewer")``,
#: :func:`portrait.study.first_stage.two_stage_design`): the estimator the finite-population target calls
#: for, beside the chain's with-replacement one. Calibrated estimators only; a difference pairs it with
#: the visitors' linearised variance.
TWO_STAGE = "two_stage"
VARIANCE_LABELS = {"linearisation": "linéarisation", "bootstrap": "bootstrap",
                   TWO_STAGE: "linéarisation à deux degrés"}
DIFFERENCE_NAME = compare.DIFFERENCE
SURVEYS = ("residents", "visitors", compare.DIFFERENCE)
SURVEY_LABELS = {"residents": "Habitants", "visitors": "Clients du territoire",
                 compare.DIFFERENCE: "Différence clients − habitants"}
CALIBRATED = ("raking", "logit")
#: The multiple-response items whose whole profile of chosen options is tested in every replication
#: (:func:`portrait.survey.multiple_response_test`: Bilder & Loughin 2004, Rao–Scott second order, raking
#: weights, linearised variance): visitors against residents (statistic ``profile``; the model plants
#: differences, so the rejection rate is the power) and, in each survey, two halves of the respondents
#: split by a fair coin (``profile_halves``; the same profile by construction, so the rejection rate
#: is the size of the test).
PROFILE_ITEMS = ("forces", "faiblesses")
PROFILE, PROFILE_HALVES = "profile", "profile_halves"
PROFILE_STATISTICS = (PROFILE, PROFILE_HALVES)
#: What the estimates are compared with: the super-population model's expectation (the simulator
#: draws every sampled unit's profile and answers afresh in each replication) or the exact values of
#: one fixed finite population (:mod:`portrait.study.fieldwork.finite`: every frame unit's answers
#: fixed once, samples and response redrawn in each replication).
TARGETS = ("superpopulation", "finite")
TARGET_LABELS = {"superpopulation": "Super-population (espérance du modèle)",
                 "finite": "Population finie fixée"}

#: The key statistics of the study followed by the validation: both scores, the NPS, the top-2 box
#: of six image items (three with a planted resident–visitor difference, three without) and two
#: strengths (the littoral, whose weight the model shifts for visitors, and the heritage, whose share
#: differs only slightly, through the shift of the other options). Level names are those of
#: :mod:`portrait.study.items` and of the truth file.
KEY_STATISTICS = pd.DataFrame([
    ("image_globale", "mean", ""), ("recommandation", "mean", ""), ("recommandation", "nps_score", ""),
    ("img_conviviale", "accord", "top2"), ("img_dynamique", "accord", "top2"), ("img_nature", "accord", "top2"),
    ("img_accueillante", "accord", "top2"), ("img_sure", "accord", "top2"), ("img_innovante", "accord", "top2"),
    ("forces", "share", "5"), ("forces", "share", "3"),
], columns=["item", "statistic", "level"])

RESULT_COLUMNS = ["target", "replication", "survey", "item", "statistic", "level", "estimator", "variance", "estimate",
                  "se", "ci_low", "ci_high", "df", "n", "p", "adjusted", "error"]


# ============================================================================ setup


@dataclass(frozen=True)
class Validation:
    """Everything a replication needs, built once per process (:meth:`build`).

    Attributes
    ----------
    seed : study seed; replication ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    codebook, model : the questionnaire and the fieldwork model.
    calibration : the model's quantities solved on the population (propensity intercepts, visitor
        thresholds) — :func:`portrait.study.fieldwork.calibrate`, computed once.
    population : INSEE population by department × sex × age (the residents' profile draws).
    resident_frame, visitor_frame : the frames the samples are drawn from.
    resident_design : the resident two-stage design; ``visitor_strata`` the visitor allocation
        (fixed: only the draw within strata is random).
    resident_weighting, visitor_weighting : recipe parameters (``config/04_*.yaml``, ``05``).
    resident_margins, visitor_margins : calibration margins with their sources, computed once.
    statistics : the key statistics (item, statistic, level).
    truth : their true values for ``target`` (surveys and ``visitors - residents``) and ``planted``
        (a difference planted in the model: true super-population difference not zero).
    target : ``superpopulation`` (truth = the model's expectation, :func:`portrait.study.fieldwork.truth`)
        or ``finite`` (truth = the exact values of the fixed finite population,
        :func:`portrait.study.fieldwork.finite.finite_truth`; a replication then draws the persons of
        the sampled communes and reads every sampled unit's fixed answers). See :data:`TARGETS`.
    model_truth : the super-population truth of the key statistics, whatever the target.
    logit_bounds : bounds on g of the bounded-logit estimator.
    resident_plan : the resident draw's allocation and inclusion probabilities
        (:func:`portrait.study.frames.resident_plan`), computed once.
    visitor_keys : each visitor's finite-population key by ``person_id``
        (:func:`portrait.study.fieldwork.finite.visitor_keys` of the frame: of the first record, not of the
        pseudonym), computed once.
    visitor_codes : the visitor frame's attributes mapped to the model's keys
        (:func:`portrait.study.fieldwork.population.coded_frame`), computed once for the samples drawn from it; None
        when the frame fails a check of the mapping (each sample is then mapped, and names its own row).
    """

    seed: int
    codebook: Codebook
    model: fieldwork.FieldworkModel
    calibration: fieldwork.Calibration
    population: pd.DataFrame
    resident_frame: pd.DataFrame
    visitor_frame: pd.DataFrame
    resident_design: frames.ResidentDesign
    visitor_strata: pd.DataFrame
    resident_weighting: "recipes.ResidentRecipe"
    visitor_weighting: "recipes.VisitorRecipe"
    resident_margins: tuple
    visitor_margins: tuple
    statistics: pd.DataFrame
    truth: pd.DataFrame
    logit_bounds: tuple[float, float] = (0.3, 3.0)
    min_core_answered: int = 8
    level: float = 0.95
    target: str = "superpopulation"
    model_truth: pd.DataFrame | None = None
    resident_plan: frames.ResidentPlan | None = None
    visitor_keys: pd.Series | None = None      # person_id → finite-population key (finite.visitor_keys of the frame)
    visitor_codes: CodedFrame | None = None

    def answers_read(self) -> frozenset[str]:
        """The opinion variables whose answers a replication reads: the key statistics', the profile tests' and those
        a question is asked by (:attr:`portrait.study.codebook.Variable.asked_if`); the simulator draws only these
        (the others of the common core get stand-ins, :func:`portrait.study.fieldwork.simulation._stand_in`)."""
        filters = {v.asked_if[0] for g in fieldwork.GROUPS for v in self.codebook.variables_for(g)
                   if v.asked_if is not None}
        return frozenset(self.statistics["item"]) | frozenset(PROFILE_ITEMS) | filters

    @classmethod
    def build(cls, *, seed: int, codebook_file: str | Path, model_file: str | Path,
              resident_frame: str | Path | pd.DataFrame, visitor_frame: str | Path | pd.DataFrame,
              population_year: int, resident_design: Mapping[str, Any], visitor_design: Mapping[str, Any],
              resident_weighting: Mapping[str, Any], visitor_weighting: Mapping[str, Any],
              statistics: pd.DataFrame = KEY_STATISTICS, logit_bounds: Sequence[float] = (0.3, 3.0),
              min_core_answered: int = 8, level: float = 0.95, target: str = "superpopulation") -> "Validation":
        """Read the inputs and compute everything fixed (population cells, calibration, truth, margins).

        ``resident_design`` and ``visitor_design`` are the parameters of notebooks 01 and 02
        (``invitations``, ``take_per_commune``, ``allocation``, ``min_psu_per_stratum``;
        ``invitations``, ``min_per_stratum``); ``resident_weighting`` and ``visitor_weighting``
        those of notebooks 04 and 05. The calibration method of the recipes is set by each
        estimator (raking, bounded logit with ``logit_bounds``). ``target`` is one of :data:`TARGETS`
        (the finite population's truth takes some seconds: :meth:`for_target`).
        """
        config.require({"seed": seed}, "seed", int, minimum=0)
        _check_target(target)
        bounds = tuple(float(b) for b in logit_bounds)
        if len(bounds) != 2 or not bounds[0] < 1 < bounds[1]:
            raise ParameterError(f"parameter 'logit_bounds' must be [L, U] with L < 1 < U, got {list(logit_bounds)}")
        cb, model, rframe, vframe, population, pop, cal = _simulated_population(
            codebook_file, model_file, resident_frame, visitor_frame, population_year)
        rdesign = frames.ResidentDesign.from_params(resident_design)
        vdesign = visitors.VisitorDesign(invitations=config.require(visitor_design, "invitations", int, minimum=1),
                                         min_per_stratum=config.require(visitor_design, "min_per_stratum", int, minimum=1))
        vstrata = visitors.allocate_invitations(vframe, vdesign)
        truth = key_truth(fieldwork.truth(model, pop, cal), statistics)
        # wrong recipe parameters fail here, not in every replication
        rw = recipes.ResidentRecipe.from_params({**dict(resident_weighting), "population_year": population_year})
        vw = recipes.VisitorRecipe.from_params(visitor_weighting)
        setup = cls(seed=seed, codebook=cb, model=model, calibration=cal, population=population,
                    resident_frame=rframe, visitor_frame=vframe, resident_design=rdesign, visitor_strata=vstrata,
                    resident_weighting=rw, visitor_weighting=vw,
                    resident_margins=recipes.resident_margins(rframe, cb, population_year),
                    visitor_margins=recipes.visitor_frame_margins(vframe),
                    statistics=statistics[["item", "statistic", "level"]].reset_index(drop=True),
                    truth=truth, logit_bounds=bounds, min_core_answered=min_core_answered, level=level,
                    model_truth=truth, resident_plan=frames.resident_plan(rframe, rdesign),
                    visitor_keys=pd.Series(finite.visitor_keys(vframe), index=vframe["person_id"].astype(str)),
                    visitor_codes=coded_frame(model, vframe))
        return setup.for_target(target)

    def for_target(self, target: str, workers: int = 1, finite_values: pd.DataFrame | None = None,
                   source: str = "finite_values") -> "Validation":
        """The same setup with another target and its truth.

        The finite population's truth streams through every resident of the frame and every person
        of the visitor frame (:func:`portrait.study.fieldwork.finite.finite_truth`, in ``workers``
        processes): some seconds. ``finite_values`` is that truth computed once before (the table of
        :func:`finite_population_truth`, as `make` writes it to ``data/processed/finite_truth.parquet``,
        named ``source`` in errors); it must hold this setup's seed and every key statistic.
        """
        _check_target(target)
        if target == self.target:
            return self
        model_truth = self.model_truth if self.model_truth is not None else self.truth
        if target == "superpopulation":
            return replace(self, target=target, truth=model_truth)
        if finite_values is None:
            values = finite.finite_truth(self.model, self.calibration, resident_frame=self.resident_frame,
                                         population=self.population, visitor_frame=self.visitor_frame,
                                         seed=self.seed, statistics=self.statistics, workers=workers)
        else:
            values = _checked_finite_values(finite_values, self.seed, model_truth, source)
        truth = model_truth.drop(columns="value").merge(values, on=["survey", "item", "statistic", "level"],
                                                        how="left")
        return replace(self, target=target, truth=truth[model_truth.columns], model_truth=model_truth)


FINITE_COLUMNS = ["seed", "survey", "item", "statistic", "level", "value"]


def finite_population_truth(*, seed: int, codebook_file: str | Path, model_file: str | Path,
                            resident_frame: str | Path | pd.DataFrame, visitor_frame: str | Path | pd.DataFrame,
                            population_year: int, statistics: pd.DataFrame = KEY_STATISTICS,
                            workers: int = 1) -> pd.DataFrame:
    """The fixed finite population's exact values of the key statistics, with the seed that fixes it.

    What :meth:`Validation.for_target` computes for the ``finite`` target, from the inputs that fix
    the population only (seed, model, frames, INSEE population): neither the designs nor the weighting
    recipes. `make` writes it once to ``data/processed/finite_truth.parquet`` beside the fieldwork, so
    that re-running the validation after a weighting change does not stream the 4.8 million residents
    again. Columns :data:`FINITE_COLUMNS`.
    """
    config.require({"seed": seed}, "seed", int, minimum=0)
    _, model, rframe, vframe, population, _, cal = _simulated_population(
        codebook_file, model_file, resident_frame, visitor_frame, population_year)
    values = finite.finite_truth(model, cal, resident_frame=rframe, population=population, visitor_frame=vframe,
                                 seed=seed, workers=workers,
                                 statistics=statistics[["item", "statistic", "level"]].reset_index(drop=True))
    return values.assign(seed=int(seed))[FINITE_COLUMNS]


def _simulated_population(codebook_file, model_file, resident_frame, visitor_frame, population_year):
    """What fixes the simulated population: codebook, model, frames, INSEE population, cells and calibration."""
    cb = codebook_mod.load(codebook_file)
    model = fieldwork.FieldworkModel.load(cb, model_file)
    rframe = resident_frame if isinstance(resident_frame, pd.DataFrame) else pd.read_parquet(paths.resolve(resident_frame))
    vframe = visitor_frame if isinstance(visitor_frame, pd.DataFrame) else pd.read_parquet(paths.resolve(visitor_frame))
    population = sources.read_population(population_year)
    vis_cells, mapping = fieldwork.visitor_population(model, vframe)
    pop = fieldwork.Population(fieldwork.resident_population(model, rframe, population), vis_cells, mapping)
    return cb, model, rframe, vframe, population, pop, fieldwork.calibrate(model, pop)


def _checked_finite_values(values: pd.DataFrame, seed: int, model_truth: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in FINITE_COLUMNS if c not in values.columns]
    if missing:
        raise ParameterError(f"{source}: columns {missing} missing; it is written by "
                             "`python -m portrait.study.validation.targets` (make does it)")
    seeds = sorted(set(values["seed"].astype(int)))
    if seeds != [int(seed)]:
        raise ParameterError(f"{source}: the finite population was fixed with seed {seeds}, the validation runs "
                             f"with seed {seed}; run `make` to rebuild it, or give the parameter finite_truth "
                             "as \"\" to compute it in the notebook")
    keys = ["survey", "item", "statistic", "level"]
    v = values.assign(level=values["level"].fillna("").astype(str))
    found = model_truth[keys].merge(v[keys], on=keys, how="left", indicator=True)["_merge"].eq("both")
    if not found.all():
        first = model_truth.loc[~found.to_numpy(), keys].iloc[0]
        raise ParameterError(f"{source}: no finite-population value for {int((~found).sum())} key statistic(s), "
                             f"e.g. ({', '.join(map(str, first))}); run `make` to rebuild it")
    return v[keys + ["value"]]


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ParameterError(f"parameter 'target' must be one of {', '.join(TARGETS)}, got {target!r}"
                             + config.did_you_mean([str(target)], TARGETS))


def key_truth(truth: pd.DataFrame, statistics: pd.DataFrame = KEY_STATISTICS) -> pd.DataFrame:
    """The true values of ``statistics`` in both surveys and of their differences, with ``planted``."""
    t = truth.assign(level=truth["level"].fillna("").astype(str))
    t = t.merge(statistics[["item", "statistic", "level"]], on=["item", "statistic", "level"], how="inner")
    missing = len(statistics) * len(SURVEYS) - len(t)
    if missing:
        raise ParameterError(f"{missing} key statistic(s) have no true value; the statistics must be rows of the "
                             "simulator's truth (item, statistic, level)")
    diff = t.loc[t["survey"] == compare.DIFFERENCE, ["item", "statistic", "level", "value"]]
    planted = {(r.item, r.statistic, r.level): abs(r.value) > 1e-9 for r in diff.itertuples()}
    t["planted"] = [planted[(i, s, lv)] for i, s, lv in zip(t["item"], t["statistic"], t["level"])]
    return t[["survey", "item", "statistic", "level", "value", "planted"]].reset_index(drop=True)


def target_rows(results: pd.DataFrame, target: str) -> pd.DataFrame:
    """``results.loc[results["target"] == target]``: a slice of the rows when they are consecutive, as they are in
    :func:`_ordered`'s order and in the notebook's, target after target (a selection copied the texts of a published
    run's million rows, half a second each time, a dozen times per report)."""
    at = np.flatnonzero((results["target"] == target).to_numpy(dtype=bool))
    if len(at) and at[-1] - at[0] + 1 == len(at):
        return results.iloc[at[0]:at[-1] + 1]
    return results.iloc[at]


def _ordered(results: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order: target (when there is one), replication, survey, statistic (key order), estimator, variance
    (:func:`_order`)."""
    return results.take(_order(results)).reset_index(drop=True)


def _order(results: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
    """The positions of :func:`_ordered`'s rows, of a frame or of its columns (arrays or Series, by name).

    One stable sort of each key's integer codes (``np.lexsort``), not pandas' sort of helper columns: a target,
    survey, estimator or variance not in its list (or missing) comes last, tied with the others, as its mapped rank
    NaN did; texts and replications in their sorted order (pandas' factorize), a missing one last."""
    def sorted_codes(column: str) -> np.ndarray:
        codes, uniques = pd.factorize(results[column], sort=True)
        return np.where(codes < 0, len(uniques), codes)

    def rank(column: str, order: Sequence[object]) -> np.ndarray:
        codes, uniques = pd.factorize(results[column])        # a missing value: code -1, the last entry
        where = {v: i for i, v in enumerate(order)}
        return np.array([where.get(u, len(order)) for u in uniques] + [len(order)], dtype=np.intp)[codes]

    ks = KEY_STATISTICS
    key = {k: i for i, k in enumerate(zip(ks["item"].tolist(), ks["statistic"].tolist(), ks["level"].tolist()))}
    codes = [pd.factorize(results[c], sort=True) for c in ("item", "statistic", "level")]
    # the rank in KEY_STATISTICS of each distinct (item, statistic, level), looked up once
    sizes = [len(u) + 1 for _, u in codes]                      # code -1 (missing) shifted to 0
    combined = ((codes[0][0] + 1) * sizes[1] + codes[1][0] + 1) * sizes[2] + codes[2][0] + 1
    present, inverse = np.unique(combined, return_inverse=True)
    ranks = []
    for c in present.tolist():
        triple = (c // (sizes[1] * sizes[2]), c // sizes[2] % sizes[1], c % sizes[2])
        ranks.append(key.get(tuple(u[j - 1] if j else None for (_, u), j in zip(codes, triple)), len(key)))
    keys = [rank("target", TARGETS)] if "target" in results else []
    keys += [sorted_codes("replication"), rank("survey", SURVEYS), np.asarray(ranks, dtype=np.intp)[inverse.ravel()],
             *(np.where(c < 0, len(u), c) for c, u in codes), rank("estimator", ESTIMATORS), rank("variance", VARIANCES)]
    return np.lexsort(keys[::-1])
