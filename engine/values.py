"""Runtime values of the expression language and their conversions.

Values are JSON-like (``None`` for null or missing, bool, int, float, str, list, dict) plus
:class:`~kpl.engine.quantity.Quantity`. An object literal never holds a null field: like a Lua table,
assigning null removes the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kpl.dsl.source import Span

__all__ = ["EvalError", "Value", "elements", "is_number", "to_output", "truthy", "type_name"]

Value = Any


class EvalError(Exception):
    """An evaluation failure at ``span``; the engine turns it into an error value, never a crash."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def type_name(value: Value) -> str:
    from kpl.engine.quantity import Quantity

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Quantity):
        return "quantity"
    return type(value).__name__


def elements(value: Value, what: str) -> list[Value]:
    """The items of a list, or the values of an object; null is empty. ``what`` names the caller in errors."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return list(value.values())
    raise EvalError(f"{what} needs a list or an object, got {type_name(value)}")


def is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truthy(value: Value, span: Span | None = None) -> bool:
    """Conditions take booleans; null (a missing field) counts as false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise EvalError(f"expected a bool, got {type_name(value)}", span)


def _number_out(value: float) -> int | float:
    if math.isfinite(value) and value == int(value) and abs(value) < 2**63:
        return int(value)
    return value


def to_output(value: Value, *, drop_empty: bool = False, _top: bool = True) -> Value:
    """Turn a value into plain JSON data the way Karmada's Lua bridge would hand it back.

    Quantities become their canonical text, integral floats become ints. With ``drop_empty`` nested
    empty objects and lists disappear (an empty Lua table has no JSON shape Karmada keeps). Like
    Karmada's conversion this looks at each value once, as the script returned it: a field holding an
    empty table is removed, but an object that only becomes empty through those removals stays ``{}``.
    """
    from kpl.engine.quantity import Quantity

    if isinstance(value, float):
        return _number_out(value)
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or (drop_empty and _empty_table(item)):
                continue
            out[str(key)] = to_output(item, drop_empty=drop_empty, _top=False)
        return out
    if isinstance(value, list):
        kept = [item for item in value if not (drop_empty and _empty_table(item))]
        return [to_output(item, drop_empty=drop_empty, _top=False) for item in kept]
    return value


def _empty_table(value: Value) -> bool:
    """Whether ``value`` is an empty table on the Lua side (an object whose fields are all null counts)."""
    if isinstance(value, Mapping):
        return all(item is None for item in value.values())
    return isinstance(value, list) and not value
