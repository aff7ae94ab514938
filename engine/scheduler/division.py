"""Replica assignment: Karmada's ``AssignReplicas`` and its four strategies (spec §5).

* **Duplicated** (no ``replicaScheduling`` or type ``Duplicated``): every cluster runs ``spec.replicas``.
* **StaticWeight** (Divided + Weighted without ``dynamicWeight``): Webster over the static weights, from
  scratch, ignoring capacity and the previous result.
* **DynamicWeight** / **Aggregated**: Webster over estimated capacity. A scale-up divides only the extra
  replicas (by allocatable replicas) and adds them to the previous result; a scale-down re-divides the
  whole total by the previous result; an explicit reschedule ("fresh") divides everything by allocatable
  plus previously held replicas. Aggregated first moves clusters already in use to the front and keeps the
  shortest prefix that covers the replicas.

Overflow tiers (§5.7) run the strategy tier by tier. Multi-component and non-workload bindings are not
divided: every candidate gets an entry (§5.1, §5.8). Errors are :class:`SchedulingError` values with
Karmada's texts; the caller adds the ``failed to assign replicas:`` prefix as Karmada's scheduler does.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from kpl.engine.features import MULTIPLE_POD_TEMPLATES_SCHEDULING, FeatureGates
from kpl.engine.scheduler.affinity import ClusterView, compile_affinity
from kpl.engine.scheduler.errors import SchedulingError, UnschedulableError, wrap_error
from kpl.engine.scheduler.gosort import go_order_desc, go_sort_by_key_desc
from kpl.engine.scheduler.types import (
    BindingSpecView,
    ClusterDetail,
    TargetCluster,
    TargetComponent,
    is_multi_template_applicable,
    sum_of_replicas,
)
from kpl.engine.scheduler.webster import ClusterWeight, dispense_by_weight, divide_seats, spread_by_target_clusters

__all__ = [
    "Strategy",
    "assign_by_duplicated",
    "assign_by_dynamic",
    "assign_by_static_weight",
    "assign_replica_targets",
    "assign_replicas",
    "dynamic_divide",
    "merge_target_clusters",
    "overflow_enabled",
    "reschedule_required",
    "selection_votes",
    "static_weight_list",
    "strategy_of",
]


class Strategy(enum.Enum):
    DUPLICATED = "Duplicated"
    AGGREGATED = "Aggregated"
    STATIC_WEIGHT = "StaticWeight"
    DYNAMIC_WEIGHT = "DynamicWeight"


_DYNAMIC = (Strategy.AGGREGATED, Strategy.DYNAMIC_WEIGHT)


def _int32(value: int) -> int:
    """``value`` wrapped to a signed 32-bit integer, as Go's int32 sums wrap."""
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def strategy_of(placement: Mapping[str, Any]) -> Strategy:
    """The strategy a placement asks for, or an error for a combination Karmada does not support."""
    scheduling = placement.get("replicaScheduling")
    if scheduling is None:
        return Strategy.DUPLICATED
    kind = scheduling.get("replicaSchedulingType") or ""
    preference = scheduling.get("replicaDivisionPreference") or ""
    if kind == "Duplicated":
        return Strategy.DUPLICATED
    if kind == "Divided" and preference == "Aggregated":
        return Strategy.AGGREGATED
    if kind == "Divided" and preference == "Weighted":
        weights = scheduling.get("weightPreference")
        if weights is not None and weights.get("dynamicWeight"):
            return Strategy.DYNAMIC_WEIGHT
        return Strategy.STATIC_WEIGHT
    raise SchedulingError(
        f"unsupported replica scheduling strategy, replicaSchedulingType: {kind}, "
        f"replicaDivisionPreference: {preference}, please try another scheduling strategy"
    )


def assign_by_duplicated(candidates: Sequence[ClusterDetail], replicas: int) -> list[TargetCluster]:
    return [TargetCluster(candidate.name, replicas) for candidate in candidates]


def _view(candidate: ClusterDetail) -> ClusterView:
    cluster = candidate.cluster
    if isinstance(cluster, ClusterView):
        return cluster
    return ClusterView.from_object(cluster or {"name": candidate.name})


def static_weight_list(
    candidates: Sequence[ClusterDetail], weight_preference: Mapping[str, Any] | None
) -> list[ClusterWeight]:
    """Each candidate's weight: the largest weight among the rules whose ``targetCluster`` matches it.

    Candidates with weight 0 are left out; if all are 0 (or there is no preference) every candidate
    gets weight 1.
    """
    if weight_preference is None:
        return [ClusterWeight(candidate.name, 1) for candidate in candidates]
    rules = [
        (compile_affinity(rule.get("targetCluster") or {}), int(rule.get("weight") or 0))
        for rule in weight_preference.get("staticWeightList") or ()
    ]
    weights: list[ClusterWeight] = []
    for candidate in candidates:
        view = _view(candidate)
        weight = max((w for affinity, w in rules if affinity.matches(view)), default=0)
        if weight > 0:
            weights.append(ClusterWeight(candidate.name, weight))
    if sum(weight.weight for weight in weights) == 0:
        weights.extend(ClusterWeight(candidate.name, 1) for candidate in candidates)
    return weights


def assign_by_static_weight(
    candidates: Sequence[ClusterDetail],
    weight_preference: Mapping[str, Any] | None,
    replicas: int,
    uid: str = "",
) -> list[TargetCluster]:
    """Webster over the static weights from scratch; capacity and the previous result are ignored."""
    return dispense_by_weight(replicas, static_weight_list(candidates, weight_preference), (), uid)


def merge_target_clusters(old: Sequence[TargetCluster], new: Sequence[TargetCluster]) -> list[TargetCluster]:
    """Add ``old`` replicas into ``new`` by name; old entries missing from ``new`` are appended."""
    if not old:
        return list(new)
    if not new:
        return list(old)
    remaining = {target.name: target.replicas for target in old}
    merged = [TargetCluster(t.name, t.replicas + remaining.pop(t.name, 0)) for t in new]
    merged.extend(TargetCluster(target.name, target.replicas) for target in old if target.name in remaining)
    return merged


def _used_first(
    available: Sequence[TargetCluster], scheduled: Sequence[TargetCluster]
) -> list[TargetCluster]:
    used = {target.name for target in scheduled if target.replicas > 0}
    if not used:
        return list(available)
    return [t for t in available if t.name in used] + [t for t in available if t.name not in used]


def _covering_prefix(available: Sequence[TargetCluster], target: int) -> list[TargetCluster]:
    total = 0
    for index, cluster in enumerate(available):
        total = _int32(total + cluster.replicas)
        if total >= target:
            return list(available[: index + 1])
    return list(available)


def dynamic_divide(
    strategy: Strategy,
    target: int,
    available: Sequence[TargetCluster],
    scheduled: Sequence[TargetCluster] = (),
    uid: str = "",
) -> list[TargetCluster]:
    """Divide ``target`` replicas by the weights ``available`` (in order) and add ``scheduled``.

    Raises :class:`UnschedulableError` when the weights sum to less than ``target``.
    """
    return _divide(strategy, target, available, scheduled, uid, None)


def _divide(
    strategy: Strategy,
    target: int,
    available: Sequence[TargetCluster],
    scheduled: Sequence[TargetCluster],
    uid: str,
    zeros: Collection[str] | None,
) -> list[TargetCluster]:
    """:func:`dynamic_divide`; with ``zeros`` the entries left with no replicas only where named there."""
    total = _int32(sum_of_replicas(available))
    if total < target:
        raise UnschedulableError(f"Clusters available replicas {total} are not enough to schedule.")
    if strategy is Strategy.AGGREGATED:
        available = _covering_prefix(_used_first(available, scheduled), target)
    elif strategy is not Strategy.DYNAMIC_WEIGHT:
        raise SchedulingError(f"undefined strategy type: {strategy.value}")
    return merge_target_clusters(scheduled, spread_by_target_clusters(target, available, (), uid, zeros=zeros))


def _sorted_desc(targets: Sequence[TargetCluster]) -> list[TargetCluster]:
    return go_sort_by_key_desc(targets, lambda target: target.replicas)


def _scale_down(
    strategy: Strategy, replicas: int, scheduled: Sequence[TargetCluster], uid: str
) -> list[TargetCluster]:
    return _divide(strategy, replicas, _sorted_desc(scheduled), (), uid, ())


def _scale_up(
    strategy: Strategy,
    candidates: Sequence[ClusterDetail],
    target: int,
    scheduled: Sequence[TargetCluster],
    uid: str,
    votes: Mapping[str, int] | None = None,
) -> list[TargetCluster]:
    """:func:`_divide` over the candidates' allocatable replicas sorted as Go sorts them, as name and weight
    arrays (the order is remembered per weight sequence), keeping zero entries of ``scheduled`` clusters.
    ``votes``, when given, are :func:`selection_votes` of the candidates (DynamicWeight only)."""
    if votes is not None and strategy is Strategy.DYNAMIC_WEIGHT:
        total = _int32(sum(votes.values()))
        if total < target:
            raise UnschedulableError(f"Clusters available replicas {total} are not enough to schedule.")
        return merge_target_clusters(scheduled, divide_seats(target, votes, uid, {t.name for t in scheduled}))
    weights = tuple([c.allocatable_replicas for c in candidates])
    total = _int32(sum(weights))
    if total < target:
        raise UnschedulableError(f"Clusters available replicas {total} are not enough to schedule.")
    order: Sequence[int] = go_order_desc(weights)
    if strategy is Strategy.AGGREGATED:
        order = _covering_order(order, weights, candidates, scheduled, target)
    elif strategy is not Strategy.DYNAMIC_WEIGHT:
        raise SchedulingError(f"undefined strategy type: {strategy.value}")
    votes = {candidates[index].name: weights[index] for index in order}
    return merge_target_clusters(scheduled, divide_seats(target, votes, uid, {t.name for t in scheduled}))


def _static_votes(candidates: Sequence[ClusterDetail], placement: Mapping[str, Any]) -> dict[str, int]:
    preference = (placement.get("replicaScheduling") or {}).get("weightPreference")
    return {weight.name: weight.weight for weight in static_weight_list(candidates, preference)}


def selection_votes(candidates: Sequence[ClusterDetail], placement: Mapping[str, Any]) -> dict[str, int] | None:
    """What Webster divides by for a binding with no previous result, fixed by the selected ``candidates`` and
    the placement, so that bindings with the same selection can share it: static weights per cluster, or
    for DynamicWeight the allocatable replicas in Go's sort order. ``None`` for the other strategies (and an
    unsupported one, whose error the division raises)."""
    try:
        strategy = strategy_of(placement)
    except SchedulingError:
        return None
    if strategy is Strategy.STATIC_WEIGHT:
        return _static_votes(candidates, placement)
    if strategy is Strategy.DYNAMIC_WEIGHT:
        weights = tuple([c.allocatable_replicas for c in candidates])
        return {candidates[index].name: weights[index] for index in go_order_desc(weights)}
    return None


def _covering_order(order: Sequence[int], weights: Sequence[int], candidates: Sequence[ClusterDetail],
                    scheduled: Sequence[TargetCluster], target: int) -> Sequence[int]:
    """:func:`_used_first` then :func:`_covering_prefix`, over positions."""
    used = {t.name for t in scheduled if t.replicas > 0}
    if used:
        order = [i for i in order if candidates[i].name in used] + [
            i for i in order if candidates[i].name not in used]
    total = 0
    for count, index in enumerate(order, 1):
        total = _int32(total + weights[index])
        if total >= target:
            return order[:count]
    return order


def _fresh(
    strategy: Strategy,
    candidates: Sequence[ClusterDetail],
    replicas: int,
    scheduled: Sequence[TargetCluster],
    uid: str,
) -> list[TargetCluster]:
    held: dict[str, int] = {}
    for target in scheduled:
        held[target.name] = held.get(target.name, 0) + target.replicas
    available = [TargetCluster(c.name, c.allocatable_replicas + held.get(c.name, 0)) for c in candidates]
    return _divide(strategy, replicas, _sorted_desc(available), (), uid, ())


def assign_by_dynamic(
    strategy: Strategy, candidates: Sequence[ClusterDetail], spec: BindingSpecView, fresh: bool = False,
    votes: Mapping[str, int] | None = None,
) -> list[TargetCluster]:
    """The DynamicWeight / Aggregated strategy in steady mode, or fresh mode when ``fresh``; ``votes`` are the
    candidates' :func:`selection_votes` when known."""
    scheduled: list[TargetCluster] = []
    if spec.previous:
        names = {candidate.name for candidate in candidates}
        scheduled = [target for target in spec.previous if target.name in names]
    assigned = _int32(sum_of_replicas(scheduled))
    try:
        if fresh:
            step = "failed to do fresh scale"
            return _fresh(strategy, candidates, spec.replicas, scheduled, spec.uid)
        if assigned > spec.replicas:
            step = "failed to scale down"
            return _scale_down(strategy, spec.replicas, scheduled, spec.uid)
        if assigned < spec.replicas:
            step = "failed to scale up"
            return _scale_up(strategy, candidates, spec.replicas - assigned, scheduled, spec.uid,
                             None if scheduled else votes)
    except SchedulingError as error:
        raise wrap_error(step, error) from error
    return scheduled


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def reschedule_required(triggered_at: Any, last_scheduled: Any) -> bool:
    """Whether an explicit reschedule is pending: triggered strictly after the last successful schedule."""
    triggered, last = _parse_time(triggered_at), _parse_time(last_scheduled)
    if triggered is None or last is None:
        return False
    try:
        return triggered > last
    except TypeError:
        return False


def _observed_affinity_name(status: Mapping[str, Any] | None) -> str:
    status = status or {}
    name = status.get("schedulerObservingAffinityName") or status.get("schedulerObservedAffinityName")
    return str(name or "")


def overflow_enabled(placement: Mapping[str, Any], status: Mapping[str, Any] | None) -> bool:
    """Overflow tiers apply when the observed clusterAffinities term declares overflow affinities."""
    terms = placement.get("clusterAffinities")
    observed = _observed_affinity_name(status)
    if placement.get("clusterAffinity") is not None or terms is None or not observed:
        return False
    return any(
        term.get("affinityName") == observed and term.get("overflowAffinities") is not None for term in terms
    )


def _assign_to_clusters(
    candidates: Sequence[ClusterDetail],
    spec: BindingSpecView,
    placement: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    votes: Mapping[str, int] | None = None,
) -> list[TargetCluster]:
    strategy = strategy_of(placement)
    if strategy is Strategy.DUPLICATED:
        result = assign_by_duplicated(candidates, spec.replicas)
    elif strategy is Strategy.STATIC_WEIGHT:
        result = divide_seats(spec.replicas, votes or _static_votes(candidates, placement), spec.uid, ())
    else:
        fresh = reschedule_required(spec.reschedule_triggered_at, (status or {}).get("lastScheduledTime"))
        result = assign_by_dynamic(strategy, candidates, spec, fresh, votes)
    return [target if target.components is None else TargetCluster(target.name, target.replicas)
            for target in result if target.replicas > 0]


def _assign_by_tiers(
    candidates: Sequence[ClusterDetail],
    spec: BindingSpecView,
    placement: Mapping[str, Any],
    status: Mapping[str, Any] | None,
) -> list[TargetCluster]:
    tiers: dict[int, list[ClusterDetail]] = {}
    for candidate in candidates:
        tiers.setdefault(candidate.overflow_order, []).append(candidate)
    results: list[TargetCluster] = []
    remaining = spec.replicas
    for order in sorted(order for order in tiers if order >= 0):
        tier = tiers[order]
        share = min(remaining, sum(candidate.available_replicas for candidate in tier))
        tier_spec = _with_replicas(spec, share)
        results.extend(_assign_to_clusters(tier, tier_spec, placement, status))
        remaining -= share
        if remaining <= 0:
            break
    if remaining > 0:
        raise UnschedulableError("Clusters available replicas are not enough to schedule.")
    return results


def _with_replicas(spec: BindingSpecView, replicas: int) -> BindingSpecView:
    return BindingSpecView(
        replicas=replicas,
        uid=spec.uid,
        previous=spec.previous,
        components=spec.components,
        replica_requirements=spec.replica_requirements,
        reschedule_triggered_at=spec.reschedule_triggered_at,
        namespace=spec.namespace,
        placement=spec.placement,
    )


def _propagate_to_all(
    candidates: Sequence[ClusterDetail],
    spec: BindingSpecView,
    placement: Mapping[str, Any],
    gates: FeatureGates,
) -> list[TargetCluster]:
    record = (
        gates.enabled(MULTIPLE_POD_TEMPLATES_SCHEDULING)
        and len(spec.components) > 1
        and is_multi_template_applicable(spec.components, placement)
    )
    components = tuple(
        TargetComponent(str(c.get("name") or ""), int(c.get("replicas") or 0)) for c in spec.components
    ) if record else None
    return [TargetCluster(candidate.name, 0, components) for candidate in candidates]


def assign_replica_targets(
    candidates: Sequence[ClusterDetail],
    spec: BindingSpecView,
    placement: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    feature_gates: FeatureGates,
    votes: Mapping[str, int] | None = None,
) -> list[TargetCluster]:
    """Karmada's ``AssignReplicas`` over selected ``candidates``, as typed target entries; ``votes``, when given,
    are :func:`selection_votes` of ``candidates`` and ``placement`` (read only where the binding has no
    previous result on the candidates)."""
    if not candidates:
        raise SchedulingError("no clusters available to schedule")
    if not spec.is_single_template_workload:
        return _propagate_to_all(candidates, spec, placement, feature_gates)
    if overflow_enabled(placement, status):
        return _assign_by_tiers(candidates, spec, placement, status)
    return _assign_to_clusters(candidates, spec, placement, status, votes)


def assign_replicas(
    candidates: Sequence[ClusterDetail],
    spec: BindingSpecView,
    placement: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    feature_gates: FeatureGates,
) -> list[dict[str, Any]]:
    """Karmada's ``AssignReplicas``: the new ``spec.clusters`` as API mappings.

    Raises :class:`SchedulingError` (``no clusters available to schedule``, unsupported strategy) or
    :class:`UnschedulableError` (not enough capacity, with the ``failed to scale up:`` style prefix).
    """
    targets = assign_replica_targets(candidates, spec, placement, status, feature_gates)
    return [target.to_api() for target in targets]
