"""Small synthetic inputs for tests and dry runs (never used by the chain itself).

``example_visitor_frame`` and ``example_visitor_sample`` stand in for the visitor frame and sample
of notebook 02 (same columns as its contract) so that the fieldwork stage can be tested on its
own. Identifiers are random hexadecimal pseudonyms; there is no personal data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portrait import survey
from portrait.pipeline import config, paths
from portrait.survey import allocate, stratified_srswor

# Codes as notebook 02 writes them (zone, source type, ISO country, region name, purpose).
ZONES = {"npdc": 0.55, "picardie": 0.35, "both": 0.10}
SOURCES = {"office_tourisme": 0.29, "hebergement": 0.29, "site_culturel_loisir": 0.29,
           "congres_salon": 0.09, "groupe_senior": 0.04}
COUNTRIES = {"FR": 0.70, "BE": 0.10, "GB": 0.08, "NL": 0.04, "DE": 0.02, "CH": 0.01, "ES": 0.01,
             "US": 0.01, "ZZ": 0.03}
REGIONS = {"Hauts-de-France": 0.40, "Île-de-France": 0.25, "Grand Est": 0.05, "Normandie": 0.03,
           "Auvergne-Rhône-Alpes": 0.02, "Nouvelle-Aquitaine": 0.02, "Occitanie": 0.02,
           "Pays de la Loire": 0.02, "Bretagne": 0.01, "Centre-Val de Loire": 0.02, "Outre-mer": 0.01,
           "Inconnue": 0.15}
PURPOSES = {"leisure": 0.30, "business": 0.13, "both": 0.02, "unknown": 0.55}


def _draw(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = list(table)
    p = np.asarray(list(table.values()), dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def example_visitor_frame(n: int = 5000, seed: int = 1) -> pd.DataFrame:
    """A stand-in visitor frame of ``n`` persons with the columns of the visitor-frame contract."""
    rng = config.rng(seed, "testing/visitor-frame")
    zone = _draw(rng, ZONES, n)
    source = _draw(rng, SOURCES, n)
    purpose = _draw(rng, PURPOSES, n)
    purpose[(source == "congres_salon") & (purpose != "unknown")] = "business"
    country = _draw(rng, COUNTRIES, n)
    region = np.where(country == "FR", _draw(rng, REGIONS, n),
                      np.where(country == "ZZ", "Inconnue", "Étranger"))
    mult = 1 + rng.binomial(3, 0.12, size=n)
    ids = [f"{x:016x}" for x in rng.choice(2 ** 62, size=n, replace=False)]
    df = pd.DataFrame({"person_id": ids, "zone": zone, "source_type": source, "multiplicity": mult,
                       "country": country, "residence_region": region, "purpose": purpose})
    df["stratum"] = df["zone"] + "|" + df["source_type"]
    df = df.sort_values("person_id").reset_index(drop=True)
    df["first_file_id"], df["first_row"] = "P01", np.arange(2, n + 2)       # the frame's pointer to a first record
    return df


def example_visitor_sample(frame: pd.DataFrame, n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """A stratified SRSWOR of ``n`` persons from ``frame`` with π, design weight, N_h and n_h."""
    sizes = frame.groupby("stratum").size()
    alloc = allocate(sizes.to_numpy(float), n, minimum=2, capacity=sizes.to_numpy(float))
    n_h = dict(zip(sizes.index, alloc))
    mask = stratified_srswor(frame["stratum"].to_numpy(), n_h, config.rng(seed, "testing/visitor-sample"))
    s = frame.loc[mask].copy()
    s["N_h"] = s["stratum"].map(sizes).astype(int)
    s["n_h"] = s["stratum"].map(n_h).astype(int)
    s["pi"] = s["n_h"] / s["N_h"]
    s["design_weight"] = 1 / s["pi"]
    return s.reset_index(drop=True)


def small_fieldwork(resident_frame: pd.DataFrame, codebook, *, frame_size: int, visitors: int, visitor_seed: int,
                    invitations: int = 500, seed: int = 20170301):
    """A small simulated fieldwork on a real resident draw and an example visitor sample: (simulation, samples)."""
    from portrait.pipeline import sources
    from portrait.study import fieldwork, frames

    model = fieldwork.FieldworkModel.load(codebook)
    design = frames.ResidentDesign(invitations=invitations, take=10)
    slots = frames.draw_resident_sample(resident_frame, design, config.rng(seed, "resident-sample")).slots
    vframe = example_visitor_frame(frame_size, seed=visitor_seed)
    vsample = example_visitor_sample(vframe, visitors, seed=visitor_seed)
    sim = fieldwork.simulate(model, resident_slots=slots, resident_frame=resident_frame,
                             population=sources.read_population(2017), visitor_sample=vsample,
                             visitor_frame=vframe, seed=seed)
    return sim, {"residents": slots, "visitors": vsample}


def bh(p):
    """Benjamini–Hochberg by hand: min over j ≥ i of p_(j) m / j."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    adj = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1)
    return out


def r_value(table: pd.DataFrame, fixture: str, quantity: str, repeated: bool = False) -> float:
    """The one value of ``quantity`` in ``fixture`` of an R fixture table (columns ``fixture``, ``quantity``,
    ``value``, as tests/reference/make_fixtures*.R write them); ``repeated``: the script may write the same value
    more than once (still one distinct value)."""
    v = table.loc[(table.fixture == fixture) & (table.quantity == quantity), "value"]
    if repeated:
        v = v.drop_duplicates()
    assert len(v) == 1, (fixture, quantity)
    return float(v.iloc[0])


def api_design(name: str) -> survey.Design:
    """R's ``dclus1`` (``svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)``) or ``dstrat``
    (``svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)``), as the R fixture scripts
    build them, from the committed api data."""
    fixtures = paths.TESTS / "reference" / "fixtures"
    if name == "clus1":
        return survey.Design.from_frame(pd.read_csv(fixtures / "apiclus1.csv"), weights="pw", psu="dnum", fpc="fpc")
    return survey.Design.from_frame(pd.read_csv(fixtures / "apistrat.csv"), weights="pw", strata="stype", fpc="fpc")


def department_size_sample(n: int = 900, seed: int = 11) -> pd.DataFrame:
    """Units with a department × size class and a response that depends on the department only (35 % in « 59 »,
    60 % elsewhere), as the residents' response model sees them: few distinct propensity scores."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"dep": rng.choice(["02", "59", "60"], n), "size": rng.choice(["a", "b"], n),
                       "stratum": rng.choice(["s1", "s2"], n), "w": rng.uniform(1, 4, n)})
    return df.assign(resp=rng.random(n) < np.where(df["dep"] == "59", 0.35, 0.6))
