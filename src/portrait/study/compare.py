"""Residents versus visitors (STUDY §7): where the identity residents feel and the image visitors hold
agree or differ, item by item, with design-based inference.

The two surveys are independent samples. Every common-core statistic (means of scores, shares of
each answer, top-2-box, NPS groups and score, « Ne sait pas », strengths, weaknesses, words) is a
weighted mean of a derived variable (:mod:`portrait.study.items`) estimated in each survey with its
linearised variance (calibration residuals included); the difference visitors − residents has
variance V_r + V_v and a Wald test on the Welch–Satterthwaite degrees of freedom of V_r and V_v. Distributions are compared by
the Rao–Scott second-order F test and a design-based rank test on the stacked design; the adjusted
comparisons are survey-weighted regressions (scores) and proportional-odds models (agreement items)
on group + sex + age with replicate-weight SEs (:mod:`portrait.study.group_models`). p-values are adjusted across the battery by
Benjamini–Hochberg (or Holm).

References
----------
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57, 289–300.
Rao, J. N. K. and Scott, A. J. (1984). *Annals of Statistics* 12, 46–60.
Lumley, T. and Scott, A. J. (2013). *Biometrika* 100, 831–842.
Greenacre, M. (2007). *Correspondence Analysis in Practice*, 2nd ed. Chapman & Hall.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import survey
from . import items, recipes
from ..reporting import formatting as fmt
from .codebook import Codebook
from ..survey import Design
from ..pipeline import paths
from ..pipeline.config import every_problem, require
from ..pipeline.errors import ParameterError

GROUPS = ("residents", "visitors")
GROUP_LABELS = {"residents": "Habitants", "visitors": "Clients du territoire"}
DIFFERENCE = "visitors - residents"


def with_items(design: Design, cb: Codebook, survey: str, **kw) -> tuple[Design, pd.DataFrame]:
    """The design with the derived common-core variables added to its data, and their specification."""
    values, spec = items.derived(design.data, cb, survey, **kw)
    data = design.data.drop(columns=[c for c in values.columns if c in design.data.columns])
    return replace(design, data=pd.concat([data, values], axis=1)), spec


def group_estimates(designs: Mapping[str, Design], cb: Codebook, variance: str = "linearisation",
                    level: float = 0.95, statistics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every common-core statistic in each group: estimate, SE, CI, design effect, respondents.

    ``statistics`` (columns item, statistic, level) restricts the table to these statistics: only their
    items are derived and estimated.
    """
    rows = []
    for group in GROUPS:
        if statistics is None:
            d, spec = with_items(designs[group], cb, group)
        else:
            wanted = set(statistics["item"])
            d, spec = with_items(designs[group], cb, group, only=wanted,
                                 words=any(cb.variable(i).type == "open_words" for i in wanted))
            spec = spec.merge(statistics[["item", "statistic", "level"]], on=["item", "statistic", "level"])
        e = items.means(d, spec, variance=variance, level=level)
        e = e.drop(columns=["statistic", "variable", "level", "domain"]).assign(column=spec["column"].to_numpy())
        rows.append(spec.merge(e, on="column").assign(group=group, confidence_level=level))
    out = pd.concat(rows, ignore_index=True)
    return out[["item", "statistic", "level", "group", "estimate", "se", "ci_low", "ci_high", "confidence_level", "df",
                "deff", "n", "label", "item_label", "type", "column", "variance"]]


ADJUST_LABELS = {"fdr_bh": "méthode de Benjamini–Hochberg", "holm": "méthode de Holm"}


def _one(rows: pd.DataFrame, column: str):
    if len(values := (rows[column].dropna().unique() if column in rows else [])) != 1:
        raise ValueError(f"the rows should share one {column}, found {list(values)}")
    return values[0]


def adjustment_method(rows: pd.DataFrame) -> str:
    """The correction for multiple tests behind the adjusted p-values of ``rows`` (rows of
    ``comparison_differences.csv``): the one method of their ``adjustment`` column (``fdr_bh``, ``holm``)."""
    return str(_one(rows, "adjustment"))


def confidence_level(rows: pd.DataFrame) -> float:
    """The confidence level of the intervals of ``rows`` (estimates or differences of notebook 06, or the tables
    of :mod:`portrait.study.aims`): the one value of their ``confidence_level`` column (0.95)."""
    return float(_one(rows, "confidence_level"))


def adjustment_label(rows: pd.DataFrame) -> str:
    """:func:`adjustment_method` of ``rows`` in French (« méthode de Holm »)."""
    return ADJUST_LABELS.get(method := adjustment_method(rows), method)


@dataclass(frozen=True)
class ComparisonSettings:
    """The comparison's parameters (``config/06_comparison.yaml``), checked once when notebook 06 starts.

    Attributes
    ----------
    level : confidence level of every interval, in [0.5, 0.999].
    adjust : multiple-testing adjustment of the battery, ``fdr_bh`` (Benjamini–Hochberg) or ``holm``.
    model_replicates : bootstrap replicates per survey for the adjusted models (at least 2).
    small_cell_threshold : fewest respondents behind a share of the profile tables (at least 1; ``config/study.yaml``).
    """

    level: float = 0.95
    adjust: str = "fdr_bh"
    model_replicates: int = 200
    small_cell_threshold: int = 10

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "ComparisonSettings":
        with every_problem():
            adjust = require(params, "adjust", str, choices=list(ADJUST_LABELS))
            return cls(level=require(params, "confidence_level", float, minimum=0.5, maximum=0.999), adjust=adjust,
                       model_replicates=require(params, "model_replicates", int, minimum=2),
                       small_cell_threshold=require(params, "small_cell_threshold", int, minimum=1))


def adjust_pvalues(p: Sequence[float], method: str = "fdr_bh") -> np.ndarray:
    """Benjamini–Hochberg (``fdr_bh``, default) or Holm (``holm``) adjusted p-values (statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def independent_difference(r: Mapping[str, Any], v: Mapping[str, Any], level: float = 0.95) -> dict[str, np.ndarray]:
    """Visitors − residents from two aligned tables of estimates (columns, or arrays, estimate, se, df) of
    independent samples: variance V_r + V_v, Student's t on the Welch–Satterthwaite degrees of freedom
    (:func:`portrait.survey.welch_df`); estimate, se, ci_low, ci_high, df, t and p."""
    r, v = ({c: np.asarray(t[c], dtype=float) for c in ("estimate", "se", "df")} for t in (r, v))
    diff = v["estimate"] - r["estimate"]
    se = np.sqrt(v["se"] ** 2 + r["se"] ** 2)
    df = survey.welch_df([r["se"] ** 2, v["se"] ** 2], [r["df"], v["df"]])
    t = diff / np.where(se > 0, se, np.nan)
    q = stats.t.ppf(0.5 + level / 2, df)
    return {"estimate": diff, "se": se, "ci_low": diff - q * se, "ci_high": diff + q * se, "df": df, "t": t,
            "p": np.asarray(2 * stats.t.sf(np.abs(t), df), dtype=float)}


def differences(estimates: pd.DataFrame, level: float = 0.95, adjust: str = "fdr_bh",
                battery: pd.Series | None = None) -> pd.DataFrame:
    """Visitors − residents for every statistic: difference, SE, CI, Wald t and p, adjusted p.

    ``battery`` (boolean, aligned with the result) selects the statistics adjusted together;
    by default the item means, the top-2 boxes, the NPS score and the strengths and weaknesses.
    """
    key = ["item", "statistic", "level"]
    r = estimates.loc[estimates["group"] == "residents"].set_index(key)
    v = estimates.loc[estimates["group"] == "visitors"].set_index(key)
    both = r.index.intersection(v.index, sort=False)
    r, v = r.loc[both], v.loc[both]
    d = independent_difference(r, v, level)
    out = pd.DataFrame({"item": [k[0] for k in both], "statistic": [k[1] for k in both],
                        "level": [k[2] for k in both], "group": DIFFERENCE,
                        "estimate_residents": r["estimate"].to_numpy(), "estimate_visitors": v["estimate"].to_numpy(),
                        **{k: d[k] for k in ("estimate", "se", "ci_low", "ci_high", "df", "t", "p")},
                        "n_residents": r["n"].to_numpy(), "n_visitors": v["n"].to_numpy(),
                        "label": r["label"].to_numpy(), "item_label": r["item_label"].to_numpy(),
                        "type": r["type"].to_numpy()})
    if battery is None:
        battery = default_battery(out)
    out["in_battery"] = np.asarray(battery, dtype=bool)
    out["p_adj"] = np.nan
    out.loc[out["in_battery"], "p_adj"] = adjust_pvalues(out.loc[out["in_battery"], "p"], adjust)
    out["adjustment"] = adjust
    out["confidence_level"] = level
    return out


def default_battery(diff: pd.DataFrame) -> np.ndarray:
    """The statistics tested as one family: item means, top-2 boxes, NPS score, strengths, weaknesses."""
    return ((diff["statistic"].isin(["mean", "nps_score"]))
            | ((diff["statistic"] == "accord") & (diff["level"] == "top2"))
            | ((diff["statistic"] == "share") & diff["type"].eq("multi"))).to_numpy()


def effect_sizes(designs: Mapping[str, Design], cb: Codebook, diff: pd.DataFrame) -> pd.DataFrame:
    """Standardised mean difference for means (difference / pooled weighted SD), points for shares."""
    sd = {}
    for group in GROUPS:
        d, spec = with_items(designs[group], cb, group)
        w = d.weights
        for col, item in zip(spec.loc[spec["statistic"] == "mean", "column"], spec.loc[spec["statistic"] == "mean", "item"]):
            x = d.data[col].to_numpy(dtype=float)
            ok = ~np.isnan(x) & (w > 0)
            m = np.average(x[ok], weights=w[ok])
            sd[(group, item)] = np.sqrt(np.average((x[ok] - m) ** 2, weights=w[ok]))
    out = diff.copy()
    pooled = np.array([np.sqrt((sd.get(("residents", i), np.nan) ** 2 + sd.get(("visitors", i), np.nan) ** 2) / 2)
                       for i in out["item"]])
    out["smd"] = np.where(out["statistic"] == "mean", out["estimate"] / pooled, np.nan)
    out["points"] = np.where(out["statistic"] != "mean", out["estimate"] * 100, np.nan)
    return out


# ============================================================================ distributions


def stacked(designs: Mapping[str, Design], cb: Codebook) -> Design:
    """Both surveys in one design (group column ``groupe``), with the derived variables and the answers."""
    parts = {}
    for group in GROUPS:
        d, _ = with_items(designs[group], cb, group)
        parts[group] = d
    common = set.intersection(*(set(p.data.columns) for p in parts.values()))
    parts = {g: replace(p, data=p.data[[c for c in p.data.columns if c in common]]) for g, p in parts.items()}
    return survey.stack(parts, group="groupe")


def distribution_tests(stack: Design, cb: Codebook, adjust: str = "fdr_bh") -> pd.DataFrame:
    """Rao–Scott F and design-based Wilcoxon rank test of each ordinal common-core item by group.

    « Ne sait pas » and missing answers are left out (reported separately as shares). Each test's p-values
    are adjusted across the items by ``adjust`` (:func:`adjust_pvalues`).
    """
    rows = []
    dk = cb.dont_know_code
    for v in cb.common_core():
        if v.type not in ("likert_1_5", "score_0_10") or v.name not in stack.data.columns:
            continue
        x = stack.data[v.name].astype("Float64")
        clean = x.where(x != dk)
        d = replace(stack, data=stack.data.assign(**{f"_{v.name}": clean.astype("string").str.replace(".0", "", regex=False),
                                                     f"_{v.name}_num": clean.astype(float)}))
        rs = survey.rao_scott(d, f"_{v.name}", "groupe")
        rk = survey.rank_test(d, f"_{v.name}_num", "groupe")
        rows.append({"item": v.name, "item_label": v.label, "type": v.type, "rao_scott_F": rs.F, "ndf": rs.ndf,
                     "ddf": rs.ddf, "p_rao_scott": rs.p_F, "levels_dropped": ", ".join(rs.levels_dropped),
                     "rank_estimate": rk.estimate, "rank_t": rk.t, "p_rank": rk.p})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_rao_scott_adj"] = adjust_pvalues(out["p_rao_scott"], adjust)
        out["p_rank_adj"] = adjust_pvalues(out["p_rank"], adjust)
    return out


def profile_tests(stack: Design, cb: Codebook, items: Sequence[str] = ("forces", "faiblesses")) -> pd.DataFrame:
    """Do residents and visitors choose the options of each multiple-response item alike, as a whole?

    :func:`portrait.survey.multiple_response_test` (Bilder & Loughin 2004, Rao–Scott second order) on
    the stacked design, visitors − residents; a respondent who left the question blank is left out.
    """
    rows = []
    for item in items:
        v = cb.variable(item)
        cols = [c for c in v.columns if c in stack.data.columns]
        t = survey.multiple_response_test(stack, cols, "groupe", "residents", "visitors")
        rows.append({"item": item, "profile_X2": t.X2, "profile_df": t.df_chisq, "profile_p": t.p_chisq,
                     "profile_n_residents": t.n_a, "profile_n_visitors": t.n_b})
    return pd.DataFrame(rows)


# ============================================================================ strengths, weaknesses


def rankings(estimates: pd.DataFrame, item: str) -> pd.DataFrame:
    """Options of a multi-select item ranked by their weighted share in each group, with each share's confidence
    interval (``ci_low_<group>``, ``ci_high_<group>``) when ``estimates`` has them."""
    e = estimates.loc[(estimates["item"] == item) & (estimates["statistic"] == "share")]
    wide = e.pivot_table(index=["level", "label"], columns="group", values="estimate").reset_index()
    if {"ci_low", "ci_high"} <= set(e.columns):
        bounds = e.pivot_table(index=["level", "label"], columns="group", values=["ci_low", "ci_high"])
        bounds.columns = [f"{bound}_{g}" for bound, g in bounds.columns]
        wide = wide.merge(bounds.reset_index(), on=["level", "label"], how="left")
    for g in GROUPS:
        wide[f"rank_{g}"] = wide[g].rank(ascending=False, method="min").astype(int)
    return wide.sort_values("residents", ascending=False).reset_index(drop=True)


def rank_agreement(designs: Mapping[str, Design], cb: Codebook, item: str, level: float = 0.95) -> dict:
    """Spearman correlation between the groups' rankings of an item's options, with a replicate CI.

    The surveys are independent, so the variance of Fisher's z is the sum of two replicate
    variances: the correlation is recomputed on each survey's replicates with the other survey at
    its full-sample shares, and each set is combined with its own replicate scale (bootstrap, JK1
    or JKn, as R ``svrVar``). The CI is :func:`fisher_z_interval`. ``replicates_residents`` and
    ``replicates_visitors``: each survey's number of replicates (the two sets are not paired).
    """
    shares, reps, designs_used = {}, {}, {}
    for group in GROUPS:
        d, spec = with_items(designs[group], cb, group)
        cols = list(spec.loc[(spec["item"] == item) & (spec["statistic"] == "share"), "column"])
        if not cols:
            raise ParameterError(f"{item!r} is not a multi-select common-core item")
        Y = d.data[cols].to_numpy(dtype=float)
        M = ~np.isnan(Y)
        Y0 = np.where(M, Y, 0.0)
        w = d.weights
        shares[group] = (w @ Y0) / (w @ M)
        R = d.replicate_weights()
        reps[group] = (R.T @ Y0) / (R.T @ M)
        designs_used[group] = d
    rho = stats.spearmanr(shares["residents"], shares["visitors"]).statistic
    z0 = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    var_z = 0.0
    for group, other in (("residents", "visitors"), ("visitors", "residents")):
        rr = np.array([stats.spearmanr(row, shares[other]).statistic for row in reps[group]])
        z = np.arctanh(np.clip(rr, -0.999999, 0.999999))
        d = designs_used[group]
        var_z += float(survey.replicate_variance(z0, z, d.replicate_scale, d.replicate_rscales,
                                                   mse=d.replicate_mse)[0, 0])
    low, high = fisher_z_interval(rho, var_z, level)
    return {"item": item, "spearman": float(rho), "ci_low": low, "ci_high": high, "confidence_level": level,
            **{f"replicates_{g}": int(len(reps[g])) for g in GROUPS}}


def fisher_z_interval(r: float, var_z: float, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a correlation from the variance of its Fisher z, ``atanh(r)``.

    With ``var_z = 1 / (n − 3)`` this is the interval of R ``cor.test`` for Pearson's r.
    """
    q = stats.norm.ppf(0.5 + level / 2)
    z0 = np.arctanh(np.clip(r, -0.999999, 0.999999))
    half = q * np.sqrt(var_z)
    return float(np.tanh(z0 - half)), float(np.tanh(z0 + half))


# ============================================================================ perceptual map


def correspondence_analysis(table: pd.DataFrame, dims: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Correspondence analysis of a non-negative table (rows × columns).

    Returns principal coordinates of rows and columns (``dims`` dimensions) and the share of
    inertia of every dimension. SVD of the standardised residuals (Greenacre 2007, ch. 4).
    """
    N = table.to_numpy(dtype=float)
    if (N < 0).any() or N.sum() <= 0:
        raise ParameterError("correspondence analysis needs a non-negative table with a positive total")
    P = N / N.sum()
    r, c = P.sum(1), P.sum(0)
    S = (P - np.outer(r, c)) / np.sqrt(np.outer(r, c))
    U, sv, Vt = np.linalg.svd(S, full_matrices=False)
    # fix the signs so that the largest row coordinate of each dimension is positive (determinism)
    for k in range(len(sv)):
        if U[np.argmax(np.abs(U[:, k])), k] < 0:
            U[:, k] *= -1
            Vt[k] *= -1
    F = (U * sv) / np.sqrt(r)[:, None]
    G = (Vt.T * sv) / np.sqrt(c)[:, None]
    inertia = sv ** 2 / np.sum(sv ** 2)
    k = min(dims, len(sv))
    rows = pd.DataFrame(F[:, :k], index=table.index, columns=[f"dim{i + 1}" for i in range(k)])
    cols = pd.DataFrame(G[:, :k], index=table.columns, columns=[f"dim{i + 1}" for i in range(k)])
    return rows, cols, inertia


def attribute_table(designs: Mapping[str, Design], cb: Codebook, by: Mapping[str, str],
                    names: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """Weighted shares agreeing with each image attribute (top-2 box) and citing each strength, in subgroups of each
    survey (``by``: survey → column, residents by department, visitors by zone; ``names``: labels of levels)."""
    names = names or {}
    cols = {}
    labels = None
    for group in GROUPS:
        d, spec = with_items(designs[group], cb, group)
        battery = [v.name for v in cb.image_battery()]
        sel = spec.loc[((spec["statistic"] == "accord") & (spec["level"] == "top2") & spec["item"].isin(battery))
                       | ((spec["item"] == "forces") & (spec["statistic"] == "share"))]
        labels = np.where(sel["item"] == "forces", "force : " + sel["label"], sel["item_label"])
        col = by[group]
        e = survey.mean(d, list(sel["column"]), by=col)
        for dom, sub in e.groupby("domain", sort=False):
            level = dom.split("=", 1)[1]
            name = f"{GROUP_LABELS[group]} — {names.get(group, {}).get(level, level)}"
            cols[name] = sub["estimate"].to_numpy()
    return pd.DataFrame(cols, index=labels)


# ============================================================================ words, sensitivity


def word_table(estimates: pd.DataFrame, diff: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Open words: weighted share of persons citing each canonical word, per group, and the words
    most specific to each group (largest difference in points, adjusted within the words by the
    correction of the differences, :func:`adjustment_method`)."""
    w = diff.loc[diff["item"] == "mots"].copy()
    w["p_adj_words"] = adjust_pvalues(w["p"], adjustment_method(diff)) if len(w) else w["p"]
    # a word is specific to a group only when the difference is established (adjusted within the words)
    w["specific_to"] = np.where(w["p_adj_words"] >= 0.05, "", np.where(w["estimate"] > 0, "visitors", "residents"))
    w["rank_residents"] = w["estimate_residents"].rank(ascending=False, method="min").astype(int)
    w["rank_visitors"] = w["estimate_visitors"].rank(ascending=False, method="min").astype(int)
    return w.sort_values("estimate").reset_index(drop=True)


SENSITIVITY_STATISTICS = pd.DataFrame([
    ("image_globale", "mean", ""), ("recommandation", "mean", ""), ("recommandation", "nps_score", ""),
    ("img_conviviale", "accord", "top2"), ("img_dynamique", "accord", "top2"), ("img_sure", "accord", "top2"),
], columns=["item", "statistic", "level"])


def sensitivity(scenarios: Mapping[str, Mapping[str, Design]], cb: Codebook,
                statistics: pd.DataFrame = SENSITIVITY_STATISTICS) -> pd.DataFrame:
    """Key estimates and differences under several weightings (scenario → {residents, visitors} designs)."""
    rows = []
    for name, designs in scenarios.items():
        est = group_estimates(designs, cb, statistics=statistics).merge(statistics, on=["item", "statistic", "level"])
        diff = differences(est, battery=np.ones(len(statistics), dtype=bool))
        for _, r in est.iterrows():
            rows.append({"scenario": name, "item": r["item"], "statistic": r["statistic"], "level": r["level"],
                         "group": r["group"], "estimate": r["estimate"], "se": r["se"]})
        for _, r in diff.iterrows():
            rows.append({"scenario": name, "item": r["item"], "statistic": r["statistic"], "level": r["level"],
                         "group": DIFFERENCE, "estimate": r["estimate"], "se": r["se"]})
    return pd.DataFrame(rows)


def unweighted(design: Design) -> Design:
    """The respondents with equal weights (for the sensitivity table): no design, no weighting."""
    w = np.where(design.weights > 0, 1.0, 0.0)
    return replace(design, weights=w, steps=(), base_weights=w, replicate_factors=None, replicate_matrix=None)


METHOD_LABELS = recipes.METHOD_LABELS
TARGET_LABELS = {"tourism": "clients calés sur le tourisme", "frame": "clients calés sur les fichiers de partenaires"}


def sensitivity_scenarios(files: Mapping[str, str], designs: Mapping[str, Design]) -> dict[str, dict[str, Design]]:
    """The weightings compared in the sensitivity table, read from the weighted files' variants.

    ``files`` and ``designs`` map each group to its weighted file and final design. Scenarios:
    unweighted, design weights, each calibration method both files hold (``calibration_<m>``),
    and the visitors' other calibration target (``target_<t>``) with the residents' final weights.
    """
    variants = {g: list((survey.read_metadata(paths.resolve(p)) or {}).get("variants", {})) for g, p in files.items()}
    read = {g: (lambda v, p=p: survey.read_design(paths.resolve(p), v)) for g, p in files.items()}
    out = {"non pondéré": {g: unweighted(d) for g, d in designs.items()}}
    if all("design" in variants[g] for g in GROUPS):      # weights computed elsewhere hold no variant
        out["poids de sondage"] = {g: read[g]("design") for g in GROUPS}
    for v in variants["residents"]:
        if v.startswith("calibration_") and v in variants["visitors"]:
            out[_method_column(v.removeprefix("calibration_"))] = {g: read[g](v) for g in GROUPS}
    for v in variants["visitors"]:
        if v.startswith("target_"):
            out[TARGET_LABELS[v.removeprefix("target_")]] = {"residents": designs["residents"], "visitors": read["visitors"](v)}
    return out


RETAINED = " (méthode retenue)"


def _method_column(method: str) -> str:
    return f"calage {METHOD_LABELS.get(method, method)}"


def sensitivity_columns(scenarios: Iterable[str], attrs: Mapping[str, Mapping[str, Any]]
                        ) -> tuple[list[str], dict[str, str]]:
    """The sensitivity table's columns in reading order, and their headers.

    Unweighted and design weights first, then the calibration the study retained (from each survey's
    weighted-file attributes, ``attrs[group]["recipe"]["calibration_method"]``), marked « (méthode retenue) » —
    or, when the two surveys retained different methods, each column marked for its survey (a column calibrates
    both surveys by its method: it is the retained weighting of one of them only) — then the other variants.
    A file without a recipe (weights computed elsewhere) keeps the order.
    """
    names = list(dict.fromkeys(scenarios))
    methods = {g: ((attrs.get(g) or {}).get("recipe") or {}).get("calibration_method") for g in GROUPS}
    retained = [c for c in dict.fromkeys(_method_column(m) for m in methods.values() if m) if c in names]
    if not retained:
        return names, {}
    order = [s for s in names if s not in retained]
    at = order.index("poids de sondage") + 1 if "poids de sondage" in order else 0
    order[at:at] = retained
    if len(set(methods.values())) == 1:
        return order, {retained[0]: retained[0] + RETAINED}
    who = {"residents": "les habitants", "visitors": "les clients"}
    groups = {c: " et ".join(who[g] for g, m in methods.items() if m and _method_column(m) == c) for c in retained}
    return order, {c: f"{c} (méthode retenue pour {groups[c]})" for c in retained}


def short_label(item_label: str) -> str:
    """A short French label of an item for figures (« Les Hauts-de-France sont une région sûre » → « sûre »)."""
    import re

    s = re.sub(r"^Les Hauts-de-France (sont|ont|offrent|se trouvent)( une région)?\s*", "", item_label)
    s = re.sub(r"^Globalement, quelle image avez-vous des Hauts-de-France\s*\?", "Image globale (0-10)", s)
    s = re.sub(r"^Recommanderiez-vous les Hauts-de-France.*", "Recommandation (0-10)", s)
    s = re.sub(r"^Quelles sont, selon vous, les principales forces.*", "Forces", s)
    s = re.sub(r"^Quelles sont, selon vous, les principales faiblesses.*", "Faiblesses", s)
    s = re.sub(r"^Quels sont les trois mots.*", "Trois mots", s)
    s = re.sub(r"^Combien de séjours.*", "Séjours (24 derniers mois)", s)
    s = re.sub(r"^Je suis fier\(ère\) d'appartenir.*", "Fierté d'appartenance", s)
    s = re.sub(r"^De quel territoire vous sentez-vous le plus proche.*", "Territoire le plus proche", s)
    s = re.sub(r"^Seriez-vous prêt\(e\) à devenir ambassadeur.*", "Prêt(e) à être ambassadeur", s)
    s = re.sub(r"^J'ai l'intention de refaire un séjour.*", "Intention de refaire un séjour", s)
    for question, short in (("Vous êtes…", "Sexe"), ("Quel est votre âge ?", "Âge"),
                            ("Quel est votre plus haut diplôme obtenu ?", "Diplôme"),
                            ("Dans quel département habitez-vous ?", "Département"),
                            ("Dans quelle commune habitez-vous ? (code INSEE)", "Commune"),
                            ("Depuis combien d'années habitez-vous dans la région ?", "Années dans la région"),
                            ("Dans quel pays résidez-vous ?", "Pays de résidence"),
                            ("Dans quelle région résidez-vous ?", "Région de résidence"),
                            ("Votre dernier séjour dans la région était-il…", "Motif du dernier séjour"),
                            ("Quelle partie de la région avez-vous visitée ?", "Zone visitée")):
        if s == question:
            s = short
    s = s.replace("(0-10)", "(0 à 10)")           # as the sentences write the scale
    return fmt.capitalised(s) if s else item_label


def recovery(diff: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each difference beside the simulator's true difference.

    ``covered``: the CI contains it; ``nonzero``: the true difference is not zero (what the test's null
    denies); ``shifted``: the model adds a shift between the groups to the item (``group_shift``, report
    03) — a true difference can be non-zero without one, through the groups' other differences in the
    model (profiles, « Ne sait pas »); ``significant``: in the battery with adjusted p < 5 %;
    ``detected``: significant where the true difference is not zero.
    """
    t = truth.loc[truth["survey"] == DIFFERENCE, ["item", "statistic", "level", "value", "group_shift"]]
    t = t.assign(level=t["level"].fillna("").astype(str))
    out = diff.merge(t.rename(columns={"value": "truth"}), on=["item", "statistic", "level"], how="inner")
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    out["nonzero"] = out["truth"].abs() > 1e-9
    out["shifted"] = pd.to_numeric(out["group_shift"], errors="coerce").fillna(0).to_numpy() != 0
    out["significant"] = out["in_battery"] & (out["p_adj"] < 0.05)
    out["detected"] = out["significant"] & out["nonzero"]
    return out


def with_columns(design: Design, **columns) -> Design:
    """The design with extra (derived) columns in its data."""
    return replace(design, data=design.data.assign(**columns))


STATISTIC_LABELS = {"mean": "moyenne", "accord": "part d'accord", "nps_score": "score net de recommandation (points)",
                    "nps": "groupe de recommandation", "share": "part", "share_dk": "part de « Ne sait pas »"}


SHARES = items.SHARES


def shares_in_percent(df: pd.DataFrame, columns: Sequence[str], statistic: str = "statistic") -> pd.DataFrame:
    """Shares (agreement, options, « Ne sait pas », NPS groups) in % — their differences in points — and the
    net promoter score in points (:func:`nps_in_points`): one scale for every number a table shows."""
    rows = df[statistic].isin(SHARES).to_numpy()
    cols = [c for c in columns if c in df.columns]
    out = nps_in_points(df, columns, statistic)
    if rows.any() and cols:
        out.loc[rows, cols] = out.loc[rows, cols].astype(float) * 100
    return out


def nps_in_points(df: pd.DataFrame, columns: Sequence[str], statistic: str = "statistic") -> pd.DataFrame:
    """The net promoter score rows of ``df`` in points (−100 to +100), as reports write it: files keep it on the scale
    of its definition (−1 to +1); every table shown multiplies it, its SE and bounds by 100 (absent columns ignored)."""
    rows = df[statistic].eq("nps_score").to_numpy()
    cols = [c for c in columns if c in df.columns]
    out = df.copy()
    if rows.any() and cols:
        out.loc[rows, cols] = out.loc[rows, cols].astype(float) * 100
    return out


def question_labels(df: pd.DataFrame, cb: Codebook, nps: str = STATISTIC_LABELS["nps_score"]) -> pd.Series:
    """« item — statistic » for each row of ``df`` (columns ``item``, ``statistic``), the scale of a 1–5
    item's mean written out (« Accueillante — moyenne (1 à 5) »; 0–10 items carry theirs in the label)."""
    likert = {v.name for v in cb.variables if v.type == "likert_1_5"}
    scale = (df["item"].isin(likert) & df["statistic"].eq("mean")).map({True: " (1 à 5)", False: ""})
    return (df["item"].map(item_short_labels(cb)) + " — "
            + df["statistic"].map({**STATISTIC_LABELS, "nps_score": nps}) + scale)


def item_short_labels(cb: Codebook) -> dict[str, str]:
    """Variable name → short French label, for every variable of the codebook."""
    return {v.name: short_label(v.label) for v in cb.variables}
