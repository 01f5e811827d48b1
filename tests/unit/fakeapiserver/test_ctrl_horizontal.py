"""The HPA controller's loop against a real APIServer (HTTPS, RBAC, aggregation) and a
metrics.k8s.io backend double, on a manual clock: what it reads, when, what it writes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakeapiserver.app import APIServer
from fakeapiserver.controllers import (
    HorizontalController,
    HPAControllerConfig,
    horizontal_controller,
)
from fakeapiserver.proxy import AggregationWiring, wire_aggregation
from fakeapiserver.reviews import wire_auth
from fakeapiserver.store import rfc3339
from tests.hpa_support import T0, Answer, ManualClock, PodMetricsBackend, pod_metrics
from tests.integration.test_apiserver_agg_backend import register_backend, set_backend_ready

NS = "default"
HPA_USER = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
APISERVICE = "v1beta1.metrics.k8s.io"
NOT_FOUND = ("unable to get metrics for resource cpu: unable to fetch metrics from resource "
             "metrics API: the server could not find the requested resource (get "
             "pods.metrics.k8s.io)")
UNAVAILABLE = ("unable to get metrics for resource cpu: unable to fetch metrics from resource "
               "metrics API: the server is currently unable to handle the request (get "
               "pods.metrics.k8s.io)")


@dataclass
class Env:
    clock: ManualClock
    server: APIServer
    agg: AggregationWiring
    backend: PodMetricsBackend
    hpa: HorizontalController

    @property
    def store(self) -> Any:
        return self.server.store

    async def at(self, seconds: float) -> None:
        """Run the loop until T0 + seconds."""
        await self.clock.run_until(T0 + seconds, self.hpa.settle)

    def status(self, name: str = "web") -> dict[str, Any]:
        return dict(self.store.get("hpa", name, NS).get("status") or {})

    def conditions(self, name: str = "web") -> list[tuple[str, str, str, str]]:
        return [(c["type"], c["status"], c["reason"], c["message"])
                for c in self.status(name).get("conditions") or []]

    def events(self, name: str = "web") -> list[tuple[str, str, str, int]]:
        out = []
        for e in self.store.list("events", NS):
            if e["involvedObject"]["name"] == name and e["involvedObject"]["kind"] == \
                    "HorizontalPodAutoscaler":
                assert e["source"] == {"component": "horizontal-pod-autoscaler"}
                out.append((e["type"], e["reason"], e["message"], e["count"]))
        return sorted(out)

    def rv(self, name: str = "web") -> int:
        return self.store.get_stored("hpa", name, NS).rv

    def replicas(self, name: str = "web") -> int:
        return int(self.store.get("deployments", name, NS)["spec"]["replicas"])

    async def serve_metrics(self) -> None:
        register_backend(self.server, self.backend.host, self.backend.port)
        await self.agg.availability.sync(APISERVICE)
        assert available(self) == "True"


def available(env: Env) -> str:
    obj = env.store.get("apiservices", APISERVICE)
    return next(c["status"] for c in obj["status"]["conditions"] if c["type"] == "Available")


def deployment(name: str = "web", replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {"metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "php"}]}}},
            "status": {"replicas": replicas}}


def pod(name: str, app: str = "web", cpu: str = "200m", since: float = T0 - 600
        ) -> dict[str, Any]:
    ts = rfc3339(since)
    return {"metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "app", "image": "php", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": "Running", "startTime": ts, "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts}]}}


def hpa(name: str = "web", target: str = "web", percent: int = 50, lo: int = 1, hi: int = 10,
        kind: str = "Deployment", api_version: str = "apps/v1") -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": target},
                     "minReplicas": lo, "maxReplicas": hi,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": percent}}}]}}


def usage(env: Env, cpu: str, names: tuple[str, ...] = ("web-1", "web-2")) -> None:
    stamp = rfc3339(env.clock.now() - 5)
    env.backend.pods[NS] = [pod_metrics(n, NS, cpu, timestamp=stamp) for n in names]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = ManualClock()
    server = APIServer(tmp_path / "cp", "1.30", clock=clock.now)
    await server.start()
    auth = wire_auth(server)
    agg = wire_aggregation(server)
    backend = PodMetricsBackend(server.pki.front_proxy_ca_pem)
    await backend.start()
    controller = horizontal_controller(server, auth, HPAControllerConfig(), clock.sleep)
    controller.start()
    store = server.store
    store.create("deployments", deployment())
    store.create("pods", pod("web-1"))
    store.create("pods", pod("web-2"))
    e = Env(clock, server, agg, backend, controller)
    yield e
    await controller.stop()
    await backend.stop()
    await agg.stop()
    await server.stop()


async def test_without_an_apiservice_the_hpa_reports_the_404_text(env: Env) -> None:
    env.store.create("hpa", hpa())
    created = env.rv()
    await env.at(14.9)                          # first sync one period after creation
    assert env.hpa.syncs == 0 and env.rv() == created
    await env.at(15)
    assert env.hpa.syncs == 1
    assert env.conditions() == [
        ("AbleToScale", "True", "SucceededGetScale",
         "the HPA controller was able to get the target's current scale"),
        ("ScalingActive", "False", "FailedGetResourceMetric",
         "the HPA was unable to compute the replica count: failed to get cpu utilization: "
         + NOT_FOUND)]
    status = env.status()
    assert status["currentReplicas"] == 2 and status["desiredReplicas"] == 0
    assert status["currentMetrics"] == [{"type": ""}]
    written = env.rv()
    assert written > created
    await env.at(60)                            # three more syncs, nothing new to write
    assert env.hpa.syncs == 4 and env.rv() == written
    assert env.events() == [
        ("Warning", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), "
         "first error is: failed to get cpu resource metric value: failed to get cpu "
         "utilization: " + NOT_FOUND, 4),
        ("Warning", "FailedGetResourceMetric", "failed to get cpu utilization: " + NOT_FOUND,
         4)]


async def test_an_unavailable_apiservice_gives_the_503_text(env: Env) -> None:
    register_backend(env.server, env.backend.host, env.backend.port, ready=False)
    await env.agg.availability.sync(APISERVICE)
    assert available(env) == "False"
    env.store.create("hpa", hpa())
    await env.at(15)
    assert env.conditions()[1] == (
        "ScalingActive", "False", "FailedGetResourceMetric",
        "the HPA was unable to compute the replica count: failed to get cpu utilization: "
        + UNAVAILABLE)
    assert env.backend.pod_lists == 0           # refused by the aggregator, not the backend
    # the backend turns ready: the next sync reads metrics through the proxy
    set_backend_ready(env.server, env.backend.host, env.backend.port, True)
    await env.agg.availability.sync(APISERVICE)
    usage(env, "100m")
    await env.at(30)
    assert env.conditions()[1][:3] == ("ScalingActive", "True", "ValidMetricFound")


async def test_high_cpu_scales_up_through_scale(env: Env) -> None:
    await env.serve_metrics()
    env.store.create("hpa", hpa())
    usage(env, "400m")                          # 200 % of the 200m request, target 50 %
    watch = env.store.watch("deployments", namespace=NS,
                            resource_version=str(env.store.resource_version))
    await env.at(15)
    # ceil(4 × 2 ready pods) = 8, legacy scale-up limit max(2 × 2, 4) = 4
    assert env.replicas() == 4
    assert watch.queue.qsize() == 1             # one write, one MODIFIED event
    seen = env.backend.requests[-1]
    assert (seen.user, seen.path) == (HPA_USER, f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}"
                                      "/pods")
    assert env.backend.queries[-1] == {"labelSelector": "app=web"}
    status = env.status()
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "400m", "averageUtilization": 200}}}]
    assert status["desiredReplicas"] == 4 and status["currentReplicas"] == 2
    assert status["lastScaleTime"] == rfc3339(T0 + 15)
    assert [c[:3] for c in env.conditions()] == [
        ("AbleToScale", "True", "SucceededRescale"),
        ("ScalingActive", "True", "ValidMetricFound"),
        ("ScalingLimited", "True", "ScaleUpLimit")]
    assert env.events() == [("Normal", "SuccessfulRescale", "New size: 4; reason: cpu resource "
                             "utilization (percentage of request) above target", 1)]
    # the history is fed back: the next sync knows the recommendation made at 15 s
    recs = env.hpa.history[(NS, "web")]["recommendations"]
    assert [r["replicas"] for r in recs] == [2, 8]
    # load gone (25 %: 1 replica), but the legacy stabilization keeps the highest
    # recommendation of 5 minutes — the 8 made at 15 s, capped then — so upstream scales *up*
    # to 8 "below target"
    usage(env, "50m")
    await env.at(30)
    assert env.replicas() == 8
    assert ("Normal", "SuccessfulRescale", "New size: 8; reason: All metrics below target",
            1) in env.events()
    assert [r["replicas"] for r in env.hpa.history[(NS, "web")]["recommendations"]] == [2, 8, 1]


async def test_a_workload_changed_mid_sync_makes_the_rescale_fail(env: Env) -> None:
    await env.serve_metrics()
    env.store.create("hpa", hpa())
    usage(env, "400m")

    def touch() -> None:  # the deployment changes while the metrics are being fetched
        env.store.mutate("deployments", "web", NS,
                         lambda d: d["metadata"].setdefault("labels", {}).update(x="y"))
    env.backend.on_pods = touch
    await env.at(15)
    conflict = ('Operation cannot be fulfilled on deployments.apps "web": the object has been '
                "modified; please apply your changes to the latest version and try again")
    assert env.replicas() == 2
    assert env.conditions()[0] == ("AbleToScale", "False", "FailedUpdateScale",
                                   "the HPA controller was unable to update the target scale: "
                                   + conflict)
    assert ("Warning", "FailedRescale", "New size: 4; reason: cpu resource utilization "
            f"(percentage of request) above target; error: {conflict}", 1) in env.events()
    env.backend.on_pods = None
    await env.at(30)
    assert env.replicas() == 4


async def test_an_hpa_changed_mid_sync_makes_the_status_update_fail(env: Env) -> None:
    await env.serve_metrics()
    env.store.create("hpa", hpa())
    usage(env, "100m")

    def edit() -> None:
        env.store.mutate("hpa", "web", NS, lambda h: h["spec"].update(maxReplicas=9))
    env.backend.on_pods = edit
    await env.at(15)
    assert ("Warning", "FailedUpdateStatus", 'Operation cannot be fulfilled on '
            'horizontalpodautoscalers.autoscaling "web": the object has been modified; please '
            "apply your changes to the latest version and try again", 1) in env.events()
    assert "conditions" not in env.status()
    env.backend.on_pods = None
    await env.at(30)
    assert env.conditions()[0][:3] == ("AbleToScale", "True", "ReadyForNewScale")


async def test_metrics_servers_own_errors_and_rbac_reach_the_hpa(env: Env) -> None:
    await env.serve_metrics()
    env.store.create("hpa", hpa())
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure", "message": "unable to fetch pod metrics for pod "
                       "default/web-1: no metrics known for pod", "reason": "InternalError",
                       "code": 500}).encode()
    env.backend.answer = Answer(500, "application/json", body)
    await env.at(15)
    assert env.conditions()[1][3].endswith(
        "unable to fetch metrics from resource metrics API: unable to fetch pod metrics for pod "
        "default/web-1: no metrics known for pod")
    env.store.delete("clusterrolebindings", "system:controller:horizontal-pod-autoscaler")
    await env.at(30)
    assert env.conditions()[1][3].endswith(
        'unable to fetch metrics from resource metrics API: pods.metrics.k8s.io is forbidden: '
        'User "system:serviceaccount:kube-system:horizontal-pod-autoscaler" cannot list '
        'resource "pods" in API group "metrics.k8s.io" in the namespace "default"')


async def test_no_metrics_are_read_outside_the_replica_range(env: Env) -> None:
    await env.serve_metrics()
    env.store.mutate("deployments", "web", NS, lambda d: d["spec"].update(replicas=0))
    env.store.create("hpa", hpa())
    await env.at(15)
    assert env.backend.pod_lists == 0
    assert env.conditions()[1][:3] == ("ScalingActive", "False", "ScalingDisabled")
    env.store.mutate("deployments", "web", NS, lambda d: d["spec"].update(replicas=12))
    await env.at(30)
    assert env.backend.pod_lists == 0 and env.replicas() == 10
    assert ("Normal", "SuccessfulRescale", "New size: 10; reason: Current number of replicas "
            "above Spec.MaxReplicas", 1) in env.events()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"target": "nope"}, 'deployments.apps "nope" not found'),
        ({"kind": "Frob"}, 'no matches for kind "Frob" in group "apps"'),
        ({"kind": "DaemonSet"}, "the server could not find the requested resource"),
    ],
)
async def test_scale_target_errors(env: Env, ref: dict[str, str], message: str) -> None:
    env.store.create("hpa", hpa(**ref))
    await env.at(15)
    assert env.conditions() == [("AbleToScale", "False", "FailedGetScale",
                                 "the HPA controller was unable to get the target's current "
                                 f"scale: {message}")]
    assert env.events() == [("Warning", "FailedGetScale", message, 1)]


async def test_two_hpas_on_one_target_are_ambiguous(env: Env) -> None:
    await env.serve_metrics()
    usage(env, "100m")
    env.store.create("hpa", hpa("web"))
    env.store.create("hpa", hpa("web2"))
    await env.at(15)          # both due at once: each registers its selector, then checks
    text = f"pods by selector app=web are controlled by multiple HPAs: [{NS}/web {NS}/web2]"
    for name in ("web", "web2"):
        assert env.conditions(name)[1] == ("ScalingActive", "False", "AmbiguousSelector", text)
        assert ("Warning", "AmbiguousSelector", text, 1) in env.events(name)
    assert env.replicas() == 2
    # the first one read metrics before the second had registered (a race upstream has too)
    assert env.backend.pod_lists == 1
    await env.at(30)                            # now neither reads metrics
    assert env.backend.pod_lists == 1
    env.store.delete("hpa", "web2", NS)         # its selector goes with it
    await env.at(45)
    assert env.conditions("web")[1][:3] == ("ScalingActive", "True", "ValidMetricFound")


async def test_history_is_wiped_when_a_sync_finds_the_hpa_gone_and_on_restart(env: Env) -> None:
    await env.serve_metrics()
    usage(env, "100m")
    env.store.create("hpa", hpa())
    await env.at(15)
    assert (NS, "web") in env.hpa.history
    env.store.delete("hpa", "web", NS)
    await env.at(29)
    assert (NS, "web") in env.hpa.history      # gone at the next due time, as upstream
    syncs = env.hpa.syncs
    await env.at(30)
    assert (NS, "web") not in env.hpa.history and env.hpa.syncs == syncs
    env.store.create("hpa", hpa())
    await env.at(45)
    assert env.hpa.last_result[(NS, "web")]["trace"]["scale"]["initialRecommendationRecorded"]
    await env.at(90)                            # the key is synced once per period again
    assert env.hpa.syncs == syncs + 4


async def test_v1_readers_see_the_conditions_annotation(env: Env) -> None:
    env.store.create("hpa", hpa())
    await env.at(15)
    v1 = env.store.registry.by_resource("autoscaling", "v1", "horizontalpodautoscalers")
    view = env.store.get(v1, "web", NS)
    conditions = json.loads(view["metadata"]["annotations"][
        "autoscaling.alpha.kubernetes.io/conditions"])
    assert [c["reason"] for c in conditions] == ["SucceededGetScale", "FailedGetResourceMetric"]
    assert view["spec"]["targetCPUUtilizationPercentage"] == 50
