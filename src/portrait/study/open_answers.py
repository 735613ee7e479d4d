"""Open answers as the ingest keeps them: contact details a respondent typed replaced by a placeholder, control
characters removed, each counted (report 03 and the check report say how many).

E-mail addresses are found written out or not (:data:`~portrait.study.export_readers.EMAIL`) and phone numbers in
French or international form (:data:`~portrait.study.export_readers.PHONE`); a name typed in an answer stays (README).
"""

from __future__ import annotations

import re

import pandas as pd

from .codebook import Codebook
from .export_checks import CONTROL
from .export_readers import EMAIL, EMAIL_REPLACEMENT, PHONE, PHONE_REPLACEMENT, is_phone


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
    emails = holding(values, EMAIL, r"@|\bat\b|arobase")
    if emails.any():
        values = values.str.replace(EMAIL, EMAIL_REPLACEMENT, regex=True)
    near = values.str.contains(r"\d\D{0,3}\d\D{0,3}\d", regex=True, na=False).to_numpy(dtype=bool)
    phones = 0
    if near.any():
        found = [False]

        def replace(m: re.Match) -> str:
            if not is_phone(m.group(0)):
                return m.group(0)
            found[0] = True
            return PHONE_REPLACEMENT

        def clean(text: str) -> str:
            found[0] = False
            out = PHONE.sub(replace, text)
            nonlocal phones
            phones += found[0]
            return out

        values = values.copy()
        values[near] = values[near].map(clean)
    return values, int(emails.sum()), phones


def clean(answers: dict[str, pd.Series], codebook: Codebook, survey: str) -> tuple[int, int, int]:
    """Clean the open-word columns of ``answers`` (column → values, replaced in place); return how many answers held
    an e-mail address, a phone number, control characters."""
    emails = phones = controls = 0
    for v in codebook.variables_for(survey):
        if v.type != "open_words":
            continue
        for c in v.columns:
            answers[c], found, dialled = contact_details(answers[c])
            emails += found
            phones += dialled
            bad = answers[c].str.contains(CONTROL, regex=True, na=False)
            controls += int(bad.sum())
            if bad.any():
                answers[c] = answers[c].str.replace(CONTROL, "", regex=True)
    return emails, phones, controls
