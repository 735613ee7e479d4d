"""portrait.pipeline — paths, configuration, atomic I/O, raw sources, errors and the notebook runner."""

import sys


def skip_iri_grammar() -> None:
    """Spare a runner or renderer process the 1.3 s that jsonschema (imported by nbformat) spends
    compiling an Earley grammar for the « iri » string format when rfc3987-syntax is installed
    (JupyterLab brings it). Notebook schemas use no such format. Call before nbformat is imported;
    only the chain's own command-line entry points do, never a library import."""
    sys.modules.setdefault("rfc3987_syntax", None)
