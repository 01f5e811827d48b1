"""The parsed case: frozen values that the algorithm reads (times and durations in nanoseconds,
quantities exact).

Kept apart from the parser (:mod:`.case`) so the algorithm's modules depend on plain data only;
field names follow the Kubernetes objects they come from, in snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import gotime
from .quantities import Quantity

LATEST_KUBE_VERSION = (1, 35)


class CaseError(ValueError):
    """A case that cannot be reconciled: ``path`` names the field, ``message`` the problem."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


@dataclass(frozen=True)
class ControllerConfig:
    sync_period: int = 15 * gotime.SECOND
    tolerance: float = 0.1
    cpu_initialization_period: int = 5 * gotime.MINUTE
    initial_readiness_delay: int = 30 * gotime.SECOND
    downscale_stabilization: int = 5 * gotime.MINUTE
    scale_up_limit_factor: float = 2.0
    scale_up_limit_minimum: float = 4.0
    kube_version: tuple[int, int] = LATEST_KUBE_VERSION
    gates: Mapping[str, bool] = field(default_factory=dict)

    def gate(self, name: str) -> bool:
        return bool(self.gates.get(name, False))


@dataclass(frozen=True)
class ReadyCondition:
    status: str
    last_transition: int


@dataclass(frozen=True)
class Container:
    name: str
    requests: Mapping[str, Quantity]
    restart_policy: str | None = None


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str]
    phase: str
    deleting: bool
    start_time: int | None
    ready: ReadyCondition | None
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...]
    pod_requests: Mapping[str, Quantity] | None
    overhead: Mapping[str, Quantity]


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    usage: Mapping[str, Quantity]


@dataclass(frozen=True)
class PodMetrics:
    name: str
    timestamp: int
    window: int
    containers: tuple[ContainerUsage, ...]


@dataclass(frozen=True)
class MetricValue:
    """One ``custom.metrics.k8s.io`` MetricValue or ``external.metrics.k8s.io`` value."""

    kind: str
    name: str
    metric: str
    value: Quantity
    timestamp: int
    window: int | None


@dataclass(frozen=True)
class Target:
    type: str
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@dataclass(frozen=True)
class MetricSpec:
    type: str
    raw: Mapping[str, Any]
    name: str = ""  # resource name, or metric name for Pods/Object/External
    container: str = ""
    target: Target = Target("")
    selector: Mapping[str, Any] | None = None  # metric selector (Pods/Object/External)
    described: Mapping[str, str] | None = None  # Object's describedObject


@dataclass(frozen=True)
class Policy:
    type: str
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int | None
    select_policy: str
    policies: tuple[Policy, ...]
    tolerance: Quantity | None


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class HPA:
    name: str
    namespace: str
    target_api_version: str
    target_kind: str
    target_name: str
    min_replicas: int | None
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    behavior: Behavior | None
    status: Mapping[str, Any]
    defaults_applied: tuple[str, ...]


@dataclass(frozen=True)
class Scale:
    spec_replicas: int
    status_replicas: int
    selector: str


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    timestamp: int


@dataclass(frozen=True)
class ScaleEvent:
    replica_change: int
    timestamp: int
    outdated: bool = False


@dataclass(frozen=True)
class History:
    recommendations: tuple[Recommendation, ...] | None
    scale_up_events: tuple[ScaleEvent, ...] = ()
    scale_down_events: tuple[ScaleEvent, ...] = ()


@dataclass(frozen=True)
class OtherHPA:
    namespace: str
    name: str
    selector: str


@dataclass(frozen=True)
class Case:
    now: int
    controller: ControllerConfig
    hpa: HPA
    scale: Scale | str
    pods: tuple[Pod, ...]
    pod_metrics: tuple[PodMetrics, ...] | str
    custom_metrics: tuple[MetricValue, ...] | str | None
    external_metrics: Mapping[str, tuple[MetricValue, ...] | str] | str | None
    history: History
    other_hpas: tuple[OtherHPA, ...]
    scale_update_error: str | None
