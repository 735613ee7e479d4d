"""The fieldwork model: ``config/fieldwork_model.yaml`` read and checked against the codebook, and
the linear predictors (covariate effects) the rest of the simulator builds on.

The model itself is described in :mod:`portrait.study.fieldwork`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...pipeline import config, paths
from ...pipeline.errors import ParameterError
from ..codebook import Codebook


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
REQUIRED_SECTIONS = ("residents", "visitors", "fieldwork", "propensity", "item_nonresponse", "thresholds",
                     "ordinal_items")


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
        problems = list(dict.fromkeys(model._problems()))      # an effect checked for both groups is told once
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise ParameterError(f"the fieldwork model (config/{MODEL_FILE} by default) has {len(problems)} "
                                 f"problem(s):\n{lines}")
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
        return {"location": float(it["location"]),
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
        out = [f"section {section!r} is missing" for section in REQUIRED_SECTIONS if section not in p]
        if out:
            return out
        levels = _levels(p, self.codebook)
        return (_response_problems(p, levels) + _profile_problems(p, self.codebook)
                + _ordinal_problems(p, self.codebook, levels)
                + _choice_problems(p, self.codebook) + _unmodelled_problems(p, self.codebook))


def _response_problems(p: Mapping[str, Any], levels: Mapping[str, set[str]]) -> list[str]:
    """Fieldwork losses and response propensities of both groups."""
    out: list[str] = []
    for group in GROUPS:
        for name in ("out_of_scope", "undeliverable", "refusal", "breakoff"):
            x = p["fieldwork"].get(group, {}).get(name)
            if not isinstance(x, (int, float)) or not 0 <= x < 1:
                out.append(f"fieldwork.{group}.{name} must be a probability in [0, 1), got {x!r}")
        prop = p["propensity"].get(group, {})
        t = prop.get("target_rate")
        if not isinstance(t, (int, float)) or not 0 < t < 1:
            out.append(f"propensity.{group}.target_rate must lie in (0, 1), got {t!r}")
        out += _check_effects(prop.get("effects", {}), group, f"propensity.{group}.effects", levels)
    return out


def _profile_problems(p: Mapping[str, Any], cb: Codebook) -> list[str]:
    """Education tables, the visitors' unrecorded-attribute shares and their age tables."""
    out: list[str] = []
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
    return out


def _ordinal_problems(p: Mapping[str, Any], cb: Codebook, levels: Mapping[str, set[str]]) -> list[str]:
    """Threshold sets, then each ordinal item against its codebook variable."""
    out: list[str] = []
    for tname, tau in p["thresholds"].items():
        if not isinstance(tau, list) or np.any(np.diff(np.asarray(tau, dtype=float)) <= 0):
            out.append(f"thresholds.{tname} must be an increasing list")
    for name, spec in p.get("ordinal_items", {}).items():
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
        if "location" not in spec:
            out.append(f"ordinal_items.{name}: no location (the item's latent mean; 0 is the centre of its thresholds)")
        if spec.get("group_shift", 0) and not v.common_core:
            out.append(f"ordinal_items.{name}: group_shift only makes sense for a common-core item")
        elif v.common_core and "group_shift" not in spec:
            out.append(f"ordinal_items.{name}: no group_shift (the planted visitor − resident difference "
                       "of a common-core item; 0 for none)")
        for group in v.surveys:
            out += _check_effects(spec.get("effects", {}), group, f"ordinal_items.{name}.effects", levels)
    return out


def _choice_problems(p: Mapping[str, Any], cb: Codebook) -> list[str]:
    """Nominal items, multi-select items and open words against the codebook."""
    out: list[str] = []
    for name, spec in p.get("categorical_items", {}).items():
        v = cb.variable(name)
        keys = set(v.keys())
        if set(spec.get("base", {})) != keys:
            out.append(f"categorical_items.{name}.base must give every key of {sorted(keys)}")
    for name, spec in p.get("multi_items", {}).items():
        v = cb.variable(name)
        codes = set(v.code_values)
        if set(spec.get("weights", {})) != codes:
            out.append(f"multi_items.{name}.weights must give every option code {sorted(codes)}")
        if v.common_core and "group_shift" not in spec:
            out.append(f"multi_items.{name}: no group_shift (planted differences by option; {{}} for none)")
        if set(spec.get("group_shift", {})) - codes:
            out.append(f"multi_items.{name}.group_shift names unknown options")
        for group in v.surveys:
            probs = spec.get("n_choices", {}).get(group)
            if not isinstance(probs, list) or len(probs) != v.max_choices \
                    or abs(sum(probs) - 1) > 1e-9 or min(probs) < 0:
                out.append(f"multi_items.{name}.n_choices.{group} must be {v.max_choices} "
                           "probabilities summing to 1")
    for name, spec in p.get("words", {}).items():
        vocab = set(cb.vocabulary(name))
        if set(spec.get("weights", {})) != vocab:
            missing = sorted(vocab - set(spec.get("weights", {})))
            extra = sorted(set(spec.get("weights", {})) - vocab)
            out.append(f"words.{name}.weights must cover the codebook vocabulary exactly "
                       f"(missing {missing}, not in the codebook {extra})")
        if cb.variable(name).common_core and "group_shift" not in spec:
            out.append(f"words.{name}: no group_shift (planted differences by word; {{}} for none)")
        if set(spec.get("group_shift", {})) - vocab:
            out.append(f"words.{name}.group_shift names words outside the vocabulary")
        sp = spec.get("spelling", {})
        if sorted(sp) != ["canonical", "capitalised", "variant"] or abs(sum(sp.values()) - 1) > 1e-9:
            out.append(f"words.{name}.spelling needs canonical, capitalised and variant summing to 1")
    return out


def _unmodelled_problems(p: Mapping[str, Any], cb: Codebook) -> list[str]:
    """Codebook variables (other than technical, profile and context ones) without a simulation rule."""
    modelled = {name for section in ("ordinal_items", "categorical_items", "multi_items", "words")
                for name in p.get(section, {})}
    context = {name for g in GROUPS for name in CONTEXT[g]}
    return [f"codebook variable {v.name!r} has no simulation rule in the model: add one under ordinal_items, "
            "categorical_items, multi_items or words" for v in cb.variables
            if v.role not in ("technical", "profile") and v.name not in context and v.name not in modelled]


def _levels(p: Mapping[str, Any], cb: Codebook) -> dict[str, set[str]]:
    """The levels of the categorical covariates whose levels are known: the codebook's keys of the profile questions,
    its departments, and the categories the visitors' attribute patterns give."""
    levels = {name: set(cb.variable(name).keys()) for name in PROFILE}
    levels["departement"] = {str(c) for c in cb.variable("dep_residence").code_values}
    for cov, spec in p.get("visitors", {}).get("attributes", {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("patterns"), dict):
            levels[cov] = ({str(k) for k in spec["patterns"]} | {str(spec.get("default"))}) - {"unknown", "None"}
    return levels


def _check_effects(effects: Mapping[str, Any], group: str, where: str,
                   levels: Mapping[str, set[str]] | None = None) -> list[str]:
    known = set(COVARIATES["residents"]) | set(COVARIATES["visitors"])
    out = []
    for cov, eff in effects.items():
        if cov not in known:
            out.append(f"{where}: unknown covariate {cov!r}; covariates are {sorted(known)}")
        elif cov in NUMERIC_COVARIATES and not isinstance(eff, (int, float)):
            out.append(f"{where}: {cov} is numeric and takes a slope, got {eff!r}")
        elif cov not in NUMERIC_COVARIATES and not isinstance(eff, dict):
            out.append(f"{where}: {cov} is categorical and takes {{level: effect}}, got {eff!r}")
        elif cov in (levels or {}) and {str(k) for k in eff} - levels[cov]:
            # a level not listed has effect 0: a misspelt one would vanish without a word (trial H)
            out.append(f"{where}.{cov}: no level {sorted({str(k) for k in eff} - levels[cov])} "
                       f"(levels: {', '.join(sorted(levels[cov]))})")
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


# ============================================================================ linear predictors


CATEGORICAL_COVARIATES = ("age", "sexe", "diplome", "departement", "size_rank", "zone", "source_type",
                          "purpose", "country")


def as_categories(data: pd.DataFrame) -> pd.DataFrame:
    """The same table with its categorical covariates stored as pandas categories (fast effects)."""
    data = data.copy()
    for c in CATEGORICAL_COVARIATES:
        if c in data.columns and not isinstance(data[c].dtype, pd.CategoricalDtype):
            data[c] = categories(data[c])
    return data


def categories(values) -> pd.Categorical:
    """What ``pd.Categorical`` of ``values`` as objects gives (its sorted distinct values as categories), without
    converting every value to an object first."""
    codes, uniques = pd.factorize(values, sort=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(np.asarray(uniques, dtype=object), dtype=object))


class Covariates:
    """The categorical covariates of one table, coded once for many :func:`effects` on it.

    For a set of covariates, each row's combination of their values is found once; an effect sum is
    then computed per distinct combination (the same additions, in the same order, as row by row)
    and spread to the rows. The table must not change while this object is in use, nor the effect mappings given to
    :func:`effects` with it (each mapping's effect per category is looked up once and kept with the mapping).
    """

    def __init__(self, data: pd.DataFrame):
        self.data = data
        self.categories: dict[str, list] = {}
        self.codes: dict[str, np.ndarray] = {}
        self._combos: dict[tuple[str, ...], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._columns: tuple[pd.Index, frozenset] | None = None
        self._levels: dict[tuple[int, str], tuple[Mapping, np.ndarray]] = {}
        self._numbers: dict[str, np.ndarray] = {}

    def level_effects(self, name: str, eff: Mapping) -> np.ndarray:
        """The effect of each category of covariate ``name`` in ``eff`` (0 where absent), and 0 for a missing value
        last; kept with ``eff`` itself (held, so that its identity is not reused)."""
        hit = self._levels.get((id(eff), name))
        if hit is None or hit[0] is not eff:
            hit = (eff, np.append([float(eff.get(c, 0.0)) for c in self.categories[name]], 0.0))
            self._levels[(id(eff), name)] = hit
        return hit[1]

    def has(self, name: str) -> bool:
        """``name in data.columns``, through a set of the column names made once per columns index (a text index
        answers ``in`` far more slowly, and :func:`effects` asks hundreds of times per simulation)."""
        columns = self.data.columns
        if self._columns is None or self._columns[0] is not columns:
            self._columns = (columns, frozenset(columns))
        return name in self._columns[1]

    def categorical(self, name: str) -> bool:
        if name not in self.codes:
            if name in self._numbers:
                return False
            col = self.data[name]
            if not isinstance(col.dtype, pd.CategoricalDtype):
                self._numbers[name] = col.to_numpy(float) if pd.api.types.is_numeric_dtype(col.dtype) else None
                return False
            values = col.array          # the Categorical itself: its codes without a Series of them
            self.categories[name] = values.categories.tolist()
            self.codes[name] = values.codes
        return True

    def numbers(self, name: str) -> np.ndarray | None:
        """``data[name].to_numpy(float)`` of a numeric, not categorical, column (None for any other), kept."""
        return None if self.categorical(name) else self._numbers[name]

    def combos(self, names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each row's combination (its position among the distinct ones) and, per covariate, the code
        of each distinct combination."""
        if names not in self._combos:
            radix = [len(self.categories[c]) + 1 for c in names]      # + 1: a missing value (code -1)
            if np.prod(radix, dtype=float) <= 1 << 22:                # combinations counted, not sorted
                key = np.zeros(len(self.data), dtype=np.int64)
                for c, r in zip(names, radix):
                    key = key * r + (self.codes[c] + 1)
                used = np.zeros(int(np.prod(radix)), dtype=bool)
                used[key] = True
                inverse = (np.cumsum(used) - 1)[key]
                rest, combo = np.flatnonzero(used), {}
                for c, r in zip(reversed(names), reversed(radix)):
                    rest, digit = np.divmod(rest, r)
                    combo[c] = digit - 1
            else:
                codes = np.column_stack([self.codes[c] for c in names])
                _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
                inverse, combo = inverse.ravel(), {c: self.codes[c][first] for c in names}
            self._combos[names] = (inverse, combo)
        return self._combos[names]


def effects(spec: Mapping[str, Any], data: pd.DataFrame, covariates: Covariates | None = None) -> np.ndarray:
    """Sum of covariate effects for each row of ``data`` (covariates the data lack contribute 0).

    ``covariates`` (a :class:`Covariates` of ``data``) shares the coding of the categorical covariates
    between calls; the result is the same.
    """
    if covariates is not None:
        present = tuple(cov for cov in spec if covariates.has(cov))
        levels = [isinstance(spec[c], dict) for c in present]
        if present and all(covariates.categorical(c) if lv else covariates.numbers(c) is not None
                           for c, lv in zip(present, levels)):
            return _coded_effects(spec, present, levels, covariates)
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


def _coded_effects(spec: Mapping[str, Any], present: tuple[str, ...], levels: list[bool],
                   covariates: Covariates) -> np.ndarray:
    """:func:`effects` of the ``present`` covariates (``levels``: categorical with an effect per level, else numeric
    with a slope), in their order: the categorical ones before the first slope summed per distinct combination of
    their values and spread to the rows, the rest added row by row (the same additions as the row path's)."""
    lead = present[:levels.index(False)] if False in levels else present
    if lead:
        inverse, combo = covariates.combos(lead)
        out = np.zeros(len(combo[lead[0]]))
        for cov in lead:
            out += covariates.level_effects(cov, spec[cov])[combo[cov]]
        out = out[inverse]
    else:
        out = np.zeros(len(covariates.data))
    for cov, level in zip(present[len(lead):], levels[len(lead):]):
        if level:
            out += covariates.level_effects(cov, spec[cov])[covariates.codes[cov]]
        else:
            out += float(spec[cov]) * covariates.numbers(cov)
    return out


def option_effects(spec: Mapping[str, Any], data: pd.DataFrame, options: list,
                   covariates: Covariates | None = None) -> np.ndarray:
    """Log-weight effects per row and option from ``{covariate: {level: {option: effect}}}``; ``covariates`` (a
    :class:`Covariates` of ``data``) gives the categorical covariates' codes (the same rows' effects)."""
    index = {o: j for j, o in enumerate(options)}
    out = np.zeros((len(data), len(options)))
    for cov, levels in spec.items():
        if not (covariates.has(cov) if covariates is not None else cov in data.columns):
            continue
        if covariates is not None and covariates.categorical(cov):       # its categories, not its values factorised
            codes, values = covariates.codes[cov], covariates.categories[cov]
        else:
            codes, values = pd.factorize(data[cov])        # each person's value, compared once per distinct value
        per_value = np.zeros((len(values) + 1, len(options)))   # last row: a missing value, no effect
        for j, value in enumerate(values):
            for level, eff in levels.items():
                if value == level:
                    for o, e in eff.items():
                        per_value[j, index[o]] += e
        out += per_value[codes]
    return out
