"""Predictions of a survey-weighted GLM at new covariate values, with their standard errors (R ``predict.svyglm``).

New rows are coded as the fit coded its data: each categorical term with the fit's levels (R's ``xlevels``), each
numeric term as it is, the same interactions. The prediction is ``η = x'β`` on the link scale and ``μ = g⁻¹(η)`` on
the response scale; its variance is ``x'Vx`` (``V`` the fit's covariance, sandwich or replicate) on the link scale
and, by the delta method, ``(dμ/dη)² x'Vx`` on the response scale, as R computes them. Checked against R
``predict.svyglm`` and ``predict.svrepglm`` in ``tests/test_prediction.py``.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (chapter 5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .contrasts import KEY, covariance_attrs
from .errors import ParameterError, check_finite
from .expressions import with_expressions
from .regression import FAMILIES, Fit, expand_terms, model_matrix, offset_values

TYPES = ("link", "response")


def _coded(fit: Fit, newdata: pd.DataFrame) -> np.ndarray:
    """The model matrix of ``newdata`` coded as the fit coded its data; NaN rows where a term's value is missing."""
    if not isinstance(newdata, pd.DataFrame):
        raise ParameterError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
    mains, _ = expand_terms(list(fit.terms))
    newdata = newdata.assign(**with_expressions(newdata, mains))       # I(ell^2), log(enroll): computed as in the fit
    absent = [t for t in mains if t not in newdata.columns]
    if absent:
        raise ParameterError(f"newdata has no column {', '.join(map(repr, absent))}; the model's terms are {mains}")
    levels = fit.model["levels"]
    missing = np.zeros(len(newdata), dtype=bool)
    coded = {}
    for t in mains:
        s = newdata[t]
        missing |= s.isna().to_numpy()
        if t in levels:
            codes = pd.Index(levels[t]).get_indexer(s.astype(object))
            unseen = int(np.sum((codes < 0) & s.notna().to_numpy()))
            if unseen:      # the values themselves are not shown: they may identify someone
                raise ParameterError(f"column {t!r}: {unseen} row(s) of newdata hold a level the fit does not have "
                                     f"(the model has {len(levels[t])} levels of {t!r}, held by the units it used)")
            coded[t] = pd.Series(pd.Categorical.from_codes(codes, categories=levels[t]), index=newdata.index)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) \
                and not isinstance(s.dtype, pd.CategoricalDtype):
            check_finite(s.to_numpy(dtype=float), t)
            coded[t] = s.astype(float)
        else:
            raise ParameterError(f"column {t!r} is a numeric term of the model (one slope), but newdata's is not "
                                 f"numeric ({s.dtype})")
    X = model_matrix(pd.DataFrame(coded, index=newdata.index), list(fit.terms),
                     intercept="(Intercept)" in fit.names)
    if list(X.columns) != list(fit.names):
        raise ParameterError(f"newdata gives the columns {list(X.columns)}, the fit has {list(fit.names)}")
    X = np.array(X, dtype=float)
    X[missing] = np.nan
    return X


def _offsets(fit: Fit, newdata: pd.DataFrame) -> np.ndarray:
    """The fit's offsets (:func:`~portrait.survey.svyglm`'s ``offset``) computed on ``newdata`` (0 without any), as R's
    ``predict`` adds them; NaN where one is missing."""
    offsets = fit.model.get("offset", ())
    if not offsets:
        return np.zeros(len(newdata))
    off = offset_values(newdata, offsets)
    check_finite(np.where(np.isnan(off), 0.0, off), "the offset")
    return off


def predict(fit: Fit, newdata: pd.DataFrame, type: str = "link", level: float = 0.95,
            covariance: bool = False) -> pd.DataFrame:
    """Predict a survey-weighted GLM at new covariate values, with standard errors (R ``predict.svyglm``).

    The linear predictor ``η = x'β`` of each row of ``newdata`` (coded with the fit's levels, as R codes it with
    the fit's ``xlevels``; plus the fit's offsets computed on ``newdata``, as R's ``predict.glm`` adds them, where
    R's ``predict.svyglm`` (survey 4.1.1) leaves them out), or the mean ``μ = g⁻¹(η)``. Standard errors as R's: ``√(x'Vx)`` on the link scale
    with ``V`` the fit's covariance (sandwich or replicate), ``|dμ/dη| √(x'Vx)`` on the response scale (the delta
    method). R gives no interval; here it is Student's t on the fit's residual df on the link scale,
    ``η ± t √(x'Vx)``, and on the response scale that interval carried through ``g⁻¹`` (it stays in (0, 1) for a
    logit, positive for a log link, and is not symmetric around ``μ``).

    Parameters
    ----------
    fit : Fit
        A fit of :func:`svyglm`, linearised or replicate (a :func:`svyolr` fit is refused).
    newdata : pandas.DataFrame
        One row per prediction, with a column for each main term of the model and each column its offsets read
        (other columns are ignored): a
        categorical term's values among the levels the fit used, a numeric term's numbers. A row with a missing
        value in one of them gets NaN (R drops it).
    type : {"link", "response"}, default "link"
        The scale of the predictions: the linear predictor ``η``, or the mean ``μ`` (the same for a gaussian model).
    level : float, default 0.95
        Confidence level of the intervals.
    covariance : bool, default False
        Keep the covariance matrix of the predictions (``X V X'``, times ``dμ/dη`` on each side on the response
        scale: R's ``vcov = TRUE``) in the table's ``attrs["covariance"]``, for :func:`vcov` and :func:`contrast`.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``newdata``, with its index: ``statistic`` (``"prediction"``), ``variable`` (the row's
        index label, or its position from 1 when the index has duplicates: the name :func:`contrast` knows it
        by), ``domain`` and ``level`` (empty), ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df`` and
        ``variance`` (the fit's method).

    Raises
    ------
    ParameterError
        If ``fit`` is not a :func:`svyglm` fit, ``type`` or ``level`` is invalid, ``newdata`` is not a DataFrame
        or lacks a term's column, a categorical term holds a level the fit does not have (the column and the
        number of rows are named, not the values), or a numeric term is not numeric or not finite.

    See Also
    --------
    svyglm, contrast, vcov

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (chapter 5, ``predict``)

    Examples
    --------
    >>> fit = svyglm(d, "api00 ~ ell + meals + stype")  # doctest: +SKIP
    >>> new = pd.DataFrame({"ell": [5, 25], "meals": [10, 40], "stype": ["E", "H"]})  # doctest: +SKIP
    >>> predict(fit, new, covariance=True)  # doctest: +SKIP
    """
    if not getattr(fit, "model", None):
        raise ParameterError("predict takes a fit of svyglm: a proportional-odds fit (svyolr), or a Fit built by "
                             "hand, does not say how to code new data")
    if type not in TYPES:
        raise ParameterError(f"type must be 'link' or 'response', got {type!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ParameterError(f"level must be a confidence level between 0 and 1 (e.g. 0.95), got {level!r}")
    inv_link, mu_eta = FAMILIES[fit.model["family"]]
    X = _coded(fit, newdata)
    off = _offsets(fit, newdata)
    X[np.isnan(off)] = np.nan
    beta, V = np.asarray(fit.coef, dtype=float), np.asarray(fit.vcov, dtype=float)
    eta = X @ beta + off
    XV = X @ V
    se = np.sqrt(np.maximum(np.einsum("ij,ij->i", XV, X), 0.0))
    half = stats.t.ppf(0.5 + level / 2, fit.df) * se
    low, high = eta - half, eta + half
    d = np.ones_like(eta)
    if type == "response":
        d = mu_eta(inv_link(eta))          # dμ/dη; for these canonical links, the family's variance function
        eta, low, high, se = inv_link(eta), inv_link(low), inv_link(high), np.abs(d) * se
    labels = newdata.index if newdata.index.is_unique else pd.RangeIndex(1, len(newdata) + 1)
    out = pd.DataFrame({"statistic": "prediction", "variable": [str(i) for i in labels], "domain": "", "level": "",
                        "estimate": eta, "se": se, "ci_low": low, "ci_high": high, "df": float(fit.df),
                        "variance": fit.variance}, index=newdata.index)
    if covariance:
        C = d[:, None] * (XV @ X.T) * d[None, :]
        out.attrs["covariance"] = covariance_attrs(list(out[KEY].itertuples(index=False)), C, float(fit.df),
                                                   fit.variance)
    return out
