"""`merge_conditions`: Karmada's folding of member clusters' status conditions into one list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.engine.builtins import FUNCTIONS
from kpl.engine.values import EvalError

merge_conditions = FUNCTIONS["merge_conditions"][2]


def _item(cluster: Any, *conditions: Any) -> dict[str, Any]:
    return {"clusterName": cluster, "status": {"conditions": list(conditions)}}


def _ready(reason: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Ready", "status": "True", "reason": reason, "message": message, **extra}


def test_equal_conditions_fold_into_the_first_with_joined_messages() -> None:
    merged = merge_conditions([
        _item("m1", _ready("Succeeded", "ok", lastTransitionTime="t1")),
        _item("m2", _ready("Succeeded", "fine", lastTransitionTime="t2")),
    ])
    assert merged == [_ready("Succeeded", "m1=ok, m2=fine", lastTransitionTime="t1")]


def test_a_different_reason_or_status_keeps_a_separate_condition_in_first_seen_order() -> None:
    merged = merge_conditions([
        _item("m1", _ready("Failed", "bad")),
        _item("m2", _ready("Succeeded", "ok"), {**_ready("Succeeded", "no"), "status": "False"}),
        _item("m3", _ready("Failed", "worse")),
    ])
    assert [c["message"] for c in merged] == ["m1=bad, m3=worse", "m2=ok", "m2=no"]


def test_conditions_of_one_member_can_fold_together() -> None:
    assert merge_conditions([_item("m1", _ready("A", "x"), _ready("A", "y"))]) == [_ready("A", "m1=x, m1=y")]


def test_members_without_status_or_conditions_add_nothing() -> None:
    assert merge_conditions(None) == []
    assert merge_conditions([]) == []
    assert merge_conditions([{"clusterName": "m1"}, {"clusterName": "m2", "status": {}}]) == []


def test_missing_fields_compare_equal_and_numbers_compare_by_value() -> None:
    merged = merge_conditions([
        _item("m1", {"message": "a", "reason": 1}),
        _item("m2", {"message": "b", "reason": 1.0}),
        _item("m3", {"message": "c", "reason": "1"}),
    ])
    assert [c["message"] for c in merged] == ["m1=a, m2=b", "m3=c"]


def test_the_inputs_are_not_modified() -> None:
    items = [_item("m1", _ready("A", "x")), _item("m2", _ready("A", "y"))]
    merge_conditions(items)
    assert items[0]["status"]["conditions"][0]["message"] == "x"


@pytest.mark.parametrize("items", [
    [_item(None, _ready("A", "x"))],
    [_item("m1", _ready("A", None))],
    [_item("m1", _ready("A", {"nested": True}))],
    [_item("m1", "not a condition")],
    ["not an item"],
])
def test_a_message_or_cluster_name_that_cannot_be_concatenated_is_an_error(items: list[Any]) -> None:
    with pytest.raises(EvalError):
        merge_conditions(items)


_conditions = st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(["Ready", "Reconciling"]), "status": st.sampled_from(["True", "False"]),
    "reason": st.sampled_from(["A", "B"]), "message": st.text(alphabet="xyz", min_size=1, max_size=3),
}), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(_conditions, max_size=4))
def test_every_message_appears_once_and_keys_are_unique(per_member: list[list[dict[str, str]]]) -> None:
    items = [_item(f"m{i}", *conditions) for i, conditions in enumerate(per_member)]
    merged = merge_conditions(items)
    keys = [(c["type"], c["status"], c["reason"]) for c in merged]
    assert len(keys) == len(set(keys))
    parts = [part for c in merged for part in c["message"].split(", ")]
    expected = [f"m{i}={c['message']}" for i, conditions in enumerate(per_member) for c in conditions]
    assert sorted(parts) == sorted(expected)
