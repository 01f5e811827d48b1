"""What kube-apiserver says when a strategic merge patch yields a badly typed object.

After a strategic merge patch, the patched map is converted to the Go struct by apimachinery's
``DefaultUnstructuredConverter.FromUnstructured``, not by the JSON decoder, so the words
differ: ``unrecognized type: int32`` (a string where an int32 goes), ``cannot convert int64
to string``, ``cannot restore struct from: string``, ``cannot restore slice from map`` — no
field path — and the first error in Go struct field order wins. kube-apiserver wraps it as a
422 on the field ``patch`` whose value is the patch printed with ``%+v``; see
:func:`fakeapiserver.validation.patch_invalid`.

Numbers in the patched map are int64 (integers) or float64, as ``UnmarshalCaseSensitive-
PreserveInts`` decodes them.
"""

from __future__ import annotations

import json
from typing import Any

from .gotypes import Bytes, GoType, Map, Scalar, Slice, Special, Struct
from .jsondecode import _Decoder, _Fatal, base64_error


def _reflect_kind(value: Any) -> str:
    """reflect.Kind of a decoded JSON value: string, int64, float64, bool, map, slice."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    return "slice"


def _scalar(value: Any, t: Scalar) -> str | None:
    src = _reflect_kind(value)
    if src in ("map", "slice"):
        return f"unrecognized type: {t.kind}"
    numeric = t.is_int or t.is_float
    if src == t.kind and t.display == t.kind:
        return None  # assignable
    if src == "string":
        return None if t.kind == "string" else f"unrecognized type: {t.kind}"
    if src == "bool":
        return None if t.kind == "bool" else f"unrecognized type: {t.kind}"
    # numbers: convertible to any number and (ints only) to string
    if numeric:
        if src == "float64" and t.is_int and value != int(value):
            return f"cannot convert float64 to {t.display}"
        return None
    if src == "int64" and t.kind == "string":
        return f"cannot convert int64 to {t.display}"
    return f"unrecognized type: {t.kind}"


def convert_error(value: Any, t: GoType) -> str | None:
    """``FromUnstructured``'s error for ``value`` converted to ``t``, or None."""
    if value is None:
        return None
    if isinstance(t, Scalar):
        return _scalar(value, t)
    if isinstance(t, Special):
        if t.what == "raw":
            return None
        try:  # json.Marshal then the type's UnmarshalJSON: the decoder's own words
            _Decoder().special(json.loads(json.dumps(value)), t)
        except _Fatal as fatal:
            return fatal.message
        return None
    if isinstance(t, Bytes):
        if isinstance(value, str):
            err = base64_error(value) if value else None
            return f"error decoding from json: {err}" if err else None
        if not isinstance(value, list):
            return f"cannot restore slice from {_reflect_kind(value)}"
        for item in value:
            err = convert_error(item, Scalar("uint8", "uint8"))
            if err:
                return err
        return None
    if isinstance(t, Slice):
        if not isinstance(value, list):
            return f"cannot restore slice from {_reflect_kind(value)}"
        for item in value:
            err = convert_error(item, t.elem)
            if err:
                return err
        return None
    if isinstance(t, Map):
        if not isinstance(value, dict):
            return f"cannot restore map from {_reflect_kind(value)}"
        for key in sorted(value):  # Go iterates maps in random order; we pick one
            err = convert_error(value[key], t.elem)
            if err:
                return err
        return None
    assert isinstance(t, Struct)
    if not isinstance(value, dict):
        return f"cannot restore struct from: {_reflect_kind(value)}"
    if t.opaque:
        return None
    for name, ft in t.fields.items():
        if name in value:
            err = convert_error(value[name], ft)
            if err:
                return err
    return None
