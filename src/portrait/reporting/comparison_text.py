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
from .parameter_labels import value_text

#: The weightings of the sensitivity table as readers see them, keyed by the ``scenario`` value of
#: ``comparison_sensitivity.csv`` (written by :func:`portrait.study.compare.sensitivity_scenarios`); a
#: weighting not listed here is shown as the file names it.
WEIGHTING_LABELS = {"calage raking ratio": "calage par raking ratio"}


def agreement_gaps(diff: pd.DataFrame) -> pd.DataFrame:
    """The agreement gaps of the image attributes, residents against visitors, as a display table.

    ``diff`` holds the differences of notebook 06 (``comparison_differences.csv``): the rows of the
    « d'accord » share (``statistic`` ``accord``, ``level`` ``top2``), in the file's order, give the
    attribute (``display``), the share agreeing in each group in %, the gap visitors − residents in
    points with its sign, its confidence interval (at the rows' ``confidence_level``) and the p-value adjusted across the battery
    (``p_adj``, by the method named in the column ``adjustment``, see :func:`adjustment_label`). The shares leave
    « Ne sait pas » out: its share in each group (``statistic`` ``share_dk``) closes the row, « – » for a question
    without it.
    """
    top2 = agreement_rows(diff)
    dk = diff.loc[diff["statistic"] == "share_dk"].drop_duplicates("item").set_index("item")
    dk_cells = {g: [fmt.number(dk.at[i, f"estimate_{g}"] * 100, 1) if i in dk.index else fmt.MISSING for i in top2["item"]]
                for g in ("residents", "visitors")}
    return pd.DataFrame({
        "attribut": top2["display"], **_share_gap_columns(top2),
        fmt.french("« Ne sait pas » : habitants (%)"): dk_cells["residents"],
        fmt.french("« Ne sait pas » : clients (%)"): dk_cells["visitors"],
    }).reset_index(drop=True)


def _share_gap_columns(rows: pd.DataFrame) -> dict[str, list[str]]:
    """The columns of a table of share gaps: each group's share in %, the gap clients − habitants in points with its
    interval (at the rows' ``confidence_level``) and the adjusted p-value."""
    return {
        "habitants (%)": [fmt.number(v * 100, 1) for v in rows["estimate_residents"]],
        "clients (%)": [fmt.number(v * 100, 1) for v in rows["estimate_visitors"]],
        "écart clients − habitants (points)": [fmt.signed(v * 100, 1) for v in rows["estimate"]],
        fmt.french(f"{fmt.ci_label(compare.confidence_level(rows))} (points)"): [
            fmt.french(fmt.interval(lo, hi, 1, scale=100, sign=True)) for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
        "p ajusté": [fmt.pvalue(v) for v in rows["p_adj"]],
    }


def choice_gaps_table(diff: pd.DataFrame) -> pd.DataFrame:
    """The strengths' and weaknesses' gaps, residents against visitors, as a display table (report 06): per option, in
    the file's order (``forces``, then ``faiblesses``), the share citing it in each group in %, the gap in points
    with its interval, and the p-value adjusted across the battery. The synthesis quotes these adjusted p-values, which
    no table of 06 showed (a review)."""
    rows = diff.loc[diff["item"].isin(["forces", "faiblesses"]) & (diff["statistic"] == "share")]
    rows = rows.sort_values("item", key=lambda s: s.map({"forces": 0, "faiblesses": 1}), kind="stable")
    return pd.DataFrame({"liste": rows["item"].map({"forces": "Forces", "faiblesses": "Faiblesses"}).to_numpy(),
                         "option": rows["label"].to_numpy(), **_share_gap_columns(rows)}).reset_index(drop=True)


#: The statistics of the battery corrected for multiple tests, as the inference sentence names them (singular,
#: plural).
BATTERY_LABELS = {"mean": ("moyenne", "moyennes"), "accord": ("part d'accord", "parts d'accord"),
                  "nps_score": ("score net de recommandation", "scores nets de recommandation"),
                  "share": ("part d'une force ou d'une faiblesse citée", "parts des forces et des faiblesses citées")}


def inference_sentence(estimates: pd.DataFrame, diff: pd.DataFrame) -> str:
    """Which differences form the battery corrected for multiple tests, and the reference distributions: Student's t
    with each survey's design degrees of freedom (``df`` of ``estimates``, by ``group``) for a group's interval (on the
    logit scale for a share), and
    with Welch–Satterthwaite's for a difference (``df`` of ``diff``, their range over the battery)."""
    battery = diff.loc[diff["in_battery"].astype(bool)]
    counts = battery.groupby("statistic", sort=False).size()
    parts = [("le " + BATTERY_LABELS[s][0]) if s == "nps_score" and n == 1 else fmt.count(n, *BATTERY_LABELS.get(s, (s, s)))
             for s, n in counts.items()]
    df = estimates.groupby("group")["df"].median()
    lo, hi = battery["df"].min(), battery["df"].max()
    return fmt.french(
        f"**Batterie corrigée pour tests multiples** : {fmt.enumeration(parts)} ; les autres différences (part de chaque "
        "réponse, de désaccord, de « Ne sait pas », groupes de recommandation) gardent un p non ajusté, et les mots "
        "sont corrigés entre eux. **Degrés de liberté** : l'intervalle de "
        f"chaque groupe suit une loi de Student à {fmt.number(df.get('residents', float('nan')))} degrés de liberté chez "
        f"les habitants et {fmt.number(df.get('visitors', float('nan')))} chez les clients (unités primaires moins "
        "strates ; chez les habitants, une unité primaire est une commune tirée, ou, dans une commune retenue d'office, "
        "qui forme sa propre strate, un répondant), sur l'échelle logit pour une part, ce qui le garde entre 0 et 100 % (méthode « logit » du "
        "logiciel de référence, le paquet survey de R) ; l'intervalle d'une différence et son test (test de Wald : la différence rapportée à son erreur type) "
        "suivent une loi de Student dont les degrés de liberté, calculés par la formule de Welch–Satterthwaite, "
        f"combinent les variances des deux enquêtes indépendantes (de {fmt.number(lo)} à {fmt.number(hi)} dans la "
        "batterie).")


def adjustment_label(diff: pd.DataFrame) -> str:
    """The correction for multiple tests that gave the agreement gaps' adjusted p-values, in French
    (« méthode de Benjamini–Hochberg »), from the ``adjustment`` column of the differences."""
    return compare.adjustment_label(agreement_rows(diff))


def gaps_introduction(diff: pd.DataFrame) -> str:
    """The paragraph above the agreement-gap figure of report 06, naming the correction for multiple tests
    that decides which points are filled (:func:`adjustment_label`)."""
    return fmt.french("Différence de la part d'accord (« plutôt » ou « tout à fait d'accord ») entre clients et habitants, en "
            f"points, avec son {fmt.ci_label(compare.confidence_level(agreement_rows(diff)), long=True)}. Points pleins : écart établi (significatif après "
            f"correction pour tests multiples, {adjustment_label(diff)}) ; points creux : pas d'écart établi. "
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
            out.append(f"**{who} donnent une note plus haute** : {listing(rows)}.")
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


def printed_ranks(rankings: pd.DataFrame, group: str, decimals: int = 1) -> pd.Series:
    """The rank of each option within its list (``item``) by ``group``'s share as printed (a percentage with
    ``decimals``): options whose shares print alike get the same, better rank (16,7 and 16,7: 8 and 8, then 10)."""
    shown = rankings[group].map(lambda v: fmt.rounded(v * 100, decimals))
    return shown.groupby(rankings["item"]).rank(ascending=False, method="min").astype(int)


def weighting_headers(order: Iterable[str], headers: Mapping[str, str]) -> dict[str, str]:
    """The French header of each column of the sensitivity table: ``order`` and ``headers`` as
    :func:`portrait.study.compare.sensitivity_columns` returns them, with :data:`WEIGHTING_LABELS` applied
    (« calage raking ratio (méthode retenue) » → « calage par raking ratio (méthode retenue) »)."""
    out = {}
    for name in order:
        header = headers.get(name, name)
        out[name] = WEIGHTING_LABELS.get(name, name) + header[len(name):] if header.startswith(name) else header
    return out


def recovery_sentence(check: pd.DataFrame) -> str:
    """What the simulated run's tests and intervals recover of the true differences (report 06), from
    :func:`portrait.study.compare.recovery`: coverage over every statistic; in the battery, the false alarms
    among zero true differences, then the non-zero ones — shifted by the model or not — declared significant,
    and how many of those have an interval that misses the truth."""
    b = check.loc[check["in_battery"]]
    zero, nonzero = b.loc[~b["nonzero"]], b.loc[b["nonzero"]]
    false_alarms = int(zero["significant"].sum())
    found = nonzero.loc[nonzero["significant"]]
    missed = int((~found["covered"]).sum())
    n_shifted = int(nonzero["shifted"].sum())
    # report 03 tables the shifts of the rated questions only; those of the options cited (strengths, weaknesses,
    # words) weight the options in the simulator's model (a reviewer found 25 announced and 7 shown)
    cited = nonzero["shifted"] & (nonzero["type"].isin(["multi", "open_words"]) if "type" in nonzero else False)
    n_cited = int(cited.sum())
    where = ("rapport 03" if not n_cited else
             f"rapport 03 pour les questions notées ; pour {fmt.number(n_cited)} d'entre elles, un poids des options "
             "citées — forces, faiblesses, mots — décalé pour les clients dans le modèle du simulateur")
    alarms = ("aucune n'est déclarée significative (aucune fausse alerte)" if false_alarms == 0 else
              f"{fmt.number(false_alarms)} {'sont déclarées significatives' if false_alarms >= 2 else 'est déclarée significative'} "
              f"à tort ({fmt.count(false_alarms, 'fausse alerte', 'fausses alertes')})")
    found_text = (f"{fmt.number(len(found))} de ces {fmt.number(len(nonzero))} "
                  f"{'sont déclarées significatives' if len(found) >= 2 else 'est déclarée significative'}")
    if missed:
        found_text += " ; " + ("son intervalle de confiance ne contient pas" if len(found) == 1 else
                               f"parmi ces {fmt.number(len(found))}, l'intervalle de confiance de l'une ne contient pas"
                               if missed == 1 else
                               f"parmi ces {fmt.number(len(found))}, les intervalles de confiance de "
                               f"{fmt.number(missed)} d'entre elles ne contiennent pas") + " la vraie différence"
        if {"display", "label"} <= set(found.columns):    # trial AC: the synthesis lists it among the established gaps
            missed_rows = compare.shares_in_percent(found.loc[~found["covered"]], ["estimate", "truth"])
            found_text += " : " + fmt.enumeration([_missed_difference(r) for r in missed_rows.itertuples()])
    return fmt.french(
        f"L'intervalle de confiance contient la vraie différence pour **{fmt.percent(check['covered'].mean())}** des "
        f"{fmt.count(len(check), 'statistique')}. Dans la batterie, la vraie différence est nulle pour "
        f"{fmt.count(len(zero), 'statistique')} : {alarms}. Elle ne l'est pas pour {fmt.number(len(nonzero))} : "
        f"{fmt.number(n_shifted)} par un décalage introduit dans le modèle entre clients et habitants ({where}), "
        f"{fmt.number(len(nonzero) - n_shifted)} sans décalage, par les autres différences que le modèle donne aux "
        f"deux populations (profil des personnes, « Ne sait pas ») ; {found_text}. Une seule réalisation de "
        "l'échantillon : l'étude de validation (étape 08) mesure la couverture sur de nombreuses répétitions.")


def _missed(check: pd.DataFrame) -> pd.DataFrame:
    """The established gaps (in the battery, adjusted p below 5 %) whose interval misses the true difference, in the
    tables' units (shares in %)."""
    return compare.shares_in_percent(check.loc[check["significant"] & ~check["covered"]], ["estimate", "truth"])


def simulated_misses(check: pd.DataFrame) -> str:
    """For the synthesis of a simulated run, whose true differences are known (:func:`portrait.study.compare.recovery`):
    the established gaps (in the battery, adjusted p below 5 %) whose interval misses the true difference, named with
    their estimate and truth; empty when none. A reviewer found one among the synthesis's strengths (estimated
    −3,2 points, true −0,3) with no word of it there, though report 06 named it."""
    if not {"display", "label"} <= set(check.columns):
        return ""
    rows = _missed(check)
    if rows.empty:
        return ""
    named = fmt.enumeration([_missed_difference(r, kind=True) for r in rows.itertuples()])
    return fmt.french("Ici, la vraie valeur est connue, et l'intervalle de confiance de " + named
                      + (" ne la contient pas" if len(rows) == 1 else " ne la contiennent pas")
                      + ", comme une batterie de tests en produit parfois.")


def flag(flags: Mapping[tuple[str, str, str], str], item: str, statistic: str, level: object) -> str:
    """« ; données simulées : vrai écart … » for a gap ``flags`` notes, else nothing."""
    note = flags.get((item, statistic, str(level)))
    return f" ; {note}" if note else ""


def choice_gaps(diff: pd.DataFrame, flags: Mapping[tuple[str, str, str], str] | None = None) -> list[str]:
    """The strengths and weaknesses each group cites more than the other (established after correction), one
    sentence per item and direction; ``flags`` (:func:`~portrait.reporting.comparison_text.simulated_flags`): a note
    beside a gap, keyed by ``(item, statistic, level)``."""
    flags, out = flags or {}, []
    for item, name in (("forces", "Forces"), ("faiblesses", "Faiblesses")):
        fd = diff.loc[(diff["item"] == item) & (diff["statistic"] == "share")]
        if not len(fd):
            continue
        # « établi » means what it means in report 06: adjusted within the comparisons' family (its battery)
        for sign, who, other in ((-1, "habitants", "clients"), (1, "clients", "habitants")):
            s = fd.loc[(fd["p_adj"] < 0.05) & (np.sign(fd["estimate"]) == sign)].sort_values("estimate", key=abs,
                                                                                         ascending=False)
            if len(s):
                # the adjusted p beside each: a gap at p = 0.02 and one below 0.0001 are not the same evidence
                out.append(f"{name} plus citées par les {who} que par les {other} (écart établi après correction) : " + ", ".join(
                    f"« {r.label} » ({fmt.percent(r.estimate_residents if sign < 0 else r.estimate_visitors, 0)} contre "
                    f"{fmt.percent(r.estimate_visitors if sign < 0 else r.estimate_residents, 0)}, p ajusté "
                    f"{fmt.pvalue_stated(r.p_adj)}{flag(flags, r.item, 'share', r.level)})" for r in s.itertuples()) + ".")
    return out


def ranking_top(rankings: pd.DataFrame, group: str) -> str:
    """« « X » », the option ``group`` cites most among ``rankings``'s rows of one item (``comparison_rankings.csv``),
    with « , à égalité possible avec « Y » et « Z » (intervalles qui se chevauchent) » naming every option whose
    interval meets its own. Two disjoint intervals order the shares (their difference is then significant whatever
    the two shares' covariance, for Wald intervals; nearly so for logit ones); meeting ones leave the order open (a
    review: « en tête » said of 36,9 % [34,2 ; 39,7] against 34,1 % [31,6 ; 36,7])."""
    r = rankings.sort_values([f"rank_{group}", group], ascending=[True, False], kind="stable")
    tied = r.iloc[1:].loc[r[f"ci_high_{group}"].iloc[1:] >= r[f"ci_low_{group}"].iloc[0], "label"]
    text = f"« {r['label'].iloc[0]} »"
    if len(tied):
        text += (f", à égalité possible avec {fmt.enumeration([f'« {x} »' for x in tied])} (intervalles qui se "
                 "chevauchent)")
    return text


def simulated_flags(check: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """For a simulated run, the established gaps whose interval misses the truth (those :func:`simulated_misses`
    names), keyed by ``(item, statistic, level)``: « données simulées : vrai écart −0,3 point, surestimé », for the
    synthesis to write beside the gap where it lists it (a review: the warning stood in another paragraph)."""
    rows = _missed(check)
    return {(r.item, r.statistic, str(r.level)): f"données simulées : vrai écart "
            f"{fmt.points(r.truth, 2 if r.statistic == 'mean' else 1, scale=1)}, {_miss_kind(r.estimate, r.truth)}"
            for r in rows.itertuples()}


def _miss_kind(estimate: float, truth: float) -> str:
    """Why an established gap misses its truth: none (a truth of 0) or of the other sign — established wrongly —, or
    the right sign, too large or too small (a review: « établi à tort » said of a true −0,3 point estimated −3,2)."""
    if abs(truth) < 1e-12 or np.sign(estimate) != np.sign(truth):
        return "établi à tort"
    return "surestimé" if abs(estimate) > abs(truth) else "sous-estimé"


def _missed_difference(r, kind: bool = False) -> str:
    """« « Forces : Le dynamisme… » (écart estimé −3,3 points, vrai −0,3 point) »: a difference whose interval misses
    the truth, from a row already in the tables' units (:func:`portrait.study.compare.shares_in_percent`), to the
    tables' decimals; with ``kind``, why (:func:`_miss_kind`: « … vrai −0,3 point : surestimé »)."""
    decimals = 2 if r.statistic == "mean" else 1
    name = f"{r.display} : {r.label}" if r.label else str(r.display)
    why = f" : {_miss_kind(r.estimate, r.truth)}" if kind else ""
    return (f"« {name} » (écart estimé {fmt.points(r.estimate, decimals, scale=1)}, vrai "
            f"{fmt.points(r.truth, decimals, scale=1)}{why})")


RECOVERY_KINDS = {"shifted": "décalage introduit dans le modèle", "other": "sans décalage, vraie différence non nulle",
                  "zero": "vraie différence nulle"}


def recovery_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Coverage and test decisions in the battery by kind of true difference (French table): shifted by the
    model, non-zero without a shift, zero."""
    b = check.loc[check["in_battery"]]
    kind = np.where(b["shifted"], "shifted", np.where(b["nonzero"], "other", "zero"))
    g = b.assign(kind=kind).groupby("kind").agg(statistiques=("item", "size"), significatives=("significant", "sum"),
                                                 couverture=("covered", "mean"))
    g = g.reindex([k for k in RECOVERY_KINDS if k in g.index])
    g.index = g.index.map(RECOVERY_KINDS)
    g["couverture"] = fmt.round(g["couverture"] * 100, 1)
    return g


def model_replicates_text(used: Mapping[str, tuple[str, int, int]]) -> str:
    """« les 200 premières des 500 répliques bootstrap de Rao–Wu par enquête » (the weighted files hold more than the
    models refit on: a reviewer saw 200 here and 500 in reports 04 and 05), « 200 répliques … » when they are all of
    them, or each survey's own when they differ (fewer replicates than asked, or a jackknife), from
    :func:`portrait.study.recipes.model_designs`."""
    def one(method: str, n: int, total: int | None = None) -> str:
        if total is not None and n < total:
            return (f"les {fmt.number(n)} premières des {fmt.number(total)} répliques "
                    f"{value_text('replicate_method', method)}")
        return f"{fmt.count(n, 'réplique')} {value_text('replicate_method', method)}"

    if len(set(used.values())) == 1:
        return one(*next(iter(used.values()))) + " par enquête"
    return " ; ".join(f"{compare.GROUP_LABELS.get(g, g).lower()} : {one(*mu)}" for g, mu in used.items())


def choices_sentence(cited: pd.DataFrame) -> str:
    """How many strengths and weaknesses each group cites on average (:func:`portrait.study.aims.choices_cited`), and
    what it means for the shares: a group that cites fewer options has lower shares on most of them, whatever its
    opinion, so the gaps between shares are read with that reserve when the difference is established
    (p below 0.05)."""
    parts, fewer = [], []
    for r in cited.itertuples():
        parts.append(f"{r.item} : {fmt.number(r.residents_estimate, 2)} (habitants) et "
                     f"{fmt.number(r.visitors_estimate, 2)} (clients), écart {fmt.signed(r.estimate, 2)} "
                     f"[{fmt.bound(r.ci_low, 2, sign=True)} ;\u00a0{fmt.bound(r.ci_high, 2, sign=True)}]")
        level = r.confidence_level
        if r.p < 0.05:
            fewer.append((r.item, "clients" if r.estimate < 0 else "habitants"))
    text = (f"**Combien d'items chacun cite** (en moyenne, parmi ceux qui en citent au moins un ; "
            f"{fmt.ci_label(level)}). " + fmt.capitalised(" ; ".join(parts)))
    if fewer:
        who = {w: [i for i, x in fewer if x == w] for w in dict.fromkeys(x for _, x in fewer)}
        said = " ; ".join(f"les {w} citent moins de {fmt.enumeration(its).replace(' et ', ' et de ')} que les "
                          f"{'habitants' if w == 'clients' else 'clients'}" for w, its in who.items())
        text += (f". {fmt.capitalised(said)} : leurs parts en sont plus basses, quelle que soit leur opinion ; les "
                 "écarts de parts se lisent avec cette réserve.")
    else:
        text += " : pas d'écart établi entre les deux groupes sur le nombre d'items cités."
    return fmt.french(text)


def outside_view_sentence(outside: pd.DataFrame, diff: pd.DataFrame, short: Mapping[str, str]) -> str:
    """The 0–10 scores and the strengths' and weaknesses' gaps with only the clients living outside the region
    (:func:`portrait.study.aims.gaps_without_local_clients` with ``kinds`` ``score`` and ``choice``), beside the
    agreement table that shows the same for the attributes (trial M: only the attributes were re-estimated, so the
    reviewer got no outsider's view of the image, the recommendation or the strengths); it follows
    :func:`portrait.reporting.sections.local_clients_sentence` in the same paragraph."""
    parts = []
    for r in outside.loc[outside["statistic"] == "mean"].itertuples():
        verdict = "établi" if r.p_adj < 0.05 else "non établi"
        parts.append(f"{short.get(r.item, r.item)} : {fmt.number(r.estimate_visitors, 2)} (écart avec les habitants "
                     f"{fmt.signed(r.estimate, 2)} point, {fmt.ci_label(r.confidence_level)} : "
                     f"{fmt.bound(r.ci_low, 2, sign=True)} à {fmt.bound(r.ci_high, 2, sign=True)}, {verdict})")
    key = ["item", "statistic", "level"]
    choices = outside.loc[outside["statistic"] == "share"]
    if len(choices):
        main = diff.assign(level=diff["level"].fillna("").astype(str)).set_index(key)
        main = main.loc[list(choices[key].itertuples(index=False, name=None))]
        was, now = main["p_adj"].to_numpy() < 0.05, choices["p_adj"].to_numpy() < 0.05
        same = was & now & (np.sign(main["estimate"].to_numpy()) == np.sign(choices["estimate"].to_numpy()))
        labels = [f"« {x} »" for x in main["label"]]
        n_was, n_same = int(was.sum()), int(same.sum())
        text = ("forces et faiblesses : " + (
            "aucun écart n'était établi avec tous les clients" if n_was == 0 else
            "l'écart établi avec tous les clients le reste" if n_was == 1 and n_same == 1 else
            f"les {n_was} écarts établis avec tous les clients le restent tous" if n_same == n_was else
            ("l'écart établi avec tous les clients ne le reste pas" if n_was == 1 else
             f"aucun des {n_was} écarts établis avec tous les clients ne le reste") if n_same == 0 else
            f"{n_same} des {n_was} écarts établis avec tous les clients " + ("le reste" if n_same == 1 else "le restent")))
        lost = [lab for lab, w, k in zip(labels, was, same) if w and not k]
        new = [lab for lab, w, n in zip(labels, was, now) if n and not w]
        if lost:
            text += f" ; {fmt.enumeration(lost)} {'ne le sont plus' if len(lost) > 1 else 'ne l’est plus'}"
        if new:
            text += f" ; {fmt.enumeration(new)} {'le deviennent' if len(new) > 1 else 'le devient'}"
        parts.append(text)
    if not parts:
        return ""
    return fmt.french("Le reste du tronc commun sans eux : " + " ; ".join(parts) + ".")
