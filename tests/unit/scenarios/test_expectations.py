"""The matchers behind `expect:` report what was wanted and what was seen."""

from __future__ import annotations

import pytest

from scenarios.expectations import check_json, check_metrics, check_text, metric_value

EXPOSITION = """\
# HELP metrics_server_kubelet_request_total [ALPHA] Number of requests sent to Kubelet API
# TYPE metrics_server_kubelet_request_total counter
metrics_server_kubelet_request_total{success="false"} 4
metrics_server_kubelet_request_total{success="true"} 10
# HELP metrics_server_storage_points [ALPHA] Number of metrics points stored.
# TYPE metrics_server_storage_points gauge
metrics_server_storage_points{type="node"} 3
metrics_server_storage_points{type="container"} 12
"""


def test_equals_gives_a_diff() -> None:
    [failure] = check_text("stdout", {"equals": "a\nb\n"}, "a\nc\n")
    assert failure.expected == "exactly 'a\\nb\\n'"
    assert "-b" in failure.diff and "+c" in failure.diff
    assert check_text("stdout", {"equals": "a\nb"}, "a\nb\n") == []


def test_contains_not_contains_regex() -> None:
    text = "error: Metrics API not available\n"
    assert check_text("stderr", {"contains": ["Metrics API not available"]}, text) == []
    [f] = check_text("stderr", {"notContains": ["error"]}, text)
    assert f.expected == "not to contain 'error'"
    assert check_text("stderr", {"regex": r"^error: .* available$"}, text) == []
    [f] = check_text("stderr", {"regex": r"^Error from server"}, text)
    assert f.expected == "to match /^Error from server/"
    # a list: every pattern must match, each miss is its own failure
    assert check_text("stderr", {"regex": [r"^error:", r"available$"]}, text) == []
    [f] = check_text("stderr", {"regex": [r"^error:", r"^Error", r"available$"]}, text)
    assert f.expected == "to match /^Error/"


def test_json_paths() -> None:
    doc = {"items": [{"metadata": {"name": "n1"}, "usage": {"cpu": "175m"}}]}
    assert check_json({"items.0.metadata.name": "n1", "items.length": 1}, doc) == []
    [f] = check_json({"items.0.usage.cpu": "176m"}, doc)
    assert (f.expected, f.actual) == ("'176m'", "'175m'")
    [f] = check_json({"items.3.usage": 1}, doc)
    assert f.actual == "nothing at that path"


def test_metric_value_sums_matching_series() -> None:
    assert metric_value(EXPOSITION, "metrics_server_kubelet_request_total") == 14
    assert metric_value(EXPOSITION, 'metrics_server_kubelet_request_total{success="false"}') == 4
    assert metric_value(EXPOSITION, "nope") is None
    with pytest.raises(ValueError):
        metric_value(EXPOSITION, "bad selector{")


def test_check_metrics() -> None:
    ok = {'metrics_server_kubelet_request_total{success="false"}': ">= 1",
          'metrics_server_storage_points{type="node"}': "== 3"}
    assert check_metrics(ok, EXPOSITION) == []
    [f] = check_metrics({"metrics_server_storage_points": "< 10"}, EXPOSITION)
    assert (f.expected, f.actual) == ("< 10", "15")
    [f] = check_metrics({"absent_total": ">= 1"}, EXPOSITION)
    assert f.actual == "no such series"
