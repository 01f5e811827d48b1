"""The one list of accepted differences, read from ``docs/peer-deviations.md``.

The document's tables are the machine-readable list: each row starts with an id — ``N<k>``
for what varies from run to run in upstream itself (times, pids, random ids, Go's map order),
``D<k>`` for a difference that remains between the real metrics-server and our side — then
the surface it applies to. The differential tests never ignore anything by themselves: every
normalisation and every accepted difference is a :class:`Rule` naming one entry, and a test
checks both ways that rules and entries match (an entry without a rule is stale, a rule
without an entry is a silent exception). A rule applies to exactly what its pattern matches
on its one surface, so an entry cannot quietly cover more than it says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "peer-deviations.md"
ROW = re.compile(r"^\| ([ND]\d+) \| ([a-z][a-z/ -]*) \| (.+) \|\s*$")

#: The surfaces the differential suite compares (an entry for another surface — the peer's
#: build, local pods — is the scenario pass's business).
SURFACES = ("api", "health", "metrics", "logs", "flags", "kubectl")


@dataclass(frozen=True)
class Entry:
    id: str
    surface: str
    text: str


@cache
def entries() -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m:
            if m.group(1) in found:
                raise AssertionError(f"{DOC.name}: {m.group(1)} is listed twice")
            found[m.group(1)] = Entry(m.group(1), m.group(2).strip(), m.group(3))
    return found


@dataclass(frozen=True)
class Rule:
    """One normalisation (``sub``) or accepted one-sided item (``only_in``), for one entry.

    A rule whose pattern is empty is a structural normalisation done by the code that holds
    it (sorting containers, kubectl's container rows): it exists to name its entry."""

    id: str
    surface: str
    pattern: re.Pattern[Any]
    replacement: Any = ""
    #: for accepted differences: the server whose output alone may have what matches
    only_in: str = ""

    def sub(self, text: Any) -> Any:
        return self.pattern.sub(self.replacement, text)

    def allows(self, server: str, text: str) -> bool:
        return self.only_in == server and self.pattern.fullmatch(text) is not None


RULES: list[Rule] = []


def rule(id: str, surface: str, pattern: str | bytes,
         replacement: str | bytes | Callable[[re.Match[str]], str] = "", *, only_in: str = "",
         flags: int = 0) -> Rule:
    """Register a rule; its entry must exist in the document with the same surface."""
    entry = entries().get(id)
    if entry is None:
        raise AssertionError(f"rule for {id}: no such entry in {DOC}")
    if surface not in entry.surface.split("/"):
        raise AssertionError(f"rule for {id} on {surface}: the entry is about {entry.surface}")
    made = Rule(id, surface, re.compile(pattern, flags), replacement, only_in)
    RULES.append(made)
    return made


def rules(surface: str) -> list[Rule]:
    """The textual normalisations of a surface (structural and one-sided rules excluded)."""
    return [r for r in RULES if r.surface == surface and not r.only_in and r.pattern.pattern]


def accepted(surface: str) -> list[Rule]:
    return [r for r in RULES if r.surface == surface and r.only_in]
