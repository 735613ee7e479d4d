"""What the fieldwork stage (notebook 03) does around the simulator: the survey folder the ingest reads,
the truth table, point estimates beside the truth, response rates by profile and the age profile.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...pipeline import paths
from ...pipeline.config import every_problem, problem, require
from ...pipeline.errors import ParameterError
from .. import survey_tools
from ..exports import FORMATS
from ..codebook import Codebook, normalise_text, word_lookup
from .model import AGE_KEYS, FieldworkModel, GROUPS
from .simulation import Simulation, simulate, source_label


# ============================================================================ the stage


TRUTH_COLUMNS = ["survey", "item", "statistic", "level", "value", "group_shift", "source"]


@dataclass(frozen=True)
class FieldworkSettings:
    """The fieldwork stage's parameters (``config/03_fieldwork.yaml``), checked once when notebook 03 starts,
    before the simulation or the reading of any export.

    Attributes
    ----------
    source : ``simulated`` (the simulator writes the exports) or ``real`` (the survey tool's exports).
    export_formats : formats the simulator writes (``csv``, ``xlsx``, ``sav``).
    export_encoding : encoding of the simulated CSV exports (a Python codec name).
    ingest_format : the format read back; with simulated answers, one of ``export_formats``.
    csv_encoding : encoding of the CSV exports read.
    min_core_answered : common-core opinion items a questionnaire needs to count as partial (1 to the
        number of such items in the codebook).
    unfinished_in_exports : real responses exports hold the unfinished questionnaires (LimeSurvey « All
        responses »): one of 100 rows or more without any is refused (``completed_only``). ``False`` for a
        survey that saves no partial answers.
    """

    source: str
    export_formats: tuple[str, ...]
    export_encoding: str
    ingest_format: str
    csv_encoding: str
    min_core_answered: int
    unfinished_in_exports: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any], codebook: Codebook) -> "FieldworkSettings":
        with every_problem():
            source = require(params, "source", str)
            if source is not None:
                source_label(source)
            fieldwork_status = params.get("fieldwork_status", "closed")          # read by the reports only (their banner)
            if fieldwork_status not in ("closed", "in_progress"):
                problem(f"parameter 'fieldwork_status' must be closed or in_progress, got {fieldwork_status!r}")
            formats = require(params, "export_formats", list)
            bad = [f for f in formats or () if f not in FORMATS]
            if formats is not None and (not formats or bad or len(set(formats)) < len(formats)):
                problem(f"parameter 'export_formats' must list distinct formats among {', '.join(FORMATS)}, got {formats!r}")
            ingest_format = require(params, "ingest_format", str, choices=FORMATS)
            if source == "simulated" and formats and ingest_format and ingest_format not in formats:
                problem(f"parameter 'ingest_format' ({ingest_format}) must be one of 'export_formats' "
                        f"({', '.join(formats)}): the simulator writes only those")
            encodings = {}
            for name in ("export_encoding", "csv_encoding"):
                encodings[name] = require(params, name, str)
                try:
                    if encodings[name] is not None:
                        codecs.lookup(encodings[name])
                except LookupError:
                    problem(f"parameter {name!r} must be a text encoding such as utf-8 or cp1252, got {encodings[name]!r}")
            n_core = len(codebook.common_core("opinion"))
            unfinished = params.get("unfinished_in_exports", True)
            if not isinstance(unfinished, bool):
                problem(f"parameter 'unfinished_in_exports' must be true or false, got {unfinished!r}")
            return cls(source=source, export_formats=tuple(formats or ()), ingest_format=ingest_format,
                       min_core_answered=require(params, "min_core_answered", int, minimum=1, maximum=n_core),
                       unfinished_in_exports=unfinished is not False, **encodings)

    @property
    def unfinished_expected(self) -> bool:
        """Whether an export without unfinished questionnaires is refused: real exports, unless declared so."""
        return self.source == "real" and self.unfinished_in_exports


def prepare_survey_folder(source: str, *, simulated_dir: str | Path, real_dir: str | Path,
                          model: FieldworkModel, resident_slots: pd.DataFrame, resident_frame: pd.DataFrame,
                          population: pd.DataFrame, visitor_sample: pd.DataFrame, visitor_frame: pd.DataFrame,
                          seed: int, formats: list[str] | tuple[str, ...] = ("csv", "xlsx", "sav"),
                          encoding: str = "cp1252", tool: str = "native", key: bytes | None = None,
                          tools_file: str | Path = "config/survey_tools.yaml") -> tuple[Path, Simulation | None]:
    """The folder the ingest reads, and the simulation when ``source == "simulated"``.

    Simulated: the fieldwork is simulated and written into ``simulated_dir`` in every format of
    ``formats`` (:func:`portrait.study.exports.write_survey_folder`), or as survey tool ``tool`` exports
    them (:func:`portrait.study.survey_tools.write_tool_folder`: the formats of ``formats`` the tool
    has, with invitation tokens computed with ``key``). Real: ``real_dir`` is returned
    as it is (the survey tool's exports were put there) and there is no simulation.
    """
    from ..exports import write_survey_folder

    source_label(source)
    if source == "real":
        return paths.resolve(real_dir), None
    sim = simulate(model, resident_slots=resident_slots, resident_frame=resident_frame, population=population,
                   visitor_sample=visitor_sample, visitor_frame=visitor_frame, seed=seed)
    folder = paths.resolve(simulated_dir)
    lay = survey_tools.layout(tool, model.codebook, tools_file)
    if lay is None:
        written = write_survey_folder(sim.exports, sim.dispositions, folder, model.codebook, formats=formats,
                                      encoding=encoding)
    else:
        if key is None:
            raise ParameterError(f"writing {lay.label} exports needs the study's key (tokens)")
        ids = {"residents": resident_slots[model.codebook.id_column("residents")].astype(str),
               "visitors": visitor_sample[model.codebook.id_column("visitors")].astype(str)}
        written = survey_tools.write_tool_folder(sim.exports, sim.dispositions, ids, folder, model.codebook, lay, key,
                                                 seed, formats=formats)
    _remove_other_layouts(folder, written, list(sim.exports), tools_file)
    return folder, sim


def _remove_other_layouts(folder: Path, written: list[Path], surveys: list[str], tools_file: str | Path) -> None:
    """Remove the simulated exports an earlier run wrote in another layout or format (after a change of
    ``survey_tool``): left beside the new ones, they would pass for files of this run. Only the names a
    layout writes are considered; anything else in the folder is left alone."""
    from ..exports import dispositions_path, export_path

    names = {export_path(folder, s, f) for s in surveys for f in FORMATS} | {dispositions_path(folder, s) for s in surveys}
    names |= {folder / t.dispositions.file.format(survey=s) for t in survey_tools.load(tools_file).values()
              for s in surveys}
    for path in sorted(names - {Path(p) for p in written}):
        if path.is_file():
            path.unlink()


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
