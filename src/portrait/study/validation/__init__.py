"""Validation study (STUDY §8): Monte Carlo bias, RMSE and confidence-interval coverage of the whole chain.

The simulator's population truth is known, so the chain can be checked by repetition: draw both samples, simulate
the fieldwork, weight and estimate, many times over, and compare with the truth. The modules, in the order a run
goes through them:

- :mod:`~portrait.study.validation.setup`: what a run fixes before any replication (estimators, variance methods,
  key statistics, targets, with their French labels; :class:`Validation`, the frames, population and truth
  computed once);
- :mod:`~portrait.study.validation.targets`: the two targets side by side (super-population, fixed finite
  population), the variance estimator each calls for, the published run's record and stored results;
- :mod:`~portrait.study.validation.replications`: one replication (:func:`replicate`) and many
  (:func:`run`, on local processes or a Dask cluster);
- :mod:`~portrait.study.validation.profiles`: the whole-profile test of the multiple-response items;
- :mod:`~portrait.study.validation.monte_carlo`: the Monte Carlo summary (:func:`summary`) and its French tables;
- :mod:`~portrait.study.validation.coverage`: what each weighting step does to the coverage;
- :mod:`~portrait.study.validation.criteria`: the acceptance criteria one by one, with their verdicts;
- :mod:`~portrait.study.validation.conclusion`: the conclusion in French;
- :mod:`~portrait.study.validation.published`: the published run's sizes.

The public names of ``setup``, ``replications``, ``profiles``, ``monte_carlo``, ``coverage`` and ``conclusion`` are
also attributes of this package (``validation.run``, ``validation.summary``), and every module is one
(``validation.targets.sampling_fractions``, ``validation.criteria.criteria``); all are loaded on first use, so the
index reads :mod:`~portrait.study.validation.published` without loading the data libraries. The acceptance bands
(``COVERAGE_BAND``, ``BIAS_LIMIT``, ``SE_RATIO_BAND``, ``SIZE_BAND``) are defined in ``monte_carlo``, which judges the
conclusion's numbers with a Monte Carlo tolerance; ``criteria`` applies them as stated, for report 08's table.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "setup": ("ESTIMATORS", "ESTIMATOR_LABELS", "VARIANCES", "VARIANCE_LABELS", "DIFFERENCE_NAME", "SURVEYS",
              "SURVEY_LABELS", "TARGETS", "TARGET_LABELS", "CALIBRATED", "KEY_STATISTICS", "RESULT_COLUMNS",
              "PROFILE_ITEMS", "PROFILE", "PROFILE_HALVES", "PROFILE_STATISTICS", "TWO_STAGE", "Validation",
              "key_truth", "FINITE_COLUMNS", "finite_population_truth", "target_rows"),
    "profiles": ("COMPARISON_LABELS", "profile_tests", "profile_test_columns", "profile_summary", "profile_acceptance",
                 "profile_table_fr", "profile_finding", "profile_halves_fr"),
    "replications": ("replication_index", "simulate_responses", "replicate", "differences", "single_threaded_blas",
                     "run"),
    "monte_carlo": ("wilson", "SUMMARY_KEYS", "summary", "replication_coverage", "pooled_interval", "by_estimator",
                    "statistic_labels", "overview_table_fr", "detail_table_fr", "truth_table_fr", "expected_outside",
                    "COVERAGE_BAND", "in_question", "acceptance"),
    "conclusion": ("conclusion_fr",),
    "coverage": ("widened_replicates", "widening_sentence_fr", "coverage_finding", "bias_finding", "tests_finding"),
}
_MODULES = ("setup", "targets", "replications", "profiles", "monte_carlo", "coverage", "criteria", "conclusion",
            "published")
_SOURCE = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = [name for names in _PUBLIC.values() for name in names]


def __getattr__(name: str):
    if name in _SOURCE:
        return getattr(importlib.import_module(f"{__name__}.{_SOURCE[name]}"), name)
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SOURCE, *_MODULES])
