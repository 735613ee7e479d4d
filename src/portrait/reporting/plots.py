"""Figures of the reports (seaborn on matplotlib's Agg backend), with French labels.

Every function returns the matplotlib ``Figure`` so the notebook shows it; none writes files.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.category import StrCategoryFormatter
from matplotlib.ticker import FixedFormatter, FuncFormatter, MaxNLocator, ScalarFormatter
from matplotlib.text import Text
import numpy as np
import pandas as pd
import seaborn as sns

from . import formatting as fmt
from ..study import compare, visitors
from ..pipeline.sources import DEPARTMENTS

PALETTE = {"retenue d'office": "#b3261e", "tirée": "#0b5cad", "non tirée": "#c9ced6"}


def use_style() -> None:
    """The common look of the reports: seaborn whitegrid, readable sizes, French decimal comma, and tables
    shown the French way (:func:`portrait.reporting.tables.use_french_tables`)."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "axes.formatter.use_locale": False,
                         "svg.hashsalt": "portrait", "figure.max_open_warning": 0})
    from .tables import use_french_tables

    use_french_tables()


class _CommaFormatter(ScalarFormatter):
    """Matplotlib's default tick labels the French way: decimal comma, true minus sign, and thousands
    separated by a narrow no-break space as in the tables (« 40 000 »; no locale needed)."""

    def __call__(self, x, pos=None):
        text = super().__call__(x, pos)
        text = re.sub(r"(?<![\d.])(\d{1,3})((?:\d{3})+)(?![\d])",
                      lambda m: m.group(1) + re.sub(r"(\d{3})", "\u202f\\1", m.group(2)), text)
        return text.replace(".", ",").replace("-", "\u2212")

    def get_offset(self):
        return super().get_offset().replace(".", ",")


def french_ticks(fig: plt.Figure) -> None:
    """Give every axis that uses matplotlib's default number format a decimal comma (« 0,05 », not « 0.05 »)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            current = axis.get_major_formatter()
            if type(current) is ScalarFormatter:
                axis.set_major_formatter(_CommaFormatter(useOffset=current.get_useOffset(),
                                                         useMathText=current.get_useMathText()))


def french_apostrophes(fig: plt.Figure) -> None:
    """The typographic apostrophe of the reports' prose (:func:`~portrait.reporting.formatting.apostrophes`) in a
    figure's titles, labels, legends and text tick labels (« Côte d'Opale » → « Côte d’Opale »)."""
    for text in fig.findobj(Text):
        if "'" in text.get_text():
            text.set_text(fmt.apostrophes(text.get_text()))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = axis.get_major_formatter()
            if isinstance(labels, (FixedFormatter, FuncFormatter, StrCategoryFormatter)):   # text labels, drawn anew
                axis.set_major_formatter(FuncFormatter(lambda x, pos, f=labels: fmt.apostrophes(f(x, pos))))


def show(fig: plt.Figure, alt: str, width: int | None = None):
    """Display a figure as a PNG with alternative text (for screen readers and the reports).

    The PNG carries no software or date metadata, so it is byte-identical between runs; the
    figure is closed so the inline backend does not show it a second time.
    """
    import io

    from IPython.display import Image

    french_ticks(fig)
    french_apostrophes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return Image(data=buf.getvalue(), format="png", alt=fmt.french(fmt.apostrophes(alt)), width=width)


def resident_selection(communes: pd.DataFrame) -> plt.Figure:
    """Inclusion probability against commune population, one panel per department."""
    d = communes.assign(
        statut=np.where(communes["selected"] & communes["certainty"], "retenue d'office",
                        np.where(communes["selected"], "tirée", "non tirée")),
        departement_nom=communes["departement"].map(DEPARTMENTS))
    d = d.sort_values("statut", key=lambda s: s.map({"non tirée": 0, "tirée": 1, "retenue d'office": 2}))
    g = sns.relplot(data=d, x="population", y="pi", hue="statut", palette=PALETTE, col="departement_nom",
                    col_order=[DEPARTMENTS[k] for k in sorted(DEPARTMENTS) if k in set(d["departement"])],
                    col_wrap=3, height=2.8, aspect=1.2, s=14, linewidth=0, legend="brief")
    g.set(xscale="log")
    g.set_axis_labels("Population légale (échelle log)", "Probabilité d'inclusion π")
    g.set_titles("{col_name}")
    g.legend.set_title("Commune")
    g.figure.suptitle("Tirage des communes : probabilité proportionnelle à la taille, grandes communes "
                      "retenues d'office", y=1.02)
    return g.figure


def allocation_vs_population(strata: pd.DataFrame) -> plt.Figure:
    """Share of invitations against share of the population aged 15+, per stratum."""
    d = pd.DataFrame({"part_pop": strata["pop15"] / strata["pop15"].sum() * 100,
                      "part_inv": strata["invitations"] / strata["invitations"].sum() * 100,
                      "Taille de commune": strata["size_class"],
                      "Département": strata["departement"].map(DEPARTMENTS)})
    fig, ax = plt.subplots(figsize=(6.5, 5))
    sns.scatterplot(data=d, x="part_pop", y="part_inv", hue="Taille de commune", style="Département",
                    s=70, ax=ax)
    lim = max(d["part_pop"].max(), d["part_inv"].max()) * 1.08
    ax.plot([0, lim], [0, lim], color="#52606d", lw=1, ls="--", label="proportionnel")
    ax.set(xlim=(0, lim), ylim=(0, lim), xlabel="Part de la population de 15 ans ou plus (%)",
           ylabel="Part des invitations (%)", title="Invitations par strate et allocation proportionnelle")
    # seaborn writes the two variables' names as entries: each heads its own column (padded to equal length)
    handles, labels = ax.get_legend_handles_labels()
    at = labels.index("Département")
    columns = [list(zip(handles[:at], labels[:at])), list(zip(handles[at:], labels[at:]))]
    columns[0] += [(h, lb) for h, lb in columns[1] if lb == "proportionnel"]
    columns[1] = [(h, lb) for h, lb in columns[1] if lb != "proportionnel"]
    depth = max(map(len, columns))
    blank = (plt.Line2D([], [], linestyle="none"), "")
    entries = [e for col in columns for e in col + [blank] * (depth - len(col))]
    legend = ax.legend([h for h, _ in entries], [lb for _, lb in entries], fontsize=8, ncols=2, loc="upper left")
    for text in legend.get_texts():
        if text.get_text() in ("Taille de commune", "Département"):
            text.set_fontweight("bold")
    return fig


def overlap_heatmap(overlap: pd.DataFrame, files: pd.DataFrame, label: str = ""):
    """Heatmap: share (%) of the persons with an eligible record in the row file (before de-duplication across files)
    who are also in the column file; ``label`` (« données simulées ») ends the title."""
    ids = overlap["file_id"].tolist()
    counts = overlap.set_index("file_id")[ids].to_numpy(dtype=float)
    diag = np.diag(counts).copy()
    share = np.divide(counts, diag[:, None], out=np.zeros_like(counts), where=diag[:, None] > 0) * 100
    np.fill_diagonal(share, np.nan)
    short = {"office_tourisme": "OT", "hebergement": "héb.", "site_culturel_loisir": "site",
             "congres_salon": "congrès", "groupe_senior": "seniors"}
    kind = files.set_index("file_id")["source_type"].map(short)
    labels = [f"{i} {kind.get(i, '')}" for i in ids]
    fig, ax = plt.subplots(figsize=(11, 9.5))
    sns.heatmap(pd.DataFrame(share, index=labels, columns=labels), cmap="rocket_r", vmin=0,
                square=True, linewidths=0.2, linecolor="white", ax=ax,
                cbar_kws={"label": "% des personnes du fichier en ligne", "shrink": 0.7})
    ax.set(xlabel="… présentes aussi dans le fichier en colonne",
           ylabel="Fichier partenaire (personnes après exclusions)",
           title="Recouvrement des fichiers partenaires, avant dédoublonnage entre fichiers" + _suffix(label))
    ax.tick_params(labelsize=8.5)
    return fig


def multiplicity_plot(frame: pd.DataFrame, label: str = ""):
    """Bar chart: number of persons by number of partner files holding them; ``label`` ends the title."""
    t = visitors.multiplicity_table(frame)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    sns.barplot(data=t, x="multiplicity", y="persons", color="#0b5cad", ax=ax)
    for i, (n, sh) in enumerate(zip(t["persons"], t["share"])):
        ax.annotate(fmt.percent(sh, 1), (i, n), ha="center", va="bottom", fontsize=8)
    ax.set(xlabel="Nombre de fichiers partenaires où figure la personne",
           ylabel="Personnes", title="Multiplicité : la plupart des personnes ne figurent que dans un fichier" + _suffix(label))
    return fig


def allocation_plot(strata: pd.DataFrame, label: str = ""):
    """Inclusion probability per stratum (bars) against the stratum size (labels); ``label`` ends the title."""
    d = pd.DataFrame({"strate": strata["zone"].map(visitors.ZONE_LABELS) + " × "
                      + strata["source_type"].map(visitors.SOURCE_LABELS),
                      "pi": strata["pi"], "N_h": strata["N_h"],
                      "Zone visitée": strata["zone"].map(visitors.ZONE_LABELS)})
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(d) + 1.2), layout="constrained")
    sns.barplot(data=d, y="strate", x="pi", hue="Zone visitée", dodge=False, legend=False, ax=ax)
    overall = strata["n_h"].sum() / strata["N_h"].sum()
    ax.axvline(overall, color="#52606d", lw=1, ls="--")
    for i, (p, n) in enumerate(zip(d["pi"], d["N_h"])):
        ax.annotate(f"N = {fmt.number(n)}", (p, i), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set(xlabel="Probabilité d'inclusion π = n / N dans la strate\n(tirets : taux moyen)", ylabel="")
    # over the figure and on two lines: over the axes, on one, the title ran past the figure's right edge
    fig.suptitle(textwrap.fill("Allocation des invitations : proportionnelle, avec un minimum par strate"
                               + _suffix(label), 60))
    ax.set_xlim(0, min(1.0, d["pi"].max() * 1.25))
    return fig


# ------------------------------------------------------------------ fieldwork (notebook 03)

SURVEY_LABELS = {"residents": "Habitants", "visitors": "Clients du territoire"}


def _suffix(label: str) -> str:
    return f" — {label}" if label else ""


def response_rates(rates: pd.DataFrame, by: str, title: str, label: str = "",
                   order: dict[str, list] | None = None) -> plt.Figure:
    """Response rate (%) by the categories of ``by``, one panel per survey (horizontal bars).

    ``rates`` has columns ``survey``, ``by``, ``rate`` and ``in_scope`` (units not excluded); the
    bar label gives the number of units behind each rate.
    """
    surveys = [s for s in SURVEY_LABELS if s in set(rates["survey"])]
    heights = [max(1.6, 0.32 * rates.loc[rates["survey"] == s, by].nunique() + 0.8) for s in surveys]
    fig, axes = plt.subplots(len(surveys), 1, figsize=(7.5, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, s in zip(axes[:, 0], surveys):
        d = rates.loc[rates["survey"] == s].copy()
        d["cat"] = d[by].astype(str)
        cats = [str(c) for c in (order or {}).get(s, d["cat"].tolist())]
        d["pct"] = d["rate"] * 100
        sns.barplot(data=d, y="cat", x="pct", order=cats, hue="survey", legend=False,
                    palette={s: "#0b5cad" if s == "residents" else "#b35c00"}, ax=ax)
        for i, c in enumerate(cats):
            row = d.loc[d["cat"] == c]
            if len(row):
                ax.text(float(row["pct"].iloc[0]) + 0.4, i, f"{fmt.number(row['pct'].iloc[0], 1)} % "
                        f"(n = {fmt.number(row['in_scope'].iloc[0])})", va="center", fontsize=8)
        ax.set(xlabel="Taux de réponse (%)", ylabel="", title=SURVEY_LABELS[s],
               xlim=(0, max(5.0, d["pct"].max() * 1.45)))
    fig.suptitle(title + _suffix(label))
    fig.tight_layout()
    return fig


def item_nonresponse(table: pd.DataFrame, label: str = "") -> plt.Figure:
    """Share of respondents who left each question blank or answered « Ne sait pas », per survey."""
    d = table.melt(id_vars=["survey", "variable"], value_vars=["blank_rate", "dont_know_rate"],
                   var_name="kind", value_name="rate")
    d["kind"] = d["kind"].map({"blank_rate": "Sans réponse", "dont_know_rate": "« Ne sait pas »"})
    d["pct"] = d["rate"] * 100
    d["Enquête"] = d["survey"].map(SURVEY_LABELS)
    d["variable"] = d["variable"].map(lambda s: textwrap.fill(str(s), 48))     # question labels, not codes
    rows = int(d.groupby("Enquête")["variable"].nunique().max())
    height = max(4.0, 0.36 * rows)                    # room for a two-line label on every bar
    g = sns.catplot(data=d, kind="bar", y="variable", x="pct", hue="kind", col="Enquête",
                    palette={"Sans réponse": "#52606d", "« Ne sait pas »": "#e0a100"},
                    height=height, aspect=5.5 / height, sharey=False, legend_out=False)
    g.set_axis_labels("Part des répondants (%)", "")
    for ax in g.axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    g.set_titles("{col_name}")
    sns.move_legend(g, "upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, title="", frameon=False)
    g.figure.suptitle("Non-réponse partielle et « Ne sait pas » par question" + _suffix(label), y=1.02)
    return g.figure


def profile_comparison(table: pd.DataFrame, label: str = "") -> plt.Figure:
    """Shares of each profile category among respondents and in the population, per survey.

    ``table`` columns: ``survey``, ``category`` (French label), ``group`` (« Répondants » or
    « Population »), ``share``.
    """
    d = table.assign(pct=table["share"] * 100, Enquête=table["survey"].map(SURVEY_LABELS))
    g = sns.catplot(data=d, kind="bar", x="category", y="pct", hue="group", col="Enquête",
                    palette={"Répondants": "#0b5cad", "Population": "#c9ced6"}, height=3.6, aspect=1.3,
                    legend_out=False)
    g.set_axis_labels("", "Part (%)")
    g.set_titles("{col_name}")
    g.legend.set_title("")
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=30)
    g.figure.suptitle("Âge des répondants et de la population (15 ans ou plus)" + _suffix(label), y=1.04)
    return g.figure


STAGE_LABELS = {"unweighted": "Non pondéré", "design": "Poids de sondage", "nonresponse": "Après non-réponse",
                "calibrated": "Après calage"}
# one hue per stage that a reader tells apart (colour-blind safe), the final weights in the reports' blue
STAGE_COLORS = {"Non pondéré": "#7b8794", "Poids de sondage": "#de8f05", "Après non-réponse": "#029e73",
                "Après calage": "#0b5cad"}


def weight_distributions(stages: dict, title: str) -> plt.Figure:
    """Histograms of the respondents' weights at each weighting stage."""
    rows = [pd.DataFrame({"poids": d.weights[d.weights > 0], "étape": STAGE_LABELS.get(k, k)})
            for k, d in stages.items()]
    data = pd.concat(rows, ignore_index=True)
    g = sns.displot(data=data, x="poids", col="étape", bins=40, height=2.8, aspect=1.2,
                    facet_kws={"sharex": False, "sharey": False}, color="#0b5cad")
    g.set_titles("{col_name}")
    g.set_axis_labels("Poids", "Répondants")
    g.figure.suptitle(title, y=1.04)
    return g.figure


def g_distribution(before, after, title: str) -> plt.Figure:
    """Histogram of the calibration factors g = w / d, with their quantiles marked."""
    both = (before.weights > 0) & (after.weights > 0)
    g = after.weights[both] / before.weights[both]
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    sns.histplot(g, bins=40, color="#0b5cad", ax=ax)
    for q, ls in ((0.01, ":"), (0.5, "--"), (0.99, ":")):
        ax.axvline(np.quantile(g, q), color="#b3261e", ls=ls, lw=1)
    ax.set(xlabel="Facteur de calage g = poids après / poids avant (tirets : médiane ; pointillés : 1 % et 99 %)",
           ylabel="Répondants", title=title)
    return fig


def standardised_differences(table: pd.DataFrame, title: str) -> plt.Figure:
    """Dot plot of standardised differences sample − population, before and after calibration."""
    # a level that received others (« Sites culturels et de loisirs + Congrès et salons + … ») is wrapped: on one
    # line it squeezed the axes to nothing
    lines = (table["marge"] + " : " + table["modalité"]).map(lambda s: textwrap.fill(str(s), 48))
    d = table.assign(ligne=lines).melt(
        id_vars="ligne", value_vars=["diff. std. avant", "diff. std. après"], var_name="quand", value_name="diff")
    d["quand"] = d["quand"].map({"diff. std. avant": "avant calage", "diff. std. après": "après calage"})
    height = 0.28 * int(lines.str.count("\n").sum() + len(lines)) + 1.4
    fig, ax = plt.subplots(figsize=(8, height), layout="constrained")
    sns.scatterplot(data=d, x="diff", y="ligne", hue="quand", style="quand", s=50,
                    palette={"avant calage": "#b3261e", "après calage": "#0b5cad"}, ax=ax)
    ax.axvline(0, color="#52606d", lw=1)
    for v in (-0.1, 0.1):
        ax.axvline(v, color="#c9ced6", lw=1, ls="--", label="seuil usuel (±\u00a00,1)" if v > 0 else None)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    reach = max(0.15, float(np.nanmax(np.abs(d["diff"]))) * 1.1) if d["diff"].notna().any() else 0.15
    ax.set_xlim(-reach, reach)      # the ± 0,1 lines inside the axes, never on their edges
    ax.set(xlabel="Différence standardisée\n(échantillon pondéré − population, en écarts types)", ylabel="")
    # the title over the figure and the legend under it: over the axes, the title ran past the figure's right edge and
    # the legend hid a point (a new user's trial)
    fig.suptitle(title)
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    return fig


def stage_estimates(est: pd.DataFrame, title: str) -> plt.Figure:
    """Key estimates at each weighting stage, as gaps to the true value (simulated data) or to the final
    estimate, in standard errors of the final estimate: means on 0–10 and 1–5 and a score on −1…+1 read on
    one axis, and a gap within ±2 is within the final estimate's sampling noise.

    The axis shows ``est["question"]`` (a reader's label) when the table has it, else item and statistic.
    """
    has_truth = "truth" in est and est["truth"].notna().all()
    final = est.loc[est["stage"] == "calibrated"].set_index("column")
    ref = est["truth"] if has_truth else est["column"].map(final["estimate"])
    question = est["question"] if "question" in est else est["item"] + " (" + est["statistic"] + ")"
    gap = (est["estimate"] - ref) / est["column"].map(final["se"])
    d = est.assign(étape=est["stage"].map(STAGE_LABELS), question=question, écart=gap)
    order = list(dict.fromkeys(d["question"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(order) + 1.5))
    for v in (-2, 2):
        ax.axvline(v, color="#c9ced6", lw=1, ls="--")
    sns.pointplot(data=d, y="question", x="écart", hue="étape", order=order, dodge=0.55, linestyle="none",
                  errorbar=None, markers=["o", "s", "D", "^"][:d["étape"].nunique()], ax=ax,
                  palette={k: v for k, v in STAGE_COLORS.items() if k in set(d["étape"])})
    ax.axvline(0, color="#b3261e", lw=1.2)
    ax.set(xlabel=("Écart à la valeur vraie (données simulées)" if has_truth else "Écart à l'estimation après calage")
           + ",\nen erreurs types de l'estimation après calage", ylabel="", title=title)
    ax.legend(fontsize=8, loc="best")
    return fig


GROUP_COLORS = {"Habitants": "#0b5cad", "Clients du territoire": "#d17a00"}


def differences_plot(diff: pd.DataFrame, title: str, xlabel: str, scale: float = 1.0) -> plt.Figure:
    """Dot-and-whisker plot of visitors − residents differences with their CIs, ordered by size.

    Filled points are significant after multiple-testing adjustment (``p_adj`` < 0.05).
    """
    d = diff.sort_values("estimate").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.34 * len(d) + 1.4))
    y = np.arange(len(d))
    sig = d["p_adj"] < 0.05
    ax.hlines(y, d["ci_low"] * scale, d["ci_high"] * scale, color="#52606d", lw=1.2)
    ax.scatter(d.loc[sig, "estimate"] * scale, y[sig], color="#b3261e", zorder=3, label="écart établi")
    ax.scatter(d.loc[~sig, "estimate"] * scale, y[~sig], facecolor="white", edgecolor="#52606d", zorder=3,
               label="non établi")
    ax.axvline(0, color="#1f2933", lw=1)
    ax.set_yticks(y, d["display"])
    ax.set(xlabel=xlabel, title=title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def likert_diverging(shares: pd.DataFrame, labels: dict, title: str) -> plt.Figure:
    """Diverging stacked bars of the 1–5 agreement items by group, centred on the neutral answer.

    ``shares``: columns item_label, group (French), level (1..5) and estimate (share among the
    substantive answers).
    """
    colors = {"1": "#b3261e", "2": "#e8a29c", "3": "#d9dde3", "4": "#9cc1e8", "5": "#0b5cad"}
    d = shares.pivot_table(index=["item_label", "group"], columns="level", values="estimate", sort=False).fillna(0)
    rows = list(d.index)
    fig, ax = plt.subplots(figsize=(10, 0.36 * len(rows) + 1.6), layout="constrained")
    for i, key in enumerate(rows):
        v = d.loc[key] * 100
        left = -(v.get("1", 0) + v.get("2", 0) + v.get("3", 0) / 2)
        for lv in ("1", "2", "3", "4", "5"):
            width = v.get(lv, 0)
            ax.barh(i, width, left=left, color=colors[lv], edgecolor="white", lw=0.5,
                    label=labels.get(lv, lv) if i == 0 else None)
            left += width
    ax.set_yticks(range(len(rows)), [f"{item} — {group}" for item, group in rows], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#1f2933", lw=1)
    # shares on both sides are positive: the axis reads « 40 » to the left as to the right
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt.number(abs(x))))
    ax.set(xlabel="Part des réponses (%) : désaccord à gauche, accord à droite", title=title)
    fig.legend(ncols=5, fontsize=8, loc="outside lower center", frameon=False)
    return fig


# label positions tried around a point, in order: beside it (right, left), above, below, the diagonals;
# then the same twice as far
_AROUND = [(1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
           (0, -1, "center", "top"), (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"),
           (1, -1, "left", "top"), (-1, -1, "right", "top")]


def place_labels(ax: plt.Axes, x: np.ndarray, y: np.ndarray, labels: Sequence[str], radius: Sequence[float],
                 styles: Sequence[dict]) -> list:
    """Label each point (data coordinates ``x``, ``y``; marker radius in points) where its label overlaps no
    label placed before it and no point, and lies nearer its own point than any other (else a reader pairs it
    with the wrong one): the first such position of :data:`_AROUND` (two distances), else the one with the
    least overlap. Deterministic; the figure's layout must be final (draw it first).
    Returns the annotations, in the order of ``labels``."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72
    centres = ax.transData.transform(np.column_stack([x, y]))
    obstacles = [(cx - r * to_px, cy - r * to_px, cx + r * to_px, cy + r * to_px)
                 for (cx, cy), r in zip(centres, radius)]
    frame = ax.get_window_extent(renderer)
    placed: list[tuple[float, float, float, float]] = []
    out = []

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    def distance(box, c) -> float:
        return float(np.hypot(max(box[0] - c[0], 0.0, c[0] - box[2]), max(box[1] - c[1], 0.0, c[1] - box[3])))

    # a label nearer another point than its own: each pixel nearer costs as much as a 6 × 6 px overlap
    ambiguous = 36.0

    for i, (text, r, style) in enumerate(zip(labels, radius, styles)):
        best, best_cost = None, np.inf
        for scale in (1.0, 2.5):
            for dx, dy, ha, va in _AROUND:
                d = (r + 2) * scale
                # a label set further off is tied to its point by a thin line
                lead = dict(arrowprops=dict(arrowstyle="-", color="#9aa5b1", lw=0.5, shrinkA=0, shrinkB=r)) \
                    if scale > 1 else {}
                ann = ax.annotate(text, (x[i], y[i]), xytext=(dx * d, dy * d), textcoords="offset points",
                                  ha=ha, va=va, **lead, **style)
                e = ann.get_window_extent(renderer)
                box = (e.x0 - 1, e.y0 - 1, e.x1 + 1, e.y1 + 1)
                cost = sum(overlap(box, b) for b in placed) + sum(overlap(box, o) for o in obstacles)
                own = distance(box, centres[i]) - r * to_px
                cost += ambiguous * max([own + 2 - (distance(box, c) - rr * to_px)
                                         for j, (c, rr) in enumerate(zip(centres, radius)) if j != i] + [0.0])
                outside = (box[0] < frame.x0) or (box[2] > frame.x1) or (box[1] < frame.y0) or (box[3] > frame.y1)
                cost += 1e6 if outside else 0.0
                if cost < best_cost:
                    if best is not None:
                        best[0].remove()
                    best, best_cost = (ann, box), cost
                else:
                    ann.remove()
                if best_cost == 0:
                    break
            if best_cost == 0:
                break
        placed.append(best[1])
        out.append(best[0])
    return out


def perceptual_map(rows: pd.DataFrame, cols: pd.DataFrame, inertia: np.ndarray, title: str) -> plt.Figure:
    """Correspondence-analysis map: attributes (grey, numbered, with their key beside the map) and groups
    (coloured, named) on the first two dimensions, one unit as long on both; every label placed off the
    other labels and the points (:func:`place_labels`)."""
    import textwrap

    # the figure is scaled down to the page's width: the key as large as the figure's height allows (9.5 pt
    # at most, 6 at least: a longer key makes the figure taller)
    lines = [f"{k:>2}  " + "\n    ".join(textwrap.wrap(str(name), 44)) for k, name in enumerate(rows.index, start=1)]
    n_lines = max(sum(line.count("\n") + 1 for line in lines), 1)
    height = max(7.0, n_lines * 1.25 * 6.0 / (0.85 * 72))
    size = float(np.clip(0.85 * height * 72 / (1.25 * n_lines), 6.0, 9.5))
    fig, (ax, key) = plt.subplots(1, 2, figsize=(13, height), width_ratios=(2.2, 1), layout="constrained")
    ax.scatter(rows["dim1"], rows["dim2"], color="#8a94a6", s=18)
    colors = [GROUP_COLORS["Habitants"] if str(name).startswith("Habitants") else GROUP_COLORS["Clients du territoire"]
              for name in cols.index]
    ax.scatter(cols["dim1"], cols["dim2"], color=colors, s=70, marker="D")
    ax.axhline(0, color="#d9dde3", lw=1)
    ax.axvline(0, color="#d9dde3", lw=1)
    ax.set(xlabel=f"Dimension 1 ({fmt.percent(inertia[0], 0)} de l'inertie)",
           ylabel=f"Dimension 2 ({fmt.percent(inertia[1], 0)} de l'inertie)", title=title)
    ax.set_aspect("equal", adjustable="datalim")     # a correspondence-analysis map reads angles and distances
    ax.margins(0.08)
    key.axis("off")
    key.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=size, color="#333333", family="monospace",
             transform=key.transAxes)
    fig.canvas.draw()                                 # layout and limits final before the labels are placed
    # the groups' names first (the points of the map), then the attributes' numbers
    points = pd.concat([cols[["dim1", "dim2"]], rows[["dim1", "dim2"]]])
    labels = [str(n) for n in cols.index] + [str(k) for k in range(1, len(rows) + 1)]
    styles = ([dict(fontsize=8, color=c, weight="bold") for c in colors]
              + [dict(fontsize=7.5, color="#52606d")] * len(rows))
    place_labels(ax, points["dim1"].to_numpy(), points["dim2"].to_numpy(), labels,
                 [6.0] * len(cols) + [3.0] * len(rows), styles)
    return fig


def strengths_weaknesses(est: pd.DataFrame, title: str) -> plt.Figure:
    """Shares citing each strength and each weakness, residents and visitors side by side, with their intervals (at
    the rows' ``confidence_level``) when ``est`` has ``ci_low`` and ``ci_high``."""
    d = est.assign(groupe=est["group"].map({"residents": "Habitants", "visitors": "Clients du territoire"}),
                   part=est["estimate"] * 100,
                   option=est["label"].map(lambda t: "\n".join(textwrap.wrap(str(t), 38))))
    panels = list(dict.fromkeys(d["item_label"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 7), layout="constrained")
    for ax, panel in zip(np.atleast_1d(axes), panels):
        sub = d.loc[d["item_label"] == panel]
        order = sub.loc[sub["group"] == "residents"].sort_values("part", ascending=False)["option"]
        sns.barplot(data=sub, y="option", x="part", hue="groupe", order=order, palette=GROUP_COLORS, ax=ax)
        if {"ci_low", "ci_high"} <= set(sub.columns):
            # confidence intervals of the design-based estimates, on the bars seaborn placed
            for container, (groupe, g) in zip(ax.containers, sub.groupby("groupe", sort=False)):
                g = g.set_index("option").reindex(order)
                y = [bar.get_y() + bar.get_height() / 2 for bar in container]
                ax.errorbar(g["part"].to_numpy(), y, xerr=[(g["part"] - g["ci_low"] * 100).to_numpy(),
                                                           (g["ci_high"] * 100 - g["part"]).to_numpy()],
                            fmt="none", ecolor="#333333", elinewidth=.8, capsize=2)
        ci = f", avec {fmt.ci_label(compare.confidence_level(sub))}" if {"ci_low", "ci_high"} <= set(sub.columns) else ""
        ax.set(title=panel, xlabel=f"Part qui citent, parmi ceux qui en citent au moins une (%){ci}", ylabel="")
        ax.tick_params(axis="y", labelsize=8)
        ax.legend(fontsize=8, title="")
    fig.suptitle(title)
    return fig


def group_profiles(shares: pd.DataFrame, title: str) -> plt.Figure:
    """Each category's share in both groups, one panel per question (``question``), categories in questionnaire
    order, with their intervals (at the rows' ``confidence_level``); a share set to NaN (suppressed) is not drawn."""
    d = shares.assign(groupe=shares["group"].map(SURVEY_LABELS), part=shares["estimate"] * 100,
                      option=shares["modalite"].map(lambda t: "\n".join(textwrap.wrap(str(t), 30))))
    panels = list(dict.fromkeys(d["question"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4.2), layout="constrained",
                             width_ratios=[d.loc[d["question"] == p, "option"].nunique() + 1 for p in panels])
    height = 0.8 / len(GROUP_COLORS)
    for ax, panel in zip(np.atleast_1d(axes), panels):
        sub = d.loc[d["question"] == panel]
        order = list(dict.fromkeys(sub["option"]))
        for i, (groupe, colour) in enumerate(GROUP_COLORS.items()):
            g = sub.loc[sub["groupe"] == groupe].set_index("option").reindex(order)
            y = np.arange(len(order)) - 0.4 + height * (i + 0.5)
            ax.barh(y, g["part"].to_numpy(), height=height, color=colour, label=groupe)
            # a calibrated share's interval is its estimate up to rounding: no negative half-width, and no bar at all
            # (its caps were drawn as a tick on the bar, where the caption says the share has no interval)
            half = np.clip([(g["part"] - g["ci_low"] * 100).to_numpy(), (g["ci_high"] * 100 - g["part"]).to_numpy()],
                           0, None)
            drawn = half.sum(axis=0) > 1e-6
            ax.errorbar(g["part"].to_numpy()[drawn], y[drawn], xerr=half[:, drawn],
                        fmt="none", ecolor="#333333", elinewidth=.8, capsize=2)
        ax.set_yticks(np.arange(len(order)), order, fontsize=8)
        ax.invert_yaxis()
        ax.set(title=panel, xlabel=f"Part (%), avec {fmt.ci_label(compare.confidence_level(sub))}", ylabel="")
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title)
    return fig
