"""Who answered: the weighted profile of the residents and of the clients (visitors), and how the two differ.

The comparison of perceptions (STUDY §7) reads better knowing who the two groups are: their sex, age and
education (asked in both surveys, compared by a Rao–Scott test on the two surveys stacked, R ``svychisq``),
how long the residents have lived in the region, and where the clients live, why they came, which part of the
region they visited and how often they came. Every share is weighted, with the logit interval of R
``svyciprop`` and its base (respondents who answered the question); the counts behind each share are returned
for the reports' small-cell rule. The residents' sex and age are calibrated to the census (STUDY §6): their
shares restate the margins, up to the answers that differ from the variables used for calibration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd

from .. import survey
from ..survey import Design
from .codebook import Codebook
from .compare import GROUPS, adjust_pvalues
from .items import SHARE_INTERVAL
from .recipes import SEX_AGE_MARGIN, margin_sources

#: Profile questions asked in both surveys, compared between the groups.
COMMON = ("sexe", "age", "diplome")
#: Single-choice questions asked of one group only, described in it.
OWN = {"residents": (), "visitors": ("residence", "motif", "zone_visitee")}
#: Counts described by their mean, median and the share of a telling value (``(name, test, label)``).
COUNTS = {"residents": (("annees_residence", lambda x: x < 10, "moins de 10 ans"),),
          "visitors": (("nb_sejours", lambda x: x == 1, "un seul séjour"),)}
QUESTIONS = {"sexe": "Sexe", "age": "Âge", "diplome": "Diplôme", "residence": "Lieu de résidence",
             "motif": "Motif du dernier séjour", "zone_visitee": "Partie de la région visitée",
             "annees_residence": "Années de résidence dans la région",
             "nb_sejours": "Séjours dans la région en 24 mois"}
#: The covariates of the adjusted comparison re-fitted with education as well (the groups' education differs).
WITH_DIPLOMA = ("sexe", "age", "diplome")
#: The clients' place of residence, from ``pays`` and, for those living in France, ``region_residence``.
HOME_REGION, CAPITAL_REGION = 32, 11
RESIDENCE = {"hdf": "Hauts-de-France", "idf": "Île-de-France", "france": "Autre région de France",
             "france_nr": "France, région non précisée"}


def categories(design: Design, cb: Codebook, name: str) -> tuple[pd.Series, dict[str, str]]:
    """The answers to single-choice question ``name`` as category keys (missing: NA; a code the codebook does not
    list, e.g. 99 « Ne sait pas », counts as missing), and key → label in questionnaire order. ``residence``
    combines ``pays`` and ``region_residence``: Hauts-de-France, Île-de-France, another French region, France without
    a region given, then each country other than France."""
    data = design.data
    if name == "residence":
        pays = pd.to_numeric(data["pays"], errors="coerce").to_numpy(dtype=float)
        region = pd.to_numeric(data["region_residence"], errors="coerce").to_numpy(dtype=float)
        others = [c for c in cb.variable("pays").codes if c.value != 1]
        keys = np.full(len(pays), None, dtype=object)
        keys[(pays == 1) & (region == HOME_REGION)] = "hdf"
        keys[(pays == 1) & (region == CAPITAL_REGION)] = "idf"
        keys[(pays == 1) & ~np.isnan(region) & ~np.isin(region, [HOME_REGION, CAPITAL_REGION])] = "france"
        keys[(pays == 1) & np.isnan(region)] = "france_nr"
        for c in others:
            keys[pays == c.value] = c.key
        return pd.Series(keys, index=data.index, dtype="string"), {**RESIDENCE, **{c.key: c.label for c in others}}
    v = cb.variable(name)
    codes = pd.to_numeric(data[name], errors="coerce")
    labels = {c.key: (c.key.capitalize() if name == "sexe" else c.label) for c in v.codes}
    keys = codes.map({c.value: c.key for c in v.codes})
    return keys.astype("string"), labels


def _answered(design: Design) -> np.ndarray:
    return np.asarray(design.weights, dtype=float) > 0


def shares(design: Design, cb: Codebook, name: str, level: float = 0.95) -> pd.DataFrame:
    """Weighted share of each category of ``name`` (:func:`categories`) among the respondents who answered it, with
    its logit interval at ``level``; ``n``: respondents in the category, ``base``: respondents who answered."""
    keys, labels = categories(design, cb, name)
    indicators = {f"_p_{i}": np.where(keys.isna(), np.nan, (keys == k).fillna(False).to_numpy(dtype=float))
                  for i, k in enumerate(labels)}
    e = survey.mean(survey.update(design, **indicators), list(indicators), level=level, interval=SHARE_INTERVAL)
    answered = _answered(design)
    counts = [int(((keys == k).fillna(False).to_numpy() & answered).sum()) for k in labels]
    return pd.DataFrame({"variable": name, "question": QUESTIONS[name], "key": list(labels),
                         "modalite": list(labels.values()), "estimate": e["estimate"].to_numpy(),
                         "se": e["se"].to_numpy(), "ci_low": e["ci_low"].to_numpy(), "ci_high": e["ci_high"].to_numpy(),
                         "confidence_level": level, "n": counts, "base": int((keys.notna().to_numpy() & answered).sum())})


def count_summary(design: Design, name: str, test, label: str, level: float = 0.95) -> pd.DataFrame:
    """Mean and median of count ``name`` (Woodruff interval for the median, R ``svyquantile``), and the share of
    respondents for whom ``test`` holds (``label`` names it), each with its interval at ``level``."""
    x = pd.to_numeric(design.data[name], errors="coerce").astype(float)
    flag = np.where(x.isna(), np.nan, test(x).astype(float))
    answered = _answered(design)
    base = int((x.notna().to_numpy() & answered).sum())
    if base == 0:                   # nobody answered (a real round still in the field): said, not estimated
        return pd.DataFrame({"variable": name, "question": QUESTIONS[name],
                             "statistic": ["moyenne", "médiane", f"part : {label}"], "estimate": np.nan, "se": np.nan,
                             "ci_low": np.nan, "ci_high": np.nan, "confidence_level": level, "n": 0, "base": 0})
    d = survey.update(design, _x=x.to_numpy(), _flag=flag)
    mean = survey.mean(d, "_x", level=level).iloc[0]
    median = survey.quantile(d, "_x", 0.5, level=level, na_rm=True).iloc[0]
    share = survey.mean(d, "_flag", level=level, interval=SHARE_INTERVAL).iloc[0]
    return pd.DataFrame({"variable": name, "question": QUESTIONS[name],
                         "statistic": ["moyenne", "médiane", f"part : {label}"],
                         "estimate": [mean["estimate"], median["estimate"], share["estimate"]],
                         "se": [mean["se"], np.nan, share["se"]],
                         "ci_low": [mean["ci_low"], median["ci_low"], share["ci_low"]],
                         "ci_high": [mean["ci_high"], median["ci_high"], share["ci_high"]],
                         "confidence_level": level,
                         "n": [base, base, int(((flag == 1) & answered).sum())], "base": base})


def difference_tests(designs: Mapping[str, Design], cb: Codebook, adjust: str = "fdr_bh") -> pd.DataFrame:
    """Rao–Scott test (second-order F, R ``svychisq``) that each question of :data:`COMMON` has the same
    distribution among residents and clients, on the two surveys stacked as independent strata; p adjusted
    across the questions by ``adjust``."""
    parts = {g: replace(designs[g], data=pd.DataFrame({f"_{name}": categories(designs[g], cb, name)[0]
                                                       for name in COMMON})) for g in GROUPS}
    stack = survey.stack(parts, group="groupe")
    rows = []
    for name in COMMON:
        rs = survey.rao_scott(stack, f"_{name}", "groupe")
        rows.append({"variable": name, "question": QUESTIONS[name], "F": rs.F, "ndf": rs.ndf, "ddf": rs.ddf,
                     "p": rs.p_F})
    out = pd.DataFrame(rows)
    out["p_adj"] = adjust_pvalues(out["p"], adjust)
    return out


def sex_age_calibrated(attrs: Mapping) -> bool:
    """Whether a weighted file (its attributes, :func:`portrait.study.recipes.read_weights`) was calibrated on
    sex × age: its shares of sex and age then restate the margins."""
    return bool((margin_sources(attrs)["marge"] == SEX_AGE_MARGIN).any())


def long_table(profile: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`profile`'s three tables as one (the data file): the shares (``statistic`` « part ») and the counts'
    statistics, with each common question's test (``F``, ``ndf``, ``ddf``, ``p``, ``p_adj``) on its rows."""
    rows = pd.concat([profile["shares"].assign(statistic="part"), profile["counts"]], ignore_index=True)
    rows = rows.merge(profile["tests"].drop(columns="question"), on="variable", how="left")
    first = ["group", "variable", "question", "key", "modalite", "statistic"]
    return rows[first + [c for c in rows.columns if c not in first]]


def profile(designs: Mapping[str, Design], cb: Codebook, adjust: str = "fdr_bh",
            level: float = 0.95) -> dict[str, pd.DataFrame]:
    """The two groups' profiles: ``shares`` (every category of :data:`COMMON` in both groups and of :data:`OWN` in
    its group; column ``group``), ``counts`` (:data:`COUNTS`, :func:`count_summary`) and ``tests``
    (:func:`difference_tests`); intervals at ``level``."""
    share_rows, count_rows = [], []
    for group in GROUPS:
        d = designs[group]
        for name in COMMON + OWN[group]:
            share_rows.append(shares(d, cb, name, level).assign(group=group))
        for name, test, label in COUNTS[group]:
            count_rows.append(count_summary(d, name, test, label, level).assign(group=group))
    return {"shares": pd.concat(share_rows, ignore_index=True), "counts": pd.concat(count_rows, ignore_index=True),
            "tests": difference_tests(designs, cb, adjust)}


def with_diploma(adjusted: pd.DataFrame, again: pd.DataFrame) -> pd.DataFrame:
    """The adjusted comparison (:func:`portrait.study.group_models.adjusted_models`, sex and age) beside the same models
    re-fitted on :data:`WITH_DIPLOMA` (``again``): its columns ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p``,
    ``p_adj`` and ``df`` suffixed ``_diplome``, one row per item."""
    cols = ["estimate", "se", "ci_low", "ci_high", "p", "p_adj", "df"]
    return adjusted.merge(again[["item", *cols]].rename(columns={c: f"{c}_diplome" for c in cols}), on="item",
                          how="left", validate="one_to_one")
