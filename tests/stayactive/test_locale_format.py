"""Norwegian and English formatting of numbers, kroner, percentages and times
(stayactive.locale_format: the reports, the API's text fields and the dashboard)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from stayactive.locale_format import (
    MISSING,
    check_language,
    confidence_label,
    format_clock,
    format_date,
    format_datetime,
    format_day,
    format_nok,
    format_number,
    format_percent,
    format_range,
    format_unit,
)

NB = "\u00a0"


@pytest.mark.parametrize(
    ("x", "decimals", "nb", "en"),
    [
        (1234567.891, 0, f"1{NB}234{NB}568", "1,234,568"),
        (-1234.5, 1, f"\u22121{NB}234,5", "\u22121,234.5"),
        (0.5, 2, "0,50", "0.50"),
        (-0.0001, 1, "0,0", "0.0"),
        (math.inf, 0, "∞", "∞"),
        (math.nan, 0, "\u2013", "\u2013"),
    ],
)
def test_format_number(x: float, decimals: int, nb: str, en: str) -> None:
    assert format_number(x, decimals) == nb
    assert format_number(x, decimals, language="en") == en


def test_format_nok_in_millions_with_one_decimal_and_whole_kroner() -> None:
    assert format_nok(74_012_345.0) == f"74,0{NB}mill.{NB}kr"
    assert format_nok(-2_350_000.0) == f"\u22122,4{NB}mill.{NB}kr"
    assert format_nok(45_600.0) == f"45{NB}600{NB}kr"
    assert format_nok(45_600.0, millions=True) == f"0,0{NB}mill.{NB}kr"
    assert format_nok(74_012_345.0, language="en") == f"NOK{NB}74.0{NB}million"
    assert format_nok(45_600.0, language="en") == f"NOK{NB}45,600"


def test_format_percent_and_labels() -> None:
    assert format_percent(0.153) == f"15{NB}%"
    assert format_percent(0.153, 1, language="en") == "15.3%"
    assert confidence_label() == f"95{NB}% KI"
    assert confidence_label(language="en") == "95% CI"
    assert format_range("1,2", "3,4") == "1,2\u20133,4"
    assert format_range(f"1{NB}mill.", "2") == f"1{NB}mill. \u2013 2"
    with pytest.raises(ValueError, match="bokmål"):
        check_language("nn")


# The API's text fields (ward overview, alerts), formerly their own helper's tests.
def test_bokmal_text_fields() -> None:
    assert format_number(1234567.5, 1) == f"1{NB}234{NB}567,5"
    assert format_number(-3.25, 1) == "\u22123,2"
    assert format_number(-0.2) == "0"  # no minus on a figure that rounds to zero
    assert format_percent(-0.35) == f"\u221235{NB}%"
    assert format_percent(0.12, signed=True) == f"+12{NB}%"
    assert format_percent(0.001, signed=True) == f"0{NB}%"  # no sign on a change shown as 0
    assert format_unit(0.824, 2, "m/s") == f"0,82{NB}m/s"
    assert format_nok(1_234_000) == f"1,2{NB}mill.{NB}kr"
    assert format_nok(45_300) == f"45{NB}300{NB}kr"
    assert format_clock(datetime(2026, 12, 1, 8, 12, tzinfo=UTC), "Europe/Oslo") == "09:12"


def test_english_text_fields_and_missing() -> None:
    assert format_number(1234567.5, 1, language="en") == "1,234,567.5"
    # The minus sign is U+2212 in English too (the reports' rule, now the API's as well).
    assert format_percent(-0.35, 0, language="en") == "\u221235%"
    assert format_nok(1_234_000, language="en") == f"NOK{NB}1.2{NB}million"
    assert format_unit(12.0, 0, "min", language="en") == f"12{NB}min"
    missing = (
        format_number(None),
        format_percent(None),
        format_unit(None, 1, "min"),
        format_clock(None, "UTC"),
        format_nok(None),
        format_number(math.nan),
    )
    assert set(missing) == {MISSING}


def test_format_date_in_running_text() -> None:
    # Bokmål writes a day as the dashboard does, 02.12.2026 (never ISO in a bokmål sentence).
    assert format_date(date(2026, 12, 2)) == "02.12.2026"
    assert format_date(date(2026, 3, 12), language="en") == "2026-03-12"
    assert format_date(None) == MISSING


def test_format_datetime_is_the_local_day_and_time() -> None:
    # 23:30 UTC on 2 December is 00:30 on 3 December in Oslo; bokmål writes "kl. 00.30".
    at = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert format_datetime(at, "Europe/Oslo") == f"03.12.2026 kl.{NB}00.30"
    assert format_datetime(at, "Europe/Oslo", language="en") == "2026-12-03 00:30"


def test_format_day_gives_a_decimal_only_when_the_day_has_one() -> None:
    assert format_day(60.0) == "60"
    assert format_day(39.1) == "39,1"
    assert format_day(39.1, language="en") == "39.1"
    assert format_day(39.96) == "40"  # rounded first: not "40,0"
