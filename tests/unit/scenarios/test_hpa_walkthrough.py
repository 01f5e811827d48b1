"""The numbers the shipped HPA walkthrough expects follow from the algorithm and the load model.

``scenarios/files/12-hpa-walkthrough.yaml`` runs in real time (about two minutes) and checks
what kubectl prints: ``cpu: 190%/50%`` on one loaded pod, 4 replicas settling at
``cpu: 48%/50%`` with 96m per pod, ``cpu: 0%/50%`` with the load off, ``New size: 1`` after
the stabilization window. Here the same file's Deployment, HPA flags and load are fed,
without a clock or a process, to the two pure functions the simulation runs —
``scenarios.load.split`` (how the Service spreads the load) and ``podautoscaler.reconcile``
(one HPA sync) — and the server's TARGETS printer, so a change to any of them that would
move the scenario's numbers fails here, in a second, with the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import podautoscaler
from fakeapiserver.tables import hpa_targets
from podautoscaler import gotime
from scenarios.load.spec import LoadSpec
from scenarios.load.split import Slot, split
from scenarios.schema import load_scenario

FILE = Path(__file__).resolve().parents[3] / "scenarios" / "files" / "12-hpa-walkthrough.yaml"
SCENARIO = load_scenario(FILE)
NOW = "2025-06-01T12:00:00Z"
NOW_NS = gotime.parse_rfc3339(NOW)
ABOVE = "cpu resource utilization (percentage of request) above target"


def ago(seconds: float) -> str:
    return gotime.format_rfc3339_nano(NOW_NS - int(seconds * gotime.SECOND))


def steps(kind: str) -> list[dict[str, Any]]:
    return [s[kind] for s in SCENARIO.steps if s["kind"] == kind]


DEPLOYMENT = next(d for d in yaml.safe_load_all(steps("kubectl")[0]["stdin"])
                  if d["kind"] == "Deployment")
CONTAINER = DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]
LIMIT = float(CONTAINER["resources"]["limits"]["cpu"].removesuffix("m")) / 1000
AUTOSCALE = next(s["args"] for s in steps("kubectl") if s["args"][0] == "autoscale")
TARGET = int(next(a for a in AUTOSCALE if a.startswith("--cpu-percent=")).split("=")[1])
MIN = int(next(a for a in AUTOSCALE if a.startswith("--min=")).split("=")[1])
MAX = int(next(a for a in AUTOSCALE if a.startswith("--max=")).split("=")[1])
LOAD_ON, LOAD_OFF = (LoadSpec.from_value(v) for v in steps("load"))
SETTINGS = SCENARIO.cluster["controllerManager"]
WINDOW = 10.0  # --metric-resolution=10s: each sample's window


def hpa() -> dict[str, Any]:
    """What `kubectl autoscale ... --cpu-percent=50 --min=1 --max=10` creates, read as v2."""
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "php-apache"},
                     "minReplicas": MIN, "maxReplicas": MAX,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": TARGET}}}]}}


def pod(i: int, state: str) -> dict[str, Any]:
    """``counted``: Ready long enough for a whole window; ``fresh``: Ready, but after its
    sample's window began (CPU initialization: 0 % on a scale-up); ``creating``: Pending."""
    conditions = {"counted": [{"type": "Ready", "status": "True",
                               "lastTransitionTime": ago(60)}],
                  "fresh": [{"type": "Ready", "status": "True",
                             "lastTransitionTime": ago(3)}],
                  "creating": []}[state]
    return {"metadata": {"name": f"php-apache-{i}", "namespace": "default",
                         "labels": {"run": "php-apache"}},
            "spec": {"containers": [CONTAINER]},
            "status": {"phase": "Pending" if state == "creating" else "Running",
                       "startTime": ago(70), "conditions": conditions}}


def sync(cpu: Sequence[float | None], states: list[str], replicas: int,
         history: dict[str, Any] | None = None) -> dict[str, Any]:
    """One sync: the pods' states and the CPU metricsd reported for each (None: no sample);
    usage in nanocores as metricsd serves it."""
    items = [{"metadata": {"name": f"php-apache-{i}", "namespace": "default"},
              "timestamp": ago(1), "window": f"{WINDOW:g}s",
              "containers": [{"name": CONTAINER["name"],
                              "usage": {"cpu": f"{round(c * 1e9)}n", "memory": "4Mi"}}]}
             for i, c in enumerate(cpu) if c is not None]
    case = {"now": NOW, "hpa": hpa(),
            "scale": {"spec": {"replicas": replicas},
                      "status": {"replicas": replicas, "selector": "run=php-apache"}},
            "pods": [pod(i, s) for i, s in enumerate(states)],
            "podMetrics": {"kind": "PodMetricsList", "items": items},
            "controller": {"downscaleStabilization":
                           SETTINGS["horizontalPodAutoscalerDownscaleStabilizationWindow"],
                           "kubeVersion": SCENARIO.cluster["kubernetesVersion"]},
            "history": history or {"recommendations": [
                {"replicas": replicas, "timestamp": ago(600)}]}}
    return podautoscaler.reconcile(case)


def shares(load: LoadSpec, ready: int) -> list[float]:
    """Each Ready pod's CPU under the load (the Service's split, limits, the baseline)."""
    got = split(load.demand_cores(0), [Slot(i, True, LIMIT) for i in range(ready)],
                load.baseline_cpu)
    return [got[i].cpu for i in range(ready)]


def targets(result: dict[str, Any]) -> str:
    """TARGETS as the emulated 1.30 server prints it."""
    return hpa_targets({**hpa(), "status": result["status"]}, named=True)


def get_hpa_row(result: dict[str, Any], replicas: int) -> str:
    """`kubectl get hpa` as the scenario sees it (column widths as the 1.30 kubectl pads)."""
    return (f"NAME         REFERENCE               TARGETS         MINPODS   MAXPODS   REPLICAS"
            f"   AGE\nphp-apache   Deployment/php-apache   {targets(result):<15} {MIN:<9} "
            f"{MAX:<9} {replicas:<10} 75s\n")


def expectation(name: str) -> list[str]:
    """The regexes the scenario's step ``name`` puts on stdout."""
    step = next(s for s in SCENARIO.steps if s.get("name") == name)
    return list(step["expect"]["stdout"]["regex"])


def holds(name: str, text: str) -> bool:
    return all(re.search(pattern, text, re.MULTILINE) for pattern in expectation(name))


def rescale_messages(result: dict[str, Any]) -> list[str]:
    return [e["message"] for e in result["events"] if e["reason"] == "SuccessfulRescale"]


def test_the_file_says_what_the_derivation_assumes() -> None:
    assert (CONTAINER["resources"], TARGET, MIN, MAX) == (
        {"limits": {"cpu": "500m"}, "requests": {"cpu": "200m"}}, 50, 1, 10)
    assert math.isclose(LOAD_ON.demand_cores(0), 0.380)
    assert (LOAD_OFF.demand_cores(0), LOAD_ON.baseline_cpu) == (0.0, 0.001)
    assert SCENARIO.metricsd["args"]["set"]["--metric-resolution"] == f"{WINDOW:g}s"


def test_idle_one_pod_is_0_percent() -> None:
    result = sync(shares(LOAD_OFF, 1), ["counted"], 1)
    assert targets(result) == "cpu: 0%/50%"
    assert result["scale"] is None
    assert holds("the idle pod is at 0 % of its request (<unknown> until the first sync with "
                 "a metric)", get_hpa_row(result, 1))


def test_loaded_one_pod_is_190_percent_and_grows_to_4() -> None:
    cpu = shares(LOAD_ON, 1)
    assert cpu == pytest.approx([0.381])  # min(380m, 500m - 1m) + 1m
    result = sync(cpu, ["counted"], 1)
    assert targets(result) == "cpu: 190%/50%"
    assert result["scale"] == {"from": 1, "to": 4}  # ceil(3.8 x 1) = 4 = max(2 x 1, 4)
    assert rescale_messages(result) == [f"New size: 4; reason: {ABOVE}"]
    name = "the utilization rises above the target (190 % on one pod)"
    assert holds(name, get_hpa_row(result, 1)) and holds(name, get_hpa_row(result, 4))


@pytest.mark.parametrize("fraction", [i / 20 for i in range(1, 21)])
def test_a_window_straddling_the_load_start_takes_a_step_of_at_most_4(fraction: float) -> None:
    """The first sample after the load started covers part of it only."""
    idle, loaded = shares(LOAD_OFF, 1)[0], shares(LOAD_ON, 1)[0]
    result = sync([idle + fraction * (loaded - idle)], ["counted"], 1)
    assert result["desiredReplicas"] in (1, 2, 3, 4)


@pytest.mark.parametrize(("replicas", "counted"),
                         [(r, c) for r in range(1, 5) for c in range(1, r + 1)])
@pytest.mark.parametrize("others", ["fresh", "creating"])
def test_while_the_load_is_on_it_never_passes_4_nor_scales_down(
    replicas: int, counted: int, others: str
) -> None:
    """Any mix on the way: some pods counted, the newer ones Ready too recently (their share
    served, their sample not trusted) or still being created (no share). Whatever the mix,
    the next size is between the current one and 4, so every path ends at 4."""
    serving = replicas if others == "fresh" else counted
    cpu = shares(LOAD_ON, serving)
    states = ["counted"] * counted + [others] * (replicas - counted)
    metrics: list[float | None] = [*cpu[:counted], *([None] * (replicas - counted))]
    if others == "fresh":
        metrics = [*cpu[:counted], *cpu[counted:replicas]]
    result = sync(metrics, states, replicas)
    assert replicas <= result["desiredReplicas"] <= 4, result["trace"]


def test_four_pods_settle_at_48_percent() -> None:
    cpu = shares(LOAD_ON, 4)
    assert cpu == pytest.approx([0.096] * 4)  # 380m / 4 + 1m
    result = sync(cpu, ["counted"] * 4, 4)
    assert targets(result) == "cpu: 48%/50%"  # ratio 0.96: inside the tolerance
    assert result["scale"] is None
    assert holds("the Deployment grows to 4 replicas and the utilization settles at 48 %",
                 get_hpa_row(result, 4))
    assert result["status"]["currentMetrics"][0]["resource"]["current"]["averageValue"] in (
        "96m", "97m")  # the describe line's "48% (96m)"; 97m if the rates round up
    assert [(c["type"], c["status"], c["reason"]) for c in result["status"]["conditions"]] == [
        ("AbleToScale", "True", "ReadyForNewScale"),
        ("ScalingActive", "True", "ValidMetricFound"),
        ("ScalingLimited", "False", "DesiredWithinRange")]


def window_seconds() -> float:
    text = SETTINGS["horizontalPodAutoscalerDownscaleStabilizationWindow"]
    assert re.fullmatch(r"\d+s", text), text
    return float(text[:-1])


def test_load_off_waits_for_the_window_then_goes_to_1() -> None:
    idle = shares(LOAD_OFF, 4)
    window = window_seconds()
    recent = {"recommendations": [{"replicas": 4, "timestamp": ago(window - 5)}]}
    held = sync(idle, ["counted"] * 4, 4, recent)
    assert targets(held) == "cpu: 0%/50%"
    assert held["scale"] is None and held["desiredReplicas"] == 4
    able = held["status"]["conditions"][0]
    assert (able["reason"], able["message"]) == (
        "ScaleDownStabilized", "recent recommendations were higher than current one, "
        "applying the highest recent recommendation")
    old = {"recommendations": [{"replicas": 4, "timestamp": ago(window + 1)}]}
    done = sync(idle, ["counted"] * 4, 4, old)
    assert done["scale"] == {"from": 4, "to": 1}  # ceil(0 x 4) = 0, raised to minReplicas
    assert rescale_messages(done) == ["New size: 1; reason: All metrics below target"]
    after = sync(shares(LOAD_OFF, 1), ["counted"], 1, done["history"])
    assert targets(after) == "cpu: 0%/50%"
    assert holds("after 30 s of low recommendations the Deployment is back to 1 replica",
                 get_hpa_row(after, 1))
    assert not holds("after 30 s of low recommendations the Deployment is back to 1 replica",
                     get_hpa_row(held, 4))
    assert after["status"]["conditions"][2]["reason"] == "TooFewReplicas"
