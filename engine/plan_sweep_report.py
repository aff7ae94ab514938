"""A failure sweep as text, JSON (``formatVersion: 1``, ``kind: FailureSweep``) and markdown.

Every renderer lists the scenarios worst first (see :meth:`ScenarioOutcome.worst_first`), then the totals,
then per scenario what went wrong; the same sweep always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from kpl.engine.plan_sweep import ScenarioOutcome
from kpl.engine.plan_sweep_run import FailureSweep

__all__ = ["render_sweep", "render_sweep_json", "render_sweep_markdown", "render_sweep_text", "scenario_lines"]

_COLUMNS = ("cluster", "bindings", "displaced", "stayed", "moved", "lost", "failures", "quota denials",
            "labels injected", "labels failed")


def _row(found: ScenarioOutcome) -> list[str]:
    if found.error is not None:
        return [found.cluster, *(["?"] * (len(_COLUMNS) - 1))]
    counts = (found.bindings, found.displaced, found.stayed, found.replicas_moved, found.replicas_lost,
              len(found.failures), len(found.quota_denials), len(found.labels_injected), len(found.labels_failed))
    return [found.cluster, *(str(n) for n in counts)]


def _total_row(sweep: FailureSweep) -> list[str]:
    totals = sweep.totals()
    keys = ("displaced", "stayed", "replicasMoved", "replicasLost", "failures", "quotaDenials", "labelsInjected",
            "labelsFailed")
    bindings = sum(s.bindings for s in sweep.scenarios)
    return ["total", str(bindings), *(str(totals[key]) for key in keys)]


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{key}={value}" for key, value in pairs)


def scenario_lines(found: ScenarioOutcome) -> list[str]:
    """What went wrong (or was preserved) in one scenario, one line each; empty when nothing did."""
    if found.error is not None:
        return [f"error: {found.error}"]
    lines = [f"cannot re-place {f.binding}: {f.type}: {f.message}" for f in found.failures]
    lines += [f"quota {d.quota} denies the {d.stage} write of {d.binding}: {d.message}"
              for d in found.quota_denials]
    lines += [f"labels injected into {s.binding} on {s.cluster}: {_labels(s.labels)}"
              for s in found.labels_injected]
    lines += [f"labels not injected into {s.binding}: {s.error}" + (f" ({_labels(s.labels)})" if s.labels else "")
              for s in found.labels_failed]
    return lines


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
            .rstrip() for row in rows]


def render_sweep_text(sweep: FailureSweep) -> str:
    """A table of the scenarios worst first with a total row, then each scenario's details."""
    header = (f"failure sweep: {len(sweep.scenarios)} cluster(s), one failing at a time, worst first "
              f"(most replicas lost, then bindings displaced)")
    lines = [header, "", *_table([list(_COLUMNS), *map(_row, sweep.scenarios), _total_row(sweep)])]
    for found in sweep.scenarios:
        details = scenario_lines(found)
        if details:
            lines += ["", f"{found.cluster}:", *(f"  {line}" for line in details)]
    lines += ["", *(f"assumes {note}" for note in sweep.assumptions)]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_sweep_json(sweep: FailureSweep) -> str:
    """Sorted keys, two-space indent, a final newline."""
    return json.dumps(sweep.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_sweep_markdown(sweep: FailureSweep) -> str:
    """GitHub-flavoured markdown: the scenario table with totals, then each scenario's details."""
    rows = [[f"`{r[0]}`", *r[1:]] for r in map(_row, sweep.scenarios)]
    total = _total_row(sweep)
    lines = ["## kpl plan --fail-each", "", "| " + " | ".join(_COLUMNS) + " |",
             "|" + " --- |" * len(_COLUMNS),
             *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows),
             "| " + " | ".join([f"**{total[0]}**", *total[1:]]) + " |"]
    for found in sweep.scenarios:
        details = scenario_lines(found)
        if details:
            lines += ["", f"### `{found.cluster}`", "", *(f"- {_md_cell(line)}" for line in details)]
    lines += ["", *(f"Assumes {_md_cell(note)}." for note in sweep.assumptions)]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_sweep(sweep: FailureSweep, fmt: str) -> str:
    """``fmt`` is ``text``, ``json`` or ``markdown``."""
    if fmt == "json":
        return render_sweep_json(sweep)
    if fmt == "markdown":
        return render_sweep_markdown(sweep)
    return render_sweep_text(sweep)
