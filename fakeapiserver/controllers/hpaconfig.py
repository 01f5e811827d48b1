"""The HPA controller's settings: kube-controller-manager's flags, names, defaults and texts.

Why one table: the same six settings arrive as fakeapiserver flags (``--horizontal-pod-
autoscaler-sync-period=30s``), as a scenario's ``cluster.controllerManager`` mapping (the
camelCase field names of kube-controller-manager's ``HPAControllerConfiguration``) and leave
as the ``controller`` section of a :func:`podautoscaler.reconcile` case. :data:`SETTINGS`
holds each once; values are parsed as pflag parses them (Go durations, ``strconv`` numbers)
and refused with pflag's texts (``invalid argument "5x" for "--horizontal-pod-autoscaler-
sync-period" flag: time: invalid duration "5x"``), then validated as
``HPAControllerOptions.Validate`` does.

``--feature-gates`` takes the gates the HPA consults (``HPAConfigurableTolerance`` from 1.33,
``PodLevelResources`` from 1.32, ``HPAScaleToZero``), parsed as ``featuregate.Set`` parses
them; kube-controller-manager would also accept the many gates of other components, which do
nothing here, so they are refused as unrecognized.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from podautoscaler import gotime

__all__ = ["FEATURE_GATES", "SETTINGS", "ConfigError", "HPAControllerConfig", "Setting",
           "parse_feature_gates"]


class ConfigError(ValueError):
    """A setting kube-controller-manager would refuse; ``str()`` is its one-line text."""


#: gate → (first minor it exists in, first minor it is on by default) — podautoscaler's view.
FEATURE_GATES = {"HPAConfigurableTolerance": (33, 35), "PodLevelResources": (32, 34),
                 "HPAScaleToZero": (16, 1000)}

_GO_FLOAT = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)",
                       re.IGNORECASE)
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def _duration(text: str) -> int:
    try:
        return gotime.parse_duration(text)
    except gotime.TimeFormatError as err:
        raise ValueError(str(err)) from None


def _float(text: str) -> float:
    if not _GO_FLOAT.fullmatch(text):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    return float(text)


def _int32(text: str) -> int:
    """``strconv.ParseInt(text, 0, 32)`` (pflag's int32): decimal, 0x/0o/0b, leading-0 octal."""
    m = _GO_INT.fullmatch(text)
    if m is None:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    digits = m.group(2)
    if digits[:2].lower() in ("0x", "0o", "0b"):
        value = int(digits, 0)
    else:
        value = int(digits, 8 if digits.startswith("0") else 10)
    value = -value if m.group(1) == "-" else value
    if not -(2**31) <= value < 2**31:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


@dataclass(frozen=True)
class Setting:
    """One kube-controller-manager HPA setting."""

    flag: str           # --horizontal-pod-autoscaler-sync-period
    key: str            # horizontalPodAutoscalerSyncPeriod (HPAControllerConfiguration)
    attr: str           # HPAControllerConfig field
    default: str        # as kube-controller-manager --help prints it
    parse: Callable[[str], Any]
    help: str

    @property
    def attr_name(self) -> str:
        """The argparse destination of :attr:`flag`."""
        return self.flag.lstrip("-").replace("-", "_")

    def value(self, text: str) -> Any:
        """``text`` parsed, or :class:`ConfigError` with pflag's message."""
        try:
            return self.parse(text)
        except ValueError as err:
            raise ConfigError(f'invalid argument "{text}" for "{self.flag}" flag: {err}') from None


SETTINGS: tuple[Setting, ...] = (
    Setting("--horizontal-pod-autoscaler-sync-period", "horizontalPodAutoscalerSyncPeriod",
            "sync_period", "15s", _duration,
            "the period for syncing the number of pods in horizontal pod autoscaler"),
    Setting("--horizontal-pod-autoscaler-tolerance", "horizontalPodAutoscalerTolerance",
            "tolerance", "0.1", _float,
            "the minimum change (from 1.0) in the desired-to-actual metrics ratio for the "
            "horizontal pod autoscaler to consider scaling"),
    Setting("--horizontal-pod-autoscaler-downscale-stabilization",
            "horizontalPodAutoscalerDownscaleStabilizationWindow", "downscale_stabilization",
            "5m0s", _duration,
            "the period for which autoscaler will look backwards and not scale down below any "
            "recommendation it made during that period"),
    Setting("--horizontal-pod-autoscaler-cpu-initialization-period",
            "horizontalPodAutoscalerCPUInitializationPeriod", "cpu_initialization_period",
            "5m0s", _duration,
            "the period after pod start when CPU samples might be skipped"),
    Setting("--horizontal-pod-autoscaler-initial-readiness-delay",
            "horizontalPodAutoscalerInitialReadinessDelay", "initial_readiness_delay", "30s",
            _duration,
            "the period after pod start during which readiness changes are treated as "
            "initial readiness"),
    Setting("--concurrent-horizontal-pod-autoscaler-syncs",
            "concurrentHorizontalPodAutoscalerSyncs", "concurrent_syncs", "5", _int32,
            "the number of horizontal pod autoscaler objects that are allowed to sync "
            "concurrently"),
)
BY_FLAG = {s.flag: s for s in SETTINGS}
BY_KEY = {s.key: s for s in SETTINGS}


def _parse_bool(text: str) -> bool:
    if text not in _GO_BOOL:
        raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')
    return _GO_BOOL[text]


def parse_feature_gates(text: str) -> dict[str, bool]:
    """``--feature-gates A=true,B=false`` as ``featuregate.Set`` reads it (names checked
    later, against the emulated version: :meth:`HPAControllerConfig.validate`)."""
    gates: dict[str, bool] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise ConfigError(f'invalid argument "{text}" for "--feature-gates" flag: '
                              f"missing bool value for {name}")
        try:
            gates[name] = _parse_bool(value)
        except ValueError as err:
            raise ConfigError(f'invalid argument "{text}" for "--feature-gates" flag: '
                              f"invalid value of {name}={value}, err: {err}") from None
    return gates


@dataclass(frozen=True)
class HPAControllerConfig:
    """kube-controller-manager's HPA settings (durations in Go nanoseconds)."""

    sync_period: int = 15 * gotime.SECOND
    tolerance: float = 0.1
    downscale_stabilization: int = 5 * gotime.MINUTE
    cpu_initialization_period: int = 5 * gotime.MINUTE
    initial_readiness_delay: int = 30 * gotime.SECOND
    concurrent_syncs: int = 5
    feature_gates: Mapping[str, bool] = field(default_factory=dict)

    @classmethod
    def from_texts(cls, values: Mapping[str, str], feature_gates: str | Mapping[str, Any] = ""
                   ) -> HPAControllerConfig:
        """From flag texts keyed by flag (``--horizontal-pod-autoscaler-…``) or by config
        key (``horizontalPodAutoscaler…``); gates as ``--feature-gates`` text or a mapping."""
        changes: dict[str, Any] = {}
        for name, text in values.items():
            setting = BY_FLAG.get(name) or BY_KEY.get(name)
            if setting is None:
                raise ConfigError(f"unknown flag: {name}")
            changes[setting.attr] = setting.value(str(text))
        if isinstance(feature_gates, str):
            changes["feature_gates"] = parse_feature_gates(feature_gates)
        else:
            gates = {}
            for name, value in feature_gates.items():
                if not isinstance(value, bool):
                    raise ConfigError(f"invalid value of {name}={value}, err: strconv.ParseBool:"
                                      f' parsing "{value}": invalid syntax')
                gates[str(name)] = value
            changes["feature_gates"] = gates
        return replace(cls(), **changes)

    def validate(self, kube_version: tuple[int, int]) -> None:
        """``HPAControllerOptions.Validate`` plus the gate names known at ``kube_version``;
        a sync period that is not positive is refused here (upstream would spin)."""
        if self.concurrent_syncs < 1:
            raise ConfigError("concurrent-horizontal-pod-autoscaler-syncs must be greater than "
                              f"0, but got {self.concurrent_syncs}")
        if self.sync_period <= 0:
            raise ConfigError("horizontal-pod-autoscaler-sync-period must be greater than 0, "
                              f"but got {gotime.format_duration(self.sync_period)}")
        for name in self.feature_gates:
            since = FEATURE_GATES.get(name, (10**6, 0))[0]
            if kube_version[1] < since:
                value = str(self.feature_gates[name]).lower()
                raise ConfigError(f'invalid argument "{name}={value}" for "--feature-gates" '
                                  f"flag: unrecognized feature gate: {name}")

    @property
    def sync_period_seconds(self) -> float:
        return self.sync_period / gotime.SECOND

    def to_args(self) -> list[str]:
        """fakeapiserver flags for the settings that differ from the defaults."""
        args = []
        default = HPAControllerConfig()
        for setting in SETTINGS:
            value = getattr(self, setting.attr)
            if value == getattr(default, setting.attr):
                continue
            if isinstance(value, int) and setting.parse is _duration:
                text = gotime.format_duration(value)
            else:
                text = repr(value) if isinstance(value, float) else str(value)
            args.append(f"{setting.flag}={text}")
        if self.feature_gates:
            gates = ",".join(f"{k}={str(v).lower()}" for k, v in sorted(self.feature_gates.items()))
            args.append(f"--feature-gates={gates}")
        return args

    def case_controller(self, kube_version: tuple[int, int]) -> dict[str, Any]:
        """The ``controller`` section of a :func:`podautoscaler.reconcile` case."""
        major, minor = kube_version
        out: dict[str, Any] = {
            "syncPeriod": gotime.format_duration(self.sync_period),
            "tolerance": self.tolerance,
            "cpuInitializationPeriod": gotime.format_duration(self.cpu_initialization_period),
            "initialReadinessDelay": gotime.format_duration(self.initial_readiness_delay),
            "downscaleStabilization": gotime.format_duration(self.downscale_stabilization),
            "kubeVersion": f"{major}.{minor}",
        }
        if self.feature_gates:
            out["featureGates"] = dict(self.feature_gates)
        return out
