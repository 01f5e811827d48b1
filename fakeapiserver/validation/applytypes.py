"""What kube-apiserver says when a server-side apply configuration is badly typed.

Server-side apply checks the applied configuration against the structured-merge-diff schema
(v4.4, Kubernetes 1.30) before merging: every error, each with its path (``.spec.replicas``,
``.spec.template.spec.containers[name="web"].image``), in words that print Go values
(``expected numeric (int or float), got string``, ``expected string, got
&value.valueUnstructured{Value:5}``), under ``failed to create typed patch object (ns/name;
apps/v1, Kind=Deployment): …``. kube-apiserver answers that with a 500 (kubernetes#122480);
we answer 400 BadRequest with the same words — a client error is not a server error.

Numbers in an apply configuration are float64 (the YAML is converted to JSON and decoded into
``interface{}``), so ``%T`` of any number is ``float64``. Quantities, int-or-strings and
timestamps are untyped scalars to the schema; an unknown field (we don't know all fields) is
let through rather than reported as ``field not declared in schema``.
"""

from __future__ import annotations

from typing import Any

from . import gofmt
from .gotypes import Bytes, GoType, Map, Scalar, Slice, Special, Struct


def _pv(value: Any) -> str:
    """``%v`` of a ``*value.valueUnstructured``."""
    return "&{" + gofmt.v(value) + "}"


def _psharp(value: Any) -> str:
    """``%#v`` of a ``*value.valueUnstructured``."""
    return "&value.valueUnstructured{Value:" + gofmt.sharp_v(value) + "}"


def _to_string(value: Any) -> str:
    """structured-merge-diff's ``value.ToString`` (list keys in paths)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return gofmt.quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_to_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_to_string(v)}" for k, v in value.items())
    return gofmt.v(float(value) if isinstance(value, int) and not isinstance(value, bool)
                   else value)


def _scalar_kind(t: GoType) -> str:
    if isinstance(t, Scalar):
        if t.kind == "bool":
            return "boolean"
        return "string" if t.kind == "string" else "numeric"
    if isinstance(t, Bytes):
        return "string"
    return "untyped"


class _Walker:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def walk(self, value: Any, t: GoType, path: str) -> None:
        if value is None:
            return
        if isinstance(t, Special) and t.what == "raw":
            return
        if isinstance(t, (Struct, Map)):
            if not isinstance(value, dict):
                self.error(path, f"expected map, got {_pv(value)}")
                return
            if isinstance(t, Struct):
                if t.opaque:
                    return
                for key, item in value.items():
                    ft = t.fields.get(key)
                    if ft is not None:
                        self.walk(item, ft, f"{path}.{key}")
            else:
                for key, item in value.items():
                    self.walk(item, t.elem, f"{path}.{key}")
            return
        if isinstance(t, Slice):
            if not isinstance(value, list):
                self.error(path, f"expected list, got {_pv(value)}")
                return
            self.list_items(value, t, path)
            return
        self.scalar(value, _scalar_kind(t), path)

    def list_items(self, items: list[Any], t: Slice, path: str) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if not t.keys:
                self.walk(item, t.elem, f"{path}[{index}]")
                continue
            if item is None:
                self.error(path, f"element {index}: associative list with keys may not have "
                                 "a null element")
                return
            if not isinstance(item, dict):
                self.error(path, f"element {index}: associative list with keys may not have "
                                 "non-map elements")
                return
            parts = []
            for name, default in sorted(t.keys):
                if name in item:
                    parts.append(f"{name}={_to_string(item[name])}")
                elif default is not None:
                    parts.append(f"{name}={_to_string(default)}")
                else:
                    self.error(path, f"element {index}: associative list with keys has an "
                                     f"element that omits key field {gofmt.quote(name)} (and "
                                     "doesn't have default value)")
                    return
            element = "[" + ",".join(parts) + "]"
            if element in seen:
                self.error(path, f"duplicate entries for key {element}")
            seen.add(element)
            self.walk(item, t.elem, path + element)

    def scalar(self, value: Any, kind: str, path: str) -> None:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "numeric" and not number:
            self.error(path, "expected numeric (int or float), got "
                             f"{gofmt.type_name(value, ints='float64')}")
        elif kind == "string" and not isinstance(value, str):
            self.error(path, f"expected string, got {_psharp(value)}")
        elif kind == "boolean" and not isinstance(value, bool):
            self.error(path, f"expected boolean, got {_pv(value)}")
        elif kind == "untyped" and isinstance(value, (dict, list)):
            self.error(path, f"expected any scalar, got {_pv(value)}")


def typed_errors(obj: Any, root: Struct) -> list[tuple[str, str]]:
    """(path, message) of every schema error in an apply configuration, sorted by path
    (structured-merge-diff visits map keys in Go's random map order)."""
    walker = _Walker()
    walker.walk(obj, root, "")
    return sorted(walker.errors)


def typed_patch_message(obj: dict[str, Any], root: Struct) -> str | None:
    """``failed to create typed patch object (…): …`` for ``obj``, or None when it is fine."""
    errors = typed_errors(obj, root)
    if not errors:
        return None
    texts = [f"{p}: {m}" if p else m for p, m in errors]
    body = texts[0] if len(texts) == 1 else "errors:\n" + "\n".join(f"  {t}" for t in texts)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    return (f"failed to create typed patch object ({meta.get('namespace') or ''}/"
            f"{meta.get('name') or ''}; {group}/{version}, Kind={obj.get('kind') or ''}): {body}")
