"""Workload pods on the fleet, at the store: the ReplicaSet's own Pod objects run on fleet
nodes, their status follows the kubelet's lifecycle, deletion is graceful, nothing doubles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakeapiserver.store import parse_rfc3339
from fakeapiserver.tables import pod_status_reason
from fakekubelet.images import ImageProfile
from tests.unit.fakeapiserver.fleet_support import IMAGE, NS, T0, Sim, deployment, make_sim


def rows(sim: Sim) -> list[tuple[str, str]]:
    """(READY, STATUS) as kubectl get pods shows them, by pod name."""
    out = []
    for p in sorted(sim.pods(), key=lambda p: p["metadata"]["name"]):
        reason, ready, _, _ = pod_status_reason(p)
        out.append((f"{ready}/{len(p['spec']['containers'])}", reason))
    return out


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    s = await make_sim()
    yield s
    await s.stop()


async def test_lifecycle_as_kubectl_get_pods_shows_it(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment())
    await sim.settle()
    pods = sim.pods()
    assert len(pods) == 2 and len(sim.cluster.pods) == 2
    assert {p["metadata"]["uid"] for p in pods} == {p.uid for p in sim.cluster.pods.values()}
    assert rows(sim) == [("0/1", "ContainerCreating")] * 2
    await sim.advance(2)                      # the image profile's start-up
    assert rows(sim) == [("0/1", "Running")] * 2
    await sim.advance(7.9)                    # the probe ticks at startTime + 10 s
    assert rows(sim) == [("0/1", "Running")] * 2
    await sim.advance(0.1)
    assert rows(sim) == [("1/1", "Running")] * 2
    pod = sim.pods()[0]
    st = pod["status"]
    conds = {c["type"]: c for c in st["conditions"]}
    created = parse_rfc3339(pod["metadata"]["creationTimestamp"])
    scheduled = parse_rfc3339(conds["PodScheduled"]["lastTransitionTime"])
    started = parse_rfc3339(st["startTime"])
    running = parse_rfc3339(st["containerStatuses"][0]["state"]["running"]["startedAt"])
    ready = parse_rfc3339(conds["Ready"]["lastTransitionTime"])
    assert created is not None and scheduled is not None and started is not None
    assert created <= scheduled <= started <= running <= ready  # type: ignore[operator]
    assert (running, ready) == (T0 + 2, T0 + 10)
    assert st["podIP"].startswith("127.200.") and st["qosClass"] == "Burstable"
    assert "fakekubelet/uid" not in (pod["metadata"].get("annotations") or {})
    # the ReplicaSet and Deployment see their pods Ready
    dep = sim.store.get("deployments.apps", "web", NS)
    assert dep["status"]["readyReplicas"] == 2
    # the kubelet of the pod's node serves its container
    node = pod["spec"]["nodeName"]
    body = sim.cluster.render_metrics(node).decode()
    assert f'container="php-apache",namespace="{NS}",pod="{pod["metadata"]["name"]}"' in body


async def test_scale_down_terminates_for_the_grace_period_then_deletes(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment(replicas=3))
    await sim.settle()
    await sim.advance(20)
    sim.store.mutate("deployments.apps", "web", NS, lambda d: d["spec"].update(replicas=1))
    await sim.settle()
    shown = rows(sim)
    assert sorted(shown) == [("1/1", "Running"), ("1/1", "Terminating"), ("1/1", "Terminating")]
    terminating = [p["metadata"]["name"] for p in sim.pods()
                   if p["metadata"].get("deletionTimestamp")]
    for name in terminating:               # still running, still served
        assert f"{NS}/{name}" in sim.cluster.pods
    await sim.advance(9.9)
    assert len(sim.pods()) == 3
    await sim.advance(0.1)
    assert len(sim.pods()) == 1 and len(sim.cluster.pods) == 1
    assert rows(sim) == [("1/1", "Running")]


async def test_force_delete_and_termination_seconds(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment(
        replicas=2, **{"sim.metricsd.io/termination-seconds": "1"}))
    await sim.settle()
    await sim.advance(20)
    first, second = sorted(p["metadata"]["name"] for p in sim.pods())
    sim.store.delete("pods", first, NS, grace_seconds=0)     # --force --grace-period=0
    await sim.settle()
    assert f"{NS}/{first}" not in sim.cluster.pods
    sim.store.delete("pods", second, NS)                     # exits 1 s after SIGTERM
    await sim.settle()
    assert sim.store.get("pods", second, NS)["metadata"]["deletionTimestamp"]
    await sim.advance(1)
    assert sim.store.try_get("pods", second, NS) is None
    await sim.settle()
    # the ReplicaSet replaced both; no pod is there twice
    names = [p["metadata"]["name"] for p in sim.pods()]
    assert len(names) == len(set(names)) == 2
    assert sorted(names) == sorted(p.name for p in sim.cluster.pods.values())


async def test_unschedulable_when_requests_exceed_the_nodes(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment(replicas=5, cpu="400m"))
    await sim.settle()
    pending = [p for p in sim.pods() if not p["spec"].get("nodeName")]
    assert len(pending) == 1 and len(sim.cluster.pods) == 4
    [cond] = [c for c in pending[0]["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond["message"] == (
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod.")
    sim.cluster.add_node("node", with_pods=False)            # a node joins: it fits there
    await sim.settle()
    assert len(sim.cluster.pods) == 5


async def test_bad_annotation_is_a_container_config_error(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment(
        replicas=1, **{"sim.metricsd.io/startup-seconds": "soon"}))
    await sim.settle()
    [pod] = sim.pods()
    assert rows(sim) == [("0/1", "CreateContainerConfigError")]
    message = pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert message == ('annotation sim.metricsd.io/startup-seconds: "soon" is not valid '
                       "(expected seconds >= 0, or CONTAINER=VALUE pairs separated by commas)")
    events = [e["message"] for e in sim.store.list("events", NS) if e["reason"] == "Failed"]
    assert events == [f"Error: {message}"]
    conds = {c["type"]: (c["status"], c.get("reason")) for c in pod["status"]["conditions"]}
    assert conds == {"PodScheduled": ("True", None), "Initialized": ("True", None),
                     "Ready": ("False", "ContainersNotReady"),
                     "ContainersReady": ("False", "ContainersNotReady")}
    assert not sim.cluster.pods
    sim.store.delete("pods", pod["metadata"]["name"], NS)   # nothing runs: gone at once
    assert sim.store.try_get("pods", pod["metadata"]["name"], NS) is None


async def test_a_full_registration_pass_keeps_the_same_objects(sim: Sim) -> None:
    sim.store.create("deployments.apps", deployment(replicas=2))
    await sim.settle()
    await sim.advance(20)
    before = {p["metadata"]["name"]: p for p in sim.pods()}
    created: list[str] = []
    sim.store.subscribe(lambda c: created.append(c.new.name) if c.type == "ADDED" else None,
                        ["pods"])
    sim.registration.changed()                 # a full reconcile pass
    await sim.settle()
    after = {p["metadata"]["name"]: p for p in sim.pods()}
    assert created == [] and after == before   # nothing added, nothing rewritten
    for name, pod in after.items():
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert pod["metadata"]["uid"] == before[name]["metadata"]["uid"]


@pytest.mark.parametrize(
    ("annotations", "want"),
    [
        ({}, {"app": (2.0, None, 0.002), "envoy": (0.0, None, 0.001)}),
        ({"sim.metricsd.io/startup-seconds": "5"},
         {"app": (5.0, None, 0.002), "envoy": (5.0, None, 0.001)}),
        ({"sim.metricsd.io/startup-seconds": "4, envoy=0.5",
          "sim.metricsd.io/termination-seconds": "app=3", "sim.metricsd.io/cpu": "envoy=10m"},
         {"app": (4.0, 3.0, 0.002), "envoy": (0.5, None, 0.01)}),
    ],
)
def test_settings_from_annotations_then_image_profiles(
        annotations: dict[str, str], want: dict[str, tuple[float, float | None, float]]) -> None:
    from fakeapiserver.controllers.fleettemplates import pod_template

    pod = {"metadata": {"name": "p", "namespace": NS, "annotations": annotations},
           "spec": {"containers": [{"name": "app", "image": IMAGE, "readinessProbe": {
               "initialDelaySeconds": 3, "successThreshold": 2}}],
               "initContainers": [{"name": "envoy", "image": "envoy:1",
                                   "restartPolicy": "Always"}]}}
    profiles = (ImageProfile(IMAGE + "*", startup_seconds=2.0, cpu=0.002),)
    tmpl = pod_template(pod, profiles)
    got = {c.name: (c.startup_seconds, c.termination_seconds, c.workload.cpu.value(0))
           for c in (*tmpl.containers, *tmpl.sidecars)}
    assert got == want
    assert tmpl.containers[0].readiness is not None
    assert (tmpl.containers[0].readiness.initial_delay_seconds,
            tmpl.containers[0].readiness.period_seconds,
            tmpl.containers[0].readiness.success_threshold) == (3, 10, 2)
    assert [c.name for c in tmpl.sidecars] == ["envoy"] and not tmpl.init_containers


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"sim.metricsd.io/cpu": "lots"}, 'annotation sim.metricsd.io/cpu: "lots" is not valid'),
        ({"sim.metricsd.io/startup-seconds": "-1"}, '"-1" is not valid'),
        ({"sim.metricsd.io/memory": "nope=1Mi"}, 'no container "nope" in this pod (app)'),
        ({"sim.metricsd.io/run-seconds": "1, 2"}, "the default is given twice"),
    ],
)
def test_bad_settings_name_the_annotation(annotations: dict[str, str], message: str) -> None:
    from fakeapiserver.controllers.fleettemplates import SimSettingError, pod_template

    pod = {"metadata": {"name": "p", "annotations": annotations},
           "spec": {"containers": [{"name": "app", "image": IMAGE}]}}
    with pytest.raises(SimSettingError) as err:
        pod_template(pod)
    assert message in str(err.value)
