"""`python -m scenarios.demo` (what ./demo.sh runs): the walkthrough, narrated, in about a minute.

It starts a simulated kind-like cluster (control plane and kubelets on loopback), installs
metricsd from kind/manifests the way components.yaml is installed, shows the failure users meet
on kind (kubelet certificates without IP SANs), then the fix, printing every kubectl command
and its output, and checking every figure against the fleet's ground truth.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from scenarios.kubectl import kubectl_versions
from scenarios.report import failure_text
from scenarios.runner import Runner
from scenarios.schema import load_scenario

WALKTHROUGH = Path(__file__).resolve().parent / "walkthrough.yaml"
WALKTHROUGH_API = Path(__file__).resolve().parent / "walkthrough-api.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.demo",
        description="Narrated walkthrough: no metrics server, the default install failing on "
        "kind-like kubelets, and the --kubelet-insecure-tls fix, on a simulated cluster.",
    )
    parser.add_argument("--kubectl", default="1.30", help="kubectl version to use (1.27-1.33)")
    parser.add_argument("--artifacts", type=Path, help="keep logs and outputs here")
    args = parser.parse_args(argv)
    from scenarios.backends.sim import SimBackend

    walkthrough = WALKTHROUGH
    if not kubectl_versions():
        print(
            "demo: kubectl is not installed on this machine (no kubectl.1.NN beside a kubectl "
            "on PATH), so this shows the Metrics API's own answers instead of kubectl's.\n"
        )
        walkthrough = WALKTHROUGH_API
    scenario = load_scenario(walkthrough)
    print("metricsd demo: " + scenario.description)
    print("(a simulated cluster on loopback addresses; metricsd runs as a real process)\n")
    with tempfile.TemporaryDirectory(prefix="metricsd-demo-") as tmp:
        artifacts = args.artifacts or Path(tmp)

        async def go() -> bool:
            backend = SimBackend(scenario, artifacts)
            await backend.start()
            try:
                runner = Runner(scenario, backend, kubectl_versions(),
                                kubectl_override=args.kubectl, echo=True,
                                progress=lambda line: print(line, flush=True))
                result = await runner.run()
            finally:
                await backend.stop()
            if not result.passed:
                print(failure_text(result), file=sys.stderr)
            return result.passed

        ok = asyncio.run(go())
    print("\ndemo: " + ("every expectation held." if ok else "an expectation failed (above)."))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
