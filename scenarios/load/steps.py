"""Scenario ``load:`` steps: start, replace and stop load drivers for the runner.

A ``load:`` step sets the load on one Deployment (the load spec, ``scenarios.load.spec``);
a later one for the same Deployment replaces it from that moment (to stop: ``cores: 0``).
The drivers run in the runner's process, in real time, against the backend's cluster: pods
from a watch, usage through the fleet's control endpoint (``backend.load_io``). They stop
when the scenario ends. Instead of the walkthrough's ``kubectl run … load-generator`` (a
busybox loop that needs an attached shell), the demand is said in requests/s or cores.
"""

from __future__ import annotations

from typing import Any

from fakekubelet.clock import RealClock
from scenarios.load.driver import LoadDriver
from scenarios.load.spec import LoadSpec

__all__ = ["LoadSteps"]


class LoadSteps:
    """The running loads of one scenario run, by (namespace, deployment)."""

    def __init__(self, backend: Any, clock: Any = None) -> None:
        self.backend = backend
        self.clock = clock or RealClock()
        self.drivers: dict[tuple[str, str], tuple[LoadDriver, Any]] = {}

    async def apply(self, value: dict[str, Any]) -> LoadDriver:
        """Start (or replace) the load a step's validated ``load:`` value describes."""
        spec = LoadSpec.from_value(value)
        key = (spec.namespace, spec.deployment)
        await self._stop(key)
        source, sink = await self.backend.load_io(spec.namespace, spec.deployment,
                                                  spec.container)
        driver = LoadDriver(spec, self.clock, source, sink)
        driver.start()
        self.drivers[key] = (driver, source)
        return driver

    async def _stop(self, key: tuple[str, str]) -> None:
        entry = self.drivers.pop(key, None)
        if entry is None:
            return
        driver, source = entry
        await driver.stop()
        stop = getattr(source, "stop", None)
        if stop is not None:
            await stop()

    async def stop(self) -> None:
        for key in list(self.drivers):
            await self._stop(key)
