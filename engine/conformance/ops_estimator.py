"""Vector ops of ``estimator.yaml``: the general estimator, resource models and component sets (spec §6).

Each op builds a :class:`ClusterCapacity` from the vector's summary and models and calls the engine's
estimator functions in :mod:`kpl.engine.scheduler.estimator` and :mod:`kpl.engine.scheduler.component_sets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.component_sets import general_max_component_sets, models_max_sets
from kpl.engine.scheduler.estimator import (
    ClusterCapacity,
    ReplicaDemand,
    general_max_replicas,
    models_max_replicas,
    summary_max_replicas,
)
from kpl.engine.scheduler.resource_models import ModelError

__all__ = [
    "op_allowed_pod_number",
    "op_component_sets",
    "op_general_max_replicas",
    "op_models_max_replicas",
    "op_models_max_sets",
    "op_summary_max_replicas",
]

_CLUSTER = "cluster"


def _capacity(input: Mapping[str, Any]) -> ClusterCapacity:
    """The cluster the vector describes: its summary plus ``allocatableModelings`` and models if given."""
    summary = input.get("resourceSummary")
    modelings = input.get("allocatableModelings")
    if modelings is not None:
        summary = {**(summary or {}), "allocatableModelings": modelings}
    return ClusterCapacity.from_summary(_CLUSTER, summary, input.get("resourceModels"))


def _gates(input: Mapping[str, Any]) -> FeatureGates:
    return FeatureGates.from_mapping(input.get("feature_gates"))


def _compare_count(key: str, actual: int, expected: Mapping[str, Any]) -> str | None:
    return deep_diff({key: actual}, {key: expected.get(key)}, quantities=False)


def _compare_fallible(key: str, actual: int | None, error: str, expected: Mapping[str, Any]) -> str | None:
    """``actual`` is ``None`` on error; Karmada's functions then return -1 with the error."""
    if actual is None:
        if "error" not in expected:
            return f"unexpected error: {error}"
        found = check_error(ExpectedError("Error", error), expected["error"])
        if found or key not in expected:
            return found
        return _compare_count(key, -1, expected)
    if "error" in expected:
        return check_error(None, expected["error"])
    return _compare_count(key, actual, expected)


@vector_op("general_max_replicas")
def op_general_max_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    demand = ReplicaDemand.from_requirements(input.get("replicaRequirements"))
    replicas = general_max_replicas(_capacity(input), demand, _gates(input), input.get("assumed") or ())
    return _compare_count("replicas", replicas, expected)


@vector_op("allowed_pod_number")
def op_allowed_pod_number(input: Mapping[str, Any], expected: Any) -> str | None:
    return _compare_count("pods", _capacity(input).allowed_pods, expected)


@vector_op("summary_max_replicas")
def op_summary_max_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    demand = ReplicaDemand.from_requirements(input.get("replicaRequirements") or {})
    assert demand is not None
    return _compare_count("replicas", summary_max_replicas(_capacity(input), demand), expected)


@vector_op("models_max_replicas")
def op_models_max_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    demand = ReplicaDemand.from_requirements(input.get("replicaRequirements") or {})
    assert demand is not None
    try:
        replicas: int | None = models_max_replicas(_capacity(input), demand, input.get("assumed") or ())
        error = ""
    except ModelError as problem:
        replicas, error = None, str(problem)
    return _compare_fallible("replicas", replicas, error, expected)


@vector_op("component_sets")
def op_component_sets(input: Mapping[str, Any], expected: Any) -> str | None:
    sets = general_max_component_sets(
        _capacity(input), input.get("components") or (), _gates(input), input.get("assumed") or ()
    )
    return _compare_count("sets", sets, expected)


@vector_op("models_max_sets")
def op_models_max_sets(input: Mapping[str, Any], expected: Any) -> str | None:
    capacity = _capacity(input)
    components, assumed = input.get("components") or (), input.get("assumed") or ()
    sets = models_max_sets(capacity, components, int(input["upper_bound"]), assumed)
    error = capacity.model_error or ("resource summary is nil" if not capacity.has_summary else "")
    return _compare_fallible("sets", sets, error, expected)
