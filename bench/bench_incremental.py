"""Benchmark incremental re-planning against a full plan over a generated (or given) fleet snapshot.

Steps:

1. a full plan (compile and evaluate) of the snapshot, ``--full-repeat`` times (median);
2. on the last full plan, ``--repeat`` changes of one cluster's ``status.resourceSummary`` (the cluster the
   filters pass for the most bindings), each followed by a re-plan (:meth:`~kpl.engine.plan.Plan.evaluate`),
   timed as update plus evaluation (median), for three sizes of change (:data:`SUMMARY_CHANGES`);
3. the same for a change of that cluster's labels and of one binding's replicas;
4. after every change, the incremental report is rendered as JSON and its SHA-256 compared with a full plan
   of the changed snapshot: the run fails when they differ.

Times are wall-clock and CPU seconds (``time.process_time``); the load average is printed beside them. The
collector is set as ``kpl plan`` sets it (:func:`kpl.plan_command.load_quietly`).

Usage::

    python bench/bench_incremental.py --clusters 1000 --bindings 5000
    python bench/bench_incremental.py --snapshot fleet.json --repeat 5 --full-repeat 1 --json
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kpl.engine.plan import Plan, PlanInputs, load_plan_inputs
from kpl.engine.quantity import parse_quantity
from kpl.engine.report import PlacementReport, render_json
from kpl.plan_command import load_quietly

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_fleet import FleetShape, generate_fleet

__all__ = ["Timing", "bench", "main"]


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float
    cpu: float


def _timed(work: Callable[[], Any]) -> tuple[Any, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return value, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def _median(timings: Sequence[Timing]) -> dict[str, float]:
    return {"wall": statistics.median(t.wall for t in timings), "cpu": statistics.median(t.cpu for t in timings)}


def _digest(report: PlacementReport) -> str:
    return hashlib.sha256(render_json(report).encode("utf-8")).hexdigest()


def _full(inputs: PlanInputs) -> tuple[Plan, PlacementReport]:
    plan = Plan.compile(inputs)
    return plan, plan.evaluate()


def _busiest_cluster(report: PlacementReport) -> tuple[str, int]:
    """The cluster the filters pass for the most bindings, and for how many."""
    counts: Counter[str] = Counter()
    for binding in report.bindings:
        counts.update(e.name for e in binding.explanations if e.passed_filters)
    name, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
    return name, count


def _cluster(inputs: PlanInputs, name: str) -> Mapping[str, Any]:
    return next(c for c in inputs.clusters if (c.get("metadata") or {}).get("name") == name)


def _with_summary(cluster: Mapping[str, Any], millicores: int, mebibytes: int) -> dict[str, Any]:
    """The cluster with ``millicores`` cpu and ``mebibytes`` memory more allocated."""
    changed = copy.deepcopy(dict(cluster))
    summary = changed.setdefault("status", {}).setdefault("resourceSummary", {})
    base = dict(summary.get("allocated") or {})
    cpu = parse_quantity(str(base.get("cpu") or "0")) + parse_quantity(f"{millicores}m")
    memory = parse_quantity(str(base.get("memory") or "0")) + parse_quantity(f"{mebibytes}Mi")
    summary["allocated"] = {**base, "cpu": str(cpu), "memory": str(memory)}
    return changed


SUMMARY_CHANGES = (("resource summary: +10m cpu, +16Mi memory allocated", 10, 16),
                   ("resource summary: one pod, +250m cpu, +256Mi memory", 250, 256),
                   ("resource summary: +4 cpu, +16Gi memory allocated", 4000, 16384))
"""Allocation churn that rarely moves an estimate, one more pod, and a large change moving most estimates."""


def _with_label(cluster: Mapping[str, Any], step: int) -> dict[str, Any]:
    changed = copy.deepcopy(dict(cluster))
    changed.setdefault("metadata", {}).setdefault("labels", {})["kpl.bench/edit"] = f"v{step}"
    return changed


def _replace_cluster(inputs: PlanInputs, cluster: Mapping[str, Any]) -> PlanInputs:
    name = cluster["metadata"]["name"]
    return replace(inputs, clusters=tuple(cluster if (c.get("metadata") or {}).get("name") == name else c
                                          for c in inputs.clusters))


def _scaled_binding(inputs: PlanInputs, step: int) -> Mapping[str, Any]:
    """The first workload binding with a different replica count."""
    binding = next(b for b in inputs.bindings if (b.get("spec") or {}).get("replicas"))
    changed = copy.deepcopy(dict(binding))
    changed["spec"]["replicas"] = int(changed["spec"]["replicas"]) + step
    return changed


def _replace_binding(inputs: PlanInputs, binding: Mapping[str, Any]) -> PlanInputs:
    key = (binding["metadata"].get("namespace"), binding["metadata"]["name"])
    return replace(inputs, bindings=tuple(
        binding if ((b.get("metadata") or {}).get("namespace"), (b.get("metadata") or {}).get("name")) == key
        else b for b in inputs.bindings))


@dataclass(slots=True)
class _Edits:
    """One kind of change: how to make the ``step``-th version and apply it to the plan and the inputs."""

    name: str
    make: Callable[[PlanInputs, int], Mapping[str, Any]]
    apply: Callable[[Plan, Mapping[str, Any]], None]
    record: Callable[[PlanInputs, Mapping[str, Any]], PlanInputs]


def _replans(plan: Plan, inputs: PlanInputs, edits: _Edits, repeat: int) -> tuple[PlanInputs, dict[str, Any]]:
    timings: list[Timing] = []
    recomputed: list[int] = []
    for step in range(1, repeat + 1):
        changed = edits.make(inputs, step)
        inputs = edits.record(inputs, changed)

        def replan(changed: Mapping[str, Any] = changed) -> int:
            edits.apply(plan, changed)
            pending = len(plan.pending)
            plan.evaluate()
            return pending

        count, timing = _timed(replan)
        timings.append(timing)
        recomputed.append(count)
    return inputs, {"median": _median(timings), "nodes_recomputed": recomputed}


def _check(plan: Plan, inputs: PlanInputs) -> dict[str, Any]:
    incremental = _digest(plan.evaluate())
    _, fresh = _full(inputs)
    full = _digest(fresh)
    return {"incremental_sha256": incremental, "full_sha256": full, "equal": incremental == full}


def _kinds(cluster: str) -> list[tuple[_Edits, bool]]:
    """Each kind of change, and whether it is heavy (repeated ``--heavy-repeat`` times)."""
    kinds: list[tuple[_Edits, bool]] = []
    for name, millicores, mebibytes in SUMMARY_CHANGES:
        def make(inputs: PlanInputs, _: int, m: int = millicores, b: int = mebibytes) -> Mapping[str, Any]:
            return _with_summary(_cluster(inputs, cluster), m, b)

        kinds.append((_Edits(name, make, lambda p, c: p.update_cluster(c), _replace_cluster), millicores > 100))
    kinds.append((_Edits("labels", lambda i, s: _with_label(_cluster(i, cluster), s),
                         lambda p, c: p.update_cluster(c), _replace_cluster), True))
    kinds.append((_Edits("one binding's replicas", _scaled_binding, lambda p, b: p.update_binding(b),
                         _replace_binding), False))
    return kinds


def bench(snapshot: Path, repeat: int, full_repeat: int, heavy_repeat: int) -> dict[str, Any]:
    # The collector settings of ``kpl plan`` (and ``--watch``): the loaded inputs frozen, young collections rarer.
    inputs = load_quietly(lambda: load_plan_inputs([], [snapshot]).inputs)
    runs = [_timed(lambda: _full(inputs)) for _ in range(full_repeat)]
    (plan, report), _ = runs[-1]
    full = _median([timing for _, timing in runs])
    cluster, feasible_for = _busiest_cluster(report)
    summary: dict[str, Any] = {
        "snapshot": str(snapshot), "bindings": len(report.bindings), "clusters": len(report.clusters),
        "repeat": repeat, "heavy_repeat": heavy_repeat, "full_repeat": full_repeat, "full_plan": full,
        "nodes": len(plan.graph), "cluster": cluster, "cluster_feasible_for": feasible_for, "changes": {},
    }
    for edits, heavy in _kinds(cluster):
        inputs, measured = _replans(plan, inputs, edits, heavy_repeat if heavy else repeat)
        measured["ratio_cpu"] = measured["median"]["cpu"] / full["cpu"] if full["cpu"] else 0.0
        measured["ratio_wall"] = measured["median"]["wall"] / full["wall"] if full["wall"] else 0.0
        summary["changes"][edits.name] = measured
    summary["check"] = _check(plan, inputs)
    summary["load_average"] = os.getloadavg()
    return summary


def _text(summary: dict[str, Any]) -> str:
    full = summary["full_plan"]
    lines = [f"{summary['bindings']} bindings x {summary['clusters']} clusters, {summary['nodes']} plan nodes; "
             f"full plan (median of {summary['full_repeat']}): wall {full['wall']:.3f} s, cpu {full['cpu']:.3f} s",
             f"changed cluster {summary['cluster']}: the filters pass it for {summary['cluster_feasible_for']} "
             "bindings"]
    for name, found in summary["changes"].items():
        median = found["median"]
        lines.append(f"  {name}: re-plan (median of {len(found['nodes_recomputed'])}) wall {median['wall']:.3f} s, "
                     f"cpu {median['cpu']:.3f} s = {100 * found['ratio_cpu']:.2f} % of the full plan's cpu "
                     f"({100 * found['ratio_wall']:.2f} % wall); nodes recomputed {found['nodes_recomputed']}")
    check = summary["check"]
    lines.append(f"  after every change the incremental report {'equals' if check['equal'] else 'DIFFERS FROM'} "
                 f"a full plan of the changed snapshot (sha256 {check['incremental_sha256'][:16]})")
    lines.append("  load average " + ", ".join(f"{value:.1f}" for value in summary["load_average"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark incremental re-planning against a full plan.")
    parser.add_argument("--snapshot", type=Path, help="a fleet JSON; generated when omitted")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--bindings", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="re-plans per kind of change")
    parser.add_argument("--full-repeat", type=int, default=5, help="full plans timed")
    parser.add_argument("--heavy-repeat", type=int, default=5,
                        help="re-plans for the changes that move most schedules (large resource change, labels)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        snapshot = args.snapshot
        if snapshot is None:
            snapshot = Path(folder) / "fleet.json"
            fleet = generate_fleet(FleetShape(args.clusters, args.bindings, args.seed))
            snapshot.write_text(json.dumps(fleet), encoding="utf-8")
        summary = bench(snapshot, args.repeat, args.full_repeat, args.heavy_repeat)
    sys.stdout.write((json.dumps(summary, indent=2) if args.json else _text(summary)) + "\n")
    return 0 if summary["check"]["equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
