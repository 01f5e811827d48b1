"""Storage rules of metrics-server's pkg/storage: prev selection, restarts, young containers,
reading, Ready()."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricsd.scraper.batch import ZERO_TIME_NS, MetricsBatch, MetricsPoint, PodMetricsPoint
from metricsd.scraper.decode import decode_batch
from metricsd.storage import READY_AND, RateError, Storage, resource_usage
from tests.reference_payloads import PAYLOAD_A, second_scrape_a

S = 1_000_000_000
T0 = 1_711_467_600 * S
RES = 15 * S


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, level: int, msg: str, /, **kv: Any) -> None:
        self.lines.append((level, msg, kv))


def node(ts: int, cpu: int, mem: int = 1000) -> MetricsPoint:
    return MetricsPoint(timestamp=ts, cumulative_cpu_used=cpu, memory_usage=mem)


def cont(ts: int, cpu: int, start: int = T0 - 3600 * S, mem: int = 2048) -> MetricsPoint:
    return MetricsPoint(start_time=start, timestamp=ts, cumulative_cpu_used=cpu, memory_usage=mem)


def batch(nodes: dict[str, MetricsPoint] | None = None,
          pods: dict[tuple[str, str], dict[str, MetricsPoint]] | None = None) -> MetricsBatch:
    return MetricsBatch(
        nodes=dict(nodes or {}),
        pods={k: PodMetricsPoint(dict(v)) for k, v in (pods or {}).items()},
    )


P = ("ns", "p")


def test_sheet_payload_a_two_scrapes() -> None:
    s = Storage(RES)
    s.store(decode_batch(PAYLOAD_A.encode(), T0, "kind-worker"))
    assert s.node_usage("kind-worker") is None
    assert not s.ready()
    s.store(decode_batch(second_scrape_a().encode(), T0 + RES, "kind-worker"))
    u = s.node_usage("kind-worker")
    assert u is not None
    assert (u.cpu_nanocores, u.memory_bytes, u.window) == (175_000_000, 1932193792, 15 * S)
    assert u.timestamp == T0 + 15 * S
    web = s.pod_usage(("default", "web-5d9c7b8f6-abcde"))
    assert web is not None
    assert [(c.name, c.cpu_nanocores, c.memory_bytes) for c in web.containers] == [
        ("app", 40_000_000, 104857600),
        ("sidecar", 2_500_000, 13041664),
    ]
    assert web.timestamp == 1711467616200 * 1_000_000
    assert web.window == 15 * S
    proxy = s.pod_usage(("kube-system", "kube-proxy-x7k2p"))
    assert proxy is not None and proxy.containers[0].cpu_nanocores == 1_012_000
    assert s.storage_points() == {"node": 1, "container": 3}
    assert s.ready()


def test_node_needs_two_points_and_is_forgotten_when_absent() -> None:
    s = Storage(RES)
    s.store(batch({"n": node(T0, 1 * S)}))
    assert s.node_usage("n") is None
    s.store(batch({"n": node(T0 + RES, 2 * S)}))
    u = s.node_usage("n")
    assert u is not None and u.cpu_nanocores == S // 15
    s.store(batch({}))  # one failed scrape
    assert s.node_usage("n") is None
    s.store(batch({"n": node(T0 + 3 * RES, 3 * S)}))
    assert s.node_usage("n") is None  # needs a second good scrape
    s.store(batch({"n": node(T0 + 4 * RES, 4 * S)}))
    assert s.node_usage("n") is not None


def test_node_same_timestamp_keeps_serving_the_previous_rate() -> None:
    s = Storage(RES)
    s.store(batch({"n": node(T0, 0 + 1)}))
    s.store(batch({"n": node(T0 + RES, 15 * S + 1)}))
    s.store(batch({"n": node(T0 + RES, 15 * S + 1)}))  # kubelet did not refresh
    u = s.node_usage("n")
    assert u is not None and u.cpu_nanocores == S and u.window == RES


def test_node_point_older_than_prev_drops_prev_with_log() -> None:
    log = Recorder()
    s = Storage(RES, log=log)
    s.store(batch({"n": node(T0 + RES, 1)}))
    s.store(batch({"n": node(T0 + 2 * RES, 2)}))
    s.store(batch({"n": node(T0, 3)}))  # older than prev (clock jump)
    assert s.node_usage("n") is None
    assert log.lines == [
        (2, "Found new node metrics point is older than stored previous, drop previous",
         {"node": "n", "previousTimestamp": "2024-03-26 15:40:15 +0000 UTC",
          "timestamp": "2024-03-26 15:40:00 +0000 UTC"}),
    ]


def test_node_counter_decrease_is_skipped_with_error_log() -> None:
    log = Recorder()
    s = Storage(RES, log=log)
    s.store(batch({"n": node(T0, 10 * S)}))
    s.store(batch({"n": node(T0 + RES, 5 * S)}))
    assert s.node_usage("n") is None
    assert log.lines[-1] == (
        -1, "Skipping node usage metric",
        {"err": "unexpected decrease in cumulative CPU usage value", "node": "n"},
    )
    assert s.storage_points()["node"] == 1  # the prev exists; only the rate fails


def test_container_restart_hides_the_pod_until_the_next_scrape() -> None:
    s = Storage(RES)
    s.store(batch(pods={P: {"c": cont(T0, 10 * S)}}))
    s.store(batch(pods={P: {"c": cont(T0 + RES, 11 * S)}}))
    assert s.pod_usage(P) is not None
    # restarted 2 s before the sample: start >= last timestamp, too young for the shortcut
    s.store(batch(pods={P: {"c": cont(T0 + 2 * RES, 1 * S, start=T0 + 2 * RES - 2 * S)}}))
    assert s.pod_usage(P) is None
    s.store(batch(pods={P: {"c": cont(T0 + 3 * RES, 4 * S, start=T0 + 2 * RES - 2 * S)}}))
    u = s.pod_usage(P)
    assert u is not None and u.containers[0].cpu_nanocores == 3 * S // 15


@pytest.mark.parametrize(
    ("age_s", "resolution_s", "served"),
    [(9, 15, False), (10, 15, True), (14, 15, True), (15, 15, False), (59, 60, True),
     (10, 10, False)],
)
def test_fresh_container_shortcut_window(age_s: int, resolution_s: int, served: bool) -> None:
    s = Storage(resolution_s * S)
    ts = T0
    s.store(batch(pods={P: {"c": cont(ts, 5 * S, start=ts - age_s * S)}}))
    u = s.pod_usage(P)
    assert (u is not None) is served
    if u is not None:
        assert u.window == age_s * S
        assert u.containers[0].cpu_nanocores == int(5 * S / age_s)
        assert s.ready()  # OR semantics: a container rate is enough


def test_new_container_hides_the_whole_pod() -> None:
    s = Storage(RES)
    s.store(batch(pods={P: {"a": cont(T0, S)}}))
    s.store(batch(pods={P: {"a": cont(T0 + RES, 2 * S), "b": cont(T0 + RES, S)}}))
    assert s.pod_usage(P) is None
    s.store(batch(pods={P: {"a": cont(T0 + 2 * RES, 3 * S), "b": cont(T0 + 2 * RES, 2 * S)}}))
    u = s.pod_usage(P)
    assert u is not None and [c.name for c in u.containers] == ["a", "b"]


def test_container_rate_error_skips_only_that_container() -> None:
    log = Recorder()
    s = Storage(RES, log=log)
    s.store(batch(pods={P: {"a": cont(T0, 5 * S), "b": cont(T0 + S, 5 * S)}}))
    s.store(batch(pods={P: {"a": cont(T0 + RES, 4 * S), "b": cont(T0 + S + RES, 6 * S)}}))
    u = s.pod_usage(P)
    assert u is not None
    assert [c.name for c in u.containers] == ["b"]
    assert (u.timestamp, u.window) == (T0 + S + RES, RES)
    assert log.lines[-1] == (
        -1, "Skipping container usage metric",
        {"err": "unexpected decrease in cumulative CPU usage value", "container": "a",
         "pod": "ns/p"},
    )


def test_pod_with_every_container_failing_has_zero_time() -> None:
    s = Storage(RES)
    s.store(batch(pods={P: {"a": cont(T0, 5 * S)}}))
    s.store(batch(pods={P: {"a": cont(T0 + RES, 4 * S)}}))
    u = s.pod_usage(P)
    assert u is not None
    assert (u.containers, u.timestamp, u.window) == ((), ZERO_TIME_NS, 0)


def test_pod_time_info_comes_from_the_earliest_container() -> None:
    s = Storage(RES)
    s.store(batch(pods={P: {"a": cont(T0 + 2 * S, 0 + 1), "b": cont(T0, 1)}}))
    s.store(batch(pods={P: {"a": cont(T0 + 2 * S + RES, 1 + S), "b": cont(T0 + 10 * S, 1 + S)}}))
    u = s.pod_usage(P)
    assert u is not None
    assert (u.timestamp, u.window) == (T0 + 10 * S, 10 * S)


def test_container_start_time_decrease_is_an_error() -> None:
    last = cont(T0 + RES, 2 * S, start=T0 - 10 * S)
    prev = cont(T0, S, start=T0 - 5 * S)
    with pytest.raises(RateError, match="unexpected decrease in startTime of node/container"):
        resource_usage(last, prev)


def test_container_older_than_prev_logs_the_upstream_wording() -> None:
    log = Recorder()
    s = Storage(RES, log=log)
    s.store(batch(pods={P: {"c": cont(T0 + RES, 1)}}))
    s.store(batch(pods={P: {"c": cont(T0 + 2 * RES, 2)}}))
    s.store(batch(pods={P: {"c": cont(T0 + RES, 3)}}))
    assert s.pod_usage(P) is None
    level, msg, kv = log.lines[-1]
    assert level == 2
    assert msg == (
        "Found new containerName metrics point is older than stored previous , drop previous"
    )
    assert kv == {"containerName": "c", "pod": "ns/p",
                  "previousTimestamp": "2024-03-26 15:40:15 +0000 UTC",
                  "timestamp": "2024-03-26 15:40:15 +0000 UTC"}


def test_ready_or_versus_and() -> None:
    b1 = batch({"n": node(T0, 1)})
    b2 = batch({"n": node(T0 + RES, 2)})
    for semantics, expected in (("or", True), (READY_AND, False)):
        s = Storage(RES, ready_semantics=semantics)
        s.store(b1)
        s.store(b2)
        assert s.ready() is expected
    s = Storage(RES, ready_semantics=READY_AND)
    s.store(batch({"n": node(T0, 1)}, {P: {"c": cont(T0, 1)}}))
    s.store(batch({"n": node(T0 + RES, 2)}, {P: {"c": cont(T0 + RES, 2)}}))
    assert s.ready()


def test_huge_values_lose_one_digit_with_log() -> None:
    log = Recorder()
    big = (1 << 64) - 1
    u = resource_usage(node(T0 + S, 0, mem=big), node(T0, 0), log)
    assert u.memory_bytes == big // 10 * 10
    assert log.lines == [
        (2, "Found unexpectedly large resource value, losing precision to fit in scaled "
            "resource.Quantity", {"value": big}),
    ]


def test_cpu_rate_uses_go_float_division_and_truncation() -> None:
    # 1 ns over 3 s: 0.333… → 0 nanocores; 10 ns over 3 s → 3.
    assert resource_usage(node(T0 + 3 * S, 1), node(T0, 0)).cpu_nanocores == 0
    assert resource_usage(node(T0 + 3 * S, 10), node(T0, 0)).cpu_nanocores == 3
    u = resource_usage(node(T0 + 14_998_000_000, 2 * S), node(T0, 0))
    assert u.cpu_nanocores == int(float(2 * S) / 14.998)


points = st.builds(
    lambda dt, cpu, start_off, mem: (dt, cpu, start_off, mem),
    st.integers(min_value=-20, max_value=40),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=-100, max_value=40),
    st.integers(min_value=1, max_value=10**12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(points, min_size=0, max_size=3), min_size=1, max_size=8),
       st.sampled_from([10, 15, 60]))
def test_every_served_point_has_positive_window_and_rate(
    ticks: list[list[tuple[int, int, int, int]]], resolution_s: int
) -> None:
    s = Storage(resolution_s * S)
    for i, tick in enumerate(ticks):
        pods = {}
        for j, (dt, cpu, start_off, mem) in enumerate(tick):
            ts = T0 + (i * resolution_s + dt) * S
            pods[("ns", f"p{j % 2}")] = {f"c{j}": cont(ts, cpu, start=ts + start_off * S,
                                                       mem=mem)}
        nodes = {f"n{j}": node(T0 + (i * resolution_s + dt) * S, cpu)
                 for j, (dt, cpu, _, _) in enumerate(tick)}
        s.store(batch(nodes, pods))
        for name in nodes:
            u = s.node_usage(name)
            if u is not None:
                assert u.window > 0 and u.cpu_nanocores >= 0
        for key in pods:
            pu = s.pod_usage(key)
            if pu is not None and pu.containers:
                assert pu.window > 0
                assert all(c.cpu_nanocores >= 0 for c in pu.containers)
        assert s.ready() == (s.storage_points()["node"] > 0
                             or s.storage_points()["container"] > 0)


def test_unrefreshed_sample_after_restart_pairs_with_go_zero_point() -> None:
    """Upstream reads prevPod[name] for a container missing there: Go's zero point."""
    from metricsd.durations import format_duration

    s = Storage(RES)
    s.store(batch(pods={P: {"a": cont(T0, S), "b": cont(T0, S)}}))
    # b restarted 2 s before this sample: a keeps its prev, b has none.
    young = T0 + RES - 2 * S
    s.store(batch(pods={P: {"a": cont(T0 + RES, 2 * S), "b": cont(T0 + RES, S, start=young)}}))
    assert s.pod_usage(P) is None
    # The kubelet repeats the same samples: b pairs with the zero point.
    s.store(batch(pods={P: {"a": cont(T0 + RES, 2 * S), "b": cont(T0 + RES, S, start=young)}}))
    u = s.pod_usage(P)
    assert u is not None
    assert [c.name for c in u.containers] == ["a", "b"]
    assert u.containers[1].cpu_nanocores == 0
    # equal timestamps: the first container in order (a) gives the time info
    assert (u.timestamp, u.window) == (T0 + RES, RES)
    b_prev = s.pods.prev[P].containers["b"]
    assert b_prev == MetricsPoint()
    assert format_duration(resource_usage(cont(T0 + RES, S), b_prev).window) == (
        "2562047h47m16.854775807s")
