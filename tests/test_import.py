"""``kpl import``: Karmada policy YAML to kpl, and back through ``kpl export`` to the same objects.

The corpus covers label and field selectors, ordered affinities with overflow, tolerations, spread
constraints, every replica scheduling mode, failover with state preservation, priority and preemption.
Objects are compared after Karmada's admission defaults, quantities by value.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpl.cli import main
from kpl.dsl.diagnostics import Severity
from kpl.dsl.parser import parse
from kpl.dsl.source import Source
from kpl.engine.export import export_project
from kpl.engine.importer import import_files, import_source
from kpl.engine.policy import apply_admission_defaults
from kpl.engine.project import Project
from kpl.engine.quantity import parse_quantity

CORPUS = """
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web-frontend, namespace: shop}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: frontend
    - apiVersion: v1
      kind: Service
      labelSelector:
        matchLabels: {app.kubernetes.io/part-of: shop}
        matchExpressions:
          - {key: tier, operator: In, values: [web, edge]}
          - {key: legacy, operator: DoesNotExist}
          - {key: track, operator: NotIn, values: [canary]}
          - {key: owner, operator: Exists}
  priority: 100
  preemption: Always
  propagateDeps: true
  placement:
    clusterAffinity:
      clusterNames: [member1, member2, member3]
      exclude: [member4]
      labelSelector: {matchLabels: {env: prod}}
      fieldSelector:
        matchExpressions:
          - {key: provider, operator: In, values: [aws, gcp]}
          - {key: region, operator: NotIn, values: [us-east-1]}
    clusterTolerations:
      - {key: node.karmada.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
      - {key: dedicated, operator: Equal, value: shop, effect: NoSchedule}
      - {operator: Exists}
    spreadConstraints:
      - {spreadByField: region, minGroups: 2, maxGroups: 3}
      - {spreadByField: cluster, minGroups: 2, maxGroups: 4}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - {targetCluster: {clusterNames: [member1]}, weight: 3}
          - {targetCluster: {clusterNames: [member2, member3]}, weight: 1}
          - targetCluster:
              labelSelector: {matchLabels: {pool: spare}}
              fieldSelector: {matchExpressions: [{key: zone, operator: In, values: [z1]}]}
              exclude: [member5]
            weight: 2
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: batch-overflow, namespace: jobs}
spec:
  resourceSelectors:
    - {apiVersion: batch.volcano.sh/v1alpha1, kind: Job, namespace: jobs}
  priority: -5
  preemption: Never
  conflictResolution: Overwrite
  placement:
    clusterAffinities:
      - affinityName: local-idc
        labelSelector:
          matchExpressions: [{key: site, operator: In, values: [idc-a, idc-b]}]
        overflowAffinities:
          - affinityName: burst-cloud
            fieldSelector: {matchExpressions: [{key: provider, operator: In, values: [aliyun]}]}
          - affinityName: last-resort
            clusterNames: [spare-1]
      - affinityName: fallback
        clusterNames: [cloud-1, cloud-2]
        exclude: [cloud-3]
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Aggregated
    spreadConstraints:
      - {spreadByLabel: topology.karmada.io/rack, maxGroups: 2}
  failover:
    application:
      decisionConditions: {tolerationSeconds: 120}
      purgeMode: Gracefully
      gracePeriodSeconds: 600
      statePreservation:
        rules:
          - {aliasLabelName: failover.karmada.io/ready-replicas, jsonPath: "{ .readyReplicas }"}
          - {aliasLabelName: failover.karmada.io/phase, jsonPath: "{ .status.phase }"}
    cluster:
      purgeMode: Directly
      statePreservation:
        rules:
          - {aliasLabelName: checkpoint, jsonPath: "{ .status.checkpoint }"}
---
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata: {name: crds-everywhere}
spec:
  resourceSelectors:
    - {apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, name: widgets.example.io}
    - {apiVersion: v1, kind: Namespace, labelSelector: {matchLabels: {shared: "true"}}}
  placement:
    replicaScheduling: {replicaSchedulingType: Duplicated}
    clusterTolerations:
      - {key: maintenance, operator: Exists, effect: NoSchedule}
  schedulerName: default-scheduler
  suspension: {dispatching: true}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: dynamic-api, namespace: default}
spec:
  resourceSelectors:
    - {apiVersion: apps/v1, kind: Deployment, name: api}
  placement:
    clusterAffinity:
      labelSelector: {matchLabels: {region: cn}}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {dynamicWeight: AvailableReplicas}
    spreadConstraints:
      - {minGroups: 1, maxGroups: 2}
  failover:
    application:
      decisionConditions: {tolerationSeconds: 60}
      purgeMode: Directly
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: plain-divided, namespace: default}
spec:
  resourceSelectors:
    - {apiVersion: apps/v1, kind: StatefulSet, name: db}
  placement:
    clusterAffinity: {clusterNames: [member1, member2]}
    replicaScheduling: {replicaSchedulingType: Divided}
  failover:
    application:
      decisionConditions: {tolerationSeconds: 300}
      purgeMode: Never
---
apiVersion: policy.karmada.io/v1alpha1
kind: FederatedResourceQuota
metadata: {name: team-a, namespace: team-a}
spec:
  overall: {cpu: 100, memory: 200Gi, requests.nvidia.com/gpu: "8"}
  staticAssignments:
    - clusterName: member1
      hard: {cpu: "60", memory: 120Gi}
    - clusterName: member2
      hard: {cpu: 40500m, memory: 80Gi}
"""


def _documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(CORPUS) if d]


def _normalise(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    if out["kind"] == "FederatedResourceQuota":
        spec = out["spec"]
        spec["overall"] = {k: parse_quantity(str(v)) for k, v in spec["overall"].items()}
        for assignment in spec.get("staticAssignments") or ():
            assignment["hard"] = {k: parse_quantity(str(v)) for k, v in assignment["hard"].items()}
        return out
    return apply_admission_defaults(out)


def _export(text: str) -> list[dict[str, Any]]:
    result = parse(text, "imported.kpl")
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    exported = export_project(Project(modules=[result.module]))
    assert exported.ok, [d.message for d in exported.diagnostics]
    return list(exported.objects)


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(CORPUS, encoding="utf-8")
    return path


def test_the_corpus_imports_without_findings(corpus_file: Path) -> None:
    result = import_files([corpus_file])
    assert result.ok and not result.diagnostics, [d.message for d in result.diagnostics]
    assert len(result.declarations) == len(_documents())


@pytest.mark.parametrize("index", range(len(_documents())))
def test_import_then_export_gives_the_same_object(corpus_file: Path, index: int) -> None:
    result = import_files([corpus_file])
    exported = _export(result.text)
    original = _documents()[index]
    assert _normalise(exported[index]) == _normalise(original)


def test_imported_text_is_already_formatted(corpus_file: Path) -> None:
    from kpl.dsl.formatter import format_module

    text = import_files([corpus_file]).text
    assert format_module(parse(text).module) == text


def _diagnostics(text: str) -> list[tuple[str, int, Severity]]:
    _, found = import_source(Source("in.yaml", text))
    return [(d.code, d.location()[1], d.severity) for d in found]


def test_fields_kpl_cannot_express_are_reported_at_their_line() -> None:
    text = ("apiVersion: policy.karmada.io/v1alpha1\nkind: PropagationPolicy\nmetadata:\n  name: p\n"
            "  annotations: {a: b}\nspec:\n  resourceSelectors:\n    - {apiVersion: v1, kind: ConfigMap}\n"
            "  activationPreference: Lazy\n  placement:\n    clusterAffinity:\n      fieldSelector:\n"
            "        matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]\n")
    assert _diagnostics(text) == [
        ("import.dropped", 5, Severity.WARNING),
        ("import.unsupported", 9, Severity.ERROR),
        ("import.unsupported", 13, Severity.ERROR),
    ]


def test_lua_customizations_are_reported_never_dropped() -> None:
    text = ("apiVersion: config.karmada.io/v1alpha1\nkind: ResourceInterpreterCustomization\n"
            "metadata: {name: c}\nspec:\n  target: {apiVersion: example.io/v1, kind: Widget}\n  customizations:\n"
            "    healthInterpretation:\n      luaScript: |\n        function InterpretHealth(o) return true end\n"
            "    replicaResource:\n      luaScript: >\n        function GetReplicas(o) return 1, nil end\n")
    assert _diagnostics(text) == [("import.lua_not_translated", 8, Severity.ERROR),
                                  ("import.lua_not_translated", 11, Severity.ERROR)]


def test_other_kinds_are_skipped_with_a_warning() -> None:
    assert _diagnostics("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n") == [
        ("import.skipped", 1, Severity.WARNING)]


def test_invalid_yaml_is_located() -> None:
    found = _diagnostics("kind: [unclosed\n")
    assert found and found[0][0] == "io.invalid_yaml"


def test_cli_import_writes_kpl_and_fails_on_findings(corpus_file: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(corpus_file)]) == 0
    assert "policy web-frontend in namespace shop {" in capsys.readouterr().out
    target = tmp_path / "out.kpl"
    assert main(["import", str(corpus_file), "--output-file", str(target)]) == 0
    assert "quota team-a in namespace team-a" in target.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(CORPUS.split("---")[0] + "  association: true\n", encoding="utf-8")
    assert main(["import", str(bad)]) == 1
    assert "spec.association" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.yaml")]) == 2
