"""Which asyncio event loop the ``metricsd`` process runs on: uvloop when it is installed.

uvloop (libuv, with its TLS layer in Cython) cuts the per-request cost of the scrape loop by
about 10 % of metricsd's CPU per cycle at 1,000 nodes (``docs/performance.md``), with the same
``asyncio`` semantics. ``METRICSD_EVENT_LOOP=asyncio`` selects the standard loop (for debugging,
or to compare); the test suite runs its in-process tests on the standard loop and the TLS-heavy
modules on both.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ENV", "loop_name", "run"]

ENV = "METRICSD_EVENT_LOOP"
T = TypeVar("T")


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: what :func:`run` will use in this environment."""
    wanted = os.environ.get(ENV, "uvloop").strip().lower()
    if wanted not in ("uvloop", "asyncio"):
        raise ValueError(f"{ENV}={wanted!r}: expected 'uvloop' or 'asyncio'")
    if wanted == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "asyncio"
    return wanted


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
