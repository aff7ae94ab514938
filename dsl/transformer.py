"""The one Transformer: ``lark.Tree`` to ``kpl.dsl.ast`` nodes. Lark trees never leave ``kpl.dsl``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from kpl.dsl import ast
from kpl.dsl.source import Span

__all__ = ["ToAst", "duration_seconds", "unquote"]

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


def _span(meta: Meta) -> Span:
    if getattr(meta, "empty", True):
        return Span(0, 0)
    return Span(meta.start_pos, meta.end_pos)


def _up_to(meta: Meta, last: Token) -> Span:
    """The node's span ending at its ``last`` token (leaving out an optional trailing comma)."""
    return Span(_span(meta).start, _tok_span(last).end)


def _text(item: Any) -> str:
    """The user-facing text of a name-like child (a token, or a string already transformed)."""
    if isinstance(item, Token):
        return unquote(str(item)) if item.type == "STRING" else str(item)
    return str(item)


def _tok_span(token: Token) -> Span:
    start = token.start_pos or 0
    return Span(start, token.end_pos if token.end_pos is not None else start + len(token))


@v_args(meta=True)
class ToAst(Transformer[Token, Any]):
    """Builds AST nodes bottom-up; spans come from Lark's propagated positions."""

    # ---------------------------------------------------------------- shared pieces
    def name(self, meta: Meta, children: list[Any]) -> str:
        return _text(children[0])

    def word(self, meta: Meta, children: list[Any]) -> str:
        return _text(children[0])

    def soft_keyword(self, meta: Meta, children: list[Any]) -> str:
        return str(children[0])

    def field(self, meta: Meta, children: list[Any]) -> str:
        return _text(children[0])

    def callee(self, meta: Meta, children: list[Any]) -> str:
        return _text(children[0])

    def api_version(self, meta: Meta, children: list[Any]) -> str:
        return str(children[0])

    def signed_int(self, meta: Meta, children: list[Any]) -> int:
        return -int(children[1]) if len(children) == 2 else int(children[0])

    def name_list(self, meta: Meta, children: list[Any]) -> tuple[str, ...]:
        return tuple(children)

    def namespace_clause(self, meta: Meta, children: list[Any]) -> str:
        return str(children[-1])

    def named_clause(self, meta: Meta, children: list[Any]) -> str:
        return str(children[0])

    def where_clause(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return children[0]  # type: ignore[no-any-return]

    def duration_clause(self, meta: Meta, children: list[Any]) -> int:
        return duration_seconds(str(children[0]))

    def start(self, meta: Meta, children: list[Any]) -> list[Any]:
        return children

    # ---------------------------------------------------------------- interpreter
    def interpreter_decl(self, meta: Meta, children: list[Any]) -> ast.Interpreter:
        api_version, kind, *members = children
        return ast.Interpreter(api_version, kind, tuple(members), span=_span(meta))

    def let_member(self, meta: Meta, children: list[Any]) -> ast.LetMember:
        return ast.LetMember(str(children[0]), children[1], span=_span(meta))

    def fn_member(self, meta: Meta, children: list[Any]) -> ast.FnMember:
        name, params, body = children
        return ast.FnMember(str(name), tuple(params or ()), body, span=_span(meta))

    def params(self, meta: Meta, children: list[Any]) -> tuple[str, ...]:
        return tuple(str(c) for c in children)

    def op_member(self, meta: Meta, children: list[Any]) -> ast.Operation:
        return ast.Operation(children[0], children[1], span=_span(meta))

    def component_member(self, meta: Meta, children: list[Any]) -> ast.Component:
        return ast.Component(children[0], tuple(children[1:]), span=_span(meta))

    def component_field(self, meta: Meta, children: list[Any]) -> ast.ComponentField:
        return ast.ComponentField(children[0], children[1], span=_span(meta))

    # ---------------------------------------------------------------- policies
    def policy_decl(self, meta: Meta, children: list[Any]) -> ast.Policy:
        cluster, name, namespace, *items = children
        return ast.Policy(name, namespace, cluster is not None, tuple(items), span=_span(meta))

    def select_item(self, meta: Meta, children: list[Any]) -> ast.ResourceSelector:
        api_version, kind, name, namespace, where = children
        return ast.ResourceSelector(api_version, kind, name, namespace, where, span=_span(meta))

    def priority_item(self, meta: Meta, children: list[Any]) -> ast.Priority:
        return ast.Priority(children[0], span=_span(meta))

    def preemption_item(self, meta: Meta, children: list[Any]) -> ast.Preemption:
        return ast.Preemption(children[0], span=_span(meta))

    def clusters_item(self, meta: Meta, children: list[Any]) -> ast.ClusterSelection:
        value = children[0]
        if isinstance(value, tuple):
            return ast.ClusterSelection(value, None, span=_span(meta))
        return ast.ClusterSelection((), value, span=_span(meta))

    def exclude_item(self, meta: Meta, children: list[Any]) -> ast.Exclude:
        return ast.Exclude(children[0], span=_span(meta))

    def tolerate_item(self, meta: Meta, children: list[Any]) -> ast.Toleration:
        toleration: ast.Toleration = children[0]
        return replace(toleration, span=_span(meta))

    def toleration_equal(self, meta: Meta, children: list[Any]) -> ast.Toleration:
        key, value, effect, seconds = children
        return ast.Toleration(key, "Equal", value, effect, seconds, span=_span(meta))

    def toleration_exists(self, meta: Meta, children: list[Any]) -> ast.Toleration:
        key, effect, seconds = children
        return ast.Toleration(key, "Exists", "", effect or "", seconds, span=_span(meta))

    def toleration_all(self, meta: Meta, children: list[Any]) -> ast.Toleration:
        effect, seconds = children
        return ast.Toleration("", "Exists", "", effect or "", seconds, span=_span(meta))

    def spread_item(self, meta: Meta, children: list[Any]) -> ast.SpreadConstraint:
        (by_field, by_label), low, high = children
        return ast.SpreadConstraint(
            by_field, by_label, None if low is None else int(low), None if high is None else int(high),
            span=_span(meta),
        )

    def spread_field(self, meta: Meta, children: list[Any]) -> tuple[str | None, str | None]:
        return children[0], None

    def spread_label(self, meta: Meta, children: list[Any]) -> tuple[str | None, str | None]:
        return None, children[0]

    def replicas_item(self, meta: Meta, children: list[Any]) -> ast.ReplicaScheduling:
        mode, weights = children[0]
        return ast.ReplicaScheduling(mode, weights, span=_span(meta))

    def mode_duplicated(self, meta: Meta, children: list[Any]) -> tuple[str, tuple[()]]:
        return "duplicated", ()

    def mode_aggregated(self, meta: Meta, children: list[Any]) -> tuple[str, tuple[()]]:
        return "aggregated", ()

    def mode_dynamic(self, meta: Meta, children: list[Any]) -> tuple[str, tuple[()]]:
        return "dynamic", ()

    def mode_static(self, meta: Meta, children: list[Any]) -> tuple[str, tuple[ast.StaticWeight, ...]]:
        return "static", tuple(c for c in children if c is not None)

    def weight_cluster(self, meta: Meta, children: list[Any]) -> ast.StaticWeight:
        return ast.StaticWeight(children[0], None, int(children[1]), span=_up_to(meta, children[1]))

    def weight_selector(self, meta: Meta, children: list[Any]) -> ast.StaticWeight:
        return ast.StaticWeight(None, children[0], int(children[1]), span=_up_to(meta, children[1]))

    def affinity_item(self, meta: Meta, children: list[Any]) -> ast.Affinity:
        name, *members = children
        items = tuple(m for m in members if not isinstance(m, ast.Overflow))
        overflow = tuple(m for m in members if isinstance(m, ast.Overflow))
        return ast.Affinity(name, items, overflow, span=_span(meta))

    def overflow_item(self, meta: Meta, children: list[Any]) -> ast.Overflow:
        return ast.Overflow(children[0], tuple(children[1:]), span=_span(meta))

    def failover_item(self, meta: Meta, children: list[Any]) -> ast.Failover:
        return ast.Failover(children[0], tuple(children[1:]), span=_span(meta))

    def purge_item(self, meta: Meta, children: list[Any]) -> ast.PurgeMode:
        mode = str(children[0])
        return ast.PurgeMode(_PURGE.get(mode.lower(), mode), span=_span(meta))

    def grace_item(self, meta: Meta, children: list[Any]) -> ast.GracePeriod:
        return ast.GracePeriod(duration_seconds(str(children[0])), span=_span(meta))

    def decision_item(self, meta: Meta, children: list[Any]) -> ast.DecisionConditions:
        return ast.DecisionConditions(duration_seconds(str(children[0])), span=_span(meta))

    def preserve_item(self, meta: Meta, children: list[Any]) -> ast.StatePreservationRule:
        return ast.StatePreservationRule(children[0], unquote(str(children[1])), span=_span(meta))

    def propagate_item(self, meta: Meta, children: list[Any]) -> ast.PropagateDeps:
        return ast.PropagateDeps(span=_span(meta))

    def scheduler_item(self, meta: Meta, children: list[Any]) -> ast.SchedulerName:
        return ast.SchedulerName(children[0], span=_span(meta))

    def conflict_item(self, meta: Meta, children: list[Any]) -> ast.ConflictResolution:
        return ast.ConflictResolution(children[0], span=_span(meta))

    def suspend_item(self, meta: Meta, children: list[Any]) -> ast.Suspension:
        return ast.Suspension(children[0], span=_span(meta))

    # ---------------------------------------------------------------- quotas
    def quota_decl(self, meta: Meta, children: list[Any]) -> ast.Quota:
        name, namespace, *members = children
        overall: list[ast.ResourceLimit] = []
        assignments: list[ast.StaticAssignment] = []
        for member in members:
            if isinstance(member, ast.StaticAssignment):
                assignments.append(member)
            else:
                overall.extend(member)
        return ast.Quota(name, namespace, tuple(overall), tuple(assignments), span=_span(meta))

    def overall_block(self, meta: Meta, children: list[Any]) -> tuple[ast.ResourceLimit, ...]:
        return tuple(children)

    def assignment_block(self, meta: Meta, children: list[Any]) -> ast.StaticAssignment:
        return ast.StaticAssignment(children[0], tuple(children[1:]), span=_span(meta))

    def resource_limit(self, meta: Meta, children: list[Any]) -> ast.ResourceLimit:
        value = children[1]
        value_span = _tok_span(value) if isinstance(value, Token) else _span(meta)
        span = Span(_span(meta).start, value_span.end)  # without the optional trailing comma
        return ast.ResourceLimit(children[0], _text(value), span=span, value_span=value_span)

    # ---------------------------------------------------------------- expressions
    def let_expr(self, meta: Meta, children: list[Any]) -> ast.Let:
        return ast.Let(str(children[0]), children[1], children[2], span=_span(meta))

    def if_expr(self, meta: Meta, children: list[Any]) -> ast.Conditional:
        return ast.Conditional(children[0], children[1], children[2], span=_span(meta))

    def _chain(self, meta: Meta, children: list[Any], op: str) -> ast.Expr:
        result: ast.Expr = children[0]
        for right in children[1:]:
            result = ast.Binary(op, result, right, span=_cover(result, right, meta))
        return result

    def coalesce(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._chain(meta, children, "??")

    def or_test(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._chain(meta, children, "or")

    def and_test(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._chain(meta, children, "and")

    def not_op(self, meta: Meta, children: list[Any]) -> ast.Not:
        return ast.Not(children[0], span=_span(meta))

    def _operators(self, meta: Meta, children: list[Any]) -> ast.Expr:
        result: ast.Expr = children[0]
        for index in range(1, len(children), 2):
            op = " ".join(str(children[index]).split())
            right = children[index + 1]
            result = ast.Binary(op, result, right, span=_cover(result, right, meta))
        return result

    comparison = sum = term = _operators

    def neg(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand = children[1]
        if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)) and not isinstance(
            operand.value, bool
        ):
            return ast.Literal(-operand.value, span=_span(meta))
        return ast.Unary("-", operand, span=_span(meta))

    def get_field(self, meta: Meta, children: list[Any]) -> ast.GetField:
        return ast.GetField(children[0], children[1], span=_span(meta))

    def get_index(self, meta: Meta, children: list[Any]) -> ast.GetIndex:
        return ast.GetIndex(children[0], children[1], span=_span(meta))

    def get_all(self, meta: Meta, children: list[Any]) -> ast.GetAll:
        return ast.GetAll(children[0], span=_span(meta))

    def get_filtered(self, meta: Meta, children: list[Any]) -> ast.GetFiltered:
        return ast.GetFiltered(children[0], children[1], span=_span(meta))

    def with_update(self, meta: Meta, children: list[Any]) -> ast.With:
        return ast.With(children[0], tuple(children[1] or ()), span=_span(meta))

    def updates(self, meta: Meta, children: list[Any]) -> tuple[ast.Update, ...]:
        return tuple(children)

    def update(self, meta: Meta, children: list[Any]) -> ast.Update:
        return ast.Update(children[0], children[1], span=_span(meta))

    def update_path(self, meta: Meta, children: list[Any]) -> tuple[str, ...]:
        return tuple(_text(c) for c in children)

    def var(self, meta: Meta, children: list[Any]) -> ast.Var:
        return ast.Var(str(children[0]), span=_span(meta))

    def current(self, meta: Meta, children: list[Any]) -> ast.Current:
        return ast.Current(span=_span(meta))

    def root(self, meta: Meta, children: list[Any]) -> ast.Root:
        return ast.Root(span=_span(meta))

    def root_field(self, meta: Meta, children: list[Any]) -> ast.GetField:
        return ast.GetField(ast.Root(span=_span(meta)), children[0], span=_span(meta))

    def root_index(self, meta: Meta, children: list[Any]) -> ast.GetIndex:
        return ast.GetIndex(ast.Root(span=_span(meta)), children[0], span=_span(meta))

    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        return ast.Call(children[0], tuple(children[1] or ()), span=_span(meta))

    def call_gen(self, meta: Meta, children: list[Any]) -> ast.Call:
        function, element, (targets, iterable, condition) = children
        comp = ast.Comprehension(element, targets, iterable, condition, span=_span(meta))
        return ast.Call(function, (comp,), span=_span(meta))

    def args(self, meta: Meta, children: list[Any]) -> tuple[ast.Expr, ...]:
        return tuple(children)

    items = entries = args

    def list_expr(self, meta: Meta, children: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(children[0] or ()), span=_span(meta))

    def spread(self, meta: Meta, children: list[Any]) -> ast.Spread:
        return ast.Spread(children[0], span=_span(meta))

    def list_comp(self, meta: Meta, children: list[Any]) -> ast.Comprehension:
        element, (targets, iterable, condition) = children
        return ast.Comprehension(element, targets, iterable, condition, span=_span(meta))

    def comp_for(self, meta: Meta, children: list[Any]) -> tuple[tuple[str, ...], ast.Expr, ast.Expr | None]:
        targets, _in, iterable, condition = children
        return targets, iterable, condition

    def targets(self, meta: Meta, children: list[Any]) -> tuple[str, ...]:
        return tuple(str(c) for c in children if c is not None)

    def map_expr(self, meta: Meta, children: list[Any]) -> ast.MapExpr:
        return ast.MapExpr(tuple(children[0] or ()), span=_span(meta))

    def pair(self, meta: Meta, children: list[Any]) -> ast.Pair:
        return ast.Pair(children[0], children[1], span=_span(meta))

    def computed_pair(self, meta: Meta, children: list[Any]) -> ast.Pair:
        return ast.Pair(children[0], children[1], span=_span(meta))

    def int_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(int(children[0]), span=_span(meta))

    def number_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(float(children[0]), span=_span(meta))

    def quantity_lit(self, meta: Meta, children: list[Any]) -> ast.Quantity:
        return ast.Quantity(str(children[0]), span=_span(meta))

    def string_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(unquote(str(children[0])), span=_span(meta))

    def true_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(True, span=_span(meta))

    def false_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(False, span=_span(meta))

    def null_lit(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(None, span=_span(meta))


def _cover(left: ast.Expr, right: ast.Expr, meta: Meta) -> Span:
    span = left.span.cover(right.span)
    return span if span.end > span.start else _span(meta)


def is_tree(value: object) -> bool:
    return isinstance(value, Tree)
