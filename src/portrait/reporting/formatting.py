"""Numbers as readers see them: French conventions, rounded to their display precision.

Every number shown in a notebook table, a report sentence or a figure label goes through this
module, so that what is printed depends only on the rounded value and never on the last bits of
a floating-point result (which differ between CPUs and BLAS builds): a value that rounds to zero
is printed « 0 », never « −0 » or « -0.0 ».

French conventions: decimal comma, narrow no-break space (U+202F) between thousands, the minus
sign U+2212, « % » after a space, p-values below the smallest printed one as « < 0,0001 », ordinals with
their letters raised (« 1ᵉʳ », « 3ᵉ »), dates « 1ᵉʳ mars 2017 ». Sentences go through :func:`french`, which puts the no-break space (U+00A0) of French
typography before « : ; ? ! % » » and after « « », so that a line never starts with a colon or a « % ».

pandas is imported by the functions that take tables only: the reports' renderer and index write the parameters'
values through this module and start without it (``tests/test_architecture.py``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

THOUSANDS = "\u202f"
NBSP = "\u00a0"
MINUS = "\u2212"
MISSING = "–"


def _missing(x) -> bool:
    pd = sys.modules.get("pandas")          # pandas' missing values exist only once pandas is loaded
    return (x is None or (pd is not None and (x is pd.NA or x is pd.NaT))
            or (isinstance(x, (float, np.floating)) and math.isnan(x)))


_EXACT = decimal.Context(prec=80)


def rounded(x: float, decimals: int = 0) -> float:
    """``x`` rounded to ``decimals`` places as a French reader rounds the number written (a half away from zero:
    0,05 → 0,1 ; 2,5 → 3 ; 2,675 → 2,68), with a negative zero made positive.

    The number written is ``x`` to 12 significant digits (more when its whole part and the decimals asked need them,
    at most 17): arithmetic leaves a half a few units of the 16th digit short (a mean of 6,5 % and 7 % is
    0.06749999999999995), and the reader rounds the 6,75 it stands for."""
    x = float(x)
    if not math.isfinite(x):
        return x
    whole = len(str(int(abs(x)))) if abs(x) >= 1 else 1      # 12 digits, more for a large number written in full
    written = decimal.Decimal(f"{x:.{min(17, max(12, whole + decimals + 1))}g}")
    q = written.quantize(decimal.Decimal(1).scaleb(-decimals), rounding=decimal.ROUND_HALF_UP, context=_EXACT)
    return float(q) + 0.0  # + 0.0: −0.0 becomes 0.0


def capitalised(text: str) -> str:
    """``text`` with its first letter in upper case, the rest as written (« taille de commune » → « Taille de commune »)."""
    return text[:1].upper() + text[1:]


_BREAKABLE = re.compile(r" (?=[:;?!%‰»])|(?<=[«±=<]) ")


def french(text: str) -> str:
    """``text`` with the no-break spaces (U+00A0) of French typography: the ordinary space before « : »,
    « ; », « ? », « ! », « % », « ‰ » and « » », and after « « », « ± », « = » and « < », becomes :data:`NBSP`, so
    that a line never breaks between a number and its « % », « ‰ », « ± », « = » or « < » nor starts with a colon
    (« > » is left: it starts a Markdown quotation): ``french("28,4 % : « a »")`` →
    « 28,4\u00a0%\u00a0: «\u00a0a\u00a0» ». Applying it twice changes nothing."""
    return _BREAKABLE.sub(NBSP, text)


_GROUPED = re.compile(r"(?<![\d,.])(\d{1,3}) (?=\d{3}(?!\d))")


#: An apostrophe within a word (« l'image », « d&#x27;accord » as HTML escapes it); quotes around a word are not.
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])(?:'|&#x27;|&#39;)(?=[^\W\d_])")
APOSTROPHE = "\u2019"


def apostrophes(text: str) -> str:
    """``text`` with the typographic apostrophe (U+2019) within words: « l'image » → « l\u2019image »."""
    return _APOSTROPHE.sub(APOSTROPHE, text)


def typeset(text: str) -> str:
    """Prose as French typography sets it: :func:`french`, thousands written by hand (« 5 000 ») joined by
    the formatter's narrow no-break space (U+202F), and the typographic apostrophe (U+2019) within a word:
    ``typeset("les 5 000 invitations d'été : 4 %")`` → « les 5\u202f000 invitations d\u2019été\u00a0: 4\u00a0% ».
    Applying it twice changes nothing."""
    return french(apostrophes(_GROUPED.sub(lambda m: m.group(1) + THOUSANDS, text)))


#: What markdown must keep as written: fenced code, inline code, tags, link targets, a table's alignment row.
_MARKDOWN_KEPT = re.compile(r"(?ms)^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$|(`+).*?\2|<[^>\n]+>|\]\([^)\n]*\)"
                            r"|^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def typeset_markdown(source: str) -> str:
    """A markdown text with its prose set by :func:`typeset`; code (fenced or inline), tags, link targets and
    the alignment row of a table (« | :--- | ---: | ») are left as written. Reports render every markdown cell
    and output through it, so a sentence an analyst writes in a notebook keeps French spacing."""
    out, end = [], 0
    for m in _MARKDOWN_KEPT.finditer(source):
        out += [typeset(source[end:m.start()]), m.group(0)]
        end = m.end()
    return "".join(out + [typeset(source[end:])])


_HTML_TOKEN = re.compile(r"(<[^>]*>)")
_HTML_VERBATIM = re.compile(r"<(/?)(script|style|pre|code|svg|math|textarea)\b", re.I)


def typeset_html(fragment: str) -> str:
    """An HTML fragment (a table, a paragraph) with the text between its tags set by :func:`typeset`; tags,
    attributes and the content of script, style, pre, code, svg, math and textarea elements are left as written."""
    parts, depth = _HTML_TOKEN.split(fragment), 0
    for i, part in enumerate(parts):
        if i % 2:
            m = _HTML_VERBATIM.match(part)
            if m and not part.endswith("/>"):
                depth = max(depth + (-1 if m.group(1) else 1), 0)
        elif depth == 0 and part:
            parts[i] = typeset(part)
    return "".join(parts)


def number(x: float, decimals: int = 0, missing: str = MISSING) -> str:
    """A number written the French way: ``number(-1234.5, 1)`` → « −1 234,5 »; never a signed zero."""
    if _missing(x):
        return missing
    v = rounded(x, decimals)
    if math.isinf(v):
        return ("" if v > 0 else MINUS) + "∞"
    s = f"{abs(v):,.{decimals}f}".replace(",", THOUSANDS).replace(".", ",")
    return (MINUS + s) if v < 0 else s


def _needed(x: float, most: int = 4) -> int:
    """The decimals a number given as a parameter needs to be written exactly, at most ``most``."""
    return next((d for d in range(most) if abs(x * 10 ** d - np.round(x * 10 ** d)) < 1e-9), most)


def exact(x: float, most: int = 4) -> str:
    """A number given as a parameter, with the decimals it needs (at most ``most``): ``exact(0.3)`` → « 0,3 »,
    ``exact(3.0)`` → « 3 », ``exact(12500)`` → « 12 500 »."""
    return number(x) if _missing(x) or math.isinf(x) else number(x, _needed(x, most))


def bounds(low: float, high: float) -> str:
    """Bounds given as parameters, « [a ; b] », each with the decimals it needs (at most 4):
    ``bounds(0.3, 3.0)`` → « [0,3 ; 3] », ``bounds(0.62, 1.9)`` → « [0,62 ; 1,9] » (a no-break space before
    « ; »)."""
    return f"[{exact(low)}{NBSP}; {exact(high)}]"


def percent(share: float, decimals: int | None = 1, missing: str = MISSING) -> str:
    """A share in [0, 1] written as a French percentage: ``percent(0.1234)`` → « 12,3 % »; ``decimals=None``
    gives the decimals a share given as a parameter needs: ``percent(0.95, None)`` → « 95 % »."""
    if _missing(share):
        return missing
    return (exact(share * 100) if decimals is None else number(share * 100, decimals)) + "\u00a0%"


def ci_label(level: float, long: bool = False) -> str:
    """The label of intervals at confidence ``level``: « IC à 95 % », or ``long`` « intervalle de confiance à 95 % »."""
    return f"{'intervalle de confiance' if long else 'IC'} à {percent(level, None)}"


def signed(x: float, decimals: int = 0, missing: str = MISSING) -> str:
    """A number with its sign always written: ``signed(1.25, 1)`` → « +1,2 », ``signed(-0.01, 1)`` → « 0,0 »."""
    if _missing(x):
        return missing
    s = number(x, decimals)
    return "+" + s if rounded(x, decimals) > 0 else s


def points(difference: float, decimals: int = 1, missing: str = MISSING, scale: float = 100.0) -> str:
    """A difference in points, signed, « point » spelled out and singular below 2 as French writes it: a difference
    of shares in percentage points, ``points(-0.051)`` → « −5,1 points », or of scores in points of score,
    ``points(0.46, 2, scale=1)`` → « +0,46 point »."""
    if _missing(difference):
        return missing
    v = difference * scale
    return f"{signed(v, decimals)}{NBSP}point{'s' if abs(rounded(v, decimals)) >= 2 else ''}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """« 1 fausse alerte », « 0 fausse alerte », « 3 fausses alertes » (French: singular below 2)."""
    n = int(n)
    return f"{number(n)} {singular if abs(n) < 2 else (plural or singular + 's')}"


def quantity(x: float, decimals: int, singular: str, plural: str | None = None) -> str:
    """A decimal quantity with its unit agreed as French does (singular below 2, as the number is written):
    ``quantity(1.99, 2, "écart type", "écarts types")`` → « 1,99 écart type », ``quantity(2.2, 1, …)`` → « 2,2
    écarts types »."""
    return f"{number(x, decimals)} {singular if abs(rounded(x, decimals)) < 2 else (plural or singular + 's')}"


MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def ordinal(n: int, *, feminine: bool = False) -> str:
    """A French ordinal with its letters raised, as typography wants them and in plain text (modifier letters, not
    HTML), so that tables, CSV labels and figures show the same: ``ordinal(1)`` → « 1ᵉʳ », ``ordinal(1, feminine=True)``
    → « 1ʳᵉ », ``ordinal(3)`` → « 3ᵉ ». ``n`` must be a positive integer, else :class:`ValueError`."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"an ordinal is a positive integer, not {n!r}")
    return f"{int(n)}{'ʳᵉ' if feminine else 'ᵉʳ'}" if n == 1 else f"{int(n)}ᵉ"


def date(day: dt.date | str) -> str:
    """A date written the French way: ``date("2017-03-01")`` → « 1ᵉʳ mars 2017 », ``date("2016-09-15")`` →
    « 15 septembre 2016 ». A string must be an ISO date (``YYYY-MM-DD``), else :class:`ValueError`."""
    d = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
    return f"{ordinal(1) if d.day == 1 else d.day} {MONTHS[d.month - 1]} {d.year}"


def enumeration(items: Sequence[str]) -> str:
    """« a », « a et b », « a, b et c » (French: no comma before « et »)."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def pvalue(p: float, smallest: float = 1e-4, missing: str = MISSING) -> str:
    """A p-value with four decimals, or « < 0,0001 » below that; with up to six when four would round it up to a
    threshold it is below (0,04995 is written « 0,04995 », not « 0,0500 »)."""
    if _missing(p):
        return missing
    if p < smallest:
        return "<\u00a0" + number(smallest, 4)
    d = 4
    while d < 6 and any(p < t <= rounded(p, d) for t in (0.05, 0.01, 0.001)):
        d += 1
    return number(p, d)


def pvalue_stated(p: float) -> str:
    """:func:`pvalue` after « p » in a sentence: « = 0,0237 », or « < 0,0001 » (no « = < »)."""
    text = pvalue(p)
    return text if text.startswith("<") else "=\u00a0" + text


def bound(x: float, decimals: int = 1, sign: bool = False, missing: str = MISSING) -> str:
    """A confidence bound at ``decimals``, or with up to three more where it would read 0 without being 0:
    whether an interval excludes 0 must be seen in it. ``bound(0.04, 1)`` → « 0,04 », ``bound(-0.0004, 1)`` →
    « −0,0004 », ``bound(0.00001, 1)`` → « 0,0 »; ``sign``: written as :func:`signed` (« +0,04 »)."""
    if _missing(x):
        return missing
    d = next((k for k in range(decimals, decimals + 4) if rounded(x, k) != 0), decimals)
    return (signed if sign else number)(x, d)


def interval(low: float, high: float, decimals: int = 1, scale: float = 1.0, unit: str = "",
             sign: bool = False) -> str:
    """A confidence interval « [a ; b] » with its unit (a no-break space before « ; » and the unit); a bound that
    would read 0 without being 0 gets the decimals that show its sign (:func:`bound`). ``sign``: the interval of a
    gap, its bounds signed as the gap is (« [−1,3 ; +4,7] »)."""
    u = f"{NBSP}{unit}" if unit else ""
    return f"[{bound(low * scale, decimals, sign=sign)}{NBSP}; {bound(high * scale, decimals, sign=sign)}]{u}"


def table(df: pd.DataFrame | pd.Series, decimals: int | Mapping[str, int] = 3,
          pvalues: Iterable[str] = (), percents: Mapping[str, int] | None = None) -> pd.DataFrame:
    """A table for display: every numeric cell written by :func:`number` (strings and labels kept).

    ``decimals`` is one precision for every numeric column or a mapping column → precision
    (integer columns default to 0); columns in ``pvalues`` go through :func:`pvalue`, columns in
    ``percents`` (column → decimals) through :func:`percent`.
    """
    import pandas as pd

    frame = df.to_frame() if isinstance(df, pd.Series) else df
    pvalues, percents = set(pvalues), dict(percents or {})
    out = {}
    for col in frame.columns:
        s = frame[col]
        if col in pvalues:
            out[col] = s.map(pvalue)
        elif col in percents:
            out[col] = s.map(lambda v, d=percents[col]: percent(v, d))
        else:
            integer = pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s)
            d = decimals.get(col, 0 if integer else 3) if isinstance(decimals, Mapping) else (0 if integer else decimals)
            out[col] = s.map(lambda v, d=d: number(v, d) if isinstance(v, (int, float, np.number))
                             and not isinstance(v, (bool, np.bool_)) else v)
    return pd.DataFrame(out, index=frame.index)


def round(values, decimals: int = 0):
    """Numbers of a table or series rounded for display, numeric still, by :func:`rounded`'s rule (a half away from
    zero, negative zeros made positive): a table shows the 94,3 a sentence writes for 94.25, not pandas' half-even
    94,2. Missing values stay missing; non-numeric columns of a table are kept as they are.
    """
    import pandas as pd

    def column(s):
        out = s.map(lambda v: rounded(v, decimals) if not _missing(v) else v)
        return out.astype(s.dtype if pd.api.types.is_float_dtype(s) else float)

    if isinstance(values, pd.DataFrame):
        out = values.copy()
        for col in out.columns:
            if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
                out[col] = column(out[col]) if not pd.api.types.is_integer_dtype(out[col]) else out[col]
        return out
    if isinstance(values, pd.Series):
        return column(values)
    return rounded(values, decimals)
