"""When a container with a readiness probe turns Ready, as the kubelet's prober decides it.

Why a module of its own: the instant a pod turns Ready is what the HPA's readiness rules read
(``Ready`` ``lastTransitionTime``), so it must follow the kubelet, not a round "start +
initialDelaySeconds". The kubelet's prober (``pkg/kubelet/prober/worker.go``) behaves so:

* one worker per container and probe, started when the kubelet takes the pod on (the pod's
  ``startTime``); it probes at once and then on a ticker every ``periodSeconds``, so probe
  instants are ``startTime + k·periodSeconds`` for k = 0, 1, 2, …, whatever the container's
  start time (a restart does not move the ticker);
* a probe while the container has run for less than ``initialDelaySeconds`` (whole seconds
  since ``startedAt``, truncated) is skipped: no result, the container stays not ready;
* the status manager asks for an immediate probe when it sees a started container that is not
  ready yet (``UpdatePodStatus`` → ``manualTriggerCh``): in effect one extra probe at the
  container's start, which counts only when ``initialDelaySeconds`` is 0;
* the result flips to success after ``successThreshold`` consecutive successful probes.

The simulated application answers every probe at once and successfully. Not modelled:
the random first-probe delay a kubelet adds right after its own restart, resyncs that trigger
further probes, startup and liveness probes, failing probes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ReadinessProbe", "probe_instants", "ready_time"]


@dataclass(frozen=True)
class ReadinessProbe:
    """A container's readinessProbe timing (the API's defaults: 0 s, every 10 s, 1 success)."""

    initial_delay_seconds: int = 0
    period_seconds: int = 10
    success_threshold: int = 1

    def __post_init__(self) -> None:
        if self.initial_delay_seconds < 0:
            raise ValueError(f"initialDelaySeconds must be >= 0, got {self.initial_delay_seconds}")
        if self.period_seconds < 1:
            raise ValueError(f"periodSeconds must be >= 1, got {self.period_seconds}")
        if self.success_threshold < 1:
            raise ValueError(f"successThreshold must be >= 1, got {self.success_threshold}")


def _eligible(t: float, started: float, delay: int) -> bool:
    # the worker compares int32(time.Since(startedAt).Seconds()) with initialDelaySeconds
    return math.floor(t - started + 1e-9) >= delay


def probe_instants(probe: ReadinessProbe, worker_start: float, started: float,
                   count: int) -> list[float]:
    """The first ``count`` probes that count for a container started at ``started`` whose
    pod's prober worker began at ``worker_start`` (in order)."""
    out: list[float] = []
    if probe.initial_delay_seconds == 0:
        out.append(started)  # the status manager's immediate probe
    period = float(probe.period_seconds)
    # first ticker instant at or after the point where the initial delay has passed
    first = max(started + probe.initial_delay_seconds, worker_start)
    k = max(0, math.ceil((first - worker_start) / period - 1e-9))
    while len(out) < count:
        t = worker_start + k * period
        k += 1
        if t < started or not _eligible(t, started, probe.initial_delay_seconds):
            continue
        if out and t <= out[-1]:
            continue  # the immediate probe and a tick at the same instant are one probe
        out.append(t)
    return out


def ready_time(probe: ReadinessProbe | None, worker_start: float, started: float) -> float:
    """When a container started at ``started`` turns Ready (no probe: at once)."""
    if probe is None:
        return started
    return probe_instants(probe, worker_start, started, probe.success_threshold)[-1]
