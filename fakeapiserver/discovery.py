"""Discovery documents: legacy (/api, /apis, /apis/<g>, /apis/<g>/<v>) and aggregated.

Behaviour by emulated Kubernetes version (aggregated discovery is KEP-3352):

* before 1.27: legacy only — aggregated Accept headers get a plain ``application/json`` reply;
* 1.27–1.29: aggregated ``apidiscovery.k8s.io/v2beta1``;
* 1.30–1.32: ``v2`` and ``v2beta1``;
* 1.33+: ``v2`` only (v2beta1 was removed upstream; the exact release is our inference).

The reply's Content-Type echoes exactly the media type the client offered and we chose,
otherwise client-go ignores the body. Legacy ``/apis`` lists every APIService group whether or
not it is available; aggregated discovery publishes non-local groups with the freshness and
resources the aggregation layer reports (:meth:`Discovery.set_aggregated`), ``Stale`` with no
resources until then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .kinds import Kind, KindRegistry

Obj = dict[str, Any]

AGGREGATED_GROUP = "apidiscovery.k8s.io"
AGGREGATED_AS = "APIGroupDiscoveryList"


def aggregated_content_type(version: str) -> str:
    return f"application/json;g={AGGREGATED_GROUP};v={version};as={AGGREGATED_AS}"


def parse_version(text: str) -> tuple[int, int]:
    """``"1.30"`` / ``"v1.30.2"`` / ``"1.29+"`` → (1, 30)."""
    cleaned = text.strip().lstrip("v")
    parts = cleaned.split(".")
    try:
        major = int(parts[0])
        minor = int("".join(ch for ch in parts[1] if ch.isdigit())) if len(parts) > 1 else 0
    except (ValueError, IndexError):
        raise ValueError(f"invalid Kubernetes version {text!r}; expected e.g. 1.30") from None
    return major, minor


def supported_aggregated_versions(kube_version: tuple[int, int]) -> tuple[str, ...]:
    if kube_version < (1, 27):
        return ()
    if kube_version < (1, 30):
        return ("v2beta1",)
    if kube_version < (1, 33):
        return ("v2", "v2beta1")
    return ("v2",)


def negotiate_aggregated(accept: str, kube_version: tuple[int, int]) -> str | None:
    """The aggregated discovery version to answer with, or None for the legacy document."""
    supported = supported_aggregated_versions(kube_version)
    for media in accept.split(","):
        params = {}
        pieces = [p.strip() for p in media.split(";")]
        if pieces[0] != "application/json":
            continue
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip()] = value.strip()
        if params.get("g") == AGGREGATED_GROUP and params.get("as") == AGGREGATED_AS:
            version = params.get("v", "")
            if version in supported:
                return version
    return None


@dataclass
class AggregatedVersion:
    """What the aggregation layer learnt about one extension group version."""

    group: str
    version: str
    resources: list[Obj] = field(default_factory=list)
    freshness: str = "Current"
    group_priority: int = 100
    version_priority: int = 100


def _subresource_entry(kind: Kind, sub: Any) -> Obj:
    entry: Obj = {"subresource": sub.name}
    if sub.kind:
        entry["responseKind"] = {"group": sub.group, "version": sub.version, "kind": sub.kind}
    else:
        entry["responseKind"] = {"group": kind.group, "version": kind.version,
                                 "kind": kind.kind}
    entry["verbs"] = list(sub.verbs)
    return entry


def aggregated_resource(kind: Kind) -> Obj:
    """One resource in an APIVersionDiscovery."""
    entry: Obj = {
        "resource": kind.plural,
        "responseKind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "scope": "Namespaced" if kind.namespaced else "Cluster",
        "singularResource": kind.singular,
        "verbs": list(kind.verbs),
    }
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    if kind.categories:
        entry["categories"] = list(kind.categories)
    if kind.subresources:
        entry["subresources"] = [_subresource_entry(kind, s) for s in kind.subresources]
    return entry


def legacy_resource(kind: Kind) -> list[Obj]:
    """The APIResource entries (resource plus ``res/sub``) in an APIResourceList."""
    entry: Obj = {"name": kind.plural, "singularName": kind.singular,
                  "namespaced": kind.namespaced, "kind": kind.kind, "verbs": list(kind.verbs)}
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    if kind.categories:
        entry["categories"] = list(kind.categories)
    out = [entry]
    for sub in kind.subresources:
        sub_entry: Obj = {"name": f"{kind.plural}/{sub.name}", "singularName": "",
                          "namespaced": kind.namespaced, "kind": sub.kind or kind.kind,
                          "verbs": list(sub.verbs)}
        if sub.kind:
            sub_entry["group"] = sub.group
            sub_entry["version"] = sub.version
        out.append(sub_entry)
    return out


class Discovery:
    """Builds every discovery document from the kinds table plus APIService objects.

    ``apiservices`` returns the stored APIService objects (called on each request, so
    registrations show up at once).
    """

    def __init__(self, registry: KindRegistry, kube_version: tuple[int, int],
                 apiservices: Callable[[], Iterable[Obj]] = lambda: ()) -> None:
        self.registry = registry
        self.kube_version = kube_version
        self._apiservices = apiservices
        self._aggregated: dict[tuple[str, str], AggregatedVersion] = {}

    # -- hooks for the aggregation layer ----------------------------------------------
    def set_aggregated(self, group: str, version: str, resources: list[Obj] | None = None,
                       freshness: str = "Current", group_priority: int = 100,
                       version_priority: int = 100) -> None:
        """Publish (or refresh) an extension group version in aggregated discovery.

        ``resources`` are APIResourceDiscovery dicts (``resource``, ``responseKind``,
        ``scope``, ``singularResource``, ``verbs``); ``freshness`` is Current or Stale.
        """
        self._aggregated[(group, version)] = AggregatedVersion(
            group, version, list(resources or []), freshness, group_priority, version_priority)

    def remove_aggregated(self, group: str, version: str) -> None:
        self._aggregated.pop((group, version), None)

    def aggregated_entry(self, group: str, version: str) -> AggregatedVersion | None:
        return self._aggregated.get((group, version))

    # -- helpers ------------------------------------------------------------------------
    def _builtin_groups(self) -> list[tuple[str, list[str], int]]:
        groups: dict[str, tuple[list[str], int]] = {}
        for kind in self.registry.all():
            versions, _prio = groups.setdefault(kind.group, ([], kind.group_priority))
            if kind.version not in versions:
                versions.append(kind.version)
        return [(g, v, p) for g, (v, p) in groups.items()]

    def _remote_versions(self) -> list[AggregatedVersion]:
        """Non-local APIServices (spec.service set), merged with what was published."""
        builtin = {(k.group, k.version) for k in self.registry.all()}
        seen: dict[tuple[str, str], AggregatedVersion] = {}
        for svc in self._apiservices():
            spec = svc.get("spec") or {}
            group, version = spec.get("group", ""), spec.get("version", "")
            if not version or (group, version) in builtin:
                continue
            published = self._aggregated.get((group, version))
            if published is None:
                published = AggregatedVersion(group, version, [], "Stale",
                                              int(spec.get("groupPriorityMinimum") or 100),
                                              int(spec.get("versionPriority") or 100))
            seen[(group, version)] = published
        for key, entry in self._aggregated.items():
            seen.setdefault(key, entry)
        return list(seen.values())

    def _all_groups(self) -> list[tuple[str, list[str], int]]:
        """(group, versions in preference order, priority) for /apis, sorted like upstream."""
        groups = [g for g in self._builtin_groups() if g[0] != ""]
        extra: dict[str, tuple[list[AggregatedVersion], int]] = {}
        for entry in self._remote_versions():
            versions, prio = extra.setdefault(entry.group, ([], entry.group_priority))
            versions.append(entry)
            extra[entry.group] = (versions, max(prio, entry.group_priority))
        for group, (versions, prio) in extra.items():
            names = [v.version for v in sorted(versions, key=lambda v: -v.version_priority)]
            existing = next((g for g in groups if g[0] == group), None)
            if existing is not None:
                existing[1].extend(n for n in names if n not in existing[1])
            else:
                groups.append((group, names, prio))
        # stable sort: higher priority first, then by name
        return sorted(groups, key=lambda g: (-g[2], g[0]))

    # -- legacy documents ---------------------------------------------------------------
    def api_versions(self, server_address: str = "127.0.0.1:6443") -> Obj:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    @staticmethod
    def _group_obj(group: str, versions: list[str]) -> Obj:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def api_group_list(self) -> Obj:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group_obj(g, v) for g, v, _ in self._all_groups()]}

    def api_group(self, group: str) -> Obj | None:
        for name, versions, _ in self._all_groups():
            if name == group:
                body = self._group_obj(name, versions)
                return {"kind": "APIGroup", "apiVersion": "v1", **body}
        return None

    def resource_list(self, group: str, version: str) -> Obj | None:
        """APIResourceList for a built-in group version (None if not built in)."""
        kinds = [k for k in self.registry.all() if k.group == group and k.version == version]
        if not kinds:
            return None
        resources: list[Obj] = []
        for kind in kinds:
            resources.extend(legacy_resource(kind))
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": resources}

    def is_builtin_group(self, group: str) -> bool:
        return any(k.group == group for k in self.registry.all())

    # -- aggregated documents ------------------------------------------------------------
    def _aggregated_builtin_item(self, group: str, versions: list[str]) -> Obj:
        out_versions = []
        for version in versions:
            kinds = [k for k in self.registry.all()
                     if k.group == group and k.version == version]
            out_versions.append({"version": version,
                                 "resources": [aggregated_resource(k) for k in kinds],
                                 "freshness": "Current"})
        metadata: Obj = {"creationTimestamp": None}
        if group:
            metadata["name"] = group
        return {"metadata": metadata, "versions": out_versions}

    def aggregated(self, core: bool, version: str) -> Obj:
        """APIGroupDiscoveryList for ``/api`` (core) or ``/apis``."""
        items: list[Obj] = []
        if core:
            items.append(self._aggregated_builtin_item("", ["v1"]))
        else:
            remote = {(e.group, e.version): e for e in self._remote_versions()}
            for group, versions, _ in self._all_groups():
                if self.is_builtin_group(group):
                    items.append(self._aggregated_builtin_item(group, [
                        v for v in versions if (group, v) not in remote]))
                    continue
                out_versions = []
                for v in versions:
                    entry = remote[(group, v)]
                    item: Obj = {"version": v}
                    if entry.resources and entry.freshness != "Stale":
                        item["resources"] = entry.resources
                    item["freshness"] = entry.freshness
                    out_versions.append(item)
                items.append({"metadata": {"name": group, "creationTimestamp": None},
                              "versions": out_versions})
        return {"kind": AGGREGATED_AS, "apiVersion": f"{AGGREGATED_GROUP}/{version}",
                "metadata": {}, "items": items}


# ---------------------------------------------------------------------------- OpenAPI
# Just enough OpenAPI for kubectl's "does the server validate fields?" check, so that
# create/apply/replace work without --validate=false: every create/update/patch operation
# declares the ``fieldValidation`` query parameter and its group-version-kind. No schemas
# (kubectl then relies on server-side validation, which this server does not enforce).


def _gv_path(kind: Kind) -> str:
    return f"api/{kind.version}" if not kind.group else f"apis/{kind.group}/{kind.version}"


def _collection_path(kind: Kind) -> str:
    middle = "/namespaces/{namespace}" if kind.namespaced else ""
    return f"/{_gv_path(kind)}{middle}/{kind.plural}"


def openapi_v3_root(registry: KindRegistry) -> Obj:
    paths = sorted({_gv_path(k) for k in registry.all()})
    return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={_hash(p)}"}
                      for p in paths}}


def _hash(text: str) -> str:
    import hashlib

    return hashlib.sha512(text.encode()).hexdigest()[:128].upper()


_FIELD_VALIDATION: Obj = {"name": "fieldValidation", "in": "query", "description":
                          "fieldValidation instructs the server on how to handle objects in "
                          "the request containing unknown or duplicate fields.",
                          "schema": {"type": "string", "uniqueItems": True}}


def openapi_v3_document(registry: KindRegistry, gv_path: str, kube_version: tuple[int, int]
                        ) -> Obj | None:
    kinds = [k for k in registry.all() if _gv_path(k) == gv_path and not k.virtual]
    virtual = [k for k in registry.all() if _gv_path(k) == gv_path and k.virtual]
    if not kinds and not virtual:
        return None
    paths: Obj = {}
    for kind in kinds + virtual:
        gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}

        def op(action: str, gvk: Obj = gvk) -> Obj:
            return {"parameters": [_FIELD_VALIDATION], "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk}

        paths[_collection_path(kind)] = {"post": op("post")}
        if not kind.virtual:
            paths[_collection_path(kind) + "/{name}"] = {"put": op("put"),
                                                         "patch": op("patch")}
    major, minor = kube_version
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": f"v{major}.{minor}.0"},
            "paths": paths, "components": {"schemas": {}}}


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb(number: int, value: bytes | str | bool) -> bytes:
    if isinstance(value, bool):
        return _pb_varint(number << 3) + _pb_varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return _pb_varint(number << 3 | 2) + _pb_varint(len(data)) + data


def openapi_v2_protobuf(registry: KindRegistry, kube_version: tuple[int, int]) -> bytes:
    """A gnostic ``openapi_v2.Document`` (protobuf) with PATCH operations declaring
    ``fieldValidation`` — what kubectl 1.27/1.28 look for before relying on the server."""
    query = (_pb(2, "query") + _pb(4, "fieldValidation") + _pb(6, "string") + _pb(20, True))
    parameter = _pb(1, _pb(2, _pb(3, query)))  # ParametersItem.parameter.non_body.query
    paths = b""
    for kind in registry.all():
        if kind.virtual:
            continue
        gvk_yaml = f"group: {kind.group!r}\nkind: {kind.kind}\nversion: {kind.version}\n"
        ext = _pb(1, "x-kubernetes-group-version-kind") + _pb(2, _pb(2, gvk_yaml))
        action = _pb(1, "x-kubernetes-action") + _pb(2, _pb(2, "patch\n"))
        operation = (_pb(5, f"patch{kind.kind}") + _pb(8, parameter) + _pb(13, ext)
                     + _pb(13, action))
        item = _pb(1, _collection_path(kind) + "/{name}") + _pb(2, _pb(8, operation))
        paths += _pb(2, item)
    major, minor = kube_version
    info = _pb(1, "Kubernetes") + _pb(2, f"v{major}.{minor}.0")
    return _pb(1, "2.0") + _pb(2, info) + _pb(8, paths)
