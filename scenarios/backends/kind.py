"""The `kind` backend: the cluster in the current kubeconfig context (a kind cluster, usually).

metricsd is installed from the same kind/ manifests as on `sim`; probes go through the API
server's pod proxy; steps that need the simulation are skipped with a reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scenarios.backends.base import BackendUnreachable, HttpResult
from scenarios.backends.cluster import NAMESPACE, ClusterBackend
from scenarios.kubectl import kubectl_versions


class KindBackend(ClusterBackend):
    name = "kind"

    def __init__(self, scenario: Any, artifacts: Path, kubectl: str | None = None) -> None:
        super().__init__(scenario, artifacts, kubectl)
        kubeconfig = os.environ.get("KUBECONFIG")
        self.kubeconfig = Path(kubeconfig) if kubeconfig else None
        self.home = Path(os.environ.get("HOME", str(artifacts / "home")))

    async def start(self) -> None:
        if self.scenario.metricsd.get("server", "metricsd") != "metricsd":
            raise BackendUnreachable("kind backend: the upstream server runs on the sim backend "
                                     "only (on kind, install upstream's components.yaml)")
        if not kubectl_versions():
            raise BackendUnreachable("kind backend: no kubectl.1.NN binary is installed")
        res = await self.run_kubectl(["get", "--raw", "/version"], timeout=15)
        if res.exit_code != 0:
            detail = (res.stderr.strip().splitlines() or ["no answer"])[-1]
            raise BackendUnreachable(
                "kind backend: cannot reach the cluster in the current kubeconfig context: "
                f"{detail}"
            )

    async def stop(self) -> None:
        return None

    async def probe(self, path: str) -> HttpResult:
        pod = await self.metricsd_pod()
        if pod is None:
            return HttpResult(503, "no metricsd pod")
        name = pod["metadata"]["name"]
        proxied = f"/api/v1/namespaces/{NAMESPACE}/pods/https:{name}:10250/proxy{path}"
        return await self.metrics_api(proxied, "aggregator")
