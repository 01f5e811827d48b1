"""The smallest experiment on accelerated time: what the HPA's metrics client would see.

Before workload pods and the HPA controller exist, this proves the core end to end with
today's components: a fleet (nodes and pods with time-varying workloads), the control plane,
the aggregation layer and metricsd, all on one virtual clock. Every ``every`` virtual seconds
it LISTs ``pods.metrics.k8s.io`` the way the HPA does (``GET /apis/metrics.k8s.io/v1beta1/
namespaces/NS/pods?labelSelector=…`` through fakeapiserver, as an admin) and writes one CSV
row per selected pod:

``elapsed_s``   virtual seconds since the start (the sample instant)
``pod``         ``namespace/name``
``truth_cores`` the pod's true CPU at that instant (fakekubelet's ground truth)
``api_cores``   the CPU the Metrics API returned (sum of containers; empty when absent)
``api_time_s``  the sample's timestamp (RFC 3339 seconds, as served) as elapsed seconds
``window_s``    the sample's window
``scrapes``     metricsd's completed scrape cycles so far
``status``      ``ok``, ``missing`` (the API has no metrics for the pod) or the HTTP error

Two runs with the same fleet file, seed and settings write byte-identical files (tested).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from scenarios.simtime.cluster import APIError, SimCluster
from scenarios.simtime.loop import SimEventLoop

__all__ = ["HEADER", "Recorder", "main", "run_metrics_probe"]

HEADER = "elapsed_s,pod,truth_cores,api_cores,api_time_s,window_s,scrapes,status"


_CPU_SUFFIX = {"n": 1, "u": 1_000, "m": 1_000_000}


def _nanocores(text: str) -> int:
    """A CPU quantity as served (``415m``, ``2500u``, ``156466250n``, ``1``) → nanocores."""
    scale = _CPU_SUFFIX.get(text[-1:])
    if scale is not None and text[:-1].isdigit():
        return int(text[:-1]) * scale
    if text.isdigit():
        return int(text) * 1_000_000_000
    from metricsd.quantity import parse_cpu_nanocores

    return parse_cpu_nanocores(text)


def _go_duration_seconds(text: str) -> float:
    """``15s``, ``14.998s``, ``1m0s``, ``500ms`` → seconds."""
    if text[-1:] == "s" and text[:-1].replace(".", "", 1).isdigit():
        return float(text[:-1])  # the common shape, fast
    total = 0.0
    number = ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = next((u for u in ("ms", "µs", "us", "ns", "h", "m", "s") if text.startswith(u, i)),
                    None)
        if unit is None or not number:
            raise ValueError(f"not a Go duration: {text!r}")
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f"not a Go duration: {text!r}")
    return total


class Recorder:
    """Samples the Metrics API and the ground truth for the pods ``selector`` selects."""

    def __init__(self, cluster: SimCluster, out: TextIO, *, namespace: str = "default",
                 selector: str = "") -> None:
        from metricsd.selectors import parse_label_selector

        self.cluster = cluster
        self.out = out
        self.namespace = namespace
        self.selector_text = selector
        self.selector = parse_label_selector(selector)
        self.rows = 0
        self.path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"
        out.write(HEADER + "\n")

    def _pods(self) -> list[Any]:
        pods = self.cluster.cluster.pods.values()
        return sorted(
            (p for p in pods if p.namespace == self.namespace and self.selector.matches(p.labels)),
            key=lambda p: p.name,
        )

    async def sample(self, elapsed: float) -> None:
        c = self.cluster
        params = {"labelSelector": self.selector_text} if self.selector_text else {}
        served: dict[str, tuple[float, str, str]] = {}
        error = ""
        try:
            body = await c.api.get(self.path, **params)
        except APIError as err:
            error = f"{err.status} {err.message}".replace(",", ";")
        else:
            for item in body.get("items") or []:
                name = item["metadata"]["name"]
                nanocores = sum(_nanocores(ct["usage"]["cpu"])
                                for ct in item.get("containers") or [])
                offset = datetime.fromisoformat(item["timestamp"]).timestamp() - c.clock.start
                served[name] = (nanocores / 1e9, f"{offset:.0f}",
                                f"{_go_duration_seconds(item['window']):.3f}")
        now = c.clock.now()
        scrapes = c.scrapes
        for pod in self._pods():
            key = f"{pod.namespace}/{pod.name}"
            try:
                truth_text = f"{c.truth.cpu_cores(key, now):.6f}"
            except (KeyError, ValueError):
                truth_text = ""
            if error:
                row = [truth_text, "", "", "", str(scrapes), error]
            elif pod.name in served:
                cores, at, window = served[pod.name]
                row = [truth_text, f"{cores:.9f}", at, window, str(scrapes), "ok"]
            else:
                row = [truth_text, "", "", "", str(scrapes), "missing"]
            self.out.write(",".join([f"{elapsed:.3f}", key, *row]) + "\n")
            self.rows += 1


class Progress:
    """One live line on a terminal; otherwise a line every tenth of the run."""

    def __init__(self, duration: float, stream: TextIO | None) -> None:
        self.duration = duration
        self.stream = stream
        self.began = time.perf_counter()
        self.tty = bool(stream is not None and stream.isatty())
        self._next = duration / 10
        self._shown = -1.0

    def update(self, elapsed: float, scrapes: int, final: bool = False) -> None:
        if self.stream is None or (final and elapsed == self._shown and not self.tty):
            return
        if not (final or self.tty or elapsed >= self._next):
            return
        self._shown = elapsed
        while self._next <= elapsed:
            self._next += self.duration / 10
        wall = time.perf_counter() - self.began
        ratio = elapsed / wall if wall > 0 else 0.0
        text = (f"simtime: {elapsed:.0f}/{self.duration:.0f} s simulated in {wall:.1f} s wall "
                f"({ratio:.0f}x), {scrapes} scrapes")
        if self.tty and not final:
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(("\r" if self.tty else "") + text + "\n")
        self.stream.flush()


async def record_metrics(
    cluster: SimCluster, out: TextIO, *, duration: float, every: float,
    namespace: str = "default", selector: str = "", first: float | None = None,
    progress: TextIO | None = None,
) -> Recorder:
    """Sample every ``every`` s (from ``first``, default ``every``) until ``duration``."""
    recorder = Recorder(cluster, out, namespace=namespace, selector=selector)
    shown = Progress(duration, progress)
    cluster.every(every, recorder.sample, start=every if first is None else first)
    cluster.every(max(every, duration / 100), lambda t: shown.update(t, cluster.scrapes),
                  start=0)
    await cluster.run_until(duration)
    shown.update(cluster.elapsed, cluster.scrapes, final=True)
    return recorder


def run_metrics_probe(
    fleet: Any, *, seed: int | None = None, duration: float = 600.0, every: float = 15.0,
    resolution: float = 15.0, namespace: str = "default", selector: str = "",
    metricsd_args: Sequence[str] = (), start: float | None = None,
    progress: TextIO | None = None, loop: SimEventLoop | None = None,
) -> str:
    """Run the experiment in a fresh virtual-time loop; return the CSV text."""
    from scenarios import simtime

    out = io.StringIO()

    async def main() -> None:
        async with SimCluster(fleet, seed=seed, resolution=resolution,
                              metricsd_args=metricsd_args) as cluster:
            await record_metrics(cluster, out, duration=duration, every=every,
                                 namespace=namespace, selector=selector, progress=progress)

    simtime.run(main(), start=start, loop=loop)
    return out.getvalue()


EXAMPLES = """\
examples:
  # ten simulated minutes of the shipped 10 x 10 fleet, one sample every 15 s
  python -m scenarios.simtime scenarios/fleets/simtime-web.yaml --duration 600 --out probe.csv

  # metricsd at 60 s resolution, sampling every 10 s, only the pods labelled app=web
  python -m scenarios.simtime FLEET.yaml --resolution 60 --every 10 --selector app=web
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.simtime",
        description="Run a fleet, the control plane and metricsd on accelerated time and "
        "record what the Metrics API returns (the HPA's view) against the ground truth.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fleet", help="fleet spec file (docs/fakekubelet-spec.md)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the spec's)")
    parser.add_argument("--duration", type=float, default=600.0, metavar="S",
                        help="simulated seconds (default 600)")
    parser.add_argument("--every", type=float, default=15.0, metavar="S",
                        help="sample period in simulated seconds (default 15)")
    parser.add_argument("--resolution", type=float, default=15.0, metavar="S",
                        help="metricsd --metric-resolution in seconds (default 15)")
    parser.add_argument("--namespace", default="default", help="pods' namespace (default)")
    parser.add_argument("--selector", default="", help="label selector, as the HPA's")
    parser.add_argument("--out", default="-", help="CSV file (default: stdout)")
    args = parser.parse_args(argv)
    for name in ("duration", "every", "resolution"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name}: must be > 0")
    from fakekubelet.spec import SpecError

    try:
        text = run_metrics_probe(args.fleet, seed=args.seed, duration=args.duration,
                                 every=args.every, resolution=args.resolution,
                                 namespace=args.namespace, selector=args.selector,
                                 progress=sys.stderr)
    except (SpecError, ValueError) as err:
        print(f"simtime: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
