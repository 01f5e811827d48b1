"""Workload pods on the fleet, as the real kubectl shows them, through every process of the
chain (fakeapiserver + fleet → metricsd behind the aggregation layer → kubectl).

A Deployment of an image no local process runs is applied with kubectl; its ReplicaSet's pods
become the fleet nodes' pods: ``kubectl get pods -w`` shows ContainerCreating → Running 0/1
→ Running 1/1 (the readiness probe's tick), ``kubectl top pods`` shows them with the usage the
fleet serves (compared with the ground truth), a replica that does not fit shows the
scheduler's exact message, and a scale-down shows Terminating for the grace period, after
which the pods and their metrics are gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakekubelet.addresses import free_loopback_base
from tests.e2e.chain import Chain, started_chain
from tests.kubectl_bins import kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)
IMAGE = "registry.k8s.io/hpa-example"

FLEET = {
    "seed": 4,
    "images": [{"pattern": IMAGE + "*", "startupSeconds": 2, "cpu": "1m", "memory": "20Mi"}],
    "nodeGroups": [{"name": "node", "count": 2, "pods": [],
                    "capacity": {"cpu": 1, "memory": "4Gi", "pods": 110}}],
}

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: php-apache, namespace: default}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: php-apache}}}}
  template:
    metadata:
      labels: {{app: php-apache}}
      annotations: {{sim.metricsd.io/termination-seconds: "3"}}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: php-apache
        image: {IMAGE}
        resources: {{requests: {{cpu: 400m}}, limits: {{cpu: 500m}}}}
        readinessProbe:
          httpGet: {{path: /, port: 80}}
          initialDelaySeconds: 3
          periodSeconds: 2
"""


@pytest.fixture
async def chain(tmp_path: Path) -> AsyncIterator[Chain]:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({**FLEET, "addressBase": free_loopback_base(3, 10250)}))
    async with started_chain(tmp_path, "--fleet-config", str(fleet)) as c:
        yield c


def states(lines: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Per pod, the distinct (READY, STATUS) in the order the watch showed them."""
    out: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        name, ready, status = line.split()[:3]
        seen = out.setdefault(name, [])
        if not seen or seen[-1] != (ready, status):
            seen.append((ready, status))
    return out


def all_ready(n: int) -> Callable[[list[str]], bool]:
    def done(lines: list[str]) -> bool:
        last = {name: seq[-1] for name, seq in states(lines).items()}
        return len(last) >= n and sum(v == ("1/1", "Running") for v in last.values()) >= n
    return done


async def top_pods(c: Chain) -> dict[str, tuple[int, int]]:
    """``kubectl top pods`` rows: name → (millicores, MiB)."""
    code, out, _err = await c.kubectl("top", "pods", "--no-headers")
    if code != 0:
        return {}
    rows = {}
    for line in out.splitlines():
        name, cpu, memory = line.split()[:3]
        rows[name] = (int(cpu.rstrip("m")), int(memory.rstrip("Mi")))
    return rows


async def top_matches_truth(c: Chain, names: set[str], cpu_m: float) -> dict[str, Any]:
    """Poll until kubectl top shows exactly ``names``, each near ``cpu_m`` and at the truth
    over the window the Metrics API reports for it."""
    for _ in range(60):
        rows = await top_pods(c)
        if set(rows) == names:
            _code, out, _ = await c.kubectl("get", "--raw",
                                           "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
            items = {i["metadata"]["name"]: i for i in json.loads(out)["items"]}
            ok = True
            for name, (cpu, mem) in rows.items():
                item = items.get(name)
                if item is None:
                    ok = False
                    break
                truth = await c.fleet("POST", "/truth/window", {
                    "kind": "pod", "namespace": "default", "name": name,
                    "timestamp": item["timestamp"], "window": item["window"]})
                true_m = truth["cpuCores"] * 1000
                # kubectl rounds CPU up to a millicore, memory down to a MiB
                ok = ok and abs(cpu - true_m) <= 2 and abs(true_m - cpu_m) <= 0.02 * cpu_m + 2
                ok = ok and mem == int(truth["memoryBytes"] // 1048576)
            if ok:
                return rows
        await asyncio.sleep(0.5)
    raise AssertionError(f"kubectl top never matched {names} at ≈{cpu_m}m: {rows}")


async def test_workload_pods_lifecycle_metrics_scheduling_and_termination(chain: Chain) -> None:
    c = chain
    watching = await c.watch("pods", "-l", "app=php-apache", done=all_ready(2))
    code, out, err = await c.kubectl("apply", "-f", "-", stdin=DEPLOYMENT)
    assert code == 0, err
    lines = await watching
    seen = states(lines)
    assert len(seen) == 2
    for name, seq in seen.items():
        # Pending (not bound yet) may or may not be caught; the rest is the kubelet's order
        seq = [s for s in seq if s != ("0/1", "Pending")]
        assert seq == [("0/1", "ContainerCreating"), ("0/1", "Running"), ("1/1", "Running")], (
            name, seq)
    names = set(seen)
    # the same objects the ReplicaSet created: two pods, owned by it, no duplicate
    code, out, _ = await c.kubectl("get", "pods", "-o", "json")
    items = json.loads(out)["items"]
    ours = [p for p in items if p["metadata"]["name"] in names]
    assert len(ours) == 2 and len(items) == 2
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet" for p in ours)
    # usage the fleet serves, as kubectl top shows it: idle, then driven
    await top_matches_truth(c, names, 1)
    await c.fleet("PUT", "/usage", {"items": [
        {"namespace": "default", "pod": n, "cpu": "300m", "memory": "64Mi"} for n in names]})
    rows = await top_matches_truth(c, names, 300)
    assert all(mem == 64 for _, mem in rows.values())
    # a fifth replica does not fit 2 nodes of 1 CPU at 400m each
    code, _, err = await c.kubectl("scale", "deployment/php-apache", "--replicas=5")
    assert code == 0, err
    pending: dict[str, Any] = {}
    for _ in range(60):
        code, out, _ = await c.kubectl("get", "pods", "-o", "json")
        pending = {p["metadata"]["name"]: p for p in json.loads(out)["items"]
                   if not p["spec"].get("nodeName")}
        if pending and all(any(cond.get("reason") == "Unschedulable"
                               for cond in p["status"].get("conditions") or [])
                           for p in pending.values()):
            break
        await asyncio.sleep(0.25)
    assert len(pending) == 1
    (name, pod), = pending.items()
    [cond] = [x for x in pod["status"]["conditions"] if x["type"] == "PodScheduled"]
    message = ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are "
               "available: 2 No preemption victims found for incoming pod.")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable",
                                                                 message)
    code, out, _ = await c.kubectl("get", "events", "--field-selector",
                                   f"involvedObject.name={name}", "-o", "json")
    failed = [e for e in json.loads(out)["items"] if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["type"] == "Warning" and failed[0]["message"] == message
    # scale down to 1: Terminating while the containers take 3 s to exit, then gone
    watching = await c.watch(
        "pods", "-l", "app=php-apache", "--output-watch-events",
        done=lambda lines: sum(line.startswith("DELETED") for line in lines) >= 4)
    code, _, err = await c.kubectl("scale", "deployment/php-apache", "--replicas=1")
    assert code == 0, err
    lines = await watching
    deleted = {line.split()[1] for line in lines if line.startswith("DELETED")}
    terminating = {line.split()[1] for line in lines
                   if line.startswith("MODIFIED") and line.split()[3] == "Terminating"}
    assert len(deleted) == 4
    assert deleted - {name} <= terminating  # every running pod was Terminating first
    code, out, _ = await c.kubectl("get", "pods", "--no-headers")
    (left,) = [line.split()[0] for line in out.splitlines()]
    # the deleted pods' metrics are gone with them
    rows = {}
    for _ in range(60):
        rows = await top_pods(c)
        if set(rows) == {left}:
            break
        await asyncio.sleep(0.5)
    assert set(rows) == {left}
