"""Kubernetes JSONPath templates, as kubectl and client-go's ``util/jsonpath`` read and print them.

Karmada's state preservation rules (``{ .jobStatus.jobID }``) are such templates: literal text with
``{...}`` actions holding paths (``.a.b``, ``['k']``, ``..name``, ``[*]``, ``[0]``, ``[1:3:2]``,
``[0,1]``, filters ``[?(@.a=="x")]``), literals and ``{range ...}``/``{end}`` loops. This module
parses a template into a frozen tree, evaluates it over a decoded JSON document with missing keys
disallowed, and prints the results the way Go does:

* strings raw, numbers as Go's ``%v`` of a float64 (:func:`format_go_float`), booleans, ``null``,
  objects and arrays as compact JSON with sorted keys (:func:`marshal_go_json`);
* the results of one action are joined by single spaces; actions and text are concatenated.

Field, index, slice and wildcard steps are translated to jsonpath-ng and run by it; the steps whose
client-go meaning jsonpath-ng does not share (recursive descent, which also yields the containers it
passes, filters with Go's typed comparisons, wildcards over strings) are evaluated here.
:func:`translate` gives the jsonpath-ng expression of every action it can express.

Where Go iterates a map in random order (wildcards and recursive descent over objects) the document
order is used. A syntax error is a :class:`JsonPathError` with the column; an evaluation error is a
:class:`JsonPathError` without one. Messages are client-go's.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from jsonpath_ng.jsonpath import Fields, Slice, Wildcard

from kpl.engine.go_values import decode_go_json, format_go_float, go_quote, marshal_go_json

__all__ = [
    "ArrayNode",
    "ArrayParam",
    "BoolNode",
    "FieldNode",
    "FilterNode",
    "FloatNode",
    "IdentifierNode",
    "IntNode",
    "JsonPathError",
    "ListNode",
    "Node",
    "RecursiveNode",
    "Template",
    "TextNode",
    "Translation",
    "UnionNode",
    "WildcardNode",
    "decode_go_json",
    "evaluate",
    "execute",
    "format_go_float",
    "go_quote",
    "marshal_go_json",
    "parse_template",
    "to_jsonpath_ng",
    "translate",
]


class JsonPathError(ValueError):
    """A template that does not parse (``column`` is 1-based) or fails to evaluate (``column`` is None)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset

    @property
    def column(self) -> int | None:
        return None if self.offset is None else self.offset + 1


# -- tree -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextNode:
    text: str


@dataclass(frozen=True, slots=True)
class FieldNode:
    name: str


@dataclass(frozen=True, slots=True)
class WildcardNode:
    pass


@dataclass(frozen=True, slots=True)
class RecursiveNode:
    pass


@dataclass(frozen=True, slots=True)
class ArrayParam:
    """One of ``start:end:step``; ``derived`` marks the end of a single index ``[i]`` (``i + 1``)."""

    value: int = 0
    known: bool = False
    derived: bool = False


@dataclass(frozen=True, slots=True)
class ArrayNode:
    start: ArrayParam
    end: ArrayParam
    step: ArrayParam


@dataclass(frozen=True, slots=True)
class IntNode:
    value: int


@dataclass(frozen=True, slots=True)
class FloatNode:
    value: float


@dataclass(frozen=True, slots=True)
class BoolNode:
    value: bool


@dataclass(frozen=True, slots=True)
class IdentifierNode:
    name: str


@dataclass(frozen=True, slots=True)
class ListNode:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class UnionNode:
    branches: tuple[ListNode, ...]


@dataclass(frozen=True, slots=True)
class FilterNode:
    left: ListNode
    right: ListNode
    operator: str


Node: TypeAlias = (
    TextNode | FieldNode | WildcardNode | RecursiveNode | ArrayNode | IntNode | FloatNode | BoolNode
    | IdentifierNode | ListNode | UnionNode | FilterNode
)


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: top-level literal text and actions (one :class:`ListNode` per ``{...}``)."""

    source: str
    nodes: tuple[TextNode | ListNode, ...]

    @property
    def actions(self) -> tuple[ListNode, ...]:
        return tuple(node for node in self.nodes if isinstance(node, ListNode))


# -- parsing ----------------------------------------------------------------------------------------------

_DICT_KEY: Final = re.compile(r"'([^']*)'")
_SLICE: Final = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_FILTER: Final = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_INT: Final = re.compile(r"[+-]?[0-9]+")
_FLOAT: Final = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_TERMINATORS: Final = frozenset(" \t\r\n.,[]$@{}")
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1


@dataclass(slots=True)
class _Scanner:
    text: str
    pos: int = 0

    def next(self) -> str:
        """The next character, consumed; ``""`` at the end (which is not consumed)."""
        if self.pos >= len(self.text):
            return ""
        self.pos += 1
        return self.text[self.pos - 1]

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""


def parse_template(text: str) -> Template:
    """Parse a Kubernetes JSONPath template; raises :class:`JsonPathError` with the column."""
    scanner = _Scanner(text)
    nodes: list[TextNode | ListNode] = []
    while True:
        brace = text.find("{", scanner.pos)
        if brace < 0:
            if scanner.pos < len(text):
                nodes.append(TextNode(text[scanner.pos:]))
            return Template(text, tuple(nodes))
        if brace > scanner.pos:
            nodes.append(TextNode(text[scanner.pos:brace]))
        scanner.pos = brace + 1
        nodes.append(_parse_action(scanner))


def _parse_action(s: _Scanner) -> ListNode:
    items: list[Node] = []
    while True:
        at = s.pos
        if s.text.startswith("}", at):
            s.pos += 1
            return ListNode(tuple(items))
        if s.text.startswith("[?(", at):
            items.append(_parse_filter(s))
            continue
        if s.text.startswith("..", at):
            _parse_recursive(s, items)
            continue
        items.extend(_parse_token(s, s.next(), at))


def _parse_token(s: _Scanner, ch: str, at: int) -> list[Node]:
    if ch == "" or ch in "\r\n":
        raise JsonPathError("unclosed action", at)
    if ch in " @$":
        return []
    if ch == "[":
        return _parse_array(s, at)
    if ch in "\"'":
        return [_parse_quote(s, ch, at)]
    if ch == ".":
        return [_parse_field(s)]
    if ch in "+-" or _is_digit(ch):
        s.pos = at
        return [_parse_number(s)]
    if _is_alphanumeric(ch):
        s.pos = at
        return [_parse_identifier(s)]
    raise JsonPathError(f"unrecognized character in action: {_rune_text(ch)}", at)


def _is_digit(ch: str) -> bool:
    return len(ch) == 1 and unicodedata.category(ch) == "Nd"


def _is_alphanumeric(ch: str) -> bool:
    return ch == "_" or _is_digit(ch) or (len(ch) == 1 and unicodedata.category(ch).startswith("L"))


def _is_terminator(ch: str) -> bool:
    return ch == "" or ch in _TERMINATORS


def _rune_text(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    return f"{code} '{ch}'" if ch.isprintable() else code


def _parse_recursive(s: _Scanner, items: list[Node]) -> None:
    if items and isinstance(items[-1], RecursiveNode):
        raise JsonPathError("invalid multiple recursive descent", s.pos)
    s.pos += 2
    items.append(RecursiveNode())
    if _is_alphanumeric(s.peek()):
        items.append(_parse_field(s))


def _parse_field(s: _Scanner) -> Node:
    start = s.pos
    while not _is_terminator(ch := s.peek()):
        s.pos += 1
        if ch == "\\":
            s.next()
    value = s.text[start:s.pos]
    return WildcardNode() if value == "*" else FieldNode(value.replace("\\", ""))


def _parse_identifier(s: _Scanner) -> Node:
    start = s.pos
    while not _is_terminator(s.peek()):
        s.pos += 1
    value = s.text[start:s.pos]
    return BoolNode(value == "true") if value in ("true", "false") else IdentifierNode(value)


def _go_atoi(text: str) -> int | None:
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _parse_number(s: _Scanner) -> Node:
    start = s.pos
    if s.peek() in ("+", "-"):
        s.pos += 1
    while (ch := s.peek()) and (ch == "." or _is_digit(ch)):
        s.pos += 1
    value = s.text[start:s.pos]
    as_int = _go_atoi(value)
    if as_int is not None:
        return IntNode(as_int)
    if _FLOAT.fullmatch(value) and not math.isinf(number := float(value)):
        return FloatNode(number)
    raise JsonPathError(f"cannot parse number {value}", start)


def _parse_sub(text: str, at: int) -> ListNode:
    """The action ``{text}`` parsed on its own (client-go re-parses bracket parts this way)."""
    try:
        first = parse_template("{" + text + "}").nodes[0]
    except JsonPathError as err:
        raise JsonPathError(err.message, at) from None
    assert isinstance(first, ListNode)
    return first


def _parse_array(s: _Scanner, at: int) -> list[Node]:
    while (ch := s.next()) != "]":
        if ch in ("", "\n"):
            raise JsonPathError("unterminated array", at)
    content = s.text[at + 1:s.pos - 1]
    if content == "*":
        content = ":"
    parts = content.split(",")
    if len(parts) > 1:
        return [UnionNode(tuple(_parse_sub(f"[{part.strip(' ')}]", at) for part in parts))]
    key = _DICT_KEY.fullmatch(content)
    if key:
        return list(_parse_sub("." + key.group(1), at).nodes)
    return [_array_node(content, at)]


def _array_node(content: str, at: int) -> ArrayNode:
    match = _SLICE.fullmatch(content)
    if match is None:
        raise JsonPathError(f"invalid array index {content}", at)
    params: list[ArrayParam] = []
    for index, group in enumerate(match.groups(default="")):
        text = group[1:] if index > 0 else group
        if group and not (index > 0 and text == ""):
            number = _go_atoi(text)
            if number is None:
                raise JsonPathError(f"array index {text} is not a number", at)
            params.append(ArrayParam(number, known=True))
        elif not group and index == 1:
            params.append(ArrayParam(params[0].value + 1, known=True, derived=True))
        else:
            params.append(ArrayParam())
    return ArrayNode(params[0], params[1], params[2])


def _parse_filter(s: _Scanner) -> FilterNode:
    at = s.pos
    s.pos += 3
    body_start = s.pos
    begin = end = False
    pair = ""
    while True:
        ch = s.next()
        if ch in ("", "\n"):
            raise JsonPathError("unterminated filter", at)
        if ch in "\"'":
            if not begin:
                begin, pair = True, ch
            elif s.text[s.pos - 2] != "\\" and ch == pair:
                end = True
        elif ch == ")" and begin == end:
            break
    if s.next() != "]":
        raise JsonPathError("unclosed array expect ]", at)
    body = s.text[body_start:s.pos - 2]
    match = _FILTER.fullmatch(body)
    if match is None:
        return FilterNode(_parse_sub(body, at), ListNode(()), "exists")
    return FilterNode(_parse_sub(match.group(1), at), _parse_sub(match.group(3), at), match.group(2))


def _parse_quote(s: _Scanner, quote: str, at: int) -> TextNode:
    while True:
        ch = s.next()
        if ch in ("", "\n"):
            raise JsonPathError("unterminated quoted string", at)
        if ch == quote and s.text[s.pos - 2] != "\\":
            break
    literal = s.text[at:s.pos]
    try:
        return TextNode(_unquote(literal))
    except ValueError:
        raise JsonPathError(f"unquote string {literal} error invalid syntax", at) from None


_SIMPLE_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_HEX_WIDTH: Final = {"x": 2, "u": 4, "U": 8}


def _unquote(literal: str) -> str:
    """Go's ``strconv.Unquote`` rules, for single- or double-quoted text."""
    quote, body = literal[0], literal[1:-1]
    if "\\" not in body and quote not in body:
        return body
    out = bytearray()
    index = 0
    while index < len(body):
        ch = body[index]
        if ch == quote:
            raise ValueError("unescaped quote")
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            index += 1
            continue
        index = _unescape(body, index + 1, quote, out)
    return out.decode("utf-8", "replace")


def _unescape(body: str, index: int, quote: str, out: bytearray) -> int:
    code = body[index] if index < len(body) else ""
    if code in _SIMPLE_ESCAPES:
        out.append(_SIMPLE_ESCAPES[code])
        return index + 1
    if code in ("'", '"') and code:
        if code != quote:
            raise ValueError("wrong quote escape")
        out += code.encode()
        return index + 1
    if code in _HEX_WIDTH and code:
        digits = body[index + 1:index + 1 + _HEX_WIDTH[code]]
        if len(digits) < _HEX_WIDTH[code] or not set(digits) <= _HEX_DIGITS:
            raise ValueError("bad hex escape")
        value = int(digits, 16)
        if code == "x":
            out.append(value)
        elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise ValueError("bad rune")
        else:
            out += chr(value).encode()
        return index + 1 + len(digits)
    digits = body[index:index + 3]
    if len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) <= 255:
        out.append(int(digits, 8))
        return index + 3
    raise ValueError("bad escape")


# -- evaluation -------------------------------------------------------------------------------------------


class _NoValue:
    """Go's invalid ``reflect.Value``: the root of a ``null`` document, or a loop over nothing."""

    __slots__ = ()


_NO_VALUE: Final = _NoValue()


@dataclass(frozen=True, slots=True)
class _Byte:
    """A ``uint8``: what indexing a Go string yields."""

    value: int


@dataclass(slots=True)
class _RangeState:
    """client-go's loop bookkeeping, local to one execution."""

    begin: int = 0
    in_range: int = 0
    end: int = 0
    last_end: int = -1


_Outcome: TypeAlias = tuple[list[Any], str | None]


def evaluate(text: str, data: Any) -> str:
    """Parse ``text`` and execute it over the decoded document ``data``."""
    return execute(parse_template(text), data)


def execute(template: Template, data: Any) -> str:
    """The printed result of ``template`` over ``data``; raises :class:`JsonPathError` on failure."""
    groups = _find_results(_RangeState(), template.nodes, 0, _NO_VALUE if data is None else data)
    return "".join(" ".join(_text(value) for value in group) for group in groups)


def _find_results(state: _RangeState, nodes: tuple[TextNode | ListNode, ...], start: int,
                  data: Any) -> list[list[Any]]:
    groups: list[list[Any]] = []
    index = start
    while index < len(nodes):
        results, error = _walk(state, [data], nodes[index])
        if error is not None:
            raise JsonPathError(error)
        if 0 < state.end <= state.in_range:
            state.end -= 1
            state.last_end = index
            break
        if state.begin > 0:
            index = _run_range(state, nodes, index, results, groups)
        else:
            groups.append(results)
        index += 1
    return groups


def _run_range(state: _RangeState, nodes: tuple[TextNode | ListNode, ...], index: int,
               results: list[Any], groups: list[list[Any]]) -> int:
    """Run the loop body after ``nodes[index]`` once per result; the index to resume after."""
    state.begin -= 1
    state.in_range += 1
    if results:
        for value in results:
            groups.extend(_find_results(state, nodes, index + 1, _NO_VALUE if value is None else value))
    else:
        _find_results(state, nodes, index + 1, _NO_VALUE)
    state.in_range -= 1
    return state.last_end if state.last_end > index else index


def _walk(state: _RangeState, values: list[Any], node: Node) -> _Outcome:
    match node:
        case ListNode():
            return _eval_list(state, values, node)
        case TextNode(text=text):
            return [text], None
        case FieldNode(name=name):
            return _eval_field(values, name)
        case ArrayNode():
            return _eval_array(values, node)
        case FilterNode():
            return _eval_filter(state, values, node)
        case IntNode(value=number) | FloatNode(value=number) | BoolNode(value=number):
            return [number] * len(values), None
        case WildcardNode():
            return _eval_wildcard(values), None
        case RecursiveNode():
            return _eval_recursive(values), None
        case UnionNode():
            return _eval_union(state, values, node)
        case IdentifierNode(name=name):
            return _eval_identifier(state, values, name)
    raise AssertionError(f"unexpected node {node!r}")


def _eval_list(state: _RangeState, values: list[Any], node: ListNode) -> _Outcome:
    current = values
    for child in node.nodes:
        current, error = _walk(state, current, child)
        if error is not None:
            return current, error
    return current, None


def _eval_field(values: list[Any], name: str) -> _Outcome:
    if not values:
        return [], None
    results: list[Any] = []
    for value in values:
        if not isinstance(value, dict):
            continue
        if name == "*":  # jsonpath-ng reads a field named `*` as a wildcard
            results.extend([value[name]] if name in value else [])
        else:
            results.extend(match.value for match in Fields(name).find(value))
    if not results:
        return [], f"{name} is not found"
    return results, None


def _eval_array(values: list[Any], node: ArrayNode) -> _Outcome:
    results: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            return values, f"{_go_type(value)} is not array or slice"
        bounds = _slice_bounds(node, len(value))
        if isinstance(bounds, str):
            return values, bounds
        if bounds is None:  # client-go stops at the first value asked for zero elements
            return results, None
        results.extend(match.value for match in Slice(*bounds).find(value))
    return results, None


def _slice_bounds(node: ArrayNode, length: int) -> tuple[int, int, int] | str | None:
    start = node.start.value if node.start.known else 0
    if start < 0:
        start += length
    end = node.end.value if node.end.known else length
    if end < 0 or (end == 0 and node.end.derived):
        end += length
    if end == start:
        return None
    if start >= length or start < 0:
        return f"array index out of bounds: index {start}, length {length}"
    if end > length or end < 0:
        return f"array index out of bounds: index {end - 1}, length {length}"
    if start > end:
        return f"starting index {start} is greater than ending index {end}"
    if node.step.known and node.step.value <= 0:
        return "step must be > 0"
    return start, end, node.step.value if node.step.known else 1


def _eval_wildcard(values: list[Any]) -> list[Any]:
    results: list[Any] = []
    for value in values:
        if isinstance(value, (dict, list)):
            results.extend(match.value for match in Wildcard().find(value))
        elif isinstance(value, str):
            results.extend(_Byte(byte) for byte in value.encode("utf-8", "surrogatepass"))
    return results


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [_Byte(byte) for byte in value.encode("utf-8", "surrogatepass")]
    return []


def _eval_recursive(values: list[Any]) -> list[Any]:
    """Every value that has children, with all its descendants that have children, depth first."""
    results: list[Any] = []
    for value in values:
        children = _children(value)
        if children:
            results.append(value)
            results.extend(_eval_recursive(children))
    return results


def _eval_union(state: _RangeState, values: list[Any], node: UnionNode) -> _Outcome:
    results: list[Any] = []
    for branch in node.branches:
        found, error = _eval_list(state, values, branch)
        if error is not None:
            return values, error
        results.extend(found)
    return results, None


def _eval_identifier(state: _RangeState, values: list[Any], name: str) -> _Outcome:
    if name == "range":
        state.begin += 1
        return values, None
    if name == "end":
        if state.in_range > 0:
            state.end += 1
            return [], None
        return [], "not in range, nothing to end"
    return values, f"unrecognized identifier {name}"


def _eval_filter(state: _RangeState, values: list[Any], node: FilterNode) -> _Outcome:
    results: list[Any] = []
    for value in values:
        if not isinstance(value, list):
            return values, f"{_go_text(value)} is not array or slice and cannot be filtered"
        for item in value:
            verdict = _filter_item(state, item, node)
            if verdict.error is not None:
                # a failed comparison gives back what passed so far, any other failure the input
                return (results if verdict.in_comparison else values), verdict.error
            if verdict.kept:
                results.append(item)
    return results, None


@dataclass(frozen=True, slots=True)
class _Verdict:
    kept: bool = False
    error: str | None = None
    in_comparison: bool = False


def _single(state: _RangeState, item: Any, side: ListNode) -> tuple[list[Any], _Verdict | None]:
    found, error = _eval_list(state, [item], side)
    if error is not None:
        return found, _Verdict(error=error)
    if len(found) > 1:
        return found, _Verdict(error="can only compare one element at a time")
    return found, None if found else _Verdict()


def _filter_item(state: _RangeState, item: Any, node: FilterNode) -> _Verdict:
    if node.operator == "exists":
        return _Verdict(kept=bool(_eval_list(state, [item], node.left)[0]))
    lefts, verdict = _single(state, item, node.left)
    if verdict is not None:
        return verdict
    rights, verdict = _single(state, item, node.right)
    if verdict is not None:
        return verdict
    passed, error = _compare(node.operator, lefts[0], rights[0])
    return _Verdict(kept=passed, error=error, in_comparison=True)


_BAD_TYPE: Final = "invalid type for comparison"
_BAD_COMPARISON: Final = "incompatible types for comparison"


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Byte):
        return "uint"
    for python_type, kind in ((int, "int"), (float, "float"), (str, "string")):
        if isinstance(value, python_type):
            return kind
    return None


def _scalar(value: Any) -> Any:
    return value.value if isinstance(value, _Byte) else value


def _go_equal(left: Any, right: Any) -> tuple[bool, str | None]:
    left_kind, right_kind = _kind(left), _kind(right)
    if left_kind is None or right_kind is None:
        return False, _BAD_TYPE
    if left_kind != right_kind and {left_kind, right_kind} != {"int", "uint"}:
        return False, _BAD_COMPARISON
    return _scalar(left) == _scalar(right), None


def _go_less(left: Any, right: Any) -> tuple[bool, str | None]:
    left_kind, right_kind = _kind(left), _kind(right)
    if left_kind is None or right_kind is None:
        return False, _BAD_TYPE
    if left_kind != right_kind and {left_kind, right_kind} != {"int", "uint"}:
        return False, _BAD_COMPARISON
    if left_kind == "bool":
        return False, _BAD_TYPE
    return _scalar(left) < _scalar(right), None


def _compare(operator: str, left: Any, right: Any) -> tuple[bool, str | None]:
    if operator in ("==", "!="):
        equal, error = _go_equal(left, right)
        return (equal if operator == "==" else not equal), error
    if operator in ("<", ">="):
        less, error = _go_less(left, right)
        return (less if operator == "<" else not less) and error is None, error
    if operator in ("<=", ">"):
        less, error = _go_less(left, right)
        if not less and error is None:
            less, error = _go_equal(left, right)
        return (less if operator == "<=" else not less) and error is None, error
    return False, f"unrecognized filter operator {operator}"


# -- printing ---------------------------------------------------------------------------------------------


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    names = {bool: "bool", str: "string", float: "float64", int: "int", _Byte: "uint8"}
    return names.get(type(value), "<invalid reflect.Value>")


def _text(value: Any) -> str:
    """How client-go prints one result."""
    if isinstance(value, (dict, list)):
        return marshal_go_json(value)
    if value is None:
        return "null"
    if isinstance(value, _NoValue):
        return "<no value>"
    return _go_text(value)


def _go_text(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_go_float(value)
    if isinstance(value, _Byte):
        return str(value.value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_text(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(item) for item in value) + "]"
    if isinstance(value, _NoValue):
        return "<invalid reflect.Value>"
    return str(value)


# -- translation to jsonpath-ng ---------------------------------------------------------------------------

_SIMPLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NG_RESERVED: Final = frozenset({"where", "wherenot"})
_NG_OPERATORS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True, slots=True)
class Translation:
    """A template's actions as jsonpath-ng (extended syntax) expressions; None where it has no form."""

    template: Template
    expressions: tuple[str | None, ...]


def translate(text: str) -> Translation:
    """Parse ``text`` and translate each of its actions (see :func:`to_jsonpath_ng`)."""
    template = parse_template(text)
    return Translation(template, tuple(_translate_action(action) for action in template.actions))


def to_jsonpath_ng(text: str) -> str:
    """The jsonpath-ng expression of a template made of exactly one path action (``{ .a.b }``)."""
    translation = translate(text)
    literal = any(isinstance(node, TextNode) and node.text.strip(" ") for node in translation.template.nodes)
    if len(translation.expressions) != 1 or literal or translation.expressions[0] is None:
        raise JsonPathError(f"template {text!r} has no jsonpath-ng form")
    return translation.expressions[0]


def _translate_action(action: ListNode) -> str | None:
    parts = ["$"]
    after_recursive = False
    for node in action.nodes:
        piece = _translate_step(node, after_recursive)
        if piece is None:
            return None
        parts.append(piece)
        after_recursive = isinstance(node, RecursiveNode)
    return None if after_recursive else "".join(parts)


def _quoted_name(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _field_step(name: str, after_recursive: bool) -> str:
    if _SIMPLE_NAME.fullmatch(name) and name not in _NG_RESERVED:
        return name if after_recursive else "." + name
    return f"[{_quoted_name(name)}]"


def _translate_step(node: Node, after_recursive: bool) -> str | None:
    match node:
        case FieldNode(name=name) if name != "*":
            return _field_step(name, after_recursive)
        case WildcardNode():
            return "*" if after_recursive else "[*]"
        case RecursiveNode():
            return ".."
        case ArrayNode():
            return _translate_array(node)
        case UnionNode():
            return _translate_union(node)
        case FilterNode():
            return _translate_filter(node)
    return None


def _translate_array(node: ArrayNode) -> str:
    if node.end.derived:
        return f"[{node.start.value}]"
    if not (node.start.known or node.end.known or node.step.known):
        return "[*]"
    bounds = [str(param.value) if param.known else "" for param in (node.start, node.end, node.step)]
    return "[" + ":".join(bounds if node.step.known else bounds[:2]) + "]"


def _translate_union(node: UnionNode) -> str | None:
    singles = [branch.nodes[0] for branch in node.branches if len(branch.nodes) == 1]
    if len(singles) != len(node.branches):
        return None
    if all(isinstance(item, ArrayNode) and item.end.derived for item in singles):
        indices = [str(item.start.value) for item in singles if isinstance(item, ArrayNode)]
        return "[" + ",".join(indices) + "]"
    if all(isinstance(item, FieldNode) for item in singles):
        names = [_quoted_name(item.name) for item in singles if isinstance(item, FieldNode)]
        return "[" + ",".join(names) + "]"
    return None


def _translate_filter(node: FilterNode) -> str | None:
    if not all(isinstance(item, FieldNode) for item in node.left.nodes):
        return None
    steps = [_field_step(item.name, False) for item in node.left.nodes if isinstance(item, FieldNode)]
    left = "@" + "".join(steps)
    if node.operator == "exists":
        return f"[?({left})]"
    if node.operator not in _NG_OPERATORS or len(node.right.nodes) != 1:
        return None
    literal = _translate_literal(node.right.nodes[0])
    return None if literal is None else f"[?({left} {node.operator} {literal})]"


def _translate_literal(node: Node) -> str | None:
    match node:
        case TextNode(text=text):
            return json.dumps(text)
        case BoolNode(value=flag):
            return "true" if flag else "false"
        case IntNode(value=number):
            return str(number)
        case FloatNode(value=number):
            return repr(number)
    return None
