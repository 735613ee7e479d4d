"""Open answers as the ingest keeps them: contact details a respondent typed replaced by a placeholder, control
characters removed, each counted (report 03 and the check report say how many).

E-mail addresses are found written out or not (:data:`EMAIL`), phone numbers in French or international form
(:data:`PHONE`, :func:`is_phone`) and IPv4 addresses (:data:`IPV4`); a name typed in an answer stays (docs/real_data.md).
"""

from __future__ import annotations

import re

import pandas as pd

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
IP_REPLACEMENT = "[adresse IP supprimée]"
_EMAIL_HINT = r"@|\bat\b|arobase"
_PHONE_HINT = r"\d\D{0,3}\d\D{0,3}\d"
# what any of the three cleanings needs: a column without it is left as it is after one scan (the usual case)
_ANY_HINT = f"{_EMAIL_HINT}|{_PHONE_HINT}|{CONTROL}"


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
    """Open answers with IPv4 addresses (:data:`IPV4`) replaced by a placeholder, and how many answers held one (a
    trial's respondent typed the address shown by a connection problem; an IP address can identify a household)."""
    held = values.str.contains(IPV4, regex=True, na=False)
    if not held.any():
        return values, 0
    return values.str.replace(IPV4, IP_REPLACEMENT, regex=True), int(held.sum())


def clean(answers: dict[str, pd.Series], codebook: Codebook, survey: str) -> tuple[int, int, int, int]:
    """Clean the open-word columns of ``answers`` (column → values, replaced in place); return how many answers held
    an e-mail address, a phone number, control characters, an IP address."""
    emails = phones = controls = ips = 0
    for v in codebook.variables_for(survey):
        if v.type != "open_words":
            continue
        for c in v.columns:
            if not answers[c].str.contains(_ANY_HINT, regex=True, case=False, na=False).any():
                continue
            answers[c], found, dialled = contact_details(answers[c])
            answers[c], addressed = ip_addresses(answers[c])
            emails += found
            phones += dialled
            ips += addressed
            bad = answers[c].str.contains(CONTROL, regex=True, na=False)
            controls += int(bad.sum())
            if bad.any():
                answers[c] = answers[c].str.replace(CONTROL, "", regex=True)
    return emails, phones, controls, ips
