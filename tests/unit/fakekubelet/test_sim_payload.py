# ruff: noqa: E501  (the sample payloads are kept verbatim, one sample per line)
"""Payload text: Go float formatting and the kubelet's /metrics/resource body per version.

The expected bodies are the sample payloads of tests/reference_payloads.py (A: kubelet
1.29+, B: 1.22-1.28, C: stats failure on 1.29), rebuilt from their numbers.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from fakekubelet import payload as pl
from fakekubelet.payload import (
    ContainerSample,
    KubeletVersion,
    NodeSnapshot,
    PodSample,
    RenderOptions,
    format_go_float,
    render,
)
from tests.reference_payloads import PAYLOAD_A as SAMPLE_A
from tests.reference_payloads import PAYLOAD_B as SAMPLE_B
from tests.reference_payloads import PAYLOAD_C as SAMPLE_C


def snapshot_a() -> NodeSnapshot:
    web, kp = "web-5d9c7b8f6-abcde", "kube-proxy-x7k2p"
    return NodeSnapshot(
        cpu_seconds=1200.5,
        memory_bytes=1932193792,
        timestamp_ms=1711467600000,
        containers=[  # deliberately unsorted: the renderer sorts
            ContainerSample("default", web, "sidecar", 3.0, 13041664, 1711460001.0, 1711467601200),
            ContainerSample(
                "kube-system", kp, "kube-proxy", 12.004181, 22016000, 1711451200.0, 1711467599870
            ),
            ContainerSample("default", web, "app", 45.25, 104857600, 1711460000.123, 1711467601200),
        ],
        pods=[
            PodSample("kube-system", kp, 12.05, 22544000, 1711467599000),
            PodSample("default", web, 48.31, 118100000, 1711467601500),
        ],
    )


def snapshot_b() -> NodeSnapshot:
    return NodeSnapshot(
        cpu_seconds=83.441529,
        memory_bytes=653619000,
        timestamp_ms=1695632410112,
        containers=[
            ContainerSample(
                "kube-system",
                "coredns-5d78c9869d-8kq2v",
                "coredns",
                7.112304,
                14811136,
                1695629800.0,
                1695632412873,
            ),
        ],
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45.25, "45.25"),
        (3.0, "3"),
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (1200.5, "1200.5"),
        (12.004181, "12.004181"),
        (104857600.0, "1.048576e+08"),
        (22016000.0, "2.2016e+07"),
        (13041664.0, "1.3041664e+07"),
        (1711460000.123, "1.711460000123e+09"),
        (1711451200.0, "1.7114512e+09"),
        (1932193792.0, "1.932193792e+09"),
        (1.6243962483020916e09, "1.6243962483020916e+09"),
        (-6.7953645788713455e09, "-6.7953645788713455e+09"),
        (6.53619e08, "6.53619e+08"),
        (2.5e07, "2.5e+07"),
        (357.35491, "357.35491"),
        (999999.0, "999999"),
        (1000000.0, "1e+06"),
        (123456.7, "123456.7"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.0025, "0.0025"),
        (1.5e-10, "1.5e-10"),
        (1e21, "1e+21"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_go_float_format(value: float, text: str) -> None:
    assert format_go_float(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips(value: float) -> None:
    text = format_go_float(value)
    assert float(text) == value or (value == 0 and float(text) == 0)
    mantissa = text.split("e")[0].lstrip("-")
    # Go never writes a trailing ".0" or a leading "+" on the mantissa
    assert not mantissa.endswith(".0") and not mantissa.startswith("+")
    if "e" in text:
        exp = text.split("e")[1]
        assert exp[0] in "+-" and len(exp) >= 3


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_go_float_of_integral_memory(n: int) -> None:
    f = float(n)
    text = format_go_float(f)
    assert float(text) == f
    if 0 < f < 1e6:
        assert text == str(int(f))


@pytest.mark.parametrize(
    ("version", "snapshot", "expected"),
    [
        (
            "1.29.0",
            snapshot_a,
            SAMPLE_A.replace(
                "resource_scrape_error 0\n",
                "resource_scrape_error 0\n"
                "# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while "
                "getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 0\n",
            ),
        ),
        ("1.30.0", snapshot_a, SAMPLE_A),
        ("1.33.1", snapshot_a, SAMPLE_A),
        ("1.28.3", snapshot_b, SAMPLE_B),
        ("v1.22.0", snapshot_b, SAMPLE_B),
    ],
)
def test_render_matches_reference_samples(version: str, snapshot: object, expected: str) -> None:
    assert callable(snapshot)
    body = render(snapshot(), KubeletVersion.parse(version))
    assert body.decode() == expected


def test_render_scrape_error_per_version() -> None:
    snap = NodeSnapshot(0.0, 0, 0, scrape_error=True)
    assert render(snap, KubeletVersion.parse("1.29.2")).decode() == SAMPLE_C
    assert render(snap, KubeletVersion.parse("1.30.0")).decode() == (
        "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container "
        "metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error 1\n"
    )
    assert render(snap, KubeletVersion.parse("1.27.0")).decode() == (
        "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, "
        "0 otherwise\n# TYPE scrape_error gauge\nscrape_error 1\n"
    )


def test_old_kubelets_lack_start_time_and_pod_families() -> None:
    body = render(snapshot_a(), KubeletVersion.parse("1.21.0")).decode()
    assert "container_start_time_seconds" not in body
    assert "pod_cpu_usage_seconds_total" not in body
    assert "[ALPHA]" in body and "[STABLE]" not in body
    assert body.endswith("scrape_error 0\n")


def test_missing_timestamps_and_negative_start_options() -> None:
    body = render(
        snapshot_b(), KubeletVersion.parse("1.28.0"), RenderOptions(missing_timestamps=True)
    ).decode()
    samples = [s for f in text_string_to_metric_families(body) for s in f.samples]
    assert len(samples) == 6
    assert all(s.timestamp is None for s in samples)
    assert "node_cpu_usage_seconds_total 83.441529\n" in body

    bug = render(
        snapshot_b(), KubeletVersion.parse("1.28.0"), RenderOptions(negative_start_time=True)
    ).decode()
    assert (
        'container_start_time_seconds{container="coredns",namespace="kube-system",'
        'pod="coredns-5d78c9869d-8kq2v"} -6.7953645788713455e+09 -62135596800000\n'
    ) in bug
    # 1.29+ kubelets skip start times at or before the epoch: the bug cannot appear
    fixed = render(
        snapshot_a(), KubeletVersion.parse("1.29.0"), RenderOptions(negative_start_time=True)
    ).decode()
    assert "-62135596800000" not in fixed


def test_malformed_fails_both_parsers() -> None:
    body = render(snapshot_a(), KubeletVersion.parse("1.30.0"), RenderOptions(malformed=True))
    assert b"not-a-number" in body
    with pytest.raises(ValueError):
        list(text_string_to_metric_families(body.decode()))
    result = _promtool(body)
    if result is not None:
        assert result.returncode != 0


def test_label_values_are_escaped() -> None:
    snap = NodeSnapshot(
        1.0,
        1,
        1,
        containers=[
            ContainerSample("ns", 'we"ird\\pod', "c", 1.0, 1, None, 5),
        ],
    )
    body = render(snap, KubeletVersion.parse("1.30.0")).decode()
    assert 'pod="we\\"ird\\\\pod"' in body
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    assert fams["container_cpu_usage_seconds"].samples[0].labels["pod"] == 'we"ird\\pod'


def _promtool(body: bytes) -> subprocess.CompletedProcess[bytes] | None:
    exe = shutil.which("promtool")
    if exe is None:
        return None
    return subprocess.run([exe, "check", "metrics"], input=body, capture_output=True, timeout=30)


@pytest.mark.parametrize("version", ["1.21.0", "1.22.0", "1.28.3", "1.29.0", "1.30.0", "1.33.0"])
@pytest.mark.parametrize("error", [False, True])
def test_every_flavour_parses_and_passes_promtool(version: str, error: bool) -> None:
    snap = snapshot_a()
    snap.scrape_error = error
    body = render(snap, KubeletVersion.parse(version))
    families = list(text_string_to_metric_families(body.decode()))
    assert families
    names = [f.name for f in families]
    assert names == sorted(names)
    result = _promtool(body)
    if result is None:
        pytest.skip("promtool not installed")
    assert result.returncode == 0, result.stdout + result.stderr
    # no lint complaints either (promtool prints them on stdout)
    assert result.stdout.strip() == b""


def test_kubelet_version_validation() -> None:
    assert KubeletVersion.parse("v1.30.2-eks-1234") == KubeletVersion(1, 30, 2)
    for bad in ["1.17.0", "abc", "1", ""]:
        with pytest.raises(ValueError):
            KubeletVersion.parse(bad)


def test_ms_truncates_like_go() -> None:
    assert pl.ms(1711467601.2) == 1711467601200
    assert pl.ms(1711467601.2009) == 1711467601200
    assert pl.ms(1711467601.9999) == 1711467601999


def test_content_type_constant() -> None:
    assert pl.CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_ns_seconds_is_whole_nanoseconds(x: float) -> None:
    v = pl.ns_seconds(x)
    assert abs(v - x) <= 0.5e-9 + abs(x) * 2 * 2**-52
    assert round(v * 1e9) == round(x * 1e9)
    # reading it back as Go's metrics-server does (uint64(v * 1e9)) stays within 1 ns
    assert abs(int(v * 1e9) - round(x * 1e9)) <= 1
    assert struct.pack("d", v)  # a plain float


@given(st.one_of(st.floats(allow_nan=False), st.integers(-(2**60), 2**60).map(float)))
def test_go_float_fast_paths_agree_with_the_rule(value: float) -> None:
    assert format_go_float(value) == pl._format_go_float_slow(value)
