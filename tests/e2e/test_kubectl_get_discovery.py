"""Every installed kubectl against emulated servers before, inside and after the
aggregated-discovery eras (1.26 legacy only, 1.29 v2beta1, 1.33 v2 only)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakeapiserver.app import APIServer
from tests.e2e.test_kubectl_get_core import VERSIONS, ThreadedServer, kubectl_dir

pytestmark = pytest.mark.kubectl

SERVER_VERSIONS = ["1.26", "1.29", "1.33"]


class VersionedServer(ThreadedServer):
    def __init__(self, state_dir: Path, kube_version: str) -> None:
        self.kube_version = kube_version
        super().__init__(state_dir)

    def make_server(self, state_dir: Path) -> APIServer:
        return APIServer(state_dir, kube_version=self.kube_version, clock=lambda: self.now)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ThreadedServer]]:
    started: dict[str, ThreadedServer] = {
        v: VersionedServer(tmp_path_factory.mktemp(f"srv-{v}"), v) for v in SERVER_VERSIONS}
    apiservice = {"metadata": {"name": "v1beta1.metrics.k8s.io"},
                  "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                           "groupPriorityMinimum": 100, "versionPriority": 100,
                           "service": {"namespace": "kube-system", "name": "metrics-server"}}}
    for srv in started.values():
        store = srv.server.store
        srv.call(lambda store=store: store.create("apiservices", apiservice))  # type: ignore[misc]
    yield started
    for srv in started.values():
        srv.close()


@pytest.mark.parametrize("server_version", SERVER_VERSIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_get_and_api_versions(servers: dict[str, ThreadedServer], server_version: str,
                              version: str, tmp_path: Path) -> None:
    srv = servers[server_version]
    env = {"HOME": str(tmp_path), "KUBECONFIG": str(srv.server.kubeconfig_path),
           "PATH": os.environ.get("PATH", "")}
    binary = str(kubectl_dir() / f"kubectl.{version}")  # type: ignore[operator]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary, *args], env=env, capture_output=True, text=True,
                              timeout=60)

    got = run("get", "apiservices", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert "apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io" in got.stdout.split()
    versions = run("api-versions").stdout.split()
    assert "apps/v1" in versions and "v1" in versions
    # Legacy discovery lists every APIService group; aggregated discovery drops the Stale one.
    aggregated = server_version >= "1.27" and not (server_version >= "1.33"
                                                     and version <= "1.29")
    assert ("metrics.k8s.io/v1beta1" in versions) == (not aggregated)
    raw = json.loads(run("get", "--raw", "/version").stdout)
    assert raw["minor"] == server_version.split(".")[1]
