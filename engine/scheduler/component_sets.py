"""Component-set estimation for multi-template workloads (spec §6.4).

A "set" is one instance of every component with its replicas. The general estimator bounds sets by the
allowed pods divided by the pods per set, and by each resource's free amount divided by the set's demand.
Both sides go through Karmada's format-dependent integer view (decimal formats in milli-units, binary
formats in units) **without** being normalised against each other, exactly as Karmada does, so a decimal
memory request against binary allocatable counts 1000 times too large. With resource models the bound is
refined by first-fit packing of whole sets on the virtual nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kpl.engine.features import (
    CUSTOMIZED_CLUSTER_RESOURCE_MODELING,
    SCHEDULING_OVERCOMMIT_PROTECTION,
    FeatureGates,
)
from kpl.engine.quantity import Quantity
from kpl.engine.scheduler.capacity import ClusterCapacity, as_int64, assumed_set_components, int32
from kpl.engine.scheduler.resource_models import SetComponent, parse_resource_list, simulate_sets

__all__ = [
    "general_max_component_sets",
    "models_max_sets",
    "per_set_requirement",
    "resource_bounded_sets",
    "set_components",
]


def _requests(component: Mapping[str, Any]) -> dict[str, Quantity] | None:
    requirements = component.get("replicaRequirements")
    if requirements is None or requirements.get("resourceRequest") is None:
        return None
    return parse_resource_list(requirements["resourceRequest"])


def per_set_requirement(components: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Each resource's demand of one set: the sum of request x replicas, in the format-dependent view."""
    demand: dict[str, int] = {}
    for component in components:
        requests = _requests(component)
        replicas = int(component.get("replicas") or 0)
        for name, quantity in (requests or {}).items():
            demand[name] = demand.get(name, 0) + as_int64(quantity) * replicas
    return demand


def resource_bounded_sets(pod_bound: int, per_set: Mapping[str, int], available: Mapping[str, int]) -> int:
    """``pod_bound`` lowered by every demanded resource; 0 when a demanded resource has nothing left."""
    if not any(per_set.values()):
        return pod_bound
    best = pod_bound
    for name, need in per_set.items():
        if need <= 0:
            continue
        left = available.get(name, 0)
        if left <= 0:
            return 0
        best = min(best, int32(left // need))
    return best


def set_components(components: Sequence[Mapping[str, Any]]) -> list[SetComponent]:
    return [
        SetComponent.from_requests(int(component.get("replicas") or 0), _requests(component))
        for component in components
    ]


def models_max_sets(
    capacity: ClusterCapacity,
    components: Sequence[Mapping[str, Any]],
    upper_bound: int,
    assumed: Sequence[Mapping[str, Any]] = (),
) -> int | None:
    """Whole sets that pack first-fit on the virtual model nodes, or ``None`` when models are unusable."""
    if not capacity.has_summary or capacity.model_error is not None:
        return None
    return simulate_sets(
        capacity.model_nodes, set_components(components), upper_bound, assumed_set_components(assumed)
    )


def _deduct_assumed(
    allowed: int, available: dict[str, int], assumed: Sequence[Mapping[str, Any]]
) -> int:
    for workload in assumed:
        for component in workload.get("components") or ():
            replicas = int(component.get("replicas") or 0)
            allowed -= replicas
            for name, quantity in (_requests(component) or {}).items():
                available[name] = available.get(name, 0) - as_int64(quantity) * replicas
    return allowed


def general_max_component_sets(
    capacity: ClusterCapacity,
    components: Sequence[Mapping[str, Any]],
    feature_gates: FeatureGates,
    assumed: Sequence[Mapping[str, Any]] = (),
) -> int:
    """The general estimator's complete sets for one cluster (§6.4)."""
    if not capacity.has_summary:
        return 0
    available = {name: left.as_int64 for name, left in capacity.available.items()}
    allowed = capacity.allowed_pods
    if allowed <= 0:
        return 0
    if assumed and feature_gates.enabled(SCHEDULING_OVERCOMMIT_PROTECTION):
        allowed = _deduct_assumed(allowed, available, assumed)
        if allowed <= 0:
            return 0
    pods_per_set = sum(int(component.get("replicas") or 0) for component in components)
    if pods_per_set <= 0:
        return int32(allowed)
    sets = resource_bounded_sets(int32(allowed // pods_per_set), per_set_requirement(components), available)
    if feature_gates.enabled(CUSTOMIZED_CLUSTER_RESOURCE_MODELING) and capacity.has_modelings:
        modelled = models_max_sets(capacity, components, sets, assumed)
        if modelled is not None:
            return min(sets, modelled)
    return sets
