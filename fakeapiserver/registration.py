"""The fakekubelet fleet registered into the control plane: Nodes, Pods and kubelet auth.

Why: metricsd finds kubelets exactly as metrics-server does — Node objects (addresses,
``daemonEndpoints.kubeletEndpoint.Port``, allocatable) from an informer, pods from a metadata
informer — and the kubelets ask the control plane who a caller is (TokenReview) and whether it
may read ``nodes/metrics`` (SubjectAccessReview). This module keeps Node and Pod objects in
the store in step with a fakekubelet ``Cluster`` (so churn appears as watch events) and gives
the kubelets a :class:`ControlPlaneReviewer` backed by the control plane's authenticators and
RBAC.

The cluster model is read by duck typing (attribute names tried in order, dicts accepted),
so this module depends only on the shape of the model, not on its classes. Registration is a
reconcile: on each cluster event (debounced) the desired objects are computed and only the
ones whose content changed are written, so a burst of events costs one pass and watchers see
one event per real change.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from fakeapiserver.rbac import Attributes, UserInfo
from fakekubelet.passes import PassRunner

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """The first present attribute (or mapping key) among ``names``."""
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if callable(value) and not isinstance(value, type):
            with contextlib.suppress(TypeError):
                value = value()
        if value is not None:
            return value
    return default


def _ts(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if float(value) <= 0:  # unset in the model
        return None
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_quantity(value: Any) -> str:
    """Cores (number) or a quantity string → a Kubernetes quantity (``4``, ``1500m``)."""
    if isinstance(value, str):
        return value
    v = float(value)
    if v == int(v):
        return str(int(v))
    return f"{round(v * 1000)}m"


def memory_quantity(value: Any) -> str:
    """Bytes (number) or a quantity string → ``16Gi`` / ``123456Ki`` / bytes."""
    if isinstance(value, str):
        return value
    v = int(value)
    for suffix, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if v and v % size == 0:
            return f"{v // size}{suffix}"
    return str(v)


def resource_list(value: Any) -> Obj:
    """A ResourceList from a dict or an object with cpu/memory/pods (numbers or strings)."""
    if value is None:
        return {}
    quantities = getattr(value, "quantities", None)
    if callable(quantities):  # fakekubelet.model Capacity / Resources
        return {str(k): str(v) for k, v in quantities().items()}
    out: Obj = {}
    for key in ("cpu", "memory", "pods", "ephemeral-storage", "ephemeral_storage"):
        v = _get(value, key)
        if v is None:
            continue
        name = key.replace("_", "-")
        if name == "cpu":
            out[name] = cpu_quantity(v)
        elif name == "memory" or name == "ephemeral-storage":
            out[name] = memory_quantity(v)
        else:
            out[name] = str(v)
    return out


def node_object(node: Any, created: float | None = None) -> Obj:
    """The Node object a kubelet of this simulated node would register."""
    name = str(_get(node, "name"))
    address = str(_get(node, "internal_ip", "address", default=""))
    hostname = str(_get(node, "hostname", default=name))
    addresses = [{"type": "InternalIP", "address": address}] if address else []
    external = _get(node, "external_ip")
    if external:
        addresses.append({"type": "ExternalIP", "address": str(external)})
    addresses.append({"type": "Hostname", "address": hostname})
    version = str(_get(node, "kubelet_version", "version", default="v1.30.0"))
    if not version.startswith("v"):
        version = "v" + version
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        **{str(k): str(v) for k, v in (_get(node, "labels", default={}) or {}).items()},
    }
    capacity = resource_list(_get(node, "capacity"))
    allocatable = resource_list(_get(node, "allocatable")) or dict(capacity)
    ready = bool(_get(node, "ready", default=True))
    now = _ts(created) or _ts(_get(node, "created", "creation_time", "start_time"))
    cond = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "KubeletReady" if ready else "KubeletNotReady",
        "message": "kubelet is posting ready status"
        if ready
        else "kubelet stopped posting node status",
    }
    if now:
        cond["lastHeartbeatTime"] = now
        cond["lastTransitionTime"] = now
    meta: Obj = {"name": name, "labels": labels}
    if now:
        meta["creationTimestamp"] = now
    annotations = _get(node, "annotations")
    if isinstance(annotations, Mapping) and annotations:
        meta["annotations"] = {str(k): str(v) for k, v in annotations.items()}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta,
        "spec": {},
        "status": {
            "addresses": addresses,
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": [cond],
            "daemonEndpoints": {
                "kubeletEndpoint": {"Port": int(_get(node, "port", default=10250))}
            },
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "containerRuntimeVersion": "containerd://1.7.18",
                "kernelVersion": "6.1.0-fakekubelet",
                "osImage": "fakekubelet",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


def _container_obj(container: Any) -> Obj:
    out: Obj = {
        "name": str(_get(container, "name")),
        "image": str(_get(container, "image", default="registry.k8s.io/pause:3.9")),
    }
    resources: Obj = {}
    requests = resource_list(_get(container, "requests"))
    limits = resource_list(_get(container, "limits"))
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    out["resources"] = resources
    return out


def pod_object(pod: Any, node_name: str, host_ip: str) -> Obj:
    """The Pod object (spec + status) for a simulated pod on ``node_name``."""
    namespace = str(_get(pod, "namespace", default="default"))
    name = str(_get(pod, "name"))
    containers = list(_get(pod, "containers", default=[]) or [])
    init = list(_get(pod, "init_containers", default=[]) or [])
    sidecars = list(_get(pod, "sidecars", default=[]) or [])
    phase = str(_get(pod, "phase", default="Running"))
    created = _ts(_get(pod, "creation_time", "created"))
    start = _ts(_get(pod, "start_time", "started_at"))
    ip = str(_get(pod, "ip", "pod_ip", default="") or "")
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "labels": {str(k): str(v) for k, v in (_get(pod, "labels", default={}) or {}).items()},
    }
    if created:
        meta["creationTimestamp"] = created
    uid = _get(pod, "uid")
    if uid:
        meta["annotations"] = {"fakekubelet/uid": str(uid)}
    owner = _get(pod, "owner", "owner_name")
    if owner and _get(pod, "owner_kind", default="ReplicaSet"):
        owner_kind = str(_get(pod, "owner_kind", default="ReplicaSet"))
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1"
                if owner_kind in ("ReplicaSet", "DaemonSet", "StatefulSet")
                else "v1",
                "kind": owner_kind,
                "name": str(owner),
                "uid": f"owner-{namespace}-{owner}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    running = phase == "Running"
    statuses = []
    for c in containers:
        cname = str(_get(c, "name"))
        restarts = int(_get(c, "restart_count", "restarts", default=0) or 0)
        cstart = _ts(_get(c, "start_time", "started_at")) or start
        cstate = str(_get(c, "state", default="running" if running else "waiting"))
        waiting = "PodInitializing" if start and init else "ContainerCreating"
        state: Obj = (
            {"running": {"startedAt": cstart}}
            if running and cstate == "running"
            else {"waiting": {"reason": waiting}}
            if phase == "Pending" or cstate == "waiting"
            else {
                "terminated": {
                    "exitCode": 0 if phase == "Succeeded" else 1,
                    "reason": "Completed" if phase == "Succeeded" else "Error",
                }
            }
        )
        statuses.append(
            {
                "name": cname,
                "image": str(_get(c, "image", default="registry.k8s.io/pause:3.9")),
                "imageID": "",
                "containerID": f"containerd://{namespace}-{name}-{cname}",
                "ready": running and cstate == "running",
                "started": running and cstate == "running",
                "restartCount": restarts,
                "state": state,
                "lastState": {},
            }
        )
    status: Obj = {
        "phase": phase,
        "conditions": pod_conditions(pod, created, start, running, statuses),
        "hostIP": host_ip,
        "containerStatuses": statuses,
        "qosClass": "Burstable",
    }
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    if start:
        status["startTime"] = start
    spec: Obj = {"nodeName": node_name, "containers": [_container_obj(c) for c in containers]}
    if init or sidecars:
        spec["initContainers"] = [_container_obj(c) for c in init] + [
            {**_container_obj(c), "restartPolicy": "Always"} for c in sidecars
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def pod_conditions(
    pod: Any, created: str | None, start: str | None, running: bool, statuses: list[Obj]
) -> list[Obj]:
    """The pod's conditions with the model's transition times, in the kubelet's order.

    A pod the kubelet has not started yet (no ``start_time``) has only ``PodScheduled``, as a
    bound pod before its kubelet syncs it. Then ``PodReadyToStartContainers`` at the start,
    ``Initialized`` when the init containers are done, and ``ContainersReady``/``Ready`` at
    the model's last Ready transition (``ready_time``).
    """
    scheduled = _ts(_get(pod, "scheduled_time")) or created
    out: list[Obj] = []
    if start:
        initialized = _ts(_get(pod, "initialized_time"))
        ready = bool(_get(pod, "ready", default=running))
        ready_at = _ts(_get(pod, "ready_time")) or start
        phase = str(_get(pod, "phase", default="Running"))
        out.append(_condition("PodReadyToStartContainers", True, start))
        if initialized or not _get(pod, "init_containers"):
            out.append(_condition("Initialized", True, initialized or start))
        else:
            out.append(_condition("Initialized", False, start, "ContainersNotInitialized",
                                  "containers with incomplete status: ["
                                  + " ".join(str(_get(c, "name"))
                                             for c in _get(pod, "init_containers")) + "]"))
        if ready:
            out += [_condition(t, True, ready_at) for t in ("Ready", "ContainersReady")]
        else:
            reason = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
            unready = " ".join(s["name"] for s in statuses if not s["ready"])
            message = "" if reason == "PodCompleted" else (
                f"containers with unready status: [{unready}]")
            out += [_condition(t, False, ready_at, reason, message)
                    for t in ("Ready", "ContainersReady")]
    out.append(_condition("PodScheduled", True, scheduled))
    return out


def _condition(ctype: str, value: bool, since: str | None, reason: str = "",
               message: str = "") -> Obj:
    cond: Obj = {"type": ctype, "status": "True" if value else "False", "lastProbeTime": None}
    if since:
        cond["lastTransitionTime"] = since
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _pods_of(cluster: Any, node_name: str, node: Any) -> Iterable[Any]:
    pods = _get(node, "pods")
    if isinstance(pods, Mapping):
        return list(pods.values())
    if pods is not None:
        return list(pods)
    all_pods = _get(cluster, "pods", default={}) or {}
    values = all_pods.values() if isinstance(all_pods, Mapping) else all_pods
    return [p for p in values if str(_get(p, "node", "node_name", default="")) == node_name]


class FleetRegistration:
    """Keeps Node and Pod objects in the store in step with a fakekubelet cluster.

    Events that name a pod or a node (``PodAdded``/``PodUpdated``/``PodRemoved``,
    ``NodeAdded``/``NodeUpdated``/``NodeAddressChanged``/``NodeRemoved``, i.e. any event with a
    ``pod`` or ``node`` attribute) are applied incrementally; any other event triggers a full
    reconcile pass. Either way only objects whose content changed are written.
    """

    def __init__(
        self, store: Any, cluster: Any, node_port: Callable[[str], int] | None = None
    ) -> None:
        self.store = store
        self.cluster = cluster
        self._node_port = node_port
        self._written: dict[tuple[str, str, str], str] = {}
        self._pod_node: dict[tuple[str, str], str] = {}
        self._dirty_nodes: dict[str, Any] = {}  # name → node, or None when removed
        self._dirty_pods: dict[tuple[str, str], Any] = {}  # (ns, name) → pod or None
        self._full = False
        # a burst of events (a node with its pods) collapses into one pass
        self._passes = PassRunner(self._pass, name="fleet registration", log=log,
                                  yield_first=True)
        self._unsubscribe: Any = None
        self.passes = 0

    def start(self) -> None:
        self.sync()
        subscribe = getattr(self.cluster, "subscribe", None)
        if subscribe is not None:
            self._unsubscribe = subscribe(self._on_event)
        self._passes.start()

    async def stop(self) -> None:
        if callable(self._unsubscribe):
            with contextlib.suppress(Exception):
                self._unsubscribe()
        await self._passes.stop()

    def _on_event(self, *args: Any, **_kwargs: Any) -> None:
        event = args[0] if args else None
        removed = type(event).__name__.endswith("Removed")
        pod = getattr(event, "pod", None)
        node = getattr(event, "node", None)
        if pod is not None:
            key = (str(_get(pod, "namespace", default="default")), str(_get(pod, "name")))
            self._dirty_pods[key] = None if removed else pod
        elif node is not None:
            name = str(_get(node, "name"))
            self._dirty_nodes[name] = None if removed else node
            if not removed:
                for p in _pods_of(self.cluster, name, node):
                    key = (str(_get(p, "namespace", default="default")), str(_get(p, "name")))
                    self._dirty_pods[key] = p
        else:
            self._full = True
        self._passes.poke()

    def changed(self) -> None:
        """For callers that change the cluster without events: a full pass."""
        self._on_event()

    async def settled(self) -> None:
        """Wait until every change announced so far is in the store."""
        await self._passes.settled()

    async def _pass(self) -> None:
        if self._full:
            self._full = False
            self._dirty_nodes.clear()
            self._dirty_pods.clear()
            self.sync()
        else:
            self.apply_dirty()

    # -- desired objects ------------------------------------------------------------------
    def _node_obj(self, name: str, node: Any) -> Obj:
        obj = node_object(node)
        if self._node_port is not None:
            with contextlib.suppress(Exception):
                obj["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = int(
                    self._node_port(name)
                )
        return obj

    def _nodes(self) -> list[tuple[str, Any]]:
        nodes = _get(self.cluster, "nodes", default={}) or {}
        if isinstance(nodes, Mapping):
            return [(str(k), v) for k, v in nodes.items()]
        return [(str(_get(n, "name")), n) for n in nodes]

    def desired(self) -> dict[tuple[str, str, str], Obj]:
        out: dict[tuple[str, str, str], Obj] = {}
        for name, node in self._nodes():
            out[("nodes", "", name)] = self._node_obj(name, node)
            host_ip = str(_get(node, "internal_ip", "address", default=""))
            for pod in _pods_of(self.cluster, name, node):
                pobj = pod_object(pod, name, host_ip)
                meta = pobj["metadata"]
                out[("pods", meta["namespace"], meta["name"])] = pobj
        return out

    # -- writes ---------------------------------------------------------------------------
    def _write(self, key: tuple[str, str, str], obj: Obj) -> None:
        kind, ns, name = key
        text = json.dumps(obj, sort_keys=True)
        if self._written.get(key) == text:
            return
        if kind == "pods" and ns and self.store.try_get("namespaces", ns) is None:
            with contextlib.suppress(Exception):
                self.store.create("namespaces", {"metadata": {"name": ns}})
        try:
            self.store.replace(kind, obj)
        except Exception as exc:
            log.warning("cannot register %s %s/%s: %s", kind, ns, name, exc)
            return
        self._written[key] = text
        if kind == "pods":
            self._pod_node[(ns, name)] = str((obj.get("spec") or {}).get("nodeName") or "")

    def _delete(self, key: tuple[str, str, str]) -> None:
        kind, ns, name = key
        if self._written.pop(key, None) is None:
            return
        with contextlib.suppress(Exception):
            self.store.delete(kind, name, ns or None)
        if kind == "pods":
            self._pod_node.pop((ns, name), None)

    def sync(self) -> None:
        """A full reconcile pass: create/update changed objects, delete vanished ones."""
        self.passes += 1
        want = self.desired()
        for key in [k for k in self._written if k not in want]:
            self._delete(key)
        for key, obj in want.items():
            self._write(key, obj)

    def apply_dirty(self) -> None:
        """Apply the nodes and pods named by events since the last pass."""
        self.passes += 1
        nodes, self._dirty_nodes = self._dirty_nodes, {}
        pods, self._dirty_pods = self._dirty_pods, {}
        host_ips = {}
        for name, node in nodes.items():
            if node is None:
                self._delete(("nodes", "", name))
                for key, on in list(self._pod_node.items()):
                    if on == name and key not in pods:
                        self._delete(("pods", *key))
                continue
            self._write(("nodes", "", name), self._node_obj(name, node))
        for (ns, name), pod in pods.items():
            if pod is None:
                self._delete(("pods", ns, name))
                continue
            node_name = str(_get(pod, "node_name", "node", default="") or "")
            if node_name not in host_ips:
                node = dict(self._nodes()).get(node_name)
                host_ips[node_name] = str(
                    _get(node, "internal_ip", "address", default="") if node is not None else ""
                )
            self._write(("pods", ns, name), pod_object(pod, node_name, host_ips[node_name]))


class ControlPlaneReviewer:
    """The kubelets' TokenReview/SubjectAccessReview, answered by this control plane.

    Implements ``fakekubelet.auth.Reviewer``: tokens go through the control plane's
    authenticators (static tokens, service-account tokens), authorization through its
    authorizer (RBAC), exactly as a kubelet with webhook authn/authz would ask.
    """

    def __init__(self, server: Any) -> None:
        self.server = server

    async def authenticate_token(self, token: str) -> Any:
        from fakekubelet.auth import User

        user: UserInfo | None = await self.server.authenticator.authenticate_token(token)
        if user is None:
            return None
        return User(user.name, tuple(user.groups))

    async def authorize(
        self, user: Any, verb: str, resource: str, subresource: str, name: str
    ) -> tuple[bool, str]:
        groups = tuple(getattr(user, "groups", ()) or ())
        if "system:authenticated" not in groups and getattr(user, "name", "") != (
            "system:anonymous"
        ):
            groups = (*groups, "system:authenticated")
        attrs = Attributes(
            user=str(getattr(user, "name", "")),
            groups=groups,
            verb=verb,
            resource=resource,
            subresource=subresource,
            name=name,
        )
        decision = await self.server.authorize(attrs)
        return decision.allowed, decision.reason
