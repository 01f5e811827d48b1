"""Valid objects of the built-in kinds and a store that holds them, for the type-check and
validation tests (each object passes kube-apiserver's validation as it is)."""

from __future__ import annotations

import copy
import json
from typing import Any

from fakeapiserver.store import Store

Obj = dict[str, Any]

CONTAINER: Obj = {
    "name": "web", "image": "registry.example/web:1", "args": ["--port=8080"],
    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
    "env": [{"name": "MODE", "value": "fast"}],
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                  "limits": {"cpu": "1", "memory": "128Mi"}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
    "livenessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 3},
    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
}
TEMPLATE: Obj = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [CONTAINER], "volumes": [{"name": "tmp", "emptyDir": {}}],
             "nodeSelector": {"kubernetes.io/os": "linux"},
             "tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                              "operator": "Exists", "effect": "NoSchedule"}]},
}

VALID: dict[str, Obj] = {
    "deployments": {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": TEMPLATE,
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}},
    },
    "replicasets": {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": TEMPLATE},
    },
    "pods": {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
        "spec": TEMPLATE["spec"],
        "status": {"phase": "Running", "podIP": "10.244.0.5",
                   "conditions": [{"type": "Ready", "status": "True",
                                   "lastTransitionTime": "2025-06-15T15:06:40Z"}],
                   "containerStatuses": [{"name": "web", "ready": True, "restartCount": 1,
                                          "image": "registry.example/web:1", "imageID": "",
                                          "state": {"running": {
                                              "startedAt": "2025-06-15T15:06:40Z"}}}]},
    },
    "services": {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "https", "port": 443, "targetPort": "http"}]},
    },
    "horizontalpodautoscalers": {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "web"},
                 "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": 60}}},
                             {"type": "Pods", "pods": {
                                 "metric": {"name": "requests_per_second"},
                                 "target": {"type": "AverageValue", "averageValue": "10"}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                            "policies": [{"type": "Percent", "value": 50,
                                                          "periodSeconds": 60}]},
                              "scaleUp": {"selectPolicy": "Max", "policies": [
                                  {"type": "Pods", "value": 4, "periodSeconds": 15}]}}},
    },
    "apiservices": {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"service": {"name": "metrics-server", "namespace": "kube-system",
                             "port": 443},
                 "group": "metrics.k8s.io", "version": "v1beta1",
                 "insecureSkipTLSVerify": True, "groupPriorityMinimum": 100,
                 "versionPriority": 100},
    },
    "nodes": {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
        "spec": {"taints": [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]},
        "status": {"capacity": {"cpu": "4", "memory": "16Gi"},
                   "addresses": [{"type": "InternalIP", "address": "127.0.1.1"}],
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}},
    },
    "poddisruptionbudgets": {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    },
    "configmaps": {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "settings", "namespace": "default"},
                   "data": {"mode": "fast"}},
    "secrets": {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "token", "namespace": "default"},
                "data": {"token": "c2VjcmV0"}},
}


def valid(plural: str) -> Obj:
    """A deep copy of the valid object of a kind."""
    return copy.deepcopy(VALID[plural])


def make_store() -> Store:
    store = Store(clock=lambda: 1_750_000_000.0)
    for ns in ("default", "kube-system"):
        store.create("namespaces", {"metadata": {"name": ns}})
    return store


def snapshot(store: Store) -> str:
    """Every stored object and the resourceVersion (a failed write must not change it)."""
    return json.dumps({"rv": store.resource_version, "objects": {
        k: sorted((str(key), s.raw.decode()) for key, s in bucket.items())
        for k, bucket in store._objects.items() if bucket}}, sort_keys=True)


def set_path(obj: Obj, path: str, value: Any) -> Obj:
    """``obj`` with the dotted ``path`` (``spec.template.spec.containers.0.image``) set."""
    parts = path.split(".")
    cur: Any = obj
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur.setdefault(part, {})
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return obj
