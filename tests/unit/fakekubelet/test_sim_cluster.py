"""The simulated cluster: lifecycles, churn, faults, determinism and the ground truth."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from fakekubelet.churn import ChurnSpec
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.model import (
    Faults,
    NodeAdded,
    NodeAddressChanged,
    NodeRemoved,
    PodAdded,
    PodRemoved,
    PodUpdated,
    whole_pages,
)
from fakekubelet.replay import record
from fakekubelet.spec import (
    ContainerTemplate,
    FleetSpec,
    NodeGroup,
    PodTemplate,
    generated_spec,
)
from fakekubelet.workloads import Constant, Ramp, Sine, Spike, Step, Workload

T0 = 1_711_467_600.0
MI = 1024 * 1024

Series = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, float | None]]


def parse(body: bytes) -> Series:
    """{(name, labels): (value, timestamp seconds)} of a payload."""
    out: Series = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            ts = float(s.timestamp) if s.timestamp is not None else None
            out[(s.name, tuple(sorted(s.labels.items())))] = (s.value, ts)
    return out


def container_key(ns: str, pod: str, c: str) -> tuple[tuple[str, str], ...]:
    return (("container", c), ("namespace", ns), ("pod", pod))


def one_pod_cluster(
    workload: Workload,
    *,
    pod: PodTemplate | None = None,
    overhead: Workload | None = None,
    version: str = "1.30.0",
) -> Cluster:
    tmpl = pod or PodTemplate("app", containers=(ContainerTemplate("c", workload=workload),))
    group = NodeGroup(
        "n",
        count=1,
        pods=(tmpl,),
        kubelet_version=version,
        overhead=overhead or Workload(Constant(0.25), Constant(100 * MI)),
    )
    return Cluster.from_spec(FleetSpec(groups=(group,), seed=1), VirtualClock(T0))


# ------------------------------------------------------------------------ exact counters

workloads = st.one_of(
    st.builds(lambda v: Workload(Constant(v), Constant(MI)), st.floats(0.001, 8)),
    st.builds(
        lambda b, a, p: Workload(Sine(b, a * b, p), Constant(2 * MI)),
        st.floats(0.01, 4),
        st.floats(0, 1),
        st.floats(1, 300),
    ),
    st.builds(
        lambda a, b, d: Workload(Ramp(a, b, d), Ramp(MI, 64 * MI, d)),
        st.floats(0, 4),
        st.floats(0, 4),
        st.floats(1, 600),
    ),
    st.builds(
        lambda a, b, at: Workload(Step(a, ((at, b),)), Step(MI, ((at, 3 * MI),))),
        st.floats(0, 4),
        st.floats(0, 4),
        st.floats(0, 600),
    ),
    st.builds(
        lambda a, b, w: Workload(Spike(a, b, 30, w), Constant(MI)),
        st.floats(0, 1),
        st.floats(0, 4),
        st.floats(0.5, 30),
    ),
)


@settings(max_examples=60, deadline=None)
@given(workloads, st.lists(st.floats(0.001, 120), min_size=1, max_size=8))
def test_counters_equal_the_integral_exactly(w: Workload, steps: list[float]) -> None:
    cluster = one_pod_cluster(w)
    clock = cluster.clock
    assert isinstance(clock, VirtualClock)
    pod = next(iter(cluster.pods.values()))
    for step in steps:
        cluster.advance(step)
        series = parse(cluster.render_metrics("n-1"))
        value, ts = series[
            ("container_cpu_usage_seconds_total", container_key("default", pod.name, "c"))
        ]
        assert ts is not None
        # workload origin is the cluster epoch (T0); the container started there too
        exact = w.cpu.cumulative(ts - T0) - w.cpu.cumulative(0.0)
        assert value == round(exact * 1e9) / 1e9
        assert value == round(cluster.truth.cpu_seconds(f"default/{pod.name}/c", ts) * 1e9) / 1e9
        mem, _ = series[
            ("container_memory_working_set_bytes", container_key("default", pod.name, "c"))
        ]
        assert mem == whole_pages(w.memory.value(ts - T0))
        node_cpu, nts = series[("node_cpu_usage_seconds_total", ())]
        assert nts == ts
        assert node_cpu == pytest.approx(exact + 0.25 * (ts - T0), abs=2e-9)


def test_truth_rule_matches_a_rate_from_two_scrapes() -> None:
    w = Workload(Sine(0.5, 0.4, 37.0), Ramp(10 * MI, 90 * MI, 100.0))
    cluster = one_pod_cluster(w)
    cluster.advance(12.3456)
    first = parse(cluster.render_metrics("n-1"))
    cluster.advance(15.0004)
    second = parse(cluster.render_metrics("n-1"))
    pod = next(iter(cluster.pods))
    ns, name = pod.split("/")
    key = ("container_cpu_usage_seconds_total", container_key(ns, name, "c"))
    (c1, t1), (c2, t2) = first[key], second[key]
    assert t1 is not None and t2 is not None
    rate = (c2 - c1) / (t2 - t1)
    assert rate == pytest.approx(cluster.truth.mean_cpu_cores(f"{pod}/c", t1, t2), abs=2e-9 / 15)
    mem = second[("container_memory_working_set_bytes", container_key(ns, name, "c"))][0]
    assert mem == cluster.truth.memory_bytes(f"{pod}/c", t2)
    (n1, _), (n2, _) = (
        first[("node_cpu_usage_seconds_total", ())],
        second[("node_cpu_usage_seconds_total", ())],
    )
    assert (n2 - n1) / (t2 - t1) == pytest.approx(
        cluster.truth.mean_cpu_cores("n-1", t1, t2), abs=4e-9 / 15
    )
    window = cluster.truth.window(pod, t1, t2)
    assert window["cpuCores"] == pytest.approx(rate, abs=2e-9 / 15)


# ------------------------------------------------------------------------ totals


def test_node_totals_are_pods_plus_overhead() -> None:
    cluster = Cluster.generate(nodes=2, pods_per_node=7, seed=3, clock=VirtualClock(T0))
    for step in (1.0, 33.3, 200.0, 451.7):
        cluster.advance(step)
        for name in cluster.nodes:
            series = parse(cluster.render_metrics(name))
            node_cpu, ts = series[("node_cpu_usage_seconds_total", ())]
            node_mem, _ = series[("node_memory_working_set_bytes", ())]
            assert ts is not None
            pods_cpu = sum(
                v for (n, _), (v, _) in series.items() if n == "pod_cpu_usage_seconds_total"
            )
            pods_mem = sum(
                v for (n, _), (v, _) in series.items() if n == "pod_memory_working_set_bytes"
            )
            overhead = cluster.nodes[name].system_overhead
            assert node_mem == pods_mem + whole_pages(overhead.memory.value(ts - T0))
            overhead_cpu = overhead.cpu.cumulative(ts - T0) - overhead.cpu.cumulative(0)
            assert node_cpu == pytest.approx(pods_cpu + overhead_cpu, abs=1e-8)
            truth = cluster.truth
            assert truth.cpu_cores(name, ts) == pytest.approx(
                overhead.cpu.value(ts - T0)
                + sum(truth.cpu_cores(k, ts) for k in cluster.nodes[name].pods)
            )


def check_counters(seed: int, steps: list[float]) -> int:
    """Scrape every node after every step; return how many counter resets were seen."""
    churn = ChurnSpec(
        pod_create_per_minute=3, pod_delete_per_minute=2, container_restart_per_minute=6
    )
    spec = generated_spec(nodes=2, pods_per_node=4, seed=seed)
    spec = replace(spec, groups=tuple(replace(g, churn=churn) for g in spec.groups))
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    prev: dict[str, Series] = {}
    resets = 0
    for step in steps:
        cluster.advance(step)
        for name in sorted(cluster.nodes):
            now = parse(cluster.render_metrics(name))
            before = prev.get(name, {})
            for (metric, labels), (value, _) in now.items():
                old = before.get((metric, labels))
                if old is None or not metric.endswith("_total") or value >= old[0]:
                    continue
                # only a container counter may go down, and only with a new start time
                assert metric == "container_cpu_usage_seconds_total"
                start_key = ("container_start_time_seconds", labels)
                assert now[start_key][0] > before[start_key][0]
                resets += 1
            prev[name] = now
    return resets


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.lists(st.floats(0.5, 90), min_size=3, max_size=12))
def test_counters_never_decrease_except_across_restart(seed: int, steps: list[float]) -> None:
    check_counters(seed, steps)


def test_restarts_do_reset_counters() -> None:
    assert check_counters(11, [20.0] * 30) > 0


def test_restart_resets_counter_and_moves_start_time() -> None:
    cluster = one_pod_cluster(Workload(Constant(1.0), Constant(MI)), version="1.28.0")
    key = next(iter(cluster.pods))
    ns, name = key.split("/")
    cluster.advance(100)
    c = cluster.restart_container(ns, name, "c")
    assert c.restart_count == 1 and c.start_time == T0 + 100
    cluster.advance(10)
    s = parse(cluster.render_metrics("n-1"))
    labels = container_key(ns, name, "c")
    assert s[("container_cpu_usage_seconds_total", labels)][0] == 10.0
    # 1.22-1.28: the start time line carries its own timestamp = the start
    assert s[("container_start_time_seconds", labels)] == (T0 + 100, T0 + 100)
    # the pod cgroup keeps counting across the restart
    assert s[("pod_cpu_usage_seconds_total", (("namespace", ns), ("pod", name)))][0] == 110.0
    with pytest.raises(KeyError):
        cluster.restart_container(ns, name, "nope")


# ------------------------------------------------------------------------ lifecycle


def test_pending_init_sidecar_and_completion() -> None:
    tmpl = PodTemplate(
        "job",
        owner_kind="Job",
        pending_seconds=5,
        init_containers=(
            ContainerTemplate(
                "init-a", run_seconds=3, workload=Workload(Constant(1), Constant(MI))
            ),
            ContainerTemplate(
                "init-b", run_seconds=2, workload=Workload(Constant(1), Constant(MI))
            ),
        ),
        sidecars=(ContainerTemplate("proxy", workload=Workload(Constant(0.5), Constant(MI))),),
        containers=(ContainerTemplate("main", workload=Workload(Constant(2), Constant(MI))),),
        run_seconds=20,
        final_phase="Failed",
    )
    cluster = one_pod_cluster(Workload(), pod=tmpl)
    pod = next(iter(cluster.pods.values()))
    assert pod.name.startswith("job-") and pod.owner_name == "job"

    def shown() -> set[str]:
        return {
            dict(labels)["container"]
            for (metric, labels) in parse(cluster.render_metrics("n-1"))
            if metric == "container_cpu_usage_seconds_total"
        }

    assert pod.phase == "Pending" and shown() == set()
    cluster.advance(5)  # started: sidecar + first init
    assert pod.phase == "Pending" and pod.start_time == T0 + 5
    assert shown() == {"proxy", "init-a"}
    cluster.advance(3)
    assert shown() == {"proxy", "init-b"}
    cluster.advance(2)
    assert pod.phase == "Running" and shown() == {"proxy", "main"}
    assert pod.container("main").start_time == T0 + 10
    cluster.advance(20)
    assert pod.phase == "Failed" and shown() == set()
    # the pod's own counter included the init containers' work
    assert cluster.truth.cpu_seconds(pod.key, T0 + 30) == pytest.approx(3 + 2 + 25 * 0.5 + 20 * 2)


def test_set_pod_phase_and_workload_changes_keep_counters_continuous() -> None:
    cluster = one_pod_cluster(Workload(Constant(1.0), Constant(MI)))
    key = next(iter(cluster.pods))
    ns, name = key.split("/")
    cluster.advance(10)
    cluster.set_workload(ns, name, "c", {"cpu": "250m", "memory": "64Mi"})
    cluster.advance(4)
    assert cluster.truth.cpu_seconds(f"{key}/c", T0 + 14) == pytest.approx(11.0)
    assert cluster.truth.memory_bytes(key, T0 + 14) == 64 * MI
    cluster.set_pod_phase(ns, name, "Succeeded")
    assert cluster.pod(key).phase == "Succeeded"
    cluster.set_pod_phase(ns, name, "Running")
    assert cluster.pod(key).container("c").start_time == T0 + 14
    with pytest.raises(ValueError):
        cluster.set_pod_phase(ns, name, "Bogus")


# ------------------------------------------------------------------------ determinism


def churny(seed: int) -> Cluster:
    churn = ChurnSpec(
        pod_create_per_minute=2,
        pod_delete_per_minute=2,
        container_restart_per_minute=3,
        node_join_per_minute=0.5,
        node_leave_per_minute=0.4,
        address_change_per_minute=0.3,
        min_nodes=1,
        max_nodes=6,
    )
    spec = generated_spec(nodes=3, pods_per_node=3, seed=seed)
    spec = replace(spec, groups=tuple(replace(g, churn=churn) for g in spec.groups))
    return Cluster.from_spec(spec, VirtualClock(T0))


def fleet_state(cluster: Cluster) -> tuple[object, ...]:
    return tuple(
        (n, cluster.nodes[n].internal_ip, cluster.render_metrics(n)) for n in sorted(cluster.nodes)
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 1000), st.lists(st.floats(0.01, 200), min_size=1, max_size=10))
def test_same_seed_same_fleet_however_time_is_sliced(seed: int, steps: list[float]) -> None:
    total = sum(steps)
    a, b = churny(seed), churny(seed)
    for s in steps:
        a.advance(s)
        a.render_metrics(sorted(a.nodes)[0])  # looking must not change anything
    assert isinstance(b.clock, VirtualClock)
    b.clock.set(a.clock.now())
    b.sync()
    assert a.clock.now() == pytest.approx(T0 + total)
    assert fleet_state(a) == fleet_state(b)


def test_different_seeds_differ() -> None:
    a, b = churny(1), churny(2)
    assert [p for p in a.pods] != [p for p in b.pods]


def test_churn_emits_events() -> None:
    cluster = churny(5)
    seen: list[type] = []
    unsubscribe = cluster.subscribe(lambda e: seen.append(type(e)))
    cluster.advance(3600)
    for kind in (PodAdded, PodRemoved, PodUpdated, NodeAdded, NodeRemoved, NodeAddressChanged):
        assert kind in seen, kind
    unsubscribe()
    n = len(seen)
    cluster.advance(600)
    assert len(seen) == n
    assert 1 <= len(cluster.nodes) <= 6


# ------------------------------------------------------------------------ nodes & addresses


def test_addresses_are_consecutive_from_the_base() -> None:
    cluster = Cluster.generate(
        nodes=3, pods_per_node=0, address_base="127.9.255.254", clock=VirtualClock(T0)
    )
    assert [cluster.nodes[n].internal_ip for n in ("node-1", "node-2", "node-3")] == [
        "127.9.255.254",
        "127.9.255.255",
        "127.10.0.0",
    ]
    with pytest.raises(ValueError, match=r"would leave 127\.0\.0\.0/8"):
        Cluster.generate(nodes=3, address_base="127.255.255.254", clock=VirtualClock(T0))
    with pytest.raises(ValueError, match=r"not in 127\.0\.0\.0/8"):
        Cluster.generate(nodes=1, address_base="10.0.0.1", clock=VirtualClock(T0))


def test_node_mutations_and_events() -> None:
    cluster = Cluster.generate(nodes=2, pods_per_node=2, clock=VirtualClock(T0))
    events: list[object] = []
    cluster.subscribe(events.append)
    new = cluster.set_node_address("node-1")
    assert new == "127.1.0.3" and isinstance(events[-1], NodeAddressChanged)
    with pytest.raises(ValueError, match="already used"):
        cluster.set_node_address("node-1", "127.1.0.2")
    node = cluster.add_node(cert_mode="self-signed", kubelet_version="1.28.0")
    assert node.name == "node-3" and node.cert_mode == "self-signed"
    assert node.internal_ip == "127.1.0.4" and len(node.pods) == 2
    cluster.remove_node("node-2")
    assert "node-2" not in cluster.nodes
    assert isinstance(events[-1], NodeRemoved)
    assert sum(isinstance(e, PodRemoved) for e in events) == 2
    with pytest.raises(KeyError):
        cluster.remove_node("node-2")
    # truth about a removed node stays available for its history
    cluster.advance(10)
    assert cluster.truth.mean_cpu_cores("node-2", T0, T0 + 0.001) >= 0


# ------------------------------------------------------------------------ faults


def test_payload_faults() -> None:
    cluster = Cluster.generate(nodes=1, pods_per_node=4, clock=VirtualClock(T0), seed=9)
    cluster.advance(30)
    pods = sorted(cluster.nodes["node-1"].pods)

    def pod_names(body: bytes) -> set[str]:
        return {
            dict(labels)["pod"]
            for (metric, labels) in parse(body)
            if metric == "pod_cpu_usage_seconds_total"
        }

    cluster.set_faults("node-1", missing_pods=[pods[0]])
    assert pod_names(cluster.render_metrics("node-1")) == {p.split("/")[1] for p in pods[1:]}
    cluster.set_faults("node-1", missing_pods=1.0)
    assert pod_names(cluster.render_metrics("node-1")) == set()
    cluster.set_faults("node-1", missing_pods=[])

    cluster.set_faults("node-1", stale_timestamps=True)
    frozen = cluster.render_metrics("node-1")
    cluster.advance(60)
    assert cluster.render_metrics("node-1") == frozen
    cluster.set_faults("node-1", stale_timestamps=False)
    assert cluster.render_metrics("node-1") != frozen

    cluster.set_faults("node-1", missing_timestamps=True)
    assert all(ts is None for _, ts in parse(cluster.render_metrics("node-1")).values())
    cluster.set_faults("node-1", missing_timestamps=False, zero_memory=True)
    s = parse(cluster.render_metrics("node-1"))
    assert all(v == 0 for (m, _), (v, _) in s.items() if m == "container_memory_working_set_bytes")
    cluster.set_faults("node-1", zero_memory=False, scrape_error=True)
    assert parse(cluster.render_metrics("node-1")) == {("resource_scrape_error", ()): (1.0, None)}
    cluster.set_faults("node-1", scrape_error=False, malformed=True)
    with pytest.raises(ValueError):
        parse(cluster.render_metrics("node-1"))
    with pytest.raises(ValueError, match="unknown fault"):
        cluster.set_faults("node-1", bogus=True)
    assert isinstance(cluster.nodes["node-1"].faults, Faults)


def test_transport_faults_are_only_recorded() -> None:
    cluster = Cluster.generate(nodes=1, pods_per_node=1, clock=VirtualClock(T0))
    f = cluster.set_faults(
        "node-1",
        latency_seconds=2.5,
        http_status=500,
        hang=True,
        refuse_connections=True,
        truncate_body=True,
    )
    assert (f.latency_seconds, f.http_status, f.hang) == (2.5, 500, True)
    parse(cluster.render_metrics("node-1"))  # the body itself stays valid
    with pytest.raises(ValueError):
        cluster.set_faults("node-1", http_status=999)


# ------------------------------------------------------------------------ replay & clock


def test_replay_serves_files_in_order_then_repeats_the_last(tmp_path: Path) -> None:
    record(tmp_path, "node-1", [b"one\n", b"two\n", b"three\n"])
    cluster = Cluster.generate(nodes=1, pods_per_node=0, clock=VirtualClock(T0))
    cluster.set_node("node-1", replay_dir=str(tmp_path))
    assert [cluster.render_metrics("node-1") for _ in range(5)] == [
        b"one\n",
        b"two\n",
        b"three\n",
        b"three\n",
        b"three\n",
    ]
    (tmp_path / "node-1" / "LOOP").touch()
    cluster.set_node("node-1", replay_dir=str(tmp_path))
    assert [cluster.render_metrics("node-1") for _ in range(4)] == [
        b"one\n",
        b"two\n",
        b"three\n",
        b"one\n",
    ]


async def test_virtual_clock_wakes_sleepers_without_real_time() -> None:
    clock = VirtualClock(T0)
    woke: list[float] = []

    async def sleeper(t: float) -> None:
        await clock.sleep_until(t)
        woke.append(clock.now())

    tasks = [asyncio.create_task(sleeper(T0 + d)) for d in (5, 1, 3)]
    await asyncio.sleep(0)
    clock.advance(2)
    await asyncio.sleep(0)
    assert woke == [T0 + 2]
    clock.advance(10)
    await asyncio.gather(*tasks)
    assert woke == [T0 + 2, T0 + 12, T0 + 12]
    with pytest.raises(ValueError):
        clock.set(T0)


async def test_run_processes_events_as_the_virtual_clock_moves() -> None:
    tmpl = PodTemplate("slow", pending_seconds=30)
    cluster = one_pod_cluster(Workload(), pod=tmpl)
    clock = cluster.clock
    assert isinstance(clock, VirtualClock)
    updated = asyncio.Event()
    cluster.subscribe(lambda e: updated.set() if isinstance(e, PodUpdated) else None)
    runner = asyncio.create_task(cluster.run())
    await asyncio.sleep(0)
    clock.advance(31)
    await asyncio.wait_for(updated.wait(), 5)
    assert next(iter(cluster.pods.values())).phase == "Running"
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


def test_housekeeping_gives_each_series_its_own_stats_time() -> None:
    cluster = Cluster.generate(nodes=1, pods_per_node=6, seed=4, clock=VirtualClock(T0))
    cluster.set_node("node-1", housekeeping_seconds=10.0)
    cluster.advance(100.0)
    first = parse(cluster.render_metrics("node-1"))
    now = cluster.clock.now()
    stamps = {ts for (_, _), (_, ts) in first.items() if ts is not None}
    assert len(stamps) > 3  # node, pods and containers at different phases
    assert all(now - 10.0 < ts <= now for ts in stamps)
    cluster.advance(15.0)
    second = parse(cluster.render_metrics("node-1"))
    for (metric, labels), (value, ts) in second.items():
        if metric != "container_cpu_usage_seconds_total":
            continue
        assert ts is not None
        v0, t0 = first[(metric, labels)]
        assert t0 is not None and ts > t0
        lab = dict(labels)
        entity = f"{lab['namespace']}/{lab['pod']}/{lab['container']}"
        assert (value - v0) / (ts - t0) == pytest.approx(
            cluster.truth.mean_cpu_cores(entity, t0, ts), abs=2e-9 / (ts - t0)
        )
        mem = second[("container_memory_working_set_bytes", labels)][0]
        assert mem == cluster.truth.memory_bytes(entity, ts)


def test_churn_survives_an_exhausted_address_range() -> None:
    spec = generated_spec(nodes=2, pods_per_node=0, address_base="127.255.255.254")
    churn = ChurnSpec(node_join_per_minute=30, address_change_per_minute=30)
    spec = replace(spec, groups=tuple(replace(g, churn=churn) for g in spec.groups))
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    cluster.advance(600)  # every join and move fails quietly; scraping still works
    assert sorted(cluster.nodes) == ["node-1", "node-2"]
    assert cluster.render_metrics("node-1")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.lists(st.floats(0.5, 120), min_size=1, max_size=6))
def test_node_usage_is_pods_plus_overhead_under_churn(seed: int, steps: list[float]) -> None:
    cluster = churny(seed)
    for step in steps:
        cluster.advance(step)
        t = cluster.clock.now()
        for name, node in cluster.nodes.items():
            tau = t - cluster.epoch
            pods = list(node.pods)
            mem = round(node.system_overhead.memory.value(tau))
            mem += sum(cluster.truth.memory_bytes(k, t) for k in pods)
            assert cluster.truth.memory_bytes(name, t) == mem
            cpu = node.system_overhead.cpu.value(tau)
            cpu += sum(cluster.truth.cpu_cores(k, t) for k in pods)
            assert cluster.truth.cpu_cores(name, t) == pytest.approx(cpu)
            series = parse(cluster.render_metrics(name))
            ts = series[("node_memory_working_set_bytes", ())][1]
            assert ts is not None
            pod_mem = sum(
                v for (m, _), (v, _) in series.items() if m == "pod_memory_working_set_bytes"
            )
            overhead = round(node.system_overhead.memory.value(ts - cluster.epoch))
            assert series[("node_memory_working_set_bytes", ())][0] == pod_mem + overhead


def test_spread_and_stagger_make_pods_of_one_template_differ() -> None:
    cluster = Cluster.generate(nodes=1, pods_per_node=10, seed=8, clock=VirtualClock(T0))
    cluster.advance(30)
    series = parse(cluster.render_metrics("node-1"))
    web = [
        v
        for (m, labels), (v, _) in series.items()
        if m == "pod_memory_working_set_bytes" and dict(labels)["pod"].startswith("web-")
    ]
    assert len(web) == 2 and web[0] != web[1]
    spec = generated_spec(nodes=1, pods_per_node=10, seed=8)
    flat = replace(
        spec,
        groups=tuple(
            replace(g, pods=tuple(replace(p, spread=0.0, stagger_seconds=0.0) for p in g.pods))
            for g in spec.groups
        ),
    )
    same = Cluster.from_spec(flat, VirtualClock(T0))
    same.advance(30)
    flat_web = [
        v
        for (m, labels), (v, _) in parse(same.render_metrics("node-1")).items()
        if m == "pod_memory_working_set_bytes" and dict(labels)["pod"].startswith("web-")
    ]
    assert len(flat_web) == 2 and flat_web[0] == flat_web[1]


def test_warmup_starts_from_a_running_cluster() -> None:
    tmpl_job = PodTemplate("job", owner_kind="Job", run_seconds=60.0)
    spec = generated_spec(nodes=2, pods_per_node=6, seed=21)
    spec = replace(
        spec,
        warmup_seconds=3600.0,
        groups=tuple(replace(g, pods=(*g.pods, tmpl_job)) for g in spec.groups),
    )
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    node = cluster.nodes["node-1"]
    assert node.boot_time == T0 - 3600
    starts = [p.start_time for p in cluster.pods.values() if p.start_time is not None]
    assert len(set(starts)) == len(starts) and all(T0 - 3600 <= s <= T0 for s in starts)
    jobs = [p for p in cluster.pods.values() if p.name.startswith("job-")]
    for p in jobs:  # jobs created more than a minute before the start are done already
        assert p.start_time is not None
        assert p.phase == ("Succeeded" if p.start_time <= T0 - 60 else "Running")
    assert any(p.phase == "Succeeded" for p in jobs)
    cluster.advance(15)
    first = parse(cluster.render_metrics("node-1"))
    node_cpu, t1 = first[("node_cpu_usage_seconds_total", ())]
    assert t1 is not None and node_cpu > 3600 * 0.05  # overhead alone ran for an hour
    cluster.advance(15)
    second = parse(cluster.render_metrics("node-1"))
    node_cpu2, t2 = second[("node_cpu_usage_seconds_total", ())]
    assert t2 is not None
    assert (node_cpu2 - node_cpu) / (t2 - t1) == pytest.approx(
        cluster.truth.mean_cpu_cores("node-1", t1, t2), abs=4e-9 / 15
    )


def check_rates(seed: int, housekeeping: float, gaps: list[float]) -> int:
    """What metrics-server computes (pkg/storage's rate rule) from consecutive scrapes equals the
    truth rule, for every node and every container whose start time did not change, under churn."""
    cluster = churny(seed)
    for name in list(cluster.nodes):
        cluster.set_node(name, housekeeping_seconds=housekeeping)
    prev: dict[str, Series] = {}
    checked = 0
    for gap in gaps:
        cluster.advance(gap)
        for name in sorted(cluster.nodes):
            cluster.set_node(name, housekeeping_seconds=housekeeping)  # joined nodes too
            now = parse(cluster.render_metrics(name))
            before = prev.get(name)
            prev[name] = now
            if before is None:
                continue
            (n1, t1), (n2, t2) = (
                before[("node_cpu_usage_seconds_total", ())],
                now[("node_cpu_usage_seconds_total", ())],
            )
            assert t1 is not None and t2 is not None
            if t2 > t1:
                assert (n2 - n1) / (t2 - t1) == pytest.approx(
                    cluster.truth.mean_cpu_cores(name, t1, t2), abs=4e-9 / (t2 - t1)
                )
            for (metric, labels), (c2, ts2) in now.items():
                if metric != "container_cpu_usage_seconds_total":
                    continue
                old = before.get((metric, labels))
                start_now = now[("container_start_time_seconds", labels)][0]
                start_old = before.get(("container_start_time_seconds", labels), (None, None))[0]
                if old is None or start_now != start_old:
                    continue  # new or restarted container: metrics-server waits for 2 points
                c1, ts1 = old
                assert ts1 is not None and ts2 is not None
                if ts2 <= ts1:
                    continue
                lab = dict(labels)
                entity = f"{lab['namespace']}/{lab['pod']}/{lab['container']}"
                assert (c2 - c1) / (ts2 - ts1) == pytest.approx(
                    cluster.truth.mean_cpu_cores(entity, ts1, ts2), abs=2e-9 / (ts2 - ts1)
                )
                checked += 1
    return checked


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32),
    st.sampled_from([0.0, 10.0]),
    st.lists(st.floats(5, 60), min_size=2, max_size=8),
)
def test_rates_from_any_two_scrapes_match_the_truth(
    seed: int, housekeeping: float, gaps: list[float]
) -> None:
    check_rates(seed, housekeeping, gaps)


@pytest.mark.parametrize("housekeeping", [0.0, 10.0])
def test_rates_are_checked_for_many_containers(housekeeping: float) -> None:
    assert check_rates(1, housekeeping, [15.0] * 6) > 10


@pytest.mark.parametrize("version", ["1.21.5", "1.27.3", "1.29.0", "1.30.0"])
@pytest.mark.parametrize(
    "faults",
    [
        {},
        {"missing_timestamps": True},
        {"stale_timestamps": True},
        {"zero_memory": True},
        {"missing_pods": 0.5},
        {"scrape_error": True},
    ],
    ids=lambda f: ",".join(f) or "healthy",
)
def test_cluster_payloads_pass_promtool(version: str, faults: dict[str, object]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    cluster = Cluster.generate(
        nodes=1, pods_per_node=5, seed=2, clock=VirtualClock(T0), kubelet_version=version
    )
    cluster.set_node("node-1", housekeeping_seconds=10.0)
    cluster.advance(42.0)
    cluster.set_faults("node-1", **faults)
    cluster.advance(1.0)
    body = cluster.render_metrics("node-1")
    parse(body)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout.strip() == b"", result.stdout + result.stderr


# ------------------------------------------------------------------------ memory pages


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.lists(st.floats(0.5, 90), min_size=1, max_size=6),
       st.sampled_from([0.0, 10.0]))
def test_memory_figures_are_whole_pages_and_the_truth(
    seed: int, steps: list[float], housekeeping: float
) -> None:
    """A kubelet's working set is a count of 4 KiB pages (cgroup usage minus inactive file),
    so every served memory figure is a multiple of 4096 — which the Metrics API then shows
    as ``…Ki`` — and the ground truth says the same figure at the sample's timestamp."""
    cluster = churny(seed)
    for step in steps:
        cluster.advance(step)
        for name in sorted(cluster.nodes):
            cluster.set_node(name, housekeeping_seconds=housekeeping)
            for (metric, labels), (value, ts) in parse(cluster.render_metrics(name)).items():
                if not metric.endswith("_memory_working_set_bytes"):
                    continue
                assert ts is not None and value % 4096 == 0, (metric, labels, value)
                lab = dict(labels)
                entity = "/".join(
                    lab[k] for k in ("namespace", "pod", "container") if k in lab) or name
                assert value == cluster.truth.memory_bytes(entity, ts)
    snap = cluster.truth.snapshot()
    figures = [n["memoryBytes"] for n in snap["nodes"]] + [
        f["memoryBytes"] for p in snap["pods"] for f in [p, *p["containers"]]]
    assert figures and all(v % 4096 == 0 for v in figures)
