"""The summary of one variant's run: pure functions over its time series.

Why pure: the figures users compare variants by (how soon the HPA reacted, how long demand
went unserved, how many pod-seconds were paid for nothing) must mean exactly what
docs/experiments.md says, whatever produced the series — so they are computed here from plain
samples and scale events, with no clock, no cluster and no I/O, and tested with tables and
hypothesis properties.

The series is a sample-and-hold record: sample ``i`` holds from its instant ``t[i]`` until
the next sample's (the last one until ``end``). Integrals are sums of value × holding time,
so they are exact for the step functions replicas and readiness are, and as fine as the
sample period for demand.

Definitions (docs/experiments.md, "The summary"):

``needed(t)``            ``ceil(demand(t) / perPodTarget)``: the fewest pods that keep the
                         per-pod CPU at or under the HPA's target; ``perPodTarget`` is
                         ``averageUtilization`` % of the pod's CPU request, or
                         ``averageValue``. Not clamped to min/max replicas.
``capacity(t)``          CPU the READY pods can serve: per pod, the serving container's CPU
                         limit less the load's baseline (without a limit: its node's
                         allocatable CPU less the baseline) — the load model's cap.
serving                  from the first sample with a Ready pod on (before it the Deployment
                         is starting up; a Deployment never Ready is measured throughout).
first scale-up/-down     the instant of the first rescale up / down.
time to capacity         the longest stretch, while serving, with demand above capacity: from
                         a sample where it exceeds capacity to the next one where it no
                         longer does; 0 when it never does, None ("never") when the last
                         stretch lasts until the end.
peak / final replicas    the deployment's ``spec.replicas`` (what the HPA set): the largest
                         (samples and rescales), the last sample's.
pod-seconds over         ∫ max(0, total(t) − needed(t)) dt: pods that exist (any phase, they
                         hold their requests) beyond what the demand needs.
pod-seconds under        ∫ max(0, needed(t) − ready(t)) dt: pods the demand needs that are
                         not serving.
seconds above capacity   ∫ [demand(t) > capacity(t)] dt while serving.
scale events             rescales; direction changes: consecutive rescales that go opposite
                         ways (up then down, or down then up).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EPSILON",
    "FIELDS",
    "Sample",
    "ScaleEvent",
    "Summary",
    "capacity_episode",
    "direction_changes",
    "pods_needed",
    "serving_from",
    "summarize",
]

#: Slack for float comparisons of cores (demand is a float sum; capacity a sum of limits).
EPSILON = 1e-9


@dataclass(frozen=True)
class Sample:
    """One instant of a variant's run (``t``: simulated seconds since the start)."""

    t: float
    demand: float                # cores the load asks for
    capacity: float              # cores the ready pods can serve
    total: int                   # the deployment's pods (pending, starting, terminating too)
    ready: int                   # of those, Ready (serving)
    replicas: int                # the deployment's spec.replicas
    needed: int | None = None    # pods_needed(demand, per-pod target); None without a target


@dataclass(frozen=True)
class ScaleEvent:
    """A rescale of the target: at ``t``, ``spec.replicas`` went from ``old`` to ``new``."""

    t: float
    old: int
    new: int

    @property
    def direction(self) -> int:
        return (self.new > self.old) - (self.new < self.old)


@dataclass(frozen=True)
class Summary:
    first_scale_up: float | None
    first_scale_down: float | None
    time_to_capacity: float | None
    peak_replicas: int
    final_replicas: int
    pod_seconds_over: float | None
    pod_seconds_under: float | None
    seconds_above_capacity: float
    scale_events: int
    direction_changes: int

    def value(self, key: str) -> float | None:
        """A figure by its ``expect:`` key (``firstScaleUp``, ``peakReplicas``, …)."""
        attr = FIELDS[key][0]
        value = getattr(self, attr)
        return None if value is None else float(value)


#: expect key → (attribute, label on the table, unit)
FIELDS: dict[str, tuple[str, str, str]] = {
    "firstScaleUp": ("first_scale_up", "first scale-up at", "s"),
    "firstScaleDown": ("first_scale_down", "first scale-down at", "s"),
    "timeToCapacity": ("time_to_capacity", "time to capacity", "s"),
    "peakReplicas": ("peak_replicas", "peak replicas", ""),
    "finalReplicas": ("final_replicas", "final replicas", ""),
    "podSecondsOver": ("pod_seconds_over", "pod-seconds over-provisioned", "pod·s"),
    "podSecondsUnder": ("pod_seconds_under", "pod-seconds under-provisioned", "pod·s"),
    "secondsAboveCapacity": ("seconds_above_capacity", "seconds demand > capacity", "s"),
    "scaleEvents": ("scale_events", "scale events", ""),
    "directionChanges": ("direction_changes", "direction changes", ""),
}


def pods_needed(demand: float, per_pod_target: float) -> int:
    """``ceil(demand / per_pod_target)``, with float noise below :data:`EPSILON` ignored (a
    demand of 0.7 cores at 0.1 per pod needs 7 pods, not 8 because 0.7/0.1 = 7.000000000000001).
    """
    if per_pod_target <= 0:
        raise ValueError(f"per-pod target must be > 0, got {per_pod_target}")
    if demand <= 0:
        return 0
    return max(0, math.ceil(demand / per_pod_target - EPSILON))


def _holds(samples: Sequence[Sample], end: float) -> list[float]:
    """How long each sample holds (until the next one; the last until ``end``)."""
    out = []
    for i, s in enumerate(samples):
        until = samples[i + 1].t if i + 1 < len(samples) else max(end, s.t)
        if until < s.t:
            raise ValueError(f"samples out of order: {until} after {s.t}")
        out.append(until - s.t)
    return out


def serving_from(samples: Sequence[Sample]) -> int:
    """Index of the first sample with a Ready pod (0 when there is none: measure all)."""
    return next((i for i, s in enumerate(samples) if s.ready > 0), 0)


def _above(s: Sample) -> bool:
    return s.demand > s.capacity + EPSILON


def capacity_episode(samples: Sequence[Sample]) -> float | None:
    """Time to capacity (see the module docstring): 0.0, seconds, or None for never."""
    longest = 0.0
    began: float | None = None
    for s in samples[serving_from(samples):]:
        if _above(s):
            if began is None:
                began = s.t
        elif began is not None:
            longest = max(longest, s.t - began)
            began = None
    return None if began is not None else longest


def direction_changes(events: Sequence[ScaleEvent]) -> int:
    """Consecutive rescales that go opposite ways (no-op events are skipped)."""
    directions = [e.direction for e in events if e.direction != 0]
    return sum(1 for a, b in itertools.pairwise(directions) if a != b)


def summarize(samples: Sequence[Sample], events: Sequence[ScaleEvent], end: float,
              initial_replicas: int | None = None) -> Summary:
    """The summary of a run whose samples and rescales are given, observed until ``end``.

    ``initial_replicas``: peak/final replicas before any sample (default: the first
    sample's)."""
    holds = _holds(samples, end)
    moves = [e for e in events if e.direction != 0]
    first_up = next((e.t for e in moves if e.direction > 0), None)
    first_down = next((e.t for e in moves if e.direction < 0), None)
    replicas = [s.replicas for s in samples] + [e.new for e in moves]
    if initial_replicas is not None:
        replicas.append(initial_replicas)
    peak = max(replicas, default=0)
    final = samples[-1].replicas if samples else (initial_replicas or 0)
    with_target = all(s.needed is not None for s in samples)
    over = under = None
    if with_target:
        over = sum(max(0, s.total - (s.needed or 0)) * h for s, h in zip(samples, holds,
                                                                        strict=True))
        under = sum(max(0, (s.needed or 0) - s.ready) * h for s, h in zip(samples, holds,
                                                                         strict=True))
    first = serving_from(samples)
    above = sum(h for s, h in zip(samples[first:], holds[first:], strict=True) if _above(s))
    return Summary(
        first_scale_up=first_up,
        first_scale_down=first_down,
        time_to_capacity=capacity_episode(samples),
        peak_replicas=peak,
        final_replicas=final,
        pod_seconds_over=over,
        pod_seconds_under=under,
        seconds_above_capacity=above,
        scale_events=len(moves),
        direction_changes=direction_changes(moves),
    )
