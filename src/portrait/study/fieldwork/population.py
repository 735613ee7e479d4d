"""The populations of the fieldwork model: resident and visitor cells (covariates and counts), and the
mapping of the visitor frame's labels to the model's keys (unrecorded attributes drawn or split).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...pipeline.errors import InputError
from ..codebook import normalise_text
from .model import (AGE_KEYS, CATEGORICAL_COVARIATES, FieldworkModel, MODEL_FILE, SEX_KEYS, VISITOR_ATTRIBUTES,
                    as_categories, categories)


# ============================================================================ populations


@dataclass(frozen=True)
class Population:
    """Population cells of both groups: covariates and a count ``n`` (persons in the cell)."""

    residents: pd.DataFrame
    visitors: pd.DataFrame
    mapping: pd.DataFrame = field(default_factory=pd.DataFrame)

    def cells(self, group: str) -> pd.DataFrame:
        return self.residents if group == "residents" else self.visitors


def _sex_age_by_department(population: pd.DataFrame) -> pd.DataFrame:
    """P(sex, age | department) from the INSEE table (15+ age groups, men and women)."""
    need = {"departement", "sex", "age_group", "population"}
    if need - set(population.columns):
        raise InputError(f"the INSEE population table lacks columns {sorted(need - set(population.columns))}")
    p = population.loc[population["sex"].isin(SEX_KEYS) & population["age_group"].isin(AGE_KEYS),
                       ["departement", "sex", "age_group", "population"]].copy()
    p = p.rename(columns={"sex": "sexe", "age_group": "age"})
    p["p"] = p["population"] / p.groupby("departement")["population"].transform("sum")
    return p[["departement", "sexe", "age", "p"]]


def _education(model: FieldworkModel, group: str) -> pd.DataFrame:
    table = model.params[group]["education_by_age"]
    rows = [{"age": a, "diplome": k, "p_edu": float(v)} for a in AGE_KEYS for k, v in table[a].items()]
    return pd.DataFrame(rows)


def resident_population(model: FieldworkModel, frame: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Resident cells department × size class × sex × age × education with their 15+ population.

    ``frame`` is the resident frame (``pop15``, ``departement``, ``size_class_rank``);
    ``population`` is :func:`portrait.pipeline.sources.read_population` for the study year.
    """
    need = {"departement", "size_class_rank", "pop15"}
    if need - set(frame.columns):
        raise InputError(f"the resident frame lacks columns {sorted(need - set(frame.columns))}")
    ds = (frame.groupby(["departement", "size_class_rank"], observed=True)["pop15"].sum()
               .reset_index().rename(columns={"size_class_rank": "size_rank", "pop15": "n_ds"}))
    sa = _sex_age_by_department(population)
    missing = sorted(set(ds["departement"]) - set(sa["departement"]))
    if missing:
        raise InputError(f"no INSEE sex × age figures for department(s) {missing}")
    cells = ds.merge(sa, on="departement").merge(_education(model, "residents"), on="age")
    cells["n"] = cells["n_ds"] * cells["p"] * cells["p_edu"]
    cells = cells.loc[cells["n"] > 0, ["departement", "size_rank", "sexe", "age", "diplome", "n"]]
    cells["size_rank"] = cells["size_rank"].astype(int)
    return as_categories(cells.sort_values(["departement", "size_rank", "sexe", "age", "diplome"])
                         .reset_index(drop=True))


UNKNOWN = "unknown"
#: suffix of the flag column saying whether the partner recorded an attribute (False: it was drawn)
RECORDED = "_recorded"


def as_recorded(data: pd.DataFrame) -> pd.DataFrame:
    """The visitor covariates as the partner files record them, for the response propensity.

    An attribute drawn because the partner did not record it (flag column ``<attribute>_recorded``
    False) is ``unknown`` again, and ``foreign`` is 0 where the country was not recorded: the
    response then depends only on what the frame holds, so weighting on frame variables can remove
    its bias (an attribute without a flag column counts as recorded).
    """
    masks = recorded_masks(data)
    if not masks:
        return data
    out = data.copy()
    for attr, known in masks.items():
        if attr == "foreign":
            if "foreign" in data.columns:
                out["foreign"] = np.where(known, data["foreign"].to_numpy(float), 0.0)
        elif attr in data.columns:
            out[attr] = np.where(known, data[attr].to_numpy(object), UNKNOWN)
    return out


def recorded_masks(data: pd.DataFrame) -> dict[str, np.ndarray]:
    """Whether the partner recorded each attribute that has a flag column ``<attribute>_recorded`` (False: it was
    drawn), and ``foreign`` with ``country``: the rule :func:`as_recorded` and the response propensity's effects
    (:mod:`.true_values`) both follow."""
    masks = {c[:-len(RECORDED)]: data[c].to_numpy(bool) for c in data.columns if c.endswith(RECORDED)}
    if "country" in masks:
        masks["foreign"] = masks["country"]
    return masks


def map_visitor_attributes(model: FieldworkModel, units: pd.DataFrame,
                           source: str = "visitor sample") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model covariates of visitor units from their frame attributes, and the mapping report.

    Frame labels are matched (lower case, no accents) against the patterns of
    ``visitors.attributes`` in the model file. Returns the covariates (zone, source_type,
    purpose, country, multiplicity, region; ``unknown`` where the partner recorded nothing, see
    :func:`resolve_unknown`) and a table of every distinct frame value with the key it was mapped
    to (``matched = False`` where the default was used).
    """
    cols, report = _mapped_attributes(model, units, source)
    rep = pd.DataFrame(report, columns=["attribute", "frame_value", "key", "matched", "n"])
    return pd.DataFrame(cols, index=units.index), rep


def _mapped_attributes(model: FieldworkModel, units: pd.DataFrame,
                       source: str) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """:func:`map_visitor_attributes` as one array per covariate (objects, ``None`` for no region), and the
    report's rows: the columns are made into a table once, by the caller."""
    coded, report = _mapped_codes(model, units, source)
    return {a: np.array(v[1], dtype=object)[v[0]] if isinstance(v, tuple) else v for a, v in coded.items()}, report


def _mapped_codes(model: FieldworkModel, units: pd.DataFrame,
                  source: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`_mapped_attributes` with each text attribute as ``(codes, keys)``: the model's keys it takes, each
    once, and every unit's position among them (``region``'s keys: the codebook's, ``None`` for none;
    ``multiplicity`` as an array)."""
    spec = model.params["visitors"]["attributes"]
    out: dict[str, Any] = {}
    report = []
    for attr in VISITOR_ATTRIBUTES:
        col = spec[attr]["column"]
        if col not in units.columns:
            raise InputError(f"the {source} has no column {col!r}, which the simulator needs for the "
                             f"visitors' {attr}; see visitors.attributes in config/{MODEL_FILE}",
                             column=col)
        if attr == "multiplicity":
            m = pd.to_numeric(units[col], errors="coerce")
            if m.isna().any() or (m < 1).any():
                i = int(np.flatnonzero((m.isna() | (m < 1)).to_numpy())[0])
                raise InputError(f"multiplicity must be an integer ≥ 1 in the {source}", row=i + 1,
                                 column=col, value=units[col].iloc[i])
            out["multiplicity"] = (np.minimum(m.to_numpy(int), int(spec[attr]["cap"])) - 1).astype(float)
            continue
        codes, distinct = _distinct_texts(units[col])   # each distinct value once
        counts = dict(zip(distinct, np.bincount(codes, minlength=len(distinct))))
        mapping = {}
        for val in sorted(distinct):
            norm_val = normalise_text(val)
            key = next((k for k, pat in spec[attr]["patterns"].items() if re.search(pat, norm_val)), None)
            mapping[val] = key if key is not None else spec[attr]["default"]
            report.append({"attribute": attr, "frame_value": val, "key": mapping[val], "matched": key is not None,
                           "n": int(counts[val])})
        keys: list = []
        position = np.asarray([_position(keys, str(mapping[v])) for v in distinct] + [0], dtype=np.int64)
        out[attr] = (position[codes], keys)
    # region of residence: only for residents of France
    rspec = spec.get("residence_region", {})
    rcol = rspec.get("column", "residence_region")
    region_var = model.codebook.variable("region_residence")
    lookup = {normalise_text(c.label): c.key for c in region_var.codes}
    lookup.update({normalise_text(str(c.value)): c.key for c in region_var.codes})
    lookup.update({normalise_text(k): str(v) for k, v in (rspec.get("aliases") or {}).items()})
    if rcol in units.columns:
        codes, distinct = _distinct_texts(units[rcol])
        counts = dict(zip(distinct, np.bincount(codes, minlength=len(distinct))))
        found = {x: lookup.get(normalise_text(x)) for x in distinct}
        regions: list = []
        out["region"] = (np.asarray([_position(regions, found[x]) for x in distinct] + [0], dtype=np.int64)[codes],
                         regions)
        for val in sorted(distinct):
            report.append({"attribute": "residence_region", "frame_value": val,
                           "key": lookup.get(normalise_text(val)), "matched": normalise_text(val) in lookup,
                           "n": int(counts[val])})
    else:
        out["region"] = (np.zeros(len(units), dtype=np.int64), [None])
    return out, report


def _position(keys: list, key: object) -> int:
    """The position of ``key`` in ``keys``, appended first if it is not there."""
    if key not in keys:
        keys.append(key)
    return keys.index(key)


def _distinct_texts(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(col.astype("string").fillna(""))``: a text column without a missing value is factorised as it
    is (the same codes and values, without a converted copy)."""
    if isinstance(col.dtype, pd.StringDtype) and not col.hasnans:
        return pd.factorize(col)
    return pd.factorize(col.astype("string").fillna(""))


def _unknown_shares(model: FieldworkModel, attr: str, source_type: str) -> dict[str, float]:
    u = model.params["visitors"]["attributes"][attr].get("unknown", {})
    return u.get(source_type, u["default"])


def resolve_unknown(model: FieldworkModel, cov: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the attributes the partner did not record (``unknown``) from the model's shares."""
    cols = {c: cov[c].to_numpy(object) if c != "multiplicity" else cov[c].to_numpy() for c in cov.columns}
    return pd.DataFrame(_resolved(model, cols, rng), index=cov.index)


def _resolved(model: FieldworkModel, cols: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """:func:`resolve_unknown` on the covariates' arrays, with ``foreign``; the arrays given are not changed."""
    cols = dict(cols)
    n = len(cols["source_type"])
    for attr, spec in model.params["visitors"]["attributes"].items():
        if "unknown" not in spec or attr not in cols:
            continue
        u = rng.random(n)
        values = cols[attr].copy()
        rows = np.flatnonzero(values == UNKNOWN)
        cols[attr + RECORDED] = values != UNKNOWN
        source = cols["source_type"]
        for t in sorted(set(source[rows])):          # the same rule as row by row, one source type at a time
            sel = rows[source[rows] == t]
            shares = _unknown_shares(model, attr, t)
            keys = list(shares)
            cum = np.cumsum([shares[k] for k in keys])
            idx = np.minimum(np.searchsorted(cum, u[sel] * cum[-1], side="right"), len(keys) - 1)
            values[sel] = np.asarray(keys, dtype=object)[idx]
        cols[attr] = values
    france = cols["country"] == "FR"
    cols["foreign"] = (~france).astype(float)
    cols["region"] = np.where(france, cols["region"], None)
    return cols


def resolved_categories(model: FieldworkModel, units: pd.DataFrame, rng: np.random.Generator,
                        source: str = "visitor sample") -> dict[str, Any]:
    """The visitor units' covariates with the unrecorded attributes drawn, the categorical ones as categories:
    ``{c: categories(a) if c in CATEGORICAL_COVARIATES else a for c, a in _resolved(model, cols, rng).items()}`` of
    ``cols = _mapped_attributes(model, units, source)[0]`` (the same draws, values, categories and order), worked
    out on each attribute's codes among its few keys instead of arrays of Python strings."""
    return _resolved_codes(model, _mapped_codes(model, units, source)[0], len(units), rng)


@dataclass(frozen=True)
class CodedFrame:
    """A visitor frame's attributes mapped to the model's keys once (:func:`coded_frame`), for the samples drawn from
    it: a sample's are the frame's at its rows (:func:`resolved_categories_at`), where mapping each sample's texts
    again took some 3 ms in every validation replication."""

    codes: dict[str, Any]          # _mapped_codes of the frame: (codes, keys) per text attribute, arrays otherwise
    unique_ids: bool               # person_id holds no value twice: distinct rows are distinct persons


def coded_frame(model: FieldworkModel, frame: pd.DataFrame) -> CodedFrame | None:
    """The frame's attributes mapped once, or None when the frame fails a check of the mapping (a sample then goes
    through :func:`resolved_categories`, which reports the sample's own row, as without this)."""
    if "person_id" not in frame.columns:
        return None
    try:
        codes, _ = _mapped_codes(model, frame, "visitor frame")
    except InputError:
        return None
    return CodedFrame(codes, bool(frame["person_id"].is_unique))


def resolved_categories_at(model: FieldworkModel, frame: CodedFrame, rows: np.ndarray,
                           rng: np.random.Generator) -> dict[str, Any]:
    """:func:`resolved_categories` of the frame's ``rows`` (a sample drawn from it), from the frame's codes: the same
    draws, values, categories and order. A text attribute's keys are the frame's, in the frame's order, not the
    sample's; the categories are the keys present, sorted, either way."""
    cols = {a: (v[0][rows], v[1]) if isinstance(v, tuple) else v[rows] for a, v in frame.codes.items()}
    return _resolved_codes(model, cols, len(rows), rng)


def _resolved_codes(model: FieldworkModel, cols: dict[str, Any], n: int, rng: np.random.Generator) -> dict[str, Any]:
    """:func:`resolved_categories` of units whose attributes are mapped already (``_mapped_codes``, ``n`` units)."""
    for attr, spec in model.params["visitors"]["attributes"].items():
        if "unknown" not in spec or attr not in cols:
            continue
        u = rng.random(n)
        codes, keys = cols[attr]
        codes, keys = codes.copy(), list(keys)
        rows = np.flatnonzero(codes == (keys.index(UNKNOWN) if UNKNOWN in keys else -1))
        cols[attr + RECORDED] = np.ones(n, dtype=bool)
        cols[attr + RECORDED][rows] = False
        s_codes, s_keys = cols["source_type"]
        for t in sorted({s_keys[c] for c in np.unique(s_codes[rows])}):     # as _resolved: one source type at a time
            sel = rows[s_codes[rows] == s_keys.index(t)]
            shares = _unknown_shares(model, attr, t)
            drawn = list(shares)
            cum = np.cumsum([shares[k] for k in drawn])
            idx = np.minimum(np.searchsorted(cum, u[sel] * cum[-1], side="right"), len(drawn) - 1)
            codes[sel] = np.asarray([_position(keys, k) for k in drawn], dtype=np.int64)[idx]
        cols[attr] = (codes, keys)
    c_codes, c_keys = cols["country"]
    france = c_codes == (c_keys.index("FR") if "FR" in c_keys else -1)
    cols["foreign"] = (~france).astype(float)
    r_codes, r_keys = cols["region"]
    r_keys = list(r_keys)
    cols["region"] = (np.where(france, r_codes, _position(r_keys, None)), r_keys)
    return {c: _coded_values(c, *v) if isinstance(v, tuple) else v for c, v in cols.items()}


def _coded_values(name: str, codes: np.ndarray, keys: list) -> Any:
    """A coded attribute as :func:`categories` makes it (its keys present, sorted) for a categorical covariate, else
    as an array of objects; texts with gaps (``None``), as a table holds them (``str``), taken from the keys rather
    than converted from one Python object per unit (about 1 ms of each validation replication: the visitors'
    regions)."""
    if name not in CATEGORICAL_COVARIATES and _texts_with_gaps(keys, codes):
        return pd.array(np.array(keys + [None], dtype=object)[:-1], dtype="str").take(codes)
    if name not in CATEGORICAL_COVARIATES or not all(isinstance(k, str) for k in keys):
        values = np.array(keys + [None], dtype=object)[:-1][codes]     # [None]: keys that numpy would not nest
        return categories(values) if name in CATEGORICAL_COVARIATES else values
    present = np.flatnonzero(np.bincount(codes, minlength=len(keys)))
    order = sorted(present.tolist(), key=lambda j: keys[j])          # keys are distinct texts: no tie
    recode = np.zeros(len(keys), dtype=np.int64)
    recode[order] = np.arange(len(order))
    return pd.Categorical.from_codes(recode[codes], categories=pd.Index(
        np.array([keys[j] for j in order] + [None], dtype=object)[:-1], dtype=object))


def _texts_with_gaps(keys: list, codes: np.ndarray) -> bool:
    """Whether the values ``keys[codes]`` are texts or ``None`` with at least one text: those a table (pandas' type
    inference) holds as ``str``, where only ``None`` would stay objects."""
    present = np.flatnonzero(np.bincount(codes, minlength=len(keys)))
    return (all(isinstance(k, str) or k is None for k in keys)
            and any(isinstance(keys[j], str) for j in present))


def _expand_unknown(model: FieldworkModel, base: pd.DataFrame) -> pd.DataFrame:
    """Split population cells whose attribute is ``unknown`` in the model's shares (count ``n_frame``)."""
    for attr, spec in model.params["visitors"]["attributes"].items():
        if "unknown" not in spec or attr not in base.columns:
            continue
        base = base.assign(**{attr + RECORDED: base[attr] != UNKNOWN})
        known = base.loc[base[attr] != UNKNOWN]
        unk = base.loc[base[attr] == UNKNOWN]
        parts = [known]
        for key in sorted({k for d in spec["unknown"].values() for k in d}):
            shares = {t: _unknown_shares(model, attr, t).get(key, 0.0) for t in unk["source_type"].unique()}
            p = unk["source_type"].map(shares).astype(float)
            parts.append(unk.assign(**{attr: key, "n_frame": unk["n_frame"] * p}))
        base = pd.concat(parts, ignore_index=True)
        base = base.loc[base["n_frame"] > 0]
        keys = [c for c in base.columns if c != "n_frame"]
        base = base.groupby(keys, sort=True, dropna=False)["n_frame"].sum().reset_index()
    return base


def visitor_population(model: FieldworkModel, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Visitor cells (frame attributes × sex × age × education) with their counts, and the mapping report."""
    cov, report = map_visitor_attributes(model, frame, "visitor frame")
    keys = ["zone", "source_type", "purpose", "country", "multiplicity"]
    base = cov.groupby(keys, sort=True).size().rename("n_frame").reset_index()
    base = _expand_unknown(model, base)
    base["foreign"] = (base["country"] != "FR").astype(float)
    keys = keys + ["foreign"] + [c for c in base.columns if c.endswith(RECORDED)]
    sa = _visitor_sex_age(model, base)
    cells = sa.merge(_education(model, "visitors"), on="age")
    cells["n"] = cells["n_frame"] * cells["p"] * cells["p_edu"]
    cells = cells.loc[cells["n"] > 0, keys + ["sexe", "age", "diplome", "n"]]
    return as_categories(cells.sort_values(keys + ["sexe", "age", "diplome"]).reset_index(drop=True)), report


def _share(table: dict, key: object, age: str | None = None) -> float:
    """``table[key]`` (its ``age`` entry when given), the ``default`` entry's where the key or value is missing."""
    def pick(entry: object) -> object:
        return entry[age] if age is not None else entry

    v = pick(table[key]) if isinstance(key, str) and key in table else None
    return float(pick(table["default"]) if v is None or v != v else v)


def _visitor_sex_age_probabilities(model: FieldworkModel, base: pd.DataFrame) -> np.ndarray:
    """P(sex | source) × P(age | source, purpose) per row of ``base``: one column per (sex, age) of
    ``SEX_KEYS`` × ``AGE_KEYS``, in that order."""
    table, row = _visitor_sex_age_table(model, base)
    return table[row]


def _visitor_sex_age_table(model: FieldworkModel, base: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_visitor_sex_age_probabilities` as one row per distinct (source, purpose) pair and each row of
    ``base``'s position among them."""
    vp = model.params["visitors"]
    # the probabilities depend on the (source, purpose) pair only: computed once per distinct pair
    s_code, s_key = pd.factorize(base["source_type"], use_na_sentinel=False)
    p_code, p_key = pd.factorize(base["purpose"], use_na_sentinel=False)
    # the pairs present, in the order np.unique sorts them, found by counting (a pair's code is small) not sorting
    pair = s_code * len(p_key) + p_code
    present = np.flatnonzero(np.bincount(pair))
    codes = np.zeros(present[-1] + 1 if len(present) else 0, dtype=np.intp)
    codes[present] = np.arange(len(present))
    codes = codes[pair]
    sources = [s_key[i] for i in present // max(len(p_key), 1)]
    business = [p_key[i] == "affaires" for i in present % max(len(p_key), 1)]
    fem = np.array([_share(vp["female_share"], t) for t in sources], dtype=float)
    ages = vp["age_by_source"]
    cols = []
    for sexe in SEX_KEYS:
        ps = fem if sexe == "femmes" else 1 - fem
        for a in AGE_KEYS:
            pa = np.array([float(vp["age_business"][a]) if b else _share(ages, t, a)
                           for t, b in zip(sources, business)], dtype=float)
            cols.append(ps * pa)
    return (np.column_stack(cols) if cols else np.zeros((len(present), 0))), codes


def _visitor_sex_age(model: FieldworkModel, base: pd.DataFrame) -> pd.DataFrame:
    """Expand visitor units or cells with P(sex | source) × P(age | source, purpose) in column ``p``."""
    probs = _visitor_sex_age_probabilities(model, base)
    combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
    rows = [base.assign(sexe=sexe, age=a, p=probs[:, j]) for j, (sexe, a) in enumerate(combos)]
    return pd.concat(rows, ignore_index=True)
