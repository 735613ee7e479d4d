"""Raw inputs and the resident frame."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from portrait.study import frames
from portrait.pipeline import paths, sources
from portrait.pipeline.errors import InputError, ParameterError

from .conftest import DEFAULT


def test_raw_checksums_hold():
    """Every raw file matches data/raw/SHA256SUMS and every raw file is listed there."""
    assert sources.verify() == []


def test_checksum_detects_an_edited_raw_file(tmp_path, monkeypatch):
    """Editing a raw file by hand makes verify() report it by name."""
    shutil.copytree(paths.RAW, tmp_path / "raw")
    monkeypatch.setattr(paths, "RAW", tmp_path / "raw")
    f = tmp_path / "raw" / sources.COMMUNES_FILE
    f.write_bytes(f.read_bytes().replace(b";518\n", b";519\n", 1))
    assert sources.verify() == [f"data/raw/{sources.COMMUNES_FILE}: checksum differs from SHA256SUMS; "
                                "raw files are never edited"]


def test_commune_file_is_the_documented_extract():
    """The commune file holds the 3,782 communes and 5,992,194 inhabitants of version 6.0.0 (STUDY §2)."""
    c = sources.read_communes()
    assert len(c) == 3782
    assert c["population"].sum() == 5_992_194
    assert c.groupby("departement").size().to_dict() == {"02": 797, "59": 647, "60": 680, "62": 887, "80": 771}


def test_frame_strata_and_pop15(resident_frame):
    """The frame has 22 department × size-class strata and 15+ populations from each department's INSEE share."""
    f = resident_frame
    assert f["stratum"].nunique() == 22
    share = sources.pop15_share(2017)
    assert 0.78 < share.min() and share.max() < 0.84
    for dep, d in f.groupby("departement"):
        assert d["pop15"].sum() == pytest.approx(d["population"].sum() * share[dep], abs=len(d))
    big = f.loc[f["population"] >= 100_000, "nom"].tolist()
    assert sorted(big) == ["Amiens", "Lille"]


def test_unknown_department_is_named():
    """An unknown department code in the parameters raises ParameterError naming it."""
    with pytest.raises(ParameterError, match=r"unknown department code\(s\) \['99'\]"):
        frames.resident_frame_from_params({**DEFAULT, "departments": ["59", "99"]})


def test_bad_size_breaks_are_refused():
    """Size breaks that are not strictly increasing are refused with the parameter's name."""
    with pytest.raises(ParameterError, match="'size_breaks' must be strictly increasing"):
        frames.resident_frame_from_params({**DEFAULT, "size_breaks": [5000, 1000]})


def test_unknown_population_year_is_named():
    """A population year absent from the INSEE file raises InputError naming the file and the year."""
    with pytest.raises(InputError, match=r"insee_elp.*column 'year', value 2031: no figures for year 2031"):
        frames.resident_frame_from_params({**DEFAULT, "population_year": 2031})


def test_corrupt_commune_file_names_row_and_column(tmp_path):
    """A non-numeric population in the commune file is reported with file, row and column."""
    f = tmp_path / "communes.csv"
    f.write_text("\ufeffcode;nom;departement;population\n02001;A;02;518\n02002;B;02;beaucoup\n",
                 encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column 'population', value 'beaucoup'"):
        sources.read_communes(f)


def test_communes_taken_with_certainty_are_said_retenues_d_office_as_in_reports_07_and_08():
    """« Communes certaines » is an anglicism (certainty units); the reports say « retenues d'office »: the strata
    table's header, the selection figure's legend and title, and notebook 01's text."""
    import inspect

    from portrait.reporting import plots

    assert frames.STRATA_LABELS_FR["certainty_communes"] == "Communes retenues d'office"
    assert "retenue d'office" in plots.PALETTE
    text = inspect.getsource(plots.resident_selection) + (paths.NOTEBOOKS / "01_resident_frame.ipynb").read_text(
        encoding="utf-8")
    assert "certaine" not in text and "à coup sûr" not in text


def test_departments_are_named_with_their_code():
    assert frames.department_names(pd.Series(["02", "80", "75"])).tolist() == ["Aisne (02)", "Somme (80)", "75"]


@pytest.mark.parametrize("declared_dtype", ["str", "string", object])
@pytest.mark.parametrize("code_dtype", ["str", object, "int64"])
def test_declared_elsewhere_is_each_declared_commune_compared_as_text_with_the_invited_one(declared_dtype, code_dtype):
    """Brute force, row by row: a resident declared another commune when a commune is given and its text differs
    from the invitation's commune code as text (a postal code, a commune moved to, or a code without its 0)."""
    from portrait.study.frames import declared_elsewhere

    invited = [59350, 59100, 62041, 59350, 2001, 59009]
    declared = ["59350", "59100", None, "59512", "02001", "59100"]
    code = pd.Series(invited).astype(code_dtype) if code_dtype != "str" else pd.Series([str(c) for c in invited],
                                                                                      dtype="str")
    answers = pd.DataFrame({"commune_residence": pd.Series(declared, dtype=declared_dtype)})
    expected = [d is not None and d != str(c) for d, c in zip(declared, invited)]
    got = declared_elsewhere(pd.DataFrame({"code": code}), answers)
    assert got.dtype == bool and got.tolist() == expected == [False, False, False, True, True, True]
    assert not declared_elsewhere(pd.DataFrame({"slot_id": ["a"]}), answers).any()     # the visitors: no code
    if code_dtype != "int64":       # an invitation without a commune: any commune declared differs, as pandas compares
        code[[0, 2]] = None
        got = declared_elsewhere(pd.DataFrame({"code": code}), answers)
        assert got.dtype == bool and got.tolist() == [True, False, False, True, True, True]
