"""portrait.survey — design-based survey analysis: the engine, independent of any study.

A :class:`Design` holds a probability sample (data, weights, strata, PSUs, fpc) and the history of
its weighting steps; every step returns a new design. Estimators take a design and return a
table with estimates, standard errors and confidence intervals, by Taylor linearisation (with
calibration residuals) or by replicate weights that re-run the whole weighting recipe.

======================  ==========================================================  ==================
module                  what                                                        R ``survey``
======================  ==========================================================  ==================
``design``              :class:`Design` (one stage, or several given as lists)      ``svydesign``
``multistage``          later stages' variances, fpc at each stage                  ``svyrecvar``
``pps``                 PSUs drawn with unequal probabilities without replacement:  ``svydesign(pps=)``,
                        Brewer, Overton, :func:`hartley_rao`,                        ``HR``, ``ppsmat``
                        :func:`joint_probabilities` (HT or YG form)
``labels``              codes of strata and PSU labels (sorted as R sorts them)
``files``               :func:`write_design`, :func:`read_design` (weighted file)    ``svrepdesign``
``margins``             :class:`Margin`, :class:`NumericTotal`,                      (``population=``)
                        :func:`margins_from_long`
``calibration``         :func:`calibrate` (linear, raking, logit, truncated)         ``calibrate``
                        (R ``rake``'s weights; its SE is ``calibrate``'s, not
                        ``rake``'s one pass of post-stratification residuals)
``newton``              the calibration's Newton solver and distances, on one
                        problem or on all replicates at once (same iterates)
``poststratification``  :func:`post_stratify` (linear calibration on one factor or  ``postStratify``
                        several crossed)
``feasibility``         infeasible bounds named, bounds widened in a replicate
``trimming``            :func:`trim_weights` (cap, share the excess equally)        ``trimWeights``
                        :func:`trim` (cap, then re-calibrate: no R function)
``nonresponse``         :func:`adjust_nonresponse` (classes, propensity)            (``postStratify``)
``diagnostics``         :func:`weight_diagnostics`, :func:`kish_deff`,              ``weights``
                        :func:`margin_table`
``linearisation``       :func:`linearised_variance`, :func:`residualise`            ``svyrecvar``
``replicates``          :func:`with_replicates` (Rao–Wu bootstrap, JK1, JKn, BRR,   ``as.svrepdesign``
                        Fay)
``estimation``          :func:`total`, :func:`mean`, :func:`proportion`,            ``svytotal``, ``svymean``,
                        :func:`ratio`                                               ``svyratio``
``repeated``            :class:`~portrait.survey.repeated.RepeatedMeans`: the same  (a loop of
                        means on many designs of one sample (a simulation's inner   ``svymean``)
                        loop), the variables read once
``proportions``         :func:`proportion_interval` (logit, xlogit, asin,           ``svyciprop``
                        Korn–Graubard beta)
``likelihood``          profile-likelihood interval of a proportion                 ``svyciprop``
                        (``interval="likelihood"`` of :func:`mean`)                 (``"likelihood"``)
``dispersion``          :func:`var` (population variance, with its SE)              ``svyvar``
``contrasts``           :func:`contrast` (linear or nonlinear), :func:`vcov`         ``svycontrast``,
                        (``covariance=True`` on the estimators)                     ``vcov``
``inference``           :func:`mean_difference`, :func:`stack`,                     ``svyttest``,
                        :func:`subset`, :func:`update`, :func:`welch_df`,           ``subset``,
                        :func:`domain_degf`                                         ``update``, ``degf``
``independence``        :func:`rao_scott` (F, Chisq, saddlepoint p),                ``svychisq``
                        :func:`wald_independence` (Wald, Fellegi's adjusted)
``ranks``               :func:`rank_test` (Wilcoxon, van der Waerden, median;       ``svyranktest``
                        two groups or more: Kruskal–Wallis)
``multiresponse``       :func:`multiple_response_test` (Bilder–Loughin, Rao–Scott    (``MRCV``)
                        second order) for « pick any » questions;
                        :func:`option_indicators`, :func:`indicator_test`: the
                        same test on options read once;
                        :func:`independent_indicator_test`: two independent
                        surveys, each on its own design
``quantiles``           :func:`quantile` (Woodruff intervals: Wald, logit,          ``svyquantile``
                        arcsine, beta; Francisco and Fuller's score interval; or
                        the replicates' quantiles)
``regression``          :func:`svyglm` (gaussian, logistic, Poisson; two-way        ``svyglm``,
                        interactions, offsets), :meth:`Fit.wald`,                   ``regTermTest``,
                        :func:`joint_vcov` (several fits' coefficients together)    (``svrVar``)
``ordinal``             :func:`svyolr` (proportional odds; logistic, probit,        ``svyolr``
                        cloglog, cauchit links; offsets)
``terms``               :func:`model_matrix` (formulas as R writes them, R's        ``model.matrix``
                        column names)
``expressions``         expression terms: ``I(ell^2)``, ``I(meals > 50)``,          ``I()``,
                        ``log(x)``                                                  ``model.matrix``
``lrt``                 :func:`working_lrt` (working likelihood-ratio test of a     ``regTermTest``
                        model's terms), :func:`pchisqsum`, :func:`pfsum`            (``method="LRT"``),
                                                                                    ``pchisqsum``, ``pFsum``
``prediction``          :func:`predict` (link or response scale, delta-method SE,   ``predict.svyglm``
                        covariance of the predictions)
``sampling``            :func:`inclusion_probabilities`, :func:`systematic_pps`,    (``sampling``)
                        :func:`stratified_srswor`, :func:`allocate`
======================  ==========================================================  ==================

The engine stands alone: no module of it imports another part of portrait (``tests/test_architecture.py``
checks it). Every estimator is checked against R ``survey`` on committed fixtures.

Examples
--------
>>> from portrait import survey
>>> d = survey.Design.from_frame(df, weights="w", strata="stratum")
>>> d = survey.calibrate(d, [survey.Margin.of("sex", {"F": 520, "M": 480})], method="raking")
>>> d = survey.with_replicates(d, "bootstrap", 500, rng)
>>> survey.mean(d, "age", variance="replicates")

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87, 376–382.
Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data. *JASA* 83, 231–241.
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with cell
proportions estimated from survey data. *Annals of Statistics* 12, 46–60.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Bilder, C. R. and Loughin, T. M. (2004). Testing for marginal independence between two categorical variables
with multiple responses. *Biometrics* 60, 241–248.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:                     # for type checkers and IDEs; at run time names load on first use
    from .calibration import METHODS as CALIBRATION_METHODS
    from .calibration import CalibrationResult, calibrate
    from .poststratification import post_stratify
    from .margins import Margin, NumericTotal, margins_from_long
    from .design import Design, Step
    from .diagnostics import kish_deff, margin_table, standardised_differences, weight_diagnostics
    from .errors import CalibrationError, ConvergenceError, ParameterError, SamplingError, SurveyError
    from .estimation import mean, proportion, ratio, total
    from .proportions import proportion_interval
    from .dispersion import var
    from .contrasts import contrast, vcov
    from .files import design_table, first_replicates, read_design, read_metadata, with_replicate_weights, write_design
    from .terms import model_matrix
    from .inference import Difference, domain_degf, welch_df, mean_difference, stack, subset, update
    from .independence import RaoScott, WaldIndependence, rao_scott, wald_independence
    from .ranks import MultiRankTest, RankTest, rank_test
    from .design import LONELY
    from .linearisation import linearised_variance, psu_totals, residualise
    from .nonresponse import NonresponseResult, adjust_nonresponse, collapse_groups
    from .multiresponse import (MultipleResponseTest, independent_indicator_test, indicator_test, multiple_response_test,
                                option_indicators)
    from .quantiles import quantile
    from .trimming import trim, trim_weights
    from .ordinal import svyolr
    from .regression import Fit, WaldTest, joint_vcov, svyglm
    from .lrt import LRTResult, pchisqsum, pfsum, working_lrt
    from .prediction import predict
    from .pps import PPS, HartleyRao, JointProbabilities, hartley_rao, joint_probabilities
    from .replicates import replicate_factors, replicate_variance, with_replicates
    from .sampling import ALLOCATION_RULES, allocate, inclusion_probabilities, stratified_srswor, systematic_pps

# public name -> (module, name in it): a submodule is imported the first time one of its names is used,
# so that importing one part of the engine (e.g. its errors) does not import scipy and the estimators
_EXPORTS = {
    "CALIBRATION_METHODS": ("calibration", "METHODS"),
    "CalibrationResult": ("calibration", "CalibrationResult"),
    "Margin": ("margins", "Margin"),
    "NumericTotal": ("margins", "NumericTotal"),
    "calibrate": ("calibration", "calibrate"),
    "post_stratify": ("poststratification", "post_stratify"),
    "margins_from_long": ("margins", "margins_from_long"),
    "trim": ("trimming", "trim"),
    "trim_weights": ("trimming", "trim_weights"),
    "Design": ("design", "Design"),
    "Step": ("design", "Step"),
    "kish_deff": ("diagnostics", "kish_deff"),
    "margin_table": ("diagnostics", "margin_table"),
    "standardised_differences": ("diagnostics", "standardised_differences"),
    "weight_diagnostics": ("diagnostics", "weight_diagnostics"),
    "CalibrationError": ("errors", "CalibrationError"),
    "ConvergenceError": ("errors", "ConvergenceError"),
    "ParameterError": ("errors", "ParameterError"),
    "SamplingError": ("errors", "SamplingError"),
    "SurveyError": ("errors", "SurveyError"),
    "mean": ("estimation", "mean"),
    "proportion": ("estimation", "proportion"),
    "proportion_interval": ("proportions", "proportion_interval"),
    "ratio": ("estimation", "ratio"),
    "total": ("estimation", "total"),
    "var": ("dispersion", "var"),
    "contrast": ("contrasts", "contrast"),
    "vcov": ("contrasts", "vcov"),
    "design_table": ("files", "design_table"),
    "first_replicates": ("files", "first_replicates"),
    "read_design": ("files", "read_design"),
    "read_metadata": ("files", "read_metadata"),
    "with_replicate_weights": ("files", "with_replicate_weights"),
    "write_design": ("files", "write_design"),
    "Difference": ("inference", "Difference"),
    "RankTest": ("ranks", "RankTest"),
    "MultiRankTest": ("ranks", "MultiRankTest"),
    "RaoScott": ("independence", "RaoScott"),
    "domain_degf": ("inference", "domain_degf"),
    "welch_df": ("inference", "welch_df"),
    "mean_difference": ("inference", "mean_difference"),
    "model_matrix": ("terms", "model_matrix"),
    "rank_test": ("ranks", "rank_test"),
    "rao_scott": ("independence", "rao_scott"),
    "WaldIndependence": ("independence", "WaldIndependence"),
    "wald_independence": ("independence", "wald_independence"),
    "stack": ("inference", "stack"),
    "subset": ("inference", "subset"),
    "update": ("inference", "update"),
    "LONELY": ("design", "LONELY"),
    "linearised_variance": ("linearisation", "linearised_variance"),
    "psu_totals": ("linearisation", "psu_totals"),
    "residualise": ("linearisation", "residualise"),
    "NonresponseResult": ("nonresponse", "NonresponseResult"),
    "adjust_nonresponse": ("nonresponse", "adjust_nonresponse"),
    "collapse_groups": ("nonresponse", "collapse_groups"),
    "Fit": ("regression", "Fit"),
    "WaldTest": ("regression", "WaldTest"),
    "svyglm": ("regression", "svyglm"),
    "joint_vcov": ("regression", "joint_vcov"),
    "svyolr": ("ordinal", "svyolr"),
    "LRTResult": ("lrt", "LRTResult"),
    "pchisqsum": ("lrt", "pchisqsum"),
    "pfsum": ("lrt", "pfsum"),
    "working_lrt": ("lrt", "working_lrt"),
    "predict": ("prediction", "predict"),
    "PPS": ("pps", "PPS"),
    "HartleyRao": ("pps", "HartleyRao"),
    "JointProbabilities": ("pps", "JointProbabilities"),
    "hartley_rao": ("pps", "hartley_rao"),
    "joint_probabilities": ("pps", "joint_probabilities"),
    "quantile": ("quantiles", "quantile"),
    "MultipleResponseTest": ("multiresponse", "MultipleResponseTest"),
    "multiple_response_test": ("multiresponse", "multiple_response_test"),
    "option_indicators": ("multiresponse", "option_indicators"),
    "indicator_test": ("multiresponse", "indicator_test"),
    "independent_indicator_test": ("multiresponse", "independent_indicator_test"),
    "replicate_factors": ("replicates", "replicate_factors"),
    "replicate_variance": ("replicates", "replicate_variance"),
    "with_replicates": ("replicates", "with_replicates"),
    "ALLOCATION_RULES": ("sampling", "ALLOCATION_RULES"),
    "allocate": ("sampling", "allocate"),
    "inclusion_probabilities": ("sampling", "inclusion_probabilities"),
    "stratified_srswor": ("sampling", "stratified_srswor"),
    "systematic_pps": ("sampling", "systematic_pps"),
}

__all__ = [
    "CALIBRATION_METHODS", "CalibrationResult", "Margin", "NumericTotal", "calibrate", "margins_from_long", "trim",
    "trim_weights", "post_stratify",
    "Design", "Step", "kish_deff", "margin_table", "standardised_differences", "weight_diagnostics",
    "CalibrationError", "ConvergenceError", "ParameterError", "SamplingError", "SurveyError", "mean", "proportion", "proportion_interval",
    "ratio", "total", "var", "contrast", "vcov",
    "design_table", "first_replicates", "read_design", "read_metadata", "with_replicate_weights", "write_design",
    "Difference", "MultiRankTest", "RankTest", "RaoScott", "domain_degf", "welch_df", "mean_difference", "model_matrix", "rank_test",
    "rao_scott", "WaldIndependence", "wald_independence", "stack", "subset", "update", "LONELY", "linearised_variance", "psu_totals", "residualise",
    "NonresponseResult", "adjust_nonresponse", "collapse_groups", "Fit", "WaldTest", "svyglm", "joint_vcov", "svyolr", "predict", "quantile",
    "LRTResult", "pchisqsum", "pfsum", "working_lrt",
    "PPS", "HartleyRao", "JointProbabilities", "hartley_rao", "joint_probabilities",
    "MultipleResponseTest", "multiple_response_test", "option_indicators", "indicator_test",
    "independent_indicator_test",
    "replicate_factors", "replicate_variance", "with_replicates", "ALLOCATION_RULES", "allocate",
    "inclusion_probabilities", "stratified_srswor", "systematic_pps",
]


def __getattr__(name: str):
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
