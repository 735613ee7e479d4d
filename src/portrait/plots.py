"""Figures of the reports (seaborn on matplotlib's Agg backend), with French labels.

Every function returns the matplotlib ``Figure`` so the notebook shows it; none writes files.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .sources import DEPARTMENTS

PALETTE = {"tirée (certaine)": "#b3261e", "tirée": "#0b5cad", "non tirée": "#c9ced6"}


def use_style() -> None:
    """The common look of the reports: seaborn whitegrid, readable sizes, French decimal comma."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "axes.formatter.use_locale": False,
                         "svg.hashsalt": "portrait", "figure.max_open_warning": 0})


def show(fig: plt.Figure, alt: str, width: int | None = None):
    """Display a figure as a PNG with alternative text (for screen readers and the reports).

    The PNG carries no software or date metadata, so it is byte-identical between runs; the
    figure is closed so the inline backend does not show it a second time.
    """
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return Image(data=buf.getvalue(), format="png", alt=alt, width=width)


def fr_number(x: float, decimals: int = 0) -> str:
    """A number written the French way: thin space for thousands, decimal comma."""
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def resident_selection(communes: pd.DataFrame) -> plt.Figure:
    """Inclusion probability against commune population, one panel per department."""
    d = communes.assign(
        statut=np.where(communes["selected"] & communes["certainty"], "tirée (certaine)",
                        np.where(communes["selected"], "tirée", "non tirée")),
        departement_nom=communes["departement"].map(DEPARTMENTS))
    d = d.sort_values("statut", key=lambda s: s.map({"non tirée": 0, "tirée": 1, "tirée (certaine)": 2}))
    g = sns.relplot(data=d, x="population", y="pi", hue="statut", palette=PALETTE, col="departement_nom",
                    col_order=[DEPARTMENTS[k] for k in sorted(DEPARTMENTS) if k in set(d["departement"])],
                    col_wrap=3, height=2.8, aspect=1.2, s=14, linewidth=0, legend="brief")
    g.set(xscale="log")
    g.set_axis_labels("Population légale (échelle log)", "Probabilité d'inclusion π")
    g.set_titles("{col_name}")
    g.legend.set_title("Commune")
    g.figure.suptitle("Tirage des communes : probabilité proportionnelle à la taille, grandes communes "
                      "certaines", y=1.02)
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
           ylabel="Part des invitations (%)",
           title="Invitations par strate : proche de la proportionnelle")
    ax.legend(fontsize=7, ncols=2, loc="upper left")
    return fig
