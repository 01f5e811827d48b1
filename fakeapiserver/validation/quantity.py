"""``resource.ParseQuantity`` as kube-apiserver runs it on every quantity it decodes.

Which strings are refused, and with which of apimachinery's three messages, follows its
parser step by step (``1.`` and ``.`` are zero, ``5K`` has a bad suffix, ``5x`` is malformed).
metricsd has a quantity module of its own, but the package boundaries keep the simulated
control plane from importing metricsd, and this one only has to parse.
"""

from __future__ import annotations

from fractions import Fraction

FORMAT_WRONG = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
NUMERIC = "unable to parse numeric part of quantity"
SUFFIX = "unable to parse quantity's suffix"

_DIGITS = "0123456789"
_SUFFIX_CHARS = "eEinumkKMGTP"
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


class QuantityError(ValueError):
    """A quantity apimachinery refuses; ``str()`` is its message."""


def _split(text: str) -> tuple[bool, str, str, str]:
    """apimachinery's parseQuantityString: (positive, numerator, denominator, suffix)."""
    pos, end = 0, len(text)
    positive = True
    if text[:1] in ("-", "+"):
        positive = text[0] == "+"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(FORMAT_WRONG)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int]:
    """(base, exponent) of a suffix, as apimachinery's suffixer reads it."""
    if suffix in _DECIMAL:
        return 10, _DECIMAL[suffix]
    if suffix in _BINARY:
        return 2, _BINARY[suffix]
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[:1] in ("+", "-") else digits
        if body and body.isdigit() and body.isascii() and abs(int(digits)) < 1 << 63:
            exp = (int(digits) + (1 << 31)) % (1 << 32) - (1 << 31)  # Go's int32() wraps
            return 10, exp
    raise QuantityError(SUFFIX)


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity, or :class:`QuantityError` with apimachinery's text.

    Exponents are clamped to ±400 for the arithmetic (far beyond any value that compares
    differently at the precision anyone validates)."""
    if not text:
        raise QuantityError(FORMAT_WRONG)
    positive, num, denom, suffix = _split(text)
    base, exp = _interpret(suffix)
    digits = len(num) + len(denom)
    if base == 2:
        precision = 15 - len(num) - int(exp * 3 / 10) - 1 if not denom else -1
        scale = 0
    else:
        precision, scale = 18 - digits, exp
    if (precision < 0 or scale - len(denom) < -9) and not any(
            ch in _DIGITS for ch in text[:len(text) - len(suffix)]):
        raise QuantityError(NUMERIC)  # the big-decimal fallback finds no number to parse
    exp = max(-400, min(400, exp))
    mult = Fraction(1 << exp) if base == 2 else Fraction(10) ** exp
    value = Fraction(int(num + denom), 10 ** len(denom)) * mult
    return value if positive else -value
