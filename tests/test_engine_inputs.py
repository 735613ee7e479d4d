"""Wrong inputs to the engine's public API, as an R ``survey`` user wrote them in a trial on R's api data
(``tests/reference/fixtures/apistrat.csv``): each gets a typed error that names the column, margin or level and
the rule, and never echoes a value the user's file held.

Oracles: the expected wording is the rule each message states; for text columns, the offending text must not
appear in the message; a single :class:`Margin` must give exactly the weights of a one-element list.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from portrait import survey
from portrait.pipeline import paths
from portrait.survey import Design, Margin, NumericTotal
from portrait.survey.errors import CalibrationError, ParameterError

ST = pd.read_csv(paths.TESTS / "reference" / "fixtures" / "apistrat.csv")
TOTALS = {"E": 4421, "H": 755, "M": 1018}


@pytest.fixture(scope="module")
def dstrat():
    return Design.from_frame(ST, weights="pw", strata="stype", fpc="fpc")


# ----------------------------------------------------------------------------- 1. a weights column of text
def test_a_weights_column_with_a_decimal_comma_is_named_counted_and_not_echoed():
    text = ST["pw"].map(lambda x: repr(float(x)).replace(".", ","))
    with pytest.raises(ParameterError, match=r"weights column 'pw' holds text, not numbers: 200 of its 200 rows "
                                             r"do not read as a number \(the first at position 0.*decimal comma") as e:
        Design.from_frame(ST.assign(pw=text), weights="pw", strata="stype")
    assert "str.replace(',', '.')" in str(e.value)
    assert text.iloc[0] not in str(e.value) and "44,2" not in str(e.value)


def test_a_weights_column_of_numbers_written_as_text_is_refused_not_converted():
    with pytest.raises(ParameterError, match=r"weights column 'pw' holds text, not numbers.*pd\.to_numeric") as e:
        Design.from_frame(ST.assign(pw=ST["pw"].astype(str)), weights="pw", strata="stype")
    assert "44.2" not in str(e.value)


def test_one_unreadable_row_of_an_fpc_column_is_counted_and_located_not_shown():
    fpc = ST["fpc"].astype(str).where(ST.index != 7, "n.c.")
    with pytest.raises(ParameterError, match=r"fpc column 'fpc' holds text.*1 of its 200 rows do not read as a "
                                             r"number \(the first at position 7") as e:
        Design.from_frame(ST.assign(fpc=fpc), weights="pw", strata="stype", fpc="fpc")
    assert "n.c." not in str(e.value) and "4421" not in str(e.value)


# ----------------------------------------------------------------------------- 2. a NaN or infinite weight
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_missing_or_infinite_weight_names_the_column_the_count_and_the_first_position(bad):
    pw = ST["pw"].where(~ST.index.isin([3, 11]), bad)
    with pytest.raises(ParameterError, match=r"weights must be finite, non-negative and one per unit: 2 row\(s\) of "
                                             r"weights column 'pw' are missing or infinite \(the first at position 3"):
        Design.from_frame(ST.assign(pw=pw), weights="pw", strata="stype")


# ----------------------------------------------------------------------------- 3. totals that are not numbers
@pytest.mark.parametrize("total", ["abc", "4421", True])
def test_a_margin_total_that_is_not_a_number_names_the_margin_and_level(total):
    with pytest.raises(CalibrationError, match=r"margin 'stype': the population total of level 'E' is "
                                               r"(str, not a number|a bool)") as e:
        Margin.of("stype", {**TOTALS, "E": total})
    assert "abc" not in str(e.value) and "4421" not in str(e.value)


@pytest.mark.parametrize("total", ["abc", "3914069", False])
def test_a_numeric_total_that_is_not_a_number_is_refused_not_kept_as_text(total):
    with pytest.raises(CalibrationError, match=r"numeric margin 'api99': its population total is") as e:
        NumericTotal("api99", total)
    assert "3914069" not in str(e.value)
    assert NumericTotal("api99", np.int64(3914069)).total == 3914069.0       # NumPy numbers are numbers


# ----------------------------------------------------------------------------- 4. margins and bounds given another way
def test_a_single_margin_is_a_list_of_one_and_gives_the_same_weights(dstrat):
    one = survey.calibrate(dstrat, Margin.of("stype", TOTALS), method="linear")
    listed = survey.calibrate(dstrat, [Margin.of("stype", TOTALS)], method="linear")
    np.testing.assert_array_equal(one.weights, listed.weights)
    alone = survey.calibrate(dstrat, NumericTotal("api99", 3914069), method="linear")
    np.testing.assert_array_equal(alone.weights,
                                  survey.calibrate(dstrat, [NumericTotal("api99", 3914069)], method="linear").weights)


@pytest.mark.parametrize("margins, said", [
    ({"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018}, "got a dict"),
    ([{"stype": TOTALS}], r"margins\[0\] is a dict"),
    ("stype", "got a str"),
])
def test_margins_given_the_r_way_are_refused_with_how_to_write_them(dstrat, margins, said):
    with pytest.raises(ParameterError, match=r"margins are a list of Margin and NumericTotal.*Margin\.of\(variable, "
                                             r"\{level: total.*" + said):
        survey.calibrate(dstrat, margins)


@pytest.mark.parametrize("bounds", [("0.975", "1.03"), 2.0, (0.5,)])
def test_bounds_must_be_two_numbers(dstrat, bounds):
    with pytest.raises(ParameterError, match=r"bounds must be two numbers \(L, U\)"):
        survey.calibrate(dstrat, [Margin.of("stype", TOTALS)], method="logit", bounds=bounds)


# ----------------------------------------------------------------------------- 5. a margin level no unit holds
def test_a_level_in_the_wrong_case_lists_the_sample_levels_and_suggests_the_match(dstrat):
    with pytest.raises(CalibrationError, match=r"margin 'stype': level 'e' has a population total of 4,421 but no "
                                               r"unit in the sample: no unit of the sample has 'stype' equal to 'e' "
                                               r"at all \(its levels of 'stype': 'E', 'H', 'M'\); did you mean 'E'\?"):
        survey.calibrate(dstrat, [Margin.of("stype", {"e": 4421, "H": 755, "M": 1018})])


def test_a_level_the_sample_never_holds_lists_its_levels_without_a_guess(dstrat):
    with pytest.raises(CalibrationError, match=r"level 'X' .* at all \(its levels of 'stype': 'E', 'H', 'M'\)\. "
                                               r"Levels are compared as text") as e:
        survey.calibrate(dstrat, [Margin.of("stype", {**TOTALS, "X": 10})])
    assert "did you mean" not in str(e.value)


def test_a_misspelt_level_of_a_joint_margin_names_the_variable(dstrat):
    cells = {("E", "Yes"): 3949, ("E", "No"): 472, ("H", "yes"): 421, ("H", "No"): 334, ("M", "Yes"): 752,
             ("M", "No"): 266}
    with pytest.raises(CalibrationError, match=r"level 'H × yes' .* no unit of the sample has 'sch\.wide' equal to "
                                               r"'yes' at all \(its levels of 'sch\.wide': 'No', 'Yes'\); did you "
                                               r"mean 'Yes'\?"):
        survey.calibrate(dstrat, [Margin.of(["stype", "sch.wide"], cells)])


def test_a_level_held_only_by_units_of_weight_zero_keeps_the_merge_advice():
    d = Design.from_frame(ST.assign(pw=np.where(ST["stype"] == "H", 0.0, ST["pw"])), weights="pw", strata="stype")
    with pytest.raises(CalibrationError, match=r"level 'H' .* no unit in the sample with a positive weight \(its 50 "
                                               r"unit\(s\) all have weight 0.*merge it with a neighbouring level"):
        survey.calibrate(d, [Margin.of("stype", TOTALS)])


# ----------------------------------------------------------------------------- 6. a quantile given as text
@pytest.mark.parametrize("quantiles, said", [("0.5", "quantiles must be .* got a str, not a number"),
                                             ([0.25, 50], r"quantiles\[1\] must be .* in \[0, 1\].* got 50"),
                                             ([0.5, math.nan], r"quantiles\[1\] must be")])
def test_a_quantile_must_be_a_probability_given_as_a_number(dstrat, quantiles, said):
    with pytest.raises(ParameterError, match=said):
        survey.quantile(dstrat, "api00", quantiles)


# ----------------------------------------------------------------------------- 7. what the documentation says
def test_the_documentation_states_the_defaults_an_r_user_would_assume_otherwise():
    """R's calibrate defaults to linear, its rake's SE differs, estimators default to linearisation even with
    replicates attached by with_replicates, degf is a property, and replicates may come before or after weighting."""
    flat = {f: re.sub(r"\s+", " ", getattr(survey, f).__doc__) for f in ("calibrate", "mean", "total", "proportion",
                                                                          "var", "quantile", "ratio")}
    assert "whose ``calfun`` is ``\"linear\"``" in flat["calibrate"]
    assert "variance follows ``calibrate(calfun = \"raking\")``, not ``rake``" in flat["calibrate"]
    for f in ("mean", "total", "proportion", "var", "quantile", "ratio"):
        assert "even for a design given replicates by :func:`with_replicates`: pass ``variance=\"replicates\"``" \
            in flat[f], f
    assert "not ``d.degf()``" in Design.degf.__doc__
    architecture = (paths.ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "# before or after weighting" in architecture and "# before weighting:" not in architecture


def test_trim_refuses_a_bound_given_as_text():
    """``trim(lower="0.5")`` was converted silently, where ``trim_weights`` refuses it: both refuse it by name."""
    d = survey.Design.from_frame(pd.DataFrame({"w": [1.0, 2.0, 3.0, 4.0, 10.0], "g": list("ababa")}), weights="w")
    margin = survey.Margin.of("g", {"a": 12.0, "b": 8.0})
    with pytest.raises(ParameterError, match="upper must be a number"):
        survey.trim(d, [margin], upper="5")
    with pytest.raises(ParameterError, match="lower must be a number"):
        survey.trim_weights(d, lower="0.5")


def test_values_given_as_a_series_are_matched_to_the_rows_by_their_index():
    """An audit: weights given as a shuffled Series were used position by position (mean 644.9 where the weights
    column gives 662.3). A Series on the data's rows is matched by its index; one on other labels is refused. A
    subset's mask is read in its order: the design numbers its rows 0, 1, …, so a mask built from a sorted frame, whose
    labels are a shuffle of those numbers, is in the design's order (a review: matching it by label took the wrong
    rows)."""
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 10.0], "w": [1.0, 1.0, 1.0, 5.0]}, index=[10, 11, 12, 13])
    by_name = survey.mean(survey.Design.from_frame(df, weights="w"), "y").iloc[0]["estimate"]
    shuffled = df["w"].sample(frac=1, random_state=1)
    assert list(shuffled.index) != list(df.index)
    assert survey.mean(survey.Design.from_frame(df, weights=shuffled), "y").iloc[0]["estimate"] == by_name == 7.0
    assert survey.mean(survey.Design.from_frame(df, prob=1 / shuffled), "y").iloc[0]["estimate"] == 7.0
    with pytest.raises(survey.ParameterError, match="weights is a Series whose index is not the data's rows"):
        survey.Design.from_frame(df, weights=pd.Series([1.0, 1.0, 1.0, 5.0]))
    d = survey.Design.from_frame(df, weights="w")
    kept = (df["y"] > 1).to_numpy()
    expected = survey.mean(survey.subset(d, kept), "y").iloc[0]["estimate"]
    assert survey.mean(survey.subset(d, df["y"] > 1), "y").iloc[0]["estimate"] == expected
    srt = df.sort_values("y", ascending=False).reset_index(drop=True).sample(frac=1, random_state=3)
    ds = survey.Design.from_frame(srt, weights="w")
    by_position = survey.mean(survey.subset(ds, (srt["y"] > 1).to_numpy()), "y").iloc[0]["estimate"]
    assert survey.mean(survey.subset(ds, srt["y"] > 1), "y").iloc[0]["estimate"] == by_position == expected


def test_sampling_and_replicate_inputs_an_audit_found_misread_are_refused_by_name():
    """An audit (round 4): a missing π in systematic_pps hid every later unit (the certain one included); a response
    indicator of text, of codes 1/2 or with missing values read as all respondents (272 for 136); a bootstrap of one
    replicate divided by zero; rscales of the wrong length failed later in numpy; fay_rho with the jackknife was
    ignored; strata labelled with both numbers and text raised Python's bare TypeError."""
    from portrait.survey.errors import SamplingError

    with pytest.raises(SamplingError, match=r"1 do not \(missing or outside\), the first at position 2"):
        survey.systematic_pps([0.5, 0.5, np.nan, 0.5, 0.5, 1.0], np.random.default_rng(1))
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"], "w": 2.0})
    for bad in (["1", "0", "1", "1"], [1, 2, 1, 2], [1.0, 0.0, np.nan, 1.0], ["oui", "non", "oui", "oui"]):
        d = survey.Design.from_frame(df.assign(r=bad), weights="w")
        with pytest.raises(survey.ParameterError, match=r"the response indicator 'r' must hold True/False or 1/0 on "
                           r"every unit; \d value\(s\) do not \(missing, text or other numbers\), the first at "
                           r"position \d \(counting from 0\)"):
            survey.adjust_nonresponse(d, "r", groups=["g"], min_respondents=1, collapse=False)
    ok = survey.adjust_nonresponse(survey.Design.from_frame(df.assign(r=[1, 0, 1, 1]), weights="w"), "r",
                                   groups=["g"], min_respondents=1, collapse=False)
    assert ok.weights.tolist() == [4.0, 0.0, 2.0, 2.0]
    d = survey.Design.from_frame(df, weights="w", psu="y")
    with pytest.raises(survey.ParameterError, match="at least 2 replicates"):
        survey.with_replicates(d, "bootstrap", 1, np.random.default_rng(1))
    with pytest.raises(survey.ParameterError, match="rscales must have one value per replicate: 2 for 3"):
        survey.with_replicates(d, factors=np.ones((4, 3)), scale=1.0, rscales=[1.0, 1.0])
    with pytest.raises(survey.ParameterError, match="fay_rho is for the BRR and Fay methods, not 'jk1'"):
        survey.with_replicates(d, "jk1", fay_rho=0.5)
    with pytest.raises(SamplingError, match=r"labels of one kind .*\['int', 'str'\]"):
        survey.stratified_srswor(["a", "a", 1, 1], {"a": 1, 1: 1}, np.random.default_rng(1))


# ----------------------------------------------------------------------------- seen and left by earlier audits
def test_replicate_weights_of_text_are_refused_as_weights_of_text_are(dstrat, tmp_path):
    """numpy reads « 1.5 » written as text as 1.5 (and « 1,5 » as an error of its own): a replicate-weight column
    of text is refused by name, as a weights column of text is."""
    R = pd.DataFrame({"r1": ST["pw"] * 1.1, "r2": ST["pw"].astype(str)})
    with pytest.raises(ParameterError, match=r"column 'r2' of the replicate weights must be numbers, got values of "
                                             r"type text"):
        survey.with_replicate_weights(dstrat, R, scale=1.0)
    with pytest.raises(ParameterError, match="replicate weights must be numbers"):
        survey.with_replicate_weights(dstrat, R.to_numpy(), scale=1.0)
    ok = survey.with_replicate_weights(dstrat, R.astype(float), scale=1.0)
    assert ok.replicate_weights().shape == (200, 2)
    path = tmp_path / "weights.parquet"
    ST.assign(r1=R["r1"], r2=R["r2"]).to_parquet(path)
    with pytest.raises(ParameterError, match=r"column 'r2' of the replicate weights must be numbers"):
        survey.read_design(path, weights="pw", replicates=["r1", "r2"], scale=1.0)


def test_kish_deff_of_no_positive_weight_is_refused():
    """``kish_deff([0, 0])`` was NaN with numpy's « invalid value » warning; an empty domain is named now."""
    assert survey.kish_deff([0.0, 2.0, 2.0]) == 1.0          # zeros are left out
    for w in ([0.0, 0.0], [], [1.0, np.nan]):
        with pytest.raises(ParameterError, match="kish_deff"):
            survey.kish_deff(w)


def test_a_singular_wald_covariance_is_refused_as_r_refuses_it(dstrat):
    """Replicate weights equal to the full-sample weights give a zero covariance: numpy raised its bare
    « Singular matrix » (R: « system is computationally singular »). Named now, with the test that still works."""
    flat = survey.with_replicate_weights(dstrat, np.column_stack([dstrat.weights] * 4), scale=1.0)
    with pytest.raises(ParameterError, match=r"stype × sch.wide: the covariance of the table's cells is singular"):
        survey.wald_independence(flat, "stype", "sch.wide", variance="replicates")
    assert np.isfinite(survey.wald_independence(dstrat, "stype", "sch.wide").F)


def test_dropping_a_subset_of_a_calibrated_design_that_empties_margin_levels(dstrat):
    """An analyst's trial: subset(drop=True) of the study's calibrated weights raised numpy's bare « Singular matrix »
    (the margins' levels outside the subset had no unit). Their empty columns project nothing: the residuals are
    those of the other levels. Closed form: in one post-stratum of a post-stratification, the mean's influence
    values are already centred there, so its SE is that of the same units with the same weights, uncalibrated.
    An empty mask is refused by name."""
    post = survey.post_stratify(dstrat, "stype", TOTALS)
    e = (ST["stype"] == "E").to_numpy()
    got = survey.mean(survey.subset(post, e, drop=True), "api00").iloc[0]
    plain = Design.from_frame(ST.loc[e].assign(w=post.weights[e]), weights="w", strata="stype", fpc="fpc")
    assert got.se == pytest.approx(survey.mean(plain, "api00").iloc[0]["se"], rel=1e-12)
    with pytest.raises(ParameterError, match="the mask keeps no unit"):
        survey.subset(post, np.zeros(len(e), bool), drop=True)


def test_an_arrow_column_read_again_stays_kept_while_newer_ones_push_the_least_recent_out():
    """kept_for_arrow keeps the most recently used entries: a frame's column read in every round stays kept while
    each round's own columns (kept alive here) fill the memo; with the first-in-first-out rule it was built again."""
    from portrait.survey import labels

    calls = []

    def build(values):
        calls.append(len(values))
        return len(values)

    frame = pd.Series(pd.array(["59350", "62041"], dtype="string[pyarrow]"))
    labels.kept_for_arrow(frame, "test-lru", build)
    alive = []
    for i in range(3 * labels.KEPT_MAX):
        alive.append(pd.Series(pd.array([f"{i:05d}"], dtype="string[pyarrow]")))
        labels.kept_for_arrow(alive[-1], "test-lru", build)
        assert labels.kept_for_arrow(frame, "test-lru", build) == 2
    assert len(calls) == 1 + 3 * labels.KEPT_MAX
    assert len(labels._KEPT) <= labels.KEPT_MAX


def test_what_is_kept_for_an_arrow_column_is_built_once_per_array_and_never_for_other_columns():
    """kept_for_arrow builds once per Arrow array and kind (counted calls), gives what build gives, builds again for
    another array or kind, for a column that is not Arrow text, and for a new array at a freed one's address."""
    import weakref

    from portrait.survey import labels
    from portrait.survey.labels import KEPT_MAX, kept_for_arrow

    calls = []

    def build(values):
        calls.append(len(values))
        return pd.Index(values)

    codes = pd.Series(pd.array(["59350", "62041", "80021"], dtype="string[pyarrow]"))
    first = kept_for_arrow(codes, "test-index", build)
    assert first.equals(pd.Index(codes)) and kept_for_arrow(codes, "test-index", build) is first
    assert kept_for_arrow(codes.copy(deep=False), "test-index", build) is first      # the same Arrow array
    assert len(calls) == 1
    kept_for_arrow(codes, "test-other", build)                                          # another kind
    other = pd.Series(pd.array(["02691", "60057"], dtype="string[pyarrow]"))
    assert kept_for_arrow(other, "test-index", build).equals(pd.Index(other))
    plain = pd.Series(["59350", "62041"], dtype=object)
    kept_for_arrow(plain, "test-index", build), kept_for_arrow(plain, "test-index", build)
    assert len(calls) == 5
    for i in range(2 * KEPT_MAX):                                                       # bounded
        fresh = pd.Series(pd.array([f"{i:05d}"], dtype="string[pyarrow]"))
        assert list(kept_for_arrow(fresh, "test-index", build)) == [f"{i:05d}"]
    assert len(labels._KEPT) <= KEPT_MAX
    # a freed array's address taken by a new one (forced here): the entry of the old array is not the new one's
    new = pd.Series(pd.array(["80021"], dtype="string[pyarrow]"))
    labels._KEPT[("test-index", (id(labels.arrow_chunks(new)),))] = ((weakref.ref(labels.arrow_chunks(other)),), "stale")
    assert list(kept_for_arrow(new, "test-index", build)) == ["80021"]


@pytest.mark.parametrize("values", [pd.array([3, None, 1], dtype="Int16"), pd.array([0.5, None, 2.0], dtype="Float64"),
                                    pd.array([True, None, False], dtype="boolean")])
def test_masked_parts_are_the_values_and_missing_mask_pandas_holds(values):
    """labels.masked_parts reads a nullable array's values and mask without a copy: they agree with pandas' public
    isna() and with the values it converts, for integers, floats and booleans."""
    from portrait.survey import labels

    data, mask = labels.masked_parts(values)
    np.testing.assert_array_equal(mask, values.isna())
    kept = ~values.isna()
    np.testing.assert_array_equal(data[kept], values[kept].to_numpy(dtype=data.dtype))
    assert len(data) == len(values)


def test_masked_parts_refuses_an_array_without_a_mask():
    from portrait.survey import labels

    with pytest.raises(TypeError, match="nullable"):
        labels.masked_parts(pd.array(["a", None], dtype="str"))


def test_pandas_private_arrays_are_read_in_one_place_only():
    """pandas' private ``_data`` and ``_mask`` of its nullable arrays are read by labels.masked_parts only, so that a
    pandas release that renames them breaks one function (and its tests above), not every fast path."""
    src = paths.ROOT / "src" / "portrait"
    readers = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.py")
                     if re.search(r"\._(data|mask)\b", p.read_text(encoding="utf-8")))
    assert readers == ["survey/labels.py"]
