"""The one table of kinds the simulated control plane serves.

Everything generic — storage, REST routes, discovery documents, short names, field selectors,
``kubectl get all`` categories — is derived from :data:`KINDS`, so adding a kind is one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

#: The verbs of an ordinary stored resource, in the order kube-apiserver lists them.
STANDARD_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
#: Verbs of a "virtual" resource that is only ever POSTed (TokenReview, SubjectAccessReview).
CREATE_ONLY: tuple[str, ...] = ("create",)


@dataclass(frozen=True)
class Subresource:
    """A subresource such as ``pods/status``; ``kind`` empty means "same kind as parent"."""

    name: str
    verbs: tuple[str, ...]
    kind: str = ""
    group: str = ""
    version: str = ""


STATUS = Subresource("status", ("get", "patch", "update"))
SCALE = Subresource("scale", ("get", "patch", "update"), kind="Scale", group="autoscaling",
                    version="v1")


@dataclass(frozen=True)
class Kind:
    """One served resource: where it lives in the URL space and how it is described."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    #: Field selector labels beyond ``metadata.name`` / ``metadata.namespace``.
    field_labels: tuple[str, ...] = ()
    #: True for create-only resources that are answered, never stored.
    virtual: bool = False
    #: Group priority in discovery (kube-apiserver's order of built-in groups).
    group_priority: int = field(default=1000, compare=False)
    #: For an extra served version: the version objects are stored in (converted on the fly).
    storage_version: str = ""

    @property
    def is_storage(self) -> bool:
        return self.storage_version in ("", self.version)

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def resource(self) -> str:
        """``plural.group`` as kube-apiserver names it in messages (``deployments.apps``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> str:
        """Storage key: group and plural (one stored version per resource)."""
        return f"{self.group}/{self.plural}"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return any(s.name == "status" for s in self.subresources)

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def supports_field(self, label: str) -> bool:
        if label == "metadata.name":
            return True
        if label == "metadata.namespace":
            return self.namespaced or self.plural == "namespaces"
        return label in self.field_labels


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

# Group priorities follow kube-apiserver's built-in APIService priorities (higher first).
_P = {
    "": 18000,
    "apiregistration.k8s.io": 17800,
    "apps": 17800,
    "events.k8s.io": 17750,
    "authentication.k8s.io": 17700,
    "authorization.k8s.io": 17600,
    "autoscaling": 17500,
    "batch": 17400,
    "certificates.k8s.io": 17300,
    "networking.k8s.io": 17200,
    "policy": 17100,
    "rbac.authorization.k8s.io": 17000,
    "storage.k8s.io": 16800,
    "admissionregistration.k8s.io": 16700,
    "apiextensions.k8s.io": 16700,
    "scheduling.k8s.io": 16600,
    "coordination.k8s.io": 16500,
    "node.k8s.io": 16300,
    "discovery.k8s.io": 16200,
    "flowcontrol.apiserver.k8s.io": 16100,
}


def _k(group: str, version: str, kind: str, plural: str, namespaced: bool, **kw: object) -> Kind:
    return Kind(group, version, kind, plural, kind.lower(), namespaced,
                group_priority=_P.get(group, 1000), **kw)  # type: ignore[arg-type]


KINDS: tuple[Kind, ...] = (
    # core/v1
    _k("", "v1", "Namespace", "namespaces", False, short_names=("ns",),
       subresources=(STATUS, Subresource("finalize", ("update",))),
       field_labels=("status.phase",)),
    _k("", "v1", "Node", "nodes", False, short_names=("no",),
       subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"),
                                         kind="NodeProxyOptions")),
       field_labels=("spec.unschedulable",)),
    _k("", "v1", "Pod", "pods", True, short_names=("po",), categories=("all",),
       subresources=(STATUS, Subresource("log", ("get",)),
                     Subresource("eviction", ("create",), kind="Eviction", group="policy",
                                 version="v1")),
       field_labels=_POD_FIELDS),
    _k("", "v1", "ConfigMap", "configmaps", True, short_names=("cm",)),
    _k("", "v1", "Secret", "secrets", True, field_labels=("type",)),
    _k("", "v1", "Service", "services", True, short_names=("svc",), categories=("all",),
       subresources=(STATUS,)),
    _k("", "v1", "Endpoints", "endpoints", True, short_names=("ep",)),
    _k("", "v1", "ServiceAccount", "serviceaccounts", True, short_names=("sa",),
       subresources=(Subresource("token", ("create",), kind="TokenRequest",
                                 group="authentication.k8s.io", version="v1"),)),
    _k("", "v1", "Event", "events", True, short_names=("ev",), field_labels=_EVENT_FIELDS),
    # apps/v1
    _k("apps", "v1", "Deployment", "deployments", True, short_names=("deploy",),
       categories=("all",), subresources=(STATUS, SCALE)),
    _k("apps", "v1", "ReplicaSet", "replicasets", True, short_names=("rs",),
       categories=("all",), subresources=(STATUS, SCALE)),
    _k("apps", "v1", "DaemonSet", "daemonsets", True, short_names=("ds",),
       categories=("all",), subresources=(STATUS,)),
    _k("apps", "v1", "StatefulSet", "statefulsets", True, short_names=("sts",),
       categories=("all",), subresources=(STATUS, SCALE)),
    # autoscaling/v2
    _k("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True,
       short_names=("hpa",), categories=("all",), subresources=(STATUS,)),
    _k("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True,
       short_names=("hpa",), categories=("all",), subresources=(STATUS,),
       storage_version="v2"),
    # discovery.k8s.io/v1
    _k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    # policy/v1
    _k("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True,
       short_names=("pdb",), subresources=(STATUS,)),
    # apiregistration.k8s.io/v1
    _k("apiregistration.k8s.io", "v1", "APIService", "apiservices", False,
       categories=("api-extensions",), subresources=(STATUS,)),
    # coordination.k8s.io/v1
    _k("coordination.k8s.io", "v1", "Lease", "leases", True),
    # rbac.authorization.k8s.io/v1
    _k("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    _k("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    # create-only reviews (answered by handlers installed on the APIServer)
    _k("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    _k("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    _k("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    _k("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
       False, verbs=CREATE_ONLY, virtual=True),
    _k("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
       True, verbs=CREATE_ONLY, virtual=True),
    _k("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
       False, verbs=CREATE_ONLY, virtual=True),
)


class KindRegistry:
    """Lookups over a table of kinds: by URL (group, version, plural), by kind name, by alias."""

    def __init__(self, kinds: Iterable[Kind] = KINDS) -> None:
        self._kinds: list[Kind] = []
        self._by_gvr: dict[tuple[str, str, str], Kind] = {}
        self._by_gvk: dict[tuple[str, str, str], Kind] = {}
        self._by_key: dict[str, Kind] = {}
        self._aliases: dict[str, Kind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: Kind) -> None:
        """Register one more kind (e.g. a kind a later controller needs)."""
        self._kinds.append(kind)
        self._aliases.clear()
        self._by_gvr[(kind.group, kind.version, kind.plural)] = kind
        self._by_gvk[(kind.group, kind.version, kind.kind)] = kind
        if kind.is_storage:
            self._by_key[kind.key] = kind

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._kinds)

    def all(self) -> list[Kind]:
        return list(self._kinds)

    def by_resource(self, group: str, version: str, plural: str) -> Kind | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Kind | None:
        group, _, version = api_version.rpartition("/")
        return self._by_gvk.get((group, version, kind))

    def by_key(self, key: str) -> Kind | None:
        return self._by_key.get(key)

    def storage(self, kind: Kind) -> Kind:
        """The kind whose version objects of ``kind`` are stored in."""
        if kind.is_storage:
            return kind
        return self._by_key[kind.key]

    def lookup(self, name: str) -> Kind:
        """Find a kind by plural, singular, short name, Kind or ``plural.group``.

        Served-only versions are skipped (the storage version answers). Raises KeyError with
        the name when nothing matches; convenient for harness code.
        """
        cached = self._aliases.get(name)
        if cached is not None:
            return cached
        lowered = name.lower()
        for kind in self._kinds:
            if not kind.is_storage:
                continue
            aliases = {kind.plural, kind.singular, kind.kind.lower(), kind.resource,
                       *kind.short_names}
            if lowered in aliases:
                self._aliases[name] = kind
                return kind
        raise KeyError(name)

    def group_versions(self) -> list[tuple[str, str]]:
        """Distinct (group, version) pairs in table order."""
        seen: list[tuple[str, str]] = []
        for kind in self._kinds:
            gv = (kind.group, kind.version)
            if gv not in seen:
                seen.append(gv)
        return seen


#: The default registry over :data:`KINDS`.
REGISTRY = KindRegistry()
