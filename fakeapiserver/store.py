"""The object store: one global resourceVersion counter, generic over the kinds table.

Why a hand-written store: the control plane must reproduce kube-apiserver's exact semantics
(resourceVersion conflicts, watch history with 410 ``Expired``, selector transitions,
serialized-once objects for cheap 30,000-pod lists); mocks such as kmock don't aim for that.

Every write validates and builds the new object first and only then swaps it in, so a failing
request never leaves a partial change. Errors are :class:`ApiError` (a metav1.Status).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import ipaddress
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .apistatus import StatusError
from .hpaconvert import cpu_metric, hpa_v1_to_v2, hpa_v2_to_v1
from .kinds import REGISTRY, Kind, KindRegistry
from .patch import PatchError, apply_patch
from .selectors import FieldSelector, LabelSelector
from .validation import APPLY_PATCH, BODY, Rejected, check_types, rules
from .validation.fielderrors import FieldError, invalid
from .watch import Change, Encoder, StoredObject, Watcher, encode_full

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ApiError(StatusError):
    """An error answered as a ``metav1.Status`` with kube-apiserver's reason/code/message."""

    # -- constructors with upstream texts -------------------------------------------------
    @staticmethod
    def _details(kind: Kind, name: str) -> dict[str, Any]:
        details: dict[str, Any] = {"name": name}
        if kind.group:
            details["group"] = kind.group
        details["kind"] = kind.plural
        return details

    @classmethod
    def not_found(cls, kind: Kind, name: str) -> ApiError:
        return cls(404, "NotFound", f'{kind.resource} "{name}" not found',
                   cls._details(kind, name))

    @classmethod
    def already_exists(cls, kind: Kind, name: str) -> ApiError:
        return cls(409, "AlreadyExists", f'{kind.resource} "{name}" already exists',
                   cls._details(kind, name))

    @classmethod
    def conflict(cls, kind: Kind, name: str, why: str = "the object has been modified; please "
                 "apply your changes to the latest version and try again") -> ApiError:
        return cls(409, "Conflict", f'Operation cannot be fulfilled on {kind.resource} "{name}": '
                   f"{why}", cls._details(kind, name))

    @classmethod
    def invalid(cls, kind: Kind, name: str, field: str, detail: str,
                cause_reason: str = "FieldValueInvalid") -> ApiError:
        """One field error; ``detail`` is its ErrorBody (``Invalid value: -1: must be …``)."""
        qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
        details: dict[str, Any] = {"name": name} if name else {}
        if kind.group:
            details["group"] = kind.group
        details["kind"] = kind.kind
        details["causes"] = [{"reason": cause_reason, "message": detail, "field": field}]
        return cls(422, "Invalid", f'{qualified} "{name}" is invalid: {field}: {detail}',
                   details)

    @classmethod
    def invalid_fields(cls, kind: Kind, name: str, errors: list[FieldError]) -> ApiError:
        """``errors.NewInvalid`` for ``kind``: one cause per field error."""
        return cls.rejected(Rejected.invalid(kind.group, kind.kind, name, errors))

    @classmethod
    def rejected(cls, rejected: Rejected) -> ApiError:
        return cls(rejected.code, rejected.reason, rejected.message, rejected.details)

    @classmethod
    def not_found_path(cls) -> ApiError:
        return cls(404, "NotFound", "the server could not find the requested resource")

    @classmethod
    def method_not_allowed(cls) -> ApiError:
        return cls(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource")

    @classmethod
    def expired(cls, requested: int, oldest: int) -> ApiError:
        return cls(410, "Expired", f"too old resource version: {requested} ({oldest})")


def rfc3339(ts: float) -> str:
    """Seconds-precision RFC 3339 in UTC, as metav1.Time serializes."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class ListResult:
    """One page of a list: object versions, the list RV and the continue token."""

    items: list[StoredObject]
    resource_version: int
    continue_token: str | None = None


Listener = Callable[[Change], None]


class Store:
    """All objects of all kinds, a bounded change history, and the live watchers."""

    def __init__(
        self,
        registry: KindRegistry = REGISTRY,
        clock: Callable[[], float] = time.time,
        history_limit: int = 10_000,
        enforce_namespaces: bool = True,
        service_cidr: str = "10.96.0.0/12",
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.enforce_namespaces = enforce_namespaces
        self._rv = 1
        self._objects: dict[str, dict[tuple[str, str], StoredObject]] = {}
        self._sorted: dict[str, list[tuple[str, str]] | None] = {}
        self._history: deque[Change] = deque()
        self._history_limit = history_limit
        self._floor = 0  # events with rv <= floor are gone
        self._watchers: dict[str, set[Watcher]] = {}
        self._listeners: list[tuple[frozenset[str] | None, Listener]] = []
        self._owners: dict[str, set[tuple[str, str, str]]] = {}
        self._node_index: dict[str, set[tuple[str, str]]] = {}
        self._service_net = ipaddress.ip_network(service_cidr)
        self._next_ip = 10
        self._rand = uuid.uuid4
        self._dry_run = False
        self._validating = False
        #: Who finishes a graceful pod deletion: called with a bound pod, True when a kubelet
        #: stand-in runs it (and deletes it with grace 0 once its containers stopped). None:
        #: every pod is deleted at once, as before graceful deletion was modelled.
        self.pod_terminator: Callable[[Obj], bool] | None = None

    # ------------------------------------------------------------------ basics
    @property
    def resource_version(self) -> int:
        """The current global resourceVersion (the RV of the last write)."""
        return self._rv

    def kind(self, ref: Kind | str) -> Kind:
        """Resolve a kind given as Kind, plural, short name, Kind name or ``plural.group``."""
        if isinstance(ref, Kind):
            return ref
        return self.registry.lookup(ref)

    def storage_kind(self, ref: Kind | str) -> Kind:
        """The kind objects are stored as (differs for extra served versions)."""
        return self.registry.storage(self.kind(ref))

    def view(self, kind: Kind, stored: StoredObject) -> StoredObject:
        """``stored`` as ``kind``'s version (identity unless a conversion is needed)."""
        if kind.is_storage or stored.kind.version == kind.version:
            return stored
        converted = convert(stored.obj, kind)
        return StoredObject(kind, converted, stored.rv)

    def _to_storage(self, req: Kind, obj: Obj, old: StoredObject | None) -> Obj:
        if req.is_storage:
            return obj
        return convert(obj, self.registry.storage(req), old.obj if old is not None else None)

    def _bucket(self, kind: Kind) -> dict[tuple[str, str], StoredObject]:
        bucket = self._objects.get(kind.key)
        if bucket is None:
            bucket = self._objects[kind.key] = {}
        return bucket

    def _next_rv(self) -> int:
        if self._dry_run:
            return self._rv
        self._rv += 1
        return self._rv

    @contextlib.contextmanager
    def api_request(self, dry_run: bool = False) -> Iterator[None]:
        """Within this block writes are an API client's: validated as kube-apiserver validates
        them (422 ``Invalid``; harness and controller writes skip that), and not committed
        with ``dry_run`` (``?dryRun=All``). Only for synchronous store calls."""
        previous = self._validating
        self._validating = True
        try:
            with self.dry_run(dry_run):
                yield
        finally:
            self._validating = previous

    @contextlib.contextmanager
    def dry_run(self, enabled: bool = True) -> Iterator[None]:
        """Within this block writes are validated and answered but not committed
        (``?dryRun=All``). Only for synchronous store calls."""
        previous = self._dry_run
        self._dry_run = enabled or previous
        try:
            yield
        finally:
            self._dry_run = previous

    def _now(self) -> str:
        return rfc3339(self.clock())

    def _random_suffix(self, n: int = 5) -> str:
        value = self._rand().int
        chars = []
        for _ in range(n):
            value, idx = divmod(value, len(_RANDOM_ALPHABET))
            chars.append(_RANDOM_ALPHABET[idx])
        return "".join(chars)

    # ------------------------------------------------------------------ reads
    def get_stored(self, kind: Kind | str, name: str, namespace: str | None = None
                   ) -> StoredObject:
        k = self.storage_kind(kind)
        stored = self._bucket(k).get(((namespace or "default") if k.namespaced else "", name))
        if stored is None:
            raise ApiError.not_found(k, name)
        return stored

    def get(self, kind: Kind | str, name: str, namespace: str | None = None) -> Obj:
        """A private copy of one object; raises ApiError NotFound."""
        req = self.kind(kind)
        return self.view(req, self.get_stored(req, name, namespace)).copy()

    def try_get(self, kind: Kind | str, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return self.get(kind, name, namespace)
        except ApiError:
            return None

    def _sorted_keys(self, kind: Kind) -> list[tuple[str, str]]:
        keys = self._sorted.get(kind.key)
        if keys is None:
            keys = sorted(self._bucket(kind))
            self._sorted[kind.key] = keys
        return keys

    def _candidates(self, kind: Kind, namespace: str | None, fields: FieldSelector,
                    start_after: tuple[str, str] | None) -> Iterator[StoredObject]:
        bucket = self._bucket(kind)
        name = fields.exact("metadata.name")
        if name is not None:
            keys: Iterable[tuple[str, str]] = sorted(
                k for k in ([(namespace, name)] if namespace is not None else
                            [k for k in bucket if k[1] == name]) if k in bucket)
        elif kind.plural == "pods" and fields.exact("spec.nodeName") is not None:
            node = fields.exact("spec.nodeName") or ""
            keys = sorted(k for k in self._node_index.get(node, ()) if
                          namespace is None or k[0] == namespace)
        else:
            all_keys = self._sorted_keys(kind)
            lo, hi = 0, len(all_keys)
            if namespace is not None and kind.namespaced:
                lo = bisect.bisect_left(all_keys, (namespace, ""))
                hi = bisect.bisect_left(all_keys, (namespace + "\x00", ""))
            if start_after is not None:
                lo = max(lo, bisect.bisect_right(all_keys, start_after))
            keys = (all_keys[i] for i in range(lo, hi))
        for key in keys:
            if start_after is not None and key <= start_after:
                continue
            stored = bucket.get(key)
            if stored is not None:
                yield stored

    def list_stored(
        self,
        kind: Kind | str,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> ListResult:
        """One page of matching object versions, sorted by namespace then name."""
        k = self.storage_kind(kind)
        labels = labels or LabelSelector()
        fields = fields or FieldSelector()
        list_rv = self._rv
        start_after: tuple[str, str] | None = None
        if continue_token:
            list_rv, start_after = self._decode_continue(continue_token)
        ns = namespace if (namespace and k.namespaced) else None
        items: list[StoredObject] = []
        more = False
        for stored in self._candidates(k, ns, fields, start_after):
            if not labels.empty and not labels.matches(stored.labels):
                continue
            if not fields.empty and not fields.matches(stored.obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(stored)
        token = None
        if more and items:
            last = items[-1]
            token = self._encode_continue(list_rv, (last.namespace, last.name))
        return ListResult(items, list_rv, token)

    def list(self, kind: Kind | str, namespace: str | None = None,
             labels: LabelSelector | None = None, fields: FieldSelector | None = None
             ) -> list[Obj]:
        """Private copies of all matching objects (harness convenience)."""
        req = self.kind(kind)
        return [self.view(req, s).copy()
                for s in self.list_stored(req, namespace, labels, fields).items]

    @staticmethod
    def _encode_continue(rv: int, key: tuple[str, str]) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{key[0]}/{key[1]}"})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode_continue(self, token: str) -> tuple[int, tuple[str, str]]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            rv = int(data["rv"])
            ns, _, name = str(data["start"]).partition("/")
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise ApiError.bad_request(
                f"continue key is not valid: {exc}") from None
        if rv <= self._floor:
            raise ApiError(410, "Expired",
                           "The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue "
                           "parameter, or use the continue token in this response to retrieve "
                           "the remainder of the results. Continuing with the provided token "
                           "results in an inconsistent list - objects that were created, "
                           "modified, or deleted between the time the first chunk was returned "
                           "and now may show up in the list.")
        return rv, (ns, name)

    # ------------------------------------------------------------------ writes
    def _commit(self, change: Change) -> None:
        if self._dry_run:
            return
        kind = change.kind
        key = (change.new.namespace, change.new.name)
        bucket = self._bucket(kind)
        if change.type == "DELETED":
            bucket.pop(key, None)
            self._sorted[kind.key] = None
        else:
            if key not in bucket:
                self._sorted[kind.key] = None
            bucket[key] = change.new
        self._index(change)
        self._history.append(change)
        if len(self._history) > self._history_limit:
            dropped = self._history.popleft()
            self._floor = dropped.rv
        for watcher in list(self._watchers.get(kind.key, ())):
            watcher.offer(change)
        for kinds, listener in list(self._listeners):
            if kinds is None or kind.key in kinds:
                try:
                    listener(change)
                except Exception:  # a broken listener must not break the write
                    log.exception("store listener failed")

    def _index(self, change: Change) -> None:
        kind_key = change.kind.key
        ident = (kind_key, change.new.namespace, change.new.name)
        if change.old is not None:
            for ref in change.old.obj.get("metadata", {}).get("ownerReferences") or []:
                self._owners.get(ref.get("uid", ""), set()).discard(ident)
        if change.type != "DELETED":
            for ref in change.new.obj.get("metadata", {}).get("ownerReferences") or []:
                self._owners.setdefault(ref.get("uid", ""), set()).add(ident)
        if change.kind.plural == "pods" and not change.kind.group:
            key = (change.new.namespace, change.new.name)
            if change.old is not None:
                old_node = (change.old.obj.get("spec") or {}).get("nodeName") or ""
                self._node_index.get(old_node, set()).discard(key)
            if change.type != "DELETED":
                node = (change.new.obj.get("spec") or {}).get("nodeName") or ""
                self._node_index.setdefault(node, set()).add(key)

    def _validate_name(self, kind: Kind, name: str) -> None:
        """The name rule of the kind (always applied, also to harness writes)."""
        messages = rules.name_rule(kind.group, kind.kind)(name, False)
        if messages:
            raise ApiError.invalid_fields(kind, name, [invalid("metadata.name", name, m)
                                                       for m in messages])

    def _validate(self, kind: Kind, obj: Obj, old: StoredObject | None,
                  subresource: str | None = None) -> None:
        """kube-apiserver's validation of an API client's write (not of harness writes)."""
        errors = rules.validate(kind.group, kind.kind, kind.namespaced, obj,
                                old.obj if old is not None else None, subresource or "")
        if errors:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise ApiError.invalid_fields(kind, name, errors)

    def _check_shape(self, kind: Kind, obj: Any, how: str = BODY, patch: Any = None) -> Obj:
        """Refuse what kube-apiserver's decoder refuses (values that don't fit the Go types,
        in its words for the way the object arrived: a body or one of the patch types) and
        bodies of another kind; fill in apiVersion and kind."""
        if not isinstance(obj, dict):
            raise ApiError.bad_request(f"the body of the request must be a {kind.kind} object")
        try:
            check_types(kind.group, kind.version, kind.kind, obj, how, patch)
        except Rejected as rejected:
            raise ApiError.rejected(rejected) from None
        if obj.get("metadata") is None:
            obj["metadata"] = {}
        api_version = obj.get("apiVersion")
        if api_version not in (None, "", kind.api_version) or obj.get("kind") not in (
                None, "", kind.kind):
            raise ApiError.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({kind.api_version})" if api_version not in (None, "",
                                                                        kind.api_version)
                else f"Object '{obj.get('kind')}' kind does not match {kind.kind}")
        obj["apiVersion"] = kind.api_version
        obj["kind"] = kind.kind
        return obj

    def create(self, kind: Kind | str, obj: Obj, namespace: str | None = None) -> Obj:
        """Create an object (generateName, uid, timestamps, defaults); AlreadyExists on clash.

        ``obj`` is not modified. Status given on create is kept (a simulation convenience).
        """
        req = self.kind(kind)
        return self.view(req, self.create_stored(req, obj, namespace)).copy()

    def create_stored(self, kind: Kind | str, obj: Obj, namespace: str | None = None,
                      *, created: str | None = None, how: str = BODY, patch: Any = None
                      ) -> StoredObject:
        """``created``: a harness-given ``creationTimestamp`` (objects of a simulation that
        were created before this server started, e.g. a warm fleet); the API never passes it,
        so a client's own ``creationTimestamp`` is overwritten as upstream does.
        ``how``/``patch`` say which decoder speaks for a bad value (a server-side apply that
        creates the object is checked as the apply it is)."""
        req = self.kind(kind)
        if req.virtual:
            raise ApiError.method_not_allowed()
        k = self.registry.storage(req)
        new = self._to_storage(req, self._check_shape(req, json.loads(json.dumps(obj)), how,
                                                      patch), None)
        meta = new["metadata"]
        if k.namespaced:
            ns = meta.get("namespace") or namespace or "default"
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError.bad_request("the namespace of the provided object does not "
                                           "match the namespace sent on the request")
            meta["namespace"] = ns
            if self.enforce_namespaces and ("", ns) not in self._bucket(
                    self.registry.lookup("namespaces")):
                raise ApiError.not_found(self.registry.lookup("namespaces"), ns)
        else:
            ns = ""
            meta.pop("namespace", None)
        name = meta.get("name") or ""
        if not name:
            prefix = meta.get("generateName")
            if not prefix:
                raise ApiError.invalid(k, "", "metadata.name",
                                       "Required value: name or generateName is required",
                                       "FieldValueRequired")
            for _ in range(8):
                name = f"{prefix}{self._random_suffix()}"
                if (ns, name) not in self._bucket(k):
                    break
            meta["name"] = name
        meta["uid"] = str(self._rand())
        meta["creationTimestamp"] = created if created is not None else self._now()
        meta.pop("deletionTimestamp", None)
        if k.has_status or "spec" in new:
            meta["generation"] = 1
        self._default(k, new)
        if self._validating:
            self._validate(k, new, None)
        else:
            self._validate_name(k, name)
        if (ns, name) in self._bucket(k):
            raise ApiError.already_exists(k, name)
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        stored = StoredObject(k, new, rv)
        self._commit(Change("ADDED", stored, None))
        if not self._dry_run:
            self._after_create(k, stored)
        return stored

    def update(self, kind: Kind | str, obj: Obj, subresource: str | None = None,
               namespace: str | None = None) -> Obj:
        """PUT semantics: optimistic concurrency on ``metadata.resourceVersion`` when set.

        Without ``subresource`` the stored status of kinds with a status subresource is kept;
        with ``subresource="status"`` only the status (plus labels/annotations) changes.
        """
        req = self.kind(kind)
        return self.view(req, self.update_stored(req, obj, subresource, namespace)).copy()

    def update_stored(self, kind: Kind | str, obj: Obj, subresource: str | None = None,
                      namespace: str | None = None, *, keep_status: bool | None = None
                      ) -> StoredObject:
        req = self.kind(kind)
        if req.virtual:
            raise ApiError.method_not_allowed()
        k = self.registry.storage(req)
        new = self._check_shape(req, json.loads(json.dumps(obj)))
        meta = new["metadata"]
        name = meta.get("name") or ""
        ns = (meta.get("namespace") or namespace or "default") if k.namespaced else ""
        if k.namespaced and namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise ApiError.bad_request("the namespace of the provided object does not match "
                                       "the namespace sent on the request")
        if not name:
            raise ApiError.invalid(k, "", "metadata.name", "Required value: name is required",
                                   "FieldValueRequired")
        old = self._bucket(k).get((ns, name))
        if old is None:
            raise ApiError.not_found(k, name)
        sent_rv = meta.get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != str(old.rv):
            raise ApiError.conflict(k, name)
        return self._replace(k, old, self._to_storage(req, new, old), subresource, keep_status)

    def _replace(self, k: Kind, old: StoredObject, new: Obj, subresource: str | None,
                 keep_status: bool | None = None) -> StoredObject:
        meta = new.setdefault("metadata", {})
        old_meta = old.obj.get("metadata", {})
        if meta.get("uid") not in (None, "", old_meta.get("uid")):
            raise ApiError.conflict(k, old.name, "Precondition failed: UID in precondition: "
                                    f"{meta.get('uid')}, UID in object meta: "
                                    f"{old_meta.get('uid')}")
        if subresource == "status":
            result = old.copy()
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            new = result
            meta = new["metadata"]
        elif subresource not in (None, ""):
            raise ApiError.not_found_path()
        else:
            if keep_status is None:
                keep_status = k.has_status
            if keep_status:
                if "status" in old.obj:
                    new["status"] = old.obj["status"]
                else:
                    new.pop("status", None)
        for field in ("uid", "creationTimestamp", "namespace", "deletionTimestamp",
                      "deletionGracePeriodSeconds"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta["name"] = old.name
        if "generation" in old_meta:
            gen = int(old_meta["generation"])
            changed = {f: v for f, v in new.items() if f not in ("metadata", "status")} != {
                f: v for f, v in old.obj.items() if f not in ("metadata", "status")}
            meta["generation"] = gen + 1 if changed else gen
        meta["resourceVersion"] = old_meta.get("resourceVersion", str(old.rv))
        self._default(k, new)
        if self._validating:
            self._validate(k, new, old, subresource)
        if new == old.obj:
            return old  # no-op writes don't bump the resourceVersion (as upstream)
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        stored = StoredObject(k, new, rv)
        self._commit(Change("MODIFIED", stored, old))
        return stored

    def patch(self, kind: Kind | str, name: str, patch: Any, content_type: str,
              namespace: str | None = None, subresource: str | None = None) -> Obj:
        """Apply a patch (merge, strategic, JSON patch, apply) to the current object."""
        req = self.kind(kind)
        return self.view(req, self.patch_stored(req, name, patch, content_type, namespace,
                                                subresource)).copy()

    def patch_stored(self, kind: Kind | str, name: str, patch: Any, content_type: str,
                     namespace: str | None = None, subresource: str | None = None
                     ) -> StoredObject:
        req = self.kind(kind)
        if req.virtual:
            raise ApiError.method_not_allowed()
        k = self.registry.storage(req)
        ns = (namespace or "default") if k.namespaced else ""
        old = self._bucket(k).get((ns, name))
        is_apply = content_type.split(";")[0].strip() == "application/apply-patch+yaml"
        if old is None:
            if is_apply and not subresource:
                if not isinstance(patch, dict):
                    raise ApiError.bad_request("apply patch must be an object")
                body = json.loads(json.dumps(patch))
                if not isinstance(body.get("metadata"), dict):
                    body["metadata"] = {}  # (a badly typed one is reported from the patch)
                body["metadata"]["name"] = name
                return self.create_stored(req, body, namespace, how=content_type, patch=patch)
            raise ApiError.not_found(k, name)
        if is_apply and isinstance(patch, dict):
            # an apply configuration carries no status (unless applied to /status) and no RV
            patch = {key: value for key, value in patch.items()
                     if key != "status" or subresource == "status"}
            meta = patch.get("metadata")
            if isinstance(meta, dict) and "resourceVersion" in meta:
                patch["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
        if is_apply:  # server-side apply checks the configuration before merging it
            try:
                check_types(req.group, req.version, req.kind, {}, APPLY_PATCH, patch)
            except Rejected as rejected:
                raise ApiError.rejected(rejected) from None
        try:
            result = apply_patch(self.view(req, old).copy(), patch, content_type)
        except PatchError as exc:
            raise ApiError.bad_request(str(exc)) from None
        result = self._to_storage(req, self._check_shape(req, result, content_type.split(";")[
            0].strip(), patch), old)
        meta = result["metadata"]
        if meta.get("name") != old.name or (k.namespaced and meta.get("namespace") != ns):
            raise ApiError.bad_request("the name of the object and the name in the patch do "
                                       "not match" if meta.get("name") != old.name else
                                       "the namespace of the object does not match")
        sent_rv = meta.get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != str(old.rv):
            raise ApiError.conflict(k, name)
        return self._replace(k, old, result, subresource, keep_status=False if subresource
                             else None)

    def delete(self, kind: Kind | str, name: str, namespace: str | None = None,
               preconditions: dict[str, Any] | None = None,
               propagation: str | None = None, grace_seconds: int | None = None) -> Obj:
        """Delete one object (cascading to owned objects unless ``Orphan``; pods may be
        deleted gracefully, see :meth:`delete_stored`)."""
        req = self.kind(kind)
        return self.view(req, self.delete_stored(req, name, namespace, preconditions,
                                                 propagation, grace_seconds)).copy()

    def delete_stored(self, kind: Kind | str, name: str, namespace: str | None = None,
                      preconditions: dict[str, Any] | None = None,
                      propagation: str | None = None,
                      grace_seconds: int | None = None) -> StoredObject:
        """Delete an object; a pod that a kubelet stand-in runs (:attr:`pod_terminator`)
        is deleted gracefully instead: ``deletionTimestamp`` = now + the grace period
        (``grace_seconds``, else the pod's ``terminationGracePeriodSeconds``), and the kubelet
        deletes it with grace 0 once its containers have stopped. As upstream, an unbound or
        finished pod goes at once, and a second delete can only shorten the grace period."""
        k = self.storage_kind(kind)
        if k.virtual:
            raise ApiError.method_not_allowed()
        ns = (namespace or "default") if k.namespaced else ""
        old = self._bucket(k).get((ns, name))
        if old is None:
            raise ApiError.not_found(k, name)
        pre = preconditions or {}
        meta = old.obj.get("metadata", {})
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise ApiError.conflict(k, name, f"Precondition failed: UID in precondition: "
                                    f"{pre['uid']}, UID in object meta: {meta.get('uid')}")
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(old.rv):
            raise ApiError.conflict(k, name, "Precondition failed: ResourceVersion in "
                                    f"precondition: {pre['resourceVersion']}, ResourceVersion "
                                    f"in object meta: {old.rv}")
        grace = self._grace_period(k, old.obj, grace_seconds)
        if grace > 0:
            return self._delete_gracefully(k, old, grace)
        final = old.copy()
        rv = self._next_rv()
        final["metadata"]["resourceVersion"] = str(rv)
        stored = StoredObject(k, final, rv)
        self._commit(Change("DELETED", stored, old))
        if propagation != "Orphan" and not self._dry_run:
            self._cascade(k, stored)
        return stored

    def _grace_period(self, kind: Kind, obj: Obj, requested: int | None) -> int:
        """Seconds of graceful deletion for ``obj`` (0: delete now), as ``podStrategy``'s
        CheckGracefulDelete decides, for pods a kubelet stand-in will finish."""
        if kind.plural != "pods" or kind.group or self.pod_terminator is None:
            return 0
        spec = obj.get("spec") or {}
        if not spec.get("nodeName") or (obj.get("status") or {}).get("phase") in (
                "Succeeded", "Failed"):
            return 0
        if requested is None:
            requested = spec.get("terminationGracePeriodSeconds")
            if not isinstance(requested, int) or isinstance(requested, bool):
                requested = 30
        if requested <= 0 or not self.pod_terminator(obj):
            return 0
        return int(requested)

    def _delete_gracefully(self, kind: Kind, old: StoredObject, grace: int) -> StoredObject:
        meta = old.obj.get("metadata") or {}
        deadline = self.clock() + grace
        current = parse_rfc3339(meta.get("deletionTimestamp"))
        if current is not None and current <= deadline:
            return old  # already terminating, at least as soon
        final = old.copy()
        final["metadata"]["deletionTimestamp"] = rfc3339(deadline)
        final["metadata"]["deletionGracePeriodSeconds"] = grace
        rv = self._next_rv()
        final["metadata"]["resourceVersion"] = str(rv)
        stored = StoredObject(kind, final, rv)
        self._commit(Change("MODIFIED", stored, old))
        return stored

    def _cascade(self, kind: Kind, deleted: StoredObject) -> None:
        uid = deleted.obj.get("metadata", {}).get("uid", "")
        for kind_key, ns, name in sorted(self._owners.pop(uid, set())):
            owned_kind = self.registry.by_key(kind_key)
            if owned_kind is not None and (ns, name) in self._bucket(owned_kind):
                self.delete_stored(owned_kind, name, ns or None)
        if kind.plural == "namespaces" and not kind.group:
            for other in self.registry.all():
                if not other.namespaced or other.virtual:
                    continue
                for key in [key for key in self._sorted_keys(other) if key[0] == deleted.name]:
                    if key in self._bucket(other):
                        self.delete_stored(other, key[1], key[0])

    def replace(self, kind: Kind | str, obj: Obj) -> Obj:
        """Harness write: create or overwrite everything, status included, no RV check.

        A ``metadata.creationTimestamp`` given on the first write is kept (the harness knows
        when a simulated object was created); later writes keep the stored one."""
        k = self.storage_kind(kind)
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or "default") if k.namespaced else ""
        old = self._bucket(k).get((ns, meta.get("name", "")))
        given = meta.get("creationTimestamp")
        if old is None:
            created = (given if isinstance(given, str) and parse_rfc3339(given) is not None
                       else None)
            return self.view(k, self.create_stored(k, obj, created=created)).copy()
        body = json.loads(json.dumps(obj))
        body.setdefault("metadata", {}).pop("resourceVersion", None)
        new = self._check_shape(k, body)
        return self._replace(k, old, new, None, keep_status=False).copy()

    def mutate(self, kind: Kind | str, name: str, namespace: str | None,
               fn: Callable[[Obj], None]) -> Obj:
        """Read-modify-write in one step (no conflict possible): ``fn`` edits a copy in place."""
        k = self.storage_kind(kind)
        stored = self.get_stored(k, name, namespace)
        obj = stored.copy()
        fn(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(stored.rv)
        return self._replace(k, stored, self._check_shape(k, obj), None,
                             keep_status=False).copy()

    # ------------------------------------------------------------------ defaults
    def _default(self, kind: Kind, obj: Obj) -> None:
        defaulter = _DEFAULTERS.get(kind.key)
        if defaulter is not None:
            defaulter(self, obj)

    def allocate_cluster_ip(self) -> str:
        """The next free ClusterIP from the service CIDR."""
        used = {(s.obj.get("spec") or {}).get("clusterIP") for s in
                self._bucket(self.registry.lookup("services")).values()}
        while True:
            ip = str(self._service_net.network_address + self._next_ip)
            self._next_ip += 1
            if ip not in used:
                return ip

    def _after_create(self, kind: Kind, stored: StoredObject) -> None:
        if kind.plural == "namespaces" and not kind.group:
            sa = self.registry.lookup("serviceaccounts")
            if (stored.name, "default") not in self._bucket(sa):
                self.create_stored(sa, {"metadata": {"name": "default"}}, stored.name)

    # ------------------------------------------------------------------ watch
    def watch(
        self,
        kind: Kind | str,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        resource_version: str | None = None,
        encoder: Encoder = encode_full,
    ) -> Watcher:
        """Start a watch: synthetic ADDED for unset/"0", else replay after that RV.

        Raises ApiError 410 ``Expired`` when the RV is older than the kept history.
        """
        req = self.kind(kind)
        k = self.registry.storage(req)
        if not req.is_storage:
            base = encoder

            def encoder(event_type: str, stored: StoredObject) -> bytes:
                return base(event_type, self.view(req, stored))

        watcher = Watcher(k, namespace if k.namespaced else None, labels, fields, encoder)
        if resource_version in (None, "", "0"):
            for stored in self.list_stored(k, namespace, labels, fields).items:
                watcher.push_line(encoder("ADDED", stored), stored.rv)
            watcher.last_rv = self._rv
        else:
            try:
                since = int(str(resource_version))
            except ValueError:
                raise ApiError.bad_request(
                    f'resourceVersion: Invalid value: "{resource_version}": must be a '
                    "non-negative integer") from None
            if since < self._floor:
                raise ApiError.expired(since, self._floor)
            if since > self._rv:
                # e.g. a client that outlived a restarted control plane: it must relist
                raise ApiError(504, "Timeout",
                               f"Too large resource version: {since}, current: {self._rv}",
                               {"causes": [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}],
                                "retryAfterSeconds": 1})
            for change in self._history:
                if change.rv > since and change.kind.key == k.key:
                    watcher.offer(change)
            watcher.last_rv = max(since, watcher.last_rv)
        watchers = self._watchers.setdefault(k.key, set())
        watchers.add(watcher)
        watcher._detach = lambda: watchers.discard(watcher)
        return watcher

    def compact(self, through_rv: int | None = None) -> None:
        """Forget history up to ``through_rv`` (default: all), as etcd compaction does.

        Later watches from an older RV get 410 ``Expired``. Live watchers are unaffected.
        """
        limit = self._rv if through_rv is None else through_rv
        while self._history and self._history[0].rv <= limit:
            self._history.popleft()
        self._floor = max(self._floor, limit)

    @property
    def oldest_resource_version(self) -> int:
        """RVs below this are too old to watch from."""
        return self._floor

    def close_watchers(self) -> None:
        for watchers in list(self._watchers.values()):
            for watcher in list(watchers):
                watcher.close()

    def subscribe(self, listener: Listener, kinds: Iterable[Kind | str] | None = None
                  ) -> Callable[[], None]:
        """Call ``listener(change)`` synchronously after each write (for controllers).

        Returns a function that unsubscribes.
        """
        keys = None if kinds is None else frozenset(self.kind(k).key for k in kinds)
        entry = (keys, listener)
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def watcher_count(self, kind: Kind | str | None = None) -> int:
        """Live watchers (of one kind, or all): diagnostics and leak tests."""
        if kind is None:
            return sum(len(w) for w in self._watchers.values())
        return len(self._watchers.get(self.kind(kind).key, ()))

    def count(self, kind: Kind | str) -> int:
        return len(self._bucket(self.kind(kind)))


# ---------------------------------------------------------------------- per-kind defaulting


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _default_pod(store: Store, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("containers", [])
    for container in _as_list(spec.get("containers")):
        if isinstance(container, dict):
            container.setdefault("imagePullPolicy", "IfNotPresent")
            for port in _as_list(container.get("ports")):
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    if status.get("podIP") and "podIPs" not in status:
        status["podIPs"] = [{"ip": status["podIP"]}]
    if status.get("hostIP") and "hostIPs" not in status:
        status["hostIPs"] = [{"ip": status["hostIP"]}]


def _default_service(store: Store, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("clusterIP") in (None, "") and spec["type"] != "ExternalName":
        spec["clusterIP"] = store.allocate_cluster_ip()
    if spec.get("clusterIP") and "clusterIPs" not in spec:
        spec["clusterIPs"] = [spec["clusterIP"]]
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in _as_list(spec.get("ports")):
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def _default_namespace(store: Store, obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    labels = obj["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/metadata.name", obj["metadata"].get("name", ""))


def _default_deployment(store: Store, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        rolling = strategy.setdefault("rollingUpdate", {}) if strategy[
            "type"] == "RollingUpdate" else None
        if isinstance(rolling, dict):
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
    obj.setdefault("status", {})


def _default_apiservice(store: Store, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    service = spec.get("service")
    if isinstance(service, dict):
        service.setdefault("port", 443)
    elif not obj.get("status", {}).get("conditions"):
        # Local APIServices are always available (kube-aggregator's local controller).
        obj["status"] = {"conditions": [{
            "type": "Available", "status": "True",
            "lastTransitionTime": obj["metadata"].get("creationTimestamp") or store._now(),
            "reason": "Local", "message": "Local APIServices are always available"}]}
    obj.setdefault("status", {})


def _default_secret(store: Store, obj: Obj) -> None:
    obj.setdefault("type", "Opaque")


#: SetDefaults_HorizontalPodAutoscalerBehavior: per direction, fields left unset take these;
#: a given ``policies`` list replaces the default list; scaleDown's window stays unset (the
#: controller's --horizontal-pod-autoscaler-downscale-stabilization applies).
_HPA_BEHAVIOR_DEFAULTS: dict[str, Obj] = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]},
    "scaleDown": {"selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15}]},
}


def _default_hpa(store: Store, obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_metric(80)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):  # only a given behavior is filled in, field by field
        for direction, defaults in _HPA_BEHAVIOR_DEFAULTS.items():
            rules = behavior.get(direction)
            rules = dict(rules) if isinstance(rules, dict) else {}
            for key, value in defaults.items():
                if rules.get(key) is None:
                    rules[key] = json.loads(json.dumps(value))
            behavior[direction] = rules
    obj.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})


_DEFAULTERS: dict[str, Callable[[Store, Obj], None]] = {
    "/pods": _default_pod,
    "/services": _default_service,
    "/namespaces": _default_namespace,
    "apps/deployments": _default_deployment,
    "apiregistration.k8s.io/apiservices": _default_apiservice,
    "/secrets": _default_secret,
    "autoscaling/horizontalpodautoscalers": _default_hpa,
}


# ---------------------------------------------------------------------- version conversion


#: (storage key, from version, to version) → converter(obj, stored object or None).
CONVERTERS: dict[tuple[str, str, str], Callable[[Obj, Obj | None], Obj]] = {
    ("autoscaling/horizontalpodautoscalers", "v2", "v1"): hpa_v2_to_v1,
    ("autoscaling/horizontalpodautoscalers", "v1", "v2"): hpa_v1_to_v2,
}


def convert(obj: Obj, to: Kind, old: Obj | None = None) -> Obj:
    """Convert ``obj`` (any served version of ``to``'s resource) to ``to``'s version."""
    from_version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    if from_version == to.version:
        return obj
    fn = CONVERTERS.get((to.key, from_version, to.version))
    if fn is None:
        raise ApiError.bad_request(
            f"no conversion from {obj.get('apiVersion')} to {to.api_version}")
    try:
        converted: Obj = json.loads(json.dumps(fn(obj, old)))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ApiError.bad_request(
            f"cannot convert {obj.get('apiVersion')} to {to.api_version}: {exc}") from None
    return converted
