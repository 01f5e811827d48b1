"""The whole chain as processes, for the e2e tests that need metricsd beside the control plane.

``fakeapiserver`` (its fleet registered, the metrics APIService pointing at a free port with
``--apiservice-backend``) and the real ``metricsd`` serving on that port, as the README's
"metricsd beside fakeapiserver" block runs them, then the real kubectl against the control
plane's kubeconfig. :func:`started_chain` starts both, waits until the APIService is
Available (metricsd's /readyz passed the aggregator's probe) and stops both at the end; the
control plane must exit 0. Both processes log to ``api.log`` / ``metricsd.log`` in the
test's directory (read them when a test fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from fakekubelet.addresses import free_port
from tests.kubectl_bins import kubectl_binary, kubectl_versions

PY = sys.executable


def metricsd_args(state: Path, port: int, certs: Path) -> list[str]:
    """metricsd's flags beside a fakeapiserver whose state directory is ``state``: its
    kubeconfig, the fleet's CA and client certificate, InternalIP addresses (the fleet's
    loopback addresses), and a 2 s resolution (allowed by the simulation's minimum)."""
    return [
        "--kubeconfig", str(state / "kubeconfig"),
        "--secure-port", str(port), "--bind-address", "127.0.0.1",
        "--cert-dir", str(certs),
        "--kubelet-certificate-authority", str(state / "ca.crt"),
        "--kubelet-client-certificate", str(state / "client.crt"),
        "--kubelet-client-key", str(state / "client.key"),
        "--kubelet-preferred-address-types", "InternalIP",
        "--kubelet-use-node-status-port", "--simulation-min-metric-resolution", "1s",
        "--metric-resolution", "2s", "--kubelet-request-timeout", "1s",
    ]


async def stop(proc: asyncio.subprocess.Process) -> int:
    """SIGTERM (if still running) and the exit status."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 60)


class Chain:
    """kubectl (and the fleet's control endpoint) against a started chain."""

    def __init__(self, tmp: Path, state: Path) -> None:
        self.tmp = tmp
        self.state = state
        self.env = {"HOME": str(tmp), "PATH": os.environ.get("PATH", ""),
                    "KUBECONFIG": str(state / "kubeconfig")}
        self.latest = kubectl_versions()[-1]

    @property
    def control(self) -> str:
        """The fleet's control endpoint (``PUT /usage``, ``POST /truth/window``, …)."""
        return str(json.loads((self.state / "control.json").read_text())["url"])

    async def kubectl(self, *args: str, stdin: str | None = None,
                      version: str | None = None) -> tuple[int, str, str]:
        """Exit status, stdout and stderr of ``kubectl ARGS`` (the newest installed kubectl
        unless ``version`` says which)."""
        k = await asyncio.create_subprocess_exec(
            kubectl_binary(version or self.latest), *args, env=self.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(
            k.communicate(stdin.encode() if stdin is not None else None), 120)
        assert k.returncode is not None
        return k.returncode, out.decode(), err.decode()

    async def fleet(self, method: str, path: str, body: Any = None) -> Any:
        """A request to the fleet's control endpoint; its JSON answer."""
        async with (aiohttp.ClientSession() as session,
                    session.request(method, self.control + path, json=body) as resp):
            assert resp.status < 400, await resp.text()
            return await resp.json()

    async def watch(self, *args: str,
                    done: Callable[[list[str]], bool]) -> asyncio.Task[list[str]]:
        """Start ``kubectl get ARGS -w --no-headers``; once its watch is established, return
        a task that collects its lines until ``done(lines)`` holds (at least one line).

        Established is what kubectl logs at ``-v=6`` (stderr): the response to its
        ``…&watch=true`` GET, sent after the list — so a change made after this returns is
        seen by the watch, and one made before it is in the list (kubectl prints nothing at
        all for an empty list, so that line is the only event to await)."""
        k = await asyncio.create_subprocess_exec(
            kubectl_binary(self.latest), "get", *args, "-w", "--no-headers", "-v=6",
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert k.stdout is not None and k.stderr is not None
        stdout, stderr = k.stdout, k.stderr

        async def established() -> None:
            while b"watch=true" not in (line := await stderr.readline()):
                assert line, "kubectl get -w ended before its watch"

        try:
            await asyncio.wait_for(established(), 60)
        except BaseException:
            k.kill()
            await k.wait()
            raise
        drain = asyncio.create_task(stderr.read())  # (nothing more is expected there)

        async def collect() -> list[str]:
            lines: list[str] = []
            try:
                while True:
                    line = await asyncio.wait_for(stdout.readline(), 60)
                    assert line, f"kubectl get -w ended: {lines}"
                    lines.append(line.decode().rstrip("\n"))
                    if done(lines):
                        return lines
            finally:
                k.kill()
                await k.wait()
                await drain

        return asyncio.create_task(collect())


@contextlib.asynccontextmanager
async def started_chain(tmp: Path, *api_args: str) -> AsyncIterator[Chain]:
    """fakeapiserver with ``api_args`` (its fleet: ``--fleet-config`` or ``--nodes``…) and
    metricsd beside it, once the metrics APIService is Available."""
    state = tmp / "cp"
    port = free_port()
    api = await asyncio.create_subprocess_exec(
        PY, "-m", "fakeapiserver", "--state-dir", str(state), *api_args,
        "--apiservice-backend", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=(tmp / "api.log").open("wb"))
    metricsd = None
    try:
        assert api.stdout is not None
        assert await asyncio.wait_for(api.stdout.readline(), 120) == b"fakeapiserver: ready\n"
        metricsd = await asyncio.create_subprocess_exec(
            PY, "-m", "metricsd", *metricsd_args(state, port, tmp / "certs"),
            stdout=asyncio.subprocess.DEVNULL, stderr=(tmp / "metricsd.log").open("wb"))
        chain = Chain(tmp, state)
        # Available once metricsd's /readyz passes the control plane's readiness probe
        code, _, err = await chain.kubectl("wait", "--for=condition=Available",
                                           "apiservice/v1beta1.metrics.k8s.io", "--timeout=90s")
        assert code == 0, err
        yield chain
    finally:
        if metricsd is not None:
            await stop(metricsd)
        assert await stop(api) == 0
