"""The `match`, `match_all` and `fail` built-ins (used by the batch workload rules)."""

from __future__ import annotations

import pytest

from kpl.engine.builtins import FUNCTIONS
from kpl.engine.values import EvalError, Value


def call(name: str, *args: Value) -> Value:
    return FUNCTIONS[name][2](*args)


def test_match_returns_the_groups_of_the_first_match() -> None:
    assert call("match", "1.5g", r"^(\d+\.?\d*)([a-z]*)$") == ["1.5", "g"]
    assert call("match", "512", r"^(\d+\.?\d*)([a-z]*)$") == ["512", ""]
    assert call("match", "abc12def", r"\d+") == ["12"]


def test_match_without_a_match_is_null() -> None:
    assert call("match", "1g5", r"^(\d+)([a-z]*)$") is None
    assert call("match", "", r"x") is None


def test_match_keeps_character_classes_ascii() -> None:
    assert call("match", "\u0661\u0662", r"^\d+$") is None


def test_match_rejects_bad_input() -> None:
    with pytest.raises(EvalError):
        call("match", 12, r"\d")
    with pytest.raises(EvalError):
        call("match", "x", "(")


def test_match_all_lists_every_match_left_to_right() -> None:
    pattern = r"([0-9.]+)([hms])"
    assert call("match_all", "1h2m3.5s", pattern) == [["1", "h"], ["2", "m"], ["3.5", "s"]]
    assert call("match_all", "100ms", pattern) == [["100", "m"]]
    assert call("match_all", "1.5\u00b5s", pattern) == []
    assert call("match_all", "a1b22", r"\d+") == [["1"], ["22"]]
    with pytest.raises(EvalError):
        call("match_all", None, pattern)


def test_fail_raises_with_the_message() -> None:
    with pytest.raises(EvalError, match="memory unit"):
        call("fail", "memory unit")
    with pytest.raises(EvalError, match="the rule failed"):
        call("fail", None)
    assert FUNCTIONS["fail"][:2] == (1, 1)
