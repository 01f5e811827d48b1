"""``python -m scenarios experiment FILE --out DIR``: run an experiment, write its report.

Each variant runs in turn on accelerated time; while it runs the terminal shows where it is
(simulated seconds out of the duration, the replicas, the speed): one live line on a
terminal, a line every 5 s otherwise (``scenarios.progress``). Then the summary table, the
bounds, and what was written:

``DIR/<variant>.csv``     the time series (docs/experiments.md, "The CSV")
``DIR/replicas.png``      replicas and capacity against demand, variants overlaid
``DIR/utilization.png``   the utilization the HPA saw against its target
``DIR/report.html``       everything above in one self-contained file
``DIR/summary.txt``       the summary table and the bounds, as printed
``DIR/summary.json``      the summary figures per variant (machine-readable)

Exit status: 0 every bound held, 1 a bound failed, 2 the file (or a flag) is invalid,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from scenarios.experiment import charts, htmlreport
from scenarios.experiment.bounds import Bound, BoundFailure, check_bounds
from scenarios.experiment.result import VariantResult
from scenarios.experiment.schema import Experiment, load_experiment
from scenarios.experiment.series import write_csv
from scenarios.experiment.table import render
from scenarios.progress import Progress
from scenarios.yamlschema import SchemaError

__all__ = ["add_parser", "main", "run_experiment"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NO_PLOTS = ("charts: matplotlib is not installed, so no PNG was drawn (the CSV and the HTML "
            "report are complete without them); install the extra, in the repository: "
            "pip install -e '.[plots]'")

EXAMPLES = """\
examples:
  python -m scenarios experiment scenarios/experiments/php-apache.yaml --out out/php-apache
  python -m scenarios experiment my-hpa.yaml --out out/mine --variant fast-scale-up
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "experiment", help="run an HPA experiment file: CSV, charts, HTML report, summary",
        description="Run each variant of an HPA experiment on accelerated time and write "
        "its time series, charts, an HTML report and the summary table (docs/experiments.md).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, help="experiment YAML file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="directory for the CSVs, charts and report (created)")
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="run only this variant (repeatable); bounds naming others are skipped")
    p.add_argument("--no-charts", action="store_true", help="do not draw PNG charts")
    return p


class _Shown:
    """Progress of the variant running now, through scenarios.progress's display."""

    def __init__(self, display: Progress, exp: Experiment) -> None:
        self.display = display
        self.exp = exp
        self.began = time.perf_counter()
        self.last_draw = 0.0

    def begin(self, name: str) -> None:
        self.began = time.perf_counter()
        self.display.waiting(name, f"[{self.exp.name}/{name}]",
                             f"{self.exp.duration:g} simulated s")

    def __call__(self, name: str, t: float, replicas: int) -> None:
        now = time.perf_counter()
        if self.display.live and now - self.last_draw < 0.2 and t < self.exp.duration:
            return
        self.last_draw = now
        wall = now - self.began
        speed = f", {t / wall:.0f}x" if wall > 0 else ""
        self.display.observed(name, f"{t:.0f}/{self.exp.duration:g} s simulated "
                                    f"({100 * t / self.exp.duration:.0f} %), "
                                    f"{replicas} replicas{speed}")
        self.display.tick()

    def end(self, result: VariantResult) -> None:
        self.display.done(result.name)
        wall = result.wall_seconds
        self.display.line(
            f"[{self.exp.name}/{result.name}] done: {self.exp.duration:g} simulated s in "
            f"{wall:.1f} s wall ({self.exp.duration / wall:.0f}x, {result.cpu_seconds:.1f} s "
            f"CPU), {result.summary.scale_events} rescales, peak "
            f"{result.summary.peak_replicas} replicas")


def run_experiment(exp: Experiment, names: Sequence[str] = (),
                   stream: TextIO | None = None) -> list[VariantResult]:
    """Run the chosen variants (all by default) one after another, showing progress."""
    from scenarios.experiment.run import run_variant

    display = Progress(stream if stream is not None else sys.stderr)
    shown = _Shown(display, exp)
    results = []
    try:
        for variant in exp.variants:
            if names and variant.name not in names:
                continue
            shown.begin(variant.name)
            result = run_variant(exp, variant, shown)
            shown.end(result)
            results.append(result)
    finally:
        display.close()
    return results


def _bounds_of(results: Sequence[VariantResult]) -> dict[str, list[Bound]]:
    names = {r.name for r in results}
    return {r.name: [b for b in r.variant.bounds if b.variant is None or b.variant in names]
            for r in results}


def _bounds_text(results: Sequence[VariantResult], failures: Sequence[BoundFailure]) -> str:
    total = sum(len(b) for b in _bounds_of(results).values())
    if not total:
        return "bounds: none in the file\n"
    lines = [f"bounds: {total - len(failures)} of {total} held"]
    lines += ["  FAIL " + f.render() for f in failures]
    return "\n".join(lines) + "\n"


def write_outputs(exp: Experiment, results: Sequence[VariantResult], out: Path,
                  failures: Sequence[BoundFailure], draw: bool = True) -> list[str]:
    """Write the files of the module docstring; returns notes for the terminal."""
    out.mkdir(parents=True, exist_ok=True)
    notes = []
    for r in results:
        (out / f"{r.name}.csv").write_text(write_csv(r.rows))
    images: dict[str, bytes] = {}
    note = ""
    if draw and charts.available():
        images = charts.draw(exp.name, results, exp.duration)
        for name, data in images.items():
            (out / name).write_bytes(data)
    elif draw:
        note = NO_PLOTS
        notes.append(NO_PLOTS)
    else:
        note = "charts: not drawn (--no-charts)"
    summaries = {r.name: r.summary for r in results}
    table = render(summaries)
    (out / "summary.txt").write_text(table + "\n" + _bounds_text(results, failures))
    (out / "summary.json").write_text(json.dumps(
        {name: asdict(s) for name, s in summaries.items()}, indent=2) + "\n")
    (out / "report.html").write_text(htmlreport.render(exp, results, failures, images, note))
    return notes


def main(args: argparse.Namespace, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    try:
        exp = load_experiment(args.file)
    except SchemaError as err:
        print(f"experiment: {err}", file=err_stream)
        return EXIT_USAGE
    known = {v.name for v in exp.variants}
    unknown = [n for n in args.variant if n not in known]
    if unknown:
        print(f"experiment: --variant {unknown[0]}: no such variant in {args.file} (have: "
              f"{', '.join(sorted(known))})", file=err_stream)
        return EXIT_USAGE
    try:
        results = run_experiment(exp, args.variant, err_stream)
    except KeyboardInterrupt:
        print("experiment: interrupted; nothing written", file=err_stream)
        return 130
    failures = check_bounds(_bounds_of(results), {r.name: r.summary for r in results})
    notes = write_outputs(exp, results, args.out, failures, draw=not args.no_charts)
    out_stream.write(f"\n{exp.name}: {exp.description}\n\n")
    out_stream.write(render({r.name: r.summary for r in results}) + "\n")
    out_stream.write(_bounds_text(results, failures))
    for note in notes:
        out_stream.write(note + "\n")
    out_stream.write(f"wrote {args.out}/report.html, {len(results)} CSV(s), summary.txt, "
                     "summary.json\n")
    out_stream.flush()
    return EXIT_FAILED if failures else EXIT_OK
