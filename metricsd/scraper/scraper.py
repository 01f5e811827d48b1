"""One scrape cycle over every selected node, and the loop that runs it each resolution.

Upstream facts this follows (metrics-server's pkg/scraper/scraper.go): one concurrent request per
node, each first sleeping a random ``0 … min(8 ms × nodes, 4000 ms) − 1`` ms; then a fresh
``--kubelet-request-timeout`` deadline inside the tick deadline (= resolution); failures logged
with the exact texts of ``scraper.go:147/149``; per-node batches merged first-arrival-wins;
self-metrics per request; a Go-ticker loop (first tick at once, overruns leave at most one
pending tick). The random source and the clock are injected so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from metricsd.clock import Clock
from metricsd.scraper.addresses import NoAddressError, NodeEndpoint
from metricsd.scraper.batch import LogFn, MetricsBatch, merge_batches, no_log
from metricsd.scraper.client import KubeletClient, KubeletRequestError, host_port_of
from metricsd.scraper.decode import DecodeError, decode_batch

__all__ = [
    "DELAY_PER_NODE_MS",
    "MAX_DELAY_MS",
    "NullRecorder",
    "ScrapeLoop",
    "ScrapeRecorder",
    "Scraper",
    "go_duration",
    "stagger_bound_ms",
]

DELAY_PER_NODE_MS = 8
MAX_DELAY_MS = 4000
ERROR = -1  # LogFn level for error lines


class ScrapeRecorder(Protocol):
    """The self-metrics the scraper updates (``metrics_server_kubelet_*``, tick duration)."""

    def kubelet_request(self, node: str, duration_s: float, success: bool, now: float) -> None:
        ...

    def tick(self, duration_s: float) -> None: ...


class NullRecorder:
    """Records nothing (tests, benchmarks)."""

    def kubelet_request(self, node: str, duration_s: float, success: bool, now: float) -> None:
        return None

    def tick(self, duration_s: float) -> None:
        return None


def stagger_bound_ms(node_count: int) -> int:
    """Exclusive upper bound of the per-node start delay in ms (0 when there are no nodes)."""
    return min(DELAY_PER_NODE_MS * node_count, MAX_DELAY_MS)


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for a non-negative duration (``31.83941ms``, ``1m0s``)."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return _trim(ns, 1_000) + "µs"
    if ns < 1_000_000_000:
        return _trim(ns, 1_000_000) + "ms"
    hours, rem = divmod(ns, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    secs = _trim(rem, 1_000_000_000) + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


def _trim(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


class Scraper:
    """Scrapes every node once; returns the merged batch (upstream ``scraper.Scrape``)."""

    def __init__(
        self,
        client: KubeletClient,
        list_nodes: Callable[[], Sequence[NodeEndpoint]],
        *,
        clock: Clock,
        node_selector: str = "",
        rng: random.Random | None = None,
        recorder: ScrapeRecorder | None = None,
        log: LogFn = no_log,
    ) -> None:
        self.client = client
        self.list_nodes = list_nodes
        self.clock = clock
        self.node_selector = node_selector
        self.rng = rng or random.Random()
        self.recorder: ScrapeRecorder = recorder or NullRecorder()
        self.log = log
        self.last_stagger_s = 0.0  # the latest cycle's longest start delay (for benchmarks)

    @property
    def timeout_text(self) -> str:
        return go_duration(self.client.config.timeout_s)

    async def scrape(self, deadline: float | None = None) -> MetricsBatch:
        """One cycle. ``deadline`` (clock monotonic seconds) is the tick's: no request runs
        past it, but nodes that answered in time still count (as upstream's context)."""
        try:
            nodes = list(self.list_nodes())
        except Exception as err:  # a lister failure must not kill the loop
            self.log(ERROR, "Failed to list nodes", err=str(err))
            nodes = []
        self.log(1, "Scraping metrics from nodes", nodes=[n.name for n in nodes],
                 nodeCount=len(nodes), nodeSelector=self.node_selector)
        start = self.clock.monotonic()
        bound = stagger_bound_ms(len(nodes))
        arrived: list[MetricsBatch] = []
        delays = [self.rng.randrange(bound) for _ in nodes]
        self.last_stagger_s = max(delays, default=0) / 1000
        tasks = [
            asyncio.create_task(self._scrape_node(node, delay, arrived, deadline))
            for node, delay in zip(nodes, delays, strict=True)
        ]
        try:
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        batch = merge_batches(arrived, self.log)
        self.log(1, "Scrape finished", duration=go_duration(self.clock.monotonic() - start),
                 nodeCount=len(batch.nodes), podCount=len(batch.pods))
        return batch

    async def _scrape_node(self, node: NodeEndpoint, delay_ms: int,
                           arrived: list[MetricsBatch], deadline: float | None) -> None:
        await self.clock.sleep(delay_ms / 1000)
        timeout = self.client.config.timeout_s
        if deadline is not None:
            timeout = min(timeout, deadline - self.clock.monotonic())
        self.log(2, "Scraping node", node=node.name)
        try:
            batch = await self.collect_node(node, timeout)
        except KubeletRequestError as err:
            if err.timeout:
                self.log(ERROR, "Failed to scrape node, timeout to access kubelet",
                         err=err.text, node=node.name, timeout=self.timeout_text)
            else:
                self.log(ERROR, "Failed to scrape node", err=err.text, node=node.name)
            if err.debug:  # the Python exception behind the Go text: for metricsd's own
                # debugging only, above any verbosity upstream logs at (it has no such line)
                self.log(10, "Kubelet request error detail", node=node.name, detail=err.debug)
            return
        arrived.append(batch)

    async def collect_node(self, node: NodeEndpoint, timeout_s: float | None = None
                           ) -> MetricsBatch:
        """Fetch and decode one node, recording the per-request self-metrics."""
        start = self.clock.monotonic()
        success = False
        try:
            try:
                url = self.client.url_for(node)
            except NoAddressError as err:
                raise KubeletRequestError(str(err)) from None
            host, port = host_port_of(url)
            response = await self.client.get(url, host, port, timeout_s)
            try:
                batch = decode_batch(response.body, int(response.request_time * 1e9),
                                     node.name, self.log)
            except DecodeError as err:
                raise KubeletRequestError(str(err)) from None
            success = True
            return batch
        finally:
            self.recorder.kubelet_request(
                node.name, self.clock.monotonic() - start, success, float(int(self.clock.now()))
            )


class ScrapeLoop:
    """Runs ``tick`` every resolution with Go-ticker semantics and stores each batch."""

    def __init__(
        self,
        scraper: Scraper,
        store: Callable[[MetricsBatch], None],
        resolution_s: float,
        *,
        clock: Clock,
        recorder: ScrapeRecorder | None = None,
        log: LogFn = no_log,
    ) -> None:
        self.scraper = scraper
        self.store = store
        self.resolution_s = resolution_s
        self.clock = clock
        self.recorder: ScrapeRecorder = recorder or NullRecorder()
        self.log = log
        self.tick_last_start: float | None = None  # wall time of the latest tick
        self.tick_last_start_mono: float | None = None  # clock.monotonic() of the same
        self.ticks = 0
        self.tick_done = asyncio.Event()  # set after every completed tick (tests await it)

    async def tick(self, tick_wall: float, tick_mono: float) -> None:
        self.tick_last_start = tick_wall
        self.tick_last_start_mono = tick_mono
        self.log(6, "Scraping metrics")
        batch = await self.scraper.scrape(self.clock.monotonic() + self.resolution_s)
        self.log(6, "Storing metrics")
        self.store(batch)
        self.recorder.tick(self.clock.monotonic() - tick_mono)
        self.log(6, "Scraping cycle complete")
        self.ticks += 1
        self.tick_done.set()
        self.tick_done = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tick until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        period = self.resolution_s
        start_mono = self.clock.monotonic()
        start_wall = self.clock.now()
        index = 0
        tick_mono = start_mono
        while not stop.is_set():
            try:
                await self.tick(start_wall + (tick_mono - start_mono), tick_mono)
            except Exception as err:  # keep ticking: one bad cycle must not stop collection
                self.log(ERROR, "Scrape cycle failed", err=f"{type(err).__name__}: {err}")
            now = self.clock.monotonic()
            next_mono = start_mono + (index + 1) * period
            if next_mono <= now:
                # overran: the first missed tick is pending, later ones were dropped
                tick_mono = next_mono
                index = max(index + 1, math.floor((now - start_mono) / period))
                continue
            if await _sleep_or_stop(self.clock, next_mono - now, stop):
                return
            tick_mono = next_mono
            index += 1


async def _sleep_or_stop(clock: Clock, seconds: float, stop: asyncio.Event) -> bool:
    """Sleep on ``clock``; True when ``stop`` was set first."""
    sleeper = asyncio.create_task(clock.sleep(seconds))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, stopper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return stopper in done
