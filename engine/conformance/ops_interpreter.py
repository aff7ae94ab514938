"""Vector ops of ``interpreter.yaml`` answered by the built-in rule library (spec §7.2, §7.4, §7.5).

Every op runs the kind's rule from :func:`kpl.engine.library.builtin_library`, the same rules the product
uses; nothing here re-implements an interpreter.

* ``native_get_replicas`` — InterpretReplica of a native kind → ``{replicas, replicaRequirements}``;
* ``native_replica_kinds`` — the native kinds whose rule answers InterpretReplica;
* ``thirdparty_get_components`` — InterpretComponent of a bundled third-party kind → ``{components}``;
* ``thirdparty_get_replicas`` — InterpretReplica of a bundled third-party kind.

An input's ``feature_gates`` reach the rules (``gate("Name")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.interpreter import CompiledInterpreter, InterpretError
from kpl.engine.library import builtin_library

__all__ = [
    "NATIVE_GROUPS",
    "native_replica_kinds",
    "op_native_get_replicas",
    "op_native_replica_kinds",
    "op_thirdparty_get_components",
    "op_thirdparty_get_replicas",
]

# API groups whose kinds Karmada interprets with its built-in (Go) interpreter rather than bundled Lua:
# the Kubernetes groups it knows ("" is the core group) and the multi-cluster services API.
NATIVE_GROUPS = frozenset(
    {"", "apps", "batch", "networking.k8s.io", "policy", "autoscaling", "multicluster.x-k8s.io"}
)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def native_replica_kinds() -> list[str]:
    """``<apiVersion>/<Kind>`` of every native kind whose built-in rule answers InterpretReplica."""
    library = builtin_library()
    return sorted(
        f"{api_version}/{kind}"
        for api_version, kind in library.kinds()
        if _group(api_version) in NATIVE_GROUPS
        and library.rules[(api_version, kind)].implements("InterpretReplica")
    )


def _rule(obj: Any, operation: str) -> CompiledInterpreter | str:
    if not isinstance(obj, Mapping):
        return "the vector's `object` is not an object"
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    rule = builtin_library().get(api_version, kind)
    if rule is None or not rule.implements(operation):
        return f"no built-in rule implements {operation} for {api_version} {kind}"
    return rule


Outcome = tuple[dict[str, Any] | None, ExpectedError | None, str | None]


def _run(input: Mapping[str, Any], operation: str) -> Outcome:
    """``(result, error, problem)``: the rule's answer, or the error it raised, or why it could not run."""
    rule = _rule(input.get("object"), operation)
    if isinstance(rule, str):
        return None, None, rule
    try:
        result = rule.run(operation, desired=dict(input["object"]), gates=input.get("feature_gates"))
    except InterpretError as error:
        return None, ExpectedError("Error", error.message), None
    return result, None, None


def _judge(result: Any, error: ExpectedError | None, problem: str | None, expected: Any) -> str | None:
    if problem is not None:
        return problem
    if isinstance(expected, Mapping) and "error" in expected:
        return check_error(error, expected["error"])
    if error is not None:
        return f"unexpected error: {error.message}"
    return deep_diff(result, expected)


def _replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    result, error, problem = _run(input, "InterpretReplica")
    actual = None
    if result is not None:
        actual = {"replicas": result.get("replica", 0), "replicaRequirements": result.get("requires")}
        absent = isinstance(expected, Mapping) and "replicaRequirements" not in expected
        if absent and actual["replicaRequirements"] is None:
            del actual["replicaRequirements"]
    return _judge(actual, error, problem, expected)


@vector_op("native_get_replicas")
def op_native_get_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    return _replicas(input, expected)


@vector_op("thirdparty_get_replicas")
def op_thirdparty_get_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    return _replicas(input, expected)


@vector_op("native_replica_kinds")
def op_native_replica_kinds(input: Mapping[str, Any], expected: Any) -> str | None:
    want = expected.get("kinds") if isinstance(expected, Mapping) else expected
    if not isinstance(want, list):
        return "the vector expects no list of kinds"
    return deep_diff(native_replica_kinds(), sorted(str(k) for k in want), quantities=False)


def _by_name(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return sorted(items, key=lambda item: str(item.get("name", "")) if isinstance(item, Mapping) else "")


@vector_op("thirdparty_get_components")
def op_thirdparty_get_components(input: Mapping[str, Any], expected: Any) -> str | None:
    result, error, problem = _run(input, "InterpretComponent")
    actual = None
    if result is not None:
        actual = {"components": _by_name(result.get("components") or [])}
    if isinstance(expected, Mapping) and "components" in expected:
        expected = {**expected, "components": _by_name(expected["components"] or [])}
    return _judge(actual, error, problem, expected)
