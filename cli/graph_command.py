"""``kpl graph``: the plan graph of ``kpl plan`` (its steps and what each one reads), as DOT or JSON.

Exit codes: 0 the graph was written; 1 the policies have errors (the graph is still written); 2 unreadable
files, invalid YAML or a bad ``--feature-gates`` value.
"""

from __future__ import annotations

from pathlib import Path

import click

from kpl.cli_support import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, emit, render_diagnostics

__all__ = ["graph"]


@click.command()
@click.argument("policies", nargs=-1, type=click.Path(path_type=Path))
@click.option("--snapshot", "snapshots", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Fleet snapshot: kubectl YAML/JSON files or folders (repeatable).")
@click.option("--feature-gates", "feature_gates", metavar="A=true,B=false", help="Karmada feature gates.")
@click.option("--fail", "fail", multiple=True, metavar="CLUSTER",
              help="Include failover steps for this cluster (repeatable).")
@click.option("-o", "--output", "fmt", type=click.Choice(["dot", "json"]), default="dot", show_default=True)
def graph(policies: tuple[Path, ...], snapshots: tuple[Path, ...], feature_gates: str | None,
          fail: tuple[str, ...], fmt: str) -> None:
    """Print the plan graph: one node per step (cluster, policy, workload, match, binding, schedule, quota,
    failover, report) and an edge from each step to the steps that read its result."""
    from dataclasses import replace

    from kpl.dsl.diagnostics import Severity, sort_diagnostics
    from kpl.engine.features import FeatureGateError, FeatureGates
    from kpl.engine.graph_export import render_dot, render_graph_json
    from kpl.engine.plan import Plan, load_plan_inputs

    try:
        gates = FeatureGates.parse(feature_gates or "")
    except FeatureGateError as error:
        raise click.BadParameter(str(error), param_hint="--feature-gates") from None
    loaded = load_plan_inputs(policies, snapshots, gates)
    shown = [d for d in sort_diagnostics(loaded.diagnostics) if d.severity is not Severity.INFO]
    if shown:
        click.echo(render_diagnostics(shown), err=True)
    if loaded.io_failed:
        raise SystemExit(EXIT_USAGE)
    plan = Plan.compile(replace(loaded.inputs, failed_clusters=tuple(dict.fromkeys(fail))))
    emit((render_dot(plan) if fmt == "dot" else render_graph_json(plan)).rstrip("\n"))
    raise SystemExit(EXIT_FINDINGS if loaded.policy_errors else EXIT_OK)
