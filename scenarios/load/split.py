"""Demand split among a deployment's pods as a Service spreads it: only Ready pods serve.

A Service balances connections over the Ready endpoints, so each gets an equal share of the
requests — until a pod reaches its CPU limit (the cgroup throttles it; it serves no more) and
the rest of the demand goes to the others, or is not served at all when every pod is at its
limit (the overload an HPA exists for). Every running pod also uses a ``baseline`` (the
application idling), Ready or not; a pod's capacity for load is its limit less that baseline.

So, with ``D`` the demand in cores and ``cap_i`` the capacity of each Ready pod:
``Σ cpu = min(D, Σ cap_i) + n · baseline`` over the pods given — the property the tests check.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["PodShare", "Slot", "split"]


@dataclass(frozen=True)
class Slot:
    """A pod the load may go to: ``ready`` (an endpoint of the Service), its CPU limit."""

    key: Hashable
    ready: bool
    limit: float | None = None  # cores; None: no limit


@dataclass(frozen=True)
class PodShare:
    """What one pod gets: the load it serves (cores) and its CPU including the baseline."""

    load: float
    cpu: float


def split(demand: float, slots: Sequence[Slot], baseline: float = 0.0) -> dict[Hashable, PodShare]:
    """Water-filling: equal shares of ``demand`` (cores) over the Ready pods, each capped at
    its capacity, the excess spread over the others."""
    if not (math.isfinite(demand) and demand >= 0):
        raise ValueError(f"demand must be >= 0 cores, got {demand}")
    capacity = {s.key: math.inf if s.limit is None else max(0.0, s.limit - baseline)
                for s in slots if s.ready}
    load: dict[Hashable, float] = dict.fromkeys(capacity, 0.0)
    left = demand
    open_keys = sorted(capacity, key=lambda k: capacity[k])  # smallest capacity first
    while open_keys and left > 1e-15:
        share = left / len(open_keys)
        smallest = open_keys[0]
        if capacity[smallest] <= share:
            load[smallest] = capacity[smallest]
            left -= capacity[smallest]
            open_keys.pop(0)
            continue
        for k in open_keys:
            load[k] = share
        left = 0.0
    return {s.key: PodShare(load.get(s.key, 0.0), baseline + load.get(s.key, 0.0))
            for s in slots}
