"""Plan diffs: which bindings change between a baseline plan and a new one, and ``--detailed-exitcode``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kpl.cli import main
from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.plan_diff import (
    ADDED,
    FAILING,
    MOVED,
    RECOVERED,
    REMOVED,
    SCALED,
    Flow,
    PlanDiff,
    aggregate_flows,
    diff_against_current,
    diff_markdown_lines,
    diff_reports,
    diff_text_lines,
    replica_flows,
)
from kpl.engine.report import PlacementReport
from kpl.engine.scheduler.types import TargetCluster

# ------------------------------------------------------------------------------------ a small fleet


def cluster(name: str, *, cpu: str = "16", taints: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {"taints": list(taints)},
        "status": {"apiEnablements": [{"groupVersion": "apps/v1",
                                       "resources": [{"name": "deployments", "kind": "Deployment"}]}],
                   "resourceSummary": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}}},
    }


def deployment(name: str, replicas: int, namespace: str = "web") -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


def write_snapshot(folder: Path, clusters: Sequence[Mapping[str, Any]],
                   workloads: Sequence[Mapping[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clusters.yaml").write_text(yaml.safe_dump_all(clusters, sort_keys=False))
    (folder / "workloads.yaml").write_text(yaml.safe_dump_all(workloads, sort_keys=False))
    return folder


def write_policy(path: Path, clusters: str, *, select: str = "named shop", replicas: str = "divided") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"policy shop in namespace web {{\n  select apps/v1 Deployment {select}\n"
                    f"  clusters {clusters}\n  replicas {replicas}\n}}\n")
    return path


FLEET = [cluster("member1"), cluster("member2"), cluster("member3")]
WORKLOADS = [deployment("shop", 6), deployment("api", 4)]


def plan(policies: Sequence[Path], snapshot: Path) -> PlacementReport:
    loaded = load_plan_inputs(policies, [snapshot])
    assert not loaded.io_failed and not loaded.policy_errors, loaded.diagnostics
    return Plan.compile(loaded.inputs).evaluate()


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return write_snapshot(tmp_path / "snapshot", FLEET, WORKLOADS)


# ------------------------------------------------------------------------------------ replica flows


def test_flows_pair_losses_with_gains_in_cluster_order() -> None:
    before = [TargetCluster("a", 4), TargetCluster("b", 2)]
    after = [TargetCluster("b", 3), TargetCluster("c", 1), TargetCluster("d", 1)]
    assert replica_flows(before, after) == (Flow("a", "b", 1), Flow("a", "c", 1), Flow("a", "d", 1),
                                            Flow("a", "", 1))
    assert replica_flows(after, after) == ()
    assert replica_flows([], [TargetCluster("a", 2)]) == (Flow("", "a", 2),)


def test_component_replicas_count_as_the_clusters_pods() -> None:
    from kpl.engine.scheduler.types import TargetComponent

    before = [TargetCluster("a", 0, (TargetComponent("jm", 1), TargetComponent("tm", 2)))]
    after = [TargetCluster("b", 0, (TargetComponent("jm", 1), TargetComponent("tm", 2)))]
    assert replica_flows(before, after) == (Flow("a", "b", 3),)


counts = st.dictionaries(st.sampled_from("abcde"), st.integers(min_value=0, max_value=50), max_size=5)


@given(counts, counts)
def test_flows_turn_the_old_counts_into_the_new_ones(old: dict[str, int], new: dict[str, int]) -> None:
    flows = replica_flows([TargetCluster(n, r) for n, r in old.items()],
                          [TargetCluster(n, r) for n, r in new.items()])
    moved = dict(old)
    for flow in flows:
        assert flow.replicas > 0 and flow.source != flow.target
        if flow.source:
            moved[flow.source] -= flow.replicas
        if flow.target:
            moved[flow.target] = moved.get(flow.target, 0) + flow.replicas
    assert {k: v for k, v in moved.items() if v} == {k: v for k, v in new.items() if v}
    # no cluster both gives and receives
    assert not {f.source for f in flows if f.source} & {f.target for f in flows if f.target}


def test_aggregated_flows_sum_per_pair_largest_first() -> None:
    flows = [Flow("a", "b", 2), Flow("c", "b", 5), Flow("a", "b", 4), Flow("", "a", 1)]
    assert aggregate_flows(flows) == (Flow("a", "b", 6), Flow("c", "b", 5), Flow("", "a", 1))


# ------------------------------------------------------------------------------------ plan diffs


def test_a_policy_change_moves_replicas(tmp_path: Path, snapshot: Path) -> None:
    old = write_policy(tmp_path / "old" / "p.kpl", "member1, member2")
    new = write_policy(tmp_path / "new" / "p.kpl", "member1, member3")
    diff = diff_reports(plan([old], snapshot), plan([new], snapshot))
    assert [(c.binding, c.kind) for c in diff.changes] == [("web/shop-deployment", MOVED)]
    assert diff.flows == (Flow("member2", "member3", 3),)
    assert diff.summary() == "1 binding(s) change: 3 replica(s) move from member2 to member3"
    assert diff.has_changes and diff.unchanged == 0
    assert diff.changes[0].line() == ("~ web/shop-deployment (moved): member1: 3, member2: 3 -> "
                                      "member1: 3, member3: 3")


def test_a_weight_change_scales(tmp_path: Path, snapshot: Path) -> None:
    old = write_policy(tmp_path / "old.kpl", "member1, member2")
    weights = "divided static { member1: 2, member2: 1 }"
    new = write_policy(tmp_path / "new.kpl", "member1, member2", replicas=weights)
    diff = diff_reports(plan([old], snapshot), plan([new], snapshot))
    assert [c.kind for c in diff.changes] == [SCALED]
    assert diff.flows == (Flow("member2", "member1", 1),)


def test_a_snapshot_change_moves_replicas_off_a_tainted_cluster(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "p.kpl", "member1, member2, member3", replicas="duplicated")
    before = write_snapshot(tmp_path / "before", FLEET, WORKLOADS)
    taint = {"key": "maintenance", "value": "yes", "effect": "NoSchedule"}
    after = write_snapshot(tmp_path / "after", [FLEET[0], cluster("member2", taints=[taint]), FLEET[2]],
                           WORKLOADS)
    diff = diff_reports(plan([policy], before), plan([policy], after))
    assert [(c.kind, c.flows) for c in diff.changes] == [(MOVED, (Flow("member2", "", 6),))]
    assert diff.summary() == "1 binding(s) change: 6 replica(s) leave member2"


def test_no_change(tmp_path: Path, snapshot: Path) -> None:
    policy = write_policy(tmp_path / "p.kpl", "member1, member2")
    diff = diff_reports(plan([policy], snapshot), plan([policy], snapshot))
    assert diff == PlanDiff("baseline", (), 1)
    assert diff.summary() == "no changes: 1 binding(s) keep their placement"
    assert diff_text_lines(diff) == ["no changes: 1 binding(s) keep their placement"]


def test_added_removed_failing_and_recovered(tmp_path: Path, snapshot: Path) -> None:
    one = write_policy(tmp_path / "one.kpl", "member1")
    both = write_policy(tmp_path / "both.kpl", "member1", select="")
    nowhere = write_policy(tmp_path / "nowhere.kpl", "nowhere")
    first, second, broken = plan([one], snapshot), plan([both], snapshot), plan([nowhere], snapshot)
    widened = diff_reports(first, second)
    assert [(c.binding, c.kind) for c in widened.changes] == [("web/api-deployment", ADDED)]
    assert widened.flows == (Flow("", "member1", 4),)
    assert [c.kind for c in diff_reports(second, first).changes] == [REMOVED]
    failing = diff_reports(first, broken)
    assert [c.kind for c in failing.changes] == [FAILING]
    assert failing.changes[0].error is not None and failing.changes[0].error.startswith("FitError: ")
    assert failing.summary() == "1 binding(s) change: 6 replica(s) leave member1, 1 newly failing"
    assert [c.kind for c in diff_reports(broken, first).changes] == [RECOVERED]


def test_against_the_current_bindings(tmp_path: Path) -> None:
    binding = {"apiVersion": "work.karmada.io/v1alpha2", "kind": "ResourceBinding",
               "metadata": {"name": "shop-deployment", "namespace": "web"},
               "spec": {"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "web",
                                     "name": "shop"},
                        "replicas": 6, "clusters": [{"name": "member1", "replicas": 6}]}}
    folder = write_snapshot(tmp_path / "snapshot", FLEET, [*WORKLOADS, binding])
    policy = write_policy(tmp_path / "p.kpl", "member1, member2")
    diff = diff_against_current(plan([policy], folder))
    assert diff.baseline == "current"
    assert [(c.kind, c.flows) for c in diff.changes] == [(MOVED, (Flow("member1", "member2", 3),))]


def test_renderings_of_a_diff(tmp_path: Path, snapshot: Path) -> None:
    old = write_policy(tmp_path / "old.kpl", "member1, member2")
    new = write_policy(tmp_path / "new.kpl", "member1, member3")
    diff = diff_reports(plan([old], snapshot), plan([new], snapshot))
    assert diff_text_lines(diff)[0] == "changes against the baseline plan:"
    markdown = diff_markdown_lines(diff)
    assert "### changes" in markdown and any(line.startswith("| `web/shop-deployment` | moved |")
                                             for line in markdown)
    found = diff.to_json()
    assert found["counts"][MOVED] == 1 and found["against"] == "baseline"
    assert found["flows"] == [{"from": "member2", "to": "member3", "replicas": 3}]
    assert found["changes"][0]["before"] == [{"name": "member1", "replicas": 3},
                                             {"name": "member2", "replicas": 3}]


# ------------------------------------------------------------------------------------ the command


def test_cli_baseline_diff_in_every_format(tmp_path: Path, snapshot: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    old = write_policy(tmp_path / "old.kpl", "member1, member2")
    new = write_policy(tmp_path / "new.kpl", "member1, member3")
    args = ["plan", str(new), "--snapshot", str(snapshot), "--baseline", str(old)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "~ web/shop-deployment (moved)" in text
    assert text.rstrip().endswith("1 binding(s) change: 3 replica(s) move from member2 to member3")
    assert main([*args, "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["diff"]["summary"] == "1 binding(s) change: 3 replica(s) move from member2 to member3"
    assert main([*args, "-o", "markdown"]) == 0
    assert "### changes" in capsys.readouterr().out


def test_cli_json_has_no_diff_key_without_a_baseline(snapshot: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "p.kpl", "member1")
    assert main(["plan", str(policy), "--snapshot", str(snapshot), "-o", "json"]) == 0
    assert "diff" not in json.loads(capsys.readouterr().out)


def test_cli_detailed_exitcode(tmp_path: Path, snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write_policy(tmp_path / "old.kpl", "member1, member2")
    new = write_policy(tmp_path / "new.kpl", "member1, member3")
    nowhere = write_policy(tmp_path / "nowhere.kpl", "nowhere")
    base = ["--snapshot", str(snapshot), "--detailed-exitcode"]
    assert main(["plan", str(new), *base, "--baseline", str(old)]) == 3
    assert main(["plan", str(old), *base, "--baseline", str(old)]) == 0
    assert main(["plan", str(nowhere), *base, "--baseline", str(old)]) == 1
    # without --detailed-exitcode changes are not an exit code
    assert main(["plan", str(new), "--snapshot", str(snapshot), "--baseline", str(old)]) == 0
    # without a baseline: against the bindings' current result (none yet here, so every binding is new)
    assert main(["plan", str(new), *base]) == 3
    capsys.readouterr()


def test_cli_baseline_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "p.kpl", "member1, member2, member3", replicas="duplicated")
    before = write_snapshot(tmp_path / "before", FLEET, WORKLOADS)
    after = write_snapshot(tmp_path / "after", FLEET[:2], WORKLOADS)
    args = ["plan", str(policy), "--snapshot", str(after), "--baseline-snapshot", str(before)]
    assert main([*args, "--detailed-exitcode"]) == 3
    assert "6 replica(s) leave member3" in capsys.readouterr().out
    assert main([*args, "--baseline", str(policy), "--detailed-exitcode"]) == 3
    assert main(["plan", str(policy), "--snapshot", str(after), "--baseline-snapshot", str(after),
                 "--detailed-exitcode"]) == 0
    capsys.readouterr()


def test_cli_unreadable_baseline_is_a_usage_error(tmp_path: Path, snapshot: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "p.kpl", "member1")
    assert main(["plan", str(policy), "--snapshot", str(snapshot), "--baseline-snapshot",
                 str(tmp_path / "missing")]) == 2
    capsys.readouterr()
