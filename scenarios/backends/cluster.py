"""What both backends do the same way: talk to a cluster with the real kubectl.

The simulated control plane is a real API server to kubectl, so installing metricsd, reading its
log, the APIService condition and the pod's status are the same commands on `sim` and on `kind`;
the backends differ only in how the cluster starts and in what only a simulation can do.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from scenarios.backends.base import CommandResult, HttpResult, PodState, Truth, Unsupported
from scenarios.kubectl import DEFAULT_KUBECTL, kubectl_binary, kubectl_versions

NAMESPACE = "kube-system"
DEPLOYMENT = "metrics-server"
APISERVICE = "v1beta1.metrics.k8s.io"
SELECTOR = "k8s-app=metrics-server"
REPO = Path(__file__).resolve().parents[2]

_REASON_STATUS = {
    "NotFound": 404,
    "ServiceUnavailable": 503,
    "Forbidden": 403,
    "Unauthorized": 401,
    "BadRequest": 400,
    "MethodNotAllowed": 405,
    "InternalError": 500,
}


def pod_state_from(pod: dict[str, Any]) -> PodState:
    """READY, STATUS and RESTARTS the way `kubectl get pods` derives them."""
    statuses = pod.get("status", {}).get("containerStatuses") or []
    containers = pod.get("spec", {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    status = pod.get("status", {}).get("reason") or pod.get("status", {}).get("phase", "Unknown")
    for s in statuses:
        state = s.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            status = state["waiting"]["reason"]
        elif "terminated" in state and state["terminated"].get("reason"):
            status = state["terminated"]["reason"]
    if pod.get("metadata", {}).get("deletionTimestamp"):
        status = "Terminating"
    return PodState(
        name=pod["metadata"]["name"],
        ready=f"{ready}/{len(containers)}",
        status=status,
        restarts=restarts,
    )


class ClusterBackend:
    """kubectl-driven operations; subclasses provide the cluster and the simulation hooks.

    ``kubectl`` (``python -m scenarios run --kubectl VERSION``, the demo's ``--kubectl``) is
    the version of every kubectl call the backend makes for itself: kustomize, apply and delete
    when installing and uninstalling, reading the pod, its log, events and the APIService.
    Without it they use the cluster's own minor version when installed, else the newest.
    """

    name = "cluster"

    def __init__(self, scenario: Any, artifacts: Path, kubectl: str | None = None) -> None:
        self.scenario = scenario
        self.artifacts = artifacts
        self.kubectl_version = DEFAULT_KUBECTL if kubectl == "default" else kubectl
        self.kubeconfig: Path | None = None
        self.context: str | None = None
        self.home = artifacts / "home"
        self.manifests = REPO / scenario.metricsd["manifests"]
        self._rendered: list[dict[str, Any]] | None = None
        self._commands = 0

    # -- kubectl ----------------------------------------------------------------------------

    def default_kubectl(self) -> str:
        if self.kubectl_version is not None:
            return self.kubectl_version
        versions = kubectl_versions()
        if not versions:
            raise Unsupported("no kubectl.1.NN binary is installed")
        minor = self.scenario.cluster.get("kubernetesVersion", "1.30")
        return minor if minor in versions else versions[-1]

    def _argv(self, version: str, args: list[str]) -> list[str]:
        binary = kubectl_binary(version)
        argv = [binary]
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.context:
            argv.append(f"--context={self.context}")
        return argv + list(args)

    async def run_kubectl(
        self, args: list[str], version: str | None = None, stdin: str | None = None,
        timeout: float = 60.0,
    ) -> CommandResult:
        version = version or self.default_kubectl()
        if version not in kubectl_versions():
            raise Unsupported(f"kubectl {version} is not installed")
        argv = self._argv(version, args)
        self.home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HOME=str(self.home))
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), timeout
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return CommandResult(argv, 124, "", f"kubectl timed out after {timeout:g}s\n")
        except asyncio.CancelledError:  # the run is being stopped: so is this kubectl
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            raise
        result = CommandResult(argv, proc.returncode or 0, out.decode(), err.decode())
        self._record(result)
        return result

    def _record(self, result: CommandResult) -> None:
        self._commands += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        with (self.artifacts / "commands.log").open("a") as log:
            log.write(f"$ {' '.join(result.argv)}\n(exit {result.exit_code})\n")
            log.write(result.stdout)
            log.write(result.stderr)
            log.write("\n")

    async def kubectl(self, args: list[str], version: str, stdin: str | None) -> CommandResult:
        return await self.run_kubectl(args, version, stdin)

    async def kubectl_json(self, args: list[str]) -> Any:
        res = await self.run_kubectl([*args, "-o", "json"])
        if res.exit_code != 0:
            raise RuntimeError(res.stderr.strip() or f"kubectl exit {res.exit_code}")
        return json.loads(res.stdout)

    # -- install ----------------------------------------------------------------------------

    async def render(self) -> list[dict[str, Any]]:
        if self._rendered is None:
            res = await self.run_kubectl(["kustomize", str(self.manifests)])
            if res.exit_code != 0:
                raise RuntimeError(f"kubectl kustomize {self.manifests} failed: {res.stderr}")
            self._rendered = [d for d in yaml.safe_load_all(res.stdout) if d]
        return self._rendered

    async def base_args(self) -> list[str]:
        return list(_container(await self.render())["args"])

    async def install(self, args: list[str]) -> CommandResult:
        objects = json.loads(json.dumps(await self.render()))
        _container(objects)["args"] = list(args)
        text = yaml.safe_dump_all(objects, sort_keys=False)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        (self.artifacts / "installed.yaml").write_text(text)
        return await self.run_kubectl(["apply", "--validate=false", "-f", "-"], stdin=text)

    async def uninstall(self) -> CommandResult:
        text = yaml.safe_dump_all(await self.render(), sort_keys=False)
        return await self.run_kubectl(
            ["delete", "--ignore-not-found", "--wait=false", "-f", "-"], stdin=text
        )

    # -- observing --------------------------------------------------------------------------

    async def metrics_api(self, path: str, via: str) -> HttpResult:
        if via == "direct":
            return await self.direct_get(path)
        res = await self.run_kubectl(["get", "--raw", path])
        if res.exit_code == 0:
            return HttpResult(200, res.stdout)
        match = re.search(r"Error from server \((\w+)\)", res.stderr)
        status = _REASON_STATUS.get(match.group(1), 500) if match else 500
        return HttpResult(status, res.stderr)

    async def direct_get(self, path: str) -> HttpResult:
        raise Unsupported("direct calls to metricsd need the simulation")

    async def apiservice_condition(self) -> dict[str, Any] | None:
        res = await self.run_kubectl(["get", "apiservice", APISERVICE, "-o", "json"])
        if res.exit_code != 0:
            return None
        for cond in json.loads(res.stdout).get("status", {}).get("conditions") or []:
            if cond.get("type") == "Available":
                return dict(cond)
        return {"type": "Available", "status": "Unknown"}

    async def metricsd_pod(self) -> dict[str, Any] | None:
        pods = await self.kubectl_json(["get", "pods", "-n", NAMESPACE, "-l", SELECTOR])
        items = [p for p in pods.get("items", []) if not p["metadata"].get("deletionTimestamp")]
        if not items:
            return None
        items.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""))
        return dict(items[-1])

    async def pod_state(self) -> PodState | None:
        pod = await self.metricsd_pod()
        return pod_state_from(pod) if pod else None

    async def metricsd_log(self) -> str:
        pod = await self.metricsd_pod()
        if pod is None:
            return ""
        name = pod["metadata"]["name"]
        res = await self.run_kubectl(["logs", "-n", NAMESPACE, name])
        text = res.stdout
        restarts = pod_state_from(pod).restarts
        if restarts and not text.strip():
            prev = await self.run_kubectl(["logs", "-n", NAMESPACE, name, "--previous"])
            text = prev.stdout
        return text

    async def events(self) -> str:
        res = await self.run_kubectl(["get", "events", "-n", NAMESPACE])
        return res.stdout + res.stderr

    # -- simulation-only --------------------------------------------------------------------

    async def set_faults(self, nodes: list[str], changes: dict[str, Any]) -> None:
        raise Unsupported("faults need the simulation")

    async def set_workload(self, pod: str, container: str, workload: Any) -> None:
        raise Unsupported("workload changes need the simulation")

    async def set_churn(self, churn: Any) -> None:
        raise Unsupported("churn needs the simulation")

    async def load_io(self, namespace: str, deployment: str, container: str | None) -> Any:
        """(pod source, usage sink) for a load driver (``scenarios.load``)."""
        raise Unsupported("a load model needs the simulation (on a real cluster run a load "
                          "generator)")

    async def top_truth(
        self, kind: str, names: list[tuple[str | None, str]]
    ) -> dict[tuple[str | None, str], Truth]:
        raise Unsupported("ground truth needs the simulation")


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"] == DEPLOYMENT:
            containers = obj["spec"]["template"]["spec"]["containers"]
            for c in containers:
                if c["name"] == "metrics-server":
                    return c
    raise RuntimeError(f"no Deployment {DEPLOYMENT} with a metrics-server container in manifests")
