"""Deployments, ReplicaSets, DaemonSets and StatefulSets (``pkg/apis/apps/validation``): the
replica counts, selectors and templates the deployment and replicaset controllers act on."""

from __future__ import annotations

from typing import Any

from ..fielderrors import (
    FieldError,
    forbidden,
    invalid,
    non_negative,
    not_supported,
    required,
)
from ..gofmt import GoValue, quote, string_map
from .meta import (
    as_dict,
    selector_go,
    selector_matches,
    selector_parses,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from .names import is_valid_percent
from .pods import validate_pod_template

Obj = dict[str, Any]


def int_or_string_go(value: Any) -> GoValue:
    """``%#v`` of an ``intstr.IntOrString``."""
    if isinstance(value, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{quote(value)}}}")
    return GoValue(f"intstr.IntOrString{{Type:0, IntVal:{int(value or 0)}, StrVal:\"\"}}")


def _percent(value: Any) -> int | None:
    if isinstance(value, str) and not is_valid_percent(value):
        return int(value[:-1])
    return None


def int_or_percent_value(value: Any) -> int:
    """``getIntOrPercentValue``: the percentage, the int, or 0 for anything else."""
    percent = _percent(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return int(value) if value.lstrip("-").isdigit() else 0
    return int(value or 0)


def positive_int_or_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return [invalid(path, int_or_string_go(value), m) for m in is_valid_percent(value)]
    return non_negative(int(value or 0), path)


def not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    percent = _percent(value)
    if percent is not None and percent > 100:
        return [invalid(path, int_or_string_go(value), "must not be greater than 100%")]
    return []


def _selector_and_template(spec: Obj, path: str, what: str) -> list[FieldError]:
    """The selector (required but for DaemonSets, valid, not empty), a template it selects,
    and the template itself (StatefulSets: labels and annotations only)."""
    errs: list[FieldError] = []
    selector = spec.get("selector")
    if selector is None:
        if what != "daemonset":
            errs.append(required(f"{path}.selector"))
    else:
        errs += validate_label_selector(selector, f"{path}.selector")
        sel = as_dict(selector)
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            errs.append(invalid(f"{path}.selector", selector_go(selector),
                                f"empty selector is invalid for {what}"))
    template = as_dict(spec.get("template"))
    labels = as_dict(template.get("metadata")).get("labels")
    if not selector_parses(selector):
        errs.append(invalid(f"{path}.selector", selector_go(selector), "invalid label selector"))
        return errs
    sel = as_dict(selector)
    everything = selector is not None and not sel.get("matchLabels") and not sel.get(
        "matchExpressions")
    if not everything and (selector is None or not selector_matches(selector, labels)):
        errs.append(invalid(f"{path}.template.metadata.labels", GoValue(
            string_map(labels) if isinstance(labels, dict) else "map[string]string(nil)"),
            "`selector` does not match template `labels`"))
    if what == "statefulset":
        meta = as_dict(template.get("metadata"))
        errs += validate_labels(meta.get("labels"), f"{path}.template.labels")
        errs += validate_annotations(meta.get("annotations"), f"{path}.template.annotations")
    else:
        errs += validate_pod_template(template, f"{path}.template")
    tspec = as_dict(template.get("spec"))
    restart = tspec.get("restartPolicy")
    if restart and restart != "Always":
        errs.append(not_supported(f"{path}.template.spec.restartPolicy", restart, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(f"{path}.template.spec.activeDeadlineSeconds",
                              f"activeDeadlineSeconds in {what_kind(what)} is not Supported"))
    return errs


def what_kind(what: str) -> str:
    return {"deployment": "ReplicaSet", "daemonset": "DaemonSet",
            "statefulset": "StatefulSet"}.get(what, "ReplicaSet")


def _strategy_go(strategy: Obj) -> GoValue:
    rolling = "(*apps.RollingUpdateDeployment)(nil)" if strategy.get(
        "rollingUpdate") is None else "(*apps.RollingUpdateDeployment)(0xc000000000)"
    return GoValue(f"apps.DeploymentStrategy{{Type:{quote(str(strategy.get('type') or ''))}, "
                   f"RollingUpdate:{rolling}}}")


def _deployment_strategy(strategy: Obj, path: str) -> list[FieldError]:
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden(f"{path}.rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        if rolling is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        r = as_dict(rolling)
        at = f"{path}.rollingUpdate"
        unavailable, surge = r.get("maxUnavailable"), r.get("maxSurge")
        errs = positive_int_or_percent(unavailable, f"{at}.maxUnavailable")
        errs += positive_int_or_percent(surge, f"{at}.maxSurge")
        if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
            errs.append(invalid(f"{at}.maxUnavailable", int_or_string_go(unavailable),
                                "may not be 0 when `maxSurge` is 0"))
        errs += not_more_than_100_percent(unavailable, f"{at}.maxUnavailable")
        return errs
    return [not_supported(path, _strategy_go(strategy), ("Recreate", "RollingUpdate"))]


def deployment_spec(spec: Obj) -> list[FieldError]:
    errs = non_negative(int(spec.get("replicas") or 0), "spec.replicas")
    errs += _selector_and_template(spec, "spec", "deployment")
    errs += _deployment_strategy(as_dict(spec.get("strategy")), "spec.strategy")
    min_ready = int(spec.get("minReadySeconds") or 0)
    errs += non_negative(min_ready, "spec.minReadySeconds")
    if spec.get("revisionHistoryLimit") is not None:
        errs += non_negative(int(spec["revisionHistoryLimit"]), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        errs += non_negative(int(deadline), "spec.progressDeadlineSeconds")
        if int(deadline) <= min_ready:
            errs.append(invalid("spec.progressDeadlineSeconds", int(deadline),
                                "must be greater than minReadySeconds"))
    return errs


def replicaset_spec(spec: Obj) -> list[FieldError]:
    errs = non_negative(int(spec.get("replicas") or 0), "spec.replicas")
    errs += non_negative(int(spec.get("minReadySeconds") or 0), "spec.minReadySeconds")
    errs += _selector_and_template(spec, "spec", "deployment")  # (sic: upstream's wording)
    return errs


def daemonset_spec(spec: Obj) -> list[FieldError]:
    errs = _selector_and_template(spec, "spec", "daemonset")
    errs += non_negative(int(spec.get("minReadySeconds") or 0), "spec.minReadySeconds")
    strategy = as_dict(spec.get("updateStrategy"))
    kind = strategy.get("type")
    if kind and kind not in ("RollingUpdate", "OnDelete"):
        errs.append(not_supported("spec.updateStrategy", kind, ("RollingUpdate", "OnDelete")))
    if spec.get("revisionHistoryLimit") is not None:
        errs += non_negative(int(spec["revisionHistoryLimit"]), "spec.revisionHistoryLimit")
    return errs


def statefulset_spec(spec: Obj) -> list[FieldError]:
    errs = non_negative(int(spec.get("replicas") or 0), "spec.replicas")
    errs += non_negative(int(spec.get("minReadySeconds") or 0), "spec.minReadySeconds")
    errs += _selector_and_template(spec, "spec", "statefulset")
    policy = spec.get("podManagementPolicy")
    if policy and policy not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", policy,
                            "must be 'OrderedReady' or 'Parallel'"))
    return errs


def replicas_status(status: Obj, fields: tuple[str, ...]) -> list[FieldError]:
    """Counts in a workload status: never negative, never above ``status.replicas``."""
    errs: list[FieldError] = []
    errs += non_negative(int(status.get("observedGeneration") or 0), "status.observedGeneration")
    replicas = int(status.get("replicas") or 0)
    errs += non_negative(replicas, "status.replicas")
    for field in fields:
        errs += non_negative(int(status.get(field) or 0), f"status.{field}")
    for field in fields:
        value = int(status.get(field) or 0)
        if field != "unavailableReplicas" and value > replicas:
            errs.append(invalid(f"status.{field}", value,
                                "cannot be greater than status.replicas"))
    ready, available = int(status.get("readyReplicas") or 0), int(
        status.get("availableReplicas") or 0)
    if available > ready:
        errs.append(invalid("status.availableReplicas", available,
                            "cannot be greater than readyReplicas"))
    return errs


def immutable_selector(new: Obj, old: Obj) -> list[FieldError]:
    if as_dict(new.get("spec")).get("selector") != as_dict(old.get("spec")).get("selector"):
        return [invalid("spec.selector", selector_go(as_dict(new.get("spec")).get("selector")),
                        "field is immutable")]
    return []
