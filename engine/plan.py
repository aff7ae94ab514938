"""The plan graph: a dry run of Karmada's detector and scheduler over a fleet snapshot.

:meth:`Plan.compile` turns the inputs into a networkx DiGraph whose nodes are the steps Karmada takes:

* ``cluster:<name>`` a cluster's view and capacity;
* ``policy:<kind>/<namespace>/<name>`` a (Cluster)PropagationPolicy with admission defaults applied;
* ``workload:<namespace>/<kind>/<name>`` the interpretation of a resource template;
* ``match:<namespace>/<kind>/<name>`` which policy claims the template (depends on every policy);
* ``binding:<namespace>/<name>`` the ResourceBinding the detector writes (interpretation + match), or one
  taken from the snapshot when no policies are given;
* ``fleet`` every cluster digested once, with the work the bindings scheduled on it share;
* ``schedule:<namespace>/<name>`` the scheduler's outcome (depends on the binding and the fleet);
* ``report`` the placement report.

:meth:`Plan.evaluate` computes dirty nodes once each, in lexicographic topological order, so results are
deterministic; :meth:`Plan.invalidate` marks nodes and everything downstream dirty for re-evaluation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import repeat
from pathlib import Path
from typing import Any

import networkx as nx

from kpl.dsl.diagnostics import Diagnostic
from kpl.engine.bindings import (
    PolicyChoice,
    binding_key,
    binding_name,
    build_binding,
    choose_policy,
    detector_ignores,
    interpret_workload,
    stored_binding,
)
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library, builtin_library
from kpl.engine.matching import POLICY, PolicyView, ResourceView
from kpl.engine.plan_failover import compute_failover, failover_notes
from kpl.engine.plan_incremental import ClusterChange, DependencyIndex, affected_schedules, refreshed_fleet
from kpl.engine.plan_quota import compute_quota, quota_node
from kpl.engine.plan_report import ReportState
from kpl.engine.plan_simulate import compute_simulation
from kpl.engine.report import PlacementReport, ResourceRef
from kpl.engine.scheduler.affinity import ClusterView
from kpl.engine.scheduler.capacity import ClusterCapacity
from kpl.engine.scheduler.pipeline import Fleet, ScheduleFailure, ScheduleResult, needs_scheduling, schedule
from kpl.engine.scheduler.types import TargetCluster, targets_from_api
from kpl.engine.snapshot import SUFFIXES, Snapshot, load_snapshot

__all__ = [
    "REPORT",
    "BuiltBinding",
    "ClusterNode",
    "LoadedInputs",
    "Plan",
    "PlanInputs",
    "ScheduleOutcome",
    "load_plan_inputs",
]

REPORT = "report"
FLEET = "fleet"
SIMULATION = "simulation"
MODE_POLICIES = "policies"
MODE_BINDINGS = "bindings"


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What a plan is computed from. With ``from_policies`` the bindings are built from the workloads and
    policies (snapshot bindings only give the previous result); otherwise the snapshot's bindings are
    scheduled as they are."""

    clusters: tuple[Mapping[str, Any], ...] = ()
    workloads: tuple[Mapping[str, Any], ...] = ()
    policies: tuple[Mapping[str, Any], ...] = ()
    bindings: tuple[Mapping[str, Any], ...] = ()
    library: Library = field(default_factory=builtin_library)
    gates: FeatureGates = field(default_factory=FeatureGates)
    from_policies: bool = True
    quotas: tuple[Mapping[str, Any], ...] = ()
    failed_clusters: tuple[str, ...] = ()
    simulate: bool = False


@dataclass(frozen=True, slots=True)
class ClusterNode:
    view: ClusterView
    capacity: ClusterCapacity


@dataclass(frozen=True, slots=True)
class BuiltBinding:
    """A binding node's value: the binding (None when no policy matched or building failed) and its origin."""

    binding: Mapping[str, Any] | None
    resource: ResourceRef
    choice: PolicyChoice | None = None
    interpretation: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleOutcome:
    """The scheduler's answer for one binding; ``trigger`` None means Karmada keeps the previous result."""

    trigger: str | None
    previous: tuple[TargetCluster, ...] | None
    result: ScheduleResult | None = None
    failure: ScheduleFailure | None = None

    @property
    def error(self) -> ScheduleFailure | None:
        return self.failure or (self.result.error if self.result is not None else None)

    def effective(self) -> tuple[TargetCluster, ...]:
        """Where the workload runs afterwards: the new result, or what Karmada leaves in place."""
        if self.result is not None and self.result.clusters is not None:
            return self.result.clusters
        return self.previous or ()


def _policy_id(kind: str, namespace: str, name: str) -> str:
    return f"policy:{kind}/{namespace}/{name}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


class Plan:
    """The plan graph over one set of inputs, with results cached per node."""

    def __init__(self, inputs: PlanInputs) -> None:
        self.inputs = inputs
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.results: dict[str, Any] = {}
        self._dirty: set[str] = set()
        self._kinds: dict[str, list[str]] = {}
        self._sorted: dict[str, list[str]] = {}
        self._kinds_size = 0
        self._reads = DependencyIndex()
        self._report = ReportState()

    # ------------------------------------------------------------------ compile
    @classmethod
    def compile(cls, inputs: PlanInputs) -> Plan:
        plan = cls(inputs)
        for step in _COMPILE_STEPS:
            step(plan)
        plan._dirty = set(plan.graph.nodes)
        return plan

    def add(self, node: str, kind: str, source: Any = None, after: Iterable[str] = ()) -> None:
        self.add_all(kind, ((node, source),), ((before, node) for before in after))

    def add_all(self, kind: str, nodes: Iterable[tuple[str, Any]], edges: Iterable[tuple[str, str]] = ()) -> None:
        """Nodes of one kind with their sources, then edges between any nodes: one networkx call for each.

        The index of nodes per kind is extended in place while every node is new (a node added again
        takes a rebuilt index, as its kind may have changed)."""
        graph = self.graph
        items = [(name, {"kind": kind, "source": source}) for name, source in nodes]
        fresh = self._kinds_size == len(graph) and not any(map(graph.__contains__, (n for n, _ in items)))
        graph.add_nodes_from(items)
        graph.add_edges_from(edges)
        if fresh and len(graph) == self._kinds_size + len(items):
            self._kinds.setdefault(kind, []).extend(name for name, _ in items)
            self._sorted.pop(kind, None)
            self._kinds_size = len(graph)
        else:
            self._kinds_size = -1

    def nodes_of(self, kind: str) -> list[str]:
        """The nodes of one kind, sorted; from an index kept as nodes are added (rebuilt when it is stale)."""
        if self._kinds_size != len(self.graph):
            kinds: dict[str, list[str]] = {}
            for name, data in self.graph.nodes(data=True):
                kinds.setdefault(data["kind"], []).append(name)
            self._kinds, self._sorted, self._kinds_size = kinds, {}, len(self.graph)
        known = self._sorted.get(kind)
        if known is None:
            known = self._sorted[kind] = sorted(self._kinds.get(kind, ()))
        return list(known)

    def source(self, node: str) -> Any:
        return self.graph.nodes[node]["source"]

    # ------------------------------------------------------------------ evaluation
    def invalidate(self, node_ids: Iterable[str]) -> None:
        """Mark ``node_ids`` and every node depending on them for recomputation."""
        stack = [node for node in node_ids if node not in self._dirty]
        self._dirty.update(stack)
        while stack:
            for after in self.graph.successors(stack.pop()):
                if after not in self._dirty:
                    self._dirty.add(after)
                    stack.append(after)

    def evaluate(self) -> PlacementReport:
        """Compute every dirty node once, in a deterministic topological order; return the report.

        The dirty nodes are closed under "depends on", so ordering them alone keeps every node after the
        nodes it reads."""
        graph = self.graph if len(self._dirty) == len(self.graph) else self.graph.subgraph(self._dirty).copy()
        for node in nx.lexicographical_topological_sort(graph):
            self.results[node] = _COMPUTE[self.graph.nodes[node]["kind"]](self, node)
        self._dirty.clear()
        report = self.results[REPORT]
        assert isinstance(report, PlacementReport)
        return report

    def update_cluster(self, cluster: Mapping[str, Any]) -> None:
        """Replace (or add) one Cluster object and invalidate what depends on it.

        A cluster the plan already has is swapped into the evaluated fleet at once, and only the schedules
        whose result it can move (:mod:`kpl.engine.plan_incremental`) are invalidated, with the nodes that
        read the cluster directly (report, failover, simulation); otherwise the fleet and every schedule are.
        """
        node = f"cluster:{_meta(cluster).get('name') or ''}"
        if node not in self.graph:
            self.add(node, "cluster", cluster)
            readers = [FLEET, *self.nodes_of("schedule"), *self.nodes_of("failover"), REPORT]
            self.graph.add_edges_from((node, s) for s in readers)
        elif self.graph.nodes[node]["source"] == cluster:
            return
        self.graph.nodes[node]["source"] = cluster
        self.inputs = replace(self.inputs, clusters=_replaced(self.inputs.clusters, cluster, _cluster_key))
        if not self._swap_cluster(node):
            self.invalidate([node])

    def _swap_cluster(self, node: str) -> bool:
        """Put a changed cluster into the evaluated fleet and invalidate the schedules it can move; False
        when the fleet or the cluster is not evaluated (then everything downstream must be)."""
        fleet, old = self.results.get(FLEET), self.results.get(node)
        if FLEET in self._dirty or node in self._dirty or not isinstance(fleet, Fleet) or old is None:
            return False
        new = compute_cluster(self, node)
        change = ClusterChange(new.view.name, old.view, new.view, old.capacity, new.capacity)
        clean = [(s, built.binding) for s in self.graph.successors(FLEET) if s not in self._dirty
                 and (built := self.results.get("binding:" + s.removeprefix("schedule:"))) is not None
                 and built.binding is not None]
        moved = affected_schedules(self._reads, clean, change, self.inputs.gates)
        self.results[node] = new
        self.results[FLEET] = refreshed_fleet(fleet, new.view, new.capacity)
        self.invalidate([*moved, *(s for s in self.graph.successors(node) if s != FLEET)])
        return True

    def update_workload(self, obj: Mapping[str, Any]) -> None:
        """Replace one resource template and invalidate its interpretation, match, binding and what follows;
        a template the plan does not have yet (or one the detector ignores) recompiles the graph."""
        workloads = _replaced(self.inputs.workloads, obj, _object_key)
        key = _workload_key(obj, set())
        node = f"workload:{key}"
        if node not in self.graph or detector_ignores(obj) or not self.inputs.from_policies:
            self.recompile(replace(self.inputs, workloads=workloads))
            return
        self.inputs = replace(self.inputs, workloads=workloads)
        bindings = [n for n in self.graph.successors(node) if n.startswith("binding:")]
        changed = [node, f"match:{key}", *bindings]
        for name in changed:
            self.graph.nodes[name]["source"] = obj
        self.invalidate(changed)

    def update_policy(self, policy: Mapping[str, Any]) -> None:
        """Replace (or add) one (Cluster)PropagationPolicy and invalidate every match (and what follows)."""
        meta = _meta(policy)
        kind = str(policy.get("kind") or POLICY)
        namespace = str(meta.get("namespace") or "") if kind == POLICY else ""
        node = _policy_id(kind, namespace, str(meta.get("name") or ""))
        self.inputs = replace(self.inputs, policies=_replaced(self.inputs.policies, policy, _object_key))
        if not self.inputs.from_policies:
            return
        if node not in self.graph:
            self.add(node, "policy", policy)
            self.graph.add_edges_from((node, m) for m in self.nodes_of("match"))
        self.graph.nodes[node]["source"] = policy
        self.invalidate([node])

    def update_binding(self, binding: Mapping[str, Any]) -> None:
        """Replace one snapshot (Cluster)ResourceBinding scheduled as it is (without policies) and invalidate
        its schedule and what follows; a binding the plan does not have yet recompiles the graph."""
        _, namespace, name = binding_key(binding)
        bindings = _replaced(self.inputs.bindings, binding, binding_key)
        node = f"binding:{namespace}/{name}"
        if self.inputs.from_policies or node not in self.graph:
            self.recompile(replace(self.inputs, bindings=bindings))
            return
        self.inputs = replace(self.inputs, bindings=bindings)
        if self.graph.nodes[node]["source"] != binding:
            self.graph.nodes[node]["source"] = binding
            self.invalidate([node])

    @property
    def pending(self) -> frozenset[str]:
        """The nodes the next :meth:`evaluate` computes."""
        return frozenset(self._dirty)

    def recompile(self, inputs: PlanInputs) -> None:
        """Replace the graph with a fresh one over ``inputs`` (every node is recomputed)."""
        fresh = Plan.compile(inputs)
        self.inputs, self.graph, self.results, self._dirty = inputs, fresh.graph, {}, fresh._dirty
        self._kinds, self._sorted, self._kinds_size = fresh._kinds, fresh._sorted, fresh._kinds_size
        self._report = ReportState()


def _cluster_key(obj: Mapping[str, Any]) -> tuple[str, ...]:
    return (str(_meta(obj).get("name") or ""),)


def _object_key(obj: Mapping[str, Any]) -> tuple[str, ...]:
    meta = _meta(obj)
    return (str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""), str(meta.get("namespace") or ""),
            str(meta.get("name") or ""))


def _replaced(items: tuple[Mapping[str, Any], ...], new: Mapping[str, Any],
              key: Callable[[Mapping[str, Any]], tuple[str, ...]]) -> tuple[Mapping[str, Any], ...]:
    """``items`` with the entry of ``new``'s key replaced by ``new`` (appended when there is none)."""
    wanted = key(new)
    if any(key(item) == wanted for item in items):
        return tuple(new if key(item) == wanted else item for item in items)
    return (*items, new)


# ------------------------------------------------------------------------------------ compile steps


def add_clusters(plan: Plan) -> None:
    plan.add_all("cluster", ((f"cluster:{_meta(cluster).get('name') or ''}", cluster)
                             for cluster in plan.inputs.clusters))


def add_policies(plan: Plan) -> None:
    if not plan.inputs.from_policies:
        return
    for policy in plan.inputs.policies:
        meta = _meta(policy)
        kind = str(policy.get("kind") or POLICY)
        namespace = str(meta.get("namespace") or "") if kind == POLICY else ""
        node = _policy_id(kind, namespace, str(meta.get("name") or ""))
        if node not in plan.graph:
            plan.add(node, "policy", policy)


def _workload_key(obj: Mapping[str, Any], taken: set[str]) -> str:
    meta = _meta(obj)
    key = f"{meta.get('namespace') or ''}/{obj.get('kind') or ''}/{meta.get('name') or ''}"
    return key if key not in taken else f"{key}@{obj.get('apiVersion') or ''}"


def add_workloads(plan: Plan) -> None:
    if not plan.inputs.from_policies:
        return
    policies = plan.nodes_of("policy")
    taken: set[str] = set()
    for obj in plan.inputs.workloads:
        if detector_ignores(obj):
            continue
        key = _workload_key(obj, taken)
        taken.add(key)
        meta = _meta(obj)
        name = binding_name(str(obj.get("kind") or ""), str(meta.get("name") or ""))
        binding = f"binding:{meta.get('namespace') or ''}/{name}"
        binding = binding if binding not in plan.graph else f"{binding}#{key}"
        plan.add(f"workload:{key}", "workload", obj)
        plan.add(f"match:{key}", "match", obj, [*policies, f"workload:{key}"])
        plan.add(binding, "binding", obj, [f"workload:{key}", f"match:{key}"])


def add_snapshot_bindings(plan: Plan) -> None:
    if plan.inputs.from_policies:
        return
    nodes: dict[str, Mapping[str, Any]] = {}
    for binding in plan.inputs.bindings:
        _, namespace, name = binding_key(binding)
        nodes.setdefault(f"binding:{namespace}/{name}", binding)  # the first of a name is the one kept
    graph = plan.graph
    plan.add_all("binding", ((node, binding) for node, binding in nodes.items() if node not in graph))


def add_schedules(plan: Plan) -> None:
    plan.add(FLEET, "fleet", None, plan.nodes_of("cluster"))
    bindings = plan.nodes_of("binding")
    schedules = ["schedule:" + binding.removeprefix("binding:") for binding in bindings]
    edges = [edge for before, node in zip(bindings, schedules, strict=True) for edge in ((before, node), (FLEET, node))]
    plan.add_all("schedule", zip(schedules, repeat(None)), edges)


def add_quotas(plan: Plan) -> None:
    for quota in plan.inputs.quotas:
        node = quota_node(quota)
        namespace = node.removeprefix("quota:").split("/", 1)[0]
        if node in plan.graph:
            continue
        steps = [n for n in plan.nodes_of("binding")
                 if n.removeprefix("binding:").split("/", 1)[0] == namespace]
        plan.add(node, "quota", quota, [*steps, *("schedule:" + n.removeprefix("binding:") for n in steps)])


def add_failovers(plan: Plan) -> None:
    if not plan.inputs.failed_clusters:
        return
    clusters = plan.nodes_of("cluster")
    for binding in plan.nodes_of("binding"):
        key = binding.removeprefix("binding:")
        plan.add(f"failover:{key}", "failover", None, [binding, f"schedule:{key}", *clusters])


def add_simulation(plan: Plan) -> None:
    if plan.inputs.simulate:
        plan.add(SIMULATION, "simulation", None, [*plan.nodes_of("binding"), *plan.nodes_of("schedule"),
                                                  *plan.nodes_of("cluster")])


def add_report(plan: Plan) -> None:
    plan.add(REPORT, "report", None, [*plan.nodes_of("schedule"), *plan.nodes_of("cluster"),
                                      *plan.nodes_of("quota"), *plan.nodes_of("failover"),
                                      *plan.nodes_of("simulation")])


_COMPILE_STEPS: tuple[Callable[[Plan], None], ...] = (
    add_clusters, add_policies, add_workloads, add_snapshot_bindings, add_schedules, add_quotas,
    add_failovers, add_simulation, add_report,
)


# ------------------------------------------------------------------------------------ node computations


def compute_cluster(plan: Plan, node: str) -> ClusterNode:
    cluster = plan.source(node)
    return ClusterNode(ClusterView.from_object(cluster), ClusterCapacity.from_cluster(cluster))


def compute_fleet(plan: Plan, node: str) -> Fleet:
    """Every cluster's view and capacity, with the caches the bindings scheduled on the fleet share."""
    clusters: list[ClusterNode] = [plan.results[p] for p in sorted(plan.graph.predecessors(node))
                                   if p.startswith("cluster:")]
    return Fleet.of([c.view for c in clusters], {c.view.name: c.capacity for c in clusters})


def compute_policy(plan: Plan, node: str) -> PolicyView:
    from kpl.engine.policy import apply_admission_defaults

    defaulted = apply_admission_defaults(copy.deepcopy(dict(plan.source(node))))
    return PolicyView.from_object(defaulted)


def compute_workload(plan: Plan, node: str) -> Any:
    return interpret_workload(plan.source(node), plan.inputs.library, plan.inputs.gates)


def compute_match(plan: Plan, node: str) -> PolicyChoice:
    policies = [plan.results[p] for p in sorted(plan.graph.predecessors(node)) if p.startswith("policy:")]
    return choose_policy(ResourceView.from_object(plan.source(node)), policies, plan.inputs.gates)


def _previous_binding(plan: Plan, obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    meta = _meta(obj)
    namespace = str(meta.get("namespace") or "")
    kind = "ResourceBinding" if namespace else "ClusterResourceBinding"
    wanted = (kind, namespace, binding_name(str(obj.get("kind") or ""), str(meta.get("name") or "")))
    return next((b for b in plan.inputs.bindings if binding_key(b) == wanted), None)


def compute_binding(plan: Plan, node: str) -> BuiltBinding:
    obj = plan.source(node)
    if not plan.inputs.from_policies:
        resource = ResourceRef.from_api((obj.get("spec") or {}).get("resource") or {})
        return BuiltBinding(stored_binding(obj), resource)
    parents = sorted(plan.graph.predecessors(node))
    interpretation = plan.results[next(p for p in parents if p.startswith("workload:"))]
    choice: PolicyChoice = plan.results[next(p for p in parents if p.startswith("match:"))]
    resource = ResourceRef.from_api(obj)
    if choice.chosen is None:
        return BuiltBinding(None, resource, choice, interpretation)
    if interpretation.error is not None:
        return BuiltBinding(None, resource, choice, interpretation, interpretation.error)
    chosen = choice.chosen
    policy: PolicyView = plan.results[_policy_id(chosen.kind, chosen.namespace, chosen.name)]
    binding = build_binding(obj, policy.source, interpretation, _previous_binding(plan, obj))
    return BuiltBinding(binding, resource, choice, interpretation)


def _fleet(plan: Plan, node: str) -> Fleet:
    fleet = plan.results[FLEET]
    assert isinstance(fleet, Fleet)
    return fleet


def compute_schedule(plan: Plan, node: str) -> ScheduleOutcome | None:
    built: BuiltBinding = plan.results["binding:" + node.removeprefix("schedule:")]
    if built.binding is None:
        failure = None if built.error is None else ScheduleFailure("Error", built.error)
        return None if failure is None else ScheduleOutcome("InterpretationFailed", None, failure=failure)
    fleet = _fleet(plan, node)
    spec = built.binding.get("spec") or {}
    previous = targets_from_api(spec.get("clusters")) if "clusters" in spec else None
    shared = fleet.shared
    deleting = shared.deleting if shared is not None else [v.name for v in fleet.views if v.deleting]
    trigger = needs_scheduling(built.binding, deleting, plan.inputs.gates)
    if trigger is None:
        return ScheduleOutcome(None, previous)
    return ScheduleOutcome(trigger, previous, schedule(built.binding, fleet, plan.inputs.gates))


# ------------------------------------------------------------------------------------ the report


def compute_report(plan: Plan, node: str) -> PlacementReport:
    """The report; its bindings, unmatched resources and cluster sections are patched from the previous
    evaluation's where the plan changed (:class:`kpl.engine.plan_report.ReportState`)."""
    bindings, unmatched, clusters = plan._report.refresh(plan)
    return PlacementReport(
        mode=MODE_POLICIES if plan.inputs.from_policies else MODE_BINDINGS,
        feature_gates=dict(plan.inputs.gates.overrides),
        bindings=bindings,
        clusters=clusters,
        unmatched=unmatched,
        quotas=tuple(plan.results[n] for n in plan.nodes_of("quota")),
        failed_clusters=plan.inputs.failed_clusters,
        failovers=tuple(r for n in plan.nodes_of("failover") if (r := plan.results[n]) is not None),
        failover_notes=failover_notes(plan.inputs.gates, plan.inputs.failed_clusters),
        simulation=plan.results[SIMULATION] if SIMULATION in plan.graph else None,
    )


_COMPUTE: Mapping[str, Callable[[Plan, str], Any]] = {
    "cluster": compute_cluster,
    "fleet": compute_fleet,
    "policy": compute_policy,
    "workload": compute_workload,
    "match": compute_match,
    "binding": compute_binding,
    "schedule": compute_schedule,
    "report": compute_report,
    "quota": compute_quota,
    "failover": compute_failover,
    "simulation": compute_simulation,
}


# ------------------------------------------------------------------------------------ loading


@dataclass(frozen=True, slots=True)
class LoadedInputs:
    """Inputs read from files, with every diagnostic met; ``io_failed`` for unreadable or malformed files."""

    inputs: PlanInputs
    diagnostics: tuple[Diagnostic, ...]
    io_failed: bool

    @property
    def policy_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def _split_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    kpl_paths: list[Path] = []
    yaml_paths: list[Path] = []
    for path in paths:
        if path.is_dir():
            kpl_paths.append(path)
            yaml_paths.append(path)
        else:
            (yaml_paths if path.suffix in SUFFIXES else kpl_paths).append(path)
    return kpl_paths, yaml_paths


def _policy_objects(paths: list[Path], gates: FeatureGates) -> tuple[list[Mapping[str, Any]], Library,
                                                                     list[Diagnostic], bool,
                                                                     list[Mapping[str, Any]]]:
    # the language's modules (parser, checker, policy compiler) are imported only when there are policies
    from kpl.dsl import ast
    from kpl.engine.check import check_project
    from kpl.engine.library import library_with
    from kpl.engine.policy import compile_quota
    from kpl.engine.project import load_project

    kpl_paths, yaml_paths = _split_paths(paths)
    project = load_project(kpl_paths)
    context = check_project(project)
    diagnostics = [*project.diagnostics, *context.diagnostics]
    policies: list[Mapping[str, Any]] = [
        c.object for c in context.policies if not any(d.is_error for d in c.diagnostics)
    ]
    found, problems = load_snapshot(yaml_paths) if yaml_paths else (Snapshot(), [])
    diagnostics.extend(problems)
    policies.extend(found.policies)
    rules = [(d, s) for d, s in project.declarations() if isinstance(d, ast.Interpreter)]
    quotas: list[Mapping[str, Any]] = [compile_quota(d) for d, _ in project.declarations()
                                       if isinstance(d, ast.Quota)]
    quotas.extend(found.quotas)
    return policies, library_with(rules), diagnostics, project.io_failed or bool(problems), quotas


def _unique_policies(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for policy in policies:
        meta = _meta(policy)
        key = (str(policy.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        seen.setdefault(key, policy)
    return list(seen.values())


def load_plan_inputs(
    policy_paths: Iterable[Path], snapshot_paths: Iterable[Path], gates: FeatureGates | None = None
) -> LoadedInputs:
    """Read policies (kpl files, PropagationPolicy YAML) and a snapshot into plan inputs.

    Without policy paths the snapshot's bindings are scheduled as they are. Policies given in files take
    precedence over same-named ones in the snapshot (they are the new version of that policy).
    """
    gates = gates or FeatureGates()
    snapshot, problems = load_snapshot(snapshot_paths)
    diagnostics: list[Diagnostic] = list(problems)
    io_failed = bool(problems)
    paths = list(policy_paths)
    library, policies, quotas = builtin_library(), [], []
    if paths:
        given, library, found, failed, given_quotas = _policy_objects(paths, gates)
        diagnostics.extend(found)
        io_failed = io_failed or failed
        policies = _unique_policies([*given, *snapshot.policies])
        quotas = given_quotas
    inputs = PlanInputs(
        clusters=tuple(snapshot.clusters), workloads=tuple(snapshot.workloads), policies=tuple(policies),
        bindings=tuple(snapshot.bindings), library=library, gates=gates, from_policies=bool(paths),
        quotas=tuple(_unique_policies([*quotas, *snapshot.quotas])),
    )
    return LoadedInputs(inputs, tuple(diagnostics), io_failed)
