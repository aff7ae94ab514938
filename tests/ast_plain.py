"""Test helper: a parsed value with every field, span and type spelled out (AST equality ignores spans)."""

from __future__ import annotations

import dataclasses
from typing import Any

from kpl.dsl.source import Source

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """``value`` as nested tuples naming each type and field; a ``Source`` as its name and text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Source):
            return ("Source", value.name, value.text)
        fields = dataclasses.fields(value)
        return (type(value).__name__, *((f.name, plain(getattr(value, f.name))) for f in fields))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(plain(item) for item in value))
    return (type(value).__name__, value)
