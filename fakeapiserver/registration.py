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
from typing import Any

from fakeapiserver.podobjects import (  # noqa: F401 (cpu_quantity, memory_quantity: re-exported)
    _get,
    _ts,
    cpu_quantity,
    kubelet_status,
    memory_quantity,
    pod_object,
    resource_list,
)
from fakeapiserver.rbac import Attributes, UserInfo
from fakekubelet.passes import PassRunner

log = logging.getLogger(__name__)

Obj = dict[str, Any]


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

    Pods the control plane created and handed to the fleet (``adopted`` in the model, see
    ``controllers.fleetpods``) are the API's own objects: registration never creates or
    replaces them, it writes their status (``podobjects.kubelet_status``) and, once the fleet
    has removed the pod (terminated, or its node left), deletes the object with grace 0 —
    a kubelet's last word on a pod.
    """

    def __init__(
        self, store: Any, cluster: Any, node_port: Callable[[str], int] | None = None
    ) -> None:
        self.store = store
        self.cluster = cluster
        self._node_port = node_port
        self._written: dict[tuple[str, str, str], str] = {}
        self._adopted: dict[tuple[str, str], str] = {}  # adopted pods written: uid
        self._pod_node: dict[tuple[str, str], str] = {}
        self._dirty_nodes: dict[str, Any] = {}  # name → node, or None when removed
        self._dirty_pods: dict[tuple[str, str], Any] = {}  # (ns, name) → pod or None
        self._gone_adopted: dict[tuple[str, str], str] = {}  # removed from the fleet: uid
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
            if removed and _get(pod, "adopted"):
                self._gone_adopted[key] = str(_get(pod, "uid", default=""))
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
        self._delete_gone_adopted()
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
        """The Node objects and the fleet's own Pod objects (adopted pods aside)."""
        out: dict[tuple[str, str, str], Obj] = {}
        for name, node in self._nodes():
            out[("nodes", "", name)] = self._node_obj(name, node)
            host_ip = str(_get(node, "internal_ip", "address", default=""))
            for pod in _pods_of(self.cluster, name, node):
                if _get(pod, "adopted"):
                    continue
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

    def _adopted_now(self) -> dict[tuple[str, str, str], tuple[Any, str, str]]:
        out = {}
        for name, node in self._nodes():
            host_ip = str(_get(node, "internal_ip", "address", default=""))
            for pod in _pods_of(self.cluster, name, node):
                if _get(pod, "adopted"):
                    key = ("pods", str(_get(pod, "namespace", default="default")),
                           str(_get(pod, "name")))
                    out[key] = (pod, name, host_ip)
        return out

    def _write_adopted(self, key: tuple[str, str, str], pod: Any, node_name: str,
                       host_ip: str) -> None:
        """The kubelet's status of an adopted pod, into the API's own object."""
        _kind, ns, name = key
        uid = str(_get(pod, "uid", default=""))
        current = self.store.try_get("pods", name, ns)
        if current is None or (current.get("metadata") or {}).get("uid") != uid:
            return  # deleted (or replaced) meanwhile: the fleet-pod controller removes it
        new_status = kubelet_status(pod, node_name, host_ip, current)
        text = json.dumps(new_status, sort_keys=True)
        self._pod_node[(ns, name)] = node_name
        self._adopted[(ns, name)] = uid
        if self._written.get(key) == text:
            return

        def apply(obj: Obj) -> None:
            obj["status"] = new_status

        try:
            self.store.mutate("pods", name, ns, apply)
        except Exception as exc:
            log.warning("cannot write the status of pod %s/%s: %s", ns, name, exc)
            return
        self._written[key] = text

    def _delete_adopted(self, ns: str, name: str, uid: str) -> None:
        current = self.store.try_get("pods", name, ns)
        if current is not None and (current.get("metadata") or {}).get("uid") == uid:
            with contextlib.suppress(Exception):
                self.store.delete_stored("pods", name, ns, grace_seconds=0)

    def _delete_gone_adopted(self) -> None:
        gone, self._gone_adopted = self._gone_adopted, {}
        for (ns, name), uid in gone.items():
            self._delete_adopted(ns, name, uid)

    def _delete(self, key: tuple[str, str, str]) -> None:
        kind, ns, name = key
        if kind == "pods" and (ns, name) in self._adopted:
            self._written.pop(key, None)
            self._pod_node.pop((ns, name), None)
            self._delete_adopted(ns, name, self._adopted.pop((ns, name)))
            return
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
        adopted = self._adopted_now()
        gone = [("pods", *k) for k in self._adopted if ("pods", *k) not in adopted]
        for key in [k for k in self._written if k not in want and k not in adopted] + gone:
            self._delete(key)
        for key, obj in want.items():
            self._write(key, obj)
        for key, (pod, node_name, host_ip) in adopted.items():
            self._write_adopted(key, pod, node_name, host_ip)

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
            if _get(pod, "adopted"):
                self._write_adopted(("pods", ns, name), pod, node_name, host_ips[node_name])
            else:
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
