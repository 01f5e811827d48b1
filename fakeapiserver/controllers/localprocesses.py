"""Bound pods whose image is local → processes, run by a kubelet stand-in (H6's localpods).

This controller is the part of the kubelet that decides *what* to run: for a pod bound to a
node (``spec.nodeName``) with a pod IP and an image that :class:`LocalImages` maps to a
command, it plans the launch (the rewrites in :mod:`.localimages`), prepares the pod's
directory (emptyDir volumes, working directory, a kubeconfig with the ServiceAccount's token)
and hands it to a :class:`PodRunner`. When the pod is deleted (or replaced by a pod of the
same name) the process is stopped and the directory removed. Probes, container statuses,
restarts and logs are the runner's job.

Pods with images that are not mapped stay ``Pending`` with the container waiting in
``ErrImagePull`` (and the kubelet's ``Pulling``/``Failed`` events) — there is nothing to run
them — and pods the fakekubelet fleet registered (its annotation, or container IDs that are not
``local://``) are never started here, whatever their image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fakeapiserver.controllers.common import (
    Controller,
    Enqueue,
    Key,
    Obj,
    container_event,
    containers_waiting,
    meta,
    spec,
    status,
)
from fakeapiserver.controllers.localimages import Launch, LocalImages, plan_launch, pod_image
from fakeapiserver.pki import write_kubeconfig
from fakeapiserver.store import rfc3339

log = logging.getLogger(__name__)

#: (namespace, serviceAccountName, pod) → a bearer token for that account.
TokenSource = Callable[[str, str, Obj], str]


class PodRunner(Protocol):
    """Runs one pod's container as a local process and plays its kubelet."""

    def start(self, pod: Obj, launch: Launch, *, pod_ip: str, node_name: str,
              host_ip: str) -> None: ...

    async def stop(self, namespace: str, name: str) -> None: ...


class LocalPodsRunner:
    """:class:`PodRunner` over :class:`fakeapiserver.localpods.LocalPods`."""

    def __init__(self, local_pods: Any) -> None:
        self.local_pods = local_pods

    def start(self, pod: Obj, launch: Launch, *, pod_ip: str, node_name: str,
              host_ip: str) -> None:
        self.local_pods.add(pod, launch.argv, env=launch.env, cwd=launch.cwd, pod_ip=pod_ip,
                            node_name=node_name, host_ip=host_ip)

    async def stop(self, namespace: str, name: str) -> None:
        local = self.local_pods.pods.pop((namespace, name), None)
        if local is not None:
            await local.stop()


@dataclass(frozen=True)
class ClusterAccess:
    """What a pod's kubeconfig needs: the API server URL, the cluster CA and a token source."""

    server_url: str
    ca_pem: bytes
    tokens: TokenSource


def token_source_from_auth(auth: Any, expiration_seconds: int = 365 * 24 * 3600
                           ) -> TokenSource:
    """Pod-bound ServiceAccount tokens from H6's :class:`fakeapiserver.reviews.AuthWiring`.

    A kubelet rotates the projected token (1 h); nothing rotates here, so tokens are
    issued for a year.
    """
    def issue(namespace: str, account: str, pod: Obj) -> str:
        uid = auth.account_uid(namespace, account)
        if uid is None:
            return str(auth.issue_token(namespace, account, expiration_seconds))
        issued = auth.tokens.issue(namespace, account, uid,
                                   expiration_seconds=expiration_seconds,
                                   pod=(meta(pod).get("name", ""), meta(pod).get("uid", "")))
        return str(issued.token)

    return issue


def run_by_another_kubelet(pod: Obj) -> bool:
    """A pod the fakekubelet fleet registered (it runs there, in the simulation's model):
    marked by the fleet's annotation or by container IDs that are not local processes'."""
    if "fakekubelet/uid" in (meta(pod).get("annotations") or {}):
        return True
    return any(not str(cs.get("containerID") or "local://").startswith("local://")
               for cs in status(pod).get("containerStatuses") or [])


class LocalProcessController(Controller):
    name = "localprocesses"
    kinds = ("pods",)

    def __init__(self, store: Any, clock: Callable[[], float], enqueue: Enqueue,
                 runner: PodRunner, images: LocalImages, access: ClusterAccess | None = None,
                 workdir: str | Path | None = None) -> None:
        super().__init__(store, clock, enqueue)
        self.runner = runner
        self.images = images
        self.access = access
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(
            tempfile.mkdtemp(prefix="fakeapiserver-pods-"))
        #: (namespace, name) → (uid, pod dir) of the running pods.
        self.running: dict[Key, tuple[str, Path]] = {}
        #: pods another kubelet runs although no local command is mapped to their image
        #: (the fleet's workload pods, ``fleetpods``): not an image pull failure here
        self.hosted_elsewhere: Callable[[Obj], bool] = lambda pod: False
        self._stopping: set[asyncio.Task[None]] = set()

    def on_change(self, change: Any) -> None:
        key = (change.new.namespace, change.new.name)
        if key in self.running or (change.type != "DELETED" and (
                self.wants(change.new.obj) or self.unpullable(change.new.obj))):
            self.enqueue(key)

    def initial_keys(self) -> list[Key]:
        return [(s.namespace, s.name) for s in self.store.list_stored("pods").items
                if spec(s.obj).get("nodeName")]

    def wants(self, pod: Obj) -> list[str] | None:
        """The command to run for ``pod``, or None (not bound, finished, not ours, unmapped)."""
        if not spec(pod).get("nodeName") or not status(pod).get("podIP"):
            return None
        if run_by_another_kubelet(pod):
            return None
        if meta(pod).get("deletionTimestamp") or status(pod).get("phase") in (
                "Succeeded", "Failed"):
            return None
        return self.images.command_for(pod_image(pod))

    def sync(self, key: Key) -> None:
        ns, name = key
        pod = self.store.try_get("pods", name, ns)
        current = self.running.get(key)
        if current is not None and (pod is None or meta(pod).get("uid") != current[0]):
            self._stop(key)
            current = None
        if pod is None or current is not None:
            return
        command = self.wants(pod)
        if command is None:
            if self.unpullable(pod):
                self._fail_pull(pod)
            return
        self._start(pod, command)

    def unpullable(self, pod: Obj) -> bool:
        """A bound pod no kubelet has touched yet whose image has no local command."""
        return bool(spec(pod).get("nodeName") and status(pod).get("podIP")
                    and status(pod).get("phase", "Pending") == "Pending"
                    and not status(pod).get("containerStatuses")
                    and not run_by_another_kubelet(pod)
                    and self.images.command_for(pod_image(pod)) is None
                    and not self.hosted_elsewhere(pod))

    def _fail_pull(self, pod: Obj) -> None:
        """What the kubelet shows for an image it cannot pull: the container waits in
        ``ErrImagePull`` with the reason, plus ``Pulling``/``Failed`` events."""
        image = pod_image(pod)
        why = (f'failed to pull image "{image}": no local command is mapped to this image in '
               "the simulation (fakeapiserver.controllers.LocalImages)")
        m, now = meta(pod), rfc3339(self.clock())
        self.store.mutate("pods", m["name"], m["namespace"],
                          lambda obj: containers_waiting(obj, "ErrImagePull", why, now))
        for type_, reason, message in (
                ("Normal", "Pulling", f'Pulling image "{image}"'),
                ("Warning", "Failed", f'Failed to pull image "{image}": {why}'),
                ("Warning", "Failed", "Error: ErrImagePull")):
            container_event(self.store, self.clock, pod, type_, reason, message)

    def _start(self, pod: Obj, command: list[str]) -> None:
        m = meta(pod)
        key = (m["namespace"], m["name"])
        pod_dir = self.workdir / f"{m['namespace']}_{m['name']}_{str(m.get('uid', ''))[:8]}"
        launch = plan_launch(pod, command, pod_dir=str(pod_dir),
                             with_kubeconfig=self.access is not None,
                             server_url=self.access.server_url if self.access else None)
        for directory in launch.dirs:
            Path(directory).mkdir(parents=True, exist_ok=True)
        if launch.kubeconfig and self.access is not None:
            account = spec(pod).get("serviceAccountName") or "default"
            token = self.access.tokens(m["namespace"], account, pod)
            write_kubeconfig(Path(launch.kubeconfig), self.access.server_url,
                             self.access.ca_pem, token=token,
                             user=f"system:serviceaccount:{m['namespace']}:{account}")
            projected = Path(launch.kubeconfig).parent  # the serviceaccount volume
            (projected / "token").write_text(token)
            (projected / "ca.crt").write_bytes(self.access.ca_pem)
            (projected / "namespace").write_text(m["namespace"])
        node = self.store.try_get("nodes", spec(pod)["nodeName"]) or {}
        host_ip = next((a.get("address") for a in status(node).get("addresses") or []
                        if a.get("type") == "InternalIP"), "") or ""
        self.running[key] = (str(m.get("uid", "")), pod_dir)
        log.info("starting pod %s/%s: %s", key[0], key[1], " ".join(launch.argv))
        self.runner.start(pod, launch, pod_ip=status(pod)["podIP"],
                          node_name=spec(pod)["nodeName"], host_ip=host_ip)

    def _stop(self, key: Key) -> None:
        _uid, pod_dir = self.running.pop(key)

        async def stop() -> None:
            try:
                await self.runner.stop(*key)
            finally:
                shutil.rmtree(pod_dir, ignore_errors=True)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(stop())
            return
        task = loop.create_task(stop(), name=f"stop-pod-{key[0]}-{key[1]}")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def wait_stopped(self) -> None:
        """Wait for the processes being stopped (tests, shutdown)."""
        while self._stopping:
            await asyncio.gather(*list(self._stopping), return_exceptions=True)

    async def aclose(self) -> None:
        for key in list(self.running):
            self._stop(key)
        await self.wait_stopped()
        if self._own_workdir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)
