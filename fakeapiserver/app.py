"""APIServer: the store, discovery, authn/authz and REST layer behind one HTTPS listener.

Usage::

    server = APIServer(state_dir, kube_version="1.30")
    await server.start()          # writes DIR/kubeconfig, DIR/ca.crt, … and serves
    server.store.create("nodes", {...})
    ...
    await server.stop()

Extension points (usable while serving): :attr:`APIServer.authorizer`,
:meth:`APIServer.mount` (path prefixes such as ``/apis/metrics.k8s.io``),
:meth:`APIServer.set_create_handler` (virtual kinds: TokenReview, SubjectAccessReview …),
:meth:`APIServer.set_subresource_handler` (``pods/log``, ``serviceaccounts/token`` …),
``server.authenticator.add_token`` / ``add_token_authenticator``, and
``server.discovery.set_aggregated`` for extension groups.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from .authn import Authenticator
from .discovery import Discovery, parse_version
from .kinds import REGISTRY, Kind, KindRegistry
from .pki import ClusterPKI
from .rbac import SYSTEM_MASTERS, Attributes, Decision, UserInfo
from .rest import AuthorizerFn, CreateHandler, Handler, RequestContext, RestHandler
from .store import ApiError, Obj, Store

log = logging.getLogger(__name__)

#: Non-resource paths every user (even anonymous) may GET, as system:public-info-viewer.
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")

#: Go toolchain each Kubernetes minor was built with (for /version's goVersion).
_GO_VERSIONS = {26: "go1.19", 27: "go1.20", 28: "go1.20", 29: "go1.21", 30: "go1.22",
                31: "go1.22", 32: "go1.23", 33: "go1.24"}


def default_authorizer(attrs: Attributes) -> Decision:
    """Allow ``system:masters`` and the public non-resource paths; everything else: no.

    Replace with ``server.authorizer = rbac_authorizer.authorize`` for full RBAC.
    """
    if SYSTEM_MASTERS in attrs.groups:
        return Decision(True, "")
    if not attrs.resource_request and attrs.verb == "get" and attrs.path.rstrip(
            "/") in PUBLIC_PATHS:
        return Decision(True, "")
    return Decision(False, "")


@dataclass
class Mount:
    prefix: str
    handler: Handler
    authorize: bool = True

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


class APIServer:
    """A simulated kube-apiserver over HTTPS on a loopback address."""

    def __init__(
        self,
        state_dir: str | Path,
        kube_version: str = "1.30",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cluster_ca: tuple[bytes, bytes] | None = None,
        clock: Callable[[], float] = time.time,
        bookmark_interval: float = 60.0,
        watch_timeout: float = 1800.0,
        history_limit: int = 10_000,
        registry: KindRegistry = REGISTRY,
        bootstrap: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.kube_version_text = kube_version
        self.kube_version = parse_version(kube_version)
        self.host = host
        self.port = port
        self.clock = clock
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.registry = registry
        self.store = Store(registry, clock=clock, history_limit=history_limit)
        self.discovery = Discovery(registry, self.kube_version, self._apiservices)
        self.authenticator = Authenticator()
        self.authorizer: AuthorizerFn = default_authorizer
        self.pki = ClusterPKI.load_or_create(self.state_dir, cluster_ca)
        self._bootstrap = bootstrap
        self._mounts: list[Mount] = []
        self._create_handlers: dict[str, CreateHandler] = {}
        self._subresource_handlers: dict[tuple[str, str], Handler] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._install_default_reviews()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>`` (valid after :meth:`start`)."""
        return f"https://{self.address}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.state_dir / "kubeconfig"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        rest = RestHandler(self)

        async def handle(request: web.Request) -> web.StreamResponse:
            return await rest(request)

        app.router.add_route("*", "/{tail:.*}", handle)
        return app

    async def start(self) -> None:
        """Bind, write the state dir (CA certs, keys, kubeconfig), bootstrap objects."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ssl_ctx = self.pki.serving_context([self.host, "localhost"])
        self._runner = web.AppRunner(self.build_app(), access_log=None,
                                     handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_ctx,
                                 reuse_address=True)
        await self._site.start()
        server = self._site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self.pki.write(self.state_dir, self.url)
        if self._bootstrap:
            self.bootstrap_objects()

    async def stop(self) -> None:
        """Close watches and the listener."""
        self.store.close_watchers()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> APIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ extension points
    def mount(self, prefix: str, handler: Handler, *, authorize: bool = True) -> None:
        """Serve every path under ``prefix`` with ``handler`` (after authn, and authz unless
        ``authorize=False``). The longest matching prefix wins."""
        self.unmount(prefix)
        self._mounts.append(Mount(prefix, handler, authorize))
        self._mounts.sort(key=lambda m: -len(m.prefix))

    def unmount(self, prefix: str) -> None:
        self._mounts = [m for m in self._mounts if m.prefix != prefix]

    def find_mount(self, path: str) -> Mount | None:
        for mount in self._mounts:
            if mount.matches(path):
                return mount
        return None

    def set_create_handler(self, kind: Kind | str, handler: CreateHandler) -> None:
        """Answer POSTs of a virtual (create-only) kind: ``handler(body, ctx) -> object``."""
        self._create_handlers[self.store.kind(kind).key] = handler

    def create_handler(self, kind: Kind) -> CreateHandler | None:
        return self._create_handlers.get(kind.key)

    def set_subresource_handler(self, kind: Kind | str, subresource: str,
                                handler: Handler) -> None:
        """Serve ``<kind>/<subresource>`` (all methods) with ``handler(ctx)``."""
        self._subresource_handlers[(self.store.kind(kind).key, subresource)] = handler

    def subresource_handler(self, kind: Kind, subresource: str) -> Handler | None:
        return self._subresource_handlers.get((kind.key, subresource))

    async def authorize(self, attrs: Attributes) -> Decision:
        """Run the current authorizer (sync or async)."""
        decision = self.authorizer(attrs)
        if inspect.isawaitable(decision):
            decision = await decision
        assert isinstance(decision, Decision)
        return decision

    # ------------------------------------------------------------------ content
    def version_info(self) -> Obj:
        """``/version``; gitCommit and buildDate are synthetic (all zeros / a fixed date)."""
        major, minor = self.kube_version
        return {"major": str(major), "minor": str(minor),
                "gitVersion": f"v{major}.{minor}.0", "gitCommit": "0" * 40,
                "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z",
                "goVersion": _GO_VERSIONS.get(minor, "go1.22"),
                "compiler": "gc", "platform": "linux/amd64"}

    def _apiservices(self) -> list[Obj]:
        return [s.obj for s in self.store.list_stored("apiservices").items]

    def bootstrap_objects(self) -> None:
        """What a fresh kubeadm cluster has: namespaces, the kubernetes Service, local
        APIServices for every built-in group version."""
        store = self.store
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if store.try_get("namespaces", ns) is None:
                store.create("namespaces", {"metadata": {"name": ns}})
        if store.try_get("services", "kubernetes", "default") is None:
            store.create("services", {
                "metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1",
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                    "targetPort": self.port}]}})
            store.create("endpoints", {
                "metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                "subsets": [{"addresses": [{"ip": self.host}],
                             "ports": [{"name": "https", "port": self.port,
                                        "protocol": "TCP"}]}]})
        for group, version in self.registry.group_versions():
            name = f"{version}.{group}"
            if store.try_get("apiservices", name) is None:
                kind = next(k for k in self.registry.all()
                            if k.group == group and k.version == version)
                store.create("apiservices", {
                    "metadata": {"name": name, "labels": {
                        "kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                    "spec": {"group": group, "version": version,
                             "groupPriorityMinimum": kind.group_priority,
                             "versionPriority": 15}})

    # ------------------------------------------------------------------ default reviews
    def _install_default_reviews(self) -> None:
        """Generic answers for the review kinds; richer handlers may replace them."""
        self.set_create_handler("tokenreviews", self._token_review)
        self.set_create_handler("subjectaccessreviews", self._subject_access_review)
        self.set_create_handler("selfsubjectaccessreviews", self._self_subject_access_review)
        self.set_create_handler("localsubjectaccessreviews", self._subject_access_review)
        self.set_create_handler("selfsubjectreviews", self._self_subject_review)

    async def _token_review(self, body: Obj, ctx: RequestContext) -> Obj:
        token = str((body.get("spec") or {}).get("token") or "")
        user = await self.authenticator.authenticate_token(token) if token else None
        status: Obj = {"authenticated": True, "user": user.to_api()} if user else {
            "authenticated": False, "user": {}, "error": "invalid bearer token"}
        return {**_review_head(body), "status": status}

    async def _review(self, body: Obj, user: UserInfo) -> Obj:
        spec = body.get("spec") or {}
        res = spec.get("resourceAttributes")
        nonres = spec.get("nonResourceAttributes")
        if res:
            attrs = Attributes(user=user.name, groups=tuple(user.groups),
                               verb=res.get("verb", ""), resource_request=True,
                               namespace=res.get("namespace", ""),
                               api_group=res.get("group", ""),
                               api_version=res.get("version", ""),
                               resource=res.get("resource", ""),
                               subresource=res.get("subresource", ""),
                               name=res.get("name", ""), uid=user.uid, extra=user.extra)
        elif nonres:
            attrs = Attributes(user=user.name, groups=tuple(user.groups),
                               verb=nonres.get("verb", ""), resource_request=False,
                               path=nonres.get("path", ""), uid=user.uid, extra=user.extra)
        else:
            raise ApiError(422, "Invalid", "SubjectAccessReview is invalid: spec."
                           "resourceAttributes: Invalid value: \"null\": exactly one of "
                           "nonResourceAttributes or resourceAttributes must be specified")
        decision = await self.authorize(attrs)
        status: Obj = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return {**_review_head(body), "status": status}

    async def _subject_access_review(self, body: Obj, ctx: RequestContext) -> Obj:
        spec = body.get("spec") or {}
        extra = {k: tuple(v) for k, v in (spec.get("extra") or {}).items()}
        user = UserInfo(name=spec.get("user", ""), uid=spec.get("uid", ""),
                        groups=tuple(spec.get("groups") or ()), extra=extra)
        return await self._review(body, user)

    async def _self_subject_access_review(self, body: Obj, ctx: RequestContext) -> Obj:
        return await self._review(body, ctx.user)

    async def _self_subject_review(self, body: Obj, ctx: RequestContext) -> Obj:
        return {**_review_head(body), "status": {"userInfo": ctx.user.to_api()}}


def _review_head(body: Obj) -> Obj:
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"),
            "metadata": {**(meta or {}), "creationTimestamp": None},
            "spec": body.get("spec") or {}}


async def serve_forever(server: APIServer, ready: Callable[[], Awaitable[None] | None]
                        | None = None) -> None:
    """Start ``server`` and wait until cancelled (CLI helper)."""
    await server.start()
    try:
        if ready is not None:
            result = ready()
            if inspect.isawaitable(result):
                await result
        await asyncio.Event().wait()
    finally:
        await server.stop()


__all__ = ["PUBLIC_PATHS", "APIServer", "Mount", "default_authorizer", "serve_forever"]
