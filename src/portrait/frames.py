"""Sampling frames.

Residents (STUDY §3): the current communes of the five departments with their legal population,
classified by size and stratified by department × size class. The population aged 15+ of each
commune, which the commune file does not give, is estimated with its department's 15+ share from
the INSEE estimates of the study year.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import sources
from .config import require
from .errors import ParameterError


def size_class_labels(breaks: Sequence[int]) -> list[str]:
    """French labels of the size classes defined by increasing ``breaks`` (e.g. « 1 000 à 4 999 »)."""
    def fmt(x: int) -> str:
        return f"{x:,}".replace(",", "\u202f")

    labels = [f"moins de {fmt(breaks[0])}"]
    labels += [f"{fmt(a)} à {fmt(b - 1)}" for a, b in zip(breaks[:-1], breaks[1:])]
    labels.append(f"{fmt(breaks[-1])} et plus")
    return labels


def resident_frame(communes: pd.DataFrame, *, departments: Sequence[str], size_breaks: Sequence[int],
                   pop15_share: Mapping[str, float]) -> pd.DataFrame:
    """The resident frame: one row per commune, with size class, stratum and estimated 15+ population.

    Parameters
    ----------
    communes : output of :func:`portrait.sources.read_communes`.
    departments : department codes in scope; an unknown code raises ``ParameterError``.
    size_breaks : increasing class breaks (default 1,000, 5,000, 20,000, 100,000).
    pop15_share : share of residents aged 15+ per department.
    """
    departments = [str(d) for d in departments]
    unknown = sorted(set(departments) - set(communes["departement"]))
    if unknown:
        raise ParameterError(f"parameter 'departments' holds unknown department code(s) {unknown}; "
                             f"the commune file has {sorted(communes['departement'].unique())}")
    breaks = [int(b) for b in size_breaks]
    if not breaks or any(b <= 0 for b in breaks) or breaks != sorted(set(breaks)):
        raise ParameterError(f"parameter 'size_breaks' must be strictly increasing positive "
                             f"integers, got {list(size_breaks)}")
    missing = sorted(set(departments) - set(pop15_share))
    if missing:
        raise ParameterError(f"no 15+ population share for department(s) {missing}")
    frame = communes.loc[communes["departement"].isin(departments)].copy()
    labels = size_class_labels(breaks)
    idx = np.searchsorted(np.asarray(breaks), frame["population"].to_numpy(), side="right")
    frame["size_class"] = pd.Categorical.from_codes(idx, categories=labels, ordered=True)
    frame["size_class_rank"] = idx + 1
    frame["stratum"] = frame["departement"] + "-" + frame["size_class_rank"].astype(str)
    share = frame["departement"].map(dict(pop15_share)).to_numpy(float)
    frame["pop15"] = np.floor(frame["population"].to_numpy(float) * share + 0.5).astype(int)
    return frame.sort_values(["stratum", "code"]).reset_index(drop=True)


def resident_frame_from_params(params: Mapping[str, Any]) -> pd.DataFrame:
    """Build the resident frame from ``data/raw`` with the notebook's parameters."""
    year = require(params, "population_year", int)
    departments = require(params, "departments", list)
    breaks = require(params, "size_breaks", list)
    return resident_frame(sources.read_communes(), departments=departments, size_breaks=breaks,
                          pop15_share=sources.pop15_share(year).to_dict())
