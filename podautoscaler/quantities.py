"""Kubernetes ``resource.Quantity`` values the way the HPA reads and writes them.

The controller converts every request, usage and target with ``MilliValue()`` (exact decimal,
rounded up away from zero to a whole milli-unit), reads per-HPA tolerances with
``AsApproximateFloat64()`` (mantissa × ``math.Pow10(exponent)`` — not the correctly rounded
decimal, so ``0.57`` reads as ``0.5700000000000001``), and reports averages with
``NewMilliQuantity(v, DecimalSI|BinarySI).String()``. Each of those is reproduced exactly on
Python integers and :class:`~fractions.Fraction`; JSON numbers are accepted as quantities as
``Quantity.UnmarshalJSON`` accepts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Quantity",
    "QuantityError",
    "format_milli",
    "parse_quantity",
]

FORMAT_WRONG = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

_DECIMAL_SUFFIXES = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SI_TEXT = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BIN_TEXT = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}
_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")


class QuantityError(ValueError):
    """Text ``resource.ParseQuantity`` rejects; ``str()`` is apimachinery's message."""


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: its exact value and the (mantissa, exponent) Go keeps for it."""

    text: str
    value: Fraction
    mantissa: int
    exponent: int

    def milli(self) -> int:
        """``MilliValue()``: value × 1000 rounded up, away from zero."""
        scaled = self.value * 1000
        whole = scaled.numerator // scaled.denominator  # floor: already away from zero if < 0
        if whole != scaled and scaled > 0:
            whole += 1
        return int(whole)

    def approximate_float(self) -> float:
        """``AsApproximateFloat64()``: ``float(mantissa) * math.Pow10(exponent)``."""
        base = float(self.mantissa)
        if self.exponent == 0:
            return base
        return base * pow10(self.exponent)

    def sign(self) -> int:
        return (self.value > 0) - (self.value < 0)


def _pow10_tables() -> tuple[list[float], list[float], list[float]]:
    tab = [float(f"1e{i}") for i in range(32)]
    pos = [float(f"1e{32 * i}") for i in range(10)]
    neg = [float(f"1e-{32 * i}") for i in range(11)]
    return tab, pos, neg


_POW10_TAB, _POW10_POS32, _POW10_NEG32 = _pow10_tables()


def pow10(n: int) -> float:
    """Go's ``math.Pow10``: table products, so results match Go bit for bit."""
    if 0 <= n <= 308:
        return _POW10_POS32[n // 32] * _POW10_TAB[n % 32]
    if -323 <= n < 0:
        return _POW10_NEG32[(-n) // 32] / _POW10_TAB[(-n) % 32]
    return 0.0 if n < 0 else float("inf")


def parse_quantity(raw: object) -> Quantity:
    """Parse a quantity string (or a JSON number) as ``resource.ParseQuantity`` does."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise QuantityError(FORMAT_WRONG)
    text = raw if isinstance(raw, str) else repr(raw) if isinstance(raw, float) else str(raw)
    if text == "0":
        return Quantity(text, Fraction(0), 0, 0)
    m = _SHAPE.fullmatch(text)
    if m is None or not text:
        raise QuantityError(FORMAT_WRONG)
    sign_text, num, denom, suffix = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    if not num and not denom:
        raise QuantityError(FORMAT_WRONG)
    negative = sign_text == "-"
    if suffix in _DECIMAL_SUFFIXES:
        base, exp = 10, _DECIMAL_SUFFIXES[suffix]
    elif suffix in _BINARY_SUFFIXES:
        base, exp = 2, _BINARY_SUFFIXES[suffix]
    elif re.fullmatch(r"[eE][-+]?[0-9]+", suffix):
        base, exp = 10, int(suffix[1:])
    else:
        raise QuantityError("unable to parse quantity's suffix")
    digits = int((num + denom) or "0")
    value = Fraction(digits, 10 ** len(denom)) * (Fraction(10) ** exp if base == 10
                                                   else Fraction(1 << exp))
    if negative:
        value = -value
    mantissa, exponent = _go_representation(digits, len(num), len(denom), base, exp, negative,
                                            value)
    return Quantity(text, value, mantissa, exponent)


def _go_representation(digits: int, num_len: int, denom_len: int, base: int, exp: int,
                       negative: bool, value: Fraction) -> tuple[int, int]:
    """The (mantissa, base-10 exponent) ParseQuantity stores, which AsApproximateFloat64 uses.

    The int64 fast path keeps the literal digits (``0.570`` is 570 × 10^-3); everything else
    goes through ``inf.Dec`` rounded up to nano scale (mantissa × 10^-9).
    """
    sign = -1 if negative else 1
    if base == 10:
        precision = 18 - (num_len + denom_len)
        scale = exp - denom_len
        if precision >= 0 and scale >= -9:
            return sign * digits, scale
    elif denom_len == 0:
        precision = 15 - num_len - int(exp * 3 / 10) - 1
        product = digits << exp
        if precision >= 0 and product < (1 << 63):
            return sign * product, 0
    if value == 0:
        return 0, -denom_len if base == 10 else 0
    nanos = abs(value) * 10**9
    whole = nanos.numerator // nanos.denominator
    if whole != nanos:
        whole += 1
    return sign * int(whole), -9


def _strip(value: int, base: int) -> tuple[int, int]:
    times = 0
    while value and value % base == 0:
        value //= base
        times += 1
    return value, times


def _decimal_si(mantissa: int, scale: int) -> str:
    if mantissa == 0:
        return "0"
    amount, times = _strip(mantissa, 10)
    exponent = scale + times
    rem = exponent % 3
    if rem:
        amount *= 10**rem
        exponent -= rem
    suffix = _SI_TEXT.get(exponent)
    return f"{amount}{suffix}" if suffix is not None else f"{amount}e{exponent}"


def format_milli(milli: int, binary: bool = False) -> str:
    """``resource.NewMilliQuantity(milli, DecimalSI or BinarySI).String()``."""
    if not binary or -1024 * 1000 < milli < 1024 * 1000 or milli % 1000:
        return _decimal_si(milli, -3)
    amount, times = _strip(milli // 1000, 1024)
    suffix = _BIN_TEXT.get(times)
    if suffix is None:
        return _decimal_si(milli, -3)
    return f"{amount}{suffix}"


def canonical(raw: object) -> str:
    """The canonical text of a quantity (for comparing statuses semantically)."""
    q = parse_quantity(raw)
    return _decimal_si(q.milli(), -3)
