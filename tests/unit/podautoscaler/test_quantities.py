"""Quantities as the HPA reads them: MilliValue, AsApproximateFloat64, NewMilliQuantity."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podautoscaler.quantities import (
    QuantityError,
    canonical,
    format_milli,
    parse_quantity,
    pow10,
)


@pytest.mark.parametrize(("text", "milli"), [
    ("1", 1000), ("250m", 250), ("1Mi", 1_048_576_000), ("0.5", 500), ("1.0", 1000),
    ("0.0001", 1), ("100n", 1), ("-1m", -1), ("-0.0001", -1), ("1e3", 1_000_000),
    ("2k", 2_000_000), ("1.5Gi", 1_610_612_736_000), ("0", 0), (1, 1000), (0.5, 500),
], ids=lambda v: str(v))
def test_milli_value_rounds_up_away_from_zero__s0(text: object, milli: int) -> None:
    assert parse_quantity(text).milli() == milli


@pytest.mark.parametrize(("text", "value"), [
    ("0.1", 0.1), ("0.05", 0.05), ("0.57", 57 * 0.01), ("0.570", 570 * 0.001), ("10", 10.0),
    ("1.5", 1.5), ("0", 0.0), ("1Ki", 1024.0), ("1e-2", 0.01),
], ids=lambda v: str(v))
def test_approximate_float_is_mantissa_times_pow10__s1_3(text: str, value: float) -> None:
    assert parse_quantity(text).approximate_float() == value


def test_approximate_float_differs_from_correct_rounding__s1_3() -> None:
    # AsApproximateFloat64("0.57") = 57 * Pow10(-2): one ulp above float("0.57")
    assert parse_quantity("0.57").approximate_float() == 0.5700000000000001
    assert float("0.57") == 0.57


def test_pow10_matches_go_table_products() -> None:
    assert pow10(-2) == 0.01
    assert pow10(0) == 1.0
    assert pow10(23) == 1e23
    assert pow10(-400) == 0.0


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1Q", "--1", "."])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_suffix_error_text() -> None:
    with pytest.raises(QuantityError, match="unable to parse quantity's suffix"):
        parse_quantity("1Kii")


@pytest.mark.parametrize(("milli", "binary", "text"), [
    (400, False, "400m"), (1000, False, "1"), (11750, False, "11750m"), (500000, False, "500"),
    (0, False, "0"), (1_048_576_000, True, "1Mi"), (95_779_498_666, True, "95779498666m"),
    (1_000_000, True, "1k"), (1_572_864_000, True, "1536Ki"), (2_000_000_000_000, False, "2G"),
    (-500, False, "-500m"), (1_500_000, True, "1500"),
], ids=lambda v: str(v))
def test_format_milli_like_new_milli_quantity(milli: int, binary: bool, text: str) -> None:
    assert format_milli(milli, binary) == text


@given(st.integers(-(10**15), 10**15), st.booleans())
def test_format_milli_parses_back(milli: int, binary: bool) -> None:
    assert parse_quantity(format_milli(milli, binary)).milli() == milli


@given(st.integers(0, 10**12), st.integers(0, 6))
def test_decimal_text_value_is_exact(mantissa: int, decimals: int) -> None:
    text = f"{mantissa}e-{decimals}"
    assert parse_quantity(text).value == Fraction(mantissa, 10**decimals)


def test_canonical_compares_semantically() -> None:
    assert canonical("0.4") == canonical("400m") == "400m"
