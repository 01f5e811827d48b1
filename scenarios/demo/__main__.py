"""`python -m scenarios.demo` (what ./demo.sh runs): the walkthrough, narrated, in about a minute.

It starts a simulated kind-like cluster (control plane and kubelets on loopback), installs
metricsd from kind/manifests the way components.yaml is installed, shows the failure users meet
on kind (kubelet certificates without IP SANs), then the fix, printing every kubectl command
and its output, and checking every figure against the fleet's ground truth.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from scenarios import stopping
from scenarios.cli import absolute_path
from scenarios.kubectl import DEFAULT_KUBECTL, kubectl_versions
from scenarios.progress import Progress
from scenarios.report import failure_text
from scenarios.runner import Runner
from scenarios.schema import load_scenario

WALKTHROUGH = Path(__file__).resolve().parent / "walkthrough.yaml"
WALKTHROUGH_API = Path(__file__).resolve().parent / "walkthrough-api.yaml"


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before the cluster started (nothing to stop yet)
        print("demo: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.demo",
        description="Narrated walkthrough: no metrics server, the default install failing on "
        "kind-like kubelets, and the --kubelet-insecure-tls fix, on a simulated cluster.",
    )
    parser.add_argument("--kubectl", default=DEFAULT_KUBECTL, metavar="VERSION",
                        help="kubectl version of every kubectl call, install and uninstall "
                             f"too (default {DEFAULT_KUBECTL})")
    parser.add_argument("--artifacts", type=absolute_path, metavar="DIR",
                        help="keep logs and outputs here")
    args = parser.parse_args(argv)
    from scenarios.backends.sim import SimBackend

    installed = kubectl_versions()
    walkthrough = WALKTHROUGH
    if not installed:
        print(
            "demo: kubectl is not installed on this machine (no kubectl.1.NN beside a kubectl "
            "on PATH), so this shows the Metrics API's own answers instead of kubectl's.\n"
        )
        walkthrough = WALKTHROUGH_API
    elif args.kubectl not in installed:
        print(f"demo: kubectl {args.kubectl} is not installed (have: {', '.join(installed)})",
              file=sys.stderr)
        return 2
    scenario = load_scenario(walkthrough)
    print("metricsd demo: " + scenario.description)
    print("(a simulated cluster on loopback addresses; metricsd runs as a real process)\n",
          flush=True)
    display = Progress(sys.stdout)
    with tempfile.TemporaryDirectory(prefix="metricsd-demo-") as tmp:
        artifacts = args.artifacts or Path(tmp)

        async def go() -> bool:
            backend = SimBackend(scenario, artifacts, kubectl=args.kubectl)
            async with display:
                try:  # stopped whatever happens, a cancellation (Ctrl-C) during start included
                    display.waiting("demo", "   ", "the simulated cluster to start")
                    await backend.start()
                    display.done("demo")
                    runner = Runner(scenario, backend, installed, kubectl_override=args.kubectl,
                                    echo=True, progress=display.line, status=display)
                    result = await runner.run()
                finally:
                    await backend.stop()
            if not result.passed:
                print(failure_text(result), file=sys.stderr)
            return result.passed

        def note(text: str) -> None:
            display.close()
            print(f"demo: {text}", file=sys.stderr, flush=True)

        outcome = stopping.run(go(), note)
    if outcome.signal is not None:
        print(f"demo: stopped by {stopping.signal_name(outcome.signal)}", file=sys.stderr)
        return outcome.exit_status
    ok = bool(outcome.value)
    print("\ndemo: " + ("every expectation held." if ok else "an expectation failed (above)."))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
