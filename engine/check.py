"""Static checks: everything ``kpl check`` can find without a snapshot, as an ordered tuple of passes.

Each pass is a small function ``(context) -> None`` that appends diagnostics. Codes are stable and
``check.``-prefixed. Fleet checks (with ``--snapshot``) live in :mod:`kpl.engine.fleet_check`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic, Severity, did_you_mean
from kpl.dsl.source import Source, Span
from kpl.engine.builtins import FUNCTIONS
from kpl.engine.operations import COMPONENT_FIELDS, MEMBER_OPERATIONS
from kpl.engine.policy import CompiledPolicy, compile_policy
from kpl.engine.project import Project, paused_gc
from kpl.engine.scheduler.affinity import is_label_key
from kpl.rules import builtin_kinds, rules_root

__all__ = ["CHECKS", "CheckContext", "check_project"]

OPERATION_NAMES = {
    "replicas": ("desired", "observed"), "requirements": ("desired", "observed"),
    "components": ("desired", "observed"), "revise": ("desired", "observed", "desired_replicas"),
    "health": ("desired", "observed"), "dependencies": ("desired", "observed"),
    "status": ("desired", "observed"), "aggregate": ("desired", "observed", "status_items"),
    "retain": ("desired", "observed"),
}
ALL_OPERATION_NAMES = frozenset(n for names in OPERATION_NAMES.values() for n in names)
SELECTOR_NAMES = frozenset({"labels", "name", "region", "zone", "provider"})
PURGE_MODES = {"cluster": ("Directly", "Gracefully"), "application": ("Directly", "Gracefully", "Never")}


@dataclass
class CheckContext:
    project: Project
    diagnostics: list[Diagnostic] = field(default_factory=list)
    policies: list[CompiledPolicy] = field(default_factory=list)

    def report(self, code: str, message: str, source: Source, span: Span, *,
               severity: Severity = Severity.ERROR, help_text: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, source, span, severity, help_text))

    def of(self, kind: type) -> Iterator[tuple[object, Source]]:
        for declaration, source in self.project.declarations():
            if isinstance(declaration, kind):
                yield declaration, source


# ------------------------------------------------------------------------------------ expressions


def _walk(expr: ast.Expr | None) -> Iterator[ast.Expr]:
    """Every expression below ``expr`` (itself first), depth first, in source order."""
    stack = [] if expr is None else [expr]
    while stack:
        node = stack.pop()
        yield node
        children = _children(node)
        if children:
            children.reverse()
            stack.extend(children)


_ITEM_WRAPPERS = frozenset({ast.Spread, ast.Pair, ast.Update})
_NODE_TYPES = frozenset(
    kind for kind in (getattr(ast, name) for name in ast.__all__)
    if isinstance(kind, type) and "span" in getattr(kind, "__slots__", ())
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}  # per node type, its fields but the span (filled on use)


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        slots: tuple[str, ...] = getattr(kind, "__slots__", ())
        names = _CHILD_FIELDS[kind] = tuple(name for name in slots if name != "span")
    return names


def _children(expr: ast.Expr) -> list[ast.Expr]:
    """The sub-expressions of ``expr`` in field order (a pair gives its value, then a computed key)."""
    out: list[ast.Expr] = []
    for name in _child_fields(type(expr)):
        value = getattr(expr, name)
        if isinstance(value, tuple):
            for item in value:
                if type(item) in _ITEM_WRAPPERS:
                    out.append(item.value)
                    if type(item) is ast.Pair and not isinstance(item.key, str):
                        out.append(item.key)
                elif not isinstance(item, str):
                    out.append(item)
        elif type(value) in _NODE_TYPES:
            out.append(value)
    return out


def _check_names(ctx: CheckContext, expr: ast.Expr, source: Source, bound: frozenset[str],
                 functions: Mapping[str, int]) -> None:
    """Unknown variables and functions, arity of built-ins, bad quantity literals (scope-aware)."""
    if isinstance(expr, ast.Var):
        if expr.name not in bound:
            ctx.report("check.unknown_name", f"unknown name `{expr.name}`", source, expr.span,
                       help_text=did_you_mean(expr.name, bound))
        return
    if isinstance(expr, ast.Let):
        _check_names(ctx, expr.value, source, bound, functions)
        _check_names(ctx, expr.body, source, bound | {expr.name}, functions)
        return
    if isinstance(expr, ast.Comprehension):
        _check_names(ctx, expr.iterable, source, bound, functions)
        inner = bound | set(expr.targets)
        _check_names(ctx, expr.element, source, inner, functions)
        if expr.condition is not None:
            _check_names(ctx, expr.condition, source, inner, functions)
        return
    if isinstance(expr, ast.Call):
        _check_call(ctx, expr, source, functions)
    elif isinstance(expr, ast.Quantity):
        _check_quantity(ctx, expr.text, source, expr.span)
    for child in _children(expr):
        _check_names(ctx, child, source, bound, functions)


def _check_call(ctx: CheckContext, call: ast.Call, source: Source, functions: Mapping[str, int]) -> None:
    if call.function in functions:
        count = functions[call.function]
        if len(call.args) != count:
            ctx.report("check.wrong_arity",
                       f"`{call.function}` takes {_arguments(str(count))}, got {len(call.args)}", source, call.span)
        return
    entry = FUNCTIONS.get(call.function)
    if entry is None:
        ctx.report("check.unknown_function", f"unknown function `{call.function}`", source, call.span,
                   help_text=did_you_mean(call.function, [*FUNCTIONS, *functions]))
        return
    low, high, _ = entry
    if len(call.args) < low or (high is not None and len(call.args) > high):
        expected = str(low) if low == high else (f"at least {low}" if high is None else f"{low} to {high}")
        ctx.report("check.wrong_arity", f"`{call.function}` takes {_arguments(expected)}, got {len(call.args)}",
                   source, call.span)


def _arguments(count: str) -> str:
    return f"{count} argument" if count == "1" else f"{count} arguments"


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _check_quantity(ctx: CheckContext, text: str, source: Source, span: Span) -> None:
    from kpl.engine.quantity import QuantityError, parse_quantity

    try:
        parse_quantity(text)
    except QuantityError as error:
        ctx.report("check.invalid_quantity", f"invalid quantity `{text}`: {error}", source, span)


_BOOL_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"})


def _static_type(expr: ast.Expr) -> str | None:
    """The type an expression surely has, where that is visible without data."""
    if isinstance(expr, ast.Literal):
        value = expr.value
        return None if value is None else {bool: "bool", int: "int", float: "number", str: "string"}[type(value)]
    if isinstance(expr, ast.Quantity):
        return "quantity"
    if isinstance(expr, ast.Not) or (isinstance(expr, ast.Binary) and expr.op in _BOOL_OPS):
        return "bool"
    if isinstance(expr, (ast.ListExpr, ast.Comprehension)):
        return "list"
    if isinstance(expr, ast.MapExpr):
        return "object"
    return None


def _check_types(ctx: CheckContext, root: ast.Expr, source: Source) -> None:
    for expr in _walk(root):
        wanted: list[ast.Expr] = []
        if isinstance(expr, ast.Binary) and expr.op in ("and", "or"):
            wanted = [expr.left, expr.right]
        elif isinstance(expr, ast.Not):
            wanted = [expr.operand]
        elif isinstance(expr, ast.Conditional):
            wanted = [expr.condition]
        for operand in wanted:
            found = _static_type(operand)
            if found not in (None, "bool"):
                ctx.report("check.type_mismatch", f"expected a bool, found {_article(found)}", source,
                           operand.span)
        if isinstance(expr, ast.Binary) and expr.op in ("+", "-", "*", "/", "//", "%"):
            for operand in (expr.left, expr.right):
                if _static_type(operand) == "bool":
                    ctx.report("check.type_mismatch", f"`{expr.op}` needs numbers or quantities, found a bool",
                               source, operand.span)


# ------------------------------------------------------------------------------------ passes


def check_interpreters(ctx: CheckContext) -> None:
    seen: dict[tuple[str, str], Span] = {}
    builtin = builtin_kinds()
    for node, source in ctx.of(ast.Interpreter):
        assert isinstance(node, ast.Interpreter)
        key = (node.api_version, node.kind)
        if key in seen:
            ctx.report("check.duplicate_interpreter", f"a second interpreter for {key[0]} {key[1]}", source,
                       node.span, help_text="merge the two blocks: one kind has one set of rules")
        seen[key] = node.span
        if key in builtin:
            origin = "rules/" + builtin[key].relative_to(rules_root()).as_posix()
            ctx.report("check.overrides_builtin", f"this interpreter replaces the built-in rule for {key[1]}",
                       source, node.span, severity=Severity.INFO, help_text=f"the built-in rule is {origin}")
        _check_interpreter_members(ctx, node, source)


def _check_interpreter_members(ctx: CheckContext, node: ast.Interpreter, source: Source) -> None:
    lets = frozenset(m.name for m in node.members if isinstance(m, ast.LetMember))
    fns = {m.name: m for m in node.members if isinstance(m, ast.FnMember)}
    functions = {name: len(fn.params) for name, fn in fns.items()}
    seen: set[str] = set()
    for member in node.members:
        name = member.name
        if name in seen and not isinstance(member, ast.Component):
            ctx.report("check.duplicate_member", f"`{name}` is defined twice", source, member.span)
        seen.add(name)
        if isinstance(member, ast.Operation):
            if member.name not in MEMBER_OPERATIONS:
                ctx.report("check.unknown_operation", f"unknown operation `{member.name}`", source, member.span,
                           help_text=did_you_mean(member.name, MEMBER_OPERATIONS))
            bound = lets | set(OPERATION_NAMES.get(member.name, ALL_OPERATION_NAMES))
            _check_expr(ctx, member.value, source, bound, functions)
        elif isinstance(member, ast.Component):
            for component_field in member.fields:
                if component_field.name not in COMPONENT_FIELDS:
                    ctx.report("check.unknown_component_field", f"unknown component field `{component_field.name}`",
                               source, component_field.span,
                               help_text=did_you_mean(component_field.name, COMPONENT_FIELDS))
                _check_expr(ctx, component_field.value, source, lets | {"desired", "observed"}, functions)
        elif isinstance(member, ast.LetMember):
            _check_expr(ctx, member.value, source, lets | ALL_OPERATION_NAMES, functions)
        else:
            _check_expr(ctx, member.body, source, lets | ALL_OPERATION_NAMES | set(member.params), functions)
    _check_recursion(ctx, fns, source)


def _check_expr(ctx: CheckContext, expr: ast.Expr, source: Source, bound: frozenset[str] | set[str],
                functions: Mapping[str, int]) -> None:
    _check_names(ctx, expr, source, frozenset(bound), functions)
    _check_types(ctx, expr, source)


def _check_recursion(ctx: CheckContext, fns: dict[str, ast.FnMember], source: Source) -> None:
    calls = {name: {e.function for e in _walk(fn.body) if isinstance(e, ast.Call) and e.function in fns}
             for name, fn in fns.items()}
    for name in fns:
        stack, seen = list(calls[name]), set()
        while stack:
            callee = stack.pop()
            if callee == name:
                ctx.report("check.recursive_function", f"function `{name}` calls itself", source, fns[name].span,
                           help_text="kpl functions cannot recurse, so every rule terminates")
                break
            if callee not in seen:
                seen.add(callee)
                stack.extend(calls.get(callee, ()))


def check_policies(ctx: CheckContext) -> None:
    names: dict[tuple[bool, str | None, str], Span] = {}
    for node, source in ctx.of(ast.Policy):
        assert isinstance(node, ast.Policy)
        key = (node.cluster_scoped, None if node.cluster_scoped else node.namespace or "default", node.name)
        if key in names:
            ctx.report("check.duplicate_policy", f"policy `{node.name}` is declared twice", source, node.span)
        names[key] = node.span
        compiled = compile_policy(node, source)
        ctx.diagnostics.extend(compiled.diagnostics)
        ctx.policies.append(compiled)
        _check_policy_items(ctx, node, source)


def _check_policy_items(ctx: CheckContext, node: ast.Policy, source: Source) -> None:
    for item in node.items:
        if isinstance(item, ast.Preemption) and item.mode.lower() not in ("always", "never"):
            ctx.report("check.invalid_value", f"preemption must be `always` or `never`, not `{item.mode}`",
                       source, item.span, help_text=did_you_mean(item.mode.lower(), ["always", "never"]))
        elif isinstance(item, ast.ConflictResolution):
            _check_word(ctx, "conflict", item.mode, ("abort", "overwrite"), source, item.span)
        elif isinstance(item, ast.Suspension):
            _check_word(ctx, "suspend", item.what, ("dispatching", "scheduling"), source, item.span)
        elif isinstance(item, ast.SpreadConstraint):
            _check_spread(ctx, item, source)
        elif isinstance(item, ast.Failover):
            _check_failover(ctx, item, source)
        elif isinstance(item, ast.Toleration) and item.effect and item.effect not in (
            "NoSchedule", "PreferNoSchedule", "NoExecute"
        ):
            ctx.report("check.invalid_value", f"unknown taint effect `{item.effect}`", source, item.span,
                       help_text=did_you_mean(item.effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
    spreads = [i for i in node.items if isinstance(i, ast.SpreadConstraint)]
    fields = [s.spread_by_field for s in spreads if s.spread_by_field]
    if fields and "cluster" not in fields:
        ctx.report("check.spread_needs_cluster", "spreading by a field needs a `spread by cluster` constraint too",
                   source, spreads[0].span)
    seen: dict[str, int] = {}
    for spread in spreads:
        key = spread.spread_by_field
        if key is not None and seen.get(key) == 1:
            ctx.report("check.duplicate_spread", f"two spread constraints by `{key}`", source, spread.span)
        if key is not None:
            seen[key] = seen.get(key, 0) + 1


def _check_word(ctx: CheckContext, keyword: str, word: str, allowed: tuple[str, ...], source: Source,
                span: Span) -> None:
    if word.lower() not in allowed:
        choices = " or ".join(f"`{a}`" for a in allowed)
        ctx.report("check.invalid_value", f"`{keyword}` takes {choices}, not `{word}`", source, span,
                   help_text=did_you_mean(word.lower(), allowed))


def _check_spread(ctx: CheckContext, item: ast.SpreadConstraint, source: Source) -> None:
    known = ("cluster", "region", "zone", "provider")
    if item.spread_by_field and item.spread_by_field not in known:
        ctx.report("check.invalid_value", f"cannot spread by `{item.spread_by_field}`", source, item.span,
                   help_text=did_you_mean(item.spread_by_field, known)
                   or "use cluster, region, zone, provider or label")
    if item.spread_by_label is not None and not is_label_key(item.spread_by_label):
        ctx.report("check.invalid_label_key", f"`{item.spread_by_label}` is not a valid label key", source,
                   item.span)
    if item.max_groups and item.min_groups is not None and item.max_groups < item.min_groups:
        ctx.report("check.spread_bounds", f"max {item.max_groups} is less than min {item.min_groups}", source,
                   item.span)
    if item.max_groups == 0 and item.max_groups is not None:
        ctx.report("check.spread_max_zero", "`max 0` selects no cluster at all", source, item.span,
                   severity=Severity.WARNING,
                   help_text="Karmada does not default maxGroups: leave `max` out or raise it")


def _check_failover(ctx: CheckContext, item: ast.Failover, source: Source) -> None:
    allowed = PURGE_MODES.get(item.kind)
    if allowed is None:
        return
    for member in item.items:
        if isinstance(member, ast.PurgeMode) and member.mode not in allowed:
            ctx.report("check.invalid_value", f"`{member.mode}` is not a purge mode for {item.kind} failover",
                       source, member.span, help_text=f"use one of {', '.join(m.lower() for m in allowed)}")


def check_quotas(ctx: CheckContext) -> None:
    seen: set[tuple[str, str]] = set()
    for node, source in ctx.of(ast.Quota):
        assert isinstance(node, ast.Quota)
        if (node.namespace, node.name) in seen:
            ctx.report("check.duplicate_quota", f"quota `{node.name}` is declared twice", source, node.span)
        seen.add((node.namespace, node.name))
        limits = defaultdict(list)
        for limit in (*node.overall, *(limit for a in node.assignments for limit in a.limits)):
            _check_quantity(ctx, limit.value, source, limit.value_span)
        for limit in node.overall:
            limits[limit.resource].append(limit)
        for name, entries in limits.items():
            if len(entries) > 1:
                ctx.report("check.duplicate_resource", f"`{name}` is limited twice", source, entries[1].span)


def check_contradictions(ctx: CheckContext) -> None:
    """Equal-priority policies that select the same objects, and state preservation that cannot apply."""
    from kpl.engine.contradictions import find_contradictions

    ctx.diagnostics.extend(find_contradictions(ctx.policies))


CHECKS: tuple[Callable[[CheckContext], None], ...] = (
    check_interpreters,
    check_policies,
    check_quotas,
    check_contradictions,
)


def check_project(project: Project) -> CheckContext:
    ctx = CheckContext(project)
    if any(d.is_error for d in project.diagnostics):
        # Parse errors already explain the broken declarations; still check what did parse.
        pass
    with paused_gc():
        for check in CHECKS:
            check(ctx)
    return ctx
