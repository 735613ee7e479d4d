"""What the figures of the fieldwork and weighting reports show, in French, from the numbers drawn.

Each function returns the finding a caption and an alt text state (« les poids vont de 12 à 3 400 »),
computed from the same tables the figure draws, so that it stays true on other data.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from . import formatting as fmt


def _weight_decimals(smallest: float) -> int:
    return 0 if smallest >= 10 else 2               # weights in the thousands need no decimals


def _diagnostic_decimals(name: str, smallest_weight: float) -> int:
    """The decimals a weight diagnostic deserves: counts and totals as integers, weights by their size
    (:func:`_weight_decimals`), Kish's deff and the CV to three, other ratios to two."""
    if name in ("n", "répondants pondérés", "somme des poids", "taille effective"):
        return 0
    if name in ("poids min", "poids max"):
        return _weight_decimals(smallest_weight)
    return 3 if name in ("deff de Kish", "CV des poids") else 2


def _spread(x: np.ndarray, d: int) -> str:
    return (f"de {fmt.number(x.min(), d)} à {fmt.number(x.max(), d)} "
            f"(rapport {fmt.number(x.max() / x.min(), 2)}, CV {fmt.number(x.std() / x.mean(), 3)})")


def steps_table(steps: pd.DataFrame) -> pd.DataFrame:
    """:func:`portrait.study.recipes.steps_table` for readers: counts and totals as integers, deff and CV to three
    decimals, the steps' smallest and largest weights as the figure's caption writes them (:func:`weights_finding`);
    « deff » spelled out, as the text says it."""
    out = steps.copy()
    # one precision per column; the weights' from the first and last steps, as in the caption
    smallest = min(steps["poids min"].iloc[0], steps["poids min"].iloc[-1])
    for c in steps.columns.drop("étape"):
        d = _diagnostic_decimals(c, smallest)
        out[c] = steps[c].map(lambda x, d=d: fmt.number(x, d))
    return out.rename(columns={"deff de Kish": "effet de plan de Kish"})


def merges_sentence(notes, min_respondents: int) -> str:
    """The calibration levels merged for want of respondents (the recipe's notes), and what it means; empty text
    when there is none."""
    if not notes:
        return ""
    return fmt.french(f"**Modalités regroupées faute de répondants** (moins de {min_respondents} dans la modalité) : "
                      + " ; ".join(notes) + ". Le calage ne distingue plus les modalités regroupées : leurs répondants "
                      "représentent aussi la population de celles qui en manquaient, dont la part n'est plus "
                      "reproduite à elle seule.")


def trimming_sentence(final, trimming=None, widened: int = 0, replicates: int = 0) -> str:
    """What the trimming step of a weighted design did (the recipe's ``trimming``, its bounds as multiples of
    the median calibrated weight), and in how many of its ``replicates`` the bounds had to be widened
    (``widened``); empty text without the step."""
    step = final.steps[-1] if final.steps else None
    if step is None or step.kind != "trimming":
        return ""
    n, cycles = int(step.info["trimmed"]), int(step.info["cycles"])
    rep = ("Les répliques refont l'écrêtage, chaque poids borné en proportion de son facteur de réplication"
           + (f" ; dans {fmt.number(widened)} des {fmt.number(replicates)} répliques, les bornes ont dû être élargies "
              "pour que l'écrêtage et les marges tiennent ensemble, et aucune réplique n'est exclue." if widened else "."))
    sides = [f"{name} {fmt.exact(x)} fois la médiane" for name, x in zip(("min.", "max."), trimming or ())
             if x is not None]
    bounds = f"Bornes : {' ; '.join(sides)}, médiane des poids calés. " if sides else ""
    one = len(sides) == 1
    if n == 0:
        return fmt.french(f"**Écrêtage et recalage.** {bounds}Aucun poids calé n'atteint "
                          f"{'la borne' if one else 'les bornes'} : les poids restent ceux du calage. " + rep)
    return fmt.french(f"**Écrêtage et recalage.** {bounds}{fmt.count(n, 'poids', 'poids')} "
                      f"{'ramené' if n < 2 else 'ramenés'} à {'la' if one else 'une'} borne ; les marges sont de nouveau "
                      f"tenues après {fmt.count(cycles, 'cycle')} d'écrêtage et de recalage. " + rep
                      + " Dans la suite du rapport, « après calage » désigne ces poids calés, écrêtés puis recalés.")


def out_of_scope_sentence(out: pd.DataFrame, frame_size: int) -> str:
    """How the clients' calibration targets leave out the frame's persons out of scope (``out``:
    :func:`portrait.study.recipes.out_of_scope_sample`); empty text when the sample found none."""
    if out.empty:
        return ""
    n, est = len(out), float(out["weight"].sum())
    return fmt.french(
        f"**Personnes hors champ.** La base compte {fmt.number(frame_size)} personnes, dont certaines n'ont pas "
        f"séjourné dans la région. Les {fmt.number(n)} personnes de l'échantillon trouvées hors champ représentent, "
        f"par leur poids de sondage, {fmt.number(est)} personnes de la base ({fmt.number(100 * est / frame_size, 1)} %). "
        "La cible de calage de chaque modalité est son total dans la base, moins les personnes hors champ qu'on y "
        "estime de la même façon. Les invités sans réponse, dont on ne sait pas s'ils sont dans le champ, sont "
        "supposés y appartenir : s'il s'en trouve hors champ, les cibles sont un peu trop grandes. L'aléa de cette estimation, "
        "négligeable ici, n'entre pas dans les erreurs types.")


def margins_for_readers(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`portrait.survey.margin_table` with its margins and levels starting with a capital, as the other
    tables' labels (« Pays de résidence », « Inconnu »), whatever the recipe's own level values."""
    out = table.copy()
    for c in ("marge", "modalité", "source", "hypothèse"):
        if c in out.columns:
            out[c] = out[c].astype(str).map(fmt.capitalised)
    return out


def weights_finding(stages: Mapping) -> str:
    """The spread of the respondents' weights at the first and last step."""
    names = list(stages)
    first, last = (np.asarray(stages[k].weights, dtype=float) for k in (names[0], names[-1]))
    first, last = first[first > 0], last[last > 0]
    d = _weight_decimals(min(first.min(), last.min()))
    return f"poids de sondage {_spread(first, d)} ; après calage, {_spread(last, d)}"


def g_finding(before, after) -> str:
    """The range and median of the calibration factors g = w_after / w_before of the respondents."""
    b, a = np.asarray(before.weights, dtype=float), np.asarray(after.weights, dtype=float)
    g = a[b > 0] / b[b > 0]
    outside = int(np.count_nonzero((g < 0.5) | (g > 2)))
    share = (f"{fmt.percent(outside / len(g))} des répondants ({fmt.number(outside)}) ont" if outside > 1 else
             "un seul répondant a" if outside == 1 else "aucun répondant n'a")
    return (f"g va de {fmt.number(g.min(), 2)} à {fmt.number(g.max(), 2)}, médiane {fmt.number(np.median(g), 2)} ; "
            f"{share} un g hors de [0,5 ; 2], seuil de lecture usuel d'un facteur de calage fort (distinct des "
            "bornes du calage)")


def standardised_difference_finding(std: pd.DataFrame) -> str:
    """The largest standardised difference to the population before calibration, and after."""
    before = std["diff. std. avant"].abs()
    worst = std.loc[before.idxmax()]
    after = fmt.number(std["diff. std. après"].abs().max(), 2)
    return (f"avant calage, l'écart le plus grand est de {fmt.number(before.max(), 2)} écart type "
            f"({worst['marge']} : {worst['modalité']}) ; après calage, "
            + ("il est nul à cette précision" if after == "0,00" else f"il est au plus de {after}"))


def rates_finding(rates: pd.DataFrame, by: str, groups: Mapping[str, str], name: str = "strate") -> str:
    """The lowest and highest response rate of each survey, with the category where each occurs (after ``name``)."""
    parts = []
    for survey, label in groups.items():
        r = rates.loc[(rates["survey"] == survey) & rates["rate"].notna()]
        if r.empty:
            continue
        lo, hi = r.loc[r["rate"].idxmin()], r.loc[r["rate"].idxmax()]
        pre = f"{name} " if name else ""
        parts.append(f"{label} : de {fmt.percent(lo['rate'])} ({pre}{lo[by]}) à {fmt.percent(hi['rate'])} "
                     f"({pre}{hi[by]})")
    return " ; ".join(parts)


def diagnostics_table(diag: pd.Series) -> pd.DataFrame:
    """The weight diagnostics as a French table, each row with the decimals its quantity deserves
    (counts and totals as integers, ratios to two or three decimals)."""
    return pd.DataFrame({"diagnostic": [_diagnostic_label(k) for k in diag.index],
                         "valeur": [fmt.number(v, _diagnostic_decimals(k, diag["poids min"])) for k, v in diag.items()]})


#: the quantiles of the g-ratio as readers name them
G_NAMES = {0: "minimum", 1: f"{fmt.ordinal(1)} centile", 10: f"{fmt.ordinal(1)} décile", 25: f"{fmt.ordinal(1)} quartile",
           50: "médiane", 75: f"{fmt.ordinal(3)} quartile", 90: f"{fmt.ordinal(9)} décile",
           99: f"{fmt.ordinal(99)} centile", 100: "maximum"}


def _diagnostic_label(name: str) -> str:
    """« g 50 % » → « rapport g (poids calé / poids avant calage) : médiane »; the engine's other labels kept,
    spelled out where they were abbreviations."""
    if name.startswith("g ") and name.endswith(" %"):
        q = int(name[2:-2])
        return f"rapport g (poids calé / poids avant calage) : {G_NAMES.get(q, f'quantile {q} %')}"
    return {"n": "répondants", "deff de Kish": "effet de plan de Kish",
            "CV des poids": "coefficient de variation des poids"}.get(name, name)


def nonresponse_groups_table(groups: pd.DataFrame) -> pd.DataFrame:
    """The non-response groups as a reader sees them: the weighted response rate in % (one decimal),
    the adjustment factor to three decimals, counts as they are; propensity classes numbered without
    the engine's zero padding (« classe 1 », whatever the number of classes)."""
    rate = "taux de réponse pondéré"
    out = groups.rename(columns={rate: f"{rate} (%)"})
    out["groupe"] = out["groupe"].astype(str).str.replace(r"^classe 0+(?=\d)", "classe ", regex=True)
    out[f"{rate} (%)"] = fmt.round(groups[rate] * 100, 1)
    out["facteur"] = fmt.round(groups["facteur"], 3)
    return out


def propensity_classes_sentence(groups: pd.DataFrame, requested: int, scores) -> str:
    """How the propensity classes are cut and the sizes they came out at, from the classes themselves.

    A review found « les classes ont des effectifs voisins » beside classes of 376 to 1,441 invited residents: the
    classes are cut at the quantiles of the estimated propensity, but units of equal score are never split
    (:func:`portrait.survey.nonresponse.adjust_nonresponse`), and a model on few categorical variables gives few
    distinct scores. ``groups``: the classes (``groups`` of :class:`~portrait.survey.nonresponse.NonresponseResult`,
    column ``échantillon``); ``requested``: the classes asked for; ``scores``: each invited unit's estimated
    propensity (:attr:`~portrait.survey.nonresponse.PropensityModel.scores`)."""
    sizes = groups["échantillon"].to_numpy()
    n, k = int(sizes.sum()), len(sizes)
    if requested == 1:
        return f"Une seule classe est demandée : elle réunit les {fmt.count(n, 'invité')}."
    distinct = len(np.unique(np.asarray(scores, dtype=float)))
    text = (f"Les classes sont coupées aux quantiles de cette probabilité parmi les invités (comptés sans leur "
            f"poids), ce qui ferait {fmt.count(requested, 'classe')} de même effectif si aucun invité n'avait la même "
            "probabilité qu'un autre ; mais deux invités de même probabilité sont toujours dans la même classe, et le "
            f"modèle donne {fmt.count(distinct, 'probabilité distincte', 'probabilités distinctes')} pour "
            f"{fmt.count(n, 'invité')}")
    if k < requested:
        text += (f" ; il reste {fmt.count(k, 'classe')} sur {fmt.number(requested)} (deux coupures tombées sur la "
                 "même probabilité, ou une classe de trop peu de répondants réunie à sa voisine)")
    if k == 1:
        return text + "."
    if sizes.min() == sizes.max():
        return text + f" : les classes comptent chacune {fmt.count(int(sizes.min()), 'invité')}."
    return (text + f" : les classes comptent de {fmt.number(int(sizes.min()))} à "
            f"{fmt.count(int(sizes.max()), 'invité')}.")


def nonresponse_finding(inr: pd.DataFrame, groups: Mapping[str, str]) -> str:
    """The question most often left blank in each survey, with its share."""
    parts = []
    for survey, label in groups.items():
        r = inr.loc[(inr["survey"] == survey) & inr["blank_rate"].notna()]
        if len(r):
            top = r.loc[r["blank_rate"].idxmax()]
            parts.append(f"{label} : {top['variable']} ({fmt.percent(top['blank_rate'])} sans réponse)")
    return "la question la plus souvent laissée sans réponse — " + " ; ".join(parts)


def profile_finding(profile: pd.DataFrame, groups: Mapping[str, str]) -> str:
    """The age group most under-represented among each survey's respondents, against the population: the lowest
    ratio of its share of respondents to its share of the population (as response rates rank groups; a gap in
    points would favour large groups: 29 % against 31 % is 0.94 of its share, 13.8 % against 15.6 % only 0.88).

    ``profile``: :func:`portrait.study.fieldwork.age_profile` (``survey, category, group, share``, group
    « Répondants » or « Population »).
    """
    parts = []
    for survey, label in groups.items():
        w = profile.loc[profile["survey"] == survey].pivot_table(index="category", columns="group", values="share",
                                                                 observed=True, sort=False)
        if w.empty or not {"Répondants", "Population"} <= set(w.columns):
            continue
        ratio = (w["Répondants"] / w["Population"].where(w["Population"] > 0)).dropna()
        if ratio.empty:
            continue
        c = ratio.idxmin()
        parts.append(f"{label} : les {c} sont {fmt.percent(w.loc[c, 'Répondants'], 0)} des répondants contre "
                     f"{fmt.percent(w.loc[c, 'Population'], 0)} de la population")
    return "groupe d'âge le plus sous-représenté — " + " ; ".join(parts) if parts else "pas de population de référence"


def _has_truth(est: pd.DataFrame) -> bool:
    return "truth" in est and bool(est["truth"].notna().all())


def _gap_reference(est: pd.DataFrame) -> str:
    """What the weighting-stage figure's gaps are measured from: the truth, on simulated data only."""
    return "à la valeur vraie (données simulées)" if _has_truth(est) else "à l'estimation après calage"


def stage_caption(est: pd.DataFrame) -> str:
    """Caption of the weighting-stage figure: what its gaps are measured from, then :func:`stage_finding`."""
    return (f"Estimations clés à chaque étape de la pondération, en écart {_gap_reference(est)}, mesuré en erreurs "
            f"types de l'estimation après calage ; {stage_finding(est)}.")


def stage_alt(est: pd.DataFrame) -> str:
    """Text alternative of the weighting-stage figure."""
    return (f"Points par question : écart de l'estimation {_gap_reference(est)}, en erreurs types de l'estimation "
            "après calage, sans pondération, avec les poids de sondage, après non-réponse et après calage.")


def stage_finding(est: pd.DataFrame) -> str:
    """How many key estimates calibration brings closer to the truth (simulated data) than no weighting does,
    and, with their standard errors (``se``), how many calibrated ones lie within two of them of the truth (one
    sample: the others are chance, not bias); without a truth, the estimate the weighting as a whole (design weights,
    non-response and calibration) moves most from no weighting, compared in standard errors of the final estimate
    (means on 0–10 and 1–5 and a score on −1…+1 are read on that one scale) and given in its own unit, and how many
    move by two standard errors or more (counted as rounded, as printed)."""
    wide = est.pivot_table(index="column", columns="stage", values="estimate", sort=False)
    if _has_truth(est):
        truth = est.groupby("column", sort=False)["truth"].first().reindex(wide.index)
        closer = int(((wide["calibrated"] - truth).abs() < (wide["unweighted"] - truth).abs()).sum())
        text = (f"après calage, {closer} des {len(wide)} estimations clés "
                + ("est plus proche" if closer < 2 else "sont plus proches") + " de la valeur vraie que sans pondération")
        if "se" in est:
            se = est.loc[est["stage"] == "calibrated"].set_index("column")["se"].reindex(wide.index)
            near = int(((wide["calibrated"] - truth).abs() <= 2 * se).sum())
            within = (f"les {len(wide)} sont" if near == len(wide) and near > 1
                      else f"{near} des {len(wide)} " + ("est" if near < 2 else "sont"))
            text += (f", et {within} à moins de deux erreurs types de la valeur vraie (on en attendrait environ "
                     "95 %). Sur un seul échantillon, un écart de moins de deux erreurs types peut s'expliquer par le "
                     "hasard du tirage, sans être le signe d'un biais")
        return text
    first = est.groupby("column", sort=False)[["question" if "question" in est else "column", "statistic"]].first()
    first = first.reindex(wide.index)
    names, nps = first.iloc[:, 0], first["statistic"].eq("nps_score")
    value = lambda c, stage: (fmt.number(wide.loc[c, stage] * 100, 1) if nps[c]  # noqa: E731
                              else fmt.number(wide.loc[c, stage], 2))
    se = (est.loc[est["stage"] == "calibrated"].set_index("column")["se"].reindex(wide.index) if "se" in est
          else pd.Series(np.nan, index=wide.index))
    moved = (wide["calibrated"] - wide["unweighted"]).abs() / se
    top = moved.idxmax() if moved.notna().any() else (wide["calibrated"] - wide["unweighted"]).abs().idxmax()
    text = (f"la pondération (poids de sondage, non-réponse et calage) déplace le plus « {names[top]} », de "
            f"{value(top, 'unweighted')} sans pondération à {value(top, 'calibrated')}" + (" points" if nps[top] else ""))
    if moved.isna().all():
        return text
    far = int((fmt.round(moved, 1) >= 2).sum())
    counted = {0: "aucune ne bouge", 1: "une seule bouge"}.get(far, f"{fmt.number(far)} bougent")
    return (text + f", soit {fmt.quantity(moved[top], 1, 'erreur type', 'erreurs types')} de l'estimation après calage ; "
            f"sur les {len(wide)} estimations clés, {counted} de deux erreurs types ou plus")


def first_stage_table(check: pd.DataFrame) -> pd.DataFrame:
    """:func:`portrait.study.first_stage.first_stage_check` for readers: one row per statistic (``question`` its
    label), both standard errors (the NPS score's in points) and the two-stage one's gap in percent of the chain's
    (the figures the sentence of :func:`first_stage_finding` quotes)."""
    nps = check["statistic"].eq("nps_score").to_numpy()
    scale = np.where(nps, 100.0, 1.0)
    return pd.DataFrame({
        "Statistique": check["question"].to_numpy(),
        "Erreur type retenue (communes « avec remise »)": check["se"].to_numpy() * scale,
        "Erreur type à deux degrés (communes sans remise)": check["se_two_stage"].to_numpy() * scale,
        "Écart (%)": (check["ratio"].to_numpy() - 1) * 100})


def first_stage_finding(check: pd.DataFrame, tolerance: float = 0.05) -> str:
    """What the two-stage estimator says of the with-replacement approximation, as counted: the range and median of
    the gaps, how many SEs the approximation makes larger and how many smaller, and whether every gap stays under
    ``tolerance`` (the intervals then hardly move). The statistics share one sample, so the count describes this
    sample and the sentence says so: it draws no conclusion on a tendency (report 08 measures that over
    replications)."""
    r = check["ratio"].to_numpy(float)
    n, larger = len(r), int((r < 1).sum())                      # ratio < 1: the chain's SE is the larger one
    low, high, med = (fmt.signed((x - 1) * 100, 1) + "\u00a0%" for x in (r.min(), r.max(), np.median(r)))
    text = (f"avec le calcul à deux degrés, les erreurs types des {n} estimations clés changent de {low} à {high} "
            f"(médiane {med}) par rapport à l'approximation retenue")
    if larger == n:
        text += " ; sur cet échantillon, celle-ci donne chaque erreur type un peu plus grande"
    elif larger == 0:
        text += " ; sur cet échantillon, celle-ci donne chaque erreur type un peu plus petite"
    else:
        plural = lambda k: "s" if k >= 2 else ""  # noqa: E731
        text += (f" ; sur cet échantillon, celle-ci donne {fmt.count(larger, 'erreur type', 'erreurs types')} sur {n} "
                 f"un peu plus grande{plural(larger)} et {fmt.number(n - larger)} un peu plus petite{plural(n - larger)}")
    text += (". Ces statistiques viennent toutes du même échantillon : ce décompte le décrit et ne montre pas de "
             "tendance ; l'étude de validation (rapport 08) compare les deux calculs sur de nombreux échantillons")
    far = int((np.abs(r - 1) >= tolerance).sum())
    return text + (f". Aucun écart n'atteint {fmt.percent(tolerance, None)} : les intervalles de confiance des "
                   "rapports 06 et 07 n'en seraient pas changés de façon notable" if far == 0 else
                   f". {fmt.count(far, 'écart atteint', 'écarts atteignent')} {fmt.percent(tolerance, None)}")
