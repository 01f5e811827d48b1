"""Parsing real `kubectl top` output shapes (trailing padding, header spellings, <unknown>)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.toptable import (
    Tolerance,
    TopTableError,
    cpu_matches,
    memory_matches,
    parse_top,
    printed_cpu,
    printed_memory,
)

NODES_131 = (
    "NAME     CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%   \n"
    "node-a   416m         10%    1220Mi          7%        \n"
    "node-c   <unknown>    <unknown>   <unknown>       <unknown>   \n"
)
NODES_132 = (
    "NAME     CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \n"
    "node-a   416m         10%      1220Mi          7%          \n"
)
PODS_ALL = (
    "NAMESPACE     NAME                        CPU(cores)   MEMORY(bytes)   \n"
    "default       web-5d9c7b8f6-abcde         43m          112Mi           \n"
    "kube-system   kube-proxy-x7k2p            2m           21Mi            \n"
)
CONTAINERS = (
    "POD                   NAME      CPU(cores)   MEMORY(bytes)   \n"
    "web-5d9c7b8f6-abcde   app       40m          100Mi           \n"
    "web-5d9c7b8f6-abcde   sidecar   3m           12Mi            \n"
)
WITH_SUM = (
    "NAME    CPU(cores)   MEMORY(bytes)   \n"
    "a       200m         300Mi           \n"
    "b       68m          75Mi            \n"
    "        ________     ________        \n"
    "        268m         375Mi           \n"
)


def test_node_table_before_132() -> None:
    table = parse_top(NODES_131)
    assert table.columns == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    a = table.row("node-a")
    assert (a.cpu_millicores, a.memory_mib, a.percent("CPU%"), a.percent("MEMORY%")) == (
        416,
        1220,
        10,
        7,
    )
    c = table.row("node-c")
    assert c.cpu_millicores is None and c.memory_mib is None and c.percent("CPU%") is None


def test_node_table_from_132_reads_the_same_percent() -> None:
    a = parse_top(NODES_132).row("node-a")
    assert a.percent("CPU%") == 10 and a.percent("MEMORY%") == 7


def test_pods_all_namespaces_and_containers() -> None:
    table = parse_top(PODS_ALL)
    assert table.row("kube-proxy-x7k2p", "kube-system").cpu_millicores == 2
    with pytest.raises(KeyError):
        table.row("kube-proxy-x7k2p", "default")
    containers = parse_top(CONTAINERS)
    assert [(r.pod, r.name, r.cpu_millicores) for r in containers.rows] == [
        ("web-5d9c7b8f6-abcde", "app", 40),
        ("web-5d9c7b8f6-abcde", "sidecar", 3),
    ]


def test_sum_footer_is_skipped() -> None:
    assert [r.name for r in parse_top(WITH_SUM).rows] == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    ["", "error: Metrics API not available\n", "NAME   AGE\nfoo    1d\n", NODES_131 + "x y\n"],
)
def test_not_a_table(text: str) -> None:
    with pytest.raises(TopTableError):
        parse_top(text)


@given(st.floats(min_value=0, max_value=64, allow_nan=False))
def test_printed_cpu_of_the_truth_always_matches(cores: float) -> None:
    assert cpu_matches(printed_cpu(cores), cores, Tolerance(cpu_millicores=0, cpu_relative=0))


@given(st.integers(min_value=0, max_value=2**40))
def test_printed_memory_of_the_truth_always_matches(b: int) -> None:
    assert memory_matches(printed_memory(b), b, Tolerance(memory_mib=0, memory_relative=0))


def test_far_values_do_not_match() -> None:
    tol = Tolerance()
    assert not cpu_matches(500, 0.2, tol)
    assert not memory_matches(100, 300 * 1024 * 1024, tol)
