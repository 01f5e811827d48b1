"""Decoding kubectl's protobuf request bodies (k8s\\0 + runtime.Unknown envelope)."""

from __future__ import annotations

import pytest

from fakeapiserver.protobuf import MAGIC, ProtobufError, decode_object


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    content_type = field(4, "application/vnd.kubernetes.protobuf")
    return MAGIC + field(1, type_meta) + field(2, raw) + content_type


def entry(key: str, value: bytes | str) -> bytes:
    return field(1, key) + field(2, value)


def test_configmap_with_labels_and_data() -> None:
    meta = field(1, "cm") + field(3, "ns") + field(11, entry("app", "web"))
    raw = field(1, meta) + field(2, entry("k", "v")) + field(2, entry("e", "")) + field(4, 1)
    obj = decode_object(envelope("v1", "ConfigMap", raw))
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": "cm", "namespace": "ns", "labels": {"app": "web"}},
                   "data": {"k": "v", "e": ""}, "immutable": True}


def test_secret_bytes_are_base64_and_unknown_fields_dropped() -> None:
    raw = field(1, field(1, "s")) + field(2, entry("pw", b"hunter2")) + field(3, "Opaque") \
        + field(99, "ignored")
    obj = decode_object(envelope("v1", "Secret", raw))
    assert obj["data"] == {"pw": "aHVudGVyMg=="} and obj["type"] == "Opaque"


def test_self_subject_access_review() -> None:
    attrs = field(1, "default") + field(2, "list") + field(5, "pods")
    raw = field(1, b"") + field(2, field(1, attrs))
    obj = decode_object(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", raw))
    assert obj["spec"] == {"resourceAttributes": {"namespace": "default", "verb": "list",
                                                  "resource": "pods"}}


@pytest.mark.parametrize("body", [
    b"{}",
    MAGIC + b"\xff\xff\xff",
    MAGIC + field(1, field(1, "v1") + field(2, "Node")) + field(2, b""),
    MAGIC + field(1, field(1, "v1") + field(2, "_Unknown")),
])
def test_rejects_what_it_cannot_decode(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_object(body)
