"""Tables and figure captions for readers: French headers, no index, French numbers, numbered captions.

>>> cap = tables.Captions()
>>> cap.table(df, "Différences entre groupes", columns={"estimate": "différence"}, decimals=3, pvalues=["p"])
>>> cap.figure("Les écarts d'accord : les clients jugent la région moins conviviale que ses habitants.")
"""

from __future__ import annotations

import html as _html
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
              percents: Mapping[str, int] | None = None, values: Mapping[str, Mapping] | None = None):
        """« Tableau N — caption » above ``df`` with numbers written the French way, without the index.

        ``columns`` renames (and orders, when given) the columns shown; ``values`` maps codes to labels
        column by column (e.g. ``{"statistic": {"nps_score": "score NPS"}}``).
        """
        from IPython.display import HTML

        self.tables += 1
        frame = df.reset_index(drop=True)
        for col, mapping in (values or {}).items():
            frame[col] = frame[col].map(lambda v, m=mapping: m.get(v, v))
        shown = fmt.table(frame, decimals, pvalues=pvalues, percents=percents)
        if columns:
            shown = shown[[c for c in columns if c in shown.columns]].rename(columns=dict(columns))
        body = shown.to_html(index=False, border=0, classes="dataframe portrait-table", na_rep="—", escape=True)
        head = f"<caption>Tableau {self.tables} — {_html.escape(caption)}</caption>"
        return HTML(body.replace("<thead>", f"{head}\n  <thead>", 1))

    def figure(self, finding: str):
        """« Figure N — finding » under a figure: the caption states what the figure shows."""
        from IPython.display import Markdown

        self.figures += 1
        return Markdown(f"*Figure {self.figures} — {finding}*")
