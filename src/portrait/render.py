"""Render an executed notebook to HTML: ``python -m portrait.render EXECUTED.ipynb OUT.html``.

Analyst reports keep the code (``--no-input`` hides it for reviewers). The HTML depends only on the
notebook's content: the title comes from the notebook's first heading, not from a file name or a
clock, so two runs of the chain give byte-identical reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from . import paths
from .io import write_text


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


def render(executed: str | Path, html: str | Path, *, exclude_input: bool = False) -> Path:
    """Write the HTML report of an executed notebook (atomically)."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(paths.resolve(executed), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("[← Index des rapports](index.html)",
                                                     id="nav-index"))
    exporter = HTMLExporter(template_name="lab", exclude_input=exclude_input,
                            exclude_input_prompt=exclude_input, exclude_output_prompt=exclude_input)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook_title(nb)}})
    return write_text(paths.resolve(html), body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.render", description=__doc__.split("\n")[0])
    parser.add_argument("executed")
    parser.add_argument("html")
    parser.add_argument("--no-input", action="store_true", help="hide code cells (reviewer report)")
    args = parser.parse_args(argv)
    out = render(args.executed, args.html, exclude_input=args.no_input)
    print(f"✓ {paths.relative(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
