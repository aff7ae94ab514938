"""A binding's cluster explanations as a shared list plus the binding's own entries.

Bindings scheduled from one shared stage (:mod:`kpl.engine.scheduler.pipeline`) have the same explanation for
every cluster they do not select: the stage's. Only the selected clusters (with their replicas) and, for a
binding with a previous result or evictions, its own re-filtered clusters differ. :class:`MarkedExplanations`
holds the stage's tuple (one object, shared by all those bindings) and the binding's own entries by fleet
position, and reads as the whole list (``len``, indexing, iteration, equality and hash as the tuple it stands
for), so a binding costs its own entries rather than one entry per cluster of the fleet.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from kpl.engine.scheduler.pipeline import ClusterExplanation

__all__ = ["MarkedExplanations", "overlay", "rebased"]

_POSITION = itemgetter(0)


class MarkedExplanations(Sequence["ClusterExplanation"]):
    """``base`` with ``entries[i]`` in place of ``base[positions[i]]``; ``positions`` ascend, each once."""

    __slots__ = ("base", "entries", "positions")

    def __init__(self, base: tuple[ClusterExplanation, ...], positions: tuple[int, ...],
                 entries: tuple[ClusterExplanation, ...]) -> None:
        self.base = base
        self.positions = positions
        self.entries = entries

    def whole(self) -> tuple[ClusterExplanation, ...]:
        """The list this stands for, as a plain tuple (made on each call)."""
        items = list(self.base)
        for position, entry in zip(self.positions, self.entries, strict=True):
            items[position] = entry
        return tuple(items)

    def own(self) -> dict[int, ClusterExplanation]:
        """The binding's own entries by position."""
        return dict(zip(self.positions, self.entries, strict=True))

    def __len__(self) -> int:
        return len(self.base)

    @overload
    def __getitem__(self, index: int) -> ClusterExplanation: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ClusterExplanation, ...]: ...

    def __getitem__(self, index: int | slice) -> ClusterExplanation | tuple[ClusterExplanation, ...]:
        if isinstance(index, slice):
            return self.whole()[index]
        size = len(self.base)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("explanation index out of range")
        at = bisect_left(self.positions, index)
        if at < len(self.positions) and self.positions[at] == index:
            return self.entries[at]
        return self.base[index]

    def __iter__(self) -> Iterator[ClusterExplanation]:
        return iter(self.whole())

    def __reversed__(self) -> Iterator[ClusterExplanation]:
        return reversed(self.whole())

    def __contains__(self, value: object) -> bool:
        return value in self.whole()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MarkedExplanations):
            if other.base is self.base and other.positions == self.positions and other.entries == self.entries:
                return True
            return self.whole() == other.whole()
        if isinstance(other, tuple):
            return self.whole() == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.whole())

    def __repr__(self) -> str:
        return repr(self.whole())


def _root(found: Sequence[ClusterExplanation]) -> tuple[tuple[ClusterExplanation, ...], dict[int, Any]]:
    if isinstance(found, MarkedExplanations):
        return found.base, found.own()
    return (found if isinstance(found, tuple) else tuple(found)), {}


def _made(base: tuple[ClusterExplanation, ...], own: dict[int, Any]) -> Sequence[ClusterExplanation]:
    if not own:
        return base
    items = sorted(own.items(), key=_POSITION)
    return MarkedExplanations(base, tuple(map(_POSITION, items)), tuple(map(itemgetter(1), items)))


def overlay(found: Sequence[ClusterExplanation], positions: Iterable[int],
            entries: Iterable[ClusterExplanation]) -> Sequence[ClusterExplanation]:
    """``found`` with ``entries`` put at ``positions`` (any order, each once); on a :class:`MarkedExplanations`
    the new entries join (and replace) its own over the same base. Nothing to put gives ``found`` itself."""
    if type(found) is tuple:
        where = list(positions)
        if not where:
            return found
        put = entries if isinstance(entries, list) else list(entries)
        # Sorted by the positions as keys: plain int comparisons (sorting (position, entry) pairs costs about
        # ten times more).
        order = sorted(range(len(where)), key=where.__getitem__)
        return MarkedExplanations(found, tuple(map(where.__getitem__, order)), tuple(map(put.__getitem__, order)))
    base, own = _root(found)
    before = len(own)
    own.update(zip(positions, entries, strict=True))
    if len(own) == before == 0:
        return found
    return _made(base, own)


def rebased(found: Sequence[ClusterExplanation], base: tuple[ClusterExplanation, ...], position: int,
            entry: ClusterExplanation | None) -> Sequence[ClusterExplanation]:
    """``found``'s own entries over ``base``, a list equal to ``found``'s base but at ``position``: there the
    entry is ``entry``, or ``base``'s own when ``entry`` is None."""
    if not isinstance(found, MarkedExplanations):
        items = list(found)
        items[position] = base[position] if entry is None else entry
        return tuple(items)
    own = found.own()
    own.pop(position, None)
    if entry is not None:
        own[position] = entry
    return _made(base, own)
