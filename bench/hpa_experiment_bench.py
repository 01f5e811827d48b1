"""HPA experiment on accelerated time: simulated seconds per wall and per CPU second. Prints.

Issue 13's figure: one simulated hour of a Deployment that the HPA scales to 100 pods on 10
nodes, metricsd at a 15 s resolution, the HPA syncing every 15 s (≥ 120× wall is the target,
360× the stretch). Everything an experiment runs is in the measurement: the fleet (each
workload pod a served pod with its ContainerCreating delay), the control plane and its
controllers (deployment, replicaset, scheduler honouring requests, endpoints, the HPA
controller around podautoscaler.reconcile with a LIST of pods.metrics.k8s.io through the
aggregation layer every sync), metricsd's real MetricsServer scraping the 10 kubelets, the
closed-loop load re-splitting the demand among Ready pods, and the recorder's samples.

    python bench/hpa_experiment_bench.py                 # 1 h, 10 nodes, up to 100 pods
    python bench/hpa_experiment_bench.py --duration 600 --profile 25

The demand steps to 10 cores at 60 s: at 100m per pod (50 % of a 200m request) that is 100
pods, the HPA's maxReplicas; without behavior the legacy rule at most doubles per sync, so
it takes a few minutes to get there and the rest of the hour runs 100 pods.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scenarios import simtime  # noqa: E402
from scenarios.experiment.run import record_variant  # noqa: E402
from scenarios.experiment.schema import load_experiment  # noqa: E402
from scenarios.simtime.loop import SimEventLoop  # noqa: E402

EXPERIMENT = """\
name: bench-100-pods
description: one hour, 10 nodes, a Deployment the HPA scales to 100 pods
duration: {duration}s
seed: 1
sampleEvery: {sample}s
metricsd: {{resolution: {resolution}s}}
controller: {{--horizontal-pod-autoscaler-sync-period: {sync}s}}
fleet:
  seed: 1
  certMode: ca-signed
  kubeletVersion: "1.30.0"
  nodeGroups:
    - name: node
      count: {nodes}
      capacity: {{cpu: "4", memory: 16Gi, pods: 110}}
      pods: []
deployment:
  apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata:
        labels: {{app: web}}
        annotations: {{sim.metricsd.io/startup-seconds: "2"}}
      spec:
        containers:
          - name: web
            image: registry.k8s.io/hpa-example
            resources: {{requests: {{cpu: 200m, memory: 64Mi}}, limits: {{cpu: 500m}}}}
hpa:
  apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {{name: web}}
  spec:
    scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
    minReplicas: 1
    maxReplicas: {pods}
    metrics:
      - type: Resource
        resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}
load:
  cores: {{type: steps, initial: 10m, steps: [{{atSeconds: 60, value: {cores}}}]}}
  stepSeconds: 15
variants:
  - name: bench
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--pods", type=int, default=100, help="maxReplicas (and the demand)")
    parser.add_argument("--resolution", type=float, default=15.0)
    parser.add_argument("--sync", type=float, default=15.0, help="HPA sync period")
    parser.add_argument("--sample", type=float, default=15.0, help="recorder sample period")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N most expensive functions of the whole run")
    args = parser.parse_args()
    text = EXPERIMENT.format(duration=f"{args.duration:g}", nodes=args.nodes, pods=args.pods,
                             resolution=f"{args.resolution:g}", sync=f"{args.sync:g}",
                             sample=f"{args.sample:g}", cores=f"{args.pods * 100}m")
    exp = load_experiment(Path("bench.yaml"), text=text)
    variant = exp.variants[0]
    profiler = cProfile.Profile() if args.profile else None
    loop = SimEventLoop()
    began_wall, began_cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = simtime.run(record_variant(exp, variant), loop=loop)
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - began_wall
    cpu = time.process_time() - began_cpu
    full = next((r.time_s for r in result.rows if r.pods_ready >= args.pods), None)
    stats = loop.stats
    print(f"experiment: {args.nodes} nodes, a Deployment scaled to {args.pods} pods, "
          f"resolution {args.resolution:g} s, HPA sync {args.sync:g} s, "
          f"{args.duration:g} simulated s")
    print(f"reached:              {result.summary.peak_replicas} replicas; "
          f"{args.pods} Ready at " + (f"{full:.0f} s" if full is not None else "never")
          + f", {result.summary.scale_events} rescales")
    print(f"whole run:            {wall:.2f} s wall, {cpu:.2f} s CPU (start-up included)")
    print(f"ratio:                {args.duration / wall:.0f}x simulated s per wall s; "
          f"{args.duration / cpu:.0f}x per CPU s")
    print(f"jumps:                {stats.jumps}, quiescence checks {stats.checks}, held by "
          f"in-flight work {stats.busy} times")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
