"""The HPA controller as users meet it: a real ``fakeapiserver`` process, the real kubectl.

One control plane (emulating 1.30, sync period 1 s) with a one-node fleet whose two pods
carry ``app=web`` and a 200m CPU request (the HPA counts every pod its selector matches, even
those of another workload), a Deployment ``web`` (its own pods stay Pending: nothing runs the
image here, so they count as not ready) and a metrics.k8s.io backend double registered with
``--apiservice-backend``. In order: ``kubectl autoscale`` with every installed kubectl (v1
up to 1.32, v2 from 1.33); the HPA while the APIService is unavailable (503 text) and after
it is deleted (404 text), with ``get hpa`` and ``describe hpa`` of every kubectl; the status
written once while nothing changes (resourceVersions counted over watched events); then the
backend turns ready with 400m per pod and the HPA scales the Deployment up through ``/scale``
(``get hpa -w`` and ``describe`` show it); ``kubectl scale`` above the maximum is undone.
Everything waits on watches (``kubectl wait``, ``-w``), never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from fakeapiserver.cli import metrics_server_objects
from fakekubelet.addresses import free_loopback_base
from tests.hpa_support import PodMetricsBackend, pod_metrics
from tests.kubectl_bins import kubectl_binary, kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)

REPO = str(Path(__file__).resolve().parents[2])
FLEET = """\
seed: 7
warmupSeconds: 3600
nodeGroups:
  - name: worker
    count: 1
    pods: []        # no fleet pods of its own (the default set has an app=web group)
"""
# the walkthrough's php-apache, as "web": its two pods run on the fleet's node
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        resources: {requests: {cpu: 200m}, limits: {cpu: 500m}}
"""
PREFIX = ("the HPA was unable to compute the replica count: failed to get cpu utilization: "
          "unable to get metrics for resource cpu: unable to fetch metrics from resource "
          "metrics API: ")
UNAVAILABLE = "the server is currently unable to handle the request (get pods.metrics.k8s.io)"
NOT_FOUND = "the server could not find the requested resource (get pods.metrics.k8s.io)"
RESCALED = "New size: 4; reason: cpu resource utilization (percentage of request) above target"


def squeeze(text: str) -> list[str]:
    """Lines with runs of blanks folded (column widths differ between versions)."""
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]


class Cluster:
    def __init__(self, state: Path, home: Path) -> None:
        self.state = state
        self.home = home
        self.proc: asyncio.subprocess.Process | None = None

    def env(self, version: str) -> dict[str, str]:
        home = self.home / version
        home.mkdir(exist_ok=True)
        return {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
                "KUBECONFIG": str(self.state / "kubeconfig")}

    async def kubectl(self, *args: str, version: str = VERSIONS[-1], check: bool = True,
                      timeout: float = 120, stdin: str | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            kubectl_binary(version), *args, env=self.env(version),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else None), timeout)
        if check:
            assert proc.returncode == 0, (version, args, err.decode())
        return out.decode() + (err.decode() if not check else "")

    async def hpa(self) -> dict:
        return json.loads(await self.kubectl("get", "hpa", "web", "-o", "json"))

    async def wait_for_condition(self, index: int, field: str, value: str) -> None:
        await self.kubectl("wait", "hpa/web", "--timeout=90s",
                           f"--for=jsonpath={{.status.conditions[{index}].{field}}}={value}")


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[Cluster, PodMetricsBackend]]:
    state = tmp_path / "state"
    state.mkdir()
    # a front-proxy CA known in advance, so the backend trusts the aggregator's client cert
    ca = trustme.CA()
    (state / "front-proxy-ca.crt").write_bytes(ca.cert_pem.bytes())
    (state / "front-proxy-ca.key").write_bytes(ca.private_key_pem.bytes())
    backend = PodMetricsBackend(ca.cert_pem.bytes(), ready=False)
    await backend.start()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    home = tmp_path / "home"
    home.mkdir()
    c = Cluster(state, home)
    c.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakeapiserver", "--state-dir", str(state), "--fleet-config",
        str(fleet), "--address-base", free_loopback_base(2, 10250), "--kube-version", "1.30",
        "--apiservice-backend", f"127.0.0.1:{backend.port}",
        "--horizontal-pod-autoscaler-sync-period=1s",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO)
    try:
        assert c.proc.stdout is not None and c.proc.stderr is not None
        line = await asyncio.wait_for(c.proc.stdout.readline(), 90)
        assert line == b"fakeapiserver: ready\n", await c.proc.stderr.read()
        yield c, backend
    finally:
        if c.proc.returncode is None:
            c.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.proc.wait(), 30)
        await backend.stop()


async def watch_lines(cluster: Cluster, args: list[str], until: str, lines: list[str]) -> None:
    """Run ``kubectl … -w`` and collect its lines until one contains ``until``."""
    proc = await asyncio.create_subprocess_exec(
        kubectl_binary(VERSIONS[-1]), *args, env=cluster.env(VERSIONS[-1]),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        while line := (await proc.stdout.readline()).decode():
            lines.append(line.rstrip("\n"))
            if until in line:
                return
    finally:
        proc.kill()
        await proc.wait()


async def test_hpa_controller_with_kubectl(cluster: tuple[Cluster, PodMetricsBackend]) -> None:
    c, backend = cluster
    await c.kubectl("apply", "-f", "-", stdin=DEPLOYMENT)

    # kubectl autoscale: autoscaling/v1 up to 1.32, autoscaling/v2 from 1.33; both accepted
    for version in VERSIONS:
        out = await c.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1",
                              "--max=10", "-v=6", version=version, check=False)
        assert "horizontalpodautoscaler.autoscaling/web autoscaled" in out, (version, out)
        group = "v2" if tuple(map(int, version.split("."))) >= (1, 33) else "v1"
        # -v=6 logs the request: "POST https://… 201 Created", or (1.33) key="value" pairs
        assert re.search(rf'POST"? (url=")?https://\S+/apis/autoscaling/{group}/namespaces/'
                         r'default/horizontalpodautoscalers\S*"? (status=")?201 Created', out), (
            version, out)
        if version != VERSIONS[-1]:
            await c.kubectl("delete", "hpa", "web")
    assert (await c.hpa())["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization", "averageUtilization": 50}

    # the backend is not ready: the APIService is unavailable, the aggregator answers 503
    await c.wait_for_condition(1, "reason", "FailedGetResourceMetric")
    await c.wait_for_condition(1, "message", PREFIX + UNAVAILABLE)
    for version in VERSIONS:
        table = squeeze(await c.kubectl("get", "hpa", version=version))
        assert table[0] == "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE"
        assert table[1].startswith("web Deployment/web cpu: <unknown>/50% 1 10 2 "), version
        described = squeeze(await c.kubectl("describe", "hpa", "web", version=version))
        for expected in ("Reference: Deployment/web", "Metrics: ( current / target )",
                         "resource cpu on pods (as a percentage of request): <unknown> / 50%",
                         "Min replicas: 1", "Max replicas: 10",
                         "Deployment pods: 2 current / 0 desired",
                         "AbleToScale True SucceededGetScale the HPA controller was able to "
                         "get the target's current scale",
                         "ScalingActive False FailedGetResourceMetric " + PREFIX + UNAVAILABLE):
            assert expected in described, (version, expected, described)
        assert any(re.fullmatch(r"Warning FailedGetResourceMetric \S+( \(x\d+ over \S+\))? "
                                r"horizontal-pod-autoscaler failed to get cpu utilization: "
                                r"unable to get metrics for resource cpu: .*", line)
                   for line in described), (version, described)

    # the status is written when it changes, not every sync: three more syncs, same RV
    written = (await c.hpa())["metadata"]["resourceVersion"]
    counts: list[str] = []
    await watch_lines(c, ["get", "events", "-w", "--field-selector",
                          "involvedObject.name=web,reason=FailedGetResourceMetric",
                          "-o", "custom-columns=COUNT:.count", "--no-headers"], "", counts)
    start = int(counts[0])
    seen: list[str] = []
    await watch_lines(c, ["get", "events", "-w", "--field-selector",
                          "involvedObject.name=web,reason=FailedGetResourceMetric",
                          "-o", "custom-columns=COUNT:.count", "--no-headers"],
                      str(start + 3), seen)
    assert (await c.hpa())["metadata"]["resourceVersion"] == written

    # metrics-server absent (no APIService): kube-apiserver's 404 becomes the "could not
    # find" text
    await c.kubectl("delete", "apiservice", "v1beta1.metrics.k8s.io")
    await c.wait_for_condition(1, "message", PREFIX + NOT_FOUND)
    for version in VERSIONS:
        table = squeeze(await c.kubectl("get", "hpa", version=version))
        assert table[1].startswith("web Deployment/web cpu: <unknown>/50% 1 10 2 "), version
        described = squeeze(await c.kubectl("describe", "hpa", "web", version=version))
        assert "ScalingActive False FailedGetResourceMetric " + PREFIX + NOT_FOUND in described

    # the APIService is back and its backend ready: 400m per pod is 200 % of the request
    fleet_pods = json.loads(await c.kubectl("get", "pods", "-l", "app=web", "-o", "json"))
    running = [p["metadata"]["name"] for p in fleet_pods["items"]
               if p["status"].get("phase") == "Running"]
    assert len(running) == 2
    stamp = "2099-01-01T00:00:00Z"  # a sample newer than any readiness transition
    backend.pods["default"] = [pod_metrics(n, "default", "400m", timestamp=stamp)
                               for n in running]
    apiservice = next(o for r, o in metrics_server_objects("127.0.0.1", backend.port)
                      if r.startswith("apiservices"))
    apiservice = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", **apiservice}
    await c.kubectl("apply", "-f", "-", stdin=json.dumps(apiservice))
    backend.ready = True
    watched: list[str] = []
    watcher = asyncio.create_task(watch_lines(c, ["get", "hpa", "-w"], "cpu: 200%/50%", watched))
    await c.kubectl("wait", "--for=jsonpath={.spec.replicas}=4", "deployment/web",
                    "--timeout=120s")
    await asyncio.wait_for(watcher, 60)
    assert squeeze(watched[0])[0].split()[:2] == ["NAME", "REFERENCE"]
    assert any("cpu: <unknown>/50%" in line for line in watched)
    assert "cpu: 200%/50%" in watched[-1]
    for version in VERSIONS:
        described = squeeze(await c.kubectl("describe", "hpa", "web", version=version))
        assert "resource cpu on pods (as a percentage of request): 200% (400m) / 50%" in \
            described, (version, described)
        assert any(re.fullmatch(rf"Normal SuccessfulRescale \S+ horizontal-pod-autoscaler "
                                rf"{re.escape(RESCALED)}", line) for line in described), (
            version, described)
        assert any(line.startswith("ScalingActive True ValidMetricFound the HPA was able to "
                                   "successfully calculate a replica count from cpu resource "
                                   "utilization (percentage of request)") for line in described)

    # kubectl scale above maxReplicas: the next sync brings it back to 10
    await c.kubectl("scale", "deployment", "web", "--replicas=12")
    await c.kubectl("wait", "--for=jsonpath={.spec.replicas}=10", "deployment/web",
                    "--timeout=120s")
    described = squeeze(await c.kubectl("describe", "hpa", "web"))
    assert any("SuccessfulRescale" in line and line.endswith(
        "New size: 10; reason: Current number of replicas above Spec.MaxReplicas")
        for line in described), described
    listing = squeeze(await c.kubectl("get", "deploy,rs", "-l", "app=web"))
    assert any(re.match(r"deployment\.apps/web \d+/10 10 ", line) for line in listing), listing
    assert any(re.match(r"replicaset\.apps/web-\S+ 10 10 ", line) for line in listing), listing
