"""Workload pods on the fleet: a bound pod no local process runs becomes its node's pod.

This controller is the part of a fleet node's kubelet that takes pods from the API: a pod
bound (``spec.nodeName``) to a node of the fakekubelet fleet whose image
:class:`~fakeapiserver.controllers.localimages.LocalImages` does not map to a local process
is handed to the fleet (``Cluster.add_pod(..., adopted=True)``) with the API's own name, uid
and instants, and a template built from its spec (:mod:`.fleettemplates`). From then on the
node's kubelet serves its containers' metrics and the fleet's lifecycle — ContainerCreating,
Running not Ready, Ready on the probe's tick — reaches the *same* API object through
registration (``fakeapiserver.registration``), which only writes its status.

Deletion, as a kubelet and kube-apiserver split it: the store deletes such pods gracefully
(this controller is its ``pod_terminator``), so a delete sets ``deletionTimestamp``; this
controller then tells the fleet to terminate the pod within ``deletionGracePeriodSeconds``;
when the fleet has stopped its last container it removes the pod and registration deletes
the API object with grace 0 (gone, as after a kubelet's final status). A forced delete
(grace 0) removes the fleet's pod at once. Pods of a fleet node that the fleet itself
registered (its own templates) are not touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fakeapiserver.controllers.common import (
    Controller,
    Enqueue,
    Key,
    Obj,
    container_event,
    containers_waiting,
    meta,
    pod_condition,
    spec,
    status,
)
from fakeapiserver.controllers.fleettemplates import SimSettingError, pod_template
from fakeapiserver.controllers.localimages import LocalImages, pod_image
from fakeapiserver.store import parse_rfc3339, rfc3339

log = logging.getLogger(__name__)

FLEET_ANNOTATION = "fakekubelet/uid"


class FleetPodController(Controller):
    name = "fleetpods"
    kinds = ("pods",)

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue,
                 cluster: Any, images: LocalImages) -> None:
        super().__init__(store, clock, enqueue)
        self.cluster = cluster
        self.images = images
        #: (namespace, name) → uid of the API pods the fleet runs
        self.adopted: dict[Key, str] = {}
        store.pod_terminator = self.terminates

    def stop(self) -> None:
        if self.store.pod_terminator == self.terminates:
            self.store.pod_terminator = None

    # -- which pods ----------------------------------------------------------------------
    def for_fleet(self, pod: Obj) -> bool:
        """Bound to a fleet node, not the fleet's own, not a local process's image."""
        node = spec(pod).get("nodeName")
        if not node or node not in (getattr(self.cluster, "nodes", None) or {}):
            return False
        if FLEET_ANNOTATION in (meta(pod).get("annotations") or {}):
            return False
        return self.images.command_for(pod_image(pod)) is None

    def terminates(self, pod: Obj) -> bool:
        """For the store: will a graceful delete of ``pod`` be finished here?"""
        key = (meta(pod).get("namespace", ""), meta(pod).get("name", ""))
        if self.adopted.get(key) == meta(pod).get("uid"):
            return True
        return (self.for_fleet(pod) and status(pod).get("phase") not in ("Succeeded", "Failed")
                and not _refused(pod))

    def on_change(self, change: Any) -> None:
        key = (change.new.namespace, change.new.name)
        if key in self.adopted or (change.type != "DELETED" and self.for_fleet(change.new.obj)):
            self.enqueue(key)

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("pods").items
                if self.for_fleet(s.obj)]

    # -- reconcile -----------------------------------------------------------------------
    def sync(self, key: Key) -> None:
        ns, name = key
        pod = self.store.try_get("pods", name, ns)
        uid = self.adopted.get(key)
        if uid is not None and (pod is None or meta(pod).get("uid") != uid):
            del self.adopted[key]
            fleet_pod = (getattr(self.cluster, "pods", None) or {}).get(f"{ns}/{name}")
            if fleet_pod is not None and getattr(fleet_pod, "uid", None) == uid:
                self.cluster.remove_pod(ns, name)  # deleted with grace 0: gone at once
            uid = None
        if pod is None:
            return
        if uid is not None:
            if meta(pod).get("deletionTimestamp"):
                self._terminate(pod)
            return
        if not self.for_fleet(pod) or status(pod).get("phase") in ("Succeeded", "Failed"):
            return
        if meta(pod).get("deletionTimestamp"):
            # deleted before its kubelet took it on: nothing runs, so it goes now
            self.store.delete_stored("pods", name, ns, grace_seconds=0)
            return
        if _refused(pod):
            return  # a pod's spec and annotations do not change: refused once is enough
        try:
            template = pod_template(pod, getattr(self.cluster, "images", ()))
        except SimSettingError as err:
            self._refuse(pod, str(err))
            return
        m = meta(pod)
        scheduled = pod_condition(pod, "PodScheduled") or {}
        try:
            self.cluster.add_pod(
                spec(pod)["nodeName"], template, name=name, uid=str(m.get("uid", "")),
                created=parse_rfc3339(m.get("creationTimestamp")),
                scheduled=parse_rfc3339(scheduled.get("lastTransitionTime")), adopted=True)
        except (KeyError, ValueError) as err:  # the node just left, or the name is taken
            log.warning("fleet cannot run pod %s/%s: %s", ns, name, err)
            return
        self.adopted[key] = str(m.get("uid", ""))
        log.info("fleet node %s runs pod %s/%s", spec(pod)["nodeName"], ns, name)

    def _terminate(self, pod: Obj) -> None:
        m = meta(pod)
        grace = m.get("deletionGracePeriodSeconds")
        if not isinstance(grace, int):
            deadline = parse_rfc3339(m.get("deletionTimestamp")) or self.clock()
            grace = max(0, round(deadline - self.clock()))
        fleet_pod = (getattr(self.cluster, "pods", None) or {}).get(
            f"{m['namespace']}/{m['name']}")
        if fleet_pod is None:
            return
        self.cluster.terminate_pod(m["namespace"], m["name"], float(grace))

    def _refuse(self, pod: Obj, why: str) -> None:
        """What a kubelet shows for a container config it cannot use: Pending, every
        container waiting in ``CreateContainerConfigError``, a ``Failed`` event."""
        m, now = meta(pod), rfc3339(self.clock())
        self.store.mutate("pods", m["name"], m["namespace"], lambda obj: containers_waiting(
            obj, "CreateContainerConfigError", why, now))
        container_event(self.store, self.clock, pod, "Warning", "Failed", f"Error: {why}")


def _refused(pod: Obj) -> bool:
    """Shown as CreateContainerConfigError already (nothing of it runs)."""
    return any(((cs.get("state") or {}).get("waiting") or {}).get("reason") ==
               "CreateContainerConfigError"
               for cs in status(pod).get("containerStatuses") or [] if isinstance(cs, dict))
