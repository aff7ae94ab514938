"""Go's unstable ``sort.Sort`` (pattern-defeating quicksort), reproduced for tie order.

Karmada sorts cluster lists with Go's ``sort.Sort``, which is not stable: clusters that compare equal
come out in an order fixed by the algorithm itself. Where that order changes an answer (the Aggregated
strategy keeps a prefix of the sorted list) the engine must order ties exactly as Go does, so this module
follows the Go standard library's algorithm step by step: insertion sort up to 12 elements, otherwise
pdqsort with ninther pivots, a partial insertion sort for nearly sorted input, an equal-elements
partition, pattern breaking with a length-seeded xorshift, and a heapsort fallback.

:func:`go_sort` returns a new list and takes a strict "less" predicate on elements. Inputs without
ties, or of at most 12 elements, are sorted by Python's stable sort, which gives the same result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["go_order_desc", "go_sort", "go_sort_by_key_desc"]

T = TypeVar("T")
Less = Callable[[T, T], bool]

_MAX_INSERTION = 12
_SHORTEST_NINTHER = 50
_MAX_SWAPS = 4 * 3
_MASK64 = (1 << 64) - 1
_UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2


class _Sorter:
    """In-place sorting state over ``data`` (a list) with the predicate ``less``."""

    __slots__ = ("data", "less")

    def __init__(self, data: list[T], less: Less[T]) -> None:
        self.data: list[object] = data  # type: ignore[assignment]
        self.less: Callable[[object, object], bool] = less  # type: ignore[assignment]

    def lt(self, i: int, j: int) -> bool:
        return self.less(self.data[i], self.data[j])

    def swap(self, i: int, j: int) -> None:
        data = self.data
        data[i], data[j] = data[j], data[i]

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.lt(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.lt(first + child, first + child + 1):
                child += 1
            if not self.lt(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, hi = a, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(0, i, first)

    def pdqsort(self, a: int, b: int, limit: int) -> None:
        was_balanced, was_partitioned = True, True
        while True:
            length = b - a
            if length <= _MAX_INSERTION:
                self.insertion_sort(a, b)
                return
            if limit == 0:
                self.heap_sort(a, b)
                return
            if not was_balanced:
                self.break_patterns(a, b)
                limit -= 1
            pivot, hint = self.choose_pivot(a, b)
            if hint == _DECREASING:
                self.reverse_range(a, b)
                pivot = (b - 1) - (pivot - a)
                hint = _INCREASING
            if was_balanced and was_partitioned and hint == _INCREASING and self.partial_insertion_sort(a, b):
                return
            if a > 0 and not self.lt(a - 1, pivot):
                a = self.partition_equal(a, b, pivot)
                continue
            mid, was_partitioned = self.partition(a, b, pivot)
            left, right = mid - a, b - mid
            threshold = length // 8
            if left < right:
                was_balanced = left >= threshold
                self.pdqsort(a, mid, limit)
                a = mid + 1
            else:
                was_balanced = right >= threshold
                self.pdqsort(mid + 1, b, limit)
                b = mid

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while i <= j and self.lt(i, a):
            i += 1
        while i <= j and not self.lt(j, a):
            j -= 1
        if i > j:
            self.swap(j, a)
            return j, True
        self.swap(i, j)
        i, j = i + 1, j - 1
        while True:
            while i <= j and self.lt(i, a):
                i += 1
            while i <= j and not self.lt(j, a):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i, j = i + 1, j - 1
        self.swap(j, a)
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while True:
            while i <= j and not self.lt(a, i):
                i += 1
            while i <= j and self.lt(a, j):
                j -= 1
            if i > j:
                return i
            self.swap(i, j)
            i, j = i + 1, j - 1

    def partial_insertion_sort(self, a: int, b: int) -> bool:
        i = a + 1
        for _ in range(5):
            while i < b and not self.lt(i, i - 1):
                i += 1
            if i == b:
                return True
            if b - a < 50:
                return False
            self.swap(i, i - 1)
            if i - a >= 2:
                self._shift_left(i - 1)
            if b - i >= 2:
                self._shift_right(i + 1, b)
        return False

    def _shift_left(self, start: int) -> None:
        for j in range(start, 0, -1):
            if not self.lt(j, j - 1):
                return
            self.swap(j, j - 1)

    def _shift_right(self, start: int, b: int) -> None:
        for j in range(start, b):
            if not self.lt(j, j - 1):
                return
            self.swap(j, j - 1)

    def break_patterns(self, a: int, b: int) -> None:
        length = b - a
        if length < 8:
            return
        state = length
        modulus = 1 << length.bit_length()
        middle = a + (length // 4) * 2
        for index in range(middle - 1, middle + 2):
            state ^= (state << 13) & _MASK64
            state ^= state >> 7
            state ^= (state << 17) & _MASK64
            other = state & (modulus - 1)
            if other >= length:
                other -= length
            self.swap(index, a + other)

    def choose_pivot(self, a: int, b: int) -> tuple[int, int]:
        length = b - a
        swaps = [0]
        i, j, k = a + length // 4, a + length // 4 * 2, a + length // 4 * 3
        if length >= 8:
            if length >= _SHORTEST_NINTHER:
                i = self.median(i - 1, i, i + 1, swaps)
                j = self.median(j - 1, j, j + 1, swaps)
                k = self.median(k - 1, k, k + 1, swaps)
            j = self.median(i, j, k, swaps)
        if swaps[0] == 0:
            return j, _INCREASING
        if swaps[0] == _MAX_SWAPS:
            return j, _DECREASING
        return j, _UNKNOWN

    def order2(self, a: int, b: int, swaps: list[int]) -> tuple[int, int]:
        if self.lt(b, a):
            swaps[0] += 1
            return b, a
        return a, b

    def median(self, a: int, b: int, c: int, swaps: list[int]) -> int:
        a, b = self.order2(a, b, swaps)
        b, c = self.order2(b, c, swaps)
        a, b = self.order2(a, b, swaps)
        return b

    def reverse_range(self, a: int, b: int) -> None:
        i, j = a, b - 1
        while i < j:
            self.swap(i, j)
            i, j = i + 1, j - 1


def go_sort(items: Sequence[T], less: Less[T]) -> list[T]:
    """``items`` ordered as Go's ``sort.Sort`` with ``Less = less`` would leave them."""
    data = list(items)
    if len(data) > 1:
        _Sorter(data, less).pdqsort(0, len(data), len(data).bit_length())
    return data


def go_sort_by_key_desc(items: Sequence[T], key: Callable[[T], int]) -> list[T]:
    """Go's ``sort.Sort`` with ``Less(i, j) = key(i) > key(j)``; fast when there are no ties."""
    keys = [key(item) for item in items]
    if len(items) <= _MAX_INSERTION or len(set(keys)) == len(keys):
        order = sorted(range(len(items)), key=keys.__getitem__, reverse=True)
        return [items[index] for index in order]
    return go_sort(items, lambda x, y: key(x) > key(y))


@functools.lru_cache(maxsize=1024)
def go_order_desc(keys: tuple[int, ...]) -> tuple[int, ...]:
    """The positions of ``keys`` in the order :func:`go_sort_by_key_desc` leaves them. The algorithm only
    compares keys, so the order depends on them alone; it is remembered for the key sequences seen last
    (bindings of one stage divide over the same candidates)."""
    return tuple(go_sort_by_key_desc(range(len(keys)), keys.__getitem__))
