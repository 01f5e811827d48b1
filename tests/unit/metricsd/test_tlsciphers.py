"""The serving port's TLS suites: Go 1.21.8's list, ``--tls-cipher-suites`` applied, one real
handshake per suite (offered and refused) with RSA and ECDSA serving certificates.

Facts from Go 1.21.8's ``crypto/tls/cipher_suites.go`` and k8s.io/component-base v0.29.2's
``cli/flag/ciphersuites_flag.go``; every handshake is a Python client restricted to one suite
and TLS 1.2 against the context :func:`metricsd.servingcerts.server_ssl_context` builds.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from metricsd.options import StartupError
from metricsd.servingcerts import ServingCert, server_ssl_context
from metricsd.tlsciphers import (
    DEFAULT_TLS12,
    NAMES,
    PREFERENCE_ORDER,
    SUITES,
    CipherSuiteError,
    cipher_suite_ids,
    insecure_names,
)

HOST = "127.0.0.1"

#: ``go run`` of tls.CipherSuites() / tls.InsecureCipherSuites() with go1.21.8
GO_SECURE = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F, "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
    "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C, "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
    "TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009,
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B,
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8,
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
}
GO_INSECURE = {
    "TLS_RSA_WITH_RC4_128_SHA": 0x0005, "TLS_RSA_WITH_3DES_EDE_CBC_SHA": 0x000A,
    "TLS_RSA_WITH_AES_128_CBC_SHA256": 0x003C, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA": 0xC007,
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA": 0xC011, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": 0xC012,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": 0xC023,
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": 0xC027,
}
#: Go 1.21.8 defaultCipherSuites, in cipherSuitesPreferenceOrder
GO_DEFAULT = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
]
#: an example flag: an insecure suite, a legacy name, a TLS 1.3 name, an ECDSA suite
EXAMPLE_FLAG = ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_256_CBC_SHA",
                "TLS_AES_128_GCM_SHA256")
EXAMPLE_OFFERED = {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                   "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_256_CBC_SHA"}

BY_NAME = {s.name: s for s in SUITES}
TLS12 = [s for s in SUITES if not s.tls13]


def _openssl_has(name: str) -> bool:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.set_ciphers(name)
    except ssl.SSLError:
        return False
    return any(c["name"] == name for c in ctx.get_ciphers())


AVAILABLE = [s for s in TLS12 if _openssl_has(s.openssl)]
MISSING = [s for s in TLS12 if not _openssl_has(s.openssl)]


# ------------------------------------------------------------------ the tables are Go's


def test_names_are_component_bases() -> None:
    assert {s.name: s.id for s in SUITES} == GO_SECURE | GO_INSECURE
    assert {s.name for s in SUITES if s.insecure} == set(GO_INSECURE)
    assert NAMES["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"] == 0xCCA8  # legacy spellings
    assert NAMES["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"] == 0xCCA9
    assert len(NAMES) == len(GO_SECURE) + len(GO_INSECURE) + 2


def test_default_list_is_go_1_21_8s_in_preference_order() -> None:
    ids = {s.name: s.id for s in SUITES}
    assert list(DEFAULT_TLS12) == [ids[n] for n in GO_DEFAULT]
    assert PREFERENCE_ORDER[:len(DEFAULT_TLS12)] == DEFAULT_TLS12
    assert sorted(PREFERENCE_ORDER) == sorted(s.id for s in TLS12)


@pytest.mark.parametrize("suite", AVAILABLE, ids=lambda s: s.name)
def test_openssl_names_map_to_the_iana_ids(suite: object) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers(suite.openssl)  # type: ignore[attr-defined]
    [entry] = [c for c in ctx.get_ciphers() if c["name"] == suite.openssl]  # type: ignore[attr-defined]
    assert entry["id"] & 0xFFFF == suite.id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"],
         "Cipher suite TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 not supported or doesn't exist"),
        (["TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"],
         "Cipher suite ECDHE-RSA-AES128-GCM-SHA256 not supported or doesn't exist"),
        (["tls_rsa_with_aes_128_cbc_sha"],
         "Cipher suite tls_rsa_with_aes_128_cbc_sha not supported or doesn't exist"),
        ([""], "Cipher suite  not supported or doesn't exist"),
    ],
)
def test_unknown_name_is_upstreams_error(names: list[str], error: str) -> None:
    with pytest.raises(CipherSuiteError) as info:
        cipher_suite_ids(names)
    assert str(info.value) == error


def test_insecure_names_one_per_configured_entry() -> None:
    ids = cipher_suite_ids(["TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                            "TLS_RSA_WITH_AES_128_CBC_SHA256"])
    assert insecure_names(ids) == ["TLS_RSA_WITH_AES_128_CBC_SHA256"] * 2


# ------------------------------------------------------------------ handshakes


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(key_type=trustme.KeyType.RSA)


def _pair(ca: trustme.CA, tmp: Path, key_type: trustme.KeyType) -> ServingCert:
    leaf = ca.issue_cert(HOST, key_type=key_type)
    crt, key = tmp / f"{key_type.name}.crt", tmp / f"{key_type.name}.key"
    leaf.cert_chain_pems[0].write_to_path(crt)
    leaf.private_key_pem.write_to_path(key)
    return ServingCert(str(crt), str(key))


@pytest.fixture(scope="module")
def pairs(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServingCert]:
    tmp = tmp_path_factory.mktemp("pairs")
    return {"RSA": _pair(ca, tmp, trustme.KeyType.RSA),
            "ECDSA": _pair(ca, tmp, trustme.KeyType.ECDSA)}


class Server:
    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1)  # until the client closes
        finally:
            writer.close()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._hold, HOST, 0, ssl=self.ctx)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def handshake(port: int, ca: trustme.CA, cipher: str | None = None,
                    version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> tuple[str, str] | None:
    """(negotiated suite, protocol), or None when the server refused the handshake."""
    client = ssl.create_default_context()
    ca.configure_trust(client)
    client.minimum_version = client.maximum_version = version
    if cipher:
        client.set_ciphers(cipher)
    try:
        _, writer = await asyncio.open_connection(HOST, port, ssl=client, server_hostname=HOST)
    except (ssl.SSLError, ConnectionError):
        return None
    obj = writer.get_extra_info("ssl_object")
    name, protocol = obj.cipher()[0], obj.version()
    writer.close()
    return name, protocol


def _expected(suite: object, offered: set[str], key: str) -> bool:
    name = suite.name  # type: ignore[attr-defined]
    if name not in offered:
        return False
    if "_ECDSA_" in name:
        return key == "ECDSA"
    return key == "RSA"  # ECDHE_RSA and RSA key exchange need an RSA certificate


@pytest.mark.parametrize("key", ["RSA", "ECDSA"])
@pytest.mark.parametrize("flag", [(), EXAMPLE_FLAG], ids=["default", "flag"])
async def test_one_handshake_per_suite(pairs: dict[str, ServingCert], ca: trustme.CA, key: str,
                                       flag: tuple[str, ...]) -> None:
    offered = set(GO_DEFAULT) if not flag else EXAMPLE_OFFERED
    ctx = server_ssl_context(pairs[key], cipher_suites=flag)
    outcome = {}
    async with Server(ctx) as server:
        for suite in AVAILABLE:
            got = await handshake(server.port, ca, suite.openssl)
            outcome[suite.name] = got
    wrong = {}
    for suite in AVAILABLE:
        got = outcome[suite.name]
        want = (suite.openssl, "TLSv1.2") if _expected(suite, offered, key) else None
        if got != want:
            wrong[suite.name] = (got, want)
    assert wrong == {}


@pytest.mark.parametrize("key", ["RSA", "ECDSA"])
@pytest.mark.parametrize("flag", [(), EXAMPLE_FLAG, ("TLS_AES_256_GCM_SHA384",)],
                         ids=["default", "flag", "tls13-names-only"])
async def test_tls13_still_works_and_uses_gos_order(pairs: dict[str, ServingCert],
                                                    ca: trustme.CA, key: str,
                                                    flag: tuple[str, ...]) -> None:
    ctx = server_ssl_context(pairs[key], cipher_suites=flag)
    async with Server(ctx) as server:
        # Python's client offers AES-256-GCM first: an AES-GCM client, so Go picks AES-128
        got = await handshake(server.port, ca, version=ssl.TLSVersion.TLSv1_3)
    assert got == ("TLS_AES_128_GCM_SHA256", "TLSv1.3")


async def test_tls13_names_alone_leave_tls12_without_a_suite(pairs: dict[str, ServingCert],
                                                             ca: trustme.CA) -> None:
    ctx = server_ssl_context(pairs["RSA"], cipher_suites=("TLS_AES_128_GCM_SHA256",))
    async with Server(ctx) as server:
        assert await handshake(server.port, ca) is None
        assert await handshake(server.port, ca, "ECDHE-RSA-AES128-GCM-SHA256") is None


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        # Go's preference order, whatever the client's order
        ("AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
         "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
        ("AES256-SHA:AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"),
        ("AES256-SHA:AES128-SHA:AES256-GCM-SHA384", "AES256-GCM-SHA384"),
        # a client preferring ChaCha20 gets it (Go's no-AES order)
        ("ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256",
         "ECDHE-RSA-CHACHA20-POLY1305"),
        ("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305",
         "ECDHE-RSA-AES256-GCM-SHA384"),
    ],
)
async def test_server_picks_in_gos_order(pairs: dict[str, ServingCert], ca: trustme.CA,
                                         client: str, expected: str) -> None:
    ctx = server_ssl_context(pairs["RSA"])
    async with Server(ctx) as server:
        assert await handshake(server.port, ca, client) == (expected, "TLSv1.2")


@pytest.mark.parametrize(
    "client",
    ["ECDHE-RSA-AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256",
     "AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256"],
)
async def test_known_difference_a_client_preferring_neither_aes_gcm_nor_chacha(
        pairs: dict[str, ServingCert], ca: trustme.CA, client: str) -> None:
    """Documented deviation: Go (no-AES order, the client's first suite is not ECDHE AES-GCM)
    answers ECDHE-RSA-CHACHA20-POLY1305; OpenSSL's PRIORITIZE_CHACHA only looks at the
    client's first suite, so metricsd answers ECDHE-RSA-AES128-GCM-SHA256."""
    ctx = server_ssl_context(pairs["RSA"])
    async with Server(ctx) as server:
        assert await handshake(server.port, ca, client) == ("ECDHE-RSA-AES128-GCM-SHA256",
                                                            "TLSv1.2")


async def test_the_flags_order_does_not_matter(pairs: dict[str, ServingCert],
                                               ca: trustme.CA) -> None:
    flag = ("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    ctx = server_ssl_context(pairs["RSA"], cipher_suites=flag)
    async with Server(ctx) as server:
        got = await handshake(server.port, ca, "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384")
    assert got == ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2")


@pytest.mark.skipif(not MISSING, reason="this OpenSSL offers every suite Go has")
@pytest.mark.parametrize("suite", MISSING, ids=lambda s: s.name)
def test_a_suite_this_openssl_lacks_is_a_startup_error(pairs: dict[str, ServingCert],
                                                       suite: object) -> None:
    with pytest.raises(StartupError) as info:
        server_ssl_context(pairs["RSA"], cipher_suites=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                        suite.name))  # type: ignore[attr-defined]
    assert str(info.value) == (
        f"Cipher suite {suite.name} cannot be offered: {ssl.OPENSSL_VERSION} has no "  # type: ignore[attr-defined]
        f"{suite.openssl}")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        ({"cipher_suites": ("TLS_FOO",)}, "Cipher suite TLS_FOO not supported or doesn't exist"),
        ({"min_version": "VersionTLS14"}, 'unknown tls version "VersionTLS14"'),
        # the suites are checked before the version, as ApplyTo does
        ({"cipher_suites": ("TLS_FOO",), "min_version": "VersionTLS14"},
         "Cipher suite TLS_FOO not supported or doesn't exist"),
    ],
)
def test_startup_errors(pairs: dict[str, ServingCert], flags: dict[str, object],
                        error: str) -> None:
    with pytest.raises(StartupError) as info:
        server_ssl_context(pairs["RSA"], **flags)  # type: ignore[arg-type]
    assert str(info.value) == error


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(
    ("min_version", "accepted"),
    [("", ()), ("VersionTLS12", ()), ("VersionTLS13", ()),
     ("VersionTLS11", (ssl.TLSVersion.TLSv1_1,)),
     ("VersionTLS10", (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))],
)
async def test_tls_versions_below_1_2_only_when_asked(pairs: dict[str, ServingCert],
                                                      ca: trustme.CA, min_version: str,
                                                      accepted: tuple[ssl.TLSVersion, ...]
                                                      ) -> None:
    ctx = server_ssl_context(pairs["RSA"], min_version=min_version)
    async with Server(ctx) as server:
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            for suite in ("ECDHE-RSA-AES128-SHA", "AES256-SHA"):  # Go: CBC suites up to 1.2
                got = await handshake(server.port, ca, f"{suite}:@SECLEVEL=0", version)
                want = (suite, {ssl.TLSVersion.TLSv1: "TLSv1",
                                ssl.TLSVersion.TLSv1_1: "TLSv1.1"}[version])
                assert got == (want if version in accepted else None), (min_version, version)
        tls12 = await handshake(server.port, ca, "ECDHE-RSA-AES128-GCM-SHA256")
        assert tls12 == (None if min_version == "VersionTLS13"
                         else ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"))
        assert await handshake(server.port, ca, "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
                               ssl.TLSVersion.TLSv1) is None  # no AEAD below TLS 1.2


# ------------------------------------------------------------------ ECDHE groups (openssl CLI)


@pytest.fixture
def openssl() -> Iterator[str]:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("no openssl binary")
    yield binary


@pytest.fixture
async def rsa_server(pairs: dict[str, ServingCert]) -> AsyncIterator[int]:
    async with Server(server_ssl_context(pairs["RSA"])) as server:
        yield server.port


async def _s_client(openssl: str, port: int, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        openssl, "s_client", "-connect", f"{HOST}:{port}", *args,
        stdin=subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace")


def _negotiated(text: str) -> tuple[str | None, str | None]:
    """(suite, key-exchange group) from s_client's report; (None, None) when refused."""
    found = re.search(r"Cipher is (\S+)", text)
    suite = found.group(1) if found and found.group(1) != "(NONE)" else None
    key = re.search(r"Server Temp Key: ([^,\n]+)", text)
    return suite, (key.group(1) if key and suite else None)


# the expected values were checked against a go1.21.8 crypto/tls server (MinVersion TLS 1.2,
# default configuration) with the same s_client command lines
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-tls1_2", "-groups", "X25519"), ("ECDHE-RSA-AES128-GCM-SHA256", "X25519")),
        (("-tls1_2", "-groups", "P-521"), ("ECDHE-RSA-AES128-GCM-SHA256", "ECDH")),
        # no shared group: RSA key exchange, as Go does
        (("-tls1_2", "-groups", "X448"), ("AES128-GCM-SHA256", None)),
        (("-tls1_3", "-groups", "X448"), (None, None)),
        (("-tls1_3", "-groups", "ffdhe2048"), (None, None)),
        # Go's group preference (X25519 first) over the client's order (retry with X25519)
        (("-tls1_3", "-groups", "X448:P-384:X25519"), ("TLS_AES_128_GCM_SHA256", "X25519")),
        (("-tls1_3", "-groups", "P-384"), ("TLS_AES_128_GCM_SHA256", "ECDH")),
        # TLS 1.3 suites in Go's order, ChaCha20 first for a client preferring it
        (("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"),
         ("TLS_CHACHA20_POLY1305_SHA256", "X25519")),
        (("-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"),
         ("TLS_AES_256_GCM_SHA384", "X25519")),
        (("-tls1_3", "-ciphersuites",
          "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"),
         ("TLS_AES_128_GCM_SHA256", "X25519")),
    ],
)
async def test_groups_and_tls13_order_as_go(openssl: str, rsa_server: int,
                                            args: tuple[str, ...],
                                            expected: tuple[str | None, str | None]) -> None:
    text = await _s_client(openssl, rsa_server, *args)
    assert _negotiated(text) == expected, text[-800:]
