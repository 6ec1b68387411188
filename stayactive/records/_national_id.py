"""Recognising Norwegian national identity numbers, so that they are refused and never stored.

A fødselsnummer (and a D- or H-number, which follow the same scheme) is 11 digits: a date of
birth (day and month possibly shifted for D-, H- and synthetic numbers), three individual digits
and two check digits computed modulo 11 (Skatteetaten's published weights). Anything of 11
digits whose two check digits are valid is treated as one: a pseudonym that happens to pass
the check is refused too, which is the safe side.
"""

from __future__ import annotations

import csv
import io
import re

#: FHIR identifier systems of Norwegian national identifiers (fødselsnummer, D-number, H-number).
NATIONAL_ID_SYSTEMS = frozenset(
    {
        "urn:oid:2.16.578.1.12.4.1.4.1",
        "urn:oid:2.16.578.1.12.4.1.4.2",
        "urn:oid:2.16.578.1.12.4.1.4.3",
    }
)

_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# 11 digits, optionally written as 6 + 5 with a space, dot or hyphen, not inside a longer number.
_CANDIDATE = re.compile(r"(?<![0-9])(\d{6})[ .\-\u00a0]?(\d{5})(?![0-9])")


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    if rest == 11:
        return 0
    return None if rest == 10 else rest


#: Why a text a person typed was refused: bokmål first, English after (the value itself is
#: never repeated). The API and the admin commands give it.
NATIONAL_ID_IN_TEXT = (
    "ser ut som et norsk fødselsnummer eller D-nummer, som aldri lagres; ingenting ble lagret "
    "(looks like a Norwegian national identity number, which is never stored; nothing was "
    "stored)"
)


def is_national_id(digits: str) -> bool:
    """True if ``digits`` is 11 digits with both modulo-11 check digits valid."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    k1 = _check_digit(d[:9], _WEIGHTS_1)
    if k1 is None or k1 != d[9]:
        return False
    k2 = _check_digit(d[:10], _WEIGHTS_2)
    return k2 is not None and k2 == d[10]


def looks_like_national_id(text: str) -> bool:
    """True if ``text`` contains anything that is, or is written like, a national identity
    number (``01017012345``, ``010170 12345``, ``010170-12345``) with valid check digits."""
    return any(is_national_id(m.group(1) + m.group(2)) for m in _CANDIDATE.finditer(text))


def csv_national_ids(text: str) -> list[tuple[int, str]]:
    """(line, column) of every cell of a care-record CSV that looks like a national identity
    number (comma- or semicolon-separated, as the importer reads it)."""
    lines = text.splitlines()
    first = lines[0] if lines else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    found: list[tuple[int, str]] = []
    for row in reader:
        if header is None:
            header = [h.strip() for h in row]
            continue
        for i, cell in enumerate(row):
            if looks_like_national_id(cell):
                found.append((reader.line_num, header[i] if i < len(header) else f"column {i + 1}"))
    return found
