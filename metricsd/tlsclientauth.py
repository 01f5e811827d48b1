"""Ask for a client certificate during the TLS handshake without verifying it there.

Go's TLS server (kube-apiserver's generic server, metrics-server) requests a client
certificate and verifies it afterwards, in the authenticators: an untrusted front-proxy
certificate then becomes an HTTP 401 and the log line `"Unable to authenticate the request"
err="[x509: certificate signed by unknown authority, verifying certificate SN=…, SKID=…, AKID=…
failed: x509: certificate signed by unknown authority]"`. Python's ``ssl`` can only verify
during the handshake (``CERT_OPTIONAL`` rejects an untrusted certificate with a TLS alert), so a
client would see `tls: bad certificate` instead — not what users of metrics-server see.

OpenSSL itself supports the Go behaviour: a verify callback that accepts every chain. Python
does not expose it, so this module installs one through ``ctypes`` on the context's ``SSL_CTX``
(CPython keeps the callback when ``verify_mode`` is set again). Identity decisions then rest
entirely on ``metricsd.auth.x509verify``, which checks signature, validity and key usage with
``cryptography``. The hook checks the pointer it found against the context's own view first and
does nothing when anything does not match, leaving the stricter stdlib behaviour in place
(:mod:`metricsd.opensslctx`).
"""

from __future__ import annotations

import ssl

from metricsd.opensslctx import VERIFY_CB, ssl_ctx

_SSL_VERIFY_PEER = 0x01


@VERIFY_CB
def _accept_any(preverify_ok: int, store: int | None) -> int:  # pragma: no cover - C calls it
    return 1


def request_client_cert_unverified(ctx: ssl.SSLContext) -> bool:
    """Request client certificates on ``ctx`` and accept any of them at the TLS layer.

    Returns True when installed; False (and ``ctx`` left as it was) when this Python or OpenSSL
    does not allow it safely.
    """
    if ssl_ctx(ctx) is None:  # checked before verify_mode changes anything
        return False
    if ctx.verify_mode == ssl.CERT_NONE:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    handle = ssl_ctx(ctx)  # verify mode and options read back identically through the pointer
    if handle is None:
        return False
    lib, pointer = handle
    lib.SSL_CTX_set_verify(pointer, _SSL_VERIFY_PEER, _accept_any)
    return True
