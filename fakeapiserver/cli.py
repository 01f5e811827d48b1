"""``fakeapiserver``: a simulated control plane with the fakekubelet fleet registered in it.

CLI contract (outside checks rely on it)::

    fakeapiserver --state-dir DIR [--port P] [--fleet-config FILE | --nodes N
                  --pods-per-node P --cert-mode MODE] [--kube-version 1.30]
                  [--apiservice-backend HOST:PORT] [--local-image PATTERN=COMMAND …]
                  [kube-controller-manager's HPA flags:
                  --horizontal-pod-autoscaler-sync-period 15s, … --feature-gates A=true]

Before ``fakeapiserver: ready`` is printed (flushed) on stdout, DIR holds ``kubeconfig``
(admin, ``system:masters``), ``ca.crt`` (the cluster CA, which also signs the fleet's
``ca-signed`` kubelet certificates), ``client-ca.crt``, ``front-proxy-ca.crt`` and the fleet's
files (``client.crt``/``client.key`` accepted by the kubelets, ``token``, ``nodes.json``,
``control.json``). ``--apiservice-backend`` registers Service, Endpoints, EndpointSlice and
APIService ``v1beta1.metrics.k8s.io`` for a metrics server at HOST:PORT plus metrics-server's
RBAC and ServiceAccount (token in ``DIR/metrics-server.token``, kubeconfig in
``DIR/metrics-server.kubeconfig``), and probes its ``/readyz`` as the manifest's readiness
probe would (period 10 s, failure threshold 3) to mark the endpoint ready or not ready.
``--local-image PATTERN=COMMAND`` (repeatable) runs pods whose image matches the glob PATTERN as
COMMAND (split like a shell would; its first word must be an executable file or on PATH), ahead
of the default rules (metricsd's images run ``python -m metricsd``).
SIGINT/SIGTERM stop it with exit 0; bad arguments exit 2 with one line on stderr.

:class:`ControlPlane` is the same composition for Python callers (scenarios, tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from fakeapiserver.app import APIServer
from fakeapiserver.localpods import (
    EndpointsController,
    LocalPods,
    ProbeResult,
    http_probe,
)
from fakeapiserver.proxy import AggregationWiring, wire_aggregation
from fakeapiserver.rbac import UserInfo
from fakeapiserver.registration import ControlPlaneReviewer, FleetRegistration
from fakeapiserver.reviews import AuthWiring, wire_auth

PROG = "fakeapiserver"
log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  # control plane (emulating 1.30) with 3 nodes x 10 pods, state in ./cp
  fakeapiserver --state-dir ./cp --nodes 3 --pods-per-node 10 --cert-mode ca-signed

  # the same, with metricsd on 127.0.0.1:4443 behind the aggregation layer
  fakeapiserver --state-dir ./cp --nodes 3 --pods-per-node 10 --cert-mode ca-signed \\
      --apiservice-backend 127.0.0.1:4443
  KUBECONFIG=./cp/kubeconfig kubectl top nodes

  # legacy discovery only, as a 1.26 cluster
  fakeapiserver --state-dir ./cp --kube-version 1.26 --fleet-config fleet.yaml

  # kubectl apply of kind/manifests runs the real metrics-server (built by peers/build.py)
  fakeapiserver --state-dir ./cp --fleet-config fleet.yaml \\
      --local-image "metricsd*=$(python3 peers/build.py --print-path)"
"""

METRICS_SERVER_LABELS = {"k8s-app": "metrics-server"}


class UsageError(Exception):
    """Bad arguments: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# ------------------------------------------------------------------ metrics-server objects


def metrics_server_objects(host: str, port: int) -> list[tuple[str, dict[str, Any]]]:
    """(resource, object) pairs for a metrics server at host:port, as components.yaml plus
    the Endpoints a ready pod would give (not ready until probed)."""
    ns = "kube-system"
    sa = {"kind": "ServiceAccount", "name": "metrics-server", "namespace": ns}
    rbac = "rbac.authorization.k8s.io"
    return [
        (
            "serviceaccounts",
            {
                "metadata": {
                    "name": "metrics-server",
                    "namespace": ns,
                    "labels": METRICS_SERVER_LABELS,
                }
            },
        ),
        (
            f"clusterroles.{rbac}",
            {
                "metadata": {
                    "name": "system:aggregated-metrics-reader",
                    "labels": {
                        **METRICS_SERVER_LABELS,
                        f"{rbac}/aggregate-to-admin": "true",
                        f"{rbac}/aggregate-to-edit": "true",
                        f"{rbac}/aggregate-to-view": "true",
                    },
                },
                "rules": [
                    {
                        "apiGroups": ["metrics.k8s.io"],
                        "resources": ["pods", "nodes"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
        ),
        (
            f"clusterroles.{rbac}",
            {
                "metadata": {"name": "system:metrics-server", "labels": METRICS_SERVER_LABELS},
                "rules": [
                    {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                    {
                        "apiGroups": [""],
                        "resources": ["pods", "nodes"],
                        "verbs": ["get", "list", "watch"],
                    },
                ],
            },
        ),
        (
            f"rolebindings.{rbac}",
            {
                "metadata": {
                    "name": "metrics-server-auth-reader",
                    "namespace": ns,
                    "labels": METRICS_SERVER_LABELS,
                },
                "roleRef": {
                    "apiGroup": rbac,
                    "kind": "Role",
                    "name": "extension-apiserver-authentication-reader",
                },
                "subjects": [sa],
            },
        ),
        (
            f"clusterrolebindings.{rbac}",
            {
                "metadata": {
                    "name": "metrics-server:system:auth-delegator",
                    "labels": METRICS_SERVER_LABELS,
                },
                "roleRef": {
                    "apiGroup": rbac,
                    "kind": "ClusterRole",
                    "name": "system:auth-delegator",
                },
                "subjects": [sa],
            },
        ),
        (
            f"clusterrolebindings.{rbac}",
            {
                "metadata": {"name": "system:metrics-server", "labels": METRICS_SERVER_LABELS},
                "roleRef": {
                    "apiGroup": rbac,
                    "kind": "ClusterRole",
                    "name": "system:metrics-server",
                },
                "subjects": [sa],
            },
        ),
        (
            "services",
            {
                "metadata": {
                    "name": "metrics-server",
                    "namespace": ns,
                    "labels": METRICS_SERVER_LABELS,
                },
                "spec": {
                    "ports": [
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}
                    ]
                },
            },
        ),
        (
            "apiservices.apiregistration.k8s.io",
            {
                "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": METRICS_SERVER_LABELS},
                "spec": {
                    "group": "metrics.k8s.io",
                    "version": "v1beta1",
                    "service": {"name": "metrics-server", "namespace": ns},
                    "insecureSkipTLSVerify": True,
                    "groupPriorityMinimum": 100,
                    "versionPriority": 100,
                },
            },
        ),
    ]


def write_backend_endpoints(store: Any, host: str, port: int, ready: bool) -> None:
    """Endpoints + EndpointSlice of Service kube-system/metrics-server for host:port."""
    ns = "kube-system"
    key = "addresses" if ready else "notReadyAddresses"
    subsets = [{key: [{"ip": host}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]
    current = store.try_get("endpoints", "metrics-server", ns)
    if current is None or current.get("subsets") != subsets:
        store.replace(
            "endpoints",
            {
                "metadata": {
                    "name": "metrics-server",
                    "namespace": ns,
                    "labels": METRICS_SERVER_LABELS,
                },
                "subsets": subsets,
            },
        )
    eps = [
        {
            "addresses": [host],
            "conditions": {"ready": ready, "serving": ready, "terminating": False},
        }
    ]
    kind = "endpointslices.discovery.k8s.io"
    current = store.try_get(kind, "metrics-server-backend", ns)
    if current is None or current.get("endpoints") != eps:
        store.replace(
            kind,
            {
                "metadata": {
                    "name": "metrics-server-backend",
                    "namespace": ns,
                    "labels": {
                        "kubernetes.io/service-name": "metrics-server",
                        "endpointslice.kubernetes.io/managed-by": "fakeapiserver",
                    },
                },
                "addressType": "IPv4",
                "endpoints": eps,
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            },
        )


# ------------------------------------------------------------------------ the composition


class ControlPlane:
    """APIServer + RBAC/reviews + aggregation + endpoints + local pods (+ a fleet).

    ``local_clock`` (``now``, ``monotonic``, ``sleep``; default wall time) is the whole control
    plane's clock: the local pods', the store's timestamps, the controllers', availability
    conditions, service-account tokens and the kubelets' auth-cache TTLs. Sleeps are
    ``asyncio.sleep``: on ``scenarios.simtime``'s loop they are virtual too.
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        port: int = 0,
        kube_version: str = "1.30",
        cluster: Any = None,
        host: str = "127.0.0.1",
        local_clock: Any = None,
        local_prober: Any = None,
        fleet_auth_ttls: tuple[float, float, float] = (120.0, 300.0, 30.0),
        with_controllers: bool = True,
        untrusted_front_proxy_client: bool = False,
        local_images: Mapping[str, Sequence[str]] | None = None,
        hpa: Any = None,
        hpa_sleep: Any = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        #: image glob → command, ahead of the default rules (metricsd images run metricsd)
        self.local_images = dict(local_images or {})
        #: the HPA controller's settings (``controllers.HPAControllerConfig``; None: defaults)
        #: and its sleep (default: ``local_clock.sleep`` when given, else ``asyncio.sleep``);
        #: its clock is the server's
        self.hpa = hpa
        self.hpa_sleep = hpa_sleep if hpa_sleep is not None else getattr(local_clock, "sleep",
                                                                         None)
        self.untrusted_front_proxy_client = untrusted_front_proxy_client
        # one clock for the whole control plane: creationTimestamp (store), PodScheduled
        # (scheduler), startTime/startedAt/Ready (local pods) must compare as on a cluster
        clock = local_clock.now if local_clock is not None else time.time
        self.server = APIServer(self.state_dir, kube_version, host=host, port=port, clock=clock)
        # the kubelets' auth-cache TTLs follow that clock too when it is given (virtual time)
        self.clock: Callable[[], float] | None = (
            local_clock.now if local_clock is not None else None
        )
        self.cluster = cluster
        self.fleet_auth_ttls = fleet_auth_ttls
        self.with_controllers = with_controllers
        self.controllers: Any = None
        self.auth: AuthWiring | None = None
        self.aggregation: AggregationWiring | None = None
        self.endpoints = EndpointsController(self.server.store)
        self.local_pods = LocalPods(self.server.store, local_clock, local_prober or http_probe)
        if cluster is not None and local_clock is None:
            # the fleet's kubelets serve these processes with their real figures (real clock)
            from fakeapiserver.localmetrics import FleetProcessMetrics

            self.local_pods.observer = FleetProcessMetrics(cluster)
        self.fleet: Any = None
        self.registration: FleetRegistration | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def store(self) -> Any:
        return self.server.store

    async def start(self) -> None:
        await self.server.start()
        self.auth = wire_auth(self.server)
        self.controllers = self._wire_controllers()
        if self.controllers is None:
            self.endpoints.start()
        self.server.set_subresource_handler("pods", "log", self.local_pods.log_handler)
        if self.untrusted_front_proxy_client:
            self._sign_front_proxy_client_elsewhere()
        self.aggregation = wire_aggregation(self.server)
        if self.cluster is not None:
            await self._start_fleet()

    def _sign_front_proxy_client_elsewhere(self) -> None:
        """Re-issue the proxy's client certificate from a CA the cluster does not publish.

        The ConfigMap keeps announcing the real front-proxy CA, so aggregated servers reject
        the proxy's certificate: what a botched front-proxy CA rotation looks like.
        """
        import trustme

        from fakeapiserver.pki import FRONT_PROXY_CLIENT, issue_client_cert

        stranger = trustme.CA(organization_name="front-proxy (not published)")
        issue_client_cert(stranger, FRONT_PROXY_CLIENT).write(
            self.state_dir / "front-proxy-client.crt", self.state_dir / "front-proxy-client.key"
        )

    def _wire_controllers(self) -> Any:
        """kube-controller-manager/scheduler stand-ins (deployments, endpoints, local images)
        when that package is present; else our own EndpointsController does endpoints."""
        if not self.with_controllers:
            return None
        try:
            from fakeapiserver.controllers import LocalImages, wire_controllers
        except ImportError:
            return None
        return wire_controllers(
            self.server, auth=self.auth, local_pods=self.local_pods,
            images=LocalImages.from_mapping(self.local_images),
            workdir=self.state_dir / "pods", cluster=self.cluster,
            hpa=self.hpa if self.hpa is not None else True, hpa_sleep=self.hpa_sleep,
        )

    async def _start_fleet(self) -> None:
        from fakekubelet.certs import ClusterCA
        from fakekubelet.fleet import Fleet

        pki = self.server.pki
        ca = ClusterCA.load(pki.cluster_ca_pem, pki.cluster_ca.private_key_pem.bytes())
        client_ca = ClusterCA.load(pki.client_ca_pem, pki.client_ca.private_key_pem.bytes())
        self.fleet = Fleet(
            self.cluster,
            self.state_dir,
            ca=ca,
            client_ca=client_ca,
            reviewer=ControlPlaneReviewer(self.server),
            auth_ttls=self.fleet_auth_ttls,
            auth_clock=self.clock,
        )
        await self.fleet.start()
        # the fleet skips its identity files when ca.crt already exists: write them here
        self.fleet.client.write(self.state_dir / "client.crt", self.state_dir / "client.key")
        token_path = self.state_dir / "token"
        token_path.write_text(self.fleet.token)
        token_path.chmod(0o600)
        from fakekubelet.fleet import CLIENT_COMMON_NAME, CLIENT_GROUPS, TOKEN_USER

        self.server.authenticator.add_token(
            self.fleet.token, UserInfo(TOKEN_USER, groups=("system:monitoring",))
        )
        rbac = "rbac.authorization.k8s.io"
        self.store.replace(
            f"clusterroles.{rbac}",
            {
                "metadata": {"name": "fakekubelet:metrics-reader"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["nodes/metrics", "nodes/stats", "nodes/proxy"],
                        "verbs": ["get"],
                    }
                ],
            },
        )
        self.store.replace(
            f"clusterrolebindings.{rbac}",
            {
                "metadata": {"name": "fakekubelet:metrics-reader"},
                "roleRef": {
                    "apiGroup": rbac,
                    "kind": "ClusterRole",
                    "name": "fakekubelet:metrics-reader",
                },
                "subjects": [
                    {"apiGroup": rbac, "kind": "User", "name": CLIENT_COMMON_NAME},
                    {"apiGroup": rbac, "kind": "User", "name": TOKEN_USER},
                    *({"apiGroup": rbac, "kind": "Group", "name": g} for g in CLIENT_GROUPS),
                ],
            },
        )
        self.registration = FleetRegistration(self.store, self.cluster, self.fleet.node_port)
        self.registration.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.registration is not None:
            await self.registration.stop()
        if self.fleet is not None:
            await self.fleet.stop()
        if self.controllers is not None:
            await self.controllers.stop()
        await self.local_pods.stop()
        self.endpoints.stop()
        if self.aggregation is not None:
            await self.aggregation.stop()
        await self.server.stop()

    # -- metrics-server backend --------------------------------------------------------
    def register_metrics_server(self, host: str, port: int, *, ready: bool = False) -> str:
        """Create metrics-server's objects for a backend at host:port; return its SA token
        (also written to DIR/metrics-server.token and DIR/metrics-server.kubeconfig)."""
        from fakeapiserver.pki import write_kubeconfig

        for resource, obj in metrics_server_objects(host, port):
            self.store.replace(resource, obj)
        write_backend_endpoints(self.store, host, port, ready)
        assert self.auth is not None
        token = self.auth.issue_token("kube-system", "metrics-server")
        path = self.state_dir / "metrics-server.token"
        path.write_text(token)
        path.chmod(0o600)
        write_kubeconfig(
            self.state_dir / "metrics-server.kubeconfig",
            self.server.url,
            self.server.pki.cluster_ca_pem,
            token=token,
            user="system:serviceaccount:kube-system:metrics-server",
        )
        return token

    def probe_metrics_server(
        self,
        host: str,
        port: int,
        *,
        period: float = 10.0,
        failure_threshold: int = 3,
        timeout: float = 1.0,
    ) -> None:
        """Probe https://host:port/readyz like the manifest's readiness probe, forever."""
        self._tasks.append(
            asyncio.create_task(
                self._probe_loop(host, port, period, failure_threshold, timeout),
                name="backend-readiness",
            )
        )

    async def _probe_loop(
        self, host: str, port: int, period: float, failure_threshold: int, timeout: float
    ) -> None:
        ready = False
        failures = 0
        url = f"https://{host}:{port}/readyz"
        while True:
            result: ProbeResult = await http_probe(url, timeout)
            if result.ok:
                failures = 0
                if not ready:
                    ready = True
                    write_backend_endpoints(self.store, host, port, True)
            else:
                failures += 1
                if ready and failures >= failure_threshold:
                    ready = False
                    write_backend_endpoints(self.store, host, port, False)
            await asyncio.sleep(period)


# ------------------------------------------------------------------------------ arguments


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f'--apiservice-backend: expected HOST:PORT, got "{text}"')
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise UsageError(
            f'--apiservice-backend: expected a loopback IP address, got "{host}"'
        ) from None
    if not ip.is_loopback:
        raise UsageError(f'--apiservice-backend: expected a loopback address, got "{host}"')
    return str(ip), int(port_text)


def _local_image(text: str) -> tuple[str, list[str]]:
    pattern, sep, command_text = text.partition("=")
    if not sep or not pattern.strip() or not command_text.strip():
        raise UsageError(f'--local-image: expected PATTERN=COMMAND, got "{text}"')
    try:
        command = shlex.split(command_text)
    except ValueError as err:
        raise UsageError(f'--local-image {pattern}: cannot split "{command_text}": {err}') from None
    program = command[0]
    found = shutil.which(program) if os.sep not in program else (
        program if os.path.isfile(program) and os.access(program, os.X_OK) else None)
    if found is None:
        raise UsageError(f"--local-image {pattern}: {program}: no such executable file")
    return pattern.strip(), command


def _kube_version(text: str) -> str:
    from fakeapiserver.discovery import parse_version

    try:
        major, minor = parse_version(text)
    except ValueError:
        raise UsageError(f'--kube-version: expected a version like 1.30, got "{text}"') from None
    if major != 1 or not 20 <= minor <= 40:
        raise UsageError(f'--kube-version: expected 1.20 … 1.40, got "{text}"')
    return f"{major}.{minor}"


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f'--port: expected a port number 0-65535, got "{text}"')
    return int(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from fakekubelet.cli import absolute_path, add_fleet_arguments

    parser = _Parser(
        prog=PROG,
        description="A simulated Kubernetes control plane (HTTPS, RBAC, aggregation) with a "
        "fakekubelet fleet registered in it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--state-dir",
        required=True,
        type=absolute_path,
        metavar="DIR",
        help="where kubeconfig, CA certificates and the fleet's files go",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="P",
        help="HTTPS port on 127.0.0.1 (default: an ephemeral port)",
    )
    add_fleet_arguments(parser, config_flag="--fleet-config")
    parser.add_argument(
        "--kube-version",
        type=_kube_version,
        default="1.30",
        metavar="1.30",
        help="emulated Kubernetes version (discovery behaviour; default 1.30)",
    )
    parser.add_argument(
        "--apiservice-backend",
        type=_host_port,
        default=None,
        metavar="HOST:PORT",
        help="register v1beta1.metrics.k8s.io for a metrics server there",
    )
    parser.add_argument(
        "--untrusted-front-proxy-client",
        action="store_true",
        help="sign the aggregation proxy's client certificate with a CA other than the "
        "front-proxy CA the cluster publishes (a misconfigured or rotated front proxy)",
    )
    parser.add_argument(
        "--local-image",
        type=_local_image,
        action="append",
        default=[],
        metavar="PATTERN=COMMAND",
        help="run pods whose image matches the glob PATTERN as COMMAND (repeatable; before "
        "the default: metricsd images run python -m metricsd)",
    )
    hpa = parser.add_argument_group(
        "HPA controller (kube-controller-manager's flags, names and defaults)")
    from fakeapiserver.controllers.hpaconfig import SETTINGS

    for setting in SETTINGS:
        hpa.add_argument(setting.flag, default=None, metavar="VALUE",
                         help=f"{setting.help} (default {setting.default})")
    hpa.add_argument("--feature-gates", default="", metavar="A=true,B=false",
                     help="feature gates the HPA consults: HPAConfigurableTolerance (1.33+), "
                     "PodLevelResources (1.32+), HPAScaleToZero")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    return parser.parse_args(argv)


def hpa_config(args: argparse.Namespace) -> Any:
    """The HPA controller's settings from the flags, validated for the emulated version."""
    from fakeapiserver.controllers.hpaconfig import SETTINGS, ConfigError, HPAControllerConfig
    from fakeapiserver.discovery import parse_version

    texts = {s.flag: getattr(args, s.attr_name) for s in SETTINGS
             if getattr(args, s.attr_name) is not None}
    try:
        config = HPAControllerConfig.from_texts(texts, args.feature_gates)
        config.validate(parse_version(args.kube_version))
    except ConfigError as err:
        raise UsageError(str(err)) from None
    return config


def build_cluster(args: argparse.Namespace) -> Any:
    """The fleet's cluster from the flags (fakekubelet's own builder and validation)."""
    from fakekubelet import cli as fk

    try:
        return fk.build_cluster(args)
    except fk.UsageError as err:
        raise UsageError(str(err)) from None


async def serve(args: argparse.Namespace, cluster: Any) -> int:
    from fakekubelet import cli as fk

    plane = ControlPlane(
        args.state_dir, port=args.port, kube_version=args.kube_version, cluster=cluster,
        untrusted_front_proxy_client=args.untrusted_front_proxy_client,
        local_images=dict(args.local_image),
        hpa=hpa_config(args),
    )

    def announce() -> None:
        if args.apiservice_backend is not None:
            host, port = args.apiservice_backend
            plane.register_metrics_server(host, port)
            plane.probe_metrics_server(host, port)
        print(
            f"{PROG}: serving {plane.server.url} (Kubernetes {args.kube_version}), state in "
            f"{args.state_dir}",
            file=sys.stderr,
            flush=True,
        )
        print(f"{PROG}: ready", flush=True)

    return await fk.run_until_signalled(PROG, plane.start, plane.stop, announce)


def main(argv: Sequence[str] | None = None) -> int:
    from fakekubelet import cli as fk

    try:
        args = parse_args(argv)
        if args.config is not None and not os.path.isfile(args.config):
            raise UsageError(f"--fleet-config: {args.config}: no such file")
        hpa_config(args)
        fk.prepare_state_dir(args.state_dir)
        lock = fk.claim_state_dir(args.state_dir)
        cluster = build_cluster(args)
    except (UsageError, fk.UsageError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    fk.configure_logging(args.verbose)
    try:
        return asyncio.run(serve(args, cluster))
    except KeyboardInterrupt:
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
