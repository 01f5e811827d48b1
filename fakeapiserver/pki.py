"""The control plane's certificates: cluster CA, client CA, front-proxy CA, and kubeconfig.

Laid out like kubeadm's ``/etc/kubernetes/pki`` so manifests and docs read the same:

* the **cluster CA** (``ca.crt``) signs the apiserver serving cert; clients verify with it;
* the **client CA** (``client-ca.crt``) signs user client certs (CN = user, O = groups);
* the **front-proxy CA** (``front-proxy-ca.crt``) signs ``front-proxy-client`` (CN), the cert
  the aggregation proxy presents to extension apiservers.

CAs come from trustme (or are loaded from given PEM pairs, or from a previous run's state
dir, so a restarted control plane keeps its kubeconfig valid). Leaf client certs are signed
with ``cryptography`` directly because trustme allows a single organization, and a user may
belong to several groups. Private keys are written with mode 0600.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import trustme
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "system:masters"
FRONT_PROXY_CLIENT = "front-proxy-client"


@dataclass(frozen=True)
class CertKey:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, cert_path: Path, key_path: Path) -> None:
        cert_path.write_bytes(self.cert_pem)
        _write_private(key_path, self.key_pem)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ca_from_pem(cert_pem: bytes, key_pem: bytes) -> trustme.CA:
    """A trustme CA from an existing certificate/key pair (e.g. the fleet's cluster CA)."""
    return trustme.CA.from_pem(cert_pem, key_pem)


def ca_pems(ca: trustme.CA) -> CertKey:
    return CertKey(ca.cert_pem.bytes(), ca.private_key_pem.bytes())


def issue_client_cert(ca: trustme.CA, common_name: str, groups: Iterable[str] = (),
                      days: int = 365) -> CertKey:
    """A client-auth certificate: CN = user name, one O per group."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return CertKey(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
    )


class ClusterPKI:
    """The three CAs plus the leaf certs the control plane needs."""

    def __init__(self, cluster_ca: trustme.CA | None = None,
                 client_ca: trustme.CA | None = None,
                 front_proxy_ca: trustme.CA | None = None) -> None:
        self.cluster_ca = cluster_ca or trustme.CA(organization_name="kubernetes")
        self.client_ca = client_ca or trustme.CA(organization_name="kubernetes-client")
        self.front_proxy_ca = front_proxy_ca or trustme.CA(organization_name="front-proxy")
        self.front_proxy_client = issue_client_cert(self.front_proxy_ca, FRONT_PROXY_CLIENT)
        self.admin = issue_client_cert(self.client_ca, ADMIN_USER, [ADMIN_GROUP])
        self._serving: trustme.LeafCert | None = None

    @classmethod
    def load_or_create(cls, state_dir: Path,
                       cluster_ca: tuple[bytes, bytes] | None = None) -> ClusterPKI:
        """Reuse CAs found in ``state_dir`` (``<name>.crt`` + ``<name>.key``), else create.

        ``cluster_ca`` (cert PEM, key PEM) overrides the stored cluster CA.
        """
        def load(name: str) -> trustme.CA | None:
            crt, key = state_dir / f"{name}.crt", state_dir / f"{name}.key"
            if crt.exists() and key.exists():
                return ca_from_pem(crt.read_bytes(), key.read_bytes())
            return None

        given = ca_from_pem(*cluster_ca) if cluster_ca else None
        return cls(given or load("ca"), load("client-ca"), load("front-proxy-ca"))

    @property
    def cluster_ca_pem(self) -> bytes:
        return bytes(self.cluster_ca.cert_pem.bytes())

    @property
    def client_ca_pem(self) -> bytes:
        return bytes(self.client_ca.cert_pem.bytes())

    @property
    def front_proxy_ca_pem(self) -> bytes:
        return bytes(self.front_proxy_ca.cert_pem.bytes())

    def client_cert(self, user: str, groups: Iterable[str] = ()) -> CertKey:
        """A user client certificate accepted by the apiserver's client-cert authenticator."""
        return issue_client_cert(self.client_ca, user, groups)

    def serving_context(self, hosts: Iterable[str] = ("127.0.0.1", "localhost")
                        ) -> ssl.SSLContext:
        """Server TLS: cluster-CA-signed cert; client certs optional, verified by client CA."""
        names = list(hosts)
        for extra in ("kubernetes", "kubernetes.default", "kubernetes.default.svc"):
            if extra not in names:
                names.append(extra)
        self._serving = self.cluster_ca.issue_cert(*names, common_name="kube-apiserver")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._serving.configure_cert(ctx)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=self.client_ca_pem.decode())
        return ctx

    def client_context(self, cert: CertKey | None = None) -> ssl.SSLContext:
        """Client TLS trusting the cluster CA, optionally presenting ``cert``."""
        ctx = ssl.create_default_context(cadata=self.cluster_ca_pem.decode())
        if cert is not None:
            load_pair(ctx, cert)
        return ctx

    def write(self, state_dir: Path, server_url: str) -> None:
        """Write the CA certs, private keys, front-proxy client pair and admin kubeconfig."""
        state_dir.mkdir(parents=True, exist_ok=True)
        for name, ca in (("ca", self.cluster_ca), ("client-ca", self.client_ca),
                         ("front-proxy-ca", self.front_proxy_ca)):
            ca_pems(ca).write(state_dir / f"{name}.crt", state_dir / f"{name}.key")
        self.front_proxy_client.write(state_dir / "front-proxy-client.crt",
                                      state_dir / "front-proxy-client.key")
        write_kubeconfig(state_dir / "kubeconfig", server_url, self.cluster_ca_pem, self.admin)


def load_pair(ctx: ssl.SSLContext, cert: CertKey) -> None:
    """Present ``cert`` from ``ctx`` (ssl loads a chain only from files: a private temp dir)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        crt, key = Path(tmp) / "c.crt", Path(tmp) / "c.key"
        cert.write(crt, key)
        ctx.load_cert_chain(str(crt), str(key))


def kubeconfig_identity(kubeconfig: Path) -> CertKey:
    """The client certificate and key embedded in a kubeconfig's first user.

    For the control plane's own ``<state>/kubeconfig`` that is the cluster admin, the identity
    the scenario backend, the differential pair, tests and benchmarks present when they talk to
    metricsd or the kubelets directly.
    """
    user = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]
    return CertKey(base64.b64decode(user["client-certificate-data"]),
                   base64.b64decode(user["client-key-data"]))


def unverified_client_context(cert: CertKey) -> ssl.SSLContext:
    """Client TLS presenting ``cert`` that verifies no server certificate.

    metricsd's and the kubelets' serving certificates are self-signed (as in a default
    metrics-server install), so direct requests to them cannot verify the peer.
    """
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    load_pair(ctx, cert)
    return ctx


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_text(server_url: str, ca_pem: bytes, cert: CertKey | None = None,
                    token: str | None = None, user: str = ADMIN_USER,
                    cluster: str = "kubernetes", namespace: str | None = None) -> str:
    """A kubeconfig with embedded data (certificate-authority-data, client-*-data/token)."""
    auth: dict[str, str] = {}
    if cert is not None:
        auth["client-certificate-data"] = _b64(cert.cert_pem)
        auth["client-key-data"] = _b64(cert.key_pem)
    if token is not None:
        auth["token"] = token
    context_name = f"{user}@{cluster}"
    context: dict[str, str] = {"cluster": cluster, "user": user}
    if namespace:
        context["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": server_url, "certificate-authority-data": _b64(ca_pem)}}],
        "contexts": [{"name": context_name, "context": context}],
        "current-context": context_name,
        "preferences": {},
        "users": [{"name": user, "user": auth}],
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


def write_kubeconfig(path: Path, server_url: str, ca_pem: bytes, cert: CertKey | None = None,
                     token: str | None = None, user: str = ADMIN_USER) -> None:
    """Write a kubeconfig (mode 0600: it holds a private key or token)."""
    _write_private(path, kubeconfig_text(server_url, ca_pem, cert, token, user).encode())


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
