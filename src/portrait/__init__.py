"""portrait: reproducible quantitative phase of the Portrait identitaire des Hauts-de-France.

Modules follow the workflow:

- ``paths``, ``config``, ``io``, ``errors``: where things are, parameters, atomic outputs, typed errors;
- ``sources``: raw inputs and their checksums;
- ``frames``, ``sampling``: the resident frame and the two-stage PPS draw;
- ``partners``, ``visitors``: partner client files (synthetic generator) and the visitor frame;
- ``codebook``, ``fieldwork``, ``exports``, ``ingest``: questionnaires, the response simulator,
  survey-tool exports and their validated ingest;
- ``design``, ``weighting``, ``variance``, ``estimation``: the design object, calibration and
  non-response adjustment, linearised and replicate variances, estimators;
- ``recipes``: the weighting recipes of the two surveys;
- ``items``, ``compare``, ``models``: common-core statistics, the resident/visitor comparison,
  differences, Rao–Scott, rank tests, survey regressions;
- ``synthesis``: sentences and disclosure control of the reviewers' report;
- ``plots``, ``run``, ``render``, ``report``: figures, papermill runner, HTML, index.
"""

__version__ = "0.1.0"
