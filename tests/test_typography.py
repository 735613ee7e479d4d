"""French typography of what reviewers read: no line may break between a number and its « % », before
« : ; ? ! » » or after « « », nor inside a number (thousands separator).

The oracle is the rule of French typography (Lexique des règles typographiques en usage à l'Imprimerie
nationale): those spaces are no-break spaces. An ordinary space there let report 07 wrap « 28,4 » away from
its « % » on a phone (218 such pairs) while report 06 used no-break spaces.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from portrait.reporting import comparison_text, sections, synthesis
from portrait.reporting import formatting as fmt

ROOT = Path(__file__).resolve().parents[1]

#: An ordinary space where French typography wants a no-break one (after « = » too: « p ajusté = 0,2070 » broke
#: after its sign in 07, beside « p = 0,0192 » elsewhere).
BREAKABLE = re.compile(r"\d %|\S [:;?!»]|[«±=<] \S|\b\d{1,3} \d{3}\b")


def breakable_spaces(text: str) -> list[str]:
    """Each place of ``text`` where a line could break against French typography, with some context."""
    return [text[max(m.start() - 30, 0):m.end() + 10] for m in BREAKABLE.finditer(text)]


class _Text(HTMLParser):
    """The text a reader sees in an HTML output: scripts, styles and drawings left out."""

    def __init__(self) -> None:
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "svg")
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "svg")
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def seen(kind: str, text: str) -> str:
    if kind != "text/html":
        return text
    parser = _Text()
    parser.feed(text)
    return "".join(parser.parts)


def test_the_check_finds_each_breakable_space():
    """The check flags each fault a reader reported, and passes the same text once :func:`french` wrote it."""
    faulty = "Taux de réponse : 28,4 % chez les habitants ; « Sûre » ? non ! étude de 1 000 réplications, ± 0,3 point"
    assert len(breakable_spaces(faulty)) == 8
    assert breakable_spaces(fmt.french(faulty).replace("1 000", fmt.number(1000))) == []


def test_french_puts_no_break_spaces_where_french_typography_wants_them():
    """Before « : ; ? ! % ‰ » » and after « « », « ± », « = » and « < »; nowhere else (a Markdown quotation's « > »
    kept), and twice is once."""
    assert fmt.french("a : b ; « c » ? d ! 5 % ± 1") == "a\u00a0: b\u00a0; «\u00a0c\u00a0»\u00a0? d\u00a0! 5\u00a0% ±\u00a01"
    assert fmt.french("de 0,930 ‰ à 1,089 ‰") == "de 0,930\u00a0‰ à 1,089\u00a0‰"     # report 01's sampling rates
    assert fmt.french("x − y, p < 0,05 (n = 3) http://a/b") == "x − y, p <\u00a00,05 (n =\u00a03) http://a/b"
    assert fmt.french("> **Données simulées.** p > 0,05") == "> **Données simulées.** p > 0,05"
    once = fmt.french("« a » : 1 %")
    assert fmt.french(once) == once


def test_formatter_numbers_never_break():
    """The formatter's thousands separator and unit spaces are no-break spaces (« 1 000 » wrapped in report 08)."""
    for text in (fmt.number(1000), fmt.number(-1234567.5, 1), fmt.percent(0.284), fmt.points(0.123),
                 fmt.pvalue(1e-6), fmt.count(1500, "colonne")):
        assert breakable_spaces(text) == [], text


def _differences() -> pd.DataFrame:
    return pd.DataFrame({
        "in_battery": True, "statistic": ["accord", "accord", "mean", "accord"],
        "level": ["top2", "top2", "", "top2"], "type": ["likert5", "likert5", "score_0_10", "likert5"],
        "item": ["img_dynamique", "img_cadre_vie", "recommandation", "img_sure"],
        "item_label": ["Les Hauts-de-France sont une région dynamique économiquement",
                       "Les Hauts-de-France offrent un cadre de vie agréable",
                       "Recommanderiez-vous les Hauts-de-France ?", "Les Hauts-de-France sont une région sûre"],
        "estimate_residents": [0.347, 0.637, 6.69, 0.418], "estimate_visitors": [0.470, 0.502, 7.15, 0.406],
        "estimate": [0.123, -0.135, 0.46, -0.012], "ci_low": [0.086, -0.172, 0.30, -0.048],
        "ci_high": [0.160, -0.098, 0.62, 0.024], "p": [0.0001, 0.0001, 0.0001, 0.5],
        "p_adj": [0.001, 0.001, 0.001, 0.6], "adjustment": "fdr_bh", "confidence_level": 0.95})


def test_report_sentences_keep_numbers_with_their_units_and_punctuation():
    """The sentences reports 06 and 07 build (method, findings, regions, words, takeaways' reconciliation, tables'
    cells) have no breakable space before « % : ; ? ! » » or after « « »."""
    counts = dict(communes_drawn=215, communes=3782, resident_invitations=5004, frame_persons=53995,
                  visitor_invitations=18000, take=20, certain_communes=30, certain_min=17, certain_max=200)
    ledger = pd.DataFrame({"survey": ["residents", "residents", "visitors", "visitors"],
                           "status": ["respondent", "nonrespondent", "respondent", "nonrespondent"], "n": [1, 3, 1, 9]})
    diag = {g: pd.Series({"deff de Kish": 1.1}) for g in ("residents", "visitors")}
    regions = pd.DataFrame({"groupe": ["Habitants"], "question": ["image_globale"], "écart NPdC − Picardie": [0.34],
                            "écart bas": [0.05], "écart haut": [0.63], "p_adj": [0.0837], "confidence_level": 0.95})
    words = pd.DataFrame({"level": ["fière", "grise"], "p_adj_words": [0.001, 0.01], "specific_to": ["residents", "visitors"],
                          "points": [-0.075, 0.028], "estimate_residents": [0.097, 0.042],
                          "estimate_visitors": [0.022, 0.070]})
    texts = [synthesis.method_sentences(counts, ledger, diag, adjustment="méthode de Holm", level=0.95),
             *synthesis.findings(_differences()), comparison_text.findings_sentence(_differences()),
             synthesis.limits("simulated", [pd.DataFrame({"marge": ["taille"], "source": ["x"], "hypothèse": ["parts : 1 %"]})]),
             synthesis.ci_text(0.123, 0.086, 0.160, scale=100, unit="points", signed=True, level=0.95),
             sections.regions_sentences(regions), sections.words_sentence(words),
             sections.both_lists(["a"], ["a"], {"a": "Conviviale"}), sections.pct_ci(pd.Series({"estimate": 0.65, "ci_low": 0.62, "ci_high": 0.67, "confidence_level": 0.9})),
             sections.scope_sentence({"residents": 1397, "visitors": 2463}),
             *synthesis.margins_table({"residents": pd.DataFrame({"marge": ["taille"], "source": ["Insee"],
                                                                  "hypothèse": ["parts appliquées au total : 2017"]})}
                                      ).to_numpy().ravel()]
    faults = [f for t in texts for f in breakable_spaces(t)]
    assert faults == []


@pytest.mark.parametrize("stem", ["06_comparison", "07_synthesis"])
def test_the_comparison_reports_as_rendered_have_no_breakable_space(stem):
    """Every text reports 06 and 07 show — their markdown cells and the outputs of their code cells as the
    regression run stored them (tests/notebooks/<stem>.outputs.json) — keeps French spacing."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    texts = [("markdown", c.source) for c in nb.cells if c.cell_type == "markdown"]
    stored = json.loads((ROOT / "tests" / "notebooks" / f"{stem}.outputs.json").read_text(encoding="utf-8"))
    for outputs in stored.values():
        for o in outputs:
            for kind in ("text/markdown", "text/html"):
                data = o.get("data", {}).get(kind)
                if data:
                    texts.append((kind, "".join(data) if isinstance(data, list) else data))
    faults = [f for kind, t in texts for f in breakable_spaces(seen(kind, t))]
    assert faults == [], f"{len(faults)} breakable spaces, e.g. {faults[:5]}"


def test_typeset_sets_prose_and_leaves_code_tags_and_table_rows_as_written():
    """Reports render every markdown cell and output through :func:`typeset_markdown` or :func:`typeset_html`:
    their prose then has no breakable space, while what a reader does not read as prose keeps its bytes (a code
    span, a fenced block, a tag's attributes, a link target, a table's alignment row, a style sheet)."""
    md = ("# Terrain : bilan\n\nLes 5 000 invitations ; « oui » ? 12,5 % et `a ; b`.\n\n| a | b |\n| :--- | ---: |\n"
          "| x : y | 1 234 567 |\n\n```\nsi x : y\n```\n[le lien : ici](http://h/?q=a ;b) <span title=\"t : u\">v</span>")
    out = fmt.typeset_markdown(md)
    assert breakable_spaces(re.sub(r"`[^`]*`|```.*?```|<[^>]+>|\]\([^)]*\)|\| :--- \| ---: \|", "", out, flags=re.S)) == []
    for kept in ("`a ; b`", "| :--- | ---: |", "```\nsi x : y\n```", "(http://h/?q=a ;b)", '<span title="t : u">'):
        assert kept in out
    assert "1\u202f234\u202f567" in out and "12,5\u00a0%" in out and "0,5 000" == fmt.typeset("0,5 000")
    page = ('<style>a :hover { b : c }</style><table><tr><td title="x : y">Oui : 5 %</td><td><pre>p : q</pre>'
            '<code>r ; s</code> fin ?</td></tr></table>')
    out = fmt.typeset_html(page)
    assert out == page.replace("Oui : 5 %", "Oui\u00a0: 5\u00a0%").replace(" fin ?", " fin\u00a0?")
    assert fmt.typeset_markdown(fmt.typeset_markdown(md)) == fmt.typeset_markdown(md)
    assert fmt.typeset_html(out) == out


def test_typeset_sets_the_typographic_apostrophe_within_words_only():
    """French typography writes « l’image » with U+2019; quotes around a word, code, attributes and link targets
    keep the straight one (a reviewer found the reports' straight apostrophes)."""
    assert fmt.typeset("l'image d'été, aujourd'hui") == "l\u2019image d\u2019été, aujourd\u2019hui"
    assert fmt.typeset("'source' et x' = 2") == "'source' et x' =\u00a02"      # quotes and primes are not apostrophes
    assert fmt.typeset_html('<td title="l\'an">d&#x27;accord</td>') == '<td title="l\'an">d\u2019accord</td>'
    md = "L'étude : `d'abord` et [l'index](a'b.html)"
    assert fmt.typeset_markdown(md) == "L\u2019étude\u00a0: `d'abord` et [l\u2019index](a'b.html)"
    assert fmt.typeset(fmt.typeset("l'an")) == fmt.typeset("l'an")


def test_figures_set_the_apostrophe_as_the_prose_around_them():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from portrait.reporting import plots

    fig, ax = plt.subplots()
    ax.set(title="Probabilité d'inclusion", xlabel="'x'")
    ax.set_yticks([0, 1], ["Côte d'Opale", "b"])
    fig2, ax2 = plt.subplots()
    ax2.bar(["Côte d'Opale", "Lille"], [1, 2])                      # categorical axis: seaborn's and pandas' way
    for f in (fig, fig2):
        plots.show(f, "alt")
        f.canvas.draw()                                              # tick labels as drawn when saved
    texts = {t.get_text() for f in (fig, fig2) for t in f.findobj(plots.Text)}
    assert {"Probabilité d\u2019inclusion", "Côte d\u2019Opale", "'x'", "Lille"} <= texts
    assert not [t for t in texts if "d'" in t]


def test_alternative_text_of_a_figure_has_the_french_no_break_spaces():
    """A screen reader and a copy of the alt text get what the prose gets: « 95 % » and « : » not broken from their
    number or word, and the typographic apostrophe."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from portrait.reporting import plots

    fig, _ = plt.subplots()
    alt = plots.show(fig, "Couverture à 95 % : l'ensemble").alt
    assert alt == "Couverture à 95\u00a0%\u00a0: l\u2019ensemble"
