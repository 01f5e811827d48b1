"""The kind/ manifests render with every installed kubectl's kustomize and keep upstream's shape."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kubectl_bins import kubectl_binary, kubectl_versions

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "kind" / "manifests"
OVERLAYS = sorted(p.name for p in (MANIFESTS / "overlays").iterdir() if p.is_dir())
VERSIONS = kubectl_versions()

pytestmark = pytest.mark.skipif(not VERSIONS, reason="no kubectl.1.NN binaries installed")

UPSTREAM_OBJECTS = [
    ("ServiceAccount", "metrics-server"),
    ("ClusterRole", "system:aggregated-metrics-reader"),
    ("ClusterRole", "system:metrics-server"),
    ("RoleBinding", "metrics-server-auth-reader"),
    ("ClusterRoleBinding", "metrics-server:system:auth-delegator"),
    ("ClusterRoleBinding", "system:metrics-server"),
    ("Service", "metrics-server"),
    ("Deployment", "metrics-server"),
    ("APIService", "v1beta1.metrics.k8s.io"),
]
BASE_ARGS = [
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
]


def render(target: Path, version: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [kubectl_binary(version), "kustomize", str(target)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objs:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"{kind}/{name} not rendered")


def container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    deploy = find(objs, "Deployment", "metrics-server")
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["metrics-server"]
    return containers[0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_with_every_kubectl(overlay: str, version: str) -> None:
    objs = render(MANIFESTS / "overlays" / overlay, version)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objs]
    for expected in UPSTREAM_OBJECTS:
        assert expected in kinds
    for obj in objs:
        assert obj["metadata"]["labels"]["k8s-app"] == "metrics-server"


def test_base_is_upstreams_nine_objects_in_order() -> None:
    objs = render(MANIFESTS / "base", VERSIONS[-1])
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == UPSTREAM_OBJECTS
    c = container(objs)
    assert c["args"] == BASE_ARGS
    assert c["ports"] == [{"name": "https", "containerPort": 10250, "protocol": "TCP"}]
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
        "initialDelaySeconds": 20,
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    assert c["livenessProbe"] == {
        "httpGet": {"path": "/livez", "port": "https", "scheme": "HTTPS"},
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "200Mi"}}
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["volumeMounts"] == [{"name": "tmp-dir", "mountPath": "/tmp"}]
    deploy = find(objs, "Deployment", "metrics-server")
    spec = deploy["spec"]
    assert "replicas" not in spec
    assert spec["strategy"] == {"rollingUpdate": {"maxUnavailable": 0}}
    assert spec["selector"] == {"matchLabels": {"k8s-app": "metrics-server"}}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "metrics-server"
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["volumes"] == [{"name": "tmp-dir", "emptyDir": {}}]
    service = find(objs, "Service", "metrics-server")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}
    ]
    assert service["spec"]["selector"] == {"k8s-app": "metrics-server"}
    apiservice = find(objs, "APIService", "v1beta1.metrics.k8s.io")
    assert apiservice["spec"] == {
        "group": "metrics.k8s.io",
        "version": "v1beta1",
        "service": {"name": "metrics-server", "namespace": "kube-system"},
        "insecureSkipTLSVerify": True,
        "groupPriorityMinimum": 100,
        "versionPriority": 100,
    }


def test_rbac_rules_match_upstream() -> None:
    objs = render(MANIFESTS / "base", VERSIONS[-1])
    reader = find(objs, "ClusterRole", "system:aggregated-metrics-reader")
    assert reader["rules"] == [
        {
            "apiGroups": ["metrics.k8s.io"],
            "resources": ["pods", "nodes"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    for verb in ("admin", "edit", "view"):
        assert reader["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{verb}"] == (
            "true"
        )
    server = find(objs, "ClusterRole", "system:metrics-server")
    assert server["rules"] == [
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
    ]
    reader_binding = find(objs, "RoleBinding", "metrics-server-auth-reader")
    assert reader_binding["metadata"]["namespace"] == "kube-system"
    assert reader_binding["roleRef"]["name"] == "extension-apiserver-authentication-reader"
    delegator = find(objs, "ClusterRoleBinding", "metrics-server:system:auth-delegator")
    assert delegator["roleRef"]["name"] == "system:auth-delegator"
    for binding in (reader_binding, delegator):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}
        ]


@pytest.mark.parametrize(
    ("overlay", "extra_args", "pull_policy"),
    [
        ("insecure-tls", ["--kubelet-insecure-tls"], "IfNotPresent"),
        ("secure", [], "IfNotPresent"),
        ("ha", [], "IfNotPresent"),
        (
            "test",
            ["--kubelet-insecure-tls", "--v=4", "--node-selector=metrics-server-skip!=true"],
            "Never",
        ),
    ],
)
def test_overlay_args(overlay: str, extra_args: list[str], pull_policy: str) -> None:
    c = container(render(MANIFESTS / "overlays" / overlay, VERSIONS[-1]))
    assert c["args"] == BASE_ARGS + extra_args
    assert c["imagePullPolicy"] == pull_policy


def test_ha_overlay_matches_upstreams_high_availability_manifest() -> None:
    objs = render(MANIFESTS / "overlays" / "ha", VERSIONS[-1])
    spec = find(objs, "Deployment", "metrics-server")["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"rollingUpdate": {"maxUnavailable": 1}}
    assert spec["template"]["spec"]["affinity"] == {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {"k8s-app": "metrics-server"}},
                    "namespaces": ["kube-system"],
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }
    pdb = find(objs, "PodDisruptionBudget", "metrics-server")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {
        "minAvailable": 1,
        "selector": {"matchLabels": {"k8s-app": "metrics-server"}},
    }


def test_cluster_configs() -> None:
    plain = yaml.safe_load((ROOT / "kind" / "cluster.yaml").read_text())
    secure = yaml.safe_load((ROOT / "kind" / "cluster-secure.yaml").read_text())
    for cfg in (plain, secure):
        assert cfg["kind"] == "Cluster"
        assert [n["role"] for n in cfg["nodes"]] == ["control-plane", "worker", "worker"]
        assert cfg["nodes"][2]["labels"] == {"metrics-server-skip": True}
        patch = yaml.safe_load(cfg["nodes"][0]["kubeadmConfigPatches"][0])
        assert patch["apiServer"]["extraArgs"] == {"enable-aggregator-routing": "true"}
    kubelet = yaml.safe_load(secure["kubeadmConfigPatches"][0])
    assert kubelet == {"kind": "KubeletConfiguration", "serverTLSBootstrap": True}
    assert "kubeadmConfigPatches" not in plain


def test_components_yaml_is_the_rendered_base() -> None:
    shipped = yaml.safe_load_all((MANIFESTS / "components.yaml").read_text())
    assert [d for d in shipped if d] == render(MANIFESTS / "base", VERSIONS[-1])
