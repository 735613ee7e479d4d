"""The residents' overall image, recommendation, strengths and weaknesses in each of the five departments.

The synthesis's mosaic (:func:`portrait.study.aims.mosaic`) reads the image attributes department by department;
this does the same for the 0–10 scores and for the « pick up to three » strengths and weaknesses (trial M: no
breakdown by department of them). Each statistic is estimated in every department as a domain of the residents'
design (calibration residuals included), with a design-based test that it is the same in all five, p adjusted by
``adjust`` within each family: the two scores, the strengths, the weaknesses. A score's test is the Wald F of
``svyglm(y ~ departement)`` (R ``regTermTest``); a strength's is the Rao–Scott second-order F of cited × department
(R ``svychisq``), whose variance is taken under the null: the Wald F, with each department's own variance, rejected
too easily where a department's share rests on a dozen residents (trial O: « insécurité », 13 in the Aisne). A
strength's share is among the residents who cited at least one, the base of the comparison's shares: the statistics
are :func:`portrait.study.items.derived`'s own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.sources import DEPARTMENTS
from ..survey import Design
from .aims import by_domain, mean_homogeneity, share_homogeneity
from .codebook import Codebook
from .compare import adjust_pvalues, short_label, with_items
from .items import SHARE_INTERVAL

SCORES = ("image_globale", "recommandation")
CHOICES = ("forces", "faiblesses")


def _statistics(residents: Design, cb: Codebook) -> tuple[Design, list[tuple[str, str, str, str]]]:
    """The residents' design with the comparison's own derived statistics of the scores and choices (a score's mean
    without « Ne sait pas », an option's indicator over the residents who cited at least one:
    :func:`portrait.study.items.derived`), and ``(family, column, item, label)`` of each; a choice's ``item`` is its
    option's column in the survey data (``forces_05``)."""
    d, spec = with_items(residents, cb, "residents", only=set(SCORES + CHOICES), words=False)
    option = {(v.name, str(code)): col for v in map(cb.variable, CHOICES) for code, col in zip(v.code_values, v.columns)}
    scores = [("scores", r.column, r.item, short_label(r.item_label))
              for r in spec.loc[spec["item"].isin(SCORES) & (spec["statistic"] == "mean")].itertuples()]
    choices = [(r.item, r.column, option[(r.item, r.level)], short_label(r.label))
               for r in spec.loc[spec["item"].isin(CHOICES) & (spec["statistic"] == "share")].itertuples()]
    return d, scores + choices                  # in questionnaire order: the image, the recommendation, the options


def by_department(residents: Design, cb: Codebook, adjust: str = "fdr_bh", level: float = 0.95) -> pd.DataFrame:
    """One row per statistic and department: ``family`` (« scores », « forces », « faiblesses »), ``item``,
    ``label``, ``departement``, ``département``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (at ``level``,
    logit intervals for shares), ``confidence_level``, ``n`` (respondents in the base), ``cited`` (respondents who
    cited the option; the mean's base for a score), and the equality test's ``F``, ``p`` and ``p_adj``."""
    d, columns = _statistics(residents, cb)
    answered = np.asarray(d.weights, dtype=float) > 0
    department = d.data["departement"].astype(str).to_numpy()
    rows = []
    for family, column, item, label in columns:
        interval = "wald" if family == "scores" else SHARE_INTERVAL
        e = by_domain(d, [column], "departement", None, level, interval)
        x = d.data[column].to_numpy(dtype=float)
        test = mean_homogeneity if family == "scores" else share_homogeneity
        F, _, _, p = test(d, column, "departement")
        for r in e.itertuples():
            here = answered & (department == r.domaine)
            rows.append({"family": family, "item": item, "label": label, "departement": r.domaine,
                         "département": DEPARTMENTS.get(r.domaine, r.domaine), "estimate": r.estimate, "se": r.se,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "confidence_level": level, "n": int(r.n),
                         "cited": int(np.nansum(x[here] == 1)) if family != "scores" else int(r.n), "F": F, "p": p})
    out = pd.DataFrame(rows)
    tests = out.drop_duplicates("item")[["family", "item", "p"]].copy()
    for _, g in tests.groupby("family", sort=False):
        tests.loc[g.index, "p_adj"] = adjust_pvalues(g["p"], adjust)
    return out.merge(tests[["item", "p_adj"]], on="item")
