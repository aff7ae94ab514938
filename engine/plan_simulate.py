"""Capacity simulation (``kpl plan --simulate``): bindings scheduled one after another, each taking capacity.

Karmada schedules every binding against the clusters' reported ``resourceSummary``; what an earlier
binding was just given only shows up once the members report it. The default plan does the same. The
``simulation`` node instead walks the bindings in the scheduler's order (schedule priority, then
namespace and name) and, after each placement, adds the pods and cpu/memory requests the binding newly
puts on a cluster (its new replicas there minus what it already ran there) to that cluster's
``allocating``. It reports which bindings no longer fit (fail, or land elsewhere) and, for the default
plan, which clusters are asked for more than they have free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpl.engine.plan_quota import schedule_order
from kpl.engine.quantity import Quantity
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.pipeline import Fleet, ScheduleFailure, schedule
from kpl.engine.scheduler.types import TargetCluster, targets_to_api

if TYPE_CHECKING:
    from kpl.engine.plan import BuiltBinding, ClusterNode, Plan, ScheduleOutcome

__all__ = ["Overcommit", "SimulatedBinding", "Simulation", "compute_simulation", "simulation_text_lines"]

Demand = dict[str, dict[str, Quantity]]


@dataclass(frozen=True, slots=True)
class SimulatedBinding:
    """One binding in the simulation: where it lands when earlier bindings took their share first."""

    binding: str
    clusters: tuple[TargetCluster, ...] | None
    error: ScheduleFailure | None
    planned: tuple[TargetCluster, ...] | None

    @property
    def fits(self) -> bool:
        return self.error is None

    @property
    def moved(self) -> bool:
        return self.error is None and self.clusters != self.planned

    def to_json(self) -> dict[str, Any]:
        return {"binding": self.binding, "fits": self.fits, "moved": self.moved,
                "clusters": None if self.clusters is None else targets_to_api(self.clusters),
                "error": None if self.error is None else self.error.to_api()}


@dataclass(frozen=True, slots=True)
class Overcommit:
    """A cluster the default plan asks for more of ``resource`` than it has free."""

    cluster: str
    resource: str
    demand: Quantity
    free: Quantity

    def to_json(self) -> dict[str, str]:
        return {"cluster": self.cluster, "resource": self.resource, "demand": str(self.demand),
                "free": str(self.free)}


@dataclass(frozen=True, slots=True)
class Simulation:
    bindings: tuple[SimulatedBinding, ...]
    overcommitted: tuple[Overcommit, ...]

    def to_json(self) -> dict[str, Any]:
        return {"order": [b.binding for b in self.bindings],
                "bindings": [b.to_json() for b in self.bindings],
                "noLongerFit": [b.binding for b in self.bindings if not b.fits or b.moved],
                "overcommitted": [o.to_json() for o in self.overcommitted]}


# ------------------------------------------------------------------------------------ demand


def _by_name(targets: Iterable[TargetCluster]) -> dict[str, TargetCluster]:
    return {target.name: target for target in targets}


def new_demand(spec: Mapping[str, Any], targets: Sequence[TargetCluster],
               previous: Sequence[TargetCluster]) -> Demand:
    """Per cluster, the pods and requests ``targets`` add beyond what ``previous`` already ran there."""
    from kpl.engine.report import target_requests

    before = _by_name(previous)
    demand: Demand = {}
    for target in targets:
        pods, requests = target_requests(spec, target)
        old_pods, old_requests = _before(spec, before, target.name)
        extra = {name: q - old_requests[name] if name in old_requests else q for name, q in requests.items()}
        extra["pods"] = Quantity.from_int(pods - old_pods)
        kept = {name: q for name, q in extra.items() if q > Quantity.zero(q.format)}
        if kept:
            demand[target.name] = kept
    return demand


def _before(spec: Mapping[str, Any], before: Mapping[str, TargetCluster],
            name: str) -> tuple[int, Mapping[str, Quantity]]:
    from kpl.engine.report import target_requests

    return target_requests(spec, before[name]) if name in before else (0, {})


def _add(total: Demand, more: Demand) -> None:
    for cluster, resources in more.items():
        into = total.setdefault(cluster, {})
        for name, quantity in resources.items():
            into[name] = into[name] + quantity if name in into else quantity


def _free(capacity: ClusterCapacity, name: str) -> Quantity | None:
    if not capacity.has_summary or name not in capacity.allocatable:
        return None
    amount = capacity.allocatable[name]
    for used in (capacity.allocated.get(name), capacity.allocating.get(name)):
        amount = amount - used if used is not None else amount
    return amount


def _overcommitted(capacities: Mapping[str, ClusterCapacity], demand: Demand) -> list[Overcommit]:
    found = []
    for cluster, resources in sorted(demand.items()):
        for name, quantity in sorted(resources.items()):
            capacity = capacities.get(cluster)
            free = _free(capacity, name) if capacity is not None else None
            if free is not None and quantity > free:
                found.append(Overcommit(cluster, name, quantity, free))
    return found


# ------------------------------------------------------------------------------------ the node


def _previous(built: BuiltBinding) -> tuple[TargetCluster, ...]:
    from kpl.engine.scheduler.types import targets_from_api

    return targets_from_api(((built.binding or {}).get("spec") or {}).get("clusters"))


def _simulate_one(plan: Plan, built: BuiltBinding, outcome: ScheduleOutcome,
                  fleet: Fleet) -> tuple[tuple[TargetCluster, ...] | None, ScheduleFailure | None]:
    if outcome.trigger is None or built.binding is None:
        return outcome.effective(), outcome.error
    result = schedule(built.binding, fleet, plan.inputs.gates)
    if result.error is not None:
        return None, result.error
    return result.clusters if result.clusters is not None else outcome.previous or (), None


def compute_simulation(plan: Plan, node: str) -> Simulation:
    clusters: list[ClusterNode] = [plan.results[n] for n in plan.nodes_of("cluster")]
    views = tuple(c.view for c in clusters)
    capacities = {c.view.name: c.capacity for c in clusters}
    planned_demand: Demand = {}
    found: list[SimulatedBinding] = []
    for schedule_node in schedule_order(plan, plan.nodes_of("schedule")):
        built: BuiltBinding = plan.results["binding:" + schedule_node.removeprefix("schedule:")]
        outcome: ScheduleOutcome | None = plan.results[schedule_node]
        if built.binding is None or outcome is None:
            continue
        spec = built.binding.get("spec") or {}
        previous = _previous(built)
        planned = None if outcome.error is not None else outcome.effective()
        _add(planned_demand, new_demand(spec, planned or (), previous))
        targets, error = _simulate_one(plan, built, outcome, Fleet(views, dict(capacities)))
        for cluster, extra in new_demand(spec, targets or (), previous).items():
            if cluster in capacities:
                capacities[cluster] = capacities[cluster].with_allocating(extra)
        label = schedule_node.removeprefix("schedule:")
        found.append(SimulatedBinding(label, targets, error, planned))
    base = {c.view.name: c.capacity for c in clusters}
    return Simulation(tuple(found), tuple(_overcommitted(base, planned_demand)))


# ------------------------------------------------------------------------------------ text


def _targets(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return "-"
    return ", ".join(f"{t.name}: {t.replicas}" if t.replicas else t.name for t in targets) or "(none)"


def simulation_text_lines(simulation: Simulation | None) -> list[str]:
    """The simulation section of the text report."""
    if simulation is None:
        return []
    lines = ["capacity simulation (bindings in scheduling order, each taking what it is given):"]
    for found in simulation.bindings:
        if not found.fits:
            assert found.error is not None
            lines.append(f"  {found.binding}: no longer fits: {found.error.type}: {found.error.message}")
        elif found.moved:
            lines.append(f"  {found.binding}: {_targets(found.clusters)} (plan: {_targets(found.planned)})")
        else:
            lines.append(f"  {found.binding}: {_targets(found.clusters)}")
    for over in simulation.overcommitted:
        lines.append(f"  overcommitted: the plan asks {over.cluster} for {over.demand} {over.resource}, "
                     f"{over.free} free")
    if not simulation.overcommitted:
        lines.append("  no cluster is overcommitted by the plan")
    return [*lines, ""]
