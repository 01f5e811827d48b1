"""autoscaling/v1 and autoscaling/v2 (k8s.io/api): HorizontalPodAutoscalers and Scale."""

from __future__ import annotations

from ..gotypes import Package, register_roots

AUTOSCALING_V1 = Package(
    "autoscaling/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "HorizontalPodAutoscaler": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec HorizontalPodAutoscalerSpec, "
            "status HorizontalPodAutoscalerStatus"),
        "Scale": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec ScaleSpec, status ScaleStatus"),
        "HorizontalPodAutoscalerSpec": (
            "scaleTargetRef CrossVersionObjectReference, minReplicas *int32, maxReplicas int32, "
            "targetCPUUtilizationPercentage *int32"),
        "HorizontalPodAutoscalerStatus": (
            "observedGeneration *int64, lastScaleTime *metav1.Time, currentReplicas int32, "
            "desiredReplicas int32, currentCPUUtilizationPercentage *int32"),
        "ScaleSpec": "replicas int32",
        "ScaleStatus": "replicas int32, selector string",
        "CrossVersionObjectReference": "kind string, name string, apiVersion string",
    },
)

AUTOSCALING_V2 = Package(
    "autoscaling/v2", "v2",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "HorizontalPodAutoscaler": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec HorizontalPodAutoscalerSpec, "
            "status HorizontalPodAutoscalerStatus"),
        "HorizontalPodAutoscalerSpec": (
            "scaleTargetRef CrossVersionObjectReference, minReplicas *int32, maxReplicas int32, "
            "metrics []MetricSpec, behavior *HorizontalPodAutoscalerBehavior"),
        "HorizontalPodAutoscalerStatus": (
            "observedGeneration *int64, lastScaleTime *metav1.Time, currentReplicas int32, "
            "desiredReplicas int32, currentMetrics []MetricStatus, "
            "conditions []HorizontalPodAutoscalerCondition"),
        "CrossVersionObjectReference": "kind string, name string, apiVersion string",
        "MetricSpec": (
            "type MetricSourceType, object *ObjectMetricSource, pods *PodsMetricSource, "
            "resource *ResourceMetricSource, containerResource *ContainerResourceMetricSource, "
            "external *ExternalMetricSource"),
        "HorizontalPodAutoscalerBehavior": "scaleUp *HPAScalingRules, scaleDown *HPAScalingRules",
        "MetricStatus": (
            "type MetricSourceType, object *ObjectMetricStatus, pods *PodsMetricStatus, "
            "resource *ResourceMetricStatus, containerResource *ContainerResourceMetricStatus, "
            "external *ExternalMetricStatus"),
        "HorizontalPodAutoscalerCondition": (
            "type HorizontalPodAutoscalerConditionType, status v1.ConditionStatus, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "ObjectMetricSource": (
            "describedObject CrossVersionObjectReference, target MetricTarget, "
            "metric MetricIdentifier"),
        "PodsMetricSource": "metric MetricIdentifier, target MetricTarget",
        "ResourceMetricSource": "name v1.ResourceName, target MetricTarget",
        "ContainerResourceMetricSource": (
            "name v1.ResourceName, target MetricTarget, container string"),
        "ExternalMetricSource": "metric MetricIdentifier, target MetricTarget",
        "HPAScalingRules": (
            "stabilizationWindowSeconds *int32, selectPolicy *ScalingPolicySelect, "
            "policies []HPAScalingPolicy"),
        "ObjectMetricStatus": (
            "metric MetricIdentifier, current MetricValueStatus, "
            "describedObject CrossVersionObjectReference"),
        "PodsMetricStatus": "metric MetricIdentifier, current MetricValueStatus",
        "ResourceMetricStatus": "name v1.ResourceName, current MetricValueStatus",
        "ContainerResourceMetricStatus": (
            "name v1.ResourceName, current MetricValueStatus, container string"),
        "ExternalMetricStatus": "metric MetricIdentifier, current MetricValueStatus",
        "MetricTarget": (
            "type MetricTargetType, value *resource.Quantity, averageValue *resource.Quantity, "
            "averageUtilization *int32"),
        "MetricIdentifier": "name string, selector *metav1.LabelSelector",
        "HPAScalingPolicy": "type HPAScalingPolicyType, value int32, periodSeconds int32",
        "MetricValueStatus": (
            "value *resource.Quantity, averageValue *resource.Quantity, averageUtilization *int32"),
    },
    strings=("HPAScalingPolicyType", "HorizontalPodAutoscalerConditionType", "MetricSourceType",
             "MetricTargetType", "ScalingPolicySelect"),
    list_keys={"HorizontalPodAutoscalerStatus.conditions": ("type",)},
)

register_roots("autoscaling/v1", "autoscaling", "v1", ("HorizontalPodAutoscaler", "Scale"))
register_roots("autoscaling/v2", "autoscaling", "v2", ("HorizontalPodAutoscaler",))
