"""Tables and figure captions for readers: French headers, no index, French numbers, numbered captions.

>>> cap = tables.Captions()
>>> cap.table(df, "Différences entre groupes", columns={"estimate": "différence"}, decimals=3, pvalues=["p"])
>>> cap.figure("Les écarts d'accord : les clients jugent la région moins conviviale que ses habitants.")
"""

from __future__ import annotations

import html as _html
import re
from typing import Iterable, Mapping

import pandas as pd

from . import formatting as fmt


class Captions:
    """Numbers the tables and figures of one report, in order of appearance."""

    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0

    def table(self, df: pd.DataFrame, caption: str, *, columns: Mapping[str, str] | None = None,
              decimals: int | Mapping[str, int] = 3, pvalues: Iterable[str] = (),
              percents: Mapping[str, int] | None = None, values: Mapping[str, Mapping] | None = None,
              row_decimals: Mapping[str, Iterable[int]] | None = None, signed: Iterable[str] = ()):
        """« Tableau N — caption » above ``df`` with numbers written the French way, without the index.

        ``columns`` renames (and orders, when given) the columns shown; ``values`` maps codes to labels
        column by column (e.g. ``{"statistic": {"mean": "moyenne"}}``); ``row_decimals`` gives a
        column one precision per row (``{column: decimals of each row}``), for a column that mixes scales
        (means on 10 beside the NPS in points); the columns in ``signed`` (gaps clients − habitants) are
        written with their sign, « +10,1 », as every gap of the reports.
        """
        frame = df.reset_index(drop=True)
        for col, mapping in (values or {}).items():
            frame[col] = frame[col].map(lambda v, m=mapping: m.get(v, v))
        shown = fmt.table(frame, decimals, pvalues=pvalues, percents=percents)
        signed = set(signed)
        for col in signed - set(row_decimals or {}):
            d = decimals.get(col, 3) if isinstance(decimals, Mapping) else decimals
            shown[col] = [fmt.signed(v, d) for v in frame[col]]
        for col, decs in (row_decimals or {}).items():
            decs = list(decs)
            if len(decs) != len(frame):
                raise ValueError(f"row_decimals[{col!r}] has {len(decs)} values for {len(frame)} rows")
            write = fmt.signed if col in signed else fmt.number
            shown[col] = [write(v, d) for v, d in zip(frame[col], decs)]
        if columns:
            shown = shown[[c for c in columns if c in shown.columns]].rename(columns=dict(columns))
        shown = shown.rename(columns=_header)
        return self._captioned(shown.to_html(index=False, border=0, classes="dataframe portrait-table", na_rep="—",
                                             escape=True), caption)

    def frame(self, df: pd.DataFrame, caption: str):
        """« Tableau N — caption » above ``df`` shown as :func:`french_html` shows any table (each numeric
        column with the decimals it was rounded to, labels in full): for tables already laid out for readers."""
        return self._captioned(french_html(df.rename(columns=_header)), caption)

    def _captioned(self, body: str, caption: str):
        from IPython.display import HTML

        self.tables += 1
        head = f"<caption>Tableau {self.tables} — {_html.escape(caption)}</caption>"
        return HTML(body.replace("<thead>", f"{head}\n  <thead>", 1))

    def figure(self, finding: str):
        """« Figure N — finding » under a figure: the caption states what the figure shows."""
        from IPython.display import Markdown

        self.figures += 1
        return Markdown(f"*Figure {self.figures} — {finding}*")


def _header(label):
    """A captioned table's column header starts with a capital, as French tables do (« Taux de réponse »), at every
    level of a multi-level header; a symbol or abbreviation of one or two letters (« n », « p », « df ») and a
    variable name (``slot_id``) stay as written."""
    if isinstance(label, str) and re.match(r"[a-zà-ÿ]{3,}(?:[ '(]|$)", label) and "_" not in label:
        return fmt.capitalised(label)
    return label


def _decimals(s: pd.Series, most: int = 4) -> int:
    """The fewest decimals (at most ``most``) that show every value of a column as it was rounded."""
    v = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    for d in range(most + 1):
        if (abs(v * 10 ** d - (v * 10 ** d).round()) < 1e-6).all():
            return d
    return most


def french_html(df: pd.DataFrame) -> str:
    """Any table a notebook leaves as its last expression, as readers expect it: numbers the French way
    (each column with the decimals it was rounded to), no row numbers, every row and the full labels."""
    frame = df.copy()
    # an unnamed integer index is row numbers (a filtered frame keeps its old ones): not shown
    show_index = not (isinstance(frame.index, pd.RangeIndex) or (frame.index.nlevels == 1 and frame.index.name is None
                                                                 and pd.api.types.is_integer_dtype(frame.index)))
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            frame[col] = s.map({True: "oui", False: "non"})
        elif pd.api.types.is_numeric_dtype(s):
            d = 0 if pd.api.types.is_integer_dtype(s) else _decimals(s)
            frame[col] = s.map(lambda v, d=d: fmt.number(v, d))
    html = frame.to_html(index=show_index, border=0, classes="dataframe portrait-table", na_rep="—", escape=True)
    return _index_names_in_header(html, frame.index.nlevels) if show_index else html


_HEADER_ROW = re.compile(r"\s*<tr[^>]*>.*?</tr>", re.S)
_CELL = re.compile(r"<th[^>]*>(.*?)</th>", re.S)


def _index_names_in_header(html: str, nlevels: int) -> str:
    """Move the index names pandas writes in a last header row of their own (row labels named, the rest of
    the row empty) into the empty corner cells of the row above: one header row less, nothing lost."""
    start, end = html.find("<thead>"), html.find("</thead>")
    rows = _HEADER_ROW.findall(html[start + len("<thead>"):end])
    if len(rows) < 2:
        return html
    names = _CELL.findall(rows[-1])
    above = _CELL.findall(rows[-2])
    if (len(names) <= nlevels or any(c.strip() for c in names[nlevels:]) or not any(n.strip() for n in names[:nlevels])
            or len(above) < nlevels or any(c.strip() for c in above[:nlevels])):
        return html
    merged = rows[-2]
    for name in names[:nlevels]:
        merged = merged.replace("<th></th>", f"<th>{name}</th>", 1)
    body = "".join(rows[:-2]) + merged
    return html[:start + len("<thead>")] + body + "\n  " + html[end:]


def use_french_tables() -> None:
    """Register :func:`french_html` for DataFrames in this IPython kernel (no-op outside IPython)."""
    pd.set_option("display.max_rows", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_colwidth", None)
    try:
        from IPython import get_ipython
    except ImportError:          # pragma: no cover - IPython is a dependency
        return
    ip = get_ipython()
    if ip is not None:
        ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, french_html)


def row_decimals(df: pd.DataFrame, decimals: Iterable[int], signed: bool | Iterable[bool] = False) -> pd.DataFrame:
    """Every numeric cell of each row written the French way with that row's decimals (``decimals``: one per
    row), for tables that mix scales — means on 10 beside shares in % — where one precision per column fits
    neither. ``signed`` (one flag, or one per row): rows of gaps, written with their sign (« +10,1 »)."""
    out = df.rename_axis(columns=None)                  # a pivot's column name is not a header to show
    decimals = list(decimals)
    signs = [signed] * len(df) if isinstance(signed, bool) else list(signed)
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    for col in numeric:
        out[col] = [(fmt.signed if sign else fmt.number)(v, d) for v, d, sign in zip(df[col], decimals, signs)]
    return out


#: Output metadata of what only analysts read (file paths): :func:`portrait.reporting.render.render` leaves such
#: outputs out of the reviewers' versions (``reports/relecture/``).
ANALYST_ONLY = {"portrait": {"audience": "analyst"}}


def files_written(lines: Iterable[str]) -> None:
    """Show the files a stage wrote, one per line (a Markdown list), in the analysts' report only.

    Parameters
    ----------
    lines : iterable of str
        One line per file: its path, with any note on it.
    """
    from IPython.display import Markdown, display

    display(Markdown("\n".join(f"- {line}" for line in lines)), metadata=ANALYST_ONLY)
