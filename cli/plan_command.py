"""``kpl plan``: a dry run of Karmada's detector and scheduler over a fleet snapshot.

Exit codes: 0 every binding scheduled (or kept); 1 some binding failed or the policies have errors;
2 unreadable files, invalid YAML or a bad ``--feature-gates`` value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kpl.cli_support import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, emit, render_diagnostics

if TYPE_CHECKING:
    from kpl.engine.plan import PlanInputs

__all__ = ["plan"]


def _gates(text: str | None) -> object:
    from kpl.engine.features import FeatureGateError, FeatureGates

    try:
        return FeatureGates.parse(text or "")
    except FeatureGateError as error:
        raise click.BadParameter(str(error), param_hint="--feature-gates") from None


def _render(report: object, fmt: str, to_file: bool) -> str:
    from kpl.engine.report import PlacementReport, render_json, render_markdown, render_text

    assert isinstance(report, PlacementReport)
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    color = not to_file and sys.stdout.isatty()
    return render_text(report, color=color)


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


def _write(text: str, output_file: Path | None) -> None:
    if output_file is None:
        emit(text.rstrip("\n"))
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"kpl: error: cannot write `{output_file}`: {error.strerror or error}", err=True)
        raise SystemExit(EXIT_USAGE) from None


@click.command()
@click.argument("policies", nargs=-1, type=click.Path(path_type=Path))
@click.option("--snapshot", "snapshots", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Fleet snapshot: kubectl YAML/JSON files or folders (repeatable).")
@click.option("--feature-gates", "feature_gates", metavar="A=true,B=false",
              help="Karmada feature gates that change results (e.g. MultiplePodTemplatesScheduling=true).")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
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
def plan(policies: tuple[Path, ...], snapshots: tuple[Path, ...], feature_gates: str | None, fmt: str,
         output_file: Path | None, fail: tuple[str, ...], watch: bool, interval: float, simulate: bool,
         max_cycles: int | None) -> None:
    """Show where Karmada would place every workload, and why.

    POLICIES are .kpl files, PropagationPolicy YAML, or folders of them; they are matched against the
    snapshot's workloads. Without POLICIES the snapshot's ResourceBindings are scheduled by their own
    placement, as karmada-scheduler would.
    """
    from kpl.dsl.diagnostics import Severity, sort_diagnostics
    from kpl.engine.features import FeatureGates
    from kpl.engine.plan import Plan, load_plan_inputs

    gates = _gates(feature_gates)
    assert isinstance(gates, FeatureGates)
    loaded = load_plan_inputs(policies, snapshots, gates)
    shown = [d for d in sort_diagnostics(loaded.diagnostics) if d.severity is not Severity.INFO]
    if shown:
        click.echo(render_diagnostics(shown), err=True)
    if loaded.io_failed:
        raise SystemExit(EXIT_USAGE)
    inputs = replace(_with_failures(loaded.inputs, fail), simulate=simulate)
    compiled = Plan.compile(inputs)
    report = compiled.evaluate()
    _write(_render(report, fmt, output_file is not None), output_file)
    if watch:
        def reload() -> object:
            return load_plan_inputs(policies, snapshots, gates)
        _watch(compiled, report, [*policies, *snapshots], reload, interval, max_cycles)
        raise SystemExit(EXIT_OK)
    raise SystemExit(EXIT_OK if report.ok and not loaded.policy_errors else EXIT_FINDINGS)
