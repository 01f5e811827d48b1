"""Go's ``fmt`` verbs for the values that end up inside kube-apiserver's error texts.

Error messages embed Go-printed values: ``%q`` strings, ``%v`` / ``%+v`` of decoded JSON
(``map[spec:map[replicas:banana]]``), ``%#v`` of typed values
(``map[string]string{"app":"web"}``, ``&value.valueUnstructured{Value:5}``) and ``%T``.
Decoded JSON here is Python data: dict, list, str, int, float, bool, None.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def quote(text: str) -> str:
    """``strconv.Quote`` (and ``%q``): printable runes kept, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif "\ud800" <= ch <= "\udfff":  # not valid UTF-8: Go escapes the bytes
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def float_text(value: float) -> str:
    """``%v`` of a float64: the shortest digits, ``%e`` form from exponent -5 and 6 on."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp = len(text) + exponent - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    whole = text[:exp + 1].ljust(exp + 1, "0")
    rest = text[exp + 1:]
    return f"{prefix}{whole}.{rest}" if rest else f"{prefix}{whole}"


def v(value: Any) -> str:
    """``%v`` (and ``%+v``) of decoded JSON: ``map[a:1 b:[x y]]``, strings bare."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(v(item) for item in value) + "]"
    return str(value)


def sharp_v(value: Any) -> str:
    """``%#v`` of decoded JSON held in an ``interface{}``."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        items = ", ".join(f"{quote(k)}:{sharp_v(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(sharp_v(item) for item in value) + "}"
    return v(value)


def type_name(value: Any, ints: str = "int64") -> str:
    """``%T`` of decoded JSON (numbers are ``int64``/``float64``, or all ``float64``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return ints
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "[]interface {}"


def string_map(value: dict[str, Any]) -> str:
    """``%#v`` of a ``map[string]string`` (labels, selectors): ``map[string]string{"a":"b"}``;
    a nil map prints ``map[string]string(nil)``."""
    if value is None:
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(
        f"{quote(k)}:{quote(str(value[k]))}" for k in sorted(value)) + "}"


class GoValue:
    """A value already printed the Go way (a struct's ``%#v``), for field errors."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"GoValue({self.text!r})"
