"""The split-half test's size in small samples: where report 08's « un peu libéral sur de petits échantillons » comes
from (``portrait.study.validation.profiles.SMALL_HALVES``).

Runs the validation's replications on the small setup of ``tests/test_validation.py`` (1,000 resident and 1,500
visitor invitations, a visitor frame of 6,000 synthetic clients) and prints, for each survey and multiple-response
item, the mean number of respondents per half and the share of the 5 % split-half tests that rejected, with its
Wilson interval. Both halves share one profile by construction, so that share is the test's size. Deterministic for a
seed; 200 replications take 2–4 minutes on one core.

    .venv/bin/python -m benchmarks.validation_small_halves -n 200

Not part of ``make test`` or ``make bench``: a measurement quoted by the report's constant and ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse

from portrait.study import frames, validation
from tests import helpers
from tests.conftest import DEFAULT
from tests.test_validation import RESIDENT_DESIGN, RESIDENT_WEIGHTING, VISITOR_DESIGN, VISITOR_WEIGHTING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="replications")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    s = validation.Validation.build(
        seed=args.seed, codebook_file="config/codebook.yaml", model_file="config/fieldwork_model.yaml",
        resident_frame=frames.resident_frame_from_params(DEFAULT), visitor_frame=helpers.example_visitor_frame(6000, seed=4),
        population_year=2017, resident_design=RESIDENT_DESIGN, visitor_design=VISITOR_DESIGN,
        resident_weighting=RESIDENT_WEIGHTING, visitor_weighting=VISITOR_WEIGHTING)
    r = validation.run(s, args.n, workers=args.workers)
    halves = r.loc[r["statistic"] == "profile_halves"]
    tested = halves.loc[halves["p"].notna()]
    print(f"{args.n} replications, seed {args.seed}: {len(tested)} split-half tests, "
          f"{len(halves) - len(tested)} failed")
    for (survey, item), part in list(tested.groupby(["survey", "item"])) + [(("all", ""), tested)]:
        k, m = int((part["p"] < 0.05).sum()), len(part)
        lo, hi = validation.monte_carlo.wilson(k, m)
        print(f"{survey:10} {item:11} respondents per half {part['n'].mean() / 2:6.1f}   "
              f"rejected {k:4d} of {m:4d} = {k / m:6.2%}  (Wilson 95 %: {lo:.2%}–{hi:.2%})")


if __name__ == "__main__":
    main()
