"""Explanations after selection carried from a shared stage to the stage patched from it for one changed cluster.

A shared stage remembers the explanations after selection per selection and assignment. When one cluster
changes, the patched stage's selections are made again, but where a binding's selected clusters and assigned
replicas come out the same as on the stage it was patched from, its explanations are that stage's with only the
changed cluster's row made again. :class:`CarriedMarks` finds them, indexing the old stage's entries the first
time it is asked (a stage no binding selects from again costs nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kpl.engine.scheduler.types import ClusterDetail

__all__ = ["CarriedMarks", "carried_mark_key"]

MarkKey = tuple[frozenset[str], frozenset[tuple[str, int]]]


def carried_mark_key(selected: Sequence[ClusterDetail], names: Sequence[str], replicas: Sequence[int]) -> MarkKey:
    """What marking reads from a selection and an assignment: the selected names and each assigned name's
    replicas (the last entry of a name counts), in any order."""
    return frozenset([detail.name for detail in selected]), frozenset(dict(zip(names, replicas, strict=True)).items())


class CarriedMarks:
    """The explanations after selection of the stage a patched stage came from; ``position`` is the changed
    cluster's place in the fleet."""

    __slots__ = ("_index", "_marked", "_selections", "position")

    def __init__(self, position: int, marked: Mapping[tuple[Any, ...], Sequence[Any]],
                 selections: Mapping[tuple[Any, ...], Any]) -> None:
        self.position = position
        self._marked, self._selections = marked, selections
        self._index: dict[MarkKey, Sequence[Any]] | None = None

    def find(self, selected: Sequence[ClusterDetail], names: Sequence[str],
             replicas: Sequence[int]) -> Sequence[Any] | None:
        """The old stage's explanations for the same selected clusters and assigned replicas, if it had them."""
        if self._index is None:
            self._index = self._indexed()
        return self._index.get(carried_mark_key(selected, names, replicas))

    def _indexed(self) -> dict[MarkKey, Sequence[Any]]:
        # The old stage's marks are keyed by the identity of one of its selections (kept in ``selections``).
        selections = {id(found): found for found in self._selections.values() if isinstance(found, tuple)}
        index: dict[MarkKey, Sequence[Any]] = {}
        for key, explained in self._marked.items():
            selected = selections.get(key[0]) if len(key) == 3 else None
            if selected is not None:
                index[carried_mark_key(selected, key[1], key[2])] = explained
        return index
