"""The survey design object: data, weights, strata, PSUs, fpc, and the history of weighting steps.

A :class:`Design` is built once and never modified: every weighting step
(:func:`portrait.survey.adjust_nonresponse`, :func:`portrait.survey.calibrate`,
:func:`portrait.survey.trim`) returns a new design with the step appended to its history, so
that replicate weights can re-run the whole recipe and the linearised variance can use the
calibration residuals (as R ``survey`` does).

Units with weight 0 (non-respondents after a non-response adjustment) stay in the design: they
belong to the sample's PSUs and strata, which the variance needs, and contribute nothing to
estimates.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (design objects, the
ultimate-cluster variance estimator, ``svydesign(id=, strata=, weights=, fpc=)``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .errors import CalibrationError, ParameterError, aligned, check_columns, design_values, missing_labels
from .labels import (PARALLEL_UNITS, _distinct, _missing_count, _psu_codes_in_strata, _psu_labels, _string_codes,
                     stratum_fractions)


class Deferred:
    """A value built on first use: a field of a :class:`Step` (or of another dataclass deriving from
    :class:`Deferring`) given ``Deferred(make)`` reads as ``make()``, built the first time and kept (a
    calibration's units × constraints matrix, needed only for linearised variances and design files)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]):
        self.make = make


class Deferring:
    """Base of frozen dataclasses whose fields may hold a :class:`Deferred` value."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if type(value) is Deferred:
            value = value.make()
            object.__setattr__(self, name, value)
        return value


@dataclass(frozen=True)
class Step(Deferring):
    """One weighting step of the recipe, as recorded in :attr:`Design.steps`.

    ``apply(design_with_input_weights) -> (output_weights, info)`` re-runs the step on other input weights (a
    replicate); ``X`` and ``d`` (input weights) are kept for calibration steps so the linearised variance can take
    residuals on ``X`` with weights ``d``. ``X`` may be a :class:`Deferred`; reading it gives the array.

    Attributes
    ----------
    kind : str
        What the step does: ``"calibration"``, ``"trimming"``, ``"trim_weights"`` or ``"nonresponse"``; only
        ``"calibration"`` steps enter the linearised variance (through ``X``, ``d``, a next trim's ``d``).
    label : str
        Human-readable name of the step (shown in reports and in :meth:`Design.replicate_adjustments`).
    apply : callable
        ``apply(design) -> (weights, info)``: the step re-run on the weights of ``design`` (its input weights).
    info : object, optional
        What the full-sample step reported (e.g. a :class:`CalibrationResult`, a
        :class:`NonresponseResult`, or a dict of trimming cycles); ``None`` by default.
    X : numpy.ndarray or None
        Calibration steps: the ``n × p`` auxiliaries of every unit (one column per constraint, zero for
        units of weight 0), built when first read. ``None`` for other steps.
    d : numpy.ndarray or None
        Calibration and ``trim_weights`` steps: the input weights (length ``n``); ``None`` for other steps.
    apply_rows : callable or None
        Optional, ``apply_rows(rows) -> (weights, left)``: the step re-run on every row of the ``R × n`` input weights
        at once, giving for each row the weights ``apply`` gives it, except the rows numbered in ``left``, which are
        then run through ``apply`` (to report or raise as it does); ``None``: every row goes through ``apply``.
    """

    kind: str
    label: str
    apply: Callable[["Design"], tuple[np.ndarray, Any]] = field(repr=False)
    info: Any = None
    X: np.ndarray | None = field(default=None, repr=False)
    d: np.ndarray | None = field(default=None, repr=False)
    apply_rows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False)


#: R's ``options(survey.lonely.psu = …)``: what a stratum with a single PSU (not sampled with certainty) contributes
#: — ``fail``: an error; ``certainty`` and ``remove``: nothing; ``adjust``: its PSU total's square, i.e. deviation
#: from zero, as R computes it; ``average``: the other strata's total scaled by (strata / strata not lonely)
LONELY = ("fail", "certainty", "remove", "adjust", "average")


@dataclass(frozen=True, repr=False)
class Design:
    """A probability sample with its weights and structure (the engine's ``svydesign`` object).

    A design is immutable: every weighting step (:func:`adjust_nonresponse`, :func:`calibrate`,
    :func:`trim`) returns a new design with one more :class:`Step` in ``steps``, and :func:`update`
    one with derived variables added to ``data`` (which is not to be written into). Build one with
    :meth:`from_frame` (or read one with :func:`read_design`) rather than by calling the class.

    Attributes
    ----------
    data : pandas.DataFrame
        The sampled units (respondents and, before or after a non-response adjustment,
        non-respondents with weight 0), with a fresh ``0..n-1`` index.
    weights : numpy.ndarray
        Current weights, one per unit (the design weights 1/π before any step).
    strata : numpy.ndarray
        Integer stratum code of each unit (0 for all units of an unstratified design).
    psu : numpy.ndarray
        Integer PSU code of each unit, unique across strata; every unit is its own PSU for element
        sampling.
    fpc : numpy.ndarray
        First-stage sampling fraction of each unit's stratum (0 when sampling with replacement or
        when no fpc is given).
    steps : tuple of Step
        The weighting steps applied so far, in order.
    base_weights : numpy.ndarray or None
        The design weights before any step, from which replicates re-run the recipe; ``None`` for a
        stack or a design read from a file.
    replicate_factors : numpy.ndarray or None
        Optional ``n × R`` matrix of design-stage replicate factors (:func:`with_replicates`); the
        replicate weights are the recipe re-run on ``base_weights × factors``.
    replicate_scale : float
        Overall multiplier of the replicate variance (R ``scale``); 1.0 by default.
    replicate_rscales : numpy.ndarray or None
        Per-replicate multipliers of the replicate variance (R ``rscales``), length ``R``.
    replicate_mse : bool
        Whether replicate deviations are taken around the full-sample estimate (R ``mse=TRUE``)
        rather than around the replicates' mean.
    replicate_method : str
        Name of the replication method (``"bootstrap"``, ``"jk1"``, ``"jkn"``, ``"replicates"``); empty
        when there are no replicates.
    strata_labels : numpy.ndarray or None
        Label of each stratum code (``strata_labels[strata]`` gives the units' labels).
    replicate_matrix : numpy.ndarray or None
        Ready-made ``n × R`` replicate weights (:func:`with_replicate_weights`, :func:`read_design`,
        :func:`stack`), used as given instead of re-running the recipe.
    replicate_blocks : numpy.ndarray or None
        For a :func:`stack` of independent surveys, the survey (block) of each replicate; each block is
        centred on its own mean.
    lonely_psu : str
        What a stratum with a single PSU contributes to variances, one of :data:`LONELY`
        (R ``options(survey.lonely.psu)``); ``"fail"`` by default.
    stacked : tuple or None
        For a :func:`stack` of independent surveys, ``(group, names)``: the survey column and the surveys
        in stacking (replicate block) order; a difference between two takes Welch–Satterthwaite df.
    replicate_notes : tuple of tuple
        For replicate weights read from a file, ``(replicate, step, lower, upper)`` for each replicate
        in which a bounded calibration widened its bounds (see :meth:`replicate_adjustments`).
    later_stages : tuple of Stage or None
        A multistage design's stages after the first (:class:`~portrait.survey.multistage.Stage`), whose
        variances linearised variances add (R ``svyrecvar``); ``None`` for a single stage.
    stratified : bool
        Whether the design was given strata (R ``has.strata``); an unstratified design has one stratum, ``"all"``,
        and no replicates that need strata (JKn, BRR, Fay).
    pps : PPS or None
        A PPS design sampled without replacement (:class:`~portrait.survey.pps.PPS`): its variance approximation
        (Brewer, Overton, Hartley–Rao or given joint probabilities; R ``svydesign(pps=)``). ``fpc`` then holds each
        unit's PSU inclusion probability. ``None``: the ultimate-cluster estimator with the strata's ``fpc``.

    See Also
    --------
    Design.from_frame : Build a design from a data frame.
    read_design : Rebuild a design from a weighted-design file.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (``svydesign``)
    """

    data: pd.DataFrame
    weights: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    fpc: np.ndarray
    steps: tuple[Step, ...] = ()
    base_weights: np.ndarray | None = field(default=None, repr=False)
    replicate_factors: np.ndarray | None = field(default=None, repr=False)
    replicate_scale: float = 1.0
    replicate_rscales: np.ndarray | None = field(default=None, repr=False)
    replicate_mse: bool = False
    replicate_method: str = ""
    strata_labels: np.ndarray | None = field(default=None, repr=False)
    replicate_matrix: np.ndarray | None = field(default=None, repr=False)
    replicate_blocks: np.ndarray | None = field(default=None, repr=False)
    lonely_psu: str = "fail"
    stacked: tuple[str, tuple[str, ...]] | None = None
    replicate_notes: tuple[tuple[int, str, float, float], ...] = field(default=(), repr=False)
    later_stages: tuple | None = field(default=None, repr=False)
    pps: Any = field(default=None, repr=False)
    stratified: bool = field(default=True, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _weighted_by_fpc(cls, data: pd.DataFrame, strata, psu, fpc, lonely_psu: str) -> "Design":
        """R ``svydesign`` without weights or probabilities: each unit's weight is the inverse of the product of its
        stages' sampling fractions (``n/N`` per stratum, or the fractions given)."""
        d = cls.from_frame(data, weights=np.ones(len(data)), strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu)
        prob = d.fpc * np.prod([stage.fpc for stage in d.later_stages or ()] or [1.0], axis=0)
        if not np.all(prob > 0):
            raise ParameterError(f"fpc={fpc!r} gives a sampling fraction of 0 to {int(np.sum(prob <= 0))} unit(s): the "
                                 "weights cannot come from it; give weights= or prob=")
        w = 1.0 / prob
        return replace(d, weights=w, base_weights=w.copy())

    @classmethod
    def from_frame(cls, data: pd.DataFrame, *, weights: str | Sequence[float] | None = None,
                   prob: str | Sequence[float] | None = None, strata: str | Sequence[str | None] | None = None,
                   psu: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                   lonely_psu: str = "fail", pps: Any = None, pps_variance: str = "HT") -> "Design":
        """Build a design like R ``svydesign(id=~psu, strata=~strata, weights=~w, fpc=~fpc)``.

        ``fpc`` is, per unit, either the population number of PSUs in its stratum (> 1) or the sampling fraction
        (≤ 1), as in R; it must be constant within a stratum. ``lonely_psu`` is what a stratum with a single PSU
        contributes to variances, as R's ``options(survey.lonely.psu)`` (:data:`LONELY`; replicates:
        :func:`~portrait.survey.replicate_factors`). Lists (one entry per stage) give a multistage design,
        R ``svydesign(id=~psu+ssu, fpc=~fpc1+fpc2)``: see :func:`~portrait.survey.multistage.multistage_design`.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per sampled unit; its index is reset.
        weights : str or sequence of float, optional
            Column name or values of the design weights: numbers (a column of text is refused, even of numbers
            written as text), finite and non-negative. Give at most one of ``weights`` and ``prob``; without
            either, as R, the weights come from ``fpc``: the inverse of the product of every stage's sampling
            fraction. Values given as a pandas Series are matched to ``data``'s rows by their index (so are
            ``prob`` and ``fpc``); a Series on other labels is refused.
        prob : str or sequence of float, optional
            Column name or values of the inclusion probabilities, numbers in (0, 1]; the weights are ``1/prob``.
        strata : str or list of (str or None), optional
            Stratum column (no missing value); strata are coded in the sorted order of their labels'
            strings. Default: one stratum. A list: each stage's (within the previous stage's units).
        psu : str or list of str, optional
            PSU column, read within strata (R ``nest = TRUE``: a label in two strata is two PSUs); default: units.
            A list: each stage's cluster column, read within the previous stage's clusters.
        fpc : str or list of str, optional
            Finite-population correction column: population number of PSUs in the stratum (> 1) or sampling
            fraction (≤ 1). Default: sampling with replacement (fraction 0). A list: each stage's; without it, a
            multistage design keeps its first stage only (ultimate cluster, as R).
        lonely_psu : {"fail", "certainty", "remove", "adjust", "average"}, default "fail"
            Treatment of strata with a single PSU in variances.
        pps : str or HartleyRao or JointProbabilities, optional
            PSUs drawn with unequal probabilities and without replacement, R ``svydesign(pps=)``: ``"brewer"`` (``fpc``
            then holds each PSU's inclusion probability), ``"overton"``, ``"hartley_rao"``,
            :func:`~portrait.survey.hartley_rao` or :func:`~portrait.survey.joint_probabilities`; see
            :mod:`~portrait.survey.pps`; ``"brewer"`` also with lists (``fpc`` the first stage's ``π``, then each
            later stage's fraction). Default: the ultimate-cluster (with-replacement) estimator.
        pps_variance : {"HT", "YG"}, default "HT"
            With ``pps``: Horvitz–Thompson or Sen–Yates–Grundy form (R ``variance=``).

        Returns
        -------
        Design
            The design, with ``base_weights`` equal to its weights and no weighting step.

        Raises
        ------
        ParameterError
            If ``lonely_psu`` is unknown or a named column absent, if both ``weights`` and ``prob`` are given, or neither
            without ``fpc`` (or with an fpc whose sampling fraction is 0), if
            a weights, prob or fpc column holds text (its rows that are not numbers are counted and the first located,
            never shown), if probabilities are outside (0, 1] or weights not finite and non-negative (the column, the
            number of units and the first one's position named), if the stratum or PSU variable has missing values,
            if the fpc is missing, varies within a stratum or is smaller than the number of PSUs sampled, or if lists
            differ in length or give an fpc for some stages only; with ``pps``, see
            :func:`~portrait.survey.pps.pps_design`.
        """
        if lonely_psu not in LONELY:
            raise ParameterError(f"lonely_psu must be one of {LONELY}, got {lonely_psu!r}")
        weights, prob = aligned(weights, data.index, "weights"), aligned(prob, data.index, "prob")
        fpc = fpc if isinstance(fpc, (list, tuple)) else aligned(fpc, data.index, "fpc")
        if pps is None and pps_variance != "HT":
            raise ParameterError(f"pps_variance={pps_variance!r} is the variance form of a PPS design: give pps= too")
        if pps is not None:
            from .pps import pps_design
            return pps_design(cls, data, weights, prob, strata, psu, fpc, lonely_psu, pps, pps_variance)
        if weights is None and prob is None and fpc is not None:
            return cls._weighted_by_fpc(data, strata, psu, fpc, lonely_psu)
        if any(isinstance(a, (list, tuple)) for a in (strata, psu, fpc)):
            from .multistage import multistage_design
            return multistage_design(cls, data, weights, prob, strata, psu, fpc, lonely_psu)
        data = data.reset_index(drop=True)
        n = len(data)
        if (weights is None) == (prob is None):
            raise ParameterError("give exactly one of weights= or prob= (or neither, with fpc=: the weights are then "
                                 "the inverse of the sampling fractions, as R's svydesign)")
        check_columns(data, weights=weights, prob=prob, strata=strata, psu=psu, fpc=fpc)
        w = design_values(data, weights, "weights") if weights is not None else 1.0 / design_values(data, prob, "prob")
        stratum_column = data[strata] if strata is not None else None
        psu_column = data[psu] if psu is not None else None
        if stratum_column is not None:
            if _missing_count(stratum_column):
                raise missing_labels(stratum_column, "stratum", strata)
        if psu_column is not None and _missing_count(psu_column):
            raise missing_labels(psu_column, "PSU", psu)
        psu_labels = None
        if stratum_column is None:
            labels, st = np.array(["all"]), np.zeros(n, dtype=int)
        elif psu_column is not None and n >= PARALLEL_UNITS and (os.cpu_count() or 1) > 1:
            # large samples: the strata's labels are looked up (in pyarrow, outside Python's lock)
            # while the PSUs' labels are put in order; no thread outlives the call
            with ThreadPoolExecutor(max_workers=1) as pool:
                coding = pool.submit(_string_codes, stratum_column)
                psu_labels = _psu_labels(psu_column)
                labels, st = coding.result()
        else:
            labels, st = _string_codes(stratum_column)
        if psu_column is not None:
            cl = _psu_codes_in_strata(st, psu_labels if psu_labels is not None else _psu_labels(psu_column))
        else:
            cl = np.arange(n)
        f = np.zeros(n)
        if fpc is not None:
            f = _stratum_fractions(design_values(data, fpc, "fpc"), st, cl, labels, fpc, stratum_column is not None)
        return cls(data=data, weights=w, strata=st, psu=cl, fpc=f, base_weights=w,
                   strata_labels=labels, lonely_psu=lonely_psu, stratified=stratum_column is not None)

    # ------------------------------------------------------------------ derived
    def __repr__(self) -> str:                   # a summary, as R prints a design: not the whole data
        from .diagnostics import describe
        return describe(self)

    @property
    def n(self) -> int:
        """Number of units with a positive weight (respondents)."""
        return int(np.count_nonzero(self.weights))

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs − strata with a positive weight (see :func:`domain_degf`).

        A property, read ``d.degf`` (not ``d.degf()``), where R's ``degf(design)`` is a function.
        """
        from .inference import domain_degf
        return domain_degf(self)

    @property
    def replicates_only(self) -> bool:
        """Ready-made replicate weights and no PSUs or strata (every unit its own PSU, one stratum): R's
        ``svrepdesign``, whose variances come from its replicates only (the estimators' default ``variance``)."""
        return (self.replicate_matrix is not None and self.stacked is None and _distinct(self.strata) == 1
                and _distinct(self.psu) == len(self.psu))

    def with_weights(self, weights: np.ndarray, step: Step | None = None) -> "Design":
        """A new design with other weights (and, if given, one more step in the history).

        Ready-made replicate weights (:func:`~portrait.survey.with_replicate_weights`, :func:`read_design`) go
        through the step too, each replicate from its own weights, as R's ``calibrate`` and ``postStratify`` of a
        ``svrepdesign`` re-run them (replicate factors re-run every step when the weights are asked for)."""
        steps = self.steps + ((step,) if step is not None else ())
        out = replace(self, weights=np.asarray(weights, dtype=float), steps=steps)
        if step is None or self.replicate_matrix is None:
            return out
        R, notes = np.empty_like(self.replicate_matrix), list(self.replicate_notes)
        for r in range(R.shape[1]):
            try:
                R[:, r], info = step.apply(replace(self, weights=self.replicate_matrix[:, r].copy(), steps=()))
            except (CalibrationError, ParameterError) as exc:
                raise type(exc)(f"replicate {r + 1}, step « {step.label} »: {exc}") from None
            if isinstance(info, dict) and "widened_bounds" in info:
                notes.append((r + 1, step.label, *info["widened_bounds"]))
        return replace(out, replicate_matrix=R, replicate_notes=tuple(notes))

    def column(self, name: str) -> pd.Series:
        if name not in self.data.columns:
            raise ParameterError(f"variable {name!r} is not in the survey data")
        return self.data[name]

    def replay(self, base: np.ndarray) -> np.ndarray:
        """Re-run the weighting recipe from other starting weights (for a replicate)."""
        return self._replay(base)[0]

    def _replay(self, base: np.ndarray) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
        d = replace(self, weights=np.asarray(base, dtype=float), steps=())
        notes = []
        for step in self.steps:
            w, info = step.apply(d)
            if isinstance(info, dict) and "widened_bounds" in info:
                notes.append((step.label, *info["widened_bounds"]))
            d = replace(d, weights=w)
        return d.weights, notes

    @property
    def has_replicates(self) -> bool:
        return self.replicate_factors is not None or self.replicate_matrix is not None

    def replicate_weights(self) -> np.ndarray:
        """The ``n × R`` replicate weights: the whole recipe re-run on every replicate (read-only: the design keeps
        them for its later estimates; ``.copy()`` to change them)."""
        return self._replicates()[0]

    def replicate_adjustments(self) -> pd.DataFrame:
        """Replicates in which a bounded calibration (:func:`~portrait.survey.calibrate`) or a trimming
        (:func:`~portrait.survey.trim`) could not hold its bounds and widened them: one row per
        replicate and step, with ``replicate`` (1-based), ``step`` (its label), ``lower`` and ``upper``
        (the bounds used: on g for a calibration, on the weights before the replicate factor for a
        trimming). Empty when the rule never acted; no replicate is ever dropped."""
        notes = self.replicate_notes if self.replicate_matrix is not None else self._replicates()[1]
        return pd.DataFrame(list(notes), columns=["replicate", "step", "lower", "upper"])

    def _replicates(self) -> tuple[np.ndarray, tuple]:
        if self.replicate_matrix is not None:
            return self.replicate_matrix, self.replicate_notes
        if self.replicate_factors is None:
            raise ParameterError("this design has no replicate weights; call "
                                 "portrait.survey.with_replicates first")
        base = self.base_weights if self.base_weights is not None else self.weights
        cache = getattr(self, "_rep_cache", None)
        if cache is not None and cache[0] is self.weights:
            return cache[1], cache[2]
        factors = self.replicate_factors
        if not self.steps:      # no recipe to re-run: the starting weights themselves, in the n × R layout
            reps = base[:, None] * factors
            reps.flags.writeable = False        # kept and handed out again: a caller's write would change them
            object.__setattr__(self, "_rep_cache", (self.weights, reps, ()))
            return reps, ()
        # replicate-major rows; each step's output is kept on the step, so that designs sharing the first
        # steps of their recipe (non-response, then one calibration or another) re-run only the rest
        found: list[list[tuple]] = [[] for _ in range(factors.shape[1])]
        start, rows = 0, None
        for k in range(len(self.steps), 0, -1):
            kept = getattr(self.steps[k - 1], "_replicate_rows", None)
            if (kept is not None and len(kept[0]) == k and all(a is b for a, b in zip(kept[0], self.steps))
                    and kept[1] is factors and kept[2] is base and kept[3] is self.data):
                start, rows, found = k, kept[4], [list(f) for f in kept[5]]
                break
        if rows is None:    # the same products as (base[:, None] * factors).T, written row by row at once
            rows = np.multiply(factors.T, base, order="C")
        for k in range(start, len(self.steps)):
            step = self.steps[k]
            out, left = step.apply_rows(rows) if step.apply_rows is not None else (np.empty_like(rows), range(len(rows)))
            for r in left:
                try:
                    out[r], info = step.apply(replace(self, weights=rows[r].copy(), steps=()))
                except CalibrationError as exc:    # say which replicate and step (an audit: the message said neither)
                    raise CalibrationError(f"replicate {r + 1}, step « {step.label} »: {exc}") from None
                if isinstance(info, dict) and "widened_bounds" in info:
                    found[r].append((step.label, *info["widened_bounds"]))
            rows = out
            rows.flags.writeable = False        # kept on the step, shared with the designs that extend its recipe
            object.__setattr__(step, "_replicate_rows", (self.steps[:k + 1], factors, base, self.data, rows,
                                                         tuple(tuple(f) for f in found)))
        reps = rows.T       # n × R, a view of the replicate-major rows: no copy of the whole matrix
        notes = tuple((r + 1, *note) for r, f in enumerate(found) for note in f)
        object.__setattr__(self, "_rep_cache", (self.weights, reps, notes))
        return reps, notes


def _stratum_fractions(raw: np.ndarray, st: np.ndarray, cl: np.ndarray, labels: np.ndarray, column: str,
                       stratified: bool) -> np.ndarray:
    """Each unit's sampling fraction: its stratum's fpc ``v`` if ``v ≤ 1``, else the stratum's PSUs over ``v``.

    ``raw`` is finite (:func:`~portrait.survey.errors.design_values`), ``st`` and ``cl`` are the design's codes.
    The strata are checked at once (lowest and highest fpc and distinct PSUs per stratum code); the stratum named
    is the first in code order that fails, as in a loop over the strata.

    Raises
    ------
    ParameterError
        If the fpc varies within a stratum, or more PSUs are sampled in a stratum than its population holds
        (or its fraction is negative).
    """
    if len(st) == 0:
        return np.zeros(0)
    frac, varies, outside, n_psu, low = stratum_fractions(raw, st, cl)
    fails = varies | outside
    if fails.any():
        h = int(np.argmax(fails))
        if varies[h]:
            where = f"within stratum {str(labels[h])!r}" if stratified else "across units"
            raise ParameterError(f"fpc {column!r} varies {where}: one population size or fraction per stratum")
        raise ParameterError(f"stratum {labels[h]!r}: {n_psu[h]} PSUs sampled from a population of {low[h]:g}")
    return frac[st]
