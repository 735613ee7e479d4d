"""Execute a notebook of the chain with papermill: ``python -m portrait.pipeline.run NOTEBOOK``.

- parameters: ``config/study.yaml`` then ``config/<stem>.yaml``, restricted to the names the
  notebook's ``parameters`` cell declares (a key of the notebook's own file that the notebook does
  not declare is an error: it is almost always a typo), then ``-p name value`` overrides;
- kernel ``python3`` started from this interpreter (whatever kernel the notebook names for JupyterLab), working directory = repository root,
  ``PYTHONHASHSEED=0``;
- output to ``build/executed/<name>.ipynb``, written first as ``<name>.partial.ipynb`` and renamed
  only on success, after removing what changes between runs (timings, random cell ids);
- on failure, a short message (notebook, code cell, exception, the package frame that raised, path
  of the failed executed notebook) and exit status 1.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import config, manifest, paths, progress, skip_iri_grammar
from .errors import ParameterError, PortraitError, SurveyError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
KERNEL_START_FAILURES = ("Kernel didn't respond", "Kernel died before replying to kernel_info")
KERNEL_START_TIMEOUT = 45          # seconds; a kernel starts in a few seconds even on a busy machine
KERNEL_START_ATTEMPTS = 3
IPC_DIR_MAX = 80                   # bytes


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """Names (and inferred defaults) declared in the notebook's ``parameters`` cell."""
    return _inspect(str(notebook), Path(notebook).stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _inspect(notebook: str, mtime_ns: int) -> dict[str, Any]:
    import papermill

    return papermill.inspect_notebook(notebook)    # read once per run: resolving and the checksums both need it


#: parameters naming a file the stage reads, which must exist (the study's key file is created on first use)
INPUT_FILES = frozenset({"codebook_file", "model_file", "tools_file"})


def resolve_parameters(notebook: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameters the runner injects into ``notebook``."""
    declared = declared_parameters(notebook)
    if not declared:
        raise ParameterError(f"{paths.relative(notebook)} has no cell tagged 'parameters'")
    own_file = paths.CONFIG / f"{notebook.stem}.yaml"
    own = config.read_yaml(own_file) if own_file.exists() else {}
    typos = sorted(set(own) - set(declared))
    if typos:
        raise ParameterError(f"{paths.relative(own_file)} sets {typos}, which "
                             f"{paths.relative(notebook)} does not declare in its parameters cell"
                             f"{config.did_you_mean(typos, declared)} (declared: {sorted(declared)})")
    study = config.study()
    known = study_names()
    unknown = sorted(set(study) - known)
    if unknown:
        hint = config.did_you_mean(unknown, known)
        raise ParameterError(f"config/{config.STUDY_FILE} sets {unknown}, which no notebook of the chain declares"
                             + (hint if hint else f" (declared: {sorted(known)})")
                             + "; a typo there would silently keep the default")
    merged = {k: v for k, v in study.items() if k in declared}
    merged.update(own)
    for k, v in (overrides or {}).items():
        if k not in declared:
            raise ParameterError(f"-p {k}: {paths.relative(notebook)} declares no parameter {k!r}"
                                 f"{config.did_you_mean([k], declared)}")
        merged[k] = v
    for k, v in merged.items():          # an input file named wrong: said before the stage starts, with its key
        if k in INPUT_FILES and isinstance(v, str) and v and not paths.resolve(v).exists():
            where = (f"-p {k}" if k in (overrides or {}) else paths.relative(own_file) if k in own
                     else f"config/{config.STUDY_FILE}")
            raise ParameterError(f"{where} sets {k}: {v}, which does not exist")
    return merged


def effective_parameters(notebook: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter the notebook will see: its own defaults (paths of what it reads and writes) and ``params``."""
    import ast

    values = {}
    for name, spec in declared_parameters(notebook).items():
        try:
            values[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError, KeyError, TypeError):
            continue
    values.update(params)
    return values


def study_names() -> set[str]:
    """Every parameter name some notebook of the chain declares: what ``config/study.yaml`` may set."""
    from .parameters import cell_defaults, chain

    return {name for nb in chain() for name in cell_defaults(nb)}


def normalise(nb, output_path: str) -> None:
    """Remove what differs between two runs with the same inputs (timings, random ids)."""
    meta = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration", "exception"):
        meta.pop(key, None)
    meta["output_path"] = output_path
    meta.pop("environment_variables", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        elif not cell.get("id"):
            cell["id"] = f"cell-{i}"


def _set_in(name: str, stem: str, overrides: dict[str, Any] | None,
            origins: Mapping[str, str] | None = None) -> str | None:
    """Where the value of parameter ``name`` came from: what ``origins`` says (a caller that sets parameters for the
    user, as a scenario does), the command line, the stage's or the study's YAML file."""
    if origins and name in origins:
        return origins[name]
    if overrides and name in overrides:
        return f"the command line (`-p {name} …`)"
    for file in (paths.CONFIG / f"{stem}.yaml", paths.CONFIG / config.STUDY_FILE):
        try:
            if file.exists() and name in (config.read_yaml(file) or {}):
                return paths.relative(file)
        except (PortraitError, SurveyError):
            return None
    return None


def _short_failure(notebook: Path, exc, partial: Path, overrides: dict[str, Any] | None = None,
                   origins: Mapping[str, str] | None = None) -> str:
    """A few lines an analyst can act on, instead of papermill's long trace."""
    import nbformat

    src = nbformat.read(notebook, as_version=4)
    code_cells = [c.source for c in src.cells if c.cell_type == "code"]
    where = "the injected parameters"
    tb = [ANSI.sub("", line) for line in (exc.traceback or [])]
    if exc.source in code_cells:
        n = code_cells.index(exc.source) + 1
        lines = exc.source.splitlines()
        at = [int(m) for line in tb for m in re.findall(r"Cell In\[\d+\], line (\d+)", line)]
        k = at[0] if at and 1 <= at[0] <= len(lines) else next((i + 1 for i, t in enumerate(lines) if t.strip()), 1)
        text = lines[k - 1].strip() if lines else ""
        shown = (f" (In [{exc.exec_count}] in the executed notebook, which adds the injected parameters cell)"
                 if exc.exec_count else "")
        where = f"code cell {n}{shown}, line {k} ({text[:70]!r})"
    frame = ""
    pkg_frames = [m for line in tb for m in re.findall(r"(src/portrait/[\w/]+\.py):(\d+)", line)]
    if not pkg_frames:
        pkg_frames = [m for line in tb for m in re.findall(r"File [^\n]*?(portrait/[\w/]+\.py):(\d+)", line)]
    checker = [f for f in pkg_frames if not f[0].endswith("pipeline/config.py")]
    if checker and exc.ename == "ParameterError":      # raised by config.every_problem: name the stage's code
        pkg_frames = checker
    if pkg_frames:
        frame = f"\n  raised in {pkg_frames[-1][0]}:{pkg_frames[-1][1]}"
    evalue = ANSI.sub("", str(exc.evalue))
    hint = ""
    if exc.ename == "ParameterError":
        named = dict.fromkeys(re.findall(r"parameter '(\w+)'", evalue))      # every one, in order, once
        sources = [(n, s) for n in named if (s := _set_in(n, Path(notebook).stem, overrides, origins))]
        hint = ("".join(f"\n  parameter '{n}' is set in {s}" for n, s in sources) if sources else
                # a message that names its file (config/fieldwork_model.yaml) or its remedy (`make validate`) needs
                # no guess at where to look
                "" if re.search(r"config/[\w./-]+\.yaml|`make\b", evalue) else
                f"\n  parameters: config/{config.STUDY_FILE} and config/{Path(notebook).stem}.yaml (or `-p name value`; "
                "the notebook's parameters cell when run in JupyterLab)")
    return (f"✗ {paths.relative(notebook)} failed in {where}\n"
            f"  {exc.ename}: {evalue}{frame}{hint}\n"
            f"  executed notebook with the error: {paths.relative(partial)}")


def quiet_kernel_manager(socket_dir: str | None = None) -> type:
    """jupyter_client's kernel manager, without the interrupt (SIGINT) it sends before shutting a kernel down.

    The notebook has run when papermill shuts its kernel down; the interrupt it gets first then
    lands, now and then, while the kernel handles a last message, and the kernel writes
    « [IPKernelApp] ERROR | KeyboardInterrupt caught in kernel. » to the terminal of `make`: an error
    that is none. Without it, the kernel still gets the shutdown request, then SIGTERM and SIGKILL if
    it does not stop in time; a cell that runs out of time is still interrupted by nbclient.

    It also waits less for the kernel to exit: 0.5 s, then SIGTERM (jupyter_client's default, 2.5 s).
    About one shutdown in six, ipykernel's control thread blocks flushing its output while the main
    thread waits for it, so the kernel never exits by itself; every cell has run and every file has
    been written by then, and those 2.5 s were spent waiting on nothing, in every stage.

    With ``socket_dir`` (POSIX, a path short enough for a Unix socket's), the kernel talks over Unix sockets
    in that directory, not TCP ports: jupyter_client picks free TCP ports before the kernel binds them, so
    two stages started together (`make -j2`) could be handed the same port, and the losing kernel printed a
    ZMQ « Address already in use » traceback to the terminal of a run that then succeeded. A socket path is
    the kernel's own.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Float, default

    # a socket's path (directory, "/k-ipc-", port number) must fit sun_path: 104 bytes on macOS
    ipc = socket_dir is not None and os.name == "posix" and len(os.fsencode(socket_dir)) <= IPC_DIR_MAX

    class QuietShutdownKernelManager(AsyncKernelManager):
        shutdown_wait_time = Float(1.0, config=True, help="seconds before SIGKILL; SIGTERM at half")

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc" if ipc else "tcp"

        @default("connection_file")
        def _connection_file_default(self) -> str:
            return os.path.join(socket_dir, "k.json") if ipc else ""

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager


def run(notebook: str | Path, output: str | Path | None = None, overrides: dict[str, Any] | None = None,
        timeout: int = 1200, origins: Mapping[str, str] | None = None) -> Path:
    """Execute ``notebook`` with its parameters; return the path of the executed notebook.

    ``origins`` (parameter name → where the user set it) names, in a failure's message, where a parameter of
    ``overrides`` came from when the user did not type it as ``-p`` (a scenario's file or ``SET``)."""
    import nbformat

    from .io import write_text

    nb_path = paths.resolve(notebook)
    if not nb_path.exists():
        raise ParameterError(f"notebook {notebook} does not exist")
    out = paths.resolve(output) if output else paths.EXECUTED / nb_path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.stem + ".partial.ipynb")
    params = resolve_parameters(nb_path, overrides)
    seen = effective_parameters(nb_path, params)
    manifest.verify(nb_path.stem, seen)        # the files it reads are those their stages wrote
    os.environ.setdefault("PYTHONHASHSEED", "0")
    watch = progress.terminal()
    os.environ[progress.ENV] = watch
    os.environ["PORTRAIT_ROOT"] = str(paths.ROOT)
    src_dir = str(paths.ROOT / "src")
    if src_dir not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src_dir, os.environ.get("PYTHONPATH")) if p)
    nb = _execute(nb_path, partial, params, overrides, watch, timeout, origins)
    manifest.record(nb_path.stem, seen)
    normalise(nb, paths.relative(out))
    write_text(out, nbformat.writes(nb) + "\n")
    partial.unlink(missing_ok=True)
    return out


def _execute(nb_path: Path, partial: Path, params: dict[str, Any], overrides: dict[str, Any] | None, watch: str,
             timeout: int, origins: Mapping[str, str] | None = None) -> Any:
    """papermill's run of the notebook into ``partial``, with a new kernel if one does not start."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            with tempfile.TemporaryDirectory(prefix="portrait-") as socket_dir:
                nb = papermill.execute_notebook(
                    str(nb_path.relative_to(paths.ROOT)) if nb_path.is_relative_to(paths.ROOT) else str(nb_path),
                    str(partial), parameters=params, kernel_name="python3", cwd=str(paths.ROOT),
                    progress_bar={"desc": nb_path.stem, "leave": False} if watch != "off" else False,
                    log_output=False, execution_timeout=timeout, start_timeout=KERNEL_START_TIMEOUT,
                    # written once at the end (or at the failing cell), not after every cell: 40 writes and
                    # schema validations of a growing notebook cost a stage a quarter of a second
                    request_save_on_cell_execute=False,
                    extra_arguments=["--IPKernelApp.log_level=ERROR"],
                    kernel_manager_class=quiet_kernel_manager(socket_dir))
            return nb
        except PapermillExecutionError as exc:
            raise NotebookFailed(_short_failure(nb_path, exc, partial, overrides, origins)) from None
        except RuntimeError as exc:
            # A kernel that dies at start or never answers (a machine short of memory, a TCP port taken
            # where Unix sockets are not available): nothing of the notebook has run yet, so starting
            # a new kernel is safe.
            if not any(m in str(exc) for m in KERNEL_START_FAILURES) or attempt == KERNEL_START_ATTEMPTS:
                raise
            print(f"  {paths.relative(nb_path)}: the kernel did not start (attempt {attempt}); starting another",
                  file=sys.stderr)
    raise AssertionError("unreachable")


class NotebookFailed(PortraitError):
    """A cell of the notebook raised; the message is the short failure report."""


def _parse_value(text: str) -> Any:
    return yaml.safe_load(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.pipeline.run", description=__doc__.split("\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("-o", "--output", help="executed notebook (default build/executed/<name>.ipynb)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override one parameter (VALUE is read as YAML)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    skip_iri_grammar()
    overrides = {k: _parse_value(v) for k, v in args.param}
    try:
        out = run(args.notebook, args.output, overrides, args.timeout)
    except NotebookFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    except (PortraitError, SurveyError) as exc:
        print(f"✗ {args.notebook}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # kernel death, timeouts, missing kernel: one line and the remedy
        name = type(exc).__name__
        hint = {"DeadKernelError": "the kernel died (out of memory?)",
                "CellTimeoutError": "a cell ran past --timeout; raise it if the work is legitimately long",
                "NoSuchKernel": "no 'python3' kernel for this interpreter; run `make` to (re)install the environment"}
        print(f"✗ {args.notebook}: {name}: {exc}\n  {hint.get(name, '')}".rstrip(), file=sys.stderr)
        return 1
    print(f"✓ {paths.relative(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
