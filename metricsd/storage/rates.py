"""Rates from two cumulative points (upstream ``resourceUsage``), in exact integer nanoseconds.

CPU is ``uint64(float64(Δcpu_ns) / window.Seconds())`` — float division and truncation exactly
as Go computes it, so served values match metrics-server's to the nanocore.
"""

from __future__ import annotations

from dataclasses import dataclass

from metricsd.quantity import lose_precision
from metricsd.scraper.batch import LogFn, MetricsPoint, no_log

__all__ = ["RateError", "Usage", "go_seconds", "resource_usage"]

_SECOND = 1_000_000_000
_U64_MAX = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1


class RateError(ValueError):
    """A pair of points that cannot give a rate; ``str()`` is upstream's error text."""


@dataclass(frozen=True, slots=True)
class Usage:
    """What the API serves for one node or container."""

    cpu_nanocores: int
    memory_bytes: int
    timestamp: int  # ns, the later point's sample time
    window: int  # ns, last.timestamp - prev.timestamp (> 0)


def go_seconds(duration_ns: int) -> float:
    """``time.Duration.Seconds()``: whole seconds plus the fraction, each as float64."""
    sec, nsec = divmod(abs(duration_ns), _SECOND)
    value = float(sec) + float(nsec) / 1e9
    return -value if duration_ns < 0 else value


def _large(value: int, log: LogFn) -> int:
    fitted, lost = lose_precision(value)
    if lost:
        log(
            2,
            "Found unexpectedly large resource value, losing precision to fit in scaled "
            "resource.Quantity",
            value=value,
        )
    return fitted


def resource_usage(last: MetricsPoint, prev: MetricsPoint, log: LogFn = no_log) -> Usage:
    """The usage between ``prev`` and ``last``; raises :class:`RateError` like upstream."""
    if last.start_time < prev.start_time:
        raise RateError("unexpected decrease in startTime of node/container")
    if last.cumulative_cpu_used < prev.cumulative_cpu_used:
        raise RateError("unexpected decrease in cumulative CPU usage value")
    # time.Time.Sub saturates at the int64 range (only reachable with a zero-time prev).
    window = max(min(last.timestamp - prev.timestamp, _I64_MAX), -_I64_MAX - 1)
    if window <= 0:  # storage never pairs such points; refuse rather than divide by zero
        raise RateError("non-positive window between metric points")
    rate = float(last.cumulative_cpu_used - prev.cumulative_cpu_used) / go_seconds(window)
    cpu = _U64_MAX if rate >= 18446744073709551616.0 else int(rate)
    return Usage(
        cpu_nanocores=_large(cpu, log),
        memory_bytes=_large(last.memory_usage, log),
        timestamp=last.timestamp,
        window=window,
    )
