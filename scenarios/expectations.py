"""Checking a step's outcome against its `expect:` block.

Each check returns a list of failures; a failure says what was expected and what happened, so
the runner can print a readable diff without knowing which matcher produced it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: where (e.g. ``stderr``), what was wanted, what was seen."""

    where: str
    expected: str
    actual: str
    diff: str = ""

    def render(self) -> str:
        out = [f"  {self.where}: expected {self.expected}", f"  {self.where}: got {self.actual}"]
        if self.diff:
            out.append(self.diff)
        return "\n".join(out)


def _show(text: str, limit: int = 400) -> str:
    shown = text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
    return repr(shown)


def check_text(where: str, matcher: dict[str, Any], text: str) -> list[Failure]:
    """Apply a text matcher (equals / contains / notContains / regex) to ``text``; each of
    contains, notContains and regex is a string or a list whose every item must hold."""
    failures: list[Failure] = []
    if "equals" in matcher:
        want = matcher["equals"]
        if text.rstrip("\n") != want.rstrip("\n"):
            diff = "\n".join(
                "    " + line
                for line in difflib.unified_diff(
                    want.rstrip("\n").splitlines(),
                    text.rstrip("\n").splitlines(),
                    "expected",
                    "actual",
                    lineterm="",
                )
            )
            failures.append(Failure(where, f"exactly {_show(want)}", _show(text), diff))
    for piece in matcher.get("contains", []):
        if piece not in text:
            failures.append(Failure(where, f"to contain {piece!r}", _show(text)))
    for piece in matcher.get("notContains", []):
        if piece in text:
            failures.append(Failure(where, f"not to contain {piece!r}", _show(text)))
    patterns = matcher.get("regex", [])
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        if not re.search(pattern, text, re.MULTILINE):
            failures.append(Failure(where, f"to match /{pattern}/", _show(text)))
    return failures


def text_matches(matcher: dict[str, Any], text: str) -> bool:
    return not check_text("", matcher, text)


_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """Look up a dotted path (`items.0.usage.cpu`, `metadata.name`); missing → a sentinel."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and re.fullmatch(r"-?\d+", part):
            index = int(part)
            if -len(current) <= index < len(current):
                current = current[index]
            else:
                return _MISSING
        elif isinstance(current, list) and part == "length":
            return len(current)
        else:
            return _MISSING
    return current


def check_json(expected: dict[str, Any], document: Any) -> list[Failure]:
    failures = []
    for path, want in expected.items():
        got = json_path(document, path)
        if got is _MISSING:
            failures.append(Failure(f"json {path}", repr(want), "nothing at that path"))
        elif got != want:
            failures.append(Failure(f"json {path}", repr(want), repr(got)))
    return failures


_COMPARE = re.compile(r"^(==|!=|>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$")
_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?$")


def _labels(text: str) -> dict[str, str]:
    return dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', text))


def metric_value(exposition: str, series: str) -> float | None:
    """The sum of samples named ``series`` (a sample name, with optional `{l="v"}` subset)."""
    match = _SERIES.match(series.strip())
    if not match:
        raise ValueError(f"not a series selector: {series!r}")
    name, wanted = match.group(1), _labels(match.group(3) or "")
    total: float | None = None
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name != name:
                continue
            if all(sample.labels.get(k) == v for k, v in wanted.items()):
                total = (total or 0.0) + sample.value
    return total


def check_metrics(expected: dict[str, str], exposition: str) -> list[Failure]:
    failures = []
    for series, comparison in expected.items():
        m = _COMPARE.match(comparison.strip())
        assert m, comparison  # the schema guarantees the shape
        op, bound = m.group(1), float(m.group(2))
        value = metric_value(exposition, series)
        got = 0.0 if value is None else value
        ok = {
            "==": got == bound,
            "!=": got != bound,
            ">=": got >= bound,
            "<=": got <= bound,
            ">": got > bound,
            "<": got < bound,
        }[op]
        if not ok:
            shown = "no such series" if value is None else f"{got:g}"
            failures.append(Failure(f"metric {series}", f"{op} {bound:g}", shown))
    return failures
