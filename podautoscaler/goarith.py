"""Go's integer and float64 arithmetic, as the HPA controller's numbers depend on it.

The controller computes in int64 milli-units with truncating division and in float64 with a
fixed operation order (``float(a) / float(b)`` first, then ``ceil(ratio * float(n))``).
Python ints never overflow and Python's ``/`` raises on a zero divisor, so the few places
where Go wraps, saturates or produces ``±Inf``/``NaN`` are spelled out here once.
Conversions of out-of-range floats to int32 saturate: newer upstream releases guard every
such conversion (proposals above MaxInt32 are capped), older ones were undefined.
"""

from __future__ import annotations

import math

MAX_INT32 = (1 << 31) - 1
MIN_INT32 = -(1 << 31)
MAX_INT64 = (1 << 63) - 1
MIN_INT64 = -(1 << 63)


def div_trunc(a: int, b: int) -> int:
    """Go's ``a / b`` on integers: the quotient truncated toward zero (``b`` must not be 0)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def fdiv(a: float, b: float) -> float:
    """IEEE-754 division as Go does it: a zero divisor gives ``±Inf`` or ``NaN``, not an error."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        negative = (a < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if negative else math.inf
    return a / b


def fceil(x: float) -> float:
    """``math.Ceil`` on a float64 (infinities and NaN pass through)."""
    if math.isinf(x) or math.isnan(x):
        return x
    return float(math.ceil(x))


def to_int32(x: float) -> int:
    """``int32(x)`` for a float64: truncate toward zero, saturating at the int32 range."""
    if math.isnan(x):
        return 0
    if x >= MAX_INT32:
        return MAX_INT32
    if x <= MIN_INT32:
        return MIN_INT32
    return int(x)


def ceil_int32(x: float) -> int:
    """``int32(math.Ceil(x))`` with upstream's MaxInt32 cap."""
    return to_int32(fceil(x))


def clamp_int64(x: int) -> int:
    """Saturate an exact integer sum at the int64 range (upstream caps external sums)."""
    return max(MIN_INT64, min(MAX_INT64, x))


def float_to_int64(x: float) -> int:
    """``int64(x)`` for a float64: truncate toward zero, saturating at the int64 range."""
    if math.isnan(x):
        return 0
    if x >= float(MAX_INT64):
        return MAX_INT64
    if x <= float(MIN_INT64):
        return MIN_INT64
    return int(x)


def go_float_text(x: float) -> str | float:
    """A float for JSON: finite values as themselves, ``±Inf``/``NaN`` as Go prints them."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return x
