"""``resource.ParseQuantity`` as kube-apiserver runs it on every quantity it decodes.

Which strings are refused, and with which of apimachinery's three messages, follows its
parser step by step (``1.`` and ``.`` are zero, ``5K`` has a bad suffix, ``5x`` is malformed).
metricsd has a quantity module of its own, but the package boundaries keep the simulated
control plane from importing metricsd, and this one only has to parse.
"""

from __future__ import annotations

import re
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


_PLAIN = re.compile(r"([0-9]{1,15})(m|k|M|G|Ki|Mi|Gi|Ti)?")
_PLAIN_MULT = {None: Fraction(1), "m": Fraction(1, 1000), "k": Fraction(1000),
               "M": Fraction(10**6), "G": Fraction(10**9), "Ki": Fraction(1 << 10),
               "Mi": Fraction(1 << 20), "Gi": Fraction(1 << 30), "Ti": Fraction(1 << 40)}


def quantity_ok(text: str) -> bool:
    """A quick yes for the usual quantities (``250m``, ``64Mi``, ``2``); False means "ask
    :func:`parse_quantity`", not "invalid"."""
    return _PLAIN.fullmatch(text) is not None


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity, or :class:`QuantityError` with apimachinery's text.

    Exponents are clamped to ±400 for the arithmetic (far beyond any value that compares
    differently at the precision anyone validates)."""
    plain = _PLAIN.fullmatch(text)  # the usual "250m", "64Mi", "2": no need for the full parse
    if plain is not None:
        return int(plain.group(1)) * _PLAIN_MULT[plain.group(2)]
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


_DEC_SUFFIX = {0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E", -3: "m", -6: "u",
               -9: "n"}
_BIN_SUFFIX = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}


def _format(text: str) -> str:
    """The Format ParseQuantity gives a quantity: DecimalSI, BinarySI or DecimalExponent."""
    if text == "0":
        return "DecimalSI"
    suffix = _split(text)[3]
    if suffix in _BINARY:
        return "BinarySI"
    return "DecimalSI" if suffix in _DECIMAL else "DecimalExponent"


def _rounded(value: Fraction) -> Fraction:
    """Values are kept to nano precision, rounded away from zero (as ParseQuantity does)."""
    scaled = value * 10**9
    whole = -((-abs(scaled).numerator) // abs(scaled).denominator)
    return Fraction(whole if value >= 0 else -whole, 10**9)


def canonical(text: str) -> str:
    """``Quantity.String()``: the canonical form (``0.5`` → ``500m``, ``1024Mi`` → ``1Gi``)."""
    value = _rounded(parse_quantity(text))
    if value == 0:
        return "0"
    fmt = _format(text)
    if fmt == "BinarySI" and (-1024 < value < 1024 or value.denominator != 1):
        fmt = "DecimalSI"  # small or fractional: printed in decimal
    if fmt == "BinarySI":
        amount, times = int(value), 0
        while amount % 1024 == 0 and times < 6:
            amount //= 1024
            times += 1
        return f"{amount}{_BIN_SUFFIX[times]}"
    exponent = -9
    amount = int(value * 10**9)
    while amount % 10 == 0:
        amount //= 10
        exponent += 1
    rem = exponent % 3
    if rem:
        amount *= 10 ** rem
        exponent -= rem
    if fmt == "DecimalExponent":
        return f"{amount}e{exponent}" if exponent else str(amount)
    suffix = _DEC_SUFFIX.get(exponent)
    return f"{amount}{suffix}" if suffix is not None else f"{amount}e{exponent}"


def go_value(text: str) -> str:
    """``%#v`` of the ``resource.Quantity`` ParseQuantity builds (validation errors print it
    so, the pointer it came in being dereferenced)."""
    fmt = _format(text)
    if text == "0":
        return ('resource.Quantity{i:resource.int64Amount{value:0, scale:0}, '
                'd:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"0", Format:"DecimalSI"}')
    positive, num, denom, suffix = _split(text)
    base, exp = _interpret(suffix)
    if base == 2:
        scale, mantissa = 0, 1 << exp if not denom else 0
    else:
        scale, mantissa = exp - len(denom), 1
    digits = (num + denom).lstrip("0") or "0"
    value = int(digits) * mantissa
    fast = mantissa and len(num) + len(denom) <= 18 and scale >= -9 and value < 1 << 63
    if not fast:
        return (f"resource.Quantity{{i:resource.int64Amount{{value:0, scale:0}}, "
                f"d:resource.infDecAmount{{Dec:(*inf.Dec)(0xc000000000)}}, s:\"\", "
                f"Format:{_quote(fmt)}}}")
    if base == 2:
        cached = exp % 10 == 0 and value & 7 != 0
    else:
        cached = scale % 3 == 0 and not (num + denom).endswith("000") and (num + denom)[0] != "0"
    s = text if cached else ""
    signed = value if positive else -value
    return (f"resource.Quantity{{i:resource.int64Amount{{value:{signed}, scale:{scale}}}, "
            f"d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:{_quote(s)}, "
            f"Format:{_quote(fmt)}}}")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
