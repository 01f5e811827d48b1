"""Certificates of a simulated cluster: its CA, kubelet serving certificates, client identities.

The whole use, in the spirit of trustme::

    ca = ClusterCA()                                   # or ClusterCA.load(cert_pem, key_pem)
    issuer = ServingCertIssuer(ca)
    pair = issuer.issue("no-ip-san", "node-1", "127.1.0.1")   # KeyPair | None (plain-http)
    ctx = issuer.server_context("no-ip-san", "node-1", "127.1.0.1", client_ca=ca)
    client = ca.issue_client_cert("metricsd-client", groups=["system:monitoring"])
    ca.configure_trust(client_ssl_context)

Certificate modes (``CERT_MODES``) reproduce what metrics-server meets on real nodes:

``ca-signed``      IP SAN = node address, DNS SAN = node name, signed by the cluster CA.
``no-ip-san``      DNS SAN only (kind's self-generated kubelet certificates have no IP SAN):
                   verifying by IP fails with "IP address mismatch" (Go: "doesn't contain any
                   IP SANs"). Signed by the cluster CA so that the SAN is the only problem.
``self-signed``    the leaf signs itself (Go: "certificate signed by unknown authority").
``expired``        signed by the cluster CA, notAfter one day in the past.
``not-yet-valid``  signed by the cluster CA, notBefore one day in the future.
``wrong-ca``       signed by a second CA that the cluster does not trust.
``plain-http``     no TLS at all.

Why not trustme directly: trustme makes a fresh key for every leaf and names its CAs at
random; a fleet of 1,000 nodes needs one shared leaf key (issuing is then a single ECDSA
signature, ~0.1 ms) and a CA with a stable, Kubernetes-like subject. The public surface keeps
trustme's shape (``cert_pem``, ``configure_trust``, ``issue_*``).

Key reuse: every serving certificate of one issuer (one fleet) carries the SAME P-256 private
key. That is unlike a real cluster, harmless for a simulator (all nodes live in one process
anyway), and makes 1,000 node certificates cost well under a second.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fakekubelet.model import CERT_MODES

DEFAULT_CERT_MODE = "ca-signed"

_DAY = datetime.timedelta(days=1)
_YEAR = datetime.timedelta(days=365)

__all__ = [
    "CERT_MODES",
    "DEFAULT_CERT_MODE",
    "ClusterCA",
    "KeyPair",
    "ServingCertIssuer",
    "client_ssl_context",
]


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]) -> None:
        """Write both files; the key is made readable by the owner only."""
        Path(cert_path).write_bytes(self.cert_pem)
        key = Path(key_path)
        key.write_bytes(self.key_pem)
        key.chmod(0o600)

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` present this certificate (ssl can only load chains from files)."""
        _load_chain(ctx, self.cert_pem + self.key_pem)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_chain(ctx: ssl.SSLContext, pem: bytes) -> None:
    fd, path = tempfile.mkstemp(prefix="fakekubelet-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _self_signed_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name(common_name)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 10 * _YEAR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


_LEAF_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


class ClusterCA:
    """A certificate authority: the cluster CA, a client CA, or an untrusted one.

    ``ClusterCA()`` makes a new one; ``ClusterCA.load(cert_pem, key_pem)`` adopts one given by
    a control plane so that the fleet and the API server share a single root of trust.
    """

    def __init__(self, common_name: str = "kubernetes") -> None:
        self._cert, key = _self_signed_ca(common_name)
        self._key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = key

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> ClusterCA:
        """Adopt an existing CA; ``ValueError`` when the PEM data is not a CA certificate+key."""
        ca = cls.__new__(cls)
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("CA private key must be an EC or RSA key")
        if _spki(cert.public_key()) != _spki(key.public_key()):
            raise ValueError("CA certificate and private key do not match")
        ca._cert = cert
        ca._key = key
        return ca

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate (PEM): what a client trusts."""
        return _cert_pem(self._cert)

    @property
    def key_pem(self) -> bytes:
        """The CA private key (PEM), for handing the same CA to another component."""
        return _key_pem(self._key)

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` trust certificates signed by this CA."""
        ctx.load_verify_locations(cadata=self.cert_pem.decode("ascii"))

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign a leaf built elsewhere with this CA as issuer."""
        return builder.issuer_name(self._cert.subject).sign(self._key, hashes.SHA256())

    def issue_client_cert(self, common_name: str, groups: Iterable[str] = ()) -> KeyPair:
        """A client identity as Kubernetes reads it: user = CN, groups = O entries."""
        key = _new_key()
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, groups))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY)
            .not_valid_after(now + _YEAR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_LEAF_USAGE, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        return KeyPair(_cert_pem(self.sign(builder)), _key_pem(key))


class ServingCertIssuer:
    """Issues kubelet serving certificates, one per node, according to the node's cert mode.

    All leaves share one private key (see the module docstring). ``wrong_ca`` is the CA that
    signs ``wrong-ca`` certificates; by default a fresh one nobody trusts.
    """

    def __init__(self, cluster_ca: ClusterCA, wrong_ca: ClusterCA | None = None) -> None:
        self.cluster_ca = cluster_ca
        self._wrong_ca = wrong_ca
        self._key = _new_key()
        self._key_pem = _key_pem(self._key)

    @property
    def wrong_ca(self) -> ClusterCA:
        if self._wrong_ca is None:
            self._wrong_ca = ClusterCA("untrusted-ca")
        return self._wrong_ca

    def issue(self, mode: str, node_name: str, address: str) -> KeyPair | None:
        """The serving certificate for one node; ``None`` for ``plain-http``."""
        if mode not in CERT_MODES:
            raise ValueError(f"unknown cert mode {mode!r}; expected one of {', '.join(CERT_MODES)}")
        if mode == "plain-http":
            return None
        now = _now()
        not_before, not_after = now - _DAY, now + _YEAR
        if mode == "expired":
            not_before, not_after = now - 2 * _YEAR, now - _DAY
        elif mode == "not-yet-valid":
            not_before, not_after = now + _DAY, now + 2 * _YEAR
        sans: list[x509.GeneralName] = [x509.DNSName(node_name)]
        if mode != "no-ip-san":
            sans.append(x509.IPAddress(ipaddress.ip_address(address)))
        subject = _name(f"{node_name}@fakekubelet") if mode == "self-signed" else _name(node_name)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_LEAF_USAGE, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        )
        if mode == "self-signed":
            cert = builder.issuer_name(subject).sign(self._key, hashes.SHA256())
        elif mode == "wrong-ca":
            cert = self.wrong_ca.sign(builder)
        else:
            cert = self.cluster_ca.sign(builder)
        return KeyPair(_cert_pem(cert), self._key_pem)

    def server_context(
        self, mode: str, node_name: str, address: str, client_ca: ClusterCA | None = None
    ) -> ssl.SSLContext | None:
        """A TLS server context for one node (``None`` for ``plain-http``).

        With ``client_ca`` the server asks for a client certificate and verifies it if one is
        given (Go's ``VerifyClientCertIfGiven``, as the kubelet with ``--client-ca-file``).
        HTTP/1.1 only: the ALPN list offers ``http/1.1`` alone.
        """
        pair = self.issue(mode, node_name, address)
        if pair is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])
        pair.configure_cert(ctx)
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            client_ca.configure_trust(ctx)
        return ctx


def client_ssl_context(
    ca: ClusterCA | bytes | None = None,
    client: KeyPair | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """A client context as metrics-server builds one: trust ``ca``, present ``client``.

    ``verify=False`` is ``--kubelet-insecure-tls``: no chain or name check at all.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if isinstance(ca, ClusterCA):
            ca.configure_trust(ctx)
        elif ca is not None:
            ctx.load_verify_locations(cadata=ca.decode("ascii"))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client is not None:
        client.configure_cert(ctx)
    return ctx
