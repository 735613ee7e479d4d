"""The weighted-design file: a design written by one stage and read by the next gives the same numbers.

Oracle: the in-memory design the file was written from. Estimates and standard errors (linearised,
with calibration residuals, and by replicate weights) of the rebuilt design equal the original's
within a relative 1e-12, for means, totals, proportions, domains, a Rao–Scott test and a survey
regression on the two surveys stacked. Thinned bootstrap replicates are checked against the
variance formula computed by hand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from portrait import survey
from portrait.survey import Design, Margin, ParameterError

RTOL = 1e-12


def _weighted(seed: int, n_psu: int = 60, per_psu: int = 8) -> Design:
    """Stratified cluster sample with fpc, non-response, raking and replicates re-running both."""
    rng = np.random.default_rng(seed)
    n = n_psu * per_psu
    stratum = np.repeat(rng.choice(["A", "B", "C"], n_psu, p=[0.5, 0.3, 0.2]), per_psu)
    psu = np.repeat(np.arange(n_psu), per_psu)
    df = pd.DataFrame({
        "stratum": stratum, "psu": psu, "N_psu": np.select([stratum == "A", stratum == "B"], [400, 300], 200),
        "w": rng.uniform(20, 60, n) * np.where(stratum == "A", 1.0, 2.0),
        "sex": rng.choice(["F", "H"], n), "age": rng.choice(["jeune", "moyen", "âgé"], n),
        "y": rng.normal(5, 2, n).round(0), "z": rng.integers(1, 6, n).astype(float),
        "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)), "resp": rng.uniform(size=n) < 0.7,
        "code": pd.array(np.where(rng.uniform(size=n) < 0.1, pd.NA, rng.integers(1, 6, n)), dtype="Int16"),
    })
    df.loc[rng.uniform(size=n) < 0.05, "y"] = np.nan
    d = Design.from_frame(df, weights="w", strata="stratum", psu="psu", fpc="N_psu")
    d = survey.with_replicates(d, "bootstrap", 30, np.random.default_rng(seed + 1))
    nr = survey.adjust_nonresponse(d, "resp", groups=["stratum"])
    total = float(nr.weights.sum())
    margins = [Margin.of("sex", {"F": 0.52 * total, "H": 0.48 * total}),
               Margin.of("age", {"jeune": 0.3 * total, "moyen": 0.4 * total, "âgé": 0.3 * total})]
    return survey.calibrate(nr, margins, method="raking")


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]) and not pd.api.types.is_bool_dtype(a[c]):
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=RTOL, atol=0, equal_nan=True)
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The design, a variant (its non-response stage linearly calibrated on one margin) and their file."""
    d = _weighted(7)
    nr = d.with_weights(d.steps[0].apply(replace(d, weights=d.base_weights, steps=()))[0], d.steps[0])
    total = float(nr.weights.sum())
    linear = survey.calibrate(nr, [Margin.of("sex", {"F": 0.5 * total, "H": 0.5 * total})], method="linear")
    path = tmp_path_factory.mktemp("weights") / "w.parquet"
    survey.write_design(d, path, variants={"one_margin": linear}, attrs={"recipe": {"replicates": 30}})
    return d, linear, path


@pytest.mark.parametrize("variance", ["linearisation", "replicates"])
def test_read_design_gives_the_same_estimates_and_standard_errors(written, variance):
    d, _, path = written
    r = survey.read_design(path)
    for est in (lambda x: survey.mean(x, ["y", "z"], variance=variance),
                lambda x: survey.total(x, "z", variance=variance),
                lambda x: survey.proportion(x, "cat", variance=variance),
                lambda x: survey.mean(x, "z", by="sex", variance=variance)):
        _compare(est(d), est(r))
    assert r.degf == d.degf and r.n == d.n
    pd.testing.assert_frame_equal(r.data, d.data)       # values and dtypes (nullable, categorical) come back


def test_tests_and_models_on_stacked_designs_agree(written):
    d, _, path = written
    r = survey.read_design(path)
    s_mem = survey.stack({"a": d, "b": _weighted(11)})
    s_file = survey.stack({"a": r, "b": _weighted(11)})
    rs_mem, rs_file = survey.rao_scott(s_mem, "cat", "groupe"), survey.rao_scott(s_file, "cat", "groupe")
    assert rs_file.F == pytest.approx(rs_mem.F, rel=RTOL) and rs_file.ndf == pytest.approx(rs_mem.ndf, rel=RTOL)
    assert rs_file.p_F == pytest.approx(rs_mem.p_F, rel=1e-10)
    for variance in ("linearisation", "replicates"):
        f_mem = survey.svyglm(s_mem, "z", ["groupe", "sex"], variance=variance)
        f_file = survey.svyglm(s_file, "z", ["groupe", "sex"], variance=variance)
        np.testing.assert_allclose(f_file.coef, f_mem.coef, rtol=RTOL)
        np.testing.assert_allclose(f_file.vcov, f_mem.vcov, rtol=1e-10, atol=1e-14)


def test_variants_and_attributes_come_back(written):
    d, linear, path = written
    v = survey.read_design(path, "one_margin")
    np.testing.assert_array_equal(v.weights, linear.weights)
    assert not v.has_replicates
    _compare(survey.mean(linear, "z"), survey.mean(v, "z"))
    meta = survey.read_metadata(path)
    assert meta["attrs"] == {"recipe": {"replicates": 30}}
    assert meta["replicates"]["scale"] == d.replicate_scale and len(meta["replicates"]["columns"]) == 30
    # the one-margin linear calibration has other auxiliaries: a second block
    assert len(meta["blocks"]) == 2
    with pytest.raises(ParameterError, match="no variant 'logit'"):
        survey.read_design(path, "logit")


def test_weights_from_elsewhere_are_read_by_naming_their_columns(written, tmp_path):
    """A file without the description (e.g. from a survey institute): weights, strata, PSU, fpc and
    replicate weights named as in R svrepdesign give the same replicate SEs as the original design."""
    d, _, path = written
    plain = pd.read_parquet(path)
    foreign = tmp_path / "institut.parquet"
    plain.rename(columns={"w_final": "poids"}).to_parquet(foreign)
    assert survey.read_metadata(foreign) is None
    r = survey.read_design(foreign, weights="poids", strata="var_stratum", psu="var_psu", fpc="var_fpc",
                           replicates=r"^rw_\d+$", scale=d.replicate_scale)
    _compare(survey.mean(d, "z", variance="replicates"), survey.mean(r, "z", variance="replicates"))
    # no calibration description: the linearised SE is the plain Horvitz–Thompson one
    plain_design = Design.from_frame(plain, weights="w_final", strata="var_stratum", psu="var_psu", fpc="var_fpc")
    _compare(survey.mean(plain_design, "z"), survey.mean(r, "z"))
    with pytest.raises(ParameterError, match="name its weights column"):
        survey.read_design(foreign)
    with pytest.raises(ParameterError, match="variance scale"):
        survey.read_design(foreign, weights="poids", replicates="^rw_")
    with pytest.raises(ParameterError, match=r"\['var_psu'\] have names the file reserves"):
        survey.write_design(replace(d, data=d.data.assign(var_psu=1)), tmp_path / "clash.parquet")
    assert not (tmp_path / "clash.parquet").exists()
    with pytest.raises(ParameterError, match="does not exist"):
        survey.read_design(tmp_path / "absent.parquet")


def test_file_is_byte_identical_for_the_same_design(written, tmp_path):
    d, linear, path = written
    again = tmp_path / "again.parquet"
    survey.write_design(d, again, variants={"one_margin": linear}, attrs={"recipe": {"replicates": 30}})
    assert again.read_bytes() == path.read_bytes()
    assert not list(tmp_path.glob(".*partial"))
    assert pq.read_schema(again).metadata[b"portrait.survey.design"]


def test_first_replicates_is_a_smaller_bootstrap(written):
    """Thinning to k bootstrap replicates: variance 1/(k−1) Σ (θ_r − θ̄)² over the first k, by hand."""
    d, _, _ = written
    k = 12
    t = survey.first_replicates(d, k)
    R = d.replicate_weights()[:, :k]
    z = d.data["z"].to_numpy()
    thetas = (R * z[:, None]).sum(axis=0) / R.sum(axis=0)
    by_hand = np.sqrt(np.sum((thetas - thetas.mean()) ** 2) / (k - 1))
    assert survey.mean(t, "z", variance="replicates")["se"].iloc[0] == pytest.approx(by_hand, rel=1e-12)
    jk = survey.with_replicate_weights(d, R, scale=1.0, method="jkn")
    with pytest.raises(ParameterError, match="only bootstrap"):
        survey.first_replicates(jk, 5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-9])
def test_replicate_weights_must_be_finite_and_non_negative(written, bad):
    """One bad value anywhere in the replicate matrix is refused, whichever it is (NaN included)."""
    d = survey.read_design(written[2])
    R = d.replicate_weights().copy()
    R[len(R) // 2, R.shape[1] - 1] = bad
    with pytest.raises(ParameterError, match="finite and non-negative"):
        survey.with_replicate_weights(d, R, scale=d.replicate_scale)
    survey.with_replicate_weights(d, np.abs(np.nan_to_num(R, posinf=1.0, neginf=1.0)), scale=d.replicate_scale)


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -1e-9])
def test_a_file_with_a_bad_replicate_weight_is_refused_naming_its_column(written, bad, threads, tmp_path,
                                                                          monkeypatch):
    """read_design checks the replicate weights as it copies them (in one thread, or two for large files, a few
    columns at a time): one bad value in the last replicate column of the file is refused, with the file and the
    column named; the good file read in two threads, two columns at a time, is the file read in one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from portrait.survey import files

    if threads:
        one = survey.read_design(written[2]).replicate_weights()
        monkeypatch.setattr(files, "PARALLEL_COPY", 0)
        monkeypatch.setattr(files, "BATCH", 2)
        np.testing.assert_array_equal(survey.read_design(written[2]).replicate_weights(), one)

    table = pq.read_table(written[2])
    last = survey.read_metadata(written[2])["replicates"]["columns"][-1]
    values = table.column(last).to_numpy().copy()
    values[len(values) // 2] = bad
    path = tmp_path / "bad.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index(last), last, pa.array(values)), path)
    with pytest.raises(ParameterError, match=f"bad.parquet: replicate weights column '{last}' is not finite"):
        survey.read_design(path)


def test_subsets_and_trimmings_of_a_calibrated_design_come_back_with_their_standard_errors(tmp_path):
    """An audit against R: a subset (or an R-style trimming) of a calibrated design, written and read back, lost the
    steps linearisation reads, and its SE fell from R's 6.9066 to 4.4766 (1.8553 to 1.4631 trimmed). Read back, the
    design gives the SEs of the design written, which are R's (tests/test_r_habits.py, tests/test_trim_weights_r.py)."""
    from tests import helpers

    d = helpers.api_design("strat")
    cal = survey.calibrate(d, [Margin.of("sch.wide", {"No": 1072, "Yes": 5122}), survey.NumericTotal("api99", 3914069)],
                           method="raking")
    awards = (d.data["awards"] == "Yes").to_numpy()
    cases = {"subset": survey.subset(cal, awards), "trim": survey.trim_weights(cal, upper=40),
             "both": survey.subset(survey.trim_weights(cal, upper=40), awards),
             "replicates": survey.subset(survey.with_replicates(cal, "jkn"), awards)}
    for name, x in cases.items():
        path = tmp_path / f"{name}.parquet"
        survey.write_design(x, path)
        y = survey.read_design(path)
        for variance in ["linearisation"] + (["replicates"] if x.has_replicates else []):
            for a, b in ((survey.mean(x, "api00", variance=variance), survey.mean(y, "api00", variance=variance)),
                         (survey.total(x, "enroll", by="stype", variance=variance),
                          survey.total(y, "enroll", by="stype", variance=variance))):
                np.testing.assert_allclose(b[["estimate", "se"]].to_numpy(), a[["estimate", "se"]].to_numpy(),
                                           rtol=1e-12)
    assert [s.kind for s in survey.read_design(tmp_path / "both.parquet").steps] == ["calibration", "trim_weights",
                                                                                     "subset"]


def test_a_described_file_missing_a_column_or_with_bad_weights_is_refused(written, tmp_path):
    """An audit: pyarrow skips a column it is asked for and does not have, so a described file without one of its
    replicate columns was read with the others shifted and the last one uninitialised memory (SE 26.6 → 59.4). And a
    missing weight was read as NaN estimates, where from_frame refuses it."""
    import pyarrow as pa

    table = pq.read_table(written[2])
    gone = survey.read_metadata(written[2])["replicates"]["columns"][2]
    pq.write_table(table.drop_columns([gone]), tmp_path / "short.parquet")
    with pytest.raises(ParameterError, match=rf"short.parquet: its description names columns the file does not have: "
                       rf"\['{gone}'\]"):
        survey.read_design(tmp_path / "short.parquet")
    w = table.column("w_final").to_numpy().copy()
    w[3] = np.nan
    pq.write_table(table.set_column(table.schema.get_field_index("w_final"), "w_final", pa.array(w)),
                   tmp_path / "nan.parquet")
    with pytest.raises(ParameterError, match=r"nan.parquet: weights column 'w_final' has 1 value\(s\) that are "
                       r"missing or infinite \(the first at position 3, counting from 0\)"):
        survey.read_design(tmp_path / "nan.parquet")
    with pytest.raises(ParameterError, match=r"no replicate weights column \['zz'\]"):
        survey.read_design(_plain(written, tmp_path), weights="poids",
                           replicates=["zz"], scale=1.0)


def _plain(written, tmp_path):
    """The described file's data and weights without the description (weights from elsewhere)."""
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"poids": pq.read_table(written[2]).column("w_final").to_numpy()}).to_parquet(path)
    return path


def test_update_adds_derived_variables_without_touching_the_design_given():
    """An analyst wrote into ``design.data`` for a derived variable, against « a design is immutable ». ``update``
    returns a new design with the column (same weights, so the same estimate as computed by hand: oracle Σwy/Σw),
    leaves the original without it, and refuses a column of the wrong length."""
    df = pd.DataFrame({"q": [1, 5, 4, 2, 5, 3], "s": ["a", "a", "b", "b", "c", "c"], "w": [1.0, 2, 1, 3, 2, 1]})
    d = survey.Design.from_frame(df, weights="w", strata="s")
    agree = (df["q"] >= 4).astype(float)
    d2 = survey.update(d, {"q|top2": agree}, half=df["q"] / 2)
    assert "q|top2" not in d.data.columns and {"q|top2", "half"} <= set(d2.data.columns)
    est = survey.mean(d2, "q|top2")["estimate"].iloc[0]
    assert est == pytest.approx((df["w"] * agree).sum() / df["w"].sum(), rel=1e-12)
    with pytest.raises(ParameterError, match="one value per unit"):
        survey.update(d, short=[1.0, 2.0])
    one = survey.update(d, all="x", unit=1.0)            # a single value is every unit's, as R recycles it
    assert list(one.data["all"]) == ["x"] * 6 and survey.total(one, "unit")["estimate"].iloc[0] == df["w"].sum()
