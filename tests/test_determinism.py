"""Determinism: the same input gives byte-identical output across runs, hash seeds and input order."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpl.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "conformance" / "karmada"
FLEET = REPO / "examples" / "fleet"
SEEDS = ("0", "1", "987654")

COMMANDS = {
    "check": ["check", "-o", "json", "examples/fleet/policies", "rules/apps"],
    "plan": ["plan", "examples/fleet/policies", "--snapshot", "examples/fleet/snapshot", "-o", "json"],
    "conformance": ["conformance", "-o", "json", str(SHARED / "vectors" / "division.yaml"),
                    str(SHARED / "vectors" / "quota.yaml")],
}


def _runs(args: list[str]) -> list[subprocess.CompletedProcess[bytes]]:
    """``kpl ARGS`` once per hash seed, the processes side by side."""
    started = []
    for seed in SEEDS:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        started.append(subprocess.Popen([sys.executable, "-m", "kpl", *args], cwd=REPO, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    done = []
    for process, args_ in zip(started, [args] * len(started), strict=True):
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(args_, process.returncode, out, err))
    return done


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_is_identical_across_hash_seeds(command: str) -> None:
    if command == "conformance" and not SHARED.is_dir():
        pytest.skip("the shared conformance data is not beside the repository")
    runs = _runs(COMMANDS[command])
    assert runs[0].stdout, runs[0].stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in runs[0].stderr
    for other in runs[1:]:
        assert other.returncode == runs[0].returncode
        assert other.stdout == runs[0].stdout


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_plan_does_not_depend_on_the_order_of_snapshot_files() -> None:
    files = sorted(str(p) for p in (FLEET / "snapshot").glob("*.yaml"))
    policies = sorted(str(p) for p in (FLEET / "policies").glob("*.kpl"))
    outputs = set()
    for order in (files, files[::-1], files[1:] + files[:1]):
        for given in (policies, policies[::-1]):
            snapshot_args = [a for f in order for a in ("--snapshot", f)]
            code, out, err = run(["plan", *given, *snapshot_args, "-o", "json"])
            assert code in (0, 1), err
            outputs.add(out)
    assert len(outputs) == 1


def test_check_does_not_depend_on_the_order_of_files() -> None:
    files = sorted(str(p) for p in (REPO / "rules" / "apps").rglob("*.kpl"))
    first = run(["check", "-o", "json", *files])
    assert run(["check", "-o", "json", *files[::-1]]) == first


def test_diagnostics_do_not_depend_on_the_order_of_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: Cluster\nmetadata: {name: 1}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("kind: [\n", encoding="utf-8")
    (tmp_path / "c.json").write_text("{", encoding="utf-8")
    names = [str(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.json")]
    outputs = {run(["plan", *(a for n in order for a in ("--snapshot", n))])
               for order in (names, names[::-1])}
    assert len(outputs) == 1
    code, _, err = outputs.pop()
    assert code == 2 and all(n in err for n in names)
