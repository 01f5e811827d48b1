"""Decoder benchmark: one 30-pod kubelet payload, and 1,000 of them, vs prometheus_client.

Prints the median CPU time (process time) of several runs for metricsd's ``decode_batch`` with
the compiled accelerator (``metricsd.scraper._scan``), the same with the accelerator switched
off (the pure-Python fast path), its faithful fallback parser, and prometheus_client's
``text_string_to_metric_families`` (fully consumed), plus the ratios.  The 1,000-payload row
is one 15 s scrape cycle of a 1,000-node cluster.  Not a test: figures only.

    python bench/decode_bench.py [--pods 30] [--containers 2] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from metricsd.scraper import decode as decode_mod
from metricsd.scraper.decode import decode_batch

T0_MS = 1_711_467_600_000


def payload(seed: int, pods: int, containers: int) -> bytes:
    """A kubelet 1.29+ style body: families sorted, labels sorted, ms timestamps."""
    rnd = random.Random(seed)
    refs = [
        (f"c{j}", f"ns-{i % 5}", f"pod-{seed}-{i:03d}-abcde")
        for i in range(pods)
        for j in range(containers)
    ]
    refs.sort(key=lambda r: (r[0], r[1], r[2]))
    out: list[str] = []

    def family(name: str, typ: str, help_text: str) -> None:
        out.append(f"# HELP {name} [STABLE] {help_text}")
        out.append(f"# TYPE {name} {typ}")

    family("container_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the container in core-seconds")
    for c, ns, p in refs:
        out.append(f'container_cpu_usage_seconds_total{{container="{c}",namespace="{ns}",'
                   f'pod="{p}"}} {rnd.uniform(1, 5000):.6f} {T0_MS + rnd.randint(0, 999)}')
    family("container_memory_working_set_bytes", "gauge",
           "Current working set of the container in bytes")
    for c, ns, p in refs:
        out.append(f'container_memory_working_set_bytes{{container="{c}",namespace="{ns}",'
                   f'pod="{p}"}} {float(rnd.randint(1 << 20, 1 << 30)):.6e} '
                   f"{T0_MS + rnd.randint(0, 999)}")
    family("container_start_time_seconds", "gauge",
           "Start time of the container since unix epoch in seconds")
    for c, ns, p in refs:
        out.append(f'container_start_time_seconds{{container="{c}",namespace="{ns}",'
                   f'pod="{p}"}} {1.7114e9 + rnd.uniform(0, 1e5):.10e}')
    family("node_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the node in core-seconds")
    out.append(f"node_cpu_usage_seconds_total {rnd.uniform(1e3, 1e6):.6f} {T0_MS}")
    family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes")
    mem = float(rnd.randint(1 << 30, 1 << 34))
    out.append(f"node_memory_working_set_bytes {mem:.9e} {T0_MS}")
    family("pod_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the pod in core-seconds")
    pod_refs = sorted({(ns, p) for _, ns, p in refs})
    for ns, p in pod_refs:
        out.append(f'pod_cpu_usage_seconds_total{{namespace="{ns}",pod="{p}"}} '
                   f"{rnd.uniform(1, 5000):.6f} {T0_MS}")
    family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes")
    for ns, p in pod_refs:
        out.append(f'pod_memory_working_set_bytes{{namespace="{ns}",pod="{p}"}} '
                   f"{float(rnd.randint(1 << 20, 1 << 30)):.6e} {T0_MS}")
    family("resource_scrape_error", "gauge",
           "1 if there was an error while getting container metrics, 0 otherwise")
    out.append("resource_scrape_error 0")
    return ("\n".join(out) + "\n").encode()


def ours(body: bytes) -> object:
    return decode_batch(body, T0_MS * 1_000_000, "node")


def python_fast(body: bytes) -> object:
    """``decode_batch`` with the accelerator switched off (what ``METRICSD_PURE_PYTHON=1`` runs)."""
    saved = decode_mod._accel
    decode_mod._accel = None
    try:
        return decode_batch(body, T0_MS * 1_000_000, "node")
    finally:
        decode_mod._accel = saved


def faithful(body: bytes) -> object:
    acc = decode_mod._Acc(T0_MS)
    decode_mod._decode_faithful(body.decode(), acc)
    return acc.finish("node", decode_mod.no_log)


def oracle(body: bytes) -> object:
    n = 0
    for fam in text_string_to_metric_families(body.decode()):
        n += len(fam.samples)
    return n


def median_time(fn: Callable[[bytes], object], bodies: list[bytes], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        for body in bodies:
            fn(body)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pods", type=int, default=30)
    ap.add_argument("--containers", type=int, default=2, help="containers per pod")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--nodes", type=int, default=1000)
    args = ap.parse_args()

    one = [payload(0, args.pods, args.containers)]
    many = [payload(i, args.pods, args.containers) for i in range(args.nodes)]
    lines = one[0].count(b"\n")
    print(f"payload: {args.pods} pods x {args.containers} containers, {lines} lines, "
          f"{len(one[0])} bytes; accelerator loaded: {decode_mod.ACCELERATED}")
    print("median CPU time per payload set (ms); ratios vs the accelerated decoder")
    reps = 200
    cases = (("1 payload", one * reps, reps), (f"{args.nodes} payloads", many, 1))
    for label, bodies, scale in cases:
        t_ours = median_time(ours, bodies, args.runs) / scale
        t_py = median_time(python_fast, bodies, args.runs) / scale
        t_faithful = median_time(faithful, bodies, max(3, args.runs // 2)) / scale
        t_oracle = median_time(oracle, bodies, max(3, args.runs // 2)) / scale
        print(f"{label:>16}: accelerated {t_ours * 1e3:9.3f} | python fast path "
              f"{t_py * 1e3:9.3f} ({t_py / t_ours:4.1f}x) | faithful path "
              f"{t_faithful * 1e3:9.3f} | prometheus_client {t_oracle * 1e3:9.3f} "
              f"({t_oracle / t_ours:5.1f}x)")

if __name__ == "__main__":
    main()
