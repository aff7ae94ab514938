"""Interpreter rules: the eight Karmada resource-interpreter operations, answered by kpl rules.

An ``interpreter <apiVersion> <Kind>`` block is compiled once into a :class:`CompiledInterpreter`.
Each operation binds the names Karmada's hooks receive:

=================  ====================  =============================================  ==================
operation          kpl member            ``.`` and other names                          result key
=================  ====================  =============================================  ==================
InterpretReplica   ``replicas``,         ``.`` = desired object                          ``replica``,
                   ``requirements``                                                      ``requires``
InterpretComponent ``components`` or     ``.`` = desired object                          ``components``
                   ``component`` blocks
ReviseReplica      ``revise``            ``.`` = desired, ``desired_replicas``           ``revised``
InterpretHealth    ``health``            ``.`` = observed object                         ``healthy``
InterpretDependency ``dependencies``     ``.`` = desired object                          ``dependencies``
InterpretStatus    ``status``            ``.`` = observed object                         ``status``
AggregateStatus    ``aggregate``         ``.`` = desired, ``status_items``               ``aggregatedStatus``
Retain             ``retain``            ``.`` = desired, ``observed``                   ``retained``
=================  ====================  =============================================  ==================

``desired`` and ``observed`` are also bound by name wherever Karmada passes them. ``status_items`` is
null when Karmada passes no list at all (scripts tell that apart from an empty list). Results go through
the same conversion Karmada's Lua bridge applies (:func:`kpl.engine.values.to_output`). ``gate("Name")``
reads the Karmada feature gates given to :meth:`CompiledInterpreter.run` (Karmada's defaults if none).
"""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kpl.dsl import ast
from kpl.dsl.source import Source, Span
from kpl.engine.evaluator import Compiled, Env, compile_expr
from kpl.engine.features import FeatureGateError, FeatureGates
from kpl.engine.operations import COMPONENT_FIELDS, MEMBER_OPERATIONS, OPERATIONS
from kpl.engine.values import EvalError, Value, is_number, to_output, type_name

__all__ = [
    "COMPONENT_FIELDS",
    "MEMBER_OPERATIONS",
    "OPERATIONS",
    "CompiledInterpreter",
    "InterpretError",
    "compile_interpreter",
]


class InterpretError(Exception):
    """An operation failed at ``span`` of the rule's ``source`` (when the rule came from a file)."""

    def __init__(self, message: str, span: Span | None, operation: str, source: Source | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.operation = operation
        self.source = source

    def where(self) -> str | None:
        """``file:line:col`` of the failing expression, or None when the rule's text is not known."""
        if self.source is None or self.span is None:
            return None
        line, column = self.source.line_col(self.span.start)
        return f"{self.source.name}:{line}:{column}"

    def describe(self) -> str:
        """``<operation> failed at <file:line:col>: <message>`` (the location left out when unknown)."""
        where = self.where()
        return f"{self.operation} failed{f' at {where}' if where else ''}: {self.message}"


@dataclass(frozen=True)
class _Component:
    name: str
    fields: Mapping[str, Compiled]
    span: Span


@dataclass
class CompiledInterpreter:
    """One kind's rules, compiled: ``run(operation, ...)`` answers a Karmada interpreter request."""

    api_version: str
    kind: str
    node: ast.Interpreter
    members: dict[str, tuple[Compiled, Span]] = field(default_factory=dict)
    lets: dict[str, Compiled] = field(default_factory=dict)
    functions: dict[str, tuple[tuple[str, ...], Compiled]] = field(default_factory=dict)
    components: list[_Component] = field(default_factory=list)
    source: Source | None = None

    def operations(self) -> list[str]:
        """The Karmada operations this rule implements."""
        found = []
        for operation, (members, _) in OPERATIONS.items():
            if any(m in self.members for m in members) or (operation == "InterpretComponent" and self.components):
                found.append(operation)
        return found

    def implements(self, operation: str) -> bool:
        return operation in self.operations()

    # ------------------------------------------------------------------ evaluation environment
    def _env(self, root: Value, names: Mapping[str, Value], gates: FeatureGates | None = None) -> Env:
        env = Env(root, {}, None, {})
        env.variables = ChainMap(dict(names), _LazyLets(self.lets, lambda: env))  # type: ignore[arg-type]
        functions = {name: self._function(params, body, env) for name, (params, body) in self.functions.items()}
        if gates is not None and "gate" not in functions:
            functions["gate"] = _gate_reader(gates)
        env.functions = functions
        return env

    @staticmethod
    def _function(params: tuple[str, ...], body: Compiled, env: Env) -> Callable[..., Value]:
        def call(*args: Value) -> Value:
            if len(args) != len(params):
                raise EvalError(f"takes {len(params)} arguments, got {len(args)}")
            return body(env.bind(dict(zip(params, args, strict=True))))

        return call

    def _eval(self, member: str, env: Env, operation: str) -> Value:
        compiled, span = self.members[member]
        try:
            return compiled(env)
        except EvalError as error:
            raise InterpretError(error.message, error.span or span, operation, self.source) from None

    # ------------------------------------------------------------------ operations
    def run(self, operation: str, *, desired: Value = None, observed: Value = None,
            status_items: Value = None, desired_replicas: int | None = None,
            gates: Mapping[str, bool] | FeatureGates | None = None) -> dict[str, Value]:
        """Answer one operation; the result is keyed like Karmada's test data (``replica``, ...).

        ``gates`` are the Karmada feature gates the rules read with ``gate("Name")`` (defaults when None).
        """
        names = {"desired": desired, "observed": observed}
        resolved = _resolve_gates(gates, operation)

        def env(root: Value, extra: Mapping[str, Value] | None = None) -> Env:
            return self._env(root, {**names, **(extra or {})}, resolved)

        if operation == "InterpretReplica":
            return self._replica(env(desired))
        if operation == "InterpretComponent":
            return {"components": self._components(env(desired))}
        if operation == "ReviseReplica":
            revise_env = env(desired, {"desired_replicas": desired_replicas})
            return {"revised": to_output(self._eval("revise", revise_env, operation))}
        if operation == "InterpretHealth":
            return {"healthy": self._health(env(observed))}
        if operation == "InterpretDependency":
            value = self._eval("dependencies", env(desired), operation)
            return {"dependencies": _dedupe_dependencies(to_output(value, drop_empty=True) or [])}
        if operation == "InterpretStatus":
            value = self._eval("status", env(observed), operation)
            return {"status": to_output(value, drop_empty=True)}
        if operation == "AggregateStatus":
            aggregated = self._eval("aggregate", env(desired, {"status_items": status_items}), operation)
            return {"aggregatedStatus": to_output(aggregated, drop_empty=True)}
        if operation == "Retain":
            return {"retained": to_output(self._eval("retain", env(desired), operation))}
        raise InterpretError(f"unknown operation `{operation}`", None, operation)

    def _replica(self, env: Env) -> dict[str, Value]:
        replicas = self._eval("replicas", env, "InterpretReplica")
        result: dict[str, Value] = {"replica": _replica_count(replicas, self.members["replicas"][1])}
        if "requirements" in self.members:
            requires = to_output(self._eval("requirements", env, "InterpretReplica"), drop_empty=True)
            if requires:
                result["requires"] = requires
        return result

    def _health(self, env: Env) -> bool:
        value = self._eval("health", env, "InterpretHealth")
        if not isinstance(value, bool):
            span = self.members["health"][1]
            raise InterpretError(f"`health` must be a bool, got {type_name(value)}", span, "InterpretHealth")
        return value

    def _components(self, env: Env) -> list[Value]:
        if "components" in self.members:
            value = self._eval("components", env, "InterpretComponent")
            if value is None:
                return []
            if not isinstance(value, list):
                span = self.members["components"][1]
                raise InterpretError(f"`components` must be a list, got {type_name(value)}", span,
                                     "InterpretComponent")
            return [_component_output(item, self.members["components"][1]) for item in value]
        out = []
        for component in self.components:
            built = self._component(component, env)
            if built is not None:
                out.append(built)
        return out

    def _component(self, component: _Component, env: Env) -> dict[str, Value] | None:
        def get(name: str) -> Value:
            try:
                return component.fields[name](env)
            except EvalError as error:
                raise InterpretError(error.message, error.span or component.span, "InterpretComponent",
                                     self.source) from None

        if "when" in component.fields and get("when") is not True:
            return None
        requirements = dict(get("requirements") or {}) if "requirements" in component.fields else {}
        for name, key in (("requests", "resourceRequest"), ("node_claim", "nodeClaim"),
                          ("priority_class_name", "priorityClassName")):
            if name in component.fields:
                requirements[key] = get(name)
        item = {"name": component.name, "replicas": get("replicas") if "replicas" in component.fields else 0,
                "replicaRequirements": requirements}
        return _component_output(item, component.span)


class _LazyLets(Mapping[str, Value]):
    """Interpreter-level ``let`` values, each computed on first use within one operation."""

    def __init__(self, lets: Mapping[str, Compiled], env: Callable[[], Env]) -> None:
        self._lets = lets
        self._env = env
        self._done: dict[str, Value] = {}

    def __getitem__(self, key: str) -> Value:
        if key not in self._done:
            if key not in self._lets:
                raise KeyError(key)
            self._done[key] = self._lets[key](self._env())
        return self._done[key]

    def __iter__(self) -> Any:
        return iter(self._lets)

    def __len__(self) -> int:
        return len(self._lets)


_DEFAULT_GATES = FeatureGates()


def _resolve_gates(gates: Mapping[str, bool] | FeatureGates | None, operation: str) -> FeatureGates:
    if isinstance(gates, FeatureGates):
        return gates
    if not gates:
        return _DEFAULT_GATES
    try:
        return FeatureGates.from_mapping(gates)
    except FeatureGateError as error:
        raise InterpretError(str(error), None, operation) from None


def _gate_reader(gates: FeatureGates) -> Callable[..., Value]:
    """``gate("Name")`` inside a rule: the value of that gate in the run's feature gates."""

    def gate(*args: Value) -> Value:
        if len(args) != 1 or not isinstance(args[0], str):
            raise EvalError("`gate` takes one gate name")
        try:
            return gates.enabled(args[0])
        except FeatureGateError as error:
            raise EvalError(str(error)) from None

    return gate


def _dedupe_dependencies(items: list[Value]) -> list[Value]:
    """Karmada's interpreter drops repeated dependencies and sorts them (apiVersion, kind, namespace, name)."""
    keys = ("apiVersion", "kind", "namespace", "name")
    unique: dict[tuple[str, ...], Value] = {}
    for item in items:
        key = tuple(str(item.get(k, "")) for k in keys) if isinstance(item, Mapping) else (repr(item),)
        unique.setdefault(key, item)
    return [unique[k] for k in sorted(unique)]


def _replica_count(value: Value, span: Span) -> int:
    if value is None:
        return 0
    if not is_number(value):
        raise InterpretError(f"`replicas` must be a number, got {type_name(value)}", span, "InterpretReplica")
    if not math.isfinite(value):
        raise InterpretError("`replicas` is not a finite number", span, "InterpretReplica")
    return max(min(int(value), 2**31 - 1), -(2**31))


def _component_output(item: Value, span: Span) -> dict[str, Value]:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise InterpretError("a component must be an object with a string `name`", span, "InterpretComponent")
    replicas = item.get("replicas")
    if replicas is not None and not is_number(replicas):
        raise InterpretError(f"component `replicas` must be a number, got {type_name(replicas)}", span,
                             "InterpretComponent")
    if replicas is not None and isinstance(replicas, float) and not replicas.is_integer():
        raise InterpretError("component `replicas` must be a whole number", span, "InterpretComponent")
    out: dict[str, Value] = to_output(item, drop_empty=True)
    return out


def compile_interpreter(node: ast.Interpreter, source: Source | None = None) -> CompiledInterpreter:
    """Compile every member of one interpreter block (static checks happen in ``kpl.engine.check``).

    ``source`` is the text the block was parsed from; errors then name their file, line and column."""
    compiled = CompiledInterpreter(node.api_version, node.kind, node, source=source)
    for member in node.members:
        if isinstance(member, ast.LetMember):
            compiled.lets[member.name] = compile_expr(member.value)
        elif isinstance(member, ast.FnMember):
            compiled.functions[member.name] = (member.params, compile_expr(member.body))
        elif isinstance(member, ast.Operation):
            compiled.members[member.name] = (compile_expr(member.value), member.span)
        else:
            fields = {f.name: compile_expr(f.value) for f in member.fields}
            compiled.components.append(_Component(member.name, fields, member.span))
    return compiled
