"""The reviewers' synthesis: sentences generated from the results, and statistical disclosure control.

Everything a reviewer reads is computed here from the chain's outputs; nothing is typed by hand.
Statistical disclosure control: any cell computed on fewer respondents than a threshold (a
parameter, 10 by default) is suppressed — its values and its count replaced by :data:`SUPPRESSED`
— with complementary suppression where totals would let a reader derive it
(:mod:`portrait.reporting.disclosure`).

References
----------
Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley. (threshold rule)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..pipeline import sources
from ..pipeline.config import every_problem, require
from ..study import compare
from .. import survey
from . import comparison_text, disclosure
from . import formatting as fmt
from ..survey import Design

SUPPRESSED = "masqué (confidentialité)"
@dataclass(frozen=True)
class SynthesisSettings:
    """The synthesis's parameters (``config/07_synthesis.yaml``), checked once when notebook 07 starts.

    Attributes
    ----------
    simulated : the answers come from the simulator (``source: simulated``), so every page says so.
    small_cell_threshold : fewest respondents behind a number shown to reviewers (at least 1); smaller
        cells are suppressed, with complementary suppression (:mod:`portrait.reporting.disclosure`).
    """

    simulated: bool
    small_cell_threshold: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "SynthesisSettings":
        with every_problem():
            from ..study.fieldwork import source_label

            source = require(params, "source", str)
            if source is not None:
                source_label(source)            # the one rule for « simulated » or « real »
            return cls(simulated=source == "simulated",
                       small_cell_threshold=require(params, "small_cell_threshold", int, minimum=1))


def suppress(table: pd.DataFrame, n_column: str, value_columns: Sequence[str], threshold: int,
             decimals: int = 2, signed: Sequence[str] = (), bounds: Sequence[str] = ()) -> pd.DataFrame:
    """A display copy of ``table`` with small cells suppressed and numbers written the French way.

    Rows whose ``n_column`` is below ``threshold`` show :data:`SUPPRESSED` instead of their values
    and « moins de <threshold> » instead of their count. Columns in ``signed`` (gaps) are written with
    their sign (« +10,1 »); columns in ``bounds`` (a gap's confidence bounds) too (« +4,7 », as the sentences
    write them), with the decimals that show the sign of a bound that would read 0
    (:func:`portrait.reporting.formatting.bound`).
    """
    out = table.copy()
    small = out[n_column].to_numpy() < threshold
    for c in value_columns:
        write = fmt.signed if c in signed else _signed_bound if c in bounds else fmt.number
        out[c] = [SUPPRESSED if s else write(v, decimals) for v, s in zip(out[c], small)]
    out[n_column] = [f"moins de {threshold}" if s else fmt.number(v) for v, s in zip(table[n_column], small)]
    return out


def _signed_bound(x: float, decimals: int) -> str:
    return fmt.bound(x, decimals, sign=True)


def ci_text(estimate: float, low: float, high: float, scale: float = 1.0, decimals: int = 1, unit: str = "",
            signed: bool = False, *, level: float) -> str:
    """« 6,8 (IC à 95 % : 6,7 à 6,9) » with a unit (points, %), as every sentence of the reports writes it, for an
    interval at confidence ``level``;
    ``signed``: a gap, written with its sign and its bounds' (« +0,46 point (IC à 95 % : +0,30 à +0,62) »), as the
    recommendation score is written; a bound that would read 0 gets the decimals that show its sign."""
    u = f" {unit}" if unit else ""
    return fmt.french(f"{(fmt.signed if signed else fmt.number)(estimate * scale, decimals)}{u} ({fmt.ci_label(level)} : "
                      f"{fmt.bound(low * scale, decimals, signed)} à {fmt.bound(high * scale, decimals, signed)})")


def verdict(p_adj: float, ci_low: float, ci_high: float) -> str:
    """« différence établie » or not, saying so when the unadjusted CI excludes 0 but the adjusted
    p-value does not hold: the interval and the verdict shown side by side must not seem to disagree."""
    if p_adj < 0.05:
        return "différence établie"
    if ci_low > 0 or ci_high < 0:
        return ("pas de différence établie (l'intervalle de confiance, qui n'est pas corrigé, exclut 0, mais "
                "l'écart n'est plus significatif une fois corrigé pour le nombre de comparaisons)")
    return "pas de différence établie"


def commune_takes(communes: pd.DataFrame) -> dict[str, int]:
    """Of the communes drawn (``selected``), how many there are and their invitations (``take``): the fixed
    take of those drawn at random, and the number and range of those retained with certainty."""
    drawn = communes.loc[communes["selected"]]
    fixed, certain = drawn.loc[~drawn["certainty"], "take"], drawn.loc[drawn["certainty"], "take"]
    return {"communes_drawn": len(drawn), "take": int(fixed.max()) if len(fixed) else 0,
            "certain_communes": len(certain), "certain_min": int(certain.min()) if len(certain) else 0,
            "certain_max": int(certain.max()) if len(certain) else 0}


def _takes(counts: Mapping[str, int]) -> str:
    """Invitations per commune: the fixed take of the communes drawn at random, and those of the certainty
    communes — the take for each draw their population is worth, rounded to whole invitations
    (:func:`portrait.study.frames.resident_plan`), which is why the total is not exactly the planned one: with
    ``counts["draws"]`` (the strata's draws, ``resident_strata.csv``), the planned number is said."""
    k = counts.get("certain_communes", 0)
    take = fmt.number(counts["take"])
    drawn = counts["communes_drawn"] - k
    fixed = f"{take} dans chacune des {fmt.number(drawn)} communes tirées au hasard"
    if not k:
        return fixed
    low, high = fmt.number(counts["certain_min"]), fmt.number(counts["certain_max"])
    if not counts["take"]:          # every commune drawn was retained with certainty
        return (f"les {fmt.number(k)} communes retenues d'office en reçoivent en proportion de leur population, de "
                f"{low} à {high} invitations par commune")
    fewer = (f" (moins de {take} pour une commune qui vaut moins d'un tirage)"
             if counts["certain_min"] < counts["take"] else "")
    return (f"{fixed} ; les {fmt.number(k)} communes retenues d'office (celles dont la population vaut à elle seule "
            "au moins un tirage, et la dernière commune d'une strate dont toutes les autres le sont) en reçoivent en "
            f"proportion de leur population, de {low} à {high}{fewer}, pour que leurs habitants aient la même chance "
            "d'être invités que ceux du reste de la strate ; arrondi à l'unité, le total s'écarte de quelques unités "
            + (f"des {fmt.number(counts['draws'] * counts['take'])} prévues ({fmt.number(counts['draws'])} tirages "
               f"de {take})" if counts.get("draws") else f"du nombre prévu, un multiple de {take}"))


def _weighting_sentence(visitor_target: str, merged: bool, external: Sequence[str]) -> str:
    """How each survey was weighted; a survey weighted outside the chain is said to be, not described."""
    elsewhere = "des poids calculés hors de cette chaîne, utilisés tels quels avec leurs poids de réplication"
    if set(external) >= {"residents", "visitors"}:
        return f"**Pondération.** Pour les deux enquêtes, {elsewhere}. "
    residents = (elsewhere if "residents" in external else
                 "la population de l'Insee par sexe et âge et par département, et sa répartition par taille de "
                 "commune estimée à partir de la base de sondage")
    visitors = (elsewhere + "." if "visitors" in external else
                "les totaux des fichiers de partenaires, moins l'estimation de leurs personnes hors champ."
                if visitor_target == "frame" else
                "des totaux déduits des chiffres du tourisme (nuitées, part de clients étrangers) et appliqués à "
                "l'effectif des fichiers de partenaires : des hypothèses, pas des effectifs connus (voir « Limites »).")
    return ("**Pondération.** Chaque répondant reçoit un poids : l'inverse de sa probabilité d'être invité, corrigé de "
            "la non-réponse, puis calé pour que l'échantillon reproduise exactement des effectifs de référence"
            + (" (à des regroupements près, faute de répondants : voir « Limites »)" if merged else "")
            + f" — pour les habitants, {residents} ; pour les clients, {visitors} ")


def method_sentences(counts: Mapping[str, int], ledger: pd.DataFrame, diag: Mapping[str, pd.Series],
                     visitor_target: str = "frame", *, adjustment: str, merged: bool = False,
                     trimmed: Sequence[str] = (), external: Sequence[str] = (), level: float,
                     simulated: bool = False) -> str:
    """The method in plain French, with the chain's own numbers; ``level``: the confidence level of the report's
    intervals (:func:`portrait.study.compare.confidence_level` of notebook 06's differences).

    ``counts``: communes, residents aged 15+, frame persons, invitations of each survey;
    ``ledger``: the fieldwork ledger; ``diag``: weight diagnostics of each survey; ``visitor_target``:
    the visitors' calibration target (``frame``: the partner files' totals less their estimated persons out of
    scope; ``tourism``: totals derived from tourism figures, which are assumptions); ``adjustment``: the
    correction for multiple tests in French, as :func:`portrait.reporting.comparison_text.adjustment_label`
    names it (« méthode de Holm »);
    ``merged``: calibration levels were merged for want of respondents (« Limites » says which); ``trimmed``: the
    surveys whose calibrated weights were trimmed (the recipe's ``trimming``); ``external``: the surveys whose
    weights were computed outside the chain (a weighted file without recipe), which the text does not describe;
    ``simulated``: the fieldwork is simulated, and the response paragraph says so where it is read alone (trial E).
    """
    led = ledger.groupby(["survey", "status"])["n"].sum()

    def rate(survey: str) -> str:
        resp = led.get((survey, "respondent"), np.nan)
        excl = led.get((survey, "excluded"), 0)
        total = led.loc[survey].sum()
        return fmt.percent(resp / (total - excl))

    return fmt.french("\n\n".join([
        f"**Deux enquêtes indépendantes.** Les habitants de 15 ans ou plus ont été tirés en deux degrés : "
        f"{fmt.number(counts['communes_drawn'])} communes parmi les {fmt.number(counts['communes'])} de la région, tirées avec "
        f"une probabilité proportionnelle à leur population dans chaque département et classe de taille, puis "
        f"{fmt.number(counts['resident_invitations'])} invitations : {_takes(counts)}. Les clients du territoire ont été tirés au hasard, par "
        f"zone visitée et type de partenaire, parmi les {fmt.number(counts['frame_persons'])} personnes des fichiers de "
        f"partenaires (une fois dédoublonnés, et seulement celles qui acceptent d'être recontactées) : "
        f"{fmt.number(counts['visitor_invitations'])} invitations. Liste des communes : Etalab au "
        f"{fmt.date(sources.COMMUNES_LIST_DATE)} (populations {sources.COMMUNES_POPULATION_YEAR}), pour le seul "
        "tirage.",
        f"**Réponse{' (terrain simulé)' if simulated else ''}.** Taux de réponse (RR2 de l'AAPOR, American Association for Public Opinion Research : répondants, dont les "
        "questionnaires interrompus qui comptent, parmi les invités, sauf ceux qui se sont révélés hors champ) : "
        f"{rate('residents')} chez les habitants, {rate('visitors')} chez les clients. "
        "Ceux qui répondent ne ressemblent pas exactement à ceux qui ne répondent pas : la pondération corrige "
        "ces écarts pour les caractéristiques connues (voir « Limites »).",
        _weighting_sentence(visitor_target, merged, external)
        + (f"Les poids calés des {' et des '.join({'residents': 'habitants', 'visitors': 'clients'}[g] for g in trimmed)} "
           "sont ensuite écrêtés, puis recalés. " if trimmed else "")
        + f"Effet de plan dû aux poids (Kish) : {fmt.number(diag['residents']['deff de Kish'], 3)} "
        f"chez les habitants, {fmt.number(diag['visitors']['deff de Kish'], 3)} chez les clients.",
        "**Ce que veut dire un intervalle de confiance.** Chaque chiffre est une estimation tirée d'un échantillon. "
        f"L'{fmt.ci_label(level, long=True)} (IC) donne la fourchette de valeurs compatibles avec les réponses "
        f"recueillies : la méthode vise à ce que, {fmt.exact(level * 100)} fois sur 100, la fourchette contienne la vraie "
        "valeur de la population ; tous les intervalles de ce rapport sont à ce niveau. Une différence "
        "entre habitants et clients n'est dite « établie » que si elle reste significative une fois corrigée pour le "
        f"grand nombre de questions comparées ({adjustment}), série par série : les écarts principaux (notes, parts "
        "d'accord, recommandation, forces, faiblesses), puis chaque autre section à part. L'étude de validation "
        "(rapport 08) refait tous les calculs sur une population simulée dont les vraies valeurs sont connues et compte "
        "combien de fois les intervalles les contiennent ; sa version courte (quelques dizaines de réplications, "
        "produite par défaut, signalée dans l'index) montre la méthode, seule sa version publiée permet de conclure.",
    ]))


def findings(diff: pd.DataFrame, limit: int = 8) -> list[str]:
    """Key findings as French sentences with their figures and CIs; only differences significant after
    the multiple-testing adjustment are called differences."""
    d = diff.loc[diff["in_battery"]].copy()
    d["display"] = d["item_label"].map(compare.short_label)
    out = []
    agree = d.loc[(d["statistic"] == "accord") & (d["level"] == "top2")]
    sig = agree.loc[agree["p_adj"] < 0.05].sort_values("estimate", key=abs, ascending=False)
    for r in sig.head(limit).itertuples():
        who, other = ("les clients du territoire", "les habitants") if r.estimate > 0 else \
            ("les habitants", "les clients du territoire")
        out.append(f"« {r.display} » : {who} sont plus souvent d'accord que {other}, "
                   f"{fmt.number(max(r.estimate_visitors, r.estimate_residents) * 100, 1)} % contre "
                   f"{fmt.number(min(r.estimate_visitors, r.estimate_residents) * 100, 1)} %, soit un écart clients − habitants de "
                   f"{ci_text(r.estimate, r.ci_low, r.ci_high, scale=100, unit='points', signed=True, level=r.confidence_level)}.")
    for r in d.loc[d["statistic"].isin(["mean"]) & d["type"].eq("score_0_10")].itertuples():
        asked = (" ; la question (« pour y séjourner ou pour y vivre ») ne se lit sans doute pas de la même façon dans "
                 "les deux groupes" if r.item == "recommandation" else "")
        out.append(f"{r.display} : note moyenne de {fmt.number(r.estimate_residents, 2)} chez les habitants et de "
                   f"{fmt.number(r.estimate_visitors, 2)} chez les clients ; {verdict(r.p_adj, r.ci_low, r.ci_high)} ; "
                   f"écart clients − habitants {ci_text(r.estimate, r.ci_low, r.ci_high, decimals=2, unit='point', signed=True, level=r.confidence_level)}"
                   f"{asked}.")
    same = agree.loc[agree["p_adj"] >= 0.05]
    if len(same):
        out.append("Pas de différence établie sur : " + ", ".join(f"« {s} »" for s in same["display"]) + ".")
        edge = same.loc[same["p"] < 0.05, "display"].tolist()
        if edge:
            out.append("Parmi eux, " + ", ".join(f"« {s} »" for s in edge) + (" a" if len(edge) == 1 else " ont")
                       + " un écart significatif avant correction pour le nombre de comparaisons, qui ne l'est plus "
                       "après : à confirmer.")
    return [fmt.french(s) for s in out]


def adjusted_sentence(diff: pd.DataFrame, adjusted: pd.DataFrame) -> str:
    """Whether the established gaps hold at equal sex and age: for each agreement share and 0–10 score whose gap is
    established in the battery of ``diff``, the client effect of report 06's adjusted model (``adjusted``,
    ``comparison_adjusted.csv``: proportional odds of the 1–5 answers, linear model of the score) is established
    (its adjusted p below 0.05) in the same direction or not; empty when no gap is established."""
    d = diff.loc[diff["in_battery"] & (diff["p_adj"] < 0.05)
                 & (((diff["statistic"] == "accord") & (diff["level"].astype(str) == "top2"))
                    | ((diff["statistic"] == "mean") & (diff["type"] == "score_0_10")))]
    model = adjusted.set_index("item")
    d = d.loc[d["item"].isin(model.index)]
    if not len(d):
        return ""
    m = model.loc[d["item"]]
    kept = (m["p_adj"].to_numpy() < 0.05) & (np.sign(m["estimate"].to_numpy()) == np.sign(d["estimate"].to_numpy()))
    lost = [compare.short_label(x) for x in d.loc[~kept, "item_label"]]
    n, k = len(d), int(kept.sum())
    shares = int((d["statistic"] == "accord").sum())
    # which gaps: the agreement figure beside counts shares only, this sentence counts the 0–10 scores too
    what = "" if n == 1 or shares in (0, n) else (
        f" ({fmt.count(shares, 'part d’accord', 'parts d’accord')} et {fmt.count(n - shares, 'note de 0 à 10', 'notes de 0 à 10')})")
    # « écart », not « effet »: an association at equal sex and age, not a cause; and the models are not of the shares
    # but of the whole answer scale, so an item « reste différent », not « l'écart le reste » (reviews)
    items = "l'item dont l'écart est établi" if n == 1 else f"{n} items dont l'écart est établi{what}"
    if k == 0:
        head, tail = (f"{items} ne reste pas différent" if n == 1 else f"aucun des {items} ne reste différent"), ""
    else:
        head = (f"{items} reste différent, dans le même sens" if n == 1 else
                f"les {items} restent différents, dans le même sens" if k == n else
                f"{k} des {items} " + ("reste différent" if k == 1 else "restent différents") + ", dans le même sens")
        tail = "" if not lost else (" ; " + fmt.enumeration([f"« {x} »" for x in lost])
                                    + (" ne reste pas différent" if len(lost) == 1 else " ne restent pas différents"))
    return fmt.french("**À sexe et âge égaux** (modèles du rapport 06 sur toute l'échelle de réponse, corrigés pour tests "
                      f"multiples), {head}{tail}.")


def agreement_table(diff: pd.DataFrame, threshold: int, est: pd.DataFrame | None = None) -> pd.DataFrame:
    """Report 07's table of the agreement gaps: for each image attribute (the « d'accord » rows of the differences,
    in the file's order), the share agreeing in each group in % (with its interval from ``est``, the estimates
    file, when given: the takeaways' rules read the groups' bounds), the gap clients − habitants in points with its
    sign and its interval in one cell (bounds signed), whether it is established (adjusted p below 0.05) and the
    smaller group's respondents; an attribute answered by fewer than ``threshold`` respondents in a group is
    suppressed."""
    top2 = comparison_text.agreement_rows(diff)
    table = top2.assign(habitants=top2["estimate_residents"] * 100, clients=top2["estimate_visitors"] * 100,
                        écart=top2["estimate"] * 100, bas=top2["ci_low"] * 100, haut=top2["ci_high"] * 100,
                        effectif=top2[["n_residents", "n_visitors"]].min(axis=1),
                        établi=top2["p_adj"].lt(0.05).map({True: "oui", False: "non"}))
    shown = suppress(table, "effectif", ["habitants", "clients", "écart", "bas", "haut"], threshold, 1, signed=["écart"],
                     bounds=["bas", "haut"])
    shown["écart"] = [cell if cell == SUPPRESSED else fmt.french(f"{cell} [{lo} ;\u00a0{hi}]")
                      for cell, lo, hi in zip(shown["écart"], shown["bas"], shown["haut"])]
    share = "(%)"
    if est is not None:         # the intervals' level is said in the caption
        share = "% [IC]"
        groups = est.loc[(est["statistic"] == "accord") & (est["level"].astype(str) == "top2")].set_index(["item", "group"])
        for column, group in (("habitants", "residents"), ("clients", "visitors")):
            ci = groups.loc[[(i, group) for i in top2["item"]], ["ci_low", "ci_high"]].to_numpy() * 100
            shown[column] = [cell if cell == SUPPRESSED else
                             fmt.french(f"{cell} [{fmt.number(lo, 1)} ;\u00a0{fmt.number(hi, 1)}]")
                             for cell, (lo, hi) in zip(shown[column], ci)]
    return shown[["display", "habitants", "clients", "écart", "établi", "effectif"]].rename(
        columns={"display": "attribut", "habitants": f"habitants {share}", "clients": f"clients {share}",
                 "écart": "écart clients − habitants (points) [IC]",
                 "effectif": "répondants (groupe le moins nombreux)"}).reset_index(drop=True)


def outside_clients_table(gaps: pd.DataFrame, diff: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """:func:`agreement_table`'s gaps again with only the clients living outside the region
    (:func:`portrait.study.aims.gaps_without_local_clients`, in its order), compact: the outside clients' share
    in %, the gap in points with its interval (bounds signed, as the gap), its adjusted p-value and whether it is
    established (adjusted with the rest of the comparison: an interval, not adjusted, may exclude 0 where the gap is
    not established, and the p-value shows why); an attribute with fewer than ``threshold`` respondents in a group
    is suppressed."""
    rows = comparison_text.agreement_rows(diff).set_index("item").loc[gaps["item"]]
    small = np.minimum(rows["n_residents"].to_numpy(), gaps["n_visitors"].to_numpy()) < threshold
    share = [SUPPRESSED if s else fmt.number(v * 100, 1) for v, s in zip(gaps["estimate_visitors"], small)]
    gap = [SUPPRESSED if s else fmt.french(f"{fmt.signed(e * 100, 1)} [{_signed_bound(lo * 100, 1)} ;\u00a0"
                                           f"{_signed_bound(hi * 100, 1)}]")
           for e, lo, hi, s in zip(gaps["estimate"], gaps["ci_low"], gaps["ci_high"], small)]
    return pd.DataFrame({"attribut": rows["display"].to_numpy(), "clients hors région (%)": share,
                         f"écart avec les habitants (points) [{fmt.ci_label(compare.confidence_level(gaps))}]": gap,
                         "p ajusté": [SUPPRESSED if s else fmt.pvalue(p) for p, s in zip(gaps["p_adj"], small)],
                         "établi": [SUPPRESSED if s else ("oui" if p < 0.05 else "non")
                                    for p, s in zip(gaps["p_adj"], small)]})


def ends_sentence(table: pd.DataFrame, level: str, what: str = "la note moyenne") -> str:
    """What a :func:`domain_table` shows from its first level to its last in each group (« de 6,34 à 7,58 chez
    les habitants »), read from the printed cells: a group whose first or last cell is masked is not quoted."""
    parts = []
    for group, g in table.groupby("groupe", sort=False):
        first, last = g["moyenne"].iloc[0], g["moyenne"].iloc[-1]
        if SUPPRESSED not in (first, last):
            parts.append(f"de {first} à {last} chez les {group[0].lower() + group[1:]}")
    if not parts or len(table) < 2:
        return ""
    first, last = table[level].iloc[0], table[level].iloc[-1]
    return fmt.french(f"Des {first} aux {last}, {what} passe " + fmt.enumeration(parts) + ".")


def _means_by(design: Design, cb, group: str, item: str, col: str, ci_level: float) -> pd.DataFrame:
    d, spec = compare.with_items(design, cb, group)
    column = spec.loc[(spec["item"] == item) & (spec["statistic"] == "mean"), "column"].iloc[0]
    e = survey.mean(d, column, by=col, level=ci_level)
    return e.assign(level=e["domain"].str.split("=", n=1).str[1])


def _display(rows: pd.DataFrame, suppressed: np.ndarray) -> pd.DataFrame:
    out = rows.copy()
    for c in ("moyenne", "IC bas", "IC haut"):
        out[c] = [SUPPRESSED if s else fmt.number(v, 2) for v, s in zip(rows[c], suppressed)]
    out["répondants"] = [SUPPRESSED if s else fmt.number(v) for v, s in zip(rows["répondants"], suppressed)]
    return out


def domain_table(designs: Mapping[str, Design], cb, item: str, by: Mapping[str, str],
                 labels: Mapping[str, Mapping[str, str]], threshold: int, level: str = "profil", *,
                 ci_level: float) -> pd.DataFrame:
    """Mean of a score by a profile variable in each group, with CI (at ``ci_level``) and count; every level of the
    variable is shown, and cells are suppressed so that none can be derived from the group's total
    (:func:`portrait.reporting.disclosure.suppression`)."""
    parts = []
    for group, col in by.items():
        e = _means_by(designs[group], cb, group, item, col, ci_level).set_index("level")
        levels = list(labels.get(group, {})) or list(e.index)
        e = e.reindex(levels)
        rows = pd.DataFrame({"groupe": compare.GROUP_LABELS[group],
                             level: [labels.get(group, {}).get(lv, lv) for lv in levels],
                             "moyenne": e["estimate"].to_numpy(), "IC bas": e["ci_low"].to_numpy(),
                             "IC haut": e["ci_high"].to_numpy(), "répondants": e["n"].fillna(0).to_numpy()})
        parts.append(_display(rows, disclosure.suppression(rows["répondants"].to_numpy(), threshold)))
    return pd.concat(parts, ignore_index=True)


#: The column of a :func:`cross_table` holding the respondents of each row (all columns together).
ROW_TOTAL = "répondants de la ligne"


def cross_table(design: Design, cb, group: str, item: str, rows: tuple[str, Mapping[str, str]],
                cols: tuple[str, Mapping[str, str]], threshold: int, *, ci_level: float) -> pd.DataFrame:
    """Mean of a score in each cell of a two-way profile (e.g. partner type × age), every cell shown, with its CI at
    ``ci_level``.

    Row and column totals are taken as public (the one-way tables give them): cells are suppressed
    so that none can be derived from them (:func:`portrait.reporting.disclosure.suppression`).
    """
    (rcol, rlab), (ccol, clab) = rows, cols
    key = (design.data[rcol].astype("string") + "\x1f" + design.data[ccol].astype("Int64").astype("string")
           if not pd.api.types.is_string_dtype(design.data[ccol]) else
           design.data[rcol].astype("string") + "\x1f" + design.data[ccol].astype("string"))
    e = _means_by(compare.with_columns(design, _cell=key), cb, group, item, "_cell", ci_level).set_index("level")
    grid = [(r, c) for r in rlab for c in clab]
    e = e.reindex([f"{r}\x1f{c}" for r, c in grid])
    table = pd.DataFrame({"groupe": compare.GROUP_LABELS[group], rcol: [rlab[r] for r, _ in grid],
                          ccol: [clab[c] for _, c in grid], "moyenne": e["estimate"].to_numpy(),
                          "IC bas": e["ci_low"].to_numpy(), "IC haut": e["ci_high"].to_numpy(),
                          "répondants": e["n"].fillna(0).to_numpy()})
    counts = table["répondants"].to_numpy().reshape(len(rlab), len(clab))
    s = disclosure.suppression(counts, threshold).ravel()
    # the rows' totals are public (the suppression assumes it): shown, they tell a masked row from an empty one
    return _display(table, s).assign(**{ROW_TOTAL: np.repeat(counts.sum(axis=1), len(clab)).astype(int)})


def widen(cross: pd.DataFrame, rows: str, cols: str) -> pd.DataFrame:
    """A :func:`cross_table` as rows × columns, each cell « mean [CI] (n = …) » or the suppression mark, and the
    respondents of each row last."""
    cell = [SUPPRESSED if m == SUPPRESSED else fmt.french(f"{m} [{lo} ; {hi}] (n = {n})")
            for m, lo, hi, n in zip(cross["moyenne"], cross["IC bas"], cross["IC haut"], cross["répondants"])]
    wide = cross.assign(_cell=cell).pivot_table(index=rows, columns=cols, values="_cell", aggfunc="first", sort=False)
    if ROW_TOTAL in cross.columns:
        totals = cross.groupby(rows, sort=False)[ROW_TOTAL].first()
        wide[ROW_TOTAL] = [fmt.number(totals[r]) for r in wide.index]
    return wide.reset_index().rename_axis(columns=None)


def limits(source: str, margin_sources: Mapping[str, pd.DataFrame] | Iterable[pd.DataFrame],
           visitor_target: str = "frame", merges: Mapping[str, Sequence[str]] | None = None) -> str:
    """The limits of the results, in French: simulated answers, assumptions of the margins, coverage, the current
    commune list and the words outside the vocabulary (trial E: neither was said).

    ``margin_sources``: each survey's table of calibration margins (columns ``marge``, ``source``,
    ``hypothèse``), as the weighted files' attributes hold them, keyed as :func:`margin_sources` keys them (the
    clients' variant, ``visitors_variant``, is then named as such) or in a plain sequence. ``visitor_target``: the clients'
    calibration target of this run (``frame`` or ``tourism``, the recipe's ``calibration_target``). ``merges``:
    each survey's calibration levels merged for want of respondents (the weighted files' ``notes``).
    """
    parts = []
    merged = {g: list(n) for g, n in (merges or {}).items() if n}
    if merged:
        who = {"residents": "habitants", "visitors": "clients"}
        parts.append("**Regroupements de calage.** Faute de répondants, des modalités de calage ont été regroupées ("
                     + " ; ".join(f"{who.get(g, g)} : " + " ; ".join(n) for g, n in merged.items()) + ") : leurs "
                     "répondants représentent aussi la population des modalités qui en manquaient, et les résultats "
                     "selon ces modalités (l'âge, par exemple) ne portent que sur les répondants présents.")
    if source == "simulated":
        parts.append("**Données simulées.** Les réponses de 2017 ne sont pas publiques : ce rapport lit les réponses "
                     "du simulateur documenté du projet, avec de vraies bases de sondage et de vrais chiffres de l'Insee. "
                     "Ses résultats illustrent la méthode, pas l'opinion réelle des habitants et des clients ; avec les "
                     "exports réels de l'outil d'enquête, la même chaîne produit le même rapport.")
    tables = margin_sources.items() if isinstance(margin_sources, Mapping) else [("", t) for t in margin_sources]
    owner = {"residents": " des habitants", "visitors": " des clients", "visitors_variant": " de la variante des clients"}
    assumed, every, n = {}, set(), 0
    for key, t in tables:
        names = [f"« {r.marge} »" for r in t.itertuples() if not str(r.hypothèse).startswith("aucune")]
        n += len(names)
        if len(names) > 1 and len(names) == len(t):
            every.add(key)
        assumed[key] = names
    items = []
    for key, names in assumed.items():
        if key == "visitors_variant" and {"visitors", key} <= every:
            continue                                    # said with the clients' own: « variante comprise »
        if key in every:
            items.append(("toutes celles" if items else "toutes les marges") + owner.get(key, "")
                         + (", variante comprise," if key == "visitors" and "visitors_variant" in every else ""))
        elif names:
            items.append(("la marge " if len(names) == 1 else "les marges ") + fmt.enumeration(names)
                         + owner.get(key, ""))
    if n:
        subject = fmt.enumeration(items)
        parts.append("**Hypothèses des marges de calage.** " + subject[0].upper() + subject[1:]
                     + (" repose sur une hypothèse" if n == 1 else " reposent sur des hypothèses")
                     + " (tableau des marges ci-dessous).")
    parts.append(target_sentence(visitor_target, "**Champ des clients.** "))
    parts.append(nonresponse_sentence())
    # short: the synthesis must print on ten pages
    parts.append(f"**Communes et mots.** Communes tirées dans la liste au {fmt.date(sources.COMMUNES_LIST_DATE)}, "
                 "non celle de 2017 (les marges restent de 2017) ; un mot hors de la liste du dictionnaire ne compte "
                 "pour aucun.")
    return fmt.french("\n\n".join(parts))


def margin_sources(attrs: Mapping[str, Mapping]) -> dict[str, pd.DataFrame]:
    """Each weighting's margins table from the weighted files' attributes (``attrs`` by survey): the residents',
    the clients' and, when the file holds it, the clients' variant calibrated to the other target (key
    ``visitors_variant``), whose assumptions the sensitivity table relies on."""
    from ..study import recipes

    out = {g: recipes.margin_sources(a) for g, a in attrs.items()}
    target = (attrs.get("visitors", {}).get("recipe") or {}).get("calibration_target", "frame")
    variant = recipes.margin_sources(attrs.get("visitors", {}), f"target_{'frame' if target == 'tourism' else 'tourism'}")
    if len(variant):
        out["visitors_variant"] = variant
    return out


def _without_raw_paths(text: object) -> object:
    """« Insee, nuitées (data/raw/x.csv) : … » → « Insee, nuitées : … »; « (data/raw/y.csv, confiance) » → « (confiance) »."""
    if not isinstance(text, str):
        return text
    text = re.sub(r"\s*\(data/raw/[^),]+\)", "", text)
    return re.sub(r"data/raw/[^),]+, ", "", text)


def margins_table(margin_sources: Mapping[str, pd.DataFrame], visitor_target: str = "frame") -> pd.DataFrame:
    """The calibration margins of both surveys for readers: survey, margin, source and assumption, the texts
    written with French spacing. ``margin_sources``: each survey's table (columns ``marge``, ``source``,
    ``hypothèse``), keyed ``residents`` and ``visitors``, as the weighted files' attributes hold them.
    Margins of one survey with the same source and assumption share one row (« zone visitée ; type de
    partenaire »), in their order: the table is printed in the synthesis, where space counts, and a source's file
    in ``data/raw/`` is not named (« Données utilisées » and the analysts' reports 04 and 05 name them). The
    clients' variant (``visitors_variant``, calibrated to the target other than ``visitor_target``) is named as
    the sensitivity table's column is."""
    other = "frame" if visitor_target == "tourism" else "tourism"
    label = {"residents": "habitants", "visitors": "clients",
             "visitors_variant": f"{compare.TARGET_LABELS[other]} (variante)"}
    table = pd.concat([t.assign(pondération=label.get(g, g)) for g, t in margin_sources.items()])
    table["source"] = table["source"].map(_without_raw_paths)
    table = (table.groupby(["pondération", "source", "hypothèse"], sort=False)["marge"]
             .agg(lambda m: " ; ".join(map(str, m))).reset_index())
    return table[["pondération", "marge", "source", "hypothèse"]].map(lambda v: fmt.french(v) if isinstance(v, str) else v)


def nonresponse_sentence() -> str:
    """What the weighting corrects of the non-response, from the recipes' response models (French)."""
    from ..study import recipes

    def named(variables: Iterable[str], lead: str = "") -> str:
        return fmt.enumeration([lead + recipes.RESPONSE_VARIABLE_LABELS[v] for v in variables])

    return ("**Non-réponse.** La pondération corrige les écarts de réponse liés, chez les habitants, "
            f"{named(recipes.RESIDENT_RESPONSE_MODEL, 'à ')} (modèle de réponse et calage) et au sexe et à l'âge (calage) et, "
            f"chez les clients, aux informations des fichiers ({named(recipes.VISITOR_RESPONSE_MODEL)}), qui ne "
            "donnent ni le sexe ni l'âge (voir « Les principaux résultats »), mais pas une non-réponse liée "
            "à l'opinion elle-même.")


def target_sentence(target: str, lead: str = "", where: str = "section « Sensibilité à la pondération »") -> str:
    """What the clients' weights represent under this run's calibration target, and what the other target shows
    (``where``: where the report shows the other target)."""
    if target == "tourism":
        return (lead + "Dans cette version, les clients sont calés sur les chiffres du tourisme : leurs poids visent les "
                "touristes de la région, au prix des hypothèses de ces marges, plutôt que les personnes des fichiers "
                "de partenaires. Le calage sur les totaux des fichiers, la cible de l'étude, est l'autre "
                f"variante ({where}).")
    return (lead + "L'enquête auprès des clients représente les personnes des fichiers de partenaires qui acceptent "
            "d'être recontactées, pas l'ensemble des visiteurs de la région ; le calage sur les chiffres du tourisme "
            f"({where}) montre ce que changerait une autre cible, au prix d'hypothèses.")


def checksums(files: Sequence[str]) -> pd.DataFrame:
    """SHA-256 (first 16 hex digits) of the files the synthesis reads, for the run information."""
    from ..pipeline import paths
    from ..pipeline.io import sha256

    return pd.DataFrame({"fichier": list(files), "empreinte SHA-256": [sha256(paths.resolve(f))[:16] for f in files]})


def checksums_sentence(files: Sequence[str]) -> str:
    """The files the synthesis reads with the start of their SHA-256 (:func:`checksums`), as one French sentence
    per folder: a table of them took a third of a printed page."""
    from pathlib import PurePosixPath

    t = checksums(files)
    folders: dict[str, list[str]] = {}
    for f, h in zip(t["fichier"], t["empreinte SHA-256"]):
        p = PurePosixPath(f)
        folders.setdefault(str(p.parent), []).append(f"{p.name} ({h})")
    return fmt.french(" ".join(f"Fichiers lus dans `{folder}/`, avec le début de leur empreinte SHA-256 : "
                               + fmt.enumeration(names) + "." for folder, names in folders.items()))


def table(df: pd.DataFrame, caption: str | None = None):
    """A table for reviewers: no row numbers, French numbers already formatted by the caller."""
    from IPython.display import HTML

    html = df.to_html(index=False, border=0, classes="dataframe portrait-table", na_rep="—", escape=True)
    if caption:
        html = html.replace("<thead>", f"<caption>{caption}</caption>\n  <thead>", 1)
    return HTML(html)
