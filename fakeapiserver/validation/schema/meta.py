"""meta/v1 (k8s.io/apimachinery): ObjectMeta, LabelSelector, Condition and the special types."""

from __future__ import annotations

from ..gotypes import Package

META = Package(
    "meta/v1", "v1",
    structs={
        "TypeMeta": "kind string, apiVersion string",
        "ObjectMeta": ("name string, generateName string, namespace string, selfLink string, "
                       "uid types.UID, resourceVersion string, generation int64, "
                       "creationTimestamp Time, deletionTimestamp *Time, "
                       "deletionGracePeriodSeconds *int64, labels map[string]string, "
                       "annotations map[string]string, ownerReferences []OwnerReference, "
                       "finalizers []string, managedFields []ManagedFieldsEntry"),
        "OwnerReference": ("apiVersion string, kind string, name string, uid types.UID, "
                           "controller *bool, blockOwnerDeletion *bool"),
        "ManagedFieldsEntry": ("manager string, operation ManagedFieldsOperationType, "
                               "apiVersion string, time *Time, fieldsType string, "
                               "fieldsV1 *FieldsV1, subresource string"),
        "LabelSelector": ("matchLabels map[string]string, "
                          "matchExpressions []LabelSelectorRequirement"),
        "LabelSelectorRequirement": "key string, operator LabelSelectorOperator, values []string",
        "Condition": ("type string, status ConditionStatus, observedGeneration int64, "
                      "lastTransitionTime Time, reason string, message string"),
    },
    strings=("ConditionStatus", "LabelSelectorOperator", "ManagedFieldsOperationType"),
    specials={"Time": "time", "MicroTime": "microtime", "FieldsV1": "raw"},
    opaque=("DeleteOptions",),
    list_keys={"ObjectMeta.ownerReferences": ("uid",), "ObjectMeta.managedFields": ()},
)
