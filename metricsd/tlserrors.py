"""Python's TLS and connection errors rewritten as the texts Go's net/http prints.

Users compare metricsd's log lines with metrics-server's (scraper.go, KNOWN_ISSUES.md): a kubelet
certificate without IP SANs must read ``tls: failed to verify certificate: x509: cannot validate
certificate for 127.1.0.3 because it doesn't contain any IP SANs``, not OpenSSL's wording.

OpenSSL and Go check a server certificate in a different order (OpenSSL: chain first; Go: leaf
validity period, then host name, then chain), and OpenSSL's message does not carry the facts Go
prints (the certificate's SANs, its validity bounds). So on the failure path only, we fetch the
leaf certificate with a second, non-verifying handshake and recompute Go's verdict from it.
The original Python error is kept (``GoError.debug``) for ``-v`` logs and bug reports.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from cryptography import x509
from cryptography.x509.oid import NameOID

DEADLINE_EXCEEDED = "context deadline exceeded"
TLS_VERIFY_PREFIX = "tls: failed to verify certificate: "
UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
HTTP_RESPONSE_TO_HTTPS = "http: server gave HTTP response to HTTPS client"
PROBE_TIMEOUT_SECONDS = 5.0

# OpenSSL X509_V_ERR_* codes that Python exposes as SSLCertVerificationError.verify_code.
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_UNKNOWN_ISSUER_CODES = frozenset({2, 18, 19, 20, 21})
_NAME_MISMATCH_CODES = frozenset({62, 64})

_REMOTE_ALERTS = {
    # OpenSSL alert reason → Go's tls alert text, as seen on the client side.
    "TLSV1_ALERT_UNKNOWN_CA": "remote error: tls: unknown certificate authority",
    "SSLV3_ALERT_BAD_CERTIFICATE": "remote error: tls: bad certificate",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "remote error: tls: certificate required",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "remote error: tls: handshake failure",
    "TLSV1_ALERT_PROTOCOL_VERSION": "remote error: tls: protocol version not supported",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "remote error: tls: expired certificate",
    "TLSV1_ALERT_DECRYPT_ERROR": "remote error: tls: error decrypting message",
}
_HTTP_ANSWER_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"}
)


@dataclass(frozen=True)
class GoError:
    """A Go-style error text plus what Python actually said (for debugging)."""

    text: str
    debug: str = ""
    deadline: bool = False


def go_time(moment: datetime) -> str:
    """RFC 3339 at second precision in UTC, as Go's ``time.Format(time.RFC3339)``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def url_error(method: str, url: str, cause: str) -> str:
    """Go's ``*url.Error`` text: ``Get "https://…": <cause>``."""
    return f'{method.capitalize()} "{url}": {cause}'


def _ip_sans(cert: x509.Certificate) -> list[str] | None:
    """IP SANs as text, or None when the certificate has no SAN extension at all."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]


def _dns_sans(cert: x509.Certificate) -> list[str] | None:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return list(ext.value.get_values_for_type(x509.DNSName))


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return ""
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _match_hostname(pattern: str, host: str) -> bool:
    """Go's matchHostnames: case-insensitive, ``*`` only as the whole leftmost label."""
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if not pattern or not host:
        return False
    p_labels = pattern.split(".")
    h_labels = host.split(".")
    if len(p_labels) != len(h_labels):
        return False
    for i, (p, h) in enumerate(zip(p_labels, h_labels, strict=True)):
        if i == 0 and p == "*":
            continue
        if p != h:
            return False
    return True


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def validity_error(cert: x509.Certificate, now: datetime) -> str | None:
    """Go's leaf validity-period check, or None when ``now`` is inside it."""
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    if now < not_before:
        detail = f"current time {go_time(now)} is before {go_time(not_before)}"
    elif now > not_after:
        detail = f"current time {go_time(now)} is after {go_time(not_after)}"
    else:
        return None
    return f"x509: certificate has expired or is not yet valid: {detail}"


def hostname_error(cert: x509.Certificate, host: str) -> str | None:
    """Go's VerifyHostname verdict for ``host`` (an IP or DNS name), None when it matches."""
    host = host.strip("[]")
    ip_sans = _ip_sans(cert)
    dns_sans = _dns_sans(cert)
    has_san = ip_sans is not None
    if _is_ip(host):
        wanted = ipaddress.ip_address(host)
        if any(ipaddress.ip_address(s) == wanted for s in ip_sans or []):
            return None
    elif any(_match_hostname(p, host) for p in dns_sans or []):
        return None
    if not has_san and _match_hostname(_common_name(cert), host):
        return "x509: certificate relies on legacy Common Name field, use SANs instead"
    if _is_ip(host):
        if not ip_sans:
            return (
                f"x509: cannot validate certificate for {host} because it doesn't contain any "
                "IP SANs"
            )
        valid = ", ".join(ip_sans)
    else:
        valid = ", ".join(dns_sans or [])
    if not valid:
        return f"x509: certificate is not valid for any names, but wanted to match {host}"
    return f"x509: certificate is valid for {valid}, not {host}"


def go_verify_text(cert: x509.Certificate, host: str, now: datetime) -> str:
    """What Go's x509 verification says about a leaf that OpenSSL rejected.

    Go checks the validity period, then the host name, then the chain; anything OpenSSL
    rejected that passes the first two is, for Go, an unknown authority.
    """
    reason = validity_error(cert, now) or hostname_error(cert, host) or UNKNOWN_AUTHORITY
    return TLS_VERIFY_PREFIX + reason


async def fetch_leaf_certificate(
    host: str, port: int, client_context: ssl.SSLContext | None = None
) -> x509.Certificate | None:
    """The server's leaf certificate, fetched with a handshake that verifies nothing.

    ``client_context`` (when given) contributes only its client certificate, so a kubelet that
    insists on one still completes the handshake.
    """
    context = client_context if client_context is not None else _insecure_context()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            _reader, writer = await asyncio.open_connection(
                host.strip("[]"), port, ssl=context, server_hostname=None
            )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass
    if not der:
        return None
    return x509.load_der_x509_certificate(der)


def _insecure_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def probe_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext:
    """A non-verifying context carrying the same client certificate as the real one."""
    context = _insecure_context()
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    return context


def _verify_code_text(err: ssl.SSLCertVerificationError, host: str) -> str:
    """Fallback when the peer certificate could not be fetched a second time."""
    code = getattr(err, "verify_code", None)
    if code in _UNKNOWN_ISSUER_CODES:
        return TLS_VERIFY_PREFIX + UNKNOWN_AUTHORITY
    if code in (_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID):
        return TLS_VERIFY_PREFIX + "x509: certificate has expired or is not yet valid"
    if code in _NAME_MISMATCH_CODES:
        return TLS_VERIFY_PREFIX + f"x509: certificate is not valid for {host}"
    return TLS_VERIFY_PREFIX + str(getattr(err, "verify_message", err))


def _ssl_reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    return reason if isinstance(reason, str) else ""


def _os_error_text(err: OSError, host: str, port: int) -> str | None:
    target = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    texts = {
        errno.ECONNREFUSED: "connect: connection refused",
        errno.EHOSTUNREACH: "connect: no route to host",
        errno.ENETUNREACH: "connect: network is unreachable",
        errno.ETIMEDOUT: "i/o timeout",
    }
    if err.errno in texts:
        return f"dial tcp {target}: {texts[err.errno]}"
    if err.errno == errno.ECONNRESET:
        return f"read tcp {target}: read: connection reset by peer"
    if isinstance(err, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    return None


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in ``exc``'s cause/context chain (or ``exc`` itself)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        # aiohttp's connector errors subclass ssl/OS errors themselves; the wrapped original
        # (``os_error`` / ``certificate_error``) carries the real reason, so prefer it.
        nested = getattr(current, "certificate_error", None) or getattr(current, "os_error", None)
        if isinstance(nested, kind):
            return nested
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


async def go_error(
    exc: BaseException,
    *,
    host: str,
    port: int,
    now: datetime | None = None,
    client_context: ssl.SSLContext | None = None,
) -> GoError:
    """Go's cause text for an exception raised while dialling/handshaking/requesting.

    ``host`` is the host in the URL (what Go verifies the certificate against).
    """
    debug = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return GoError(DEADLINE_EXCEEDED, debug, deadline=True)
    cert_error = _find(exc, ssl.SSLCertVerificationError)
    if isinstance(cert_error, ssl.SSLCertVerificationError):
        leaf = await fetch_leaf_certificate(host, port, client_context)
        if leaf is None:
            return GoError(_verify_code_text(cert_error, host), debug)
        return GoError(go_verify_text(leaf, host, now or datetime.now(UTC)), debug)
    ssl_error = _find(exc, ssl.SSLError)
    if ssl_error is not None:
        reason = _ssl_reason(ssl_error)
        if reason in _HTTP_ANSWER_REASONS:
            return GoError(HTTP_RESPONSE_TO_HTTPS, debug)
        if reason in _REMOTE_ALERTS:
            return GoError(_REMOTE_ALERTS[reason], debug)
        if isinstance(ssl_error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return GoError("EOF", debug)
        return GoError(f"tls: {reason.lower().replace('_', ' ') or ssl_error}", debug)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return GoError("EOF", debug)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return GoError("unexpected EOF", debug)
    os_error = _find(exc, OSError)
    if isinstance(os_error, OSError):
        text = _os_error_text(os_error, host, port)
        if text is not None:
            return GoError(text, debug)
    if isinstance(exc, aiohttp.ClientResponseError):
        return GoError(f"net/http: {exc.message}", debug)
    return GoError(str(exc) or type(exc).__name__, debug)
