"""Deployment → ReplicaSets, as kube-controller-manager's deployment controller.

* The ReplicaSet of the current template is ``<deployment>-<pod-template-hash>``; its
  selector, template labels and pods carry ``pod-template-hash``; it is owned by the
  Deployment and annotated with ``deployment.kubernetes.io/revision`` (also set on the
  Deployment), ``desired-replicas`` and ``max-replicas``.
* ``RollingUpdate`` (the default): the new ReplicaSet is scaled up while the total stays
  within ``replicas + maxSurge`` (rounded up), old ones are scaled down while at least
  ``replicas - maxUnavailable`` (rounded down) pods stay available — unhealthy old pods go
  first. With ``maxUnavailable: 0`` (metrics-server's manifest) a template change therefore
  starts the new pod next to the old one and removes the old pod once the new one is Ready.
  ``Recreate`` scales old ReplicaSets to zero and starts the new one when their pods are gone.
* Status (observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas) and the ``Available`` / ``Progressing`` conditions with upstream's
  reasons and messages, so ``kubectl get deploy`` and ``kubectl rollout status`` read as on a
  cluster. Old ReplicaSets beyond ``revisionHistoryLimit`` are deleted.

Not modelled: ``minReadySeconds`` timers (a pod counts as available when Ready unless the
Ready transition is older than ``minReadySeconds`` at the time of a sync), the progress
deadline (``ProgressDeadlineExceeded``), pausing beyond "no scaling", rollbacks by annotation,
adoption of orphaned ReplicaSets.
"""

from __future__ import annotations

import copy
import logging
import math
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
    spec,
    status,
)
from fakeapiserver.controllers.podtemplate import (
    HASH_LABEL,
    template_hash,
    templates_equal,
    with_hash,
)
from fakeapiserver.store import parse_rfc3339, rfc3339

log = logging.getLogger(__name__)

COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
#: Annotations of the Deployment that are not copied to its ReplicaSets.
_NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION,
               "deployment.kubernetes.io/revision-history", DESIRED, MAX_REPLICAS,
               "deprecated.deployment.rollback.to"}


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        value = "25%"
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            scaled = int(text[:-1] or 0) * total / 100
            return int(math.ceil(scaled) if round_up else math.floor(scaled))
        return int(text)
    return int(value)


def surge_and_unavailable(deployment: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against ``replicas`` (deploymentutil semantics)."""
    strategy = spec(deployment).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    replicas = desired_replicas(deployment)
    surge = int_or_percent(rolling.get("maxSurge"), replicas, True)
    unavailable = int_or_percent(rolling.get("maxUnavailable"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def desired_replicas(deployment: Obj) -> int:
    value = spec(deployment).get("replicas")
    return 1 if value is None else int(value)


def rs_replicas(rs: Obj) -> int:
    value = spec(rs).get("replicas")
    return 1 if value is None else int(value)


def revision(obj: Obj) -> int:
    text = (meta(obj).get("annotations") or {}).get(REVISION, "0")
    return int(text) if str(text).isdigit() else 0


def set_condition(conditions: list[Obj], type_: str, status_: str, reason: str, message: str,
                  now: str) -> list[Obj]:
    """deploymentutil.SetDeploymentCondition: nothing changes when status and reason are the
    same; otherwise replace-and-append, keeping the transition time when the status stays."""
    old = next((c for c in conditions if c.get("type") == type_), None)
    if old is not None and old.get("status") == status_ and old.get("reason") == reason:
        return conditions
    cond = {"type": type_, "status": status_, "lastUpdateTime": now,
            "lastTransitionTime": now, "reason": reason, "message": message}
    if old is not None and old.get("status") == status_:
        cond["lastTransitionTime"] = old.get("lastTransitionTime", now)
    return [c for c in conditions if c.get("type") != type_] + [cond]


class DeploymentController(Controller):
    name = "deployment"
    kinds = ("deployments", "replicasets")

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue) -> None:
        super().__init__(store, clock, enqueue)

    def on_change(self, change: Any) -> None:
        if change.kind.plural == "deployments":
            if change.type != "DELETED":
                self.enqueue((change.new.namespace, change.new.name))
            return
        for stored in (change.old, change.new):
            ref = controller_ref(stored.obj) if stored is not None else None
            if ref is not None and ref.get("kind") == "Deployment":
                self.enqueue((change.new.namespace, str(ref.get("name", ""))))

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("deployments").items]

    # -- reading -------------------------------------------------------------------------------
    def replica_sets(self, deployment: Obj) -> list[Obj]:
        """ReplicaSets controlled by the Deployment, oldest first."""
        uid = meta(deployment).get("uid")
        found = []
        for stored in self.store.list_stored("replicasets", meta(deployment)["namespace"]).items:
            ref = controller_ref(stored.obj)
            if ref is not None and ref.get("uid") == uid:
                found.append(stored.obj)
        found.sort(key=lambda rs: (parse_rfc3339(meta(rs).get("creationTimestamp")) or 0,
                                   meta(rs)["name"]))
        return found

    def new_replica_set(self, deployment: Obj, sets: list[Obj]) -> Obj | None:
        template = spec(deployment).get("template") or {}
        for rs in sets:
            if templates_equal(spec(rs).get("template") or {}, template):
                return rs
        return None

    # -- reconcile -----------------------------------------------------------------------------
    def sync(self, key: Key) -> None:
        ns, name = key
        d = self.store.try_get("deployments", name, ns)
        if d is None or meta(d).get("deletionTimestamp"):
            return
        if not (spec(d).get("selector") or {}):
            return  # kube-apiserver's validation would have refused it
        sets = self.replica_sets(d)
        new = self.new_replica_set(d, sets)
        old = [rs for rs in sets if new is None or meta(rs)["uid"] != meta(new)["uid"]]
        created = False
        if new is None:
            new = self._create_new(d, old)
            if new is None:
                return
            created = True
        else:
            self._sync_revision(d, new, old)
        if not spec(d).get("paused"):
            if (spec(d).get("strategy") or {}).get("type") == "Recreate":
                self._recreate(d, new, old)
            elif not created:
                self._rolling(d, new, old)
            self._cleanup(d, new, old)
        sets = self.replica_sets(d)
        new = self.new_replica_set(d, sets) or new
        self._write_status(d, new, sets, created)

    def _create_new(self, d: Obj, old: list[Obj]) -> Obj | None:
        ns = meta(d)["namespace"]
        template = spec(d).get("template") or {}
        collisions = status(d).get("collisionCount")
        max_old = max((revision(rs) for rs in old), default=0)
        surge, _ = surge_and_unavailable(d)
        replicas = desired_replicas(d)
        if (spec(d).get("strategy") or {}).get("type") == "Recreate":
            start = replicas if not any(rs_replicas(rs) or status(rs).get("replicas")
                                        for rs in old) else 0
        else:
            total = sum(rs_replicas(rs) for rs in old)
            start = max(0, min(replicas, replicas + surge - total))
        if spec(d).get("paused"):
            start = 0
        for _attempt in range(8):
            value = template_hash(template, collisions)
            rs_name = f"{meta(d)['name']}-{value}"
            annotations = {k: v for k, v in (meta(d).get("annotations") or {}).items()
                           if k not in _NOT_COPIED}
            annotations.update({DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge),
                                REVISION: str(max_old + 1)})
            selector = copy.deepcopy(spec(d).get("selector") or {})
            selector.setdefault("matchLabels", {})[HASH_LABEL] = value
            labeled = with_hash(template, value)
            body: Obj = {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns,
                             "labels": dict(meta(labeled).get("labels") or {}),
                             "annotations": annotations,
                             "ownerReferences": [owner_reference(d)]},
                "spec": {"replicas": start, "selector": selector, "template": labeled},
            }
            if spec(d).get("minReadySeconds"):
                body["spec"]["minReadySeconds"] = spec(d)["minReadySeconds"]
            existing = self.store.try_get("replicasets", rs_name, ns)
            if existing is None:
                try:
                    created = self.store.create("replicasets", body, ns)
                except Exception as exc:
                    log.warning("creating replicaset %s/%s: %s", ns, rs_name, exc)
                    return None
                event(self.store, self.clock, d, "Normal", "ScalingReplicaSet",
                      f"Scaled up replica set {rs_name} to {start}", COMPONENT)
                self._annotate_revision(d, max_old + 1)
                self._set_progressing(d, "NewReplicaSetCreated",
                                      f'Created new replica set "{rs_name}"')
                return created
            # a hash collision: the name is taken by another template
            collisions = int(collisions or 0) + 1
            self._write_collision(d, collisions)
        return None

    def _write_collision(self, d: Obj, count: int) -> None:
        def apply(obj: Obj) -> None:
            obj.setdefault("status", {})["collisionCount"] = count

        self.store.mutate("deployments", meta(d)["name"], meta(d)["namespace"], apply)
        d.setdefault("status", {})["collisionCount"] = count

    def _annotate_revision(self, d: Obj, value: int) -> None:
        if revision(d) == value:
            return

        def apply(obj: Obj) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = str(value)

        self.store.mutate("deployments", meta(d)["name"], meta(d)["namespace"], apply)

    def _set_progressing(self, d: Obj, reason: str, message: str) -> None:
        now = rfc3339(self.clock())

        def apply(obj: Obj) -> None:
            st = obj.setdefault("status", {})
            conds = set_condition(list(st.get("conditions") or []), "Progressing", "True",
                                  reason, message, now)
            st["conditions"] = conds

        self.store.mutate("deployments", meta(d)["name"], meta(d)["namespace"], apply)

    def _sync_revision(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        """Keep the new ReplicaSet's revision above every old one's (a rollback to an old
        template makes that ReplicaSet the newest revision) and its annotations current."""
        max_old = max((revision(rs) for rs in old), default=0)
        want = revision(new) if revision(new) > max_old else max_old + 1
        surge, _ = surge_and_unavailable(d)
        replicas = desired_replicas(d)
        wanted = {REVISION: str(want), DESIRED: str(replicas),
                  MAX_REPLICAS: str(replicas + surge)}
        current = meta(new).get("annotations") or {}
        if any(current.get(k) != v for k, v in wanted.items()):
            def apply(obj: Obj) -> None:
                obj["metadata"].setdefault("annotations", {}).update(wanted)

            self.store.mutate("replicasets", meta(new)["name"], meta(new)["namespace"], apply)
        self._annotate_revision(d, want)

    def _scale(self, d: Obj, rs: Obj, count: int) -> None:
        before = rs_replicas(rs)
        if before == count:
            return
        surge, _ = surge_and_unavailable(d)
        replicas = desired_replicas(d)

        def apply(obj: Obj) -> None:
            obj["spec"]["replicas"] = count
            obj["metadata"].setdefault("annotations", {}).update(
                {DESIRED: str(replicas), MAX_REPLICAS: str(replicas + surge)})

        self.store.mutate("replicasets", meta(rs)["name"], meta(rs)["namespace"], apply)
        rs.setdefault("spec", {})["replicas"] = count
        direction = "up" if count > before else "down"
        event(self.store, self.clock, d, "Normal", "ScalingReplicaSet",
              f"Scaled {direction} replica set {meta(rs)['name']} to {count} from {before}",
              COMPONENT)

    def _rolling(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        replicas = desired_replicas(d)
        surge, max_unavailable = surge_and_unavailable(d)
        everything = [*old, new]
        # scale up the new ReplicaSet within the surge
        current = rs_replicas(new)
        if current > replicas:
            self._scale(d, new, replicas)
            return
        total = sum(rs_replicas(rs) for rs in everything)
        if current < replicas and total < replicas + surge:
            target = current + min(replicas + surge - total, replicas - current)
            self._scale(d, new, target)
            return
        # scale down old ReplicaSets while enough pods stay available
        min_available = replicas - max_unavailable
        new_unavailable = rs_replicas(new) - int(status(new).get("availableReplicas") or 0)
        max_scaled_down = total - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        scaled = 0
        for rs in old:  # unhealthy replicas first
            if scaled >= max_scaled_down:
                break
            count = rs_replicas(rs)
            unhealthy = count - int(status(rs).get("availableReplicas") or 0)
            if count == 0 or unhealthy <= 0:
                continue
            down = min(max_scaled_down - scaled, unhealthy)
            self._scale(d, rs, count - down)
            scaled += down
        available = sum(int(status(rs).get("availableReplicas") or 0) for rs in everything)
        if available <= min_available:
            return
        budget = available - min_available
        done = 0
        for rs in old:
            if done >= budget:
                break
            count = rs_replicas(rs)
            if count == 0:
                continue
            down = min(count, budget - done)
            self._scale(d, rs, count - down)
            done += down

    def _recreate(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        for rs in old:
            if rs_replicas(rs):
                self._scale(d, rs, 0)
        if any(int(status(rs).get("replicas") or 0) for rs in old):
            return  # wait until the old pods are gone
        self._scale(d, new, desired_replicas(d))

    def _cleanup(self, d: Obj, new: Obj, old: list[Obj]) -> None:
        limit = spec(d).get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        idle = [rs for rs in old if rs_replicas(rs) == 0 and not int(
            status(rs).get("replicas") or 0)]
        idle.sort(key=revision)
        for rs in idle[:max(0, len(idle) - limit)]:
            try:
                self.store.delete("replicasets", meta(rs)["name"], meta(rs)["namespace"])
            except Exception as exc:
                log.debug("cleanup of %s: %s", meta(rs)["name"], exc)

    # -- status --------------------------------------------------------------------------------
    def _write_status(self, d0: Obj, new: Obj, sets: list[Obj], created: bool) -> None:
        d = self.store.try_get("deployments", meta(d0)["name"], meta(d0)["namespace"])
        if d is None:
            return
        replicas = desired_replicas(d)
        _, max_unavailable = surge_and_unavailable(d)
        total_spec = sum(rs_replicas(rs) for rs in sets)
        actual = sum(int(status(rs).get("replicas") or 0) for rs in sets)
        updated = int(status(new).get("replicas") or 0)
        ready = sum(int(status(rs).get("readyReplicas") or 0) for rs in sets)
        available = sum(int(status(rs).get("availableReplicas") or 0) for rs in sets)
        unavailable = max(0, total_spec - available)
        now = rfc3339(self.clock())
        old = status(d)
        conds = list(old.get("conditions") or [])
        if available >= replicas - max_unavailable:
            conds = set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                                  "Deployment has minimum availability.", now)
        else:
            conds = set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                                  "Deployment does not have minimum availability.", now)
        rs_name = meta(new)["name"]
        generation = int(meta(d).get("generation") or 1)
        prog = next((c for c in conds if c.get("type") == "Progressing"), None)
        if prog is None and not created:
            conds = set_condition(conds, "Progressing", "True", "FoundNewReplicaSet",
                                  f'Found new replica set "{rs_name}"', now)
            prog = conds[-1]
        settled = actual == updated and prog is not None and prog.get(
            "reason") == "NewReplicaSetAvailable"
        if not settled:
            if updated == replicas and actual == replicas and available == replicas:
                conds = set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                                      f'ReplicaSet "{rs_name}" has successfully progressed.',
                                      now)
            elif (updated > int(old.get("updatedReplicas") or 0)
                  or actual - updated < int(old.get("replicas") or 0) - int(
                      old.get("updatedReplicas") or 0)
                  or ready > int(old.get("readyReplicas") or 0)
                  or available > int(old.get("availableReplicas") or 0)):
                # progress: a fresh lastUpdateTime, moved to the end (DeploymentProgressing)
                cond = {"type": "Progressing", "status": "True", "lastUpdateTime": now,
                        "lastTransitionTime": now, "reason": "ReplicaSetUpdated",
                        "message": f'ReplicaSet "{rs_name}" is progressing.'}
                if prog is not None and prog.get("status") == "True":
                    cond["lastTransitionTime"] = prog.get("lastTransitionTime", now)
                conds = [c for c in conds if c.get("type") != "Progressing"] + [cond]
        new_status: Obj = {"observedGeneration": generation}
        for field, value in (("replicas", actual), ("updatedReplicas", updated),
                             ("readyReplicas", ready), ("availableReplicas", available),
                             ("unavailableReplicas", unavailable)):
            if value:
                new_status[field] = value
        new_status["conditions"] = conds
        if old.get("collisionCount") is not None:
            new_status["collisionCount"] = old["collisionCount"]
        if new_status == old:
            return

        def apply(obj: Obj) -> None:
            obj["status"] = new_status

        self.store.mutate("deployments", meta(d)["name"], meta(d)["namespace"], apply)
