"""What the comparisons remove before laying both servers' outputs side by side.

Every removal is a :func:`~tests.differential.deviations.rule` naming its entry in
``docs/peer-deviations.md``: ``N`` entries are what differs between two runs of the *same*
server (clock, pid, random ids, ephemeral ports, Go's map iteration order, where each of the
two runs lives), ``D`` entries are accepted differences between the servers. Nothing else is
touched, so anything else that differs fails a test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.differential.deviations import Rule, accepted, rule, rules
from tests.differential.pair import Response

# -- HTTP answers (surfaces "api" and "health") ----------------------------------------------

#: headers compared by presence only: the value is the request's time or a random id
HEADER_RULES = {
    "date": rule("N1", "api", r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$",
                 "<http-date>"),
    "audit-id": rule("N3", "api", r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$", "<uuid>"),
}
#: objects carry the request's time as creationTimestamp
CREATION = rule("N1", "api", r'"creationTimestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"',
                '"creationTimestamp":"<request time>"')
CREATION_PRETTY = rule("N1", "api",
                       r'"creationTimestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"',
                       '"creationTimestamp": "<request time>"')
#: the same in protobuf: ObjectMeta field 8, a Time of 5-byte varint seconds and zero nanos
PROTOBUF_CREATION = rule("N1", "api", rb"\x42\x08\x08[\x80-\xff]{4}[\x00-\x7f]\x10\x00",
                         b"\x42\x08\x08<seconds>\x10\x00")
#: a PodMetrics' containers come in Go's map order (``pkg/storage/types.go``): sorted by name here
CONTAINER_ORDER = rule("N5", "api", "")


def _sorted_containers(body: Any) -> Any:
    if isinstance(body, dict):
        out = {k: _sorted_containers(v) for k, v in body.items()}
        containers = body.get("containers")
        if (isinstance(containers, list) and "window" in body and "timestamp" in body
                and all(isinstance(c, dict) and "name" in c for c in containers)):
            out["containers"] = sorted(out["containers"], key=lambda c: c["name"])
        return out
    if isinstance(body, list):
        return [_sorted_containers(v) for v in body]
    return body


def answer(response: Response, surface: str = "api") -> str:
    """An answer as text — status line, headers (lower-case, sorted), blank line, body —
    with the N rules applied, then the surface's D rules (accepted differences)."""
    headers = []
    for name, value in response.headers:
        key = name.lower()
        rule_ = HEADER_RULES.get(key)
        if rule_ is not None:
            value = rule_.sub(value)
        headers.append(f"{key}: {value}")
    body = response.body
    if response.content_type.startswith("application/json"):
        body = CREATION.sub(CREATION_PRETTY.sub(body))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if parsed is not None and _sorted_containers(parsed) != parsed:
            # N5, re-serialised in the server's own layout (compact + newline, or indented)
            pretty = body.startswith("{\n")
            body = json.dumps(_sorted_containers(parsed), indent=2 if pretty else None,
                              separators=(",", ": ") if pretty else (",", ":"),
                              ensure_ascii=False) + ("" if pretty else "\n")
    elif not response.content_type.startswith("text/"):
        raw = PROTOBUF_CREATION.sub(response.raw)
        body = f"<{len(response.raw)} bytes> " + raw.hex()
    text = f"{response.status}\n" + "\n".join(sorted(headers)) + "\n\n" + body
    for r in rules(surface):
        if r.id.startswith("D") and isinstance(r.pattern.pattern, str):
            text = r.sub(text)
    return text


# -- logs -------------------------------------------------------------------------------------

KLOG = re.compile(r"^([IWEF])(\d{4}) (\d\d:\d\d:\d\d\.\d{6}) +(\d+) ([^ \]]+:\d+)\] ", re.M)


def entries(text: str) -> list[str]:
    """klog entries of a log (a multi-line entry keeps its continuation lines)."""
    starts = [m.start() for m in KLOG.finditer(text)]
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        out.append(text[start:end].rstrip("\n"))
    return out


LOG_HEADER = rule("N1", "logs", r"^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6} +(\d+) ",
                  r"\1 <time> <pid> ")
LOG_RULES = [
    LOG_HEADER,
    rule("N1", "logs", r'latency="[^"]*"', 'latency="<d>"'),
    rule("N1", "logs", r'(?<=Scrape finished" )duration="[^"]*"', 'duration="<d>"'),
    rule("N1", "logs", r"(?<= in )\d+(?= milliseconds$)", "<n>"),
    rule("N1", "logs", r"@\d{10}\b", "@<unix>"),
    rule("N1", "logs", r"(?<=current time )\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(?= is (after|before) )",
         "<now>"),
    rule("N1", "logs", r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC to \d{4}-\d\d-\d\d "
         r"\d\d:\d\d:\d\d \+0000 UTC \(now=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC\)\)",
         "(<validity>)"),
    rule("N3", "logs", r'(?<=audit-ID=")[0-9a-f-]{36}(?=")', "<uuid>"),
    rule("N3", "logs", r'(?<=auditID=")[0-9a-f-]{36}(?=")', "<uuid>"),
    rule("N4", "logs", r'(?<=srcIP="127\.0\.0\.1:)\d+(?=")', "<port>"),
    rule("N4", "logs", r"(?<=read tcp 127\.0\.0\.1:)\d+(?=->)", "<port>"),
    rule("N5", "logs", r'(?<= nodes=)\[("[^"]*",?)*\]',
         lambda m: "[" + ",".join(sorted(re.findall(r'"[^"]*"', m.group(0)))) + "]"),
    rule("N7", "logs", r"(?<=[?&])timeout=\d+m\d+s&timeoutSeconds=\d+", "timeout=<jitter>"),
    # D15: the goroutine stack Go appends to the "HTTP" line of a 5xx answer
    rule("D15", "logs", r"(?s)(?<=\bresp=5\d\d) statusStack=<\n.*\Z", ""),
    rule("N7", "logs", r"(?<=[?&])resourceVersion=[1-9]\d*", "resourceVersion=<rv>"),
]
LOG_SERVER_RULE = rule("N6", "logs", r"<self address>|<cert dir>")


@dataclass(frozen=True)
class LogContext:
    """What differs between the two runs only because they run side by side."""

    address: str
    cert_dir: str

    def apply(self, text: str) -> str:
        # N6: each server's own address and certificate directory
        text = text.replace(self.cert_dir, "<cert dir>")
        return re.sub(rf"(?<![\d.]){re.escape(self.address)}(?![\d])", "<self address>", text)


def log_lines(text: str, context: LogContext) -> set[str]:
    """The distinct normalised entries of a log."""
    out = set()
    for entry in entries(text):
        entry = context.apply(entry)
        for r in LOG_RULES:
            entry = r.sub(entry)
        out.add(entry)
    return out


def unexplained(only: Mapping[str, Iterable[str]], surface: str,
                exclude: Iterable[Rule] = ()) -> dict[str, list[str]]:
    """The one-sided items no accepted-difference rule (but those in ``exclude``) allows."""
    skip = {id(r) for r in exclude}
    allowed = [r for r in accepted(surface) if id(r) not in skip]
    return {server: sorted(item for item in items
                           if not any(r.allows(server, item) for r in allowed))
            for server, items in only.items()}


__all__ = ["LogContext", "answer", "entries", "log_lines", "rules", "unexplained"]
