"""Where one replication of the validation study spends its time, stage by stage (issue 15: ≤ 0.15 s).

Run after ``make`` (it reads the chain's frames, recipes and the finite population's truth)::

    .venv/bin/python benchmarks/replication_stages.py            # super-population, 20 replications
    .venv/bin/python benchmarks/replication_stages.py --target finite -n 40

Each stage's function is wrapped with a timer for the run (the wrappers add a few milliseconds); the median of the
same replications without wrappers is printed first. One BLAS thread and the setup out of the garbage collector's
reach, as in the validation's workers. A stage whose function a replication does not call stops the run (two stages
timed nothing for a while, their names gone stale). Not part of ``make test`` or ``make bench``: a measurement for
whoever speeds the replication up.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import statistics
import sys
import time

import numpy as np
import pandas as pd

from portrait.pipeline import config, paths
from portrait.study import fieldwork, frames, ingest, recipes, validation, visitor_draw
from portrait.study.fieldwork import simulation

STAGES = [  # (module, function, label); nested stages are indented in the label
    (frames, "draw_resident_slots", "resident sample"),
    (visitor_draw, "sample_rows", "visitor sample (rows)"),
    (visitor_draw, "sample_at", "visitor sample (table)"),
    (fieldwork, "resident_units", "resident units"),
    (fieldwork, "visitor_units", "visitor units (frame attributes)"),
    (fieldwork, "_simulate_group", "fieldwork simulator (both surveys)"),
    (simulation, "_persons", "  of which persons"),
    (simulation, "_answers", "  of which answers"),
    (ingest, "assemble", "ingest table in memory"),
    (recipes, "weight_residents", "resident weighting recipe"),
    (recipes, "weight_visitors", "visitor weighting recipe"),
    (validation, "_survey_estimates", "key statistics, five estimators"),
    (validation, "_difference_columns", "differences visitors − residents"),
    (validation, "profile_test_columns", "multiple-response tests"),
    (validation, "_results", "result rows"),
]


def setup(target: str) -> validation.Validation:
    """The validation's setup as notebook 08 builds it from the study's parameters."""
    p = {**config.read_yaml(paths.resolve("config/study.yaml")),
         **config.read_yaml(paths.resolve("config/08_validation.yaml"))}
    fw = config.read_yaml(paths.resolve("config/03_fieldwork.yaml"))
    s = validation.Validation.build(
        seed=p["seed"], codebook_file=paths.resolve(fw["codebook_file"]), model_file=paths.resolve(fw["model_file"]),
        resident_frame=paths.resolve("data/processed/resident_frame.parquet"),
        visitor_frame=paths.resolve("data/processed/visitor_frame.parquet"), population_year=p["population_year"],
        resident_design=config.read_yaml(paths.resolve("config/01_resident_frame.yaml")),
        visitor_design=config.read_yaml(paths.resolve("config/02_visitor_frame.yaml")),
        resident_weighting=recipes.read_recipe(paths.resolve("data/processed/resident_weights.parquet")),
        visitor_weighting=recipes.read_recipe(paths.resolve("data/processed/visitor_weights.parquet")),
        logit_bounds=p["logit_bounds"], min_core_answered=fw["min_core_answered"])
    truth = paths.resolve("data/processed/finite_truth.parquet")
    values = pd.read_parquet(truth) if target == "finite" else None
    return s.for_target(target, workers=1, finite_values=values, source=str(truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=validation.TARGETS, default="superpopulation")
    parser.add_argument("-n", type=int, default=20, help="replications timed (after one warm-up)")
    args = parser.parse_args()
    s = setup(args.target)
    children = np.random.SeedSequence(s.seed).spawn(args.n + 1)
    gc.freeze()     # as the validation's workers do once forked (replications._init_worker): collections skip the setup
    with validation.single_threaded_blas():
        validation.replicate(s, children[0])
        plain = []
        for seq in children[1:]:
            t = time.perf_counter()
            validation.replicate(s, seq)
            plain.append(time.perf_counter() - t)
        spent: dict[str, float] = collections.defaultdict(float)
        for module, name, label in STAGES:      # in every module that holds the function (imported by value too)
            f = getattr(module, name)
            timed = _timed(f, label, spent)
            for held in [m for m in list(sys.modules.values()) if m.__name__.startswith("portrait")]:
                if getattr(held, name, None) is f:
                    setattr(held, name, timed)
        t = time.perf_counter()
        for seq in children[1:]:
            validation.replicate(s, seq)
        total = time.perf_counter() - t
    idle = [label.strip() for _, _, label in STAGES if label not in spent]
    if idle:
        raise SystemExit(f"stages never called by a replication (a function renamed or imported by value?): {idle}")
    print(f"{args.target}: one replication, median of {args.n}: {statistics.median(plain) * 1000:.0f} ms "
          f"(min {min(plain) * 1000:.0f} ms)")
    print(f"{'stage (with timers)':44s} {'ms':>7s} {'share':>6s}")
    for _, _, label in STAGES:
        ms = spent[label] / args.n * 1000
        print(f"{label:44s} {ms:7.1f} {ms / (total / args.n * 1000):6.0%}")
    print(f"{'total':44s} {total / args.n * 1000:7.1f}")


def _timed(f, label: str, spent: dict[str, float]):
    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spent[label] += time.perf_counter() - t
    return g


if __name__ == "__main__":
    main()
