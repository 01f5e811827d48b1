"""Pods the control plane runs as local processes, served by their node's kubelet with the
process's real CPU (utime+stime) and working set (VmRSS) from /proc, and the ground truth
reading the same samples."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakekubelet.clock import RealClock, VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.processes import read_process, stat_fields
from tests.unit.fakekubelet.test_sim_cluster import Series, parse

POD = ("kube-system", "metrics-server-6d94bc8694-x2x7k", "metrics-server")
KEY = (("container", POD[2]), ("namespace", POD[0]), ("pod", POD[1]))
PODKEY = (("namespace", POD[0]), ("pod", POD[1]))


@pytest.mark.parametrize(
    ("stat", "status", "expected"),
    [
        ("4242 (python3) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 9 1 2",
         "Name:\tpython3\nVmRSS:\t   81920 kB\n", (3.0, 81920 * 1024)),
        # a command name with spaces and parentheses: fields count from the last ")"
        ("7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 1 2",
         "VmRSS:\t4 kB\n", (0.03, 4096)),
        # a zombie has no VmRSS: its memory is gone, its CPU is still counted
        ("9 (z) Z 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 9 0 0", "Name:\tz\n", (0.1, 0)),
    ],
)
def test_read_process_from_proc(tmp_path: Path, stat: str, status: str,
                                expected: tuple[float, int]) -> None:
    pid = stat.split()[0]
    (tmp_path / pid).mkdir()
    (tmp_path / pid / "stat").write_text(stat + "\n")
    (tmp_path / pid / "status").write_text(status)
    cpu, mem = read_process(int(pid), proc=tmp_path, clock_ticks=100) or (None, None)
    assert cpu == pytest.approx(expected[0]) and mem == expected[1]
    assert read_process(99999, proc=tmp_path) is None
    fields = stat_fields(pid, proc=tmp_path)
    assert fields is not None and fields[:2] == stat.split(") ")[-1].split()[:2]  # state, ppid
    assert stat_fields(99999, proc=tmp_path) is None


@pytest.fixture
def burner() -> Iterator[subprocess.Popen[bytes]]:
    """A process that burns CPU and holds ~20 MiB."""
    proc = subprocess.Popen([sys.executable, "-c",
                             "b = b'x' * (20 << 20)\nprint('ready', flush=True)\n"
                             "while True: sum(range(10000))"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    yield proc
    proc.kill()
    proc.wait()


def test_read_a_live_process(burner: subprocess.Popen[bytes]) -> None:
    sample = read_process(burner.pid)
    assert sample is not None
    cpu, mem = sample
    assert cpu >= 0 and mem >= 20 << 20 and mem % 4096 == 0


def real_cluster() -> Cluster:
    return Cluster.generate(nodes=2, pods_per_node=2, seed=1, clock=RealClock())


def test_served_with_real_figures_and_the_truth_reads_the_same(
        burner: subprocess.Popen[bytes]) -> None:
    cluster = real_cluster()
    start = cluster.clock.now()
    assert cluster.attach_process("node-2", *POD, pid=burner.pid, start_time=start)
    seen: list[Series] = []
    for _ in range(3):
        # real time must pass between payloads (distinct millisecond timestamps, CPU used)
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        series = parse(cluster.render_metrics("node-2"))
        seen.append(series)
        cpu, ts = series[("container_cpu_usage_seconds_total", KEY)]
        mem, _ = series[("container_memory_working_set_bytes", KEY)]
        assert ts is not None
        assert series[("container_start_time_seconds", KEY)][0] == pytest.approx(start)
        entity = "/".join(POD)
        assert cpu == pytest.approx(cluster.truth.cpu_seconds(entity, ts), abs=1e-9)
        assert mem == cluster.truth.memory_bytes(entity, ts) and mem >= 20 << 20
        assert mem % 4096 == 0
        # the pod series and the node's totals include the process, as a pod cgroup would
        assert series[("pod_memory_working_set_bytes", PODKEY)][0] == mem
        node_mem = series[("node_memory_working_set_bytes", ())][0]
        pods_mem = sum(v for (n, _), (v, _) in series.items()
                       if n == "pod_memory_working_set_bytes")
        assert node_mem == pods_mem + 256 * 1024 * 1024  # plus the node's overhead
    (c1, t1), (c2, t2) = (s[("container_cpu_usage_seconds_total", KEY)] for s in seen[1:])
    assert t1 is not None and t2 is not None and t2 > t1
    assert c2 >= c1
    rate = cluster.truth.mean_cpu_cores("/".join(POD), t1, t2)
    assert (c2 - c1) / (t2 - t1) == pytest.approx(rate, abs=2e-9 / (t2 - t1))
    n1, n2 = (s[("node_cpu_usage_seconds_total", ())][0] for s in seen[1:])
    assert (n2 - n1) / (t2 - t1) == pytest.approx(
        cluster.truth.mean_cpu_cores("node-2", t1, t2), abs=4e-9 / (t2 - t1))
    snap = cluster.truth.snapshot()
    (pod,) = [p for p in snap["pods"] if p["name"] == POD[1]]
    assert pod["node"] == "node-2" and pod["containers"][0]["name"] == POD[2]
    assert cluster.node_of(POD[0], POD[1]) == "node-2"
    assert "metrics-server" not in cluster.render_metrics("node-1").decode()


def test_an_exited_process_leaves_the_payload_and_its_counts_stay(
        burner: subprocess.Popen[bytes]) -> None:
    cluster = real_cluster()
    assert cluster.attach_process("node-1", *POD, pid=burner.pid,
                                  start_time=cluster.clock.now())
    subprocess.run([sys.executable, "-c", "pass"], check=True)  # real time passes
    first = parse(cluster.render_metrics("node-1"))
    n1 = first[("node_cpu_usage_seconds_total", ())][0]
    burner.kill()
    burner.wait()
    cluster.detach_process(POD[0], POD[1], POD[2])
    later = parse(cluster.render_metrics("node-1"))
    assert ("container_cpu_usage_seconds_total", KEY) not in later
    assert ("pod_cpu_usage_seconds_total", PODKEY) not in later
    assert later[("node_cpu_usage_seconds_total", ())][0] >= n1  # the node counter keeps it
    _, t1 = first[("container_cpu_usage_seconds_total", KEY)]
    assert t1 is not None
    assert cluster.truth.cpu_seconds("/".join(POD), t1) == pytest.approx(
        first[("container_cpu_usage_seconds_total", KEY)][0], abs=1e-9)
    # a new process for the same container (a restart): a new run, counter from zero
    again = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert cluster.attach_process("node-1", *POD, pid=again.pid,
                                      start_time=cluster.clock.now())
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        series = parse(cluster.render_metrics("node-1"))
        assert series[("container_cpu_usage_seconds_total", KEY)][0] < 5
    finally:
        again.kill()
        again.wait()
    cluster.remove_process_pod(POD[0], POD[1])
    assert "metrics-server" not in cluster.render_metrics("node-1").decode()
    assert cluster.node_of(POD[0], POD[1]) is None


def test_absent_on_a_virtual_clock(burner: subprocess.Popen[bytes]) -> None:
    cluster = Cluster.generate(nodes=1, pods_per_node=1, seed=1, clock=VirtualClock(1.7e9))
    assert not cluster.attach_process("node-1", *POD, pid=burner.pid, start_time=1.7e9)
    assert "metrics-server" not in cluster.render_metrics("node-1").decode()


def test_unknown_node_or_a_fleet_pods_name_is_refused(burner: subprocess.Popen[bytes]) -> None:
    cluster = real_cluster()
    with pytest.raises(KeyError):
        cluster.attach_process("node-9", *POD, pid=burner.pid, start_time=0.0)
    fleet_pod = next(iter(cluster.pods.values()))
    with pytest.raises(ValueError, match="fleet pod"):
        cluster.attach_process("node-1", fleet_pod.namespace, fleet_pod.name, "x",
                               pid=burner.pid, start_time=0.0)
    assert os.path.exists(f"/proc/{burner.pid}")
