"""A small declarative schema for YAML files, validated on the node tree so errors carry lines.

Scenario files are written by hand; a mistake must name the file, the line, the path inside the
document and the shape that was expected, and nothing may run on a file that fails. PyYAML's
composed nodes keep their marks, so validation walks nodes (not the loaded Python values) and
returns plain Python values only once everything has passed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class SchemaError(ValueError):
    """A file does not match its schema. ``str()`` is one line: ``file:line: path: reason``."""

    def __init__(self, source: str, line: int | None, path: str, message: str) -> None:
        self.source = source
        self.line = line
        self.path = path
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {path or '<document>'}: {message}")


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null":
            return "nothing (null)"
        return f"{node.value!r}"
    return "something else"


@dataclass
class _Ctx:
    source: str

    def fail(self, node: yaml.Node | None, path: str, message: str) -> SchemaError:
        line = node.start_mark.line + 1 if node is not None else None
        return SchemaError(self.source, line, path, message)


class Schema:
    """Base class: ``check`` validates a node and returns the plain Python value."""

    description = "a value"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        raise NotImplementedError


def _scalar(node: yaml.Node, path: str, ctx: _Ctx, what: str) -> Any:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        raise ctx.fail(node, path, f"expected {what}, got {_kind(node)}")
    return yaml.safe_load(yaml.serialize(node))


class Str(Schema):
    def __init__(self, pattern: str | None = None, description: str = "a string") -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.description = description

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = _scalar(node, path, ctx, self.description)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        text = node.value if isinstance(node, yaml.ScalarNode) else str(value)
        if self.pattern and not self.pattern.fullmatch(text):
            raise ctx.fail(node, path, f"expected {self.description}, got {text!r}")
        return text


class Int(Schema):
    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        bounds = []
        if minimum is not None:
            bounds.append(f">= {minimum}")
        if maximum is not None:
            bounds.append(f"<= {maximum}")
        self.description = "an integer" + (f" {' and '.join(bounds)}" if bounds else "")

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = _scalar(node, path, ctx, self.description)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ctx.fail(node, path, f"expected {self.description}, got {value}")
        return value


class Float(Schema):
    def __init__(self, minimum: float | None = None) -> None:
        self.minimum = minimum
        self.description = "a number" + (f" >= {minimum}" if minimum is not None else "")

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = _scalar(node, path, ctx, self.description)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        if self.minimum is not None and value < self.minimum:
            raise ctx.fail(node, path, f"expected {self.description}, got {value}")
        return float(value)


class Bool(Schema):
    description = "true or false"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = _scalar(node, path, ctx, self.description)
        if not isinstance(value, bool):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        return value


class Enum(Schema):
    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.description = "one of " + ", ".join(choices)

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = _scalar(node, path, ctx, self.description)
        text = node.value if isinstance(node, yaml.ScalarNode) else str(value)
        if text not in self.choices:
            raise ctx.fail(node, path, f"expected {self.description}, got {text!r}")
        return text


class Converted(Schema):
    """A scalar turned into a value by ``convert``; its ValueError text becomes the reason."""

    def __init__(self, description: str, convert: Callable[[str], Any]) -> None:
        self.description = description
        self.convert = convert

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        _scalar(node, path, ctx, self.description)
        assert isinstance(node, yaml.ScalarNode)
        try:
            return self.convert(node.value)
        except ValueError as err:
            raise ctx.fail(node, path, f"expected {self.description}: {err}") from None


class AnyValue(Schema):
    """Anything YAML can hold; the caller validates it further (e.g. an embedded fleet spec)."""

    description = "any value"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        return yaml.safe_load(yaml.serialize(node))


class ListOf(Schema):
    def __init__(self, item: Schema, min_items: int = 0) -> None:
        self.item = item
        self.min_items = min_items
        self.description = f"a list of {item.description}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        if len(node.value) < self.min_items:
            raise ctx.fail(node, path, f"expected at least {self.min_items} item(s)")
        return [self.item.check(child, f"{path}[{i}]", ctx) for i, child in enumerate(node.value)]


class MapOf(Schema):
    """A mapping with free keys (e.g. labels, flag values)."""

    def __init__(self, value: Schema, key: Schema | None = None) -> None:
        self.value = value
        self.key = key or Str()
        self.description = f"a mapping of {self.key.description} to {value.description}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = self.key.check(knode, path, ctx)
            if key in out:
                raise ctx.fail(knode, f"{path}.{key}", "duplicate key")
            out[key] = self.value.check(vnode, f"{path}.{key}" if path else str(key), ctx)
        return out


@dataclass
class Field:
    schema: Schema
    required: bool = False
    default: Any = None
    doc: str = ""


@dataclass
class Record(Schema):
    """A mapping with known keys: unknown keys, missing required keys and wrong types fail."""

    fields: Mapping[str, Field]
    description: str = "a mapping"
    check_extra: Callable[[dict[str, Any], yaml.Node, str, _Ctx], None] | None = None
    _keys: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._keys = ", ".join(self.fields)

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, path, f"expected {self.description} with keys {self._keys}, "
                           f"got {_kind(node)}")
        seen: dict[str, Any] = {}
        for knode, vnode in node.value:
            key = str(knode.value) if isinstance(knode, yaml.ScalarNode) else "?"
            sub = f"{path}.{key}" if path else key
            if key not in self.fields:
                raise ctx.fail(knode, sub, f"unknown key; expected one of {self._keys}")
            if key in seen:
                raise ctx.fail(knode, sub, "duplicate key")
            seen[key] = self.fields[key].schema.check(vnode, sub, ctx)
        for name, spec in self.fields.items():
            if name not in seen:
                if spec.required:
                    raise ctx.fail(node, path, f"missing required key {name!r} "
                                   f"({spec.schema.description})")
                seen[name] = spec.default
        if self.check_extra is not None:
            self.check_extra(seen, node, path, ctx)
        return seen


@dataclass
class OneKey(Schema):
    """A mapping with exactly one key naming a variant (a step kind), plus shared keys."""

    variants: Mapping[str, Schema]
    shared: Mapping[str, Field]
    description: str = "a step"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        names = ", ".join(self.variants)
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, path, f"expected {self.description}: a mapping with one of "
                           f"{names}, got {_kind(node)}")
        chosen = [k.value for k, _ in node.value if getattr(k, "value", None) in self.variants]
        if len(chosen) != 1:
            what = "none" if not chosen else ", ".join(chosen)
            raise ctx.fail(node, path, f"expected exactly one of {names}; found {what}")
        fields = dict(self.shared)
        fields[chosen[0]] = Field(self.variants[chosen[0]], required=True)
        value = Record(fields, description=self.description).check(node, path, ctx)
        value["kind"] = chosen[0]
        return value


def load(path: Path | str, schema: Schema, text: str | None = None) -> Any:
    """Parse ``path`` (or ``text``, named as ``path``) and validate it against ``schema``."""
    source = str(path)
    ctx = _Ctx(source)
    try:
        body = Path(path).read_text() if text is None else text
    except OSError as err:
        raise SchemaError(source, None, "", f"cannot read file: {err.strerror}") from None
    try:
        node = yaml.compose(body, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise SchemaError(source, line, "", f"not valid YAML: {problem}") from None
    if node is None:
        raise SchemaError(source, None, "", "the file is empty")
    return schema.check(node, "", ctx)


__all__: Sequence[str] = [
    "AnyValue",
    "Bool",
    "Converted",
    "Enum",
    "Field",
    "Float",
    "Int",
    "ListOf",
    "MapOf",
    "OneKey",
    "Record",
    "Schema",
    "SchemaError",
    "Str",
    "load",
]
