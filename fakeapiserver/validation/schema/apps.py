"""apps/v1 (k8s.io/api): Deployments, ReplicaSets, DaemonSets, StatefulSets."""

from __future__ import annotations

from ..gotypes import Package, register_roots

APPS = Package(
    "apps/v1", "v1",
    imports={"v1": "core/v1", "metav1": "meta/v1"},
    structs={
        "Deployment": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec DeploymentSpec, "
            "status DeploymentStatus"),
        "ReplicaSet": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec ReplicaSetSpec, "
            "status ReplicaSetStatus"),
        "DaemonSet": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec DaemonSetSpec, "
            "status DaemonSetStatus"),
        "StatefulSet": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec StatefulSetSpec, "
            "status StatefulSetStatus"),
        "DeploymentSpec": (
            "replicas *int32, selector *metav1.LabelSelector, template v1.PodTemplateSpec, "
            "strategy DeploymentStrategy, minReadySeconds int32, revisionHistoryLimit *int32, "
            "paused bool, progressDeadlineSeconds *int32"),
        "DeploymentStatus": (
            "observedGeneration int64, replicas int32, updatedReplicas int32, readyReplicas int32, "
            "availableReplicas int32, unavailableReplicas int32, conditions []DeploymentCondition, "
            "collisionCount *int32"),
        "ReplicaSetSpec": (
            "replicas *int32, minReadySeconds int32, selector *metav1.LabelSelector, "
            "template v1.PodTemplateSpec"),
        "ReplicaSetStatus": (
            "replicas int32, fullyLabeledReplicas int32, readyReplicas int32, "
            "availableReplicas int32, observedGeneration int64, conditions []ReplicaSetCondition"),
        "DaemonSetSpec": (
            "selector *metav1.LabelSelector, template v1.PodTemplateSpec, "
            "updateStrategy DaemonSetUpdateStrategy, minReadySeconds int32, "
            "revisionHistoryLimit *int32"),
        "DaemonSetStatus": (
            "currentNumberScheduled int32, numberMisscheduled int32, desiredNumberScheduled int32, "
            "numberReady int32, observedGeneration int64, updatedNumberScheduled int32, "
            "numberAvailable int32, numberUnavailable int32, collisionCount *int32, "
            "conditions []DaemonSetCondition"),
        "StatefulSetSpec": (
            "replicas *int32, selector *metav1.LabelSelector, template v1.PodTemplateSpec, "
            "volumeClaimTemplates []v1.PersistentVolumeClaim, serviceName string, "
            "podManagementPolicy PodManagementPolicyType, "
            "updateStrategy StatefulSetUpdateStrategy, revisionHistoryLimit *int32, "
            "minReadySeconds int32, "
            "persistentVolumeClaimRetentionPolicy "
            "*StatefulSetPersistentVolumeClaimRetentionPolicy, "
            "ordinals *StatefulSetOrdinals"),
        "StatefulSetStatus": (
            "observedGeneration int64, replicas int32, readyReplicas int32, currentReplicas int32, "
            "updatedReplicas int32, currentRevision string, updateRevision string, "
            "collisionCount *int32, conditions []StatefulSetCondition, availableReplicas int32"),
        "DeploymentStrategy": (
            "type DeploymentStrategyType, rollingUpdate *RollingUpdateDeployment"),
        "DeploymentCondition": (
            "type DeploymentConditionType, status v1.ConditionStatus, lastUpdateTime metav1.Time, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "ReplicaSetCondition": (
            "type ReplicaSetConditionType, status v1.ConditionStatus, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "DaemonSetUpdateStrategy": (
            "type DaemonSetUpdateStrategyType, rollingUpdate *RollingUpdateDaemonSet"),
        "DaemonSetCondition": (
            "type DaemonSetConditionType, status v1.ConditionStatus, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "StatefulSetUpdateStrategy": (
            "type StatefulSetUpdateStrategyType, rollingUpdate *RollingUpdateStatefulSetStrategy"),
        "StatefulSetCondition": (
            "type StatefulSetConditionType, status v1.ConditionStatus, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "RollingUpdateDeployment": (
            "maxUnavailable *intstr.IntOrString, maxSurge *intstr.IntOrString"),
        "RollingUpdateDaemonSet": (
            "maxUnavailable *intstr.IntOrString, maxSurge *intstr.IntOrString"),
        "RollingUpdateStatefulSetStrategy": "partition *int32, maxUnavailable *intstr.IntOrString",
    },
    strings=("DaemonSetConditionType", "DaemonSetUpdateStrategyType", "DeploymentConditionType",
             "DeploymentStrategyType", "PodManagementPolicyType", "ReplicaSetConditionType",
             "StatefulSetConditionType", "StatefulSetUpdateStrategyType"),
    opaque=("StatefulSetOrdinals", "StatefulSetPersistentVolumeClaimRetentionPolicy"),
    list_keys={"DeploymentStatus.conditions": ("type",)},
)

register_roots("apps/v1", "apps", "v1",
               ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"))
