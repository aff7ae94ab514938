"""Compile expressions once into Python closures, then evaluate them over Kubernetes objects.

A compiled expression is a function of an :class:`Env`. Plain dotted paths (``.spec.replicas``) become
a fast getter; paths with wildcards (``.spec.containers[*].name``) are compiled once into a jsonpath-ng
expression; filters (``[? @.name == "main"]``) take any kpl condition and run natively. A missing field
reads as null. Evaluation is total: every failure is an :class:`EvalError` with the span of the
expression that failed.
"""

from __future__ import annotations

import math
import operator
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng.parser import parse as jsonpath_parse

from kpl.dsl import ast
from kpl.engine.builtins import FUNCTIONS
from kpl.engine.values import EvalError, Value, elements, is_number, truthy, type_name

__all__ = ["Compiled", "Env", "compile_expr"]

MAX_COLLECTION = 1_000_000


@dataclass(slots=True)
class Env:
    """What an expression sees: the operation's object (``.``), ``@``, and named values."""

    root: Value
    variables: Mapping[str, Value] = field(default_factory=dict)
    current: Value = None
    functions: Mapping[str, Callable[..., Value]] = field(default_factory=dict)

    def bind(self, names: Mapping[str, Value]) -> Env:
        return Env(self.root, ChainMap(dict(names), self.variables), self.current, self.functions)  # type: ignore[arg-type]


Compiled = Callable[[Env], Value]


def compile_expr(expr: ast.Expr) -> Compiled:
    """Compile one expression; the result may be called any number of times."""
    compiler = _COMPILERS.get(type(expr))
    if compiler is None:  # pragma: no cover - every AST expression type is listed
        raise TypeError(f"cannot compile {type(expr).__name__}")
    return compiler(expr)


def _guard(expr: ast.Expr, run: Compiled) -> Compiled:
    """Attach the expression's span to errors raised below it that have none yet."""

    def guarded(env: Env) -> Value:
        try:
            return run(env)
        except EvalError as error:
            if error.span is None:
                error.span = expr.span
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError, MemoryError) as error:
            raise EvalError(f"evaluation failed: {error}", expr.span) from None

    return guarded


# ------------------------------------------------------------------------------------ leaves


def _literal(expr: ast.Literal) -> Compiled:
    value = expr.value
    return lambda env: value


def _quantity(expr: ast.Quantity) -> Compiled:
    from kpl.engine.quantity import Quantity, QuantityError

    try:
        value = Quantity.from_json(expr.text)
    except QuantityError as error:
        message = f"invalid quantity `{expr.text}`: {error}"
        return _guard(expr, lambda env: _raise(message))
    return lambda env: value


def _raise(message: str) -> Value:
    raise EvalError(message)


def _root(expr: ast.Root) -> Compiled:
    return lambda env: env.root


def _current(expr: ast.Current) -> Compiled:
    return lambda env: env.current


def _var(expr: ast.Var) -> Compiled:
    name = expr.name

    def read(env: Env) -> Value:
        try:
            return env.variables[name]
        except KeyError:
            raise EvalError(f"unknown name `{name}`", expr.span) from None

    return read


# ------------------------------------------------------------------------------------ paths


def _plain_chain(expr: ast.Expr) -> tuple[ast.Expr, list[str | int]] | None:
    """``(base, steps)`` when ``expr`` is a base followed only by field names and literal indexes."""
    steps: list[str | int] = []
    while True:
        if isinstance(expr, ast.GetField):
            steps.append(expr.name)
        elif isinstance(expr, ast.GetIndex) and isinstance(expr.index, ast.Literal) and isinstance(
            expr.index.value, (int, str)
        ) and not isinstance(expr.index.value, bool):
            steps.append(expr.index.value)
        else:
            break
        expr = expr.target
    steps.reverse()
    return (expr, steps) if steps else None


def _step(value: Value, key: str | int) -> Value:
    if value is None:
        return None
    if isinstance(key, str):
        if isinstance(value, Mapping):
            return value.get(key)
        if isinstance(value, list):
            return None
        raise EvalError(f"cannot read field `{key}` of a {type_name(value)}")
    if isinstance(value, list):
        index = key if key >= 0 else len(value) + key
        return value[index] if 0 <= index < len(value) else None
    if isinstance(value, Mapping):
        return value.get(str(key))
    raise EvalError(f"cannot index a {type_name(value)}")


def _path(expr: ast.GetField | ast.GetIndex) -> Compiled:
    chain = _plain_chain(expr)
    if chain is not None:
        base_expr, steps = chain
        base = compile_expr(base_expr)

        def getter(env: Env) -> Value:
            value = base(env)
            for key in steps:
                if value is None:
                    return None
                value = _step(value, key)
            return value

        return _guard(expr, getter)
    if isinstance(expr, ast.GetField):
        target, name = compile_expr(expr.target), expr.name
        return _guard(expr, lambda env: _step(target(env), name))
    return _dynamic_index(expr)


def _dynamic_index(expr: ast.GetIndex) -> Compiled:
    target, index = compile_expr(expr.target), compile_expr(expr.index)

    def run(env: Env) -> Value:
        key = index(env)
        if key is None:
            return None
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise EvalError(f"an index must be an int or a string, got {type_name(key)}")
        return _step(target(env), key)

    return _guard(expr, run)


def _wildcard_chain(expr: ast.Expr) -> tuple[ast.Expr, str] | None:
    """A jsonpath-ng path for a base followed by fields, literal indexes and ``[*]`` (at least one)."""
    parts: list[str] = []
    has_wildcard = False
    while True:
        if isinstance(expr, ast.GetField):
            parts.append("." + _jsonpath_name(expr.name))
        elif isinstance(expr, ast.GetAll):
            parts.append("[*]")
            has_wildcard = True
        elif isinstance(expr, ast.GetIndex) and isinstance(expr.index, ast.Literal) and type(
            expr.index.value
        ) is int and expr.index.value >= 0:
            parts.append(f"[{expr.index.value}]")
        else:
            break
        expr = expr.target
    if not has_wildcard:
        return None
    return expr, "$" + "".join(reversed(parts))


def _jsonpath_name(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _compiled_wildcard(expr: ast.GetAll | ast.GetField) -> Compiled | None:
    """One jsonpath-ng expression for a wildcard path, compiled once; ``None`` if ``expr`` has no wildcard."""
    chain = _wildcard_chain(expr)
    if chain is None:
        return None
    base_expr, text = chain
    base = compile_expr(base_expr)
    path = jsonpath_parse(text)
    return _guard(expr, lambda env: [m.value for m in path.find(base(env)) if m.value is not None])


def _get_all(expr: ast.GetAll) -> Compiled:
    target = compile_expr(expr.target)
    return _compiled_wildcard(expr) or _guard(expr, lambda env: _elements(target(env)))


def _elements(value: Value) -> list[Value]:
    return elements(value, "`[*]`")


def _get_filtered(expr: ast.GetFiltered) -> Compiled:
    target, condition = compile_expr(expr.target), compile_expr(expr.condition)

    def run(env: Env) -> Value:
        kept = []
        for item in _elements(target(env)):
            inner = Env(env.root, env.variables, item, env.functions)
            if truthy(condition(inner), expr.condition.span):
                kept.append(item)
        return kept

    return _guard(expr, run)


def _project(expr: ast.GetField) -> Compiled | None:
    """``.a[*].b`` where the wildcard is not expressible as one jsonpath: map the field over the list."""
    if isinstance(expr.target, (ast.GetFiltered,)):
        target, name = compile_expr(expr.target), expr.name
        return _guard(
            expr, lambda env: [v for v in (_step(item, name) for item in target(env)) if v is not None]
        )
    return None


def _get_field(expr: ast.GetField) -> Compiled:
    return _compiled_wildcard(expr) or _project(expr) or _path(expr)


# ------------------------------------------------------------------------------------ operators

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod,
}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _equal(left: Value, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and bool(left == right)
    if is_number(left) and is_number(right):
        return bool(left == right)
    from kpl.engine.quantity import Quantity

    if isinstance(left, Quantity) or isinstance(right, Quantity):
        return bool(_as_quantity(left) == _as_quantity(right))
    return (type(left) is type(right) and bool(left == right)) or (
        isinstance(left, Mapping) and isinstance(right, Mapping) and dict(left) == dict(right)
    )


def _as_quantity(value: Value) -> Any:
    from kpl.engine.quantity import Quantity, QuantityError

    if isinstance(value, Quantity):
        return value
    if is_number(value) or isinstance(value, str):
        try:
            return Quantity.from_json(value)
        except QuantityError:
            return None
    return None


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    from kpl.engine.quantity import Quantity

    if is_number(left) and is_number(right):
        if op in ("/", "//", "%") and right == 0:
            raise EvalError("division by zero")
        result = _ARITHMETIC[op](left, right)
        if isinstance(result, float) and not math.isfinite(result):
            raise EvalError("the result is not a finite number")
        return result
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, list) and isinstance(right, list):
        if len(left) + len(right) > MAX_COLLECTION:
            raise EvalError("list is too long")
        return left + right
    if isinstance(left, Quantity) or isinstance(right, Quantity):
        return _quantity_arithmetic(op, left, right)
    raise EvalError(f"cannot apply `{op}` to {type_name(left)} and {type_name(right)}")


def _quantity_arithmetic(op: str, left: Value, right: Value) -> Value:
    from kpl.engine.quantity import Quantity

    if op in ("+", "-"):
        a, b = _as_quantity(left), _as_quantity(right)
        if a is None or b is None:
            raise EvalError(f"cannot apply `{op}` to {type_name(left)} and {type_name(right)}")
        return a + b if op == "+" else a - b
    if op == "*":
        quantity, factor = (left, right) if isinstance(left, Quantity) else (right, left)
        if type(factor) is int:
            return quantity * factor
    raise EvalError(f"cannot apply `{op}` to {type_name(left)} and {type_name(right)}")


def _compare(op: str, left: Value, right: Value) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("in", "not in"):
        found = _member(left, right)
        return found if op == "in" else not found
    if left is None or right is None:
        return False
    from kpl.engine.quantity import Quantity

    if isinstance(left, Quantity) or isinstance(right, Quantity):
        left, right = _as_quantity(left), _as_quantity(right)
    same_kind = (is_number(left) and is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)) or (
        isinstance(left, Quantity) and isinstance(right, Quantity))
    if not same_kind:
        raise EvalError(f"cannot compare {type_name(left)} with {type_name(right)} using `{op}`")
    return _ORDER[op](left, right)


def _member(item: Value, container: Value) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, Mapping):
        return item in container
    if isinstance(container, list):
        return any(_equal(item, element) for element in container)
    raise EvalError(f"`in` needs a list, an object or a string, got {type_name(container)}")


def _binary(expr: ast.Binary) -> Compiled:
    left, right, op = compile_expr(expr.left), compile_expr(expr.right), expr.op
    if op == "??":
        return lambda env: v if (v := left(env)) is not None else right(env)
    if op == "and":
        return _guard(expr, lambda env: truthy(left(env), expr.left.span) and truthy(right(env), expr.right.span))
    if op == "or":
        return _guard(expr, lambda env: truthy(left(env), expr.left.span) or truthy(right(env), expr.right.span))
    if op in _ARITHMETIC:
        return _guard(expr, lambda env: _arithmetic(op, left(env), right(env)))
    return _guard(expr, lambda env: _compare(op, left(env), right(env)))


def _unary(expr: ast.Unary) -> Compiled:
    operand = compile_expr(expr.operand)
    from kpl.engine.quantity import Quantity

    def negate(env: Env) -> Value:
        value = operand(env)
        if is_number(value) or isinstance(value, Quantity):
            return -value
        raise EvalError(f"cannot negate a {type_name(value)}")

    return _guard(expr, negate)


def _not(expr: ast.Not) -> Compiled:
    operand = compile_expr(expr.operand)
    return _guard(expr, lambda env: not truthy(operand(env), expr.operand.span))


def _conditional(expr: ast.Conditional) -> Compiled:
    condition, then, otherwise = (compile_expr(e) for e in (expr.condition, expr.then, expr.otherwise))
    span = expr.condition.span
    return lambda env: then(env) if truthy(condition(env), span) else otherwise(env)


def _let(expr: ast.Let) -> Compiled:
    value, body, name = compile_expr(expr.value), compile_expr(expr.body), expr.name
    return lambda env: body(env.bind({name: value(env)}))


# ------------------------------------------------------------------------------------ calls and literals


def _call(expr: ast.Call) -> Compiled:
    args = [compile_expr(a) for a in expr.args]
    name = expr.function

    def run(env: Env) -> Value:
        values = [a(env) for a in args]
        user = env.functions.get(name)
        if user is not None:
            return user(*values)
        entry = FUNCTIONS.get(name)
        if entry is None:
            raise EvalError(f"unknown function `{name}`")
        low, high, implementation = entry
        if len(values) < low or (high is not None and len(values) > high):
            raise EvalError(f"`{name}` takes {_arity(low, high)} arguments, got {len(values)}")
        return implementation(*values)

    return _guard(expr, run)


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low}"
    return str(low) if low == high else f"{low} to {high}"


def _list(expr: ast.ListExpr) -> Compiled:
    parts = [(isinstance(i, ast.Spread), compile_expr(i.value if isinstance(i, ast.Spread) else i))
             for i in expr.items]

    def build(env: Env) -> Value:
        out: list[Value] = []
        for is_spread, part in parts:
            value = part(env)
            if is_spread:
                out.extend(_elements(value))
            else:
                out.append(value)
        return out

    return _guard(expr, build)


def _map(expr: ast.MapExpr) -> Compiled:
    parts: list[tuple[str | Compiled | None, Compiled]] = []
    for entry in expr.entries:
        if isinstance(entry, ast.Spread):
            parts.append((None, compile_expr(entry.value)))
        else:
            key = entry.key if isinstance(entry.key, str) else compile_expr(entry.key)
            parts.append((key, compile_expr(entry.value)))

    def build(env: Env) -> Value:
        out: dict[str, Value] = {}
        for key, part in parts:
            value = part(env)
            if key is None:
                if value is not None and not isinstance(value, Mapping):
                    raise EvalError(f"`...` in an object needs an object, got {type_name(value)}")
                out.update(value or {})
                continue
            name = key if isinstance(key, str) else key(env)
            if not isinstance(name, str):
                raise EvalError(f"an object key must be a string, got {type_name(name)}")
            out[name] = value
        return {k: v for k, v in out.items() if v is not None}

    return _guard(expr, build)


def _comprehension(expr: ast.Comprehension) -> Compiled:
    element, iterable = compile_expr(expr.element), compile_expr(expr.iterable)
    condition = compile_expr(expr.condition) if expr.condition is not None else None
    targets = expr.targets

    def run(env: Env) -> Value:
        source = iterable(env)
        pairs = list(source.items()) if isinstance(source, Mapping) and len(targets) == 2 else _elements(source)
        out = []
        for item in pairs:
            inner = env.bind(_unpack(targets, item))
            if condition is not None and not truthy(condition(inner), expr.condition.span if expr.condition else None):
                continue
            out.append(element(inner))
        return out

    return _guard(expr, run)


def _unpack(targets: tuple[str, ...], item: Value) -> dict[str, Value]:
    if len(targets) == 1:
        return {targets[0]: item}
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return {targets[0]: item[0], targets[1]: item[1]}
    raise EvalError(f"cannot unpack a {type_name(item)} into `{', '.join(targets)}`")


def _with(expr: ast.With) -> Compiled:
    target = compile_expr(expr.target)
    updates = [(u.path, compile_expr(u.value)) for u in expr.updates]

    def run(env: Env) -> Value:
        base = target(env)
        if base is None:
            base = {}
        if not isinstance(base, Mapping):
            raise EvalError(f"`with` needs an object, got {type_name(base)}")
        result = dict(base)
        for path, value in updates:
            result = _assign(result, path, value(env))
        return result

    return _guard(expr, run)


def _assign(obj: dict[str, Value], path: tuple[str, ...], value: Value) -> dict[str, Value]:
    head, rest = path[0], path[1:]
    if not rest:
        if value is None:
            obj.pop(head, None)
        else:
            obj[head] = value
        return obj
    child = obj.get(head)
    if child is not None and not isinstance(child, Mapping):
        raise EvalError(f"cannot set a field inside `{head}`, a {type_name(child)}")
    if child is None and value is None:
        return obj
    obj[head] = _assign(dict(child or {}), rest, value)
    return obj


_COMPILERS: dict[type, Callable[[Any], Compiled]] = {
    ast.Literal: _literal,
    ast.Quantity: _quantity,
    ast.Root: _root,
    ast.Current: _current,
    ast.Var: _var,
    ast.GetField: _get_field,
    ast.GetIndex: _path,
    ast.GetAll: _get_all,
    ast.GetFiltered: _get_filtered,
    ast.Binary: _binary,
    ast.Unary: _unary,
    ast.Not: _not,
    ast.Conditional: _conditional,
    ast.Let: _let,
    ast.Call: _call,
    ast.ListExpr: _list,
    ast.MapExpr: _map,
    ast.Comprehension: _comprehension,
    ast.With: _with,
}
