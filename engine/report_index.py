"""The bindings' cluster explanations in the JSON report: a table of distinct explanations, the distinct sets of
them (one table position per cluster) and, per binding, its set plus its own changes.

The scheduler gives a binding's explanations either as a plain tuple or as a
:class:`~kpl.engine.scheduler.marked.MarkedExplanations`: a stage's shared tuple with the binding's own entries
over it. A plain tuple is indexed entry by entry (each object looked up by identity, numbered by value the
first time). A marked list is indexed from its parts: the shared tuple's numbers are found once per tuple, and
a binding then costs its own entries only, while giving exactly the table, sets and changes the entry by
entry walk gives (new explanations are numbered in the same order, sets are told apart by their numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import compress, repeat
from operator import attrgetter, is_
from typing import Any, Protocol, cast

from kpl.engine.scheduler.marked import MarkedExplanations
from kpl.engine.scheduler.pipeline import ClusterExplanation

__all__ = ["ExplanationIndex", "Explained", "change_json", "explanation_json", "index_explanations"]


class Explained(Protocol):
    """What the index reads from a binding's report."""

    @property
    def explanations(self) -> Sequence[ClusterExplanation]: ...


def explanation_json(found: ClusterExplanation) -> dict[str, Any]:
    return {
        "cluster": found.name, "filter": found.filter_plugin or None, "reason": found.reason or None,
        "deleting": found.skipped_deleting, "score": found.score,
        "allocatableReplicas": found.allocatable_replicas, "availableReplicas": found.available_replicas,
        "overflowOrder": found.overflow_order, "selected": found.selected, "replicas": found.replicas,
    }


_Reference = tuple[int, tuple[ClusterExplanation, ...]]
"""A binding's explanations as (explanation set, the entries that differ from it)."""


def change_json(found: ClusterExplanation) -> dict[str, Any]:
    """What a binding's explanation adds to its set's: whether the cluster was selected and its replicas."""
    return {"cluster": found.name, "selected": found.selected, "replicas": found.replicas}


@dataclass(frozen=True, slots=True)
class ExplanationIndex:
    """The bindings' explanations written once. ``table`` holds the distinct explanations with no cluster
    selected; ``sets`` are the distinct lists of them (positions in ``table``, one per cluster, in cluster
    order); ``references`` give, per binding in report order, its set and its own entries (the selected
    clusters and those given replicas), or None when it has no explanations."""

    table: tuple[ClusterExplanation, ...]
    sets: tuple[tuple[int, ...], ...]
    references: tuple[_Reference | None, ...]

    def reference_json(self, position: int) -> dict[str, Any] | None:
        found = self.references[position]
        if found is None:
            return None
        return {"set": found[0], "changes": [change_json(e) for e in found[1]]}

    def sets_json(self) -> list[dict[str, Any]]:
        return [{"id": n, "explanations": list(found)} for n, found in enumerate(self.sets)]

    def table_json(self) -> list[dict[str, Any]]:
        return [explanation_json(e) for e in self.table]


_FIELDS = attrgetter("name", "filter_plugin", "reason", "skipped_deleting", "score", "allocatable_replicas",
                     "available_replicas", "overflow_order")
"""Every field of a ClusterExplanation but ``selected`` and ``replicas``: what its table entry is found by."""


class _Base:
    """What the index knows of one shared tuple: its entries' table numbers (None for an entry not numbered
    yet), the positions still unnumbered, and whether any entry is itself a change (then every list over it
    is walked entry by entry)."""

    __slots__ = ("changing", "missing", "numbers", "tuple")

    def __init__(self, base: tuple[ClusterExplanation, ...], numbers: list[int | None]) -> None:
        self.tuple = base
        self.numbers = numbers
        self.missing = _unnumbered(numbers)
        self.changing = any(found.selected or found.replicas is not None for found in base)

    def refresh(self, known: dict[int, int]) -> None:
        self.numbers = list(map(known.get, map(id, self.tuple)))
        self.missing = _unnumbered(self.numbers)


def _unnumbered(numbers: list[int | None]) -> tuple[int, ...]:
    return tuple(compress(range(len(numbers)), map(is_, numbers, repeat(None))))


class _Indexer:
    """Builds an :class:`ExplanationIndex`; explanations are found by identity first (the scheduler shares
    equal ones), then by value, and a list by identity first, then position by position (a marked list from
    its shared tuple and its own entries)."""

    __slots__ = ("bases", "by_value", "changed", "kept", "lists", "marked", "numbers", "set_ids", "table")

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}  # id of an explanation met -> its table position
        self.changed: set[int] = set()  # ids of explanations met that select their cluster or give replicas
        self.kept: list[ClusterExplanation] = []  # holds every explanation met, so its id stays its own
        self.by_value: dict[tuple[Any, ...], int] = {}
        self.lists: dict[int, tuple[Sequence[ClusterExplanation], _Reference | None]] = {}
        self.set_ids: dict[tuple[int, ...], int] = {}
        self.table: list[ClusterExplanation] = []
        self.bases: dict[int, _Base] = {}  # id of a marked list's shared tuple -> its numbers (holds the tuple)
        self.marked: dict[tuple[int, tuple[int, ...], tuple[int, ...]], int] = {}  # (base, own) -> set

    def _number(self, found: ClusterExplanation) -> int:
        changed = found.selected or found.replicas is not None
        key = _FIELDS(found)
        number = self.by_value.get(key)
        if number is None:
            number = self.by_value[key] = len(self.table)
            self.table.append(replace(found, selected=False, replicas=None) if changed else found)
        self.numbers[id(found)] = number
        self.kept.append(found)
        if changed:
            self.changed.add(id(found))
        return number

    def _fill(self, explanations: Sequence[ClusterExplanation], positions: list[int | None]) -> None:
        """Number the explanations not met before (the Nones), found by the list's C search, so a list that
        shares most of its objects with earlier ones costs Python work only for its new ones."""
        at = positions.index(None)
        try:
            while True:
                positions[at] = self._number(explanations[at])
                at = positions.index(None, at + 1)
        except ValueError:
            return

    def _set(self, numbers: list[int]) -> int:
        key = tuple(numbers)
        number = self.set_ids.get(key)
        if number is None:
            number = self.set_ids[key] = len(self.set_ids)
        return number

    def reference(self, explanations: Sequence[ClusterExplanation]) -> _Reference | None:
        if not explanations:
            return None
        known = self.lists.get(id(explanations))
        if known is not None:
            return known[1]
        if isinstance(explanations, MarkedExplanations):
            result = self._marked(explanations)
        else:
            result = self._plain(explanations)
        self.lists[id(explanations)] = (explanations, result)
        return result

    def _plain(self, explanations: Sequence[ClusterExplanation]) -> _Reference:
        ids = list(map(id, explanations))
        positions: list[int | None] = list(map(self.numbers.get, ids))
        if None in positions:
            self._fill(explanations, positions)
        changes = tuple(compress(explanations, map(self.changed.__contains__, ids)))
        return self._set(cast("list[int]", positions)), changes

    def _marked(self, explanations: MarkedExplanations) -> _Reference:
        """A marked list's reference from its parts where every entry of its shared tuple it does not cover has
        been met (its own entries new or not); else the walk, which numbers the new ones in list order, after
        which the shared tuple's numbers are read again."""
        base = self.bases.get(id(explanations.base))
        if base is None:
            base = self.bases[id(explanations.base)] = _Base(
                explanations.base, list(map(self.numbers.get, map(id, explanations.base))))
        positions, entries = explanations.positions, explanations.entries
        covered = not base.missing or frozenset(positions).issuperset(base.missing)
        if base.changing or not covered:
            result = self._plain(explanations.whole())
            if base.missing:
                base.refresh(self.numbers)
            return result
        own: list[int | None] = list(map(self.numbers.get, map(id, entries)))
        if None in own:
            # Every entry of the tuple this list shows was met, so its new explanations are its own entries:
            # numbered in position order, as the walk would number them.
            self._fill(entries, own)
        key = (id(base.tuple), positions, tuple(cast("list[int]", own)))
        number = self.marked.get(key)
        if number is None:
            numbers = list(base.numbers)
            for position, found in zip(positions, own, strict=True):
                numbers[position] = found
            number = self.marked[key] = self._set(cast("list[int]", numbers))
        return number, tuple(compress(entries, map(self.changed.__contains__, map(id, entries))))


def index_explanations(bindings: Sequence[Explained]) -> ExplanationIndex:
    """Each binding's explanations as a shared set plus its own differences (see :class:`ExplanationIndex`)."""
    indexer = _Indexer()
    references = tuple(indexer.reference(b.explanations) for b in bindings)
    return ExplanationIndex(tuple(indexer.table), tuple(indexer.set_ids), references)
