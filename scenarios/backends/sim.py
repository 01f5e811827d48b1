"""The `sim` backend: a simulated control plane and kubelet fleet on loopback, metricsd real.

It starts `fakeapiserver` (which starts the fakekubelet fleet registered in it and runs the
controllers that turn the applied Deployment into a local metricsd process), then drives it
with the real kubectl exactly as the `kind` backend drives a kind cluster. With
``metricsd: {server: upstream}`` the manifests' image runs the real metrics-server built by
``peers/build.py`` instead (``fakeapiserver --local-image``), with the same args, identity
and mounts. Only what a machine
needs differs: addresses come from a free loopback block, and faults, workloads, churn and the
ground truth go through the fleet's control endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from fakeapiserver.controllers.localimages import METRICSD_PATTERNS
from fakeapiserver.pki import CertKey, kubeconfig_identity, load_pair, unverified_client_context
from fakekubelet.addresses import free_loopback_base
from fakekubelet.processes import stat_fields
from fakekubelet.statedir import StateDirBusy, claim_state_dir
from scenarios.backends.base import (
    BackendUnreachable,
    CommandResult,
    HttpResult,
    Truth,
    Unsupported,
)
from scenarios.backends.cluster import (
    APISERVICE,
    NAMESPACE,
    REPO,
    SELECTOR,
    ClusterBackend,
    pod_state_from,
)
from scenarios.kubectl import kubectl_versions
from scenarios.peers import PeerMissing, metrics_server_binary
from scenarios.schema import controller_manager_args

#: Where each kind of the manifests lives in the API (for installing without kubectl).
API_PATHS = {
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "Service": ("/api/v1", "services", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True),
    "APIService": ("/apis/apiregistration.k8s.io/v1", "apiservices", False),
}
COMPONENTS = REPO / "kind" / "manifests" / "components.yaml"

READY_LINE = "fakeapiserver: ready"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0  # fakeapiserver gives each pod 5 s after SIGTERM


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc; empty where there is none)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = stat_fields(entry.name)
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class SimBackend(ClusterBackend):
    name = "sim"

    def __init__(self, scenario: Any, artifacts: Path, slot: int = 0,
                 kubectl: str | None = None) -> None:
        super().__init__(scenario, artifacts, kubectl)
        self.slot = slot
        self.state = artifacts / "state"
        self.proc: asyncio.subprocess.Process | None = None
        self.control_url = ""
        self._session: aiohttp.ClientSession | None = None
        self._client_ssl: ssl.SSLContext | None = None
        # Without kubectl the backend talks to the API itself (the demo's fallback).
        self.use_kubectl = bool(kubectl_versions())
        self.api_url = ""
        self._api_ssl: ssl.SSLContext | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def fleet_spec(self) -> dict[str, Any]:
        cluster = self.scenario.cluster
        if cluster.get("fleetFile"):
            path = (Path(self.scenario.path).parent / cluster["fleetFile"]).resolve()
            spec = yaml.safe_load(path.read_text())
        else:
            spec = json.loads(json.dumps(cluster.get("fleet") or {}))
        groups = spec.get("nodeGroups") or [{"count": 1}]
        count = sum(int(g.get("count", 1)) for g in groups) + 8
        spec.setdefault("addressBase", free_loopback_base(count, 10250))
        return dict(spec)

    async def start(self) -> None:
        self._clear_state_dir()
        self.home.mkdir(parents=True, exist_ok=True)
        spec_path = self.artifacts / "fleet.yaml"
        spec_path.write_text(yaml.safe_dump(self.fleet_spec(), sort_keys=False))
        argv = self.apiserver_argv(spec_path)
        log = (self.artifacts / "fakeapiserver.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True
        )
        try:
            await asyncio.wait_for(self._await_ready(), START_TIMEOUT)
        except (TimeoutError, BackendUnreachable) as err:
            tail = (self.artifacts / "fakeapiserver.log").read_text(errors="replace")[-800:]
            raise BackendUnreachable(
                f"sim backend: the simulated control plane did not start ({err or 'timeout'}); "
                f"its log ends with: {tail.strip()[-400:]}"
            ) from None
        self.kubeconfig = self.state / "kubeconfig"
        self.api_url = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"][
            "server"
        ]
        control = json.loads((self.state / "control.json").read_text())
        self.control_url = control["url"]

    def _clear_state_dir(self) -> None:
        """Empty the state dir of an earlier run, never one a live control plane still uses.

        The claim (``fakekubelet.statedir``) is held only while clearing: the fakeapiserver
        started next claims the dir for itself.
        """
        try:
            with claim_state_dir(self.state) as lock:
                lock.clear()
        except StateDirBusy as err:
            raise BackendUnreachable(
                f"sim backend: {err}: a control plane from another run still uses it; stop "
                "it, or choose another directory with --artifacts"
            ) from None

    def local_image_args(self) -> list[str]:
        """``--local-image`` flags mapping metricsd's image patterns to the real metrics-server
        when the scenario asks for it (BackendUnreachable when it is not built)."""
        if self.scenario.metricsd.get("server", "metricsd") != "upstream":
            return []
        try:
            binary = metrics_server_binary()
        except PeerMissing as err:
            raise BackendUnreachable(f"sim backend: {err}") from None
        return [f"--local-image={pattern}={shlex.quote(str(binary))}"
                for pattern in METRICSD_PATTERNS]

    def apiserver_argv(self, spec_path: Path) -> list[str]:
        """The fakeapiserver command for this scenario's cluster."""
        cluster = self.scenario.cluster
        argv = [
            sys.executable, "-m", "fakeapiserver",
            "--state-dir", str(self.state),
            "--fleet-config", str(spec_path),
            "--kube-version", str(cluster.get("kubernetesVersion", "1.30")),
        ]
        if cluster.get("frontProxy") == "untrusted":
            argv.append("--untrusted-front-proxy-client")
        return argv + controller_manager_args(cluster) + self.local_image_args()

    async def _await_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = (self.artifacts / "fakeapiserver.stdout").open("wb")
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                raise BackendUnreachable(f"fakeapiserver exited with {await self.proc.wait()}")
            out.write(line)
            out.flush()
            if line.decode(errors="replace").strip() == READY_LINE:
                asyncio.get_running_loop().create_task(self._drain(out))
                return

    async def _drain(self, out: Any) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with contextlib.suppress(Exception):
            while line := await self.proc.stdout.readline():
                out.write(line)
                out.flush()

    async def stop(self) -> None:
        """Stop the control plane (it stops its pods and fleet). A cancellation arriving
        meanwhile (the run being stopped) does not cut this short: it is passed on after."""
        try:
            await self._stop()
        except asyncio.CancelledError:
            await self._stop()
            raise

    async def _stop(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                # Its pods run in sessions of their own: killed here, or they would outlive it.
                for pid in [self.proc.pid, *child_pids(self.proc.pid)]:
                    try:  # a pod leads its own process group; anything else, by its PID
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                await self.proc.wait()

    # -- direct HTTP to metricsd and the fleet ----------------------------------------------

    def _admin_identity(self) -> CertKey:
        assert self.kubeconfig is not None
        return kubeconfig_identity(self.kubeconfig)

    def _admin_ssl(self) -> ssl.SSLContext:
        """Client TLS with the admin identity from the kubeconfig; metricsd's cert unverified."""
        if self._client_ssl is None:
            self._client_ssl = unverified_client_context(self._admin_identity())
        return self._client_ssl

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    async def pod_address(self) -> str:
        pod = await self.metricsd_pod()
        if pod is None or not pod.get("status", {}).get("podIP"):
            raise RuntimeError("the metricsd pod has no IP yet")
        return str(pod["status"]["podIP"])

    async def direct_get(self, path: str) -> HttpResult:
        address = await self.pod_address()
        url = f"https://{address}:10250{path}"
        try:
            async with self.session().get(url, ssl=self._admin_ssl()) as resp:
                return HttpResult(resp.status, await resp.text(), dict(resp.headers))
        except (aiohttp.ClientError, TimeoutError) as err:
            return HttpResult(0, f"{type(err).__name__}: {err}")

    async def probe(self, path: str) -> HttpResult:
        return await self.direct_get(path)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        url = self.control_url.rstrip("/") + path
        async with self.session().request(method, url, json=body) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise RuntimeError(f"fleet control {method} {path}: HTTP {resp.status}: {text}")
            return json.loads(text) if text else None

    # -- simulation hooks -------------------------------------------------------------------

    async def set_faults(self, nodes: list[str], changes: dict[str, Any]) -> None:
        for node in nodes:
            await self.control("PUT", f"/nodes/{node}/faults", changes)

    async def set_workload(self, pod: str, container: str, workload: Any) -> None:
        await self.control("PUT", f"/pods/{pod}/containers/{container}/workload", workload)

    async def set_churn(self, churn: Any) -> None:
        await self.control("PUT", "/churn", churn)

    async def load_io(self, namespace: str, deployment: str, container: str | None) -> Any:
        """The Deployment's pods from a watch on the control plane (as the cluster admin),
        usage through the fleet's control endpoint."""
        from scenarios.load.http import ControlSink, WatchPods

        source = WatchPods(self.session(), self.api_url, self.api_ssl(), namespace, deployment,
                           container)
        await source.start()
        return source, ControlSink(self.session(), self.control_url)

    def api_ssl(self) -> ssl.SSLContext:
        """TLS to the control plane: its CA, the admin's client certificate."""
        if self._api_ssl is None:
            ctx = ssl.create_default_context(cafile=str(self.state / "ca.crt"))
            load_pair(ctx, self._admin_identity())
            self._api_ssl = ctx
        return self._api_ssl

    async def top_truth(
        self, kind: str, names: list[tuple[str | None, str]]
    ) -> dict[tuple[str | None, str], Truth]:
        """Truth for each row over the window metricsd reported for it.

        The Metrics API gives each item's `timestamp` (seconds) and `window`; the fleet gives the
        mean true CPU over [timestamp - window, timestamp] and memory at the timestamp.
        """
        path = "/apis/metrics.k8s.io/v1beta1/" + ("nodes" if kind == "nodes" else "pods")
        http = await self.metrics_api(path, "aggregator")
        if http.status != 200:
            raise Unsupported(f"cannot read the Metrics API for ground truth: {http.body[:200]}")
        items = json.loads(http.body).get("items", [])
        out: dict[tuple[str | None, str], Truth] = {}
        wanted = set(names)
        for item in items:
            meta = item["metadata"]
            key = (meta.get("namespace") if kind == "pods" else None, meta["name"])
            if key not in wanted and (None, meta["name"]) not in wanted:
                continue
            query = {
                "kind": "node" if kind == "nodes" else "pod",
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "timestamp": item["timestamp"],
                "window": item["window"],
            }
            truth = await self.control("POST", "/truth/window", query)
            t = Truth(cpu_cores=float(truth["cpuCores"]), memory_bytes=float(truth["memoryBytes"]))
            out[key] = t
            out[(None, meta["name"])] = t
        return out

    # -- without kubectl: the same operations through the API ------------------------------

    async def api(self, method: str, path: str, body: Any = None) -> HttpResult:
        """A request to the control plane as the cluster admin (client certificate)."""
        try:
            async with self.session().request(
                method, self.api_url + path, json=body, ssl=self.api_ssl()
            ) as resp:
                return HttpResult(resp.status, await resp.text(), dict(resp.headers))
        except (aiohttp.ClientError, TimeoutError) as err:
            return HttpResult(0, f"{type(err).__name__}: {err}")

    async def kubectl(self, args: list[str], version: str, stdin: str | None) -> CommandResult:
        if not self.use_kubectl:
            raise Unsupported("kubectl is not installed here")
        return await super().kubectl(args, version, stdin)

    async def render(self) -> list[dict[str, Any]]:
        if self.use_kubectl:
            return await super().render()
        if self.manifests.resolve() != (REPO / "kind" / "manifests" / "base").resolve():
            raise Unsupported(f"rendering {self.manifests} needs kubectl kustomize")
        if self._rendered is None:
            self._rendered = [d for d in yaml.safe_load_all(COMPONENTS.read_text()) if d]
        return self._rendered

    async def install(self, args: list[str]) -> CommandResult:
        if self.use_kubectl:
            return await super().install(args)
        objects = json.loads(json.dumps(await self.render()))
        for obj in objects:
            if obj["kind"] == "Deployment":
                obj["spec"]["template"]["spec"]["containers"][0]["args"] = list(args)
        lines: list[str] = []
        for obj in objects:
            prefix, plural, namespaced = API_PATHS[obj["kind"]]
            meta = obj["metadata"]
            base = prefix + (f"/namespaces/{meta['namespace']}" if namespaced else "")
            created = await self.api("POST", f"{base}/{plural}", obj)
            verb = "created"
            if created.status == 409:
                url = f"{base}/{plural}/{meta['name']}"
                current = json.loads((await self.api("GET", url)).body)
                obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                created = await self.api("PUT", f"{base}/{plural}/{meta['name']}", obj)
                verb = "configured"
            if created.status >= 300:
                return CommandResult(["(API apply)"], 1, "\n".join(lines), created.body)
            lines.append(f"{plural}/{meta['name']} {verb}")
        return CommandResult(["(API apply)"], 0, "\n".join(lines) + "\n", "")

    async def uninstall(self) -> CommandResult:
        if self.use_kubectl:
            return await super().uninstall()
        for obj in await self.render():
            prefix, plural, namespaced = API_PATHS[obj["kind"]]
            meta = obj["metadata"]
            base = prefix + (f"/namespaces/{meta['namespace']}" if namespaced else "")
            await self.api("DELETE", f"{base}/{plural}/{meta['name']}")
        return CommandResult(["(API delete)"], 0, "", "")

    async def metrics_api(self, path: str, via: str) -> HttpResult:
        if self.use_kubectl or via == "direct":
            return await super().metrics_api(path, via)
        return await self.api("GET", path)

    async def apiservice_condition(self) -> dict[str, Any] | None:
        if self.use_kubectl:
            return await super().apiservice_condition()
        res = await self.api("GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}")
        if res.status != 200:
            return None
        for cond in json.loads(res.body).get("status", {}).get("conditions") or []:
            if cond.get("type") == "Available":
                return dict(cond)
        return {"type": "Available", "status": "Unknown"}

    async def metricsd_pod(self) -> dict[str, Any] | None:
        if self.use_kubectl:
            return await super().metricsd_pod()
        res = await self.api("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector="
                             + SELECTOR.replace("=", "%3D"))
        items = [p for p in json.loads(res.body).get("items", [])
                 if not p["metadata"].get("deletionTimestamp")] if res.status == 200 else []
        items.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""))
        return dict(items[-1]) if items else None

    async def metricsd_log(self) -> str:
        if self.use_kubectl:
            return await super().metricsd_log()
        pod = await self.metricsd_pod()
        if pod is None:
            return ""
        base = f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}/log"
        text = (await self.api("GET", base)).body
        if pod_state_from(pod).restarts and not text.strip():
            text = (await self.api("GET", base + "?previous=true")).body
        return text

    async def events(self) -> str:
        if self.use_kubectl:
            return await super().events()
        res = await self.api("GET", f"/api/v1/namespaces/{NAMESPACE}/events")
        items = json.loads(res.body).get("items", []) if res.status == 200 else []
        return "\n".join(
            f"{e.get('type', '')} {e.get('reason', '')} {e.get('message', '')}" for e in items
        )
