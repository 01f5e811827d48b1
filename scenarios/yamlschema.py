"""A small declarative schema for YAML files, validated on the node tree so errors carry lines.

Scenario files are written by hand; a mistake must name the file, the line, the path inside the
document and the shape that was expected, and nothing may run on a file that fails. PyYAML's
composed nodes keep their marks, so validation walks nodes (not the loaded Python values) and
returns plain Python values only once everything has passed.

Reading is defensive because the files come from users: bytes that are not UTF-8, nesting
deep enough to exhaust Python's stack, aliases that refer to themselves or expand
exponentially, and tags PyYAML's safe constructor cannot build are all reported as one
``file:line`` error (:class:`_Composer`), never as a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Nodes inside nodes, counted from the document's root: far more than any hand-written file
#: needs, far less than Python's recursion limit (PyYAML composes recursively).
MAX_DEPTH = 64
#: Values (nodes) a document may hold, aliases expanded: a "billion laughs" guard, and a bound on
#: the time a huge document takes (PyYAML's pure-Python composer manages some 10,000-50,000
#: nodes a second). A scenario of 1,000 steps holds about 15,000.
MAX_VALUES = 100_000

_LINE_BREAKS = {"\n": "\\n", "\r": "\\r", "\v": "\\v", "\f": "\\f", "\x1c": "\\x1c",
                "\x1d": "\\x1d", "\x1e": "\\x1e", "\x85": "\\x85", "\u2028": "\\u2028",
                "\u2029": "\\u2029"}
_ESCAPES = {ord(k): v for k, v in _LINE_BREAKS.items()}


def one_line(text: str) -> str:
    """``text`` with every line break escaped (keys and values may hold them)."""
    return text.translate(_ESCAPES)


class SchemaError(ValueError):
    """A file does not match its schema. ``str()`` is one line: ``file:line: path: reason``."""

    def __init__(self, source: str, line: int | None, path: str, message: str) -> None:
        self.source = source
        self.line = line
        self.path = path
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(one_line(f"{where}: {path or '<document>'}: {message}"))


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


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_./*<>-]+")


def key_path(path: str, key: object) -> str:
    """``path.key``; a key that would be invisible or ambiguous there is quoted (``'a b'``)."""
    text = str(key)
    shown = text if _PLAIN_KEY.fullmatch(text) else repr(text)
    return f"{path}.{shown}" if path else shown


def plain(node: yaml.Node) -> Any:
    """The Python value of a composed node, as ``yaml.safe_load`` would build it.

    Built straight from the node (no emit-and-parse round trip): a large value is read once.
    """
    return yaml.constructor.SafeConstructor().construct_document(node)


def _scalar(node: yaml.Node, path: str, ctx: _Ctx, what: str) -> Any:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        raise ctx.fail(node, path, f"expected {what}, got {_kind(node)}")
    return plain(node)


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
        return plain(node)


class Line(Schema):
    """Text for one line of output (a title, a description): any scalar, no line break."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.description = f"one line of at most {max_chars} characters"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        text = str(node.value)
        if len(text.splitlines()) > 1 or text != text.rstrip("\r\n"):
            raise ctx.fail(node, path, f"expected {self.description}, got a line break "
                           "(write it on one line, or fold it with >-)")
        if len(text) > self.max_chars:
            raise ctx.fail(node, path, f"expected {self.description}, got {len(text)} characters")
        return text


def node_lines(node: yaml.Node, path: str = "") -> dict[str, int]:
    """Every dotted path under ``node`` (``spec.containers[0].image``) → its 1-based line."""
    lines: dict[str, int] = {}

    def walk(n: yaml.Node, p: str) -> None:
        lines.setdefault(p, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                child = f"{p}.{k.value}" if p else str(k.value)
                lines[child] = k.start_mark.line + 1
                walk(v, child)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, f"{p}[{i}]")

    walk(node, path)
    return lines


def nearest_line(lines: Mapping[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is in the file."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def join_path(path: str, sub: str) -> str:
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


class Embedded(Schema):
    """A whole object another validator owns (a Kubernetes object, a fleet spec): the plain
    value goes to ``validate``, which returns its problems as ``(path inside the value,
    message)``; the first one is reported at the line of that path (or its nearest ancestor).
    """

    def __init__(self, description: str,
                 validate: Callable[[Any], Sequence[tuple[str, str]]]) -> None:
        self.description = description
        self.validate = validate

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        value = plain(node)
        problems = self.validate(value)
        if problems:
            sub, message = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            full = join_path(path, sub)
            line = nearest_line(node_lines(node, path), full)
            raise SchemaError(ctx.source, line, full, message + more)
        return value


class ListOf(Schema):
    def __init__(self, item: Schema, min_items: int = 0, max_items: int | None = None) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.description = f"a list of {item.description}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        if len(node.value) < self.min_items:
            raise ctx.fail(node, path, f"expected at least {self.min_items} item(s)")
        if self.max_items is not None and len(node.value) > self.max_items:
            raise ctx.fail(node, path, f"expected at most {self.max_items} item(s), "
                           f"got {len(node.value)}")
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
                raise ctx.fail(knode, key_path(path, key), "duplicate key")
            out[key] = self.value.check(vnode, key_path(path, key), ctx)
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
            sub = key_path(path, key)
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


_CORE_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


class _Composer(yaml.SafeLoader):
    """PyYAML's safe composer, with the limits a file written by hand never reaches.

    It refuses, at the line where they occur: nesting deeper than :data:`MAX_DEPTH` (PyYAML
    composes recursively, so deeper input would raise ``RecursionError``), an alias inside
    the node it names (PyYAML builds a cyclic tree from ``&a [*a]``), a value holding more than
    :data:`MAX_VALUES` values with its aliases expanded, and any scalar or tagged collection
    the safe constructor cannot build (``!foo``, ``!!python/...``, ``!!int 1s``, the date
    ``2001-13-45``): every later step may construct values freely.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open: set[str] = set()
        self._values: dict[int, int] = {}

    def _refuse(self, problem: str, mark: Any) -> yaml.MarkedYAMLError:
        return yaml.composer.ComposerError(None, None, problem, mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._refuse(f"the alias *{event.anchor} refers to a node that contains it",
                                   event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._refuse(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor or "")
        if node is not None:
            self._count(node)
            self._construct(node)
        return node

    def _count(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1 + sum(self._values.get(id(c), 1) for c in children)
        if total > MAX_VALUES:
            raise self._refuse(f"this value holds more than {MAX_VALUES} values "
                               "(aliases expanded)", node.start_mark)
        self._values[id(node)] = total

    def _construct(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.ScalarNode) and node.tag in _CORE_TAGS:
            return
        try:
            self.construct_object(node, deep=True)
        except Exception:
            shown = repr(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            raise self._refuse(f"cannot read {shown} as {_short_tag(node.tag)}",
                               node.start_mark) from None


def _yaml_problem(err: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The line and the one-line reason of a PyYAML error."""
    if isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        char = err.character if isinstance(err.character, int) else ord(str(err.character))
        return line, f"unacceptable character #x{char:04x}: {err.reason}"
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or str(err)
    return (mark.line + 1 if mark is not None else None), str(problem)


def compose_file(
    path: Path | str, text: str | None = None, max_bytes: int | None = None,
    source: str | None = None, what: str = "file",
) -> yaml.Node:
    """Read ``path`` (or ``text``) into a YAML node tree with line marks, or raise SchemaError.

    ``max_bytes`` is checked before anything is decoded (only that much is read), so a huge or
    endless file costs nothing; ``source`` names the file in errors (default: ``path``).
    """
    source = str(path) if source is None else source
    if text is None:
        try:
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1 if max_bytes is not None else -1)
        except OSError as err:
            raise SchemaError(source, None, "", f"cannot read file: {err.strerror}") from None
    else:
        data = text.encode("utf-8", "surrogatepass")
    if max_bytes is not None and len(data) > max_bytes:
        limit = f"{max_bytes // 1048576} MiB" if max_bytes % 1048576 == 0 else f"{max_bytes} B"
        raise SchemaError(source, 1, "", f"the file has more than {limit} ({max_bytes} bytes), "
                          f"the limit for a {what}")
    try:
        body = data.decode("utf-8") if text is None else text
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise SchemaError(source, line, "", f"not UTF-8 text: byte 0x{data[err.start]:02x} "
                          "cannot be decoded") from None
    try:
        loader = _Composer(body)  # the reader already refuses unprintable characters here
        try:
            node: yaml.Node | None = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        at, problem = _yaml_problem(err, body)
        raise SchemaError(source, at, "", f"not valid YAML: {problem}") from None
    if node is None:
        raise SchemaError(source, 1, "", "the file is empty")
    return node


def load(
    path: Path | str, schema: Schema, text: str | None = None, max_bytes: int | None = None,
    what: str = "file",
) -> Any:
    """Parse ``path`` (or ``text``, named as ``path``) and validate it against ``schema``."""
    node = compose_file(path, text=text, max_bytes=max_bytes, what=what)
    return schema.check(node, "", _Ctx(str(path)))


__all__: Sequence[str] = [
    "AnyValue",
    "Bool",
    "Converted",
    "Embedded",
    "Enum",
    "Field",
    "Float",
    "Int",
    "Line",
    "ListOf",
    "MapOf",
    "OneKey",
    "Record",
    "Schema",
    "SchemaError",
    "Str",
    "compose_file",
    "join_path",
    "key_path",
    "load",
    "nearest_line",
    "node_lines",
    "one_line",
    "plain",
]
