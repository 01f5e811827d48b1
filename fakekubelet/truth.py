"""Ground truth: the true CPU and memory of every node, pod and container at any instant.

The rule every check uses: compare a reported CPU figure with the **mean true usage between the
two sample timestamps** it was computed from (``mean_cpu_cores(entity, t0, t1)`` — the exact
integral divided by ``t1 - t0``), and a reported memory figure with the **true value at the
later timestamp** (``memory_bytes(entity, t1)``). Sample timestamps are milliseconds, so pass
``ms / 1000``. The kubelet truncates counters to whole nanoseconds, so a rate computed from two
payload counters can differ from the truth by at most 1 ns / window.

Entities are named by strings: ``"node-1"`` (a node), ``"ns/pod"`` (a pod), ``"ns/pod/c"``
(a container, all its runs). Truth is kept for ``history_seconds`` (default one hour) after a
container, pod or node is gone; asking about earlier windows raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fakekubelet.model import Run
from fakekubelet.processes import ProcessRun

#: a simulated container run, or a local process's (same queries, samples from /proc)
AnyRun = Run | ProcessRun

if TYPE_CHECKING:
    from fakekubelet.cluster import Cluster


@dataclass
class NodeLedger:
    """Every run that ever used a node's CPU, arranged so the node counter is cheap.

    ``closed`` is ordered by end time (runs close at the cluster's monotonic event time);
    ``closed_cpu`` is the total of every closed run, including pruned ones.
    """

    overhead: Run
    open: list[AnyRun] = field(default_factory=list)
    closed: list[AnyRun] = field(default_factory=list)
    closed_cpu: float = 0.0
    pruned_before: float = float("-inf")
    removed_at: float | None = None

    def close(self, run: AnyRun) -> None:
        self.open.remove(run)
        self.closed.append(run)
        self.closed_cpu += run.counter(run.end if run.end is not None else run.start)

    def cpu_counter(self, t: float) -> float:
        """Node cumulative CPU (core-seconds since boot) at ``t``."""
        self._check(t)
        total = self.overhead.counter(t) + self.closed_cpu
        for run in reversed(self.closed):
            assert run.end is not None
            if run.end <= t:
                break
            total -= run.cpu_seconds(max(t, run.start), run.end)
        for run in self.open:
            total += run.counter(t)
        return total

    def memory_bytes(self, t: float) -> int:
        """Node working set at ``t``: overhead plus every container alive then."""
        self._check(t)
        total = self.overhead.memory_bytes(t)
        for run in self.open:
            total += run.memory_bytes(t)
        for run in reversed(self.closed):
            assert run.end is not None
            if run.end <= t:
                break
            total += run.memory_bytes(t)
        return total

    def cpu_cores(self, t: float) -> float:
        self._check(t)
        total = self.overhead.cpu_cores(t)
        total += sum(r.cpu_cores(t) for r in self.open)
        total += sum(r.cpu_cores(t) for r in self.closed if r.end is not None and r.end > t)
        return total

    def prune(self, before: float) -> None:
        """Forget closed runs that ended before ``before`` (their CPU stays in closed_cpu)."""
        keep = 0
        while keep < len(self.closed) and (self.closed[keep].end or 0.0) < before:
            keep += 1
        if keep:
            del self.closed[:keep]
            self.pruned_before = max(self.pruned_before, before)

    def _check(self, t: float) -> None:
        if t < self.pruned_before:
            raise ValueError(f"no ground truth before {self.pruned_before:.3f} (history expired)")


def _sum_cpu(runs: Iterable[AnyRun], t0: float, t1: float) -> float:
    return sum(r.cpu_seconds(t0, t1) for r in runs)


class Truth:
    """Queries over a cluster's runs; read-only."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    # ----------------------------------------------------------------- lookups

    def _node(self, name: str) -> NodeLedger:
        led = self._cluster._ledgers.get(name)
        if led is None:
            raise KeyError(f'node "{name}"')
        return led

    def _runs(self, entity: str) -> list[AnyRun]:
        parts = entity.split("/")
        if len(parts) == 2:
            runs = self._cluster._pod_runs.get(entity)
            if runs is None:
                raise KeyError(f'pod "{entity}"')
            return runs
        if len(parts) == 3:
            pod_key = "/".join(parts[:2])
            runs = self._cluster._pod_runs.get(pod_key)
            if runs is None:
                raise KeyError(f'pod "{pod_key}"')
            mine = [r for r in runs if r.container == parts[2]]
            if not mine:
                raise KeyError(f'container "{entity}"')
            return mine
        raise KeyError(f"entity {entity!r}: expected node, ns/pod or ns/pod/container")

    def _check(self, t: float) -> None:
        if t < self._cluster._history_floor:
            raise ValueError(f"no ground truth before {self._cluster._history_floor:.3f}")
        if t > self._cluster.clock.now() + 1e-6:
            raise ValueError(f"time {t} is in the future (now {self._cluster.clock.now()})")

    # ----------------------------------------------------------------- queries

    def cpu_seconds(self, entity: str, t: float) -> float:
        """The exact cumulative CPU counter of a node, pod or container (current run) at t."""
        self._cluster.sync()
        self._check(t)
        if "/" not in entity:
            return self._node(entity).cpu_counter(t)
        runs = self._runs(entity)
        if entity.count("/") == 2:
            alive = [r for r in runs if r.start <= t]
            return alive[-1].counter(t) if alive else 0.0
        return _sum_cpu(runs, float("-inf"), t)

    def mean_cpu_cores(self, entity: str, t0: float, t1: float) -> float:
        """Exact mean CPU usage (cores) of a node, pod or container over [t0, t1]."""
        if not t1 > t0:
            raise ValueError(f"empty window [{t0}, {t1}]")
        self._cluster.sync()
        self._check(t0)
        self._check(t1)
        if "/" not in entity:
            led = self._node(entity)
            return (led.cpu_counter(t1) - led.cpu_counter(t0)) / (t1 - t0)
        return _sum_cpu(self._runs(entity), t0, t1) / (t1 - t0)

    def cpu_cores(self, entity: str, t: float) -> float:
        """Instantaneous CPU usage (cores) at t."""
        self._cluster.sync()
        self._check(t)
        if "/" not in entity:
            return self._node(entity).cpu_cores(t)
        return sum(r.cpu_cores(t) for r in self._runs(entity))

    def memory_bytes(self, entity: str, t: float) -> int:
        """True working set (bytes) at t."""
        self._cluster.sync()
        self._check(t)
        if "/" not in entity:
            return self._node(entity).memory_bytes(t)
        return sum(r.memory_bytes(t) for r in self._runs(entity))

    def snapshot(self, t: float | None = None) -> dict[str, Any]:
        """True usage of every current node, pod and container at t (default now), as JSON."""
        self._cluster.sync()
        at = self._cluster.clock.now() if t is None else t
        self._check(at)
        nodes: list[dict[str, Any]] = []
        pods: list[dict[str, Any]] = []
        for name in sorted(self._cluster.nodes):
            led = self._node(name)
            nodes.append(
                {
                    "name": name,
                    "cpuCores": led.cpu_cores(at),
                    "cpuSeconds": led.cpu_counter(at),
                    "memoryBytes": led.memory_bytes(at),
                }
            )
            process_pods = [k for k, pp in self._cluster.process_pods.items()
                            if pp.node_name == name]
            for key in sorted([*self._cluster.nodes[name].pods, *process_pods]):
                runs = self._cluster._pod_runs.get(key, [])
                containers = []
                for cname in sorted({r.container for r in runs}):
                    mine = [r for r in runs if r.container == cname]
                    alive = [r for r in mine if r.alive(at)]
                    if not alive:
                        continue
                    containers.append(
                        {
                            "name": cname,
                            "cpuCores": sum(r.cpu_cores(at) for r in alive),
                            "cpuSeconds": alive[-1].counter(at),
                            "memoryBytes": sum(r.memory_bytes(at) for r in alive),
                            "startTime": alive[-1].start,
                        }
                    )
                ns, pname = key.split("/", 1)
                pods.append(
                    {
                        "namespace": ns,
                        "name": pname,
                        "node": name,
                        "cpuCores": sum(r.cpu_cores(at) for r in runs),
                        "cpuSeconds": _sum_cpu(runs, float("-inf"), at),
                        "memoryBytes": sum(r.memory_bytes(at) for r in runs),
                        "containers": containers,
                    }
                )
        return {"time": at, "nodes": nodes, "pods": pods}

    def window(self, entity: str, t0: float, t1: float) -> dict[str, float]:
        """What a metrics server should report for a window: mean CPU and memory at t1."""
        return {
            "cpuCores": self.mean_cpu_cores(entity, t0, t1),
            "memoryBytes": float(self.memory_bytes(entity, t1)),
            "start": t0,
            "end": t1,
        }
