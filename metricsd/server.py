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
from metricsd.apiclient import APIClient
from metricsd.apiserverlog import LibraryLog
from metricsd.auth import AuthenticationConfig, Authenticator, Authorizer
from metricsd.auth.requestheader import CONFIGMAP_NAME, CONFIGMAP_NAMESPACE
from metricsd.auth.reviews import ReviewClient
from metricsd.clock import Clock, RealClock
from metricsd.health import MetricsdHealth, build_endpoints
from metricsd.informers import NodeInformer, PodInformer, Reflector, api_call, metadata_call
from metricsd.kubeconfig import (
    KubeconfigError,
    RestConfig,
    api_status_message,
    describe_api_error,
    load_incluster,
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


class _Forbidden(Exception):
    """The authentication ConfigMap may not be read (403)."""


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
        #: the lines k8s.io/apiserver and client-go print for what the server does
        self.lib = LibraryLog(self.log)
        self._cert: Any = None
        self._auth_core: Any = None
        self._auth_reflector: Reflector | None = None

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Everything up to serving; raises StartupError with upstream's messages."""
        o = self.options
        cert = ensure_serving_cert(cert_file=o.tls_cert_file, key_file=o.tls_private_key_file,
                                   cert_dir=o.cert_dir, bind_address=o.bind_address,
                                   secure_port=o.secure_port, log=self.log)
        self._cert = cert
        if cert is not None:
            self.lib.serving_pair_loaded(self._serving_cert_name())
        if cert is not None and o.secure_port > 0:
            self._sock = _bind(o.bind_address, o.secure_port, o.permit_address_sharing,
                               o.permit_port_sharing)
            self.port = int(self._sock.getsockname()[1])
            # as the serving options' ApplyTo: the pair, --tls-cipher-suites and
            # --tls-min-version are checked right after the listener, before anything starts
            self.ssl_context = server_ssl_context(cert, min_version=o.tls_min_version,
                                                  cipher_suites=o.tls_cipher_suites)
        # then, as upstream's ServerConfig(): delegated authentication (its kubeconfig, the
        # ConfigMap lookup), delegated authorization, the lister client config; and as
        # Complete(): the kubelet client, the node selector. Each fails with upstream's text.
        authn, authz = await self._delegation()
        rest = self.rest
        if rest is None:
            try:
                rest = load_rest_config(o.kubeconfig)
            except KubeconfigError as err:
                raise StartupError(f"unable to construct lister client config: {err}") from None
            if o.kubeconfig:
                self.lib.kubeconfig_loaded(o.kubeconfig)
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
        try:
            selector = parse_label_selector(o.node_selector)
        except SelectorError as err:
            raise StartupError(str(err)) from None

        self._api_client = APIClient(rest, user_agent())
        if cert is not None and self.ssl_context is not None:
            configure_client_cas(self.ssl_context, self.auth_config.all_ca_pems())
        self.lib.group_version_added()  # the API is installed

        # informers: start, then wait for sync (nothing is served until then)
        kw: dict[str, Any] = {"clock": self.clock, "log": self.log.logfn(), "rng": self.rng,
                              "lib": self.lib, "client_go_params": True}
        self.nodes = NodeInformer(api_call(self._api_client, "/api/v1/nodes", lib=self.lib),
                                  selector, **kw, describe_error=self._describer("/api/v1/nodes"))
        self.pods = PodInformer(metadata_call(self._api_client, "/api/v1/pods", lib=self.lib),
                                **kw, describe_error=self._describer(
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
        for endpoint in ("healthz", "livez", "readyz"):
            self.lib.health_checkers(endpoint, health.names(endpoint))
        self.lib.mux_complete()
        self.http = HTTPApp(api=api, health=health, metrics=self.metrics, authn=authn,
                            authz=authz, clock=self.clock, log=self.log)
        # serving: the authentication ConfigMap's controllers, the serving certificate's, the
        # listener; the ConfigMap's list+watch then keeps the client CAs current
        self._start_auth_informer()
        if self._sock is not None and self.ssl_context is not None:
            if self._cert is not None:
                self.log.info("Starting controller", "name", self._serving_cert_name(),
                              at="dynamiccertificates/dynamic_serving_content.go:132")
                self.lib.serving_cert_loaded(self._serving_cert_name(), self._cert_pem())
            for name in insecure_names(cipher_suite_ids(o.tls_cipher_suites)):
                self.log.warningf(f"Use of insecure cipher '{name}' detected.",
                                  at="server/secure_serving.go:69")
            await self.http.serve(self._sock, self.ssl_context)
            self.log.infof(f"Serving securely on {bind_text(o.bind_address, self.port)}",
                           at="server/secure_serving.go:213")
            self.lib.waiting_for_shutdown()
            self.log.info("Starting DynamicServingCertificateController",
                          at="dynamiccertificates/tlsconfig.go:240")
        self.ready_to_serve.set()

    def _serving_cert_name(self) -> str:
        assert self._cert is not None
        return f"serving-cert::{self._cert.cert_file}::{self._cert.key_file}"

    def _cert_pem(self) -> bytes:
        assert self._cert is not None
        try:
            with open(self._cert.cert_file, "rb") as f:
                return f.read()
        except OSError:
            return b""

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

    async def _delegation(self) -> tuple[Authenticator, Authorizer]:
        """Delegated authentication (flags, its kubeconfig, the ConfigMap lookup through it),
        then delegated authorization — the order of upstream's ApiserverConfig()."""
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
        authn_rest = self._delegation_rest(o.authentication_kubeconfig, "authentication")
        authn_reviews = (ReviewClient(authn_rest, user_agent(), lib=self.lib)
                         if authn_rest else None)
        if authn_reviews is not None:
            self._closers.append(authn_reviews.close)
        if not o.authentication_skip_lookup and not (
            self.auth_config.client_ca_from_flags and self.auth_config.request_header_from_flags
        ) and authn_rest is not None:
            lookup = APIClient(authn_rest, user_agent())
            self._closers.append(lookup.close)
            await self._watch_auth_configmap(lookup, authn_rest)
        authz_rest = self._delegation_rest(o.authorization_kubeconfig, "authorization")
        authz_reviews = (ReviewClient(authz_rest, user_agent(), lib=self.lib)
                         if authz_rest else None)
        if authz_reviews is not None:
            self._closers.append(authz_reviews.close)
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

    def _delegation_rest(self, kubeconfig: str, what: str) -> RestConfig | None:
        """The delegation kubeconfig; when empty, in-cluster — or, outside a cluster, the
        ``--kubeconfig`` connection (a metricsd convenience, docs/peer-deviations.md D9;
        upstream fails). Errors as upstream words them."""
        prefix = f"failed to get delegated {what} kubeconfig: "
        if what == "authentication":  # DelegatingAuthenticationOptions wraps it twice
            prefix += prefix
        if kubeconfig:
            try:
                config = load_kubeconfig(kubeconfig)
            except KubeconfigError as err:
                raise StartupError(prefix + str(err)) from None
            self.lib.kubeconfig_loaded(kubeconfig)
            return config
        try:
            return load_incluster()
        except KubeconfigError as err:
            if self.rest is not None:
                return self.rest
            if self.options.kubeconfig:
                with contextlib.suppress(KubeconfigError):
                    self.rest = load_kubeconfig(self.options.kubeconfig)
                    self.lib.kubeconfig_loaded(self.options.kubeconfig)
                    return self.rest
            raise StartupError(prefix + str(err)) from None

    async def _fetch_auth_configmap(self, client: APIClient) -> dict[str, str] | None:
        """The ConfigMap's data; None when it does not exist; raises on other failures
        (:class:`_Forbidden` for a 403)."""
        started = self.clock.monotonic()
        response = await client.get(CONFIGMAP_PATH)
        if self.lib.request_enabled():
            self.lib.request("GET", client.url(CONFIGMAP_PATH), response.status,
                             response.reason or "", self.clock.monotonic() - started)
        try:
            body = await response.read()
            if response.status == 404:
                return None
            if response.status == 403:
                raise _Forbidden(api_status_message(body, response.status))
            if response.status != 200:
                raise RuntimeError(api_status_message(body, response.status))
        finally:
            response.release()
        data = json.loads(body).get("data") or {}
        return {str(k): str(v) for k, v in data.items()}

    def _apply_auth_configmap(self, data: dict[str, str] | None) -> bool:
        changed = self.auth_config.update_from_configmap(data or {})
        if changed and self.ssl_context is not None:
            configure_client_cas(self.ssl_context, self.auth_config.all_ca_pems())
        return changed

    async def _watch_auth_configmap(self, core: APIClient, rest: RestConfig) -> None:
        """The request-header controller's RunOnce: one GET of the ConfigMap through the
        authentication client, fatal unless tolerated (a missing ConfigMap is not an error);
        :meth:`_start_auth_informer` keeps it current once serving starts."""
        try:
            data = await self._fetch_auth_configmap(core)
        except Exception as exc:
            if isinstance(exc, _Forbidden):
                self.lib.configmap_forbidden()
                err = str(exc)
            else:
                err = await describe_api_error(rest, CONFIGMAP_PATH, exc)
            if not self.options.authentication_tolerate_lookup_failure:
                raise StartupError(
                    f"unable to load configmap based request-header-client-ca-file: {err}"
                ) from None
            self.lib.lookup_tolerated(err)
            data = None
        self._apply_auth_configmap(data)
        self._auth_core = core

    def _start_auth_informer(self) -> None:
        """The ConfigMap controllers the generic apiserver starts with serving: the request
        header's and the two client CAs' (one list+watch of the ConfigMap here; upstream runs
        three with the same requests). A changed ConfigMap takes effect at once."""
        core = self._auth_core
        if core is None:
            return
        self.lib.serving_controllers_starting(None)
        synced = False

        def replace(items: list[dict[str, Any]]) -> None:
            nonlocal synced
            data = (items[0].get("data") or {}) if items else {}
            changed = self._apply_auth_configmap({str(k): str(v) for k, v in data.items()})
            if not synced:  # the first list: the controllers' caches are synced
                synced = True
                self.lib.auth_caches_synced()
                self._log_auth_loaded()
            elif changed:
                self._log_auth_loaded()

        def upsert(obj: dict[str, Any]) -> None:
            data = obj.get("data") or {}
            if self._apply_auth_configmap({str(k): str(v) for k, v in data.items()}):
                self._log_auth_loaded()

        reflector = Reflector(
            "*v1.ConfigMap",
            api_call(core, f"/api/v1/namespaces/{CONFIGMAP_NAMESPACE}/configmaps", lib=self.lib),
            on_replace=replace, on_upsert=upsert, on_delete=lambda _obj: None,
            clock=self.clock, log=self.log.logfn(), rng=self.rng, lib=self.lib,
            resync="12h0m0s", client_go_params=True,
            call_kwargs={"field_selector": f"metadata.name={CONFIGMAP_NAME}"})
        self._auth_reflector = reflector
        self._spawn(reflector.run())

    def _log_auth_loaded(self) -> None:
        """What the controllers log once the ConfigMap's content is in: the client CAs (and
        the serving certificate, re-served with them), the request-header values."""
        self.lib.client_cas_loaded(self.auth_config.client_ca_bundles())
        if self._cert is not None:
            self.lib.serving_cert_loaded(self._serving_cert_name(), self._cert_pem())
        self.lib.request_header_loaded()

    # ------------------------------------------------------------------ shutdown

    async def stop(self) -> None:
        """Graceful shutdown: readyz fails, the loop stops, listeners close."""
        if self.stopped.is_set():
            return
        self.shutting_down = True
        serving = self.ready_to_serve.is_set() and self.http is not None
        if serving:
            self.lib.shutdown_begins()
        self._stop_loop.set()
        if self.http is not None:
            await self.http.close()
        if serving:
            self.lib.stopped_listening(bind_text(self.options.bind_address, self.port))
            self.lib.controllers_stopping(
                self._serving_cert_name() if self._cert is not None else None)
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
        if serving:
            self.lib.exiting()
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
