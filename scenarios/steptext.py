"""How a step reads on the screen: its title, what it waits for, and its command's transcript.

Kept apart from the runner, which decides verdicts; these only turn steps and results into
text (the same for the runner's one-line progress, the demo's narration and the reports).
"""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

from scenarios.backends.base import CommandResult


def step_title(step: dict[str, Any]) -> str:
    """A step's title: its ``name``, else what it does."""
    if step.get("name"):
        return str(step["name"])
    return step_action(step)


def wait_target(body: dict[str, Any]) -> str:
    """What a `wait` step waits for: ``pod ready=True``, ``2 scrape cycle(s)``, …"""
    what = next(k for k, v in body.items() if v is not None)
    want = body[what]
    if what == "scrapes":
        return f"{want} scrape cycle(s)"
    if what == "log":
        shown = "; ".join(f"{k} {v!r}" for k, v in want.items())
        return f"metricsd's log: {shown}"
    shown = ", ".join(f"{k}={v}" for k, v in want.items() if v is not None)
    return f"{what} {shown}"


def step_action(step: dict[str, Any]) -> str:
    """What a step does, in words (its title when it has no ``name``)."""
    kind = step["kind"]
    body = step[kind]
    if kind == "kubectl":
        return "kubectl " + " ".join(body["args"])
    if kind in ("probe", "metricsApi"):
        return f"{kind} {body['path']}"
    if kind == "wait":
        return "wait for " + wait_target(body)
    if kind == "sleep":
        return f"sleep {body:g}s"
    if kind == "load":
        return f"load on {body['namespace']}/{body['deployment']}"
    return kind


def pretty(body: str) -> str:
    """JSON bodies indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=1)
    except ValueError:
        return body


def wrap(text: str, width: int = 92) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), width))


def indent(text: str, limit: int = 40) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return "\n".join("    " + line for line in lines)


def show_command(res: CommandResult) -> str:
    """The command as a terminal transcript: `$ kubectl.1.30 top nodes`, output, exit status."""
    words = [os.path.basename(res.argv[0])] if res.argv else []
    words += [a for a in res.argv[1:] if not a.startswith(("--kubeconfig=", "--context="))]
    status = f"(exit status {res.exit_code})\n" if res.exit_code else ""
    return f"$ {' '.join(words)}\n{res.stdout}{res.stderr}{status}"
