"""Churn: pods and nodes that come and go, containers that restart, addresses that move.

Every kind of churn is a Poisson process with a seeded RNG. Arrivals are scheduled on the
cluster's event queue at exact times, and every random draw happens while processing an event
in (time, sequence) order — so the same seed and the same clock give the same fleet however
often anyone looks at it. Rates are per minute: per node for pod and container churn (the
group's rate is that times its current node count), per group for node churn.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

CHURN_KINDS = (
    "pod_create",
    "pod_delete",
    "container_restart",
    "node_join",
    "node_leave",
    "address_change",
)
_PER_NODE = {"pod_create", "pod_delete", "container_restart"}
MAX_PER_MINUTE = 600  # events per minute per node (or group); beyond that a typo, not a test


@dataclass(frozen=True)
class ChurnSpec:
    """Rates (events per minute) for one node group; 0 disables a kind."""

    pod_create_per_minute: float = 0.0  # per node
    pod_delete_per_minute: float = 0.0  # per node
    container_restart_per_minute: float = 0.0  # per node
    node_join_per_minute: float = 0.0  # per group
    node_leave_per_minute: float = 0.0  # per group
    address_change_per_minute: float = 0.0  # per group
    min_nodes: int = 0  # node_leave never goes below this
    max_nodes: int | None = None  # node_join never goes above this
    max_pods_per_node: int | None = None  # pod_create stops here (default: node's pod capacity)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_per_minute") and not (
                math.isfinite(v) and 0 <= v <= MAX_PER_MINUTE
            ):
                raise ValueError(f"churn {f.name} must be 0..{MAX_PER_MINUTE}, got {v}")
        if self.min_nodes < 0:
            raise ValueError("churn min_nodes must be >= 0")

    def rate(self, kind: str) -> float:
        return float(getattr(self, f"{kind}_per_minute"))

    def replace(self, **changes: object) -> ChurnSpec:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown churn setting(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def active(self) -> bool:
        return any(self.rate(k) > 0 for k in CHURN_KINDS)


def effective_rate(spec: ChurnSpec, kind: str, node_count: int) -> float:
    """Events per second for the whole group."""
    per_minute = spec.rate(kind) * (node_count if kind in _PER_NODE else 1)
    return per_minute / 60.0


def next_arrival(rng: random.Random, t: float, rate_per_second: float) -> float | None:
    """Time of the next Poisson arrival after ``t``, or None when the rate is zero."""
    if rate_per_second <= 0:
        return None
    return t + rng.expovariate(rate_per_second)
