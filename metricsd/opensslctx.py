"""The OpenSSL ``SSL_CTX`` behind an :class:`ssl.SSLContext`, for the few settings Python hides.

Go's TLS server behaviour needs three things CPython 3.11's ``ssl`` does not expose: a verify
callback that accepts any client chain (:mod:`metricsd.tlsclientauth`), the TLS 1.3 cipher
suite order and the key-exchange groups (:mod:`metricsd.tlsciphers`). They are set through
``ctypes`` on the context's ``SSL_CTX``. The pointer is read from CPython's object layout and
checked against the context's own view (verify mode and options read back identically) before
anything is written through it; where that does not hold (another interpreter, a debug build,
an unexpected layout) :func:`ssl_ctx` returns ``None`` and callers keep the stdlib behaviour.
"""

from __future__ import annotations

import ctypes
import ssl
import sys

__all__ = ["VERIFY_CB", "libssl", "ssl_ctx"]

VERIFY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)

_lib: ctypes.CDLL | None = None
_loaded = False


def libssl() -> ctypes.CDLL | None:
    """The libssl the ``_ssl`` module is linked against (its symbols via the module's handle)."""
    global _lib, _loaded
    if not _loaded:
        _loaded = True
        try:
            import _ssl

            lib = ctypes.CDLL(_ssl.__file__)
            lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, VERIFY_CB]
            lib.SSL_CTX_set_verify.restype = None
            lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
            lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
            lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long,
                                         ctypes.c_void_p]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
        except (OSError, AttributeError, ImportError):
            return None
        _lib = lib
    return _lib


def _pointer(ctx: ssl.SSLContext) -> int | None:
    """The ``SSL_CTX *`` stored right after the object header of CPython's PySSLContext."""
    if sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return None  # other interpreters and debug builds lay objects out differently
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    pointer = ctypes.c_void_p.from_address(id(ctx) + header).value
    return int(pointer) if pointer else None


def ssl_ctx(ctx: ssl.SSLContext) -> tuple[ctypes.CDLL, int] | None:
    """libssl and ``ctx``'s ``SSL_CTX *``, once both are known to belong together; else None."""
    lib = libssl()
    pointer = _pointer(ctx)
    if lib is None or pointer is None:
        return None
    if lib.SSL_CTX_get_verify_mode(pointer) != int(ctx.verify_mode):
        return None
    if int(lib.SSL_CTX_get_options(pointer)) & 0xFFFFFFFF != int(ctx.options) & 0xFFFFFFFF:
        return None
    return lib, pointer
