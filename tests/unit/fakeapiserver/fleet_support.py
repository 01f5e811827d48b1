"""An in-process simulated cluster for tests: a fakekubelet fleet on a virtual clock, a
store, the controllers (fleet pods included) and registration — no HTTP, no processes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fakeapiserver.controllers import ControllerManager, PodIPAllocator
from fakeapiserver.registration import FleetRegistration
from fakeapiserver.store import Store
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.images import ImageProfile
from fakekubelet.model import Capacity
from fakekubelet.spec import FleetSpec, NodeGroup

T0 = 1_711_467_600.0
NS = "default"
IMAGE = "registry.k8s.io/hpa-example"


@dataclass
class Sim:
    cluster: Cluster
    store: Store
    manager: ControllerManager
    registration: FleetRegistration

    async def settle(self) -> None:
        for _ in range(5):
            await self.manager.settle()
            await self.registration.settled()
            await self.manager.settle()
            for _ in range(5):
                await asyncio.sleep(0)  # tasks woken by the changes (a load driver) run

    async def advance(self, seconds: float) -> None:
        self.cluster.advance(seconds)
        await self.settle()

    def pods(self, prefix: str = "web-") -> list[dict[str, Any]]:
        return [p for p in self.store.list("pods", NS)
                if p["metadata"]["name"].startswith(prefix)]

    async def stop(self) -> None:
        await self.manager.stop()
        await self.registration.stop()


async def make_sim(nodes: int = 2, cpu_millicores: int = 1000, seed: int = 0,
                   profiles: tuple[ImageProfile, ...] | None = None) -> Sim:
    clock = VirtualClock(T0)
    if profiles is None:
        profiles = (ImageProfile(IMAGE + "*", startup_seconds=2.0, cpu=0.002,
                                 memory=12 << 20),)
    spec = FleetSpec(groups=(NodeGroup("node", count=nodes, pods=(),
                                       capacity=Capacity(cpu_millicores, 4 << 30, 110)),),
                     images=profiles, seed=seed)
    cluster = Cluster.from_spec(spec, clock)
    store = Store(clock=clock.now)
    store.create("namespaces", {"metadata": {"name": NS}})
    registration = FleetRegistration(store, cluster)
    registration.start()
    manager = ControllerManager(store, clock=clock.now, cluster=cluster, seed=seed,
                                allocator=PodIPAllocator("127.200.0.0/16",
                                                         is_free=lambda ip, p: True))
    manager.start()
    sim = Sim(cluster, store, manager, registration)
    await sim.settle()
    return sim


def deployment(replicas: int = 2, cpu: str = "200m", limit: str | None = "500m",
               **annotations: str) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": cpu}}
    if limit is not None:
        resources["limits"] = {"cpu": limit}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {
                         "metadata": {"labels": {"app": "web"}, "annotations": annotations},
                         "spec": {"terminationGracePeriodSeconds": 10, "containers": [{
                             "name": "php-apache", "image": IMAGE, "resources": resources,
                             "readinessProbe": {"initialDelaySeconds": 5, "periodSeconds": 10,
                                                "httpGet": {"path": "/", "port": 80}}}]}}}}
