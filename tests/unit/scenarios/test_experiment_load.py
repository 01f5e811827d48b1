"""The experiment's load adapter (scenarios.experiment.load): the project's load spec on the
experiment's Deployment, and pods never Ready left to their start-up usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from scenarios.experiment.load import EXPERIMENT_LOAD, StartedPods, load_spec_for
from scenarios.load.driver import PodView
from scenarios.yamlschema import SchemaError, load


def spec_value(text: str) -> dict[str, Any]:
    return load("load.yaml", EXPERIMENT_LOAD, text=text)


def test_deployment_namespace_and_seed_come_from_the_experiment() -> None:
    value = spec_value("cores: {type: steps, initial: 0, steps: [{atSeconds: 60, "
                       "value: 610m}]}\nnoise: 0.1\n")
    spec = load_spec_for(value, "php-apache", "shop", seed=7)
    assert (spec.deployment, spec.namespace, spec.demand.seed) == ("php-apache", "shop", 7)
    assert spec.demand_cores(59.9) == 0.0
    assert spec.demand_cores(60) == pytest.approx(0.61, rel=0.5)  # noisy around 0.61
    again = load_spec_for(value, "php-apache", "shop", seed=7)
    assert [again.demand_cores(t) for t in range(0, 600, 5)] == [
        spec.demand_cores(t) for t in range(0, 600, 5)]
    own = load_spec_for(spec_value("cores: 1\nnoise: 0.1\nseed: 3\n"), "a", "default", 7)
    assert own.demand.seed == 3  # a seed in the load wins


@pytest.mark.parametrize(("text", "error"), [
    ("cores: lots\n", "load.yaml:1: cores: expected CPU cores: a number or a quantity such as "
                      "250m, got 'lots'"),
    ("requestsPerSecond: 10\n", "load.yaml:1: load: requestsPerSecond needs cpuPerRequest"),
    ("cores: 1\nrate: 3\n", "load.yaml:2: rate: unknown key; expected one of"),
])
def test_the_load_specs_own_errors(text: str, error: str) -> None:
    with pytest.raises(SchemaError) as info:
        spec_value(text)
    assert str(info.value).startswith(error), str(info.value)


@dataclass
class Pods:
    views: list[PodView] = field(default_factory=list)
    subscribed: int = 0

    def pods(self) -> list[PodView]:
        return list(self.views)

    def subscribe(self, callback: Any) -> Any:
        self.subscribed += 1
        return lambda: None


def view(name: str, ready: bool) -> PodView:
    return PodView("default", name, f"uid-{name}", "app", ready, 0.5)


def test_pods_never_ready_are_not_driven() -> None:
    inner = Pods([view("a", True), view("starting", False)])
    pods = StartedPods(inner)  # type: ignore[arg-type]
    assert [v.name for v in pods.pods()] == ["a"]
    inner.views = [view("a", True), view("starting", True)]
    assert [v.name for v in pods.pods()] == ["a", "starting"]
    # once Ready, a pod stays the driver's: terminating, it gets the baseline from the split
    inner.views = [view("a", False), view("starting", True), view("new", False)]
    assert [(v.name, v.ready) for v in pods.pods()] == [("a", False), ("starting", True)]
    pods.subscribe(lambda: None)
    assert inner.subscribed == 1
