"""``kpl export`` and ``kpl import``: kpl next to Karmada's own objects.

Exit codes: 0 done; 1 something could not be exported or imported faithfully (the diagnostics say what and
where; nothing is written); 2 unreadable files, invalid YAML or an unwritable output file.
"""

from __future__ import annotations

from pathlib import Path

import click

from kpl.cli_support import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, render_diagnostics
from kpl.formats import write_output

__all__ = ["export", "import_"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Multi-document YAML, or one JSON `List`.")
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write the objects here.")
@click.option("--builtin", is_flag=True,
              help="Also export the built-in rules of third-party kinds as ResourceInterpreterCustomizations.")
@click.option("--crds", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Validate every object against the CRDs (YAML files) in this folder.")
def export(paths: tuple[Path, ...], fmt: str, output_file: Path | None, builtin: bool, crds: Path | None) -> None:
    """Export .kpl files as Karmada objects: (Cluster)PropagationPolicy, FederatedResourceQuota and
    ResourceInterpreterCustomization with Lua generated from each interpreter rule."""
    from kpl.dsl.diagnostics import sort_diagnostics
    from kpl.engine.export import export_project, load_crd_schemas, render_objects, validate_object
    from kpl.engine.project import load_project

    project = load_project(paths)
    result = export_project(project, builtin=builtin)
    if result.diagnostics:
        click.echo(render_diagnostics(sort_diagnostics(list(result.diagnostics))), err=True)
    if project.io_failed:
        raise SystemExit(EXIT_USAGE)
    if not result.ok:
        raise SystemExit(EXIT_FINDINGS)
    if crds is not None:
        schemas = load_crd_schemas(crds)
        problems = [f"{o['kind']} {o['metadata']['name']}: {p}" for o in result.objects
                    for p in validate_object(o, schemas)]
        if problems:
            click.echo("\n".join(f"kpl: invalid object: {p}" for p in problems), err=True)
            raise SystemExit(EXIT_FINDINGS)
    write_output(render_objects(result.objects, fmt), output_file)
    raise SystemExit(EXIT_OK)


@click.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write the .kpl text here.")
def import_(files: tuple[Path, ...], output_file: Path | None) -> None:
    """Import Karmada YAML (PropagationPolicy, ClusterPropagationPolicy, FederatedResourceQuota,
    ResourceInterpreterCustomization) as formatted .kpl; what kpl cannot express is reported with its line."""
    from kpl.dsl.diagnostics import sort_diagnostics
    from kpl.engine.importer import import_files

    result = import_files(files)
    if result.diagnostics:
        click.echo(render_diagnostics(sort_diagnostics(list(result.diagnostics))), err=True)
    if result.io_failed:
        raise SystemExit(EXIT_USAGE)
    if not result.ok:
        raise SystemExit(EXIT_FINDINGS)
    write_output(result.text, output_file)
    raise SystemExit(EXIT_OK)
