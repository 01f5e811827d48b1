"""Node points: the latest and an older usable point per node (upstream ``nodeStorage``)."""

from __future__ import annotations

from collections.abc import Iterable

from metricsd.scraper.batch import LogFn, MetricsPoint, format_go_time_string, no_log
from metricsd.storage.rates import RateError, Usage, resource_usage

__all__ = ["NodeStorage"]


class NodeStorage:
    """``last`` holds the nodes of the latest batch; ``prev`` an older point for a rate."""

    def __init__(self, log: LogFn = no_log) -> None:
        self._log = log
        self.last: dict[str, MetricsPoint] = {}
        self.prev: dict[str, MetricsPoint] = {}
        self._cache: dict[str, Usage | RateError | None] = {}

    def store(self, nodes: dict[str, MetricsPoint]) -> None:
        """Replace ``last`` by ``nodes``; keep a prev only when it is strictly older."""
        old_last, old_prev = self.last, self.prev
        last: dict[str, MetricsPoint] = {}
        prev: dict[str, MetricsPoint] = {}
        for name, new in nodes.items():
            last[name] = new
            before = old_last.get(name)
            if before is None:
                continue
            if new.timestamp > before.timestamp:
                prev[name] = before
                continue
            older = old_prev.get(name)
            if older is None:
                continue
            if older.timestamp < new.timestamp:
                prev[name] = older
            else:
                self._log(
                    2,
                    "Found new node metrics point is older than stored previous, drop previous",
                    node=name,
                    previousTimestamp=format_go_time_string(older.timestamp),
                    timestamp=format_go_time_string(new.timestamp),
                )
        self.last, self.prev = last, prev
        self._cache = {}

    def points(self) -> int:
        """Nodes with a usable previous point (``metrics_server_storage_points{type="node"}``)."""
        return len(self.prev)

    def usage(self, name: str) -> Usage | None:
        """The node's usage, or ``None`` (no two points, or the rate is invalid — logged)."""
        cache = self._cache
        if name in cache:
            result = cache[name]
        else:
            last = self.last.get(name)
            prev = self.prev.get(name)
            if last is None or prev is None:
                result = None
            else:
                try:
                    result = resource_usage(last, prev, self._log)
                except RateError as err:
                    result = err
            cache[name] = result
        if isinstance(result, RateError):
            self._log(-1, "Skipping node usage metric", err=str(result), node=name)
            return None
        return result

    def usages(self, names: Iterable[str]) -> list[tuple[str, Usage]]:
        out = []
        for name in names:
            u = self.usage(name)
            if u is not None:
                out.append((name, u))
        return out
