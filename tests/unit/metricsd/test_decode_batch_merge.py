"""Batch data types: merging per-node batches (first wins) and Go time renderings for logs."""

from __future__ import annotations

from typing import Any

from metricsd.scraper.batch import (
    ZERO_TIME_NS,
    MetricsBatch,
    MetricsPoint,
    PodMetricsPoint,
    format_go_time_json,
    format_go_time_string,
    merge_batches,
)


def test_merge_keeps_the_first_point_and_logs_duplicates() -> None:
    lines: list[tuple[int, str, dict[str, Any]]] = []

    def log(level: int, msg: str, /, **kv: Any) -> None:
        lines.append((level, msg, kv))

    a = MetricsBatch(nodes={"n1": MetricsPoint(timestamp=1)},
                     pods={("ns", "p"): PodMetricsPoint({"c": MetricsPoint(timestamp=1)})})
    b = MetricsBatch(nodes={"n1": MetricsPoint(timestamp=2), "n2": MetricsPoint(timestamp=2)},
                     pods={("ns", "p"): PodMetricsPoint({"c": MetricsPoint(timestamp=2)}),
                           ("ns", "q"): PodMetricsPoint()})
    merged = merge_batches([a, b], log)
    assert merged.nodes["n1"].timestamp == 1
    assert merged.nodes["n2"].timestamp == 2
    assert merged.pods[("ns", "p")].containers["c"].timestamp == 1
    assert set(merged.pods) == {("ns", "p"), ("ns", "q")}
    assert lines == [(-1, "Got duplicate node point", {"node": "n1"}),
                     (-1, "Got duplicate pod point", {"pod": "ns/p"})]


def test_go_time_renderings() -> None:
    assert format_go_time_json(ZERO_TIME_NS) == "0001-01-01T00:00:00Z"
    assert format_go_time_json(1711467601200000000) == "2024-03-26T15:40:01.2Z"
    assert format_go_time_json(1711460000122999808) == "2024-03-26T13:33:20.122999808Z"
    assert format_go_time_json(0) == "1970-01-01T00:00:00Z"
    assert format_go_time_string(1711467615000000000) == "2024-03-26 15:40:15 +0000 UTC"
    assert format_go_time_string(1711467616200000000) == "2024-03-26 15:40:16.2 +0000 UTC"
    assert format_go_time_string(ZERO_TIME_NS) == "0001-01-01 00:00:00 +0000 UTC"


def test_point_json_as_klog_prints_it() -> None:
    p = MetricsPoint(start_time=ZERO_TIME_NS, timestamp=1711467600000000000,
                     cumulative_cpu_used=0, memory_usage=5)
    assert p.go_json() == (
        '{"StartTime":"0001-01-01T00:00:00Z","Timestamp":"2024-03-26T15:40:00Z",'
        '"CumulativeCpuUsed":0,"MemoryUsage":5}'
    )
