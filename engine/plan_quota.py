"""FederatedResourceQuotas in the plan graph: each quota's limits, what the namespace uses, and admission.

A ``quota:<namespace>/<name>`` node depends on every binding and schedule node of its namespace. Its value
(:class:`QuotaOutcome`) replays what Karmada does with the planned bindings:

* ``used`` is the enforcement controller's recomputation of ``status.overallUsed`` over the planned
  bindings (exact quantity sums, only the names of ``spec.overall``; a multi-component binding is counted
  once per target cluster);
* with ``FederatedQuotaEnforcement`` on, every binding of the namespace goes through the ResourceBinding
  validating webhook in the scheduler's order (schedule priority, then namespace and name): first the
  detector's write of the binding (CREATE, or UPDATE of the snapshot's binding), then the scheduler's
  patch of ``spec.clusters``. A denial keeps the previous result and sets the ``QuotaExceeded`` condition.
  The starting ``overallUsed`` is the FRQ's ``status.overallUsed`` when the snapshot carries one, else the
  controller's recomputation over the snapshot's bindings;
* with the gate off (Karmada's default) nothing is checked; the report says so and lists the resources
  that would exceed their limit.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from kpl.engine.bindings import binding_key
from kpl.engine.features import FEDERATED_QUOTA_ENFORCEMENT, PRIORITY_BASED_SCHEDULING, FeatureGates
from kpl.engine.quantity import Quantity
from kpl.engine.quota import (
    CREATE,
    QUOTA_EXCEEDED_REASON,
    UPDATE,
    QuotaView,
    admit_binding,
    overall_used,
    resource_list_json,
)
from kpl.engine.scheduler.pipeline import ScheduleFailure, ScheduleResult, SchedulingCondition
from kpl.engine.scheduler.types import targets_to_api

if TYPE_CHECKING:
    from kpl.engine.plan import BuiltBinding, Plan, ScheduleOutcome

__all__ = [
    "STAGE_DETECTOR",
    "STAGE_SCHEDULER",
    "QuotaDecision",
    "QuotaOutcome",
    "adjust_for_quota",
    "compute_quota",
    "quota_node",
    "quota_text_lines",
    "schedule_order",
]

STAGE_DETECTOR: Final = "detector"
STAGE_SCHEDULER: Final = "scheduler"
_WEBHOOK: Final = "resourcebinding.karmada.io"
_NOT_ENFORCED: Final = ("FederatedQuotaEnforcement is off (Karmada's default): Karmada neither checks "
                        "bindings against this quota nor recomputes overallUsed; enable it with --feature-gates "
                        "FederatedQuotaEnforcement=true")


def quota_node(quota: Mapping[str, Any]) -> str:
    meta = quota.get("metadata") or {}
    return f"quota:{meta.get('namespace') or ''}/{meta.get('name') or ''}"


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """The webhook's answer for one binding: allowed, or denied at the detector's or scheduler's write."""

    binding: str
    allowed: bool
    stage: str = ""
    reason: str = ""
    message: str = ""
    quota: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"binding": self.binding, "stage": self.stage, "reason": self.reason, "message": self.message,
                "quota": self.quota}


@dataclass(frozen=True, slots=True)
class QuotaOutcome:
    """One FederatedResourceQuota against the planned bindings of its namespace."""

    namespace: str
    name: str
    limit: Mapping[str, Quantity]
    used: Mapping[str, Quantity]
    enforced: bool
    decisions: tuple[QuotaDecision, ...] = ()
    webhook_used: Mapping[str, Quantity] | None = None
    bindings: tuple[str, ...] = ()

    @property
    def denied(self) -> tuple[QuotaDecision, ...]:
        """The denials this quota caused."""
        return tuple(d for d in self.decisions if not d.allowed and d.quota == self.name)

    def exceeded(self) -> list[str]:
        """Resource names whose planned usage is above the limit."""
        return [name for name, limit in self.limit.items() if name in self.used and self.used[name] > limit]

    def note(self) -> str:
        return "" if self.enforced else _NOT_ENFORCED

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace, "name": self.name, "enforced": self.enforced,
            "limit": resource_list_json(dict(sorted(self.limit.items()))),
            "used": resource_list_json(dict(sorted(self.used.items()))),
            "webhookUsed": None if self.webhook_used is None else resource_list_json(
                dict(sorted(self.webhook_used.items()))),
            "exceeded": sorted(self.exceeded()), "bindings": list(self.bindings),
            "denied": [d.to_json() for d in self.denied], "note": self.note() or None,
        }


# ------------------------------------------------------------------------------------ the node


def _namespace(node: str) -> str:
    return node.split(":", 1)[1].split("/", 1)[0]


def _priority(built: BuiltBinding, gates: FeatureGates) -> int:
    if not gates.enabled(PRIORITY_BASED_SCHEDULING) or built.binding is None:
        return 0
    found = ((built.binding.get("spec") or {}).get("schedulePriority") or {}).get("priority")
    return int(found or 0)


def schedule_order(plan: Plan, schedule_nodes: Iterable[str]) -> list[str]:
    """Schedule nodes in the order Karmada's scheduling queue pops them: higher schedule priority first
    (with ``PriorityBasedScheduling``), then by node name (namespace, then binding name)."""
    def key(node: str) -> tuple[int, str]:
        built: BuiltBinding = plan.results["binding:" + node.removeprefix("schedule:")]
        return -_priority(built, plan.inputs.gates), node
    return sorted(schedule_nodes, key=key)


def _quota_objects(plan: Plan, namespace: str) -> list[Mapping[str, Any]]:
    return [plan.source(n) for n in plan.nodes_of("quota") if _namespace(n) == namespace]


def _initial_view(plan: Plan, quota: Mapping[str, Any], namespace: str) -> QuotaView:
    view = QuotaView.from_object(quota, namespace)
    if "overallUsed" in (quota.get("status") or {}) or view.overall is None:
        return view
    before = [b for b in plan.inputs.bindings if binding_key(b)[1] == namespace]
    return replace(view, overall_used=overall_used(before, view.overall))


def _with_clusters(binding: Mapping[str, Any], outcome: ScheduleOutcome) -> Mapping[str, Any] | None:
    """The binding after the scheduler's patch, or None when the scheduler writes no new result."""
    result = outcome.result
    if result is None or result.clusters is None:
        return None
    patched = copy.deepcopy(dict(binding))
    patched.setdefault("spec", {})["clusters"] = targets_to_api(result.clusters)
    return patched


def _previous(plan: Plan, built: BuiltBinding) -> Mapping[str, Any] | None:
    if built.binding is None or not plan.inputs.from_policies:
        return None
    wanted = binding_key(built.binding)
    return next((b for b in plan.inputs.bindings if binding_key(b) == wanted), None)


class _Webhook:
    """The namespace's FRQs as the webhook sees them, updated by every allowed write."""

    def __init__(self, gates: FeatureGates, views: list[QuotaView], namespace: str) -> None:
        self.gates, self.views, self.namespace = gates, views, namespace

    def admit(self, label: str, stage: str, new: Mapping[str, Any],
              old: Mapping[str, Any] | None) -> QuotaDecision:
        operation = UPDATE if old is not None else CREATE
        decision = admit_binding(self.gates, operation, self.views, new, old, namespace=self.namespace)
        if not decision.allowed:
            return QuotaDecision(label, False, stage, decision.reason, decision.message,
                                 self._culprit(operation, new, old))
        self.views = [replace(v, overall_used=decision.new_overall_used.get(v.name, v.overall_used))
                      for v in self.views]
        return QuotaDecision(label, True, stage)

    def _culprit(self, operation: str, new: Mapping[str, Any], old: Mapping[str, Any] | None) -> str:
        for view in self.views:
            if not admit_binding(self.gates, operation, [view], new, old, namespace=self.namespace).allowed:
                return view.name
        return ""


def _label(built: BuiltBinding) -> str:
    assert built.binding is not None
    _, namespace, name = binding_key(built.binding)
    return f"{namespace}/{name}"


def _admit_one(plan: Plan, hook: _Webhook,
               node: str) -> tuple[QuotaDecision | None, Mapping[str, Any] | None]:
    """Replay the writes for one binding; return the decision and the binding as it ends up stored."""
    built: BuiltBinding = plan.results["binding:" + node.removeprefix("schedule:")]
    outcome: ScheduleOutcome | None = plan.results[node]
    previous = _previous(plan, built)
    if built.binding is None or outcome is None:
        return None, previous
    label = _label(built)
    if plan.inputs.from_policies:
        first = hook.admit(label, STAGE_DETECTOR, built.binding, previous)
        if not first.allowed:
            return first, previous
    patched = _with_clusters(built.binding, outcome)
    if patched is None:
        return QuotaDecision(label, True), built.binding
    second = hook.admit(label, STAGE_SCHEDULER, patched, built.binding)
    return second, patched if second.allowed else built.binding


def compute_quota(plan: Plan, node: str) -> QuotaOutcome:
    quota = plan.source(node)
    namespace = _namespace(node)
    view = QuotaView.from_object(quota, namespace)
    gates = plan.inputs.gates
    enforced = gates.enabled(FEDERATED_QUOTA_ENFORCEMENT)
    hook = _Webhook(gates, [_initial_view(plan, q, namespace) for q in _quota_objects(plan, namespace)],
                    namespace)
    schedules = [p for p in plan.graph.predecessors(node) if p.startswith("schedule:")]
    decisions: list[QuotaDecision] = []
    stored: list[Mapping[str, Any]] = []
    for schedule_node in schedule_order(plan, schedules):
        decision, final = _admit_one(plan, hook, schedule_node)
        decisions += [decision] if decision is not None else []
        stored += [final] if final is not None else []
    limit = view.overall or {}
    own = next((v for v in hook.views if v.name == view.name), None)
    return QuotaOutcome(
        namespace, view.name, limit, overall_used(stored, limit), enforced, tuple(decisions),
        dict(own.overall_used) if enforced and own is not None else None,
        tuple(sorted(d.binding for d in decisions)),
    )


def _denial(plan: Plan, schedule_node: str) -> QuotaDecision | None:
    namespace = _namespace(schedule_node)
    label = schedule_node.removeprefix("schedule:")
    for node in plan.nodes_of("quota"):
        if _namespace(node) != namespace:
            continue
        outcome: QuotaOutcome = plan.results[node]
        return next((d for d in outcome.decisions if d.binding == label and not d.allowed), None)
    return None


def adjust_for_quota(plan: Plan, schedule_node: str, outcome: ScheduleOutcome) -> ScheduleOutcome:
    """The schedule outcome after admission: a denied write keeps the previous result, and the binding
    gets ``Scheduled=False`` with reason ``QuotaExceeded`` (the API error's text as the message)."""
    denial = _denial(plan, schedule_node)
    if denial is None:
        return outcome
    message = f'admission webhook "{_WEBHOOK}" denied the request: {denial.message}'
    reason = QUOTA_EXCEEDED_REASON if denial.reason == QUOTA_EXCEEDED_REASON else "SchedulerError"
    condition = SchedulingCondition("False", reason, message, True)
    result = outcome.result
    denied = ScheduleResult(None, ScheduleFailure(reason, message), condition,
                            result.observed_affinity_name if result is not None else "",
                            result.explanations if result is not None else ())
    return replace(outcome, result=denied, failure=None)


# ------------------------------------------------------------------------------------ text


def _resources(values: Mapping[str, Quantity]) -> str:
    return ", ".join(f"{name}={quantity}" for name, quantity in sorted(values.items())) or "(none)"


def quota_text_lines(quotas: Sequence[QuotaOutcome]) -> list[str]:
    """The quota section of the text report."""
    lines: list[str] = []
    for quota in quotas:
        lines += [f"FederatedResourceQuota {quota.namespace}/{quota.name}",
                  f"  limit: {_resources(quota.limit)}", f"  used:  {_resources(quota.used)}"]
        if quota.webhook_used is not None and quota.webhook_used != quota.used:
            lines.append(f"  stored by the webhook until the controller recomputes: "
                         f"{_resources(quota.webhook_used)}")
        if quota.exceeded():
            lines.append("  over the limit: " + ", ".join(sorted(quota.exceeded())))
        for denied in quota.denied:
            lines.append(f"  denied {denied.binding} ({denied.stage}): {denied.reason}: {denied.message}")
        if quota.note():
            lines.append(f"  note: {quota.note()}")
        lines.append("")
    return lines
