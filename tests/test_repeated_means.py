"""RepeatedMeans gives survey.mean's numbers, to the last bit, on every design of one data.

Oracle: :func:`portrait.survey.mean` itself (checked against R ``svymean``/``svyciprop`` in the R-fixture tests),
called on each design afresh; the designs cover what a simulation's loop meets: design weights, a calibration,
respondents dropped (weights set to 0), a calibration after them, replicate weights, the logit interval of shares
and Student's interval of a mean with missing values.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from portrait import survey
from portrait.survey import Margin, NumericTotal, repeated
from portrait.survey.errors import ParameterError

STYPE = Margin.of("stype", {"E": 4421, "H": 755, "M": 1018})
API99 = NumericTotal("api99", 3914069)


@pytest.fixture(scope="module")
def designs(dclus1):
    """dclus1 with derived variables (a share, a mean with missing values), then several weightings of it."""
    rng = np.random.default_rng(5)
    data = dclus1.data.assign(high=(dclus1.data["api00"] > 700).astype(float),
                              ell_na=np.where(rng.random(len(dclus1.data)) < 0.2, np.nan, dclus1.data["ell"] * 1.0))
    base = replace(dclus1, data=data)
    dropped = base.with_weights(np.where(rng.random(len(data)) < 0.15, 0.0, base.weights))
    return {"design": base, "calibrated": survey.calibrate(base, [STYPE, API99], method="raking"),
            "dropped": dropped, "dropped, calibrated": survey.calibrate(dropped, [STYPE], method="linear"),
            "bootstrap": survey.with_replicates(survey.calibrate(base, [STYPE]), "bootstrap", 30,
                                                np.random.default_rng(7))}


def test_the_numbers_of_mean_on_every_design(designs):
    """Each design in turn, the respondents changing and coming back: estimate, se, interval, df and n equal
    survey.mean's exactly (linearised, and with the replicates for the design that has them)."""
    variables, interval = ["high", "ell_na", "api99"], {"high": "logit"}
    first = next(iter(designs.values()))
    means = repeated.RepeatedMeans(first, variables, interval=interval)
    order = ["design", "dropped", "calibrated", "dropped, calibrated", "design", "bootstrap"]
    for name in order:
        d = designs[name]
        for variance in ("linearisation", "replicates") if d.has_replicates else ("linearisation",):
            ours = means.estimate(d, variance=variance, level=0.9)
            ref = survey.mean(d, variables, variance=variance, level=0.9, interval=interval)
            for c in repeated.VALUES:
                np.testing.assert_array_equal(ours[c], ref[c].to_numpy(), err_msg=f"{name}, {variance}: {c}")


def test_a_design_of_other_data_is_refused(designs):
    """The variables were read from one table: a design of another table (even equal) is refused."""
    d = designs["design"]
    means = repeated.RepeatedMeans(d, ["api00"])
    with pytest.raises(ParameterError, match="other data"):
        means.estimate(replace(d, data=d.data.copy()))


def test_variables_are_checked_as_mean_checks_them(designs):
    """A text column, an interval of an unknown variable: refused when read, as survey.mean refuses them."""
    d = designs["design"]
    with pytest.raises(ParameterError, match="not numeric"):
        repeated.RepeatedMeans(d, ["stype"])
    with pytest.raises(ParameterError, match="not among the variables"):
        repeated.RepeatedMeans(d, ["api00"], interval={"api99": "logit"})
