"""Self-metrics on ``/metrics``: the six ``metrics_server_*`` families plus process metrics.

Dashboards and alerts written for metrics-server select these exact names, labels and bucket
bounds, so they are upstream's (HELP prefixed with ``[ALPHA] `` as component-base does).
prometheus_client holds the values in a dedicated registry; the text exposition is our own
small writer because prometheus_client prints floats the Python way (``le="1.0"``) where Go
prints ``le="1"`` and ``1.689e+09`` — we print every number with Go's ``%g`` shortest form,
order families by name and histogram samples as Go does (buckets, ``_sum``, ``_count``), and
omit families that have no series yet (upstream's vectors appear only after first use; the
tick histogram is not a vector and is always present).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

from metricsd.durations import SECOND
from metricsd.klog import go_format_float

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "FAMILY_NAMES",
    "SelfMetrics",
    "freshness_buckets",
    "tick_buckets",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Prometheus' default histogram buckets (client_golang ``DefBuckets``).
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

FAMILY_NAMES = (
    "metrics_server_api_metric_freshness_seconds",
    "metrics_server_kubelet_last_request_time_seconds",
    "metrics_server_kubelet_request_duration_seconds",
    "metrics_server_kubelet_request_total",
    "metrics_server_manager_tick_duration_seconds",
    "metrics_server_storage_points",
)


def tick_buckets(resolution_ns: int) -> list[float]:
    """Bounds of the tick histogram for a ``--metric-resolution`` (upstream's rule).

    Above the largest default bound ``M`` (10 s): append ``M+(T-M)/2, T, 1.5T, 2T``.  Below it:
    insert ``T`` in order unless it lies within the smallest bound (0.005) of a neighbour.
    """
    buckets = list(DEFAULT_BUCKETS)
    largest = buckets[-1]
    t = resolution_ns / SECOND
    if t > largest:
        return [*buckets, largest + (t - largest) / 2, t, t * 1.5, t * 2.0]
    if t < largest:
        i = 0
        for i, bound in enumerate(buckets):  # noqa: B007 - ``i`` is used after the loop
            if bound > t:
                break
        bound = buckets[i]
        if bound - t < buckets[0] or (i > 0 and t - buckets[i - 1] < buckets[0]):
            return buckets
        return [*buckets[:i], t, *buckets[i:]]
    return buckets


def freshness_buckets(start: float = 1.0, factor: float = 1.364, count: int = 20) -> list[float]:
    """Exponential bounds by repeated multiplication (``1.364**i`` differs in the last digits)."""
    bounds = []
    value = start
    for _ in range(count):
        bounds.append(value)
        value *= factor
    return bounds


#: when this process started serving metrics, for the ``Process-Start-Time-Unix`` header
#: component-base's metrics handler sets (its registry's creation, at start-up)
_PROCESS_START = int(time.time())
#: client_golang's reading of an "unlimited" limit: ^uint64(0) as a float
_UNLIMITED = float(2**64 - 1)


def _max_address_space(path: str = "/proc/self/limits") -> float | None:
    """``Max address space`` from /proc/self/limits (client_golang's processCollector)."""
    try:
        with open(path) as limits:
            for line in limits:
                if line.startswith("Max address space"):
                    soft = line[len("Max address space"):].split()[0]
                    return _UNLIMITED if soft == "unlimited" else float(soft)
    except OSError:
        return None
    return None


class _AddressSpaceCollector:
    """``process_virtual_memory_max_bytes``, which prometheus_client does not export."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        value = _max_address_space()
        if value is not None:
            yield GaugeMetricFamily("process_virtual_memory_max_bytes",
                                    "Maximum amount of virtual memory available in bytes.",
                                    value=value)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _go_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return go_format_float(float(value))


def _labels_text(labels: Iterable[tuple[str, str]]) -> str:
    pairs = [f'{name}="{_escape_label(value)}"' for name, value in labels]
    return "{" + ",".join(pairs) + "}" if pairs else ""


class SelfMetrics:
    """The six families for one server (a dedicated registry), plus process metrics."""

    def __init__(self, resolution_ns: int, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._freshness_observed = False
        reg = self.registry
        self.tick_duration = Histogram(
            "metrics_server_manager_tick_duration_seconds",
            "[ALPHA] The total time spent collecting and storing metrics in seconds.",
            buckets=tick_buckets(resolution_ns), registry=reg,
        )
        self.kubelet_request_duration = Histogram(
            "metrics_server_kubelet_request_duration_seconds",
            "[ALPHA] Duration of requests to Kubelet API in seconds",
            ["node"], buckets=DEFAULT_BUCKETS, registry=reg,
        )
        self.kubelet_request_total = Counter(
            "metrics_server_kubelet_request_total",
            "[ALPHA] Number of requests sent to Kubelet API",
            ["success"], registry=reg,
        )
        self.kubelet_last_request_time = Gauge(
            "metrics_server_kubelet_last_request_time_seconds",
            "[ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds",
            ["node"], registry=reg,
        )
        self.freshness = Histogram(
            "metrics_server_api_metric_freshness_seconds",
            "[ALPHA] Freshness of metrics exported",
            buckets=freshness_buckets(), registry=reg,
        )
        self.storage_points = Gauge(
            "metrics_server_storage_points",
            "[ALPHA] Number of metrics points stored.",
            ["type"], registry=reg,
        )
        # per-node children, looked up once (labels() costs a lock and a tuple per call, 1,000
        # times a cycle); series are never removed, so the cached children stay the live ones
        self._node_children: dict[str, tuple[Any, Any]] = {}
        self._request_totals: dict[bool, Any] = {}  # filled on first use: no 0-valued series
        self.process_registry: CollectorRegistry | None = None
        if process_metrics:
            self.process_registry = CollectorRegistry(auto_describe=True)
            ProcessCollector(registry=self.process_registry)
            self.process_registry.register(_AddressSpaceCollector())

    # -- what the scraper, server, storage and API call --

    def observe_kubelet_request(self, node: str, duration: float, success: bool,
                                now: float) -> None:
        """One kubelet request attempt (success or not): duration, last time, total."""
        children = self._node_children.get(node)
        if children is None:
            children = self._node_children[node] = (
                self.kubelet_request_duration.labels(node),
                self.kubelet_last_request_time.labels(node),
            )
        children[0].observe(duration)
        children[1].set(float(math.floor(now)))
        total = self._request_totals.get(success)
        if total is None:
            total = self._request_totals[success] = self.kubelet_request_total.labels(
                "true" if success else "false")
        total.inc()

    def observe_tick(self, duration: float) -> None:
        """Seconds one scrape+store cycle took."""
        self.tick_duration.observe(duration)

    def observe_freshness(self, seconds: float) -> None:
        """Age of one served metric (now − its timestamp) in seconds."""
        self._freshness_observed = True
        self.freshness.observe(seconds)

    def set_storage_points(self, nodes: int, containers: int) -> None:
        """Points with a previous sample after a store, by ``type`` (node/container)."""
        self.storage_points.labels("node").set(nodes)
        self.storage_points.labels("container").set(containers)

    # -- exposition --

    @staticmethod
    def process_start_time() -> int:
        """Unix seconds of start-up (the ``Process-Start-Time-Unix`` response header)."""
        return _PROCESS_START

    def exposition(self) -> tuple[bytes, str]:
        """The ``/metrics`` body (Prometheus text 0.0.4, Go number formatting) and its type.

        Upstream's handler writes the legacy registry (``process_*`` among its families)
        before metrics-server's own registry, each sorted by name: the same order here.
        """
        process: list[Any] = (list(self.process_registry.collect())
                              if self.process_registry is not None else [])
        own: list[Any] = list(self.registry.collect())
        out: list[str] = []
        by_name = sorted(process, key=self._exposed_name) + sorted(own, key=self._exposed_name)
        for family in by_name:
            if family.name == "metrics_server_api_metric_freshness_seconds" and not (
                self._freshness_observed
            ):
                continue
            lines = self._family_lines(family)
            if lines:
                out.extend(lines)
        return "".join(out).encode("utf-8"), CONTENT_TYPE

    @staticmethod
    def _exposed_name(family: Any) -> str:
        return f"{family.name}_total" if family.type == "counter" else family.name

    def _family_lines(self, family: Any) -> list[str]:
        name = self._exposed_name(family)
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        if not samples:
            return []
        lines = [f"# HELP {name} {_escape_help(family.documentation)}\n",
                 f"# TYPE {name} {family.type}\n"]
        if family.type != "histogram":
            for s in sorted(samples, key=lambda s: sorted(s.labels.items())):
                lines.append(f"{s.name}{_labels_text(sorted(s.labels.items()))} "
                             f"{_go_value(s.value)}\n")
            return lines
        series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for s in samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            entry = series.setdefault(key, {"buckets": [], "sum": 0.0, "count": 0.0})
            if s.name.endswith("_bucket"):
                entry["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_sum"):
                entry["sum"] = s.value
            elif s.name.endswith("_count"):
                entry["count"] = s.value
        for key in sorted(series):
            entry = series[key]
            for bound, value in sorted(entry["buckets"]):
                labels = [*key, ("le", _go_value(bound))]
                lines.append(f"{name}_bucket{_labels_text(labels)} {_go_value(value)}\n")
            lines.append(f"{name}_sum{_labels_text(key)} {_go_value(entry['sum'])}\n")
            lines.append(f"{name}_count{_labels_text(key)} {_go_value(entry['count'])}\n")
        return lines


_default: SelfMetrics | None = None


def init(resolution_ns: int, *, process_metrics: bool = True) -> SelfMetrics:
    """Create the process-wide :class:`SelfMetrics` (once per server start)."""
    global _default
    _default = SelfMetrics(resolution_ns, process_metrics=process_metrics)
    return _default


def default() -> SelfMetrics | None:
    """The process-wide instance, or None before :func:`init`."""
    return _default


def observe_kubelet_request(node: str, duration: float, success: bool, now: float) -> None:
    if _default is not None:
        _default.observe_kubelet_request(node, duration, success, now)


def observe_tick(duration: float) -> None:
    if _default is not None:
        _default.observe_tick(duration)


def observe_freshness(seconds: float) -> None:
    if _default is not None:
        _default.observe_freshness(seconds)


def set_storage_points(nodes: int, containers: int) -> None:
    if _default is not None:
        _default.set_storage_points(nodes, containers)


def exposition() -> tuple[bytes, str]:
    """The process-wide exposition (empty before :func:`init`)."""
    if _default is None:
        return b"", CONTENT_TYPE
    return _default.exposition()
