"""Accelerated time: the whole simulated cluster in one process on one virtual clock.

``run(main())`` runs a coroutine on a :class:`SimEventLoop`, whose time is virtual and moves
only at quiescence (nothing runnable, nothing in flight); :class:`SimCluster` composes the
fleet, the control plane and metricsd's real ``MetricsServer`` on it. See docs/simtime.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from scenarios.simtime.clock import DEFAULT_START, SimClock
from scenarios.simtime.cluster import AdminClient, APIError, Periodic, SimCluster
from scenarios.simtime.loop import SimEventLoop, SimStats, SimulationStalled

__all__ = [
    "DEFAULT_START",
    "APIError",
    "AdminClient",
    "Periodic",
    "SimClock",
    "SimCluster",
    "SimEventLoop",
    "SimStats",
    "SimulationStalled",
    "run",
]

T = TypeVar("T")


def run(
    main: Coroutine[Any, Any, T],
    *,
    start: float | None = None,
    stall_timeout: float = 10.0,
    loop: SimEventLoop | None = None,
) -> T:
    """``asyncio.run(main)`` on a :class:`SimEventLoop` whose clock starts at ``start``
    (Unix seconds; default :data:`DEFAULT_START`). Pass ``loop`` to read its stats after."""
    sim = loop if loop is not None else SimEventLoop(start, stall_timeout=stall_timeout)
    with asyncio.Runner(loop_factory=lambda: sim) as runner:
        return runner.run(main)
