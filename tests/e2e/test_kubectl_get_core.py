"""The real kubectl binaries (1.27 … 1.33) against the simulated control plane.

One APIServer per module runs in a background thread with a settable clock, so ages print
deterministically; each kubectl version gets its own HOME (discovery cache) and its own
namespace / cluster-scoped names, so versions don't interfere.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from fakeapiserver.app import APIServer
from tests.kubectl_bins import kubectl_dir, kubectl_versions

pytestmark = pytest.mark.kubectl

T = TypeVar("T")
T0 = 1_750_000_000.0


VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)


class ThreadedServer:
    """An APIServer on its own event loop thread; ``call`` runs code on that loop."""

    def __init__(self, state_dir: Path) -> None:
        self.now = T0
        self.loop = asyncio.new_event_loop()
        self.server = self.make_server(state_dir)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)

    def make_server(self, state_dir: Path) -> APIServer:
        return APIServer(state_dir, clock=lambda: self.now)

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def node(name: str, ip: str, roles: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, **{f"node-role.kubernetes.io/{r}": "" for r in roles}}},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status"}],
                   "addresses": [{"type": "InternalIP", "address": ip},
                                 {"type": "Hostname", "address": name}],
                   "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "nodeInfo": {"kubeletVersion": "v1.30.2", "osImage": "Debian GNU/Linux 12",
                                "kernelVersion": "6.1.0", "containerRuntimeVersion":
                                "containerd://1.7.13", "operatingSystem": "linux",
                                "architecture": "amd64"}}}


def pod(name: str, ns: str, node_name: str, ip: str, ready: bool = True,
        restarts: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": {"app": name.split("-")[0]}},
            "spec": {"nodeName": node_name, "containers": [{"name": "main", "image": "img:1"}]},
            "status": {"phase": "Running", "podIP": ip, "containerStatuses": [{
                "name": "main", "ready": ready, "restartCount": restarts, "image": "img:1",
                "imageID": "", "started": True,
                "state": {"running": {"startedAt": "2025-06-15T15:06:40Z"}}}]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    srv = ThreadedServer(tmp_path_factory.mktemp("apiserver"))

    def seed() -> None:
        store = srv.server.store
        store.create("nodes", node("node-a", "127.0.1.1", ("control-plane",)))
        store.create("nodes", node("node-b", "127.0.1.2"))
        store.create("pods", pod("web-1", "default", "node-a", "10.244.0.5"))
        store.create("pods", pod("web-2", "default", "node-b", "10.244.1.7", ready=False,
                                 restarts=2))
        store.create("pods", pod("dns-1", "kube-system", "node-b", "10.244.1.9"))
        store.create("events", {
            "metadata": {"name": "node-b.1", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": "node-b", "uid": store.get(
                "nodes", "node-b")["metadata"]["uid"]},
            "reason": "NodeReady", "message": "Node node-b status is now: NodeReady",
            "type": "Normal", "source": {"component": "kubelet", "host": "node-b"},
            "firstTimestamp": "2025-06-15T15:06:40Z", "lastTimestamp": "2025-06-15T15:06:40Z",
            "count": 1})

    srv.call(seed)
    srv.now = T0 + 145  # every object is 2m25s old
    yield srv
    srv.close()


@pytest.fixture(params=VERSIONS)
def kubectl(request: pytest.FixtureRequest, cluster: ThreadedServer,
            tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess]:
    version: str = request.param
    binary = kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    home = tmp_path_factory.mktemp(f"home-{version}")
    env = {"HOME": str(home), "KUBECONFIG": str(cluster.server.kubeconfig_path),
           "PATH": os.environ.get("PATH", "")}

    def run(*args: str, stdin: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(binary), *args], env=env, input=stdin, capture_output=True,
                              text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl.{version} {' '.join(args)} failed: {proc.stderr}")
        return proc

    run.version = version  # type: ignore[attr-defined]
    return run


def lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.splitlines()]


def test_get_nodes(kubectl: Callable[..., subprocess.CompletedProcess]) -> None:
    out = kubectl("get", "nodes").stdout
    assert lines(out) == [
        "NAME     STATUS   ROLES           AGE     VERSION",
        "node-a   Ready    control-plane   2m25s   v1.30.2",
        "node-b   Ready    <none>          2m25s   v1.30.2",
    ]
    wide = lines(kubectl("get", "nodes", "-o", "wide").stdout)
    assert wide[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                               "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert "127.0.1.2     <none>        Debian GNU/Linux 12" in wide[2]


def test_get_pods(kubectl: Callable[..., subprocess.CompletedProcess]) -> None:
    assert lines(kubectl("get", "pods", "-A").stdout) == [
        "NAMESPACE     NAME    READY   STATUS    RESTARTS   AGE",
        "default       web-1   1/1     Running   0          2m25s",
        "default       web-2   0/1     Running   2          2m25s",
        "kube-system   dns-1   1/1     Running   0          2m25s",
    ]
    assert lines(kubectl("get", "pods", "-o", "wide").stdout) == [
        "NAME    READY   STATUS    RESTARTS   AGE     IP           NODE     NOMINATED NODE   "
        "READINESS GATES",
        "web-1   1/1     Running   0          2m25s   10.244.0.5   node-a   <none>           "
        "<none>",
        "web-2   0/1     Running   2          2m25s   10.244.1.7   node-b   <none>           "
        "<none>",
    ]


def test_selectors(kubectl: Callable[..., subprocess.CompletedProcess]) -> None:
    out = kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=node-b",
                  "-o", "name").stdout
    assert lines(out) == ["pod/web-2", "pod/dns-1"]
    out = kubectl("get", "pods", "-l", "app=web", "-o", "name").stdout
    assert lines(out) == ["pod/web-1", "pod/web-2"]
    out = kubectl("get", "pods", "-A", "-l", "app notin (web)", "-o", "name").stdout
    assert lines(out) == ["pod/dns-1"]
    bad = kubectl("get", "pods", "--field-selector", "spec.color=red", check=False)
    assert bad.returncode == 1
    assert "field label not supported: spec.color" in bad.stderr
    assert bad.stderr.startswith("Error from server (BadRequest)")


def test_raw_version(kubectl: Callable[..., subprocess.CompletedProcess],
                     cluster: ThreadedServer) -> None:
    out = kubectl("get", "--raw", "/version").stdout
    assert json.loads(out) == cluster.server.version_info()
    missing = kubectl("get", "pod", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_describe_node_shows_events(kubectl: Callable[..., subprocess.CompletedProcess]) -> None:
    out = kubectl("describe", "node", "node-b").stdout
    assert out.startswith("Name:               node-b\nRoles:              <none>\n")
    assert "InternalIP:  127.0.1.2" in out
    assert "default                     web-2" in out  # non-terminated pods on the node
    events = [ln for ln in lines(out) if "NodeReady" in ln]
    assert events and "Node node-b status is now: NodeReady" in events[0]


def manifests(suffix: str, ns: str) -> str:
    return f"""\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: metrics-server
  namespace: {ns}
  labels: {{k8s-app: metrics-server}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:metrics-server-{suffix}
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: metrics-server-auth-reader
  namespace: {ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
- kind: ServiceAccount
  name: metrics-server
  namespace: {ns}
---
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: {ns}
spec:
  ports:
  - name: https
    port: 443
    protocol: TCP
    targetPort: https
  selector:
    k8s-app: metrics-server
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: metrics-server
  namespace: {ns}
spec:
  selector:
    matchLabels: {{k8s-app: metrics-server}}
  template:
    metadata:
      labels: {{k8s-app: metrics-server}}
    spec:
      serviceAccountName: metrics-server
      containers:
      - name: metrics-server
        image: registry.k8s.io/metrics-server/metrics-server:v0.7.2
        args: [--cert-dir=/tmp, --secure-port=10250, --metric-resolution=15s]
        ports:
        - {{containerPort: 10250, name: https, protocol: TCP}}
        volumeMounts:
        - {{mountPath: /tmp, name: tmp-dir}}
      volumes:
      - {{emptyDir: {{}}, name: tmp-dir}}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.m{suffix}.example.com
spec:
  group: m{suffix}.example.com
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    name: metrics-server
    namespace: {ns}
"""


def test_create_apply_get_delete(kubectl: Callable[..., subprocess.CompletedProcess],
                                 cluster: ThreadedServer, tmp_path: Path) -> None:
    version = kubectl.version  # type: ignore[attr-defined]
    suffix = version.replace(".", "-")
    ns = f"ms-{suffix}"
    assert kubectl("create", "namespace", ns).stdout.strip() == f"namespace/{ns} created"
    path = tmp_path / "components.yaml"
    path.write_text(manifests(suffix, ns))
    created = lines(kubectl("create", "--validate=false", "-f", str(path)).stdout)
    assert created == [
        "serviceaccount/metrics-server created",
        f"clusterrole.rbac.authorization.k8s.io/system:metrics-server-{suffix} created",
        "rolebinding.rbac.authorization.k8s.io/metrics-server-auth-reader created",
        "service/metrics-server created",
        "deployment.apps/metrics-server created",
        f"apiservice.apiregistration.k8s.io/v1beta1.m{suffix}.example.com created",
    ]
    first = kubectl("apply", "--validate=false", "-f", str(path))
    assert all(ln.endswith(" configured") for ln in lines(first.stdout))
    assert "missing the kubectl.kubernetes.io/last-applied-configuration" in first.stderr
    second = lines(kubectl("apply", "--validate=false", "-f", str(path)).stdout)
    assert second == [ln.replace(" created", " unchanged") for ln in created]
    edited = manifests(suffix, ns).replace("--metric-resolution=15s", "--metric-resolution=30s")
    path.write_text(edited)
    third = lines(kubectl("apply", "--validate=false", "-f", str(path)).stdout)
    assert third[4] == "deployment.apps/metrics-server configured"
    assert [ln for i, ln in enumerate(third) if i != 4] == [
        ln.replace(" created", " unchanged") for i, ln in enumerate(created) if i != 4]
    stored = cluster.call(lambda: cluster.server.store.get("deployments", "metrics-server", ns))
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-1] == "--metric-resolution=30s"
    assert container["ports"] == [{"containerPort": 10250, "name": "https", "protocol": "TCP"}]

    svc = lines(kubectl("get", "apiservice", f"v1beta1.m{suffix}.example.com").stdout)
    assert svc[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
    assert svc[1].split()[:3] == [f"v1beta1.m{suffix}.example.com", f"{ns}/metrics-server",
                                  "Unknown"]
    local = lines(kubectl("get", "apiservices").stdout)
    assert any(ln.split()[:3] == ["v1.apps", "Local", "True"] for ln in local)

    as_yaml = kubectl("get", "deployment", "metrics-server", "-n", ns, "-o", "yaml").stdout
    doc = yaml.safe_load(as_yaml)
    assert doc["kind"] == "Deployment" and doc["metadata"]["namespace"] == ns
    doc["metadata"]["labels"] = {"edited": "yes"}
    replaced = kubectl("replace", "--validate=false", "-f", "-", stdin=yaml.safe_dump(doc)).stdout
    assert replaced.strip() == "deployment.apps/metrics-server replaced"
    stale = kubectl("replace", "--validate=false", "-f", "-", stdin=yaml.safe_dump(doc),
                    check=False)
    assert stale.returncode == 1 and "the object has been modified" in stale.stderr

    deleted = lines(kubectl("delete", "-f", str(path)).stdout)
    assert deleted[0] == 'serviceaccount "metrics-server" deleted'
    assert deleted[4] == 'deployment.apps "metrics-server" deleted'
    assert kubectl("get", "deploy", "-n", ns, check=False).stderr.strip() == (
        f"No resources found in {ns} namespace.")
    kubectl("delete", "namespace", ns)


def test_typed_creates_and_auth(kubectl: Callable[..., subprocess.CompletedProcess],
                                cluster: ThreadedServer) -> None:
    """kubectl ≥1.32 POSTs these as protobuf; every version must work the same."""
    version = kubectl.version  # type: ignore[attr-defined]
    ns = f"typed-{version.replace('.', '-')}"
    assert kubectl("create", "namespace", ns).stdout.strip() == f"namespace/{ns} created"
    kubectl("create", "configmap", "cm", "--from-literal=k=v", "-n", ns)
    kubectl("create", "secret", "generic", "s", "--from-literal=pw=hunter2", "-n", ns)
    kubectl("create", "serviceaccount", "bot", "-n", ns)
    kubectl("create", "rolebinding", "rb", "--clusterrole=view", f"--serviceaccount={ns}:bot",
            "-n", ns)
    store = cluster.server.store
    assert cluster.call(lambda: store.get("configmaps", "cm", ns))["data"] == {"k": "v"}
    assert cluster.call(lambda: store.get("secrets", "s", ns))["data"] == {"pw": "aHVudGVyMg=="}
    binding = cluster.call(lambda: store.get("rolebindings", "rb", ns))
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bot", "namespace": ns}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "ClusterRole", "name": "view"}
    assert kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    assert lines(kubectl("get", "sa", "-n", ns).stdout)[0].split() == ["NAME", "SECRETS", "AGE"]
    assert kubectl("delete", "namespace", ns).stdout.strip() == f'namespace "{ns}" deleted'


def test_chunked_list_and_describe_pod(kubectl: Callable[..., subprocess.CompletedProcess]
                                       ) -> None:
    out = kubectl("get", "pods", "-A", "--chunk-size=1", "-o", "name").stdout
    assert lines(out) == ["pod/web-1", "pod/web-2", "pod/dns-1"]
    table = lines(kubectl("get", "pods", "-A", "--chunk-size=2").stdout)
    assert [ln.split()[1] for ln in table] == ["NAME", "web-1", "web-2", "dns-1"]
    described = kubectl("describe", "pod", "web-2").stdout
    assert "Node:             node-b/" in described
    assert "Restart Count:  2" in described and "IP:               10.244.1.7" in described


def test_watch_streams_table_rows(kubectl: Callable[..., subprocess.CompletedProcess],
                                  cluster: ThreadedServer) -> None:
    version = kubectl.version  # type: ignore[attr-defined]
    binary = kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    env = {"HOME": str(cluster.server.state_dir / f"watch-home-{version}"),
           "KUBECONFIG": str(cluster.server.kubeconfig_path)}
    name = f"watched-{version.replace('.', '-')}"
    proc = subprocess.Popen([str(binary), "get", "configmaps", "-n", "kube-public", "-w",
                             "--output-watch-events"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        cluster.call(lambda: cluster.server.store.create(
            "configmaps", {"metadata": {"name": name, "namespace": "kube-public"},
                           "data": {"a": "b"}}))
        seen: list[str] = []
        while not any(name in ln for ln in seen):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            seen.append(line.rstrip())
        assert seen[0].split() == ["EVENT", "NAME", "DATA", "AGE"]
        assert seen[-1].split()[:3] == ["ADDED", name, "1"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_server_side_apply_and_dry_run(kubectl: Callable[..., subprocess.CompletedProcess],
                                       cluster: ThreadedServer) -> None:
    version = kubectl.version  # type: ignore[attr-defined]
    name = f"ssa-{version.replace('.', '-')}"
    doc = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: '1'\n"
    out = kubectl("apply", "--server-side", "--validate=false", "-f", "-", stdin=doc).stdout
    assert out.strip() == f"configmap/{name} serverside-applied"
    doc2 = doc.replace("a: '1'", "b: '2'")
    kubectl("apply", "--server-side", "--validate=false", "-f", "-", stdin=doc2)
    stored = cluster.call(lambda: cluster.server.store.get("configmaps", name, "default"))
    assert stored["data"] == {"a": "1", "b": "2"}  # simplified SSA: create-or-merge
    out = kubectl("delete", "configmap", name, "--dry-run=server").stdout
    assert out.strip() == f'configmap "{name}" deleted (server dry run)'
    assert cluster.call(lambda: cluster.server.store.try_get("configmaps", name, "default"))
    kubectl("delete", "configmap", name)


def test_generators_and_autoscale(kubectl: Callable[..., subprocess.CompletedProcess],
                                  cluster: ThreadedServer) -> None:
    """Typed generators (protobuf bodies on 1.32+) and HPA v1/v2 served from one storage."""
    version = kubectl.version  # type: ignore[attr-defined]
    ns = f"gen-{version.replace('.', '-')}"
    kubectl("create", "namespace", ns)
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--port=80", "--replicas=2",
            "-n", ns)
    kubectl("run", "one", "--image=busybox", "--restart=Never", "--env=A=b", "-n", ns, "--",
            "sleep", "10")
    kubectl("create", "service", "clusterip", "web", "--tcp=80:8080", "-n", ns)
    out = kubectl("autoscale", "deployment", "web", "--cpu-percent=70", "--min=2", "--max=5",
                  "-n", ns).stdout
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    store = cluster.server.store
    deploy = cluster.call(lambda: store.get("deployments", "web", ns))
    assert deploy["spec"]["replicas"] == 2
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("nginx", "nginx:1.27")
    assert container["ports"][0]["containerPort"] == 80
    pod = cluster.call(lambda: store.get("pods", "one", ns))
    assert pod["spec"]["containers"][0]["args"] == ["sleep", "10"]
    assert pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "b"}]
    svc = cluster.call(lambda: store.get("services", "web", ns))
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    hpa = cluster.call(lambda: store.get("hpa", "web", ns))  # stored as autoscaling/v2
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]
    table = lines(kubectl("get", "hpa", "-n", ns).stdout)
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                "REPLICAS", "AGE"]
    # the server prints TARGETS as the emulated version does (1.30: with the resource name)
    assert table[1].split()[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/70%", "2", "5",
                                    "0"]
    v1 = json.loads(kubectl("get", "horizontalpodautoscalers.v1.autoscaling", "web", "-n", ns,
                            "-o", "json").stdout)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    kubectl("delete", "namespace", ns)


def test_validation_on_by_default(kubectl: Callable[..., subprocess.CompletedProcess]) -> None:
    """Without --validate=false kubectl first checks the server's OpenAPI for fieldValidation
    support (v2 protobuf on 1.27/1.28, v3 JSON later), then sends fieldValidation=Strict."""
    version = kubectl.version  # type: ignore[attr-defined]
    name = f"validated-{version.replace('.', '-')}"
    doc = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: '1'\n"
    assert kubectl("create", "-f", "-", stdin=doc).stdout.strip() == f"configmap/{name} created"
    assert kubectl("apply", "-f", "-", stdin=doc.replace("'1'", "'2'")).stdout.strip() == (
        f"configmap/{name} configured")
    kubectl("delete", "configmap", name)
