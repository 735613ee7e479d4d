"""The study's own questions (``../shared/seed/``), each answered with design-based estimates and tests.

- **Pride, attachment, ambassadors** (residents): share proud to belong (agree 4–5), territory felt
  closest, share ready to be an ambassador (« oui, probablement » or « certainement »), by
  department and age.
- **The mosaic**: the image attributes in each department, a test of homogeneity across
  departments, and what is shared everywhere versus local.
- **Nord-Pas de Calais and Picardie**: residents by former region, visitors by zone visited.

Every share excludes « Ne sait pas » and non-response from its base, and its interval is the logit
interval of R ``svyciprop`` (within [0, 1] in the smallest domains). Whether a share is the same in every
domain is the Rao–Scott second-order test of the share × domain table (R ``svychisq``), as in report 06's
departments; a score's mean, the Wald F test of a survey-weighted regression on the domain factor (R
``regTermTest(svyglm(y ~ domain))``). p-values are adjusted by Benjamini–Hochberg within each
section (the attributes of the mosaic, the four pride tests, the four regional differences), so that
« établi » means what the synthesis says it means: significant after correction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd

from .. import survey
from ..pipeline.errors import ParameterError
from ..pipeline.sources import DEPARTMENTS
from ..survey import Design
from .codebook import Codebook
from .items import SHARE_INTERVAL
from .compare import (GROUP_LABELS, adjust_pvalues, adjustment_method, independent_difference, short_label,
                      with_items)
from .visitors import ZONE_LABELS

FORMER_REGIONS = {"59": "Nord-Pas de Calais", "62": "Nord-Pas de Calais",
                  "02": "Picardie", "60": "Picardie", "80": "Picardie"}
#: The code of « Les Hauts-de-France » in the residents' question on the territory they feel closest to (``attachement``).
HAUTS_DE_FRANCE = 4
AGREE = (4, 5)
AMBASSADOR_YES = (3, 4)
SHARED_MIN = 0.5            # « shared »: a majority established in every department (lower CI bound) …
COLUMNS = ["domaine", "valeur", "estimate", "se", "ci_low", "ci_high", "n"]


def _substantive(x: pd.Series, dk: int) -> np.ndarray:
    v = x.to_numpy(dtype=float, na_value=np.nan)
    return np.where(v == dk, np.nan, v)


def indicators(design: Design, cb: Codebook) -> Design:
    """The design with the indicators the aims use (NaN outside each one's base)."""
    dk = cb.dont_know_code
    data = design.data
    new: dict[str, np.ndarray] = {}
    for v in cb.image_battery():
        if v.name in data:
            x = _substantive(data[v.name], dk)
            new[f"{v.name}__accord"] = np.where(np.isnan(x), np.nan, np.isin(x, AGREE).astype(float))
    for name, codes in (("fierte", AGREE), ("ambassadeur", AMBASSADOR_YES)):
        if name in data:
            x = _substantive(data[name], dk)
            new[f"{name}__oui"] = np.where(np.isnan(x), np.nan, np.isin(x, codes).astype(float))
    if "attachement" in data:
        x = _substantive(data["attachement"], dk)
        for code in cb.variable("attachement").code_values:
            new[f"attachement__{code}"] = np.where(np.isnan(x), np.nan, (x == code).astype(float))
    for name in ("image_globale", "recommandation"):
        if name in data:
            new[f"{name}__score"] = _substantive(data[name], dk)
    extra = pd.DataFrame(new, index=data.index)
    if "departement" in data:
        extra["ancienne_region"] = data["departement"].astype(str).map(FORMER_REGIONS)
    return replace(design, data=pd.concat([data, extra], axis=1))


def by_domain(design: Design, columns: list[str], by: str | None, labels: Mapping[str, str] | None = None,
              level: float = 0.95, interval: str = "wald") -> pd.DataFrame:
    """Each of ``columns`` estimated in every level of ``by`` (the whole sample when None), as a domain of ``design``:
    ``variable``, ``domaine`` (the level, or its label from ``labels``; « ensemble » without ``by``), ``estimate``,
    ``se``, ``ci_low``, ``ci_high`` (``interval`` at ``level``), ``confidence_level`` and ``n``."""
    e = survey.mean(design, columns, by=by, level=level, interval=interval)
    dom = e["domain"].str.split("=", n=1).str[1] if by else pd.Series("ensemble", index=e.index)
    return pd.DataFrame({"variable": e["variable"], "domaine": dom.map(labels) if labels else dom,
                         "estimate": e["estimate"], "se": e["se"], "ci_low": e["ci_low"],
                         "ci_high": e["ci_high"], "confidence_level": level, "n": e["n"]})


def mean_homogeneity(design: Design, y: str, by: str) -> tuple[float, int, int, float]:
    """Wald F test that the mean of the score ``y`` is the same in every level of ``by`` (F, ndf, ddf, p): R
    ``regTermTest(svyglm(y ~ by), ~by)``."""
    d = replace(design, data=design.data.assign(_dom=pd.Categorical(design.data[by].astype("string"))))
    return survey.svyglm(d, y, ["_dom"]).wald("_dom")


def share_homogeneity(design: Design, y: str, by: str) -> tuple[float, float, float, float]:
    """Rao–Scott test that the share ``y`` (1 or 0, missing outside its base) is the same in every level of ``by``
    (F, ndf, ddf, p): the second-order F of the ``y`` × ``by`` table, R ``svychisq(~y + by)``.

    Its variance is taken under the hypothesis of equal shares, so a level whose share rests on a dozen residents
    does not make it reject too easily, as the Wald F of ``svyglm(y ~ by)`` did (trial O); for a share, R users
    and Lumley (2010, ch. 6) take this test.
    """
    x = design.data[y].to_numpy(dtype=float, na_value=np.nan)
    if not np.isin(x[~np.isnan(x)], (0.0, 1.0)).all():
        raise ParameterError(f"column {y!r} must hold 1, 0 or a missing value to be tested as a share")
    cited = pd.array(np.where(np.isnan(x), None, np.where(x == 1, "1", "0")), dtype="string")
    rs = survey.rao_scott(survey.update(design, _y=cited), "_y", by)
    return rs.F, rs.ndf, rs.ddf, rs.p_F


def pride(residents: Design, cb: Codebook, age_labels: Mapping[str, str],
          adjust: str = "fdr_bh", level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Pride, ambassadors and attachment of residents: overall, by department and by age, with tests; the share
    feeling closest to Hauts-de-France by former region (``attachment_by_region``: is the new region's belonging
    weaker on one side of the 2016 merger?), with its test; intervals at ``level`` (each table's
    ``confidence_level``); the section's tests adjusted together."""
    d = indicators(residents, cb)
    cols = ["fierte__oui", "ambassadeur__oui"]
    d = replace(d, data=d.data.assign(age_c=d.data["age"].astype("Int64").astype("string")))
    overall = by_domain(d, cols, None, level=level, interval=SHARE_INTERVAL)
    by_dep = by_domain(d, cols, "departement", dict(DEPARTMENTS), level, SHARE_INTERVAL)
    by_age = by_domain(d, cols, "age_c", dict(age_labels), level, SHARE_INTERVAL)
    hdf = f"attachement__{HAUTS_DE_FRANCE}"
    tests = pd.DataFrame([(c, b, *share_homogeneity(d, c, col)) for c in cols for b, col in
                          (("département", "departement"), ("âge", "age_c"))]
                         + [(hdf, "ancienne région", *share_homogeneity(d, hdf, "ancienne_region"))],
                         columns=["variable", "selon", "F", "ndf", "ddf", "p"])
    tests["p_adj"] = adjust_pvalues(tests["p"], adjust)  # across the section's tests
    codes = cb.variable("attachement").code_values
    labels = cb.labels("attachement", dont_know=False)
    att = by_domain(d, [f"attachement__{c}" for c in codes], None, level=level, interval=SHARE_INTERVAL).assign(
        domaine=[labels[c] for c in codes]).sort_values("estimate", ascending=False, kind="stable")
    return {"overall": overall, "by_department": by_dep, "by_age": by_age, "tests": tests, "attachment": att,
            "attachment_by_region": by_domain(d, [hdf], "ancienne_region", level=level, interval=SHARE_INTERVAL)}


def mosaic(residents: Design, cb: Codebook, min_respondents: int, adjust: str = "fdr_bh",
           level: float = 0.95) -> pd.DataFrame:
    """Each image attribute's share of agreement in each department, the homogeneity test across
    departments (adjusted over the attributes by ``adjust``) and the attribute's reading:

    « partagé » — no established difference between departments and a majority established in each (the
    lower bound of every department's interval at least :data:`SHARED_MIN`, the rule of the synthesis's
    « atouts »); « local » — an established difference (adjusted p < 0.05); « ni l'un ni l'autre » otherwise.
    Shares on fewer than ``min_respondents`` are flagged (``small``) for the caller to suppress; intervals at
    ``level`` (column ``confidence_level``).
    """
    d = indicators(residents, cb)
    attrs = [v for v in cb.image_battery() if f"{v.name}__accord" in d.data]
    rows = []
    for v in attrs:
        col = f"{v.name}__accord"
        e = by_domain(d, [col], "departement", level=level, interval=SHARE_INTERVAL)
        F, ndf, ddf, p = share_homogeneity(d, col, "departement")
        for r in e.itertuples():
            rows.append({"item": v.name, "attribut": short_label(v.label), "departement": r.domaine,
                         "département": DEPARTMENTS.get(r.domaine, r.domaine), "estimate": r.estimate,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "confidence_level": level, "cv": r.se / r.estimate if r.estimate else np.nan,
                         "n": int(r.n), "F": F, "p": p})
    out = pd.DataFrame(rows)
    tests = out.drop_duplicates("item")[["item", "p"]]
    out = out.merge(tests.assign(p_adj=adjust_pvalues(tests["p"], adjust))[["item", "p_adj"]], on="item")
    low = out.groupby("item")["ci_low"].transform("min")
    out["lecture"] = np.where(out["p_adj"] < 0.05, "local",
                              np.where(low >= SHARED_MIN, "partagé", "ni l'un ni l'autre"))
    out["small"] = out["n"] < min_respondents
    return out


def former_regions(designs: Mapping[str, Design], cb: Codebook, adjust: str = "fdr_bh",
                   level: float = 0.95) -> pd.DataFrame:
    """Overall image and recommendation: residents by former region, visitors by zone visited (Nord-Pas
    de Calais, Picardie, both), and the Nord-Pas de Calais − Picardie difference in each group; intervals at
    ``level`` (column ``confidence_level``)."""
    rows = []
    for group, by in (("residents", "ancienne_region"), ("visitors", "zone")):
        d = indicators(designs[group], cb)
        if group == "visitors":
            d = replace(d, data=d.data.assign(zone=d.data["zone"].map(ZONE_LABELS)))
        for y in ("image_globale__score", "recommandation__score"):
            e = by_domain(d, [y], by, level=level)
            diff = survey.mean_difference(d, y, by, "Nord-Pas de Calais", "Picardie", level=level)
            for r in e.itertuples():
                rows.append({"groupe": GROUP_LABELS[group], "question": y.split("__")[0], "domaine": r.domaine,
                             "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                             "confidence_level": level, "n": int(r.n),
                             "écart NPdC − Picardie": diff.difference, "écart bas": diff.ci_low,
                             "écart haut": diff.ci_high, "p": diff.p})
    out = pd.DataFrame(rows)
    tests = out.drop_duplicates(["groupe", "question"])[["groupe", "question", "p"]]
    tests["p_adj"] = adjust_pvalues(tests["p"], adjust)  # across the section's four differences
    return out.merge(tests[["groupe", "question", "p_adj"]], on=["groupe", "question"])



#: the code of Hauts-de-France in the visitors' question on their region of residence (INSEE region code)
HOME_REGION = 32


def visitors_living_here(visitors: Design, level: float = 0.95) -> pd.Series:
    """Share of the visitors (clients) who live in Hauts-de-France themselves, with its interval at ``level``.

    A client lives here if the answer to ``region_residence`` (asked of those living in France) is
    :data:`HOME_REGION`; one living abroad or in another region does not; one whose country, or French
    region, is unknown is left out (as a domain). Returns ``estimate``, ``ci_low``, ``ci_high``, ``confidence_level``,
    ``n``.
    """
    data = visitors.data
    pays = pd.to_numeric(data["pays"], errors="coerce").to_numpy(dtype=float)
    region = pd.to_numeric(data["region_residence"], errors="coerce").to_numpy(dtype=float)
    here = np.where(region == HOME_REGION, 1.0,
                    np.where((~np.isnan(pays) & (pays != 1)) | (~np.isnan(region)), 0.0, np.nan))
    e = survey.mean(replace(visitors, data=data.assign(_lives_here=here)), "_lives_here", level=level,
                    interval=SHARE_INTERVAL)
    return e.assign(confidence_level=level).iloc[0][["estimate", "ci_low", "ci_high", "confidence_level", "n"]]


ORIGINS = {"here": "Hauts-de-France", "france": "autre région de France", "abroad": "étranger"}


def origin(visitors: Design) -> np.ndarray:
    """Each client's origin (a key of :data:`ORIGINS`; ``None`` when unknown): living in Hauts-de-France, in
    another French region, or abroad, from ``pays`` and ``region_residence``."""
    pays = pd.to_numeric(visitors.data["pays"], errors="coerce").to_numpy(dtype=float)
    region = pd.to_numeric(visitors.data["region_residence"], errors="coerce").to_numpy(dtype=float)
    out = np.full(len(pays), None, dtype=object)
    out[(pays == 1) & (region == HOME_REGION)] = "here"
    out[(pays == 1) & ~np.isnan(region) & (region != HOME_REGION)] = "france"
    out[~np.isnan(pays) & (pays != 1)] = "abroad"
    return out


#: The battery's statistics :func:`gaps_without_local_clients` can re-estimate: the agreement shares, the 0–10 scores'
#: means and the shares of each strength and weakness cited.
OUTSIDE_KINDS = {"accord": lambda b: (b["statistic"] == "accord") & (b["level"].astype(str) == "top2"),
                 "score": lambda b: (b["statistic"] == "mean") & (b["type"] == "score_0_10"),
                 "choice": lambda b: (b["statistic"] == "share") & (b["type"] == "multi")}


def gaps_without_local_clients(visitors: Design, cb: Codebook, estimates: pd.DataFrame, diff: pd.DataFrame,
                               level: float = 0.95, kinds: tuple[str, ...] = ("accord",)) -> pd.DataFrame:
    """The gaps clients − habitants again, with only the clients who live outside Hauts-de-France.

    The clients' statistics of the battery of ``diff`` named by ``kinds`` (:data:`OUTSIDE_KINDS`: « d'accord »
    shares, 0–10 scores' means, strengths' and weaknesses' shares) are estimated on the domain of those living in
    another French region or abroad (:func:`origin`; unknown origin left out), in their whole design (calibration
    residuals included); the residents' come from ``estimates``. Differences of independent surveys on
    Welch–Satterthwaite degrees of freedom; the p-values replace those statistics' own in the battery and are
    adjusted with the rest of it, by its method, so that « établi » means what it means in the main comparison.
    Columns ``item``, ``statistic``, ``level``, ``estimate`` (the gap), ``se``, ``ci_low``, ``ci_high``,
    ``confidence_level``, ``df``, ``p``, ``p_adj``, ``estimate_visitors``, ``n_visitors``; one row per statistic, in
    ``diff``'s order.
    """
    key = ["item", "statistic", "level"]
    battery = diff.loc[diff["in_battery"]].reset_index(drop=True)
    battery["level"] = battery["level"].fillna("").astype(str)
    at = np.flatnonzero(np.logical_or.reduce([OUTSIDE_KINDS[k](battery) for k in kinds]))
    rows = battery.iloc[at]
    d, spec = with_items(visitors, cb, "visitors", only=set(rows["item"]), words=False)
    spec = spec.assign(level=spec["level"].fillna("").astype(str)).set_index(key)
    wanted = list(rows[key].itertuples(index=False, name=None))
    o = origin(visitors)
    outside = pd.array(np.where(pd.isna(o), None, np.where(np.isin(o, ["france", "abroad"]), "oui", "non")),
                       dtype="string")
    e = survey.mean(replace(d, data=d.data.assign(_hors=outside)), list(spec.loc[wanted, "column"]),
                    by="_hors", level=level)
    e = e.loc[e["domain"] == "_hors=oui"]
    res = estimates.loc[estimates["group"] == "residents"]
    r = res.assign(level=res["level"].fillna("").astype(str)).set_index(key).loc[wanted]
    g = independent_difference(r.reset_index(drop=True), e.reset_index(drop=True), level)
    p = battery["p"].to_numpy(dtype=float).copy()
    p[at] = g["p"]
    return pd.DataFrame({"item": list(rows["item"]), "statistic": list(rows["statistic"]), "level": list(rows["level"]),
                         **{k: g[k] for k in ("estimate", "se", "ci_low", "ci_high")}, "confidence_level": level,
                         **{k: g[k] for k in ("df", "p")},
                         "p_adj": adjust_pvalues(p, adjustment_method(diff))[at],
                         "estimate_visitors": e["estimate"].to_numpy(), "n_visitors": e["n"].to_numpy()})


def return_intention(visitors: Design, cb: Codebook, adjust: str = "fdr_bh",
                     level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Clients intending to come back (« plutôt » or « tout à fait » d'accord with ``intention_retour``; « Ne
    sait pas » left out): overall, by origin (:func:`origin`) and by the purpose of their last stay (``motif``),
    with the Rao–Scott test that the share is the same across origins, and across purposes (p adjusted across
    the two). Each table has ``domaine``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (at ``level``), ``confidence_level``
    and ``n``."""
    x = _substantive(visitors.data["intention_retour"], cb.dont_know_code)
    motifs = {str(c.value): c.label for c in cb.variable("motif").codes}
    motif = pd.to_numeric(visitors.data["motif"], errors="coerce").astype("Int64").astype("string")
    d = replace(visitors, data=visitors.data.assign(
        retour__oui=np.where(np.isnan(x), np.nan, np.isin(x, AGREE).astype(float)),
        origine=pd.array(origin(visitors), dtype="string"), motif_c=motif))
    cols = ["retour__oui"]
    by_origin = by_domain(d, cols, "origine", ORIGINS, level, SHARE_INTERVAL).set_index("domaine").reindex(
        list(ORIGINS.values())).reset_index()
    by_motif = by_domain(d, cols, "motif_c", motifs, level, SHARE_INTERVAL)
    tests = pd.DataFrame([("retour__oui", b, *share_homogeneity(d, "retour__oui", col))
                          for b, col in (("origine", "origine"), ("motif", "motif_c"))],
                         columns=["variable", "selon", "F", "ndf", "ddf", "p"])
    tests["p_adj"] = adjust_pvalues(tests["p"], adjust)
    return {"overall": by_domain(d, cols, None, level=level, interval=SHARE_INTERVAL), "by_origin": by_origin,
            "by_motif": by_motif, "tests": tests}


def choices_cited(designs: Mapping[str, Design], cb: Codebook, items: tuple[str, ...] = ("forces", "faiblesses"),
                  level: float = 0.95) -> pd.DataFrame:
    """How many options each group cites on average in each « pick up to k » item, among the respondents who cited
    at least one (the base of the items' shares), and the difference visitors − residents with its interval
    (independent samples, Welch–Satterthwaite df): a group that cites fewer options has lower shares on most of
    them, whatever its opinion (trial M). One row per item: ``residents``, ``visitors`` (estimate, ci_low, ci_high)
    and the difference's ``estimate``, ``ci_low``, ``ci_high``, ``p``."""
    rows = []
    for item in items:
        parts = {}
        for group, design in designs.items():
            count = design.data[list(cb.variable(item).columns)].astype("Float64").sum(axis=1, min_count=1)
            table = survey.mean(survey.update(design, _cited=count.where(count > 0).astype(float)), "_cited",
                                level=level)
            parts[group] = table
        d = independent_difference(parts["residents"], parts["visitors"], level)
        rows.append({"item": item, **{f"{g}_{k}": float(parts[g][k].iloc[0]) for g in ("residents", "visitors")
                                      for k in ("estimate", "ci_low", "ci_high", "n")},
                     **{k: float(d[k][0]) for k in ("estimate", "ci_low", "ci_high", "p")}, "confidence_level": level})
    return pd.DataFrame(rows)
