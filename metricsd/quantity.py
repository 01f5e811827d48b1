"""Kubernetes ``resource.Quantity`` canonical strings, exactly as apimachinery prints them.

The Metrics API serialises CPU as integer nanocores at scale 10^-9 in DecimalSI
(``175m``, ``2500u``, ``156466250n``, ``1``) and memory as bytes in BinarySI (``1886908Ki``,
``100Mi``, but ``1k`` for 1000 because values in (-1024, 1024) fall back to DecimalSI).
Clients compare these strings, so the canonicalisation rules are reproduced on Python
integers (which never overflow, matching apimachinery's big-decimal fallback).
Parsing accepts the full quantity grammar and returns exact fractions.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = [
    "MAX_INT64",
    "QuantityError",
    "format_binary_si",
    "format_cpu_nanocores",
    "format_decimal_si",
    "format_memory_bytes",
    "lose_precision",
    "parse_cpu_nanocores",
    "parse_memory_bytes",
    "parse_quantity",
]

MAX_INT64 = (1 << 63) - 1

_DEC_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BIN_SUFFIX = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}


class QuantityError(ValueError):
    """A string ``resource.ParseQuantity`` rejects; ``str()`` is apimachinery's text."""


def _strip_factors(value: int, base: int) -> tuple[int, int]:
    times = 0
    if value == 0:
        return 0, 0
    while value % base == 0:
        value //= base
        times += 1
    return value, times


def format_decimal_si(mantissa: int, scale: int) -> str:
    """Canonical DecimalSI text of ``mantissa × 10^scale`` (apimachinery ``AsCanonicalBytes``)."""
    if mantissa % 10:  # nothing to strip: the common case for measured values
        suffix = _DEC_SUFFIX.get(scale)
        if suffix is not None:
            return f"{mantissa}{suffix}"
    if mantissa == 0:
        return "0"
    amount, times = _strip_factors(mantissa, 10)
    exponent = scale + times
    rem = exponent % 3  # Python's modulo is non-negative: 1 ≡ Go's {1,-2}, 2 ≡ {2,-1}
    if rem == 1:
        amount *= 10
        exponent -= 1
    elif rem == 2:
        amount *= 100
        exponent -= 2
    suffix = _DEC_SUFFIX.get(exponent)
    if suffix is None:
        return f"{amount}e{exponent}"
    return f"{amount}{suffix}"


def format_binary_si(value: int) -> str:
    """Canonical BinarySI text of an integer (``Ki``…``Ei``); small values go DecimalSI."""
    if -1024 < value < 1024:
        return format_decimal_si(value, 0)
    if value & 1023:  # not a multiple of 1024: plain bytes (the common case)
        return str(value)
    amount, times = _strip_factors(value, 1024)
    suffix = _BIN_SUFFIX.get(times)
    if suffix is None:  # beyond Ei: apimachinery falls back to the decimal form
        return format_decimal_si(value, 0)
    return f"{amount}{suffix}"


def format_cpu_nanocores(nanocores: int) -> str:
    """CPU usage as the Metrics API prints it: nanocores at scale -9, DecimalSI."""
    return format_decimal_si(nanocores, -9)


def format_memory_bytes(num_bytes: int) -> str:
    """Memory usage as the Metrics API prints it: bytes, BinarySI."""
    return format_binary_si(num_bytes)


def lose_precision(value: int) -> tuple[int, bool]:
    """Upstream's uint64→Quantity rule: above MaxInt64 drop one decimal digit.

    Returns ``(value, lost)``; the caller logs ``Found unexpectedly large resource value,
    losing precision to fit in scaled resource.Quantity`` when ``lost``.
    """
    if value > MAX_INT64:
        return value // 10 * 10, True
    return value, False


_QUANTITY_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)", re.DOTALL)
_FORMAT_WRONG = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_SUFFIX_VALUE: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(1 << 10),
    "Mi": Fraction(1 << 20),
    "Gi": Fraction(1 << 30),
    "Ti": Fraction(1 << 40),
    "Pi": Fraction(1 << 50),
    "Ei": Fraction(1 << 60),
}
_EXP_RE = re.compile(r"[eE]([+-]?[0-9]+)")


def parse_quantity(text: str) -> Fraction:
    """Parse a quantity (``4``, ``16Gi``, ``250m``, ``1e3``, ``1.5Gi``) to its exact value."""
    if not text:
        raise QuantityError("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    m = _QUANTITY_RE.fullmatch(text)
    if m is None:  # pragma: no cover - the pattern matches everything
        raise QuantityError(_FORMAT_WRONG)
    sign, whole, frac, suffix = m.groups()
    if not whole and not frac:
        raise QuantityError(_FORMAT_WRONG)
    digits = whole + (frac or "")
    number = Fraction(int(digits or "0"), 10 ** len(frac or ""))
    if sign == "-":
        number = -number
    mult = _SUFFIX_VALUE.get(suffix)
    if mult is None:
        em = _EXP_RE.fullmatch(suffix)
        if em is None:
            if re.fullmatch(r"[eEinumkKMGTP]*[-+]?[0-9]*", suffix):
                raise QuantityError("unable to parse quantity's suffix")
            raise QuantityError(_FORMAT_WRONG)
        exp = int(em.group(1))
        mult = Fraction(10) ** exp
    return number * mult


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def parse_cpu_nanocores(text: str) -> int:
    """A CPU quantity as integer nanocores, rounded up like ``ScaledValue(resource.Nano)``."""
    return _ceil(parse_quantity(text) * 10**9)


def parse_memory_bytes(text: str) -> int:
    """A memory quantity as integer bytes, rounded up like ``Quantity.Value()``."""
    return _ceil(parse_quantity(text))
