"""Open answers as the ingest keeps them: contact details a respondent typed replaced by a placeholder, control
characters removed, each counted (report 03 and the check report say how many).

E-mail addresses are found written out or not (:data:`EMAIL`), phone numbers in French or international form
(:data:`PHONE`, :func:`is_phone`), IP addresses of both families (:data:`IPV4`, :data:`IPV6`) and MAC addresses
(:data:`MAC`); a name typed in an answer stays (docs/real_data.md).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from ..survey.labels import arrow_chunks
from .codebook import Codebook
from .export_checks import CONTROL


# an e-mail address as people type it in an open answer: with or without its domain's suffix, spaces around the
# « @ », or the « @ » and dots written out (« jean dot dupont at laposte dot net », « (at) », « [arobase] »)
_DOT = r"(?:\.|\s*[\(\[\{]\s*(?:dot|point)\s*[\)\]\}]\s*|\s+(?:dot|point)\s+)"
# bounded pieces and a start that is not inside a word: a long run of letters cannot make the search backtrack
# (a review: 16 s on a 10,000-character answer with the unbounded pattern)
_LOCAL = rf"(?<![\w+.-])[\w+-]{{1,64}}(?:{_DOT}[\w+-]{{1,64}}){{0,6}}"
_DOMAIN = r"[\w-]{1,63}"
# « x@y » whole is one even without a suffix; spaced or spelled out, only with a dotted domain (« la mer @ Wimereux »
# and « beffroi at dusk » are prose)
EMAIL = re.compile(rf"{_LOCAL}@{_DOMAIN}(?:{_DOT}{_DOMAIN}){{0,6}}"
                   rf"|{_LOCAL}(?:\s*@\s*|\s*[\(\[\{{]\s*(?:at|arobase)\s*[\)\]\}}]\s*|\s+(?:at|arobase)\s+)"
                   rf"{_DOMAIN}(?:{_DOT}{_DOMAIN}){{1,6}}", re.IGNORECASE)
EMAIL_REPLACEMENT = "[courriel supprimé]"
# a phone number: French, ten digits in pairs with the same separator throughout (« 06 12 34 56 78 », « 06.12… »,
# « 0612345678 », « +33 6 12 34 56 78 », « 0033 (0)6 … »), or international: « + » then digits, which
# :func:`is_phone` keeps only when 9 to 15 and not grouped in thousands (« +1 200 000 visiteurs » is a number)
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)33[\s.-]?(?:\(0\)[\s.-]?)?[1-9]|0[1-9])(?P<sep>[\s./-]?)\d{2}"
                   r"(?:(?P=sep)\d{2}){3}(?!\d)"
                   r"|(?<![\w+])\+\d{1,4}(?:[\s.-]\d{1,4}|\d){2,14}(?!\d)")


def is_phone(text: str) -> bool:
    """Whether a :data:`PHONE` match is a phone number: a French one always; an international one (« +… ») when it has
    9 to 15 digits and its groups after the first are not all of three digits (thousands)."""
    if not text.startswith("+") or text.startswith("+33"):
        return True
    groups = re.split(r"[\s.-]", text[1:])
    digits = sum(len(g) for g in groups)
    return 9 <= digits <= 15 and not (len(groups) > 1 and all(len(g) == 3 for g in groups[1:]))


PHONE_REPLACEMENT = "[téléphone supprimé]"
# an IPv4 address (personal data: it can point to a household), four numbers 0–255 not inside a longer dotted run
_BYTE = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"(?<![0-9.]){_BYTE}(?:\.{_BYTE}){{3}}(?![0-9]|\.[0-9])")
# an IPv6 address (RFC 4291 § 2.2, the ABNF of RFC 3986 § 3.2.2): eight groups of 1–4 hex digits, one run of zero
# groups written « :: », the last two groups possibly an IPv4 address, then maybe a zone (« %eth0 »). « :: » alone
# (no group) is prose. Times (« 12:30 », « 10:15:30 »), ratios and MAC addresses have too few groups and no
# « :: »; a longer colon run (nine groups) is left, as a longer dotted run is by IPV4
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_BYTE}(?:\.{_BYTE}){{3}}|{_H16}:{_H16})"
_IPV6_FORMS = [rf"(?:{_H16}:){{6}}{_LS32}", rf"::(?:{_H16}:){{5}}{_LS32}",
               *(rf"(?:(?:{_H16}:){{0,{k - 1}}}{_H16})?::(?:{_H16}:){{{5 - k}}}{_LS32}" for k in range(1, 6)),
               rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}", rf"(?:{_H16}:){{0,6}}{_H16}::"]
# a start not inside a word or a hex-and-colon run, but after a label and its colon (« IP:fe80::1 »,
# « IPv6:2001:… », « adresse:2a01:… »): a word before the colon is a label when one of its last four characters is
# no hex digit
_LABEL = r"[^\W0-9A-Fa-f]"
_IPV6_START = r"(?:(?<![\w.:])|(?<=[^\w.:]:)" + "".join(rf"|(?<={_LABEL}{'[0-9A-Fa-f]' * k}:)" for k in range(4)) + ")"
IPV6 = re.compile(rf"{_IPV6_START}(?:{'|'.join(_IPV6_FORMS)})(?:%[\w~-]+(?:\.[\w~-]+)*|(?!\w|:[0-9A-Fa-f:]|\.[0-9]))")
IP_REPLACEMENT = "[adresse IP supprimée]"
# a MAC address (a network card's, fixed for its life: personal data as an IP address is), six pairs of hex digits
# joined by « : » or « - » throughout, or three groups of four joined by dots as network equipment prints them
# (« 001a.2b3c.4d5e ») with a letter among them (three four-digit numbers, « 2016.2017.2018 », are prose); the same
# groups in a longer run are left, and eight pairs (EUI-64) are IPV6's
_HEX = "[0-9A-Fa-f]"
MAC = re.compile(rf"(?<![\w:.-])(?:{_HEX}{{2}}(?:(?::{_HEX}{{2}}){{5}}|(?:-{_HEX}{{2}}){{5}})(?!\w|[:-]{_HEX})"
                 rf"|(?=[0-9A-Fa-f.]{{0,13}}[A-Fa-f]){_HEX}{{4}}(?:\.{_HEX}{{4}}){{2}}(?!\w|\.{_HEX}))")
MAC_REPLACEMENT = "[adresse MAC supprimée]"
_EMAIL_HINT = r"@|\bat\b|arobase"
_PHONE_HINT = r"\d\D{0,3}\d\D{0,3}\d"
# an IPv6 or MAC address without three digits close together (« fe80::abcd », « aa:bb:cc:dd:ee:ff », « 001a.2b3c… »)
_NET_HINT = r"[0-9a-f][:-][0-9a-f]|::|[0-9a-f]\.[0-9a-f]"
# what any of the cleanings needs: a column without it is left as it is after one scan (the usual case)
_ANY_HINT = f"{_EMAIL_HINT}|{_PHONE_HINT}|{_NET_HINT}|{CONTROL}"
_ANY = re.compile(_ANY_HINT, re.IGNORECASE)      # as ``str.contains(_ANY_HINT, case=False)`` searches a Python pattern


def holding(values: pd.Series, pattern: re.Pattern, hint: str) -> pd.Series:
    """Which texts match ``pattern``, searched only in those matching the cheap ``hint`` (an « @ », a digit…)."""
    found = pd.Series(False, index=values.index)
    near = values.str.contains(hint, regex=True, case=False, na=False).to_numpy(dtype=bool)
    if near.any():
        found[near] = values[near].str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool)
    return found


def contact_details(values: pd.Series) -> tuple[pd.Series, int, int]:
    """Open answers with e-mail addresses (:data:`EMAIL`, written out or not) and phone numbers (:data:`PHONE`)
    replaced by a placeholder, and how many answers held each. A trial found « JEANNE.DUPONT(at)gmail.com »,
    « jean.dupont@gmail », « 06 12 34 56 78 » and « +33 6 … » kept in data/processed: only complete addresses
    with an « @ » were removed."""
    emails = holding(values, EMAIL, _EMAIL_HINT)
    if emails.any():
        values = values.str.replace(EMAIL, EMAIL_REPLACEMENT, regex=True)
    near = values.str.contains(_PHONE_HINT, regex=True, na=False).to_numpy(dtype=bool)
    phones = 0
    if near.any():
        before = values[near]
        after = before.map(lambda text: PHONE.sub(lambda m: PHONE_REPLACEMENT if is_phone(m.group(0)) else m.group(0),
                                                  text))
        phones = int((after != before).sum())
        values = values.copy()
        values[near] = after
    return values, int(emails.sum()), phones


def ip_addresses(values: pd.Series) -> tuple[pd.Series, int]:
    """Open answers with IP addresses (:data:`IPV6`, then :data:`IPV4`) replaced by a placeholder, and how many answers
    held one (a trial's respondent typed the address shown by a connection problem; an IP address can identify a
    household). IPv6 goes first: « ::ffff:192.0.2.1 » is replaced whole."""
    held = pd.Series(False, index=values.index)
    for pattern, hint in ((IPV6, _NET_HINT), (IPV4, r"\d\.\d")):     # the heavy patterns only where they may match
        found = holding(values, pattern, hint)
        if found.any():
            held |= found
            values = values.str.replace(pattern, IP_REPLACEMENT, regex=True)
    return values, int(held.sum())


def mac_addresses(values: pd.Series) -> tuple[pd.Series, int]:
    """Open answers with MAC addresses (:data:`MAC`: « 00:1a:2b:3c:4d:5e », « 00-1a-… », « 001a.2b3c.4d5e ») replaced by
    a placeholder, and how many answers held one (a network card's address identifies a device, and its owner, for
    good)."""
    held = holding(values, MAC, _NET_HINT)
    if not held.any():
        return values, 0
    return values.str.replace(MAC, MAC_REPLACEMENT, regex=True), int(held.sum())


def clean(answers: dict[str, pd.Series], codebook: Codebook, survey: str) -> tuple[int, int, int, int, int]:
    """Clean the open-word columns ``answers`` holds (column → values, replaced in place); return how many answers held
    an e-mail address, a phone number, control characters, an IP address, a MAC address."""
    emails = phones = controls = ips = macs = 0
    for v in codebook.variables_for(survey):
        if v.type != "open_words":
            continue
        for c in v.columns:
            if c not in answers:        # a table that does not keep the column (the validation's)
                continue
            # searched once per distinct text: in the validation study, 2,000 answers hold 200 words
            if not any(_hinted(t) for t in _distinct(answers[c]) if isinstance(t, str)):
                continue
            # network addresses first: a MAC written with dashes (« 08-00-27-12-34-56 ») holds a French phone number
            answers[c], addressed = ip_addresses(answers[c])
            answers[c], carded = mac_addresses(answers[c])
            answers[c], found, dialled = contact_details(answers[c])
            emails += found
            phones += dialled
            ips += addressed
            macs += carded
            bad = answers[c].str.contains(CONTROL, regex=True, na=False)
            controls += int(bad.sum())
            if bad.any():
                answers[c] = answers[c].str.replace(CONTROL, "", regex=True)
    return emails, phones, controls, ips, macs


@lru_cache(maxsize=2048)
def _hinted(text: str) -> bool:
    """Whether ``text`` holds anything a cleaning looks for (:data:`_ANY`), remembered for the last texts seen: the
    validation study's answers are words of one vocabulary, searched again in each replication (0.8 ms of each)."""
    return _ANY.search(text) is not None


def _distinct(values: pd.Series) -> list:
    """The distinct values of an open-answer column, as Python objects: read from Arrow when pandas holds the texts
    there (iterating pandas' array of them took four times as long as finding them)."""
    held = arrow_chunks(values)
    if held is None:
        return list(values.unique())
    import pyarrow.compute as pc

    return pc.unique(held).to_pylist()
