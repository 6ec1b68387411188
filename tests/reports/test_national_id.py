"""Recognising Norwegian national identity numbers (unit tests, no services)."""

from __future__ import annotations

import pytest

from stayactive.records import csv_national_ids, is_national_id, looks_like_national_id

#: Published example numbers with valid check digits (not real people).
VALID = ("15076500565", "01017012343")


@pytest.mark.parametrize("number", VALID)
def test_valid_check_digits(number: str) -> None:
    assert is_national_id(number)
    assert looks_like_national_id(number)
    assert looks_like_national_id(f"{number[:6]} {number[6:]}")
    assert looks_like_national_id(f"fnr: {number[:6]}-{number[6:]}.")


@pytest.mark.parametrize(
    "text",
    ["15076500566", "1507650056", "150765005655", "R-0001", "", "12345678901", "2026-03-01"],
)
def test_not_national_ids(text: str) -> None:
    assert not looks_like_national_id(text)


def test_a_longer_number_is_not_taken_apart() -> None:
    assert not looks_like_national_id("9" + VALID[0])
    assert not looks_like_national_id(VALID[0] + "7")


def test_csv_cells_are_named_by_line_and_column() -> None:
    text = "external_ref;resident\nS-1;R-0001\nS-2;" + VALID[0] + "\n"
    assert csv_national_ids(text) == [(3, "resident")]
