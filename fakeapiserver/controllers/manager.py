"""Runs the controllers against one store: change notifications in, reconciles out.

Why not watch streams over HTTP or timers: the controllers live in the control plane's
process, so they subscribe to the store's change feed (``Store.subscribe``, called
synchronously after each write) and only *queue* keys there. The queue is drained on the
event loop right after the write's task yields (``loop.call_soon``), one key at a time, in
FIFO order with duplicates folded — deterministic for a given sequence of writes, and nothing
polls or sleeps. Writes made by a reconcile queue further keys, which the same drain
processes, so one ``kubectl apply`` of a Deployment settles (ReplicaSet, Pod, binding,
Endpoints, process start) before the next request is served.

Nothing here is time-driven; the clock only stamps conditions and events (the store's clock
unless one is given). Without a running event loop (plain unit tests) nothing is scheduled:
call :meth:`ControllerManager.run_until_idle`. The exception is the HPA controller
(``horizontal``, see ``controllers/horizontal.py``): it syncs every period on its own queue
and clock, and the manager only starts and stops it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fakeapiserver.controllers.common import Controller, Key
from fakeapiserver.controllers.deployments import DeploymentController
from fakeapiserver.controllers.disruption import DisruptionController
from fakeapiserver.controllers.endpoints import EndpointsController
from fakeapiserver.controllers.fleetpods import FleetPodController
from fakeapiserver.controllers.localimages import LocalImages
from fakeapiserver.controllers.localprocesses import (
    ClusterAccess,
    LocalProcessController,
    PodRunner,
)
from fakeapiserver.controllers.replicasets import ReplicaSetController
from fakeapiserver.controllers.scheduler import DEFAULT_POD_CIDR, PodIPAllocator, Scheduler

log = logging.getLogger(__name__)

#: A sync that keeps failing is dropped after this many attempts in one drain.
MAX_ATTEMPTS = 5


class ControllerManager:
    """The deployment, replicaset, disruption, scheduler, endpoints, local-process and
    fleet-pod controllers.

    ``runner`` (a :class:`PodRunner`, e.g. ``LocalPodsRunner(LocalPods(store))``) enables the
    local-process controller; without it, pods are scheduled and get IPs but nothing runs.
    ``access`` gives processes their ServiceAccount kubeconfig. ``cluster`` (a fakekubelet
    ``Cluster`` registered as the nodes) enables the fleet-pod controller: pods bound to its
    nodes whose image no local command runs become the fleet's pods. ``kube_version``: the
    emulated version (texts that changed between versions).
    """

    def __init__(
        self,
        store: Any,
        *,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        pod_cidr: str = DEFAULT_POD_CIDR,
        allocator: PodIPAllocator | None = None,
        images: LocalImages | None = None,
        runner: PodRunner | None = None,
        access: ClusterAccess | None = None,
        workdir: str | Path | None = None,
        deployments: bool = True,
        scheduler: bool = True,
        endpoints: bool = True,
        write_slices: bool = True,
        kube_version: tuple[int, int] = (1, 30),
        cluster: Any = None,
        horizontal: Any = None,
    ) -> None:
        self.store = store
        self.clock: Callable[[], float] = clock or store.clock
        self.rng = random.Random(seed)
        self.images = images or LocalImages()
        self._queue: deque[tuple[str, Key]] = deque()
        self._queued: set[tuple[str, Key]] = set()
        self._scheduled = False
        self._draining = False
        self._unsubscribe: list[Callable[[], None]] = []
        self.controllers: dict[str, Controller] = {}
        enqueue = self.enqueue
        if deployments:
            self._add(DeploymentController(store, self.clock, enqueue))
            self._add(ReplicaSetController(store, self.clock, enqueue, self.rng))
            self._add(DisruptionController(store, self.clock, enqueue))
        if scheduler:
            self._add(Scheduler(store, self.clock, enqueue,
                                allocator or PodIPAllocator(pod_cidr),
                                kube_version=kube_version))
        if endpoints:
            self._add(EndpointsController(store, self.clock, enqueue, self.rng, write_slices))
        self.fleet: FleetPodController | None = None
        if cluster is not None:
            self.fleet = FleetPodController(store, self.clock, enqueue, cluster, self.images)
            self._add(self.fleet)
        self.local: LocalProcessController | None = None
        if runner is not None:
            self.local = LocalProcessController(store, self.clock, enqueue, runner, self.images,
                                                access, workdir)
            if self.fleet is not None:
                self.local.hosted_elsewhere = self.fleet.for_fleet
            self._add(self.local)
        self.errors: list[tuple[str, Key, str]] = []
        #: the HPA controller (time-driven, its own queue: see controllers/horizontal.py)
        self.horizontal = horizontal

    def _add(self, controller: Controller) -> None:
        self.controllers[controller.name] = controller

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the store and queue every existing object once."""
        for controller in self.controllers.values():
            self._unsubscribe.append(self.store.subscribe(controller.on_change,
                                                          controller.kinds))
        for controller in self.controllers.values():
            for key in controller.initial_keys():
                self.enqueue(controller.name, key)
        if self.horizontal is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                log.warning("no event loop: the HPA controller is not started")
            else:
                self.horizontal.start()

    async def stop(self) -> None:
        """Unsubscribe and stop every local process this manager started."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._queue.clear()
        self._queued.clear()
        for controller in self.controllers.values():
            controller.stop()
        if self.horizontal is not None:
            await self.horizontal.stop()
        if self.local is not None:
            await self.local.aclose()

    # -- the queue ---------------------------------------------------------------------------
    def enqueue(self, controller: str, key: Key) -> None:
        item = (controller, key)
        if item in self._queued:
            return
        self._queued.add(item)
        self._queue.append(item)
        if self._scheduled or self._draining:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the caller drains with run_until_idle()
        self._scheduled = True
        loop.call_soon(self._drain_soon)

    def _drain_soon(self) -> None:
        self._scheduled = False
        self.run_until_idle()

    def run_until_idle(self, limit: int = 100_000) -> int:
        """Process queued keys (and the keys they queue) until none is left; returns the
        number of syncs. ``limit`` guards against two controllers fighting forever."""
        if self._draining:
            return 0
        self._draining = True
        done = 0
        failures: dict[tuple[str, Key], int] = {}
        try:
            while self._queue and done < limit:
                item = self._queue.popleft()
                self._queued.discard(item)
                name, key = item
                controller = self.controllers.get(name)
                if controller is None:
                    continue
                done += 1
                try:
                    controller.sync(key)
                except Exception as exc:
                    count = failures.get(item, 0) + 1
                    failures[item] = count
                    log.warning("%s controller: syncing %s/%s failed: %s", name, key[0],
                                key[1], exc, exc_info=log.isEnabledFor(logging.DEBUG))
                    self.errors.append((name, key, str(exc)))
                    del self.errors[:-100]  # the latest failures, for tests and debugging
                    if count < MAX_ATTEMPTS:
                        self.enqueue(name, key)
            if done >= limit:
                log.error("controllers did not settle after %d syncs", limit)
        finally:
            self._draining = False
        return done

    async def settle(self) -> None:
        """Wait until the queue is empty and local processes being stopped are gone."""
        while True:
            self.run_until_idle()
            await asyncio.sleep(0)
            if self._queue:
                continue
            if self.local is not None and self.local._stopping:
                await self.local.wait_stopped()
                continue
            return

    @property
    def idle(self) -> bool:
        return not self._queue

    def controller(self, name: str) -> Controller:
        return self.controllers[name]

    def names(self) -> Iterable[str]:
        return list(self.controllers)
