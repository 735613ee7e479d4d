"""The weighting recipes of the two surveys (STUDY §6), from the ingested responses to final weights.

Residents
    Design: strata = department × size class; PSU = commune (ultimate-cluster approximation, with
    replacement at the first stage: no finite population correction, see below). A
    self-representing commune (π = 1) is a stratum of its own whose units are the invited persons
    (fpc: invitations / estimated 15+ population).
    Design weight 1/π (commune × person). Non-response: response-probability classes from a
    logistic model on frame variables (department, size class). Calibration (raking by default)
    to INSEE 15+ margins: sex × age (joint), department, and size class (the frame's 15+ shares
    of each class applied to the INSEE total — an assumption, stated in the margins table).

Visitors
    Design: stratified SRSWOR (strata = zone visited × partner type), variance without finite
    population correction (see below). Non-response:
    response-propensity classes from a logistic model on frame variables (partner type, zone,
    country group, number of files, purpose). The survey's population is the persons of the
    partners' files who stayed in the region (STUDY §3). The frame's totals are known exactly but
    include persons out of scope (no stay in the region): the default calibration is to the frame
    totals (zone visited, partner type, country of residence in three groups, number of files) less
    the out-of-scope persons of each level, estimated from the sampled ones by their design weights. Age, which drives response in the simulator, is not known for the frame: the part of
    non-response it explains beyond these variables cannot be corrected. Calibration
    to tourism figures (INSEE nights, CRT foreign share) is offered as a scenario: it targets
    another population (tourists of the region) under assumptions stated in the margins table.

Replicate weights (Rao–Wu bootstrap by default) are attached to the design before any step, so
the whole recipe — non-response adjustment and calibration — is re-run in every replicate.

No first-stage finite population correction. The variance is computed from the respondents'
first-stage units; with the fpc of the invitations, ``1 − n_h/N_h``, it leaves out what happens
after the first stage: the persons drawn within a commune (residents: up to 43 % of a stratum's
communes are drawn, and the ultimate-cluster estimator with that fpc omits the within-commune
variance) and who responds (visitors: a third of the frame is invited but about 15 % of them
answer, so the respondents are some 5 % of the frame). With it, the validation study (notebook 08,
200 replications) found linearised standard errors about 9 % (residents) and 20 % (visitors)
smaller than the estimates' real spread, and 95 % intervals of the calibrated estimators covering
the true value 93 % and 88 % of the time. Without it — the with-replacement approximation usual
for multistage designs (Wolter 2007; Lumley 2010) — the variance is slightly conservative for the
finite population (by the respondents' sampling fraction, a few per cent of the variance) and
unbiased for the simulator's population values.

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Särndal, C.-E. and Lundström, S. (2005). *Estimation in Surveys with Nonresponse*. Wiley.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..reporting import formatting as fmt
from ..pipeline import paths, sources
from .. import survey
from .codebook import Codebook
from .level_merging import merge_sparse_levels
from .recipe_params import method_and_bounds, trimming_bounds
from .unit_table import category_text, held_index, where_texts
from .visitor_margins import (country_group, in_scope_margins,  # noqa: F401 - public here too
                              multiplicity_group, out_of_scope_sample, visitor_frame_margins,
                              visitor_tourism_margins)
from ..pipeline.config import did_you_mean, every_problem, problem, require
from ..survey import Design
from ..pipeline.errors import CalibrationError, ParameterError
from ..survey import Margin

#: The calibration methods as the reports name them (« calage par raking ratio », the word of INSEE's Calmar).
METHOD_LABELS = {"linear": "linéaire", "raking": "raking ratio", "logit": "logit borné", "truncated": "linéaire tronqué"}

STAGES = {"design": "Poids de sondage (1/π)", "nonresponse": "Après correction de la non-réponse",
          "calibrated": "Après calage"}


@dataclass(frozen=True)
class Weighted:
    """A survey weighted step by step: the design at each stage, the margins and their sources."""

    survey: str
    id_column: str
    stages: dict[str, Design]
    margins: list[Margin]
    margins_sources: pd.DataFrame
    nonresponse: Any = None
    calibration: Any = None
    labels: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def final(self) -> Design:
        return self.stages["calibrated"]


SENSITIVITY_METHODS = ("linear", "raking", "logit")


def _trimmed(cal: Design, margins: list[Margin], recipe: "Recipe") -> Design:
    """The calibrated weights capped at the recipe's multiples of their median and re-calibrated, alternately
    (:func:`portrait.survey.trim`, raking if the calibration was raking, else linear); ``cal`` without trimming.
    The bounds are fixed at the full sample's values: replicates re-run the trimming with them."""
    if recipe.trimming is None:
        return cal
    med = float(np.median(cal.weights[cal.weights > 0]))
    lo, hi = recipe.trimming
    shown = " ; ".join(f"{name} {fmt.exact(x)} fois la médiane" for name, x in (("min.", lo), ("max.", hi))
                       if x is not None)
    try:
        return survey.trim(cal, margins, lower=None if lo is None else lo * med, upper=None if hi is None else hi * med,
                           method="raking" if recipe.calibration_method == "raking" else "linear",
                           label=f"écrêtage ({shown}) et recalage")
    except CalibrationError as exc:
        raise CalibrationError(
            f"parameter 'trimming' {list(recipe.trimming)}: no weights between these multiples of the median "
            f"calibrated weight ({med:.6g}) were found to meet every margin; widen 'trimming' (a smaller lower, a "
            "larger upper, or null for no bound), or drop it and set calibration_method: logit with "
            f"calibration_bounds\n{exc}") from exc


class WeightingFailed(CalibrationError):
    """A recipe's calibration or trimming failed; ``partial``: the survey weighted up to its non-response adjustment
    (``stages`` without ``calibrated``), for the estimators that do not depend on the failed step (validation study)."""
    def __init__(self, message: str, partial: Weighted | None = None):
        super().__init__(message)
        self.partial = partial


def _calibrated_and_trimmed(w: Weighted, recipe: "Recipe", label: str) -> Weighted:
    """The recipes' last steps on ``w`` (stages ``design`` and ``nonresponse``): sparse levels merged, calibration,
    trimming. Raises :class:`WeightingFailed` (a :class:`CalibrationError`) if the calibration or the trimming fails."""
    nr, margins, notes, merged = merge_sparse_levels(w.stages["nonresponse"], w.margins,
                                                     recipe.min_respondents_per_level, w.labels, w.names)
    labels = {**w.labels, **{k: {**w.labels.get(k, {}), **v} for k, v in merged.items()}}
    w = replace(w, stages={**w.stages, "nonresponse": nr}, margins=margins, nonresponse=nr.steps[-1].info,
                labels=labels, notes=tuple(notes))
    try:
        cal = _calibrated(nr, margins, recipe, label, labels, w.names)
        final = _trimmed(cal, margins, recipe)
    except CalibrationError as exc:
        raise WeightingFailed(str(exc), partial=w) from exc
    return replace(w, stages={**w.stages, "calibrated": final}, calibration=cal.steps[-1].info)


def _calibrated(nr: Design, margins: list[Margin], recipe: "Recipe", label: str, labels: Mapping[str, Mapping[str, str]],
                names: Mapping[str, str]) -> Design:
    """The recipe's calibration; an error names margins and levels as the reports do (« sexe × âge », « Hommes ×
    15-24 ans »), not by their calibration columns and codes (« cal_sexe × cal_age », « 1 × 1 »: an analyst's trial)."""
    try:
        return survey.calibrate(nr, margins, method=recipe.calibration_method, bounds=recipe.bounds, label=label)
    except CalibrationError as exc:
        def named(m: re.Match) -> str:
            variables, levels = m.group(1).split(" × "), m.group(2).split(" × ")
            if len(variables) != len(levels):
                return m.group(0)
            shown = [labels.get(v, {}).get(x, x) for v, x in zip(variables, levels)]
            return f"margin {' × '.join(names.get(v, v) for v in variables)!r} level {' × '.join(shown)!r}"
        raise CalibrationError(re.sub(r"margin '([^']+)' level '([^']+)'", named, str(exc))) from exc


@dataclass(frozen=True)
class Recipe:
    """Parameters shared by both weighting recipes, checked once (:meth:`from_params`).

    Attributes
    ----------
    calibration_method : ``linear``, ``raking``, ``logit`` or ``truncated``.
    calibration_bounds : ``(L, U)`` bounds on the calibration factors, used by ``logit`` and
        ``truncated`` (and by the ``logit`` sensitivity variant); ``None`` if not given.
    min_respondents_per_level : a margin level held by fewer respondents is merged.
    nonresponse_classes : number of response-propensity classes.
    replicate_method, replicates : ``bootstrap`` (Rao–Wu), ``jkn`` or ``None`` (in code: no replicate), and how many.
    sensitivity_methods : calibration methods also written as variants of the weighted file.
    trimming : ``(lower, upper)`` multiples of the median calibrated weight at which the calibrated
        weights are capped, then re-calibrated, alternately until both hold (:func:`portrait.survey.trim`;
        either may be ``None``); ``None`` (the default): no trimming, bounded calibration being preferred.
    """

    calibration_method: str = "raking"
    calibration_bounds: tuple[float, float] | None = (0.3, 3.0)
    min_respondents_per_level: int = 20
    nonresponse_classes: int = 5
    replicate_method: str = "bootstrap"
    replicates: int = 500
    sensitivity_methods: tuple[str, ...] = SENSITIVITY_METHODS
    trimming: tuple[float | None, float | None] | None = None

    @classmethod
    def _common(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        method, bounds = method_and_bounds(params)
        rep = require(params, "replicate_method", str)
        if rep is not None and rep not in ("bootstrap", "jkn"):
            problem(f"parameter 'replicate_method' must be bootstrap or jkn, got {rep!r}")
        sens = params.get("sensitivity_methods", list(SENSITIVITY_METHODS))
        if not isinstance(sens, (list, tuple)):
            problem(f"parameter 'sensitivity_methods' must be a list of calibration methods, got {sens!r}")
            sens = ()
        sens = tuple(sens)
        bad = [m for m in sens if m not in survey.CALIBRATION_METHODS]
        if bad:
            problem(f"parameter 'sensitivity_methods' holds unknown methods {bad}; use {', '.join(survey.CALIBRATION_METHODS)}")
        bounded = [m for m in (method, *sens) if m in ("logit", "truncated")]
        if bounded and bounds is None and params.get("calibration_bounds") is None:     # else already reported
            problem(f"parameter 'calibration_bounds' must be [L, U]: method(s) {sorted(set(bounded))} need it")
        return dict(calibration_method=method, calibration_bounds=bounds,
                    min_respondents_per_level=require(params, "min_respondents_per_level", int, minimum=1),
                    nonresponse_classes=require(params, "nonresponse_classes", int, minimum=1),
                    replicate_method=rep, replicates=require(params, "replicates", int, minimum=2),
                    sensitivity_methods=sens, trimming=trimming_bounds(params))

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The bounds the calibration method uses (``None`` for linear and raking)."""
        return self.calibration_bounds if self.calibration_method in ("logit", "truncated") else None

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for the weighted file's attributes (and back through :meth:`from_params`)."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass(frozen=True)
class ResidentRecipe(Recipe):
    """The resident recipe's parameters (``config/04_resident_weighting.yaml`` + ``population_year``)."""

    population_year: int = 2017

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ResidentRecipe":
        with every_problem():
            if isinstance(params, cls):
                return params
            return cls(**cls._common(params), population_year=require(params, "population_year", int))


@dataclass(frozen=True)
class VisitorRecipe(Recipe):
    """The visitor recipe's parameters (``config/05_visitor_weighting.yaml``).

    ``tourism_margins`` (``nights_year``, ``foreign_share``, ``foreign_share_source``) define the
    tourism calibration target; they are needed when it is the target or the variant.
    """

    nonresponse_classes: int = 10
    calibration_target: str = "frame"
    tourism_margins: Mapping[str, Any] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "VisitorRecipe":
        with every_problem():
            if isinstance(params, cls):
                return params
            target = require(params, "calibration_target", str)
            if target is not None and target not in TARGETS:
                problem(f"parameter 'calibration_target' must be frame or tourism, got {target!r}")
            tm = params.get("tourism_margins")
            if tm is not None and require(params, "tourism_margins", dict) is not None:
                extra = sorted(set(tm) - {"nights_year", "foreign_share", "foreign_share_source"})
                if extra:
                    problem(f"parameter 'tourism_margins' has unknown keys {extra}"
                            + did_you_mean(extra, ["nights_year", "foreign_share", "foreign_share_source"]))
                tm = {"nights_year": require(tm, "nights_year", int, where="tourism_margins"),
                      "foreign_share": require(tm, "foreign_share", float, minimum=0.0, maximum=1.0,
                                               where="tourism_margins"),
                      "foreign_share_source": require(tm, "foreign_share_source", str, where="tourism_margins")}
            elif tm is None and target == "tourism":
                problem("parameter 'tourism_margins' is missing: calibration_target tourism needs it")
            return cls(**cls._common(params), calibration_target=target, tourism_margins=tm)

    @property
    def other_target(self) -> str:
        return "tourism" if self.calibration_target == "frame" else "frame"


TARGETS = ("frame", "tourism")


def _respondents_only(design: Design) -> Design:
    """Design weights of the respondents (non-respondents at 0): the "design-weighted" stage."""
    return design.with_weights(np.where(design.data["respondent"], design.weights, 0.0))


def _attach_replicates(design: Design, recipe: Recipe, rng: np.random.Generator) -> Design:   # method None: none
    return design if recipe.replicate_method is None else survey.with_replicates(
        design, recipe.replicate_method, recipe.replicates, rng)


# ============================================================================ residents


def resident_design(responses: pd.DataFrame, communes: pd.DataFrame) -> Design:
    """The resident design from the ingested responses (every sampled slot) and the commune frame."""
    need = {"slot_id", "code", "stratum", "pi", "pi_overall", "status"}
    if not need <= set(responses.columns):
        raise ParameterError(f"resident responses lack columns {sorted(need - set(responses.columns))}")
    certain = responses["pi"].to_numpy() >= 1 - 1e-12
    # each commune's invitations (every slot, excluded ones too) and 15+ population, looked up once per commune
    code, communes_drawn = pd.factorize(responses["code"])
    take = np.where(code >= 0, np.bincount(code[code >= 0], minlength=len(communes_drawn))[code], np.nan)
    at = np.append(held_index(communes["code"]).get_indexer(communes_drawn), -1)[code]
    # no fpc for the communes drawn PPS (module docstring): with it the within-commune variance is lost
    fpc = np.where(certain, take / np.where(at >= 0, communes["pop15"].to_numpy(dtype=float)[at], np.nan), 0.0)
    keep = ~responses["status"].eq("excluded").to_numpy(dtype=bool)     # one take, not a copy of all then a take
    d = responses.take(np.flatnonzero(keep))         # its index reset by the design (a third faster than .loc[keep])
    d = d.assign(var_stratum=where_texts(certain[keep], d["code"], d["stratum"], prefix="AR-"),
                 var_psu=where_texts(certain[keep], d["slot_id"], d["code"]), var_fpc=fpc[keep],
                 respondent=d["status"].eq("respondent"), in_scope=np.ones(len(d), dtype=bool))
    return Design.from_frame(d, prob="pi_overall", strata="var_stratum", psu="var_psu", fpc="var_fpc")


#: The residents' sex × age margin as the weighted files' margin sources name it (:func:`margin_sources`).
SEX_AGE_MARGIN = "sexe × âge (15 ans ou plus)"


def resident_margins(communes: pd.DataFrame, cb: Codebook, year: int) -> tuple[list[Margin], pd.DataFrame]:
    """INSEE 15+ margins (sex × age, department) and the size-class margin, with their sources."""
    pop = sources.read_population(year)
    sex_code = {v: k for k, v in cb.variable("sexe").key_of().items()}       # hommes -> 1
    age_code = {v: k for k, v in cb.variable("age").key_of().items()}        # "15-29" -> 1
    p = pop.loc[pop["sex"].isin(sex_code) & pop["age_group"].isin(age_code)]
    sa = p.groupby(["sex", "age_group"])["population"].sum()
    sex_age = {(str(sex_code[s]), str(age_code[a])): float(v) for (s, a), v in sa.items()}
    total = float(sum(sex_age.values()))
    dep = pop.loc[(pop["sex"] == "ensemble") & (pop["age_group"] == "15+")].set_index("departement")["population"]
    frame_share = communes.groupby("size_class", observed=True)["pop15"].sum()
    frame_share = frame_share / frame_share.sum()
    size = {str(k): float(v * total) for k, v in frame_share.items()}
    margins = [Margin.of(("cal_sexe", "cal_age"), sex_age),
               Margin.of("departement", {str(k): float(v) for k, v in dep.items()}),
               Margin.of("size_class", size)]
    elp = (f"Insee, estimations de population au {fmt.ordinal(1)} janvier {year} "
           f"(data/raw/{sources.POPULATION_FILE})")
    src = pd.DataFrame([
        {"marge": SEX_AGE_MARGIN, "source": elp, "hypothèse": "aucune (chiffres publiés)"},
        {"marge": "département (15 ans ou plus)", "source": elp, "hypothèse": "aucune (chiffres publiés)"},
        {"marge": "taille de commune (15 ans ou plus)", "source": f"base de sondage (populations légales {sources.COMMUNES_POPULATION_YEAR}, Etalab) et Insee",
         "hypothèse": "parts des classes de taille parmi les 15 ans ou plus estimés dans la base de sondage, appliquées "
                      f"au total Insee {year}, qui ne les publie pas pour les 15 ans ou plus"},
    ])
    return margins, src


def weight_residents(responses: pd.DataFrame, communes: pd.DataFrame, cb: Codebook,
                     recipe: ResidentRecipe | Mapping[str, Any], rng: np.random.Generator, *,
                     margins: tuple[list[Margin], pd.DataFrame] | None = None) -> Weighted:
    """Design weights → non-response classes → calibration, with replicate weights re-running it all.

    ``margins`` (the result of :func:`resident_margins`) saves reading the INSEE file again when
    the recipe is run many times (the validation study); by default they are read for
    ``population_year``. ``recipe`` may be a plain mapping of the parameters: it is checked first.
    """
    recipe = ResidentRecipe.from_params(recipe)
    base = _attach_replicates(resident_design(responses, communes), recipe, rng)
    data = base.data
    data = data.assign(cal_sexe=data["sexe"].astype("Int64").astype("string"),
                       cal_age=data["age"].astype("Int64").astype("string"),
                       size_class=category_text(data["size_class"]))
    missing = int((data["respondent"].to_numpy(dtype=bool) & (data["cal_sexe"].isna() | data["cal_age"].isna())
                   .to_numpy(dtype=bool)).sum())
    if missing:     # the ingest refuses such exports (missing_for_weighting): only a file edited since gets here
        raise ParameterError(f"{missing} resident respondent(s) lack sex or age, needed for calibration; "
                             "impute them (e.g. hot deck within commune size class) before weighting")
    base = replace(base, data=data)
    nr = survey.adjust_nonresponse(base, "respondent", propensity=list(RESIDENT_RESPONSE_MODEL),
                                   n_classes=recipe.nonresponse_classes, label="non-réponse (classes de propension)")
    margins, src = resident_margins(communes, cb, recipe.population_year) if margins is None else margins
    # a margin is a population group (« Hommes »), not the questionnaire's answer (« Un homme »)
    labels = {"cal_sexe": {str(c.value): (c.key or c.label).capitalize() for c in cb.variable("sexe").codes},
              "cal_age": {str(c.value): c.label for c in cb.variable("age").codes},
              "departement": dict(sources.DEPARTMENTS)}
    names = {"cal_sexe": "sexe", "cal_age": "âge", "departement": "département", "size_class": "taille de commune"}
    return _calibrated_and_trimmed(Weighted("residents", "slot_id", {"design": _respondents_only(base), "nonresponse": nr},
                                            margins, src, labels=labels, names=names), recipe,
                                   f"calage ({METHOD_LABELS[recipe.calibration_method]})")


# ============================================================================ visitors

VISITOR_RESPONSE_MODEL = ("source_type", "zone", "country_group", "multiplicity_group", "purpose")
RESIDENT_RESPONSE_MODEL = ("departement", "size_class")
# the response models' variables, as the reports name them
RESPONSE_VARIABLE_LABELS = {"departement": "leur département", "size_class": "la taille de leur commune",
                            "source_type": "type de partenaire", "zone": "zone visitée",
                            "country_group": "pays", "multiplicity_group": "nombre de fichiers",
                            "purpose": "motif"}


def visitor_design(responses: pd.DataFrame) -> Design:
    """Stratified SRSWOR of the visitor sample (every sampled person, excluded ones removed).

    No finite population correction: a third of the frame is invited but the respondents are a
    few per cent of it (module docstring).
    """
    need = {"person_id", "stratum", "pi", "N_h", "status"}
    if not need <= set(responses.columns):
        raise ParameterError(f"visitor responses lack columns {sorted(need - set(responses.columns))}")
    kept = np.flatnonzero(~responses["status"].eq("excluded").to_numpy(dtype=bool))
    d = responses.take(kept)      # its index reset by the design
    d = d.assign(respondent=d["status"].eq("respondent"), country_group=country_group(d["country"]),
                 multiplicity_group=multiplicity_group(d["multiplicity"]))
    return Design.from_frame(d, prob="pi", strata="stratum")


def weight_visitors(responses: pd.DataFrame, frame: pd.DataFrame, recipe: VisitorRecipe | Mapping[str, Any],
                    rng: np.random.Generator, *, target: str | None = None,
                    margins: tuple[list[Margin], pd.DataFrame] | None = None) -> Weighted:
    """Design weights → response homogeneity groups → calibration (frame totals, or tourism scenario).

    ``margins`` (the result of :func:`visitor_frame_margins`, target ``frame`` only) saves
    recomputing the frame totals when the recipe is run many times (the validation study). Either
    target's totals are the frame's persons in scope: the sampled persons found out of scope estimate
    how many of the frame's are (:func:`in_scope_margins`).
    ``target`` overrides the recipe's ``calibration_target``.
    """
    recipe = VisitorRecipe.from_params(recipe)
    target = target or recipe.calibration_target
    base = _attach_replicates(visitor_design(responses), recipe, rng)
    nr = survey.adjust_nonresponse(base, "respondent", propensity=list(VISITOR_RESPONSE_MODEL),
                                   n_classes=recipe.nonresponse_classes, label="non-réponse (classes de propension)")
    if margins is not None and target != "frame":
        raise ParameterError("precomputed margins are the frame totals: they need calibration_target frame")
    out = out_of_scope_sample(responses)
    if target == "frame":
        margins, src = visitor_frame_margins(frame) if margins is None else margins
        margins = in_scope_margins(margins, out)
    elif target == "tourism":
        if recipe.tourism_margins is None:
            raise ParameterError("parameter 'tourism_margins' is missing: the tourism target needs it")
        margins, src = visitor_tourism_margins(frame, recipe.tourism_margins, out)
        nr = replace(nr, data=nr.data.assign(
            country_group_t=nr.data["country_group"].replace({"inconnu": "France"})))
    else:
        raise ParameterError(f"parameter 'calibration_target' must be frame or tourism, got {target!r}")
    from .visitors import SOURCE_LABELS, ZONE_LABELS

    labels = {"zone": dict(ZONE_LABELS), "source_type": dict(SOURCE_LABELS)}
    names = {"zone": "zone visitée", "source_type": "type de partenaire", "country_group": "pays de résidence",
             "country_group_t": "pays de résidence", "multiplicity_group": "nombre de fichiers"}
    return _calibrated_and_trimmed(Weighted("visitors", "person_id", {"design": _respondents_only(base), "nonresponse": nr},
                                            margins, src, labels=labels, names=names), recipe,
                                   f"calage ({METHOD_LABELS[recipe.calibration_method]}, "
                                   f"{'base' if target == 'frame' else 'tourisme'})")


# ============================================================================ outputs


def key_statistics(design: Design, cb: Codebook, survey: str, statistics: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The design's data with the derived columns of the key statistics, and their selection (``item, statistic,
    level, column``…): ``statistics`` (columns item, statistic, level), by default every common-core mean and
    the NPS score."""
    from . import items

    values, spec = items.derived(design.data, cb, survey)
    if statistics is None:
        statistics = spec.loc[spec["statistic"].isin(["mean", "nps_score"]), ["item", "statistic", "level"]]
    sel = spec.merge(statistics[["item", "statistic", "level"]], on=["item", "statistic", "level"])
    data = design.data.drop(columns=[c for c in values.columns if c in design.data.columns])
    return pd.concat([data, values[sel["column"]]], axis=1), sel


def stage_estimates(w: Weighted, cb: Codebook, statistics: pd.DataFrame | None = None,
                    truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Key estimates unweighted, design-weighted, after non-response and after calibration.

    ``statistics`` (columns item, statistic, level) selects the statistics (default: every
    common-core mean and NPS score); ``truth`` (the simulator's truth file) adds the true value.
    """
    from .. import survey

    final = w.final
    data, sel = key_statistics(final, cb, w.survey, statistics)
    unweighted = _respondents_only(replace(final, data=data, steps=(),
                                             weights=np.ones(len(data))))
    rows = []
    for stage, d in [("unweighted", unweighted)] + list(w.stages.items()):
        dd = replace(d, data=data)
        e = survey.mean(dd, list(sel["column"])).drop(columns=["statistic", "variable", "level", "domain"])
        rows.append(e.assign(stage=stage, column=sel["column"].to_numpy()))
    out = pd.concat(rows, ignore_index=True).merge(sel, on="column")
    if truth is not None and len(truth):
        t = truth.loc[truth["survey"] == w.survey, ["item", "statistic", "level", "value"]]
        t = t.assign(level=t["level"].fillna("").astype(str))
        out = out.merge(t.rename(columns={"value": "truth"}), on=["item", "statistic", "level"], how="left")
    return out


def calibration_variants(w: Weighted, recipe: Recipe) -> dict[str, Design]:
    """The recipe's non-response stage calibrated by each of ``recipe.sensitivity_methods`` (same margins), then
    trimmed as the recipe trims (:func:`_trimmed`), so that the recipe's own method gives the study's weights."""
    out = {}
    for m in recipe.sensitivity_methods:
        bounds = recipe.calibration_bounds if m in ("logit", "truncated") else None
        cal = survey.calibrate(w.stages["nonresponse"], w.margins, method=m, bounds=bounds,
                               label=f"calage ({METHOD_LABELS[m]})")
        out[f"calibration_{m}"] = _trimmed(cal, w.margins, replace(recipe, calibration_method=m))
    return out


DESIGN_COLUMNS = ("var_stratum", "var_psu", "var_fpc")   # built by the design functions; the file has its own


def write_weights(w: Weighted, path: str, recipe: Recipe, *, variants: Mapping[str, Design] | None = None,
                  source: str = "simulated", variant_sources: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write the weighted survey as a weighted-design file (:mod:`portrait.survey.files`).

    The final design with its replicate weights and calibration auxiliaries; the variants
    ``design`` (design weights of the respondents), ``nonresponse`` and any others given; and, as
    attributes, the survey, its identifier column, the recipe's parameters, the margins' sources
    and the notes of merged levels — what the later stages need, so that they read this file only.
    ``variant_sources``: the margins' sources of variants calibrated to other margins, by variant name.
    """
    attrs = {"survey": w.survey, "id_column": w.id_column, "source": source, "recipe": recipe.to_dict(),
             "margin_sources": w.margins_sources.astype(str).to_dict("split", index=False), "notes": list(w.notes)}
    if variant_sources:
        attrs["variant_margin_sources"] = {k: t.astype(str).to_dict("split", index=False)
                                           for k, t in variant_sources.items()}
    keep = [c for c in w.final.data.columns if c not in DESIGN_COLUMNS]
    return survey.write_design(w.final, paths.resolve(path), keep=keep,
                               variants={"design": w.stages["design"], "nonresponse": w.stages["nonresponse"],
                                         **(variants or {})}, attrs=attrs)


def margin_sources(attrs: Mapping[str, Any], variant: str | None = None) -> pd.DataFrame:
    """The margins' sources table held in a weighted file's attributes (empty if it has none); with
    ``variant``, that of the variant calibrated to other margins (:func:`write_weights`)."""
    empty = {"columns": ["marge", "source", "hypothèse"], "data": []}
    ms = attrs.get("margin_sources") if variant is None else (attrs.get("variant_margin_sources") or {}).get(variant)
    ms = ms or empty
    return pd.DataFrame(ms["data"], columns=ms["columns"])


def read_recipe(path: str) -> dict[str, Any]:
    """The recipe parameters a weighted file was produced with (its ``recipe`` attribute)."""
    p = paths.resolve(path)
    meta = survey.read_metadata(p) if p.exists() else None
    if meta is None or "recipe" not in meta.get("attrs", {}):
        raise ParameterError(f"{path} holds no recipe parameters: it was not written by the weighting notebooks "
                             "(weights computed elsewhere?); the validation study re-runs the chain's own weighting "
                             "recipe and cannot validate weights it did not compute")
    return meta["attrs"]["recipe"]


def read_weights(path: str, variant: str | None = None) -> tuple[Design, dict[str, Any]]:
    """A weighted survey written by :func:`write_weights` (or any weighted-design file): design and attributes."""
    p = paths.resolve(path)
    meta = survey.read_metadata(p) if p.exists() else None
    return survey.read_design(p, variant), (meta or {}).get("attrs", {})


def widened_replicates(w: Weighted, kind: str) -> int:
    """Replicates in which a step of this kind (``calibration``: bounded calibration; ``trimming``) had to widen
    its bounds to hold (:meth:`portrait.survey.Design.replicate_adjustments`); none is ever dropped."""
    labels = {s.label for s in w.final.steps if s.kind == kind}
    adj = w.final.replicate_adjustments()
    return int(adj.loc[adj["step"].isin(labels), "replicate"].nunique())


def steps_table(w: Weighted) -> pd.DataFrame:
    """One line per weighting step: what it did, in French, with the weights' diagnostics."""
    rows = []
    after = w.final.steps[len(w.stages["nonresponse"].steps):]          # calibration, then trimming if any
    labels = {"design": "Poids de sondage 1/π (répondants)", "nonresponse": w.final.steps[0].label
              if w.final.steps else "non-réponse", "calibrated": " puis ".join(s.label for s in after) or "calage"}
    prev = None
    for stage, d in w.stages.items():
        diag = survey.weight_diagnostics(d, prev)
        rows.append({"étape": fmt.capitalised(labels[stage]), "répondants pondérés": int(diag["n"]),
                     "somme des poids": diag["somme des poids"], "deff de Kish": diag["deff de Kish"],
                     "taille effective": diag["taille effective"], "CV des poids": diag["CV des poids"],
                     "poids min": diag["poids min"], "poids max": diag["poids max"]})
        prev = d
    return pd.DataFrame(rows)


def model_designs(designs: Mapping[str, Design], count: int
                  ) -> tuple[dict[str, Design], dict[str, tuple[str, int, int]]]:
    """The designs the adjusted models refit on: each survey's first ``count`` bootstrap replicates, or all of its
    replicates when it has fewer, or jackknife ones (which cannot be thinned: 04's and 05's ``replicate_method``).
    Returns the designs and, per survey, the method, the number of replicates used and the number the file holds (for
    the report's caption)."""
    out, used = {}, {}
    for group, d in designs.items():
        R = d.replicate_weights().shape[1]
        out[group] = survey.first_replicates(d, count) if d.replicate_method == "bootstrap" and R > count else d
        used[group] = (d.replicate_method or "replicates", min(R, count) if d.replicate_method == "bootstrap" else R, R)
    return out, used
