"""The AST's rule methods: one per grammar rule, ``(span, children) -> node``, shared by both parse paths.

Nothing here imports Lark: a token is any ``str`` subclass carrying ``type``, ``start_pos`` and ``end_pos``
(Lark's ``Token`` on the tree path, the parse loop's own on the tree-less one).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kpl.dsl import ast
from kpl.dsl.nodes import maker
from kpl.dsl.source import Span

__all__ = ["BUILDER", "CHAIN_RULES", "EXTRA_LEVELS", "TEXT_RULES", "AstBuilder", "duration_seconds", "is_token",
           "unquote"]

# Rules whose method nests one node per operand (``a + b + c`` is ``(a + b) + c``), and the rules whose
# method nests more than one node over its children (``sum(x for x in y)`` is a call of a comprehension);
# every other method adds at most one level. The parser bounds AST nesting with these, so a method that
# nests deeper must be listed here (a test compares the bound with the real depth on every corpus file).
CHAIN_RULES = frozenset({"coalesce", "or_test", "and_test", "comparison", "sum", "term"})
EXTRA_LEVELS = {"call_gen": 2}

# Rules whose method, given one token, returns the token's text (``True``: a ``STRING`` token's text unquoted,
# as ``_text`` does; ``False``: the text as it is). The parse loop gives such a rule's value straight from the
# text, with no token or span made (a test holds these methods to it for every terminal of the rules).
TEXT_RULES = {"name": True, "word": True, "field": True, "callee": True, "soft_keyword": False,
              "api_version": False}

# The AST's makers: every field positional, no class call (see kpl.dsl.nodes.maker).
_Affinity = maker(ast.Affinity)
_Binary = maker(ast.Binary)
_Call = maker(ast.Call)
_ClusterSelection = maker(ast.ClusterSelection)
_Component = maker(ast.Component)
_ComponentField = maker(ast.ComponentField)
_Comprehension = maker(ast.Comprehension)
_Conditional = maker(ast.Conditional)
_ConflictResolution = maker(ast.ConflictResolution)
_Current = maker(ast.Current)
_DecisionConditions = maker(ast.DecisionConditions)
_Exclude = maker(ast.Exclude)
_Failover = maker(ast.Failover)
_FnMember = maker(ast.FnMember)
_GetAll = maker(ast.GetAll)
_GetField = maker(ast.GetField)
_GetFiltered = maker(ast.GetFiltered)
_GetIndex = maker(ast.GetIndex)
_GracePeriod = maker(ast.GracePeriod)
_Let = maker(ast.Let)
_LetMember = maker(ast.LetMember)
_ListExpr = maker(ast.ListExpr)
_Literal = maker(ast.Literal)
_MapExpr = maker(ast.MapExpr)
_Not = maker(ast.Not)
_Operation = maker(ast.Operation)
_Overflow = maker(ast.Overflow)
_Pair = maker(ast.Pair)
_Preemption = maker(ast.Preemption)
_Priority = maker(ast.Priority)
_PropagateDeps = maker(ast.PropagateDeps)
_PurgeMode = maker(ast.PurgeMode)
_Quantity = maker(ast.Quantity)
_ReplicaScheduling = maker(ast.ReplicaScheduling)
_ResourceLimit = maker(ast.ResourceLimit)
_ResourceSelector = maker(ast.ResourceSelector)
_Root = maker(ast.Root)
_SchedulerName = maker(ast.SchedulerName)
_Spread = maker(ast.Spread)
_SpreadConstraint = maker(ast.SpreadConstraint)
_StatePreservationRule = maker(ast.StatePreservationRule)
_StaticAssignment = maker(ast.StaticAssignment)
_StaticWeight = maker(ast.StaticWeight)
_Suspension = maker(ast.Suspension)
_Toleration = maker(ast.Toleration)
_Unary = maker(ast.Unary)
_Update = maker(ast.Update)
_Var = maker(ast.Var)
_With = maker(ast.With)

_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
_PURGE = {"directly": "Directly", "gracefully": "Gracefully", "never": "Never"}


def unquote(text: str) -> str:
    """The value of a string literal (double or single quoted, with backslash escapes)."""
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(escapes.get(body[index + 1], body[index + 1]))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def duration_seconds(text: str) -> int:
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(int(text[: -len(unit)]) * _DURATION_UNITS[unit])
    raise ValueError(text)


def is_token(item: object) -> bool:
    """Whether a child is a token (a ``str`` subclass); built names and values are plain ``str``."""
    return type(item) is not str and isinstance(item, str)


def _up_to(span: Span, last: Any) -> Span:
    """The node's span ending at its ``last`` token (leaving out an optional trailing comma)."""
    return Span(span.start, _tok_span(last).end)


def _text(item: Any) -> str:
    """The user-facing text of a name-like child (a token, or a string already transformed)."""
    kind = type(item)
    if kind is not str and issubclass(kind, str):  # a token (``is_token`` inline)
        return unquote(str(item)) if item.type == "STRING" else str(item)
    return str(item)


def _tok_span(token: Any) -> Span:
    start = token.start_pos or 0
    return Span(start, token.end_pos if token.end_pos is not None else start + len(token))


class AstBuilder:
    """Builds AST nodes bottom-up, one method per grammar rule (or alias): ``(span, children) -> node``.

    ``span`` covers every token the rule matched (Lark's propagated positions); ``children`` are the
    rule's kept children, already built. The same methods serve the tree-less parser and ``ToAst``."""

    # ---------------------------------------------------------------- shared pieces
    def name(self, span: Span, children: list[Any]) -> str:
        return _text(children[0])

    def word(self, span: Span, children: list[Any]) -> str:
        return _text(children[0])

    def soft_keyword(self, span: Span, children: list[Any]) -> str:
        return str(children[0])

    def field(self, span: Span, children: list[Any]) -> str:
        return _text(children[0])

    def callee(self, span: Span, children: list[Any]) -> str:
        return _text(children[0])

    def api_version(self, span: Span, children: list[Any]) -> str:
        return str(children[0])

    def signed_int(self, span: Span, children: list[Any]) -> int:
        return -int(children[1]) if len(children) == 2 else int(children[0])

    def name_list(self, span: Span, children: list[Any]) -> tuple[str, ...]:
        return tuple(children)

    def namespace_clause(self, span: Span, children: list[Any]) -> str:
        return str(children[-1])

    def named_clause(self, span: Span, children: list[Any]) -> str:
        return str(children[0])

    def where_clause(self, span: Span, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    def duration_clause(self, span: Span, children: list[Any]) -> int:
        return duration_seconds(str(children[0]))

    def start(self, span: Span, children: list[Any]) -> list[Any]:
        return children

    # ---------------------------------------------------------------- interpreter
    def interpreter_decl(self, span: Span, children: list[Any]) -> ast.Interpreter:
        api_version, kind, *members = children
        return ast.Interpreter(api_version, kind, tuple(members), span=span)

    def let_member(self, span: Span, children: list[Any]) -> ast.LetMember:
        return _LetMember(str(children[0]), children[1], span)

    def fn_member(self, span: Span, children: list[Any]) -> ast.FnMember:
        name, params, body = children
        return _FnMember(str(name), tuple(params or ()), body, span)

    def params(self, span: Span, children: list[Any]) -> tuple[str, ...]:
        return tuple(str(c) for c in children)

    def op_member(self, span: Span, children: list[Any]) -> ast.Operation:
        return _Operation(children[0], children[1], span)

    def component_member(self, span: Span, children: list[Any]) -> ast.Component:
        return _Component(children[0], tuple(children[1:]), span)

    def component_field(self, span: Span, children: list[Any]) -> ast.ComponentField:
        return _ComponentField(children[0], children[1], span)

    # ---------------------------------------------------------------- policies
    def policy_decl(self, span: Span, children: list[Any]) -> ast.Policy:
        cluster, name, namespace, *items = children
        return ast.Policy(name, namespace, cluster is not None, tuple(items), span=span)

    def select_item(self, span: Span, children: list[Any]) -> ast.ResourceSelector:
        api_version, kind, name, namespace, where = children
        return _ResourceSelector(api_version, kind, name, namespace, where, span)

    def priority_item(self, span: Span, children: list[Any]) -> ast.Priority:
        return _Priority(children[0], span)

    def preemption_item(self, span: Span, children: list[Any]) -> ast.Preemption:
        return _Preemption(children[0], span)

    def clusters_item(self, span: Span, children: list[Any]) -> ast.ClusterSelection:
        value = children[0]
        if isinstance(value, tuple):
            return _ClusterSelection(value, None, span)
        return _ClusterSelection((), value, span)

    def exclude_item(self, span: Span, children: list[Any]) -> ast.Exclude:
        return _Exclude(children[0], span)

    def tolerate_item(self, span: Span, children: list[Any]) -> ast.Toleration:
        toleration: ast.Toleration = children[0]
        return replace(toleration, span=span)

    def toleration_equal(self, span: Span, children: list[Any]) -> ast.Toleration:
        key, value, effect, seconds = children
        return _Toleration(key, "Equal", value, effect or "", seconds, span)

    def toleration_exists(self, span: Span, children: list[Any]) -> ast.Toleration:
        key, effect, seconds = children
        return _Toleration(key, "Exists", "", effect or "", seconds, span)

    def toleration_all(self, span: Span, children: list[Any]) -> ast.Toleration:
        effect, seconds = children
        return _Toleration("", "Exists", "", effect or "", seconds, span)

    def spread_item(self, span: Span, children: list[Any]) -> ast.SpreadConstraint:
        (by_field, by_label), low, high = children
        return _SpreadConstraint(
            by_field, by_label, None if low is None else int(low), None if high is None else int(high), span,
        )

    def spread_field(self, span: Span, children: list[Any]) -> tuple[str | None, str | None]:
        return children[0], None

    def spread_label(self, span: Span, children: list[Any]) -> tuple[str | None, str | None]:
        return None, children[0]

    def replicas_item(self, span: Span, children: list[Any]) -> ast.ReplicaScheduling:
        mode, weights = children[0]
        return _ReplicaScheduling(mode, weights, span)

    def mode_duplicated(self, span: Span, children: list[Any]) -> tuple[str, tuple[()]]:
        return "duplicated", ()

    def mode_aggregated(self, span: Span, children: list[Any]) -> tuple[str, tuple[()]]:
        return "aggregated", ()

    def mode_dynamic(self, span: Span, children: list[Any]) -> tuple[str, tuple[()]]:
        return "dynamic", ()

    def mode_static(self, span: Span, children: list[Any]) -> tuple[str, tuple[ast.StaticWeight, ...]]:
        return "static", tuple(c for c in children if c is not None)

    def weight_cluster(self, span: Span, children: list[Any]) -> ast.StaticWeight:
        return _StaticWeight(children[0], None, int(children[1]), _up_to(span, children[1]))

    def weight_selector(self, span: Span, children: list[Any]) -> ast.StaticWeight:
        return _StaticWeight(None, children[0], int(children[1]), _up_to(span, children[1]))

    def affinity_item(self, span: Span, children: list[Any]) -> ast.Affinity:
        name, *members = children
        items = tuple(m for m in members if not isinstance(m, ast.Overflow))
        overflow = tuple(m for m in members if isinstance(m, ast.Overflow))
        return _Affinity(name, items, overflow, span)

    def overflow_item(self, span: Span, children: list[Any]) -> ast.Overflow:
        return _Overflow(children[0], tuple(children[1:]), span)

    def failover_item(self, span: Span, children: list[Any]) -> ast.Failover:
        return _Failover(children[0], tuple(children[1:]), span)

    def purge_item(self, span: Span, children: list[Any]) -> ast.PurgeMode:
        mode = str(children[0])
        return _PurgeMode(_PURGE.get(mode.lower(), mode), span)

    def grace_item(self, span: Span, children: list[Any]) -> ast.GracePeriod:
        return _GracePeriod(duration_seconds(str(children[0])), span)

    def decision_item(self, span: Span, children: list[Any]) -> ast.DecisionConditions:
        return _DecisionConditions(duration_seconds(str(children[0])), span)

    def preserve_item(self, span: Span, children: list[Any]) -> ast.StatePreservationRule:
        return _StatePreservationRule(children[0], unquote(str(children[1])), span)

    def propagate_item(self, span: Span, children: list[Any]) -> ast.PropagateDeps:
        return _PropagateDeps(span)

    def scheduler_item(self, span: Span, children: list[Any]) -> ast.SchedulerName:
        return _SchedulerName(children[0], span)

    def conflict_item(self, span: Span, children: list[Any]) -> ast.ConflictResolution:
        return _ConflictResolution(children[0], span)

    def suspend_item(self, span: Span, children: list[Any]) -> ast.Suspension:
        return _Suspension(children[0], span)

    # ---------------------------------------------------------------- quotas
    def quota_decl(self, span: Span, children: list[Any]) -> ast.Quota:
        name, namespace, *members = children
        overall: list[ast.ResourceLimit] = []
        assignments: list[ast.StaticAssignment] = []
        for member in members:
            if isinstance(member, ast.StaticAssignment):
                assignments.append(member)
            else:
                overall.extend(member)
        return ast.Quota(name, namespace, tuple(overall), tuple(assignments), span=span)

    def overall_block(self, span: Span, children: list[Any]) -> tuple[ast.ResourceLimit, ...]:
        return tuple(children)

    def assignment_block(self, span: Span, children: list[Any]) -> ast.StaticAssignment:
        return _StaticAssignment(children[0], tuple(children[1:]), span)

    def resource_limit(self, span: Span, children: list[Any]) -> ast.ResourceLimit:
        value = children[1]
        value_span = _tok_span(value) if is_token(value) else span
        span = Span(span.start, value_span.end)  # without the optional trailing comma
        return _ResourceLimit(children[0], _text(value), span, value_span)

    # ---------------------------------------------------------------- expressions
    def let_expr(self, span: Span, children: list[Any]) -> ast.Let:
        return _Let(str(children[0]), children[1], children[2], span)

    def if_expr(self, span: Span, children: list[Any]) -> ast.Conditional:
        return _Conditional(children[0], children[1], children[2], span)

    def _chain(self, span: Span, children: list[Any], op: str) -> ast.Expr:
        result: ast.Expr = children[0]
        for right in children[1:]:
            result = _Binary(op, result, right, _cover(result, right, span))
        return result

    def coalesce(self, span: Span, children: list[Any]) -> ast.Expr:
        return self._chain(span, children, "??")

    def or_test(self, span: Span, children: list[Any]) -> ast.Expr:
        return self._chain(span, children, "or")

    def and_test(self, span: Span, children: list[Any]) -> ast.Expr:
        return self._chain(span, children, "and")

    def not_op(self, span: Span, children: list[Any]) -> ast.Not:
        return _Not(children[0], span)

    def _operators(self, span: Span, children: list[Any]) -> ast.Expr:
        result: ast.Expr = children[0]
        for index in range(1, len(children), 2):
            op = " ".join(str(children[index]).split())
            right = children[index + 1]
            result = _Binary(op, result, right, _cover(result, right, span))
        return result

    comparison = sum = term = _operators

    def neg(self, span: Span, children: list[Any]) -> ast.Expr:
        operand = children[1]
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)) and not isinstance(
            operand.value, bool
        ):
            return _Literal(-operand.value, span)
        return _Unary("-", operand, span)

    def get_field(self, span: Span, children: list[Any]) -> ast.GetField:
        return _GetField(children[0], children[1], span)

    def get_index(self, span: Span, children: list[Any]) -> ast.GetIndex:
        return _GetIndex(children[0], children[1], span)

    def get_all(self, span: Span, children: list[Any]) -> ast.GetAll:
        return _GetAll(children[0], span)

    def get_filtered(self, span: Span, children: list[Any]) -> ast.GetFiltered:
        return _GetFiltered(children[0], children[1], span)

    def with_update(self, span: Span, children: list[Any]) -> ast.With:
        return _With(children[0], tuple(children[1] or ()), span)

    def updates(self, span: Span, children: list[Any]) -> tuple[ast.Update, ...]:
        return tuple(children)

    def update(self, span: Span, children: list[Any]) -> ast.Update:
        return _Update(children[0], children[1], span)

    def update_path(self, span: Span, children: list[Any]) -> tuple[str, ...]:
        return tuple(_text(c) for c in children)

    def var(self, span: Span, children: list[Any]) -> ast.Var:
        return _Var(str(children[0]), span)

    def current(self, span: Span, children: list[Any]) -> ast.Current:
        return _Current(span)

    def root(self, span: Span, children: list[Any]) -> ast.Root:
        return _Root(span)

    def root_field(self, span: Span, children: list[Any]) -> ast.GetField:
        return _GetField(_Root(span), children[0], span)

    def root_index(self, span: Span, children: list[Any]) -> ast.GetIndex:
        return _GetIndex(_Root(span), children[0], span)

    def call(self, span: Span, children: list[Any]) -> ast.Call:
        return _Call(children[0], tuple(children[1] or ()), span)

    def call_gen(self, span: Span, children: list[Any]) -> ast.Call:
        function, element, (targets, iterable, condition) = children
        comp = _Comprehension(element, targets, iterable, condition, span)
        return _Call(function, (comp,), span)

    def args(self, span: Span, children: list[Any]) -> tuple[ast.Expr, ...]:
        return tuple(children)

    items = entries = args

    def list_expr(self, span: Span, children: list[Any]) -> ast.ListExpr:
        return _ListExpr(tuple(children[0] or ()), span)

    def spread(self, span: Span, children: list[Any]) -> ast.Spread:
        return _Spread(children[0], span)

    def list_comp(self, span: Span, children: list[Any]) -> ast.Comprehension:
        element, (targets, iterable, condition) = children
        return _Comprehension(element, targets, iterable, condition, span)

    def comp_for(self, span: Span, children: list[Any]) -> tuple[tuple[str, ...], ast.Expr, ast.Expr | None]:
        targets, _in, iterable, condition = children
        return targets, iterable, condition

    def targets(self, span: Span, children: list[Any]) -> tuple[str, ...]:
        return tuple(str(c) for c in children if c is not None)

    def map_expr(self, span: Span, children: list[Any]) -> ast.MapExpr:
        return _MapExpr(tuple(children[0] or ()), span)

    def pair(self, span: Span, children: list[Any]) -> ast.Pair:
        return _Pair(children[0], children[1], span)

    def computed_pair(self, span: Span, children: list[Any]) -> ast.Pair:
        return _Pair(children[0], children[1], span)

    def int_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(int(children[0]), span)

    def number_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(float(children[0]), span)

    def quantity_lit(self, span: Span, children: list[Any]) -> ast.Quantity:
        return _Quantity(str(children[0]), span)

    def string_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(unquote(str(children[0])), span)

    def true_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(True, span)

    def false_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(False, span)

    def null_lit(self, span: Span, children: list[Any]) -> ast.Literal:
        return _Literal(None, span)


def _cover(left: ast.Expr, right: ast.Expr, span: Span) -> Span:
    covered = left.span.cover(right.span)
    return covered if covered.end > covered.start else span


BUILDER = AstBuilder()
