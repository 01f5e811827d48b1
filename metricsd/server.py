"""Composition: options → informers, scraper, storage, API, auth, health, self-metrics → HTTPS.

Start-up follows metrics-server v0.7.1 (pkg/server/server.go): the serving certificate is loaded or
generated and the secure port is bound first (so ``bind: permission denied`` is fatal at
once); then the authentication settings are looked up, the node and pod informers start and
must sync — until then the bound socket accepts connections but nothing answers them — then
the scrape loop and the HTTPS server start (``Serving securely on …``).

:class:`MetricsServer` is usable in-process (tests inject a clock, an RNG, a logger and rest
configs); :func:`run` is what ``metricsd.cli`` calls. HTTP routing lives in
:mod:`metricsd.serve_http`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import ipaddress
import json
import random
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from metricsd import klog
from metricsd.api import MetricsAPI
from metricsd.auth import AuthenticationConfig, Authenticator, Authorizer
from metricsd.auth.requestheader import CONFIGMAP_NAME, CONFIGMAP_NAMESPACE
from metricsd.auth.reviews import ReviewClient
from metricsd.clock import Clock, RealClock
from metricsd.health import MetricsdHealth, build_endpoints
from metricsd.informers import NodeInformer, PodInformer, metadata_call
from metricsd.kubeconfig import (
    KubeconfigError,
    RestConfig,
    api_client_configuration,
    api_status_message,
    describe_api_error,
    load_kubeconfig,
    load_rest_config,
)
from metricsd.monitoring import SelfMetrics
from metricsd.options import Options, StartupError
from metricsd.scraper.batch import MetricsBatch
from metricsd.scraper.client import KubeletClient, kubelet_client_config
from metricsd.scraper.scraper import ScrapeLoop, Scraper
from metricsd.selectors import SelectorError, parse_label_selector
from metricsd.serve_http import HTTPApp
from metricsd.servingcerts import configure_client_cas, ensure_serving_cert, server_ssl_context
from metricsd.storage import Storage
from metricsd.tlsciphers import cipher_suite_ids, insecure_names
from metricsd.version import user_agent

__all__ = ["MetricsServer", "bind_text", "run"]

NS = 1_000_000_000
CONFIGMAP_PATH = f"/api/v1/namespaces/{CONFIGMAP_NAMESPACE}/configmaps/{CONFIGMAP_NAME}"
AUTH_CONFIG_REFRESH = 30.0  # seconds between re-reads of the authentication ConfigMap


def bind_text(address: str, port: int) -> str:
    """The listener address as Go prints it: ``[::]:10250`` for all interfaces."""
    try:
        ip = ipaddress.ip_address(address or "0.0.0.0")
    except ValueError:
        return f"{address}:{port}"
    if ip.is_unspecified:
        return f"[::]:{port}"
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _bind(address: str, port: int, reuse_address: bool, reuse_port: bool) -> socket.socket:
    host = address or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if not 0 <= port <= 65535:  # Go's net.Listen refuses it before any socket exists
        shown = f"{host}:{port}" if family == socket.AF_INET else f"[{host}]:{port}"
        raise StartupError(f"failed to create listener: failed to listen on {shown}: "
                           f"listen tcp: address {port}: invalid port")
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as err:
        sock.close()
        shown = f"{host}:{port}" if family == socket.AF_INET else f"[{host}]:{port}"
        reason = {errno.EACCES: "bind: permission denied",
                  errno.EADDRINUSE: "bind: address already in use",
                  errno.EADDRNOTAVAIL: "bind: cannot assign requested address"}.get(
                      err.errno or 0, f"bind: {(err.strerror or str(err)).lower()}")
        raise StartupError(f"failed to create listener: failed to listen on {shown}: "
                           f"listen tcp {shown}: {reason}") from None
    sock.setblocking(False)
    return sock


class _Recorder:
    """Adapts the scraper's recorder protocol to the self-metrics registry."""

    def __init__(self, metrics: SelfMetrics) -> None:
        self.metrics = metrics

    def kubelet_request(self, node: str, duration_s: float, success: bool, now: float) -> None:
        self.metrics.observe_kubelet_request(node, duration_s, success, now)

    def tick(self, duration_s: float) -> None:
        self.metrics.observe_tick(duration_s)


class MetricsServer:
    """One metricsd instance: call :meth:`start`, then :meth:`stop` (or ``run_until_stopped``)."""

    def __init__(
        self,
        options: Options,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        log: klog.Logger | None = None,
        rest: RestConfig | None = None,
        metrics: SelfMetrics | None = None,
        process_metrics: bool = True,
    ) -> None:
        self.options = options
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.log = log or klog.logger
        self.rest = rest
        self.metrics = metrics or SelfMetrics(options.metric_resolution,
                                              process_metrics=process_metrics)
        self.storage = Storage(options.metric_resolution, ready_semantics=options.ready_semantics,
                               log=self.log.logfn(1))
        self.shutting_down = False
        self.informers_started = False
        self.stopped = asyncio.Event()
        self.ready_to_serve = asyncio.Event()
        self.port = 0
        self.ssl_context: ssl.SSLContext | None = None
        self._sock: socket.socket | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._closers: list[Callable[[], Any]] = []
        self._api_client: Any = None
        self.loop: ScrapeLoop | None = None
        self.nodes: NodeInformer | None = None
        self.pods: PodInformer | None = None
        self.http: HTTPApp | None = None
        self.auth_config = AuthenticationConfig()
        self._stop_loop = asyncio.Event()

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Everything up to serving; raises StartupError with upstream's messages."""
        o = self.options
        cert = ensure_serving_cert(cert_file=o.tls_cert_file, key_file=o.tls_private_key_file,
                                   cert_dir=o.cert_dir, bind_address=o.bind_address,
                                   secure_port=o.secure_port, log=self.log)
        if cert is not None and o.secure_port > 0:
            self._sock = _bind(o.bind_address, o.secure_port, o.permit_address_sharing,
                               o.permit_port_sharing)
            self.port = int(self._sock.getsockname()[1])
            # as the serving options' ApplyTo: the pair, --tls-cipher-suites and
            # --tls-min-version are checked right after the listener, before anything starts
            self.ssl_context = server_ssl_context(cert, min_version=o.tls_min_version,
                                                  cipher_suites=o.tls_cipher_suites)
        try:
            selector = parse_label_selector(o.node_selector)
        except SelectorError as err:
            raise StartupError(str(err)) from None
        rest = self.rest
        if rest is None:
            try:
                rest = load_rest_config(o.kubeconfig)
            except KubeconfigError as err:
                raise StartupError(f"unable to construct lister client config: {err}") from None
        self.rest = rest
        try:
            kubelet_config = kubelet_client_config(
                rest,
                insecure_tls=o.kubelet_insecure_tls,
                certificate_authority=o.kubelet_certificate_authority,
                client_certificate=o.kubelet_client_certificate,
                client_key=o.kubelet_client_key,
                completely_insecure=o.deprecated_kubelet_completely_insecure,
                port=o.kubelet_port,
                use_node_status_port=o.kubelet_use_node_status_port,
                preferred_address_types=tuple(o.kubelet_preferred_address_types),
                timeout_s=o.kubelet_request_timeout_seconds,
                user_agent=user_agent(),
                max_body_bytes=o.kubelet_max_body_bytes,
                max_body_text=o.kubelet_max_body_size,
            )
            trace = None
            if self.log.enabled(6, "transport/round_trippers.go:553"):

                def trace(text: str) -> None:
                    self.log.infof(text, v=6, at="transport/round_trippers.go:553")

            kubelet = KubeletClient(kubelet_config, self.clock, trace)
        except (OSError, ssl.SSLError) as err:
            raise StartupError(f"unable to construct a client to connect to the kubelets: "
                               f"{err}") from None
        self._closers.append(kubelet.close)

        from kubernetes_asyncio import client as k8s

        self._api_client = k8s.ApiClient(api_client_configuration(rest))
        self._api_client.user_agent = user_agent()
        core = k8s.CoreV1Api(self._api_client)
        authn, authz = await self._delegation(core)

        if cert is not None and self.ssl_context is not None:
            configure_client_cas(self.ssl_context, self.auth_config.all_ca_pems())
            self.log.info("Starting controller",
                          "name", f"serving-cert::{cert.cert_file}::{cert.key_file}",
                          at="dynamiccertificates/dynamic_serving_content.go:132")

        # informers: start, then wait for sync (nothing is served until then)
        kw = {"clock": self.clock, "log": self.log.logfn(), "rng": self.rng}
        self.nodes = NodeInformer(core.list_node, selector, **kw,
                                  describe_error=self._describer("/api/v1/nodes"))
        self.pods = PodInformer(metadata_call(self._api_client, "/api/v1/pods"), **kw,
                                describe_error=self._describer(
                                    "/api/v1/pods?fieldSelector=status.phase%3DRunning"))
        self._spawn(self.nodes.reflector.run())
        self._spawn(self.pods.reflector.run())
        self.informers_started = True
        await self.nodes.reflector.synced.wait()
        await self.pods.reflector.synced.wait()

        scraper = Scraper(kubelet, self.nodes.scrape_targets, clock=self.clock,
                          node_selector=str(selector), rng=self.rng,
                          recorder=_Recorder(self.metrics), log=self.log.logfn())
        self.loop = ScrapeLoop(scraper, self._store, o.metric_resolution_seconds,
                               clock=self.clock, recorder=_Recorder(self.metrics),
                               log=self.log.logfn())
        self._spawn(self.loop.run(self._stop_loop))

        api = MetricsAPI(self.storage, self.nodes, self.pods, selector, self.log.logfn())
        health = build_endpoints(MetricsdHealth(
            storage_ready=self.storage.ready,
            nodes_synced=lambda: informer_synced(self.nodes),
            pods_synced=lambda: informer_synced(self.pods),
            last_tick_start=lambda: self.loop.tick_last_start_mono if self.loop else None,
            resolution_ns=o.metric_resolution,
            clock=self.clock,
            metadata_not_started=lambda: [] if self.informers_started
            else ["/v1, Resource=pods"],
            shutting_down=lambda: self.shutting_down,
        ), self.log)
        self.http = HTTPApp(api=api, health=health, metrics=self.metrics, authn=authn,
                            authz=authz, clock=self.clock, log=self.log)
        if self._sock is not None and self.ssl_context is not None:
            for name in insecure_names(cipher_suite_ids(o.tls_cipher_suites)):
                self.log.warningf(f"Use of insecure cipher '{name}' detected.",
                                  at="server/secure_serving.go:69")
            await self.http.serve(self._sock, self.ssl_context)
            self.log.infof(f"Serving securely on {bind_text(o.bind_address, self.port)}",
                           at="server/secure_serving.go:213")
            self.log.info("Starting DynamicServingCertificateController",
                          at="dynamiccertificates/tlsconfig.go:240")
        self.ready_to_serve.set()

    def _describer(self, path: str) -> Callable[[BaseException], Awaitable[str]]:
        rest = self.rest or RestConfig()

        async def describe(exc: BaseException) -> str:
            return await describe_api_error(rest, path, exc)

        return describe

    def _store(self, batch: MetricsBatch) -> None:
        self.storage.store(batch)
        points = self.storage.storage_points()
        self.metrics.set_storage_points(points["node"], points["container"])

    def _spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.create_task(coro))

    async def _delegation(self, core: Any) -> tuple[Authenticator, Authorizer]:
        """Authentication settings (flags + ConfigMap), review clients, the two chains."""
        o = self.options
        try:
            self.auth_config = AuthenticationConfig.from_flags(
                client_ca_file=o.client_ca_file,
                requestheader_client_ca_file=o.requestheader_client_ca_file,
                requestheader_allowed_names=o.requestheader_allowed_names,
                requestheader_username_headers=o.requestheader_username_headers,
                requestheader_group_headers=o.requestheader_group_headers,
                requestheader_extra_headers_prefix=o.requestheader_extra_headers_prefix,
            )
        except OSError as err:
            raise StartupError(f"open {err.filename}: {(err.strerror or '').lower()}") from None
        authn_rest = self._delegation_rest(o.authentication_kubeconfig)
        authz_rest = self._delegation_rest(o.authorization_kubeconfig)
        authn_reviews = ReviewClient(authn_rest, user_agent()) if authn_rest else None
        authz_reviews = ReviewClient(authz_rest, user_agent()) if authz_rest else None
        for reviews in (authn_reviews, authz_reviews):
            if reviews is not None:
                self._closers.append(reviews.close)
        if not o.authentication_skip_lookup and not (
            self.auth_config.client_ca_from_flags and self.auth_config.request_header_from_flags
        ):
            await self._watch_auth_configmap(core)
        authn = Authenticator(self.auth_config, authn_reviews,
                              token_cache_ttl_s=o.authentication_token_webhook_cache_ttl / NS,
                              clock=self.clock)
        authz = Authorizer(
            authz_reviews,
            always_allow_paths=o.authorization_always_allow_paths,
            allow_ttl_s=o.authorization_webhook_cache_authorized_ttl / NS,
            deny_ttl_s=o.authorization_webhook_cache_unauthorized_ttl / NS,
            clock=self.clock,
        )
        return authn, authz

    def _delegation_rest(self, kubeconfig: str) -> RestConfig | None:
        """The delegation kubeconfig; when empty, in-cluster — or, outside a cluster, the
        ``--kubeconfig`` connection (a metricsd convenience; upstream would fail)."""
        if kubeconfig:
            try:
                return load_kubeconfig(kubeconfig)
            except KubeconfigError as err:
                raise StartupError(str(err)) from None
        return self.rest

    async def _fetch_auth_configmap(self, core: Any) -> dict[str, str] | None:
        """The ConfigMap's data; None when it does not exist; raises on other failures."""
        response = await core.read_namespaced_config_map(
            CONFIGMAP_NAME, CONFIGMAP_NAMESPACE, _preload_content=False)
        try:
            body = await response.read()
            if response.status == 404:
                return None
            if response.status != 200:
                raise RuntimeError(api_status_message(body, response.status))
        finally:
            response.release()
        data = json.loads(body).get("data") or {}
        return {str(k): str(v) for k, v in data.items()}

    def _apply_auth_configmap(self, data: dict[str, str] | None) -> None:
        if self.auth_config.update_from_configmap(data or {}) and self.ssl_context is not None:
            configure_client_cas(self.ssl_context, self.auth_config.all_ca_pems())

    async def _watch_auth_configmap(self, core: Any) -> None:
        """Look the ConfigMap up once (fatal unless tolerated), then keep it current.

        Upstream's lookup is a GET and its CA controllers list+watch with a
        ``metadata.name`` field selector; we re-GET every AUTH_CONFIG_REFRESH seconds instead,
        which needs only the ``get`` that role ``extension-apiserver-authentication-reader``
        grants and picks up rotated CAs within that period.
        """
        name = f"configmap/{CONFIGMAP_NAME} in {CONFIGMAP_NAMESPACE}"
        self.log.infof("Starting RequestHeaderAuthRequestController",
                       at="headerrequest/requestheader_controller.go:169")
        for ca in ("client-ca-file", "requestheader-client-ca-file"):
            self.log.info("Starting controller", "name",
                          f"client-ca::{CONFIGMAP_NAMESPACE}::{CONFIGMAP_NAME}::{ca}",
                          at="dynamiccertificates/configmap_cafile_content.go:202")
        try:
            data = await self._fetch_auth_configmap(core)
        except Exception as exc:
            err = await self._describer(CONFIGMAP_PATH)(exc)
            self.log.warningf(
                f"Unable to get {name}.  Usually fixed by 'kubectl create rolebinding -n "
                f"{CONFIGMAP_NAMESPACE} ROLEBINDING_NAME --role="
                "extension-apiserver-authentication-reader --serviceaccount=YOUR_NS:YOUR_SA'",
                at="options/authentication.go:368")
            if not self.options.authentication_tolerate_lookup_failure:
                raise StartupError(
                    f"unable to load configmap based request-header-client-ca-file: {err}"
                ) from None
            data = None
        else:
            if data is None or not data.get("client-ca-file"):
                self.log.warningf(
                    f"Cluster doesn't provide client-ca-file in {name}, so client certificate "
                    "authentication won't work.", at="options/authentication.go:402")
            if data is None or not data.get("requestheader-client-ca-file"):
                self.log.warningf(
                    f"Cluster doesn't provide requestheader-client-ca-file in {name}, so "
                    "request-header client certificate authentication won't work.",
                    at="options/authentication.go:406")
        self._apply_auth_configmap(data)
        self.log.infof("Caches are synced for RequestHeaderAuthRequestController",
                       at="cache/shared_informer.go:318")
        self._spawn(self._refresh_auth_configmap(core))

    async def _refresh_auth_configmap(self, core: Any) -> None:
        while True:
            await self.clock.sleep(AUTH_CONFIG_REFRESH)
            try:
                data = await self._fetch_auth_configmap(core)
            except Exception as err:
                self.log.error("Failed to refresh the authentication ConfigMap", err=str(err))
                continue
            if data is not None:
                self._apply_auth_configmap(data)

    # ------------------------------------------------------------------ shutdown

    async def stop(self) -> None:
        """Graceful shutdown: readyz fails, the loop stops, listeners close."""
        if self.stopped.is_set():
            return
        self.shutting_down = True
        self._stop_loop.set()
        if self.http is not None:
            await self.http.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in self._closers:
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                await self._api_client.close()
        if self._sock is not None:
            self._sock.close()
        self.stopped.set()


async def run(options: Options) -> int:
    """``metricsd`` main: start, serve until SIGTERM/SIGINT, shut down; exit status."""
    # A scrape cycle allocates hundreds of thousands of short-lived objects; with the default
    # generation-0 threshold (700) the collector runs thousands of times per cycle and walks
    # the long-lived caches each time. A higher threshold, and freezing what exists once the
    # informers have synced, cut a 1,000-node cycle's CPU by about 0.1 s (bench/hotpaths_bench.py
    # and bench/metricsd_bench.py: 1.02 CPU-s as is, 0.93 with this threshold, 0.86 without GC).
    gc.set_threshold(100_000, 50, 100)
    klog.route_python_logging()  # a library's traceback never reaches stderr raw
    server = MetricsServer(options)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(server.start())
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()  # raises StartupError
            gc.collect()
            gc.freeze()  # the synced caches and startup state: never worth scanning again
            await stopper
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StartupError):
                await starting
    except BaseException:
        await server.stop()
        raise
    await server.stop()
    return 0


def informer_synced(informer: NodeInformer | PodInformer | None) -> bool:
    """Whether an informer has listed once (``HasSynced``). Not ``bool(informer)``: an
    informer holding no objects is falsy (it has a length) and still synced — a cluster
    whose only pods are yet to come."""
    return informer is not None and informer.has_synced
