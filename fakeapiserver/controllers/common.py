"""Small helpers shared by the controllers: owner references, readiness, selectors, events.

Why a module of its own: each controller reads the same few facts about pods (is it active,
is it ready, who owns it) exactly as kube-controller-manager's ``controller_utils`` does, and
they must agree, or a Deployment would count a pod the ReplicaSet already gave up.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from fakeapiserver.localpods import record_event
from fakeapiserver.rbac import label_selector_matches

Obj = dict[str, Any]

#: The alphabet of apimachinery's ``utilrand.String`` and ``SafeEncodeString``: no vowels (no
#: words), no 0/1/3 (no look-alikes).
KUBE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(rng: random.Random, n: int = 5) -> str:
    """``n`` characters as ``generateName`` appends (seeded, so runs repeat)."""
    return "".join(rng.choice(KUBE_ALPHANUMS) for _ in range(n))


def meta(obj: Mapping[str, Any]) -> Obj:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def spec(obj: Mapping[str, Any]) -> Obj:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Mapping[str, Any]) -> Obj:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def controller_ref(obj: Mapping[str, Any]) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def owner_reference(owner: Mapping[str, Any]) -> Obj:
    """A controller ownerReference to ``owner`` (as the apps controllers write them)."""
    m = meta(owner)
    return {"apiVersion": owner.get("apiVersion", ""), "kind": owner.get("kind", ""),
            "name": m.get("name", ""), "uid": m.get("uid", ""), "controller": True,
            "blockOwnerDeletion": True}


def is_owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector matching; a nil or empty selector matches nothing (as the apps
    controllers treat it), never everything."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    return label_selector_matches(dict(selector), labels)


def pod_condition(pod: Mapping[str, Any], kind: str) -> Obj | None:
    for cond in status(pod).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def pod_ready(pod: Mapping[str, Any]) -> bool:
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_active(pod: Mapping[str, Any]) -> bool:
    """Not terminal and not being deleted (``controller.IsPodActive``)."""
    return (status(pod).get("phase") not in ("Succeeded", "Failed")
            and not meta(pod).get("deletionTimestamp"))


def pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``minReadySeconds`` (``podutil.IsPodAvailable``)."""
    cond = pod_condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    from fakeapiserver.store import parse_rfc3339

    since = parse_rfc3339(cond.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


def event(store: Any, clock: Callable[[], float], obj: Mapping[str, Any], type_: str,
          reason: str, message: str, component: str) -> None:
    """Record an Event about ``obj`` from a control-plane component (aggregated by count)."""
    m = meta(obj)
    record_event(store, clock(), involved={
        "kind": obj.get("kind", ""), "namespace": m.get("namespace", ""),
        "name": m.get("name", ""), "uid": m.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""), "resourceVersion": m.get("resourceVersion", "")},
        type_=type_, reason=reason, message=message, component=component)


def containers_waiting(obj: Obj, reason: str, message: str, now: str) -> None:
    """What a kubelet writes for a pod whose containers cannot start (an image it cannot
    pull, a container config it cannot use): every container waiting with ``reason`` and
    ``message``; ``Initialized`` True (no init container holds it up), ``Ready`` and
    ``ContainersReady`` False with ``containers with unready status: [a b]`` (Go's ``%s`` of a
    []string); the scheduler's ``PodScheduled`` kept; ``startTime`` set once."""
    containers = spec(obj).get("containers") or []
    st = obj.setdefault("status", {})
    st["containerStatuses"] = [{
        "name": c.get("name", ""), "image": c.get("image", ""), "imageID": "",
        "ready": False, "restartCount": 0, "started": False, "lastState": {},
        "state": {"waiting": {"reason": reason, "message": message}}} for c in containers]
    conds = [c for c in st.get("conditions") or []
             if c.get("type") not in ("Ready", "ContainersReady", "Initialized")]
    names = " ".join(str(c.get("name", "")) for c in containers)
    conds.append({"type": "Initialized", "status": "True", "lastProbeTime": None,
                  "lastTransitionTime": now})
    conds += [{"type": ctype, "status": "False", "lastProbeTime": None,
               "lastTransitionTime": now, "reason": "ContainersNotReady",
               "message": f"containers with unready status: [{names}]"}
              for ctype in ("Ready", "ContainersReady")]
    st["conditions"] = conds
    st.setdefault("startTime", now)


def container_event(store: Any, clock: Callable[[], float], pod: Mapping[str, Any], type_: str,
                    reason: str, message: str) -> None:
    """Record an Event from the pod's kubelet about its first container (``fieldPath``
    ``spec.containers{NAME}``, the node as the source host)."""
    m = meta(pod)
    containers = spec(pod).get("containers") or []
    first = str((containers[0] if containers else {}).get("name", ""))
    record_event(store, clock(), involved={
        "kind": "Pod", "namespace": m.get("namespace", ""), "name": m.get("name", ""),
        "uid": m.get("uid", ""), "apiVersion": "v1",
        "fieldPath": f"spec.containers{{{first}}}"},
        type_=type_, reason=reason, message=message, host=spec(pod).get("nodeName", ""))


#: A work item: (namespace, name); namespace is "" for cluster-scoped objects.
Key = tuple[str, str]
#: Queue a key for the named controller (the manager dedupes and runs it later).
Enqueue = Callable[[str, Key], None]


class Controller:
    """One reconcile loop: store changes map to keys, keys are synced one at a time.

    ``sync`` reads the current state from the store and writes what differs — never the
    change that triggered it — so a burst of changes costs one pass per key, and replaying
    a key is harmless (level-triggered, as kube-controller-manager's controllers are).
    """

    name = ""
    #: Store kinds whose changes this controller wants (``on_change`` receives them).
    kinds: tuple[str, ...] = ()

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue) -> None:
        self.store = store
        self.clock = clock
        self._enqueue = enqueue

    def enqueue(self, key: Key, controller: str | None = None) -> None:
        self._enqueue(controller or self.name, key)

    def on_change(self, change: Any) -> None:
        """Map one store change to keys (synchronously, inside the write: no store writes)."""

    def initial_keys(self) -> list[Key]:
        """Keys to sync once at start (objects that existed before the controller)."""
        return []

    def sync(self, key: Key) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Release resources (the manager calls it once)."""
