"""A tiny metrics.k8s.io backend for aggregation tests, and tests of the proxy through it.

The backend is an aiohttp HTTPS server that trusts only the front-proxy CA: it records the
client certificate's CN and the X-Remote-* headers of every request and serves fixed
NodeMetrics/PodMetrics, so kubectl's tables are predictable.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
import trustme
from aiohttp import web

from fakeapiserver.app import APIServer
from fakeapiserver.proxy import AggregationWiring, wire_aggregation
from fakeapiserver.reviews import AuthWiring, wire_auth

AGG_CT = "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
RESOURCES = [
    {"resource": "nodes", "responseKind": {"group": "", "version": "", "kind": "NodeMetrics"},
     "scope": "Cluster", "singularResource": "", "verbs": ["get", "list"]},
    {"resource": "pods", "responseKind": {"group": "", "version": "", "kind": "PodMetrics"},
     "scope": "Namespaced", "singularResource": "", "verbs": ["get", "list"]},
]
NODE_USAGE = {"node-a": ("415722551n", "1249280Ki"), "node-b": ("1500m", "7Gi")}
POD_USAGE = {("default", "web-1"): [("app", "12345678n", "52428800"), ("side", "3m", "10Mi")],
             ("default", "web-2"): [("app", "250m", "300Mi")],
             ("kube-system", "dns-1"): [("coredns", "5m", "20Mi")]}


@dataclass
class Seen:
    path: str
    cn: str | None
    user: str | None
    groups: list[str]
    extra: dict[str, list[str]]
    authorization: str | None
    accept: str | None


@dataclass
class MetricsBackend:
    """The test backend; ``ready`` drives /readyz, ``requests`` records what arrived."""

    front_proxy_ca_pem: bytes
    ready: bool = True
    requests: list[Seen] = field(default_factory=list)
    runner: web.AppRunner | None = None
    host: str = "127.0.0.1"
    port: int = 0
    serving_ca: trustme.CA = field(default_factory=trustme.CA)

    async def start(self, host: str = "127.0.0.1") -> None:
        self.host = host
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.serving_ca.issue_cert(host, "metrics-server.kube-system.svc").configure_cert(ctx)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=self.front_proxy_ca_pem.decode())
        site = web.TCPSite(self.runner, host, self.port, ssl_context=ctx)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        cn = None
        for rdn in (peer or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
        extra = {}
        for name, value in request.headers.items():
            if name.lower().startswith("x-remote-extra-"):
                key = unquote(name[len("x-remote-extra-"):].lower())
                extra.setdefault(key, []).append(value)
        self.requests.append(Seen(
            request.path, cn, request.headers.get("X-Remote-User"),
            request.headers.getall("X-Remote-Group", []), extra,
            request.headers.get("Authorization"), request.headers.get("Accept")))
        path = request.path
        if path in ("/readyz", "/livez", "/healthz"):
            if path == "/readyz" and not self.ready:
                return web.Response(status=500, text="[-]metric-storage-ready failed\n")
            return web.Response(text="ok")
        if cn != "front-proxy-client" or not request.headers.get("X-Remote-User"):
            return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                      "status": "Failure", "message": "Unauthorized",
                                      "reason": "Unauthorized", "code": 401}, status=401)
        if path == "/apis":
            accept = request.headers.get("Accept", "")
            if "apidiscovery.k8s.io" in accept:
                v = "v2" if ";v=v2;" in accept else "v2beta1"
                body = {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{v}",
                        "metadata": {}, "items": [{"metadata": {"name": "metrics.k8s.io"},
                        "versions": [{"version": "v1beta1", "resources": RESOURCES,
                                      "freshness": "Current"}]}]}
                return web.Response(text=json.dumps(body), content_type=None,
                                    headers={"Content-Type": AGG_CT.format(v=v)})
            return web.json_response({"kind": "APIGroupList", "groups": [{
                "name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1",
                                                        "version": "v1beta1"}]}]})
        if path == "/apis/metrics.k8s.io/v1beta1":
            return web.json_response({"kind": "APIResourceList", "apiVersion": "v1",
                                      "groupVersion": "metrics.k8s.io/v1beta1", "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False,
                 "kind": "NodeMetrics", "verbs": ["get", "list"]},
                {"name": "pods", "singularName": "", "namespaced": True,
                 "kind": "PodMetrics", "verbs": ["get", "list"]}]})
        base = "/apis/metrics.k8s.io/v1beta1/"
        if path == base + "nodes":
            items = [{"metadata": {"name": n}, "timestamp": "2026-01-01T00:00:00Z",
                      "window": "15s", "usage": {"cpu": c, "memory": m}}
                     for n, (c, m) in sorted(NODE_USAGE.items())]
            return web.json_response({"kind": "NodeMetricsList",
                                      "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                                      "items": items})
        ns = None
        if path == base + "pods":
            ns = ""
        elif path.startswith(base + "namespaces/") and path.endswith("/pods"):
            ns = path[len(base + "namespaces/"):-len("/pods")]
        if ns is not None:
            items = [{"metadata": {"name": name, "namespace": pns},
                      "timestamp": "2026-01-01T00:00:00Z", "window": "15s",
                      "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}}
                                     for c, cpu, mem in conts]}
                     for (pns, name), conts in sorted(POD_USAGE.items()) if not ns or pns == ns]
            return web.json_response({"kind": "PodMetricsList",
                                      "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                                      "items": items})
        return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Failure", "reason": "NotFound", "code": 404,
                                  "message": "the server could not find the requested resource"},
                                 status=404)


def register_backend(server: APIServer, host: str, port: int, ready: bool = True) -> None:
    """Service, Endpoints and APIService for metrics-server at host:port (as the manifests)."""
    store = server.store
    store.replace("services", {"metadata": {"name": "metrics-server", "namespace": "kube-system",
                                            "labels": {"k8s-app": "metrics-server"}},
                               "spec": {"ports": [{"name": "https", "port": 443,
                                                   "targetPort": "https", "protocol": "TCP"}],
                                        "selector": {"k8s-app": "metrics-server"}}})
    set_backend_ready(server, host, port, ready)
    store.replace("apiservices", {"metadata": {"name": "v1beta1.metrics.k8s.io",
                                               "labels": {"k8s-app": "metrics-server"}},
                                  "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                                           "service": {"name": "metrics-server",
                                                       "namespace": "kube-system"},
                                           "insecureSkipTLSVerify": True,
                                           "groupPriorityMinimum": 100,
                                           "versionPriority": 100}})


def set_backend_ready(server: APIServer, host: str, port: int, ready: bool) -> None:
    key = "addresses" if ready else "notReadyAddresses"
    server.store.replace("endpoints", {
        "metadata": {"name": "metrics-server", "namespace": "kube-system"},
        "subsets": [{key: [{"ip": host}], "ports": [{"name": "https", "port": port,
                                                      "protocol": "TCP"}]}]})
    kind = "endpointslices.discovery.k8s.io"
    server.store.replace(kind, {
        "metadata": {"name": "metrics-server-x1", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "metrics-server"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [host], "conditions": {"ready": ready}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})


@dataclass
class Plane:
    server: APIServer
    auth: AuthWiring
    agg: AggregationWiring


async def start_plane(state_dir: Path, kube_version: str = "1.30") -> Plane:
    server = APIServer(state_dir, kube_version)
    await server.start()
    auth = wire_auth(server)
    agg = wire_aggregation(server)
    return Plane(server, auth, agg)


async def stop_plane(plane: Plane) -> None:
    await plane.agg.stop()
    await plane.server.stop()


async def wait_available(plane: Plane, want: str = "True") -> dict[str, Any]:
    """Wait (event-driven) until the metrics APIService condition has status ``want``."""
    for _ in range(200):
        await plane.agg.settle()
        obj = plane.server.store.try_get("apiservices", "v1beta1.metrics.k8s.io") or {}
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Available" and cond.get("status") == want:
                await plane.agg.discovery.sync("v1beta1.metrics.k8s.io")
                return cond
        await plane.agg.availability.sync("v1beta1.metrics.k8s.io")
    raise AssertionError(f"APIService never became Available={want}: {obj}")


# ------------------------------------------------------------------------------------ tests


@pytest.fixture
async def plane(tmp_path: Path):  # type: ignore[no-untyped-def]
    p = await start_plane(tmp_path / "cp")
    yield p
    await stop_plane(p)


def client_session(plane: Plane, token: str | None = None, cert: Any = None
                   ) -> aiohttp.ClientSession:
    ctx = plane.server.pki.client_context(cert)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return aiohttp.ClientSession(base_url=plane.server.url, headers=headers,
                                 connector=aiohttp.TCPConnector(ssl=ctx))


async def test_proxy_forwards_identity_and_front_proxy_cert(plane: Plane) -> None:
    backend = MetricsBackend(plane.server.pki.front_proxy_ca_pem)
    await backend.start()
    try:
        register_backend(plane.server, backend.host, backend.port)
        cond = await wait_available(plane)
        assert (cond["reason"], cond["message"]) == ("Passed", "all checks passed")
        probes = [r for r in backend.requests if r.path == "/apis/metrics.k8s.io/v1beta1"]
        assert probes and probes[0].cn == "front-proxy-client"
        assert probes[0].user == "system:kube-aggregator"
        assert probes[0].groups == ["system:masters"]
        # alice authenticates with a client cert and forges identity headers
        cert = plane.server.pki.client_cert("alice", ["devs"])
        plane.server.store.create("clusterrolebindings.rbac.authorization.k8s.io", {
            "metadata": {"name": "alice-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "system:aggregated-metrics-reader"},
            "subjects": [{"kind": "User", "name": "alice"}]})
        plane.server.store.create("clusterroles.rbac.authorization.k8s.io", {
            "metadata": {"name": "system:aggregated-metrics-reader"},
            "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                       "verbs": ["get", "list", "watch"]}]})
        backend.requests.clear()
        async with client_session(plane, cert=cert) as http:
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/nodes", headers={
                "X-Remote-User": "admin", "X-Remote-Group": "system:masters",
                "X-Remote-Extra-Scopes": "all"})
            assert resp.status == 200
            body = await resp.json()
        assert [i["metadata"]["name"] for i in body["items"]] == ["node-a", "node-b"]
        seen = backend.requests[-1]
        assert seen.cn == "front-proxy-client"
        assert seen.user == "alice"
        assert seen.groups == ["devs", "system:authenticated"]
        assert seen.extra == {}
        assert seen.authorization is None
    finally:
        await backend.stop()


async def test_service_account_token_reaches_backend_as_sa(plane: Plane) -> None:
    backend = MetricsBackend(plane.server.pki.front_proxy_ca_pem)
    await backend.start()
    try:
        register_backend(plane.server, backend.host, backend.port)
        await wait_available(plane)
        token = plane.auth.issue_token("default", "reader")
        async with client_session(plane, token=token) as http:
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/nodes")
            assert resp.status == 403
            status = await resp.json()
            assert status["message"] == (
                'nodes.metrics.k8s.io is forbidden: User "system:serviceaccount:default:reader" '
                'cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope')
            plane.server.store.create("rolebindings.rbac.authorization.k8s.io", {
                "metadata": {"name": "reader-view", "namespace": "default"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "reader",
                              "namespace": "default"}]}, "default")
            plane.server.store.create("clusterroles.rbac.authorization.k8s.io", {
                "metadata": {"name": "system:aggregated-metrics-reader", "labels": {
                    "rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
                "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                           "verbs": ["get", "list", "watch"]}]})
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
            assert resp.status == 200, await resp.text()
        seen = backend.requests[-1]
        assert seen.user == "system:serviceaccount:default:reader"
        assert seen.groups == ["system:serviceaccounts", "system:serviceaccounts:default",
                               "system:authenticated"]
        assert "authentication.kubernetes.io/credential-id" in seen.extra
        assert seen.authorization is None
    finally:
        await backend.stop()


async def test_unavailable_and_proxy_error_texts(plane: Plane) -> None:
    backend = MetricsBackend(plane.server.pki.front_proxy_ca_pem)
    await backend.start()
    port = backend.port
    register_backend(plane.server, backend.host, port, ready=False)
    try:
        cond = await wait_available(plane, "False")
        assert cond["reason"] == "MissingEndpoints"
        async with client_session(plane, cert=plane.server.pki.admin) as http:
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/nodes")
            assert resp.status == 503
            assert await resp.text() == "service unavailable\n"
            assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            # aggregated discovery: Stale, no resources
            resp = await http.get("/apis", headers={"Accept": AGG_CT.format(v="v2")})
            doc = await resp.json(content_type=None)
            item = next(i for i in doc["items"] if i["metadata"]["name"] == "metrics.k8s.io")
            assert item["versions"] == [{"version": "v1beta1", "freshness": "Stale"}]
            # legacy /apis still lists the group
            resp = await http.get("/apis")
            names = [g["name"] for g in (await resp.json())["groups"]]
            assert "metrics.k8s.io" in names
            set_backend_ready(plane.server, backend.host, port, True)
            await wait_available(plane, "True")
            resp = await http.get("/apis", headers={"Accept": AGG_CT.format(v="v2")})
            doc = await resp.json(content_type=None)
            item = next(i for i in doc["items"] if i["metadata"]["name"] == "metrics.k8s.io")
            assert item["versions"][0]["freshness"] == "Current"
            assert [r["resource"] for r in item["versions"][0]["resources"]] == ["nodes", "pods"]
            # the backend goes away: the check fails with Go's dial error text
            await backend.stop()
            await plane.agg.availability.sync("v1beta1.metrics.k8s.io")
            cond = await wait_available(plane, "False")
            url = f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1"
            assert cond["reason"] == "FailedDiscoveryCheck"
            assert cond["message"] == (f'failing or missing response from {url}: Get "{url}": '
                                       f"dial tcp 127.0.0.1:{port}: connect: connection refused")
    finally:
        await backend.stop()
    await asyncio.sleep(0)


async def test_ca_bundle_verification(plane: Plane) -> None:
    import base64

    backend = MetricsBackend(plane.server.pki.front_proxy_ca_pem)
    await backend.start()
    try:
        register_backend(plane.server, backend.host, backend.port)
        store = plane.server.store

        def set_bundle(pem: bytes) -> None:
            obj = store.get("apiservices", "v1beta1.metrics.k8s.io")
            obj["spec"]["insecureSkipTLSVerify"] = False
            obj["spec"]["caBundle"] = base64.b64encode(pem).decode()
            store.replace("apiservices", obj)

        set_bundle(backend.serving_ca.cert_pem.bytes())
        await wait_available(plane)
        async with client_session(plane, cert=plane.server.pki.admin) as http:
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/nodes")
            assert resp.status == 200
            # a bundle that does not sign the backend's certificate: Go's TLS error, 503
            set_bundle(trustme.CA().cert_pem.bytes())
            await wait_available(plane)  # the discovery probe does not verify TLS
            resp = await http.get("/apis/metrics.k8s.io/v1beta1/nodes")
            assert resp.status == 503
            assert await resp.text() == ("tls: failed to verify certificate: x509: certificate "
                                         "signed by unknown authority\n")
            assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    finally:
        await backend.stop()


async def test_emulated_133_uses_endpointslices(tmp_path: Path) -> None:
    plane = await start_plane(tmp_path / "cp133", "1.33")
    try:
        register_backend(plane.server, "127.0.0.1", 4443, ready=False)
        cond = await wait_available(plane, "False")
        assert (cond["reason"], cond["message"]) == (
            "MissingEndpoints",
            'endpointslices for service/metrics-server in "kube-system" have no addresses with '
            'port name "https"')
        plane.server.store.delete("endpointslices.discovery.k8s.io", "metrics-server-x1",
                                  "kube-system")
        await plane.agg.availability.sync("v1beta1.metrics.k8s.io")
        cond = await wait_available(plane, "False")
        assert (cond["reason"], cond["message"]) == (
            "EndpointsNotFound",
            'cannot find endpointslices for service/metrics-server in "kube-system"')
    finally:
        await stop_plane(plane)
