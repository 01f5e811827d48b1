"""The Go type tables: every name resolves, and every field the control plane's code reads
(controllers, scheduler, table printers, local pods, registration, selectors, aggregation,
reviews) is typed — not left opaque — so a badly typed value there is refused on the way in."""

from __future__ import annotations

import pytest

from fakeapiserver.validation import gotypes
from fakeapiserver.validation.gotypes import GoType, Map, Slice, Special, Struct

#: (group, version, Kind) → the dotted paths the control plane reads ("[]" steps into lists).
READ: dict[tuple[str, str, str], list[str]] = {
    ("apps", "v1", "Deployment"): [
        "metadata.name", "metadata.namespace", "metadata.uid", "metadata.generation",
        "metadata.annotations", "metadata.labels", "metadata.deletionTimestamp",
        "metadata.creationTimestamp", "metadata.ownerReferences[].uid",
        "metadata.ownerReferences[].controller", "metadata.ownerReferences[].kind",
        "metadata.ownerReferences[].name", "spec.replicas", "spec.selector.matchLabels",
        "spec.selector.matchExpressions[].key", "spec.selector.matchExpressions[].operator",
        "spec.selector.matchExpressions[].values", "spec.template.metadata.labels",
        "spec.template.spec.containers[].name", "spec.template.spec.containers[].image",
        "spec.strategy.type", "spec.strategy.rollingUpdate.maxSurge",
        "spec.strategy.rollingUpdate.maxUnavailable", "spec.paused", "spec.minReadySeconds",
        "spec.revisionHistoryLimit", "spec.progressDeadlineSeconds", "status.collisionCount",
        "status.conditions[].type", "status.conditions[].status", "status.conditions[].reason",
        "status.conditions[].message", "status.conditions[].lastTransitionTime",
        "status.conditions[].lastUpdateTime", "status.replicas", "status.updatedReplicas",
        "status.readyReplicas", "status.availableReplicas", "status.unavailableReplicas",
        "status.observedGeneration"],
    ("apps", "v1", "ReplicaSet"): [
        "spec.replicas", "spec.minReadySeconds", "spec.selector.matchLabels",
        "spec.template.metadata.labels", "spec.template.metadata.annotations",
        "spec.template.spec.serviceAccountName", "spec.template.spec.serviceAccount",
        "status.replicas", "status.readyReplicas", "status.availableReplicas",
        "status.fullyLabeledReplicas", "status.observedGeneration", "status.conditions[].type"],
    ("apps", "v1", "DaemonSet"): [
        "spec.selector.matchLabels", "spec.template.spec.containers[].image",
        "status.desiredNumberScheduled", "status.currentNumberScheduled", "status.numberReady",
        "status.updatedNumberScheduled", "status.numberAvailable"],
    ("apps", "v1", "StatefulSet"): [
        "spec.replicas", "spec.selector.matchLabels", "spec.template.spec.containers[].image",
        "status.readyReplicas", "status.replicas"],
    ("", "v1", "Pod"): [
        "spec.nodeName", "spec.schedulerName", "spec.nodeSelector", "spec.restartPolicy",
        "spec.serviceAccountName", "spec.hostNetwork", "spec.readinessGates[].conditionType",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
        "nodeSelectorTerms[].matchExpressions[].key",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
        "nodeSelectorTerms[].matchExpressions[].values",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
        "nodeSelectorTerms[].matchFields[].operator",
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[]."
        "labelSelector.matchLabels",
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[]."
        "topologyKey",
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[]."
        "namespaces",
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[]."
        "namespaceSelector.matchLabels",
        "spec.tolerations[].key", "spec.tolerations[].operator", "spec.tolerations[].value",
        "spec.tolerations[].effect", "spec.containers[].name", "spec.containers[].image",
        "spec.containers[].command", "spec.containers[].args", "spec.containers[].env[].name",
        "spec.containers[].env[].value", "spec.containers[].env[].valueFrom.fieldRef.fieldPath",
        "spec.containers[].ports[].containerPort", "spec.containers[].ports[].protocol",
        "spec.containers[].ports[].name", "spec.containers[].volumeMounts[].name",
        "spec.containers[].volumeMounts[].mountPath", "spec.containers[].volumeMounts[].subPath",
        "spec.containers[].resources.limits", "spec.containers[].resources.requests",
        "spec.containers[].livenessProbe.httpGet.path",
        "spec.containers[].livenessProbe.httpGet.port",
        "spec.containers[].livenessProbe.httpGet.scheme",
        "spec.containers[].livenessProbe.httpGet.host",
        "spec.containers[].livenessProbe.initialDelaySeconds",
        "spec.containers[].readinessProbe.periodSeconds",
        "spec.containers[].readinessProbe.timeoutSeconds",
        "spec.containers[].readinessProbe.failureThreshold",
        "spec.containers[].readinessProbe.successThreshold",
        "spec.initContainers[].name", "spec.volumes[].name", "spec.volumes[].configMap.name",
        "spec.volumes[].secret.secretName", "spec.volumes[].emptyDir",
        "status.phase", "status.reason", "status.podIP", "status.podIPs[].ip", "status.hostIP",
        "status.hostIPs[].ip", "status.nominatedNodeName", "status.startTime",
        "status.conditions[].type", "status.conditions[].status",
        "status.conditions[].lastTransitionTime", "status.conditions[].message",
        "status.containerStatuses[].name", "status.containerStatuses[].ready",
        "status.containerStatuses[].restartCount", "status.containerStatuses[].containerID",
        "status.containerStatuses[].image", "status.containerStatuses[].started",
        "status.containerStatuses[].state.running.startedAt",
        "status.containerStatuses[].state.waiting.reason",
        "status.containerStatuses[].state.terminated.exitCode",
        "status.containerStatuses[].state.terminated.signal",
        "status.containerStatuses[].state.terminated.reason",
        "status.containerStatuses[].lastState.terminated.finishedAt",
        "status.initContainerStatuses[].state.terminated.exitCode"],
    ("", "v1", "Node"): [
        "metadata.name", "metadata.labels", "spec.unschedulable", "spec.taints[].key",
        "spec.taints[].value", "spec.taints[].effect", "status.conditions[].type",
        "status.conditions[].status", "status.addresses[].type", "status.addresses[].address",
        "status.nodeInfo.kubeletVersion", "status.nodeInfo.osImage",
        "status.nodeInfo.kernelVersion", "status.nodeInfo.containerRuntimeVersion",
        "status.capacity", "status.allocatable", "status.daemonEndpoints.kubeletEndpoint.Port"],
    ("", "v1", "Service"): [
        "spec.selector", "spec.ports[].name", "spec.ports[].port", "spec.ports[].targetPort",
        "spec.ports[].protocol", "spec.ports[].nodePort", "spec.type", "spec.clusterIP",
        "spec.externalIPs", "spec.externalName", "spec.publishNotReadyAddresses",
        "status.loadBalancer.ingress[].ip", "status.loadBalancer.ingress[].hostname"],
    ("", "v1", "Endpoints"): [
        "subsets[].addresses[].ip", "subsets[].addresses[].nodeName",
        "subsets[].addresses[].targetRef.name", "subsets[].notReadyAddresses[].ip",
        "subsets[].ports[].name", "subsets[].ports[].port", "subsets[].ports[].protocol"],
    ("discovery.k8s.io", "v1", "EndpointSlice"): [
        "addressType", "endpoints[].addresses", "endpoints[].conditions.ready",
        "endpoints[].nodeName", "endpoints[].targetRef.name", "ports[].name", "ports[].port",
        "ports[].protocol"],
    ("autoscaling", "v2", "HorizontalPodAutoscaler"): [
        "spec.scaleTargetRef.kind", "spec.scaleTargetRef.name", "spec.scaleTargetRef.apiVersion",
        "spec.minReplicas", "spec.maxReplicas", "spec.metrics[].type",
        "spec.metrics[].resource.name", "spec.metrics[].resource.target.type",
        "spec.metrics[].resource.target.averageUtilization",
        "spec.metrics[].resource.target.averageValue", "spec.metrics[].resource.target.value",
        "spec.metrics[].containerResource.container",
        "spec.metrics[].containerResource.target.averageUtilization",
        "spec.metrics[].pods.metric.name", "spec.metrics[].pods.metric.selector.matchLabels",
        "spec.metrics[].pods.target.averageValue", "spec.metrics[].object.describedObject.name",
        "spec.metrics[].object.target.value", "spec.metrics[].external.metric.name",
        "spec.metrics[].external.target.averageValue",
        "spec.behavior.scaleUp.stabilizationWindowSeconds",
        "spec.behavior.scaleUp.selectPolicy", "spec.behavior.scaleUp.policies[].type",
        "spec.behavior.scaleUp.policies[].value",
        "spec.behavior.scaleUp.policies[].periodSeconds",
        "spec.behavior.scaleDown.stabilizationWindowSeconds",
        "spec.behavior.scaleDown.policies[].periodSeconds", "status.currentReplicas",
        "status.desiredReplicas", "status.lastScaleTime", "status.observedGeneration",
        "status.currentMetrics[].type", "status.currentMetrics[].resource.name",
        "status.currentMetrics[].resource.current.averageUtilization",
        "status.currentMetrics[].resource.current.averageValue",
        "status.currentMetrics[].pods.current.averageValue",
        "status.conditions[].type", "status.conditions[].status",
        "status.conditions[].reason", "status.conditions[].lastTransitionTime"],
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): [
        "spec.scaleTargetRef.name", "spec.minReplicas", "spec.maxReplicas",
        "spec.targetCPUUtilizationPercentage", "status.currentReplicas",
        "status.desiredReplicas", "status.currentCPUUtilizationPercentage",
        "status.lastScaleTime"],
    ("autoscaling", "v1", "Scale"): ["spec.replicas", "status.replicas", "status.selector"],
    ("apiregistration.k8s.io", "v1", "APIService"): [
        "spec.service.name", "spec.service.namespace", "spec.service.port", "spec.group",
        "spec.version", "spec.groupPriorityMinimum", "spec.versionPriority", "spec.caBundle",
        "spec.insecureSkipTLSVerify", "status.conditions[].type", "status.conditions[].status",
        "status.conditions[].reason", "status.conditions[].message",
        "status.conditions[].lastTransitionTime"],
    ("policy", "v1", "PodDisruptionBudget"): [
        "spec.minAvailable", "spec.maxUnavailable", "spec.selector.matchLabels",
        "status.disruptionsAllowed", "status.currentHealthy", "status.desiredHealthy",
        "status.expectedPods", "status.disruptedPods", "status.observedGeneration",
        "status.conditions[].type"],
    ("", "v1", "Event"): [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "message", "type", "source.component",
        "source.host", "firstTimestamp", "lastTimestamp", "eventTime", "count", "series.count",
        "series.lastObservedTime", "reportingComponent"],
    ("", "v1", "ConfigMap"): ["data", "binaryData"],
    ("", "v1", "Secret"): ["type", "data"],
    ("", "v1", "ServiceAccount"): ["secrets[].name"],
    ("", "v1", "Namespace"): ["status.phase", "spec.finalizers"],
    ("coordination.k8s.io", "v1", "Lease"): ["spec.holderIdentity", "spec.renewTime"],
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"): [
        "rules[].verbs", "rules[].apiGroups", "rules[].resources", "rules[].resourceNames",
        "rules[].nonResourceURLs", "aggregationRule.clusterRoleSelectors[].matchLabels"],
    ("rbac.authorization.k8s.io", "v1", "Role"): ["rules[].verbs", "rules[].resources"],
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"): [
        "subjects[].kind", "subjects[].name", "subjects[].namespace", "subjects[].apiGroup",
        "roleRef.kind", "roleRef.name", "roleRef.apiGroup"],
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): [
        "subjects[].name", "roleRef.name"],
    ("authentication.k8s.io", "v1", "TokenReview"): ["spec.token", "spec.audiences"],
    ("authentication.k8s.io", "v1", "TokenRequest"): [
        "spec.audiences", "spec.expirationSeconds", "spec.boundObjectRef.kind",
        "spec.boundObjectRef.name", "spec.boundObjectRef.uid"],
    ("authorization.k8s.io", "v1", "SubjectAccessReview"): [
        "spec.user", "spec.groups", "spec.uid", "spec.extra",
        "spec.resourceAttributes.verb", "spec.resourceAttributes.namespace",
        "spec.resourceAttributes.group", "spec.resourceAttributes.version",
        "spec.resourceAttributes.resource", "spec.resourceAttributes.subresource",
        "spec.resourceAttributes.name", "spec.nonResourceAttributes.path",
        "spec.nonResourceAttributes.verb"],
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"): [
        "spec.resourceAttributes.verb", "spec.nonResourceAttributes.path"],
    ("authorization.k8s.io", "v1", "LocalSubjectAccessReview"): [
        "spec.user", "spec.resourceAttributes.namespace"],
}


def resolve(root: Struct, path: str) -> GoType:
    t: GoType = root
    for step in path.split("."):
        items = step.endswith("[]")
        name = step[:-2] if items else step
        assert isinstance(t, Struct), f"{path}: {name} is under a {t.display}"
        assert not t.opaque, f"{path}: {t.display} is opaque"
        assert name in t.fields, f"{path}: {t.display} has no field {name}"
        t = t.fields[name]
        if items:
            assert isinstance(t, Slice), f"{path}: {name} is not a list"
            t = t.elem
    return t


@pytest.mark.parametrize("gvk", sorted(READ), ids=lambda g: f"{g[0] or 'core'}/{g[2]}")
def test_every_field_read_is_typed(gvk: tuple[str, str, str]) -> None:
    root = gotypes.root(*gvk)
    assert root is not None
    for path in READ[gvk]:
        t = resolve(root, path)
        assert not (isinstance(t, Struct) and t.opaque), path
        assert not (isinstance(t, Special) and t.what == "raw"), path
        if isinstance(t, Map):
            assert not (isinstance(t.elem, Special) and t.elem.what == "raw"), path


def test_every_table_resolves() -> None:
    count = 0
    for package in gotypes.PACKAGES.values():
        count += len(package.all_types())
    assert count > 1000


def test_every_stored_kind_has_a_table() -> None:
    from fakeapiserver.kinds import REGISTRY

    missing = [k.kind for k in REGISTRY if gotypes.root(k.group, k.version, k.kind) is None]
    assert missing == []
