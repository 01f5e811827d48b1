"""The compiled decoder accelerator (``metricsd.scraper._scan``) changes nothing but speed.

For every body it must either give exactly what the Python fast path gives (same batch, same
dict order, same log calls, same error text) or decline so the Python paths run.  The
comparison switches it off by patching ``decode._accel`` (no re-imports); the environment
switches are checked in a subprocess because they are read once at import.
"""

from __future__ import annotations

import importlib
import math
import os
import random
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fakekubelet.payload import (
    ContainerSample,
    KubeletVersion,
    NodeSnapshot,
    PodSample,
    RenderOptions,
    render,
)
from metricsd.scraper import decode as decode_mod
from metricsd.scraper.batch import ZERO_TIME_NS, MetricsPoint
from metricsd.scraper.decode import DecodeError, decode_batch
from tests.reference_payloads import PAYLOAD_A, PAYLOAD_B, PAYLOAD_C, PAYLOAD_D
from tests.unit.metricsd.test_decode_oracle import kubelet_payloads

REQ_NS = 1_700_000_000_123_456_789
REQ_MS = REQ_NS // 1_000_000
U64_MAX = (1 << 64) - 1
I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)

# Without the extension there is nothing to compare, unless it is required (then fail loudly).
pytestmark = pytest.mark.skipif(
    not decode_mod.ACCELERATED and os.environ.get("METRICSD_REQUIRE_ACCEL") != "1",
    reason="the C accelerator is not loaded (not built, or METRICSD_PURE_PYTHON is set)",
)

Outcome = tuple[str, list[tuple[int, str, list[tuple[str, Any]]]]]


@contextmanager
def accelerator(on: bool) -> Iterator[None]:
    saved = decode_mod._accel
    decode_mod._accel = saved if on else None
    try:
        yield
    finally:
        decode_mod._accel = saved


def outcome(body: bytes, default_ns: int = REQ_NS) -> Outcome:
    """The batch's repr (dataclass reprs show dict order), or the error, plus every log call."""
    logs: list[tuple[int, str, list[tuple[str, Any]]]] = []

    def log(level: int, msg: str, /, **kv: Any) -> None:
        logs.append((level, msg, [(k, (type(v).__name__, v)) for k, v in kv.items()]))

    try:
        result = repr(decode_batch(body, default_ns, "node-1", log))
    except DecodeError as err:
        result = f"DecodeError: {err}"
    return result, logs


def assert_same(body: bytes, default_ns: int = REQ_NS) -> Outcome:
    """Python path on cold caches, accelerator on cold caches, accelerator on warm caches."""
    decode_mod.clear_caches()
    with accelerator(False):
        slow = outcome(body, default_ns)
    decode_mod.clear_caches()
    with accelerator(True):
        cold = outcome(body, default_ns)
        warm = outcome(body, default_ns)
    assert cold == slow
    assert warm == slow
    return slow


def scan(text: str, default_ms: int = REQ_MS) -> Any:
    """Call the C function directly (None = declined)."""
    accel = decode_mod._accel
    assert accel is not None
    return accel(
        text, default_ms, decode_mod._REFS, decode_mod._container_ref, MetricsPoint, ZERO_TIME_NS
    )


# ------------------------------------------------------------------------ real kubelet bodies


def snapshot(seed: int, pods: int = 30) -> NodeSnapshot:
    rnd = random.Random(seed)
    containers = []
    pod_samples = []
    for i in range(pods):
        ns = f"ns-{i % 4}"
        pod = f"web-{seed}-{i:03d}-x7k2p"
        for c in range(1 + i % 3):
            start = None if c == 2 else 1.7114e9 + rnd.uniform(0, 1e5)
            containers.append(ContainerSample(ns, pod, f"c{c}", rnd.uniform(0, 5e3),
                                              rnd.randint(0, 1 << 31), start,
                                              1_711_467_600_000 + rnd.randint(0, 999)))
        pod_samples.append(PodSample(ns, pod, rnd.uniform(1, 5e3), rnd.randint(1, 1 << 31),
                                     1_711_467_600_000))
    return NodeSnapshot(rnd.uniform(1e3, 1e6), rnd.randint(1 << 30, 1 << 34),
                        1_711_467_600_000, containers, pod_samples)


VERSIONS = ["1.21.0", "1.25.3", "1.28.0", "1.29.1", "1.30.0", "1.33.1"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("seed", range(3))
def test_fakekubelet_payloads_are_accelerated_and_equal(version: str, seed: int) -> None:
    body = render(snapshot(seed), KubeletVersion.parse(version))
    assert scan(body.decode()) is not None, "a real kubelet body must not be declined"
    assert_same(body)


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(missing_timestamps=True),
        RenderOptions(negative_start_time=True),
        RenderOptions(malformed=True),
    ],
)
@pytest.mark.parametrize("version", ["1.25.0", "1.30.0"])
def test_fakekubelet_faults_are_equal(options: RenderOptions, version: str) -> None:
    assert_same(render(snapshot(7, pods=5), KubeletVersion.parse(version), options))
    scrape_error = NodeSnapshot(0.0, 0, 0, scrape_error=True)
    assert_same(render(scrape_error, KubeletVersion.parse(version), options))


@pytest.mark.parametrize("payload", [PAYLOAD_A, PAYLOAD_B, PAYLOAD_C, PAYLOAD_D])
def test_reference_payloads_are_accelerated_and_equal(payload: str) -> None:
    assert scan(payload) is not None
    assert_same(payload.encode())


# ------------------------------------------------------------------------ properties


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kubelet_payloads())
def test_generated_valid_payloads_are_accelerated_and_equal(text: str) -> None:
    assert scan(text) is not None
    assert_same(text.encode())


TOKENS = [
    " ", "  ", "\t", "\n", "\r", "\r\n", "\x00", "\x7f", "é", "{", "}", "{}", '"', "\\", "=",
    ",", "-", "+", ".", "e", "E", "p", "_", ":", "#", "0", "1", "x", "NaN", "+Inf", "-Inf",
    "1e400", "-1", "1e-400", "18446744073.709551616", "9223372036.854775808", "1e309",
    " 9223372036854", " 9223372036855", " 999999999999999999", " 1234567890123456789",
    " -62135596800000", "# HELP ", "# TYPE ", "# TYPE x gauge", "# TYPE x  gauge", "#  HELP x",
    "# HELP", "#HELP x", "# HELP x\ty", "\n# comment\n", "\n\n",
    '{container="a",namespace="b",pod="c"}', '{pod="c",namespace="b",container="a"}',
    '{namespace="b",pod="c"}', '{container="a"b="1"}', '{a="}"}',
    "\ncontainer_cpu_usage_seconds_total", "\nnode_memory_working_set_bytes 5",
    '\ncontainer_memory_working_set_bytes{container="z",namespace="q",pod="r"} 7 ',
]


def _verdict(body: bytes) -> str:
    """For ``--hypothesis-show-statistics``: both branches of the contract get exercised."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "not UTF-8"
    return "declined" if scan(text) is None else "accelerated"


def _mutate(body: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    for pos, kind, tok in edits:
        i = pos % (len(body) + 1)
        token = TOKENS[tok % len(TOKENS)].encode()
        if kind == 0:
            body = body[:i] + token + body[i:]
        elif kind == 1:
            body = body[:i] + body[i + 1 + tok % 8:]
        elif kind == 2:
            body = body[:i] + token + body[i + len(token):]
        else:
            body = body[:i] + bytes([tok % 256]) + body[i + 1:]
    return body


edits_strategy = st.lists(
    st.tuples(st.integers(min_value=0), st.integers(0, 3), st.integers(0, 1000)), max_size=5
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kubelet_payloads(), edits_strategy)
def test_mutated_payloads_equal(text: str, edits: list[tuple[int, int, int]]) -> None:
    body = _mutate(text.encode(), edits)
    event(_verdict(body))
    assert_same(body)


def _relabel(line: str, rnd: random.Random, mode: int) -> str:
    if "{" not in line or "}" not in line:
        return line
    head, rest = line.split("{", 1)
    block, tail = rest.split("}", 1)
    pairs = block.split(",")
    if mode == 0:
        rnd.shuffle(pairs)
    elif mode == 1 and pairs:
        pairs.pop(rnd.randrange(len(pairs)))
    elif mode == 2:
        pairs.append(pairs[0])
    else:
        pairs.append("")  # trailing comma
    return head + "{" + ",".join(pairs) + "}" + tail


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kubelet_payloads(),
    st.lists(st.tuples(st.integers(0, 5), st.integers(min_value=0), st.integers(0, 1 << 16)),
             max_size=6),
)
def test_line_level_mutations_equal(text: str, ops: list[tuple[int, int, int]]) -> None:
    """Duplicated, dropped, swapped lines; label blocks reordered, trimmed, repeated."""
    lines = text.split("\n")
    for op, where, seed in ops:
        rnd = random.Random(seed)
        i = where % len(lines)
        if op == 0:
            lines.insert(i, lines[rnd.randrange(len(lines))])
        elif op == 1:
            lines.pop(i)
            lines = lines or [""]
        elif op == 2:
            j = rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = _relabel(lines[i], rnd, op - 3 + rnd.randrange(2))
    body = "\n".join(lines).encode()
    event(_verdict(body))
    assert_same(body)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["node_cpu_usage_seconds_total", "node_memory_working_set_bytes",
                     "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                     "container_start_time_seconds", "pod_cpu_usage_seconds_total"]),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(1 << 70), 1 << 70).map(str),
        st.sampled_from(["0", "-0", "1e-9", "9.99e-10", "18446744073.709551615",
                         "18446744073709551616", "18446744073709549568", "9223372036.854775807",
                         "-9223372036.854775808", "-9223372036.854777", "1.7976931348623157e308",
                         "4.9e-324", ".5", "5.", "+3", "1e+05", "1E5", "00012"]),
    ),
    st.one_of(st.none(), st.integers(0, 10**18 - 1).map(str), st.sampled_from(
        ["0", "9223372036854", "9223372036855", "00000000000000001"])),
    st.integers(-(1 << 66), 1 << 66),
)
def test_values_timestamps_and_request_times_equal(
    family: str, value: str, ts: str | None, default_ns: int
) -> None:
    labels = "" if family.startswith("node") else '{container="c",namespace="n",pod="p"}'
    tail = "" if ts is None else f" {ts}"
    body = (
        f"{family}{labels} {value}{tail}\n"
        f"node_cpu_usage_seconds_total 1 5\n"
        f'container_cpu_usage_seconds_total{{container="d",namespace="n",pod="p"}} 2{tail}\n'
    ).encode()
    assert_same(body, default_ns)


def _float_or_none(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bits(value: float | None) -> bytes | None:
    return None if value is None else struct.pack("<d", value)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False).map(repr),
        st.floats(allow_nan=False).map(lambda f: f"{f:.17g}"),
        st.floats(allow_nan=False).map(lambda f: f"{f:.6e}"),
        st.floats(min_value=-1e30, max_value=1e30).map(lambda f: f"{f:.12f}"),
        st.integers(-(10**25), 10**25).map(str),
        st.tuples(st.integers(0, 2**53), st.integers(-30, 30)).map(lambda t: f"{t[0]}e{t[1]}"),
        st.text(alphabet="0123456789eE.+-", min_size=1, max_size=30),
    )
)
def test_value_parsing_is_bitwise_float(token: str) -> None:
    """The C value parser (a short-decimal fast path, else CPython's own) is float() exactly."""
    parse = importlib.import_module("metricsd.scraper._scan").parse_value
    assert _bits(parse(token)) == _bits(_float_or_none(token))


# ------------------------------------------------------------------------ table tests


def one_container(value_line: str, *, family: str = "container_cpu_usage_seconds_total") -> Any:
    text = f'{family}{{container="c",namespace="n",pod="p"}} {value_line}\n'
    found = scan(text)
    assert found is not None, text
    assert_same(text.encode())
    return found[4][("n", "p")]["c"]


@pytest.mark.parametrize(
    "value, cpu",
    [
        ("0", 0),
        ("-0", 0),
        ("-1", 0),
        ("1e-10", 0),  # 0.1 ns truncates to 0
        ("1e-9", 1),
        ("45.25", 45_250_000_000),
        ("12.004181", 12_004_181_000),
        ("18446744073.709549568", 18446744073709549568),  # just below 2^64 after * 1e9
        ("18446744073.709551616", U64_MAX),  # 2^64: saturates
        ("1e300", U64_MAX),  # * 1e9 overflows to inf: saturates
    ],
)
def test_cpu_conversion_edges(value: str, cpu: int) -> None:
    assert one_container(f"{value} 1").cumulative_cpu_used == cpu


@pytest.mark.parametrize(
    "value, memory",
    [
        ("0", 0),
        ("-5", 0),
        ("0.5", 0),
        ("1.5", 1),
        ("1.048576e+08", 104857600),
        ("18446744073709549568", 18446744073709549568),  # largest double below 2^64
        ("18446744073709551616", U64_MAX),
    ],
)
def test_memory_conversion_edges(value: str, memory: int) -> None:
    point = one_container(f"{value} 1", family="container_memory_working_set_bytes")
    assert point.memory_usage == memory


@pytest.mark.parametrize(
    "value, start",
    [
        ("1.711460000123e+09", 1711460000122999808),  # float maths, as upstream
        ("0", 0),
        ("-1.5", -1_500_000_000),
        ("9223372036.854775807", I64_MAX),  # rounds to 2^63 * 1e-9: saturates
        ("9223372036.854774", (1 << 63) - 1024),  # the largest double below 2^63
        ("-9223372036.854775808", I64_MIN),  # exactly -2^63: kept
        ("-1e10", I64_MIN),  # below: saturates
    ],
)
def test_start_time_conversion_edges(value: str, start: int) -> None:
    point = one_container(value, family="container_start_time_seconds")
    assert point.start_time == start
    assert point.timestamp == ZERO_TIME_NS  # a start-time line sets no timestamp


@pytest.mark.parametrize(
    "tail, timestamp",
    [
        ("", REQ_MS * 1_000_000),  # no timestamp: request time truncated to ms
        (" 0", 0),
        (" 1711467601200", 1_711_467_601_200_000_000),
        (" 0001711467601200", 1_711_467_601_200_000_000),
        (" 9223372036854", 9_223_372_036_854_000_000),  # the largest ms that fits int64 ns
    ],
)
def test_timestamp_edges(tail: str, timestamp: int) -> None:
    assert one_container(f"1{tail}").timestamp == timestamp


def test_node_fields_and_defaults() -> None:
    found = scan("node_cpu_usage_seconds_total 1200.5 1711467600000\n"
                 "node_memory_working_set_bytes 1.932193792e+09\n")
    assert found == (True, 1_200_500_000_000, 1_932_193_792, REQ_MS * 1_000_000, {})
    assert scan("# nothing\n")[0] is False
    assert_same(b"node_memory_working_set_bytes{x=\"y\"} 7 9\n")


DECLINED = [
    ("crlf", "node_cpu_usage_seconds_total 1 1\r\n"),
    ("CR in a label value", 'x{a="\r"} 1\n'),
    ("tab in a label value", 'x{a="\t"} 1\n'),
    ("tab separator", "x\t1\n"),
    ("no separator after the block", 'x{a="1"}1\n'),
    ("tab in a comment", "# HELP x\ty\n"),
    ("non-ASCII", "# HELP node_cpu_usage_seconds_total caf\u00e9\n"),
    ("NUL in a label value", 'x{a="\x00"} 1\n'),
    ("DEL", "# HELP x \x7f\n"),
    ("odd TYPE", "# TYPE x foo\n"),
    ("TYPE with two spaces", "# TYPE x  gauge\n"),
    ("TYPE without type", "# TYPE x\n"),
    ("HELP with a bad name", "# HELP 1x help\n"),
    ("HELP with odd spacing", "#  HELP x y\n"),
    ("bare TYPE", "# TYPE\n"),
    ("container line without labels", "container_cpu_usage_seconds_total 1\n"),
    ("container block without container label", 'container_cpu_usage_seconds_total{pod="p"} 1\n'),
    ("empty container block", "container_start_time_seconds{} 1\n"),
    ("value out of range", "x 1e400\n"),
    ("value float() rejects", "x 1e\n"),
    ("NaN", "x NaN\n"),
    ("hex", "x 0x1p3\n"),
    ("ms*1e6 beyond int64", "x 1 9223372036855\n"),
    ("18-digit timestamp", "x 1 999999999999999999\n"),
    ("19-digit timestamp", "x 1 1234567890123456789\n"),
    ("19 digits with leading zeros", "x 1 0000001711467601200\n"),
    ("negative timestamp", "x 1 -62135596800000\n"),
    ("two spaces", "x  1\n"),
    ("trailing space", "x 1 \n"),
    ("leading space", " x 1\n"),
    ("brace in a label value", 'x{a="}"} 1\n'),
    ("backslash in a label value", 'x{a="\\\\"} 1\n'),
    ("unclosed block", 'x{a="1" 1\n'),
    ("space before block", 'x {a="1"} 1\n'),
    ("long value", "x " + "1" * 64 + "\n"),
    (
        "two blocks, one container",
        'container_cpu_usage_seconds_total{container="a",namespace="b",pod="c"} 1 1\n'
        'container_memory_working_set_bytes{pod="c",namespace="b",container="a"} 1 1\n',
    ),
]

ACCEPTED = [
    ("empty", ""),
    ("blank lines", "\n\n\n"),
    ("plain comment", "# just words\n"),
    ("hash without space", "#HELP x\n"),
    ("bare hash", "#\n"),
    ("HELP without text", "# HELP x\n"),
    ("other family with odd labels", 'x{a="1"b="2"} 1\n'),
    ("trailing comma", 'x{a="1",} 1 2\n'),
    ("empty block elsewhere", "x{} 1\n"),
    ("no final newline", "node_cpu_usage_seconds_total 3"),
    ("ms bound", "x 1 9223372036854\n"),
    ("value forms", "a .5\nb 5.\nc +3\nd 1E5\ne -0\n"),
    ("18-digit timestamp with leading zeros", "x 1 000001711467601200\n"),
]


@pytest.mark.parametrize("text", [t for _, t in DECLINED], ids=[n for n, _ in DECLINED])
def test_declines(text: str) -> None:
    assert scan(text) is None
    assert_same(text.encode())


@pytest.mark.parametrize("text", [t for _, t in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_accepts(text: str) -> None:
    assert scan(text) is not None
    assert_same(text.encode())


def test_request_time_outside_int64_declines_only_when_used() -> None:
    huge_ms = (1 << 63) // 1_000_000 + 1
    assert scan("x 1\n", huge_ms) is None
    assert scan("x 1 5\n", huge_ms) is not None
    assert_same(b"node_cpu_usage_seconds_total 1\nnode_memory_working_set_bytes 1\n",
                huge_ms * 1_000_000)


def test_the_error_of_a_bad_block_is_the_python_one() -> None:
    body = b'container_memory_working_set_bytes{pod="p"} 1 1\n'
    result, _ = assert_same(body)
    assert result.startswith("DecodeError: failed parsing metrics: series ")


# ------------------------------------------------------------------------ robustness of the C


def _exercise(rounds: int) -> None:
    """Accept, decline and error paths, including misbehaving callables."""
    good = PAYLOAD_A
    accel = decode_mod._accel
    assert accel is not None

    def bad_ref(block: str, family: int) -> Any:
        raise DecodeError("nope")

    def bad_point(*args: Any) -> Any:
        raise ValueError("nope")

    for _ in range(rounds):
        assert scan(good) is not None
        assert scan(good + "x 1e400\n") is None
        assert scan(DECLINED[-1][1]) is None
        assert accel(good, REQ_MS, {}, bad_ref, MetricsPoint, ZERO_TIME_NS) is None
        assert accel(good, REQ_MS, {}, decode_mod._container_ref, bad_point, 0) is None
        bad_refs = {'{container="app",namespace="default",pod="web-5d9c7b8f6-abcde"}': "x"}
        assert accel(good, REQ_MS, bad_refs, decode_mod._container_ref, MetricsPoint, 0) is None


def test_no_memory_growth_over_repeated_calls() -> None:
    _exercise(50)  # warm up caches and free lists
    tracemalloc.start()
    try:
        _exercise(20)
        before = tracemalloc.get_traced_memory()[0]
        _exercise(1000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A leaked object per call would be >= 6,000 objects (hundreds of KB).
    assert grown < 64 * 1024, grown


def test_bad_arguments_raise_type_error() -> None:
    accel: Any = decode_mod._accel
    with pytest.raises(TypeError):
        accel(b"x 1\n", 0, {}, decode_mod._container_ref, MetricsPoint, 0)
    with pytest.raises(TypeError):
        accel("x 1\n", 0)


def test_keyboard_interrupt_is_not_swallowed() -> None:
    def interrupt(block: str, family: int) -> Any:
        raise KeyboardInterrupt

    accel: Any = decode_mod._accel
    with pytest.raises(KeyboardInterrupt):
        accel(PAYLOAD_A, REQ_MS, {}, interrupt, MetricsPoint, ZERO_TIME_NS)


# ------------------------------------------------------------------------ switches


def _accelerated_in_subprocess(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METRICSD_")}
    env.update(env_extra)
    code = "from metricsd.scraper import decode; print(decode.ACCELERATED)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    return out.stdout.strip()


@pytest.mark.parametrize("value, expected", [("1", "False"), ("0", "True"), ("", "True")])
def test_pure_python_switch(value: str, expected: str) -> None:
    assert _accelerated_in_subprocess({"METRICSD_PURE_PYTHON": value}) == expected


@pytest.mark.skipif(
    os.environ.get("METRICSD_REQUIRE_ACCEL") != "1",
    reason="METRICSD_REQUIRE_ACCEL=1 not set: a pure-Python install is acceptable here",
)
def test_accelerator_is_required_and_loaded() -> None:
    assert decode_mod.ACCELERATED, "the C extension metricsd.scraper._scan was not built/loaded"
