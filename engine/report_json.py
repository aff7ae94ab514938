"""The JSON placement report, written fast and in pieces, byte for byte what ``json.dumps`` gives.

``json.dumps(..., indent=2)`` runs the standard library's pure-Python encoder (its C encoder does not
indent), which dominates ``kpl plan -o json`` on a large fleet: a binding carries one explanation per
cluster. :func:`iter_report_json` yields the same text binding by binding, so it can be streamed to a
file, and renders each explanation once: the scheduler shares equal explanations between bindings (and
whole explanation lists between bindings with the same schedule), and the text is cached by identity.

:func:`encode` is the general encoder (``indent=2``, ``sort_keys``, ``ensure_ascii=False``); it is
checked against ``json.dumps`` in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kpl.engine.report import PlacementReport, _explanation_json, report_to_json
from kpl.engine.scheduler.pipeline import ClusterExplanation

__all__ = ["Raw", "encode", "iter_report_json", "render_report_json", "write_report_json"]

_STRING: Callable[[str], str] = json.encoder.encode_basestring
_INDENT = "  "


@dataclass(frozen=True, slots=True)
class Raw:
    """Text already encoded at the place it is put."""

    text: str


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, float):
        return json.dumps(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return _STRING(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, Raw):
        return value.text
    return None


def encode(value: Any, level: int = 0) -> str:
    """``value`` as ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` writes it when it
    sits ``level`` containers deep."""
    text = _scalar(value)
    if text is not None:
        return text
    inner = "\n" + _INDENT * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = [_STRING(_key(k)) + ": " + encode(v, level + 1) for k, v in sorted(value.items())]
    elif isinstance(value, list | tuple):
        if not value:
            return "[]"
        parts = [encode(item, level + 1) for item in value]
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + inner + ("," + inner).join(parts) + "\n" + _INDENT * level + closing


class _ExplanationText:
    """Explanation lists as text at their place in a binding, cached by the identity of what is shared."""

    __slots__ = ("lists", "single")
    _LEVEL = 4

    def __init__(self) -> None:
        self.single: dict[int, str] = {}
        self.lists: dict[int, str] = {}

    def one(self, explanation: ClusterExplanation) -> str:
        found = self.single.get(id(explanation))
        if found is None:
            found = self.single[id(explanation)] = encode(_explanation_json(explanation), self._LEVEL)
        return found

    def of(self, explanations: Sequence[ClusterExplanation]) -> str:
        found = self.lists.get(id(explanations))
        if found is None:
            if not explanations:
                return "[]"
            inner = "\n" + _INDENT * self._LEVEL
            body = ("," + inner).join([self.one(e) for e in explanations])
            closing = "\n" + _INDENT * (self._LEVEL - 1) + "]"
            found = self.lists[id(explanations)] = "[" + inner + body + closing
        return found


def _items(report: PlacementReport) -> list[tuple[str, Any]]:
    top = report_to_json(replace(report, bindings=()))
    top["summary"] = report.summary()
    return sorted(top.items())


def iter_report_json(report: PlacementReport) -> Iterator[str]:
    """The JSON report (as :func:`kpl.engine.report.render_json` gives it) in pieces, in order."""
    cache = _ExplanationText()
    inner = "\n" + _INDENT
    yield "{"
    for index, (key, value) in enumerate(_items(report)):
        yield ("" if index == 0 else ",") + inner + _STRING(key) + ": "
        if key != "bindings":
            yield encode(value, 1)
        elif not report.bindings:
            yield "[]"
        else:
            for position, binding in enumerate(report.bindings):
                fields = replace(binding, explanations=()).to_json()
                fields["explanations"] = Raw(cache.of(binding.explanations))
                yield ("[" if position == 0 else ",") + "\n" + _INDENT * 2 + encode(fields, 2)
            yield inner + "]"
    yield "\n}\n"


def render_report_json(report: PlacementReport) -> str:
    return "".join(iter_report_json(report))


def write_report_json(report: PlacementReport, write: Callable[[str], Any]) -> None:
    """Stream the JSON report to ``write`` (e.g. a text file's ``write``) without building it whole."""
    pending: list[str] = []
    size = 0
    for piece in iter_report_json(report):
        pending.append(piece)
        size += len(piece)
        if size > 1 << 20:
            write("".join(pending))
            pending, size = [], 0
    write("".join(pending))
