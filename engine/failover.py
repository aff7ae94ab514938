"""Failover: when Karmada evicts a binding from a cluster, with which purge mode, and what state it carries.

* Cluster failover (the taint manager): :func:`need_eviction` decides from the cluster's NoExecute taints
  and the placement's tolerations whether to evict now or when to look again; :func:`cluster_purge_mode`
  resolves the purge mode; :func:`taint_eviction_task` builds the graceful-eviction task.
* Application failover: :func:`application_eviction_task` builds the task for an unhealthy workload.
* State preservation: :func:`extract_state_for_eviction` evaluates ``statePreservation.rules`` (Kubernetes
  JSONPath templates, :mod:`kpl.engine.k8s_jsonpath`) over the evicted cluster's reflected status, and
  :func:`injected_labels` says which preserved labels the new cluster's workload receives.
* :func:`graceful_evict_cluster` applies an eviction to a binding spec; :func:`directly_purged_clusters`
  lists the clusters whose old copies are deleted at once.

Functions are pure: bindings, policies' ``failover`` blocks, taints and tolerations are camelCase
mappings, time is passed in. Where Karmada's controller fails and retries, the failure is a value
(:class:`TaskOutcome`) carrying Karmada's message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from kpl.engine.features import GRACEFUL_EVICTION, STATEFUL_FAILOVER_INJECTION, FeatureGates
from kpl.engine.go_values import decode_go_json, go_quote
from kpl.engine.scheduler.affinity import Taint
from kpl.engine.scheduler.taints import Toleration

__all__ = [
    "APPLIED_PLACEMENT_ANNOTATION",
    "PRODUCER_CRB_APPLICATION_FAILOVER",
    "PRODUCER_RB_APPLICATION_FAILOVER",
    "PRODUCER_TAINT_MANAGER",
    "PURGE_DIRECTLY",
    "PURGE_GRACEFULLY",
    "PURGE_NEVER",
    "REASON_APPLICATION_FAILURE",
    "REASON_TAINT_UNTOLERATED",
    "EvictionCheck",
    "EvictionTask",
    "FailoverError",
    "StateExtraction",
    "TaskOutcome",
    "TimedTaint",
    "TimedToleration",
    "applied_placement",
    "application_eviction_task",
    "binding_need_eviction",
    "build_preserved_label_state",
    "cluster_purge_mode",
    "directly_purged_clusters",
    "extract_state_for_eviction",
    "graceful_evict_cluster",
    "injected_labels",
    "matching_tolerations",
    "min_toleration_time",
    "need_eviction",
    "parse_json_value",
    "taint_eviction_task",
    "work_target_clusters",
]

PURGE_DIRECTLY: Final = "Directly"
PURGE_GRACEFULLY: Final = "Gracefully"
PURGE_NEVER: Final = "Never"
PRODUCER_TAINT_MANAGER: Final = "TaintManager"
PRODUCER_RB_APPLICATION_FAILOVER: Final = "resource-binding-application-failover-controller"
PRODUCER_CRB_APPLICATION_FAILOVER: Final = "cluster-resource-binding-application-failover-controller"
REASON_TAINT_UNTOLERATED: Final = "TaintUntolerated"
REASON_APPLICATION_FAILURE: Final = "ApplicationFailure"
APPLIED_PLACEMENT_ANNOTATION: Final = "policy.karmada.io/applied-placement"
_NO_EXECUTE: Final = "NoExecute"
_NOT_COLLECTED: Final = "the application status has not yet been collected from Cluster({cluster})"

GateSource = FeatureGates | Mapping[str, bool] | None


class FailoverError(ValueError):
    """A failure Karmada's failover controllers report (and retry); the message is Karmada's."""


def _gates(source: GateSource) -> FeatureGates:
    return source if isinstance(source, FeatureGates) else FeatureGates.from_mapping(source)


def _spec(binding: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = binding.get("spec")
    return spec if isinstance(spec, Mapping) else binding


# -- purge mode -------------------------------------------------------------------------------------------


def cluster_purge_mode(failover: Mapping[str, Any] | None, controller_flag: str = "") -> str:
    """The taint manager's purge mode: ``failover.cluster.purgeMode`` (empty means Gracefully) when
    ``failover.cluster`` is set, else the ``--no-execute-taint-eviction-purge-mode`` flag (Directly, or
    Gracefully for anything else)."""
    cluster = (failover or {}).get("cluster")
    if cluster is not None:
        return str(cluster.get("purgeMode") or PURGE_GRACEFULLY)
    return PURGE_DIRECTLY if controller_flag == PURGE_DIRECTLY else PURGE_GRACEFULLY


def directly_purged_clusters(spec: Mapping[str, Any]) -> list[str]:
    """Clusters with a graceful-eviction task in purge mode Directly (no longer "existing" clusters)."""
    names = (str(task.get("fromCluster") or "") for task in _spec(spec).get("gracefulEvictionTasks") or ()
             if task.get("purgeMode") == PURGE_DIRECTLY)
    return list(dict.fromkeys(names))


# -- NoExecute taints -------------------------------------------------------------------------------------


def _timestamp(text: Any) -> datetime | None:
    return None if not text else datetime.fromisoformat(str(text))


@dataclass(frozen=True, slots=True)
class TimedTaint:
    """A cluster taint with the time it was added (``None`` when unknown)."""

    taint: Taint
    time_added: datetime | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> TimedTaint:
        taint = Taint(str(raw.get("key") or ""), str(raw.get("value") or ""), str(raw.get("effect") or ""))
        return cls(taint, _timestamp(raw.get("timeAdded")))


@dataclass(frozen=True, slots=True)
class TimedToleration:
    """A placement toleration with its ``tolerationSeconds`` (``None`` means forever)."""

    toleration: Toleration
    seconds: int | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> TimedToleration:
        seconds = raw.get("tolerationSeconds")
        return cls(Toleration.from_mapping(raw), None if seconds is None else int(seconds))


@dataclass(frozen=True, slots=True)
class EvictionCheck:
    """Evict now, or look again after ``wait`` (``None``: never, the taints are tolerated forever)."""

    need_eviction: bool
    wait: timedelta | None = None

    @property
    def toleration_seconds(self) -> float:
        """Karmada's toleration time in seconds: 0 to evict now, -1 for forever."""
        if self.need_eviction:
            return 0
        return -1 if self.wait is None else self.wait.total_seconds()


def _no_execute(taints: Iterable[Mapping[str, Any] | TimedTaint]) -> list[TimedTaint]:
    parsed = [taint if isinstance(taint, TimedTaint) else TimedTaint.from_mapping(taint) for taint in taints]
    return [taint for taint in parsed if taint.taint.effect == _NO_EXECUTE]


def matching_tolerations(taints: Sequence[TimedTaint],
                         tolerations: Sequence[TimedToleration]) -> list[TimedToleration] | None:
    """For each taint the first toleration that tolerates it, or None when some taint has none."""
    used: list[TimedToleration] = []
    for taint in taints:
        first = next((item for item in tolerations if item.toleration.tolerates(taint.taint)), None)
        if first is None:
            return None
        used.append(first)
    return used


def min_toleration_time(taints: Sequence[TimedTaint], used: Sequence[TimedToleration],
                        now: datetime) -> timedelta | None:
    """Time left until the earliest ``timeAdded + tolerationSeconds`` (zero once due); None if forever."""
    if not taints:
        return None
    if not used:
        return timedelta(0)
    deadlines = [taint.time_added + timedelta(seconds=toleration.seconds)
                 for toleration in used if toleration.seconds is not None
                 for taint in taints
                 if taint.time_added is not None and toleration.toleration.tolerates(taint.taint)]
    if not deadlines:
        return None
    return max(min(deadlines) - now, timedelta(0))


def need_eviction(taints: Iterable[Mapping[str, Any] | TimedTaint],
                  tolerations: Iterable[Mapping[str, Any] | TimedToleration], now: datetime, *,
                  enabled: bool = True) -> EvictionCheck:
    """Whether the NoExecute taints of a cluster evict a binding tolerating ``tolerations`` at ``now``.

    ``enabled`` is the controller-manager flag ``--enable-no-execute-taint-eviction``.
    """
    no_execute = _no_execute(taints)
    if not enabled or not no_execute:
        return EvictionCheck(False)
    timed = [item if isinstance(item, TimedToleration) else TimedToleration.from_mapping(item)
             for item in tolerations]
    used = matching_tolerations(no_execute, timed)
    if used is None:
        return EvictionCheck(True)
    wait = min_toleration_time(no_execute, used, now)
    if wait == timedelta(0):
        return EvictionCheck(True)
    return EvictionCheck(False, wait)


def applied_placement(annotations: Mapping[str, str] | None) -> Mapping[str, Any] | None:
    """The placement recorded in ``policy.karmada.io/applied-placement`` (None when absent or empty)."""
    text = (annotations or {}).get(APPLIED_PLACEMENT_ANNOTATION) or ""
    if not text:
        return None
    try:
        placement = decode_go_json(text)
    except ValueError as err:
        raise FailoverError(str(err)) from None
    if placement is not None and not isinstance(placement, Mapping):
        raise FailoverError("json: cannot unmarshal the applied placement into Go value of type "
                            "v1alpha1.Placement")
    return placement


def binding_need_eviction(annotations: Mapping[str, str] | None, cluster: Mapping[str, Any] | None,
                          now: datetime, *, enabled: bool = True) -> EvictionCheck:
    """The taint manager's check for one binding: tolerations from its applied placement, taints from the
    Cluster object (``None``: the cluster is gone, nothing to do). Raises :class:`FailoverError`."""
    placement = applied_placement(annotations)
    if placement is None:
        raise FailoverError("the applied placement for ResourceBining can not be empty")
    if cluster is None:
        return EvictionCheck(False)
    taints = (cluster.get("spec") or cluster).get("taints") or ()
    return need_eviction(taints, placement.get("clusterTolerations") or (), now, enabled=enabled)


# -- state preservation -----------------------------------------------------------------------------------


def _raw_json(status: Any) -> str | bytes:
    return status if isinstance(status, (str, bytes)) else json.dumps(status, default=_json_default)


def _json_default(value: Any) -> str:
    """Timestamps that a YAML reader turned into objects go back to their RFC 3339 text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON")


def parse_json_value(raw_status: Any, json_path: str) -> str:
    """The printed value of one JSONPath template over a raw status (JSON text, or a decoded object).

    Raises :class:`~kpl.engine.k8s_jsonpath.JsonPathError` for a bad template, :class:`FailoverError`
    when the status is not JSON or the template fails on it (a missing key is a failure).
    """
    from kpl.engine.k8s_jsonpath import JsonPathError, execute, parse_template  # only plans that preserve state

    template = parse_template(json_path)
    try:
        data = decode_go_json(_raw_json(raw_status))
    except ValueError as err:
        raise FailoverError(f"failed to unmarshal rawStatus: {err}") from None
    try:
        return execute(template, data)
    except JsonPathError as err:
        raise FailoverError(f"failed to execute jsonpath {go_quote(json_path)}: {err.message}") from None


def build_preserved_label_state(rules: Iterable[Mapping[str, Any]], raw_status: Any) -> dict[str, str]:
    """``{aliasLabelName: value}`` for every rule; the first failing rule fails the whole map."""
    labels: dict[str, str] = {}
    for rule in rules:
        value = parse_json_value(raw_status, str(rule.get("jsonPath") or ""))
        labels[str(rule.get("aliasLabelName") or "")] = value
    return labels


@dataclass(frozen=True, slots=True)
class StateExtraction:
    """Preserved labels (``None`` when there are no rules), or the error that fails the eviction."""

    labels: Mapping[str, str] | None = None
    error: str | None = None


def _status_item(aggregated_status: Iterable[Mapping[str, Any]], cluster: str) -> Mapping[str, Any] | None:
    return next((item for item in aggregated_status if item.get("clusterName") == cluster), None)


def extract_state_for_eviction(rules: Sequence[Mapping[str, Any]] | None,
                               aggregated_status: Iterable[Mapping[str, Any]] | None,
                               cluster: str) -> StateExtraction:
    """Evaluate state-preservation ``rules`` against ``status.aggregatedStatus[cluster].status``."""
    if not rules:
        return StateExtraction()
    item = _status_item(aggregated_status or (), cluster)
    if item is None or item.get("status") is None:
        return StateExtraction(error=_NOT_COLLECTED.format(cluster=cluster))
    try:
        return StateExtraction(build_preserved_label_state(rules, item["status"]))
    except ValueError as err:
        return StateExtraction(error=str(err))


def _rules(behavior: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list(((behavior or {}).get("statePreservation") or {}).get("rules") or ())


# -- eviction tasks ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvictionTask:
    """A ``spec.gracefulEvictionTasks[]`` entry (``replicas`` is filled in when the task is added)."""

    from_cluster: str
    producer: str
    reason: str
    purge_mode: str = ""
    message: str = ""
    replicas: int | None = None
    grace_period_seconds: int | None = None
    suppress_deletion: bool | None = None
    preserved_label_state: Mapping[str, str] | None = None
    clusters_before_failover: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The API form, leaving out what Karmada omits when empty."""
        optional = {
            "purgeMode": self.purge_mode or None, "replicas": self.replicas, "message": self.message or None,
            "gracePeriodSeconds": self.grace_period_seconds, "suppressDeletion": self.suppress_deletion,
            "preservedLabelState": dict(self.preserved_label_state) if self.preserved_label_state else None,
            "clustersBeforeFailover": list(self.clusters_before_failover) or None,
        }
        required = {"fromCluster": self.from_cluster, "reason": self.reason, "producer": self.producer}
        return required | {key: value for key, value in optional.items() if value is not None}


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """The task an eviction would add, or the error that makes the controller retry."""

    task: EvictionTask | None = None
    error: str | None = None


def taint_eviction_task(binding: Mapping[str, Any], cluster: str, *, controller_flag: str = "",
                        gates: GateSource = None) -> TaskOutcome:
    """The taint manager's task for evicting ``binding`` (object with status, or spec) from ``cluster``."""
    failover = _spec(binding).get("failover") or {}
    labels: Mapping[str, str] | None = None
    if _gates(gates).enabled(STATEFUL_FAILOVER_INJECTION) and failover.get("cluster") is not None:
        extraction = extract_state_for_eviction(_rules(failover["cluster"]), _aggregated(binding), cluster)
        if extraction.error is not None:
            return TaskOutcome(error=extraction.error)
        labels = extraction.labels
    purge_mode = cluster_purge_mode(failover, controller_flag)
    return TaskOutcome(EvictionTask(cluster, PRODUCER_TAINT_MANAGER, REASON_TAINT_UNTOLERATED, purge_mode,
                                    preserved_label_state=labels))


def _aggregated(binding: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((binding.get("status") or {}).get("aggregatedStatus") or ())


def application_eviction_task(binding: Mapping[str, Any], cluster: str, *,
                              producer: str = PRODUCER_RB_APPLICATION_FAILOVER,
                              gates: GateSource = None) -> TaskOutcome:
    """The application-failover controller's task for evicting ``binding`` (object with status) from
    ``cluster`` under the policy's ``failover.application`` block."""
    resolved = _gates(gates)
    spec = _spec(binding)
    behavior = (spec.get("failover") or {}).get("application") or {}
    purge_mode = str(behavior.get("purgeMode") or "")
    labels: Mapping[str, str] | None = None
    before: tuple[str, ...] = ()
    if resolved.enabled(STATEFUL_FAILOVER_INJECTION) and _rules(behavior):
        extraction = extract_state_for_eviction(_rules(behavior), _aggregated(binding), cluster)
        if extraction.error is not None:
            return TaskOutcome(error=extraction.error)
        labels = extraction.labels
        before = tuple(str(target.get("name") or "") for target in spec.get("clusters") or ())
    grace: int | None = None
    if purge_mode == PURGE_GRACEFULLY:
        if not resolved.enabled(GRACEFUL_EVICTION):
            message = f"{GRACEFUL_EVICTION} featureGate must be enabled when purgeMode is {purge_mode}"
            return TaskOutcome(error=message)
        grace = behavior.get("gracePeriodSeconds")
    task = EvictionTask(cluster, producer, REASON_APPLICATION_FAILURE, purge_mode, grace_period_seconds=grace,
                        suppress_deletion=True if purge_mode == PURGE_NEVER else None,
                        preserved_label_state=labels, clusters_before_failover=before)
    return TaskOutcome(task)


def graceful_evict_cluster(spec: Mapping[str, Any], task: EvictionTask) -> dict[str, Any]:
    """A copy of ``spec`` with ``task.from_cluster`` removed from ``clusters`` and the task appended.

    Nothing changes when the cluster is not a target; no second task is added for a cluster that
    already has one. The task records the cluster's replicas when it had any.
    """
    clusters = list(spec.get("clusters") or ())
    index = next((i for i, target in enumerate(clusters) if target.get("name") == task.from_cluster), None)
    if index is None:
        return dict(spec)
    evicted = clusters.pop(index)
    result = dict(spec) | {"clusters": clusters}
    tasks = list(spec.get("gracefulEvictionTasks") or ())
    if any(existing.get("fromCluster") == task.from_cluster for existing in tasks):
        return result
    replicas = int(evicted.get("replicas") or 0)
    entry = EvictionTask(**{**_task_fields(task), "replicas": replicas if replicas > 0 else None})
    return result | {"gracefulEvictionTasks": [*tasks, entry.to_json()]}


def _task_fields(task: EvictionTask) -> dict[str, Any]:
    return {name: getattr(task, name) for name in EvictionTask.__dataclass_fields__}


# -- injection --------------------------------------------------------------------------------------------


def work_target_clusters(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``spec.clusters`` plus the clusters of ``spec.requiredBy`` bindings not already listed."""
    spec = _spec(spec)
    targets = list(spec.get("clusters") or ())
    names = {target.get("name") for target in targets}
    for snapshot in spec.get("requiredBy") or ():
        for target in snapshot.get("clusters") or ():
            if target.get("name") not in names:
                names.add(target.get("name"))
                targets.append(target)
    return targets


def injected_labels(spec: Mapping[str, Any], target_cluster: str, gates: GateSource = None) -> dict[str, str]:
    """The preserved labels merged into the workload sent to ``target_cluster`` (empty when none).

    Only with ``StatefulFailoverInjection``, when the Work targets at most one cluster, the last
    graceful-eviction task purges Directly and the target is not one of its clusters before failover.
    """
    spec = _spec(spec)
    tasks = list(spec.get("gracefulEvictionTasks") or ())
    if not _gates(gates).enabled(STATEFUL_FAILOVER_INJECTION) or len(work_target_clusters(spec)) > 1:
        return {}
    last = tasks[-1] if tasks else {}
    before = last.get("clustersBeforeFailover") or ()
    if last.get("purgeMode") != PURGE_DIRECTLY or target_cluster in before:
        return {}
    return {str(key): str(value) for key, value in (last.get("preservedLabelState") or {}).items()}

