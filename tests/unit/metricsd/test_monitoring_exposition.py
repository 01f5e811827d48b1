"""Self-metrics: the six families, types, labels, HELP texts and Go-formatted bucket bounds."""

from prometheus_client.parser import text_string_to_metric_families

from metricsd.monitoring import CONTENT_TYPE, FAMILY_NAMES, SelfMetrics, tick_buckets

S = 1_000_000_000

FRESHNESS_LE = [
    "1", "1.364", "1.8604960000000004", "2.5377165440000007", "3.4614453660160014",
    "4.721411479245826", "6.440005257691307", "8.784167171490942", "11.981604021913647",
    "16.342907885890217", "22.291726356354257", "30.405914750067208", "41.47366771909167",
    "56.57008276884105", "77.16159289669919", "105.2484127110977", "143.55883493793726",
    "195.81425085534644", "267.09063816669254", "364.31163045936864", "+Inf",
]
DEFAULT_LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"]

HELP = {
    "metrics_server_manager_tick_duration_seconds":
        "[ALPHA] The total time spent collecting and storing metrics in seconds.",
    "metrics_server_kubelet_request_duration_seconds":
        "[ALPHA] Duration of requests to Kubelet API in seconds",
    "metrics_server_kubelet_request_total": "[ALPHA] Number of requests sent to Kubelet API",
    "metrics_server_kubelet_last_request_time_seconds":
        "[ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds",
    "metrics_server_api_metric_freshness_seconds": "[ALPHA] Freshness of metrics exported",
    "metrics_server_storage_points": "[ALPHA] Number of metrics points stored.",
}
TYPES = {
    "metrics_server_manager_tick_duration_seconds": "histogram",
    "metrics_server_kubelet_request_duration_seconds": "histogram",
    "metrics_server_kubelet_request_total": "counter",
    "metrics_server_kubelet_last_request_time_seconds": "gauge",
    "metrics_server_api_metric_freshness_seconds": "histogram",
    "metrics_server_storage_points": "gauge",
}


def le_strings(text: str, family: str) -> list[str]:
    prefix = family + "_bucket{"
    out = []
    for line in text.splitlines():
        if line.startswith(prefix):
            out.append(line.split('le="', 1)[1].split('"', 1)[0])
    return out


def populated() -> tuple[str, SelfMetrics]:
    m = SelfMetrics(15 * S, process_metrics=False)
    m.observe_kubelet_request("node-b", 0.02, True, 1689499780.7)
    m.observe_kubelet_request("node-a", 0.3, False, 1689499781.2)
    m.observe_tick(0.04)
    m.observe_freshness(3.0)
    m.set_storage_points(2, 0)
    body, ctype = m.exposition()
    assert ctype == CONTENT_TYPE
    return body.decode(), m


def test_exactly_six_families_with_types_and_help() -> None:
    text, _ = populated()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # the parser strips _total from counter family names
    names = {("metrics_server_kubelet_request_total" if n == "metrics_server_kubelet_request"
              else n) for n in families}
    assert names == set(FAMILY_NAMES)
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            assert HELP[name] == help_text
        if line.startswith("# TYPE "):
            name, type_ = line[7:].split(" ", 1)
            assert TYPES[name] == type_


def test_bucket_bounds_as_go_prints_them() -> None:
    text, _ = populated()
    assert le_strings(text, "metrics_server_api_metric_freshness_seconds") == FRESHNESS_LE
    assert le_strings(text, "metrics_server_manager_tick_duration_seconds") == [
        *DEFAULT_LE, "12.5", "15", "22.5", "30", "+Inf"]
    assert le_strings(text, "metrics_server_kubelet_request_duration_seconds") == (
        [*DEFAULT_LE, "+Inf"] * 2
    )


def test_parser_sees_the_same_values() -> None:
    text, _ = populated()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("metrics_server_kubelet_request_total", (("success", "true"),))] == 1
    assert samples[("metrics_server_kubelet_request_total", (("success", "false"),))] == 1
    assert samples[("metrics_server_kubelet_last_request_time_seconds",
                    (("node", "node-a"),))] == 1689499781
    assert samples[("metrics_server_storage_points", (("type", "container"),))] == 0
    assert samples[("metrics_server_manager_tick_duration_seconds_count", ())] == 1


def test_go_number_formatting_and_order() -> None:
    text, _ = populated()
    assert 'metrics_server_kubelet_last_request_time_seconds{node="node-a"} 1.689499781e+09' in text
    lines = text.splitlines()
    i = lines.index("metrics_server_manager_tick_duration_seconds_sum 0.04")
    assert lines[i + 1] == "metrics_server_manager_tick_duration_seconds_count 1"
    node_lines = [line for line in lines if line.startswith(
        "metrics_server_kubelet_request_duration_seconds_count")]
    assert node_lines[0].startswith(
        'metrics_server_kubelet_request_duration_seconds_count{node="node-a"}'
    )
    assert "_created" not in text


def test_before_first_use_only_tick_histogram() -> None:
    m = SelfMetrics(60 * S, process_metrics=False)
    text = m.exposition()[0].decode()
    families = [f.name for f in text_string_to_metric_families(text)]
    assert families == ["metrics_server_manager_tick_duration_seconds"]
    assert le_strings(text, families[0]) == [*DEFAULT_LE, "35", "60", "90", "120", "+Inf"]


def test_process_metrics_present() -> None:
    m = SelfMetrics(15 * S)
    text = m.exposition()[0].decode()
    assert "# TYPE process_resident_memory_bytes gauge" in text


def test_tick_buckets_rule() -> None:
    assert tick_buckets(10 * S) == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    assert tick_buckets(30 * S)[-4:] == [20, 30, 45, 60]
    assert tick_buckets(3 * S) == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10]
    assert 5.001 not in tick_buckets(5_001_000_000)  # within 0.005 of 5: not inserted


def test_repeated_requests_accumulate_and_series_appear_on_first_use() -> None:
    m = SelfMetrics(15 * S, process_metrics=False)
    for i in range(3):
        m.observe_kubelet_request("node-a", 0.01, True, 1689499780.0 + i)
    text = m.exposition()[0].decode()
    assert 'metrics_server_kubelet_request_total{success="true"} 3' in text
    assert 'success="false"' not in text  # no zero-valued series before a failure
    assert 'metrics_server_kubelet_request_duration_seconds_count{node="node-a"} 3' in text
    assert ('metrics_server_kubelet_last_request_time_seconds{node="node-a"} 1.689499782e+09'
            in text)
    m.observe_kubelet_request("node-a", 0.01, False, 1689499790.0)
    assert 'metrics_server_kubelet_request_total{success="false"} 1' in m.exposition()[0].decode()
