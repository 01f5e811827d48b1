"""The watch protocol: stored-object snapshots, change records, per-client watchers, framing.

The store serializes each object version once (:class:`StoredObject.raw`); a watcher frames
an event by splicing those bytes into ``{"type":…,"object":…}\\n`` — one JSON document per
line, never a blank line, exactly what client-go and kubernetes_asyncio read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .kinds import Kind
from .selectors import FieldSelector, LabelSelector


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes, the one encoding used for storage, lists and watch lines."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class StoredObject:
    """One immutable object version with its JSON encoding (and lazily its metadata-only one).

    ``obj`` must never be mutated once stored; readers that want to change it copy it first
    (``json.loads(raw)`` is the fastest deep copy).
    """

    __slots__ = ("_meta_raw", "kind", "name", "namespace", "obj", "raw", "rv")

    def __init__(self, kind: Kind, obj: dict[str, Any], rv: int) -> None:
        self.kind = kind
        self.obj = obj
        self.rv = rv
        meta = obj.get("metadata") or {}
        self.name: str = meta.get("name", "")
        self.namespace: str = meta.get("namespace", "")
        self.raw = dumps(obj)
        self._meta_raw: bytes | None = None

    @property
    def labels(self) -> dict[str, str]:
        return self.obj.get("metadata", {}).get("labels") or {}

    @property
    def metadata_raw(self) -> bytes:
        """``PartialObjectMetadata`` encoding, for metadata-only lists and watches."""
        if self._meta_raw is None:
            self._meta_raw = dumps({"kind": "PartialObjectMetadata",
                                    "apiVersion": "meta.k8s.io/v1",
                                    "metadata": self.obj.get("metadata", {})})
        return self._meta_raw

    def copy(self) -> dict[str, Any]:
        """A private deep copy of the object."""
        result: dict[str, Any] = json.loads(self.raw)
        return result


@dataclass(frozen=True)
class Change:
    """One write: ``new`` is the object after it (for DELETED: last state at the delete RV)."""

    type: str  # ADDED | MODIFIED | DELETED
    new: StoredObject
    old: StoredObject | None

    @property
    def rv(self) -> int:
        return self.new.rv

    @property
    def kind(self) -> Kind:
        return self.new.kind


#: Builds one framed line for (event type, object version).
Encoder = Callable[[str, StoredObject], bytes]


def encode_full(event_type: str, stored: StoredObject) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + stored.raw + b"}\n"


def encode_metadata(event_type: str, stored: StoredObject) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + stored.metadata_raw + b"}\n"


def bookmark_line(kind: Kind, rv: int, metadata_only: bool = False) -> bytes:
    """A BOOKMARK event; ``metadata.resourceVersion`` is what clients require."""
    if metadata_only:
        obj: dict[str, Any] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
    else:
        obj = {"kind": kind.kind, "apiVersion": kind.api_version}
    obj["metadata"] = {"resourceVersion": str(rv), "creationTimestamp": None}
    return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"


def error_line(status: dict[str, Any]) -> bytes:
    """An ERROR event carrying a metav1.Status (e.g. 410 Expired)."""
    return b'{"type":"ERROR","object":' + dumps(status) + b"}\n"


class Watcher:
    """One client's filtered view of the change stream, buffered in an unbounded queue.

    Selector transitions follow kube-apiserver's cacher: an object that starts matching is
    delivered as ADDED, one that stops matching as DELETED.
    """

    def __init__(
        self,
        kind: Kind,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        encoder: Encoder = encode_full,
    ) -> None:
        self.kind = kind
        self.namespace = namespace or None
        self.labels = labels or LabelSelector()
        self.fields = fields or FieldSelector()
        self.encoder = encoder
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.last_rv = 0
        self.closed = False
        self._detach: Callable[[], None] | None = None

    def matches(self, stored: StoredObject | None) -> bool:
        if stored is None:
            return False
        if self.namespace is not None and stored.namespace != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(stored.labels):
            return False
        return self.fields.empty or self.fields.matches(stored.obj)

    def offer(self, change: Change) -> None:
        """Filter one change and enqueue its framed line (called synchronously by the store)."""
        if self.closed:
            return
        now = self.matches(change.new)
        if change.type == "MODIFIED":
            before = self.matches(change.old)
            if now and not before:
                event_type = "ADDED"
            elif before and not now:
                event_type = "DELETED"
            elif now:
                event_type = "MODIFIED"
            else:
                return
        elif not now:
            return
        else:
            event_type = change.type
        self.last_rv = change.rv
        self.queue.put_nowait(self.encoder(event_type, change.new))

    def push_line(self, line: bytes, rv: int | None = None) -> None:
        if not self.closed:
            if rv is not None:
                self.last_rv = rv
            self.queue.put_nowait(line)

    def close(self) -> None:
        """Stop delivery; a reader blocked on the queue gets ``None`` and ends the stream."""
        if self.closed:
            return
        self.closed = True
        self.queue.put_nowait(None)
        if self._detach is not None:
            self._detach()
            self._detach = None
