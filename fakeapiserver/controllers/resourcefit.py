"""kube-scheduler's ``NodeResourcesFit`` filter: a pod's requests against what a node has left.

Why a module of its own: the scheduler's other filters look at labels and taints; this one
does arithmetic over every pod bound to a node (the fleet's own pods included, as their
Node and Pod objects are in the store), with the API's rules for what a pod requests:

* a pod requests the larger of (its containers' requests summed, plus its sidecars') and
  (each init container's request plus the sidecars started before it), plus
  ``spec.overhead`` (``resourcehelper.PodRequests``; sidecars are init containers with
  ``restartPolicy: Always``);
* a node has ``status.allocatable`` minus the requests of every pod bound to it that is not
  finished (terminating pods still hold theirs);
* the reasons, in upstream's order and words: ``Too many pods``, ``Insufficient cpu``,
  ``Insufficient memory`` — all that apply, each counted in the FitError message. A
  resource the pod does not request never fails.

Quantities are read as apimachinery does (``MilliValue`` for CPU, ``Value`` for memory,
rounded up), with the fleet's quantity parser. An unparseable quantity counts as 0 (the API
server's validation rejects them on write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fakeapiserver.controllers.common import Obj, spec, status
from fakekubelet.quantity import cpu_millicores, memory_bytes

__all__ = ["NodeUsage", "Requests", "fit_reasons", "node_allocatable", "pod_requests"]

TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
#: reasons preemption could resolve by evicting lower-priority pods
RESOLVABLE = frozenset({TOO_MANY_PODS, INSUFFICIENT_CPU, INSUFFICIENT_MEMORY})


@dataclass(frozen=True)
class Requests:
    """CPU in millicores, memory in bytes."""

    cpu: int = 0
    memory: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.cpu + other.cpu, self.memory + other.memory)

    def max(self, other: Requests) -> Requests:
        return Requests(max(self.cpu, other.cpu), max(self.memory, other.memory))


def _quantity(value: Any, parse: Any) -> int:
    if value is None:
        return 0
    try:
        return int(parse(value))
    except ValueError:
        return 0


def resource_list(values: Mapping[str, Any] | None) -> Requests:
    values = values or {}
    return Requests(_quantity(values.get("cpu"), cpu_millicores),
                    _quantity(values.get("memory"), memory_bytes))


def _container_requests(container: Mapping[str, Any]) -> Requests:
    resources = container.get("resources") or {}
    requests = resources.get("requests")
    if requests is None:
        requests = resources.get("limits")  # the API defaults requests to limits
    return resource_list(requests if isinstance(requests, dict) else None)


def pod_requests(pod: Obj) -> Requests:
    """What the scheduler reserves for ``pod`` (the rules in the module docstring)."""
    s = spec(pod)
    total = Requests()
    for c in s.get("containers") or []:
        if isinstance(c, dict):
            total = total + _container_requests(c)
    sidecars = Requests()
    init_peak = Requests()
    for c in s.get("initContainers") or []:
        if not isinstance(c, dict):
            continue
        req = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            sidecars = sidecars + req
            init_peak = init_peak.max(sidecars)
        else:
            init_peak = init_peak.max(req + sidecars)
    total = (total + sidecars).max(init_peak)
    overhead = s.get("overhead")
    if isinstance(overhead, dict):
        total = total + resource_list(overhead)
    return total


@dataclass(frozen=True)
class NodeUsage:
    """What the pods bound to a node hold."""

    requested: Requests = Requests()
    pods: int = 0


def node_allocatable(node: Obj) -> tuple[Requests, int] | None:
    """``status.allocatable`` (capacity when unset): resources and pod slots; None for a
    node that reports neither (a Node object written by hand): no resource check there."""
    st = status(node)
    alloc = st.get("allocatable") or st.get("capacity")
    if not isinstance(alloc, dict):
        return None
    pods = _quantity(alloc.get("pods"), memory_bytes) if alloc.get("pods") is not None else 110
    return resource_list(alloc), pods


def usage_by_node(pods: Iterable[Obj], requests: Any = pod_requests) -> dict[str, NodeUsage]:
    """Requests and pod counts per node of the given (bound, unfinished) pods."""
    out: dict[str, NodeUsage] = {}
    for pod in pods:
        name = spec(pod).get("nodeName")
        if not name:
            continue
        prev = out.get(name, NodeUsage())
        out[name] = NodeUsage(prev.requested + requests(pod), prev.pods + 1)
    return out


def fit_reasons(pod_request: Requests, node: Obj, usage: NodeUsage) -> list[str]:
    """Why ``pod`` does not fit ``node`` (empty: it fits), in upstream's order."""
    have = node_allocatable(node)
    if have is None:
        return []
    alloc, slots = have
    reasons = []
    if usage.pods + 1 > slots:
        reasons.append(TOO_MANY_PODS)
    if pod_request.cpu > 0 and pod_request.cpu > alloc.cpu - usage.requested.cpu:
        reasons.append(INSUFFICIENT_CPU)
    if pod_request.memory > 0 and pod_request.memory > alloc.memory - usage.requested.memory:
        reasons.append(INSUFFICIENT_MEMORY)
    return reasons
