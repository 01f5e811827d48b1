"""Content negotiation (``metricsd.negotiation``) and the protobuf encoding
(``metricsd.api.protobuf``): the bytes are the real metrics-server v0.7.1's, recorded from the
test peer (``docs/peers.md``) answering the same objects."""

from __future__ import annotations

import pytest

from metricsd.api import protobuf
from metricsd.api.status import not_found
from metricsd.negotiation import Media, is_pretty, negotiate, negotiate_error, parse_accept

KUBECTL_TOP = "application/vnd.kubernetes.protobuf, */*"
KUBECTL_GET = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
               "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


@pytest.mark.parametrize(("accept", "media"), [
    (None, Media("json")),
    ("", Media("json")),
    ("*/*", Media("json")),
    ("application/json", Media("json")),
    (KUBECTL_TOP, Media("protobuf")),
    (KUBECTL_GET, Media("json", "v1")),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", Media("json", "v1beta1")),
    ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", Media("json")),
    ("application/json;pretty=1", Media("json", None, True)),
    ("text/html", None),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", None),
    ("text/html;q=0.9, application/vnd.kubernetes.protobuf", Media("protobuf")),
    ("*/*, application/json;q=0.5", Media("json")),
])
def test_negotiate_objects(accept: str | None, media: Media | None) -> None:
    assert negotiate(accept) == media


@pytest.mark.parametrize(("accept", "media"), [
    (KUBECTL_TOP, Media("protobuf")),
    (KUBECTL_GET, Media("json")),   # the Table clauses are skipped for a Status
    ("application/json;as=Table;v=v1;g=meta.k8s.io", None),   # → indented plain JSON
    ("text/html", None),
])
def test_negotiate_errors(accept: str, media: Media | None) -> None:
    assert negotiate_error(accept) == media


def test_accept_order_is_goautonegs() -> None:
    # goautoneg's Less: a higher q, or a concrete type where the other is a wildcard (even
    # with a lower q), sorts first; Go's insertion sort keeps the header's order otherwise
    clauses = parse_accept("*/*, text/plain;q=0.5, application/json, application/*")
    assert [(c.type, c.subtype) for c in clauses] == [
        ("application", "json"), ("application", "*"), ("text", "plain"), ("*", "*")]


@pytest.mark.parametrize(("query", "agent", "pretty"), [
    ({}, "kubectl/v1.30.0", False),
    ({"pretty": "true"}, "", True),
    ({"pretty": "1"}, "", True),
    ({"pretty": "false"}, "curl/8.5.0", False),
    ({"pretty": "yes"}, "curl/8.5.0", False),  # ParseBool fails: not pretty
    ({}, "curl/8.5.0", True),
    ({}, "Wget/1.21.4", True),
    ({}, "Mozilla/5.0 (X11; Linux x86_64)", True),
    ({}, "Mozilla/4.0", False),
])
def test_pretty(query: dict[str, str], agent: str, pretty: bool) -> None:
    assert is_pretty(query, agent) == pretty


# -- protobuf: bytes recorded from the real metrics-server --------------------------------------

EMPTY_NODE_LIST = ("6b3873000a290a166d6574726963732e6b38732e696f2f76316265746131120f4e6f64654d65"
                   "74726963734c69737412080a060a0012001a001a002200")
NOT_FOUND_NODE = ("6b3873000a0c0a027631120653746174757312490a060a0012001a0012074661696c757265"
                  "1a156e6f646520226e6f706522206e6f7420666f756e6422084e6f74466f756e642a120a04"
                  "6e6f706512001a046e6f6465280032003094031a002200")
NODE = ("6b3873000a250a166d6574726963732e6b38732e696f2f76316265746131120b4e6f64654d657472696373"
        "1290020acf010a08776f726b65722d3112001a0022002a0032003800420808f1b5bdd80610005a200a1762"
        "6574612e6b756265726e657465732e696f2f617263681205616d6436345a1e0a15626574612e6b75626572"
        "6e657465732e696f2f6f7312056c696e75785a1b0a126b756265726e657465732e696f2f61726368120561"
        "6d6436345a220a166b756265726e657465732e696f2f686f73746e616d651208776f726b65722d315a190a"
        "106b756265726e657465732e696f2f6f7312056c696e75785a0f0a04706f6f6c120767656e6572616c1208"
        "08dfd88bb00610001a060880acc7f03722140a03637075120d0a0b313330303033343030356e22140a066d"
        "656d6f7279120a0a083530303438304b691a002200")
POD = ("6b3873000a240a166d6574726963732e6b38732e696f2f76316265746131120a506f644d6574726963731284"
       "010a3f0a146170692d66706b646e7674626a622d38346c707012001a0764656661756c7422002a003200380042"
       "0808f1b5bdd80610005a0a0a036170701203617069120808dfd88bb00610001a060880acc7f037222f0a0361"
       "706912130a03637075120c0a0a3536393737353937386e12130a066d656d6f727912090a0736303535324b69"
       "1a002200")
CREATED, SAMPLED = 1796168433, 1711467615  # 2026-12-01T23:40:33Z, 2024-03-26T15:40:15Z
NODE_LABELS = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
               "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "worker-1",
               "kubernetes.io/os": "linux", "pool": "general"}


def test_protobuf_bytes_are_upstreams() -> None:
    empty = protobuf.envelope("metrics.k8s.io/v1beta1", "NodeMetricsList", protobuf.list_bytes([]))
    assert empty.hex() == EMPTY_NODE_LIST
    status = not_found("", "node", "nope")
    assert protobuf.envelope("v1", "Status", protobuf.status(status)).hex() == NOT_FOUND_NODE
    node = protobuf.node_metrics("worker-1", dict(reversed(NODE_LABELS.items())), CREATED,
                                 SAMPLED, 15 * 10**9, "1300034005n", "500480Ki")
    assert protobuf.envelope("metrics.k8s.io/v1beta1", "NodeMetrics", node).hex() == NODE
    pod = protobuf.pod_metrics("default", "api-fpkdnvtbjb-84lpp", {"app": "api"}, CREATED,
                               SAMPLED, 15 * 10**9, [("api", "569775978n", "60552Ki")])
    assert protobuf.envelope("metrics.k8s.io/v1beta1", "PodMetrics", pod).hex() == POD


def test_protobuf_zero_time_and_negative_numbers() -> None:
    # a pod whose containers all failed their rate: Go's zero time is an empty Time message
    pod = protobuf.pod_metrics("ns", "p", {}, CREATED, None, 0, [])
    assert b"\x12\x00\x1a\x02\x08\x00" in pod
    assert protobuf._varint(-1) == b"\xff" * 9 + b"\x01"  # int64 two's complement
