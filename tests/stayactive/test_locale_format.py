"""Numbers as people read them, bokmål and English (unit tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from stayactive.locale_format import MISSING, clock, nok, number, percent, unit

NBSP = "\u00a0"


def test_bokmal() -> None:
    assert number(1234567.5, 1) == f"1{NBSP}234{NBSP}567,5"
    assert number(-3.25, 1) == "\u22123,2"
    assert number(-0.2) == "0"  # no minus on a figure that rounds to zero
    assert percent(-0.35) == f"\u221235{NBSP}%"
    assert percent(0.12, signed=True) == f"+12{NBSP}%"
    assert unit(0.824, 2, "m/s") == f"0,82{NBSP}m/s"
    assert nok(1_234_000) == f"1,2{NBSP}mill.{NBSP}kr"
    assert nok(45_300) == f"45{NBSP}300{NBSP}kr"
    assert clock(datetime(2026, 12, 1, 8, 12, tzinfo=UTC), "Europe/Oslo") == "09:12"


def test_english_and_missing() -> None:
    assert number(1234567.5, 1, "en") == "1,234,567.5"
    assert percent(-0.35, 0, "en") == "-35%"
    assert nok(1_234_000, "en") == "NOK 1.2 million"
    assert number(None) == percent(None) == unit(None, 1, "min") == clock(None, "UTC") == MISSING
