"""``python -m podautoscaler explain CASE.yaml``: one HPA decision, step by step.

The case file holds what ``reconcile`` reads (docs/podautoscaler.md); the HPA is first
validated as the API server would (``--no-validate`` skips that, to see what the controller
does with an object the API refuses). Bad input is one line on stderr naming the file, the
line and the path, and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import explain
from .case import CaseError, parse_controller
from .reconcile import reconcile
from .validation import validate_hpa
from .yamlsource import SourceError, line_of, load

EPILOG = """\
examples:
  python -m podautoscaler explain examples/hpa/walkthrough-305-percent.yaml
      why the walkthrough's 305% of a 50% target on 1 pod asks for 7 replicas and gets 4
  python -m podautoscaler explain case.yaml --output json | jq .trace.metrics
      the full result (status, events, history, trace) as JSON
  kubectl get hpa web -o yaml > hpa.yaml   # then put it under "hpa:" in a case file
      cases use the objects users already have (HPA, Scale, Pods, PodMetricsList)

exit status: 0 explained, 2 bad input (file:line: path: problem)
"""


class _Usage(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m podautoscaler",
        description="The Kubernetes HPA algorithm (kube-controller-manager's), one decision at "
                    "a time.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ex = sub.add_parser("explain", help="explain one reconcile of one HPA",
                        description="Run one HPA reconcile on CASE and explain it step by step.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("case", metavar="CASE.yaml", help="the case file (YAML or JSON; - for stdin)")
    ex.add_argument("--output", "-o", choices=("text", "json"), default="text",
                    help="text (default): the explanation; json: the whole result")
    ex.add_argument("--no-validate", action="store_true",
                    help="skip the API server's validation of the HPA")
    return parser


def _fail(stderr: TextIO, source: str, line: int | None, message: str) -> int:
    where = f"{source}:{line}" if line is not None else source
    stderr.write(f"explain: {where}: {message}\n")
    return 2


def explain_file(source: str, text: str, output: str, validate: bool, stdout: TextIO,
                 stderr: TextIO) -> int:
    try:
        case, lines = load(text)
    except SourceError as err:
        return _fail(stderr, source, err.line, str(err))
    if validate and isinstance(case, dict) and isinstance(case.get("hpa"), dict):
        try:
            gates = parse_controller(case.get("controller")).gates
        except CaseError as err:
            return _fail(stderr, source, line_of(lines, err.path), str(err))
        errors = validate_hpa(case["hpa"], scale_to_zero=bool(gates.get("HPAScaleToZero")))
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            first = errors[0]
            return _fail(stderr, source, line_of(lines, f"hpa.{first.path}"),
                         f"hpa.{first.text}{more}")
    try:
        result = reconcile(case)
    except CaseError as err:
        return _fail(stderr, source, line_of(lines, err.path), str(err))
    if output == "json":
        stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        stdout.write(explain.render(result))
    return 0


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command != "explain":
        parser.print_help(out)
        return 2
    source = args.case
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        return _fail(err, source, None, f"cannot read the file: {exc.strerror}")
    except UnicodeDecodeError:
        return _fail(err, source, None, "cannot read the file: not UTF-8 text")
    return explain_file(source, text, args.output, not args.no_validate, out, err)
