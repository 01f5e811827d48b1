"""Go texts for kubelet TLS/connection failures, from REAL handshakes against trustme certs."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
import trustme
from aiohttp import web

from fakekubelet.addresses import free_port
from metricsd.tlserrors import (
    TLS_VERIFY_PREFIX,
    go_error,
    go_time,
    hostname_error,
    url_error,
    validity_error,
)

HOST = "127.0.0.1"
UTC = dt.UTC


async def _ok(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _serve(ssl_context: ssl.SSLContext | None) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/metrics/resource", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


def _server_ctx(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def _client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def _get_error(port: int, client_ctx: ssl.SSLContext, scheme: str = "https") -> str:
    url = f"{scheme}://{HOST}:{port}/metrics/resource"
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(url, ssl=client_ctx) as resp:
                await resp.read()
        except Exception as exc:
            err = await go_error(exc, host=HOST, port=port)
            return url_error("GET", url, err.text)
    raise AssertionError("request unexpectedly succeeded")


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., object]]:
    runners: list[web.AppRunner] = []

    async def start(ctx: ssl.SSLContext | None) -> int:
        runner, port = await _serve(ctx)
        runners.append(runner)
        return port

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_dns_only_cert_dialled_by_ip_has_no_ip_sans(ca: trustme.CA, serve) -> None:
    port = await serve(_server_ctx(ca.issue_cert("kind-worker")))
    text = await _get_error(port, _client_ctx(ca))
    assert text == (
        f'Get "https://{HOST}:{port}/metrics/resource": tls: failed to verify certificate: '
        f"x509: cannot validate certificate for {HOST} because it doesn't contain any IP SANs"
    )


async def test_self_signed_without_ip_sans_reports_ip_sans_first(serve) -> None:
    # kind's kubelet: self-signed AND no IP SANs; Go checks the name before the chain.
    other = trustme.CA()
    port = await serve(_server_ctx(other.issue_cert("kind-worker")))
    text = await _get_error(port, _client_ctx(trustme.CA()))
    assert text.endswith(f"cannot validate certificate for {HOST} because it doesn't contain "
                         "any IP SANs")


async def test_unknown_authority(ca: trustme.CA, serve) -> None:
    port = await serve(_server_ctx(trustme.CA().issue_cert(HOST)))
    text = await _get_error(port, _client_ctx(ca))
    assert text.endswith(": tls: failed to verify certificate: x509: certificate signed by "
                         "unknown authority")


async def test_wrong_ip_san(ca: trustme.CA, serve) -> None:
    port = await serve(_server_ctx(ca.issue_cert("127.0.0.9", "127.0.0.10", "node-a")))
    text = await _get_error(port, _client_ctx(ca))
    assert text.endswith(f"x509: certificate is valid for 127.0.0.9, 127.0.0.10, not {HOST}")


async def test_expired(ca: trustme.CA, serve) -> None:
    now = dt.datetime.now(UTC)
    cert = ca.issue_cert(HOST, not_before=now - dt.timedelta(days=30),
                         not_after=now - dt.timedelta(days=1))
    port = await serve(_server_ctx(cert))
    text = await _get_error(port, _client_ctx(ca))
    prefix = (f'Get "https://{HOST}:{port}/metrics/resource": tls: failed to verify '
              "certificate: x509: certificate has expired or is not yet valid: current time ")
    assert text.startswith(prefix)
    after = go_time(now - dt.timedelta(days=1))
    assert text.endswith(f" is after {after}")


async def test_not_yet_valid(ca: trustme.CA, serve) -> None:
    now = dt.datetime.now(UTC)
    cert = ca.issue_cert(HOST, not_before=now + dt.timedelta(days=2),
                         not_after=now + dt.timedelta(days=30))
    port = await serve(_server_ctx(cert))
    text = await _get_error(port, _client_ctx(ca))
    assert f" is before {go_time(now + dt.timedelta(days=2))}" in text
    assert "certificate has expired or is not yet valid: current time " in text


async def test_connection_refused(ca: trustme.CA) -> None:
    port = free_port(HOST)
    text = await _get_error(port, _client_ctx(ca))
    assert text == (f'Get "https://{HOST}:{port}/metrics/resource": dial tcp {HOST}:{port}: '
                    "connect: connection refused")


async def test_plain_http_server(ca: trustme.CA, serve) -> None:
    port = await serve(None)
    text = await _get_error(port, _client_ctx(ca))
    assert text.endswith(": http: server gave HTTP response to HTTPS client")


async def test_truncated_body_is_unexpected_eof(ca: trustme.CA) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session, session.get(
            f"http://{HOST}:{port}/x"
        ) as resp:
            with pytest.raises(aiohttp.ClientPayloadError) as info:
                await resp.read()
        err = await go_error(info.value, host=HOST, port=port)
        assert err.text == "unexpected EOF"
        assert "ClientPayloadError" in err.debug
    finally:
        server.close()
        await server.wait_closed()


async def test_timeout_is_deadline() -> None:
    err = await go_error(TimeoutError(), host=HOST, port=1)
    assert err.deadline and err.text == "context deadline exceeded"


async def test_valid_cert_verifies(ca: trustme.CA, serve) -> None:
    # the control case: the same machinery succeeds when everything is right
    port = await serve(_server_ctx(ca.issue_cert(HOST)))
    async with aiohttp.ClientSession() as session, session.get(
        f"https://{HOST}:{port}/metrics/resource", ssl=_client_ctx(ca)
    ) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    ("identities", "host", "expected"),
    [
        (("a.example",), "b.example", "x509: certificate is valid for a.example, not b.example"),
        (("*.example",), "node.example", None),
        (("*.example",), "a.b.example",
         "x509: certificate is valid for *.example, not a.b.example"),
        (("10.0.0.1",), "10.0.0.2", "x509: certificate is valid for 10.0.0.1, not 10.0.0.2"),
        (("10.0.0.1",), "10.0.0.1", None),
        (("node",), "10.0.0.1",
         "x509: cannot validate certificate for 10.0.0.1 because it doesn't contain any IP SANs"),
    ],
)
def test_hostname_table(identities: tuple[str, ...], host: str, expected: str | None) -> None:
    cert = trustme.CA().issue_cert(*identities)
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    assert hostname_error(leaf, host) == expected


def test_validity_inside_period_is_none() -> None:
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(
        trustme.CA().issue_cert("x").cert_chain_pems[0].bytes()
    )
    assert validity_error(leaf, dt.datetime.now(UTC)) is None
    assert TLS_VERIFY_PREFIX == "tls: failed to verify certificate: "
