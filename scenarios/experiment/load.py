"""The experiment's load: demand over time, split among the Ready pods (closed loop).

Demand is a shape over simulated time — any CPU shape of the fleet spec (constant, ramp,
step, sine, spike, points, a CSV trace: docs/fakekubelet-spec.md, "Shapes"), read by
fakekubelet's own parser — either directly in cores or in requests per second times a CPU
cost per request. Every ``everySeconds`` (and whenever a pod's readiness changes) the demand
is split equally among the Deployment's Ready pods, as a Service's endpoints would spread it;
each pod's serving container gets ``share + baseline``, capped by its CPU limit (a pod
cannot burn more than its limit: the rest is demand above capacity). A pod that has been
Ready and is not any more (terminating, failing its probe) gets the baseline. A pod that has
never been Ready is left alone: it uses what it uses while starting — the idle CPU of its
image profile or its ``sim.metricsd.io/cpu`` annotation (fakeapiserver's fleet templates;
default 1m), so ``sim.metricsd.io/cpu: 500m`` on the pod template is a start-up burst that
lasts until the pod turns Ready. ``noise`` multiplies the demand by ``1 + relative·N(0, 1)``
(≥ 0), drawn per interval from the experiment's seed, so it is the same in every variant.

So added pods lower per-pod usage once they are Ready, and a metric window that straddles a
readiness change shows it — the feedback loop the HPA acts on.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from typing import Any, Protocol

from scenarios.experiment.objects import Problems, Workload

__all__ = ["LoadDriver", "build_load", "load_problems"]

_KEYS = ("cores", "requestsPerSecond", "cpuPerRequest", "baseline", "noise", "everySeconds")


class LoadDriver(Protocol):
    """What the runner needs from a load model."""

    def demand(self, t: float) -> float: ...

    def start(self, cluster: Any) -> None: ...

    def stop(self) -> None: ...


def _shape(value: Any, path: str) -> tuple[Any, Problems]:
    """A fakekubelet CPU shape (its signal), or the problem at ``path``."""
    from fakekubelet.spec import SpecError, workload_from_dict

    try:
        return workload_from_dict({"cpu": value}).cpu, []
    except SpecError as err:
        sub = err.path.removeprefix("workload.cpu")
        reason = err.reason + (f" (expected {err.expected})" if err.expected else "")
        return None, [(path + sub, reason)]


def _amount(value: Any, path: str) -> tuple[float, Problems]:
    from podautoscaler.quantities import QuantityError, parse_quantity

    try:
        amount = float(parse_quantity(value).value)
    except QuantityError as err:
        return 0.0, [(path, f"expected a CPU amount such as 2m: {err}")]
    if amount < 0:
        return 0.0, [(path, "expected an amount >= 0")]
    return amount, []


def load_problems(spec: Any) -> Problems:
    """What is wrong with a ``load:`` mapping (paths inside it)."""
    if not isinstance(spec, dict):
        return [("", "expected a mapping with cores, or requestsPerSecond and cpuPerRequest")]
    unknown = [k for k in spec if k not in _KEYS]
    if unknown:
        return [(str(unknown[0]), f"unknown key; expected one of {', '.join(_KEYS)}")]
    out: Problems = []
    if ("cores" in spec) == ("requestsPerSecond" in spec):
        return [("", "give exactly one of cores, requestsPerSecond")]
    if "requestsPerSecond" in spec:
        if "cpuPerRequest" not in spec:
            return [("", "requestsPerSecond needs cpuPerRequest (CPU per request, e.g. 2m)")]
        out += _shape(spec["requestsPerSecond"], "requestsPerSecond")[1]
        out += _amount(spec["cpuPerRequest"], "cpuPerRequest")[1]
    else:
        if "cpuPerRequest" in spec:
            out.append(("cpuPerRequest", "only with requestsPerSecond"))
        out += _shape(spec["cores"], "cores")[1]
    if "baseline" in spec:
        out += _amount(spec["baseline"], "baseline")[1]
    noise = spec.get("noise")
    if noise is not None and (isinstance(noise, bool) or not isinstance(noise, int | float)
                              or not 0 <= noise <= 1):
        out.append(("noise", "expected a relative standard deviation between 0 and 1"))
    every = spec.get("everySeconds")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int | float)
                              or every <= 0):
        out.append(("everySeconds", "expected seconds > 0"))
    return out


class ClosedLoopLoad:
    """The model of the module docstring, driving one Deployment's pods in a SimCluster."""

    def __init__(self, spec: dict[str, Any], seed: int, workload: Workload,
                 serving_limit: float | None) -> None:
        if load_problems(spec):
            raise ValueError(f"load: {load_problems(spec)[0]}")
        if "cores" in spec:
            self.signal, _ = _shape(spec["cores"], "cores")
            self.per_request = 1.0
        else:
            self.signal, _ = _shape(spec["requestsPerSecond"], "requestsPerSecond")
            self.per_request, _ = _amount(spec["cpuPerRequest"], "cpuPerRequest")
        self.baseline = _amount(spec["baseline"], "baseline")[0] if "baseline" in spec else 0.001
        self.noise = float(spec.get("noise") or 0.0)
        self.every = float(spec.get("everySeconds") or 5.0)
        self.workload = workload
        self.limit = serving_limit
        self._rng = random.Random(seed * 1_000_003 + 17)
        self._factors: list[float] = []
        self.cluster: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending = False
        #: per-pod level last set (namespace/name → cores): drive only what changes
        self._levels: dict[str, float] = {}
        #: pods seen Ready at least once (by uid): the others are still starting
        self._served: set[str] = set()

    def _factor(self, index: int) -> float:
        while len(self._factors) <= index:
            self._factors.append(max(0.0, 1.0 + self.noise * self._rng.gauss(0.0, 1.0))
                                 if self.noise else 1.0)
        return self._factors[index]

    def demand(self, t: float) -> float:
        """Cores asked for at ``t`` (simulated seconds): the shape at the start of ``t``'s
        interval × that interval's noise factor (what the pods were driven with)."""
        index = max(0, math.floor(t / self.every + 1e-9))
        level = max(0.0, self.signal.value(index * self.every)) * self.per_request
        return level * self._factor(index)

    # -- driving ----------------------------------------------------------------------------
    def start(self, cluster: Any) -> None:
        self.cluster = cluster
        self._unsubscribe = cluster.store.subscribe(self._on_pod, ["pods"])
        cluster.every(self.every, lambda t: self.apply(), start=0)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_pod(self, change: Any) -> None:
        if change.new.namespace != self.workload.namespace or self._pending:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(self.apply)

    def _pods(self) -> tuple[list[str], list[str]]:
        """(Ready, no longer Ready) fleet pods of the Deployment, by namespace/name; pods
        never Ready yet are in neither (left to their start-up usage)."""
        labels = self.workload.labels
        fleet = self.cluster.cluster.pods
        ready, idle = [], []
        for stored in self.cluster.store.list_stored("pods", self.workload.namespace).items:
            pod = stored.obj
            meta = pod.get("metadata") or {}
            if not all((meta.get("labels") or {}).get(k) == v for k, v in labels.items()):
                continue
            key = f"{stored.namespace}/{stored.name}"
            if key not in fleet:
                continue  # not started by its kubelet yet (or gone)
            is_ready = not meta.get("deletionTimestamp") and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (pod.get("status") or {}).get("conditions") or [])
            uid = str(meta.get("uid", key))
            if is_ready:
                self._served.add(uid)
                ready.append(key)
            elif uid in self._served:
                idle.append(key)
        return ready, idle

    def apply(self) -> None:
        """Split the current demand among the Ready pods (drive only the changed levels)."""
        self._pending = False
        if self.cluster is None:
            return
        t = self.cluster.elapsed
        ready, idle = self._pods()
        demand = self.demand(t)
        share = demand / len(ready) if ready else 0.0
        levels = {key: share + self.baseline for key in ready}
        levels.update({key: self.baseline for key in idle})
        for key, level in levels.items():
            if self.limit is not None:
                level = min(level, self.limit)
            if self._levels.get(key) == level:
                continue
            namespace, name = key.split("/", 1)
            try:
                self.cluster.cluster.drive(namespace, name, cpu=level)
            except (KeyError, ValueError):
                continue  # removed meanwhile
            self._levels[key] = level
        for key in [k for k in self._levels if k not in levels]:
            del self._levels[key]


def _serving_limit(deployment: dict[str, Any]) -> float | None:
    """The CPU limit of the container the load drives (the first regular one)."""
    from podautoscaler.quantities import parse_quantity

    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec")
                  or {}).get("containers") or []
    limits = ((containers[0] if containers else {}).get("resources") or {}).get("limits") or {}
    return float(parse_quantity(limits["cpu"]).value) if "cpu" in limits else None


def build_load(spec: dict[str, Any], *, seed: int, workload: Workload,
               deployment: dict[str, Any] | None = None) -> ClosedLoopLoad:
    limit = _serving_limit(deployment) if deployment is not None else workload.cpu_limit
    return ClosedLoopLoad(spec, seed, workload, limit)
