"""Atomic file output and checksums.

Every output is written to a temporary file in the destination directory and renamed only when
complete, so a failed run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from . import paths

if TYPE_CHECKING:       # pandas is imported where a frame is read: the runner and the renderer need none
    import pandas as pd


def _file_mode() -> int:
    """The mode any file the user creates gets (0666 less the umask): mkstemp's 0600 would hide the outputs from
    the user's group, a fixed 0644 would show answers to everyone on a machine whose umask says otherwise."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds (with the mode
    the umask gives a new file); a block that fails leaves ``path`` as it was and no temporary file.

    Relative paths are taken from the repository root, whatever the current directory.
    """
    dest = paths.resolve(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix + ".partial",
                               dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _file_mode())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return paths.resolve(path)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` to Parquet atomically, byte-identically for identical data.

    The pandas index is dropped; Parquet carries no timestamp, so the same table gives the same
    bytes on every run (for a given pyarrow version, which the lock file pins).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False,
                       store_schema=True)
    return paths.resolve(path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, french: bool = False) -> Path:
    """Write ``df`` as CSV atomically.

    ``french=True`` writes what French spreadsheet users expect: ``;`` separator, decimal comma,
    UTF-8 with a byte-order mark so that Excel detects the encoding.
    """
    with atomic_path(path) as tmp:
        if french:
            df.to_csv(tmp, sep=";", decimal=",", index=False, encoding="utf-8-sig",
                      lineterminator="\n")
        else:
            df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return paths.resolve(path)


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(paths.resolve(path), "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_csv(path: str | os.PathLike, *, french: bool = False, text: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` (``french=True``: ``;``, decimal comma, UTF-8 with BOM).

    Empty cells are missing values, except in the ``text`` columns, read as strings with "" kept (codes
    such as a statistic's level, « 1 » or empty, must not turn into numbers).
    """
    import pandas as pd

    kw = dict(sep=";", decimal=",", encoding="utf-8-sig") if french else {}
    df = pd.read_csv(paths.resolve(path), keep_default_na=False, na_values=[""], dtype={c: str for c in text} or None,
                     **kw)
    for c in text:
        df[c] = df[c].fillna("")
    return df
