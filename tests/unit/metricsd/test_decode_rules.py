"""Decoder rules of metrics-server's decode.go: families, timestamps, completeness, edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from metricsd.scraper.batch import ZERO_TIME_NS, MetricsBatch
from metricsd.scraper.decode import DecodeError, decode_batch
from tests.reference_payloads import PAYLOAD_A, PAYLOAD_B, PAYLOAD_C, PAYLOAD_D

REQ_NS = 1_711_467_605_123_456_789  # a request time with sub-millisecond digits
REQ_MS_NS = 1_711_467_605_123_000_000


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, level: int, msg: str, /, **kv: Any) -> None:
        self.lines.append((level, msg, kv))

    def messages(self) -> list[str]:
        return [m for _, m, _ in self.lines]


def decode(text: str | bytes, log: Recorder | None = None) -> MetricsBatch:
    body = text.encode() if isinstance(text, str) else text
    return decode_batch(body, REQ_NS, "node-1", log or Recorder())


def test_payload_a_decodes_to_the_sheet_values() -> None:
    batch = decode(PAYLOAD_A)
    node = batch.nodes["node-1"]
    assert node.timestamp == 1711467600000 * 1_000_000
    assert node.cumulative_cpu_used == 1200500000000
    assert node.memory_usage == 1932193792
    assert node.start_time == ZERO_TIME_NS
    web = batch.pods[("default", "web-5d9c7b8f6-abcde")].containers
    assert sorted(web) == ["app", "sidecar"]
    app = web["app"]
    assert app.timestamp == 1711467601200 * 1_000_000
    assert app.cumulative_cpu_used == 45250000000
    assert app.memory_usage == 104857600
    assert app.start_time == 1711460000122999808  # float maths, as Go
    assert web["sidecar"].cumulative_cpu_used == 3000000000
    assert web["sidecar"].memory_usage == 13041664
    proxy = batch.pods[("kube-system", "kube-proxy-x7k2p")].containers["kube-proxy"]
    assert proxy.cumulative_cpu_used == 12004181000
    assert proxy.memory_usage == 22016000
    assert proxy.timestamp == 1711467599870 * 1_000_000
    assert len(batch.pods) == 2  # pod_* families ignored


def test_payload_b_start_time_own_timestamp_is_ignored() -> None:
    batch = decode(PAYLOAD_B)
    c = batch.pods[("kube-system", "coredns-5d78c9869d-8kq2v")].containers["coredns"]
    assert c.start_time == int(1.6956298e09 * 1e9)
    assert c.timestamp == 1695632412873 * 1_000_000
    assert batch.nodes["node-1"].cumulative_cpu_used == int(83.441529 * 1e9)


def test_payload_c_scrape_error_only_drops_the_node() -> None:
    log = Recorder()
    batch = decode(PAYLOAD_C, log)
    assert batch.nodes == {} and batch.pods == {}
    assert log.lines[0][:2] == (1, "Failed getting complete node metric")
    assert log.lines[0][2]["node"] == "node-1"
    assert log.lines[0][2]["metric"] == (
        '{"StartTime":"0001-01-01T00:00:00Z","Timestamp":"0001-01-01T00:00:00Z",'
        '"CumulativeCpuUsed":0,"MemoryUsage":0}'
    )


def test_payload_d_request_time_and_whole_pod_drop() -> None:
    log = Recorder()
    batch = decode(PAYLOAD_D, log)
    node = batch.nodes["node-1"]
    assert node.timestamp == REQ_MS_NS
    assert node.cumulative_cpu_used == 357354910000
    assert batch.pods == {}
    assert log.messages() == [
        "Failed getting complete container metric",
        "Failed getting complete Pod metric",
    ]
    assert log.lines[0][2]["containerName"] == "c1"
    assert '"MemoryUsage":0' in log.lines[0][2]["containerMetric"]
    assert log.lines[1][2] == {"pod": "ns/p"}


NODE_OK = "node_cpu_usage_seconds_total 1 1000\nnode_memory_working_set_bytes 2 2000\n"


@pytest.mark.parametrize(
    ("body", "has_node"),
    [
        (NODE_OK, True),
        ("node_cpu_usage_seconds_total 1 1000\n", False),  # no memory
        ("node_memory_working_set_bytes 2 2000\n", False),  # no cpu
        ("node_cpu_usage_seconds_total 0 1\nnode_memory_working_set_bytes 2 2\n", False),
        ("node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes 0 2\n", False),
        ("node_cpu_usage_seconds_total NaN 1\nnode_memory_working_set_bytes 2 2\n", False),
        ("node_cpu_usage_seconds_total +Inf 1\nnode_memory_working_set_bytes 2 2\n", False),
        ("node_cpu_usage_seconds_total -Inf 1\nnode_memory_working_set_bytes 2 2\n", False),
        ("node_cpu_usage_seconds_total -1 1\nnode_memory_working_set_bytes 2 2\n", False),
        ("node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes NaN 2\n", False),
        # 0.5 bytes truncates to 0 → incomplete
        ("node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes 0.5 2\n", False),
        # exact-name rule: a suffix, a space before '{', leading whitespace do not match
        ("node_cpu_usage_seconds_total_x 1 1\nnode_memory_working_set_bytes 2 2\n", False),
        ('node_cpu_usage_seconds_total {a="b"} 1 1\nnode_memory_working_set_bytes 2 2\n', False),
        ("  node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes 2 2\n", False),
        # labels on node families are fine (name followed by '{')
        ('node_cpu_usage_seconds_total{a="b"} 1 1\nnode_memory_working_set_bytes 2 2\n', True),
        # no trailing newline, CRLF-free comments, # EOF tolerated
        ("node_cpu_usage_seconds_total 1 1\nnode_memory_working_set_bytes 2 2", True),
        ("# EOF\n" + NODE_OK + "# EOF\n", True),
        ("#comment without space\n" + NODE_OK, True),
        ("\n\n   \n" + NODE_OK, True),
        # NUL at the start of a line ends the input (the lexer's EOF)
        ("node_cpu_usage_seconds_total 1 1\n\x00node_memory_working_set_bytes 2 2\n", False),
    ],
)
def test_node_completeness(body: str, has_node: bool) -> None:
    assert ("node-1" in decode(body).nodes) is has_node


def test_node_timestamp_is_the_later_line() -> None:
    node = decode(NODE_OK).nodes["node-1"]
    assert node.timestamp == 2000 * 1_000_000
    assert node.cumulative_cpu_used == 1_000_000_000
    assert node.memory_usage == 2


def test_duplicate_series_overwrite() -> None:
    body = NODE_OK + "node_cpu_usage_seconds_total 5 3000\n"
    node = decode(body).nodes["node-1"]
    assert node.cumulative_cpu_used == 5_000_000_000
    assert node.timestamp == 3000 * 1_000_000


def test_values_beyond_uint64_saturate() -> None:
    body = "node_cpu_usage_seconds_total 1e300 1\nnode_memory_working_set_bytes 1e30 2\n"
    node = decode(body).nodes["node-1"]
    assert node.cumulative_cpu_used == (1 << 64) - 1
    assert node.memory_usage == (1 << 64) - 1


C = 'container="c",namespace="ns",pod="p"'


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (f"container_cpu_usage_seconds_total{{{C}}} 1 1\n"
         f"container_memory_working_set_bytes{{{C}}} 1 1\n", True),
        (f"container_cpu_usage_seconds_total{{{C}}} 1 1\n", False),
        (f"container_memory_working_set_bytes{{{C}}} 1 1\n", False),
        (f"container_start_time_seconds{{{C}}} 1 1\n", False),
        (f"container_cpu_usage_seconds_total{{{C}}} 0 1\n"
         f"container_memory_working_set_bytes{{{C}}} 1 1\n", False),
        # label order and extra labels do not matter (substring search)
        ('container_cpu_usage_seconds_total{pod="p",x="y",namespace="ns",container="c"} 1 1\n'
         f"container_memory_working_set_bytes{{{C}}} 1 1\n", True),
    ],
)
def test_container_completeness(body: str, kept: bool) -> None:
    batch = decode(NODE_OK + body)
    assert (("ns", "p") in batch.pods) is kept


def test_container_timestamp_and_default_time() -> None:
    body = (
        f"container_cpu_usage_seconds_total{{{C}}} 1 5000\n"
        f"container_memory_working_set_bytes{{{C}}} 1\n"
        f"container_start_time_seconds{{{C}}} 1.5 9999\n"
    )
    point = decode(NODE_OK + body).pods[("ns", "p")].containers["c"]
    assert point.timestamp == REQ_MS_NS  # memory line (later) without timestamp
    assert point.start_time == 1_500_000_000


def test_label_lookup_is_raw_substring_search() -> None:
    # Upstream searches 'pod="' anywhere, so a label named "mypod" is taken for the pod.
    body = (
        'container_cpu_usage_seconds_total{container="c",mypod="x",namespace="ns",pod="p"} 1 1\n'
        'container_memory_working_set_bytes{container="c",mypod="x",namespace="ns",pod="p"} 1 1\n'
    )
    assert ("ns", "x") in decode(NODE_OK + body).pods
    # Escapes are not undone: the value ends at the first quote, escaped or not.
    body2 = (
        'container_cpu_usage_seconds_total{container="a\\"b",namespace="ns",pod="p"} 1 1\n'
        'container_memory_working_set_bytes{container="a\\"b",namespace="ns",pod="p"} 1 1\n'
    )
    assert list(decode(NODE_OK + body2).pods[("ns", "p")].containers) == ["a\\"]


def test_missing_container_labels_fail_the_node_instead_of_panicking() -> None:
    with pytest.raises(DecodeError, match="has no container label"):
        decode(NODE_OK + "container_cpu_usage_seconds_total 1 1\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'container_start_time_seconds{container="coredns",namespace="kube-system",'
            'pod="coredns"} -6.7953645788713455e+09 -62135596800000\n',
            'failed parsing metrics: expected timestamp or new record, got "-" ("INVALID") '
            'while parsing: "container_start_time_seconds{container=\\"coredns\\",'
            'namespace=\\"kube-system\\",pod=\\"coredns\\"} -6.7953645788713455e+09 -"',
        ),
        (
            "foo 1e400\n",
            'failed parsing metrics: strconv.ParseFloat: parsing "1e400": value out of range '
            'while parsing: "foo 1e400"',
        ),
        ("foo 0x1p3\n",
         'failed parsing metrics: unsupported character in float while parsing: "foo 0x1p3"'),
        ("foo 1_000\n",
         'failed parsing metrics: unsupported character in float while parsing: "foo 1_000"'),
        ("foo abc\n",
         'failed parsing metrics: strconv.ParseFloat: parsing "abc": invalid syntax '
         'while parsing: "foo abc"'),
        ("foo +nan\n",
         'failed parsing metrics: strconv.ParseFloat: parsing "+nan": invalid syntax '
         'while parsing: "foo +nan"'),
        ("foo 1\r\n",
         'failed parsing metrics: strconv.ParseFloat: parsing "1\\r": invalid syntax '
         'while parsing: "foo 1\\r"'),
        (
            "foo 1 99999999999999999999\n",
            'failed parsing metrics: strconv.ParseInt: parsing "99999999999999999999": value '
            'out of range while parsing: "foo 1 99999999999999999999"',
        ),
        ("foo\n",
         'failed parsing metrics: expected value after metric, got "\\n" ("INVALID") '
         'while parsing: "foo\\n"'),
        ("foo 1 2 3\n",
         'failed parsing metrics: expected next entry after timestamp, got "3\\n" '
         '("TIMESTAMP") while parsing: "foo 1 2 3\\n"'),
        ('{a="b"} 1\n',
         'failed parsing metrics: expected a valid start token, got "{" ("INVALID") '
         'while parsing: "{"'),
        ('foo{a="b" 1\n',
         'failed parsing metrics: expected label name, got "1" ("INVALID") '
         'while parsing: "foo{a=\\"b\\" 1"'),
        ("# TYPE foo bar\n", 'failed parsing metrics: invalid metric type "bar"'),
        ("# HELP 1foo x\n",
         'failed parsing metrics: expected metric name after HELP, got "1" ("INVALID") '
         'while parsing: "# HELP 1"'),
        (b"\xff\n", 'failed parsing metrics: expected a valid start token, got "\\xff" '
         '("INVALID") while parsing: "\\xff"'),
        (b'foo{a="\xff"} 1\n',
         'failed parsing metrics: invalid UTF-8 label value: "\\"\\xff\\""'),
    ],
)
def test_parse_errors_fail_the_whole_node(body: str | bytes, message: str) -> None:
    text = NODE_OK.encode() + (body.encode() if isinstance(body, str) else body)
    with pytest.raises(DecodeError) as err:
        decode(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    "body",
    [
        "foo-1\n",  # lexes as name "foo" and value "-1"
        'foo{a="b"}1\n',  # no space needed after the label block
        'foo{a="b",}\t2\t3\n',  # trailing comma, tabs
        'foo{a="b" c="d"} 1\n',  # the parser accepts a missing comma
        'foo{a="multi\nline"} 1\n',  # a raw newline inside a label value
        "foo NaN\nfoo +Inf\nfoo -inf\nfoo Infinity\n",
        "# HELP foo\n# TYPE foo counter\n#\n",
        "foo 1 0\n",
    ],
)
def test_unusual_but_valid_input_is_accepted(body: str) -> None:
    batch = decode(NODE_OK + body)
    assert "node-1" in batch.nodes


def test_fast_and_faithful_paths_agree_on_payload_a() -> None:
    fast = decode(PAYLOAD_A)
    # A leading blank comment line of odd shape forces the faithful path.
    slow = decode("#  HELPER\n" + PAYLOAD_A.replace("\n", "\n\n"))
    assert fast == slow
