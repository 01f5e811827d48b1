"""The fleet spec: node groups, pod and container templates, churn, seed — and its YAML loader.

The spec file (docs/fakekubelet-spec.md) is parsed into these immutable templates;
``Cluster.generate`` builds them directly. The cluster turns them into live ``Node``/``Pod``
objects (names, uids, addresses, start times) and churn uses them again for new pods and nodes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from fakekubelet.churn import ChurnSpec
from fakekubelet.model import (
    CERT_MODES,
    DEFAULT_KUBELET_VERSION,
    DEFAULT_METRICS_PATH,
    Capacity,
    Faults,
    Resources,
)
from fakekubelet.workloads import IDLE, Constant, Ramp, Sine, Spike, Step, Workload

DEFAULT_OVERHEAD = Workload(Constant(0.05), Constant(256 * 1024 * 1024))


@dataclass(frozen=True)
class ContainerTemplate:
    name: str
    requests: Resources = field(default_factory=Resources)
    limits: Resources = field(default_factory=Resources)
    workload: Workload = IDLE
    run_seconds: float | None = None  # init containers: time to completion (default 1 s)


@dataclass(frozen=True)
class PodTemplate:
    """``count`` pods of this shape per node; names ``<name>-<10 chars>-<5 chars>``."""

    name: str
    count: int = 1
    namespace: str = "default"
    labels: dict[str, str] = field(default_factory=dict)
    owner_kind: str | None = "ReplicaSet"
    owner_name: str | None = None  # default: ``<name>-<10 chars>`` (a ReplicaSet's name)
    containers: tuple[ContainerTemplate, ...] = (ContainerTemplate("app"),)
    init_containers: tuple[ContainerTemplate, ...] = ()
    sidecars: tuple[ContainerTemplate, ...] = ()
    pending_seconds: float = 0.0
    run_seconds: float | None = None
    final_phase: str = "Succeeded"


@dataclass(frozen=True)
class NodeGroup:
    """``count`` nodes named ``<name_prefix>-<i>`` (i from 1), all alike."""

    name: str
    count: int = 1
    name_prefix: str | None = None  # default: the group name
    cert_mode: str = "ca-signed"
    kubelet_version: str = DEFAULT_KUBELET_VERSION
    port: int = 10250
    capacity: Capacity = field(default_factory=Capacity)
    allocatable: Capacity | None = None  # default: capacity
    labels: dict[str, str] = field(default_factory=dict)
    overhead: Workload = DEFAULT_OVERHEAD
    faults: Faults = field(default_factory=Faults)
    churn: ChurnSpec = field(default_factory=ChurnSpec)
    pods: tuple[PodTemplate, ...] = ()
    external_ip: bool = False  # also list an ExternalIP (same loopback address)
    metrics_path: str = DEFAULT_METRICS_PATH
    replay_dir: str | None = None  # serve recorded payloads: <replay_dir>/<node>/0001.prom, ...

    @property
    def prefix(self) -> str:
        return self.name_prefix or self.name


@dataclass(frozen=True)
class FleetSpec:
    """A whole fleet: node groups, seed, address base, virtual start time (optional)."""

    groups: tuple[NodeGroup, ...]
    seed: int = 0
    address_base: str = "127.1.0.1"
    start_time: float | None = None  # virtual clock start (Unix seconds); None = now
    source: str = "<generated>"

    @property
    def node_count(self) -> int:
        return sum(g.count for g in self.groups)


# =============================================================================== errors


class SpecError(ValueError):
    """An invalid fleet spec: ``file:line: path: reason (expected ...)``."""

    def __init__(
        self, reason: str, *, file: str = "<spec>", path: str = "", line: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.file, self.path, self.line = file, path, line
        self.reason, self.expected = reason, expected
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {path + ': ' if path else ''}{reason}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


# =============================================================================== overrides


def _distribute(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder, ties to the first)."""
    if not weights:
        return []
    wsum = sum(weights)
    if wsum == 0:
        return [total] + [0] * (len(weights) - 1)
    exact = [total * w / wsum for w in weights]
    out = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _cycle_pods(pods: tuple[PodTemplate, ...], per_node: int) -> tuple[PodTemplate, ...]:
    """Exactly ``per_node`` pods per node: the templates' sequence, cycled or cut."""
    if per_node == 0:
        return ()
    seq = [t for t in pods for _ in range(t.count)] or [PodTemplate("app")]
    picked = [seq[i % len(seq)] for i in range(per_node)]
    counts: dict[int, int] = {}
    order: list[PodTemplate] = []
    for t in picked:
        if id(t) not in counts:
            counts[id(t)] = 0
            order.append(t)
        counts[id(t)] += 1
    return tuple(dataclasses.replace(t, count=counts[id(t)]) for t in order)


def with_overrides(
    spec: FleetSpec,
    *,
    nodes: int | None = None,
    pods_per_node: int | None = None,
    cert_mode: str | None = None,
    address_base: str | None = None,
    seed: int | None = None,
) -> FleetSpec:
    """The spec with command-line overrides of its top-level counts.

    ``nodes``: the total, split across groups in proportion to their counts. ``pods_per_node``:
    every node gets exactly that many pods, its group's templates cycled in order.
    ``cert_mode``: every group. ``address_base``, ``seed``: replaced.
    """
    groups = list(spec.groups)
    if nodes is not None:
        if nodes < 0:
            raise SpecError(f"nodes must be >= 0, got {nodes}", file=spec.source, path="nodes")
        counts = _distribute(nodes, [g.count for g in groups])
        groups = [dataclasses.replace(g, count=c) for g, c in zip(groups, counts, strict=True)]
    if pods_per_node is not None:
        if pods_per_node < 0:
            raise SpecError(
                f"pods per node must be >= 0, got {pods_per_node}",
                file=spec.source, path="podsPerNode",
            )
        groups = [dataclasses.replace(g, pods=_cycle_pods(g.pods, pods_per_node)) for g in groups]
    if cert_mode is not None:
        if cert_mode not in CERT_MODES:
            raise SpecError(
                f"cert mode {cert_mode!r} is unknown", file=spec.source, path="certMode",
                expected="one of " + ", ".join(CERT_MODES),
            )
        groups = [dataclasses.replace(g, cert_mode=cert_mode) for g in groups]
    return dataclasses.replace(
        spec,
        groups=tuple(groups),
        address_base=address_base if address_base is not None else spec.address_base,
        seed=seed if seed is not None else spec.seed,
    )


# =============================================================================== generated


def _demo_templates(pods_per_node: int) -> tuple[PodTemplate, ...]:
    """Varied demo pods: one container each, with a different workload shape per template."""
    mi = 1024 * 1024
    shapes: list[tuple[str, Workload]] = [
        ("web", Workload(Sine(0.2, 0.1, 120.0), Constant(100 * mi))),
        ("api", Workload(Constant(0.05), Constant(64 * mi))),
        ("batch", Workload(Ramp(0.01, 0.5, 600.0), Ramp(32 * mi, 256 * mi, 600.0))),
        ("cache", Workload(Step(0.02, ((300.0, 0.2),)), Constant(512 * mi))),
        ("worker", Workload(Spike(0.02, 0.8, 60.0, 5.0), Constant(48 * mi))),
    ]
    base = []
    for name, w in shapes:
        base.append(
            PodTemplate(
                name=name,
                labels={"app": name},
                containers=(
                    ContainerTemplate(
                        "app",
                        requests=Resources(100, 128 * mi),
                        limits=Resources(500, 512 * mi),
                        workload=w,
                    ),
                ),
            )
        )
    return _cycle_pods(tuple(base), pods_per_node)


def generated_spec(
    *,
    nodes: int = 3,
    pods_per_node: int = 10,
    cert_mode: str = "ca-signed",
    address_base: str = "127.1.0.1",
    seed: int = 0,
    kubelet_version: str | None = None,
) -> FleetSpec:
    """The fleet the CLI builds from counts alone: group ``node`` (nodes ``node-1``...)."""
    if cert_mode not in CERT_MODES:
        raise SpecError(
            f"cert mode {cert_mode!r} is unknown", path="certMode",
            expected="one of " + ", ".join(CERT_MODES),
        )
    if nodes < 0 or pods_per_node < 0:
        raise SpecError("node and pod counts must be >= 0", path="nodes")
    group = NodeGroup(
        name="node",
        count=nodes,
        cert_mode=cert_mode,
        kubelet_version=kubelet_version or DEFAULT_KUBELET_VERSION,
        pods=_demo_templates(pods_per_node),
    )
    return FleetSpec(groups=(group,), seed=seed, address_base=address_base)


def load_spec(path: str) -> FleetSpec:  # replaced below by the validating loader
    raise SpecError("spec files are not supported yet", file=str(path))


def workload_from_dict(data: object) -> Workload:
    raise SpecError("workload dictionaries are not supported yet")


def pod_template_from_dict(data: object) -> PodTemplate:
    raise SpecError("pod dictionaries are not supported yet")
