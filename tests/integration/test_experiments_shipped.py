"""Every shipped experiment (scenarios/experiments/*.yaml) meets the bounds of its expect:
blocks — the bounds are derived from what the HPA's algorithm must do (see the comments in
each file), so a failure here is a change in behaviour of the pipeline: metricsd, the
aggregation layer, the HPA controller, the workload pods or the load model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.experiment.bounds import check_bounds
from scenarios.experiment.cli import run_experiment
from scenarios.experiment.schema import load_experiment

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "scenarios" / "experiments").glob("*.yaml"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiment_meets_its_bounds(path: Path) -> None:
    exp = load_experiment(path)
    with open(os.devnull, "w") as quiet:
        results = run_experiment(exp, stream=quiet)
    failures = check_bounds({r.name: list(r.variant.bounds) for r in results},
                            {r.name: r.summary for r in results})
    assert [f.render() for f in failures] == []
    for r in results:  # a row at every sample instant, the last at the end
        assert r.rows[-1].time_s == exp.duration
        assert len(r.rows) == int(exp.duration / exp.sample_every) + 1
