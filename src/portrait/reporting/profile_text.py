"""Who answered (:mod:`portrait.study.profiles`), in French: the tables and sentences of report 06's profile section.

Shares are written « 25 % [23 ; 28] » with their interval; a share computed on fewer respondents than the
small-cell threshold is suppressed, with complementary suppression within each question of each group (its
total, the question's respondents, being public), as in the synthesis.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..study.compare import GROUP_LABELS, GROUPS
from ..study.profiles import COMMON
from . import formatting as fmt
from .sections import share_cells


#: What a share imposed by calibration shows instead of its (null) interval.
CALIBRATED = "marge de calage"


def calibrated(shares: pd.DataFrame) -> pd.Series:
    """Shares the calibration imposes (a margin's level): strictly between 0 and 1 with a null standard error (to
    rounding); their interval says nothing of precision, so the tables name them instead."""
    return (shares["se"] < 1e-9) & (shares["estimate"] > 0) & (shares["estimate"] < 1)


def _base(part: pd.DataFrame, group: str | None = None) -> str:
    return fmt.number(int(part["base"].iloc[0])) + (f" {GROUP_LABELS[group].lower()}" if group else " répondants")


def _blocks(shares: pd.DataFrame, group: str, variables: list[str], threshold: int) -> pd.DataFrame:
    rows = []
    for name in variables:
        part = shares.loc[(shares["group"] == group) & (shares["variable"] == name)].reset_index(drop=True)
        decimals = 1 if (part["estimate"] < 0.005).any() else 0     # « 0 % » would read « nobody »
        cells, hide = share_cells(part, threshold, decimals)
        fixed = calibrated(part).to_numpy() & ~hide
        cells[fixed] = [fmt.french(f"{fmt.percent(e, decimals)} ({CALIBRATED})") for e in part.loc[fixed, "estimate"]]
        rows.append(pd.DataFrame({"question": part["question"], "modalité": part["modalite"], group: cells,
                                  "_base": _base(part, group if name in COMMON else None)}))
    return pd.concat(rows, ignore_index=True)


def hidden(shares: pd.DataFrame, threshold: int) -> pd.Series:
    """Which shares the reports suppress (True), each question of each group protected as one line."""
    out = pd.Series(False, index=shares.index)
    for _, part in shares.groupby(["group", "variable"], sort=False):
        out[part.index] = share_cells(part, threshold)[1]
    return out


def _first(question: pd.Series) -> pd.Series:
    """A question's label (with its respondents) on its first row only: the rows below are its categories."""
    return question.where(question.ne(question.shift()), "")


def common_table(shares: pd.DataFrame, variables: list[str], threshold: int) -> pd.DataFrame:
    """Sex, age and education in both groups side by side: one row per category, each group's share with its
    interval (a share imposed by calibration named so, a small one suppressed) in its column, headed by the group's
    label; each question's respondents in both groups beside its name."""
    parts = [_blocks(shares, g, variables, threshold) for g in GROUPS]
    question = parts[0]["question"] + " (" + parts[0]["_base"] + ", " + parts[1]["_base"] + ")"
    return pd.DataFrame({"question": _first(question.map(fmt.french)), "modalité": parts[0]["modalité"],
                         GROUP_LABELS["residents"]: parts[0]["residents"], GROUP_LABELS["visitors"]: parts[1]["visitors"]})


def own_table(shares: pd.DataFrame, group: str, variables: list[str], threshold: int) -> pd.DataFrame:
    """The questions asked of one group only: one row per category, its share with its interval, each question's
    respondents beside its name."""
    t = _blocks(shares, group, variables, threshold)
    return pd.DataFrame({"question": _first((t["question"] + " (" + t["_base"] + ")").map(fmt.french)),
                         "modalité": t["modalité"], "part [IC]": t[group]})


def _share(r) -> str:
    return fmt.percent(r.estimate, 0)


def _category(shares: pd.DataFrame, group: str, name: str, key: str):
    return next(shares.loc[(shares["group"] == group) & (shares["variable"] == name) & (shares["key"] == key)]
                .itertuples())


def _count_phrase(counts: pd.DataFrame, group: str, unit: tuple[str, str],
                  decimals: int) -> tuple[str, str, str, str, str]:
    """The mean « 37,7 ans » and « IC à 95 % [36,9 ; 38,6] », the median « 35 ans » and its interval, and the share
    « 10 % (IC à 95 % [8 ; 12]) »."""
    rows = {r.statistic.split(" :")[0]: r for r in counts.loc[counts["group"] == group].itertuples()}
    m, q, s = rows["moyenne"], rows["médiane"], rows["part"]
    ci = fmt.ci_label(m.confidence_level)
    return (fmt.quantity(m.estimate, decimals, *unit), f"{ci} {fmt.interval(m.ci_low, m.ci_high, decimals)}",
            fmt.quantity(q.estimate, 0, *unit), f"{ci} {fmt.interval(q.ci_low, q.ci_high, 0)}",
            f"{fmt.percent(s.estimate, 0)} ({ci} {fmt.interval(s.ci_low, s.ci_high, 0, 100)})")


def _unanswered(counts: pd.DataFrame, group: str) -> str:
    """« Aucun répondant n'a donné … » when nobody in ``group`` answered its count question, else empty."""
    rows = counts.loc[counts["group"] == group]
    return "" if rows["base"].iloc[0] > 0 else f"Aucun répondant n'a répondu à la question « {rows['question'].iloc[0]} »."


def _tests_phrase(tests: pd.DataFrame) -> str:
    named = {"sexe": "le sexe", "age": "l'âge", "diplome": "le diplôme"}
    parts = []
    for r in tests.itertuples():
        verdict = "écart établi" if r.p_adj < 0.05 else "pas d'écart établi"
        parts.append(f"{named.get(r.variable, r.question.lower())} ({verdict}, p ajusté {fmt.pvalue_stated(r.p_adj)})")
    return fmt.enumeration(parts)


def sentences(profile: Mapping[str, pd.DataFrame], calibrated_on: Mapping[str, bool], threshold: int) -> str:
    """What the profile says, as a few sentences: which group's sex and age are calibration margins
    (``calibrated_on``: group → calibrated on sex × age), the Rao–Scott tests of sex, age and education between the
    groups, the share of graduates of higher education in each, the residents' years in the region and the
    clients' origin, purpose and stays; and the small-cell rule (``threshold``)."""
    shares, counts, tests = profile["shares"], profile["counts"], profile["tests"]
    fixed = [GROUP_LABELS[g].lower() for g in GROUPS if calibrated_on.get(g)]
    free = [GROUP_LABELS[g].lower() for g in GROUPS if not calibrated_on.get(g)]
    out = []
    if fixed:
        out.append(f"La répartition par sexe et âge des {fmt.enumeration(fixed)} est calée sur les estimations de "
                   "population de l'Insee (rapport 04) : leurs parts reproduisent ces marges, sans intervalle de "
                   f"confiance (« {CALIBRATED} » dans les tableaux)"
                   + (f" ; celle des {fmt.enumeration(free)} est estimée." if free else "."))
    sup = {g: _category(shares, g, "diplome", "superieur") for g in GROUPS}
    out.append(f"Entre les deux groupes, la répartition est comparée globalement (test de Rao–Scott, p ajustés entre "
               f"les {len(tests)} tests) pour {_tests_phrase(tests)}. Diplômés du supérieur : "
               f"{_share(sup['residents'])} des habitants, {_share(sup['visitors'])} des clients.")
    if (tests.loc[tests["variable"] == "diplome", "p_adj"] < 0.05).any():
        out.append("Les écarts d'opinion pourraient tenir en partie à cette différence de composition : les comparaisons "
                   "ajustées sur le sexe et l'âge sont refaites plus bas avec le diplôme en plus.")
    out.append(f"Une part calculée sur moins de {fmt.number(threshold)} répondants serait masquée, ainsi que les cases "
               "qui permettraient de la retrouver"
               + (" ; aucune ne l'est dans ces tableaux." if not hidden(shares, threshold).any() else "."))
    out.append("\n\n")
    mean, mean_ci, median, median_ci, short = _count_phrase(counts, "residents", ("an", "ans"), 1)
    out.append(_unanswered(counts, "residents") or
               f"Les habitants vivent dans la région depuis {mean} en moyenne ({mean_ci}) ; la moitié depuis au moins "
               f"{median} ({median_ci}) ; {short} depuis moins de 10 ans.")
    mean, mean_ci, median, median_ci, once = _count_phrase(counts, "visitors", ("séjour", "séjours"), 2)
    here, unsaid = (_category(shares, "visitors", "residence", k) for k in ("hdf", "france_nr"))
    leisure = _category(shares, "visitors", "motif", "loisirs")
    out.append((_unanswered(counts, "visitors") or
                f"Au cours des 24 derniers mois, les clients ont fait en moyenne {mean} ({mean_ci}) dans la région "
                f"(médiane : {median}, {median_ci}) ; {once} n'en ont fait qu'un.") + " Parmi ceux qui ont dit dans quel pays ils habitent, "
               f"{_share(here)} vivent eux-mêmes dans les Hauts-de-France ({_share(unsaid)} en France sans préciser "
               f"leur région ; sans ces derniers, la part monte à {fmt.percent(here.estimate / (1 - unsaid.estimate), 0)}, "
               "celle du rapport 07) : ils sont aussi des habitants, et le rapport 07 refait les écarts sans eux. "
               f"Pour leur dernier séjour, {_share(leisure)} sont venus pour les loisirs ou les vacances.")
    return fmt.french(" ".join(out).replace(" \n\n ", "\n\n"))


def _coefficient(estimate: float, low: float, high: float) -> str:
    return fmt.french(f"{fmt.signed(estimate, 2)} {fmt.interval(low, high, 2, sign=True)}")


def diploma_table(adjusted: pd.DataFrame, short: Mapping[str, str]) -> pd.DataFrame:
    """The effect « client » adjusted for sex and age, and for sex, age and education
    (:func:`portrait.study.profiles.with_diploma`): each coefficient with its interval, and its adjusted p."""
    cells = {k: [_coefficient(*r) for r in adjusted[[f"estimate{k}", f"ci_low{k}", f"ci_high{k}"]].itertuples(index=False)]
             for k in ("", "_diplome")}
    return pd.DataFrame({"question": adjusted["item"].map(short),
                         fmt.french("Sexe et âge : coefficient [IC]"): cells[""],
                         "p ajusté (sexe et âge)": adjusted["p_adj"].map(fmt.pvalue),
                         fmt.french("Sexe, âge et diplôme : coefficient [IC]"): cells["_diplome"],
                         "p ajusté (avec le diplôme)": adjusted["p_adj_diplome"].map(fmt.pvalue)})


def _names(rows: pd.DataFrame, short: Mapping[str, str]) -> str:
    return fmt.enumeration([f"« {short[i]} »" for i in rows["item"]])


def _kept(adjusted: pd.DataFrame) -> str:
    """« les 7 écarts clients − habitants établis le restent tous, dans le même sens » (with education too), or how
    many do."""
    before = adjusted["p_adj"] < 0.05
    kept = int((before & _holds(adjusted)).sum())
    total = int(before.sum())
    if total == 0:
        return "aucun écart clients − habitants n'était établi"
    if total == 1:
        return ("l'écart clients − habitants établi le reste, dans le même sens" if kept
                else "l'écart clients − habitants établi ne le reste pas")
    return (f"les {total} écarts clients − habitants établis le restent tous, dans le même sens" if kept == total else
            f"{kept} des {total} écarts clients − habitants établis " + ("le reste" if kept == 1 else "le restent")
            + ", dans le même sens")


def _holds(adjusted: pd.DataFrame) -> pd.Series:
    """Established with education too (adjusted p < 0.05), in the same direction."""
    return (adjusted["p_adj_diplome"] < 0.05) & (np.sign(adjusted["estimate_diplome"]) == np.sign(adjusted["estimate"]))


#: The scales of the adjusted models' coefficients (:func:`portrait.study.group_models.adjusted_models`'s ``model``).
SCALES = {"régression linéaire": "point de note (notes 0 à 10)",
          "logit cumulatif (cotes proportionnelles)": "en logarithme du rapport des cotes (attributs)"}


def diploma_sentence(adjusted: pd.DataFrame, short: Mapping[str, str]) -> str:
    """Whether the effects « client » established with sex and age (adjusted p < 0.05) stay established with education
    too, in the same direction, which become so, and how far the coefficients move on each model's scale."""
    before, after = adjusted["p_adj"] < 0.05, _holds(adjusted)
    lost, gained = adjusted.loc[before & ~after], adjusted.loc[~before & (adjusted["p_adj_diplome"] < 0.05)]
    change = (adjusted["estimate_diplome"] - adjusted["estimate"]).abs()
    moves = [f"{fmt.number(change[adjusted['model'] == m].max(), 2)} {scale}" for m, scale in SCALES.items()
             if (adjusted["model"] == m).any()]
    text = (f"Avec le diplôme en plus du sexe et de l'âge, {_kept(adjusted)}"
            + (f" ; {_names(lost, short)} " + ("ne l'est" if len(lost) == 1 else "ne le sont") + " plus"
               if len(lost) and int(before.sum()) > 1 else "")
            + (f" ; {_names(gained, short)} {'le devient' if len(gained) == 1 else 'le deviennent'}" if len(gained) else "")
            + f". Les coefficients changent d'au plus {fmt.enumeration(moves)}.")
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


def proportional_odds_table(po: pd.DataFrame, adjusted: pd.DataFrame, short: Mapping[str, str]) -> pd.DataFrame:
    """The check of the proportional-odds models (:func:`portrait.study.group_models.proportional_odds_tests`): each
    attribute's coefficient « client » in its model, then the coefficient of each cut's logistic model
    (« supérieure à k »), and the test of their equality, its F and adjusted p."""
    cuts = sorted(int(c.split("_")[1]) for c in po.columns if c.startswith("beta_"))
    model = adjusted.set_index("item")["estimate"]
    out = pd.DataFrame({"question": po["item"].map(short),
                        "modèle (un seul coefficient)": po["item"].map(model).map(lambda x: fmt.signed(x, 2))})
    for k in cuts:
        out[f"supérieure à {k}"] = po[f"beta_{k}"].map(lambda x: fmt.signed(x, 2))
    out["F"] = po["F"].map(lambda x: fmt.number(x, 2))
    out["p ajusté"] = po["p_adj"].map(fmt.pvalue)
    return out


def proportional_odds_sentence(po: pd.DataFrame, short: Mapping[str, str]) -> str:
    """Whether the proportional-odds hypothesis behind the attributes' coefficients is rejected (adjusted p < 0.05),
    for which attributes, and what the coefficient then means; then the cuts left out (their model separated, in a
    small sample) and the attributes left without a test."""
    if po.empty:
        return ""
    tested = po.loc[po["p_adj"].notna()]
    rejected = tested.loc[tested["p_adj"] < 0.05]
    if tested.empty:
        text = "L'hypothèse des cotes proportionnelles n'a pu être testée pour aucun attribut."
    elif rejected.empty:
        lowest = tested.loc[tested["p_adj"].idxmin()]
        text = ("L'hypothèse des cotes proportionnelles n'est rejetée pour aucun attribut (p ajusté le plus petit "
                f"{fmt.pvalue(lowest['p_adj'])}, pour « {short[lowest['item']]} ») : l'écart clients − habitants de "
                "chaque attribut se lit comme un même décalage de toute l'échelle de réponse, ce que les coefficients "
                "seuil par seuil montrent à leur précision près (les seuils extrêmes, peu fréquents, sont les moins "
                "précis).")
    else:
        text = (f"L'hypothèse des cotes proportionnelles est rejetée pour {_names(rejected, short)} (p ajusté < 0,05) : "
                f"pour {'cet attribut' if len(rejected) == 1 else 'ces attributs'}, l'écart clients − habitants "
                "dépend du seuil de réponse, et le coefficient du modèle n'en donne qu'un résumé ; les coefficients "
                "seuil par seuil disent où l'écart se concentre."
                + (" Elle n'est rejetée pour aucun autre attribut." if len(tested) > len(rejected) else ""))
    left = po.loc[po["cuts_left_out"].fillna("") != ""].groupby("cuts_left_out", sort=False)["item"]
    if len(left):
        named = fmt.enumeration([fmt.enumeration([f"« supérieure à {k} »" for k in cuts.split()]) + " pour "
                                 + _names(items.to_frame(), short) for cuts, items in left])
        one = left.ngroups == 1 and " " not in next(iter(left.groups))
        text += (f" {'Le seuil' if one else 'Les seuils'} {named} {'est écarté' if one else 'sont écartés'} du test : "
                 "d'un côté du seuil, un niveau du sexe ou de l'âge n'a aucune réponse, et le modèle ne peut y être "
                 "estimé.")
    untested = po.loc[po["p_adj"].isna()]
    if len(untested) and len(tested):
        text += f" {_names(untested, short)} " + ("n'a" if len(untested) == 1 else "n'ont") + " pas de test (moins de deux seuils)."
    return fmt.french(text)
