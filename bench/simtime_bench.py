"""Accelerated time: simulated seconds per wall second for the whole pipeline. Prints figures.

One process runs the fleet, the control plane (aggregation included) and metricsd's real
``MetricsServer`` on the virtual clock of ``scenarios.simtime``, with the probe driver LISTing
``pods.metrics.k8s.io`` through the aggregation layer every ``--every`` simulated seconds (the
HPA's request, at its sync period), so every simulated second costs what an HPA experiment's
pipeline will cost before the HPA's own arithmetic.

    python bench/simtime_bench.py                      # 1 h, 10 nodes x 10 pods, 15 s
    python bench/simtime_bench.py --duration 600 --profile 25

Figures: start-up (wall), simulated seconds per wall second over the run (the ratio), CPU
seconds, jumps of virtual time, quiescence checks, how often and how long a check found bytes
or executor work in flight, and per simulated hour: scrapes, kubelet requests, TLS handshakes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import ssl
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenarios import simtime  # noqa: E402
from scenarios.simtime.driver import record_metrics  # noqa: E402
from scenarios.simtime.loop import SimEventLoop  # noqa: E402

FLEET = REPO / "scenarios" / "fleets" / "simtime-web.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fleet", default=str(FLEET))
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--pods-per-node", type=int, default=10)
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--resolution", type=float, default=15.0)
    parser.add_argument("--every", type=float, default=15.0, help="LIST period (HPA sync)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N most expensive functions of the run phase")
    parser.add_argument("--profile-out", default="", metavar="FILE",
                        help="with --profile: also write the pstats file")
    args = parser.parse_args()

    handshakes = 0
    real_do_handshake = ssl.SSLObject.do_handshake

    def counting(self: ssl.SSLObject) -> None:
        nonlocal handshakes
        real_do_handshake(self)  # raises SSLWantReadError until it is done
        handshakes += 1

    ssl.SSLObject.do_handshake = counting  # type: ignore[method-assign]
    figures: dict[str, float] = {}
    profiler = cProfile.Profile() if args.profile else None

    async def run() -> None:
        began = time.perf_counter()
        async with simtime.SimCluster(args.fleet, seed=args.seed, resolution=args.resolution,
                                      nodes=args.nodes,
                                      pods_per_node=args.pods_per_node) as c:
            figures["startup"] = time.perf_counter() - began
            figures["handshakes0"] = handshakes
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            await record_metrics(c, io.StringIO(), duration=args.duration, every=args.every,
                                 progress=sys.stderr)
            if profiler is not None:
                profiler.disable()
            figures["wall"] = time.perf_counter() - wall0
            figures["cpu"] = time.process_time() - cpu0
            figures["simulated"] = c.elapsed
            figures["scrapes"] = c.scrapes
            figures["requests"] = c.fleet.server.requests_served
            figures["handshakes"] = handshakes - figures["handshakes0"]

    loop = SimEventLoop()
    simtime.run(run(), loop=loop)
    stats = loop.stats
    hours = figures["simulated"] / 3600
    print(f"fleet: {args.nodes} nodes x {args.pods_per_node} pods, resolution "
          f"{args.resolution:g} s, LIST every {args.every:g} s, {figures['simulated']:.0f} "
          "simulated s")
    print(f"start-up:             {figures['startup']:.2f} s wall")
    print(f"run:                  {figures['wall']:.2f} s wall, {figures['cpu']:.2f} s CPU")
    print(f"ratio:                {figures['simulated'] / figures['wall']:.0f}x "
          f"(simulated s per wall s; {figures['simulated'] / figures['cpu']:.0f}x per CPU s)")
    print(f"jumps:                {stats.jumps} ({stats.jumps / hours:.0f} per simulated hour), "
          f"{stats.settles} settles")
    print(f"quiescence checks:    {stats.checks}; held by in-flight work {stats.busy} times, "
          f"{stats.busy_seconds * 1000:.0f} ms real in total")
    print(f"per simulated hour:   {figures['scrapes'] / hours:.0f} scrapes, "
          f"{figures['requests'] / hours:.0f} kubelet requests, "
          f"{figures['handshakes'] / hours:.0f} TLS handshakes (both ends counted)")
    if profiler is not None:
        out = io.StringIO()
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
