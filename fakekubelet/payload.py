"""The kubelet's ``/metrics/resource`` body, byte for byte, per kubelet version.

Rendering takes a ``NodeSnapshot`` (numbers already computed by the cluster at one stats time)
and writes Prometheus text format 0.0.4 the way the Go client library does: families sorted by
name, samples sorted by label values, labels sorted by name, floats in Go's shortest ``'g'``
form (``1.048576e+08``, ``45.25``, ``0``), millisecond timestamps.

Version switches (kubelet's pkg/kubelet/metrics/collectors/resource_metrics.go by release):
- HELP prefix ``[ALPHA]`` up to 1.28, ``[STABLE]`` from 1.29;
- ``container_start_time_seconds`` from 1.22: with its own timestamp (= the start, ms) up to
  1.28, without one from 1.29 (and not emitted for start times at or before the epoch);
- ``pod_*`` families from 1.22 (they arrived around 1.21–1.22; we pick 1.22);
- ``scrape_error`` alone before 1.29; on 1.29 both ``resource_scrape_error`` and the deprecated
  ``scrape_error``; from 1.30 ``resource_scrape_error`` only.
Swap and Windows commit families are not simulated.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# 1.22-1.28 kubelets rendered a zero start time like this (kubernetes issue; metrics-server #1141)
NEGATIVE_START_VALUE = -6.7953645788713455e09
NEGATIVE_START_TIMESTAMP_MS = -62135596800000

_HELP = {
    "container_cpu_usage_seconds_total": (
        "counter",
        "Cumulative cpu time consumed by the container in core-seconds",
    ),
    "container_memory_working_set_bytes": (
        "gauge",
        "Current working set of the container in bytes",
    ),
    "container_start_time_seconds": (
        "gauge",
        "Start time of the container since unix epoch in seconds",
    ),
    "node_cpu_usage_seconds_total": (
        "counter",
        "Cumulative cpu time consumed by the node in core-seconds",
    ),
    "node_memory_working_set_bytes": ("gauge", "Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": (
        "counter",
        "Cumulative cpu time consumed by the pod in core-seconds",
    ),
    "pod_memory_working_set_bytes": ("gauge", "Current working set of the pod in bytes"),
    "resource_scrape_error": (
        "gauge",
        "1 if there was an error while getting container metrics, 0 otherwise",
    ),
    "scrape_error": (
        "gauge",
        "1 if there was an error while getting container metrics, 0 otherwise",
    ),
}


# --------------------------------------------------------------------------- numbers


def format_go_float(f: float) -> str:
    """``f`` as Go's Prometheus text encoder writes it (``strconv.FormatFloat(f, 'g', -1, 64)``).

    Shortest round-trip digits (Python's ``repr`` finds the same ones); Go's shortest ``'g'``
    mode switches to the exponent form when the decimal exponent is < -4 or >= 6
    (``1.048576e+08``), with at least two exponent digits. Fast paths cover the common cases
    (counters in fixed notation, integral byte counts); ``_format_go_float_slow`` is the rule.
    """
    a = abs(f)
    if 1e-4 <= a < 1e6:
        r = repr(f)
        return r[:-2] if r.endswith(".0") else r
    if 1e6 <= a < 9007199254740992.0 and f.is_integer():
        digits = str(int(a))
        mant = digits.rstrip("0")
        body = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
        return f"{'-' if f < 0 else ''}{body}e+{len(digits) - 1:02d}"
    return _format_go_float_slow(f)


def _format_go_float_slow(f: float) -> str:
    if f == 0:
        return "0"
    if f == 1:
        return "1"
    if f == -1:
        return "-1"
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    r = repr(abs(f))
    sign = "-" if f < 0 else ""
    mant, _, exp_s = r.partition("e")
    intpart, _, frac = mant.partition(".")
    digits = intpart + frac
    dp = len(intpart) + (int(exp_s) if exp_s else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return f"{sign}{digits}{'0' * (dp - len(digits))}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def ns_seconds(seconds: float) -> float:
    """Core-seconds as the kubelet reports them: whole nanoseconds (``uint64``), then /1e9.

    Rounded to the nearest nanosecond (not truncated) so float noise in sums such as
    ``2.0099999999999998`` reads ``2.01`` as an integer-nanosecond kubelet would print it."""
    return round(seconds * 1e9) / 1e9 if seconds > 0 else 0.0


def ms(t: float) -> int:
    """Unix seconds → integer milliseconds (truncated, as Go's UnixNano()/1e6)."""
    return math.floor(t * 1000 + 1e-7)


def _escape_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@functools.lru_cache(maxsize=1 << 16)
def _label_text(items: tuple[tuple[str, str], ...]) -> str:
    """``{a="x",b="y"}`` for label pairs sorted by name (cached: the same series every scrape)."""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in items) + "}"


def _escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


# --------------------------------------------------------------------------- versions


_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


@dataclass(frozen=True)
class KubeletVersion:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> KubeletVersion:
        m = _VERSION_RE.match(text.strip())
        if not m:
            raise ValueError(f"kubelet version {text!r} is not like 1.30.0")
        v = cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        if (v.major, v.minor) < (1, 18):
            raise ValueError(f"kubelet version {text!r}: /metrics/resource needs 1.18 or newer")
        return v

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (1, minor)

    @property
    def stability(self) -> str:
        return "[STABLE]" if self.at_least(29) else "[ALPHA]"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


# --------------------------------------------------------------------------- snapshot


@dataclass
class ContainerSample:
    namespace: str
    pod: str
    container: str
    cpu_seconds: float | None
    memory_bytes: int | None
    start_time: float | None
    timestamp_ms: int


@dataclass
class PodSample:
    namespace: str
    pod: str
    cpu_seconds: float | None
    memory_bytes: int | None
    timestamp_ms: int


@dataclass
class NodeSnapshot:
    """Everything one scrape reports, already evaluated at the stats time(s)."""

    cpu_seconds: float
    memory_bytes: int
    timestamp_ms: int
    containers: list[ContainerSample] = field(default_factory=list)
    pods: list[PodSample] = field(default_factory=list)
    scrape_error: bool = False


@dataclass(frozen=True)
class RenderOptions:
    """Payload-level faults that change the text rather than the numbers."""

    missing_timestamps: bool = False
    negative_start_time: bool = False
    malformed: bool = False


# --------------------------------------------------------------------------- rendering


class _Writer:
    def __init__(self, version: KubeletVersion, with_timestamps: bool) -> None:
        self.version = version
        self.with_ts = with_timestamps
        self.lines: list[str] = []

    def family(self, name: str, help_prefix: str | None = None) -> None:
        kind, text = _HELP[name]
        prefix = help_prefix or self.version.stability
        self.lines.append(f"# HELP {name} {_escape_help(f'{prefix} {text}')}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: dict[str, str], value: float, ts_ms: int | None) -> None:
        label_text = _label_text(tuple(sorted(labels.items()))) if labels else ""
        line = f"{name}{label_text} {format_go_float(value)}"
        if ts_ms is not None and self.with_ts:
            line += f" {ts_ms}"
        self.lines.append(line)


def _error_families(w: _Writer, value: float) -> None:
    v = w.version
    if v.at_least(29):
        w.family("resource_scrape_error")
        w.sample("resource_scrape_error", {}, value, None)
    if not v.at_least(30):
        prefix = "[ALPHA] (Deprecated since 1.29.0)" if v.at_least(29) else "[ALPHA]"
        w.family("scrape_error", prefix)
        w.sample("scrape_error", {}, value, None)


def render(
    snapshot: NodeSnapshot, version: KubeletVersion, options: RenderOptions = RenderOptions()
) -> bytes:
    """The exact ``/metrics/resource`` body for ``snapshot`` from a kubelet of ``version``."""
    w = _Writer(version, with_timestamps=not options.missing_timestamps)
    if snapshot.scrape_error:
        _error_families(w, 1.0)
        return _finish(w.lines, options)

    def ckey(c: ContainerSample) -> tuple[str, str, str]:
        return (c.container, c.namespace, c.pod)

    containers = sorted(snapshot.containers, key=ckey)
    _emit(w, "container_cpu_usage_seconds_total",
          [(_container_labels(c), c.cpu_seconds, c.timestamp_ms)
           for c in containers if c.cpu_seconds is not None])
    _emit(w, "container_memory_working_set_bytes",
          [(_container_labels(c), float(c.memory_bytes), c.timestamp_ms)
           for c in containers if c.memory_bytes is not None])
    if version.at_least(22):
        starts: list[tuple[ContainerSample, float, int | None]] = []
        for c in containers:
            if options.negative_start_time and not version.at_least(29):
                starts.append((c, NEGATIVE_START_VALUE, NEGATIVE_START_TIMESTAMP_MS))
            elif c.start_time is None or c.start_time <= 0:
                continue
            elif version.at_least(29):
                starts.append((c, c.start_time, None))
            else:
                starts.append((c, c.start_time, ms(c.start_time)))
        _emit(w, "container_start_time_seconds",
              [(_container_labels(c), value, ts) for c, value, ts in starts])
    w.family("node_cpu_usage_seconds_total")
    w.sample("node_cpu_usage_seconds_total", {}, snapshot.cpu_seconds, snapshot.timestamp_ms)
    w.family("node_memory_working_set_bytes")
    w.sample(
        "node_memory_working_set_bytes", {}, float(snapshot.memory_bytes), snapshot.timestamp_ms
    )
    if version.at_least(22):
        pods = sorted(snapshot.pods, key=lambda p: (p.namespace, p.pod))
        _emit(w, "pod_cpu_usage_seconds_total",
              [({"namespace": p.namespace, "pod": p.pod}, p.cpu_seconds, p.timestamp_ms)
               for p in pods if p.cpu_seconds is not None])
        _emit(w, "pod_memory_working_set_bytes",
              [({"namespace": p.namespace, "pod": p.pod}, float(p.memory_bytes), p.timestamp_ms)
               for p in pods if p.memory_bytes is not None])
    _error_families(w, 0.0)
    return _finish(w.lines, options)


def _container_labels(c: ContainerSample) -> dict[str, str]:
    return {"container": c.container, "namespace": c.namespace, "pod": c.pod}


def _emit(w: _Writer, family: str, rows: list[tuple[dict[str, str], Any, int | None]]) -> None:
    """One family: its HELP/TYPE lines and samples, or nothing at all when it has no rows."""
    if rows:
        w.family(family)
        for labels, value, ts in rows:
            w.sample(family, labels, value, ts)


def _finish(lines: list[str], options: RenderOptions) -> bytes:
    if options.malformed:
        lines = corrupt(lines)
    return ("\n".join(lines) + "\n").encode()


def corrupt(lines: list[str]) -> list[str]:
    """Malformed-text fault: the first sample's value becomes ``not-a-number``.

    Both Go's text parser (``strconv.ParseFloat: parsing "not-a-number": invalid syntax``) and
    prometheus_client's parser reject it, so the whole scrape fails as with a garbled body.
    """
    out = list(lines)
    for i, line in enumerate(out):
        if line and not line.startswith("#"):
            series_end = line.index("}") + 1 if "}" in line else line.index(" ")
            series, rest = line[:series_end], line[series_end:].split()
            out[i] = " ".join([series, "not-a-number", *rest[1:]])
            break
    return out
