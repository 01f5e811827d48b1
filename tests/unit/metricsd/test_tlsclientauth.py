"""Client certificates are requested in the handshake and judged afterwards, as Go's server does."""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme
from cryptography import x509

from metricsd.servingcerts import configure_client_cas
from metricsd.tlsclientauth import request_client_cert_unverified


async def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> bytes | None:
    """Run one TLS handshake on loopback; return the client certificate the server saw."""
    seen: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        seen.set_result(ssl_object.getpeercert(binary_form=True))
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
        result = await asyncio.wait_for(seen, 10)
        writer.close()
        return result
    finally:
        server.close()
        await server.wait_closed()


def contexts(
    trusted_ca: trustme.CA, client_ca: trustme.CA
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server_ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    configure_client_cas(server_ctx, [trusted_ca.cert_pem.bytes()])
    client_ctx = ssl.create_default_context()
    server_ca.configure_trust(client_ctx)
    client_ca.issue_cert("front-proxy-client").configure_cert(client_ctx)
    return server_ctx, client_ctx


async def test_untrusted_client_certificate_reaches_the_application() -> None:
    trusted, stranger = trustme.CA(), trustme.CA()
    server_ctx, client_ctx = contexts(trusted, stranger)
    presented = await handshake(server_ctx, client_ctx)
    assert presented is not None  # the handshake passed and the certificate is available
    cert = x509.load_der_x509_certificate(presented)
    stranger_cert = x509.load_pem_x509_certificate(stranger.cert_pem.bytes())
    assert cert.issuer == stranger_cert.subject  # judged later, by metricsd.auth


async def test_stdlib_alone_would_reject_it_in_the_handshake() -> None:
    trusted, stranger = trustme.CA(), trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca = trustme.CA()
    server_ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    server_ctx.load_verify_locations(cadata=trusted.cert_pem.bytes().decode())
    server_ctx.verify_mode = ssl.CERT_OPTIONAL  # no hook: what Python does by itself
    client_ctx = ssl.create_default_context()
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # so the client hears the server's alert
    server_ca.configure_trust(client_ctx)
    stranger.issue_cert("front-proxy-client").configure_cert(client_ctx)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.wait_for(handshake(server_ctx, client_ctx), 10)


async def test_trusted_client_certificate_still_works() -> None:
    trusted = trustme.CA()
    server_ctx, client_ctx = contexts(trusted, trusted)
    assert await handshake(server_ctx, client_ctx) is not None


def test_install_reports_success_and_keeps_the_mode() -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_verify_locations(cadata=trustme.CA().cert_pem.bytes().decode())
    assert request_client_cert_unverified(ctx) is True
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    ctx.verify_mode = ssl.CERT_OPTIONAL  # CPython keeps our callback when the mode is set again
    assert ctx.verify_mode == ssl.CERT_OPTIONAL


@pytest.mark.parametrize("same_ca", [False, True], ids=["untrusted", "trusted"])
def test_on_uvloop_too(same_ca: bool) -> None:
    """The metricsd process runs on uvloop (metricsd.eventloop): the hook holds there too."""
    uvloop = pytest.importorskip("uvloop")
    trusted = trustme.CA()
    server_ctx, client_ctx = contexts(trusted, trusted if same_ca else trustme.CA())

    async def main() -> tuple[str, bytes | None]:
        return type(asyncio.get_running_loop()).__module__, await handshake(server_ctx,
                                                                            client_ctx)

    loop_module, presented = uvloop.run(main())
    assert loop_module.startswith("uvloop")
    assert presented is not None
