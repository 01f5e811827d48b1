"""Reading a case file for ``explain``: YAML (or JSON) with the line of every path.

Errors must name the file, the line and the path inside the document (ARCHITECTURE.md), so
the document is composed into PyYAML nodes first and every mapping key and list item is
indexed by the same dotted path :class:`~podautoscaler.case.CaseError` uses
(``pods[0].status.startTime``). Timestamps stay strings: YAML's implicit timestamp type would
drop nanoseconds and time zones, and Kubernetes objects carry RFC 3339 text.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["SourceError", "line_of", "load"]


class SourceError(ValueError):
    """The file is not YAML; ``line`` is where the parser stopped (or None)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _index(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _index(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, f"{path}[{i}]", lines)


def load(text: str) -> tuple[Any, dict[str, int]]:
    """The document and a map from path to 1-based line."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise SourceError("the file is empty", None)
            lines: dict[str, int] = {}
            _index(node, "", lines)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise SourceError(f"not valid YAML: {problem}",
                          mark.line + 1 if mark is not None else None) from None
    return data, lines


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest ancestor present in the file."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
