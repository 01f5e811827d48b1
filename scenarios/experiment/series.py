"""One variant's time series: the row recorded at each sample instant, and its CSV.

The CSV is the experiment's primary output (charts and the HTML report are drawn from the
same rows), so its columns are fixed, documented in docs/experiments.md, and formatted with
fixed precision: two runs of the same file and seed write the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from scenarios.experiment.summary import Sample

__all__ = ["COLUMNS", "Row", "read_csv", "samples_of", "write_csv"]


@dataclass(frozen=True)
class Row:
    time_s: float                    # simulated seconds since the start
    demand_cores: float              # what the load asks for
    capacity_cores: float            # what the Ready pods can serve (limit less baseline)
    needed_pods: int | None          # ceil(demand / per-pod target)
    pods_total: int                  # the deployment's pods, any phase, terminating included
    pods_ready: int                  # of those, Ready
    cpu_mean_cores: float | None     # per-pod CPU (ground truth) over running pods
    cpu_max_cores: float | None
    hpa_utilization_pct: int | None  # status.currentMetrics: what the HPA last saw
    hpa_average_cores: float | None
    desired_replicas: int | None     # status.desiredReplicas
    current_replicas: int | None     # status.currentReplicas
    spec_replicas: int               # the deployment's spec.replicas (what the HPA set)
    conditions: str                  # Type=Status:Reason, space separated
    events: str                      # events since the previous row: "Type Reason: message"


COLUMNS = tuple(f.name for f in fields(Row))
_CORES = {"demand_cores", "capacity_cores", "cpu_mean_cores", "cpu_max_cores",
          "hpa_average_cores"}


def _text(name: str, value: object) -> str:
    if value is None:
        return ""
    if name == "time_s":
        return f"{value:.3f}"
    if name in _CORES:
        return f"{value:.6f}"
    return str(value)


def write_csv(rows: Iterable[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_text(name, getattr(row, name)) for name in COLUMNS])
    return out.getvalue()


def _value(name: str, text: str) -> Any:
    if text == "" and name not in ("conditions", "events"):
        return None
    if name in ("conditions", "events"):
        return text
    if name == "time_s" or name in _CORES:
        return float(text)
    return int(text)


def read_csv(text: str) -> list[Row]:
    """Rows from :func:`write_csv`'s text (for tools that re-draw a report)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if tuple(header) != COLUMNS:
        raise ValueError(f"not an experiment CSV: header {header!r}")
    return [Row(**{name: _value(name, cell) for name, cell in zip(COLUMNS, line, strict=True)})
            for line in reader]


def samples_of(rows: Sequence[Row]) -> list[Sample]:
    """The summary's view of the rows."""
    return [Sample(t=r.time_s, demand=r.demand_cores, capacity=r.capacity_cores,
                   total=r.pods_total, ready=r.pods_ready, replicas=r.spec_replicas,
                   needed=r.needed_pods) for r in rows]
