"""The validation study's replications: one (:func:`replicate`), and many (:func:`run`).

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
4. the weighting recipes of both surveys (:mod:`portrait.study.recipes`) and, for a focused set of key
   statistics (:data:`~.setup.KEY_STATISTICS`), five estimators: unweighted, design-weighted (1/π),
   non-response-adjusted, calibrated by raking, calibrated by bounded logit — each with its
   estimate, linearised standard error (calibration residuals included) and 95 % confidence
   interval (Student's t on the design degrees of freedom), and the visitors − residents
   differences with their Wald test (:func:`differences`, the formulas of
   :func:`portrait.study.compare.differences`); for the residents' calibrated estimators, also the
   linearised variance of the two-stage design with the first stage's fpc (:data:`TWO_STAGE`), the one
   the finite-population target calls for;
5. the whole-profile test of the multiple-response items (:mod:`portrait.study.validation.profiles`):
   visitors against residents (power) and two random halves of each survey (size);
6. optionally (``bootstrap=True``, costlier) the same with Rao–Wu bootstrap variances, the whole
   recipe — non-response adjustment and calibration — re-run in every replicate.

Then :func:`~.monte_carlo.summary` gives, per statistic × estimator × variance method, the bias, relative bias,
RMSE, coverage of the 95 % intervals with its Monte Carlo (Wilson) interval, the ratio of the mean
SE to the empirical SD, and for the differences the rejection rate at 5 % where no difference was
planted (the test's size) and the power where one was.

The constants and the fixed setup are in :mod:`portrait.study.validation.setup`, the summary and the
French tables and conclusion in :mod:`portrait.study.validation.monte_carlo`; the package
(:mod:`portrait.study.validation`) gives their public names and this module's in one place.

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

import gc
import os
import threading
import time
import warnings
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ... import survey
from ...pipeline import config, processes
from ...pipeline.errors import CalibrationError, ParameterError, PortraitError, SurveyError
from ...survey import Design, repeated
from .. import compare, fieldwork, first_stage, frames, ingest, items, recipes, visitor_draw
from ..codebook import Codebook
from ..fieldwork import finite
from .profiles import profile_test_columns
from .setup import CALIBRATED, ESTIMATORS, RESULT_COLUMNS, TWO_STAGE, VARIANCES, Validation, _order, _ordered


# ============================================================================ one replication


def _child(seq: np.random.SeedSequence, j: int) -> np.random.SeedSequence:
    """The ``j``-th independent stream of a replication's seed sequence (no state is consumed)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (j,), pool_size=seq.pool_size)


def replication_index(seq: np.random.SeedSequence) -> int:
    """The replication number of a child of the study's ``SeedSequence`` (its last spawn key)."""
    return int(seq.spawn_key[-1]) if seq.spawn_key else 0


def simulate_responses(setup: Validation, resident_slots: pd.DataFrame, visitor_sample: pd.DataFrame,
                       seed: int, keys: dict[str, np.ndarray] | None = None,
                       visitor_rows: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    """Simulated fieldwork of both samples → the ingest's table of every sampled unit, in memory.

    Same draws as :func:`portrait.study.fieldwork.simulate` with this ``seed`` (the population quantities
    come from the setup instead of being solved again), and the same table as
    :func:`portrait.study.ingest.ingest` would build from the exports (:func:`portrait.study.ingest.assemble`).
    With ``keys`` (survey → the finite-population key of each sampled unit, in sample order), the
    profiles, favourability and answers are the fixed finite population's
    (:mod:`portrait.study.fieldwork.finite`, keyed by ``setup.seed``) and only the response phase
    comes from ``seed``. ``visitor_rows``: the distinct rows of ``setup.visitor_frame`` the visitor sample is, whose
    attributes the setup mapped already (``setup.visitor_codes``). Only the answers a replication reads are drawn
    (:meth:`Validation.answers_read`): the other common-core items hold stand-ins that keep who answered them, for each
    unit's status, and are not in the table; the rest are left out. Every result is the full simulation's.
    """
    cb, model = setup.codebook, setup.model
    at = {"frame": setup.visitor_codes, "rows": visitor_rows}
    if keys is None:
        visitor_units = fieldwork.visitor_units(model, visitor_sample, config.rng(seed, "fieldwork/visitors/attributes"),
                                                **at)
    else:
        visitor_units = finite.fixed_visitor_units(model, visitor_sample, setup.seed, keys["visitors"], **at)
    units = {"residents": fieldwork.resident_units(resident_slots, setup.resident_frame), "visitors": visitor_units}
    samples = {"residents": resident_slots, "visitors": visitor_sample}
    drawn = setup.answers_read()
    out = {}
    for group in fieldwork.GROUPS:
        draws = None if keys is None else finite.unit_draws(setup.seed, keys[group])
        rows: dict[str, np.ndarray] = {}      # each unit's row in the exports: the simulator knows them
        _, answers, disp = fieldwork._simulate_group(model, setup.calibration, group, units[group],
                                                      setup.population if group == "residents" else None, seed,
                                                      unit_draws=draws, source_row=True, answer_rows=rows,
                                                      drawn=drawn)
        out[group] = ingest.assemble(group, samples[group], answers, disp, cb, setup.min_core_answered,
                                     answer_rows=rows["rows"], disp_rows=rows["dispositions"],
                                     columns=_kept_columns(cb, group, drawn)).responses
    return out


def _kept_columns(cb: Codebook, group: str, drawn: frozenset[str]) -> set[str]:
    """The export's columns a replication's table keeps: the rows' numbers, every profile and context variable's and
    the ``drawn`` opinion items' (the stand-ins have given who answered, for each unit's status, and are left out)."""
    return {"source_row", *(c for v in cb.variables_for(group) if v.role != "opinion" or v.name in drawn
                            for c in v.columns)}


def _visitor_keys(setup: Validation, sample: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The finite-population keys of the visitor sample, the frame's ``rows``: read at the rows when the frame's
    identifiers are unique (``setup.visitor_keys`` is in frame order), else looked up by ``person_id``."""
    if setup.visitor_codes is not None and setup.visitor_codes.unique_ids:
        return setup.visitor_keys.to_numpy()[rows]
    return setup.visitor_keys.loc[sample["person_id"].astype(str)].to_numpy()


def _unweighted(design: Design) -> Design:
    """Respondents with weight 1 (the design's strata and PSUs kept, replicate factors too)."""
    w = (design.weights > 0).astype(float)
    return replace(design, weights=w, base_weights=w, steps=())


def _estimator_designs(w: recipes.Weighted, bounds: tuple[float, float],
                       failed: Exception | None = None) -> dict[str, Design | Exception]:
    """The five estimators' designs of a weighted survey; a calibration failure is kept as its error (``failed``:
    the recipe's own, for a survey weighted up to its non-response adjustment only)."""
    nr = w.stages["nonresponse"]
    out: dict[str, Design | Exception] = {"unweighted": _unweighted(w.stages["design"]),
                                          "design": w.stages["design"], "nonresponse": nr,
                                          "raking": w.stages.get("calibrated", failed)}
    try:
        out["logit"] = survey.calibrate(nr, w.margins, method="logit", bounds=bounds, label="calage (logit borné)")
    except CalibrationError as exc:
        out["logit"] = exc
    return out


def _variances(survey: str, estimator: str, variances: Sequence[str]) -> tuple[str, ...]:
    """The variance methods of one survey's estimator: ``variances``, and the residents' calibrated estimators
    also get :data:`TWO_STAGE`."""
    extra = (TWO_STAGE,) if survey == "residents" and estimator in CALIBRATED else ()
    return tuple(variances) + extra


def _survey_estimates(setup: Validation, w: recipes.Weighted, variances: Sequence[str],
                      failed: Exception | None = None) -> dict[str, np.ndarray]:
    """Estimates of the key statistics in one survey, for every estimator and variance method, as the columns of their
    rows (arrays by name: :func:`replicate` reads them back, and builds no table of them); ``failed``: the recipe's
    calibration or trimming failed, and ``w`` holds the stages before it (the raking rows carry the error).

    The derived variables are read once for all the designs (:class:`portrait.survey.repeated.RepeatedMeans`: the
    numbers of :func:`portrait.study.items.means`, without building a table of them or for each design)."""
    wanted = zip(*(setup.statistics[c].tolist() for c in ("item", "statistic", "level")))
    data = w.stages.get("calibrated", w.stages["nonresponse"]).data
    values, sel = items.derived_arrays(data, setup.codebook, w.survey, words=False, statistics=wanted)
    cols = sel["column"]        # the derived variables, in this order: all the estimates read
    nan = np.full(len(cols), np.nan)
    blocks = []               # (estimator, variance, value columns, replicates widened, error) of each block of rows
    means = None              # the derived variables, read once for the survey's designs (same rows, same data)
    two_stage = None          # the two-stage structure, built once for the survey's designs (same units)
    for name, d in _estimator_designs(w, setup.logit_bounds, failed).items():
        for variance in _variances(w.survey, name, variances):
            if isinstance(d, Exception):
                blocks.append((name, variance, dict.fromkeys(repeated.VALUES, nan), np.nan,
                               f"{w.survey}: {str(d).splitlines()[0]}"))
                continue
            if variance == TWO_STAGE:
                two_stage = first_stage.two_stage_design(d, like=two_stage)
            dd = replace(two_stage if variance == TWO_STAGE else d, data=data)
            if means is None:
                means = repeated.RepeatedMeans(dd, cols, interval=items.intervals(sel), values=values)
            try:
                with warnings.catch_warnings():    # a small domain empty in a replicate: left out, as R does; not printed each time
                    warnings.filterwarnings("ignore", message=r".* replicates gave no value for an estimate")
                    e = means.estimate(dd, variance="replicates" if variance == "bootstrap" else "linearisation",
                                       level=setup.level)
            except CalibrationError as exc:   # a bootstrap replicate the recipe cannot calibrate
                blocks.append((name, variance, dict.fromkeys(repeated.VALUES, nan), np.nan,
                               f"{w.survey}, bootstrap replicate: {str(exc).splitlines()[0]}"))
            else:
                widened = len(dd.replicate_adjustments()) if variance == "bootstrap" else 0
                blocks.append((name, variance, e, float(widened), ""))
    k, nb = len(cols), len(blocks)
    labels = {c: np.tile(np.array(sel[c], dtype=object), nb) for c in items.SPEC_COLUMNS if c != "column"}
    return {**{c: np.concatenate([b[2][c] for b in blocks]) for c in repeated.VALUES},
            "column": np.tile(np.asarray(cols, dtype=object), nb),
            "adjusted": np.repeat([b[3] for b in blocks], k),
            "error": np.repeat(np.asarray([b[4] for b in blocks], dtype=object), k),
            "estimator": np.repeat(np.asarray([b[0] for b in blocks], dtype=object), k),
            "variance": np.repeat(np.asarray([b[1] for b in blocks], dtype=object), k),
            **labels, "group": np.full(k * nb, w.survey, dtype=object)}


def _joined(parts: Sequence[Mapping[str, np.ndarray] | pd.DataFrame]) -> dict[str, np.ndarray | pd.Series]:
    """The surveys' estimates (:func:`_survey_estimates`' columns, or :func:`_failed_survey`'s table) one after the
    other, as columns by name: the arrays joined when every part has the same columns, else pandas' concatenation's
    columns (a failed survey's table has other columns)."""
    if all(isinstance(p, dict) for p in parts) and len({tuple(p) for p in parts}) == 1:
        return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    out = pd.concat([pd.DataFrame(p) if isinstance(p, dict) else p for p in parts], ignore_index=True)
    return dict(out.items())


def _failed_survey(setup: Validation, survey: str, variances: Sequence[str], exc: Exception) -> pd.DataFrame:
    """Rows of a survey whose weighting recipe failed: every estimate NaN, with the error."""
    labels = {"label": "", "item_label": "", "type": ""}
    methods = pd.DataFrame([(e, v) for e in ESTIMATORS for v in _variances(survey, e, variances)],
                           columns=["estimator", "variance"])
    grid = setup.statistics.merge(methods, how="cross")
    return grid.assign(group=survey, estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, df=np.nan, n=np.nan,
                       adjusted=np.nan, error=f"{survey}: {str(exc).splitlines()[0]}", **labels)


def replicate(setup: Validation, seq: np.random.SeedSequence, *, bootstrap: bool = False,
              replicates: int = 50) -> pd.DataFrame:
    """One replication of the whole chain: samples → fieldwork → weighting → estimates.

    Parameters
    ----------
    setup : the study's :class:`Validation`.
    seq : this replication's seed sequence (a child of ``SeedSequence(setup.seed)``); every draw —
        both samples, the fieldwork, the bootstrap replicates — comes from it. With the finite target
        (``setup.target``), the persons of the sampled communes are drawn from it too, and the sampled
        units' answers are the fixed population's (:func:`simulate_responses`).
    bootstrap : also compute bootstrap variances (``replicates`` Rao–Wu replicates per survey,
        the whole recipe re-run in each); otherwise only the linearised ones.

    Returns
    -------
    pandas.DataFrame
        The ``target`` and, per survey (``residents``, ``visitors``, ``visitors - residents``) × key statistic ×
        estimator × variance method: ``estimate, se, ci_low, ci_high, df, n`` and, for the
        differences, the Wald ``p``; ``error`` names a calibration that failed (its row is NaN): a recipe whose
        calibration or trimming fails fails its raking estimator and the tests on its weights, not the others.

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
    slots = frames.draw_resident_slots(setup.resident_frame, setup.resident_design, res_rng, plan=setup.resident_plan)
    vrows = visitor_draw.sample_rows(setup.visitor_frame, setup.visitor_strata, vis_rng)    # draw_visitor_sample's
    vsample = visitor_draw.sample_at(setup.visitor_frame, setup.visitor_strata, vrows)       # two steps, rows kept
    keys = None
    if setup.target == "finite":    # the persons behind the slots: SRSWOR of the take in each commune
        person_rng = np.random.Generator(np.random.PCG64(_child(seq, 5)))
        keys = {"residents": finite.resident_slot_keys(slots, setup.resident_frame, person_rng),
                "visitors": _visitor_keys(setup, vsample, vrows)}
    responses = simulate_responses(setup, slots, vsample, fw_seed, keys, visitor_rows=vrows)

    # linearised only: no replicate factors, which nothing would read
    reps = {"replicates": replicates} if bootstrap else {"replicate_method": None}
    rw = replace(setup.resident_weighting, calibration_method="raking", **reps)
    vw = replace(setup.visitor_weighting, calibration_method="raking", **reps)
    variances = VARIANCES if bootstrap else VARIANCES[:1]
    parts = []
    final: dict[str, Design | Exception] = {}
    for group, weigh in (
            ("residents", lambda: recipes.weight_residents(
                responses["residents"], setup.resident_frame, setup.codebook, rw,
                np.random.Generator(np.random.PCG64(_child(seq, 3))), margins=setup.resident_margins)),
            ("visitors", lambda: recipes.weight_visitors(
                responses["visitors"], setup.visitor_frame, vw,
                np.random.Generator(np.random.PCG64(_child(seq, 4))), margins=setup.visitor_margins))):
        try:
            w = weigh()
        except CalibrationError as exc:     # the sample drawn cannot be calibrated (or trimmed): the estimators before it stand
            partial = getattr(exc, "partial", None)
            parts.append(_failed_survey(setup, group, variances, exc) if partial is None
                         else _survey_estimates(setup, partial, variances, failed=exc))
            final[group] = exc
        else:
            parts.append(_survey_estimates(setup, w, variances))
            final[group] = w.final
    est = _joined(parts)

    diff = _difference_columns(est, setup.level)
    est["survey"] = est.pop("group")
    coins = {g: np.random.Generator(np.random.PCG64(_child(seq, 6 + i))) for i, g in enumerate(fieldwork.GROUPS)}
    return _results(setup.target, index, [est, diff, profile_test_columns(setup.codebook, final, coins)])


def _results(target: str, index: int, parts: Sequence[pd.DataFrame | Mapping[str, np.ndarray]]) -> pd.DataFrame:
    """One replication's rows: ``parts`` (estimates, differences, tests; a part without ``p`` has NaN there) in
    :data:`RESULT_COLUMNS` with its ``target`` and ``replication`` ``index``, ``df``, ``n`` and ``adjusted`` as floats,
    in :func:`_ordered`'s order: the frame pandas' concatenation of the parts, then ``_ordered``, gives. A part is a
    table or its columns by name (arrays, read as ``pandas.DataFrame`` would hold them). When each column is numbers
    (numpy's int64 or float64) or text of one dtype in every part, the columns are joined and put in order as arrays
    and the frame made once; otherwise by that concatenation."""
    columns = RESULT_COLUMNS[2:]
    target_dtype = pd.Series([target]).dtype         # the type pandas gives a column of this one value
    held = [part if isinstance(part, Mapping) else dict(part.items()) for part in parts]   # columns at once
    sizes = [len(next(iter(h.values()))) for h in held]
    arrays: dict[str, object] = {"target": np.full(sum(sizes), target, dtype=object),
                                 "replication": np.full(sum(sizes), index, dtype=np.int64)}
    texts = {}          # text column → its dtype, the same in every part
    for c in columns:
        got = [h[c] if c != "p" or c in h else np.full(n, np.nan) for h, n in zip(held, sizes)]
        kinds = {_held_dtype(s, target_dtype) for s in got}
        if kinds <= {np.dtype(np.int64), np.dtype(np.float64)}:
            arrays[c] = np.concatenate([np.asarray(s) for s in got])
        elif len(kinds) == 1 and (kinds == {np.dtype(object)} or isinstance(next(iter(kinds)), pd.StringDtype)):
            arrays[c] = np.concatenate([s if isinstance(s, np.ndarray) else s.to_numpy(dtype=object) for s in got])
            texts[c] = next(iter(kinds))
        else:           # another type: pandas' concatenation decides the column's type
            frames = [pd.DataFrame(part) if isinstance(part, Mapping) else part for part in parts]
            out = pd.concat([(part if "p" in part.columns else part.assign(p=np.nan))[columns] for part in frames],
                            ignore_index=True)
            out.insert(0, "replication", index)
            out.insert(0, "target", target)
            out[["df", "n", "adjusted"]] = out[["df", "n", "adjusted"]].astype(float)
            return _ordered(out)
    order = _order(arrays)
    frame = {}
    for c, values in arrays.items():
        values = values[order]
        if c in ("df", "n", "adjusted"):
            values = values.astype(float)
        if values.dtype == object:     # texts: their parts' type (an object column stays one)
            dtype = texts.get(c, target_dtype)
            values = pd.Series(values, dtype=object) if dtype == object else pd.array(values, dtype=dtype)
        frame[c] = values
    return pd.DataFrame(frame, copy=False)


def _held_dtype(values: np.ndarray | pd.Series, text_dtype) -> object:
    """The dtype of ``values`` in a table: a Series' own; an array of Python objects that are texts (or missing) is
    held as pandas' text type ``text_dtype``, as ``pandas.DataFrame`` infers it."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return text_dtype if pd.api.types.infer_dtype(values, skipna=True) == "string" else values.dtype
    return values.dtype


def differences(estimates: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Visitors − residents for every statistic × estimator × variance method, with the Wald test.

    :func:`portrait.study.compare.independent_difference` (independent samples: V_r + V_v, Student's
    t on the Welch–Satterthwaite degrees of freedom), vectorised over estimators and variance methods; a failed estimate (NaN)
    gives a NaN difference and carries its error. The residents' :data:`TWO_STAGE` variance is paired with the
    visitors' linearised one.
    """
    return pd.DataFrame(_difference_columns(estimates, level))


def _difference_columns(estimates: pd.DataFrame | Mapping[str, np.ndarray], level: float) -> dict[str, np.ndarray]:
    """:func:`differences`' columns by name, of a table of estimates or of its columns (:func:`replicate` builds no
    table of either)."""
    key = ["estimator", "variance", "item", "statistic", "level"]
    held = estimates if isinstance(estimates, Mapping) else dict(estimates.items())   # columns at once
    group = np.asarray(held["group"], dtype=object)
    keys = list(zip(*(np.asarray(held[c], dtype=object) for c in key)))
    res, vis = np.flatnonzero(group == "residents"), np.flatnonzero(group == "visitors")
    row = {keys[i]: i for i in vis}
    found = [row.get((e, "linearisation" if v == TWO_STAGE else v, *rest)) for e, v, *rest in (keys[i] for i in res)]
    pair = np.array([-1 if i is None else i for i in found], dtype=np.intp)
    r, v = {}, {}
    for c in ("estimate", "se", "df", "n", "adjusted", "error"):
        values = np.asarray(held[c])
        r[c] = values[res]
        # a residents' row without its visitors' row: NaN, as a reindex gives it
        v[c] = values[pair] if (pair >= 0).all() else np.where(pair >= 0, values[pair], np.nan)
    d = compare.independent_difference(r, v, level)
    errors = [("; ".join(x for x in (a, b) if isinstance(x, str) and x)) for a, b in zip(r["error"], v["error"])]
    return {**{c: np.array([keys[i][j] for i in res], dtype=object) for j, c in enumerate(key)},
            "survey": np.full(len(res), compare.DIFFERENCE, dtype=object),
            **{k: d[k] for k in ("estimate", "se", "ci_low", "ci_high", "df")},
            "n": r["n"] + v["n"], "p": d["p"], "adjusted": r["adjusted"] + v["adjusted"],
            "error": np.array(errors, dtype=object)}


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


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """End this worker once the process that started it is gone. A parent killed outright (the
    runner's timeout, a signal) cannot shut its pool down, and the worker would wait for tasks
    forever, holding its memory."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _init_worker(setup: Validation) -> None:
    """Worker initializer: keep the setup for the worker's tasks; its BLAS runs on one thread; it
    ends with its parent (:func:`_exit_with_parent`).

    What the worker inherited (the setup, the notebook's objects) is moved out of the garbage
    collector's reach (``gc.freeze``): collections then scan only a replication's own objects, and
    the inherited pages are not copied by the collector touching them.
    """
    global _WORKER_SETUP
    _WORKER_SETUP = setup
    gc.freeze()
    single_threaded_blas().__enter__()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _task(setup: Validation | None, args: tuple[np.random.SeedSequence, bool, int]) -> pd.DataFrame:
    seq, boot, replicates = args
    setup = setup if setup is not None else _WORKER_SETUP
    if setup is None:   # pragma: no cover - the executor's initializer always sets it
        raise RuntimeError("the validation setup is not initialised in this worker")
    try:
        return replicate(setup, seq, bootstrap=boot, replicates=replicates)
    except (PortraitError, SurveyError) as exc:
        raise type(exc)(f"replication {replication_index(seq)}: {exc}") from exc


SCHEDULER_TIMEOUT = 30          # seconds to reach a Dask scheduler before saying it cannot be reached


def _dask_task(setup: Validation, args: tuple[np.random.SeedSequence, bool, int]) -> pd.DataFrame:
    """A replication on a Dask worker: BLAS on one thread, as in the local worker processes."""
    with single_threaded_blas():
        return _task(setup, args)


def run(setup: Validation, n_replications: int, workers: int = 2, bootstrap: bool = False, progress: bool = True,
        *, bootstrap_replications: int | None = None, replicates: int = 50, scheduler: str = "") -> pd.DataFrame:
    """Run ``n_replications`` replications in parallel; results sorted by replication (deterministic).

    Parameters
    ----------
    workers : worker processes (:class:`concurrent.futures.ProcessPoolExecutor`; the setup goes
        to each worker once, by its initializer); 1 runs in this process. Results do not depend on it.
    scheduler : address of a Dask scheduler (``tcp://host:8786``): the replications run on that
        cluster's workers instead (``dask.distributed``; the setup is sent to each worker once), with
        the same results for the same seed. Empty: local processes.
    bootstrap : add bootstrap variances (``replicates`` replicates per survey) to the first
        ``bootstrap_replications`` replications (all of them when None).
    progress : a progress bar where someone watches (:func:`portrait.pipeline.progress.bar`).
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

    from ...pipeline.progress import bar as progress_bar
    from tqdm import tqdm

    bar = progress_bar(n_replications, "réplications", "rép") if progress else tqdm(disable=True)
    parts = []
    try:
        if scheduler:
            parts = _run_on_dask(scheduler, setup, tasks, bar)
        elif workers == 1 or n_replications == 1:
            with single_threaded_blas():
                for t in tasks:
                    parts.append(_task(setup, t))
                    bar.update()
        else:
            # fork up to Python 3.11 (the setup is inherited), forkserver after: pipeline.processes says why
            ctx = processes.worker_context()
            with ProcessPoolExecutor(min(workers, n_replications), mp_context=ctx, initializer=_init_worker,
                                     initargs=(setup,)) as pool:
                futures = [pool.submit(_task, None, t) for t in tasks]
                for done in as_completed(futures):
                    parts.append(done.result())
                    bar.update()
    finally:
        bar.close()
    return _ordered(pd.concat(parts, ignore_index=True))


def _run_on_dask(scheduler: str, setup: Validation, tasks: list, bar) -> list[pd.DataFrame]:
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("a Dask scheduler was given but dask.distributed is not installed: "
                             "pip install 'portrait[cluster]' (or `make` installs it with the dev tools)") from None
    try:
        client = Client(scheduler, set_as_default=False, timeout=SCHEDULER_TIMEOUT)
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
    parts = []
    with client:
        threaded = sorted(n for n in client.nthreads().values() if n > 1)
        if threaded:    # threads would share the process-wide BLAS limit and warning filters of a replication
            raise ParameterError(f"{len(threaded)} of the Dask workers at {scheduler!r} run {threaded[-1]} threads: "
                                 "start them with one thread each, one worker per core (`dask worker "
                                 f"{scheduler} --nworkers <cores> --nthreads 1`); a replication holds the GIL, so "
                                 "threads would not run it faster")
        remote = client.scatter(setup, broadcast=True, hash=False)
        futures = [client.submit(_dask_task, remote, t, pure=False) for t in tasks]
        for future in futures:                 # in submission order: the bar moves as the first ones finish
            parts.append(future.result())
            bar.update()
    return parts


