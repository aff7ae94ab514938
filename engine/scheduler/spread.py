"""Spread constraints: the global cluster order, topology groups and the choice of clusters.

Candidates are sorted by overflow tier ascending, score descending, available replicas descending
and name. With a ``region`` spread constraint, regions are chosen by a depth-first search over
combinations (:func:`select_groups`) and one best cluster is taken from each; otherwise the
``cluster`` constraint takes the first ``maxGroups`` clusters, swapping in clusters with more room
when the chosen ones cannot hold the replicas. Zone and provider constraints only filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpl.engine.scheduler.affinity import ClusterView, compile_affinity
from kpl.engine.scheduler.errors import SchedulingError
from kpl.engine.scheduler.types import ClusterDetail

__all__ = [
    "IGNORE_REPLICAS",
    "WEIGHT_UNIT",
    "Group",
    "GroupedClusters",
    "PathGroup",
    "group_clusters",
    "group_score",
    "group_score_duplicate",
    "ignores_available_resource",
    "ignores_spread_constraints",
    "overflow_order",
    "overflow_orders",
    "replica_scheduling_type",
    "select_best_clusters",
    "select_by_cluster",
    "select_by_region",
    "select_groups",
    "sort_clusters",
    "spread_constraint",
]

WEIGHT_UNIT = 1000
IGNORE_REPLICAS = -1
"""``need_replicas`` meaning "do not look at capacity" (Duplicated placements)."""

_NO_OVERFLOW_MATCH = 1000
_TOPOLOGY_FIELDS = ("zone", "region", "provider")


def replica_scheduling_type(placement: Mapping[str, Any] | None) -> str:
    """``Duplicated`` when there is no ``replicaScheduling``, else its ``replicaSchedulingType``."""
    strategy = (placement or {}).get("replicaScheduling")
    if strategy is None:
        return "Duplicated"
    return str(strategy.get("replicaSchedulingType") or "")


def ignores_spread_constraints(placement: Mapping[str, Any]) -> bool:
    """Static-weight division (Divided + Weighted without dynamic weight) ignores spread constraints."""
    strategy = placement.get("replicaScheduling")
    if strategy is None or strategy.get("replicaSchedulingType") != "Divided":
        return False
    if strategy.get("replicaDivisionPreference") != "Weighted":
        return False
    preference = strategy.get("weightPreference")
    if preference is None:
        return True
    return bool(preference.get("staticWeightList")) and not preference.get("dynamicWeight")


def ignores_available_resource(placement: Mapping[str, Any]) -> bool:
    """Duplicated placements (or none) pick clusters without looking at capacity."""
    return replica_scheduling_type(placement) == "Duplicated"


def spread_constraint(placement: Mapping[str, Any], spread_field: str) -> Mapping[str, Any] | None:
    """The last spread constraint on ``spread_field`` (as a Go map built from the list keeps it)."""
    found: Mapping[str, Any] | None = None
    for constraint in placement.get("spreadConstraints") or ():
        if (constraint.get("spreadByField") or "") == spread_field:
            found = constraint
    return found


def _min_groups(constraint: Mapping[str, Any] | None) -> int:
    return int((constraint or {}).get("minGroups") or 0)


def _max_groups(constraint: Mapping[str, Any] | None) -> int:
    return int((constraint or {}).get("maxGroups") or 0)


def overflow_orders(
    clusters: Sequence[ClusterView], placement: Mapping[str, Any] | None, observed: str
) -> list[int]:
    """Each cluster's overflow tier: 0 for the observed term's primary affinity, ``i + 1`` for its
    i-th overflow affinity, 1000 for neither.

    Always 0 with ``clusterAffinity`` or without ``clusterAffinities``.
    """
    placement = placement or {}
    terms = placement.get("clusterAffinities") or ()
    if placement.get("clusterAffinity") is not None or not terms:
        return [0] * len(clusters)
    term = next((t for t in terms if (t.get("affinityName") or "") == observed), None)
    if term is None:
        return [_NO_OVERFLOW_MATCH] * len(clusters)
    tiers = [compile_affinity(term), *(compile_affinity(o) for o in term.get("overflowAffinities") or ())]
    return [
        next((i for i, tier in enumerate(tiers) if tier.matches(c)), _NO_OVERFLOW_MATCH) for c in clusters
    ]


def overflow_order(cluster: ClusterView, placement: Mapping[str, Any] | None, observed: str) -> int:
    """One cluster's overflow tier (see :func:`overflow_orders`)."""
    return overflow_orders([cluster], placement, observed)[0]


def sort_clusters(details: Sequence[ClusterDetail], *, by_available: bool = True) -> list[ClusterDetail]:
    """Overflow tier ascending, score descending, (available replicas descending,) name ascending."""
    if by_available:
        return sorted(details, key=lambda d: (d.overflow_order, -d.score, -d.available_replicas, d.name))
    return sorted(details, key=lambda d: (d.overflow_order, -d.score, d.name))


@dataclass(frozen=True, slots=True)
class Group:
    """A zone, region or provider: its clusters in global order and its group score."""

    name: str
    score: int
    available_replicas: int
    clusters: tuple[ClusterDetail, ...]


@dataclass(frozen=True, slots=True)
class GroupedClusters:
    """All candidates in global order, plus topology groups for the fields that have a constraint."""

    clusters: tuple[ClusterDetail, ...]
    zones: Mapping[str, Group] = field(default_factory=dict)
    regions: Mapping[str, Group] = field(default_factory=dict)
    providers: Mapping[str, Group] = field(default_factory=dict)


def _go_div(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as Go does."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator >= 0) else -quotient


def group_score_duplicate(clusters: Sequence[ClusterDetail], replicas: int) -> int:
    """Clusters that can each hold every replica count most; their mean score breaks ties."""
    valid = [c for c in clusters if c.available_replicas >= replicas]
    if not valid:
        return 0
    return len(valid) * WEIGHT_UNIT + _go_div(sum(c.score for c in valid), len(valid))


def _divided_target(replicas: int, min_groups: int) -> int | None:
    """ceil(replicas / min_groups); ``None`` where Go's float division yields ±Inf or NaN."""
    if min_groups == 0:
        return None
    return -(-replicas // min_groups)


def group_score(
    clusters: Sequence[ClusterDetail], placement: Mapping[str, Any] | None, replicas: int, min_groups: int
) -> int:
    """The score of one topology group (spec §4.3); capacity dominates and scores break near-ties."""
    if placement is None or replica_scheduling_type(placement) == "Duplicated":
        return group_score_duplicate(clusters, replicas)
    target = _divided_target(replicas, min_groups)
    need = max(_min_groups(spread_constraint(placement, "cluster")), min_groups)
    available = score = count = 0
    for cluster in clusters:
        available += cluster.available_replicas
        score += cluster.score
        count += 1
        if count >= need and (target is None or available >= target):
            break
    if target is None:
        # Go converts an infinite quotient to the minimum int64, whose product with 1000 wraps to 0.
        return _go_div(score, count)
    if available < target:
        return available * WEIGHT_UNIT + _go_div(score, len(clusters))
    return target * WEIGHT_UNIT + _go_div(score, count)


def _topology_keys(view: ClusterView, spread_field: str) -> tuple[str, ...]:
    if spread_field == "zone":
        return view.zones
    value = view.region if spread_field == "region" else view.provider
    return (value,) if value else ()


def _build_groups(
    ordered: Sequence[ClusterDetail],
    views: Mapping[str, ClusterView],
    spread_field: str,
    placement: Mapping[str, Any],
    replicas: int,
) -> dict[str, Group]:
    members: dict[str, list[ClusterDetail]] = {}
    for detail in ordered:
        for key in _topology_keys(views[detail.name], spread_field):
            members.setdefault(key, []).append(detail)
    min_groups = _min_groups(spread_constraint(placement, spread_field))
    return {
        key: Group(
            key,
            group_score(found, placement, replicas, min_groups),
            sum(c.available_replicas for c in found),
            tuple(found),
        )
        for key, found in members.items()
    }


def _topology_ignored(placement: Mapping[str, Any]) -> bool:
    constraints = placement.get("spreadConstraints") or ()
    if not constraints or (len(constraints) == 1 and constraints[0].get("spreadByField") == "cluster"):
        return True
    return ignores_spread_constraints(placement)


def group_clusters(
    details: Sequence[ClusterDetail],
    placement: Mapping[str, Any],
    replicas: int,
    views: Mapping[str, ClusterView] | None = None,
    *,
    presorted: bool = False,
) -> GroupedClusters:
    """Sort the candidates globally and build the zone/region/provider groups that have constraints.

    ``views`` gives each cluster's topology by name; by default it is read from ``detail.cluster``.
    ``presorted`` keeps the given order as the global order.
    """
    ordered = tuple(details) if presorted else tuple(sort_clusters(details))
    if _topology_ignored(placement):
        return GroupedClusters(ordered)
    lookup = views if views is not None else {d.name: ClusterView.from_object(d.cluster) for d in ordered}
    groups = {
        spread_field: _build_groups(ordered, lookup, spread_field, placement, replicas)
        if spread_constraint(placement, spread_field) is not None
        else {}
        for spread_field in _TOPOLOGY_FIELDS
    }
    return GroupedClusters(ordered, groups["zone"], groups["region"], groups["provider"])


def _max_available_index(pool: Sequence[ClusterDetail], floor: int) -> int | None:
    best, found = floor, None
    for index, detail in enumerate(pool):
        if detail.available_replicas > best:
            best, found = detail.available_replicas, index
    return found


def _fits(chosen: Sequence[ClusterDetail], need_replicas: int) -> bool:
    return sum(c.available_replicas for c in chosen) >= need_replicas


def _swap_for_capacity(
    clusters: Sequence[ClusterDetail], count: int, need_replicas: int
) -> list[ClusterDetail]:
    chosen, rest = list(clusters[:count]), list(clusters[count:])
    slot = len(chosen) - 1
    while not _fits(chosen, need_replicas) and slot >= 0:
        index = _max_available_index(rest, chosen[slot].available_replicas)
        if index is not None:
            chosen[slot], rest[index] = rest[index], chosen[slot]
        slot -= 1
    return chosen if _fits(chosen, need_replicas) else []


def select_by_cluster(
    constraint: Mapping[str, Any], clusters: Sequence[ClusterDetail], need_replicas: int
) -> list[ClusterDetail]:
    """The ``cluster`` spread constraint: the first ``maxGroups`` clusters, swapped for capacity."""
    if len(clusters) < _min_groups(constraint):
        raise SchedulingError("the number of feasible clusters is less than spreadConstraint.MinGroups")
    count = max(min(len(clusters), _max_groups(constraint)), 0)
    if need_replicas == IGNORE_REPLICAS:
        return list(clusters[:count])
    chosen = _swap_for_capacity(clusters, count, need_replicas)
    if not chosen:
        raise SchedulingError(f"no enough resource when selecting {count} clusters")
    return chosen


@dataclass(frozen=True, slots=True)
class PathGroup:
    """A group as the region search sees it: ``value`` clusters, ``weight`` group score."""

    name: str
    value: int
    weight: int


def _feasible_paths(
    groups: Sequence[PathGroup], low: int, high: int, target: int
) -> list[tuple[int, int, tuple[PathGroup, ...]]]:
    """Karmada's depth-first search over combinations of groups: (total weight, total value, groups in search
    order) of each combination of ``low..high`` groups whose values reach ``target``, in the order found."""
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    count = len(ordered)
    paths: list[tuple[int, int, tuple[PathGroup, ...]]] = []
    stack: list[PathGroup] = []

    def visit(total: int, weight: int, begin: int) -> None:
        depth = len(stack)
        if total >= target and low <= depth <= high:
            paths.append((weight, total, tuple(stack)))
            return
        if depth >= high:
            return
        for index in range(begin, count):
            group = ordered[index]
            stack.append(group)
            visit(total + group.value, weight + group.weight, index + 1)
            if count == low:
                # Karmada stops after the first branch when every group is needed (without popping).
                return
            stack.pop()

    visit(0, 0, 0)
    return paths


def _by_weight(groups: Sequence[PathGroup]) -> list[PathGroup]:
    return sorted(groups, key=lambda g: (-g.weight, g.name))


def select_groups(groups: Sequence[PathGroup], low: int, high: int, target: int) -> list[PathGroup] | None:
    """The best combination of groups: ``low..high`` groups whose values sum to at least ``target``.

    Highest total weight wins, then highest total value, then the first found; a feasible path that
    is a strict prefix of the winner (both listed by weight, then name) replaces it. ``None`` when no
    combination is feasible.
    """
    if not groups:
        return None
    paths = _feasible_paths(groups, low, high, target)
    if not paths:
        return None
    ranked = sorted(range(len(paths)), key=lambda i: (-paths[i][0], -paths[i][1], i))
    best = _by_weight(paths[ranked[0]][2])
    for index in ranked[1:]:
        found = paths[index][2]
        if len(found) >= len(best):
            continue
        listed = _by_weight(found)
        if all(a.name == b.name for a, b in zip(listed, best, strict=False)):
            best = listed
    return best


def select_by_region(placement: Mapping[str, Any], grouped: GroupedClusters) -> list[ClusterDetail]:
    """The ``region`` spread constraint: best regions first, one cluster each, then the best leftovers."""
    region = spread_constraint(placement, "region")
    cluster = spread_constraint(placement, "cluster")
    if len(grouped.regions) < _min_groups(region):
        raise SchedulingError("the number of feasible region is less than spreadConstraint.MinGroups")
    candidates = [PathGroup(g.name, len(g.clusters), g.score) for g in grouped.regions.values()]
    chosen = select_groups(candidates, _min_groups(region), _max_groups(region), _min_groups(cluster))
    if not chosen:
        raise SchedulingError("the number of clusters is less than the cluster spreadConstraint.MinGroups")
    selected = [grouped.regions[g.name].clusters[0] for g in chosen]
    pool = [c for g in chosen for c in grouped.regions[g.name].clusters[1:]]
    need = min(len(pool) + len(selected), _max_groups(cluster))
    rest = need - len(selected)
    if rest > 0:
        selected.extend(sort_clusters(pool)[:rest])
    return selected


def select_best_clusters(
    placement: Mapping[str, Any], grouped: GroupedClusters, need_replicas: int
) -> list[ClusterDetail]:
    """Apply the spread constraints to the grouped candidates (spec §4.4).

    Raises :class:`SchedulingError` (kind ``Error``) with Karmada's text when they cannot be met.
    """
    if not placement.get("spreadConstraints") or ignores_spread_constraints(placement):
        return list(grouped.clusters)
    if ignores_available_resource(placement):
        need_replicas = IGNORE_REPLICAS
    if spread_constraint(placement, "region") is not None:
        return select_by_region(placement, grouped)
    constraint = spread_constraint(placement, "cluster")
    if constraint is not None:
        return select_by_cluster(constraint, grouped.clusters, need_replicas)
    raise SchedulingError("just support cluster and region spread constraint")
