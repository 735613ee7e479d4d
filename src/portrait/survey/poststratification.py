"""Post-stratification, as R ``postStratify``: the weights of each post-stratum scaled to its population count.

It is linear calibration on the post-strata's indicators (:func:`~portrait.survey.calibrate` with
``method="linear"`` and one :class:`~portrait.survey.Margin`), which gives each unit ``g = N_h / N̂_h``; the step is
recorded like any calibration, so linearised variances use the residuals from the post-strata's means and
replicate weights are post-stratified again in each replicate, as R does.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from .calibration import calibrate
from .design import Design
from .errors import CalibrationError, ParameterError
from .labels import level_name
from .margins import Margin


def post_stratify(design: Design, strata: str | Sequence[str], population: Mapping[Any, float] | pd.Series
                  | pd.DataFrame, *, partial: bool = False, label: str = "post-stratification") -> Design:
    """Post-stratify the design's weights on ``strata`` to the population counts ``population`` (R ``postStratify``).

    Parameters
    ----------
    design : Design
        The design whose current weights are scaled.
    strata : str or sequence of str
        The post-stratification variable, or several crossed (R ``~stype + sch.wide``).
    population : mapping, pandas.Series or pandas.DataFrame
        Each post-stratum's population count: a mapping or Series from level (a tuple of levels for several
        variables) to count, or R's form, a table with one column per variable of ``strata`` and the counts in
        ``Freq``.
    partial : bool, default False
        Leave out the post-strata of ``population`` that no unit of the sample (of positive weight) belongs to, as R's
        ``partial = TRUE``; by default they are an error.
    label : str, default "post-stratification"
        Label of the step in the design's history.

    Returns
    -------
    Design
        A new design with one more calibration step.

    Raises
    ------
    ParameterError
        If ``population`` is a table without ``Freq`` or without a column of ``strata``, or repeats a post-stratum.
    CalibrationError
        If a count is not a positive number, a mapping or Series gives a post-stratum twice (as text: ``1``,
        ``1.0`` and ``"1"`` are one), a post-stratum has no unit in the sample (unless ``partial``), or a sampled
        unit's post-stratum has no count (as :func:`~portrait.survey.calibrate` says).

    See Also
    --------
    calibrate : Calibration to several margins, with other distances and bounds.

    Notes
    -----
    R's ``postStratify`` of a replicate design also changes its degrees of freedom to the rank of the replicate
    weights minus one (30 instead of 16 for R's ``nhanes`` with JKn replicates); the engine keeps the design's PSUs −
    strata, as for every replicate design (docs/methods.md, « Weighting », on replicate degrees of freedom). Estimates and SEs
    are R's.

    Examples
    --------
    >>> d = post_stratify(d, "stype", {"E": 4421, "H": 755, "M": 1018})  # doctest: +SKIP
    >>> pop = pd.DataFrame({"stype": ["E", "H", "M"], "Freq": [4421, 755, 1018]})   # R's form
    >>> d = post_stratify(d, "stype", pop)  # doctest: +SKIP
    """
    variables = [strata] if isinstance(strata, str) else list(strata)
    if isinstance(population, pd.DataFrame):
        missing = [c for c in [*variables, "Freq"] if c not in population.columns]
        if missing:
            raise ParameterError(f"the population table has no column {missing}: give one column per "
                                 f"post-stratification variable ({variables}) and the counts in 'Freq', as R does")
        keys = list(zip(*(population[v].map(level_name) for v in variables)))
        if len(set(keys)) < len(keys):
            raise ParameterError("the population table gives a post-stratum twice: "
                                 f"{sorted({k for k in keys if keys.count(k) > 1})[:5]}")
        population = {k if len(variables) > 1 else k[0]: f for k, f in zip(keys, population["Freq"])}
    margin = Margin.of(variables, population)
    if partial:
        present = _sampled(design, variables)
        margin = Margin(variables=margin.variables, totals={k: t for k, t in margin.totals.items() if k in present})
    try:
        return calibrate(design, [margin], method="linear", label=label)
    except CalibrationError as e:
        absent = [] if partial else [k for k in margin.totals if k not in _sampled(design, variables)]
        if absent:                     # R: « Some strata absent from sample: use partial=TRUE to ignore them »
            raise CalibrationError(f"{e}. If the population truly holds post-strata the sample lacks "
                                   f"({len(absent)} here), pass partial=True to leave them out, as R's "
                                   "partial = TRUE") from None
        raise


def _sampled(design: Design, variables: list[str]) -> set[tuple[str, ...]]:
    """The post-strata that units of positive weight hold, their levels read as calibration reads them."""
    missing = [v for v in variables if v not in design.data.columns]
    if missing:
        raise CalibrationError(f"post-stratification variable {missing[0]!r} is not in the survey data")
    sampled = design.data.loc[design.weights > 0, variables]
    return set(zip(*(sampled[v].map(level_name) for v in variables)))
