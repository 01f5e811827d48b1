"""Reporting: the failure summary printed on the terminal and JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from scenarios.runner import ScenarioResult


def failure_text(result: ScenarioResult) -> str:
    """What was expected, what happened, and the last lines of metricsd's log."""
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
    if result.log_tail:
        lines.append(" last lines of metricsd's log:")
        lines.extend("  | " + line for line in result.log_tail.splitlines())
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
        if result.log_tail:
            ET.SubElement(suite, "system-err").text = result.log_tail
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
