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
congress, foreign and business visitors less) — whose intercept is solved so that the population
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

References
----------
McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42(2), 109–142.
Plackett, R. L. (1975). The analysis of permutations. *Applied Statistics* 24(2), 193–202.
Kool, W., van Hoof, H. and Welling, M. (2019). Stochastic beams and where to find them: the
Gumbel-top-k trick for sampling sequences without replacement. *ICML*.
Särndal, C.-E. and Lundström, S. (2005). *Estimation in Surveys with Nonresponse*. Wiley.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtr

from ..pipeline import config, paths
from .codebook import Codebook, Variable, normalise_text, option_column, word_lookup
from ..pipeline.errors import InputError, ParameterError

MODEL_FILE = "fieldwork_model.yaml"
GROUPS = ("residents", "visitors")
AGE_KEYS = ("15-29", "30-44", "45-59", "60-74", "75+")
AGE_SPAN = {"15-29": (15, 29), "30-44": (30, 44), "45-59": (45, 59), "60-74": (60, 74), "75+": (75, 95)}
SEX_KEYS = ("hommes", "femmes")
SOURCE_LABEL = "données simulées"
COVARIATES = {
    "residents": ("age", "sexe", "diplome", "departement", "size_rank"),
    "visitors": ("age", "sexe", "diplome", "zone", "source_type", "purpose", "country", "foreign",
                 "multiplicity"),
}
NUMERIC_COVARIATES = ("foreign", "multiplicity")
VISITOR_ATTRIBUTES = ("zone", "source_type", "purpose", "country", "multiplicity")
CONTEXT = {"residents": ("dep_residence", "commune_residence", "annees_residence"),
           "visitors": ("pays", "region_residence", "motif", "zone_visitee", "nb_sejours")}
PROFILE = ("sexe", "age", "diplome")


# ============================================================================ the model


@dataclass(frozen=True)
class FieldworkModel:
    """The simulation parameters (``config/fieldwork_model.yaml``) checked against the codebook.

    ``complete=True`` switches off every loss: no unit out of scope, every invitation delivered,
    every unit responds, no break-off, no item non-response (answers and « Ne sait pas » are
    unchanged). Used to check the simulator against its own truth.
    """

    params: dict[str, Any]
    codebook: Codebook
    complete: bool = False

    @classmethod
    def load(cls, codebook: Codebook, path: str | Path | None = None) -> "FieldworkModel":
        """Read and validate the model file (default ``config/fieldwork_model.yaml``)."""
        params = config.read_yaml(path or paths.CONFIG / MODEL_FILE)
        return cls.from_params(params, codebook)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], codebook: Codebook) -> "FieldworkModel":
        """Build the model from a parameter mapping; a ``ParameterError`` lists every problem."""
        model = cls(copy.deepcopy(dict(params)), codebook)
        problems = model._problems()
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise ParameterError(f"the fieldwork model has {len(problems)} problem(s):\n{lines}")
        return model

    def complete_response(self) -> "FieldworkModel":
        """The same model with full response and no item non-response (see the class docstring)."""
        return replace(self, complete=True)

    def with_changes(self, **sections: Any) -> "FieldworkModel":
        """A copy with some top-level sections replaced (validated again)."""
        params = copy.deepcopy(self.params)
        params.update(copy.deepcopy(sections))
        return replace(FieldworkModel.from_params(params, self.codebook), complete=self.complete)

    # ---- specifications of each item

    def ordinal(self, name: str) -> dict[str, Any]:
        """Merged specification of an ordinal item (defaults overridden by the item's own)."""
        d = self.params.get("ordinal_defaults", {})
        it = self.params["ordinal_items"][name]
        effects = dict(d.get("effects", {}))
        effects.update(it.get("effects", {}))
        dk = copy.deepcopy(d.get("dont_know", {}))
        dk.update(it.get("dont_know", {}))
        v = self.codebook.variable(name)
        tname = it.get("thresholds", v.type)
        return {"location": float(it.get("location", 0.0)),
                "loading": float(it.get("loading", d.get("loading", 0.0))),
                "thresholds": np.asarray(self.params["thresholds"][tname], dtype=float),
                "group_shift": float(it.get("group_shift", 0.0)),
                "effects": effects, "dont_know": dk}

    def planted(self) -> pd.DataFrame:
        """The declared resident–visitor differences of the common core, one row per item or option.

        ``group_shift`` is on the latent scale (ordinal items: standard deviations of the item's
        noise; multi-select options and words: log-weight of the option). 0 means no difference.
        """
        rows = []
        for v in self.codebook.common_core("opinion"):
            if v.name in self.params.get("ordinal_items", {}):
                rows.append({"item": v.name, "level": "", "group_shift": self.ordinal(v.name)["group_shift"]})
            elif v.name in self.params.get("multi_items", {}):
                shift = self.params["multi_items"][v.name].get("group_shift", {})
                rows += [{"item": v.name, "level": str(c), "group_shift": float(shift.get(c, 0.0))}
                         for c in v.code_values]
            elif v.name in self.params.get("words", {}):
                shift = self.params["words"][v.name].get("group_shift", {})
                rows += [{"item": v.name, "level": w, "group_shift": float(shift.get(w, 0.0))}
                         for w in self.codebook.vocabulary(v.name)]
        return pd.DataFrame(rows)

    # ---- validation

    def _problems(self) -> list[str]:
        p = self.params
        cb = self.codebook
        out: list[str] = []
        for section in ("residents", "visitors", "fieldwork", "propensity", "item_nonresponse",
                        "thresholds", "ordinal_items"):
            if section not in p:
                out.append(f"section {section!r} is missing")
        if out:
            return out
        for group in GROUPS:
            for name in ("out_of_scope", "undeliverable", "refusal", "breakoff"):
                x = p["fieldwork"].get(group, {}).get(name)
                if not isinstance(x, (int, float)) or not 0 <= x < 1:
                    out.append(f"fieldwork.{group}.{name} must be a probability in [0, 1), got {x!r}")
            prop = p["propensity"].get(group, {})
            t = prop.get("target_rate")
            if not isinstance(t, (int, float)) or not 0 < t < 1:
                out.append(f"propensity.{group}.target_rate must lie in (0, 1), got {t!r}")
            out += _check_effects(prop.get("effects", {}), group, f"propensity.{group}.effects")
        for group in GROUPS:
            table = p[group].get("education_by_age", {})
            out += _check_distribution_table(table, f"{group}.education_by_age", AGE_KEYS,
                                             cb.variable("diplome").keys())
        for attr, spec in p["visitors"].get("attributes", {}).items():
            if "unknown" in spec:
                var = {"purpose": "motif", "country": "pays", "zone": "zone_visitee"}.get(attr)
                keys = set(cb.variable(var).keys()) if var else None
                if "default" not in spec["unknown"]:
                    out.append(f"visitors.attributes.{attr}.unknown needs a default row")
                for row, shares in spec["unknown"].items():
                    if keys is not None and set(shares) - keys:
                        out.append(f"visitors.attributes.{attr}.unknown.{row}: keys {sorted(set(shares) - keys)} "
                                   f"are not keys of the codebook variable {var!r}")
                    if abs(sum(shares.values()) - 1) > 1e-6 or min(shares.values()) < 0:
                        out.append(f"visitors.attributes.{attr}.unknown.{row}: shares must sum to 1")
        for name, table in p["visitors"].get("age_by_source", {}).items():
            out += _check_distribution_table({name: table}, "visitors.age_by_source", [name], AGE_KEYS)
        out += _check_distribution_table({"affaires": p["visitors"].get("age_business", {})},
                                         "visitors.age_business", ["affaires"], AGE_KEYS)
        for tname, tau in p["thresholds"].items():
            if not isinstance(tau, list) or np.any(np.diff(np.asarray(tau, dtype=float)) <= 0):
                out.append(f"thresholds.{tname} must be an increasing list")
        modelled = set()
        for name, spec in p.get("ordinal_items", {}).items():
            modelled.add(name)
            try:
                v = cb.variable(name)
            except Exception:
                out.append(f"ordinal_items.{name}: not a codebook variable")
                continue
            if v.type not in ("score_0_10", "likert_1_5", "single"):
                out.append(f"ordinal_items.{name}: codebook type {v.type} is not ordinal")
                continue
            tname = spec.get("thresholds", v.type)
            tau = p["thresholds"].get(tname)
            if tau is None:
                out.append(f"ordinal_items.{name}: no threshold set {tname!r}")
            elif len(tau) != len(v.code_values) - 1:
                out.append(f"ordinal_items.{name}: {len(tau)} thresholds for {len(v.code_values)} codes")
            if spec.get("group_shift", 0) and not v.common_core:
                out.append(f"ordinal_items.{name}: group_shift only makes sense for a common-core item")
            for group in v.surveys:
                out += _check_effects(spec.get("effects", {}), group, f"ordinal_items.{name}.effects")
        for name, spec in p.get("categorical_items", {}).items():
            modelled.add(name)
            v = cb.variable(name)
            keys = set(v.keys())
            if set(spec.get("base", {})) != keys:
                out.append(f"categorical_items.{name}.base must give every key of {sorted(keys)}")
        for name, spec in p.get("multi_items", {}).items():
            modelled.add(name)
            v = cb.variable(name)
            codes = set(v.code_values)
            if set(spec.get("weights", {})) != codes:
                out.append(f"multi_items.{name}.weights must give every option code {sorted(codes)}")
            if set(spec.get("group_shift", {})) - codes:
                out.append(f"multi_items.{name}.group_shift names unknown options")
            for group in v.surveys:
                probs = spec.get("n_choices", {}).get(group)
                if not isinstance(probs, list) or len(probs) != v.max_choices \
                        or abs(sum(probs) - 1) > 1e-9 or min(probs) < 0:
                    out.append(f"multi_items.{name}.n_choices.{group} must be {v.max_choices} "
                               "probabilities summing to 1")
        for name, spec in p.get("words", {}).items():
            modelled.add(name)
            vocab = set(cb.vocabulary(name))
            if set(spec.get("weights", {})) != vocab:
                missing = sorted(vocab - set(spec.get("weights", {})))
                extra = sorted(set(spec.get("weights", {})) - vocab)
                out.append(f"words.{name}.weights must cover the codebook vocabulary exactly "
                           f"(missing {missing}, not in the codebook {extra})")
            if set(spec.get("group_shift", {})) - vocab:
                out.append(f"words.{name}.group_shift names words outside the vocabulary")
            sp = spec.get("spelling", {})
            if sorted(sp) != ["canonical", "capitalised", "variant"] or abs(sum(sp.values()) - 1) > 1e-9:
                out.append(f"words.{name}.spelling needs canonical, capitalised and variant summing to 1")
        context = {name for g in GROUPS for name in CONTEXT[g]}
        for v in cb.variables:
            if v.role in ("technical", "profile") or v.name in context:
                continue
            if v.name not in modelled:
                out.append(f"codebook variable {v.name!r} has no simulation rule in the model")
        return out


def _check_effects(effects: Mapping[str, Any], group: str, where: str) -> list[str]:
    known = set(COVARIATES["residents"]) | set(COVARIATES["visitors"])
    out = []
    for cov, eff in effects.items():
        if cov not in known:
            out.append(f"{where}: unknown covariate {cov!r}; covariates are {sorted(known)}")
        elif cov in NUMERIC_COVARIATES and not isinstance(eff, (int, float)):
            out.append(f"{where}: {cov} is numeric and takes a slope, got {eff!r}")
        elif cov not in NUMERIC_COVARIATES and not isinstance(eff, dict):
            out.append(f"{where}: {cov} is categorical and takes {{level: effect}}, got {eff!r}")
    return out


def _check_distribution_table(table: Mapping[str, Any], where: str, rows, columns) -> list[str]:
    out = []
    for r in rows:
        row = table.get(r)
        if not isinstance(row, dict):
            out.append(f"{where}: row {r!r} is missing")
            continue
        if set(row) != set(columns):
            out.append(f"{where}.{r}: needs exactly the keys {sorted(columns)}")
        elif abs(sum(row.values()) - 1) > 1e-6 or min(row.values()) < 0:
            out.append(f"{where}.{r}: shares must be non-negative and sum to 1")
    return out


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


def map_visitor_attributes(model: FieldworkModel, units: pd.DataFrame,
                           source: str = "visitor sample") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model covariates of visitor units from their frame attributes, and the mapping report.

    Frame labels are matched (lower case, no accents) against the patterns of
    ``visitors.attributes`` in the model file. Returns the covariates (zone, source_type,
    purpose, country, multiplicity, region; ``unknown`` where the partner recorded nothing, see
    :func:`resolve_unknown`) and a table of every distinct frame value with the key it was mapped
    to (``matched = False`` where the default was used).
    """
    spec = model.params["visitors"]["attributes"]
    out = pd.DataFrame(index=units.index)
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
        values = units[col].astype("string").fillna("")
        mapping = {}
        for val in sorted(values.unique()):
            norm_val = normalise_text(val)
            key = next((k for k, pat in spec[attr]["patterns"].items() if re.search(pat, norm_val)), None)
            mapping[val] = key if key is not None else spec[attr]["default"]
            report.append({"attribute": attr, "frame_value": val, "key": mapping[val], "matched": key is not None,
                           "n": int((values == val).sum())})
        out[attr] = values.map(mapping).astype(str).to_numpy()
    # region of residence: only for residents of France
    rspec = spec.get("residence_region", {})
    rcol = rspec.get("column", "residence_region")
    region_var = model.codebook.variable("region_residence")
    lookup = {normalise_text(c.label): c.key for c in region_var.codes}
    lookup.update({normalise_text(str(c.value)): c.key for c in region_var.codes})
    lookup.update({normalise_text(k): str(v) for k, v in (rspec.get("aliases") or {}).items()})
    if rcol in units.columns:
        vals = units[rcol].astype("string").fillna("")
        found = {x: lookup.get(normalise_text(x)) for x in vals.unique()}
        out["region"] = vals.map(found).astype(object).to_numpy()
        for val in sorted(vals.unique()):
            report.append({"attribute": "residence_region", "frame_value": val,
                           "key": lookup.get(normalise_text(val)), "matched": normalise_text(val) in lookup,
                           "n": int((vals == val).sum())})
    else:
        out["region"] = None
    rep = pd.DataFrame(report, columns=["attribute", "frame_value", "key", "matched", "n"])
    return out, rep


def _unknown_shares(model: FieldworkModel, attr: str, source_type: str) -> dict[str, float]:
    u = model.params["visitors"]["attributes"][attr].get("unknown", {})
    return u.get(source_type, u["default"])


def _finish_visitor_covariates(cov: pd.DataFrame) -> pd.DataFrame:
    cov = cov.copy()
    cov["foreign"] = (cov["country"] != "FR").astype(float)
    cov["region"] = cov["region"].where(cov["country"] == "FR")
    return cov


def resolve_unknown(model: FieldworkModel, cov: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the attributes the partner did not record (``unknown``) from the model's shares."""
    cov = cov.copy()
    for attr, spec in model.params["visitors"]["attributes"].items():
        if "unknown" not in spec or attr not in cov.columns:
            continue
        u = rng.random(len(cov))
        rows = np.flatnonzero((cov[attr] == UNKNOWN).to_numpy())
        values = cov[attr].to_numpy(object).copy()
        source = cov["source_type"].to_numpy(object)
        for t in sorted(set(source[rows])):          # the same rule as row by row, one source type at a time
            sel = rows[source[rows] == t]
            shares = _unknown_shares(model, attr, t)
            keys = list(shares)
            cum = np.cumsum([shares[k] for k in keys])
            idx = np.minimum(np.searchsorted(cum, u[sel] * cum[-1], side="right"), len(keys) - 1)
            values[sel] = np.asarray(keys, dtype=object)[idx]
        cov[attr] = values
    return _finish_visitor_covariates(cov)


def _expand_unknown(model: FieldworkModel, base: pd.DataFrame) -> pd.DataFrame:
    """Split population cells whose attribute is ``unknown`` in the model's shares (count ``n_frame``)."""
    for attr, spec in model.params["visitors"]["attributes"].items():
        if "unknown" not in spec or attr not in base.columns:
            continue
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
    keys = keys + ["foreign"]
    sa = _visitor_sex_age(model, base)
    cells = sa.merge(_education(model, "visitors"), on="age")
    cells["n"] = cells["n_frame"] * cells["p"] * cells["p_edu"]
    cells = cells.loc[cells["n"] > 0, keys + ["sexe", "age", "diplome", "n"]]
    return as_categories(cells.sort_values(keys + ["sexe", "age", "diplome"]).reset_index(drop=True)), report


def _visitor_sex_age_probabilities(model: FieldworkModel, base: pd.DataFrame) -> np.ndarray:
    """P(sex | source) × P(age | source, purpose) per row of ``base``: one column per (sex, age) of
    ``SEX_KEYS`` × ``AGE_KEYS``, in that order."""
    vp = model.params["visitors"]
    fem = base["source_type"].map(vp["female_share"]).fillna(vp["female_share"]["default"]).astype(float)
    ages = vp["age_by_source"]
    cols = []
    for sexe in SEX_KEYS:
        ps = fem if sexe == "femmes" else 1 - fem
        for a in AGE_KEYS:
            pa = base["source_type"].map({t: d[a] for t, d in ages.items()}).fillna(ages["default"][a])
            pa = pa.where(base["purpose"] != "affaires", vp["age_business"][a]).astype(float)
            cols.append((ps * pa).to_numpy(float))
    return np.column_stack(cols) if cols else np.zeros((len(base), 0))


def _visitor_sex_age(model: FieldworkModel, base: pd.DataFrame) -> pd.DataFrame:
    """Expand visitor units or cells with P(sex | source) × P(age | source, purpose) in column ``p``."""
    probs = _visitor_sex_age_probabilities(model, base)
    combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
    rows = [base.assign(sexe=sexe, age=a, p=probs[:, j]) for j, (sexe, a) in enumerate(combos)]
    return pd.concat(rows, ignore_index=True)


# ============================================================================ linear predictors


CATEGORICAL_COVARIATES = ("age", "sexe", "diplome", "departement", "size_rank", "zone", "source_type",
                          "purpose", "country")


def as_categories(data: pd.DataFrame) -> pd.DataFrame:
    """The same table with its categorical covariates stored as pandas categories (fast effects)."""
    data = data.copy()
    for c in CATEGORICAL_COVARIATES:
        if c in data.columns and not isinstance(data[c].dtype, pd.CategoricalDtype):
            data[c] = pd.Categorical(data[c].astype(object))
    return data


def effects(spec: Mapping[str, Any], data: pd.DataFrame) -> np.ndarray:
    """Sum of covariate effects for each row of ``data`` (covariates the data lack contribute 0)."""
    out = np.zeros(len(data))
    for cov, eff in spec.items():
        if cov not in data.columns:
            continue
        if isinstance(eff, dict):
            col = data[cov]
            if isinstance(col.dtype, pd.CategoricalDtype):
                per_cat = np.append([float(eff.get(c, 0.0)) for c in col.cat.categories], 0.0)
                out += per_cat[col.cat.codes.to_numpy()]
                continue
            idx = pd.Index(list(eff), dtype=object).get_indexer(col.to_numpy(object))
            out += np.append(np.asarray(list(eff.values()), dtype=float), 0.0)[idx]
        else:
            out += float(eff) * data[cov].to_numpy(float)
    return out


def option_effects(spec: Mapping[str, Any], data: pd.DataFrame, options: list) -> np.ndarray:
    """Log-weight effects per row and option from ``{covariate: {level: {option: effect}}}``."""
    index = {o: j for j, o in enumerate(options)}
    out = np.zeros((len(data), len(options)))
    for cov, levels in spec.items():
        if cov not in data.columns:
            continue
        col = np.asarray(data[cov].astype(object).to_numpy())
        for level, eff in levels.items():
            rows = col == level
            if rows.any():
                vec = np.zeros(len(options))
                for o, e in eff.items():
                    vec[index[o]] = e
                out[rows] += vec
    return out


# ============================================================================ calibration


@dataclass(frozen=True)
class Calibration:
    """Quantities solved on the populations: propensity intercepts and visitor thresholds."""

    intercepts: dict[str, float]
    thresholds: dict[tuple[str, str], np.ndarray]


def _dont_know_prob(model: FieldworkModel, name: str, group: str, data: pd.DataFrame) -> np.ndarray:
    v = model.codebook.variable(name)
    if not v.dont_know:
        return np.zeros(len(data))
    if v.name in model.params.get("categorical_items", {}):
        dk = model.params["categorical_items"][name].get("dont_know", {})
        dk_eff = model.params.get("ordinal_defaults", {}).get("dont_know", {}).get("effects", {})
    else:
        dk = model.ordinal(name)["dont_know"]
        dk_eff = dk.get("effects", {})
    rate = dk.get("rate", {}).get(group, 0.0)
    if rate <= 0:
        return np.zeros(len(data))
    return expit(logit(rate) + effects(dk_eff, data))


def _propensity_linear(model: FieldworkModel, group: str, data: pd.DataFrame) -> np.ndarray:
    return effects(model.params["propensity"][group].get("effects", {}), data)


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def calibrate(model: FieldworkModel, population: Population) -> Calibration:
    """Solve the response-propensity intercepts and the visitors' thresholds of common items."""
    nmar = float(model.params["propensity"].get("nmar_loading", 0.0))
    intercepts = {}
    for group in GROUPS:
        cells = population.cells(group)
        w = cells["n"].to_numpy(float)
        lin = _propensity_linear(model, group, cells)
        target = float(model.params["propensity"][group]["target_rate"])

        def gap(a: float) -> float:
            p = sum(wt * expit(a + lin + nmar * z) for z, wt in zip(_GH_NODES, _GH_WEIGHTS))
            return float(np.sum(w * p) / w.sum() - target)

        intercepts[group] = float(brentq(gap, -30, 30, xtol=1e-12))
    thresholds = {}
    for name in model.params["ordinal_items"]:
        v = model.codebook.variable(name)
        spec = model.ordinal(name)
        for group in v.surveys:
            thresholds[(group, name)] = spec["thresholds"]
        if v.common_core:
            thresholds[("visitors", name)] = _matched_thresholds(model, name, population) - spec["group_shift"]
    return Calibration(intercepts, thresholds)


def _latent_mixture(model: FieldworkModel, name: str, group: str, cells: pd.DataFrame):
    spec = model.ordinal(name)
    eta = spec["location"] + effects(spec["effects"], cells)
    scale = np.sqrt(1 + spec["loading"] ** 2)
    w = cells["n"].to_numpy(float) * (1 - _dont_know_prob(model, name, group, cells))
    return eta, scale, w / w.sum()


def _matched_thresholds(model: FieldworkModel, name: str, population: Population) -> np.ndarray:
    """Visitor thresholds giving the visitors the residents' population distribution of answers."""
    tau = model.ordinal(name)["thresholds"]
    eta_r, s, w_r = _latent_mixture(model, name, "residents", population.residents)
    eta_v, _, w_v = _latent_mixture(model, name, "visitors", population.visitors)
    out = []
    for t in tau:
        target = float(np.sum(w_r * ndtr((t - eta_r) / s)))
        out.append(brentq(lambda x: float(np.sum(w_v * ndtr((x - eta_v) / s))) - target,
                           -40, 40, xtol=1e-13))
    return np.asarray(out)


# ============================================================================ exact probabilities


def ordinal_probabilities(model: FieldworkModel, cal: Calibration, name: str, group: str,
                          data: pd.DataFrame) -> np.ndarray:
    """P(answer = each code | covariates) for an ordinal item, rows of ``data`` × codes."""
    spec = model.ordinal(name)
    eta = spec["location"] + effects(spec["effects"], data)
    s = np.sqrt(1 + spec["loading"] ** 2)
    tau = cal.thresholds[(group, name)]
    cdf = ndtr((tau[None, :] - eta[:, None]) / s)
    cdf = np.hstack([np.zeros((len(data), 1)), cdf, np.ones((len(data), 1))])
    return np.diff(cdf, axis=1)


def categorical_probabilities(model: FieldworkModel, name: str, data: pd.DataFrame) -> np.ndarray:
    """P(answer = each code | covariates) for a nominal item (multinomial logit)."""
    spec = model.params["categorical_items"][name]
    v = model.codebook.variable(name)
    keys = [c.key for c in v.codes]
    base = np.log(np.asarray([spec["base"][k] for k in keys], dtype=float))
    lin = base[None, :] + option_effects(spec.get("effects", {}), data, keys)
    lin -= lin.max(axis=1, keepdims=True)
    e = np.exp(lin)
    return e / e.sum(axis=1, keepdims=True)


def _option_log_weights(model: FieldworkModel, section: str, name: str, group: str,
                        data: pd.DataFrame, options: list) -> np.ndarray:
    spec = model.params[section][name]
    base = np.log(np.asarray([spec["weights"][o] for o in options], dtype=float))
    lw = base[None, :] + option_effects(spec.get("effects", {}), data, options)
    if group == "visitors":
        shift = spec.get("group_shift", {})
        lw = lw + np.asarray([shift.get(o, 0.0) for o in options], dtype=float)[None, :]
    return lw


def pick_probabilities(p: np.ndarray) -> np.ndarray:
    """P(option k is picked r-th), r = 1, 2, 3, under sampling without replacement ∝ ``p``.

    ``p`` is one probability vector (sums to 1). Returns an array 3 × K (exact enumeration of
    the ordered picks: Plackett–Luce).
    """
    k = len(p)
    p1 = p.copy()
    # second pick: sum over the first pick i != k of p_i * p_k / (1 - p_i)
    q = p[:, None] * p[None, :] / (1 - p[:, None])          # q[i, k] = P(first i, second k)
    np.fill_diagonal(q, 0.0)
    p2 = q.sum(axis=0)
    # third pick: sum over i, j distinct and != k of q[i, j] * p_k / (1 - p_i - p_j)
    denom = 1 - p[:, None] - p[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom > 0, q / denom, 0.0)            # r[i, j] = P(first i, second j) / (1 - p_i - p_j)
    np.fill_diagonal(r, 0.0)
    p3 = np.empty(k)
    for kk in range(k):
        mask = np.ones(k, dtype=bool)
        mask[kk] = False
        p3[kk] = p[kk] * r[np.ix_(mask, mask)].sum()
    return np.vstack([p1, p2, p3])


def _mention_probabilities(lw: np.ndarray, picks_weight: np.ndarray) -> np.ndarray:
    """P(option cited) per row, for log-weights ``lw`` (rows × K) and the weight of picks 1..3.

    ``picks_weight[r]`` = P(the person makes at least r+1 picks). Identical rows are computed once.
    """
    rounded = np.ascontiguousarray(np.round(lw, 12))
    keys = rounded.view(np.dtype((np.void, rounded.dtype.itemsize * rounded.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    uniq = rounded[first]
    out = np.empty((len(uniq), lw.shape[1]))
    for i, row in enumerate(uniq):
        p = np.exp(row - row.max())
        p /= p.sum()
        out[i] = picks_weight @ pick_probabilities(p)
    return out[inverse.ravel()]


def multi_mention_probabilities(model: FieldworkModel, name: str, group: str, data: pd.DataFrame) -> np.ndarray:
    """P(option cited | covariates) for a multi-select item, rows × options."""
    v = model.codebook.variable(name)
    lw = _option_log_weights(model, "multi_items", name, group, data, v.code_values)
    n_probs = np.asarray(model.params["multi_items"][name]["n_choices"][group], dtype=float)
    at_least = np.cumsum(n_probs[::-1])[::-1]              # P(n >= 1), P(n >= 2), P(n >= 3)
    return _mention_probabilities(lw, at_least)


def word_mention_probabilities(model: FieldworkModel, name: str, group: str, data: pd.DataFrame) -> np.ndarray:
    """P(canonical word cited | covariates) for an open-word item, rows × vocabulary."""
    words = list(model.codebook.vocabulary(name))
    spec = model.params["words"][name]
    lw = _option_log_weights(model, "words", name, group, data, words)
    b2, b3 = float(spec["blank_second"]), float(spec["blank_third"])
    if model.codebook.variable(name).n_words != 3:
        raise ParameterError("the word model handles items of exactly three words")
    return _mention_probabilities(lw, np.asarray([1.0, 1 - b2, (1 - b2) * (1 - b3)]))


# ============================================================================ truth


def truth(model: FieldworkModel, population: Population, cal: Calibration) -> pd.DataFrame:
    """Population values of every estimate of the simulated surveys (tidy table).

    Columns: ``survey, item, statistic, level, value, group_shift, source``. Statistics:
    ``share`` of each code (profile items: among everyone; opinion items: among the persons who
    give a substantive answer, so « Ne sait pas » excluded), ``share_dk`` (share of « Ne sait
    pas » among everyone), ``mean`` of the codes (substantive answers), the codebook's groupings
    (``accord``: bottom2/top2; ``nps``: NPS groups and ``nps_score``), ``share`` of each option or
    canonical word cited (among the persons who answer the question). Rows with survey
    ``visitors - residents`` give the difference for the common-core items.
    """
    cb = model.codebook
    rows = []
    for group in GROUPS:
        cells = population.cells(group)
        w = cells["n"].to_numpy(float)
        for v in cb.variables_for(group):
            if v.role == "profile":
                keyed = cells[v.name].to_numpy(object)
                for c in v.codes:
                    rows.append((group, v.name, "share", str(c.value), float(w[keyed == c.key].sum() / w.sum())))
            elif v.name in model.params["ordinal_items"] or v.name in model.params.get("categorical_items", {}):
                if v.name in model.params["ordinal_items"]:
                    probs = ordinal_probabilities(model, cal, v.name, group, cells)
                else:
                    probs = categorical_probabilities(model, v.name, cells)
                dk = _dont_know_prob(model, v.name, group, cells)
                wv = w * (1 - dk)
                shares = (wv @ probs) / wv.sum()
                codes = v.code_values
                for c, s in zip(codes, shares):
                    rows.append((group, v.name, "share", str(c), float(s)))
                if v.name in model.params["ordinal_items"]:
                    rows.append((group, v.name, "mean", "", float(np.dot(shares, np.asarray(codes, float)))))
                for g in cb.groupings_for(v.name):
                    gs = {key: float(sum(s for c, s in zip(codes, shares) if c in gcodes))
                          for key, _, gcodes in g.groups}
                    rows += [(group, v.name, g.name, key, val) for key, val in gs.items()]
                    if g.difference:
                        dname, _, plus, minus = g.difference
                        rows.append((group, v.name, dname, "", gs[plus] - gs[minus]))
                if v.dont_know:
                    rows.append((group, v.name, "share_dk", str(cb.dont_know_code), float(np.dot(w, dk) / w.sum())))
            elif v.type == "multi":
                m = multi_mention_probabilities(model, v.name, group, cells)
                for c, s in zip(v.code_values, (w @ m) / w.sum()):
                    rows.append((group, v.name, "share", str(c), float(s)))
            elif v.type == "open_words":
                m = word_mention_probabilities(model, v.name, group, cells)
                for word, s in zip(cb.vocabulary(v.name), (w @ m) / w.sum()):
                    rows.append((group, v.name, "share", word, float(s)))
    t = pd.DataFrame(rows, columns=["survey", "item", "statistic", "level", "value"])
    core = {v.name for v in cb.common_core()}
    both = t.loc[t["item"].isin(core)]
    wide = both.pivot_table(index=["item", "statistic", "level"], columns="survey", values="value",
                            aggfunc="first", sort=False).reset_index()
    diff = wide.assign(survey="visitors - residents", value=wide["visitors"] - wide["residents"])
    t = pd.concat([t, diff[["survey", "item", "statistic", "level", "value"]]], ignore_index=True)
    planted = model.planted()
    shift = {(r.item, r.level): r.group_shift for r in planted.itertuples()}
    t["group_shift"] = [shift.get((i, lv), shift.get((i, ""), np.nan)) if i in core else np.nan
                        for i, lv in zip(t["item"], t["level"])]
    t["value"] = t["value"].round(12) + 0.0      # + 0.0: no negative zero in the file
    t["source"] = "simulated"
    order = {n: i for i, n in enumerate(v.name for v in cb.variables)}
    t["_o"] = t["item"].map(order)
    t["_s"] = t["survey"].map({"residents": 0, "visitors": 1, "visitors - residents": 2})
    t = t.sort_values(["_s", "_o"], kind="stable").drop(columns=["_o", "_s"]).reset_index(drop=True)
    return t


# ============================================================================ simulation


@dataclass(frozen=True)
class Simulation:
    """The simulated fieldwork.

    Attributes
    ----------
    exports : survey → the table a survey tool would export (one row per person who started the
        questionnaire, codebook columns, codes).
    dispositions : survey → contact statuses (identifier, ``statut_contact``) of the units whose
        invitation was not delivered, who refused, or who are out of scope.
    persons : survey → every sampled unit with its simulated covariates, response propensity and
        fieldwork outcome (the simulator's own knowledge: not available with real data).
    truth : population values (see :func:`truth`).
    mapping : how the visitor frame's labels were mapped to the model's keys.
    population, calibration : the population cells and the solved quantities behind the truth.
    """

    exports: dict[str, pd.DataFrame]
    dispositions: dict[str, pd.DataFrame]
    persons: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    mapping: pd.DataFrame
    population: Population | None = None
    calibration: Calibration | None = None


def resident_units(slots: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Resident invitation slots with the covariates the model needs (department, size rank)."""
    for col in ("slot_id", "code", "departement"):
        if col not in slots.columns:
            raise InputError(f"the resident sample has no column {col!r}", column=col)
    dup = slots["slot_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError("slot_id appears twice in the resident sample", row=i + 1, column="slot_id",
                         value=slots["slot_id"].iloc[i])
    rank = frame.set_index("code")["size_class_rank"]
    units = pd.DataFrame({"id": slots["slot_id"].astype(str).to_numpy(),
                          "commune": slots["code"].astype(str).to_numpy(),
                          "departement": slots["departement"].astype(str).to_numpy()})
    units["size_rank"] = units["commune"].map(rank)
    if units["size_rank"].isna().any():
        i = int(np.flatnonzero(units["size_rank"].isna().to_numpy())[0])
        raise InputError("commune of the resident sample is not in the resident frame", row=i + 1,
                         column="code", value=units["commune"].iloc[i])
    units["size_rank"] = units["size_rank"].astype(int)
    return units


def visitor_units(model: FieldworkModel, sample: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Visitor sample persons with the model covariates mapped from their frame attributes.

    Attributes the partner did not record are drawn with ``rng`` (:func:`resolve_unknown`).
    """
    if "person_id" not in sample.columns:
        raise InputError("the visitor sample has no column 'person_id'", column="person_id")
    dup = sample["person_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError("person_id appears twice in the visitor sample", row=i + 1, column="person_id",
                         value=sample["person_id"].iloc[i])
    cov, _ = map_visitor_attributes(model, sample)
    cov = resolve_unknown(model, cov.reset_index(drop=True), rng)
    cov.insert(0, "id", sample["person_id"].astype(str).to_numpy())
    return cov


def _categorical_draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from each row of ``probs`` with the uniforms ``u`` (inverse CDF)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (u[:, None] > cum).sum(axis=1)


def _draw_profile(model: FieldworkModel, group: str, units: pd.DataFrame, population: pd.DataFrame | None,
                  rng: np.random.Generator) -> pd.DataFrame:
    out = units.copy()
    n = len(out)
    u = rng.random((n, 3))
    if group == "residents":
        sa = _sex_age_by_department(population)
        combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
        table = sa.pivot_table(index="departement", columns=["sexe", "age"], values="p").reindex(
            columns=pd.MultiIndex.from_tuples(combos)).fillna(0.0)
        missing = sorted(set(out["departement"]) - set(table.index))
        if missing:
            raise InputError(f"no INSEE sex × age figures for department(s) {missing}")
        probs = table.loc[out["departement"]].to_numpy(float)
    else:
        combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
        probs = _visitor_sex_age_probabilities(model, out)
    idx = _categorical_draw(probs, u[:, 0])
    out["sexe"] = np.asarray([c[0] for c in combos], dtype=object)[idx]
    age_idx = np.asarray([AGE_KEYS.index(c[1]) for c in combos])[idx]
    out["age"] = np.asarray(AGE_KEYS, dtype=object)[age_idx]
    edu = model.params[group]["education_by_age"]
    keys = list(model.codebook.variable("diplome").keys())
    edu_table = np.asarray([[edu[a][k] for k in keys] for a in AGE_KEYS], dtype=float)
    out["diplome"] = np.asarray(keys, dtype=object)[_categorical_draw(edu_table[age_idx], u[:, 1])]
    lo = np.asarray([AGE_SPAN[a][0] for a in AGE_KEYS])[age_idx]
    hi = np.asarray([AGE_SPAN[a][1] for a in AGE_KEYS])[age_idx]
    out["age_years"] = lo + np.floor(u[:, 2] * (hi - lo + 1)).astype(int)
    return out


def _skip(model: FieldworkModel, v: Variable, persons: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Item non-response mask for variable ``v``."""
    u = rng.random(len(persons))
    if model.complete:
        return np.zeros(len(persons), dtype=bool)
    rates = model.params["item_nonresponse"]["rates"]
    default = {"score_0_10": "default_score", "likert_1_5": "default_likert", "single": "default_single"}
    rate = rates.get(v.name, rates.get(default.get(v.type, ""), 0.0) if v.role == "opinion" else 0.0)
    if rate <= 0:
        return np.zeros(len(persons), dtype=bool)
    p = expit(logit(rate) + effects(model.params["item_nonresponse"].get("effects", {}), persons))
    return u < p


def _answers(model: FieldworkModel, cal: Calibration, group: str, persons: pd.DataFrame,
             seed: int) -> dict[str, pd.Series]:
    """Every answer of every person (before unit non-response and break-off), as export columns."""
    cb = model.codebook
    n = len(persons)
    cols: dict[str, Any] = {}
    u_fav = persons["favourability"].to_numpy(float)
    for v in cb.variables_for(group):
        stream = config.rng(seed, f"fieldwork/{group}/answer/{v.name}")
        if v.role == "technical":
            continue
        if v.role == "profile":
            codes = v.keys()
            cols[v.name] = pd.array(persons[v.name].map(codes).to_numpy(), dtype="Int16")
        elif v.name in CONTEXT[group]:
            cols.update(_context(model, group, v, persons, stream))
        elif v.name in model.params["ordinal_items"]:
            spec = model.ordinal(v.name)
            eta = spec["location"] + effects(spec["effects"], persons)
            ystar = eta + spec["loading"] * u_fav + stream.standard_normal(n)
            idx = np.searchsorted(cal.thresholds[(group, v.name)], ystar)
            codes = np.asarray(v.code_values)[idx]
            dk = stream.random(n) < _dont_know_prob(model, v.name, group, persons)
            cols[v.name] = pd.array(np.where(dk, cb.dont_know_code, codes), dtype="Int16")
        elif v.name in model.params.get("categorical_items", {}):
            probs = categorical_probabilities(model, v.name, persons)
            codes = np.asarray(v.code_values)[_categorical_draw(probs, stream.random(n))]
            dk = stream.random(n) < _dont_know_prob(model, v.name, group, persons)
            cols[v.name] = pd.array(np.where(dk, cb.dont_know_code, codes), dtype="Int16")
        elif v.type == "multi":
            lw = _option_log_weights(model, "multi_items", v.name, group, persons, v.code_values)
            nprob = np.asarray(model.params["multi_items"][v.name]["n_choices"][group], dtype=float)
            n_pick = 1 + _categorical_draw(np.tile(nprob, (n, 1)), stream.random(n))
            order = np.argsort(-(lw + stream.gumbel(size=lw.shape)), axis=1, kind="stable")
            chosen = np.zeros(lw.shape, dtype=np.int16)
            for r in range(v.max_choices):
                rows = np.flatnonzero(n_pick > r)
                chosen[rows, order[rows, r]] = 1
            for j, c in enumerate(v.code_values):
                cols[option_column(v.name, c)] = pd.array(chosen[:, j], dtype="Int16")
        elif v.type == "open_words":
            cols.update(_words(model, group, v, persons, stream))
        else:  # pragma: no cover - the model validation refuses unmodelled variables
            raise ParameterError(f"no simulation rule for {v.name!r}")
    return cols


def _context(model: FieldworkModel, group: str, v: Variable, persons: pd.DataFrame,
             rng: np.random.Generator) -> dict[str, Any]:
    n = len(persons)
    if v.name == "dep_residence":
        return {v.name: pd.array(persons["departement"].to_numpy(), dtype="string")}
    if v.name == "commune_residence":
        return {v.name: pd.array(persons["commune"].to_numpy(), dtype="string")}
    if v.name == "annees_residence":
        age = persons["age_years"].to_numpy(int)
        always = rng.random(n) < float(model.params["residents"]["always_lived_here"])
        years = np.where(always, age, np.floor(rng.random(n) * (age + 1)).astype(int))
        return {v.name: pd.array(np.clip(years, v.minimum, v.maximum), dtype="Int16")}
    if v.name in ("pays", "motif", "zone_visitee"):
        source = {"pays": "country", "motif": "purpose", "zone_visitee": "zone"}[v.name]
        codes = persons[source].map(v.keys())
        return {v.name: pd.array(codes.to_numpy(), dtype="Int16")}
    if v.name == "region_residence":
        codes = persons["region"].map(v.keys())
        return {v.name: pd.array(codes.to_numpy(), dtype="Int16")}
    if v.name == "nb_sejours":
        st = model.params["visitors"]["stays"]
        mean = persons["country"].map(lambda c: st["mean"].get(c, st["mean"]["default"])).to_numpy(float)
        lam = mean * (1 + float(st["per_extra_file"]) * persons["multiplicity"].to_numpy(float))
        stays = 1 + rng.poisson(lam)
        return {v.name: pd.array(np.clip(stays, v.minimum, v.maximum), dtype="Int16")}
    raise ParameterError(f"no simulation rule for context variable {v.name!r}")  # pragma: no cover


def _words(model: FieldworkModel, group: str, v: Variable, persons: pd.DataFrame,
           rng: np.random.Generator) -> dict[str, Any]:
    spec = model.params["words"][v.name]
    vocab = model.codebook.vocabulary(v.name)
    words = list(vocab)
    n = len(persons)
    lw = _option_log_weights(model, "words", v.name, group, persons, words)
    order = np.argsort(-(lw + rng.gumbel(size=lw.shape)), axis=1, kind="stable")[:, :3]
    u = rng.random((n, 2))
    blank2 = u[:, 0] < float(spec["blank_second"])
    blank3 = blank2 | (u[:, 1] < float(spec["blank_third"]))
    sp = spec["spelling"]
    form_u = rng.random((n, 3))
    pick_u = rng.random((n, 3))
    canonical = np.asarray(words, dtype=object)
    capital = np.asarray([w[:1].upper() + w[1:] for w in words], dtype=object)
    n_var = np.asarray([len(vocab[w]) for w in words])
    offset = np.concatenate([[0], np.cumsum(n_var)[:-1]])
    flat = np.asarray([x for w in words for x in vocab[w]] or [""], dtype=object)
    cols = {}
    for r in range(3):
        k = order[:, r]
        f = form_u[:, r]
        variant = (f >= sp["canonical"] + sp["capitalised"]) & (n_var[k] > 0)
        vi = offset[k] + np.minimum(np.floor(pick_u[:, r] * n_var[k]).astype(int), np.maximum(n_var[k] - 1, 0))
        out = np.where(f < sp["canonical"], canonical[k], np.where(variant, flat[np.minimum(vi, len(flat) - 1)],
                                                                   capital[k]))
        col = pd.array(out, dtype="string")
        if r == 1:
            col[blank2] = pd.NA
        if r == 2:
            col[blank3] = pd.NA
        cols[v.columns[r]] = col
    return cols


def _simulate_group(model: FieldworkModel, cal: Calibration, group: str, units: pd.DataFrame,
                    population: pd.DataFrame | None, seed: int):
    cb = model.codebook
    fw = model.params["fieldwork"][group]
    persons = as_categories(_draw_profile(model, group, units, population,
                                          config.rng(seed, f"fieldwork/{group}/profile")))
    n = len(persons)
    persons["favourability"] = config.rng(seed, f"fieldwork/{group}/favourability").standard_normal(n)
    nmar = float(model.params["propensity"].get("nmar_loading", 0.0))
    persons["propensity"] = expit(cal.intercepts[group] + _propensity_linear(model, group, persons)
                                  + nmar * persons["favourability"].to_numpy(float))
    u = config.rng(seed, f"fieldwork/{group}/disposition").random((n, 6))
    if model.complete:
        oos = undeliv = refusal = breakoff = np.zeros(n, dtype=bool)
        respond = np.ones(n, dtype=bool)
    else:
        oos = u[:, 0] < fw["out_of_scope"]
        undeliv = ~oos & (u[:, 1] < fw["undeliverable"])
        respond = ~oos & ~undeliv & (u[:, 2] < persons["propensity"].to_numpy(float))
        refusal = ~oos & ~undeliv & ~respond & (u[:, 3] < fw["refusal"])
        breakoff = respond & (u[:, 4] < fw["breakoff"])
    outcome = np.select([oos, undeliv, refusal, respond & breakoff, respond],
                        ["hors_champ", "non_distribuee", "refus", "interrompu", "complet"],
                        "sans_reponse")
    persons["outcome"] = outcome

    answers = _answers(model, cal, group, persons, seed)
    skip_rng = {v.name: config.rng(seed, f"fieldwork/{group}/skip/{v.name}") for v in cb.variables_for(group)}
    for v in cb.variables_for(group):
        if v.role == "technical":
            continue
        skip = _skip(model, v, persons, skip_rng[v.name])
        for col in v.columns:
            if skip.any():
                answers[col] = answers[col].copy()
                answers[col][skip] = pd.NA
    # filter: questions not asked
    for v in cb.variables_for(group):
        if v.asked_if is not None:
            ref, codes = v.asked_if
            asked = answers[ref].isin(list(codes)).to_numpy(dtype=bool, na_value=False)
            for col in v.columns:
                answers[col] = answers[col].copy()
                answers[col][~asked] = pd.NA
    # break-off: every opinion question from a random position on is blank
    opinion = [v for v in cb.variables_for(group) if v.role == "opinion"]
    stop = np.floor(u[:, 5] * len(opinion)).astype(int)
    for k, v in enumerate(opinion):
        cut = breakoff & (stop <= k)
        for col in v.columns:
            answers[col] = answers[col].copy()
            answers[col][cut] = pd.NA
    table = pd.DataFrame(answers)
    table.insert(0, "complet", pd.array(np.where(breakoff, 0, 1), dtype="Int16"))
    table.insert(0, cb.id_column(group), pd.array(persons["id"].to_numpy(), dtype="string"))
    table = table[cb.columns(group)]
    export = table.loc[respond].sort_values(cb.id_column(group)).reset_index(drop=True)
    disp_code = {spec["reason"]: code for code, spec in cb.dispositions.items()}
    has_disp = oos | undeliv | refusal
    dispositions = pd.DataFrame({
        cb.id_column(group): pd.array(persons["id"].to_numpy()[has_disp], dtype="string"),
        "statut_contact": pd.array([disp_code[o] for o in outcome[has_disp]], dtype="Int16")})
    dispositions = dispositions.sort_values(cb.id_column(group)).reset_index(drop=True)
    return persons, export, dispositions


def simulate(model: FieldworkModel, *, resident_slots: pd.DataFrame, resident_frame: pd.DataFrame,
             population: pd.DataFrame, visitor_sample: pd.DataFrame, visitor_frame: pd.DataFrame,
             seed: int) -> Simulation:
    """Simulate both surveys' fieldwork and compute the population truth.

    Parameters
    ----------
    model : the fieldwork model (``FieldworkModel.load``).
    resident_slots : resident sample, one row per invitation slot (``slot_id, code, departement``).
    resident_frame : resident frame (``code, departement, size_class_rank, pop15``).
    population : INSEE population by department × sex × age group (:func:`portrait.pipeline.sources.read_population`).
    visitor_sample : visitor sample (``person_id`` and the frame attributes of ``visitors.attributes``).
    visitor_frame : visitor frame (the visitor population; same attributes).
    seed : study seed; every draw comes from a named stream of it.
    """
    res_cells = resident_population(model, resident_frame, population)
    vis_cells, mapping = visitor_population(model, visitor_frame)
    pop = Population(res_cells, vis_cells, mapping)
    cal = calibrate(model, pop)
    units = {"residents": resident_units(resident_slots, resident_frame),
             "visitors": visitor_units(model, visitor_sample, config.rng(seed, "fieldwork/visitors/attributes"))}
    _, sample_mapping = map_visitor_attributes(model, visitor_sample)
    exports, dispositions, persons = {}, {}, {}
    for group in GROUPS:
        persons[group], exports[group], dispositions[group] = _simulate_group(
            model, cal, group, units[group], population if group == "residents" else None, seed)
    return Simulation(exports=exports, dispositions=dispositions, persons=persons,
                      truth=truth(model, pop, cal), mapping=sample_mapping, population=pop, calibration=cal)


def expected_respondents(model: FieldworkModel, population: Population, cal: Calibration) -> Population:
    """The population cells reweighted by their response propensity: the respondents' expected make-up.

    ``truth(model, expected_respondents(...), cal)`` gives the limit of the unweighted respondent
    estimates (exact when ``nmar_loading`` is 0: the other fieldwork losses do not depend on the
    covariates); its difference from the truth is the non-response bias weighting must remove.
    """
    nmar = float(model.params["propensity"].get("nmar_loading", 0.0))
    if nmar:
        raise ParameterError("expected_respondents is exact only without opinion-dependent response (nmar_loading 0)")
    cells = {}
    for group in GROUPS:
        c = population.cells(group)
        p = expit(cal.intercepts[group] + _propensity_linear(model, group, c))
        cells[group] = c.assign(n=c["n"].to_numpy(float) * p)
    return Population(cells["residents"], cells["visitors"], population.mapping)


def source_label(source: str) -> str:
    """« données simulées » when the answers come from the simulator, else an empty string."""
    if source not in ("simulated", "real"):
        raise ParameterError(f"parameter 'source' must be 'simulated' or 'real', got {source!r}")
    return SOURCE_LABEL if source == "simulated" else ""


# ============================================================================ the stage


TRUTH_COLUMNS = ["survey", "item", "statistic", "level", "value", "group_shift", "source"]


def prepare_survey_folder(source: str, *, simulated_dir: str | Path, real_dir: str | Path,
                          model: FieldworkModel, resident_slots: pd.DataFrame, resident_frame: pd.DataFrame,
                          population: pd.DataFrame, visitor_sample: pd.DataFrame, visitor_frame: pd.DataFrame,
                          seed: int, formats: list[str] | tuple[str, ...] = ("csv", "xlsx", "sav"),
                          encoding: str = "cp1252") -> tuple[Path, Simulation | None]:
    """The folder the ingest reads, and the simulation when ``source == "simulated"``.

    Simulated: the fieldwork is simulated and written into ``simulated_dir`` in every format of
    ``formats`` (:func:`portrait.study.exports.write_survey_folder`). Real: ``real_dir`` is returned
    as it is (the survey tool's exports were put there) and there is no simulation.
    """
    from .exports import write_survey_folder

    source_label(source)
    if source == "real":
        return paths.resolve(real_dir), None
    sim = simulate(model, resident_slots=resident_slots, resident_frame=resident_frame, population=population,
                   visitor_sample=visitor_sample, visitor_frame=visitor_frame, seed=seed)
    folder = paths.resolve(simulated_dir)
    write_survey_folder(sim.exports, sim.dispositions, folder, model.codebook, formats=formats, encoding=encoding)
    return folder, sim


def truth_table(sim: Simulation | None) -> pd.DataFrame:
    """The simulation's truth, or an empty table with the same columns (real data have no truth)."""
    if sim is None:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "group_shift") else object)
                             for c in TRUTH_COLUMNS})
    return sim.truth[TRUTH_COLUMNS]


def point_estimates(table: pd.DataFrame, codebook: Codebook, survey: str,
                    weight: str | None = None) -> pd.DataFrame:
    """Point estimates comparable with :func:`truth`, from a table of answers (one row per respondent).

    Same statistics and denominators as the truth: codes among substantive answers, « Ne sait
    pas » among the item's respondents, options and canonical words among the persons who
    answered the question. ``weight`` names a weight column (None: unweighted). No variance:
    this is for checking the simulator and showing non-response bias, not for the analysis.
    """
    cb = codebook
    w_all = table[weight].to_numpy(float) if weight else np.ones(len(table))
    rows = []

    def share(mask: np.ndarray, among: np.ndarray) -> float:
        return float(np.sum(w_all[mask & among]) / np.sum(w_all[among])) if among.any() else np.nan

    for v in cb.variables_for(survey):
        if v.role not in ("profile", "opinion") or not all(c in table.columns for c in v.columns):
            continue
        if v.type in ("single", "likert_1_5", "score_0_10"):
            x = table[v.name].to_numpy(dtype=float, na_value=np.nan)
            answered = ~np.isnan(x)
            valid = answered & (x != cb.dont_know_code)
            for c in v.code_values:
                rows.append((survey, v.name, "share", str(c), share(x == c, valid)))
            if v.name in _ordinal_names(cb):
                mean = float(np.sum(w_all[valid] * x[valid]) / np.sum(w_all[valid]))
                rows.append((survey, v.name, "mean", "", mean))
            for g in cb.groupings_for(v.name):
                gs = {key: share(np.isin(x, gcodes), valid) for key, _, gcodes in g.groups}
                rows += [(survey, v.name, g.name, key, val) for key, val in gs.items()]
                if g.difference:
                    dname, _, plus, minus = g.difference
                    rows.append((survey, v.name, dname, "", gs[plus] - gs[minus]))
            if v.dont_know:
                dk = share(x == cb.dont_know_code, answered)
                rows.append((survey, v.name, "share_dk", str(cb.dont_know_code), dk))
        elif v.type == "multi":
            m = table[v.columns].to_numpy(dtype=float, na_value=np.nan)
            answered = np.nansum(m, axis=1) > 0
            for j, c in enumerate(v.code_values):
                rows.append((survey, v.name, "share", str(c), share(m[:, j] == 1, answered)))
        elif v.type == "open_words":
            lookup = word_lookup(cb.vocabulary(v.name))
            canon = pd.DataFrame({c: table[c].map(lambda t: lookup.get(normalise_text(t)) if isinstance(t, str)
                                                  else None) for c in v.columns})
            answered = table[v.columns[0]].notna().to_numpy()
            for word in cb.vocabulary(v.name):
                cited = (canon == word).any(axis=1).to_numpy()
                rows.append((survey, v.name, "share", word, share(cited, answered)))
    return pd.DataFrame(rows, columns=["survey", "item", "statistic", "level", "value"])


def _ordinal_names(cb: Codebook) -> set[str]:
    return {v.name for v in cb.variables
            if v.type in ("likert_1_5", "score_0_10") or (v.type == "single" and v.ordered and v.role == "opinion")}


def compare_with_truth(estimates: pd.DataFrame, truth_: pd.DataFrame) -> pd.DataFrame:
    """Estimates beside the truth, with their difference (``bias`` = estimate − truth)."""
    t = truth_.loc[truth_["survey"] != "visitors - residents", ["survey", "item", "statistic", "level", "value"]]
    out = estimates.merge(t.rename(columns={"value": "truth"}), on=["survey", "item", "statistic", "level"],
                          how="inner").rename(columns={"value": "estimate"})
    out["bias"] = out["estimate"] - out["truth"]
    return out


def true_response_rates(sim: Simulation | None, responses: Mapping[str, pd.DataFrame], by: str) -> pd.DataFrame:
    """Response rates by a simulated profile variable (``sexe``, ``age``), known only to the simulator.

    The status comes from the ingest (``responses``: survey → table of every sampled unit); the
    profile of non-respondents from the simulator. Rate = respondents / units not excluded.
    Empty table for real data (``sim`` None).
    """
    cols = ["survey", by, "in_scope", "respondents", "rate"]
    if sim is None:
        return pd.DataFrame(columns=cols)
    parts = []
    for group in GROUPS:
        id_col = sim.exports[group].columns[0]
        p = sim.persons[group][["id", by]].merge(
            responses[group][[id_col, "status"]].astype({id_col: str}), left_on="id", right_on=id_col)
        g = pd.DataFrame({by: p[by], "in_scope": p["status"] != "excluded",
                          "respondents": p["status"] == "respondent"}).groupby(by, sort=True).sum()
        g["rate"] = g["respondents"] / g["in_scope"]
        parts.append(g.reset_index().assign(survey=group))
    return pd.concat(parts, ignore_index=True)[cols]


def age_profile(responses: Mapping[str, pd.DataFrame], codebook: Codebook, population: pd.DataFrame,
                truth_: pd.DataFrame) -> pd.DataFrame:
    """Age-group shares among respondents (unweighted) and in the population, per survey.

    Residents' population: INSEE estimates (15+) of the departments of the sample, real figures
    in both sources. Visitors' population: the simulator's truth (none with real data).
    Columns: ``survey, code, category, group, share`` (group « Répondants » or « Population »).
    """
    v = codebook.variable("age")
    labels = codebook.labels("age")
    rows = []
    for survey, table in responses.items():
        resp = table.loc[table["status"] == "respondent", "age"].dropna().astype(int)
        for c in v.code_values:
            rows.append((survey, c, labels[c], "Répondants", float((resp == c).mean()) if len(resp) else np.nan))
    res = responses.get("residents")
    if res is not None:
        deps = set(res["departement"].astype(str)) if "departement" in res.columns else None
        p = population.loc[(population["sex"] == "ensemble") & population["age_group"].isin(AGE_KEYS)]
        if deps:
            p = p.loc[p["departement"].isin(deps)]
        share = p.groupby("age_group")["population"].sum() / p["population"].sum()
        for c in v.codes:
            rows.append(("residents", c.value, c.label, "Population", float(share[c.key])))
    t = truth_.loc[(truth_["survey"] == "visitors") & (truth_["item"] == "age") & (truth_["statistic"] == "share")]
    for r in t.itertuples():
        rows.append(("visitors", int(r.level), labels[int(r.level)], "Population", float(r.value)))
    out = pd.DataFrame(rows, columns=["survey", "code", "category", "group", "share"])
    return out.sort_values(["survey", "group", "code"], ascending=[True, False, True]).reset_index(drop=True)
