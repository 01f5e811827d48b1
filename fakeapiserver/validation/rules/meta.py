"""ObjectMeta, labels, annotations, owner references and label selectors, as
``k8s.io/apimachinery/pkg/api/validation`` and ``…/apis/meta/v1/validation`` check them.

Go iterates maps in random order; we report label and annotation errors in key order.
"""

from __future__ import annotations

from typing import Any

from ... import rbac
from .. import gofmt
from ..fielderrors import FieldError, forbidden, invalid, non_negative, required, too_long
from .names import NameFn, is_dns1123_label, is_qualified_name, is_valid_label_value

ANNOTATIONS_LIMIT = 256 * 1024
Obj = dict[str, Any]


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in sorted(as_dict(labels)):
        errs += [invalid(path, key, msg) for msg in is_qualified_name(key)]
        value = labels[key]
        errs += [invalid(path, value, msg) for msg in is_valid_label_value(value)]
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    values = as_dict(annotations)
    errs = [invalid(path, key, msg) for key in sorted(values)
            for msg in is_qualified_name(key.lower())]
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in values.items())
    if size > ANNOTATIONS_LIMIT:
        errs.append(too_long(path, ANNOTATIONS_LIMIT))
    return errs


def _owner_reference(ref: Obj, path: str) -> list[FieldError]:
    errs = []
    api_version = str(ref.get("apiVersion") or "")
    if not api_version.rpartition("/")[2]:
        errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
    for field, what in (("kind", "kind"), ("name", "name"), ("uid", "uid")):
        if not ref.get(field):
            errs.append(invalid(f"{path}.{field}", ref.get(field) or "",
                                f"{what} must not be empty"))
    return errs


def validate_object_meta(meta: Obj, namespaced: bool, name_fn: NameFn,
                         path: str = "metadata") -> list[FieldError]:
    """``ValidateObjectMeta`` (name, generateName, namespace, labels, annotations, owners)."""
    errs: list[FieldError] = []
    generate = str(meta.get("generateName") or "")
    if generate:
        errs += [invalid(f"{path}.generateName", generate, m) for m in name_fn(generate, True)]
    name = str(meta.get("name") or "")
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs += [invalid(f"{path}.name", name, m) for m in name_fn(name, False)]
    namespace = str(meta.get("namespace") or "")
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            errs += [invalid(f"{path}.namespace", namespace, m)
                     for m in is_dns1123_label(namespace)]
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    errs += non_negative(int(meta.get("generation") or 0), f"{path}.generation")
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    for ref in as_list(meta.get("ownerReferences")):
        errs += _owner_reference(as_dict(ref), f"{path}.ownerReferences")
    return errs


def validate_object_meta_update(new: Obj, old: Obj, path: str = "metadata"
                                ) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: what may not change, plus labels and annotations."""
    errs: list[FieldError] = []
    if int(new.get("generation") or 0) < int(old.get("generation") or 0):
        errs.append(invalid(f"{path}.generation", int(new.get("generation") or 0),
                            "must not be decremented"))
    errs += validate_labels(new.get("labels"), f"{path}.labels")
    errs += validate_annotations(new.get("annotations"), f"{path}.annotations")
    for ref in as_list(new.get("ownerReferences")):
        errs += _owner_reference(as_dict(ref), f"{path}.ownerReferences")
    return errs


def selector_go(selector: Any) -> gofmt.GoValue:
    """``%#v`` of a ``metav1.LabelSelector`` (what kube-apiserver prints as a bad value)."""
    sel = as_dict(selector)
    labels = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    labels_text = gofmt.string_map(labels) if isinstance(labels, dict) else \
        "map[string]string(nil)"
    if isinstance(exprs, list) and exprs is not None:
        items = []
        for expr in exprs:
            e = as_dict(expr)
            values = e.get("values")
            values_text = ("[]string{" + ", ".join(gofmt.quote(str(v)) for v in values) + "}"
                           if isinstance(values, list) else "[]string(nil)")
            items.append(f"v1.LabelSelectorRequirement{{Key:{gofmt.quote(str(e.get('key') or ''))}"
                         f", Operator:{gofmt.quote(str(e.get('operator') or ''))}, "
                         f"Values:{values_text}}}")
        exprs_text = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    else:
        exprs_text = "[]v1.LabelSelectorRequirement(nil)"
    return gofmt.GoValue(f"v1.LabelSelector{{MatchLabels:{labels_text}, "
                         f"MatchExpressions:{exprs_text}}}")


def validate_label_selector(selector: Any, path: str) -> list[FieldError]:
    """``ValidateLabelSelector`` (label values checked strictly, as for workloads)."""
    sel = as_dict(selector)
    errs = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(as_list(sel.get("matchExpressions"))):
        e = as_dict(expr)
        at = f"{path}.matchExpressions[{i}]"
        op = e.get("operator") or ""
        values = as_list(e.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{at}.values",
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{at}.values", "may not be specified when `operator` is "
                                                      "'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(f"{at}.operator", op, "not a valid selector operator"))
        key = str(e.get("key") or "")
        errs += [invalid(f"{at}.key", key, msg) for msg in is_qualified_name(key)]
        for j, value in enumerate(values):
            errs += [invalid(f"{at}.values[{j}]", value, msg)
                     for msg in is_valid_label_value(str(value))]
    return errs


def selector_parses(selector: Any) -> bool:
    """Whether ``LabelSelectorAsSelector`` accepts the selector (operators and keys)."""
    for expr in as_list(as_dict(selector).get("matchExpressions")):
        e = as_dict(expr)
        op = e.get("operator")
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
        if op in ("In", "NotIn") and not as_list(e.get("values")):
            return False
        if is_qualified_name(str(e.get("key") or "")):
            return False
    return True


def selector_matches(selector: Any, labels: Any) -> bool:
    return rbac.label_selector_matches(as_dict(selector), as_dict(labels))
