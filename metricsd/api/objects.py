"""JSON shapes of ``metrics.k8s.io/v1beta1`` NodeMetrics and PodMetrics (and their lists)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from metricsd.durations import format_duration
from metricsd.quantity import format_cpu_nanocores, format_memory_bytes
from metricsd.scraper.batch import ZERO_TIME_NS
from metricsd.storage import PodUsage, Usage

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "node_metrics",
    "node_metrics_list",
    "pod_metrics",
    "pod_metrics_list",
    "rendered_containers",
    "rfc3339",
    "seconds",
    "window_text",
]

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"

_rfc_cache: dict[int, str] = {}


def rfc3339(ns: int) -> str | None:
    """``metav1.Time`` JSON: RFC 3339 in UTC with seconds truncated; Go's zero time is null."""
    if ns == ZERO_TIME_NS:
        return None
    secs = ns // 1_000_000_000
    text = _rfc_cache.get(secs)
    if text is None:
        if len(_rfc_cache) > 4096:
            _rfc_cache.clear()
        text = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _rfc_cache[secs] = text
    return text


_window_cache: dict[int, str] = {}


def window_text(ns: int) -> str:
    """``format_duration`` memoised: windows repeat (one scrape interval) across pods."""
    text = _window_cache.get(ns)
    if text is None:
        if len(_window_cache) > 4096:
            _window_cache.clear()
        text = _window_cache[ns] = format_duration(ns)
    return text


def _metadata(
    name: str, namespace: str | None, created: str | None, labels: Mapping[str, str]
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["creationTimestamp"] = created
    if labels:
        meta["labels"] = dict(labels)
    return meta


def node_metrics(
    name: str,
    labels: Mapping[str, str],
    usage: Usage,
    now_ns: int,
    *,
    with_type: bool = True,
) -> dict[str, Any]:
    """One NodeMetrics; list items carry no ``kind``/``apiVersion`` (``with_type=False``)."""
    obj: dict[str, Any] = {}
    if with_type:
        obj["kind"] = "NodeMetrics"
        obj["apiVersion"] = API_VERSION
    obj["metadata"] = _metadata(name, None, rfc3339(now_ns), labels)
    obj["timestamp"] = rfc3339(usage.timestamp)
    obj["window"] = window_text(usage.window)
    obj["usage"] = {
        "cpu": format_cpu_nanocores(usage.cpu_nanocores),
        "memory": format_memory_bytes(usage.memory_bytes),
    }
    return obj


def pod_metrics(
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    usage: PodUsage,
    now_ns: int,
    *,
    with_type: bool = True,
) -> dict[str, Any]:
    """One PodMetrics with its containers (sorted by name)."""
    obj: dict[str, Any] = {}
    if with_type:
        obj["kind"] = "PodMetrics"
        obj["apiVersion"] = API_VERSION
    obj["metadata"] = _metadata(name, namespace, rfc3339(now_ns), labels)
    obj["timestamp"] = rfc3339(usage.timestamp)
    obj["window"] = window_text(usage.window)
    rendered = rendered_containers(usage)
    containers = [
        {"name": cname, "usage": {"cpu": cpu, "memory": memory}}
        for cname, cpu, memory in rendered
    ]
    obj["containers"] = containers
    return obj


def rendered_containers(usage: PodUsage) -> Any:
    """(name, cpu, memory) strings of a pod's containers, formatted once per stored usage.

    Storage hands out the same object until the next store; the tuples of strings are kept
    on it (the cyclic GC stops tracking them) rather than as long-lived dicts.
    """
    rendered = usage.rendered
    if rendered is None:
        rendered = tuple(
            (c.name, format_cpu_nanocores(c.cpu_nanocores), format_memory_bytes(c.memory_bytes))
            for c in usage.containers
        )
        object.__setattr__(usage, "rendered", rendered)
    return rendered


def seconds(ns: int) -> int | None:
    """A sample time in whole seconds, as metav1.Time carries it; ``None`` for Go's zero."""
    return None if ns == ZERO_TIME_NS else ns // 1_000_000_000


def node_metrics_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "NodeMetricsList", "apiVersion": API_VERSION, "metadata": {}, "items": items}


def pod_metrics_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "PodMetricsList", "apiVersion": API_VERSION, "metadata": {}, "items": items}
