"""The experiment file (scenarios.experiment.schema): a full file loads and resolves its
variants; every kind of mistake is refused as file:line: path: reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.experiment.schema import load_experiment
from scenarios.yamlschema import SchemaError

REPO = Path(__file__).resolve().parents[3]
SHIPPED = sorted((REPO / "scenarios" / "experiments").glob("*.yaml"))

GOOD = """\
name: demo
description: a demo
duration: 10m
seed: 4
metricsd: {resolution: 30s}
controller:
  --horizontal-pod-autoscaler-downscale-stabilization: 1m
deployment:
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
          - name: web
            image: example.com/web
            resources: {requests: {cpu: 250m}, limits: {cpu: 1}}
hpa:
  apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {name: web}
  spec:
    scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    maxReplicas: 8
    metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
load:
  requestsPerSecond: {type: ramp, from: 10, to: 200, durationSeconds: 300}
  cpuPerRequest: 5m
variants:
  - name: base
  - name: slow
    metricsd: {resolution: 60s}
    controller: {--horizontal-pod-autoscaler-tolerance: "0.2"}
    expect:
      firstScaleUp: ">= base"
expect:
  peakReplicas: "<= 8"
"""


def load_text(text: str) -> object:
    return load_experiment(Path("x.yaml"), text=text)


def test_a_full_file_resolves_every_variant() -> None:
    exp = load_experiment(Path("x.yaml"), text=GOOD)
    assert (exp.name, exp.duration, exp.seed, exp.sample_every) == ("demo", 600.0, 4, 5.0)
    base, slow = exp.variants
    assert base.resolution == 30.0 and slow.resolution == 60.0
    assert base.controller == {"--horizontal-pod-autoscaler-downscale-stabilization": "1m"}
    assert slow.controller == {"--horizontal-pod-autoscaler-downscale-stabilization": "1m",
                               "--horizontal-pod-autoscaler-tolerance": "0.2"}
    assert base.hpa == slow.hpa and base.hpa["spec"]["maxReplicas"] == 8
    assert base.workload.namespace == "shop" and base.workload.cpu_limit == 1.0
    assert base.per_pod_target == pytest.approx(0.15)
    assert [b.text for b in base.bounds] == ["<= 8"]
    assert [b.text for b in slow.bounds] == ["<= 8", ">= base"]
    assert exp.fleet.node_count == 3  # the default kind-like fleet
    # the load is on the experiment's Deployment, its noise seeded by the experiment's seed
    spec = exp.load_spec
    assert (spec.deployment, spec.namespace, spec.demand.seed) == ("web", "shop", 4)
    # a ramp is held over each 5 s interval at its mean there
    assert spec.demand_cores(0) == pytest.approx((10 + 190 * 2.5 / 300) * 0.005)
    assert exp.load == {"requestsPerSecond": {"type": "ramp", "from": 10, "to": 200,
                                              "durationSeconds": 300}, "cpuPerRequest": "5m"}


def swap(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(("text", "error"), [
    (swap("duration: 10m", "duration: ten"),
     "x.yaml:3: duration: expected a duration such as 500ms, 15s or 1m30s: a duration such "
     "as 500ms, 15s or 1m30s, got 'ten'"),
    (swap("seed: 4", "seed: 4\nseeds: 5"),
     "x.yaml:5: seeds: unknown key; expected one of name, description, duration, seed, "),
    (swap("image: example.com/web", "image: ''"),
     "x.yaml:20: deployment.spec.template.spec.containers[0].image: Required value"),
    (swap("limits: {cpu: 1}", "limits: {cpu: 100m}"),
     "x.yaml:21: deployment.spec.template.spec.containers[0].resources.requests: Invalid "
     'value: "250m": must be less than or equal to cpu limit of 100m'),
    (swap("maxReplicas: 8", "maxReplicas: 0"),
     "x.yaml:28: hpa.spec.maxReplicas: Invalid value: 0: must be greater than 0 (and 1 "
     "more)"),
    (swap("kind: Deployment, name: web}", "kind: Deployment, name: api}"),
     "x.yaml:27: hpa.spec.scaleTargetRef: expected the experiment's Deployment 'web' "
     "(kind: Deployment, name: web), got Deployment/api"),
    (swap("cpuPerRequest: 5m", "cpuPerRequest: lots"),
     "x.yaml:34: load.cpuPerRequest: expected CPU cores: a number or a quantity such as "
     "250m, got 'lots'"),
    (swap("{type: ramp, from: 10, to: 200, durationSeconds: 300}",
          "{type: ramp, from: 10, to: 200}"),
     "x.yaml:33: load.requestsPerSecond: missing required key 'durationSeconds' (seconds "
     ">= 0)"),
    (swap("  cpuPerRequest: 5m", "  cpuPerRequest: 5m\n  deployment: api"),
     "x.yaml:35: load.deployment: expected the experiment's Deployment's deployment 'web', "
     "got 'api'"),
    (swap("  - name: slow", "  - name: base"),
     "x.yaml:37: variants[1].name: duplicate variant name 'base'"),
    (swap('firstScaleUp: ">= base"', 'firstScaleUp: ">= fast"'),
     "x.yaml:41: variants[1].expect.firstScaleUp: no variant named 'fast' (variants: "
     "base, slow)"),
    (swap('firstScaleUp: ">= base"', 'firstScaleUpp: ">= base"'),
     "x.yaml:41: variants[1].expect.firstScaleUpp: unknown summary figure 'firstScaleUpp'"),
    (swap('peakReplicas: "<= 8"', 'peakReplicas: "about 8"'),
     "x.yaml:43: expect.peakReplicas: expected a comparison such as '<= 105', '>= 6' or "),
    (swap('--horizontal-pod-autoscaler-tolerance: "0.2"',
          "--horizontal-pod-autoscaler-tolerance: lots"),
     "x.yaml:39: variants[1].controller.--horizontal-pod-autoscaler-tolerance: invalid "
     'argument "lots" for "--horizontal-pod-autoscaler-tolerance" flag: strconv.ParseFloat: '
     'parsing "lots": invalid syntax'),
    (swap("--horizontal-pod-autoscaler-downscale-stabilization: 1m",
          "--horizontal-pod-autoscaler-downscale: 1m"),
     "x.yaml:7: controller.--horizontal-pod-autoscaler-downscale: unknown flag: "
     "--horizontal-pod-autoscaler-downscale"),
    (swap("seed: 4", "seed: 4\nfleet: {nodeGroups: [{name: n, count: -1}]}"),
     "x.yaml:5: fleet.nodeGroups[0].count:"),
    (swap("seed: 4", "seed: 4\nfleetFile: nowhere.yaml"),
     "x.yaml:5: fleetFile: "),
    ("name: demo\n", "x.yaml:1: <document>: missing required key 'description'"),
])
def test_errors_name_the_file_line_and_path(text: str, error: str) -> None:
    with pytest.raises(SchemaError) as info:
        load_text(text)
    assert str(info.value).startswith(error), str(info.value)


def test_a_variant_needs_an_hpa_when_there_is_no_top_level_one() -> None:
    text = GOOD.replace("hpa:\n  apiVersion", "unused:\n  apiVersion", 1)
    with pytest.raises(SchemaError, match="unused: unknown key"):
        load_text(text)


def test_provisioning_bounds_need_a_cpu_target() -> None:
    text = swap("{name: cpu, target: {type: Utilization, averageUtilization: 60}}",
                "{name: memory, target: {type: AverageValue, averageValue: 100Mi}}")
    text = text.replace('firstScaleUp: ">= base"', 'podSecondsOver: "< base"')
    with pytest.raises(SchemaError, match=r"expect.podSecondsOver: this variant's HPA has "
                                          "no CPU target"):
        load_text(text)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiments_load(path: Path) -> None:
    exp = load_experiment(path)
    assert exp.variants and all(v.bounds for v in exp.variants)
