"""Property tests: the decoder against prometheus_client's parser, itself, and arbitrary bytes.

The oracle applies upstream's decode rules to samples parsed by prometheus_client's
``text_string_to_metric_families``.  On kubelet-shaped payloads (labels container, namespace,
pod with plain values, no leading whitespace) upstream's raw substring label lookup and a real
label parser agree, so the batches must be equal.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from metricsd.scraper import decode as decode_mod
from metricsd.scraper.batch import MetricsBatch, MetricsPoint, PodMetricsPoint
from metricsd.scraper.decode import DecodeError, decode_batch

REQ_NS = 1_700_000_000_123_456_789


def oracle(text: str, default_ns: int, node_name: str) -> MetricsBatch:
    default_ms = default_ns // 1_000_000
    node = MetricsPoint()
    seen = False
    pods: dict[tuple[str, str], dict[str, MetricsPoint]] = {}

    def u64(v: float, scale: float) -> int:
        if math.isnan(v) or math.isinf(v) or v <= 0:
            return 0
        return min(int(v * scale), (1 << 64) - 1)

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            ts_ms = default_ms if s.timestamp is None else round(float(s.timestamp) * 1000)
            ts = ts_ms * 1_000_000
            if s.name == "node_cpu_usage_seconds_total":
                node.cumulative_cpu_used, node.timestamp, seen = u64(s.value, 1e9), ts, True
            elif s.name == "node_memory_working_set_bytes":
                node.memory_usage, node.timestamp, seen = u64(s.value, 1.0), ts, True
            elif s.name in (
                "container_cpu_usage_seconds_total",
                "container_memory_working_set_bytes",
                "container_start_time_seconds",
            ):
                key = (s.labels["namespace"], s.labels["pod"])
                point = pods.setdefault(key, {}).setdefault(s.labels["container"], MetricsPoint())
                if s.name.startswith("container_cpu"):
                    point.cumulative_cpu_used, point.timestamp = u64(s.value, 1e9), ts
                elif s.name.startswith("container_memory"):
                    point.memory_usage, point.timestamp = u64(s.value, 1.0), ts
                else:
                    # int64(value*1e9), saturated (our documented choice for overflow)
                    point.start_time = max(min(int(s.value * 1e9), (1 << 63) - 1), -(1 << 63))
    batch = MetricsBatch()
    if seen and node.cumulative_cpu_used and node.memory_usage:
        batch.nodes[node_name] = node
    for key, containers in pods.items():
        if all(c.cumulative_cpu_used and c.memory_usage for c in containers.values()):
            batch.pods[key] = PodMetricsPoint(containers)
    return batch


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
values = st.one_of(
    st.just(0.0),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=10**12).map(float),
)
stamps = st.one_of(st.none(), st.integers(min_value=0, max_value=4_000_000_000_000))


def _fmt(v: float) -> str:
    return repr(v) if v != int(v) or abs(v) >= 1e16 else str(int(v))


@st.composite
def kubelet_payloads(draw: st.DrawFn) -> str:
    lines: list[str] = []
    containers = draw(
        st.lists(st.tuples(names, names, names), min_size=0, max_size=6, unique=True)
    )
    families = [
        ("container_cpu_usage_seconds_total", "counter"),
        ("container_memory_working_set_bytes", "gauge"),
        ("container_start_time_seconds", "gauge"),
    ]
    for fam, typ in families:
        lines.append(f"# HELP {fam} [STABLE] help text")
        lines.append(f"# TYPE {fam} {typ}")
        for c, ns, pod in containers:
            if draw(st.integers(0, 9)) == 0:
                continue  # a missing line
            ts = draw(stamps)
            tail = "" if ts is None else f" {ts}"
            lines.append(
                f'{fam}{{container="{c}",namespace="{ns}",pod="{pod}"}} {_fmt(draw(values))}{tail}'
            )
    for fam in ("node_cpu_usage_seconds_total", "node_memory_working_set_bytes"):
        lines.append(f"# TYPE {fam} gauge")
        if draw(st.integers(0, 9)):
            ts = draw(stamps)
            tail = "" if ts is None else f" {ts}"
            lines.append(f"{fam} {_fmt(draw(values))}{tail}")
    lines.append("# TYPE pod_cpu_usage_seconds_total counter")
    lines.append('pod_cpu_usage_seconds_total{namespace="a",pod="b"} 1.5 1')
    lines.append("resource_scrape_error 0")
    return "\n".join(lines) + "\n"


def faithful(body: bytes) -> MetricsBatch | str:
    """Run only the emulated Prometheus parser (the fast path's fallback)."""
    original = decode_mod._decode_fast

    def always_fallback(text: str, acc: object) -> None:
        raise decode_mod._Fallback

    decode_mod._decode_fast = always_fallback  # type: ignore[assignment]
    try:
        return decode_batch(body, REQ_NS, "n")
    except DecodeError as err:
        return str(err)
    finally:
        decode_mod._decode_fast = original


def either(body: bytes) -> MetricsBatch | str:
    try:
        return decode_batch(body, REQ_NS, "n")
    except DecodeError as err:
        return str(err)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kubelet_payloads())
def test_decoder_matches_the_prometheus_client_oracle(text: str) -> None:
    assert decode_batch(text.encode(), REQ_NS, "n") == oracle(text, REQ_NS, "n")


@settings(max_examples=300, deadline=None)
@given(kubelet_payloads())
def test_fast_path_equals_faithful_path_on_valid_payloads(text: str) -> None:
    assert either(text.encode()) == faithful(text.encode())


@settings(max_examples=500, deadline=None)
@given(
    kubelet_payloads(),
    st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(
                [" ", "\t", "\n", "\r", "{", "}", '"', "\\", "=", ",", "-", "#", "x", "1",
                 "e", "_", "p", "\x00", "é", "NaN", "+Inf", "# HELP ", "# TYPE "]
            ),
        ),
        max_size=4,
    ),
)
def test_fast_path_equals_faithful_path_on_mutated_payloads(
    text: str, edits: list[tuple[int, str]]
) -> None:
    for pos, ins in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + ins + text[i:]
    body = text.encode()
    assert either(body) == faithful(body)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes_on_arbitrary_bytes(body: bytes) -> None:
    result = either(body)
    assert isinstance(result, MetricsBatch) or result.startswith("failed parsing metrics: ")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=' \t\n{}"=,#\\abcxyz01.e+-_:', max_size=200))
def test_decoder_never_crashes_on_grammar_soup(text: str) -> None:
    body = ("node_cpu_usage_seconds_total 1\n" + text).encode()
    result = either(body)
    assert isinstance(result, MetricsBatch) or result.startswith("failed parsing metrics: ")
    assert result == faithful(body)
