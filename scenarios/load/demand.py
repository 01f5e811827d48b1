"""Demand over time: a shape, the instants it changes, and its level on each interval.

Why intervals: the fleet integrates a *piecewise-constant* level exactly (``Driven``), so the
driver sets a level and holds it until the next change point. Shapes that are piecewise
constant themselves (constant, steps, spikes) change only at their own edges and are exact;
continuous shapes (ramp, sine, diurnal, a CSV trace) are held for ``step`` seconds at a time,
at the *mean* of the shape over that interval (its exact integral / step, from the shapes'
closed forms), so the work done over a run equals the shape's integral. Intervals are fixed
by the origin (``k·step``), not by when anybody looked, so the series is the same however the
driver is woken; optional noise multiplies each interval by a factor drawn from a generator
seeded by (seed, interval), so the same seed gives the same series.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field

from fakekubelet.workloads import Constant, Signal, Sine, Spike, Step

__all__ = ["Demand", "Interval", "diurnal"]


def diurnal(low: float, high: float, peak_at: float, period: float = 86_400.0) -> Sine:
    """A day-shaped sine between ``low`` and ``high`` peaking ``peak_at`` seconds into each
    period."""
    base = (low + high) / 2
    phase = math.pi / 2 - 2 * math.pi * peak_at / period
    return Sine(base, (high - low) / 2, period, phase)


@dataclass(frozen=True)
class Interval:
    """The demand holds ``level`` from ``start`` until ``end`` (seconds since the origin;
    ``end`` None: for good)."""

    start: float
    end: float | None
    level: float


@dataclass(frozen=True)
class Demand:
    """A demand shape (``fakekubelet.workloads`` signals, evaluated on seconds since the
    load's origin) cut into intervals of constant level."""

    shape: Signal
    step: float = 5.0
    noise: float = 0.0  # relative standard deviation per interval
    seed: int = 0
    _edges: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)
    _exact: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.step) and self.step > 0):
            raise ValueError(f"step must be > 0 seconds, got {self.step}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        exact = isinstance(self.shape, Constant | Step | Spike) and self.noise == 0
        edges: tuple[float, ...] = ()
        if isinstance(self.shape, Step):
            edges = tuple(sorted({at for at, _ in self.shape.steps if at > 0}))
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_edges", edges)

    def _noise(self, k: int) -> float:
        if self.noise == 0:
            return 1.0
        factor = random.Random(f"load-noise/{self.seed}/{k}").gauss(1.0, self.noise)
        return max(0.0, factor)

    def _exact_bounds(self, tau: float) -> tuple[float, float | None]:
        shape = self.shape
        if isinstance(shape, Spike):
            if tau < shape.offset:
                return 0.0, shape.offset
            k = math.floor((tau - shape.offset) / shape.every)
            start = shape.offset + k * shape.every
            edge = start + shape.width
            if shape.width >= shape.every or shape.peak == shape.base:
                return start, start + shape.every
            return (start, edge) if tau < edge else (edge, start + shape.every)
        if isinstance(shape, Step):
            i = bisect.bisect_right(self._edges, tau)
            start = self._edges[i - 1] if i else 0.0
            return start, self._edges[i] if i < len(self._edges) else None
        return 0.0, None  # constant

    def interval(self, tau: float) -> Interval:
        """The interval holding ``tau`` (>= 0) and its level."""
        tau = max(0.0, tau)
        if self._exact:
            start, end = self._exact_bounds(tau)
            return Interval(start, end, self.shape.value(start))
        # interval k is [k·step, (k+1)·step), both edges computed as k·step so that one
        # interval's end is the next one's start bit for bit; the division only guesses k
        k = math.floor(tau / self.step)
        while k > 0 and k * self.step > tau:
            k -= 1
        while (k + 1) * self.step <= tau:
            k += 1
        start, end = k * self.step, (k + 1) * self.step
        mean = (self.shape.cumulative(end) - self.shape.cumulative(start)) / self.step
        return Interval(start, end, max(0.0, mean) * self._noise(k))

    def level(self, tau: float) -> float:
        return self.interval(tau).level

    def series(self, until: float) -> list[Interval]:
        """Every interval from the origin to ``until`` (tests, reports)."""
        out = []
        tau = 0.0
        while tau < until:
            iv = self.interval(tau)
            out.append(iv)
            if iv.end is None:
                break
            tau = iv.end
        return out
