"""Karmada's own test data, run through `kpl conformance`'s runner: the scorecard CI shows.

Runs when ``../shared/conformance/karmada`` exists beside the checkout (CI always has it); otherwise the
tests are skipped with a reason that says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kpl.engine.conformance.runner import Summary, run_paths

DATA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"no Karmada conformance data at {DATA.name}")


def _table(summary: Summary) -> str:
    lines = [f"{'operation':32} {'total':>6} {'passed':>6} {'failed':>6} {'errored':>7} {'excluded':>8}"]
    for op, row in summary.by_operation().items():
        lines.append(f"{op:32} {row['total']:6} {row['passed']:6} {row['failed']:6} {row['errored']:7} "
                     f"{row['excluded']:8}")
    return "\n".join(lines)


def _failures(summary: Summary, limit: int = 15) -> str:
    bad = [r for r in summary.results if r.outcome in ("failed", "errored")]
    return "\n".join(f"{r.file} :: {r.case} [{r.operation}]: {r.message}" for r in bad[:limit])


@pytest.mark.parametrize("part", ["interpreter", "vectors"])
def test_karmada_conformance(part: str, capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_paths([DATA / part], base=DATA)
    with capsys.disabled():
        print(f"\nKarmada conformance: {part}\n{_table(summary)}")
    totals = summary.to_json()
    assert totals["total"] > 0
    assert not summary.load_errors
    assert summary.ok, f"{totals['failed']} failed, {totals['errored']} errored:\n{_failures(summary)}"


def test_interpreter_data_is_complete() -> None:
    """All 564 interpreter cases are counted: none can silently drop out of the scorecard."""
    summary = run_paths([DATA / "interpreter"], base=DATA)
    assert summary.to_json()["total"] == 564


def test_whole_folder_counts_every_case_and_nothing_else() -> None:
    """Pointing at the whole data folder runs interpreter data and vectors; the CRDs beside them are not cases."""
    summary = run_paths([DATA], base=DATA)
    files = {r.file.split("/")[0] for r in summary.results}
    assert files == {"interpreter", "vectors"}
    assert summary.to_json()["total"] == 564 + run_paths([DATA / "vectors"], base=DATA).to_json()["total"]
