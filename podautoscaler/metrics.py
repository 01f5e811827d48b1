"""The metrics client: what the controller reads from the metrics APIs and from pod specs.

Resource metrics come from one LIST of ``metrics.k8s.io/v1beta1`` PodMetrics per metric
(the case's ``podMetrics`` is that response, or the error text the client got). A pod's
usage is the sum over its containers in milli-units; a pod whose list of containers is empty
or where any container lacks the resource gets no metric at all (it becomes "missing"). For a
ContainerResource metric only the named container counts, and a pod without that container
(or without the resource in it) also gets no metric (kubernetes PR #127193).

Requests (the Utilization denominator) are per pod: the named container's request; else the
pod-level request when the ``PodLevelResources`` gate is on and the pod sets one; else the sum
over regular containers and ``restartPolicy: Always`` init containers (sidecars). One pod
without a request fails the whole metric, with upstream's text.

Pods and Object metrics read ``custom.metrics.k8s.io`` (``customMetrics``), External ones
``external.metrics.k8s.io`` (``externalMetrics``). When the case does not provide them the
APIs are "not registered", as in a cluster with metrics-server only, and the texts are the
ones users see there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import gotime
from .goarith import MAX_INT64
from .model import Container, MetricValue, Pod, PodMetrics

__all__ = [
    "MetricsError",
    "PodMetric",
    "external_metric",
    "object_metric",
    "pod_requests",
    "pods_custom_metric",
    "resource_metric",
]

CUSTOM_NOT_REGISTERED = "no custom metrics API (custom.metrics.k8s.io) registered"
POD_LEVEL_RESOURCES = ("cpu", "memory")


class MetricsError(Exception):
    """A metric that cannot be read; ``str()`` is the text upstream's client returns."""


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units
    timestamp: int
    window: int


@dataclass(frozen=True)
class ResourceMetrics:
    by_pod: dict[str, PodMetric]
    timestamp: int  # the first item's, as upstream returns (and only logs)
    dropped: dict[str, str]  # pods whose entry gave no metric, and why
    items: int


def resource_metric(response: Sequence[PodMetrics] | str, resource: str,
                    container: str) -> ResourceMetrics:
    """``GetResourceMetric``: per-pod usage of ``resource`` (whole pod or one container)."""
    if isinstance(response, str):
        raise MetricsError(f"unable to fetch metrics from resource metrics API: {response}")
    if not response:
        raise MetricsError("no metrics returned from resource metrics API")
    by_pod: dict[str, PodMetric] = {}
    dropped: dict[str, str] = {}
    for item in response:
        value: int | None = None
        dropped_reason = ""
        if container:
            found = [c for c in item.containers if c.name == container]
            if not found:
                dropped_reason = f"container {container} is not in its PodMetrics"
            elif resource not in found[0].usage:
                dropped_reason = f"container {container} reports no {resource} usage"
            else:
                value = found[0].usage[resource].milli()
        elif not item.containers:
            dropped_reason = "its PodMetrics lists no containers"
        else:
            lacking = [c.name for c in item.containers if resource not in c.usage]
            if lacking:
                dropped_reason = f"container {lacking[0]} reports no {resource} usage"
            else:
                value = sum(c.usage[resource].milli() for c in item.containers)
        if value is None:
            if item.name not in by_pod:  # a later bad duplicate leaves the earlier value
                dropped[item.name] = dropped_reason
        else:
            by_pod[item.name] = PodMetric(value, item.timestamp, item.window)
            dropped.pop(item.name, None)
    return ResourceMetrics(by_pod, response[0].timestamp, dropped, len(response))


def _restartable(c: Container) -> bool:
    return c.restart_policy == "Always"


def _aggregate_container_requests(pod: Pod) -> dict[str, int]:
    """``AggregateContainerRequests``: containers + sidecars, max'd with each init step."""
    reqs: dict[str, int] = {}
    for c in pod.containers:
        for name, q in c.requests.items():
            reqs[name] = reqs.get(name, 0) + q.milli()
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in pod.init_containers:
        step: dict[str, int]
        if _restartable(c):
            for name, q in c.requests.items():
                reqs[name] = reqs.get(name, 0) + q.milli()
                sidecars[name] = sidecars.get(name, 0) + q.milli()
            step = dict(sidecars)
        else:
            step = {name: q.milli() for name, q in c.requests.items()}
            for name, v in sidecars.items():
                step[name] = step.get(name, 0) + v
        for name, v in step.items():
            if name not in init_max or v > init_max[name]:
                init_max[name] = v
    for name, v in init_max.items():
        if name not in reqs or v > reqs[name]:
            reqs[name] = v
    return reqs


def _pod_level_request(pod: Pod, resource: str) -> int:
    reqs = _aggregate_container_requests(pod)
    for name, q in (pod.pod_requests or {}).items():
        if name in POD_LEVEL_RESOURCES or name.startswith("hugepages-"):
            reqs[name] = q.milli()
    for name, q in pod.overhead.items():
        reqs[name] = reqs.get(name, 0) + q.milli()
    if resource not in reqs:
        raise MetricsError(f"missing pod-level request for {resource} in Pod {pod.name}")
    return reqs[resource]


def uses_pod_level_requests(pod: Pod, container: str, gate: bool) -> bool:
    return bool(gate and not container and pod.pod_requests and any(
        name in POD_LEVEL_RESOURCES or name.startswith("hugepages-")
        for name in pod.pod_requests))


def _container_request(pod: Pod, container: str, resource: str) -> int:
    counted = list(pod.containers) + [c for c in pod.init_containers if _restartable(c)]
    total = 0
    for c in counted:
        if not container or container == c.name:
            if resource not in c.requests:
                raise MetricsError(f"missing request for {resource} in container {c.name} "
                                   f"of Pod {pod.name}")
            total += c.requests[resource].milli()
        if container == c.name:
            return total
    if container:
        raise MetricsError(f"container {container} not found in Pod {pod.name}")
    return total


def pod_requests(pods: Sequence[Pod], container: str, resource: str,
                 pod_level_gate: bool) -> dict[str, int]:
    """``calculateRequests``: the request of every listed pod, in milli-units."""
    out: dict[str, int] = {}
    for pod in pods:
        if uses_pod_level_requests(pod, container, pod_level_gate):
            out[pod.name] = _pod_level_request(pod, resource)
        else:
            out[pod.name] = _container_request(pod, container, resource)
    return out


def _custom_prefix(custom: Sequence[MetricValue] | str | None) -> Sequence[MetricValue]:
    prefix = "unable to fetch metrics from custom metrics API: "
    if custom is None:
        raise MetricsError(prefix + CUSTOM_NOT_REGISTERED)
    if isinstance(custom, str):
        raise MetricsError(prefix + custom)
    return custom


def pods_custom_metric(custom: Sequence[MetricValue] | str | None,
                       metric: str) -> tuple[dict[str, PodMetric], int]:
    """``GetRawMetric``: a Pods metric per pod (window 1m when the value has none)."""
    values = [v for v in _custom_prefix(custom) if v.kind == "Pod" and v.metric == metric]
    if not values:
        raise MetricsError("no metrics returned from custom metrics API")
    out: dict[str, PodMetric] = {}
    for v in values:
        window = gotime.MINUTE if v.window is None else v.window * gotime.SECOND
        out[v.name] = PodMetric(v.value.milli(), v.timestamp, window)
    return out, values[0].timestamp


def object_metric(custom: Sequence[MetricValue] | str | None, metric: str,
                  described: Mapping[str, str]) -> tuple[int, int]:
    """``GetObjectMetric``: the one value for the described object."""
    values = [v for v in _custom_prefix(custom)
              if v.metric == metric and v.name == described.get("name", "")
              and v.kind.lower() == described.get("kind", "").lower()]
    if len(values) != 1:
        raise MetricsError("unable to fetch metrics from custom metrics API: the custom metrics "
                           f"API server returned {len(values)} results when we asked for "
                           "exactly one")
    return values[0].value.milli(), values[0].timestamp


def external_metric(external: Mapping[str, Sequence[MetricValue] | str] | str | None,
                    metric: str) -> tuple[list[int], int]:
    """``GetExternalMetric``: every series' value for ``metric``."""
    prefix = "unable to fetch metrics from external metrics API: "
    if external is None:
        raise MetricsError(prefix + "the server could not find the requested resource "
                           f"(get {metric}.external.metrics.k8s.io)")
    if isinstance(external, str):
        raise MetricsError(prefix + external)
    values = external.get(metric, ())
    if isinstance(values, str):
        raise MetricsError(prefix + values)
    if not values:
        raise MetricsError("no metrics returned from external metrics API")
    return [v.value.milli() for v in values], values[0].timestamp


def capped_sum(values: Sequence[int]) -> int:
    """External sums stop at MaxInt64 (upstream's overflow guard)."""
    total = 0
    for v in values:
        if v > 0 and total > MAX_INT64 - v:
            return MAX_INT64
        total += v
    return total
