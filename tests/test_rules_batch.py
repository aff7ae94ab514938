"""Built-in rules for batch and platform kinds, judged by Karmada's own interpreter test data.

Kinds: FlinkDeployment, Volcano Job, SparkApplication, Kubeflow Notebook, Kyverno ClusterPolicy and Policy.
Every case of their ``*-test.yaml`` files must pass; the data is read in place from the shared folder.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from kpl.dsl import ast
from kpl.dsl.parser import parse_source
from kpl.dsl.source import Source
from kpl.engine.conformance.runner import CaseResult, run_paths
from kpl.engine.interpreter import CompiledInterpreter, compile_interpreter
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
KINDS = (
    "flink.apache.org/v1beta1/FlinkDeployment",
    "batch.volcano.sh/v1alpha1/Job",
    "sparkoperator.k8s.io/v1beta2/SparkApplication",
    "kubeflow.org/v1/Notebook",
    "kyverno.io/v1/ClusterPolicy",
    "kyverno.io/v1/Policy",
)


def _cases() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind in KINDS:
        folder = INTERPRETER / kind
        for path in sorted(folder.glob("*-test.yaml")):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(doc, dict):
                    found.append((path.relative_to(KARMADA).as_posix(), str(doc.get("name"))))
    return found


CASES = _cases() if INTERPRETER.is_dir() else []


@functools.lru_cache(maxsize=1)
def _results() -> dict[tuple[str, str], CaseResult]:
    summary = run_paths([INTERPRETER / kind for kind in KINDS], base=KARMADA)
    assert not summary.load_errors, summary.load_errors
    return {(r.file, r.case): r for r in summary.results}


@pytest.mark.skipif(not CASES, reason="Karmada conformance data is not present beside the repository")
@pytest.mark.parametrize(("file", "case"), CASES, ids=[f"{f.split('/')[-2]}:{c}" for f, c in CASES])
def test_karmada_case_passes(file: str, case: str) -> None:
    result = _results()[(file, case)]
    assert result.outcome == "passed", f"{result.operation}: {result.message}"


@pytest.mark.skipif(not CASES, reason="Karmada conformance data is not present beside the repository")
def test_every_kind_has_cases_and_a_rule() -> None:
    library = builtin_library()
    mine = {f"rules/{kind}.kpl" for kind in KINDS}
    ours = [d for d in library.diagnostics if d.source is not None and d.source.name in mine]
    assert not ours, [d.message for d in ours]
    for kind in KINDS:
        group, version, name = kind.split("/")
        assert library.get(f"{group}/{version}", name) is not None, kind
        assert any(file.startswith(f"interpreter/{kind}/") for file, _ in CASES), kind
    assert len(CASES) >= 60


# ------------------------------------------------------------------------------ engine behaviour


def _rule(text: str) -> CompiledInterpreter:
    result = parse_source(Source("test.kpl", text))
    assert not result.diagnostics
    node = result.module.declarations[0]
    assert isinstance(node, ast.Interpreter)
    return compile_interpreter(node)


def test_absent_status_items_are_null_not_an_empty_list() -> None:
    rule = _rule('interpreter x.io/v1 K { aggregate = . with { .status.seen: status_items == null } }')
    absent = rule.run("AggregateStatus", desired={"kind": "K"}, status_items=None)
    empty = rule.run("AggregateStatus", desired={"kind": "K"}, status_items=[])
    assert absent["aggregatedStatus"]["status"] == {"seen": True}
    assert empty["aggregatedStatus"]["status"] == {"seen": False}


def test_runner_hands_the_only_object_to_single_object_operations(tmp_path: Path) -> None:
    data = {
        "name": "observed only", "operation": "InterpretComponent",
        "observedObj": {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
                        "spec": {"jobManager": {"replicas": 2}, "taskManager": {"replicas": 3}}},
        # No resources: the empty request table vanishes, the requirements object stays.
        "output": {"components": [{"name": "jobmanager", "replicas": 2, "replicaRequirements": {}},
                                  {"name": "taskmanager", "replicas": 3, "replicaRequirements": {}}]},
    }
    path = tmp_path / "interpretcomponent-test.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    summary = run_paths([path])
    assert [r.outcome for r in summary.results] == ["passed"], summary.results
