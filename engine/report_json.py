"""The JSON placement report, written fast and in pieces, byte for byte what ``json.dumps`` gives.

``json.dumps(..., indent=2)`` runs the standard library's pure-Python encoder (its C encoder does not
indent), which dominates ``kpl plan -o json`` on a large fleet. :func:`iter_report_json` yields the same
text binding by binding, so it can be streamed to a file. The per-cluster explanations are written once
(:func:`kpl.engine.report.index_explanations`: a table of distinct explanations, sets of them, and each
binding's changes), and each binding's change text is cached by the identity of the shared explanation.

:func:`encode` is the general encoder (``indent=2``, ``sort_keys``, ``ensure_ascii=False``); it is
checked against ``json.dumps`` in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from kpl.engine.report import (
    BindingReport,
    ClusterReport,
    ExplanationIndex,
    PlacementReport,
    ResourceRef,
    index_explanations,
    report_to_json,
)
from kpl.engine.scheduler.pipeline import ClusterExplanation
from kpl.engine.scheduler.types import TargetCluster

__all__ = ["Raw", "encode", "iter_report_json", "render_report_json", "write_report_json"]

_STRING: Callable[[str], str] = json.encoder.encode_basestring
_T = TypeVar("_T")
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
    """A binding's changes and target lists as text, each distinct entry encoded once (by value), each list
    object joined once (the scheduler and the index share equal lists; the report keeps them alive)."""

    __slots__ = ("by_id", "changes", "kept", "lists", "shared", "targets")

    def __init__(self) -> None:
        self.changes: dict[tuple[str, bool, int | None], str] = {}
        self.targets: dict[Any, str] = {}
        self.shared: dict[Any, str] = {}
        self.by_id: dict[int, str] = {}  # id of an explanation or target met -> its text
        self.kept: list[Any] = []  # every object in by_id, so its id stays its own
        self.lists: dict[int, tuple[Any, str]] = {}  # id of a list met -> (the list, its text)

    def once(self, value: _T | None, to_json: Callable[[_T], Any]) -> str:
        """``to_json(value)`` as it sits in a binding (three containers deep), encoded once per value."""
        if value is None:
            return "null"
        text = self.shared.get(value)
        if text is None:
            text = self.shared[value] = encode(to_json(value), 3)
        return text

    def changed(self, explanations: Sequence[ClusterExplanation]) -> str:
        """A binding's changes, as the list sits in the binding (four containers deep)."""
        if not explanations:
            return "[]"
        return self._joined(explanations, self._change, _CHANGES_OPEN, _CHANGES_SEP, _CHANGES_CLOSE)

    def _joined(self, items: Sequence[Any], make: Callable[[Any], str], opening: str, separator: str,
                closing: str) -> str:
        """A list's text, joined once per list object; each item's text found by identity or made."""
        known = self.lists.get(id(items))
        if known is not None and known[0] is items:
            return known[1]
        parts: list[str | None] = list(map(self.by_id.get, map(id, items)))
        if None in parts:
            _fill(items, parts, make)
        text = opening + separator.join(cast("list[str]", parts)) + closing
        self.lists[id(items)] = (items, text)
        return text

    def _change(self, explanation: ClusterExplanation) -> str:
        key = (explanation.name, explanation.selected, explanation.replicas)
        text = self.changes.get(key)
        if text is None:
            text = self.changes[key] = _CHANGE % (_STRING(explanation.name), _optional(explanation.replicas),
                                                  "true" if explanation.selected else "false")
        self.by_id[id(explanation)] = text
        self.kept.append(explanation)
        return text

    def listed(self, targets: Sequence[TargetCluster] | None) -> str:
        """A binding's target list (``clusters``, ``previousClusters``) as it sits in the binding."""
        if targets is None:
            return "null"
        if not targets:
            return "[]"
        return self._joined(targets, self._target, _TARGETS_OPEN, _TARGETS_SEP, _TARGETS_CLOSE)

    def _target(self, target: TargetCluster) -> str:
        key = (target.name, target.replicas) if target.components is None else target
        text = self.targets.get(key)
        if text is None:
            text = self.targets[key] = _target_text(target)
        self.by_id[id(target)] = text
        self.kept.append(target)
        return text


def _fill(items: Sequence[Any], parts: list[str | None], make: Callable[[Any], str]) -> None:
    """Make the texts not found (the Nones), found by the list's C search: Python work only for new items."""
    at = parts.index(None)
    try:
        while True:
            parts[at] = make(items[at])
            at = parts.index(None, at + 1)
    except ValueError:
        return


_CHANGE = "{" + ",".join("\n" + _INDENT * 6 + f'"{key}": %s' for key in ("cluster", "replicas", "selected")) + (
    "\n" + _INDENT * 5 + "}")
"""One change as it sits in a binding's list (five containers deep), keys sorted as :func:`encode` sorts them."""
_CHANGES_OPEN, _CHANGES_SEP, _CHANGES_CLOSE = "[\n" + _INDENT * 5, ",\n" + _INDENT * 5, "\n" + _INDENT * 4 + "]"
_TARGETS_OPEN, _TARGETS_SEP, _TARGETS_CLOSE = "[\n" + _INDENT * 4, ",\n" + _INDENT * 4, "\n" + _INDENT * 3 + "]"
_TARGET_INNER = "\n" + _INDENT * 5


def _target_text(target: TargetCluster) -> str:
    """One ``spec.clusters`` entry as it sits in a binding's list (four containers deep)."""
    if target.components is not None:
        return encode(target.to_api(), 4)
    return ("{" + _TARGET_INNER + '"name": ' + _STRING(target.name) + "," + _TARGET_INNER + '"replicas": '
            + int.__repr__(target.replicas) + "\n" + _INDENT * 4 + "}")


def _optional(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def _optional_text(value: str) -> str:
    return _STRING(value) if value else "null"


_TABLE_INNER = "\n" + _INDENT * 3


def _explanation_text(found: ClusterExplanation) -> str:
    """One entry of ``clusterExplanations`` (two containers deep), keys sorted as :func:`encode` sorts them."""
    values = (_optional(found.allocatable_replicas), _optional(found.available_replicas), _STRING(found.name),
              "true" if found.skipped_deleting else "false", _optional_text(found.filter_plugin),
              _optional(found.overflow_order), _optional_text(found.reason), _optional(found.replicas),
              _optional(found.score), "true" if found.selected else "false")
    return ("{" + _TABLE_INNER + ("," + _TABLE_INNER).join(
        key + value for key, value in zip(_TABLE_KEYS, values, strict=True)) + "\n" + _INDENT * 2 + "}")


_TABLE_KEYS = tuple(f'"{key}": ' for key in ("allocatableReplicas", "availableReplicas", "cluster", "deleting",
                                              "filter", "overflowOrder", "reason", "replicas", "score", "selected"))


def _numbers(values: Sequence[int], level: int) -> str:
    if not values:
        return "[]"
    inner = "\n" + _INDENT * (level + 1)
    return "[" + inner + ("," + inner).join(map(str, values)) + "\n" + _INDENT * level + "]"


def _items(report: PlacementReport) -> list[tuple[str, Any]]:
    top = report_to_json(replace(report, bindings=()))
    top["summary"] = report.summary()
    return sorted(top.items())


_BINDING_KEYS = ("affinityName", "clusters", "components", "condition", "error", "explanations", "interpretation",
                 "kind", "name", "namespace", "policy", "previousClusters", "replicas", "resource", "trigger")
_BINDING = "{" + ",".join("\n" + _INDENT * 3 + f'"{key}": %s' for key in _BINDING_KEYS) + "\n" + _INDENT * 2 + "}"
_RESOURCE = "{" + ",".join("\n" + _INDENT * 4 + f'"{key}": %s' for key in (
    "apiVersion", "kind", "name", "namespace")) + "\n" + _INDENT * 3 + "}"
_REFERENCE = "{\n" + _INDENT * 4 + '"changes": %s,\n' + _INDENT * 4 + '"set": %d\n' + _INDENT * 3 + "}"


def _binding_text(binding: BindingReport, reference: str, cache: _ExplanationText) -> str:
    """One binding (two containers deep) as :func:`encode` writes ``binding.to_json(Raw(reference))``; the
    parts bindings share (policy, condition, error, interpretation, target lists) are encoded once per
    distinct value."""
    interpretation = binding.interpretation
    return _BINDING % (
        _STRING(binding.affinity_name), cache.listed(binding.clusters),
        encode([{"name": n, "replicas": r} for n, r in binding.components], 3) if binding.components else "[]",
        cache.once(binding.condition, lambda c: c.to_api()), cache.once(binding.error, lambda e: e.to_api()),
        reference,
        "null" if interpretation is None else cache.once(
            (interpretation.operation, interpretation.origin, interpretation.error),
            lambda i: {"operation": i[0], "origin": i[1], "error": i[2]}),
        _STRING(binding.kind), _STRING(binding.name), _STRING(binding.namespace),
        cache.once(binding.policy, lambda p: p.to_json()), cache.listed(binding.previous),
        int.__repr__(binding.replicas), _resource_text(binding.resource),
        "null" if binding.trigger is None else _STRING(binding.trigger),
    )


def _resource_text(resource: ResourceRef) -> str:
    values = (resource.api_version, resource.kind, resource.name, resource.namespace)
    if all(type(value) is str for value in values):
        return _RESOURCE % tuple(map(_STRING, values))
    return encode(resource.to_json(), 3)


def _bindings(report: PlacementReport, index: ExplanationIndex) -> Iterator[str]:
    cache = _ExplanationText()
    for position, binding in enumerate(report.bindings):
        found = index.references[position]
        reference = "null"
        if found is not None:
            reference = _REFERENCE % (cache.changed(found[1]), found[0])
        yield _binding_text(binding, reference, cache)


def _sets(index: ExplanationIndex) -> Iterator[str]:
    for number, found in enumerate(index.sets):
        yield encode({"explanations": Raw(_numbers(found, 3)), "id": number}, 2)


def _table(index: ExplanationIndex) -> Iterator[str]:
    for found in index.table:
        yield _explanation_text(found)


_CLUSTER = "{" + ",".join("\n" + _INDENT * 3 + f'"{key}": %s' for key in (
    "bindings", "cluster", "free", "replicas", "requests")) + "\n" + _INDENT * 2 + "}"


def _cluster_text(cluster: ClusterReport) -> str:
    """One entry of ``clusters`` (two containers deep) as :func:`encode` writes ``cluster.to_json()``."""
    return _CLUSTER % (_strings(cluster.bindings, 3), _STRING(cluster.name),
                       "null" if cluster.free is None else _quantities(cluster.free, 3),
                       int.__repr__(cluster.replicas), _quantities(cluster.requests, 3))


def _strings(values: Sequence[str], level: int) -> str:
    if not values:
        return "[]"
    inner = "\n" + _INDENT * (level + 1)
    return "[" + inner + ("," + inner).join(map(_STRING, values)) + "\n" + _INDENT * level + "]"


def _quantities(values: Mapping[str, Any], level: int) -> str:
    if not values:
        return "{}"
    inner = "\n" + _INDENT * (level + 1)
    return "{" + inner + ("," + inner).join(
        _STRING(name) + ": " + _STRING(str(value)) for name, value in sorted(values.items())) + (
        "\n" + _INDENT * level + "}")


def _listed(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces (items one container deep) as a JSON list, in pieces."""
    empty = True
    for piece in pieces:
        yield ("[" if empty else ",") + "\n" + _INDENT * 2 + piece
        empty = False
    yield "[]" if empty else "\n" + _INDENT + "]"


def iter_report_json(report: PlacementReport) -> Iterator[str]:
    """The JSON report (as :func:`kpl.engine.report.render_json` gives it) in pieces, in order."""
    index = index_explanations(report.bindings)
    streamed: dict[str, Callable[[], Iterable[str]]] = {
        "bindings": lambda: _bindings(report, index), "clusterExplanations": lambda: _table(index),
        "explanationSets": lambda: _sets(index), "clusters": lambda: map(_cluster_text, report.clusters)}
    inner = "\n" + _INDENT
    yield "{"
    for position, (key, value) in enumerate(_items(report)):
        yield ("" if position == 0 else ",") + inner + _STRING(key) + ": "
        if key in streamed:
            yield from _listed(streamed[key]())
        else:
            yield encode(value, 1)
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
