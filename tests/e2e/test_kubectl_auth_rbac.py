"""RBAC through the real kubectl: Forbidden texts, `auth can-i`, service-account tokens."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fakeapiserver.cli import ControlPlane
from fakeapiserver.pki import write_kubeconfig
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = pytest.mark.kubectl

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)

MS_USER = "system:serviceaccount:kube-system:metrics-server"


async def kubectl(version: str, kubeconfig: Path, home: Path, *args: str) -> tuple[int, str, str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(kubeconfig)}
    proc = await asyncio.create_subprocess_exec(
        kubectl_binary(version), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    cp = ControlPlane(tmp_path / "cp")
    await cp.start()
    yield cp
    await cp.stop()


def token_kubeconfig(plane: ControlPlane, path: Path, token: str, user: str) -> Path:
    write_kubeconfig(path, plane.server.url, plane.server.pki.cluster_ca_pem, token=token,
                     user=user)
    return path


@pytest.mark.parametrize("version", VERSIONS)
async def test_forbidden_texts_for_a_user_without_rbac(
    plane: ControlPlane, tmp_path: Path, version: str
) -> None:
    assert plane.auth is not None
    token = plane.auth.issue_token("default", "nobody")
    user = "system:serviceaccount:default:nobody"
    kc = token_kubeconfig(plane, tmp_path / "kc", token, user)
    code, out, err = await kubectl(version, kc, tmp_path, "get", "pods")
    assert (code, out) == (1, "")
    assert err == (f'Error from server (Forbidden): pods is forbidden: User "{user}" cannot list '
                   'resource "pods" in API group "" in the namespace "default"\n')
    code, out, err = await kubectl(version, kc, tmp_path, "get", "nodes", "node-x")
    assert err == (f'Error from server (Forbidden): nodes "node-x" is forbidden: User "{user}" '
                   'cannot get resource "nodes" in API group "" at the cluster scope\n')
    # a forged bearer token is a 401, not anonymous
    bad = token_kubeconfig(plane, tmp_path / "bad", token[:-4] + "AAAA", user)
    code, out, err = await kubectl(version, bad, tmp_path, "get", "pods")
    assert (code, err) == (1, "error: You must be logged in to the server (Unauthorized)\n")


@pytest.mark.parametrize("version", VERSIONS)
async def test_metrics_server_sa_can_read_node_metrics_only_with_its_role(
    plane: ControlPlane, tmp_path: Path, version: str
) -> None:
    token = plane.register_metrics_server("127.0.0.1", 4443)
    kc = token_kubeconfig(plane, tmp_path / "ms", token, MS_USER)
    can_i = ("auth", "can-i", "get", "nodes", "--subresource=metrics")
    code, out, _ = await kubectl(version, kc, tmp_path, *can_i)
    assert (code, out) == (0, "yes\n")
    code, out, _ = await kubectl(version, kc, tmp_path, "auth", "can-i", "create",
                                 "tokenreviews.authentication.k8s.io")
    assert (code, out) == (0, "yes\n")
    code, out, _ = await kubectl(version, kc, tmp_path, "auth", "can-i", "get",
                                 "configmaps/extension-apiserver-authentication",
                                 "-n", "kube-system")
    assert (code, out) == (0, "yes\n")
    code, out, _ = await kubectl(version, kc, tmp_path, "auth", "can-i", "delete", "pods")
    assert (code, out) == (1, "no\n")
    plane.store.delete("clusterrolebindings.rbac.authorization.k8s.io", "system:metrics-server")
    code, out, _ = await kubectl(version, kc, tmp_path, *can_i)
    assert (code, out) == (1, "no\n")
    code, out, err = await kubectl(version, kc, tmp_path, "get", "nodes")
    assert err == (f'Error from server (Forbidden): nodes is forbidden: User "{MS_USER}" cannot '
                   'list resource "nodes" in API group "" at the cluster scope\n')


@pytest.mark.parametrize("version", VERSIONS)
async def test_top_forbidden_before_the_proxy(
    plane: ControlPlane, tmp_path: Path, version: str
) -> None:
    plane.register_metrics_server("127.0.0.1", 4443)
    assert plane.auth is not None
    token = plane.auth.issue_token("default", "viewer")
    user = "system:serviceaccount:default:viewer"
    kc = token_kubeconfig(plane, tmp_path / "kc", token, user)
    # `get --raw` skips discovery: the authorizer answers before the proxy is involved
    code, out, err = await kubectl(version, kc, tmp_path, "get", "--raw",
                                   "/apis/metrics.k8s.io/v1beta1/nodes")
    assert (code, out) == (1, "")
    assert err == (f'Error from server (Forbidden): nodes.metrics.k8s.io is forbidden: User '
                   f'"{user}" cannot list resource "nodes" in API group "metrics.k8s.io" at the '
                   'cluster scope\n')


@pytest.mark.parametrize("version", VERSIONS)
async def test_can_i_list_shows_the_granted_rules(
    plane: ControlPlane, tmp_path: Path, version: str
) -> None:
    token = plane.register_metrics_server("127.0.0.1", 4443)
    kc = token_kubeconfig(plane, tmp_path / "ms", token, MS_USER)
    code, out, err = await kubectl(version, kc, tmp_path, "auth", "can-i", "--list",
                                   "-n", "kube-system")
    assert code == 0, err
    rows = {(line.split()[0], line.split()[-1]) for line in out.splitlines()[1:]}
    assert ("nodes/metrics", "[get]") in rows
    assert ("tokenreviews.authentication.k8s.io", "[create]") in rows
    assert ("subjectaccessreviews.authorization.k8s.io", "[create]") in rows
    line = next(x for x in out.splitlines() if x.startswith("configmaps "))
    assert "[extension-apiserver-authentication]" in line
    assert line.rstrip().endswith("[get list watch]")
    assert not any(line.startswith("secrets") for line in out.splitlines())


@pytest.mark.parametrize("version", VERSIONS)
async def test_create_token_issues_a_token_the_server_accepts(
    plane: ControlPlane, tmp_path: Path, version: str
) -> None:
    """`kubectl create token` (protobuf TokenRequest from kubectl 1.32 on, JSON before)."""
    admin = plane.server.kubeconfig_path
    code, _, err = await kubectl(version, admin, tmp_path, "create", "serviceaccount", "reader")
    assert code == 0, err
    code, out, err = await kubectl(version, admin, tmp_path, "create", "token", "reader",
                                   "--duration=1h")
    assert code == 0, err
    token = out.strip()
    assert token.count(".") == 2  # a JWT
    kc = token_kubeconfig(plane, tmp_path / "reader", token, "reader")
    code, out, err = await kubectl(version, kc, tmp_path, "get", "pods")
    assert (code, out) == (1, "")
    assert err == ('Error from server (Forbidden): pods is forbidden: User '
                   '"system:serviceaccount:default:reader" cannot list resource "pods" in API '
                   'group "" in the namespace "default"\n')
