"""Service with a selector → Endpoints and EndpointSlices, from the pods' readiness.

What kube-controller-manager's endpoints and endpointslice controllers write, and what the
aggregation layer reads to decide ``MissingEndpoints`` (Endpoints before 1.33, EndpointSlices
after):

* Endpoints ``<service>`` (labels copied from the Service): pods with an IP that are Ready go
  to ``addresses``, the others to ``notReadyAddresses`` (all to ``addresses`` with
  ``publishNotReadyAddresses``); each address has ``ip``, ``nodeName`` and a ``targetRef``.
  Ports are the Service's, by name, with a named ``targetPort`` resolved against the pod's
  container ports (a pod without that port is left out of that port's subset, as upstream).
  Addresses with the same resolved ports share a subset; no pods → no ``subsets``.
* EndpointSlices ``<service>-<5 chars>`` (``discovery.k8s.io/v1``, ``addressType: IPv4``,
  labels ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io``, owned by the Service): one per distinct port set, each
  endpoint with ``conditions.ready``/``serving``/``terminating``; an empty placeholder slice
  when no pod matches.

Services without a selector are left alone (their Endpoints belong to whoever wrote them).
Objects are written only when their content changes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from fakeapiserver.controllers.common import (
    Controller,
    Enqueue,
    Key,
    Obj,
    meta,
    owner_reference,
    pod_ready,
    random_suffix,
    spec,
    status,
)

log = logging.getLogger(__name__)

SLICES = "endpointslices.discovery.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"


def resolve_target_port(service_port: Obj, pod: Obj) -> int | None:
    """``podutil.FindPort``: a number as is, a name via the pod's container ports."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str):
        if target.isdigit():
            return int(target)
        protocol = service_port.get("protocol") or "TCP"
        for container in spec(pod).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                    return int(port.get("containerPort") or 0) or None
    return None


def _selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _target_ref(pod: Obj) -> Obj:
    m = meta(pod)
    return {"kind": "Pod", "namespace": m.get("namespace", ""), "name": m.get("name", ""),
            "uid": m.get("uid", "")}


class EndpointsController(Controller):
    name = "endpoints"
    kinds = ("services", "pods")

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue,
                 rng: random.Random, write_slices: bool = True) -> None:
        super().__init__(store, clock, enqueue)
        self.rng = rng
        self.write_slices = write_slices

    # -- triggers ------------------------------------------------------------------------------
    def on_change(self, change: Any) -> None:
        ns = change.new.namespace
        if change.kind.plural == "services":
            self.enqueue((ns, change.new.name))
            return
        label_sets = [change.new.labels] + ([change.old.labels] if change.old else [])
        for svc in self.store.list_stored("services", ns).items:
            selector = spec(svc.obj).get("selector") or {}
            if selector and any(_selector_matches(selector, labels) for labels in label_sets):
                self.enqueue((ns, svc.name))

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("services").items
                if spec(s.obj).get("selector")]

    # -- reconcile -----------------------------------------------------------------------------
    def sync(self, key: Key) -> None:
        ns, name = key
        svc = self.store.try_get("services", name, ns)
        if svc is None:
            self._delete_endpoints(ns, name)
            return
        selector = spec(svc).get("selector") or {}
        if not selector:
            return
        pods = [s.obj for s in self.store.list_stored("pods", ns).items
                if _selector_matches(selector, s.labels) and status(s.obj).get("podIP")
                and status(s.obj).get("phase") not in ("Succeeded", "Failed")
                and not meta(s.obj).get("deletionTimestamp")]
        pods.sort(key=lambda p: (status(p)["podIP"], meta(p).get("uid", "")))
        self._write_endpoints(svc, pods)
        if self.write_slices:
            self._write_slices(svc, pods)

    def _delete_endpoints(self, ns: str, name: str) -> None:
        existing = self.store.try_get("endpoints", name, ns)
        if existing is not None and not (meta(existing).get("labels") or {}).get(
                "endpointslice.kubernetes.io/skip-mirror"):
            try:
                self.store.delete("endpoints", name, ns)
            except Exception as exc:
                log.debug("deleting endpoints %s/%s: %s", ns, name, exc)

    def _resolved_ports(self, svc: Obj, pod: Obj) -> tuple[tuple[str, int, str], ...]:
        ports = []
        for sp in spec(svc).get("ports") or []:
            target = resolve_target_port(sp, pod)
            if target is not None:
                ports.append((str(sp.get("name") or ""), target, str(sp.get("protocol") or
                                                                     "TCP")))
        return tuple(sorted(ports))

    def _write_endpoints(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = meta(svc)["namespace"], meta(svc)["name"]
        publish = bool(spec(svc).get("publishNotReadyAddresses"))
        groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj]]] = {}
        for pod in pods:
            ports = self._resolved_ports(svc, pod)
            if not ports and spec(svc).get("ports"):
                continue
            ready, not_ready = groups.setdefault(ports, ([], []))
            address: Obj = {"ip": status(pod)["podIP"]}
            if spec(pod).get("nodeName"):
                address["nodeName"] = spec(pod)["nodeName"]
            address["targetRef"] = _target_ref(pod)
            (ready if publish or pod_ready(pod) else not_ready).append(address)
        subsets = []
        for ports, (ready, not_ready) in groups.items():
            subset: Obj = {}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            if ports:
                subset["ports"] = [{"name": n, "port": p, "protocol": proto}
                                   for n, p, proto in ports]
            subsets.append(subset)
        labels = dict(meta(svc).get("labels") or {})
        existing = self.store.try_get("endpoints", name, ns)
        if existing is None:
            body: Obj = {"metadata": {"name": name, "namespace": ns}}
            if labels:
                body["metadata"]["labels"] = labels
            if subsets:
                body["subsets"] = subsets
            self.store.create("endpoints", body, ns)
            return
        if existing.get("subsets") == (subsets or None) and (
                meta(existing).get("labels") or {}) == labels:
            return

        def apply(obj: Obj) -> None:
            if labels:
                obj["metadata"]["labels"] = labels
            else:
                obj["metadata"].pop("labels", None)
            if subsets:
                obj["subsets"] = subsets
            else:
                obj.pop("subsets", None)

        self.store.mutate("endpoints", name, ns, apply)

    def _write_slices(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = meta(svc)["namespace"], meta(svc)["name"]
        by_ports: dict[tuple[tuple[str, int, str], ...], list[Obj]] = {}
        for pod in pods:
            ports = self._resolved_ports(svc, pod)
            if not ports and spec(svc).get("ports"):
                continue
            ready = pod_ready(pod)
            endpoint: Obj = {"addresses": [status(pod)["podIP"]],
                             "conditions": {"ready": ready, "serving": ready,
                                            "terminating": False}}
            if spec(pod).get("nodeName"):
                endpoint["nodeName"] = spec(pod)["nodeName"]
            endpoint["targetRef"] = _target_ref(pod)
            by_ports.setdefault(ports, []).append(endpoint)
        if not by_ports:
            by_ports[()] = []  # the placeholder slice
        labels = {**(meta(svc).get("labels") or {}), SERVICE_NAME_LABEL: name,
                  MANAGED_BY_LABEL: MANAGED_BY}
        existing = [s.obj for s in self.store.list_stored(SLICES, ns).items
                    if s.labels.get(SERVICE_NAME_LABEL) == name
                    and s.labels.get(MANAGED_BY_LABEL) == MANAGED_BY]
        existing.sort(key=lambda s: meta(s)["name"])

        def slice_ports(obj: Obj) -> tuple[tuple[str, int, str], ...]:
            return tuple(sorted((str(p.get("name") or ""), int(p.get("port") or 0),
                                 str(p.get("protocol") or "TCP")) for p in obj.get("ports") or []))

        unused = list(existing)
        for ports, endpoints in by_ports.items():
            wanted_ports = [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports]
            match = next((s for s in unused if slice_ports(s) == ports), None) or (
                unused[0] if unused else None)
            if match is None:
                body: Obj = {
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": f"{name}-{random_suffix(self.rng)}",
                                 "generateName": f"{name}-", "namespace": ns,
                                 "labels": labels, "ownerReferences": [owner_reference(svc)]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": wanted_ports}
                self.store.create(SLICES, body, ns)
                continue
            unused.remove(match)
            if (match.get("endpoints") or []) == endpoints and (
                    match.get("ports") or []) == wanted_ports and meta(match).get(
                    "labels") == labels:
                continue

            def apply(obj: Obj, endpoints: list[Obj] = endpoints,
                      wanted_ports: list[Obj] = wanted_ports) -> None:
                obj["metadata"]["labels"] = labels
                obj["endpoints"] = endpoints
                obj["ports"] = wanted_ports

            self.store.mutate(SLICES, meta(match)["name"], ns, apply)
        for stale in unused:
            try:
                self.store.delete(SLICES, meta(stale)["name"], ns)
            except Exception as exc:
                log.debug("deleting endpointslice %s: %s", meta(stale)["name"], exc)
