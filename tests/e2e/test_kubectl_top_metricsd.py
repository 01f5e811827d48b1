"""The whole chain as processes: `fakeapiserver` (fleet registered, APIService for a backend)
→ the real metricsd behind the aggregation layer → `kubectl top`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from fakekubelet.addresses import free_loopback_base, free_port
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)
PY = sys.executable


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 60)


async def test_kubectl_top_through_fakeapiserver_and_metricsd(tmp_path: Path) -> None:
    state = tmp_path / "cp"
    port = free_port()
    base = free_loopback_base(2, 10250)
    api = await asyncio.create_subprocess_exec(
        PY, "-m", "fakeapiserver", "--state-dir", str(state), "--nodes", "2",
        "--pods-per-node", "2", "--address-base", base,
        "--apiservice-backend", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    metricsd = None
    try:
        assert api.stdout is not None
        assert await asyncio.wait_for(api.stdout.readline(), 120) == b"fakeapiserver: ready\n"
        metricsd = await asyncio.create_subprocess_exec(
            PY, "-m", "metricsd", "--kubeconfig", str(state / "kubeconfig"),
            "--secure-port", str(port), "--bind-address", "127.0.0.1",
            "--cert-dir", str(tmp_path / "certs"),
            "--kubelet-certificate-authority", str(state / "ca.crt"),
            "--kubelet-client-certificate", str(state / "client.crt"),
            "--kubelet-client-key", str(state / "client.key"),
            "--kubelet-preferred-address-types", "InternalIP",
            "--kubelet-use-node-status-port", "--simulation-min-metric-resolution", "1s",
            "--metric-resolution", "2s", "--kubelet-request-timeout", "1s",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""),
               "KUBECONFIG": str(state / "kubeconfig")}

        async def kubectl(*args: str) -> tuple[int, str, str]:
            k = await asyncio.create_subprocess_exec(
                kubectl_binary(VERSIONS[-1]), *args, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(k.communicate(), 120)
            assert k.returncode is not None
            return k.returncode, out.decode(), err.decode()

        # Available once metricsd's /readyz passes the control plane's readiness probe
        code, _, err = await kubectl("wait", "--for=condition=Available",
                                     "apiservice/v1beta1.metrics.k8s.io", "--timeout=90s")
        assert code == 0, err
        nodes = json.loads((state / "nodes.json").read_text())
        code, out, err = await kubectl("top", "node", "--no-headers")
        assert code == 0, err
        names = sorted(line.split()[0] for line in out.splitlines())
        assert names == sorted(n["name"] for n in nodes)
        assert all(line.split()[1].endswith("m") for line in out.splitlines())
    finally:
        if metricsd is not None:
            await stop(metricsd)
        assert await stop(api) == 0
