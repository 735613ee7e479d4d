"""The visitor sample's draw (:func:`portrait.study.visitors.draw_visitor_sample`) in its two steps: which frame rows
are drawn, and the sample table of those rows. A validation replication keeps the rows, to read what was worked out
once on the frame (its attributes mapped to the model's keys, its persons' finite-population keys) at them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..survey import stratified_srswor

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
    code, drawn = pd.factorize(s["stratum"])      # every drawn stratum is in ``strata``: each looked up once
    row = pd.Index(strata["stratum"]).get_indexer(drawn)[code]
    for c in ("pi", "design_weight", "N_h", "n_h"):
        s[c] = strata[c].to_numpy()[row].astype("int64" if c in ("N_h", "n_h") else float)
    return pd.DataFrame(s, copy=False)     # one frame at the end: set one by one, the columns took 1 ms
