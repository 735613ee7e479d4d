"""No e-mail address and no synthetic person's name in the visitor stage's outputs.

(The whole chain's outputs — everything ``make`` builds in a clean checkout — are scanned for every
planted e-mail, name and postcode in ``tests/test_chain.py``.)

The scan reads text files as text, Parquet files cell by cell (their pages are compressed, so a
byte scan would miss everything), and the XML inside XLSX/ZIP files. Names are looked for as
"first name + surname" pairs from the generator's lists (adjacent words, either order, case
ignored), which French prose and commune names do not produce; a column whose values are
mostly single names from the lists is flagged too. Virtual environments are skipped.
"""

from __future__ import annotations

import ipaddress
import random
import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pandas as pd
import pytest

from portrait.pipeline import config, io, paths
from portrait.study import partners, visitors

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")      # \w: internationalised addresses too
TAG = re.compile(r"<[^<>]{0,200}>")
WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
FIRST = {n.casefold() for names in partners.FIRST_NAMES.values() for n in names}
LAST = {n.casefold() for names in partners.LAST_NAMES.values() for n in names}
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".md", ".html", ".htm", ".json", ".ipynb", ".yaml", ".yml",
                 ".log", ".tex", ".svg", ".xml", ".js", ".css"}


def _name_pairs(text: str) -> list[str]:
    words = [w.casefold() for w in WORD.findall(text)]
    return [f"{a} {b}" for a, b in zip(words, words[1:])
            if (a in FIRST and b in LAST) or (a in LAST and b in FIRST)]


def _scan_text(text: str, where: str) -> list[str]:
    found = [f"{where}: e-mail address" for _ in EMAIL.findall(text)][:1]
    pairs = _name_pairs(TAG.sub(" ", text))  # HTML cells side by side are words side by side
    if pairs:
        found.append(f"{where}: {len(pairs)} first-name/surname pair(s)")
    return found


def _scan_parquet(path: Path, where: str) -> list[str]:
    table = pq.read_table(path)
    found = _scan_text(" ".join(table.column_names) + " " + str(table.schema.metadata or ""), where)
    for name in table.column_names:
        col = table.column(name)
        if not (col.type == "string" or col.type == "large_string"):
            continue
        values = {v for v in col.to_pylist() if v}
        for v in values:
            hits = _scan_text(v, f"{where} column {name!r}")
            if hits:
                found += hits
                break
        single = [v for v in values if v.casefold() in FIRST | LAST]
        if len(single) >= 5 and len(single) > 0.2 * len(values):
            found.append(f"{where} column {name!r}: {len(single)} values are first names or surnames")
    return found


def scan(roots: list[Path]) -> list[str]:
    """Every finding (file and kind, never the value found) under ``roots``."""
    found: list[str] = []
    for root in roots:
        if not root.exists():
            continue
        venvs = {p.parent for p in root.rglob("pyvenv.cfg")}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if any(v in path.parents for v in venvs):
                continue
            where = paths.relative(path)
            suffix = path.suffix.lower()
            if suffix == ".parquet":
                found += _scan_parquet(path, where)
            elif suffix in (".xlsx", ".zip", ".docx"):
                with zipfile.ZipFile(path) as z:
                    for member in z.namelist():
                        found += _scan_text(z.read(member).decode("utf-8", "replace"), f"{where}!{member}")
            elif suffix in TEXT_SUFFIXES:
                found += _scan_text(path.read_bytes().decode("utf-8", "replace"), where)
            else:  # binary: only what is readable as bytes
                found += [f"{where}: e-mail address"
                          for _ in EMAIL.findall(path.read_bytes().decode("latin-1"))][:1]
    return found


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The visitor stage on 2,000 synthetic records, its outputs written into a temporary folder."""
    tmp = tmp_path_factory.mktemp("privacy")
    gen = partners.generate_partner_files(tmp / "partners", n_records=2000, seed=3)
    res = visitors.ingest_partner_files(gen.folder, key=b"k" * 32, reference_date="2017-03-01",
                                        dot_insensitive_domains=["gmail.com", "example.com"])
    strata = visitors.allocate_invitations(res.frame, visitors.VisitorDesign(invitations=300, min_per_stratum=10))
    sample = visitors.draw_visitor_sample(res.frame, strata, config.rng(3, "visitor-sample"))
    out = tmp / "processed"
    io.write_parquet(res.frame, out / "visitor_frame.parquet")
    io.write_parquet(sample, out / "visitor_sample.parquet")
    io.write_parquet(res.ledger, out / "visitor_ledger.parquet")
    io.write_parquet(res.overlap, out / "visitor_overlap.parquet")
    io.write_csv(strata, out / "visitor_strata.csv", french=True)
    io.write_csv(visitors.ledger_summary(res.ledger, res.files), out / "ledger_summary.csv")
    return gen.folder, out


def test_visitor_stage_outputs_hold_no_email_and_no_name(small_run):
    """The ingest's outputs on generated partner files hold no e-mail address and no name."""
    _, out = small_run
    assert len(list(out.iterdir())) == 6
    found = scan([out])
    assert found == [], "\n".join(found)


def test_the_scan_finds_what_it_looks_for(small_run, tmp_path):
    """The scan flags the partner files themselves and planted leaks in Parquet, CSV and HTML."""
    partner_dir, _ = small_run
    assert any("e-mail" in f for f in scan([partner_dir]))
    assert any("pair" in f for f in scan([partner_dir]))
    import pandas as pd

    io.write_parquet(pd.DataFrame({"a": ["x", "jean.dupont@example.org"]}), tmp_path / "a.parquet")
    io.write_parquet(pd.DataFrame({"nom": ["Dupont", "Martin", "Leroy", "Caron", "Simon", "Lemaire"]}),
                     tmp_path / "b.parquet")
    (tmp_path / "c.csv").write_text("id;qui\n1;DUPONT Jean\n", encoding="utf-8")
    (tmp_path / "d.html").write_text("<td>Hélène</td><td>Lefèvre</td>", encoding="utf-8")
    found = scan([tmp_path])
    assert {f.split(":")[0].split(" column")[0].rsplit("/", 1)[-1] for f in found} == \
        {"a.parquet", "b.parquet", "c.csv", "d.html"}


def test_the_scan_does_not_flag_french_prose_or_commune_names(tmp_path):
    """Ordinary report text, commune names and library URLs give no finding."""
    (tmp_path / "r.html").write_text(
        "<p>Saint-Martin-Boulogne, Villeneuve-d'Ascq, Marie de Lille ; intervalle de Wilson ; "
        "https://cdn.jsdelivr.net/npm/mathjax@2.7.7/MathJax.js ; Thomas Lumley, survey.</p>", encoding="utf-8")
    assert scan([tmp_path]) == []


@pytest.mark.parametrize("text,expected", [
    ("écrivez à jean.dupont+promo@example.org svp", "écrivez à [courriel supprimé] svp"),
    ("a_b-c@sub.mail.example", "[courriel supprimé]"),
    ("Élodie.Lefèvre@Exemple.TEST.", "[courriel supprimé]."),
    ("deux : x@y.example.org, z@w.invalid", "deux : [courriel supprimé], [courriel supprimé]"),
    ("la mer @ Wimereux", "la mer @ Wimereux"),
    # a trial found these kept in data/processed: written out, without a suffix, spaced
    ("JEANNE.DUPONT(at)gmail.com", "[courriel supprimé]"),
    ("jean.dupont@gmail", "[courriel supprimé]"),
    ("marc.lefebvre @ free.fr merci", "[courriel supprimé] merci"),
    ("jean dot dupont at laposte dot net", "[courriel supprimé]"),
    ("x [arobase] free [point] fr", "[courriel supprimé]"),
    ("beffroi at dusk", "beffroi at dusk"),
])
def test_every_part_of_an_email_in_an_open_answer_is_removed(text, expected):
    """Trial K (a mutation survived): a « +tag » left « jean+[courriel supprimé] » when the pattern lost its « + »;
    the only case tested had none. Each address, written by hand, is replaced whole; an « @ » alone is not."""
    from portrait.study import open_answers

    cleaned, emails, phones = open_answers.contact_details(pd.Series([text], dtype="string"))
    assert (emails == 1) == (text != expected) and phones == 0
    assert cleaned.iloc[0] == expected


@pytest.mark.parametrize("text,expected", [
    ("06 12 34 56 78", "[téléphone supprimé]"),
    ("appelez le 0612345678 svp", "appelez le [téléphone supprimé] svp"),
    ("+33 6 12 34 56 78", "[téléphone supprimé]"),
    ("+33 (0)6 12 34 56 78", "[téléphone supprimé]"),
    ("0033 3.20.12.34.56", "[téléphone supprimé]"),
    ("+44 20 7946 0958", "[téléphone supprimé]"),
    ("06/12/34/56/78", "[téléphone supprimé]"),
    ("né en 1975, 3 enfants, 62 100 habitants, code 59350", "né en 1975, 3 enfants, 62 100 habitants, code 59350"),
    # a review: dates, times and figures were wiped by the first pattern (one separator throughout now, and an
    # international number needs 9 to 15 digits not grouped in thousands)
    ("le 03 12 2017 14 h 30", "le 03 12 2017 14 h 30"),
    ("le 05.12.2023 10h", "le 05.12.2023 10h"),
    ("hausse de +1 200 000 visiteurs", "hausse de +1 200 000 visiteurs"),
    ("+12 345 678 €", "+12 345 678 €"),
    ("2 3 4 5 6 et 10 000 habitants", "2 3 4 5 6 et 10 000 habitants"),
])
def test_phone_numbers_in_an_open_answer_are_removed(text, expected):
    """A trial found « 06 12 34 56 78 », « 0612345678 » and « +33 6 … » in data/processed: a phone number is a direct
    identifier. French numbers in any spacing and international ones are replaced; years, postcodes, counts and
    dates are not."""
    from portrait.study import open_answers

    cleaned, emails, phones = open_answers.contact_details(pd.Series([text], dtype="string"))
    assert cleaned.iloc[0] == expected and emails == 0 and phones == (text != expected)


@pytest.mark.parametrize("text", ["a" * 10_000, "1" * 10_000, "a-" * 5_000, "a." * 5_000 + "@x", "x@" + "a" * 10_000,
                                  "06 " * 3_000])
def test_a_long_answer_is_cleaned_in_linear_time(text):
    """A review: a 10,000-character answer without spaces took 16 s with the first e-mail pattern (backtracking).
    Bounded pieces and a start outside words keep each case far under a second (stated bound: 0.5 s, measured
    ~5 ms)."""
    import time

    from portrait.study import open_answers

    start = time.perf_counter()
    open_answers.contact_details(pd.Series([text], dtype="string"))
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("value,shown", [("Eva", False), ("Tom", False), ("A12", True), ("Y", True), ("oui", True),
                                         ("12", True), ("2017-03-01", True), ("Martine", False)])
def test_a_message_repeats_a_code_but_not_a_short_name(value, shown):
    """A trial typed « Eva » in a contact-status cell and read « value 'Eva' » in the message: a code of at most three
    characters may be repeated, a capitalised word (a name) is given by its length only."""
    from portrait.study.export_readers import Problem

    p = Problem("f.csv", 2, "statut", value, "unknown_disposition", "not a status")
    assert (p.value == value) == shown and (p.length is None) == shown
    assert (f"'{value}'" in str(p)) == shown


@pytest.mark.parametrize("text,expected", [
    ("ma connexion 192.168.1.12 ne marche pas", "ma connexion [adresse IP supprimée] ne marche pas"),
    ("10.0.0.1", "[adresse IP supprimée]"),
    ("IP: 255.255.255.255.", "IP: [adresse IP supprimée]."),
    ("version 1.2.3, le 05.12.2023, note 3.5", "version 1.2.3, le 05.12.2023, note 3.5"),
    ("999.1.1.1 et 1.2.3.4.5", "999.1.1.1 et 1.2.3.4.5"),
])
def test_ip_addresses_in_an_open_answer_are_removed(text, expected):
    """An IP address can point to a household (personal data): one typed in an open answer stayed in data/processed
    (left from a trial). Four numbers 0–255 are replaced; versions, dates, decimals and longer dotted runs are not."""
    from portrait.study import open_answers

    cleaned, n = open_answers.ip_addresses(pd.Series([text], dtype="string"))
    assert cleaned.iloc[0] == expected and n == (text != expected)


# -------------------------------------------------------------------------------- IPv6 and MAC addresses
# Python's ipaddress is the oracle: every written form below parses to the address it was written from, and every
# near-miss is refused by it. The contexts are where a respondent puts an address: alone, in a sentence, after a
# label and a colon with or without a space, in brackets with a port, at the end of a sentence.
IPV6_CONTEXTS = ["{}", "ma box affiche {} depuis hier", "({})", "{}.", "IP:{}", "IPv6:{}", "adresse:{}",
                 "adresse : {} ; merci", "[{}]:443", "http://[{}]/", "{}, {}"]


def _hextets(rng) -> list[int]:
    """Eight groups, zero often (so that « :: » has runs to compress), small or any value otherwise; not all zero
    (« :: », the unspecified address, points to no one and is left)."""
    while not any(h := [rng.choice([0, 0, 0, rng.randrange(16), rng.randrange(0x10000)]) for _ in range(8)]):
        pass
    return h


def _with_gap(groups: list[str], rng) -> str:
    """``groups`` written with one run of zero groups, chosen at random among all of them, as « :: »."""
    runs = [(i, j) for i in range(len(groups)) for j in range(i + 1, len(groups) + 1)
            if all(int(g, 16) == 0 for g in groups[i:j])]
    if not runs:
        return ":".join(groups)
    i, j = rng.choice(runs)
    return ":".join(groups[:i]) + "::" + ":".join(groups[j:])


def _ipv6_forms(rng) -> list[tuple[str, ipaddress.IPv6Address]]:
    """An address in every textual form: exploded, compressed, in capitals, full without leading zeros, any zero run
    compressed, an IPv4 tail (full or compressed), a zone."""
    h = _hextets(rng)
    addr = ipaddress.IPv6Address(sum(x << (16 * (7 - k)) for k, x in enumerate(h)))
    bare = [f"{x:x}" for x in h]
    tail = str(ipaddress.IPv4Address((h[6] << 16) | h[7]))
    forms = [addr.exploded, addr.compressed, addr.compressed.upper(), ":".join(bare), _with_gap(bare, rng),
             ":".join(bare[:6]) + ":" + tail, _with_gap(bare[:6], rng) + ":" + tail,
             addr.compressed + rng.choice(["%eth0", "%en0", "%25", "%wlan0.1", "%12"])]
    return [(f.replace(":::", "::"), addr) for f in forms]     # a gap at the end of the first six, before the tail


def test_every_written_form_of_an_ipv6_address_is_removed():
    """IPv6 addresses stayed in open answers (only IPv4 was removed); an IPv6 address points to a household as surely
    (its prefix is the subscriber's line). 300 random addresses, 8 written forms each, in 11 contexts: every one is
    replaced whole and counted, the context kept."""
    from portrait.study import open_answers

    rng = random.Random(20170301)
    texts, expected = [], []
    for _ in range(300):
        for form, addr in _ipv6_forms(rng):
            assert ipaddress.IPv6Address(form.split("%")[0]) == addr          # the oracle reads the form back
            for context in IPV6_CONTEXTS:
                texts.append(context.format(form, form))
                expected.append(context.format(open_answers.IP_REPLACEMENT, open_answers.IP_REPLACEMENT))
    cleaned, n = open_answers.ip_addresses(pd.Series(texts, dtype="string"))
    wrong = [(t, c) for t, c, e in zip(texts, cleaned, expected) if c != e]
    assert wrong == [] and n == len(texts), wrong[:5]


def _near_misses(rng) -> list[str]:
    """Texts that are no IPv6 address (the oracle refuses each): times, ratios, colours, MAC addresses, and addresses
    with a ninth group, a seventh without « :: », a group of five digits, two « :: », an IPv4 tail out of range."""
    h = [f"{x:x}" for x in _hextets(rng)]
    hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
    k = rng.randrange(8)
    return [f"{hh}:{mm:02d}", f"{hh:02d}:{mm:02d}:{ss:02d}", f"{hh}:{mm:02d}:{ss:02d}.{rng.randrange(1000)}",
            f"{rng.randrange(1, 20)}:{rng.randrange(1, 20)}", f"#{rng.randrange(0x1000000):06x}", mac,
            mac.replace(":", "-"), ":".join(h + ["1"]), ":".join(h[:7]),
            ":".join(h[:k] + ["1" + f"{rng.randrange(0x10000):04x}"] + h[k + 1:]),
            ":".join(h[:2]) + "::" + ":".join(h[3:5]) + "::" + h[7],
            ":".join(h[:6]) + f":192.0.2.{rng.randrange(256, 1000)}", "std::cout", "1::2::3"]


def test_times_ratios_colours_mac_and_malformed_ipv6_are_left():
    """What looks like an IPv6 address without being one is not removed (each refused by ipaddress first): 200 draws
    of times, ratios, hex colours, MAC addresses (another placeholder), and addresses one group too long or short,
    with a five-digit group, two « :: » or an IPv4 tail out of range, alone or in a sentence."""
    from portrait.study import open_answers

    rng = random.Random(20170302)
    texts = []
    for _ in range(200):
        for text in _near_misses(rng):
            with pytest.raises(ValueError):
                ipaddress.IPv6Address(text)
            texts += [text, f"à {text} près"]
    cleaned, n = open_answers.ip_addresses(pd.Series(texts, dtype="string"))
    wrong = [(t, c) for t, c in zip(texts, cleaned) if c != t]
    assert wrong == [] and n == 0, wrong[:5]


@pytest.mark.parametrize("text,expected", [
    ("voir :: plus bas, std::cout", "voir :: plus bas, std::cout"),    # « :: » alone is valid, and points to no one
    ("1:2:3:4:5:6:7:8:9 et 2001:db8::1::2", "1:2:3:4:5:6:7:8:9 et 2001:db8::1::2"),    # a longer run is left whole
    ("2001:0db8::0001/64, passerelle fe80::1", "[adresse IP supprimée]/64, passerelle [adresse IP supprimée]"),
    ("IPV6=2A01:CB00::5;fe80::1%25eth0!", "IPV6=[adresse IP supprimée];[adresse IP supprimée]!"),
])
def test_ipv6_boundaries(text, expected):
    """Decided by hand where the oracle is silent: « :: » alone, and an address inside a run too long to be one, are
    left; a prefix length and punctuation stay outside the address removed."""
    from portrait.study import open_answers

    cleaned, n = open_answers.ip_addresses(pd.Series([text], dtype="string"))
    assert cleaned.iloc[0] == expected and n == (text != expected)


@pytest.mark.parametrize("text,expected", [
    ("adresse MAC 00:1A:2B:3C:4D:5E.", "adresse MAC [adresse MAC supprimée]."),
    ("box aa-bb-cc-dd-ee-ff, IP ::ffff:192.0.2.1", "box [adresse MAC supprimée], IP ::ffff:192.0.2.1"),
    # decided: six two-digit numbers joined by the same « - » are taken for a MAC address (one without a letter is as
    # identifying; a lottery draw is the only loss); mixed separators, five or seven pairs, a UUID are left
    ("01-02-03-04-05-06", "[adresse MAC supprimée]"),
    ("00:1a-2b:3c:4d:5e, 00:1a:2b:3c:4d, 00:1a:2b:3c:4d:5e:6f",
     "00:1a-2b:3c:4d:5e, 00:1a:2b:3c:4d, 00:1a:2b:3c:4d:5e:6f"),
    ("123e4567-e89b-12d3-a456-426614174000 à 12:30:45", "123e4567-e89b-12d3-a456-426614174000 à 12:30:45"),
    # the dotted form network equipment prints (« show mac address-table »), whole, in either case
    ("routeur 001a.2b3c.4d5e, voilà", "routeur [adresse MAC supprimée], voilà"),
    ("(AABB.CCDD.EEFF)", "([adresse MAC supprimée])"),
    # decided: three four-digit numbers with dots and no letter are prose (years, a reference); two or four groups,
    # groups of three, an IPv4 address and a version number are left
    ("en 2016.2017.2018 et 1234.5678.9012", "en 2016.2017.2018 et 1234.5678.9012"),
    ("001a.2b3c, 001a.2b3c.4d5e.6f70, 01a.2b3c.4d5e, 192.168.0.1, v1.2.3a",
     "001a.2b3c, 001a.2b3c.4d5e.6f70, 01a.2b3c.4d5e, 192.168.0.1, v1.2.3a"),
])
def test_mac_addresses_in_an_open_answer_are_removed(text, expected):
    """A MAC address identifies a network card for its life (personal data as an IP address is): six pairs of hex
    digits with « : » or « - » throughout, or three groups of four with dots, are replaced by their own placeholder;
    an IPv6 address is not theirs."""
    from portrait.study import open_answers

    cleaned, n = open_answers.mac_addresses(pd.Series([text], dtype="string"))
    assert cleaned.iloc[0] == expected and n == (text != expected)


@pytest.mark.parametrize("text", ["a:" * 5_000, "1:" * 5_000, "ab::" * 2_500, "fe80::1 " * 1_250, "0:" * 3_000 + "::",
                                  "a-" * 5_000, "1" * 10_000, "abcd." * 2_000, "1234." * 2_000])
def test_ip_and_mac_addresses_are_found_in_linear_time(text):
    """The IPv6 pattern tries nine forms from each start; a long colon run or many addresses stay far under a second
    (stated bound: 0.5 s)."""
    import time

    from portrait.study import open_answers

    start = time.perf_counter()
    values, _ = open_answers.ip_addresses(pd.Series([text], dtype="string"))
    open_answers.mac_addresses(values)
    assert time.perf_counter() - start < 0.5


def test_report_03_counts_ipv6_with_ipv4_and_mac_addresses_apart():
    """The report's count of IP addresses is of answers that held one of either family; MAC addresses are said apart,
    and only when some were removed."""
    from types import SimpleNamespace

    from portrait.reporting import fieldwork_text
    from portrait.study import open_answers

    answers = pd.Series(["IP 192.0.2.7", "IPv6 2a01:cb00:1:2::5", "les deux : 10.0.0.1 et fe80::1%eth0", "rien",
                         "carte 00:1A:2B:3C:4D:5E"], dtype="string")
    cleaned, ips = open_answers.ip_addresses(answers)
    cleaned, macs = open_answers.mac_addresses(cleaned)
    assert (ips, macs) == (3, 1)
    base = dict(emails_removed=0, phones_removed=0, controls_removed=0, codes_padded={}, survey="residents")
    said = fieldwork_text.cleaning_sentence({"residents": SimpleNamespace(**base, ips_removed=ips, macs_removed=macs)})
    said = said.replace("\u00a0", " ")
    assert "3 réponses dont l'adresse IP a été remplacée par « [adresse IP supprimée] »" in said
    assert ("1 réponse dont l'adresse MAC (d'une carte réseau) a été remplacée par « [adresse MAC supprimée] »"
            in said)
    assert "adresse MAC" not in fieldwork_text.cleaning_sentence(
        {"residents": SimpleNamespace(**base, ips_removed=ips, macs_removed=0)})


def test_report_03_counts_ip_addresses_only_when_some_were_removed():
    from types import SimpleNamespace

    from portrait.reporting import fieldwork_text

    base = dict(emails_removed=0, phones_removed=0, controls_removed=0, codes_padded={}, survey="residents")
    said = fieldwork_text.cleaning_sentence({"residents": SimpleNamespace(**base, ips_removed=2)})
    assert "2 réponses dont l'adresse IP a été remplacée par « [adresse IP supprimée] »" in said.replace("\u00a0", " ")
    assert "adresse IP" not in fieldwork_text.cleaning_sentence({"residents": SimpleNamespace(**base, ips_removed=0)})


def test_a_mac_address_that_holds_a_phone_number_is_removed_whole():
    """A final review: with the phone pass first, « 08-00-27-12-34-56 » (a VirtualBox card, as Windows writes it) left
    « [téléphone supprimé]-56 » and counted a phone. Through the ingest's cleaning, the whole address goes, counted as
    a MAC address; a phone number stays a phone number."""
    from portrait.study import codebook, open_answers

    cb = codebook.load()
    columns = [c for v in cb.variables_for("residents") if v.type == "open_words" for c in v.columns]
    answers = {c: pd.Series(["rien"] * 3, dtype="string") for c in columns}
    column = columns[0]
    answers[column] = pd.Series(["carte 08-00-27-12-34-56", "appelez le 06 12 34 56 78", "rien"], dtype="string")
    emails, phones, controls, ips, macs = open_answers.clean(answers, cb, "residents")
    assert (phones, macs, ips) == (1, 1, 0)
    assert list(answers[column]) == ["carte [adresse MAC supprimée]", "appelez le [téléphone supprimé]", "rien"]


def test_the_remembered_search_of_what_a_cleaning_needs_answers_as_the_search_does():
    """The ingest skips a column none of whose texts holds what a cleaning looks for; that search is remembered per
    text (:func:`portrait.study.open_answers._hinted`), asked again here, and a column seen clean is still cleaned
    once it holds an address."""
    from portrait.study import codebook, open_answers

    texts = ["rien", "", "jean@example.org", "jean at example dot org", "06 12 34 56 78", "fe80::1",
             "08-00-27-12-34-56", "a\x07b", "at", "chat", "١٢٣", "le 1er mai", "12 h"]
    for _ in range(2):
        assert [open_answers._hinted(t) for t in texts] == [open_answers._ANY.search(t) is not None for t in texts]
    cb = codebook.load()
    columns = [c for v in cb.variables_for("residents") if v.type == "open_words" for c in v.columns]
    column = columns[0]
    for text, emails in (("rien", 0), ("jean@example.org", 1), ("rien", 0)):
        answers = {c: pd.Series([text if c == column else "rien", "rien"], dtype="string") for c in columns}
        assert open_answers.clean(answers, cb, "residents")[0] == emails
        assert answers[column].iloc[0] == ("[courriel supprimé]" if emails else text)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 from its definition (RFC 2104: ``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))``, 64-byte blocks), built on
    hashlib's SHA-256 alone, not on the ``hmac`` module the code calls."""
    import hashlib

    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in block) + inner).digest()


def test_pseudonyms_and_invitation_tokens_are_the_documented_keyed_hash():
    """A pseudonym is the first 32 hex digits of HMAC-SHA256(key, normalised address); an invitation token the first
    15 characters of base32(HMAC-SHA256(key, "<survey>:<id>")) (docstrings, README). Oracle: RFC 4231's published
    test case 1 for the hash itself (key 20 × 0x0b, « Hi There »), then the hand-built HMAC above on a key as the
    study makes them; a pseudonym that the key did not enter, or a token that left out the survey, fails."""
    import base64

    from portrait.study import survey_tools

    rfc_key = b"\x0b" * 20
    assert _hmac_sha256(rfc_key, b"Hi There").hex() == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"            # RFC 4231, 4.2
    assert visitors.pseudonymise(pd.Series(["Hi There"]), rfc_key).iloc[0] == "b0344c61d8db38535ca8afceaf0bf12b"
    key = b"0123456789abcdef0123456789abcdef"
    addresses = pd.Series(["jean.dupont@example.com", None, "jean.dupont@example.com", "lea.martin@example.org"])
    got = visitors.pseudonymise(addresses, key)
    want = [_hmac_sha256(key, a.encode()).hex()[:32] if isinstance(a, str) else None for a in addresses]
    assert got.tolist()[:1] + got.tolist()[2:] == want[:1] + want[2:] and pd.isna(got.iloc[1])
    ids = ["02049-007", "59350-112"]
    for survey in ("residents", "visitors"):
        want = [base64.b32encode(_hmac_sha256(key, f"{survey}:{i}".encode())).decode()[:15] for i in ids]
        assert list(survey_tools.tokens(ids, survey, key)) == want


RESERVED = re.compile(r"(^|\.)(example\.(com|org|net)|example|test|invalid|localhost)$")


def test_every_address_in_git_is_at_a_reserved_domain():
    """No real e-mail address is committed: every address in a tracked file (text, or the XML inside a workbook)
    is at a domain reserved for examples and tests (RFC 2606 and 6761: example.com, .org, .net, and the .example,
    .test, .invalid and .localhost names), whatever the file — fixtures, docs, code."""
    import subprocess

    files = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    seen, outside = 0, []
    for name in filter(None, files):
        path = paths.ROOT / name
        if path.suffix in (".xlsx", ".docx", ".zip"):
            with zipfile.ZipFile(path) as z:
                texts = [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")]
        else:
            texts = [path.read_bytes().decode("utf-8", "replace")]
        for text in texts:
            for address in EMAIL.findall(text):
                seen += 1
                if not RESERVED.search(address.rsplit("@", 1)[1].casefold()):
                    outside.append(f"{name}: an address at {address.rsplit('@', 1)[1]}")
    assert seen > 20 and outside == []
