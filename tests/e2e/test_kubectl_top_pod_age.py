"""kubectl's pod-age branches of `kubectl top pod`, through the whole chain as processes
(fakeapiserver + fleet → metricsd behind the aggregation layer → every installed kubectl).

With an empty pod metrics list kubectl lists the pods itself and, for the first pod older than
two minutes (``metricsCreationDelay``), fails with ``Metrics not available for pod NS/NAME,
age: <Go duration since creationTimestamp>``; when every listed pod is younger it says
``metrics not available yet``. The fleet gives both: pods of a template with ``ageSeconds``
on a node whose kubelet reports none of its pods (``missingPods: 1.0``), and young pods there.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
import yaml

from fakekubelet.addresses import free_loopback_base, free_port
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)
PY = sys.executable
AGE = 600  # seconds

FLEET = {
    "seed": 3,
    "nodeGroups": [
        {"name": "node", "count": 1,
         "pods": [{"name": "web", "count": 2, "ageSeconds": AGE,
                   "containers": [{"name": "app", "cpu": "50m", "memory": "64Mi"}]}]},
        {"name": "quiet", "count": 1, "faults": {"missingPods": 1.0},
         "pods": [{"name": "legacy", "namespace": "legacy", "ageSeconds": AGE,
                   "containers": [{"name": "app"}]},
                  {"name": "fresh", "namespace": "fresh", "containers": [{"name": "app"}]}]},
    ],
}

GO_DURATION = r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s"


def go_seconds(text: str) -> float:
    m = re.fullmatch(GO_DURATION, text)
    assert m is not None, text
    hours, minutes, seconds = m.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 60)


async def test_metrics_not_available_for_an_old_pod(tmp_path: Path) -> None:
    state = tmp_path / "cp"
    port = free_port()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({**FLEET, "addressBase": free_loopback_base(2, 10250)}))
    began = time.time()
    api = await asyncio.create_subprocess_exec(
        PY, "-m", "fakeapiserver", "--state-dir", str(state), "--fleet-config", str(fleet),
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
            stdout=asyncio.subprocess.DEVNULL, stderr=(tmp_path / "metricsd.log").open("wb"))
        env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""),
               "KUBECONFIG": str(state / "kubeconfig")}

        async def kubectl(version: str, *args: str) -> tuple[int, str, str]:
            k = await asyncio.create_subprocess_exec(
                kubectl_binary(version), *args, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(k.communicate(), 120)
            assert k.returncode is not None
            return k.returncode, out.decode(), err.decode()

        latest = VERSIONS[-1]
        code, _, err = await kubectl(latest, "wait", "--for=condition=Available",
                                     "apiservice/v1beta1.metrics.k8s.io", "--timeout=90s")
        assert code == 0, err
        # metrics flow for the reporting node's pods (two scrapes needed), so the empty
        # lists below are the quiet kubelet's doing, not a cold metrics server
        code, out, err = await kubectl(latest, "wait", "--for=condition=Ready", "pod", "--all",
                                       "--timeout=60s")  # fleet pods are Ready
        assert code == 0, err
        for _ in range(60):
            code, out, err = await kubectl(latest, "top", "pod", "--no-headers")
            if code == 0:
                break
            await asyncio.sleep(1)
        assert code == 0, err
        assert sorted(line.split()[0][:4] for line in out.splitlines()) == ["web-", "web-"]
        code, out, _ = await kubectl(latest, "get", "pods", "-n", "legacy", "-o", "json")
        (legacy,) = json.loads(out)["items"]
        name = legacy["metadata"]["name"]
        code, out, _ = await kubectl(latest, "get", "pods", "-n", "legacy", "--no-headers")
        assert out.split()[4] == "10m"  # AGE from the model's creation time
        for version in VERSIONS:
            code, out, err = await kubectl(version, "top", "pod", "-n", "legacy")
            assert (code, out) == (1, ""), (version, err)
            m = re.fullmatch(rf"error: Metrics not available for pod legacy/{name}, "
                             rf"age: ({GO_DURATION})\n", err)
            assert m is not None, (version, err)
            age = go_seconds(m.group(1))
            # creationTimestamp is whole seconds: the age is at least AGE since our start
            assert AGE - 1 <= age <= AGE + (time.time() - began) + 1, (version, err)
            code, out, err = await kubectl(version, "top", "pod", "-n", "fresh")
            assert (code, out, err) == (1, "", "error: metrics not available yet\n"), version
    finally:
        if metricsd is not None:
            await stop(metricsd)
        assert await stop(api) == 0
