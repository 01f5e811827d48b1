"""PodDisruptionBudget status, as kube-controller-manager's disruption controller writes it.

So ``kubectl get pdb`` shows ``ALLOWED DISRUPTIONS`` for the HA overlay's budget: the pods
matching the selector are counted (``expectedPods`` from the scale of their controllers —
Deployment replicas, else ReplicaSet replicas — when a percentage or ``maxUnavailable`` needs
it, else the number of pods), ``currentHealthy`` are the Ready ones, ``desiredHealthy`` follows
``minAvailable`` (percentages round up) or ``expectedPods - maxUnavailable``, and the
``DisruptionAllowed`` condition says ``SufficientPods`` or ``InsufficientPods``.
"""

from __future__ import annotations

import math
from typing import Any

from fakeapiserver.controllers.common import (
    Controller,
    Key,
    Obj,
    controller_ref,
    meta,
    pod_active,
    pod_ready,
    selector_matches,
    spec,
    status,
)
from fakeapiserver.store import rfc3339

PDBS = "poddisruptionbudgets"


def _scaled(value: Any, total: int, round_up: bool = True) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1] or 0) * total / 100
        return int(math.ceil(scaled) if round_up else math.floor(scaled))
    return int(value)


class DisruptionController(Controller):
    name = "disruption"
    kinds = ("poddisruptionbudgets", "pods")

    def on_change(self, change: Any) -> None:
        ns = change.new.namespace
        if change.kind.plural == PDBS:
            if change.type != "DELETED":
                self.enqueue((ns, change.new.name))
            return
        labels = [change.new.labels] + ([change.old.labels] if change.old else [])
        for pdb in self.store.list_stored(PDBS, ns).items:
            selector = spec(pdb.obj).get("selector")
            if any(selector_matches(selector, lab) for lab in labels):
                self.enqueue((ns, pdb.name))

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored(PDBS).items]

    def _controller_scale(self, pod: Obj) -> tuple[str, int] | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        rs = self.store.try_get("replicasets", ref.get("name", ""), meta(pod)["namespace"])
        if rs is None:
            return None
        owner = controller_ref(rs)
        if owner is not None and owner.get("kind") == "Deployment":
            d = self.store.try_get("deployments", owner.get("name", ""), meta(rs)["namespace"])
            if d is not None:
                return (meta(d).get("uid", ""), int(spec(d).get("replicas", 1)))
        return (meta(rs).get("uid", ""), int(spec(rs).get("replicas", 1)))

    def sync(self, key: Key) -> None:
        ns, name = key
        pdb = self.store.try_get(PDBS, name, ns)
        if pdb is None:
            return
        selector = spec(pdb).get("selector")
        pods = [s.obj for s in self.store.list_stored("pods", ns).items
                if selector_matches(selector, s.labels) and pod_active(s.obj)]
        min_available = spec(pdb).get("minAvailable")
        max_unavailable = spec(pdb).get("maxUnavailable")
        needs_scale = max_unavailable is not None or (
            isinstance(min_available, str) and min_available.endswith("%"))
        expected = len(pods)
        if needs_scale:
            scales = {}
            for pod in pods:
                found = self._controller_scale(pod)
                if found is not None:
                    scales[found[0]] = found[1]
            expected = sum(scales.values()) if scales else len(pods)
        if max_unavailable is not None:
            desired = max(0, expected - _scaled(max_unavailable, expected))
        elif min_available is not None:
            desired = _scaled(min_available, expected)
        else:
            desired = expected
        healthy = sum(1 for p in pods if pod_ready(p))
        allowed = max(0, healthy - desired)
        generation = int(meta(pdb).get("generation") or 1)
        old = status(pdb)
        now = rfc3339(self.clock())
        reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
        prev = next((c for c in old.get("conditions") or []
                     if c.get("type") == "DisruptionAllowed"), None)
        cond = {"lastTransitionTime": now, "message": "", "observedGeneration": generation,
                "reason": reason, "status": "True" if allowed > 0 else "False",
                "type": "DisruptionAllowed"}
        if prev is not None and prev.get("status") == cond["status"]:
            cond["lastTransitionTime"] = prev.get("lastTransitionTime", now)
        new_status: Obj = {"conditions": [cond], "currentHealthy": healthy,
                           "desiredHealthy": desired, "disruptionsAllowed": allowed,
                           "expectedPods": expected, "observedGeneration": generation}
        if old.get("disruptedPods"):
            new_status["disruptedPods"] = old["disruptedPods"]
        if new_status == old:
            return

        def apply(obj: Obj) -> None:
            obj["status"] = new_status

        self.store.mutate(PDBS, name, ns, apply)
