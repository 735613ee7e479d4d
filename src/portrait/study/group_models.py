"""The residents–visitors gap adjusted for the respondents' profile, and the check of its models (STUDY §7).

:func:`adjusted_models` fits, on the stacked design, the group + sex + age models of every common-core item:
survey-weighted linear models of the 0–10 scores and proportional-odds (cumulative logit) models of the 1–5
agreement items, with replicate-weight SEs. A proportional-odds model gives one group coefficient for every cut of
the scale; :func:`proportional_odds_tests` checks that assumption for the group (Brant 1990, design-based): the
logistic models of « above cut k » for each cut k, fitted on the same design, estimate one common coefficient
when the assumption holds; a Wald F test of their equality uses their joint covariance
(:func:`portrait.survey.joint_vcov`, linearised).

References
----------
Brant, R. (1990). Assessing proportionality in the proportional odds model for ordinal logistic regression.
*Biometrics* 46, 1171–1178.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (chapter 6)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import survey
from ..survey import Design
from .codebook import Codebook
from .compare import GROUPS, adjust_pvalues

#: the group's coefficient in the models (visitors against residents, the reference)
GROUP_TERM = "groupe_vvisitors"


def model_terms(stack: Design, covariates: Sequence[str]) -> tuple[Design, list[str]]:
    """The stacked design with the models' terms as factors: the group (``groupe_v``, residents the reference) and
    each covariate's answer code (``<covariate>_c``); and those terms, the group first."""
    data = stack.data.assign(groupe_v=pd.Categorical(stack.data["groupe"], categories=list(GROUPS)),
                             **{f"{c}_c": pd.Categorical(stack.data[c].astype("Int64").astype("string"))
                                for c in covariates})
    return replace(stack, data=data), ["groupe_v", *(f"{c}_c" for c in covariates)]


def _answers(data: pd.DataFrame, item: str, dont_know: int) -> pd.Series:
    """An item's answers as floats, « Ne sait pas » and missing answers as NaN (left out of the models)."""
    y = data[item].astype("Float64")
    return y.where(y != dont_know).astype(float)


def adjusted_models(stack: Design, cb: Codebook, variance: str = "replicates", adjust: str = "fdr_bh",
                    level: float = 0.95, covariates: Sequence[str] = ("sexe", "age")) -> pd.DataFrame:
    """Group effect adjusted for ``covariates`` (profile questions, as factors): linear models of the scores,
    proportional-odds models of the agreement items (coefficient of ``visitors`` against residents, its SE, CI at
    ``level``, p and p adjusted by ``adjust``); a respondent without an answer to a covariate is left out."""
    d, terms = model_terms(stack, covariates)
    rows = []
    for v in cb.common_core():
        if v.type not in ("likert_1_5", "score_0_10") or v.name not in d.data.columns:
            continue
        yy = _answers(d.data, v.name, cb.dont_know_code)
        dd = replace(d, data=d.data.assign(_y=yy))
        if v.type == "score_0_10":
            fit, model = survey.svyglm(dd, "_y", terms, variance=variance), "régression linéaire"
        else:
            levels = sorted(pd.unique(yy.dropna()))
            dd = replace(dd, data=dd.data.assign(_y=pd.Categorical(yy, categories=levels, ordered=True)))
            fit = survey.svyolr(dd, "_y", terms, variance=variance, levels=levels)
            model = "logit cumulatif (cotes proportionnelles)"
        t = fit.table(level)
        g = t.loc[t["term"] == GROUP_TERM].iloc[0]
        rows.append({"item": v.name, "item_label": v.label, "model": model, "estimate": g["estimate"],
                     "se": g["se"], "ci_low": g["ci_low"], "ci_high": g["ci_high"], "confidence_level": level, "p": g["p"], "df": fit.df,
                     "variance": fit.variance})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adj"] = adjust_pvalues(out["p"], adjust)
    return out


def proportional_odds_tests(stack: Design, cb: Codebook, variance: str = "linearisation", adjust: str = "fdr_bh",
                            covariates: Sequence[str] = ("sexe", "age")) -> pd.DataFrame:
    """Is the group's effect the same at every cut of each agreement item, as its proportional-odds model assumes?

    For each 1–5 common-core item (« Ne sait pas » left out), and each cut ``k`` between two answers given, the
    quasi-binomial model of « answer above k » on the terms of :func:`adjusted_models`; the group's coefficients
    β_k of the cuts (log odds ratios, visitors against residents) with their joint covariance
    (:func:`portrait.survey.joint_vcov`) give the Wald F test that they are all equal: ``F`` on ``ndf`` = cuts − 1
    and ``ddf`` (the models' residual df) degrees of freedom, ``p`` and ``p_adj`` (adjusted across the items by
    ``adjust``). Columns ``beta_<k>`` and ``se_<k>`` hold each cut's coefficient and SE, ``cuts`` their number. A
    cut whose model cannot be fitted (a level of a term with every answer on one side: separation, in a small
    sample) is left out and named in ``cuts_left_out``; with fewer than two cuts left, the item has no test (NaN).

    Linearised by default (calibration residuals included): refitted on bootstrap replicates, the logistic model of
    a rare extreme answer is separated by some replicate (no « 1 » among a replicate's visitors of one age group).
    """
    d, terms = model_terms(stack, covariates)
    rows = []
    for v in cb.common_core():
        if v.type != "likert_1_5" or v.name not in d.data.columns:
            continue
        y = _answers(d.data, v.name, cb.dont_know_code)
        every = sorted(pd.unique(y.dropna()))[:-1]
        dd = replace(d, data=d.data.assign(**{f"_above{k:g}": (y > k).astype(float).where(y.notna()) for k in every}))
        fits = {}
        for k in every:
            try:
                fits[k] = survey.svyglm(dd, f"_above{k:g}", terms, variance=variance, family="quasibinomial")
            except survey.ConvergenceError:          # a level of a term with no answer on one side of the cut
                pass
        row = {"item": v.name, "item_label": v.label, "cuts": len(fits),
               "cuts_left_out": " ".join(f"{k:g}" for k in every if k not in fits)}
        if fits:
            cuts, models = list(fits), list(fits.values())
            at = np.cumsum([0, *(len(f.coef) for f in models[:-1])]) + [f.names.index(GROUP_TERM) for f in models]
            beta = np.concatenate([f.coef for f in models])[at]
            V = survey.joint_vcov(dd, models)[np.ix_(at, at)]
            row |= {**{f"beta_{k:g}": b for k, b in zip(cuts, beta)},
                    **{f"se_{k:g}": s for k, s in zip(cuts, np.sqrt(np.diag(V)))}}
        if len(fits) > 1:
            C = np.eye(len(cuts))[1:] - np.eye(len(cuts))[:-1]        # β_{k+1} − β_k = 0 for every pair of cuts
            c = C @ beta
            F = float(c @ np.linalg.solve(C @ V @ C.T, c)) / len(c)
            ddf = min(f.df for f in models)
            row |= {"F": F, "ndf": len(c), "ddf": ddf, "p": float(stats.f.sf(F, len(c), ddf))}
        rows.append({**row, "variance": variance})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.reindex(columns=[*out.columns, *(c for c in ("F", "ndf", "ddf", "p") if c not in out.columns)])
        out["p_adj"] = adjust_pvalues(out["p"], adjust)         # NaN where there is no test
    return out


def with_proportional_odds(adjusted: pd.DataFrame, po: pd.DataFrame) -> pd.DataFrame:
    """The adjusted models' table with each attribute's proportional-odds check beside it (columns ``po_…``; empty
    for the scores), as ``comparison_adjusted.csv`` holds them."""
    check = po.drop(columns=["item_label", "variance"]).rename(columns=lambda c: c if c == "item" else f"po_{c}")
    return adjusted.merge(check, on="item", how="left")
