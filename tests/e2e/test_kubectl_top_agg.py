"""`kubectl top` through the simulated aggregation layer, with every installed kubectl.

Three states (kubectl's top_node.go/top_pod.go and client-go's error texts): no APIService; an
APIService whose backend is not ready (the text depends on the emulated version: legacy
discovery on 1.26 gives the proxy's 503, aggregated discovery on 1.30 publishes the group
Stale); a working test backend (kubectl's tables).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_apiserver_agg_backend import (
    MetricsBackend,
    Plane,
    register_backend,
    start_plane,
    stop_plane,
    wait_available,
)
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = pytest.mark.kubectl

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)


async def kubectl(version: str, plane: Plane, home: Path, *args: str) -> tuple[int, str, str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
           "KUBECONFIG": str(plane.server.kubeconfig_path)}
    proc = await asyncio.create_subprocess_exec(
        kubectl_binary(version), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def add_nodes_and_pods(plane: Plane) -> None:
    store = plane.server.store
    for name, cpu, mem in (("node-a", "4", "16Gi"), ("node-b", "8", "8Gi")):
        store.create("nodes", {"metadata": {"name": name}, "status": {
            "capacity": {"cpu": cpu, "memory": mem, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": mem, "pods": "110"}}})
    for name in ("web-1", "web-2"):
        store.create("pods", {"metadata": {"name": name, "namespace": "default"},
                              "spec": {"containers": [{"name": "app", "image": "x"}]}})


@pytest.fixture
async def plane_130(tmp_path: Path) -> AsyncIterator[Plane]:
    plane = await start_plane(tmp_path / "cp130", "1.30")
    add_nodes_and_pods(plane)
    yield plane
    await stop_plane(plane)


@pytest.fixture
async def plane_126(tmp_path: Path) -> AsyncIterator[Plane]:
    plane = await start_plane(tmp_path / "cp126", "1.26")
    add_nodes_and_pods(plane)
    yield plane
    await stop_plane(plane)


NODE_HEADER_OLD = "NAME     CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%   "
NODE_ROWS_OLD = [
    "node-a   416m         10%    1220Mi          7%        ",
    "node-b   1500m        18%    7168Mi          87%       ",
]
NODE_HEADER_NEW = "NAME     CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   "
NODE_ROWS_NEW = [
    "node-a   416m         10%      1220Mi          7%          ",
    "node-b   1500m        18%      7168Mi          87%         ",
]
POD_TABLE = (
    "NAME    CPU(cores)   MEMORY(bytes)   \n"
    "web-1   16m          60Mi            \n"
    "web-2   250m         300Mi           \n"
)
POD_TABLE_ALL = (
    "NAMESPACE     NAME    CPU(cores)   MEMORY(bytes)   \n"
    "default       web-1   16m          60Mi            \n"
    "default       web-2   250m         300Mi           \n"
    "kube-system   dns-1   5m           20Mi            \n"
)


def minor(version: str) -> int:
    return int(version.split(".")[1])


@pytest.mark.parametrize("version", VERSIONS)
async def test_top_without_apiservice(plane_130: Plane, tmp_path: Path, version: str) -> None:
    for what in ("node", "pod"):
        code, out, err = await kubectl(version, plane_130, tmp_path, "top", what)
        assert (code, out, err) == (1, "", "error: Metrics API not available\n")


@pytest.mark.parametrize("version", VERSIONS)
async def test_top_backend_not_ready_aggregated_discovery(
    plane_130: Plane, tmp_path: Path, version: str
) -> None:
    backend = MetricsBackend(plane_130.server.pki.front_proxy_ca_pem, ready=False)
    await backend.start()
    try:
        register_backend(plane_130.server, backend.host, backend.port, ready=False)
        cond = await wait_available(plane_130, "False")
        assert cond["reason"] == "MissingEndpoints"
        for what in ("node", "pod"):
            code, out, err = await kubectl(version, plane_130, tmp_path, "top", what)
            assert (code, out, err) == (1, "", "error: Metrics API not available\n")
        code, out, err = await kubectl(version, plane_130, tmp_path, "get", "apiservices",
                                       "v1beta1.metrics.k8s.io")
        assert code == 0, err
        header, row = out.splitlines()
        assert header.split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"]
        assert row.startswith("v1beta1.metrics.k8s.io   kube-system/metrics-server   "
                              "False (MissingEndpoints)   ")
        code, out, err = await kubectl(version, plane_130, tmp_path, "describe", "apiservice",
                                       "v1beta1.metrics.k8s.io")
        assert code == 0, err
        assert "MissingEndpoints" in out
        assert ('endpoints for service/metrics-server in "kube-system" have no addresses with '
                'port name "https"') in out
    finally:
        await backend.stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_top_backend_not_ready_legacy_discovery(
    plane_126: Plane, tmp_path: Path, version: str
) -> None:
    backend = MetricsBackend(plane_126.server.pki.front_proxy_ca_pem, ready=False)
    await backend.start()
    try:
        register_backend(plane_126.server, backend.host, backend.port, ready=False)
        await wait_available(plane_126, "False")
        for what, resource in (("node", "nodes"), ("pod", "pods")):
            code, out, err = await kubectl(version, plane_126, tmp_path, "top", what)
            assert (code, out) == (1, "")
            assert err == ("Error from server (ServiceUnavailable): the server is currently "
                           f"unable to handle the request (get {resource}.metrics.k8s.io)\n")
    finally:
        await backend.stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_top_with_working_backend(plane_130: Plane, tmp_path: Path, version: str) -> None:
    backend = MetricsBackend(plane_130.server.pki.front_proxy_ca_pem)
    await backend.start()
    try:
        register_backend(plane_130.server, backend.host, backend.port)
        await wait_available(plane_130, "True")
        code, out, err = await kubectl(version, plane_130, tmp_path, "top", "node")
        assert (code, err) == (0, ""), err
        header, rows = (NODE_HEADER_NEW, NODE_ROWS_NEW) if minor(version) >= 32 else (
            NODE_HEADER_OLD, NODE_ROWS_OLD)
        assert out == "\n".join([header, *rows]) + "\n"
        code, out, err = await kubectl(version, plane_130, tmp_path, "top", "pod")
        assert (code, err, out) == (0, "", POD_TABLE)
        code, out, err = await kubectl(version, plane_130, tmp_path, "top", "pod", "-A")
        assert (code, err, out) == (0, "", POD_TABLE_ALL)
        # every metrics request came through the proxy as the admin, with the proxy's cert
        data = [r for r in backend.requests if "/v1beta1/" in r.path]
        assert data and all(r.cn == "front-proxy-client" for r in data)
        assert all(r.user == "kubernetes-admin" for r in data)
        assert all(r.groups == ["system:masters", "system:authenticated"] for r in data)
        assert all(r.authorization is None for r in data)
        code, out, err = await kubectl(version, plane_130, tmp_path, "get", "apiservices",
                                       "v1beta1.metrics.k8s.io")
        assert code == 0 and "kube-system/metrics-server   True   " in out
    finally:
        await backend.stop()
