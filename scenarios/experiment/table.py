"""The summary table: figures down, variants across (the terminal and the HTML report)."""

from __future__ import annotations

from collections.abc import Mapping

from scenarios.experiment.summary import FIELDS, Summary

__all__ = ["cell", "render", "rows"]


def cell(summary: Summary, key: str) -> str:
    """One figure as the table shows it: ``75 s``, ``never``, ``—`` (not measured), ``6``."""
    attr, _label, unit = FIELDS[key]
    value = getattr(summary, attr)
    if value is None:
        if key in ("firstScaleUp", "firstScaleDown", "timeToCapacity"):
            return "never"
        return "—"
    if unit == "s":
        return f"{value:.0f} s" if float(value).is_integer() else f"{value:.1f} s"
    if unit == "pod·s":
        return f"{value:.0f}"
    return str(value)


def rows(summaries: Mapping[str, Summary]) -> list[list[str]]:
    """Header row, then one row per figure."""
    out = [["", *summaries]]
    for key, (_attr, label, unit) in FIELDS.items():
        shown = f"{label} ({unit})" if unit == "pod·s" else label
        out.append([shown, *(cell(s, key) for s in summaries.values())])
    return out


def render(summaries: Mapping[str, Summary]) -> str:
    """A plain-text table (left-aligned labels, right-aligned figures)."""
    table = rows(summaries)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, r in enumerate(table):
        parts = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                    strict=True)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
