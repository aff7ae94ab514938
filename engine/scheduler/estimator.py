"""Available-replica estimation: Karmada's general estimator and how estimates combine (spec §6).

A cluster's ``status.resourceSummary`` is digested once into a :class:`ClusterCapacity` (integer
amounts, virtual model nodes), and a workload's requests once into a :class:`ReplicaDemand`; the
estimate itself is then integer arithmetic. :func:`max_available_replicas` is the scheduler's
combination (§6.1): the minimum over estimators, ``MaxInt32`` for non-workloads, and ``spec.replicas`` for
clusters no estimator bounded. Multi-template workloads are estimated in component sets (§6.4, in
:mod:`kpl.engine.scheduler.component_sets`).

Assumed workloads (replicas promised to other bindings that are still in flight) only count with the
``SchedulingOvercommitProtection`` gate, as in Karmada; they are given per cluster name as
``{namespace, components: [{replicas, replicaRequirements: {resourceRequest}}]}`` mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kpl.engine.features import (
    CUSTOMIZED_CLUSTER_RESOURCE_MODELING,
    MULTIPLE_POD_TEMPLATES_SCHEDULING,
    SCHEDULING_OVERCOMMIT_PROTECTION,
    FeatureGates,
)
from kpl.engine.quantity import Quantity
from kpl.engine.scheduler.capacity import (
    MAX_INT32,
    MAX_INT64,
    Available,
    ClusterCapacity,
    ReplicaDemand,
    allowed_pod_number,
    assumed_set_components,
    int32,
)
from kpl.engine.scheduler.component_sets import general_max_component_sets
from kpl.engine.scheduler.resource_models import ModelError, parse_resource_list, simulate_sets
from kpl.engine.scheduler.types import BindingSpecView, is_multi_template_applicable

__all__ = [
    "MAX_INT32",
    "UNAUTHENTIC_REPLICA",
    "Available",
    "ClusterCapacity",
    "ReplicaDemand",
    "allowed_pod_number",
    "assumed_set_components",
    "combine_estimates",
    "general_estimates",
    "general_max_replicas",
    "int32",
    "max_available_replicas",
    "merge_estimates",
    "models_max_replicas",
    "summary_max_replicas",
]

UNAUTHENTIC_REPLICA = -1
_CPU, _PODS = "cpu", "pods"


def summary_max_replicas(capacity: ClusterCapacity, demand: ReplicaDemand) -> int:
    """Replicas the summary's free resources allow, ignoring pods (``MaxInt64`` if nothing is requested)."""
    best = MAX_INT64
    available = capacity.available
    for request in demand.units:
        if request.value <= 0:
            continue
        left = available.get(request.name)
        if left is None or left.value <= 0:
            return 0
        if request.name == _CPU:
            best = min(best, left.milli // request.milli)
        else:
            best = min(best, left.value // request.value)
    return best


def models_max_replicas(
    capacity: ClusterCapacity, demand: ReplicaDemand, assumed: Sequence[Mapping[str, Any]] = ()
) -> int:
    """Replicas that fit one by one on the virtual model nodes.

    Raises :class:`ModelError` when the models cannot be used (the caller falls back to the summary).
    """
    if not capacity.has_summary:
        raise ModelError("resource summary is nil")
    if capacity.model_error is not None:
        raise ModelError(capacity.model_error)
    assumed_sets = assumed_set_components(assumed)
    return simulate_sets(capacity.model_nodes, [demand.per_replica], MAX_INT32, assumed_sets)


def _assumed_allocating(assumed: Sequence[Mapping[str, Any]]) -> dict[str, Quantity]:
    """In-flight demand as extra ``allocating``: pods per replica, cpu in millis, others in units."""
    extra: dict[str, Quantity] = {}

    def add(name: str, quantity: Quantity) -> None:
        extra[name] = extra[name] + quantity if name in extra else quantity

    for workload in assumed:
        for component in workload.get("components") or ():
            replicas = int(component.get("replicas") or 0)
            if replicas <= 0:
                continue
            add(_PODS, Quantity.from_int(replicas))
            requirements = component.get("replicaRequirements")
            if requirements is None:
                continue
            for name, request in parse_resource_list(requirements.get("resourceRequest")).items():
                if name == _CPU:
                    add(name, Quantity.from_milli(request.milli_value() * replicas, request.format))
                else:
                    add(name, Quantity.from_int(request.value() * replicas, request.format))
    return extra


def general_max_replicas(
    capacity: ClusterCapacity,
    demand: ReplicaDemand | None,
    feature_gates: FeatureGates,
    assumed: Sequence[Mapping[str, Any]] = (),
) -> int:
    """The general estimator's answer for one cluster and a single-template workload (§6.2)."""
    if not capacity.has_summary:
        return 0
    if assumed and feature_gates.enabled(SCHEDULING_OVERCOMMIT_PROTECTION):
        capacity = capacity.with_allocating(_assumed_allocating(assumed))
    allowed = capacity.allowed_pods
    if allowed <= 0:
        return 0
    if demand is None:
        return int32(allowed)
    if feature_gates.enabled(CUSTOMIZED_CLUSTER_RESOURCE_MODELING) and capacity.has_modelings:
        try:
            return int32(min(allowed, models_max_replicas(capacity, demand, assumed)))
        except ModelError:
            pass
    return int32(min(allowed, summary_max_replicas(capacity, demand)))


def merge_estimates(current: dict[str, int], estimate: Mapping[str, int]) -> None:
    """Lower ``current`` to each estimate, ignoring missing clusters and ``UNAUTHENTIC_REPLICA``."""
    for name, replicas in estimate.items():
        if replicas != UNAUTHENTIC_REPLICA and name in current and current[name] > replicas:
            current[name] = replicas


def _capacity(cluster: Mapping[str, Any] | ClusterCapacity) -> ClusterCapacity:
    return cluster if isinstance(cluster, ClusterCapacity) else ClusterCapacity.from_cluster(cluster)


def general_estimates(
    clusters: Sequence[Mapping[str, Any] | ClusterCapacity],
    spec: BindingSpecView,
    feature_gates: FeatureGates,
    assumed: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, int]:
    """The general estimator's answer per cluster for a workload (replicas or components) (§6.2, §6.4)."""
    capacities = [_capacity(cluster) for cluster in clusters]
    in_flight = (assumed or {}) if feature_gates.enabled(SCHEDULING_OVERCOMMIT_PROTECTION) else {}
    as_sets = feature_gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING) and is_multi_template_applicable(
        spec.components, spec.placement
    )
    demand = ReplicaDemand.from_requirements(spec.replica_requirements)
    general: dict[str, int] = {}
    for capacity in capacities:
        workloads = in_flight.get(capacity.name, ())
        if as_sets:
            sets = general_max_component_sets(capacity, spec.components, feature_gates, workloads)
            general[capacity.name] = sets
        else:
            general[capacity.name] = general_max_replicas(capacity, demand, feature_gates, workloads)
    return general


def combine_estimates(
    names: Sequence[str], general: Mapping[str, int], replicas: int, others: Sequence[Mapping[str, int]] = ()
) -> dict[str, int]:
    """Karmada's combination (§6.1): the minimum over estimators, ``replicas`` where none bounded."""
    result = dict.fromkeys(names, MAX_INT32)
    for estimate in (general, *others):
        merge_estimates(result, estimate)
    return {name: replicas if found == MAX_INT32 else found for name, found in result.items()}


def max_available_replicas(
    clusters: Sequence[Mapping[str, Any] | ClusterCapacity],
    binding_spec: BindingSpecView | Mapping[str, Any],
    feature_gates: FeatureGates,
    *,
    assumed: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    other_estimates: Sequence[Mapping[str, int]] = (),
) -> dict[str, int]:
    """Each cluster's allocatable replicas for a binding, combined as Karmada's scheduler does (§6.1).

    ``clusters`` are Cluster objects or pre-digested capacities; ``other_estimates`` are answers of
    further estimators (e.g. the accurate scheduler-estimator) as ``{cluster: replicas}``.
    """
    spec = binding_spec
    if not isinstance(spec, BindingSpecView):
        spec = BindingSpecView.from_spec(spec)
    capacities = [_capacity(cluster) for cluster in clusters]
    names = [capacity.name for capacity in capacities]
    if spec.replicas == 0 and not spec.components:
        return dict.fromkeys(names, MAX_INT32)
    general = general_estimates(capacities, spec, feature_gates, assumed)
    return combine_estimates(names, general, spec.replicas, other_estimates)
