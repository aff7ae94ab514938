"""Available-replica estimation: general estimator, resource models, component sets, combination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.conformance.registry import lookup
from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.component_sets import general_max_component_sets
from kpl.engine.scheduler.estimator import (
    MAX_INT32,
    ClusterCapacity,
    ReplicaDemand,
    general_max_replicas,
    max_available_replicas,
)
from kpl.engine.scheduler.resource_models import NodeGroup, SetComponent, build_model_nodes, simulate_sets
from kpl.engine.scheduler.types import BindingSpecView

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada" / "vectors"
ESTIMATOR_OPS = {
    "general_max_replicas",
    "allowed_pod_number",
    "summary_max_replicas",
    "models_max_replicas",
    "component_sets",
    "models_max_sets",
}


def _cases() -> list[dict[str, Any]]:
    path = VECTORS / "estimator.yaml"
    if not path.exists():
        return []
    return list(yaml.safe_load(path.read_text())["cases"])


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="shared conformance data not present")
def test_every_estimator_op_has_cases_and_an_implementation() -> None:
    ops = {case["op"] for case in CASES}
    assert ops == ESTIMATOR_OPS
    assert all(lookup(op) is not None for op in ops)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_estimator_vector(case: dict[str, Any]) -> None:
    op = lookup(case["op"])
    assert op is not None, f"no vector op {case['op']}"
    assert op(case["input"], case["expected"]) is None


def _cluster(
    name: str, summary: dict[str, Any] | None, models: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    status = {} if summary is None else {"resourceSummary": summary}
    return {"metadata": {"name": name}, "spec": {"resourceModels": models or []}, "status": status}


GATES = FeatureGates()


# -- general estimator ---------------------------------------------------------------------------------------


def test_cpu_in_millis_other_resources_rounded_up() -> None:
    capacity = ClusterCapacity.from_summary(
        "c",
        {
            "allocatable": {"pods": "100", "cpu": "2", "memory": "10"},
            "allocated": {"cpu": "250m", "memory": "1500m"},
        },
    )
    assert (
        general_max_replicas(
            capacity, ReplicaDemand.from_requirements({"resourceRequest": {"cpu": "500m"}}), GATES
        )
        == 3
    )
    # 8.5 bytes left counts as 9; a 1.024-byte request counts as 2 bytes.
    assert (
        general_max_replicas(
            capacity, ReplicaDemand.from_requirements({"resourceRequest": {"memory": "1.024"}}), GATES
        )
        == 4
    )
    assert (
        general_max_replicas(
            capacity, ReplicaDemand.from_requirements({"resourceRequest": {"nvidia.com/gpu": "1"}}), GATES
        )
        == 0
    )


def test_pods_only_and_no_summary() -> None:
    assert general_max_replicas(ClusterCapacity.from_summary("c", None), None, GATES) == 0
    capacity = ClusterCapacity.from_summary("c", {"allocatable": {"pods": "3000000000"}})
    # Karmada converts to int32 without a bound check, so this wraps exactly as it does.
    assert general_max_replicas(capacity, None, GATES) == 3000000000 - 2**32


MODELS = [
    {"grade": 0, "ranges": [{"name": "cpu", "min": "1", "max": "2"}]},
    {
        "grade": 1,
        "ranges": [{"name": "cpu", "min": "2", "max": "4"}, {"name": "memory", "min": "4Gi", "max": "8Gi"}],
    },
    {"grade": 1, "ranges": [{"name": "cpu", "min": "4", "max": "8"}]},
]


def test_model_grades_later_definition_wins_and_counts_sum() -> None:
    groups = build_model_nodes(
        MODELS, [{"grade": 1, "count": 2}, {"grade": 1, "count": 1}, {"grade": 0, "count": 0}]
    )
    assert groups == (NodeGroup(1, 3, {"cpu": 4000, "pods": 110}),)


def test_model_fallbacks() -> None:
    demand = ReplicaDemand.from_requirements({"resourceRequest": {"cpu": "1"}})
    summary = {"allocatable": {"pods": "50", "cpu": "7"}, "allocatableModelings": [{"grade": 0, "count": -1}]}
    # A negative count is an error: fall back to the summary formula.
    assert general_max_replicas(ClusterCapacity.from_summary("c", summary, MODELS), demand, GATES) == 7
    # Models without counted nodes are not an error: nothing fits.
    summary["allocatableModelings"] = [{"grade": 5, "count": 3}]
    assert general_max_replicas(ClusterCapacity.from_summary("c", summary, MODELS), demand, GATES) == 0
    # With the gate off models are not consulted.
    off = FeatureGates.parse("CustomizedClusterResourceModeling=false")
    assert general_max_replicas(ClusterCapacity.from_summary("c", summary, MODELS), demand, off) == 7


# -- component sets ------------------------------------------------------------------------------------------


def test_component_sets_do_not_normalise_formats() -> None:
    summary = {"allocatable": {"pods": "100", "cpu": "64", "memory": "64Gi"}}
    capacity = ClusterCapacity.from_summary("c", summary)
    decimal = [{"name": "a", "replicas": 1, "replicaRequirements": {"resourceRequest": {"memory": "1G"}}}]
    binary = [{"name": "a", "replicas": 1, "replicaRequirements": {"resourceRequest": {"memory": "1Gi"}}}]
    # 1G counts as 10^12 milli-units against 64Gi counted in bytes: not even one set.
    assert general_max_component_sets(capacity, decimal, GATES) == 0
    assert general_max_component_sets(capacity, binary, GATES) == 64


def test_component_sets_without_components_are_bounded_by_pods() -> None:
    capacity = ClusterCapacity.from_summary("c", {"allocatable": {"pods": "7"}})
    assert general_max_component_sets(capacity, [], GATES) == 7
    zero = [{"name": "a", "replicas": 0}]
    assert general_max_component_sets(capacity, zero, GATES) == 7


# -- first-fit simulation against a direct reference ---------------------------------------------------------


def _reference_sets(groups: list[NodeGroup], components: list[SetComponent], upper: int) -> int:
    nodes = [dict(group.capacity) for group in groups for _ in range(group.count)]

    def fit(node: dict[str, int], need: dict[str, int]) -> int:
        return min([node.get("pods", 0)] + [node.get(k, 0) // v for k, v in need.items() if k != "pods"])

    def place(component: SetComponent) -> bool:
        remaining = component.replicas
        for node in nodes:
            if remaining == 0:
                break
            count = min(fit(node, dict(component.per_replica)), remaining)
            for key, amount in component.per_replica.items():
                node[key] = max(node.get(key, 0) - amount * count, 0)
            remaining -= count
        return remaining == 0

    sets = 0
    while sets < upper and all(place(component) for component in components):
        sets += 1
    return sets


shape = st.fixed_dictionaries({"cpu": st.integers(0, 3000), "memory": st.integers(0, 9)})
group_st = st.builds(
    lambda grade, count, cpu, memory, pods: NodeGroup(
        grade, count, {"cpu": cpu, "memory": memory, "pods": pods}
    ),
    st.integers(0, 4),
    st.integers(1, 3),
    st.integers(0, 8000),
    st.integers(0, 30),
    st.integers(0, 12),
)
component_st = st.builds(
    lambda replicas, need: SetComponent(replicas, {"pods": 1, **{k: v for k, v in need.items() if v > 0}}),
    st.integers(1, 4),
    shape,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(group_st, max_size=4), st.lists(component_st, min_size=1, max_size=3), st.integers(0, 25))
def test_simulation_matches_direct_first_fit(
    groups: list[NodeGroup], components: list[SetComponent], upper: int
) -> None:
    assert simulate_sets(groups, components, upper) == _reference_sets(groups, components, upper)


# -- combination ---------------------------------------------------------------------------------------------


def test_non_workload_keeps_max_int32() -> None:
    clusters = [_cluster("a", {"allocatable": {"pods": "10"}}), _cluster("b", None)]
    assert max_available_replicas(clusters, BindingSpecView(replicas=0), GATES) == {
        "a": MAX_INT32,
        "b": MAX_INT32,
    }


def test_combination_takes_the_minimum_and_ignores_unauthentic_answers() -> None:
    clusters = [
        _cluster("a", {"allocatable": {"pods": "10"}}),
        _cluster("b", None),
        _cluster("c", {"allocatable": {"pods": "10", "cpu": "4"}}),
    ]
    spec = {"replicas": 5, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}
    assert max_available_replicas(clusters, spec, GATES) == {"a": 0, "b": 0, "c": 4}
    others = [{"a": -1, "c": 2}]
    assert max_available_replicas(clusters, spec, GATES, other_estimates=others) == {"a": 0, "b": 0, "c": 2}


def test_multi_template_uses_component_sets_only_when_applicable() -> None:
    components = [
        {"name": "jm", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}},
        {"name": "tm", "replicas": 2, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}},
    ]
    pinned = {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}]}
    spec = BindingSpecView(components=tuple(components), placement=pinned)
    clusters = [_cluster("a", {"allocatable": {"pods": "10", "cpu": "7"}})]
    on = FeatureGates.parse("MultiplePodTemplatesScheduling=true")
    assert max_available_replicas(clusters, spec, on) == {"a": 2}
    assert max_available_replicas(clusters, spec, GATES) == {"a": 10}


def test_assumed_workloads_count_only_with_the_gate() -> None:
    clusters = [_cluster("a", {"allocatable": {"pods": "10", "cpu": "4"}})]
    spec = {"replicas": 3, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}
    assumed = {
        "a": [
            {
                "namespace": "x",
                "components": [{"replicas": 3, "replicaRequirements": {"resourceRequest": {"cpu": "1"}}}],
            }
        ]
    }
    assert max_available_replicas(clusters, spec, GATES, assumed=assumed) == {"a": 4}
    gate = FeatureGates.parse("SchedulingOvercommitProtection=true")
    assert max_available_replicas(clusters, spec, gate, assumed=assumed) == {"a": 1}
