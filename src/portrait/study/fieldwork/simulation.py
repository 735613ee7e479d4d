"""Drawing the fieldwork: profiles, answers, item and unit non-response, break-off, and the exports and
contact statuses a survey tool would give; :func:`simulate` runs both surveys.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import expit

from ...pipeline import config
from ...pipeline.errors import InputError, ParameterError
from ...survey.labels import arrow_chunks, masked_parts
from ..codebook import Variable, option_column
from ..unit_table import held_index
from .model import (AGE_KEYS, AGE_SPAN, CATEGORICAL_COVARIATES, CONTEXT, FieldworkModel, GROUPS, SEX_KEYS,
                    SOURCE_LABEL, Covariates, categories, effects)
from .drawing import _Rows, _categorical_draw, _categorical_draw_by, _drawn_categories, _top_stable
from .population import (CodedFrame, Population, resolved_categories, resolved_categories_at,
                         _sex_age_by_department, _visitor_sex_age_table, map_visitor_attributes, resident_population,
                         visitor_population)
from .true_values import (Calibration, _dont_know_prob, _option_log_weights, _propensity_linear, calibrate,
                          categorical_probabilities, rate_probability, truth)


# ============================================================================ simulation

#: A source of random streams by purpose: ``draws("fieldwork/residents/profile")`` returns an object with
#: the :class:`numpy.random.Generator` methods the simulator uses (``random``, ``standard_normal``,
#: ``gumbel``, ``poisson``), one row per unit.
Draws = Callable[[str], Any]


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
    if not slots["slot_id"].is_unique:       # asked first: cheaper than marking every row
        i = int(np.flatnonzero(slots["slot_id"].duplicated().to_numpy())[0])
        raise InputError("slot_id appears twice in the resident sample", row=i + 1, column="slot_id",
                         value=slots["slot_id"].iloc[i])
    units = pd.DataFrame({"id": slots["slot_id"].astype(str).array,     # text columns kept as they are, not
                          "commune": slots["code"].astype(str).array,       # made into Python objects and back
                          "departement": slots["departement"].astype(str).array})
    code, communes = pd.factorize(units["commune"])          # each commune looked up once in the frame
    found = np.append(held_index(frame["code"]).get_indexer(communes), -1)[code]     # -1: not found, or no commune
    ranks = np.append(frame["size_class_rank"].to_numpy(), np.nan)[found]
    missing = pd.isna(ranks)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError("commune of the resident sample is not in the resident frame", row=i + 1,
                         column="code", value=units["commune"].iloc[i])
    units["size_rank"] = ranks.astype(int)
    return units


def visitor_units(model: FieldworkModel, sample: pd.DataFrame, rng: np.random.Generator,
                  frame: CodedFrame | None = None, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Visitor sample persons with the model covariates mapped from their frame attributes.

    Attributes the partner did not record are drawn with ``rng`` (:func:`resolve_unknown`). The categorical
    covariates are categories already, as :func:`as_categories` makes them (the simulator's coding, not text).
    ``frame`` and ``rows``: the frame's attributes mapped once (:func:`population.coded_frame`) and the distinct rows
    of the frame the sample is (a validation's draw); the same units, without mapping the sample's texts again.
    """
    if "person_id" not in sample.columns:
        raise InputError("the visitor sample has no column 'person_id'", column="person_id")
    at_rows = frame is not None and rows is not None
    if not (at_rows and frame.unique_ids) and not sample["person_id"].is_unique:    # distinct rows of unique ids are
        i = int(np.flatnonzero(sample["person_id"].duplicated().to_numpy())[0])        # unique: not asked again
        raise InputError("person_id appears twice in the visitor sample", row=i + 1, column="person_id",
                         value=sample["person_id"].iloc[i])
    cols = (resolved_categories_at(model, frame, rows, rng) if at_rows
            else resolved_categories(model, sample, rng, "visitor sample"))
    return pd.DataFrame({"id": sample["person_id"].astype(str).array, **cols})


_SEX_AGE_TABLES: dict[int, tuple[weakref.ref, pd.Index, np.ndarray]] = {}


def _sex_age_table(population: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Departments and their P(sex × age) rows (columns: SEX_KEYS × AGE_KEYS), once per INSEE table: a
    validation draws thousands of samples from the same (unchanged) table."""
    hit = _SEX_AGE_TABLES.get(id(population))
    if hit is not None and hit[0]() is population:
        return hit[1], hit[2]
    combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
    table = _sex_age_by_department(population).pivot_table(index="departement", columns=["sexe", "age"], values="p")
    table = table.reindex(columns=pd.MultiIndex.from_tuples(combos)).fillna(0.0)
    _SEX_AGE_TABLES.clear()
    _SEX_AGE_TABLES[id(population)] = (weakref.ref(population), table.index, table.to_numpy(float))
    return table.index, _SEX_AGE_TABLES[id(population)][2]


def _draw_profile(model: FieldworkModel, group: str, units: pd.DataFrame, population: pd.DataFrame | None,
                  rng: np.random.Generator) -> pd.DataFrame:
    """``as_categories`` of the units with their drawn sex, age, education and age in years: the table is made once
    from its columns, not copied twice and grown a column at a time."""
    out = {c: categories(units[c])
           if c in CATEGORICAL_COVARIATES and not isinstance(units[c].dtype, pd.CategoricalDtype) else units[c].array
           for c in units.columns}
    n = len(units)
    u = rng.random((n, 3))
    if group == "residents":
        combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
        departments, p_sex_age = _sex_age_table(population)
        dep = out.get("departement")
        if isinstance(dep, pd.Categorical):     # each department looked up once, not each unit's text
            row = np.append(departments.get_indexer(dep.categories), -1)[dep.codes]
        else:
            row = departments.get_indexer(units["departement"])
        if (row < 0).any():
            missing = sorted(set(pd.unique(units["departement"][row < 0])))
            raise InputError(f"no INSEE sex × age figures for department(s) {missing}")
        table = p_sex_age
    else:
        combos = [(s, a) for s in SEX_KEYS for a in AGE_KEYS]
        table, row = _visitor_sex_age_table(model, units)
    idx = _categorical_draw_by(table, row, u[:, 0])
    out["sexe"] = _drawn_categories(SEX_KEYS, np.asarray([SEX_KEYS.index(c[0]) for c in combos])[idx])
    age_idx = np.asarray([AGE_KEYS.index(c[1]) for c in combos])[idx]
    out["age"] = _drawn_categories(AGE_KEYS, age_idx)
    edu = model.params[group]["education_by_age"]
    keys = list(model.codebook.variable("diplome").keys())
    edu_table = np.asarray([[edu[a][k] for k in keys] for a in AGE_KEYS], dtype=float)
    out["diplome"] = _drawn_categories(keys, _categorical_draw_by(edu_table, age_idx, u[:, 1]))
    lo = np.asarray([AGE_SPAN[a][0] for a in AGE_KEYS])[age_idx]
    hi = np.asarray([AGE_SPAN[a][1] for a in AGE_KEYS])[age_idx]
    out["age_years"] = lo + np.floor(u[:, 2] * (hi - lo + 1)).astype(int)
    return pd.DataFrame(out, index=units.index)


def _skip(model: FieldworkModel, v: Variable, persons: pd.DataFrame, rng: np.random.Generator,
          covariates: Covariates | None = None, kept: dict | None = None) -> np.ndarray:
    """Item non-response mask for variable ``v``.

    ``rng`` is ``v``'s own stream: a variable without item non-response (``_skip_rate`` 0) draws nothing from it, as
    its draws would be thrown away (the other variables' are the same). ``kept``: a dict the caller gives for all the
    variables of the same ``persons``, where the probabilities are kept (:func:`.true_values.rate_probability`: every
    variable shares the covariate effects, and most a default rate)."""
    rate = _skip_rate(model, v)
    if rate <= 0:
        return np.zeros(len(persons), dtype=bool)
    u = rng.random(len(persons))
    return u < rate_probability(rate, model.params["item_nonresponse"].get("effects", {}), persons, covariates, kept)


def _skip_rate(model: FieldworkModel, v: Variable) -> float:
    """The item non-response rate of variable ``v`` (0 in a complete model)."""
    if model.complete:
        return 0.0
    rates = model.params["item_nonresponse"]["rates"]
    default = {"score_0_10": "default_score", "likert_1_5": "default_likert", "single": "default_single"}
    return rates.get(v.name, rates.get(default.get(v.type, ""), 0.0) if v.role == "opinion" else 0.0)


def _answers(model: FieldworkModel, cal: Calibration, group: str, persons: pd.DataFrame,
             draws: Draws, only: Collection[str] | None = None, rows: np.ndarray | None = None,
             kept: tuple[pd.DataFrame, Covariates] | None = None) -> dict[str, pd.Series]:
    """Every answer of every person (before unit non-response and break-off), as export columns.

    ``draws(purpose)`` gives the random stream of one purpose (one stream per variable); ``only``
    restricts the answers to these variables (every variable's stream is its own, so the answers
    to a variable do not depend on which others are drawn). ``rows`` (positions in ``persons``)
    restricts them to these persons: every stream still draws for all persons, so each kept person
    answers exactly as in the simulation of all of them. ``kept``: these persons' table and its
    :class:`Covariates`, when the caller has them already.
    """
    cb = model.codebook
    everyone = persons
    if rows is not None:
        persons = everyone.iloc[rows].reset_index(drop=True) if kept is None else kept[0]
        all_draws = draws
        if hasattr(all_draws, "rows"):      # each unit's own streams (a finite population): draw for the rows only
            draws = all_draws.rows(rows)
        else:
            draws = lambda purpose: _Rows(all_draws(purpose), len(everyone), rows)  # noqa: E731
    n = len(persons)
    cols: dict[str, Any] = {}
    u_fav = persons["favourability"].to_numpy(float)
    covariates = Covariates(persons) if kept is None else kept[1]
    dk_kept: dict = {}       # « Ne sait pas » probabilities by rate and effects, shared by the items with the same ones
    for v in cb.variables_for(group):
        if only is not None and v.name not in only:
            continue
        if v.role == "technical":
            continue
        if v.role == "profile":        # the drawn profile, coded: its stream draws nothing, so it is not made
            cols[v.name] = _coded(persons[v.name], v.keys())
            continue
        stream = draws(f"fieldwork/{group}/answer/{v.name}")
        if v.name in _RATE_DRAWS and isinstance(stream, _Rows):   # a Poisson draw depends on each person's rate
            cols.update({c: a[rows] for c, a in _context(model, group, v, everyone, stream.stream).items()})
        elif v.name in CONTEXT[group]:
            cols.update(_context(model, group, v, persons, stream))
        elif v.name in model.params["ordinal_items"]:
            spec = model.ordinal(v.name)
            eta = spec["location"] + effects(spec["effects"], persons, covariates)
            ystar = eta + spec["loading"] * u_fav + stream.standard_normal(n)
            idx = np.searchsorted(cal.thresholds[(group, v.name)], ystar)
            codes = np.asarray(v.code_values)[idx]
            dk = stream.random(n) < _dont_know_prob(model, v.name, group, persons, covariates, spec, dk_kept)
            cols[v.name] = _int16(np.where(dk, cb.dont_know_code, codes))
        elif v.name in model.params.get("categorical_items", {}):
            probs = categorical_probabilities(model, v.name, persons, covariates)
            codes = np.asarray(v.code_values)[_categorical_draw(probs, stream.random(n))]
            dk = stream.random(n) < _dont_know_prob(model, v.name, group, persons, covariates, kept=dk_kept)
            cols[v.name] = _int16(np.where(dk, cb.dont_know_code, codes))
        elif v.type == "multi":
            lw = _option_log_weights(model, "multi_items", v.name, group, persons, v.code_values, covariates)
            nprob = np.asarray(model.params["multi_items"][v.name]["n_choices"][group], dtype=float)
            n_pick = 1 + _categorical_draw_by(nprob[None, :], np.zeros(n, dtype=np.int64), stream.random(n))
            order = _top_stable(lw + stream.gumbel(size=lw.shape), v.max_choices)
            chosen = np.zeros(lw.shape, dtype=np.int16)
            for r in range(v.max_choices):
                picking = np.flatnonzero(n_pick > r)
                chosen[picking, order[picking, r]] = 1
            for j, c in enumerate(v.code_values):
                cols[option_column(v.name, c)] = _int16(chosen[:, j])
        elif v.type == "open_words":
            cols.update(_words(model, group, v, persons, stream, covariates))
        else:  # pragma: no cover - the model validation refuses unmodelled variables
            raise ParameterError(f"no simulation rule for {v.name!r}")
    return cols


_RATE_DRAWS = {"nb_sejours"}     # context variables drawn with a rate per person: from the stream of everyone


def _context(model: FieldworkModel, group: str, v: Variable, persons: pd.DataFrame,
             rng: np.random.Generator) -> dict[str, Any]:
    n = len(persons)
    if v.name in ("dep_residence", "commune_residence"):     # the column cast, not rebuilt from Python objects
        return {v.name: persons["departement" if v.name == "dep_residence" else "commune"].astype("string").array}
    if v.name == "annees_residence":
        age = persons["age_years"].to_numpy(int)
        always = rng.random(n) < float(model.params["residents"]["always_lived_here"])
        years = np.where(always, age, np.floor(rng.random(n) * (age + 1)).astype(int))
        return {v.name: _int16(np.clip(years, v.minimum, v.maximum))}
    if v.name in ("pays", "motif", "zone_visitee"):
        source = {"pays": "country", "motif": "purpose", "zone_visitee": "zone"}[v.name]
        return {v.name: _coded(persons[source], v.keys())}
    if v.name == "region_residence":
        return {v.name: _coded(persons["region"], v.keys())}
    if v.name == "nb_sejours":
        st = model.params["visitors"]["stays"]
        mean = _stay_means(persons["country"], st["mean"])
        lam = mean * (1 + float(st["per_extra_file"]) * persons["multiplicity"].to_numpy(float))
        stays = 1 + rng.poisson(lam)
        return {v.name: _int16(np.clip(stays, v.minimum, v.maximum))}
    raise ParameterError(f"no simulation rule for context variable {v.name!r}")  # pragma: no cover


def _stay_means(country: pd.Series, means: Mapping[str, float]) -> np.ndarray:
    """``country.map(lambda c: means.get(c, means["default"])).to_numpy(float)``: a categorical column's mean looked
    up once per category (and once for a missing country), then taken at each row's code."""
    mean = lambda c: means.get(c, means["default"])      # noqa: E731
    if not isinstance(country.dtype, pd.CategoricalDtype):
        return country.map(mean).to_numpy(float)
    values = country.array
    return np.asarray([mean(c) for c in values.categories] + [mean(np.nan)], dtype=float)[values.codes]


def _words(model: FieldworkModel, group: str, v: Variable, persons: pd.DataFrame,
           rng: np.random.Generator, covariates: Covariates | None = None) -> dict[str, Any]:
    spec = model.params["words"][v.name]
    vocab = model.codebook.vocabulary(v.name)
    words = list(vocab)
    n = len(persons)
    lw = _option_log_weights(model, "words", v.name, group, persons, words, covariates)
    order = _top_stable(lw + rng.gumbel(size=lw.shape), 3)
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
    # every text a person can write, converted once: each answer is one of them, taken by position in Arrow
    # (a blank: a missing position), instead of an array of Python strings converted per column
    texts = arrow_chunks(pd.Series(pd.array(np.concatenate([canonical, capital, flat]), dtype="string")))
    n_words = len(words)
    cols = {}
    for r in range(3):
        k = order[:, r]
        f = form_u[:, r]
        variant = (f >= sp["canonical"] + sp["capitalised"]) & (n_var[k] > 0)
        vi = offset[k] + np.minimum(np.floor(pick_u[:, r] * n_var[k]).astype(int), np.maximum(n_var[k] - 1, 0))
        at = np.where(f < sp["canonical"], k, np.where(variant, 2 * n_words + np.minimum(vi, len(flat) - 1),
                                                       n_words + k))
        blank = blank2 if r == 1 else blank3 if r == 2 else None
        cols[v.columns[r]] = pd.array(texts.take(pa.array(at, mask=blank)), dtype="string")
    return cols


def _persons(model: FieldworkModel, cal: Calibration, group: str, units: pd.DataFrame,
             population: pd.DataFrame | None, draws: Draws) -> pd.DataFrame:
    """The units with their drawn profile, favourability and the response propensity these imply."""
    persons = _draw_profile(model, group, units, population, draws(f"fieldwork/{group}/profile"))
    persons["favourability"] = draws(f"fieldwork/{group}/favourability").standard_normal(len(persons))
    nmar = float(model.params["propensity"].get("nmar_loading", 0.0))
    persons["propensity"] = expit(cal.intercepts[group] + _propensity_linear(model, group, persons)
                                  + nmar * persons["favourability"].to_numpy(float))
    return persons


def _int16(values: np.ndarray) -> pd.arrays.IntegerArray:
    """``pd.array(values, dtype="Int16")`` of integers without a missing value, built directly."""
    return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int16), np.zeros(len(values), dtype=bool))


def _coded(col: pd.Series, codes: dict) -> pd.arrays.IntegerArray:
    """``pd.array(col.map(codes).to_numpy(), dtype="Int16")``, one look-up per category or distinct value, not per
    row (missing where the value is, or has no code)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        idx, distinct = col.array.codes, col.array.categories     # the Categorical's own, not Series of them
    else:
        idx, distinct = pd.factorize(col)
    found = np.asarray([c in codes for c in distinct] + [False])          # the last: a missing value (code -1)
    values = np.asarray([codes[c] if f else 0 for c, f in zip(distinct, found)] + [0], dtype=np.int16)
    return pd.arrays.IntegerArray(values[idx], ~found[idx])


def _blanked(answer: Any, blank: np.ndarray | None, order: np.ndarray | None = None) -> Any:
    """An export column with its ``blank`` rows missing, its rows taken in ``order`` (all when None)."""
    if isinstance(answer, pd.arrays.IntegerArray):
        data, mask = masked_parts(answer)
        mask = mask if blank is None else mask | blank
        if order is not None:
            data, mask = data[order], mask[order]
        return pd.arrays.IntegerArray(data, mask)
    if order is not None and isinstance(answer, pd.arrays.ArrowStringArray):    # taken in Arrow: a blank row's
        at = pa.array(order, mask=None if blank is None else blank[order])       # position missing, its text too
        return type(answer)(answer.__arrow_array__().take(at))
    out = answer if order is None else answer.take(order)
    if blank is not None and blank.any():
        out = out.copy()
        out[blank if order is None else blank[order]] = pd.NA
    return out


def _texts(ids: pd.Series, rows: np.ndarray) -> pd.arrays.StringArray:
    """``pd.array(ids.to_numpy()[rows], dtype="string")``, taken in Arrow from a text column stored by pyarrow."""
    chunks = arrow_chunks(ids)
    if chunks is None:
        return pd.array(ids.to_numpy()[rows], dtype="string")
    return pd.array(chunks.take(rows), dtype="string")


def _text_order(ids: pd.Series, rows: np.ndarray) -> np.ndarray:
    """``np.argsort(ids.to_numpy()[rows], kind="stable")``: identifiers held by pyarrow without a gap are sorted in
    Arrow (a stable sort by UTF-8 bytes, which keeps the order of code points, Python's order of texts), not as
    Python strings (7 ms instead of under 1 for the 6,000 visitor respondents); any other column as Python objects."""
    chunks = arrow_chunks(ids)
    if chunks is not None and not chunks.null_count and len(chunks):
        return np.asarray(pc.sort_indices(chunks.take(pa.array(rows, type=pa.int64())))).astype(np.intp, copy=False)
    return np.argsort(ids.to_numpy()[rows], kind="stable")


def _export(answers: dict[str, Any], blank: dict[str, np.ndarray], order: np.ndarray, columns: Sequence[str],
            source_row: bool = False) -> pd.DataFrame:
    """The export: ``_blanked(answers[c], blank.get(c), order)`` of each column, and with ``source_row`` its rows'
    numbers in the file (2, 3, …; Int32) last, as the ingest reads them. The Int16 answers, most of the columns, are
    stacked and their rows taken in ``order`` at once (one take per column cost some 2 ms per replication)."""
    stacked = [c for c in columns if isinstance(answers[c], pd.arrays.IntegerArray)
               and answers[c].dtype == pd.Int16Dtype()]
    out = {}
    if stacked:
        parts = [masked_parts(answers[c]) for c in stacked]
        data = np.stack([d for d, _ in parts])[:, order]
        mask = np.stack([m if blank.get(c) is None else m | blank[c] for c, (_, m) in zip(stacked, parts)])[:, order]
        out = {c: pd.arrays.IntegerArray(data[j], mask[j]) for j, c in enumerate(stacked)}
    export = {c: out[c] if c in out else _blanked(answers[c], blank.get(c), order) for c in columns}
    if source_row:
        export["source_row"] = pd.array(np.arange(2, len(order) + 2), dtype="Int32")
    return pd.DataFrame(export, copy=False)     # the columns are new arrays already: not copied again


def _stand_in(model: FieldworkModel, v: Variable, n: int) -> dict[str, Any]:
    """The export columns of an opinion variable whose answers are not drawn, for ``n`` respondents: its first code
    (a multi-select: its first option chosen; open words: the vocabulary's first word and no other). They are
    blanked later as the drawn answers would be (skipped, not asked, broken off), so who answered the item — all the
    break-off rule reads of it — is what the full simulation gives."""
    if v.type == "multi":
        return {option_column(v.name, c): _int16(np.full(n, j == 0)) for j, c in enumerate(v.code_values)}
    if v.type == "open_words":
        both = pd.array([next(iter(model.codebook.vocabulary(v.name))), pd.NA], dtype="string")
        return {c: both.take(np.full(n, min(j, 1))) for j, c in enumerate(v.columns)}
    return {v.name: _int16(np.full(n, v.code_values[0]))}


def _simulate_group(model: FieldworkModel, cal: Calibration, group: str, units: pd.DataFrame,
                    population: pd.DataFrame | None, seed: int, unit_draws: Draws | None = None,
                    source_row: bool = False, answer_rows: dict | None = None,
                    drawn: Collection[str] | None = None):
    """One survey's fieldwork: persons, the export of the respondents and the contact statuses.

    Profile, favourability and answers come from ``unit_draws`` (a finite population: every unit's
    own counter-based stream, :mod:`.finite`) or, when None, from the named streams of ``seed``
    (a super-population draw). The response phase — disposition, item non-response, break-off —
    always comes from ``seed``. ``source_row``: the export also numbers its rows as in the file (:func:`_export`).
    ``answer_rows``: a dict the caller gives, where each unit's row in the export and in the contact statuses (-1:
    none) are put under ``"rows"`` and ``"dispositions"``. ``drawn``: the opinion variables whose answers are drawn
    (all when None); the others of the common core get :func:`_stand_in` columns (the break-off rule counts who
    answered them), the rest no column, their streams untouched (the validation study reads a few items: every other
    answer would be drawn, exported and read for nothing).
    """
    cb = model.codebook
    fw = model.params["fieldwork"][group]
    draws = unit_draws if unit_draws is not None else partial(config.rng, seed)
    persons = _persons(model, cal, group, units, population, draws)
    n = len(persons)
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
    labels = ["hors_champ", "non_distribuee", "refus", "interrompu", "complet", "sans_reponse"]
    outcome = np.select([oos, undeliv, refusal, respond & breakoff, respond], range(5), 5)     # a label's position
    persons["outcome"] = pd.array(labels, dtype="str").take(outcome)     # the labels taken, not converted per row

    # only the respondents are exported, so only their answers are computed (from the draws of everyone)
    rows = np.flatnonzero(respond)
    kept = persons.iloc[rows].reset_index(drop=True)
    kept_covariates = Covariates(kept)
    not_drawn = [] if drawn is None else [v for v in cb.variables_for(group)
                                          if v.role == "opinion" and v.name not in drawn]
    standing_in = [v for v in not_drawn if v.common_core]
    left_out = {v.name for v in not_drawn if not v.common_core}
    only = None if drawn is None else {v.name for v in cb.variables_for(group)} - {v.name for v in not_drawn}
    answers = _answers(model, cal, group, persons, draws, only=only, rows=rows, kept=(kept, kept_covariates))
    for v in standing_in:
        answers.update(_stand_in(model, v, len(rows)))
    blank = {col: np.asarray(a.isna(), dtype=bool) for col, a in answers.items()}    # an answer's blanks, as a mask
    skip_p: dict = {}      # the probabilities by rate and effects, for every variable of the same ones
    for v in cb.variables_for(group):
        if v.role == "technical" or v.name in left_out or _skip_rate(model, v) <= 0:   # nothing skipped: no stream
            continue
        skip = _skip(model, v, kept, _Rows(config.rng(seed, f"fieldwork/{group}/skip/{v.name}"), n, rows),
                     kept_covariates, skip_p)
        for col in v.columns:
            blank[col] |= skip
    # filter: questions not asked
    for v in cb.variables_for(group):
        if v.asked_if is not None and v.name not in left_out:
            ref, codes = v.asked_if
            asked = _blanked(answers[ref], blank[ref]).isin(list(codes)).to_numpy(dtype=bool, na_value=False)
            for col in v.columns:
                blank[col] |= ~asked
    # break-off: every opinion question from a random position on is blank
    opinion = [v for v in cb.variables_for(group) if v.role == "opinion"]
    stop = np.floor(u[rows, 5] * len(opinion)).astype(int)
    stop[~breakoff[rows]] = len(opinion)        # those who completed it stop after the last
    for k, v in enumerate(opinion):
        if v.name in left_out:
            continue
        cut = stop <= k
        for col in v.columns:
            blank[col] |= cut
    ids = persons["id"]
    answers[cb.id_column(group)] = _texts(ids, rows)
    answers["complet"] = _int16(np.where(breakoff[rows], 0, 1))
    order = _text_order(ids, rows)     # as sort_values on the identifiers (a stable sort)
    export = _export(answers, blank, order, [c for c in cb.columns(group) if c in answers], source_row)
    disp_code = {spec["reason"]: code for code, spec in cb.dispositions.items()}
    has_disp = oos | undeliv | refusal
    with_status = np.flatnonzero(has_disp)
    d_rows = with_status[_text_order(ids, with_status)]
    status = np.zeros(len(labels), dtype=np.int16)      # each outcome's status looked up once, not each person's
    seen = np.unique(outcome[d_rows])
    status[seen] = [disp_code[labels[o]] for o in seen]
    dispositions = pd.DataFrame({cb.id_column(group): _texts(ids, d_rows),
                                 "statut_contact": _int16(status[outcome[d_rows]])})
    if answer_rows is not None:     # the unit at each row of the export and of the contact statuses, inverted
        for key, at in (("rows", rows[order]), ("dispositions", d_rows)):
            answer_rows[key] = np.full(n, -1, dtype=np.intp)
            answer_rows[key][at] = np.arange(len(at))
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
    """« données simulées » when the answers come from the simulator, else an empty string (a wrong
    ``source`` is a ``ParameterError``, or noted within :func:`portrait.pipeline.config.every_problem`)."""
    if source not in ("simulated", "real"):
        config.problem(f"parameter 'source' must be 'simulated' or 'real', got {source!r}")
    return SOURCE_LABEL if source == "simulated" else ""
