"""Vector ops of ``division.yaml``: Webster, the dispenser and the replica assignment strategies (spec §5).

Each op adapts the vector's input to the engine's functions in :mod:`kpl.engine.scheduler.webster` and
:mod:`kpl.engine.scheduler.division` and compares the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff, targets_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.features import FeatureGates
from kpl.engine.scheduler.division import (
    Strategy,
    assign_by_duplicated,
    assign_by_dynamic,
    assign_by_static_weight,
    assign_replicas,
    dynamic_divide,
)
from kpl.engine.scheduler.errors import SchedulingError
from kpl.engine.scheduler.types import BindingSpecView, ClusterDetail, TargetCluster, targets_from_api
from kpl.engine.scheduler.webster import (
    ClusterWeight,
    Party,
    TieBreaker,
    allocate_webster_seats,
    dispense_by_weight,
    spread_by_target_clusters,
)

__all__ = [
    "op_assign_replicas",
    "op_dispenser",
    "op_duplicated",
    "op_dynamic_assign",
    "op_dynamic_divide",
    "op_spread_by_target_clusters",
    "op_static_weight",
    "op_webster",
]


def _name_ascending(a: Party, b: Party) -> bool:
    return a.name < b.name


def _name_descending(a: Party, b: Party) -> bool:
    return a.name > b.name


_TIE_BREAKERS: Mapping[str, TieBreaker | None] = {
    "none": None,
    "name_asc": _name_ascending,
    "name_desc": _name_descending,
}


def _compare_targets(produce: Callable[[], Sequence[Any]], expected: Mapping[str, Any]) -> str | None:
    """Run ``produce`` and compare its targets, or its error, with the expectation."""
    try:
        produced = produce()
    except SchedulingError as error:
        if "error" in expected:
            return check_error(ExpectedError(error.kind, error.message), expected["error"])
        return f"unexpected error {error.kind}: {error.message}"
    if "error" in expected:
        return check_error(None, expected["error"])
    actual = [t.to_api() if isinstance(t, TargetCluster) else t for t in produced]
    return targets_diff(actual, expected.get("targets") or [], ordered=bool(expected.get("ordered")))


def _strip_zero(targets: Sequence[TargetCluster]) -> list[TargetCluster]:
    return [TargetCluster(target.name, target.replicas) for target in targets if target.replicas > 0]


def _details(names: Sequence[Any]) -> list[ClusterDetail]:
    return [ClusterDetail(name=str(name), cluster={"name": str(name)}) for name in names]


@vector_op("webster")
def op_webster(input: Mapping[str, Any], expected: Any) -> str | None:
    tie_breaker = _TIE_BREAKERS[str(input.get("tie_breaker") or "none")]
    parties = allocate_webster_seats(
        int(input.get("seats") or 0),
        {str(k): int(v) for k, v in (input.get("votes") or {}).items()},
        {str(k): int(v) for k, v in (input.get("initial") or {}).items()},
        tie_breaker,
    )
    actual = None if parties is None else {party.name: party.seats for party in parties}
    return deep_diff({"seats": actual}, expected, quantities=False)


@vector_op("dispenser")
def op_dispenser(input: Mapping[str, Any], expected: Any) -> str | None:
    weights = [ClusterWeight(str(w["name"]), int(w["weight"])) for w in input.get("weights") or ()]
    initial = targets_from_api(input.get("initial"))
    return _compare_targets(
        lambda: dispense_by_weight(int(input["replicas"]), weights, initial, str(input.get("uid") or "")),
        expected,
    )


@vector_op("spread_by_target_clusters")
def op_spread_by_target_clusters(input: Mapping[str, Any], expected: Any) -> str | None:
    produced = spread_by_target_clusters(
        int(input["replicas"]),
        targets_from_api(input.get("weights_from")),
        targets_from_api(input.get("initial")),
        str(input.get("uid") or ""),
    )
    actual = [target.to_api() for target in produced]
    options = expected.get("one_of") or [expected.get("targets") or []]
    differences = [targets_diff(actual, option) for option in options]
    if any(difference is None for difference in differences):
        return None
    return f"none of {len(options)} accepted answers matched; first: {differences[0]}"


@vector_op("static_weight")
def op_static_weight(input: Mapping[str, Any], expected: Any) -> str | None:
    candidates = _details(input.get("candidates") or ())
    return _compare_targets(
        lambda: assign_by_static_weight(
            candidates,
            input.get("weightPreference"),
            int(input.get("replicas") or 0),
            str(input.get("uid") or ""),
        ),
        expected,
    )


@vector_op("dynamic_divide")
def op_dynamic_divide(input: Mapping[str, Any], expected: Any) -> str | None:
    strategy = Strategy(str(input["strategy"]))
    return _compare_targets(
        lambda: dynamic_divide(
            strategy,
            int(input["target_replicas"]),
            targets_from_api(input.get("available")),
            targets_from_api(input.get("scheduled")),
            str(input.get("uid") or ""),
        ),
        expected,
    )


@vector_op("dynamic_assign")
def op_dynamic_assign(input: Mapping[str, Any], expected: Any) -> str | None:
    strategy = Strategy(str(input["strategy"]))
    candidates = [
        ClusterDetail(name=str(c["name"]), allocatable_replicas=int(c.get("allocatable") or 0))
        for c in input.get("candidates") or ()
    ]
    spec = BindingSpecView(
        replicas=int(input["replicas"]),
        uid=str(input.get("uid") or ""),
        previous=targets_from_api(input.get("previous")),
    )
    return _compare_targets(
        lambda: _strip_zero(assign_by_dynamic(strategy, candidates, spec, bool(input.get("fresh")))), expected
    )


@vector_op("duplicated")
def op_duplicated(input: Mapping[str, Any], expected: Any) -> str | None:
    candidates = _details(input.get("candidates") or ())
    return _compare_targets(
        lambda: assign_by_duplicated(candidates, int(input.get("replicas") or 0)), expected
    )


def _candidate(entry: Mapping[str, Any]) -> ClusterDetail:
    allocatable = int(entry.get("allocatable") or 0)
    return ClusterDetail(
        name=str(entry["name"]),
        score=int(entry.get("score") or 0),
        allocatable_replicas=allocatable,
        available_replicas=int(entry.get("available", allocatable) or 0),
        overflow_order=int(entry.get("overflow_order") or 0),
        cluster=entry.get("cluster") or entry,
    )


def _binding_spec(spec: Mapping[str, Any], placement: Mapping[str, Any]) -> BindingSpecView:
    return BindingSpecView(
        replicas=int(spec.get("replicas") or 0),
        uid=str(spec.get("uid") or ""),
        previous=targets_from_api(spec.get("previous") or spec.get("clusters")),
        components=tuple(spec.get("components") or ()),
        replica_requirements=spec.get("replicaRequirements"),
        reschedule_triggered_at=spec.get("rescheduleTriggeredAt"),
        placement=placement,
    )


@vector_op("assign_replicas")
def op_assign_replicas(input: Mapping[str, Any], expected: Any) -> str | None:
    placement = input.get("placement") or {}
    candidates = [_candidate(entry) for entry in input.get("candidates") or ()]
    spec = _binding_spec(input.get("spec") or {}, placement)
    gates = FeatureGates.from_mapping(input.get("feature_gates"))
    return _compare_targets(
        lambda: assign_replicas(candidates, spec, placement, input.get("status"), gates), expected
    )
