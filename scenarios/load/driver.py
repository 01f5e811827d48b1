"""The closed loop: keep a Deployment's pods at their share of the demand, as it changes.

``LoadDriver`` wakes at every change point of the demand (``Demand.interval``) and whenever
the Deployment's pods change (a pod turns Ready, is created, starts terminating, goes), splits
the demand among the Ready ones (``split``) and sets each pod's usage on the fleet. It reads
time from an injected clock (``now()``, ``sleep_until()``: fakekubelet's ``Clock`` shape — the
master virtual clock in accelerated mode, the real one with real processes), pods from a
:class:`PodSource` and writes usage to a :class:`UsageSink`:

============================ =================================== ==========================
where                        pods from                           usage to
============================ =================================== ==========================
one process (accelerated)    :class:`StorePods` (the store's     :class:`ClusterSink`
                             change feed)                        (``Cluster.drive``)
real processes (runner)      ``http.WatchPods`` (a watch)        ``http.ControlSink``
                                                                 (``PUT /usage``)
============================ =================================== ==========================

Only what changed is sent. A pod the fleet does not run yet (still Pending) is tried again
at the next change — its creation on a node is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fakeapiserver.rbac import label_selector_matches
from fakekubelet.quantity import parse_cpu
from scenarios.load.spec import LoadSpec
from scenarios.load.split import Slot, split

__all__ = ["ClusterSink", "LoadDriver", "LoadState", "PodSource", "PodView", "StorePods",
           "Usage", "UsageSink", "pod_views"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, t: float) -> None: ...


@dataclass(frozen=True)
class PodView:
    """What the load model needs of one pod of the Deployment."""

    namespace: str
    name: str
    uid: str
    container: str
    ready: bool
    limit: float | None = None  # the container's CPU limit, cores

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.name, self.uid)


@dataclass(frozen=True)
class Usage:
    namespace: str
    pod: str
    container: str
    cpu: float  # cores
    memory: float  # bytes


class PodSource(Protocol):
    def pods(self) -> list[PodView]: ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]: ...


class UsageSink(Protocol):
    async def apply(self, items: list[Usage]) -> set[tuple[str, str]]:
        """Set each pod's usage; returns the (namespace, pod) that were set."""
        ...


def _ready(pod: Mapping[str, Any]) -> bool:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status.get("conditions") or [] if isinstance(c, dict))


def pod_views(objects: Iterable[Mapping[str, Any]], selector: Mapping[str, Any],
              container: str | None = None) -> list[PodView]:
    """The Deployment's pods (``selector``: its ``spec.selector``) that may take load or a
    baseline: not finished. A Service's Ready endpoints are the Ready ones not terminating."""
    out = []
    for pod in objects:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        if not label_selector_matches(dict(selector), meta.get("labels") or {}):
            continue
        containers = [c for c in (pod.get("spec") or {}).get("containers") or []
                      if isinstance(c, dict)]
        chosen = next((c for c in containers if c.get("name") == container), None) \
            if container else (containers[0] if containers else None)
        if chosen is None:
            continue
        limit = ((chosen.get("resources") or {}).get("limits") or {}).get("cpu")
        try:
            cores = parse_cpu(limit) if limit is not None else None
        except ValueError:
            cores = None
        out.append(PodView(str(meta.get("namespace", "")), str(meta.get("name", "")),
                           str(meta.get("uid", "")), str(chosen.get("name", "")),
                           _ready(pod), cores))
    out.sort(key=lambda v: (v.namespace, v.name))
    return out


@dataclass
class LoadState:
    """The driver's last decision (experiments record it)."""

    time: float = 0.0
    elapsed: float = 0.0
    demand: float = 0.0  # in the spec's unit (requests/s or cores)
    demand_cores: float = 0.0
    served_cores: float = 0.0
    ready: int = 0
    total: int = 0
    pods: dict[str, tuple[float, float]] = field(default_factory=dict)  # name → (cpu, memory)


class LoadDriver:
    """Runs one :class:`LoadSpec` until cancelled (or :meth:`stop`)."""

    def __init__(self, spec: LoadSpec, clock: Clock, source: PodSource, sink: UsageSink, *,
                 origin: float | None = None,
                 on_update: Callable[[LoadState], None] | None = None) -> None:
        self.spec = spec
        self.clock = clock
        self.source = source
        self.sink = sink
        self.origin = origin
        self.on_update = on_update
        self.state = LoadState()
        self.updates = 0
        self._sent: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"load-{self.spec.deployment}")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """The pods changed: split again now."""
        self._changed.set()

    async def run(self) -> None:
        if self.origin is None:
            self.origin = self.clock.now()
        unsubscribe = self.source.subscribe(self.poke)
        reached = 0.0  # a change point the clock has reached (clocks may round below it)
        try:
            while True:
                self._changed.clear()
                tau = max(self.clock.now() - self.origin, reached)
                interval = self.spec.demand.interval(tau)
                await self.resplit(tau)
                waits: list[asyncio.Task[Any]] = [asyncio.ensure_future(self._changed.wait())]
                timer = None
                if interval.end is not None:
                    timer = asyncio.ensure_future(
                        self.clock.sleep_until(self.origin + interval.end))
                    waits.append(timer)
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                if timer is not None and timer.done() and not timer.cancelled() and (
                        interval.end is not None):
                    reached = max(reached, interval.end)
        finally:
            unsubscribe()

    async def resplit(self, tau: float) -> None:
        """Split the demand at ``tau`` among the pods as they are now; send what changed."""
        spec = self.spec
        views = self.source.pods()
        demand = spec.demand.level(tau)
        cores = spec.demand_cores(tau)
        shares = split(cores, [Slot(v.key, v.ready, v.limit) for v in views], spec.baseline_cpu)
        wanted = {v.key: (shares[v.key].cpu, spec.memory_for(shares[v.key].load))
                  for v in views}
        items = [Usage(v.namespace, v.name, v.container, *wanted[v.key]) for v in views
                 if self._sent.get(v.key) != wanted[v.key]]
        if items:
            applied = await self.sink.apply(items)
            for v in views:
                if (v.namespace, v.name) in applied:
                    self._sent[v.key] = wanted[v.key]
            live = {v.key for v in views}
            for key in [k for k in self._sent if k not in live]:
                del self._sent[key]
        self.updates += 1
        served = sum(shares[v.key].load for v in views)
        self.state = LoadState(
            time=self.clock.now(), elapsed=tau, demand=demand, demand_cores=cores,
            served_cores=served, ready=sum(v.ready for v in views), total=len(views),
            pods={v.name: wanted[v.key] for v in views})
        if self.on_update is not None:
            self.on_update(self.state)


class StorePods:
    """A Deployment's pods from an in-process ``fakeapiserver`` store (its change feed)."""

    def __init__(self, store: Any, namespace: str, deployment: str,
                 container: str | None = None) -> None:
        self.store = store
        self.namespace = namespace
        obj = store.try_get("deployments.apps", deployment, namespace)
        if obj is None:
            raise LookupError(f'deployment "{namespace}/{deployment}" not found')
        self.selector = (obj.get("spec") or {}).get("selector") or {}
        self.container = container

    def pods(self) -> list[PodView]:
        objs = (s.obj for s in self.store.list_stored("pods", self.namespace).items)
        return pod_views(objs, self.selector, self.container)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        def on_change(change: Any) -> None:
            if change.new.namespace == self.namespace:
                callback()

        unsubscribe: Callable[[], None] = self.store.subscribe(on_change, ["pods"])
        return unsubscribe


class ClusterSink:
    """Usage into an in-process fakekubelet ``Cluster`` (``Cluster.drive``)."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster

    async def apply(self, items: list[Usage]) -> set[tuple[str, str]]:
        done = set()
        for item in items:
            if not (math.isfinite(item.cpu) and math.isfinite(item.memory)):
                continue
            try:
                self.cluster.drive(item.namespace, item.pod, item.container, cpu=item.cpu,
                                   memory=item.memory)
            except KeyError:
                continue  # not on the fleet yet (unscheduled), or already gone
            done.add((item.namespace, item.pod))
        return done
