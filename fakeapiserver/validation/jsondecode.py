"""What kube-apiserver's JSON decoder says about a badly typed body.

Built-in kinds are decoded by sigs.k8s.io/json (Kubernetes 1.23 and later; json-iterator
before), a fork of Go's ``encoding/json``: a value of the wrong JSON type is recorded as an
``UnmarshalTypeError`` — ``json: cannot unmarshal string into Go struct field
DeploymentSpec.spec.replicas of type int32`` (the innermost struct, the JSON path without list
indices, the Go type) — decoding goes on and the *first* such error is reported; an error from
a type's own unmarshaler (quantities, int-or-string, timestamps) stops decoding at once and is
reported as it is, whatever was recorded before. This module walks decoded JSON against the
:mod:`gotypes` tables in document order and reproduces that choice and those words.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from . import gofmt
from .gotime import RFC3339, RFC3339_MICRO, TimeError, parse_time
from .gotypes import Bytes, GoType, Map, Scalar, Slice, Special, Struct
from .quantity import QuantityError, parse_quantity, quantity_ok


class Number(float):
    """A JSON number with a fraction or exponent, remembering its text (``1.0``, ``1e3``):
    Go's messages quote the literal, and ``1.0`` is not an int32 to Go."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> Number:
        number = super().__new__(cls, text)
        number.text = text
        return number


def literal(value: int | float) -> str:
    """A number's JSON text as the decoder saw it."""
    if isinstance(value, Number):
        return value.text
    if isinstance(value, float):
        return gofmt.float_text(value)
    return str(value)


def json_kind(value: Any) -> str:
    """The word Go's decoder uses for a JSON value: string, number, bool, array, object."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


#: A JSON path as a linked list (key, parent) — built for every field, materialized only for
#: an error message.
Path = tuple[Any, ...]
_UINT8 = Scalar("uint8", "uint8")


def _steps(path: Path) -> tuple[str, ...]:
    steps: list[str] = []
    while path:
        steps.append(path[0])
        path = path[1]
    return tuple(reversed(steps))


class _Fatal(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def type_error(value_word: str, go_type: str, struct: str = "", path: tuple[str, ...] = ()
               ) -> str:
    """``UnmarshalTypeError.Error()``."""
    if struct or path:
        return (f"json: cannot unmarshal {value_word} into Go struct field "
                f"{struct}.{'.'.join(path)} of type {go_type}")
    return f"json: cannot unmarshal {value_word} into Go value of type {go_type}"


def base64_error(text: str) -> str | None:
    """``base64.StdEncoding.Decode``'s ``illegal base64 data at input byte N``, or None."""
    src = text.encode("utf-8", "surrogatepass")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    si = 0
    while si < len(src):
        j = 0
        while j < 4:
            if si == len(src):
                if j == 0:
                    return None
                return f"illegal base64 data at input byte {si - j}"
            ch = src[si]
            si += 1
            if ch in alphabet:
                j += 1
                continue
            if ch in b"\r\n":
                continue
            if ch != ord("=") or j < 2:
                return f"illegal base64 data at input byte {si - 1}"
            if j == 2:  # "==" expected: the first "=" is consumed
                while si < len(src) and src[si] in b"\r\n":
                    si += 1
                if si == len(src):
                    return f"illegal base64 data at input byte {len(src)}"
                if src[si] != ord("="):
                    return f"illegal base64 data at input byte {si - 1}"
                si += 1
            while si < len(src) and src[si] in b"\r\n":
                si += 1
            if si < len(src):
                return f"illegal base64 data at input byte {si}"
            return None
    return None


class _Decoder:
    """One decode: the first recorded type error, and the walk."""

    def __init__(self) -> None:
        self.saved: str | None = None
        #: Whether :func:`normalize_nulls` has anything to do (a null, a float in an integer).
        self.odd = False

    def save(self, message: str) -> None:
        if self.saved is None:
            self.saved = message

    def mismatch(self, value: Any, t: GoType, struct: str, path: Path) -> None:
        self.save(type_error(json_kind(value), t.display, struct, _steps(path)))

    def walk(self, value: Any, t: Any, struct: str, path: Path) -> None:
        """One value against one :class:`GoType` (the hot path: common cases first, classes
        compared directly, hence ``t: Any``)."""
        if value is None:
            self.odd = True
            return  # null leaves any Go value alone
        cls = t.__class__
        if cls is Scalar:
            kind = t.kind
            if kind == "string":
                if not isinstance(value, str):
                    self.mismatch(value, t, struct, path)
            elif value.__class__ is int and kind != "bool":
                low, high = t.int_range() if t.is_int else (value, value)
                if not low <= value <= high:
                    self.save(type_error(f"number {value}", t.display, struct, _steps(path)))
            else:
                self.scalar(value, t, struct, path)
        elif cls is Struct:
            if value.__class__ is not dict:
                self.mismatch(value, t, struct, path)
                return
            if t.opaque:
                return
            fields = t.fields
            name = t.name
            for key, item in value.items():
                ft = fields.get(key)
                if ft is not None:
                    self.walk(item, ft, name, (key, path))
        elif cls is Slice:
            if value.__class__ is not list:
                self.mismatch(value, t, struct, path)
                return
            elem = t.elem
            for item in value:
                self.walk(item, elem, struct, path)
        elif cls is Map:
            if value.__class__ is not dict:
                self.mismatch(value, t, struct, path)
                return
            elem = t.elem
            for item in value.values():
                self.walk(item, elem, struct, path)
        elif cls is Special:
            self.special(value, t)
        elif cls is Bytes:
            if isinstance(value, str):
                err = base64_error(value)
                if err:
                    self.save(err)
            elif isinstance(value, list):
                self.odd = True
                for item in value:
                    self.scalar(item, _UINT8, struct, path)
            else:
                self.mismatch(value, t, struct, path)

    def scalar(self, value: Any, t: Scalar, struct: str, path: Path) -> None:
        if t.kind == "string":
            ok = isinstance(value, str)
        elif t.kind == "bool":
            ok = isinstance(value, bool)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            ok = False
        elif t.is_int:
            if isinstance(value, float):
                self.odd = True
            text = literal(value)
            low, high = t.int_range()
            number = _parse_int(text)
            if number is None or not low <= number <= high:
                self.save(type_error(f"number {text}", t.display, struct, _steps(path)))
            return
        else:
            if value != value or value in (float("inf"), float("-inf")) or (
                    t.kind == "float32" and abs(value) > 3.4028234663852886e38):
                self.save(type_error(f"number {literal(value)}", t.display, struct,
                                     _steps(path)))
            return
        if not ok:
            self.mismatch(value, t, struct, path)

    def special(self, value: Any, t: Special) -> None:
        if t.what == "quantity":
            if isinstance(value, str):
                text = value.strip()
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float)):
                text = literal(value)
            else:
                text = "{"  # an object or array is never a quantity
            if not quantity_ok(text):
                try:
                    parse_quantity(text)
                except QuantityError as exc:
                    raise _Fatal(str(exc)) from None
        elif t.what == "intorstring":
            if isinstance(value, str):
                return
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _Fatal(type_error(json_kind(value), "int32"))
            if isinstance(value, float):
                self.odd = True
            text = literal(value)
            number = _parse_int(text)
            if number is None or not -(1 << 31) <= number < 1 << 31:
                raise _Fatal(type_error(f"number {text}", "int32"))
        elif t.what in ("time", "microtime"):
            if not isinstance(value, str):
                raise _Fatal(type_error(json_kind(value), "string"))
            try:
                parse_time(RFC3339 if t.what == "time" else RFC3339_MICRO, value)
            except TimeError as exc:
                raise _Fatal(str(exc)) from None


def _parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)`` (no fraction, no exponent, within int64)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    number = int(text)
    return number if -(1 << 63) <= number < 1 << 63 else None


def decode(obj: Any, root: Struct) -> tuple[str | None, bool]:
    """(the decode error kube-apiserver reports for ``obj`` as a ``root`` or None, whether
    :func:`normalize_nulls` has work to do)."""
    decoder = _Decoder()
    try:
        decoder.walk(obj, root, "", ())
    except _Fatal as fatal:
        return fatal.message, decoder.odd
    return decoder.saved, decoder.odd


def first_error(obj: Any, root: Struct) -> str | None:
    """The decode error kube-apiserver reports for ``obj`` as a ``root``, or None."""
    return decode(obj, root)[0]


def _zero(t: GoType) -> Any:
    """The JSON form of a Go zero value (None where Go prints null)."""
    if isinstance(t, Scalar):
        if t.kind == "string":
            return ""
        if t.kind == "bool":
            return False
        return 0
    if isinstance(t, Struct):
        return {}
    if isinstance(t, Special) and t.what in ("quantity", "intorstring"):
        return "0" if t.what == "quantity" else 0
    return None


def normalize_nulls(value: Any, t: GoType) -> None:
    """Store what Go's decoder would have made of an accepted value, in place: a known struct
    field set to null is left unset (nil pointer or zero value), a null map value or list
    element becomes the element type's zero value (``labels: {app: null}`` is ``app: ""``),
    and an integral float in an integer field (a strategic merge patch's ``2.0``) is an int."""
    if isinstance(t, Struct) and isinstance(value, dict) and not t.opaque:
        fields = t.fields
        for key in [k for k, v in value.items() if v is None and k in fields]:
            del value[key]
        for key, item in value.items():
            ft = fields.get(key)
            if ft is None:
                continue
            if _int_like(item, ft):
                value[key] = _go_int(item, ft)  # type: ignore[arg-type]
            elif isinstance(ft, Bytes) and isinstance(item, list):
                value[key] = _bytes_text(item)
            else:
                normalize_nulls(item, ft)
    elif isinstance(t, (Slice, Map)) and isinstance(value, (list, dict)):
        container: Any = value
        keys = range(len(value)) if isinstance(value, list) else list(value)
        zero = _zero(t.elem)
        elem = t.elem
        for key in keys:
            item = container[key]
            if item is None:
                if zero is not None:
                    container[key] = copy.copy(zero)
            elif _int_like(item, elem):
                container[key] = _go_int(item, elem)  # type: ignore[arg-type]
            elif isinstance(elem, Bytes) and isinstance(item, list):
                container[key] = _bytes_text(item)
            else:
                normalize_nulls(item, elem)


def _int_like(item: Any, t: GoType) -> bool:
    """An integer field holding a float or an out-of-range int (only the unstructured
    converter lets those through: Go converts them, truncating)."""
    if isinstance(t, Special) and t.what == "intorstring":
        return isinstance(item, float)  # (accepted only when integral)
    if not (isinstance(t, Scalar) and t.is_int) or isinstance(item, bool):
        return False
    if isinstance(item, float):
        return True
    if isinstance(item, int):
        low, high = t.int_range()
        return not low <= item <= high
    return False


def _go_int(item: float | int, t: Scalar | Special) -> int:
    """Go's conversion to ``t``: float to int64 (amd64 gives MinInt64 out of range), then the
    two's complement truncation to ``t``'s width (int32 for an int-or-string)."""
    number = int(item) if not isinstance(item, float) or abs(item) < 2**63 else -(2**63)
    low, high = t.int_range() if isinstance(t, Scalar) else (-(2**31), 2**31 - 1)
    span = high - low + 1
    return (number - low) % span + low


def _bytes_text(item: Any) -> str:
    """A ``[]byte`` given as a list of numbers, as Go prints it back: base64."""
    return base64.b64encode(bytes(int(b) & 0xFF for b in item)).decode()
