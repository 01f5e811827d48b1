"""Loading the API-server connection: kubeconfig (files, embedded data, tokens) and in-cluster."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from metricsd.kubeconfig import (
    KubeconfigError,
    RestConfig,
    api_client_configuration,
    api_status_message,
    load_incluster,
    load_kubeconfig,
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_embedded_data_is_materialised(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""
apiVersion: v1
kind: Config
current-context: c
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
clusters: [{{name: k, cluster: {{server: "https://127.0.0.1:6443",
  certificate-authority-data: {_b64(b"CA PEM")}}}}}]
users: [{{name: u, user: {{client-certificate-data: {_b64(b"CERT")},
  client-key-data: {_b64(b"KEY")}, token: tok}}}}]
""")
    rest = load_kubeconfig(str(path))
    assert rest.host == "https://127.0.0.1:6443"
    assert Path(rest.ca_file).read_bytes() == b"CA PEM"
    assert Path(rest.cert_file).read_bytes() == b"CERT"
    assert Path(rest.key_file).read_bytes() == b"KEY"
    assert rest.token() == "tok"
    conf = api_client_configuration(rest)
    assert conf.api_key == {"BearerToken": "tok"}
    assert conf.api_key_prefix == {"BearerToken": "Bearer"}


def test_relative_files_and_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first\n")
    path = tmp_path / "kubeconfig"
    path.write_text("""
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h:1", certificate-authority: ca.crt}}]
users: [{name: u, user: {tokenFile: token}}]
""")
    rest = load_kubeconfig(str(path))
    assert rest.ca_file == str(tmp_path / "ca.crt")
    assert rest.token() == "first"
    (tmp_path / "token").write_text("rotated\n")
    assert rest.token() == "rotated"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("current-context: c\ncontexts: []\n", 'context "c" not found'),
        ("contexts: []\n", "invalid configuration: no configuration has been provided"),
        ("- a\n", "expected a mapping at the top level"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: "
         "[{name: k, cluster: {}}]\n", "cluster has no server"),
    ],
)
def test_bad_kubeconfig_messages(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(KubeconfigError) as info:
        load_kubeconfig(str(path))
    assert str(info.value) == f"{path}: {message}"


def test_missing_file_is_go_stat_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        load_kubeconfig(str(tmp_path / "nope"))
    assert str(info.value) == f"stat {tmp_path / 'nope'}: no such file or directory"


def test_incluster(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_text("CA")
    rest = load_incluster({"KUBERNETES_SERVICE_HOST": "10.96.0.1",
                           "KUBERNETES_SERVICE_PORT": "443"}, str(tmp_path))
    assert rest == RestConfig(host="https://10.96.0.1:443", ca_file=str(tmp_path / "ca.crt"),
                              bearer_token="sa-token",
                              bearer_token_file=str(tmp_path / "token"))
    with pytest.raises(KubeconfigError) as info:
        load_incluster({}, str(tmp_path))
    assert str(info.value) == ("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                               "and KUBERNETES_SERVICE_PORT must be defined")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"kind":"Status","message":"configmaps \\"x\\" is forbidden"}',
         'configmaps "x" is forbidden'),
        (b'{"kind":"Status"}', "the server responded with the status code 403"),
        (b'["not", "a", "status"]', "the server responded with the status code 403"),
        (b"<html>proxy error</html>", "the server responded with the status code 403"),
    ],
)
def test_api_status_message(body: bytes, expected: str) -> None:
    assert api_status_message(body, 403) == expected
