"""Server-side Table output (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

kubectl get prints what the server sends, so columns and cell formats follow kube-apiserver's
printers: column names (kubectl upper-cases them), priority 1 for ``-o wide`` extras, and
``<none>`` / ``<unknown>`` placeholders. Ages use kubectl's ``HumanDuration``.

Rows carry the object as ``PartialObjectMetadata`` (default), the full object
(``includeObject=Object``) or nothing (``None``); the object bytes are spliced in from the
store's cached encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .kinds import Kind
from .store import parse_rfc3339
from .watch import StoredObject, dumps

Obj = dict[str, Any]
Cell = str | int | float | bool | None


def human_duration(seconds: float) -> str:
    """kubectl's age format: ``45s``, ``2m25s``, ``12m``, ``3h5m``, ``20h``, ``5d3h``, ``2y3d``."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: str | None, now: float) -> str:
    ts = parse_rfc3339(timestamp)
    if ts is None:
        return "<unknown>"
    return human_duration(now - ts)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    format: str = ""
    priority: int = 0
    description: str = ""

    def definition(self) -> Obj:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description or self.name, "priority": self.priority}


RowFn = Callable[[Obj, float], list[Cell]]


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def _age(obj: Obj, now: float) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


def _none(value: Any) -> str:
    return str(value) if value not in (None, "", []) else "<none>"


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column("Age", description="CreationTimestamp is a timestamp representing the server "
             "time when this object was created.")


# ---------------------------------------------------------------------- pods
def pod_status_reason(pod: Obj) -> tuple[str, int, int, str | None]:
    """(STATUS, ready containers, restarts, last restart finishedAt) like kubectl's printPod."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or ""
    restarts = 0
    ready = 0
    last_restart: str | None = None

    def note_restart(cs: Obj) -> None:
        nonlocal restarts, last_restart
        restarts += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    init_specs = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        note_restart(cs)
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing:
        restarts = 0
        last_restart = None
        for cs in status.get("initContainerStatuses") or []:
            note_restart(cs)
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            note_restart(cs)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = (f"Signal:{term['signal']}" if term.get("signal")
                          else f"ExitCode:{term.get('exitCode', 0)}")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            conds = status.get("conditions") or []
            is_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
            reason = "Running" if is_ready else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, restarts, last_restart


def _pod_row(pod: Obj, now: float) -> list[Cell]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    reason, ready, restarts, last = pod_status_reason(pod)
    restarts_cell: Cell = restarts
    if last is not None:
        restarts_cell = f"{restarts} ({since(last, now)} ago)"
    gates = spec.get("readinessGates") or []
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    gates_cell = "<none>"
    if gates:
        true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_cell = f"{true}/{len(gates)}"
    return [
        _meta(pod).get("name", ""),
        f"{ready}/{len(spec.get('containers') or [])}",
        reason,
        restarts_cell,
        _age(pod, now),
        _none(status.get("podIP")),
        _none(spec.get("nodeName")),
        _none(status.get("nominatedNodeName")),
        gates_cell,
    ]


POD_COLUMNS = [
    NAME,
    Column("Ready", description="The aggregate readiness state of this pod for accepting "
           "traffic."),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column("Restarts", type="string", description="The number of times the containers in this "
           "pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    Column("IP", priority=1, description="IP address allocated to the pod."),
    Column("Node", priority=1, description="Name of the Node this pod is assigned to."),
    Column("Nominated Node", priority=1, description="Name of the node nominated by the "
           "scheduler."),
    Column("Readiness Gates", priority=1, description="Readiness gates of the pod."),
]


# ---------------------------------------------------------------------- nodes
def node_status(node: Obj) -> str:
    conds = {c.get("type"): c.get("status") for c in
             (node.get("status") or {}).get("conditions") or []}
    parts: list[str] = []
    if "Ready" in conds:
        parts.append("Ready" if conds["Ready"] == "True" else "NotReady")
    else:
        parts.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) if roles else "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return "<none>"


def _node_row(node: Obj, now: float) -> list[Cell]:
    info = (node.get("status") or {}).get("nodeInfo") or {}

    def unknown(key: str) -> str:
        return str(info.get(key) or "<unknown>")

    return [_meta(node).get("name", ""), node_status(node), node_roles(node), _age(node, now),
            str(info.get("kubeletVersion", "")), _node_address(node, "InternalIP"),
            _node_address(node, "ExternalIP"), unknown("osImage"), unknown("kernelVersion"),
            unknown("containerRuntimeVersion")]


NODE_COLUMNS = [
    NAME,
    Column("Status", description="The status of the node"),
    Column("Roles", description="The roles of the node"),
    AGE,
    Column("Version", description="Kubelet Version reported by the node."),
    Column("Internal-IP", priority=1, description="List of addresses reachable to the node."),
    Column("External-IP", priority=1, description="List of addresses reachable to the node."),
    Column("OS-Image", priority=1, description="OS Image reported by the node."),
    Column("Kernel-Version", priority=1, description="Kernel Version reported by the node."),
    Column("Container-Runtime", priority=1, description="Container Runtime Version reported by "
           "the node."),
]


# ---------------------------------------------------------------------- services & networking
def _selector_text(selector: Any) -> str:
    if not isinstance(selector, dict) or not selector:
        return "<none>"
    labels = selector.get("matchLabels") if "matchLabels" in selector else selector
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _service_row(svc: Obj, now: float) -> list[Cell]:
    spec = svc.get("spec") or {}
    svc_type = spec.get("type", "ClusterIP")
    cluster_ip = spec.get("clusterIP") or "<none>"
    external_ips = spec.get("externalIPs") or []
    if svc_type == "ClusterIP" or svc_type == "NodePort":
        external = ",".join(external_ips) if external_ips else "<none>"
    elif svc_type == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress] + external_ips
        external = ",".join(str(i) for i in ips if i) or "<pending>"
    elif svc_type == "ExternalName":
        external = spec.get("externalName", "")
    else:
        external = "<unknown>"
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}/{port.get('protocol', 'TCP')}"
        if port.get("nodePort"):
            text = f"{port.get('port')}:{port['nodePort']}/{port.get('protocol', 'TCP')}"
        ports.append(text)
    return [_meta(svc).get("name", ""), svc_type, cluster_ip, external,
            ",".join(ports) if ports else "<none>", _age(svc, now),
            _selector_text(spec.get("selector"))]


SERVICE_COLUMNS = [
    NAME,
    Column("Type", description="The type of the service."),
    Column("Cluster-IP", description="The IP address of the service."),
    Column("External-IP", description="The external IP addresses of the service."),
    Column("Port(s)", description="The ports the service listens on."),
    AGE,
    Column("Selector", priority=1, description="The label selector of the service."),
]


def _endpoints_text(pairs: list[str]) -> str:
    if not pairs:
        return "<none>"
    if len(pairs) > 3:
        return ",".join(pairs[:3]) + f" + {len(pairs) - 3} more..."
    return ",".join(pairs)


def _endpoints_row(ep: Obj, now: float) -> list[Cell]:
    pairs: list[str] = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or []
        for addr in subset.get("addresses") or []:
            if ports:
                pairs.extend(f"{addr.get('ip')}:{p.get('port')}" for p in ports)
            else:
                pairs.append(str(addr.get("ip")))
    return [_meta(ep).get("name", ""), _endpoints_text(pairs), _age(ep, now)]


def _endpointslice_row(es: Obj, now: float) -> list[Cell]:
    ports = [str(p.get("port")) for p in es.get("ports") or [] if p.get("port") is not None]
    addrs = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [_meta(es).get("name", ""), es.get("addressType", ""),
            ",".join(ports) if ports else "<unset>", _endpoints_text(addrs)
            if addrs else "<unset>", _age(es, now)]


# ---------------------------------------------------------------------- workloads
def _containers(template: Obj) -> tuple[str, str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return (",".join(c.get("name", "") for c in containers) or "<none>",
            ",".join(c.get("image", "") for c in containers) or "<none>")


def _deployment_row(d: Obj, now: float) -> list[Cell]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [_meta(d).get("name", ""),
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            int(status.get("updatedReplicas", 0)), int(status.get("availableReplicas", 0)),
            _age(d, now), names, images, _selector_text(spec.get("selector"))]


def _replicaset_row(rs: Obj, now: float) -> list[Cell]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(spec.get("template") or {})
    return [_meta(rs).get("name", ""), int(spec.get("replicas", 1)),
            int(status.get("replicas", 0)), int(status.get("readyReplicas", 0)),
            _age(rs, now), names, images, _selector_text(spec.get("selector"))]


_WORKLOAD_WIDE = [
    Column("Containers", priority=1, description="Names of each container in the template."),
    Column("Images", priority=1, description="Images referenced by each container in the "
           "template."),
    Column("Selector", priority=1, description="Label selector for pods."),
]
DEPLOYMENT_COLUMNS = [
    NAME,
    Column("Ready", description="Number of the pod with ready state"),
    Column("Up-to-date", type="integer", description="Total number of non-terminated pods "
           "targeted by this deployment that have the desired template spec."),
    Column("Available", type="integer", description="Total number of available pods (ready "
           "for at least minReadySeconds) targeted by this deployment."),
    AGE,
    *_WORKLOAD_WIDE,
]
REPLICASET_COLUMNS = [
    NAME,
    Column("Desired", type="integer", description="Number of desired pods."),
    Column("Current", type="integer", description="Number of actual replicas."),
    Column("Ready", type="integer", description="The number of ready replicas."),
    AGE,
    *_WORKLOAD_WIDE,
]


def _pdb_row(pdb: Obj, now: float) -> list[Cell]:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return [_meta(pdb).get("name", ""), str(spec.get("minAvailable", "N/A")),
            str(spec.get("maxUnavailable", "N/A")), int(status.get("disruptionsAllowed", 0)),
            _age(pdb, now)]


# ---------------------------------------------------------------------- apiservices
def apiservice_available(svc: Obj) -> str:
    for cond in (svc.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Available":
            if cond.get("status") == "True":
                return "True"
            return f"{cond.get('status', 'Unknown')} ({cond.get('reason', '')})"
    return "Unknown"


def _apiservice_row(svc: Obj, now: float) -> list[Cell]:
    ref = (svc.get("spec") or {}).get("service")
    service = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if isinstance(
        ref, dict) else "Local"
    return [_meta(svc).get("name", ""), service, apiservice_available(svc), _age(svc, now)]


# ---------------------------------------------------------------------- events
def _event_row(ev: Obj, now: float) -> list[Cell]:
    series = ev.get("series") or {}
    last = series.get("lastObservedTime") or ev.get("lastTimestamp") or ev.get("eventTime")
    first = ev.get("firstTimestamp") or ev.get("eventTime")
    obj = ev.get("involvedObject") or {}
    source = ev.get("source") or {}
    src = source.get("component") or ev.get("reportingComponent") or ""
    if source.get("host"):
        src = f"{src}, {source['host']}"
    count = int(series.get("count") or ev.get("count") or 1)
    return [since(last, now), ev.get("type", ""), ev.get("reason", ""),
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
            obj.get("fieldPath", ""), src, ev.get("message", ""), since(first, now), count,
            _meta(ev).get("name", "")]


EVENT_COLUMNS = [
    Column("Last Seen", description="Time when last event occurred"),
    Column("Type", description="Type of this event (Normal, Warning)."),
    Column("Reason", description="Reason why this event was generated."),
    Column("Object", description="Object this event is about."),
    Column("Subobject", priority=1, description="Subobject of the object."),
    Column("Source", priority=1, description="Component that generated the event."),
    Column("Message", description="A human-readable description of the status."),
    Column("First Seen", priority=1, description="Time when first event occurred"),
    Column("Count", type="integer", priority=1, description="Number of occurrences."),
    Column("Name", format="name", priority=1, description="Name of the event."),
]


# ---------------------------------------------------------------------- simple kinds
def _namespace_row(ns: Obj, now: float) -> list[Cell]:
    return [_meta(ns).get("name", ""), (ns.get("status") or {}).get("phase", ""), _age(ns, now)]


def _configmap_row(cm: Obj, now: float) -> list[Cell]:
    return [_meta(cm).get("name", ""), len(cm.get("data") or {}) + len(cm.get("binaryData")
                                                                      or {}), _age(cm, now)]


def _secret_row(s: Obj, now: float) -> list[Cell]:
    return [_meta(s).get("name", ""), s.get("type", ""), len(s.get("data") or {}),
            _age(s, now)]


def _sa_row(sa: Obj, now: float) -> list[Cell]:
    return [_meta(sa).get("name", ""), len(sa.get("secrets") or []), _age(sa, now)]


def _created_at_row(obj: Obj, now: float) -> list[Cell]:
    return [_meta(obj).get("name", ""), _meta(obj).get("creationTimestamp", "")]


def _subjects(binding: Obj, kind: str) -> str:
    out = []
    for s in binding.get("subjects") or []:
        if s.get("kind") != kind:
            continue
        out.append(f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount"
                   else str(s.get("name", "")))
    return ", ".join(out)


def _binding_row(b: Obj, now: float) -> list[Cell]:
    ref = b.get("roleRef") or {}
    return [_meta(b).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            _age(b, now), _subjects(b, "User"), _subjects(b, "Group"),
            _subjects(b, "ServiceAccount")]


def _lease_row(lease: Obj, now: float) -> list[Cell]:
    return [_meta(lease).get("name", ""), (lease.get("spec") or {}).get("holderIdentity", ""),
            _age(lease, now)]


# ---------------------------------------------------------------------- HPA
def _metric_value(metric: Obj, which: str) -> tuple[str, str | None, str]:
    """(type, resource name or None, formatted value) of one spec/status metric entry."""
    mtype = str(metric.get("type", ""))
    body = metric.get(mtype[0].lower() + mtype[1:] if mtype else "") or {}
    section = body.get(which) or {}
    name = body.get("name") if mtype in ("Resource", "ContainerResource") else None
    if "averageUtilization" in section:
        return mtype, name, f"{section['averageUtilization']}%"
    if "averageValue" in section:
        suffix = " (avg)" if mtype in ("External", "Object") else ""
        return mtype, name, f"{section['averageValue']}{suffix}"
    if "value" in section:
        return mtype, name, str(section["value"])
    return mtype, name, ""


def hpa_targets(hpa: Obj, named: bool) -> str:
    """TARGETS: ``cpu: 50%/80%`` (``named``) or ``50%/80%``; ``<unknown>`` when not measured."""
    specs = (hpa.get("spec") or {}).get("metrics") or []
    current = (hpa.get("status") or {}).get("currentMetrics") or []
    if not specs:
        return "<none>"
    parts = []
    for i, metric in enumerate(specs[:2]):
        mtype, name, target = _metric_value(metric, "target")
        if mtype not in ("Resource", "ContainerResource", "Pods", "Object", "External"):
            parts.append("<unknown type>")
            continue
        cur = "<unknown>"
        if i < len(current) and current[i].get("type") == mtype:
            cur = _metric_value(current[i], "current")[2] or "<unknown>"
        if mtype in ("External", "Object"):
            cur = cur.replace(" (avg)", "")
            text = f"{cur}/{target}"
        else:
            text = f"{cur}/{target or '<auto>'}"
        if named and name:
            text = f"{name}: {text}"
        parts.append(text)
    out = ", ".join(parts)
    if len(specs) > 2:
        out += f" + {len(specs) - 2} more..."
    return out


def _hpa_row_fn(named: bool) -> RowFn:
    def row(hpa: Obj, now: float) -> list[Cell]:
        spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
        ref = spec.get("scaleTargetRef") or {}
        return [_meta(hpa).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
                hpa_targets(hpa, named), str(spec.get("minReplicas", "<unset>")),
                int(spec.get("maxReplicas", 0)), int(status.get("currentReplicas", 0)),
                _age(hpa, now)]

    return row


HPA_COLUMNS = [
    NAME,
    Column("Reference", description="Reference to the target resource."),
    Column("Targets", description="Current and target metric values."),
    Column("MinPods", description="Lower limit for the number of pods."),
    Column("MaxPods", type="integer", description="Upper limit for the number of pods."),
    Column("Replicas", type="integer", description="Current number of replicas."),
    AGE,
]
#: First emulated version whose TARGETS cells carry the resource name (``cpu: 50%/80%``):
#: kubernetes PR #122804, "Added metric name along with the utilization information when
#: running kubectl get hpa", released in v1.30.0-alpha.2 (CHANGELOG-1.30); 1.29 prints
#: ``50%/80%``.
HPA_NAMED_TARGETS_SINCE = (1, 30)


def _default_row(obj: Obj, now: float) -> list[Cell]:
    return [_meta(obj).get("name", ""), _age(obj, now)]


_BINDING_COLUMNS = [
    NAME, Column("Role", description="Role"), AGE,
    Column("Users", priority=1, description="Users in the roleBinding"),
    Column("Groups", priority=1, description="Groups in the roleBinding"),
    Column("ServiceAccounts", priority=1, description="ServiceAccounts in the roleBinding"),
]
_CREATED_AT = [NAME, Column("Created At", type="date", description="Creation time")]

PRINTERS: dict[str, tuple[list[Column], RowFn]] = {
    "/pods": (POD_COLUMNS, _pod_row),
    "/nodes": (NODE_COLUMNS, _node_row),
    "/services": (SERVICE_COLUMNS, _service_row),
    "/endpoints": ([NAME, Column("Endpoints", description="Endpoints of the service"), AGE],
                   _endpoints_row),
    "discovery.k8s.io/endpointslices": ([
        NAME, Column("AddressType"), Column("Ports"), Column("Endpoints"), AGE],
        _endpointslice_row),
    "/namespaces": ([NAME, Column("Status", description="The status of the namespace"), AGE],
                    _namespace_row),
    "/configmaps": ([NAME, Column("Data", type="string"), AGE], _configmap_row),
    "/secrets": ([NAME, Column("Type"), Column("Data", type="string"), AGE], _secret_row),
    "/serviceaccounts": ([NAME, Column("Secrets", type="string"), AGE], _sa_row),
    "/events": (EVENT_COLUMNS, _event_row),
    "apps/deployments": (DEPLOYMENT_COLUMNS, _deployment_row),
    "apps/replicasets": (REPLICASET_COLUMNS, _replicaset_row),
    "policy/poddisruptionbudgets": ([
        NAME, Column("Min Available"), Column("Max Unavailable"),
        Column("Allowed Disruptions", type="integer"), AGE], _pdb_row),
    "apiregistration.k8s.io/apiservices": ([
        NAME, Column("Service", description="The reference to the service that hosts this "
                     "API endpoint."),
        Column("Available", description="Whether this service is available."), AGE],
        _apiservice_row),
    "rbac.authorization.k8s.io/roles": (_CREATED_AT, _created_at_row),
    "rbac.authorization.k8s.io/clusterroles": (_CREATED_AT, _created_at_row),
    "rbac.authorization.k8s.io/rolebindings": (_BINDING_COLUMNS, _binding_row),
    "rbac.authorization.k8s.io/clusterrolebindings": (_BINDING_COLUMNS[:3], _binding_row),
    "coordination.k8s.io/leases": ([NAME, Column("Holder"), AGE], _lease_row),
}
DEFAULT_PRINTER: tuple[list[Column], RowFn] = ([NAME, AGE], _default_row)


def printer_for(kind: Kind, kube_version: tuple[int, int] = (1, 30)
                ) -> tuple[list[Column], RowFn]:
    """Columns and row function for a kind; register more in :data:`PRINTERS`."""
    if kind.key == "autoscaling/horizontalpodautoscalers":
        return HPA_COLUMNS, _hpa_row_fn(kube_version >= HPA_NAMED_TARGETS_SINCE)
    return PRINTERS.get(kind.key, DEFAULT_PRINTER)


def _row_object(stored: StoredObject, include: str) -> bytes | None:
    if include == "None":
        return None
    if include == "Object":
        return stored.raw
    return stored.metadata_raw


def row_bytes(kind: Kind, stored: StoredObject, now: float, include: str = "Metadata",
              kube_version: tuple[int, int] = (1, 30)) -> bytes:
    columns, row_fn = printer_for(kind, kube_version)
    cells = row_fn(stored.obj, now)[: len(columns)]
    obj = _row_object(stored, include)
    out = b'{"cells":' + dumps(cells)
    if obj is not None:
        out += b',"object":' + obj
    return out + b"}"


def table_bytes(kind: Kind, items: Iterable[StoredObject], now: float,
                resource_version: int | None = None, continue_token: str | None = None,
                include: str = "Metadata", api_version: str = "meta.k8s.io/v1",
                with_columns: bool = True, kube_version: tuple[int, int] = (1, 30)) -> bytes:
    """A whole Table document, built from the objects' cached encodings."""
    columns, _ = printer_for(kind, kube_version)
    meta: Obj = {}
    if resource_version is not None:
        meta["resourceVersion"] = str(resource_version)
    if continue_token:
        meta["continue"] = continue_token
    head: Obj = {"kind": "Table", "apiVersion": api_version, "metadata": meta}
    if with_columns:
        head["columnDefinitions"] = [c.definition() for c in columns]
    rows = b",".join(row_bytes(kind, s, now, include, kube_version) for s in items)
    return dumps(head)[:-1] + b',"rows":[' + rows + b"]}"
