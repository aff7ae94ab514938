"""Cluster failover in the plan graph: what Karmada does when ``kpl plan --fail CLUSTER`` clusters fail.

A failed cluster is modelled as Karmada sees one: its ``Ready`` condition turns False, the cluster
controller adds the ``cluster.karmada.io/not-ready:NoSchedule`` taint, and a ClusterTaintPolicy adds the
``NoExecute`` taint the taint manager acts on. A ``failover:<namespace>/<name>`` node (after the binding's
schedule node and every cluster) replays, for a binding placed on a failed cluster:

1. the taint manager (gate ``Failover``): the first toleration of the binding's placement that tolerates
   each NoExecute taint decides whether it is evicted now, after ``tolerationSeconds``, or never;
2. the eviction: the cluster leaves ``spec.clusters`` and a graceful-eviction task is added with the
   purge mode of ``failover.cluster`` (or the controller's default, Gracefully); with
   ``StatefulFailoverInjection`` the ``statePreservation`` rules are evaluated against the reflected
   status Karmada collected from the failed cluster (a missing key fails the eviction, which is retried);
3. the scheduler re-runs with the failed cluster excluded (eviction filter, taints), so
   ``clusterAffinities`` fall back to the next term as usual;
4. the preserved labels injected into the workload on the new cluster, under Karmada's conditions (one
   target cluster, purge mode Directly, the cluster not one the workload ran on before the failover).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from kpl.engine.failover import (
    PURGE_DIRECTLY,
    EvictionCheck,
    cluster_purge_mode,
    graceful_evict_cluster,
    injected_labels,
    need_eviction,
    taint_eviction_task,
    work_target_clusters,
)
from kpl.engine.features import FAILOVER, STATEFUL_FAILOVER_INJECTION, FeatureGates
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.pipeline import Fleet, ScheduleFailure, schedule
from kpl.engine.scheduler.types import TargetCluster, targets_from_api, targets_to_api

if TYPE_CHECKING:
    from kpl.engine.plan import BuiltBinding, ClusterNode, Plan, ScheduleOutcome

__all__ = [
    "NOT_READY_TAINT",
    "FailoverOutcome",
    "compute_failover",
    "failed_cluster",
    "failover_notes",
    "failover_text_lines",
]

NOT_READY_TAINT: Final = "cluster.karmada.io/not-ready"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_GATE_OFF: Final = ("the {gate} feature gate is off (Karmada's default), so {what}; turn it on with "
                    "--feature-gates {gate}=true")


@dataclass(frozen=True, slots=True)
class FailoverOutcome:
    """What Karmada does with one binding placed on failed clusters.

    ``evicted`` lists the clusters it is evicted from; ``clusters`` is ``spec.clusters`` afterwards (None
    when nothing changes); ``error`` a failed re-scheduling; ``eviction_error`` why an eviction is retried.
    """

    binding: str
    failed: tuple[str, ...]
    evicted: tuple[str, ...] = ()
    after_seconds: int | None = None
    purge_mode: str = ""
    tasks: tuple[Mapping[str, Any], ...] = ()
    preserved: Mapping[str, str] | None = None
    clusters: tuple[TargetCluster, ...] | None = None
    error: ScheduleFailure | None = None
    eviction_error: str | None = None
    injected: Mapping[str, Mapping[str, str]] | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "binding": self.binding, "failedClusters": list(self.failed), "evicted": list(self.evicted),
            "afterSeconds": self.after_seconds, "purgeMode": self.purge_mode or None,
            "gracefulEvictionTasks": [dict(t) for t in self.tasks],
            "preservedLabels": None if self.preserved is None else dict(sorted(self.preserved.items())),
            "clusters": None if self.clusters is None else targets_to_api(self.clusters),
            "error": None if self.error is None else self.error.to_api(),
            "evictionError": self.eviction_error,
            "injectedLabels": None if self.injected is None else {
                name: dict(sorted(labels.items())) for name, labels in sorted(self.injected.items())},
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------------ the failed fleet


def _failure_time(clusters: Iterable[Mapping[str, Any]]) -> datetime:
    """When the failure happens: after every taint the snapshot records (the epoch without any)."""
    times = [datetime.fromisoformat(str(t["timeAdded"])) for c in clusters
             for t in (c.get("spec") or {}).get("taints") or () if t.get("timeAdded")]
    return max([_EPOCH, *(t if t.tzinfo else t.replace(tzinfo=UTC) for t in times)])


def failed_cluster(cluster: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A copy of ``cluster`` as Karmada sees it once it fails at ``now``."""
    failed = copy.deepcopy(dict(cluster))
    spec = failed.setdefault("spec", {})
    stamp = now.isoformat().replace("+00:00", "Z")
    taints = [t for t in spec.get("taints") or () if t.get("key") != NOT_READY_TAINT]
    spec["taints"] = [*taints, {"key": NOT_READY_TAINT, "effect": "NoSchedule", "timeAdded": stamp},
                      {"key": NOT_READY_TAINT, "effect": "NoExecute", "timeAdded": stamp}]
    status = failed.setdefault("status", {})
    others = [c for c in status.get("conditions") or () if c.get("type") != "Ready"]
    status["conditions"] = [*others, {"type": "Ready", "status": "False", "reason": "ClusterNotReachable"}]
    return failed


def _failed_fleet(plan: Plan, node: str, now: datetime) -> tuple[Fleet, dict[str, Mapping[str, Any]]]:
    failed = set(plan.inputs.failed_clusters)
    views: list[ClusterView] = []
    capacities: dict[str, ClusterCapacity] = {}
    objects: dict[str, Mapping[str, Any]] = {}
    for parent in sorted(p for p in plan.graph.predecessors(node) if p.startswith("cluster:")):
        found: ClusterNode = plan.results[parent]
        view = found.view
        if view.name in failed:
            objects[view.name] = failed_cluster(plan.source(parent), now)
            view = ClusterView.from_object(objects[view.name])
        views.append(view)
        capacities[view.name] = found.capacity
    return Fleet(tuple(views), capacities), objects


# ------------------------------------------------------------------------------------ one binding


def _tolerations(binding: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(((binding.get("spec") or {}).get("placement") or {}).get("clusterTolerations") or ())


def _seconds(check: EvictionCheck) -> int | None:
    return None if check.wait is None or check.wait == timedelta(0) else int(check.wait.total_seconds())


@dataclass
class _Replay:
    """The binding as it goes through the evictions."""

    binding: dict[str, Any]
    evicted: list[str]
    tasks: list[Mapping[str, Any]]
    notes: list[str]
    after: int | None = None
    preserved: Mapping[str, str] | None = None


def _evict(replay: _Replay, cluster: Mapping[str, Any], name: str, now: datetime,
           gates: FeatureGates) -> str | None:
    """Evict the binding from one failed cluster; the error that makes Karmada retry, if any."""
    check = need_eviction((cluster.get("spec") or {}).get("taints") or (), _tolerations(replay.binding), now)
    if not check.need_eviction and check.wait is None:
        replay.notes.append(f"the placement tolerates the NoExecute taint of {name} forever: not evicted")
        return None
    if check.wait is not None:
        replay.after = max(replay.after or 0, int(check.wait.total_seconds()))
    failover = (replay.binding.get("spec") or {}).get("failover") or {}
    outcome = taint_eviction_task(replay.binding, name, gates=gates)
    if outcome.error is not None or outcome.task is None:
        return outcome.error or "no eviction task"
    spec = graceful_evict_cluster(replay.binding["spec"], outcome.task)
    replay.binding["spec"] = spec
    replay.evicted.append(name)
    replay.tasks = list(spec.get("gracefulEvictionTasks") or ())
    if outcome.task.preserved_label_state is not None:
        replay.preserved = outcome.task.preserved_label_state
    if _rules(failover) and not gates.enabled(STATEFUL_FAILOVER_INJECTION):
        replay.notes.append(_GATE_OFF.format(
            gate=STATEFUL_FAILOVER_INJECTION, what="the statePreservation rules are not evaluated and no "
            "label is injected"))
    return None


def _rules(failover: Mapping[str, Any]) -> list[Any]:
    return list((((failover.get("cluster") or {}).get("statePreservation") or {}).get("rules")) or ())


def _injection(spec: Mapping[str, Any], preserved: Mapping[str, str] | None, gates: FeatureGates,
               notes: list[str]) -> dict[str, Mapping[str, str]] | None:
    if not preserved:
        return None
    targets = [str(t.get("name") or "") for t in spec.get("clusters") or ()]
    injected: dict[str, Mapping[str, str]] = {
        name: labels for name in targets if (labels := injected_labels(spec, name, gates))}
    if not injected:
        notes.append(_why_not_injected(spec, targets))
    return injected


def _why_not_injected(spec: Mapping[str, Any], targets: Sequence[str]) -> str:
    tasks = list(spec.get("gracefulEvictionTasks") or ())
    last = tasks[-1] if tasks else {}
    if len(work_target_clusters(spec)) > 1:
        return (f"the preserved labels are not injected: Karmada injects them only when the workload goes to "
                f"a single cluster, and it goes to {len(work_target_clusters(spec))}")
    if last.get("purgeMode") != PURGE_DIRECTLY:
        return (f"the preserved labels are not injected: Karmada injects them only when the purge mode is "
                f"Directly, and it is {last.get('purgeMode') or 'unset'}")
    if not targets:
        return "the preserved labels are not injected: the workload has no cluster to go to"
    return "the preserved labels are not injected: the new cluster is one the workload ran on before"


def _reschedule(replay: _Replay, fleet: Fleet, gates: FeatureGates) -> tuple[tuple[TargetCluster, ...],
                                                                             ScheduleFailure | None]:
    result = schedule(replay.binding, fleet, gates)
    remaining = targets_from_api(replay.binding["spec"].get("clusters"))
    if result.clusters is not None:
        replay.binding["spec"]["clusters"] = targets_to_api(result.clusters)
        return result.clusters, result.error
    return remaining, result.error


def _label(built: BuiltBinding) -> str:
    meta = (built.binding or {}).get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}".lstrip("/")


def compute_failover(plan: Plan, node: str) -> FailoverOutcome | None:
    built: BuiltBinding = plan.results["binding:" + node.removeprefix("failover:")]
    outcome: ScheduleOutcome | None = plan.results["schedule:" + node.removeprefix("failover:")]
    if built.binding is None or outcome is None or outcome.error is not None:
        return None
    placed = [t.name for t in outcome.effective()]
    hit = tuple(name for name in plan.inputs.failed_clusters if name in placed)
    if not hit:
        return None
    gates = plan.inputs.gates
    if not gates.enabled(FAILOVER):
        note = _GATE_OFF.format(gate=FAILOVER, what="the taint manager evicts nothing: the workload stays on "
                                + ", ".join(hit) + " (no new replicas are scheduled there)")
        return FailoverOutcome(_label(built), hit, notes=(note,))
    return _fail_over(plan, node, built, outcome, hit)


def _fail_over(plan: Plan, node: str, built: BuiltBinding, outcome: ScheduleOutcome,
               hit: tuple[str, ...]) -> FailoverOutcome:
    gates = plan.inputs.gates
    now = _failure_time(plan.source(f"cluster:{name}") for name in plan.inputs.failed_clusters)
    fleet, objects = _failed_fleet(plan, node, now)
    binding = copy.deepcopy(dict(built.binding or {}))
    binding.setdefault("spec", {})["clusters"] = targets_to_api(outcome.effective())
    replay = _Replay(binding, [], [], [])
    for name in hit:
        error = _evict(replay, objects[name], name, now, gates)
        if error is not None:
            retried = f"the eviction from {name} fails and is retried: {error}"
            return FailoverOutcome(_label(built), hit, tuple(replay.evicted), eviction_error=error,
                                   notes=(*replay.notes, retried))
    spec = replay.binding["spec"]
    purge = cluster_purge_mode(spec.get("failover"), "")
    if not replay.evicted:
        return FailoverOutcome(_label(built), hit, notes=tuple(replay.notes))
    clusters, failure = _reschedule(replay, fleet, gates)
    injected = _injection(replay.binding["spec"], replay.preserved, gates, replay.notes)
    return FailoverOutcome(_label(built), hit, tuple(replay.evicted), replay.after, purge,
                           tuple(replay.tasks), replay.preserved, clusters, failure, None, injected,
                           tuple(replay.notes))


# ------------------------------------------------------------------------------------ report parts


def failover_notes(gates: FeatureGates, failed: Sequence[str]) -> tuple[str, ...]:
    """What the failover simulation assumes about the control plane."""
    if not failed:
        return ()
    notes = ["karmada-controller-manager runs with --enable-no-execute-taint-eviction=true (its default is "
             "false) and a ClusterTaintPolicy adds a NoExecute taint to a cluster that is not ready"]
    if not gates.enabled(FAILOVER):
        notes.append(_GATE_OFF.format(gate=FAILOVER, what="no workload is evicted from a failed cluster"))
    return tuple(notes)


def _targets(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return "-"
    parts = []
    for t in targets:
        if t.components:
            parts.append(f"{t.name} (" + ", ".join(f"{c.name}: {c.replicas}" for c in t.components) + ")")
        else:
            parts.append(f"{t.name}: {t.replicas}" if t.replicas else t.name)
    return ", ".join(parts) or "(none)"


def failover_text_lines(failed: Sequence[str], outcomes: Sequence[FailoverOutcome],
                        notes: Sequence[str]) -> list[str]:
    """The failover section of the text report."""
    if not failed:
        return []
    lines = ["failover of " + ", ".join(failed) + ":"]
    lines += [f"  assumes {note}" for note in notes[:1]]
    for found in outcomes:
        lines.append(f"  {found.binding} (on {', '.join(found.failed)})")
        if found.evicted:
            when = f" after {found.after_seconds}s" if found.after_seconds else ""
            lines.append(f"    evicted from {', '.join(found.evicted)}{when}, purge mode {found.purge_mode}")
            lines.append(f"    clusters: {_targets(found.clusters)}")
        if found.error is not None:
            lines.append(f"    rescheduling fails: {found.error.type}: {found.error.message}")
        for key, value in sorted((found.preserved or {}).items()):
            lines.append(f"    preserved label {key}: {value}")
        for cluster, labels in sorted((found.injected or {}).items()):
            lines += [f"    injected on {cluster}: {key}: {value}" for key, value in sorted(labels.items())]
        lines += [f"    note: {note}" for note in found.notes]
    if not outcomes:
        lines.append("  no binding is placed on the failed cluster(s)")
    return [*lines, ""]
