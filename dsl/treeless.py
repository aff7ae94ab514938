"""Parser callbacks that build the AST while parsing, with no Lark tree in between.

Each reduction gets the values of the symbols it matched: tokens, and for rules already reduced a
*located value*, the plain tuple ``(value, start, end, depth, bound)``. ``start``/``end`` cover every token
the rule matched, widened by enclosing inlined rules (``?rule: "(" expr ")"``), -1 when it has none;
``depth`` is the height of the tree Lark would have built (inlined and ``_rule`` levels do not count);
``bound`` is at least that and at least the nesting depth of the AST nodes in the value (a rule method adds
one level over its children, or a few: see ``kpl.dsl.builder.EXTRA_LEVELS``), so a parse whose bound is
within the nesting limit needs no walk of its AST to prove it.
A tuple is the cheapest object Python builds, and no built value ever reaches the loop bare as a tuple
(every one is wrapped), so ``type(x) is tuple`` tells a located value from a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kpl.dsl.builder import BUILDER, CHAIN_RULES, EXTRA_LEVELS, TEXT_RULES, is_token, unquote
from kpl.dsl.grammar_tables import RuleShape
from kpl.dsl.reductions import ReductionSpec, compile_reductions, load_reductions
from kpl.dsl.source import NO_SPAN, Span

__all__ = ["Callback", "located_value", "passthrough", "position_only_terminals", "text_reductions",
           "treeless_callbacks"]

Callback = Callable[[list[Any]], Any]
_Plan = list[tuple[int, int, bool]]  # (index in the matched symbols, Nones before it, splice it)

_new_object = object.__new__
_set_start: Callable[[Span, int], None] = getattr(Span, "start").__set__  # noqa: B009 - the slot itself
_set_end: Callable[[Span, int], None] = getattr(Span, "end").__set__  # noqa: B009


def _span(start: int, end: int) -> Span:
    """``Span(start, end)`` without the frozen dataclass's ``__init__`` (two slot stores instead)."""
    span: Span = _new_object(Span)
    _set_start(span, start)
    _set_end(span, end)
    return span


def located_value(result: Any) -> tuple[Any, int, int]:
    """The value of what a tree-less parse returned (a located value, or a bare token), its tree depth and
    the bound on its AST nesting."""
    return (result[0], result[3], result[4]) if type(result) is tuple else (result, 0, 0)


def treeless_callbacks(rules: Iterable[RuleShape], *, compiled: bool = True, cache_folder: Path | None = None,
                       tables_key: str = "") -> list[Callback]:
    """Parser callbacks that build the AST while parsing (no Lark tree), with the same children and
    spans as ``ToAst`` over a tree built with ``propagate_positions`` and ``maybe_placeholders``.

    Lark's own inline transformers cannot see positions, so this mirrors its tree builder: anonymous
    tokens are filtered out, ``None`` fills each absent ``[optional]``, ``_rule`` children are spliced
    and a ``?rule`` left with one child is that child (its extent widened to the rule's tokens).

    Rules of the common shapes get a callback compiled for their symbols (:mod:`kpl.dsl.reductions`); with
    ``compiled=False`` every rule keeps the generic one (the two give the same values); their code is kept in
    ``cache_folder`` when one is given, found again by ``tables_key`` (the tables' own key) without the rules
    being looked at."""
    listed = list(rules)
    if compiled and tables_key:
        found = load_reductions(tables_key, cache_folder, lambda index: _build_of(listed[index]))
        if found is not None:
            return [found.get(index) or _rule_callback(rule) for index, rule in enumerate(listed)]
    callbacks = [_rule_callback(rule) for rule in listed]
    if compiled:
        specs = {index: spec for index, rule in enumerate(listed)
                 if callbacks[index] is not passthrough and (spec := _spec(rule)) is not None}
        made = compile_reductions(specs, listed, position_only_terminals(listed), cache_folder, tables_key)
        for index, callback in made.items():
            callbacks[index] = callback
    return callbacks


def _build_of(rule: RuleShape) -> Callable[[Span, list[Any]], Any] | None:
    name = rule.alias or rule.name
    return None if name.startswith("_") else getattr(BUILDER, name, None)


def _spec(rule: RuleShape) -> ReductionSpec | None:
    plan, trailing = _plan(rule)
    build = _build_of(rule)
    if build is not None and len(rule.expansion) == 1 and rule.expansion[0][1] and plan == [(0, 0, False)]:
        return None  # a rule of one kept token: ``_one_token`` already does the least
    return ReductionSpec(rule, plan, trailing, build, _extra_levels(rule.alias or rule.name))


def position_only_terminals(rules: Iterable[RuleShape]) -> frozenset[str]:
    """Terminals that every rule drops (punctuation, most keywords): the callbacks only need their
    positions, so the parser may hand them over as ``(None, start, end, 0, 0)``."""
    kept: set[str] = set()
    dropped: set[str] = set()
    for rule in rules:
        for name, is_term, filter_out in rule.expansion:
            if is_term:
                drop = filter_out and not rule.keep_all_tokens
                (dropped if drop else kept).add(name)
    return frozenset(dropped - kept)


def _placeholders(rule: RuleShape) -> list[int]:
    """How many ``None`` go before each symbol of the expansion, and at its end."""
    empty = rule.empty_indices
    if not empty:
        return [0] * (len(rule.expansion) + 1)
    return [len(ones) for ones in "".join(str(int(b)) for b in empty).split("0")]


def _plan(rule: RuleShape) -> tuple[_Plan, int]:
    nones = _placeholders(rule)
    plan: _Plan = []
    pending = 0
    for index, (name, is_term, filter_out) in enumerate(rule.expansion):
        pending += nones[index]
        if rule.keep_all_tokens or not (is_term and filter_out):
            plan.append((index, pending, not is_term and name.startswith("_")))
            pending = 0
    return plan, pending + nones[len(rule.expansion)]


def passthrough(matched: list[Any]) -> Any:
    """A ``?rule`` of one kept symbol: the child itself, extent unchanged (the loop does this inline)."""
    return matched[0]


def _rule_callback(rule: RuleShape) -> Callback:
    plan, trailing = _plan(rule)
    inline = bool(rule.expand1 and not rule.alias)
    if inline and len(rule.expansion) == 1 and plan == [(0, 0, False)] and not trailing:
        return passthrough
    name = rule.alias or rule.name
    splice = name.startswith("_")
    build: Callable[[Span, list[Any]], Any] | None = None if splice else getattr(BUILDER, name, None)
    simple = not trailing and all(before == 0 and not inner for _, before, inner in plan)
    if (build is not None and simple and not inline and plan == [(0, 0, False)] and len(rule.expansion) == 1
            and rule.expansion[0][1]):
        return _one_token(build)
    return _general(name, build, plan, trailing, simple, inline, splice)


def text_reductions(rules: Iterable[RuleShape]) -> dict[int, Callable[[str], str] | None]:
    """The rules (by index) of one kept terminal whose value is the token's text: the callback gives
    ``(text(token), start, end, 1, 1)`` with ``text`` the function here (None: the text as it is), so the parse
    loop may make that value from the text alone, with no token or span."""
    found: dict[int, Callable[[str], str] | None] = {}
    for index, rule in enumerate(rules):
        name = rule.alias or rule.name
        if name not in TEXT_RULES or _build_of(rule) is None:
            continue
        plan, trailing = _plan(rule)
        if (len(rule.expansion) == 1 and rule.expansion[0][1] and plan == [(0, 0, False)] and not trailing
                and not (rule.expand1 and not rule.alias)):
            found[index] = unquote if TEXT_RULES[name] and rule.expansion[0][0] == "STRING" else None
    return found


def _extra_levels(name: str) -> int:
    """How many AST levels the rule's value may add over its children's (-1: one per child, a chain)."""
    return -1 if name in CHAIN_RULES else EXTRA_LEVELS.get(name, 1)


def _one_token(build: Callable[[Span, list[Any]], Any]) -> Callback:
    """A rule of one kept token (``name: IDENT``, literals): its extent is the token's."""

    def callback(matched: list[Any]) -> Any:
        token = matched[0]
        start, end = token.start_pos, token.end_pos
        span: Span = _new_object(Span)  # ``_span`` inline: this runs for every name and literal
        _set_start(span, start)
        _set_end(span, end)
        return build(span, matched), start, end, 1, 1

    return callback


def _general(name: str, build: Callable[[Span, list[Any]], Any] | None, plan: _Plan, trailing: int,
             simple: bool, inline: bool, splice: bool) -> Callback:
    indices = [index for index, _, _ in plan]
    every = indices == list(range(len(indices)))  # every symbol kept, in order (compared with the size below)
    extra = _extra_levels(name)

    def callback(matched: list[Any]) -> Any:
        start = end = -1
        depth = bound = 0
        for child in matched:
            if type(child) is tuple:
                if child[3] > depth:
                    depth = child[3]
                if child[4] > bound:
                    bound = child[4]
                if child[1] >= 0:
                    end = child[2]
                    if start < 0:
                        start = child[1]
            else:
                end = child.end_pos
                if start < 0:
                    start = child.start_pos
        if not simple:
            children = _filtered(matched, plan, trailing)
        elif every and len(matched) == len(indices):
            children = [c[0] if type(c) is tuple else c for c in matched]
        else:
            children = [c[0] if type(c) is tuple else c for c in [matched[i] for i in indices]]
        if inline and len(children) == 1:
            return _inlined(matched, plan, children[0], start, end, bound)
        if splice:
            return children, start, end, depth, bound
        span = _span(start, end) if start >= 0 else NO_SPAN
        value = _tree(name, children) if build is None else build(span, children)
        return value, start, end, depth + 1, bound + (extra if extra >= 0 else max(len(children), 1))

    return callback


def _filtered(matched: list[Any], plan: _Plan, trailing: int) -> list[Any]:
    children: list[Any] = []
    for index, before, splice in plan:
        if before:
            children.extend([None] * before)
        child = matched[index]
        if splice:
            children.extend(child[0])
        else:
            children.append(child[0] if type(child) is tuple else child)
    if trailing:
        children.extend([None] * trailing)
    return children


def _inlined(matched: list[Any], plan: _Plan, value: Any, start: int, end: int, bound: int) -> Any:
    """A ``?rule`` reduced to its one child: a token stays as it is, a built value takes the rule's extent."""
    child = matched[plan[0][0]] if len(plan) == 1 and not plan[0][2] else None
    if type(child) is tuple:
        return child if start < 0 else (value, start, end, child[3], child[4])
    if child is not None or value is None or is_token(value):
        return child if child is not None else value
    return value, start, end, 1, max(bound, 1)


def _tree(name: str, children: list[Any]) -> Any:
    """A Lark tree for a rule no AST method builds (none in kpl's grammar; Lark is imported only then)."""
    from lark import Tree

    return Tree(name, children)
