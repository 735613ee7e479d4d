"""A scenario's report: its key estimates beside the study's, and what changes in the conclusions.

The key estimates are the comparison battery of notebook 06 (``in_battery`` rows of
``comparison_differences.csv``): for each item, the residents' and the visitors' estimates and their
difference, with the multiplicity-adjusted p-value that decides whether the difference is reported
as significant.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..pipeline import config, paths
from ..pipeline import scenario as scenario_runs
from . import formatting as fmt
from . import parameter_labels

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

KEYS = ["item", "statistic", "level"]
# how each statistic is shown: factor, decimals, unit of the difference
# statistic -> (factor to its unit, decimals); differences are in points (of percentage, of the score)
SHOWN = {"mean": (1.0, 2), "accord": (100.0, 1), "share": (100.0, 1), "nps_score": (100.0, 1)}
STAGE_NAMES = {"01_resident_frame": "01 — base de sondage des habitants",
               "02_visitor_frame": "02 — base de sondage des clients du territoire",
               "03_fieldwork": "03 — terrain", "04_resident_weighting": "04 — pondération des habitants",
               "05_visitor_weighting": "05 — pondération des clients du territoire",
               "06_comparison": "06 — comparaison habitants / clients du territoire",
               "07_synthesis": "07 — synthèse"}


def read_manifest(path: str | Path) -> dict[str, Any]:
    return json.loads(paths.resolve(path).read_text(encoding="utf-8"))


def side_by_side(study: pd.DataFrame, scenario: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The battery of ``comparison_differences.csv``, study and scenario joined row by row.

    Columns ``*_study`` and ``*_scenario`` for the residents' and visitors' estimates, the difference
    (visitors − residents), its standard error and adjusted p-value; ``shift`` is the scenario's
    difference minus the study's, ``shift_se`` that shift in study standard errors, and
    ``significant_study``/``significant_scenario`` compare the adjusted p-value with ``alpha``.
    """
    cols = KEYS + ["display", "label", "estimate_residents", "estimate_visitors", "estimate", "se", "p_adj"]
    s = study.loc[study["in_battery"].astype(bool), cols]
    c = scenario.loc[scenario["in_battery"].astype(bool), cols]
    m = s.merge(c.drop(columns=["display", "label"]), on=KEYS, how="left", suffixes=("_study", "_scenario"),
                validate="1:1", indicator=True)      # in the study's order
    if len(m) != len(c) or (m["_merge"] != "both").any():
        raise ValueError(f"the study's battery has {len(s)} rows, the scenario's {len(c)}, "
                         f"{int((m['_merge'] == 'both').sum())} in common: they must be the same rows")
    m = m.drop(columns="_merge").reset_index(drop=True)
    m["shift"] = m["estimate_scenario"] - m["estimate_study"]
    m["shift_se"] = m["shift"] / m["se_study"]
    m["significant_study"] = m["p_adj_study"] < alpha
    m["significant_scenario"] = m["p_adj_scenario"] < alpha
    return m


def _value(x: float, statistic: str, difference: bool = False) -> str:
    factor, decimals = SHOWN.get(statistic, (1.0, 3))
    if difference:
        return fmt.points(x, decimals, scale=factor)
    if statistic in ("accord", "share"):
        return fmt.percent(x, decimals)
    return fmt.number(x * factor, decimals)


def _indicator(row) -> str:
    if row["statistic"] in ("share", "accord"):
        label = "d'accord (4 ou 5)" if row["statistic"] == "accord" else row["label"]
        return f"{row['display']} : {label}"
    if row["statistic"] == "nps_score":
        return f"{row['display']} : score net de recommandation (points)"
    return f"{row['display']} : moyenne"


def key_table(m: pd.DataFrame) -> pd.DataFrame:
    """The table of the report, French labels and numbers as strings (every battery row)."""
    rows = []
    for _, r in m.iterrows():
        st = r["statistic"]
        rows.append({
            "Indicateur": _indicator(r),
            "Habitants : étude": _value(r["estimate_residents_study"], st),
            "Habitants : scénario": _value(r["estimate_residents_scenario"], st),
            "Clients : étude": _value(r["estimate_visitors_study"], st),
            "Clients : scénario": _value(r["estimate_visitors_scenario"], st),
            "Écart clients − habitants : étude": _value(r["estimate_study"], st, True) + (" *" if r["significant_study"] else ""),
            "Écart clients − habitants : scénario": _value(r["estimate_scenario"], st, True)
            + (" *" if r["significant_scenario"] else ""),
            "Déplacement de l'écart (scénario − étude, en erreurs types de l'étude)": fmt.signed(r["shift_se"], 2)})
    return pd.DataFrame(rows)


def changes_sentence(m: pd.DataFrame, alpha: float = 0.05) -> str:
    """What the scenario changes in the study's conclusions, in French."""
    n = len(m)
    flips = m[m["significant_study"] != m["significant_scenario"]]
    biggest = m.loc[m["shift_se"].abs().idxmax()] if n else None
    largest = float(m["shift_se"].abs().max()) if n else 0.0
    still = fmt.rounded(largest, 2) == 0     # no gap moves (a scenario of the multiple-test correction, say)
    if still and flips.empty:
        return (f"Le scénario ne change aucune des {n} comparaisons de la batterie : aucun écart ne bouge de "
                "plus de 0,005 fois son erreur type.")
    first = (f"Sur les {n} comparaisons clients / habitants de la batterie, "
             + ("aucune ne change de conclusion" if flips.empty else
                f"{len(flips)} change{'nt' if len(flips) > 1 else ''} de conclusion")
             + f" au seuil de {fmt.number(alpha * 100, 0)} % (valeurs p corrigées pour tests multiples)")
    if not flips.empty:
        names = [f"{_indicator(r)} ({'devient significatif' if r['significant_scenario'] else 'n’est plus significatif'})"
                 for _, r in flips.iterrows()]
        first += " : " + " ; ".join(names)
    first += "."
    if still:
        return first + (" Les écarts eux-mêmes ne bougent pas de plus de 0,005 fois leur erreur type : seules les "
                        "valeurs p corrigées changent.")
    size = fmt.number(abs(biggest["shift_se"]), 2)
    second = (f" Le plus grand déplacement d'un écart vaut {size} fois son erreur type dans l'étude "
              f"({_indicator(biggest)}) ; la moitié des écarts se déplacent de moins de "
              f"{fmt.number(float(m['shift_se'].abs().median()), 2)} fois leur erreur type.")
    return first + second


def settings_table(manifest: dict[str, Any]) -> pd.DataFrame:
    """What the scenario changes: stage, parameter (its French name, the raw one that ``SET=`` takes in parentheses),
    the study's value, the scenario's (in French, as ``SET=`` takes them in parentheses)."""
    rows = []
    for s in manifest["stages"]:
        for name, (before, after) in s["changes"].items():
            if _redirect(before, after):
                continue                    # a path redirected to the scenario's folder
            rows.append({"Étape": STAGE_NAMES.get(s["stage"], s["stage"]), "Paramètre": parameter_labels.text_name(name),
                         "Étude": parameter_labels.text_value(name, before),
                         "Scénario": parameter_labels.text_value(name, after)})
    return pd.DataFrame(rows, columns=["Étape", "Paramètre", "Étude", "Scénario"])


def stages_markdown(manifest: dict[str, Any]) -> str:
    """One line per stage: re-run in the scenario (link to its report) or reused from the study."""
    lines = []
    for s in manifest["stages"]:
        name = STAGE_NAMES.get(s["stage"], s["stage"])
        if not s["rerun"]:
            lines.append(f"- {name} : reprise de l'étude, paramètres et entrées inchangés "
                         f"([rapport de l'étude](../../../reports/{s['stage']}.html))")
        else:
            why = ("paramètres modifiés" if any(not _redirect(b, a) for b, a in s["changes"].values())
                   else "lit des fichiers refaits par le scénario")
            lines.append(f"- **{name} : refaite** ({why}) — [rapport du scénario]({s['stage']}.html)")
    lines.append("- 08 — étude de validation : non refaite (elle mesure la méthode, pas les résultats).")
    return "\n".join(lines)


def _redirect(before: Any, after: Any) -> bool:
    return isinstance(before, str) and isinstance(after, str) and "/" in before and after.endswith("/" + before)


def shift_figure(m: pd.DataFrame, title: str) -> plt.Figure:
    """Each battery difference's t statistic (difference / SE): the study's across, the scenario's up.

    Points off the diagonal moved; the dashed lines mark ±1.96 (5 %, unadjusted); red diamonds are the
    comparisons whose conclusion changes with the multiplicity-adjusted p-values.
    """
    import matplotlib.pyplot as plt

    t_study = m["estimate_study"] / m["se_study"]
    t_scen = m["estimate_scenario"] / m["se_scenario"]
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    lim = float(np.nanmax(np.abs(np.r_[t_study, t_scen]))) * 1.08 + 0.5
    ax.plot([-lim, lim], [-lim, lim], color="#7b8794", lw=1)
    for v in (-1.96, 1.96):
        ax.axvline(v, color="#b3261e", ls="--", lw=0.8)
        ax.axhline(v, color="#b3261e", ls="--", lw=0.8)
    flipped = m["significant_study"] != m["significant_scenario"]
    ax.scatter(t_study[~flipped], t_scen[~flipped], s=22, color="#0b5cad", label="même conclusion")
    if flipped.any():
        ax.scatter(t_study[flipped], t_scen[flipped], s=46, color="#b3261e", marker="D", label="conclusion changée")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("Écart clients − habitants / erreur type : étude")
    ax.set_ylabel("Écart clients − habitants / erreur type : scénario")
    ax.set_title(title, loc="left")
    ax.legend(loc="upper left", frameon=True)
    return fig


def index_items(manifests: list[dict[str, Any]]) -> str:
    """The scenarios' section of the reports' index (HTML), empty when no scenario was built."""
    if not manifests:
        return ("<h2>Scénarios</h2>\n<p>Aucun scénario construit. <code>make scenario NAME=pop2019</code> ou "
                "<code>NAME=tourisme</code> (définis dans <code>config/scenarios/</code>), ou "
                "<code>make scenario NAME=mon-essai SET=\"04_resident_weighting.calibration_method=logit\"</code> : "
                "la chaîne refaite dans <code>scenarios/NAME/</code>, sans toucher aux résultats de l'étude.</p>\n")
    items = []
    badge = ' <span class="source">données simulées</span>' if is_simulated() else ""
    for mf in manifests:
        rerun = [s["stage"][:2] for s in mf["stages"] if s["rerun"]]
        changed = " ; ".join(f"{s['stage'][:2]} {parameter_labels.html_name(k)} = {parameter_labels.html_value(k, b)} "
                             f"(étude : {parameter_labels.html_value(k, a)})"
                             for s in mf["stages"] for k, (a, b) in s["changes"].items() if not _redirect(a, b))
        old = (' <span class="stale">périmé : l\'étude a changé depuis ; le refaire par la même commande</span>'
               if outdated(mf) else "")
        items.append(f'<li><a href="../scenarios/{html.escape(mf["name"])}/reports/index.html">'
                     f'{html.escape(mf["title"])}</a>{old}{badge} — '
                     f'<code>{html.escape(mf.get("command") or "make scenario NAME=" + mf["name"])}</code>'
                     + (f'<br>{html.escape(mf["description"])}' if mf.get("description") else "")
                     + f'<br><span class="params">{changed} ; étapes refaites : '
                       f'{html.escape(", ".join(rerun))}</span></li>')
    return ("<h2>Scénarios</h2>\n<p>Variantes de la chaîne (<code>make scenario</code>) : chacune a ses données, "
            "ses rapports et met ses estimations clés à côté de celles de l'étude. Un scénario est refait par la "
            "même commande après un changement de l'étude.</p>\n<ul>\n" + "\n".join(items) + "\n</ul>\n")


def outdated(manifest: dict[str, Any]) -> bool:
    """Whether a study stage the scenario reuses, upstream of one it re-ran, ran again after the scenario was last
    built (its manifest and stage stamps): its reports then mix the study's new files with results of the old ones."""
    base = scenario_runs.folder(manifest["name"])
    built = [p.stat().st_mtime for p in [base / "scenario.json", *(base / "build" / "stamps").glob("*.sha256")]
             if p.exists()]
    rerun = [s["stage"] for s in manifest["stages"] if s["rerun"]]
    if not built or not rerun:
        return False
    reused = [paths.EXECUTED / f"{s['stage']}.ipynb" for s in manifest["stages"]
              if not s["rerun"] and s["stage"] < max(rerun)]
    return any(p.exists() and p.stat().st_mtime > max(built) for p in reused)


def is_simulated() -> bool:
    return config.study().get("source", "simulated") == "simulated"
