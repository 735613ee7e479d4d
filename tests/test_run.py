"""The papermill runner: parameters from config/, short failure messages, atomic normalised output."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from portrait.pipeline import parameters, paths, run
from portrait.pipeline.errors import ParameterError


def _notebook(tmp_path, body: str, name: str = "99_probe.ipynb", extra: str = ""):
    params = new_code_cell("seed = 1\ndepartments = ['59']\nlabel = 'x'\n" + extra, metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[new_markdown_cell("# Sonde"), params, new_code_cell(body)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "config"
    d.mkdir()
    (d / "study.yaml").write_text("seed: 42\ndepartments: ['02', '59']\nsource: simulated\n")
    monkeypatch.setattr(paths, "CONFIG", d)
    return d


def test_parameters_merge_study_then_notebook_then_overrides(tmp_path, config_dir):
    """Study settings reach the notebooks that declare them, the notebook's file overrides, -p overrides both."""
    nb = _notebook(tmp_path, "pass")
    (config_dir / "99_probe.yaml").write_text("label: from-file\n")
    params = run.resolve_parameters(nb, {"seed": 7})
    assert params == {"seed": 7, "departments": ["02", "59"], "label": "from-file"}


def test_typo_in_a_notebook_parameter_file_is_an_error(tmp_path, config_dir):
    """A key of config/<notebook>.yaml the notebook does not declare is reported, with the declared names."""
    nb = _notebook(tmp_path, "pass")
    (config_dir / "99_probe.yaml").write_text("lable: oops\n")
    with pytest.raises(ParameterError, match=r"sets \['lable'\], which .* does not declare .*did you mean 'label'\?"):
        run.resolve_parameters(nb)
    (config_dir / "99_probe.yaml").write_text("zzz: oops\n")
    with pytest.raises(ParameterError) as e:                  # nothing close: no guess
        run.resolve_parameters(nb)
    assert "did you mean" not in str(e.value)


def test_failure_message_is_short_and_names_cell_exception_and_package_frame(tmp_path, config_dir, capsys):
    """A failing cell gives a few lines: notebook, code cell, exception, package frame, partial notebook."""
    nb = _notebook(tmp_path, "from portrait.study import frames\n"
                             "frames.resident_frame_from_params(dict(population_year=2017, departments=['99'],"
                             " size_breaks=[1000]))")
    out = tmp_path / "out" / "99_probe.ipynb"
    status = run.main([str(nb), "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert "failed in code cell 2 (In [3] in the executed notebook, which adds the injected parameters cell), line 2 ('frames.resident_frame_from_params(dict(population_year=2017, " in err
    assert "ParameterError: parameter 'departments' holds unknown department code(s) ['99']" in err
    assert "raised in src/portrait/study/frames.py:" in err or "raised in portrait/study/frames.py:" in err
    assert "99_probe.partial.ipynb" in err
    assert f"parameter 'departments' is set in {config_dir / 'study.yaml'}" in err       # where to fix it
    assert len(err.strip().splitlines()) <= 5
    assert not out.exists()
    assert (out.parent / "99_probe.partial.ipynb").exists()


def test_an_error_that_names_its_file_gets_no_guess_at_other_files(tmp_path, config_dir, capsys):
    """Trial H: « the fieldwork model (config/fieldwork_model.yaml …) has 1 problem » was followed by « parameters:
    config/study.yaml and config/99_probe.yaml », files that hold nothing to fix. A message naming its file stands."""
    nb = _notebook(tmp_path, "from portrait.pipeline.errors import ParameterError\n"
                             "raise ParameterError('the model (config/fieldwork_model.yaml) has 1 problem')")
    assert run.main([str(nb), "-o", str(tmp_path / "out" / "99_probe.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "config/fieldwork_model.yaml" in err and "parameters: config/" not in err


def test_an_error_that_gives_its_remedy_gets_no_guess_at_parameter_files(tmp_path, config_dir, capsys):
    """A refused `make validate-report` (« … holds a run made with other inputs: data/processed/… changed since the
    run. run that validation first (`make validate` …) ») was followed by « parameters: config/study.yaml and
    config/08_validation.yaml », where nothing was to be fixed. A message that names its remedy stands alone."""
    nb = _notebook(tmp_path, "from portrait.pipeline.errors import ParameterError\n"
                             "raise ParameterError('data/processed/x.parquet changed since the run: run it first "
                             "(`make validate`)')")
    assert run.main([str(nb), "-o", str(tmp_path / "out" / "99_probe.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "(`make validate`)" in err and "parameters: config/" not in err


def test_a_parameter_error_names_the_file_that_set_the_value(tmp_path, config_dir, capsys):
    """A ParameterError naming a parameter says where its value came from: the stage's file, the study's, or -p."""
    nb = _notebook(tmp_path, "from portrait.pipeline import config\nconfig.require({'seed': seed}, 'seed', int, minimum=100)")
    out = tmp_path / "out" / "99_probe.ipynb"
    assert run.main([str(nb), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "parameter 'seed' must be at least 100" in err and f"parameter 'seed' is set in {config_dir / 'study.yaml'}" in err
    (config_dir / "99_probe.yaml").write_text("seed: 50\n")
    assert run.main([str(nb), "-o", str(out)]) == 1
    assert f"parameter 'seed' is set in {config_dir / '99_probe.yaml'}" in capsys.readouterr().err
    assert run.main([str(nb), "-o", str(out), "-p", "seed", "7"]) == 1
    assert "parameter 'seed' is set in the command line (`-p seed …`)" in capsys.readouterr().err


def test_every_wrong_parameter_is_reported_at_once_with_where_each_was_set(tmp_path, config_dir, capsys):
    """Within ``config.every_problem``, each wrong parameter is noted and the check goes on: one error lists
    them all, and the runner says where each value came from. An error that follows from a value already
    found wrong is not reported; one before any problem is, unchanged; outside, the first problem raises."""
    from portrait.pipeline import config

    body = ("from portrait.pipeline import config\nwith config.every_problem():\n"
            "    config.require({'seed': seed}, 'seed', int, minimum=100)\n"
            "    config.require({'label': label}, 'label', int)\n    config.problem('parameter \\'departments\\' is odd')")
    nb = _notebook(tmp_path, body)
    (config_dir / "99_probe.yaml").write_text("label: from-file\n")
    assert run.main([str(nb), "-o", str(tmp_path / "out" / "99_probe.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "3 problems in the parameters:" in err
    assert "  - parameter 'seed' must be at least 100, got 42" in err and "  - parameter 'label' must be int" in err
    assert f"parameter 'seed' is set in {config_dir / 'study.yaml'}" in err
    assert f"parameter 'label' is set in {config_dir / '99_probe.yaml'}" in err
    assert f"parameter 'departments' is set in {config_dir / 'study.yaml'}" in err

    def consequence():
        with config.every_problem():
            n = config.require({"n": "3"}, "n", int)
            return n + 1                                    # a TypeError: n was found wrong
    with pytest.raises(ParameterError, match=r"^parameter 'n' must be int"):
        consequence()
    with pytest.raises(ZeroDivisionError), config.every_problem():
        1 / 0
    with pytest.raises(ParameterError, match="^parameter 'n' is missing$"):
        config.require({}, "n", int)
        config.problem("never reached")
    with pytest.raises(ParameterError, match="^2 problems"), config.every_problem():
        with config.every_problem():                        # nested: reported once, by the outermost
            config.problem("parameter 'a' is wrong")
        config.problem("parameter 'b' is wrong")


def _every_problem_cases():
    from portrait.reporting import synthesis
    from portrait.study import codebook, compare, frames, recipes
    from portrait.study.fieldwork import stage

    cb = codebook.load()
    return {
        "resident frame": (frames.resident_frame_from_params, {"population_year": "2017", "departments": "59"}, 3),
        "resident design": (frames.ResidentDesign.from_params,
                            {"invitations": 0, "take_per_commune": "x", "allocation": "z"}, 4),
        "resident recipe": (recipes.ResidentRecipe.from_params,
                            {"calibration_method": 3, "replicate_method": "jk1", "replicates": 1,
                             "nonresponse_classes": 0, "min_respondents_per_level": 20, "population_year": 2017,
                             "sensitivity_methods": "linear"}, 5),
        "visitor recipe": (recipes.VisitorRecipe.from_params,
                           {"calibration_target": "tourist", "tourism_margins": [1], "calibration_method": "logit",
                            "calibration_bounds": None, "replicate_method": "bootstrap", "replicates": 10,
                            "nonresponse_classes": 5}, 4),
        "fieldwork": (lambda p: stage.FieldworkSettings.from_params(p, cb),
                      {"source": "reel", "export_formats": "csv", "ingest_format": "doc", "export_encoding": "nope",
                       "csv_encoding": "utf-8", "min_core_answered": 0}, 5),
        "comparison": (compare.ComparisonSettings.from_params, {"adjust": "q", "confidence_level": 2}, 4),
        "synthesis": (synthesis.SynthesisSettings.from_params, {"source": 5, "small_cell_threshold": 0}, 2),
    }


@pytest.mark.parametrize("case", ["resident frame", "resident design", "resident recipe", "visitor recipe",
                                  "fieldwork", "comparison", "synthesis"])
def test_each_stage_reports_every_wrong_setting_once(case):
    """Every settings object of the chain reports all its wrong parameters together, each once (no second
    message about a value already found wrong, such as « got None »), without the follow-on error's trace."""
    check, params, count = _every_problem_cases()[case]
    with pytest.raises(ParameterError) as err:
        check(params)
    text = str(err.value)
    assert text.startswith(f"{count} problems in the parameters:"), text
    assert text.count("\n  - ") == count and "got None" not in text
    assert err.value.__suppress_context__


def test_a_settings_error_names_the_stage_code_not_the_checker(tmp_path, config_dir, capsys):
    """The runner's « raised in » line points at the settings' module, not at the problem collector."""
    nb = _notebook(tmp_path, "from portrait.study import compare\ncompare.ComparisonSettings.from_params({'adjust': 'q'})")
    assert run.main([str(nb), "-o", str(tmp_path / "out" / "99_probe.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "4 problems in the parameters" in err and "raised in src/portrait/study/compare.py:" in err


def test_success_output_is_normalised(tmp_path, config_dir):
    """The executed notebook carries its parameters but no timings and a fixed id for the injected cell."""
    nb = _notebook(tmp_path, "print(seed * 2)")
    out = run.run(nb, tmp_path / "out.ipynb")
    ex = nbformat.read(out, as_version=4)
    assert ex.metadata.papermill.parameters["seed"] == 42
    assert "start_time" not in ex.metadata.papermill and "duration" not in ex.metadata.papermill
    injected = [c for c in ex.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and injected[0].id == "injected-parameters"
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in ex.cells)
    assert ex.cells[-1].outputs[0].text == "84\n"
    assert not (tmp_path / "out.partial.ipynb").exists()


def test_the_kernel_is_shut_down_without_an_interrupt_but_a_running_cell_can_still_be_interrupted():
    """jupyter_client interrupts a kernel before shutting it down, which now and then printed « KeyboardInterrupt
    caught in kernel » after a notebook that had run; the runner's manager skips that interrupt only."""
    import asyncio

    km = run.quiet_kernel_manager()(kernel_name="python3")
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):      # an interrupt asked for: it is sent
        asyncio.run(km._async_interrupt_kernel())
    km.shutting_down = True
    assert asyncio.run(km._async_interrupt_kernel()) is None            # on the way to shutdown: none


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_the_kernel_talks_over_unix_sockets_of_its_own_not_tcp_ports(tmp_path, config_dir, monkeypatch):
    """Two stages started together (`make -j2`) were handed free TCP ports picked before their kernels bound
    them: now and then both got one, and the losing kernel printed a ZMQ « Address already in use »
    traceback. The kernel reports its own transport; its sockets live in a private directory, removed after."""
    made = []
    real = run.tempfile.TemporaryDirectory

    def recording(*a, **k):
        made.append(real(*a, **k))
        return made[-1]

    monkeypatch.setattr(run.tempfile, "TemporaryDirectory", recording)
    nb = _notebook(tmp_path, "import ipykernel.connect, json, os\ninfo = json.loads(ipykernel.connect.get_connection_info())\n"
                             "print(info['transport'], os.path.dirname(info['ip']))")
    out = run.run(nb, tmp_path / "out.ipynb")
    transport, where = nbformat.read(out, as_version=4).cells[-1].outputs[0].text.split()
    assert transport == "ipc" and where == made[0].name
    assert not os.path.exists(where)


def test_a_socket_directory_too_long_for_a_unix_socket_falls_back_to_tcp(tmp_path):
    """A Unix socket's path must fit 104 bytes on macOS; past that, the kernel keeps TCP ports."""
    short, long_ = "/tmp/portrait-x", "/tmp/" + "d" * run.IPC_DIR_MAX
    km = run.quiet_kernel_manager(short)(kernel_name="python3")
    assert (km.transport, km.connection_file, km.ip) == ("ipc", short + "/k.json", short + "/k-ipc")
    km = run.quiet_kernel_manager(long_)(kernel_name="python3")
    assert km.transport == "tcp" and km.ip == "127.0.0.1"


# --------------------------------------------------------------------- JupyterLab gives what make gives
@pytest.mark.parametrize("path", parameters.chain(), ids=[p.stem for p in parameters.chain()])
def test_parameters_cell_defaults_are_what_make_injects(path):
    """Run cell by cell in JupyterLab, a notebook takes its parameters cell's defaults; they must equal
    what the runner injects from config/ (`make params` rewrites them)."""
    assert parameters.drift(path) == {}, f"run `make params`: {parameters.drift(path)}"


def test_a_config_edit_is_drift_until_synced(tmp_path, config_dir):
    """Changing a YAML value makes the check fail; `sync` rewrites only the configured defaults."""
    nb = _notebook(tmp_path, "pass")
    (config_dir / "99_probe.yaml").write_text("label: from-file\n")
    assert parameters.drift(nb) == {"seed": (1, 42), "departments": (["59"], ["02", "59"]),
                                    "label": ("x", "from-file")}
    assert parameters.sync(nb) is True
    assert parameters.drift(nb) == {}
    assert parameters.cell_defaults(nb) == {"seed": 42, "departments": ["02", "59"], "label": "from-file"}
    assert parameters.sync(nb) is False


def test_a_default_of_another_type_is_drift(tmp_path, config_dir):
    """1 and 1.0, or True and 1, are different parameters to a notebook: the check sees it."""
    nb = _notebook(tmp_path, "pass")
    (config_dir / "99_probe.yaml").write_text("label: x\n")
    (config_dir / "study.yaml").write_text("seed: 1.0\ndepartments: ['59']\n")
    assert parameters.drift(nb) == {"seed": (1, 1.0)}


@pytest.mark.parametrize("value", [0, -3, 2.5, 1e-300, True, None, "", "l'été « 59 » \\ \"x\"", [1, "a", [2.0]],
                                   {"a": {"b": [1, 2]}, "c": None}, {}])
def test_literal_reads_back_as_the_same_value(value):
    """The generated source is read back by Python's own parser to the YAML value (the oracle is ast)."""
    import ast

    assert ast.literal_eval(parameters.literal(value)) == value
    assert type(ast.literal_eval(parameters.literal(value))) is type(value)


def test_a_typo_in_the_study_file_is_an_error(tmp_path, config_dir):
    """`sourse: real` in config/study.yaml used to be ignored, and the simulator ran: now it names the key."""
    nb = _notebook(tmp_path, "pass")
    (config_dir / "study.yaml").write_text("seed: 42\nsourse: real\n")
    with pytest.raises(ParameterError, match=r"study.yaml sets \['sourse'\], which no notebook of the chain declares"
                                             r" — did you mean 'source'\?"):
        run.resolve_parameters(nb)
    (config_dir / "study.yaml").write_text("seed: 42\nsed: 1\n")
    with pytest.raises(ParameterError) as e:          # with a guess, not the ~120 names every notebook declares
        run.resolve_parameters(nb)
    assert "did you mean 'seed'?" in str(e.value) and "declared:" not in str(e.value)


def test_an_input_file_named_wrong_is_said_with_its_key_before_the_stage_runs(tmp_path, config_dir):
    """A trial set model_file to a misspelt path: the stage started, and the error named the path but not the key."""
    nb = _notebook(tmp_path, "pass", extra="model_file = 'config/fieldwork_model.yaml'\n")
    (config_dir / "99_probe.yaml").write_text("model_file: config/fieldwork_modl.yaml\n")
    with pytest.raises(ParameterError, match=r"config/99_probe.yaml sets model_file: config/fieldwork_modl.yaml, "
                                             r"which does not exist"):
        run.resolve_parameters(nb)


@pytest.mark.parametrize("failure", ["Kernel didn't respond in 45 seconds",
                                     "Kernel died before replying to kernel_info"])
def test_a_kernel_that_does_not_start_is_replaced(failure, tmp_path, config_dir, monkeypatch, capsys):
    """make -j2 can give two kernels the same port; the one that loses dies at start (« died before
    replying », seen in a test run) or never answers. The runner starts another (nothing of the notebook
    has run), and says so; a failure inside a cell is never retried."""
    import papermill

    real, calls = papermill.execute_notebook, []

    def flaky(*args, **kw):
        calls.append(kw["start_timeout"])
        if len(calls) == 1:
            raise RuntimeError(failure)
        return real(*args, **kw)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    out = run.run(_notebook(tmp_path, "x = 1"), tmp_path / "out.ipynb")
    assert out.exists() and len(calls) == 2
    assert "the kernel did not start (attempt 1)" in capsys.readouterr().err
    calls.clear()
    with pytest.raises(run.NotebookFailed):
        run.run(_notebook(tmp_path, "1 / 0", name="98_fails.ipynb"), tmp_path / "fails.ipynb")
    assert len(calls) == 2        # the first attempt raised before the kernel; the second ran the cell: no third


def test_run_information_lists_every_parameter_in_french_with_its_name_and_value_as_written_in_config():
    """The reports' run-information block lists every parameter, by its French name (« méthode de calage »,
    written by hand from parameter_labels) and French value (« linéaire et raking », « oui »), its raw name and
    raw value kept beside them; the raw value is written the way config/*.yaml does, and read back with YAML it is
    the parameter itself (no Python repr: quotes, True/None)."""
    import nbformat
    import yaml

    from portrait.reporting import render

    params = {"calibration_method": "raking", "calibration_bounds": [0.3, 3.0], "check": True, "none": None,
              "sensitivity_methods": ["linear", "raking"], "date": "2017-01-01",
              "overrides": {"residents": {"invitations": 1000}}}
    nb = nbformat.v4.new_notebook(metadata={"papermill": {"parameters": params}})
    rows = render.run_information(nb)
    shown = {name: (text, value, raw) for text, name, value, raw in rows if name}
    assert set(shown) == set(params)                                   # every parameter, each once
    assert len(rows) == len(params) + 4                   # and commit, version, environment, manifest checksum
    import platform

    import numpy
    import pandas
    environment = next(value for text, _, value, _ in rows if text == "environnement")
    assert environment.startswith(f"Python {platform.python_version()} · numpy {numpy.__version__} · "
                                  f"pandas {pandas.__version__} · scipy ")     # the kernel's, else this Python
    nb.metadata["language_info"] = {"name": "python", "version": "3.13.0"}
    assert dict((t, v) for t, _, v, _ in render.run_information(nb))["environnement"].startswith("Python 3.13.0 · ")
    assert shown["calibration_method"] == ("méthode de calage", "raking ratio", "raking")
    assert shown["calibration_bounds"] == ("bornes du rapport g =\u00a0poids calé / poids initial (calage logit borné)",
                                           "[0,3\u00a0; 3]", "[0.3, 3.0]")
    assert shown["sensitivity_methods"] == ("méthodes de calage comparées (sensibilité)",
                                            "linéaire et raking ratio",
                                            "[linear, raking]")
    assert shown["check"] == ("check", "oui", "true") and shown["date"] == ("date", "1ᵉʳ janvier 2017", "'2017-01-01'")
    for k, v in params.items():
        assert yaml.safe_load(shown[k][2]) == v


def test_the_rendered_run_information_shows_french_names_and_values_with_the_raw_ones_on_hover(tmp_path):
    """In the HTML, « méthode de calage » is shown and « calibration_method » is findable in its tooltip, not in
    the text; « Benjamini–Hochberg » is shown, « fdr_bh » in its tooltip; no Dask scheduler reads « aucun
    (processus locaux) », not « '' »."""
    import html
    import re

    import nbformat

    from portrait.reporting import render

    params = {"calibration_method": "raking", "scheduler": "", "seed": 7, "adjust": "fdr_bh"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sonde")],
                                  metadata={"papermill": {"parameters": params}})
    nbformat.write(nb, tmp_path / "probe.ipynb")
    page = render.render(tmp_path / "probe.ipynb", tmp_path / "probe.html").read_text(encoding="utf-8")
    # entities read as characters (the attribute « '' » may be written « &#39;&#39; »)
    footer = html.unescape(page[page.index("Informations d’exécution</strong>"):page.index("</footer>")])
    assert ('<span title="calibration_method">méthode de calage</span>\u00a0: <span title="raking">raking ratio</span></li>'
            in footer)
    assert ('<span title="scheduler">ordonnanceur Dask</span>\u00a0: <span title="\'\'">aucun (processus locaux)'
            in footer)
    assert '<span title="seed">graine aléatoire</span>\u00a0: 7</li>' in footer
    assert ('<span title="adjust">correction pour tests multiples</span>\u00a0: <span title="fdr_bh">Benjamini–Hochberg'
            in footer)
    text = re.sub(r"<[^>]+>", "", footer)
    assert "calibration_method" not in text and "paramètre seed" not in text and "''" not in text
    assert "fdr_bh" not in text and "Benjamini–Hochberg" in text


def test_a_stale_banner_goes_at_the_top_and_replaces_an_earlier_one(tmp_path):
    """After a failure, a report left from an earlier run gets one banner (a second failure replaces it)."""
    from portrait.reporting import report

    r = tmp_path / "06_x.html"
    r.write_text('<html><head></head><body class="jp-Notebook">\n<main>\n<p>Rapport</p></main></body></html>\n')
    assert report.mark_stale(r, report.stale_banner("Pondération A", own=False))
    assert report.mark_stale(r, report.stale_banner("Pondération B", own=True))
    text = r.read_text()
    assert text.count("portrait-stale") == 1 and "Cette étape a échoué" in text and "Pondération A" not in text
    assert text.index("<main>") < text.index("portrait-stale") < text.index("<p>Rapport")
    assert not report.mark_stale(tmp_path / "absent.html", "banner")
    (tmp_path / "other.html").write_text("not a report")
    with pytest.raises(ValueError, match="no <body>"):
        report.mark_stale(tmp_path / "other.html", "banner")


def test_a_folder_changes_for_the_stale_check_when_its_files_do(tmp_path):
    """As the Makefile's wildcards: a file added to then removed from data/raw/survey/ leaves stage 03 as it was."""
    import os

    from portrait.reporting import report

    folder = tmp_path / "survey"
    folder.mkdir()
    assert report._newest_mtime(folder) == 0.0
    (folder / "export.csv").write_text("x")
    os.utime(folder / "export.csv", (1_000_000, 1_000_000))
    assert report._newest_mtime(folder) == 1_000_000
    (folder / "export.csv").unlink()
    assert report._newest_mtime(folder) == 0.0 and report._newest_mtime(tmp_path / "absent.csv") == 0.0


def test_after_a_change_to_the_package_every_stage_not_yet_rerun_is_out_of_date(tmp_path, monkeypatch):
    """A stage fails after the package changed: the stages make had still to re-run (every one whose executed
    notebook is older than the package, as the Makefile's PKG prerequisite says) are out of date too, not only
    those after the failed stage."""
    import os
    import time

    from portrait.pipeline import parameters, paths
    from portrait.reporting import report

    stages = sorted(parameters.stage_files())
    later = time.time() + 1000                       # newer than any source of the checkout
    for stem in stages:
        f = tmp_path / f"{stem}.ipynb"
        f.write_text("{}")
        os.utime(f, (later, later))
    monkeypatch.setattr(paths, "EXECUTED", tmp_path)
    monkeypatch.setattr(report, "_package_mtime", lambda: later - 10)
    assert set(report.out_of_date("04_resident_weighting")) == {
        "04_resident_weighting", "06_comparison", "07_synthesis", "08_validation"}
    monkeypatch.setattr(report, "_package_mtime", lambda: later + 10)
    assert set(report.out_of_date("04_resident_weighting")) == set(stages)


def test_the_index_cuts_a_long_first_sentence_at_a_clause_not_mid_phrase():
    """A report's first sentence longer than the limit is cut at its last clause separator (keeping at least
    the shortest length), else at a word, and ends with « … »; a short one is kept whole."""
    from portrait.reporting.report import short_description

    assert short_description("Une phrase courte. Une autre.") == "Une phrase courte"
    long = "Les répondants reçoivent un poids : " + "poids de sondage, correction de la non-réponse, " * 8
    cut = short_description(long, limit=120, shortest=30)
    assert cut.endswith(" …") and len(cut) <= 122
    assert long.startswith(cut[:-2]) and long[len(cut) - 2:].startswith((", ", " : ", " ; ", " — "))
    assert short_description("x " * 200, limit=50) == ("x " * 25).strip() + " …"     # no clause: at a word


def test_the_index_writes_the_summaries_markdown_as_html_never_as_backticks():
    """Stage 03's summary read « dictionnaire des variables (`config/codebook.yaml`) » in the index: each stage's
    summary comes from its notebook's markdown, and its inline code is shown as <code>, its bold, italics and
    links as their text, for every notebook of the chain and the scenario page."""
    import re

    from portrait.reporting import report

    page = report.index_html(sorted(paths.NOTEBOOKS.glob("*.ipynb")))
    items = page[page.index("<ol>"):page.index("</ol>")]
    assert "dictionnaire des variables (<code>config/codebook.yaml</code>)" in items
    text = re.sub(r"<[^>]+>", "", items)
    assert "`" not in text and "**" not in text and "](" not in text
    assert report.summary_html("*Super-population* : `a<b>` et **gras**, [lien](x.html) `coupé") == \
        "Super-population : <code>a&lt;b&gt;</code> et gras, lien coupé"


def test_reviewer_facing_titles_call_the_second_population_clients_du_territoire():
    """The reports call them « clients du territoire »; the index said « Base de sondage des visiteurs » and the
    scenario page « 06 — comparaison habitants / visiteurs »: every notebook's title, every stage name of the
    scenario page and the index's introduction now use the reports' words."""
    import nbformat

    from portrait.reporting import report, scenarios
    from portrait.reporting.render import notebook_title

    titles = [notebook_title(nbformat.read(p, as_version=4)) for p in sorted(paths.NOTEBOOKS.glob("*.ipynb"))]
    assert "Base de sondage des clients du territoire et tirage de l'échantillon" in titles
    page = report.index_html([])
    for text in [*titles, *scenarios.STAGE_NAMES.values(), page[page.index("<p>Phase"):page.index("</p>")]]:
        assert "visiteur" not in text.lower(), text


def test_a_report_has_the_page_nbconverts_exporter_makes_without_its_second_pass(tmp_path):
    """Oracle: nbconvert's own HTMLExporter (its BeautifulSoup pass makes input and output areas focusable and
    gives images without alternative text one). The rendered page has the same document tree, the default
    alternative text being French."""
    import base64

    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from portrait.reporting import render

    png = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "00010005fe02fea70000000049454e44ae426082")).decode()
    cells = [nbformat.v4.new_markdown_cell("# Sonde\n\nUn texte, 3,5 %."),
             nbformat.v4.new_code_cell("x = 1\nx", execution_count=1, outputs=[
                 nbformat.v4.new_output("execute_result", {"text/plain": "1", "text/html": "<b>1</b>"},
                                        execution_count=1),
                 nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"}),
                 nbformat.v4.new_output("display_data", {"text/markdown": "**gras**", "text/plain": "gras"})])]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python",
                                                                           "pygments_lexer": "ipython3"}})
    nbformat.write(nb, tmp_path / "probe.ipynb")
    ours = render.render(tmp_path / "probe.ipynb", tmp_path / "probe.html").read_text(encoding="utf-8")
    stock = HTMLExporter(template_name="portrait", extra_template_basedirs=[str(render.TEMPLATES)], language_code="fr")
    resources = {"metadata": {"name": render.notebook_title(nb)},
                 "portrait": {"banner": render.banner(nb), "run": render.run_information(nb),
                              "back": render.back_link(nb)}}
    theirs, _ = stock.from_notebook_node(render.typeset(nb), resources=resources)
    theirs = theirs.replace(render.TOC_MARKER, render.toc_html(render._toc(theirs)), 1)
    theirs = theirs.replace("No description has been provided for this image", "Image sans description")
    tree = lambda page: str(BeautifulSoup(page, features="html.parser"))  # noqa: E731
    assert ours.count('tabindex="0"') == 5 and "Image sans description" in ours
    assert tree(ours) == tree(theirs)


@pytest.mark.parametrize("source", ["simulated", "real"])
def test_the_simulators_own_sections_leave_the_reports_of_real_answers(tmp_path, source):
    """A board that ran the chain on real exports found 03's empty « valeurs vraies » table and 06's « Retrouver les
    différences du modèle (données simulées) » in its reports: cells tagged ``simulated-only`` are left out of a
    report whose notebook ran on real answers, and kept otherwise."""
    import nbformat

    from portrait.reporting import render

    only = nbformat.v4.new_markdown_cell("## Retrouver les différences du modèle")
    only.metadata["tags"] = [render.SIMULATED_ONLY]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sonde\n\nTexte commun."), only],
                                  metadata={"papermill": {"parameters": {"source": source}}})
    nbformat.write(nb, tmp_path / "probe.ipynb")
    page = render.render(tmp_path / "probe.ipynb", tmp_path / "probe.html").read_text(encoding="utf-8")
    assert "Texte commun" in page and ("Retrouver les différences" in page) == (source == "simulated")


def test_the_files_a_stage_wrote_are_listed_for_analysts_only(tmp_path):
    """A reviewer read « data/processed/resident_frame.parquet … » at the end of every report: the list of files a stage
    wrote (:func:`tables.files_written`) is in the analysts' report and not in the reviewers' version, while the rest
    of the same cell's output stays in both."""
    import nbformat

    from portrait.reporting import render, tables

    code = nbformat.v4.new_code_cell("tables.files_written(['`data/processed/probe.csv`'])", outputs=[
        nbformat.v4.new_output("display_data", {"text/markdown": "- `data/processed/probe.csv`"},
                               metadata=tables.ANALYST_ONLY),
        nbformat.v4.new_output("display_data", {"text/markdown": "1 342 répondants."})])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sonde\n\n## Fichiers produits"), code])
    nbformat.write(nb, tmp_path / "probe.ipynb")
    for reviewers in (False, True):
        page = render.render(tmp_path / "probe.ipynb", tmp_path / "probe.html", exclude_input=reviewers).read_text(
            encoding="utf-8")
        assert "1\u202f342 répondants" in page or "1 342 répondants" in page
        assert ("data/processed/probe.csv" in page) == (not reviewers)


def test_the_chain_lists_its_files_through_files_written():
    """Every notebook that shows the files it wrote does so through :func:`tables.files_written` (else the paths
    would reach the reviewers' versions)."""
    import nbformat

    from portrait.pipeline import paths

    for path in sorted(paths.NOTEBOOKS.glob("[0-9]*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "Markdown(" in cell.source:
                assert not re.search(r"f\"- `\{p\}`\"", cell.source), f"{path.name}: a file list shown to reviewers"


def test_the_chain_tags_the_simulators_sections_and_guards_their_tables():
    """The notebooks' cells about the simulator carry the tag, and a tagged code cell shows its table only on
    simulated answers (otherwise the report's tables would be numbered with a gap)."""
    import nbformat

    from portrait.pipeline import paths
    from portrait.reporting import render

    for stem, heading in (("03_fieldwork", "## Le modèle de simulation"), ("06_comparison", "## Retrouver les différences")):
        nb = nbformat.read(paths.NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if render.SIMULATED_ONLY in c.metadata.get("tags", [])]
        assert any(c.source.startswith(heading) for c in tagged)
        assert all(c.source.startswith(('if source == "simulated":', "if source == 'simulated':"))
                   for c in tagged if c.cell_type == "code" and ("cap." in c.source or "display(" in c.source))


@pytest.mark.parametrize("source", ["real", "simulated"])
def test_after_a_failed_check_of_real_exports_the_index_points_to_the_check(tmp_path, monkeypatch, source):
    """A board whose real exports failed the check before stage 03 read in the index only « Le dernier make a échoué à
    l'étape « Terrain… » »: the index now links the check's report (on real answers, when it exists)."""
    import nbformat

    from portrait.reporting import check_survey, report

    check = tmp_path / "check_survey.html"
    check.write_text("<html></html>", encoding="utf-8")
    monkeypatch.setattr(check_survey, "OUT", str(check))
    monkeypatch.setattr(report.config, "study", lambda: {"source": source, "seed": 1})
    failed = tmp_path / "03_fieldwork.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Terrain des enquêtes")]), failed)
    report.mark_failure(failed, [failed], tmp_path / "index.html")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "a échoué à l\u2019étape" in page
    assert ("dit ce qui bloque" in page) == (source == "real")       # the failure is blamed on the check on real answers
    # the last check is linked whatever the source (a newcomer's rehearsal checks exports with simulated answers)
    assert '<a href="check_survey.html">check_survey.html</a>' in page


def test_headings_keep_their_anchors_despite_the_no_break_spaces(tmp_path):
    """The render's typesetting puts a no-break space before « : » in headings; their anchors stay those a plain space
    gives (« Terrain-:-bilan », not « Terrain%C2%A0:-bilan »), and the table of contents links them."""
    import nbformat

    from portrait.reporting import render

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sonde\n\n## Terrain : bilan\n\nTexte.")])
    nbformat.write(nb, tmp_path / "probe.ipynb")
    page = render.render(tmp_path / "probe.ipynb", tmp_path / "probe.html").read_text(encoding="utf-8")
    assert 'id="Terrain-:-bilan"' in page and 'href="#Terrain-:-bilan"' in page and "%C2%A0" not in page
    assert "Terrain\u00a0: bilan" in page or "Terrain&nbsp;: bilan" in page


def _papermilled(defaults: str, injected: str):
    own = new_code_cell(defaults, metadata={"tags": ["parameters"]})
    inj = new_code_cell(injected, metadata={"tags": ["injected-parameters"]})
    return new_notebook(cells=[new_markdown_cell("# T"), own, inj, new_code_cell("x = 1")])


def test_an_analysts_report_shows_one_parameters_cell_when_make_changed_nothing():
    """Analyst reports showed the notebook's defaults and then papermill's « # Parameters » cell with the same
    values. The second is dropped when it changes nothing, and the first says that the run used it; when it does
    change values (a scenario, ``-p``), it stays and names them."""
    from portrait.reporting import render

    same = render.one_parameters_cell(_papermilled('# defaults\nseed = 1\nsource = "simulated"\nfile = "a.csv"',
                                                   '# Parameters\nseed = 1\nsource = "simulated"\n'))
    assert [c.metadata.get("tags", []) for c in same.cells] == [[], ["parameters"], []]
    assert same.cells[1].source.startswith("# this run's parameters: these defaults, as `make` injected them\n")
    other = render.one_parameters_cell(_papermilled('seed = 1\nsource = "simulated"', 'seed = 2\nsource = "simulated"\nn = [1, 2]'))
    assert len(other.cells) == 4
    assert other.cells[2].source.startswith("# this run's parameters (injected; they change n, seed of the defaults above: "
                                            "a scenario, `-p`, or config/ edited since `make params`)")
    assert other.cells[1].source.startswith("# defaults of the notebook; this run changed some of them (next cell)")


def test_the_visitor_frame_report_on_simulated_partner_files_says_so():
    """Stage 02 reads no answer, so the « données simulées » banner never reached it: a reviewer found its partner
    counts unmarked. Simulated partner files now put their own banner on it; real ones, none."""
    from portrait.reporting import render

    def nb(**params):
        n = new_notebook(cells=[new_markdown_cell("# T")])
        n.metadata["papermill"] = {"parameters": params}
        return n

    said = render.banner(nb(partners_source="synthetic"))
    assert said.startswith("Fichiers de partenaires simulés\u00a0: les fichiers clients lus par ce rapport")
    assert render.banner(nb(partners_source="real")) == "" and render.banner(nb()) == ""


def test_a_round_still_in_the_field_is_said_on_every_report_from_its_answers():
    """A board's mid-fieldwork trial: nothing said the results were provisional (report 03 even titled its tables
    « Statut final », « Dispositions finales »). With ``fieldwork_status: in_progress`` and real answers, each report
    from 03 on carries a banner and the index a badge; simulated answers, or a closed round, carry neither; a value
    other than closed or in_progress stops stage 03 with the parameter named."""
    from portrait.reporting import render, report
    from portrait.study import codebook, fieldwork

    def nb(**params):
        n = new_notebook(cells=[new_markdown_cell("# T")])
        n.metadata["papermill"] = {"parameters": params}
        return n

    assert "Terrain en cours" in render.banner(nb(source="real", fieldwork_status="in_progress"))
    assert "Terrain en cours" not in render.banner(nb(source="real", fieldwork_status="closed"))
    assert "Terrain en cours" not in render.banner(nb(source="simulated", fieldwork_status="in_progress"))
    assert render.banner(nb(source="real")) == ""
    with pytest.raises(ParameterError, match="parameter 'fieldwork_status' must be closed or in_progress, got 'ongoing'"):
        fieldwork.FieldworkSettings.from_params(dict(
            source="real", fieldwork_status="ongoing", export_formats=["csv"], export_encoding="cp1252",
            ingest_format="csv", csv_encoding="cp1252", min_core_answered=8), codebook.load())
    assert report.parameter_labels.value_text("fieldwork_status", "in_progress") == "en cours (résultats provisoires)"
    # a closed round is the usual case: no line for it in the index or the run information
    assert not report.parameter_labels.shown("fieldwork_status", "closed")
    # the simulator's export settings, only where it wrote its native exports (a board read « encodage des CSV
    # simulés » on its real answers' report 03, and a LimeSurvey rehearsal writes neither format nor encoding)
    shown = report.parameter_labels.shown
    assert shown("export_encoding", "cp1252", {"source": "simulated"})
    assert not shown("export_encoding", "cp1252", {"source": "real"})
    assert not shown("export_formats", ["csv"], {"source": "simulated", "survey_tool": "limesurvey"})
    assert shown("csv_encoding", "cp1252", {"source": "real"})
    assert report.parameter_labels.shown("fieldwork_status", "in_progress")
    # trial F: a survey declared to save no partial answers is said; the usual case is not
    assert shown("unfinished_in_exports", False, {"source": "real"}) and not shown("unfinished_in_exports", True)
    with pytest.raises(ParameterError, match="parameter 'unfinished_in_exports' must be true or false, got 'no'"):
        fieldwork.FieldworkSettings.from_params(dict(
            source="real", export_formats=["csv"], export_encoding="cp1252", ingest_format="csv",
            csv_encoding="cp1252", min_core_answered=8, unfinished_in_exports="no"), codebook.load())
    real = dict(export_formats=["csv"], export_encoding="cp1252", ingest_format="csv", csv_encoding="cp1252",
                min_core_answered=8)
    assert fieldwork.FieldworkSettings.from_params(dict(real, source="real"), codebook.load()).unfinished_expected
    assert not fieldwork.FieldworkSettings.from_params(dict(real, source="simulated"), codebook.load()).unfinished_expected
    assert not fieldwork.FieldworkSettings.from_params(dict(real, source="real", unfinished_in_exports=False),
                                                       codebook.load()).unfinished_expected


def test_a_rehearsal_with_simulated_partner_files_says_so_on_each_report_about_the_clients(tmp_path):
    """A board's trial on real answers with the simulator's partner files: only the index said « fichiers de
    partenaires simulés »; report 07, read on its own, described the clients as if drawn from real files. Each
    report about the visitors now carries the banner, read from stage 02's executed notebook as the index reads it;
    the residents' reports, and a run on real partner files or simulated answers, do not."""
    import nbformat

    from portrait.reporting import render

    def executed(stem, **params):
        n = new_notebook(cells=[new_markdown_cell("# T")])
        n.metadata["papermill"] = {"parameters": params}
        nbformat.write(n, tmp_path / f"{stem}.ipynb")
        return n

    executed("02_visitor_frame", source="real", partners_source="synthetic")
    synthesis = executed("07_synthesis", source="real")
    residents = executed("04_resident_weighting", source="real")
    assert render.partners_source(tmp_path / "07_synthesis.ipynb") == "synthetic"
    assert render.partners_source(tmp_path / "04_resident_weighting.ipynb") is None
    said = render.banner(synthesis, render.partners_source(tmp_path / "07_synthesis.ipynb"))
    assert said.startswith("Fichiers de partenaires simulés") and "réponses sont réelles" in said
    assert render.banner(residents, render.partners_source(tmp_path / "04_resident_weighting.ipynb")) == ""
    assert render.banner(synthesis, "real") == ""
    page = render.render(tmp_path / "07_synthesis.ipynb", tmp_path / "07.html").read_text(encoding="utf-8")
    assert "Fichiers de partenaires simulés" in page
    assert "partenaires" not in render.banner(executed("07_synthesis", source="simulated"), "synthetic")


def test_a_report_rendered_after_the_failure_loses_its_stale_mark(tmp_path):
    """A trial: 06 failed, 08 (which does not read 06) ran on under --keep-going and rendered, yet the index still
    called 08 « périmé : antérieur à l'échec ». Rendering a report now removes its own mark, and only its own."""
    from portrait.reporting import report

    nbs = sorted(paths.NOTEBOOKS.glob("*.ipynb"))
    index = tmp_path / "index.html"
    index.write_text(report.index_html(nbs, ("Comparaison", {"06_comparison", "07_synthesis", "08_validation"})),
                     encoding="utf-8")
    assert index.read_text(encoding="utf-8").count("antérieur à l’échec") == 3
    assert report.refreshed(index, "08_validation") and not report.refreshed(index, "08_validation")
    page = index.read_text(encoding="utf-8")
    assert page.count("antérieur à l’échec") == 2
    entry = page[page.index('<li><a href="08_validation.html">'):]
    assert "antérieur à l’échec" not in entry[:entry.index("</li>")]
    assert not report.refreshed(tmp_path / "absent.html", "08_validation")
