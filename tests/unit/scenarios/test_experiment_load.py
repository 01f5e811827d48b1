"""The experiment's closed-loop load (scenarios.experiment.load): demand over time, and how
it is split among the Deployment's pods."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.experiment.load import build_load, load_problems
from scenarios.experiment.objects import Workload

WORKLOAD = Workload("web", "default", {"app": "web"}, 1, 0.2, 0.5)


@dataclass
class Stored:
    namespace: str
    name: str
    obj: dict[str, Any]


@dataclass
class FakeStore:
    pods: list[dict[str, Any]] = field(default_factory=list)

    def list_stored(self, kind: str, namespace: str) -> Any:
        items = [Stored(p["metadata"]["namespace"], p["metadata"]["name"], p)
                 for p in self.pods if p["metadata"]["namespace"] == namespace]
        return type("L", (), {"items": items})

    def subscribe(self, listener: Any, kinds: Any) -> Any:
        return lambda: None


@dataclass
class FakeFleet:
    pods: dict[str, Any] = field(default_factory=dict)
    driven: dict[str, float] = field(default_factory=dict)

    def drive(self, namespace: str, name: str, *, cpu: float) -> None:
        self.driven[f"{namespace}/{name}"] = cpu


@dataclass
class FakeCluster:
    store: FakeStore = field(default_factory=FakeStore)
    cluster: FakeFleet = field(default_factory=FakeFleet)
    elapsed: float = 0.0

    def every(self, period: float, cb: Any, start: float = 0) -> None:
        self.tick = cb

    def add(self, name: str, ready: bool, labels: dict[str, str] | None = None,
            deleting: bool = False, in_fleet: bool = True) -> None:
        meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "labels": labels if labels is not None else {"app": "web"}}
        if deleting:
            meta["deletionTimestamp"] = "2024-03-26T15:45:00Z"
        self.store.pods = [p for p in self.store.pods if p["metadata"]["name"] != name]
        self.store.pods.append({"metadata": meta, "status": {"conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}})
        if in_fleet:
            self.cluster.pods[f"default/{name}"] = object()


def model(spec: dict[str, Any], seed: int = 1, limit: float | None = 0.5) -> Any:
    return build_load(spec, seed=seed, workload=WORKLOAD, deployment={"spec": {"template": {
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": f"{limit}"}}
                                 if limit is not None else {}}]}}}})


@pytest.mark.parametrize(("spec", "at", "demand"), [
    ({"cores": "610m"}, 100, 0.61),
    ({"cores": 1}, 0, 1.0),
    ({"cores": {"type": "step", "initial": 0, "steps": [{"atSeconds": 60, "value": "610m"}]}},
     59.9, 0.0),
    ({"cores": {"type": "step", "initial": 0, "steps": [{"atSeconds": 60, "value": "610m"}]}},
     60, 0.61),
    ({"requestsPerSecond": 200, "cpuPerRequest": "2m"}, 10, 0.4),
    # a ramp is held per interval (everySeconds, default 5): the level at the interval's start
    ({"cores": {"type": "ramp", "from": 0, "to": 1, "durationSeconds": 100}}, 52, 0.5),
])
def test_demand(spec: dict[str, Any], at: float, demand: float) -> None:
    assert model(spec).demand(at) == pytest.approx(demand)


@pytest.mark.parametrize(("spec", "problem"), [
    ({}, ("", "give exactly one of cores, requestsPerSecond")),
    ({"cores": 1, "requestsPerSecond": 2}, ("", "give exactly one of cores, "
                                                "requestsPerSecond")),
    ({"requestsPerSecond": 2}, ("", "requestsPerSecond needs cpuPerRequest (CPU per request, "
                                    "e.g. 2m)")),
    ({"cores": 1, "cpuPerRequest": "2m"}, ("cpuPerRequest", "only with requestsPerSecond")),
    ({"cores": 1, "noise": 2}, ("noise", "expected a relative standard deviation between 0 "
                                         "and 1")),
    ({"cores": 1, "everySeconds": 0}, ("everySeconds", "expected seconds > 0")),
    ({"cores": 1, "rate": 2}, ("rate", "unknown key; expected one of cores, requestsPerSecond,"
                                       " cpuPerRequest, baseline, noise, everySeconds")),
    ({"cores": {"type": "sawtooth"}}, ("cores.type", "'sawtooth' is not allowed (expected one "
                                                     "of constant, ramp, step, sine, spike, "
                                                     "points)")),
    ({"cores": "-1"}, ("cores", "'-1' is not a cpu amount (expected cores as a number or a "
                                "quantity such as 250m)")),
])
def test_load_problems(spec: dict[str, Any], problem: tuple[str, str]) -> None:
    got = load_problems(spec)
    assert got and got[0][0] == problem[0] and got[0][1].startswith(problem[1]), got


def test_split_among_ready_pods_capped_by_the_limit() -> None:
    c = FakeCluster()
    load = model({"cores": "1200m", "baseline": "2m"})
    for name in ("a", "b"):
        c.add(name, ready=True)
    c.add("starting", ready=False)
    c.add("other", ready=True, labels={"app": "db"})
    c.add("unbound", ready=True, in_fleet=False)
    load.start(c)
    load.apply()
    # 1.2 cores over 2 ready pods: 0.6 + 2m each, capped at the 500m limit; the starting pod is
    # left to its own start-up usage, the other app's pod and a pod no kubelet runs untouched
    assert c.cluster.driven == {"default/a": 0.5, "default/b": 0.5}
    c.add("starting", ready=True)
    load.apply()
    assert c.cluster.driven == {"default/a": pytest.approx(0.402),
                                "default/b": pytest.approx(0.402),
                                "default/starting": pytest.approx(0.402)}
    # a pod that was Ready and is terminating gets the baseline
    c.add("a", ready=True, deleting=True)
    load.apply()
    assert c.cluster.driven["default/a"] == pytest.approx(0.002)
    assert c.cluster.driven["default/b"] == pytest.approx(0.5)


def test_without_a_limit_a_pod_takes_its_whole_share() -> None:
    c = FakeCluster()
    load = model({"cores": 3}, limit=None)
    c.add("a", ready=True)
    load.start(c)
    load.apply()
    assert c.cluster.driven == {"default/a": pytest.approx(3.001)}


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.floats(0, 3600), min_size=1, max_size=20))
def test_noise_is_a_function_of_seed_and_time(seed: int, times: list[float]) -> None:
    """The same seed gives the same demand at every instant, in whatever order it is asked
    (every variant sees the same load); the level is never negative."""
    spec = {"cores": 1, "noise": 0.2, "everySeconds": 15}
    a, b = model(spec, seed), model(spec, seed)
    forward = [a.demand(t) for t in times]
    backward = [b.demand(t) for t in reversed(times)][::-1]
    assert forward == backward
    assert all(d >= 0 for d in forward)
    for t, d in zip(times, forward, strict=True):  # one level per 15 s interval (instants
        # within a nanosecond-ish of a boundary belong to the next one: float sums of periods)
        assert a.demand(math.floor(t / 15 + 1e-9) * 15) == d


def test_noise_varies_and_differs_by_seed() -> None:
    spec = {"cores": 1, "noise": 0.1, "everySeconds": 15}
    one = [model(spec, 1).demand(15 * i) for i in range(200)]
    two = [model(spec, 2).demand(15 * i) for i in range(200)]
    assert one != two
    mean = sum(one) / len(one)
    sd = (sum((x - mean) ** 2 for x in one) / len(one)) ** 0.5
    assert 0.95 < mean < 1.05 and 0.07 < sd < 0.13
