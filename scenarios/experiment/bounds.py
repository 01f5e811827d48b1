"""Bounds on a summary table (an experiment's ``expect:``), parsed on load, checked after.

A bound is a comparison on one summary figure (``scenarios.experiment.summary.FIELDS``):
``"<= 105"``, ``">= 6"``, ``"== 1"``; or against the same figure of another variant, with an
optional offset: ``"< default"``, ``"<= default - 30"``. A list of bounds must all hold.

A figure that never happened — no scale-down at all, demand that never got back under
capacity — is *never*, which compares as +∞: later and longer than any number. So
``firstScaleDown: ">= 660"`` ("no scale-down before 660 s") holds when there was none, and
``timeToCapacity: "<= 120"`` fails when capacity was never reached.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scenarios.experiment.summary import FIELDS, Summary

__all__ = ["BOUND_PATTERN", "Bound", "BoundFailure", "check_bounds", "parse_bound"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
    ">": operator.gt, "<": operator.lt,
}
_NUMBER = r"-?\d+(?:\.\d+)?"
BOUND_PATTERN = re.compile(
    rf"\s*(==|!=|>=|<=|>|<)\s*(?:(?P<number>{_NUMBER})|(?P<variant>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)"
    rf"(?:\s*(?P<sign>[+-])\s*(?P<offset>\d+(?:\.\d+)?))?)\s*")
#: figures whose "never" is None (compare as +inf); the rest are always numbers (or None
#: when the HPA has no CPU target: over/under-provisioning cannot be bounded then).
NEVER_IS_INFINITE = frozenset({"firstScaleUp", "firstScaleDown", "timeToCapacity"})


@dataclass(frozen=True)
class Bound:
    key: str                 # summary figure (expect key)
    op: str
    number: float | None     # a fixed bound ...
    variant: str | None      # ... or the same figure of this variant
    offset: float = 0.0

    @property
    def text(self) -> str:
        if self.variant is None:
            return f"{self.op} {self.number:g}"
        shift = f" {'+' if self.offset >= 0 else '-'} {abs(self.offset):g}" if self.offset else ""
        return f"{self.op} {self.variant}{shift}"


@dataclass(frozen=True)
class BoundFailure:
    variant: str
    bound: Bound
    actual: str
    limit: str

    def render(self) -> str:
        label = FIELDS[self.bound.key][1]
        return (f"[{self.variant}] {self.bound.key} ({label}) {self.bound.text}: got "
                f"{self.actual}, bound {self.limit}")


def parse_bound(key: str, text: str) -> Bound:
    """A bound for figure ``key``; ValueError says what is wrong."""
    if key not in FIELDS:
        raise ValueError(f"unknown summary figure {key!r}; expected one of "
                         f"{', '.join(FIELDS)}")
    m = BOUND_PATTERN.fullmatch(text)
    if m is None:
        raise ValueError(f"expected a comparison such as '<= 105', '>= 6' or '< default', "
                         f"got {text!r}")
    op = m.group(1)
    if m.group("number") is not None:
        return Bound(key, op, float(m.group("number")), None)
    offset = float(m.group("offset") or 0)
    return Bound(key, op, None, m.group("variant"),
                 -offset if m.group("sign") == "-" else offset)


def _figure(summary: Summary, key: str) -> float | None:
    value = summary.value(key)
    if value is None and key in NEVER_IS_INFINITE:
        return math.inf
    return value


def _show(value: float | None) -> str:
    if value is None:
        return "not measured"
    if math.isinf(value):
        return "never"
    return f"{value:g}"


def check_bounds(bounds: Mapping[str, list[Bound]], summaries: Mapping[str, Summary]
                 ) -> list[BoundFailure]:
    """Every failed bound of every variant (``bounds``: variant → its bounds)."""
    failures = []
    for variant, wanted in bounds.items():
        summary = summaries[variant]
        for bound in wanted:
            actual = _figure(summary, bound.key)
            if bound.variant is None:
                limit = bound.number
            else:
                other = _figure(summaries[bound.variant], bound.key)
                limit = None if other is None else other + bound.offset
            ok = actual is not None and limit is not None and _OPS[bound.op](actual, limit)
            if not ok:
                failures.append(BoundFailure(variant, bound, _show(actual), _show(limit)))
    return failures
