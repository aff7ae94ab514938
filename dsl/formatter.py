"""The canonical layout of kpl source: ``format_module(parse(text)) `` is idempotent and keeps comments.

Layout: two-space indentation, one member or item per line, one blank line between declarations,
expressions on one line when they fit in ``WIDTH`` columns and broken one entry per line otherwise.
Comments stay with the member, item or declaration that follows them (or end the line they ended).
Formatting never changes meaning: ``parse(format(m)) == m``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kpl.dsl import ast
from kpl.dsl.source import Span

__all__ = ["WIDTH", "format_expr", "format_module"]

WIDTH = 100
INDENT = "  "
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*[A-Za-z0-9_]$|^[A-Za-z_][A-Za-z0-9_]*$")
HARD_KEYWORDS = frozenset({
    "let", "fn", "if", "then", "else", "for", "in", "not", "and", "or", "true", "false", "null", "with",
    "where", "named", "deps",
})
_PRECEDENCE = {"??": 1, "or": 2, "and": 3, "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5, "in": 5,
               "not in": 5, "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7}


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + escaped.replace("\r", "\\r").replace("\0", "\\0") + '"'


def _field(name: str) -> str:
    return name if _IDENT.match(name) and name not in HARD_KEYWORDS else quote(name)


def _name(name: str) -> str:
    """A declaration or cluster name: bare when the lexer reads it back as the same name."""
    plain = _NAME.match(name) and "/" not in name and not re.fullmatch(r"[0-9]+[A-Za-z]*", name)
    if plain and name not in HARD_KEYWORDS:
        return name
    return quote(name)


# ------------------------------------------------------------------------------------ expressions


def _precedence(expr: ast.Expr) -> int:
    if isinstance(expr, (ast.Let, ast.Conditional)):
        return 0
    if isinstance(expr, ast.Binary):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, ast.Not):
        return 4
    if isinstance(expr, ast.Unary) or (isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float))
                                       and not isinstance(expr.value, bool) and expr.value < 0):
        return 8
    return 10


def _wrap(expr: ast.Expr, minimum: int, indent: str) -> str:
    text = format_expr(expr, indent)
    return f"({text})" if _precedence(expr) < minimum else text


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        text = repr(value)
        return text if re.fullmatch(r"-?[0-9]+\.[0-9]+", text) else f"{value:.17f}".rstrip("0")
    return str(value)


def _postfix(expr: ast.Expr, indent: str) -> str:
    if isinstance(expr, ast.GetField):
        if isinstance(expr.target, ast.Root):
            return "." + _field(expr.name)
        return _target(expr.target, indent) + "." + _field(expr.name)
    if isinstance(expr, ast.GetIndex):
        base = "." if isinstance(expr.target, ast.Root) else _target(expr.target, indent)
        return f"{base}[{format_expr(expr.index, indent)}]"
    if isinstance(expr, ast.GetAll):
        return _target(expr.target, indent) + "[*]"
    assert isinstance(expr, ast.GetFiltered)
    return f"{_target(expr.target, indent)}[? {format_expr(expr.condition, indent)}]"


def _target(expr: ast.Expr, indent: str) -> str:
    """The target of ``.field`` or ``[...]``; a number is parenthesized (``0.a`` would read as one token)."""
    numeric = isinstance(expr, ast.Quantity) or (
        isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool))
    if isinstance(expr, ast.Root):
        return "(.)"  # `.[` always begins an index of the object, so `(.)[*]` keeps its parentheses
    return f"({format_expr(expr, indent)})" if numeric else _wrap(expr, 9, indent)


def _comprehension(expr: ast.Comprehension, indent: str) -> str:
    element = format_expr(expr.element, indent)
    loop = f"for {', '.join(expr.targets)} in {_wrap(expr.iterable, 1, indent)}"
    condition = f"if {_wrap(expr.condition, 1, indent)}" if expr.condition is not None else ""
    flat = " ".join(p for p in (element, loop, condition) if p)
    if not _too_long(flat, indent):
        return flat
    cont = indent + INDENT
    condition = f"if {_wrap(expr.condition, 1, cont)}" if expr.condition is not None else ""
    return f"\n{cont}".join(p for p in (element, loop, condition) if p)


def _entries(parts: list[str], open_: str, close: str, indent: str) -> str:
    flat = open_ + ", ".join(parts) + close
    if len(flat) + len(indent) <= WIDTH and "\n" not in flat:
        return flat
    inner = indent + INDENT
    return open_ + "\n" + "".join(f"{inner}{p},\n" for p in parts) + indent + close


def _map(expr: ast.MapExpr, indent: str) -> str:
    inner = indent + INDENT
    parts = []
    for entry in expr.entries:
        if isinstance(entry, ast.Spread):
            parts.append("..." + _wrap(entry.value, 9, inner))
        elif isinstance(entry.key, str):
            parts.append(f"{_field(entry.key)}: {format_expr(entry.value, inner)}")
        else:
            parts.append(f"({format_expr(entry.key, inner)}): {format_expr(entry.value, inner)}")
    return "{}" if not parts else _entries(parts, "{ ", " }", indent).replace("{ \n", "{\n").replace(
        "\n" + indent + " }", "\n" + indent + "}")


def _list(expr: ast.ListExpr, indent: str) -> str:
    inner = indent + INDENT
    parts = ["..." + _wrap(i.value, 9, inner) if isinstance(i, ast.Spread) else format_expr(i, inner)
             for i in expr.items]
    return _entries(parts, "[", "]", indent)


def _with(expr: ast.With, indent: str) -> str:
    inner = indent + INDENT
    parts = [f"{''.join('.' + _field(p) for p in u.path)}: {format_expr(u.value, inner)}" for u in expr.updates]
    body = "{}" if not parts else _entries(parts, "{ ", " }", indent).replace("{ \n", "{\n").replace(
        "\n" + indent + " }", "\n" + indent + "}")
    return f"{_wrap(expr.target, 9, indent)} with {body}"


def _too_long(text: str, indent: str) -> bool:
    # Leave room for what precedes the expression on its line (`name = `, a key).
    return "\n" in text or len(indent) + len(text) > WIDTH - 16


def _operands(expr: ast.Expr, op: str) -> list[ast.Expr]:
    if isinstance(expr, ast.Binary) and expr.op == op:
        return [*_operands(expr.left, op), expr.right]
    return [expr]


def _binary(expr: ast.Binary, indent: str) -> str:
    level = _PRECEDENCE[expr.op]
    left = _wrap(expr.left, level if level in (1, 2, 3, 6, 7) else level + 1, indent)
    right = _wrap(expr.right, level + 1, indent)
    flat = f"{left} {expr.op} {right}"
    if expr.op in ("and", "or", "??") and _too_long(flat, indent):
        cont = indent + INDENT
        first, *rest = _operands(expr, expr.op)
        parts = [_wrap(first, level, cont), *(_wrap(o, level + 1, cont) for o in rest)]
        return f"\n{cont}{expr.op} ".join(parts)
    return flat


def _conditional(expr: ast.Conditional, indent: str) -> str:
    parts = (format_expr(expr.condition, indent), format_expr(expr.then, indent), format_expr(expr.otherwise, indent))
    flat = "if {} then {} else {}".format(*parts)
    if not _too_long(flat, indent):
        return flat
    cont = indent + INDENT
    condition, then, otherwise = (format_expr(e, cont) for e in (expr.condition, expr.then, expr.otherwise))
    return f"if {condition}\n{cont}then {then}\n{cont}else {otherwise}"


def _call(expr: ast.Call, indent: str) -> str:
    if len(expr.args) == 1 and isinstance(expr.args[0], ast.Comprehension):
        return f"{expr.function}({_comprehension(expr.args[0], indent)})"
    return f"{expr.function}({', '.join(format_expr(a, indent) for a in expr.args)})"


_FORMATTERS: dict[type, Callable[[object, str], str]] = {
    ast.Literal: lambda e, i: _literal(e.value),  # type: ignore[attr-defined]
    ast.Quantity: lambda e, i: e.text,  # type: ignore[attr-defined]
    ast.Root: lambda e, i: ".",
    ast.Current: lambda e, i: "@",
    ast.Var: lambda e, i: e.name,  # type: ignore[attr-defined]
    ast.GetField: _postfix,  # type: ignore[dict-item]
    ast.GetIndex: _postfix,  # type: ignore[dict-item]
    ast.GetAll: _postfix,  # type: ignore[dict-item]
    ast.GetFiltered: _postfix,  # type: ignore[dict-item]
    ast.Unary: lambda e, i: "-" + _wrap(e.operand, 8, i),  # type: ignore[attr-defined]
    ast.Not: lambda e, i: "not " + _wrap(e.operand, 4, i),  # type: ignore[attr-defined]
    ast.Binary: _binary,  # type: ignore[dict-item]
    ast.Conditional: lambda e, i: _conditional(e, i),  # type: ignore[arg-type]
    ast.Let: lambda e, i: f"let {e.name} = {format_expr(e.value, i)}; {format_expr(e.body, i)}",  # type: ignore[attr-defined]
    ast.Call: lambda e, i: _call(e, i),  # type: ignore[arg-type]
    ast.ListExpr: _list,  # type: ignore[dict-item]
    ast.MapExpr: _map,  # type: ignore[dict-item]
    ast.Comprehension: lambda e, i: f"[{_comprehension(e, i)}]",  # type: ignore[arg-type]
    ast.With: _with,  # type: ignore[dict-item]
}


def format_expr(expr: ast.Expr, indent: str = "") -> str:
    return _FORMATTERS[type(expr)](expr, indent)


# ------------------------------------------------------------------------------------ declarations


class _Writer:
    def __init__(self, comments: tuple[tuple[Span, str], ...]) -> None:
        self.lines: list[str] = []
        self.comments = list(comments)
        self.last_end = 0

    def blank_line_kept(self, start: int, source_text: str) -> None:
        """Keep one blank line where the author left at least one (never right after an opening brace)."""
        gap = source_text[self.last_end:start].split("\n")[1:-1]
        if any(not line.strip() for line in gap) and self.lines and self.lines[-1] and not (
            self.lines[-1].endswith("{")
        ):
            self.lines.append("")

    def leading(self, start: int, indent: str) -> None:
        while self.comments and self.comments[0][0].start < start:
            self.lines.append(indent + self.comments.pop(0)[1].rstrip())

    def line(self, text: str, node_span: Span | None, indent: str, source_text: str) -> None:
        if node_span is not None and node_span.end > node_span.start:
            self.blank_line_kept(node_span.start, source_text)
            self.leading(node_span.start, indent)
            self.last_end = node_span.end
        text = indent + text
        if node_span is not None and self.comments:
            end_line = source_text.count("\n", 0, node_span.end)
            span, comment = self.comments[0]
            if source_text.count("\n", 0, span.start) == end_line and span.start >= node_span.end:
                self.comments.pop(0)
                text += "  " + comment.rstrip()
        self.lines.append(text)


def _toleration(item: ast.Toleration) -> str:
    head = "all" if not item.key and item.operator == "Exists" else (
        f"{_name(item.key)} exists" if item.operator == "Exists" else f"{_name(item.key)} = {_name(item.value)}")
    if item.effect:
        head += f" : {item.effect}"
    if item.toleration_seconds is not None:
        head += f" for {item.toleration_seconds}s"
    return f"tolerate {head}"


def _spread(item: ast.SpreadConstraint) -> str:
    by = f"label {_name(item.spread_by_label)}" if item.spread_by_label else str(item.spread_by_field)
    text = "spread by " + by
    if item.min_groups is not None:
        text += f" min {item.min_groups}"
    if item.max_groups is not None:
        text += f" max {item.max_groups}"
    return text


def _selection(item: ast.ClusterSelection | ast.Exclude, indent: str) -> str:
    if isinstance(item, ast.Exclude):
        return "exclude " + ", ".join(_name(n) for n in item.names)
    if item.where is not None:
        return "clusters where " + format_expr(item.where, indent)
    return "clusters " + ", ".join(_name(n) for n in item.names)


def _replicas(item: ast.ReplicaScheduling, indent: str) -> str:
    if item.mode in ("duplicated", "aggregated"):
        return f"replicas {item.mode}"
    if item.mode == "dynamic":
        return "replicas divided dynamic"
    if not item.static_weights:
        return "replicas divided"
    parts = [f"{_name(w.cluster)}: {w.weight}" if w.cluster is not None
             else f"clusters where {format_expr(w.where, indent + INDENT)}: {w.weight}"  # type: ignore[arg-type]
             for w in item.static_weights]
    flat = "replicas divided static { " + ", ".join(parts) + " }"
    if len(flat) + len(indent) <= WIDTH:
        return flat
    inner = indent + INDENT
    return "replicas divided static {\n" + "".join(f"{inner}{p}\n" for p in parts) + indent + "}"


def _failover_member(member: ast.FailoverItem) -> str:
    if isinstance(member, ast.PurgeMode):
        return f"purge {member.mode.lower()}"
    if isinstance(member, ast.GracePeriod):
        return f"grace {member.seconds}s"
    if isinstance(member, ast.DecisionConditions):
        return f"decision after {member.toleration_seconds}s"
    return f"preserve {_name(member.alias_label_name)} = {quote(member.json_path)}"


class _Formatter:
    def __init__(self, module: ast.Module) -> None:
        self.module = module
        self.text = module.source.text
        self.out = _Writer(module.comments)

    def line(self, text: str, span: Span | None, indent: str) -> None:
        self.out.line(text, span, indent, self.text)

    def block(self, head: str, span: Span, indent: str, body: Callable[[str], None]) -> None:
        self.line(head + " {", span, indent)
        self.out.last_end = span.start
        body(indent + INDENT)
        self.out.leading(span.end, indent + INDENT)
        self.out.lines.append(indent + "}")
        self.out.last_end = span.end

    def interpreter(self, node: ast.Interpreter, indent: str) -> None:
        def body(inner: str) -> None:
            for member in node.members:
                self.member(member, inner)

        self.block(f"interpreter {node.api_version} {node.kind}", node.span, indent, body)

    def member(self, member: ast.InterpreterMember, indent: str) -> None:
        if isinstance(member, ast.LetMember):
            self.line(f"let {member.name} = {format_expr(member.value, indent)}", member.span, indent)
        elif isinstance(member, ast.FnMember):
            head = f"fn {member.name}({', '.join(member.params)}) = "
            self.line(head + format_expr(member.body, indent), member.span, indent)
        elif isinstance(member, ast.Operation):
            self.line(f"{_field(member.name)} = {format_expr(member.value, indent)}", member.span, indent)
        else:
            def body(inner: str) -> None:
                for item in member.fields:
                    self.line(f"{_field(item.name)} = {format_expr(item.value, inner)}", item.span, inner)

            self.block(f"component {_name(member.name)}", member.span, indent, body)

    def policy(self, node: ast.Policy, indent: str) -> None:
        head = ("cluster policy " if node.cluster_scoped else "policy ") + _name(node.name)
        if node.namespace is not None:
            head += f" in namespace {_name(node.namespace)}"

        def body(inner: str) -> None:
            for item in node.items:
                self.policy_item(item, inner)

        self.block(head, node.span, indent, body)

    def policy_item(self, item: ast.PolicyItem, indent: str) -> None:
        if isinstance(item, ast.Affinity):
            def body(inner: str) -> None:
                for member in item.items:
                    self.line(_selection(member, inner), member.span, inner)
                for overflow in item.overflow:
                    def overflow_body(deeper: str, o: ast.Overflow = overflow) -> None:
                        for m in o.items:
                            self.line(_selection(m, deeper), m.span, deeper)

                    self.block(f"overflow {_name(overflow.name)}", overflow.span, inner, overflow_body)

            self.block(f"affinity {_name(item.name)}", item.span, indent, body)
        elif isinstance(item, ast.Failover):
            def failover_body(inner: str) -> None:
                for member in item.items:
                    self.line(_failover_member(member), member.span, inner)

            self.block(f"failover {item.kind}", item.span, indent, failover_body)
        else:
            self.line(_policy_line(item, indent), item.span, indent)

    def quota(self, node: ast.Quota, indent: str) -> None:
        def limits(entries: tuple[ast.ResourceLimit, ...]) -> Callable[[str], None]:
            def body(inner: str) -> None:
                for limit in entries:
                    self.line(f"{_name(limit.resource)} = {_limit_value(limit.value)}", limit.span, inner)

            return body

        def body(inner: str) -> None:
            if node.overall:
                start = node.overall[0].span
                self.block("overall", Span(start.start, node.overall[-1].span.end), inner, limits(node.overall))
            for assignment in node.assignments:
                self.block(f"assign {_name(assignment.cluster)}", assignment.span, inner, limits(assignment.limits))

        self.block(f"quota {_name(node.name)} in namespace {_name(node.namespace)}", node.span, indent, body)

    def run(self) -> str:
        for index, declaration in enumerate(self.module.declarations):
            if index:
                self.out.lines.append("")
            if isinstance(declaration, ast.Interpreter):
                self.interpreter(declaration, "")
            elif isinstance(declaration, ast.Policy):
                self.policy(declaration, "")
            else:
                self.quota(declaration, "")
        self.out.leading(len(self.text) + 1, "")
        return "\n".join(self.out.lines).rstrip("\n") + "\n" if self.out.lines else ""


def _limit_value(value: str) -> str:
    return value if re.fullmatch(r"[0-9]+(\.[0-9]+)?([A-Za-z]+|[eE][+-]?[0-9]+)?", value) else quote(value)


def _policy_line(item: ast.PolicyItem, indent: str) -> str:
    if isinstance(item, ast.ResourceSelector):
        text = f"select {item.api_version} {item.kind}"
        if item.name:
            text += f" named {_name(item.name)}"
        if item.namespace:
            text += f" in namespace {_name(item.namespace)}"
        if item.label_selector is not None:
            text += " where " + format_expr(item.label_selector, indent)
        return text
    if isinstance(item, ast.Priority):
        return f"priority {item.value}"
    if isinstance(item, ast.Preemption):
        return f"preemption {item.mode}"
    if isinstance(item, (ast.ClusterSelection, ast.Exclude)):
        return _selection(item, indent)
    if isinstance(item, ast.Toleration):
        return _toleration(item)
    if isinstance(item, ast.SpreadConstraint):
        return _spread(item)
    if isinstance(item, ast.ReplicaScheduling):
        return _replicas(item, indent)
    if isinstance(item, ast.PropagateDeps):
        return "propagate deps"
    if isinstance(item, ast.SchedulerName):
        return f"scheduler {_name(item.name)}"
    if isinstance(item, ast.ConflictResolution):
        return f"conflict {item.mode}"
    assert isinstance(item, ast.Suspension)
    return f"suspend {item.what}"


def format_module(module: ast.Module) -> str:
    """The canonical text of a module that parsed without errors."""
    if not module.declarations:
        return "\n".join(c[1].rstrip() for c in module.comments) + ("\n" if module.comments else "")
    return _Formatter(module).run()
