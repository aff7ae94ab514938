"""``kpl plan --simulate``: bindings scheduled in order, each consuming the capacity it takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kpl.cli import main
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library
from kpl.engine.plan import Plan, PlanInputs
from kpl.engine.plan_simulate import Simulation, new_demand
from kpl.engine.report import render_text, report_to_json
from kpl.engine.scheduler.types import TargetCluster

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"


def cluster(name: str, cpu: str = "4") -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {}, "status": {
            "apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"name": "d", "kind": "Deployment"}]}],
            "resourceSummary": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}},
        },
    }


def deployment(name: str, replicas: int = 4) -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": "1"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "web"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


POLICY = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "pp", "namespace": "web"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                   "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided",
                                                       "replicaDivisionPreference": "Aggregated"}}}}


def simulate(names: list[str], simulate: bool = True) -> tuple[Simulation | None, Any]:
    inputs = PlanInputs((cluster("m1"), cluster("m2")), tuple(deployment(n) for n in names), (POLICY,), (),
                        Library({}), FeatureGates(), simulate=simulate)
    report = Plan.compile(inputs).evaluate()
    return report.simulation, report


def test_default_mode_is_karmadas_and_has_no_simulation() -> None:
    found, report = simulate(["a", "b", "c"], simulate=False)
    assert found is None and report_to_json(report)["simulation"] is None
    assert all(b.error is None for b in report.bindings)  # every binding sees the same free capacity


def test_later_bindings_no_longer_fit() -> None:
    found, report = simulate(["a", "b", "c"])
    assert found is not None
    by_name = {b.binding: b for b in found.bindings}
    assert [b.binding for b in found.bindings] == ["web/a-deployment", "web/b-deployment", "web/c-deployment"]
    assert by_name["web/a-deployment"].fits and not by_name["web/a-deployment"].moved
    assert by_name["web/b-deployment"].fits and by_name["web/b-deployment"].moved
    assert not by_name["web/c-deployment"].fits
    assert by_name["web/c-deployment"].error is not None
    assert by_name["web/c-deployment"].error.type == "Unschedulable"
    over = {(o.cluster, o.resource, str(o.demand), str(o.free)) for o in found.overcommitted}
    assert over == {("m1", "cpu", "12", "4")}  # the default plan puts all three on m1
    text = render_text(report)
    assert "web/c-deployment: no longer fits" in text and "overcommitted" in text
    assert report_to_json(report)["simulation"]["noLongerFit"] == ["web/b-deployment", "web/c-deployment"]


def test_priority_goes_first() -> None:
    inputs = PlanInputs((cluster("m1"),), (deployment("a"), deployment("b")), (POLICY,), (), Library({}),
                        FeatureGates(), simulate=True)
    plan = Plan.compile(inputs)
    plan.evaluate()
    binding = plan.results["binding:web/b-deployment"].binding
    binding["spec"]["schedulePriority"] = {"priority": 5}
    plan.invalidate(["schedule:web/b-deployment"])
    found = plan.evaluate().simulation
    assert found is not None and found.bindings[0].binding == "web/b-deployment"
    assert found.bindings[0].fits and not found.bindings[1].fits


def test_demand_counts_only_new_pods() -> None:
    spec = {"replicaRequirements": {"resourceRequest": {"cpu": "500m"}}}
    demand = new_demand(spec, [TargetCluster("m1", 3), TargetCluster("m2", 1)],
                        [TargetCluster("m1", 1), TargetCluster("m2", 2)])
    assert {k: {n: str(q) for n, q in v.items()} for k, v in demand.items()} == {"m1": {"cpu": "1", "pods": "2"}}


def test_cli_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "--simulate", "-o", "json"]
    assert main(args) == 0
    found = json.loads(capsys.readouterr().out)["simulation"]
    assert found["order"] == ["shop/storefront-deployment", "streaming/fraud-detector-flinkdeployment"]
    assert found["noLongerFit"] == [] and found["overcommitted"] == []
