"""``application/vnd.kubernetes.protobuf`` answers: what ``kubectl top`` and the HPA ask for.

Both send ``Accept: application/vnd.kubernetes.protobuf, */*``, so metrics-server answers
them in Kubernetes' protobuf envelope: the magic ``k8s\\x00``, then a ``runtime.Unknown``
message (field 1 TypeMeta ``apiVersion``/``kind``, 2 the object's bytes, 3 and 4 empty
encoding and type). The objects are those of ``k8s.io/metrics`` v1beta1's
``generated.proto`` (NodeMetrics, PodMetrics, ContainerMetrics, their lists) with
apimachinery's ObjectMeta, ListMeta, Time, Duration, Quantity and Status.

Encoded as gogo-protobuf's generated marshallers write them, so the bytes are upstream's:
fields in ascending number; every non-pointer field written even when empty or zero
(``12 00`` for an empty string); pointer fields (ObjectMeta's deletion fields, ListMeta's
``remainingItemCount``) only when set; map entries sorted by key. ``metav1.Time`` carries
seconds only (its nanoseconds are deliberately not encoded) and the zero time encodes as
an empty message.

A 30,000-pod list is encoded per request, so the parts that do not change between requests
are kept: each pod's ObjectMeta without its creationTimestamp (:class:`MetaCache`, valid
while the informer hands out the same labels object) and the bytes after it (time, window,
containers: memoised on the stored usage by the API layer); a request only adds the
creationTimestamp and the length prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CONTENT_TYPE", "MetaCache", "created_field", "envelope", "item", "list_bytes",
           "node_metrics", "node_rest", "pod_metrics", "pod_rest", "status"]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_EMPTY_LIST_META = b"\x0a\x00\x12\x00\x1a\x00"  # selfLink, resourceVersion, continue


_SHORT = [bytes((i,)) for i in range(128)]


def _varint(value: int) -> bytes:
    if 0 <= value < 128:
        return _SHORT[value]
    value &= 0xFFFFFFFFFFFFFFFF  # int64 two's complement, as Go encodes negative numbers
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_TAGS = [_varint(n << 3 | 2) for n in range(16)]


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    size = len(data)
    return _TAGS[number] + (_SHORT[size] if size < 128 else _varint(size)) + data


def _string(number: int, text: str) -> bytes:
    return _field(number, text.encode())


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _time(seconds: int | None) -> bytes:
    """metav1.Time (seconds; nanos 0); ``None`` is Go's zero time: an empty message."""
    return b"" if seconds is None else _int(1, seconds) + _int(2, 0)


def _string_map(number: int, entries: Mapping[str, str]) -> bytes:
    return b"".join(_field(number, _string(1, k) + _string(2, entries[k]))
                    for k in sorted(entries))


def _meta_parts(name: str, namespace: str, labels: Mapping[str, str]) -> tuple[bytes, bytes]:
    """ObjectMeta before and after its creationTimestamp (field 8)."""
    return (_string(1, name) + b"\x12\x00" + _string(3, namespace) + b"\x22\x00\x2a\x00\x32\x00"
            + b"\x38\x00", _string_map(11, labels))


def _object_meta(name: str, namespace: str, created_s: int, labels: Mapping[str, str]) -> bytes:
    head, tail = _meta_parts(name, namespace, labels)
    return head + _field(8, _time(created_s)) + tail


class MetaCache:
    """ObjectMeta parts per (namespace, name), rebuilt when the labels object changes."""

    def __init__(self, limit: int = 200_000) -> None:
        self._parts: dict[tuple[str, str], tuple[Mapping[str, str], bytes, bytes]] = {}
        self.limit = limit

    def parts(self, namespace: str, name: str, labels: Mapping[str, str]) -> tuple[bytes, bytes]:
        key = (namespace, name)
        hit = self._parts.get(key)
        if hit is not None and hit[0] is labels:
            return hit[1], hit[2]
        if len(self._parts) >= self.limit:  # objects come and go: start over now and then
            self._parts.clear()
        head, tail = _meta_parts(name, namespace, labels)
        self._parts[key] = (labels, head, tail)
        return head, tail


def created_field(created_s: int) -> bytes:
    """ObjectMeta's field 8 for a request's time (the same for every item of an answer)."""
    return _field(8, _time(created_s))


def item(meta_head: bytes, created: bytes, meta_tail: bytes, rest: bytes) -> bytes:
    """A NodeMetrics/PodMetrics message from its cached parts."""
    return _field(1, meta_head + created + meta_tail) + rest


def pod_rest(timestamp_s: int | None, window_ns: int,
             containers: Iterable[tuple[str, str, str]]) -> bytes:
    """A PodMetrics message after its metadata: time, window, containers."""
    return (_field(2, _time(timestamp_s)) + _field(3, _int(1, window_ns)) + b"".join(
        _field(4, _string(1, cname) + _usage(2, (("cpu", cpu), ("memory", memory))))
        for cname, cpu, memory in containers))


def node_rest(timestamp_s: int | None, window_ns: int, cpu: str, memory: str) -> bytes:
    """A NodeMetrics message after its metadata: time, window, usage."""
    return (_field(2, _time(timestamp_s)) + _field(3, _int(1, window_ns))
            + _usage(4, (("cpu", cpu), ("memory", memory))))


def _usage(number: int, usage: Iterable[tuple[str, str]]) -> bytes:
    """``map<string, Quantity>``: each Quantity is ``{string = 1}``."""
    return b"".join(_field(number, _string(1, k) + _field(2, _string(1, v)))
                    for k, v in sorted(usage))


def node_metrics(name: str, labels: Mapping[str, str], created_s: int,
                 timestamp_s: int | None, window_ns: int, cpu: str, memory: str) -> bytes:
    """One NodeMetrics message (without the envelope)."""
    return (_field(1, _object_meta(name, "", created_s, labels))
            + node_rest(timestamp_s, window_ns, cpu, memory))


def pod_metrics(namespace: str, name: str, labels: Mapping[str, str], created_s: int,
                timestamp_s: int | None, window_ns: int,
                containers: Iterable[tuple[str, str, str]]) -> bytes:
    """One PodMetrics message; ``containers`` as (name, cpu, memory), in the served order."""
    return (_field(1, _object_meta(name, namespace, created_s, labels))
            + pod_rest(timestamp_s, window_ns, containers))


def list_bytes(items: Iterable[bytes]) -> bytes:
    """NodeMetricsList / PodMetricsList: empty ListMeta, then the items."""
    return _field(1, _EMPTY_LIST_META) + b"".join(_field(2, item) for item in items)


def status(body: Mapping[str, Any]) -> bytes:
    """A metav1.Status from its JSON shape (:func:`metricsd.api.status.status_body`)."""
    out = (_field(1, _EMPTY_LIST_META) + _string(2, str(body.get("status", "")))
           + _string(3, str(body.get("message", ""))) + _string(4, str(body.get("reason", ""))))
    details = body.get("details")
    if details is not None:
        causes = b"".join(
            _field(4, _string(1, str(c.get("reason", ""))) + _string(2, str(c.get("message", "")))
                   + _string(3, str(c.get("field", ""))))
            for c in details.get("causes") or [])
        out += _field(5, _string(1, str(details.get("name", "")))
                      + _string(2, str(details.get("group", "")))
                      + _string(3, str(details.get("kind", ""))) + causes
                      + _int(5, int(details.get("retryAfterSeconds", 0)))
                      + _string(6, str(details.get("uid", ""))))
    return out + _int(6, int(body.get("code", 0)))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """The ``k8s\\x00`` + runtime.Unknown wrapping every protobuf answer."""
    return (MAGIC + _field(1, _string(1, api_version) + _string(2, kind)) + _field(2, raw)
            + b"\x1a\x00\x22\x00")
