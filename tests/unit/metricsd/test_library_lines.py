"""Library lines metricsd prints as k8s.io/apiserver and client-go print them
(``metricsd.apiserverlog``), and the ``process_*`` families as client_golang exports them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from metricsd import klog
from metricsd.apiserverlog import LibraryLog, go_time, human_cert_detail
from metricsd.monitoring import SelfMetrics, _max_address_space
from metricsd.servingcerts import generate_self_signed


@pytest.mark.parametrize(("moment", "text"), [
    (datetime(2026, 12, 1, 21, 53, 8, tzinfo=UTC), "2026-12-01 21:53:08 +0000 UTC"),
    (datetime(2026, 12, 1, 22, 53, 10, 53000, tzinfo=UTC), "2026-12-01 22:53:10.053 +0000 UTC"),
    (datetime(2024, 3, 26, 15, 40, 10, 123456, tzinfo=UTC), "2024-03-26 15:40:10.123456 +0000 UTC"),
])
def test_go_time(moment: datetime, text: str) -> None:
    assert go_time(moment) == text


def test_human_cert_detail_of_a_self_signed_serving_cert() -> None:
    chain, _key = generate_self_signed("localhost", ["127.0.0.1", "127.9.9.9"], [])
    cert = x509.load_pem_x509_certificates(chain)[0]
    now = datetime(2026, 12, 1, 22, 53, 10, 53000, tzinfo=UTC)
    detail = human_cert_detail(cert, now)
    stamp = cert.subject.rfc4514_string().split("@")[1]
    assert detail.startswith(f'"localhost@{stamp}" [serving] validServingFor=[127.0.0.1,'
                             f'127.9.9.9,localhost] issuer="localhost-ca@{stamp}" (')
    assert detail.endswith(" (now=2026-12-01 22:53:10.053 +0000 UTC))")


def test_health_checkers_and_reflector_lines() -> None:
    stream = io.StringIO()
    lib = LibraryLog(klog.Logger(stream=stream, verbosity=5))
    lib.health_checkers("livez", ["ping", "log"])
    lib.reflector_starting("*v1.ConfigMap", "12h0m0s")
    lib.kubeconfig_loaded("/k")  # V(6): not at -v=5
    out = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert out == [
        'Installing health checkers for (/livez): "ping","log"',
        "Starting reflector *v1.ConfigMap (12h0m0s) from "
        "k8s.io/client-go@v0.29.2/tools/cache/reflector.go:229",
    ]
    assert "healthz.go:176]" in stream.getvalue() and "reflector.go:289]" in stream.getvalue()


def test_process_virtual_memory_max_bytes_and_family_order(tmp_path: Path) -> None:
    limits = tmp_path / "limits"
    limits.write_text("Limit                     Soft Limit           Hard Limit           Units\n"
                      "Max address space         unlimited            unlimited            bytes\n")
    assert _max_address_space(str(limits)) == float(2**64 - 1)
    limits.write_text("Max address space         1048576              unlimited            bytes\n")
    assert _max_address_space(str(limits)) == 1048576.0
    text = SelfMetrics(15 * 10**9).exposition()[0].decode()
    families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert "process_virtual_memory_max_bytes" in families
    # the legacy registry (process_*) first, then metrics-server's own, each sorted
    process = [f for f in families if f.startswith("process_")]
    assert families[:len(process)] == sorted(process)
    assert families[len(process):] == sorted(families[len(process):])
