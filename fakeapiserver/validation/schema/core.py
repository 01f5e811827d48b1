"""core/v1 (k8s.io/api): pods and their templates, services, endpoints, nodes, namespaces,
config maps, secrets, service accounts, events.

Opaque structs (security contexts, most volume sources, lifecycle hooks, …) are checked to be
objects; nothing in the control plane reads inside them.
"""

from __future__ import annotations

from ..gotypes import Package, register_roots

CORE = Package(
    "core/v1", "v1",
    imports={"metav1": "meta/v1"},
    structs={
        "Pod": "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec PodSpec, status PodStatus",
        "Service": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec ServiceSpec, "
            "status ServiceStatus"),
        "Endpoints": "... metav1.TypeMeta, metadata metav1.ObjectMeta, subsets []EndpointSubset",
        "Node": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec NodeSpec, status NodeStatus"),
        "Namespace": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, spec NamespaceSpec, "
            "status NamespaceStatus"),
        "ConfigMap": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, immutable *bool, "
            "data map[string]string, binaryData map[string][]byte"),
        "Secret": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, immutable *bool, "
            "data map[string][]byte, stringData map[string]string, type SecretType"),
        "ServiceAccount": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, secrets []ObjectReference, "
            "imagePullSecrets []LocalObjectReference, automountServiceAccountToken *bool"),
        "Event": (
            "... metav1.TypeMeta, metadata metav1.ObjectMeta, involvedObject ObjectReference, "
            "reason string, message string, source EventSource, firstTimestamp metav1.Time, "
            "lastTimestamp metav1.Time, count int32, type string, eventTime metav1.MicroTime, "
            "series *EventSeries, action string, related *ObjectReference, "
            "reportingComponent string, reportingInstance string"),
        "PodTemplateSpec": "metadata metav1.ObjectMeta, spec PodSpec",
        "PodSpec": (
            "volumes []Volume, initContainers []Container, containers []Container, "
            "ephemeralContainers []EphemeralContainer, restartPolicy RestartPolicy, "
            "terminationGracePeriodSeconds *int64, activeDeadlineSeconds *int64, "
            "dnsPolicy DNSPolicy, nodeSelector map[string]string, serviceAccountName string, "
            "serviceAccount string, automountServiceAccountToken *bool, nodeName string, "
            "hostNetwork bool, hostPID bool, hostIPC bool, shareProcessNamespace *bool, "
            "securityContext *PodSecurityContext, imagePullSecrets []LocalObjectReference, "
            "hostname string, subdomain string, affinity *Affinity, schedulerName string, "
            "tolerations []Toleration, hostAliases []HostAlias, priorityClassName string, "
            "priority *int32, dnsConfig *PodDNSConfig, readinessGates []PodReadinessGate, "
            "runtimeClassName *string, enableServiceLinks *bool, "
            "preemptionPolicy *PreemptionPolicy, overhead ResourceList, "
            "topologySpreadConstraints []TopologySpreadConstraint, setHostnameAsFQDN *bool, "
            "os *PodOS, hostUsers *bool, schedulingGates []PodSchedulingGate, "
            "resourceClaims []PodResourceClaim"),
        "PodStatus": (
            "phase PodPhase, conditions []PodCondition, message string, reason string, "
            "nominatedNodeName string, hostIP string, hostIPs []HostIP, podIP string, "
            "podIPs []PodIP, startTime *metav1.Time, initContainerStatuses []ContainerStatus, "
            "containerStatuses []ContainerStatus, qosClass PodQOSClass, "
            "ephemeralContainerStatuses []ContainerStatus, resize PodResizeStatus, "
            "resourceClaimStatuses []PodResourceClaimStatus"),
        "ServiceSpec": (
            "ports []ServicePort, selector map[string]string, clusterIP string, "
            "clusterIPs []string, type ServiceType, externalIPs []string, "
            "sessionAffinity ServiceAffinity, loadBalancerIP string, "
            "loadBalancerSourceRanges []string, externalName string, "
            "externalTrafficPolicy ServiceExternalTrafficPolicy, healthCheckNodePort int32, "
            "publishNotReadyAddresses bool, sessionAffinityConfig *SessionAffinityConfig, "
            "ipFamilies []IPFamily, ipFamilyPolicy *IPFamilyPolicy, "
            "allocateLoadBalancerNodePorts *bool, loadBalancerClass *string, "
            "internalTrafficPolicy *ServiceInternalTrafficPolicy, trafficDistribution *string"),
        "ServiceStatus": "loadBalancer LoadBalancerStatus, conditions []metav1.Condition",
        "EndpointSubset": (
            "addresses []EndpointAddress, notReadyAddresses []EndpointAddress, "
            "ports []EndpointPort"),
        "NodeSpec": (
            "podCIDR string, podCIDRs []string, providerID string, unschedulable bool, "
            "taints []Taint, configSource *NodeConfigSource, externalID string"),
        "NodeStatus": (
            "capacity ResourceList, allocatable ResourceList, phase NodePhase, "
            "conditions []NodeCondition, addresses []NodeAddress, "
            "daemonEndpoints NodeDaemonEndpoints, nodeInfo NodeSystemInfo, "
            "images []ContainerImage, volumesInUse []UniqueVolumeName, "
            "volumesAttached []AttachedVolume, config *NodeConfigStatus, "
            "runtimeHandlers []NodeRuntimeHandler"),
        "NamespaceSpec": "finalizers []FinalizerName",
        "NamespaceStatus": "phase NamespacePhase, conditions []NamespaceCondition",
        "ObjectReference": (
            "kind string, namespace string, name string, uid types.UID, apiVersion string, "
            "resourceVersion string, fieldPath string"),
        "LocalObjectReference": "name string",
        "EventSource": "component string, host string",
        "EventSeries": "count int32, lastObservedTime metav1.MicroTime",
        "Volume": "name string, ... VolumeSource",
        "Container": (
            "name string, image string, command []string, args []string, workingDir string, "
            "ports []ContainerPort, envFrom []EnvFromSource, env []EnvVar, "
            "resources ResourceRequirements, resizePolicy []ContainerResizePolicy, "
            "restartPolicy *ContainerRestartPolicy, volumeMounts []VolumeMount, "
            "volumeDevices []VolumeDevice, livenessProbe *Probe, readinessProbe *Probe, "
            "startupProbe *Probe, lifecycle *Lifecycle, terminationMessagePath string, "
            "terminationMessagePolicy TerminationMessagePolicy, imagePullPolicy PullPolicy, "
            "securityContext *SecurityContext, stdin bool, stdinOnce bool, tty bool"),
        "Affinity": (
            "nodeAffinity *NodeAffinity, podAffinity *PodAffinity, "
            "podAntiAffinity *PodAntiAffinity"),
        "Toleration": (
            "key string, operator TolerationOperator, value string, effect TaintEffect, "
            "tolerationSeconds *int64"),
        "PodReadinessGate": "conditionType PodConditionType",
        "PodCondition": (
            "type PodConditionType, status ConditionStatus, lastProbeTime metav1.Time, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "HostIP": "ip string",
        "PodIP": "ip string",
        "ContainerStatus": (
            "name string, state ContainerState, lastState ContainerState, ready bool, "
            "restartCount int32, image string, imageID string, containerID string, started *bool, "
            "allocatedResources ResourceList, resources *ResourceRequirements, "
            "volumeMounts []VolumeMountStatus"),
        "ServicePort": (
            "name string, protocol Protocol, appProtocol *string, port int32, "
            "targetPort intstr.IntOrString, nodePort int32"),
        "LoadBalancerStatus": "ingress []LoadBalancerIngress",
        "EndpointAddress": (
            "ip string, hostname string, nodeName *string, targetRef *ObjectReference"),
        "EndpointPort": "name string, port int32, protocol Protocol, appProtocol *string",
        "Taint": "key string, value string, effect TaintEffect, timeAdded *metav1.Time",
        "NodeCondition": (
            "type NodeConditionType, status ConditionStatus, lastHeartbeatTime metav1.Time, "
            "lastTransitionTime metav1.Time, reason string, message string"),
        "NodeAddress": "type NodeAddressType, address string",
        "NodeDaemonEndpoints": "kubeletEndpoint DaemonEndpoint",
        "NodeSystemInfo": (
            "machineID string, systemUUID string, bootID string, kernelVersion string, "
            "osImage string, containerRuntimeVersion string, kubeletVersion string, "
            "kubeProxyVersion string, operatingSystem string, architecture string"),
        "NamespaceCondition": (
            "type NamespaceConditionType, status ConditionStatus, lastTransitionTime metav1.Time, "
            "reason string, message string"),
        "VolumeSource": (
            "hostPath *HostPathVolumeSource, emptyDir *EmptyDirVolumeSource, "
            "gcePersistentDisk *GCEPersistentDiskVolumeSource, "
            "awsElasticBlockStore *AWSElasticBlockStoreVolumeSource, gitRepo *GitRepoVolumeSource, "
            "secret *SecretVolumeSource, nfs *NFSVolumeSource, iscsi *ISCSIVolumeSource, "
            "glusterfs *GlusterfsVolumeSource, "
            "persistentVolumeClaim *PersistentVolumeClaimVolumeSource, rbd *RBDVolumeSource, "
            "flexVolume *FlexVolumeSource, cinder *CinderVolumeSource, cephfs *CephFSVolumeSource, "
            "flocker *FlockerVolumeSource, downwardAPI *DownwardAPIVolumeSource, "
            "fc *FCVolumeSource, azureFile *AzureFileVolumeSource, "
            "configMap *ConfigMapVolumeSource, vsphereVolume *VsphereVirtualDiskVolumeSource, "
            "quobyte *QuobyteVolumeSource, azureDisk *AzureDiskVolumeSource, "
            "photonPersistentDisk *PhotonPersistentDiskVolumeSource, "
            "projected *ProjectedVolumeSource, portworxVolume *PortworxVolumeSource, "
            "scaleIO *ScaleIOVolumeSource, storageos *StorageOSVolumeSource, csi *CSIVolumeSource, "
            "ephemeral *EphemeralVolumeSource"),
        "ContainerPort": (
            "name string, hostPort int32, containerPort int32, protocol Protocol, hostIP string"),
        "EnvVar": "name string, value string, valueFrom *EnvVarSource",
        "ResourceRequirements": (
            "limits ResourceList, requests ResourceList, claims []ResourceClaim"),
        "VolumeMount": (
            "name string, readOnly bool, recursiveReadOnly *RecursiveReadOnlyMode, "
            "mountPath string, subPath string, mountPropagation *MountPropagationMode, "
            "subPathExpr string"),
        "Probe": (
            "... ProbeHandler, initialDelaySeconds int32, timeoutSeconds int32, "
            "periodSeconds int32, successThreshold int32, failureThreshold int32, "
            "terminationGracePeriodSeconds *int64"),
        "NodeAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution *NodeSelector, "
            "preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm"),
        "PodAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm, "
            "preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm"),
        "PodAntiAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm, "
            "preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm"),
        "ContainerState": (
            "waiting *ContainerStateWaiting, running *ContainerStateRunning, "
            "terminated *ContainerStateTerminated"),
        "LoadBalancerIngress": (
            "ip string, hostname string, ipMode *LoadBalancerIPMode, ports []PortStatus"),
        "DaemonEndpoint": "Port int32",
        "HostPathVolumeSource": "path string, type *HostPathType",
        "EmptyDirVolumeSource": "medium StorageMedium, sizeLimit *resource.Quantity",
        "SecretVolumeSource": (
            "secretName string, items []KeyToPath, defaultMode *int32, optional *bool"),
        "ConfigMapVolumeSource": (
            "... LocalObjectReference, items []KeyToPath, defaultMode *int32, optional *bool"),
        "EnvVarSource": (
            "fieldRef *ObjectFieldSelector, resourceFieldRef *ResourceFieldSelector, "
            "configMapKeyRef *ConfigMapKeySelector, secretKeyRef *SecretKeySelector"),
        "ProbeHandler": (
            "exec *ExecAction, httpGet *HTTPGetAction, tcpSocket *TCPSocketAction, "
            "grpc *GRPCAction"),
        "NodeSelector": "nodeSelectorTerms []NodeSelectorTerm",
        "PreferredSchedulingTerm": "weight int32, preference NodeSelectorTerm",
        "PodAffinityTerm": (
            "labelSelector *metav1.LabelSelector, namespaces []string, topologyKey string, "
            "namespaceSelector *metav1.LabelSelector, matchLabelKeys []string, "
            "mismatchLabelKeys []string"),
        "WeightedPodAffinityTerm": "weight int32, podAffinityTerm PodAffinityTerm",
        "ContainerStateWaiting": "reason string, message string",
        "ContainerStateRunning": "startedAt metav1.Time",
        "ContainerStateTerminated": (
            "exitCode int32, signal int32, reason string, message string, startedAt metav1.Time, "
            "finishedAt metav1.Time, containerID string"),
        "KeyToPath": "key string, path string, mode *int32",
        "ObjectFieldSelector": "apiVersion string, fieldPath string",
        "ResourceFieldSelector": (
            "containerName string, resource string, divisor resource.Quantity"),
        "ConfigMapKeySelector": "... LocalObjectReference, key string, optional *bool",
        "SecretKeySelector": "... LocalObjectReference, key string, optional *bool",
        "ExecAction": "command []string",
        "HTTPGetAction": (
            "path string, port intstr.IntOrString, host string, scheme URIScheme, "
            "httpHeaders []HTTPHeader"),
        "TCPSocketAction": "port intstr.IntOrString, host string",
        "GRPCAction": "port int32, service *string",
        "NodeSelectorTerm": (
            "matchExpressions []NodeSelectorRequirement, matchFields []NodeSelectorRequirement"),
        "HTTPHeader": "name string, value string",
        "NodeSelectorRequirement": "key string, operator NodeSelectorOperator, values []string",
    },
    strings=("ConditionStatus", "ContainerRestartPolicy", "DNSPolicy", "FinalizerName",
             "HostPathType", "IPFamily", "IPFamilyPolicy", "LoadBalancerIPMode",
             "MountPropagationMode", "NamespaceConditionType", "NamespacePhase", "NodeAddressType",
             "NodeConditionType", "NodePhase", "NodeSelectorOperator", "PodConditionType",
             "PodPhase", "PodQOSClass", "PodResizeStatus", "PreemptionPolicy", "Protocol",
             "PullPolicy", "RecursiveReadOnlyMode", "ResourceName", "RestartPolicy", "SecretType",
             "ServiceAffinity", "ServiceExternalTrafficPolicy", "ServiceInternalTrafficPolicy",
             "ServiceType", "StorageMedium", "TaintEffect", "TerminationMessagePolicy",
             "TolerationOperator", "URIScheme", "UniqueVolumeName"),
    named={"ResourceList": "map[ResourceName]resource.Quantity"},
    opaque=("AWSElasticBlockStoreVolumeSource", "AttachedVolume", "AzureDiskVolumeSource",
            "AzureFileVolumeSource", "CSIVolumeSource", "CephFSVolumeSource", "CinderVolumeSource",
            "ContainerImage", "ContainerResizePolicy", "DownwardAPIVolumeSource", "EnvFromSource",
            "EphemeralContainer", "EphemeralVolumeSource", "FCVolumeSource", "FlexVolumeSource",
            "FlockerVolumeSource", "GCEPersistentDiskVolumeSource", "GitRepoVolumeSource",
            "GlusterfsVolumeSource", "HostAlias", "ISCSIVolumeSource", "Lifecycle",
            "NFSVolumeSource", "NodeConfigSource", "NodeConfigStatus", "NodeRuntimeHandler",
            "PersistentVolumeClaim", "PersistentVolumeClaimVolumeSource",
            "PhotonPersistentDiskVolumeSource", "PodDNSConfig", "PodOS", "PodResourceClaim",
            "PodResourceClaimStatus", "PodSchedulingGate", "PodSecurityContext", "PortStatus",
            "PortworxVolumeSource", "ProjectedVolumeSource", "QuobyteVolumeSource",
            "RBDVolumeSource", "ResourceClaim", "ScaleIOVolumeSource", "SecurityContext",
            "SessionAffinityConfig", "StorageOSVolumeSource", "TopologySpreadConstraint",
            "VolumeDevice", "VolumeMountStatus", "VsphereVirtualDiskVolumeSource"),
    list_keys={
        "PodSpec.volumes": ("name",), "PodSpec.initContainers": ("name",),
        "PodSpec.containers": ("name",), "PodSpec.imagePullSecrets": ("name",),
        "Container.ports": ("containerPort", "protocol"), "Container.env": ("name",),
        "Container.volumeMounts": ("mountPath",), "PodStatus.conditions": ("type",),
        "ServiceSpec.ports": ("port", "protocol"), "NodeStatus.conditions": ("type",),
        "NodeStatus.addresses": ("type",), "NamespaceStatus.conditions": ("type",),
    },
    key_defaults={"protocol": "TCP"},
)

register_roots("core/v1", "", "v1", ("Pod", "Service", "Endpoints", "Node", "Namespace",
                                     "ConfigMap", "Secret", "ServiceAccount", "Event"))
