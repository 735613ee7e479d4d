"""portrait.pipeline — paths, configuration, atomic I/O, raw sources, errors and the notebook runner."""
