"""The admin identity read back out of a kubeconfig, and the unverified client context."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme
from cryptography import x509

from fakeapiserver.pki import ClusterPKI, kubeconfig_identity, unverified_client_context


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> ssl.SSLObject:
    """A TLS handshake in memory; the server's view of it."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname="metricsd.example")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {c: False, s: False}
    for _ in range(20):
        for obj, out, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            if not done[obj]:
                try:
                    obj.do_handshake()
                    done[obj] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return s
    raise AssertionError("the handshake did not finish")


def test_the_identity_is_the_admin_pair_the_kubeconfig_embeds(tmp_path: Path) -> None:
    pki = ClusterPKI()
    pki.write(tmp_path, "https://127.0.0.1:6443")
    assert kubeconfig_identity(tmp_path / "kubeconfig") == pki.admin


def test_the_context_presents_the_identity_to_a_self_signed_server(tmp_path: Path) -> None:
    pki = ClusterPKI()
    pki.write(tmp_path, "https://127.0.0.1:6443")
    # a serving certificate from a CA the client has never heard of (like metricsd's own)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("metricsd.example").configure_cert(server)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cadata=pki.client_ca_pem.decode())
    client = unverified_client_context(kubeconfig_identity(tmp_path / "kubeconfig"))
    peer = _handshake(client, server).getpeercert(binary_form=True)
    assert peer is not None
    subject = x509.load_der_x509_certificate(peer).subject.rfc4514_string()
    assert "CN=kubernetes-admin" in subject
