"""Simulated fieldwork: a super-population model of the answers, with known population truth.

The real 2017 answers are not public; this module plays the survey (STUDY §5). Its parameters
are in ``config/fieldwork_model.yaml``; its questionnaire is the codebook. The model is:

**Who the people are.**
*Residents* (one per invitation slot of the resident sample) live in the slot's commune: their
department and commune size class are known. Their sex × age group is drawn from the INSEE
estimates (15+) of their department, and their education from a table ``P(diploma | age)``.
The resident population (all residents aged 15+) is the set of cells department × size class ×
sex × age × education with ``N = pop15(department, size class) × P(sex, age | department) ×
P(education | age)``: sex and age are assumed independent of the commune size within a
department (INSEE gives them by department only).
*Visitors* are the sampled pseudonymised persons with their frame attributes (zone visited,
source type, purpose, country, region of residence, multiplicity). A purpose or country that the
partner did not record is drawn from fixed shares (purpose given the source type). Their sex
depends on the source type, their age group on the source type (and on the purpose for business
trips), their education on their age (tables in the parameters). The visitor population is the
visitor frame: every person of ``visitor_frame.parquet`` with the same conditional model (cells
with an unrecorded attribute are split in the same shares).

**What they answer.** Ordinal items (scores 0–10, agreement 1–5, « ambassadeur » 1–4) follow a
cumulative probit model: a latent opinion ``y* = location + x'β + λu + e`` with ``u`` (general
favourability of the person, shared by all items) and ``e`` independent standard normals, cut
at fixed thresholds. Given the covariates, ``y*`` is normal with variance ``1 + λ²``, so every
answer probability is a normal CDF: population values are exact sums over cells.
For a common-core item the visitors' thresholds are first solved so that the visitors'
population distribution of answers equals the residents' one (« no difference »); the visitors'
opinion is then shifted by the item's ``group_shift`` (latent standard deviations). Items with
``group_shift = 0`` therefore have *exactly* the same population distribution in both groups;
the others differ by design.
« Ne sait pas » (code 99) is drawn independently of the opinion, with a logit model by group and
age; the population shares of the answer codes are defined among the persons who would give a
substantive answer, and the share of « Ne sait pas » among all.
The nominal item « attachement » follows a multinomial logit. Multi-select items (forces,
faiblesses: 1 to 3 options) and the three open words are drawn without replacement with
probabilities proportional to option weights (Plackett–Luce, drawn with the Gumbel top-k
trick); the probability that a person cites an option is computed exactly by summing over the
ordered picks.

**Who answers.** Each sampled unit is out of scope (excluded), or its invitation is not
delivered, or it responds with a logistic propensity depending on covariates — for residents
age, sex, department and commune size (older people and small communes answer more); for
visitors only what the partner files record (senior groups and multi-file clients answer more,
congress, foreign and business visitors less; a purpose or country drawn because the partner did
not record it plays no part, :func:`as_recorded`) — whose intercept is solved so that the population
mean equals the target rate.
Non-respondents may refuse explicitly; respondents may break off (every later question blank,
``complet = 0``). Respondents skip questions (item non-response) with logit rates by item and
age. Because the propensity depends on covariates that drive the answers, the unweighted mean of
the respondents is biased; design weights and calibration on the covariates correct it (the
default propensity depends on nothing else; ``nmar_loading > 0`` makes it depend on the opinion
itself).

Everything is drawn from named streams of :func:`portrait.pipeline.config.rng` (one per purpose), so the
same parameters give byte-identical outputs, and changing one part leaves the others' draws
unchanged.

The simulator is split by concern; every name is re-exported here, so ``fieldwork.simulate(...)``
and the other names below are used from this package:

- :mod:`.model` — the parameters (``config/fieldwork_model.yaml``) checked against the codebook,
  the covariate effects;
- :mod:`.population` — resident and visitor population cells, visitor frame labels mapped to keys;
- :mod:`.true_values` — solved intercepts and thresholds, exact answer probabilities, :func:`truth`;
- :mod:`.simulation` — profiles, answers, response and break-off drawn; :func:`simulate`;
- :mod:`.drawing` — the simulation's draws from its uniforms (categories, top choices, respondents' rows);
- :mod:`.stage` — what notebook 03 does around it (survey folder, truth table, estimates beside
  the truth, response rates, age profile);
- :mod:`.finite` — a fixed finite population (every frame unit's profile and answers drawn once
  from a counter-based generator keyed by the unit) and its exact values, the validation study's
  second target; used as ``fieldwork.finite``.

References
----------
McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42(2), 109–142.
Plackett, R. L. (1975). The analysis of permutations. *Applied Statistics* 24(2), 193–202.
Kool, W., van Hoof, H. and Welling, M. (2019). Stochastic beams and where to find them: the
Gumbel-top-k trick for sampling sequences without replacement. *ICML*.
Särndal, C.-E. and Lundström, S. (2005). *Estimation in Surveys with Nonresponse*. Wiley.
"""

from __future__ import annotations

from .model import (MODEL_FILE, GROUPS, AGE_KEYS, AGE_SPAN, SEX_KEYS, SOURCE_LABEL, COVARIATES, NUMERIC_COVARIATES,
                    VISITOR_ATTRIBUTES, CONTEXT, PROFILE, REQUIRED_SECTIONS, FieldworkModel, CATEGORICAL_COVARIATES,
                    as_categories, effects, option_effects)
from .population import (Population, resident_population, UNKNOWN, as_recorded, map_visitor_attributes,
                         resolve_unknown, visitor_population)
from .true_values import (Calibration, calibrate, ordinal_probabilities, categorical_probabilities,
                          pick_probabilities, multi_mention_probabilities, word_mention_probabilities, truth)
from .simulation import (Simulation, resident_units, visitor_units, simulate, expected_respondents, source_label,
                         _simulate_group)
from . import finite
from .stage import (TRUTH_COLUMNS, FieldworkSettings, prepare_survey_folder, truth_table, point_estimates,
                    compare_with_truth, true_response_rates, age_profile)

__all__ = ["MODEL_FILE", "GROUPS", "AGE_KEYS", "AGE_SPAN", "SEX_KEYS", "SOURCE_LABEL", "COVARIATES",
           "NUMERIC_COVARIATES", "VISITOR_ATTRIBUTES", "CONTEXT", "PROFILE", "REQUIRED_SECTIONS", "FieldworkModel",
           "CATEGORICAL_COVARIATES", "as_categories", "effects", "option_effects", "Population",
           "resident_population", "UNKNOWN", "as_recorded", "map_visitor_attributes", "resolve_unknown", "visitor_population",
           "Calibration", "calibrate", "ordinal_probabilities", "categorical_probabilities", "pick_probabilities",
           "multi_mention_probabilities", "word_mention_probabilities", "truth", "Simulation", "resident_units",
           "visitor_units", "simulate", "expected_respondents", "source_label", "TRUTH_COLUMNS", "FieldworkSettings",
           "prepare_survey_folder", "truth_table", "point_estimates", "compare_with_truth", "true_response_rates",
           "age_profile", "finite", "_simulate_group"]          # private, but portrait.study.validation draws with it
