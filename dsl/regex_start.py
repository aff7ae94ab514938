"""Which characters a regular expression's match can begin with, answered conservatively.

The parse loop may skip blanks inside each parser state's token pattern (one match per token instead of
two) only when no other terminal of that state can begin with a blank: a terminal starting with a blank
would be cut short by the skip. :func:`may_start_with` proves that from the pattern's parsed form; anything
it does not understand counts as "may start with anything", so an unproved state keeps the plain pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _constants as _c  # the regular expression parser's own modules (Python 3.11 and later)
from re import _parser as _sre_parse
from typing import Any

__all__ = ["first_chars", "may_start_with", "run_chars"]

_MAX_RANGE = 256

_CATEGORIES: dict[Any, Any] = {
    _c.CATEGORY_DIGIT: str.isdigit,
    _c.CATEGORY_WORD: lambda char: char.isalnum() or char == "_",
    _c.CATEGORY_SPACE: str.isspace,
}


class _Unknown(Exception):
    """A construct the analysis does not follow."""


def may_start_with(pattern: str, flags: Iterable[str], chars: frozenset[str]) -> bool:
    """Whether a match of ``pattern`` could begin with one of ``chars`` (True whenever unsure, and for a
    pattern that can match the empty string)."""
    if tuple(flags):
        return True
    try:
        parsed = _sre_parse.parse(pattern)
        hit, nullable = _sequence(list(parsed), chars)
    except (_Unknown, re.error, RecursionError):
        return True
    return hit or nullable


def first_chars(pattern: str, flags: Iterable[str]) -> frozenset[str] | None:
    """Every character a match of ``pattern`` can begin with, when the pattern spells them out (literals,
    sets and small ranges, no flags, never empty); None otherwise."""
    if tuple(flags):
        return None
    try:
        found, nullable = _first_sequence(list(_sre_parse.parse(pattern)))
    except (_Unknown, re.error, RecursionError):
        return None
    return None if nullable else frozenset(found)


def run_chars(pattern: str) -> frozenset[str] | None:
    """The characters ``c`` when ``pattern`` is exactly a run of one or more of them (``[c]+``, no flags): its
    match at a position is then the longest run of those characters there. None for any other pattern."""
    try:
        items = list(_sre_parse.parse(pattern))
    except (re.error, RecursionError):
        return None
    if len(items) != 1 or items[0][0] is not _c.MAX_REPEAT:
        return None
    low, high, body = items[0][1]
    body = list(body)
    if low != 1 or high is not _c.MAXREPEAT or len(body) != 1:
        return None
    op, argument = body[0]
    if op is _c.LITERAL:
        return frozenset(chr(argument))
    if op is _c.IN and argument and all(kind is _c.LITERAL for kind, _ in argument):
        return frozenset(chr(value) for _, value in argument)
    return None


def _first_sequence(items: list[tuple[Any, Any]]) -> tuple[set[str], bool]:
    found: set[str] = set()
    for op, argument in items:
        chars, nullable = _first_item(op, argument)
        found |= chars
        if not nullable:
            return found, False
    return found, True


def _first_item(op: Any, argument: Any) -> tuple[set[str], bool]:
    if op is _c.LITERAL:
        return {chr(argument)}, False
    if op is _c.IN:
        chars: set[str] = set()
        for kind, value in argument:
            if kind is _c.LITERAL:
                chars.add(chr(value))
            elif kind is _c.RANGE and value[1] - value[0] < _MAX_RANGE:
                chars.update(chr(code) for code in range(value[0], value[1] + 1))
            else:
                raise _Unknown
        return chars, False
    if op is _c.SUBPATTERN and not (argument[1] or argument[2]):
        return _first_sequence(list(argument[3]))
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        chars, nullable = _first_sequence(list(argument[2]))
        return chars, nullable or argument[0] == 0
    if op is _c.BRANCH:
        found: set[str] = set()
        either = False
        for branch in argument[1]:
            chars, nullable = _first_sequence(list(branch))
            found |= chars
            either = either or nullable
        return found, either
    if op is _c.AT:  # an anchor or word boundary reads no character
        return set(), True
    raise _Unknown


def _sequence(items: list[tuple[Any, Any]], chars: frozenset[str]) -> tuple[bool, bool]:
    """(some first character may be in ``chars``, the sequence may match the empty string)."""
    for op, argument in items:
        hit, nullable = _item(op, argument, chars)
        if hit:
            return True, False
        if not nullable:
            return False, False
    return False, True


def _item(op: Any, argument: Any, chars: frozenset[str]) -> tuple[bool, bool]:
    if op is _c.LITERAL:
        return chr(argument) in chars, False
    if op is _c.IN:
        return _in_set(argument, chars), False
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, inner = argument
        if add_flags or del_flags:
            raise _Unknown
        return _sequence(list(inner), chars)
    if op is _c.BRANCH:
        results = [_sequence(list(branch), chars) for branch in argument[1]]
        return any(hit for hit, _ in results), any(nullable for _, nullable in results)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, _high, inner = argument
        hit, nullable = _sequence(list(inner), chars)
        return hit, nullable or low == 0
    if op is _c.AT:
        return False, True
    raise _Unknown  # ANY, NOT_LITERAL, look-arounds, back references, ...


def _in_set(items: list[tuple[Any, Any]], chars: frozenset[str]) -> bool:
    for op, argument in items:
        if op is _c.NEGATE:
            raise _Unknown
        if op is _c.LITERAL and chr(argument) in chars:
            return True
        if op is _c.RANGE and any(argument[0] <= ord(char) <= argument[1] for char in chars):
            return True
        if op is _c.CATEGORY:
            test = _CATEGORIES.get(argument)
            if test is None:
                raise _Unknown
            if any(test(char) for char in chars):
                return True
        if op not in (_c.LITERAL, _c.RANGE, _c.CATEGORY):
            raise _Unknown
    return False
