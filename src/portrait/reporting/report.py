"""The index of reports: ``python -m portrait.reporting.report index EXECUTED.ipynb ...``.

``reports/index.html`` lists every rendered report in chain order with its one-line summary, the
parameters it ran with and the data source (real or simulated). It is rebuilt from the executed
notebooks, so it carries no date and changes only when a report does.

When a stage fails, ``make`` calls ``python -m portrait.reporting.report stale NOTEBOOK EXECUTED.ipynb ...``:
the reports left from an earlier run that no longer match the configuration and data (see
:func:`out_of_date`) get a banner saying so, and the index lists them as out of date. The next
successful ``make`` renders them again, without the banner.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

from ..pipeline import config, parameters, paths, scenario, skip_iri_grammar
from ..pipeline.io import write_text
from ..study.validation import published
from . import formatting as fmt
from . import parameter_labels
from .render import RESIDENTS_ONLY, REVIEW_DIR, notebook_summary, notebook_title

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.6rem}li{margin:0 0 1.2rem}a{color:#0b5cad}
.params{font-family:ui-monospace,monospace;font-size:.8rem;color:#52606d}
code{overflow-wrap:anywhere}
.source{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#fff3c4;color:#8d6400}
.stale{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#fde2e1;color:#8a1c1c;font-weight:600}
p.stale{display:block;padding:.5rem 1rem}
a.review{font-size:.9rem;margin-left:.3rem}
@media (hover:none),print{.hover-hint{display:none}}
"""
STALE_CLASS = "portrait-stale"
STALE_STYLE = "background:#fde2e1;color:#8a1c1c"


#: Reports whose numbers come from the simulator whatever the study's source (the validation study).
SIMULATED_BY_DESIGN = {"08_validation"}
#: Reports rendered without code already (the others have a version without code in reports/relecture/).
WITHOUT_CODE = {"07_synthesis"}


def data_source(params: dict, partners_source: str | None = None) -> str:
    """What a report's numbers rest on, from its parameters: simulated answers or partner files, or real data.

    ``partners_source``: the partner files' source of stage 02, for a report downstream of it (its visitors
    are those files' clients, whatever its own parameters say).
    """
    partners = params.get("partners_source", partners_source)
    if params.get("source") == "real" and partners == "synthetic":      # a rehearsal: real answers, simulated clients
        return "réponses réelles, fichiers de partenaires simulés"
    if params.get("source") == "simulated" or partners == "synthetic":
        return "données simulées"
    if params.get("source") == "real" or partners == "real":
        return "données réelles"
    return "données publiques (Insee, Etalab)"


def short_description(summary: str, limit: int = 220, shortest: int = 80) -> str:
    """The first sentence of a report's introduction, for the index; a longer one than ``limit`` characters
    is cut at its last clause (« ; », « : », « , » or « — ») that leaves at least ``shortest``, else at a
    word, and ends with « … »."""
    first = summary.split(". ")[0].rstrip(".")
    if len(first) <= limit:
        return first
    cuts = [m.start() for m in re.finditer(" ; | : |, | — ", first) if shortest <= m.start() <= limit]
    return (first[:max(cuts)] if cuts else first[:limit].rsplit(" ", 1)[0]) + " …"


INLINE_CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
STRONG = re.compile(r"\*\*(.+?)\*\*")
EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")


def summary_html(summary: str) -> str:
    """A report's one-line summary, written in markdown by its notebook, as the index's HTML: inline code in
    ``<code>`` (« dictionnaire des variables (<code>config/codebook.yaml</code>) », not the backticks), links,
    bold and italics as their text, everything else escaped; a backtick left alone (a pair cut by
    :func:`short_description`) is dropped."""
    def plain(text: str) -> str:
        text = EMPHASIS.sub(r"\1", STRONG.sub(r"\1", LINK.sub(r"\1", text)))
        return html.escape(text.replace("`", ""), quote=False)

    out, last = [], 0
    for m in INLINE_CODE.finditer(summary):
        out += [plain(summary[last:m.start()]), f"<code>{html.escape(m.group(1), quote=False)}</code>"]
        last = m.end()
    return "".join(out) + plain(summary[last:])


def index_html(executed: list[Path], stale: tuple[str, set[str]] | None = None, note: str = "") -> str:
    """HTML of the index for the given executed notebooks (in chain order).

    ``stale``: (title of the stage that failed, stems of the reports out of date), after a failure; ``note``:
    HTML said after it (where to read what blocked).
    """
    study = config.study()
    source = study.get("source", "simulated")
    items = []
    notebooks = [(path, _read(path)) for path in executed]
    partners = next((p for _, nb in notebooks
                     if (p := nb.metadata.get("papermill", {}).get("parameters", {}).get("partners_source"))), None)
    for path, nb in notebooks:
        old = STALE_MARK if stale is not None and path.stem in stale[1] else ""
        params = nb.metadata.get("papermill", {}).get("parameters", {})
        badge = ("données simulées" if path.stem in SIMULATED_BY_DESIGN else
                 data_source(params, None if path.stem in RESIDENTS_ONLY else partners))
        if params.get("fieldwork_status") == "in_progress" and params.get("source") == "real":
            badge += ", terrain en cours"
        shown = " ; ".join(f"{parameter_labels.html_name(k)} : {parameter_labels.html_value(k, v)}"
                           for k, v in parameter_labels.by_label(params) if parameter_labels.shown(k, v, params))
        summary = notebook_summary(nb)
        first = short_description(summary)
        reps = params.get("replications")
        short = (f' <span class="source">version courte : {fmt.number(int(reps))} réplications (publiée : '
                 f'<code>make validate</code>, {fmt.number(published.REPLICATIONS)})</span>'
                 if isinstance(reps, int) and reps < published.REPLICATIONS else "")
        review = ("" if path.stem in WITHOUT_CODE else
                  f' <a class="review" href="{REVIEW_DIR}/{html.escape(path.stem)}.html">version sans code</a>')
        items.append(
            f'<li><a href="{html.escape(path.stem)}.html">{html.escape(notebook_title(nb))}</a>{old}{short} '
            f'<span class="source">{html.escape(badge)}</span>{review}<br>'
            f"{summary_html(first if first.endswith('…') else first + '.')}<br>"
            + (f'<span class="params">paramètres <span class="hover-hint">(nom et valeur du paramètre dans config/ au '
               f'survol)</span> : {shown}</span>' if shown else "") + "</li>")
    return fmt.typeset_html(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Portrait identitaire des Hauts-de-France — rapports</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Portrait identitaire des Hauts-de-France — rapports</h1>\n"
        + (f'<p class="stale" role="alert">Le dernier <code>make</code> a échoué à l\'étape « {html.escape(stale[0])} ». '
           "Les rapports marqués « périmé » viennent d'une exécution antérieure et ne correspondent plus à la "
           "configuration ni aux données actuelles ; le prochain <code>make</code> réussi les régénère."
           + (f" {note}" if note else "") + "</p>\n"
           if stale is not None else "") +
        "<p>Phase quantitative reproduite : bases de sondage, terrain, pondération, comparaison "
        "habitants / clients du territoire. Chaque rapport est régénéré par <code>make</code> à partir de "
        "<code>data/raw/</code> et des paramètres de <code>config/</code>.</p>\n"
        f"<p>Source des réponses : <span class=\"source\">{html.escape(parameter_labels.value_text('source', source))}"
        f"</span> — graine aléatoire : {html.escape(str(study.get('seed')))}</p>\n"
        "<p><strong>Par où commencer.</strong> Les relecteurs lisent d'abord la synthèse (premier rapport, sans "
        "code, en français), puis, pour le détail, la « version sans code » de chaque rapport ; les analystes "
        "suivent les rapports numérotés dans l'ordre de la chaîne, chacun avec son code, ses tableaux et ses "
        "fichiers produits.</p>\n"
        "<ol>\n" + "\n".join(items) + "\n</ol>\n" + _check_survey_line() + _scenarios_section()
        + "</body>\n</html>\n")


def _check_survey_line() -> str:
    """A link to the last check of the survey exports (``make check-survey``), when there is one: the index said it
    links every report, and a newcomer's trial found that one missing."""
    from . import check_survey

    check = paths.resolve(check_survey.OUT)
    if not check.exists():
        return ""
    return (f'<p>Contrôle des exports de l\'enquête (dernier <code>make check-survey</code>) : '
            f'<a href="{html.escape(check.name)}">{html.escape(check.name)}</a>.</p>\n')


def _newest_mtime(path: Path) -> float:
    """When ``path`` last changed for ``make``: a folder by its files (as the Makefile's wildcards), not its own time."""
    if path.is_dir():
        return max((f.stat().st_mtime for f in path.iterdir() if f.is_file()), default=0.0)
    return path.stat().st_mtime if path.exists() else 0.0       # an optional input (data/raw/survey) may be absent


def _package_mtime() -> float:
    """When the package last changed for ``make`` (its ``PKG``: every module, at any depth, and pyproject.toml)."""
    files = [p for p in (paths.ROOT / "src" / "portrait").rglob("*.py") if "__pycache__" not in p.parts]
    return max((_newest_mtime(f) for f in [*files, paths.ROOT / "pyproject.toml"]), default=0.0)


def out_of_date(failed: str) -> list[str]:
    """The reports that no longer describe the configuration and data after the stage ``failed`` failed.

    The failed stage; every stage whose executed notebook is missing or older than the package, its
    notebook, its parameter files (its share of ``config/study.yaml``, ``config/<stage>.yaml``) or a file it reads (the
    stages ``make`` had still to run, or is running beside the failed one); and every stage that reads,
    directly or not, a file one of these writes.
    """
    changed = {failed}
    package = _package_mtime()
    for stem, (read, _) in parameters.stage_files().items():
        executed = paths.EXECUTED / f"{stem}.ipynb"
        if not executed.exists():
            changed.add(stem)
            continue
        share = parameters.study_stamp(stem)          # its share of config/study.yaml, as Make sees it
        sources = {paths.NOTEBOOKS / f"{stem}.ipynb", share if share.exists() else paths.CONFIG / config.STUDY_FILE,
                   *read}
        own = paths.CONFIG / f"{stem}.yaml"
        if own.exists():
            sources.add(own)
        ran = executed.stat().st_mtime
        if package > ran or any(_newest_mtime(f) > ran for f in sources):
            changed.add(stem)
    return parameters.downstream(changed)


def stale_banner(failed_title: str, own: bool) -> str:
    """The banner of a report left from an earlier run (French, for reviewers)."""
    what = ("Cette étape a échoué lors du dernier <code>make</code>" if own else
            f"L'étape « {html.escape(failed_title)} » a échoué lors du dernier <code>make</code>, avant que ce rapport "
            "ne soit refait")
    return fmt.typeset_html(
        f'<div class="portrait-banner {STALE_CLASS}" role="alert" style="{STALE_STYLE}">Rapport périmé. {what} : '
        "ce rapport vient d'une exécution antérieure et ne correspond plus à la configuration ni aux données "
        "actuelles. Le prochain <code>make</code> réussi le régénère.</div>")


def mark_stale(report: Path, banner: str) -> bool:
    """Put ``banner`` at the top of a rendered report (replacing an earlier one); False if there is no report."""
    if not report.exists():
        return False
    text = re.sub(rf'<div class="portrait-banner {STALE_CLASS}"[^>]*>.*?</div>\n', "",
                  report.read_text(encoding="utf-8"), flags=re.S)
    text, found = re.subn(r"(<body[^>]*>\s*(?:<main>\s*)?)", lambda m: m.group(1) + banner + "\n", text, count=1)
    if not found:
        raise ValueError(f"{paths.relative(report)} has no <body>: not a rendered report")
    write_text(report, text)
    return True


def mark_failure(notebook: Path, executed: list[Path], output: Path) -> list[str]:
    """After ``notebook`` failed: the index lists every report out of date (:func:`out_of_date`), and
    the reports of the failed stage and of the stages after it carry a banner. Returns the stems
    marked in the index, in chain order.

    Other reports out of date are flagged in the index only: with ``make -j2`` their stage may be
    running beside the failed one, and would render its new report while the banner is written.
    """
    from . import check_survey

    title = notebook_title(_read(notebook))
    stale = out_of_date(notebook.stem)
    for s in parameters.downstream([notebook.stem]):
        for report in (output.parent / f"{s}.html", output.parent / REVIEW_DIR / f"{s}.html"):
            mark_stale(report, stale_banner(title, own=s == notebook.stem))
    present = [p for p in executed if p.exists()]
    check = paths.resolve(check_survey.OUT)
    # the stage that reads the real exports runs their check first: its report says what blocked
    note = (f'Le contrôle des exports de l\'enquête (<a href="{html.escape(check.name)}">{html.escape(check.name)}</a>) '
            "dit ce qui bloque, fichier, ligne, colonne et règle."
            if Path(check_survey.NOTEBOOK).stem == notebook.stem and config.study().get("source") == "real"
            and check.exists() else "")
    write_text(output, index_html(present, (title, set(stale)), note=note))
    shown = {p.stem for p in present}
    return [s for s in stale if s in shown]            # chain order (the index lists the synthesis first)


STALE_MARK = ' <span class="stale">périmé : antérieur à l\'échec</span>'


def refreshed(index: Path, stem: str) -> bool:
    """A report rendered anew after another stage failed (``make --keep-going`` runs the stages beside the failed one):
    its entry of the index loses the « périmé » mark written at the failure. False if it had none."""
    if not index.exists():
        return False
    text = index.read_text(encoding="utf-8")
    entry = f'<li><a href="{html.escape(stem)}.html">'
    start = text.find(entry)
    end = text.find("</li>", start)
    marked = text.find(fmt.typeset_html(STALE_MARK), start, end) if start >= 0 else -1
    if marked < 0:
        return False
    write_text(index, text[:marked] + text[marked + len(fmt.typeset_html(STALE_MARK)):])
    return True


def _scenarios_section() -> str:
    from . import scenarios        # pandas, for the scenarios' own pages: the index itself needs none

    return scenarios.index_items(scenario.manifests())


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def main(argv: list[str] | None = None) -> int:
    skip_iri_grammar()
    parser = argparse.ArgumentParser(prog="python -m portrait.reporting.report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    idx = sub.add_parser("index", help="write reports/index.html")
    idx.add_argument("executed", nargs="+", help="executed notebooks, in chain order")
    idx.add_argument("-o", "--output", default=str(paths.REPORTS / "index.html"))
    st = sub.add_parser("stale", help="after a stage failed: mark the reports out of date and rewrite the index")
    st.add_argument("notebook", help="the notebook that failed")
    st.add_argument("executed", nargs="+", help="executed notebooks, in chain order (as for index)")
    st.add_argument("-o", "--output", default=str(paths.REPORTS / "index.html"))
    args = parser.parse_args(argv)
    if args.cmd == "stale":
        out = paths.resolve(args.output)
        marked = mark_failure(paths.resolve(args.notebook), [paths.resolve(p) for p in args.executed], out)
        if marked:
            # one write of the whole line: under `make -j2` two failing stages report at once, and print's two
            # writes (text, then newline) could interleave with the other's on an unbuffered stderr
            sys.stderr.write(f"  reports now out of date (« périmé » in {paths.relative(out)}): " + ", ".join(marked)
                             + "\n")
            sys.stderr.flush()
        return 0
    out = write_text(paths.resolve(args.output), index_html([paths.resolve(p) for p in args.executed]))
    print(f"✓ {paths.relative(out)} — open it in a browser: it links every report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
