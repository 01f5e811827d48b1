"""klog text and JSON line shapes, Go value rendering, verbosity gating."""

import io
import json
import re
from datetime import datetime

import pytest

from metricsd import klog
from metricsd.klog import GoDuration, Logger, ObjectRef, Raw, go_format_float, go_quote

TS = datetime(2023, 7, 16, 9, 29, 40, 218833).timestamp()  # local time, as klog prints
LINE_RE = re.compile(r"^[IWE]\d{4} \d{2}:\d{2}:\d{2}\.\d{6} {1,7}\d+ [\w.]+:\d+\] ")


def make(**kw: object) -> tuple[Logger, io.StringIO]:
    buf = io.StringIO()
    return Logger(stream=buf, now=lambda: TS, pid=1, **kw), buf  # type: ignore[arg-type]


def test_error_line_exact() -> None:
    log, buf = make()
    log.error("Failed to scrape node",
              err='Get "https://172.21.0.2:10250/metrics/resource": tls: failed to verify '
                  "certificate: x509: cannot validate certificate for 172.21.0.2 because it "
                  "doesn't contain any IP SANs",
              node=ObjectRef("", "sven-test-control-plane"))
    assert buf.getvalue() == (
        'E0716 09:29:40.218833       1 scraper.go:149] "Failed to scrape node" '
        'err="Get \\"https://172.21.0.2:10250/metrics/resource\\": tls: failed to verify '
        "certificate: x509: cannot validate certificate for 172.21.0.2 because it doesn't "
        'contain any IP SANs" node="sven-test-control-plane"\n'
    )


def test_info_line_with_list_and_numbers() -> None:
    log, buf = make(verbosity=1)
    log.info("Scraping metrics from nodes", v=1, nodes=["sven-test-control-plane"],
             nodeCount=1, nodeSelector="")
    assert buf.getvalue() == (
        'I0716 09:29:40.218833       1 scraper.go:121] "Scraping metrics from nodes" '
        'nodes=["sven-test-control-plane"] nodeCount=1 nodeSelector=""\n'
    )


def test_failed_probe_with_durations() -> None:
    log, buf = make()
    log.info("Failed probe", probe="metric-collection-timely",
             err="metric collection didn't finish on time",
             duration=GoDuration(23_500_000_000), maxDuration=GoDuration(22_500_000_000),
             at="server/server.go:179")
    assert buf.getvalue().endswith(
        '] "Failed probe" probe="metric-collection-timely" '
        'err="metric collection didn\'t finish on time" duration="23.5s" maxDuration="22.5s"\n'
    )
    assert " server.go:179] " in buf.getvalue()


def test_printf_style_and_dashed_keys() -> None:
    log, buf = make(verbosity=3)
    log.infof("Generated self-signed cert (/tmp/apiserver.crt, /tmp/apiserver.key)",
              at="options/serving.go:374")
    log.info("HTTP", "verb", "LIST", "URI", "/apis/metrics.k8s.io/v1beta1/nodes",
             "latency", GoDuration(715296), "audit-ID", "49200f6f", "resp", 200, v=3)
    first, second = buf.getvalue().splitlines()
    assert first == (
        "I0716 09:29:40.218833       1 serving.go:374] Generated self-signed cert "
        "(/tmp/apiserver.crt, /tmp/apiserver.key)"
    )
    assert second.endswith(
        '"HTTP" verb="LIST" URI="/apis/metrics.k8s.io/v1beta1/nodes" latency="715.296µs" '
        'audit-ID="49200f6f" resp=200'
    )
    assert " httplog.go:132] " in second


def test_error_without_err_and_raw_values() -> None:
    log, buf = make()
    log.error("Got duplicate pod point", pod=ObjectRef("ns", "p"))
    log.info("Failed getting complete node metric", node="n", metric=Raw('{"MemoryUsage":0}'))
    lines = buf.getvalue().splitlines()
    assert lines[0].endswith('] "Got duplicate pod point" pod="ns/p"')
    assert lines[1].endswith('metric={"MemoryUsage":0}')


def test_multiline_value() -> None:
    log, buf = make()
    log.info("msg", err="a\nb")
    assert buf.getvalue().endswith('"msg" err=<\n\ta\n\tb\n >\n')


def test_header_shape_and_pid_column() -> None:
    buf = io.StringIO()
    Logger(stream=buf, pid=12345).info("x", at="a/b.go:7")
    assert LINE_RE.match(buf.getvalue())
    assert "   12345 b.go:7] " in buf.getvalue()


def test_python_caller_when_unknown() -> None:
    log, buf = make()
    log.info("something new")
    assert re.search(r" test_klog_lines\.py:\d+\] \"something new\"", buf.getvalue())


@pytest.mark.parametrize(("verbosity", "printed"), [(0, []), (1, [1]), (5, [1, 2, 5])])
def test_verbosity_gating(verbosity: int, printed: list[int]) -> None:
    log, buf = make(verbosity=verbosity)
    for level in (1, 2, 5, 6):
        log.info(f"level {level}", v=level)
    assert [int(line.rsplit(" ", 1)[1][:-1]) for line in buf.getvalue().splitlines()] == printed


def test_errors_are_never_gated() -> None:
    log, buf = make(verbosity=0)
    log.error("boom", err="x")
    assert buf.getvalue().startswith("E")


def test_vmodule() -> None:
    log, buf = make(verbosity=0, vmodule=[("scraper", 2)])
    log.info("Scraping node", v=2, node="n1")  # scraper.go
    log.info("Scraping metrics", v=2)  # server.go: gated
    assert buf.getvalue().count("\n") == 1
    assert "Scraping node" in buf.getvalue()
    assert log.enabled(2, "scraper/scraper.go:143")
    assert not log.enabled(3, "scraper/scraper.go:143")


def test_json_format() -> None:
    log, buf = make(fmt="json")
    log.info("Failed probe", probe="metric-storage-ready", err="no metrics to serve",
             at="server/server.go:191")
    log.error("Failed to scrape node", err="boom", node=ObjectRef("", "n1"))
    info, err = (json.loads(line) for line in buf.getvalue().splitlines())
    assert info == {"ts": pytest.approx(TS * 1000), "caller": "server/server.go:191",
                    "msg": "Failed probe", "v": 0, "probe": "metric-storage-ready",
                    "err": "no metrics to serve"}
    assert list(err) == ["ts", "caller", "msg", "err", "node"]
    assert err["caller"] == "scraper/scraper.go:149"


def test_logfn_adapter_levels_and_sites() -> None:
    log, buf = make(verbosity=1)
    scraper_log = log.logfn(0)
    storage_log = log.logfn(1)
    scraper_log(-1, "Got duplicate node point", node="n1")
    storage_log(-1, "Skipping node usage metric", err="unexpected decrease", node="n1")
    storage_log(-1, "Got duplicate node point", node="n1")
    scraper_log(2, "Scraping node", node="n1")  # gated at -v=1
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3
    assert " scraper.go:168] " in lines[0]
    assert lines[1].endswith('node.go:54] "Skipping node usage metric" '
                             'err="unexpected decrease" node="n1"')
    assert " node.go:76] " in lines[2]


def test_capture_global_logger() -> None:
    with klog.capture(verbosity=6) as buf:
        klog.info("Scraping metrics", v=6)
    assert '"Scraping metrics"' in buf.getvalue()
    assert klog.logger.verbosity == 0


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("plain", '"plain"'), ('a"b', '"a\\"b"'), ("tab\t", '"tab\\t"'), ("\x01", '"\\x01"'),
     ("µs", '"µs"'), ("back\\slash", '"back\\\\slash"')],
)
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.005, "0.005"), (12.5, "12.5"), (1e6, "1e+06"), (123456.0, "123456"),
     (1689499780.0, "1.68949978e+09"), (-62135596800.0, "-6.21355968e+10"), (1e-05, "1e-05"),
     (0.0001, "0.0001"), (1.8604960000000004, "1.8604960000000004"), (0.0, "0")],
)
def test_go_format_float(value: float, text: str) -> None:
    assert go_format_float(value) == text


def test_http_request_line() -> None:
    log, buf = make(verbosity=2)
    args = ("LIST", "/apis/metrics.k8s.io/v1beta1/nodes", 715296,
            "kubectl/v1.26.0 (linux/amd64) kubernetes/b46a3f8",
            "49200f6f-771b-427e-bdde-02991f159013", "10.244.0.1:25364", 200)
    log.http_request(*args)
    assert buf.getvalue() == ""
    log.configure(verbosity=3)
    log.http_request(*args)
    assert buf.getvalue() == (
        'I0716 09:29:40.218833       1 httplog.go:132] "HTTP" verb="LIST" '
        'URI="/apis/metrics.k8s.io/v1beta1/nodes" latency="715.296µs" '
        'userAgent="kubectl/v1.26.0 (linux/amd64) kubernetes/b46a3f8" '
        'audit-ID="49200f6f-771b-427e-bdde-02991f159013" srcIP="10.244.0.1:25364" resp=200\n'
    )


def test_python_logging_is_routed_as_one_klog_line_each() -> None:
    import logging
    import warnings

    from metricsd import klog as klog_module

    stream = io.StringIO()
    target = klog_module.Logger(stream=stream, verbosity=4)
    root = logging.getLogger()
    saved = list(root.handlers)
    klog_module.route_python_logging(target)
    try:
        try:
            raise ValueError("bad record\nsecond line")
        except ValueError:
            logging.getLogger("asyncio").exception("Fatal error on transport")
        logging.getLogger("aiohttp.server").warning("odd %s", "input")
        logging.getLogger("x").info("detail")  # below the root logger's WARNING: dropped
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("old API", DeprecationWarning, stacklevel=1)
    finally:
        root.handlers[:] = saved
        logging.captureWarnings(False)
    text = stream.getvalue()
    assert "Traceback" not in text
    # a multi-line error is klog's multi-line value block, as klog prints one
    first, text = text.split("\n", 1)
    assert first.startswith("E") and first.endswith('] "Fatal error on transport" err=<')
    block, text = text.split("\n", 3)[:3], text.split("\n", 3)[3]
    assert block == ["\tValueError: bad record", "\tsecond line", ' > logger="asyncio"']
    lines = text.splitlines()
    assert lines[0].startswith("W") and lines[0].endswith(
        '] "odd input" logger="aiohttp.server"')
    assert lines[1].startswith("W") and 'logger="py.warnings"' in lines[1]
    assert "DeprecationWarning: old API" in lines[1]
    assert len(lines) == 2
