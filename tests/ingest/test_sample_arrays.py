"""ingest.sample_arrays reads JSON sample arrays to the same doubles, bit for bit, as Python's
json module (the exact path) and msgspec (the typed fast path), or refuses them.

The numbers: random doubles written shortest, with 17 digits and with up to 25; random decimal
strings of up to 40 digits with exponents across the whole range (most of them far from any
double, some close to halfway between two); integers up to and past 64 bits; and the known hard
cases of decimal-to-double conversion.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import sample_arrays

SIZES = (1, 2000)
HARD = [
    "0", "-0", "0.0", "-0.0", "0e0", "-0e-0", "-0E+5", "1E+2", "1e-2", "1.5E-0",
    "0.1", "0.2", "0.3", "1e23", "8.98846567431158e307", "9007199254740993", "9007199254740992",
    "-9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
    "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
    "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
    "1e-320", "1e-400", "-1e-400", "1.7976931348623157e308", "1.7976931348623158e308",
    "1.7976931348623159e308", "1e400", "-1e400", "1" + "0" * 400, "0." + "0" * 400 + "1",
    "7.2057594037927933e16", "9.5e-1", "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203124",
    "1.00000000000000011102230246251565404236316680908203126",
    "123456789012345678901234567890", "3.4e38", "3.5e38", "160", "160.0", "-160.00000000000001",
]  # fmt: skip


def _raw(text: str) -> msgspec.Raw:
    return msgspec.json.decode(text.encode(), type=msgspec.Raw)


def _python(numbers: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """What the exact path makes of the numbers (json, then numpy)."""
    return np.array(json.loads("[" + ",".join(numbers) + "]"), dtype=np.float64)


def _representable(numbers: list[str]) -> bool:
    """Every number is a finite double and, if an integer, within 64 bits (else None is fine)."""
    for value in json.loads("[" + ",".join(numbers) + "]"):
        if isinstance(value, int) and not -(2**63) <= value < 2**64:
            return False
        if not math.isfinite(float(value)):
            return False
    return True


def _check(numbers: list[str], per_array: int) -> None:
    """parse() gives json's and msgspec's doubles for the numbers, or None only when allowed."""
    arrays = [numbers[i : i + per_array] for i in range(0, len(numbers), per_array)]
    got = sample_arrays.parse([_raw("[" + ",".join(a) + "]") for a in arrays], SIZES)
    if got is None:
        assert not _representable(numbers), numbers
        return
    want = _python(numbers)
    assert got.tobytes() == want.tobytes(), [
        (n, g, w) for n, g, w in zip(numbers, got, want, strict=True) if g.tobytes() != w.tobytes()
    ][:5]
    typed = msgspec.json.decode(("[" + ",".join(numbers) + "]").encode(), type=list[float])
    assert got.tobytes() == np.array(typed, dtype=np.float64).tobytes()


@pytest.mark.parametrize("number", HARD)
def test_hard_cases_read_as_python_reads_them(number: str) -> None:
    _check([number], 1)
    _check([number, "1.5", number, "-2"], 2)


def test_random_doubles_in_every_form() -> None:
    rng = np.random.default_rng(20261201)
    bits = rng.integers(0, 2**64, 30_000, dtype=np.uint64, endpoint=False)
    values = [float(v) for v in bits.view(np.float64) if math.isfinite(v)]
    digits = rng.integers(1, 26, len(values))
    numbers = (
        [repr(v) for v in values]
        + [f"{v:.17e}" for v in values]
        + [f"{v:.{d}g}" for v, d in zip(values, digits, strict=True)]
    )
    # Small numbers too, as a walker sends them (four decimals).
    numbers += [f"{v:.4f}" for v in rng.uniform(-160, 160, 20_000)]
    for i in range(0, len(numbers), 500):
        chunk = numbers[i : i + 500]
        _check(chunk, 50 if len(chunk) % 50 == 0 else len(chunk))


def test_random_decimal_strings_and_integers() -> None:
    rng = np.random.default_rng(15)
    numbers = []
    for _ in range(30_000):
        n_digits = int(rng.integers(1, 41))
        mantissa = "".join(map(str, rng.integers(0, 10, n_digits)))
        mantissa = mantissa.lstrip("0") or "0"
        point = int(rng.integers(0, len(mantissa) + 1))
        text = mantissa[:point] or "0"
        if point < len(mantissa):
            text += "." + mantissa[point:]
        if rng.random() < 0.7:
            text += "eE"[int(rng.integers(0, 2))] + str(int(rng.integers(-340, 320)))
        numbers.append(("-" if rng.random() < 0.5 else "") + text)
    for exponent in (52, 53, 54, 62, 63, 64, 65):  # integers around the edges of exactness
        for offset in range(-3, 4):
            numbers += [str(2**exponent + offset), str(-(2**exponent) - offset)]
    # Halfway between two doubles, and a hair either side: exact decimals of midpoints.
    for v in np.random.default_rng(3).uniform(-1e6, 1e6, 2_000):
        mid = (float(v) + float(np.nextafter(v, np.inf))) / 2  # rounded; the exact is next
        exact = format(mid, ".60g")
        numbers += [exact, exact + "1", repr(mid)]
    for i in range(0, len(numbers), 100):
        chunk = numbers[i : i + 100]
        _check(chunk, len(chunk))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**70), 2**70)),
        min_size=1,
        max_size=60,
    )
)
def test_generated_numbers(values: list[float | int]) -> None:
    _check([json.dumps(v) for v in values], len(values))


@pytest.mark.parametrize(
    ("arrays", "why"),
    [
        (["[1,2]", "[3]"], "arrays of different lengths"),
        (["[1,2]", "[3,4,5]"], "arrays of different lengths"),
        (["[]", "[]"], "empty arrays"),
        (["[1,[2],3]", "5"], "a nested array and a number in place of an array"),
        (["[[1,2]]", "[3,4]"], "a nested array"),
        (["[1,2]", "5"], "a number in place of an array"),
        (["[1,true]", "[3,4]"], "true"),
        (["[1,null]", "[3,4]"], "null"),
        (['[1,"2"]', "[3,4]"], "a string"),
        (['[1,"["]', "[3,4]"], "a string with a bracket"),
        (["[1,{}]", "[3,4]"], "an object"),
        (["[1,2]", '{"a":[3,4]}'], "an object in place of an array"),
        (["[1,1e400]", "[3,4]"], "beyond a double"),
        (["[1,18446744073709551616]", "[3,4]"], "beyond 64 bits"),
        (["[1,-9223372036854775809]", "[3,4]"], "beyond 64 bits"),
    ],
)
def test_what_it_does_not_read(arrays: list[str], why: str) -> None:
    assert sample_arrays.parse([_raw(a) for a in arrays], SIZES) is None, why


def test_lengths_outside_the_schema_are_not_read() -> None:
    arrays = [_raw("[1,2,3]"), _raw("[4,5,6]")]
    assert sample_arrays.parse(arrays, (1, 2)) is None
    assert sample_arrays.parse(arrays, (4, 10)) is None
    assert sample_arrays.parse(arrays, (3, 3)) is not None
    assert sample_arrays.parse([], SIZES) is None


def test_white_space_is_read() -> None:
    got = sample_arrays.parse([_raw("[ 1 ,\n-0.5\t,\r\n2e1 ]"), _raw("[3,4,5]")], SIZES)
    assert got is not None and got.tolist() == [1.0, -0.5, 20.0, 3.0, 4.0, 5.0]
