"""Webster (Sainte-Laguë) seat allocation and the dispenser built on it (spec §5.2).

Seats are handed out one at a time to the party with the highest priority ``votes / (2 * seats + 1)``,
where ``seats`` includes any initial seats. Priorities are compared exactly (by cross-multiplication),
so equal ratios are recognised as ties whatever their size. Ties go to the tie-breaker; without one the
party with fewer seats wins, then the smaller name. The scheduler's dispenser uses a tie-breaker chosen
by the parity of the FNV-1a 32-bit hash of the workload UID: fewer seats first, then names ascending
(even hash or empty UID) or descending (odd hash).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kpl.engine.scheduler.types import TargetCluster

__all__ = [
    "ClusterWeight",
    "Party",
    "TieBreaker",
    "allocate_webster_seats",
    "by_seats_then_name_ascending",
    "by_seats_then_name_descending",
    "dispense_by_weight",
    "divide_seats",
    "fnv1a_32",
    "odd_uid",
    "spread_by_target_clusters",
    "tie_breaker_by_uid",
]


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    votes: int
    seats: int


TieBreaker = Callable[[Party, Party], bool]
"""``tie_breaker(a, b)`` is true when ``a`` should get the seat before ``b`` at equal priority."""


@dataclass(frozen=True, slots=True)
class ClusterWeight:
    """A party of the dispenser: a cluster and its (static or dynamic) weight."""

    name: str
    weight: int


def by_seats_then_name_ascending(a: Party, b: Party) -> bool:
    return a.seats < b.seats if a.seats != b.seats else a.name < b.name


def by_seats_then_name_descending(a: Party, b: Party) -> bool:
    return a.seats < b.seats if a.seats != b.seats else a.name > b.name


_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a_32(data: bytes) -> int:
    """The 32-bit FNV-1a hash of ``data``."""
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


_LOW_BITS = bytes(value & 1 for value in range(256))


def odd_uid(uid: str) -> bool:
    """Whether the FNV-1a hash of ``uid`` is odd, without computing the hash.

    Each FNV-1a step xors a byte in and multiplies by an odd prime modulo 2**32; multiplying by an odd
    number keeps the lowest bit, so the hash's lowest bit is the offset basis's (1) xor the lowest bits of
    every byte: the hash is odd when an even number of the bytes are odd."""
    return uid.encode("utf-8").translate(_LOW_BITS).count(1) % 2 == 0


def tie_breaker_by_uid(uid: str) -> TieBreaker:
    """Fewer seats first, then names ascending for an empty UID or an even hash, descending for odd."""
    if uid and odd_uid(uid):
        return by_seats_then_name_descending
    return by_seats_then_name_ascending


class _Entry:
    """A heap entry; ``a < b`` means ``a`` gets the next seat before ``b``."""

    __slots__ = ("name", "seats", "tie_breaker", "votes")

    def __init__(self, name: str, votes: int, seats: int, tie_breaker: TieBreaker | None) -> None:
        self.name = name
        self.votes = votes
        self.seats = seats
        self.tie_breaker = tie_breaker

    def __lt__(self, other: _Entry) -> bool:
        left = self.votes * (2 * other.seats + 1)
        right = other.votes * (2 * self.seats + 1)
        if left != right:
            return left > right
        if self.tie_breaker is not None:
            return self.tie_breaker(self.party(), other.party())
        if self.seats != other.seats:
            return self.seats < other.seats
        return self.name < other.name

    def party(self) -> Party:
        return Party(self.name, self.votes, self.seats)


def allocate_webster_seats(
    new_seats: int,
    votes: Mapping[str, int],
    initial: Mapping[str, int] | None = None,
    tie_breaker: TieBreaker | None = None,
) -> list[Party] | None:
    """Hand out ``new_seats`` seats; every party (voted or initial) is returned, sorted by name.

    A party known only from ``initial`` has 0 votes. ``None`` when there are no parties at all.
    """
    final = _allocate(new_seats, votes, initial, tie_breaker)
    if final is None:
        return None
    return [Party(name, votes.get(name, 0), final[name]) for name in sorted(final)]


def _allocate(
    new_seats: int, votes: Mapping[str, int], initial: Mapping[str, int] | None, tie_breaker: TieBreaker | None
) -> dict[str, int] | None:
    """Every party's final seats (``None`` without parties), by the fast path when it is exact."""
    seats = dict(initial or {})
    names = list(dict.fromkeys([*seats, *votes]))
    if not names:
        return None
    final = dict.fromkeys(names, 0)
    final.update(seats)
    final.update(_allocate_contenders(max(new_seats, 0), names, votes, seats, tie_breaker))
    return final


def _allocate_contenders(
    new_seats: int, names: list[str], votes: Mapping[str, int], seats: Mapping[str, int],
    tie_breaker: TieBreaker | None,
) -> dict[str, int]:
    """The final seats of the parties that can win one (:func:`_contenders`); the others keep theirs."""
    names = _contenders(new_seats, names, votes, seats)
    if not names:
        return {}
    if tie_breaker in _BUILT_IN_ORDERS and _floats_are_exact([votes.get(n, 0) for n in names], seats, new_seats):
        return _allocate_by_keys(new_seats, names, votes, seats, _BUILT_IN_ORDERS[tie_breaker])
    return _allocate_by_entries(new_seats, names, votes, seats, tie_breaker)


def _contenders(new_seats: int, names: list[str], votes: Mapping[str, int], seats: Mapping[str, int]) -> list[str]:
    """The parties that can win a seat. Without initial seats, a party whose votes are below the
    ``new_seats``-th largest never does: each of the ``new_seats`` parties with more votes has a higher
    priority than it until it holds a seat, so they take every seat first."""
    if seats or new_seats >= len(names):
        return names
    if new_seats == 0:
        return []
    floor = heapq.nlargest(new_seats, votes.values())[-1]
    return [name for name in names if votes[name] >= floor]


_BUILT_IN_ORDERS: Mapping[TieBreaker | None, bool] = {
    None: False,
    by_seats_then_name_ascending: False,
    by_seats_then_name_descending: True,
}


def _floats_are_exact(votes: Iterable[int], seats: Mapping[str, int], new_seats: int) -> bool:
    """Whether float quotients order every pair of priorities exactly as the rationals do.

    Distinct ratios ``a/b`` and ``c/d`` differ by at least ``1/(b*d)``; when ``max_votes * b * d`` stays
    below 2**52 that gap is wider than a float's rounding, and equal ratios divide to equal floats.
    """
    largest_vote = max(map(abs, votes), default=0)
    largest_divisor = 2 * (max(seats.values(), default=0) + new_seats) + 1
    return largest_vote * largest_divisor * largest_divisor < 1 << 52


def _allocate_by_keys(
    new_seats: int, names: list[str], votes: Mapping[str, int], seats: Mapping[str, int], descending: bool
) -> dict[str, int]:
    """The fast path: a heap of ``(-priority, seats, name rank)`` tuples compared in C."""
    ranks = {name: rank for rank, name in enumerate(sorted(names))}
    sign = -1 if descending else 1
    heap = []
    for name in names:
        vote, held = votes.get(name, 0), seats.get(name, 0)
        heap.append((-vote / (2 * held + 1), held, sign * ranks[name], name, vote))
    heapq.heapify(heap)
    for _ in range(new_seats):
        _, held, rank, name, vote = heap[0]
        held += 1
        heapq.heapreplace(heap, (-vote / (2 * held + 1), held, rank, name, vote))
    return {entry[3]: entry[1] for entry in heap}


def _allocate_by_entries(
    new_seats: int,
    names: list[str],
    votes: Mapping[str, int],
    seats: Mapping[str, int],
    tie_breaker: TieBreaker | None,
) -> dict[str, int]:
    """The general path: exact cross-multiplied priorities and any tie-breaker."""
    heap = [_Entry(name, votes.get(name, 0), seats.get(name, 0), tie_breaker) for name in names]
    heapq.heapify(heap)
    for _ in range(new_seats):
        entry = heap[0]
        entry.seats += 1
        heapq.heapreplace(heap, entry)
    return {entry.name: entry.seats for entry in heap}


def dispense_by_weight(
    replicas: int, weights: Sequence[ClusterWeight], initial: Sequence[TargetCluster] = (), uid: str = ""
) -> list[TargetCluster]:
    """Karmada's dispenser: add ``replicas`` to ``initial`` by Webster over ``weights``.

    ``initial`` comes back unchanged when there is nothing to hand out to a non-empty initial result,
    or when the weights sum to 0. Otherwise every party appears, sorted by name, zero entries included.
    """
    return _dispense(replicas, [(weight.name, weight.weight) for weight in weights], initial, uid)


def _dispense(
    replicas: int, weights: Sequence[tuple[str, int]], initial: Sequence[TargetCluster], uid: str,
    zeros: Collection[str] | None = None,
) -> list[TargetCluster]:
    if replicas == 0 and initial:
        return list(initial)
    if not initial and zeros is not None:
        return divide_seats(replicas, dict(weights), uid, zeros)
    if sum(weight for _, weight in weights) == 0:
        return list(initial)
    seats = {target.name: target.replicas for target in initial}
    final = _allocate(replicas, dict(weights), seats, tie_breaker_by_uid(uid)) or {}
    if zeros is None:
        return [TargetCluster(name, final[name]) for name in sorted(final)]
    return [TargetCluster(name, final[name]) for name in sorted(final) if final[name] or name in zeros]


def divide_seats(replicas: int, votes: Mapping[str, int], uid: str, zeros: Collection[str]) -> list[TargetCluster]:
    """``replicas`` seats by Webster over ``votes`` from no initial seats, with the dispenser's tie-breaker for
    ``uid``: the parties that won seats, and those named in ``zeros`` with 0, sorted by name; ``[]`` when the
    votes sum to 0. Only the parties that can win a seat are looked at (:func:`_contenders`)."""
    if sum(votes.values()) == 0:
        return []
    won = _allocate_contenders(max(replicas, 0), list(votes), votes, {}, tie_breaker_by_uid(uid))
    names = [name for name, seats in won.items() if seats]
    names.extend(name for name in zeros if name in votes and not won.get(name))
    names.sort()
    return [TargetCluster(name, won.get(name, 0)) for name in names]


def spread_by_target_clusters(
    replicas: int, weights: Iterable[TargetCluster], initial: Sequence[TargetCluster] = (), uid: str = "",
    *, zeros: Collection[str] | None = None,
) -> list[TargetCluster]:
    """Divide ``replicas`` using each entry's ``replicas`` of ``weights`` as its weight.

    Every party comes back, sorted by name; with ``zeros`` a party left with no seats only when it is named
    there (the others are left out).
    """
    return _dispense(replicas, [(target.name, target.replicas) for target in weights], initial, uid, zeros)
