"""Containers that are real local processes (the control plane's pods, e.g. metricsd itself),
measured from the OS so their node's kubelet reports them like any other pod.

Why: on a cluster the kubelet reports the metrics-server pod like every other; in the
simulation that pod is a process the control plane runs (``fakeapiserver.localpods``). The
control plane attaches such a process to its node (``Cluster.attach_process``); the node's
payload then carries the container and its pod with figures read from ``/proc``, and the node
totals include them.

Which figures, and why:

* **CPU**: ``utime + stime`` of ``/proc/PID/stat`` (fields 14 and 15, clock ticks, usually
  10 ms), the CPU time the kernel charged to the process — what a cgroup's ``usage_usec``
  counts for a one-process container. Children are not counted (the control plane's pods
  run none).
* **Memory**: ``VmRSS`` of ``/proc/PID/status`` (anonymous + file-backed + shared pages
  resident for the process). The kubelet's working set is a cgroup's usage minus its inactive
  file pages; these processes share one cgroup with everything else on the machine, so the
  per-process resident set is the closest honest figure: it counts the anonymous memory and
  the file pages the process maps, as its own cgroup would be charged for them. It is a
  whole number of pages, like a kubelet's figure. (PSS would divide shared libraries among
  unrelated processes and undercount.)

The readings are *samples*: every time a payload is rendered the process is read once, at
that moment, and kept; a figure at any other instant is interpolated between the samples
around it (linearly for the CPU counter, the earlier sample's memory). The ground truth
(``Cluster.truth``) reads the very same samples, so a rate a metrics server computes from two
payloads equals the truth's mean over their window exactly, as for simulated pods.

Only on a real clock: a payload's timestamps must be the instants the process was read. On a
virtual fleet clock ``attach_process`` declines and such pods are absent from the payloads.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fakekubelet.model import whole_pages

__all__ = ["ProcessPod", "ProcessRun", "read_process", "stat_fields"]

_PROC = Path("/proc")


def stat_fields(pid: int | str, *, proc: Path = _PROC) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` from field 3 on (``[state, ppid, …]``), or None when
    the process is gone.

    The command name (field 2) may hold spaces and parentheses: fields are counted after the
    last ``)``.
    """
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def read_process(
    pid: int, *, proc: Path = _PROC, clock_ticks: int | None = None
) -> tuple[float, int] | None:
    """``(utime + stime seconds, VmRSS bytes)`` of a process, or None when it is gone."""
    fields = stat_fields(pid, proc=proc)
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    if fields is None:
        return None
    ticks = clock_ticks or os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15
    rss = 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024  # kB
            break
    return cpu, rss


class _Clock(Protocol):
    def now(self) -> float: ...


@dataclass
class ProcessRun:
    """One run of a container as a process; the same queries as ``model.Run``.

    ``samples`` are ``(t, cpu_seconds, memory_bytes)`` in time order; the run begins with an
    implicit ``(start, 0, 0)`` (a new process has used no CPU yet).
    """

    node_name: str
    pod_key: str
    container: str
    pid: int
    start: float
    clock: _Clock
    end: float | None = None
    samples: list[tuple[float, float, int]] = field(default_factory=list)

    # -- sampling ---------------------------------------------------------------------------
    def observe(self) -> None:
        """Read the process now and keep the sample (a gone process adds nothing)."""
        if self.end is not None:
            return
        t = self.clock.now()
        if self.samples and t <= self.samples[-1][0]:
            return
        reading = read_process(self.pid)
        if reading is None:
            return
        cpu, mem = reading
        if self.samples:
            cpu = max(cpu, self.samples[-1][1])  # a counter never runs backwards
        self.samples.append((t, cpu, whole_pages(mem)))

    def _ensure(self, t: float) -> None:
        if self.end is None and (not self.samples or t > self.samples[-1][0]):
            self.observe()

    def prune(self, before: float) -> None:
        """Forget samples older than ``before``, keeping one to interpolate from."""
        i = bisect.bisect_left(self.samples, (before,)) - 1
        if i > 0:
            del self.samples[:i]

    # -- the Run interface ------------------------------------------------------------------
    def alive(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def counter(self, t: float) -> float:
        """The cumulative CPU counter at t, interpolated between samples."""
        if t <= self.start:
            return 0.0
        self._ensure(t)
        if self.end is not None:
            t = min(t, self.end)
        points = [(self.start, 0.0, 0), *self.samples]
        i = bisect.bisect_right(points, (t, float("inf"))) - 1
        t0, c0, _ = points[i]
        if i + 1 >= len(points):
            return c0
        t1, c1, _ = points[i + 1]
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1

    def cpu_seconds(self, t0: float, t1: float) -> float:
        return self.counter(t1) - self.counter(t0) if t1 > t0 else 0.0

    def cpu_cores(self, t: float) -> float:
        """The rate between the samples around t (all that can be known of an instant)."""
        if not self.alive(t):
            return 0.0
        self._ensure(t)
        points = [(self.start, 0.0, 0), *self.samples]
        if len(points) < 2:
            return 0.0
        i = min(bisect.bisect_right(points, (t, float("inf"))), len(points) - 1)
        (ta, ca, _), (tb, cb, _) = points[max(i - 1, 0)], points[max(i, 1)]
        return (cb - ca) / (tb - ta) if tb > ta else 0.0

    def memory_bytes(self, t: float) -> int:
        """The working set of the sample at or before t (the first sample before any)."""
        if not self.alive(t):
            return 0
        self._ensure(t)
        if not self.samples:
            return 0
        i = bisect.bisect_right(self.samples, (t, float("inf"))) - 1
        return self.samples[max(i, 0)][2]


@dataclass
class ProcessPod:
    """A pod of the control plane's on a fleet node: its containers' process runs."""

    namespace: str
    name: str
    node_name: str
    runs: list[ProcessRun] = field(default_factory=list)
    current: dict[str, ProcessRun] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
