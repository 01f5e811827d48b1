"""The serving certificate: the given ``--tls-cert-file``/``--tls-private-key-file`` pair, or a
self-signed pair in ``--cert-dir`` — generated the way the generic apiserver does it.

Upstream (k8s.io/apiserver ``MaybeDefaultWithSelfSignedCerts``, as metrics-server calls it with
host ``localhost`` and IP ``127.0.0.1``): when no cert/key flags are given and HTTPS is on,
``<cert-dir>/apiserver.crt`` and ``apiserver.key`` are reused if both are readable, otherwise
a throw-away CA (``localhost-ca@<unix time>``) signs a serving certificate
(``localhost@<unix time>``, SANs: IP 127.0.0.1 plus the bind address when it is specific, DNS
``localhost`` when binding to all interfaces, valid from one hour ago for one year); the crt file
holds the serving certificate followed by the CA, the key file the RSA key (PKCS#1 PEM), and
``Generated self-signed cert (<crt>, <key>)`` is logged.  A failure is reported as
``error creating self-signed certificates: mkdir apiserver.local.config: permission denied``,
so Python's ``OSError`` is rendered in Go's ``*PathError`` shape.
"""

from __future__ import annotations

import datetime
import errno
import ipaddress
import os
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metricsd import klog
from metricsd.options import Options, StartupError
from metricsd.tlsciphers import (
    CipherSuiteError,
    apply_cipher_suites,
    cipher_suite_ids,
    offerable_tls12,
)
from metricsd.tlsclientauth import request_client_cert_unverified

__all__ = [
    "PAIR_NAME",
    "ServingCert",
    "configure_client_cas",
    "ensure_serving_cert",
    "go_os_error",
    "server_ssl_context",
    "serving_cert_for",
]

PAIR_NAME = "apiserver"

_TLS_VERSIONS = {
    "VersionTLS10": ssl.TLSVersion.TLSv1,
    "VersionTLS11": ssl.TLSVersion.TLSv1_1,
    "VersionTLS12": ssl.TLSVersion.TLSv1_2,
    "VersionTLS13": ssl.TLSVersion.TLSv1_3,
}

_GO_ERRNO_TEXT = {
    errno.EACCES: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "not a directory",
    errno.EEXIST: "file exists",
    errno.ENOSPC: "no space left on device",
    errno.EISDIR: "is a directory",
    errno.EPERM: "operation not permitted",
}


def go_os_error(op: str, err: OSError, path: str | None = None) -> str:
    """``<op> <path>: <errno text>`` as Go's ``*os.PathError`` prints it."""
    text = _GO_ERRNO_TEXT.get(err.errno or 0)
    if text is None:
        raw = err.strerror or str(err)
        text = raw[:1].lower() + raw[1:]
    target = path if path is not None else (err.filename or "")
    return f"{op} {target}: {text}"


@dataclass(frozen=True)
class ServingCert:
    """Where the serving pair lives and whether this start generated it."""

    cert_file: str
    key_file: str
    generated: bool = False


def _mkdir_all(directory: str) -> None:
    """``os.MkdirAll(dir, 0755)`` with Go's error text (naming the component that failed)."""
    if not directory or os.path.isdir(directory):
        return
    parent = os.path.dirname(directory.rstrip("/"))
    if parent and parent != directory:
        _mkdir_all(parent)
    try:
        os.mkdir(directory, 0o755)
    except FileExistsError:
        if not os.path.isdir(directory):
            raise StartupError(go_os_error("mkdir", OSError(errno.ENOTDIR, ""), directory)) \
                from None
    except OSError as err:
        raise _GoError(go_os_error("mkdir", err, directory)) from None


class _GoError(Exception):
    """An OS failure already rendered in Go's shape."""


def _write_file(path: str, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    except OSError as err:
        raise _GoError(go_os_error("open", err, path)) from None
    try:
        os.write(fd, data)
    except OSError as err:
        raise _GoError(go_os_error("write", err, path)) from None
    finally:
        os.close(fd)


def _can_read(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def generate_self_signed(host: str, alternate_ips: Sequence[str], alternate_dns: Sequence[str],
                         now: float | None = None) -> tuple[bytes, bytes]:
    """(cert chain PEM: serving cert + CA, RSA key PEM) like client-go's certutil generator."""
    stamp = int(time.time() if now is None else now)
    valid_from = datetime.datetime.fromtimestamp(stamp, datetime.UTC) - datetime.timedelta(
        hours=1
    )
    max_age = datetime.timedelta(days=365)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{host}-ca@{stamp}")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(valid_from).not_valid_after(valid_from + max_age)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ips: list[x509.GeneralName] = []
    dns: list[x509.GeneralName] = []
    try:
        ips.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        dns.append(x509.DNSName(host))
    ips.extend(x509.IPAddress(ipaddress.ip_address(ip)) for ip in alternate_ips)
    dns.extend(x509.DNSName(name) for name in alternate_dns)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{host}@{stamp}")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(valid_from).not_valid_after(valid_from + max_age)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([*ips, *dns]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "RSA PRIVATE KEY", as keyutil
        serialization.NoEncryption(),
    )
    return chain, key_pem


def ensure_serving_cert(
    *,
    cert_file: str = "",
    key_file: str = "",
    cert_dir: str = "apiserver.local.config/certificates",
    bind_address: str = "0.0.0.0",
    secure_port: int = 443,
    log: klog.Logger | None = None,
) -> ServingCert | None:
    """The serving pair to use, generating and logging a self-signed one when needed.

    Returns None when HTTPS is off (``--secure-port=0``).  Raises :class:`StartupError` with
    upstream's message when generation fails.
    """
    if cert_file or key_file:
        return ServingCert(cert_file, key_file)
    if secure_port == 0:
        return None
    crt = os.path.join(cert_dir, PAIR_NAME + ".crt")
    key = os.path.join(cert_dir, PAIR_NAME + ".key")
    if _can_read(crt) and _can_read(key):
        return ServingCert(crt, key)
    alternate_ips = ["127.0.0.1"]
    alternate_dns: list[str] = []
    if ipaddress.ip_address(bind_address or "0.0.0.0").is_unspecified:
        alternate_dns.append("localhost")
    elif bind_address not in alternate_ips:
        alternate_ips.append(bind_address)
    try:
        chain, key_pem = generate_self_signed("localhost", alternate_ips, alternate_dns)
        _mkdir_all(os.path.dirname(crt))
        _write_file(crt, chain, 0o644)
        _mkdir_all(os.path.dirname(key))
        _write_file(key, key_pem, 0o600)
    except (_GoError, StartupError) as err:
        raise StartupError(f"error creating self-signed certificates: {err}") from None
    (log or klog.logger).infof(f"Generated self-signed cert ({crt}, {key})",
                               at="options/serving.go:374")
    return ServingCert(crt, key, generated=True)


def serving_cert_for(options: Options, log: klog.Logger | None = None) -> ServingCert | None:
    """:func:`ensure_serving_cert` with the serving flags of parsed :class:`Options`."""
    return ensure_serving_cert(
        cert_file=options.tls_cert_file,
        key_file=options.tls_private_key_file,
        cert_dir=options.cert_dir,
        bind_address=options.bind_address,
        secure_port=options.secure_port,
        log=log,
    )


def server_ssl_context(cert: ServingCert, *, min_version: str = "",
                       cipher_suites: Sequence[str] = (),
                       client_cas: Sequence[bytes | str] = ()) -> ssl.SSLContext:
    """A server-side context for the serving pair, set up as the generic apiserver's ``ApplyTo``
    and ``tlsConfig`` do, in their order: the pair is loaded, then ``--tls-cipher-suites``
    (Go 1.21.8's defaults when empty, :mod:`metricsd.tlsciphers`), then ``--tls-min-version``
    (TLS 1.2 when empty); each failure is a :class:`StartupError` with upstream's text. Client
    certificates are requested (``CERT_OPTIONAL``) when CA bundles for client-cert or
    request-header authentication are given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert.cert_file, cert.key_file)
    except (FileNotFoundError, PermissionError) as err:
        # OpenSSL's error names no file: the certificate is read first, then the key
        path = err.filename or (cert.cert_file if not os.access(cert.cert_file, os.R_OK)
                                else cert.key_file)
        raise StartupError(go_os_error("open", err, path)) from None
    except ssl.SSLError as err:
        raise StartupError(
            f"unable to load server certificate: tls: failed to find any PEM data or the key "
            f"does not match ({cert.cert_file}, {cert.key_file}): {err.reason or err}"
        ) from None
    try:
        ids = cipher_suite_ids(cipher_suites) if cipher_suites else None
        offerable_tls12(ids)  # a suite this OpenSSL lacks: before the version, as a bad name
    except CipherSuiteError as err:
        raise StartupError(str(err)) from None
    version = _TLS_VERSIONS.get(min_version or "VersionTLS12")
    if version is None:
        raise StartupError(f'unknown tls version "{min_version}"')
    apply_cipher_suites(ctx, ids, version)
    configure_client_cas(ctx, client_cas)
    return ctx


def configure_client_cas(ctx: ssl.SSLContext, client_cas: Sequence[bytes | str]) -> None:
    """Trust these PEM bundles for client certificates (CERT_OPTIONAL: anonymous still allowed).

    Python cannot drop CAs from a live context; to rotate bundles build a new context.
    """
    bundles = [ca.decode() if isinstance(ca, bytes) else ca for ca in client_cas if ca]
    if not bundles:
        return
    for pem in bundles:
        ctx.load_verify_locations(cadata=pem)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # As Go's server: ask for a certificate, verify it in the authenticators (401, not a TLS
    # alert, for an untrusted one). Falls back to verifying in the handshake where unsupported.
    request_client_cert_unverified(ctx)
