"""Who answered (:mod:`portrait.study.profiles`), in French: the tables and sentences of report 06's profile section.

Shares are written « 25 % [23 ; 28] » with their interval; a share computed on fewer respondents than the
small-cell threshold is suppressed, with complementary suppression within each question of each group (its
total, the question's respondents, being public), as in the synthesis.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..study.compare import GROUP_LABELS, GROUPS
from . import formatting as fmt
from .sections import share_cells


def _blocks(shares: pd.DataFrame, group: str, variables: list[str], threshold: int) -> pd.DataFrame:
    rows = []
    for name in variables:
        part = shares.loc[(shares["group"] == group) & (shares["variable"] == name)].reset_index(drop=True)
        cells, _ = share_cells(part, threshold)
        rows.append(pd.DataFrame({"question": part["question"], "modalité": part["modalite"], group: cells}))
    return pd.concat(rows, ignore_index=True)


def hidden(shares: pd.DataFrame, threshold: int) -> pd.Series:
    """Which shares the reports suppress (True), each question of each group protected as one line."""
    out = pd.Series(False, index=shares.index)
    for _, part in shares.groupby(["group", "variable"], sort=False):
        out[part.index] = share_cells(part, threshold)[1]
    return out


def common_table(shares: pd.DataFrame, variables: list[str], threshold: int) -> pd.DataFrame:
    """Sex, age and education in both groups side by side: one row per category, each group's share with its
    interval (or the suppression mark) in its column, headed by the group's label."""
    parts = [_blocks(shares, g, variables, threshold) for g in GROUPS]
    out = parts[0].assign(**{GROUP_LABELS["visitors"]: parts[1]["visitors"].to_numpy()})
    return out.rename(columns={"residents": GROUP_LABELS["residents"]})


def own_table(shares: pd.DataFrame, group: str, variables: list[str], threshold: int) -> pd.DataFrame:
    """The questions asked of one group only: one row per category, its share with its interval."""
    return _blocks(shares, group, variables, threshold).rename(columns={group: "part [IC]"})


def _share(r) -> str:
    return fmt.percent(r.estimate, 0)


def _category(shares: pd.DataFrame, group: str, name: str, key: str):
    return next(shares.loc[(shares["group"] == group) & (shares["variable"] == name) & (shares["key"] == key)]
                .itertuples())


def _count_phrase(counts: pd.DataFrame, group: str, unit: tuple[str, str], decimals: int) -> tuple[str, str, str, str]:
    """« 37,7 ans en moyenne (IC à 95 % [36,9 ; 38,6]) », the median « 35 ans » and « IC à 95 % [34 ; 37] », and
    the share « 10 % [8 ; 12] »."""
    rows = {r.statistic.split(" :")[0]: r for r in counts.loc[counts["group"] == group].itertuples()}
    m, q, s = rows["moyenne"], rows["médiane"], rows["part"]
    ci = fmt.ci_label(m.confidence_level)
    return (fmt.quantity(m.estimate, decimals, *unit) + f" en moyenne ({ci} {fmt.interval(m.ci_low, m.ci_high, decimals)})",
            fmt.quantity(q.estimate, 0, *unit), f"{ci} {fmt.interval(q.ci_low, q.ci_high, 0)}",
            f"{fmt.percent(s.estimate, 0)} {fmt.interval(s.ci_low, s.ci_high, 0, 100)}")


def _tests_phrase(tests: pd.DataFrame) -> str:
    named = {"sexe": "le sexe", "age": "l'âge", "diplome": "le diplôme"}
    parts = []
    for r in tests.itertuples():
        verdict = "écart établi" if r.p_adj < 0.05 else "pas d'écart établi"
        p = fmt.pvalue(r.p_adj)
        parts.append(f"{named.get(r.variable, r.question.lower())} ({verdict}, p ajusté {'' if p.startswith('<') else '= '}{p})")
    return fmt.enumeration(parts)


def sentences(profile: Mapping[str, pd.DataFrame], calibrated: Mapping[str, bool]) -> str:
    """What the profile says, as a few sentences: which group's sex and age restate calibration margins
    (``calibrated``: group → calibrated on sex × age), the Rao–Scott tests of sex, age and education between the
    groups, the share of graduates of higher education in each, the residents' years in the region and the
    clients' origin, purpose and stays."""
    shares, counts, tests = profile["shares"], profile["counts"], profile["tests"]
    fixed = [GROUP_LABELS[g].lower() for g in GROUPS if calibrated.get(g)]
    free = [GROUP_LABELS[g].lower() for g in GROUPS if not calibrated.get(g)]
    out = []
    if fixed:
        out.append(f"La répartition par sexe et âge des {fmt.enumeration(fixed)} est calée sur le recensement (rapport 04) : "
                   "leurs parts redisent les marges, d'où des intervalles presque nuls"
                   + (f" ; celle des {fmt.enumeration(free)} est estimée." if free else "."))
    sup = {g: _category(shares, g, "diplome", "superieur") for g in GROUPS}
    out.append(f"Entre les deux groupes, la répartition est comparée d'un bloc (test de Rao–Scott) pour "
               f"{_tests_phrase(tests)}. Diplômés du supérieur : {_share(sup['residents'])} des habitants, "
               f"{_share(sup['visitors'])} des clients.")
    if (tests.loc[tests["variable"] == "diplome", "p_adj"] < 0.05).any():
        out.append("Les écarts d'opinion pourraient tenir en partie à cette différence de composition : les comparaisons "
                   "ajustées sur le sexe et l'âge sont refaites plus bas avec le diplôme en plus.")
    out.append("\n\n")
    mean, median, median_ci, short = _count_phrase(counts, "residents", ("an", "ans"), 1)
    out.append(f"Les habitants vivent dans la région depuis {mean} ; la moitié depuis au moins {median} "
               f"({median_ci}) ; {short} depuis moins de 10 ans.")
    mean, median, median_ci, once = _count_phrase(counts, "visitors", ("séjour", "séjours"), 1)
    here = _category(shares, "visitors", "residence", "hdf")
    leisure = _category(shares, "visitors", "motif", "loisirs")
    out.append(f"Les clients ont fait {mean} dans la région en 24 mois (médiane : {median}, {median_ci}) ; {once} un seul. "
               f"Parmi eux, {_share(here)} habitent eux-mêmes les Hauts-de-France, et {_share(leisure)} sont venus "
               "la dernière fois pour les loisirs ou les vacances.")
    return fmt.french(" ".join(out).replace(" \n\n ", "\n\n"))


def _coefficient(estimate: float, low: float, high: float) -> str:
    return fmt.french(f"{fmt.signed(estimate, 2)} {fmt.interval(low, high, 2, sign=True)}")


def diploma_table(adjusted: pd.DataFrame, short: Mapping[str, str]) -> pd.DataFrame:
    """The effect « client » adjusted for sex and age, and for sex, age and education
    (:func:`portrait.study.profiles.with_diploma`): each coefficient with its interval, and its adjusted p."""
    return pd.DataFrame({
        "question": adjusted["item"].map(short),
        fmt.french("sexe et âge : coefficient [IC]"): [_coefficient(*r) for r in
                                            adjusted[["estimate", "ci_low", "ci_high"]].itertuples(index=False)],
        "p ajusté": adjusted["p_adj"].map(fmt.pvalue),
        fmt.french("sexe, âge et diplôme : coefficient [IC]"): [
            _coefficient(*r) for r in adjusted[["estimate_diplome", "ci_low_diplome", "ci_high_diplome"]].itertuples(index=False)],
        "p ajusté (avec le diplôme)": adjusted["p_adj_diplome"].map(fmt.pvalue)})


def _names(rows: pd.DataFrame, short: Mapping[str, str]) -> str:
    return fmt.enumeration([f"« {short[i]} »" for i in rows["item"]])


def _kept(adjusted: pd.DataFrame) -> str:
    """« les 7 effets « client » établis le restent tous » (with education too), or how many of them do."""
    before, after = adjusted["p_adj"] < 0.05, adjusted["p_adj_diplome"] < 0.05
    kept, total = int((before & after).sum()), int(before.sum())
    if total == 0:
        return "aucun effet « client » n'était établi"
    if total == 1:
        return "l'effet « client » établi le reste" if kept else "l'effet « client » établi ne le reste pas"
    return (f"les {total} effets « client » établis le restent tous" if kept == total else
            f"{kept} des {total} effets « client » établis " + ("le reste" if kept == 1 else "le restent"))


def diploma_sentence(adjusted: pd.DataFrame, short: Mapping[str, str]) -> str:
    """Whether the effects « client » established with sex and age (adjusted p < 0.05) stay established with education
    too, which become so, and the coefficient that moves most."""
    before, after = adjusted["p_adj"] < 0.05, adjusted["p_adj_diplome"] < 0.05
    lost, gained = adjusted.loc[before & ~after], adjusted.loc[~before & after]
    moved = adjusted.loc[(adjusted["estimate_diplome"] - adjusted["estimate"]).abs().idxmax()]
    text = (f"Avec le diplôme en plus du sexe et de l'âge, {_kept(adjusted)}"
            + (f" ; {_names(lost, short)} " + ("ne l'est" if len(lost) == 1 else "ne le sont") + " plus"
               if len(lost) and int(before.sum()) > 1 else "")
            + (f" ; {_names(gained, short)} {'le devient' if len(gained) == 1 else 'le deviennent'}" if len(gained) else "")
            + f". Le coefficient qui change le plus est celui de « {short[moved['item']]} » : "
            f"{fmt.signed(moved['estimate'], 2)} puis {fmt.signed(moved['estimate_diplome'], 2)}.")
    return fmt.french(text)


def synthesis_sentence(long: pd.DataFrame, adjusted: pd.DataFrame) -> str:
    """The synthesis's word on education, which follows its adjusted comparison (« à sexe et âge égaux »), from the
    files of stage 06 (``comparison_profile.csv``, :func:`portrait.study.profiles.long_table`, and
    ``comparison_adjusted.csv`` with its ``_diplome`` columns): whether the groups' education differs (Rao–Scott,
    adjusted p < 0.05), with the share of graduates of higher education in each, and whether the effects « client »
    hold with education as well as sex and age."""
    shares = long.loc[long["statistic"] == "part"]
    differs = float(shares.loc[shares["variable"] == "diplome", "p_adj"].iloc[0]) < 0.05
    sup = {g: float(shares.loc[(shares["group"] == g) & (shares["variable"] == "diplome") &
                               (shares["key"] == "superieur"), "estimate"].iloc[0]) for g in GROUPS}
    more = "plus" if sup["visitors"] > sup["residents"] else "moins"
    diploma = (f"Les clients sont {more} diplômés que les habitants ({fmt.percent(sup['visitors'], 0)} de diplômés du "
               f"supérieur, contre {fmt.percent(sup['residents'], 0)})" if differs else
               "Le diplôme des clients ne se distingue pas de façon établie de celui des habitants")
    return fmt.french(f"{diploma} : avec le diplôme en plus, {_kept(adjusted)}.")
