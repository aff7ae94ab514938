"""kpl interpreter rules compiled to Lua: one script per operation of a ResourceInterpreterCustomization.

Every expression becomes a Lua expression over the prelude of :mod:`kpl.engine.lua_prelude`, which carries
kpl's value semantics (null and missing fields, ``??``, objects that drop null fields, copies under
``with``, quantities through Karmada's ``kube`` library). ``if``, ``let``, comprehensions and literals with
spreads become immediately called functions; interpreter ``let`` members are computed once, on first use,
and ``fn`` members are Lua functions. What cannot be generated faithfully (a regular expression Lua
patterns cannot express) is a located diagnostic: no script is produced for that operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from kpl.dsl import ast
from kpl.dsl.diagnostics import Diagnostic
from kpl.dsl.source import Source, Span
from kpl.engine.builtins import FUNCTIONS
from kpl.engine.interpreter import MEMBER_OPERATIONS, OPERATIONS
from kpl.engine.lua_prelude import PRELUDE_CHUNKS, prelude_for
from kpl.engine.lua_regex import RegexError, regex_to_lua

__all__ = ["LUA_OPERATIONS", "LuaScripts", "compile_lua", "lua_string"]

# Karmada operation -> (customization field, Lua function, its parameters, kpl names bound to them)
LUA_OPERATIONS: dict[str, tuple[str, str, tuple[str, ...], dict[str, str]]] = {
    "InterpretReplica": ("replicaResource", "GetReplicas", ("obj",), {"desired": "obj"}),
    "InterpretComponent": ("componentResource", "GetComponents", ("obj",), {"desired": "obj"}),
    "ReviseReplica": ("replicaRevision", "ReviseReplica", ("obj", "desiredReplica"),
                      {"desired": "obj", "desired_replicas": "desiredReplica"}),
    "InterpretHealth": ("healthInterpretation", "InterpretHealth", ("observedObj",),
                        {"observed": "observedObj"}),
    "InterpretDependency": ("dependencyInterpretation", "GetDependencies", ("desiredObj",),
                            {"desired": "desiredObj"}),
    "InterpretStatus": ("statusReflection", "ReflectStatus", ("observedObj",), {"observed": "observedObj"}),
    "AggregateStatus": ("statusAggregation", "AggregateStatus", ("desiredObj", "statusItems"),
                        {"desired": "desiredObj", "status_items": "statusItems"}),
    "Retain": ("retention", "Retain", ("desiredObj", "observedObj"),
               {"desired": "desiredObj", "observed": "observedObj"}),
}
_ROOTS = {"InterpretHealth": "observedObj", "InterpretStatus": "observedObj"}
_ALWAYS_BOUND = ("desired", "observed")
_SAFE_EAGER = (ast.Literal, ast.Root, ast.Current)
_NO_LUA = {
    "gate": "Karmada does not show feature gates to Lua scripts",
    "replica_requirements": "the kube library has only the customization view, `pod_requirements`",
}


@dataclass
class LuaScripts:
    """The Lua script of each operation a rule implements (keyed by customization field) and what failed."""

    scripts: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def lua_string(text: str) -> str:
    """A Lua string literal for ``text`` (UTF-8 bytes, non-printable ones as decimal escapes)."""
    out = ['"']
    for byte in text.encode("utf-8"):
        if byte in (34, 92):
            out.append("\\" + chr(byte))
        elif 32 <= byte < 127:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def _number(value: int | float) -> str:
    if isinstance(value, float):
        if value != value:
            return "(0/0)"
        if value in (float("inf"), float("-inf")):
            return "math.huge" if value > 0 else "(-math.huge)"
        return repr(value)
    return str(value)


class _Unsupported(Exception):
    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


@dataclass
class _Scope:
    locals: dict[str, str]
    current: str | None = None

    def bind(self, names: dict[str, str], current: str | None = None) -> _Scope:
        return _Scope({**self.locals, **names}, current if current is not None else self.current)


class _Compiler:
    """Expressions of one operation to Lua source."""

    def __init__(self, lets: set[str], functions: dict[str, int], bound: dict[str, str]) -> None:
        self.lets = lets
        self.functions = functions
        self.bound = bound
        self.used: set[str] = set()
        self.counter = 0

    def fresh(self, name: str) -> str:
        self.counter += 1
        return f"v{self.counter}_{name}"

    def need(self, *chunks: str) -> None:
        self.used.update(chunks)

    def expr(self, e: ast.Expr, scope: _Scope) -> str:
        method = getattr(self, "_" + type(e).__name__.lower())
        result: str = method(e, scope)
        return result

    # ---------------------------------------------------------------- leaves
    def _literal(self, e: ast.Literal, scope: _Scope) -> str:
        value = e.value
        if value is None:
            return "nil"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return lua_string(value)
        return _number(value)

    def _quantity(self, e: ast.Quantity, scope: _Scope) -> str:
        from kpl.engine.quantity import Quantity, QuantityError

        self.need("quantity")
        try:
            return f"K.q({lua_string(str(Quantity.from_json(e.text)))})"
        except QuantityError as error:
            return f"K.err({lua_string(f'invalid quantity `{e.text}`: {error}')})"

    def _root(self, e: ast.Root, scope: _Scope) -> str:
        return "root"

    def _current(self, e: ast.Current, scope: _Scope) -> str:
        return scope.current or "nil"

    def _var(self, e: ast.Var, scope: _Scope) -> str:
        if e.name in scope.locals:
            return scope.locals[e.name]
        if e.name in self.bound:
            return self.bound[e.name]
        if e.name in _ALWAYS_BOUND:
            return "nil"
        if e.name in self.lets:
            return f"L[{lua_string(e.name)}]()"
        return f"K.err({lua_string(f'unknown name `{e.name}`')})"

    # ---------------------------------------------------------------- paths
    def _getfield(self, e: ast.GetField, scope: _Scope) -> str:
        chain = _wildcard_chain(e)
        if chain is not None:
            return self._wild(chain, scope)
        if isinstance(e.target, ast.GetFiltered):
            self.need("project")
            return f"K.project({self.expr(e.target, scope)}, {lua_string(e.name)})"
        return self._path(e, scope)

    def _getindex(self, e: ast.GetIndex, scope: _Scope) -> str:
        return self._path(e, scope)

    def _path(self, e: ast.GetField | ast.GetIndex, scope: _Scope) -> str:
        self.need("path")
        chain = _plain_chain(e)
        if chain is not None:
            base, steps = chain
            keys = ", ".join(lua_string(s) if isinstance(s, str) else str(s) for s in steps)
            return f"K.path({self.expr(base, scope)}, {keys})"
        if isinstance(e, ast.GetField):
            return f"K.step({self.expr(e.target, scope)}, {lua_string(e.name)})"
        return f"K.index({self.expr(e.target, scope)}, {self.expr(e.index, scope)})"

    def _wild(self, chain: tuple[ast.Expr, list[tuple[str, str | int]]], scope: _Scope) -> str:
        self.need("wild")
        base, steps = chain
        parts = []
        for kind, key in steps:
            if kind == "f":
                parts.append(f'{{"f", {lua_string(str(key))}}}')
            elif kind == "i":
                parts.append(f'{{"i", {key}}}')
            else:
                parts.append('{"*"}')
        return f"K.wild({self.expr(base, scope)}, {{{', '.join(parts)}}})"

    def _getall(self, e: ast.GetAll, scope: _Scope) -> str:
        chain = _wildcard_chain(e)
        assert chain is not None
        return self._wild(chain, scope)

    def _getfiltered(self, e: ast.GetFiltered, scope: _Scope) -> str:
        self.need("filter")
        name = self.fresh("at")
        condition = self.expr(e.condition, scope.bind({}, current=name))
        return f"K.filter({self.expr(e.target, scope)}, function({name}) return {condition} end)"

    # ---------------------------------------------------------------- operators
    def _unary(self, e: ast.Unary, scope: _Scope) -> str:
        self.need("arith")
        return f"K.neg({self.expr(e.operand, scope)})"

    def _not(self, e: ast.Not, scope: _Scope) -> str:
        return f"(not K.t({self.expr(e.operand, scope)}))"

    def _binary(self, e: ast.Binary, scope: _Scope) -> str:
        left, right = self.expr(e.left, scope), self.expr(e.right, scope)
        if e.op == "??":
            local = isinstance(e.right, ast.Var) and e.right.name in scope.locals
            if isinstance(e.right, _SAFE_EAGER) or local:
                return f"K.co2({left}, {right})"
            return f"K.co({left}, function() return {right} end)"
        if e.op in ("and", "or"):
            return f"(K.t({left}) {e.op} K.t({right}))"
        if e.op in ("+", "-", "*", "/", "//", "%"):
            self.need("arith")
            return f"K.arith({lua_string(e.op)}, {left}, {right})"
        self.need("compare")
        return f"K.cmp({lua_string(e.op)}, {left}, {right})"

    def _conditional(self, e: ast.Conditional, scope: _Scope) -> str:
        condition, then = self.expr(e.condition, scope), self.expr(e.then, scope)
        otherwise = self.expr(e.otherwise, scope)
        return f"(function() if K.t({condition}) then return {then} end return {otherwise} end)()"

    def _let(self, e: ast.Let, scope: _Scope) -> str:
        name = self.fresh(e.name)
        value = self.expr(e.value, scope)
        body = self.expr(e.body, scope.bind({e.name: name}))
        return f"(function({name}) return {body} end)({value})"

    # ---------------------------------------------------------------- calls
    def _call(self, e: ast.Call, scope: _Scope) -> str:
        args = [self.expr(a, scope) for a in e.args]
        if e.function in self.functions:
            want = self.functions[e.function]
            if want != len(args):
                return f"K.err({lua_string(f'takes {want} arguments, got {len(args)}')})"
            return f"F[{lua_string(e.function)}]({', '.join(args)})"
        entry = FUNCTIONS.get(e.function)
        if entry is None:
            return f"K.err({lua_string(f'unknown function `{e.function}`')})"
        low, high, _ = entry
        if len(args) < low or (high is not None and len(args) > high):
            arity = f"at least {low}" if high is None else (str(low) if low == high else f"{low} to {high}")
            return f"K.err({lua_string(f'`{e.function}` takes {arity} arguments, got {len(args)}')})"
        if "f_" + e.function not in PRELUDE_CHUNKS:
            reason = _NO_LUA.get(e.function, "not in the prelude")
            raise _Unsupported(f"`{e.function}` has no Lua equivalent ({reason})", e.span)
        if e.function in ("match", "match_all"):
            args = [args[0], *self._pattern(e)]
        self.need("f_" + e.function)
        return f"K.f_{e.function}({', '.join(args)})"

    def _pattern(self, e: ast.Call) -> list[str]:
        pattern = e.args[1]
        if not (isinstance(pattern, ast.Literal) and isinstance(pattern.value, str)):
            raise _Unsupported(f"`{e.function}` needs a literal pattern to be generated as Lua", pattern.span)
        try:
            lua_pattern, groups = regex_to_lua(pattern.value, anchored_ok=e.function == "match")
        except RegexError as error:
            raise _Unsupported(f"this pattern has no Lua equivalent: {error}", pattern.span) from None
        return [lua_string(lua_pattern), str(groups)]

    # ---------------------------------------------------------------- literals
    def _listexpr(self, e: ast.ListExpr, scope: _Scope) -> str:
        self.need("build")
        if not any(isinstance(i, ast.Spread) for i in e.items):
            items = [self.expr(i, scope) for i in e.items if not isinstance(i, ast.Spread)]
            return f"K.list({{{', '.join(items)}}}, {len(items)})"
        lines = []
        for item in e.items:
            if isinstance(item, ast.Spread):
                lines.append(f"n = K.spread(t, n, {self.expr(item.value, scope)})")
            else:
                lines.append(f"n = n + 1; t[n] = {self.expr(item, scope)}")
        return f"(function() local t, n = {{}}, 0; {'; '.join(lines)}; return K.list(t, n) end)()"

    def _mapexpr(self, e: ast.MapExpr, scope: _Scope) -> str:
        self.need("build")
        keys = [p.key for p in e.entries if isinstance(p, ast.Pair)]
        simple = all(isinstance(k, str) for k in keys) and len(set(keys)) == len(e.entries)
        if simple:
            parts = [f"[{lua_string(p.key)}] = {self.expr(p.value, scope)}"  # type: ignore[arg-type]
                     for p in e.entries if isinstance(p, ast.Pair)]
            return f"K.map({{{', '.join(parts)}}})"
        lines = []
        for entry in e.entries:
            if isinstance(entry, ast.Spread):
                lines.append(f"K.merge_into(t, {self.expr(entry.value, scope)})")
            elif isinstance(entry.key, str):
                lines.append(f"t[{lua_string(entry.key)}] = {self.expr(entry.value, scope)}")
            else:
                value = self.expr(entry.value, scope)
                lines.append(f"local x = {value}; t[K.key({self.expr(entry.key, scope)})] = x")
        body = " ".join(f"do {line} end" for line in lines)
        return f"(function() local t = {{}}; {body} return K.map(t) end)()"

    def _comprehension(self, e: ast.Comprehension, scope: _Scope) -> str:
        self.need("comprehension", "build")
        names = {t: self.fresh(t) for t in e.targets}
        inner = scope.bind(names)
        iterable = self.expr(e.iterable, scope)
        two = "true" if len(e.targets) == 2 else "false"
        if len(e.targets) == 2:
            a, b = names[e.targets[0]], names[e.targets[1]]
            unpack = f"local {a}, {b} = K.unpack2(items[i], {lua_string(', '.join(e.targets))})"
        else:
            unpack = f"local {names[e.targets[0]]} = items[i]"
        element = self.expr(e.element, inner)
        add = f"m = m + 1; out[m] = {element}"
        if e.condition is not None:
            add = f"if K.t({self.expr(e.condition, inner)}) then {add} end"
        return (f"(function() local out, m = {{}}, 0; local items, count = K.pairs_of({iterable}, {two}); "
                f"for i = 1, count do {unpack}; {add} end; return K.list(out, m) end)()")

    def _with(self, e: ast.With, scope: _Scope) -> str:
        self.need("with")
        updates = []
        for update in e.updates:
            path = ", ".join(lua_string(p) for p in update.path)
            updates.append(f"{{{{{path}}}, function() return {self.expr(update.value, scope)} end}}")
        return f"K.with({self.expr(e.target, scope)}, {{{', '.join(updates)}}})"


def _plain_chain(expr: ast.Expr) -> tuple[ast.Expr, list[str | int]] | None:
    steps: list[str | int] = []
    while True:
        if isinstance(expr, ast.GetField):
            steps.append(expr.name)
        elif (isinstance(expr, ast.GetIndex) and isinstance(expr.index, ast.Literal)
              and isinstance(expr.index.value, (int, str)) and not isinstance(expr.index.value, bool)):
            steps.append(expr.index.value)
        else:
            break
        expr = expr.target
    steps.reverse()
    return (expr, steps) if steps else None


def _wildcard_chain(expr: ast.Expr) -> tuple[ast.Expr, list[tuple[str, str | int]]] | None:
    """Like the evaluator: fields, non-negative literal indexes and ``[*]`` (at least one) over a base."""
    steps: list[tuple[str, str | int]] = []
    wildcard = False
    while True:
        if isinstance(expr, ast.GetField):
            steps.append(("f", expr.name))
        elif isinstance(expr, ast.GetAll):
            steps.append(("*", 0))
            wildcard = True
        elif (isinstance(expr, ast.GetIndex) and isinstance(expr.index, ast.Literal)
              and type(expr.index.value) is int and expr.index.value >= 0):
            steps.append(("i", expr.index.value))
        else:
            break
        expr = expr.target
    if not wildcard:
        return None
    steps.reverse()
    return expr, steps


def _names(node: Any) -> Iterator[str]:
    """Every variable and function name an AST mentions (a superset of what it uses)."""
    if isinstance(node, ast.Var):
        yield node.name
    elif isinstance(node, ast.Call):
        yield node.function
    if isinstance(node, tuple):
        for item in node:
            yield from _names(item)
    elif is_dataclass(node) and not isinstance(node, Span):
        for f in fields(node):
            yield from _names(getattr(node, f.name))


def _reachable(roots: list[Any], lets: dict[str, ast.LetMember], fns: dict[str, ast.FnMember]) -> set[str]:
    seen: set[str] = set()
    stack = [n for r in roots for n in _names(r)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in lets:
            stack.extend(_names(lets[name].value))
        if name in fns:
            stack.extend(_names(fns[name].body))
    return seen


@dataclass
class _Rule:
    node: ast.Interpreter
    lets: dict[str, ast.LetMember]
    fns: dict[str, ast.FnMember]
    ops: dict[str, ast.Operation]
    components: list[ast.Component]

    @classmethod
    def of(cls, node: ast.Interpreter) -> _Rule:
        lets = {m.name: m for m in node.members if isinstance(m, ast.LetMember)}
        fns = {m.name: m for m in node.members if isinstance(m, ast.FnMember)}
        ops = {m.name: m for m in node.members if isinstance(m, ast.Operation)}
        components = [m for m in node.members if isinstance(m, ast.Component)]
        return cls(node, lets, fns, ops, components)

    def operations(self) -> list[str]:
        found = {MEMBER_OPERATIONS[name] for name in self.ops if name in MEMBER_OPERATIONS}
        if self.components:
            found.add("InterpretComponent")
        return [op for op in OPERATIONS if op in found]


def _body(rule: _Rule, operation: str, compiler: _Compiler) -> list[str]:
    scope = _Scope({})

    def member(name: str) -> str:
        return compiler.expr(rule.ops[name].value, scope)

    compiler.need("out")
    if operation == "InterpretReplica":
        lines = [f"local replica = K.replicas({member('replicas')})"]
        if "requirements" in rule.ops:
            lines += [f"local requires = K.out({member('requirements')}, true)",
                      "if requires == nil or requires == false or requires == 0 or requires == \"\" "
                      "or K.empty(requires) then requires = nil end",
                      "return replica, requires"]
        else:
            lines.append("return replica, nil")
        return lines
    if operation == "InterpretComponent":
        return _components_body(rule, compiler, scope)
    results = {
        "ReviseReplica": ("revise", "K.out({}, false)"), "InterpretHealth": ("health", "K.health({})"),
        "InterpretDependency": ("dependencies", "K.out({}, true) or {{}}"),
        "InterpretStatus": ("status", "K.out({}, true)"), "AggregateStatus": ("aggregate", "K.out({}, true)"),
        "Retain": ("retain", "K.out({}, false)"),
    }
    name, wrap = results[operation]
    return [f"return {wrap.format(member(name))}"]


def _components_body(rule: _Rule, compiler: _Compiler, scope: _Scope) -> list[str]:
    if "components" in rule.ops:
        return [f"return K.components({compiler.expr(rule.ops['components'].value, scope)})"]
    lines = ["local out, n = {}, 0"]
    for component in rule.components:
        values = {f.name: compiler.expr(f.value, scope) for f in component.fields}
        body = []
        if "requirements" in values:
            body.append(f"local req = {values['requirements']}")
            body.append("if req == nil or req == false or req == 0 or req == \"\" then req = {} end")
            body.append("req = K.copy(req)")
        else:
            body.append("local req = K.map({})")
        for kpl_name, key in (("requests", "resourceRequest"), ("node_claim", "nodeClaim"),
                              ("priority_class_name", "priorityClassName")):
            if kpl_name in values:
                body.append(f"req[{lua_string(key)}] = {values[kpl_name]}")
        replicas = values.get("replicas", "0")
        body.append(f"n = n + 1; out[n] = K.component(K.map({{name = {lua_string(component.name)}, "
                    f"replicas = {replicas}, replicaRequirements = req}}))")
        if "when" in values:
            body = [f"if ({values['when']}) == true then", *("  " + b for b in body), "end"]
        lines += ["do", *("  " + b for b in body), "end"]
    compiler.need("with")
    return [*lines, "return out"]


def _operation_roots(rule: _Rule, operation: str) -> list[Any]:
    if operation == "InterpretComponent" and "components" not in rule.ops:
        return list(rule.components)
    return [rule.ops[m].value for m in OPERATIONS[operation][0] if m in rule.ops]


def _script(rule: _Rule, operation: str) -> str:
    _, function, params, binds = LUA_OPERATIONS[operation]
    reach = _reachable(_operation_roots(rule, operation), rule.lets, rule.fns)
    lets = {n for n in rule.lets if n in reach}
    fns = {n: len(rule.fns[n].params) for n in rule.fns if n in reach}
    compiler = _Compiler(set(rule.lets), {n: len(f.params) for n, f in rule.fns.items()}, dict(binds))
    body = [f"local root = {_ROOTS.get(operation, params[0])}", "local L, F = {}, {}"]
    if lets:
        compiler.need("lazy")
    for name in rule.lets:
        if name in lets:
            value = compiler.expr(rule.lets[name].value, _Scope({}))
            body.append(f"L[{lua_string(name)}] = K.lazy(function() return {value} end)")
    for name in fns:
        fn = rule.fns[name]
        locals_ = {p: compiler.fresh(p) for p in fn.params}
        value = compiler.expr(fn.body, _Scope(locals_))
        body.append(f"F[{lua_string(name)}] = function({', '.join(locals_.values())}) return {value} end")
    body += _body(rule, operation, compiler)
    head = f"-- {rule.node.api_version} {rule.node.kind}: {operation}, generated by kpl from the kpl rule.\n"
    lines = "".join(f"  {line}\n" for line in body)
    function_text = f"function {function}({', '.join(params)})\n{lines}end\n"
    return head + prelude_for(frozenset(compiler.used)) + function_text


def compile_lua(node: ast.Interpreter, source: Source) -> LuaScripts:
    """The Lua script of every operation ``node`` implements; an operation that cannot be generated
    faithfully has a located diagnostic (``export.lua_unsupported``) instead of a script."""
    rule = _Rule.of(node)
    result = LuaScripts()
    for operation in rule.operations():
        try:
            result.scripts[LUA_OPERATIONS[operation][0]] = _script(rule, operation)
        except _Unsupported as error:
            result.diagnostics.append(Diagnostic(
                "export.lua_unsupported",
                f"{operation} of {node.kind} cannot be generated as Lua: {error.message}",
                source, error.span, help="rewrite the expression with functions Lua can express, or keep a "
                "hand-written customization for this operation"))
    return result
