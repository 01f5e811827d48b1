"""The whole pipeline on accelerated time: fleet → metricsd (in-process) → aggregation → API.

Real HTTPS on loopback everywhere, one process, one virtual clock. Covers the invariants the
experiments rely on: no virtual time passes inside a scrape request (also with a kubelet that
answers after real work, and with many deadlines pending), a simulated latency takes exactly
its virtual seconds, a chain of reactions across components settles before time moves, the
Metrics API lags the truth by one resolution as upstream, readiness is probed on the clock,
and two runs with the same seed give byte-identical CSV.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fakekubelet.kubelet import KubeletServer
from metricsd.scraper.client import KubeletClient
from scenarios import simtime
from scenarios.simtime.driver import HEADER, _go_duration_seconds, run_metrics_probe

REPO = Path(__file__).resolve().parents[2]
R = 15.0

FLEET = """
seed: 5
nodeGroups:
  - name: node
    count: 3
    pods:
      - name: web
        count: 2
        labels: {app: web}
        containers:
          - name: app
            requests: {cpu: 200m}
            cpu: {type: step, initial: 100m, steps: [{atSeconds: 60, value: 400m}]}
            memory: 64Mi
"""

pytestmark = pytest.mark.slow


class Requests:
    """Virtual times of every kubelet request: sent and answered (metricsd), rendered (fleet)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, float, float]] = []  # (host, start, end)
        self.rendered: list[tuple[str, float]] = []
        real_get = KubeletClient.get
        real_handle = KubeletServer._handle
        me = self

        async def get(self: KubeletClient, url: str, host: str, port: int,
                      timeout_s: float | None = None) -> Any:
            clock = asyncio.get_running_loop().clock  # type: ignore[attr-defined]
            began = clock.elapsed
            try:
                return await real_get(self, url, host, port, timeout_s)
            finally:
                me.sent.append((host, began, clock.elapsed))

        async def handle(self: KubeletServer, request: Any) -> Any:
            delay = me.real_delay.get(self._node_for(request) or "", 0.0)
            if delay:  # real work outside the loop before answering
                await asyncio.get_running_loop().run_in_executor(None, time.sleep, delay)
            return await real_handle(self, request)

        monkeypatch.setattr(KubeletClient, "get", get)
        monkeypatch.setattr(KubeletServer, "_handle", handle)
        self.real_delay: dict[str, float] = {}


def test_no_virtual_time_passes_inside_a_scrape_even_with_real_delays_and_deadlines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests = Requests(monkeypatch)

    async def main() -> dict[str, Any]:
        async with simtime.SimCluster(FLEET, resolution=R) as c:
            node = sorted(c.cluster.nodes)[0]
            requests.real_delay[node] = 0.05
            ticks: list[float] = []
            c.every(0.25, lambda t: ticks.append(c.elapsed))  # deadlines all the time
            await c.run_until(95)
            addresses = {n.name: n.internal_ip for n in c.cluster.nodes.values()}
            return {"ticks": ticks, "slow": addresses[node], "scrapes": c.scrapes}

    out = simtime.run(main())
    assert out["scrapes"] >= 6
    assert len(requests.sent) >= 6 * 3
    for host, began, ended in requests.sent:
        assert began == ended, f"virtual time moved during a request to {host}"
    assert any(host == out["slow"] for host, _, _ in requests.sent)
    # the sampler ran on its own grid, untouched by the slow kubelet
    assert out["ticks"] == [i * 0.25 for i in range(len(out["ticks"]))]


def test_simulated_latency_and_hang_take_exactly_their_virtual_seconds() -> None:
    async def main() -> tuple[dict[str, list[float]], str, int]:
        async with simtime.SimCluster(FLEET, resolution=R) as c:
            slow, stuck, _ = sorted(c.cluster.nodes)
            await c.run_until(20)
            c.cluster.set_faults(slow, latency_seconds=2.5)
            c.cluster.set_faults(stuck, hang=True)
            durations: dict[str, list[float]] = {slow: [], stuck: []}
            hosts = {c.cluster.nodes[n].internal_ip: n for n in durations}
            real_get = c.metrics_server.loop.scraper.client.get

            async def timed(url: str, host: str, port: int, timeout_s: float | None = None
                            ) -> Any:
                began = c.elapsed
                try:
                    return await real_get(url, host, port, timeout_s)
                finally:
                    if host in hosts:
                        durations[hosts[host]].append(c.elapsed - began)

            c.metrics_server.loop.scraper.client.get = timed
            await c.run_until(80)
            body = await c.api.get("/apis/metrics.k8s.io/v1beta1/nodes/" + slow)
            status, _ = await c.api.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/" + stuck)
            # copies: the request still hanging is cancelled on the way out
            return ({"slow": list(durations[slow]), "stuck": list(durations[stuck])},
                    body["window"], status)

    durations, window, stuck_status = simtime.run(main())
    assert len(durations["slow"]) >= 3
    assert all(abs(d - 2.5) < 1e-6 for d in durations["slow"])
    assert abs(_go_duration_seconds(window) - R) < 0.1  # the slow node is still served
    # a hanging kubelet: metricsd gives up after exactly --kubelet-request-timeout (10 s)
    assert len(durations["stuck"]) >= 3
    assert all(abs(d - 10.0) < 1e-6 for d in durations["stuck"]), durations["stuck"]
    assert stuck_status == 404  # dropped from the API after a failed scrape, as upstream


def test_a_chain_of_reactions_settles_before_time_moves() -> None:
    """Two chains started at one instant, both finished before time moves: a fleet pod added →
    registration → store → watch over HTTPS → metricsd's pod informer; a Deployment POSTed →
    deployment, replicaset and scheduler controllers → bound pods."""

    async def main() -> dict[str, Any]:
        async with simtime.SimCluster(FLEET, resolution=R) as c:
            node = sorted(c.cluster.nodes)[0]
            seen: dict[str, Any] = {}

            async def start(t: float) -> None:
                seen["pod"] = c.cluster.add_pod(node, name="late-1").key
                status, _ = await c.api.request("POST", "/apis/apps/v1/namespaces/default/"
                                                "deployments", DEPLOYMENT)
                seen["created"] = status

            def check(t: float) -> None:
                ns, name = seen["pod"].split("/")
                seen["elapsed"] = c.elapsed
                seen["store"] = c.store.try_get("pods", name, ns) is not None
                seen["informer"] = c.metrics_server.pods.get_pod(ns, name) is not None
                pods = [p for p in c.store.list("pods", "default")
                        if p["metadata"].get("labels", {}).get("app") == "chain"]
                seen["bound"] = sorted(bool(p["spec"].get("nodeName")) for p in pods)

            c.at(42.5, start)
            c.at(42.5, check)  # registered later: runs after start's consequences settled
            await c.run_until(43)
            return seen

    seen = simtime.run(main())
    assert seen["created"] == 201
    assert seen["elapsed"] == 42.5
    assert seen["store"] is True
    assert seen["informer"] is True
    assert seen["bound"] == [True, True]


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "chain"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "chain"}},
        "template": {
            "metadata": {"labels": {"app": "chain"}},
            "spec": {"containers": [{"name": "app", "image": "registry.example/chain:1"}]},
        },
    },
}


def test_the_api_lags_the_truth_by_the_resolution_and_matches_the_window_mean() -> None:
    async def main() -> list[dict[str, Any]]:
        from metricsd.quantity import parse_cpu_nanocores

        async with simtime.SimCluster(FLEET, resolution=R) as c:
            samples: list[dict[str, Any]] = []

            async def sample(t: float) -> None:
                try:
                    body = await c.api.get(
                        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                        labelSelector="app=web")
                except simtime.APIError as err:
                    samples.append({"t": t, "error": err.status})
                    return
                for item in body["items"]:
                    key = f"default/{item['metadata']['name']}"
                    node = c.cluster.pods[key].node_name
                    stamps = [ms / 1000 for ms in c.fleet.served_sample_times(node)
                              if ms / 1000 <= c.clock.now()]
                    t1, t0 = stamps[-1], stamps[-2]
                    samples.append({
                        "t": t, "pod": key,
                        "api": parse_cpu_nanocores(item["containers"][0]["usage"]["cpu"]),
                        "mean": c.truth.mean_cpu_cores(key, t0, t1) * 1e9,
                        "age": c.clock.now() - t1, "window": t1 - t0,
                    })

            c.every(5, sample, start=5)
            await c.run_until(150)
            return samples

    samples = simtime.run(main())
    errors = [s for s in samples if "error" in s]
    assert errors and all(s["error"] == 503 and s["t"] < R + 10 for s in errors)
    served = [s for s in samples if "api" in s]
    assert served and min(s["t"] for s in served) <= 2 * R  # after two scrapes, as upstream
    for s in served:
        # the window's mean: counters are evaluated at Unix-second floats (steps of 0.24 µs),
        # so a 15 s rate carries ~10 nanocores of float noise; a window misplaced by 1 ms
        # around the step would be off by ~20,000
        assert abs(s["api"] - s["mean"]) <= 20, s
        assert 0 <= s["age"] < R + 0.1  # the newest scrape, never older than a resolution
        assert abs(s["window"] - R) < 0.1
    # the step at 60 s: old value before the first scrape after it, full value one window later
    for s in served:
        if s["t"] < 60:
            assert abs(s["api"] - 100e6) <= 20
        elif s["t"] >= 60 + 2 * R:
            assert abs(s["api"] - 400e6) <= 20
    full = min(s["t"] for s in served if abs(s["api"] - 400e6) <= 20)
    assert 60 + R <= full <= 60 + 2 * R + 5


def test_the_backend_is_probed_on_the_virtual_clock() -> None:
    async def main() -> tuple[str, float]:
        async with simtime.SimCluster(FLEET, resolution=R) as c:
            await c.run_until(60)
            obj = c.store.get("apiservices.apiregistration.k8s.io", "v1beta1.metrics.k8s.io")
            cond = next(x for x in obj["status"]["conditions"] if x["type"] == "Available")
            return cond["lastTransitionTime"], c.clock.start

    transition, start = simtime.run(main())
    from datetime import UTC, datetime

    at = datetime.strptime(transition, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    # storage is ready after the second scrape (t ≈ 15 s); the probe every 10 s sees it at 20 s
    assert at - start == 20


def test_two_runs_with_the_same_seed_write_byte_identical_csv() -> None:
    kw: dict[str, Any] = {"duration": 120, "every": 7.5, "selector": "app=web"}
    first = run_metrics_probe(FLEET, seed=3, **kw)
    second = run_metrics_probe(FLEET, seed=3, **kw)
    other = run_metrics_probe(FLEET, seed=4, **kw)
    assert first.splitlines()[0] == HEADER
    assert len(first.splitlines()) == 1 + 16 * 6
    assert first == second
    assert other != first  # the seed matters (pod names, stagger)


def test_the_cli_writes_the_same_file_in_two_processes(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    outs = []
    for hashseed in ("1", "2"):
        out = tmp_path / f"run-{hashseed}.csv"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run(
            [sys.executable, "-m", "scenarios.simtime", str(fleet), "--seed", "9",
             "--duration", "90", "--every", "10", "--out", str(out)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "simtime: 90/90 s simulated" in proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].count(b"\n") == 1 + 9 * 6
