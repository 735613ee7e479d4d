"""What the residents' with-replacement approximation costs: their variance under R's two-stage estimator.

The chain's resident design (:func:`~portrait.study.recipes.resident_design`) takes the communes drawn πps as if
drawn with replacement (ultimate cluster, no first-stage fpc; README « fpc policy »). The estimator the two-stage
design calls for is R's ``svydesign(id = ~commune + slot, fpc = ~pi + f2, pps = "brewer")``: Brewer's
approximation in the first stage (each commune's ``1 − π``), then the slots drawn by SRSWOR in each commune, with
their fpc ``f2 = take / pop15`` and their variance multiplied by ``π`` (:mod:`portrait.survey.pps`). Certainty
communes (``π = 1``) keep their own strata and contribute their second stage only, as in the chain.

:func:`two_stage_design` gives the chain's final design (same weights, same weighting steps, so the same estimates
and calibration residuals) that variance structure; :func:`first_stage_check` compares the key statistics' SEs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .. import survey
from ..pipeline.errors import ParameterError
from ..survey import Design
from .codebook import Codebook
from .recipes import key_statistics


def two_stage_design(design: Design, like: Design | None = None) -> Design:
    """``design`` (the residents', any weighting stage) with R's two-stage variance: Brewer, then SRSWOR.

    Parameters
    ----------
    design : Design
        A design from :func:`~portrait.study.recipes.resident_design` or weighted from one: its data hold each
        slot's ``code``, ``slot_id``, ``var_stratum``, ``pi`` (its commune's inclusion probability) and
        ``pi_overall`` (the slot's).
    like : Design, optional
        A two-stage design already built from another weighting stage of the same sample (same units, in the same
        order): its structure is taken instead of being built again.

    Returns
    -------
    Design
        The same weights, steps and data; strata, PSUs and fpc of the two stages (``later_stages``) and
        Brewer's ``pps``. No replicates: they would use the first stage only.

    Raises
    ------
    ParameterError
        If ``like`` does not hold as many units as ``design``.
    """
    if like is not None:
        if len(like.weights) != len(design.weights):
            raise ParameterError(f"like= holds {len(like.weights)} units and the design {len(design.weights)}: "
                                 "it must be another weighting stage of the same sample")
        return _with_stages(design, like)
    d = design.data
    pi1 = np.minimum(d["pi"].to_numpy(float), 1.0)
    f2 = d["pi_overall"].to_numpy(float) / pi1       # take / pop15: the slot's chance within its commune
    # the text columns as they are held (Arrow texts for pandas' text type), not through Python objects and back
    frame = pd.DataFrame({"stratum": d["var_stratum"].astype(str), "commune": d["code"].astype(str),
                          "slot": d["slot_id"].astype(str), "pi1": pi1, "f2": f2}).reset_index(drop=True)
    b = Design.from_frame(frame, prob=d["pi_overall"].to_numpy(float), strata=["stratum", None],
                          psu=["commune", "slot"], fpc=["pi1", "f2"], pps="brewer", lonely_psu=design.lonely_psu)
    return _with_stages(design, b)


def _with_stages(design: Design, b: Design) -> Design:
    """``design``'s weights, steps and data with ``b``'s strata, PSUs and fpc of both stages and Brewer's ``pps``."""
    return replace(design, strata=b.strata, psu=b.psu, fpc=b.fpc, strata_labels=b.strata_labels,
                   later_stages=b.later_stages, pps=b.pps, replicate_factors=None, replicate_matrix=None)


def first_stage_check(final: Design, cb: Codebook, statistics: pd.DataFrame | None = None) -> pd.DataFrame:
    """The key statistics' linearised SEs under the chain's design and under :func:`two_stage_design`.

    Parameters
    ----------
    final : Design
        The residents' calibrated design.
    cb : Codebook
        The codebook (the statistics' derived columns).
    statistics : pandas.DataFrame, optional
        Columns ``item, statistic, level``; default: every common-core mean and the NPS score (as
        :func:`~portrait.study.recipes.stage_estimates`).

    Returns
    -------
    pandas.DataFrame
        One row per statistic: ``item, statistic, level, column, estimate, se`` (the chain's), ``se_two_stage`` and
        ``ratio`` (``se_two_stage / se``).
    """
    data, sel = key_statistics(final, cb, "residents", statistics)
    cols = list(sel["column"])
    chain = survey.mean(replace(final, data=data), cols)
    two = survey.mean(replace(two_stage_design(final), data=data), cols)
    out = sel[["item", "statistic", "level", "column"]].reset_index(drop=True).assign(
        estimate=chain["estimate"].to_numpy(), se=chain["se"].to_numpy(), se_two_stage=two["se"].to_numpy())
    return out.assign(ratio=out["se_two_stage"] / out["se"])
