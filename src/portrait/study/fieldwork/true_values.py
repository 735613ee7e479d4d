"""The population truth of the fieldwork model: quantities solved on the populations (propensity
intercepts, visitor thresholds), exact answer probabilities, and the true value of every estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr

from ...pipeline.errors import ParameterError
from .model import Covariates, FieldworkModel, GROUPS, effects, option_effects
from .population import UNKNOWN, Population, recorded_masks


# ============================================================================ calibration


@dataclass(frozen=True)
class Calibration:
    """Quantities solved on the populations: propensity intercepts and visitor thresholds."""

    intercepts: dict[str, float]
    thresholds: dict[tuple[str, str], np.ndarray]


def _dont_know_prob(model: FieldworkModel, name: str, group: str, data: pd.DataFrame,
                    covariates: Covariates | None = None, spec: dict | None = None,
                    kept: dict | None = None) -> np.ndarray:
    """P(« Ne sait pas ») of each row for item ``name`` (``spec``: ``model.ordinal(name)``, if the caller has it).

    ``kept``: a dict the caller gives for the items of the same ``data``, where the probabilities are kept by rate and
    effects (the same values: most items share the default rate and effects, which some thirty items summed again);
    the array returned is then shared and must not be changed."""
    v = model.codebook.variable(name)
    if not v.dont_know:
        return np.zeros(len(data))
    if v.name in model.params.get("categorical_items", {}):
        dk = model.params["categorical_items"][name].get("dont_know", {})
        dk_eff = model.params.get("ordinal_defaults", {}).get("dont_know", {}).get("effects", {})
    else:
        dk = (model.ordinal(name) if spec is None else spec)["dont_know"]
        dk_eff = dk.get("effects", {})
    rate = dk.get("rate", {}).get(group, 0.0)
    if rate <= 0:
        return np.zeros(len(data))
    return rate_probability(rate, dk_eff, data, covariates, kept)


def rate_probability(rate: float, spec: Mapping[str, Any], data: pd.DataFrame, covariates: Covariates | None = None,
                     kept: dict | None = None) -> np.ndarray:
    """``expit(logit(rate) + effects(spec, data))`` of each row (« Ne sait pas », item non-response); ``kept``: a
    dict the caller gives for the variables of the same ``data``, where the probabilities are kept by rate and
    effects (the array returned is then shared and must not be changed)."""
    key = None if kept is None else _effects_key(rate, spec)
    if key is not None and key in kept:
        return kept[key]
    p = expit(logit(rate) + effects(spec, data, covariates))
    if key is not None:
        kept[key] = p
    return p


def _effects_key(rate: float, spec: Mapping[str, Any]) -> tuple | None:
    """What ``expit(logit(rate) + effects(spec, …))`` depends on, as a key (None where a value cannot be one): the
    covariates and levels in their order, with their effects."""
    try:
        key = (float(rate), tuple((c, tuple(e.items()) if isinstance(e, Mapping) else e) for c, e in spec.items()))
        hash(key)
    except TypeError:
        return None
    return key


def _propensity_linear(model: FieldworkModel, group: str, data: pd.DataFrame) -> np.ndarray:
    """The covariates' part of the response logit: visitors' on what the partner files record
    (:func:`.population.as_recorded`)."""
    spec = model.params["propensity"][group].get("effects", {})
    if group != "visitors":
        return effects(spec, data)
    # effects(spec, as_recorded(data)), one covariate at a time: a drawn value's effect is the « unknown »
    # level's (a slope's is 0: ``foreign`` is 0 where the country was drawn), the same terms added in the same order
    recorded = recorded_masks(data)
    out = np.zeros(len(data))
    for cov, eff in spec.items():
        if cov not in data.columns:
            continue
        term = effects({cov: eff}, data)
        if cov in recorded:
            term = np.where(recorded[cov], term, float(eff.get(UNKNOWN, 0.0)) if isinstance(eff, dict) else 0.0)
        out += term
    return out


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def calibrate(model: FieldworkModel, population: Population) -> Calibration:
    """Solve the response-propensity intercepts and the visitors' thresholds of common items."""
    nmar = float(model.params["propensity"].get("nmar_loading", 0.0))
    intercepts = {}
    for group in GROUPS:
        cells = population.cells(group)
        w = cells["n"].to_numpy(float)
        lin = _propensity_linear(model, group, cells)
        target = float(model.params["propensity"][group]["target_rate"])

        def gap(a: float) -> float:
            p = sum(wt * expit(a + lin + nmar * z) for z, wt in zip(_GH_NODES, _GH_WEIGHTS))
            return float(np.sum(w * p) / w.sum() - target)

        intercepts[group] = float(brentq(gap, -30, 30, xtol=1e-12))
    thresholds = {}
    for name in model.params["ordinal_items"]:
        v = model.codebook.variable(name)
        spec = model.ordinal(name)
        for group in v.surveys:
            thresholds[(group, name)] = spec["thresholds"]
        if v.common_core:
            thresholds[("visitors", name)] = _matched_thresholds(model, name, population) - spec["group_shift"]
    return Calibration(intercepts, thresholds)


def _latent_mixture(model: FieldworkModel, name: str, group: str, cells: pd.DataFrame):
    spec = model.ordinal(name)
    eta = spec["location"] + effects(spec["effects"], cells)
    scale = np.sqrt(1 + spec["loading"] ** 2)
    w = cells["n"].to_numpy(float) * (1 - _dont_know_prob(model, name, group, cells))
    return eta, scale, w / w.sum()


def _matched_thresholds(model: FieldworkModel, name: str, population: Population) -> np.ndarray:
    """Visitor thresholds giving the visitors the residents' population distribution of answers."""
    tau = model.ordinal(name)["thresholds"]
    eta_r, s, w_r = _latent_mixture(model, name, "residents", population.residents)
    eta_v, _, w_v = _latent_mixture(model, name, "visitors", population.visitors)
    out = []
    for t in tau:
        target = float(np.sum(w_r * ndtr((t - eta_r) / s)))
        out.append(brentq(lambda x: float(np.sum(w_v * ndtr((x - eta_v) / s))) - target,
                           -40, 40, xtol=1e-13))
    return np.asarray(out)


# ============================================================================ exact probabilities


def ordinal_probabilities(model: FieldworkModel, cal: Calibration, name: str, group: str,
                          data: pd.DataFrame) -> np.ndarray:
    """P(answer = each code | covariates) for an ordinal item, rows of ``data`` × codes."""
    spec = model.ordinal(name)
    eta = spec["location"] + effects(spec["effects"], data)
    s = np.sqrt(1 + spec["loading"] ** 2)
    tau = cal.thresholds[(group, name)]
    cdf = ndtr((tau[None, :] - eta[:, None]) / s)
    cdf = np.hstack([np.zeros((len(data), 1)), cdf, np.ones((len(data), 1))])
    return np.diff(cdf, axis=1)


def categorical_probabilities(model: FieldworkModel, name: str, data: pd.DataFrame,
                              covariates: Covariates | None = None) -> np.ndarray:
    """P(answer = each code | covariates) for a nominal item (multinomial logit); ``covariates``: a
    :class:`.model.Covariates` of ``data`` (:func:`.model.option_effects`)."""
    spec = model.params["categorical_items"][name]
    v = model.codebook.variable(name)
    keys = [c.key for c in v.codes]
    base = np.log(np.asarray([spec["base"][k] for k in keys], dtype=float))
    lin = base[None, :] + option_effects(spec.get("effects", {}), data, keys, covariates)
    lin -= lin.max(axis=1, keepdims=True)
    e = np.exp(lin)
    return e / e.sum(axis=1, keepdims=True)


def _option_log_weights(model: FieldworkModel, section: str, name: str, group: str,
                        data: pd.DataFrame, options: list, covariates: Covariates | None = None) -> np.ndarray:
    spec = model.params[section][name]
    base = np.log(np.asarray([spec["weights"][o] for o in options], dtype=float))
    lw = base[None, :] + option_effects(spec.get("effects", {}), data, options, covariates)
    if group == "visitors":
        shift = spec.get("group_shift", {})
        lw = lw + np.asarray([shift.get(o, 0.0) for o in options], dtype=float)[None, :]
    return lw


def pick_probabilities(p: np.ndarray) -> np.ndarray:
    """P(option k is picked r-th), r = 1, 2, 3, under sampling without replacement ∝ ``p``.

    ``p`` is one probability vector (sums to 1). Returns an array 3 × K (exact enumeration of
    the ordered picks: Plackett–Luce).
    """
    k = len(p)
    p1 = p.copy()
    # second pick: sum over the first pick i != k of p_i * p_k / (1 - p_i)
    q = p[:, None] * p[None, :] / (1 - p[:, None])          # q[i, k] = P(first i, second k)
    np.fill_diagonal(q, 0.0)
    p2 = q.sum(axis=0)
    # third pick: sum over i, j distinct and != k of q[i, j] * p_k / (1 - p_i - p_j)
    denom = 1 - p[:, None] - p[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom > 0, q / denom, 0.0)            # r[i, j] = P(first i, second j) / (1 - p_i - p_j)
    np.fill_diagonal(r, 0.0)
    p3 = np.empty(k)
    for kk in range(k):
        mask = np.ones(k, dtype=bool)
        mask[kk] = False
        p3[kk] = p[kk] * r[np.ix_(mask, mask)].sum()
    return np.vstack([p1, p2, p3])


def _mention_probabilities(lw: np.ndarray, picks_weight: np.ndarray) -> np.ndarray:
    """P(option cited) per row, for log-weights ``lw`` (rows × K) and the weight of picks 1..3.

    ``picks_weight[r]`` = P(the person makes at least r+1 picks). Identical rows are computed once.
    """
    rounded = np.ascontiguousarray(np.round(lw, 12))
    keys = rounded.view(np.dtype((np.void, rounded.dtype.itemsize * rounded.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    uniq = rounded[first]
    out = np.empty((len(uniq), lw.shape[1]))
    for i, row in enumerate(uniq):
        p = np.exp(row - row.max())
        p /= p.sum()
        out[i] = picks_weight @ pick_probabilities(p)
    return out[inverse.ravel()]


def multi_mention_probabilities(model: FieldworkModel, name: str, group: str, data: pd.DataFrame) -> np.ndarray:
    """P(option cited | covariates) for a multi-select item, rows × options."""
    v = model.codebook.variable(name)
    lw = _option_log_weights(model, "multi_items", name, group, data, v.code_values)
    n_probs = np.asarray(model.params["multi_items"][name]["n_choices"][group], dtype=float)
    at_least = np.cumsum(n_probs[::-1])[::-1]              # P(n >= 1), P(n >= 2), P(n >= 3)
    return _mention_probabilities(lw, at_least)


def word_mention_probabilities(model: FieldworkModel, name: str, group: str, data: pd.DataFrame) -> np.ndarray:
    """P(canonical word cited | covariates) for an open-word item, rows × vocabulary."""
    words = list(model.codebook.vocabulary(name))
    spec = model.params["words"][name]
    lw = _option_log_weights(model, "words", name, group, data, words)
    b2, b3 = float(spec["blank_second"]), float(spec["blank_third"])
    if model.codebook.variable(name).n_words != 3:
        raise ParameterError("the word model handles items of exactly three words")
    return _mention_probabilities(lw, np.asarray([1.0, 1 - b2, (1 - b2) * (1 - b3)]))


# ============================================================================ truth


def truth(model: FieldworkModel, population: Population, cal: Calibration) -> pd.DataFrame:
    """Population values of every estimate of the simulated surveys (tidy table).

    Columns: ``survey, item, statistic, level, value, group_shift, source``. Statistics:
    ``share`` of each code (profile items: among everyone; opinion items: among the persons who
    give a substantive answer, so « Ne sait pas » excluded), ``share_dk`` (share of « Ne sait
    pas » among everyone), ``mean`` of the codes (substantive answers), the codebook's groupings
    (``accord``: bottom2/top2; ``nps``: NPS groups and ``nps_score``), ``share`` of each option or
    canonical word cited (among the persons who answer the question). Rows with survey
    ``visitors - residents`` give the difference for the common-core items.
    """
    cb = model.codebook
    rows = []
    for group in GROUPS:
        cells = population.cells(group)
        w = cells["n"].to_numpy(float)
        for v in cb.variables_for(group):
            if v.role == "profile":
                keyed = cells[v.name].to_numpy(object)
                for c in v.codes:
                    rows.append((group, v.name, "share", str(c.value), float(w[keyed == c.key].sum() / w.sum())))
            elif v.name in model.params["ordinal_items"] or v.name in model.params.get("categorical_items", {}):
                if v.name in model.params["ordinal_items"]:
                    probs = ordinal_probabilities(model, cal, v.name, group, cells)
                else:
                    probs = categorical_probabilities(model, v.name, cells)
                dk = _dont_know_prob(model, v.name, group, cells)
                wv = w * (1 - dk)
                shares = (wv @ probs) / wv.sum()
                codes = v.code_values
                for c, s in zip(codes, shares):
                    rows.append((group, v.name, "share", str(c), float(s)))
                if v.name in model.params["ordinal_items"]:
                    rows.append((group, v.name, "mean", "", float(np.dot(shares, np.asarray(codes, float)))))
                for g in cb.groupings_for(v.name):
                    gs = {key: float(sum(s for c, s in zip(codes, shares) if c in gcodes))
                          for key, _, gcodes in g.groups}
                    rows += [(group, v.name, g.name, key, val) for key, val in gs.items()]
                    if g.difference:
                        dname, _, plus, minus = g.difference
                        rows.append((group, v.name, dname, "", gs[plus] - gs[minus]))
                if v.dont_know:
                    rows.append((group, v.name, "share_dk", str(cb.dont_know_code), float(np.dot(w, dk) / w.sum())))
            elif v.type == "multi":
                m = multi_mention_probabilities(model, v.name, group, cells)
                for c, s in zip(v.code_values, (w @ m) / w.sum()):
                    rows.append((group, v.name, "share", str(c), float(s)))
            elif v.type == "open_words":
                m = word_mention_probabilities(model, v.name, group, cells)
                for word, s in zip(cb.vocabulary(v.name), (w @ m) / w.sum()):
                    rows.append((group, v.name, "share", word, float(s)))
    t = pd.DataFrame(rows, columns=["survey", "item", "statistic", "level", "value"])
    core = {v.name for v in cb.common_core()}
    both = t.loc[t["item"].isin(core)]
    wide = both.pivot_table(index=["item", "statistic", "level"], columns="survey", values="value",
                            aggfunc="first", sort=False).reset_index()
    diff = wide.assign(survey="visitors - residents", value=wide["visitors"] - wide["residents"])
    t = pd.concat([t, diff[["survey", "item", "statistic", "level", "value"]]], ignore_index=True)
    planted = model.planted()
    shift = {(r.item, r.level): r.group_shift for r in planted.itertuples()}
    t["group_shift"] = [shift.get((i, lv), shift.get((i, ""), np.nan)) if i in core else np.nan
                        for i, lv in zip(t["item"], t["level"])]
    t["value"] = t["value"].round(12) + 0.0      # + 0.0: no negative zero in the file
    t["source"] = "simulated"
    order = {n: i for i, n in enumerate(v.name for v in cb.variables)}
    t["_o"] = t["item"].map(order)
    t["_s"] = t["survey"].map({"residents": 0, "visitors": 1, "visitors - residents": 2})
    t = t.sort_values(["_s", "_o"], kind="stable").drop(columns=["_o", "_s"]).reset_index(drop=True)
    return t
