"""The simulation's own inputs inside a scenario, checked by fakekubelet's own validators.

A scenario names a fleet (`cluster.fleet` inline, or `cluster.fleetFile`) and may change it
while it runs (`fault`, `workload` and `churn` steps). Those values are fakekubelet's formats:
the fleet spec (docs/fakekubelet-spec.md) and the bodies of its control endpoint. Checking them
here, with the validators fakekubelet itself runs, turns a typo into a load-time error on the
line the user wrote (exit 2) instead of a failure at run time, after the cluster has started,
against a file the backend generated or a 400 from the control endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fakekubelet.control import BadRequest, churn_changes, merge_faults
from fakekubelet.model import Faults
from fakekubelet.spec import SpecError, load_spec_node, workload_from_dict
from scenarios.yamlschema import (
    Schema,
    SchemaError,
    Str,
    _Ctx,
    _kind,
    compose_file,
    key_path,
    plain,
)


def _spec_error(err: SpecError, source: str, node: yaml.Node, path: str,
                root: str = "") -> SchemaError:
    """fakekubelet's ``file:line: path: reason (expected ...)`` as a SchemaError under ``path``.

    ``root`` is the name fakekubelet gives the validated value itself (``workload``), replaced
    by ``path``.
    """
    inner = "" if err.path in ("", "<top>", root) else err.path
    if root and inner.startswith(root + "."):
        inner = inner[len(root) + 1:]
    full = f"{path}.{inner}" if path and inner else path or inner
    line = err.line if err.line is not None else node.start_mark.line + 1
    reason = err.reason + (f" (expected {err.expected})" if err.expected else "")
    return SchemaError(source, line, full, reason)


class Fleet(Schema):
    """An inline fleet spec, validated by fakekubelet on this file's nodes (so on its lines)."""

    description = "a fleet spec (docs/fakekubelet-spec.md)"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        try:
            load_spec_node(node, ctx.source, Path(ctx.source).parent)
        except SpecError as err:
            raise _spec_error(err, ctx.source, node, path) from None
        return plain(node)


class FleetFile(Schema):
    """A fleet spec file relative to the scenario, read and validated when the scenario loads.

    Errors inside the fleet file name that file and its line, then the scenario line that
    refers to it; a file that cannot be read is an error of the scenario's line.
    """

    description = "a fleet spec file, relative to the scenario"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        name = Str().check(node, path, ctx)
        where = Path(ctx.source).parent / name
        shown = os.path.normpath(where)
        referrer = f"the fleetFile of {ctx.source}:{node.start_mark.line + 1}"
        try:
            root = compose_file(where, max_bytes=self.max_bytes, source=shown, what="fleet file")
        except SchemaError as err:
            if err.line is None:  # the file cannot be read: the scenario's reference is wrong
                reason = err.message.removeprefix("cannot read file: ")
                raise ctx.fail(node, path, f"cannot read {shown}: {reason}") from None
            raise SchemaError(err.source, err.line, err.path,
                              f"{err.message} ({referrer})") from None
        try:
            load_spec_node(root, shown, where.parent)
        except SpecError as err:
            inner = _spec_error(err, shown, root, "")
            raise SchemaError(shown, inner.line, inner.path,
                              f"{inner.message} ({referrer})") from None
        return name


def _each_key(node: yaml.Node, path: str, ctx: _Ctx, what: str,
              validate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Run a control-endpoint validator key by key, so a bad key is reported on its own line.

    The validators answer ``BadRequest("<prefix>.<key>: reason")``; the prefix is replaced by
    the scenario's path.
    """
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, path, f"expected {what}, got {_kind(node)}")
    out: dict[str, Any] = {}
    for knode, vnode in node.value:
        key = plain(knode)
        sub = key_path(path, key)
        if not isinstance(key, str):
            raise ctx.fail(knode, sub, f"expected {what}: keys are names, got {key!r}")
        if key in out:
            raise ctx.fail(knode, sub, "duplicate key")
        value = plain(vnode)
        try:
            validate({key: value})
        except BadRequest as err:
            raise ctx.fail(vnode, sub, str(err).split(": ", 1)[-1]) from None
        out[key] = value
    return out


class FaultChanges(Schema):
    """A `fault` step's `set`: the fields of fakekubelet's Faults, camelCase or snake_case."""

    description = "a mapping of fault settings (docs/fakekubelet-spec.md, faults)"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        changes = _each_key(node, path, ctx, self.description,
                            lambda one: merge_faults(Faults(), one))
        try:
            Faults(**merge_faults(Faults(), changes))
        except (BadRequest, TypeError, ValueError) as err:
            raise ctx.fail(node, path, str(err)) from None
        return changes


class ChurnChanges(Schema):
    """A `churn` step's `set`: churn rates and limits, optionally for one `group`."""

    description = "a mapping of churn settings (docs/fakekubelet-spec.md, churn)"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        return _each_key(node, path, ctx, self.description, churn_changes)


class WorkloadChange(Schema):
    """A `workload` step's `set`: a container's cpu/memory shapes as in the fleet spec."""

    description = "a workload such as {cpu: 250m, memory: 64Mi}"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        try:
            workload_from_dict(node, ctx.source)
        except SpecError as err:
            raise _spec_error(err, ctx.source, node, path, root="workload") from None
        return plain(node)
