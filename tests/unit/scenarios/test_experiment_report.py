"""What an experiment writes (CSV, summary table, HTML, PNG), from a made-up result: no
simulation needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scenarios.experiment import charts, cli
from scenarios.experiment.bounds import check_bounds, parse_bound
from scenarios.experiment.result import EventRecord, VariantResult
from scenarios.experiment.schema import load_experiment
from scenarios.experiment.series import COLUMNS, Row, read_csv, samples_of, write_csv
from scenarios.experiment.summary import ScaleEvent, summarize
from scenarios.experiment.table import render

REPO = Path(__file__).resolve().parents[3]
EXP = load_experiment(REPO / "scenarios" / "experiments" / "php-apache.yaml")


def row(t: float, demand: float, ready: int, replicas: int, util: int | None,
        events: str = "") -> Row:
    return Row(t, demand, 0.5 * ready, 7 if demand else 0, replicas, ready,
               demand / ready + 0.001 if ready else None, demand / ready + 0.001 if ready
               else None, util, None if util is None else util / 100 * 0.2, replicas,
               replicas, replicas, "AbleToScale=True:ReadyForNewScale", events)


ROWS = [row(0, 0.0, 1, 1, None), row(60, 0.61, 1, 1, 0),
        row(90, 0.61, 4, 4, 250, "Normal SuccessfulRescale: New size: 4; reason: cpu, above"),
        row(600, 0.0, 7, 7, 43), row(930, 0.0, 1, 1, 0)]
EVENTS = [ScaleEvent(90, 1, 4), ScaleEvent(135, 4, 7), ScaleEvent(930, 7, 1)]


def result() -> VariantResult:
    return VariantResult(EXP.variants[0], ROWS, EVENTS, [
        EventRecord(90, "Normal", "SuccessfulRescale", "HorizontalPodAutoscaler/php-apache",
                    "New size: 4; reason: cpu resource utilization (percentage of request) "
                    "above target", "horizontal-pod-autoscaler")],
        summarize(samples_of(ROWS), EVENTS, 1200))


def test_csv_columns_and_round_trip() -> None:
    text = write_csv(ROWS)
    lines = text.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1] == "0.000,0.000000,0.500000,0,1,1,0.001000,0.001000,,,1,1,1," \
                       "AbleToScale=True:ReadyForNewScale,"
    assert '"Normal SuccessfulRescale: New size: 4; reason: cpu, above"' in lines[3]
    back = read_csv(text)  # fixed precision: the text is what round-trips
    assert write_csv(back) == text and back[2].events == ROWS[2].events


def test_read_csv_refuses_other_files() -> None:
    with pytest.raises(ValueError, match="not an experiment CSV"):
        read_csv("elapsed_s,pod\n1,a\n")


def test_the_table() -> None:
    text = render({"walkthrough": result().summary, "other": summarize(samples_of(ROWS), [],
                                                                        1200)})
    lines = text.splitlines()
    assert lines[0].split() == ["walkthrough", "other"]
    assert re.fullmatch(r"first scale-up at +90 s +never", lines[2])
    assert re.fullmatch(r"peak replicas +7 +7", lines[5])
    assert re.fullmatch(r"pod-seconds over-provisioned \(pod·s\) +\d+ +\d+", lines[7])


def test_outputs_with_charts(tmp_path: Path) -> None:
    if not charts.available():
        pytest.skip("matplotlib (the [plots] extra) is not installed")
    r = result()
    failures = check_bounds({r.name: [parse_bound("peakReplicas", "<= 6")]}, {r.name: r.summary})
    notes = cli.write_outputs(EXP, [r], tmp_path, failures)
    assert notes == []
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["replicas.png", "report.html", "summary.json", "summary.txt",
                     "utilization.png", "walkthrough.csv"]
    for png in ("replicas.png", "utilization.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2
    assert not re.search(r'(src|href)="(https?:)?//', html)  # self-contained
    assert "every bound held" not in html and "bounds failed" in html
    assert "New size: 4; reason: cpu resource utilization" in html
    assert "averageUtilization: 50" in html  # the HPA as configured
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["walkthrough"]["peak_replicas"] == 7
    assert "peak replicas" in (tmp_path / "summary.txt").read_text()


def test_outputs_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "available", lambda: False)
    notes = cli.write_outputs(EXP, [result()], tmp_path, [])
    assert notes == [cli.NO_PLOTS]
    assert "pip install -e '.[plots]'" in cli.NO_PLOTS
    assert not list(tmp_path.glob("*.png"))
    html = (tmp_path / "report.html").read_text()
    assert "matplotlib is not installed" in html and "every bound held" in html
    assert (tmp_path / "walkthrough.csv").read_text() == write_csv(ROWS)


def test_bounds_naming_a_variant_that_did_not_run_are_skipped() -> None:
    exp = load_experiment(REPO / "scenarios" / "experiments" / "spike-fast-scale-up.yaml")
    fast = exp.variant("fast")
    r = VariantResult(fast, ROWS, EVENTS, [], summarize(samples_of(ROWS), EVENTS, 1200))
    kept = cli._bounds_of([r])["fast"]  # as with --variant fast
    assert kept and all(b.variant is None for b in kept)
    assert len(kept) < len(fast.bounds)
