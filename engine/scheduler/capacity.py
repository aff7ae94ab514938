"""A cluster's resources for estimation, digested once, and a replica's requests (spec §6.2, §6.4).

Quantities are parsed once per cluster; what the estimators read is kept as integers: the pods still
allowed, and per allocatable resource what is left (allocatable - allocated - allocating, computed with
exact quantity arithmetic) as whole units, millis, and Karmada's format-dependent view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpl.engine.quantity import Format, Quantity, QuantityError
from kpl.engine.scheduler.resource_models import (
    ModelError,
    NodeGroup,
    SetComponent,
    build_model_nodes,
    parse_resource_list,
)

__all__ = [
    "MAX_INT32",
    "MAX_INT64",
    "Available",
    "ClusterCapacity",
    "ReplicaDemand",
    "RequestUnits",
    "allowed_pod_number",
    "as_int64",
    "assumed_set_components",
    "int32",
]

MAX_INT32 = (1 << 31) - 1
MAX_INT64 = (1 << 63) - 1
_PODS = "pods"


def int32(value: int) -> int:
    """``value`` converted to Go's int32 (wrapping), as Karmada's ``int32(x)`` conversions do."""
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def as_int64(quantity: Quantity) -> int:
    """Karmada's format-dependent integer view: decimal formats in millis, binary in units (§6.4)."""
    if quantity.format is Format.BINARY_SI:
        return quantity.value()
    return quantity.milli_value()


@dataclass(frozen=True, slots=True)
class Available:
    """What is left of one resource (allocatable - allocated - allocating) in the integer views used."""

    value: int
    milli: int
    as_int64: int

    @classmethod
    def of(cls, quantity: Quantity) -> Available:
        return cls(quantity.value(), quantity.milli_value(), as_int64(quantity))


def _pods(resources: Mapping[str, Quantity]) -> int:
    quantity = resources.get(_PODS)
    return 0 if quantity is None else quantity.value()


def _availability(
    allocatable: Mapping[str, Quantity], allocated: Mapping[str, Quantity], allocating: Mapping[str, Quantity]
) -> dict[str, Available]:
    available: dict[str, Available] = {}
    for name, quantity in allocatable.items():
        left = quantity
        if name in allocated:
            left = left - allocated[name]
        if name in allocating:
            left = left - allocating[name]
        available[name] = Available.of(left)
    return available


@dataclass(frozen=True, slots=True)
class ClusterCapacity:
    """A cluster's resource facts for estimation, digested once from the Cluster object.

    ``has_summary`` is false when the cluster reports no ``resourceSummary`` (estimate 0).
    ``model_nodes`` holds the virtual nodes, or ``model_error`` why models cannot be used.
    """

    name: str
    has_summary: bool = False
    allocatable: Mapping[str, Quantity] = field(default_factory=dict)
    allocated: Mapping[str, Quantity] = field(default_factory=dict)
    allocating: Mapping[str, Quantity] = field(default_factory=dict)
    allowed_pods: int = 0
    available: Mapping[str, Available] = field(default_factory=dict)
    has_modelings: bool = False
    model_nodes: tuple[NodeGroup, ...] = ()
    model_error: str | None = None

    @classmethod
    def from_cluster(cls, cluster: Mapping[str, Any]) -> ClusterCapacity:
        """Digest a Cluster object: ``metadata.name``, ``spec.resourceModels``, ``status.resourceSummary``."""
        name = str((cluster.get("metadata") or {}).get("name") or cluster.get("name") or "")
        models = (cluster.get("spec") or {}).get("resourceModels")
        return cls.from_summary(name, (cluster.get("status") or {}).get("resourceSummary"), models)

    @classmethod
    def from_summary(
        cls, name: str, summary: Mapping[str, Any] | None, models: Sequence[Mapping[str, Any]] | None = None
    ) -> ClusterCapacity:
        if summary is None:
            return cls(name=name)
        allocatable = parse_resource_list(summary.get("allocatable"))
        allocated = parse_resource_list(summary.get("allocated"))
        allocating = parse_resource_list(summary.get("allocating"))
        modelings = summary.get("allocatableModelings") or ()
        nodes: tuple[NodeGroup, ...] = ()
        error: str | None = None
        try:
            nodes = build_model_nodes(models, modelings)
        except (ModelError, QuantityError) as problem:
            error = str(problem)
        return cls(
            name=name,
            has_summary=True,
            allocatable=allocatable,
            allocated=allocated,
            allocating=allocating,
            allowed_pods=allowed_pod_number(allocatable, allocated, allocating),
            available=_availability(allocatable, allocated, allocating),
            has_modelings=len(modelings) > 0,
            model_nodes=nodes,
            model_error=error,
        )

    def with_allocating(self, extra: Mapping[str, Quantity]) -> ClusterCapacity:
        """A copy with ``extra`` added to ``allocating`` (in-flight demand), re-digested."""
        allocating = dict(self.allocating)
        for name, quantity in extra.items():
            allocating[name] = allocating[name] + quantity if name in allocating else quantity
        return ClusterCapacity(
            name=self.name,
            has_summary=self.has_summary,
            allocatable=self.allocatable,
            allocated=self.allocated,
            allocating=allocating,
            allowed_pods=allowed_pod_number(self.allocatable, self.allocated, allocating),
            available=_availability(self.allocatable, self.allocated, allocating),
            has_modelings=self.has_modelings,
            model_nodes=self.model_nodes,
            model_error=self.model_error,
        )


def allowed_pod_number(
    allocatable: Mapping[str, Quantity], allocated: Mapping[str, Quantity], allocating: Mapping[str, Quantity]
) -> int:
    """Pods still allowed: allocatable - allocated - allocating pods (each rounded up), at least 0."""
    return max(_pods(allocatable) - _pods(allocated) - _pods(allocating), 0)


@dataclass(frozen=True, slots=True)
class RequestUnits:
    """One requested resource: its name, whole units and millis (both rounded up)."""

    name: str
    value: int
    milli: int


@dataclass(frozen=True, slots=True)
class ReplicaDemand:
    """One replica's ``resourceRequest``, digested once; hashable so estimates can be cached by it."""

    units: tuple[RequestUnits, ...] = ()
    per_replica: SetComponent = field(default_factory=lambda: SetComponent(1, {"pods": 1}), compare=False)

    @classmethod
    def from_requests(cls, requests: Mapping[str, Quantity]) -> ReplicaDemand:
        units = tuple(RequestUnits(name, q.value(), q.milli_value()) for name, q in sorted(requests.items()))
        return cls(units, SetComponent.from_requests(1, requests))

    @classmethod
    def from_requirements(cls, requirements: Mapping[str, Any] | None) -> ReplicaDemand | None:
        """``None`` for a workload without replicaRequirements (only the pod count bounds it)."""
        if requirements is None:
            return None
        return cls.from_requests(parse_resource_list(requirements.get("resourceRequest")))


def assumed_set_components(assumed: Sequence[Mapping[str, Any]]) -> list[list[SetComponent]]:
    """Each assumed workload as one set of components for the model simulation."""
    sets: list[list[SetComponent]] = []
    for workload in assumed:
        components = workload.get("components") or ()
        if components:
            sets.append([_set_component(component) for component in components])
    return sets


def _set_component(component: Mapping[str, Any]) -> SetComponent:
    requirements = component.get("replicaRequirements") or {}
    requests = parse_resource_list(requirements.get("resourceRequest"))
    return SetComponent.from_requests(int(component.get("replicas") or 0), requests)
