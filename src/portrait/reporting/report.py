"""The index of reports: ``python -m portrait.report index EXECUTED.ipynb ...``.

``reports/index.html`` lists every rendered report in chain order with its one-line summary, the
parameters it ran with and the data source (real or simulated). It is rebuilt from the executed
notebooks, so it carries no date and changes only when a report does.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

import nbformat

from ..pipeline import config, paths, scenario
from ..pipeline.io import write_text
from . import scenarios
from .render import as_yaml, notebook_summary, notebook_title

SOURCE_LABEL = {"simulated": "données simulées (simulateur documenté, vérité connue)",
                "real": "exports réels de l'outil d'enquête"}

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.6rem}li{margin:0 0 1.2rem}a{color:#0b5cad}
.params{font-family:ui-monospace,monospace;font-size:.8rem;color:#52606d}
code{overflow-wrap:anywhere}
.source{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#fff3c4;color:#8d6400}
"""


def data_source(params: dict) -> str:
    """What a report's numbers rest on, from its parameters: simulated answers or partner files, or real data."""
    if params.get("source") == "simulated" or params.get("partners_source") == "synthetic":
        return "données simulées"
    if params.get("source") == "real" or params.get("partners_source") == "real":
        return "données réelles"
    return "données publiques (Insee, Etalab)"


def index_html(executed: list[Path]) -> str:
    """HTML of the index for the given executed notebooks (in chain order)."""
    study = config.study()
    source = study.get("source", "simulated")
    items = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        params = nb.metadata.get("papermill", {}).get("parameters", {})
        shown = " ; ".join(f"{k}: {as_yaml(v)}" for k, v in sorted(params.items())
                          if not (isinstance(v, str) and ("/" in v)))
        summary = notebook_summary(nb)
        first = summary.split(". ")[0].rstrip(".")
        if len(first) > 220:
            first = first[:220].rsplit(" ", 1)[0] + " …"
        reps = params.get("replications")
        short = (f' <span class="source">version courte : {int(reps)} réplications (publiée : <code>make validate</code>, '
                 f'1 000)</span>' if isinstance(reps, int) and reps < 1000 else "")
        items.append(
            f'<li><a href="{html.escape(path.stem)}.html">{html.escape(notebook_title(nb))}</a>{short} '
            f'<span class="source">{html.escape(data_source(params))}</span><br>'
            f"{html.escape(first if first.endswith('…') else first + '.')}<br>"
            + (f'<span class="params">paramètres, tels qu\'écrits dans config/ (noms anglais) : {html.escape(shown)}</span>'
               if shown else "") + "</li>")
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Portrait identitaire des Hauts-de-France — rapports</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n"
        "<h1>Portrait identitaire des Hauts-de-France — rapports</h1>\n"
        "<p>Phase quantitative reproduite : bases de sondage, terrain, pondération, comparaison "
        "habitants / visiteurs. Chaque rapport est régénéré par <code>make</code> à partir de "
        "<code>data/raw/</code> et des paramètres de <code>config/</code>.</p>\n"
        f"<p>Source des réponses : <span class=\"source\">{html.escape(SOURCE_LABEL.get(source, source))}"
        f"</span> — graine aléatoire : {html.escape(str(study.get('seed')))}</p>\n"
        "<p><strong>Par où commencer.</strong> Les relecteurs lisent d'abord la synthèse (premier rapport, sans "
        "code, en français) ; les analystes suivent les rapports numérotés dans l'ordre de la chaîne, chacun avec "
        "son code, ses tableaux et ses fichiers produits.</p>\n"
        "<ol>\n" + "\n".join(items) + "\n</ol>\n" + scenarios.index_items(scenario.manifests())
        + "</body>\n</html>\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    idx = sub.add_parser("index", help="write reports/index.html")
    idx.add_argument("executed", nargs="+", help="executed notebooks, in chain order")
    idx.add_argument("-o", "--output", default=str(paths.REPORTS / "index.html"))
    args = parser.parse_args(argv)
    out = write_text(paths.resolve(args.output), index_html([paths.resolve(p) for p in args.executed]))
    print(f"✓ {paths.relative(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
