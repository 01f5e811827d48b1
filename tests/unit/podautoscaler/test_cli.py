"""``python -m podautoscaler explain``: the documented examples, JSON output, input errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from podautoscaler import explain, reconcile
from podautoscaler.cli import main

from .builders import COOL, NOW, horizontal_case, rules

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "podautoscaler.md"
EXAMPLE_BLOCK = re.compile(r"<!-- explain: (\S+) -->\n```text\n(.*?)```", re.DOTALL)


def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv), out, err)
    finally:
        if stdin is not None:
            sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def documented_examples() -> list[tuple[str, str]]:
    return EXAMPLE_BLOCK.findall(DOC.read_text())


def test_the_docs_show_three_worked_examples() -> None:
    assert [Path(p).name for p, _ in documented_examples()] == [
        "walkthrough-305-percent.yaml", "scale-down-stabilized.yaml", "unready-pods-damped.yaml"]


@pytest.mark.parametrize(("path", "expected"), documented_examples(),
                         ids=[Path(p).stem for p, _ in documented_examples()])
def test_documented_output_is_what_explain_prints(path: str, expected: str) -> None:
    code, out, err = run("explain", str(ROOT / path))
    assert (code, err) == (0, "")
    assert out == expected


@pytest.mark.parametrize(("path", "scale", "lines"), [
    ("walkthrough-305-percent.yaml", {"from": 1, "to": 4},
     ["ceil(6.1 × 1 ready pod(s)) = 7", "result: 4 (ScaleUpLimit)"]),
    ("scale-down-stabilized.yaml", None, ["ceil(0.4 × 5 ready pod(s)) = 2", "stabilized: 5"]),
    ("unready-pods-damped.yaml", {"from": 6, "to": 8},
     ["ceil(1.325 × 6 metric entries) = 8", "unready pods count as 0 on a scale-up"]),
], ids=["s8:305 percent", "s3-3:held by window", "s2-3:unready damped"])
def test_examples_decide_what_the_docs_say(path: str, scale: Any, lines: list[str]) -> None:
    case = yaml.safe_load((ROOT / "examples" / "hpa" / path).read_text())
    assert reconcile(case)["scale"] == scale
    _code, out, _ = run("explain", str(ROOT / "examples" / "hpa" / path))
    for line in lines:
        assert line in out


def test_json_output_is_the_reconcile_result() -> None:
    path = ROOT / "examples" / "hpa" / "walkthrough-305-percent.yaml"
    code, out, _ = run("explain", str(path), "--output", "json")
    assert code == 0
    result = json.loads(out)
    assert result["scale"] == {"from": 1, "to": 4}
    assert result["trace"]["metrics"][0]["calculation"]["first"]["utilization"] == 305
    assert result["trace"]["metricsTimestamp"] == "2025-06-01T11:59:51Z"


def test_help_has_examples() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "examples:" in out and "explain" in out
    code, out, _ = run("explain", "--help")
    assert code == 0
    assert "--output" in out and "walkthrough-305-percent.yaml" in out


def test_no_command_prints_help_and_fails() -> None:
    code, out, _ = run()
    assert code == 2
    assert "explain" in out


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    return str(path)


CASE_YAML = """\
now: "2025-06-01T12:00:00Z"
hpa:
  metadata: {name: web}
  spec:
    scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    minReplicas: 1
    maxReplicas: 4
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
scale: {spec: {replicas: 1}, status: {replicas: 1, selector: app=web}}
pods:
- metadata: {name: web-0, labels: {app: web}}
  spec: {containers: [{name: web, resources: {requests: {cpu: 100m}}}]}
  status:
    phase: Running
    startTime: "2025-06-01T11:00:00.123456789Z"
    conditions: [{type: Ready, status: "True", lastTransitionTime: "2025-06-01T11:00:10Z"}]
podMetrics:
- metadata: {name: web-0}
  timestamp: "2025-06-01T11:59:50Z"
  window: 15s
  containers: [{name: web, usage: {cpu: 80m}}]
"""


def test_a_minimal_case_file(tmp_path: Path) -> None:
    code, out, err = run("explain", write(tmp_path, CASE_YAML))
    assert (code, err) == (0, "")
    assert "Decision: scale 1 → 2" in out


def test_stdin(tmp_path: Path) -> None:
    code, out, _ = run("explain", "-", stdin=CASE_YAML)
    assert code == 0 and "scale 1 → 2" in out


@pytest.mark.parametrize(("change", "line", "message"), [
    (("minReplicas: 1", "minReplicas: 0"), 6,
     "hpa.spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
    (("averageUtilization: 50", "averageUtilization: 0"), 10,
     "hpa.spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be "
     "greater than 0"),
    (("cpu: 100m", "cpu: 1 core"), 14,
     "pods[0].spec.containers[0].resources.requests.cpu: quantities must match"),
    (('"2025-06-01T11:59:50Z"', '"yesterday"'), 21,
     "podMetrics[0].timestamp: expected an RFC 3339 time"),
    (("window: 15s", "window: fifteen"), 22,
     'podMetrics[0].window: time: invalid duration "fifteen"'),
    (("scale: {spec", "scale_: {spec"), 11, "scale_: unknown key; expected one of"),
    (("maxReplicas: 4", "maxReplicas: 4\n  extra: [unclosed"), None, "not valid YAML"),
], ids=["s3-1:validation", "s3-1:metric target", "quantity", "time", "duration", "unknown key",
        "yaml"])
def test_bad_input_is_one_line_with_file_line_and_path(tmp_path: Path,
                                                       change: tuple[str, str],
                                                       line: int | None, message: str) -> None:
    path = write(tmp_path, CASE_YAML.replace(*change, 1))
    code, out, err = run("explain", path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    where = f"{path}:{line}: " if line is not None else f"{path}:"
    assert err.startswith(f"explain: {where}"), err
    assert message in err


def test_validation_can_be_skipped_to_see_the_controllers_view(tmp_path: Path) -> None:
    path = write(tmp_path, CASE_YAML.replace("type: Resource\n      resource",
                                             "type: CheddarCheese\n      resource", 1))
    code, _, err = run("explain", path)
    assert code == 2 and 'Unsupported value: "CheddarCheese"' in err
    assert "(and 1 more)" in err  # upstream reports the unsupported type twice
    code, out, _ = run("explain", path, "--no-validate")
    assert code == 0
    assert 'unknown metric source type "CheddarCheese"' in out
    assert "InvalidMetricSourceType" in out


def test_missing_file(tmp_path: Path) -> None:
    code, _, err = run("explain", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.startswith(f"explain: {tmp_path / 'nope.yaml'}: cannot read the file")


def test_timestamps_keep_nanoseconds(tmp_path: Path) -> None:
    _code, out, _ = run("explain", write(tmp_path, CASE_YAML), "-o", "json")
    result = json.loads(out)
    assert result["trace"]["metrics"][0]["calculation"]["pods"][0]["group"] == "ready"


def test_module_entry_point_runs() -> None:
    path = ROOT / "examples" / "hpa" / "walkthrough-305-percent.yaml"
    proc = subprocess.run([sys.executable, "-m", "podautoscaler", "explain", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "Decision: scale 1 → 4" in proc.stdout


# ------------------------------------------------------------ rendering every branch


def rendered(c: dict[str, Any]) -> str:
    return explain.render(reconcile(c))


def test_render_failed_get_scale() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=2, cpu_target=50,
                        levels=[100, 100])
    c["scale"] = 'deployments.apps "web" not found'
    text = rendered(c)
    assert 'the scale could not be read: deployments.apps "web" not found' in text
    assert "FailedGetScale" in text


@pytest.mark.parametrize(("spec", "line"), [
    (0, "the target is scaled to 0, so the HPA does nothing (ScalingDisabled)"),
    (9, "above maxReplicas, so it is set to maxReplicas without reading metrics"),
    (1, "below minReplicas, so it is set to minReplicas without reading metrics"),
], ids=["zero", "above", "below"])
def test_render_range_branches(spec: int, line: str) -> None:
    c = horizontal_case(min_replicas=2, max_replicas=5, spec_replicas=spec, cpu_target=50,
                        levels=[], requests=[])
    assert line in rendered(c)


def test_render_behavior_path() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=100, spec_replicas=3, cpu_target=10,
                        levels=[100, 200, 300], requests=["0.1"] * 3,
                        scale_up=rules(4, 15, 100, 15, 0), scale_down=rules(0, 0, 10, 60, None))
    text = rendered(c)
    assert "Normalisation (spec.behavior)" in text
    assert "rate limits for scaling up (selectPolicy Max):" in text
    assert "Pods 4 pods per 15s: 3 at the period start" in text
    assert "Percent 100% per 15s" in text
    assert "(--horizontal-pod-autoscaler-downscale-stabilization)" in text


def test_render_failed_metric_and_partial_failure() -> None:
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30,
                        levels=[300, 400, 500], metrics=[{"type": "External", "external": {
                            "metric": {"name": "qps"}, "target": {"type": "Value",
                                                                   "value": "1"}}}])
    text = rendered(c)
    assert "error: unable to get external metric test-namespace/qps/nil:" in text
    assert "some metrics failed, but the highest valid proposal is not a scale-down" in text


def test_render_object_metric_and_missing_pods() -> None:
    obj = {"type": "Object", "object": {
        "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "web"},
        "metric": {"name": "rps"}, "target": {"type": "Value", "value": "10"}}}
    value = {"items": [{"describedObject": {"kind": "Service", "name": "web"},
                        "metric": {"name": "rps"}, "timestamp": NOW, "value": "30"}]}
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=2, cpu_target=50,
                        levels=[100], requests=["1", "1"], starts=[COOL, COOL], metrics=[obj],
                        customMetrics=value)
    text = rendered(c)
    assert "value 30 vs target 10: ratio 3" in text
    assert "missing pods count as 100% of their request" in text
    assert "Running and Ready pod(s)) = 6" in text
