"""Every YAML example in the documentation is a fixture, loaded by the project's own loaders.

Users paste these examples; a broken one (``probe: {path: /readyz?verbose}`` is not YAML, a
workload key that does not exist) must fail CI, not the user. Covered: README.md,
bench/README.md, docs/*.md and every file under examples/.

How a block is marked. Every fenced ```yaml (or ```yml) block must be preceded, on the line
before its fence, by an HTML comment naming what it is (invisible when the Markdown renders)::

    <!-- yaml-example: scenario -->     a whole scenario file       -> scenarios' load_scenario
    <!-- yaml-example: steps -->        a list of scenario steps    -> the scenario schema's steps
                                        (incl. fault/workload/churn bodies); the `stdin` of a
                                        `kubectl apply -f -` step is checked as a manifest
    <!-- yaml-example: fleet -->        a fleet spec                -> fakekubelet.spec
    <!-- yaml-example: load -->         a load spec                 -> scenarios.load.spec
    <!-- yaml-example: manifest -->     Kubernetes objects          -> yaml; each document has
                                        apiVersion, kind and metadata.name
    <!-- yaml-example: partial: WHY --> an excerpt on purpose (WHY is required): must still
                                        parse as YAML, nothing more

A block without a marker, a marker of an unknown kind, a partial without a reason and a marker
that is not followed by a yaml block all fail. Errors name the Markdown file and its line: the
block is padded with blank lines, so the loaders' own ``file:line`` is the document's.
Relative files a fleet example names (``trace.file``, ``replayDir``) are created in a scratch
directory with minimal valid content, since the example only describes them.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakekubelet.spec import SpecError, load_spec
from fakekubelet.spec import load_spec_text as load_fleet_text
from podautoscaler.cli import explain_file
from scenarios.experiment.schema import load_experiment
from scenarios.load.spec import load_spec_text
from scenarios.schema import STEP, load_scenario
from scenarios.yamlschema import ListOf, SchemaError, load

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KINDS = ("scenario", "steps", "fleet", "load", "experiment", "manifest", "partial")
MARKER = re.compile(r"<!--\s*yaml-example:\s*(?P<kind>[\w-]+)\s*(?::\s*(?P<why>.*?))?\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")


@dataclass(frozen=True)
class Block:
    source: str  # the Markdown file, relative to the repository root
    line: int  # the line of the opening fence
    kind: str
    why: str
    body: str

    @property
    def padded(self) -> str:
        """The body with its lines at their Markdown line numbers."""
        return "\n" * self.line + self.body

    def __str__(self) -> str:
        return f"{self.source}:{self.line}"


class MarkupError(AssertionError):
    pass


def blocks(source: str, text: str) -> list[Block]:
    """The YAML blocks of a Markdown text with their markers; MarkupError for a bad marking."""
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    pending: tuple[int, str, str] | None = None  # (line, kind, why) of the last marker
    while i < len(lines):
        line = lines[i]
        marker = MARKER.fullmatch(line.strip())
        opening = FENCE.match(line)
        if marker:
            if pending is not None:
                raise MarkupError(f"{source}:{pending[0]}: a yaml-example marker without a yaml "
                                  "block after it")
            pending = (i + 1, marker["kind"], (marker["why"] or "").strip())
            i += 1
            continue
        if opening is None:
            if pending is not None:
                raise MarkupError(f"{source}:{pending[0]}: a yaml-example marker must be the line "
                                  "just before a ```yaml fence")
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        is_yaml = opening["lang"].lower() in ("yaml", "yml")
        if is_yaml:
            where = f"{source}:{i + 1}"
            if pending is None:
                raise MarkupError(f"{where}: a ```yaml block without a marker; put "
                                  f"<!-- yaml-example: KIND --> on the line before it "
                                  f"(KIND: {', '.join(KINDS)})")
            _, kind, why = pending
            if kind not in KINDS:
                raise MarkupError(f"{where}: unknown yaml-example kind {kind!r} "
                                  f"(expected one of {', '.join(KINDS)})")
            if kind == "partial" and not why:
                raise MarkupError(f"{where}: a partial example needs its reason: "
                                  "<!-- yaml-example: partial: WHY -->")
            body = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln
                             for ln in lines[i + 1:end])
            out.append(Block(source, i + 1, kind, why, body + "\n"))
        elif pending is not None:
            raise MarkupError(f"{source}:{pending[0]}: a yaml-example marker before a "
                              f"```{opening['lang']} block")
        pending = None
        i = end + 1
    if pending is not None:
        raise MarkupError(f"{source}:{pending[0]}: a yaml-example marker without a yaml block "
                          "after it")
    return out


def check_manifests(text: str, where: str) -> None:
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise AssertionError(f"{where}: not valid YAML: {err}") from None
    if not documents:
        raise AssertionError(f"{where}: no Kubernetes object")
    for doc in documents:
        if not isinstance(doc, dict):
            raise AssertionError(f"{where}: a manifest document must be a mapping")
        missing = [k for k in ("apiVersion", "kind") if not doc.get(k)]
        if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            missing.append("metadata.name")
        if missing:
            raise AssertionError(f"{where}: a {doc.get('kind', 'manifest')} without "
                                 f"{', '.join(missing)}")


def scratch_files(data: Any, base: Path) -> None:
    """Create the relative files a fleet example names, with minimal valid content."""
    if isinstance(data, dict):
        trace = data.get("trace")
        if isinstance(trace, dict) and isinstance(trace.get("file"), str):
            path = base / trace["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("seconds,cpu_cores,memory_bytes\n0,0.1,1e8\n60,0.5,2e8\n")
        if isinstance(data.get("replayDir"), str):
            (base / data["replayDir"]).mkdir(parents=True, exist_ok=True)
        for value in data.values():
            scratch_files(value, base)
    elif isinstance(data, list):
        for value in data:
            scratch_files(value, base)


def check(block: Block, scratch: Path) -> None:
    """Load ``block`` as what its marker says; AssertionError naming the Markdown line."""
    try:
        if block.kind == "scenario":
            load_scenario(block.source, text=block.padded)
        elif block.kind == "steps":
            steps = load(block.source, ListOf(STEP, min_items=1), text=block.padded)
            for step in steps:
                body = step.get("kubectl") or {}
                args = body.get("args") or []
                if body.get("stdin") and "-f" in args and "-" in args:
                    check_manifests(body["stdin"], f"{block}: kubectl stdin")
        elif block.kind == "fleet":
            scratch_files(yaml.safe_load(block.body), scratch)
            load_fleet_text(block.padded, block.source, scratch)
        elif block.kind == "load":
            load_spec_text(block.padded, block.source)
        elif block.kind == "experiment":
            # read as a file beside the shipped experiments (its relative fleetFile resolves
            # there); errors still carry the document's line numbers
            load_experiment(ROOT / "scenarios" / "experiments" / "from-the-docs.yaml",
                            text=block.padded)
        elif block.kind == "manifest":
            check_manifests(block.padded, str(block))
        else:
            list(yaml.safe_load_all(block.padded))
    except (SchemaError, SpecError) as err:
        raise AssertionError(str(err)) from None
    except yaml.YAMLError as err:
        raise AssertionError(f"{block}: not valid YAML: {err}") from None


def all_blocks() -> list[Block]:
    found: list[Block] = []
    for path in DOCS:
        found += blocks(str(path.relative_to(ROOT)), path.read_text())
    return found


def collected() -> list[Block]:
    """For parametrizing: a marking error is reported by the test below, not at collection."""
    try:
        return all_blocks()
    except MarkupError:
        return []


def test_every_yaml_block_is_marked() -> None:
    all_blocks()  # MarkupError names the first badly marked block


@pytest.mark.parametrize("block", collected(), ids=str)
def test_yaml_example_loads(block: Block, tmp_path: Path) -> None:
    check(block, tmp_path)


def test_the_docs_have_examples_of_each_loaded_kind() -> None:
    kinds = {b.kind for b in all_blocks()}
    assert {"scenario", "steps", "fleet", "load", "experiment"} <= kinds


EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_file_loads(path: Path) -> None:
    """examples/fleet-*.yaml are fleet specs, examples/hpa/*.yaml HPA cases for
    ``python -m podautoscaler explain``; a file of another kind needs a rule here."""
    rel = str(path.relative_to(ROOT / "examples"))
    if rel.startswith("fleet-"):
        load_spec(path)
    elif rel.startswith("hpa/"):
        out, err = io.StringIO(), io.StringIO()
        code = explain_file(str(path), path.read_text(), "json", True, out, err)
        assert code == 0, err.getvalue()
    else:
        raise AssertionError(f"examples/{rel}: unknown kind of example file")


# -- the checker itself ----------------------------------------------------------------------

MARKED = """\
# Title

<!-- yaml-example: steps -->
```yaml
- probe: {path: /readyz?verbose}
```
"""


def test_a_broken_example_fails_with_the_markdown_line(tmp_path: Path) -> None:
    [block] = blocks("docs/x.md", MARKED)
    with pytest.raises(AssertionError) as info:
        check(block, tmp_path)
    assert str(info.value) == (
        "docs/x.md:5: <document>: not valid YAML: expected ',' or '}', but got '?'")


@pytest.mark.parametrize(("body", "message"), [
    ("- probe: {path: '/readyz?verbose'}\n  expect: {status: 2000}\n",
     "docs/x.md:6: [0].expect.status: expected an integer >= 100 and <= 599, got 2000"),
    ("- workload: {pod: default/web-0, container: app, set: {kind: constant}}\n",
     "docs/x.md:5: [0].workload.set.kind: unknown key 'kind' (expected one of cpu, memory, "
     "relative, trace)"),
    ("- kubectl:\n    args: [apply, -f, -]\n    stdin: |\n      kind: Namespace\n",
     "docs/x.md:4: kubectl stdin: a Namespace without apiVersion, metadata.name"),
])
def test_a_step_example_is_checked_by_the_scenario_schema(
    body: str, message: str, tmp_path: Path
) -> None:
    [block] = blocks("docs/x.md", MARKED.replace("- probe: {path: /readyz?verbose}\n", body))
    with pytest.raises(AssertionError) as info:
        check(block, tmp_path)
    assert str(info.value) == message


def test_fleet_and_scenario_examples_are_checked(tmp_path: Path) -> None:
    fleet = "<!-- yaml-example: fleet -->\n```yaml\nnodeGroups:\n- {name: a, count: two}\n```\n"
    [block] = blocks("docs/x.md", fleet)
    with pytest.raises(AssertionError, match=r"^docs/x\.md:4: nodeGroups\[0\]\.count: 'two' is "):
        check(block, tmp_path)
    scenario = "<!-- yaml-example: scenario -->\n```yaml\nname: x\n```\n"
    [block] = blocks("docs/x.md", scenario)
    with pytest.raises(AssertionError, match=r"^docs/x\.md:3: <document>: missing required key"):
        check(block, tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("```yaml\na: 1\n```\n", "docs/x.md:1: a ```yaml block without a marker"),
    ("<!-- yaml-example: recipe -->\n```yaml\na: 1\n```\n",
     "docs/x.md:2: unknown yaml-example kind 'recipe'"),
    ("<!-- yaml-example: partial -->\n```yaml\na: 1\n```\n",
     "docs/x.md:2: a partial example needs its reason"),
    ("<!-- yaml-example: steps -->\n\nText.\n```yaml\na: 1\n```\n",
     "docs/x.md:1: a yaml-example marker must be the line just before"),
    ("<!-- yaml-example: steps -->\n```sh\nls\n```\n",
     "docs/x.md:1: a yaml-example marker before a ```sh block"),
    ("text\n<!-- yaml-example: steps -->\n", "docs/x.md:2: a yaml-example marker without"),
])
def test_bad_marking_is_an_error(text: str, message: str) -> None:
    with pytest.raises(MarkupError) as info:
        blocks("docs/x.md", text)
    assert str(info.value).startswith(message)


def test_partial_blocks_must_still_be_yaml(tmp_path: Path) -> None:
    text = "<!-- yaml-example: partial: only the args -->\n```yaml\nargs: [a\n```\n"
    [block] = blocks("docs/x.md", text)
    assert block.why == "only the args"
    with pytest.raises(AssertionError, match=r"^docs/x\.md:2: not valid YAML"):
        check(block, tmp_path)


def test_indented_blocks_and_other_fences() -> None:
    text = textwrap.dedent("""\
        ```sh
        echo '```yaml'
        ```
        1. a list item:
           <!-- yaml-example: partial: shows indentation -->
           ```yaml
           a: 1
           ```
        """)
    [block] = blocks("docs/x.md", text)
    assert (block.line, block.body) == (6, "a: 1\n")
