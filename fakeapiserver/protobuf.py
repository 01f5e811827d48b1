"""Decode the Kubernetes protobuf request bodies that kubectl ≥1.32 sends for typed writes.

kubectl 1.32+ POSTs typed objects (``kubectl create namespace``, ``create configmap``,
``create token``, ``auth can-i`` …) as ``application/vnd.kubernetes.protobuf`` and does not fall
back to JSON on a 415. Responses can stay JSON (clients accept it), so only DEcoding is needed,
and only for the small set of messages those commands send. The wire format is the ``k8s\\0``
magic followed by a ``runtime.Unknown`` envelope whose ``raw`` field holds the object message.

Field numbers are those of the upstream ``generated.proto`` files (wire-format facts). A type
outside :data:`MESSAGES` is rejected with 415, as before.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """A body that is not a decodable Kubernetes protobuf object."""


# Field spec: number -> (json name, type, repeated). Types: "string", "bytes", "int", "bool",
# "time", ("map", value type), or a message name in MESSAGES.
Spec = dict[int, tuple[str, Any, bool]]

_S, _B, _I, _BOOL, _T = "string", "bytes", "int", "bool", "time"

MESSAGES: dict[str, Spec] = {
    "ObjectMeta": {
        1: ("name", _S, False), 2: ("generateName", _S, False), 3: ("namespace", _S, False),
        5: ("uid", _S, False), 6: ("resourceVersion", _S, False), 7: ("generation", _I, False),
        8: ("creationTimestamp", _T, False), 9: ("deletionTimestamp", _T, False),
        11: ("labels", ("map", _S), False), 12: ("annotations", ("map", _S), False),
        13: ("ownerReferences", "OwnerReference", True), 14: ("finalizers", _S, True)},
    "OwnerReference": {5: ("apiVersion", _S, False), 1: ("kind", _S, False),
                       3: ("name", _S, False), 4: ("uid", _S, False),
                       6: ("controller", _BOOL, False), 7: ("blockOwnerDeletion", _BOOL, False)},
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "NamespaceSpec", False)},
    "NamespaceSpec": {1: ("finalizers", _S, True)},
    "ConfigMap": {1: ("metadata", "ObjectMeta", False), 2: ("data", ("map", _S), False),
                  3: ("binaryData", ("map", _B), False), 4: ("immutable", _BOOL, False)},
    "Secret": {1: ("metadata", "ObjectMeta", False), 2: ("data", ("map", _B), False),
               3: ("type", _S, False), 4: ("stringData", ("map", _S), False),
               5: ("immutable", _BOOL, False)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False),
                       2: ("secrets", "ObjectReference", True),
                       3: ("imagePullSecrets", "LocalObjectReference", True),
                       4: ("automountServiceAccountToken", _BOOL, False)},
    "ObjectReference": {1: ("kind", _S, False), 2: ("namespace", _S, False),
                        3: ("name", _S, False), 4: ("uid", _S, False),
                        5: ("apiVersion", _S, False), 6: ("resourceVersion", _S, False),
                        7: ("fieldPath", _S, False)},
    "LocalObjectReference": {1: ("name", _S, False)},
    "ResourceAttributes": {1: ("namespace", _S, False), 2: ("verb", _S, False),
                           3: ("group", _S, False), 4: ("version", _S, False),
                           5: ("resource", _S, False), 6: ("subresource", _S, False),
                           7: ("name", _S, False)},
    "NonResourceAttributes": {1: ("path", _S, False), 2: ("verb", _S, False)},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                                2: ("spec", "SelfSubjectAccessReviewSpec", False)},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes", False),
                                    2: ("nonResourceAttributes", "NonResourceAttributes",
                                        False)},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                            2: ("spec", "SubjectAccessReviewSpec", False)},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                                 2: ("spec", "SubjectAccessReviewSpec", False)},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes", False),
                                2: ("nonResourceAttributes", "NonResourceAttributes", False),
                                3: ("user", _S, False), 4: ("groups", _S, True),
                                5: ("extra", ("map", "ExtraValue"), False),
                                6: ("uid", _S, False)},
    "ExtraValue": {1: ("items", _S, True)},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta", False),
                               2: ("spec", "SelfSubjectRulesReviewSpec", False)},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", _S, False)},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta", False)},
    "TokenReview": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "TokenReviewSpec", False)},
    "TokenReviewSpec": {1: ("token", _S, False), 2: ("audiences", _S, True)},
    "TokenRequest": {1: ("metadata", "ObjectMeta", False),
                     2: ("spec", "TokenRequestSpec", False)},
    "TokenRequestSpec": {1: ("audiences", _S, True), 4: ("expirationSeconds", _I, False),
                         3: ("boundObjectRef", "BoundObjectReference", False)},
    "BoundObjectReference": {1: ("kind", _S, False), 2: ("apiVersion", _S, False),
                             3: ("name", _S, False), 4: ("uid", _S, False)},
    "ClusterRole": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "PolicyRule": {1: ("verbs", _S, True), 2: ("apiGroups", _S, True),
                   3: ("resources", _S, True), 4: ("resourceNames", _S, True),
                   5: ("nonResourceURLs", _S, True)},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta", False),
                           2: ("subjects", "Subject", True), 3: ("roleRef", "RoleRef", False)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True),
                    3: ("roleRef", "RoleRef", False)},
    "Subject": {1: ("kind", _S, False), 2: ("apiGroup", _S, False), 3: ("name", _S, False),
                4: ("namespace", _S, False)},
    "RoleRef": {1: ("apiGroup", _S, False), 2: ("kind", _S, False), 3: ("name", _S, False)},
    "DeleteOptions": {1: ("gracePeriodSeconds", _I, False),
                      2: ("preconditions", "Preconditions", False),
                      3: ("orphanDependents", _BOOL, False),
                      4: ("propagationPolicy", _S, False), 5: ("dryRun", _S, True)},
    "Preconditions": {1: ("uid", _S, False), 2: ("resourceVersion", _S, False)},
    "_Unknown": {1: ("typeMeta", "_TypeMeta", False), 2: ("raw", _B, False),
                 3: ("contentEncoding", _S, False), 4: ("contentType", _S, False)},
    "_TypeMeta": {1: ("apiVersion", _S, False), 2: ("kind", _S, False)},
    "_Time": {1: ("seconds", _I, False), 2: ("nanos", _I, False)},
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples; value is int or bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value = data[pos:pos + length]
            pos += length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: Any, value: Any) -> Any:
    if kind == _S:
        if not isinstance(value, bytes):
            raise ProtobufError("expected a string")
        return value.decode()
    if kind == _B:
        return base64.b64encode(value).decode()
    if kind == _I:
        if not isinstance(value, int):
            raise ProtobufError("expected an integer")
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == _BOOL:
        return bool(value)
    if kind == _T:
        seconds = decode_message("_Time", value).get("seconds", 0)
        if not seconds:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    spec = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, _wire, value in _fields(data):
        entry = spec.get(number)
        if entry is None:
            continue  # unknown fields are dropped, as Go's decoder does
        field, kind, repeated = entry
        if isinstance(kind, tuple):
            key, val = "", None
            for n, _w, v in _fields(value):
                if n == 1:
                    key = v.decode()
                elif n == 2:
                    val = _scalar(kind[1], v)
            if kind[1] == "ExtraValue":
                val = (val or {}).get("items", [])
            out.setdefault(field, {})[key] = val if val is not None else (
                "" if kind[1] in (_S, _B) else val)
        elif repeated:
            out.setdefault(field, []).append(_scalar(kind, value))
        else:
            scalar = _scalar(kind, value)
            if scalar in ("", None):
                continue
            out[field] = scalar
    return out


def decode_object(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a ``k8s\\0``-prefixed protobuf body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    envelope = decode_message("_Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in MESSAGES or kind.startswith("_"):
        raise ProtobufError(f"no protobuf decoder for kind {kind!r}")
    raw = base64.b64decode(envelope.get("raw", ""))
    obj = decode_message(kind, raw)
    result: dict[str, Any] = {"kind": kind, "apiVersion": type_meta.get("apiVersion", "")}
    result.update(obj)
    return result
