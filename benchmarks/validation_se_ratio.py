"""Is the published run's SE / SD below 1 on the 0–10 scores a property of the variance or the luck of its seed?
(BENCHMARKS.md, forty-third session.)

Repeats, with another seed, the super-population replications of one survey alone — its sample, simulated fieldwork,
weighting recipe and linearised estimates exactly as :func:`portrait.study.validation.replicate` draws them for
replication *i* of that seed — for the unweighted, design-weighted and raked estimators of five key statistics, and
prints each one's mean SE over the empirical SD of its estimates, with a bootstrap SE of that ratio. One survey at a
time is 3 to 5 times cheaper than the whole replication, so 10,000 replications take 10–15 minutes on 2 cores.
With ``--all``, every key statistic of the validation (11), and the mean of their ratios per estimator, with a
bootstrap SE that resamples the replications together (BENCHMARKS.md, fifty-third session).

Run after ``make`` (it reads the chain's frames and recipes)::

    .venv/bin/python -m benchmarks.validation_se_ratio --survey residents --seed 7 -n 10000
    .venv/bin/python -m benchmarks.validation_se_ratio --survey residents --seed 7 -n 5000 --all
    .venv/bin/python -m benchmarks.validation_se_ratio --survey residents --published finite   # after make validate
    .venv/bin/python -m benchmarks.validation_se_ratio --coverage res7.parquet vis7.parquet  # two runs' --out files

Not part of ``make test`` or ``make bench``.
"""

from __future__ import annotations

import argparse
import functools
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from portrait.pipeline import config
from portrait.study import compare, fieldwork, frames, ingest, items, recipes, validation, visitors
from portrait.study.validation.replications import _child, _unweighted

from .replication_stages import setup

STATISTICS = [("image_globale", "mean", ""), ("recommandation", "mean", ""), ("img_accueillante", "accord", "top2"),
              ("img_nature", "accord", "top2"), ("img_conviviale", "accord", "top2")]


def _responses(s: validation.Validation, survey: str, seq: np.random.SeedSequence) -> tuple[pd.DataFrame, recipes.Weighted]:
    """One survey's ingest table and weighting in replication ``seq``, with the streams ``replicate`` gives it."""
    fw_seed = int(_child(seq, 2).generate_state(1, np.uint64)[0])
    if survey == "residents":
        sample = frames.draw_resident_slots(s.resident_frame, s.resident_design,
                                            np.random.Generator(np.random.PCG64(_child(seq, 0))), plan=s.resident_plan)
        units = fieldwork.resident_units(sample, s.resident_frame)
    else:
        sample = visitors.draw_visitor_sample(s.visitor_frame, s.visitor_strata,
                                              np.random.Generator(np.random.PCG64(_child(seq, 1))))
        units = fieldwork.visitor_units(s.model, sample, config.rng(fw_seed, "fieldwork/visitors/attributes"))
    _, export, disp = fieldwork._simulate_group(s.model, s.calibration, survey, units,
                                                 s.population if survey == "residents" else None, fw_seed)
    answers = export.assign(source_row=pd.array(np.arange(2, len(export) + 2), dtype="Int32"))
    responses = ingest.assemble(survey, sample, answers, disp, s.codebook, s.min_core_answered).responses
    if survey == "residents":
        return responses, recipes.weight_residents(
            responses, s.resident_frame, s.codebook,
            replace(s.resident_weighting, calibration_method="raking", replicates=2),
            np.random.Generator(np.random.PCG64(_child(seq, 3))), margins=s.resident_margins)
    return responses, recipes.weight_visitors(
        responses, s.visitor_frame, replace(s.visitor_weighting, calibration_method="raking", replicates=2),
        np.random.Generator(np.random.PCG64(_child(seq, 4))), margins=s.visitor_margins)


@functools.lru_cache(maxsize=1)
def _setup(seed: int) -> validation.Validation:
    """The super-population setup with ``seed``, built once per worker process (some seconds)."""
    return replace(setup("superpopulation"), seed=seed)


def chunk(args: tuple[str, int, int, list[int], bool]) -> pd.DataFrame:
    """Replications ``indices`` of ``seed``: estimate and SE of each statistic and estimator (every key statistic of
    the validation with ``every``, else :data:`STATISTICS`)."""
    survey, seed, n, indices, every = args
    s = _setup(seed)
    statistics = list(validation.KEY_STATISTICS.itertuples(index=False, name=None)) if every else STATISTICS
    children = np.random.SeedSequence(seed).spawn(n)
    out = []
    with validation.single_threaded_blas():
        for i in indices:
            _, w = _responses(s, survey, children[i])
            values, sel = items.derived(w.final.data, s.codebook, survey, words=False, statistics=statistics)
            data = values[sel["column"]]
            for name, d in (("unweighted", _unweighted(w.stages["design"])), ("design", w.stages["design"]),
                            ("raking", w.final)):
                e = items.means(replace(d, data=data), sel)
                out.append(pd.DataFrame({"replication": i, "estimator": name, "column": sel["column"].to_numpy(),
                                         "estimate": e["estimate"].to_numpy(), "se": e["se"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def se_ratios(r: pd.DataFrame, boot: int = 200, seed: int = 1) -> pd.DataFrame:
    """Mean SE / SD of the estimates per statistic and estimator, with the bootstrap SE of the ratio (replications
    resampled)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (col, est), g in r.groupby(["column", "estimator"], sort=True):
        e, s = g["estimate"].to_numpy(), g["se"].to_numpy()
        picks = rng.integers(0, len(e), (boot, len(e)))
        ratios = s[picks].mean(axis=1) / e[picks].std(axis=1, ddof=1)
        rows.append((col, est, len(e), e.std(ddof=1), s.mean(), s.mean() / e.std(ddof=1), ratios.std(ddof=1)))
    return pd.DataFrame(rows, columns=["statistic", "estimator", "replications", "sd", "mean_se", "ratio",
                                       "ratio_se"])


def mean_ratios(r: pd.DataFrame, boot: int = 200, seed: int = 1) -> pd.DataFrame:
    """Per estimator, the mean over the statistics of their SE / SD and its difference from the design-weighted
    estimator's (paired: the same replications), each with its bootstrap SE. The replications are resampled together
    for every statistic and estimator, since their errors are correlated (one person answers them all)."""
    rng = np.random.default_rng(seed)
    wide = {est: (g.pivot(index="replication", columns="column", values="estimate").to_numpy(),
                  g.pivot(index="replication", columns="column", values="se").to_numpy())
            for est, g in r.groupby("estimator", sort=True)}

    def ratio(est: str, at) -> float:
        e, s = wide[est]
        return float(np.mean(s[at].mean(axis=0) / e[at].std(axis=0, ddof=1)))

    m = len(r["replication"].unique())
    picks = rng.integers(0, m, (boot, m))
    # each estimator's mean ratio on all the replications, then on each resample: computed once, paired by resample
    means = {est: np.array([ratio(est, at) for at in (slice(None), *picks)]) for est in wide}
    rows = []
    for est, v in means.items():
        gap = v - means["design"]
        rows.append((est, wide[est][0].shape[1], v[0], float(np.std(v[1:], ddof=1)), gap[0],
                     float(np.std(gap[1:], ddof=1))))
    return pd.DataFrame(rows, columns=["estimator", "statistics", "mean_ratio", "mean_ratio_se", "minus_design",
                                       "minus_design_se"])


def published(path: str, target: str, survey: str) -> pd.DataFrame:
    """The replications ``make validate`` stored (``data/processed/validation_published.parquet``), in :func:`chunk`'s
    form: one survey and target, the linearised estimates of the key statistics by the three estimators."""
    r = pd.read_parquet(path, columns=["target", "replication", "survey", "item", "statistic", "level", "estimator",
                                       "variance", "estimate", "se"])
    r = r[(r["target"] == target) & (r["survey"] == survey) & (r["variance"] == "linearisation")
          & r["estimator"].isin(["unweighted", "design", "raking"]) & (r["statistic"] != "profile_halves")]
    column = r["item"] + "|" + r["statistic"] + "|" + r["level"].astype(str)
    return r.assign(column=column)[["replication", "estimator", "column", "estimate", "se"]].reset_index(drop=True)


def coverage(res: pd.DataFrame, vis: pd.DataFrame, truth: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Coverage of the ``level`` intervals of each statistic and estimator in both surveys and their difference (the
    surveys' replications paired by number, as :func:`portrait.study.validation.replicate` pairs them), from two of
    :func:`chunk`'s tables; the normal quantile (the validation uses Student's with the design's degrees of freedom,
    in the hundreds here: 1.966 against 1.960)."""
    z = stats.norm.ppf(0.5 + level / 2)
    column = truth["item"] + "|" + truth["statistic"] + "|" + truth["level"].fillna("").astype(str)
    value = dict(zip(zip(truth["survey"], column), truth["value"]))
    m = res.merge(vis, on=["replication", "estimator", "column"], suffixes=("_r", "_v"))
    rows = []
    for (est, col), g in m.groupby(["estimator", "column"], sort=True):
        row = {"statistic": col, "estimator": est, "replications": len(g)}
        for survey, e, se in (("residents", g["estimate_r"], g["se_r"]), ("visitors", g["estimate_v"], g["se_v"]),
                              (compare.DIFFERENCE, g["estimate_v"] - g["estimate_r"], np.hypot(g["se_r"], g["se_v"]))):
            row[survey] = float((np.abs(e - value[survey, col]) <= z * se).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _shown(table: pd.DataFrame) -> str:
    """``table`` with its numbers to 4 decimals, a rounded -0 shown as 0."""
    numbers = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].round(4) + 0.0 for c in numbers}).to_string(index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survey", choices=("residents", "visitors"), default="residents")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-n", type=int, default=10000, help="replications")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="Parquet file for every replication's estimates")
    parser.add_argument("--all", action="store_true", help="every key statistic of the validation (11), not five")
    parser.add_argument("--published", metavar="TARGET", choices=validation.TARGETS,
                        help="no new replication: the ratios of the stored published run's TARGET (after make validate)")
    parser.add_argument("--coverage", nargs=2, metavar=("RESIDENTS", "VISITORS"),
                        help="no new replication: the coverage of both surveys and their difference, from two --out "
                             "files of the same seed and size")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.coverage:
        res, vis = (pd.read_parquet(f) for f in args.coverage)
        print(_shown(coverage(res, vis, setup("superpopulation").truth)))
        return
    if args.published:
        r = published("data/processed/validation_published.parquet", args.published, args.survey)
        print(_shown(mean_ratios(r)))
        return
    chunks = [(args.survey, args.seed, args.n, list(range(k, args.n, 40)), args.all) for k in range(40)]
    with ProcessPoolExecutor(args.workers) as ex:
        r = pd.concat(list(ex.map(chunk, chunks)), ignore_index=True)
    if args.out:
        r.to_parquet(args.out)
    print(_shown(se_ratios(r)))
    print(_shown(mean_ratios(r)))
    print(f"{time.perf_counter() - start:.0f} s for {args.n} replications of the {args.survey}")


if __name__ == "__main__":
    main()
