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

from .margins import JOINT, Margin
from .design import Design
from .errors import ParameterError
from .labels import _joined_text
# ============================================================================ diagnostics

G_QUANTILES = (0, 0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 1)


def describe(design: Design) -> str:
    """A design in a few lines (what ``repr`` and ``print`` show), as R prints a ``survey.design``: units and
    respondents, strata, PSUs and degrees of freedom, the fpc, the weights' range and total, the weighting steps,
    the replicates and the lonely-PSU rule — never the data themselves."""
    w, pos = design.weights, design.weights > 0
    strata, psus = len(np.unique(design.strata[pos])), len(np.unique(design.psu[pos]))
    element = psus == int(pos.sum())
    lines = [f"Design: {len(w)} units, {int(pos.sum())} with a positive weight; {design.data.shape[1]} data columns",
             f"  {strata} {'stratum' if strata == 1 else 'strata'}, "
             + (f"{psus} units sampled directly" if element else f"{psus} PSUs")
             + f", {design.degf} degrees of freedom; fpc: "
             + (f"PPS without replacement ({design.pps.method}, {design.pps.variance})" if design.pps is not None
                else "given" if np.any(design.fpc > 0) else "none (with replacement)")
             + f"; lonely PSU: {design.lonely_psu}"]
    if pos.any():
        lines.append(f"  weights: total {w[pos].sum():.6g}, from {w[pos].min():.6g} to {w[pos].max():.6g}")
    if design.steps:
        lines.append("  steps: " + " → ".join(s.label for s in design.steps))
    if design.has_replicates:
        r = (design.replicate_matrix.shape[1] if design.replicate_matrix is not None
             else design.replicate_factors.shape[1])
        lines.append(f"  replicates: {r} ({design.replicate_method or 'given'}), scale {design.replicate_scale:.6g}"
                     + (", centred on the full-sample estimate" if design.replicate_mse else ""))
    if design.stacked is not None:
        lines.append(f"  stacked surveys in {design.stacked[0]!r}: {', '.join(design.stacked[1])}")
    return "\n".join(lines)


def kish_deff(w: np.ndarray) -> float:
    """Compute Kish's design effect due to unequal weights, ``n Σw² / (Σw)²``.

    Only positive weights count (units of weight 0 are left out of ``n`` and the sums). The
    effective sample size is ``n / deff``.

    Parameters
    ----------
    w : array_like
        The weights (any shape is flattened by the sums; zeros and negative values are ignored).

    Returns
    -------
    float
        The design effect, ≥ 1 (1 for equal weights).

    Raises
    ------
    ParameterError
        If a weight is NaN or infinite, or none is positive.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Kish, L. (1992). Weighting for unequal Pi. *Journal of Official Statistics* 8, 183–200.

    Examples
    --------
    >>> kish_deff([1.0, 1.0, 2.0, 2.0])
    1.1111111111111112
    """
    w = np.asarray(w, dtype=float)
    if np.isnan(w).any() or np.isinf(w).any():
        raise ParameterError("kish_deff: the weights must be finite")
    w = w[w > 0]
    if not len(w):
        raise ParameterError("kish_deff: no positive weight (an empty domain, or every unit of weight 0)")
    return float(len(w) * np.sum(w ** 2) / np.sum(w) ** 2)


def weight_diagnostics(design: Design, before: Design | None = None) -> pd.Series:
    """Summarise the weights: Kish design effect, effective size, CV, range and quantiles of g.

    ``g`` is taken relative to ``before`` (default: the design weights) on units weighted in both.
    Only units with a positive weight count.

    Parameters
    ----------
    design : Design
        The weighted design.
    before : Design, optional
        The design whose weights ``g = w / w_before`` is taken against; default: the design's
        ``base_weights`` (no ``g`` quantiles when it has none).

    Returns
    -------
    pandas.Series
        Indexed by French labels: ``n``, ``somme des poids``, ``deff de Kish``, ``taille effective``
        (``n / deff``), ``CV des poids`` (population standard deviation over mean), ``poids min``,
        ``poids max``, ``rapport max/min``, then ``g 0 %``, ``g 1 %`` … ``g 100 %`` (quantiles of ``g``).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
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
    """Tabulate weighted totals by margin level, before and after, against the population targets.

    ``labels`` maps a variable to {level: French label}; ``names`` a variable to its French name. A
    margin's name may also map a whole level (the tuple of its variables' levels) to a label, which then
    wins: a level that holds others merged into it before calibration is shown as such.

    Parameters
    ----------
    design : Design
        The weighted design (the "after" weights).
    margins : sequence of Margin
        The categorical margins to tabulate.
    before : Design, optional
        The design before weighting (same units); adds ``avant`` and ``écart avant (%)``.
    labels : mapping, optional
        ``{variable: {level: label}}`` used to show levels; ``{margin name: {level tuple: label}}`` for
        whole levels of a margin (merged levels), which win.
    names : mapping, optional
        ``{variable: name}`` used to show margins.

    Returns
    -------
    pandas.DataFrame
        One row per margin level: ``marge``, ``modalité``, ``cible`` (target), ``après`` (weighted
        total), ``écart après (%)`` (``100 (après / cible − 1)``) and, with ``before``, ``avant`` and
        ``écart avant (%)`` (then in reading order: cible, avant, après, écart avant, écart après).
    """
    labels, names = labels or {}, names or {}
    rows = []
    for m in margins:
        key = _joined_text(design.data, m.variables, JOINT, "")
        for lv, target in m.totals.items():
            mask = (key == JOINT.join(lv)).to_numpy()
            shown = labels.get(m.name, {}).get(tuple(lv)) or JOINT.join(
                str(labels.get(v, {}).get(x, x)) for v, x in zip(m.variables, lv))
            row = {"marge": JOINT.join(names.get(v, v) for v in m.variables), "modalité": shown, "cible": target,
                   "après": float(design.weights[mask].sum())}
            if before is not None:
                row["avant"] = float(before.weights[mask].sum())
            rows.append(row)
    t = pd.DataFrame(rows)
    t["écart après (%)"] = (t["après"] / t["cible"] - 1) * 100
    if before is None:
        return t
    t["écart avant (%)"] = (t["avant"] / t["cible"] - 1) * 100
    return t[["marge", "modalité", "cible", "avant", "après", "écart avant (%)", "écart après (%)"]]


def standardised_differences(design: Design, margins: Sequence[Margin], before: Design,
                             labels: Mapping[str, Mapping[str, str]] | None = None,
                             names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Compute standardised differences of each level's share, sample vs population, before and after.

    For a share p̂ against the population share p: ``(p̂ − p) / sqrt(p (1 − p))`` (NaN when p is 0
    or 1). Shares are taken within each margin.

    Parameters
    ----------
    design : Design
        The weighted design (the "after" weights).
    margins : sequence of Margin
        The categorical margins.
    before : Design
        The design before weighting (same units).
    labels : mapping, optional
        ``{variable: {level: label}}`` used to show levels.
    names : mapping, optional
        ``{variable: name}`` used to show margins.

    Returns
    -------
    pandas.DataFrame
        One row per margin level: ``marge``, ``modalité``, ``diff. std. avant``, ``diff. std. après``.
    """
    t = margin_table(design, margins, before, labels, names)
    out = []
    for name, d in t.groupby("marge", sort=False):
        p = d["cible"] / d["cible"].sum()
        sd = np.sqrt(p * (1 - p)).replace(0, np.nan)
        out.append(d.assign(**{"diff. std. avant": (d["avant"] / d["avant"].sum() - p) / sd,
                               "diff. std. après": (d["après"] / d["après"].sum() - p) / sd}))
    return pd.concat(out, ignore_index=True)[["marge", "modalité", "diff. std. avant", "diff. std. après"]]
