"""The closed loop in one process: the driver splits the demand among the Ready pods of a
Deployment the fleet runs, at the instants pods turn Ready and the demand changes; the
fleet's ground truth shows each pod's share."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.load.driver import ClusterSink, LoadDriver, LoadState, StorePods
from scenarios.load.spec import load_spec_text
from tests.unit.fakeapiserver.fleet_support import NS, Sim, deployment, make_sim


def true_cpu(sim: Sim) -> dict[str, float | None]:
    """Each fleet pod's true CPU now (None: its container has not started yet)."""
    t = sim.cluster.clock.now()
    out: dict[str, float | None] = {}
    for p in sim.cluster.pods.values():
        try:
            out[p.name] = round(sim.cluster.truth.cpu_cores(f"{p.key}/php-apache", t), 6)
        except KeyError:
            out[p.name] = None
    return out


async def start(sim: Sim, text: str, states: list[LoadState] | None = None) -> LoadDriver:
    spec = load_spec_text(text)
    source = StorePods(sim.store, NS, spec.deployment, spec.container)
    driver = LoadDriver(spec, sim.cluster.clock, source, ClusterSink(sim.cluster),
                        on_update=states.append if states is not None else None)
    driver.start()
    await sim.settle()
    return driver


async def test_two_pods_then_four_share_one_core() -> None:
    sim = await make_sim(nodes=2, cpu_millicores=2000)
    try:
        sim.store.create("deployments.apps", deployment(replicas=2, limit=None))
        await sim.settle()
        driver = await start(sim, "deployment: web\ncores: 1\nbaseline: {cpu: 1m}\n")
        assert set(true_cpu(sim).values()) == {None}      # ContainerCreating
        await sim.advance(2)
        assert set(true_cpu(sim).values()) == {0.001}     # not Ready: the baseline only
        await sim.advance(7.999)
        assert set(true_cpu(sim).values()) == {0.001}
        await sim.advance(0.001)                           # Ready at startTime + 10 s
        assert set(true_cpu(sim).values()) == {0.501}
        assert (driver.state.ready, driver.state.total) == (2, 2)
        sim.store.mutate("deployments.apps", "web", NS, lambda d: d["spec"].update(replicas=4))
        await sim.settle()
        assert sorted(true_cpu(sim).values(), key=str) == [0.501, 0.501, None, None]
        await sim.advance(9.999)                            # the new pods are not Ready yet
        assert sorted(true_cpu(sim).values()) == [0.001, 0.001, 0.501, 0.501]
        await sim.advance(0.001)
        assert set(true_cpu(sim).values()) == {0.251}
        sim.store.mutate("deployments.apps", "web", NS, lambda d: d["spec"].update(replicas=1))
        await sim.settle()                                  # terminating pods take no load
        cpu = true_cpu(sim)
        assert sorted(cpu.values()) == [0.001, 0.001, 0.001, 1.001]
        await driver.stop()
    finally:
        await sim.stop()


async def test_limits_cap_the_share_and_demand_steps_are_exact() -> None:
    sim = await make_sim(nodes=2, cpu_millicores=2000)
    try:
        sim.store.create("deployments.apps", deployment(replicas=2, limit="300m"))
        await sim.settle()
        await sim.advance(10)
        driver = await start(sim, "deployment: web\nrequestsPerSecond:\n  type: steps\n"
                                  "  initial: 10\n  steps: [{atSeconds: 30, value: 100}]\n"
                                  "cpuPerRequest: 10m\nbaseline: {cpu: 0, memory: 16Mi}\n"
                                  "memory: {perRequest: 1Mi}\n")
        assert set(true_cpu(sim).values()) == {0.05}        # 10 req/s × 10m over two pods
        key = next(iter(sim.cluster.pods.values())).key
        t = sim.cluster.clock.now()
        assert sim.cluster.truth.memory_bytes(f"{key}/php-apache", t) == (16 + 5) << 20
        await sim.advance(29.999)
        assert set(true_cpu(sim).values()) == {0.05}
        await sim.advance(0.001)                             # 1 core of demand, 2 × 300m
        assert set(true_cpu(sim).values()) == {0.3}
        assert driver.state.served_cores == pytest.approx(0.6)
        assert driver.state.demand == 100 and driver.state.demand_cores == pytest.approx(1.0)
        await driver.stop()
    finally:
        await sim.stop()


async def run_series(seed: int) -> list[tuple[Any, ...]]:
    sim = await make_sim(nodes=2, cpu_millicores=2000, seed=seed)
    states: list[LoadState] = []
    try:
        sim.store.create("deployments.apps", deployment(replicas=3, limit="1"))
        await sim.settle()
        driver = await start(sim, "deployment: web\ncores: {type: sine, base: 1, amplitude: "
                                  "500m, periodSeconds: 120}\nnoise: 0.1\nseed: 4\n"
                                  "stepSeconds: 5\n", states)
        for _ in range(24):
            await sim.advance(5)
        await driver.stop()
        return [(round(s.elapsed, 6), round(s.demand_cores, 9), s.ready,
                 tuple(sorted(s.pods.items()))) for s in states]
    finally:
        await sim.stop()


async def test_same_seed_same_series() -> None:
    first = await run_series(1)
    again = await run_series(1)
    assert first == again and len(first) > 20
    levels = {d for _, d, _, _ in first}
    assert len(levels) > 10  # the sine and the noise: a new level every step


async def test_a_missing_deployment_is_a_clear_error() -> None:
    sim = await make_sim()
    try:
        with pytest.raises(LookupError, match='deployment "default/nope" not found'):
            StorePods(sim.store, NS, "nope")
    finally:
        await sim.stop()
