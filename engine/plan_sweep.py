"""Failure sweeps: the ``--fail CLUSTER`` scenario of every cluster over one evaluated plan.

:func:`prepare_sweep` evaluates the base plan once and indexes which bindings each cluster holds. A
scenario (:func:`scenario_failovers`) then computes only the ``failover:`` nodes of the bindings placed on
its cluster, reading the base plan's results (a cluster's failure changes nothing upstream of them), so
its answers are the ``--fail`` report's. :func:`scenario_outcome` condenses them: bindings displaced,
replicas moved and lost, bindings that cannot be re-placed, quota denials of the re-placement (with
``FederatedQuotaEnforcement``) and state-preservation labels injected or failed.

:func:`run_sweep` (in :mod:`kpl.engine.plan_sweep_run`) runs the scenarios in worker processes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from kpl.engine.features import FEDERATED_QUOTA_ENFORCEMENT
from kpl.engine.plan_failover import FailoverOutcome, compute_failover
from kpl.engine.plan_quota import QuotaOutcome, schedule_order
from kpl.engine.quota import UPDATE, QuotaView, admit_binding
from kpl.engine.scheduler.types import TargetCluster, targets_to_api

if TYPE_CHECKING:
    from kpl.engine.plan import BuiltBinding, Plan, PlanInputs, ScheduleOutcome
    from kpl.engine.report import PlacementReport

__all__ = [
    "STAGE_EVICTION",
    "STAGE_SCHEDULER",
    "BindingFailure",
    "QuotaDenial",
    "ScenarioOutcome",
    "StateLabels",
    "SweepPlan",
    "prepare_sweep",
    "scenario_failovers",
    "scenario_outcome",
]

STAGE_EVICTION: Final = "eviction"
STAGE_SCHEDULER: Final = "scheduler"
EVICTION_FAILED: Final = "EvictionFailed"
_NOT_INJECTED: Final = "the preserved labels are not injected"


@dataclass(frozen=True, slots=True)
class BindingFailure:
    """A binding that cannot be re-placed: ``type`` is the scheduler's error type, ``EvictionFailed`` or
    the quota webhook's reason."""

    binding: str
    type: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"binding": self.binding, "type": self.type, "message": self.message}


@dataclass(frozen=True, slots=True)
class QuotaDenial:
    """A write of the failover (the eviction, or the scheduler's new result) the quota webhook denies."""

    binding: str
    quota: str
    stage: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"binding": self.binding, "quota": self.quota, "stage": self.stage, "message": self.message}


@dataclass(frozen=True, slots=True)
class StateLabels:
    """Preserved state labels: injected on ``cluster``, or (with ``error``) not injected."""

    binding: str
    cluster: str
    labels: tuple[tuple[str, str], ...]
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"binding": self.binding, "cluster": self.cluster or None, "labels": dict(self.labels),
                "error": self.error or None}


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """What the failure of one cluster does; ``error`` when the scenario itself could not be computed."""

    cluster: str
    bindings: int = 0
    displaced: int = 0
    stayed: int = 0
    replicas_moved: int = 0
    replicas_lost: int = 0
    failures: tuple[BindingFailure, ...] = ()
    quota_denials: tuple[QuotaDenial, ...] = ()
    labels_injected: tuple[StateLabels, ...] = ()
    labels_failed: tuple[StateLabels, ...] = ()
    error: str | None = None

    def worst_first(self) -> tuple[bool, int, int, int, str]:
        """Sort key: scenarios that could not be computed, then most replicas lost, then displaced."""
        return self.error is None, -self.replicas_lost, -self.displaced, -self.replicas_moved, self.cluster

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster, "bindings": self.bindings, "displaced": self.displaced,
            "stayed": self.stayed, "replicasMoved": self.replicas_moved, "replicasLost": self.replicas_lost,
            "failures": [f.to_json() for f in self.failures],
            "quotaDenials": [d.to_json() for d in self.quota_denials],
            "labelsInjected": [s.to_json() for s in self.labels_injected],
            "labelsFailed": [s.to_json() for s in self.labels_failed], "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class SweepPlan:
    """An evaluated base plan ready for scenarios. ``plan`` shares the base plan's results and has its own
    graph copy (scenarios add ``failover:`` nodes to it); ``placed`` maps a cluster to the binding keys
    (``namespace/name``) placed there."""

    plan: Plan
    base: PlanInputs
    report: PlacementReport
    clusters: tuple[str, ...]
    placed: Mapping[str, tuple[str, ...]]


def prepare_sweep(plan: Plan) -> SweepPlan:
    """Evaluate ``plan`` (without failed clusters) and index the bindings placed on each cluster."""
    from kpl.engine.plan import Plan

    report = plan.evaluate()
    base = replace(plan.inputs, failed_clusters=())
    own = Plan(base)
    own.graph, own.results = plan.graph.copy(), plan.results
    clusters = tuple(node.removeprefix("cluster:") for node in plan.nodes_of("cluster"))
    placed: dict[str, list[str]] = {name: [] for name in clusters}
    for node in plan.nodes_of("schedule"):
        outcome: ScheduleOutcome | None = plan.results[node]
        if outcome is None or outcome.error is not None:
            continue
        for name in dict.fromkeys(t.name for t in outcome.effective()):
            placed.setdefault(name, []).append(node.removeprefix("schedule:"))
    return SweepPlan(own, base, report, clusters, {name: tuple(keys) for name, keys in placed.items()})


def scenario_failovers(sweep: SweepPlan, cluster: str) -> list[tuple[str, FailoverOutcome]]:
    """The failover outcomes of ``--fail cluster``, with the binding key of each, in node order."""
    plan = sweep.plan
    plan.inputs = replace(sweep.base, failed_clusters=(cluster,))
    clusters = plan.nodes_of("cluster")
    found: list[tuple[str, FailoverOutcome]] = []
    for key in sweep.placed.get(cluster, ()):
        node = "failover:" + key
        if node not in plan.graph:
            plan.add(node, "failover", None, ["binding:" + key, "schedule:" + key, *clusters])
        outcome = compute_failover(plan, node)
        if outcome is not None:
            found.append((key, outcome))
    return found


# ------------------------------------------------------------------------------------ one scenario


def _replicas(target: TargetCluster) -> int:
    return sum(c.replicas for c in target.components) if target.components else target.replicas


def _by_name(targets: Sequence[TargetCluster]) -> dict[str, int]:
    return {t.name: _replicas(t) for t in targets}


@dataclass
class _Tally:
    """The scenario's outcome as it is summed up binding by binding."""

    cluster: str
    displaced: int = 0
    stayed: int = 0
    moved: int = 0
    lost: int = 0
    failures: list[BindingFailure] = field(default_factory=list)
    denials: list[QuotaDenial] = field(default_factory=list)
    injected: list[StateLabels] = field(default_factory=list)
    failed_labels: list[StateLabels] = field(default_factory=list)


class _Webhook:
    """The quota webhook for the failover's writes, starting from what the base plan left stored."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.enforced = plan.inputs.gates.enabled(FEDERATED_QUOTA_ENFORCEMENT)
        self.views: dict[str, list[QuotaView]] = {}

    def _namespace_views(self, namespace: str) -> list[QuotaView]:
        if namespace not in self.views:
            views = []
            for node in self.plan.nodes_of("quota"):
                if node.removeprefix("quota:").split("/", 1)[0] != namespace:
                    continue
                outcome: QuotaOutcome = self.plan.results[node]
                view = QuotaView.from_object(self.plan.source(node), namespace)
                used = outcome.webhook_used
                views.append(view if used is None else replace(view, overall_used=dict(used)))
            self.views[namespace] = views
        return self.views[namespace]

    def admit(self, new: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[str, str] | None:
        """None when the update is allowed, else (the quota that denies it, the message)."""
        namespace = str((new.get("metadata") or {}).get("namespace") or "")
        views = self._namespace_views(namespace) if self.enforced else []
        if not views:
            return None
        gates = self.plan.inputs.gates
        decision = admit_binding(gates, UPDATE, views, new, old, namespace=namespace)
        if not decision.allowed:
            culprit = next((v.name for v in views if not admit_binding(
                gates, UPDATE, [v], new, old, namespace=namespace).allowed), "")
            return culprit, decision.message
        self.views[namespace] = [replace(v, overall_used=decision.new_overall_used.get(v.name, v.overall_used))
                                 for v in views]
        return None


def _with_spec(binding: Mapping[str, Any], clusters: Sequence[TargetCluster],
               tasks: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    changed = copy.deepcopy(dict(binding))
    spec = changed.setdefault("spec", {})
    spec["clusters"] = targets_to_api(clusters)
    if tasks is not None:
        spec["gracefulEvictionTasks"] = [dict(t) for t in tasks]
    return changed


def _writes(hook: _Webhook, tally: _Tally, built: BuiltBinding, before: Sequence[TargetCluster],
            found: FailoverOutcome) -> tuple[bool, bool]:
    """Admit the eviction and the scheduler's new result; (eviction allowed, new result allowed)."""
    if not hook.enforced or built.binding is None:
        return True, True
    stored = _with_spec(built.binding, before)
    evicted = _with_spec(built.binding, [t for t in before if t.name not in found.evicted], found.tasks)
    for stage, new, old in ((STAGE_EVICTION, evicted, stored),
                            (STAGE_SCHEDULER, _with_spec(evicted, found.clusters or ()), evicted)):
        if stage == STAGE_SCHEDULER and (found.error is not None or found.clusters is None):
            return True, True
        denied = hook.admit(new, old)
        if denied is not None:
            tally.denials.append(QuotaDenial(found.binding, denied[0], stage, denied[1]))
            tally.failures.append(BindingFailure(found.binding, "QuotaExceeded", denied[1]))
            return stage != STAGE_EVICTION, False
    return True, True


def _labels(tally: _Tally, found: FailoverOutcome, placed: bool) -> None:
    if found.eviction_error is not None:
        tally.failed_labels.append(StateLabels(found.binding, "", (), found.eviction_error))
    if not found.preserved:
        return
    preserved = tuple(sorted(found.preserved.items()))
    injected = sorted((found.injected or {}).items()) if placed else []
    for cluster, labels in injected:
        tally.injected.append(StateLabels(found.binding, cluster, tuple(sorted(labels.items()))))
    if not injected:
        why = next((note for note in found.notes if note.startswith(_NOT_INJECTED)),
                   "the workload is not re-placed")
        tally.failed_labels.append(StateLabels(found.binding, "", preserved, why))


def _count(hook: _Webhook, tally: _Tally, key: str, found: FailoverOutcome) -> None:
    plan = hook.plan
    built: BuiltBinding = plan.results["binding:" + key]
    schedule: ScheduleOutcome = plan.results["schedule:" + key]
    before = schedule.effective()
    lost_here = _by_name(before).get(tally.cluster, 0)
    evicted, placed = _writes(hook, tally, built, before, found) if found.evicted else (False, False)
    if found.error is not None:
        tally.failures.append(BindingFailure(found.binding, found.error.type, found.error.message))
    if found.eviction_error is not None:
        tally.failures.append(BindingFailure(found.binding, EVICTION_FAILED, found.eviction_error))
    _labels(tally, found, placed)
    if not evicted:
        tally.stayed += 1
        tally.lost += lost_here
        return
    tally.displaced += 1
    old = _by_name(before)
    after = _by_name(found.clusters or ()) if placed and found.error is None else {}
    gained = sum(max(0, count - old.get(name, 0)) for name, count in after.items() if name != tally.cluster)
    tally.moved += min(gained, lost_here)
    tally.lost += lost_here - min(gained, lost_here)


def scenario_outcome(sweep: SweepPlan, cluster: str) -> ScenarioOutcome:
    """The condensed outcome of ``--fail cluster``."""
    found = dict(scenario_failovers(sweep, cluster))
    hook = _Webhook(sweep.plan)
    tally = _Tally(cluster)
    for node in schedule_order(sweep.plan, ["schedule:" + key for key in found]):
        key = node.removeprefix("schedule:")
        _count(hook, tally, key, found[key])
    return ScenarioOutcome(
        cluster, len(found), tally.displaced, tally.stayed, tally.moved, tally.lost,
        tuple(sorted(tally.failures, key=lambda f: (f.binding, f.type))),
        tuple(sorted(tally.denials, key=lambda d: (d.binding, d.stage))),
        tuple(sorted(tally.injected, key=lambda s: (s.binding, s.cluster))),
        tuple(sorted(tally.failed_labels, key=lambda s: (s.binding, s.error))),
    )
