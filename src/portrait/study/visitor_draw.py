"""The visitor sample's draw (:func:`portrait.study.visitors.draw_visitor_sample`) in its two steps: which frame rows
are drawn, and the sample table of those rows. A validation replication keeps the rows, to read what was worked out
once on the frame (its attributes mapped to the model's keys, its persons' finite-population keys) at them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..survey import stratified_srswor
from ..survey.labels import kept_for_arrow
from .unit_table import held_index

SAMPLE_COLUMNS = ("person_id", "stratum", "zone", "source_type", "multiplicity", "country", "residence_region",
                  "purpose")


def sample_rows(frame: pd.DataFrame, strata: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The frame rows of a stratified SRSWOR of ``n_h`` persons per stratum, in frame order (distinct rows)."""
    sizes = dict(zip(strata["stratum"], strata["n_h"].astype(int)))
    return np.flatnonzero(stratified_srswor(frame["stratum"], sizes, rng))


def sample_at(frame: pd.DataFrame, strata: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The sample table of the frame's ``rows``: their :data:`SAMPLE_COLUMNS` and their stratum's ``pi,
    design_weight, N_h, n_h``."""
    s = {c: frame[c].array.take(rows) for c in SAMPLE_COLUMNS}
    # every drawn stratum is in ``strata``: each looked up once, from the frame's strata coded once per frame (kept
    # with its Arrow array: factorising the drawn strata again took 0.4 ms of each validation replication)
    code, found = kept_for_arrow(frame["stratum"], "stratum codes", _codes)
    row = held_index(strata["stratum"]).get_indexer(found)[code[rows]]
    for c in ("pi", "design_weight", "N_h", "n_h"):
        s[c] = strata[c].to_numpy()[row].astype("int64" if c in ("N_h", "n_h") else float)
    return pd.DataFrame(s, copy=False)     # one frame at the end: set one by one, the columns took 1 ms


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values)``, the codes read-only (kept, :func:`portrait.survey.labels.kept_for_arrow`)."""
    code, found = pd.factorize(values)
    code.flags.writeable = False
    return code, found
