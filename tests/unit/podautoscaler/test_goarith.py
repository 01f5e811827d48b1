"""Go arithmetic (as the controller computes): truncating int64 division, IEEE division,
saturating int32."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podautoscaler.goarith import (
    MAX_INT32,
    MIN_INT32,
    ceil_int32,
    div_trunc,
    fceil,
    fdiv,
    float_to_int64,
    go_float_text,
    to_int32,
)


@pytest.mark.parametrize(("a", "b", "q"), [
    (7, 2, 3), (-7, 2, -3), (7, -2, -3), (-7, -2, 3), (990 * 100, 4000, 24),
    (3030 * 100, 3000, 101), (0, 5, 0),
], ids=lambda v: str(v))
def test_div_trunc_is_go_integer_division__s0(a: int, b: int, q: int) -> None:
    assert div_trunc(a, b) == q


@given(st.integers(-10**12, 10**12), st.integers(-10**6, 10**6).filter(bool))
def test_div_trunc_truncates_toward_zero(a: int, b: int) -> None:
    q = div_trunc(a, b)
    assert abs(q) == abs(a) // abs(b)
    assert q == 0 or (q > 0) == ((a > 0) == (b > 0))


@pytest.mark.parametrize(("a", "b", "expected"), [
    (1.0, 0.0, math.inf), (-1.0, 0.0, -math.inf), (1.0, -0.0, -math.inf), (6.0, 2.0, 3.0),
], ids=["pos/0", "neg/0", "pos/-0", "plain"])
def test_fdiv_follows_ieee__s0(a: float, b: float, expected: float) -> None:
    assert fdiv(a, b) == expected


def test_fdiv_zero_by_zero_is_nan__s0() -> None:
    assert math.isnan(fdiv(0.0, 0.0))


@pytest.mark.parametrize(("x", "expected"), [
    (6.1, 6), (-3.6, -3), (math.nan, 0), (1e12, MAX_INT32), (-1e12, MIN_INT32),
    (math.inf, MAX_INT32), (2147483647.0, MAX_INT32),
], ids=["trunc", "neg-trunc", "nan", "big", "small", "inf", "edge"])
def test_to_int32_truncates_and_saturates__s1_2(x: float, expected: int) -> None:
    assert to_int32(x) == expected


def test_ceil_int32_keeps_go_float_order_trap__s0() -> None:
    # (7/3)*27 is 63.00000000000001 in float64, so Go's ceil gives 64 — exact maths says 63.
    ratio = fdiv(7.0, 3.0)
    assert ratio * 27.0 == 63.00000000000001
    assert ceil_int32(ratio * 27.0) == 64
    assert ceil_int32(fdiv(7.0 * 27.0, 3.0)) == 63  # the rewrite upstream does not do


def test_fceil_passes_non_finite_values() -> None:
    assert fceil(math.inf) == math.inf
    assert math.isnan(fceil(math.nan))
    assert fceil(2.000000001) == 3.0


def test_float_to_int64_saturates() -> None:
    assert float_to_int64(1e30) == (1 << 63) - 1
    assert float_to_int64(-1e30) == -(1 << 63)
    assert float_to_int64(math.nan) == 0


def test_go_float_text_spells_non_finite_values_like_go() -> None:
    assert go_float_text(math.inf) == "+Inf"
    assert go_float_text(-math.inf) == "-Inf"
    assert go_float_text(math.nan) == "NaN"
    assert go_float_text(1.5) == 1.5
