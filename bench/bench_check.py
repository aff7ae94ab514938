"""Benchmark ``kpl check`` (load + parse + static checks) on a generated project of about 10,000 lines.

The project mixes placement policies, interpreter rules and quotas, spread over files of about 200 lines,
written to a temporary folder. The check runs ``--repeat`` times (default 5) in this process; the first run
is reported apart (it builds the parser tables and fills the per-process caches) and the median of all
runs is the headline number, with the CPU core count and lines per second.

Usage::

    python bench/bench_check.py
    python bench/bench_check.py --lines 50000 --repeat 3 --json
    python bench/bench_check.py --profile      # cProfile of one run, top functions by cumulative time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kpl.engine.check import check_project
from kpl.engine.project import load_project

__all__ = ["CheckRun", "generate_project", "main", "run_check"]

TARGET_SECONDS = 1.0
LINES_PER_FILE = 200


def _policy(index: int) -> str:
    return f"""# Placement for service {index}.
policy service-{index} in namespace team-{index % 20} {{
  select apps/v1 Deployment named service-{index} where labels.app == "service-{index}"
  priority {index % 1000}
  clusters where region in ["eu-west", "us-east"] and labels["tier"] != "legacy"
  exclude member-{3 + index % 5}
  tolerate dedicated = batch : NoSchedule for 5m
  spread by region min 1 max 2
  spread by cluster min 2 max 4
  replicas divided static {{ member-1: 2, member-2: 1 }}
  failover application {{
    purge gracefully
    grace 120s
  }}
}}
"""


def _interpreter(index: int) -> str:
    return f"""# Interpreter rules for a custom kind.
interpreter example{index}.io/v1 Widget{index} {{
  let wanted = .spec.replicas ?? 1
  fn per_slot(n) = ceil(n / int(.spec.slots ?? 1))
  replicas = per_slot(wanted)
  requirements = {{ cpu: .spec.resources.cpu ?? 500m, memory: .spec.resources.memory ?? 1Gi }}
  health = .status.phase in ["Running", "Succeeded"] and (.status.ready ?? 0) >= wanted
  status = {{ ready: .status.ready ?? 0, phase: .status.phase }}
  component workers {{
    replicas = sum(g.count for g in .spec.groups if g.enabled ?? true)
    requirements = {{ cpu: 1, memory: 2Gi }}
  }}
}}
"""


def _quota(index: int) -> str:
    return f"""quota team-{index} in namespace team-{index} {{
  overall {{ cpu = {10 + index % 90}, memory = {index % 64 + 1}Gi, pods = 500 }}
  assign member-1 {{ cpu = 4, memory = 8Gi }}
}}
"""


_MAKERS = (_policy, _interpreter, _policy, _quota)


def generate_project(folder: Path, lines: int) -> tuple[int, int]:
    """Write ``.kpl`` files totalling about ``lines`` lines; returns (files, lines written)."""
    written = files = index = 0
    chunk: list[str] = []
    chunk_lines = 0
    while written < lines:
        text = _MAKERS[index % len(_MAKERS)](index)
        chunk.append(text)
        count = text.count("\n") + 1
        chunk_lines += count
        written += count
        index += 1
        if chunk_lines >= LINES_PER_FILE or written >= lines:
            (folder / f"part-{files:04d}.kpl").write_text("\n".join(chunk), encoding="utf-8")
            files += 1
            chunk, chunk_lines = [], 0
    return files, written


@dataclass(frozen=True, slots=True)
class CheckRun:
    wall: float
    cpu: float
    diagnostics: int


def run_check(folder: Path) -> CheckRun:
    wall, cpu = time.perf_counter(), time.process_time()
    project = load_project([folder])
    context = check_project(project)
    found = len(project.diagnostics) + len(context.diagnostics)
    return CheckRun(time.perf_counter() - wall, time.process_time() - cpu, found)


def _profile(folder: Path) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(run_check, folder)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000, help="size of the generated project")
    parser.add_argument("--repeat", type=int, default=5, help="how many checks to time")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one (warm) run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpl-bench-check-") as name:
        folder = Path(name)
        files, lines = generate_project(folder, args.lines)
        runs = [run_check(folder) for _ in range(max(args.repeat, 1))]
        profile = _profile(folder) if args.profile else ""
    median_wall = statistics.median(r.wall for r in runs)
    result = {
        "files": files, "lines": lines, "cores": os.cpu_count(), "repeat": len(runs),
        "first_wall_s": round(runs[0].wall, 4), "median_wall_s": round(median_wall, 4),
        "median_cpu_s": round(statistics.median(r.cpu for r in runs), 4),
        "lines_per_s": round(lines / median_wall), "diagnostics": runs[-1].diagnostics,
        "target_s": TARGET_SECONDS, "within_target": median_wall < TARGET_SECONDS,
    }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(
            f"kpl check: {lines} lines in {files} files, {result['cores']} cores\n"
            f"  first run {result['first_wall_s']:.3f} s; median of {len(runs)}: {median_wall:.3f} s wall, "
            f"{result['median_cpu_s']:.3f} s CPU; {result['lines_per_s']} lines/s; "
            f"{result['diagnostics']} diagnostics; target < {TARGET_SECONDS:.0f} s: "
            f"{'met' if result['within_target'] else 'missed'}\n"
        )
    sys.stdout.write(profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
