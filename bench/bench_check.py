"""Benchmark ``kpl check`` (load + parse + static checks) on a generated project of about 10,000 lines.

The project mixes placement policies, interpreter rules and quotas, spread over files of about 200 lines,
written to a temporary folder. Two ways of checking it are timed ``--repeat`` times (default 5) each:

- cold: every file parsed (no parse cache), on the idle cores as ``kpl check`` does (a large project's
  files are shared out between this process and forked workers; their CPU time is counted);
- cold, one process: the same with ``jobs=1``;
- warm: parsed modules read from a parse cache filled by one run before timing (a CI cache, or a
  developer's machine after the first check).

The first cold run is reported apart (it builds the parser tables and fills per-process caches); the
medians are the headline numbers. With ``--cli`` the ``kpl check`` command itself is also timed as users
run it, in a new Python process each time (interpreter start and imports included), cold (``--no-cache``)
and warm (``--cache-dir``), plus ``kpl --version`` and ``kpl check`` of a one-file project (start-up
alone). The machine's core count and load average are printed too: on a shared machine, wall and CPU
times can be several times those of an idle one. The target is judged on the median wall time and, apart,
on the median CPU time (which load inflates less).

Usage::

    python bench/bench_check.py
    python bench/bench_check.py --cli
    python bench/bench_check.py --lines 50000 --repeat 3 --json
    python bench/bench_check.py --profile      # cProfile of one cold run, top functions by cumulative time
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpl.engine.check import check_project
from kpl.engine.parse_cache import ParseCache
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


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parse workers), user and system."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def run_check(folder: Path, cache: ParseCache | None = None, jobs: int | None = None) -> CheckRun:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    project = load_project([folder], cache=cache, jobs=jobs)
    context = check_project(project)
    found = len(project.diagnostics) + len(context.diagnostics)
    return CheckRun(time.perf_counter() - wall, _cpu_seconds() - cpu, found)


def run_command(folder: Path | None, options: Sequence[str], bytecode: Path) -> CheckRun:
    """One ``kpl check`` of ``folder`` in a new process (``kpl`` alone without a folder): wall time, and
    the child's CPU time.

    The child keeps compiled bytecode under ``bytecode`` (as an installed kpl has it), even where the
    environment turns bytecode writing off: otherwise every run would time compiling kpl itself."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    before = os.times()
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kpl", *(["check"] if folder else []), *options, *([str(folder)] if folder else [])],
        capture_output=True, text=True,
        check=False, env=env,
    )
    elapsed = time.perf_counter() - wall
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"kpl check failed ({done.returncode}): {done.stderr.strip()}")
    return CheckRun(elapsed, cpu, done.stdout.count("\n"))


def _profile(folder: Path) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(run_check, folder)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def _summary(runs: list[CheckRun]) -> dict[str, float]:
    return {
        "median_wall_s": round(statistics.median(r.wall for r in runs), 4),
        "median_cpu_s": round(statistics.median(r.cpu for r in runs), 4),
        "min_wall_s": round(min(r.wall for r in runs), 4),
    }


def measure(folder: Path, repeat: int, cli: bool) -> dict[str, Any]:
    cold = [run_check(folder) for _ in range(repeat)]
    serial = [run_check(folder, jobs=1) for _ in range(repeat)]
    with tempfile.TemporaryDirectory(prefix="kpl-bench-cache-") as cache_name:
        cache = ParseCache(Path(cache_name))
        run_check(folder, cache)  # fills the cache
        warm = [run_check(folder, cache) for _ in range(repeat)]
        result: dict[str, Any] = {
            "first_wall_s": round(cold[0].wall, 4), "cold": _summary(cold),
            "cold_one_process": _summary(serial), "warm": _summary(warm),
            "diagnostics": cold[-1].diagnostics,
        }
        if cli:
            result.update(_measure_command(folder, repeat, cache_name))
    return result


def _measure_command(folder: Path, repeat: int, cache_name: str) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="kpl-bench-bytecode-") as bytecode_name:
        bytecode = Path(bytecode_name)
        run_command(folder, ["--no-cache"], bytecode)  # compiles kpl's bytecode, untimed
        cold = [run_command(folder, ["--no-cache"], bytecode) for _ in range(repeat)]
        options = ["--cache-dir", cache_name]
        warm = [run_command(folder, options, bytecode) for _ in range(repeat)]
        start = [run_command(None, ["--version"], bytecode) for _ in range(repeat)]
        with tempfile.TemporaryDirectory(prefix="kpl-bench-small-") as small_name:
            small = Path(small_name)
            (small / "one.kpl").write_text(_quota(0), encoding="utf-8")
            tiny = [run_command(small, ["--no-cache"], bytecode) for _ in range(repeat)]
    return {"cli_cold": _summary(cold), "cli_warm": _summary(warm), "cli_start": _summary(start),
            "cli_small": _summary(tiny)}


def _line(label: str, numbers: dict[str, float], lines: int | None) -> str:
    wall = numbers["median_wall_s"]
    text = (f"  {label:<22} median {wall:.3f} s wall, {numbers['median_cpu_s']:.3f} s CPU "
            f"(best {numbers['min_wall_s']:.3f} s)")
    if lines is None:
        return text + "; Python start and imports (and a 4-line file for check)\n"
    verdicts = ", ".join(f"{'met' if numbers[key] < TARGET_SECONDS else 'missed'} by {what}"
                         for key, what in (("median_wall_s", "wall"), ("median_cpu_s", "CPU")))
    return text + f"; {round(lines / wall)} lines/s; target: {verdicts}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000, help="size of the generated project")
    parser.add_argument("--repeat", type=int, default=5, help="how many checks to time in each mode")
    parser.add_argument("--cli", action="store_true", help="also time the kpl check command in new processes")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one cold run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpl-bench-check-") as name:
        folder = Path(name)
        files, lines = generate_project(folder, args.lines)
        result = measure(folder, max(args.repeat, 1), args.cli)
        profile = _profile(folder) if args.profile else ""
    result = {"files": files, "lines": lines, "cores": os.cpu_count(), "repeat": max(args.repeat, 1),
              "load_average": [round(x, 1) for x in os.getloadavg()], "target_s": TARGET_SECONDS, **result}
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(
            f"kpl check: {lines} lines in {files} files, {result['cores']} cores, load average "
            f"{result['load_average'][0]}; first cold run {result['first_wall_s']:.3f} s; "
            f"{result['diagnostics']} diagnostics; target < {TARGET_SECONDS:.0f} s\n"
        )
        labels = {"cold": "in process, cold", "cold_one_process": "cold, one process",
                  "warm": "in process, warm", "cli_cold": "kpl check --no-cache",
                  "cli_warm": "kpl check, warm cache", "cli_start": "kpl --version",
                  "cli_small": "kpl check, one file"}
        for key, label in labels.items():
            if key in result:
                sys.stdout.write(_line(label, result[key], None if key in ("cli_start", "cli_small") else lines))
    sys.stdout.write(profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
