"""The fleet spec: node groups, pod and container templates, churn, seed — and its YAML loader.

The spec file (docs/fakekubelet-spec.md) is parsed into these immutable templates;
``Cluster.generate`` builds them directly. The cluster turns them into live ``Node``/``Pod``
objects (names, uids, addresses, start times) and churn uses them again for new pods and nodes.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fakekubelet.churn import MAX_PER_MINUTE as CHURN_MAX_PER_MINUTE
from fakekubelet.churn import ChurnSpec
from fakekubelet.images import ImageProfile
from fakekubelet.model import (
    CERT_MODES,
    DEFAULT_IMAGE,
    DEFAULT_KUBELET_VERSION,
    DEFAULT_METRICS_PATH,
    Capacity,
    Faults,
    Resources,
)
from fakekubelet.payload import KubeletVersion
from fakekubelet.probes import ReadinessProbe
from fakekubelet.quantity import cpu_millicores, memory_bytes, parse_cpu, parse_memory
from fakekubelet.workloads import (
    IDLE,
    Constant,
    Ramp,
    Signal,
    Sine,
    Spike,
    Step,
    Trace,
    Workload,
    load_trace_csv,
)

DEFAULT_OVERHEAD = Workload(Constant(0.05), Constant(256 * 1024 * 1024))


@dataclass(frozen=True)
class ContainerTemplate:
    name: str
    requests: Resources = field(default_factory=Resources)
    limits: Resources = field(default_factory=Resources)
    workload: Workload = IDLE
    run_seconds: float | None = None  # init containers: time to completion (default 1 s)
    image: str = DEFAULT_IMAGE
    startup_seconds: float = 0.0  # ContainerCreating before it runs (image pull, create)
    readiness: ReadinessProbe | None = None  # None: ready as soon as it runs
    termination_seconds: float | None = None  # exit after SIGTERM; None: at the grace's end


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
    spread: float = 0.0  # each pod's workloads scaled by a factor drawn from [1-spread, 1+spread]
    stagger_seconds: float = 0.0  # ... and delayed by a time drawn from [0, stagger_seconds)
    age_seconds: float | None = None  # the fleet's initial pods were created this long before


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
    housekeeping_seconds: float = 0.0  # > 0: stats refresh on this period, per-series phase

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
    warmup_seconds: float = 0.0  # nodes booted this long before the start, pods since then
    source: str = "<generated>"
    #: how pods a control plane hands the fleet run, per image (``fakekubelet.images``)
    images: tuple[ImageProfile, ...] = ()

    @property
    def node_count(self) -> int:
        return sum(g.count for g in self.groups)


# =============================================================================== errors


class SpecError(ValueError):
    """An invalid fleet spec: ``file:line: path: reason (expected ...)``."""

    def __init__(
        self,
        reason: str,
        *,
        file: str = "<spec>",
        path: str = "",
        line: int | None = None,
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
                file=spec.source,
                path="podsPerNode",
            )
        groups = [dataclasses.replace(g, pods=_cycle_pods(g.pods, pods_per_node)) for g in groups]
    if cert_mode is not None:
        if cert_mode not in CERT_MODES:
            raise SpecError(
                f"cert mode {cert_mode!r} is unknown",
                file=spec.source,
                path="certMode",
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
                spread=0.3,
                stagger_seconds=60.0,
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
            f"cert mode {cert_mode!r} is unknown",
            path="certMode",
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


# =============================================================================== quantities

# parse_cpu / parse_memory live in fakekubelet.quantity (every apimachinery form); kept
# importable from here for callers of the spec module.


# =============================================================================== validation


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Kind = str  # "cpu" | "memory"


class _Validator:
    """Walks the composed YAML tree (which keeps line marks) and builds the templates."""

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir

    # ----------------------------------------------------------------- primitives

    def fail(
        self, node: yaml.Node | None, path: str, reason: str, expected: str | None = None
    ) -> SpecError:
        line = node.start_mark.line + 1 if node is not None else None
        return SpecError(reason, file=self.source, path=path, line=line, expected=expected)

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return _CONSTRUCTOR.construct_object(node, deep=True)
        return None

    def mapping(
        self, node: yaml.Node, path: str, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, f"{_shape(node)} is not a mapping", "a mapping")
        allowed = list(allowed)
        out: dict[str, yaml.Node] = {}
        for knode, vnode in node.value:
            key = self.value(knode)
            kpath = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                raise self.fail(knode, path or "<top>", f"key {key!r} is not a string")
            if key not in allowed:
                raise self.fail(
                    knode, kpath, f"unknown key {key!r}", "one of " + ", ".join(allowed)
                )
            if key in out:
                raise self.fail(knode, kpath, "duplicate key")
            out[key] = vnode
        for key in required:
            if key not in out:
                raise self.fail(node, f"{path}.{key}" if path else key, "required key is missing")
        return out

    def seq(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, f"{_shape(node)} is not a list", "a list")
        return list(node.value)

    def int_(self, node: yaml.Node, path: str, lo: int | None = 0, hi: int | None = None) -> int:
        v = self.value(node)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(node, path, f"{_shape(node)} is not an integer", "an integer")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"{lo}..{hi}"
            raise self.fail(node, path, f"{v} is out of range", f"an integer {rng}")
        return v

    def num(
        self, node: yaml.Node, path: str, lo: float | None = 0.0, positive: bool = False
    ) -> float:
        v = self.value(node)
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise self.fail(node, path, f"{_shape(node)} is not a number", "a number")
        if positive and not v > 0:
            raise self.fail(node, path, f"{v:g} is not > 0", "a number > 0")
        if lo is not None and v < lo:
            raise self.fail(node, path, f"{v:g} is < {lo:g}", f"a number >= {lo:g}")
        return float(v)

    def fraction(self, node: yaml.Node, path: str) -> float:
        v = self.num(node, path)
        if v > 1:
            raise self.fail(node, path, f"{v:g} is > 1", "a fraction 0..1")
        return v

    def bool_(self, node: yaml.Node, path: str) -> bool:
        v = self.value(node)
        if not isinstance(v, bool):
            raise self.fail(node, path, f"{_shape(node)} is not a boolean", "true or false")
        return v

    def str_(
        self,
        node: yaml.Node,
        path: str,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
    ) -> str:
        v = self.value(node)
        if not isinstance(v, str) or not v:
            raise self.fail(node, path, f"{_shape(node)} is not a non-empty string", what)
        if pattern is not None and not pattern.match(v):
            raise self.fail(node, path, f"{v!r} is not valid", what)
        return v

    def enum(self, node: yaml.Node, path: str, choices: Iterable[str]) -> str:
        choices = list(choices)
        v = self.value(node)
        if v not in choices:
            raise self.fail(
                node, path, f"{_shape(node)} is not allowed", "one of " + ", ".join(choices)
            )
        return str(v)

    def str_map(self, node: yaml.Node, path: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, f"{_shape(node)} is not a mapping", "a mapping of strings")
        out: dict[str, str] = {}
        for knode, vnode in node.value:
            key = self.value(knode)
            val = self.value(vnode)
            if (
                not isinstance(key, str)
                or not isinstance(val, str | int | float)
                or isinstance(val, bool)
            ):
                raise self.fail(
                    vnode,
                    f"{path}.{key}",
                    "labels must map strings to strings",
                    "a mapping of strings",
                )
            out[key] = str(val)
        return out

    def amount(self, node: yaml.Node, path: str, kind: Kind, whole: bool = False) -> float:
        """A CPU (cores) or memory (bytes) amount; ``whole``: millicores or bytes as an int,
        rounded up like ``Quantity.MilliValue()`` / ``Value()``."""
        v = self.value(node)
        try:
            if whole:
                return cpu_millicores(v) if kind == "cpu" else memory_bytes(v)
            return parse_cpu(v) if kind == "cpu" else parse_memory(v)
        except ValueError:
            expected = (
                "cores as a number or a quantity such as 250m"
                if kind == "cpu"
                else "bytes as a number or a quantity such as 128Mi"
            )
            raise self.fail(
                node, path, f"{_shape(node)} is not a {kind} amount", expected
            ) from None

    # ----------------------------------------------------------------- shapes

    def signal(self, node: yaml.Node, path: str, kind: Kind) -> Signal:
        if isinstance(node, yaml.ScalarNode):
            return Constant(self.amount(node, path, kind))
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(
                node,
                path,
                f"{_shape(node)} is not a workload shape",
                "an amount or a mapping with type",
            )
        keys = {self.value(k) for k, _ in node.value}
        shape_type = None
        for knode, vnode in node.value:
            if self.value(knode) == "type":
                shape_type = self.enum(vnode, f"{path}.type", SHAPES)
        if shape_type is None:
            raise self.fail(
                node, f"{path}.type", "required key is missing", "one of " + ", ".join(SHAPES)
            )
        del keys
        try:
            return self._shape(node, path, kind, shape_type)
        except ValueError as exc:
            if isinstance(exc, SpecError):
                raise
            raise self.fail(node, path, str(exc)) from None

    def _shape(self, node: yaml.Node, path: str, kind: Kind, shape_type: str) -> Signal:
        a = lambda n, p: self.amount(n, p, kind)  # noqa: E731
        if shape_type == "constant":
            m = self.mapping(node, path, ["type", "value"], ["value"])
            return Constant(a(m["value"], f"{path}.value"))
        if shape_type == "ramp":
            m = self.mapping(
                node,
                path,
                ["type", "from", "to", "durationSeconds", "delaySeconds"],
                ["from", "to", "durationSeconds"],
            )
            return Ramp(
                a(m["from"], f"{path}.from"),
                a(m["to"], f"{path}.to"),
                self.num(m["durationSeconds"], f"{path}.durationSeconds", positive=True),
                self.num(m["delaySeconds"], f"{path}.delaySeconds") if "delaySeconds" in m else 0.0,
            )
        if shape_type == "step":
            m = self.mapping(node, path, ["type", "initial", "steps"], ["initial", "steps"])
            steps = []
            for i, sn in enumerate(self.seq(m["steps"], f"{path}.steps")):
                sp = f"{path}.steps[{i}]"
                sm = self.mapping(sn, sp, ["atSeconds", "value"], ["atSeconds", "value"])
                steps.append(
                    (self.num(sm["atSeconds"], f"{sp}.atSeconds"), a(sm["value"], f"{sp}.value"))
                )
            return Step(a(m["initial"], f"{path}.initial"), tuple(steps))
        if shape_type == "sine":
            m = self.mapping(
                node,
                path,
                ["type", "base", "amplitude", "periodSeconds", "phase"],
                ["base", "amplitude", "periodSeconds"],
            )
            return Sine(
                a(m["base"], f"{path}.base"),
                a(m["amplitude"], f"{path}.amplitude"),
                self.num(m["periodSeconds"], f"{path}.periodSeconds", positive=True),
                self.num(m["phase"], f"{path}.phase", lo=None) if "phase" in m else 0.0,
            )
        if shape_type == "spike":
            m = self.mapping(
                node,
                path,
                ["type", "base", "peak", "everySeconds", "widthSeconds", "offsetSeconds"],
                ["base", "peak", "everySeconds", "widthSeconds"],
            )
            return Spike(
                a(m["base"], f"{path}.base"),
                a(m["peak"], f"{path}.peak"),
                self.num(m["everySeconds"], f"{path}.everySeconds", positive=True),
                self.num(m["widthSeconds"], f"{path}.widthSeconds", positive=True),
                self.num(m["offsetSeconds"], f"{path}.offsetSeconds")
                if "offsetSeconds" in m
                else 0.0,
            )
        # points
        m = self.mapping(node, path, ["type", "points", "loop"], ["points"])
        pts = []
        for i, pn in enumerate(self.seq(m["points"], f"{path}.points")):
            pp = f"{path}.points[{i}]"
            pair = self.seq(pn, pp)
            if len(pair) != 2:
                raise self.fail(pn, pp, "a point needs two entries", "[seconds, amount]")
            pts.append((self.num(pair[0], f"{pp}[0]"), a(pair[1], f"{pp}[1]")))
        loop = self.bool_(m["loop"], f"{path}.loop") if "loop" in m else False
        return Trace(tuple(pts), loop)

    def workload(self, m: dict[str, yaml.Node], path: str, default: Workload) -> Workload:
        """``cpu``/``memory`` shapes, ``relative``, or ``trace`` (CSV) from a container mapping."""
        relative = self.bool_(m["relative"], f"{path}.relative") if "relative" in m else False
        if "trace" in m:
            if "cpu" in m or "memory" in m:
                raise self.fail(
                    m["trace"],
                    f"{path}.trace",
                    "trace replaces cpu and memory",
                    "either trace or cpu/memory",
                )
            tm = self.mapping(m["trace"], f"{path}.trace", ["file", "loop"], ["file"])
            f = self.base_dir / self.str_(tm["file"], f"{path}.trace.file")
            loop = self.bool_(tm["loop"], f"{path}.trace.loop") if "loop" in tm else False
            try:
                w = load_trace_csv(f, loop)
            except ValueError as exc:
                raise self.fail(tm["file"], f"{path}.trace.file", str(exc)) from None
            return dataclasses.replace(w, relative=relative)
        cpu = self.signal(m["cpu"], f"{path}.cpu", "cpu") if "cpu" in m else default.cpu
        mem = (
            self.signal(m["memory"], f"{path}.memory", "memory")
            if "memory" in m
            else default.memory
        )
        return Workload(cpu, mem, relative)

    # ----------------------------------------------------------------- objects

    def resources(self, node: yaml.Node, path: str) -> Resources:
        m = self.mapping(node, path, ["cpu", "memory"])
        cpu = int(self.amount(m["cpu"], f"{path}.cpu", "cpu", True)) if "cpu" in m else None
        mem = (
            int(self.amount(m["memory"], f"{path}.memory", "memory", True))
            if "memory" in m
            else None
        )
        return Resources(cpu, mem)

    def capacity(self, node: yaml.Node, path: str, default: Capacity) -> Capacity:
        m = self.mapping(node, path, ["cpu", "memory", "pods"])
        return Capacity(
            int(self.amount(m["cpu"], f"{path}.cpu", "cpu", True))
            if "cpu" in m
            else default.cpu_millicores,
            int(self.amount(m["memory"], f"{path}.memory", "memory", True))
            if "memory" in m
            else default.memory_bytes,
            self.int_(m["pods"], f"{path}.pods") if "pods" in m else default.pods,
        )

    def probe(self, node: yaml.Node, path: str) -> ReadinessProbe:
        m = self.mapping(node, path, ["initialDelaySeconds", "periodSeconds",
                                      "successThreshold"])
        return ReadinessProbe(
            self.int_(m["initialDelaySeconds"], f"{path}.initialDelaySeconds")
            if "initialDelaySeconds" in m else 0,
            self.int_(m["periodSeconds"], f"{path}.periodSeconds", 1)
            if "periodSeconds" in m else 10,
            self.int_(m["successThreshold"], f"{path}.successThreshold", 1)
            if "successThreshold" in m else 1,
        )

    def container(self, node: yaml.Node, path: str, init: bool) -> ContainerTemplate:
        keys = ["name", "image", "requests", "limits", "cpu", "memory", "relative", "trace",
                "startupSeconds", "terminationSeconds"]
        keys.append("runSeconds" if init else "readinessProbe")
        m = self.mapping(node, path, keys, ["name"])
        return ContainerTemplate(
            startup_seconds=self.num(m["startupSeconds"], f"{path}.startupSeconds")
            if "startupSeconds" in m else 0.0,
            readiness=self.probe(m["readinessProbe"], f"{path}.readinessProbe")
            if "readinessProbe" in m else None,
            termination_seconds=self.num(m["terminationSeconds"], f"{path}.terminationSeconds")
            if "terminationSeconds" in m else None,
            name=self.str_(m["name"], f"{path}.name", _NAME_RE, "a DNS-1123 label"),
            requests=self.resources(m["requests"], f"{path}.requests")
            if "requests" in m
            else Resources(),
            limits=self.resources(m["limits"], f"{path}.limits") if "limits" in m else Resources(),
            workload=self.workload(m, path, IDLE),
            run_seconds=self.num(m["runSeconds"], f"{path}.runSeconds")
            if "runSeconds" in m
            else None,
            image=self.str_(m["image"], f"{path}.image") if "image" in m else DEFAULT_IMAGE,
        )

    def containers(self, node: yaml.Node, path: str, init: bool) -> tuple[ContainerTemplate, ...]:
        out = tuple(
            self.container(n, f"{path}[{i}]", init) for i, n in enumerate(self.seq(node, path))
        )
        return out

    def pod(self, node: yaml.Node, path: str) -> PodTemplate:
        m = self.mapping(
            node,
            path,
            [
                "name",
                "count",
                "namespace",
                "labels",
                "owner",
                "containers",
                "initContainers",
                "sidecars",
                "pendingSeconds",
                "runSeconds",
                "finalPhase",
                "spread",
                "staggerSeconds",
                "ageSeconds",
            ],
            ["name", "containers"],
        )
        owner_kind: str | None = "ReplicaSet"
        owner_name: str | None = None
        if "owner" in m:
            if isinstance(m["owner"], yaml.ScalarNode) and self.value(m["owner"]) is None:
                owner_kind = None
            else:
                om = self.mapping(m["owner"], f"{path}.owner", ["kind", "name"], ["kind"])
                owner_kind = self.str_(om["kind"], f"{path}.owner.kind")
                if "name" in om:
                    owner_name = self.str_(
                        om["name"], f"{path}.owner.name", _SUBDOMAIN_RE, "a DNS-1123 subdomain"
                    )
        containers = self.containers(m["containers"], f"{path}.containers", False)
        if not containers:
            raise self.fail(
                m["containers"], f"{path}.containers", "a pod needs a container", "a non-empty list"
            )
        init = (
            self.containers(m["initContainers"], f"{path}.initContainers", True)
            if "initContainers" in m
            else ()
        )
        sidecars = (
            self.containers(m["sidecars"], f"{path}.sidecars", False) if "sidecars" in m else ()
        )
        names = [c.name for c in (*init, *sidecars, *containers)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise self.fail(node, path, f"duplicate container name(s) {', '.join(dup)}")
        return PodTemplate(
            name=self.str_(m["name"], f"{path}.name", _NAME_RE, "a DNS-1123 label"),
            count=self.int_(m["count"], f"{path}.count", 0, MAX_PODS_PER_NODE)
            if "count" in m
            else 1,
            namespace=self.str_(m["namespace"], f"{path}.namespace", _NAME_RE, "a DNS-1123 label")
            if "namespace" in m
            else "default",
            labels=self.str_map(m["labels"], f"{path}.labels") if "labels" in m else {},
            owner_kind=owner_kind,
            owner_name=owner_name,
            containers=containers,
            init_containers=init,
            sidecars=sidecars,
            pending_seconds=self.num(m["pendingSeconds"], f"{path}.pendingSeconds")
            if "pendingSeconds" in m
            else 0.0,
            run_seconds=self.num(m["runSeconds"], f"{path}.runSeconds")
            if "runSeconds" in m
            else None,
            final_phase=self.enum(m["finalPhase"], f"{path}.finalPhase", ["Succeeded", "Failed"])
            if "finalPhase" in m
            else "Succeeded",
            spread=self.fraction(m["spread"], f"{path}.spread") if "spread" in m else 0.0,
            stagger_seconds=self.num(m["staggerSeconds"], f"{path}.staggerSeconds")
            if "staggerSeconds" in m
            else 0.0,
            age_seconds=self.num(m["ageSeconds"], f"{path}.ageSeconds")
            if "ageSeconds" in m
            else None,
        )

    def pods(self, node: yaml.Node, path: str) -> tuple[PodTemplate, ...]:
        return tuple(self.pod(n, f"{path}[{i}]") for i, n in enumerate(self.seq(node, path)))

    def faults(self, node: yaml.Node, path: str) -> Faults:
        fields = {_camel(f.name): f.name for f in dataclasses.fields(Faults)}
        m = self.mapping(node, path, list(fields))
        kwargs: dict[str, Any] = {}
        for key, vnode in m.items():
            p = f"{path}.{key}"
            name = fields[key]
            if name == "latency_seconds":
                kwargs[name] = self.num(vnode, p)
            elif name == "http_status":
                kwargs[name] = (
                    None
                    if self.value(vnode) is None and isinstance(vnode, yaml.ScalarNode)
                    else self.int_(vnode, p, 100, 599)
                )
            elif name == "missing_pods":
                if isinstance(vnode, yaml.SequenceNode):
                    kwargs[name] = [
                        self.str_(n, f"{p}[{i}]", re.compile(r"^[^/]+/[^/]+$"), "namespace/name")
                        for i, n in enumerate(vnode.value)
                    ]
                else:
                    v = self.num(vnode, p)
                    if v > 1:
                        raise self.fail(
                            vnode, p, f"{v} is > 1", "a fraction 0..1 or a list of namespace/name"
                        )
                    kwargs[name] = v
            else:
                kwargs[name] = self.bool_(vnode, p)
        return Faults(**kwargs)

    def churn(self, node: yaml.Node, path: str, default: ChurnSpec) -> ChurnSpec:
        fields = {_camel(f.name): f.name for f in dataclasses.fields(ChurnSpec)}
        m = self.mapping(node, path, list(fields))
        changes: dict[str, Any] = {}
        for key, vnode in m.items():
            name = fields[key]
            if name.endswith("_per_minute"):
                rate = self.num(vnode, f"{path}.{key}")
                if rate > MAX_CHURN_PER_MINUTE:
                    raise self.fail(
                        vnode,
                        f"{path}.{key}",
                        f"{rate:g} is too high",
                        f"at most {MAX_CHURN_PER_MINUTE} per minute",
                    )
                changes[name] = rate
            else:
                changes[name] = self.int_(vnode, f"{path}.{key}")
        return default.replace(**changes)

    def group(self, node: yaml.Node, path: str, top: dict[str, Any]) -> NodeGroup:
        m = self.mapping(
            node,
            path,
            [
                "name",
                "count",
                "namePrefix",
                "certMode",
                "kubeletVersion",
                "port",
                "capacity",
                "allocatable",
                "labels",
                "overhead",
                "faults",
                "churn",
                "pods",
                "externalIP",
                "metricsPath",
                "replayDir",
                "housekeepingSeconds",
            ],
            ["name"],
        )
        capacity = (
            self.capacity(m["capacity"], f"{path}.capacity", Capacity())
            if "capacity" in m
            else Capacity()
        )
        version = top["kubelet_version"]
        if "kubeletVersion" in m:
            version = self.version(m["kubeletVersion"], f"{path}.kubeletVersion")
        overhead = DEFAULT_OVERHEAD
        if "overhead" in m:
            om = self.mapping(m["overhead"], f"{path}.overhead", ["cpu", "memory", "relative"])
            overhead = self.workload(om, f"{path}.overhead", DEFAULT_OVERHEAD)
        metrics_path = DEFAULT_METRICS_PATH
        if "metricsPath" in m:
            metrics_path = self.str_(
                m["metricsPath"],
                f"{path}.metricsPath",
                re.compile(r"^/\S*$"),
                "an absolute URL path",
            )
        replay_dir = None
        if "replayDir" in m:
            rd = self.base_dir / self.str_(m["replayDir"], f"{path}.replayDir")
            if not rd.is_dir():
                raise self.fail(m["replayDir"], f"{path}.replayDir", f"{rd} is not a directory")
            replay_dir = str(rd)
        return NodeGroup(
            name=self.str_(m["name"], f"{path}.name", _NAME_RE, "a DNS-1123 label"),
            count=self.int_(m["count"], f"{path}.count", 0, MAX_NODES) if "count" in m else 1,
            name_prefix=self.str_(
                m["namePrefix"], f"{path}.namePrefix", _SUBDOMAIN_RE, "a DNS-1123 subdomain"
            )
            if "namePrefix" in m
            else None,
            cert_mode=self.enum(m["certMode"], f"{path}.certMode", CERT_MODES)
            if "certMode" in m
            else top["cert_mode"],
            kubelet_version=version,
            port=self.int_(m["port"], f"{path}.port", 0, 65535) if "port" in m else 10250,
            capacity=capacity,
            allocatable=self.capacity(m["allocatable"], f"{path}.allocatable", capacity)
            if "allocatable" in m
            else None,
            labels=self.str_map(m["labels"], f"{path}.labels") if "labels" in m else {},
            overhead=overhead,
            faults=self.faults(m["faults"], f"{path}.faults") if "faults" in m else Faults(),
            churn=self.churn(m["churn"], f"{path}.churn", top["churn"])
            if "churn" in m
            else top["churn"],
            pods=self.pods(m["pods"], f"{path}.pods") if "pods" in m else top["pods"],
            external_ip=self.bool_(m["externalIP"], f"{path}.externalIP")
            if "externalIP" in m
            else False,
            metrics_path=metrics_path,
            replay_dir=replay_dir,
            housekeeping_seconds=self.num(m["housekeepingSeconds"], f"{path}.housekeepingSeconds")
            if "housekeepingSeconds" in m
            else 0.0,
        )

    def version(self, node: yaml.Node, path: str) -> str:
        v = self.value(node)
        text = str(v) if isinstance(v, str | int | float) and not isinstance(v, bool) else ""
        try:
            KubeletVersion.parse(text)
        except ValueError:
            raise self.fail(
                node,
                path,
                f"{_shape(node)} is not a kubelet version",
                "a version 1.18 or newer such as 1.30.0 (quote it)",
            ) from None
        return text

    def images(self, node: yaml.Node, path: str) -> tuple[ImageProfile, ...]:
        out = []
        for i, item in enumerate(self.seq(node, path)):
            where = f"{path}[{i}]"
            m = self.mapping(item, where, ["pattern", "startupSeconds", "terminationSeconds",
                                           "runSeconds", "cpu", "memory"], ["pattern"])
            base = ImageProfile()
            out.append(ImageProfile(
                pattern=self.str_(m["pattern"], f"{where}.pattern"),
                startup_seconds=self.num(m["startupSeconds"], f"{where}.startupSeconds")
                if "startupSeconds" in m else base.startup_seconds,
                termination_seconds=self.num(m["terminationSeconds"],
                                             f"{where}.terminationSeconds")
                if "terminationSeconds" in m else base.termination_seconds,
                run_seconds=self.num(m["runSeconds"], f"{where}.runSeconds")
                if "runSeconds" in m else base.run_seconds,
                cpu=self.amount(m["cpu"], f"{where}.cpu", "cpu") if "cpu" in m else base.cpu,
                memory=self.amount(m["memory"], f"{where}.memory", "memory")
                if "memory" in m else base.memory,
            ))
        return tuple(out)

    def fleet(self, root: yaml.Node) -> FleetSpec:
        m = self.mapping(
            root,
            "",
            [
                "seed",
                "addressBase",
                "startTime",
                "nodes",
                "podsPerNode",
                "certMode",
                "kubeletVersion",
                "churn",
                "pods",
                "nodeGroups",
                "warmupSeconds",
                "images",
            ],
        )
        top: dict[str, Any] = {
            "cert_mode": "ca-signed",
            "kubelet_version": DEFAULT_KUBELET_VERSION,
            "churn": ChurnSpec(),
            "pods": None,
        }
        if "certMode" in m:
            top["cert_mode"] = self.enum(m["certMode"], "certMode", CERT_MODES)
        if "kubeletVersion" in m:
            top["kubelet_version"] = self.version(m["kubeletVersion"], "kubeletVersion")
        if "churn" in m:
            top["churn"] = self.churn(m["churn"], "churn", ChurnSpec())
        pods = self.pods(m["pods"], "pods") if "pods" in m else None
        nodes = self.int_(m["nodes"], "nodes", 0, MAX_NODES) if "nodes" in m else None
        per_node = (
            self.int_(m["podsPerNode"], "podsPerNode", 0, MAX_PODS_PER_NODE)
            if "podsPerNode" in m
            else None
        )
        top["pods"] = (
            pods if pods is not None else _demo_templates(per_node if per_node is not None else 10)
        )
        seed = self.int_(m["seed"], "seed", lo=None) if "seed" in m else 0
        base = "127.1.0.1"
        if "addressBase" in m:
            base = self.str_(m["addressBase"], "addressBase")
            try:
                ip = ipaddress.IPv4Address(base)
            except ValueError:
                raise self.fail(
                    m["addressBase"],
                    "addressBase",
                    f"{base!r} is not an IPv4 address",
                    "an address in 127.0.0.0/8",
                ) from None
            if ip not in ipaddress.IPv4Network("127.0.0.0/8"):
                raise self.fail(
                    m["addressBase"],
                    "addressBase",
                    f"{base} is not in 127.0.0.0/8",
                    "an address in 127.0.0.0/8",
                )
        start = self.num(m["startTime"], "startTime") if "startTime" in m else None
        warmup = self.num(m["warmupSeconds"], "warmupSeconds") if "warmupSeconds" in m else 0.0
        if "nodeGroups" in m:
            items = self.seq(m["nodeGroups"], "nodeGroups")
            groups = tuple(self.group(n, f"nodeGroups[{i}]", top) for i, n in enumerate(items))
            seen_names: set[str] = set()
            seen_prefixes: set[str] = set()
            for i, g in enumerate(groups):
                if g.name in seen_names:
                    raise self.fail(
                        items[i], f"nodeGroups[{i}].name", f"duplicate group name {g.name!r}"
                    )
                if g.prefix in seen_prefixes:
                    raise self.fail(
                        items[i],
                        f"nodeGroups[{i}].namePrefix",
                        f"name prefix {g.prefix!r} is used by two groups",
                    )
                seen_names.add(g.name)
                seen_prefixes.add(g.prefix)
        else:
            groups = (
                NodeGroup(
                    name="node",
                    count=nodes if nodes is not None else 3,
                    cert_mode=top["cert_mode"],
                    kubelet_version=top["kubelet_version"],
                    churn=top["churn"],
                    pods=top["pods"],
                ),
            )
            nodes = None
        spec = FleetSpec(
            groups=groups,
            seed=seed,
            address_base=base,
            start_time=start,
            warmup_seconds=warmup,
            source=self.source,
            images=self.images(m["images"], "images") if "images" in m else (),
        )
        spec = with_overrides(
            spec,
            nodes=nodes,
            pods_per_node=per_node if pods is not None or "nodeGroups" in m else None,
        )
        try:
            AddressPoolCheck(spec.address_base, spec.node_count)
        except ValueError as exc:
            raise self.fail(m.get("addressBase", root), "addressBase", str(exc)) from None
        return spec


def AddressPoolCheck(base: str, count: int) -> None:
    """Raise ``ValueError`` if ``count`` consecutive addresses from ``base`` leave 127.0.0.0/8."""
    last = int(ipaddress.IPv4Address(base)) + count - 1
    if count > 0 and last > int(ipaddress.IPv4Address("127.255.255.255")):
        raise ValueError(f"address base {base} with {count} nodes would leave 127.0.0.0/8")


SHAPES = ("constant", "ramp", "step", "sine", "spike", "points")
MAX_NODES = 100_000  # a fleet has its own loopback address per node; keep typos from hanging
MAX_PODS_PER_NODE = 1_000
MAX_CHURN_PER_MINUTE = CHURN_MAX_PER_MINUTE


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _shape(node: yaml.Node) -> str:
    """How a YAML node reads in an error message."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        v = _CONSTRUCTOR.construct_object(node)
        return "null" if v is None else repr(v)
    return "this"


# =============================================================================== entry points


def load_spec_text(text: str, source: str = "<spec>", base_dir: str | Path = ".") -> FleetSpec:
    """Parse and validate a spec from text (``source`` names it in errors)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise SpecError(f"not valid YAML: {exc.problem}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}", file=source) from None
    if root is None:
        raise SpecError("the spec is empty", file=source, expected="a mapping with nodeGroups")
    return load_spec_node(root, source, base_dir)


def load_spec_node(root: yaml.Node, source: str, base_dir: str | Path = ".") -> FleetSpec:
    """Validate an already composed YAML node, e.g. a fleet embedded in a scenario file.

    The node keeps the marks of the file it was composed from, so errors name ``source`` at
    the enclosing file's lines; paths are relative to ``root``.
    """
    return _Validator(source, Path(base_dir)).fleet(root)


def load_spec(path: str | Path) -> FleetSpec:
    """Load and validate a fleet spec file; raises ``SpecError`` naming file, line and path."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=str(p)) from None
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", file=str(p)) from None
    return load_spec_text(text, str(p), p.parent)


def _from_data(data: object, what: str) -> yaml.Node:
    if isinstance(data, yaml.Node):
        return data
    text = yaml.safe_dump(data)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        raise SpecError(f"{what} is empty")
    return node


def workload_from_dict(data: object, source: str = "<request>") -> Workload:
    """A workload from the spec's container-level shape, e.g. ``{"cpu": "250m", "memory":
    {"type": "ramp", ...}}`` (for the control endpoint; same validation and messages)."""
    node = _from_data(data, "workload")
    v = _Validator(source, Path("."))
    m = v.mapping(node, "workload", ["cpu", "memory", "relative", "trace"])
    return v.workload(m, "workload", IDLE)


def pod_template_from_dict(data: object, source: str = "<request>") -> PodTemplate:
    """A pod template from the spec's pod shape (for the control endpoint)."""
    node = _from_data(data, "pod")
    return _Validator(source, Path(".")).pod(node, "pod")
