"""Both servers' logs at ``--v=6``, phase by phase: start-up (the walkthrough's lines,
``Waiting for caches to sync`` / ``Caches are synced``, ``Adding GroupVersion …``), the
scrape cycle, the request-routing and ``"HTTP"`` lines of every query (and of kubectl through
the aggregation layer), each failure class, every kubelet failing, and shutdown.

Lines are compared as sets of distinct entries after the N rules (time, pid, latency, ids,
ports, map order, each server's own address and directory): how often a line shows depends on
how many cycles a server ran in a phase, which lines exist and what they say does not.
"""

from __future__ import annotations

import re

import pytest

from tests.differential.deviations import rule
from tests.differential.normalise import LogContext, log_lines, unexplained
from tests.differential.pair import FAILURES, METRICSD, SERVERS, UPSTREAM
from tests.differential.record import Recording

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("differential"),
              pytest.mark.timeout(900)]

LOG_PHASES = ("before", "one", "two", "kubectl", "failures", "all-failing", "stopped")

H = r"I <time> <pid> "  # an info line's normalised header
#: entries only the real one prints, each for its entry in docs/peer-deviations.md
rule("N8", "logs", H + r'tlsconfig\.go:178\] "Loaded client CA" index=0 certName="[^"]+" '
     r'certDetail="\\"\\" \[\] groups=\[front-proxy\] issuer=\\"<self>\\" \(<validity>\)"',
     only_in=UPSTREAM)
rule("D12", "logs", H + r'maxinflight\.go:1(16|20|39|45)\] "(Set denominator for (readonly|'
     r'mutating) requests" limit|Initialized (nonMutatingChan|mutatingChan)" len)=\d+',
     only_in=UPSTREAM)
rule("D12", "logs", H + r'timing_ratio_histogram\.go:203\] "TimingRatioHistogramVec\.'
     r'NewForLabelValuesSafe hit the inefficient case" fqName="apiserver_flowcontrol_read_vs_'
     r'write_current_requests" labelValues=\["executing","(readOnly|mutating)"\]',
     only_in=UPSTREAM)
rule("D12", "logs", H + r"config\.go:897\] Not requested to run hook "
     r"priority-and-fairness-config-consumer", only_in=UPSTREAM)
rule("D13", "logs", H + r'named_certificates\.go:53\] "Loaded SNI cert" index=0 '
     r'certName="self-signed loopback" certDetail="\\"apiserver-loopback-client@<unix>\\" '
     r'\[serving\] validServingFor=\[apiserver-loopback-client\] '
     r'issuer=\\"apiserver-loopback-client-ca@<unix>\\" \(<validity>\)"', only_in=UPSTREAM)
HTTP = (H + r'httplog\.go:132\] "HTTP" verb="GET" URI="{uri}" latency="<d>" '
        r'userAgent="Python/3\.11 aiohttp/[\d.]+" audit-ID="<uuid>" '
        r'srcIP="127\.0\.0\.1:<port>" resp={resp}')
for uri, entry in (("/openapi/v3", "D10"), ("/debug/pprof/", "D11")):
    rule(entry, "logs", HTTP.format(uri=re.escape(uri), resp="200"), only_in=UPSTREAM)
    rule(entry, "logs", HTTP.format(uri=re.escape(uri), resp="404"), only_in=METRICSD)
rule("D11", "logs", H + r'pathrecorder\.go:248\] metrics-server: "/debug/pprof/" satisfied by '
     r"prefix /debug/pprof/", only_in=UPSTREAM)
rule("D11", "logs", H + r'pathrecorder\.go:254\] metrics-server: "/debug/pprof/" satisfied by '
     r"NotFoundHandler", only_in=METRICSD)
rule("N10", "logs", H + r"reflector\.go:295\] Stopping reflector \*v1\.\w+ \((0s|12h0m0s)\) "
     r"from k8s\.io/client-go@v0\.29\.2/tools/cache/reflector\.go:229", only_in=METRICSD)
#: N9, in the kubectl phase only: what falls into it by timing (the aggregator's discovery
#: fetch, to whichever server it points at; a scrape cycle), compared in the other phases
CYCLE = (H + r'(server\.go:1(36|39|44)\] "(Scraping metrics|Storing metrics|Scraping cycle '
         r'complete)"|scraper\.go:1(21|43|82)\] "(Scraping metrics from nodes|Scraping node|'
         r'Scrape finished)" .*|round_trippers\.go:553\] GET https://[\d.]+:10250/metrics/'
         r'resource .*)')
AGGREGATOR_FETCH = [rule("N9", "logs", CYCLE, only_in=server) for server in SERVERS] + [
    rule("N9", "logs", H + r'handler\.go:143\] metrics-server: GET "/apis/metrics\.k8s\.io/'
         r'v1beta1" satisfied by gorestful with webservice /apis/metrics\.k8s\.io/v1beta1',
         only_in=server) for server in SERVERS] + [
    rule("N9", "logs", HTTP.format(uri="/apis/metrics\\.k8s\\.io/v1beta1", resp="200"),
         only_in=server) for server in SERVERS]
rule("D14", "logs", H + r'object_count_tracker\.go:151\] "StorageObjectCountTracker pruner '
     r'is exiting"', only_in=UPSTREAM)
rule("D14", "logs", H + r"streamwatcher\.go:114\] Unable to decode an event from the watch "
     r"stream: read tcp 127\.0\.0\.1:<port>->127\.0\.0\.1:\d+: use of closed network "
     r"connection", only_in=UPSTREAM)


def lines(recording: Recording, server: str, text: str) -> set[str]:
    info = recording.servers[server]
    return log_lines(text, LogContext(info["address"], info["cert_dir"]))


def one_sided(recording: Recording, texts: dict[str, str],
              phase: str = "") -> dict[str, list[str]]:
    ours = lines(recording, METRICSD, texts[METRICSD])
    theirs = lines(recording, UPSTREAM, texts[UPSTREAM])
    left = unexplained({METRICSD: ours - theirs, UPSTREAM: theirs - ours}, "logs",
                       exclude=() if phase == "kubectl" else AGGREGATOR_FETCH)
    return left


@pytest.mark.parametrize("phase", LOG_PHASES)
def test_log_lines(recording: Recording, phase: str) -> None:
    texts = (recording.kubectl_logs if phase == "kubectl" and recording.kubectl_logs
             else recording.logs[phase])
    assert one_sided(recording, texts, phase) == {METRICSD: [], UPSTREAM: []}, (
        f"{phase}: entries only one server printed (metricsd lacks the metrics-server ones)")


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failure_class(recording: Recording, failure: str) -> None:
    node, _ = FAILURES[failure]
    mentions = re.compile(rf'node="{node}"')
    texts = {}
    for server in SERVERS:
        texts[server] = "".join(
            entry + "\n" for entry in recording.logs["failures"][server].splitlines(True)
            if mentions.search(entry))
    theirs = lines(recording, UPSTREAM, texts[UPSTREAM])
    assert theirs, f"metrics-server logged nothing about {node} ({failure})"
    assert lines(recording, METRICSD, texts[METRICSD]) == theirs


def test_sigterm_ends_both_alike(recording: Recording) -> None:
    assert recording.exit_status[METRICSD] == recording.exit_status[UPSTREAM] == 0
