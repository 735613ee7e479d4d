"""The residents' scores, strengths and weaknesses by department (:mod:`portrait.study.departments`), in French: the
tables and sentences of report 06's section on departments."""

from __future__ import annotations

import pandas as pd

from . import disclosure
from . import formatting as fmt
from .sections import IN_DEPARTMENT, respondents_by_department
from .synthesis import SUPPRESSED

FAMILIES = {"scores": "les notes de 0 à 10", "forces": "les forces citées", "faiblesses": "les faiblesses citées"}
NOUNS = {"scores": "notes", "forces": "forces", "faiblesses": "faiblesses"}


def hidden(part: pd.DataFrame, threshold: int) -> pd.Series:
    """Which shares are suppressed: those cited by fewer than ``threshold`` residents of the department (primary) and,
    in the same statistic, the complementary ones :func:`~portrait.reporting.disclosure.suppression` adds to its row
    of citers. The regional share is published (reports 06 and 07) and the departments' weights are the census's: with
    one share alone suppressed, a reviewer recovered it (about 7 to 8 % for a cell of 9 citers) from the four others.
    Scores (means) are not suppressed."""
    out = pd.Series(False, index=part.index)
    for _, g in part.loc[part["family"] != "scores"].groupby("label", sort=False):
        out[g.index] = disclosure.suppression(g["cited"].to_numpy(dtype=float)[None, :], threshold).ravel()
    return out


def _cell(r, suppressed: bool) -> str:
    if suppressed:
        return SUPPRESSED
    if r.family == "scores":
        return fmt.french(f"{fmt.number(r.estimate, 2)} {fmt.interval(r.ci_low, r.ci_high, 2)}")
    return fmt.french(f"{fmt.percent(r.estimate, 0)} {fmt.interval(r.ci_low, r.ci_high, 0, 100)}")


def department_table(t: pd.DataFrame, family: str, threshold: int) -> pd.DataFrame:
    """One family of :func:`portrait.study.departments.by_department` as statistics × departments: each cell the
    estimate with its interval (a share cited by fewer than ``threshold`` residents of the department suppressed, with
    its complementary cells: :func:`hidden`), then the homogeneity test's adjusted p; a last row gives each
    department's respondents (the fewest to the most over the rows)."""
    part = t.loc[t["family"] == family].copy()
    part["cell"] = [_cell(r, h) for r, h in zip(part.itertuples(), hidden(part, threshold))]
    wide = part.pivot_table(index="label", columns="département", values="cell", aggfunc="first", sort=False)
    wide["p ajusté (homogénéité)"] = part.drop_duplicates("label").set_index("label")["p_adj"].map(fmt.pvalue)
    last = pd.DataFrame([{"label": "répondants", **respondents_by_department(part), "p ajusté (homogénéité)": ""}])
    return pd.concat([wide.reset_index(), last], ignore_index=True).rename(columns={"label": ""})


def _shown(r) -> str:
    return fmt.number(r.estimate, 2) if r.family == "scores" else fmt.percent(r.estimate, 0)


def _differing(part: pd.DataFrame, threshold: int) -> tuple[list[str], list[str]]:
    """One family's statistics that differ between departments (adjusted p < 0.05), each with the range of its
    departments (suppressed shares not quoted), and the labels of the others."""
    varies, named, labels = [], set(), list(dict.fromkeys(part["label"]))
    part = part.loc[~hidden(part, threshold)]
    for label, g in part.loc[part["p_adj"] < 0.05].groupby("label", sort=False):
        g = g.sort_values("estimate")
        if len(g) < 2:
            continue
        lo, hi = g.iloc[0], g.iloc[-1]
        varies.append(f"« {label} » (p ajusté {fmt.pvalue_stated(g['p_adj'].iloc[0])}) : de {_shown(lo)} "
                      f"{IN_DEPARTMENT.get(lo['département'], lo['département'])} à {_shown(hi)} "
                      f"{IN_DEPARTMENT.get(hi['département'], hi['département'])}")
        named.add(label)
    return varies, [x for x in labels if x not in named]


def brief(t: pd.DataFrame, threshold: int) -> str:
    """:func:`sentences` in one sentence, for the synthesis: the statistics that differ, the others in a word."""
    varies = [v for family in FAMILIES for v in _differing(t.loc[t["family"] == family], threshold)[0]]
    if not varies:
        return fmt.french("Selon le département, aucun écart établi pour les notes, les forces et les faiblesses "
                          "(rapport 06).")
    return fmt.french("Selon le département, un écart est établi pour "
                      + " ; ".join(varies) + " ; pas d'écart établi pour les autres (rapport 06).")


def sentences(t: pd.DataFrame, threshold: int) -> str:
    """Which statistics differ between departments (adjusted p < 0.05), each with the range of its departments
    (suppressed shares not quoted), family by family; the others are said not established."""
    parts = []
    for family, what in FAMILIES.items():
        part = t.loc[t["family"] == family]
        if part.empty:
            continue
        varies, others = _differing(part, threshold)
        lead = f"**{fmt.capitalised(what)}.** "
        if varies:
            rest = (f"pour « {others[0]} »" if len(others) == 1 else
                    f"pour les {len(others)} autres {NOUNS[family]}" if others else "")
            parts.append(lead + "Les départements diffèrent pour " + " ; ".join(varies)
                         + (f". Pas d'écart établi {rest}." if rest else "."))
        else:
            parts.append(lead + "Aucun écart établi entre départements, après correction pour tests multiples.")
    return fmt.french("\n\n".join(parts))
