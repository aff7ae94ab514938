"""Reductions compiled per rule: for each grammar rule of a common shape, a Python function written for exactly
that rule's symbols, doing what the generic callback of :mod:`kpl.dsl.treeless` does for it.

The generic callback loops over the matched symbols, asking of each whether it is a located value or a token,
then filters them by a plan, builds the span through a helper and calls the rule's method. Here the grammar
says, once, which symbol is a terminal (always a token, or a position only for punctuation), which is a rule
(a located value, or a token handed on by an inlined rule) and which is spliced (``_rule``), and the function
reads exactly those: the first symbol gives the start, the last the end, the children list is written out.
Python compiles each function apart (one module of them all compiles many times slower), and the code is kept
in a file named by a hash of what it is made from, so a new process only reads it back.

Only shapes whose answer is the generic one by construction are compiled: every symbol matches at least one
token (so the first and last give the extent), a spliced rule never inlines to a token, and an inlined
``?rule`` always keeps two children or more (so it never hands a child on). Any other rule keeps the generic
callback. A test compares the two on every rule of every corpus, rule and example file.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kpl.dsl.grammar_tables import RuleShape, read_owned, write_owned
from kpl.dsl.source import Span

__all__ = ["ReductionSpec", "compile_reductions", "load_reductions", "nullable_rules"]

Callback = Callable[[list[Any]], Any]
Plan = list[tuple[int, int, bool]]  # (index in the matched symbols, Nones before it, splice it)

_FORMAT = "kpl-reductions/1"
_set_start: Callable[[Span, int], None] = getattr(Span, "start").__set__  # noqa: B009 - the slot itself
_set_end: Callable[[Span, int], None] = getattr(Span, "end").__set__  # noqa: B009


class ReductionSpec:
    """What the compiler needs of one rule: its shape, the generic callback's plan and the rule's method."""

    __slots__ = ("build", "extra", "plan", "rule", "trailing")

    def __init__(self, rule: RuleShape, plan: Plan, trailing: int, build: Callable[[Span, list[Any]], Any] | None,
                 extra: int) -> None:
        self.rule = rule
        self.plan = plan
        self.trailing = trailing
        self.build = build
        self.extra = extra


def nullable_rules(rules: Iterable[RuleShape]) -> frozenset[str]:
    """The rules (by name) that can match no token at all."""
    listed = list(rules)
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for rule in listed:
            if rule.name not in found and all(not is_term and name in found for name, is_term, _ in rule.expansion):
                found.add(rule.name)
                grew = True
    return frozenset(found)


def load_reductions(tables_key: str, folder: Path | None,
                    build_of: Callable[[int], Callable[[Span, list[Any]], Any] | None]) -> dict[int, Callback] | None:
    """The compiled callbacks kept in ``folder`` for the tables named ``tables_key`` and this code (the rule
    methods by index from ``build_of``), without looking at the rules again; None when there are none."""
    path = _path(folder, tables_key)
    found = None if path is None else read_owned(path)
    if not (type(found) is tuple and len(found) == 2 and type(found[0]) is tuple and type(found[1]) is tuple
            and len(found[0]) == len(found[1]) and all(type(index) is int for index in found[0])
            and all(type(code) is types.CodeType for code in found[1])):
        return None
    try:
        return _made(list(zip(found[0], found[1], strict=True)), {index: build_of(index) for index in found[0]})
    except Exception:  # a file that does not make sound functions: compiled again
        return None


def compile_reductions(specs: Mapping[int, ReductionSpec], rules: list[RuleShape], position_only: frozenset[str],
                       cache_folder: Path | None = None, tables_key: str = "") -> dict[int, Callback]:
    """Compiled callbacks of the rules (by index) whose shape allows one; the others are left out. With
    ``cache_folder`` the compiled code is written to (or, without ``tables_key``, read from) a file there named
    by a hash of everything it is made from: the tables' key and the code that reads them, else the rules'
    shapes, the methods they call and this module's own text."""
    nullable = nullable_rules(rules)
    inlining = frozenset(rule.name for rule in rules if rule.expand1)
    chosen = [(index, spec) for index, spec in specs.items() if _compilable(spec, nullable, inlining)]
    path = _path(cache_folder, tables_key) if tables_key else None
    if path is None and cache_folder is not None:
        path = cache_folder / f".kpl_reductions_{_key(chosen, position_only)}.marshal"
    found = None if path is None or tables_key else read_owned(path)
    if (type(found) is tuple and len(found) == 2 and type(found[1]) is tuple and len(found[1]) == len(chosen)
            and all(type(code) is types.CodeType for code in found[1])):
        codes: list[types.CodeType] = list(found[1])
    else:  # each function compiled apart: Python compiles one module of them all many times slower
        codes = [compile("\n".join(_source(index, spec, position_only)), "<kpl reductions>", "exec")
                 for index, spec in chosen]
        if path is not None:
            write_owned(path, (tuple(index for index, _ in chosen), tuple(codes)))
    return _made([(index, code) for (index, _), code in zip(chosen, codes, strict=True)],
                 {index: spec.build for index, spec in chosen})


def _made(codes: list[tuple[int, types.CodeType]],
          builds: Mapping[int, Callable[[Span, list[Any]], Any] | None]) -> dict[int, Callback]:
    namespace: dict[str, Any] = {"_new": object.__new__, "_Span": Span, "_set_start": _set_start,
                                 "_set_end": _set_end}
    for index, build in builds.items():
        namespace[f"_build_{index}"] = build
    for _, code in codes:
        exec(code, namespace)
    return {index: namespace[f"_reduce_{index}"] for index, _ in codes}


def _path(folder: Path | None, tables_key: str) -> Path | None:
    """Where the code made from the tables named ``tables_key`` by this code is kept (the modules it is made
    with are part of the name: this one, the callbacks' plans and the rule methods)."""
    if folder is None or not tables_key:
        return None
    digest = hashlib.sha256(f"{_FORMAT}\0{sys.implementation.cache_tag}\0{tables_key}\0".encode())
    here = Path(__file__)
    try:
        for name in (here.name, "treeless.py", "builder.py"):
            digest.update(here.with_name(name).read_bytes() + b"\0")
    except OSError:
        return None
    return folder / f".kpl_reductions_{digest.hexdigest()[:32]}.marshal"


def _key(chosen: list[tuple[int, ReductionSpec]], position_only: frozenset[str]) -> str:
    """A hash of what the compiled code is made from (cheaper than writing the code out to hash it)."""
    digest = hashlib.sha256(f"{_FORMAT}\0{sys.implementation.cache_tag}\0".encode())
    try:
        digest.update(Path(__file__).read_bytes())
    except OSError:  # no file to read (a frozen or zipped install): the code itself is hashed
        for index, spec in chosen:
            digest.update("\n".join(_source(index, spec, position_only)).encode("utf-8"))
    shapes = [(index, spec.rule.name, spec.rule.alias, spec.rule.expansion, spec.rule.keep_all_tokens,
               spec.rule.expand1, spec.plan, spec.trailing, spec.build is None, spec.extra) for index, spec in chosen]
    digest.update(repr((shapes, sorted(position_only))).encode("utf-8"))
    return digest.hexdigest()[:32]


def _children_count(spec: ReductionSpec) -> int:
    """The fewest children the rule can give (a spliced rule gives one or more: it is never nullable here)."""
    return sum(before + 1 for _, before, _ in spec.plan) + spec.trailing


def _compilable(spec: ReductionSpec, nullable: frozenset[str], inlining: frozenset[str]) -> bool:
    rule = spec.rule
    name = rule.alias or rule.name
    if not rule.expansion or any(not is_term and symbol in nullable for symbol, is_term, _ in rule.expansion):
        return False
    if any(inner and rule.expansion[index][0] in inlining for index, _, inner in spec.plan):
        return False  # a spliced rule that may inline to a bare token
    if rule.expand1 and not rule.alias and _children_count(spec) < 2:
        return False  # may hand its one child on
    return name.startswith("_") or spec.build is not None


def _source(index: int, spec: ReductionSpec, position_only: frozenset[str]) -> list[str]:
    rule = spec.rule
    size = len(rule.expansion)
    names = [f"c{i}" for i in range(size)]
    body = [f"def _reduce_{index}(matched):", f"    {', '.join(names)}{',' if size == 1 else ''} = matched"]
    deep = any(not is_term for _, is_term, _ in rule.expansion)
    if deep:
        body.append("    depth = bound = 0")
    kept = {position for position, _, _ in spec.plan}
    for position, (symbol, is_term, _) in enumerate(rule.expansion):
        body.extend(_read_symbol(position, symbol, is_term, position in kept, position == 0, position == size - 1,
                                 position_only))
    splice_first = bool(spec.plan) and spec.plan[0][0] == 0 and spec.plan[0][1] == 0 and spec.plan[0][2]
    pieces: list[str] = []
    for number, (position, before, inner) in enumerate(spec.plan):
        pieces.extend(["None"] * before)
        if not (number == 0 and splice_first):
            pieces.append(f"*v{position}" if inner else f"v{position}")
    pieces.extend(["None"] * spec.trailing)
    if splice_first:  # the first child's list is this rule's alone (its value is consumed here): extend it
        body.append("    children = v0")
        if pieces:
            body.append(f"    children += [{', '.join(pieces)}]" if len(pieces) > 1 else
                        f"    children.append({pieces[0]})")
    else:
        body.append(f"    children = [{', '.join(pieces)}]")
    levels = ("depth", "bound") if deep else ("0", "0")
    if (rule.alias or rule.name).startswith("_"):
        body.append(f"    return children, start, end, {levels[0]}, {levels[1]}")
        return body
    extra = str(spec.extra) if spec.extra >= 0 else "(len(children) or 1)"
    body.extend([
        "    span = _new(_Span)", "    _set_start(span, start)", "    _set_end(span, end)",
        f"    return _build_{index}(span, children), start, end, {levels[0]} + 1, {levels[1]} + {extra}",
    ])
    return body


def _read_symbol(position: int, symbol: str, is_term: bool, kept: bool, first: bool, last: bool,
                 position_only: frozenset[str]) -> list[str]:
    """Lines reading matched symbol ``position``: its value ``v<n>`` when kept, the start when first, the end
    when last, and its depth and bound when it is a rule's value."""
    item = f"c{position}"
    lines: list[str] = []
    if is_term:
        if symbol in position_only:  # (None, start, end, 0, 0)
            lines += [f"    start = {item}[1]"] * first + [f"    end = {item}[2]"] * last
        else:
            lines += [f"    v{position} = {item}"] * kept
            lines += [f"    start = {item}.start_pos"] * first + [f"    end = {item}.end_pos"] * last
        return lines
    lines.append(f"    if type({item}) is tuple:")
    lines += [f"        v{position} = {item}[0]"] * kept
    lines += [f"        start = {item}[1]"] * first + [f"        end = {item}[2]"] * last
    lines += [f"        if {item}[3] > depth:", f"            depth = {item}[3]",
              f"        if {item}[4] > bound:", f"            bound = {item}[4]"]
    lines.append("    else:")
    lines += [f"        v{position} = {item}"] * kept
    lines += [f"        start = {item}.start_pos"] * first + [f"        end = {item}.end_pos"] * last
    if not (kept or first or last):
        lines.append("        pass")
    return lines
