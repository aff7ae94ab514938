"""Vector ops of ``failover.yaml``: state preservation, NoExecute eviction timing and purge modes (spec §11).

Each op adapts the vector's input to :mod:`kpl.engine.failover` and compares the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kpl.engine.conformance.compare import ExpectedError, check_error, deep_diff
from kpl.engine.conformance.registry import vector_op
from kpl.engine.failover import (
    EvictionCheck,
    binding_need_eviction,
    build_preserved_label_state,
    cluster_purge_mode,
    directly_purged_clusters,
    extract_state_for_eviction,
    need_eviction,
    parse_json_value,
)

__all__ = [
    "op_build_preserved_label_state",
    "op_cluster_purge_mode",
    "op_directly_purged_clusters",
    "op_extract_state_for_eviction",
    "op_need_eviction",
    "op_parse_json_value",
]

_LABEL_KEYS = ("labels", "preservedLabelState", "preserved_label_state", "state")


def _answer(produce: Callable[[], Any], expected: Mapping[str, Any],
            shape: Callable[[Any], Mapping[str, Any]]) -> str | None:
    """Run ``produce``; compare its error with ``expected.error`` or its shaped result with the rest."""
    try:
        produced = produce()
    except ValueError as err:
        if "error" in expected:
            return check_error(ExpectedError("Error", str(err)), expected["error"])
        return f"unexpected error: {err}"
    if "error" in expected:
        return check_error(None, expected["error"])
    actual = shape(produced)
    return deep_diff({key: actual.get(key) for key in expected}, dict(expected), quantities=False)


def _labels(produced: Any) -> dict[str, Any]:
    return dict.fromkeys(_LABEL_KEYS, None if produced is None else dict(produced))


@vector_op("build_preserved_label_state")
def op_build_preserved_label_state(input: Mapping[str, Any], expected: Any) -> str | None:
    rules = input.get("rules") or (input.get("statePreservation") or {}).get("rules") or ()
    return _answer(lambda: build_preserved_label_state(rules, input.get("rawStatus")), expected, _labels)


@vector_op("parse_json_value")
def op_parse_json_value(input: Mapping[str, Any], expected: Any) -> str | None:
    # Karmada's test trims surrounding spaces: a range body such as `[...] {end}` leaves one behind.
    expected = {**expected, "value": expected["value"].strip(" ")} if "value" in expected else expected
    return _answer(lambda: parse_json_value(input.get("rawStatus"), str(input.get("jsonPath") or "")),
                   expected, lambda value: {"value": str(value).strip(" ")})


def _time(text: Any) -> datetime:
    return datetime.fromisoformat(str(text))


def _eviction(input: Mapping[str, Any]) -> EvictionCheck:
    now = _time(input["now"])
    enabled = bool(input.get("enable_no_execute_taint_eviction", True))
    if "annotations" in input:
        cluster = input.get("cluster", {"spec": {"taints": input.get("taints") or []}})
        return binding_need_eviction(input.get("annotations"), cluster, now, enabled=enabled)
    if "placement" in input and input["placement"] is None:
        return binding_need_eviction({}, None, now, enabled=enabled)  # no applied placement: an error
    tolerations = input.get("clusterTolerations") or (input.get("placement") or {}).get("clusterTolerations")
    return need_eviction(input.get("taints") or (), tolerations or (), now, enabled=enabled)


@vector_op("need_eviction")
def op_need_eviction(input: Mapping[str, Any], expected: Any) -> str | None:
    return _answer(lambda: _eviction(input), expected, _eviction_shape)


def _eviction_shape(check: EvictionCheck) -> dict[str, Any]:
    return {"need_eviction": check.need_eviction, "toleration_time": check.toleration_seconds}


@vector_op("cluster_purge_mode")
def op_cluster_purge_mode(input: Mapping[str, Any], expected: Any) -> str | None:
    mode = cluster_purge_mode(input.get("failover"), str(input.get("controller_flag") or ""))
    return deep_diff({"purgeMode": mode}, expected, quantities=False)


def _rules(input: Mapping[str, Any]) -> Any:
    if "rules" in input:
        return input["rules"]
    behavior = input.get("clusterBehavior") or (input.get("failover") or {}).get("cluster") or {}
    return (behavior.get("statePreservation") or {}).get("rules")


@vector_op("extract_state_for_eviction")
def op_extract_state_for_eviction(input: Mapping[str, Any], expected: Any) -> str | None:
    cluster = str(input["cluster"])
    extraction = extract_state_for_eviction(_rules(input), input.get("aggregatedStatus"), cluster)
    if extraction.error is not None:
        if "error" in expected:
            return check_error(ExpectedError("Error", extraction.error), expected["error"])
        return f"unexpected error: {extraction.error}"
    if "error" in expected:
        return check_error(None, expected["error"])
    actual = _labels(extraction.labels)
    return deep_diff({key: actual.get(key) for key in expected}, dict(expected), quantities=False)


@vector_op("directly_purged_clusters")
def op_directly_purged_clusters(input: Mapping[str, Any], expected: Any) -> str | None:
    clusters = sorted(directly_purged_clusters({"gracefulEvictionTasks": input.get("gracefulEvictionTasks")}))
    wanted = sorted(expected.get("clusters") or [])
    return deep_diff({"clusters": clusters}, {"clusters": wanted}, quantities=False)
