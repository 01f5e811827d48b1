"""The experiment's load: the project's load model (``scenarios.load``) on its Deployment.

The ``load:`` mapping of an experiment is the load spec of scenario files (docs/scenarios.md,
"Load": requests/s × CPU per request or cores, shapes, baseline, memory, noise, interval)
with two conveniences — ``deployment`` and ``namespace`` default to the experiment's
Deployment (given, they must name it), and ``seed`` defaults to the experiment's seed, so
every variant sees the same noise — and one difference in what drives a pod:

a pod that has **never been Ready** is left to its own start-up usage instead of the load's
baseline: the idle CPU of its image profile or its ``sim.metricsd.io/cpu`` annotation
(fakeapiserver's fleet templates; default 1m, the same as the default baseline). So
``sim.metricsd.io/cpu: 400m`` on the pod template is a start-up burst — a JVM warming up —
that lasts until the pod first turns Ready, what the HPA's CPU initialization period and
initial readiness delay exist for. From its first Ready on, the pod is the driver's: its
share while Ready, the baseline when not (terminating).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scenarios.load.driver import ClusterSink, LoadDriver, PodView, StorePods
from scenarios.load.spec import LOAD, LoadSpec
from scenarios.yamlschema import Field, Int, Record, Str

__all__ = ["EXPERIMENT_LOAD", "StartedPods", "load_spec_for", "start_load"]

#: ``scenarios.load.spec.LOAD`` with ``deployment`` optional and no default ``seed``.
EXPERIMENT_LOAD = Record(
    {**LOAD.fields,
     "deployment": Field(Str(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "a Deployment name"),
                         doc="default: the experiment's Deployment"),
     "namespace": Field(Str(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "a namespace name"),
                        doc="default: the Deployment's"),
     "seed": Field(Int(), doc="default: the experiment's seed")},
    description="a load (docs/scenarios.md, Load)",
    check_extra=LOAD.check_extra,
)


def load_spec_for(value: dict[str, Any], deployment: str, namespace: str,
                  seed: int) -> LoadSpec:
    """The LoadSpec of a validated ``load:`` value on the experiment's Deployment."""
    full = dict(value)
    full["deployment"] = deployment
    full["namespace"] = namespace
    if full.get("seed") is None:
        full["seed"] = seed
    return LoadSpec.from_value(full)


class StartedPods:
    """The Deployment's pods as the driver should see them: without the pods that have never
    been Ready (they keep their start-up usage; see the module docstring)."""

    def __init__(self, pods: StorePods) -> None:
        self.inner = pods
        self.served: set[str] = set()  # uids seen Ready

    def pods(self) -> list[PodView]:
        out = []
        for view in self.inner.pods():
            if view.ready:
                self.served.add(view.uid)
            if view.uid in self.served:
                out.append(view)
        return out

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.inner.subscribe(callback)


def start_load(cluster: Any, spec: LoadSpec) -> LoadDriver:
    """Start the driver on a running SimCluster, its origin at the run's t = 0."""
    source = StartedPods(StorePods(cluster.store, spec.namespace, spec.deployment,
                                   spec.container))
    driver = LoadDriver(spec, cluster.clock, source, ClusterSink(cluster.cluster),
                        origin=cluster.clock.now() - cluster.elapsed)
    driver.start()
    return driver
