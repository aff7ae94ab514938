"""Karmada's feature gates: names, release stages, defaults, and ``--feature-gates`` parsing.

The names and defaults follow Karmada's ``pkg/features`` at the snapshot the engine mirrors, plus the
logging gates of Kubernetes' component-base that Karmada registers beside its own. As in component-base,
the pseudo gates ``AllAlpha`` and ``AllBeta`` switch every alpha (or beta) gate that is not set explicitly.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "ALL_ALPHA",
    "ALL_BETA",
    "CONTEXTUAL_LOGGING",
    "CONTROLLER_PRIORITY_QUEUE",
    "CUSTOMIZED_CLUSTER_RESOURCE_MODELING",
    "FAILOVER",
    "FEDERATED_QUOTA_ENFORCEMENT",
    "GRACEFUL_EVICTION",
    "KNOWN_GATES",
    "LOGGING_ALPHA_OPTIONS",
    "LOGGING_BETA_OPTIONS",
    "MULTIPLE_POD_TEMPLATES_SCHEDULING",
    "MULTI_CLUSTER_SERVICE",
    "POLICY_PREEMPTION",
    "PRIORITY_BASED_SCHEDULING",
    "PROPAGATE_DEPS",
    "RESOURCE_QUOTA_ESTIMATE",
    "SCHEDULING_OVERCOMMIT_PROTECTION",
    "STATEFUL_FAILOVER_INJECTION",
    "WORKLOAD_AFFINITY",
    "FeatureGateError",
    "FeatureGates",
    "GateSpec",
    "Stage",
]

FAILOVER = "Failover"
GRACEFUL_EVICTION = "GracefulEviction"
PROPAGATE_DEPS = "PropagateDeps"
CUSTOMIZED_CLUSTER_RESOURCE_MODELING = "CustomizedClusterResourceModeling"
POLICY_PREEMPTION = "PropagationPolicyPreemption"
MULTI_CLUSTER_SERVICE = "MultiClusterService"
RESOURCE_QUOTA_ESTIMATE = "ResourceQuotaEstimate"
STATEFUL_FAILOVER_INJECTION = "StatefulFailoverInjection"
PRIORITY_BASED_SCHEDULING = "PriorityBasedScheduling"
FEDERATED_QUOTA_ENFORCEMENT = "FederatedQuotaEnforcement"
LOGGING_ALPHA_OPTIONS = "LoggingAlphaOptions"
LOGGING_BETA_OPTIONS = "LoggingBetaOptions"
CONTEXTUAL_LOGGING = "ContextualLogging"
MULTIPLE_POD_TEMPLATES_SCHEDULING = "MultiplePodTemplatesScheduling"
CONTROLLER_PRIORITY_QUEUE = "ControllerPriorityQueue"
WORKLOAD_AFFINITY = "WorkloadAffinity"
SCHEDULING_OVERCOMMIT_PROTECTION = "SchedulingOvercommitProtection"

ALL_ALPHA = "AllAlpha"
ALL_BETA = "AllBeta"


class Stage(enum.Enum):
    ALPHA = "Alpha"
    BETA = "Beta"
    GA = "GA"


@dataclass(frozen=True, slots=True)
class GateSpec:
    default: bool
    stage: Stage


KNOWN_GATES: Mapping[str, GateSpec] = {
    FAILOVER: GateSpec(False, Stage.BETA),
    GRACEFUL_EVICTION: GateSpec(True, Stage.BETA),
    PROPAGATE_DEPS: GateSpec(True, Stage.BETA),
    CUSTOMIZED_CLUSTER_RESOURCE_MODELING: GateSpec(True, Stage.BETA),
    POLICY_PREEMPTION: GateSpec(False, Stage.ALPHA),
    MULTI_CLUSTER_SERVICE: GateSpec(False, Stage.ALPHA),
    RESOURCE_QUOTA_ESTIMATE: GateSpec(False, Stage.ALPHA),
    STATEFUL_FAILOVER_INJECTION: GateSpec(False, Stage.ALPHA),
    PRIORITY_BASED_SCHEDULING: GateSpec(True, Stage.BETA),
    FEDERATED_QUOTA_ENFORCEMENT: GateSpec(False, Stage.ALPHA),
    LOGGING_ALPHA_OPTIONS: GateSpec(False, Stage.ALPHA),
    LOGGING_BETA_OPTIONS: GateSpec(True, Stage.BETA),
    CONTEXTUAL_LOGGING: GateSpec(True, Stage.BETA),
    MULTIPLE_POD_TEMPLATES_SCHEDULING: GateSpec(False, Stage.ALPHA),
    CONTROLLER_PRIORITY_QUEUE: GateSpec(True, Stage.BETA),
    WORKLOAD_AFFINITY: GateSpec(False, Stage.ALPHA),
    SCHEDULING_OVERCOMMIT_PROTECTION: GateSpec(False, Stage.ALPHA),
}

_PSEUDO_GATES = {ALL_ALPHA: Stage.ALPHA, ALL_BETA: Stage.BETA}
_TRUE_TEXT = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE_TEXT = frozenset({"0", "f", "F", "false", "FALSE", "False"})


class FeatureGateError(ValueError):
    """A feature-gate setting that names an unknown gate or gives a value that is not a boolean."""


def _known_names() -> str:
    return ", ".join(sorted([*KNOWN_GATES, *_PSEUDO_GATES]))


def _check_name(name: str) -> None:
    if name not in KNOWN_GATES and name not in _PSEUDO_GATES:
        raise FeatureGateError(f"unrecognized feature gate `{name}`; known gates: {_known_names()}")


def _parse_bool(name: str, text: str) -> bool:
    if text in _TRUE_TEXT:
        return True
    if text in _FALSE_TEXT:
        return False
    raise FeatureGateError(f"invalid value `{text}` for feature gate `{name}`, expected true or false")


def _resolve(overrides: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
    return _resolve_items(tuple(sorted(overrides.items())))


@functools.lru_cache(maxsize=256)
def _resolve_items(items: tuple[tuple[str, bool], ...]) -> tuple[tuple[str, bool], ...]:
    overrides = dict(items)
    resolved: list[tuple[str, bool]] = []
    for name, spec in sorted(KNOWN_GATES.items()):
        value = spec.default
        for pseudo, stage in _PSEUDO_GATES.items():
            if pseudo in overrides and spec.stage is stage:
                value = overrides[pseudo]
        resolved.append((name, overrides.get(name, value)))
    return tuple(resolved)


@dataclass(frozen=True, slots=True)
class FeatureGates:
    """An immutable set of gate values; gates not set explicitly take Karmada's defaults."""

    overrides: tuple[tuple[str, bool], ...] = ()
    _values: Mapping[str, bool] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        given = dict(self.overrides)
        for name in given:
            _check_name(name)
        object.__setattr__(self, "overrides", tuple(sorted(given.items())))
        object.__setattr__(self, "_values", dict(_resolve(given)))

    @classmethod
    def defaults(cls) -> FeatureGates:
        return cls()

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> FeatureGates:
        """Gates from a ``{name: bool}`` mapping (``None`` means all defaults)."""
        given: dict[str, bool] = {}
        for name, value in (values or {}).items():
            if isinstance(value, bool):
                given[str(name)] = value
            else:
                given[str(name)] = _parse_bool(str(name), str(value))
        return cls(tuple(given.items()))

    @classmethod
    def parse(cls, text: str) -> FeatureGates:
        """Gates from a ``--feature-gates`` value: ``A=true,B=false`` (spaces around items are ignored)."""
        given: dict[str, bool] = {}
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep:
                raise FeatureGateError(f"missing bool value for feature gate `{name}`")
            _check_name(name)
            given[name] = _parse_bool(name, value.strip())
        return cls(tuple(given.items()))

    def enabled(self, name: str) -> bool:
        """Whether gate ``name`` is on; an unknown name is an error, not a silent ``False``."""
        if name in self._values:
            return self._values[name]
        _check_name(name)
        return dict(self.overrides).get(name, False)

    def with_values(self, **values: bool) -> FeatureGates:
        """A copy with some gates set explicitly."""
        return FeatureGates((*self.overrides, *values.items()))

    def as_dict(self) -> dict[str, bool]:
        return dict(self._values)

    def __iter__(self) -> Iterator[tuple[str, bool]]:
        return iter(sorted(self._values.items()))

    def __str__(self) -> str:
        return ",".join(f"{name}={str(value).lower()}" for name, value in self.overrides)
