"""The real kubectl installs the kind manifests into the simulated control plane.

For every overlay and installed kubectl: ``kubectl apply`` prints upstream's ``… created``
lines; the controllers turn the Deployment into a ReplicaSet and a pod whose container runs as
a local process (a stand-in command mapped to ``metricsd:dev``); ``kubectl get`` shows them;
every field of the rendered manifests comes back from ``kubectl get -o json``; a second apply
with an added arg rolls the pod, and ``kubectl rollout status`` reports success.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from fakeapiserver.app import APIServer
from fakeapiserver.controllers import ControllerManager, LocalImages, wire_controllers
from fakeapiserver.localpods import LocalPod, LocalPods
from fakeapiserver.reviews import wire_auth
from fakekubelet.addresses import free_loopback_base
from metricsd.clock import VirtualClock
from tests.integration.ctrl_standin import STANDIN_CODE
from tests.kubectl_bins import kubectl_dir, kubectl_versions
from tests.unit.fakeapiserver.ctrl_support import node

pytestmark = pytest.mark.kubectl

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
NS = "kube-system"
OVERLAYS = ("insecure-tls", "secure", "test", "ha")

#: metrics-server's components.yaml, as `kubectl apply` reports it (v0.7.1 release manifest).
UPSTREAM_CREATED = [
    "serviceaccount/metrics-server created",
    "clusterrole.rbac.authorization.k8s.io/system:aggregated-metrics-reader created",
    "clusterrole.rbac.authorization.k8s.io/system:metrics-server created",
    "rolebinding.rbac.authorization.k8s.io/metrics-server-auth-reader created",
    "clusterrolebinding.rbac.authorization.k8s.io/metrics-server:system:auth-delegator created",
    "clusterrolebinding.rbac.authorization.k8s.io/system:metrics-server created",
    "service/metrics-server created",
    "deployment.apps/metrics-server created",
    "apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io created",
]


VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)


class SimCluster:
    """APIServer + auth + controllers + local pods on an event loop in a background thread."""

    def __init__(self, state_dir: Path, nodes: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.state_dir = state_dir
        self.server = APIServer(state_dir / "cp")
        self.clock = VirtualClock(start=time.time())  # probes and back-off; ages stay real
        self.local_pods = LocalPods(self.server.store, self.clock)
        images = LocalImages.from_mapping(
            {"metricsd:dev": [sys.executable, "-c", STANDIN_CODE]}, include_defaults=False)
        base = free_loopback_base(16, 10250)
        cidr = base.rsplit(".", 1)[0] + ".0/24"

        async def start() -> ControllerManager:
            await self.server.start()
            auth = wire_auth(self.server)
            self.server.set_subresource_handler("pods", "log", self.local_pods.log_handler)
            for i in range(nodes):
                self.server.store.create("nodes", node(f"node-{i + 1}", f"127.1.0.{i + 1}"))
            return wire_controllers(self.server, auth=auth, local_pods=self.local_pods,
                                    images=images, pod_cidr=cidr, workdir=state_dir / "pods")

        self.controllers = self.run(start)

    def run(self, fn: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
        async def wrapped() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped)

    def settle(self) -> None:
        self.run(self.controllers.settle)

    def close(self) -> None:
        async def stop() -> None:
            await self.controllers.stop()
            await self.local_pods.stop()
            await self.server.stop()

        self.run(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # -- the kubelet stand-in's side ---------------------------------------------------------
    def local(self, name: str) -> LocalPod:
        local = self.call(lambda: self.local_pods.get(NS, name))
        assert local is not None, f"pod {name} has no local process"
        return local

    def wait_serving(self, name: str) -> None:
        local = self.local(name)

        async def wait() -> None:
            while not any(line.startswith("serving") for _ts, line in list(local.logs.lines)):
                if local.logs.closed:
                    raise AssertionError("process ended: " + local.logs.render())
                await local.logs.wait()

        self.run(wait)

    def make_ready(self, name: str) -> None:
        """Let the readiness probe's initial delay pass; wait for the Ready status write."""
        local = self.local(name)
        self.wait_serving(name)

        async def ready() -> None:
            await self.clock.advance(20)
            while not local.state.ready:
                await local.wait_changed()
            await self.controllers.settle()

        self.run(ready)


def kubectl(version: str, home: Path, kubeconfig: Path, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    base = kubectl_dir()
    assert base is not None
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run([str(base / f"kubectl.{version}"), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc


def render(overlay: str, version: str, home: Path) -> str:
    base = kubectl_dir()
    assert base is not None
    return subprocess.run([str(base / f"kubectl.{version}"), "kustomize",
                           str(ROOT / "kind" / "manifests" / "overlays" / overlay)],
                          capture_output=True, text=True, check=True, timeout=60,
                          env={"HOME": str(home), "PATH": os.environ.get("PATH", "")}).stdout


def subset_mismatches(want: Any, got: Any, path: str = "") -> list[str]:
    """Where ``got`` lacks or differs from a field given in ``want`` (extra fields in ``got``
    — server-added metadata, status, defaults — are fine)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path or '/'}: expected an object, got {got!r}"]
        out: list[str] = []
        for key, value in want.items():
            if key not in got:
                out.append(f"{path}/{key}: missing")
            else:
                out += subset_mismatches(value, got[key], f"{path}/{key}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: expected {want!r}, got {got!r}"]
        out = []
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            out += subset_mismatches(w, g, f"{path}[{i}]")
        return out
    return [] if want == got else [f"{path}: expected {want!r}, got {got!r}"]


def test_subset_mismatches_reports_missing_and_changed_fields() -> None:
    want = {"a": {"b": [1, {"c": "x"}]}, "d": 0}
    assert subset_mismatches(want, {"a": {"b": [1, {"c": "x", "e": 1}]}, "d": 0, "z": 1}) == []
    assert subset_mismatches(want, {"a": {"b": [1, {"c": "y"}]}}) == [
        "/a/b[1]/c: expected 'x', got 'y'", "/d: missing"]
    assert subset_mismatches({"l": [1, 2]}, {"l": [1]}) == ["/l: expected [1, 2], got [1]"]


def expected_created(docs: list[dict[str, Any]]) -> list[str]:
    lines = list(UPSTREAM_CREATED)
    if any(d["kind"] == "PodDisruptionBudget" for d in docs):
        lines.insert(lines.index("deployment.apps/metrics-server created") + 1,
                     "poddisruptionbudget.policy/metrics-server created")
    return lines


def matrix() -> list[tuple[str, str]]:
    """Every installed kubectl with the walkthrough's overlay; the others with the oldest,
    1.30, 1.33 and the newest (keeps the suite short)."""
    picked = sorted({v for v in VERSIONS if v in ("1.30", "1.33")} | {VERSIONS[0], VERSIONS[-1]})
    return [(o, v) for o in OVERLAYS for v in (VERSIONS if o == "insecure-tls" else picked)]


@pytest.fixture(params=matrix(),
                ids=lambda p: f"{p[0]}-{p[1]}")
def installed(request: pytest.FixtureRequest, tmp_path: Path
              ) -> Iterator[tuple[SimCluster, str, str, Path, str]]:
    overlay, version = request.param
    cluster = SimCluster(tmp_path, nodes=2)
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield cluster, overlay, version, home, render(overlay, version, home)
    finally:
        cluster.close()


def test_apply_creates_and_runs_and_rolls(installed: tuple[SimCluster, str, str, Path, str]
                                          ) -> None:
    cluster, _overlay, version, home, manifests = installed
    kubeconfig = cluster.server.kubeconfig_path
    docs = [d for d in yaml.safe_load_all(manifests) if d]
    out = kubectl(version, home, kubeconfig, "apply", "--validate=false", "-f", "-",
                  stdin=manifests)
    assert out.stdout.splitlines() == expected_created(docs)
    cluster.settle()

    # every given field comes back
    for doc in docs:
        ns = doc["metadata"].get("namespace")
        kind = doc["kind"].lower() + ("." + doc["apiVersion"].split("/")[0]
                                      if "/" in doc["apiVersion"] else "")
        args = ["get", kind, doc["metadata"]["name"], "-o", "json"] + (["-n", ns] if ns else [])
        got = json.loads(kubectl(version, home, kubeconfig, *args).stdout)
        assert subset_mismatches(doc, got) == [], f"{doc['kind']}/{doc['metadata']['name']}"

    deployment = next(d for d in docs if d["kind"] == "Deployment")
    replicas = deployment["spec"].get("replicas", 1)
    pods = json.loads(kubectl(version, home, kubeconfig, "get", "pods", "-n", NS,
                              "-o", "json").stdout)["items"]
    assert len(pods) == replicas
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["metadata"]["labels"]["k8s-app"] == "metrics-server"
        assert pod["spec"]["containers"] == deployment["spec"]["template"]["spec"]["containers"]
    if replicas > 1:  # required anti-affinity on the hostname: one per node
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-1", "node-2"]

    table = kubectl(version, home, kubeconfig, "get", "deploy,rs,pods", "-n", NS).stdout
    rs_name = next(line.split()[0] for line in table.splitlines()
                   if line.startswith("replicaset.apps/"))
    assert rs_name.startswith("replicaset.apps/metrics-server-")
    assert f"deployment.apps/metrics-server   0/{replicas}" in table
    for pod in pods:
        assert f"pod/{pod['metadata']['name']}" in table
        assert pod["metadata"]["name"].startswith(rs_name.removeprefix("replicaset.apps/") + "-")

    # readiness probe passes → Ready pods, Endpoints with the pod IPs, deployment available
    for pod in pods:
        cluster.make_ready(pod["metadata"]["name"])
    ep = json.loads(kubectl(version, home, kubeconfig, "get", "endpoints", "metrics-server",
                            "-n", NS, "-o", "json").stdout)
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == sorted(
        p["status"]["podIP"] for p in pods)
    assert ep["subsets"][0]["ports"] == [{"name": "https", "port": 10250, "protocol": "TCP"}]
    status = kubectl(version, home, kubeconfig, "rollout", "status", "deployment/metrics-server",
                     "-n", NS, "--timeout=30s")
    assert status.stdout.strip().endswith('deployment "metrics-server" successfully rolled out')
    if any(d["kind"] == "PodDisruptionBudget" for d in docs):
        pdb = kubectl(version, home, kubeconfig, "get", "pdb", "-n", NS).stdout.splitlines()
        assert pdb[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                  "DISRUPTIONS", "AGE"]
        assert pdb[1].split()[:4] == ["metrics-server", "1", "N/A", "1"]

    # a second apply with an added arg rolls the pods
    changed = [d for d in yaml.safe_load_all(manifests) if d]
    dep = next(d for d in changed if d["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["args"].append("--v=6")
    out = kubectl(version, home, kubeconfig, "apply", "--validate=false", "-f", "-",
                  stdin=yaml.safe_dump_all(changed))
    assert "deployment.apps/metrics-server configured" in out.stdout.splitlines()
    assert "service/metrics-server unchanged" in out.stdout.splitlines()
    old_names = {p["metadata"]["name"] for p in pods}
    base = kubectl_dir()
    assert base is not None
    watchers_before = cluster.call(lambda: cluster.server.store.watcher_count("deployments"))
    watching = subprocess.Popen(  # rollout status watches while the rollout runs
        [str(base / f"kubectl.{version}"), "rollout", "status", "deployment/metrics-server",
         "-n", NS, "--timeout=60s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"HOME": str(home), "PATH": os.environ.get("PATH", ""),
             "KUBECONFIG": str(kubeconfig)})
    # Let `rollout status` reach its watch before the new pods become ready, so it sees the
    # rollout in progress (otherwise it may only ever see the finished state).
    deadline = time.monotonic() + 30
    while cluster.call(lambda: cluster.server.store.watcher_count("deployments")) <= (
        watchers_before
    ):
        assert watching.poll() is None, watching.communicate()
        assert time.monotonic() < deadline, "kubectl rollout status never started watching"
        time.sleep(0.05)
    for _round in range(4):
        cluster.settle()
        current = cluster.call(lambda: cluster.server.store.list("pods", NS))
        fresh = [p for p in current if p["metadata"]["name"] not in old_names
                 and not any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in p["status"].get("conditions") or [])
                 and p["spec"].get("nodeName")]
        for pod in fresh:
            cluster.make_ready(pod["metadata"]["name"])
        if not any(p["metadata"]["name"] in old_names for p in current) and len(
                current) == replicas:
            break
    watched_out, watched_err = watching.communicate(timeout=90)
    assert watching.returncode == 0, watched_err
    assert "Waiting for deployment \"metrics-server\" rollout to finish" in watched_out
    assert watched_out.strip().endswith('deployment "metrics-server" successfully rolled out')
    final = json.loads(kubectl(version, home, kubeconfig, "get", "pods", "-n", NS,
                               "-o", "json").stdout)["items"]
    assert len(final) == replicas
    assert not old_names & {p["metadata"]["name"] for p in final}
    assert all("--v=6" in p["spec"]["containers"][0]["args"] for p in final)
    status = kubectl(version, home, kubeconfig, "rollout", "status", "deployment/metrics-server",
                     "-n", NS, "--timeout=30s")
    assert status.stdout.strip().endswith('deployment "metrics-server" successfully rolled out')
    rs = json.loads(kubectl(version, home, kubeconfig, "get", "rs", "-n", NS,
                            "-o", "json").stdout)["items"]
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, replicas]
