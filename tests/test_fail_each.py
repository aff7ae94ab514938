"""``kpl plan --fail-each``: one failover scenario per cluster, in worker processes, summarised worst first."""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from bench_generator import fleet_generator

from kpl.cli import main
from kpl.engine import plan_sweep_run
from kpl.engine.features import FeatureGates
from kpl.engine.plan import Plan, PlanInputs, load_plan_inputs
from kpl.engine.plan_sweep import ScenarioOutcome, SweepPlan, prepare_sweep, scenario_failovers
from kpl.engine.plan_sweep_report import render_sweep
from kpl.engine.plan_sweep_run import run_sweep

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fleet"
JOB_LABEL = "application.karmada.io/cluster-failover-jobid"
JOB_ID = "8f3d2c1b0a99e7f6d5c4b3a291807f6e"
GATES = "Failover=true,StatefulFailoverInjection=true,MultiplePodTemplatesScheduling=true"
EXAMPLE_ARGS = ["plan", str(EXAMPLE / "policies"), "--snapshot", str(EXAMPLE / "snapshot"), "--feature-gates", GATES]
FORK = "fork" in multiprocessing.get_all_start_methods()


@cache
def generated(clusters: int = 6, bindings: int = 40, seed: int = 3) -> PlanInputs:
    """A small generated fleet in bindings mode with the Failover gate on."""
    gen = fleet_generator()
    items = gen.generate_fleet(gen.FleetShape(clusters, bindings, seed))["items"]
    return PlanInputs(clusters=tuple(i for i in items if i["kind"] == "Cluster"),
                      bindings=tuple(i for i in items if i["kind"] != "Cluster"), from_policies=False,
                      gates=FeatureGates.parse("Failover=true"))


def example_inputs(gates: str = GATES) -> PlanInputs:
    return load_plan_inputs([EXAMPLE / "policies"], [EXAMPLE / "snapshot"], FeatureGates.parse(gates)).inputs


def sweep_of(inputs: PlanInputs) -> SweepPlan:
    return prepare_sweep(Plan.compile(inputs))


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    found = capsys.readouterr()
    return code, found.out, found.err


# ------------------------------------------------------------------------------------ the same as --fail


@pytest.mark.parametrize("which", ["example", "generated"])
def test_each_scenario_is_the_fail_report_of_its_cluster(which: str) -> None:
    inputs = example_inputs() if which == "example" else generated()
    sweep = sweep_of(inputs)
    assert sweep.clusters
    for name in sweep.clusters:
        alone = Plan.compile(replace(inputs, failed_clusters=(name,))).evaluate()
        assert [found for _, found in scenario_failovers(sweep, name)] == list(alone.failovers), name


def _expected(report: dict[str, Any], cluster: str) -> dict[str, Any]:
    """The scenario counts read off ``kpl plan --fail cluster -o json`` by hand."""
    found = report["failover"]["bindings"]
    before = {b["namespace"] + "/" + b["name"]: b["clusters"] or [] for b in report["bindings"]}

    def on(binding: str, targets: list[dict[str, Any]]) -> int:
        return sum(sum(c["replicas"] for c in t["components"]) if t.get("components") else t["replicas"]
                   for t in targets if t["name"] == cluster)

    lost = sum(on(f["binding"], before[f["binding"]]) for f in found if not f["evicted"] or f["error"])
    return {"bindings": len(found), "displaced": sum(1 for f in found if f["evicted"]),
            "failures": sorted(f["error"]["type"] for f in found if f["error"]), "replicasLost": lost,
            "labelsInjected": sorted((f["binding"], c) for f in found for c in f["injectedLabels"] or {})}


@pytest.mark.parametrize("gates", [GATES, "MultiplePodTemplatesScheduling=true"])
def test_cli_sweep_equals_cli_fail_per_cluster(gates: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = [*EXAMPLE_ARGS[:-1], gates]
    code, out, _ = cli([*args, "--fail-each", "-o", "json"], capsys)
    assert code == 0
    sweep = json.loads(out)
    assert sweep["formatVersion"] == 1 and sweep["kind"] == "FailureSweep"
    assert [s["cluster"] for s in sweep["scenarios"]] != [] and sweep["totals"]["scenarios"] == 3
    for scenario in sweep["scenarios"]:
        code, out, _ = cli([*args, "--fail", scenario["cluster"], "-o", "json"], capsys)
        expected = _expected(json.loads(out), scenario["cluster"])
        got = {"bindings": scenario["bindings"], "displaced": scenario["displaced"],
               "failures": sorted(f["type"] for f in scenario["failures"]), "replicasLost": scenario["replicasLost"],
               "labelsInjected": sorted((s["binding"], s["cluster"]) for s in scenario["labelsInjected"])}
        assert got == expected, scenario["cluster"]


def test_gate_off_leaves_the_replicas_on_the_failed_cluster() -> None:
    sweep = run_sweep(sweep_of(example_inputs("MultiplePodTemplatesScheduling=true")), jobs=1)
    worst = sweep.scenarios[0]
    assert worst.cluster == "member1" and worst.displaced == 0 and worst.stayed == 2
    assert worst.replicas_moved == 0 and worst.replicas_lost > 0
    assert any("Failover feature gate is off" in note for note in sweep.assumptions)


def test_replicas_on_a_cluster_are_moved_or_lost() -> None:
    inputs = generated()
    sweep = sweep_of(inputs)
    result = run_sweep(sweep, jobs=1)
    placed = dict.fromkeys(sweep.clusters, 0)
    for binding in sweep.report.bindings:  # the bindings scheduled (failed ones are not failed over)
        for target in binding.clusters if binding.error is None and binding.clusters else ():
            placed[target.name] += target.replicas
    assert sum(s.displaced for s in result.scenarios) > 0
    for scenario in result.scenarios:
        assert scenario.error is None
        assert scenario.replicas_moved + scenario.replicas_lost == placed[scenario.cluster], scenario.cluster


# ------------------------------------------------------------------------------------ the example


def test_flink_job_id_label_in_its_cluster_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli([*EXAMPLE_ARGS, "--fail-each", "--jobs", "2"], capsys)
    assert code == 0
    section = out.split("\nmember1:\n", 1)[1].split("\n\n", 1)[0]
    assert f"fraud-detector-flinkdeployment on member2: {JOB_LABEL}={JOB_ID}" in section
    rows = [line.split()[0] for line in out.splitlines()[2:7]]
    assert rows == ["cluster", "member1", "member2", "member3", "total"]
    code, out, _ = cli([*EXAMPLE_ARGS, "--fail-each", "-o", "markdown"], capsys)
    assert "### `member1`" in out and f"{JOB_LABEL}={JOB_ID}" in out and "| **total** |" in out


# ------------------------------------------------------------------------------------ order and determinism


def test_scenarios_are_ordered_worst_first() -> None:
    outcomes = [ScenarioOutcome("a", displaced=5, replicas_lost=1), ScenarioOutcome("b", replicas_lost=3),
                ScenarioOutcome("c", displaced=5, replicas_lost=1, replicas_moved=2),
                ScenarioOutcome("d", error="boom"), ScenarioOutcome("e", displaced=7, replicas_lost=1),
                ScenarioOutcome("f")]
    assert [s.cluster for s in sorted(outcomes, key=ScenarioOutcome.worst_first)] == list("dbecaf")
    found = run_sweep(sweep_of(generated()), jobs=1).scenarios
    keys = [(-s.replicas_lost, -s.displaced) for s in found]
    assert keys == sorted(keys)


@pytest.mark.skipif(not FORK, reason="no fork start method on this platform")
def test_one_job_and_two_jobs_give_the_same_bytes() -> None:
    sweeps = [run_sweep(sweep_of(generated()), jobs=jobs) for jobs in (1, 2, 5)]
    for fmt in ("json", "text", "markdown"):
        assert len({render_sweep(sweep, fmt) for sweep in sweeps}) == 1, fmt


def test_cli_jobs_give_the_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = {cli([*EXAMPLE_ARGS, "--fail-each", "-o", "json", "--jobs", jobs], capsys)[1] for jobs in "123"}
    assert len(outputs) == 1


def test_a_sweep_does_not_change_the_plan_it_is_given() -> None:
    plan = Plan.compile(example_inputs())
    before = plan.evaluate()
    nodes = set(plan.graph)
    run_sweep(prepare_sweep(plan), jobs=1)
    assert set(plan.graph) == nodes and plan.inputs.failed_clusters == () and plan.evaluate() == before


# ------------------------------------------------------------------------------------ errors and interrupts


def _boom(sweep: SweepPlan, cluster: str) -> ScenarioOutcome:
    if cluster == "member2":
        raise ValueError("no such thing")
    return ScenarioOutcome(cluster)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_in_a_scenario_is_a_message(jobs: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(plan_sweep_run, "scenario_outcome", _boom)
    code, out, err = cli([*EXAMPLE_ARGS, "--fail-each", "-o", "json", "--jobs", jobs], capsys)
    assert code == 4 and "Traceback" not in out + err
    first = json.loads(out)["scenarios"][0]
    assert first["cluster"] == "member2" and "ValueError: no such thing" in first["error"]
    assert "the failure of member2: the scenario could not be computed: ValueError: no such thing" in err


def _dies(sweep: SweepPlan, cluster: str) -> ScenarioOutcome:
    if cluster == "member2":
        os._exit(3)
    return ScenarioOutcome(cluster)


@pytest.mark.skipif(not FORK, reason="no fork start method on this platform")
def test_a_worker_that_dies_leaves_an_error_on_its_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_sweep_run, "scenario_outcome", _dies)
    found = {s.cluster: s for s in run_sweep(sweep_of(example_inputs()), jobs=2).scenarios}
    assert found["member1"].error is None and found["member3"].error is None
    assert found["member2"].error is not None and "ended unexpectedly (exit code 3)" in found["member2"].error


@pytest.mark.skipif(not FORK, reason="no fork start method on this platform")
def test_ctrl_c_stops_the_workers(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*_: Any) -> dict[int, ScenarioOutcome]:
        assert len(multiprocessing.active_children()) == 2
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_sweep_run, "_collect", interrupted)
    code, out, err = cli([*EXAMPLE_ARGS, "--fail-each", "--jobs", "2"], capsys)
    assert code == 130 and out == "" and "workers are stopped" in err
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize(("extra", "message"), [
    (["--jobs", "2"], "--jobs goes with --fail-each"),
    (["--fail-each", "-o", "html"], "not html"),
    (["--fail-each", "--fail", "member1"], "does not combine with --fail"),
    (["--fail-each", "--simulate"], "does not combine with --simulate"),
    (["--fail-each", "--jobs", "0"], "--jobs"),
])
def test_usage_errors(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli([*EXAMPLE_ARGS, *extra], capsys)
    assert code == 2 and message in err


# ------------------------------------------------------------------------------------ quota


QUOTA_GATES = GATES + ",FederatedQuotaEnforcement=true"


def test_enforced_quota_admits_the_example_failovers() -> None:
    enforced = run_sweep(sweep_of(example_inputs(QUOTA_GATES)), jobs=1)
    plain = run_sweep(sweep_of(example_inputs()), jobs=1)
    assert enforced.totals()["quotaDenials"] == 0
    assert [replace(s, quota_denials=()) for s in enforced.scenarios] == list(plain.scenarios)


def test_a_denied_re_placement_loses_its_replicas_and_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler write the quota webhook denies (forced here) keeps the binding off every cluster."""
    from kpl.engine import plan_sweep
    from kpl.engine.quota import AdmissionDecision, admit_binding

    def deny_new_clusters(gates: Any, operation: str, frqs: Any, new: Any, old: Any = None,
                          **options: Any) -> AdmissionDecision:
        if len(new["spec"]["clusters"]) > len(old["spec"]["clusters"]):
            return AdmissionDecision(False, 403, "QuotaExceeded", "exceeded quota: streaming")
        return admit_binding(gates, operation, frqs, new, old, **options)

    monkeypatch.setattr(plan_sweep, "admit_binding", deny_new_clusters)
    worst = run_sweep(sweep_of(example_inputs(QUOTA_GATES)), jobs=1).scenarios[0]
    flink = "streaming/fraud-detector-flinkdeployment"
    assert worst.cluster == "member1" and worst.replicas_moved == 0
    assert [(d.binding, d.quota, d.stage) for d in worst.quota_denials] == [(flink, "streaming", "scheduler")]
    assert (flink, "QuotaExceeded") in [(f.binding, f.type) for f in worst.failures]
    assert worst.labels_injected == () and [s.binding for s in worst.labels_failed] == [flink]
    assert worst.labels_failed[0].labels == ((JOB_LABEL, JOB_ID),)
