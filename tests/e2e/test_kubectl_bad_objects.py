"""The real kubectl (1.27 … 1.33) sends badly typed and invalid objects: each is refused with
kube-apiserver's text — through client-side apply (create, then a strategic merge patch),
``create --validate=false``, ``replace``, ``patch`` and server-side apply — and afterwards
``kubectl get deploy`` and ``kubectl get all -A`` still work for everyone (before this, a
Deployment with a bad container list was stored and every list of Deployments answered 500).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from fakeapiserver.controllers import wire_controllers
from tests.e2e.test_kubectl_get_core import ThreadedServer
from tests.kubectl_bins import kubectl_dir, kubectl_versions

pytestmark = pytest.mark.kubectl

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    srv = ThreadedServer(tmp_path_factory.mktemp("apiserver"))
    srv.call(lambda: wire_controllers(srv.server, endpoints=False))
    yield srv
    srv.close()


@pytest.fixture(params=VERSIONS)
def kubectl(request: pytest.FixtureRequest, cluster: ThreadedServer,
            tmp_path_factory: pytest.TempPathFactory) -> Run:
    version: str = request.param
    binary = kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    home = tmp_path_factory.mktemp(f"home-{version}")
    env = {"HOME": str(home), "KUBECONFIG": str(cluster.server.kubeconfig_path),
           "PATH": os.environ.get("PATH", "")}
    ns = f"v{version.replace('.', '-')}"
    store = cluster.server.store
    cluster.call(lambda: store.try_get("namespaces", ns) or store.create(
        "namespaces", {"metadata": {"name": ns}}))

    def run(*args: str, stdin: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(binary), "-n", ns, *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl.{version} {' '.join(args)} failed: {proc.stderr}")
        return proc

    run.ns = ns  # type: ignore[attr-defined]
    return run


def deployment(name: str, replicas: object = 1, containers: object = None) -> str:
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": containers if containers is not None
                                          else [{"name": "web", "image": "nginx:1"}]}}}}
    return yaml.safe_dump(doc)


TYPE_ERROR = ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
              "unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
              "int32")


def test_bad_objects_are_refused_in_kube_apiservers_words(kubectl: Run,
                                                          cluster: ThreadedServer) -> None:
    ns = kubectl.ns  # type: ignore[attr-defined]
    banana = deployment("banana", "banana")
    for args in (("apply", "-f", "-"), ("create", "-f", "-"),
                 ("create", "--validate=false", "-f", "-")):
        bad = kubectl(*args, stdin=banana, check=False)
        assert bad.returncode == 1
        assert bad.stderr.strip() == (
            f'Error from server (BadRequest): error when creating "STDIN": {TYPE_ERROR}')
    ints = kubectl("apply", "-f", "-", stdin=deployment("ints", containers=[5]), check=False)
    assert ints.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version '
        '"v1" cannot be handled as a Deployment: json: cannot unmarshal number into Go struct '
        "field PodSpec.spec.template.spec.containers of type v1.Container")
    ssa = kubectl("apply", "--server-side", "-f", "-", stdin=banana, check=False)
    assert ssa.returncode == 1
    assert ssa.stderr.strip().endswith(
        f"failed to create typed patch object ({ns}/banana; apps/v1, Kind=Deployment): "
        ".spec.replicas: expected numeric (int or float), got string")
    negative = kubectl("apply", "-f", "-", stdin=deployment("negative", -1), check=False)
    assert negative.returncode == 1
    assert negative.stderr.strip() == (
        'The Deployment "negative" is invalid: spec.replicas: Invalid value: -1: must be '
        "greater than or equal to 0")

    kubectl("apply", "-f", "-", stdin=deployment("good", 2))
    smp = kubectl("apply", "-f", "-", stdin=deployment("good", "banana"), check=False)
    assert smp.returncode == 1
    assert smp.stderr.strip().startswith(
        'The request is invalid: patch: Invalid value: "map[metadata:map[annotations:map['
        "kubectl.kubernetes.io/last-applied-configuration:")
    assert smp.stderr.strip().endswith('spec:map[replicas:banana]]": unrecognized type: int32')
    merge = kubectl("patch", "deploy", "good", "--type=merge", "-p",
                    '{"spec":{"template":{"spec":{"containers":"web"}}}}', check=False)
    assert merge.returncode == 1
    assert merge.stderr.strip().startswith('The request is invalid: patch: Invalid value: "{')
    assert merge.stderr.strip().endswith(
        "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec."
        "containers of type []v1.Container")
    current = json.loads(kubectl("get", "deploy", "good", "-o", "json").stdout)
    current["spec"]["replicas"] = "banana"
    replace = kubectl("replace", "-f", "-", stdin=json.dumps(current), check=False)
    assert replace.stderr.strip() == (
        f'Error from server (BadRequest): error when replacing "STDIN": {TYPE_ERROR}')
    scale = kubectl("scale", "deploy", "good", "--replicas=-1", check=False)
    assert scale.returncode == 1

    # nothing bad was stored, and every list still works
    out = kubectl("get", "deploy").stdout.splitlines()
    assert [line.split()[0] for line in out] == ["NAME", "good"]
    assert json.loads(kubectl("get", "deploy", "good", "-o", "json").stdout)["spec"][
        "replicas"] == 2
    everything = kubectl("get", "all", "-A")
    assert [line.split()[:2] for line in everything.stdout.splitlines()
            if "deployment.apps/" in line and line.startswith(ns)] == [
        [ns, "deployment.apps/good"]]
    assert everything.stderr == ""


def test_hostile_bodies_through_kubectl_raw(kubectl: Run, tmp_path: Path) -> None:
    ns = kubectl.ns  # type: ignore[attr-defined]
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 200_000 + "1" + "}" * 200_000)
    out = kubectl("create", "--raw", f"/apis/apps/v1/namespaces/{ns}/deployments", "-f",
                  str(deep), check=False)
    assert out.returncode == 1
    assert "exceeded max depth" in out.stderr
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"metadata": {"name": "big", "annotations": {
        "x": "y" * (3 * 1024 * 1024)}}}))
    out = kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/configmaps", "-f", str(big),
                  check=False)
    assert out.returncode == 1
    assert "Request entity too large: limit is 3145728" in out.stderr
    assert kubectl("get", "all", "-A").returncode == 0
