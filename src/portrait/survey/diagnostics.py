"""Weight diagnostics: Kish's design effect and effective size, calibration factors, margins achieved.

References
----------
Kish, L. (1965). *Survey Sampling*. Wiley. (design effect due to weighting, effective sample size)
Kish, L. (1992). Weighting for unequal Pi. *Journal of Official Statistics* 8, 183–200.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .calibration import JOINT, Margin
from .design import Design
# ============================================================================ diagnostics

G_QUANTILES = (0, 0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 1)


def kish_deff(w: np.ndarray) -> float:
    """Kish's design effect due to unequal weights: n Σw² / (Σw)²."""
    w = np.asarray(w, dtype=float)
    w = w[w > 0]
    return float(len(w) * np.sum(w ** 2) / np.sum(w) ** 2)


def weight_diagnostics(design: Design, before: Design | None = None) -> pd.Series:
    """Kish design effect, effective sample size, CV, range of the weights and quantiles of g.

    ``g`` is taken relative to ``before`` (default: the design weights) on units weighted in both.
    """
    w = design.weights[design.weights > 0]
    deff = kish_deff(w)
    out = {"n": len(w), "somme des poids": w.sum(), "deff de Kish": deff, "taille effective": len(w) / deff,
           "CV des poids": w.std() / w.mean(), "poids min": w.min(), "poids max": w.max(),
           "rapport max/min": w.max() / w.min()}
    ref = (before.weights if before is not None else design.base_weights)
    if ref is not None:
        both = (design.weights > 0) & (ref > 0)
        g = design.weights[both] / ref[both]
        for q in G_QUANTILES:
            out[f"g {int(q * 100)} %"] = float(np.quantile(g, q))
    return pd.Series(out)


def margin_table(design: Design, margins: Sequence[Margin], before: Design | None = None,
                 labels: Mapping[str, Mapping[str, str]] | None = None,
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Weighted totals by margin level, before and after, against the population targets.

    ``labels`` maps a variable to {level: French label}; ``names`` a variable to its French name.
    """
    labels, names = labels or {}, names or {}
    rows = []
    for m in margins:
        key = design.data[list(m.variables)].astype("string").fillna("").agg(JOINT.join, axis=1)
        for lv, target in m.totals.items():
            mask = (key == JOINT.join(lv)).to_numpy()
            shown = JOINT.join(str(labels.get(v, {}).get(x, x)) for v, x in zip(m.variables, lv))
            row = {"marge": JOINT.join(names.get(v, v) for v in m.variables), "modalité": shown, "cible": target,
                   "après": float(design.weights[mask].sum())}
            if before is not None:
                row["avant"] = float(before.weights[mask].sum())
            rows.append(row)
    t = pd.DataFrame(rows)
    t["écart après (%)"] = (t["après"] / t["cible"] - 1) * 100
    if before is not None:
        t["écart avant (%)"] = (t["avant"] / t["cible"] - 1) * 100
    return t


def standardised_differences(design: Design, margins: Sequence[Margin], before: Design,
                             labels: Mapping[str, Mapping[str, str]] | None = None,
                             names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Standardised differences of each level's share, sample vs population, before and after.

    For a share p̂ against the population share p: (p̂ − p) / sqrt(p (1 − p)).
    """
    t = margin_table(design, margins, before, labels, names)
    out = []
    for name, d in t.groupby("marge", sort=False):
        p = d["cible"] / d["cible"].sum()
        sd = np.sqrt(p * (1 - p)).replace(0, np.nan)
        out.append(d.assign(**{"diff. std. avant": (d["avant"] / d["avant"].sum() - p) / sd,
                               "diff. std. après": (d["après"] / d["après"].sum() - p) / sd}))
    return pd.concat(out, ignore_index=True)[["marge", "modalité", "diff. std. avant", "diff. std. après"]]
