"""metricsd hot paths on realistic fleet payloads: decode, store, API lists (prints figures).

Builds ``fakekubelet.cluster.Cluster.generate(nodes, pods_per_node)`` on a virtual clock,
renders every node's ``/metrics/resource`` body twice (15 s apart, so storage has rates) and
times, as medians of several runs:

* ``decode``: :func:`metricsd.scraper.decode.decode_batch` over all payloads (CPU-s per cycle);
* ``merge``: :func:`merge_batches` of the per-node batches;
* ``store``: ``Storage.store`` of the merged batch (the event-loop stall per cycle);
* ``list all`` / ``list ns``: ``MetricsAPI.list_pods`` for all pods / one namespace, each
  followed by the JSON encoding the HTTP server does;
* ``format``: ``format_cpu_nanocores`` + ``format_memory_bytes`` per call;
* ``cycle``: decode + merge + store CPU, as is, after ``gc.freeze()``, and with GC off (the
  collector's share of a cycle in a process holding a fleet's worth of objects).

Not a test: no assertions, just figures.  ``--json`` prints them as one JSON object too.

    python bench/hotpaths_bench.py [--nodes 1000] [--pods 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import time
import zlib
from collections.abc import Callable
from typing import Any

from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from metricsd.api import MetricsAPI
from metricsd.api.types import NodeMeta, PodMeta
from metricsd.quantity import format_cpu_nanocores, format_memory_bytes
from metricsd.scraper.batch import MetricsBatch, merge_batches
from metricsd.scraper.decode import clear_caches, decode_batch
from metricsd.selectors import LabelSelector
from metricsd.storage import Storage

RESOLUTION_NS = 15 * 1_000_000_000


class _Pods:
    """A PodLister indexed by namespace (what ``metricsd.informers.PodInformer`` keeps)."""

    def __init__(self, pods: list[PodMeta]) -> None:
        self.by_ns: dict[str, dict[str, PodMeta]] = {}
        for p in pods:
            self.by_ns.setdefault(p.namespace, {})[p.name] = p

    def list_pods(self, namespace: str | None, selector: LabelSelector) -> list[PodMeta]:
        if namespace is not None:
            return list(self.by_ns.get(namespace, {}).values())
        return [p for ns in self.by_ns.values() for p in ns.values()]

    def get_pod(self, namespace: str, name: str) -> PodMeta | None:
        return self.by_ns.get(namespace, {}).get(name)


class _Nodes:
    def __init__(self, names: list[str]) -> None:
        self.nodes = [NodeMeta(n, {}) for n in names]

    def list_nodes(self, selector: LabelSelector) -> list[NodeMeta]:
        return list(self.nodes)

    def get_node(self, name: str) -> NodeMeta | None:
        return next((n for n in self.nodes if n.name == name), None)


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cpu_median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


_NS_LABEL = re.compile(rb'namespace="default",pod="([^"]*)"')


def _spread(m: re.Match[bytes]) -> bytes:
    """The generated fleet has one namespace; spread pods over 100 (stable per pod name)."""
    ns = zlib.crc32(m.group(1)) % 100
    return b'namespace="ns-%02d",pod="%s"' % (ns, m.group(1))


def _render_all(cluster: Cluster, names: list[str]) -> list[tuple[str, bytes, int]]:
    now_ns = int(cluster.clock.now() * 1e9)
    return [(n, _NS_LABEL.sub(_spread, cluster.render_metrics(n)), now_ns) for n in names]


def _decode_all(payloads: list[tuple[str, bytes, int]]) -> list[MetricsBatch]:
    return [decode_batch(body, t, name) for name, body, t in payloads]


def _decode_cold(payloads: list[tuple[str, bytes, int]]) -> list[MetricsBatch]:
    clear_caches()
    return _decode_all(payloads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=30, help="pods per node")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=600.0,
                    help="fleet age in seconds before the first render (older pods get rates)")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cluster = Cluster.generate(nodes=args.nodes, pods_per_node=args.pods, clock=VirtualClock(),
                               warmup_seconds=args.warmup)
    names = sorted(cluster.nodes)
    first = _render_all(cluster, names)
    cluster.advance(15.0)
    second = _render_all(cluster, names)
    setup_s = time.perf_counter() - t0
    nbytes = sum(len(b) for _, b, _ in second)
    nlines = sum(b.count(b"\n") for _, b, _ in second)

    batches1 = _decode_all(first)
    batches2 = _decode_all(second)
    merged1 = merge_batches(batches1)
    merged2 = merge_batches(batches2)
    pods = [PodMeta(ns, name, {"app": name.rsplit("-", 1)[0]}) for ns, name in merged2.pods]
    by_ns: dict[str, int] = {}
    for p in pods:
        by_ns[p.namespace] = by_ns.get(p.namespace, 0) + 1
    namespace = max(sorted(by_ns), key=lambda ns: by_ns[ns])

    def fresh_storage() -> Storage:
        s = Storage(RESOLUTION_NS)
        s.store(merged1)
        return s

    storage = fresh_storage()
    storage.store(merged2)
    api = MetricsAPI(storage, _Nodes(names), _Pods(pods))
    now_ns = int(cluster.clock.now() * 1e9)

    def list_all() -> object:
        res = api.list_pods(now_ns)
        return json.dumps(res.body, separators=(",", ":"), ensure_ascii=False)

    def list_ns() -> object:
        res = api.list_pods(now_ns, namespace)
        return json.dumps(res.body, separators=(",", ":"), ensure_ascii=False)

    def store_once() -> float:
        s = fresh_storage()
        start = time.perf_counter()
        s.store(merged2)
        return time.perf_counter() - start

    def store_first_list() -> float:
        """Store then list all pods: includes any per-store cache warm-up."""
        s = fresh_storage()
        a = MetricsAPI(s, _Nodes(names), _Pods(pods))
        s.store(merged2)
        start = time.perf_counter()
        a.list_pods(now_ns)
        return time.perf_counter() - start

    usages = [(c.cpu_nanocores, c.memory_bytes)
              for key in list(merged2.pods)[:2000]
              if (u := storage.pod_usage(key)) is not None for c in u.containers]

    def fmt() -> object:
        for cpu, mem in usages:
            format_cpu_nanocores(cpu)
            format_memory_bytes(mem)
        return None

    runs = args.runs
    figures: dict[str, Any] = {
        "nodes": args.nodes,
        "pods": len(merged2.pods),
        "containers": sum(len(p.containers) for p in merged2.pods.values()),
        "payload_bytes": nbytes,
        "payload_lines": nlines,
        "namespace_pods": by_ns[namespace],
        "decode_cpu_s": _cpu_median(lambda: _decode_all(second), runs),
        "decode_wall_s": _median(lambda: _decode_all(second), runs),
        "decode_cold_cpu_s": _cpu_median(lambda: _decode_cold(second), runs),
        "merge_ms": _median(lambda: merge_batches(batches2), runs) * 1e3,
        "store_ms": statistics.median(store_once() for _ in range(runs)) * 1e3,
        "first_list_all_after_store_ms": statistics.median(
            store_first_list() for _ in range(runs)) * 1e3,
        "list_all_ms": _median(list_all, runs) * 1e3,
        "list_ns_ms": _median(list_ns, max(runs, 21)) * 1e3,
        "format_us_per_pair": _median(fmt, runs) / max(1, len(usages)) * 1e6,
    }
    def cycle() -> None:
        """What one scrape tick costs metricsd besides the transport: decode, merge, store."""
        s = fresh_storage()
        s.store(merge_batches(_decode_all(second)))

    figures["cycle_cpu_s"] = _cpu_median(cycle, runs)
    # The same after gc.freeze() (a server-side option: long-lived startup objects leave the
    # collector's view, so full collections stop walking them every cycle).
    gc.collect()
    gc.freeze()
    figures["cycle_cpu_frozen_s"] = _cpu_median(cycle, runs)
    gc.unfreeze()
    gc.disable()
    figures["cycle_cpu_nogc_s"] = _cpu_median(cycle, runs)
    gc.enable()
    served = api.list_pods(now_ns).body["items"]
    print(f"fleet: {args.nodes} nodes x {args.pods} pods -> {figures['pods']} pods, "
          f"{figures['containers']} containers, {nbytes / 1e6:.1f} MB, {nlines} lines "
          f"(setup {setup_s:.1f} s); served pods {len(served)}; namespace {namespace!r} has "
          f"{by_ns[namespace]} pods")
    print(f"decode  {args.nodes} payloads: {figures['decode_cpu_s']:.3f} CPU-s "
          f"({figures['decode_wall_s'] * 1e3 / args.nodes:.3f} ms/payload wall); "
          f"cold caches {figures['decode_cold_cpu_s']:.3f} CPU-s")
    print(f"merge_batches:            {figures['merge_ms']:8.2f} ms")
    print(f"Storage.store:            {figures['store_ms']:8.2f} ms")
    print(f"first list-all after store:{figures['first_list_all_after_store_ms']:7.2f} ms "
          "(no JSON)")
    print(f"list all pods + JSON:     {figures['list_all_ms']:8.2f} ms")
    print(f"list one namespace + JSON:{figures['list_ns_ms']:8.2f} ms")
    print(f"format cpu+memory:        {figures['format_us_per_pair']:8.3f} us per container")
    print(f"cycle (decode+merge+store): {figures['cycle_cpu_s']:.3f} CPU-s; after gc.freeze() "
          f"{figures['cycle_cpu_frozen_s']:.3f}; GC off {figures['cycle_cpu_nogc_s']:.3f}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
