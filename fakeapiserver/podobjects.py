"""The Pod object a fleet node's kubelet reports for a simulated pod: spec and status.

Why apart from registration: registration decides *which* objects to write and when; this
module says what a kubelet would show for one pod of the fleet model (container states,
conditions with the model's transition times, in the kubelet's order). The model is read by
duck typing, as registration reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
    initialized = _get(pod, "initialized_time") is not None
    statuses = []
    for c in containers:
        cname = str(_get(c, "name"))
        restarts = int(_get(c, "restart_count", "restarts", default=0) or 0)
        cstart = _ts(_get(c, "start_time", "started_at")) or start
        cstate = str(_get(c, "state", default="running" if running else "waiting"))
        # a container runs while its pod is still Pending when a later one is being created
        alive = cstate == "running" and phase in ("Running", "Pending")
        waiting = "PodInitializing" if start and init and not initialized else (
            "ContainerCreating")
        state: Obj = (
            {"running": {"startedAt": cstart}}
            if alive
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
                "ready": alive and bool(_get(c, "ready", default=running)),
                "started": alive,
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


def kubelet_status(pod: Any, node_name: str, host_ip: str, api_pod: Obj) -> Obj:
    """The status a fleet node's kubelet writes for a pod the control plane created
    (``adopted`` in the model): phase, container statuses, ``startTime`` and the kubelet's
    conditions from the model; the scheduler's ``PodScheduled``, the pod IPs and whatever
    else the API object's status holds are kept."""
    ours = pod_object(pod, node_name, host_ip)["status"]
    out = dict(api_pod.get("status") or {})
    for key in ("phase", "containerStatuses", "startTime"):
        if key in ours:
            out[key] = ours[key]
        else:
            out.pop(key, None)
    scheduled = [c for c in out.get("conditions") or []
                 if isinstance(c, dict) and c.get("type") == "PodScheduled"]
    kubelet = [c for c in ours["conditions"] if c.get("type") != "PodScheduled"]
    out["conditions"] = kubelet + (scheduled or [c for c in ours["conditions"]
                                                 if c.get("type") == "PodScheduled"])
    if not out.get("hostIP") and host_ip:
        out["hostIP"] = host_ip
        out["hostIPs"] = [{"ip": host_ip}]
    if "qosClass" not in out:
        from fakeapiserver.localpods import _qos_class

        out["qosClass"] = _qos_class(api_pod.get("spec") or {})
    return out
