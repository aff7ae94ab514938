"""Regular expressions (Python ``re`` with ASCII classes) as Lua patterns, where Lua can say the same.

Lua patterns have no alternation, no repetition of groups, no counted repetition and no backreferences;
a regular expression that needs them raises :class:`RegexError` naming what is missing. Everything
translated matches the same text the same way: single-item ``*``, ``+``, ``?`` and lazy ``*?`` backtrack in
both, classes and escapes map one to one, and ``^``/``$``/``\\A``/``\\Z`` anchor the same ends.
"""

from __future__ import annotations

__all__ = ["RegexError", "regex_to_lua"]

_MAGIC = set("^$()%.[]*+-?")
_ESCAPES = {"d": "%d", "D": "%D", "s": "%s", "S": "%S", "w": "[%w_]", "W": "[^%w_]", "n": "\n", "t": "\t"}
_CLASS_ESCAPES = {"d": "%d", "s": "%s", "w": "%w_", "n": "\n", "t": "\t"}
MAX_GROUPS = 8


class RegexError(ValueError):
    """The regular expression has no Lua pattern equivalent."""


def _class(pattern: str, start: int) -> tuple[str, int]:
    """Translate ``[...]`` starting at ``start`` (the ``[``); returns the Lua class and the index after it."""
    out = ["["]
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[escaped])
            elif escaped.isalnum():
                raise RegexError(f"the class escape `\\{escaped}`")
            else:
                out.append("%" + escaped)
            i += 2
        else:
            if char == "[" and pattern[i:i + 2] in ("[:", "[=", "[."):
                raise RegexError("POSIX classes")
            out.append("%" + char if char in "%]" or (char == "^" and first) else char)
            i += 1
        first = False
    raise RegexError("an unterminated character class")


def _escape(pattern: str, i: int, at_start: bool, at_end: bool) -> str:
    escaped = pattern[i + 1] if i + 1 < len(pattern) else ""
    if escaped == "A" and at_start:
        return "^"
    if escaped == "Z" and at_end:
        return "$"
    if escaped in _ESCAPES:
        return _ESCAPES[escaped]
    if escaped == "" or escaped.isalnum():
        raise RegexError(f"the escape `\\{escaped}`")
    return "%" + escaped


def _quantifier(pattern: str, i: int, after_group: bool) -> tuple[str, int]:
    char = pattern[i]
    if char == "{":
        raise RegexError("counted repetition `{...}`")
    if after_group:
        raise RegexError("repetition of a group")
    lazy = i + 1 < len(pattern) and pattern[i + 1] == "?"
    if lazy and char != "*":
        raise RegexError(f"the lazy quantifier `{char}?`")
    return ("-", i + 2) if lazy else (char, i + 1)


def regex_to_lua(pattern: str, *, anchored_ok: bool = True) -> tuple[str, int]:
    """The Lua pattern for ``pattern`` and its number of capture groups."""
    out: list[str] = []
    groups = depth = 0
    i = 0
    last = ""  # "atom", "group" or ""
    while i < len(pattern):
        char = pattern[i]
        at_end = i + 2 >= len(pattern)
        if char in "*+?{":
            if last == "":
                raise RegexError("a quantifier with nothing to repeat")
            text, i = _quantifier(pattern, i, last == "group")
            out.append(text)
            last = "quantified"
            continue
        if char == "|":
            raise RegexError("alternation `|`")
        if char == "(":
            if pattern[i + 1:i + 2] == "?":
                raise RegexError("extension groups `(?...)`")
            if pattern[i + 1:i + 2] == ")":
                raise RegexError("an empty group")
            groups += 1
            depth += 1
            out.append("(")
            last, i = "", i + 1
            continue
        if char == ")":
            if depth == 0:
                raise RegexError("an unbalanced `)`")
            depth -= 1
            out.append(")")
            last, i = "group", i + 1
            continue
        if char == "[":
            text, i = _class(pattern, i)
            out.append(text)
            last = "atom"
            continue
        if char == "\\":
            text = _escape(pattern, i, i == 0, at_end)
            anchor = text in ("^", "$")
            if anchor and not anchored_ok:
                raise RegexError("anchors in a repeated search")
            out.append(text)
            last, i = ("" if anchor else "atom"), i + 2
            continue
        if char == "^" and i == 0:
            if not anchored_ok:
                raise RegexError("anchors in a repeated search")
            out.append("^")
            last, i = "", i + 1
            continue
        if char == "$" and i == len(pattern) - 1:
            out.append("$")
            last, i = "", i + 1
            continue
        if char in "^$":
            raise RegexError(f"`{char}` in the middle of a pattern")
        out.append("%" + char if char in _MAGIC and char != "." else char)
        last, i = "atom", i + 1
    if depth:
        raise RegexError("an unbalanced `(`")
    if groups > MAX_GROUPS:
        raise RegexError(f"more than {MAX_GROUPS} groups")
    return "".join(out), groups
