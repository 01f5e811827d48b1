"""Reporting: the failure summary printed on the terminal and JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from scenarios.runner import ScenarioResult

#: Lines of metricsd's log a failure report shows: the first ones (where an error that stopped
#: it is: a crash-looping pod prints its error, then the whole usage text), and the last ones.
LOG_HEAD, LOG_TAIL = 15, 8


def log_excerpt(log: str, kept: Path | None = None) -> list[str]:
    """The first LOG_HEAD and last LOG_TAIL lines of ``log``, what was left out said plainly."""
    lines = log.rstrip("\n").splitlines()
    if not lines:
        return [" metricsd's log is empty"]
    if len(lines) <= LOG_HEAD + LOG_TAIL + 1:
        count = f"{len(lines)} line" + ("s" if len(lines) > 1 else "")
        return [f" metricsd's log ({count}):", *("  | " + line for line in lines)]
    where = f"; all of it is in {kept}" if kept is not None else ""
    return [
        f" metricsd's log, first {LOG_HEAD} and last {LOG_TAIL} of {len(lines)} lines:",
        *("  | " + line for line in lines[:LOG_HEAD]),
        f"  | ... {len(lines) - LOG_HEAD - LOG_TAIL} lines not shown{where} ...",
        *("  | " + line for line in lines[-LOG_TAIL:]),
    ]


def failure_text(result: ScenarioResult) -> str:
    """What was expected, what happened, and metricsd's log (its first and last lines)."""
    lines = [f"FAILED {result.scenario.name} ({result.scenario.path}) on {result.backend}"]
    if result.error:
        lines.append(f"  {result.error}")
    for step in result.steps:
        if step.status not in ("failed", "error"):
            continue
        lines.append(f" step {step.index}: {step.title}")
        if step.message:
            lines.append(f"  {step.message}")
        lines.extend(f.render() for f in step.failures)
    if not result.error:  # a step failed: what metricsd said
        lines.extend(log_excerpt(result.log, result.log_file))
    return "\n".join(lines)


def write_junit(results: list[ScenarioResult], path: Path) -> None:
    suites = ET.Element("testsuites")
    for result in results:
        failed = sum(s.status == "failed" for s in result.steps)
        errors = sum(s.status == "error" for s in result.steps) + (1 if result.error else 0)
        skipped = sum(s.status == "skipped" for s in result.steps)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{result.scenario.name} [{result.backend}]",
            tests=str(len(result.steps)),
            failures=str(failed),
            errors=str(errors),
            skipped=str(skipped),
            time=f"{sum(s.seconds for s in result.steps):.3f}",
        )
        if result.error:
            case = ET.SubElement(suite, "testcase", name="setup", classname=result.scenario.name)
            ET.SubElement(case, "error", message=result.error)
        for step in result.steps:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{step.index:02d} {step.title}",
                classname=result.scenario.name,
                time=f"{step.seconds:.3f}",
            )
            detail = "\n".join(f.render() for f in step.failures)
            if step.status == "failed":
                ET.SubElement(case, "failure", message=step.title).text = detail
            elif step.status == "error":
                ET.SubElement(case, "error", message=step.message).text = detail
            elif step.status == "skipped":
                ET.SubElement(case, "skipped", message=step.message)
            if step.outputs:
                ET.SubElement(case, "system-out").text = "\n".join(step.outputs)
        if result.log:
            ET.SubElement(suite, "system-err").text = result.log
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
