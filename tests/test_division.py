"""Replica division: Webster, the dispenser, the strategies, AssignReplicas, and the feature gates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.registry import lookup
from kpl.engine.features import FeatureGateError, FeatureGates
from kpl.engine.scheduler import webster
from kpl.engine.scheduler.division import (
    Strategy,
    assign_by_dynamic,
    assign_by_static_weight,
    assign_replica_targets,
    assign_replicas,
    merge_target_clusters,
    reschedule_required,
    strategy_of,
)
from kpl.engine.scheduler.errors import SchedulingError, UnschedulableError
from kpl.engine.scheduler.gosort import go_sort, go_sort_by_key_desc
from kpl.engine.scheduler.types import BindingSpecView, ClusterDetail, TargetCluster
from kpl.engine.scheduler.webster import (
    ClusterWeight,
    allocate_webster_seats,
    by_seats_then_name_ascending,
    by_seats_then_name_descending,
    dispense_by_weight,
    fnv1a_32,
    tie_breaker_by_uid,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
DIVISION_OPS = {
    "webster",
    "dispenser",
    "spread_by_target_clusters",
    "static_weight",
    "dynamic_divide",
    "dynamic_assign",
    "duplicated",
    "assign_replicas",
}


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "division.yaml"
    if not path.exists():
        return []
    return list(yaml.safe_load(path.read_text())["cases"])


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="shared conformance data not present")
def test_every_division_op_has_cases_and_an_implementation() -> None:
    ops = {case["op"] for case in CASES}
    assert ops == DIVISION_OPS
    assert all(lookup(op) is not None for op in ops)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_division_vector(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, f"no vector op {case['op']}"
    assert op(case["input"], case["expected"]) is None


# -- Webster -------------------------------------------------------------------------------------------------


def _seats(new: int, votes: dict[str, int], initial: dict[str, int] | None = None) -> dict[str, int]:
    parties = allocate_webster_seats(new, votes, initial, None) or []
    return {party.name: party.seats for party in parties}


def test_webster_is_not_largest_remainder() -> None:
    assert _seats(9, {"a": 2, "b": 1, "c": 1, "d": 1}) == {"a": 3, "b": 2, "c": 2, "d": 2}
    assert _seats(5, {"a": 170, "b": 110, "c": 60}) == {"a": 2, "b": 2, "c": 1}
    assert _seats(12, {"a": 8, "b": 8, "c": 10}) == {"a": 4, "b": 4, "c": 4}


def test_webster_exact_ties_with_huge_votes() -> None:
    # 3v/3 == v/1 exactly, even where floats could not tell nearby values apart.
    big = 2**62 + 1
    assert _seats(1, {"a": 3 * big, "b": big}, {"a": 1}) == {"a": 1, "b": 1}
    assert _seats(1, {"a": 3 * big + 1, "b": big}, {"a": 1}) == {"a": 2, "b": 0}


def test_fnv1a_and_uid_tie_breaker() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968
    odd = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"
    weights = [ClusterWeight("A", 1), ClusterWeight("B", 1)]
    assert fnv1a_32(odd.encode()) & 1 == 1
    assert dispense_by_weight(1, weights, (), odd) == [TargetCluster("A", 0), TargetCluster("B", 1)]
    assert dispense_by_weight(1, weights, (), "") == [TargetCluster("A", 1), TargetCluster("B", 0)]
    assert tie_breaker_by_uid("") is tie_breaker_by_uid("4858ca61-3ff8-4095-8267-f3d059d8074c")


votes_st = st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 50), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(votes_st, st.integers(0, 60))
def test_webster_sums_and_is_never_negative(votes: dict[str, int], seats: int) -> None:
    result = _seats(seats, votes)
    assert set(result) == set(votes)
    assert all(value >= 0 for value in result.values())
    assert sum(result.values()) == seats


@settings(max_examples=100, deadline=None)
@given(votes_st, st.integers(0, 40), st.data())
def test_webster_is_monotone_in_votes_and_seats(
    votes: dict[str, int], seats: int, data: st.DataObject
) -> None:
    base = _seats(seats, votes)
    more_seats = _seats(seats + 1, votes)
    assert all(more_seats[name] >= base[name] for name in votes)
    name = data.draw(st.sampled_from(sorted(votes)))
    richer = dict(votes, **{name: votes[name] + data.draw(st.integers(1, 30))})
    assert _seats(seats, richer)[name] >= base[name]


@settings(max_examples=100, deadline=None)
@given(votes_st, st.integers(1, 40), st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 9)))
def test_dispenser_adds_exactly_the_new_replicas(
    votes: dict[str, int], replicas: int, init: dict[str, int]
) -> None:
    weights = [ClusterWeight(name, vote) for name, vote in votes.items()]
    initial = [TargetCluster(name, seats) for name, seats in init.items()]
    result = dispense_by_weight(replicas, weights, initial, "uid")
    expected_total = sum(init.values()) + (replicas if sum(votes.values()) else 0)
    assert sum(target.replicas for target in result) == expected_total
    assert all(target.replicas >= 0 for target in result)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 30), max_size=8),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 6), max_size=8),
    st.integers(0, 40),
    st.booleans(),
)
def test_fast_webster_agrees_with_exact_webster(
    votes: dict[str, int], initial: dict[str, int], seats: int, descending: bool
) -> None:
    names = list(dict.fromkeys([*initial, *votes]))
    assume(names)
    exact_order = by_seats_then_name_descending if descending else by_seats_then_name_ascending
    fast = webster._allocate_by_keys(seats, names, votes, initial, descending)
    exact = webster._allocate_by_entries(seats, names, votes, initial, exact_order)
    assert fast == exact


# -- strategies ----------------------------------------------------------------------------------------------


def _clusters(*names: str, allocatable: int = 0) -> list[ClusterDetail]:
    return [
        ClusterDetail(
            name,
            allocatable_replicas=allocatable,
            available_replicas=allocatable,
            cluster={"name": name, "labels": {"tier": name[-1]}},
        )
        for name in names
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), st.integers(0, 100))
def test_static_division_sums_to_replicas(weights: list[int], replicas: int) -> None:
    names = [f"member{i}" for i in range(len(weights))]
    preference = {
        "staticWeightList": [
            {"targetCluster": {"clusterNames": [name]}, "weight": weight}
            for name, weight in zip(names, weights, strict=True)
        ]
    }
    result = assign_by_static_weight(_clusters(*names), preference, replicas, "")
    assert sum(target.replicas for target in result) == replicas
    if any(weights):
        assert {target.name for target in result} == {n for n, w in zip(names, weights, strict=True) if w > 0}


def test_static_weight_rules_use_label_selectors() -> None:
    preference = {
        "staticWeightList": [
            {"targetCluster": {"labelSelector": {"matchLabels": {"tier": "1"}}}, "weight": 3},
            {"targetCluster": {"clusterNames": ["member2"]}, "weight": 1},
        ]
    }
    result = assign_by_static_weight(_clusters("member1", "member2", "member3"), preference, 8, "")
    assert result == [TargetCluster("member1", 6), TargetCluster("member2", 2)]


def test_strategy_of_placements() -> None:
    assert strategy_of({}) is Strategy.DUPLICATED
    divided = {"replicaSchedulingType": "Divided"}
    assert strategy_of({"replicaScheduling": {**divided, "replicaDivisionPreference": "Aggregated"}}) is (
        Strategy.AGGREGATED
    )
    weighted = {**divided, "replicaDivisionPreference": "Weighted"}
    assert strategy_of({"replicaScheduling": weighted}) is Strategy.STATIC_WEIGHT
    dynamic = {**weighted, "weightPreference": {"dynamicWeight": "AvailableReplicas"}}
    assert strategy_of({"replicaScheduling": dynamic}) is Strategy.DYNAMIC_WEIGHT
    with pytest.raises(
        SchedulingError,
        match="unsupported replica scheduling strategy, replicaSchedulingType: "
        "Divided, replicaDivisionPreference: , please",
    ):
        strategy_of({"replicaScheduling": divided})


def test_scale_up_error_is_wrapped_and_keeps_its_kind() -> None:
    spec = BindingSpecView(replicas=10)
    with pytest.raises(UnschedulableError) as caught:
        assign_by_dynamic(Strategy.DYNAMIC_WEIGHT, _clusters("member1", allocatable=3), spec)
    assert caught.value.kind == "Unschedulable"
    assert (
        caught.value.message
        == "failed to scale up: Clusters available replicas 3 are not enough to schedule."
    )


def test_fresh_mode_redivides_everything() -> None:
    previous = (TargetCluster("member1", 9), TargetCluster("member2", 1))
    spec = BindingSpecView(replicas=10, previous=previous, reschedule_triggered_at="2024-05-02T00:00:00Z")
    placement = {
        "replicaScheduling": {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {"dynamicWeight": "AvailableReplicas"},
        }
    }
    clusters = _clusters("member1", "member2", allocatable=0)
    steady = assign_replicas(
        clusters, spec, placement, {"lastScheduledTime": "2024-05-03T00:00:00Z"}, FeatureGates()
    )
    assert steady == [{"name": "member1", "replicas": 9}, {"name": "member2", "replicas": 1}]
    fresh = assign_replicas(
        clusters, spec, placement, {"lastScheduledTime": "2024-05-01T00:00:00Z"}, FeatureGates()
    )
    assert fresh == [{"name": "member1", "replicas": 9}, {"name": "member2", "replicas": 1}]
    more = _clusters("member1", "member2", allocatable=10)
    fresh = assign_replicas(
        more, spec, placement, {"lastScheduledTime": "2024-05-01T00:00:00Z"}, FeatureGates()
    )
    assert fresh == [{"name": "member1", "replicas": 6}, {"name": "member2", "replicas": 4}]


def test_reschedule_required_needs_both_times_and_strict_order() -> None:
    assert not reschedule_required(None, "2024-01-01T00:00:00Z")
    assert not reschedule_required("2024-01-01T00:00:00Z", None)
    assert not reschedule_required("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    assert reschedule_required("2024-01-01T00:00:01Z", "2024-01-01T00:00:00Z")


def test_zero_replica_workload_with_requirements_is_removed_everywhere() -> None:
    spec = BindingSpecView(replicas=0, replica_requirements={"resourceRequest": {"cpu": "1"}})
    assert assign_replica_targets(_clusters("member1", "member2"), spec, {}, None, FeatureGates()) == []


def test_overflow_tier_errors_abort() -> None:
    placement = {
        "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
        "clusterAffinities": [
            {
                "affinityName": "primary",
                "clusterNames": ["member1"],
                "overflowAffinities": [{"affinityName": "spill", "clusterNames": ["member2"]}],
            }
        ],
    }
    clusters = [
        ClusterDetail("member1", allocatable_replicas=4, available_replicas=4, overflow_order=0),
        ClusterDetail("member2", allocatable_replicas=2, available_replicas=2, overflow_order=1000),
    ]
    status = {"schedulerObservingAffinityName": "primary"}
    result = assign_replicas(clusters, BindingSpecView(replicas=6), placement, status, FeatureGates())
    assert result == [{"name": "member1", "replicas": 4}, {"name": "member2", "replicas": 2}]
    with pytest.raises(UnschedulableError) as caught:
        assign_replicas(clusters, BindingSpecView(replicas=7), placement, status, FeatureGates())
    assert caught.value.message == "Clusters available replicas are not enough to schedule."


def test_merge_keeps_old_entries_missing_from_new() -> None:
    old = [TargetCluster("a", 2), TargetCluster("b", 3)]
    assert merge_target_clusters(old, [TargetCluster("b", 1)]) == [
        TargetCluster("b", 4),
        TargetCluster("a", 2),
    ]


# -- Go sort order -------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=120))
def test_go_sort_sorts(values: list[int]) -> None:
    assert go_sort(values, lambda a, b: a < b) == sorted(values)
    items = list(enumerate(values))
    ordered = go_sort_by_key_desc(items, lambda item: item[1])
    assert [value for _, value in ordered] == sorted(values, reverse=True)
    assert sorted(ordered) == items


# -- feature gates -------------------------------------------------------------------------------------------


def test_feature_gates_defaults_and_parsing() -> None:
    gates = FeatureGates()
    assert gates.enabled("CustomizedClusterResourceModeling")
    assert not gates.enabled("MultiplePodTemplatesScheduling")
    parsed = FeatureGates.parse(" MultiplePodTemplatesScheduling=true,GracefulEviction=false ")
    assert parsed.enabled("MultiplePodTemplatesScheduling") and not parsed.enabled("GracefulEviction")
    assert parsed == FeatureGates.from_mapping(
        {"GracefulEviction": False, "MultiplePodTemplatesScheduling": True}
    )
    assert FeatureGates.parse("AllAlpha=true").enabled("SchedulingOvercommitProtection")
    assert FeatureGates.parse("AllAlpha=true,WorkloadAffinity=false").enabled("WorkloadAffinity") is False


@pytest.mark.parametrize("text", ["Nope=true", "Failover=maybe", "Failover"])
def test_feature_gates_reject_bad_settings(text: str) -> None:
    with pytest.raises(FeatureGateError) as caught:
        FeatureGates.parse(text)
    if text.startswith("Nope"):
        assert "SchedulingOvercommitProtection" in str(caught.value)
