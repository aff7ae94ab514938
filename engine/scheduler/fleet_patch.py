"""A fleet with one cluster changed, starting from the work already done on the fleet before the change.

Every shared stage (:class:`~kpl.engine.scheduler.pipeline._Stage`: the filter outcomes, estimates, global
cluster order and explanations before selection of one filter plan and estimate) depends on each cluster
separately: a cluster's filter outcome, score, estimate and overflow tier read that cluster alone (Karmada
filters, scores and combines estimators cluster by cluster, and the order is a sort by per-cluster keys).
So when one cluster changes, a stage stays right for every other cluster, and only the changed cluster's
entry needs computing again: its outcome under the stage's filter plan, its detail (score, estimate, tier)
moved to its new place in the order, its rejection and its explanation row. A stage where that entry comes
out the same is kept as it is, with the selections and explanations after selection it remembered; a
patched one starts those afresh (they read the order).
"""

from __future__ import annotations

import bisect
from functools import partial
from typing import Any

from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.carried import CarriedMarks
from kpl.engine.scheduler.filters import FilterOutcome
from kpl.engine.scheduler.pipeline import ClusterExplanation, Fleet, _order_key, _Stage
from kpl.engine.scheduler.scoring import cluster_score
from kpl.engine.scheduler.shared import CarriedChange
from kpl.engine.scheduler.spread import overflow_orders
from kpl.engine.scheduler.types import ClusterDetail

__all__ = ["patched_fleet"]


def patched_fleet(fleet: Fleet, view: ClusterView, capacity: ClusterCapacity) -> Fleet:
    """``fleet`` with the view and capacity of the cluster named ``view.name`` replaced (its position kept).

    With shared work on both sides the new fleet starts from the old one's (see the module's description);
    a cluster the fleet does not have gives a fleet with empty caches."""
    views = tuple(view if v.name == view.name else v for v in fleet.views)
    capacities = dict(fleet.capacities)
    capacities[view.name] = capacity
    fresh = Fleet.of(views, capacities)
    old, new = fleet.shared, fresh.shared
    if old is None or new is None or view.name not in new.positions or len(views) != len(fleet.views):
        return fresh
    change = new.carry(old, view.name)
    new.carry_stages(old, change, partial(_patch_stage, fresh, change))
    return fresh


def _row(view: ClusterView, outcome: FilterOutcome | None, detail: ClusterDetail | None) -> tuple[Any, ...]:
    """The changed cluster's explanation before selection, as the stage builds it."""
    if detail is not None:
        return (view.name, "", "", view.deleting, detail.score, detail.allocatable_replicas,
                detail.available_replicas, detail.overflow_order, False, None)
    plugin, reason = (outcome.plugin, outcome.reason) if outcome is not None else ("", "")
    return (view.name, plugin, reason, view.deleting, None, None, None, None, False, None)


def _detail(fleet: Fleet, stage: _Stage, view: ClusterView) -> ClusterDetail:
    """The changed cluster's candidate detail in a stage (built as if no cluster held replicas)."""
    assert stage.origin is not None
    spec, observed, gates = stage.origin
    allocatable = fleet.estimate([view], spec, gates)[0]
    order = overflow_orders([view], spec.get("placement"), observed)[0]
    return ClusterDetail(view.name, cluster_score(view, ()), allocatable, allocatable, order, view.source)


def _patch_stage(fleet: Fleet, change: CarriedChange, key: tuple[Any, ...], stage: Any) -> _Stage | None:
    """``stage`` as it is when the changed cluster's entry is the same, else a copy with that entry replaced;
    None for a stage that cannot be patched (built again when needed)."""
    shared = fleet.shared
    if not isinstance(stage, _Stage) or stage.origin is None or shared is None:
        return None
    position = change.position
    view = fleet.views[position]
    outcome = shared.plan_outcome(key[0], position)
    detail = _detail(fleet, stage, view) if outcome is not None and outcome.passed else None
    row = _row(view, outcome, detail)
    explanation = shared.intern(row, partial(ClusterExplanation, *row))
    before = next((d for d in stage.ordered if d.name == view.name), None) if view.name in stage.views else None
    if explanation is stage.explanations[position] and before == detail and (
            detail is None or not change.view_changed):
        return stage
    return _replaced(stage, shared.positions, view, outcome, detail, explanation, position)


def _replaced(stage: _Stage, positions: dict[str, int], view: ClusterView, outcome: FilterOutcome | None,
              detail: ClusterDetail | None, explanation: ClusterExplanation, position: int) -> _Stage:
    name = view.name
    ordered = [d for d in stage.ordered if d.name != name]
    if detail is not None:
        bisect.insort(ordered, detail, key=_order_key)
    rejected = [(v, o) for v, o in stage.rejected if v.name != name]
    if outcome is not None and not outcome.passed:
        at = bisect.bisect_left([positions[v.name] for v, _ in rejected], position)
        rejected.insert(at, (view, outcome))
    views = dict(stage.views)
    views.pop(name, None)
    if detail is not None:
        views[name] = view
    explanations = list(stage.explanations)
    explanations[position] = explanation
    return _Stage(tuple(rejected), tuple(ordered), views, tuple(explanations), {}, {}, stage.origin,
                  _carried_marks(stage, position))


def _carried_marks(stage: _Stage, position: int) -> CarriedMarks | None:
    """What ``stage`` marked after selection, for the stage patched from it."""
    if not stage.marked or stage.selections is None:
        return None
    return CarriedMarks(position, stage.marked, stage.selections)
