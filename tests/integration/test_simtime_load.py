"""The closed loop on accelerated time: a Deployment's pods run on the fleet, the load driver
(on the master clock, fed by the store's change feed) splits 1 core among the Ready ones, and
the Metrics API served by the in-process metricsd shows each pod's share — 500m with 2 pods,
250m with 4 once the new pods are Ready — equal to the fleet's truth over the window."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios import simtime
from scenarios.load.driver import ClusterSink, LoadDriver, StorePods
from scenarios.load.spec import load_spec_text
from scenarios.simtime.driver import _go_duration_seconds

pytestmark = pytest.mark.slow

R = 15.0
FLEET = """
seed: 3
images: [{pattern: "registry.k8s.io/hpa-example*", startupSeconds: 3, cpu: 1m, memory: 20Mi}]
nodeGroups: [{name: node, count: 2, pods: [], capacity: {cpu: 4, memory: 8Gi}}]
"""

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "php-apache"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "php-apache"}},
             "template": {"metadata": {"labels": {"app": "php-apache"}},
                          "spec": {"containers": [{
                              "name": "php-apache", "image": "registry.k8s.io/hpa-example",
                              "resources": {"requests": {"cpu": "200m"},
                                            "limits": {"cpu": "500m"}},
                              "readinessProbe": {"httpGet": {"path": "/", "port": 80},
                                                 "initialDelaySeconds": 5,
                                                 "periodSeconds": 10}}]}}}}


def test_one_core_split_over_two_then_four_pods() -> None:
    async def main() -> list[dict[str, Any]]:
        from metricsd.quantity import parse_cpu_nanocores

        async with simtime.SimCluster(FLEET, resolution=R) as c:
            seen: list[dict[str, Any]] = []

            async def deploy(t: float) -> None:
                status, body = await c.api.request(
                    "POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT)
                assert status == 201, body
                spec = load_spec_text("deployment: php-apache\ncores: 1\n"
                                      "baseline: {cpu: 0, memory: 20Mi}\n")
                LoadDriver(spec, c.clock, StorePods(c.store, "default", "php-apache"),
                           ClusterSink(c.cluster)).start()

            async def scale(t: float) -> None:
                path = "/apis/apps/v1/namespaces/default/deployments/php-apache/scale"
                scale = await c.api.get(path)
                scale["spec"]["replicas"] = 4
                status, body = await c.api.request("PUT", path, scale)
                assert status == 200, body

            async def sample(t: float) -> None:
                try:
                    body = await c.api.get(
                        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                        labelSelector="app=php-apache")
                except simtime.APIError:
                    return
                for item in body["items"]:
                    key = f"default/{item['metadata']['name']}"
                    node = c.cluster.pods[key].node_name
                    stamps = [ms / 1000 for ms in c.fleet.served_sample_times(node)
                              if ms / 1000 <= c.clock.now()]
                    window = _go_duration_seconds(item["window"])
                    # a pod's first window runs from its container's start; then scrapes
                    t0 = stamps[-2] if abs(window - R) < 0.1 else stamps[-1] - window
                    seen.append({
                        "t": t, "pod": key,
                        "api": parse_cpu_nanocores(item["containers"][0]["usage"]["cpu"]) / 1e6,
                        "truth": c.truth.mean_cpu_cores(key, t0, stamps[-1]) * 1000,
                    })

            c.at(30, deploy)
            c.at(150, scale)
            c.every(5, sample, start=35)
            await c.run_until(300)
            return seen

    seen = simtime.run(main())
    for s in seen:
        assert abs(s["api"] - s["truth"]) < 1e-4, s  # the pipeline serves the truth
    # Ready at 30 + 10 (probe tick after 5 s of running); two scrapes later: 500m each
    at_two = [s for s in seen if 40 + 2 * R <= s["t"] < 150]
    assert at_two and {round(s["api"], 3) for s in at_two} == {500.0}
    assert len({s["pod"] for s in at_two}) == 2
    # scaled at 150: new pods Ready at 160; two windows later every pod at 250m
    at_four = [s for s in seen if s["t"] >= 160 + 2 * R]
    assert len({s["pod"] for s in at_four}) == 4
    assert {round(s["api"], 3) for s in at_four} == {250.0}
