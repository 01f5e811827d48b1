"""The HTTP answers as metrics-server v0.7.1 frames and encodes them (found by the differential
suite against the real binary, ``tests/differential``; each case here pins one of them
without the peer): no ``Server`` header, net/http's chunking past 2 KiB, the apiserver's gzip
past 128 KiB, ``Cache-Control`` on everything, the indented ``WriteRawJSON`` answers, content
negotiation (Table, protobuf, ``pretty``, 406 from go-restful or from the handler), the
aggregated discovery's ETag, and the request-info and routing log lines."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from metricsd import klog
from metricsd.api import MetricsAPI
from metricsd.auth import UserInfo
from metricsd.auth.authenticator import AuthenticationResult
from metricsd.auth.authorizer import Decision
from metricsd.clock import RealClock
from metricsd.gohttp import GoServer
from metricsd.goresponse import go_response
from metricsd.health import MetricsdHealth, build_endpoints
from metricsd.monitoring import SelfMetrics
from metricsd.serve_http import HTTPApp
from metricsd.storage import Storage
from tests.unit.metricsd.test_api_metrics import Nodes, Pods, sheet_storage

HOST = "127.0.0.1"
API = "/apis/metrics.k8s.io/v1beta1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PROTOBUF = "application/vnd.kubernetes.protobuf, */*"


async def exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """One raw HTTP/1.1 request; (head, body) as the bytes on the wire."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, body = out + rest[:n], rest[n + 2:]
    return out


# -- framing (goresponse) ---------------------------------------------------------------------

@pytest.fixture
async def framing() -> AsyncIterator[int]:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        size, how = int(request.query["n"]), request.query.get("gzip", "")
        return go_response(200, b"x" * size, {"Content-Type": "text/plain"}, request=request,
                           gzip=how)

    runner = web.ServerRunner(web.Server(handler), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


@pytest.mark.parametrize(("query", "accept_gzip", "length", "chunked", "gzipped"), [
    ("n=2048", False, "2048", False, False),            # fits net/http's 2 KiB buffer
    ("n=2049", False, None, True, False),               # overflows it: chunked
    ("n=0", False, "0", False, False),
    ("n=131072&gzip=large", True, None, True, False),   # 128 KiB exactly: not compressed
    ("n=131073&gzip=large", True, None, True, True),    # past the apiserver's threshold
    ("n=131073&gzip=large", False, None, True, False),  # the client did not ask
    ("n=10&gzip=always", True, None, True, True),       # /metrics (promhttp): any size
])
async def test_framing(framing: int, query: str, accept_gzip: bool, length: str | None,
                       chunked: bool, gzipped: bool) -> None:
    extra = ["Accept-Encoding: gzip, deflate"] if accept_gzip else []
    head, body = await exchange(framing, get(f"/?{query}", *extra))
    fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert "Server" not in fields
    assert fields.get("Content-Length") == length
    assert (fields.get("Transfer-Encoding") == "chunked") == chunked
    assert (fields.get("Content-Encoding") == "gzip") == gzipped
    payload = dechunk(body) if chunked else body
    if gzipped:
        payload = gzip.decompress(payload)
        assert ("Vary" in fields) == ("large" in query)
    assert payload == b"x" * int(query.split("&")[0][2:])


# -- the metrics-server surface (HTTPApp) --------------------------------------------------

class Admin:
    async def authenticate(self, headers: Any, cert: Any) -> AuthenticationResult:
        return AuthenticationResult(UserInfo("admin", groups=("system:masters",)))


class Allow:
    async def authorize(self, attrs: Any) -> Decision:
        return Decision(True)


@pytest.fixture
async def served() -> AsyncIterator[tuple[int, io.StringIO]]:
    nodes, pods = Nodes([]), Pods([])
    health = build_endpoints(MetricsdHealth(
        storage_ready=lambda: True, nodes_synced=lambda: True, pods_synced=lambda: True,
        last_tick_start=lambda: None, resolution_ns=15 * 10**9, clock=RealClock()))
    stream = io.StringIO()
    log = klog.Logger(stream=stream, verbosity=6)
    app = HTTPApp(api=MetricsAPI(Storage(15 * 10**9), nodes, pods), health=health,
                  metrics=SelfMetrics(15 * 10**9), authn=Admin(), authz=Allow(),  # type: ignore[arg-type]
                  clock=RealClock(), log=log)
    app.server_address = ":10250"
    runner = web.ServerRunner(GoServer(app.handle, log=log), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1], stream  # type: ignore[union-attr]
    await runner.cleanup()


def headers_of(head: bytes) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])


async def test_every_answer_has_cache_control_and_no_server(served: Any) -> None:
    port, _ = served
    for path in ("/livez", "/livez/ping", "/metrics", f"{API}/nodes", "/version", "/nope"):
        head, _ = await exchange(port, get(path))
        fields = headers_of(head)
        assert fields["Cache-Control"] == "no-cache, private", path
        assert "Server" not in fields, path
    # a single check that passes writes only "ok": no nosniff (net/http sniffs the type)
    head, body = await exchange(port, get("/livez/ping"))
    assert "X-Content-Type-Options" not in headers_of(head) and body == b"ok"


async def test_raw_json_answers_are_indented_without_newline(served: Any) -> None:
    port, _ = served
    head, body = await exchange(port, get("/version"))
    assert head.startswith(b"HTTP/1.1 200 ")
    version = json.loads(body)
    assert body == json.dumps(version, indent=2).encode()
    assert version["gitCommit"] == "e78ebc4ffc86b2809f8831947562ac55ac3940eb"
    assert version["gitTreeState"] == ""
    # an unknown non-API path: the index, with 404 (the generic apiserver's NotFoundHandler)
    head, body = await exchange(port, get("/nope"))
    assert head.startswith(b"HTTP/1.1 404 ") and "/version" in json.loads(body)["paths"]
    # a Status for a Table request cannot be a Table: written indented as application/json
    head, body = await exchange(port, get(f"{API}/nodes/nope", f"Accept: {TABLE}"))
    assert head.startswith(b"HTTP/1.1 404 ") and body.startswith(b'{\n  "kind": "Status"')
    assert not body.endswith(b"\n") and headers_of(head)["Content-Type"] == "application/json"


@pytest.mark.parametrize(("path", "agent", "pretty"), [
    (f"{API}/nodes", "Go-http-client/1.1", False),
    (f"{API}/nodes?pretty=true", "Go-http-client/1.1", True),
    (f"{API}/nodes?pretty=0", "curl/8.5.0", False),   # the parameter decides when given
    (f"{API}/nodes", "curl/8.5.0", True),
    (f"{API}/nodes", "Wget/1.21", True),
    (f"{API}/nodes", "Mozilla/5.0 (X11)", True),
])
async def test_pretty(served: Any, path: str, agent: str, pretty: bool) -> None:
    port, _ = served
    _, body = await exchange(port, get(path, f"User-Agent: {agent}"))
    assert body.startswith(b"{\n  ") == pretty
    assert body.endswith(b"\n") != pretty


@pytest.mark.parametrize(("path", "accept", "message"), [
    # go-restful: no route produces the media type
    (f"{API}/nodes", "text/html",
     "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, "
     "application/vnd.kubernetes.protobuf, application/json;stream=watch, "
     "application/vnd.kubernetes.protobuf;stream=watch"),
    (f"{API}/nodes/n1", "text/html",
     "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, "
     "application/vnd.kubernetes.protobuf"),
    # the handler: a media type it serves, with a conversion it does not
    (f"{API}/nodes", "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
     "only the following media types are accepted: application/json, application/yaml, "
     "application/vnd.kubernetes.protobuf"),
])
async def test_not_acceptable(served: Any, path: str, accept: str, message: str) -> None:
    port, _ = served
    head, body = await exchange(port, get(path, f"Accept: {accept}"))
    assert head.startswith(b"HTTP/1.1 406 ")
    assert json.loads(body)["message"] == message


async def test_protobuf_and_table_content_types(served: Any) -> None:
    port, _ = served
    head, body = await exchange(port, get(f"{API}/nodes", f"Accept: {PROTOBUF}"))
    assert headers_of(head)["Content-Type"] == "application/vnd.kubernetes.protobuf"
    assert body.startswith(b"k8s\x00")
    head, body = await exchange(port, get(f"{API}/nodes/nope", f"Accept: {PROTOBUF}"))
    assert head.startswith(b"HTTP/1.1 404 ") and body.startswith(b"k8s\x00\x0a\x0c\x0a\x02v1")
    head, body = await exchange(port, get(f"{API}/nodes", f"Accept: {TABLE}"))
    assert headers_of(head)["Content-Type"] == "application/json"  # not …;as=Table
    assert json.loads(body)["kind"] == "Table"


async def test_apis_and_aggregated_discovery(served: Any) -> None:
    port, _ = served
    for path in ("/apis", "/apis/"):
        _, body = await exchange(port, get(path))
        group = json.loads(body)
        assert "apiVersion" not in group
        assert group["groups"][0]["serverAddressByClientCIDRs"] == [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": ":10250"}]
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
              "application/json")
    head, body = await exchange(port, get("/apis", f"Accept: {accept}"))
    fields = headers_of(head)
    assert fields["Content-Type"].endswith(";v=v2beta1;as=APIGroupDiscoveryList")
    assert (fields["Cache-Control"], fields["Vary"]) == ("public", "Accept")
    head, body = await exchange(port, get("/apis", f"Accept: {accept}",
                                          f"If-None-Match: {fields['ETag']}"))
    assert head.startswith(b"HTTP/1.1 304 ") and body == b""


async def test_request_info_and_routing_lines(served: Any) -> None:
    port, stream = served
    await exchange(port, get(f"{API}/nodes?labelSelector=pool%3Da%20b"))
    await exchange(port, get(f"{API}/nodes?fieldSelector=metadata.name%3Dn1"))
    await exchange(port, get("/livez/nope"))
    lines = stream.getvalue()
    assert ("requestinfo.go:214] \"Couldn't parse request\" err=\"found 'b', expected: ',' "
            "or 'end of string'\" request={\"labelSelector\":[\"pool=a b\"]}") in lines
    assert f'handler.go:143] metrics-server: GET "{API}/nodes" satisfied by gorestful with ' \
           f"webservice {API}" in lines
    # a list narrowed to one name is logged (and authorized) as a GET of it
    assert f'"HTTP" verb="GET" URI="{API}/nodes?fieldSelector=metadata.name%3Dn1"' in lines
    assert f'"HTTP" verb="LIST" URI="{API}/nodes?labelSelector=pool%3Da%20b"' in lines
    assert 'handler.go:153] metrics-server: GET "/livez/nope" satisfied by nonGoRestful' in lines
    assert 'pathrecorder.go:254] metrics-server: "/livez/nope" satisfied by NotFoundHandler' \
        in lines


def test_the_sheet_storage_helper_still_exists() -> None:
    assert isinstance(sheet_storage(), Storage)  # the fixtures above build on that module
