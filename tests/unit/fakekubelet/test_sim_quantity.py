"""Quantities in the fleet spec: every form apimachinery's ParseQuantity accepts (``2500u``,
``1e3``, ``.5``, ``+1.5Gi``, ``1E-3``), checked against metricsd's parser and formatter."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakekubelet.quantity import (
    cpu_millicores,
    memory_bytes,
    parse_cpu,
    parse_memory,
    parse_quantity,
)
from fakekubelet.spec import SpecError, load_spec_text
from metricsd import quantity as mq


@pytest.mark.parametrize(
    ("text", "cores"),
    [("2500u", 0.0025), ("250m", 0.25), ("2", 2.0), ("1e3", 1000.0), ("1E-3", 0.001),
     (".5", 0.5), ("5.", 5.0), ("+1.5", 1.5), ("100000n", 0.0001), ("1k", 1000.0),
     ("1Ki", 1024.0), ("0", 0.0), ("-0", 0.0), ("1e+2", 100.0), (0.5, 0.5), (3, 3.0)],
)
def test_cpu_forms(text: object, cores: float) -> None:
    assert parse_cpu(text) == pytest.approx(cores, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "n"),
    [("128Mi", 128 << 20), ("1G", 10**9), ("1.5Ki", 1536), ("1e6", 10**6), ("500m", 0.5),
     ("2E", 2 * 10**18), ("1Ei", 1 << 60), ("12345u", 0.012345), (100, 100)],
)
def test_memory_forms(text: object, n: float) -> None:
    assert parse_memory(text) == pytest.approx(n, rel=1e-15)


@pytest.mark.parametrize("bad", ["", "m", "1x", "1Qi", "1.2.3", "Ki", " 1", "1 ", "1e",
                                 "-1", "-1m", "1e400", True, None, float("inf"), -1])
def test_rejected(bad: object) -> None:
    for parse in (parse_cpu, parse_memory):
        with pytest.raises(ValueError):
            parse(bad)


def test_requests_round_up_like_milli_value() -> None:
    """Requests, limits and capacity keep millicores and bytes, rounded up as
    ``Quantity.MilliValue()`` / ``Value()`` do (kubectl and the HPA read them so)."""
    assert cpu_millicores("2500u") == 3
    assert cpu_millicores("250m") == 250
    assert cpu_millicores(0.29) == 290  # no float noise (0.29 * 1000 = 290.00000000000006)
    assert memory_bytes("1.5") == 2
    assert memory_bytes("1m") == 1


def test_fleet_spec_accepts_micro_cores() -> None:
    spec = load_spec_text(
        "nodeGroups:\n"
        "- name: g\n"
        "  capacity: {cpu: 3500000u, memory: 1e10}\n"
        "  pods:\n"
        "  - name: p\n"
        "    containers:\n"
        "    - name: c\n"
        "      cpu: 2500u\n"
        "      memory: 64Mi\n"
        "      requests: {cpu: 2500u, memory: 1e8}\n", "f.yaml")
    group = spec.groups[0]
    assert group.capacity.cpu_millicores == 3500 and group.capacity.memory_bytes == 10**10
    container = group.pods[0].containers[0]
    assert container.requests.cpu_millicores == 3
    assert container.workload.cpu.value(0) == pytest.approx(0.0025)


def test_a_bad_quantity_still_names_the_place() -> None:
    with pytest.raises(SpecError, match=r"f\.yaml:6: nodeGroups\[0\]\.pods\[0\]\.containers\[0\]"
                                        r"\.cpu: '2500x' is not a cpu amount"):
        load_spec_text("nodeGroups:\n- name: g\n  pods:\n  - name: p\n    containers:\n"
                       "    - {name: c, cpu: 2500x}\n", "f.yaml")


# ------------------------------------------------------------------ against metricsd's parser

SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

quantity_text = st.builds(
    lambda sign, whole, frac, suffix: f"{sign}{whole}{frac}{suffix}",
    st.sampled_from(["", "+", "-"]),
    st.from_regex(r"[0-9]{0,12}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,9}", fullmatch=True)),
    st.one_of(st.sampled_from(SUFFIXES),
              st.from_regex(r"[eE][+-]?[0-9]{1,2}", fullmatch=True),
              st.from_regex(r"[eEinumkKMGTP]{1,2}", fullmatch=True)),
)


@given(quantity_text)
def test_agrees_with_metricsd_parse_quantity(text: str) -> None:
    try:
        expected: Fraction | None = mq.parse_quantity(text)
    except mq.QuantityError:
        expected = None
    try:
        got: Fraction | None = parse_quantity(text)
    except ValueError:
        got = None
    assert got == expected


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=-9, max_value=9))
def test_reads_what_the_formatter_writes(n: int, scale: int) -> None:
    text = mq.format_decimal_si(n, scale)
    assert parse_quantity(text) == Fraction(n) * Fraction(10) ** scale
    assert parse_cpu(text) == pytest.approx(float(Fraction(n) * Fraction(10) ** scale),
                                            rel=1e-15)


@given(st.integers(min_value=0, max_value=1 << 62))
def test_reads_binary_si(n: int) -> None:
    text = mq.format_binary_si(n)
    assert parse_quantity(text) == n
    assert memory_bytes(text) == n
