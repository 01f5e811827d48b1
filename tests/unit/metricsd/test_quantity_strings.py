"""Quantity canonical strings (apimachinery's resource/quantity.go) and parsing round trips."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricsd.quantity import (
    QuantityError,
    format_cpu_nanocores,
    format_decimal_si,
    format_memory_bytes,
    lose_precision,
    parse_cpu_nanocores,
    parse_memory_bytes,
    parse_quantity,
)

CPU_ROWS = [
    (0, "0"), (20000, "20u"), (100000, "100u"), (1012000, "1012u"), (2361339, "2361339n"),
    (2500000, "2500u"), (1500000000, "1500m"), (5000000000, "5"), (49500000, "49500u"),
    (150000000, "150m"), (156466250, "156466250n"), (415000000, "415m"), (500000000, "500m"),
    (1000000000, "1"), (2500000000, "2500m"), (10000000000, "10"), (175000000, "175m"),
    (40000000, "40m"), (7338891, "7338891n"), (13000000, "13m"), (1, "1n"),
    (1000, "1u"), (1_000_000_000_000, "1k"), (12_000_000_000_000, "12k"),
]

MEM_ROWS = [
    (1024, "1Ki"), (4096, "4Ki"), (2097152, "2Mi"), (3145728, "3Mi"), (22016000, "21500Ki"),
    (1616273409, "1616273409"), (12533760, "12240Ki"), (13041664, "12736Ki"),
    (104857600, "100Mi"), (1048576000, "1000Mi"), (1616273408, "1578392Ki"),
    (1932193792, "1886908Ki"), (1000, "1k"), (600, "600"), (1023, "1023"), (0, "0"),
    (14868480, "14520Ki"), (1 << 30, "1Gi"), (1 << 60, "1Ei"), (1025, "1025"),
]


@pytest.mark.parametrize(("nanocores", "text"), CPU_ROWS)
def test_cpu_strings(nanocores: int, text: str) -> None:
    assert format_cpu_nanocores(nanocores) == text


@pytest.mark.parametrize(("num_bytes", "text"), MEM_ROWS)
def test_memory_strings(num_bytes: int, text: str) -> None:
    assert format_memory_bytes(num_bytes) == text


def test_decimal_exponent_outside_the_suffix_table() -> None:
    assert format_decimal_si(1, -12) == "1e-12"


def test_precision_loss_rule() -> None:
    assert lose_precision((1 << 63) - 1) == ((1 << 63) - 1, False)
    assert lose_precision((1 << 64) - 1) == (18446744073709551610, True)
    assert format_memory_bytes(18446744073709551610) == "18446744073709551610"
    assert format_cpu_nanocores(18446744073709551610) == "18446744073709551610n"


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", Fraction(4)), ("16Gi", Fraction(16 << 30)), ("250m", Fraction(1, 4)),
     ("1e3", Fraction(1000)), ("1.5Gi", Fraction(3 << 29)), ("100u", Fraction(1, 10000)),
     ("-2k", Fraction(-2000)), (".5", Fraction(1, 2)), ("1E-3", Fraction(1, 1000)),
     ("0", Fraction(0))],
)
def test_parse(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1Qi", "1.2.3", "Ki", "1 Ki"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_parse_rounds_up_like_apimachinery() -> None:
    assert parse_cpu_nanocores("415722551n") == 415722551
    assert parse_cpu_nanocores("1.0000000001") == 1000000001
    assert parse_memory_bytes("1.5") == 2
    assert parse_memory_bytes("1249280Ki") == 1249280 * 1024


@given(st.integers(min_value=0, max_value=(1 << 64)))
def test_cpu_round_trip(n: int) -> None:
    assert parse_cpu_nanocores(format_cpu_nanocores(n)) == n


@given(st.integers(min_value=-(1 << 63), max_value=1 << 64))
def test_memory_round_trip(n: int) -> None:
    assert parse_memory_bytes(format_memory_bytes(n)) == n


@given(st.integers(min_value=1, max_value=10**20), st.integers(min_value=-9, max_value=9))
def test_canonical_form_has_no_reducible_trailing_zeros(n: int, scale: int) -> None:
    text = format_decimal_si(n, scale)
    digits = text.rstrip("numkMGTPE")
    assert parse_quantity(text) == Fraction(n) * Fraction(10) ** scale
    assert not digits.endswith("000") or "e" in text
