"""``metricsd [flags]``: parse, answer ``--help``/``--version``, validate once, run the server.

Exit behaviour follows metrics-server (cobra + ``panic``): a bad flag, a failed validation or a
start-up error prints ``Error: <message>`` and the usage block on stderr and exits with
status 2.  Upstream's ``main`` then panics with the same error, so the usage is followed by
``panic: <message>`` and the one-frame goroutine trace of the release binary's ``main.main``
(fixed text: the frame is always the same line of the same function).  ``--help`` prints the
grouped help on stdout and exits 0; ``--version`` prints :data:`metricsd.version.VERSION` and
exits 0 before validation.

Examples::

    metricsd --kubeconfig DIR/kubeconfig --bind-address 127.0.0.1 --secure-port 4443 \\
        --cert-dir DIR/certs --kubelet-insecure-tls --metric-resolution 15s
    metricsd --metric-resolution=2s --kubelet-request-timeout=1s \\
        --simulation-min-metric-resolution=1s   # simulations only
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from metricsd import eventloop, klog
from metricsd.flagset import FlagError
from metricsd.options import Options, StartupError, help_text, parse_args, usage_text, validate
from metricsd.version import VERSION

__all__ = ["EXIT_USAGE", "main", "report_error"]

EXIT_USAGE = 2  # what a Go panic exits with
EXIT_NO_SERVER = 1


#: what the runtime prints after ``panic(err)`` in metrics-server v0.7.1's ``main``
PANIC_TRACE = ("\ngoroutine 1 [running]:\nmain.main()\n\tsigs.k8s.io/metrics-server@v0.7.1"
               "/cmd/metrics-server/metrics-server.go:37 +0x8b\n")


def report_error(message: str, stream: TextIO | None = None) -> int:
    """cobra's error output (``Error: <message>``, the usage block, a blank line), then
    ``main``'s panic with the same error."""
    out = stream or sys.stderr
    out.write(f"Error: {message}\n{usage_text()}\npanic: {message}\n{PANIC_TRACE}")
    out.flush()
    return EXIT_USAGE


def _load_server_run() -> Any:
    try:
        module = importlib.import_module("metricsd.server")
    except ImportError as err:
        if err.name in ("metricsd.server",):
            return None
        raise
    return getattr(module, "run", None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``metricsd`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options, parsed = parse_args(args)
    except FlagError as err:
        return report_error(str(err))
    if parsed.help:
        sys.stdout.write(help_text())
        sys.stdout.flush()
        return 0
    if options.version:
        print(VERSION)
        return 0
    problem = validate(options)
    if problem is not None:
        return report_error(problem)
    klog.configure(verbosity=options.v, vmodule=options.vmodule, fmt=options.logging_format)
    run = _load_server_run()
    if run is None:
        sys.stderr.write("metricsd: the server module (metricsd.server.run) is not available\n")
        return EXIT_NO_SERVER
    return _run(run, options)


def _run(run: Any, options: Options) -> int:
    try:
        eventloop.loop_name()  # a bad METRICSD_EVENT_LOOP is reported before anything starts
    except ValueError as err:
        return report_error(str(err))
    try:
        result = run(options)
        if asyncio.iscoroutine(result):
            result = eventloop.run(result)
    except StartupError as err:
        return report_error(str(err))
    except KeyboardInterrupt:
        return 0
    except Exception as err:  # never a bare traceback for users; -v=4 shows it
        if options.v >= 4:
            traceback.print_exc()
        return report_error(f"{type(err).__name__}: {err}")
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
