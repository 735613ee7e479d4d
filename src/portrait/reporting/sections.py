"""Sections of the reviewers' synthesis that answer the study's own aims, in French, from the estimates.

Each function turns the tables of :mod:`portrait.study.aims` or of notebook 06 into sentences and
display tables; every figure comes with its confidence interval (at the level its table carries), shares exclude « Ne sait
pas », and counts go through :mod:`portrait.reporting.disclosure` before they are shown.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from . import comparison_text, disclosure, formatting as fmt
from ..study import compare, visitors
from ..study.aims import HAUTS_DE_FRANCE
from .synthesis import SUPPRESSED, verdict

IN_DEPARTMENT = {"Aisne": "dans l'Aisne", "Nord": "dans le Nord", "Oise": "dans l'Oise",
                 "Pas-de-Calais": "dans le Pas-de-Calais", "Somme": "dans la Somme"}


def respondents_by_department(m: pd.DataFrame) -> dict[str, str]:
    """Each department's respondents over the rows of a by-department table (``département``, ``n``): « 137 », or
    « 137 à 142 » from the fewest to the most, so a reader sees why some intervals are wide."""
    n = m.groupby("département", sort=False)["n"].agg(["min", "max"])
    return {d: fmt.number(lo) if lo == hi else f"{fmt.number(lo)} à {fmt.number(hi)}" for d, (lo, hi) in n.iterrows()}


#: How the mosaic's readings (:func:`portrait.study.aims.mosaic`, column ``lecture``) are written for readers:
#: « shared » there means across departments, never between residents and clients.
READINGS = {"partagé": "majoritaire dans chaque département, sans écart établi entre départements",
            "local": "variable selon le département"}


def pct(x: float, decimals: int = 0) -> str:
    """« 65 % », the share written by :func:`portrait.reporting.formatting.percent`."""
    return fmt.percent(x, decimals)


def pct_ci(r) -> str:
    """« 65 % (IC à 95 % : 62 à 67 %) » of a row with ``estimate``, ``ci_low``, ``ci_high`` and ``confidence_level``."""
    return fmt.french(f"{pct(r['estimate'])} ({fmt.ci_label(r['confidence_level'])} : {fmt.number(r['ci_low'] * 100, 0)} "
                      f"à {fmt.number(r['ci_high'] * 100, 0)} %)")


def _ci_cell(estimate: str, low: float, high: float, decimals: int, scale: float = 100.0) -> str:
    """« 65 % [62 ; 67] »: an estimate already written, and its interval's bounds, which a line never splits."""
    return fmt.french(f"{estimate} [{fmt.number(low * scale, decimals)} ;\u00a0{fmt.number(high * scale, decimals)}]")


def share_cells(t: pd.DataFrame, threshold: int, decimals: int = 0) -> tuple[pd.Series, np.ndarray]:
    """« 65 % [62 ; 67] » per row, or the suppression mark; counts protected along the table."""
    s = disclosure.suppression(t["n"].to_numpy(), threshold)
    return pd.Series([SUPPRESSED if hide else _ci_cell(pct(r.estimate, decimals), r.ci_low, r.ci_high, decimals)
                      for r, hide in zip(t.itertuples(), s)], index=t.index), s


# ------------------------------------------------------------------------------------------- clients from elsewhere


def local_clients_sentence(gaps: pd.DataFrame, diff: pd.DataFrame, short: Mapping[str, str]) -> str:
    """Whether the established agreement gaps hold with only the clients living outside the region
    (:func:`portrait.study.aims.gaps_without_local_clients`): the same ones in the same direction, or which
    are no longer established and which become so; and the gap that moves most."""
    main = comparison_text.agreement_rows(diff)
    main = main.loc[main["in_battery"]].set_index("item")
    alt = gaps.set_index("item").loc[main.index]
    was, now = main["p_adj"] < 0.05, alt["p_adj"] < 0.05
    kept = was & now & (np.sign(main["estimate"]) == np.sign(alt["estimate"]))

    def name(i: str) -> str:
        return f"« {short.get(i, i)} »"

    if kept.sum() == was.sum() == now.sum():
        verdict = (f"les mêmes {fmt.count(int(kept.sum()), 'écart', 'écarts')} d'accord sont établis, dans le même "
                   "sens" if kept.any() else "aucun écart d'accord n'est établi, comme avec tous les clients")
    else:
        parts = []
        lost = [i for i in main.index if was[i] and not now[i]]
        new = [i for i in main.index if now[i] and not was[i]]
        flipped = [i for i in main.index if was[i] and now[i] and not kept[i]]
        if lost:
            parts.append(fmt.enumeration([name(i) for i in lost]) + (" ne sont plus établis" if len(lost) > 1
                                                                       else " n'est plus établi"))
        if new:
            parts.append(fmt.enumeration([f"{name(i)} ({fmt.points(alt.loc[i, 'estimate'])})" for i in new])
                         + (" le deviennent" if len(new) > 1 else " le devient"))
        if flipped:
            parts.append(fmt.enumeration([f"{name(i)} ({fmt.points(alt.loc[i, 'estimate'])})" for i in flipped])
                         + (" changent de sens" if len(flipped) > 1 else " change de sens"))
        k, n = int(kept.sum()), int(was.sum())
        head = ("aucun écart d'accord n'était établi" if n == 0 else
                f"aucun des {n} écarts d'accord établis ne le reste" if k == 0 and n > 1 else
                "l'écart d'accord établi ne le reste pas" if k == 0 else
                "l'écart d'accord établi le reste" if n == 1 else
                f"{k} des {n} écarts d'accord établis le restent" if k > 1 else
                f"1 des {n} écarts d'accord établis le reste")
        verdict = head + " ; " + " ; ".join(parts)
    move = (alt["estimate"] - main["estimate"]).abs()
    i = move.idxmax()
    status = {(True, True): "et reste établi", (False, False): "sans être établi",
              (True, False): "et n'est plus établi", (False, True): "et devient établi"}[(bool(was[i]), bool(now[i]))]
    return fmt.french(
        "**Sans les clients qui habitent la région.** En ne comparant aux habitants que les clients qui habitent hors "
        f"des Hauts-de-France, {verdict} ; l'écart qui bouge le plus, {name(i)}, passe de "
        f"{fmt.points(main.loc[i, 'estimate'])} à {fmt.points(alt.loc[i, 'estimate'])}, {status}.")


# ------------------------------------------------------------------------------------------- clients coming back


ORIGIN_PHRASES = {"Hauts-de-France": "les Hauts-de-France", "autre région de France": "une autre région de France",
                  "étranger": "à l'étranger"}


def return_sentences(r: Mapping[str, pd.DataFrame], threshold: int) -> str:
    """What :func:`portrait.study.aims.return_intention` found, in French: the share of clients intending to come
    back with its CI, and whether it differs by origin and by purpose (adjusted Rao–Scott tests), naming the lowest and
    highest groups when it does — never a group with fewer than ``threshold`` respondents."""
    o = r["overall"].iloc[0]
    t = r["tests"].set_index("selon")

    def test(by: str, table: pd.DataFrame, what: str) -> str:
        x = t.loc[by]
        if x.p_adj >= 0.05:
            return f"pas d'écart établi selon {what} (p ajusté {fmt.pvalue_stated(x.p_adj)})"
        shown = table.loc[table["n"] >= threshold].sort_values("estimate")
        span = ""
        if len(shown) >= 2:
            lo, hi = shown.iloc[0], shown.iloc[-1]
            who = (lambda g: f"chez ceux qui habitent {ORIGIN_PHRASES.get(g, g)}") if by == "origine" else (
                lambda g: "chez ceux venus " + (g[0].lower() + g[1:] if g.startswith("Pour ") else "pour l'un et l'autre"))
            span = f" : {pct(lo.estimate)} {who(lo.domaine)} contre {pct(hi.estimate)} {who(hi.domaine)}"
        return f"cette part varie selon {what} (test de Rao–Scott, p ajusté {fmt.pvalue_stated(x.p_adj)}){span}"

    unknown = int(o.n - r["by_origin"]["n"].sum())       # no origin domain: in the whole and by purpose only
    elsewhere = ""
    if unknown > 0:
        phrase = ("1 client qui n'a pas précisé son pays ou, en France, sa région ne compte" if unknown == 1 else
                  f"{fmt.number(unknown)} clients qui n'ont pas précisé leur pays ou, en France, leur région ne comptent")
        elsewhere = f" {phrase} que dans l'ensemble et selon le motif."
    return fmt.french(
        f"**Refaire un séjour.** {pct_ci(o)} des clients du territoire (seuls interrogés sur ce "
        "point) ont l'intention de refaire un séjour dans les Hauts-de-France (« plutôt » ou « tout à fait » d'accord ; « Ne sait "
        "pas » exclus) ; "
        f"{test('origine', r['by_origin'], 'le lieu où ils habitent')} ; "
        f"{test('motif', r['by_motif'], 'le motif de leur dernier séjour')}.{elsewhere}")


def return_table(r: Mapping[str, pd.DataFrame], threshold: int) -> pd.DataFrame:
    """Clients intending to come back by origin and by purpose: shares with CIs, counts protected per line."""
    rows = []
    for label, key in (("Lieu de résidence", "by_origin"), ("Motif du dernier séjour", "by_motif")):
        part = r[key].reset_index(drop=True)
        cells, hide = share_cells(part, threshold)
        rows.append(pd.DataFrame({"critère": label, "profil": part["domaine"].astype(str).map(fmt.capitalised),
                                  "ont l'intention de refaire un séjour": cells,
                                  "répondants": [SUPPRESSED if h else fmt.number(n) for n, h in zip(part["n"], hide)]}))
    return pd.concat(rows, ignore_index=True)


# ------------------------------------------------------------------------------------------- pride


def pride_sentences(p: Mapping[str, pd.DataFrame]) -> str:
    o = p["overall"].set_index("variable")
    t = p["tests"].set_index(["variable", "selon"])
    att = p["attachment"].iloc[0]
    hdf = p["attachment"].loc[p["attachment"]["variable"] == f"attachement__{HAUTS_DE_FRANCE}"].iloc[0]

    def test(var: str, by: str) -> str:
        r = t.loc[(var, by)]
        what = {"département": "départements", "âge": "classes d'âge"}.get(by, "anciennes régions")
        if r.p_adj < 0.05:
            return f"les écarts entre {what} sont établis (test de Rao–Scott, p ajusté {fmt.pvalue_stated(r.p_adj)})"
        if r.p < 0.05:
            return (f"pas d'écart établi entre {what} : le test est significatif avant correction pour le nombre "
                    f"de tests (p {fmt.pvalue_stated(r.p)}), mais ne l'est plus après (p ajusté {fmt.pvalue_stated(r.p_adj)}) ; les "
                    "intervalles du tableau, non corrigés, peuvent donc ne pas se chevaucher : écart à confirmer")
        return f"pas d'écart établi entre {what} (p ajusté {fmt.pvalue_stated(r.p_adj)})"

    f, a = o.loc["fierte__oui"], o.loc["ambassadeur__oui"]
    return fmt.french("\n\n".join([
        f"**Fierté.** {pct_ci(f)} des habitants se disent fiers d'appartenir aux "
        f"Hauts-de-France (« plutôt » ou « tout à fait » d'accord) ; {test('fierte__oui', 'département')}, "
        f"{test('fierte__oui', 'âge')}.",
        f"**Ambassadeurs.** {pct_ci(a)} seraient prêts à devenir ambassadeurs de la "
        f"région (« Oui, probablement » ou « Oui, certainement ») ; {test('ambassadeur__oui', 'département')}, "
        f"{test('ambassadeur__oui', 'âge')}.",
        f"**Attachement.** Le territoire dont les habitants se sentent le plus proches est « {att.domaine} » : "
        f"{pct_ci(att)} ; les Hauts-de-France sont cités par "
        f"{pct_ci(hdf)} des habitants{_by_former_region(p)}{test(f'attachement__{HAUTS_DE_FRANCE}', 'ancienne région')}.",
    ]))


def _by_former_region(p: Mapping[str, pd.DataFrame]) -> str:
    """« : 9 % (IC …) de ceux du Nord-Pas de Calais et 5 % (IC …) de ceux de Picardie ; », after the whole's share."""
    r = p["attachment_by_region"].set_index("domaine")
    return (f" : {pct_ci(r.loc['Nord-Pas de Calais'])} de ceux du Nord-Pas de Calais et "
            f"{pct_ci(r.loc['Picardie'])} de ceux de Picardie ; ")


def pride_table(p: Mapping[str, pd.DataFrame], threshold: int) -> pd.DataFrame:
    """Pride and ambassadors by department and by age: shares with CIs, counts protected per line."""
    rows = []
    for label, key in (("département", "by_department"), ("âge", "by_age")):
        t = p[key]
        cells = {}
        for var in ("fierte__oui", "ambassadeur__oui"):
            part = t.loc[t["variable"] == var].reset_index(drop=True)
            cells[var], hide = share_cells(part, threshold)
            cells[var + "_n"] = [SUPPRESSED if h else fmt.number(n) for n, h in zip(part["n"], hide)]
            dom = part["domaine"]
        rows.append(pd.DataFrame({"critère": label, "profil": dom, "fiers d'appartenir": cells["fierte__oui"],
                                  "répondants (fierté)": cells["fierte__oui_n"],
                                  "prêts à être ambassadeurs": cells["ambassadeur__oui"],
                                  "répondants (ambassadeurs)": cells["ambassadeur__oui_n"]}))
    return pd.concat(rows, ignore_index=True)


def attachment_table(p: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    a = p["attachment"]
    return pd.DataFrame({"territoire le plus proche": a["domaine"],
                         "part des habitants": [_ci_cell(pct(r.estimate), r.ci_low, r.ci_high, 0) for r in a.itertuples()]})


# ------------------------------------------------------------------------------------------- mosaic


def mosaic_table(m: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Attributes × departments: share agreeing with CI (suppressed below the threshold), the
    homogeneity test's adjusted p-value and the reading (:data:`READINGS`); a last row gives each department's
    respondents, from the fewest to the most over the attributes, so a reader sees why some intervals are wide."""
    m = m.copy()
    m["cell"] = [SUPPRESSED if n < threshold else _ci_cell(pct(e), lo, hi, 0)
                 for e, lo, hi, n in zip(m["estimate"], m["ci_low"], m["ci_high"], m["n"])]
    wide = m.pivot_table(index="attribut", columns="département", values="cell", aggfunc="first", sort=False)
    tests = m.drop_duplicates("attribut").set_index("attribut")
    wide["p ajusté (homogénéité)"] = tests["p_adj"].map(fmt.pvalue)
    wide["lecture"] = tests["lecture"].map(lambda r: READINGS.get(r, r))
    last = pd.DataFrame([{"attribut": "répondants (selon l'attribut)", **respondents_by_department(m),
                          "p ajusté (homogénéité)": "", "lecture": ""}])
    return pd.concat([wide.reset_index(), last], ignore_index=True)


def _where(g: pd.DataFrame, shown: str) -> str:
    """The departments of ``g`` whose share reads ``shown`` (« dans l'Aisne et dans la Somme »: a tie at the printed
    precision names every department in it, in alphabetical order, not the first one sorted by the estimate)."""
    tied = sorted(d for d, e in zip(g["département"], g["estimate"]) if pct(e) == shown)
    return fmt.enumeration([IN_DEPARTMENT.get(d, d) for d in tied])


def to_confirm(r) -> str:
    """« (écart entre départements à confirmer : p = 0,014 avant correction, 0,057 après) » for a mosaic row whose
    test is significant before the correction for multiple tests but not after; empty otherwise."""
    if r.p_adj < 0.05 or not r.p < 0.05:
        return ""
    return fmt.french(f" (écart entre départements à confirmer : p {fmt.pvalue_stated(r.p)} avant correction, "
                      f"{fmt.pvalue(r.p_adj)} après)")


def mosaic_sentences(m: pd.DataFrame, threshold: int = 0) -> str:
    """What the mosaic of departments shows, in French: the attributes shared everywhere, and for each one that
    varies, its lowest and highest department (cells of fewer than ``threshold`` respondents, masked in
    :func:`mosaic_table`, are not quoted)."""
    t = m.drop_duplicates("item")
    shared = [f"« {r.attribut} »{to_confirm(r)}" for r in t.loc[t["lecture"] == "partagé"].itertuples()]
    local = t.loc[t["lecture"] == "local"]
    parts = []
    if shared:
        parts.append("**Majoritaires dans chaque département, sans écart établi entre eux.** Dans chacun des cinq "
                     "départements, une majorité des habitants reconnaissent à la région ces attributs : "
                     + ", ".join(shared) + " (la borne basse de l'intervalle de confiance atteint 50 %, la règle des atouts). Le test ne "
                     "montre pas d'écart entre départements, ce qui ne prouve pas qu'il n'y en ait aucun : dans les "
                     "départements les moins représentés, les intervalles sont larges.")
    for r in local.itertuples():
        g = m.loc[(m["item"] == r.item) & (m["n"] >= threshold)].sort_values("estimate")
        if g.empty:
            continue
        low, high = pct(g["estimate"].iloc[0]), pct(g["estimate"].iloc[-1])
        parts.append(f"**Variable selon le département : « {r.attribut} ».** De {low} d'accord {_where(g, low)} à "
                     f"{high} {_where(g, high)} (écarts établis entre départements, p ajusté {fmt.pvalue_stated(r.p_adj)}).")
    if not len(local):
        parts.append("Aucun attribut ne distingue nettement un département des autres.")
    neither = []
    for r in t.loc[~t["lecture"].isin(["partagé", "local"])].itertuples():
        g = m.loc[(m["item"] == r.item) & (m["n"] >= threshold), "estimate"]
        span = f" (de {pct(g.min())} à {pct(g.max())})" if len(g) >= 2 and pct(g.min()) != pct(g.max()) else ""
        neither.append(f"« {r.attribut} »{span}{to_confirm(r)}")
    if neither:
        parts.append("**Ni l'un ni l'autre.** Sans écart établi entre départements, mais sans majorité établie dans "
                     "chacun (dans au moins un département, la borne basse de l'intervalle de confiance est sous 50 %) : "
                     + ", ".join(neither) + ".")
    fewest = m.groupby("département")["n"].max().nsmallest(2).index
    masked = int((m["n"] < threshold).sum()) if threshold else 0
    parts.append("C'est " + fmt.enumeration([IN_DEPARTMENT.get(d, d) for d in sorted(fewest)])
                 + " que les parts par département reposent sur le moins de répondants (dernière ligne du tableau) : "
                 "les intervalles de confiance y sont en général les plus larges"
                 + (f" ; {fmt.count(masked, 'case calculée', 'cases calculées')} sur moins de {threshold} répondants "
                    + ("est masquée" if masked == 1 else "sont masquées") if masked else "") + ".")
    return fmt.french("\n\n".join(parts))


# ------------------------------------------------------------------------------------------- regions


QUESTION_LABELS = {"image_globale": "image globale (0 à 10)", "recommandation": "recommandation (0 à 10)"}


def regions_table(f: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """One row per group and zone, the mean of each question with its CI and respondents side by side."""
    out = f.copy()
    hide = out["n"] < threshold
    out["moyenne"] = [SUPPRESSED if h else _ci_cell(fmt.number(e, 2), lo, hi, 2, scale=1.0)
                      for e, lo, hi, h in zip(out["estimate"], out["ci_low"], out["ci_high"], hide)]
    out["répondants"] = [SUPPRESSED if h else fmt.number(n) for n, h in zip(out["n"], hide)]
    keys = out[["groupe", "domaine"]].drop_duplicates()
    order = {z: k for k, z in enumerate(visitors.ZONE_LABELS.values())}   # the two regions first, then both
    keys = keys.assign(_g=pd.factorize(keys["groupe"])[0], _z=keys["domaine"].map(order).fillna(len(order)))
    keys = keys.sort_values(["_g", "_z"], kind="stable").drop(columns=["_g", "_z"])
    for q in out["question"].drop_duplicates():
        label = QUESTION_LABELS[q]
        part = out.loc[out["question"] == q, ["groupe", "domaine", "moyenne", "répondants"]].rename(
            columns={"moyenne": label, "répondants": f"répondants ({label.split(' (')[0]})"})
        keys = keys.merge(part, on=["groupe", "domaine"], how="left")
    return keys.fillna("—").rename(columns={"domaine": "zone"})


def regions_sentences(f: pd.DataFrame) -> str:
    out = []
    for (group, q), g in f.groupby(["groupe", "question"], sort=False):
        r = g.iloc[0]
        who = "les habitants du Nord-Pas de Calais et ceux de Picardie" if group == "Habitants" else \
            "les clients venus dans le Nord-Pas de Calais et ceux venus en Picardie"
        gap = (f"écart Nord-Pas de Calais − Picardie {fmt.signed(r['écart NPdC − Picardie'], 2)} point "
               f"({fmt.ci_label(r['confidence_level'])} : {fmt.bound(r['écart bas'], 2, sign=True)} à "
               f"{fmt.bound(r['écart haut'], 2, sign=True)}, p ajusté {fmt.pvalue_stated(r['p_adj'])})")
        out.append(f"- {QUESTION_LABELS[q].capitalize()}, {who} : {verdict(r['p_adj'], r['écart bas'], r['écart haut'])} ; "
                   f"{gap}.")
    return fmt.french("\n".join(out))


# ------------------------------------------------------------------------------------------- words


def words_table(est: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The most cited words in each group, share of respondents with CI."""
    w = est.loc[(est["item"] == "mots") & (est["statistic"] == "share")]
    parts = []
    for group, label in (("residents", "habitants"), ("visitors", "clients")):
        g = w.loc[w["group"] == group].sort_values(["estimate", "level"], ascending=[False, True]).head(top)
        parts.append(pd.DataFrame({"rang": range(1, len(g) + 1), f"mot ({label})": g["level"].to_numpy(),
                                   f"part des {label}": [_ci_cell(pct(r.estimate, 1), r.ci_low, r.ci_high, 1)
                                                         for r in g.itertuples()]}))
    return parts[0].merge(parts[1], on="rang")


def words_sentence(words: pd.DataFrame, coverage: Mapping[str, tuple[int, int]] | None = None,
                   simulated: bool = False) -> str:
    """The words one group cites more than the other, and what is counted; ``coverage`` (survey → words given,
    words recognised: :func:`portrait.study.items.word_coverage`) says how much of what was written that is, and
    ``simulated`` that the simulator writes only words of the list (a full coverage is then no test of the list)."""
    sig = words.loc[words["p_adj_words"] < 0.05].copy()
    parts = [f"{pct(matched / given, 1)} des {fmt.number(given)} mots donnés par les {who}"
             for g, who in (("residents", "habitants"), ("visitors", "clients"))
             for given, matched in [(coverage or {}).get(g, (0, 0))] if given]
    counted = (" Ici, " + fmt.enumeration(parts) + " se rattachent à un mot de la liste"
               + (" (le simulateur n'écrit que des mots de la liste : ce taux ne dit rien de la liste elle-même)."
                  if simulated else ".")) if parts else ""
    if not len(sig):
        return fmt.french("Aucun mot n'est cité nettement plus souvent par un groupe que par l'autre." + counted)
    out = []
    for who, label in (("residents", "les habitants"), ("visitors", "les clients")):
        s = sig.loc[sig["specific_to"] == who].sort_values("points", key=abs, ascending=False)
        if len(s):
            out.append(f"Mots plus souvent cités par {label} : " + ", ".join(
                f"« {r.level} » ({pct(r.estimate_residents, 1)} des habitants, {pct(r.estimate_visitors, 1)} des clients)"
                for r in s.itertuples()) + ".")
    return fmt.french(" ".join(out) + (" Seuls les mots de la liste du dictionnaire des variables sont comptés, "
                                       "chacun avec les réponses qui s'y rattachent (pluriel, orthographe, mot de "
                                       "même famille ou de même sens), sans tenir compte des majuscules ni des "
                                       "accents ; un autre mot n'est pas compté." + counted))


# ------------------------------------------------------------------------------------------- takeaways


def both_lists(strong: list[str], gaps: list[str], short: Mapping[str, str]) -> str:
    """The sentence reconciling the attributes that are both shared strengths and gaps to close (« » if none): the
    rules differ (a majority in both groups; a difference established between them), and both can hold."""
    both = [i for i in gaps if i in set(strong)]
    if not both:
        return ""
    names = fmt.enumeration([f"« {short[i]} »" for i in both])
    return fmt.french(f" {names} {'figurent' if len(both) > 1 else 'figure'} dans les deux listes : une majorité de "
                      "clients est d'accord, mais moins que les habitants (écart établi).")


def takeaways(est: pd.DataFrame, diff: pd.DataFrame, mosaic: pd.DataFrame, pride: Mapping[str, pd.DataFrame],
              short: Mapping[str, str], flags: Mapping[tuple[str, str, str], str] | None = None) -> list[str]:
    """What to retain for a regional brand, by rules stated in the text:

    - strengths to build on: attributes that at least half of both groups agree with (the lower
      bound of both CIs at 50 % or more);
    - gaps to close: attributes on which visitors agree significantly less than residents
      (difference established after the multiple-testing adjustment);
    - weak points: attributes that fewer than half of both groups agree with (upper bounds below
      50 %), and the most cited weaknesses;
    - the recommendation score (NPS) of each group, and pride.

    ``flags``: a note beside an established gap (:func:`~portrait.reporting.comparison_text.choice_gaps`).
    """
    flags = flags or {}
    acc = est.loc[(est["statistic"] == "accord") & (est["level"].astype(str) == "top2")]
    wide = acc.pivot_table(index="item", columns="group", values=["ci_low", "ci_high", "estimate"], aggfunc="first")
    strong = [i for i in wide.index if wide.loc[i, ("ci_low", "residents")] >= 0.5
              and wide.loc[i, ("ci_low", "visitors")] >= 0.5]
    weak = [i for i in wide.index if wide.loc[i, ("ci_high", "residents")] < 0.5
            and wide.loc[i, ("ci_high", "visitors")] < 0.5]
    d = comparison_text.agreement_rows(diff)
    d = d.loc[d["in_battery"]]
    gaps = d.loc[(d["p_adj"] < 0.05) & (d["estimate"] < 0)].sort_values("estimate")
    established = d.loc[d["p_adj"] < 0.05].set_index("item")["estimate"]
    readings = mosaic.drop_duplicates("item").set_index("item")["lecture"]

    def strength(i: str) -> str:
        # what the other sections say of it: an established gap between the groups, a difference between departments
        notes = []
        if i in established.index:
            notes.append(f"écart établi de {fmt.points(established[i])}{comparison_text.flag(flags, i, 'accord', 'top2')}")
        if readings.get(i) == "local":
            notes.append("part d'accord des habitants " + READINGS["local"])
        return f"« {short[i]} »" + (f" ({', '.join(notes)})" if notes else "")

    out = []
    if strong:
        out.append("**Des atouts reconnus par les habitants comme par les clients, sur lesquels bâtir la marque** "
                   "(du plus au moins approuvé par les clients, ordre non testé ; parts dans « Identité ressentie et image perçue » ; "
                   "l'écart clients − habitants est indiqué quand il est établi) : "
                   + ", ".join(strength(i) for i in sorted(strong, key=lambda i: -wide.loc[i, ("estimate", "visitors")]))
                   + ".")
    if len(gaps):
        out.append("**Des écarts à combler** (les clients sont moins d'accord que les habitants, écart établi) : " + ", ".join(
            f"« {short[r.item]} » ({fmt.points(r.estimate)}{comparison_text.flag(flags, r.item, 'accord', 'top2')})" for r in gaps.itertuples())
            + "." + both_lists(strong, list(gaps["item"]), short))
    def weakness(i: str) -> str:
        # an established gap on a weak point: one group agrees more, yet fewer than half of either do
        if i not in established.index:
            return f"« {short[i]} »"
        more = "les clients" if established[i] > 0 else "les habitants"
        return (f"« {short[i]} » (écart établi de {fmt.points(established[i])}{comparison_text.flag(flags, i, 'accord', 'top2')} : "
                f"{more} l'approuvent davantage, "
                "mais moins de la moitié dans chaque groupe)")

    if weak:
        out.append("**Des points faibles pour tous** : " + ", ".join(weakness(i) for i in weak) + ".")
    fw = est.loc[(est["item"] == "faiblesses") & (est["statistic"] == "share")]
    tops = []
    for group, label in (("residents", "habitants"), ("visitors", "clients")):
        top = fw.loc[fw["group"] == group].sort_values("estimate", ascending=False).head(3)
        tops.append(f"chez les {label}, " + ", ".join(f"« {r.label} » ({pct(r.estimate)})" for r in top.itertuples()))
    out.append("Faiblesses les plus citées (ordre non testé) : " + " ; ".join(tops) + ".")
    out += comparison_text.choice_gaps(diff, flags)
    out.append(recommendation_sentence(est, diff))
    f = pride["overall"].set_index("variable").loc["fierte__oui"]
    a = pride["overall"].set_index("variable").loc["ambassadeur__oui"]
    out.append(f"**Les habitants, premiers relais.** {pct(f.estimate)} se disent fiers d'appartenir à la région et "
               f"{pct(a.estimate)} seraient prêts à en être ambassadeurs : une base pour associer les habitants à la "
               "stratégie d'attractivité." + closest_territory(pride["attachment"]))
    shared = [f"« {r.attribut} »{to_confirm(r)}"
              for r in mosaic.drop_duplicates("item").query("lecture == 'partagé'").itertuples()]
    if shared:
        out.append("**Majoritaires dans tous les départements, sans écart établi entre eux** (chez les habitants : la "
                   "borne basse de l'intervalle de confiance atteint 50 % dans chacun, la règle des atouts ; « La mosaïque "
                   "des départements ») : " + ", ".join(shared) + ".")
    return [fmt.french(s) for s in out]


def closest_territory(attachment: pd.DataFrame) -> str:
    """The limit of the residents' pride, when the region is not the territory they feel closest to: the first
    territory of ``attachment`` (:func:`portrait.study.aims.pride`'s, sorted by share) and the region's share and
    rank; empty when the region comes first or is absent."""
    att = attachment.reset_index(drop=True)
    at = att.index[att["variable"] == f"attachement__{HAUTS_DE_FRANCE}"]
    if not len(at) or at[0] == 0:
        return ""
    return (f" Mais ils se sentent d'abord proches de « {att.loc[0, 'domaine']} » ({pct(att.loc[0, 'estimate'])}) ; les "
            f"Hauts-de-France ne recueillent que {pct(att.loc[at[0], 'estimate'])} (" + (
                "la plus petite part" if at[0] == len(att) - 1 else f"{fmt.ordinal(at[0] + 1, feminine=True)} part sur {len(att)}")
            + ", classement non testé) : l'appartenance à la nouvelle région reste à construire.")


def recommendation_sentence(est: pd.DataFrame, diff: pd.DataFrame) -> str:
    """Each group's net promoter score with its interval, and their gap (visitors − residents) with its interval,
    to one decimal as in the tables (trial E: « −6 » here and « −5,5 » in 06 looked like an error); one group is
    said to be « plus encore » negative only when the gap is established (``p_adj`` < 0.05)."""
    nps = est.loc[est["statistic"] == "nps_score"].set_index("group")
    parts = []
    for group, label in (("residents", "habitants"), ("visitors", "clients")):
        r = nps.loc[group]
        parts.append(f"{fmt.signed(r.estimate * 100, 1)} chez les {label} ({fmt.ci_label(r.confidence_level)} : "
                     f"{fmt.bound(r.ci_low * 100, 1, sign=True)} "
                     f"à {fmt.bound(r.ci_high * 100, 1, sign=True)})")
    text = ("**Recommandation.** Score net de recommandation (part de promoteurs moins part de détracteurs, en "
            "points) : " + " ; ".join(parts))
    rows = diff.loc[(diff["item"] == "recommandation") & (diff["statistic"] == "nps_score")]
    gap = rows.iloc[0] if len(rows) else None
    established = gap is not None and gap["p_adj"] < 0.05
    said = "" if gap is None else (
        f"écart clients − habitants de {fmt.points(gap['estimate'], 1)}, {fmt.ci_label(gap['confidence_level'])} : "
        f"{fmt.bound(gap['ci_low'] * 100, 1, sign=True)} à {fmt.bound(gap['ci_high'] * 100, 1, sign=True)}"
        + ("" if established else ", pas d'écart établi"))
    if all(nps.loc[g, "ci_high"] < 0 for g in ("residents", "visitors")):
        worse = "habitants" if nps.loc["residents", "estimate"] < nps.loc["visitors", "estimate"] else "clients"
        other = "clients" if worse == "habitants" else "habitants"
        text += ". Les deux sont négatifs : il y a plus de détracteurs que de promoteurs"
        if established:
            text += f", chez les {worse} plus encore que chez les {other}"
        text += f" ({said})." if said else "."
    else:
        text += f" ; {said}." if said else "."
    return text + (" La question (« pour y séjourner ou pour y vivre ») ne demande pas tout à fait la même chose aux "
                   "deux groupes : un habitant recommande sans doute d'y vivre, un client d'y séjourner ; l'écart peut "
                   "tenir en partie à cela.")


def scope_sentence(n: Mapping[str, int], living_here: pd.Series | None = None,
                   estimates: pd.DataFrame | None = None, dont_know_above: float = 0.10, simulated: bool = False) -> str:
    """Respondents per group, the base of percentages and the scope of each survey (``simulated``: the answers are
    the simulator's, said in the paragraph's title so that it cannot be quoted as real fieldwork).

    ``living_here``: the share of clients living in the region (:func:`portrait.study.aims.visitors_living_here`);
    ``estimates`` (``comparison_estimates.csv``): its « Ne sait pas » shares name the questions where more than
    ``dont_know_above`` of a group answered so, since their percentages leave those out.
    """
    local = ""
    if living_here is not None:
        local = (" D'après leurs réponses pondérées, " + pct_ci(living_here)
                 + " des clients du territoire qui ont dit où ils habitent vivent eux-mêmes dans les "
                 "Hauts-de-France : les fichiers des partenaires touchent aussi les habitants de la région qui y voyagent "
                 "ou y sortent, si bien que l'image « des clients » n'est pas entièrement un regard extérieur (les écarts sans eux : « Identité ressentie et image perçue »).")
    frequent = ""
    if estimates is not None:
        dk = estimates.loc[(estimates["statistic"] == "share_dk") & (estimates["estimate"] > dont_know_above)]
        parts = []
        for group, label in (("residents", "habitants"), ("visitors", "clients")):
            g = dk.loc[dk["group"] == group].sort_values("estimate", ascending=False)
            if len(g):
                parts.append(f"chez les {label}, " + fmt.enumeration(
                    [f"« {compare.short_label(r.item_label)} » ({fmt.percent(r.estimate, 0)})" for r in g.itertuples()]))
        if parts:
            frequent = (f" Les « Ne sait pas » dépassent {fmt.percent(dont_know_above, 0)} des réponses pour quelques "
                        "questions : "
                        + " ; ".join(parts) + ".")
    text = (f"**Qui a répondu{' (réponses simulées)' if simulated else ''}.** {fmt.number(n['residents'])} habitants et {fmt.number(n['visitors'])} clients du "
            f"territoire.{local} Les pourcentages portent sur les répondants qui ont donné un avis : les « Ne sait pas » et "
            f"les questions sans réponse sont exclus de la base.{frequent} En 2017, les « acteurs-habitants » étaient des "
            "habitants engagés dans la vie de la région ; ici la base de sondage couvre tous les habitants de 15 ans "
            "ou plus : les résultats portent sur l'ensemble des habitants. Les chiffres sont arrondis : une somme de "
            "pourcentages peut s'écarter un peu de 100, un écart (calculé sur les valeurs exactes) différer d'une "
            "unité du dernier chiffre.")
    return fmt.french(text)


# ------------------------------------------------------------------------------------------- figures


def strengths_finding(sw: pd.DataFrame) -> str:
    """What the strengths and weaknesses figure shows: the strength each group cites most."""
    best = {g: sw.loc[(sw["group"] == g) & (sw["item"] == "forces")].sort_values("estimate").iloc[-1]
            for g in ("residents", "visitors")}
    text = (f"force la plus citée par les habitants : « {best['residents']['label']} » "
            f"({fmt.percent(best['residents']['estimate'], 0)}), par les clients : « {best['visitors']['label']} » "
            f"({fmt.percent(best['visitors']['estimate'], 0)}).")
    return fmt.french(text)


def map_finding(rows: pd.DataFrame, cols: pd.DataFrame, inertia, table: pd.DataFrame | None = None) -> str:
    """A plain reading of the perceptual map: what the first dimension opposes, and where each group stands.

    With the analysed ``table`` (attributes × groups), each side of the dimension is named by the attribute that
    contributes most to it (row mass × squared coordinate; Greenacre 2007, ch. 11), not by the one furthest out, which
    may be rarely cited and weigh little (trial E). Without it, the extreme attributes; each is named once."""
    x = rows["dim1"]
    if table is not None:
        mass = table.sum(axis=1).reindex(rows.index) / table.to_numpy(dtype=float).sum()
        weight = mass * x ** 2
        lo, hi = weight.loc[x < 0].idxmax(), weight.loc[x > 0].idxmax()
        lead, why = "oppose surtout", " (les attributs qui y pèsent le plus, non les plus excentrés)"
    else:
        lo, hi = x.idxmin(), x.idxmax()
        lead, why = "oppose", ""
    side = {who: (lo if cols.loc[[g for g in cols.index if str(g).startswith(who)], "dim1"].mean() < 0 else hi)
            for who in ("Habitants", "Clients")}
    text = f"la première dimension ({fmt.percent(inertia[0], 0)} de l'inertie) {lead} « {lo} » à « {hi} »{why} ; "
    ends = ("du premier", "du second") if side["Habitants"] == lo else ("du second", "du premier")
    text += (f"les habitants se placent en moyenne du côté {ends[0]}, les clients du côté {ends[1]}."  # named once
             if side["Habitants"] != side["Clients"] else
             f"habitants et clients se placent en moyenne du même côté, celui de « {side['Habitants']} ».")
    return fmt.french(text)

