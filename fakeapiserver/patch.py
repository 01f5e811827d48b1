"""Patch application: JSON merge patch, JSON patch and (enough of) strategic merge patch.

Strategic merge patch needs each list field's merge key. Upstream takes it from Go struct tags;
here a small table covers the fields ``kubectl apply`` touches in our manifests (containers,
ports, env, volumes, volume mounts, conditions, …). Lists without a key are replaced whole,
which is also upstream's behaviour for atomic lists.

Every function returns a NEW object and never mutates its inputs, so a patch that fails leaves
the stored object untouched. Failures raise :class:`PatchError`.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """A patch that cannot be decoded or applied."""


# ---------------------------------------------------------------------------- JSON merge patch


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------- JSON patch


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise PatchError(f"doc is missing path: \"{path}\": missing value")
    return cur, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise PatchError(f"doc is missing path: \"{path}\": missing value")


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise PatchError(f"add operation does not apply: doc is missing path: \"{path}\"")
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: \"{path}\"")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise PatchError(
            f"remove operation does not apply: doc is missing path: \"{path}\"")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test)."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("json patch operation is missing \"op\"")
        kind = op["op"]
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"json patch operation {kind!r} is missing \"path\"")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, copy.deepcopy(op.get("value"))) if _pointer(
                path) else copy.deepcopy(op.get("value"))
        elif kind in ("move", "copy"):
            src = op.get("from")
            if not isinstance(src, str):
                raise PatchError(f"json patch operation {kind!r} is missing \"from\"")
            value = copy.deepcopy(_get(doc, src))
            if kind == "move":
                doc = _remove(doc, src)
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# ---------------------------------------------------------------------------- strategic merge

#: Merge keys by (parent field, list field) first, then by list field alone.
MERGE_KEYS: dict[tuple[str, str] | str, str] = {
    ("spec", "ports"): "port",  # Service ports
    ("containers", "ports"): "containerPort",
    ("initContainers", "ports"): "containerPort",
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "taints": "key",
    "addresses": "type",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "resourceClaims": "name",
    "secrets": "name",
}
#: Lists of scalars merged as sets (patchStrategy=merge on a primitive list).
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})

_DIRECTIVE = "$patch"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"
_RETAIN_KEYS = "$retainKeys"


def merge_key(parent: str, field: str) -> str | None:
    return MERGE_KEYS.get((parent, field)) or MERGE_KEYS.get(field)


def strategic_merge_patch(target: Any, patch: Any, parent: str = "") -> Any:
    """Apply a strategic merge patch to ``target`` (a dict) and return the result."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _smp_map(copy.deepcopy(target) if isinstance(target, dict) else {}, patch, parent)


def _smp_map(target: dict[str, Any], patch: dict[str, Any], parent: str) -> dict[str, Any]:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return {}
    if directive is not None:
        raise PatchError(f"Unknown patch type: {directive} in map: {patch}")
    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError("$retainKeys must be a list")
        target = {k: v for k, v in target.items() if k in retain}
    for key, value in patch.items():
        if key in (_RETAIN_KEYS, _DIRECTIVE) or key.startswith(_ORDER_PREFIX):
            continue
        if key.startswith(_DELETE_PRIMITIVE_PREFIX):
            field = key[len(_DELETE_PRIMITIVE_PREFIX):]
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list")
            if isinstance(target.get(field), list):
                target[field] = [v for v in target[field] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            target[key] = _smp_map(current if isinstance(current, dict) else {}, value, key)
        elif isinstance(value, list):
            target[key] = _smp_list(target.get(key), value, parent, key)
        else:
            target[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith(_ORDER_PREFIX):
            field = key[len(_ORDER_PREFIX):]
            if isinstance(value, list) and isinstance(target.get(field), list):
                target[field] = _reorder(target[field], value, merge_key(parent, field))
    return target


def _smp_list(current: Any, patch: list[Any], parent: str, field: str) -> list[Any]:
    existing: list[Any] = list(current) if isinstance(current, list) else []
    if any(isinstance(p, dict) and p.get(_DIRECTIVE) == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch
                if not (isinstance(p, dict) and p.get(_DIRECTIVE) == "replace")]
    if field in MERGED_PRIMITIVE_LISTS:
        out = list(existing)
        for item in patch:
            if item not in out:
                out.append(copy.deepcopy(item))
        return out
    key = merge_key(parent, field)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return copy.deepcopy(patch)
    out = [copy.deepcopy(e) for e in existing]
    for item in patch:
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, e in enumerate(out)
                    if isinstance(e, dict) and e.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(_smp_map({}, item, field))
        else:
            out[idx] = _smp_map(out[idx], item, field)
    return out


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """Honour ``$setElementOrder``: listed elements first in that order, the rest after."""
    def ident(item: Any) -> Any:
        if key is not None and isinstance(item, dict):
            return item.get(key)
        return item

    wanted = [o.get(key) if (key and isinstance(o, dict)) else o for o in order]
    ranked = {repr(w): i for i, w in enumerate(wanted)}
    return sorted(items, key=lambda it: ranked.get(repr(ident(it)), len(ranked)))


def apply_patch(target: dict[str, Any], patch: Any, content_type: str) -> dict[str, Any]:
    """Dispatch on the PATCH request's content type."""
    ct = content_type.split(";")[0].strip().lower()
    if ct == "application/merge-patch+json":
        if not isinstance(patch, dict):
            raise PatchError("merge patch must be a JSON object")
        result = json_merge_patch(target, patch)
    elif ct == "application/strategic-merge-patch+json":
        result = strategic_merge_patch(target, patch)
    elif ct == "application/json-patch+json":
        result = json_patch(target, patch)
    elif ct == "application/apply-patch+yaml":
        result = strategic_merge_patch(target, patch)
    else:
        raise PatchError(f"unsupported patch type {content_type!r}")
    if not isinstance(result, dict):
        raise PatchError("patch result is not an object")
    return result
