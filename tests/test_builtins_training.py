"""Built-ins added for the Kubeflow and Ray rules (`prune`, `from_items`, `resource_fold`, `now`) and the
single-pass removal of empty tables in :func:`kpl.engine.values.to_output`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.builtins import FUNCTIONS
from kpl.engine.values import EvalError, to_output

prune = FUNCTIONS["prune"][2]
from_items = FUNCTIONS["from_items"][2]
resource_fold = FUNCTIONS["resource_fold"][2]
resource_add = FUNCTIONS["resource_add"][2]
now = FUNCTIONS["now"][2]


# ------------------------------------------------------------------------------------ prune


def test_prune_drops_listed_scalars_and_tables_left_empty() -> None:
    status = {
        "replicaStatuses": {"Master": {"active": 0, "failed": 0, "succeeded": 2}, "Worker": {"active": 0}},
        "startTime": "",
        "duration": "0s",
        "suspended": False,
        "conditions": [{"type": "Created", "reason": ""}, {"message": ""}],
    }
    assert prune(status, [0, "", "0s"]) == {
        "replicaStatuses": {"Master": {"succeeded": 2}},
        "suspended": False,
        "conditions": [{"type": "Created"}],
    }


def test_prune_without_values_only_removes_empty_tables() -> None:
    assert prune({"a": 0, "b": "", "c": {}, "d": [{}], "e": {"f": []}}) == {"a": 0, "b": ""}


def test_prune_gives_null_when_nothing_is_left() -> None:
    assert prune({"a": {"b": 0}, "c": []}, [0]) is None
    assert prune({}) is None
    assert prune(0, [0]) is None


def test_prune_compares_like_lua_equality() -> None:
    # false is not 0, "0" is not 0, and 0.0 is 0
    assert prune({"a": False, "b": "0", "c": 0.0}, [0]) == {"a": False, "b": "0"}


@settings(max_examples=80, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["", "0s", "x"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                 max_size=3), max_leaves=12))
def test_prune_leaves_no_empty_table_and_no_dropped_value(value: Any) -> None:
    def check(node: Any) -> None:
        if isinstance(node, dict):
            assert node and all(v is not None for v in node.values())
            for item in node.values():
                check(item)
        elif isinstance(node, list):
            assert node
            for item in node:
                check(item)
        else:
            assert node is not None and node not in ("", "0s") and not (type(node) is int and node == 0)

    pruned = prune(value, [0, "", "0s"])
    if pruned is not None:
        check(pruned)
    assert prune(pruned, [0, "", "0s"]) == pruned


# ------------------------------------------------------------------------------------ from_items


def test_from_items_is_the_inverse_of_items() -> None:
    obj = {"Launcher": {"active": 1}, "Worker": {"active": 2}}
    assert from_items(FUNCTIONS["items"][2](obj)) == obj


def test_from_items_later_key_wins_and_nulls_are_left_out() -> None:
    assert from_items([["a", 1], ["b", None], ["a", 2]]) == {"a": 2}
    assert from_items(None) == {}


@pytest.mark.parametrize("pairs", [[["a"]], [[1, 2]], ["ab"], [["a", 1, 2]]])
def test_from_items_rejects_malformed_pairs(pairs: Any) -> None:
    with pytest.raises(EvalError):
        from_items(pairs)


# ------------------------------------------------------------------------------------ resource_fold


def test_resource_fold_adds_step_by_step_from_the_start() -> None:
    assert resource_fold("0", ["500m", "250m", "250m"]) == "1"
    assert resource_fold("0", ["2Gi", "512Mi", "512Mi"]) == "3Gi"
    assert resource_fold("0", []) == "0"


def test_resource_fold_rereads_each_step_so_formats_can_differ_from_one_addition() -> None:
    # 0.5Ki prints as "512", which reads back as a decimal quantity: the decimal format then sticks.
    assert resource_fold("0", ["0.5Ki", "1023.5Ki"]) == "1048576"
    assert resource_add("0", "0.5Ki", "1023.5Ki") == "1Mi"


def test_resource_fold_fails_on_a_value_that_is_not_a_quantity() -> None:
    with pytest.raises(EvalError):
        resource_fold("0", ["1", "lots"])


# ------------------------------------------------------------------------------------ now


def test_now_is_a_utc_timestamp_with_whole_seconds() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now())


# ------------------------------------------------------------------------------------ to_output


def test_to_output_removes_empty_tables_once_like_karmadas_conversion() -> None:
    # A field holding an empty table goes; a parent emptied by that removal stays as {}.
    value = {"status": {"conditions": [], "replicaStatuses": {}}, "spec": {"a": {"b": None}}, "n": 1.0}
    assert to_output(value, drop_empty=True) == {"status": {}, "spec": {}, "n": 1}
    assert to_output(value) == {"status": {"conditions": [], "replicaStatuses": {}}, "spec": {"a": {}}, "n": 1}


def test_to_output_removes_empty_tables_inside_lists() -> None:
    assert to_output({"items": [{}, {"a": 1}, []]}, drop_empty=True) == {"items": [{"a": 1}]}
