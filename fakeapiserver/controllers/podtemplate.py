"""The ``pod-template-hash``: which ReplicaSet belongs to which version of a pod template.

kube-controller-manager hashes the template with FNV-32a (over a deep print of the Go struct,
plus the Deployment's ``collisionCount`` when set) and spells the decimal number with
apimachinery's ``SafeEncodeString`` (each digit mapped into a vowel-free alphabet), which is why
hashes read like ``6d4cf56db6``. We hash the canonical JSON of the template instead of Go's
struct dump — the numbers differ from a real cluster's, the shape and the properties
(deterministic, changes with any template change, ≤ 10 characters) do not.
"""

from __future__ import annotations

import copy
import json
import struct
from collections.abc import Mapping
from typing import Any

from fakeapiserver.controllers.common import KUBE_ALPHANUMS

HASH_LABEL = "pod-template-hash"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes) -> int:
    value = _FNV32_OFFSET
    for byte in data:
        value ^= byte
        value = (value * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """apimachinery ``rand.SafeEncodeString``: every character mapped into the alphabet."""
    return "".join(KUBE_ALPHANUMS[ord(ch) % len(KUBE_ALPHANUMS)] for ch in text)


def template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a Deployment's pod template."""
    data = json.dumps(strip_hash(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF)
    return safe_encode(str(fnv32a(data)))


def strip_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the template without the hash label (to compare a ReplicaSet's template
    with a Deployment's, as ``EqualIgnoreHash`` does)."""
    result: dict[str, Any] = copy.deepcopy(dict(template))
    labels = (result.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            result["metadata"].pop("labels")
    if isinstance(result.get("metadata"), dict) and not result["metadata"]:
        result.pop("metadata")
    return result


def templates_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return strip_hash(a) == strip_hash(b)


def with_hash(template: Mapping[str, Any], value: str) -> dict[str, Any]:
    """The template with the hash label added (what the ReplicaSet and its pods carry)."""
    result: dict[str, Any] = copy.deepcopy(dict(template))
    result.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = value
    return result
