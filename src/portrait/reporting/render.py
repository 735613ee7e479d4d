"""Render an executed notebook to HTML: ``python -m portrait.reporting.render EXECUTED.ipynb OUT.html``.

Analyst reports keep the code; ``--no-input`` hides it (reviewer reports). Every report is
self-contained (figures embedded, no script from a CDN), in French, with a table of contents, the
« données simulées » banner when the notebook ran on simulated answers, and a run-information
block (git commit, parameters, checksum of the raw-data manifest) — no wall-clock time, so two
runs of the chain give byte-identical reports.
"""

from __future__ import annotations

import argparse
import html
import platform
import re
import subprocess
import sys
from pathlib import Path


from .. import __version__
from ..pipeline import paths, skip_iri_grammar
from ..pipeline.io import sha256, write_text
from . import formatting as fmt
from . import parameter_labels

TEMPLATES = Path(__file__).parent / "templates"
#: reports/relecture/: every analyst report again without its code, for reviewers (the synthesis has none already)
REVIEW_DIR = "relecture"
SIMULATED_BANNER = ("Données simulées : les réponses de ce rapport viennent du simulateur documenté "
                    "du projet, pas d'une enquête réelle.")
PARTNERS_BANNER = ("Fichiers de partenaires simulés : les réponses sont réelles, mais les clients du territoire "
                   "ont été tirés de fichiers de partenaires fictifs, faute des vrais fichiers ; les résultats sur les "
                   "clients ne décrivent donc pas la clientèle réelle.")
FRAME_BANNER = ("Fichiers de partenaires simulés : les fichiers clients lus par ce rapport ont été générés par le "
                "projet, faute des vrais fichiers des partenaires ; leurs effectifs ne décrivent pas la clientèle "
                "réelle.")
IN_PROGRESS_BANNER = ("Terrain en cours : ce rapport porte sur les réponses reçues à ce jour ; ses résultats, taux de "
                      "réponse compris, sont provisoires.")
HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="anchor-link"', re.S)
FOCUSABLE = re.compile(r'<div class="([^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*)"([^>]*)>')
NO_ALT = re.compile(r'<img(?![^>]*\balt=)')
TAG = re.compile(r"<[^>]+>")


def notebook_title(nb) -> str:
    """The first markdown heading of the notebook, without its ``#`` marks."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "Rapport"


def notebook_summary(nb) -> str:
    """The first paragraph after the title, as plain one-line text."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            paras = [p.strip() for p in cell.source.split("\n\n") if p.strip() and not p.startswith("#")]
            if paras:
                return " ".join(paras[0].split())
    return ""


def is_simulated(nb) -> bool:
    """Whether the notebook ran on simulated survey answers: its ``source`` parameter, unless the notebook says
    which answers it read (``metadata.portrait.answers``: the export check reads the real exports while the chain
    may still read the simulator's)."""
    answers = nb.metadata.get("portrait", {}).get("answers")
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    return (answers if answers is not None else params.get("source")) == "simulated"


def scenario_name(nb) -> str:
    """The scenario an executed notebook belongs to (``scenarios/NAME/…``), or "" for the study's."""
    out = str(nb.metadata.get("papermill", {}).get("output_path", ""))
    parts = out.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "scenarios" else ""


def banner(nb, partners: str | None = None) -> str:
    """The warnings above a report: simulated answers; real answers with simulated partner files (``partners``:
    stage 02's ``partners_source``, for a report about the visitors); stage 02 itself, which reads no answer, on
    simulated partner files (a reviewer found its counts unmarked); a scenario's report, not the study's; real
    answers of a round still in the field (``fieldwork_status: in_progress``)."""
    name = scenario_name(nb)
    scenario = (f"Scénario « {name} » : ce rapport vient d'une variante de la chaîne (scenarios/{name}/), "
                "pas des résultats de référence de l'étude." if name else "")
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    partial = IN_PROGRESS_BANNER if params.get("fieldwork_status") == "in_progress" and not is_simulated(nb) else ""
    rehearsal = (PARTNERS_BANNER if not is_simulated(nb) and params.get("source") == "real"
                 and params.get("partners_source", partners) == "synthetic" else "")
    if "source" not in params and params.get("partners_source") == "synthetic":
        rehearsal = FRAME_BANNER
    return fmt.typeset(" ".join(b for b in (scenario, SIMULATED_BANNER if is_simulated(nb) else "", rehearsal, partial)
                                if b))


#: Reports that involve no visitor, so not the partner files either; the validation study simulates its own.
RESIDENTS_ONLY = ("01_resident_frame", "04_resident_weighting")
VISITOR_FRAME = "02_visitor_frame"
OWN_PARTNERS = ("08_validation",)


def partners_source(executed: Path) -> str | None:
    """Stage 02's ``partners_source``, read from its executed notebook beside ``executed`` (as the index reads it),
    or None for a report about the residents only, or when stage 02 has not run there."""
    if executed.stem in RESIDENTS_ONLY + OWN_PARTNERS or not (executed.parent / f"{VISITOR_FRAME}.ipynb").exists():
        return None
    import nbformat

    nb = nbformat.read(executed.parent / f"{VISITOR_FRAME}.ipynb", as_version=4)
    return nb.metadata.get("papermill", {}).get("parameters", {}).get("partners_source")


def is_scenario_page(nb) -> bool:
    """Whether the executed notebook is a scenario's own report (``scenarios/NAME/…/scenario.ipynb``)."""
    out = str(nb.metadata.get("papermill", {}).get("output_path", ""))
    return bool(scenario_name(nb)) and out.endswith("/scenario.ipynb")


def back_link(nb, out: Path | None = None) -> tuple[str, str]:
    """Where « ← Index » leads: the study's index from the report at ``out`` (beside it, or one folder up for a
    reviewer version in ``reports/relecture/``), or from a scenario's own page, the study's index."""
    if is_scenario_page(nb):
        return "../../../reports/index.html", "← Index des rapports de l\u2019étude et des scénarios"
    up = out is not None and out.parent.name == REVIEW_DIR
    return ("../index.html" if up else "index.html"), "← Index des rapports"


def git_commit() -> str:
    """The commit of the checkout, with ``+modifications`` when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=paths.ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" +modifications" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "inconnu (pas un dépôt git)"


def environment(nb) -> str:
    """The Python that ran the notebook (its kernel's, as the notebook records it) and the versions of the numerical
    libraries (this environment's, which ran it): two machines' reports can then be told apart (a trial)."""
    from importlib import metadata

    python = nb.metadata.get("language_info", {}).get("version") or platform.python_version()
    return " · ".join([f"Python {python}"] + [f"{name} {metadata.version(name)}"
                                               for name in ("numpy", "pandas", "scipy", "statsmodels")])


def run_information(nb) -> list[tuple[str, str, str, str]]:
    """Key facts of the run: commit, package version, raw-data manifest checksum, then every parameter by its
    French name and French value (:mod:`portrait.reporting.parameter_labels`) — as in the index, not the file
    paths nor the hidden parameters (:func:`~portrait.reporting.parameter_labels.shown`): a scenario's page listed
    « manifest : scenarios/pop2019/scenario.json » and its re-run stages « out_weights : scenarios/… », which say
    nothing to a reviewer (an analyst finds them in the report's parameters cell). Rows (what readers see, the
    parameter's raw name, its value as readers see it, the value as config/*.yaml writes it); the facts that are
    not parameters have "" for the raw name and the raw value."""
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    manifest = paths.RAW / "SHA256SUMS"
    rows = [("commit", "", git_commit(), ""), ("version de portrait", "", __version__, ""),
            ("environnement", "", environment(nb), ""),
            ("empreinte de data/raw/SHA256SUMS", "", sha256(manifest)[:16] if manifest.exists() else "absent", "")]
    rows += [(parameter_labels.label(k), k, parameter_labels.value_text(k, v), parameter_labels.as_yaml(v))
             for k, v in parameter_labels.by_label(params) if parameter_labels.shown(k, v, params)]
    return [(fmt.typeset(text), name, fmt.typeset(value), raw) for text, name, value, raw in rows]


def _toc(body: str) -> list[tuple[int, str, str]]:
    return [(int(level), anchor, html.unescape(TAG.sub("", text)).strip())
            for level, anchor, text in HEADING.findall(body)]


def render(executed: str | Path, out: str | Path, *, exclude_input: bool = False) -> Path:
    """Write the HTML report of an executed notebook (atomically)."""
    import nbformat

    nb = typeset(without_simulation(one_parameters_cell(nbformat.read(paths.resolve(executed), as_version=4))))
    if exclude_input:
        nb = for_reviewers(nb)
    exporter = _exporter_class()(template_name="portrait", extra_template_basedirs=[str(TEMPLATES)],
                                 exclude_input=exclude_input, exclude_input_prompt=exclude_input,
                                 exclude_output_prompt=exclude_input, language_code="fr")
    exporter.log.setLevel("ERROR")
    title = notebook_title(nb)
    if is_scenario_page(nb):
        rest = re.sub(r"^Scénario\s*:\s*", "", title)      # the title is typeset: « Scénario\u00a0: … »
        title = f"Scénario « {scenario_name(nb)} » — {rest}"
    resources = {"metadata": {"name": title},
                 "portrait": {"banner": banner(nb, partners_source(paths.resolve(executed))), "run": run_information(nb),
                              "back": back_link(nb, paths.resolve(out))}}
    body, _ = exporter.from_notebook_node(nb, resources=dict(resources))
    body = body.replace(ANCHOR_NBSP, "-")     # headings' anchors as without the typesetting (« Terrain-:-… »)
    return write_text(paths.resolve(out), body.replace(TOC_MARKER, toc_html(_toc(body)), 1))


def _assignments(source: str) -> dict[str, object]:
    """``name = literal`` lines of a parameters cell (others, and values that are not literals, are skipped)."""
    import ast

    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return out


def one_parameters_cell(nb):
    """The notebook as an analyst reads its report: papermill adds its « # Parameters » cell after the notebook's
    own defaults. When it changes none of them (`make` injects what `make params` wrote), it is dropped and the
    defaults cell says that the run used its values; otherwise it stays, saying which values it changed."""
    cells = nb.cells
    own = next((i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), None)
    injected = next((i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])), None)
    if own is None or injected is None:
        return nb
    defaults, used = _assignments(cells[own].source), _assignments(cells[injected].source)
    changed = sorted(k for k, v in used.items() if k not in defaults or defaults[k] != v)
    if not changed:
        cells[own].source = "# this run's parameters: these defaults, as `make` injected them\n" + cells[own].source
        nb.cells = cells[:injected] + cells[injected + 1:]
    else:
        cells[own].source = ("# defaults of the notebook; this run changed some of them (next cell)\n"
                             + cells[own].source)
        cells[injected].source = (f"# this run's parameters (injected; they change {', '.join(changed)} of the "
                                  "defaults above: a scenario, `-p`, or config/ edited since `make params`)\n"
                                  + cells[injected].source)
    return nb


SIMULATED_ONLY = "simulated-only"


def for_reviewers(nb):
    """The notebook without the outputs meant for analysts only (the files a stage wrote: paths say nothing to a
    reviewer), which :func:`portrait.reporting.tables.files_written` marks in their metadata."""
    from .tables import ANALYST_ONLY

    (key, value), = ANALYST_ONLY.items()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("metadata", {}).get(key) != value]
    return nb


def without_simulation(nb):
    """The notebook without its cells tagged ``simulated-only`` (the simulator's model, true values) when it ran on
    real answers; their code must then show nothing, so that tables and figures stay numbered without a gap."""
    if not is_simulated(nb) and "source" in nb.metadata.get("papermill", {}).get("parameters", {}):
        nb.cells = [c for c in nb.cells if SIMULATED_ONLY not in c.metadata.get("tags", [])]
    return nb


def typeset(nb):
    """The notebook with the prose it shows set by French typography (:func:`~portrait.reporting.formatting.typeset`):
    markdown cells, and the markdown and HTML outputs of code cells. Code, and the executed notebook on disk, are
    left as they are: a sentence an analyst writes in a notebook's markdown keeps French spacing in its report."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = fmt.typeset_markdown(cell.source)
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            for kind, setter in (("text/markdown", fmt.typeset_markdown), ("text/html", fmt.typeset_html)):
                if isinstance(data.get(kind), str):
                    data[kind] = setter(data[kind])
    return nb


def _exporter_class() -> type:
    """nbconvert's HTML exporter without its last pass over the page through BeautifulSoup.

    That pass (a third of a render: the page parsed, three CSS selectors compiled, the page written
    again) only makes input and output areas focusable and gives images without a text alternative a
    default one; :func:`accessible` makes the same edits on the page as written. The rest is
    ``HTMLExporter.from_notebook_node`` of the pinned nbconvert (constraints.txt) up to that pass; the test
    comparing the page with the stock exporter's fails if a new nbconvert changes it."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class Exporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(page), resources

    return Exporter


def accessible(page: str) -> str:
    """Input and output areas focusable (``tabindex="0"``) and a text alternative on every image, as
    nbconvert's HTML exporter makes them."""
    page = FOCUSABLE.sub(lambda m: m.group(0) if "tabindex=" in m.group(2)
                         else f'<div class="{m.group(1)}"{m.group(2)} tabindex="0">', page)
    return NO_ALT.sub('<img alt="Image sans description"', page)


def toc_html(toc: list[tuple[int, str, str]]) -> str:
    """The table of contents of a report, from its h2 and h3 headings (the template leaves a marker for it).

    Anchors are taken as written in the page's ``id`` attributes; heading texts are re-escaped."""
    if not toc:
        return ""
    items = "".join(f'\n<li class="h{level}"><a href="#{anchor}">{html.escape(text, quote=False)}</a></li>'
                    for level, anchor, text in toc)
    return f'\n<nav class="portrait-toc" aria-label="Sommaire"><strong>Sommaire</strong><ol>{items}\n</ol></nav>'


TOC_MARKER = "<!--portrait-toc-->"
#: The no-break space of French typography as nbconvert writes it in a heading's anchor (``id``, ``href="#…"``).
ANCHOR_NBSP = "%C2%A0"



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.reporting.render", description=__doc__.split("\n")[0])
    parser.add_argument("executed")
    parser.add_argument("html")
    parser.add_argument("--no-input", action="store_true", help="hide code cells (reviewer report)")
    args = parser.parse_args(argv)
    skip_iri_grammar()
    out = render(args.executed, args.html, exclude_input=args.no_input)
    from .report import refreshed

    refreshed(out.parent / "index.html", Path(args.executed).stem)
    print(f"✓ {paths.relative(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
