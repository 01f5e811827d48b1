"""Timestamps of the fleet's Pod and Node objects, as on a cluster: creation ≤ scheduling
(PodScheduled) ≤ start (status.startTime) ≤ containers' startedAt ≤ Ready (Ready and
ContainersReady lastTransitionTime); the API shows the fleet model's own instants — those the
kubelet payload serves (container_start_time_seconds) — including warm-up and ``ageSeconds``."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from fakeapiserver.registration import FleetRegistration
from fakeapiserver.store import Store
from fakekubelet.churn import ChurnSpec
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.spec import ContainerTemplate, PodTemplate, generated_spec, load_spec_text

T0 = 1_711_467_600.0

FLEET = """\
seed: 5
warmupSeconds: 3600
nodeGroups:
- name: node
  count: 2
  churn: {podCreatePerMinute: 3, podDeletePerMinute: 1, containerRestartPerMinute: 4}
  pods:
  - name: web
    count: 3
    pendingSeconds: 2
    containers: [{name: app, cpu: 50m, memory: 64Mi}]
  - name: sidecarred
    initContainers: [{name: migrate, runSeconds: 4}]
    sidecars: [{name: envoy}]
    containers: [{name: app}]
  - name: job
    owner: {kind: Job, name: nightly}
    runSeconds: 600
    containers: [{name: run}]
  - name: legacy
    namespace: legacy
    ageSeconds: 7200
    containers: [{name: app}]
  - name: stuck
    pendingSeconds: 1.0e+9
    ageSeconds: 300
    containers: [{name: app}]
"""


def at(text: str | None) -> float:
    assert text, "timestamp missing"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def floor(t: float) -> float:
    return float(math.floor(t))


def conditions(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in pod["status"].get("conditions") or []}


def registered(cluster: Cluster) -> Store:
    store = Store(clock=cluster.clock.now)
    store.create("namespaces", {"metadata": {"name": "default"}})
    FleetRegistration(store, cluster).sync()
    return store


def check_order(store: Store, cluster: Cluster) -> int:
    """Every pod's timestamps in cluster order and equal to the model's; returns pods checked."""
    checked = 0
    for pod in store.list("pods"):
        meta, status = pod["metadata"], pod["status"]
        model = cluster.pod(meta["namespace"], meta["name"])
        created = at(meta["creationTimestamp"])
        assert created == floor(model.creation_time)
        cond = conditions(pod)
        scheduled = at(cond["PodScheduled"]["lastTransitionTime"])
        assert cond["PodScheduled"]["status"] == "True"
        assert created <= scheduled
        if model.start_time is None:  # the kubelet has not started it: nothing else yet
            assert "startTime" not in status and set(cond) == {"PodScheduled"}
            assert status["phase"] == "Pending"
            checked += 1
            continue
        start = at(status["startTime"])
        assert start == floor(model.start_time) and scheduled <= start
        assert start <= at(cond["Initialized"]["lastTransitionTime"])
        for cs in status["containerStatuses"]:
            running = cs["state"].get("running")
            if running is None:
                continue
            started = at(running["startedAt"])
            c = model.container(cs["name"])
            assert c.start_time is not None and started == floor(c.start_time)
            assert start <= started
            if cond["Ready"]["status"] == "True":
                assert started <= at(cond["Ready"]["lastTransitionTime"])
        ready = at(cond["Ready"]["lastTransitionTime"])
        assert ready == at(cond["ContainersReady"]["lastTransitionTime"])
        assert start <= ready <= floor(cluster.clock.now())
        assert cond["Ready"]["status"] == ("True" if status["phase"] == "Running" else "False")
        checked += 1
    return checked


def test_warm_cluster_pods_were_created_before_they_started() -> None:
    cluster = Cluster.from_spec(load_spec_text(FLEET, "f.yaml"), VirtualClock(T0))
    store = registered(cluster)
    assert check_order(store, cluster) == len(cluster.pods) == 2 * 7
    pods = store.list("pods")
    # warm-up: creation spread over the hour before the start, not "now"
    created = sorted(at(p["metadata"]["creationTimestamp"]) for p in pods)
    assert created[0] < T0 - 3000 and created[-1] <= T0
    for node in store.list("nodes"):
        assert at(node["metadata"]["creationTimestamp"]) == T0 - 7200  # booted before its pods


def test_age_seconds_is_exact_and_the_pod_stays_without_metrics() -> None:
    cluster = Cluster.from_spec(load_spec_text(FLEET, "f.yaml"), VirtualClock(T0))
    store = registered(cluster)
    legacy = store.list("pods", "legacy")
    assert len(legacy) == 2
    assert {at(p["metadata"]["creationTimestamp"]) for p in legacy} == {T0 - 7200}
    stuck = [p for p in store.list("pods") if p["metadata"]["name"].startswith("stuck-")]
    assert {at(p["metadata"]["creationTimestamp"]) for p in stuck} == {T0 - 300}
    assert {p["status"]["phase"] for p in stuck} == {"Pending"}
    body = b"".join(cluster.render_metrics(n) for n in cluster.nodes).decode()
    assert "stuck-" not in body  # a pod older than 2 minutes the kubelet reports nothing for


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.lists(st.floats(0.5, 120), min_size=1, max_size=6))
def test_order_holds_under_churn_restarts_and_completion(seed: int, steps: list[float]) -> None:
    cluster = Cluster.from_spec(replace(load_spec_text(FLEET, "f.yaml"), seed=seed),
                                VirtualClock(T0))
    for step in steps:
        cluster.advance(step)
        check_order(registered(cluster), cluster)


def test_restart_moves_started_at_and_ready_not_start_time() -> None:
    cluster = Cluster.from_spec(load_spec_text(FLEET, "f.yaml"), VirtualClock(T0))
    cluster.set_churn(pod_create_per_minute=0, pod_delete_per_minute=0,
                      container_restart_per_minute=0)
    pod = next(p for p in cluster.pods.values() if p.name.startswith("web-"))
    before = registered(cluster).get("pods", pod.name, pod.namespace)
    cluster.advance(90)
    cluster.restart_container(pod.namespace, pod.name, "app")
    after = registered(cluster).get("pods", pod.name, pod.namespace)
    assert after["status"]["startTime"] == before["status"]["startTime"]
    assert at(after["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]) == (
        floor(T0 + 90))
    assert at(conditions(after)["Ready"]["lastTransitionTime"]) == floor(T0 + 90)
    assert after["status"]["containerStatuses"][0]["restartCount"] == 1


def test_a_churned_pod_is_created_now_and_starts_after_its_pending_time() -> None:
    spec = generated_spec(nodes=1, pods_per_node=0, seed=2)
    tmpl = PodTemplate("late", pending_seconds=5, containers=(ContainerTemplate("c"),))
    spec = replace(spec, groups=tuple(replace(g, pods=(tmpl,), churn=ChurnSpec())
                                      for g in spec.groups))
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    cluster.advance(30)
    pod = cluster.add_pod("node-1")
    obj = registered(cluster).get("pods", pod.name, pod.namespace)
    assert at(obj["metadata"]["creationTimestamp"]) == T0 + 30
    assert obj["status"]["phase"] == "Pending" and "startTime" not in obj["status"]
    cluster.advance(5)
    obj = registered(cluster).get("pods", pod.name, pod.namespace)
    assert at(obj["status"]["startTime"]) == T0 + 35
    assert at(conditions(obj)["Ready"]["lastTransitionTime"]) == T0 + 35
    check_order(registered(cluster), cluster)


def test_payload_start_times_are_the_instants_the_api_shows() -> None:
    cluster = Cluster.from_spec(load_spec_text(FLEET, "f.yaml"), VirtualClock(T0))
    cluster.advance(20)
    store = registered(cluster)
    seen = 0
    for name in cluster.nodes:
        for fam in text_string_to_metric_families(cluster.render_metrics(name).decode()):
            if fam.name != "container_start_time_seconds":
                continue
            for s in fam.samples:
                pod = store.get("pods", s.labels["pod"], s.labels["namespace"])
                statuses = {c["name"]: c for c in pod["status"]["containerStatuses"]}
                if s.labels["container"] not in statuses:
                    continue  # init containers and sidecars have no regular status
                running = statuses[s.labels["container"]]["state"]["running"]
                assert at(running["startedAt"]) == floor(s.value)
                seen += 1
    assert seen >= 2 * 5


def test_age_seconds_is_validated() -> None:
    from fakekubelet.spec import SpecError

    with pytest.raises(SpecError, match=r"pods\[0\]\.ageSeconds: -1 is < 0"):
        load_spec_text("nodeGroups:\n- name: g\n  pods:\n  - name: p\n    ageSeconds: -1\n"
                       "    containers: [{name: c}]\n", "f.yaml")
