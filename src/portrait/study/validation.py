"""Validation study (STUDY §8): Monte Carlo bias, RMSE and confidence-interval coverage of the chain.

The simulator's population truth is known (:func:`portrait.study.fieldwork.truth`), so the whole chain
can be checked by repetition. One replication draws

1. the resident sample (two-stage PPS, :func:`portrait.study.frames.draw_resident_sample`) and the
   visitor sample (stratified SRSWOR, :func:`portrait.study.visitors.draw_visitor_sample`) from the
   frames with the study designs;
2. the fieldwork of both surveys with the simulator (:func:`portrait.study.fieldwork._simulate_group`,
   the same function :func:`portrait.study.fieldwork.simulate` calls);
3. the table of every sampled unit with its status and typed answers, built by
   :func:`portrait.study.ingest.assemble` exactly as the ingest builds it — but from the simulated
   answers held in memory: nothing is written or read. The round trip simulated answers → export
   files (CSV, XLSX, SAV) → ingest is tested elsewhere (``tests/test_ingest.py``,
   ``tests/test_fieldwork.py``), so skipping it here changes no number;
4. the weighting recipes of both surveys (:mod:`portrait.recipes`) and, for a focused set of key
   statistics (:data:`KEY_STATISTICS`), five estimators: unweighted, design-weighted (1/π),
   non-response-adjusted, calibrated by raking, calibrated by bounded logit — each with its
   estimate, linearised standard error (calibration residuals included) and 95 % confidence
   interval (Student's t on the design degrees of freedom), and the visitors − residents
   differences with their Wald test (:func:`differences`, the formulas of
   :func:`portrait.study.compare.differences`);
5. optionally (``bootstrap=True``, costlier) the same with Rao–Wu bootstrap variances, the whole
   recipe — non-response adjustment and calibration — re-run in every replicate.

:func:`summary` then gives, per statistic × estimator × variance method, the bias, relative bias,
RMSE, coverage of the 95 % intervals with its Monte Carlo (Wilson) interval, the ratio of the mean
SE to the empirical SD, and for the differences the rejection rate at 5 % where no difference was
planted (the test's size) and the power where one was.

Everything expensive and fixed — frames, codebook, fieldwork model, population cells, the solved
propensity intercepts and thresholds, the truth, the calibration margins — is computed once in
:class:`Validation`; a replication reads no file. Replications get independent seeds from one
``numpy.random.SeedSequence(study seed)`` (replication ``i`` uses its ``i``-th spawned child,
whatever the number of replications or workers), and every draw of a replication comes from that
child: the results do not depend on the scheduling of the workers.

References
----------
Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation studies to evaluate
statistical methods. *Statistics in Medicine* 38, 2074–2102. (bias, coverage, Monte Carlo error)
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*JASA* 22, 209–212.
Rao, J. N. K., Wu, C. F. J. and Yue, K. (1992). Some recent work on resampling methods for
complex surveys. *Survey Methodology* 18, 209–217.
"""

from __future__ import annotations

import multiprocessing
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import codebook as codebook_mod
from ..reporting import formatting as fmt
from . import compare, fieldwork, ingest, items, recipes, frames, visitors
from ..pipeline import config, paths, sources
from .. import survey
from .codebook import Codebook
from ..survey import Design
from ..pipeline.errors import CalibrationError, ParameterError, PortraitError, SurveyError

ESTIMATORS = ("unweighted", "design", "nonresponse", "raking", "logit")
ESTIMATOR_LABELS = {"unweighted": "Non pondéré", "design": "Poids de sondage (1/π)",
                    "nonresponse": "Après non-réponse", "raking": "Calage (raking)",
                    "logit": "Calage (logit borné)"}
WEAK_LABELS = {"unweighted": "non pondérées", "design": "avec les seuls poids de sondage",
               "nonresponse": "seulement corrigées de la non-réponse"}
VARIANCES = ("linearisation", "bootstrap")
VARIANCE_LABELS = {"linearisation": "linéarisation", "bootstrap": "bootstrap"}
DIFFERENCE_NAME = compare.DIFFERENCE
SURVEYS = ("residents", "visitors", compare.DIFFERENCE)
SURVEY_LABELS = {"residents": "Habitants", "visitors": "Clients du territoire",
                 compare.DIFFERENCE: "Différence clients − habitants"}
CALIBRATED = ("raking", "logit")

#: The key statistics of the study followed by the validation: both scores, the NPS, the top-2 box
#: of six image items (three with a planted resident–visitor difference, three without) and two
#: strengths (the littoral, whose weight the model shifts for visitors, and the heritage, whose share
#: differs only slightly, through the shift of the other options). Level names are those of
#: :mod:`portrait.items` and of the truth file.
KEY_STATISTICS = pd.DataFrame([
    ("image_globale", "mean", ""), ("recommandation", "mean", ""), ("recommandation", "nps_score", ""),
    ("img_conviviale", "accord", "top2"), ("img_dynamique", "accord", "top2"), ("img_nature", "accord", "top2"),
    ("img_accueillante", "accord", "top2"), ("img_sure", "accord", "top2"), ("img_innovante", "accord", "top2"),
    ("forces", "share", "5"), ("forces", "share", "3"),
], columns=["item", "statistic", "level"])

RESULT_COLUMNS = ["replication", "survey", "item", "statistic", "level", "estimator", "variance", "estimate",
                  "se", "ci_low", "ci_high", "df", "n", "p", "error"]


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
    truth : their population values (surveys and ``visitors - residents``) and ``planted``
        (true difference not zero).
    logit_bounds : bounds on g of the bounded-logit estimator.
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

    @classmethod
    def build(cls, *, seed: int, codebook_file: str | Path, model_file: str | Path,
              resident_frame: str | Path | pd.DataFrame, visitor_frame: str | Path | pd.DataFrame,
              population_year: int, resident_design: Mapping[str, Any], visitor_design: Mapping[str, Any],
              resident_weighting: Mapping[str, Any], visitor_weighting: Mapping[str, Any],
              statistics: pd.DataFrame = KEY_STATISTICS, logit_bounds: Sequence[float] = (0.3, 3.0),
              min_core_answered: int = 8, level: float = 0.95) -> "Validation":
        """Read the inputs and compute everything fixed (population cells, calibration, truth, margins).

        ``resident_design`` and ``visitor_design`` are the parameters of notebooks 01 and 02
        (``invitations``, ``take_per_commune``, ``allocation``, ``min_psu_per_stratum``;
        ``invitations``, ``min_per_stratum``); ``resident_weighting`` and ``visitor_weighting``
        those of notebooks 04 and 05. The calibration method of the recipes is set by each
        estimator (raking, bounded logit with ``logit_bounds``).
        """
        config.require({"seed": seed}, "seed", int, minimum=0)
        bounds = tuple(float(b) for b in logit_bounds)
        if len(bounds) != 2 or not bounds[0] < 1 < bounds[1]:
            raise ParameterError(f"parameter 'logit_bounds' must be [L, U] with L < 1 < U, got {list(logit_bounds)}")
        cb = codebook_mod.load(codebook_file)
        model = fieldwork.FieldworkModel.load(cb, model_file)
        rframe = resident_frame if isinstance(resident_frame, pd.DataFrame) else pd.read_parquet(paths.resolve(resident_frame))
        vframe = visitor_frame if isinstance(visitor_frame, pd.DataFrame) else pd.read_parquet(paths.resolve(visitor_frame))
        population = sources.read_population(population_year)
        rdesign = frames.ResidentDesign.from_params(resident_design)
        vdesign = visitors.VisitorDesign(invitations=config.require(visitor_design, "invitations", int, minimum=1),
                                         min_per_stratum=config.require(visitor_design, "min_per_stratum", int, minimum=1))
        vstrata = visitors.allocate_invitations(vframe, vdesign)
        res_cells = fieldwork.resident_population(model, rframe, population)
        vis_cells, mapping = fieldwork.visitor_population(model, vframe)
        pop = fieldwork.Population(res_cells, vis_cells, mapping)
        cal = fieldwork.calibrate(model, pop)
        truth = key_truth(fieldwork.truth(model, pop, cal), statistics)
        # wrong recipe parameters fail here, not in every replication
        rw = recipes.ResidentRecipe.from_params({**dict(resident_weighting), "population_year": population_year})
        vw = recipes.VisitorRecipe.from_params(visitor_weighting)
        return cls(seed=seed, codebook=cb, model=model, calibration=cal, population=population,
                   resident_frame=rframe, visitor_frame=vframe, resident_design=rdesign, visitor_strata=vstrata,
                   resident_weighting=rw, visitor_weighting=vw,
                   resident_margins=recipes.resident_margins(rframe, cb, population_year),
                   visitor_margins=recipes.visitor_frame_margins(vframe),
                   statistics=statistics[["item", "statistic", "level"]].reset_index(drop=True),
                   truth=truth, logit_bounds=bounds, min_core_answered=min_core_answered, level=level)


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


# ============================================================================ one replication


def _child(seq: np.random.SeedSequence, j: int) -> np.random.SeedSequence:
    """The ``j``-th independent stream of a replication's seed sequence (no state is consumed)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (j,), pool_size=seq.pool_size)


def replication_index(seq: np.random.SeedSequence) -> int:
    """The replication number of a child of the study's ``SeedSequence`` (its last spawn key)."""
    return int(seq.spawn_key[-1]) if seq.spawn_key else 0


def simulate_responses(setup: Validation, resident_slots: pd.DataFrame, visitor_sample: pd.DataFrame,
                       seed: int) -> dict[str, pd.DataFrame]:
    """Simulated fieldwork of both samples → the ingest's table of every sampled unit, in memory.

    Same draws as :func:`portrait.study.fieldwork.simulate` with this ``seed`` (the population quantities
    come from the setup instead of being solved again), and the same table as
    :func:`portrait.study.ingest.ingest` would build from the exports (:func:`portrait.study.ingest.assemble`).
    """
    cb, model = setup.codebook, setup.model
    units = {"residents": fieldwork.resident_units(resident_slots, setup.resident_frame),
             "visitors": fieldwork.visitor_units(model, visitor_sample,
                                                 config.rng(seed, "fieldwork/visitors/attributes"))}
    samples = {"residents": resident_slots, "visitors": visitor_sample}
    out = {}
    for group in fieldwork.GROUPS:
        _, export, disp = fieldwork._simulate_group(model, setup.calibration, group, units[group],
                                                     setup.population if group == "residents" else None, seed)
        answers = export.assign(source_row=pd.array(np.arange(2, len(export) + 2), dtype="Int32"))
        out[group] = ingest.assemble(group, samples[group], answers, disp, cb, setup.min_core_answered).responses
    return out


def _unweighted(design: Design) -> Design:
    """Respondents with weight 1 (the design's strata and PSUs kept, replicate factors too)."""
    w = (design.weights > 0).astype(float)
    return replace(design, weights=w, base_weights=w, steps=())


def _estimator_designs(w: recipes.Weighted, bounds: tuple[float, float]) -> dict[str, Design | Exception]:
    """The five estimators' designs of a weighted survey; a calibration failure is kept as its error."""
    nr = w.stages["nonresponse"]
    out: dict[str, Design | Exception] = {"unweighted": _unweighted(w.stages["design"]),
                                          "design": w.stages["design"], "nonresponse": nr, "raking": w.final}
    try:
        out["logit"] = survey.calibrate(nr, w.margins, method="logit", bounds=bounds, label="calage (logit)")
    except CalibrationError as exc:
        out["logit"] = exc
    return out


def _survey_estimates(setup: Validation, w: recipes.Weighted, variances: Sequence[str]) -> pd.DataFrame:
    """Estimates of the key statistics in one survey, for every estimator and variance method."""
    cb = setup.codebook
    final = w.final
    values, spec = items.derived(final.data, cb, w.survey, words=False)
    sel = spec.merge(setup.statistics, on=["item", "statistic", "level"])
    data = pd.concat([final.data.drop(columns=[c for c in values.columns if c in final.data.columns]),
                      values[sel["column"]]], axis=1)
    cols = list(sel["column"])
    rows = []

    def failed(exc: Exception, where: str) -> pd.DataFrame:
        return pd.DataFrame({"column": cols, "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "df": np.nan, "n": np.nan, "error": f"{where}: {str(exc).splitlines()[0]}"})

    for name, d in _estimator_designs(w, setup.logit_bounds).items():
        for variance in variances:
            if isinstance(d, Exception):
                e = failed(d, w.survey)
            else:
                dd = replace(d, data=data)
                try:
                    e = survey.mean(dd, cols, variance="linearisation" if variance == "linearisation"
                                        else "replicates", level=setup.level)
                except CalibrationError as exc:   # a bootstrap replicate the recipe cannot calibrate
                    e = failed(exc, f"{w.survey}, bootstrap replicate")
                else:
                    e = e[["estimate", "se", "ci_low", "ci_high", "df", "n"]].assign(column=cols, error="")
            rows.append(e.assign(estimator=name, variance=variance))
    out = pd.concat(rows, ignore_index=True).merge(sel, on="column")
    return out.assign(group=w.survey)


def _failed_survey(setup: Validation, survey: str, variances: Sequence[str], exc: Exception) -> pd.DataFrame:
    """Rows of a survey whose weighting recipe failed: every estimate NaN, with the error."""
    labels = {"label": "", "item_label": "", "type": ""}
    grid = setup.statistics.merge(pd.DataFrame({"estimator": list(ESTIMATORS)}), how="cross").merge(
        pd.DataFrame({"variance": list(variances)}), how="cross")
    return grid.assign(group=survey, estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, df=np.nan, n=np.nan,
                       error=f"{survey}: {str(exc).splitlines()[0]}", **labels)


def replicate(setup: Validation, seq: np.random.SeedSequence, *, bootstrap: bool = False,
              replicates: int = 50) -> pd.DataFrame:
    """One replication of the whole chain: samples → fieldwork → weighting → estimates.

    Parameters
    ----------
    setup : the study's :class:`Validation`.
    seq : this replication's seed sequence (a child of ``SeedSequence(setup.seed)``); every draw —
        both samples, the fieldwork, the bootstrap replicates — comes from it.
    bootstrap : also compute bootstrap variances (``replicates`` Rao–Wu replicates per survey,
        the whole recipe re-run in each); otherwise only the linearised ones.

    Returns
    -------
    pandas.DataFrame
        One row per survey (``residents``, ``visitors``, ``visitors - residents``) × key statistic ×
        estimator × variance method: ``estimate, se, ci_low, ci_high, df, n`` and, for the
        differences, the Wald ``p``; ``error`` names a calibration that failed (its row is NaN).

    Notes
    -----
    Reads no file and writes none: the simulated answers go straight to the ingest's table
    (:func:`simulate_responses`); the export → ingest round trip is tested elsewhere.
    """
    if bootstrap:
        config.require({"replicates": replicates}, "replicates", int, minimum=2)
    index = replication_index(seq)
    res_rng = np.random.Generator(np.random.PCG64(_child(seq, 0)))
    vis_rng = np.random.Generator(np.random.PCG64(_child(seq, 1)))
    fw_seed = int(_child(seq, 2).generate_state(1, np.uint64)[0])
    slots = frames.draw_resident_sample(setup.resident_frame, setup.resident_design, res_rng).slots
    vsample = visitors.draw_visitor_sample(setup.visitor_frame, setup.visitor_strata, vis_rng)
    responses = simulate_responses(setup, slots, vsample, fw_seed)

    n_rep = replicates if bootstrap else 2     # linearised only: the replicate factors are never used
    rw = replace(setup.resident_weighting, calibration_method="raking", replicates=n_rep)
    vw = replace(setup.visitor_weighting, calibration_method="raking", replicates=n_rep)
    variances = VARIANCES if bootstrap else VARIANCES[:1]
    parts = []
    for group, weigh in (
            ("residents", lambda: recipes.weight_residents(
                responses["residents"], setup.resident_frame, setup.codebook, rw,
                np.random.Generator(np.random.PCG64(_child(seq, 3))), margins=setup.resident_margins)),
            ("visitors", lambda: recipes.weight_visitors(
                responses["visitors"], setup.visitor_frame, vw,
                np.random.Generator(np.random.PCG64(_child(seq, 4))), margins=setup.visitor_margins))):
        try:
            w = weigh()
        except CalibrationError as exc:     # the sample drawn cannot be calibrated: every estimator fails
            parts.append(_failed_survey(setup, group, variances, exc))
        else:
            parts.append(_survey_estimates(setup, w, variances))
    est = pd.concat(parts, ignore_index=True)

    diff = differences(est, setup.level)
    out = pd.concat([est.rename(columns={"group": "survey"}).assign(p=np.nan)[RESULT_COLUMNS[1:]],
                     diff[RESULT_COLUMNS[1:]]], ignore_index=True)
    out.insert(0, "replication", index)
    out[["df", "n"]] = out[["df", "n"]].astype(float)
    return _ordered(out)


def differences(estimates: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Visitors − residents for every statistic × estimator × variance method, with the Wald test.

    The formulas of :func:`portrait.study.compare.differences` (independent samples: V_r + V_v, Student's
    t on df_r + df_v), vectorised over estimators and variance methods; a failed estimate (NaN)
    gives a NaN difference and carries its error.
    """
    key = ["estimator", "variance", "item", "statistic", "level"]
    r = estimates.loc[estimates["group"] == "residents"].set_index(key)
    v = estimates.loc[estimates["group"] == "visitors"].set_index(key).reindex(r.index)
    diff = v["estimate"] - r["estimate"]
    se = np.sqrt(v["se"] ** 2 + r["se"] ** 2)
    df = v["df"] + r["df"]
    t = diff / se.where(se > 0)
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.5 + level / 2, df)
    errors = [("; ".join(x for x in (a, b) if isinstance(x, str) and x)) for a, b in zip(r["error"], v["error"])]
    return pd.DataFrame({"survey": compare.DIFFERENCE, "estimate": diff.to_numpy(), "se": se.to_numpy(),
                         "ci_low": (diff - q * se).to_numpy(), "ci_high": (diff + q * se).to_numpy(),
                         "df": df.to_numpy(), "n": (r["n"] + v["n"]).to_numpy(), "p": np.asarray(p, dtype=float),
                         "error": errors}, index=r.index).reset_index()


def _ordered(results: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order: replication, survey, statistic (key order), estimator, variance."""
    key = {(r.item, r.statistic, r.level): i for i, r in enumerate(KEY_STATISTICS.itertuples())}
    r = results.assign(
        _s=results["survey"].map({s: i for i, s in enumerate(SURVEYS)}),
        _k=[key.get((i, s, lv), len(key)) for i, s, lv in zip(results["item"], results["statistic"], results["level"])],
        _e=results["estimator"].map({e: i for i, e in enumerate(ESTIMATORS)}),
        _v=results["variance"].map({v: i for i, v in enumerate(VARIANCES)}))
    r = r.sort_values(["replication", "_s", "_k", "item", "statistic", "level", "_e", "_v"], kind="stable")
    return r.drop(columns=["_s", "_k", "_e", "_v"]).reset_index(drop=True)


# ============================================================================ many replications

def single_threaded_blas():
    """Context manager (threadpoolctl): BLAS uses one thread inside, its previous setting is restored after.

    Each replication is small (a few thousand rows): BLAS threads of parallel workers only compete
    for the cores. Measured on the 2-core machine with other jobs running: a replication took
    about 3 s with OpenBLAS's default threads and 1.2 s with one thread (``BENCHMARKS.md``).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


_WORKER_SETUP: Validation | None = None     # set in each worker process by _init_worker, never in the parent


def _init_worker(setup: Validation) -> None:
    """Worker initializer: keep the setup for the worker's tasks; its BLAS runs on one thread."""
    global _WORKER_SETUP
    _WORKER_SETUP = setup
    single_threaded_blas().__enter__()


def _task(setup: Validation | None, args: tuple[np.random.SeedSequence, bool, int]) -> pd.DataFrame:
    seq, boot, replicates = args
    setup = setup if setup is not None else _WORKER_SETUP
    if setup is None:   # pragma: no cover - the executor's initializer always sets it
        raise RuntimeError("the validation setup is not initialised in this worker")
    try:
        return replicate(setup, seq, bootstrap=boot, replicates=replicates)
    except (PortraitError, SurveyError) as exc:
        raise type(exc)(f"replication {replication_index(seq)}: {exc}") from exc


def run(setup: Validation, n_replications: int, workers: int = 2, bootstrap: bool = False, progress: bool = True,
        *, bootstrap_replications: int | None = None, replicates: int = 50) -> pd.DataFrame:
    """Run ``n_replications`` replications in parallel; results sorted by replication (deterministic).

    Parameters
    ----------
    workers : worker processes (:class:`concurrent.futures.ProcessPoolExecutor`; the setup goes
        to each worker once, by its initializer); 1 runs in this process. Results do not depend on it.
    bootstrap : add bootstrap variances (``replicates`` replicates per survey) to the first
        ``bootstrap_replications`` replications (all of them when None).
    progress : a tqdm progress bar on standard error, shown only when it is a terminal.
    """
    config.require({"n_replications": n_replications}, "n_replications", int, minimum=1)
    config.require({"workers": workers}, "workers", int, minimum=1)
    n_boot = (n_replications if bootstrap_replications is None else bootstrap_replications) if bootstrap else 0
    config.require({"bootstrap_replications": n_boot}, "bootstrap_replications", int, minimum=0)
    children = np.random.SeedSequence(setup.seed).spawn(n_replications)
    tasks = [(seq, i < n_boot, replicates) for i, seq in enumerate(children)]
    # bootstrap replications first: the longest tasks start early and the workers finish together
    tasks.sort(key=lambda t: not t[1])
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    bar = tqdm(total=n_replications, desc="réplications", unit="rép",
               disable=not (progress and sys.stderr.isatty()), file=sys.stderr)
    parts = []
    try:
        if workers == 1 or n_replications == 1:
            with single_threaded_blas():
                for t in tasks:
                    parts.append(_task(setup, t))
                    bar.update()
        else:
            # fork where the platform has it (the setup is inherited, nothing is copied); spawn elsewhere
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with ProcessPoolExecutor(min(workers, n_replications), mp_context=ctx, initializer=_init_worker,
                                     initargs=(setup,)) as pool:
                futures = [pool.submit(_task, None, t) for t in tasks]
                for done in as_completed(futures):
                    parts.append(done.result())
                    bar.update()
    finally:
        bar.close()
    return _ordered(pd.concat(parts, ignore_index=True))


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


def summary(results: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05, level: float = 0.95) -> pd.DataFrame:
    """Monte Carlo performance of every statistic × estimator × variance method.

    Columns: ``replications`` (with an estimate), ``failures``, ``truth``, ``mean``, ``bias``
    (mean − truth) with its Monte Carlo SE ``bias_mcse`` (SD/√R), ``rel_bias`` (bias / |truth|;
    NaN when the truth is 0), ``bias_sd`` (bias / empirical SD), ``rmse``, ``sd`` (empirical SD of
    the estimates), ``mean_se``, ``se_ratio`` (mean SE / SD), ``coverage`` of the intervals with
    its Wilson interval ``coverage_low``, ``coverage_high``, and for the differences
    ``rejection`` (share of p < ``alpha``) with its Wilson interval; ``planted`` tells whether the
    true difference is non-zero (rejection = power) or zero (rejection = size of the test).
    """
    t = truth.assign(level=truth["level"].fillna("").astype(str))
    r = results.merge(t[["survey", "item", "statistic", "level", "value", "planted"]].rename(columns={"value": "truth"}),
                      on=["survey", "item", "statistic", "level"], how="inner")
    ok = r["estimate"].notna()
    r = r.assign(_ok=ok, _err2=(r["estimate"] - r["truth"]) ** 2,
                 _cov=((r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"])).where(ok).astype(float),
                 _rej=(r["p"] < alpha).where(r["p"].notna()).astype(float))
    g = r.groupby(SUMMARY_KEYS, sort=False)
    out = g.agg(replications=("_ok", "sum"), rows=("_ok", "size"), truth=("truth", "first"),
                planted=("planted", "first"), mean=("estimate", "mean"), sd=("estimate", "std"),
                mse=("_err2", "mean"), mean_se=("se", "mean"), covered=("_cov", "sum"),
                rejected=("_rej", "sum"), tested=("_rej", "count")).reset_index()
    out["failures"] = (out["rows"] - out["replications"]).astype(int)
    out["replications"] = out["replications"].astype(int)
    out["bias"] = out["mean"] - out["truth"]
    out["bias_mcse"] = out["sd"] / np.sqrt(out["replications"])
    out["rel_bias"] = np.where(out["truth"].abs() > 1e-9, out["bias"] / out["truth"].abs(), np.nan)
    out["bias_sd"] = out["bias"] / out["sd"]
    out["rmse"] = np.sqrt(out["mse"])
    out["se_ratio"] = out["mean_se"] / out["sd"]
    out["coverage"] = out["covered"] / out["replications"]
    out["coverage_low"], out["coverage_high"] = wilson(out["covered"], out["replications"], level)
    is_diff = out["survey"] == compare.DIFFERENCE
    out["rejection"] = np.where(is_diff & (out["tested"] > 0), out["rejected"] / out["tested"].where(out["tested"] > 0),
                                np.nan)
    lo, hi = wilson(out["rejected"], out["tested"], level)
    out["rejection_low"] = np.where(is_diff, lo, np.nan)
    out["rejection_high"] = np.where(is_diff, hi, np.nan)
    out["planted"] = out["planted"].astype(bool)
    cols = SUMMARY_KEYS + ["planted", "replications", "failures", "truth", "mean", "bias", "bias_mcse", "rel_bias",
                           "bias_sd", "sd", "rmse", "mean_se", "se_ratio", "coverage", "coverage_low",
                           "coverage_high", "rejection", "rejection_low", "rejection_high"]
    return _ordered(out.assign(replication=0))[cols]


def by_estimator(summ: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Performance pooled over the key statistics, per survey × estimator × variance method.

    Coverage is the share of all intervals (statistics × replications) that contain the truth,
    with a Wilson interval; the statistics are correlated, so this interval is only indicative.
    ``max_abs_rel_bias`` and ``max_abs_bias_sd`` are the worst statistic's; ``rejection`` pools
    the differences without a planted difference, ``power`` those with one.
    """
    s = summ.assign(_cov=summ["coverage"] * summ["replications"],
                    _rej0=np.where(~summ["planted"], summ["rejection"] * summ["replications"], np.nan),
                    _n0=np.where(~summ["planted"] & summ["rejection"].notna(), summ["replications"], np.nan),
                    _rej1=np.where(summ["planted"], summ["rejection"] * summ["replications"], np.nan),
                    _n1=np.where(summ["planted"] & summ["rejection"].notna(), summ["replications"], np.nan),
                    _arb=summ["rel_bias"].abs(), _abs=summ["bias_sd"].abs())
    g = s.groupby(["survey", "estimator", "variance"], sort=False)
    out = g.agg(statistics=("item", "size"), replications=("replications", "max"), covered=("_cov", "sum"),
                intervals=("replications", "sum"), max_abs_rel_bias=("_arb", "max"),
                mean_abs_rel_bias=("_arb", "mean"), max_abs_bias_sd=("_abs", "max"),
                mean_se_ratio=("se_ratio", "mean"), rej0=("_rej0", "sum"), n0=("_n0", "sum"),
                rej1=("_rej1", "sum"), n1=("_n1", "sum")).reset_index()
    out["coverage"] = out["covered"] / out["intervals"]
    out["coverage_low"], out["coverage_high"] = wilson(out["covered"], out["intervals"], level)
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
            text = f"{item} : score NPS"
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
    """:func:`by_estimator` with French headers, percentages, one row per survey × estimator × variance."""
    t = pooled
    return pd.DataFrame({
        "Enquête": t["survey"].map(SURVEY_LABELS), "Estimateur": t["estimator"].map(ESTIMATOR_LABELS),
        "Variance": t["variance"].map(VARIANCE_LABELS), "Réplications": t["replications"],
        "|Biais relatif| moyen (%)": fmt.round(t["mean_abs_rel_bias"] * 100, 2),
        "|Biais relatif| max (%)": fmt.round(t["max_abs_rel_bias"] * 100, 2),
        "|Biais| max (en écarts-types)": fmt.round(t["max_abs_bias_sd"], 2),
        "Erreur type moyenne / écart-type": fmt.round(t["mean_se_ratio"], 3),
        "Couverture à 95 % (%)": fmt.round(t["coverage"] * 100, 1),
        "Intervalle Monte-Carlo (%)": [f"{fmt.number(lo * 100, 1)} – {fmt.number(hi * 100, 1)}"
                                       for lo, hi in zip(t["coverage_low"], t["coverage_high"])],
        "Rejet à tort à 5 % (%)": fmt.round(t["rejection"] * 100, 1),
        "Puissance (%)": fmt.round(t["power"] * 100, 1),
    })


def detail_table_fr(summ: pd.DataFrame, cb: Codebook, variance: str = "linearisation") -> pd.DataFrame:
    """Per statistic: true value, then relative bias (%), RMSE and coverage (%) of each estimator.

    For a difference whose true value is 0, the relative bias is not defined: the bias is shown in
    units of the estimator's standard deviation instead (column « biais (écarts-types) »).
    """
    labels = statistic_labels(cb)
    s = summ.loc[summ["variance"] == variance].copy()
    s["Statistique"] = [labels.get((i, st, lv), i) for i, st, lv in zip(s["item"], s["statistic"], s["level"])]
    s["Enquête"] = s["survey"].map(SURVEY_LABELS)
    s["Estimateur"] = s["estimator"].map(ESTIMATOR_LABELS)
    s["biais relatif (%)"] = fmt.round(s["rel_bias"] * 100, 2)
    s["biais (écarts-types)"] = fmt.round(s["bias_sd"], 2)
    s["RMSE"] = fmt.round(s["rmse"], 4)
    s["couverture (%)"] = fmt.round(s["coverage"] * 100, 1)
    wide = s.pivot_table(index=["Enquête", "Statistique"], columns="Estimateur", sort=False,
                         values=["biais relatif (%)", "biais (écarts-types)", "RMSE", "couverture (%)"])
    wide = wide.swaplevel(0, 1, axis=1)
    order = [ESTIMATOR_LABELS[e] for e in ESTIMATORS if ESTIMATOR_LABELS[e] in wide.columns.get_level_values(0)]
    metrics = ["biais relatif (%)", "biais (écarts-types)", "RMSE", "couverture (%)"]
    wide = wide.reindex(columns=pd.MultiIndex.from_product([order, metrics]))
    truth = s.drop_duplicates(["Enquête", "Statistique"]).set_index(["Enquête", "Statistique"])["truth"]
    wide.insert(0, ("", "valeur vraie"), fmt.round(truth.reindex(wide.index), 4))
    return wide


def _int(n: int) -> str:
    return fmt.number(int(n))


def _pct(x: float, decimals: int = 1) -> str:
    return fmt.number(x * 100, decimals) + " %"


def expected_outside(replications: int, level: float = 0.95, nominal: float = 0.95) -> float:
    """Probability that the Wilson interval of a coverage estimated from ``replications`` replications
    excludes ``nominal`` although the true coverage is ``nominal`` (binomial, exact)."""
    k = np.arange(replications + 1)
    lo, hi = wilson(k, replications, level)
    return float(stats.binom.pmf(k, replications, nominal)[(lo > nominal) | (hi < nominal)].sum())


def acceptance(summ: pd.DataFrame, estimators: Sequence[str] = CALIBRATED,
               results: pd.DataFrame | None = None, truth: pd.DataFrame | None = None) -> dict[str, Any]:
    """The numbers behind the conclusion, for the calibrated estimators.

    Bias: ``max_abs_rel_bias`` is the worst relative bias over both surveys' statistics (the
    differences, some of whose true values are 0 or close to it, are judged by their bias in
    standard deviations); ``max_abs_bias_sd`` the worst bias in SDs over every statistic, differences
    included; it passes below ``bias_tolerance`` = 0.1 SD + 3/√R (3/√R: the Monte Carlo error of the
    worst of many standardised biases).

    Coverage, per variance method and per calibrated estimator: the number of key statistics whose
    Monte Carlo (Wilson) interval excludes 95 % passes if it is at most the 95th percentile of its
    distribution when every true coverage is 95 % (binomial, :func:`expected_outside`) plus one for the
    correlation between statistics of a replication. With ``results`` and ``truth``, the bootstrap is
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
        "bias_tolerance": float(0.1 + 3 / np.sqrt(max(r, 1))),
        "failures": int(cal["failures"].sum()),
    }
    out["bias_ok"] = bool(out["max_abs_bias_sd"] <= out["bias_tolerance"])
    for variance in VARIANCES:
        v = cal.loc[(cal["variance"] == variance) & (cal["replications"] > 0)]
        if not len(v):
            continue
        per = {}
        for est, e in v.groupby("estimator", sort=False):
            outside = int(((e["coverage_low"] > 0.95) | (e["coverage_high"] < 0.95)).sum())
            p_out = float(np.mean([expected_outside(int(n)) for n in e["replications"]]))
            limit = int(stats.binom.ppf(0.95, len(e), p_out)) + 1
            per[est] = {"outside": outside, "expected": p_out * len(e), "limit": limit, "ok": outside <= limit}
        out[variance] = {"replications": int(v["replications"].max()),
                         "coverage": float((v["coverage"] * v["replications"]).sum() / v["replications"].sum()),
                         "coverage_min": float(v["coverage"].min()), "coverage_max": float(v["coverage"].max()),
                         "statistics": int(v.groupby("estimator").size().max()), "per_estimator": per,
                         "ok": all(x["ok"] for x in per.values()), "se_ratio": float(v["se_ratio"].mean())}
    if results is not None and truth is not None and "bootstrap" in out:
        cal_rows = results.loc[results["estimator"].isin(estimators)]
        reps = set(cal_rows.loc[cal_rows["variance"] == "bootstrap", "replication"])
        same = cal_rows.loc[cal_rows["replication"].isin(reps)]
        paired = summary(same, truth)
        pl = paired.loc[paired["variance"] == "linearisation"]
        key = ["replication", "survey", "item", "statistic", "level", "estimator"]
        se = same.pivot_table(index=key, columns="variance", values="se").dropna()
        out["bootstrap"]["paired_linearised_coverage"] = float(
            (pl["coverage"] * pl["replications"]).sum() / pl["replications"].sum())
        out["bootstrap"]["se_ratio_to_linearised"] = float((se["bootstrap"] / se["linearisation"]).mean())
        out["bootstrap"]["same_as_linearised"] = bool(
            abs(out["bootstrap"]["paired_linearised_coverage"] - out["bootstrap"]["coverage"]) < 0.01
            and abs(out["bootstrap"]["se_ratio_to_linearised"] - 1) < 0.03)
    d = lin.loc[lin["survey"] == compare.DIFFERENCE]
    null, alt = d.loc[~d["planted"]], d.loc[d["planted"]]
    out["rejection"] = float((null["rejection"] * null["replications"]).sum() / null["replications"].sum()) \
        if len(null) else np.nan
    out["power"] = float((alt["rejection"] * alt["replications"]).sum() / alt["replications"].sum()) \
        if len(alt) else np.nan
    out["power_min"] = float(alt["rejection"].min()) if len(alt) else np.nan
    if len(alt):
        weakest = alt.loc[alt["rejection"].idxmin()]
        out["power_min_statistic"] = (weakest["item"], weakest["statistic"], weakest["level"])
        out["power_min_truth"] = float(weakest["truth"])
    un = summ.loc[(summ["estimator"] == "unweighted") & (summ["variance"] == "linearisation")
                  & (summ["survey"] != compare.DIFFERENCE)]
    worst = un.loc[un["bias_sd"].abs().idxmax()] if len(un) else None
    out["unweighted_max_abs_bias_sd"] = float(worst["bias_sd"]) if worst is not None else np.nan
    out["unweighted_max_abs_rel_bias"] = float(un["rel_bias"].abs().max()) if len(un) else np.nan
    out["unweighted_worst"] = (worst["survey"], worst["item"], worst["statistic"], worst["level"]) \
        if worst is not None else None
    out["unweighted_coverage"] = float((un["coverage"] * un["replications"]).sum() / un["replications"].sum()) \
        if len(un) else np.nan
    return out


def conclusion_fr(summ: pd.DataFrame, cb: Codebook, replicates: int | None = None,
                  results: pd.DataFrame | None = None, truth: pd.DataFrame | None = None) -> str:
    """What a reviewer should conclude, in French, generated from the Monte Carlo results
    (:func:`acceptance`; ``results`` and ``truth`` add the bootstrap's comparison with the linearisation)."""
    a = acceptance(summ, results=results, truth=truth)
    labels = statistic_labels(cb)
    parts = [f"Sur **{_int(a['replications'])} réplications** de toute la chaîne (tirage des deux échantillons, terrain "
             "simulé, pondération, estimation), les estimateurs calés (raking et logit borné) ont un biais relatif "
             f"d'au plus **{_pct(a['max_abs_rel_bias'], 2)}** de la valeur vraie pour les statistiques de chaque "
             f"enquête ; toutes statistiques et différences confondues, leur biais ne dépasse pas "
             f"**{fmt.number(a['max_abs_bias_sd'], 2)} écart-type** de l'estimateur"
             f" (erreur Monte-Carlo comprise, le seuil est de {fmt.number(a['bias_tolerance'], 2)})."]
    ok = bool(a["bias_ok"])
    for variance, name in (("linearisation", "linéarisés"), ("bootstrap", "bootstrap")):
        c = a.get(variance)
        if c is None:
            continue
        extra = f", {replicates} répliques par enquête" if variance == "bootstrap" and replicates else ""
        reps = f"{_int(c['replications'])} réplication{'s' if c['replications'] > 1 else ''}"
        counts = " et ".join(f"{x['outside']} ({ESTIMATOR_LABELS[e].split('(')[-1].rstrip(')')})"
                             for e, x in c["per_estimator"].items())
        expected = max(x["expected"] for x in c["per_estimator"].values())
        text = (f"Leurs intervalles à 95 % ({name}, {reps}{extra}) contiennent la vraie valeur "
                f"**{_pct(c['coverage'])}** du temps (de {_pct(c['coverage_min'])} à {_pct(c['coverage_max'])} selon "
                f"la statistique) ; sur les {c['statistics']} statistiques, l'intervalle Monte-Carlo de la couverture "
                f"exclut 95 % pour {counts}, quand le hasard seul en ferait sortir "
                + fmt.number(expected, 1))
        text += " : c'est compatible." if c["ok"] else " : c'est plus que le hasard."
        if "paired_linearised_coverage" in c:
            text += (f" Sur ces mêmes réplications, les intervalles linéarisés couvrent "
                     f"{_pct(c['paired_linearised_coverage'])} du temps et les erreurs types bootstrap valent en moyenne "
                     + fmt.number(c['se_ratio_to_linearised'], 3) + " fois les linéarisées"
                     + (" : le bootstrap donne la même précision que la linéarisation, les écarts tiennent aux "
                        "réplications tirées." if c["same_as_linearised"] else "."))
        ok &= bool(c["ok"] or (variance == "bootstrap" and c.get("same_as_linearised", False)))
        parts.append(text)
    if np.isfinite(a["rejection"]):
        parts.append(f"Là où aucune différence n'a été introduite, le test clients − habitants la déclare à tort "
                     f"**{_pct(a['rejection'])}** du temps (5 % attendus, avant correction pour tests multiples) ; "
                     f"les différences introduites sont détectées **{_pct(a['power'])}** du temps en moyenne"
                     + (f" ; la plus petite ({labels.get(a['power_min_statistic'], '')}, écart vrai "
                        + fmt.signed(a['power_min_truth'] * (100 if a['power_min_statistic'][1] != 'mean' else 1), 1)
                        + (" point" if a["power_min_statistic"][1] != "mean" else "")
                        + f") ne l'est que {_pct(a['power_min'])} du temps." if a["power_min"] < 0.8 else "."))
    if a["unweighted_worst"] is not None:
        survey, item, statistic, level = a["unweighted_worst"]
        parts.append(f"Sans pondération, le biais voulu par la non-réponse simulée apparaît : jusqu'à "
                     f"**{fmt.number(abs(a['unweighted_max_abs_bias_sd']), 1)} écarts-types**"
                     + f" ({labels.get((item, statistic, level), item)}, {SURVEY_LABELS[survey].lower()}), un biais "
                     f"relatif jusqu'à {_pct(a['unweighted_max_abs_rel_bias'])} et une couverture de "
                     f"{_pct(a['unweighted_coverage'])} seulement.")
    lin = summ.loc[summ["variance"] == "linearisation"]
    pooled = lin.assign(_c=lin["coverage"] * lin["replications"]).groupby("estimator")[["_c", "replications"]].sum()
    weak = [WEAK_LABELS[e] for e in ESTIMATORS if e not in CALIBRATED and e in pooled.index
            and pooled.loc[e, "_c"] / pooled.loc[e, "replications"] < 0.90]
    if ok:
        parts.append("**Un relecteur peut se fier aux estimations calées et à leurs intervalles de confiance**"
                     + (f" ; pas aux estimations {' ni '.join(', '.join(weak).rsplit(', ', 1))}, dont les intervalles "
                        "couvrent moins de 90 % du temps, toutes statistiques confondues." if weak else "."))
    else:
        parts.append("**Les intervalles de confiance des estimations calées ne sont pas fiables à 95 %** : voir le "
                     "tableau détaillé pour les statistiques en cause avant de publier.")
    if a["replications"] < 200:
        parts.append(f"Avec {a['replications']} réplications seulement, l'erreur Monte-Carlo d'une couverture est de "
                     f"± {_pct(1.96 * np.sqrt(0.95 * 0.05 / max(a['replications'], 1)))} : c'est une version courte ; "
                     "`make validate` produit la version publiée (1 000 réplications).")
    return " ".join(parts)
