"""The fast paths of ``Design.from_frame`` and ``calibrate`` give what the plain code gave.

Strata are numbered in the sorted order of their labels' strings and PSUs in the order of (string of
the stratum's number, string of the PSU label) — what ``np.unique`` of every unit's strings gave —
because bootstrap draws are assigned to PSUs in that order. ``from_frame`` now looks up, hashes or
counts the units and converts only the distinct labels; calibration codes pyarrow text columns by a
look-up in the margins' levels and categorical columns by their codes. Oracle: the strings sorted by
``np.unique``, and calibration on the same data stored as Python objects (which takes
``pd.factorize``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from portrait import survey
from portrait.survey import CalibrationError, Design, Margin


def _reference_codes(df: pd.DataFrame, strata: str | None, psu: str | None):
    """Strata labels, strata codes and PSU codes as ``np.unique`` of the strings gives them."""
    n = len(df)
    if strata is None:
        labels, st = np.array(["all"]), np.zeros(n, dtype=int)
    else:
        labels, st = np.unique(df[strata].astype(str).to_numpy(), return_inverse=True)
    if psu is None:
        return labels, st, np.arange(n)
    key = pd.Series(st).astype(str) + "\x1f" + df[psu].astype(str)
    return labels, st, np.unique(key.to_numpy(), return_inverse=True)[1]


def _labels(rng, kind: str, n: int):
    h = rng.integers(0, 23, n)
    return {
        "text": np.array([f"S{x}" for x in range(23)])[h],
        "arrow": pd.array(np.array([f"s{x:02d}" for x in range(23)])[h], dtype=pd.ArrowDtype(pa.string())),
        "int": h * 7 + 1,
        "float": h / 4,
        "category": pd.Categorical(np.array([f"c{x}" for x in range(23)])[h], categories=[f"c{x}" for x in range(30)]),
        "mixed": np.array([x if x % 2 else str(x) for x in range(23)], dtype=object)[h],
        "bool": h % 2 == 0,
    }[kind]


def _psu(rng, kind: str, n: int, strata: np.ndarray):
    return {
        "own, in order": np.arange(1, n + 1),
        "own, shuffled": rng.permutation(n) + 98,
        "nested": np.unique(np.asarray(strata).astype(str), return_inverse=True)[1] * 1000 + rng.integers(0, 40, n),
        "shared across strata": rng.integers(0, 12, n),
        "sparse": rng.integers(0, 10**15, n) // 10 ** rng.integers(0, 15, n),
        "huge": rng.integers(0, 2**62, n),
        "negative": rng.integers(-60, 60, n),
        "text": np.array([f"p{x}" for x in range(70)])[rng.integers(0, 70, n)],
        # ranked in Arrow by UTF-8 bytes: the order of code points, as Python's strings (accents, digits, astral)
        "arrow text": pd.array(np.array(["é1", "e2", "É", "z", "10", "9", "ß", "Ω", "\U0001F600", "a b", "", "A", "ｚ",
                                         "e\u0301"])[rng.integers(0, 14, n)], dtype="str"),
        "nullable": pd.array(rng.integers(0, 300, n), dtype="Int64"),
        "unsigned": rng.integers(0, 500, n).astype(np.uint32),
        "float": rng.integers(0, 30, n) / 4,
        "category": pd.Categorical(rng.integers(0, 40, n)),
    }[kind]


@pytest.mark.parametrize("psu_kind", ["own, in order", "own, shuffled", "nested", "shared across strata", "sparse",
                                      "huge", "negative", "text", "arrow text", "nullable", "unsigned", "float", "category", None])
@pytest.mark.parametrize("strata_kind", ["text", "arrow", "int", "float", "category", "mixed", "bool", None])
def test_strata_and_psu_codes_are_those_of_the_sorted_strings(strata_kind, psu_kind):
    rng = np.random.default_rng(abs(hash((strata_kind, psu_kind))) % 2**32)
    for n in (1, 9, 2_000):
        df = pd.DataFrame({"w": rng.uniform(1, 2, n)})
        if strata_kind is not None:
            df["s"] = _labels(rng, strata_kind, n)
        if psu_kind is not None:
            df["p"] = _psu(rng, psu_kind, n, df["s"] if strata_kind else np.zeros(n))
        strata, psu = ("s" if strata_kind else None), ("p" if psu_kind else None)
        d = Design.from_frame(df, weights="w", strata=strata, psu=psu)
        labels, st, cl = _reference_codes(df, strata, psu)
        assert d.strata_labels.dtype == labels.dtype and list(d.strata_labels) == list(labels)
        np.testing.assert_array_equal(d.strata, st)
        np.testing.assert_array_equal(d.psu, cl)


def test_text_strata_missed_by_the_sample_of_rows_are_found():
    """Sorted strata, one of them in the last row only (the labels are first read from ~1,000 rows);
    50,000 units: strata and PSUs coded side by side."""
    n = 50_000
    h = np.sort(np.random.default_rng(1).integers(0, 40, n))
    h[-1] = 99
    df = pd.DataFrame({"s": np.array([f"S{x}" for x in range(100)])[h], "w": 1.0, "p": np.arange(n)})
    d = Design.from_frame(df, weights="w", strata="s", psu="p")
    labels, st, cl = _reference_codes(df, "s", "p")
    assert list(d.strata_labels) == list(labels) and "S99" in labels
    np.testing.assert_array_equal(d.strata, st)
    np.testing.assert_array_equal(d.psu, cl)


def test_missing_strata_and_psu_are_counted():
    df = pd.DataFrame({"s": ["a", None, "b", None], "p": [1, 2, None, 4], "w": 1.0})
    with pytest.raises(survey.ParameterError, match=r"'s' has 2 missing value\(s\) \(the first at position 1, counting"):
        Design.from_frame(df, weights="w", strata="s")
    with pytest.raises(survey.ParameterError, match=r"PSU variable 'p' has 1 missing value\(s\) \(the first at position 2,"):
        Design.from_frame(df.fillna({"s": "c"}), weights="w", strata="s", psu="p")
    two = df.fillna({"s": "c"}).assign(q=["x", "y", None, "z"], p=[1, 2, 3, 4], n1=10.0, n2=5.0)
    with pytest.raises(survey.ParameterError, match=r"cluster variable 'q' has 1 missing value\(s\) \(the first at position 2,"):
        Design.from_frame(two, weights="w", psu=["p", "q"], fpc=["n1", "n2"])
    with pytest.raises(survey.ParameterError, match=r"non-response group variable 'q' has 1 missing value\(s\) \(the first"):
        survey.adjust_nonresponse(Design.from_frame(two.assign(r=[True, False, True, True]), weights="w"), "r",
                                  groups=["q"])


def _frame(seed: int, n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"sex": rng.choice(["F", "H"], n), "age": rng.choice(["15-29", "30-59", "60+"], n),
                         "dep": rng.choice(["02", "59", "60", "62"], n), "w": rng.uniform(50, 150, n)})


def _margins(total: float) -> list[Margin]:
    """A one-way margin (sex) and a joint one (age × department)."""
    cells = [(a, d) for a in ("15-29", "30-59", "60+") for d in ("02", "59", "60", "62")]
    shares = np.array([4, 9, 5, 7, 8, 16, 9, 12, 5, 11, 6, 8], dtype=float)
    return [Margin.of("sex", {"F": 0.52 * total, "H": 0.48 * total}),
            Margin.of(("age", "dep"), dict(zip(cells, total * shares / shares.sum())))]


@pytest.mark.parametrize("method, bounds", [("raking", None), ("linear", None), ("logit", (0.3, 3.0))])
@pytest.mark.parametrize("zeros", [False, True, "missing"])
def test_calibration_is_the_same_whatever_the_storage_of_the_text(method, bounds, zeros):
    """pyarrow strings (looked up in the levels), Python objects and categoricals (factorized): the
    same weights to the last bit, the same multipliers, the same auxiliaries of the linearisation; also
    when units out of the weighting hold missing values (the residents' non-respondents: sex and age
    unknown, as pandas' strings with ``pd.NA``, looked up too)."""
    df = _frame(3)
    if zeros:
        df.loc[:199, "w"] = 0.0                     # units out of the weighting, with a level no margin has
        df.loc[:199, "age"] = "unknown" if zeros is True else None
        if zeros == "missing":
            df.loc[100:299, "sex"] = None           # and units weighted with a sex, some of them
            df.loc[200:299, "sex"] = "F"
    total = float(df["w"].sum())
    results = []
    for storage in ("str", object, "category") + (("string",) if zeros == "missing" else ()):
        d = Design.from_frame(df.astype({"sex": storage, "age": storage, "dep": storage}), weights="w")
        results.append(survey.calibrate(d, _margins(total), method=method, bounds=bounds))
    for other in results[1:]:
        np.testing.assert_array_equal(other.weights, results[0].weights)
        np.testing.assert_array_equal(other.steps[0].info.lambdas, results[0].steps[0].info.lambdas)
        np.testing.assert_array_equal(other.steps[0].X, results[0].steps[0].X)
        pd.testing.assert_frame_equal(other.steps[0].info.achieved, results[0].steps[0].info.achieved)
    X = results[0].steps[0].X                       # built on first read: units × constraints
    assert X.shape == (len(df), 2 + 11) and (X[:200] == 0).all() == bool(zeros)


def _one_way(total: float) -> list[Margin]:
    return [Margin.of("sex", {"F": 0.52 * total, "H": 0.48 * total}),
            Margin.of("age", {"15-29": 0.25 * total, "30-59": 0.45 * total, "60+": 0.30 * total}),
            Margin.of("dep", {"02": 0.1 * total, "59": 0.4 * total, "60": 0.2 * total, "62": 0.3 * total})]


@pytest.mark.parametrize("storage", ["str", "string", object, "category"])
def test_a_level_without_a_total_is_found_beside_missing_values_out_of_the_weighting(storage):
    """Missing values on units out of the weighting are no level; a level no margin has, on a unit weighted, is
    still refused (pyarrow strings with missing values are looked up in the levels, as those without)."""
    df = _frame(6)
    df.loc[:9, "w"] = 0.0
    df.loc[:9, "age"] = None
    total = float(df["w"].sum())
    ok = survey.calibrate(Design.from_frame(df.astype({"age": storage}), weights="w"), _one_way(total))
    ref = survey.calibrate(Design.from_frame(df.astype({"age": object}), weights="w"), _one_way(total))
    np.testing.assert_array_equal(ok.weights, ref.weights)
    df.loc[20, "age"] = "90+"
    with pytest.raises(CalibrationError, match=r"margin 'age': level '90\+' occurs in the sample"):
        survey.calibrate(Design.from_frame(df.astype({"age": storage}), weights="w"), _one_way(total))


@pytest.mark.parametrize("joint", [False, True])
@pytest.mark.parametrize("storage", ["str", object, "category"])
def test_level_errors_name_the_margin_whatever_the_storage(storage, joint):
    df = _frame(4)
    total = float(df["w"].sum())
    margins = _margins(total) if joint else _one_way(total)
    name = "age × dep" if joint else "age"
    unknown = df.assign(age=df["age"].where(df.index >= 3, "90+")).astype({"age": storage})
    with pytest.raises(CalibrationError, match=rf"margin '{name}': level '90\+( × \d\d)?' occurs in the sample"):
        survey.calibrate(Design.from_frame(unknown, weights="w"), margins)
    absent = df.assign(age=df["age"].where(df["age"] != "60+", "30-59")).astype({"age": storage})
    with pytest.raises(CalibrationError, match=rf"margin '{name}': level '60\+( × 02)?' has a population total"):
        survey.calibrate(Design.from_frame(absent, weights="w"), margins)
    missing = df.assign(age=df["age"].where(df.index != 5, None)).astype({"age": storage})
    with pytest.raises(CalibrationError, match="'age' has 1 missing value"):
        survey.calibrate(Design.from_frame(missing, weights="w"), margins)
    if not joint:                                   # the same results as with object columns
        ok = survey.calibrate(Design.from_frame(df.astype({"age": storage}), weights="w"), margins)
        ref = survey.calibrate(Design.from_frame(df.astype({"age": object}), weights="w"), margins)
        np.testing.assert_array_equal(ok.weights, ref.weights)


def test_large_samples_code_the_margins_side_by_side():
    """From ``PARALLEL_UNITS`` units the variables are coded in two threads: same weights."""
    from portrait.survey import labels

    df = _frame(5, n=60_000)
    d = Design.from_frame(df, weights="w")
    total = float(df["w"].sum())
    assert len(df) >= labels.PARALLEL_UNITS
    threaded = survey.calibrate(d, _margins(total))
    serial = survey.calibrate(Design.from_frame(df.astype({"sex": object, "age": object, "dep": object}),
                                                weights="w"), _margins(total))
    np.testing.assert_array_equal(threaded.weights, serial.weights)


def _loop_fractions(d: Design, raw: np.ndarray, column: str, stratified: bool) -> np.ndarray:
    """The fpc check and fractions stratum by stratum, as from_frame computed them before its grouped check."""
    f = np.zeros(len(raw))
    for h in np.unique(d.strata):
        vals = np.unique(raw[d.strata == h])
        if len(vals) != 1:
            where = f"within stratum {str(d.strata_labels[h])!r}" if stratified else "across units"
            raise survey.ParameterError(f"fpc {column!r} varies {where}: one population size or fraction per stratum")
        v = vals[0]
        n_psu = len(np.unique(d.psu[d.strata == h]))
        frac = v if v <= 1 else n_psu / v
        if not 0 <= frac <= 1:
            raise survey.ParameterError(f"stratum {d.strata_labels[h]!r}: {n_psu} PSUs sampled from a population "
                                        f"of {v:g}")
        f[d.strata == h] = frac
    return f


@pytest.mark.parametrize("seed", range(4))
def test_fpc_fractions_and_their_errors_are_the_stratum_by_stratum_loops(seed):
    """Fractions bit for bit, and the same error naming the same first failing stratum (in code order), for valid
    fpcs (sizes and fractions mixed), an fpc varying within a stratum, too few in a population, a negative fraction;
    several strata failing at once, one of each kind; unstratified designs; and units as their own PSUs."""
    rng = np.random.default_rng(seed)
    n = 300
    h = rng.choice([f"s{i}" for i in range(9)], n)
    df = pd.DataFrame({"h": h, "p": rng.integers(0, 12, n).astype(str), "w": rng.uniform(1, 3, n)})
    size = {s: float(rng.integers(12, 40)) if i % 3 else rng.uniform(0.05, 0.9) for i, s in enumerate(sorted(set(h)))}
    good = df.h.map(size).to_numpy()
    first, second = sorted(set(h))[3], sorted(set(h))[6]
    cases = [good, np.where(h == second, 2.0, good), np.where(h == second, -0.5, good),
             np.where((h == first) & (np.arange(n) % 2 == 0), good + 1, good),
             np.where(h == second, 0.0, good)]
    cases += [np.where(h == first, 2.0, c) for c in cases[2:5]] + [np.where(h == second, 2.0, cases[3])]
    for strata, psu in (("h", "p"), ("h", None), (None, "p")):
        for raw in cases + [np.full(n, 20.0), np.where(np.arange(n) == 5, 21.0, 20.0)]:
            plain = Design.from_frame(df, weights="w", strata=strata, psu=psu)
            try:
                expected = _loop_fractions(plain, raw, "N", strata is not None)
            except survey.ParameterError as e:
                with pytest.raises(survey.ParameterError) as got:
                    Design.from_frame(df.assign(N=raw), weights="w", strata=strata, psu=psu, fpc="N")
                assert str(got.value) == str(e)
                continue
            d = Design.from_frame(df.assign(N=raw), weights="w", strata=strata, psu=psu, fpc="N")
            np.testing.assert_array_equal(d.fpc, expected)
            np.testing.assert_array_equal(d.psu, plain.psu)


def test_arrow_level_codes_are_kept_per_array_and_levels_only():
    """A text column's codes in a margin's levels are kept for the same Arrow array and levels (a survey's raking and
    bounded-logit calibration); other levels, a column written to (a new array) or an equal column get their own
    codes, each checked against the levels' positions looked up value by value."""
    from portrait.survey import calibration

    def oracle(s, levels):
        return None if not set(s) <= set(levels) else [levels.index(v) for v in s]

    s = pd.Series(["b", "a", "c", "a"], dtype="str")
    first = calibration._arrow_level_codes(s, ["a", "b", "c"])
    assert first.tolist() == oracle(s, ["a", "b", "c"]) and not first.flags.writeable
    assert calibration._arrow_level_codes(s, ["a", "b", "c"]) is first              # kept
    for levels in (["a", "b", "c", "d"], ["c", "b", "a"], ["a", "b"], ["a", "b", "c"]):
        got = calibration._arrow_level_codes(s, levels)
        assert (got if got is None else got.tolist()) == oracle(s, levels), levels
    s.iloc[0] = "c"                                                                  # written: another array
    assert calibration._arrow_level_codes(s, ["a", "b", "c"]).tolist() == oracle(s, ["a", "b", "c"])
    equal = pd.Series(["b", "a", "a", "c"], dtype="str")
    assert calibration._arrow_level_codes(equal, ["a", "b", "c"]).tolist() == oracle(equal, ["a", "b", "c"])
    # a design's raking then its bounded logit (codes kept), then the same after a column is written: the weights
    # of the same calibrations on Python objects
    df = _frame(5)
    total = float(df["w"].sum())
    d = Design.from_frame(df, weights="w")
    for _ in range(2):
        ref = Design.from_frame(d.data.astype({"sex": object, "age": object, "dep": object}), weights="w")
        for method, bounds in (("raking", None), ("logit", (0.3, 3.0))):
            np.testing.assert_array_equal(survey.calibrate(d, _one_way(total), method=method, bounds=bounds).weights,
                                          survey.calibrate(ref, _one_way(total), method=method, bounds=bounds).weights)
        d.data.loc[d.data.index[:500], "age"] = "60+"


def test_kept_text_codes_are_the_sorted_strings_for_their_own_array_only():
    """A pyarrow text column's sorted codes are kept per Arrow array: the same values as ``np.unique`` of its strings,
    the same arrays on a second call, fresh ones for a column written to or an equal column; none kept for a column
    with a missing value, an empty one or Python objects. The level merging's respondent counts read on them are
    ``value_counts`` of the respondents' values, and calibration's level codes their positions in the levels."""
    from portrait.study.level_merging import _respondent_counts
    from portrait.survey import calibration, labels

    rng = np.random.default_rng(8)
    s = pd.Series(rng.choice(["é", "b", "a", "10", "9"], 500), dtype="str")
    resp = rng.random(500) < 0.3

    def check(values):
        texts, rank = labels.kept_text_codes(values)
        u, inv = np.unique(values.astype(str).to_numpy(dtype=object), return_inverse=True)
        assert list(texts) == list(u) and (rank == inv).all() and not rank.flags.writeable
        assert _respondent_counts(values, resp) == values[resp].value_counts().to_dict()
        levels = sorted(set(values)) + ["zz"]
        assert calibration._arrow_level_codes(values, levels).tolist() == [levels.index(v) for v in values]
        return rank

    first = check(s)
    assert labels.kept_text_codes(s)[1] is first
    s.iloc[:250] = "a"                                                                # written: another array
    check(s)
    check(pd.Series(s.to_numpy(dtype=object), dtype="str"))
    assert calibration._arrow_level_codes(s, ["a", "b"]) is None
    for other in (s.where(s.index != 3, None), s.iloc[:0], s.astype(object)):
        assert labels.kept_text_codes(other) is None


def test_a_calibration_problem_is_kept_for_its_own_columns_units_and_margins_only():
    """The calibration's problem (cells, auxiliaries, targets) is kept for the same Arrow columns, units weighted and
    margins (a survey's raking then its bounded logit); other margins or totals, other units weighted (a weight set
    to 0), a column written to, or a column held as Python objects get their own: every calibration gives the
    weights of the same calibration on Python objects, which is never kept."""
    from portrait.survey import calibration

    df = _frame(6)
    total = float(df["w"].sum())
    d = Design.from_frame(df, weights="w")
    first = calibration._build(d, _margins(total))
    assert calibration._build(d, _margins(total)) is first and not first.X.flags.writeable      # kept
    assert calibration._build(d, _one_way(total)) is not first
    assert calibration._build(d, _margins(1.01 * total)) is not first

    def same_as_objects(design, margins):
        ref = replace(design, data=design.data.astype({"sex": object, "age": object, "dep": object}))
        assert calibration._build(ref, margins) is not calibration._build(ref, margins)
        for method, bounds in (("raking", None), ("logit", (0.3, 3.0))):
            np.testing.assert_array_equal(survey.calibrate(design, margins, method=method, bounds=bounds).weights,
                                          survey.calibrate(ref, margins, method=method, bounds=bounds).weights)

    same_as_objects(d, _margins(total))
    same_as_objects(d, _one_way(1.01 * total))
    fewer = d.with_weights(np.where(np.arange(len(df)) < 300, 0.0, d.weights))     # other units weighted
    assert calibration._build(fewer, _margins(total)) is not first
    same_as_objects(fewer, _margins(total))
    d.data.loc[d.data.index[:500], "age"] = "60+"                                    # written: another array
    assert calibration._build(d, _margins(total)) is not first
    same_as_objects(d, _margins(total))


@pytest.mark.parametrize("clusters", ["nested", "shared across strata", "units", "one unit"])
def test_stratum_fractions_count_each_strata_distinct_clusters(clusters):
    """The distinct clusters of each stratum code, counted per cluster when every cluster lies in one stratum (a
    design's PSU codes) and by sorting the (stratum, cluster) pairs otherwise: the pairs' np.unique either way, with a
    stratum code no unit has; the fractions, checks and lowest fpc read from them."""
    from portrait.survey import labels

    rng = np.random.default_rng(len(clusters))
    n = 1 if clusters == "one unit" else 500
    st = rng.choice([0, 1, 2, 4, 5], n)                               # code 3: no unit
    cl = {"nested": st * 40 + rng.integers(0, 40, n), "shared across strata": rng.integers(0, 30, n),
          "units": np.arange(n), "one unit": np.zeros(n, dtype=np.int64)}[clusters]
    pop = np.array([90.0, 0.25, 400.0, 7.0, 1e3, 60.0])
    raw = pop[st]
    frac, varies, outside, n_psu, low = labels.stratum_fractions(raw, st, cl)
    H = int(st.max()) + 1
    want_n = np.bincount(np.unique(st.astype(np.int64) * (int(cl.max()) + 1) + cl) // (int(cl.max()) + 1),
                         minlength=H)
    np.testing.assert_array_equal(n_psu, want_n)
    for h in range(H):
        held = st == h
        assert n_psu[h] == len(np.unique(cl[held]))
        if held.any():
            v = raw[held].min()
            assert low[h] == v and frac[h] == (v if v <= 1 else n_psu[h] / v)
            assert outside[h] == (not 0 <= frac[h] <= 1) and not varies[h]
        else:
            assert frac[h] == 0 and not outside[h] and not varies[h]


@pytest.mark.parametrize("codes", [[2, 0, 2, 1, 0], [1, 1, 1], [2], [0, 2, 0, 2], [0, -1, 1], []])
def test_text_codes_kept_from_the_codes_are_those_read_from_the_texts(codes):
    """What keep_text_codes keeps for texts made from codes is what kept_text_codes reads from the texts themselves
    (np.unique of the strings: « étranger » after « inconnu »), codes missed included; nothing kept with a missing
    text or none; and the visitors' groups keep it for their own arrays."""
    from portrait.study import visitor_margins
    from portrait.survey import labels

    texts = ("France", "étranger", "inconnu")
    codes = np.array(codes, dtype=np.int64)
    values = pd.Series(pd.array([texts[c] if c >= 0 else None for c in codes], dtype="str"))
    labels.keep_text_codes(values, codes, texts)
    kept = labels.kept_text_codes(values)
    if (codes < 0).any() or not len(codes):
        assert kept is None
        return
    fresh = labels._string_codes(pd.Series(values.to_numpy(dtype=object), dtype="str"))      # another array
    assert kept[0].dtype == fresh[0].dtype and list(kept[0]) == list(fresh[0])
    assert kept[1].dtype == fresh[1].dtype and (kept[1] == fresh[1]).all() and not kept[1].flags.writeable
    country = pd.Series(np.array(["FR", "ZZ", "BE", None, "FR"], dtype=object)[np.resize(np.arange(5), 40)])
    for groups in (visitor_margins.country_group(country),
                   visitor_margins.multiplicity_group(pd.Series(np.resize([3, 1, 7, 2], 40)))):
        held = labels.kept_text_codes(groups)
        plain = labels._string_codes(pd.Series(groups.to_numpy(dtype=object), dtype="str"))
        assert list(held[0]) == list(plain[0]) and (held[1] == plain[1]).all()
