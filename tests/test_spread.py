"""Cluster order, group scores and spread selection, plus the spread conformance vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.registry import lookup
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.errors import SchedulingError
from kpl.engine.scheduler.spread import (
    PathGroup,
    group_clusters,
    group_score,
    overflow_order,
    select_best_clusters,
    select_by_cluster,
    select_groups,
    sort_clusters,
)
from kpl.engine.scheduler.types import ClusterDetail

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
OPS = (
    "select_best_clusters",
    "select_clusters",
    "group_clusters",
    "sort_clusters",
    "select_clusters_by_region",
    "select_groups",
    "group_score_compare",
    "group_score_duplicate",
    "spread_filter",
)


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "spread.yaml"
    if not path.exists():
        return []
    return [
        case
        for case in yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["cases"]
        if case["op"] in OPS
    ]


CASES = _cases()


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None
    assert op(case["input"], case["expected"]) is None


@pytest.mark.skipif(not VECTORS.exists(), reason="shared conformance data not present")
def test_every_op_has_cases() -> None:
    assert {case["op"] for case in CASES} == set(OPS)


def detail(name: str, score: int = 0, available: int = 0, order: int = 0) -> ClusterDetail:
    return ClusterDetail(name, score, available, available, order)


DIVIDED = {
    "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}
}


def test_swap_from_the_last_slot() -> None:
    clusters = [detail("m1", 60, 40), detail("m2", 50, 30), detail("m3", 40, 60)]
    chosen = select_by_cluster({"minGroups": 1, "maxGroups": 2}, clusters, 80)
    assert [c.name for c in chosen] == ["m1", "m3"]
    with pytest.raises(SchedulingError, match="no enough resource when selecting 2 clusters"):
        select_by_cluster({"minGroups": 1, "maxGroups": 2}, clusters, 101)


def test_max_groups_zero_selects_nothing() -> None:
    clusters = (detail("a"), detail("b"))
    placement = {"spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 0, "minGroups": 0}]}
    assert select_best_clusters(placement, group_clusters(clusters, placement, 0), 5) == []
    divided = {**placement, **DIVIDED}
    with pytest.raises(SchedulingError, match="selecting 0 clusters"):
        select_best_clusters(divided, group_clusters(clusters, divided, 1), 1)


def test_static_weights_ignore_spread_constraints() -> None:
    placement = {
        "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 1, "minGroups": 1}],
        "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"},
    }
    clusters = (detail("a"), detail("b"))
    assert len(select_best_clusters(placement, group_clusters(clusters, placement, 1), 1)) == 2


def test_only_zone_constraint_is_an_error() -> None:
    placement = {"spreadConstraints": [{"spreadByField": "zone", "maxGroups": 1, "minGroups": 1}]}
    grouped = group_clusters([detail("a")], placement, 0, {"a": ClusterView("a", zones=("z",))})
    with pytest.raises(SchedulingError, match="just support cluster and region spread constraint"):
        select_best_clusters(placement, grouped, 0)


def test_region_selection_takes_best_of_each_region_first() -> None:
    views = {
        "a1": ClusterView("a1", region="A"),
        "a2": ClusterView("a2", region="A"),
        "b1": ClusterView("b1", region="B"),
    }
    placement = {
        "spreadConstraints": [
            {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
            {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 3},
        ]
    }
    details = [detail("a1", 0, 5), detail("a2", 100, 1), detail("b1", 0, 9)]
    grouped = group_clusters(details, placement, 0, views)
    assert [c.name for c in select_best_clusters(placement, grouped, 0)] == ["a2", "b1", "a1"]


def test_overflow_order() -> None:
    placement = {
        "clusterAffinities": [
            {
                "affinityName": "t",
                "clusterNames": ["a"],
                "overflowAffinities": [{"clusterNames": ["b"]}, {"clusterNames": ["c"]}],
            }
        ]
    }
    assert [overflow_order(ClusterView(n), placement, "t") for n in "abcd"] == [0, 1, 2, 1000]
    assert overflow_order(ClusterView("d"), {"clusterAffinity": {}}, "t") == 0


def test_group_score_with_unset_min_groups() -> None:
    # A zero minGroups makes Karmada's target an infinite float; the capacity part then vanishes.
    clusters = [detail("a", 100, 1), detail("b", 0, 1)]
    assert group_score(clusters, DIVIDED, 10, 0) == 100
    assert group_score(clusters, DIVIDED, 10, 2) == 2 * 1000 + 50


names = st.text(alphabet="abcdef", min_size=1, max_size=4)
details_strategy = st.lists(
    st.builds(detail, names, st.sampled_from([0, 100]), st.integers(0, 50), st.sampled_from([0, 1, 1000])),
    max_size=8,
    unique_by=lambda d: d.name,
)


@settings(max_examples=60, deadline=None)
@given(details_strategy)
def test_sort_is_a_total_order(details: list[ClusterDetail]) -> None:
    ordered = sort_clusters(details)
    assert sorted(d.name for d in ordered) == sorted(d.name for d in details)
    assert ordered == sort_clusters(list(reversed(details)))
    keys = [(d.overflow_order, -d.score, -d.available_replicas, d.name) for d in ordered]
    assert keys == sorted(keys)


@settings(max_examples=60, deadline=None)
@given(details_strategy, st.integers(0, 8), st.integers(0, 200))
def test_cluster_selection_respects_count_and_capacity(
    details: list[ClusterDetail], most: int, need: int
) -> None:
    ordered = sort_clusters(details)
    try:
        chosen = select_by_cluster({"minGroups": 1, "maxGroups": most}, ordered, need)
    except SchedulingError:
        best = sum(sorted((d.available_replicas for d in details), reverse=True)[:most])
        assert not details or most == 0 or best < need or len(details) < 1
        return
    assert len(chosen) == min(len(details), most)
    assert len({c.name for c in chosen}) == len(chosen)
    assert sum(c.available_replicas for c in chosen) >= need


groups_strategy = st.lists(
    st.builds(PathGroup, names, st.integers(1, 5), st.integers(0, 100)),
    max_size=6,
    unique_by=lambda g: g.name,
)


@settings(max_examples=80, deadline=None)
@given(groups_strategy, st.integers(1, 4), st.integers(0, 3), st.integers(0, 12))
def test_select_groups_meets_constraints(groups: list[PathGroup], low: int, extra: int, target: int) -> None:
    chosen = select_groups(groups, low, low + extra, target)
    if chosen is None:
        return
    assert low <= len(chosen) <= low + extra
    assert sum(g.value for g in chosen) >= target
    assert len({g.name for g in chosen}) == len(chosen)


def _reference_select_groups(groups: list[PathGroup], low: int, high: int, target: int) -> list[PathGroup] | None:
    """The region search written plainly: every feasible path as an object, sorted, prefixes replacing."""
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    paths: list[tuple[int, int, int, list[PathGroup]]] = []
    stack: list[PathGroup] = []

    def visit(total: int, begin: int) -> None:
        if total >= target and low <= len(stack) <= high:
            found = sorted(stack, key=lambda g: (-g.weight, g.name))
            paths.append((-sum(g.weight for g in found), -sum(g.value for g in found), len(paths), found))
            return
        if len(stack) >= high:
            return
        for index in range(begin, len(ordered)):
            stack.append(ordered[index])
            visit(total + ordered[index].value, index + 1)
            if len(ordered) == low:
                return
            stack.pop()

    if not groups:
        return None
    visit(0, 0)
    if not paths:
        return None
    paths.sort(key=lambda p: p[:3])
    best = paths[0][3]
    for *_, found in paths[1:]:
        if len(found) < len(best) and all(a.name == b.name for a, b in zip(found, best, strict=False)):
            best = found
    return best


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.builds(PathGroup, names, st.integers(1, 4), st.sampled_from([0, 5, 5, 1000, 1005, 2000])),
             max_size=7, unique_by=lambda g: g.name),
    st.integers(0, 4), st.integers(0, 3), st.integers(0, 10),
)
def test_select_groups_matches_the_plain_search(groups: list[PathGroup], low: int, extra: int, target: int) -> None:
    """Ties in weight and value (few distinct scores) exercise the search order and the prefix rule."""
    assert select_groups(groups, low, low + extra, target) == _reference_select_groups(groups, low, low + extra, target)
