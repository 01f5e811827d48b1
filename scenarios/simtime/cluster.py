"""One process, one virtual clock: fleet, control plane, aggregation and metricsd together.

:class:`SimCluster` composes what the issue's experiments run on, each through its public
entry point: ``fakeapiserver.cli.ControlPlane`` (API server, authn/authz, controllers,
aggregation, the fakekubelet fleet registered as Nodes and Pods) and metricsd's real
``MetricsServer`` (informers, scraper, decoder, storage, API) started in-process with the
arguments its manifest uses, on its own loopback address, registered as the
``v1beta1.metrics.k8s.io`` backend and probed for readiness as the manifest's probe would.
Every part reads time from the loop's :class:`~scenarios.simtime.clock.SimClock` and every
random choice comes from ``seed``::

    async def main() -> None:
        async with SimCluster("fleet.yaml", seed=1, resolution=15) as c:
            c.every(15, lambda t: print(t, c.fleet.server.requests_served))
            await c.run_until(600)          # ten simulated minutes, a second or so of wall time

    scenarios.simtime.run(main())

Everything talks real HTTPS over loopback, so what metricsd sees is exactly what it sees in
a cluster; only time is virtual.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from scenarios.simtime.clock import SimClock
from scenarios.simtime.loop import SimEventLoop

__all__ = ["MANIFEST_ARGS", "APIError", "AdminClient", "Periodic", "SimCluster"]

#: metricsd's arguments in kind/manifests/base (a test keeps them in step with the manifest).
MANIFEST_ARGS = (
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
)
METRICSD_PORT = 10250
#: ``order`` of run_until's settle: after every ``every``/``at`` callback due at that instant.
_LAST = float("inf")

Callback = Callable[[float], Any]


class APIError(Exception):
    """A non-2xx answer from the control plane (``status`` and the Status ``message``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class AdminClient:
    """Requests to the control plane as the cluster admin (``system:masters``)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    async def request(
        self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, decoded JSON — or text when the answer is not JSON)."""
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        async with self.session.request(
            method, self.base_url + path, data=data, params=params, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def get(self, path: str, **params: str) -> Any:
        """GET ``path``; raises :class:`APIError` unless 2xx."""
        status, body = await self.request("GET", path, params=params or None)
        if not 200 <= status < 300:
            message = body.get("message", "") if isinstance(body, dict) else str(body).strip()
            raise APIError(status, message)
        return body


class Periodic:
    """A callback run at quiescence every ``period`` virtual s (:meth:`SimCluster.every`)."""

    def __init__(self, task: asyncio.Task[None]) -> None:
        self.task = task

    def cancel(self) -> None:
        self.task.cancel()


class SimCluster:
    """A simulated cluster with metricsd, all on the running :class:`SimEventLoop`'s clock.

    ``fleet``: a fleet spec file, its YAML text, or a ``fakekubelet.spec.FleetSpec``; its node
    addresses are moved to a free loopback block (names, pods and figures stay as the spec
    and ``seed`` make them). ``seed`` (default: the spec's) drives the fleet, the controllers
    and metricsd's RNG. ``resolution``: metricsd's ``--metric-resolution`` in seconds.
    ``nodes``/``pods_per_node`` override the spec's counts (as fakekubelet's flags do).
    ``metricsd_args``: more metricsd flags (``--kubelet-insecure-tls`` for fleets whose
    certificates the cluster CA did not sign, ``-v=2``, …). ``state_dir``: where the control
    plane writes its files (default: a temporary directory, removed on exit); metricsd's log
    goes to ``state_dir/metricsd.log``, with virtual timestamps. ``probe_period``: the
    readiness probe's period (the manifest's 10 s). The spec's ``startTime`` is not used:
    virtual time starts where the loop's clock starts (``scenarios.simtime.run(start=…)``).
    ``hpa``: the HPA controller's settings (``fakeapiserver.controllers.HPAControllerConfig``;
    default: kube-controller-manager's defaults).
    """

    def __init__(
        self,
        fleet: Any,
        *,
        seed: int | None = None,
        resolution: float = 15.0,
        metricsd_args: Sequence[str] = (),
        kube_version: str = "1.30",
        state_dir: str | os.PathLike[str] | None = None,
        probe_period: float = 10.0,
        nodes: int | None = None,
        pods_per_node: int | None = None,
        hpa: Any = None,
    ) -> None:
        self._fleet_source = fleet
        self.hpa = hpa
        self._nodes = nodes
        self._pods_per_node = pods_per_node
        self._seed = seed
        self.resolution = float(resolution)
        self.metricsd_args = tuple(metricsd_args)
        self.kube_version = kube_version
        self._state_dir_arg = state_dir
        self.probe_period = probe_period
        self.clock: SimClock
        self.loop: SimEventLoop
        self.seed = 0
        self.state_dir = Path()
        self.cluster: Any = None  # fakekubelet.cluster.Cluster
        self.plane: Any = None  # fakeapiserver.cli.ControlPlane
        self.metrics_server: Any = None  # metricsd.server.MetricsServer
        self.metricsd_address = ""
        self.api: AdminClient
        self._session: aiohttp.ClientSession | None = None
        self._log_file: Any = None
        self._own_state_dir = False
        self._periodic: list[Periodic] = []
        self._order = 0
        self._failure: BaseException | None = None

    # ------------------------------------------------------------------ views
    @property
    def store(self) -> Any:
        """The control plane's object store (``fakeapiserver.store.Store``)."""
        return self.plane.store

    @property
    def fleet(self) -> Any:
        """The fakekubelet ``Fleet`` serving the nodes."""
        return self.plane.fleet

    @property
    def truth(self) -> Any:
        """Ground truth of the fleet (``fakekubelet.truth.Truth``)."""
        return self.cluster.truth

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the loop started."""
        return self.clock.elapsed

    @property
    def scrapes(self) -> int:
        """Scrape cycles metricsd has completed."""
        loop = self.metrics_server.loop if self.metrics_server is not None else None
        return int(loop.ticks) if loop is not None else 0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> SimCluster:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if not isinstance(loop, SimEventLoop):
            raise RuntimeError(
                "SimCluster runs on virtual time: start it under scenarios.simtime.run(...)"
            )
        self.loop = loop
        self.clock = loop.clock
        spec = self._load_spec()
        self.seed = spec.seed if self._seed is None else int(self._seed)
        self._make_state_dir()
        self.cluster = self._build_cluster(spec)
        await self._start_control_plane()
        await self._start_metricsd()

    def _load_spec(self) -> Any:
        from fakekubelet.spec import FleetSpec, load_spec, load_spec_text

        source = self._fleet_source
        if isinstance(source, FleetSpec):
            return source
        if isinstance(source, str) and "\n" in source:
            return load_spec_text(source, "<fleet>")
        return load_spec(source)

    def _make_state_dir(self) -> None:
        if self._state_dir_arg is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="simtime-"))
            self._own_state_dir = True
        else:
            self.state_dir = Path(self._state_dir_arg).resolve()
            self.state_dir.mkdir(parents=True, exist_ok=True)

    def _build_cluster(self, spec: Any) -> Any:
        from fakekubelet.addresses import free_loopback_base
        from fakekubelet.cluster import Cluster
        from fakekubelet.spec import with_overrides

        spec = with_overrides(spec, nodes=self._nodes, pods_per_node=self._pods_per_node)
        ports = {g.port for g in spec.groups} or {10250}
        port = next(iter(ports)) if len(ports) == 1 else 10250
        base = free_loopback_base(max(1, spec.node_count), port=port or 10250)
        return Cluster.from_spec(spec, self.clock, address_base=base, seed=self.seed)

    async def _start_control_plane(self) -> None:
        from fakeapiserver.cli import ControlPlane

        self.plane = ControlPlane(
            self.state_dir,
            kube_version=self.kube_version,
            cluster=self.cluster,
            local_clock=self.clock,  # the whole control plane's clock
            hpa=self.hpa,
        )
        await self.plane.start()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                ssl=self.plane.server.pki.client_context(self.plane.server.pki.admin)
            )
        )
        self.api = AdminClient(self.plane.server.url, self._session)

    def metricsd_argv(self, host: str, port: int) -> list[str]:
        """metricsd's command line: the manifest's, with this run's addresses and files."""
        from fakeapiserver.controllers.localimages import remove_flag

        argv = list(MANIFEST_ARGS)
        for flag in ("--cert-dir", "--secure-port", "--metric-resolution",
                     "--kubelet-preferred-address-types"):
            argv = remove_flag(argv, flag)
        kubeconfig = self.state_dir / "metrics-server.kubeconfig"
        return [
            *argv,
            f"--cert-dir={self.state_dir / 'metricsd-certs'}",
            f"--secure-port={port}",
            f"--bind-address={host}",
            f"--kubeconfig={kubeconfig}",
            f"--metric-resolution={_go_seconds(self.resolution)}",
            # the simulated nodes have no resolvable hostnames (docs/scenarios.md)
            "--kubelet-preferred-address-types=InternalIP",
            *self.metricsd_args,
        ]

    async def _start_metricsd(self) -> None:
        from fakekubelet.addresses import free_loopback_base
        from metricsd import klog
        from metricsd.options import parse_args, validate
        from metricsd.server import MetricsServer

        host = free_loopback_base(1, port=METRICSD_PORT)
        self.metricsd_address = f"{host}:{METRICSD_PORT}"
        self.plane.register_metrics_server(host, METRICSD_PORT)
        options, _ = parse_args(self.metricsd_argv(host, METRICSD_PORT))
        problem = validate(options)
        if problem is not None:
            raise ValueError(f"metricsd: {problem}")
        self._log_file = (self.state_dir / "metricsd.log").open("a", encoding="utf-8")
        logger = klog.Logger(verbosity=options.v, vmodule=options.vmodule,
                             stream=self._log_file, now=self.clock.now)
        self.metrics_server = MetricsServer(
            options,
            clock=self.clock,
            rng=random.Random(self.seed * 7919 + 1),
            log=logger,
            process_metrics=False,
        )
        await self.metrics_server.start()
        self.plane.probe_metrics_server(host, METRICSD_PORT, period=self.probe_period)

    async def stop(self) -> None:
        for periodic in self._periodic:
            periodic.cancel()
        for periodic in self._periodic:
            with contextlib.suppress(asyncio.CancelledError):
                await periodic.task
        self._periodic.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        if self.plane is not None:
            await self.plane.stop()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # ------------------------------------------------------------------ driving time
    async def run_until(self, elapsed: float) -> None:
        """Let the simulation run until ``elapsed`` virtual seconds and settle there (every
        callback due at that instant has run). Raises what a callback raised."""
        await self.clock.sleep_until_elapsed(elapsed)
        await self.clock.settled(_LAST)
        self._raise_failure()

    async def run_for(self, seconds: float) -> None:
        await self.run_until(self.elapsed + seconds)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def every(
        self, period: float, callback: Callback, *, start: float | None = None
    ) -> Periodic:
        """Run ``callback(elapsed)`` (sync or async) at ``start`` (default: now) and every
        ``period`` virtual seconds after, each time at quiescence: after everything else due at
        that instant, before time moves on. Callbacks due at the same instant run one at a
        time in the order they were registered. An exception stops the callback and is raised
        by the next :meth:`run_until`."""
        if period <= 0:
            raise ValueError(f"every: period must be > 0, got {period}")
        first = self.elapsed if start is None else float(start)
        return self._schedule(callback, first, period)

    def at(self, elapsed: float, callback: Callback) -> Periodic:
        """Run ``callback(elapsed)`` once at ``elapsed`` virtual seconds (at quiescence)."""
        return self._schedule(callback, float(elapsed), None)

    def _schedule(self, callback: Callback, first: float, period: float | None) -> Periodic:
        self._order += 1
        order = float(self._order)

        async def runner() -> None:
            index = 0
            while True:
                due = first + index * period if period is not None else first
                await self.clock.sleep_until_elapsed(due)
                await self.clock.settled(order)
                try:
                    result = callback(due)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except BaseException as exc:
                    if self._failure is None:
                        self._failure = exc
                    return
                if period is None:
                    return
                index += 1

        periodic = Periodic(asyncio.create_task(runner(), name=f"simtime-callback-{order:g}"))
        self._periodic.append(periodic)
        return periodic


def _go_seconds(seconds: float) -> str:
    """A duration flag value (``15s``, ``1.5s``)."""
    return f"{seconds:g}s"
