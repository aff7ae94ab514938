"""Importing Karmada's policies keeps every placement: planning the imported ``.kpl`` equals planning the YAML.

A generated fleet (:mod:`fleetgen_policies`: 50 clusters, about 300 workloads, 361 PropagationPolicies and
ClusterPropagationPolicies using every construct the language has) is written as Karmada YAML, one file per
namespace. Each file goes through ``kpl import`` (:func:`import_files`) to a ``.kpl`` file. Then:

* the ``.kpl`` files export to the original objects once Karmada's admission defaults are applied to both;
* ``kpl plan`` over the ``.kpl`` files and over the YAML files, on the same snapshot, gives equal reports,
  binding by binding: the policy that won (and the ones that lost, and why), the clusters and replicas,
  the scheduling error, every cluster's explanation; and equal per-cluster totals.

The same holds through the command line (``kpl import`` then ``kpl plan``) on a slice of the fleet.
"""

from __future__ import annotations

import copy
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleetgen_policies import GeneratedFleet, generate

from kpl.cli import main
from kpl.dsl.diagnostics import Severity
from kpl.dsl.source import Source
from kpl.engine.export import export_project
from kpl.engine.features import POLICY_PREEMPTION, FeatureGates
from kpl.engine.importer import import_files, import_source
from kpl.engine.plan import Plan, load_plan_inputs
from kpl.engine.policy import apply_admission_defaults
from kpl.engine.project import load_project
from kpl.engine.report import BindingReport, PlacementReport

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Written:
    """The fleet on disk: YAML policies, the imported ``.kpl`` files, the snapshot (clusters and workloads)."""

    fleet: GeneratedFleet
    yaml_dir: Path
    kpl_dir: Path
    snapshot_dir: Path
    import_problems: tuple[str, ...]


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


def _groups(policies: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for policy in policies:
        groups[policy["metadata"].get("namespace") or "cluster-wide"].append(policy)
    return dict(groups)


def _write_snapshot(folder: Path, fleet: GeneratedFleet) -> None:
    folder.mkdir()
    items = [*fleet.clusters, *fleet.workloads]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)
    (folder / "fleet.json").write_text(text, encoding="utf-8")


def _write(root: Path, fleet: GeneratedFleet) -> Written:
    yaml_dir, kpl_dir = root / "yaml", root / "kpl"
    yaml_dir.mkdir()
    kpl_dir.mkdir()
    _write_snapshot(root / "snapshot", fleet)
    problems: list[str] = []
    for group, policies in _groups(fleet.policies).items():
        source = yaml_dir / f"{group}.yaml"
        source.write_text(yaml.safe_dump_all(policies, sort_keys=False), encoding="utf-8")
        result = import_files([source])
        problems.extend(f"{d.location()}: {d.code} {d.message}" for d in result.diagnostics)
        (kpl_dir / f"{group}.kpl").write_text(result.text, encoding="utf-8")
    return Written(fleet, yaml_dir, kpl_dir, root / "snapshot", tuple(problems))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return _write(tmp_path_factory.mktemp("fleet"), generate())


@pytest.fixture(scope="module")
def reports(written: Written) -> tuple[PlacementReport, PlacementReport]:
    gates = FeatureGates.parse(f"{POLICY_PREEMPTION}=true")  # so that claimed workloads can be taken over
    from_yaml = load_plan_inputs([written.yaml_dir], [written.snapshot_dir], gates)
    from_kpl = load_plan_inputs([written.kpl_dir], [written.snapshot_dir], gates)
    errors = [f"{d.location()}: {d.message}" for d in (*from_yaml.diagnostics, *from_kpl.diagnostics) if d.is_error]
    assert not errors, errors[:10]
    assert len(from_kpl.inputs.policies) == len(from_yaml.inputs.policies) == len(written.fleet.policies)
    return Plan.compile(from_yaml.inputs).evaluate(), Plan.compile(from_kpl.inputs).evaluate()


# ------------------------------------------------------------------------------------ comparison


def _defaulted(obj: Mapping[str, Any]) -> dict[str, Any]:
    return apply_admission_defaults(copy.deepcopy(dict(obj)))


def _binding_differences(expected: BindingReport, found: BindingReport) -> list[str]:
    return [f"{expected.namespace}/{expected.name} {f.name}: {getattr(expected, f.name)!r} != "
            f"{getattr(found, f.name)!r}"
            for f in fields(BindingReport) if getattr(expected, f.name) != getattr(found, f.name)]


def report_differences(expected: PlacementReport, found: PlacementReport) -> list[str]:
    """Every way ``found`` differs from ``expected``, binding by binding, then cluster by cluster."""
    mine = {(b.namespace, b.name): b for b in found.bindings}
    problems: list[str] = []
    for binding in expected.bindings:
        other = mine.pop((binding.namespace, binding.name), None)
        if other is None:
            problems.append(f"{binding.namespace}/{binding.name}: missing")
        else:
            problems.extend(_binding_differences(binding, other))
    problems.extend(f"{namespace}/{name}: unexpected" for namespace, name in mine)
    if expected.clusters != found.clusters:
        problems.append("per-cluster totals differ")
    if expected.unmatched != found.unmatched:
        problems.append(f"unmatched: {expected.unmatched} != {found.unmatched}")
    return problems


# ------------------------------------------------------------------------------------ the fleet


def _forms(policy: Mapping[str, Any]) -> set[str]:
    """The constructs one policy uses, as short names (to check the fleet covers the language)."""
    text = json.dumps(policy)
    names = ("matchLabels", "In", "NotIn", "Exists", "DoesNotExist", "fieldSelector", "exclude", "clusterNames",
             "clusterAffinities", "overflowAffinities", "clusterTolerations", "tolerationSeconds", "spreadByLabel",
             "dynamicWeight", "staticWeightList", "Aggregated", "Duplicated", "statePreservation", "Directly",
             "Never", "gracePeriodSeconds", "propagateDeps", "conflictResolution", "schedulerName", "preemption",
             "priority")
    found = {n for n in names if f'"{n}"' in text}
    spec = policy["spec"]
    found.update(f"spread:{c.get('spreadByField', 'label' if 'spreadByLabel' in c else 'default')}"
                 for c in spec["placement"].get("spreadConstraints") or ())
    found.update(f"suspension:{'+'.join(sorted(spec['suspension']))}" for _ in [0] if "suspension" in spec)
    found.update(f"failover:{kind}" for kind in spec.get("failover") or ())
    return found


def test_the_fleet_covers_the_language(written: Written) -> None:
    policies = written.fleet.policies
    assert len(policies) >= 300 and len(written.fleet.clusters) == 50
    assert Counter(p["kind"] for p in policies)["ClusterPropagationPolicy"] >= 30
    used = Counter(form for p in policies for form in _forms(p))
    wanted = {"matchLabels", "In", "NotIn", "Exists", "DoesNotExist", "fieldSelector", "exclude", "clusterNames",
              "clusterAffinities", "overflowAffinities", "clusterTolerations", "tolerationSeconds",
              "spreadByLabel", "dynamicWeight", "staticWeightList", "Aggregated", "Duplicated",
              "statePreservation", "Directly", "Never", "gracePeriodSeconds", "propagateDeps",
              "conflictResolution", "schedulerName", "preemption", "priority", "spread:cluster", "spread:region",
              "spread:zone", "spread:provider", "spread:label", "spread:default", "suspension:dispatching",
              "suspension:scheduling", "suspension:dispatching+scheduling", "failover:application",
              "failover:cluster"}
    assert not wanted - set(used), sorted(wanted - set(used))
    kinds = Counter(w["kind"] for w in written.fleet.workloads)
    assert {"Deployment", "StatefulSet", "Job", "FlinkDeployment"} <= set(kinds)


def test_every_policy_imports_without_findings(written: Written) -> None:
    assert not written.import_problems, written.import_problems[:10]


def test_export_of_the_imported_kpl_gives_the_original_objects(written: Written) -> None:
    project = load_project([written.kpl_dir])
    exported = export_project(project)
    assert exported.ok, [d.message for d in exported.diagnostics][:10]
    found = {_key(o): _defaulted(o) for o in exported.objects}
    assert len(found) == len(written.fleet.policies)
    different = [key for key, original in ((_key(p), _defaulted(p)) for p in written.fleet.policies)
                 if found.get(key) != original]
    assert not different, (different[:5], found.get(different[0]) if different else None)


def test_plans_agree_binding_by_binding(reports: tuple[PlacementReport, PlacementReport]) -> None:
    from_yaml, from_kpl = reports
    problems = report_differences(from_yaml, from_kpl)
    assert not problems, problems[:10]


def test_the_plan_exercises_hundreds_of_policies(reports: tuple[PlacementReport, PlacementReport]) -> None:
    from_yaml, _ = reports
    bindings = from_yaml.bindings
    winners = {(b.policy.kind, b.policy.namespace, b.policy.name) for b in bindings if b.policy is not None}
    assert len(bindings) >= 250 and len(winners) >= 145
    scheduled = [b for b in bindings if b.clusters]
    assert len(scheduled) >= 0.8 * len(bindings)
    assert any(b.policy is not None and b.policy.lost for b in bindings)
    assert any(b.policy is not None and b.policy.claimed for b in bindings)
    assert any(b.policy is not None and b.policy.preempted for b in bindings)
    assert any(b.failed for b in bindings)
    assert any(b.resource.kind == "FlinkDeployment" and b.clusters for b in bindings)
    assert len({t.name for b in scheduled for t in b.clusters or ()}) >= 40


def test_a_difference_is_reported(reports: tuple[PlacementReport, PlacementReport]) -> None:
    from_yaml, _ = reports
    first = next(b for b in from_yaml.bindings if b.clusters)
    moved = replace(first, clusters=(*(first.clusters or ())[1:], replace((first.clusters or ())[0], replicas=99)))
    changed = replace(from_yaml, bindings=(moved, *from_yaml.bindings[1:]))
    assert report_differences(from_yaml, changed) == [
        f"{first.namespace}/{first.name} clusters: {first.clusters!r} != {moved.clusters!r}"]
    assert report_differences(from_yaml, replace(from_yaml, bindings=from_yaml.bindings[1:]))[0].endswith("missing")


# ------------------------------------------------------------------------------------ the command line


def _plan_json(capsys: pytest.CaptureFixture[str], policies: Path, snapshot: Path, out: Path) -> tuple[int, Any]:
    code = main(["plan", str(policies), "--snapshot", str(snapshot), "-o", "json", "--output-file", str(out)])
    capsys.readouterr()
    return code, json.loads(out.read_text(encoding="utf-8"))


def test_cli_import_then_plan_on_a_slice(written: Written, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    policies: Sequence[Mapping[str, Any]] = _groups(written.fleet.policies)["streaming"]
    source = tmp_path / "streaming.yaml"
    source.write_text(yaml.safe_dump_all(policies, sort_keys=False), encoding="utf-8")
    imported = tmp_path / "streaming.kpl"
    assert main(["import", str(source), "--output-file", str(imported)]) == 0
    assert imported.read_text(encoding="utf-8").count("policy ") >= len(policies)
    snapshot = written.snapshot_dir / "fleet.json"
    yaml_code, from_yaml = _plan_json(capsys, source, snapshot, tmp_path / "yaml.json")
    kpl_code, from_kpl = _plan_json(capsys, imported, snapshot, tmp_path / "kpl.json")
    assert yaml_code == kpl_code
    assert from_yaml == from_kpl
    assert any(b["policy"] and b["policy"]["claimed"] for b in from_kpl["bindings"])
    assert sum(1 for b in from_kpl["bindings"] if b["clusters"]) >= 20


# ------------------------------------------------------------------------------------ regressions


def _import_codes(text: str) -> list[tuple[str, int, Severity]]:
    _, found = import_source(Source("in.yaml", text))
    return [(d.code, d.location()[1], d.severity) for d in found]


_TOLERATION_WITHOUT_EFFECT = """\
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: p, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterTolerations:
      - {key: spot, operator: Equal, value: "true"}
"""


def test_an_equal_toleration_without_effect_round_trips(tmp_path: Path) -> None:
    assert _import_codes(_TOLERATION_WITHOUT_EFFECT) == []
    source = tmp_path / "spot.yaml"
    source.write_text(_TOLERATION_WITHOUT_EFFECT, encoding="utf-8")
    imported = tmp_path / "spot.kpl"
    imported.write_text(import_files([source]).text, encoding="utf-8")
    assert "tolerate spot = \"true\"\n" in imported.read_text(encoding="utf-8")
    (exported,) = export_project(load_project([imported])).objects
    assert _defaulted(exported) == _defaulted(yaml.safe_load(_TOLERATION_WITHOUT_EFFECT))


_SUSPENDED = """\
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: frozen, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  suspension: {dispatching: true, scheduling: true}
  placement:
    replicaScheduling: {replicaSchedulingType: Duplicated}
"""


def test_suspending_dispatching_and_scheduling_exports_both(tmp_path: Path) -> None:
    source = tmp_path / "frozen.yaml"
    source.write_text(_SUSPENDED, encoding="utf-8")
    imported = tmp_path / "frozen.kpl"
    imported.write_text(import_files([source]).text, encoding="utf-8")
    (exported,) = export_project(load_project([imported])).objects
    assert exported["spec"]["suspension"] == {"dispatching": True, "scheduling": True}
    assert _defaulted(exported) == _defaulted(yaml.safe_load(_SUSPENDED))


def _deployment_policy(name: str, selector: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", **selector}],
                     "placement": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}}}}


def test_an_empty_label_selector_is_reported_since_it_outranks_a_plain_select(tmp_path: Path) -> None:
    plain, empty = _deployment_policy("a-plain", {}), _deployment_policy("b-empty", {"labelSelector": {}})
    text = yaml.safe_dump_all([plain, empty], sort_keys=False)
    codes = _import_codes(text)
    assert [(code, severity) for code, _, severity in codes] == [("import.unsupported", Severity.ERROR)]
    assert "labelSelector: {}" in text.splitlines()[codes[0][1] - 1]
    fleet = generate(clusters=3, workloads=0, policies=0)
    web = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web"}]}}}}
    policies = tmp_path / "policies.yaml"
    policies.write_text(text, encoding="utf-8")
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [*fleet.clusters, web]}),
                        encoding="utf-8")
    report = Plan.compile(load_plan_inputs([policies], [snapshot]).inputs).evaluate()
    (binding,) = report.bindings
    assert binding.policy is not None and binding.policy.name == "b-empty"
