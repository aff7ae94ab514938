"""``kpl plan --watch``: poll the input files and re-plan incrementally when they change.

Files are polled by modification time and size (no extra dependency, identical on every platform and
file system, including network mounts where change notifications are unreliable). When some change, the
inputs are read again and compared object by object with the plan's: a changed or new Cluster, resource
template or policy updates its node (:meth:`~kpl.engine.plan.Plan.update_cluster`,
:meth:`~kpl.engine.plan.Plan.update_workload`, :meth:`~kpl.engine.plan.Plan.update_policy`), taking the
objects of the most recently edited files first, and so does a changed snapshot binding scheduled as it is
(:meth:`~kpl.engine.plan.Plan.update_binding`); anything else (a removed object, bindings beside policies,
quotas, interpreter rules) recompiles the graph. A changed cluster recomputes only the schedules it can move
(:mod:`kpl.engine.plan_incremental`). Then only the invalidated nodes are evaluated, and what moved
since the previous plan is described.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kpl.dsl import ast
from kpl.engine.plan import LoadedInputs, Plan, PlanInputs
from kpl.engine.project import load_project
from kpl.engine.report import PlacementReport
from kpl.engine.scheduler.types import TargetCluster
from kpl.engine.snapshot import SUFFIXES, load_snapshot

__all__ = [
    "FileStamps",
    "Update",
    "apply_inputs",
    "changed_files",
    "describe_moves",
    "file_nodes",
    "scan_files",
    "watch",
]

FileStamps = dict[str, tuple[int, int]]
_WATCHED = (*SUFFIXES, ".kpl")


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for folder, dirs, names in os.walk(path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield from (Path(folder) / name for name in sorted(names) if name.endswith(_WATCHED))


def scan_files(paths: Iterable[Path]) -> FileStamps:
    """``{file: (mtime_ns, size)}`` of every policy and snapshot file below ``paths``."""
    stamps: FileStamps = {}
    for root in paths:
        for path in _files(root):
            try:
                found = path.stat()
            except OSError:
                continue
            stamps[str(path)] = (found.st_mtime_ns, found.st_size)
    return stamps


def changed_files(before: FileStamps, after: FileStamps) -> list[str]:
    """Files added, removed or changed; the most recently modified first (removed ones last)."""
    changed = [name for name in after if before.get(name) != after[name]]
    removed = sorted(name for name in before if name not in after)
    return [*sorted(changed, key=lambda name: (-after[name][0], name)), *removed]


# ------------------------------------------------------------------------------------ files to nodes


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _workload_node(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    return f"workload:{meta.get('namespace') or ''}/{obj.get('kind') or ''}/{meta.get('name') or ''}"


def _policy_node(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    kind = str(obj.get("kind") or "PropagationPolicy")
    namespace = str(meta.get("namespace") or "") if kind == "PropagationPolicy" else ""
    return f"policy:{kind}/{namespace}/{meta.get('name') or ''}"


def file_nodes(path: Path) -> list[str]:
    """The plan nodes the objects of one file feed (clusters, workloads, policies)."""
    if path.suffix == ".kpl":
        project = load_project([path])
        nodes = []
        for declaration, _ in project.declarations():
            if isinstance(declaration, ast.Policy):
                kind = "ClusterPropagationPolicy" if declaration.cluster_scoped else "PropagationPolicy"
                namespace = "" if declaration.cluster_scoped else (declaration.namespace or "default")
                nodes.append(f"policy:{kind}/{namespace}/{declaration.name}")
        return nodes
    snapshot, _ = load_snapshot([path])
    return [*(f"cluster:{_meta(c).get('name') or ''}" for c in snapshot.clusters),
            *map(_workload_node, snapshot.workloads), *map(_policy_node, snapshot.policies)]


# ------------------------------------------------------------------------------------ inputs to updates


@dataclass(frozen=True, slots=True)
class Update:
    """What one re-plan did: the nodes updated in place, or a recompiled graph, and how many nodes ran."""

    nodes: tuple[str, ...]
    recompiled: bool
    evaluated: int = 0


def _by(items: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str]) -> dict[str, Any]:
    return {key(item): item for item in items}


def _cluster_name(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("name") or "")


def _binding_node(obj: Mapping[str, Any]) -> str:
    return f"binding:{_meta(obj).get('namespace') or ''}/{_meta(obj).get('name') or ''}"


def _needs_recompile(old: PlanInputs, new: PlanInputs) -> bool:
    if (old.quotas, old.gates, old.from_policies) != (new.quotas, new.gates, new.from_policies):
        return True
    if new.from_policies and old.bindings != new.bindings:
        return True
    if len({_binding_node(b) for b in new.bindings}) != len(new.bindings):
        return True
    removed = [(old.clusters, new.clusters, _cluster_name), (old.bindings, new.bindings, _binding_node),
               (old.workloads, new.workloads, _workload_node), (old.policies, new.policies, _policy_node)]
    return any(set(_by(a, key)) - set(_by(b, key)) for a, b, key in removed)


def _changed(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
             key: Callable[[Mapping[str, Any]], str]) -> dict[str, Mapping[str, Any]]:
    before = _by(old, key)
    return {name: obj for name, obj in _by(new, key).items() if before.get(name) != obj}


def apply_inputs(plan: Plan, new: PlanInputs, first: Sequence[str] = (), *,
                 rules_changed: bool = False) -> Update:
    """Bring ``plan`` to ``new`` inputs with the fewest invalidations; nodes named in ``first`` go first.

    ``rules_changed`` says interpreter rules may differ (every interpretation is then recomputed).
    """
    new = replace(new, failed_clusters=plan.inputs.failed_clusters, simulate=plan.inputs.simulate)
    if rules_changed or _needs_recompile(plan.inputs, new):
        plan.recompile(new)
        return Update((), True)
    updates: dict[str, tuple[Callable[[Mapping[str, Any]], None], Mapping[str, Any]]] = {}
    for name, obj in _changed(plan.inputs.clusters, new.clusters, _cluster_name).items():
        updates[f"cluster:{name}"] = (plan.update_cluster, obj)
    for name, obj in _changed(plan.inputs.workloads, new.workloads, _workload_node).items():
        updates[name] = (plan.update_workload, obj)
    for name, obj in _changed(plan.inputs.policies, new.policies, _policy_node).items():
        updates[name] = (plan.update_policy, obj)
    if not new.from_policies:
        for name, obj in _changed(plan.inputs.bindings, new.bindings, _binding_node).items():
            updates[name] = (plan.update_binding, obj)
    order = [n for n in first if n in updates] + sorted(n for n in updates if n not in first)
    for name in order:
        update, obj = updates[name]
        update(obj)
    plan.inputs = replace(plan.inputs, library=new.library)
    return Update(tuple(order), False)


# ------------------------------------------------------------------------------------ what moved


def _targets(targets: Sequence[TargetCluster] | None) -> str:
    if targets is None:
        return "-"
    return ", ".join(f"{t.name}: {t.replicas}" if t.replicas else t.name for t in targets) or "(none)"


def _binding_states(report: PlacementReport) -> dict[str, str]:
    states: dict[str, str] = {}
    for binding in report.bindings:
        label = f"{binding.namespace}/{binding.name}".lstrip("/")
        error = f" ({binding.error.type}: {binding.error.message})" if binding.error is not None else ""
        states[label] = _targets(binding.clusters) + error
    return states


def _quota_states(report: PlacementReport) -> dict[str, str]:
    states: dict[str, str] = {}
    for quota in report.quotas:
        used = ", ".join(f"{name}={value}" for name, value in sorted(quota.used.items())) or "nothing"
        denied = f", {len(quota.denied)} denied" if quota.denied else ""
        states[f"quota {quota.namespace}/{quota.name}"] = f"used {used}{denied}"
    return states


def describe_moves(before: PlacementReport, after: PlacementReport) -> list[str]:
    """One line per binding or quota whose outcome changed between two plans."""
    lines: list[str] = []
    for states in (_binding_states, _quota_states):
        old, new = states(before), states(after)
        for name in sorted({*old, *new}):
            if name not in old:
                lines.append(f"+ {name}: {new[name]}")
            elif name not in new:
                lines.append(f"- {name}: was {old[name]}")
            elif old[name] != new[name]:
                lines.append(f"~ {name}: {old[name]} -> {new[name]}")
    return lines


# ------------------------------------------------------------------------------------ the loop


def _rules_changed(files: Sequence[str]) -> bool:
    """Whether a changed or removed ``.kpl`` file may have held interpreter rules."""
    for name in (f for f in files if f.endswith(".kpl")):
        if not Path(name).exists():
            return True
        if any(isinstance(d, ast.Interpreter) for d, _ in load_project([Path(name)]).declarations()):
            return True
    return False


def _first_nodes(files: Sequence[str]) -> list[str]:
    nodes: list[str] = []
    for name in files:
        if Path(name).exists():
            nodes.extend(n for n in file_nodes(Path(name)) if n not in nodes)
    return nodes


def watch(plan: Plan, report: PlacementReport, paths: Sequence[Path], load: Callable[[], LoadedInputs],
          emit: Callable[[str], None], *, interval: float = 1.0, max_cycles: int | None = None,
          sleep: Callable[[float], None] = time.sleep) -> PlacementReport:
    """Poll ``paths`` every ``interval`` seconds; on a change re-plan and ``emit`` what moved.

    Returns the last report after ``max_cycles`` polls (forever when None; Ctrl-C ends it in the CLI).
    Unreadable inputs are reported and the previous plan is kept.
    """
    stamps = scan_files(paths)
    cycles = 0
    while max_cycles is None or cycles < max_cycles:
        cycles += 1
        sleep(interval)
        now = scan_files(paths)
        files = changed_files(stamps, now)
        if not files:
            continue
        stamps = now
        loaded = load()
        if loaded.io_failed:
            emit(f"changed: {', '.join(files)}; the inputs cannot be read, keeping the previous plan")
            continue
        update = apply_inputs(plan, loaded.inputs, _first_nodes(files), rules_changed=_rules_changed(files))
        evaluated = len(plan.pending)
        after = plan.evaluate()
        how = "recompiled" if update.recompiled else f"{evaluated} step(s) recomputed"
        moves = describe_moves(report, after) or ["nothing moved"]
        emit("\n".join([f"changed: {', '.join(files)} ({how})", *moves]))
        report = after
    return report
