"""The smaller groups: discovery, policy, coordination, RBAC, authentication, authorization
(k8s.io/api) and apiregistration (k8s.io/kube-aggregator)."""

from __future__ import annotations

from ..gotypes import Package, register_roots

DISCOVERY = Package(
    "discovery/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "EndpointSlice": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, addressType AddressType, "
            "endpoints []Endpoint, ports []EndpointPort"),
        "Endpoint": (
            "addresses []string, conditions EndpointConditions, hostname *string, "
            "targetRef *v1.ObjectReference, deprecatedTopology map[string]string, "
            "nodeName *string, zone *string, hints *EndpointHints"),
        "EndpointPort": "name *string, protocol *v1.Protocol, port *int32, appProtocol *string",
        "EndpointConditions": "ready *bool, serving *bool, terminating *bool",
    },
    strings=("AddressType",),
    opaque=("EndpointHints",),
)

POLICY = Package(
    "policy/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "PodDisruptionBudget": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec PodDisruptionBudgetSpec, "
            "status PodDisruptionBudgetStatus"),
        "Eviction": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, deleteOptions *metav1.DeleteOptions"),
        "PodDisruptionBudgetSpec": (
            "minAvailable *intstr.IntOrString, selector *metav1.LabelSelector, "
            "maxUnavailable *intstr.IntOrString, "
            "unhealthyPodEvictionPolicy *UnhealthyPodEvictionPolicyType"),
        "PodDisruptionBudgetStatus": (
            "observedGeneration int64, disruptedPods map[string]metav1.Time, "
            "disruptionsAllowed int32, currentHealthy int32, desiredHealthy int32, "
            "expectedPods int32, conditions []metav1.Condition"),
    },
    strings=("UnhealthyPodEvictionPolicyType",),
)

COORDINATION = Package(
    "coordination/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "Lease": "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec LeaseSpec",
        "LeaseSpec": (
            "holderIdentity *string, leaseDurationSeconds *int32, acquireTime *metav1.MicroTime, "
            "renewTime *metav1.MicroTime, leaseTransitions *int32"),
    },
)

RBAC = Package(
    "rbac/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "Role": "... metav1.TypeMeta, metadata metav1.ObjectMeta, rules []PolicyRule",
        "ClusterRole": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, rules []PolicyRule, "
            "aggregationRule *AggregationRule"),
        "RoleBinding": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, subjects []Subject, roleRef RoleRef"),
        "ClusterRoleBinding": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, subjects []Subject, roleRef RoleRef"),
        "PolicyRule": (
            "verbs []string, apiGroups []string, resources []string, resourceNames []string, "
            "nonResourceURLs []string"),
        "AggregationRule": "clusterRoleSelectors []metav1.LabelSelector",
        "Subject": "kind string, apiGroup string, name string, namespace string",
        "RoleRef": "apiGroup string, kind string, name string",
    },
)

AUTHENTICATION = Package(
    "authentication/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "TokenReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec TokenReviewSpec, "
            "status TokenReviewStatus"),
        "SelfSubjectReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, status SelfSubjectReviewStatus"),
        "TokenRequest": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec TokenRequestSpec, "
            "status TokenRequestStatus"),
        "TokenReviewSpec": "token string, audiences []string",
        "TokenRequestSpec": (
            "audiences []string, expirationSeconds *int64, boundObjectRef *BoundObjectReference"),
        "BoundObjectReference": "kind string, apiVersion string, name string, uid types.UID",
    },
    opaque=("SelfSubjectReviewStatus", "TokenRequestStatus", "TokenReviewStatus"),
)

AUTHORIZATION = Package(
    "authorization/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "SubjectAccessReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec SubjectAccessReviewSpec, "
            "status SubjectAccessReviewStatus"),
        "SelfSubjectAccessReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec SelfSubjectAccessReviewSpec, "
            "status SubjectAccessReviewStatus"),
        "LocalSubjectAccessReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec SubjectAccessReviewSpec, "
            "status SubjectAccessReviewStatus"),
        "SelfSubjectRulesReview": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec SelfSubjectRulesReviewSpec, "
            "status SubjectRulesReviewStatus"),
        "SubjectAccessReviewSpec": (
            "resourceAttributes *ResourceAttributes, nonResourceAttributes *NonResourceAttributes, "
            "user string, groups []string, extra map[string]ExtraValue, uid string"),
        "SelfSubjectAccessReviewSpec": (
            "resourceAttributes *ResourceAttributes, nonResourceAttributes *NonResourceAttributes"),
        "SelfSubjectRulesReviewSpec": "namespace string",
        "ResourceAttributes": (
            "namespace string, verb string, group string, version string, resource string, "
            "subresource string, name string"),
        "NonResourceAttributes": "path string, verb string",
    },
    named={"ExtraValue": "[]string"},
    opaque=("SubjectAccessReviewStatus", "SubjectRulesReviewStatus"),
)

APIREGISTRATION = Package(
    "apiregistration/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "APIService": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec APIServiceSpec, "
            "status APIServiceStatus"),
        "APIServiceSpec": (
            "service *ServiceReference, group string, version string, insecureSkipTLSVerify bool, "
            "caBundle []byte, groupPriorityMinimum int32, versionPriority int32"),
        "APIServiceStatus": "conditions []APIServiceCondition",
        "ServiceReference": "namespace string, name string, port *int32",
        "APIServiceCondition": (
            "type APIServiceConditionType, status ConditionStatus, lastTransitionTime metav1.Time, "
            "reason string, message string"),
    },
    strings=("APIServiceConditionType", "ConditionStatus"),
)

register_roots("discovery/v1", "discovery.k8s.io", "v1", ("EndpointSlice",))
register_roots("policy/v1", "policy", "v1", ("PodDisruptionBudget", "Eviction"))
register_roots("coordination/v1", "coordination.k8s.io", "v1", ("Lease",))
register_roots("rbac/v1", "rbac.authorization.k8s.io", "v1",
               ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"))
register_roots("authentication/v1", "authentication.k8s.io", "v1",
               ("TokenReview", "SelfSubjectReview", "TokenRequest"))
register_roots("authorization/v1", "authorization.k8s.io", "v1",
               ("SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview",
                "SelfSubjectRulesReview"))
register_roots("apiregistration/v1", "apiregistration.k8s.io", "v1", ("APIService",))
