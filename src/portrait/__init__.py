"""portrait: reproducible quantitative phase of the Portrait identitaire des Hauts-de-France.

Four parts, each allowed to import only those before it (``tests/test_architecture.py`` checks it):

- :mod:`portrait.survey` — the survey engine, study-agnostic, with its public API in its
  ``__init__``: design object, calibration, non-response, diagnostics, linearisation,
  replicates, estimators, tests and models, sampling. Imports nothing else of portrait.
- :mod:`portrait.pipeline` — paths, configuration, atomic I/O, raw sources, errors and the
  notebook runner. Imports only the engine's errors.
- :mod:`portrait.study` — this study: frames and the resident draw, partner files and visitors,
  the questionnaire (codebook), the fieldwork simulator, survey-tool exports and their ingest,
  weighting recipes, comparison, validation. Imports the engine, the pipeline and the French
  formatter :mod:`portrait.reporting.formatting` (a leaf module).
- :mod:`portrait.reporting` — figures, French formatting, the reviewers' text, rendering and the
  index. May import everything above.

See ``ARCHITECTURE.md`` for the files each stage reads and writes.
"""

__version__ = "0.1.0"
