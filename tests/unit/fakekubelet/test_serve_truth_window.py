"""`POST /truth/window` snaps a Metrics API window (timestamp truncated to seconds) to the two
payloads the node really served, so ground-truth checks compare like with like."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fakekubelet.control import ClusterOps
from fakekubelet.fleet import _node_sample_ms

PAYLOAD = (
    b"# TYPE node_cpu_usage_seconds_total counter\n"
    b"node_cpu_usage_seconds_total 1200.5 1711467600123\n"
    b"node_memory_working_set_bytes 1.9e+09 1711467600123\n"
)


def test_node_sample_ms_reads_the_node_cpu_timestamp() -> None:
    assert _node_sample_ms(PAYLOAD) == 1711467600123
    assert _node_sample_ms(b"# nothing\nnode_cpu_usage_seconds_total 12\n") is None
    assert _node_sample_ms(b"scrape_error 1\n") is None


class FakeTruth:
    def __init__(self) -> None:
        self.asked: list[tuple[str, float, float]] = []

    def window(self, entity: str, t0: float, t1: float) -> dict[str, Any]:
        self.asked.append((entity, t0, t1))
        return {"cpuCores": 0.0, "memoryBytes": 0.0, "start": t0, "end": t1}


def ops(served: dict[str, list[int]]) -> tuple[ClusterOps, FakeTruth]:
    truth = FakeTruth()
    cluster = SimpleNamespace(
        truth=truth,
        nodes={"n1": object()},
        pods={"default/web": SimpleNamespace(node_name="n1")},
    )
    fleet = SimpleNamespace(cluster=cluster, served_sample_times=lambda n: served.get(n, []))
    return ClusterOps(fleet), truth  # type: ignore[arg-type]


def test_window_snaps_to_served_payloads() -> None:
    o, truth = ops({"n1": [1711467585120, 1711467600123, 1711467615127]})
    # the API says timestamp 15:40:15Z (truncated), window 15.004s
    o.truth_window("pod", "default", "web", 1711467615 - 15.004, 1711467615)
    assert truth.asked == [("default/web", 1711467600.123, 1711467615.127)]


def test_without_matching_payloads_the_window_is_used_as_given() -> None:
    o, truth = ops({"n1": [1711467600123]})
    o.truth_window("node", "", "n1", 1711467600.0, 1711467615.0)
    assert truth.asked == [("n1", 1711467600.0, 1711467615.0)]
