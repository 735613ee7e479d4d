"""The residents' two-stage variance against the chain's over many validation replications (BENCHMARKS.md,
thirty-eighth session): pooled coverage and SE / SD of the calibrated estimators, residents and differences, per target.

Run after ``make`` (it reads the chain's frames, recipes and the finite population's truth)::

    .venv/bin/python -m benchmarks.validation_two_stage -n 1000      # per target, linearised only, 2 workers

Not part of ``make test`` or ``make bench``: notebook 08 shows the same with the study's number of replications.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from portrait.study import validation

from .replication_stages import setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="replications per target")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    setups = {t: setup(t) for t in validation.TARGETS}
    start = time.perf_counter()
    results = pd.concat([validation.run(s, args.n, workers=args.workers, progress=False) for s in setups.values()],
                        ignore_index=True)
    print(f"{time.perf_counter() - start:.0f} s for {len(setups) * args.n} replications")
    summaries = validation.targets.summaries(results, setups)
    overstatement = validation.targets.sampling_fractions(setups["superpopulation"])["residents_overstatement"]
    print(validation.targets.two_stage_finding_fr(summaries, overstatement))
    for variance in ("linearisation", validation.TWO_STAGE):
        print(variance, validation.targets.targets_table_fr(summaries, variance).to_string(), sep="\n")
    for target, s in summaries.items():
        cal = s.loc[s["estimator"].isin(validation.CALIBRATED) & s["survey"].isin(("residents", validation.DIFFERENCE_NAME))]
        print(target, cal.groupby("variance")[["coverage", "se_ratio"]].agg(["min", "max"]), sep="\n")


if __name__ == "__main__":
    main()
