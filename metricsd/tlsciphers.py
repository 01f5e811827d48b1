"""``--tls-cipher-suites`` as metrics-server v0.7.1 applies it: Go 1.21.8's crypto/tls, on OpenSSL.

metrics-server v0.7.1 is built with Go 1.21.8 (``FROM golang:1.21.8`` at the tag) and
k8s.io/apiserver v0.29.2. What its secure port offers, and how this module reproduces it:

* **Names** are those k8s.io/component-base's ``cli/flag.TLSCipherSuites`` accepts: Go's
  ``tls.CipherSuites()`` and ``tls.InsecureCipherSuites()`` (IANA names) plus the two legacy
  ``…_CHACHA20_POLY1305`` spellings. Anything else is the start-up error
  ``Cipher suite <name> not supported or doesn't exist``, raised by the serving options'
  ``ApplyTo`` after the listener is created and before anything else starts. The three TLS 1.3
  names are accepted and, as in Go, change nothing: TLS 1.3 suites are not configurable.
* **Without the flag** TLS 1.2 offers Go 1.21.8's ``defaultCipherSuites`` (its
  ``cipherSuitesPreferenceOrder`` without the CBC-SHA256 and RC4 suites): ECDHE AES-GCM and
  ChaCha20, ECDHE AES-CBC-SHA, RSA key exchange AES-GCM and AES-CBC-SHA, and the two 3DES
  suites. (RSA key exchange left Go's defaults in 1.22, 3DES in 1.23: not in this build.)
* **With the flag** exactly the listed TLS 1.2 suites (insecure ones included, each logged
  ``Use of insecure cipher '<name>' detected.`` when serving starts, as secure_serving.go
  does). A list without any TLS 1.2 suite leaves TLS 1.2 without a cipher in Go, so every
  TLS 1.2 handshake fails; here the minimum version is raised to TLS 1.3 instead (the same
  handshakes fail, those fail earlier).
* **Order**: Go (1.17+) ignores the configured order and ``PreferServerCipherSuites``; the
  server picks the first suite of its own preference order the client also offers — the
  AES-first order when the machine has AES-GCM hardware and the client's first known suite is
  an ECDHE AES-GCM one, the ChaCha20-first order otherwise. Here the list is given to OpenSSL
  sorted in Go's order with server preference on, plus ``SSL_OP_PRIORITIZE_CHACHA``, which
  moves ChaCha20 first when it tops the client's list. One difference remains: a client whose
  first suite is neither AES-GCM nor ChaCha20 (say CBC) but that also offers both gets AES-GCM
  here and ChaCha20 from Go. TLS 1.3 uses Go's order too (AES-128-GCM, AES-256-GCM, ChaCha20;
  set through ``SSL_CTX_set_ciphersuites``), and Go's ECDHE groups in Go's order (X25519,
  P-256, P-384, P-521: OpenSSL would also accept X448 and, in TLS 1.3, FFDHE groups).
* **Key type**: the ECDHE_ECDSA suites need an ECDSA serving certificate, the ECDHE_RSA and
  RSA ones an RSA certificate (metricsd's self-signed one is RSA), in Go and in OpenSSL alike.
* **What OpenSSL cannot offer**: this Python's OpenSSL may lack suites Go has — OpenSSL 3
  builds usually have neither RC4 nor 3DES suites, at any security level (``@SECLEVEL=0``
  does not bring them back). Without the flag such suites are left out of the default list
  (so the default is 14 of Go's 16 suites on such a build); named in the flag, they are a
  start-up error, ``Cipher suite <name> cannot be offered: <OpenSSL version> has no <OpenSSL
  name>``, as metricsd cannot do what the flag asks. :func:`unavailable_default_suites` says
  which.

No ``@SECLEVEL`` is changed for TLS 1.2: Python's default level (2) allows every suite above
that OpenSSL has, and lowering it would also allow weak keys and SHA-1 signatures. Only a
``--tls-min-version`` below TLS 1.2 lowers it to 0, because OpenSSL refuses TLS 1.0/1.1
handshakes at any higher level and Go accepts them when asked to (see
:func:`apply_cipher_suites`).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from metricsd.opensslctx import ssl_ctx

__all__ = [
    "DEFAULT_TLS12",
    "PREFERENCE_ORDER",
    "SUITES",
    "TLS13_ORDER",
    "CipherSuiteError",
    "Suite",
    "apply_cipher_suites",
    "cipher_suite_ids",
    "insecure_names",
    "offerable_tls12",
    "openssl_tls12_names",
    "unavailable_default_suites",
]


@dataclass(frozen=True)
class Suite:
    """One suite of Go 1.21.8's crypto/tls: IANA/Go name, id, OpenSSL name, Go's verdict."""

    name: str
    id: int
    openssl: str
    insecure: bool = False
    tls13: bool = False


SUITES: tuple[Suite, ...] = (
    # tls.CipherSuites() (Go 1.21.8)
    Suite("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F, "AES128-SHA"),
    Suite("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035, "AES256-SHA"),
    Suite("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009C, "AES128-GCM-SHA256"),
    Suite("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009D, "AES256-GCM-SHA384"),
    Suite("TLS_AES_128_GCM_SHA256", 0x1301, "TLS_AES_128_GCM_SHA256", tls13=True),
    Suite("TLS_AES_256_GCM_SHA384", 0x1302, "TLS_AES_256_GCM_SHA384", tls13=True),
    Suite("TLS_CHACHA20_POLY1305_SHA256", 0x1303, "TLS_CHACHA20_POLY1305_SHA256", tls13=True),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC009, "ECDHE-ECDSA-AES128-SHA"),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xC00A, "ECDHE-ECDSA-AES256-SHA"),
    Suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC013, "ECDHE-RSA-AES128-SHA"),
    Suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014, "ECDHE-RSA-AES256-SHA"),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    Suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F, "ECDHE-RSA-AES128-GCM-SHA256"),
    Suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030, "ECDHE-RSA-AES256-GCM-SHA384"),
    Suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305"),
    Suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9,
          "ECDHE-ECDSA-CHACHA20-POLY1305"),
    # tls.InsecureCipherSuites() (Go 1.21.8)
    Suite("TLS_RSA_WITH_RC4_128_SHA", 0x0005, "RC4-SHA", insecure=True),
    Suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000A, "DES-CBC3-SHA", insecure=True),
    Suite("TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003C, "AES128-SHA256", insecure=True),
    Suite("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", 0xC007, "ECDHE-ECDSA-RC4-SHA", insecure=True),
    Suite("TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0xC011, "ECDHE-RSA-RC4-SHA", insecure=True),
    Suite("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0xC012, "ECDHE-RSA-DES-CBC3-SHA",
          insecure=True),
    Suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xC023, "ECDHE-ECDSA-AES128-SHA256",
          insecure=True),
    Suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xC027, "ECDHE-RSA-AES128-SHA256",
          insecure=True),
)

_BY_ID = {s.id: s for s in SUITES}
#: every name ``--tls-cipher-suites`` accepts → suite id (component-base's map)
NAMES: dict[str, int] = {s.name: s.id for s in SUITES} | {
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": 0xCCA8,  # legacy names kept by component-base
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": 0xCCA9,
}

#: Go 1.21.8 ``cipherSuitesPreferenceOrder`` (TLS 1.0-1.2, AES-GCM hardware present)
PREFERENCE_ORDER: tuple[int, ...] = (
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,  # AEADs with ECDHE
    0xC009, 0xC013, 0xC00A, 0xC014,  # CBC with ECDHE
    0x009C, 0x009D,  # AEADs without ECDHE
    0x002F, 0x0035,  # CBC without ECDHE
    0xC012, 0x000A,  # 3DES
    0xC023, 0xC027, 0x003C,  # CBC_SHA256
    0xC007, 0xC011, 0x0005,  # RC4
)
#: Go 1.21.8 ``disabledCipherSuites``: only used when listed in the configuration
DISABLED_BY_DEFAULT = frozenset((0xC023, 0xC027, 0x003C, 0xC007, 0xC011, 0x0005))
#: Go 1.21.8 ``defaultCipherSuites``
DEFAULT_TLS12: tuple[int, ...] = tuple(i for i in PREFERENCE_ORDER
                                       if i not in DISABLED_BY_DEFAULT)
#: Go 1.21.8 ``defaultCipherSuitesTLS13`` (the AES-first order; ChaCha20 first via
#: ``SSL_OP_PRIORITIZE_CHACHA`` when the client prefers it)
TLS13_ORDER = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
#: Go 1.21.8 default ``CurvePreferences``
GROUPS = "X25519:P-256:P-384:P-521"

_OP_PRIORITIZE_CHACHA = 0x00200000  # SSL_OP_PRIORITIZE_CHACHA (OpenSSL 1.1.1+)
_SSL_CTRL_SET_GROUPS_LIST = 92  # SSL_CTX_set1_groups_list is a macro over SSL_CTX_ctrl


class CipherSuiteError(ValueError):
    """A ``--tls-cipher-suites`` entry that cannot be applied; ``str()`` is the message."""


def cipher_suite_ids(names: Iterable[str]) -> tuple[int, ...]:
    """component-base's ``TLSCipherSuites``: the ids of ``names``, in the given order."""
    ids = []
    for name in names:
        suite_id = NAMES.get(name)
        if suite_id is None:
            raise CipherSuiteError(f"Cipher suite {name} not supported or doesn't exist")
        ids.append(suite_id)
    return tuple(ids)


def insecure_names(ids: Sequence[int]) -> list[str]:
    """The insecure suites among ``ids``, one entry per occurrence (secure_serving.go warns
    once per configured suite)."""
    return [_BY_ID[i].name for i in ids if _BY_ID[i].insecure]


def openssl_tls12_names(ids: Sequence[int] | None = None) -> list[str]:
    """OpenSSL names of the TLS 1.2 suites ``ids`` allow (Go's defaults when None), in Go's
    preference order (the configured order does not matter, as in Go)."""
    allowed = set(DEFAULT_TLS12 if ids is None else ids)
    return [_BY_ID[i].openssl for i in PREFERENCE_ORDER if i in allowed]


def _available(name: str) -> bool:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        probe.set_ciphers(name)
    except ssl.SSLError:
        return False
    return any(c["name"] == name for c in probe.get_ciphers())


def unavailable_default_suites() -> list[str]:
    """Go's default TLS 1.2 suites this Python's OpenSSL cannot offer (Go names)."""
    return [_BY_ID[i].name for i in DEFAULT_TLS12 if not _available(_BY_ID[i].openssl)]


def offerable_tls12(ids: Sequence[int] | None = None) -> list[str]:
    """:func:`openssl_tls12_names` that this OpenSSL has; a configured suite it lacks raises
    :class:`CipherSuiteError` (Go's defaults it lacks are left out)."""
    names = openssl_tls12_names(ids)
    missing = [n for n in names if not _available(n)]
    if missing and ids is not None:
        suite = next(s for s in SUITES if s.openssl == missing[0])
        raise CipherSuiteError(f"Cipher suite {suite.name} cannot be offered: "
                               f"{ssl.OPENSSL_VERSION} has no {suite.openssl}")
    return [n for n in names if n not in missing]


def apply_cipher_suites(ctx: ssl.SSLContext, ids: Sequence[int] | None = None,
                        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> None:
    """Offer on ``ctx`` what Go 1.21.8 offers for ``ids`` (Go's defaults when None), from
    ``min_version`` up.

    Raises :class:`CipherSuiteError` when a configured suite cannot be offered by OpenSSL.
    Below TLS 1.2 (``--tls-min-version=VersionTLS10``/``11``, which Go honours with its CBC
    suites) OpenSSL needs security level 0: TLS 1.0/1.1 sign the key exchange with MD5+SHA-1,
    which level 1 and up forbid. The suites stay Go's list; only then is the level lowered.
    """
    names = offerable_tls12(ids)
    if names:
        legacy = ":@SECLEVEL=0" if min_version < ssl.TLSVersion.TLSv1_2 else ""
        ctx.set_ciphers(":".join(names) + legacy)
        ctx.minimum_version = min_version
    else:  # only TLS 1.3 names: no TLS 1.2 handshake can succeed, as in Go
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | _OP_PRIORITIZE_CHACHA
    handle = ssl_ctx(ctx)
    if handle is not None:
        lib, pointer = handle
        lib.SSL_CTX_set_ciphersuites(pointer, ":".join(TLS13_ORDER).encode())
        lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, GROUPS.encode())
