"""A local-process pod seen through the real kubectl: `0/1 Running`, events, logs, Endpoints,
and the APIService that follows its readiness (virtual clock for probes and back-off)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fakeapiserver.aggregation import available_condition
from fakeapiserver.cli import ControlPlane
from fakeapiserver.localpods import LocalPod, ProbeResult
from metricsd.clock import VirtualClock
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = pytest.mark.kubectl

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)
VERSION = VERSIONS[-1]
PY = sys.executable


async def kubectl(plane: ControlPlane, home: Path, *args: str, version: str = VERSION
                  ) -> tuple[int, str, str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
           "KUBECONFIG": str(plane.server.kubeconfig_path)}
    proc = await asyncio.create_subprocess_exec(
        kubectl_binary(version), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Readiness:
    """A prober whose answer the test sets."""

    def __init__(self) -> None:
        self.result = ProbeResult(False, "HTTP probe failed with statuscode: 500")

    async def __call__(self, url: str, timeout: float) -> ProbeResult:
        return self.result


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, VirtualClock, Readiness]]:
    clock = VirtualClock()
    prober = Readiness()
    plane = ControlPlane(tmp_path / "cp", local_clock=clock, local_prober=prober)
    await plane.start()
    yield plane, clock, prober
    await plane.stop()


def metrics_server_pod() -> dict[str, Any]:
    return {"metadata": {"name": "metrics-server-6d94bc8694-x2x7k", "namespace": "kube-system",
                         "labels": {"k8s-app": "metrics-server"}},
            "spec": {"containers": [{
                "name": "metrics-server", "image": "metricsd:dev",
                "ports": [{"name": "https", "containerPort": 4443, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "https",
                                               "scheme": "HTTPS"},
                                   "initialDelaySeconds": 20, "periodSeconds": 10,
                                   "failureThreshold": 3}}]}}


async def until(local: LocalPod, pred: Callable[[], bool]) -> None:
    async def loop() -> None:
        while not pred():
            await local.wait_changed()
    await asyncio.wait_for(loop(), 30)


async def test_unready_pod_then_ready(setup: tuple[ControlPlane, VirtualClock, Readiness],
                                      tmp_path: Path) -> None:
    plane, clock, prober = setup
    plane.register_metrics_server("127.0.0.1", 4443)
    # let the endpoints controller own the Service's endpoints (selector, as the manifest)
    svc = plane.store.get("services", "metrics-server", "kube-system")
    svc["spec"]["selector"] = {"k8s-app": "metrics-server"}
    plane.store.replace("services", svc)
    local = plane.local_pods.add(
        metrics_server_pod(),
        [PY, "-c", "import time; print('I0101 serving on 127.0.0.1:4443', flush=True); "
                   "time.sleep(300)"], pod_ip="127.0.0.1")
    await until(local, lambda: local.state.running_since is not None)
    async def first_line() -> None:
        while not local.logs.lines:
            await local.logs.wait()

    await asyncio.wait_for(first_line(), 30)
    for _ in range(4):  # initial delay 20 s, then 3 failing probes
        await clock.advance(10)
    code, out, err = await kubectl(plane, tmp_path, "get", "pods", "-n", "kube-system")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[:4] == ["metrics-server-6d94bc8694-x2x7k", "0/1", "Running", "0"]
    code, out, err = await kubectl(plane, tmp_path, "logs", "-n", "kube-system",
                                   "metrics-server-6d94bc8694-x2x7k")
    assert (code, out) == (0, "I0101 serving on 127.0.0.1:4443\n")
    code, out, err = await kubectl(plane, tmp_path, "describe", "pod", "-n", "kube-system",
                                   "metrics-server-6d94bc8694-x2x7k")
    assert code == 0, err
    assert "Readiness probe failed: HTTP probe failed with statuscode: 500" in out
    assert "Unhealthy" in out
    ep = plane.store.get("endpoints", "metrics-server", "kube-system")
    assert ep["subsets"][0]["notReadyAddresses"][0]["ip"] == "127.0.0.1"
    assert plane.aggregation is not None
    await plane.aggregation.settle()
    cond = available_condition(plane.store.get("apiservices", "v1beta1.metrics.k8s.io"))
    assert cond is not None and cond["reason"] == "MissingEndpoints"
    code, out, err = await kubectl(plane, tmp_path, "get", "apiservices")
    row = next(line for line in out.splitlines() if line.startswith("v1beta1.metrics.k8s.io"))
    assert re.split(r"\s{2,}", row)[:3] == [
        "v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (MissingEndpoints)"]
    # readiness passes: 1/1, ready endpoint, and the availability check moves on to discovery
    prober.result = ProbeResult(True)
    await clock.advance(10)
    await until(local, lambda: local.state.ready)
    code, out, err = await kubectl(plane, tmp_path, "get", "pods", "-n", "kube-system")
    assert out.splitlines()[1].split()[1:3] == ["1/1", "Running"]
    await plane.aggregation.settle()
    cond = available_condition(plane.store.get("apiservices", "v1beta1.metrics.k8s.io"))
    assert cond is not None and cond["reason"] == "FailedDiscoveryCheck"
    assert cond["message"].startswith(
        "failing or missing response from https://127.0.0.1:4443/apis/metrics.k8s.io/v1beta1: ")


async def test_crashloop_restarts_and_previous_logs(
    setup: tuple[ControlPlane, VirtualClock, Readiness], tmp_path: Path
) -> None:
    plane, clock, _ = setup
    pod = metrics_server_pod()
    pod["metadata"]["name"] = "crashy"
    del pod["spec"]["containers"][0]["readinessProbe"]
    local = plane.local_pods.add(pod, [PY, "-c", "import sys; print('E0101 unable to load "
                                                 "configmap', flush=True); sys.exit(1)"])
    await until(local, lambda: local.exits >= 2 and local.state.waiting_reason ==
                "CrashLoopBackOff")
    code, out, err = await kubectl(plane, tmp_path, "get", "pods", "-n", "kube-system")
    row = out.splitlines()[1].split()
    assert row[:4] == ["crashy", "0/1", "CrashLoopBackOff", "1"]
    code, out, err = await kubectl(plane, tmp_path, "logs", "-n", "kube-system", "crashy",
                                   "--previous")
    assert (code, out) == (0, "E0101 unable to load configmap\n")
    await clock.advance(10)
    await until(local, lambda: local.exits >= 3 and local.state.waiting_reason ==
                "CrashLoopBackOff")
    code, out, err = await kubectl(plane, tmp_path, "get", "pods", "-n", "kube-system")
    assert out.splitlines()[1].split()[:4] == ["crashy", "0/1", "CrashLoopBackOff", "2"]
    code, out, err = await kubectl(plane, tmp_path, "describe", "pod", "-n", "kube-system",
                                   "crashy")
    assert code == 0, err
    assert f"Back-off restarting failed container metrics-server in pod {local.pod_ref}" in out
    assert "Last State:     Terminated" in out


async def test_logs_tail_and_follow(setup: tuple[ControlPlane, VirtualClock, Readiness],
                                    tmp_path: Path) -> None:
    plane, _clock, _ = setup
    pod = metrics_server_pod()
    pod["metadata"]["name"] = "talker"
    del pod["spec"]["containers"][0]["readinessProbe"]
    pod["spec"]["restartPolicy"] = "Never"
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    script = ("import sys\n"
              "for i in range(3): print(f'line {i}', flush=True)\n"
              "open(sys.argv[1]).readline()\n"  # blocks until the test lets it finish
              "print('last line', flush=True)\n")
    local = plane.local_pods.add(pod, [PY, "-c", script, str(fifo)])

    async def lines(n: int) -> None:
        while len(local.logs.lines) < n:
            await local.logs.wait()

    await asyncio.wait_for(lines(3), 30)
    code, out, err = await kubectl(plane, tmp_path, "logs", "-n", "kube-system", "talker",
                                   "--tail=2")
    assert (code, out) == (0, "line 1\nline 2\n"), err
    # -f streams until the container exits
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""),
           "KUBECONFIG": str(plane.server.kubeconfig_path)}
    follow = await asyncio.create_subprocess_exec(
        kubectl_binary(VERSION), "logs", "-f", "-n", "kube-system", "talker", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert follow.stdout is not None
    first = await asyncio.wait_for(follow.stdout.readline(), 30)
    assert first == b"line 0\n"
    await asyncio.to_thread(fifo.write_text, "go\n")
    rest, _ = await asyncio.wait_for(follow.communicate(), 30)
    assert rest == b"line 1\nline 2\nlast line\n"
    assert follow.returncode == 0


def _at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


async def test_local_pod_timestamps_in_cluster_order(
    setup: tuple[ControlPlane, VirtualClock, Readiness]
) -> None:
    """creation ≤ PodScheduled ≤ startTime ≤ startedAt ≤ Ready, all on the control plane's
    one clock (here virtual): the readiness transition lands where the probe passed."""
    plane, clock, prober = setup
    prober.result = ProbeResult(True)
    local = plane.local_pods.add(
        metrics_server_pod(), [PY, "-c", "import time; time.sleep(300)"], pod_ip="127.0.0.1")
    await until(local, lambda: local.state.running_since is not None)
    await clock.advance(20)  # initialDelaySeconds: the first probe passes
    await until(local, lambda: local.state.ready)
    pod = plane.store.get("pods", "metrics-server-6d94bc8694-x2x7k", "kube-system")
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    created = _at(pod["metadata"]["creationTimestamp"])
    scheduled = _at(conds["PodScheduled"]["lastTransitionTime"])
    start = _at(pod["status"]["startTime"])
    started = _at(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    ready = _at(conds["Ready"]["lastTransitionTime"])
    assert created <= scheduled <= start <= started <= ready
    assert ready - started >= 20  # the probe's initial delay, on the same clock
    assert conds["Ready"]["status"] == "True"
