"""``kpl plan``: a dry run of Karmada's detector and scheduler over a fleet snapshot.

Exit codes: 0 every binding scheduled (or kept); 1 some binding failed or the policies have errors;
2 unreadable files, invalid YAML or a bad ``--feature-gates`` value; 3 with ``--detailed-exitcode`` when
the plan changes something (against ``--baseline``/``--baseline-snapshot``, or the bindings' current result).
With ``--fail-each`` the codes are the base plan's, and 4 when a failure scenario could not be computed.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from kpl.cli_support import (
    EXIT_CHANGES,
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    allow_quick_exit,
    emit,
    render_diagnostics,
)
from kpl.formats import write_output

if TYPE_CHECKING:
    from kpl.engine.plan import PlanInputs

__all__ = ["COLLECTOR_THRESHOLD", "load_quietly", "plan"]

_T = TypeVar("_T")


COLLECTOR_THRESHOLD = (50_000, 20, 20)
"""Allocations between young collections while a plan is evaluated (Python's default is 700)."""


def load_quietly(load: Callable[[], _T]) -> _T:
    """Run ``load``, then freeze what it built (the inputs live until the command ends, so the cyclic garbage
    collector need not walk them again) and collect young objects less often from then on."""
    loaded = load()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLD)
    return loaded


def _gates(text: str | None) -> object:
    from kpl.engine.features import FeatureGateError, FeatureGates

    try:
        return FeatureGates.parse(text or "")
    except FeatureGateError as error:
        raise click.BadParameter(str(error), param_hint="--feature-gates") from None


def _write(report: object, fmt: str, output_file: Path | None,
           paths: tuple[tuple[Path, ...], tuple[Path, ...]]) -> None:
    from kpl.engine.report import PlacementReport
    from kpl.plan_output import write_plan

    assert isinstance(report, PlacementReport)
    color = output_file is None and sys.stdout.isatty()
    write_plan(report, fmt, output_file, color=color, policy_paths=paths[0], snapshot_paths=paths[1])


def _with_diff(report: object, baseline: tuple[Path, ...], baseline_snapshots: tuple[Path, ...],
               inputs: tuple[tuple[Path, ...], tuple[Path, ...]], gates: object) -> object:
    """The report with its diff against the baseline plan (old policies and/or an older snapshot)."""
    from dataclasses import replace

    from kpl.engine.features import FeatureGates
    from kpl.engine.plan import Plan, load_plan_inputs
    from kpl.engine.plan_diff import diff_reports
    from kpl.engine.report import PlacementReport

    assert isinstance(report, PlacementReport) and isinstance(gates, FeatureGates)
    if not baseline and not baseline_snapshots:
        return report
    loaded = load_plan_inputs(baseline or inputs[0], baseline_snapshots or inputs[1], gates)
    problems = [d for d in loaded.diagnostics if d.is_error]
    if problems:
        click.echo("baseline: " + render_diagnostics(problems), err=True)
    if loaded.io_failed:
        raise SystemExit(EXIT_USAGE)
    return replace(report, diff=diff_reports(Plan.compile(loaded.inputs).evaluate(), report))


def _exit_code(report: object, policy_errors: bool, detailed: bool) -> int:
    from kpl.engine.plan_diff import diff_against_current
    from kpl.engine.report import PlacementReport

    assert isinstance(report, PlacementReport)
    if not report.ok or policy_errors:
        return EXIT_FINDINGS
    changes = report.diff if report.diff is not None else diff_against_current(report)
    return EXIT_CHANGES if detailed and changes.has_changes else EXIT_OK


def _with_failures(inputs: PlanInputs, fail: tuple[str, ...]) -> PlanInputs:
    known = {str((c.get("metadata") or {}).get("name") or "") for c in inputs.clusters}
    unknown = [name for name in fail if name not in known]
    if unknown:
        click.echo(f"kpl: error: --fail names unknown cluster(s): {', '.join(unknown)}; the snapshot has "
                   f"{', '.join(sorted(known)) or 'none'}", err=True)
        raise SystemExit(EXIT_USAGE)
    return replace(inputs, failed_clusters=tuple(dict.fromkeys(fail)))


def _watch(compiled: object, report: object, paths: list[Path], load: Callable[[], object], interval: float,
           max_cycles: int | None) -> None:
    from kpl.engine.plan import LoadedInputs, Plan
    from kpl.engine.plan_watch import watch
    from kpl.engine.report import PlacementReport

    assert isinstance(compiled, Plan) and isinstance(report, PlacementReport)

    def loaded() -> LoadedInputs:
        found = load()
        assert isinstance(found, LoadedInputs)
        return found

    click.echo(f"watching {len(paths)} path(s); Ctrl-C stops", err=True)
    try:
        watch(compiled, report, paths, loaded, emit, interval=interval, max_cycles=max_cycles)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


_SWEEP_FORMATS = ("text", "json", "markdown")
_EXIT_INTERRUPTED = 130


def _check_sweep_options(fail_each: bool, jobs: int | None, fmt: str, others: dict[str, object]) -> None:
    if not fail_each:
        if jobs is not None:
            raise click.UsageError("--jobs goes with --fail-each")
        return
    if fmt not in _SWEEP_FORMATS:
        raise click.UsageError(f"--fail-each writes {', '.join(_SWEEP_FORMATS)}, not {fmt}")
    given = [name for name, value in others.items() if value]
    if given:
        raise click.UsageError(f"--fail-each does not combine with {', '.join(given)}")


def _fail_each(compiled: object, fmt: str, output_file: Path | None, jobs: int | None) -> tuple[object, bool]:
    """Sweep every cluster's failure; the base report, and whether a scenario could not be computed."""
    from kpl.engine.plan import Plan
    from kpl.engine.plan_sweep import prepare_sweep
    from kpl.engine.plan_sweep_report import render_sweep
    from kpl.engine.plan_sweep_run import run_sweep

    assert isinstance(compiled, Plan)
    prepared = prepare_sweep(compiled)
    try:
        sweep = run_sweep(prepared, jobs)
    except KeyboardInterrupt:
        click.echo("interrupted: the failure sweep's workers are stopped", err=True)
        raise SystemExit(_EXIT_INTERRUPTED) from None
    write_output(render_sweep(sweep, fmt), output_file)
    broken = [found for found in sweep.scenarios if found.error is not None]
    for found in broken:
        click.echo(f"kpl: error: the failure of {found.cluster}: {found.error} (please report this)", err=True)
    return prepared.report, bool(broken)


@click.command()
@click.argument("policies", nargs=-1, type=click.Path(path_type=Path))
@click.option("--snapshot", "snapshots", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Fleet snapshot: kubectl YAML/JSON files or folders (repeatable).")
@click.option("--feature-gates", "feature_gates", metavar="A=true,B=false",
              help="Karmada feature gates that change results (e.g. MultiplePodTemplatesScheduling=true).")
@click.option("-o", "--output", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "markdown", "html", "sarif", "junit", "github"]),
              help="html: one self-contained page; sarif, junit, github: the plan's findings for CI.")
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--fail", "fail", multiple=True, metavar="CLUSTER",
              help="Simulate this cluster's failure: eviction, rescheduling, preserved state (repeatable).")
@click.option("--watch", is_flag=True, help="Keep watching the inputs; re-plan on a change, show what moved.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between two looks at the files with --watch.")
@click.option("--simulate", is_flag=True,
              help="Also schedule the bindings one after another, each taking capacity, and show what no "
                   "longer fits and which clusters the plan overcommits.")
@click.option("--max-cycles", type=int, hidden=True, help="Stop --watch after this many looks (for tests).")
@click.option("--baseline", "baseline", multiple=True, type=click.Path(path_type=Path),
              help="The policies to compare with (repeatable): which bindings change, like terraform plan.")
@click.option("--baseline-snapshot", "baseline_snapshots", multiple=True, type=click.Path(path_type=Path),
              help="The snapshot to compare with (repeatable); alone or with --baseline.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 3 when the plan changes something (and nothing fails), 0 when nothing changes.")
@click.option("--fail-each", "fail_each", is_flag=True,
              help="Fail each cluster in turn (one --fail scenario per cluster, in parallel) and summarise the "
                   "worst outcomes: replicas lost and moved, bindings displaced, quota denials, state labels.")
@click.option("--jobs", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for --fail-each (default: the CPUs available).")
def plan(policies: tuple[Path, ...], snapshots: tuple[Path, ...], feature_gates: str | None, fmt: str,
         output_file: Path | None, fail: tuple[str, ...], watch: bool, interval: float, simulate: bool,
         max_cycles: int | None, baseline: tuple[Path, ...], baseline_snapshots: tuple[Path, ...],
         detailed_exitcode: bool, fail_each: bool, jobs: int | None) -> None:
    """Show where Karmada would place every workload, and why.

    POLICIES are .kpl files, PropagationPolicy YAML, or folders of them; they are matched against the
    snapshot's workloads. Without POLICIES the snapshot's ResourceBindings are scheduled by their own
    placement, as karmada-scheduler would.
    """
    from kpl.dsl.diagnostics import Severity, sort_diagnostics
    from kpl.engine.features import FeatureGates
    from kpl.engine.plan import Plan, load_plan_inputs

    _check_sweep_options(fail_each, jobs, fmt, {"--fail": fail, "--watch": watch, "--simulate": simulate,
                                                 "--baseline": baseline, "--baseline-snapshot": baseline_snapshots})
    gates = _gates(feature_gates)
    assert isinstance(gates, FeatureGates)
    loaded = load_quietly(lambda: load_plan_inputs(policies, snapshots, gates))
    shown = [d for d in sort_diagnostics(loaded.diagnostics) if d.severity is not Severity.INFO]
    if shown:
        click.echo(render_diagnostics(shown), err=True)
    if loaded.io_failed:
        raise SystemExit(EXIT_USAGE)
    inputs = replace(_with_failures(loaded.inputs, fail), simulate=simulate)
    compiled = Plan.compile(inputs)
    if fail_each:
        base, broken = _fail_each(compiled, fmt, output_file, jobs)
        raise SystemExit(EXIT_INTERNAL if broken else _exit_code(base, loaded.policy_errors, detailed_exitcode))
    report = _with_diff(compiled.evaluate(), baseline, baseline_snapshots, (policies, snapshots), gates)
    _write(report, fmt, output_file, (policies, snapshots))
    if watch:
        def reload() -> object:
            return load_plan_inputs(policies, snapshots, gates)
        _watch(compiled, report, [*policies, *snapshots], reload, interval, max_cycles)
        raise SystemExit(EXIT_OK)
    code = _exit_code(report, loaded.policy_errors, detailed_exitcode)
    allow_quick_exit(compiled, report, loaded)
    raise SystemExit(code)
