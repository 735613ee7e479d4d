"""Figures of the validation study (report 08): coverage, bias and tests of each estimator, from the Monte Carlo
summary (:func:`portrait.study.validation.summary`). Like :mod:`portrait.reporting.plots`, every function returns the
matplotlib ``Figure``; none writes files.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import formatting as fmt

VARIANCE_COLORS = {"linéarisation": "#0b5cad", "linéarisation à deux degrés": "#2f855a", "bootstrap": "#d17a00"}


def _validation_frame(summ: pd.DataFrame) -> pd.DataFrame:
    from ..study import validation

    return summ.assign(Estimateur=summ["estimator"].map(validation.ESTIMATOR_LABELS),
                       Variance=summ["variance"].map(validation.VARIANCE_LABELS),
                       Enquête=summ["survey"].map(validation.SURVEY_LABELS))


def _spread(d: pd.DataFrame, width: float) -> np.ndarray:
    """Deterministic vertical offsets of the statistics within a row (a fixed jitter: no random draw)."""
    key = d["item"] + "|" + d["statistic"] + "|" + d["level"].astype(str)
    order = {k: i for i, k in enumerate(dict.fromkeys(key))}
    n = max(len(order) - 1, 1)
    return np.asarray([(order[k] / n - 0.5) * width for k in key])


def coverage(summ: pd.DataFrame, title: str, pooled: pd.DataFrame | None = None) -> plt.Figure:
    """Coverage of the 95 % intervals per estimator and variance method, one panel per survey.

    Small points: each key statistic (spread vertically in a fixed order); large points with bars: all
    statistics pooled, with the Monte Carlo interval of ``pooled`` (:func:`portrait.study.validation.by_estimator`,
    replications as the independent units) when given, else the Wilson interval of the pooled rate. Grey
    bands: 95 % ± 1.96 Monte Carlo errors of one statistic's coverage, each variance method's on its own row and
    for its own number of replications (the bootstrap's, run on fewer replications, is wider). Dashed lines: the
    tolerance band the conclusion applies (:data:`~portrait.study.validation.monte_carlo.COVERAGE_BAND`).
    """
    from ..study import validation
    from ..study.validation.monte_carlo import COVERAGE_BAND, band_half_width

    d = _validation_frame(summ)
    surveys = [validation.SURVEY_LABELS[s] for s in validation.SURVEYS if s in set(summ["survey"])]
    order = [validation.ESTIMATOR_LABELS[e] for e in validation.ESTIMATORS if e in set(summ["estimator"])]
    hues = [v for v in VARIANCE_COLORS if v in set(d["Variance"])]
    step = 0.36 if len(hues) <= 2 else 0.3                # rows of one estimator stay within ±0.5 of its tick
    offset = {v: (i - (len(hues) - 1) / 2) * step for i, v in enumerate(hues)}
    d = d.assign(couverture=d["coverage"] * 100,
                 y=d["Estimateur"].map({e: i for i, e in enumerate(order)}) + d["Variance"].map(offset)
                 + _spread(d, 0.22))
    reps = d.groupby("Variance")["replications"].max()
    half = {v: 100 * band_half_width(reps[v]) for v in hues}
    intervals = None if pooled is None else _validation_frame(pooled).set_index(
        ["Enquête", "Estimateur", "Variance"])[["coverage_low", "coverage_high"]]
    fig, axes = plt.subplots(1, len(surveys), figsize=(4.2 * len(surveys), max(3.8, 0.8 + 0.3 * len(order) * len(hues))),
                             sharex=True, sharey=True, squeeze=False)
    for ax, survey in zip(axes[0], surveys):
        sub = d.loc[d["Enquête"] == survey]
        present = set(zip(sub["Estimateur"], sub["Variance"]))
        for v in hues:                                    # a coverage is at most 100 %
            for i in (i for i, e in enumerate(order) if (e, v) in present):
                ax.fill_betweenx([i + offset[v] - 0.47 * step, i + offset[v] + 0.47 * step], 95 - half[v],
                                 min(95 + half[v], 100),
                                 color="#e4e7eb", lw=0, zorder=0)
        ax.axvline(95, color="#52606d", lw=1, zorder=1)
        for edge in COVERAGE_BAND:                        # the tolerance band the conclusion applies
            ax.axvline(edge * 100, color="#52606d", lw=0.8, ls="--", zorder=1)
        sns.scatterplot(data=sub, x="couverture", y="y", hue="Variance", hue_order=hues, palette=VARIANCE_COLORS,
                        s=10, alpha=0.5, linewidth=0, ax=ax, legend=False)
        rates = sub.assign(_c=sub["coverage"] * sub["replications"]).groupby(["Estimateur", "Variance"])[
            ["_c", "replications"]].sum()
        for (est, var), row in rates.iterrows():
            if row["replications"] == 0:
                continue
            c = row["_c"] / row["replications"]
            lo, hi = (validation.wilson(row["_c"], row["replications"]) if intervals is None
                      else intervals.loc[(survey, est, var)])
            ax.errorbar(c * 100, order.index(est) + offset[var], xerr=[[max(c - lo, 0) * 100], [max(hi - c, 0) * 100]],
                        fmt="o", color=VARIANCE_COLORS[var], ms=6, capsize=3, lw=1.4, zorder=3, label=var)
        ax.set_yticks(range(len(order)), order)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set(title=survey, xlabel="Couverture des intervalles à 95 % (%)", ylabel="")
    handles, labels = axes[0][0].get_legend_handles_labels()
    drawn = dict(zip(labels, handles))
    uniq = {v: drawn[v] for v in hues if v in drawn}       # in the order of the rows
    fig.legend(uniq.values(), [f"variance : {k}" for k in uniq], loc="lower center", ncols=len(uniq),
               bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def coverage_by_statistic(summaries: dict[str, pd.DataFrame], labels: dict, title: str, estimator: str = "raking",
                          variance: str = "linearisation") -> plt.Figure:
    """Coverage of each key statistic's 95 % intervals for one calibrated estimator, one panel per target, with the
    statistic's Monte Carlo (Wilson) interval: figure 1's calibrated rows at a scale where 94 % and 96 % stand apart.

    Solid line: 95 %; dashed lines: the tolerance band the conclusion applies; grey band: 95 % ± 1.96 Monte Carlo
    errors for the number of replications. In red, the statistics the conclusion puts in question
    (:func:`~portrait.study.validation.monte_carlo.in_question`).
    """
    import textwrap

    from ..study import validation
    from ..study.validation.monte_carlo import COVERAGE_BAND, band_half_width

    targets = [t for t in validation.TARGETS if t in summaries]
    d = _by_statistic(summaries, estimator, variance)
    d["Statistique"] = [textwrap.fill(_unbroken_parentheses(labels.get((i, st, lv), i)), 50)
                        for i, st, lv in zip(d["item"], d["statistic"], d["level"])]
    surveys = [s for s in validation.SURVEYS if s in set(d["survey"])]
    rows = {s: list(dict.fromkeys(d.loc[d["survey"] == s, "Statistique"])) for s in surveys}
    low, high = float(d["coverage_low"].min()) * 100, float(d["coverage_high"].max()) * 100
    pad = max(0.5, 0.03 * (high - low))          # the intervals' ends clear of the frame, whatever the scale
    low, high = min(COVERAGE_BAND[0] * 100 - 1, low - pad), max(COVERAGE_BAND[1] * 100 + 1, high + pad)
    heights = [len(rows[s]) for s in surveys]
    fig, axes = plt.subplots(len(surveys), len(targets), sharex=True, squeeze=False,
                             figsize=(5.0 + 3.0 * len(targets), 1.2 + 0.38 * sum(heights) + 0.5 * len(surveys)),
                             gridspec_kw={"height_ratios": heights})
    for i, survey in enumerate(surveys):
        for j, t in enumerate(targets):
            ax = axes[i, j]
            sub = d.loc[(d["target"] == t) & (d["survey"] == survey)].set_index("Statistique").reindex(rows[survey])
            half = 100 * band_half_width(sub["replications"].max())
            ax.axvspan(95 - half, 95 + half, color="#e4e7eb", lw=0, zorder=0)
            ax.axvline(95, color="#52606d", lw=1, zorder=1)
            for edge in COVERAGE_BAND:
                ax.axvline(edge * 100, color="#52606d", lw=0.8, ls="--", zorder=1)
            for flagged, color in ((False, "#1f2933"), (True, "#b3261e")):
                m = (sub["_q"] == flagged).to_numpy()
                x = sub["coverage"].to_numpy(float)[m] * 100
                ax.errorbar(x, np.flatnonzero(m), fmt="o", ms=4, lw=1, capsize=2, color=color, zorder=3,
                            xerr=[np.maximum(x - sub["coverage_low"].to_numpy(float)[m] * 100, 0),
                                  np.maximum(sub["coverage_high"].to_numpy(float)[m] * 100 - x, 0)])
            ax.set_xlim(low, high)
            ax.set_yticks(range(len(rows[survey])), rows[survey] if j == 0 else [], fontsize=9.5)
            ax.set_ylim(len(rows[survey]) - 0.5, -0.5)
            ax.set_title(validation.SURVEY_LABELS[survey], loc="left", fontsize=10, fontweight="bold")
            if i == 0:                                     # the target above its column, clear of the survey's name
                ax.annotate(validation.TARGET_LABELS[t], (0.5, 1), xycoords="axes fraction", xytext=(0, 20),
                            textcoords="offset points", ha="center", va="bottom", fontsize=11)
            ax.set(xlabel="Couverture des intervalles à 95 % (%)" if i == len(surveys) - 1 else "", ylabel="")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: An estimator and a variance method in a sentence (« avec le calage par raking ratio (variance linéarisée) »).
ESTIMATOR_WORDS = {"raking": "le calage par raking ratio", "logit": "le calage logit borné"}
VARIANCE_WORDS = {"linearisation": "linéarisée"}


def _by_statistic(summaries: dict[str, pd.DataFrame], estimator: str, variance: str) -> pd.DataFrame:
    """The rows :func:`coverage_by_statistic` draws: one estimator and variance of every target (``target``), in the
    order of the targets, each flagged ``_q`` when the conclusion puts it in question."""
    from ..study import validation
    from ..study.validation.monte_carlo import in_question

    d = pd.concat([summaries[t].loc[(summaries[t]["estimator"] == estimator)
                                    & (summaries[t]["variance"] == variance)].assign(target=t)
                   for t in validation.TARGETS if t in summaries], ignore_index=True)
    return d.assign(_q=in_question(d).to_numpy())


def coverage_by_statistic_alt(summaries: dict[str, pd.DataFrame], estimator: str = "raking",
                              variance: str = "linearisation") -> str:
    """The alternative text of :func:`coverage_by_statistic`, in French, from the rows it draws: its columns (the
    targets) and blocks (surveys and difference), the range of the coverages shown and how many are in red (review:
    « entre 93 % et 97 % environ » beside coverages from 85,0 % to 100,0 %)."""
    from ..study import validation

    d = _by_statistic(summaries, estimator, variance)
    targets = [validation.TARGET_LABELS[t].split(" (")[0].lower() for t in dict.fromkeys(d["target"])]
    surveys = [{"residents": "habitants", "visitors": "clients"}.get(s, "différence")
               for s in validation.SURVEYS if s in set(d["survey"])]
    numbers = {1: "Une", 2: "Deux", 3: "Trois"}
    flagged = int(d["_q"].sum())
    coverage = d["coverage"].dropna()
    spread = (f"de {fmt.percent(coverage.min(), 1)} à {fmt.percent(coverage.max(), 1)} selon la statistique"
              + (" et la cible" if len(targets) > 1 else "") if len(coverage) else "sans valeur")
    return (f"{numbers.get(len(targets), len(targets))} colonne{'s' if len(targets) > 1 else ''} "
            f"({', '.join(targets)}) et {numbers.get(len(surveys), len(surveys)).lower()} bloc"
            f"{'s' if len(surveys) > 1 else ''} ({', '.join(surveys)}) : pour chaque statistique clé, la couverture "
            f"des intervalles à 95 % avec {ESTIMATOR_WORDS.get(estimator, validation.ESTIMATOR_LABELS[estimator].lower())} "
            f"(variance {VARIANCE_WORDS.get(variance, validation.VARIANCE_LABELS[variance])}) et son intervalle "
            f"Monte-Carlo, {spread}, autour de la ligne des 95 % ; "
            + (f"en rouge, {fmt.count(flagged, 'statistique mise', 'statistiques mises')} en cause."
               if flagged else "aucune statistique mise en cause (aucun point rouge)."))


def bias(summ: pd.DataFrame, title: str) -> plt.Figure:
    """Bias of each key statistic in units of the estimator's standard deviation, per estimator and survey.

    Grey band: ± 1.96 / √R, the Monte Carlo error of a standardised bias with R replications; dashed
    lines: the tolerance the conclusion applies (:func:`~portrait.study.validation.monte_carlo.bias_tolerance`).
    """
    from ..study import validation
    from ..study.validation.monte_carlo import bias_tolerance

    d = _validation_frame(summ.loc[summ["variance"] == "linearisation"])
    surveys = [validation.SURVEY_LABELS[s] for s in validation.SURVEYS if s in set(summ["survey"])]
    order = [validation.ESTIMATOR_LABELS[e] for e in validation.ESTIMATORS if e in set(summ["estimator"])]
    d = d.assign(y=d["Estimateur"].map({e: i for i, e in enumerate(order)}) + _spread(d, 0.4))
    r = int(d["replications"].max())
    colors = dict.fromkeys(order, "#3e4c59")   # the rows name the estimators; colours are figure 1's variances
    fig, axes = plt.subplots(1, len(surveys), figsize=(4.2 * len(surveys), 3.4), sharey=True, sharex=True,
                             squeeze=False)
    for ax, survey in zip(axes[0], surveys):
        sub = d.loc[d["Enquête"] == survey]
        ax.axvspan(-1.96 / np.sqrt(max(r, 1)), 1.96 / np.sqrt(max(r, 1)), color="#e4e7eb", zorder=0)
        ax.axvline(0, color="#52606d", lw=1)
        for side in (-1, 1):
            ax.axvline(side * bias_tolerance(r), color="#52606d", lw=0.8, ls="--")
        sns.scatterplot(data=sub, x="bias_sd", y="y", hue="Estimateur", hue_order=order, palette=colors, s=28,
                        linewidth=0, ax=ax, legend=False)
        ax.set_yticks(range(len(order)), order)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set(title=survey, xlabel="Biais (en écarts types de l'estimateur)", ylabel="")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _unbroken_parentheses(label: str) -> str:
    """« part (4 ou 5) » with no-break spaces inside the parentheses, so that wrapping never splits them."""
    import re

    return re.sub(r"\([^)]*\)", lambda m: m.group(0).replace(" ", "\u00a0"), label)


def tests(summ: pd.DataFrame, labels: dict, title: str) -> plt.Figure:
    """Rejection rate at 5 % of the visitors − residents tests, per statistic and estimator (linearised):
    size where no difference was introduced (5 % expected), power where one was; Wilson intervals."""
    from ..study import validation
    from ..study.validation.monte_carlo import SIZE_BAND

    import textwrap

    d = _validation_frame(summ.loc[(summ["survey"] == validation.DIFFERENCE_NAME) & (summ["variance"] == "linearisation")])
    d["Statistique"] = [textwrap.fill(_unbroken_parentheses(labels.get((i, s, lv), i)), 48)
                        for i, s, lv in zip(d["item"], d["statistic"], d["level"])]
    order = [validation.ESTIMATOR_LABELS[e] for e in validation.ESTIMATORS if e in set(summ["estimator"])]
    # trial Z: five estimators drawn alike could not be told apart; greys and shapes (colours are figure 1's variances)
    colors = dict(zip(order, ["#9aa5b1", "#7b8794", "#52606d", "#1f2933", "#1f2933"]))
    markers = dict(zip(order, ["o", "s", "^", "D", "v"]))
    panels = [(False, "Vraie différence nulle : rejet à tort (5 % attendus)"),
              (True, "Vraie différence non nulle : puissance")]
    heights = [max(1, int((d["planted"] == p).sum() / max(len(order), 1))) for p, _ in panels]
    fig, axes = plt.subplots(2, 1, figsize=(10, 0.6 * sum(heights) + 3), squeeze=False,
                             gridspec_kw={"height_ratios": [h + 1 for h in heights]})
    for ax, (planted, name) in zip(axes[:, 0], panels):
        sub = d.loc[d["planted"] == planted]
        stats_order = list(dict.fromkeys(sub["Statistique"]))
        for j, est in enumerate(order):
            e = sub.loc[sub["Estimateur"] == est].set_index("Statistique").reindex(stats_order)
            y = np.arange(len(stats_order)) + (j - (len(order) - 1) / 2) * 0.15
            x = e["rejection"].to_numpy() * 100
            lo = np.maximum(x - e["rejection_low"].to_numpy() * 100, 0)
            hi = np.maximum(e["rejection_high"].to_numpy() * 100 - x, 0)
            ax.errorbar(x, y, xerr=[lo, hi], fmt=markers[est], ms=4.5, lw=1, color=colors[est], label=est)
        if not planted:     # trial AF: the size's acceptance band, as figure 2 shades the coverage's
            ax.axvspan(SIZE_BAND[0] * 100, SIZE_BAND[1] * 100, color="#e4e7eb", lw=0, zorder=0)
            ax.axvline(5, color="#b3261e", lw=1)
            ax.set_xlim(0, max(20.0, float(np.nanmax(sub["rejection_high"].to_numpy(float), initial=0)) * 100 + 2))
        else:
            ax.set_xlim(-2, 102)
        ax.set_yticks(range(len(stats_order)), stats_order, fontsize=9.5)
        ax.invert_yaxis()
        ax.set(title=name, xlabel="Part des réplications où p < 0,05 (%)", ylabel="")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(handles, names, loc="upper center", ncols=len(order), fontsize=9.5, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    return fig
