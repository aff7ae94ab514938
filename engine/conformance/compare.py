"""Comparisons shared by the vector ops: deep equality with quantities by value, errors, target lists."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ExpectedError", "check_error", "deep_diff", "same_quantity", "targets_diff"]


class ExpectedError(Exception):
    """An error an op reports as its answer: ``kind`` is Karmada's (FitError, Unschedulable, Error, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def same_quantity(actual: Any, expected: Any) -> bool:
    """Whether two quantity spellings (strings or JSON numbers) have the same value."""
    from kpl.engine.quantity import QuantityError, parse_quantity

    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    if not isinstance(actual, (str, int, float)) or not isinstance(expected, (str, int, float)):
        return False
    try:
        return parse_quantity(str(actual)) == parse_quantity(str(expected))
    except QuantityError:
        return False


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def deep_diff(actual: Any, expected: Any, *, quantities: bool = True, path: str = "$") -> str | None:
    """The first difference between ``actual`` and ``expected``, or ``None``.

    With ``quantities`` two scalars that differ as text but parse as equal Kubernetes quantities
    are equal (``2048m`` == ``2.048``), as the vector conventions say.
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object {_show(expected)}, got {_show(actual)}"
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual:
                return f"{path}.{key}: missing, expected {_show(expected[key])}"
            if key not in expected:
                return f"{path}.{key}: unexpected {_show(actual[key])}"
            found = deep_diff(actual[key], expected[key], quantities=quantities, path=f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, Sequence) or isinstance(actual, str):
            return f"{path}: expected a list {_show(expected)}, got {_show(actual)}"
        if len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items {_show(expected)}, got {len(actual)} {_show(actual)}"
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            found = deep_diff(left, right, quantities=quantities, path=f"{path}[{index}]")
            if found:
                return found
        return None
    if actual == expected and type(actual) is type(expected):
        return None
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)) and not isinstance(
        actual, bool
    ) and not isinstance(expected, bool) and actual == expected:
        return None
    if quantities and same_quantity(actual, expected):
        return None
    return f"{path}: expected {_show(expected)}, got {_show(actual)}"


def check_error(actual: ExpectedError | None, expected: Mapping[str, Any]) -> str | None:
    """Compare a produced error with ``{kind, message?, message_contains?}``."""
    if actual is None:
        return f"expected error {_show(dict(expected))}, got success"
    kind = expected.get("kind")
    if kind and kind != actual.kind:
        return f"expected error kind {kind}, got {actual.kind}: {actual.message}"
    message = expected.get("message")
    if message is not None and message != actual.message:
        return f"expected message {message!r}, got {actual.message!r}"
    contains = expected.get("message_contains")
    if contains is not None and contains not in actual.message:
        return f"expected message containing {contains!r}, got {actual.message!r}"
    return None


def _target_key(target: Mapping[str, Any]) -> str:
    return _show(target)


def targets_diff(actual: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]], *,
                 ordered: bool = False) -> str | None:
    """Compare TargetCluster lists, as unordered sets unless ``ordered``."""
    left = list(actual) if ordered else sorted(actual, key=_target_key)
    right = list(expected) if ordered else sorted(expected, key=_target_key)
    return deep_diff(left, right)
