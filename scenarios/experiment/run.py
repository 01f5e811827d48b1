"""Running one variant on accelerated time, and recording what happened.

Each variant gets a cluster of its own (``scenarios.simtime.SimCluster``: the fleet, the
control plane with its controllers — the HPA controller among them, with this variant's
flags — and metricsd's real MetricsServer at this variant's resolution, all on one virtual
clock) seeded alike, so two variants differ only in what the file says differs. The
Deployment and the HPA are created through the API at t = 0, as ``kubectl apply`` would; the
load model (``scenarios.load``, through :mod:`.load`) drives the pods' CPU from then on
(closed loop: demand split among the Ready pods, capped by their limits).

What is recorded is read from the control plane's store in-process, never through the
Metrics API (an observer must not add requests the HPA's own LISTs would queue behind):

* every ``sampleEvery`` simulated seconds, at quiescence, a :class:`~.series.Row` — demand,
  serving capacity, pods, ground-truth CPU per pod, the HPA's status (what it saw, desired
  and current replicas, conditions) and the Deployment's ``spec.replicas``;
* every write of the Deployment's ``spec.replicas`` (a rescale: exact instant, old, new);
* every Event recorded about the HPA, and Warning events in the namespace (e.g. the
  scheduler's ``FailedScheduling … Insufficient cpu``), each occurrence of an aggregated
  event counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scenarios.experiment.load import start_load
from scenarios.experiment.result import EventRecord, VariantResult
from scenarios.experiment.schema import Experiment, Variant
from scenarios.experiment.series import Row, samples_of
from scenarios.experiment.summary import ScaleEvent, pods_needed, summarize

__all__ = ["Recorder", "run_variant"]

HPA_KIND = "horizontalpodautoscalers.autoscaling"
#: ``progress(variant, simulated seconds, replicas)`` after each sample
Progress = Callable[[str, float, int], None]


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _cpu(text: object) -> float:
    from podautoscaler.quantities import parse_quantity

    return float(parse_quantity(text).value)


def _ready(pod: dict[str, Any]) -> bool:
    if _meta(pod).get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _conditions(hpa: dict[str, Any]) -> str:
    out = []
    for c in (hpa.get("status") or {}).get("conditions") or []:
        out.append(f"{c.get('type')}={c.get('status')}:{c.get('reason', '')}")
    return " ".join(out)


def _seen(hpa: dict[str, Any]) -> tuple[int | None, float | None]:
    """The first CPU Resource metric in status.currentMetrics: (utilization %, cores)."""
    for m in (hpa.get("status") or {}).get("currentMetrics") or []:
        if not isinstance(m, dict) or m.get("type") != "Resource":
            continue
        res = m.get("resource") or {}
        if res.get("name") != "cpu":
            continue
        current = res.get("current") or {}
        util = current.get("averageUtilization")
        avg = current.get("averageValue")
        return (int(util) if isinstance(util, int) else None,
                _cpu(avg) if avg is not None else None)
    return None, None


class Recorder:
    """Samples a running SimCluster for one variant (see the module docstring)."""

    def __init__(self, cluster: Any, variant: Variant, load: Any) -> None:
        self.c = cluster
        self.variant = variant
        self.load = load  # scenarios.load.spec.LoadSpec
        self.workload = variant.workload
        self.limit = _serving_limit(variant.deployment, load.container)
        self.hpa_name = str(_meta(variant.hpa).get("name", ""))
        self.rows: list[Row] = []
        self.scale_events: list[ScaleEvent] = []
        self.events: list[EventRecord] = []
        self._pending_events: list[EventRecord] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._event_counts: dict[str, int] = {}
        self._replicas: int | None = None
        store = cluster.store
        self.hpa_kind = store.kind(HPA_KIND)
        self._unsubscribe.append(store.subscribe(self._on_deployment, ["deployments"]))
        self._unsubscribe.append(store.subscribe(self._on_event, ["events"]))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- change listeners (synchronous, inside the store's write) -------------------------
    def _on_deployment(self, change: Any) -> None:
        new = change.new
        if (new.namespace, new.name) != (self.workload.namespace, self.workload.name):
            return
        if change.type == "DELETED":
            return
        replicas = int((new.obj.get("spec") or {}).get("replicas", 1))
        if self._replicas is not None and replicas != self._replicas:
            self.scale_events.append(ScaleEvent(self.c.elapsed, self._replicas, replicas))
        self._replicas = replicas

    def _on_event(self, change: Any) -> None:
        if change.type == "DELETED":
            return
        ev = change.new.obj
        involved = ev.get("involvedObject") or {}
        if involved.get("namespace", change.new.namespace) != self.workload.namespace:
            return
        about_hpa = (involved.get("kind"), involved.get("name")) == (
            "HorizontalPodAutoscaler", self.hpa_name)
        if not about_hpa and ev.get("type") != "Warning":
            return
        count = int(ev.get("count") or 1)
        key = change.new.name
        if self._event_counts.get(key, 0) >= count:
            return
        self._event_counts[key] = count
        record = EventRecord(
            t=self.c.elapsed, type=str(ev.get("type", "")), reason=str(ev.get("reason", "")),
            object=f"{involved.get('kind', '')}/{involved.get('name', '')}",
            message=str(ev.get("message", "")),
            source=str((ev.get("source") or {}).get("component", "")))
        self.events.append(record)
        self._pending_events.append(record)

    # -- samples ----------------------------------------------------------------------------
    def _pods(self) -> list[dict[str, Any]]:
        labels = self.workload.labels
        out = []
        for stored in self.c.store.list_stored("pods", self.workload.namespace).items:
            pod = stored.obj
            pod_labels = _meta(pod).get("labels") or {}
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if not finished and all(pod_labels.get(k) == v for k, v in labels.items()):
                out.append(pod)
        return out

    def _node_cpu(self, node: str) -> float:
        obj = self.c.store.try_get("nodes", node)
        alloc = ((obj or {}).get("status") or {}).get("allocatable") or {}
        return _cpu(alloc["cpu"]) if "cpu" in alloc else 0.0

    def _capacity(self, ready: list[dict[str, Any]]) -> float:
        """What the Ready pods can serve: the serving container's CPU limit less the load's
        baseline each (the load model's cap), or its node's allocatable CPU without one."""
        base = self.load.baseline_cpu
        if self.limit is not None:
            return max(0.0, self.limit - base) * len(ready)
        return sum(max(0.0, self._node_cpu(str((p.get("spec") or {}).get("nodeName", "")))
                       - base) for p in ready)

    def _cpu_per_pod(self, pods: list[dict[str, Any]]) -> tuple[float | None, float | None]:
        now = self.c.clock.now()
        fleet = self.c.cluster.pods
        values = []
        for p in pods:
            key = f"{_meta(p).get('namespace')}/{_meta(p).get('name')}"
            if key not in fleet:
                continue
            try:
                values.append(self.c.truth.cpu_cores(key, now))
            except (KeyError, ValueError):
                continue
        if not values:
            return None, None
        return sum(values) / len(values), max(values)

    def sample(self, t: float) -> Row:
        pods = self._pods()
        ready = [p for p in pods if _ready(p)]
        demand = self.load.demand_cores(t)
        target = self.variant.per_pod_target
        stored = self.c.store.try_get(self.hpa_kind, self.hpa_name, self.workload.namespace)
        hpa = stored or {}
        status = hpa.get("status") or {}
        util, avg = _seen(hpa)
        deployment = self.c.store.try_get("deployments", self.workload.name,
                                          self.workload.namespace) or {}
        mean, peak = self._cpu_per_pod(pods)
        events = " | ".join(f"{e.type} {e.reason}: {e.message}" for e in self._pending_events)
        self._pending_events.clear()
        row = Row(
            time_s=t,
            demand_cores=demand,
            capacity_cores=self._capacity(ready),
            needed_pods=None if target is None else pods_needed(demand, target),
            pods_total=len(pods),
            pods_ready=len(ready),
            cpu_mean_cores=mean,
            cpu_max_cores=peak,
            hpa_utilization_pct=util,
            hpa_average_cores=avg,
            desired_replicas=status.get("desiredReplicas"),
            current_replicas=status.get("currentReplicas"),
            spec_replicas=int((deployment.get("spec") or {}).get("replicas",
                                                                  self.workload.replicas)),
            conditions=_conditions(hpa),
            events=events,
        )
        self.rows.append(row)
        return row


def _serving_limit(deployment: dict[str, Any], container: str | None) -> float | None:
    """The CPU limit (cores) of the container the load drives (default: the first)."""
    containers = [c for c in (((deployment.get("spec") or {}).get("template") or {})
                              .get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
    chosen = next((c for c in containers if c.get("name") == container), None) if container \
        else (containers[0] if containers else None)
    limits = ((chosen or {}).get("resources") or {}).get("limits") or {}
    return _cpu(limits["cpu"]) if "cpu" in limits else None


async def _apply(cluster: Any, variant: Variant) -> None:
    """Create the namespace (if not default), the Deployment and the HPA, as kubectl would."""
    ns = variant.workload.namespace
    if ns != "default" and cluster.store.try_get("namespaces", ns) is None:
        await _create(cluster, "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await _create(cluster, f"/apis/apps/v1/namespaces/{ns}/deployments", variant.deployment)
    await _create(cluster, f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
                  variant.hpa)


async def _create(cluster: Any, path: str, body: dict[str, Any]) -> None:
    status, answer = await cluster.api.request("POST", path, body)
    if not 200 <= status < 300:
        message = answer.get("message", answer) if isinstance(answer, dict) else answer
        raise RuntimeError(f"creating {body.get('kind')} {_meta(body).get('name')}: "
                           f"{status}: {message}")


def controller_config(variant: Variant, kube_version: str) -> Any:
    from fakeapiserver.controllers.hpaconfig import HPAControllerConfig
    from fakeapiserver.discovery import parse_version

    gates = ""
    texts = {}
    for key, text in variant.controller.items():
        if key in ("--feature-gates", "featureGates"):
            gates = text
        else:
            texts[key] = text
    config = HPAControllerConfig.from_texts(texts, gates)
    config.validate(parse_version(kube_version))
    return config


async def record_variant(exp: Experiment, variant: Variant,
                         progress: Progress | None = None) -> VariantResult:
    """Run ``variant`` in a fresh SimCluster on the running SimEventLoop."""
    from scenarios.simtime import SimCluster

    wall0, cpu0 = time.perf_counter(), time.process_time()
    load = exp.load_spec
    async with SimCluster(exp.fleet, seed=exp.seed, resolution=variant.resolution,
                          metricsd_args=variant.metricsd_args, kube_version=exp.kube_version,
                          hpa=controller_config(variant, exp.kube_version),
                          probe_period=variant.probe_period) as c:
        recorder = Recorder(c, variant, load)
        driver = None
        try:
            await _apply(c, variant)
            driver = start_load(c, load)

            def sample(t: float) -> None:
                row = recorder.sample(t)
                if progress is not None:
                    progress(variant.name, t, row.spec_replicas)

            c.every(exp.sample_every, sample, start=0)
            await c.run_until(exp.duration)
            if not recorder.rows or recorder.rows[-1].time_s < exp.duration:
                sample(exp.duration)
        finally:
            recorder.close()
            if driver is not None:
                await driver.stop()
    summary = summarize(samples_of(recorder.rows), recorder.scale_events, exp.duration,
                        initial_replicas=variant.workload.replicas)
    return VariantResult(variant, recorder.rows, recorder.scale_events, recorder.events,
                         summary, wall_seconds=time.perf_counter() - wall0,
                         cpu_seconds=time.process_time() - cpu0)


def run_variant(exp: Experiment, variant: Variant, progress: Progress | None = None,
                loop: Any = None) -> VariantResult:
    """Run one variant in a virtual-time loop of its own (same start instant for all)."""
    from scenarios import simtime

    return simtime.run(record_variant(exp, variant, progress), loop=loop)
