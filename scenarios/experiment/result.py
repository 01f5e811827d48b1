"""What one variant's run leaves behind: its rows, rescales, events and summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from scenarios.experiment.schema import Variant
from scenarios.experiment.series import Row
from scenarios.experiment.summary import ScaleEvent, Summary

__all__ = ["EventRecord", "VariantResult"]


@dataclass(frozen=True)
class EventRecord:
    """An Event as ``kubectl describe`` lists it (``t``: simulated seconds of this occurrence)."""

    t: float
    type: str
    reason: str
    object: str          # Kind/name
    message: str
    source: str


@dataclass
class VariantResult:
    variant: Variant
    rows: list[Row]
    scale_events: list[ScaleEvent]
    events: list[EventRecord]
    summary: Summary
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.variant.name
