"""The compiled shape checks' C-level passes (string maps and lists, quantity maps, integers) answer as the
walk that locates problems does, on exact and subclassed values alike."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine import snapshot_schema as schema
from kpl.engine.snapshot_schema import shape_problems


class Text(str):
    """A string subclass, as a YAML loader could make."""


VALUES = st.sampled_from([None, True, False, 0, 3, -1, 2**31, 1.5, "x", "1Gi", " 2 ", "12Zi", "", "1e999",
                          Text("1Gi"), Text("bad"), [], ["a"], ["a", 1], [Text("t")], {}, {"a": "b"},
                          {"a": 1}, {"a": Text("b")}])


def _walked(obj: dict[str, Any]) -> list[Any]:
    return list(schema._walk(obj, schema._ROOTS.get(obj["kind"], schema._OTHER_ROOT), ()))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), VALUES, max_size=3),
       st.dictionaries(st.sampled_from(["a", "b"]), VALUES, max_size=2), VALUES, VALUES)
def test_cluster_and_binding_checks_agree_with_the_walk(resources: dict[str, Any], labels: dict[str, Any],
                                                       zones: Any, replicas: Any) -> None:
    cluster = {"kind": "Cluster", "metadata": {"name": "m", "labels": labels},
               "spec": {"zones": zones}, "status": {"resourceSummary": {"allocatable": resources}}}
    binding = {"kind": "ResourceBinding", "metadata": {"name": "b", "annotations": labels},
               "spec": {"replicas": replicas, "replicaRequirements": {"resourceRequest": resources},
                        "placement": {"clusterAffinity": {"clusterNames": zones}}}}
    for obj in (cluster, binding):
        assert list(shape_problems(obj)) == _walked(obj)


@pytest.mark.parametrize("resources", [{"cpu": "1", "memory": "12Zi"}, {"cpu": True}, {"cpu": Text("bad")},
                                       {"cpu": "x" * 200}])
def test_a_bad_quantity_in_a_map_is_found_and_located(resources: dict[str, Any]) -> None:
    cluster = {"kind": "Cluster", "metadata": {"name": "m"},
               "status": {"resourceSummary": {"allocatable": resources}}}
    problems = list(shape_problems(cluster))
    assert problems and problems[0].path[:3] == ("status", "resourceSummary", "allocatable")


def test_good_values_of_every_kind_pass_the_fast_path() -> None:
    cluster = {"kind": "Cluster", "metadata": {"name": "m", "labels": {"a": Text("b")}},
               "spec": {"zones": ["z1", Text("z2")]},
               "status": {"resourceSummary": {"allocatable": {"cpu": " 2 ", "memory": 1, "pods": 1.5}}}}
    assert not list(shape_problems(cluster))
