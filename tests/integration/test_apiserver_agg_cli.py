"""The `fakeapiserver` CLI contract, as a real process (no fixed sleeps: read stdout)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
from pathlib import Path

import aiohttp
import pytest
import trustme

from fakekubelet.addresses import free_loopback_base
from tests.integration.test_apiserver_agg_backend import MetricsBackend
from tests.kubectl_bins import kubectl_binary, kubectl_versions

PY = sys.executable
REPO = str(Path(__file__).resolve().parents[2])


async def run_cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PY, "-m", "fakeapiserver", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=REPO)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--state-dir", "{d}", "--apiservice-backend", "10.0.0.1:443"],
         'fakeapiserver: error: --apiservice-backend: expected a loopback address, got '
         '"10.0.0.1"'),
        (["--state-dir", "{d}", "--apiservice-backend", "127.0.0.1"],
         'fakeapiserver: error: --apiservice-backend: expected HOST:PORT, got "127.0.0.1"'),
        (["--state-dir", "{d}", "--kube-version", "latest"],
         'fakeapiserver: error: --kube-version: expected a version like 1.30, got "latest"'),
        (["--state-dir", "{d}", "--port", "99999"],
         'fakeapiserver: error: --port: expected a port number 0-65535, got "99999"'),
        (["--state-dir", "{d}", "--nodes", "0"],
         'fakeapiserver: error: --nodes: expected a positive integer, got "0"'),
        (["--state-dir", "{d}", "--fleet-config", "/nonexistent/fleet.yaml"],
         "fakeapiserver: error: --fleet-config: /nonexistent/fleet.yaml: no such file"),
        (["--state-dir", "{d}", "--local-image", "metricsd*"],
         'fakeapiserver: error: --local-image: expected PATTERN=COMMAND, got "metricsd*"'),
        (["--state-dir", "{d}", "--local-image", "metricsd*=/nonexistent/metrics-server"],
         "fakeapiserver: error: --local-image metricsd*: /nonexistent/metrics-server: no such "
         "executable file"),
        (["--state-dir", "{d}", "--local-image", "m*=ms 'open"],
         "fakeapiserver: error: --local-image m*: cannot split \"ms 'open\": No closing "
         "quotation"),
        ([], "fakeapiserver: error: the following arguments are required: --state-dir"),
    ],
)
async def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    proc = await run_cli(*(a.replace("{d}", str(tmp_path / "s")) for a in args))
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert out == b""
    assert err.decode() == message + "\n"


async def test_cli_contract_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("fakekubelet.cluster")
    state = tmp_path / "state"
    state.mkdir()
    # a front-proxy CA known in advance (the control plane reuses CAs found in its state dir),
    # so the test backend can trust it before the control plane starts
    fp = trustme.CA()
    (state / "front-proxy-ca.crt").write_bytes(fp.cert_pem.bytes())
    (state / "front-proxy-ca.key").write_bytes(fp.private_key_pem.bytes())
    backend = MetricsBackend(fp.cert_pem.bytes())
    await backend.start()
    base = free_loopback_base(2, 10250)
    proc = await run_cli("--state-dir", str(state), "--nodes", "2", "--pods-per-node", "2",
                         "--cert-mode", "ca-signed", "--address-base", base,
                         "--kube-version", "1.30",
                         "--apiservice-backend", f"127.0.0.1:{backend.port}")
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert proc.stderr is not None
        assert line == b"fakeapiserver: ready\n", (line, await proc.stderr.read())
        for name in ("kubeconfig", "ca.crt", "client-ca.crt", "front-proxy-ca.crt",
                     "client.crt", "client.key", "nodes.json", "control.json",
                     "metrics-server.token", "metrics-server.kubeconfig"):
            assert (state / name).is_file(), name
        nodes = json.loads((state / "nodes.json").read_text())
        assert len(nodes) == 2 and nodes[0]["address"] == base
        # a kubelet of the fleet: its serving cert verifies with DIR/ca.crt, and it accepts
        # the fleet client cert and the metrics-server SA token (authorized by our RBAC)
        ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
        ctx.load_cert_chain(str(state / "client.crt"), str(state / "client.key"))
        url = f"https://{nodes[0]['address']}:{nodes[0]['port']}/metrics/resource"
        async with aiohttp.ClientSession() as http:
            async with http.get(url, ssl=ctx) as resp:
                assert resp.status == 200
            plain = ssl.create_default_context(cafile=str(state / "ca.crt"))
            token = (state / "metrics-server.token").read_text()
            async with http.get(url, ssl=plain,
                                headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200
            async with http.get(url, ssl=plain) as resp:
                assert resp.status == 401
        versions = kubectl_versions()
        if versions:
            env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""),
                   "KUBECONFIG": str(state / "kubeconfig")}

            async def kubectl(*args: str) -> tuple[int, str, str]:
                k = await asyncio.create_subprocess_exec(
                    kubectl_binary(versions[-1]), *args, env=env,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                o, e = await asyncio.wait_for(k.communicate(), 90)
                assert k.returncode is not None
                return k.returncode, o.decode(), e.decode()

            code, out, err = await kubectl("get", "nodes", "-o", "name")
            assert code == 0, err
            assert sorted(out.split()) == sorted(f"node/{n['name']}" for n in nodes)
            code, out, err = await kubectl("wait", "--for=condition=Available",
                                           "apiservice/v1beta1.metrics.k8s.io", "--timeout=60s")
            assert code == 0, err
            code, out, err = await kubectl("top", "pod", "-n", "kube-system")
            assert (code, err) == (0, ""), err
            assert out.splitlines()[1].split()[:3] == ["dns-1", "5m", "20Mi"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
        await backend.stop()
    assert proc.returncode == 0
