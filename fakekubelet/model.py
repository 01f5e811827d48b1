"""Plain data of the simulated cluster: nodes, pods, containers, their runs, faults and events.

These are the structures the fleet (HTTPS servers), the control plane (Node/Pod objects) and the
ground truth read. Behaviour (lifecycles, churn, rendering) lives in ``cluster``, ``churn`` and
``payload``; mutate state through ``Cluster`` so subscribers hear about it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from fakekubelet.probes import ReadinessProbe
from fakekubelet.workloads import IDLE, Constant, Workload

CERT_MODES = (
    "ca-signed",
    "no-ip-san",
    "self-signed",
    "expired",
    "not-yet-valid",
    "wrong-ca",
    "plain-http",
)
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed")
PodPhase = Literal["Pending", "Running", "Succeeded", "Failed"]
ContainerKind = Literal["regular", "init", "sidecar"]
ContainerState = Literal["waiting", "running", "terminated"]

DEFAULT_KUBELET_VERSION = "1.30.0"
PAGE_SIZE = 4096  # a working set is counted in pages (cgroup memory.current - inactive_file)
DEFAULT_METRICS_PATH = "/metrics/resource"
DEFAULT_IMAGE = "registry.k8s.io/pause:3.9"
METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"


# --------------------------------------------------------------------------- resources


def format_cpu(millicores: int) -> str:
    """Kubernetes quantity for a CPU amount: ``2`` for whole cores, else ``250m``."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(n: int) -> str:
    """Kubernetes quantity for bytes: the largest binary suffix that divides exactly."""
    for suffix, factor in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n and n % factor == 0:
            return f"{n // factor}{suffix}"
    return str(n)


def whole_pages(n_bytes: float) -> int:
    """``n_bytes`` (>= 0) to the nearest whole number of pages, in bytes."""
    return max(0, round(n_bytes / PAGE_SIZE)) * PAGE_SIZE


@dataclass
class Capacity:
    """Node capacity or allocatable: cpu in millicores, memory in bytes, pod slots."""

    cpu_millicores: int = 4000
    memory_bytes: int = 8 << 30
    pods: int = 110

    def quantities(self) -> dict[str, str]:
        """As a Kubernetes ResourceList (``{"cpu": "4", "memory": "8Gi", "pods": "110"}``)."""
        return {
            "cpu": format_cpu(self.cpu_millicores),
            "memory": format_memory(self.memory_bytes),
            "pods": str(self.pods),
        }


@dataclass
class Resources:
    """Container requests or limits; ``None`` = not set."""

    cpu_millicores: int | None = None
    memory_bytes: int | None = None

    def quantities(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.cpu_millicores is not None:
            out["cpu"] = format_cpu(self.cpu_millicores)
        if self.memory_bytes is not None:
            out["memory"] = format_memory(self.memory_bytes)
        return out


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Per-node faults, switchable while running (``Cluster.set_faults``).

    Transport faults (latency, hang, http_status, refuse_connections, truncate_body) are applied
    by the HTTPS server; payload faults (the rest) by ``Cluster.render_metrics``.
    ``missing_pods`` is a list of ``"namespace/name"`` or a fraction 0..1 of the node's pods
    (chosen by a stable hash of the pod key, so the same pods stay missing).
    """

    latency_seconds: float = 0.0
    hang: bool = False
    http_status: int | None = None
    refuse_connections: bool = False
    truncate_body: bool = False
    malformed: bool = False
    missing_timestamps: bool = False
    stale_timestamps: bool = False
    scrape_error: bool = False
    missing_pods: list[str] | float = field(default_factory=list)
    negative_start_time: bool = False
    zero_memory: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency_seconds) and self.latency_seconds >= 0):
            raise ValueError(f"latency_seconds must be >= 0, got {self.latency_seconds}")
        if self.http_status is not None and not 100 <= self.http_status <= 599:
            raise ValueError(f"http_status must be 100..599, got {self.http_status}")
        if isinstance(self.missing_pods, float | int) and not isinstance(self.missing_pods, bool):
            if not 0.0 <= float(self.missing_pods) <= 1.0:
                raise ValueError(f"missing_pods fraction must be 0..1, got {self.missing_pods}")
            self.missing_pods = float(self.missing_pods)
        elif isinstance(self.missing_pods, list | tuple):
            self.missing_pods = [str(p) for p in self.missing_pods]
        else:
            raise ValueError("missing_pods must be a list of 'namespace/name' or a fraction")

    def replace(self, **changes: object) -> Faults:
        """A copy with some fields changed; unknown names raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(
                f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @property
    def any(self) -> bool:
        return self != Faults()


FAULT_NAMES = tuple(f.name for f in dataclasses.fields(Faults))


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
    """One execution of a container: from ``start`` until ``end`` (None = still running).

    ``pieces`` are ``(from_time, workload)``: changing a running container's workload appends a
    piece, so the cumulative counter stays continuous and exactly integrable.
    """

    node_name: str
    pod_key: str
    container: str
    start: float
    epoch: float
    pieces: list[tuple[float, Workload]]
    end: float | None = None

    def _piece_bounds(self) -> list[tuple[float, float | None, Workload]]:
        out: list[tuple[float, float | None, Workload]] = []
        for i, (t, w) in enumerate(self.pieces):
            nxt = self.pieces[i + 1][0] if i + 1 < len(self.pieces) else self.end
            out.append((t, nxt, w))
        return out

    def workload_at(self, t: float) -> Workload:
        current = self.pieces[0][1]
        for start, w in self.pieces:
            if t >= start:
                current = w
        return current

    def alive(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def cpu_seconds(self, t0: float, t1: float) -> float:
        """Exact core-seconds consumed between t0 and t1 (clipped to this run)."""
        total = 0.0
        for a, b, w in self._piece_bounds():
            lo = max(a, t0)
            hi = min(t1, b) if b is not None else t1
            if hi > lo:
                origin = w.origin(self.epoch, self.start)
                total += w.cpu.cumulative(hi - origin) - w.cpu.cumulative(lo - origin)
        return total

    def counter(self, t: float) -> float:
        """The cumulative CPU counter at t: core-seconds since this run started."""
        return self.cpu_seconds(self.start, t)

    def cpu_cores(self, t: float) -> float:
        if not self.alive(t):
            return 0.0
        w = self.workload_at(t)
        return w.cpu.value(t - w.origin(self.epoch, self.start))

    def memory_bytes(self, t: float) -> int:
        """The working set at t: the shape's level in whole 4 KiB pages (nearest page), as
        a kubelet reports it; node and pod figures are sums, so pages too."""
        if not self.alive(t):
            return 0
        w = self.workload_at(t)
        return whole_pages(w.memory.value(t - w.origin(self.epoch, self.start)))


# --------------------------------------------------------------------------- containers, pods


@dataclass
class Container:
    """A container of a pod: ``regular``, ``init`` (runs to completion before the regular ones)
    or ``sidecar`` (an init container with restartPolicy Always: starts before the regular ones
    and keeps running; appears in the payload like a regular container)."""

    name: str
    kind: ContainerKind = "regular"
    requests: Resources = field(default_factory=Resources)
    limits: Resources = field(default_factory=Resources)
    workload: Workload = IDLE
    run_seconds: float | None = None  # init containers: time to completion
    image: str = DEFAULT_IMAGE
    #: ContainerCreating: seconds from the kubelet's turn to start it (image pull, create)
    #: until it runs; containers of a pod start one after another, as the kubelet's SyncPod
    startup_seconds: float = 0.0
    #: its readinessProbe (``fakekubelet.probes``); None: ready as soon as it runs
    readiness: ReadinessProbe | None = None
    #: seconds it takes to exit after SIGTERM; None: it runs until the grace period ends
    termination_seconds: float | None = None
    state: ContainerState = "waiting"
    start_time: float | None = None
    restart_count: int = 0
    #: its readiness (set by the lifecycle; None for a hand-built container: ready while it
    #: runs)
    ready: bool | None = None
    run: Run | None = None

    @property
    def reported(self) -> bool:
        """Whether the kubelet reports this container now: any running one (an init container
        only while it runs; terminated containers are gone from the payload)."""
        return self.state == "running"


@dataclass
class Pod:
    """A pod bound to a node, with the instants its API object shows, in cluster order:
    ``creation_time`` (metadata.creationTimestamp) ≤ ``scheduled_time`` (PodScheduled; the
    model binds a pod when it is created) ≤ ``start_time`` (status.startTime: the kubelet
    started it, after ``pending_seconds``) ≤ each container's ``start_time`` (startedAt) ≤
    ``ready_time`` (the last Ready transition: True when the regular containers run, again
    after a restart; False when the pod ends). ``initialized_time``: init containers done.
    """

    namespace: str
    name: str
    uid: str
    node_name: str
    labels: dict[str, str] = field(default_factory=dict)
    owner_kind: str | None = "ReplicaSet"
    owner_name: str | None = None
    phase: PodPhase = "Pending"
    creation_time: float = 0.0
    scheduled_time: float | None = None
    start_time: float | None = None
    initialized_time: float | None = None
    ready: bool = False
    ready_time: float | None = None
    containers: list[Container] = field(default_factory=list)
    init_containers: list[Container] = field(default_factory=list)
    sidecars: list[Container] = field(default_factory=list)
    pending_seconds: float = 0.0
    run_seconds: float | None = None  # then the pod ends with ``final_phase``
    final_phase: PodPhase = "Succeeded"
    template: str | None = None
    runs: list[Run] = field(default_factory=list)  # every run of every container, in order
    lifecycle_gen: int = 0  # bumped when scheduled lifecycle steps become obsolete
    #: the pod's API object was created by the control plane (a ReplicaSet, a user), not by
    #: the fleet: registration updates that object's status and leaves the rest alone
    adopted: bool = False
    #: set while terminating (a graceful delete): when it began and the grace period
    deletion_time: float | None = None
    grace_seconds: float | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def all_containers(self) -> list[Container]:
        return [*self.init_containers, *self.sidecars, *self.containers]

    def container(self, name: str) -> Container:
        for c in self.all_containers():
            if c.name == name:
                return c
        raise KeyError(f"pod {self.key} has no container {name!r}")

    def reported_containers(self) -> list[Container]:
        return [c for c in self.all_containers() if c.reported]

    @property
    def terminating(self) -> bool:
        return self.deletion_time is not None


# --------------------------------------------------------------------------- nodes


@dataclass
class Node:
    """A simulated node and its kubelet.

    ``system_overhead`` is the node's own usage outside pods (kubelet, runtime, OS); its CPU
    integrates into the node counter like any container's. ``replay_dir`` switches the kubelet to
    serving recorded payloads (see ``replay``). ``metrics_path`` != default is published as the
    ``metrics.k8s.io/resource-metrics-path`` annotation.
    """

    name: str
    internal_ip: str
    hostname: str | None = None
    external_ip: str | None = None
    port: int = 10250
    kubelet_version: str = DEFAULT_KUBELET_VERSION
    cert_mode: str = "ca-signed"
    capacity: Capacity = field(default_factory=Capacity)
    allocatable: Capacity = field(default_factory=Capacity)
    labels: dict[str, str] = field(default_factory=dict)
    system_overhead: Workload = field(
        default_factory=lambda: Workload(Constant(0.05), Constant(256 * 1024 * 1024))
    )
    faults: Faults = field(default_factory=Faults)
    metrics_path: str = DEFAULT_METRICS_PATH
    group: str = "default"
    boot_time: float = 0.0
    replay_dir: str | None = None
    pods: dict[str, Pod] = field(default_factory=dict)  # key "ns/name"
    stale_at: float | None = None  # set while the stale_timestamps fault is on
    housekeeping_seconds: float = 0.0  # > 0: stats refresh on this period (per-series phase)

    def __post_init__(self) -> None:
        if self.cert_mode not in CERT_MODES:
            raise ValueError(f"cert mode {self.cert_mode!r} is not one of {', '.join(CERT_MODES)}")
        if self.hostname is None:
            self.hostname = self.name

    @property
    def address(self) -> str:
        return self.internal_ip

    @property
    def resource_metrics_path(self) -> str:
        """Alias of ``metrics_path`` (the name of the annotation's meaning upstream)."""
        return self.metrics_path

    @property
    def created(self) -> float:
        """Node creation time (= when its kubelet booted in the simulation)."""
        return self.boot_time

    @property
    def annotations(self) -> dict[str, str]:
        if self.metrics_path != DEFAULT_METRICS_PATH:
            return {METRICS_PATH_ANNOTATION: self.metrics_path}
        return {}

    def addresses(self) -> list[dict[str, str]]:
        """``status.addresses`` as the Node object lists them."""
        out = [{"type": "InternalIP", "address": self.internal_ip}]
        if self.external_ip:
            out.append({"type": "ExternalIP", "address": self.external_ip})
        out.append({"type": "Hostname", "address": self.hostname or self.name})
        return out


NodeSpec = Node  # the contract's name for "what describes a node"


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class NodeAdded:
    time: float
    node: Node


@dataclass(frozen=True)
class NodeRemoved:
    time: float
    node: Node


@dataclass(frozen=True)
class NodeAddressChanged:
    time: float
    node: Node
    old_address: str


@dataclass(frozen=True)
class NodeUpdated:
    """Faults, labels or other node fields changed (not its address)."""

    time: float
    node: Node


@dataclass(frozen=True)
class PodAdded:
    time: float
    pod: Pod


@dataclass(frozen=True)
class PodUpdated:
    """Phase, container state, restart count or workload changed."""

    time: float
    pod: Pod


@dataclass(frozen=True)
class PodRemoved:
    time: float
    pod: Pod


Event = (
    NodeAdded | NodeRemoved | NodeAddressChanged | NodeUpdated | PodAdded | PodUpdated | PodRemoved
)
