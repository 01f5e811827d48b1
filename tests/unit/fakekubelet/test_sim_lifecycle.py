"""Pod lifecycles with start-up delays, readiness probes, graceful termination and driven
usage: what a kubelet shows, at the instants a kubelet would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.model import Pod, PodRemoved, PodUpdated
from fakekubelet.probes import ReadinessProbe
from fakekubelet.spec import ContainerTemplate, FleetSpec, NodeGroup, PodTemplate

T0 = 1_711_467_600.0


def empty_cluster() -> Cluster:
    spec = FleetSpec(groups=(NodeGroup("node", count=1, pods=()),), seed=3)
    return Cluster.from_spec(spec, VirtualClock(T0))


def states(pod: Pod) -> list[tuple[str, str, bool]]:
    return [(c.name, c.state, c.ready) for c in pod.all_containers()]


def web(**container: object) -> PodTemplate:
    return PodTemplate("web", containers=(ContainerTemplate("app", **container),))  # type: ignore[arg-type]


def test_startup_then_running_not_ready_then_ready_on_the_probe_tick() -> None:
    cluster = empty_cluster()
    events: list[object] = []
    cluster.subscribe(events.append)
    pod = cluster.add_pod("node-1", web(startup_seconds=3.0,
                                        readiness=ReadinessProbe(5, 10, 1)))
    # the kubelet took it on: startTime now, the container is being created
    assert pod.start_time == T0 and pod.phase == "Pending"
    assert states(pod) == [("app", "waiting", False)]
    cluster.advance(2.999)
    assert pod.phase == "Pending"
    cluster.advance(0.001)
    assert pod.phase == "Running" and states(pod) == [("app", "running", False)]
    assert pod.containers[0].start_time == T0 + 3 and not pod.ready
    assert pod.ready_time == T0  # not ready since the kubelet took it on
    cluster.advance(6.999)            # 8 s after its start: first tick at start + 10
    assert not pod.ready
    cluster.advance(0.001)
    assert pod.ready and pod.ready_time == T0 + 10
    assert pod.creation_time <= pod.scheduled_time <= pod.start_time
    assert pod.start_time <= pod.containers[0].start_time <= pod.ready_time
    updates = [e.time - T0 for e in events if isinstance(e, PodUpdated)]
    assert updates == [0.0, 3.0, 10.0]


def test_containers_start_one_after_another_and_the_pod_is_pending_until_all_run() -> None:
    cluster = empty_cluster()
    tmpl = PodTemplate("two", containers=(ContainerTemplate("a", startup_seconds=2.0),
                                          ContainerTemplate("b", startup_seconds=3.0)),
                       sidecars=(ContainerTemplate("proxy", startup_seconds=1.0),))
    pod = cluster.add_pod("node-1", tmpl)
    cluster.advance(1)
    assert states(pod) == [("proxy", "running", True), ("a", "waiting", False),
                           ("b", "waiting", False)]
    cluster.advance(2)
    assert states(pod)[1] == ("a", "running", True) and pod.phase == "Pending"
    cluster.advance(3)
    assert pod.phase == "Running" and pod.ready and pod.ready_time == T0 + 6
    assert [c.start_time for c in pod.all_containers()] == [T0 + 1, T0 + 3, T0 + 6]


def test_success_threshold_and_a_restart_waits_for_the_probe_again() -> None:
    cluster = empty_cluster()
    pod = cluster.add_pod("node-1", web(readiness=ReadinessProbe(0, 5, 2)))
    assert not pod.ready                    # the immediate probe is one success of two
    cluster.advance(5)
    assert pod.ready and pod.ready_time == T0 + 5
    cluster.advance(7)                      # t = 12
    cluster.restart_container(pod.namespace, pod.name, "app")
    assert not pod.ready and pod.ready_time == T0 + 12
    cluster.advance(3)                      # tick at 15: second success (12 was the first)
    assert pod.ready and pod.ready_time == T0 + 15


def test_terminating_for_the_grace_period_then_gone_and_metrics_stop() -> None:
    cluster = empty_cluster()
    removed: list[float] = []
    cluster.subscribe(lambda e: removed.append(e.time) if isinstance(e, PodRemoved) else None)
    pod = cluster.add_pod("node-1", web())
    cluster.advance(60)
    cluster.terminate_pod(pod.namespace, pod.name, 30)
    assert pod.terminating and pod.key in cluster.pods
    cluster.advance(29.999)
    assert pod.containers[0].state == "running"
    assert f"pod=\"{pod.name}\"" in cluster.render_metrics("node-1").decode()
    cluster.terminate_pod(pod.namespace, pod.name, 60)   # cannot lengthen it
    cluster.advance(0.001)
    assert removed == [T0 + 90] and pod.key not in cluster.pods
    assert f"pod=\"{pod.name}\"" not in cluster.render_metrics("node-1").decode()
    # the truth still knows the run, which ended at the kill
    key = f"{pod.namespace}/{pod.name}/app"
    cluster.advance(1)
    assert cluster.truth.cpu_cores(key, T0 + 89) > 0 and cluster.truth.cpu_cores(key, T0 + 91) == 0


def test_termination_seconds_and_pods_still_starting() -> None:
    cluster = empty_cluster()
    quick = cluster.add_pod("node-1", web(termination_seconds=2.0))
    slow = cluster.add_pod("node-1", web(startup_seconds=50.0))
    cluster.advance(10)
    cluster.terminate_pod(quick.namespace, quick.name, 30)
    cluster.terminate_pod(slow.namespace, slow.name, 30)   # nothing runs yet: gone now
    assert slow.key not in cluster.pods
    cluster.advance(2)
    assert quick.key not in cluster.pods
    cluster.advance(100)
    assert slow.containers[0].start_time is None           # never started


def test_adopted_pod_keeps_the_control_planes_uid_and_instants() -> None:
    cluster = empty_cluster()
    cluster.advance(100)
    pod = cluster.add_pod("node-1", web(), name="web-abcde", uid="1234", created=T0 + 90,
                          scheduled=T0 + 95, adopted=True)
    assert (pod.uid, pod.name, pod.adopted) == ("1234", "web-abcde", True)
    assert (pod.creation_time, pod.scheduled_time, pod.start_time) == (T0 + 90, T0 + 95, T0 + 100)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30_000), st.integers(0, 4000),
                          st.integers(0, 512)), min_size=1, max_size=12))
def test_driven_usage_is_served_and_true(changes: list[tuple[int, int, int]]) -> None:
    """Counters in the payload are the exact integral of the levels set (ground truth)."""
    cluster = empty_cluster()
    pod = cluster.add_pod("node-1", web())
    key = f"{pod.namespace}/{pod.name}/app"
    expected = 0.0
    level = 0.001  # IDLE until the first change
    for ms, millicores, mib in changes:
        cluster.advance(ms / 1000)
        expected += level * ms / 1000
        cluster.drive(pod.namespace, pod.name, cpu=millicores / 1000, memory=mib * 1048576)
        level = millicores / 1000
    t = cluster.clock.now()
    assert cluster.truth.cpu_seconds(key, t) == pytest.approx(expected, abs=1e-6)
    assert cluster.truth.memory_bytes(key, t) == changes[-1][2] * 1048576
    body = cluster.render_metrics("node-1").decode()
    line = next(x for x in body.splitlines()
                if x.startswith("container_cpu_usage_seconds_total") and pod.name in x)
    _, value, stamp_ms = line.split()
    # the payload's figure is the truth at its own (whole-millisecond) timestamp, to the ns
    truth = cluster.truth.cpu_seconds(key, int(stamp_ms) / 1000)
    assert float(value) == pytest.approx(truth, abs=2e-9)


def test_drive_rejects_bad_levels() -> None:
    cluster = empty_cluster()
    pod = cluster.add_pod("node-1", web())
    with pytest.raises(ValueError, match="cpu: must be a finite amount >= 0"):
        cluster.drive(pod.namespace, pod.name, cpu=-1)
    with pytest.raises(KeyError):
        cluster.drive(pod.namespace, pod.name, "nope", cpu=1)


def test_fleet_spec_takes_the_delays() -> None:
    from fakekubelet.spec import SpecError, load_spec_text

    spec = load_spec_text(
        "nodeGroups:\n"
        "  - name: w\n"
        "    pods:\n"
        "      - name: web\n"
        "        containers:\n"
        "          - name: app\n"
        "            startupSeconds: 4\n"
        "            terminationSeconds: 2.5\n"
        "            readinessProbe: {initialDelaySeconds: 5, periodSeconds: 3}\n"
    )
    c = spec.groups[0].pods[0].containers[0]
    assert (c.startup_seconds, c.termination_seconds) == (4.0, 2.5)
    assert c.readiness == ReadinessProbe(5, 3, 1)
    with pytest.raises(SpecError, match=r"f.yaml:7: nodeGroups\[0\].pods\[0\].containers\[0\]"
                       r".readinessProbe.periodSeconds: 0 is out of range"):
        load_spec_text(
            "nodeGroups:\n  - name: w\n    pods:\n      - name: web\n        containers:\n"
            "          - name: app\n            readinessProbe: {periodSeconds: 0}\n",
            "f.yaml",
        )


def test_fleet_spec_image_profiles() -> None:
    from fakekubelet.images import ImageProfile, profile_for
    from fakekubelet.spec import SpecError, load_spec_text

    spec = load_spec_text(
        "images:\n"
        "  - pattern: 'registry.k8s.io/hpa-example*'\n"
        "    startupSeconds: 3\n"
        "    terminationSeconds: 1\n"
        "    cpu: 1m\n"
        "    memory: 10Mi\n"
        "  - {pattern: '*', startupSeconds: 1}\n"
    )
    first = spec.images[0]
    assert first == ImageProfile("registry.k8s.io/hpa-example*", 3.0, 1.0, 1.0, 0.001, 10 << 20)
    assert profile_for(spec.images, "registry.k8s.io/hpa-example:latest") is first
    assert profile_for(spec.images, "nginx").startup_seconds == 1.0
    assert profile_for((), "nginx") == ImageProfile()
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    assert cluster.images == spec.images
    with pytest.raises(SpecError, match=r"f.yaml:2: images\[0\].cpu: 'x' is not a cpu amount"):
        load_spec_text("images:\n  - {pattern: a, cpu: x}\n", "f.yaml")


def test_terminating_again_never_postpones_and_a_shorter_grace_cuts_it() -> None:
    cluster = empty_cluster()
    pod = cluster.add_pod("node-1", web(termination_seconds=5.0))
    slow = cluster.add_pod("node-1", web())
    cluster.advance(10)
    cluster.terminate_pod(pod.namespace, pod.name, 30)
    cluster.terminate_pod(slow.namespace, slow.name, 30)
    cluster.advance(3)
    cluster.terminate_pod(pod.namespace, pod.name, 30)     # again: the exit stays at +5
    cluster.terminate_pod(slow.namespace, slow.name, 4)    # shorter: SIGKILL at +7 now
    cluster.advance(2)
    assert pod.key not in cluster.pods and slow.key in cluster.pods
    cluster.advance(1.999)
    assert slow.key in cluster.pods
    cluster.advance(0.001)
    assert slow.key not in cluster.pods
