"""The whole simulated cluster: nodes, pods, their lifecycles, churn, faults and payloads.

Time never advances by itself here. Everything that happens at a given moment (a pod leaving
Pending, an init container finishing, a churn arrival) is an event on a queue with an exact
time; ``sync()`` processes every event due by ``clock.now()`` in (time, sequence) order, each
at its own scheduled time. Every read (``render_metrics``, truth queries) and every mutation
syncs first. So with a ``VirtualClock`` the same seed and the same clock steps give the same
fleet and the same payloads, however the steps are sliced; with a ``RealClock`` the fleet calls
``sync()`` periodically (or ``run()``) so subscribers hear about churn promptly.

Subscribers (``subscribe(callback)``) receive ``model`` events synchronously, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import ipaddress
import itertools
import logging
import math
import random
import uuid
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from fakekubelet import payload as pl
from fakekubelet.churn import CHURN_KINDS, ChurnSpec, effective_rate, next_arrival
from fakekubelet.clock import Clock, RealClock, VirtualClock
from fakekubelet.images import ImageProfile
from fakekubelet.lifecycle import PodLifecycle
from fakekubelet.model import (
    CERT_MODES,
    POD_PHASES,
    Container,
    Event,
    Faults,
    Node,
    NodeAdded,
    NodeAddressChanged,
    NodeRemoved,
    NodeUpdated,
    Pod,
    PodAdded,
    PodRemoved,
    PodUpdated,
    Run,
)
from fakekubelet.processes import ProcessPod, ProcessRun
from fakekubelet.spec import (
    ContainerTemplate,
    FleetSpec,
    NodeGroup,
    PodTemplate,
    generated_spec,
    with_overrides,
)
from fakekubelet.truth import NodeLedger, Truth
from fakekubelet.workloads import Workload, driven_workload, is_driven, vary

log = logging.getLogger(__name__)

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the one Kubernetes uses for generated names
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

Callback = Callable[[Event], None]


class AddressPool:
    """Consecutive loopback addresses from a base; never reuses one within a cluster."""

    def __init__(self, base: str) -> None:
        try:
            self.base = ipaddress.IPv4Address(base)
        except ValueError:
            raise ValueError(f"address base {base!r} is not an IPv4 address") from None
        if self.base not in LOOPBACK:
            raise ValueError(f"address base {base} is not in 127.0.0.0/8")
        self._next = 0
        self.used: set[str] = set()

    def check_room(self, count: int) -> None:
        """Raise if ``count`` consecutive addresses from the base would leave 127.0.0.0/8."""
        if count <= 0:
            return
        last = int(self.base) + count - 1
        if last > int(LOOPBACK.broadcast_address):
            raise ValueError(
                f"address base {self.base} with {count} nodes would leave 127.0.0.0/8 "
                f"(last address would be {ipaddress.IPv4Address(min(last, 2**32 - 1))})"
            )

    def allocate(self) -> str:
        while True:
            n = int(self.base) + self._next
            if n > int(LOOPBACK.broadcast_address):
                raise ValueError(f"no loopback address left after {self.base} in 127.0.0.0/8")
            self._next += 1
            addr = str(ipaddress.IPv4Address(n))
            if addr not in self.used:
                self.used.add(addr)
                return addr

    def reserve(self, address: str) -> None:
        ip = ipaddress.IPv4Address(address)
        if ip not in LOOPBACK:
            raise ValueError(f"address {address} is not in 127.0.0.0/8")
        self.used.add(address)


class Cluster(PodLifecycle):
    """The simulated state of a whole cluster.

    ``clock``: any ``Clock`` (``VirtualClock`` for reproducible runs). ``seed``: all random
    choices (names, uids, churn) come from one ``random.Random(seed)``.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        *,
        address_base: str = "127.1.0.1",
        history_seconds: float = 3600.0,
    ) -> None:
        self.clock: Clock = clock if clock is not None else RealClock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.epoch = self.clock.now()
        self.nodes: dict[str, Node] = {}
        self.groups: dict[str, NodeGroup] = {}
        self.churn: dict[str, ChurnSpec] = {}
        self.history_seconds = history_seconds
        self.addresses = AddressPool(address_base)
        self.truth = Truth(self)
        self._pods: dict[str, Pod] = {}
        self._pod_runs: dict[str, list[Any]] = {}  # Run, or ProcessRun for process pods
        self._process_pods: dict[str, ProcessPod] = {}
        self._ledgers: dict[str, NodeLedger] = {}
        self._group_next: dict[str, int] = {}
        self._churn_gen: dict[str, int] = {}
        self._queue: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._subscribers: list[Callback] = []
        self._history_floor = float("-inf")
        self._last_prune = self.epoch
        self._last_node_cpu: dict[str, tuple[int, int]] = {}
        self._replay: dict[str, Any] = {}
        self._wakeup: asyncio.Event | None = None
        self._syncing = False
        #: how pods handed to the fleet by a control plane run, per image (the spec's images)
        self.images: tuple[ImageProfile, ...] = ()

    # ================================================================ construction

    @classmethod
    def from_spec(
        cls,
        spec: FleetSpec,
        clock: Clock | None = None,
        *,
        nodes: int | None = None,
        pods_per_node: int | None = None,
        cert_mode: str | None = None,
        address_base: str | None = None,
        seed: int | None = None,
    ) -> Cluster:
        """A cluster as the spec describes (command-line style overrides applied first).

        Without a clock, a spec with ``startTime`` gets a ``VirtualClock`` there; otherwise a
        ``RealClock``.
        """
        spec = with_overrides(
            spec,
            nodes=nodes,
            pods_per_node=pods_per_node,
            cert_mode=cert_mode,
            address_base=address_base,
            seed=seed,
        )
        if clock is None:
            clock = VirtualClock(spec.start_time) if spec.start_time is not None else RealClock()
        cluster = cls(clock, spec.seed, address_base=spec.address_base)
        cluster.images = spec.images
        cluster.addresses.check_room(spec.node_count)
        for group in spec.groups:
            cluster.groups[group.name] = group
            cluster.churn[group.name] = group.churn
            cluster._group_next[group.name] = 1
            cluster._churn_gen[group.name] = 0
        for group in spec.groups:
            for _ in range(group.count):
                cluster._add_node_from_group(
                    group, cluster.epoch, warmup=spec.warmup_seconds, initial=True
                )
        cluster.sync()  # with a warm-up, lifecycles that began in the past catch up now
        for group in spec.groups:
            cluster._rearm_churn(group.name, cluster.epoch)
        return cluster

    @classmethod
    def generate(
        cls,
        nodes: int = 3,
        pods_per_node: int = 10,
        cert_mode: str = "ca-signed",
        address_base: str = "127.1.0.1",
        seed: int = 0,
        clock: Clock | None = None,
        kubelet_version: str | None = None,
        warmup_seconds: float = 0.0,
    ) -> Cluster:
        """A fleet from the CLI's counts: one group ``node`` of varied demo workloads."""
        spec = generated_spec(
            nodes=nodes,
            pods_per_node=pods_per_node,
            cert_mode=cert_mode,
            address_base=address_base,
            seed=seed,
            kubelet_version=kubelet_version,
        )
        if warmup_seconds:
            spec = dataclasses.replace(spec, warmup_seconds=warmup_seconds)
        return cls.from_spec(spec, clock)

    # ================================================================ events & time

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: Event) -> None:
        for cb in list(self._subscribers):
            try:
                cb(event)
            except Exception:
                log.exception("cluster subscriber failed on %s", type(event).__name__)

    def _push(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), fn, args))
        if self._wakeup is not None:
            self._wakeup.set()

    def next_event_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def sync(self) -> None:
        """Process every event due by ``clock.now()``, each at its own scheduled time."""
        if self._syncing:
            return
        self._syncing = True
        try:
            now = self.clock.now()
            while self._queue and self._queue[0][0] <= now:
                t, _, fn, args = heapq.heappop(self._queue)
                fn(*args, t)
            if now - self._last_prune > 60.0:
                self._prune(now)
        finally:
            self._syncing = False

    # names the fleet's clock driver looks for
    sync_clock = sync
    tick = sync

    def advance(self, seconds: float) -> float:
        """Move a virtual clock forward and process what happened meanwhile."""
        if not isinstance(self.clock, VirtualClock):
            raise ValueError("advancing the clock needs a virtual clock")
        self.clock.advance(seconds)
        self.sync()
        return self.clock.now()

    async def run(self) -> None:
        """Keep syncing as events fall due (sleeping on the cluster's clock) until cancelled."""
        self._wakeup = asyncio.Event()
        while True:
            self.sync()
            self._wakeup.clear()
            nxt = self.next_event_time()
            waits: list[asyncio.Task[Any]] = [asyncio.ensure_future(self._wakeup.wait())]
            if nxt is not None:
                waits.append(asyncio.ensure_future(self.clock.sleep_until(nxt)))
            elif isinstance(self.clock, VirtualClock):
                waits.append(asyncio.ensure_future(self.clock.wait_for_change()))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    def _prune(self, now: float) -> None:
        floor = now - self.history_seconds
        self._last_prune = now
        if floor <= self._history_floor:
            return
        self._history_floor = floor
        for name, led in list(self._ledgers.items()):
            led.prune(floor)
            if led.removed_at is not None and led.removed_at < floor:
                del self._ledgers[name]
        for key, runs in list(self._pod_runs.items()):
            if key in self._pods or key in self._process_pods:
                continue
            if all(r.end is not None and r.end < floor for r in runs):
                del self._pod_runs[key]
        for pp in self._process_pods.values():
            for run in pp.runs:
                run.prune(floor)

    # ================================================================ reads

    @property
    def pods(self) -> dict[str, Pod]:
        """Every current pod by ``namespace/name``."""
        return self._pods

    def pod(self, namespace: str, name: str | None = None) -> Pod:
        key = namespace if name is None else f"{namespace}/{name}"
        pod = self._pods.get(key)
        if pod is None:
            raise KeyError(f'pod "{key}"')
        return pod

    def pods_on(self, node_name: str) -> list[Pod]:
        return [self.node(node_name).pods[k] for k in sorted(self.node(node_name).pods)]

    def node(self, name: str) -> Node:
        node = self.nodes.get(name)
        if node is None:
            raise KeyError(f'node "{name}"')
        return node

    # ================================================================ nodes

    def _add_node_from_group(
        self,
        group: NodeGroup,
        t: float,
        name: str | None = None,
        address: str | None = None,
        warmup: float = 0.0,
        initial: bool = False,
    ) -> Node:
        """A node of ``group`` added at ``t``; with ``warmup`` it booted that long before and
        each of its pods was created at a random moment since (the clock's start is then a
        snapshot of a cluster that has been running). ``initial`` (the fleet's first nodes):
        pods of templates with ``age_seconds`` were created exactly that long before ``t``,
        and the node booted before its oldest pod."""
        if name is None:
            while True:
                i = self._group_next[group.name]
                self._group_next[group.name] = i + 1
                name = f"{group.prefix}-{i}"
                if name not in self.nodes:
                    break
        elif name in self.nodes:
            raise ValueError(f'node "{name}" already exists')
        if address is None:
            address = self.addresses.allocate()
        else:
            self._check_free_address(address)
            self.addresses.reserve(address)
        ages = [tm.age_seconds for tm in group.pods if tm.age_seconds is not None and tm.count]
        booted = max([warmup, *ages]) if initial else warmup
        node = Node(
            name=name,
            internal_ip=address,
            external_ip=address if group.external_ip else None,
            port=group.port,
            kubelet_version=group.kubelet_version,
            cert_mode=group.cert_mode,
            capacity=dataclasses.replace(group.capacity),
            allocatable=dataclasses.replace(group.allocatable or group.capacity),
            labels={
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **group.labels,
            },
            system_overhead=group.overhead,
            faults=dataclasses.replace(group.faults),
            metrics_path=group.metrics_path,
            group=group.name,
            boot_time=t - booted,
            replay_dir=group.replay_dir,
            housekeeping_seconds=group.housekeeping_seconds,
        )
        if node.faults.stale_timestamps:
            node.stale_at = t
        self._insert_node(node, t - booted)
        for tmpl in group.pods:
            for _ in range(tmpl.count):
                created = t - self.rng.uniform(0, warmup) if warmup > 0 else t
                if initial and tmpl.age_seconds is not None:
                    created = t - tmpl.age_seconds
                self._add_pod_from_template(node, tmpl, created)
        return node

    def _insert_node(self, node: Node, t: float) -> None:
        self.nodes[node.name] = node
        overhead = Run(
            node.name,
            "",
            "",
            start=node.boot_time,
            epoch=self.epoch,
            pieces=[(node.boot_time, node.system_overhead)],
        )
        self._ledgers[node.name] = NodeLedger(overhead=overhead)
        self._emit(NodeAdded(t, node))

    def _check_free_address(self, address: str) -> None:
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            raise ValueError(f"address {address!r} is not an IPv4 address") from None
        if ip not in LOOPBACK:
            raise ValueError(f"address {address} is not in 127.0.0.0/8")
        for other in self.nodes.values():
            if other.internal_ip == address:
                raise ValueError(f'address {address} is already used by node "{other.name}"')

    def add_node(
        self,
        group: str | None = None,
        *,
        name: str | None = None,
        address: str | None = None,
        with_pods: bool = True,
        **fields: Any,
    ) -> Node:
        """Add a node like those of ``group`` (default: the first group) at now.

        ``fields`` override Node fields (cert_mode, kubelet_version, port, labels, faults, ...).
        """
        self.sync()
        t = self.clock.now()
        g = self._group(group)
        if fields:
            g = _group_with_node_fields(g, fields)
        if not with_pods:
            g = dataclasses.replace(g, pods=())
        node = self._add_node_from_group(g, t, name=name, address=address)
        self._rearm_churn(g.name, t)
        return node

    def remove_node(self, name: str) -> None:
        """Remove a node and all its pods (PodRemoved for each, then NodeRemoved)."""
        self.sync()
        self._remove_node(self.node(name), self.clock.now())

    def _remove_node(self, node: Node, t: float) -> None:
        for key in sorted(node.pods):
            self._remove_pod(node.pods[key], t)
        for pp in [p for p in self._process_pods.values() if p.node_name == node.name]:
            self._remove_process_pod(pp, t)
        del self.nodes[node.name]
        led = self._ledgers[node.name]
        led.overhead.end = t
        led.removed_at = t
        self._last_node_cpu.pop(node.name, None)
        self._emit(NodeRemoved(t, node))
        self._rearm_churn(node.group, t)

    def set_node_address(self, name: str, address: str | None = None) -> str:
        """Move a node to ``address`` (default: the next free one); returns the new address."""
        self.sync()
        return self._set_node_address(self.node(name), address, self.clock.now())

    def _set_node_address(self, node: Node, address: str | None, t: float) -> str:
        if address is None:
            address = self.addresses.allocate()
        elif address != node.internal_ip:
            self._check_free_address(address)
            self.addresses.reserve(address)
        old = node.internal_ip
        if address == old:
            return old
        node.internal_ip = address
        if node.external_ip is not None:
            node.external_ip = address
        self._emit(NodeAddressChanged(t, node, old))
        return address

    def set_node(self, name: str, **changes: Any) -> Node:
        """Change node fields other than the address (cert_mode, kubelet_version, port, ...)."""
        self.sync()
        node = self.node(name)
        allowed = {
            "housekeeping_seconds",
            "cert_mode",
            "kubelet_version",
            "port",
            "labels",
            "metrics_path",
            "replay_dir",
            "hostname",
            "capacity",
            "allocatable",
        }
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValueError(f"cannot change node field(s) {', '.join(unknown)}")
        if "cert_mode" in changes and changes["cert_mode"] not in CERT_MODES:
            raise ValueError(_bad_mode(changes["cert_mode"]))
        if "kubelet_version" in changes:
            pl.KubeletVersion.parse(str(changes["kubelet_version"]))
        for key, value in changes.items():
            setattr(node, key, value)
        if "replay_dir" in changes:
            self._replay.pop(name, None)
        self._emit(NodeUpdated(self.clock.now(), node))
        return node

    def set_faults(self, name: str, **changes: Any) -> Faults:
        """Switch faults on a node while running; returns the node's new faults."""
        self.sync()
        node = self.node(name)
        t = self.clock.now()
        faults = node.faults.replace(**changes)
        if faults.stale_timestamps and not node.faults.stale_timestamps:
            node.stale_at = t
        elif not faults.stale_timestamps:
            node.stale_at = None
        node.faults = faults
        self._emit(NodeUpdated(t, node))
        return faults

    def set_overhead(self, name: str, workload: Workload | Mapping[str, Any]) -> None:
        """Change a node's system overhead from now on (its counter stays continuous)."""
        self.sync()
        node = self.node(name)
        w = _as_workload(workload)
        node.system_overhead = w
        self._ledgers[name].overhead.pieces.append((self.clock.now(), w))

    # ================================================================ pods

    def _group(self, group: str | None) -> NodeGroup:
        if group is None:
            if not self.groups:
                raise ValueError("the cluster has no node groups")
            return next(iter(self.groups.values()))
        g = self.groups.get(group)
        if g is None:
            raise KeyError(f'node group "{group}"')
        return g

    def _gen_suffix(self, n: int) -> str:
        return "".join(self.rng.choice(_NAME_ALPHABET) for _ in range(n))

    def _rs_hash(self, tmpl: PodTemplate) -> str:
        r = random.Random(f"{self.seed}/{tmpl.namespace}/{tmpl.name}")
        return "".join(r.choice(_NAME_ALPHABET) for _ in range(10))

    def _add_pod_from_template(
        self, node: Node, tmpl: PodTemplate, t: float, name: str | None = None, *,
        uid: str | None = None, created: float | None = None, scheduled: float | None = None,
        adopted: bool = False,
    ) -> Pod:
        owner_name = tmpl.owner_name
        if tmpl.owner_kind == "ReplicaSet":
            prefix = f"{owner_name or tmpl.name + '-' + self._rs_hash(tmpl)}-"
            owner_name = owner_name or prefix[:-1]
        else:
            prefix = f"{tmpl.name}-"
            if tmpl.owner_kind is not None:
                owner_name = owner_name or tmpl.name
        if name is None:
            while True:
                name = prefix + self._gen_suffix(5)
                if f"{tmpl.namespace}/{name}" not in self._pods:
                    break
        elif f"{tmpl.namespace}/{name}" in self._pods:
            raise ValueError(f'pod "{tmpl.namespace}/{name}" already exists')
        if uid is None:
            uid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        factor, offset = 1.0, 0.0
        if tmpl.spread > 0:
            factor = self.rng.uniform(1 - tmpl.spread, 1 + tmpl.spread)
        if tmpl.stagger_seconds > 0:
            offset = self.rng.uniform(0, tmpl.stagger_seconds)

        def make(ct: ContainerTemplate, kind: str) -> Container:
            return Container(
                name=ct.name,
                kind=kind,  # type: ignore[arg-type]
                requests=dataclasses.replace(ct.requests),
                limits=dataclasses.replace(ct.limits),
                workload=vary(ct.workload, factor, offset),
                run_seconds=ct.run_seconds,
                image=ct.image,
                startup_seconds=ct.startup_seconds,
                readiness=ct.readiness,
                termination_seconds=ct.termination_seconds,
                ready=False,
            )

        pod = Pod(
            namespace=tmpl.namespace,
            name=name,
            uid=uid,
            node_name=node.name,
            labels=dict(tmpl.labels),
            owner_kind=tmpl.owner_kind,
            owner_name=owner_name,
            phase="Pending",
            creation_time=min(created, t) if created is not None else t,
            scheduled_time=t,
            containers=[make(c, "regular") for c in tmpl.containers],
            init_containers=[make(c, "init") for c in tmpl.init_containers],
            sidecars=[make(c, "sidecar") for c in tmpl.sidecars],
            pending_seconds=tmpl.pending_seconds,
            run_seconds=tmpl.run_seconds,
            final_phase=tmpl.final_phase,  # type: ignore[arg-type]
            template=tmpl.name,
            adopted=adopted,
        )
        if scheduled is not None:  # bound by a scheduler before this kubelet took it on
            pod.scheduled_time = min(max(scheduled, pod.creation_time), t)
        self._insert_pod(pod, t)
        return pod

    def _insert_pod(self, pod: Pod, t: float) -> None:
        node = self.nodes[pod.node_name]
        node.pods[pod.key] = pod
        self._pods[pod.key] = pod
        self._pod_runs[pod.key] = pod.runs
        self._emit(PodAdded(t, pod))
        if pod.pending_seconds > 0:
            self._push(t + pod.pending_seconds, self._start_pod, pod, pod.lifecycle_gen)
        else:
            self._start_pod(pod, pod.lifecycle_gen, t)

    def add_pod(
        self,
        node_name: str,
        template: PodTemplate | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        uid: str | None = None,
        created: float | None = None,
        scheduled: float | None = None,
        adopted: bool = False,
    ) -> Pod:
        """Create a pod on a node at now from a template (default: the node group's first).

        A control plane handing the kubelet a pod it created passes its ``uid``, its
        ``created`` and ``scheduled`` instants (not after now) and ``adopted=True``: the
        fleet then runs the API's own object (see ``Pod.adopted``).
        """
        self.sync()
        node = self.node(node_name)
        if template is None:
            g = self.groups.get(node.group)
            if g is None or not g.pods:
                raise ValueError(f'node "{node_name}" has no pod template; pass one')
            tmpl = g.pods[0]
        elif isinstance(template, PodTemplate):
            tmpl = template
        else:
            from fakekubelet.spec import pod_template_from_dict

            tmpl = pod_template_from_dict(template)
        return self._add_pod_from_template(node, tmpl, self.clock.now(), name=name, uid=uid,
                                           created=created, scheduled=scheduled,
                                           adopted=adopted)

    def remove_pod(self, namespace: str, name: str | None = None) -> None:
        """Delete a pod (``remove_pod("ns", "name")`` or ``remove_pod("ns/name")``)."""
        self.sync()
        self._remove_pod(self.pod(namespace, name), self.clock.now())

    def terminate_pod(self, namespace: str, name: str, grace_seconds: float = 30.0) -> Pod:
        """A graceful delete, as a kubelet carries it out: the pod is terminating now, each
        running container stops after its ``termination_seconds`` (by the end of the grace
        period at the latest) and the pod is removed (``PodRemoved``) when the last one has
        stopped. A second call can only shorten the grace period."""
        self.sync()
        if not (math.isfinite(grace_seconds) and grace_seconds >= 0):
            raise ValueError(f"grace period must be >= 0 seconds, got {grace_seconds}")
        pod = self.pod(namespace, name)
        self._terminate(pod, self.clock.now(), grace_seconds)
        return pod

    def _remove_pod(self, pod: Pod, t: float) -> None:
        for c in pod.all_containers():
            self._stop_container(pod, c, t)
        pod.lifecycle_gen += 1
        node = self.nodes.get(pod.node_name)
        if node is not None:
            node.pods.pop(pod.key, None)
        self._pods.pop(pod.key, None)
        self._emit(PodRemoved(t, pod))

    def set_pod_phase(self, namespace: str, name: str, phase: str) -> Pod:
        """Force a phase: Running starts every container now; Succeeded/Failed stop them all;
        Pending stops them and restarts the pod's lifecycle after its pending time."""
        self.sync()
        if phase not in POD_PHASES:
            raise ValueError(f"phase {phase!r} is not one of {', '.join(POD_PHASES)}")
        pod = self.pod(namespace, name)
        t = self.clock.now()
        pod.lifecycle_gen += 1
        if phase == "Running":
            for c in pod.init_containers:
                self._stop_container(pod, c, t)
                c.state = "terminated"
            for c in [*pod.sidecars, *pod.containers]:
                if c.state != "running":
                    self._start_container(pod, c, t)
            if pod.start_time is None:
                pod.start_time = t
            if pod.initialized_time is None:
                pod.initialized_time = t
            pod.phase = "Running"
            self._refresh_ready(pod, t)
            self._emit(PodUpdated(t, pod))
        elif phase == "Pending":
            for c in pod.all_containers():
                self._stop_container(pod, c, t)
                c.state = "waiting"
            pod.phase = "Pending"
            pod.start_time = pod.initialized_time = None
            self._set_ready(pod, False, t)
            self._emit(PodUpdated(t, pod))
            self._push(t + pod.pending_seconds, self._start_pod, pod, pod.lifecycle_gen)
        else:
            for c in pod.all_containers():
                self._stop_container(pod, c, t)
            self._set_ready(pod, False, t)
            pod.phase = phase  # type: ignore[assignment]
            self._emit(PodUpdated(t, pod))
        return pod

    def restart_container(self, namespace: str, name: str, container: str) -> Container:
        """Restart a running container: counter back to 0, new start time, restart_count+1."""
        self.sync()
        pod = self.pod(namespace, name)
        c = pod.container(container)
        if c.state != "running":
            raise ValueError(f'container "{container}" of pod {pod.key} is not running')
        self._restart(pod, c, self.clock.now())
        return c

    def drive(
        self, namespace: str, name: str, container: str | None = None, *,
        cpu: float | None = None, memory: float | None = None,
    ) -> Container:
        """Set a container's CPU (cores) and/or memory (bytes) from now on, for a load model
        that decides usage while the simulation runs (default container: the first regular
        one). The container's workload becomes a driven one (``workloads.Driven``, starting
        at its current levels) on first use; counters stay the exact integral of the levels
        set, and the ground truth agrees. No event: usage is not part of the API objects."""
        self.sync()
        pod = self.pod(namespace, name)
        c = pod.container(container) if container is not None else pod.containers[0]
        for what, value in (("cpu", cpu), ("memory", memory)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{what}: must be a finite amount >= 0, got {value}")
        t = self.clock.now()
        w = c.workload
        if not is_driven(w):
            origin = w.origin(self.epoch, c.start_time if c.start_time is not None else t)
            w = driven_workload(w.cpu.value(t - origin), w.memory.value(t - origin))
            c.workload = w
            if c.run is not None:
                c.run.pieces.append((t, w))
        tau = t - self.epoch
        if cpu is not None:
            w.cpu.set(tau, cpu)  # type: ignore[attr-defined]
        if memory is not None:
            w.memory.set(tau, memory)  # type: ignore[attr-defined]
        return c

    def set_workload(
        self, namespace: str, name: str, container: str, workload: Workload | Mapping[str, Any]
    ) -> Container:
        """Change a container's workload from now on (a running counter stays continuous)."""
        self.sync()
        pod = self.pod(namespace, name)
        c = pod.container(container)
        w = _as_workload(workload)
        c.workload = w
        if c.run is not None:
            c.run.pieces.append((self.clock.now(), w))
        self._emit(PodUpdated(self.clock.now(), pod))
        return c

    # ================================================================ local processes

    @property
    def process_pods(self) -> dict[str, ProcessPod]:
        """Pods the control plane runs as local processes, by ``namespace/name``
        (``fakekubelet.processes``); not in ``pods`` — they are not the fleet's."""
        return self._process_pods

    def node_of(self, namespace: str, name: str) -> str | None:
        """The node a fleet pod or a process pod runs on (None: no such pod)."""
        key = f"{namespace}/{name}"
        pod = self._pods.get(key)
        if pod is not None:
            return pod.node_name
        pp = self._process_pods.get(key)
        return pp.node_name if pp is not None else None

    def attach_process(
        self, node_name: str, namespace: str, pod: str, container: str, *, pid: int,
        start_time: float,
    ) -> bool:
        """Serve ``container`` of ``namespace/pod`` on ``node_name``'s kubelet with the real
        figures of process ``pid`` (which started at ``start_time``). A new process for the
        same container is a restart: a new run, its counter from zero.

        Returns False (and serves nothing) on a virtual clock, where payload timestamps are
        not the instants a process could be read.
        """
        self.sync()
        self.node(node_name)
        if isinstance(self.clock, VirtualClock):
            return False
        key = f"{namespace}/{pod}"
        if key in self._pods:
            raise ValueError(f'pod "{key}" is a fleet pod, not a local process')
        t = self.clock.now()
        pp = self._process_pods.get(key)
        if pp is not None and pp.node_name != node_name:
            self._remove_process_pod(pp, t)
            pp = None
        if pp is None:
            pp = self._process_pods[key] = ProcessPod(namespace, pod, node_name)
            self._pod_runs[key] = pp.runs  # the truth finds its runs like a fleet pod's
        old = pp.current.pop(container, None)
        if old is not None:
            self._end_process_run(old, t)
        run = ProcessRun(node_name, key, container, pid, min(start_time, t), self.clock)
        pp.runs.append(run)
        pp.current[container] = run
        self._ledgers[node_name].open.append(run)
        return True

    def detach_process(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The process of ``container`` (default: every container) has exited."""
        self.sync()
        pp = self._process_pods.get(f"{namespace}/{pod}")
        if pp is None:
            return
        t = self.clock.now()
        for name in [container] if container is not None else list(pp.current):
            run = pp.current.pop(name, None)
            if run is not None:
                self._end_process_run(run, t)

    def remove_process_pod(self, namespace: str, pod: str) -> None:
        """The pod is gone: nothing of it is served any more (its truth stays for the
        history period)."""
        self.sync()
        pp = self._process_pods.get(f"{namespace}/{pod}")
        if pp is not None:
            self._remove_process_pod(pp, self.clock.now())

    def _remove_process_pod(self, pp: ProcessPod, t: float) -> None:
        for run in pp.current.values():
            self._end_process_run(run, t)
        pp.current.clear()
        self._process_pods.pop(pp.key, None)

    def _end_process_run(self, run: ProcessRun, t: float) -> None:
        run.observe()
        last = run.samples[-1][0] if run.samples else run.start
        run.end = max(t, last)
        led = self._ledgers.get(run.node_name)
        if led is not None and run in led.open:
            led.close(run)

    # ================================================================ churn

    def set_churn(self, group: str | None = None, **changes: Any) -> dict[str, ChurnSpec]:
        """Change churn rates of one group (or all); arrivals are redrawn from now."""
        self.sync()
        t = self.clock.now()
        names = [group] if group is not None else list(self.groups)
        for g in names:
            self._group(g)
        for g in names:
            self.churn[g] = self.churn[g].replace(**changes)
            self._rearm_churn(g, t)
        return {g: self.churn[g] for g in names}

    def _group_nodes(self, group: str) -> list[Node]:
        return [self.nodes[n] for n in sorted(self.nodes) if self.nodes[n].group == group]

    def _rearm_churn(self, group: str, t: float) -> None:
        spec = self.churn.get(group)
        if spec is None:
            return
        self._churn_gen[group] = gen = self._churn_gen.get(group, 0) + 1
        count = len(self._group_nodes(group))
        for kind in CHURN_KINDS:
            nt = next_arrival(self.rng, t, effective_rate(spec, kind, count))
            if nt is not None:
                self._push(nt, self._churn_event, group, kind, gen)

    def _churn_event(self, group: str, kind: str, gen: int, t: float) -> None:
        if self._churn_gen.get(group) != gen:
            return
        spec = self.churn[group]
        nodes = self._group_nodes(group)
        rearm = False
        if kind == "pod_create" and nodes:
            g = self.groups[group]

            def room(n: Node) -> bool:
                cap = spec.max_pods_per_node
                return len(n.pods) < (cap if cap is not None else n.capacity.pods)

            candidates = [n for n in nodes if room(n)]
            if candidates:
                node = self.rng.choice(candidates)
                templates = [tm for tm in g.pods for _ in range(max(tm.count, 1))] or [
                    PodTemplate("churn")
                ]
                self._add_pod_from_template(node, self.rng.choice(templates), t)
        elif kind == "pod_delete" and nodes:
            node = self.rng.choice(nodes)
            if node.pods:
                self._remove_pod(node.pods[self.rng.choice(sorted(node.pods))], t)
        elif kind == "container_restart" and nodes:
            node = self.rng.choice(nodes)
            running = [
                (p, c)
                for k in sorted(node.pods)
                for p in [node.pods[k]]
                for c in [*p.sidecars, *p.containers]
                if c.state == "running"
            ]
            if running:
                p, c = self.rng.choice(running)
                self._restart(p, c, t)
        elif kind == "node_join":
            if spec.max_nodes is None or len(nodes) < spec.max_nodes:
                try:
                    self._add_node_from_group(self.groups[group], t)
                    rearm = True
                except ValueError as exc:  # loopback range exhausted: the join just fails
                    log.warning("node join in group %s skipped: %s", group, exc)
        elif kind == "node_leave":
            if nodes and len(nodes) > spec.min_nodes:
                self._remove_node(self.rng.choice(nodes), t)  # re-arms
                return
        elif kind == "address_change" and nodes:
            try:
                self._set_node_address(self.rng.choice(nodes), None, t)
            except ValueError as exc:
                log.warning("address change in group %s skipped: %s", group, exc)
        if rearm:
            self._rearm_churn(group, t)
            return
        rate = effective_rate(spec, kind, len(self._group_nodes(group)))
        nt = next_arrival(self.rng, t, rate)
        if nt is not None:
            self._push(nt, self._churn_event, group, kind, gen)

    # ================================================================ payloads

    def snapshot(self, node_name: str, at: float | None = None) -> pl.NodeSnapshot:
        """The numbers a kubelet would report at ``at`` (default: now, or the stale moment)."""
        self.sync()
        node = self.node(node_name)
        faults = node.faults
        t = at if at is not None else node.stale_at
        if t is None:
            t = self.clock.now()
        period = node.housekeeping_seconds
        te = _stats_time(t, period, node.name)
        ts = pl.ms(te)
        led = self._ledgers[node_name]
        if faults.scrape_error:
            return pl.NodeSnapshot(0.0, 0, ts, scrape_error=True)
        procs = [self._process_pods[k] for k in sorted(self._process_pods)
                 if self._process_pods[k].node_name == node_name]
        if at is None and node.stale_at is None:
            for pp in procs:  # read the processes once, now: every figure below uses it
                for prun in pp.current.values():
                    prun.observe()
        node_cpu_ns = max(0, round(led.cpu_counter(te) * 1e9))
        last = self._last_node_cpu.get(node_name)
        if last is not None and last[0] <= ts and last[1] > node_cpu_ns:
            node_cpu_ns = last[1]  # float re-association after a run closed; keep it monotonic
        if at is None:
            self._last_node_cpu[node_name] = (ts, node_cpu_ns)
        snap = pl.NodeSnapshot(
            cpu_seconds=node_cpu_ns / 1e9, memory_bytes=led.memory_bytes(te), timestamp_ms=ts
        )
        missing = _missing(node, faults, [pp.key for pp in procs])
        for pp in procs:
            if pp.key not in missing:
                self._process_samples(snap, pp, t, period, faults.zero_memory)
        for key in sorted(node.pods):
            if key in missing:
                continue
            pod = node.pods[key]
            shown = 0
            for c in pod.all_containers():
                tc = _stats_time(t, period, f"{key}/{c.name}")
                run = _run_at(pod, c.name, tc)
                if run is None:
                    continue
                shown += 1
                snap.containers.append(
                    pl.ContainerSample(
                        namespace=pod.namespace,
                        pod=pod.name,
                        container=c.name,
                        cpu_seconds=pl.ns_seconds(run.counter(tc)),
                        memory_bytes=0 if faults.zero_memory else run.memory_bytes(tc),
                        start_time=run.start,
                        timestamp_ms=pl.ms(tc),
                    )
                )
            if not shown:
                continue
            tp = _stats_time(t, period, key)
            snap.pods.append(
                pl.PodSample(
                    namespace=pod.namespace,
                    pod=pod.name,
                    cpu_seconds=pl.ns_seconds(sum(r.counter(tp) for r in pod.runs)),
                    memory_bytes=0
                    if faults.zero_memory
                    else sum(r.memory_bytes(tp) for r in pod.runs),
                    timestamp_ms=pl.ms(tp),
                )
            )
        return snap

    @staticmethod
    def _process_samples(snap: pl.NodeSnapshot, pp: ProcessPod, t: float, period: float,
                         zero_memory: bool) -> None:
        """The container and pod series of a process pod (``fakekubelet.processes``)."""
        shown = 0
        for name in sorted(pp.current):
            run = pp.current[name]
            tc = _stats_time(t, period, f"{pp.key}/{name}")
            if not run.alive(tc):
                continue
            shown += 1
            snap.containers.append(
                pl.ContainerSample(
                    namespace=pp.namespace,
                    pod=pp.name,
                    container=name,
                    cpu_seconds=pl.ns_seconds(run.counter(tc)),
                    memory_bytes=0 if zero_memory else run.memory_bytes(tc),
                    start_time=run.start,
                    timestamp_ms=pl.ms(tc),
                )
            )
        if shown:
            tp = _stats_time(t, period, pp.key)
            snap.pods.append(
                pl.PodSample(
                    namespace=pp.namespace,
                    pod=pp.name,
                    cpu_seconds=pl.ns_seconds(sum(r.counter(tp) for r in pp.runs)),
                    memory_bytes=0 if zero_memory else sum(r.memory_bytes(tp) for r in pp.runs),
                    timestamp_ms=pl.ms(tp),
                )
            )

    def render_metrics(self, node_name: str) -> bytes:
        """The exact ``/metrics/resource`` body of a node's kubelet now, with payload faults.

        A node with ``replay_dir`` serves its next recorded payload instead (one per call).
        """
        self.sync()
        node = self.node(node_name)
        if node.replay_dir:
            from fakekubelet.replay import ReplaySource

            src = self._replay.get(node_name)
            if src is None:
                src = self._replay[node_name] = ReplaySource.for_node(node.replay_dir, node_name)
            return src.next()
        f = node.faults
        options = pl.RenderOptions(
            missing_timestamps=f.missing_timestamps,
            negative_start_time=f.negative_start_time,
            malformed=f.malformed,
        )
        version = pl.KubeletVersion.parse(node.kubelet_version)
        return pl.render(self.snapshot(node_name), version, options)

    content_type = pl.CONTENT_TYPE


def _stats_time(t: float, period: float, key: str) -> float:
    """When the kubelet last collected stats for ``key``, as Unix seconds on a whole ms.

    ``period`` 0: fresh at every request. Otherwise stats refresh every ``period`` seconds at a
    phase fixed per key (a stable hash), like cAdvisor's housekeeping, so containers of one
    node carry different timestamps, each at or before the request.
    """
    if period > 0:
        phase = zlib.crc32(key.encode()) / 2**32 * period
        t = math.floor((t - phase) / period) * period + phase
    return pl.ms(t) / 1000.0


def _run_at(pod: Pod, container: str, t: float) -> Run | None:
    """The run of ``container`` alive at ``t`` (the one a stats cache taken then would show)."""
    for run in reversed(pod.runs):
        if run.container == container and run.alive(t):
            return run
    return None


def _missing(node: Node, faults: Faults, extra: list[str] | None = None) -> set[str]:
    mp = faults.missing_pods
    if isinstance(mp, float):
        if mp <= 0:
            return set()
        keys = [*node.pods, *(extra or ())]
        return {k for k in keys if zlib.crc32(k.encode()) / 2**32 < mp}
    return set(mp)


def _as_workload(w: Workload | Mapping[str, Any]) -> Workload:
    if isinstance(w, Workload):
        return w
    from fakekubelet.spec import workload_from_dict

    return workload_from_dict(w)


def _group_with_node_fields(g: NodeGroup, fields: Mapping[str, Any]) -> NodeGroup:
    mapping = {"overhead": "overhead", "system_overhead": "overhead"}
    allowed = {f.name for f in dataclasses.fields(NodeGroup)} - {"name", "count", "pods", "churn"}
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        k = mapping.get(key, key)
        if k not in allowed:
            raise ValueError(f"unknown node field {key!r}")
        if k == "faults" and isinstance(value, Mapping):
            value = Faults(**value)
        changes[k] = value
    if "cert_mode" in changes and changes["cert_mode"] not in CERT_MODES:
        raise ValueError(_bad_mode(changes["cert_mode"]))
    return dataclasses.replace(g, **changes)


def _bad_mode(mode: object) -> str:
    return f"cert mode {mode!r} is not one of {', '.join(CERT_MODES)}"


EVENT_TYPES: tuple[type, ...] = (
    NodeAdded,
    NodeRemoved,
    NodeAddressChanged,
    NodeUpdated,
    PodAdded,
    PodUpdated,
    PodRemoved,
)
