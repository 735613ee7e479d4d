"""Write the simulated-survey fixture that tests/reference/make_fixtures.R calibrates with R survey.

Run after `make`, on a clean work tree (it reads data/processed/):
`.venv/bin/python tests/reference/export_simulated_fixture.py`. The design is the chain's own
(:func:`portrait.study.recipes.resident_design`): first-stage fpc only for the self-representing communes,
none for the communes drawn PPS. ``simulated_PROVENANCE.txt`` records the commit of the chain that
produced the input, so the fixture can be traced and regenerated. The fixture holds every in-scope sampled resident of the simulated survey with the design variables,
a respondent flag, the respondents' non-response-adjusted weights (calibration's starting weights; the
design weight for non-respondents, whom R's subset keeps in the design as its variance needs), the calibration variables, a few
outcomes (« données simulées »), and the INSEE/frame margins in a long table.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd

from portrait.study import codebook, recipes
from portrait.pipeline import config, paths

OUT = paths.TESTS / "reference" / "fixtures"


def main() -> None:
    git = ["git", "-C", str(paths.ROOT)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           check=True).stdout.strip()
    cb = codebook.load()
    res = pd.read_parquet(paths.PROCESSED / "resident_responses.parquet")
    com = pd.read_parquet(paths.PROCESSED / "resident_frame.parquet")
    params = {**config.read_yaml(paths.CONFIG / "04_resident_weighting.yaml"), "population_year": 2017,
              "replicates": 2}
    w = recipes.weight_residents(res, com, cb, params, config.rng(20170301, "resident-weighting"))
    nr = w.stages["nonresponse"]
    keep = np.ones(len(nr.weights), dtype=bool)      # every in-scope sampled unit: R subsets the design
    d = nr.data.loc[keep]
    rank = com.drop_duplicates("size_class").set_index(com.drop_duplicates("size_class")["size_class"].astype(str))[
        "size_class_rank"]
    fpc = d["var_fpc"].to_numpy(float)      # sampling fractions, as R reads an fpc whose values are all <= 1
    y = d["image_globale"].astype("Float64")
    rec = d["recommandation"].astype("Float64")
    conv = d["img_conviviale"].astype("Float64")
    out = pd.DataFrame({
        "id": d["slot_id"].to_numpy(), "stratum": d["var_stratum"].to_numpy(), "psu": d["var_psu"].to_numpy(),
        "fpc": fpc, "respondent": nr.weights[keep] > 0,
        "w_nr": np.where(nr.weights[keep] > 0, nr.weights[keep], w.stages["design"].base_weights[keep]),
        "cell": np.where(nr.weights[keep] > 0, "c" + d["cal_sexe"].astype(str) + "_" + d["cal_age"].astype(str), ""),
        "departement": "d" + d["departement"].astype(str).to_numpy(),
        "size_class": "s" + d["size_class"].astype(str).map(rank).astype(str).to_numpy(),
        "image_globale": y.where(y != 99).astype(float).to_numpy(),
        "recommandation": rec.where(rec != 99).astype(float).to_numpy(),
        "conviviale_top2": np.where(conv.isna() | (conv == 99), np.nan, (conv >= 4).astype(float)),
        "age": d["cal_age"].astype(str).to_numpy(),
    })
    out.to_csv(OUT / "simulated_residents.csv", index=False, float_format="%.17g")
    rows = []
    sizes = {label: f"s{r}" for label, r in rank.items()}
    for m in w.margins:
        name = "cell" if len(m.variables) == 2 else m.variables[0]
        for level, total in m.totals.items():
            lv = "c" + "_".join(level) if name == "cell" else level[0]
            if name == "size_class":
                lv = sizes.get(lv, lv)
            if name == "departement":
                lv = "d" + lv
            rows.append({"margin": name, "level": lv, "total": total})
    pd.DataFrame(rows).to_csv(OUT / "simulated_residents_margins.csv", index=False, float_format="%.17g")
    (OUT / "simulated_PROVENANCE.txt").write_text(
        f"chain_commit: {commit}{' (work tree modified)' if dirty else ''}\n"
        "input: data/processed/resident_responses.parquet and resident_frame.parquet written by `make` at that commit\n"
        "design: portrait.study.recipes.resident_design (fpc only for self-representing communes)\n", encoding="utf-8")
    print(f"wrote {int(out['respondent'].sum())} respondents of {len(out)} units and {len(rows)} margin totals")


if __name__ == "__main__":
    main()
