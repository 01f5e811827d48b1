"""An experiment end to end on accelerated time: the CLI's outputs, exit status and progress,
and determinism — two runs of the same file and seed write byte-identical CSV, in one
process and in two processes with different hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.experiment.cli import run_experiment
from scenarios.experiment.schema import load_experiment
from scenarios.experiment.series import COLUMNS, write_csv

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SHORT = """\
name: short
description: a short noisy step, for determinism
duration: 150s
seed: {seed}
deployment:
  apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: web}}
  spec:
    selector: {{matchLabels: {{app: web}}}}
    template:
      metadata: {{labels: {{app: web}}}}
      spec:
        containers:
          - name: web
            image: example.com/web
            resources: {{requests: {{cpu: 200m}}, limits: {{cpu: 500m}}}}
hpa:
  apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {{name: web}}
  spec:
    scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
    maxReplicas: 6
    metrics:
      - type: Resource
        resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}
load:
  cores: {{type: steps, initial: 50m, steps: [{{atSeconds: 30, value: 400m}}]}}
  noise: 0.2
variants:
  - name: only
    expect:
      # 0.4 cores at 100m per pod need 4 pods (the noise moves it by one at most)
      peakReplicas: ">= 3"
      finalReplicas: "== 0"     # cannot hold (minReplicas is 1): the CLI must exit 1
"""


def csv_of(seed: int) -> str:
    exp = load_experiment(Path("short.yaml"), text=SHORT.format(seed=seed))
    (result,) = run_experiment(exp, stream=open(os.devnull, "w"))  # noqa: SIM115
    return write_csv(result.rows)


def test_two_runs_with_the_same_seed_write_byte_identical_csv() -> None:
    first, second, other = csv_of(3), csv_of(3), csv_of(4)
    lines = first.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 1 + 31  # 0, 5, ..., 150 s
    assert first == second
    assert other != first  # the seed draws the noise
    assert "SuccessfulRescale" in first


def test_the_cli_in_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT.format(seed=5))
    outs = []
    for hashseed in ("1", "2"):
        out = tmp_path / f"out-{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run(
            [sys.executable, "-m", "scenarios", "experiment", str(path), "--out", str(out),
             "--no-charts"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
            check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the impossible bound
        assert "[short/only] done: 150 simulated s in" in proc.stderr
        assert "FAIL [only] finalReplicas (final replicas) == 0: got " in proc.stdout
        assert "bounds: 1 of 2 held" in proc.stdout
        assert "charts: not drawn (--no-charts)" in (out / "report.html").read_text()
        assert sorted(p.name for p in out.iterdir()) == [
            "only.csv", "report.html", "summary.json", "summary.txt"]
        outs.append((out / "only.csv").read_bytes())
    assert outs[0] == outs[1]


def test_a_schema_error_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SHORT.format(seed=1).replace("maxReplicas: 6", "maxReplicas: six"))
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios", "experiment", str(path), "--out",
         str(tmp_path / "o")], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr == (f"experiment: {path}:24: hpa.spec.maxReplicas: expected an integer, "
                           "got the string 'six'\n")
    assert not (tmp_path / "o").exists()
