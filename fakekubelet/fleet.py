"""The fleet: every node of a ``Cluster`` served as a kubelet, kept in step with the cluster.

``Fleet(cluster, state_dir)`` is the one object a caller starts::

    async with Fleet(cluster, state_dir) as fleet:       # state dir written, nodes listening
        print(fleet.control_url, fleet.nodes_json())

On start it issues a serving certificate per node (by the node's cert mode, from ONE cluster
CA: made here when standalone, given by a control plane otherwise), opens one listener per
node, writes the state dir, starts the control endpoint and the clock driver. Then it follows
the cluster: any cluster event (node join/leave, address or cert-mode change, faults) triggers a
reconcile that starts, stops or rebinds listeners so that the network matches the model —
``refuse_connections`` closes a node's listener, clearing it opens it again. The reconcile
compares desired and actual state instead of interpreting each event, so bursts of events
collapse into one pass.

State dir (written before readiness is announced, rewritten atomically on changes):
``ca.crt`` (cluster CA), ``client.crt`` + ``client.key`` (CN ``metricsd-client``, accepted for
``nodes/metrics``), ``token`` (a bearer token the kubelets accept), ``nodes.json`` (``name``,
``address``, ``port``, ``certMode`` per node) and ``control.json`` (``{"url": ...}``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from fakekubelet.auth import KubeletAuth, Reviewer, StaticReviewer, User
from fakekubelet.certs import ClusterCA, KeyPair, ServingCertIssuer
from fakekubelet.kubelet import KubeletServer
from fakekubelet.passes import PassRunner

__all__ = ["CLIENT_COMMON_NAME", "CLIENT_GROUPS", "Fleet"]

log = logging.getLogger(__name__)

CLIENT_COMMON_NAME = "metricsd-client"
CLIENT_GROUPS = ("system:monitoring",)
TOKEN_USER = "metricsd-token"


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


class Fleet:
    """Serves a cluster's nodes as kubelets and keeps listeners in step with the cluster.

    ``ca``: the cluster CA (serving certificates); ``client_ca``: the CA the kubelets trust for
    client certificates (default: the cluster CA, as kubeadm's kubelets); ``reviewer``: who
    answers TokenReview/SubjectAccessReview (default: a static token table and allow-list).
    ``auth=False`` serves anyone. ``clock_interval`` is how often (real seconds) the fleet
    lets a real-clock cluster advance (churn, restarts); ``None`` leaves time to the caller.
    ``auth_clock`` times the auth caches' TTLs (default ``time.monotonic``; a virtual clock
    for accelerated experiments, so a cached review expires in simulated time).
    """

    def __init__(
        self,
        cluster: Any,
        state_dir: str | os.PathLike[str],
        ca: ClusterCA | None = None,
        reviewer: Reviewer | None = None,
        *,
        client_ca: ClusterCA | None = None,
        auth: bool = True,
        control: bool = True,
        clock_interval: float | None = 1.0,
        auth_ttls: tuple[float, float, float] = (120.0, 300.0, 30.0),
        auth_clock: Callable[[], float] | None = None,
    ) -> None:
        self.cluster = cluster
        self.served: dict[str, collections.deque[int]] = {}
        self.state_dir = Path(state_dir)
        self.ca = ca or ClusterCA()
        self.client_ca = client_ca or self.ca
        self.issuer = ServingCertIssuer(self.ca)
        self.client: KeyPair = self.client_ca.issue_client_cert(CLIENT_COMMON_NAME, CLIENT_GROUPS)
        self.token = secrets.token_urlsafe(24)
        if reviewer is None:
            reviewer = StaticReviewer(
                {self.token: User(TOKEN_USER, ("system:authenticated",))},
                allowed_users={CLIENT_COMMON_NAME, TOKEN_USER},
            )
        self.reviewer = reviewer
        authn_ttl, allowed_ttl, denied_ttl = auth_ttls
        self.auth: KubeletAuth | None = (
            KubeletAuth(
                reviewer,
                authn_ttl=authn_ttl,
                authz_allowed_ttl=allowed_ttl,
                authz_denied_ttl=denied_ttl,
                clock=auth_clock or time.monotonic,
            )
            if auth
            else None
        )
        self.server = KubeletServer(
            self._render, self._faults, self.auth, metrics_path=self._metrics_path
        )
        self._want_control = control
        self.control: Any = None
        self.control_url = ""
        self._clock_interval = clock_interval
        self._tasks: list[asyncio.Task[None]] = []
        self._passes = PassRunner(self._reconcile_pass, name="fleet reconcile", log=log)
        self._lock = asyncio.Lock()
        self._modes: dict[str, str] = {}
        self._last_nodes_json = ""
        self._identity_written = False
        self._unsubscribe: Any = None
        self.started = False
        self.startup_seconds = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on every node, write the state dir, start control and clock; then return."""
        began = time.perf_counter()
        await self.server.start()
        await self.reconcile()
        if self._want_control:
            from fakekubelet.control import ControlServer

            self.control = ControlServer(self)
            self.control_url = await self.control.start()
        self.write_state()
        subscribe = getattr(self.cluster, "subscribe", None)
        if subscribe is not None:
            self._unsubscribe = subscribe(self._on_event)
        self._passes.start()
        if self._clock_interval:
            self._tasks.append(asyncio.create_task(self._drive_clock(), name="fleet-clock"))
        self.started = True
        self.startup_seconds = time.perf_counter() - began

    async def stop(self) -> None:
        await self._passes.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if callable(self._unsubscribe):
            with contextlib.suppress(Exception):
                self._unsubscribe()
        if self.control is not None:
            await self.control.stop()
            self.control = None
        await self.server.close()
        self.started = False

    # -------------------------------------------------------------- cluster views

    def _node(self, name: str) -> Any:
        return self.cluster.nodes[name]

    def _render(self, name: str) -> bytes:
        body = bytes(self.cluster.render_metrics(name))
        stamp = _node_sample_ms(body)
        if stamp is not None:
            served = self.served.get(name)
            if served is None:
                served = self.served[name] = collections.deque(maxlen=SERVED_SAMPLES_KEPT)
            served.append(stamp)
        return body

    def served_sample_times(self, name: str) -> list[int]:
        """Millisecond sample timestamps of the node's recently served payloads, oldest first.

        A metrics server reports rates over the window between two of these; checks that
        compare its figures with the ground truth use them to find that exact window.
        """
        return list(self.served.get(name, ()))

    def _faults(self, name: str) -> Any:
        node = self.cluster.nodes.get(name)
        return None if node is None else getattr(node, "faults", None)

    def _metrics_path(self, name: str) -> str:
        node = self.cluster.nodes.get(name)
        path = _attr(node, "resource_metrics_path", "metrics_path", default="")
        return str(path) if path else "/metrics/resource"

    def node_address(self, name: str) -> str:
        return str(_attr(self._node(name), "internal_ip", "address"))

    def node_port(self, name: str) -> int:
        entry = self.server.listener(name)
        if entry is not None:
            return entry.port
        return int(_attr(self._node(name), "port", default=10250))

    def node_cert_mode(self, name: str) -> str:
        return str(_attr(self._node(name), "cert_mode", default="ca-signed"))

    def url(self, name: str, path: str | None = None) -> str:
        """The URL a metrics server would scrape for node ``name``."""
        entry = self.server.listener(name)
        scheme = "http" if self.node_cert_mode(name) == "plain-http" else "https"
        if entry is not None:
            scheme = entry.scheme
        return (
            f"{scheme}://{self.node_address(name)}:{self.node_port(name)}"
            f"{path or self._metrics_path(name)}"
        )

    def nodes_json(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "address": self.node_address(name),
                "port": self.node_port(name),
                "certMode": self.node_cert_mode(name),
            }
            for name in sorted(self.cluster.nodes)
        ]

    # ---------------------------------------------------------------- reconcile

    def _on_event(self, *args: Any, **_kwargs: Any) -> None:
        if args and type(args[0]).__name__.startswith("Pod"):
            return  # pod events never change listeners
        self._passes.poke()

    def changed(self) -> None:
        """Tell the fleet the cluster changed (for callers that mutate nodes directly)."""
        self._on_event()

    async def settled(self) -> None:
        """Wait until changes announced so far are reflected in the listeners and state dir."""
        await self._passes.settled()

    async def _reconcile_pass(self) -> None:
        await self.reconcile()
        self.write_state()

    async def reconcile(self) -> None:
        """Make listeners match the cluster: join, leave, rebind, refuse, cert-mode change."""
        async with self._lock:
            nodes = dict(self.cluster.nodes)
            for name in list(self._modes):
                if name not in nodes:
                    await self.server.unlisten(name, forget=True)
                    del self._modes[name]
            for name, node in nodes.items():
                await self._reconcile_node(name, node)

    async def _reconcile_node(self, name: str, node: Any) -> None:
        address = str(_attr(node, "internal_ip", "address"))
        wanted_port = int(_attr(node, "port", default=10250))
        mode = str(_attr(node, "cert_mode", default="ca-signed"))
        refuse = bool(_attr(getattr(node, "faults", None), "refuse_connections", default=False))
        entry = self.server.listener(name)
        same_place = (
            entry is not None
            and entry.host == address
            and (entry.port == wanted_port or wanted_port == 0)
            and self._modes.get(name) == mode
        )
        if entry is not None and not same_place:
            await self.server.unlisten(name, forget=True)
            entry = None
        if refuse:
            if entry is not None and entry.site is not None:
                await self.server.unlisten(name)
            self._modes[name] = mode
            return
        if entry is not None and entry.site is not None:
            return
        if entry is not None:  # known, closed by refuse: reopen on the same port and context
            await self.server.listen(name, entry.host, entry.port, entry.ssl_context)
            return
        ctx = self.issuer.server_context(mode, name, address, client_ca=self.client_ca)
        await self.server.listen(name, address, wanted_port, ctx)
        self._modes[name] = mode

    # -------------------------------------------------------------------- state

    def write_state(self) -> None:
        """Write (atomically) the files other processes read; unchanged files are kept."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self._identity_written:  # once per fleet: a stale ca.crt must never survive
            self._identity_written = True
            _atomic_write(self.state_dir / "ca.crt", self.ca.cert_pem)
            _atomic_write(self.state_dir / "client.crt", self.client.cert_pem)
            _atomic_write(self.state_dir / "client.key", self.client.key_pem, mode=0o600)
            _atomic_write(self.state_dir / "token", self.token.encode(), mode=0o600)
            if self.client_ca is not self.ca:
                _atomic_write(self.state_dir / "client-ca.crt", self.client_ca.cert_pem)
        nodes = json.dumps(self.nodes_json(), indent=2) + "\n"
        if nodes != self._last_nodes_json:
            _atomic_write(self.state_dir / "nodes.json", nodes.encode())
            self._last_nodes_json = nodes
        control = json.dumps({"url": self.control_url}) + "\n"
        path = self.state_dir / "control.json"
        if not path.exists() or path.read_text() != control:
            _atomic_write(path, control.encode())

    # -------------------------------------------------------------------- clock

    async def _drive_clock(self) -> None:
        """Let the cluster process what falls due (churn, restarts) as its clock moves.

        A cluster with ``run()`` sleeps on its own clock until its next event (real clock) or
        until someone moves a virtual clock; otherwise it is synced every ``clock_interval``.
        """
        run = getattr(self.cluster, "run", None)
        if run is not None:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster run loop failed; falling back to periodic sync")
        assert self._clock_interval
        while True:
            await asyncio.sleep(self._clock_interval)
            step = _attr(self.cluster, "sync", "tick")
            if step is None:
                continue
            try:
                step()
            except Exception:
                log.exception("fleet clock step failed")


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


SERVED_SAMPLES_KEPT = 64
_NODE_CPU = b"\nnode_cpu_usage_seconds_total "


def _node_sample_ms(body: bytes) -> int | None:
    """The millisecond timestamp of the payload's node CPU sample (None when it has none)."""
    at = body.find(_NODE_CPU)
    if at < 0:
        return None
    end = body.find(b"\n", at + 1)
    fields = body[at + 1 : end if end >= 0 else len(body)].split()
    if len(fields) != 3:
        return None
    try:
        return int(fields[2])
    except ValueError:
        return None
