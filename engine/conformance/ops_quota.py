"""Vector ops of ``quota.yaml``: binding usage, overallUsed recomputation, the RB admission webhook (§9).

Each op adapts the vector's input to :mod:`kpl.engine.quota` and compares the answer; quantities compare
by value unless the expectation asks for ``exact_string``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpl.engine.conformance.compare import deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.quantity import Quantity
from kpl.engine.quota import (
    QuotaView,
    admit_binding,
    binding_usage,
    component_set_resources,
    overall_used,
    resource_list,
    resource_list_json,
)

__all__ = ["op_binding_usage", "op_component_set_resources", "op_overall_used", "op_rb_admission"]

_FLAGS = ("exact_string",)


def _compare(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> str | None:
    """Compare the keys the expectation names; strings exactly when it says ``exact_string``."""
    wanted = {key: value for key, value in expected.items() if key not in _FLAGS}
    return deep_diff(actual, wanted, quantities=not expected.get("exact_string"))


@vector_op("binding_usage")
def op_binding_usage(input: Mapping[str, Any], expected: Any) -> str | None:
    return _compare({"usage": resource_list_json(binding_usage(input.get("binding")))}, expected)


@vector_op("component_set_resources")
def op_component_set_resources(input: Mapping[str, Any], expected: Any) -> str | None:
    resources = component_set_resources(input.get("components"))
    return _compare({"resources": resource_list_json(resources)}, expected)


@vector_op("overall_used")
def op_overall_used(input: Mapping[str, Any], expected: Any) -> str | None:
    used = overall_used(input.get("bindings") or (), resource_list(input.get("overall")))
    return _compare({"overallUsed": resource_list_json(used)}, expected)


def _used_after(views: list[QuotaView], updates: Mapping[str, Mapping[str, Quantity]]) -> dict[str, Any]:
    return {view.name: resource_list_json(updates.get(view.name, view.overall_used)) for view in views}


@vector_op("rb_admission")
def op_rb_admission(input: Mapping[str, Any], expected: Any) -> str | None:
    namespace = str(input.get("namespace") or "")
    views = [QuotaView.from_object(frq, namespace) for frq in input.get("frqs") or ()]
    decision = admit_binding(input.get("feature_gates"), str(input.get("operation") or ""), views,
                             input.get("new") or {}, input.get("old"), namespace=namespace,
                             dry_run=bool(input.get("dry_run") or input.get("dryRun")))
    actual: dict[str, Any] = {
        "allowed": decision.allowed,
        "code": decision.code,
        "reason": decision.reason,
        "message": decision.message,
        "frq_overall_used_after": _used_after(views, decision.persisted_overall_used()),
    }
    return _compare({key: actual[key] for key in expected if key in actual}, expected)
