"""The ``kube-system/extension-apiserver-authentication`` ConfigMap.

Upstream: kube-apiserver's ``cluster_authentication_trust_controller.go``.

Why: a delegating server (metricsd, like metrics-server) learns from this ConfigMap which CA
signs client certificates and which CA, names and headers identify the front proxy. The keys
and value formats are kube-apiserver's cluster-authentication-trust controller's: two PEM
bundles and four lists, each a JSON-encoded array stored as a string (``'["X-Remote-User"]'``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

NAMESPACE = "kube-system"
NAME = "extension-apiserver-authentication"

DEFAULT_ALLOWED_NAMES = ("front-proxy-client",)
DEFAULT_USERNAME_HEADERS = ("X-Remote-User",)
DEFAULT_GROUP_HEADERS = ("X-Remote-Group",)
DEFAULT_EXTRA_PREFIXES = ("X-Remote-Extra-",)


def _json_list(values: Sequence[str]) -> str:
    """Go's ``json.Marshal([]string)``: compact, no spaces."""
    return json.dumps(list(values), separators=(",", ":"))


def authentication_configmap_data(
    client_ca_pem: str,
    requestheader_ca_pem: str | None,
    *,
    allowed_names: Sequence[str] = DEFAULT_ALLOWED_NAMES,
    username_headers: Sequence[str] = DEFAULT_USERNAME_HEADERS,
    group_headers: Sequence[str] = DEFAULT_GROUP_HEADERS,
    extra_prefixes: Sequence[str] = DEFAULT_EXTRA_PREFIXES,
    uid_headers: Sequence[str] | None = None,
) -> dict[str, str]:
    """The ConfigMap's ``data``; ``requestheader-*`` keys only with a request-header CA.

    ``uid_headers`` adds ``requestheader-uid-headers`` (written by 1.32+ servers); leave it
    None to emit the six keys typical of 1.27–1.31.
    """
    data: dict[str, str] = {"client-ca-file": client_ca_pem}
    if requestheader_ca_pem:
        data["requestheader-allowed-names"] = _json_list(allowed_names)
        data["requestheader-client-ca-file"] = requestheader_ca_pem
        data["requestheader-extra-headers-prefix"] = _json_list(extra_prefixes)
        data["requestheader-group-headers"] = _json_list(group_headers)
        data["requestheader-username-headers"] = _json_list(username_headers)
        if uid_headers is not None:
            data["requestheader-uid-headers"] = _json_list(uid_headers)
    return data


def authentication_configmap(
    client_ca_pem: str, requestheader_ca_pem: str | None, **kwargs: Any
) -> dict[str, Any]:
    """The whole ConfigMap object, ready for ``Store.create``/``Store.replace``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": authentication_configmap_data(client_ca_pem, requestheader_ca_pem, **kwargs),
    }


def uid_headers_for(kube_version: tuple[int, int]) -> Sequence[str] | None:
    """``requestheader-uid-headers`` as the emulated version writes it (1.32+: ``[]``)."""
    return [] if kube_version >= (1, 32) else None
