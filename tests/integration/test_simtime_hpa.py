"""The HPA controller on accelerated time, fed by the real pipeline.

Fleet pods (``app=web``, 100m requested, 300m used) → metricsd's real MetricsServer scraping
them every 15 s → the aggregation layer → the HPA controller's LIST of pods.metrics.k8s.io,
all on one virtual clock. The target is a StatefulSet (no controller creates pods for it
here, so the fleet's two pods are all the selector matches). The controller's only wait on
time is its queue's sleep on the control plane's clock, so every sync happens at exactly its
due virtual instant.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios import simtime

FLEET = """
seed: 3
warmupSeconds: 3600
nodeGroups:
  - name: node
    count: 1
    pods:
      - name: web
        count: 2
        labels: {app: web}
        containers:
          - name: app
            requests: {cpu: 100m}
            cpu: 300m
            memory: 64Mi
"""

pytestmark = pytest.mark.slow

STATEFULSET = {"metadata": {"name": "web", "namespace": "default"},
               "spec": {"replicas": 2, "serviceName": "web",
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "app", "image": "w"}]}}},
               "status": {"replicas": 2}}
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "web", "namespace": "default"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                   "name": "web"},
                "minReplicas": 1, "maxReplicas": 8,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": 50}}}]}}


def test_the_hpa_scales_on_metricsd_numbers_at_its_virtual_sync_instants() -> None:
    async def main() -> dict[str, Any]:
        async with simtime.SimCluster(FLEET, seed=3, resolution=15) as c:
            seen: dict[str, Any] = {"replicas": []}

            def create(t: float) -> None:
                c.store.create("statefulsets", STATEFULSET)
                c.store.create("hpa", HPA)

            def sample(t: float) -> None:
                sts = c.store.get("statefulsets", "web", "default")
                seen["replicas"].append((t, sts["spec"]["replicas"]))

            c.at(60, create)                  # metricsd has stored two scrapes by then
            c.every(15, sample, start=60.5)
            await c.run_until(121)
            hpa = c.store.get("hpa", "web", "default")
            seen["status"] = hpa["status"]
            horizontal = c.plane.controllers.horizontal
            seen["syncs"] = horizontal.syncs
            seen["history"] = [r["replicas"] for r in
                               horizontal.history[("default", "web")]["recommendations"]]
            seen["events"] = sorted(
                (e["reason"], e["message"], e["count"]) for e in c.store.list("events", "default")
                if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler")
            return seen

    seen = simtime.run(main())
    # created at 60: syncs at 75, 90, 105, 120; 300 % of 100m on two ready pods → ceil(6 × 2)
    # = 12, one step capped at max(2 × current, 4): 2 → 4 → 8 (maxReplicas)
    assert seen["syncs"] == 4
    assert seen["replicas"] == [(60.5, 2), (75.5, 4), (90.5, 8), (105.5, 8), (120.5, 8)]
    assert seen["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "300m", "averageUtilization": 300}}}]
    assert ("SuccessfulRescale", "New size: 4; reason: cpu resource utilization (percentage "
            "of request) above target", 1) in seen["events"]
    assert ("SuccessfulRescale", "New size: 8; reason: cpu resource utilization (percentage "
            "of request) above target", 1) in seen["events"]
    # metricsd's first rate for the pods (over the window that ends at the first sync) reads
    # 301m: 301 % → ceil(6.02 × 2) = 13, then 300 % → 12; the legacy stabilization keeps the
    # highest recommendation of its window (13), so AbleToScale says ScaleDownStabilized
    assert seen["history"] == [2, 13, 12, 12, 12]
    assert [c["reason"] for c in seen["status"]["conditions"]] == [
        "ScaleDownStabilized", "ValidMetricFound", "TooManyReplicas"]
