"""PNG charts of an experiment, variants overlaid (matplotlib, the optional ``[plots]`` extra).

Why optional: matplotlib is large and only the report needs it; the core package, the kind
image and a CI run that checks bounds do without. :func:`available` says whether it can be
imported; the CLI then says so and still writes the CSV and the HTML report.

Two charts, each against the demand, on one time axis (minutes, or hours past six):

``replicas.png``     top: demand and each variant's serving capacity (cores), the demand a
                     variant could not serve shaded in its colour; bottom: each variant's
                     replicas (``spec.replicas``, solid) and Ready pods (dashed), the pods
                     the demand needs at the HPA's target (grey), and a marker (▲ up, ▼ down)
                     and a dotted vertical at every rescale.
``utilization.png``  the CPU utilization the HPA saw (``status.currentMetrics``, solid steps)
                     and the true mean per-pod utilization (dotted), per variant; the target
                     as a horizontal line; the demand in grey on a second axis.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Sequence
from typing import Any

from scenarios.experiment.result import VariantResult

__all__ = ["available", "draw"]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf")


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _time_axis(duration: float) -> tuple[float, str]:
    if duration > 2 * 3600:
        return 3600.0, "simulated time (h)"
    if duration > 3600:
        return 60.0, "simulated time (min)"
    return 1.0, "simulated time (s)"


def _target_pct(result: VariantResult) -> float | None:
    v = result.variant
    if v.per_pod_target is None or v.workload.cpu_request <= 0:
        return None
    return v.per_pod_target / v.workload.cpu_request * 100


def _steps(ax: Any, xs: Sequence[float], ys: Sequence[float | None], **kw: Any) -> None:
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if points:
        ax.step([p[0] for p in points], [p[1] for p in points], where="post", **kw)


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, metadata={"Software": None})
    return out.getvalue()


def draw(title: str, results: Sequence[VariantResult], duration: float) -> dict[str, bytes]:
    """``{file name: PNG bytes}``; needs matplotlib (:func:`available`)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    scale, xlabel = _time_axis(duration)
    charts: dict[str, bytes] = {}
    with plt.rc_context({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3}):
        charts["replicas.png"] = _replicas(plt, title, results, duration, scale, xlabel)
        charts["utilization.png"] = _utilization(plt, title, results, duration, scale, xlabel)
    return charts


def _replicas(plt: Any, title: str, results: Sequence[VariantResult], duration: float,
              scale: float, xlabel: str) -> bytes:
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.4),
                                      gridspec_kw={"height_ratios": [1, 1.6]})
    first = results[0].rows
    xs0 = [r.time_s / scale for r in first]
    _steps(top, xs0, [r.demand_cores for r in first], color="black", lw=1.6, label="demand")
    for i, res in enumerate(results):
        color = _COLORS[i % len(_COLORS)]
        xs = [r.time_s / scale for r in res.rows]
        _steps(top, xs, [r.capacity_cores for r in res.rows], color=color, lw=1.1,
               label=f"{res.name}: capacity of its Ready pods")
        above = [r.demand_cores > r.capacity_cores + 1e-9 for r in res.rows]
        if any(above):
            top.fill_between(xs, [min(r.capacity_cores, r.demand_cores) for r in res.rows],
                             [r.demand_cores for r in res.rows], where=above, step="post",
                             color=color, alpha=0.35, lw=0,
                             label=f"{res.name}: demand above capacity")
        if res.variant.per_pod_target is not None:
            _steps(bottom, xs, [r.needed_pods for r in res.rows], color="grey", lw=4,
                   alpha=0.35 if i == 0 else 0.2,
                   label="pods the demand needs at target" if i == 0 else None)
        _steps(bottom, xs, [r.spec_replicas for r in res.rows], color=color, lw=1.8,
               label=f"{res.name}: replicas")
        _steps(bottom, xs, [r.pods_ready for r in res.rows], color=color, lw=1, ls="--",
               label=f"{res.name}: Ready pods")
        for ev in res.scale_events:
            bottom.axvline(ev.t / scale, color=color, lw=0.8, alpha=0.35, ls=":")
        ups = [e for e in res.scale_events if e.new > e.old]
        downs = [e for e in res.scale_events if e.new < e.old]
        bottom.plot([e.t / scale for e in ups], [e.new for e in ups], ls="none", marker="^",
                    color=color, ms=6)
        bottom.plot([e.t / scale for e in downs], [e.new for e in downs], ls="none",
                    marker="v", color=color, ms=6)
    top.set_ylabel("CPU (cores)")
    top.set_ylim(bottom=0)
    top.set_title(f"{title}: demand vs capacity (shaded: demand above a variant's capacity)",
                  fontsize=10)
    top.legend(loc="best", fontsize=7.5)
    bottom.set_ylabel("pods")
    bottom.set_ylim(bottom=0)
    bottom.set_xlabel(xlabel)
    bottom.set_xlim(0, duration / scale)
    bottom.set_title("replicas (▲ ▼ and dotted verticals: rescales)", fontsize=10)
    bottom.legend(loc="upper right", fontsize=7.5)
    bottom.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def _utilization(plt: Any, title: str, results: Sequence[VariantResult], duration: float,
                 scale: float, xlabel: str) -> bytes:
    fig, ax = plt.subplots(figsize=(10, 4.2))
    demand_ax = ax.twinx()
    first = results[0].rows
    demand_ax.fill_between([r.time_s / scale for r in first], 0,
                           [r.demand_cores for r in first], step="post", color="grey",
                           alpha=0.15, lw=0, label="demand")
    demand_ax.set_ylabel("demand (cores, grey)")
    demand_ax.set_ylim(bottom=0)
    demand_ax.grid(False)
    targets: set[float] = set()
    distinct = {None if t is None else round(t, 3) for t in map(_target_pct, results)}
    for i, res in enumerate(results):
        color = _COLORS[i % len(_COLORS)]
        xs = [r.time_s / scale for r in res.rows]
        _steps(ax, xs, [r.hpa_utilization_pct for r in res.rows], color=color, lw=1.6,
               label=f"{res.name}: seen by the HPA")
        request = res.variant.workload.cpu_request
        if request > 0:
            _steps(ax, xs, [None if r.cpu_mean_cores is None else r.cpu_mean_cores / request
                            * 100 for r in res.rows], color=color, lw=0.9, ls=":",
                   label=f"{res.name}: true mean per pod")
        target = _target_pct(res)
        if target is not None and round(target, 3) not in targets:
            targets.add(round(target, 3))
            shared = len(distinct) == 1
            ax.axhline(target, color="black" if shared else color, lw=1, ls="--",
                       label=f"target {target:g} %" if shared
                       else f"{res.name}: target {target:g} %")
    ax.set_zorder(demand_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_ylabel("CPU utilization (% of request)")
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, duration / scale)
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title}: CPU utilization", fontsize=10)
    ax.legend(loc="upper right", fontsize=7.5)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data
