"""Vector ops of ``spread.yaml``: cluster order, topology groups, group scores and spread selection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.errors import SchedulingError
from kpl.engine.scheduler.filters import spread_filter as run_spread_filter
from kpl.engine.scheduler.spread import (
    Group,
    GroupedClusters,
    PathGroup,
    group_clusters,
    group_score,
    group_score_duplicate,
    select_best_clusters,
    select_by_region,
    select_groups,
    sort_clusters,
)
from kpl.engine.scheduler.types import ClusterDetail

__all__ = ["filter_result_diff"]


def _detail(entry: Mapping[str, Any], available: int | None = None) -> ClusterDetail:
    room = int(entry.get("available") or 0) if available is None else available
    return ClusterDetail(
        name=str(entry["name"]),
        score=int(entry.get("score") or 0),
        allocatable_replicas=room,
        available_replicas=room,
        overflow_order=int(entry.get("overflow_order") or 0),
        cluster=entry,
    )


def _views(entries: Sequence[Mapping[str, Any]]) -> dict[str, ClusterView]:
    return {str(entry["name"]): ClusterView.from_object(entry) for entry in entries}


def _names(details: Sequence[ClusterDetail]) -> list[str]:
    return [detail.name for detail in details]


def _selection_diff(run: Any, expected: Mapping[str, Any], key: str) -> str | None:
    """Compare a selection (a callable giving details) with ``expected[key]`` or ``expected.error``."""
    try:
        names = _names(run())
    except SchedulingError as error:
        if "error" in expected:
            return check_error(ExpectedError(error.kind, error.message), expected["error"])
        return f"unexpected error {error.kind}: {error.message}"
    if "error" in expected:
        return check_error(None, expected["error"])
    if key == "selected_any_order":
        return deep_diff(sorted(names), sorted(expected[key]))
    return deep_diff(names, expected[key])


@vector_op("select_best_clusters")
def select_best_clusters_op(input: Mapping[str, Any], expected: Any) -> str | None:
    entries = input["clusters"]
    placement = input.get("placement") or {}
    need = int(input.get("need_replicas") or 0)
    grouped = group_clusters([_detail(e) for e in entries], placement, need, _views(entries), presorted=True)
    return _selection_diff(lambda: select_best_clusters(placement, grouped, need), expected, "selected")


@vector_op("select_clusters")
def select_clusters_op(input: Mapping[str, Any], expected: Any) -> str | None:
    from kpl.engine.scheduler.pipeline import select_clusters

    spec = dict(input.get("spec") or {})
    spec["placement"] = input.get("placement") or {}
    scored = [(ClusterView.from_object(e), int(e.get("score") or 0)) for e in input["scores"]]
    status = input.get("status") or {}
    return _selection_diff(
        lambda: select_clusters(scored, spec, status, None), expected, "selected_any_order"
    )


@vector_op("group_clusters")
def group_clusters_op(input: Mapping[str, Any], expected: Any) -> str | None:
    entries = input["scores"]
    available = int(input.get("estimator_available_per_cluster") or 0)
    details = [_detail(entry, available) for entry in entries]
    grouped = group_clusters(details, input.get("placement") or {}, 0, _views(entries))
    actual = {
        "clusters": _names(grouped.clusters),
        "zone_count": len(grouped.zones),
        "region_count": len(grouped.regions),
        "provider_count": len(grouped.providers),
    }
    return deep_diff({k: actual[k] for k in expected}, dict(expected))


@vector_op("sort_clusters")
def sort_clusters_op(input: Mapping[str, Any], expected: Any) -> str | None:
    details = [_detail(entry) for entry in input["clusters"]]
    ordered = sort_clusters(details, by_available=bool(input.get("by_available")))
    return deep_diff(_names(ordered), expected["order"])


@vector_op("select_clusters_by_region")
def select_clusters_by_region_op(input: Mapping[str, Any], expected: Any) -> str | None:
    constraints = input.get("constraints") or {}
    placement = {
        "spreadConstraints": [{"spreadByField": name, **value} for name, value in constraints.items()],
    }
    regions = {
        name: Group(
            name,
            int(region.get("score") or 0),
            sum(int(c.get("available") or 0) for c in region["clusters"]),
            tuple(_detail(c) for c in region["clusters"]),
        )
        for name, region in (input.get("regions") or {}).items()
    }
    clusters = tuple(sort_clusters([c for g in regions.values() for c in g.clusters]))
    grouped = GroupedClusters(clusters, regions=regions)
    return _selection_diff(lambda: select_by_region(placement, grouped), expected, "selected")


@vector_op("select_groups")
def select_groups_op(input: Mapping[str, Any], expected: Any) -> str | None:
    groups = [PathGroup(str(g["name"]), int(g["value"]), int(g["weight"])) for g in input.get("groups") or ()]
    chosen = select_groups(groups, int(input["min"]), int(input["max"]), int(input["target"]))
    return deep_diff(None if chosen is None else [g.name for g in chosen], expected["names"])


def _strategy_placement(spec: Mapping[str, Any]) -> dict[str, Any]:
    strategy: dict[str, Any] = {}
    for key in ("replicaSchedulingType", "replicaDivisionPreference"):
        if key in spec:
            strategy[key] = spec[key]
    preference = {k: spec[k] for k in ("dynamicWeight", "staticWeightList") if k in spec}
    if preference:
        strategy["weightPreference"] = preference
    placement: dict[str, Any] = {"replicaScheduling": strategy} if strategy else {}
    if "spreadConstraints" in spec:
        placement["spreadConstraints"] = spec["spreadConstraints"]
    return placement


def _score_group(group: Mapping[str, Any], spec: Mapping[str, Any], min_groups: int) -> int:
    details = [
        ClusterDetail(name=f"member{i + 1}", score=int(score), available_replicas=int(room))
        for i, (score, room) in enumerate(zip(group["scores"], group["available"], strict=True))
    ]
    return group_score(details, _strategy_placement(spec), int(spec.get("replicas") or 0), min_groups)


@vector_op("group_score_compare")
def group_score_compare_op(input: Mapping[str, Any], expected: Any) -> str | None:
    spec = input.get("spec") or {}
    min_groups = int(input.get("min_groups") or 0)
    first = _score_group(input["group1"], spec, min_groups)
    second = _score_group(input["group2"], spec, min_groups)
    actual = {"group1_wins": first >= second, "derived_scores": {"group1": first, "group2": second}}
    return deep_diff({k: actual[k] for k in expected}, dict(expected))


@vector_op("group_score_duplicate")
def group_score_duplicate_op(input: Mapping[str, Any], expected: Any) -> str | None:
    details = [_detail(entry) for entry in input.get("clusters") or ()]
    return deep_diff(group_score_duplicate(details, int(input.get("replicas") or 0)), expected["score"])


def filter_result_diff(passed: bool, reason: str, expected: Mapping[str, Any]) -> str | None:
    """Compare a filter verdict with ``{code, reason?, reason_contains?}``."""
    actual = {"code": "Success" if passed else "Unschedulable"}
    if "reason" in expected:
        actual["reason"] = reason
    found = deep_diff(actual, {k: v for k, v in expected.items() if k != "reason_contains"})
    if found is None and "reason_contains" in expected and expected["reason_contains"] not in reason:
        return f"expected reason containing {expected['reason_contains']!r}, got {reason!r}"
    return found


@vector_op("spread_filter")
def spread_filter_op(input: Mapping[str, Any], expected: Any) -> str | None:
    fields = [c.get("spreadByField") or "" for c in input.get("spreadConstraints") or ()]
    outcome = run_spread_filter(ClusterView.from_object(input["cluster"]), fields)
    return filter_result_diff(outcome.passed, outcome.reason, expected)
