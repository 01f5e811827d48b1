"""ReplicaSet → Pods, as kube-controller-manager's replicaset controller.

Creates pods named ``<replicaset>-<5 chars>`` (``generateName`` with a seeded suffix) from the
template, owned by the ReplicaSet; deletes the least valuable pods first when there are too
many (unscheduled before scheduled, pending before running, unready before ready, more
restarts first, newest first); writes ``status`` (replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas, observedGeneration). A pod whose ServiceAccount does not exist is not
created — the ``FailedCreate`` event carries the admission error — and the ReplicaSet is
retried when the account appears.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable
from typing import Any

from fakeapiserver.controllers.common import (
    Controller,
    Enqueue,
    Key,
    Obj,
    controller_ref,
    event,
    meta,
    owner_reference,
    pod_active,
    pod_available,
    pod_ready,
    random_suffix,
    selector_matches,
    spec,
    status,
)

log = logging.getLogger(__name__)

COMPONENT = "replicaset-controller"


class ReplicaSetController(Controller):
    name = "replicaset"
    kinds = ("replicasets", "pods", "serviceaccounts")

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue,
                 rng: random.Random) -> None:
        super().__init__(store, clock, enqueue)
        self.rng = rng

    # -- triggers ----------------------------------------------------------------------------
    def on_change(self, change: Any) -> None:
        plural = change.kind.plural
        if plural == "replicasets":
            self.enqueue((change.new.namespace, change.new.name))
        elif plural == "pods":
            for stored in (change.old, change.new):
                ref = controller_ref(stored.obj) if stored is not None else None
                if ref is not None and ref.get("kind") == "ReplicaSet":
                    self.enqueue((change.new.namespace, str(ref.get("name", ""))))
        elif plural == "serviceaccounts" and change.type == "ADDED":
            for rs in self.store.list_stored("replicasets", change.new.namespace).items:
                self.enqueue((rs.namespace, rs.name))

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("replicasets").items]

    # -- reconcile ---------------------------------------------------------------------------
    def owned_pods(self, rs: Obj) -> list[Obj]:
        ns = meta(rs).get("namespace", "")
        uid = meta(rs).get("uid")
        pods = []
        for stored in self.store.list_stored("pods", ns).items:
            ref = controller_ref(stored.obj)
            if ref is not None and ref.get("uid") == uid:
                pods.append(stored.obj)
        return pods

    def sync(self, key: Key) -> None:
        ns, name = key
        rs = self.store.try_get("replicasets", name, ns)
        if rs is None or meta(rs).get("deletionTimestamp"):
            return
        active = [p for p in self.owned_pods(rs) if pod_active(p)]
        want = int(spec(rs).get("replicas", 1) or 0)
        diff = len(active) - want
        if diff < 0:
            self._create(rs, -diff)
        elif diff > 0:
            self._delete(rs, active, diff)
        self._write_status(rs)

    def _create(self, rs: Obj, count: int) -> None:
        ns = meta(rs)["namespace"]
        template = spec(rs).get("template") or {}
        pod_spec = spec(template)
        account = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount") or (
            "default")
        prefix = f"{meta(rs)['name']}-"
        if self.store.try_get("serviceaccounts", account, ns) is None:
            event(self.store, self.clock, rs, "Warning", "FailedCreate",
                  f'Error creating: pods "{prefix}" is forbidden: error looking up service '
                  f'account {ns}/{account}: serviceaccount "{account}" not found', COMPONENT)
            return
        for _ in range(count):
            tmeta = meta(template)
            body: Obj = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": prefix, "namespace": ns,
                             "labels": dict(tmeta.get("labels") or {}),
                             "ownerReferences": [owner_reference(rs)]},
                "spec": copy.deepcopy(pod_spec),
            }
            if tmeta.get("annotations"):
                body["metadata"]["annotations"] = dict(tmeta["annotations"])
            for _attempt in range(16):
                body["metadata"]["name"] = prefix + random_suffix(self.rng)
                if self.store.try_get("pods", body["metadata"]["name"], ns) is None:
                    break
            try:
                created = self.store.create("pods", body, ns)
            except Exception as exc:  # ApiError: report it the way the controller does
                event(self.store, self.clock, rs, "Warning", "FailedCreate",
                      f"Error creating: {getattr(exc, 'message', exc)}", COMPONENT)
                return
            event(self.store, self.clock, rs, "Normal", "SuccessfulCreate",
                  f"Created pod: {meta(created)['name']}", COMPONENT)

    def _delete(self, rs: Obj, active: list[Obj], count: int) -> None:
        for pod in sorted(active, key=deletion_rank)[:count]:
            name = meta(pod)["name"]
            try:
                self.store.delete("pods", name, meta(pod)["namespace"])
            except Exception as exc:
                log.debug("deleting pod %s: %s", name, exc)
                continue
            event(self.store, self.clock, rs, "Normal", "SuccessfulDelete",
                  f"Deleted pod: {name}", COMPONENT)

    def _write_status(self, rs: Obj) -> None:
        rs_meta = meta(rs)
        pods = [p for p in self.owned_pods(rs) if pod_active(p)]
        template_labels = meta(spec(rs).get("template") or {}).get("labels") or {}
        min_ready = int(spec(rs).get("minReadySeconds") or 0)
        now = self.clock()
        counts = {
            "fullyLabeledReplicas": sum(
                1 for p in pods if all((meta(p).get("labels") or {}).get(k) == v
                                       for k, v in template_labels.items())),
            "readyReplicas": sum(1 for p in pods if pod_ready(p)),
            "availableReplicas": sum(1 for p in pods if pod_available(p, min_ready, now)),
        }
        new_status: Obj = {"replicas": len(pods)}
        new_status.update({k: v for k, v in counts.items() if v})
        new_status["observedGeneration"] = int(rs_meta.get("generation") or 1)
        old = status(rs)
        if old.get("conditions"):
            new_status["conditions"] = old["conditions"]
        if old == new_status:
            return

        def apply(obj: Obj) -> None:
            obj["status"] = new_status

        try:
            self.store.mutate("replicasets", rs_meta["name"], rs_meta["namespace"], apply)
        except Exception as exc:
            log.debug("replicaset %s status: %s", rs_meta["name"], exc)


def deletion_rank(pod: Obj) -> tuple[int, int, int, int, float]:
    """Sort key: the pod to delete first sorts first (``controller.ActivePods`` order)."""
    from fakeapiserver.store import parse_rfc3339

    assigned = 1 if spec(pod).get("nodeName") else 0
    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status(pod).get("phase", ""), 0)
    ready = 1 if pod_ready(pod) else 0
    restarts = sum(int(c.get("restartCount") or 0)
                   for c in status(pod).get("containerStatuses") or [])
    created = parse_rfc3339(meta(pod).get("creationTimestamp")) or 0.0
    return (assigned, phase, ready, -restarts, -created)


def pods_selected(rs: Obj, pods: list[Obj]) -> list[Obj]:
    """Pods the ReplicaSet's selector matches (for adoption checks and tests)."""
    selector = spec(rs).get("selector")
    return [p for p in pods if selector_matches(selector, meta(p).get("labels") or {})]
