"""The API-server connection (``--kubeconfig`` or in-cluster), as one plain :class:`RestConfig`.

Upstream builds one client-go rest config and reuses it twice: for the informers and, after
the edits of metrics-server's kubelet_client.go, as the base of the kubelet client (its CA,
client certificate and bearer token go to the kubelets too). We keep that shape: load once,
then derive. PEM data embedded in a kubeconfig is written to private temporary files, because
Python's ``ssl`` loads client certificates only from files.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import ssl
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeconfigError(Exception):
    """A kubeconfig or in-cluster environment that cannot be used (message names the file)."""


@dataclass(frozen=True)
class RestConfig:
    """What a client needs to reach a server; file paths only (data already materialised)."""

    host: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    bearer_token: str = ""
    bearer_token_file: str = ""
    insecure: bool = False

    def token(self) -> str:
        """The bearer token, re-read from its file when it came from one (SA tokens rotate)."""
        if self.bearer_token_file:
            try:
                return Path(self.bearer_token_file).read_text().strip()
            except OSError:
                return self.bearer_token
        return self.bearer_token

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context verifying against ``ca_file`` (or not at all if insecure)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_file:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context

    def without(self, **changes: Any) -> RestConfig:
        return replace(self, **changes)


_materialised: list[str] = []


def _write_private(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="metricsd-", suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    _materialised.append(path)
    return path


def cleanup_materialised() -> None:
    """Remove the temporary files written for embedded PEM data."""
    while _materialised:
        try:
            os.unlink(_materialised.pop())
        except OSError:
            pass


def _b64(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as err:
        raise KubeconfigError(f"{where}: illegal base64 data: {err}") from None


def _named(entries: Any, name: str, kind: str, path: str) -> dict[str, Any]:
    if not isinstance(entries, list):
        raise KubeconfigError(f"{path}: {kind}s: expected a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(kind)
            return body if isinstance(body, dict) else {}
    raise KubeconfigError(f'{path}: {kind} "{name}" not found')


def _resolve(path: str, base: Path) -> str:
    return path if os.path.isabs(path) else str(base / path)


def load_kubeconfig(path: str, context: str = "") -> RestConfig:
    """The current (or named) context of a kubeconfig file."""
    file = Path(path)
    try:
        doc = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise KubeconfigError(f"stat {path}: no such file or directory") from None
    except OSError as err:
        raise KubeconfigError(f"{path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise KubeconfigError(f"{path}: invalid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"{path}: expected a mapping at the top level")
    name = context or doc.get("current-context") or ""
    if not name:
        raise KubeconfigError(f"{path}: invalid configuration: no configuration has been provided")
    ctx = _named(doc.get("contexts", []), name, "context", path)
    cluster = _named(doc.get("clusters", []), str(ctx.get("cluster", "")), "cluster", path)
    user_name = str(ctx.get("user", ""))
    user = _named(doc.get("users", []), user_name, "user", path) if user_name else {}
    base = file.parent
    server = str(cluster.get("server", ""))
    if not server:
        raise KubeconfigError(f"{path}: cluster has no server")

    def material(section: dict[str, Any], key: str, suffix: str) -> str:
        """A file holding ``key``: ``key-data`` written to a private file, or ``key`` resolved."""
        if section.get(f"{key}-data"):
            return _write_private(_b64(section[f"{key}-data"], f"{path}: {key}-data"), suffix)
        if section.get(key):
            return _resolve(str(section[key]), base)
        return ""

    ca_file = material(cluster, "certificate-authority", ".crt")
    cert_file = material(user, "client-certificate", ".crt")
    key_file = material(user, "client-key", ".key")
    token_file = _resolve(str(user["tokenFile"]), base) if user.get("tokenFile") else ""
    token = str(user.get("token") or "")
    if token_file and not token:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as err:
            raise KubeconfigError(f"{token_file}: {err.strerror}") from None
    return RestConfig(
        host=server,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        bearer_token=token,
        bearer_token_file=token_file,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )


def load_incluster(environ: dict[str, str] | None = None,
                   sa_dir: str = SERVICE_ACCOUNT_DIR) -> RestConfig:
    """The ServiceAccount config a pod gets (client-go's InClusterConfig)."""
    env = os.environ if environ is None else environ
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    port = env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeconfigError(
            "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
            "KUBERNETES_SERVICE_PORT must be defined"
        )
    token_file = os.path.join(sa_dir, "token")
    try:
        token = Path(token_file).read_text().strip()
    except OSError as err:
        raise KubeconfigError(f"open {token_file}: {(err.strerror or str(err)).lower()}") from None
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    ca_file = os.path.join(sa_dir, "ca.crt")
    return RestConfig(
        host=f"https://{hostport}",
        ca_file=ca_file if os.path.exists(ca_file) else "",
        bearer_token=token,
        bearer_token_file=token_file,
    )


def load_rest_config(kubeconfig: str) -> RestConfig:
    """``--kubeconfig`` when given, else in-cluster (upstream's order)."""
    if kubeconfig:
        return load_kubeconfig(kubeconfig)
    return load_incluster()


def api_status_message(body: bytes, status: int) -> str:
    """client-go's text for a non-2xx API answer: the Status's ``message``, else a generic line."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])
    except ValueError:
        pass
    return f"the server responded with the status code {status}"


async def describe_api_error(config: RestConfig, path: str, exc: BaseException) -> str:
    """Go's text for a failed API-server request (``Get "https://…/path": dial tcp …``)."""
    import aiohttp

    from metricsd.tlserrors import go_error, url_error

    if not isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return str(exc) or type(exc).__name__
    url = aiohttp.client.URL(config.host)
    host = (url.host or "").strip("[]")
    port = int(url.port or (443 if url.scheme == "https" else 80))
    err = await go_error(exc, host=host, port=port)
    return url_error("GET", config.host.rstrip("/") + path, err.text)


def api_client_configuration(config: RestConfig) -> Any:
    """A kubernetes_asyncio ``Configuration`` for the informers and review clients."""
    from kubernetes_asyncio.client import Configuration

    conf = Configuration()
    conf.host = config.host
    conf.verify_ssl = not config.insecure
    if config.ca_file:
        conf.ssl_ca_cert = config.ca_file
    if config.cert_file:
        conf.cert_file = config.cert_file
        conf.key_file = config.key_file
    token = config.token()
    if token:
        # kubernetes_asyncio reads the "BearerToken" api key (prefix separate)
        conf.api_key = {"BearerToken": token}
        conf.api_key_prefix = {"BearerToken": "Bearer"}
        if config.bearer_token_file:

            def refresh(c: Any) -> None:  # ServiceAccount tokens rotate: re-read each request
                c.api_key["BearerToken"] = config.token()

            conf.refresh_api_key_hook = refresh
    return conf
