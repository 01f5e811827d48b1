"""Client-certificate verification against one CA bundle, with Go's x509 error texts.

The TLS layer (Python ``ssl``) has already checked the chain against the union of the client
CA and the request-header CA; here we decide *which* bundle signed the presented leaf, because
that decides the identity (front proxy asserting headers vs. a user named by the CN).
Python 3.11 exposes only the leaf, so a leaf must be directly issued by a bundle certificate
(true for kubeadm's front-proxy and client CAs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metricsd.tlserrors import UNKNOWN_AUTHORITY, validity_error

INCOMPATIBLE_USAGE = "x509: certificate specifies an incompatible key usage"


def load_bundle(pem: bytes | str) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM bundle (empty for empty input)."""
    data = pem.encode() if isinstance(pem, str) else pem
    if not data.strip():
        return ()
    return tuple(x509.load_pem_x509_certificates(data))


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return ""
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def organizations(cert: x509.Certificate) -> list[str]:
    out = []
    for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        value = attr.value
        out.append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    return out


def _client_auth_ok(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE \
        in eku


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):
        return False
    return True


@dataclass(frozen=True)
class Verifier:
    """``x509.Verify`` with ClientAuth usage against one bundle."""

    roots: tuple[x509.Certificate, ...]

    def verify(self, leaf: x509.Certificate, now: datetime | None = None) -> str | None:
        """None when ``leaf`` chains to ``roots`` for client auth, else Go's error text."""
        moment = now or datetime.now(UTC)
        problem = validity_error(leaf, moment)
        if problem:
            return problem
        if not any(_issued_by(leaf, ca) for ca in self.roots):
            return UNKNOWN_AUTHORITY
        if not _client_auth_ok(leaf):
            return INCOMPATIBLE_USAGE
        return None
