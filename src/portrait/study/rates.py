"""Response rates from the table of every sampled unit that :mod:`portrait.study.ingest` builds: by group
(respondents / units in scope), AAPOR's RR1 and RR2 from the ledger's reasons, and the item non-response of the
respondents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.errors import ParameterError
from .codebook import Codebook

__all__ = ["AAPOR_GROUPS", "aapor_rates", "item_nonresponse", "response_rates"]


def response_rates(responses: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Response rate by groups of a table of every sampled unit: respondents / units not excluded.

    Columns: the ``by`` columns, ``sampled``, ``excluded``, ``in_scope``, ``respondents``, ``rate``.
    """
    by = [by] if isinstance(by, str) else list(by)
    d = responses[by].copy()
    d["sampled"] = 1
    d["excluded"] = (responses["status"] == "excluded").astype(int)
    d["respondents"] = (responses["status"] == "respondent").astype(int)
    g = d.groupby(by, sort=True, observed=True)[["sampled", "excluded", "respondents"]].sum().reset_index()
    g["in_scope"] = g["sampled"] - g["excluded"]
    g["rate"] = g["respondents"] / g["in_scope"]
    return g[by + ["sampled", "excluded", "in_scope", "respondents", "rate"]]


def item_nonresponse(responses: pd.DataFrame, codebook: Codebook, survey: str) -> pd.DataFrame:
    """Among respondents, the share of each question left blank and the share of « Ne sait pas ».

    A multi-select question is blank when no option is chosen; an open-word question when the
    first word is empty. Questions not asked because of a filter are not counted as blank. A question
    without a « Ne sait pas » option has no such share (NaN), not a share of 0.
    """
    r = responses.loc[responses["status"] == "respondent"]
    rows = []
    for v in codebook.variables_for(survey):
        if v.role == "technical":
            continue
        asked = pd.Series(True, index=r.index)
        if v.asked_if is not None:
            asked = r[v.asked_if[0]].isin(list(v.asked_if[1])).fillna(False).astype(bool)
        sub = r.loc[asked]
        if v.type == "multi":
            blank = sub[v.columns].fillna(0).astype(int).sum(axis=1) == 0
            dk = pd.Series(False, index=sub.index)
        elif v.type == "open_words":
            blank = sub[v.columns[0]].isna()
            dk = pd.Series(False, index=sub.index)
        else:
            blank = sub[v.name].isna()
            dk = (sub[v.name] == codebook.dont_know_code).fillna(False) if v.dont_know \
                else pd.Series(False, index=sub.index)
        n = len(sub)
        rows.append({"survey": survey, "variable": v.name, "label": v.label, "common_core": v.common_core,
                     "asked": n, "blank": int(blank.sum()), "dont_know": int(dk.sum()),
                     "blank_rate": float(blank.mean()) if n else np.nan,
                     "dont_know_rate": float(dk.mean()) if n and v.dont_know else np.nan})
    return pd.DataFrame(rows)


#: the ledger's reasons as AAPOR final disposition groups (AAPOR, *Standard Definitions*, 9th ed. 2016,
#: internet surveys of specifically named persons): I complete (1.1), P partial (1.2), R refusal and
#: break-off (2.1; a response set aside as unusable is a break-off, 2.12, whether the analyst or the survey tool set it
#: aside as a preview, test or spam), UO unknown eligibility — invitation returned undelivered (3.3) or nothing ever
#: returned (3.19) —, NE not eligible (4.x).
AAPOR_GROUPS = {"complet": "I", "partiel": "P", "refus": "R", "abandon": "R", "ecartee": "R", "ecartee_outil": "R",
                "non_distribuee": "UO", "sans_reponse": "UO", "hors_champ": "NE"}


def aapor_rates(responses: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """AAPOR response rates RR1 and RR2 by groups of a table of every sampled unit.

    ``RR1 = I / (I + P + R + NC + O + UH + UO)`` and ``RR2 = (I + P) / (same)``: every unit of unknown
    eligibility counts as eligible (the most conservative rates); not-eligible units (NE) are left
    out. NC (non-contact) and O (other) are zero here: an e-mail invitation that nothing answered
    is « nothing ever returned » (UO). RR2 equals :func:`response_rates`' ``rate``.
    """
    by = [by] if isinstance(by, str) else list(by)
    unknown = sorted(set(responses["reason"]) - set(AAPOR_GROUPS))
    if unknown:
        raise ParameterError(f"reasons without an AAPOR disposition: {unknown}")
    d = responses[by].copy()
    for g in ("I", "P", "R", "UO", "NE"):
        d[g] = (responses["reason"].map(AAPOR_GROUPS) == g).astype(int)
    out = d.groupby(by, sort=True, observed=True)[["I", "P", "R", "UO", "NE"]].sum().reset_index()
    eligible = out[["I", "P", "R", "UO"]].sum(axis=1)
    out["RR1"] = out["I"] / eligible
    out["RR2"] = (out["I"] + out["P"]) / eligible
    return out
