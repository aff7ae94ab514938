"""The faster paths of ``kpl plan`` (cluster usage sums, the snapshot's depth and shape checks, stored bindings)
give exactly what the plain ones give."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.bindings import stored_binding
from kpl.engine.report import _ordered_sums, cluster_report
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.types import TargetCluster
from kpl.engine.snapshot import _depth
from kpl.engine.snapshot_schema import _walk, shape_problems

QUANTITIES = ["0", "1", "500m", "250m", "1.5", "2Gi", "512Mi", "1G", "1e3", "100k", "3", 2, 0.5, "1Ki", "0Mi",
              "bad", True, None, "1.024"]
NEGATIVE = ["-1", "-500m", "-1Gi"]


def _spec(cpu: Any, memory: Any, components: list[tuple[int, Any, Any]] | None) -> dict[str, Any]:
    if components is None:
        return {"replicaRequirements": {"resourceRequest": {"cpu": cpu, "memory": memory}}}
    return {"components": [{"name": f"c{n}", "replicas": r, "replicaRequirements": {
        "resourceRequest": {"cpu": c, "memory": m}}} for n, (r, c, m) in enumerate(components)]}


def _placements(draw: Any, values: list[Any]) -> list[tuple[str, dict[str, Any], TargetCluster]]:
    value = st.sampled_from(values)
    components = st.none() | st.lists(st.tuples(st.integers(0, 5), value, value), max_size=3)
    entries = draw(st.lists(st.tuples(value, value, components, st.integers(0, 40)), max_size=12))
    return [(f"b{n}", _spec(c, m, comps), TargetCluster("x", replicas))
            for n, (c, m, comps, replicas) in enumerate(entries)]


@st.composite
def placements(draw: Any, negative: bool = False) -> list[tuple[str, dict[str, Any], TargetCluster]]:
    return _placements(draw, QUANTITIES + (NEGATIVE if negative else []))


def _text(requests: Any) -> dict[str, tuple[str, Any]]:
    return {name: (str(q), q.amount) for name, q in requests.items()}


@settings(max_examples=300, deadline=None)
@given(placements(negative=True))
def test_cluster_sums_equal_the_products_added_in_order(found: list[Any]) -> None:
    report = cluster_report(ClusterCapacity("x"), found)
    assert _text(report.requests) == _text(_ordered_sums(found))
    assert list(report.requests) == list(_ordered_sums(found))


def test_the_sum_takes_the_format_of_its_first_nonzero_term() -> None:
    found = [("a", _spec("0Mi", "0", None), TargetCluster("x", 3)), ("b", _spec("1Ki", "1Gi", None),
             TargetCluster("x", 0)), ("c", _spec("1024", "2Gi", None), TargetCluster("x", 2)),
             ("d", _spec("1Ki", "1G", None), TargetCluster("x", 1))]
    report = cluster_report(ClusterCapacity("x"), found)
    assert _text(report.requests) == _text(_ordered_sums(found))
    assert str(report.requests["cpu"]) == "3072" and str(report.requests["memory"]) == "5294967296"


def test_a_negative_request_falls_back_to_the_ordered_sum() -> None:
    found = [("a", _spec("1Gi", "-1", None), TargetCluster("x", 1)),
             ("b", _spec("-1Gi", "1", None), TargetCluster("x", 1)),
             ("c", _spec("1G", "500m", None), TargetCluster("x", 1))]
    report = cluster_report(ClusterCapacity("x"), found)
    assert str(report.requests["cpu"]) == "1G" and str(report.requests["memory"]) == "500m"


def _plain_depth(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                               max_size=3), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(1, 6))
def test_depth_check_agrees_with_the_plain_walk(value: Any, limit: int) -> None:
    assert _depth(value, limit) == _plain_depth(value, limit)


FIELD_VALUES = st.sampled_from([None, True, 1, -5, 2**40, 1.5, "x", "1Gi", "12Zi", [], ["a"], [1], {}, {"a": "b"},
                                {"a": 1}, [{"name": "m", "replicas": "2"}]])
BINDING_FIELDS = ["replicas", "clusters", "replicaRequirements", "components", "placement", "resource"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ResourceBinding", "Cluster", "PropagationPolicy", "FederatedResourceQuota", "Other"]),
       st.dictionaries(st.sampled_from([*BINDING_FIELDS, "spec", "status", "metadata"]), FIELD_VALUES, max_size=4),
       st.dictionaries(st.sampled_from(["labels", "name", "generation"]), FIELD_VALUES, max_size=2))
def test_compiled_shape_check_finds_what_the_walk_finds(kind: str, spec: dict[str, Any],
                                                        meta: dict[str, Any]) -> None:
    obj = {"kind": kind, "metadata": {"name": "n", **meta}, "spec": spec,
           "status": {"resourceSummary": {"allocatable": spec}}}
    from kpl.engine import snapshot_schema as schema

    walked = list(_walk(obj, schema._ROOTS.get(kind, schema._OTHER_ROOT), ()))
    assert list(shape_problems(obj)) == walked


def test_stored_binding_shares_nested_values_and_leaves_the_input_alone() -> None:
    original = {"kind": "ResourceBinding", "metadata": {"name": "b", "labels": {"a": "b"}},
                "spec": {"placement": {"clusterAffinity": {"clusterNames": ["m1"]}}},
                "status": {"schedulerObservedAffinityName": "x", "conditions": []}}
    before = copy.deepcopy(original)
    stored = stored_binding(original)
    assert original == before
    assert stored["status"] == {"conditions": []}
    assert stored["spec"] == original["spec"] and stored["spec"] is not original["spec"]
    stored["spec"]["clusters"] = [{"name": "m1", "replicas": 1}]
    assert "clusters" not in original["spec"]
