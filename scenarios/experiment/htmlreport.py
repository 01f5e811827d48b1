"""The self-contained HTML report: one file, nothing fetched (charts inline as data: URIs).

Sections: the summary table and the bounds, the charts (or a note saying how to get them),
the configurations side by side (each variant's HPA, the controller flags and metricsd
settings it ran with, its Deployment when it differs from the first variant's), and each
variant's events as ``kubectl describe hpa`` would list them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

import yaml

from scenarios.experiment.bounds import BoundFailure
from scenarios.experiment.result import VariantResult
from scenarios.experiment.schema import Experiment
from scenarios.experiment.table import rows as table_rows

__all__ = ["render"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0} th,td{border:1px solid #ddd;padding:.3em .6em;
vertical-align:top;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f5f5f5} pre{margin:0;font-size:.82em;white-space:pre-wrap}
.ok{color:#1a7f37} .fail{color:#cf222e;font-weight:600} .note{color:#666}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _yaml(obj: object) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False).rstrip()


def _summary(results: Sequence[VariantResult]) -> str:
    table = table_rows({r.name: r.summary for r in results})
    head = "".join(f"<th>{_esc(c)}</th>" for c in table[0])
    body = "".join("<tr><th>" + _esc(r[0]) + "</th>" +
                   "".join(f'<td class="num">{_esc(c)}</td>' for c in r[1:]) + "</tr>"
                   for r in table[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _bounds(results: Sequence[VariantResult], failures: Sequence[BoundFailure]) -> str:
    failed = {(f.variant, f.bound) for f in failures}
    items = []
    for r in results:
        for b in r.variant.bounds:
            bad = (r.name, b) in failed
            mark = '<span class="fail">FAIL</span>' if bad else '<span class="ok">ok</span>'
            detail = next((f" — got {_esc(f.actual)}, bound {_esc(f.limit)}"
                           for f in failures if (f.variant, f.bound) == (r.name, b)), "")
            items.append(f"<li>{mark} [{_esc(r.name)}] <code>{_esc(b.key)} "
                         f"{_esc(b.text)}</code>{detail}</li>")
    if not items:
        return '<p class="note">No bounds (no <code>expect:</code> in the file).</p>'
    return "<ul>" + "".join(items) + "</ul>"


def _charts(charts: Mapping[str, bytes], note: str) -> str:
    if not charts:
        return f'<p class="note">{_esc(note)}</p>'
    out = []
    for name, data in charts.items():
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        out.append(f'<figure><img alt="{_esc(name)}" src="{uri}">'
                   f"<figcaption class=\"note\">{_esc(name)}</figcaption></figure>")
    return "".join(out)


def _configs(exp: Experiment, results: Sequence[VariantResult]) -> str:
    head = "<tr><th></th>" + "".join(f"<th>{_esc(r.name)}</th>" for r in results) + "</tr>"

    def row(label: str, cells: list[str]) -> str:
        return f"<tr><th>{_esc(label)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    first = results[0].variant.deployment
    lines = [
        row("description", [_esc(r.variant.description) or "—" for r in results]),
        row("HorizontalPodAutoscaler", [f"<pre>{_esc(_yaml(r.variant.hpa))}</pre>"
                                         for r in results]),
        row("controller flags", [
            "<pre>" + _esc("\n".join(f"{k}={v}" for k, v in r.variant.controller.items())
                           or "(defaults)") + "</pre>" for r in results]),
        row("metricsd", [f"<pre>--metric-resolution={r.variant.resolution:g}s"
                         + "".join(f"\n{_esc(a)}" for a in r.variant.metricsd_args) + "</pre>"
                         for r in results]),
        row("Deployment", [f"<pre>{_esc(_yaml(r.variant.deployment))}</pre>"
                           if i == 0 or r.variant.deployment != first
                           else '<span class="note">as the first variant</span>'
                           for i, r in enumerate(results)]),
    ]
    common = (f"<p>Every variant: {exp.duration:g} simulated s, seed {exp.seed}, "
              f"Kubernetes {_esc(exp.kube_version)}, samples every {exp.sample_every:g} s; "
              "load:</p>" f"<pre>{_esc(_yaml(exp.load))}</pre>")
    return common + "<table>" + head + "".join(lines) + "</table>"


def _events(results: Sequence[VariantResult]) -> str:
    out = []
    for r in results:
        out.append(f"<h3>{_esc(r.name)}</h3>")
        if not r.events:
            out.append('<p class="note">No events.</p>')
            continue
        body = "".join(
            f'<tr><td class="num">{e.t:.0f} s</td><td>{_esc(e.type)}</td><td>{_esc(e.reason)}'
            f"</td><td>{_esc(e.object)}</td><td>{_esc(e.source)}</td><td>{_esc(e.message)}</td>"
            "</tr>" for e in r.events)
        out.append("<table><tr><th>at</th><th>type</th><th>reason</th><th>object</th>"
                   f"<th>from</th><th>message</th></tr>{body}</table>")
    return "".join(out)


def render(exp: Experiment, results: Sequence[VariantResult], failures: Sequence[BoundFailure],
           charts: Mapping[str, bytes], charts_note: str = "") -> str:
    verdict = ("<span class=\"fail\">bounds failed</span>" if failures
               else "<span class=\"ok\">every bound held</span>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_esc(exp.name)}: HPA experiment</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_esc(exp.name)}</h1><p>{_esc(exp.description)}</p>"
        f"<p>{len(results)} variant(s); {verdict}. Source: <code>{_esc(exp.path.name)}</code>"
        "</p>"
        f"<h2>Summary</h2>{_summary(results)}"
        '<p class="note">Definitions: docs/experiments.md, "The summary". Times are simulated '
        "seconds since the start; pod-seconds are measured against the pods the demand needs "
        "at the HPA's target.</p>"
        f"<h2>Bounds</h2>{_bounds(results, failures)}"
        f"<h2>Charts</h2>{_charts(charts, charts_note)}"
        f"<h2>Configurations</h2>{_configs(exp, results)}"
        f"<h2>Events</h2>{_events(results)}"
        "</body></html>\n"
    )
