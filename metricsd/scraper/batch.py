"""Plain data handed from the decoder to storage: points, per-pod points, batches, merging.

Times are integer nanoseconds since the Unix epoch (Go's ``time.Time`` as ``UnixNano``), so
windows and rates are exact integer arithmetic.  Go's *zero* time (year 1, printed
``0001-01-01T00:00:00Z``) is :data:`ZERO_TIME_NS`; it is far below every real time, so the
comparisons storage makes on unset start times behave as upstream's do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "ZERO_TIME_NS",
    "LogFn",
    "MetricsBatch",
    "MetricsPoint",
    "PodKey",
    "PodMetricsPoint",
    "Raw",
    "format_go_time_json",
    "format_go_time_string",
    "merge_batches",
    "no_log",
    "pod_ref",
]

# Go's zero time.Time (0001-01-01T00:00:00Z) in Unix nanoseconds.
ZERO_TIME_NS = -62135596800 * 1_000_000_000

PodKey = tuple[str, str]  # (namespace, name)


class LogFn(Protocol):
    """A klog-shaped sink: ``log(level, msg, **kv)``; level ``-1`` means an error line.

    Keeping the decoder and storage on this tiny protocol lets them stay pure and testable;
    the server passes a function that writes klog lines at ``-v`` verbosity.
    """

    def __call__(self, level: int, msg: str, /, **kv: Any) -> None: ...


class Raw(str):
    """A log value already rendered (e.g. Go's JSON of a struct): print it without quoting."""

    __slots__ = ()


def no_log(level: int, msg: str, /, **kv: Any) -> None:
    """The default sink: drop everything."""


def pod_ref(key: PodKey) -> str:
    """``klog.KRef`` rendering of a pod key: ``namespace/name``."""
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


@dataclass(slots=True)
class MetricsPoint:
    """One sample of a node or container (upstream ``storage.MetricsPoint``)."""

    start_time: int = ZERO_TIME_NS  # ns; only containers have one
    timestamp: int = ZERO_TIME_NS  # ns; the kubelet's sample time (ms resolution)
    cumulative_cpu_used: int = 0  # ns of CPU time
    memory_usage: int = 0  # bytes

    def go_json(self) -> Raw:
        """The struct as klog prints it in ``metric=…``/``containerMetric=…`` (JSON)."""
        return Raw(
            f'{{"StartTime":"{format_go_time_json(self.start_time)}",'
            f'"Timestamp":"{format_go_time_json(self.timestamp)}",'
            f'"CumulativeCpuUsed":{self.cumulative_cpu_used},'
            f'"MemoryUsage":{self.memory_usage}}}'
        )


@dataclass(slots=True)
class PodMetricsPoint:
    """The containers of one pod, keyed by container name."""

    containers: dict[str, MetricsPoint] = field(default_factory=dict)


@dataclass(slots=True)
class MetricsBatch:
    """Everything one tick (or one node's scrape) produced.

    ``nodes`` is keyed by the Node object's name, ``pods`` by ``(namespace, name)``.
    """

    nodes: dict[str, MetricsPoint] = field(default_factory=dict)
    pods: dict[PodKey, PodMetricsPoint] = field(default_factory=dict)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_go_time_json(ns: int) -> str:
    """Go's ``time.Time`` JSON text (RFC 3339 with trailing-zero-trimmed nanoseconds, UTC)."""
    secs, frac = divmod(ns, 1_000_000_000)
    try:
        dt = _EPOCH + timedelta(seconds=secs)
    except OverflowError:
        return f"{ns}ns"  # outside datetime's range; Go would print a 5+ digit year
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.year < 1000:
        text = f"{dt.year:04d}" + text[text.index("-"):]
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def format_go_time_string(ns: int) -> str:
    """Go's ``time.Time.String()`` for a UTC time (what klog prints for a time value)."""
    secs, frac = divmod(ns, 1_000_000_000)
    try:
        dt = _EPOCH + timedelta(seconds=secs)
    except OverflowError:
        return f"{ns}ns"
    text = f"{dt.year:04d}" + dt.strftime("-%m-%d %H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + " +0000 UTC"


def merge_batches(
    batches: Iterable[MetricsBatch], log: LogFn = no_log
) -> MetricsBatch:
    """Merge per-node batches in arrival order; the first node/pod point for a key wins.

    Later duplicates are dropped with upstream's error lines ``Got duplicate node point`` /
    ``Got duplicate pod point`` (logged as errors with a nil error).
    """
    out = MetricsBatch()
    nodes = out.nodes
    pods = out.pods
    for batch in batches:
        for name, point in batch.nodes.items():
            if name in nodes:
                log(-1, "Got duplicate node point", node=name)
                continue
            nodes[name] = point
        for key, pod in batch.pods.items():
            if key in pods:
                log(-1, "Got duplicate pod point", pod=pod_ref(key))
                continue
            pods[key] = pod
    return out

