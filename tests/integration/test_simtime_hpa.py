"""The HPA controller on accelerated time, fed by the real pipeline.

Fleet pods (``app=web``, 100m requested, 300m used) → metricsd's real MetricsServer scraping
them every 15 s → the aggregation layer → the HPA controller's LIST of pods.metrics.k8s.io,
all on one virtual clock. The target is a StatefulSet (no controller creates pods for it
here, so the fleet's two pods are all the selector matches). The controller's only wait on
time is its queue's sleep on the control plane's clock, so every sync happens at exactly its
due virtual instant.
"""

from __future__ import annotations

import math
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
            seen: dict[str, Any] = {"replicas": [], "utilization": []}

            def create(t: float) -> None:
                c.store.create("statefulsets", STATEFULSET)
                c.store.create("hpa", HPA)

            def sample(t: float) -> None:
                sts = c.store.get("statefulsets", "web", "default")
                seen["replicas"].append((t, sts["spec"]["replicas"]))
                hpa = c.store.get("hpa", "web", "default") if t > 61 else None
                if hpa is not None:  # what the sync just before t read from metricsd
                    current = hpa["status"]["currentMetrics"][0]["resource"]["current"]
                    seen["utilization"].append(current["averageUtilization"])

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
    # each sync's recommendation follows from the utilization metricsd served it: 300m ± the
    # fleet's noise on 100m requested, in whole percent (upstream truncates), so 300 % or 301 %
    # as the scrape instants fall (metricsd's jittered start-up moves them); 301 % →
    # ceil(301 / 50 × 2) = 13, 300 % → 12, on the two ready pods
    utilization = seen["utilization"]
    assert len(utilization) == 4 and set(utilization) <= {300, 301}, utilization
    assert seen["history"] == [2] + [math.ceil(u / 50 * 2) for u in utilization]
    # the legacy stabilization keeps the highest recommendation of its window: AbleToScale
    # says ScaleDownStabilized when that is above the latest one (13 after a 301 %)
    stabilized = max(seen["history"]) > seen["history"][-1]
    assert [c["reason"] for c in seen["status"]["conditions"]] == [
        "ScaleDownStabilized" if stabilized else "ReadyForNewScale", "ValidMetricFound",
        "TooManyReplicas"]
