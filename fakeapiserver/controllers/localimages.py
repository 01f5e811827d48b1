"""Which images run as local processes, and the few rewrites a machine needs to run them.

On a cluster the kubelet pulls the image and the container gets its own network namespace,
filesystem and mounted ServiceAccount token. Here the container is a process on this machine,
so exactly these things change, and nothing else (the same list is in
docs/fakeapiserver-controllers.md):

1. **Command.** The image reference is looked up in :class:`LocalImages` (glob patterns, first
   match wins; by default ``metricsd*``, ``*/metricsd*``, ``*metrics-server*`` →
   ``[sys.executable, "-m", "metricsd"]``). The image's entrypoint is that command; the
   container's ``command`` (if set) replaces the entrypoint as on a cluster, so its first word
   is dropped and the rest kept; ``args`` follow. ``$(VAR)`` references are expanded from the
   container's ``env`` (``$$`` escapes), as the kubelet does.
2. **Bind address.** ``--bind-address=<podIP>`` is added (an existing ``--bind-address`` is
   replaced): a pod has its own IP, and here the pod IP is a loopback address of its own, so
   ``--secure-port=10250`` works unchanged next to the kubelets.
3. **emptyDir volumes.** Every argument equal to, or under, the ``mountPath`` of an
   ``emptyDir`` volume is pointed at ``<pod dir>/volumes/<volume name>`` (``--cert-dir=/tmp``
   → ``--cert-dir=<pod dir>/volumes/tmp-dir``). The process's working directory is
   ``<pod dir>/root``, so relative paths stay inside the pod.
4. **ServiceAccount identity.** A kubeconfig with a token for the pod's ServiceAccount and the
   cluster CA is written to ``<pod dir>/serviceaccount/kubeconfig``; ``--kubeconfig``,
   ``--authentication-kubeconfig`` and ``--authorization-kubeconfig`` point at it unless the
   args already set them (on a cluster these come from the in-cluster config). The same
   directory holds what the kubelet projects at
   ``/var/run/secrets/kubernetes.io/serviceaccount`` (``token``, ``ca.crt``, ``namespace``),
   and arguments under that path are pointed there, so flags such as
   ``--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt``
   work as in a pod.

Environment: this machine's environment (so the interpreter finds its packages), then what
the kubelet gives every pod for the ``kubernetes`` Service — ``KUBERNETES_SERVICE_HOST``,
``KUBERNETES_SERVICE_PORT``, ``KUBERNETES_SERVICE_PORT_HTTPS`` — pointing at this API server
(when the pod gets its ServiceAccount identity), then the container's ``env`` literals and the
``fieldRef`` values ``metadata.name``, ``metadata.namespace``, ``metadata.uid``,
``spec.nodeName``, ``spec.serviceAccountName``, ``status.podIP`` and ``status.hostIP``.

Why a kubeconfig rather than in-cluster configuration: client-go's ``rest.InClusterConfig``
reads the token and CA from the fixed path ``/var/run/secrets/kubernetes.io/serviceaccount``,
which a process on a shared machine cannot have to itself without a mount namespace. Both
metricsd and the real metrics-server take ``--kubeconfig`` (and the two delegation
kubeconfigs), so the same identity reaches them through the flags; the service variables are
set all the same, so the environment reads as a pod's.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fakeapiserver.controllers.common import Obj, meta, spec, status

#: Image patterns that run metricsd by default.
METRICSD_PATTERNS = ("metricsd", "metricsd:*", "metricsd@*", "*/metricsd", "*/metricsd:*",
                     "*metrics-server*")

#: Where the kubelet projects a pod's ServiceAccount token, CA and namespace.
SERVICEACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

#: Flags that get the ServiceAccount kubeconfig unless already given.
KUBECONFIG_FLAGS = ("--kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig")


def metricsd_command() -> list[str]:
    return [sys.executable, "-m", "metricsd"]


@dataclass(frozen=True)
class ImageRule:
    """Images matching ``pattern`` (fnmatch glob on the full reference) run ``command``."""

    pattern: str
    command: tuple[str, ...]

    def matches(self, image: str) -> bool:
        return fnmatch.fnmatchcase(image, self.pattern)


class LocalImages:
    """The image → local command map (first matching rule wins)."""

    def __init__(self, rules: Iterable[ImageRule] | None = None) -> None:
        self.rules: list[ImageRule] = list(rules) if rules is not None else [
            ImageRule(p, tuple(metricsd_command())) for p in METRICSD_PATTERNS]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Sequence[str]], *,
                     include_defaults: bool = True) -> LocalImages:
        """``{"my-image:*": ["python", "-m", "x"]}``; the mapping's rules come first."""
        rules = [ImageRule(p, tuple(cmd)) for p, cmd in mapping.items()]
        if include_defaults:
            rules += cls().rules
        return cls(rules)

    def add(self, pattern: str, command: Sequence[str]) -> None:
        """Put a rule in front of the others."""
        self.rules.insert(0, ImageRule(pattern, tuple(command)))

    def command_for(self, image: str) -> list[str] | None:
        for rule in self.rules:
            if rule.matches(image):
                return list(rule.command)
        return None


@dataclass
class Launch:
    """How to start one pod's container here: argv, environment, working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    #: Directories to create before starting (the emptyDir volumes and the root).
    dirs: list[str] = field(default_factory=list)
    #: The kubeconfig the process is pointed at (to be written by the caller), if any.
    kubeconfig: str | None = None


_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion: unknown references stay as written, ``$$`` → ``$``."""
    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(sub, text)


def container_env(pod: Obj, container: Obj) -> dict[str, str]:
    """Literal ``env`` values and the supported ``fieldRef`` values, in declaration order."""
    fields = {
        "metadata.name": meta(pod).get("name", ""),
        "metadata.namespace": meta(pod).get("namespace", ""),
        "metadata.uid": meta(pod).get("uid", ""),
        "spec.nodeName": spec(pod).get("nodeName", ""),
        "spec.serviceAccountName": spec(pod).get("serviceAccountName", ""),
        "status.podIP": status(pod).get("podIP", ""),
        "status.hostIP": status(pod).get("hostIP", ""),
    }
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        name = str(item.get("name", ""))
        if not name:
            continue
        if "value" in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        ref = (item.get("valueFrom") or {}).get("fieldRef") or {}
        path = ref.get("fieldPath")
        if path in fields:
            env[name] = str(fields[path] or "")
    return env


def _flag_name(arg: str) -> str | None:
    if not arg.startswith("--"):
        return None
    return arg.split("=", 1)[0]


def has_flag(argv: Sequence[str], flag: str) -> bool:
    return any(_flag_name(a) == flag for a in argv)


def remove_flag(argv: Sequence[str], flag: str) -> list[str]:
    """Drop ``--flag=value`` and ``--flag value`` forms."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == flag:
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    return out


def rewrite_path(arg: str, mounts: Mapping[str, str]) -> str:
    """Point an argument (``--flag=value`` or a bare value) at the local volume dirs."""
    if arg.startswith("-"):
        prefix, sep, value = arg.partition("=")
        if not sep:
            return arg
        prefix += sep
    else:
        prefix, value = "", arg
    for mount in sorted(mounts, key=len, reverse=True):
        base = mount.rstrip("/")
        if not base:
            continue  # an emptyDir on "/" would be the whole filesystem: leave it
        if value == base or value.startswith(base + "/"):
            return prefix + mounts[mount] + value[len(base):]
    return arg


def empty_dir_mounts(pod: Obj, container: Obj, pod_dir: str) -> dict[str, str]:
    """mountPath → local directory, for the container's emptyDir volume mounts."""
    empty = {v.get("name") for v in spec(pod).get("volumes") or []
             if isinstance(v, dict) and "emptyDir" in v}
    mounts: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        name = mount.get("name")
        path = mount.get("mountPath")
        if name in empty and path:
            local = os.path.join(pod_dir, "volumes", str(name))
            sub = mount.get("subPath")
            mounts[str(path)] = os.path.join(local, str(sub)) if sub else local
    return mounts


def service_env(server_url: str) -> dict[str, str]:
    """The kubelet's variables for the ``kubernetes`` Service, pointed at ``server_url``."""
    parts = urlsplit(server_url)
    host = parts.hostname or ""
    port = str(parts.port or 443)
    return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port}


def plan_launch(pod: Obj, command: Sequence[str], *, pod_dir: str,
                with_kubeconfig: bool = True, base_env: Mapping[str, str] | None = None,
                container_index: int = 0, server_url: str | None = None) -> Launch:
    """The argv/env/cwd for a pod's container with the rewrites above (pure: no I/O).

    ``server_url`` (the API server's) sets the ``kubernetes`` Service variables.
    """
    container = (spec(pod).get("containers") or [{}])[container_index]
    env = container_env(pod, container)
    words = [expand(str(w), env) for w in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    argv = list(command) + words[1:] + args
    mounts = empty_dir_mounts(pod, container, pod_dir)
    if with_kubeconfig:
        mounts[SERVICEACCOUNT_MOUNT] = os.path.join(pod_dir, "serviceaccount")
    head = len(command)
    argv = argv[:head] + [rewrite_path(a, mounts) for a in argv[head:]]
    pod_ip = status(pod).get("podIP")
    if pod_ip:
        argv = [*argv[:head], *remove_flag(argv[head:], "--bind-address"),
                f"--bind-address={pod_ip}"]
    kubeconfig = None
    if with_kubeconfig:
        kubeconfig = os.path.join(pod_dir, "serviceaccount", "kubeconfig")
        for flag in KUBECONFIG_FLAGS:
            if not has_flag(argv[head:], flag):
                argv.append(f"{flag}={kubeconfig}")
    full_env = dict(os.environ if base_env is None else base_env)
    if server_url:
        full_env.update(service_env(server_url))
    full_env.update(env)
    root = os.path.join(pod_dir, "root")
    dirs = [root, *sorted(set(mounts.values()) - {os.path.dirname(kubeconfig or "")})]
    if kubeconfig and os.path.dirname(kubeconfig) not in dirs:
        dirs.append(os.path.dirname(kubeconfig))
    return Launch(argv=argv, env=full_env, cwd=root, dirs=dirs, kubeconfig=kubeconfig)


def pod_image(pod: Obj, container_index: int = 0) -> str:
    containers = spec(pod).get("containers") or []
    if len(containers) <= container_index:
        return ""
    return str(containers[container_index].get("image") or "")


__all__ = ["KUBECONFIG_FLAGS", "METRICSD_PATTERNS", "SERVICEACCOUNT_MOUNT", "ImageRule", "Launch",
           "LocalImages",
           "container_env", "empty_dir_mounts", "expand", "has_flag", "metricsd_command",
           "plan_launch", "pod_image", "remove_flag", "rewrite_path", "service_env"]
