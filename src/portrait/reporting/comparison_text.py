"""Tables and headers of the comparison of residents and visitors (reports 06 and 07), in French.

Every number goes through :mod:`portrait.reporting.formatting`; the labels of the data files
(``comparison_*.csv``) stay as they are and are mapped to what readers see here, at display time.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..study import compare
from . import formatting as fmt

#: The weightings of the sensitivity table as readers see them, keyed by the ``scenario`` value of
#: ``comparison_sensitivity.csv`` (written by :func:`portrait.study.compare.sensitivity_scenarios`); a
#: weighting not listed here is shown as the file names it.
WEIGHTING_LABELS = {"calage raking": "calage par raking"}


def agreement_gaps(diff: pd.DataFrame) -> pd.DataFrame:
    """The agreement gaps of the image attributes, residents against visitors, as a display table.

    ``diff`` holds the differences of notebook 06 (``comparison_differences.csv``): the rows of the
    « d'accord » share (``statistic`` ``accord``, ``level`` ``top2``), in the file's order, give the
    attribute (``display``), the share agreeing in each group in %, the gap visitors − residents in
    points with its sign, its 95 % confidence interval and the p-value adjusted across the battery
    (``p_adj``, by the method named in the column ``adjustment``, see :func:`adjustment_label`).
    """
    top2 = agreement_rows(diff)
    return pd.DataFrame({
        "attribut": top2["display"],
        "habitants (%)": top2["estimate_residents"].map(lambda v: fmt.number(v * 100, 1)),
        "clients (%)": top2["estimate_visitors"].map(lambda v: fmt.number(v * 100, 1)),
        "écart clients − habitants (points)": top2["estimate"].map(lambda v: fmt.signed(v * 100, 1)),
        fmt.french("IC à 95 % (points)"): [fmt.french(fmt.interval(lo, hi, 1, scale=100))
                                           for lo, hi in zip(top2["ci_low"], top2["ci_high"])],
        "p ajusté": top2["p_adj"].map(fmt.pvalue),
    }).reset_index(drop=True)


def adjustment_label(diff: pd.DataFrame) -> str:
    """The correction for multiple tests that gave the agreement gaps' adjusted p-values, in French
    (« méthode de Benjamini–Hochberg »), from the ``adjustment`` column of the differences."""
    return compare.adjustment_label(agreement_rows(diff))


def gaps_introduction(diff: pd.DataFrame) -> str:
    """The paragraph above the agreement-gap figure of report 06, naming the correction for multiple tests
    that decides which points are filled (:func:`adjustment_label`)."""
    return fmt.french("Différence de la part d'accord (« plutôt » ou « tout à fait d'accord ») entre clients et habitants, en "
            "points, avec son intervalle de confiance à 95 %. Points pleins : différence significative après "
            f"correction pour tests multiples ({adjustment_label(diff)}) ; points creux : pas de différence établie. "
            "Le tableau qui suit donne, pour chaque attribut, la part d'accord dans chaque groupe, l'écart, son "
            "intervalle et la p-valeur ajustée.")


def findings_sentence(diff: pd.DataFrame) -> str:
    """Report 06's key findings in French: the attributes on which visitors or residents agree more, the scores
    (0 to 10) one group rates higher, and where no difference is established.

    ``diff`` holds the differences of notebook 06: the top-2 boxes of the agreement items and the two scores'
    means of the battery; significant means after the multiple-testing adjustment, named from the ``adjustment``
    column. Each item is quoted, « Un beau littoral » (+7,4 points), gaps of shares in points of percentage to one
    decimal and gaps of scores in points of score to two, as the tables write them.
    """
    d = diff.loc[diff["in_battery"] & (((diff["statistic"] == "accord") & (diff["level"] == "top2"))
                                      | ((diff["statistic"] == "mean") & (diff["type"] == "score_0_10")))]
    d = d.assign(display=d["item_label"].map(compare.short_label))
    sig = d["p_adj"] < 0.05
    score = d["statistic"] == "mean"

    def listing(rows: pd.DataFrame) -> str:
        # shares' gaps in percentage points to one decimal, scores' in points of score to two, as the tables
        gap = {True: lambda x: fmt.points(x, 2, scale=1), False: fmt.points}
        return ", ".join(f"« {r.display} » ({gap[r.statistic == 'mean'](r.estimate)})"
                         for r in rows.sort_values("estimate", key=abs, ascending=False).itertuples()) or "aucun"

    out = [f"**Les clients du territoire sont plus d'accord** que les habitants pour : "
           f"{listing(d.loc[sig & ~score & (d['estimate'] > 0)])}.",
           f"**Les habitants sont plus d'accord** pour : {listing(d.loc[sig & ~score & (d['estimate'] < 0)])}."]
    for sign, who in ((1, "Les clients du territoire"), (-1, "Les habitants")):
        rows = d.loc[sig & score & (np.sign(d["estimate"]) == sign)]
        if len(rows):
            out.append(f"**{who} donnent une note plus haute**, sur 10 : {listing(rows)}.")
    out.append("**Pas de différence établie** pour : "
               f"{', '.join(f'« {x} »' for x in d.loc[~sig, 'display']) or 'aucun'}.")
    out.append("Les écarts de part d'accord sont en points de pourcentage, ceux des notes de 0 à 10 en points de "
               "note ; une différence est dite significative après correction pour tests multiples, "
               f"{compare.adjustment_label(d)}.")
    return fmt.french(" ".join(out))


def agreement_rows(diff: pd.DataFrame) -> pd.DataFrame:
    """The rows of the « d'accord » share (``statistic`` ``accord``, ``level`` ``top2``) of the differences or
    estimates of the comparison, in their order."""
    return diff.loc[(diff["statistic"] == "accord") & (diff["level"].astype(str) == "top2")]


def weighting_headers(order: Iterable[str], headers: Mapping[str, str]) -> dict[str, str]:
    """The French header of each column of the sensitivity table: ``order`` and ``headers`` as
    :func:`portrait.study.compare.sensitivity_columns` returns them, with :data:`WEIGHTING_LABELS` applied
    (« calage raking (méthode retenue) » → « calage par raking (méthode retenue) »)."""
    out = {}
    for name in order:
        header = headers.get(name, name)
        out[name] = WEIGHTING_LABELS.get(name, name) + header[len(name):] if header.startswith(name) else header
    return out
