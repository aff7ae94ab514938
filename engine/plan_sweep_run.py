"""Running a failure sweep: one scenario per cluster, in forked worker processes that share the plan.

The workers are forked after the base plan is evaluated, so each starts with the compiled graph and every
result in memory (nothing is pickled but the scenarios' compact outcomes). They take cluster indices from a
shared counter and send back ``(index, outcome)`` through their own pipe as each scenario ends. Where the
``fork`` start method is missing, or with one job, the scenarios run one after another in this process,
with the same answers. An exception in a scenario becomes that scenario's error message; a worker that
dies leaves the scenario it was running with an error too. Interrupting the sweep stops every worker
before :class:`KeyboardInterrupt` propagates.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from kpl.engine.plan_failover import failover_notes
from kpl.engine.plan_sweep import ScenarioOutcome, SweepPlan, prepare_sweep, scenario_outcome

if TYPE_CHECKING:
    from kpl.engine.plan import Plan

__all__ = ["SWEEP_FORMAT_VERSION", "FailureSweep", "default_jobs", "run_sweep", "sweep_plan"]

SWEEP_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FailureSweep:
    """Every cluster's failure scenario, worst first, with the base plan's summary."""

    mode: str
    feature_gates: tuple[tuple[str, bool], ...]
    plan_summary: tuple[tuple[str, int], ...]
    assumptions: tuple[str, ...]
    scenarios: tuple[ScenarioOutcome, ...]

    def totals(self) -> dict[str, int]:
        found = self.scenarios
        return {
            "scenarios": len(found), "errors": sum(1 for s in found if s.error is not None),
            "displaced": sum(s.displaced for s in found), "stayed": sum(s.stayed for s in found),
            "replicasMoved": sum(s.replicas_moved for s in found),
            "replicasLost": sum(s.replicas_lost for s in found),
            "failures": sum(len(s.failures) for s in found),
            "quotaDenials": sum(len(s.quota_denials) for s in found),
            "labelsInjected": sum(len(s.labels_injected) for s in found),
            "labelsFailed": sum(len(s.labels_failed) for s in found),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": SWEEP_FORMAT_VERSION, "kind": "FailureSweep", "mode": self.mode,
            "featureGates": dict(self.feature_gates), "planSummary": dict(self.plan_summary),
            "assumptions": list(self.assumptions), "totals": self.totals(),
            "scenarios": [s.to_json() for s in self.scenarios],
        }


def default_jobs() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _guarded(sweep: SweepPlan, cluster: str) -> ScenarioOutcome:
    try:
        return scenario_outcome(sweep, cluster)
    except Exception as error:  # a scenario's failure is reported, never raised
        return ScenarioOutcome(cluster, error=f"the scenario could not be computed: {type(error).__name__}: "
                                              f"{error}")


def _work(sweep: SweepPlan, counter: Any, results: Connection) -> None:
    """A worker: take the next cluster index until none is left, send each outcome back as it is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers on Ctrl-C
    clusters = sweep.clusters
    while True:
        with counter.get_lock():
            index = int(counter.value)
            counter.value = index + 1
        if index >= len(clusters):
            break
        results.send((index, _guarded(sweep, clusters[index])))
    results.close()


def _collect(readers: Sequence[Connection]) -> dict[int, ScenarioOutcome]:
    """Every outcome the workers send, until each worker's pipe is closed (it ended, normally or not)."""
    found: dict[int, ScenarioOutcome] = {}
    pending = list(readers)
    while pending:
        for ready in wait(pending):
            assert isinstance(ready, Connection)
            try:
                index, outcome = ready.recv()
            except EOFError:
                pending.remove(ready)
                continue
            found[int(index)] = outcome
    return found


def _forked(sweep: SweepPlan, jobs: int) -> list[ScenarioOutcome]:
    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    workers: list[BaseProcess] = []
    readers: list[Connection] = []
    try:
        for _ in range(jobs):
            reader, writer = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(sweep, counter, writer), daemon=True)
            worker.start()
            writer.close()  # the worker holds the only writing end: its pipe closes when it ends
            workers.append(worker)
            readers.append(reader)
        found = _collect(readers)
    except BaseException:  # Ctrl-C or a failure here: stop the workers before it propagates
        for started in workers:
            if started.is_alive():
                started.terminate()
        raise
    finally:
        for started in workers:
            started.join()
        for reader in readers:
            reader.close()
    codes = ", ".join(str(w.exitcode) for w in workers if w.exitcode)
    lost = f"the worker process running this scenario ended unexpectedly (exit code {codes or 'unknown'})"
    return [found.get(i) or ScenarioOutcome(name, error=lost) for i, name in enumerate(sweep.clusters)]


def run_sweep(sweep: SweepPlan, jobs: int | None = None) -> FailureSweep:
    """Every cluster's scenario with up to ``jobs`` worker processes (default: the CPUs available).

    The answer does not depend on ``jobs`` or on the order the workers finish in.
    """
    workers = min(jobs or default_jobs(), len(sweep.clusters))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        outcomes = _forked(sweep, workers)
    else:
        outcomes = [_guarded(sweep, name) for name in sweep.clusters]
    report = sweep.report
    inputs = sweep.base
    return FailureSweep(
        report.mode, tuple(sorted(report.feature_gates.items())), tuple(report.summary().items()),
        failover_notes(inputs.gates, sweep.clusters[:1]),
        tuple(sorted(outcomes, key=ScenarioOutcome.worst_first)),
    )


def sweep_plan(plan: Plan, jobs: int | None = None) -> FailureSweep:
    """Evaluate ``plan`` (a :class:`kpl.engine.plan.Plan` without failed clusters) and sweep it."""
    return run_sweep(prepare_sweep(plan), jobs)
