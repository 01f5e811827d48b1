"""Deployment → a real local process: scheduled, started with the rewrites and the
ServiceAccount's identity, probed, Ready, in the Endpoints, and rolled on a template change."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakeapiserver.app import APIServer
from fakeapiserver.controllers import LocalImages, wire_controllers
from fakeapiserver.localpods import LocalPod, LocalPods
from fakeapiserver.reviews import wire_auth
from fakekubelet.addresses import free_loopback_base
from metricsd.clock import VirtualClock
from tests.integration.ctrl_standin import STANDIN_CODE
from tests.unit.fakeapiserver.ctrl_support import apply_all, node, render

NS = "kube-system"


async def until(local: LocalPod, pred: Callable[[], bool]) -> None:
    async def loop() -> None:
        while not pred():
            await local.wait_changed()
    await asyncio.wait_for(loop(), 60)


async def log_line(local: LocalPod, prefix: str) -> str:
    async def loop() -> str:
        while True:
            for _ts, line in list(local.logs.lines):
                if line.startswith(prefix):
                    return line
            if local.logs.closed:
                raise AssertionError("process ended: " + local.logs.render())
            await local.logs.wait()
    return await asyncio.wait_for(loop(), 60)


def pod_names(server: APIServer) -> list[str]:
    return sorted(p["metadata"]["name"] for p in server.store.list("pods", NS))


async def test_deployment_runs_probes_and_rolls_as_local_processes(tmp_path: Path) -> None:
    server = APIServer(tmp_path / "cp")
    await server.start()
    auth = wire_auth(server)
    clock = VirtualClock()
    local_pods = LocalPods(server.store, clock)
    server.set_subresource_handler("pods", "log", local_pods.log_handler)
    images = LocalImages.from_mapping({"metricsd:dev": [sys.executable, "-c", STANDIN_CODE]},
                                      include_defaults=False)
    base = free_loopback_base(16, 10250)
    cidr = base.rsplit(".", 1)[0] + ".0/24"
    store = server.store
    store.create("nodes", node("node-1", "127.1.0.1"))
    controllers = wire_controllers(server, auth=auth, local_pods=local_pods, images=images,
                                   pod_cidr=cidr, workdir=tmp_path / "pods")
    try:
        apply_all(store, render("base"))
        await controllers.settle()
        [name] = pod_names(server)
        local = local_pods.get(NS, name)
        assert local is not None
        pod_ip = store.get("pods", name, NS)["status"]["podIP"]
        assert pod_ip.startswith(cidr.rsplit(".", 1)[0] + ".")
        assert await log_line(local, "api ") == "api 200"  # the SA token + RBAC work
        assert await log_line(local, "cert-dir-exists") == "cert-dir-exists True"
        assert await log_line(local, "serving") == f"serving {pod_ip}:10250"
        argv_line = await log_line(local, "argv ")
        assert f'"--bind-address={pod_ip}"' in argv_line
        assert '"--kubelet-insecure-tls"' not in argv_line
        pod = store.get("pods", name, NS)
        assert pod["status"]["phase"] == "Running"
        ep = store.get("endpoints", "metrics-server", NS)
        assert ep["subsets"][0]["notReadyAddresses"][0]["ip"] == pod_ip
        await clock.advance(20)  # initialDelaySeconds: the readiness probe runs for real
        await until(local, lambda: local.state.ready)
        await controllers.settle()
        ep = store.get("endpoints", "metrics-server", NS)
        assert ep["subsets"] == [{"addresses": [{
            "ip": pod_ip, "nodeName": "node-1", "targetRef": {
                "kind": "Pod", "namespace": NS, "name": name,
                "uid": pod["metadata"]["uid"]}}],
            "ports": [{"name": "https", "port": 10250, "protocol": "TCP"}]}]
        status = store.get("deployments", "metrics-server", NS)["status"]
        assert status["availableReplicas"] == 1

        # a second "apply" adds an arg: a new pod starts beside the old one (maxUnavailable 0)
        def add_arg(obj: dict[str, Any]) -> None:
            obj["spec"]["template"]["spec"]["containers"][0]["args"].append(
                "--kubelet-insecure-tls")

        store.mutate("deployments", "metrics-server", NS, add_arg)
        await controllers.settle()
        names = pod_names(server)
        assert len(names) == 2 and name in names
        [new_name] = [n for n in names if n != name]
        new_local = local_pods.get(NS, new_name)
        assert new_local is not None
        assert '"--kubelet-insecure-tls"' in await log_line(new_local, "argv ")
        await log_line(new_local, "serving")
        assert local.process is not None and local.process.returncode is None
        await clock.advance(20)
        await until(new_local, lambda: new_local.state.ready)
        await controllers.settle()
        assert pod_names(server) == [new_name]
        assert local_pods.get(NS, name) is None
        assert local.process.returncode is not None  # the old process was terminated
        new_ip = store.get("pods", new_name, NS)["status"]["podIP"]
        ep = store.get("endpoints", "metrics-server", NS)
        assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == [new_ip]
    finally:
        await controllers.stop()
        await local_pods.stop()
        await server.stop()
