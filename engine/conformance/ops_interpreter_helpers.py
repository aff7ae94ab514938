"""Vector ops of ``interpreter.yaml`` answered by the quantity and ``kube`` helper modules (spec §7.3, §8).

* ``replica_requirements`` — a pod template through :func:`kpl.engine.kube.replica_requirements`;
* ``pod_template_request`` — a pod spec through :func:`kpl.engine.kube.pod_template_request`;
* ``quantity_roundtrip`` — how a quantity's text survives parsing, arithmetic, the Lua float round trip
  and the pod-request integer conversion (input ``path`` names the route).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.features import RESOURCE_QUOTA_ESTIMATE, FeatureGates
from kpl.engine.kube import (
    KubeHelperError,
    get_resource_quantity,
    pod_template_request,
    replica_requirements,
    resource_add,
)
from kpl.engine.quantity import Quantity, QuantityError, parse_quantity

__all__ = ["op_pod_template_request", "op_quantity_roundtrip", "op_replica_requirements"]


def _error_or_diff(error: ExpectedError | None, actual: Any, expected: Any) -> str | None:
    if isinstance(expected, Mapping) and "error" in expected:
        return check_error(error, expected["error"])
    if error is not None:
        return f"unexpected error: {error.message}"
    return deep_diff(actual, expected)


@vector_op("replica_requirements")
def op_replica_requirements(input: Mapping[str, Any], expected: Any) -> str | None:
    gates = FeatureGates.from_mapping(input.get("feature_gates"))
    try:
        actual = replica_requirements(
            input.get("podTemplate"),
            namespace=input.get("namespace"),
            resource_quota_estimate=gates.enabled(RESOURCE_QUOTA_ESTIMATE),
        )
    except KubeHelperError as error:
        return _error_or_diff(ExpectedError("Error", str(error)), None, expected)
    if isinstance(expected, Mapping) and "error" in expected:
        return _error_or_diff(None, actual, expected)
    want = expected.get("replicaRequirements") if isinstance(expected, Mapping) else expected
    return deep_diff(actual, want)


@vector_op("pod_template_request")
def op_pod_template_request(input: Mapping[str, Any], expected: Any) -> str | None:
    try:
        actual = pod_template_request(input.get("podSpec"))
    except KubeHelperError as error:
        return _error_or_diff(ExpectedError("Error", str(error)), None, expected)
    if isinstance(expected, Mapping) and "scalarResources" not in expected and not actual["scalarResources"]:
        del actual["scalarResources"]
    return _error_or_diff(None, actual, expected)


# -- quantity round trips ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """What a route produced: the quantity, the float it passed through, and its serialised text."""

    quantity: Quantity
    number: float | None = None
    text: str | None = None


def _route_parse(input: Mapping[str, Any]) -> Observation:
    return Observation(parse_quantity(str(input["text"])))


def _route_add(input: Mapping[str, Any]) -> Observation:
    total = Quantity.zero()
    for item in input["add"]:
        total = total + Quantity.from_json(item)
    return Observation(total)


def _route_subtract(input: Mapping[str, Any]) -> Observation:
    first, *rest = input["sub"]
    total = Quantity.from_json(first)
    for item in rest:
        total = total - Quantity.from_json(item)
    return Observation(total)


def _route_lua_number(input: Mapping[str, Any]) -> Observation:
    number = get_resource_quantity(str(input["text"]))
    return Observation(Quantity.from_json(number), number)


def _route_json_number(input: Mapping[str, Any]) -> Observation:
    number = input["number"]
    return Observation(Quantity.from_json(number), float(number))


def _route_resource_add(input: Mapping[str, Any]) -> Observation:
    text = resource_add(*input["add"])
    return Observation(parse_quantity(text), text=text)


def _route_pod_request(input: Mapping[str, Any]) -> Observation:
    name = str(input.get("resource", "memory"))
    template = {"spec": {"containers": [{"resources": {"requests": {name: input["text"]}}}]}}
    requirements = replica_requirements(template) or {}
    text = requirements.get("resourceRequest", {}).get(name, "0")
    return Observation(parse_quantity(text), text=text)


_ROUTES: Mapping[str, Callable[[Mapping[str, Any]], Observation]] = {
    "parse_then_serialize": _route_parse,
    "add_then_serialize": _route_add,
    "sub_then_serialize": _route_subtract,
    "lua_getResourceQuantity_then_json": _route_lua_number,
    "json_number_then_serialize": _route_json_number,
    "resource_add_then_serialize": _route_resource_add,
    "pod_template_request_then_resourcelist": _route_pod_request,
}


def _observed(seen: Observation) -> dict[str, Any]:
    quantity = seen.quantity
    return {
        "serialized": str(quantity) if seen.text is None else seen.text,
        "value": quantity.value(),
        "milli_value": quantity.milli_value(),
        "format": quantity.format.value,
        "number": seen.number,
    }


def _compare_observed(observed: Mapping[str, Any], expected: Mapping[str, Any]) -> str | None:
    for key, want in expected.items():
        if key not in observed or (key == "number" and observed[key] is None):
            return f"the vector expects `{key}`, which this route does not produce"
        got = observed[key]
        if key == "number":
            if float(got) != float(want):
                return f"number: expected {want}, got {got}"
        elif got != want:
            return f"{key}: expected {want!r}, got {got!r}"
    return None


# route-name fragments, for spellings of the same routes not listed above
_ROUTE_WORDS: tuple[tuple[str, str], ...] = (
    ("getresourcequantity", "lua_getResourceQuantity_then_json"),
    ("resourceadd", "resource_add_then_serialize"),
    ("resource_add", "resource_add_then_serialize"),
    ("resourcelist", "pod_template_request_then_resourcelist"),
    ("pod_template_request", "pod_template_request_then_resourcelist"),
    ("json_number", "json_number_then_serialize"),
    ("sub", "sub_then_serialize"),
    ("add", "add_then_serialize"),
    ("parse", "parse_then_serialize"),
)


def _route(path: str) -> Callable[[Mapping[str, Any]], Observation] | None:
    if path in _ROUTES:
        return _ROUTES[path]
    lowered = path.lower()
    for word, name in _ROUTE_WORDS:
        if word in lowered:
            return _ROUTES[name]
    return None


@vector_op("quantity_roundtrip")
def op_quantity_roundtrip(input: Mapping[str, Any], expected: Any) -> str | None:
    route = _route(str(input.get("path")))
    if route is None:
        return f"unknown quantity route {input.get('path')!r}"
    try:
        seen = route(input)
    except (QuantityError, KubeHelperError, KeyError, TypeError, ValueError) as error:
        return _error_or_diff(ExpectedError("Error", str(error)), None, expected)
    if isinstance(expected, Mapping) and "error" in expected:
        return _error_or_diff(None, str(seen.quantity), expected)
    return _compare_observed(_observed(seen), expected)
