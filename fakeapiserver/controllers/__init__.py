"""The simulated kube-controller-manager, kube-scheduler and (with localpods) kubelet.

Turns an applied Deployment into ReplicaSets and Pods, binds pods to nodes with loopback pod
IPs, keeps Endpoints/EndpointSlices in step with readiness, and runs pods whose image is
mapped to a local command as processes. Use::

    from fakeapiserver.controllers import wire_controllers
    controllers = wire_controllers(server, auth=auth_wiring, local_pods=local_pods)
    ...
    await controllers.stop()

See docs/fakeapiserver-controllers.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fakeapiserver.controllers.horizontal import HorizontalController
from fakeapiserver.controllers.hpaconfig import HPAControllerConfig
from fakeapiserver.controllers.localimages import ImageRule, Launch, LocalImages, plan_launch
from fakeapiserver.controllers.localprocesses import (
    ClusterAccess,
    LocalPodsRunner,
    PodRunner,
    TokenSource,
    token_source_from_auth,
)
from fakeapiserver.controllers.manager import ControllerManager
from fakeapiserver.controllers.metricsclient import ResourceMetricsClient, user_agent
from fakeapiserver.controllers.scheduler import DEFAULT_POD_CIDR, PodIPAllocator


def wire_controllers(
    server: Any,
    *,
    auth: Any = None,
    local_pods: Any = None,
    images: LocalImages | None = None,
    pod_cidr: str = DEFAULT_POD_CIDR,
    seed: int = 0,
    workdir: str | Path | None = None,
    endpoints: bool = True,
    start: bool = True,
    cluster: Any = None,
    hpa: HPAControllerConfig | bool = True,
    hpa_sleep: Callable[[float], Awaitable[None]] | None = None,
) -> ControllerManager:
    """Controllers for a started :class:`fakeapiserver.app.APIServer`.

    ``auth`` (``reviews.wire_auth``'s result) gives local processes a kubeconfig with their
    ServiceAccount's token; ``local_pods`` (``localpods.LocalPods``) runs pods whose image
    ``images`` maps to a command (default: metricsd images). ``endpoints=False`` leaves
    Endpoints to another controller. ``cluster``: the fakekubelet fleet registered as the
    nodes; its nodes then run workload pods (``fleetpods``). Pod IPs start at an offset in
    ``pod_cidr`` given by the
    server's port, so control planes side by side on one machine don't pick the same first
    address. With ``auth``, the HPA controller runs too (``hpa``: its settings, or False for
    none), as ``system:serviceaccount:kube-system:horizontal-pod-autoscaler``, reading
    metrics through ``server.url``; ``hpa_sleep`` is its sleep (default ``asyncio.sleep``),
    its clock the server's.
    """
    access = None
    if auth is not None:
        access = ClusterAccess(server.url, server.pki.cluster_ca_pem,
                               token_source_from_auth(auth))
    runner = LocalPodsRunner(local_pods) if local_pods is not None else None
    # control planes running side by side share the default block: start each one at an
    # offset of its own (its port) so their first pods don't race for the same address
    allocator = PodIPAllocator(pod_cidr, start=int(server.port or 1))
    manager = ControllerManager(server.store, clock=server.clock, seed=seed,
                                allocator=allocator, images=images, runner=runner,
                                access=access, workdir=workdir, endpoints=endpoints,
                                kube_version=server.kube_version, cluster=cluster,
                                horizontal=None if auth is None or hpa is False else
                                horizontal_controller(server, auth, None if hpa is True
                                                      else hpa, hpa_sleep))
    if start:
        manager.start()
    return manager


def horizontal_controller(server: Any, auth: Any, config: HPAControllerConfig | None = None,
                          sleep: Callable[[float], Awaitable[None]] | None = None
                          ) -> HorizontalController:
    """The HPA controller of a started APIServer, with its ServiceAccount's identity (the
    account is created as kube-controller-manager's SA client builder does)."""
    from fakeapiserver.rbac import HPA_CONTROLLER

    tokens: list[str] = []

    def token(refresh: bool) -> str:
        if refresh or not tokens:
            tokens[:] = [auth.issue_token("kube-system", HPA_CONTROLLER)]
        return tokens[0]

    identity = f"system:serviceaccount:kube-system:{HPA_CONTROLLER}"
    metrics = ResourceMetricsClient(server.url, server.pki.cluster_ca_pem, token,
                                    user_agent=user_agent(server.kube_version, identity))
    return HorizontalController(server.store, metrics, config=config,
                                kube_version=server.kube_version, now=server.clock,
                                sleep=sleep)


__all__ = ["DEFAULT_POD_CIDR", "ClusterAccess", "ControllerManager", "HPAControllerConfig",
           "HorizontalController", "ImageRule", "Launch", "LocalImages", "LocalPodsRunner",
           "PodIPAllocator", "PodRunner", "TokenSource", "horizontal_controller",
           "plan_launch", "token_source_from_auth", "wire_controllers"]
