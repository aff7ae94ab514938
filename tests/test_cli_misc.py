"""The CLI around the library: interpret, conformance JSON, logging format, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kpl.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
FLINK = {
    "apiVersion": "flink.apache.org/v1beta1",
    "kind": "FlinkDeployment",
    "metadata": {"name": "fraud", "namespace": "streaming"},
    "spec": {
        "jobManager": {"replicas": 1, "resource": {"cpu": 1, "memory": "1024m"}},
        "taskManager": {"replicas": 1, "resource": {"cpu": 2, "memory": "2048m"}},
    },
}


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_interpret_flink_components(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desired = _write(tmp_path / "flink.yaml", FLINK)
    code = main(["interpret", "--operation", "InterpretComponent", "--desired-file", str(desired)])
    out = yaml.safe_load(capsys.readouterr().out)
    assert code == 0
    assert out["components"] == [
        {"name": "jobmanager", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": 1, "memory": 1.024}}},
        {"name": "taskmanager", "replicas": 1, "replicaRequirements": {"resourceRequest": {"cpu": 2, "memory": 2.048}}},
    ]


def test_interpret_checks_expected_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desired = _write(tmp_path / "flink.yaml", FLINK)
    wrong = _write(tmp_path / "expect.yaml", {"output": {"replica": 3}})
    right = _write(tmp_path / "right.yaml", {"output": {"replica": 2}})
    args = ["interpret", "--operation", "InterpretReplica", "--desired-file", str(desired), "--expect"]
    assert main([*args, str(right)]) == 0
    assert main([*args, str(wrong)]) == 1
    assert "expected output differs" in capsys.readouterr().err


def test_interpret_user_rule_overrides_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = tmp_path / "rule.kpl"
    rule.write_text("interpreter flink.apache.org/v1beta1 FlinkDeployment { replicas = 1 / 0 }\n")
    desired = _write(tmp_path / "flink.yaml", FLINK)
    code = main(["interpret", str(rule), "--operation", "InterpretReplica", "--desired-file", str(desired)])
    err = capsys.readouterr().err
    assert code == 1
    assert "division by zero" in err and "fraud" in err and "Traceback" not in err
    assert f"{rule}:1:67: error[interpret.failed]" in err
    assert err.rstrip().endswith("^^^^^")


def test_interpret_bad_yaml_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    assert main(["interpret", "--operation", "InterpretReplica", "--desired-file", str(bad)]) == 2
    assert "bad.yaml:" in capsys.readouterr().err


@pytest.mark.skipif(not DATA.is_dir(), reason="no Karmada conformance data beside the checkout")
def test_conformance_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "interpreter" / "apps.kruise.io" / "v1alpha1" / "CloneSet"
    assert main(["conformance", str(path), "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"total", "passed", "failed", "errored", "excluded", "by_operation", "failures"} <= set(report)
    assert report["total"] == report["passed"] == 12
    assert all(isinstance(v, int) for row in report["by_operation"].values() for v in row.values())


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-such-option", "x"]) == 2


def test_logging_json_lines_on_stderr(tmp_path: Path) -> None:
    source = tmp_path / "a.kpl"
    source.write_text("policy p{select v1 Pod}\n")
    run = subprocess.run(
        [sys.executable, "-m", "kpl", "--logging-format", "json", "-v", "fmt", str(source)],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert records, run.stderr
    assert list(records[0])[:4] == ["ts", "logger", "level", "msg"]
    assert records[0]["logger"] == "kpl" and records[0]["level"] == "info"
    assert records[0]["msg"] == "formatted"


def test_fmt_keeps_a_byte_order_mark(tmp_path: Path) -> None:
    source = tmp_path / "bom.kpl"
    source.write_bytes(b"\xef\xbb\xbfpolicy p{select v1 Pod}\n")
    assert main(["fmt", str(source)]) == 0
    assert source.read_bytes() == b"\xef\xbb\xbfpolicy p {\n  select v1 Pod\n}\n"
    assert main(["fmt", "--check", str(source)]) == 0
