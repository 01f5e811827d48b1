"""Kubernetes quantities where the fleet spec takes CPU and memory amounts.

Why our own parser: users copy amounts out of real manifests and Metrics API answers
(``2500u``, ``156466250n``, ``1e3``, ``.5``, ``1249280Ki``), so the spec accepts every form
apimachinery's ``resource.ParseQuantity`` accepts — an optional sign, digits with an optional
fraction, then a binary suffix (``Ki`` … ``Ei``), a decimal one (``n u m "" k M G T P E``) or
a decimal exponent (``e3``, ``E-3``) — and rejects the rest. fakekubelet may not import
metricsd (package boundaries), whose ``metricsd.quantity`` is the same grammar; a hypothesis
test keeps the two in agreement. Values are exact ``Fraction``s until the caller needs a
float (workload levels) or an integer (requests, limits, capacity: millicores and bytes,
rounded up as ``Quantity.MilliValue()`` and ``Value()`` round).

Amounts in the fleet spec are non-negative; YAML numbers (``0.25``, ``3``) are taken at their
decimal value (``0.29`` is 29/100, not the nearest double).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["cpu_millicores", "memory_bytes", "parse_cpu", "parse_memory", "parse_quantity"]

_SUFFIX: dict[str, Fraction] = {
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
_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")
#: beyond this a decimal exponent only makes amounts no double can hold (or ~0)
_MAX_EXPONENT = 400


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity string; ``ValueError`` for what apimachinery rejects."""
    m = _NUMBER.match(text)
    assert m is not None  # every part of the pattern is optional
    sign, whole, frac = m.group(1), m.group(2), m.group(3)
    if not whole and not frac:
        raise ValueError(f"{text!r} is not a quantity")
    suffix = text[m.end():]
    number = Fraction(int(whole + (frac or "") or "0"), 10 ** len(frac or ""))
    mult = _SUFFIX.get(suffix)
    if mult is None:
        em = _EXPONENT.fullmatch(suffix)
        if em is None:
            raise ValueError(f"{text!r} is not a quantity (suffix {suffix!r})")
        exp = int(em.group(1))
        if abs(exp) > _MAX_EXPONENT and number:
            if exp > 0:
                raise ValueError(f"{text!r} is too large")
            exp = -_MAX_EXPONENT
        mult = Fraction(10) ** exp
    value = number * mult
    return -value if sign == "-" else value


def _amount(value: object, what: str) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a {what} amount")
    if isinstance(value, int):
        exact = Fraction(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a {what} amount")
        exact = Fraction(repr(value))
    elif isinstance(value, str):
        try:
            exact = parse_quantity(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a {what} amount") from None
    else:
        raise ValueError(f"{value!r} is not a {what} amount")
    if exact < 0:
        raise ValueError(f"{value!r} is not a {what} amount >= 0")
    try:
        float(exact)
    except OverflowError:
        raise ValueError(f"{value!r} is not a finite {what} amount") from None
    return exact


def parse_cpu(value: object) -> float:
    """Cores from a number (``0.25``) or a quantity (``250m``, ``2500u``, ``2``, ``1e-3``)."""
    return float(_amount(value, "CPU"))


def parse_memory(value: object) -> float:
    """Bytes from a number or a quantity (``128Mi``, ``1G``, ``1.5Gi``, ``1e8``)."""
    return float(_amount(value, "memory"))


def cpu_millicores(value: object) -> int:
    """Whole millicores, rounded up (``Quantity.MilliValue()``): ``2500u`` → 3."""
    return math.ceil(_amount(value, "CPU") * 1000)


def memory_bytes(value: object) -> int:
    """Whole bytes, rounded up (``Quantity.Value()``): ``1.5`` → 2."""
    return math.ceil(_amount(value, "memory"))
