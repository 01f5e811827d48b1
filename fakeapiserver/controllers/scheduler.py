"""Binding pending pods to nodes (kube-scheduler's filters that our manifests exercise), and
giving each bound pod a unique loopback pod IP.

Filters, in kube-scheduler's terms: ``NodeUnschedulable``, ``NodeName``, node readiness,
``NodeAffinity`` (``nodeSelector`` and required node affinity terms with ``In``/``NotIn``/
``Exists``/``DoesNotExist``), ``TaintToleration`` (``NoSchedule``/``NoExecute``) and required
``InterPodAntiAffinity`` / ``InterPodAffinity`` on any topology key (metrics-server's HA manifest
uses ``kubernetes.io/hostname``). Among the feasible nodes the choice is round-robin in name
order — deterministic, and spreads replicas the way scoring usually does. A pod that fits
nowhere stays ``Pending`` with ``PodScheduled=False`` (``Unschedulable``) and a
``FailedScheduling`` event in upstream's words, and is retried whenever a node or pod changes.

Pod IPs: a real kubelet's CNI gives the pod an address on the pod network; here the pod's
process must bind on this machine, so the address comes from a loopback block
(``127.200.0.0/16`` by default) and is written at bind time (``status.podIP``/``podIPs``),
unique among live pods and never a node's address. An address whose container ports are
already taken on this machine (another run sharing the block) is skipped.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fakeapiserver.controllers.common import (
    Controller,
    Enqueue,
    Key,
    Obj,
    event,
    meta,
    spec,
    status,
)
from fakeapiserver.controllers.resourcefit import (
    RESOLVABLE,
    NodeUsage,
    Requests,
    fit_reasons,
    pod_requests,
    usage_by_node,
)
from fakeapiserver.rbac import label_selector_matches
from fakeapiserver.store import rfc3339

log = logging.getLogger(__name__)

COMPONENT = "default-scheduler"
DEFAULT_POD_CIDR = "127.200.0.0/16"
ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"


def ports_free(ip: str, ports: Iterable[int]) -> bool:
    """True when every TCP port can be bound on ``ip`` now (no other process holds it)."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((ip, port))
            except OSError:
                return False
    return True


class PodIPAllocator:
    """Unique addresses from a loopback block; the first and last addresses are skipped.

    Addresses are handed out in order from offset ``start`` (wrapping around), so control
    planes sharing a block on one machine can begin at different places.
    """

    def __init__(self, cidr: str = DEFAULT_POD_CIDR,
                 is_free: Callable[[str, list[int]], bool] = ports_free, start: int = 1) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        if not net.is_loopback:
            raise ValueError(f"pod CIDR {cidr}: must be a loopback block (127.0.0.0/8)")
        if net.num_addresses < 4:
            raise ValueError(f"pod CIDR {cidr}: too small")
        self.network = net
        self.is_free = is_free
        self._next = (start - 1) % (net.num_addresses - 2) + 1

    def allocate(self, used: set[str], ports: list[int]) -> str | None:
        size = self.network.num_addresses - 2
        for _ in range(size):
            offset = self._next
            self._next = self._next % size + 1
            ip = str(self.network.network_address + offset)
            if ip in used:
                continue
            if ports and not self.is_free(ip, ports):
                continue
            return ip
        return None


def _node_ready(node: Obj) -> bool:
    for cond in status(node).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _requirement_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = expr.get("key", "")
    op = expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        try:
            have, want = int(labels[key]), int(values[0])
        except (KeyError, ValueError, IndexError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_affinity_matches(pod: Obj, node: Obj) -> bool:
    labels = meta(node).get("labels") or {}
    for key, value in (spec(pod).get("nodeSelector") or {}).items():
        if labels.get(key) != str(value):
            return False
    required = (((spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:  # terms are ORed, expressions ANDed
        exprs = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        name_ok = all(_requirement_matches(f, {"metadata.name": meta(node).get("name", "")})
                      for f in fields)
        if name_ok and all(_requirement_matches(e, labels) for e in exprs) and (exprs or fields):
            return True
    return False


def tolerates(pod: Obj, taint: Mapping[str, Any]) -> bool:
    for tol in spec(pod).get("tolerations") or []:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
            continue
        if tol.get("key") == taint.get("key") and (tol.get("value") or "") == (
                taint.get("value") or ""):
            return True
    return False


def untolerated_taint(pod: Obj, node: Obj) -> Obj | None:
    for taint in spec(node).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod, taint):
            return dict(taint)
    return None


def _term_namespaces(term: Mapping[str, Any], pod_ns: str) -> set[str] | None:
    """Namespaces a pod (anti-)affinity term looks at; None means all."""
    names = set(term.get("namespaces") or [])
    if term.get("namespaceSelector") is not None and not names:
        return None if not (term["namespaceSelector"] or {}) else names or None
    return names or {pod_ns}


def _term_matches_pod(term: Mapping[str, Any], pod_ns: str, other: Obj) -> bool:
    namespaces = _term_namespaces(term, pod_ns)
    if namespaces is not None and meta(other).get("namespace") not in namespaces:
        return False
    selector = term.get("labelSelector")
    if selector is None:
        return False
    return label_selector_matches(selector, meta(other).get("labels") or {})


def _required_terms(pod: Obj, kind: str) -> list[Obj]:
    affinity = (spec(pod).get("affinity") or {}).get(kind) or {}
    return list(affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or [])


class Scheduler(Controller):
    name = "scheduler"
    kinds = ("pods", "nodes")

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue,
                 allocator: PodIPAllocator | None = None,
                 scheduler_name: str = COMPONENT,
                 kube_version: tuple[int, int] = (1, 30)) -> None:
        super().__init__(store, clock, enqueue)
        self.allocator = allocator or PodIPAllocator()
        self.scheduler_name = scheduler_name
        self.kube_version = kube_version
        self._turn = 0
        self._unschedulable: set[Key] = set()
        self._requests: dict[tuple[str, str], tuple[str, Requests]] = {}

    # -- triggers ------------------------------------------------------------------------------
    def _wants(self, pod: Obj) -> bool:
        return (not spec(pod).get("nodeName")
                and (spec(pod).get("schedulerName") or COMPONENT) == self.scheduler_name
                and status(pod).get("phase", "Pending") == "Pending"
                and not meta(pod).get("deletionTimestamp"))

    def on_change(self, change: Any) -> None:
        if change.kind.plural == "pods":
            key = (change.new.namespace, change.new.name)
            if change.type == "DELETED":
                self._unschedulable.discard(key)
                self._requests.pop(key, None)
                self._retry()
            elif self._wants(change.new.obj):
                self.enqueue(key)
            elif change.old is not None and (spec(change.old.obj).get("nodeName") !=
                                             spec(change.new.obj).get("nodeName") or
                                             change.old.labels != change.new.labels or
                                             _finished(change.new.obj) !=
                                             _finished(change.old.obj)):
                self._retry()  # a pod moved, was relabelled or finished: it may fit now
        else:
            self._retry()

    def _retry(self) -> None:
        for key in sorted(self._unschedulable):
            self.enqueue(key)

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("pods").items
                if self._wants(s.obj)]

    # -- scheduling ----------------------------------------------------------------------------
    def sync(self, key: Key) -> None:
        ns, name = key
        pod = self.store.try_get("pods", name, ns)
        if pod is None or not self._wants(pod):
            self._unschedulable.discard(key)
            return
        nodes = sorted((s.obj for s in self.store.list_stored("nodes").items),
                       key=lambda n: meta(n)["name"])
        reasons: dict[str, int] = {}
        feasible = []
        resolvable = 0
        bound_pods = [s.obj for s in self.store.list_stored("pods").items
                      if spec(s.obj).get("nodeName") and meta(s.obj).get("uid") !=
                      meta(pod).get("uid") and not _finished(s.obj)]
        usage = usage_by_node(bound_pods, self._pod_requests)
        wanted = pod_requests(pod)
        for node in nodes:
            found = self.reasons(pod, node, nodes, bound_pods, wanted,
                                 usage.get(meta(node)["name"], NodeUsage()))
            if not found:
                feasible.append(node)
                continue
            for reason in found:
                reasons[reason] = reasons.get(reason, 0) + 1
            if all(r in RESOLVABLE or r == ANTI_AFFINITY for r in found):
                resolvable += 1
        if not feasible:
            self._fail(pod, len(nodes), reasons, resolvable)
            return
        chosen = feasible[self._turn % len(feasible)]
        self._turn += 1
        ports = [int(p.get("containerPort")) for c in spec(pod).get("containers") or []
                 for p in c.get("ports") or [] if p.get("containerPort")]
        used = {str(status(s.obj).get("podIP")) for s in self.store.list_stored("pods").items
                if status(s.obj).get("podIP")}
        used |= {str(a.get("address")) for n in nodes for a in status(n).get("addresses") or []
                 if a.get("address")}  # a kubelet may listen on a node address in the block
        ip = self.allocator.allocate(used, ports)
        if ip is None:
            self._fail(pod, len(nodes), {"no pod IP left in " + str(self.allocator.network): 1})
            return
        self._bind(pod, chosen, ip)
        self._unschedulable.discard(key)

    def _pod_requests(self, pod: Obj) -> Requests:
        """A bound pod's requests, remembered per resourceVersion (pod specs don't change)."""
        key = (meta(pod).get("namespace", ""), meta(pod).get("name", ""))
        uid = str(meta(pod).get("uid", ""))
        cached = self._requests.get(key)
        if cached is not None and cached[0] == uid:
            return cached[1]
        value = pod_requests(pod)
        self._requests[key] = (uid, value)
        return value

    def filter(self, pod: Obj, node: Obj, nodes: list[Obj], bound: list[Obj]) -> str | None:
        """None when the pod passes every filter but ``NodeResourcesFit`` on ``node``, else
        the scheduler's reason text."""
        return self.node_filter(pod, node) or self.affinity_filter(pod, node, nodes, bound)

    def reasons(self, pod: Obj, node: Obj, nodes: list[Obj], bound: list[Obj],
                wanted: Requests, usage: NodeUsage) -> list[str]:
        """Why ``pod`` cannot go to ``node`` (empty: it can), in the framework's filter
        order — node filters, ``NodeResourcesFit``, inter-pod (anti-)affinity — stopping at
        the first that fails, as upstream does."""
        why = self.node_filter(pod, node)
        if why is not None:
            return [why]
        fit = fit_reasons(wanted, node, usage)
        if fit:
            return fit
        why = self.affinity_filter(pod, node, nodes, bound)
        return [why] if why is not None else []

    @staticmethod
    def node_filter(pod: Obj, node: Obj) -> str | None:
        """NodeUnschedulable, node readiness, TaintToleration, NodeAffinity."""
        if spec(node).get("unschedulable"):
            return "node(s) were unschedulable"
        if not _node_ready(node):
            return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
        taint = untolerated_taint(pod, node)
        if taint is not None:
            value = taint.get("value") or ""
            return f"node(s) had untolerated taint {{{taint.get('key', '')}: {value}}}"
        if not node_affinity_matches(pod, node):
            return "node(s) didn't match Pod's node affinity/selector"
        return None

    @staticmethod
    def affinity_filter(pod: Obj, node: Obj, nodes: list[Obj], bound: list[Obj]) -> str | None:
        """InterPodAffinity: the pod's required (anti-)affinity and existing pods'."""
        by_name = {meta(n)["name"]: n for n in nodes}
        node_labels = meta(node).get("labels") or {}
        pod_ns = meta(pod).get("namespace", "")

        def same_domain(other: Obj, key: str) -> bool:
            other_node = by_name.get(spec(other).get("nodeName", ""))
            if other_node is None or key not in node_labels:
                return False
            return (meta(other_node).get("labels") or {}).get(key) == node_labels[key]

        for term in _required_terms(pod, "podAntiAffinity"):
            key = term.get("topologyKey", "")
            if any(_term_matches_pod(term, pod_ns, other) and same_domain(other, key)
                   for other in bound):
                return ANTI_AFFINITY
        for other in bound:  # existing pods' anti-affinity against this pod
            for term in _required_terms(other, "podAntiAffinity"):
                if _term_matches_pod(term, meta(other).get("namespace", ""), pod) and \
                        same_domain(other, term.get("topologyKey", "")):
                    return "node(s) didn't satisfy existing pods anti-affinity rules"
        for term in _required_terms(pod, "podAffinity"):
            key = term.get("topologyKey", "")
            matching = [o for o in bound if _term_matches_pod(term, pod_ns, o)]
            if matching and not any(same_domain(o, key) for o in matching):
                return "node(s) didn't match pod affinity rules"
        return None

    def _bind(self, pod: Obj, node: Obj, ip: str) -> None:
        node_name = meta(node)["name"]
        now = rfc3339(self.clock())
        host_ip = next((a.get("address") for a in status(node).get("addresses") or []
                        if a.get("type") == "InternalIP"), None)

        def apply(obj: Obj) -> None:
            obj.setdefault("spec", {})["nodeName"] = node_name
            st = obj.setdefault("status", {})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": now})
            st["conditions"] = conds
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
            if host_ip:
                st["hostIP"] = host_ip
                st["hostIPs"] = [{"ip": host_ip}]

        self.store.mutate("pods", meta(pod)["name"], meta(pod)["namespace"], apply)
        event(self.store, self.clock, pod, "Normal", "Scheduled",
              f"Successfully assigned {meta(pod)['namespace']}/{meta(pod)['name']} to "
              f"{node_name}", COMPONENT)

    def _fail(self, pod: Obj, node_count: int, reasons: dict[str, int],
              resolvable: int | None = None) -> None:
        key = (meta(pod)["namespace"], meta(pod)["name"])
        self._unschedulable.add(key)
        message = unschedulable_message(node_count, reasons, resolvable, self.kube_version)
        now = rfc3339(self.clock())
        cond = next((c for c in status(pod).get("conditions") or []
                     if c.get("type") == "PodScheduled"), None)
        if cond is not None and cond.get("message") == message:
            return

        def apply(obj: Obj) -> None:
            st = obj.setdefault("status", {})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                          "lastTransitionTime": now, "reason": "Unschedulable",
                          "message": message})
            st["conditions"] = conds

        self.store.mutate("pods", meta(pod)["name"], meta(pod)["namespace"], apply)
        event(self.store, self.clock, pod, "Warning", "FailedScheduling", message, COMPONENT)


def _finished(pod: Obj) -> bool:
    return status(pod).get("phase") in ("Succeeded", "Failed")


def unschedulable_message(node_count: int, reasons: Mapping[str, int],
                          resolvable: int | None = None,
                          kube_version: tuple[int, int] = (1, 30)) -> str:
    """kube-scheduler's FitError text: the reasons counted and sorted, then (1.24+) the
    default preemption plugin's summary — ``resolvable`` nodes (default: those failing only
    the pod's own anti-affinity) get "No preemption victims found for incoming pod" (no pod
    here has a lower priority to evict), the others "Preemption is not helpful for
    scheduling". The text differs by version, as upstream's did:

    * before 1.24 there is no preemption summary (kubernetes#107775 added it);
    * 1.25-1.27 end with ``..``: the FitError added its separator " %v." after the summary,
      which already ends with a period (kubernetes#110894, fixed by kubernetes#117588 in
      1.28);
    * 1.24 and 1.28+ end with one period.
    """
    if node_count == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    head = f"0/{node_count} nodes are available: {', '.join(parts)}."
    if kube_version < (1, 24):
        return head
    victims = reasons.get(ANTI_AFFINITY, 0) if resolvable is None else resolvable
    preemption = sorted(
        ([f"{victims} No preemption victims found for incoming pod"] if victims else [])
        + ([f"{node_count - victims} Preemption is not helpful for scheduling"]
           if node_count - victims else []))
    summary = f"preemption: 0/{node_count} nodes are available: {', '.join(preemption)}."
    if (1, 25) <= kube_version < (1, 28):
        return f"{head} {summary}."
    return f"{head} {summary}"
