"""Serving certificates: self-signed generation like the generic apiserver, reuse, errors."""

import errno
import io
import ipaddress
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from metricsd.klog import Logger
from metricsd.options import StartupError
from metricsd.servingcerts import (
    ServingCert,
    ensure_serving_cert,
    go_os_error,
    server_ssl_context,
)


def _log() -> tuple[Logger, io.StringIO]:
    buf = io.StringIO()
    return Logger(stream=buf, pid=1), buf


def test_generates_pair_with_upstream_names_and_log(tmp_path: Path) -> None:
    log, buf = _log()
    cert_dir = tmp_path / "certs" / "nested"
    cert = ensure_serving_cert(cert_dir=str(cert_dir), log=log)
    assert cert == ServingCert(str(cert_dir / "apiserver.crt"), str(cert_dir / "apiserver.key"),
                               generated=True)
    assert buf.getvalue().endswith(
        f" serving.go:374] Generated self-signed cert ({cert_dir}/apiserver.crt, "
        f"{cert_dir}/apiserver.key)\n"
    )
    chain = x509.load_pem_x509_certificates((cert_dir / "apiserver.crt").read_bytes())
    assert len(chain) == 2
    leaf, ca = chain
    assert leaf.issuer == ca.subject
    assert leaf.subject.rfc4514_string().startswith("CN=localhost@")
    assert ca.subject.rfc4514_string().startswith("CN=localhost-ca@")
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "localhost"]
    assert (cert_dir / "apiserver.key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY")
    assert oct(os.stat(cert_dir / "apiserver.key").st_mode & 0o777) == "0o600"


def test_specific_bind_address_becomes_an_ip_san(tmp_path: Path) -> None:
    log, _ = _log()
    cert = ensure_serving_cert(cert_dir=str(tmp_path), bind_address="127.0.0.5", log=log)
    assert cert is not None
    leaf = x509.load_pem_x509_certificates(Path(cert.cert_file).read_bytes())[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.5")]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]


def test_existing_pair_is_reused_without_log(tmp_path: Path) -> None:
    log, buf = _log()
    first = ensure_serving_cert(cert_dir=str(tmp_path), log=log)
    assert first is not None
    before = Path(first.cert_file).read_bytes()
    buf.truncate(0)
    again = ensure_serving_cert(cert_dir=str(tmp_path), log=log)
    assert again is not None and not again.generated
    assert Path(again.cert_file).read_bytes() == before
    assert buf.getvalue() == ""


def test_given_files_and_disabled_port(tmp_path: Path) -> None:
    assert ensure_serving_cert(cert_file="a.crt", key_file="a.key") == ServingCert("a.crt",
                                                                                   "a.key")
    assert ensure_serving_cert(cert_dir=str(tmp_path), secure_port=0) is None
    assert list(tmp_path.iterdir()) == []


def test_mkdir_failure_shaped_like_go(tmp_path: Path) -> None:
    blocker = tmp_path / "apiserver.local.config"
    blocker.write_text("not a directory")
    log, _ = _log()
    with pytest.raises(StartupError) as err:
        ensure_serving_cert(cert_dir=str(blocker / "certificates"), log=log)
    assert str(err.value) == (
        f"error creating self-signed certificates: mkdir {blocker}: not a directory"
    )


@pytest.mark.parametrize(
    ("code", "text"),
    [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")],
)
def test_go_os_error_texts(code: int, text: str) -> None:
    err = OSError(code, os.strerror(code), "apiserver.local.config")
    assert go_os_error("mkdir", err) == f"mkdir apiserver.local.config: {text}"


def test_ssl_context_handshake_and_client_cas(tmp_path: Path) -> None:
    import trustme

    log, _ = _log()
    cert = ensure_serving_cert(cert_dir=str(tmp_path), log=log)
    assert cert is not None
    ctx = server_ssl_context(cert, min_version="VersionTLS12")
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    client_ca = trustme.CA()
    ctx2 = server_ssl_context(cert, client_cas=[client_ca.cert_pem.bytes()])
    assert ctx2.verify_mode == ssl.CERT_OPTIONAL
    with pytest.raises(StartupError, match='unknown tls version "TLS9"'):
        server_ssl_context(cert, min_version="TLS9")
    with pytest.raises(StartupError, match="no such file or directory"):
        server_ssl_context(ServingCert(str(tmp_path / "missing.crt"), str(tmp_path / "k")))


def test_serving_cert_for_options(tmp_path: Path) -> None:
    from metricsd.options import parse_args
    from metricsd.servingcerts import serving_cert_for

    log, _buf = _log()
    options, _ = parse_args([f"--cert-dir={tmp_path}", "--bind-address=127.0.0.1"])
    cert = serving_cert_for(options, log)
    assert cert is not None and cert.generated
    assert cert.cert_file == f"{tmp_path}/apiserver.crt"
    given, _ = parse_args(["--tls-cert-file=/a.crt", "--tls-private-key-file=/a.key"])
    assert serving_cert_for(given, log) == ServingCert("/a.crt", "/a.key")


async def test_tls_handshake_with_generated_cert(tmp_path: Path) -> None:
    import asyncio

    log, _ = _log()
    cert = ensure_serving_cert(cert_dir=str(tmp_path), bind_address="127.0.0.1", log=log)
    assert cert is not None
    server_ctx = server_ssl_context(cert)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=cert.cert_file)  # chain includes the CA
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                                       server_hostname="localhost")
        assert await reader.read() == b"hello"
        writer.close()
