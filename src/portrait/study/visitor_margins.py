"""The visitors' calibration margins: the partner files' totals less their persons out of scope, or the
tourism scenario's, each with its sources and assumptions (:func:`portrait.study.recipes.weight_visitors`)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..pipeline import sources
from ..pipeline.config import require
from ..reporting import formatting as fmt
from ..survey import Margin
from ..survey.labels import keep_text_codes
from .unit_table import texts


COUNTRY_GROUPS = ("France", "étranger", "inconnu")
MULTIPLICITY_GROUPS = ("1 fichier", "2 fichiers", "3 fichiers ou plus")


def country_group(country: pd.Series) -> pd.Series:
    """France, abroad, or unknown (the partner did not record it)."""
    # the rule applied to each distinct value once (a sample holds a few dozen countries; every replication)
    code, distinct = pd.factorize(country)
    if all(isinstance(x, str) for x in distinct):
        rule = [2 if x in ("ZZ", "") else 0 if x == "FR" else 1 for x in distinct]
    else:       # other values: read as text, as pandas writes them
        c = pd.Series(distinct).astype("string")
        unknown = (c.isna() | c.isin(["ZZ", ""])).to_numpy(dtype=bool)
        rule = np.where(unknown, 2, np.where(c.eq("FR").fillna(False).to_numpy(dtype=bool), 0, 1)).tolist()
    group = np.array(rule + [2], dtype=np.int64)[code]       # code -1, a missing country: unknown
    return _kept(pd.Series(texts(group, COUNTRY_GROUPS), index=country.index), group, COUNTRY_GROUPS)


def multiplicity_group(multiplicity: pd.Series) -> pd.Series:
    """Number of partner files holding the person: 1, 2, or 3 or more."""
    m = np.minimum(np.asarray(multiplicity.astype(int)), 3)
    code = np.where((m >= 1) & (m <= 3), m - 1, -1)
    return _kept(pd.Series(texts(code, MULTIPLICITY_GROUPS), index=multiplicity.index, name=multiplicity.name),
                 code, MULTIPLICITY_GROUPS)


def _kept(groups: pd.Series, codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    """``groups``, the non-response model's codes of its texts kept from ``codes`` (they need not be read again)."""
    keep_text_codes(groups, codes, labels)
    return groups


def visitor_frame_margins(frame: pd.DataFrame) -> tuple[list[Margin], pd.DataFrame]:
    """Frame totals of zone, partner type, country group and multiplicity, with their sources.

    The frame also holds persons out of scope (no stay in the region):
    :func:`portrait.study.recipes.weight_visitors` takes from each total the estimate of those of its
    level (:func:`in_scope_margins`)."""
    f = frame.assign(country_group=country_group(frame["country"]),
                     multiplicity_group=multiplicity_group(frame["multiplicity"]))
    margins = [Margin.of(v, f.groupby(v).size().astype(float).to_dict())
               for v in ("zone", "source_type", "country_group", "multiplicity_group")]
    src = pd.DataFrame([{"marge": m, "source": "base de sondage des clients du territoire (fichiers partenaires dédoublonnés)",
                         "hypothèse": IN_SCOPE_HYPOTHESIS}
                        for m in ("zone visitée", "type de partenaire", "pays de résidence (France, étranger, inconnu)",
                                  "nombre de fichiers où figure la personne")])
    return margins, src


#: What the visitors' margins assume about the persons of the frame out of scope (:func:`in_scope_margins`).
IN_SCOPE_HYPOTHESIS = ("total de la modalité dans la base, moins ses personnes hors champ estimées ; invités sans "
                       "réponse supposés dans le champ")


def out_of_scope_sample(responses: pd.DataFrame) -> pd.DataFrame:
    """The sampled persons found out of scope (status ``excluded``): the margins' variables and the design weight."""
    rows = np.flatnonzero(responses["status"].eq("excluded").to_numpy(dtype=bool))
    out = {c: responses[c].iloc[rows] for c in ("zone", "source_type", "country", "multiplicity", "pi")}
    # the texts' arrays as they are: as Python objects, each column was converted back, value by value (0.5 ms)
    return pd.DataFrame({"zone": out["zone"].astype(str).array,
                         "source_type": out["source_type"].astype(str).array,
                         "country_group": country_group(out["country"]).array,
                         "multiplicity_group": multiplicity_group(out["multiplicity"]).array,
                         "weight": 1.0 / out["pi"].to_numpy(dtype=float)}, copy=False)


def in_scope_margins(margins: list[Margin], out: pd.DataFrame) -> list[Margin]:
    """Each frame total less the Horvitz–Thompson estimate of its persons out of scope.

    ``out`` is :func:`out_of_scope_sample`. The frame's N_l persons of level l include some out of
    scope; their number is estimated by the design weights of the sampled ones, so the target
    N_l − Σ_{i ∈ s, out of scope, l} 1/π_i is design-unbiased for the level's persons in scope,
    provided every sampled person out of scope is identified, respondent or not (the simulator's
    case). Those hidden among the non-respondents count in scope, so with real fieldwork the target
    is an upper bound. The target is also an estimate whose own sampling error is left out of the
    variances (linearised and replicate: the calibration holds its totals fixed). With about 2 % of
    the frame out of scope that error is negligible: of the order of 10⁻⁵ of a share's variance in
    this study (a standard error of a few thousandths of a point), though a share of a margin's own
    variable then gets a standard error of 0 instead of a few hundredths of a point.
    """
    if out.empty:
        return margins
    # every margin's levels summed in one groupby (each level's weights added in the same order, by the same
    # compensated sum, as a groupby of its own margin: the same totals to the last bit)
    keys, levels, start = [], [], 0
    for m in margins:
        (var,) = m.variables
        code, distinct = pd.factorize(out[var])
        keys.append(np.where(code >= 0, code + start, -1))
        levels.append(list(distinct))
        start += len(distinct)
    sums = pd.Series(np.tile(out["weight"].to_numpy(dtype=float), len(margins))).groupby(np.concatenate(keys)).sum()
    est = dict(zip(sums.index.tolist(), sums.tolist()))
    fixed, start = [], 0
    for m, distinct in zip(margins, levels):
        at = {level: est.get(start + i, 0.0) for i, level in enumerate(distinct)}
        fixed.append(Margin.of(m.variables[0], {k[0]: total - float(at.get(k[0], 0.0)) for k, total in m.totals.items()}))
        start += len(distinct)
    return fixed


def visitor_tourism_margins(frame: pd.DataFrame, spec: Mapping[str, Any], out: pd.DataFrame | None = None
                            ) -> tuple[list[Margin], pd.DataFrame]:
    """Scenario margins from tourism figures, scaled to the frame's persons in scope; every assumption stated.

    ``spec`` (``tourism_margins`` in ``config/05_visitor_weighting.yaml``): ``nights_year``, the
    season whose INSEE nights give the Nord-Pas de Calais share of visitors, and
    ``foreign_share`` with its ``source``. Persons recorded as visiting both zones keep their frame
    share; persons whose country is unknown are counted as French. ``out`` (:func:`out_of_scope_sample`)
    estimates the frame's persons out of scope, taken from its size and from those visiting both zones.
    """
    year = require(spec, "nights_year", int, where="tourism_margins")
    foreign = require(spec, "foreign_share", float, minimum=0.0, maximum=1.0, where="tourism_margins")
    foreign_source = require(spec, "foreign_share_source", str, where="tourism_margins")
    npdc = sources.npdc_share_of_nights(year)
    out = out if out is not None else pd.DataFrame({"zone": [], "weight": []})
    N = float(len(frame)) - float(out["weight"].sum())
    both = float((frame["zone"] == "both").sum()) - float(out.loc[out["zone"] == "both", "weight"].sum())
    zone = {"both": both, "npdc": (N - both) * npdc, "picardie": (N - both) * (1 - npdc)}
    origin = {"France": N * (1 - foreign), "étranger": N * foreign}
    margins = [Margin.of("zone", zone), Margin.of("country_group_t", origin)]
    src = pd.DataFrame([
        {"marge": "zone visitée",
         "source": f"Insee, nuitées d'avril à septembre {year} par département (data/raw/{sources.NIGHTS_FILE}) : "
                   f"Nord et Pas-de-Calais = {fmt.number(npdc * 100, 1)} % des nuitées de la région",
         "hypothèse": "la part des nuitées sert de part des visiteurs ; les personnes venues dans les deux zones "
                      "gardent leur part de la base ; personnes hors champ déduites"},
        {"marge": "pays de résidence (France, étranger)", "source": foreign_source,
         "hypothèse": f"{foreign * 100:.0f} % de visiteurs étrangers (base non définie par la source) ; un pays inconnu "
                      "compte comme la France"},
    ])
    return margins, src
