"""The ``kpl`` command line: a thin layer that reads files, calls the library, prints and exits.

Exit codes: 0 clean; 1 policy errors or findings (failed checks, failed conformance cases, evaluation
errors, formatting needed with ``--check``); 2 usage or I/O errors (unreadable file, bad YAML);
3 ``kpl plan --detailed-exitcode`` when the plan has changes; 4 an internal error (a bug: please report).
Results go to stdout, logs to stderr.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from kpl import __version__
from kpl.cli_support import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    QUICK_EXIT,
    configure_logging,
    quick_exit,
    render_diagnostics,
)
from kpl.formats import OUTPUT_FORMATS, write_output

__all__ = ["LazyGroup", "main"]

# Commands in their own modules, imported only when run (or listed by --help): ``kpl check`` then never
# pays for the plan graph, reports, YAML or XML.
LAZY_COMMANDS = {
    "plan": "kpl.plan_command:plan",
    "export": "kpl.export_command:export",
    "import": "kpl.export_command:import_",
    "test": "kpl.test_command:test",
    "graph": "kpl.graph_command:graph",
}


class LazyGroup(click.Group):
    """A command group whose commands named in ``LAZY_COMMANDS`` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY_COMMANDS:
            return found
        module_name, attribute = LAZY_COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{LAZY_COMMANDS[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kpl")
@click.option("--logging-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log line format on stderr (json: one object per line with ts, logger, level, msg).")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors in the log.")
@click.option("--limit", "limits", multiple=True, metavar="KEY=VALUE",
              help="Change an input limit (repeatable; see docs/limits.md). KPL_LIMITS sets them too.")
@click.pass_context
def cli(ctx: click.Context, logging_format: str, verbose: int, quiet: bool, limits: tuple[str, ...]) -> None:
    """kpl, the Karmada Policy Language: author, validate and dry-run Karmada policies and interpreter rules."""
    import os

    from kpl.engine.limits import LimitsError, limits_from_env, parse_limits, using_limits

    configure_logging(logging_format, verbose, quiet)
    try:
        chosen = parse_limits(list(limits), limits_from_env(os.environ))
    except LimitsError as error:
        raise click.BadParameter(str(error), param_hint="--limit") from None
    ctx.with_resource(using_limits(chosen))


def _parse_cache(folder: Path | None) -> Any:
    """The parse cache under ``folder`` or the user's cache folder (None when there is no home)."""
    import os

    from kpl.engine.parse_cache import ParseCache, default_cache_folder

    if folder is None:
        try:
            folder = default_cache_folder(os.environ, Path.home())
        except (RuntimeError, KeyError):
            return None
    return ParseCache(folder)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--snapshot", type=click.Path(path_type=Path), help="Also check facts about this fleet snapshot.")
@click.option("--fail-on-warn", is_flag=True, help="Exit 1 on warnings too.")
@click.option("-o", "--output", "fmt", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True)
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write results here.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep parsed files here [default: $XDG_CACHE_HOME/kpl or ~/.cache/kpl].")
@click.option("--no-cache", is_flag=True, help="Parse every file again; read and write no cache.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Parse on up to this many processes [default: the idle cores, for large projects].")
def check(paths: tuple[Path, ...], snapshot: Path | None, fail_on_warn: bool, fmt: str,
          output_file: Path | None, cache_dir: Path | None, no_cache: bool, jobs: int | None) -> None:
    """Parse and statically check .kpl files and folders."""
    from kpl.dsl.diagnostics import Severity, sort_diagnostics
    from kpl.engine.check import check_project
    from kpl.engine.project import load_project

    project = load_project(paths, cache=None if no_cache else _parse_cache(cache_dir), jobs=jobs)
    ctx = check_project(project)
    diagnostics = [*project.diagnostics, *ctx.diagnostics]
    if snapshot is not None:
        from kpl.engine.fleet_check import check_fleet

        diagnostics.extend(check_fleet(ctx, snapshot))
    diagnostics = sort_diagnostics(diagnostics)
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    files = len(project.modules)
    if fmt == "json":
        from kpl.dsl.diagnostics import diagnostic_to_json

        found = {"files": files, "errors": errors, "warnings": warnings,
                 "diagnostics": [diagnostic_to_json(d) for d in diagnostics]}
        write_output(json.dumps(found, indent=2), output_file)
    elif fmt == "text":
        text = render_diagnostics(diagnostics)
        summary = f"checked {files} file(s): {errors} error(s), {warnings} warning(s)"
        write_output(f"{text}\n{summary}" if text else summary, output_file)
    else:
        from kpl.formats import render_diagnostics_as

        names = [m.source.name for m in project.modules]
        write_output(render_diagnostics_as(fmt, diagnostics, names, fail_on_warn=fail_on_warn), output_file)
    io_failed = project.io_failed or any(d.code.startswith(("io.", "snapshot.")) for d in diagnostics)
    if io_failed:
        raise SystemExit(EXIT_USAGE)
    if errors or (fail_on_warn and warnings):
        raise SystemExit(EXIT_FINDINGS)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 and show a diff if a file would change.")
@click.option("--diff", is_flag=True, help="Write nothing; show what would change.")
def fmt(paths: tuple[Path, ...], check_only: bool, diff: bool) -> None:
    """Format .kpl files in place (atomically, only when they change)."""
    from kpl.cli_support import format_paths

    raise SystemExit(format_paths(paths, check_only=check_only, show_diff=diff))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "fmt", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True)
@click.option("--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write results here.")
@click.option("--show", default=10, show_default=True, help="How many failures to show in detail.")
def conformance(paths: tuple[Path, ...], fmt: str, output_file: Path | None, show: int) -> None:
    """Run Karmada conformance data (interpreter test files and vector files) against kpl."""
    from kpl.cli_support import render_conformance
    from kpl.engine.conformance.runner import run_paths

    base = _common_base(paths)
    summary = run_paths(paths, base=base)
    if fmt == "json":
        write_output(json.dumps(summary.to_json(), indent=2), output_file)
    elif fmt == "text":
        write_output(render_conformance(summary, show), output_file)
    else:
        from kpl.formats import case_records, rebase_records, render_cases

        records = rebase_records(case_records(summary.results, summary.load_errors), base)
        text = render_cases(fmt, records, tool="kpl-conformance", title="Karmada conformance")
        write_output(text, output_file)
    raise SystemExit(EXIT_OK if summary.ok else EXIT_FINDINGS)


def _common_base(paths: tuple[Path, ...]) -> Path | None:
    resolved = [p.resolve() for p in paths]
    parents = [p if p.is_dir() else p.parent for p in resolved]
    try:
        import os

        return Path(os.path.commonpath([str(p) for p in parents]))
    except ValueError:
        return None


@cli.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option("--operation", required=True, type=click.Choice(
    ["InterpretReplica", "InterpretComponent", "ReviseReplica", "InterpretHealth", "InterpretDependency",
     "InterpretStatus", "AggregateStatus", "Retain"]), help="The interpreter operation to run.")
@click.option("--desired-file", type=click.Path(allow_dash=True, path_type=Path), help="Desired object (- for stdin).")
@click.option("--observed-file", type=click.Path(allow_dash=True, path_type=Path), help="Observed object.")
@click.option("--status-file", type=click.Path(allow_dash=True, path_type=Path), help="Aggregated status items.")
@click.option("--desired-replica", type=int, help="Desired replicas for ReviseReplica.")
@click.option("--expect", type=click.Path(path_type=Path), help="Expected output (YAML); exit 1 when it differs.")
def interpret(rules: tuple[Path, ...], operation: str, desired_file: Path | None, observed_file: Path | None,
              status_file: Path | None, desired_replica: int | None, expect: Path | None) -> None:
    """Run one interpreter operation on an object, like `karmadactl interpret`."""
    from kpl.cli_support import run_interpret

    raise SystemExit(run_interpret(rules, operation, desired_file, observed_file, status_file, desired_replica, expect))


def main(argv: list[str] | None = None) -> int:
    """Entry point: never lets a Python traceback reach the user.

    Run as the program (``argv`` None), a command that marked its work done (:func:`allow_quick_exit`) ends
    the process as soon as its output is flushed, without the interpreter's last collection and teardown."""
    marks: dict[str, object] = {}
    code = _run(argv, marks)
    if argv is None and QUICK_EXIT in marks:
        quick_exit(code)
    return code


def _run(argv: list[str] | None, marks: dict[str, object]) -> int:
    try:
        cli.main(args=argv, prog_name="kpl", standalone_mode=False, obj=marks)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_USAGE
    except SystemExit as done:
        return int(done.code) if isinstance(done.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except RecursionError:
        click.echo("kpl: error: input is nested too deeply", err=True)
        return EXIT_USAGE
    except Exception as error:
        click.echo(f"kpl: internal error: {type(error).__name__}: {error} (please report this)", err=True)
        return EXIT_INTERNAL
    return EXIT_OK


def _unused(*_: Any) -> None:
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
