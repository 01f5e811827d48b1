"""Front-proxy (request-header) and client-CA settings, from flags or the ConfigMap.

k8s.io/apiserver fills whatever the flags leave empty from ConfigMap
``kube-system/extension-apiserver-authentication`` (unless ``--authentication-skip-lookup``)
and keeps watching it. :class:`AuthenticationConfig` is that merged view; ``update_from_configmap``
is called by the ConfigMap watch and swaps the settings atomically.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from metricsd.auth.x509verify import Verifier, load_bundle

CONFIGMAP_NAMESPACE = "kube-system"
CONFIGMAP_NAME = "extension-apiserver-authentication"


@dataclass(frozen=True)
class RequestHeaderConfig:
    """Who may assert identities by headers, and which headers carry them."""

    ca_pem: bytes = b""
    allowed_names: tuple[str, ...] = ()
    username_headers: tuple[str, ...] = ("x-remote-user",)
    group_headers: tuple[str, ...] = ("x-remote-group",)
    extra_headers_prefixes: tuple[str, ...] = ("x-remote-extra-",)
    roots: tuple[x509.Certificate, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def build(cls, ca_pem: bytes, **kw: Sequence[str]) -> RequestHeaderConfig:
        lowered = {k: tuple(str(v).lower() for v in vals) if k != "allowed_names"
                   else tuple(vals) for k, vals in kw.items()}
        return cls(ca_pem=ca_pem, roots=load_bundle(ca_pem), **lowered)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.roots)

    def all_header_names(self) -> list[str]:
        return [*self.username_headers, *self.group_headers]

    def identity(self, headers: Mapping[str, str] | object) -> tuple[str, list[str],
                                                                     dict[str, list[str]]]:
        """Username, groups and extra from headers (k8s requestheader rules)."""
        getall = getattr(headers, "getall", None)
        items = list(headers.items()) if hasattr(headers, "items") else []

        def values(name: str) -> list[str]:
            if getall is not None:
                return [str(v) for v in getall(name, [])]
            return [str(v) for k, v in items if k.lower() == name]

        username = ""
        for name in self.username_headers:
            for value in values(name):
                if value:
                    username = value
                    break
            if username:
                break
        groups = [v for name in self.group_headers for v in values(name) if v]
        extra: dict[str, list[str]] = {}
        for key, value in items:
            lower = str(key).lower()
            for prefix in self.extra_headers_prefixes:
                if lower.startswith(prefix) and value:
                    suffix = urllib.parse.unquote(lower[len(prefix):])
                    extra.setdefault(suffix, []).append(str(value))
                    break
        return username, groups, extra

    def header_names_to_strip(self, present: Sequence[str]) -> list[str]:
        out = [*self.username_headers, *self.group_headers]
        out += [h for h in present
                if any(h.lower().startswith(p) for p in self.extra_headers_prefixes)]
        return out


def _json_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        parsed = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(v) for v in parsed) if isinstance(parsed, list) else ()


@dataclass
class AuthenticationConfig:
    """The live authentication settings (flags first, ConfigMap for what flags leave empty)."""

    client_ca_pem: bytes = b""
    request_header: RequestHeaderConfig | None = None
    client_ca_from_flags: bool = False
    request_header_from_flags: bool = False
    generation: int = 0
    client_roots: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_flags(
        cls,
        *,
        client_ca_file: str = "",
        requestheader_client_ca_file: str = "",
        requestheader_allowed_names: Sequence[str] = (),
        requestheader_username_headers: Sequence[str] = ("x-remote-user",),
        requestheader_group_headers: Sequence[str] = ("x-remote-group",),
        requestheader_extra_headers_prefix: Sequence[str] = ("x-remote-extra-",),
    ) -> AuthenticationConfig:
        config = cls()
        if client_ca_file:
            config.client_ca_pem = Path(client_ca_file).read_bytes()
            config.client_roots = load_bundle(config.client_ca_pem)
            config.client_ca_from_flags = True
        if requestheader_client_ca_file:
            config.request_header = RequestHeaderConfig.build(
                Path(requestheader_client_ca_file).read_bytes(),
                allowed_names=tuple(requestheader_allowed_names),
                username_headers=tuple(requestheader_username_headers),
                group_headers=tuple(requestheader_group_headers),
                extra_headers_prefixes=tuple(requestheader_extra_headers_prefix),
            )
            config.request_header_from_flags = True
        return config

    def update_from_configmap(self, data: Mapping[str, str]) -> bool:
        """Fill what flags left empty from the ConfigMap's data; True when something changed."""
        changed = False
        if not self.client_ca_from_flags:
            pem = (data.get("client-ca-file") or "").encode()
            if pem != self.client_ca_pem:
                self.client_ca_pem = pem
                self.client_roots = load_bundle(pem)
                changed = True
        if not self.request_header_from_flags:
            ca = (data.get("requestheader-client-ca-file") or "").encode()
            new: RequestHeaderConfig | None = None
            if ca.strip():
                new = RequestHeaderConfig.build(
                    ca,
                    allowed_names=_json_list(data.get("requestheader-allowed-names")),
                    username_headers=_json_list(data.get("requestheader-username-headers"))
                    or ("x-remote-user",),
                    group_headers=_json_list(data.get("requestheader-group-headers"))
                    or ("x-remote-group",),
                    extra_headers_prefixes=_json_list(
                        data.get("requestheader-extra-headers-prefix")) or ("x-remote-extra-",),
                )
            if new != self.request_header:
                self.request_header = new
                changed = True
        if changed:
            self.generation += 1
        return changed

    @property
    def client_verifier(self) -> Verifier | None:
        return Verifier(self.client_roots) if self.client_roots else None

    def client_ca_bundles(self) -> list[tuple[str, bytes]]:
        """(controller name, PEM) of the two client-CA sources, as the serving layer unions
        them: the client CA, then the request-header CA."""
        prefix = f"client-ca::{CONFIGMAP_NAMESPACE}::{CONFIGMAP_NAME}::"
        header = self.request_header.ca_pem if self.request_header is not None else b""
        return [(prefix + "client-ca-file", self.client_ca_pem),
                (prefix + "requestheader-client-ca-file", header)]

    def all_ca_pems(self) -> list[bytes]:
        """Every CA bundle a client certificate may chain to (for the TLS layer)."""
        out = [self.client_ca_pem] if self.client_ca_pem.strip() else []
        if self.request_header is not None and self.request_header.ca_pem.strip():
            out.append(self.request_header.ca_pem)
        return out
