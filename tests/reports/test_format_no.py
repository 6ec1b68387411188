"""Norwegian and English number formatting of the reports (stayactive.reports.format_no)."""

from __future__ import annotations

import math

import pytest

from stayactive.reports.format_no import (
    check_language,
    confidence_label,
    format_nok,
    format_number,
    format_percent,
    format_range,
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
    assert format_nok(74_012_345.0, language="en") == f"NOK{NB}74.0 million"
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
