"""Incremental re-planning: updates recompute only what depends on them and agree with a fresh plan."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpl.cli import main
from kpl.engine.features import FeatureGates
from kpl.engine.library import Library
from kpl.engine.plan import Plan, PlanInputs, load_plan_inputs
from kpl.engine.plan_watch import apply_inputs, changed_files, describe_moves, scan_files, watch
from kpl.engine.report import render_json

NAMES = ("m1", "m2", "m3")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"


def cluster(name: str, cpu: str = "16", labels: Mapping[str, str] | None = None,
            taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": name, "labels": dict(labels or {"tier": "gold"})},
        "spec": {"taints": list(taints or [])}, "status": {
            "apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"name": "d", "kind": "Deployment"}]}],
            "resourceSummary": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}},
        },
    }


def deployment(name: str, replicas: int) -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "web"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


PLACEMENTS: tuple[dict[str, Any], ...] = (
    {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}},
    {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
    {"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "gold"}}},
     "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}},
    {"spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 2}],
     "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                           "weightPreference": {"dynamicWeight": "AvailableReplicas"}}},
)


def policy(name: str, placement: Mapping[str, Any], workload: str) -> dict[str, Any]:
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": name, "namespace": "web"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": workload}],
                     "placement": copy.deepcopy(dict(placement))}}


QUOTA = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "FederatedResourceQuota",
         "metadata": {"name": "q", "namespace": "web"}, "spec": {"overall": {"cpu": "12"}}}


def base_inputs() -> PlanInputs:
    return PlanInputs(
        tuple(cluster(n) for n in NAMES), (deployment("a", 4), deployment("b", 3)),
        (policy("pa", PLACEMENTS[0], "a"), policy("pb", PLACEMENTS[1], "b")), (), Library({}),
        FeatureGates.parse("FederatedQuotaEnforcement=true,Failover=true"), quotas=(QUOTA,),
        failed_clusters=("m3",),
    )


# ------------------------------------------------------------------------------------ edits

edits = st.one_of(
    st.tuples(st.just("cpu"), st.sampled_from(NAMES), st.sampled_from(["0", "2", "5", "16", "64"])),
    st.tuples(st.just("labels"), st.sampled_from(NAMES), st.sampled_from(["gold", "silver"])),
    st.tuples(st.just("taint"), st.sampled_from(NAMES), st.sampled_from(["", "NoSchedule", "NoExecute"])),
    st.tuples(st.just("replicas"), st.sampled_from(["a", "b"]), st.integers(min_value=0, max_value=12)),
    st.tuples(st.just("placement"), st.sampled_from(["pa", "pb"]), st.integers(min_value=0,
                                                                              max_value=len(PLACEMENTS) - 1)),
)


def _apply(plan: Plan, inputs: PlanInputs, edit: tuple[str, str, Any]) -> PlanInputs:
    what, name, value = edit
    if what in ("cpu", "labels", "taint"):
        old = next(c for c in inputs.clusters if c["metadata"]["name"] == name)
        new = copy.deepcopy(dict(old))
        if what == "cpu":
            new["status"]["resourceSummary"]["allocatable"]["cpu"] = value
        elif what == "labels":
            new["metadata"]["labels"] = {"tier": value}
        else:
            new["spec"]["taints"] = [{"key": "k", "value": "v", "effect": value}] if value else []
        plan.update_cluster(new)
        return replace(inputs, clusters=tuple(new if c is old else c for c in inputs.clusters))
    if what == "replicas":
        old = next(w for w in inputs.workloads if w["metadata"]["name"] == name)
        new = deployment(name, value)
        plan.update_workload(new)
        return replace(inputs, workloads=tuple(new if w is old else w for w in inputs.workloads))
    old = next(p for p in inputs.policies if p["metadata"]["name"] == name)
    new = policy(name, PLACEMENTS[value], old["spec"]["resourceSelectors"][0]["name"])
    plan.update_policy(new)
    return replace(inputs, policies=tuple(new if p is old else p for p in inputs.policies))


@settings(max_examples=30, deadline=None)
@given(st.lists(edits, min_size=1, max_size=5), st.booleans())
def test_incremental_equals_a_fresh_plan(sequence: list[tuple[str, str, Any]], each: bool) -> None:
    inputs = base_inputs()
    plan = Plan.compile(inputs)
    plan.evaluate()
    for edit in sequence:
        inputs = _apply(plan, inputs, edit)
        if each:
            plan.evaluate()
    assert render_json(plan.evaluate()) == render_json(Plan.compile(inputs).evaluate())


def test_only_descendants_are_recomputed() -> None:
    plan = Plan.compile(base_inputs())
    plan.evaluate()
    plan.update_workload(deployment("a", 7))
    pending = plan.pending
    assert "workload:web/Deployment/a" in pending and "schedule:web/a-deployment" in pending
    assert "quota:web/q" in pending and "report" in pending
    assert not any(n.startswith("cluster:") or n.startswith("policy:") for n in pending)
    assert "workload:web/Deployment/b" not in pending and "schedule:web/b-deployment" not in pending
    plan.evaluate()
    assert not plan.pending


def test_new_policy_and_new_workload() -> None:
    inputs = base_inputs()
    plan = Plan.compile(inputs)
    plan.evaluate()
    extra = policy("pc", PLACEMENTS[1], "c")
    plan.update_policy(extra)
    plan.update_workload(deployment("c", 2))
    fresh = replace(inputs, policies=(*inputs.policies, extra), workloads=(*inputs.workloads, deployment("c", 2)))
    assert render_json(plan.evaluate()) == render_json(Plan.compile(fresh).evaluate())


def test_apply_inputs_updates_in_place_and_recompiles_on_removal() -> None:
    inputs = base_inputs()
    plan = Plan.compile(inputs)
    before = plan.evaluate()
    changed = replace(inputs, workloads=(deployment("a", 9), inputs.workloads[1]))
    update = apply_inputs(plan, changed)
    assert not update.recompiled and update.nodes == ("workload:web/Deployment/a",)
    after = plan.evaluate()
    assert any(line.startswith("~ web/a-deployment") for line in describe_moves(before, after))
    removed = replace(inputs, workloads=inputs.workloads[:1])
    assert apply_inputs(plan, removed).recompiled
    assert render_json(plan.evaluate()) == render_json(Plan.compile(removed).evaluate())


# ------------------------------------------------------------------------------------ watching files


def _write_inputs(folder: Path, replicas: int) -> tuple[Path, Path]:
    policies, snapshot = folder / "policies", folder / "snapshot"
    policies.mkdir(exist_ok=True)
    snapshot.mkdir(exist_ok=True)
    (policies / "p.yaml").write_text(yaml.safe_dump(policy("pa", PLACEMENTS[0], "a")), encoding="utf-8")
    (snapshot / "clusters.yaml").write_text(yaml.safe_dump_all([cluster(n) for n in NAMES]), encoding="utf-8")
    (snapshot / "workloads.yaml").write_text(yaml.safe_dump(deployment("a", replicas)), encoding="utf-8")
    return policies, snapshot


def test_changed_files_most_recent_first(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.kpl"
    first.write_text("x", encoding="utf-8")
    second.write_text("y", encoding="utf-8")
    before = scan_files([tmp_path])
    os.utime(first, ns=(time.time_ns(), time.time_ns() + 2_000_000_000))
    second.write_text("yy", encoding="utf-8")
    assert changed_files(before, scan_files([tmp_path])) == [str(first), str(second)]
    second.unlink()
    assert changed_files(before, scan_files([tmp_path]))[-1] == str(second)


def test_watch_replans_and_reports_moves(tmp_path: Path) -> None:
    policies, snapshot = _write_inputs(tmp_path, 3)
    loaded = load_plan_inputs([policies], [snapshot])
    plan = Plan.compile(loaded.inputs)
    report = plan.evaluate()
    said: list[str] = []
    workloads = snapshot / "workloads.yaml"

    def edit(_: float) -> None:
        if not said:
            workloads.write_text(yaml.safe_dump(deployment("a", 6)), encoding="utf-8")
            stamp = time.time_ns() + 5_000_000_000
            os.utime(workloads, ns=(stamp, stamp))

    final = watch(plan, report, [policies, snapshot], lambda: load_plan_inputs([policies], [snapshot]),
                  said.append, interval=0, max_cycles=2, sleep=edit)
    assert len(said) == 1 and said[0].startswith(f"changed: {workloads}")
    assert "~ web/a-deployment" in said[0]
    assert sum(c.replicas for c in final.clusters) == 6


def test_cli_watch_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies, snapshot = _write_inputs(tmp_path, 3)
    args = ["plan", str(policies), "--snapshot", str(snapshot), "--watch", "--interval", "0.05",
            "--max-cycles", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "web/a-deployment" in captured.out and "Ctrl-C" in captured.err


def test_example_plan_is_stable_across_reloads() -> None:
    loaded = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"])
    plan = Plan.compile(loaded.inputs)
    first = render_json(plan.evaluate())
    again = load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"])
    update = apply_inputs(plan, again.inputs)
    assert update.nodes == () and not update.recompiled
    assert render_json(plan.evaluate()) == first
