"""Services (``ValidateService``): the ports and selector the endpoints controller and the
aggregator's availability check read."""

from __future__ import annotations

from typing import Any

from ..fielderrors import FieldError, duplicate, invalid, not_supported, required
from ..gofmt import GoValue, quote
from .meta import as_dict, as_list, validate_labels
from .names import is_dns1123_label, is_valid_port_num
from .pods import PROTOCOLS, port_num_or_name

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _port_key_go(protocol: str, port: int) -> GoValue:
    """``%#v`` of the ``core.ServicePort{Protocol, Port}`` key of a duplicate port."""
    return GoValue(f"core.ServicePort{{Name:\"\", Protocol:{quote(protocol)}, "
                   f"AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{"
                   f"Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}")


def service_spec(spec: Any) -> list[FieldError]:
    s = as_dict(spec)
    errs: list[FieldError] = []
    kind = s.get("type") or "ClusterIP"
    ports = as_list(s.get("ports"))
    headless = s.get("clusterIP") == "None"
    if kind != "ExternalName" and not ports and not headless:
        errs.append(required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p, at = as_dict(port), f"spec.ports[{i}]"
        name = str(p.get("name") or "")
        if len(ports) > 1 and not name:
            errs.append(required(f"{at}.name"))
        elif name:
            errs += [invalid(f"{at}.name", name, m) for m in is_dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{at}.name", name))
            names.add(name)
        number = int(p.get("port") or 0)
        errs += [invalid(f"{at}.port", number, m) for m in is_valid_port_num(number)]
        protocol = p.get("protocol")
        if not protocol:
            errs.append(required(f"{at}.protocol"))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(f"{at}.protocol", protocol, PROTOCOLS))
        errs += port_num_or_name(p.get("targetPort", number), f"{at}.targetPort")
    if kind not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", kind, SERVICE_TYPES))
    errs += validate_labels(s.get("selector"), "spec.selector")
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        p = as_dict(port)
        key = (str(p.get("protocol") or ""), int(p.get("port") or 0))
        if key in seen:
            errs.append(duplicate(f"spec.ports[{i}]", _port_key_go(*key)))
        seen.add(key)
    return errs
