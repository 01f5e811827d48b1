"""Workloads: CPU (cores) and memory (bytes) of a container as functions of time.

Every shape has a closed-form running integral (``cumulative``), so a cumulative CPU counter is
the exact integral of usage: with a virtual clock the counter a kubelet reports equals the
ground truth to the nanosecond, independent of how often anybody looked. Shapes are plain
frozen dataclasses and are evaluated on ``tau``, seconds since the workload's origin (the
cluster epoch, or the container's start when ``relative`` is set).
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Signal(Protocol):
    """A non-negative function of time with an exact antiderivative."""

    def value(self, tau: float) -> float:
        """Level at ``tau`` seconds after the origin."""
        ...

    def cumulative(self, tau: float) -> float:
        """Integral of ``value`` from 0 to ``tau`` (negative for tau < 0)."""
        ...


def _non_negative(name: str, *values: float) -> None:
    for v in values:
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name}: levels must be finite and >= 0, got {v}")


@dataclass(frozen=True)
class Constant:
    """The same level forever."""

    level: float

    def __post_init__(self) -> None:
        _non_negative("constant", self.level)

    def value(self, tau: float) -> float:
        return self.level

    def cumulative(self, tau: float) -> float:
        return self.level * tau


@dataclass(frozen=True)
class Ramp:
    """``start`` until ``delay``, then linear to ``end`` over ``duration`` seconds, then ``end``."""

    start: float
    end: float
    duration: float
    delay: float = 0.0

    def __post_init__(self) -> None:
        _non_negative("ramp", self.start, self.end, self.delay)
        if not self.duration > 0:
            raise ValueError(f"ramp: duration must be > 0, got {self.duration}")

    def value(self, tau: float) -> float:
        if tau <= self.delay:
            return self.start
        if tau >= self.delay + self.duration:
            return self.end
        return self.start + (self.end - self.start) * (tau - self.delay) / self.duration

    def cumulative(self, tau: float) -> float:
        if tau <= self.delay:
            return self.start * tau
        ramp_end = self.delay + self.duration
        x = min(tau, ramp_end) - self.delay
        area = self.start * self.delay + self.start * x
        area += (self.end - self.start) * x * x / (2 * self.duration)
        if tau > ramp_end:
            area += self.end * (tau - ramp_end)
        return area


@dataclass(frozen=True)
class Step:
    """``initial`` level, then each ``(at, level)`` from ``at`` seconds on (``at`` ascending)."""

    initial: float
    steps: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        _non_negative("step", self.initial, *(lvl for _, lvl in self.steps))
        ats = [at for at, _ in self.steps]
        if ats != sorted(ats) or any(a < 0 for a in ats):
            raise ValueError("step: step times must be >= 0 and ascending")

    def value(self, tau: float) -> float:
        level = self.initial
        for at, lvl in self.steps:
            if tau >= at:
                level = lvl
            else:
                break
        return level

    def cumulative(self, tau: float) -> float:
        if tau <= 0:
            return self.initial * tau
        area = 0.0
        prev_t, level = 0.0, self.initial
        for at, lvl in self.steps:
            if at >= tau:
                break
            area += level * (at - prev_t)
            prev_t, level = at, lvl
        return area + level * (tau - prev_t)


@dataclass(frozen=True)
class Sine:
    """``base + amplitude·sin(2π·tau/period + phase)``; ``amplitude <= base`` keeps it >= 0."""

    base: float
    amplitude: float
    period: float
    phase: float = 0.0

    def __post_init__(self) -> None:
        _non_negative("sine", self.base, self.amplitude)
        if self.amplitude > self.base:
            raise ValueError(
                f"sine: amplitude ({self.amplitude}) must not exceed base ({self.base})"
            )
        if not self.period > 0:
            raise ValueError(f"sine: period must be > 0, got {self.period}")

    def value(self, tau: float) -> float:
        return self.base + self.amplitude * math.sin(2 * math.pi * tau / self.period + self.phase)

    def cumulative(self, tau: float) -> float:
        w = 2 * math.pi / self.period
        return self.base * tau - self.amplitude / w * (
            math.cos(w * tau + self.phase) - math.cos(self.phase)
        )


@dataclass(frozen=True)
class Spike:
    """``base``, with ``peak`` for ``width`` seconds every ``every`` seconds from ``offset``."""

    base: float
    peak: float
    every: float
    width: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        _non_negative("spike", self.base, self.peak, self.offset)
        if not (self.every > 0 and 0 < self.width <= self.every):
            raise ValueError("spike: need every > 0 and 0 < width <= every")

    def _in_spike(self, tau: float) -> float:
        """Seconds spent in spikes between 0 and tau."""
        if tau <= self.offset:
            return 0.0
        k = math.floor((tau - self.offset) / self.every)
        r = (tau - self.offset) - k * self.every
        return k * self.width + min(r, self.width)

    def value(self, tau: float) -> float:
        if tau < self.offset:
            return self.base
        r = (tau - self.offset) % self.every
        return self.peak if r < self.width else self.base

    def cumulative(self, tau: float) -> float:
        return self.base * tau + (self.peak - self.base) * self._in_spike(tau)


@dataclass(frozen=True)
class Trace:
    """Piecewise-linear interpolation of ``(seconds, level)`` points.

    Before the first point the first level holds; after the last point the last level holds,
    or, with ``loop``, the trace repeats with period = last point's time (first must be at 0).
    """

    points: tuple[tuple[float, float], ...]
    loop: bool = False
    _cum: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("trace: needs at least one point")
        ts = [t for t, _ in self.points]
        if any(b <= a for a, b in itertools.pairwise(ts)):
            raise ValueError("trace: times must be strictly ascending")
        _non_negative("trace", *(v for _, v in self.points))
        if self.loop and (ts[0] != 0 or len(ts) < 2):
            raise ValueError("trace: a looping trace must start at 0 and have two points or more")
        cum = [0.0]
        for (t0, v0), (t1, v1) in zip(self.points, self.points[1:], strict=False):
            cum.append(cum[-1] + (v0 + v1) * (t1 - t0) / 2)
        object.__setattr__(self, "_cum", tuple(cum))

    @property
    def _period(self) -> float:
        return self.points[-1][0]

    def _value_in(self, tau: float) -> float:
        pts = self.points
        if tau <= pts[0][0]:
            return pts[0][1]
        if tau >= pts[-1][0]:
            return pts[-1][1]
        i = bisect.bisect_right([t for t, _ in pts], tau) - 1
        (t0, v0), (t1, v1) = pts[i], pts[i + 1]
        return v0 + (v1 - v0) * (tau - t0) / (t1 - t0)

    def _area_from_first(self, tau: float) -> float:
        """Integral from the first point's time to tau (tau inside or beyond the points)."""
        pts = self.points
        if tau <= pts[0][0]:
            return pts[0][1] * (tau - pts[0][0])
        if tau >= pts[-1][0]:
            return self._cum[-1] + pts[-1][1] * (tau - pts[-1][0])
        i = bisect.bisect_right([t for t, _ in pts], tau) - 1
        t0, v0 = pts[i]
        return self._cum[i] + (v0 + self._value_in(tau)) * (tau - t0) / 2

    def value(self, tau: float) -> float:
        if self.loop and tau >= 0:
            return self._value_in(tau % self._period)
        return self._value_in(tau)

    def cumulative(self, tau: float) -> float:
        if self.loop and tau >= 0:
            k = math.floor(tau / self._period)
            return k * self._cum[-1] + self._area_from_first(tau - k * self._period)
        return self._area_from_first(tau) - self._area_from_first(0.0)


@dataclass(frozen=True)
class Scaled:
    """``factor`` times another shape (per-pod variety without losing the closed form)."""

    inner: Signal
    factor: float

    def __post_init__(self) -> None:
        _non_negative("scaled", self.factor)

    def value(self, tau: float) -> float:
        return self.factor * self.inner.value(tau)

    def cumulative(self, tau: float) -> float:
        return self.factor * self.inner.cumulative(tau)


@dataclass(frozen=True)
class Shifted:
    """Another shape delayed by ``offset`` seconds (pods of one template out of phase)."""

    inner: Signal
    offset: float

    def value(self, tau: float) -> float:
        return self.inner.value(tau - self.offset)

    def cumulative(self, tau: float) -> float:
        return self.inner.cumulative(tau - self.offset) - self.inner.cumulative(-self.offset)


class Driven:
    """A level set from outside while the simulation runs: piecewise constant in time.

    Why: a closed-loop load model decides each pod's usage from the demand and the pods that
    are Ready *now*, so the level is not known in advance. ``set(tau, level)`` changes it from
    ``tau`` on (seconds since the workload's origin, never before the last change); the past
    is never rewritten, so every counter already reported stays the exact integral of what
    was set, and the ground truth (the same object) agrees to the nanosecond.

    Breakpoints are kept in arrays with their running integral (``value`` and ``cumulative``
    are a bisection), so a level changed every few seconds for a simulated day stays cheap.
    Not frozen and compared by identity: each container owns its own.
    """

    __slots__ = ("_areas", "_levels", "_times")

    def __init__(self, level: float = 0.0) -> None:
        _non_negative("driven", level)
        self._times = array("d")  # breakpoint i: from _times[i] on, _levels[i + 1] holds
        self._levels = array("d", [float(level)])  # _levels[0]: before the first breakpoint
        self._areas = array("d")  # integral of value from 0 to _times[i]

    @property
    def level(self) -> float:
        """The level now set (the last one)."""
        return self._levels[-1]

    @property
    def changes(self) -> int:
        """How many times the level changed (breakpoints kept)."""
        return len(self._times)

    def set(self, tau: float, level: float) -> None:
        """The level is ``level`` from ``tau`` on (``tau`` not before the last change)."""
        _non_negative("driven", level)
        level = float(level)
        if not math.isfinite(tau):
            raise ValueError(f"driven: time must be finite, got {tau}")
        if self._times and tau < self._times[-1]:
            raise ValueError(f"driven: cannot change the past ({tau} < {self._times[-1]})")
        if level == self._levels[-1]:
            return
        if self._times and tau == self._times[-1]:
            self._levels[-1] = level  # two changes at one instant: the later one holds
            return
        self._areas.append(self.cumulative(tau))
        self._times.append(tau)
        self._levels.append(level)

    def value(self, tau: float) -> float:
        return self._levels[bisect.bisect_right(self._times, tau)]

    def cumulative(self, tau: float) -> float:
        i = bisect.bisect_right(self._times, tau)
        if i == 0:
            return self._levels[0] * tau
        return self._areas[i - 1] + self._levels[i] * (tau - self._times[i - 1])

    def __repr__(self) -> str:
        return f"Driven(level={self.level!r}, changes={self.changes})"


def driven_workload(cpu: float, memory: float) -> Workload:
    """A workload whose CPU (cores) and memory (bytes) are set at run time
    (``Cluster.drive``); levels start at ``cpu`` and ``memory``. Its origin is the cluster
    epoch, so a restarted container keeps the level the driver set."""
    return Workload(Driven(cpu), Driven(memory), relative=False)


def is_driven(w: Workload) -> bool:
    return isinstance(w.cpu, Driven) and isinstance(w.memory, Driven)


def vary(w: Workload, factor: float, offset: float) -> Workload:
    """``w`` scaled by ``factor`` and delayed by ``offset`` (both signals)."""
    if factor == 1.0 and offset == 0.0:
        return w

    def one(s: Signal) -> Signal:
        if offset:
            s = Shifted(s, offset)
        if factor != 1.0:
            s = Scaled(s, factor)
        return s

    return Workload(one(w.cpu), one(w.memory), w.relative)


@dataclass(frozen=True)
class Workload:
    """CPU (cores) and memory (bytes) of one container over time.

    ``relative``: shapes run from the container's start (a restarted container ramps again);
    otherwise from the cluster epoch (all pods share one timeline, as in a load test).
    """

    cpu: Signal = Constant(0.0)
    memory: Signal = Constant(0.0)
    relative: bool = False

    def origin(self, epoch: float, start: float) -> float:
        return start if self.relative else epoch


IDLE = Workload(Constant(0.001), Constant(4 * 1024 * 1024))

TRACE_COLUMNS = ("seconds", "cpu_cores", "memory_bytes")


def load_trace_csv(path: str | Path, loop: bool = False) -> Workload:
    """A workload from a CSV trace: header ``seconds,cpu_cores,memory_bytes``, one row per point.

    ``seconds`` is time since the origin (strictly ascending), ``cpu_cores`` a float,
    ``memory_bytes`` a number. Both signals interpolate linearly between rows.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ValueError(f"{p}: cannot read trace: {exc.strerror or exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != list(TRACE_COLUMNS):
        raise ValueError(f"{p}:1: trace header must be {','.join(TRACE_COLUMNS)}")
    cpu: list[tuple[float, float]] = []
    mem: list[tuple[float, float]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            t, c, m = (float(x) for x in row)
        except ValueError:
            raise ValueError(f"{p}:{lineno}: expected three numbers, got {row!r}") from None
        cpu.append((t, c))
        mem.append((t, m))
    try:
        return Workload(Trace(tuple(cpu), loop), Trace(tuple(mem), loop))
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def integral(signal: Signal, tau0: float, tau1: float) -> float:
    """Exact integral of ``signal`` between two times relative to its origin."""
    return signal.cumulative(tau1) - signal.cumulative(tau0)


def as_points(seq: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    """Normalise a list of pairs into the tuple form the shapes take."""
    return tuple((float(a), float(b)) for a, b in seq)
