"""Type checks and validation of the built-in kinds, answered in kube-apiserver's words.

Two layers, as in kube-apiserver:

* **decoding** (:func:`check_types`): a body whose values don't fit the Go types is refused
  before anything else happens — 400 ``… cannot be handled as a Deployment: json: cannot
  unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`` for
  create and update; patches are refused in the words of the path kube-apiserver takes for
  that patch type (JSON decoder for merge and JSON patches, the unstructured converter for
  strategic merge patches, structured-merge-diff for server-side apply);
* **validation** (:func:`validate`): a well-typed object that breaks a rule the control
  plane's own code relies on (negative replicas, a selector that doesn't select the
  template, bad names or labels, an HPA with ``maxReplicas`` below ``minReplicas``, …) gets
  the 422 ``Invalid`` Status with one cause per broken rule.

The Go types are data (:mod:`.gotypes`, :mod:`.schema`); the rules are in :mod:`.rules`.
Everything raises :class:`Rejected`, which the store turns into its ``ApiError`` (both are
:class:`~fakeapiserver.apistatus.StatusError`).
"""

from __future__ import annotations

import json
from typing import Any

from ..apistatus import StatusError
from . import gofmt, schema  # noqa: F401  (registers the type tables)
from .applytypes import typed_patch_message
from .fielderrors import FieldError, invalid, invalid_status
from .gotypes import Package, Struct, root
from .jsondecode import decode, normalize_nulls
from .unstructured import convert_error

#: How an object reached the store (decides which of kube-apiserver's decoders speaks).
BODY = "body"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class Rejected(StatusError):
    """A refused write, with the metav1.Status fields kube-apiserver answers."""

    @classmethod
    def invalid(cls, group: str, kind: str, name: str, errors: list[FieldError]) -> Rejected:
        status = invalid_status(group, kind, name, errors)
        return cls(422, "Invalid", status["message"], status["details"])


def go_json(obj: Any) -> str:
    """Compact JSON with sorted keys and Go's HTML escaping (how Go prints a patched map)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def patch_invalid(value_text: str, error: str) -> Rejected:
    """The 422 kube-apiserver answers for a patch whose result does not decode."""
    return Rejected.invalid("", "", "", [invalid("patch", value_text, error)])


def type_root(group: str, version: str, kind: str) -> Struct | None:
    return root(group, version, kind)


def _metadata_only(kind: str) -> Struct:
    cached = _UNTYPED.get(kind)
    if cached is None:
        package = Package(f"untyped/{kind}", "v1", imports={"metav1": "meta/v1"},
                          structs={kind: "... metav1.TypeMeta, metadata metav1.ObjectMeta"})
        struct = package.type(kind)
        assert isinstance(struct, Struct)
        cached = _UNTYPED[kind] = struct
    return cached


_UNTYPED: dict[str, Struct] = {}


def check_types(group: str, version: str, kind: str, obj: Any, how: str = BODY,
                patch: Any = None) -> None:
    """Raise :class:`Rejected` when ``obj`` (the object about to be stored, in the request's
    version) has values its Go types can't hold; ``patch`` is the patch for patch requests."""
    struct = root(group, version, kind)
    if struct is None:  # a kind without a table: its metadata is still ObjectMeta
        struct = _metadata_only(kind)
    if how == APPLY_PATCH:
        message = typed_patch_message(patch, struct) if isinstance(patch, dict) else None
        if message is None:
            message = typed_patch_message(obj, struct)
        if message is not None:
            raise Rejected.bad_request(message)
        # Untyped scalars (quantities, int-or-strings) pass the schema with any scalar; the
        # merged object must still convert to the Go types (kube-apiserver: a 500).
        error, odd = decode(obj, struct)
        if error is not None:
            raise Rejected.bad_request(
                f'{kind} in version "{version}" cannot be handled as a {kind}: {error}')
        if odd:
            normalize_nulls(obj, struct)
        return
    if how == STRATEGIC_PATCH:
        error = convert_error(obj, struct)
        if error is not None:
            raise patch_invalid(gofmt.v(patch), error)
        normalize_nulls(obj, struct)
        return
    error, odd = decode(obj, struct)
    if error is None:
        if odd:
            normalize_nulls(obj, struct)
        return
    if how in (MERGE_PATCH, JSON_PATCH):
        raise patch_invalid(go_json(obj), error)
    raise Rejected.bad_request(
        f'{kind} in version "{version}" cannot be handled as a {kind}: {error}')


__all__ = [
    "APPLY_PATCH",
    "BODY",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_PATCH",
    "Rejected",
    "check_types",
    "go_json",
    "patch_invalid",
    "type_root",
]
