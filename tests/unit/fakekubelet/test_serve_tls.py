"""Each certificate mode met by real TLS clients (asyncio ``ssl`` and aiohttp), verifying by IP."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest

from fakekubelet.certs import CERT_MODES, ClusterCA, ServingCertIssuer, client_ssl_context

from .test_serve_support import ADDRESS, PAYLOAD, endpoint

SELF_SIGNED = (
    "self-signed certificate" if ssl.OPENSSL_VERSION_INFO >= (3,) else "self signed certificate"
)

# mode -> (OpenSSL verify code, verify message) when verifying by IP against the cluster CA
EXPECTED_FAILURES = {
    "no-ip-san": (64, f"IP address mismatch, certificate is not valid for '{ADDRESS}'."),
    "self-signed": (18, SELF_SIGNED),
    "expired": (10, "certificate has expired"),
    "not-yet-valid": (9, "certificate is not yet valid"),
    "wrong-ca": (20, "unable to get local issuer certificate"),
}


@pytest.mark.parametrize("mode", sorted(EXPECTED_FAILURES))
async def test_python_ssl_verification_fails_as_upstream_clients_would(mode: str) -> None:
    code, message = EXPECTED_FAILURES[mode]
    async with endpoint(mode) as ep:
        with pytest.raises(ssl.SSLCertVerificationError) as err:
            await asyncio.open_connection(
                ADDRESS, ep.listener.port, ssl=client_ssl_context(ep.ca), server_hostname=ADDRESS
            )
    assert err.value.verify_code == code
    assert err.value.verify_message == message
    assert f"certificate verify failed: {message}" in str(err.value)


@pytest.mark.parametrize("mode", sorted(EXPECTED_FAILURES))
async def test_aiohttp_sees_a_certificate_error(mode: str) -> None:
    _, message = EXPECTED_FAILURES[mode]
    async with endpoint(mode) as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        with pytest.raises(aiohttp.ClientConnectorCertificateError) as err:
            await session.get(ep.url(), ssl=ctx)
    cause = err.value.certificate_error
    assert isinstance(cause, ssl.SSLCertVerificationError)
    assert cause.verify_message == message


async def test_ca_signed_verifies_by_ip_and_serves() -> None:
    async with endpoint("ca-signed") as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200
            assert await resp.read() == PAYLOAD
        _, writer = await asyncio.open_connection(ADDRESS, ep.listener.port, ssl=ctx)
        peer = writer.get_extra_info("peercert")
        writer.close()
    sans = dict(peer["subjectAltName"])
    assert sans == {"DNS": "node-a", "IP Address": ADDRESS}


async def test_no_ip_san_certificate_carries_only_the_node_name() -> None:
    async with endpoint("no-ip-san") as ep:
        ctx = client_ssl_context(ep.ca)
        # verifying by NAME succeeds: the certificate is otherwise sound
        _reader, writer = await asyncio.open_connection(
            ADDRESS, ep.listener.port, ssl=ctx, server_hostname="node-a"
        )
        peer = writer.get_extra_info("peercert")
        writer.close()
    assert peer["subjectAltName"] == (("DNS", "node-a"),)


@pytest.mark.parametrize("mode", [m for m in CERT_MODES if m != "plain-http"])
async def test_every_tls_mode_serves_when_verification_is_off(mode: str) -> None:
    async with endpoint(mode) as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(client=ep.client, verify=False)
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200
            assert await resp.read() == PAYLOAD


async def test_plain_http_serves_http_anonymously_and_breaks_a_tls_client() -> None:
    # auth is configured, but plain HTTP is the read-only port: no credentials needed
    async with endpoint("plain-http") as ep, aiohttp.ClientSession() as session:
        assert ep.url().startswith("http://")
        async with session.get(ep.url()) as resp:
            assert resp.status == 200
            assert await resp.read() == PAYLOAD
        with pytest.raises(ssl.SSLError) as err:
            await asyncio.open_connection(
                ADDRESS, ep.listener.port, ssl=client_ssl_context(verify=False)
            )
    assert "WRONG_VERSION_NUMBER" in str(err.value) or "wrong version number" in str(err.value)


async def test_client_certificate_from_an_untrusted_ca_is_rejected_in_the_handshake() -> None:
    async with endpoint("ca-signed") as ep, aiohttp.ClientSession() as session:
        stranger = ClusterCA("stranger").issue_client_cert("metricsd-client")
        ctx = client_ssl_context(ep.ca, stranger)
        with pytest.raises(aiohttp.ClientError):
            async with session.get(ep.url(), ssl=ctx) as resp:
                await resp.read()


def test_load_round_trips_and_rejects_mismatched_key() -> None:
    ca = ClusterCA()
    again = ClusterCA.load(ca.cert_pem, ca.key_pem)
    assert again.cert_pem == ca.cert_pem
    with pytest.raises(ValueError, match="do not match"):
        ClusterCA.load(ca.cert_pem, ClusterCA().key_pem)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cert mode 'bogus'"):
        ServingCertIssuer(ClusterCA()).issue("bogus", "n", "127.0.0.1")


def test_node_certificates_share_one_key_and_plain_http_has_none() -> None:
    issuer = ServingCertIssuer(ClusterCA())
    a = issuer.issue("ca-signed", "a", "127.0.0.1")
    b = issuer.issue("wrong-ca", "b", "127.0.0.2")
    assert a is not None and b is not None
    assert a.key_pem == b.key_pem and a.cert_pem != b.cert_pem
    assert issuer.issue("plain-http", "c", "127.0.0.3") is None
