"""Benchmark ``kpl plan`` phase by phase over a generated (or given) fleet snapshot.

Phases: ``load`` (read the JSON snapshot into plan inputs), ``compile`` (build the plan graph),
``schedule`` (every node but the report: cluster digests, bindings, scheduler runs), ``report`` (the
report node and its JSON rendering). Each phase is run ``--repeat`` times (default 5) and the median
wall-clock and CPU times are printed with bindings/s, estimator evaluations, peak memory and the SHA-256
of the JSON report, so an optimisation can be checked to leave the output byte-identical.

``--cli`` also times the whole command in new processes (``--cli-only``: nothing else), with compiled
modules kept between runs as an installed kpl keeps them (``--cold-imports``: compiled in every run), and
its own peak RSS.

Usage::

    python bench/bench_plan.py --clusters 100 --bindings 5000
    python bench/bench_plan.py --snapshot fleet.json --repeat 3 --json
    python bench/bench_plan.py --snapshot fleet.json --repeat 5 --cli-only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from kpl.engine import plan as plan_module
from kpl.engine.plan import REPORT, Plan, load_plan_inputs
from kpl.engine.report import PlacementReport
from kpl.engine.report_json import write_report_json
from kpl.plan_command import load_quietly

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_fleet import FleetShape, generate_fleet

__all__ = ["PhaseTimes", "RunResult", "bench", "bench_cli", "main", "run_cli", "run_once"]

PHASES = ("load", "compile", "schedule", "report")


@dataclass(frozen=True, slots=True)
class PhaseTimes:
    wall: float
    cpu: float


@dataclass(slots=True)
class RunResult:
    """One run: per-phase times, the report's hash and the counters the run left."""

    phases: dict[str, PhaseTimes] = field(default_factory=dict)
    digest: str = ""
    bindings: int = 0
    clusters: int = 0
    counters: dict[str, int] = field(default_factory=dict)


@contextmanager
def _timed(result: RunResult, phase: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    before = result.phases.get(phase, PhaseTimes(0.0, 0.0))
    result.phases[phase] = PhaseTimes(before.wall + time.perf_counter() - wall,
                                      before.cpu + time.process_time() - cpu)


def _evaluate(plan: Plan, result: RunResult) -> PlacementReport:
    """:meth:`Plan.evaluate`, with the report node timed apart from the rest."""
    compute: dict[str, Callable[[Plan, str], Any]] = dict(plan_module._COMPUTE)
    for node in nx.lexicographical_topological_sort(plan.graph):
        kind = plan.graph.nodes[node]["kind"]
        with _timed(result, "report" if kind == "report" else "schedule"):
            plan.results[node] = compute[kind](plan, node)
    report = plan.results[REPORT]
    assert isinstance(report, PlacementReport)
    return report


def _counters(plan: Plan) -> dict[str, int]:
    """Work counters the engine exposes (estimator evaluations), when it exposes them."""
    found: dict[str, int] = {}
    for value in plan.results.values():
        stats = getattr(value, "stats", None)
        if callable(stats):
            for key, count in stats().items():
                found[key] = found.get(key, 0) + count
    return found


def run_once(snapshot: Path, collector: bool = True) -> RunResult:
    """One run; ``collector`` sets the garbage collector up as ``kpl plan`` does (the loaded inputs frozen,
    young collections less often)."""
    result = RunResult()
    with _timed(result, "load"):
        loaded = load_quietly(lambda: load_plan_inputs([], [snapshot])) if collector else load_plan_inputs(
            [], [snapshot])
    with _timed(result, "compile"):
        plan = Plan.compile(loaded.inputs)
    report = _evaluate(plan, result)
    digest = hashlib.sha256()
    with _timed(result, "report"):
        write_report_json(report, lambda piece: digest.update(piece.encode("utf-8")))
    result.digest = digest.hexdigest()
    result.bindings, result.clusters = len(report.bindings), len(report.clusters)
    result.counters = _counters(plan)
    return result


_TIME = Path("/usr/bin/time")
_WARM = "import kpl.cli, kpl.plan_command, kpl.plan_output, kpl.engine.plan, kpl.engine.report_json"


def _cli_env(cache: Path | None) -> dict[str, str]:
    """The environment of the command: with ``cache``, compiled modules are kept there (as an installed
    kpl keeps them next to its sources), so a run does not compile every module again."""
    env = dict(os.environ)
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def run_cli(snapshot: Path, cache: Path | None = None) -> dict[str, Any]:
    """The whole command ``kpl plan --snapshot S -o json --output-file F`` in a new process: wall and CPU
    seconds, peak RSS and the output's SHA-256 (the same text as the phases' report).

    The peak RSS is the command's own, measured by ``/usr/bin/time`` where it exists: a process started
    straight from this (large) one would count this process's memory as its own peak."""
    with tempfile.TemporaryDirectory() as folder:
        output, rss = Path(folder) / "out.json", Path(folder) / "rss"
        command = [sys.executable, "-m", "kpl", "plan", "--snapshot", str(snapshot), "-o", "json",
                   "--output-file", str(output)]
        if _TIME.exists():
            command = [str(_TIME), "-f", "%M", "-o", str(rss), *command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        finished = subprocess.run(command, check=False, capture_output=True, env=_cli_env(cache))
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        digest = hashlib.sha256(output.read_bytes()).hexdigest() if output.exists() else ""
        peak = int(rss.read_text().split()[-1]) * 1024 if rss.exists() else after.ru_maxrss * 1024
        return {"wall": wall, "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                "max_rss_bytes": peak, "exit": finished.returncode, "digest": digest,
                "output_bytes": output.stat().st_size if output.exists() else 0}


def bench_cli(snapshot: Path, repeat: int, cold: bool = False) -> dict[str, Any]:
    """``repeat`` runs of the whole command; unless ``cold``, with compiled modules kept between runs (one
    import run fills the cache first)."""
    with tempfile.TemporaryDirectory() as folder:
        cache = None if cold else Path(folder)
        if cache is not None:
            subprocess.run([sys.executable, "-c", _WARM], check=True, env=_cli_env(cache))
        runs = [run_cli(snapshot, cache) for _ in range(repeat)]
    return {"wall": _median([r["wall"] for r in runs]), "cpu": _median([r["cpu"] for r in runs]),
            "max_rss_bytes": max(r["max_rss_bytes"] for r in runs), "exit": runs[0]["exit"],
            "digest": runs[0]["digest"], "stable": len({r["digest"] for r in runs}) == 1,
            "output_bytes": runs[0]["output_bytes"], "repeat": repeat, "cold_imports": cold,
            "cpu_runs": [r["cpu"] for r in runs]}


def _peak_memory(snapshot: Path) -> int:
    """Peak traced Python allocation of one whole run, in bytes."""
    tracemalloc.start()
    try:
        run_once(snapshot)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def bench(snapshot: Path, repeat: int, memory: bool, cli: bool = False, cold: bool = False) -> dict[str, Any]:
    runs = [run_once(snapshot) for _ in range(repeat)]
    digests = {run.digest for run in runs}
    first = runs[0]
    phases = {phase: {"wall": _median([r.phases[phase].wall for r in runs]),
                      "cpu": _median([r.phases[phase].cpu for r in runs])} for phase in PHASES}
    total_wall = _median([sum(p.wall for p in r.phases.values()) for r in runs])
    schedule = phases["schedule"]["wall"]
    summary: dict[str, Any] = {
        "snapshot": str(snapshot), "bindings": first.bindings, "clusters": first.clusters, "repeat": repeat,
        "phases": phases, "total_wall": total_wall,
        "schedule_bindings_per_s": first.bindings / schedule if schedule else 0.0,
        "schedule_bindings_per_cpu_s": first.bindings / phases["schedule"]["cpu"]
        if phases["schedule"]["cpu"] else 0.0,
        "counters": first.counters,
        "estimator_evaluations_per_binding": {
            key: count / max(first.bindings, 1) for key, count in first.counters.items()
        },
        "digest": first.digest, "stable": len(digests) == 1,
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if memory:
        summary["peak_traced_bytes"] = _peak_memory(snapshot)
    if cli:
        summary["cli"] = bench_cli(snapshot, repeat, cold)
    summary["load_average"] = list(os.getloadavg())
    return summary


def _text(summary: dict[str, Any]) -> str:
    if "phases" not in summary:
        cli = summary["cli"]
        return "\n".join([f"{summary['snapshot']}: report sha256 {cli['digest'][:16]}"
                           f"{'' if cli['stable'] else ' (UNSTABLE)'}", *_cli_lines(cli, cli["digest"]),
                           "  load average " + " ".join(f"{v:.2f}" for v in summary["load_average"])])
    lines = [f"{summary['bindings']} bindings x {summary['clusters']} clusters "
             f"(median of {summary['repeat']}), report sha256 {summary['digest'][:16]}"
             f"{'' if summary['stable'] else ' (UNSTABLE)'}"]
    for phase, times in summary["phases"].items():
        lines.append(f"  {phase:<9} wall {times['wall']:8.3f} s   cpu {times['cpu']:8.3f} s")
    lines.append(f"  total     wall {summary['total_wall']:8.3f} s")
    lines.append(f"  schedule: {summary['schedule_bindings_per_s']:.0f} bindings/s wall, "
                 f"{summary['schedule_bindings_per_cpu_s']:.0f} bindings/s cpu")
    for key, value in summary["estimator_evaluations_per_binding"].items():
        lines.append(f"  {key}: {summary['counters'][key]} ({value:.3f} per binding)")
    lines.append(f"  max RSS {summary['max_rss_bytes'] / 2**20:.0f} MiB")
    if "peak_traced_bytes" in summary:
        lines.append(f"  peak traced {summary['peak_traced_bytes'] / 2**20:.0f} MiB")
    if "cli" in summary:
        lines.extend(_cli_lines(summary["cli"], summary["digest"]))
    lines.append("  load average " + " ".join(f"{v:.2f}" for v in summary["load_average"]))
    return "\n".join(lines)


def _cli_lines(cli: dict[str, Any], digest: str) -> list[str]:
    same = "same report" if cli["digest"] == digest else "REPORT DIFFERS"
    return [f"  kpl plan -o json --output-file (median of {cli['repeat']}): wall {cli['wall']:.3f} s, "
            f"cpu {cli['cpu']:.3f} s, max RSS {cli['max_rss_bytes'] / 2**20:.0f} MiB, "
            f"{cli['output_bytes'] / 2**20:.1f} MiB written, exit {cli['exit']}, {same}",
            "    cpu per run " + " ".join(f"{v:.2f}" for v in cli["cpu_runs"])
            + (" (modules compiled in every run)" if cli["cold_imports"] else "")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark kpl plan phase by phase.")
    parser.add_argument("--snapshot", type=Path, help="a fleet JSON; generated when omitted")
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--bindings", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="one more run under tracemalloc (slow)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--cli", action="store_true", help="also time the whole kpl plan command (new processes)")
    parser.add_argument("--cold-imports", action="store_true",
                        help="with --cli: compile every module in every run (no bytecode kept between runs)")
    parser.add_argument("--cli-only", action="store_true", help="time only the whole command (implies --cli)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        snapshot = args.snapshot
        if snapshot is None:
            snapshot = Path(folder) / "fleet.json"
            fleet = generate_fleet(FleetShape(args.clusters, args.bindings, args.seed))
            snapshot.write_text(json.dumps(fleet), encoding="utf-8")
        if args.cli_only:
            summary = {"snapshot": str(snapshot), "cli": bench_cli(snapshot, args.repeat, args.cold_imports),
                       "load_average": list(os.getloadavg())}
        else:
            summary = bench(snapshot, args.repeat, args.memory, args.cli, args.cold_imports)
    sys.stdout.write((json.dumps(summary, indent=2) if args.json else _text(summary)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
