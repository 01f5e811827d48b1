"""Start-up errors in upstream's order and shape: the serving options' ``ApplyTo`` runs first
(self-signed pair, listener, ``--tls-cipher-suites``, ``--tls-min-version``), before the
kubeconfig is read and long before any controller starts; ``--secure-port`` outside 0..65535
is Go's ``invalid port``; a negative port turns serving off (as ``BindPort <= 0`` does)."""

from __future__ import annotations

import asyncio
import io
import os
import ssl
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from fakeapiserver.app import APIServer
from fakekubelet.addresses import free_port
from metricsd import klog
from metricsd.clock import VirtualClock
from metricsd.options import Options, StartupError
from metricsd.server import MetricsServer
from tests.unit.metricsd.test_server_inprocess import _options, apiserver  # noqa: F401

NOWHERE = Options(kubeconfig="/nonexistent/kubeconfig", bind_address="127.0.0.1",
                  kubelet_insecure_tls=True)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"tls_cipher_suites": ("TLS_FOO",)},
         "Cipher suite TLS_FOO not supported or doesn't exist"),
        ({"tls_min_version": "VersionTLS14"}, 'unknown tls version "VersionTLS14"'),
        ({"tls_cipher_suites": ("TLS_FOO",), "tls_min_version": "VersionTLS14"},
         "Cipher suite TLS_FOO not supported or doesn't exist"),
        ({"secure_port": 70000}, "failed to create listener: failed to listen on "
                                 "127.0.0.1:70000: listen tcp: address 70000: invalid port"),
        ({"secure_port": 70000, "bind_address": "::1"},
         "failed to create listener: failed to listen on [::1]:70000: listen tcp: address "
         "70000: invalid port"),
        ({"secure_port": 65536, "tls_cipher_suites": ("TLS_FOO",)},
         "failed to create listener: failed to listen on 127.0.0.1:65536: listen tcp: address "
         "65536: invalid port"),
        # the node selector is parsed after the serving options (config completion)
        ({"tls_cipher_suites": ("TLS_FOO",), "node_selector": "a in (b"},
         "Cipher suite TLS_FOO not supported or doesn't exist"),
    ],
)
async def test_serving_options_fail_before_the_kubeconfig_is_read(
        tmp_path: Path, changes: dict[str, object], error: str) -> None:
    fields: dict[str, object] = {"secure_port": free_port(), "cert_dir": str(tmp_path / "certs")}
    options = replace(NOWHERE, **(fields | changes))  # type: ignore[arg-type]
    server = MetricsServer(options, clock=VirtualClock(), log=klog.Logger(stream=io.StringIO()),
                           process_metrics=False)
    with pytest.raises(StartupError) as info:
        await server.start()
    assert str(info.value) == error
    assert not server.informers_started
    await server.stop()


async def test_a_negative_port_serves_nothing_but_generates_the_pair(
        apiserver: APIServer, tmp_path: Path) -> None:  # noqa: F811
    options = _options(apiserver, tmp_path, secure_port=-1,
                       tls_cipher_suites=("TLS_FOO",))  # not checked: serving is off
    server = MetricsServer(options, clock=VirtualClock(), log=klog.Logger(stream=io.StringIO()),
                           process_metrics=False)
    try:
        await server.start()
        assert server.port == 0 and server.ssl_context is None
        assert (tmp_path / "certs" / "apiserver.crt").exists()
    finally:
        await server.stop()


async def test_insecure_suites_are_warned_and_served(apiserver: APIServer,  # noqa: F811
                                                     tmp_path: Path) -> None:
    stream = io.StringIO()
    options = _options(apiserver, tmp_path, tls_cipher_suites=(
        "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
    server = MetricsServer(options, clock=VirtualClock(), log=klog.Logger(stream=stream),
                           process_metrics=False)
    try:
        await server.start()
        lines = stream.getvalue().splitlines()
        [warning] = [i for i, line in enumerate(lines) if "insecure cipher" in line]
        assert lines[warning].startswith("W")
        assert lines[warning].endswith(" secure_serving.go:69] Use of insecure cipher "
                                       "'TLS_RSA_WITH_AES_128_CBC_SHA256' detected.")
        serving = next(i for i, line in enumerate(lines) if "Serving securely on" in line)
        assert warning < serving

        async def suite(cipher: str) -> str | None:
            client = ssl.create_default_context()
            client.check_hostname = False
            client.verify_mode = ssl.CERT_NONE
            client.maximum_version = ssl.TLSVersion.TLSv1_2
            client.set_ciphers(cipher)
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=client)
            except (ssl.SSLError, ConnectionError):
                return None
            name = str(writer.get_extra_info("ssl_object").cipher()[0])
            writer.close()
            return name

        assert await suite("AES128-SHA256") == "AES128-SHA256"
        assert await suite("ECDHE-RSA-AES128-GCM-SHA256") == "ECDHE-RSA-AES128-GCM-SHA256"
        assert await suite("ECDHE-RSA-AES256-GCM-SHA384") is None
    finally:
        await server.stop()


def _metricsd(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run(
        [sys.executable, "-m", "metricsd", "--kubeconfig", "/nonexistent/kubeconfig",
         "--bind-address", "127.0.0.1", "--cert-dir", str(tmp_path / "certs"), *flags],
        capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (("--secure-port", "70000"), "failed to create listener: failed to listen on "
                                     "127.0.0.1:70000: listen tcp: address 70000: invalid port"),
        (("--secure-port", "{port}", "--tls-cipher-suites", "TLS_RSA_WITH_AES_128_CBC_SHA,BAD"),
         "Cipher suite BAD not supported or doesn't exist"),
        (("--secure-port", "{port}", "--tls-min-version", "TLS12"),
         'unknown tls version "TLS12"'),
    ],
)
def test_cli_exit_2_with_upstreams_message(tmp_path: Path, flags: tuple[str, ...],
                                           error: str) -> None:
    port = str(free_port())
    proc = _metricsd(tmp_path, *(f.format(port=port) for f in flags))
    assert proc.returncode == 2, proc.stderr
    # klog lines may come first (upstream logs "Generated self-signed cert" before it fails)
    before, _, rest = proc.stderr.partition("Error: ")
    assert all(line[:1] in "IW" for line in before.splitlines()), before
    first, rest = rest.split("\n", 1)
    assert first == error
    assert rest.startswith("Usage:\n   [flags]\n")
    assert "Traceback" not in proc.stderr and "OverflowError" not in proc.stderr
