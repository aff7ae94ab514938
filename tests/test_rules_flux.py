"""Built-in rules for the Flux kinds, judged by Karmada's own interpreter test data.

Kinds: HelmRelease, Kustomization, GitRepository, Bucket, HelmChart, HelmRepository, OCIRepository.
Every case of their ``*-test.yaml`` files must pass; the data is read in place from the shared folder.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.engine.conformance.runner import CaseResult, run_paths
from kpl.engine.interpreter import CompiledInterpreter, InterpretError
from kpl.engine.library import builtin_library

KARMADA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "karmada"
INTERPRETER = KARMADA / "interpreter"
KINDS = (
    "helm.toolkit.fluxcd.io/v2beta1/HelmRelease",
    "kustomize.toolkit.fluxcd.io/v1/Kustomization",
    "source.toolkit.fluxcd.io/v1/GitRepository",
    "source.toolkit.fluxcd.io/v1beta2/Bucket",
    "source.toolkit.fluxcd.io/v1beta2/HelmChart",
    "source.toolkit.fluxcd.io/v1beta2/HelmRepository",
    "source.toolkit.fluxcd.io/v1beta2/OCIRepository",
)
OPERATIONS = ("InterpretHealth", "InterpretStatus", "AggregateStatus", "InterpretDependency", "Retain")


def _cases() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind in KINDS:
        for path in sorted((INTERPRETER / kind).glob("*-test.yaml")):
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
def test_every_kind_has_cases() -> None:
    for kind in KINDS:
        assert any(file.startswith(f"interpreter/{kind}/") for file, _ in CASES), kind
    assert len(CASES) >= 150


# ------------------------------------------------------------------------------ the rules themselves


def _rule(kind: str) -> CompiledInterpreter:
    group, version, name = kind.split("/")
    rule = builtin_library().get(f"{group}/{version}", name)
    assert rule is not None, kind
    return rule


def test_rules_load_cleanly_and_implement_the_same_operations() -> None:
    library = builtin_library()
    ours = [d for d in library.diagnostics if any(d.source.name == f"rules/{kind}.kpl" for kind in KINDS)]
    assert not ours, [d.message for d in ours]
    for kind in KINDS:
        assert sorted(_rule(kind).operations()) == sorted(OPERATIONS), kind


def _aggregate(kind: str, desired: dict[str, Any], items: Any) -> Any:
    return _rule(kind).run("AggregateStatus", desired=desired, status_items=items)["aggregatedStatus"]


_RELEASE = {"apiVersion": "helm.toolkit.fluxcd.io/v2beta1", "kind": "HelmRelease",
            "metadata": {"name": "r", "generation": 3},
            "status": {"lastAppliedRevision": "1.0.0", "failures": 1, "observedGeneration": 2}}


def test_an_empty_item_list_keeps_the_template_revisions_but_no_list_resets_them() -> None:
    empty = _aggregate("helm.toolkit.fluxcd.io/v2beta1/HelmRelease", _RELEASE, [])
    absent = _aggregate("helm.toolkit.fluxcd.io/v2beta1/HelmRelease", _RELEASE, None)
    assert empty["status"] == {"lastAppliedRevision": "1.0.0", "failures": 1, "observedGeneration": 3}
    assert absent["status"]["lastAppliedRevision"] == ""
    assert absent["status"]["failures"] == 0
    assert absent["status"]["observedGeneration"] == 3


def test_failure_counters_add_to_the_template_and_stale_members_keep_its_observed_generation() -> None:
    items = [{"clusterName": "m1", "status": {"failures": 2, "lastAppliedRevision": "", "generation": 3,
                                              "observedGeneration": 2, "resourceTemplateGeneration": 3}}]
    status = _aggregate("helm.toolkit.fluxcd.io/v2beta1/HelmRelease", _RELEASE, items)["status"]
    assert status == {"lastAppliedRevision": "1.0.0", "failures": 3, "observedGeneration": 2}


def test_source_kinds_take_the_last_artifact_and_non_empty_url() -> None:
    desired = {"apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "Bucket", "metadata": {"name": "b"},
               "status": {"artifact": {"revision": "old"}, "url": "old"}}
    items = [{"clusterName": "m1", "status": {"artifact": {"revision": "a"}, "url": "u1"}},
             {"clusterName": "m2", "status": {"artifact": {"revision": "b"}, "url": ""}},
             {"clusterName": "m3", "status": {}}]
    status = _aggregate("source.toolkit.fluxcd.io/v1beta2/Bucket", desired, items)["status"]
    assert status == {"artifact": {"revision": "b"}, "url": "u1", "observedGeneration": 0}


def test_helm_chart_reflected_status_has_no_observed_generation() -> None:
    observed = {"apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "HelmChart",
                "metadata": {"generation": 4}, "status": {"observedGeneration": 4, "url": "u"}}
    status = _rule("source.toolkit.fluxcd.io/v1beta2/HelmChart").run("InterpretStatus", observed=observed)
    assert status["status"] == {"url": "u", "generation": 4}


def test_release_dependencies_are_deduplicated_per_kind() -> None:
    desired = {"apiVersion": "helm.toolkit.fluxcd.io/v2beta1", "kind": "HelmRelease",
               "metadata": {"namespace": "ns"},
               "spec": {"valuesFrom": [{"kind": "Secret", "name": "s"}, {"kind": "ConfigMap", "name": "s"},
                                       {"kind": "Secret", "name": "s"}],
                        "kubeConfig": {"secretRef": {"name": "s"}}, "serviceAccountName": "sa"}}
    found = _rule("helm.toolkit.fluxcd.io/v2beta1/HelmRelease").run("InterpretDependency", desired=desired)
    assert sorted((d["kind"], d["name"]) for d in found["dependencies"]) == [
        ("ConfigMap", "s"), ("Secret", "s"), ("ServiceAccount", "sa")]


@pytest.mark.parametrize(("kind", "spec"), [
    ("source.toolkit.fluxcd.io/v1beta2/OCIRepository", {}),
    ("source.toolkit.fluxcd.io/v1beta2/OCIRepository", {"serviceAccountName": "", "secretRef": {}}),
    ("source.toolkit.fluxcd.io/v1/GitRepository", {"verify": {"secretRef": {"key": "k"}}}),
    ("helm.toolkit.fluxcd.io/v2beta1/HelmRelease", {"valuesFrom": [{"kind": "Secret"}]}),
    ("kustomize.toolkit.fluxcd.io/v1/Kustomization", {"decryption": {"secretRef": {}}}),
])
def test_references_the_karmada_script_rejects_are_errors(kind: str, spec: dict[str, Any]) -> None:
    group, version, name = kind.split("/")
    desired = {"apiVersion": f"{group}/{version}", "kind": name, "metadata": {"namespace": "ns"}, "spec": spec}
    with pytest.raises(InterpretError):
        _rule(kind).run("InterpretDependency", desired=desired)


def test_empty_reference_names_are_skipped() -> None:
    desired = {"apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "OCIRepository",
               "spec": {"serviceAccountName": "", "secretRef": {"name": ""}, "certSecretRef": {"name": "c"}}}
    found = _rule("source.toolkit.fluxcd.io/v1beta2/OCIRepository").run("InterpretDependency", desired=desired)
    assert found["dependencies"] == [{"apiVersion": "v1", "kind": "Secret", "name": "c"}]
