"""Pod specs and pod templates (``k8s.io/kubernetes/pkg/apis/core/validation``): the parts
the scheduler, the local pods and the workload controllers read — containers and their
names, images, ports, env, resources and probes, volumes and mounts, node selectors,
tolerations, restart and DNS policy.

kube-apiserver validates *defaulted* objects; fields it defaults that our store does not
(``imagePullPolicy``, ``terminationMessagePolicy``, probe thresholds in templates, …) are
checked only when they are set, so a value the defaulting would have filled in never
fails here.
"""

from __future__ import annotations

from typing import Any

from ..fielderrors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    non_negative,
    not_supported,
    required,
)
from ..gofmt import GoValue, quote
from ..quantity import QuantityError, canonical, parse_quantity
from .meta import as_dict, as_list, validate_annotations, validate_labels
from .names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
)

Obj = dict[str, Any]

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image")


def port_num_or_name(port: Any, path: str) -> list[FieldError]:
    """``ValidatePortNumOrName`` for an int-or-string port."""
    if isinstance(port, str):
        return [invalid(path, port, msg) for msg in is_valid_port_name(port)]
    number = int(port or 0)
    return [invalid(path, number, msg) for msg in is_valid_port_num(number)]


def _quantity(text: Any) -> Any:
    try:
        return parse_quantity(str(text).strip())
    except QuantityError:  # (refused while decoding; not reached)
        return None


def validate_resources(resources: Any, path: str) -> list[FieldError]:
    """Non-negative quantities and requests no larger than limits."""
    res = as_dict(resources)
    limits, requests = as_dict(res.get("limits")), as_dict(res.get("requests"))
    errs: list[FieldError] = []
    for name in sorted(limits):
        value = _quantity(limits[name])
        if value is not None and value < 0:
            errs.append(invalid(f"{path}.limits[{name}]", canonical(str(limits[name]).strip()),
                                "must be greater than or equal to 0"))
    for name in sorted(requests):
        value = _quantity(requests[name])
        if value is None:
            continue
        text = canonical(str(requests[name]).strip())
        if value < 0:
            errs.append(invalid(f"{path}.requests[{name}]", text,
                                "must be greater than or equal to 0"))
        limit = _quantity(limits.get(name)) if name in limits else None
        if limit is not None and value > limit:
            errs.append(invalid(f"{path}.requests", text, f"must be less than or equal to {name} "
                                f"limit of {canonical(str(limits[name]).strip())}"))
    return errs


def _handler(probe: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for name in ("exec", "httpGet", "tcpSocket", "grpc"):
        action = probe.get(name)
        if action is None:
            continue
        if count:
            errs.append(forbidden(f"{path}.{name}", "may not specify more than 1 handler type"))
            continue
        count += 1
        action = as_dict(action)
        if name == "exec" and not as_list(action.get("command")):
            errs.append(required(f"{path}.exec.command"))
        elif name in ("httpGet", "tcpSocket"):
            errs += port_num_or_name(action.get("port"), f"{path}.{name}.port")
            scheme = action.get("scheme")
            if name == "httpGet" and scheme and scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(f"{path}.httpGet.scheme", scheme, ("HTTP", "HTTPS")))
        elif name == "grpc":
            port = int(action.get("port") or 0)
            errs += [invalid(f"{path}.grpc.port", port, m) for m in is_valid_port_num(port)]
    if not count:
        errs.append(required(path, "must specify a handler type"))
    return errs


def validate_probe(probe: Any, path: str, success_must_be_one: bool) -> list[FieldError]:
    if probe is None:
        return []
    p = as_dict(probe)
    errs = _handler(p, path)
    for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                  "failureThreshold"):
        errs += non_negative(int(p.get(field) or 0), f"{path}.{field}")
    success = int(p.get("successThreshold") or 0)
    if success_must_be_one and success not in (0, 1):
        errs.append(invalid(f"{path}.successThreshold", success, "must be 1"))
    return errs


def _ports(ports: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(as_list(ports)):
        p, at = as_dict(port), f"{path}[{i}]"
        name = str(p.get("name") or "")
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs += [invalid(f"{at}.name", name, m) for m in msgs]
            elif name in names:
                errs.append(duplicate(f"{at}.name", name))
            names.add(name)
        number = int(p.get("containerPort") or 0)
        if not number:
            errs.append(required(f"{at}.containerPort"))
        else:
            errs += [invalid(f"{at}.containerPort", number, m) for m in is_valid_port_num(number)]
        host = int(p.get("hostPort") or 0)
        if host:
            errs += [invalid(f"{at}.hostPort", host, m) for m in is_valid_port_num(host)]
        protocol = p.get("protocol")
        if protocol and protocol not in PROTOCOLS:
            errs.append(not_supported(f"{at}.protocol", protocol, PROTOCOLS))
    return errs


def _env(env: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in enumerate(as_list(env)):
        v, at = as_dict(var), f"{path}[{i}]"
        name = str(v.get("name") or "")
        if not name:
            errs.append(required(f"{at}.name"))
        else:
            errs += [invalid(f"{at}.name", name, m) for m in is_env_var_name(name)]
        if v.get("valueFrom") is not None and v.get("value"):
            errs.append(invalid(f"{at}.valueFrom", "",
                                "may not be specified when `value` is not empty"))
    return errs


def _mounts(mounts: Any, volumes: set[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, mount in enumerate(as_list(mounts)):
        m, at = as_dict(mount), f"{path}[{i}]"
        name = str(m.get("name") or "")
        if not name:
            errs.append(required(f"{at}.name"))
        if name not in volumes:
            errs.append(FieldError("NotFound", f"{at}.name", name))
        mount_path = str(m.get("mountPath") or "")
        if not mount_path:
            errs.append(required(f"{at}.mountPath"))
        if mount_path in seen:
            errs.append(invalid(f"{at}.mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
    return errs


def _container(c: Obj, path: str, volumes: set[str], regular: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    name = str(c.get("name") or "")
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs += [invalid(f"{path}.name", name, m) for m in is_dns1123_label(name)]
    if not c.get("image"):
        errs.append(required(f"{path}.image"))
    policy = c.get("terminationMessagePolicy")
    if policy and policy not in ("File", "FallbackToLogsOnError"):
        errs.append(not_supported(f"{path}.terminationMessagePolicy", policy,
                                  ("File", "FallbackToLogsOnError")))
    errs += _ports(c.get("ports"), f"{path}.ports")
    errs += _env(c.get("env"), f"{path}.env")
    pull = c.get("imagePullPolicy")
    if pull and pull not in PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES))
    errs += _mounts(c.get("volumeMounts"), volumes, f"{path}.volumeMounts")
    if regular:
        errs += validate_probe(c.get("livenessProbe"), f"{path}.livenessProbe", True)
        errs += validate_probe(c.get("readinessProbe"), f"{path}.readinessProbe", False)
        errs += validate_probe(c.get("startupProbe"), f"{path}.startupProbe", True)
    errs += validate_resources(c.get("resources"), f"{path}.resources")
    return errs


def _volumes(volumes: Any, path: str) -> tuple[list[FieldError], set[str]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, volume in enumerate(as_list(volumes)):
        v, at = as_dict(volume), f"{path}[{i}]"
        name = str(v.get("name") or "")
        if not name:
            errs.append(required(f"{at}.name"))
        else:
            errs += [invalid(f"{at}.name", name, m) for m in is_dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{at}.name", name))
        names.add(name)
        sources = [s for s in _VOLUME_SOURCES if v.get(s) is not None]
        if not sources:
            errs.append(required(at, "must specify a volume type"))
        for extra in sources[1:]:
            errs.append(forbidden(f"{at}.{extra}", "may not specify more than 1 volume type"))
    return errs, names


def _toleration_go(t: Obj) -> GoValue:
    seconds = t.get("tolerationSeconds")
    pointer = "(*int64)(nil)" if seconds is None else "(*int64)(0xc000000000)"
    return GoValue("core.Toleration{" + ", ".join(
        f"{k}:{quote(str(t.get(f) or ''))}" for k, f in (
            ("Key", "key"), ("Operator", "operator"), ("Value", "value"),
            ("Effect", "effect"))) + f", TolerationSeconds:{pointer}}}")


def _tolerations(tolerations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, toleration in enumerate(as_list(tolerations)):
        t, at = as_dict(toleration), f"{path}[{i}]"
        key = str(t.get("key") or "")
        operator = str(t.get("operator") or "")
        if key:
            errs += [invalid(f"{at}.key", key, m) for m in is_qualified_name(key)]
        elif operator != "Exists":
            errs.append(invalid(f"{at}.operator", operator, "operator must be Exists when `key` "
                                'is empty, which means "match all values and all keys"'))
        effect = str(t.get("effect") or "")
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(f"{at}.effect", effect,
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        value = str(t.get("value") or "")
        if operator in ("", "Equal"):
            msgs = is_valid_label_value(value)
            if msgs:
                errs.append(invalid(f"{at}.operator", value, ";".join(msgs)))
        elif operator == "Exists":
            if value:
                errs.append(invalid(f"{at}.operator", _toleration_go(t),
                                    "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{at}.operator", operator, ("Equal", "Exists")))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{at}.effect", effect, TAINT_EFFECTS))
    return errs


def validate_pod_spec(spec: Any, path: str) -> list[FieldError]:
    """``ValidatePodSpec`` for the fields listed in the module docstring."""
    s = as_dict(spec)
    errs, volumes = _volumes(s.get("volumes"), f"{path}.volumes")
    containers = as_list(s.get("containers"))
    names: set[str] = set()
    for field, regular in (("initContainers", False), ("containers", True)):
        for i, container in enumerate(as_list(s.get(field))):
            c, at = as_dict(container), f"{path}.{field}[{i}]"
            errs += _container(c, at, volumes, regular)
            name = str(c.get("name") or "")
            if name and name in names:
                errs.append(duplicate(f"{at}.name", name))
            names.add(name)
    if not containers:
        errs.append(required(f"{path}.containers"))
    restart = s.get("restartPolicy")
    if restart and restart not in RESTART_POLICIES:
        errs.append(not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES))
    dns = s.get("dnsPolicy")
    if dns and dns not in DNS_POLICIES:
        errs.append(not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES))
    errs += validate_labels(s.get("nodeSelector"), f"{path}.nodeSelector")
    account = str(s.get("serviceAccountName") or "")
    if account:
        errs += [invalid(f"{path}.serviceAccountName", account, m)
                 for m in is_dns1123_subdomain(account)]
    errs += _tolerations(s.get("tolerations"), f"{path}.tolerations")
    errs += non_negative(int(s.get("terminationGracePeriodSeconds") or 0),
                         f"{path}.terminationGracePeriodSeconds")
    return errs


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec`` (labels and annotations are reported at ``<path>.labels``,
    as kube-apiserver reports them)."""
    t = as_dict(template)
    meta = as_dict(t.get("metadata"))
    errs = validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_pod_spec(t.get("spec"), f"{path}.spec")
    return errs
