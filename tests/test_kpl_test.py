"""`kpl test`: interpreter and placement cases, Karmada's own test-data format, coverage and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from junitparser import Failure, JUnitXml

from kpl.cli import main
from kpl.engine.testing import CoverageRecorder, run_tests
from kpl.formats import case_records

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
STOREFRONT = "shop/storefront-deployment"
DATA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"

RULE = """interpreter example.io/v1 Foo {
  replicas = .spec.size ?? 1
  health = .status.ready == true
  status = {ready: .status.ready}
  component leader { replicas = 1 }
  component workers { replicas = .spec.size }
}
"""


def _foo(**fields: Any) -> dict[str, Any]:
    meta = {"name": "a", "namespace": "ns"}
    return {"apiVersion": "example.io/v1", "kind": "Foo", "metadata": meta, **fields}


def _replica(name: str, size: int, expected: int) -> dict[str, Any]:
    return {"name": name, "operation": "InterpretReplica", "desired": _foo(spec={"size": size}),
            "output": {"replica": expected}}


def _where(name: str, binding: str, **expect: Any) -> dict[str, Any]:
    return {"name": name, "binding": binding, "expect": expect}


def _suite(path: Path, tests: list[Any], **settings: Any) -> Path:
    path.write_text(yaml.safe_dump({**settings, "tests": tests}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "foo.kpl").write_text(RULE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(["test", *args, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------------------------ interpreter cases


def test_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _run([str(EXAMPLES / "tests")], capsys)
    assert code == 0, [c for c in found["cases"] if c["outcome"] != "passed"]
    operations = {c["operation"] for c in found["cases"]}
    assert {"InterpretReplica", "InterpretHealth", "InterpretComponent", "Retain", "Placement"} <= operations


def test_suite_rules_and_wrong_outputs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _suite(project / "foo-test.yaml", [
        _replica("size", 3, 3),
        {"name": "wrong", "operation": "InterpretHealth", "observed": _foo(status={"ready": True}),
         "output": {"healthy": False}},
    ], rules=["rules"])
    code, found = _run(["foo-test.yaml"], capsys)
    assert code == 1
    by_name = {c["case"]: c for c in found["cases"]}
    assert by_name["size"]["outcome"] == "passed"
    assert by_name["wrong"]["outcome"] == "failed"
    assert by_name["wrong"]["message"] == "healthy: expected false, got true"
    assert by_name["wrong"]["line"] == _line_of(project / "foo-test.yaml", "- name: wrong")


@pytest.mark.parametrize(("case", "message"), [
    ({"name": "kind", "operation": "InterpretHealth", "observed": {"apiVersion": "x/v1", "kind": "Nope"},
      "output": {"healthy": True}}, "matches nothing: no rule implements InterpretHealth for x/v1 Nope"),
    ({"name": "op", "operation": "InterpretThings", "desired": _foo(), "output": {}}, "unknown operation"),
    ({"name": "typo", "operation": "InterpretHealth", "observd": _foo(), "output": {}},
     "unknown key(s) `observd`"),
    ({"name": "no object", "operation": "InterpretHealth", "output": {}}, "needs an object"),
    ({"name": "no output", "operation": "InterpretHealth", "observed": _foo()}, "expects nothing"),
    ({"name": "neither"}, "matches nothing"),
])
def test_cases_that_match_nothing_fail(project: Path, capsys: pytest.CaptureFixture[str],
                                       case: dict[str, Any], message: str) -> None:
    _suite(project / "t.yaml", [case], rules=["rules"])
    code, found = _run(["t.yaml"], capsys)
    assert code == 1
    assert found["cases"][0]["outcome"] == "failed"
    assert message in found["cases"][0]["message"]


def test_evaluation_errors_are_errored_cases(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules" / "bad.kpl").write_text("interpreter example.io/v1 Bad { replicas = 1 / 0 }\n")
    case = {"name": "boom", "operation": "InterpretReplica", "desired": {**_foo(), "kind": "Bad"},
            "output": {"replica": 1}}
    _suite(project / "t.yaml", [case], rules=["rules"])
    code, found = _run(["t.yaml"], capsys)
    assert code == 1
    assert found["cases"][0]["outcome"] == "errored" and "division by zero" in found["cases"][0]["message"]


def test_karmada_format_with_global_rules(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    documents = [
        {"name": "ready", "operation": "InterpretHealth", "observedObj": _foo(status={"ready": True}),
         "output": {"healthy": True}},
        {"name": "runs at all", "operation": "InterpretStatus", "observedObj": _foo(status={"ready": True}),
         "output": {}},
    ]
    (project / "health-test.yaml").write_text(yaml.safe_dump_all(documents), encoding="utf-8")
    code, found = _run(["health-test.yaml", "--rules", "rules"], capsys)
    assert code == 0
    assert [c["line"] for c in found["cases"]] == [1, _line_of(project / "health-test.yaml", "---") + 1]
    code, found = _run(["health-test.yaml"], capsys)
    assert code == 1 and "no rule implements" in found["cases"][0]["message"]


@pytest.mark.skipif(not DATA.is_dir(), reason="Karmada conformance data not present")
def test_karmada_interpreter_data_is_accepted_as_is(capsys: pytest.CaptureFixture[str]) -> None:
    folder = DATA / "interpreter" / "apps.kruise.io" / "v1alpha1" / "BroadcastJob"
    code, found = _run([str(folder)], capsys)
    assert code == 0, [c for c in found["cases"] if c["outcome"] != "passed"]
    assert found["total"] >= 10


# ------------------------------------------------------------------------------------ files and exit codes


def test_files_without_cases_fail(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "empty.yaml").write_text("# nothing here\n", encoding="utf-8")
    (project / "other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n", encoding="utf-8")
    code, found = _run(["empty.yaml", "other.yaml"], capsys)
    assert code == 1
    messages = [c["message"] for c in found["cases"]]
    assert any("no test cases" in m for m in messages) and any("matches nothing" in m for m in messages)


def test_unreadable_input_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "broken.yaml").write_text("tests: [\n", encoding="utf-8")
    code, found = _run(["broken.yaml"], capsys)
    assert code == 2 and "invalid YAML" in found["cases"][0]["message"]
    code, _ = _run(["missing.yaml"], capsys)
    assert code == 2
    assert main(["test", "t.yaml", "--threshold", "150"]) == 2


def test_rule_syntax_errors_are_located(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules" / "foo.kpl").write_text("interpreter example.io/v1 Foo { replicas = }\n")
    _suite(project / "t.yaml", [{"name": "x", "operation": "InterpretReplica", "desired": _foo(),
                                 "output": {"replica": 1}}])
    code, found = _run(["t.yaml", "--rules", "rules"], capsys)
    assert code == 1
    first = found["cases"][0]
    assert (first["file"], first["line"], first["outcome"]) == ("rules/foo.kpl", 1, "errored")


# ------------------------------------------------------------------------------------ coverage


def test_coverage_counts_members_and_threshold(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _suite(project / "t.yaml", [
        _replica("size", 3, 3),
        {"name": "components", "operation": "InterpretComponent", "desired": _foo(spec={"size": 2}),
         "output": {"components": [{"name": "leader", "replicas": 1}, {"name": "workers", "replicas": 2}]}},
    ])
    code, found = _run(["t.yaml", "--rules", "rules"], capsys)
    assert code == 0
    rule = next(r for r in found["coverage"]["rules"] if r["kind"] == "Foo")
    assert rule["user"] is True
    assert rule["covered"] == ["replicas", "component leader", "component workers"]
    assert rule["missed"] == ["health", "status"]
    assert found["coverage"]["user"] == 60.0
    assert main(["test", "t.yaml", "--rules", "rules", "--threshold", "60"]) == 0
    capsys.readouterr()
    assert main(["test", "t.yaml", "--rules", "rules", "--threshold", "61"]) == 1
    out = capsys.readouterr().out
    assert "below the threshold of 61%" in out and "Foo.health" in out


def test_unexercised_user_rules_count_and_builtins_only_when_used(project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules" / "bar.kpl").write_text("interpreter example.io/v1 Bar { replicas = 2 }\n")
    result = run_tests([EXAMPLES / "tests" / "interpreter.yaml"], [project / "rules"])
    kinds = {(r.kind, r.user): r for r in result.coverage.rules}
    assert kinds[("Bar", True)].covered == () and kinds[("Foo", True)].covered == ()
    assert ("Deployment", False) in kinds and ("Pod", False) not in kinds
    assert result.coverage.user_percent() == 0.0


def test_recorder_wraps_without_changing_answers() -> None:
    from kpl.engine.library import builtin_library

    recorder = CoverageRecorder()
    library = recorder.wrap(builtin_library())
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": 4}}
    plain = builtin_library().get("apps/v1", "Deployment")
    tracked = library.get("apps/v1", "Deployment")
    assert plain is not None and tracked is not None
    answer = plain.run("InterpretReplica", desired=deployment)
    assert tracked.run("InterpretReplica", desired=deployment) == answer
    rules = recorder.coverage().rules
    assert [(r.kind, r.covered) for r in rules] == [("Deployment", ("replicas", "requirements"))]


# ------------------------------------------------------------------------------------ placement cases


def _placement(project: Path, tests: list[Any], **settings: Any) -> Path:
    fleet = EXAMPLES / "fleet"
    return _suite(project / "placement.yaml", tests, policies=[str(fleet / "policies")],
                  snapshot=str(fleet / "snapshot"), **settings)


def test_placement_expectations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _placement(project, [
        _where("right", STOREFRONT, clusters={"member1": 4, "member2": 2}),
        _where("wrong", STOREFRONT, clusters={"member1": 3, "member2": 3}),
        _where("names only", STOREFRONT, clusters=["member2", "member1"]),
        {"name": "replicas", "resource": {"kind": "Deployment", "name": "storefront"},
         "expect": {"replicas": 7}},
        _where("missing", "shop/nope", clusters=["member1"]),
        _where("no expectation", STOREFRONT),
        _where("error expected", STOREFRONT, error="FitError"),
    ])
    code, found = _run(["placement.yaml"], capsys)
    assert code == 1
    by_name = {c["case"]: c for c in found["cases"]}
    assert by_name["right"]["outcome"] == "passed" and by_name["names only"]["outcome"] == "passed"
    wrong = "clusters: expected member1: 3, member2: 3; got member1: 4, member2: 2"
    assert by_name["wrong"]["message"] == wrong
    assert by_name["replicas"]["message"] == "replicas: expected 7, got 6"
    assert by_name["missing"]["message"].startswith("matches nothing: no binding `shop/nope`")
    assert "expects nothing" in by_name["no expectation"]["message"]
    assert by_name["error expected"]["message"] == "expected error FitError, but the binding was scheduled"
    rules = {r["kind"]: r for r in found["coverage"]["rules"]}
    assert "replicas" in rules["Deployment"]["covered"]


def test_placement_with_inline_objects_and_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    allocatable = {"cpu": "1", "memory": "1Gi", "pods": "10"}
    cluster = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "tiny"},
               "spec": {}, "status": {"resourceSummary": {"allocatable": allocatable},
                                      "conditions": [{"type": "Ready", "status": "True"}]}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "big", "namespace": "ns"},
                  "spec": {"replicas": 3, "template": {"spec": {"containers": [
                      {"name": "c", "resources": {"requests": {"cpu": "2"}}}]}}}}
    policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
              "metadata": {"name": "big", "namespace": "ns"},
              "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "big"}],
                       "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                           "replicaDivisionPreference": "Aggregated"}}}}
    _suite(project / "inline.yaml", [
        {"name": "does not fit", "binding": "ns/big-deployment", "expect": {"error": {"type": "FitError"}}},
        {"name": "unexpected failure", "binding": "ns/big-deployment", "expect": {"clusters": ["tiny"]}},
    ], objects=[cluster, deployment, policy])
    code, found = _run(["inline.yaml"], capsys)
    by_name = {c["case"]: c for c in found["cases"]}
    assert by_name["does not fit"]["outcome"] == "passed", by_name["does not fit"]["message"]
    assert by_name["unexpected failure"]["message"].startswith("scheduling failed: FitError")
    assert code == 1


def test_placement_without_a_snapshot_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _suite(project / "t.yaml", [{"name": "x", "binding": "a/b", "expect": {"clusters": []}}])
    code, found = _run(["t.yaml"], capsys)
    assert code == 1 and "needs `snapshot` or `objects`" in found["cases"][0]["message"]


# ------------------------------------------------------------------------------------ output formats


def test_junit_and_sarif_of_a_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_formats import validate_sarif

    _suite(project / "t.yaml", [
        _replica("ok", 3, 3),
        _replica("bad", 3, 4),
    ], rules=["rules"])
    assert main(["test", "t.yaml", "-o", "junit", "--output-file", "r.xml", "--threshold", "10"]) == 1
    cases = {case.name: case for suite in JUnitXml.fromfile("r.xml") for case in suite}
    assert cases["ok"].is_passed and cases["rule coverage"].is_passed
    failure = cases["bad"].result[0]
    assert isinstance(failure, Failure) and failure.message == "replica: expected 4, got 3"
    assert main(["test", "t.yaml", "-o", "sarif", "--output-file", "r.sarif"]) == 1
    log = json.loads(Path("r.sarif").read_text(encoding="utf-8"))
    validate_sarif(log)
    (result,) = log["runs"][0]["results"]
    line = _line_of(project / "t.yaml", "- name: bad")
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": line}
    assert main(["test", "t.yaml", "-o", "github"]) == 1
    expected = f"::error file=t.yaml,line={line},title=kpl-test failed%3A bad [InterpretReplica]::"
    assert expected in capsys.readouterr().out
    assert main(["test", "t.yaml", "-o", "markdown"]) == 1
    assert "### Rule coverage" in capsys.readouterr().out


def test_text_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _suite(project / "t.yaml", [
        _replica("bad", 3, 4),
    ], rules=["rules"])
    assert main(["test", "t.yaml"]) == 1
    out = capsys.readouterr().out
    line = _line_of(project / "t.yaml", "- name: bad")
    assert f"FAILED t.yaml:{line} :: bad [InterpretReplica]\n  replica: expected 4, got 3" in out
    assert out.rstrip().endswith("0 passed, 1 failed; coverage of your rules: 20.0%")


def test_records_carry_case_lines() -> None:
    result = run_tests([EXAMPLES / "tests" / "karmada-format.yaml"])
    assert [r.line for r in case_records(result.results)] == [2, 34]


def test_evaluation_errors_name_the_rule_position(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules" / "bad.kpl").write_text("interpreter example.io/v1 Bad {\n  replicas = 1 / 0\n}\n")
    case = {"name": "boom", "operation": "InterpretReplica", "desired": {**_foo(), "kind": "Bad"},
            "output": {"replica": 1}}
    _suite(project / "t.yaml", [case], rules=["rules"])
    _, found = _run(["t.yaml"], capsys)
    assert found["cases"][0]["message"] == "InterpretReplica failed at rules/bad.kpl:2:14: division by zero"
