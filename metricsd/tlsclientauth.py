"""Ask for a client certificate during the TLS handshake without verifying it there.

Go's TLS server (kube-apiserver's generic server, metrics-server) requests a client
certificate and verifies it afterwards, in the authenticators: an untrusted front-proxy
certificate then becomes an HTTP 401 and the log line `Unable to authenticate the request due
to an error: x509: certificate signed by unknown authority`. Python's ``ssl`` can only verify
during the handshake (``CERT_OPTIONAL`` rejects an untrusted certificate with a TLS alert), so a
client would see `tls: bad certificate` instead — not what users of metrics-server see.

OpenSSL itself supports the Go behaviour: a verify callback that accepts every chain. Python
does not expose it, so this module installs one through ``ctypes`` on the context's ``SSL_CTX``
(CPython keeps the callback when ``verify_mode`` is set again). Identity decisions then rest
entirely on ``metricsd.auth.x509verify``, which checks signature, validity and key usage with
``cryptography``. The hook checks the pointer it found against the context's own view first and
does nothing when anything does not match, leaving the stricter stdlib behaviour in place.
"""

from __future__ import annotations

import ctypes
import ssl
import sys

_SSL_VERIFY_PEER = 0x01
_VERIFY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


@_VERIFY_CB
def _accept_any(preverify_ok: int, store: int | None) -> int:  # pragma: no cover - C calls it
    return 1


_lib: ctypes.CDLL | None = None


def _libssl() -> ctypes.CDLL | None:
    """The libssl the ``_ssl`` module is linked against (its symbols via the module's handle)."""
    global _lib
    if _lib is None:
        try:
            import _ssl

            lib = ctypes.CDLL(_ssl.__file__)
            lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CB]
            lib.SSL_CTX_set_verify.restype = None
            lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        except (OSError, AttributeError, ImportError):
            return None
        _lib = lib
    return _lib


def _ssl_ctx_pointer(ctx: ssl.SSLContext) -> int | None:
    """The ``SSL_CTX *`` stored right after the object header of CPython's PySSLContext."""
    if sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return None  # other interpreters and debug builds lay objects out differently
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    pointer = ctypes.c_void_p.from_address(id(ctx) + header).value
    return int(pointer) if pointer else None


def request_client_cert_unverified(ctx: ssl.SSLContext) -> bool:
    """Request client certificates on ``ctx`` and accept any of them at the TLS layer.

    Returns True when installed; False (and ``ctx`` left as it was) when this Python or OpenSSL
    does not allow it safely.
    """
    lib = _libssl()
    pointer = _ssl_ctx_pointer(ctx)
    if lib is None or pointer is None:
        return False
    if ctx.verify_mode == ssl.CERT_NONE:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    # The pointer must be this context's: its verify mode and options read back identically.
    if lib.SSL_CTX_get_verify_mode(pointer) != int(ctx.verify_mode):
        return False
    if int(lib.SSL_CTX_get_options(pointer)) & 0xFFFFFFFF != int(ctx.options) & 0xFFFFFFFF:
        return False
    lib.SSL_CTX_set_verify(pointer, _SSL_VERIFY_PEER, _accept_any)
    return True
