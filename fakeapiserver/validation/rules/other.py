"""APIServices (kube-aggregator), PodDisruptionBudgets, Nodes' taints and ConfigMap keys."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ..fielderrors import FieldError, invalid, not_supported, required
from ..gofmt import GoValue
from .meta import as_dict, as_list, validate_label_selector
from .names import (
    chdir_prefix_errors,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    is_valid_path_segment_name,
    is_valid_port_num,
    max_len_error,
    regex_error,
)
from .pods import TAINT_EFFECTS
from .workloads import not_more_than_100_percent, positive_int_or_percent

_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY = re.compile(_CONFIG_KEY_FMT)


def apiservice_name(spec: Any) -> Any:
    """kube-aggregator's name rule: a path segment, and exactly ``<version>.<group>``."""
    s = as_dict(spec)
    wanted = f"{s.get('version') or ''}.{s.get('group') or ''}"

    def check(name: str, prefix: bool) -> list[str]:
        minimal = is_valid_path_segment_name(name)
        if minimal:
            return minimal
        return [] if name == wanted else [f'must be `spec.version+"."+spec.group`: "{wanted}"']
    return check


def apiservice_spec(spec: Any) -> list[FieldError]:
    s = as_dict(spec)
    errs: list[FieldError] = []
    group, version = str(s.get("group") or ""), str(s.get("version") or "")
    if not group and version != "v1":
        errs.append(required("spec.group", "only v1 may have an empty group and it better be "
                                           "legacy kube"))
    if group:
        errs += [invalid("spec.group", group, m) for m in is_dns1123_subdomain(group)]
    errs += [invalid("spec.version", version, m) for m in is_dns1035_label(version)]
    group_min = int(s.get("groupPriorityMinimum") or 0)
    if group_min <= 0 or group_min > 20000:
        errs.append(invalid("spec.groupPriorityMinimum", group_min,
                            "must be positive and less than 20000"))
    version_prio = int(s.get("versionPriority") or 0)
    if version_prio <= 0 or version_prio > 1000:
        errs.append(invalid("spec.versionPriority", version_prio,
                            "must be positive and less than 1000"))
    ca_bundle = s.get("caBundle") or ""
    try:
        bundle_len = len(base64.b64decode(ca_bundle)) if ca_bundle else 0
    except (binascii.Error, ValueError):  # (refused while decoding; not reached)
        bundle_len = len(ca_bundle)
    skip_verify = bool(s.get("insecureSkipTLSVerify"))
    service = s.get("service")
    if service is None:
        if bundle_len:
            errs.append(invalid("spec.caBundle", f"{bundle_len} bytes",
                                "local APIServices may not have a caBundle"))
        if skip_verify:
            errs.append(invalid("spec.insecureSkipTLSVerify", True,
                                "local APIServices may not have insecureSkipTLSVerify"))
        return errs
    svc = as_dict(service)
    for field in ("namespace", "name"):
        if not svc.get(field):
            errs.append(required(f"spec.service.{field}"))
    port = int(svc.get("port") or 0)
    msgs = is_valid_port_num(port)
    if msgs:
        errs.append(invalid("spec.service.port", port, "port is not valid: " + ", ".join(msgs)))
    if skip_verify and bundle_len:
        errs.append(invalid("spec.insecureSkipTLSVerify", True,
                            "may not be true if caBundle is present"))
    return errs


def pdb_spec(spec: Any) -> list[FieldError]:
    s = as_dict(spec)
    errs: list[FieldError] = []
    if s.get("minAvailable") is not None and s.get("maxUnavailable") is not None:
        errs.append(invalid("spec", GoValue(
            "policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000000000), "
            "Selector:(*v1.LabelSelector)(0xc000000000), "
            "MaxUnavailable:(*intstr.IntOrString)(0xc000000000), "
            "UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}"),
            "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        if s.get(field) is not None:
            errs += positive_int_or_percent(s[field], f"spec.{field}")
            errs += not_more_than_100_percent(s[field], f"spec.{field}")
    errs += validate_label_selector(s.get("selector"), "spec.selector")
    return errs


def node_spec(spec: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, taint in enumerate(as_list(as_dict(spec).get("taints"))):
        t, at = as_dict(taint), f"spec.taints[{i}]"
        key = str(t.get("key") or "")
        errs += [invalid(f"{at}.key", key, m) for m in is_qualified_name(key)]
        value = str(t.get("value") or "")
        errs += [invalid(f"{at}.value", value, m) for m in is_valid_label_value(value)]
        effect = t.get("effect") or ""
        if not effect:
            errs.append(required(f"{at}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{at}.effect", effect, TAINT_EFFECTS))
    return errs


def is_config_map_key(key: str) -> list[str]:
    errs = []
    if len(key) > 253:
        errs.append(max_len_error(253))
    if not _CONFIG_KEY.fullmatch(key):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, "
                                "'-', '_' or '.'", _CONFIG_KEY_FMT, "key.name", "KEY_NAME",
                                "key-name"))
    return errs + chdir_prefix_errors(key)


def config_map_keys(obj: dict[str, Any], fields: tuple[str, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for field in fields:
        for key in sorted(as_dict(obj.get(field))):
            errs += [invalid(f"{field}[{key}]", key, m) for m in is_config_map_key(key)]
            if key in seen:
                errs.append(invalid(f"{field}[{key}]", key, "duplicate of key present in "
                                                             f"{fields[0]}"))
            seen.add(key)
    return errs
