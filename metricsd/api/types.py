"""What the API layer needs from the informers, and what it hands back to the HTTP server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from metricsd.selectors import LabelSelector

__all__ = ["APIResult", "NodeLister", "NodeMeta", "PodLister", "PodMeta"]


class NodeMeta(NamedTuple):
    name: str
    labels: Mapping[str, str]


class PodMeta(NamedTuple):
    namespace: str
    name: str
    labels: Mapping[str, str]


class NodeLister(Protocol):
    """The node informer's view (all nodes it caches)."""

    def list_nodes(self, selector: LabelSelector) -> list[NodeMeta]: ...

    def get_node(self, name: str) -> NodeMeta | None: ...


class PodLister(Protocol):
    """The Running-pods metadata informer's view; ``namespace=None`` means all namespaces."""

    def list_pods(self, namespace: str | None, selector: LabelSelector) -> list[PodMeta]: ...

    def get_pod(self, namespace: str, name: str) -> PodMeta | None: ...


@dataclass(slots=True)
class APIResult:
    """An HTTP answer: status code, body (JSON-ready, or encoded protobuf bytes), content
    type, and the served items' sample times (ns) for
    ``metrics_server_api_metric_freshness_seconds``."""

    status: int
    body: Any
    content_type: str = "application/json"
    timestamps: list[int] = field(default_factory=list)
